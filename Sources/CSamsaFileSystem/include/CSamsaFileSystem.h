#ifndef CSAMSA_FILE_SYSTEM_H
#define CSAMSA_FILE_SYSTEM_H

#include <sys/types.h>

/// Flushes every dirty page and inode of the file system holding the open file `descriptor`
/// (Linux `syncfs(2)`); elsewhere, `sync()` then `fsync` of the descriptor. Returns 0 or -1
/// with errno set.
int csamsa_syncfs(int descriptor);

/// Reads up to `count` bytes at `offset` only from the page cache (Linux `preadv2(2)` with
/// `RWF_NOWAIT`): returns the bytes read, or -1 with errno EAGAIN when the read would have to
/// wait for the disk (or EOPNOTSUPP where the file system cannot tell). Elsewhere always -1
/// with EAGAIN.
ssize_t csamsa_pread_if_cached(int descriptor, void *buffer, size_t count, off_t offset);

#endif
