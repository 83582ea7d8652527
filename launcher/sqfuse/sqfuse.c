/* sqfuse: an in-process, multi-threaded FUSE server for a read-only squashfs image.
 *
 * Layering: libsquashfuse's core API (sqfs_*) decodes the image; libfuse3's low-level API talks to
 * the kernel; sqfuse_ops.c holds our own FUSE operations between the two. We do not use
 * libsquashfuse's ll glue (sqfs_ll_op_*): in 0.1.104 it keeps an inode table that is not thread
 * safe, has no readdirplus and never asks the kernel to cache directory listings.
 *
 * Inode numbers are stateless. A squashfs inode id ((metadata block << 16) | offset, at most 48
 * bits) already names an inode uniquely and for the image's lifetime, so the FUSE node id is
 * derived from it arithmetically (root_id <-> FUSE_ROOT_ID, any other id <-> id + 2) and
 * forget() has nothing to drop. Because no request depends on a shared table, every worker
 * thread can own a private `sqfs` (libsquashfuse's caches are not thread safe, see cache.h) for
 * inodes, directories and block lists. What is expensive to decode is shared instead, each
 * behind one short mutex that is never held while decompressing: file data goes through our
 * own read path and a block cache common to all threads (fy_sqc_cache_get), metadata blocks
 * through a memo of decompressed blocks (fy_sqfuse_cache_md_decompress). The image fd is read with
 * pread(2), which does not touch the file offset and is safe from any number of threads. One
 * helper thread copies decompressed blocks into the page cache ahead of the kernel's requests
 * (fy_sqfuse_cache_store_main).
 *
 * The kernel caches everything it can: the image never changes while mounted, so entries,
 * negative entries and attributes get a practically infinite timeout, open files keep their
 * page cache, directory listings are cached (FOPEN_CACHE_DIR) and symlink targets too.
 *
 * Mount points the image lacks (fy_sqfuse_opts.extra) are answered by the server itself as
 * synthetic empty entries, with node ids and directory offsets above any the image can have, so
 * the executor need not splice image directories to create them (sqfuse_extra.h).
 *
 * Files: this one opens the image, mounts and runs the worker threads; sqfuse_ops.c answers
 * requests; sqfuse_cache.c holds what the threads share; sqfuse_extra.c the synthetic entries;
 * sqfuse_int.h the state they all see. */

#include "sqfuse/sqfuse.h"
#include "sqfuse/sqfuse_int.h"
#include "sqfuse/sqfuse_dir.h"
#include "sqfuse/sqfuse_ops.h"

#include "base/error.h"
#include "base/log.h"
#include "image/sqfs_sb.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

/* Worker threads when the caller says 0: one per CPU we may run on, at most this many. */
#define SQFUSE_MAX_AUTO_THREADS 16

/* ---- set-up and tear-down ---- */

static unsigned sqfuse_auto_threads(void)
{
	cpu_set_t set;
	long n = 0;

	/* CPUs we may run on (a Slurm step is usually bound to a few), not all online ones. */
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 0)
		n = 1;
	return n > SQFUSE_MAX_AUTO_THREADS ? SQFUSE_MAX_AUTO_THREADS : (unsigned)n;
}

/* sqfs_destroy() of libsquashfuse 0.1.10x leaves the xattr table's index allocated. */
static void sqfuse_fs_destroy(sqfs *fs)
{
	sqfs_table_destroy(&fs->xattr_table);
	sqfs_destroy(fs);
}

static int sqfuse_open_image(struct fy_sqfuse *srv, const struct fy_sqfuse_opts *opts,
                             struct fy_error *err)
{
	sqfs_inode root;
	sqfs_err r;

