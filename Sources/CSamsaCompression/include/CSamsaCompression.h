// Run-time access to the system's zlib, zstd and lz4 libraries.
//
// The libraries are opened with dlopen on first use rather than linked, so building Samsa needs
// no -dev packages and a machine without one of them still runs everything except that codec.
// Only the few functions Samsa needs are declared here; the struct layouts they take are
// declared in compression.c, copied from the libraries' stable public ABI.
#ifndef CSAMSA_COMPRESSION_H
#define CSAMSA_COMPRESSION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Libraries, as numbered in the functions below.
enum samsa_library {
    SAMSA_LIBRARY_ZLIB = 0,
    SAMSA_LIBRARY_ZSTD = 1,
    SAMSA_LIBRARY_LZ4 = 2,
};

/// Opens the library once (thread-safe) and returns 1 if it and every needed symbol were found.
int samsa_library_load(int library);

/// After a failed load: why (dlerror text or the missing symbol). Never NULL.
const char *samsa_library_load_error(int library);

/// The file name that was opened (or tried first).
const char *samsa_library_name(int library);

// MARK: zlib (gzip streams: windowBits 15 + 16)

// zlib return codes used by the callers.
#define SAMSA_Z_OK 0
#define SAMSA_Z_STREAM_END 1
#define SAMSA_Z_NEED_DICT 2
#define SAMSA_Z_BUF_ERROR (-5)

typedef struct samsa_zstream samsa_zstream;

/// A gzip decoder; NULL if out of memory or zlib is not loaded.
samsa_zstream *samsa_gzip_inflate_create(void);
/// Decodes from `input` into `output`; reports bytes consumed and produced. Returns a zlib code.
int samsa_gzip_inflate(samsa_zstream *stream, const uint8_t *input, size_t input_length, size_t *consumed,
                       uint8_t *output, size_t output_length, size_t *produced);
/// Readies the decoder for another gzip member.
int samsa_gzip_inflate_reset(samsa_zstream *stream);
void samsa_gzip_inflate_free(samsa_zstream *stream);

/// A gzip encoder at `level` (-1 = zlib's default, 6); NULL if out of memory or zlib is not loaded.
samsa_zstream *samsa_gzip_deflate_create(int level);
/// Encodes; `finish` != 0 ends the stream (Z_FINISH). Returns a zlib code.
int samsa_gzip_deflate(samsa_zstream *stream, const uint8_t *input, size_t input_length, size_t *consumed,
                       uint8_t *output, size_t output_length, size_t *produced, int finish);
void samsa_gzip_deflate_free(samsa_zstream *stream);
/// An upper bound of the gzip output for `length` input bytes.
size_t samsa_gzip_bound(size_t length);
/// The last error message zlib set on the stream, or "" if none.
const char *samsa_zstream_message(const samsa_zstream *stream);

// MARK: zstd

typedef struct samsa_zstd_dstream samsa_zstd_dstream;

/// A streaming zstd decoder whose window may be at most 2^`window_log_max` bytes (0 = zstd's default).
samsa_zstd_dstream *samsa_zstd_dstream_create(int window_log_max);
/// Decodes; returns 0 when a frame is complete, a hint > 0 when more is expected, or an error
/// code to test with samsa_zstd_is_error.
size_t samsa_zstd_decompress_stream(samsa_zstd_dstream *stream, const uint8_t *input, size_t input_length,
                                    size_t *consumed, uint8_t *output, size_t output_length, size_t *produced);
void samsa_zstd_dstream_free(samsa_zstd_dstream *stream);
size_t samsa_zstd_compress(uint8_t *output, size_t output_capacity, const uint8_t *input, size_t input_length, int level);
size_t samsa_zstd_compress_bound(size_t length);
unsigned samsa_zstd_is_error(size_t code);
const char *samsa_zstd_error_name(size_t code);

// MARK: lz4 block API

int samsa_lz4_compress_default(const uint8_t *input, uint8_t *output, int input_length, int output_capacity);
int samsa_lz4_decompress_safe(const uint8_t *input, uint8_t *output, int input_length, int output_capacity);
int samsa_lz4_compress_bound(int length);

#ifdef __cplusplus
}
#endif

#endif
