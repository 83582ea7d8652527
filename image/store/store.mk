# store: pull orchestration (source -> cached image) and the image cache
libferry_la_SOURCES += \
	image/store/pull.c image/store/pull.h \
	image/store/imgcache.c image/store/imgcache.h
