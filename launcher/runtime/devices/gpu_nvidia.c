/* gpu_nvidia: NVIDIA GPUs without CDI. See gpu_nvidia.h. */
#include "runtime/devices/gpu_nvidia.h"

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "base/strv.h"

#include <ctype.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INFO_MAX  (64 * 1024)
#define CACHE_MAX (64u * 1024 * 1024)

static char *under(const char *sysroot, const char *path)
{
	if (!sysroot || !*sysroot || strcmp(sysroot, "/") == 0)
		return strdup(path);
	return fy_fsutil_path_join(sysroot, path);
}

/* The value after "Key:" on a line of text, trimmed; NULL when absent. */
static char *field(const char *text, const char *key)
{
	size_t klen = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *end = strchr(l, '\n');
		const char *v;

		if (strncmp(l, key, klen) != 0 || l[klen] != ':')
			continue;
		v = l + klen + 1;
		if (!end)
			end = v + strlen(v);
		while (v < end && isspace((unsigned char)*v))
			v++;
		while (end > v && isspace((unsigned char)end[-1]))
			end--;
		return strndup(v, (size_t)(end - v));
	}
	return NULL;
}

static int cmp_gpu(const void *a, const void *b)
{
	return strcmp(((const struct fy_gpu_nvidia_gpu *)a)->busid,
	              ((const struct fy_gpu_nvidia_gpu *)b)->busid);
}

void fy_gpu_nvidia_inv_release(struct fy_gpu_nvidia_inv *inv)
{
	if (!inv)
		return;
	for (size_t i = 0; i < inv->n; i++) {
		free(inv->gpus[i].busid);
		free(inv->gpus[i].uuid);
		free(inv->gpus[i].model);
	}
	free(inv->gpus);
	free(inv->driver_version);
	memset(inv, 0, sizeof(*inv));
}

/* "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 ..." */
static char *parse_version(const char *text)
{
	const char *p = strstr(text, "Kernel Module");
	size_t n;

	if (!p)
		return NULL;
	p += strlen("Kernel Module");
	while (*p == ' ' || *p == '\t')
		p++;
	n = strspn(p, "0123456789.");
	return n ? strndup(p, n) : NULL;
}

int fy_gpu_nvidia_discover(const char *sysroot, struct fy_gpu_nvidia_inv *inv, struct fy_error *err)
{
	_cleanup_free_ char *vpath = under(sysroot, "/proc/driver/nvidia/version");
	_cleanup_free_ char *gdir = under(sysroot, "/proc/driver/nvidia/gpus");
	_cleanup_free_ char *vtext = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	size_t len;

	memset(inv, 0, sizeof(*inv));
	if (!vpath || !gdir)
		return fy_error(err, ENOMEM, "NVIDIA GPUs");
	if (fy_fsutil_read_file_at(AT_FDCWD, vpath, INFO_MAX, &vtext, &len, err) < 0) {
		err->exit_code = FY_EXIT_SYSTEM;
		return fy_error_prefix(err, "no NVIDIA driver (--nv)");
	}
	inv->driver_version = parse_version(vtext);
	if (!inv->driver_version)
		return fy_error_code(err, FY_EXIT_SYSTEM, 0,
		                     "%s: no driver version (\"Kernel Module X.Y\")", vpath);
	d = opendir(gdir);
	if (!d)
		return fy_error_code(err, FY_EXIT_SYSTEM, errno, "cannot list %s", gdir);
	while ((de = readdir(d))) {
		_cleanup_free_ char *ipath = NULL, *text = NULL, *minor = NULL;
		struct fy_gpu_nvidia_gpu *v, *g;
		char *end;
		unsigned long m;

		if (de->d_name[0] == '.')
			continue;
		ipath = fy_fsutil_asprintf("%s/%s/information", gdir, de->d_name);
		if (!ipath)
			return fy_error(err, ENOMEM, "NVIDIA GPUs");
		if (fy_fsutil_read_file_at(AT_FDCWD, ipath, INFO_MAX, &text, &len, err) < 0)
			return -1;
		minor = field(text, "Device Minor");
		if (!minor)
			minor = field(text, "Minor");
		errno = 0;
		m = minor ? strtoul(minor, &end, 10) : 0;
		if (!minor || !*minor || *end || errno || m > 255)
			return fy_error_code(err, FY_EXIT_SYSTEM, 0, "%s: no valid Device Minor",
			                     ipath);
		v = realloc(inv->gpus, (inv->n + 1) * sizeof(*v));
		if (!v)
			return fy_error(err, ENOMEM, "NVIDIA GPUs");
		inv->gpus = v;
		g = &v[inv->n++];
		g->minor = (unsigned)m;
		g->busid = strdup(de->d_name);
		g->uuid = field(text, "GPU UUID");
		g->model = field(text, "Model");
		if (!g->busid)
			return fy_error(err, ENOMEM, "NVIDIA GPUs");
	}
	if (inv->n)
		qsort(inv->gpus, inv->n, sizeof(*inv->gpus), cmp_gpu);
	return 0;
}

