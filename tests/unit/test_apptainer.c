/* Unit tests for Apptainer images: the action script (plan/action.h), labels.json and app names
 * (image/apptainer.h), and what the plan makes of an image with /.singularity.d. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "base/error.h"
#include "base/strv.h"
#include "image/apptainer.h"
#include "image/image.h"
#include "image/imgcfg.h"
#include "plan/action.h"
#include "plan/host.h"
#include "plan/plan.h"
#include "plan/request.h"
#include "plan/siteconf.h"

/* ---- quoting: what sh reads back is the string ---- */

static void check_roundtrip(const char *s)
{
	char *q = fy_action_quote(s);
	char cmd[4096], out[4096] = {0};
	FILE *p;
	size_t n;

	assert_non_null(q);
	snprintf(cmd, sizeof(cmd), "printf '%%s' %s", q);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	assert_int_equal(pclose(p), 0);
	out[n] = '\0';
	assert_string_equal(out, s);
	free(q);
}

static void test_quote(void **state)
{
	char *q;

	(void)state;
	q = fy_action_quote("it's");
	assert_string_equal(q, "'it'\\''s'");
	free(q);
	check_roundtrip("");
	check_roundtrip("plain");
	check_roundtrip("a b  c");
	check_roundtrip("$(touch /tmp/x) `id` $HOME \\ \" ''' ;|&");
	check_roundtrip("new\nline");
}

/* ---- the script ---- */

static void test_script_exec(void **state)
{
	struct fy_action a = {.mode = FY_ACTION_EXEC};
	char *s;

	(void)state;
	s = fy_action_script(&a);
	assert_non_null(s);
	assert_non_null(strstr(s, "for __ferry_f in /.singularity.d/env/*.sh; do\n"
	                          "\tif [ -f \"$__ferry_f\" ]; then . \"$__ferry_f\"; fi\n"
	                          "done\n"));
	/* The command replaces the shell: its status and signals are its own. */
	assert_non_null(strstr(s, "\nexec \"$@\"\n"));
	assert_int_equal(strlen(strstr(s, "\nexec \"$@\"\n")), strlen("\nexec \"$@\"\n"));
	assert_null(strstr(s, "scif"));
	free(s);
}

static void test_script_run_shell(void **state)
{
	struct fy_action a = {.mode = FY_ACTION_RUN};
	char *s;

	(void)state;
	s = fy_action_script(&a);
	assert_non_null(s);
	assert_non_null(strstr(s, "if [ -x /.singularity.d/runscript ]; then exec "
	                          "/.singularity.d/runscript \"$@\"; fi\n"));
	assert_non_null(strstr(s, "exec /bin/sh /.singularity.d/runscript \"$@\""));
	free(s);
	a.mode = FY_ACTION_SHELL;
	s = fy_action_script(&a);
	assert_non_null(s);
	assert_non_null(strstr(s, "exec /bin/bash --norc \"$@\"; fi\nexec /bin/sh \"$@\"\n"));
	free(s);
}

static void test_script_app_and_keep(void **state)
{
	char *keep[] = {"SIF_VAR=it's mine", "EMPTY=", NULL};
	struct fy_action a = {.mode = FY_ACTION_RUN, .app = "foo", .keep = keep};
	char *s, *env, *app, *k, *run;

	(void)state;
	s = fy_action_script(&a);
	assert_non_null(s);
	env = strstr(s, "/.singularity.d/env/*.sh");
	app = strstr(s, "SCIF_APPNAME='foo'");
	k = strstr(s, "SIF_VAR='it'\\''s mine'; export SIF_VAR\n");
	run = strstr(s, "if [ -x '/scif/apps/foo'/scif/runscript ]; then exec "
	                "'/scif/apps/foo'/scif/runscript \"$@\"; fi\n");
	assert_non_null(env);
	assert_non_null(app);
	assert_non_null(k);
	assert_non_null(run);
	assert_non_null(strstr(s, "EMPTY=''; export EMPTY\n"));
	assert_non_null(strstr(s, "PATH='/scif/apps/foo'/bin:\"$PATH\""));
	assert_non_null(strstr(s, "for __ferry_f in '/scif/apps/foo'/scif/env/*.sh; do"));
	/* The image's scripts, then the app (so 94-appsbase.sh does not add it twice), then the
	 * caller's variables, then the runscript. */
	assert_true(env < app && app < k && k < run);
	free(s);
}

/* ---- labels.json and app names ---- */

