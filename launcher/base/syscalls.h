/* syscalls: static inline wrappers for system calls glibc may not wrap (or wraps only in newer
 * releases). Each returns 0/fd or -errno; on kernels that lack the call they return -ENOSYS so
 * callers can fall back to the classic API. */
#ifndef FERRY_SYSCALLS_H
#define FERRY_SYSCALLS_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x00000001
#endif
#ifndef FSMOUNT_CLOEXEC
#define FSMOUNT_CLOEXEC 0x00000001
#endif
/* fsconfig(2) commands under names of our own: newer libcs declare them as an enum. */
#define FY_FSCONFIG_SET_FLAG   0
#define FY_FSCONFIG_CMD_CREATE 6
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_pivot_root
#define SYS_pivot_root 155
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef RESOLVE_NO_XDEV
#define RESOLVE_NO_XDEV 0x01
#endif
#ifndef RESOLVE_NO_MAGICLINKS
#define RESOLVE_NO_MAGICLINKS 0x02
#endif
#ifndef RESOLVE_NO_SYMLINKS
#define RESOLVE_NO_SYMLINKS 0x04
#endif
#ifndef RESOLVE_BENEATH
#define RESOLVE_BENEATH 0x08
#endif
#ifndef RESOLVE_IN_ROOT
#define RESOLVE_IN_ROOT 0x10
#endif

struct fy_mount_attr {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};

/* struct open_how of openat2(2), spelled out so older headers do without <linux/openat2.h>. */
struct fy_open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};

static inline int fy_syscalls_ret(long r)
{
	return r < 0 ? -errno : (int)r;
}

static inline int fy_syscalls_open_tree(int dfd, const char *path, unsigned flags)
{
	return fy_syscalls_ret(syscall(SYS_open_tree, dfd, path, flags));
}

static inline int fy_syscalls_move_mount(int from_dfd, const char *from, int to_dfd, const char *to,
                                         unsigned flags)
{
	return fy_syscalls_ret(syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags));
}

static inline int fy_syscalls_mount_setattr(int dfd, const char *path, unsigned flags,
                                            struct fy_mount_attr *attr)
{
	return fy_syscalls_ret(syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof(*attr)));
}

static inline int fy_syscalls_fsopen(const char *fstype, unsigned flags)
{
	return fy_syscalls_ret(syscall(SYS_fsopen, fstype, flags));
}

static inline int fy_syscalls_fsconfig(int fsfd, unsigned cmd, const char *key, const void *value,
                                       int aux)
{
	return fy_syscalls_ret(syscall(SYS_fsconfig, fsfd, cmd, key, value, aux));
}

static inline int fy_syscalls_fsmount(int fsfd, unsigned flags, unsigned attr_flags)
{
	return fy_syscalls_ret(syscall(SYS_fsmount, fsfd, flags, attr_flags));
}

static inline int fy_syscalls_close_range(unsigned first, unsigned last, unsigned flags)
{
	return fy_syscalls_ret(syscall(SYS_close_range, first, last, flags));
}

static inline int fy_syscalls_openat2(int dfd, const char *path, uint64_t flags, uint64_t mode,
                                      uint64_t resolve)
{
	struct fy_open_how how = {.flags = flags, .mode = mode, .resolve = resolve};

	return fy_syscalls_ret(syscall(SYS_openat2, dfd, path, &how, sizeof(how)));
}

static inline int fy_syscalls_pivot_root(const char *new_root, const char *put_old)
{
	return fy_syscalls_ret(syscall(SYS_pivot_root, new_root, put_old));
}

#endif
