/* sqfuse_dir: the reads of image metadata libsquashfuse does unchecked (inodes, ids, the
 * directory index walk, listings and lookups, fragment and xattr table entries), checked first
 * so that a crafted image gets EIO and never crashes the server. */

#include "sqfuse/sqfuse_dir.h"
#include "sqfuse/sqfuse_int.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- bounds checks libsquashfuse lacks ----
 *
 * libsquashfuse (0.1.10x) trusts the image: sqfs_md_read() copies from a metadata block at
 * whatever offset a reference gives (an unsigned underflow when the offset is past the
 * block's end), sqfs_table_get() indexes its table without looking at the count, and the
 * directory reader takes a name's length from the entry. Every position taken from the image
 * is checked here, through libsquashfuse's own metadata cache, before it is handed over. */

/* Whether a cursor at offset into the metadata block at image position pos may be read from
 * (plus need bytes that must lie in that one block, for table entries). */
static bool sqo_md_ok(sqfs *fs, sqfs_off_t pos, size_t offset, size_t need)
{
	sqfs_block *block;

	if (pos < 0 || offset >= SQUASHFS_METADATA_SIZE ||
	    sqfs_md_cache(fs, &pos, &block) != SQFS_OK || !block)
		return false; /* no block: its cache keeps an entry whose read failed */
	return offset <= block->size && need <= block->size - offset;
}

/* Whether entry idx of a table of count entries may be read with sqfs_table_get(). */
static bool sqo_table_ok(sqfs *fs, sqfs_table *table, size_t count, size_t idx)
{
	size_t pos = idx * table->each;

	if (idx >= count || !table->blocks)
		return false;
	return sqo_md_ok(fs, (sqfs_off_t)table->blocks[pos / SQUASHFS_METADATA_SIZE],
	                 pos % SQUASHFS_METADATA_SIZE, table->each);
}

/* A reference (block << 16 | offset) into the metadata table at base. */
static bool sqo_ref_ok(sqfs *fs, uint64_t ref, uint64_t base)
{
	return (ref >> 16) <= (uint64_t)INT64_MAX - base &&
	       sqo_md_ok(fs, (sqfs_off_t)(base + (ref >> 16)), ref & 0xffff, 0);
}

sqfs_err fy_sqfuse_dir_inode_get(sqfs *fs, sqfs_inode *inode, sqfs_inode_id id)
{
	if (!sqo_ref_ok(fs, id, fs->sb.inode_table_start))
		return SQFS_ERR;
	return sqfs_inode_get(fs, inode, id);
}

sqfs_err fy_sqfuse_dir_id_get(sqfs *fs, uint16_t idx, sqfs_id_t *id)
{
	if (!sqo_table_ok(fs, &fs->id_table, fs->sb.no_ids, idx))
		return SQFS_ERR;
	return sqfs_id_get(fs, idx, id);
}

static bool sqo_dir_ok(sqfs *fs, const sqfs_inode *inode)
{
	return S_ISDIR(inode->base.mode) &&
	       sqo_md_ok(fs,
	                 (sqfs_off_t)(fs->sb.directory_table_start + inode->xtra.dir.start_block),
	                 inode->xtra.dir.offset, 0);
}

/* A metadata cursor that sqfs_md_read() may start from. */
static bool sqo_cur_ok(sqfs *fs, const sqfs_md_cursor *cur)
{
	return sqo_md_ok(fs, cur->block, cur->offset, 0);
}

/* A reimplementation of libsquashfuse's sqfs_dir_ff_header() (dir.c, static), which both
 * sqfs_dir_lookup() and sqfs_dir_open() with an offset run: it reads the directory's index
 * entries (struct squashfs_dir_index, after the inode) and copies an entry's name of as many
 * bytes as its 32-bit size says into the caller's name buffer, then starts the listing at the
 * entry's block and offset as they are. Both happen inside the library's own call, where
 * nothing can be checked first, so the walk is done here: names of at most
 * SQUASHFS_NAME_LEN, offsets that grow and stay inside the listing, a start the metadata
 * reader can use. Positions dir (opened at 0) at the last index entry before name (or before
 * off, when name is NULL). */
static sqfs_err sqo_dir_ff(sqfs *fs, const sqfs_inode *inode, sqfs_dir *dir, const char *name,
                           size_t namelen, sqfs_off_t off)
{
	sqfs_md_cursor cur = inode->next;
	sqfs_off_t block = dir->cur.block, skipped = 0;

	for (size_t count = inode->xtra.dir.idx_count; count > 0; count--) {
		struct squashfs_dir_index idx;
		char cmp[SQUASHFS_NAME_LEN];
		uint32_t index, size;

		if (!sqo_cur_ok(fs, &cur) || sqfs_md_read(fs, &cur, &idx, sizeof(idx)) != SQFS_OK)
			return SQFS_ERR;
		index = le32toh(idx.index);
		size = le32toh(idx.size);
		if (size >= SQUASHFS_NAME_LEN || (sqfs_off_t)index < skipped ||
		    (sqfs_off_t)index >= dir->total)
			return SQFS_ERR;
		if (!sqo_cur_ok(fs, &cur) || sqfs_md_read(fs, &cur, cmp, size + 1) != SQFS_OK)
			return SQFS_ERR;
		if (name) {
			/* The library's order: stop at the first index name past the one sought. */
			int order = strncmp(cmp, name, size + 1 < namelen ? size + 1 : namelen);

			if (order > 0 || (order == 0 && size + 1 > namelen))
				break;
		} else if ((sqfs_off_t)index >= off) {
			break;
		}
		block = (sqfs_off_t)(fs->sb.directory_table_start + le32toh(idx.start_block));
		skipped = index;
	}
	dir->cur.block = block;
	dir->offset = skipped;
	dir->cur.offset = (dir->cur.offset + (size_t)skipped) % SQUASHFS_METADATA_SIZE;
	return sqo_cur_ok(fs, &dir->cur) ? SQFS_OK : SQFS_ERR;
}

sqfs_err fy_sqfuse_dir_open(sqfs *fs, sqfs_inode *inode, sqfs_dir *dir, off_t off)
{
	sqfs_dir_entry entry;
	sqfs_err err = SQFS_OK;
	fy_sqo_name *name;

	if (!sqo_dir_ok(fs, inode) || sqfs_dir_open(fs, inode, dir, 0) != SQFS_OK)
		return SQFS_ERR;
	if (off <= 0)
		return SQFS_OK;
	/* sqfs_dir_open()'s own fast-forward to off, with the index walk checked. */
	if (sqo_dir_ff(fs, inode, dir, NULL, 0, off) != SQFS_OK)
		return SQFS_ERR;
	if (!(name = malloc(sizeof(*name))))
		return SQFS_ERR;
	sqfs_dentry_init(&entry, *name);
	while (dir->offset < off && fy_sqfuse_dir_next(fs, dir, &entry, &err))
		;
	free(name);
	return err == SQFS_OK && dir->offset == off ? SQFS_OK : SQFS_ERR;
}

/* sqfs_dir_lookup(), with the index walk checked (sqo_dir_ff) and each entry read through
 * fy_sqfuse_dir_next(). */
sqfs_err fy_sqfuse_dir_lookup(sqfs *fs, sqfs_inode *inode, const char *name, size_t len,
                              sqfs_dir_entry *entry, bool *found)
{
	sqfs_err err = SQFS_OK;
	sqfs_dir dir;

	*found = false;
	if (!sqo_dir_ok(fs, inode) || sqfs_dir_open(fs, inode, &dir, 0) != SQFS_OK ||
	    sqo_dir_ff(fs, inode, &dir, name, len, 0) != SQFS_OK)
		return SQFS_ERR;
	while (fy_sqfuse_dir_next(fs, &dir, entry, &err)) {
		int order = strncmp(sqfs_dentry_name(entry), name, len);

		if (order == 0 && sqfs_dentry_name_size(entry) == len)
			*found = true;
		if (order >= 0)
			break;
	}
	return err;
}

/* A name the kernel accepts in a listing and that names one entry: no NUL, no '/', not "." or
 * ".." (fs/fuse/readdir.c refuses the listing otherwise; "..", worse, would be followed). */
static bool sqo_name_ok(const char *name, size_t len)
{
	return len > 0 && len <= SQUASHFS_NAME_LEN && !memchr(name, '\0', len) &&
	       !memchr(name, '/', len) && !(len == 1 && name[0] == '.') &&
	       !(len == 2 && name[0] == '.' && name[1] == '.');
}

bool fy_sqfuse_dir_next(sqfs *fs, sqfs_dir *dir, sqfs_dir_entry *entry, sqfs_err *err)
{
	if (!sqfs_dir_next(fs, dir, entry, err))
		return false;
	/* A header's count is not bounded by the listing's size: the library would read on
	 * through the rest of the image. */
	if (dir->offset > dir->total || sqfs_dentry_name_size(entry) > SQUASHFS_NAME_LEN ||
	    !sqo_name_ok(sqfs_dentry_name(entry), sqfs_dentry_name_size(entry))) {
		*err = SQFS_ERR;
		return false;
	}
	return true;
}

sqfs_err fy_sqfuse_dir_frag_entry(sqfs *fs, struct squashfs_fragment_entry *frag, uint32_t idx)
{
	if (!sqo_table_ok(fs, &fs->frag_table, fs->sb.fragments, idx))
		return SQFS_ERR;
	return sqfs_frag_entry(fs, frag, idx);
}

/* sqfs_xattr_open() with its table entry and the reference in it checked. */
sqfs_err fy_sqfuse_dir_xattr_open(sqfs *fs, sqfs_inode *inode, sqfs_xattr *x)
{
	struct squashfs_xattr_id xid;

	if (inode->xattr != SQUASHFS_INVALID_XATTR) {
		if (!sqo_table_ok(fs, &fs->xattr_table, fs->xattr_info.xattr_ids, inode->xattr) ||
		    sqfs_table_get(&fs->xattr_table, fs, inode->xattr, &xid) != SQFS_OK ||
		    !sqo_ref_ok(fs, le64toh(xid.xattr), fs->xattr_info.xattr_table_start))
			return SQFS_ERR;
	}
	return sqfs_xattr_open(fs, inode, x);
}

/* sqfs_xattr_value_size() follows an out-of-line value's reference (a position in the xattr
 * table, stored where the value would be) and reads there without a check, inside the one
 * call: the reference is read here first, from the same cursor sqfs_xattr_name() left, and
 * checked before the library follows it. */
sqfs_err fy_sqfuse_dir_xattr_value_size(sqfs *fs, sqfs_xattr *x, size_t *vsize)
{
	if (x->ool) {
		sqfs_md_cursor c = x->c_vsize;
		struct squashfs_xattr_val val;
		uint64_t ref;

		if (!sqo_cur_ok(fs, &c) || sqfs_md_read(fs, &c, &val, sizeof(val)) != SQFS_OK ||
		    !sqo_cur_ok(fs, &c) || sqfs_md_read(fs, &c, &ref, sizeof(ref)) != SQFS_OK ||
		    !sqo_ref_ok(fs, le64toh(ref), fs->xattr_info.xattr_table_start))
			return SQFS_ERR;
	}
	return sqfs_xattr_value_size(x, vsize);
}
