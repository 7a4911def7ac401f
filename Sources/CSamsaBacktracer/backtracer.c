// A release `samsa` links the Swift runtime statically (see Package.swift). The runtime then
// looks for its crash backtracer relative to the executable rather than to libswiftCore.so, finds
// none, and a crash prints one unusable line. Before the runtime's own initializers run, this
// tells it where a backtracer is, unless SWIFT_BACKTRACE or SWIFT_ROOT already do.
#define _GNU_SOURCE
#include "CSamsaBacktracer.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/// Whether `snprintf` wrote all of a candidate path (`written` bytes) and it names a program.
static int runnable_candidate(const char *path, int written, size_t capacity) {
    return written > 0 && (size_t)written < capacity && access(path, X_OK) == 0;
}

int csamsa_find_static_backtracer(const char *executable, const char *search_path, char *result, size_t capacity) {
    if (executable != NULL) {
        const char *slash = strrchr(executable, '/');
        if (slash != NULL) {
            int written = snprintf(result, capacity, "%.*s/swift-backtrace-static", (int)(slash - executable), executable);
            if (runnable_candidate(result, written, capacity)) return 1;
        }
    }
    if (search_path == NULL) return 0;
    const char *directory = search_path;
    while (*directory != 0) {
        const char *end = strchr(directory, ':');
        size_t length = end != NULL ? (size_t)(end - directory) : strlen(directory);
        if (length > 0) {
            int written = snprintf(result, capacity, "%.*s/../libexec/swift/linux/swift-backtrace-static", (int)length,
                                   directory);
            if (runnable_candidate(result, written, capacity)) return 1;
        }
        if (end == NULL) break;
        directory = end + 1;
    }
    return 0;
}

#if defined(__linux__)
// The runtime's entry for tools that run Swift code with arguments of their own; two
// integer-register arguments, so the C and Swift calling conventions agree.
extern void _swift_stdlib_overrideUnsafeArgvArgc(char **argv, int argc);

// Priority 101 runs before the C++ initializers of a statically linked runtime, which read
// SWIFT_BACKTRACE. glibc passes initializers the program's arguments.
__attribute__((constructor(101))) static void csamsa_configure_backtracer(int argc, char **argv, char **envp) {
    (void)envp;
    const char *settings = getenv("SWIFT_BACKTRACE");
    if ((settings != NULL && strstr(settings, "swift-backtrace=") != NULL) || getenv("SWIFT_ROOT") != NULL) return;
    void *shared_runtime = dlopen("libswiftCore.so", RTLD_LAZY | RTLD_NOLOAD);
    if (shared_runtime != NULL) {  // a shared runtime finds its backtracer itself
        dlclose(shared_runtime);
        return;
    }
    char executable[PATH_MAX];
    ssize_t length = readlink("/proc/self/exe", executable, sizeof executable - 1);
    if (length <= 0) return;
    executable[length] = 0;
    char backtracer[PATH_MAX];
    if (!csamsa_find_static_backtracer(executable, getenv("PATH"), backtracer, sizeof backtracer)) return;
    char value[PATH_MAX + 1024];
    int written = settings != NULL && *settings != 0
        ? snprintf(value, sizeof value, "%s,swift-backtrace=%s", settings, backtracer)
        : snprintf(value, sizeof value, "swift-backtrace=%s", backtracer);
    if (written <= 0 || (size_t)written >= sizeof value) return;
    // The runtime finds the arguments by walking back from `environ` on the initial stack, and
    // setenv moves `environ` to the heap: hand them over first.
    _swift_stdlib_overrideUnsafeArgvArgc(argv, argc);
    setenv("SWIFT_BACKTRACE", value, 1);
}
#endif
