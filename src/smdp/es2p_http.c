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

    struct rsp_es2_request r;
    struct rsp_status_code refusal;
    memset(&refusal, 0, sizeof refusal);
    if (rsp_es2_decode_request(fn, (const char *)req->body, req->body_len, &r, &refusal) != 0)
        return refuse(resp, &refusal);
    snprintf(resp->log_call_id, sizeof resp->log_call_id, "%.64s",
             r.header.function_call_identifier);
    const struct rsp_es2p_operator *op = NULL;
    int rc = rsp_es2p_authenticate(hc->ops, hc->n_ops, req->authorization,
                                   r.header.function_requester_identifier, &op, &refusal);
    if (rc == 0 && !op) {
        rsp_es2_request_free(&r);
        return refuse(resp, &refusal);
    }
    struct rsp_store *st = NULL;
    if (rc == 0)
        rc = rsp_store_pool_get(hc->stores, &st);
    struct rsp_es2_response out;
    if (rc == 0) {
        struct rsp_es2p_ctx ec = {st, op, hc->smdp_address, hc->cc_max_attempts};
        rc = rsp_es2p_handle(&ec, &r, &out);
    }
    if (rc == 0) {
        if (fn == RSP_ES2_DOWNLOAD_ORDER)
            rsp_http_log_eid(resp, r.u.download_order.eid);
        else if (fn == RSP_ES2_CONFIRM_ORDER)
            rsp_http_log_eid(resp, out.u.confirm_order.eid);
        set_outcome(resp, &out.status);
        rc = rsp_es2_encode_response(&out, &resp->body);
    }
    rsp_es2_request_free(&r);
    return rc;
}
