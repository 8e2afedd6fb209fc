/* ES10b (LPA side): challenge, eUICC info, common mutual authentication, download preparation,
 * LoadBoundProfilePackage segmentation, cancel session, notifications. */
#include <string.h>

#include "lpa_int.h"
#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/lpa.h"

static int send_empty(struct rsp_es10 *s, rsp_tag tag, struct rsp_buf *raw)
{
    struct rsp_buf cmd = RSP_BUF_INIT;
    int rc = rsp_es10_empty_encode(tag, &cmd);
    if (rc != 0) {
        rsp_buf_free(&cmd);
        return rc;
    }
    return rsp_lpa_xfer(s, &cmd, raw);
}

int rsp_lpa_get_challenge(struct rsp_es10 *s, uint8_t challenge[RSP_ES10_CHALLENGE_LEN])
{
    if (!s || !challenge)
        return RSP_EINVAL;
    struct rsp_buf raw = RSP_BUF_INIT;
    int rc = send_empty(s, RSP_ES10_TAG_EUICC_CHALLENGE, &raw);
    if (rc == 0)
        rc = rsp_es10_challenge_decode(raw.data, raw.len, challenge);
    rsp_buf_free(&raw);
    return rc;
}

int rsp_lpa_get_euicc_info1(struct rsp_es10 *s, struct rsp_buf *raw, struct rsp_euicc_info1 *out)
{
    if (!s || !raw)
        return RSP_EINVAL;
    int rc = send_empty(s, RSP_ES10_TAG_EUICC_INFO1, raw);
    if (rc != 0)
        return rc;
    struct rsp_euicc_info1 tmp;
    return rsp_euicc_info1_decode(raw->data, raw->len, out ? out : &tmp);
}

int rsp_lpa_get_euicc_info2(struct rsp_es10 *s, struct rsp_buf *raw, struct rsp_euicc_info2 *out)
{
    if (!s || !raw)
        return RSP_EINVAL;
    int rc = send_empty(s, RSP_ES10_TAG_EUICC_INFO2, raw);
    if (rc != 0)
        return rc;
    struct rsp_euicc_info2 tmp;
    return rsp_euicc_info2_decode(raw->data, raw->len, out ? out : &tmp);
}

/* Appends a whole TLV given by the caller after checking it is one TLV of tag `tag`. */
static int put_tlv(struct rsp_buf *b, const struct rsp_sgp22_bytes *v, rsp_tag tag)
{
    struct rsp_tlv t;
    if (!v->p || v->len == 0 || rsp_der_parse_one(v->p, v->len, &t) != 0 || t.tag != tag)
        return RSP_EINVAL;
    return rsp_buf_append(b, v->p, v->len);
}

int rsp_lpa_authenticate_server(struct rsp_es10 *s, const struct rsp_lpa_auth_input *in,
                                const struct rsp_lpa_device *dev, struct rsp_buf *raw,
                                struct rsp_sgp22_authenticate_server_response *out)
{
    if (!s || !in || !dev || !raw)
        return RSP_EINVAL;
    struct rsp_sgp22_ctx_params1 ctx;
    memset(&ctx, 0, sizeof ctx);
    if (dev->matching_id) {
        ctx.has_matching_id = true;
        ctx.matching_id.p = (const uint8_t *)dev->matching_id;
        ctx.matching_id.len = strlen(dev->matching_id);
    }
    ctx.tac.p = dev->tac;
    ctx.tac.len = sizeof dev->tac;
    /* deviceCapabilities: E-UTRAN release 15 (what a current handset reports). */
    static const uint8_t eutran[3] = {15, 0, 0};
    ctx.caps.n = 1;
    ctx.caps.cap[0].tag = 0x80 + RSP_SGP22_DEVCAP_EUTRAN;
    ctx.caps.cap[0].value.p = eutran;
    ctx.caps.cap[0].value.len = sizeof eutran;
    if (dev->has_imei) {
        ctx.has_imei = true;
        ctx.imei.p = dev->imei;
        ctx.imei.len = sizeof dev->imei;
    }
    struct rsp_buf cmd = RSP_BUF_INIT;
    size_t m = rsp_der_begin(&cmd, 0xBF38);
    int rc;
    if ((rc = put_tlv(&cmd, &in->server_signed1, 0x30)) != 0 ||
        (rc = put_tlv(&cmd, &in->server_signature1, 0x5F37)) != 0 ||
        (rc = put_tlv(&cmd, &in->euicc_ci_pkid, 0x04)) != 0 ||
        (rc = put_tlv(&cmd, &in->server_certificate, 0x30)) != 0 ||
        (rc = rsp_sgp22_ctx_params1_encode(&ctx, &cmd)) != 0 || (rc = rsp_der_end(&cmd, m)) != 0) {
        rsp_buf_free(&cmd);
        return rc;
    }
    if ((rc = rsp_lpa_xfer(s, &cmd, raw)) != 0)
        return rc;
    struct rsp_sgp22_authenticate_server_response tmp;
    return rsp_sgp22_authenticate_server_response_decode(raw->data, raw->len, out ? out : &tmp);
}

