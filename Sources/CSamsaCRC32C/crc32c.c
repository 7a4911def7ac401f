// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by Kafka record batches v2.
//
// Two implementations: the SSE4.2 `crc32` instruction on x86-64 (or the ARMv8 CRC32 extension on
// aarch64) when the CPU has it, chosen once at run time, and a portable slice-by-8 table fallback.

#include "CSamsaCRC32C.h"

#include <pthread.h>
#include <string.h>

#define POLY 0x82F63B78u
#define STREAM_BYTES 4096

static uint32_t samsa_crc32c_shift(uint32_t crc, int streams);

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_table(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = n;
        for (int k = 0; k < 8; k++) {
            crc = (crc & 1) ? (crc >> 1) ^ POLY : crc >> 1;
        }
        table[0][n] = crc;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = table[0][n];
        for (int k = 1; k < 8; k++) {
            crc = table[0][crc & 0xff] ^ (crc >> 8);
            table[k][n] = crc;
        }
    }
}

static uint32_t update_portable_raw(uint32_t crc, const unsigned char *p, size_t n) {
    while (n && ((uintptr_t)p & 7) != 0) {
        crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        n--;
    }
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        word = __builtin_bswap64(word);
#endif
        word ^= crc;
        crc = table[7][word & 0xff] ^ table[6][(word >> 8) & 0xff] ^ table[5][(word >> 16) & 0xff] ^
              table[4][(word >> 24) & 0xff] ^ table[3][(word >> 32) & 0xff] ^ table[2][(word >> 40) & 0xff] ^
              table[1][(word >> 48) & 0xff] ^ table[0][word >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) {
        crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    }
    return crc;
}

uint32_t samsa_crc32c_update_portable(uint32_t crc, const void *bytes, size_t length) {
    pthread_once(&table_once, build_table);
    return ~update_portable_raw(~crc, (const unsigned char *)bytes, length);
}

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2")))
static uint32_t update_hardware_raw(uint32_t crc, const unsigned char *p, size_t n) {
    uint64_t crc64 = crc;
    while (n && ((uintptr_t)p & 7) != 0) {
        crc64 = _mm_crc32_u8((uint32_t)crc64, *p++);
        n--;
    }
    // Three independent streams hide the instruction's 3-cycle latency on long inputs.
    while (n >= 3 * STREAM_BYTES) {
        uint64_t c0 = crc64, c1 = 0, c2 = 0;
        const unsigned char *p1 = p + STREAM_BYTES, *p2 = p + 2 * STREAM_BYTES;
        for (int i = 0; i < STREAM_BYTES; i += 8) {
            uint64_t w0, w1, w2;
            memcpy(&w0, p + i, 8);
            memcpy(&w1, p1 + i, 8);
            memcpy(&w2, p2 + i, 8);
            c0 = _mm_crc32_u64(c0, w0);
            c1 = _mm_crc32_u64(c1, w1);
            c2 = _mm_crc32_u64(c2, w2);
        }
        // Combine: extend c0 over two streams of zeros and c1 over one (GF(2) multiplication,
        // done once per 3 * STREAM_BYTES, so its cost is small next to the data).
        uint32_t combined = samsa_crc32c_shift((uint32_t)c0, 2) ^ samsa_crc32c_shift((uint32_t)c1, 1) ^ (uint32_t)c2;
        crc64 = combined;
        p += 3 * STREAM_BYTES;
        n -= 3 * STREAM_BYTES;
    }
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        crc64 = _mm_crc32_u64(crc64, word);
        p += 8;
        n -= 8;
    }
    while (n--) {
        crc64 = _mm_crc32_u8((uint32_t)crc64, *p++);
    }
    return (uint32_t)crc64;
}

static int detect_hardware(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>

static uint32_t update_hardware_raw(uint32_t crc, const unsigned char *p, size_t n) {
    while (n && ((uintptr_t)p & 7) != 0) {
        crc = __crc32cb(crc, *p++);
        n--;
    }
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        crc = __crc32cd(crc, word);
        p += 8;
        n -= 8;
    }
    while (n--) {
        crc = __crc32cb(crc, *p++);
    }
    return crc;
}

static int detect_hardware(void) { return 1; }
#else
static uint32_t update_hardware_raw(uint32_t crc, const unsigned char *p, size_t n) {
    return update_portable_raw(crc, p, n);
}
static int detect_hardware(void) { return 0; }
#endif

// Multiplication in GF(2) modulo the (reflected) CRC polynomial, used to extend a raw CRC over
// zero bytes: this is how the interleaved streams above are merged.
static uint32_t gf2_multiply(uint32_t a, uint32_t b) {
    uint32_t product = 0;
    for (int i = 0; i < 32; i++) {
        if (a & 0x80000000u) {
            product ^= b;
        }
        a <<= 1;
        b = (b & 1) ? (b >> 1) ^ POLY : b >> 1;
    }
    return product;
}

// x^(8*n) mod P for n = STREAM_BYTES and 2 * STREAM_BYTES, computed once.
static uint32_t shift_one, shift_two;
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

static uint32_t x_pow_8n(size_t n) {
    // Start from x^0, which is 0x80000000 in reflected bit order, and multiply by x^8 n times.
    uint32_t result = 0x80000000u;
    uint32_t x8 = 0x00800000u; // x^8 in reflected order
    for (size_t i = 0; i < n; i++) {
        result = gf2_multiply(result, x8);
    }
    return result;
}

static void build_shifts(void) {
    shift_one = x_pow_8n(STREAM_BYTES);
    shift_two = x_pow_8n(2 * STREAM_BYTES);
}

static uint32_t samsa_crc32c_shift(uint32_t crc, int streams) {
    pthread_once(&shift_once, build_shifts);
    return gf2_multiply(crc, streams == 2 ? shift_two : shift_one);
}

static int hardware;
static pthread_once_t hardware_once = PTHREAD_ONCE_INIT;

static void detect_hardware_once(void) { hardware = detect_hardware(); }

int samsa_crc32c_is_hardware_accelerated(void) {
    pthread_once(&hardware_once, detect_hardware_once);
    return hardware;
}

uint32_t samsa_crc32c_update(uint32_t crc, const void *bytes, size_t length) {
    if (samsa_crc32c_is_hardware_accelerated()) {
        return ~update_hardware_raw(~crc, (const unsigned char *)bytes, length);
    }
    return samsa_crc32c_update_portable(crc, bytes, length);
}