	srv->image_fd = opts->image_fd >= 0 ? fcntl(opts->image_fd, F_DUPFD_CLOEXEC, 3)
	                                    : open(opts->image, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (srv->image_fd < 0)
		return fy_error_code(err, FY_EXIT_IMAGE, errno, "cannot open image %s",
		                     opts->image);
	/* libsquashfuse checks only the magic, version and compressor: the superblock's table
	 * positions and counts are checked as when the image was opened (image/image.c), since a
	 * server must not trust a file that may have changed since then. */
	{
		unsigned char sb[FY_SQFS_SB_SIZE];
		struct stat st;

		if (fstat(srv->image_fd, &st) < 0 || (uint64_t)st.st_size < opts->offset ||
		    pread(srv->image_fd, sb, sizeof(sb), (off_t)opts->offset) !=
		            (ssize_t)sizeof(sb))
			return fy_error_code(err, FY_EXIT_IMAGE, errno,
			                     "cannot read the superblock of image %s", opts->image);
		if (fy_sqfs_sb_parse(sb, sizeof(sb), (uint64_t)st.st_size - opts->offset, NULL,
		                     err) < 0)
			return fy_error_prefix(err, "image %s", opts->image);
	}
	r = sqfs_init(&srv->probe, srv->image_fd, opts->offset);
	/* A failed sqfs_init() has destroyed its caches already (destroying them again crashes),
	 * all but the xattr table's index. */
	srv->probe_ok = r == SQFS_OK;
	if (!srv->probe_ok)
		sqfs_table_destroy(&srv->probe.xattr_table);
	switch (r) {
	case SQFS_OK:
		break;
	case SQFS_BADFORMAT:
		return fy_error_code(
		        err, FY_EXIT_IMAGE, 0,
		        "image %s is not a squashfs filesystem (no magic at offset %llu)",
		        opts->image, (unsigned long long)opts->offset);
	case SQFS_BADVERSION: {
		int major, minor;

		sqfs_version(&srv->probe, &major, &minor);
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "image %s is squashfs %d.%d: only 4.0 is supported",
		                     opts->image, major, minor);
	}
	case SQFS_BADCOMP: {
		sqfs_compression_type c = sqfs_compression(&srv->probe);
		const char *name = sqfs_compression_name(c);

		return fy_error_code(
		        err, FY_EXIT_IMAGE, 0,
		        "image %s uses %s compression (id %d), which this libsquashfuse "
		        "cannot decompress",
		        opts->image, name ? name : "an unknown", c);
	}
	default:
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "image %s is corrupt: cannot read squashfs tables",
		                     opts->image);
	}
	srv->has_xattrs = (int64_t)srv->probe.sb.xattr_id_table_start != SQUASHFS_INVALID_BLK &&
	                  srv->probe.xattr_info.xattr_ids > 0;
	/* The xattr id table's own header: its tables precede it, and its index of 8-byte block
	 * pointers for xattr_ids 16-byte entries must fit before the end. */
	if (srv->has_xattrs) {
		uint64_t start = srv->probe.sb.xattr_id_table_start;
		uint64_t len = ((uint64_t)srv->probe.xattr_info.xattr_ids * 16 +
		                SQUASHFS_METADATA_SIZE - 1) /
		               SQUASHFS_METADATA_SIZE * 8;

		if (srv->probe.xattr_info.xattr_table_start >= start ||
		    srv->probe.xattr_info.xattr_table_start < srv->probe.sb.directory_table_start ||
		    len > srv->probe.sb.bytes_used - start - 16)
			return fy_error_code(err, FY_EXIT_IMAGE, 0,
			                     "image %s is corrupt: its xattr table is outside the "
			                     "filesystem",
			                     opts->image);
	}
	srv->root_id = sqfs_inode_root(&srv->probe);
	if (fy_sqfuse_dir_inode_get(&srv->probe, &root, srv->root_id) != SQFS_OK ||
	    !S_ISDIR(root.base.mode))
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "image %s is corrupt: cannot read its root directory",
		                     opts->image);
	srv->block_size = srv->probe.sb.block_size;
	srv->zeros = calloc(1, srv->block_size);
	if (!srv->zeros || fy_sqfuse_cache_init(&srv->cache, srv->block_size, srv->threads) ||
	    fy_sqfuse_cache_store_init(&srv->store))
		return fy_error(err, ENOMEM, "cannot allocate a block cache for %s", opts->image);
	return 0;
}

