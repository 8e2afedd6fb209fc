/* libFuzzer target: every decoder of rsp/sgp22_auth.h on the same input. Properties checked:
 * - no read outside the input (ASan), no undefined behaviour (UBSan), no leak;
 * - a decoder returns 0 or a negative RSP_E* code;
 * - what decodes and re-encodes is stable: decode(encode(x)) succeeds and encodes to the same
 *   bytes again; a decoded BPP rebuilt from its segments gives back the input exactly;
 * - the signed-input helpers never fail on decoded structures. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/sgp22_auth.h"

#include "sgp22_codecs.h"

static union sgp22_any u1, u2;
static const uint8_t otpk[RSP_SGP22_OTPK_LEN] = {0x04};
static const uint8_t sig[RSP_SGP22_SIG_LEN] = {0};

static void check_codec(size_t i, const uint8_t *data, size_t size)
{
    int rc = sgp22_codecs[i].dec(data, size, &u1);
    if (rc > 0)
        abort();
    if (rc)
        return;
    struct rsp_buf a = RSP_BUF_INIT, b = RSP_BUF_INIT;
    if (sgp22_codecs[i].enc && sgp22_codecs[i].enc(&u1, &a) == 0) {
        if (sgp22_codecs[i].dec(a.data, a.len, &u2) != 0)
            abort(); /* the encoder produced something its decoder refuses */
        if (sgp22_codecs[i].enc(&u2, &b) != 0 || b.len != a.len ||
            memcmp(a.data, b.data, a.len) != 0)
            abort(); /* encode is not stable */
    }
    rsp_buf_free(&a);
    rsp_buf_free(&b);
}

#define MAX_SEGS 64

static void check_bpp(const uint8_t *data, size_t size)
{
    static struct rsp_sgp22_bpp bpp;
    static struct rsp_sgp22_bytes segs[4][MAX_SEGS];
    int rc = rsp_sgp22_bpp_decode(data, size, &bpp);
    if (rc > 0)
        abort();
    if (rc)
        return;
    const struct rsp_tlv *lists[4] = {&bpp.first87, &bpp.seq88, &bpp.second87, &bpp.seq86};
    size_t n[4] = {0};
    for (int l = 0; l < 4; l++) {
        if (l == 2 && !bpp.has_second87)
            continue;
        struct rsp_der_iter it;
        struct rsp_tlv seg;
        rsp_der_iter_value(&it, lists[l]);
        while ((rc = rsp_sgp22_bpp_next(&it, &seg)) == 1) {
            if (n[l] == MAX_SEGS)
                return;
            segs[l][n[l]++] = (struct rsp_sgp22_bytes){seg.raw, seg.raw_len};
        }
        if (rc != 0)
            abort(); /* the decoder accepted lists the walker refuses */
    }
    if (n[0] != bpp.n_first87 || n[1] != bpp.n_seq88 || n[2] != bpp.n_second87 ||
        n[3] != bpp.n_seq86)
        abort();
    struct rsp_sgp22_bpp_parts parts = {
        .init_secure_channel = &bpp.init_secure_channel,
        .first87 = segs[0],
        .n_first87 = n[0],
        .seq88 = segs[1],
        .n_seq88 = n[1],
        .has_second87 = bpp.has_second87,
        .second87 = segs[2],
        .n_second87 = n[2],
        .seq86 = segs[3],
        .n_seq86 = n[3],
    };
    struct rsp_buf out = RSP_BUF_INIT;
    if (rsp_sgp22_bpp_encode(&parts, &out) != 0)
        abort();
    /* Everything after the known parts is an ignored extension; without one, exact bytes. */
    if (bpp.seq86.raw + bpp.seq86.raw_len == data + size &&
        (out.len != size || memcmp(out.data, data, size) != 0))
        abort();
    rsp_buf_reset(&out);
    if (rsp_sgp22_smdp_sign_input(&bpp.init_secure_channel, otpk, &out) != 0)
        abort();
    rsp_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < SGP22_N_CODECS; i++)
        check_codec(i, data, size);
    check_bpp(data, size);

    struct rsp_buf out = RSP_BUF_INIT;
    if (rsp_sgp22_init_secure_channel_decode(data, size, &u1.isc) == 0 &&
        rsp_sgp22_smdp_sign_input(&u1.isc, otpk, &out) != 0)
        abort();
    if (size && rsp_sgp22_smdp_signature2_input(data, size, sig, &out) != 0)
        abort();
    rsp_buf_free(&out);
    return 0;
}