int rsp_lpa_prepare_download(struct rsp_es10 *s, const struct rsp_lpa_prepare_input *in,
                             struct rsp_buf *raw, struct rsp_sgp22_prepare_download_response *out)
{
    if (!s || !in || !raw)
        return RSP_EINVAL;
    struct rsp_buf cmd = RSP_BUF_INIT;
    size_t m = rsp_der_begin(&cmd, 0xBF21);
    int rc;
    if ((rc = put_tlv(&cmd, &in->smdp_signed2, 0x30)) != 0 ||
        (rc = put_tlv(&cmd, &in->smdp_signature2, 0x5F37)) != 0 ||
        (in->hash_cc && (rc = rsp_der_put(&cmd, 0x04, in->hash_cc, RSP_SGP22_HASHCC_LEN)) != 0) ||
        (rc = put_tlv(&cmd, &in->smdp_certificate, 0x30)) != 0 ||
        (rc = rsp_der_end(&cmd, m)) != 0) {
        rsp_buf_free(&cmd);
        return rc;
    }
    if ((rc = rsp_lpa_xfer(s, &cmd, raw)) != 0)
        return rc;
    struct rsp_sgp22_prepare_download_response tmp;
    return rsp_sgp22_prepare_download_response_decode(raw->data, raw->len, out ? out : &tmp);
}

int rsp_lpa_cancel_session(struct rsp_es10 *s, const uint8_t *tid, size_t tid_len, int reason,
                           struct rsp_buf *raw, struct rsp_sgp22_cancel_session_response *out)
{
    if (!s || !tid || tid_len == 0 || tid_len > RSP_SGP22_TID_MAX || !raw || reason < 0)
        return RSP_EINVAL;
    struct rsp_sgp22_cancel_session_request req;
    memset(&req, 0, sizeof req);
    req.transaction_id.p = tid;
    req.transaction_id.len = tid_len;
    req.reason = reason;
    struct rsp_buf cmd = RSP_BUF_INIT;
    int rc = rsp_sgp22_cancel_session_request_encode(&req, &cmd);
    if (rc != 0) {
        rsp_buf_free(&cmd);
        return rc;
    }
    if ((rc = rsp_lpa_xfer(s, &cmd, raw)) != 0)
        return rc;
    struct rsp_sgp22_cancel_session_response tmp;
    return rsp_sgp22_cancel_session_response_decode(raw->data, raw->len, out ? out : &tmp);
}

/* ---- LoadBoundProfilePackage ---- */

struct seg_walk {
    struct rsp_es10 *s;
    struct rsp_buf *raw;
    size_t n, index, max_len;
    bool dry;    /* only count and measure */
    size_t skip; /* segments loaded by an earlier run: not sent again */
    rsp_lpa_progress_fn progress, acked;
    void *progress_ctx;
    bool answered;
};

/* 0: continue; 1: the eUICC answered (stop); negative: failure. */
static int seg(struct seg_walk *w, const uint8_t *p, size_t len)
{
    if (w->dry) {
        w->n++;
        if (len > w->max_len)
            w->max_len = len;
        return 0;
    }
    w->index++;
    if (w->index <= w->skip)
        return 0;
    if (w->progress)
        w->progress(w->progress_ctx, w->index, w->n);
    int rc = rsp_es10_transceive(w->s, p, len, w->raw);
    if (rc != 0)
        return rc;
    if (w->raw->len) {
        w->answered = true;
        return 1;
    }
    if (w->acked)
        w->acked(w->progress_ctx, w->index, w->n);
    return 0;
}

static size_t hdr_len(const struct rsp_tlv *t)
{
    return (size_t)(t->val - t->raw);
}

static int walk_list(struct seg_walk *w, const struct rsp_tlv *list)
{
    int rc = seg(w, list->raw, hdr_len(list));
    if (rc != 0)
        return rc;
    struct rsp_der_iter it;
    struct rsp_tlv t;
    rsp_der_iter_value(&it, list);
    while ((rc = rsp_sgp22_bpp_next(&it, &t)) == 1)
        if ((rc = seg(w, t.raw, t.raw_len)) != 0)
            return rc;
    return rc;
}

static int walk(struct seg_walk *w, const struct rsp_sgp22_bpp *b)
{
    int rc;
    if ((rc = seg(w, b->raw.raw, hdr_len(&b->raw) + b->init_secure_channel.raw.raw_len)) != 0 ||
        (rc = seg(w, b->first87.raw, b->first87.raw_len)) != 0 ||
        (rc = walk_list(w, &b->seq88)) != 0 ||
        (b->has_second87 && (rc = seg(w, b->second87.raw, b->second87.raw_len)) != 0))
        return rc;
    return walk_list(w, &b->seq86);
}

