/* Bound Profile Package builder (SGP.22 §2.5.4 structure, §5.5 ES8+ functions, §2.6.4 / Annex G
 * key agreement and BSP). One call binds an unprotected profile package to one eUICC otPK. */
#include <stdlib.h>
#include <string.h>

#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/sgp22_auth.h"
#include "rsp/smdp_bpp.h"

/* Segments of one BPP: every segment TLV is appended to `data`; off/len are kept per segment and
 * turned into pointers once `data` stops growing. */
struct seglist {
    struct rsp_buf data;
    size_t *off;
    size_t *len;
    size_t n, cap;
};

static int seg_add(struct seglist *l, struct rsp_bsp *bsp, uint8_t tag, bool enc, const uint8_t *p,
                   size_t n)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 16;
        size_t *no = realloc(l->off, nc * sizeof *no);
        if (!no)
            return RSP_ENOMEM;
        l->off = no;
        size_t *nl = realloc(l->len, nc * sizeof *nl);
        if (!nl)
            return RSP_ENOMEM;
        l->len = nl;
        l->cap = nc;
    }
    size_t before = l->data.len;
    int rc = rsp_bsp_wrap(bsp, tag, enc, p, n, &l->data);
    if (rc != 0)
        return rc;
    l->off[l->n] = before;
    l->len[l->n] = l->data.len - before;
    l->n++;
    return 0;
}

static void seg_free(struct seglist *l)
{
    rsp_buf_free(&l->data);
    free(l->off);
    free(l->len);
    memset(l, 0, sizeof *l);
}

/* Wraps p[0..n) into segments of at most `chunk` plaintext bytes (at least one segment). */
static int seg_add_chunks(struct seglist *l, struct rsp_bsp *bsp, uint8_t tag, bool enc,
                          const uint8_t *p, size_t n, size_t chunk)
{
    size_t at = 0;
    do {
        size_t k = n - at < chunk ? n - at : chunk;
        int rc = seg_add(l, bsp, tag, enc, p + at, k);
        if (rc != 0)
            return rc;
        at += k;
    } while (at < n);
    return 0;
}

static int fill_bytes(const struct seglist *l, size_t from, size_t to, struct rsp_sgp22_bytes **out)
{
    size_t n = to - from;
    *out = calloc(n ? n : 1, sizeof **out);
    if (!*out)
        return RSP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        (*out)[i].p = l->data.data + l->off[from + i];
        (*out)[i].len = l->len[from + i];
    }
    return 0;
}

static bool params_ok(const struct rsp_smdp_bpp_params *p)
{
    return p && p->transaction_id && p->transaction_id_len >= 1 &&
           p->transaction_id_len <= RSP_TID_MAX && p->euicc_otpk && p->eid && p->sk_dppb &&
           p->host_id && p->host_id_len >= 1 && p->host_id_len <= 16 && p->store_metadata &&
           p->store_metadata_len > 0 && p->upp && p->upp_len > 0 &&
           p->segment_plain <= RSP_BSP_MAX_PLAIN_ENC && p->metadata_plain <= RSP_BSP_MAX_PLAIN_MAC;
}

