/* fuzz_sqfuse: libFuzzer harness for sqfuse, the in-process FUSE server (launcher/sqfuse*.c).
 * The input is a whole squashfs image. It is opened with the server's own code
 * (fy_sqfuse_open_unmounted: the superblock checks, libsquashfuse, the synthetic mount points)
 * and the whole tree is walked through the FUSE operations themselves (fy_sqo_ops): lookup,
 * getattr, readdir, readdirplus, open, read, readlink, listxattr, getxattr, statfs. Nothing is
 * mounted: libfuse's request and reply functions are replaced below by ones that record the
 * reply, so every byte a reply would carry to the kernel is read here (under ASan). A server
 * must answer anything an image holds with data or an error, never crash. Seeds: small images
 * made by mksquashfs (tests/fuzz/corpus/sqfuse/). */
#include "base/error.h"
#include "sqfuse/sqfuse_int.h"
#include "sqfuse/sqfuse_ops.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- libfuse, replaced: a request records its one reply ---- */

struct fuse_req {
	struct fy_sqfuse *srv;
	int err; /* fuse_reply_err, else 0 */
	bool replied;
	struct fuse_entry_param entry;
	char *buf; /* a copy of a data reply */
	size_t len;
};

/* The reply bytes are read (copied), as the kernel would, so a reply pointing at freed or
 * foreign memory is found here. */
static int reply_data(fuse_req_t req, const void *buf, size_t len)
{
	free(req->buf);
	req->buf = malloc(len ? len : 1);
	if (!req->buf)
		abort();
	if (len)
		memcpy(req->buf, buf, len);
	req->len = len;
	req->replied = true;
	return 0;
}

void *fuse_req_userdata(fuse_req_t req)
{
	return req->srv;
}

int fuse_reply_err(fuse_req_t req, int err)
{
	if (err < 0)
		abort();
	req->err = err;
	req->replied = true;
	return 0;
}

void fuse_reply_none(fuse_req_t req)
{
	req->replied = true;
}

int fuse_reply_entry(fuse_req_t req, const struct fuse_entry_param *e)
{
	req->entry = *e;
	req->replied = true;
	return 0;
}

int fuse_reply_attr(fuse_req_t req, const struct stat *attr, double timeout)
{
	(void)timeout;
	return reply_data(req, attr, sizeof(*attr));
}

int fuse_reply_open(fuse_req_t req, const struct fuse_file_info *fi)
{
	(void)fi;
	req->replied = true;
	return 0;
}

int fuse_reply_buf(fuse_req_t req, const char *buf, size_t size)
{
	return reply_data(req, buf, size);
}