/* One element of a list: an index (into the candidates, or a minor when by_minor) or a UUID
 * (or a unique prefix of one, as CUDA takes). Returns the GPU's index in inv or -1. */
static long find_gpu(const struct fy_gpu_nvidia_inv *inv, const size_t *cand, size_t ncand,
                     const char *item, bool by_minor)
{
	char *end;
	unsigned long v;
	long hit = -1;

	if (isdigit((unsigned char)item[0])) {
		errno = 0;
		v = strtoul(item, &end, 10);
		if (*end || errno)
			return -1;
		if (by_minor) {
			for (size_t i = 0; i < ncand; i++)
				if (inv->gpus[cand[i]].minor == v)
					return (long)cand[i];
			return -1;
		}
		return v < ncand ? (long)cand[v] : -1;
	}
	if (strncmp(item, "GPU-", 4) != 0 || !item[4])
		return -1;
	for (size_t i = 0; i < ncand; i++) {
		const char *u = inv->gpus[cand[i]].uuid;

		if (u && strncmp(u, item, strlen(item)) == 0) {
			if (hit >= 0)
				return -1; /* ambiguous prefix */
			hit = (long)cand[i];
		}
	}
	return hit;
}

/* Mark the GPUs of list (comma-separated) among cand in sel. */
static int mark_list(const struct fy_gpu_nvidia_inv *inv, const size_t *cand, size_t ncand,
                     const char *list, bool by_minor, const char *from, bool *sel,
                     struct fy_error *err)
{
	_cleanup_free_ char *copy = strdup(list);
	char *save = NULL;

