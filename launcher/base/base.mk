# base: error type, log sink, cleanup helpers, strv, fsutil, syscall wrappers and
# the in-root resolver; everything may include these, they include nothing of ours
libferry_la_SOURCES += \
	launcher/base/cleanup.h \
	launcher/base/error.c launcher/base/error.h \
	launcher/base/fsutil.c launcher/base/fsutil.h \
	launcher/base/log.c launcher/base/log.h \
	launcher/base/strv.c launcher/base/strv.h \
	launcher/base/resolve.c launcher/base/resolve.h \
	launcher/base/syscalls.h
