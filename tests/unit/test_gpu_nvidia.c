/* Unit tests for runtime/devices/gpu_nvidia: the pure GPU selection, the ld.so.cache parser
 * (on a cache made by ldconfig over a fake library directory) and the ELF check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/error.h"
#include "base/fsutil.h"
#include "runtime/devices/gpu_nvidia.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct fy_gpu_nvidia_gpu gpus[4] = {
        {0, "0000:01:00.0", "GPU-aaaa0000", "H100"},
        {1, "0000:02:00.0", "GPU-bbbb1111", "H100"},
        {3, "0000:03:00.0", "GPU-cccc2222", "H100"}, /* minors need not follow bus order */
        {2, "0000:04:00.0", "GPU-cccc3333", "H100"},
};
static const struct fy_gpu_nvidia_inv inv = {"535.104.05", gpus, 4};

/* The selection as a string of 0/1 per GPU in bus order, or the error. */
static char res[1200];
static const char *sel(struct fy_gpu_nvidia_want w)
{
	bool s[4];
	const char *from = NULL;
	struct fy_error err = {0};

	if (fy_gpu_nvidia_select(&inv, &w, s, &from, &err) < 0) {
		snprintf(res, sizeof(res), "E%d:%s", err.exit_code, err.msg);
		return res;
	}
	for (int i = 0; i < 4; i++)
		res[i] = s[i] ? '1' : '0';
	snprintf(res + 4, sizeof(res) - 4, " %s", from);
	return res;
}

static void test_select(void **state)
{
	(void)state;
	assert_string_equal(sel((struct fy_gpu_nvidia_want){0}), "1111 all GPUs");
	assert_string_equal(sel((struct fy_gpu_nvidia_want){.gpus = "2"}), "0010 --gpus");
	assert_string_equal(sel((struct fy_gpu_nvidia_want){.gpus = "3,0"}), "1001 --gpus");
	assert_string_equal(sel((struct fy_gpu_nvidia_want){.gpus = "none"}), "0000 --gpus");
	assert_string_equal(sel((struct fy_gpu_nvidia_want){.gpus = "GPU-bbbb"}), "0100 --gpus");
	/* --gpus wins over the variables */
	assert_string_equal(sel((struct fy_gpu_nvidia_want){.gpus = "all", .cuda_visible = "1"}),
	                    "1111 --gpus");
	assert_string_equal(sel((struct fy_gpu_nvidia_want){.cuda_visible = "1,2"}),
	                    "0110 CUDA_VISIBLE_DEVICES");
	assert_string_equal(sel((struct fy_gpu_nvidia_want){.cuda_visible = ""}),
	                    "0000 CUDA_VISIBLE_DEVICES");
	assert_string_equal(sel((struct fy_gpu_nvidia_want){.nvidia_visible = "void"}),
	                    "0000 NVIDIA_VISIBLE_DEVICES");
	/* Slurm: global indices are device minors */
	assert_string_equal(sel((struct fy_gpu_nvidia_want){.slurm_step_gpus = "3"}),
	                    "0010 SLURM_STEP_GPUS");
	assert_string_equal(
	        sel((struct fy_gpu_nvidia_want){.slurm_step_gpus = "", .slurm_job_gpus = "2"}),
	        "0001 SLURM_JOB_GPUS");
	/* ... and CUDA_VISIBLE_DEVICES counts within them */
	assert_string_equal(
	        sel((struct fy_gpu_nvidia_want){.slurm_step_gpus = "1,2", .cuda_visible = "1"}),
	        "0001 CUDA_VISIBLE_DEVICES");
}

static void test_select_errors(void **state)
{
	(void)state;
	assert_string_equal(
	        sel((struct fy_gpu_nvidia_want){.gpus = "4"}),
	        "E2:--gpus: no GPU '4' (4 visible: indices 0 to 3 or GPU-UUIDs; or all, "
	        "none)");
	assert_true(strncmp(sel((struct fy_gpu_nvidia_want){.gpus = "GPU-cccc"}), "E2:", 3) == 0);
	assert_true(strncmp(sel((struct fy_gpu_nvidia_want){.gpus = "x"}), "E2:", 3) == 0);
	assert_true(strncmp(sel((struct fy_gpu_nvidia_want){.gpus = ""}), "E2:", 3) == 0);
	assert_true(strncmp(sel((struct fy_gpu_nvidia_want){.cuda_visible = "-1"}),
	                    "E2:CUDA_VISIBLE_DEVICES", 23) == 0);
	assert_true(strncmp(sel((struct fy_gpu_nvidia_want){.slurm_step_gpus = "9"}),
	                    "E2:SLURM_STEP_GPUS", 18) == 0);
}