	if (!copy)
		return fy_error(err, ENOMEM, "GPU selection");
	for (char *it = strtok_r(copy, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
		long k;

		while (*it == ' ')
			it++;
		k = find_gpu(inv, cand, ncand, it, by_minor);
		if (k < 0)
			return fy_error_usage(err,
			                      "%s: no GPU '%s' (%zu visible: indices 0 to %zu or "
			                      "GPU-UUIDs; or all, none)",
			                      from, it, ncand, ncand ? ncand - 1 : 0);
		sel[k] = true;
	}
	return 0;
}

int fy_gpu_nvidia_select(const struct fy_gpu_nvidia_inv *inv, const struct fy_gpu_nvidia_want *w,
                         bool *sel, const char **from, struct fy_error *err)
{
	_cleanup_free_ size_t *cand = calloc(inv->n ? inv->n : 1, sizeof(*cand));
	_cleanup_free_ bool *base = calloc(inv->n ? inv->n : 1, sizeof(*base));
	const char *slurm = NULL, *slurm_name = NULL, *list = NULL;
	size_t ncand = 0;

	if (!cand || !base)
		return fy_error(err, ENOMEM, "GPU selection");
	memset(sel, 0, inv->n * sizeof(*sel));
	/* Slurm's variables hold global indices; under ConstrainDevices CUDA_VISIBLE_DEVICES
	 * holds local ones, which count within what Slurm gave. */
	if (w->slurm_step_gpus && *w->slurm_step_gpus)
		slurm = w->slurm_step_gpus, slurm_name = "SLURM_STEP_GPUS";
	else if (w->slurm_job_gpus && *w->slurm_job_gpus)
		slurm = w->slurm_job_gpus, slurm_name = "SLURM_JOB_GPUS";
	for (size_t i = 0; i < inv->n; i++)
		cand[i] = i;
	ncand = inv->n;

	if (w->gpus) {
		*from = "--gpus";
		list = w->gpus;
	} else if (w->cuda_visible || w->nvidia_visible) {
		if (slurm) {
			if (mark_list(inv, cand, ncand, slurm, true, slurm_name, base, err) < 0)
				return -1;
			ncand = 0;
			for (size_t i = 0; i < inv->n; i++)
				if (base[i])
					cand[ncand++] = i;
		}
		*from = w->cuda_visible ? "CUDA_VISIBLE_DEVICES" : "NVIDIA_VISIBLE_DEVICES";
		list = w->cuda_visible ? w->cuda_visible : w->nvidia_visible;
		if (w->cuda_visible && !*list)
			return 0; /* CUDA: an empty list shows no device */
	} else if (slurm) {
		*from = slurm_name;
		return mark_list(inv, cand, ncand, slurm, true, slurm_name, sel, err);
	} else {
		*from = "all GPUs";
		list = "all";
	}
	if (strcmp(list, "all") == 0) {
		for (size_t i = 0; i < ncand; i++)
			sel[cand[i]] = true;
		return 0;
	}
	if (strcmp(list, "none") == 0 || strcmp(list, "void") == 0)
		return 0;
	if (!*list)
		return fy_error_usage(err, "%s: empty GPU list (expected all, none or a list)",
		                      *from);
	return mark_list(inv, cand, ncand, list, false, *from, sel, err);
}

/* ---- ld.so.cache ---- */

#define OLD_MAGIC "ld.so-1.7.0"
#define NEW_MAGIC "glibc-ld.so.cache1.1"

struct new_header {
	char magic[20];
	uint32_t nlibs;
	uint32_t len_strings;
	uint8_t flags;
	uint8_t pad[3];
	uint32_t extension_offset;
	uint32_t unused[3];
};
struct new_entry {
	int32_t flags;
	uint32_t key, value;
	uint32_t osversion;
	uint64_t hwcap;
};

void fy_gpu_nvidia_ldcache_free(struct fy_ldcache_entry *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

/* A NUL-terminated string at off in [base, base+len). */
static char *cache_str(const char *base, size_t len, uint32_t off)
{
	const char *end;

	if (off >= len)
		return NULL;
	end = memchr(base + off, '\0', len - off);
	return end ? strdup(base + off) : NULL;
}

int fy_gpu_nvidia_ldcache_parse(const void *buf, size_t len, struct fy_ldcache_entry **out,
                                size_t *n, struct fy_error *err)
{
	const char *p = buf;
	struct new_header h;
	struct fy_ldcache_entry *v;
	size_t off = 0;

	*out = NULL;
	*n = 0;
	if (len >= sizeof(OLD_MAGIC) - 1 + 4 && memcmp(p, OLD_MAGIC, sizeof(OLD_MAGIC) - 1) == 0) {
		uint32_t nold;

		/* Old header: magic[11] + uint32 nlibs, then 12-byte entries; the new part follows,
		 * aligned to 8 bytes. */
		memcpy(&nold, p + 12, sizeof(nold));
		off = 16 + (size_t)nold * 12;
		off = (off + 7) & ~(size_t)7;
	}
	if (off > len || len - off < sizeof(h) ||
	    memcmp(p + off, NEW_MAGIC, sizeof(NEW_MAGIC) - 1) != 0)
		return fy_error(err, 0, "not a glibc ld.so.cache (no \"%s\")", NEW_MAGIC);
	memcpy(&h, p + off, sizeof(h));
	p += off;
	len -= off;
	if (h.nlibs > (len - sizeof(h)) / sizeof(struct new_entry))
		return fy_error(err, 0, "ld.so.cache truncated (%u entries)", h.nlibs);
	v = calloc(h.nlibs ? h.nlibs : 1, sizeof(*v));
	if (!v)
		return fy_error(err, ENOMEM, "ld.so.cache");
	for (uint32_t i = 0; i < h.nlibs; i++) {
		struct new_entry e;

		memcpy(&e, p + sizeof(h) + (size_t)i * sizeof(e), sizeof(e));
		v[i].flags = (unsigned)e.flags;
		v[i].key = cache_str(p, len, e.key);
		v[i].value = cache_str(p, len, e.value);
		if (!v[i].key || !v[i].value) {
			fy_gpu_nvidia_ldcache_free(v, i + 1);
			return fy_error(err, 0, "ld.so.cache: entry %u points outside the file", i);
		}
	}
	*out = v;
	*n = h.nlibs;
	return 0;
}

int fy_gpu_nvidia_elf_matches(int fd)
{
	Elf64_Ehdr h; /* e_ident and e_machine sit at the same offsets in both classes */
	ssize_t r = pread(fd, &h, sizeof(h), 0);

	if (r < 0)
		return -errno;
	if ((size_t)r < EI_NIDENT + 4 || memcmp(h.e_ident, ELFMAG, SELFMAG) != 0)
		return 0;
#if __SIZEOF_POINTER__ == 8
	if (h.e_ident[EI_CLASS] != ELFCLASS64)
		return 0;
#else
	if (h.e_ident[EI_CLASS] != ELFCLASS32)
		return 0;
#endif
#if defined(__x86_64__)
	return h.e_machine == EM_X86_64;
#elif defined(__aarch64__)
	return h.e_machine == EM_AARCH64;
#elif defined(__powerpc64__)
	return h.e_machine == EM_PPC64;
#else
	return 1;
#endif
}

/* ---- the plan ---- */

void fy_gpu_nvidia_plan_release(struct fy_gpu_nvidia_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_nodes; i++) {
		free(p->nodes[i].src);
		free(p->nodes[i].dst);
	}
	for (size_t i = 0; i < p->n_files; i++) {
		free(p->files[i].src);
		free(p->files[i].dst);
	}
	free(p->nodes);
	free(p->files);
	fy_strv_free(p->proc_dirs);
	fy_strv_free(p->env);
	free(p->driver_version);
	memset(p, 0, sizeof(*p));
}

static int add_file(struct fy_gpu_nvidia_file **v, size_t *n, char *src, char *dst,
                    struct fy_error *err)
{
	struct fy_gpu_nvidia_file *nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv || !src || !dst) {
		free(src);
		free(dst);
		if (nv)
			*v = nv;
		return fy_error(err, ENOMEM, "NVIDIA plan");
	}
	*v = nv;
	nv[*n].src = src;
	nv[*n].dst = dst;
	(*n)++;
	return 0;
}