int fy_sqfuse_open_device(const char *dev, struct fy_error *err)
{
	struct stat st;
	int fd = open(dev, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		return fy_error_code(
		        err, FY_EXIT_SYSTEM, 0,
		        "FUSE device %s is missing: load the fuse module or ask your admin", dev);
	if (errno == EACCES || errno == EPERM) {
		unsigned mode = stat(dev, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0;

		return fy_error_code(
		        err, FY_EXIT_SYSTEM, 0,
		        "FUSE device %s is not accessible (mode %04o): it must be readable "
		        "and writable by users",
		        dev, mode);
	}
	return fy_error_code(err, FY_EXIT_SYSTEM, errno, "cannot open FUSE device %s", dev);
}

/* mount(2) the connection ourselves, as fusermount would but without setuid: the caller's user
 * namespace owns the mount namespace, and fuse is FS_USERNS_MOUNT (Linux >= 4.18).
 * - rootmode=40000: the root is a directory; user_id/group_id: the connection's owner;
 * - allow_other: without it the kernel admits only processes whose uid, euid, suid, gid, egid
 *   and sgid all equal user_id/group_id (fuse_allow_current_process), which breaks as soon as
 *   the container changes ids inside the namespace (fakeroot gid 0, setgid programs, tasks
 *   joining with other credentials). In a user namespace the kernel restricts allow_other to
 *   processes inside that namespace, so nothing outside gains access;
 * - default_permissions: the kernel checks the image's modes itself, from cached attributes,
 *   so the container sees ordinary permission semantics and we never get ACCESS requests. */
static int sqfuse_do_mount(struct fy_sqfuse *srv, const struct fy_sqfuse_opts *opts,
                           const char *mountpoint, struct fy_error *err)
{
	char data[256];

	snprintf(data, sizeof(data),
	         "fd=%d,rootmode=40000,user_id=%u,group_id=%u,allow_other,default_permissions",
	         srv->fuse_fd, (unsigned)opts->uid, (unsigned)opts->gid);
	if (mount(opts->image, mountpoint, "fuse.ferry", MS_NOSUID | MS_NODEV | MS_RDONLY, data) ==
	    0)
		return 0;
	if (errno == EPERM)
		return fy_error_code(
		        err, FY_EXIT_SYSTEM, errno,
		        "cannot mount FUSE at %s (not in a user+mount namespace of our "
		        "own, or the kernel forbids FUSE there)",
		        mountpoint);
	if (errno == ENODEV)
		return fy_error_code(err, FY_EXIT_SYSTEM, errno,
		                     "cannot mount FUSE at %s: the kernel has no fuse filesystem",
		                     mountpoint);
	return fy_error_code(err, FY_EXIT_SYSTEM, errno, "cannot mount FUSE at %s", mountpoint);
}

/* Decompressors that keep their state per thread. libsquashfuse 0.1.x calls ZSTD_decompress()
 * and uncompress(), which build a fresh context for every block: for zstd that is a ~100 KiB
 * allocation whose pages are faulted in each time, most of the cost of starting a program from
 * the image. Each worker owns its squashfs instance, so a thread-local context is never shared. */
static __thread ZSTD_DCtx *tls_zstd;
static __thread z_stream *tls_zlib;

static sqfs_err zstd_decompress_tls(void *in, size_t insz, void *out, size_t *outsz)
{
	size_t r;

	if (!tls_zstd && !(tls_zstd = ZSTD_createDCtx()))
		return SQFS_ERR;
	r = ZSTD_decompressDCtx(tls_zstd, out, *outsz, in, insz);
	if (ZSTD_isError(r))
		return SQFS_ERR;
	*outsz = r;
	return SQFS_OK;
}

static sqfs_err zlib_decompress_tls(void *in, size_t insz, void *out, size_t *outsz)
{
	z_stream *z = tls_zlib;
	int r;

	if (!z) {
		z = calloc(1, sizeof(*z));
		if (!z || inflateInit(z) != Z_OK) {
			free(z);
			return SQFS_ERR;
		}
		tls_zlib = z;
	} else if (inflateReset(z) != Z_OK) {
		return SQFS_ERR;
	}
	z->next_in = in;
	z->avail_in = (uInt)insz;
	z->next_out = out;
	z->avail_out = (uInt)*outsz;
	r = inflate(z, Z_FINISH);
	if (r != Z_STREAM_END)
		return SQFS_ERR;
	*outsz = z->total_out;
	return SQFS_OK;
}

/* Swap in the per-thread decompressor for the formats that have one. */
static void use_tls_decompressor(sqfs *fs)
{
	if (fs->sb.compression == ZSTD_COMPRESSION)
		fs->decompressor = zstd_decompress_tls;
	else if (fs->sb.compression == ZLIB_COMPRESSION)
		fs->decompressor = zlib_decompress_tls;
}

/* Per-thread libsquashfuse metadata cache, in blocks (its default is 8): hits there need no
 * lock at all. */
#define SQFUSE_MD_THREAD_CACHE 64u

static void free_tls_decompressors(void)
{
	ZSTD_freeDCtx(tls_zstd);
	tls_zstd = NULL;
	if (tls_zlib) {
		inflateEnd(tls_zlib);
		free(tls_zlib);
		tls_zlib = NULL;
	}
}

/* Our own request loop rather than fuse_session_loop_mt(): that loop can only be stopped by a
 * signal handler (process-wide state) or by a request that a worker then reads and drops
 * unanswered once the exit flag is set. If that request comes from this process, the process
 * hangs in an uninterruptible wait that not even SIGKILL ends, since it holds the FUSE fd it
 * waits on (observed with a statfs(2) wake-up). pthread_cancel() is no way out either: glibc
 * dlopen()s libgcc_s for it, a path lookup that may land on this very mount. So each worker
 * blocks in fuse_session_receive_buf() with only SQFUSE_WAKE unblocked, and fy_sqfuse_stop()
 * sets the exit flag and sends it SQFUSE_WAKE until it leaves: read(2) returns EINTR (the
 * handler is installed without SA_RESTART), and a worker in the middle of a request finishes
 * it first. */
#define SQFUSE_WAKE (SIGRTMIN + 3)

static void sqfuse_wake_handler(int sig)
{
	(void)sig;
}

/* Workers start while the container is still being set up, idle: map what the first requests
 * would otherwise fault in on the container's critical path (the compressed-block buffer and
 * the zstd context). */
static void sqfuse_thread_warm(struct sqfuse_thread *t)
{
	volatile char *buf = t->cbuf;

	for (size_t i = 0; i < t->srv->block_size; i += 4096)
		buf[i] = 0;
	if (t->srv->block_size && t->fs.sb.compression == ZSTD_COMPRESSION && !tls_zstd)
		tls_zstd = ZSTD_createDCtx();
}

static void *sqfuse_worker(void *arg)
{
	struct sqfuse_thread *t = arg;
	struct fuse_session *se = t->srv->se;
	sigset_t wake;

	sigemptyset(&wake);
	sigaddset(&wake, SQFUSE_WAKE);
	pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
	pthread_setspecific(t->srv->key, t);
	fy_sqfuse_cache_md_memo_bind(&t->srv->memo);
	sqfuse_thread_warm(t);
	while (!fuse_session_exited(se)) {
		int r = fuse_session_receive_buf(se, &t->fbuf);

		if (r == -EINTR)
			continue;
		if (r <= 0) {
			/* 0: unmounted or aborted (ENODEV); <0: the device failed */
			fuse_session_exit(se);
			break;
		}
		{
			uint64_t t0 = fy_log_now_ns();

			fuse_session_process_buf(se, &t->fbuf);
			t->busy_ns += fy_log_now_ns() - t0;
			t->requests++;
		}
	}
	free_tls_decompressors();
	return NULL;
}

/* Everything the workers own, built before any starts (see struct sqfuse_thread). */
static int sqfuse_prepare(struct fy_sqfuse *srv, struct fy_error *err)
{
	int r = pthread_key_create(&srv->key, NULL);

	if (r)
		return fy_error(err, r, "cannot create FUSE thread data");
	srv->key_ok = true;
	srv->workers = calloc(srv->threads, sizeof(*srv->workers));
	if (!srv->workers)
		return fy_error(err, ENOMEM, "cannot start %u FUSE threads", srv->threads);
	for (unsigned i = 0; i < srv->threads; i++) {
		struct sqfuse_thread *t = &srv->workers[i];
		sqfs_cache md;

		t->srv = srv;
		/* Same fd for every instance: libsquashfuse only ever pread()s it. */
		if (sqfs_init(&t->fs, srv->image_fd, srv->offset) != SQFS_OK)
			return fy_error(err, ENOMEM, "cannot open the image for FUSE thread %u", i);
		t->fs_ok = true;
		use_tls_decompressor(&t->fs);
		t->raw_decompressor = t->fs.decompressor;
		if (i == 0 && fy_sqfuse_cache_md_memo_init(&srv->memo, t->fs.decompressor))
			return fy_error(err, ENOMEM, "cannot allocate a metadata cache");
		t->fs.decompressor = fy_sqfuse_cache_md_decompress;
		if (sqfs_block_cache_init(&md, SQFUSE_MD_THREAD_CACHE) != SQFS_OK)
			return fy_error(err, ENOMEM, "cannot allocate a metadata cache");
		sqfs_cache_destroy(&t->fs.md_cache); /* still empty */
		t->fs.md_cache = md;
		t->cbuf = malloc(srv->block_size);
		if (!t->cbuf)
			return fy_error(err, ENOMEM, "cannot start FUSE thread %u", i);
	}
	return 0;
}

static int sqfuse_start(struct fy_sqfuse *srv, struct fy_error *err)
{
	sigset_t all, old;
	int r = sqfuse_prepare(srv, err);

	if (r < 0)
		return r;
	/* Our threads must never take the process's signals: the supervisor waits for them
	 * (e.g. with signalfd), and a signal delivered to a FUSE thread would be lost to it. They
	 * unblock only SQFUSE_WAKE, whose handler does nothing but interrupt read(2). */
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = sqfuse_wake_handler;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SQFUSE_WAKE, &sa, NULL) < 0)
			return fy_error(err, errno, "cannot install the FUSE wake-up handler");
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&srv->store.tid, NULL, fy_sqfuse_cache_store_main, srv);
	srv->store.started = !r;
	for (unsigned i = 0; i < srv->threads && !r; i++) {
		r = pthread_create(&srv->workers[i].tid, NULL, sqfuse_worker, &srv->workers[i]);
		srv->workers[i].started = !r;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return fy_error(err, r, "cannot start FUSE threads");
	return 0;
}

