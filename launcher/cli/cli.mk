# cli: the program edges (option parsers, mains): the only code that prints, exits or reads the
# environment. The programs keep their build paths (launcher/ferry, ...) so tests and scripts
# find them where they always were.
bin_PROGRAMS += launcher/ferry
# The option parser: the table and command line (options.c), values (options_value.c), the
# environment (options_env.c), help texts (options_help.c), the request (options_request.c).
ferry_options_sources = launcher/cli/options.c launcher/cli/options.h launcher/cli/options_int.h \
	launcher/cli/options_value.c launcher/cli/options_env.c launcher/cli/options_help.c \
	launcher/cli/options_request.c
# The option parser is ferry's edge: it fills a request (launcher/plan/request.h), the library never
# sees a command line.
launcher_ferry_SOURCES = launcher/cli/ferry_main.c launcher/cli/edge.c launcher/cli/edge.h \
	$(ferry_options_sources)
launcher_ferry_LDADD = libferry.la
# Pulling links libcurl, libarchive, libsquashfs and ISA-L: a helper program of its own keeps
# their loading cost off every `ferry exec` (launcher/cli/pull_main.c).
pkglibexec_PROGRAMS += launcher/ferry-pull
launcher_ferry_pull_SOURCES = launcher/cli/pull_main.c launcher/cli/edge.c launcher/cli/edge.h \
	$(ferry_options_sources)
launcher_ferry_pull_LDADD = libferry.la

# ferry-oci: runc's command line over the OCI library in launcher/oci/.
bin_PROGRAMS += launcher/ferry-oci
launcher_ferry_oci_SOURCES = launcher/cli/oci_main.c launcher/cli/oci_life.c launcher/cli/oci_query.c \
	launcher/cli/oci_cmd.h launcher/cli/oci_cli.c launcher/cli/oci_cli.h launcher/cli/edge.c \
	launcher/cli/edge.h launcher/cli/oci_exec_cmd.c launcher/cli/oci_exec_cmd.h \
	launcher/cli/oci_pidfile.c launcher/cli/oci_pidfile.h
launcher_ferry_oci_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
launcher_ferry_oci_LDADD = libferry.la $(JANSSON_LIBS)
