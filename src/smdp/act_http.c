/* The ES2+-style push hand-over endpoint (rsp/act.h): POST RSP_ACT_PUSH_PATH on the ES2+
 * listener, authenticated like the ES2+ functions (Bearer token of an `operator` line, whose id
 * must be the functionRequesterIdentifier), records that an activation token was handed to a
 * channel.
 *
 * Request:  {"header":{"functionRequesterIdentifier":OP,"functionCallIdentifier":ID},
 *            "matchingId":MID, "channel":"email"|"sms"|"app"|"other", "channelReference":REF}
 * Response: ES2+ envelope; on success also "pushId". Refusals: 1.3.1/2.1 malformed, 1.3.1/2.2
 * missing element, 8.2.6/3.9 unknown matchingId (also another operator's), 8.2.6/3.8 revoked. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rsp/act.h"
#include "rsp/err.h"
#include "rsp/es2p.h"
#include "rsp/es2p_json.h"
#include "rsp/http_server.h"

static int fail(struct rsp_http_response *resp, const char *subject, const char *reason,
                const char *msg)
{
    struct rsp_status_code c;
    memset(&c, 0, sizeof c);
    snprintf(c.subject, sizeof c.subject, "%s", subject);
    snprintf(c.reason, sizeof c.reason, "%s", reason);
    snprintf(c.message, sizeof c.message, "%s", msg);
    snprintf(resp->log_outcome, sizeof resp->log_outcome, "Failed %s/%s", subject, reason);
    return rsp_es_encode_failure(&c, &resp->body);
}

static const char *str(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int rsp_act_push_http_handler(void *ctx, const struct rsp_http_request *req,
                              struct rsp_http_response *resp)
{
    const struct rsp_es2p_http_ctx *hc = ctx;
    if (!hc || !req || !resp)
        return RSP_EINVAL;
    json_error_t jerr;
    json_t *root =
        json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return fail(resp, "1.3.1", "2.1", "Body is not a JSON object");
    }
    json_t *hdr = json_object_get(root, "header");
    const char *requester = json_is_object(hdr) ? str(hdr, "functionRequesterIdentifier") : NULL;
    const char *call = json_is_object(hdr) ? str(hdr, "functionCallIdentifier") : NULL;
    const char *mid = str(root, "matchingId"), *channel = str(root, "channel"),
               *ref = str(root, "channelReference");
    int rc = 0;
    if (!requester || !call || !mid || !channel || !ref) {
        rc =
            fail(resp, "1.3.1", "2.2", "header, matchingId, channel and channelReference required");
        goto out;
    }
    snprintf(resp->log_call_id, sizeof resp->log_call_id, "%.64s", call);
    const struct rsp_es2p_operator *op = NULL;
    struct rsp_status_code refusal;
    rc = rsp_es2p_authenticate(hc->ops, hc->n_ops, req->authorization, requester, &op, &refusal);
    if (rc == 0 && !op) {
        snprintf(resp->log_outcome, sizeof resp->log_outcome, "Failed %s/%s", refusal.subject,
                 refusal.reason);
        rc = rsp_es_encode_failure(&refusal, &resp->body);
        goto out;
    }
    if (rc)
        goto out;
    struct rsp_store *st = NULL;
    if ((rc = rsp_store_pool_get(hc->stores, &st)) != 0)
        goto out;
    /* Isolation: another operator's order answers like an unknown one. */
    struct rsp_act_token t;
    struct rsp_act_order o;
    if (rsp_act_token_get(st, mid, &t) != 0 || rsp_act_order_get(st, t.order_id, &o) != 0 ||
        (o.operator_[0] && strcmp(o.operator_, op->id) != 0)) {
        rc = fail(resp, "8.2.6", "3.9", "Unknown matchingId");
        goto out;
    }
    char actor[RSP_AUDIT_ACTOR_MAX + 1];
    snprintf(actor, sizeof actor, "%s", op->id);
    int64_t id = 0;
    int r = rsp_act_push_record(st, mid, channel, ref, actor, (int64_t)time(NULL), &id);
    if (r == RSP_EINVAL) {
        rc = fail(resp, "1.3.1", "2.1",
                  "channel: email, sms, app or other; channelReference: up to 64 printable");
    } else if (r == RSP_ESTATE) {
        rc = fail(resp, "8.2.6", "3.8", "Activation token revoked");
    } else if (r == RSP_ENOTFOUND) {
        rc = fail(resp, "8.2.6", "3.9", "Unknown matchingId");
    } else if (r) {
        rc = r;
    } else {
        char body[160];
        snprintf(body, sizeof body,
                 "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Executed-Success\"}},"
                 "\"pushId\":%lld}",
                 (long long)id);
        snprintf(resp->log_outcome, sizeof resp->log_outcome, "Executed-Success");
        rc = rsp_buf_append(&resp->body, body, strlen(body));
    }
out:
    json_decref(root);
    return rc;
}