int rsp_smdp_bpp_build(const struct rsp_smdp_bpp_params *p, struct rsp_buf *bpp)
{
    if (!params_ok(p) || !bpp)
        return RSP_EINVAL;
    size_t chunk86 = p->segment_plain ? p->segment_plain : RSP_BSP_MAX_PLAIN_ENC;
    size_t chunk88 = p->metadata_plain ? p->metadata_plain : RSP_BSP_MAX_PLAIN_MAC;
    struct rsp_key *ot = NULL;
    struct rsp_buf sign_in = RSP_BUF_INIT, plain = RSP_BUF_INIT;
    struct seglist segs;
    memset(&segs, 0, sizeof segs);
    struct rsp_sgp22_bytes *b87 = NULL, *b88 = NULL, *b87b = NULL, *b86 = NULL;
    struct rsp_session_keys keys;
    struct rsp_bsp bsp;
    uint8_t z[RSP_ECKA_Z_LEN], ppk[48], ot_pt[RSP_EC_POINT_LEN], sig[RSP_ECDSA_SIG_LEN];
    memset(&bsp, 0, sizeof bsp);
    size_t start = bpp->len;

    /* §5.5.1 InitialiseSecureChannel: fresh otSK/otPK.DP on the curve of SK.DPpb. */
    int rc = rsp_key_generate(rsp_key_curve(p->sk_dppb), &ot);
    if (rc == 0)
        rc = rsp_key_point(ot, ot_pt);
    struct rsp_sgp22_init_secure_channel isc;
    memset(&isc, 0, sizeof isc);
    isc.remote_op_id = RSP_SGP22_REMOTE_OP_INSTALL_BPP;
    isc.transaction_id.p = p->transaction_id;
    isc.transaction_id.len = p->transaction_id_len;
    isc.key_type = 0x88;
    isc.key_len = 0x10;
    isc.host_id.p = p->host_id;
    isc.host_id.len = p->host_id_len;
    isc.smdp_otpk.p = ot_pt;
    isc.smdp_otpk.len = sizeof ot_pt;
    if (rc == 0)
        rc = rsp_sgp22_smdp_sign_input(&isc, p->euicc_otpk, &sign_in);
    if (rc == 0)
        rc = rsp_ecdsa_sign(p->sk_dppb, sign_in.data, sign_in.len, sig);
    isc.smdp_sign.p = sig;
    isc.smdp_sign.len = sizeof sig;
    /* Annex G: ShS = ECKA(otSK.DP, otPK.EUICC), then the KDF gives MCV | S-ENC | S-MAC. */
    if (rc == 0)
        rc = rsp_ecka(ot, p->euicc_otpk, RSP_EC_POINT_LEN, z);
    rsp_key_free(ot);
    ot = NULL;
    if (rc == 0)
        rc = rsp_kdf_session_keys(z, isc.key_type, isc.key_len, p->host_id, p->host_id_len, p->eid,
                                  &keys);
    rsp_memzero(z, sizeof z);
    if (rc != 0)
        goto out;
    rsp_bsp_init(&bsp, &keys);
    rsp_memzero(&keys, sizeof keys);

    /* A0: ConfigureISDP (87), A1: StoreMetadata (88...), [A2: ReplaceSessionKeys (87)]. */
    static const uint8_t empty_bf24[] = {0xBF, 0x24, 0x00};
    const uint8_t *cfg = p->configure_isdp ? p->configure_isdp : empty_bf24;
    size_t cfg_len = p->configure_isdp ? p->configure_isdp_len : sizeof empty_bf24;
    if ((rc = seg_add(&segs, &bsp, 0x87, true, cfg, cfg_len)) != 0)
        goto out;
    size_t n88_from = segs.n;
    if ((rc = seg_add_chunks(&segs, &bsp, 0x88, false, p->store_metadata, p->store_metadata_len,
                             chunk88)) != 0)
        goto out;
    size_t n88_to = segs.n;
    if (p->two_layer) {
        /* §5.5.4: random PPK-ENC, PPK-MAC and initial MCV, sent under the session keys. */
        if ((rc = rsp_random(ppk, sizeof ppk)) != 0)
            goto out;
        struct rsp_sgp22_replace_session_keys_request rsk;
        memset(&rsk, 0, sizeof rsk);
        rsk.initial_mcv.p = ppk;
        rsk.initial_mcv.len = 16;
        rsk.ppk_enc.p = ppk + 16;
        rsk.ppk_enc.len = 16;
        rsk.ppk_cmac.p = ppk + 32;
        rsk.ppk_cmac.len = 16;
        if ((rc = rsp_sgp22_replace_session_keys_request_encode(&rsk, &plain)) != 0 ||
            (rc = seg_add(&segs, &bsp, 0x87, true, plain.data, plain.len)) != 0)
            goto out;
        rsp_bsp_replace_keys(&bsp, ppk + 16, ppk + 32, ppk);
    }
    size_t n86_from = segs.n;
    if ((rc = seg_add_chunks(&segs, &bsp, 0x86, true, p->upp, p->upp_len, chunk86)) != 0)
        goto out;

    if ((rc = fill_bytes(&segs, 0, 1, &b87)) != 0 ||
        (rc = fill_bytes(&segs, n88_from, n88_to, &b88)) != 0 ||
        (rc = fill_bytes(&segs, n88_to, n86_from, &b87b)) != 0 ||
        (rc = fill_bytes(&segs, n86_from, segs.n, &b86)) != 0)
        goto out;
    struct rsp_sgp22_bpp_parts parts = {
        .init_secure_channel = &isc,
        .first87 = b87,
        .n_first87 = 1,
        .seq88 = b88,
        .n_seq88 = n88_to - n88_from,
        .has_second87 = p->two_layer,
        .second87 = b87b,
        .n_second87 = n86_from - n88_to,
        .seq86 = b86,
        .n_seq86 = segs.n - n86_from,
    };
    rc = rsp_sgp22_bpp_encode(&parts, bpp);
out:
    rsp_key_free(ot);
    rsp_bsp_wipe(&bsp);
    rsp_memzero(ppk, sizeof ppk);
    rsp_buf_free(&sign_in);
    rsp_buf_free_secure(&plain);
    free(b87);
    free(b88);
    free(b87b);
    free(b86);
    seg_free(&segs);
    if (rc != 0)
        bpp->len = start;
    return rc;
}
