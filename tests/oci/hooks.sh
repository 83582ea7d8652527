#!/bin/bash
# tests/oci/hooks.sh: the six hook kinds of config.json (runtime-spec config.md "POSIX-platform
# Hooks") through create/start/delete: each runs once, in order, at its point of the lifecycle,
# with the state JSON on stdin (id, pid and the status of that moment), its args and env; a
# failing createRuntime hook fails create with its output in the error and leaves nothing; a
# hook past its timeout is killed. Runs against any runc-compatible runtime (OCI_RUNTIME).
# Stricter than runc 1.1, which hands poststart hooks the status "created" (the spec's state at
# that point is "running") and lets a hook run on past its timeout before failing create.
set -u
umask 022
. "$(dirname "$0")/lib.sh"

oci_need_root
oci_init hooks
oci_need_tools python3

RT=$OCI_RUNTIME
ST=$T/state
LOG=$T/hooks.log
oci_make_rootfs "$T/b/rootfs" || oci_die "cannot make the root filesystem"
oci_at_exit "$RT --root $ST delete --force h1 >/dev/null 2>&1; $RT --root $ST delete --force h2 >/dev/null 2>&1"

# A host-side recorder: NAME, then status/pid/id from the state on stdin, argv[1], and $HOOKENV.
cat >"$T/rec" <<EOF
#!/usr/bin/python3
import json, os, sys
d = json.load(sys.stdin)
with open("$LOG", "a") as f:
    f.write("%s %s %s %s %s %s\n" % (sys.argv[1], d["status"], d["id"], int(d.get("pid", 0) > 0),
                                      sys.argv[2], os.environ.get("HOOKENV", "-")))
EOF
chmod 755 "$T/rec"

# config KIND... : the runtime's default spec plus hooks; startContainer runs in the container
# (its path resolves there), so it records with the container's sh into the root filesystem.
make_config() {
	(cd "$T/b" && rm -f config.json && "$RT" spec) || return 1
	python3 - "$T/b/config.json" "$T/rec" "$@" <<'PY'
import json, sys
path, rec, *extra = sys.argv[1:]
c = json.load(open(path))
c["process"]["terminal"] = False
c["root"]["readonly"] = False  # startContainer writes into the root
c["process"]["args"] = ["sleep", "30"]
def hook(kind):
    return {"path": rec, "args": ["rec", kind, "arg-" + kind], "env": ["HOOKENV=env-" + kind]}
h = {k: [hook(k)] for k in ("prestart", "createRuntime", "createContainer", "poststart", "poststop")}
h["startContainer"] = [{"path": "/bin/sh", "args": ["sh", "-c", "cat >/startContainer.state"]}]
if "fail" in extra:
    h["createRuntime"] = [{"path": "/bin/sh", "args": ["sh", "-c", "echo hook-says-no >&2; exit 3"]}]
if "slow" in extra:
    h["createRuntime"] = [{"path": "/bin/sh", "args": ["sh", "-c", "sleep 20"], "timeout": 1}]
c["hooks"] = h
json.dump(c, open(path, "w"), indent=1)
PY
}

t_lifecycle() {
	: >"$LOG"
	rm -f "$T/b/rootfs/startContainer.state"
	make_config || { fail "cannot write config.json"; return; }
	oci_run "$RT" --root "$ST" create --bundle "$T/b" --pid-file "$T/h1.pid" h1
	expect_rc 0
	expect_eq "hooks after create" \
		"prestart creating h1 1 arg-prestart env-prestart
createRuntime creating h1 1 arg-createRuntime env-createRuntime
createContainer creating h1 1 arg-createContainer env-createContainer" "$(cat "$LOG")"
	[ ! -e "$T/b/rootfs/startContainer.state" ] || fail "startContainer ran before start"
	oci_run "$RT" --root "$ST" start h1
	expect_rc 0
	oci_wait_for 5 "[ -s '$T/b/rootfs/startContainer.state' ]" || fail "startContainer did not run"
	expect_eq "startContainer's state" "created h1" \
		"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["status"], d["id"])' \
			"$T/b/rootfs/startContainer.state" 2>&1)"
	expect_eq "the poststart record" "poststart running h1 1 arg-poststart env-poststart" \
		"$(sed -n 4p "$LOG")"
	oci_run "$RT" --root "$ST" kill h1 KILL
	oci_wait_for 5 "$RT --root $ST state h1 | grep -q stopped" || fail "h1 did not stop"
	oci_run "$RT" --root "$ST" delete h1
	expect_rc 0
	expect_eq "the poststop record" "poststop stopped h1" "$(sed -n 5p "$LOG" | cut -d' ' -f1-3)"
	expect_eq "hook runs in all" 5 "$(wc -l <"$LOG")"
}
check "every hook kind once, in order, with the state of its moment, args and env" t_lifecycle

t_failing() {
	: >"$LOG"
	make_config fail || { fail "cannot write config.json"; return; }
	oci_run "$RT" --root "$ST" create --bundle "$T/b" --pid-file "$T/h2.pid" h2
	[ "$RC" != 0 ] || fail_cmd "create succeeded with a failing createRuntime hook"
	expect_err_has "hook-says-no"
	oci_run "$RT" --root "$ST" state h2
	[ "$RC" != 0 ] || fail_cmd "the failed container still exists"
}
check "a failing createRuntime hook fails create with its output; nothing is left" t_failing

t_timeout() {
	local t0=$SECONDS
	make_config slow || { fail "cannot write config.json"; return; }
	oci_run "$RT" --root "$ST" create --bundle "$T/b" --pid-file "$T/h2.pid" h2
	[ "$RC" != 0 ] || fail_cmd "create succeeded with a hung createRuntime hook"
	[ $((SECONDS - t0)) -lt 10 ] || fail "the hook's 1 s timeout took $((SECONDS - t0)) s"
	case $ERR in
	*"timed out"* | *"past specified timeout"*) ;;
	*) fail_cmd "expected a timeout in the error" ;;
	esac
	oci_run "$RT" --root "$ST" delete --force h2
}
check "a hook past its timeout is killed and fails create" t_timeout
oci_done
