// Run-time loading of zlib, zstd and lz4 (see CSamsaCompression.h for why).
#include "CSamsaCompression.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// MARK: ABI declarations (stable since zlib 1.2, zstd 1.3, lz4 1.7)

typedef struct {
    const uint8_t *next_in;
    unsigned int avail_in;
    unsigned long total_in;
    uint8_t *next_out;
    unsigned int avail_out;
    unsigned long total_out;
    const char *msg;
    void *state;
    void *zalloc;
    void *zfree;
    void *opaque;
    int data_type;
    unsigned long adler;
    unsigned long reserved;
} z_stream_abi;

typedef struct {
    const void *src;
    size_t size;
    size_t pos;
} zstd_in_buffer;

typedef struct {
    void *dst;
    size_t size;
    size_t pos;
} zstd_out_buffer;

enum { Z_FINISH_ABI = 4, Z_NO_FLUSH_ABI = 0, Z_DEFLATED_ABI = 8, ZSTD_D_WINDOW_LOG_MAX = 100 };
// zlib only compares the first character of the version string with its own.
static const char zlib_version_abi[] = "1.2.11";

static struct {
    int (*inflateInit2_)(z_stream_abi *, int, const char *, int);
    int (*inflate)(z_stream_abi *, int);
    int (*inflateReset)(z_stream_abi *);
    int (*inflateEnd)(z_stream_abi *);
    int (*deflateInit2_)(z_stream_abi *, int, int, int, int, int, const char *, int);
    int (*deflate)(z_stream_abi *, int);
    int (*deflateEnd)(z_stream_abi *);
} zlib;

static struct {
    void *(*createDStream)(void);
    size_t (*initDStream)(void *);
    size_t (*decompressStream)(void *, zstd_out_buffer *, zstd_in_buffer *);
    size_t (*freeDStream)(void *);
    size_t (*dctxSetParameter)(void *, int, int); // optional: zstd >= 1.4
    size_t (*compress)(void *, size_t, const void *, size_t, int);
    size_t (*compressBound)(size_t);
    unsigned (*isError)(size_t);
    const char *(*getErrorName)(size_t);
} zstd;

static struct {
    int (*compressDefault)(const char *, char *, int, int);
    int (*decompressSafe)(const char *, char *, int, int);
    int (*compressBound)(int);
} lz4;

// MARK: Loading

#ifdef __APPLE__
static const char *const zlib_names[] = {"libz.1.dylib", "libz.dylib", NULL};
static const char *const zstd_names[] = {"libzstd.1.dylib", "/opt/homebrew/lib/libzstd.1.dylib", "/usr/local/lib/libzstd.1.dylib", NULL};
static const char *const lz4_names[] = {"liblz4.1.dylib", "/opt/homebrew/lib/liblz4.1.dylib", "/usr/local/lib/liblz4.1.dylib", NULL};
#else
static const char *const zlib_names[] = {"libz.so.1", "libz.so", NULL};
static const char *const zstd_names[] = {"libzstd.so.1", "libzstd.so", NULL};
static const char *const lz4_names[] = {"liblz4.so.1", "liblz4.so", NULL};
#endif

static int loaded[3];
static char load_errors[3][256];
static pthread_once_t once[3] = {PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT};

static void *open_first(int library, const char *const *names) {
    for (const char *const *name = names; *name; name++) {
        void *handle = dlopen(*name, RTLD_NOW | RTLD_LOCAL);
        if (handle) return handle;
        if (name == names) {
            const char *reason = dlerror();
            snprintf(load_errors[library], sizeof load_errors[library], "%s", reason ? reason : "dlopen failed");
        }
    }
    return NULL;
}

// Looks up `symbol`; on failure records it as the load error and returns 0.
static int find(int library, void *handle, const char *symbol, void *slot) {
    void *address = dlsym(handle, symbol);
    if (!address) {
        snprintf(load_errors[library], sizeof load_errors[library], "symbol %s not found", symbol);
        return 0;
    }
    memcpy(slot, &address, sizeof address);
    return 1;
}

