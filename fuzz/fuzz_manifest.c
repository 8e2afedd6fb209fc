/* libFuzzer target: the operator-signed manifest decoder (docs/MANIFEST.md). Properties:
 * - no crash, no read outside the input (ASan), no undefined behaviour (UBSan);
 * - an accepted manifest re-encodes to exactly the input (strict DER) and renders as JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/buf.h"
#include "rsp/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rsp_manifest m;
    if (rsp_manifest_decode(data, size, &m) != 0)
        return 0;
    struct rsp_buf b = RSP_BUF_INIT;
    if (rsp_manifest_encode(&m, &b) != 0 || b.len != size || memcmp(b.data, data, size) != 0)
        abort();
    rsp_buf_reset(&b);
    if (rsp_manifest_json(&m, &b) != 0)
        abort();
    rsp_buf_free(&b);
    return 0;
}
