/* gpu_nvidia: NVIDIA GPUs without CDI. Reads the host's driver facts under a system root
 * (sysroot: "/" normally; FERRY_SYSROOT in tests, passed by the edge) and turns them into plan
 * data: the device nodes and /proc/driver/nvidia/gpus/<busid> directories of the selected GPUs,
 * the control nodes, the driver's libraries and binaries, and the environment inside.
 *
 * The sysroot only prefixes the host paths read (/dev, /proc/driver, /etc/ld.so.cache and the
 * library paths found in it); every file is opened with the caller's rights, so it can only
 * expose what the caller could read anyway. Nothing here prints, exits or reads the
 * environment: the edge passes CUDA_VISIBLE_DEVICES and the Slurm variables in the request.
 *
 * Selection (fy_gpu_nvidia_select) is pure: inventory + request -> the GPUs, in PCI bus order. */
#ifndef FERRY_GPU_NVIDIA_H
#define FERRY_GPU_NVIDIA_H

#include <stdbool.h>
#include <stddef.h>

struct fy_error;

#define FY_GPU_NVIDIA_LIBDIR "/.ferry/nvidia/lib"
#define FY_GPU_NVIDIA_BINDIR "/.ferry/nvidia/bin"

struct fy_gpu_nvidia_gpu {
	unsigned minor; /* /dev/nvidiaN */
	char *busid;    /* 0000:01:00.0, the name of its /proc/driver/nvidia/gpus directory */
	char *uuid;     /* GPU-...; NULL when the driver does not say */
	char *model;
};

struct fy_gpu_nvidia_inv {
	char *driver_version; /* "535.104.05" */
	struct fy_gpu_nvidia_gpu
	        *gpus; /* sorted by busid: PCI bus order, CUDA's PCI_BUS_ID order */
	size_t n;
};

/* Where the selection comes from; NULL fields are unset. */
struct fy_gpu_nvidia_want {
	const char *gpus;         /* --gpus all|none|LIST (indices in PCI bus order, UUIDs) */
	const char *cuda_visible; /* CUDA_VISIBLE_DEVICES: indices into what Slurm gave, else all */
	const char *nvidia_visible;  /* NVIDIA_VISIBLE_DEVICES: all|none|void|LIST */
	const char *slurm_step_gpus; /* SLURM_STEP_GPUS: global indices (device minors) */
	const char *slurm_job_gpus;  /* SLURM_JOB_GPUS: the same, for the whole job */
};

/* Read <sysroot>/proc/driver/nvidia/{version,gpus/}. No driver: error with FY_EXIT_SYSTEM. */
int fy_gpu_nvidia_discover(const char *sysroot, struct fy_gpu_nvidia_inv *inv,
                           struct fy_error *err);
void fy_gpu_nvidia_inv_release(struct fy_gpu_nvidia_inv *inv);

/* Pure: which of inv->gpus are visible. sel (inv->n entries) gets true for each selected GPU;
 * *from names the source used ("--gpus", "CUDA_VISIBLE_DEVICES", ..., "all GPUs"). A bad
 * value or an unknown GPU is a usage error naming the source. */
int fy_gpu_nvidia_select(const struct fy_gpu_nvidia_inv *inv, const struct fy_gpu_nvidia_want *w,
                         bool *sel, const char **from, struct fy_error *err);

/* One entry of an ld.so.cache. */
struct fy_ldcache_entry {
	char *key;   /* soname: libcuda.so.1 */
	char *value; /* path: /usr/lib/x86_64-linux-gnu/libcuda.so.1 */
	unsigned flags;
};
/* Parse a glibc ld.so.cache ("glibc-ld.so.cache1.1", with or without the old "ld.so-1.7.0"
 * part in front) held in buf. */
int fy_gpu_nvidia_ldcache_parse(const void *buf, size_t len, struct fy_ldcache_entry **out,
                                size_t *n, struct fy_error *err);
void fy_gpu_nvidia_ldcache_free(struct fy_ldcache_entry *v, size_t n);
/* 1 when the ELF file at fd has the class and machine of this program, 0 when not (or not
 * ELF), <0 on a read error. */
int fy_gpu_nvidia_elf_matches(int fd);

struct fy_gpu_nvidia_file {
	char *src; /* host path (sysroot included) */
	char *dst; /* container path */
};

/* What the container gets. */
struct fy_gpu_nvidia_plan {
	struct fy_gpu_nvidia_file *nodes; /* device nodes, /dev/... */
	size_t n_nodes;
	char **proc_dirs; /* busids of the selected GPUs (/proc/driver/nvidia/gpus/<busid>) */
	struct fy_gpu_nvidia_file *files; /* libraries and binaries, read-only */
	size_t n_files;
	char **env;       /* NAME=VALUE to set inside (CUDA_VISIBLE_DEVICES, ...) */
	const char *from; /* where the selection came from (static) */
	char *driver_version;
};

/* Discover, select and resolve the list (list_path: conf/nvidia-libs.conf, lines
 * "CAPABILITY lib|bin NAME"; capabilities utility and compute are used). */
int fy_gpu_nvidia_plan(const char *sysroot, const char *list_path,
                       const struct fy_gpu_nvidia_want *w, struct fy_gpu_nvidia_plan *p,
                       struct fy_error *err);
/* The same from an inventory already read (unit tests). */
int fy_gpu_nvidia_plan_inv(const char *sysroot, const char *list_path,
                           const struct fy_gpu_nvidia_inv *inv, const struct fy_gpu_nvidia_want *w,
                           struct fy_gpu_nvidia_plan *p, struct fy_error *err);
void fy_gpu_nvidia_plan_release(struct fy_gpu_nvidia_plan *p);

/* Apply p->env to *envp and append the library and binary directories to LD_LIBRARY_PATH and
 * PATH, after the container's own entries (the image's glibc stays in charge). */
int fy_gpu_nvidia_env_apply(const struct fy_gpu_nvidia_plan *p, char ***envp, struct fy_error *err);

#endif
