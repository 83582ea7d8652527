#!/bin/bash
# t-noopenat2: t-binds.sh, t-hostbind.sh and t-sif.sh again, with openat2(2) failing with ENOSYS (a
# seccomp filter, tests/tools/no-openat2), so that the mounts and the image reads of directory
# images go through the fallback walk.
: "${FERRY_BUILDDIR:=$PWD}"
W=$FERRY_BUILDDIR/tests/tools/no-openat2
if [ ! -x "$W" ] || ! "$W" --check; then
	echo "Bail out! $W is not built or cannot make openat2 fail with ENOSYS"
	echo "0 passed, 1 failed"
	exit 1
fi
rc=0
for t in t-binds t-hostbind t-sif; do
	echo "# $t.sh with openat2 failing with ENOSYS"
	FERRY_WRAP=$W bash "$(dirname "$0")/$t.sh" || rc=1
done
exit $rc