/* A device node under sysroot, when it is one. */
static int add_node(struct fy_gpu_nvidia_plan *p, const char *sysroot, const char *dev,
                    struct fy_error *err)
{
	char *src = under(sysroot, dev);
	struct stat st;

	if (!src)
		return fy_error(err, ENOMEM, "NVIDIA plan");
	if (stat(src, &st) < 0 || !S_ISCHR(st.st_mode)) {
		free(src);
		return 0;
	}
	return add_file(&p->nodes, &p->n_nodes, src, strdup(dev), err);
}

/* The real file behind a cache path, inside sysroot: follows relative and absolute symlinks
 * (absolute ones from sysroot again), a few levels. Returns the sysroot-relative path. */
static char *real_in(const char *sysroot, const char *path)
{
	char *cur = strdup(path);

	for (int depth = 0; cur && depth < 8; depth++) {
		_cleanup_free_ char *host = under(sysroot, cur);
		char target[PATH_MAX];
		ssize_t n;
		char *next, *slash;

		if (!host)
			break;
		n = readlink(host, target, sizeof(target) - 1);
		if (n < 0)
			return errno == EINVAL ? cur : (free(cur), NULL);
		target[n] = '\0';
		if (target[0] == '/') {
			next = fy_fsutil_path_clean(target);
		} else {
			slash = strrchr(cur, '/');
			*slash = '\0';
			next = fy_fsutil_asprintf("%s/%s", *cur ? cur : "", target);
			if (next) {
				char *c = fy_fsutil_path_clean(next);

				free(next);
				next = c;
			}
		}
		free(cur);
		cur = next;
	}
	free(cur);
	return NULL;
}

