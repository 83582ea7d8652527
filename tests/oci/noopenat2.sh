#!/bin/bash
# tests/oci/noopenat2.sh: tests/oci/cli.sh and tests/oci/devices.sh again with ferry-oci run under
# tests/tools/no-openat2 (a seccomp filter: openat2(2) fails with ENOSYS, as before Linux 5.6),
# so that every mount destination, device node and masked or read-only path goes through the
# resolver's fallback walk (launcher/base/resolve.c) instead of openat2(RESOLVE_IN_ROOT).
: "${FERRY_BUILDDIR:=$PWD}"
W=$FERRY_BUILDDIR/tests/tools/no-openat2
if [ ! -x "$W" ] || ! "$W" --check; then
	echo "FAIL - setup: $W is not built or cannot make openat2 fail with ENOSYS"
	echo "0 passed, 1 failed"
	exit 1
fi
rc=0
for t in cli devices; do
	echo "# $t.sh with openat2 failing with ENOSYS"
	OCI_WRAP=$W bash "$(dirname "$0")/$t.sh" || rc=1
done
exit $rc
