#!/bin/bash
# t-apptainer: a corpus of small job scripts written the way Apptainer users write them
# (APPTAINER_BIND, APPTAINERENV_*, -B comma lists, --containall, -H, --env lists, --mount,
# --overlay DIR, -S/-W, shell -s, pull OUT SRC), run unchanged but for `apptainer` replaced by
# `ferry` (issue 14, items 2 and 3). Each script runs as the test user; the checks assert its
# output and exit status. Needs umoci (for the oci: layout that pull reads).
. "$(dirname "$0")/lib.sh"
fy_init

command -v umoci >/dev/null || fy_die "umoci is missing (apt-get install umoci)"

JOBS=$DATA/jobs
fy_user_dir "$JOBS" "$DATA/in" "$DATA/out" "$DATA/ov" "$DATA/wd"
echo input-data >"$DATA/in/file"
echo results >"$DATA/out/file"
chown -R "$TUID:$TGID" "$DATA/in" "$DATA/out" 2>/dev/null

# job NAME: the script on stdin, with `apptainer` made `ferry`, run by sh as the test user with
# ferry first on PATH. The rest of FY_ENV is the job's environment.
job() {
	local f=$JOBS/$1.sh
	sed 's/\bapptainer\b/ferry/g' >"$f"
	chmod 644 "$f"
	FY_ENV=("PATH=$RUNDIR/bin:/usr/bin:/bin" "IMG=$IMG" "DATA=$DATA" "${JOB_ENV[@]}")
	fy_cmd sh "$f"
}
JOB_ENV=()

t_bind_env() {
	JOB_ENV=("APPTAINER_BIND=$DATA/in:/input:ro,$DATA/out:/output" APPTAINERENV_OMP_NUM_THREADS=4
		SINGULARITYENV_OMP_NUM_THREADS=99 SINGULARITYENV_OLD=sing)
	job bind_env <<'EOF'
apptainer exec "$IMG" sh -c 'cat /input/file /output/file; echo "omp=$OMP_NUM_THREADS old=$OLD"
env | grep -c -e "^APPTAINER" -e "^SINGULARITY"; touch /input/x 2>/dev/null || echo ro'
EOF
	expect_rc 0
	expect_out "input-data
results
omp=4 old=sing
0
ro"
}
check "APPTAINER_BIND comma list, APPTAINERENV_ over SINGULARITYENV_, none left inside" t_bind_env

t_precedence() {
	JOB_ENV=(SINGULARITY_PWD=/proc APPTAINER_PWD=/tmp)
	job prec1 <<'EOF'
apptainer exec "$IMG" pwd
FERRY_PWD=/dev apptainer exec "$IMG" pwd
FERRY_PWD=/dev apptainer exec --pwd /sys "$IMG" pwd
SINGULARITY_PWD=/etc APPTAINER_PWD= apptainer exec "$IMG" pwd
FERRYENV_V=ferry APPTAINERENV_V=app apptainer exec "$IMG" sh -c 'echo $V'
EOF
	expect_rc 0
	expect_out "/tmp
/dev
/sys
/etc
ferry"
}
check "precedence: command line > FERRY_ > APPTAINER_ > SINGULARITY_" t_precedence

t_site_off() {
	printf 'apptainer_env = no\n' >"$DATA/off.conf"
	chmod 644 "$DATA/off.conf"
	JOB_ENV=("FERRY_CONF=$DATA/off.conf" "APPTAINER_BIND=$DATA/in:/input" APPTAINERENV_BAZ=a)
	job site_off <<'EOF'
apptainer exec "$IMG" sh -c 'ls /input 2>/dev/null || echo no-bind; echo "${BAZ-unset} $APPTAINERENV_BAZ"'
EOF
	expect_rc 0
	expect_out "no-bind
unset a"
}
check "apptainer_env = no in ferry.conf: the Apptainer names are ignored" t_site_off

t_bflag_containall() {
	echo host-home-marker >"$THOME/.fyappt-marker"
	JOB_ENV=(SECRET=host)
	job containall <<'EOF'
apptainer exec --containall -B "$DATA/in:/a,$DATA/out:/b:ro" "$IMG" sh -c \
  'cat /a/file /b/file; ls -A "$HOME" | wc -l; echo "secret=${SECRET-unset}"; ps -o pid= | wc -l'
EOF
	expect_rc 0
	expect_out_has "input-data
results
0
secret=unset"
	[ "$(echo "$OUT" | tail -n1)" -le 4 ] || fail "expected a PID namespace (few processes), got: $OUT"
}
check "-B comma list with :ro and --containall (no host home, clean env, own PIDs)" t_bflag_containall

t_home_env_mount() {
	job home_env <<'EOF'
apptainer exec -H "$DATA/in:/myhome" --env A=1,B=2 --env LDFLAGS=-Wl,-rpath,/opt/lib \
  --mount type=bind,src=$DATA/out,dst=/results,ro --mount type=tmpfs,dst=/fast "$IMG" \
  sh -c 'echo "$HOME $(cat ~/file) $A $B $LDFLAGS"; cat /results/file; touch /fast/x && echo fast'
EOF
	expect_rc 0
	expect_out "/myhome input-data 1 2 -Wl,-rpath,/opt/lib
results
fast"
}
check "-H SRC:DST, --env comma lists (values keep their commas), --mount bind and tmpfs" t_home_env_mount

