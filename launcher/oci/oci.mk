# OCI runtime mode (issue 4): sources and tests of launcher/oci/
libferry_la_SOURCES += \
	launcher/oci/spec.c launcher/oci/spec.h \
	launcher/oci/ocidefs.c launcher/oci/ocidefs.h \
	launcher/oci/state.c launcher/oci/state.h \
	launcher/oci/cli.c launcher/oci/cli.h \
	launcher/oci/ocilog.c launcher/oci/ocilog.h

unit_tests += tests/unit/test_oci_spec tests/unit/test_oci_state tests/unit/test_oci_cli \
	tests/unit/test_oci_log
tests_unit_test_oci_spec_CFLAGS = $(unit_cflags) $(JANSSON_CFLAGS)
tests_unit_test_oci_spec_LDADD = $(unit_ldadd) $(JANSSON_LIBS)
tests_unit_test_oci_state_CFLAGS = $(unit_cflags) $(JANSSON_CFLAGS)
tests_unit_test_oci_state_LDADD = $(unit_ldadd) $(JANSSON_LIBS)
tests_unit_test_oci_cli_CFLAGS = $(unit_cflags) $(JANSSON_CFLAGS)
tests_unit_test_oci_cli_LDADD = $(unit_ldadd) $(JANSSON_LIBS)
tests_unit_test_oci_log_CFLAGS = $(unit_cflags) $(JANSSON_CFLAGS)
tests_unit_test_oci_log_LDADD = $(unit_ldadd) $(JANSSON_LIBS)