static void test_labels(void **state)
{
	static const char doc[] =
	        "{\"z\": \"last\", \"a.b\": \"first\", \"n\": 3, \"o\": {\"k\": [1]}}";
	struct fy_error err;
	char **l = NULL;

	(void)state;
	fy_error_clear(&err);
	assert_int_equal(fy_apptainer_parse_labels(doc, strlen(doc), &l, &err), 0);
	assert_int_equal(fy_strv_len(l), 4);
	assert_string_equal(l[0], "a.b=first");
	assert_string_equal(l[1], "n=3");
	assert_string_equal(l[2], "o={\"k\":[1]}");
	assert_string_equal(l[3], "z=last");
	fy_strv_free(l);

	assert_int_equal(fy_apptainer_parse_labels("{}", 2, &l, &err), 0);
	assert_non_null(l);
	assert_null(l[0]);
	fy_strv_free(l);

	l = NULL;
	assert_int_equal(fy_apptainer_parse_labels("[1]", 3, &l, &err), -1);
	assert_int_equal(err.exit_code, FY_EXIT_IMAGE);
	assert_non_null(strstr(err.msg, "labels.json: top level must be a JSON object"));
	assert_null(l);
	assert_int_equal(fy_apptainer_parse_labels("{\"a\": ", 6, &l, &err), -1);
	assert_non_null(strstr(err.msg, "invalid JSON"));
	assert_int_equal(fy_apptainer_parse_labels("{\"a\": \"x\\u0000y\"}", 17, &l, &err), -1);
	assert_non_null(strstr(err.msg, "NUL"));
	assert_int_equal(fy_apptainer_parse_labels("{\"a\":1,\"a\":2}", 13, &l, &err), -1);
}

static void test_app_names(void **state)
{
	(void)state;
	assert_true(fy_apptainer_app_name_ok("foo"));
	assert_true(fy_apptainer_app_name_ok("my-app_2.1"));
	assert_false(fy_apptainer_app_name_ok(""));
	assert_false(fy_apptainer_app_name_ok(NULL));
	assert_false(fy_apptainer_app_name_ok("."));
	assert_false(fy_apptainer_app_name_ok(".."));
	assert_false(fy_apptainer_app_name_ok("../etc"));
	assert_false(fy_apptainer_app_name_ok("a/b"));
	assert_false(fy_apptainer_app_name_ok("-rf"));
	assert_false(fy_apptainer_app_name_ok("a b"));
	assert_false(fy_apptainer_app_name_ok("a'b"));
}

/* ---- the plan of an image with /.singularity.d ---- */

struct fixture {
	struct fy_request req;
	struct fy_conf conf;
	struct fy_host host;
	struct fy_image img;
	struct fy_imgcfg icfg;
	struct fy_plan plan;
	struct fy_error err;
};

static int setup(void **state)
{
	static char *env[] = {"PATH=/host/bin", "FERRYENV_FROM_HOST=h", "SIF_VAR=host", NULL};
	struct fixture *f = calloc(1, sizeof(*f));

	fy_siteconf_defaults(&f->conf);
	f->host.uid = 1234;
	f->host.gid = 567;
	f->host.user = strdup("alice");
	f->host.home = strdup("/home/alice");
	f->host.group = strdup("lab");
	f->host.cwd = strdup("/scratch/alice");
	f->host.environ = fy_strv_dup(env);
	f->img.kind = FY_IMAGE_SIF;
	f->img.path = strdup("/images/app.sif");
	f->img.offset = 36864;
	f->icfg.apptainer.present = true;
	f->icfg.apptainer.runscript = true;
	f->icfg.apptainer.apps = fy_strv_dup((char *[]){"bar", "foo", NULL});
	f->req.cmd = FY_REQ_EXEC;
	f->req.image = strdup("/images/app.sif");
	f->req.argv = fy_strv_dup((char *[]){"mytool", "x", NULL});
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fy_plan_release(&f->plan);
	fy_request_release(&f->req);
	fy_siteconf_release(&f->conf);
	fy_host_release(&f->host);
	fy_image_release(&f->img);
	fy_imgcfg_release(&f->icfg);
	free(f);
	return 0;
}

static int build(struct fixture *f)
{
	fy_error_clear(&f->err);
	return fy_plan_build(&f->req, &f->conf, &f->host, &f->img, &f->icfg, &f->plan, &f->err);
}

static const struct fy_mount *action_mount(const struct fy_plan *p)
{
	for (size_t i = 0; i < p->n_mounts; i++)
		if (strcmp(p->mounts[i].dst, FY_APPTAINER_ACTION) == 0)
			return &p->mounts[i];
	return NULL;
}

static void assert_argv(char **argv, char **want)
{
	size_t i;

	for (i = 0; want[i]; i++) {
		assert_non_null(argv[i]);
		assert_string_equal(argv[i], want[i]);
	}
	assert_null(argv[i]);
}