static int sh(const char *cmd)
{
	return system(cmd);
}

static void test_ldcache(void **state)
{
	char dir[] = "/tmp/fy-ldcache-XXXXXX";
	struct fy_ldcache_entry *v = NULL;
	struct fy_error err = {0};
	char *buf = NULL, *cache, *cmd;
	size_t len, n = 0;
	int found = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	cmd = fy_fsutil_asprintf(
	        "cd %s && mkdir lib && echo 'int f(void){return 0;}' >f.c && "
	        "gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o lib/libcuda.so.535.104.05 f.c && "
	        "gcc -shared -fPIC -Wl,-soname,libfoo.so.2 -o lib/libfoo.so.2.0 f.c && "
	        "echo %s/lib >conf && ldconfig -C cache -f conf -X",
	        dir, dir);
	assert_int_equal(sh(cmd), 0);
	free(cmd);
	cache = fy_fsutil_asprintf("%s/cache", dir);
	assert_int_equal(fy_fsutil_read_file_at(AT_FDCWD, cache, 1 << 20, &buf, &len, &err), 0);
	assert_int_equal(fy_gpu_nvidia_ldcache_parse(buf, len, &v, &n, &err), 0);
	/* ldconfig adds the trusted system directories too: every entry is an absolute path. */
	assert_true(n >= 2);
	for (size_t i = 0; i < n; i++) {
		char *want = fy_fsutil_asprintf("%s/lib/%s", dir, v[i].key);

		assert_true(v[i].value[0] == '/');
		if (strcmp(v[i].key, "libcuda.so.1") == 0 || strcmp(v[i].key, "libfoo.so.2") == 0) {
			found++;
			assert_string_equal(v[i].value, want);
		}
		free(want);
	}
	assert_int_equal(found, 2);
	fy_gpu_nvidia_ldcache_free(v, n);

	/* A cut or foreign file is refused, not read past its end. */
	assert_int_equal(fy_gpu_nvidia_ldcache_parse(buf, 40, &v, &n, &err), -1);
	assert_int_equal(fy_gpu_nvidia_ldcache_parse("ld.so-1.7.0\0\0\0\0\0", 16, &v, &n, &err),
	                 -1);
	memcpy(buf, "xxxxx", 5);
	assert_int_equal(fy_gpu_nvidia_ldcache_parse(buf, len, &v, &n, &err), -1);
	free(buf);

	/* ELF: ours matches; a patched class byte does not; text does not. */
	{
		char *lib = fy_fsutil_asprintf("%s/lib/libfoo.so.2.0", dir);
		int fd = open(lib, O_RDWR | O_CLOEXEC);

		assert_true(fd >= 0);
		assert_int_equal(fy_gpu_nvidia_elf_matches(fd), 1);
		assert_int_equal(pwrite(fd, "\001", 1, 4), 1);
		assert_int_equal(fy_gpu_nvidia_elf_matches(fd), 0);
		close(fd);
		free(lib);
		lib = fy_fsutil_asprintf("%s/f.c", dir);
		fd = open(lib, O_RDONLY | O_CLOEXEC);
		assert_int_equal(fy_gpu_nvidia_elf_matches(fd), 0);
		close(fd);
		free(lib);
	}
	cmd = fy_fsutil_asprintf("rm -rf %s", dir);
	assert_int_equal(sh(cmd), 0);
	free(cmd);
	free(cache);
}

static void test_env(void **state)
{
	struct fy_gpu_nvidia_file f = {"/h/libcuda.so.535", FY_GPU_NVIDIA_LIBDIR "/libcuda.so.1"};
	char *env[] = {"CUDA_VISIBLE_DEVICES=0,1", NULL};
	struct fy_gpu_nvidia_plan p = {.files = &f, .n_files = 1, .env = env};
	char **envp = calloc(3, sizeof(*envp));
	struct fy_error err = {0};

	(void)state;
	envp[0] = strdup("LD_LIBRARY_PATH=/img/lib");
	envp[1] = strdup("CUDA_VISIBLE_DEVICES=5");
	assert_int_equal(fy_gpu_nvidia_env_apply(&p, &envp, &err), 0);
	assert_string_equal(envp[0], "LD_LIBRARY_PATH=/img/lib:" FY_GPU_NVIDIA_LIBDIR);
	assert_string_equal(envp[1], "CUDA_VISIBLE_DEVICES=0,1");
	assert_null(envp[2]);
	for (int i = 0; envp[i]; i++)
		free(envp[i]);
	free(envp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_select),
	        cmocka_unit_test(test_select_errors),
	        cmocka_unit_test(test_ldcache),
	        cmocka_unit_test(test_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
