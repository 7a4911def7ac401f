// syncfs(2) is a GNU extension that Swift's Glibc module does not export.
#define _GNU_SOURCE
#include <unistd.h>

#include "CSamsaFileSystem.h"

int csamsa_syncfs(int descriptor) {
#if defined(__linux__)
    return syncfs(descriptor);
#else
    sync();
    return fsync(descriptor);
#endif
}