static void test_plan_exec(void **state)
{
	struct fixture *f = *state;
	const struct fy_mount *m;

	f->req.env = fy_strv_dup((char *[]){"SIF_VAR=opt", NULL});
	assert_int_equal(build(f), 0);
	assert_argv(f->plan.argv, (char *[]){"/bin/sh", FY_APPTAINER_ACTION, "mytool", "x", NULL});
	assert_false(f->plan.shell);
	m = action_mount(&f->plan);
	assert_non_null(m);
	assert_int_equal(m->kind, FY_MNT_FILE);
	assert_non_null(strstr(m->data, "\nexec \"$@\"\n"));
	/* The caller's named settings are set again after the image's scripts; the host's plain
	 * variables and the default PATH are not (the image's %environment may change them). */
	assert_non_null(strstr(m->data, "SIF_VAR='opt'; export SIF_VAR\n"));
	assert_non_null(strstr(m->data, "FROM_HOST='h'; export FROM_HOST\n"));
	assert_null(strstr(m->data, "PATH='"));
}

static void test_plan_run(void **state)
{
	struct fixture *f = *state;

	f->req.cmd = FY_REQ_RUN;
	assert_int_equal(build(f), 0);
	assert_argv(f->plan.argv, (char *[]){"/bin/sh", FY_APPTAINER_ACTION, "mytool", "x", NULL});
	assert_non_null(strstr(action_mount(&f->plan)->data, "exec /.singularity.d/runscript"));
	fy_plan_release(&f->plan);

	/* No runscript and no OCI config: nothing to run. */
	f->icfg.apptainer.runscript = false;
	assert_int_equal(build(f), -1);
	assert_int_equal(f->err.exit_code, FY_EXIT_USAGE);
	assert_non_null(strstr(f->err.msg, "neither an OCI config"));
	fy_plan_release(&f->plan);

	/* An OCI config wins: its Entrypoint and the arguments, through the env scripts. */
	f->icfg.present = true;
	f->icfg.entrypoint = fy_strv_dup((char *[]){"/entry", NULL});
	assert_int_equal(build(f), 0);
	assert_argv(f->plan.argv,
	            (char *[]){"/bin/sh", FY_APPTAINER_ACTION, "/entry", "mytool", "x", NULL});
	assert_non_null(strstr(action_mount(&f->plan)->data, "\nexec \"$@\"\n"));
}

static void test_plan_shell(void **state)
{
	struct fixture *f = *state;

	f->req.cmd = FY_REQ_SHELL;
	assert_int_equal(build(f), 0);
	assert_argv(f->plan.argv, (char *[]){"/bin/sh", FY_APPTAINER_ACTION, NULL});
	assert_non_null(strstr(action_mount(&f->plan)->data, "exec /bin/bash --norc"));
}

static void test_plan_app(void **state)
{
	struct fixture *f = *state;

	f->req.cmd = FY_REQ_RUN;
	f->req.app = strdup("foo");
	assert_int_equal(build(f), 0);
	assert_non_null(strstr(action_mount(&f->plan)->data, "'/scif/apps/foo'/scif/runscript"));
	fy_plan_release(&f->plan);

	free(f->req.app);
	f->req.app = strdup("nope");
	assert_int_equal(build(f), -1);
	assert_int_equal(f->err.exit_code, FY_EXIT_USAGE);
	assert_string_equal(f->err.msg,
	                    "app 'nope' is not in image /images/app.sif (its apps: bar, foo)");
	fy_plan_release(&f->plan);

	free(f->req.app);
	f->req.app = strdup("../foo");
	assert_int_equal(build(f), -1);
	assert_non_null(strstr(f->err.msg, "not an app name"));
	fy_plan_release(&f->plan);

	fy_strv_free(f->icfg.apptainer.apps);
	f->icfg.apptainer.apps = NULL;
	free(f->req.app);
	f->req.app = strdup("foo");
	assert_int_equal(build(f), -1);
	assert_non_null(strstr(f->err.msg, "it has no apps under /scif/apps"));
}

static void test_plan_plain_image(void **state)
{
	struct fixture *f = *state;

	/* Without /.singularity.d nothing changes: the command as given, no script. */
	f->icfg.apptainer.present = false;
	assert_int_equal(build(f), 0);
	assert_argv(f->plan.argv, (char *[]){"mytool", "x", NULL});
	assert_null(action_mount(&f->plan));
	fy_plan_release(&f->plan);

	f->req.app = strdup("foo");
	assert_int_equal(build(f), -1);
	assert_non_null(strstr(f->err.msg, "no Apptainer layout"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_quote),
	        cmocka_unit_test(test_script_exec),
	        cmocka_unit_test(test_script_run_shell),
	        cmocka_unit_test(test_script_app_and_keep),
	        cmocka_unit_test(test_labels),
	        cmocka_unit_test(test_app_names),
	        cmocka_unit_test_setup_teardown(test_plan_exec, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_plan_run, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_plan_shell, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_plan_app, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_plan_plain_image, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
