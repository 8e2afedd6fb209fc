/* libFuzzer target: the batch manifest and batch entry record decoders (docs/MANIFEST.md, "Batch
 * manifests"). Properties:
 * - no crash, no read outside the input (ASan), no undefined behaviour (UBSan), no leak;
 * - an accepted batch has 1..RSP_MANIFEST_BATCH_MAX_ENTRIES entries of its own operator with
 *   distinct ICCIDs, each found by its ICCID, and the record of an entry decodes back to that
 *   entry, its index and the batch digest;
 * - an accepted record has an index within bounds and re-decodes the same from its entry. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/buf.h"
#include "rsp/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t d[32];
    size_t idx;
    struct rsp_manifest m, m2;
    if (rsp_manifest_record_decode(data, size, d, &idx, &m) == 0 &&
        idx >= RSP_MANIFEST_BATCH_MAX_ENTRIES)
        abort();
    struct rsp_manifest_batch b;
    if (rsp_manifest_batch_decode(data, size, &b) != 0)
        return 0;
    if (b.n == 0 || b.n > RSP_MANIFEST_BATCH_MAX_ENTRIES || b.der != data || b.der_len != size)
        abort();
    struct rsp_buf rec = RSP_BUF_INIT;
    for (size_t i = 0; i < b.n; i++) {
        if (strcmp(b.entries[i].operator_id, b.operator_id) != 0 ||
            rsp_manifest_batch_find(&b, b.entries[i].iccid) != (long)i)
            abort();
        if (i < 8) { /* records of the first entries */
            rsp_buf_reset(&rec);
            if (rsp_manifest_batch_record(&b, i, &rec) != 0 ||
                rsp_manifest_record_decode(rec.data, rec.len, d, &idx, &m2) != 0 || idx != i ||
                memcmp(d, b.digest, 32) != 0 || strcmp(m2.iccid, b.entries[i].iccid) != 0 ||
                memcmp(m2.package_sha256, b.entries[i].package_sha256, 32) != 0)
                abort();
        }
    }
    rsp_buf_free(&rec);
    rsp_manifest_batch_free(&b);
    return 0;
}
