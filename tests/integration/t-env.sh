#!/bin/bash
# t-env: the container environment: host passthrough, the deny list, image Env, FERRYENV_,
# --env, --env-file, --cleanenv, and FERRY_<OPTION> as the environment form of every option.
. "$(dirname "$0")/lib.sh"
fy_init

# The fixture's image PATH (fixtures.sh): /opt/fy/bin first, so it differs from ferry's default
# PATH (FY_ENV_DEFAULT_PATH in launcher/plan/environ.h) and a lost image PATH shows.
IMG_PATH=/opt/fy/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
echo 'marker in home' >"$THOME/.fyitest-marker"
chown "$TUID:$TGID" "$THOME/.fyitest-marker" 2>/dev/null
fy_user_dir "$DATA/bind"
echo bound >"$DATA/bind/file"

t_passthrough() {
	FY_ENV=(FYITEST_VAR='hello host' FYITEST_EMPTY=)
	fy exec "$IMG" sh -c 'echo "[$FYITEST_VAR]"; env | grep -qx FYITEST_EMPTY= && echo empty-set'
	expect_rc 0
	expect_out "[hello host]
empty-set"
}
check "host variables pass through" t_passthrough

t_deny() {
	FY_ENV=(LD_PRELOAD=libc.so.6 LD_LIBRARY_PATH=/host/lib PATH=/host/bin:/usr/bin:/bin)
	fy exec "$IMG" /bin/sh -c 'echo "PRELOAD=${LD_PRELOAD-unset} LIBPATH=${LD_LIBRARY_PATH-unset} PATH=$PATH"'
	expect_rc 0
	expect_out "PRELOAD=unset LIBPATH=unset PATH=$IMG_PATH"
}
check "deny list: LD_PRELOAD, LD_LIBRARY_PATH dropped; PATH from the image" t_deny

t_image_over_host() {
	FY_ENV=(FOO=from-host)
	fy exec "$IMG" sh -c 'echo "$FOO"'
	expect_rc 0
	expect_out from-image
}
check "image Env overrides the host's" t_image_over_host

t_ferryenv() {
	FY_ENV=(FERRYENV_BAR=from-ferryenv 'FERRYENV_SPACED=a b  c')
	fy exec "$IMG" sh -c 'echo "$BAR|$SPACED"'
	expect_rc 0
	expect_out "from-ferryenv|a b  c"
}
check "FERRYENV_NAME=value sets NAME inside" t_ferryenv

t_ferryenv_over_image() {
	FY_ENV=(FERRYENV_FOO=from-ferryenv FERRYENV_PATH=/custom/bin:/bin)
	fy exec "$IMG" /bin/sh -c 'echo "$FOO $PATH"'
	expect_rc 0
	expect_out "from-ferryenv /custom/bin:/bin"
}
check "FERRYENV_ overrides image Env, PATH included" t_ferryenv_over_image

t_env_opt() {
	fy exec --env BAR=x --env 'FOO=from option' "$IMG" sh -c 'echo "$BAR|$FOO"'
	expect_rc 0
	expect_out "x|from option"
}
check "--env K=V sets and overrides image Env" t_env_opt

t_env_file() {
	cat >"$DATA/env-file" <<'EOF'
# a comment

A=1
B=two words
  # an indented comment
C=with=equals
EOF
	chmod 644 "$DATA/env-file"
	fy exec --env-file "$DATA/env-file" "$IMG" sh -c 'echo "$A|$B|$C"'
	expect_rc 0
	expect_out "1|two words|with=equals"
}
check "--env-file with comments and blank lines" t_env_file

t_env_file_bad() {
	printf '%s\n' '# ok' 'A=1' 'this line is not an assignment' >"$DATA/bad-env"
	chmod 644 "$DATA/bad-env"
	fy exec --env-file "$DATA/bad-env" "$IMG" true
	expect_error 2 'bad-env' ':3'
}
check "--env-file bad line: exit 2, one line naming file:line" t_env_file_bad

