/* libFuzzer target: the strict DER reader. Properties checked on every input:
 * - no read outside the input (ASan), no undefined behaviour (UBSan);
 * - every TLV the reader accepts re-encodes to exactly the same bytes (canonical headers);
 * - primitive accessors never fail in an unexpected way. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/der.h"
#include "rsp/err.h"

static void walk(const uint8_t *p, size_t n, int depth)
{
    struct rsp_der_iter it;
    struct rsp_tlv t;
    rsp_der_iter_init(&it, p, n);
    while (rsp_der_next(&it, &t) == 1) {
        struct rsp_buf b = RSP_BUF_INIT;
        rsp_der_put(&b, t.tag, t.val, t.len);
        if (b.err || b.len != t.raw_len || memcmp(b.data, t.raw, b.len) != 0)
            abort(); /* accepted input that is not canonical */
        rsp_buf_free(&b);
        uint64_t u;
        int64_t i;
        bool v;
        const uint8_t *bits;
        size_t nbits;
        char oid[256];
        (void)rsp_der_get_uint(&t, &u);
        (void)rsp_der_get_int(&t, &i);
        (void)rsp_der_get_bool(&t, &v);
        if (rsp_der_get_bits(&t, &bits, &nbits) == 0 && nbits)
            (void)rsp_der_bit(bits, nbits, nbits - 1);
        if (t.len)
            (void)rsp_oid_to_str(t.val, t.len, oid, sizeof oid);
        if (rsp_tag_constructed(t.tag) && depth < RSP_DER_MAX_DEPTH)
            walk(t.val, t.len, depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rsp_tag tag;
    size_t hl, vl;
    (void)rsp_der_parse_header(data, size, &tag, &hl, &vl);
    (void)rsp_der_validate(data, size, RSP_DER_MAX_DEPTH);
    walk(data, size, 0);
    return 0;
}