int fuse_reply_iov(fuse_req_t req, const struct iovec *iov, int count)
{
	size_t len = 0, at = 0;
	char *all;

	for (int i = 0; i < count; i++)
		len += iov[i].iov_len;
	all = malloc(len ? len : 1);
	if (!all)
		abort();
	for (int i = 0; i < count; i++) {
		memcpy(all + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	reply_data(req, all, len);
	free(all);
	return 0;
}

int fuse_reply_readlink(fuse_req_t req, const char *link)
{
	return reply_data(req, link, strlen(link) + 1);
}

int fuse_reply_xattr(fuse_req_t req, size_t count)
{
	req->len = count;
	req->replied = true;
	return 0;
}

int fuse_reply_statfs(fuse_req_t req, const struct statvfs *stbuf)
{
	return reply_data(req, stbuf, sizeof(*stbuf));
}

/* Directory entries in our own format: node or inode number, next offset, name. */
struct dent {
	uint64_t ino;
	int64_t off;
	uint16_t namelen;
	char name[];
};

static size_t add_dent(char *buf, size_t bufsize, const char *name, uint64_t ino, off_t off)
{
	size_t namelen = strlen(name);
	size_t need = (offsetof(struct dent, name) + namelen + 7) & ~(size_t)7;
	struct dent d = {.ino = ino, .off = off, .namelen = (uint16_t)namelen};

	if (namelen > SQUASHFS_NAME_LEN || namelen == 0)
		abort(); /* the server refuses such names */
	if (need <= bufsize) {
		memcpy(buf, &d, offsetof(struct dent, name));
		memcpy(buf + offsetof(struct dent, name), name, namelen);
	}
	return need;
}

size_t fuse_add_direntry(fuse_req_t req, char *buf, size_t bufsize, const char *name,
                         const struct stat *stbuf, off_t off)
{
	(void)req;
	return add_dent(buf, bufsize, name, stbuf->st_ino, off);
}

size_t fuse_add_direntry_plus(fuse_req_t req, char *buf, size_t bufsize, const char *name,
                              const struct fuse_entry_param *e, off_t off)
{
	(void)req;
	return add_dent(buf, bufsize, name, e->ino, off);
}

int fuse_lowlevel_notify_store(struct fuse_session *se, fuse_ino_t ino, off_t offset,
                               struct fuse_bufvec *bufv, enum fuse_buf_copy_flags flags)
{
	(void)se;
	(void)ino;
	(void)offset;
	(void)bufv;
	(void)flags;
	return 0;
}

/* The session functions sqfuse.c links against; never called without a mount. */
struct fuse_session *fuse_session_new(struct fuse_args *args, const struct fuse_lowlevel_ops *op,
                                      size_t op_size, void *userdata)
{
	(void)args;
	(void)op;
	(void)op_size;
	(void)userdata;
	abort();
}

int fuse_session_mount(struct fuse_session *se, const char *mountpoint)
{
	(void)se;
	(void)mountpoint;
	abort();
}

void fuse_session_exit(struct fuse_session *se)
{
	(void)se;
}

int fuse_session_exited(struct fuse_session *se)
{
	(void)se;
	return 1;
}

int fuse_session_receive_buf(struct fuse_session *se, struct fuse_buf *buf)
{
	(void)se;
	(void)buf;
	abort();
}

void fuse_session_process_buf(struct fuse_session *se, const struct fuse_buf *buf)
{
	(void)se;
	(void)buf;
	abort();
}

void fuse_session_destroy(struct fuse_session *se)
{
	(void)se;
}

/* ---- the walk ---- */

/* Bounds that keep one input fast whatever counts the image claims. */
#define MAX_NODES  128
#define MAX_CHUNKS 16
#define MAX_NAMES  64
#define DIR_BUF    2048
#define READ_SIZE  (256u << 10) /* more than 4 blocks of 64 KiB: the copying path too */

struct walk {
	struct fy_sqfuse *srv;
	fuse_ino_t queue[MAX_NODES];
	size_t n;
};

static void req_init(struct fuse_req *req, struct fy_sqfuse *srv)
{
	memset(req, 0, sizeof(*req));
	req->srv = srv;
}

static void req_done(struct fuse_req *req)
{
	if (!req->replied)
		abort(); /* every request is answered */
	free(req->buf);
	req->buf = NULL;
}

static void enqueue(struct walk *w, fuse_ino_t ino)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->queue[i] == ino)
			return;
	if (w->n < MAX_NODES)
		w->queue[w->n++] = ino;
}

static void do_xattrs(struct walk *w, fuse_ino_t ino)
{
	struct fuse_req req;
	char *names;
	size_t len;

	req_init(&req, w->srv);
	fy_sqo_ops.listxattr(&req, ino, 0);
	req_done(&req);
	req_init(&req, w->srv);
	fy_sqo_ops.listxattr(&req, ino, 4096);
	names = req.err ? NULL : req.buf;
	len = req.len;
	req.buf = NULL;
	req_done(&req);
	for (size_t at = 0; names && at < len;) {
		size_t n = strnlen(names + at, len - at);

		if (at + n == len)
			abort(); /* a listing ends each name with a NUL */
		for (size_t sz = 0; sz <= 4096; sz += 4096) {
			req_init(&req, w->srv);
			fy_sqo_ops.getxattr(&req, ino, names + at, sz);
			req_done(&req);
		}
		at += n + 1;
	}
	free(names);
	req_init(&req, w->srv);
	fy_sqo_ops.getxattr(&req, ino, "user.none", 64);
	req_done(&req);
}

static void do_file(struct walk *w, fuse_ino_t ino, const struct stat *st)
{
	struct fuse_file_info fi;
	struct fuse_req req;
	off_t offs[] = {0, 4096 * 3 + 17, st->st_size > 1 ? st->st_size - 1 : 0};

	memset(&fi, 0, sizeof(fi));
	req_init(&req, w->srv);
	fy_sqo_ops.open(&req, ino, &fi);
	req_done(&req);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		/* Through the handle, and without one as with FUSE_NO_OPEN_SUPPORT. */
		for (int h = 0; h < 2; h++) {
			struct fuse_file_info nofh = {0};

			req_init(&req, w->srv);
			fy_sqo_ops.read(&req, ino, i == 1 ? 4096 : READ_SIZE, offs[i],
			                h ? &nofh : &fi);
			if (!req.err && req.len > (i == 1 ? 4096 : READ_SIZE))
				abort();
			req_done(&req);
		}
	}
	if (fi.fh) { /* whatever the reads answered */
		req_init(&req, w->srv);
		fy_sqo_ops.release(&req, ino, &fi);
		req_done(&req);
	}
}