/* The library list: "CAPABILITY lib|bin NAME" lines. */
static int read_list(const char *path, char ***libs, char ***bins, struct fy_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	unsigned line = 0;
	char *save = NULL;

	if (fy_fsutil_read_file_at(AT_FDCWD, path, INFO_MAX, &text, &len, err) < 0) {
		err->exit_code = FY_EXIT_CONFIG;
		return fy_error_prefix(err, "NVIDIA library list");
	}
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char cap[32], kind[8], name[256], extra;
		int k;

		line++;
		while (isspace((unsigned char)*l))
			l++;
		if (!*l || *l == '#')
			continue;
		k = sscanf(l, "%31s %7s %255s %c", cap, kind, name, &extra);
		if (k != 3 || (strcmp(kind, "lib") && strcmp(kind, "bin")) || strchr(name, '/'))
			return fy_error_code(err, FY_EXIT_CONFIG, 0,
			                     "%s: line %u: expected CAPABILITY lib|bin NAME", path,
			                     line);
		if (strcmp(cap, "utility") && strcmp(cap, "compute"))
			continue; /* video, graphics: later */
		if (fy_strv_push(strcmp(kind, "lib") == 0 ? libs : bins, name) < 0)
			return fy_error(err, ENOMEM, "NVIDIA library list");
	}
	return 0;
}

/* name.so.VERSION, the driver's own version. */
static bool version_matches(const char *file, const char *version)
{
	const char *s = strstr(file, ".so.");

	return s && strcmp(s + 4, version) == 0;
}

static int add_libs(struct fy_gpu_nvidia_plan *p, const char *sysroot, char *const *libs,
                    struct fy_error *err)
{
	_cleanup_free_ char *cpath = under(sysroot, "/etc/ld.so.cache");
	_cleanup_free_ char *buf = NULL;
	struct fy_ldcache_entry *v = NULL;
	size_t len, n = 0;
	int r = 0;

	if (!cpath)
		return fy_error(err, ENOMEM, "NVIDIA libraries");
	if (fy_fsutil_read_file_at(AT_FDCWD, cpath, CACHE_MAX, &buf, &len, err) < 0 ||
	    fy_gpu_nvidia_ldcache_parse(buf, len, &v, &n, err) < 0)
		return fy_error_prefix(err, "NVIDIA libraries (%s)", cpath);
	for (size_t i = 0; r == 0 && i < n; i++) {
		_cleanup_free_ char *real = NULL, *host = NULL;
		_cleanup_close_ int fd = -1;
		const char *base;
		bool listed = false, dup = false;

		for (char *const *l = libs; l && *l && !listed; l++) {
			size_t ln = strlen(*l);

			listed = strncmp(v[i].key, *l, ln) == 0 &&
			         (v[i].key[ln] == '\0' || v[i].key[ln] == '.');
		}
		if (!listed || strchr(v[i].key, '/'))
			continue;
		for (size_t j = 0; j < p->n_files && !dup; j++)
			dup = strcmp(strrchr(p->files[j].dst, '/') + 1, v[i].key) == 0;
		real = real_in(sysroot, v[i].value);
		if (dup || !real)
			continue;
		base = strrchr(real, '/') ? strrchr(real, '/') + 1 : real;
		if (!version_matches(base, p->driver_version))
			continue;
		host = under(sysroot, real);
		if (!host)
			return fy_error(err, ENOMEM, "NVIDIA libraries");
		fd = open(host, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
		if (fd < 0 || fy_gpu_nvidia_elf_matches(fd) != 1)
			continue;
		r = add_file(&p->files, &p->n_files, TAKE_PTR(host),
		             fy_fsutil_asprintf("%s/%s", FY_GPU_NVIDIA_LIBDIR, v[i].key), err);
	}
	fy_gpu_nvidia_ldcache_free(v, n);
	return r;
}

static int add_bins(struct fy_gpu_nvidia_plan *p, const char *sysroot, char *const *bins,
                    struct fy_error *err)
{
	static const char *const dirs[] = {"/usr/bin", "/usr/local/bin", "/usr/sbin", "/bin",
	                                   "/sbin"};

