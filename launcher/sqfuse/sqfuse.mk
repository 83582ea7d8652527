# sqfuse: the in-process squashfs FUSE server; depends on base/ only
libferry_la_SOURCES += \
	launcher/sqfuse/sqfuse.c launcher/sqfuse/sqfuse.h \
	launcher/sqfuse/sqfuse_cache.c launcher/sqfuse/sqfuse_cache.h \
	launcher/sqfuse/sqfuse_int.h \
	launcher/sqfuse/sqfuse_ops.c launcher/sqfuse/sqfuse_ops.h \
	launcher/sqfuse/sqfuse_dir.c launcher/sqfuse/sqfuse_dir.h \
	launcher/sqfuse/sqfuse_xattr.c launcher/sqfuse/sqfuse_xattr.h \
	launcher/sqfuse/sqfuse_extra.c launcher/sqfuse/sqfuse_extra.h