t_env_file_missing() {
	fy exec --env-file "$DATA/no-such-env" "$IMG" true
	expect_error 2 'no-such-env'
}
check "--env-file missing: exit 2, one line naming the file" t_env_file_missing

t_cleanenv() {
	FY_ENV=(FYITEST_VAR=1)
	fy exec --cleanenv "$IMG" sh -c 'echo "${FYITEST_VAR-unset} $FOO $PATH"'
	expect_rc 0
	expect_out "unset from-image $IMG_PATH"
	FY_ENV=(FYITEST_VAR=1)
	fy exec -e --env KEEP=yes "$IMG" sh -c 'echo "${FYITEST_VAR-unset} $KEEP"'
	expect_rc 0
	expect_out "unset yes"
}
check "--cleanenv/-e drops host variables, keeps image Env and --env" t_cleanenv

# ---- FERRY_<OPTION> ----------------------------------------------------------------------------
t_env_bind() {
	FY_ENV=("FERRY_BIND=$DATA/bind:/mnt/envbind")
	fy exec "$IMG" cat /mnt/envbind/file
	expect_rc 0
	expect_out bound
	# Lists: environment first, then the command line.
	FY_ENV=("FERRY_BIND=$DATA/bind:/mnt/a")
	fy exec -B "$DATA/bind:/mnt/b" "$IMG" cat /mnt/a/file /mnt/b/file
	expect_rc 0
	expect_out "bound
bound"
}
check "FERRY_BIND (and with -B too)" t_env_bind

t_env_contain() {
	FY_ENV=(FERRY_CONTAIN=1)
	fy exec "$IMG" cat "$THOME/.fyitest-marker"
	# cat's own message: the container ran and the home was not there.
	expect_rc 1
	expect_err_has "cat: can't open '$THOME/.fyitest-marker': No such file or directory"
}
check "FERRY_CONTAIN=1" t_env_contain

t_env_cleanenv() {
	FY_ENV=(FERRY_CLEANENV=yes FYITEST_VAR=1)
	fy exec "$IMG" sh -c 'echo "${FYITEST_VAR-unset}"'
	expect_rc 0
	expect_out unset
}
check "FERRY_CLEANENV=yes" t_env_cleanenv

t_env_hostname() {
	FY_ENV=(FERRY_HOSTNAME=from-env)
	fy exec "$IMG" hostname
	expect_rc 0
	expect_out from-env
	FY_ENV=(FERRY_HOSTNAME=from-env)
	fy exec --hostname from-cli "$IMG" hostname
	expect_rc 0
	expect_out from-cli
}
check "FERRY_HOSTNAME; the command line wins" t_env_hostname

t_env_env() {
	FY_ENV=(FERRY_ENV=BAR=from-ferry-env)
	fy exec "$IMG" sh -c 'echo "$BAR"'
	expect_rc 0
	expect_out from-ferry-env
	printf 'EF=from-env-file\n' >"$DATA/ef"
	chmod 644 "$DATA/ef"
	FY_ENV=("FERRY_ENV_FILE=$DATA/ef")
	fy exec "$IMG" sh -c 'echo "$EF"'
	expect_rc 0
	expect_out from-env-file
}
check "FERRY_ENV and FERRY_ENV_FILE" t_env_env

t_env_pwd() {
	FY_ENV=(FERRY_PWD=/etc)
	fy exec "$IMG" pwd
	expect_rc 0
	expect_out /etc
}
check "FERRY_PWD" t_env_pwd

t_env_home() {
	FY_ENV=(FERRY_NO_HOME=1)
	fy exec "$IMG" cat "$THOME/.fyitest-marker"
	expect_rc 1
	expect_err_has "cat: can't open '$THOME/.fyitest-marker': No such file or directory"
	fy_user_dir "$DATA/althome"
	FY_ENV=("FERRY_HOME=$DATA/althome:/home/alt")
	fy exec "$IMG" sh -c 'echo $HOME'
	expect_rc 0
	expect_out /home/alt
}
check "FERRY_NO_HOME and FERRY_HOME" t_env_home

