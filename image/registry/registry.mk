# registry client and blob cache (issue 3, `ferry pull docker://...`): sources and tests
libferry_la_SOURCES += \
	image/registry/ref.c image/registry/ref.h \
	image/registry/auth.c image/registry/auth.h \
	image/registry/manifest.c image/registry/manifest.h \
	image/registry/client.c image/registry/client.h image/registry/regenv.h \
	image/registry/transfer.c image/registry/transfer.h \
	image/registry/blobcache.c image/registry/blobcache.h \
	image/registry/registry.c image/registry/registry.h
# The per-registry CA hook (CURLOPT_SSL_CTX_FUNCTION) uses libssl's SSL_CTX_get_cert_store;
# configure only checks libcrypto (TODO lead: PKG_CHECK_MODULES for libssl).

# Driver for tests/registry/pull.sh (fetch into the cache, print what happened), not installed.
noinst_PROGRAMS += tests/registry/fy-fetch
tests_registry_fy_fetch_SOURCES = tests/registry/fy-fetch.c
tests_registry_fy_fetch_CFLAGS = $(AM_CFLAGS)
tests_registry_fy_fetch_LDADD = libferry.la

unit_tests += tests/unit/test_ref tests/unit/test_auth tests/unit/test_manifest \
	tests/unit/test_client
tests_unit_test_ref_CFLAGS = $(unit_cflags)
tests_unit_test_ref_LDADD = $(unit_ldadd)
tests_unit_test_auth_CFLAGS = $(unit_cflags)
tests_unit_test_auth_LDADD = $(unit_ldadd)
tests_unit_test_manifest_CFLAGS = $(unit_cflags)
tests_unit_test_manifest_LDADD = $(unit_ldadd)
tests_unit_test_client_CFLAGS = $(unit_cflags)
tests_unit_test_client_LDADD = $(unit_ldadd)
EXTRA_DIST += tests/registry/pull.sh tests/registry/authproxy.py

# 50 `ferry pull` processes of one image: one download (registry log), one conversion; a
# pull killed with SIGKILL and repeated; archive sources end to end.
extra_tests += tests/registry/concurrent.sh
EXTRA_DIST += tests/registry/concurrent.sh tests/registry/relay.py
