/* action: the shell script ferry runs a command through in an image that has Apptainer's
 * layout (image/apptainer.h), in place of Apptainer's action scripts: it sources
 * /.singularity.d/env/ *.sh in lexical order (and an app's /scif/apps/NAME/scif/env/ *.sh, with
 * its bin/ first on PATH), sets again the variables the caller asked for by name (--env,
 * --env-file, FERRYENV_), so that they win over the image's %environment as in Apptainer, and
 * then execs the command, the runscript or the shell: the command's exit status and signals are
 * its own. Pure: the plan binds the text read-only at FY_APPTAINER_ACTION and runs it with the
 * image's /bin/sh. */
#ifndef FERRY_ACTION_H
#define FERRY_ACTION_H

enum fy_action_mode {
	FY_ACTION_EXEC,  /* exec "$@" */
	FY_ACTION_RUN,   /* the runscript (the app's with an app) with "$@" */
	FY_ACTION_SHELL, /* /bin/bash --norc "$@", else /bin/sh "$@" */
};

struct fy_action {
	enum fy_action_mode mode;
	const char *app;   /* an app name (fy_apptainer_app_name_ok), NULL: none */
	char *const *keep; /* "K=V" set again after the image's scripts; NULL: none */
};

/* The script text, or NULL when out of memory. */
char *fy_action_script(const struct fy_action *a);
/* s as one word of sh: single-quoted, quotes inside written as '\''. NULL when out of memory. */
char *fy_action_quote(const char *s);

#endif