static void load_zlib(void) {
    void *h = open_first(SAMSA_LIBRARY_ZLIB, zlib_names);
    int i = SAMSA_LIBRARY_ZLIB;
    loaded[i] = h && find(i, h, "inflateInit2_", &zlib.inflateInit2_) && find(i, h, "inflate", &zlib.inflate)
        && find(i, h, "inflateReset", &zlib.inflateReset) && find(i, h, "inflateEnd", &zlib.inflateEnd)
        && find(i, h, "deflateInit2_", &zlib.deflateInit2_) && find(i, h, "deflate", &zlib.deflate)
        && find(i, h, "deflateEnd", &zlib.deflateEnd);
}

static void load_zstd(void) {
    void *h = open_first(SAMSA_LIBRARY_ZSTD, zstd_names);
    int i = SAMSA_LIBRARY_ZSTD;
    loaded[i] = h && find(i, h, "ZSTD_createDStream", &zstd.createDStream)
        && find(i, h, "ZSTD_initDStream", &zstd.initDStream)
        && find(i, h, "ZSTD_decompressStream", &zstd.decompressStream)
        && find(i, h, "ZSTD_freeDStream", &zstd.freeDStream) && find(i, h, "ZSTD_compress", &zstd.compress)
        && find(i, h, "ZSTD_compressBound", &zstd.compressBound) && find(i, h, "ZSTD_isError", &zstd.isError)
        && find(i, h, "ZSTD_getErrorName", &zstd.getErrorName);
    if (h) {
        void *address = dlsym(h, "ZSTD_DCtx_setParameter");
        memcpy(&zstd.dctxSetParameter, &address, sizeof address);
    }
}

static void load_lz4(void) {
    void *h = open_first(SAMSA_LIBRARY_LZ4, lz4_names);
    int i = SAMSA_LIBRARY_LZ4;
    loaded[i] = h && find(i, h, "LZ4_compress_default", &lz4.compressDefault)
        && find(i, h, "LZ4_decompress_safe", &lz4.decompressSafe) && find(i, h, "LZ4_compressBound", &lz4.compressBound);
}

int samsa_library_load(int library) {
    switch (library) {
    case SAMSA_LIBRARY_ZLIB: pthread_once(&once[0], load_zlib); break;
    case SAMSA_LIBRARY_ZSTD: pthread_once(&once[1], load_zstd); break;
    case SAMSA_LIBRARY_LZ4: pthread_once(&once[2], load_lz4); break;
    default: return 0;
    }
    return loaded[library];
}

const char *samsa_library_load_error(int library) {
    if (library < 0 || library > 2) return "unknown library";
    return load_errors[library][0] ? load_errors[library] : "not loaded";
}

const char *samsa_library_name(int library) {
    switch (library) {
    case SAMSA_LIBRARY_ZLIB: return zlib_names[0];
    case SAMSA_LIBRARY_ZSTD: return zstd_names[0];
    case SAMSA_LIBRARY_LZ4: return lz4_names[0];
    default: return "unknown";
    }
}

// MARK: zlib

struct samsa_zstream {
    z_stream_abi z;
};

// zlib counts in unsigned int; callers never pass more than that at once.
static unsigned int clamp_uint(size_t n) { return n > 0xFFFFFFFFu ? 0xFFFFFFFFu : (unsigned int)n; }

samsa_zstream *samsa_gzip_inflate_create(void) {
    if (!samsa_library_load(SAMSA_LIBRARY_ZLIB)) return NULL;
    samsa_zstream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (zlib.inflateInit2_(&s->z, 15 + 16, zlib_version_abi, (int)sizeof s->z) != SAMSA_Z_OK) {
        free(s);
        return NULL;
    }
    return s;
}

int samsa_gzip_inflate(samsa_zstream *s, const uint8_t *input, size_t input_length, size_t *consumed,
                       uint8_t *output, size_t output_length, size_t *produced) {
    s->z.next_in = input;
    s->z.avail_in = clamp_uint(input_length);
    s->z.next_out = output;
    s->z.avail_out = clamp_uint(output_length);
    unsigned int in_before = s->z.avail_in, out_before = s->z.avail_out;
    int code = zlib.inflate(&s->z, Z_NO_FLUSH_ABI);
    *consumed = in_before - s->z.avail_in;
    *produced = out_before - s->z.avail_out;
    return code;
}

int samsa_gzip_inflate_reset(samsa_zstream *s) { return zlib.inflateReset(&s->z); }

void samsa_gzip_inflate_free(samsa_zstream *s) {
    if (!s) return;
    zlib.inflateEnd(&s->z);
    free(s);
}

