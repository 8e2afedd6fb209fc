/* libFuzzer target: OID contents <-> dotted text. Whatever decodes must encode back to the same
 * bytes, and whatever text encodes must decode back to the same text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/der.h"
#include "rsp/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[512];
    if (size && rsp_oid_to_str(data, size, text, sizeof text) == 0) {
        struct rsp_buf b = RSP_BUF_INIT;
        if (rsp_oid_from_str(&b, text) != 0 || b.len != size || memcmp(b.data, data, size))
            abort();
        rsp_buf_free(&b);
    }
    /* the same bytes read as text */
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    struct rsp_buf b = RSP_BUF_INIT;
    if (strlen(s) == size && rsp_oid_from_str(&b, s) == 0) {
        if (rsp_oid_to_str(b.data, b.len, text, sizeof text) == 0 && strcmp(text, s) != 0)
            abort();
    }
    rsp_buf_free(&b);
    free(s);
    return 0;
}
