#!/bin/bash
# tests/oci/vs-runc.sh: one bundle, run by runc and by the runtime under test, must give the
# container's process the same view of itself (as root).
#
# A probe script (busybox sh, the container's init) prints: uid/gid/groups, the Uid/Gid/Groups,
# Cap{Inh,Prm,Eff,Bnd,Amb}, NoNewPrivs and Seccomp lines of /proc/self/status, /proc/self/limits,
# umask, cwd, hostname, domainname, the environment, which namespaces are new, oom_score_adj, the
# mount table (/proc/self/mountinfo: mountpoint, fstype, mount options, super options and
# propagation; ids, devices and sources dropped), the masked paths (what reading them gives), the
# read-only paths (a file in them opened for appending), /dev, a sysctl, a seccomp-filtered mkdir and a read-only bind.
# Two bundles: `runc spec` as it is ("default"), and one that sets every process attribute to a
# non-default value ("custom"). Differences are printed per section; any difference fails unless
# ALLOWED below lists it with a reason.
#
#   OCI_RUNTIME  runtime under test (default $FERRY_BUILDDIR/launcher/ferry-oci)
#   OCI_RUNC     the reference (default: runc from PATH)
set -u
umask 022
. "$(dirname "$0")/lib.sh"

oci_need_root
oci_init vsrunc
oci_need_tools python3 runc timeout
OCI_RUNC=${OCI_RUNC:-$(command -v runc)}
echo "# reference: $OCI_RUNC ($("$OCI_RUNC" --version | head -n1))"

# Tolerated differences: "SECTION|EXTENDED REGEX over the differing line|why". A differing line
# (as printed, "- " or "+ " then the normalised line) that matches is reported, not failed.
ALLOWED=(
)

# ---- the root filesystem and the probe ----------------------------------------------------------
ROOTFS=$T/rootfs
oci_make_rootfs "$ROOTFS"
mkdir -p "$ROOTFS/data" "$T/data"
echo "hello from the host" >"$T/data/hello"
chmod 644 "$T/data/hello"

# mkcase NAME PYTHON: $T/NAME/config.json = `runc spec` + the probe as process + PYTHON edits on
# `c`; the probe (with the bundle's masked and read-only paths) goes to /probe-NAME.sh.
mkcase() {
	local b=$T/$1
	mkdir -p "$b"
	(cd "$b" && "$OCI_RUNC" spec) || oci_die "runc spec failed"
	python3 - "$b/config.json" "$ROOTFS" "$1" "$T/data" "$2" <<'EOF' || oci_die "mkcase $1 failed"
import json, sys
path, rootfs, name, data, extra = sys.argv[1:6]
with open(path) as f:
    c = json.load(f)
c["root"] = {"path": rootfs, "readonly": True}
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/sh", "/probe-%s.sh" % name]
exec(extra)
lin = c.get("linux", {})
q = lambda s: "'" + s.replace("'", "'\\''") + "'"
probe = r'''
s() { echo "== $1"; }
s id; id
s status; grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp|Seccomp_filters):' /proc/$$/status
s limits; cat /proc/$$/limits
s umask; umask
s cwd; pwd
s hostname; hostname
s domainname; cat /proc/sys/kernel/domainname
s env; env | sort
s ns; for n in cgroup ipc mnt net pid time user uts; do echo "$n $(readlink /proc/$$/ns/$n)"; done
s oom_score_adj; cat /proc/$$/oom_score_adj
s mountinfo; cat /proc/$$/mountinfo
s masked
for p in MASKED; do
	if [ -d "$p" ]; then echo "$p dir entries=$(ls -A "$p" 2>&1 | wc -l)"
	elif [ -e "$p" ]; then
		if head -c 64 "$p" >/dev/null 2>&1; then echo "$p file read bytes=$(head -c 64 "$p" | wc -c)"
		else echo "$p file read denied"; fi
	else echo "$p missing"; fi
done
s readonly
for p in READONLY; do
	# Opened for appending, never written (busybox test -w only looks at mode bits).
	if [ -d "$p" ]; then f=$(find "$p" -type f 2>/dev/null | head -n 1); f=${f:-$p/.vs-probe}
	elif [ -e "$p" ]; then f=$p
	else echo "$p missing"; continue; fi
	if ( : >>"$f" ) 2>/dev/null; then echo "$p writable ($f)"
	else echo "$p not writable ($f): $( ( : >>"$f" ) 2>&1 | sed 's/.*: //')"; fi
done
s dev; for f in /dev/* /dev/pts/* /dev/shm /dev/mqueue; do stat -c '%n %F %a %u:%g %t:%T' "$f"; done
s sysctl; for k in net/ipv4/ip_forward kernel/domainname; do echo "$k $(cat /proc/sys/$k)"; done
s mkdir; mkdir /tmp/vs-probe 2>&1 && echo "mkdir ok"
s bind; cat /data/hello 2>&1; touch /data/new 2>&1
s end; exit 0
'''.replace("MASKED", " ".join(q(p) for p in lin.get("maskedPaths", []))) \
   .replace("READONLY", " ".join(q(p) for p in lin.get("readonlyPaths", [])))
with open("%s/probe-%s.sh" % (rootfs, name), "w") as f:
    f.write(probe)
with open(path, "w") as f:
    json.dump(c, f, indent=1)
EOF
}

