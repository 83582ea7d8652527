# image conversion (issue 3): sources and tests of image/convert/
libferry_la_SOURCES += \
	image/convert/merge.c image/convert/merge.h \
	image/convert/mergelink.c image/convert/mergelink.h \
	image/convert/layer.c image/convert/layer.h \
	image/convert/sqfswriter.c image/convert/sqfswriter.h \
	image/convert/sqfsio.c image/convert/sqfsio.h \
	image/convert/ocilayout.c image/convert/ocilayout.h \
	image/convert/convert.c image/convert/convert.h

# A small driver for tests/convert/*.sh and measurements, not installed.
noinst_PROGRAMS += tests/convert/fy-convert
tests_convert_fy_convert_SOURCES = tests/convert/fy-convert.c
tests_convert_fy_convert_LDADD = libferry.la

unit_tests += tests/unit/test_merge tests/unit/test_layer
tests_unit_test_merge_CFLAGS = $(unit_cflags)
tests_unit_test_merge_LDADD = $(unit_ldadd)
tests_unit_test_layer_CFLAGS = $(unit_cflags) $(ZLIB_CFLAGS) $(ZSTD_CFLAGS)
tests_unit_test_layer_LDADD = $(unit_ldadd) $(ZLIB_LIBS) $(ZSTD_LIBS)
EXTRA_DIST += tests/convert/roundtrip.sh tests/convert/treelist.py

# oci-archive: and docker-archive: sources (tar files read in place, blobs not copied)
libferry_la_SOURCES += image/convert/archive.c image/convert/archive.h \
	image/convert/tarindex.c image/convert/tarindex.h
unit_tests += tests/unit/test_archive
tests_unit_test_archive_CFLAGS = $(unit_cflags) $(ARCHIVE_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_archive_LDADD = $(unit_ldadd) $(ARCHIVE_LIBS) $(JANSSON_LIBS)

# The image with every hard case (built by umoci, buildah and tar) against umoci's unpack.
extra_tests += tests/convert/hardcase.sh
EXTRA_DIST += tests/convert/hardcase.sh benchmarks/convert.sh