int fy_sqfuse_mount(const struct fy_sqfuse_opts *opts, const char *mountpoint,
                    struct fy_sqfuse **out, const struct fy_log *log, struct fy_error *err)
{
	char *argv[] = {(char *)"ferry", NULL};
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	struct fy_sqfuse *srv;
	char devfd[32];
	bool mounted = false;

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return fy_error(err, ENOMEM, "cannot serve %s", opts->image);
	srv->image_fd = -1;
	srv->fuse_fd = -1;
	srv->offset = opts->offset;
	srv->threads = opts->threads ? opts->threads : sqfuse_auto_threads();
	srv->mountpoint = strdup(mountpoint);
	srv->log = log;
	if (!srv->mountpoint) {
		fy_error(err, ENOMEM, "cannot serve %s", opts->image);
		goto fail;
	}
	if (sqfuse_open_image(srv, opts, err) < 0)
		goto fail;
	fy_log_debug(log, "sqfuse: %s: squashfs %u inodes, %u-byte blocks, %s compression%s",
	             opts->image, srv->probe.sb.inodes, srv->probe.sb.block_size,
	             sqfs_compression_name(sqfs_compression(&srv->probe)) ?: "?",
	             srv->has_xattrs ? ", xattrs" : "");
	if (fy_sqfuse_extra_build(&srv->extra, &srv->probe, srv->root_id, opts->extra, log, err) <
	    0)
		goto fail;
	srv->fuse_fd =
	        opts->fuse_fd >= 0
	                ? fcntl(opts->fuse_fd, F_DUPFD_CLOEXEC, 3)
	                : fy_sqfuse_open_device(opts->fuse_dev ? opts->fuse_dev : "/dev/fuse", err);
	if (srv->fuse_fd < 0) {
		if (opts->fuse_fd >= 0)
			fy_error(err, errno, "cannot duplicate the FUSE device fd");
		goto fail;
	}
	srv->se = fuse_session_new(&args, &fy_sqo_ops, sizeof(fy_sqo_ops), srv);
	if (!srv->se) {
		fy_error(err, ENOMEM, "cannot create a FUSE session");
		goto fail;
	}
	if (sqfuse_do_mount(srv, opts, mountpoint, err) < 0)
		goto fail;
	mounted = true;
	fy_log_debug(log, "sqfuse: mounted %s on %s", opts->image, mountpoint);
	/* libfuse >= 3.3: "/dev/fd/N" means "N is a /dev/fuse fd already mounted by someone
	 * else" (fuse_session_mount, lib/fuse_lowlevel.c); the session then owns and closes N. */
	snprintf(devfd, sizeof(devfd), "/dev/fd/%d", srv->fuse_fd);
	if (fuse_session_mount(srv->se, devfd) != 0) {
		fy_error(err, 0, "libfuse refused the mounted FUSE fd (needs libfuse >= 3.3)");
		goto fail;
	}
	srv->fuse_fd = -1;
	if (sqfuse_start(srv, err) < 0)
		goto fail;
	fy_log_debug(log, "sqfuse: serving %s with %u threads", mountpoint, srv->threads);
	*out = srv;
	return 0;

fail:
	if (mounted)
		umount2(mountpoint, MNT_DETACH);
	fy_sqfuse_stop(srv);
	return -1;
}