	for (char *const *b = bins; b && *b; b++)
		for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
			_cleanup_free_ char *rel = fy_fsutil_asprintf("%s/%s", dirs[i], *b);
			_cleanup_free_ char *real = rel ? real_in(sysroot, rel) : NULL;
			char *host = real ? under(sysroot, real) : NULL;
			struct stat st;

			if (!host || stat(host, &st) < 0 || !S_ISREG(st.st_mode)) {
				free(host);
				continue;
			}
			if (add_file(&p->files, &p->n_files, host,
			             fy_fsutil_asprintf("%s/%s", FY_GPU_NVIDIA_BINDIR, *b),
			             err) < 0)
				return -1;
			break;
		}
	return 0;
}

static int push_env(char ***env, const char *name, const char *value, struct fy_error *err)
{
	_cleanup_free_ char *s = fy_fsutil_asprintf("%s=%s", name, value);

	return !s || fy_strv_push(env, s) < 0 ? fy_error(err, ENOMEM, "NVIDIA plan") : 0;
}

int fy_gpu_nvidia_plan_inv(const char *sysroot, const char *list_path,
                           const struct fy_gpu_nvidia_inv *inv, const struct fy_gpu_nvidia_want *w,
                           struct fy_gpu_nvidia_plan *p, struct fy_error *err)
{
	static const char *const ctl[] = {"/dev/nvidiactl", "/dev/nvidia-uvm",
	                                  "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset"};
	_cleanup_free_ bool *sel = calloc(inv->n ? inv->n : 1, sizeof(*sel));
	_cleanup_strv_ char **libs = NULL, **bins = NULL;
	_cleanup_free_ char *cuda = NULL, *uuids = NULL;
	size_t k = 0;

	memset(p, 0, sizeof(*p));
	if (!sel || !(p->driver_version = strdup(inv->driver_version)))
		return fy_error(err, ENOMEM, "NVIDIA plan");
	if (fy_gpu_nvidia_select(inv, w, sel, &p->from, err) < 0)
		return -1;
	if (read_list(list_path, &libs, &bins, err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(ctl) / sizeof(ctl[0]); i++)
		if (add_node(p, sysroot, ctl[i], err) < 0)
			return -1;
	{
		_cleanup_free_ char *caps = under(sysroot, "/dev/nvidia-caps");
		_cleanup_closedir_ DIR *d = caps ? opendir(caps) : NULL;
		struct dirent *de;

		while (d && (de = readdir(d))) {
			_cleanup_free_ char *dev = NULL;

			if (de->d_name[0] == '.')
				continue;
			dev = fy_fsutil_asprintf("/dev/nvidia-caps/%s", de->d_name);
			if (!dev || add_node(p, sysroot, dev, err) < 0)
				return fy_error(err, ENOMEM, "NVIDIA plan");
		}
	}
	cuda = strdup("");
	uuids = strdup("");
	for (size_t i = 0; i < inv->n; i++) {
		_cleanup_free_ char *dev = NULL;
		char *c, *u;

		if (!sel[i])
			continue;
		dev = fy_fsutil_asprintf("/dev/nvidia%u", inv->gpus[i].minor);
		if (!dev || !cuda || !uuids)
			return fy_error(err, ENOMEM, "NVIDIA plan");
		if (add_node(p, sysroot, dev, err) < 0)
			return -1;
		if (fy_strv_push(&p->proc_dirs, inv->gpus[i].busid) < 0)
			return fy_error(err, ENOMEM, "NVIDIA plan");
		c = fy_fsutil_asprintf("%s%s%zu", cuda, k ? "," : "", k);
		u = fy_fsutil_asprintf("%s%s%s", uuids, k ? "," : "",
		                       inv->gpus[i].uuid ? inv->gpus[i].uuid : dev + 5);
		free(cuda);
		free(uuids);
		cuda = c;
		uuids = u;
		k++;
	}
	if (!cuda || !uuids)
		return fy_error(err, ENOMEM, "NVIDIA plan");
	if (push_env(&p->env, "CUDA_VISIBLE_DEVICES", cuda, err) < 0 ||
	    push_env(&p->env, "CUDA_DEVICE_ORDER", "PCI_BUS_ID", err) < 0 ||
	    push_env(&p->env, "NVIDIA_VISIBLE_DEVICES", k ? uuids : "void", err) < 0)
		return -1;
	if (add_libs(p, sysroot, libs, err) < 0 || add_bins(p, sysroot, bins, err) < 0)
		return -1;
	return 0;
}

int fy_gpu_nvidia_plan(const char *sysroot, const char *list_path,
                       const struct fy_gpu_nvidia_want *w, struct fy_gpu_nvidia_plan *p,
                       struct fy_error *err)
{
	struct fy_gpu_nvidia_inv inv;
	int r;

