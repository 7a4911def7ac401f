// preadv2(2) and RWF_NOWAIT are GNU extensions that Swift's Glibc module does not export.
#define _GNU_SOURCE
#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include "CSamsaFileSystem.h"

ssize_t csamsa_pread_if_cached(int descriptor, void *buffer, size_t count, off_t offset) {
#if defined(__linux__) && defined(RWF_NOWAIT)
    struct iovec vector = {.iov_base = buffer, .iov_len = count};
    return preadv2(descriptor, &vector, 1, offset, RWF_NOWAIT);
#else
    (void)descriptor;
    (void)buffer;
    (void)count;
    (void)offset;
    errno = EAGAIN;
    return -1;
#endif
}