int fy_sqfuse_open_unmounted(const struct fy_sqfuse_opts *opts, struct fy_sqfuse **out,
                             const struct fy_log *log, struct fy_error *err)
{
	struct fy_sqfuse *srv = calloc(1, sizeof(*srv));

	if (!srv)
		return fy_error(err, ENOMEM, "cannot serve %s", opts->image);
	srv->image_fd = -1;
	srv->fuse_fd = -1;
	srv->offset = opts->offset;
	srv->threads = 1;
	srv->log = log;
	if (sqfuse_open_image(srv, opts, err) < 0 ||
	    fy_sqfuse_extra_build(&srv->extra, &srv->probe, srv->root_id, opts->extra, log, err) <
	            0 ||
	    sqfuse_prepare(srv, err) < 0) {
		fy_sqfuse_stop(srv);
		return -1;
	}
	*out = srv;
	return 0;
}

void fy_sqfuse_bind_worker(struct fy_sqfuse *srv)
{
	pthread_setspecific(srv->key, &srv->workers[0]);
	fy_sqfuse_cache_md_memo_bind(&srv->memo);
}

void fy_sqfuse_stop(struct fy_sqfuse *srv)
{
	if (!srv)
		return;
	fy_sqfuse_cache_store_stop(&srv->store);
	if (srv->se)
		fuse_session_exit(srv->se);
	for (unsigned i = 0; srv->workers && i < srv->threads; i++) {
		struct sqfuse_thread *t = &srv->workers[i];

		/* Wake it until it leaves: a signal sent just before it enters read(2) is lost. */
		for (int tries = 0; t->started && tries < 200; tries++) {
			struct timespec ts;

			pthread_kill(t->tid, SQFUSE_WAKE);
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 20 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			if (pthread_timedjoin_np(t->tid, NULL, &ts) == 0)
				t->started = false;
		}
		if (t->started) {
			/* Stuck in a request for seconds: leave it, it dies with the process. */
			pthread_detach(t->tid);
			continue;
		}
		fy_log_debug(srv->log,
		             "sqfuse: thread %u served %lu requests in %.3f ms, read %lu blocks in "
		             "%.3f ms",
		             i, t->requests, (double)t->busy_ns / 1e6, t->loads,
		             (double)t->load_ns / 1e6);
		if (t->fs_ok)
			sqfuse_fs_destroy(&t->fs);
		free(t->cbuf);
		free(t->scratch.data);
		free(t->buf);
		free(t->iov);
		free(t->held);
		free(t->fbuf.mem);
	}
	free(srv->workers);
	if (srv->se)
		fuse_session_destroy(srv->se); /* closes the FUSE fd: the kernel aborts the link */
	if (srv->fuse_fd >= 0)
		close(srv->fuse_fd);
	if (srv->key_ok)
		pthread_key_delete(srv->key);
	if (srv->probe_ok)
		sqfuse_fs_destroy(&srv->probe);
	fy_sqfuse_cache_destroy(&srv->cache);
	if (srv->memo.entries)
		fy_log_debug(srv->log, "sqfuse: metadata blocks: %lu decompressed, %lu shared",
		             srv->memo.misses, srv->memo.hits);
	fy_sqfuse_cache_md_memo_destroy(&srv->memo);
	if (srv->store.cond_ok)
		fy_log_debug(srv->log, "sqfuse: helper stored %lu block parts in the page cache",
		             srv->store.stored);
	fy_sqfuse_cache_store_destroy(&srv->store);
	free(srv->zeros);
	fy_sqfuse_extra_free(&srv->extra);
	if (srv->image_fd >= 0)
		close(srv->image_fd);
	free(srv->mountpoint);
	free(srv);
}
