/* ES2+ functions at the SM-DP+ (SGP.22 §5.3; addendum §2.3 - §2.10): pure logic over the store. */
#include "rsp/es2p.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rsp/act.h"
#include "rsp/buf.h"
#include "rsp/crypto.h"
#include "rsp/err.h"

#define CAS_TRIES 16 /* re-reads after lost races before giving up with an internal error */

/* ---- configuration and authentication ---- */

static int hex32(const char *s, uint8_t out[32])
{
    if (strlen(s) != 64)
        return RSP_ESYNTAX;
    for (size_t i = 0; i < 32; i++) {
        unsigned v = 0;
        for (size_t j = 0; j < 2; j++) {
            char c = s[2 * i + j];
            unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                         : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                         : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                                : 16u;
            if (d > 15)
                return RSP_ESYNTAX;
            v = v * 16 + d;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

static int copy_text(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        return RSP_ERANGE;
    memcpy(dst, src, n + 1);
    return 0;
}

int rsp_es2p_operator_parse(const char *spec, struct rsp_es2p_operator *out, char *err,
                            size_t err_len)
{
    char tmp[2048], msg[160] = "";
    if (!spec || !out)
        return RSP_EINVAL;
    memset(out, 0, sizeof *out);
    if (copy_text(tmp, sizeof tmp, spec))
        return RSP_ERANGE;
    char *save = NULL;
    int rc = 0;
    char *tok = strtok_r(tmp, " \t", &save);
    if (!tok || strchr(tok, '=') || copy_text(out->id, sizeof out->id, tok)) {
        snprintf(msg, sizeof msg, "operator: expected an id first");
        rc = RSP_ESYNTAX;
    }
    while (rc == 0 && (tok = strtok_r(NULL, " \t", &save)) != NULL) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            rc = RSP_ESYNTAX;
            break;
        }
        *eq = 0;
        const char *k = tok, *v = eq + 1;
        if (!strcmp(k, "token_sha256")) {
            rc = hex32(v, out->token_sha256);
            out->has_token = rc == 0;
        } else if (!strcmp(k, "cert_sha256")) {
            rc = hex32(v, out->cert_sha256);
            out->has_cert = rc == 0;
        } else if (!strcmp(k, "callback_url")) {
            rc = copy_text(out->callback_url, sizeof out->callback_url, v);
            if (rc == 0 && strncmp(v, "https://", 8) && strncmp(v, "http://", 7))
                rc = RSP_ESYNTAX;
        } else if (!strcmp(k, "callback_ca")) {
            rc = copy_text(out->callback_ca, sizeof out->callback_ca, v);
        } else {
            rc = RSP_ESYNTAX;
        }
        if (rc) {
            snprintf(msg, sizeof msg, "operator %s: bad or unknown attribute '%.40s'", out->id, k);
            rc = RSP_ESYNTAX;
        }
    }
    if (rc == 0 && !out->has_token && !out->has_cert) {
        snprintf(msg, sizeof msg, "operator %s: token_sha256 or cert_sha256 required", out->id);
        rc = RSP_ESYNTAX;
    }
    if (rc && err && err_len)
        snprintf(err, err_len, "%s", msg[0] ? msg : "operator: syntax error");
    return rc;
}

int rsp_es2p_authenticate(const struct rsp_es2p_operator *ops, size_t n_ops,
                          const char *authorization, const char *requester,
                          const struct rsp_es2p_operator **out, struct rsp_status_code *refusal)
{
    if (!out || (!ops && n_ops))
        return RSP_EINVAL;
    *out = NULL;
    const struct rsp_es2p_operator *by_token = NULL;
    if (authorization && strncmp(authorization, "Bearer ", 7) == 0) {
        const char *tok = authorization + 7;
        uint8_t h[32];
        int rc = rsp_sha256(tok, strlen(tok), h);
        if (rc)
            return rc;
        /* constant time per candidate; every operator is compared */
        for (size_t i = 0; i < n_ops; i++)
            if (ops[i].has_token && CRYPTO_memcmp(h, ops[i].token_sha256, 32) == 0)
                by_token = &ops[i];
        OPENSSL_cleanse(h, sizeof h);
    }
    if (!by_token) {
        rsp_sc_set(refusal, RSP_SC_REQUESTER_UNKNOWN);
        return 0;
    }
    if (!requester || strcmp(requester, by_token->id) != 0) {
        rsp_sc_set(refusal, RSP_SC_REQUESTER_NOT_ALLOWED);
        return 0;
    }
    *out = by_token;
    return 0;
}

/* ---- helpers ---- */

bool rsp_es2p_eid_valid(const char *eid)
{
    if (!eid || strlen(eid) != 32)
        return false;
    unsigned r = 0;
    for (size_t i = 0; i < 32; i++) {
        if (eid[i] < '0' || eid[i] > '9')
            return false;
        r = (r * 10 + (unsigned)(eid[i] - '0')) % 97;
    }
    return r == 1;
}

int rsp_es2p_matching_id_generate(char out[24])
{
    static const char cs[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    size_t n = 0;
    while (n < 20) {
        uint8_t b[32];
        int rc = rsp_random(b, sizeof b);
        if (rc)
            return rc;
        for (size_t i = 0; i < sizeof b && n < 20; i++)
            if (b[i] < 252) { /* 252 = 7 * 36: no modulo bias */
                size_t pos = n + n / 5;
                out[pos] = cs[b[i] % 36];
                n++;
                if (n % 5 == 0 && n < 20)
                    out[pos + 1] = '-';
            }
    }
    out[23] = 0;
    return 0;
}

static bool matching_id_valid(const char *m)
{
    if (!*m)
        return false;
    for (; *m; m++)
        if (!((*m >= '0' && *m <= '9') || (*m >= 'A' && *m <= 'Z') || *m == '-'))
            return false;
    return true;
}

static int refuse(struct rsp_es2_response *resp, enum rsp_sc id, const char *message)
{
    resp->status.status = RSP_ES_FAILED;
    resp->status.has_code = true;
    rsp_sc_set(&resp->status.code, id);
    if (message)
        snprintf(resp->status.code.message, sizeof resp->status.code.message, "%s", message);
    return 0;
}

/* The operator's profile, or RSP_ENOTFOUND also for another operator's (isolation). */
static int get_own(const struct rsp_es2p_ctx *ctx, const char *iccid, struct rsp_profile *p)
{
    int rc = rsp_store_profile_get(ctx->st, iccid, p);
    if (rc == 0 && strcmp(p->owner, ctx->op->id) != 0)
        rc = RSP_ENOTFOUND;
    return rc;
}

/* The order fields back to "no order". */
static void clear_order(struct rsp_profile *p)
{
    p->eid[0] = 0;
    p->matching_id[0] = 0;
    p->cc_set = false;
    memset(p->cc_hash, 0, sizeof p->cc_hash);
    p->cc_attempts = 0;
    p->cc_max_attempts = 0;
    p->download_attempts = 0;
    p->release_flag = false;
    p->smds_address[0] = 0;
    p->error_reason[0] = 0;
}

/* ---- DownloadOrder (§5.3.1; addendum §2.3) ---- */

static int download_order(const struct rsp_es2p_ctx *ctx,
                          const struct rsp_es2_download_order_req *r, struct rsp_es2_response *resp)
{
    if (r->eid[0] && !rsp_es2p_eid_valid(r->eid))
        return refuse(resp, RSP_SC_BAD_FORMAT, "Invalid EID (check digits)");
    for (int attempt = 0; attempt < CAS_TRIES; attempt++) {
        struct rsp_profile cur, next;
        int rc;
        if (r->iccid[0]) {
            rc = get_own(ctx, r->iccid, &cur);
            if (rc == RSP_ENOTFOUND)
                return refuse(resp, RSP_SC_ICCID_UNKNOWN, NULL);
            if (rc)
                return rc;
            if (r->profile_type[0] && strcmp(r->profile_type, cur.profile_type) != 0)
                return refuse(resp, RSP_SC_PROFILE_TYPE_MISMATCH, NULL);
            if (cur.state != RSP_PROFILE_AVAILABLE)
                return refuse(resp, RSP_SC_ICCID_IN_USE, NULL);
        } else {
            rc =
                rsp_store_profile_find_available_owned(ctx->st, r->profile_type, ctx->op->id, &cur);
            if (rc == RSP_ENOTFOUND)
                return refuse(resp, RSP_SC_PROFILE_TYPE_UNKNOWN, NULL);
            if (rc == RSP_ESTATE)
                return refuse(resp, RSP_SC_PROFILE_TYPE_EXHAUSTED, NULL);
            if (rc)
                return rc;
        }
        next = cur;
        clear_order(&next);
        memcpy(next.eid, r->eid, sizeof next.eid);
        next.state = r->eid[0] ? RSP_PROFILE_LINKED : RSP_PROFILE_ALLOCATED;
        rc = rsp_store_profile_update(ctx->st, &cur, &next, ctx->op->id, "ES2+.DownloadOrder");
        if (rc == RSP_ESTATE)
            continue; /* lost the race for this profile: decide again */
        if (rc)
            return rc;
        resp->status.status = RSP_ES_SUCCESS;
        memcpy(resp->u.download_order.iccid, next.iccid, sizeof next.iccid);
        return 0;
    }
    return RSP_ESTATE;
}

/* ---- branch ops: no release for a quarantined cohort (rsp/act.h) ---- */

/* 1 and resp filled when the profile's cohort (its activation order's campaign/TAC, the EUM of
 * the EID, the profile type) is quarantined; 0 to go ahead; negative on a store failure. */
static int quarantine_refusal(const struct rsp_es2p_ctx *ctx, const struct rsp_profile *p,
                              const char *eid, struct rsp_es2_response *resp)
{
    struct rsp_act_order o;
    int rc = rsp_act_order_by_iccid(ctx->st, p->iccid, &o);
    if (rc < 0 && rc != RSP_ENOTFOUND && rc != RSP_ESTATE)
        return rc;
    struct rsp_act_cohort c;
    rsp_act_cohort_of(rc == 0 ? &o : NULL, eid, p->profile_type, &c);
    struct rsp_act_quarantine q;
    rc = rsp_act_quarantined(ctx->st, &c, &q);
    if (rc == 1) {
        char msg[128];
        snprintf(msg, sizeof msg, "Cohort %s %.60s is quarantined (activation integrity)",
                 rsp_act_dim_name(q.dim), q.value);
        refuse(resp, RSP_SC_ICCID_NOT_ALLOWED, msg);
        return 1;
    }
    return rc == RSP_ESTATE ? 0 : rc;
}

/* ---- ConfirmOrder (§5.3.2; addendum §2.4, §2.10) ---- */

static int confirm_order(const struct rsp_es2p_ctx *ctx, const struct rsp_es2_confirm_order_req *r,
                         struct rsp_es2_response *resp)
{
    if (r->eid[0] && !rsp_es2p_eid_valid(r->eid))
        return refuse(resp, RSP_SC_BAD_FORMAT, "Invalid EID (check digits)");
    if (r->matching_id[0] && !matching_id_valid(r->matching_id))
        return refuse(resp, RSP_SC_BAD_FORMAT, "Invalid matchingId (0-9, A-Z, '-')");
    if (strlen(r->smds_address) > RSP_STORE_TEXT_MAX)
        return refuse(resp, RSP_SC_BAD_FORMAT, "smdsAddress too long");
    for (int attempt = 0; attempt < CAS_TRIES; attempt++) {
        struct rsp_profile cur, next;
        int rc = get_own(ctx, r->iccid, &cur);
        if (rc == RSP_ENOTFOUND)
            return refuse(resp, RSP_SC_ICCID_UNKNOWN, NULL);
        if (rc)
            return rc;
        if (cur.state != RSP_PROFILE_ALLOCATED && cur.state != RSP_PROFILE_LINKED)
            return refuse(resp, RSP_SC_ICCID_INVALID_TRANSITION, NULL);
        if (r->eid[0] && cur.eid[0] && strcmp(r->eid, cur.eid) != 0)
            return refuse(resp, RSP_SC_EID_OTHER, NULL);
        next = cur;
        if (!next.eid[0])
            memcpy(next.eid, r->eid, sizeof next.eid);
        if (r->smds_address[0] && !next.eid[0])
            return refuse(resp, RSP_SC_EID_MISSING, NULL);
        if (r->matching_id[0]) {
            memcpy(next.matching_id, r->matching_id, strlen(r->matching_id) + 1);
        } else {
            char m[24];
            if ((rc = rsp_es2p_matching_id_generate(m)) != 0)
                return rc;
            memcpy(next.matching_id, m, sizeof m);
        }
        next.cc_set = r->confirmation_code[0] != 0;
        memset(next.cc_hash, 0, sizeof next.cc_hash);
        if (next.cc_set &&
            (rc = rsp_sha256(r->confirmation_code, strlen(r->confirmation_code), next.cc_hash)))
            return rc;
        next.cc_attempts = 0;
        next.cc_max_attempts = next.cc_set ? (ctx->cc_max_attempts ? ctx->cc_max_attempts : 3) : 0;
        next.release_flag = r->release_flag;
        memcpy(next.smds_address, r->smds_address, strlen(r->smds_address) + 1);
        next.state = r->release_flag ? RSP_PROFILE_RELEASED : RSP_PROFILE_CONFIRMED;
        if (r->release_flag && (rc = quarantine_refusal(ctx, &next, next.eid, resp)) != 0)
            return rc > 0 ? 0 : rc;
        rc = rsp_store_profile_update(ctx->st, &cur, &next, ctx->op->id, "ES2+.ConfirmOrder");
        if (rc == RSP_ESTATE) {
            /* Either a race (the row changed) or the unique matchingId index refused it. */
            struct rsp_profile now;
            int rc2 = get_own(ctx, r->iccid, &now);
            if (rc2 == 0 && now.version == cur.version && now.state == cur.state) {
                if (r->matching_id[0])
                    return refuse(resp, RSP_SC_MATCHING_ID_IN_USE, NULL);
                /* a generated one collided: draw again */
            }
            continue;
        }
        if (rc)
            return rc;
        resp->status.status = RSP_ES_SUCCESS;
        memcpy(resp->u.confirm_order.eid, next.eid, sizeof next.eid);
        memcpy(resp->u.confirm_order.matching_id, next.matching_id, sizeof next.matching_id);
        if (ctx->smdp_address)
            snprintf(resp->u.confirm_order.smdp_address, sizeof resp->u.confirm_order.smdp_address,
                     "%s", ctx->smdp_address);
        return 0;
    }
    return RSP_ESTATE;
}

/* ---- CancelOrder (§5.3.3; addendum §2.5) ---- */

static int cancel_order(const struct rsp_es2p_ctx *ctx, const struct rsp_es2_cancel_order_req *r,
                        struct rsp_es2_response *resp)
{
    for (int attempt = 0; attempt < CAS_TRIES; attempt++) {
        struct rsp_profile cur, next;
        int rc = get_own(ctx, r->iccid, &cur);
        if (rc == RSP_ENOTFOUND)
            return refuse(resp, RSP_SC_ICCID_UNKNOWN, NULL);
        if (rc)
            return rc;
        switch (cur.state) {
        case RSP_PROFILE_DOWNLOADED:
        case RSP_PROFILE_INSTALLED:
            return refuse(resp, RSP_SC_ICCID_IN_USE, "Profile already downloaded");
        case RSP_PROFILE_AVAILABLE:
        case RSP_PROFILE_UNAVAILABLE:
            return refuse(resp, RSP_SC_ICCID_INVALID_TRANSITION, "No order to cancel");
        default:
            break;
        }
        if (cur.eid[0] && !r->eid[0])
            return refuse(resp, RSP_SC_MISSING_ELEMENT, "eid is associated with this order");
        if (cur.eid[0] && strcmp(cur.eid, r->eid) != 0)
            return refuse(resp, RSP_SC_ICCID_OTHER_EID, NULL);
        if (cur.matching_id[0] && !r->matching_id[0])
            return refuse(resp, RSP_SC_MISSING_ELEMENT, "matchingId is associated with this order");
        if (cur.matching_id[0] && strcmp(cur.matching_id, r->matching_id) != 0)
            return refuse(resp, RSP_SC_MATCHING_ID_OTHER, NULL);
        next = cur;
        clear_order(&next);
        next.state = r->final_status == RSP_ES2_FINAL_AVAILABLE ? RSP_PROFILE_AVAILABLE
                                                                : RSP_PROFILE_UNAVAILABLE;
        rc = rsp_store_profile_update(ctx->st, &cur, &next, ctx->op->id, "ES2+.CancelOrder");
        if (rc == RSP_ESTATE)
            continue;
        if (rc)
            return rc;
        resp->status.status = RSP_ES_SUCCESS;
        return 0;
    }
    return RSP_ESTATE;
}

/* ---- ReleaseProfile (§5.3.4; addendum §2.6) ---- */

static int release_profile(const struct rsp_es2p_ctx *ctx,
                           const struct rsp_es2_release_profile_req *r,
                           struct rsp_es2_response *resp)
{
    for (int attempt = 0; attempt < CAS_TRIES; attempt++) {
        struct rsp_profile cur, next;
        int rc = get_own(ctx, r->iccid, &cur);
        if (rc == RSP_ENOTFOUND)
            return refuse(resp, RSP_SC_ICCID_UNKNOWN, NULL);
        if (rc)
            return rc;
        if (cur.state == RSP_PROFILE_RELEASED) { /* already released: success, nothing done */
            resp->status.status = RSP_ES_SUCCESS;
            return 0;
        }
        if (cur.state != RSP_PROFILE_CONFIRMED)
            return refuse(resp, RSP_SC_ICCID_INVALID_TRANSITION, NULL);
        next = cur;
        next.release_flag = true;
        next.state = RSP_PROFILE_RELEASED;
        if ((rc = quarantine_refusal(ctx, &next, next.eid, resp)) != 0)
            return rc > 0 ? 0 : rc;
        rc = rsp_store_profile_update(ctx->st, &cur, &next, ctx->op->id, "ES2+.ReleaseProfile");
        if (rc == RSP_ESTATE)
            continue;
        if (rc)
            return rc;
        resp->status.status = RSP_ES_SUCCESS;
        return 0;
    }
    return RSP_ESTATE;
}

int rsp_es2p_handle(const struct rsp_es2p_ctx *ctx, const struct rsp_es2_request *req,
                    struct rsp_es2_response *resp)
{
    if (!ctx || !ctx->st || !ctx->op || !req || !resp)
        return RSP_EINVAL;
    memset(resp, 0, sizeof *resp);
    resp->fn = req->fn;
    switch (req->fn) {
    case RSP_ES2_DOWNLOAD_ORDER:
        return download_order(ctx, &req->u.download_order, resp);
    case RSP_ES2_CONFIRM_ORDER:
        return confirm_order(ctx, &req->u.confirm_order, resp);
    case RSP_ES2_CANCEL_ORDER:
        return cancel_order(ctx, &req->u.cancel_order, resp);
    case RSP_ES2_RELEASE_PROFILE:
        return release_profile(ctx, &req->u.release_profile, resp);
    default:
        return RSP_EINVAL;
    }
}

/* ---- HandleDownloadProgressInfo enqueue (§5.3.5; addendum §2.7) ---- */

int rsp_es2p_notify_enqueue(struct rsp_store *st, const struct rsp_es2p_operator *op,
                            const char *requester, const struct rsp_profile *p, int point,
                            const struct rsp_es_exec_status *status, const uint8_t *result_data,
                            size_t result_len, int64_t now)
{
    if (!st || !op || !requester || !p || !status || (!result_data && result_len))
        return RSP_EINVAL;
    if (!op->callback_url[0])
        return 0;
    struct rsp_es2_request req;
    memset(&req, 0, sizeof req);
    req.fn = RSP_ES2_HANDLE_DOWNLOAD_PROGRESS_INFO;
    snprintf(req.header.function_requester_identifier,
             sizeof req.header.function_requester_identifier, "%s", requester);
    uint8_t rnd[8];
    int rc = rsp_random(rnd, sizeof rnd);
    if (rc)
        return rc;
    char rhex[17];
    rsp_hex_str(rhex, rnd, sizeof rnd, 1);
    snprintf(req.header.function_call_identifier, sizeof req.header.function_call_identifier,
             "HDPI-%lld-%s", (long long)now, rhex);
    struct rsp_es2_hdpi_req *h = &req.u.hdpi;
    memcpy(h->eid, p->eid, sizeof h->eid);
    memcpy(h->iccid, p->iccid, sizeof h->iccid);
    snprintf(h->profile_type, sizeof h->profile_type, "%s", p->profile_type);
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(h->timestamp, sizeof h->timestamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    h->notification_point_id = point;
    h->notification_point_status = *status;
    if (result_len && (rc = rsp_buf_append(&h->result_data, result_data, result_len)) != 0)
        return rc;
    struct rsp_buf body = {0};
    rc = rsp_es2_encode_request(&req, &body);
    rsp_es2_request_free(&req);
    struct rsp_outbox_item it;
    memset(&it, 0, sizeof it);
    if (rc == 0 && body.len >= sizeof it.body)
        rc = RSP_ERANGE;
    if (rc == 0) {
        memcpy(it.iccid, p->iccid, sizeof it.iccid);
        snprintf(it.url, sizeof it.url, "%s", op->callback_url);
        memcpy(it.body, body.data, body.len);
        it.body[body.len] = 0;
        it.next_attempt_at = now;
        rc = rsp_store_outbox_add(st, &it);
    }
    rsp_buf_free(&body);
    return rc;
}
