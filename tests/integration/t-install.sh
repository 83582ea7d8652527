#!/bin/bash
# t-install: `make install DESTDIR=...` twice, with the site's ferry.conf edited in between: the
# edit survives (the new default lands as ferry.conf.new), and nothing installed is setuid.
# Runs make in the build tree (everything is built by then), as root like the other scripts.
. "$(dirname "$0")/lib.sh"
fy_init

D=$DATA/destdir
install_once() {
	make -C "$FERRY_BUILDDIR" install DESTDIR="$D" >>"$DATA/install.log" 2>&1 ||
		fail "make install DESTDIR=$D failed: $(tail -3 "$DATA/install.log")"
}

t_install_keeps_conf() {
	local conf
	install_once
	conf=$(find "$D" -path '*/ferry/ferry.conf' -type f)
	[ -n "$conf" ] || fail "make install installed no ferry/ferry.conf under $D"
	[ ! -e "$conf.new" ] || fail "a first install made $conf.new"
	printf '\n# edited by the site\nmount_home = no\n' >>"$conf"
	cp "$conf" "$DATA/edited.conf"
	install_once
	cmp -s "$conf" "$DATA/edited.conf" || fail "the second make install overwrote the edited $conf"
	cmp -s "$conf.new" "$FERRY_SRCDIR/conf/ferry.conf" ||
		fail "expected the new default as $conf.new"
	grep -q "kept .*ferry.conf; the new default is ferry.conf.new" "$DATA/install.log" ||
		fail "expected make install to say that it kept ferry.conf"
	[ -z "$(find "$D" -perm /6000)" ] || fail "setuid or setgid files installed: $(find "$D" -perm /6000)"
}
check "make install twice keeps an edited ferry.conf (the new one as ferry.conf.new)" t_install_keeps_conf

fy_done
