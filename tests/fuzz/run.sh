#!/bin/sh
# Build and run every libFuzzer harness for SECONDS each (default: $FUZZ_SECONDS, else 10),
# starting from the seeds in tests/fuzz/corpus/<target>/. New inputs go to a scratch corpus in
# the build tree (tests/fuzz/work/), never into the source tree. Prints "N passed, M failed"
# and exits 1 if a harness crashed, leaked or timed out; the reproducer path is printed.
# Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]   (run from the build directory, or set
# FERRY_BUILDDIR; `make check` does)
set -u
secs=${1:-${FUZZ_SECONDS:-10}}
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")" && pwd)
srcdir=${FERRY_SRCDIR:-$(cd "$here/../.." && pwd)}
builddir=${FERRY_BUILDDIR:-$(pwd)}
targets=${*:-"imgcfg manifest auth ref merge sqfs_sb sif oci_spec sqfuse"}

case $secs in
'' | *[!0-9]*) echo "run.sh: SECONDS must be a number, not '$secs'" >&2; exit 2 ;;
esac
if [ ! -f "$builddir/Makefile" ]; then
	echo "run.sh: no Makefile in $builddir: run from a configured build directory" >&2
	exit 2
fi
# Missing tools are a failure, not a skip (DESIGN.md 3.10): the CI must fuzz.
if ! command -v clang >/dev/null 2>&1; then
	echo "run.sh: clang not found: scripts/install-deps.sh test (clang libclang-rt-14-dev)" >&2
	exit 1
fi
progs=
for t in $targets; do progs="$progs tests/fuzz/fuzz_$t"; done
mkdir -p "$builddir/tests/fuzz"
# A sub-make of `make check` gets no jobserver: run it on its own.
# shellcheck disable=SC2086
if ! MAKEFLAGS= MFLAGS= make -C "$builddir" --no-print-directory $progs >"$builddir/tests/fuzz/build.log" 2>&1; then
	cat "$builddir/tests/fuzz/build.log" >&2
	echo "run.sh: building the fuzzers failed (needs clang and libclang-rt-14-dev)" >&2
	exit 1
fi

work=$builddir/tests/fuzz/work
# Known, reported leaks stay suppressed until fixed (see the file); everything else is fatal.
LSAN_OPTIONS=suppressions=$srcdir/tests/fuzz/known-leaks.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}
export LSAN_OPTIONS
pass=0
fail=0
for t in $targets; do
	seeds=$srcdir/tests/fuzz/corpus/$t
	corpus=$work/corpus/$t
	art=$work/crashes/$t
	log=$work/$t.log
	mkdir -p "$corpus" "$art"
	# Inputs that once found a bug (tests/fuzz/known/<target>-*) are replayed every time, so
	# a fix can never quietly regress.
	for k in "$srcdir"/tests/fuzz/known/"$t"-*; do
		[ -e "$k" ] || continue
		if ! "$builddir/tests/fuzz/fuzz_$t" "$k" >"$log.known" 2>&1; then
			echo "FAIL: fuzz_$t replaying $k (log: $log.known)"
			grep -E 'ERROR: |SUMMARY: ' "$log.known" | head -n 5
			fail=$((fail + 1))
			continue 2
		fi
	done
	# -timeout: one input may take 10 s at most (a hang is a finding); -rss_limit_mb bounds
	# memory; leaks are findings too (LeakSanitizer runs at exit and on each new input).
	if "$builddir/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$art/" "$corpus" "$seeds" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "PASS: fuzz_$t (${runs:-?} runs in ${secs}s)"
		pass=$((pass + 1))
	else
		echo "FAIL: fuzz_$t (log: $log)"
		# The sanitizer's report without libFuzzer's and libc's own frames.
		grep -E 'ERROR: |SUMMARY: |^ *#[0-9]+ ' "$log" |
			grep -v -E 'fuzzer::|__sanitizer|libc[._]|_start |/lib/x86_64' | head -n 25
		sed -n 's/.*Test unit written to \(.*\)/reproducer: \1/p' "$log"
		echo "  rerun: $builddir/tests/fuzz/fuzz_$t REPRODUCER"
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
