# plan: request -> plan, pure data (environment, binds, site configuration, host
# facts); unit-tested without namespaces
libferry_la_SOURCES += \
	launcher/plan/bind.c launcher/plan/bind.h \
	launcher/plan/siteconf.c launcher/plan/siteconf.h \
	launcher/plan/environ.c launcher/plan/environ.h \
	launcher/plan/host.c launcher/plan/host.h \
	launcher/plan/request.c launcher/plan/request.h \
	launcher/plan/plan.c launcher/plan/plan.h \
	launcher/plan/action.c launcher/plan/action.h
