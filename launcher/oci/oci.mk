# OCI runtime mode (issue 4): sources and tests of launcher/oci/
libferry_la_SOURCES += \
	launcher/oci/spec.c launcher/oci/spec.h \
	launcher/oci/specget.c launcher/oci/specget.h \
	launcher/oci/specproc.c launcher/oci/specproc.h \
	launcher/oci/speclinux.c launcher/oci/speclinux.h \
	launcher/oci/ocidefs.c launcher/oci/ocidefs.h \
	launcher/oci/state.c launcher/oci/state.h \
	launcher/oci/ocilog.c launcher/oci/ocilog.h

unit_tests += tests/unit/test_oci_spec tests/unit/test_oci_state tests/unit/test_oci_cli \
	tests/unit/test_oci_log
tests_unit_test_oci_spec_CFLAGS = $(unit_cflags) $(JANSSON_CFLAGS)
tests_unit_test_oci_spec_LDADD = $(unit_ldadd) $(JANSSON_LIBS)
tests_unit_test_oci_state_CFLAGS = $(unit_cflags) $(JANSSON_CFLAGS)
tests_unit_test_oci_state_LDADD = $(unit_ldadd) $(JANSSON_LIBS)
# ferry-oci's command line is the program's edge, not libferry: the test compiles it in.
tests_unit_test_oci_cli_SOURCES = tests/unit/test_oci_cli.c launcher/cli/oci_cli.c launcher/cli/oci_cli.h
tests_unit_test_oci_cli_CFLAGS = $(unit_cflags) $(JANSSON_CFLAGS)
tests_unit_test_oci_cli_LDADD = $(unit_ldadd) $(JANSSON_LIBS)
tests_unit_test_oci_log_CFLAGS = $(unit_cflags) $(JANSSON_CFLAGS)
tests_unit_test_oci_log_LDADD = $(unit_ldadd) $(JANSSON_LIBS)

# The runtime: executor for specs, process attributes, cgroups (the program is in launcher/cli/).
libferry_la_SOURCES += \
	launcher/oci/ociexec.c launcher/oci/ociexec.h \
	launcher/oci/ociexecproc.c launcher/oci/ociexecproc.h \
	launcher/oci/ocispawn.c launcher/oci/ocispawn.h \
	launcher/oci/ocimount.c launcher/oci/ocimount.h \
	launcher/oci/ocidev.c launcher/oci/ocidev.h \
	launcher/oci/ociproc.c launcher/oci/ociproc.h \
	launcher/oci/ocihook.c launcher/oci/ocihook.h \
	launcher/oci/ocitty.c launcher/oci/ocitty.h \
	launcher/oci/ocicg.c launcher/oci/ocicg.h \
	launcher/oci/ocires.c launcher/oci/ocires.h
dist_man_MANS += doc/ferry-oci.1

unit_tests += tests/unit/test_ociproc tests/unit/test_ocicg
tests_unit_test_ociproc_CFLAGS = $(unit_cflags) $(SECCOMP_CFLAGS)
tests_unit_test_ociproc_LDADD = $(unit_ldadd) $(SECCOMP_LIBS)
tests_unit_test_ocicg_CFLAGS = $(unit_cflags)
tests_unit_test_ocicg_LDADD = $(unit_ldadd)

# ferry-oci driven directly (state machine, root and rootless), by a private containerd
# (ctr run --runc-binary), by podman --runtime, and compared with runc on one bundle.
extra_tests += tests/oci/cli.sh tests/oci/containerd.sh tests/oci/podman.sh tests/oci/vs-runc.sh \
	tests/oci/squashfs.sh tests/oci/hooks.sh
extra_tests += tests/oci/devices.sh
EXTRA_DIST += tests/oci/devices.sh
# cli.sh and devices.sh again with openat2 failing with ENOSYS (the resolver's fallback walk).
extra_tests += tests/oci/noopenat2.sh
# Issue 16, gaps 5, 6 and 8-13 (peer suites).
extra_tests += tests/oci/gaps2.sh
EXTRA_DIST += tests/oci/gaps2.sh
EXTRA_DIST += tests/oci/noopenat2.sh
EXTRA_DIST += tests/oci/lib.sh tests/oci/squashfs.sh tests/oci/hooks.sh tests/oci/cli.sh tests/oci/containerd.sh tests/oci/podman.sh \
	tests/oci/vs-runc.sh benchmarks/oci.sh benchmarks/oci-report.py
libferry_la_SOURCES += launcher/oci/ociplan.c launcher/oci/ociplan.h
unit_tests += tests/unit/test_ociplan
tests_unit_test_ociplan_CFLAGS = $(unit_cflags)
tests_unit_test_ociplan_LDADD = $(unit_ldadd)
