/* blobcache: see blobcache.h.
 * Locking: open file description locks (fcntl(2) F_OFD_SETLKW, Linux 3.15) belong to the open
 * file, not the process, so threads of one puller exclude each other too, and on NFS they map
 * to the server's byte-range locks (nfs(5) "lock"), so pullers on different machines sharing
 * the cache coordinate as well. The lock file is never removed: unlinking it while another
 * puller waits on it would let a third one lock a fresh inode. Completed blobs are fsync'ed
 * and renamed into place (rename(2) is atomic), so readers never see partial content. */
#include "image/registry/blobcache.h"

#include "image/registry/client.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/fsutil.h"
#include "image/registry/ref.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fy_bc {
	char *dir;
	int blobs_fd; /* DIR/blobs/sha256 */
	int tmp_fd;   /* DIR/blobs/tmp */
};

char *fy_blobcache_default_dir(const struct fy_reg_env *env)
{
	const char *d = env ? env->cachedir : NULL, *x = env ? env->cache_home : NULL,
	           *h = env ? env->home : NULL;

	if (d && *d)
		return strdup(d);
	if (x && *x)
		return fy_fsutil_path_join(x, "ferry");
	if (h && *h)
		return fy_fsutil_path_join(h, ".cache/ferry");
	return NULL;
}

void fy_blobcache_close(struct fy_bc *bc)
{
	if (!bc)
		return;
	if (bc->blobs_fd >= 0)
		close(bc->blobs_fd);
	if (bc->tmp_fd >= 0)
		close(bc->tmp_fd);
	free(bc->dir);
	free(bc);
}

const char *fy_blobcache_dir(const struct fy_bc *bc)
{
	return bc->dir;
}

static int open_sub(const char *dir, const char *sub, struct fy_error *err)
{
	_cleanup_free_ char *p = fy_fsutil_path_join(dir, sub);
	int r, fd;

	if (!p)
		return fy_error(err, ENOMEM, "cache");
	r = fy_fsutil_mkdir_p(p, 0755);
	if (r < 0)
		return fy_error(err, -r, "cannot create cache directory %s", p);
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fy_error(err, errno, "cannot open cache directory %s", p);
	return fd;
}

int fy_blobcache_open(struct fy_bc **out, const char *dir, struct fy_error *err)
{
	struct fy_bc *bc = calloc(1, sizeof(*bc));

	*out = NULL;
	if (!bc)
		return fy_error(err, ENOMEM, "cache");
	bc->blobs_fd = bc->tmp_fd = -1;
	bc->dir = dir ? strdup(dir) : NULL;
	if (!bc->dir) {
		fy_blobcache_close(bc);
		return fy_error(err, dir ? ENOMEM : 0,
		                "no cache directory: set FERRY_CACHEDIR, XDG_CACHE_HOME or HOME");
	}
	bc->blobs_fd = open_sub(bc->dir, "blobs/sha256", err);
	if (bc->blobs_fd >= 0)
		bc->tmp_fd = open_sub(bc->dir, "blobs/tmp", err);
	if (bc->tmp_fd < 0) {
		fy_blobcache_close(bc);
		return -1;
	}
	*out = bc;
	return 0;
}

int fy_blobcache_open_blob(struct fy_bc *bc, const char *digest, struct fy_error *err)
{
	int fd;

	if (!fy_ref_digest_valid(digest))
		return fy_error(err, EINVAL, "invalid digest '%s'", digest);
	fd = openat(bc->blobs_fd, digest + 7, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0)
		return fy_error_code(err, FY_EXIT_IMAGE, errno, "cached blob %s in %s", digest,
		                     bc->dir);
	return fd;
}

/* A write lock on the whole lock file, waiting for it. F_OFD_SETLKW needs Linux 3.15; older
 * kernels get classic POSIX locks (then threads of one process do not exclude each other,
 * but processes still do). */
static int lock_wait(int fd)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int cmd = F_OFD_SETLKW;

	for (;;) {
		if (fcntl(fd, cmd, &fl) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EINVAL && cmd == F_OFD_SETLKW) {
			cmd = F_SETLKW;
			fl.l_pid = 0;
			continue;
		}
		return -errno;
	}
}

struct dl {
	int fd;
	EVP_MD_CTX *md;
	uint64_t done, size;
	const char *digest;
	fy_bc_progress_fn progress;
	void *progress_ctx;
};

static int dl_write(void *ctx, const void *buf, size_t len)
{
	struct dl *d = ctx;
	int r;

	/* Refuse more bytes than the descriptor promises (a hostile or broken server). */
	if (d->done + len > d->size)
		return -EFBIG;
	r = fy_fsutil_write_all(d->fd, buf, len);
	if (r < 0)
		return r;
	if (EVP_DigestUpdate(d->md, buf, len) != 1)
		return -EIO;
	d->done += len;
	if (d->progress) {
		struct fy_bc_progress p = {.event = FY_BC_DATA,
		                           .digest = d->digest,
		                           .done = d->done,
		                           .total = d->size};

		d->progress(d->progress_ctx, &p);
	}
	return 0;
}

static int dl_restart(void *ctx)
{
	struct dl *d = ctx;

	if (ftruncate(d->fd, 0) < 0 || lseek(d->fd, 0, SEEK_SET) < 0)
		return -errno;
	if (EVP_DigestInit_ex(d->md, EVP_sha256(), NULL) != 1)
		return -EIO;
	d->done = 0;
	return 0;
}

