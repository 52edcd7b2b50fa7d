#include "blockcache_abi.h"

#include <string.h>

// Thread-local in C because Swift has no thread-local storage of its own. In a
// shared object this is global-dynamic TLS, so the library can be dlopen'ed.
static __thread char last_error[512];
static __thread int32_t last_code;

void bcabi_set_error(int32_t code, const char *message) {
    last_code = code;
    if (message == NULL) message = "";
    size_t n = strlen(message);
    if (n >= sizeof(last_error)) n = sizeof(last_error) - 1;
    memcpy(last_error, message, n);
    last_error[n] = '\0';
}

const char *bcabi_last_error(void) { return last_error; }

int32_t bcabi_last_error_code(void) { return last_code; }

const char *bcabi_version_string(void) { return BC_VERSION_STRING; }
