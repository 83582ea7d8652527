#!/bin/bash
# t-sif: images laid out as Apptainer writes them (/.singularity.d: runscript, env/*.sh,
# labels.json, the Singularity definition file; SCIF apps under /scif/apps), as SIF files made
# by tests/tools/mksif.py around mksquashfs images and as directories: run runs the runscript,
# exec/run/shell see %environment, --app, inspect --labels/--runscript/--deffile; an image
# without /.singularity.d is run as before.
. "$(dirname "$0")/lib.sh"
fy_init

DEFFILE='Bootstrap: docker
From: busybox

%environment
    export SIF_VAR=from-environment

%runscript
    echo "runscript [$*] $SIF_VAR"
    exit 7

%labels
    maintainer ferry tests
'

# The tree `apptainer build` makes: the busybox root without ferry's /.ferry, and the files
# Apptainer writes under /.singularity.d and /scif.
R=$DATA/sif.root
cp -a "$IMGDIR" "$R"
rm -rf "$R/.ferry"
mkdir -p "$R/.singularity.d/env" "$R/.singularity.d/actions" "$R/opt/tools/bin" \
	"$R/scif/apps/foo/bin" "$R/scif/apps/foo/scif/env" "$R/scif/apps/bar/scif" "$R/scif/data"
printf '%s\n' '#!/bin/sh' 'echo "runscript [$*] $SIF_VAR"' 'exit 7' >"$R/.singularity.d/runscript"
printf '%s\n' '#!/bin/sh' '# Custom environment shell code should follow' >"$R/.singularity.d/env/01-base.sh"
# 90-environment.sh is %environment; 95-apps.sh runs later and sees what it set.
printf '%s\n' '#!/bin/sh' 'export PATH="/opt/tools/bin:$PATH"' 'export SIF_VAR=from-environment' \
	'export SIF_ORDER=90' >"$R/.singularity.d/env/90-environment.sh"
printf '%s\n' '#!/bin/sh' 'export SIF_ORDER="$SIF_ORDER,95"' >"$R/.singularity.d/env/95-apps.sh"
printf '%s\n' '{' '    "maintainer": "ferry tests",' \
	'    "org.label-schema.schema-version": "1.0"' '}' >"$R/.singularity.d/labels.json"
printf '%s' "$DEFFILE" >"$R/.singularity.d/Singularity"
printf '%s\n' '#!/bin/sh' 'echo "mytool $*"' >"$R/opt/tools/bin/mytool"
printf '%s\n' '#!/bin/sh' 'echo "footool $*"' >"$R/scif/apps/foo/bin/footool"
printf '%s\n' '#!/bin/sh' 'echo "foo runscript [$*] $FOO_VAR $SCIF_APPNAME"' \
	>"$R/scif/apps/foo/scif/runscript"
printf '%s\n' 'export FOO_VAR=from-foo-env' >"$R/scif/apps/foo/scif/env/90-environment.sh"
chmod 755 "$R/.singularity.d/runscript" "$R/.singularity.d/env/"*.sh "$R/opt/tools/bin/mytool" \
	"$R/scif/apps/foo/bin/footool" "$R/scif/apps/foo/scif/runscript"
chmod -R a+rX "$R"
printf '%s' "$DEFFILE" >"$DATA/deffile"
"$MKSQUASHFS" "$R" "$DATA/app.sqfs" -noappend -quiet -no-progress -all-root >/dev/null
python3 "$FERRY_SRCDIR/tests/tools/mksif.py" --deffile "$DATA/deffile" "$DATA/app.sqfs" \
	"$DATA/app.sif" >/dev/null
# An image whose definition file is only the SIF's data object.
printf '%s\n' 'Bootstrap: localimage' 'From: only-in-the-sif-descriptor' >"$DATA/deffile2"
"$MKSQUASHFS" "$R" "$DATA/nodef.sqfs" -noappend -quiet -no-progress -all-root \
	-e .singularity.d/Singularity >/dev/null
python3 "$FERRY_SRCDIR/tests/tools/mksif.py" --deffile "$DATA/deffile2" "$DATA/nodef.sqfs" \
	"$DATA/nodef.sif" >/dev/null