t_env_wtmpfs() {
	FY_ENV=(FERRY_WRITABLE_TMPFS=yes)
	fy exec "$IMG" sh -c 'echo w > /written && cat /written'
	expect_rc 0
	expect_out w
}
check "FERRY_WRITABLE_TMPFS=yes" t_env_wtmpfs

t_env_pid() {
	FY_ENV=(FERRY_PID=1)
	fy exec "$IMG" sh -c 'echo $$'
	expect_rc 0
	[ -n "$OUT" ] && [ "$OUT" -lt 10 ] 2>/dev/null || fail "FERRY_PID=1: pid $OUT is not in a new PID namespace"
}
check "FERRY_PID=1" t_env_pid

t_env_net() {
	FY_ENV=(FERRY_NET=none)
	fy exec "$IMG" sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
	expect_rc 0
	expect_out lo
}
check "FERRY_NET=none" t_env_net

t_env_fakeroot() {
	FY_ENV=(FERRY_FAKEROOT=1)
	fy exec "$IMG" id -u
	expect_rc 0
	expect_out 0
}
check "FERRY_FAKEROOT=1" t_env_fakeroot

t_env_containall() {
	FY_ENV=(FERRY_CONTAINALL=true FYITEST_VAR=1)
	fy exec "$IMG" sh -c 'echo "${FYITEST_VAR-unset} $$"'
	expect_rc 0
	expect_out_re '^unset [0-9]$'
}
check "FERRY_CONTAINALL=true" t_env_containall

t_env_mount() {
	FY_ENV=("FERRY_MOUNT=type=bind,src=$DATA/bind,dst=/mnt/em")
	fy exec "$IMG" cat /mnt/em/file
	expect_rc 0
	expect_out bound
}
check "FERRY_MOUNT" t_env_mount

t_env_dry_run() {
	FY_ENV=(FERRY_DRY_RUN=1)
	fy exec "$IMG" touch "$WORK/dry"
	expect_rc 0
	[ ! -e "$WORK/dry" ] || fail "FERRY_DRY_RUN=1 ran the command"
}
check "FERRY_DRY_RUN=1" t_env_dry_run

t_env_bad_bool() {
	FY_ENV=(FERRY_CONTAIN=perhaps)
	fy exec "$IMG" true
	expect_error 2 'FERRY_CONTAIN'
}
check "FERRY_CONTAIN=perhaps: exit 2 naming the variable" t_env_bad_bool

t_env_false() {
	FY_ENV=(FERRY_CONTAIN=0)
	fy exec "$IMG" cat "$THOME/.fyitest-marker"
	expect_rc 0
	expect_out 'marker in home'
}
check "FERRY_CONTAIN=0 means off" t_env_false

# issue 8 D6: --env-file naming a FIFO (no writer) is refused at once, not waited on; the
# shorter timeout is only the failure condition.
t_env_file_fifo() {
	local FY_TIMEOUT=10
	rm -f "$DATA/env-fifo"
	mkfifo -m 666 "$DATA/env-fifo" || fail_plain "mkfifo failed"
	fy exec --env-file "$DATA/env-fifo" "$IMG" echo should-not-run
	expect_error 2 'env-file.*env-fifo is not a regular file'
	expect_out_lacks should-not-run
	rm -f "$DATA/env-fifo"
}
check "--env-file naming a FIFO: exit 2 at once (issue 8 D6)" t_env_file_fifo

# issue 8 D9: a NUL byte would end the line (and the file) silently: refused with file and line.
t_env_file_nul() {
	printf 'A=1\nB=2\0C=3\n' >"$DATA/env-nul"
	chmod 644 "$DATA/env-nul"
	fy exec --env-file "$DATA/env-nul" "$IMG" echo should-not-run
	expect_error 2 'env-file .*env-nul:2: NUL byte in the line'
	expect_out_lacks should-not-run
}
check "--env-file with a NUL byte: exit 2, file:line (issue 8 D9)" t_env_file_nul

fy_done
