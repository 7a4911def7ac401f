#ifndef CSAMSA_BACKTRACER_H
#define CSAMSA_BACKTRACER_H

#include <stddef.h>

/// Finds a statically linked Swift backtracer for an executable at `executable`: first
/// `swift-backtrace-static` beside it (where a deployment puts it), then the one of a Swift
/// toolchain on `search_path` (a `PATH` value: `<dir>/../libexec/swift/linux/swift-backtrace-static`
/// for each directory). Writes the path into `result` and returns 1, or returns 0.
int csamsa_find_static_backtracer(const char *executable, const char *search_path, char *result, size_t capacity);

#endif