samsa_zstream *samsa_gzip_deflate_create(int level) {
    if (!samsa_library_load(SAMSA_LIBRARY_ZLIB)) return NULL;
    samsa_zstream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (zlib.deflateInit2_(&s->z, level, Z_DEFLATED_ABI, 15 + 16, 8, 0, zlib_version_abi, (int)sizeof s->z) != SAMSA_Z_OK) {
        free(s);
        return NULL;
    }
    return s;
}

int samsa_gzip_deflate(samsa_zstream *s, const uint8_t *input, size_t input_length, size_t *consumed,
                       uint8_t *output, size_t output_length, size_t *produced, int finish) {
    s->z.next_in = input;
    s->z.avail_in = clamp_uint(input_length);
    s->z.next_out = output;
    s->z.avail_out = clamp_uint(output_length);
    unsigned int in_before = s->z.avail_in, out_before = s->z.avail_out;
    int code = zlib.deflate(&s->z, finish ? Z_FINISH_ABI : Z_NO_FLUSH_ABI);
    *consumed = in_before - s->z.avail_in;
    *produced = out_before - s->z.avail_out;
    return code;
}

void samsa_gzip_deflate_free(samsa_zstream *s) {
    if (!s) return;
    zlib.deflateEnd(&s->z);
    free(s);
}

size_t samsa_gzip_bound(size_t length) {
    // deflateBound for the default settings plus the gzip header and trailer (18 bytes), with
    // slack; computed here so callers need not keep a stream around.
    return length + (length >> 12) + (length >> 14) + (length >> 25) + 13 + 18 + 64;
}

const char *samsa_zstream_message(const samsa_zstream *s) { return s && s->z.msg ? s->z.msg : ""; }

// MARK: zstd

struct samsa_zstd_dstream {
    void *dstream;
};

samsa_zstd_dstream *samsa_zstd_dstream_create(int window_log_max) {
    if (!samsa_library_load(SAMSA_LIBRARY_ZSTD)) return NULL;
    void *d = zstd.createDStream();
    if (!d) return NULL;
    if (zstd.isError(zstd.initDStream(d))) {
        zstd.freeDStream(d);
        return NULL;
    }
    // Limits the window zstd allocates for a frame, so a hostile header cannot make it reserve
    // more memory than the output budget needs.
    if (window_log_max > 0 && zstd.dctxSetParameter) zstd.dctxSetParameter(d, ZSTD_D_WINDOW_LOG_MAX, window_log_max);
    samsa_zstd_dstream *s = malloc(sizeof *s);
    if (!s) {
        zstd.freeDStream(d);
        return NULL;
    }
    s->dstream = d;
    return s;
}

size_t samsa_zstd_decompress_stream(samsa_zstd_dstream *s, const uint8_t *input, size_t input_length,
                                    size_t *consumed, uint8_t *output, size_t output_length, size_t *produced) {
    zstd_in_buffer in = {input, input_length, 0};
    zstd_out_buffer out = {output, output_length, 0};
    size_t code = zstd.decompressStream(s->dstream, &out, &in);
    *consumed = in.pos;
    *produced = out.pos;
    return code;
}

void samsa_zstd_dstream_free(samsa_zstd_dstream *s) {
    if (!s) return;
    zstd.freeDStream(s->dstream);
    free(s);
}

size_t samsa_zstd_compress(uint8_t *output, size_t output_capacity, const uint8_t *input, size_t input_length, int level) {
    return zstd.compress(output, output_capacity, input, input_length, level);
}

size_t samsa_zstd_compress_bound(size_t length) { return zstd.compressBound(length); }
unsigned samsa_zstd_is_error(size_t code) { return zstd.isError(code); }
const char *samsa_zstd_error_name(size_t code) { return zstd.getErrorName(code); }

// MARK: lz4

int samsa_lz4_compress_default(const uint8_t *input, uint8_t *output, int input_length, int output_capacity) {
    return lz4.compressDefault((const char *)input, (char *)output, input_length, output_capacity);
}

int samsa_lz4_decompress_safe(const uint8_t *input, uint8_t *output, int input_length, int output_capacity) {
    return lz4.decompressSafe((const char *)input, (char *)output, input_length, output_capacity);
}

int samsa_lz4_compress_bound(int length) { return lz4.compressBound(length); }
