#ifndef CSAMSA_FILE_SYSTEM_H
#define CSAMSA_FILE_SYSTEM_H

/// Flushes every dirty page and inode of the file system holding the open file `descriptor`
/// (Linux `syncfs(2)`); elsewhere, `sync()` then `fsync` of the descriptor. Returns 0 or -1
/// with errno set.
int csamsa_syncfs(int descriptor);

#endif