	memset(p, 0, sizeof(*p));
	if (fy_gpu_nvidia_discover(sysroot, &inv, err) < 0) {
		fy_gpu_nvidia_inv_release(&inv);
		return -1;
	}
	r = fy_gpu_nvidia_plan_inv(sysroot, list_path, &inv, w, p, err);
	fy_gpu_nvidia_inv_release(&inv);
	return r;
}

/* Set NAME=VALUE in *envp, replacing an existing entry. */
static int env_set(char ***envp, const char *kv, struct fy_error *err)
{
	size_t nlen = strcspn(kv, "=");

	for (char **e = *envp; e && *e; e++)
		if (strncmp(*e, kv, nlen) == 0 && (*e)[nlen] == '=') {
			char *c = strdup(kv);

			if (!c)
				return fy_error(err, ENOMEM, "environment");
			free(*e);
			*e = c;
			return 0;
		}
	return fy_strv_push(envp, kv) < 0 ? fy_error(err, ENOMEM, "environment") : 0;
}

static int env_append(char ***envp, const char *name, const char *dir, struct fy_error *err)
{
	const char *old = NULL;
	size_t nlen = strlen(name);
	_cleanup_free_ char *kv = NULL;

	for (char **e = *envp; e && *e; e++)
		if (strncmp(*e, name, nlen) == 0 && (*e)[nlen] == '=')
			old = *e + nlen + 1;
	kv = old && *old ? fy_fsutil_asprintf("%s=%s:%s", name, old, dir)
	                 : fy_fsutil_asprintf("%s=%s", name, dir);
	return kv ? env_set(envp, kv, err) : fy_error(err, ENOMEM, "environment");
}

int fy_gpu_nvidia_env_apply(const struct fy_gpu_nvidia_plan *p, char ***envp, struct fy_error *err)
{
	bool lib = false, bin = false;

	for (char *const *e = p->env; e && *e; e++)
		if (env_set(envp, *e, err) < 0)
			return -1;
	for (size_t i = 0; i < p->n_files; i++) {
		lib |= strncmp(p->files[i].dst, FY_GPU_NVIDIA_LIBDIR "/",
		               strlen(FY_GPU_NVIDIA_LIBDIR) + 1) == 0;
		bin |= strncmp(p->files[i].dst, FY_GPU_NVIDIA_BINDIR "/",
		               strlen(FY_GPU_NVIDIA_BINDIR) + 1) == 0;
	}
	if (lib && env_append(envp, "LD_LIBRARY_PATH", FY_GPU_NVIDIA_LIBDIR, err) < 0)
		return -1;
	if (bin && env_append(envp, "PATH", FY_GPU_NVIDIA_BINDIR, err) < 0)
		return -1;
	return 0;
}
