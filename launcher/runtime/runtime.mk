# runtime: the executor and the only code that makes namespace, mount and exec
# system calls for a container (userns, mounts, supervise, fakeroot)
libferry_la_SOURCES += \
	launcher/runtime/userns.c launcher/runtime/userns.h \
	launcher/runtime/mounts.c launcher/runtime/mounts.h \
	launcher/runtime/splice.c launcher/runtime/splice.h \
	launcher/runtime/devfs.c launcher/runtime/devfs.h \
	launcher/runtime/supervise.c launcher/runtime/supervise.h \
	launcher/runtime/fakeroot.c launcher/runtime/fakeroot.h \
	launcher/runtime/executor.c launcher/runtime/executor.h
# devices: host GPUs and their libraries turned into plan data (no mounts of their own)
libferry_la_SOURCES += \
	launcher/runtime/devices/gpu_nvidia.c launcher/runtime/devices/gpu_nvidia.h

unit_tests += tests/unit/test_fakeroot
tests_unit_test_fakeroot_CFLAGS = $(unit_cflags) $(SECCOMP_CFLAGS)
tests_unit_test_fakeroot_LDADD = $(unit_ldadd) $(SECCOMP_LIBS)
