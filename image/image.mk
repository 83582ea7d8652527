# image: image detection (squashfs, SIF, directory) and the OCI image config
libferry_la_SOURCES += \
	image/sqfs_sb.c image/sqfs_sb.h \
	image/sif.c image/sif.h \
	image/image.c image/image.h \
	image/imgcfg.c image/imgcfg.h \
	image/apptainer.c image/apptainer.h

# Apptainer's layout: the action script, labels, app names, and the plan for such images
unit_tests += tests/unit/test_apptainer
tests_unit_test_apptainer_CFLAGS = $(unit_cflags)
tests_unit_test_apptainer_LDADD = $(unit_ldadd)