static void do_dir(struct walk *w, fuse_ino_t ino)
{
	size_t names = 0;

	for (int plus = 0; plus < 2; plus++) {
		off_t off = 0;

		for (int chunk = 0; chunk < MAX_CHUNKS; chunk++) {
			struct fuse_req req;
			size_t at = 0;
			off_t last = off;

			req_init(&req, w->srv);
			(plus ? fy_sqo_ops.readdirplus : fy_sqo_ops.readdir)(&req, ino, DIR_BUF,
			                                                     off, NULL);
			if (req.err || req.len == 0) {
				req_done(&req);
				break;
			}
			while (at + offsetof(struct dent, name) <= req.len) {
				struct dent d;
				char name[SQUASHFS_NAME_LEN + 1];

				memcpy(&d, req.buf + at, offsetof(struct dent, name));
				memcpy(name, req.buf + at + offsetof(struct dent, name), d.namelen);
				name[d.namelen] = '\0';
				last = d.off;
				if (!plus && names < MAX_NAMES && strcmp(name, ".") &&
				    strcmp(name, "..")) {
					struct fuse_req lk;

					names++;
					req_init(&lk, w->srv);
					fy_sqo_ops.lookup(&lk, ino, name);
					if (!lk.err && lk.entry.ino)
						enqueue(w, lk.entry.ino);
					req_done(&lk);
				}
				at += (offsetof(struct dent, name) + d.namelen + 7) & ~(size_t)7;
			}
			req_done(&req);
			if (last == off)
				break; /* no progress: a loop in the listing */
			off = last;
		}
	}
}

static void walk_node(struct walk *w, fuse_ino_t ino)
{
	struct fuse_req req;
	struct stat st;

	req_init(&req, w->srv);
	fy_sqo_ops.getattr(&req, ino, NULL);
	if (req.err) {
		req_done(&req);
		return;
	}
	memcpy(&st, req.buf, sizeof(st));
	req_done(&req);
	do_xattrs(w, ino);
	if (S_ISDIR(st.st_mode)) {
		do_dir(w, ino);
	} else if (S_ISLNK(st.st_mode)) {
		req_init(&req, w->srv);
		fy_sqo_ops.readlink(&req, ino);
		req_done(&req);
	} else if (S_ISREG(st.st_mode)) {
		do_file(w, ino, &st);
	}
	/* Names that are not there, too long, or the parent is no directory. */
	req_init(&req, w->srv);
	fy_sqo_ops.lookup(&req, ino, "no-such-name");
	req_done(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Mount points a container asks for: synthetic entries where the image lacks them. */
	static const struct fy_sqfuse_extra extra[] = {{"/etc/resolv.conf", false},
	                                               {"/home/user", true},
	                                               {"/bin/sh", false},
	                                               {NULL, false}};
	struct fy_error err = {0};
	struct fy_sqfuse *srv = NULL;
	struct walk w = {0};
	struct fuse_req req;
	int fd = memfd_create("fuzz.sqfs", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	{
		struct fy_sqfuse_opts opts = {
		        .image = "fuzz.sqfs", .image_fd = fd, .fuse_fd = -1, .extra = extra};

		if (fy_sqfuse_open_unmounted(&opts, &srv, NULL, &err) < 0) {
			if (!err.msg[0])
				abort(); /* a refusal says why */
			close(fd);
			return 0;
		}
	}
	fy_sqfuse_bind_worker(srv);
	w.srv = srv;
	w.queue[w.n++] = FUSE_ROOT_ID;
	for (size_t i = 0; i < w.n; i++)
		walk_node(&w, w.queue[i]);
	/* Node ids no lookup gave: the kernel never sends them, but nothing may crash. */
	walk_node(&w, 12345);
	walk_node(&w, FY_SQX_INO_BASE + 99);
	req_init(&req, srv);
	fy_sqo_ops.statfs(&req, FUSE_ROOT_ID);
	req_done(&req);
	fy_sqfuse_stop(srv);
	close(fd);
	return 0;
}
