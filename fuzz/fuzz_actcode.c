/* libFuzzer target: the activation code parser (SGP.22 §4.1). Properties checked on every input:
 * - no crash, no read outside the input (ASan), no undefined behaviour (UBSan);
 * - a refused input leaves the output untouched;
 * - an accepted code formats (with and without "LPA:") and parses back to the same struct. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/sgp22_types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rsp_activation_code ac, ac2, keep;
    memset(&keep, 0xA5, sizeof keep);
    ac = keep;
    int rc = rsp_actcode_parse((const char *)data, size, &ac);
    if (rc != 0) {
        if (rc != RSP_ESYNTAX || memcmp(&ac, &keep, sizeof ac) != 0)
            abort();
        return 0;
    }
    for (int prefix = 0; prefix < 2; prefix++) {
        struct rsp_buf b = RSP_BUF_INIT;
        if (rsp_actcode_format(&ac, prefix, &b) != 0)
            abort();
        memset(&ac2, 0, sizeof ac2);
        if (rsp_actcode_parse((const char *)b.data, b.len, &ac2) != 0)
            abort();
        if (memcmp(&ac, &ac2, sizeof ac) != 0)
            abort();
        rsp_buf_free(&b);
    }
    return 0;
}
