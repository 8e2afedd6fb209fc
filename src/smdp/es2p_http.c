/* ES2+ over HTTP: decode (rsp/es2p_json.h), authenticate, rsp_es2p_handle, encode. */
#include <stdio.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/es2p.h"
#include "rsp/es2p_json.h"
#include "rsp/http_server.h"

static void set_outcome(struct rsp_http_response *resp, const struct rsp_es_exec_status *st)
{
    if (st->status == RSP_ES_FAILED && st->has_code)
        snprintf(resp->log_outcome, sizeof resp->log_outcome, "Failed %s/%s", st->code.subject,
                 st->code.reason);
    else
        snprintf(resp->log_outcome, sizeof resp->log_outcome, "Executed-Success");
}

static int refuse(struct rsp_http_response *resp, const struct rsp_status_code *code)
{
    snprintf(resp->log_outcome, sizeof resp->log_outcome, "Failed %s/%s", code->subject,
             code->reason);
    return rsp_es_encode_failure(code, &resp->body);
}

/* The ICCID and EID an ES2+ exchange concerns (request, else response). */
static void concerns(const struct rsp_es2_request *r, const struct rsp_es2_response *out,
                     const char **iccid, const char **eid)
{
    *iccid = *eid = "";
    switch (r->fn) {
    case RSP_ES2_DOWNLOAD_ORDER:
        *iccid = r->u.download_order.iccid[0] || !out ? r->u.download_order.iccid
                                                      : out->u.download_order.iccid;
        *eid = r->u.download_order.eid;
        break;
    case RSP_ES2_CONFIRM_ORDER:
        *iccid = r->u.confirm_order.iccid;
        *eid =
            r->u.confirm_order.eid[0] || !out ? r->u.confirm_order.eid : out->u.confirm_order.eid;
        break;
    case RSP_ES2_CANCEL_ORDER:
        *iccid = r->u.cancel_order.iccid;
        *eid = r->u.cancel_order.eid;
        break;
    case RSP_ES2_RELEASE_PROFILE:
        *iccid = r->u.release_profile.iccid;
        break;
    default:
        break;
    }
}

/* One audit record per ES2+ request that names a function: who (the authenticated operator, or
 * "unauthenticated"), which profile, the pseudonym of the EID, the outcome and its code, and the
 * operator's functionCallIdentifier for correlation. */
static int audit_outcome(struct rsp_store *st, enum rsp_es2_function fn, const char *actor,
                         const char *iccid, const char *eid, const char *call_id,
                         enum rsp_es_status status, const struct rsp_status_code *code,
                         char subject[RSP_AUDIT_SUBJECT_MAX + 1])
{
    char reason[240];
    rsp_store_subject(st, RSP_PSEUDONYM_EID, eid, subject);
    if (code)
        snprintf(reason, sizeof reason, "%s %s/%s %.60s; functionCallIdentifier %.64s",
                 rsp_es2_function_name(fn), code->subject, code->reason, code->message,
                 call_id ? call_id : "");
    else
        snprintf(reason, sizeof reason, "%s; functionCallIdentifier %.64s",
                 rsp_es2_function_name(fn), call_id ? call_id : "");
    struct rsp_audit_entry e;
    rsp_audit_entry_set(&e, "es2p", iccid && *iccid ? iccid : "-", "", rsp_es_status_name(status),
                        actor, subject, reason);
    return rsp_store_audit_append(st, &e);
}

static int es2p_call(const struct rsp_es2p_http_ctx *hc, struct rsp_store *st,
                     enum rsp_es2_function fn, const struct rsp_http_request *req,
                     struct rsp_http_response *resp);

int rsp_es2p_http_handler(void *ctx, const struct rsp_http_request *req,
                          struct rsp_http_response *resp)
{
    const struct rsp_es2p_http_ctx *hc = ctx;
    if (!hc || !req || !resp || !req->path)
        return RSP_EINVAL;
    size_t plen = strlen(RSP_ES2P_PATH_PREFIX);
    enum rsp_es2_function fn;
    if (strncmp(req->path, RSP_ES2P_PATH_PREFIX, plen) != 0 ||
        rsp_es2_function_from_name(req->path + plen, &fn) != 0 ||
        fn == RSP_ES2_HANDLE_DOWNLOAD_PROGRESS_INFO)
        return refuse(resp, rsp_sc(RSP_SC_UNKNOWN_FUNCTION));

    struct rsp_store *st = NULL;
    int rc = rsp_store_pool_get(hc->stores, &st);
    if (rc)
        return rc;
    /* the call's changes and its audit record commit together (rsp_store_call_begin) */
    if ((rc = rsp_store_call_begin(st)) != 0)
        return rc;
    rc = es2p_call(hc, st, fn, req, resp);
    int committed = rsp_store_call_end(st, rc == 0);
    return rc ? rc : committed;
}

static int es2p_call(const struct rsp_es2p_http_ctx *hc, struct rsp_store *st,
                     enum rsp_es2_function fn, const struct rsp_http_request *req,
                     struct rsp_http_response *resp)
{
    int rc;
    char subject[RSP_AUDIT_SUBJECT_MAX + 1];
    struct rsp_es2_request r;
    struct rsp_status_code refusal;
    memset(&refusal, 0, sizeof refusal);
    if (rsp_es2_decode_request(fn, (const char *)req->body, req->body_len, &r, &refusal) != 0) {
        rc = audit_outcome(st, fn, "unauthenticated", "", "", "", RSP_ES_FAILED, &refusal, subject);
        return rc ? rc : refuse(resp, &refusal);
    }
    snprintf(resp->log_call_id, sizeof resp->log_call_id, "%.64s",
             r.header.function_call_identifier);
    const char *iccid, *eid;
    concerns(&r, NULL, &iccid, &eid);
    const struct rsp_es2p_operator *op = NULL;
    rc = rsp_es2p_authenticate(hc->ops, hc->n_ops, req->authorization,
                               r.header.function_requester_identifier, &op, &refusal);
    if (rc == 0 && !op) {
        char actor[RSP_AUDIT_ACTOR_MAX + 1];
        snprintf(actor, sizeof actor, "unauthenticated:%.40s",
                 r.header.function_requester_identifier);
        rc = audit_outcome(st, fn, actor, iccid, eid, r.header.function_call_identifier,
                           RSP_ES_FAILED, &refusal, subject);
        rsp_http_log_subject(resp, subject);
        rsp_es2_request_free(&r);
        return rc ? rc : refuse(resp, &refusal);
    }
    struct rsp_es2_response out;
    if (rc == 0) {
        struct rsp_es2p_ctx ec = {st, op, hc->smdp_address, hc->cc_max_attempts};
        rc = rsp_es2p_handle(&ec, &r, &out);
    }
    if (rc == 0) {
        concerns(&r, &out, &iccid, &eid);
        const struct rsp_es_exec_status *o = &out.status;
        rc = audit_outcome(st, fn, op->id, iccid, eid, r.header.function_call_identifier, o->status,
                           o->has_code ? &o->code : NULL, subject);
        rsp_http_log_subject(resp, subject);
        set_outcome(resp, o);
    }
    if (rc == 0)
        rc = rsp_es2_encode_response(&out, &resp->body);
    rsp_es2_request_free(&r);
    return rc;
}
