#ifndef C_SAMSA_CRC32C_H
#define C_SAMSA_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/// Continues a CRC-32C (Castagnoli) computation over `length` bytes.
///
/// `crc` is the running value *without* the final inversion: start with 0 and the function
/// handles the pre- and post-conditioning, so `samsa_crc32c_update(samsa_crc32c_update(0, a), b)`
/// equals the checksum of `a` followed by `b`.
uint32_t samsa_crc32c_update(uint32_t crc, const void *bytes, size_t length);

/// Returns 1 when the SSE4.2 (x86-64) or ARMv8 CRC32 instructions are used, 0 for the portable path.
int samsa_crc32c_is_hardware_accelerated(void);

/// The portable slice-by-8 implementation, exposed so tests can compare both paths.
uint32_t samsa_crc32c_update_portable(uint32_t crc, const void *bytes, size_t length);

#endif