mkcase default ''
mkcase custom '
p = c["process"]
p["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [10, 100], "umask": 0o027}
p["cwd"] = "/tmp"
p["env"] = p["env"] + ["FOO=bar baz", "HOME=/home/custom"]
caps = ["CAP_NET_BIND_SERVICE", "CAP_KILL", "CAP_CHOWN"]
p["capabilities"] = {"bounding": p["capabilities"]["bounding"], "effective": caps, "permitted": caps,
                     "inheritable": ["CAP_NET_BIND_SERVICE"], "ambient": ["CAP_NET_BIND_SERVICE"]}
p["noNewPrivileges"] = False
p["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024},
                {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
                {"type": "RLIMIT_NPROC", "soft": 4096, "hard": 8192}]
p["oomScoreAdj"] = 100
c["hostname"] = "vsrunc-custom"
c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                    "options": ["nosuid", "nodev", "mode=1777", "size=1m"]})
c["mounts"].append({"destination": "/data", "type": "bind", "source": data,
                    "options": ["rbind", "ro", "nosuid", "nodev", "noexec"]})
c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.domainname": "example.org"}
c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
c["linux"]["maskedPaths"] = c["linux"]["maskedPaths"] + ["/etc/os-release"]
c["linux"]["readonlyPaths"] = c["linux"]["readonlyPaths"] + ["/tmp"]
'

# ---- running and comparing ----------------------------------------------------------------------
close_fds() {
	local f n
	for f in /proc/"$BASHPID"/fd/*; do
		n=${f##*/}
		[ "$n" -gt 2 ] 2>/dev/null && eval "exec $n>&-" 2>/dev/null
	done
	return 0
}

# runcase CASE WHO BINARY: `BINARY run` of the case's bundle; output in $T/CASE.WHO.{out,err,rc}.
# umask 027 in the caller shows whether the runtime sets the container's umask itself.
runcase() {
	local id=vs-$1-$2
	(
		close_fds
		cd "$T" || exit 99
		umask 027
		exec timeout -k 5 60 env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
			"$3" --root "$T/state-$2" run --bundle "$T/$1" "$id"
	) </dev/null >"$T/$1.$2.out" 2>"$T/$1.$2.err"
	echo $? >"$T/$1.$2.rc"
	"$3" --root "$T/state-$2" delete --force "$id" >/dev/null 2>&1
}