t_overlay() {
	rm -rf "$DATA/ov" && fy_user_dir "$DATA/ov"
	job overlay <<'EOF'
apptainer exec --overlay "$DATA/ov" "$IMG" sh -c 'echo persisted > /newfile'
apptainer exec -o "$DATA/ov" "$IMG" cat /newfile
apptainer exec "$IMG" cat /newfile 2>/dev/null || echo not-in-image
EOF
	expect_rc 0
	expect_out "persisted
not-in-image"
	[ -f "$DATA/ov/upper/newfile" ] || fail "expected the change in $DATA/ov/upper"
}
check "--overlay DIR: a change persists across two runs, the image stays as it was" t_overlay

t_overlay_file() {
	: >"$DATA/ov.img"
	job overlay_file <<'EOF'
apptainer exec --overlay "$DATA/ov.img" "$IMG" true
EOF
	expect_error 2 'overlay' 'directory'
}
check "--overlay FILE: refused in one line (an image cannot be mounted unprivileged)" t_overlay_file

t_scratch_workdir() {
	rm -rf "$DATA/wd" && fy_user_dir "$DATA/wd"
	job scratch <<'EOF'
apptainer exec -S /scratch "$IMG" sh -c 'echo a > /scratch/f && cat /scratch/f'
apptainer exec --contain -W "$DATA/wd" -S /scratch "$IMG" sh -c 'echo b > /scratch/f; echo c > /tmp/t'
cat "$DATA/wd/scratch/scratch/f" "$DATA/wd/tmp/t"
EOF
	expect_rc 0
	expect_out "a
b
c"
}
check "-S DIR (private tmpfs), -W DIR with --contain (scratch and /tmp kept in DIR)" t_scratch_workdir

t_net_ns() {
	job net <<'EOF'
apptainer exec --net --network none --ipc --uts "$IMG" sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
apptainer exec -n none "$IMG" true && echo short-ok
EOF
	expect_rc 0
	expect_out "lo
short-ok"
}
check "--net --network none, -n none, --ipc, --uts" t_net_ns

t_refused() {
	job nv <<'EOF'
apptainer exec --nv "$IMG" nvidia-smi
EOF
	# --nv is real now (issue 11): on a host without the NVIDIA driver it says so in one line.
	expect_error 5 'no NVIDIA driver \(--nv\)' '/proc/driver/nvidia/version'
	job bridge <<'EOF'
apptainer exec --net "$IMG" true
EOF
	expect_error 2 '--network none'
	job writable <<'EOF'
apptainer exec --writable "$IMG" true
EOF
	expect_error 2 'writable-tmpfs|overlay'
}
check "--nv without a driver, --net alone, --writable: refused in one line with the reason" t_refused

t_shell() {
	printf 'echo "shell=$0"\nexit 3\n' >"$DATA/stdin"
	chmod 644 "$DATA/stdin"
	FY_STDIN=$DATA/stdin
	JOB_ENV=(APPTAINER_SHELL=/bin/sh)
	job shell <<'EOF'
apptainer shell "$IMG"
EOF
	FY_STDIN=
	expect_rc 3
	expect_out "shell=/bin/sh"
	FY_STDIN=$DATA/stdin
	JOB_ENV=()
	job shell2 <<'EOF'
apptainer shell --shell /bin/cat "$IMG"
EOF
	FY_STDIN=
	expect_rc 0
	expect_out 'echo "shell=$0"
exit 3'
}
check "shell: APPTAINER_SHELL, --shell PATH" t_shell

t_no_mount() {
	job nomount <<'EOF'
cd "$DATA"
apptainer exec --no-mount home,cwd,tmp "$IMG" sh -c 'ls "$HOME" 2>/dev/null | wc -l; ls "$DATA" 2>/dev/null | wc -l'
apptainer exec --no-mount dev "$IMG" true
EOF
	expect_rc 2
	expect_out "0
0"
	expect_err_has "ferry always mounts /proc, /sys and /dev"
}
check "--no-mount home,cwd,tmp; --no-mount dev refused" t_no_mount

# An OCI layout for pull (no registry needed).
LAY=$DATA/lay
(
	set -e
	cd "$DATA"
	fy_umoci_busybox lay latest b sh cat echo
	umoci repack --image lay:latest b
) >"$DATA/lay.log" 2>&1 || fy_die "building the OCI layout failed: $(tail -3 "$DATA/lay.log")"
chmod -R a+rX "$LAY"
fy_user_dir "$DATA/sifs"

t_pull_positional() {
	JOB_ENV=("LAY=$LAY" "APPTAINER_CACHEDIR=$DATA/cache")
	job pull <<'EOF'
cd "$DATA/sifs"
apptainer pull -q app.sif "oci:$LAY:latest" >/dev/null && apptainer exec app.sif echo pulled-ok
apptainer pull -q app.sif "oci:$LAY:latest" 2>&1; echo "rc=$?"
apptainer pull -q --force app.sif "oci:$LAY:latest" >/dev/null && echo forced
apptainer pull -q --dest app.sif "oci:$LAY:latest" 2>&1; echo "rc=$?"
EOF
	expect_rc 0
	expect_out_has "pulled-ok"
	expect_out_has "app.sif exists (use --force to replace it)"
	expect_out_has "forced"
	[ "$(grep -c '^rc=2$' "$OUT_F")" = 2 ] || fail "expected two refusals with exit status 2"
}
check "pull OUT SOURCE means --dest OUT; an existing OUT needs --force" t_pull_positional

fy_done