/* Hash what an earlier attempt left in the partial file, so the download continues there. */
static int dl_resume(struct dl *d)
{
	unsigned char buf[65536];
	struct stat st;

	if (fstat(d->fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size > d->size)
		return dl_restart(d);
	for (;;) {
		ssize_t n = read(d->fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		if (EVP_DigestUpdate(d->md, buf, (size_t)n) != 1)
			return -EIO;
		d->done += (uint64_t)n;
	}
	return 0;
}

static int present(struct fy_bc *bc, const char *hex, uint64_t size)
{
	struct stat st;

	return fstatat(bc->blobs_fd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	       (uint64_t)st.st_size == size;
}

static void report_done(fy_bc_progress_fn progress, void *ctx, const char *digest, uint64_t size,
                        uint64_t resumed_from, unsigned resumes, int reused)
{
	struct fy_bc_progress p = {.event = FY_BC_DONE,
	                           .digest = digest,
	                           .done = size,
	                           .total = size,
	                           .resumed_from = resumed_from,
	                           .resumes = resumes,
	                           .reused = reused};

	if (progress)
		progress(ctx, &p);
}

static int finish(struct fy_bc *bc, struct dl *d, const char *partial, struct fy_error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[65];

	if (d->done != d->size) {
		unlinkat(bc->tmp_fd, partial, 0);
		return fy_error_code(
		        err, FY_EXIT_IMAGE, 0,
		        "blob %s: size mismatch: descriptor says %llu bytes, got %llu; "
		        "discarded",
		        d->digest, (unsigned long long)d->size, (unsigned long long)d->done);
	}
	if (EVP_DigestFinal_ex(d->md, md, &mdlen) != 1 || mdlen != 32)
		return fy_error(err, EIO, "blob %s: sha256", d->digest);
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (strcmp(hex, d->digest + 7) != 0) {
		/* Nothing of a corrupt download may stay: a resume would keep the bad bytes. */
		unlinkat(bc->tmp_fd, partial, 0);
		return fy_error_code(err, FY_EXIT_IMAGE, 0,
		                     "blob %s: digest mismatch: content is sha256:%s; discarded",
		                     d->digest, hex);
	}
	if (fsync(d->fd) < 0)
		return fy_error(err, errno, "blob %s: fsync", d->digest);
	if (renameat(bc->tmp_fd, partial, bc->blobs_fd, d->digest + 7) < 0)
		return fy_error(err, errno, "blob %s: cannot move into %s/blobs/sha256", d->digest,
		                bc->dir);
	/* The rename itself must survive a crash before the puller reports success. */
	if (fsync(bc->blobs_fd) < 0)
		return fy_error(err, errno, "blob %s: fsync of the cache directory", d->digest);
	return 0;
}

static void md_freep(EVP_MD_CTX **m)
{
	EVP_MD_CTX_free(*m);
}

int fy_blobcache_get(struct fy_bc *bc, const char *digest, uint64_t size, fy_bc_fetch_fn fetch,
                     void *fetch_ctx, fy_bc_progress_fn progress, void *progress_ctx,
                     struct fy_error *err)
{
	_cleanup_free_ char *lockname = NULL, *partial = NULL;
	_cleanup_close_ int lockfd = -1, fd = -1;
	_cleanup_(md_freep) EVP_MD_CTX *md = NULL;
	struct dl d = {
	        .size = size, .digest = digest, .progress = progress, .progress_ctx = progress_ctx};
	struct fy_rc_sink sink = {.ctx = &d, .write = dl_write, .restart = dl_restart};
	struct fy_bc_progress p = {.event = FY_BC_START, .digest = digest, .total = size};
	unsigned resumes = 0;
	uint64_t from;
	int r;

	if (!fy_ref_digest_valid(digest))
		return fy_error_code(err, FY_EXIT_IMAGE, 0, "invalid digest '%s'", digest);
	if (present(bc, digest + 7, size)) {
		report_done(progress, progress_ctx, digest, size, 0, 0, 1);
		return 0;
	}
	lockname = fy_fsutil_asprintf("%s.lock", digest + 7);
	partial = fy_fsutil_asprintf("%s.partial", digest + 7);
	md = EVP_MD_CTX_new();
	if (!lockname || !partial || !md)
		return fy_error(err, ENOMEM, "blob %s", digest);
	lockfd = openat(bc->tmp_fd, lockname, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (lockfd < 0)
		return fy_error(err, errno, "cannot open lock %s/blobs/tmp/%s", bc->dir, lockname);
	r = lock_wait(lockfd);
	if (r < 0)
		return fy_error(err, -r, "cannot lock %s/blobs/tmp/%s", bc->dir, lockname);
	/* Whoever held the lock may have completed the blob meanwhile. */
	if (present(bc, digest + 7, size)) {
		report_done(progress, progress_ctx, digest, size, 0, 0, 1);
		return 0;
	}
	fd = openat(bc->tmp_fd, partial, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return fy_error(err, errno, "cannot open %s/blobs/tmp/%s", bc->dir, partial);
	d.fd = fd;
	d.md = md;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		return fy_error(err, EIO, "blob %s: sha256", digest);
	r = dl_resume(&d);
	if (r < 0)
		return fy_error(err, -r, "cannot read %s/blobs/tmp/%s", bc->dir, partial);
	from = d.done;
	p.done = p.resumed_from = from;
	if (progress)
		progress(progress_ctx, &p);
	if (from < size || size == 0) {
		if (from < size && fetch(fetch_ctx, digest, from, &sink, &resumes, err) < 0) {
			/* Keep the partial file for a later resume, unless it went over size. */
			if (err->errnum == EFBIG)
				unlinkat(bc->tmp_fd, partial, 0);
			return -1;
		}
	}
	if (finish(bc, &d, partial, err) < 0)
		return -1;
	report_done(progress, progress_ctx, digest, size, from, resumes, 0);
	return 0;
}