int rsp_lpa_load_bpp(struct rsp_es10 *s, const uint8_t *bpp, size_t len, struct rsp_buf *raw,
                     struct rsp_sgp22_pir *pir, size_t *sent, rsp_lpa_progress_fn progress,
                     void *progress_ctx)
{
    struct rsp_lpa_load_opts o = {.progress = progress, .ctx = progress_ctx};
    return rsp_lpa_load_bpp_ex(s, bpp, len, &o, raw, pir, sent);
}

int rsp_lpa_bpp_segments(const uint8_t *bpp, size_t len, size_t *n)
{
    if (!bpp || !n)
        return RSP_EINVAL;
    struct rsp_sgp22_bpp b;
    int rc = rsp_sgp22_bpp_decode(bpp, len, &b);
    if (rc != 0)
        return rc;
    struct seg_walk w = {.dry = true};
    if ((rc = walk(&w, &b)) != 0)
        return rc;
    *n = w.n;
    return 0;
}

int rsp_lpa_load_bpp_ex(struct rsp_es10 *s, const uint8_t *bpp, size_t len,
                        const struct rsp_lpa_load_opts *o, struct rsp_buf *raw,
                        struct rsp_sgp22_pir *pir, size_t *sent)
{
    if (sent)
        *sent = 0;
    if (!s || !bpp || !raw || !pir || !o)
        return RSP_EINVAL;
    struct rsp_sgp22_bpp b;
    int rc = rsp_sgp22_bpp_decode(bpp, len, &b);
    if (rc != 0)
        return rc;
    /* Measure first: a segment that needs more than 256 STORE DATA blocks cannot be sent, and
     * finding out half-way would leave the eUICC with a partial installation. */
    struct seg_walk w = {.s = s, .raw = raw, .dry = true};
    if ((rc = walk(&w, &b)) != 0)
        return rc;
    size_t block = s->block_size ? s->block_size : RSP_ES10_BLOCK_DEFAULT;
    if (w.max_len > 256 * block)
        return RSP_ERANGE;
    if (o->skip >= w.n)
        return RSP_EINVAL;
    w.dry = false;
    w.skip = o->skip;
    w.progress = o->progress;
    w.acked = o->acked;
    w.progress_ctx = o->ctx;
    rc = walk(&w, &b);
    if (sent)
        *sent = w.index > w.skip ? w.index - w.skip : 0;
    if (rc < 0)
        return rc;
    if (!w.answered)
        return RSP_EMISSING;
    return rsp_sgp22_pir_decode(raw->data, raw->len, pir);
}

/* ---- notifications ---- */

int rsp_lpa_list_notifications(struct rsp_es10 *s, const struct rsp_es10_list_notif_req *req,
                               struct rsp_buf *raw, struct rsp_es10_notif_list *out)
{
    if (!s || !raw)
        return RSP_EINVAL;
    struct rsp_es10_list_notif_req all = {0};
    struct rsp_buf cmd = RSP_BUF_INIT;
    int rc = rsp_es10_list_notif_req_encode(req ? req : &all, &cmd);
    if (rc != 0) {
        rsp_buf_free(&cmd);
        return rc;
    }
    if ((rc = rsp_lpa_xfer(s, &cmd, raw)) != 0)
        return rc;
    struct rsp_es10_notif_list tmp;
    return rsp_es10_list_notif_resp_decode(raw->data, raw->len, out ? out : &tmp);
}

int rsp_lpa_retrieve_notifications(struct rsp_es10 *s,
                                   const struct rsp_es10_retrieve_notif_req *req,
                                   struct rsp_buf *raw, struct rsp_es10_notif_list *out)
{
    if (!s || !raw)
        return RSP_EINVAL;
    struct rsp_es10_retrieve_notif_req all = {.kind = RSP_ES10_RETRIEVE_ALL};
    struct rsp_buf cmd = RSP_BUF_INIT;
    int rc = rsp_es10_retrieve_notif_req_encode(req ? req : &all, &cmd);
    if (rc != 0) {
        rsp_buf_free(&cmd);
        return rc;
    }
    if ((rc = rsp_lpa_xfer(s, &cmd, raw)) != 0)
        return rc;
    struct rsp_es10_notif_list tmp;
    return rsp_es10_retrieve_notif_resp_decode(raw->data, raw->len, out ? out : &tmp);
}

int rsp_lpa_remove_notification(struct rsp_es10 *s, uint64_t seq_number, int *result)
{
    if (!s || !result)
        return RSP_EINVAL;
    struct rsp_buf cmd = RSP_BUF_INIT, resp = RSP_BUF_INIT;
    int rc = rsp_es10_notif_sent_req_encode(seq_number, &cmd);
    if (rc != 0) {
        rsp_buf_free(&cmd);
        return rc;
    }
    if ((rc = rsp_lpa_xfer(s, &cmd, &resp)) == 0) {
        enum rsp_notification_sent_result r;
        if ((rc = rsp_es10_notif_sent_resp_decode(resp.data, resp.len, &r)) == 0)
            *result = (int)r;
    }
    rsp_buf_free(&resp);
    return rc;
}
