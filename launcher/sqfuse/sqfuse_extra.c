/* sqfuse_extra: the table of synthetic entries, built once at mount time with the probe
 * instance and only read afterwards, so worker threads share it without a lock. A container
 * needs a handful of them: every search is a linear scan. */

#include "sqfuse/sqfuse_extra.h"
#include "sqfuse/sqfuse_int.h"
#include "sqfuse/sqfuse_dir.h"

#include "base/error.h"
#include "base/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static fuse_ino_t sqx_ino(size_t i)
{
	return FY_SQX_INO_BASE + i;
}

const struct fy_sqx_node *fy_sqfuse_extra_get(const struct fy_sqx *x, fuse_ino_t ino)
{
	if (!fy_sqfuse_extra_is(ino) || ino - FY_SQX_INO_BASE >= x->n)
		return NULL;
	return &x->nodes[ino - FY_SQX_INO_BASE];
}

static fuse_ino_t sqx_find(const struct fy_sqx *x, fuse_ino_t parent, const char *name, size_t len)
{
	for (size_t i = 0; i < x->n; i++)
		if (x->nodes[i].parent == parent && strncmp(x->nodes[i].name, name, len) == 0 &&
		    x->nodes[i].name[len] == '\0')
			return sqx_ino(i);
	return 0;
}

fuse_ino_t fy_sqfuse_extra_lookup(const struct fy_sqx *x, fuse_ino_t parent, const char *name)
{
	return sqx_find(x, parent, name, strlen(name));
}

size_t fy_sqfuse_extra_next_child(const struct fy_sqx *x, fuse_ino_t parent, size_t from)
{
	for (size_t i = from; i < x->n; i++)
		if (x->nodes[i].parent == parent)
			return i;
	return x->n;
}

nlink_t fy_sqfuse_extra_subdirs(const struct fy_sqx *x, fuse_ino_t parent)
{
	nlink_t n = 0;

	for (size_t i = 0; i < x->n; i++)
		n += x->nodes[i].parent == parent && x->nodes[i].dir;
	return n;
}

void fy_sqfuse_extra_stat(const struct fy_sqx *x, size_t i, struct stat *st)
{
	const struct fy_sqx_node *node = &x->nodes[i];

	/* As an empty directory or file of the image would look: root's, 0755 or 0644, dated
	 * from the image itself so attributes never change between runs. */
	memset(st, 0, sizeof(*st));
	st->st_ino = x->first_ino + i;
	st->st_mode = node->dir ? S_IFDIR | 0755 : S_IFREG | 0644;
	st->st_nlink = node->dir ? 2 + fy_sqfuse_extra_subdirs(x, sqx_ino(i)) : 1;
	st->st_mtime = st->st_ctime = st->st_atime = x->mtime;
	st->st_blksize = 4096;
}

static int sqx_add(struct fy_sqx *x, fuse_ino_t parent, const char *name, size_t len, bool dir,
                   fuse_ino_t *out)
{
	struct fy_sqx_node *nodes = realloc(x->nodes, (x->n + 1) * sizeof(*nodes));
	char *copy = strndup(name, len);

	if (nodes)
		x->nodes = nodes;
	if (!nodes || !copy) {
		free(copy);
		return -ENOMEM;
	}
	x->nodes[x->n] = (struct fy_sqx_node){.name = copy, .parent = parent, .dir = dir};
	*out = sqx_ino(x->n++);
	return 0;
}

/* Why path cannot be synthesised, or NULL once its missing components are in the table;
 * -ENOMEM in *r. */
static const char *sqx_add_path(struct fy_sqx *x, sqfs *fs, sqfs_inode_id root_id, const char *path,
                                bool want_dir, int *r)
{
	sqfs_inode inode;
	fuse_ino_t cur = FUSE_ROOT_ID;
	bool real = true;
	const char *p = path;

	*r = 0;
	if (path[0] != '/')
		return "not absolute";
	if (fy_sqfuse_dir_inode_get(fs, &inode, root_id) != SQFS_OK)
		return "cannot read the image's root";
	while (*p == '/')
		p++;
	while (*p) {
		size_t len = strcspn(p, "/");
		bool last = p[len + strspn(p + len, "/")] == '\0';
		fuse_ino_t child = 0;

		if (len > SQUASHFS_NAME_LEN || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return "not a clean path";
		if (real) {
			fy_sqo_name namebuf;
			sqfs_dir_entry entry;
			bool found = false;
			char name[SQUASHFS_NAME_LEN + 1];

			memcpy(name, p, len);
			name[len] = '\0';
			sqfs_dentry_init(&entry, namebuf);
			if (fy_sqfuse_dir_lookup(fs, &inode, name, len, &entry, &found) != SQFS_OK)
				return "cannot read the image";
			if (found) {
				if (last)
					return NULL; /* in the image: nothing to add */
				if (!S_ISDIR(sqfs_dentry_mode(&entry)))
					return "crosses a symlink or non-directory of the image";
				if (fy_sqfuse_dir_inode_get(fs, &inode,
				                            sqfs_dentry_inode(&entry)) != SQFS_OK)
					return "cannot read the image";
				cur = sqfuse_node_of(root_id, sqfs_dentry_inode(&entry));
				goto next;
			}
		}
		child = sqx_find(x, cur, p, len);
		if (child) {
			if (last)
				return NULL; /* an earlier path added it */
			if (!fy_sqfuse_extra_get(x, child)->dir)
				return "crosses a synthetic file";
		} else {
			*r = sqx_add(x, cur, p, len, !last || want_dir, &child);
			if (*r < 0)
				return "out of memory";
		}
		real = false;
		cur = child;
	next:
		p += len;
		while (*p == '/')
			p++;
	}
	return NULL;
}

int fy_sqfuse_extra_build(struct fy_sqx *x, sqfs *fs, sqfs_inode_id root_id,
                          const struct fy_sqfuse_extra *extra, const struct fy_log *log,
                          struct fy_error *err)
{
	x->first_ino = (uint64_t)fs->sb.inodes + 1;
	x->mtime = (time_t)fs->sb.mkfs_time;
	for (size_t i = 0; extra && extra[i].path; i++) {
		int r;
		const char *why = sqx_add_path(x, fs, root_id, extra[i].path, extra[i].dir, &r);

		if (r < 0)
			return fy_error(err, -r, "cannot add mount point %s", extra[i].path);
		if (why)
			fy_log_debug(log, "sqfuse: no synthetic %s: %s", extra[i].path, why);
	}
	if (x->n)
		fy_log_debug(log, "sqfuse: %zu synthetic entries", x->n);
	return 0;
}

void fy_sqfuse_extra_free(struct fy_sqx *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->nodes[i].name);
	free(x->nodes);
	x->nodes = NULL;
	x->n = 0;
}