chmod 644 "$DATA"/*.sif "$DATA"/*.sqfs
SIF=$DATA/app.sif

t_run_args() {
	fy run "$1" a 'b  c'
	expect_rc 7
	expect_out "runscript [a b  c] from-environment"
}
check "run: the runscript with the arguments, its exit status" t_run_args "$SIF"
check "run: a directory image with /.singularity.d" t_run_args "$R"

t_exec_env() {
	fy exec "$1" mytool x 'y z'
	expect_rc 0
	expect_out "mytool x y z"
	fy exec "$1" sh -c 'echo "$SIF_VAR $SIF_ORDER"; exit 5'
	expect_rc 5
	expect_out "from-environment 90,95"
}
check "exec: a tool on the PATH of 90-environment.sh, its variables, env/*.sh in order" \
	t_exec_env "$SIF"
check "exec: the same from a directory image" t_exec_env "$R"

t_exec_signal() {
	fy exec "$SIF" sh -c 'kill -TERM $$'
	expect_rc 143
}
check "exec: a command killed by a signal reports it (the script execs it)" t_exec_signal

t_env_wins() {
	FY_ENV=(FERRYENV_SIF_ORDER=from-ferryenv)
	fy exec --env SIF_VAR=from-option "$SIF" sh -c 'mytool; echo "$SIF_VAR $SIF_ORDER"'
	expect_rc 0
	expect_out "$(printf 'mytool \nfrom-option from-ferryenv')"
}
check "--env and FERRYENV_ win over %environment, as in Apptainer" t_env_wins

t_shell() {
	printf '%s\n' 'mytool from-shell' 'echo "$SIF_VAR"' 'exit 4' >"$DATA/shell-in"
	chmod 644 "$DATA/shell-in"
	FY_STDIN=$DATA/shell-in fy shell "$SIF"
	expect_rc 4
	expect_out "mytool from-shell
from-environment"
}
check "shell: the image's environment, commands from stdin" t_shell

t_app() {
	fy run --app foo "$1" q
	expect_rc 0
	expect_out "foo runscript [q] from-foo-env foo"
	fy exec --app foo "$1" sh -c 'footool 1; echo "${PATH%%:*} $SIF_VAR"'
	expect_rc 0
	expect_out "footool 1
/scif/apps/foo/bin from-environment"
	FY_ENV=(FERRY_APP=foo)
	fy exec "$1" footool 2
	expect_rc 0
	expect_out "footool 2"
}
check "--app foo: its runscript, env and bin/ for run and exec" t_app "$SIF"
check "--app foo from a directory image" t_app "$R"

t_app_norunscript() {
	fy run --app bar "$SIF"
	expect_rc 127
	expect_err_has "no runscript"
}
check "--app bar without a runscript: run says so" t_app_norunscript

t_app_unknown() {
	fy exec --app nope "$SIF" true
	expect_error 2 "app 'nope' is not in image" "its apps: bar, foo"
	fy run --app ../foo "$SIF"
	expect_error 2 "not an app name"
	fy exec --app foo "$FIXDIR/bb.sqfs" true
	expect_error 2 "app 'foo'.*no Apptainer layout"
}
check "--app: an unknown app is one error line listing the apps" t_app_unknown

t_inspect() {
	fy inspect --labels "$SIF"
	expect_rc 0
	expect_out "maintainer: ferry tests
org.label-schema.schema-version: 1.0"
	fy inspect --runscript "$SIF"
	expect_rc 0
	expect_out "$(cat "$R/.singularity.d/runscript")"
	fy inspect --deffile "$SIF"
	expect_rc 0
	expect_out "$(cat "$DATA/deffile")"
	fy inspect --deffile "$DATA/nodef.sif"
	expect_rc 0
	expect_out "$(cat "$DATA/deffile2")"
	fy inspect --labels --json "$R"
	expect_rc 0
	expect_out_has '"maintainer": "ferry tests"'
	fy inspect "$SIF"
	expect_rc 0
	expect_out_re '^runscript: +/.singularity.d/runscript$'
	expect_out_re '^apps: +bar$'
	fy inspect --runscript "$FIXDIR/bb.sqfs"
	expect_error 4 "has no runscript"
}
check "inspect --labels, --runscript, --deffile (the image's file, else the SIF's)" t_inspect

t_plain() {
	fy exec --dry-run "$FIXDIR/bb.sif" true
	expect_rc 0
	expect_out_lacks ".ferry-action"
	expect_out_re '^argv: true$'
	fy run "$FIXDIR/bb.sif"
	expect_rc 0
	expect_out "entry default-cmd"
	fy run "$FIXDIR/nocfg.sqfs"
	expect_error 2 "no OCI config"
}
check "an image without /.singularity.d runs as before" t_plain

t_noscript() {
	local N=$DATA/norun.root
	cp -a "$R" "$N"
	rm "$N/.singularity.d/runscript"
	fy run "$N"
	expect_error 2 "neither an OCI config.*nor a runscript"
	rm -rf "$N"
}
check "run: /.singularity.d without a runscript and no OCI config is refused" t_noscript

fy_done