# normalise OUT RC: section-tagged lines, free of ids that differ between any two runs.
normalise() {
	python3 - "$1" "$2" <<'EOF'
import os, re, sys
out, rc = sys.argv[1], open(sys.argv[2]).read().strip()
host_ns = {n: os.readlink("/proc/self/ns/" + n) for n in os.listdir("/proc/self/ns")}
sec, rows, mounts = "start", [("exit", rc)], []
for line in open(out, errors="replace").read().splitlines():
    if line.startswith("== "):
        sec = line[3:]
        continue
    if sec == "status" or sec == "limits":
        line = " ".join(line.split())
    elif sec == "ns":
        n, _, link = line.partition(" ")
        line = "%s %s" % (n, "missing" if not link else "host" if host_ns.get(n) == link else "new")
    elif sec == "mountinfo":
        f = line.split()
        sep = f.index("-")
        prop = ",".join(sorted(re.sub(r"[:][0-9]+", "", o) for o in f[6:sep])) or "private"
        mounts.append((f[4], "%s %s opts=%s super=%s prop=%s" % (f[4], f[sep + 1], f[5], f[sep + 3], prop)))
        continue
    rows.append((sec, line))
# Same mountpoint: kept in mount order (stacking); different mountpoints: sorted.
rows += [("mountinfo", m) for _, m in sorted(mounts, key=lambda m: m[0])]
for s, l in rows:
    print("%s\t%s" % (s, l))
EOF
}

# compare CASE: per section, lines only runc shows ("- ") and only the runtime shows ("+ ").
compare() {
	local c=$1
	normalise "$T/$c.runc.out" "$T/$c.runc.rc" >"$T/$c.runc.norm" || fail "cannot normalise runc's output"
	normalise "$T/$c.rt.out" "$T/$c.rt.rc" >"$T/$c.rt.norm" || fail "cannot normalise the runtime's output"
	python3 - "$T/$c.runc.norm" "$T/$c.rt.norm" "${ALLOWED[@]}" >"$T/$c.diff" <<'EOF'
import difflib, re, sys
a, b, allowed = sys.argv[1], sys.argv[2], [x.split("|", 2) for x in sys.argv[3:]]
def load(p):
    d = {}
    for line in open(p).read().splitlines():
        s, _, l = line.partition("\t")
        d.setdefault(s, []).append(l)
    return d
ra, rb = load(a), load(b)
for sec in list(dict.fromkeys(list(ra) + list(rb))):
    la, lb = ra.get(sec, []), rb.get(sec, [])
    if la == lb:
        continue
    for d in difflib.ndiff(la, lb):
        if d[:2] not in ("- ", "+ "):
            continue
        why = next((w for s, r, w in allowed if s == sec and re.search(r, d)), None)
        print("%s\t%s\t%s" % ("ALLOWED" if why else "DIFF", sec, d + (" (allowed: %s)" % why if why else "")))
EOF
	local n
	n=$(grep -c '^DIFF' "$T/$c.diff")
	grep '^ALLOWED' "$T/$c.diff" | cut -f2- | sed 's/\t/: /; s/^/# /'
	if [ "$n" != 0 ]; then
		fail "$n line(s) differ (- runc only, + runtime only):"
		while IFS=$'\t' read -r _ sec line; do
			fail "  [$sec] $line"
		done < <(grep '^DIFF' "$T/$c.diff")
	fi
}

t_case() {
	local c=$1 who
	runcase "$c" runc "$OCI_RUNC"
	runcase "$c" rt "$OCI_RUNTIME"
	for who in runc rt; do
		# The probe ends with "== end": without it the comparison would be of a partial view.
		if ! grep -qx '== end' "$T/$c.$who.out"; then
			fail "$who run of '$c' did not finish the probe (exit $(cat "$T/$c.$who.rc")): $(tail -n 5 "$T/$c.$who.err" | tr '\n' '|')"
		fi
	done
	[ -s "$T/$c.rt.err" ] && echo "# runtime stderr ($c): $(head -c 600 "$T/$c.rt.err" | tr '\n' '|')"
	compare "$c"
}

check "default bundle (runc spec): same process view under runc and $(basename "$OCI_RUNTIME")" t_case default
check "custom bundle (user, groups, umask, caps, rlimits, seccomp, mounts, sysctl): same view" t_case custom
if [ "$OCI_FAIL" != 0 ]; then
	echo "# raw outputs: $T/CASE.{runc,rt}.{out,err,norm} (kept)"
	# shellcheck disable=SC2034 # lib.sh's cleanup list: emptied to keep $T for the reader
	OCI_EXIT_CMDS=()
fi
oci_done
