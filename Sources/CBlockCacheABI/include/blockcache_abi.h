// The C contract (include/blockcache.h) made visible to the Swift export module,
// plus the per-thread storage of the last error message.
#ifndef BLOCKCACHE_ABI_H
#define BLOCKCACHE_ABI_H

#include "../../../include/blockcache.h"

#ifdef __cplusplus
extern "C" {
#endif

/// BC_VERSION_STRING, from the header itself.
const char *bcabi_version_string(void);

/// Records `code` and a copy of `message` (truncated to 511 bytes) as this thread's
/// last error.
void bcabi_set_error(int32_t code, const char *message);
/// This thread's last error message ("" if none).
const char *bcabi_last_error(void);
/// This thread's last error code (BC_OK if none).
int32_t bcabi_last_error_code(void);

#ifdef __cplusplus
}
#endif

#endif
