/* Reconciliation events pushed over HTTP (rsp/recon.h): POST RSP_RECON_HTTP_PATH on the ES2+
 * listener, authenticated like ES2+ (the operator's bearer token and its
 * functionRequesterIdentifier), body
 *   {"header":{"functionRequesterIdentifier":"OP","functionCallIdentifier":"ID"},
 *    "kind":"billing|attach|physical","events":[{...as one JSON line of the file import...}]}
 * The whole batch is checked first and stored in one transaction (idempotent by event_id), so a
 * bad event refuses the request and stores nothing. Answer: the ES2+ envelope with "received" and
 * "new", or a failure (1.3.1/2.1 bad format, the ES2+ authentication codes, 8.2.1/3.9 for an
 * ICCID of another operator's profile). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/es2p.h"
#include "rsp/es9p_json.h"
#include "rsp/http_server.h"
#include "rsp/recon.h"

#define MAX_EVENTS 10000

static int refuse(struct rsp_http_response *resp, const struct rsp_status_code *code)
{
    snprintf(resp->log_outcome, sizeof resp->log_outcome, "Failed %s/%s", code->subject,
             code->reason);
    return rsp_es_encode_failure(code, &resp->body);
}

static int bad_format(struct rsp_http_response *resp, const char *why)
{
    struct rsp_status_code c;
    rsp_sc_set(&c, RSP_SC_BAD_FORMAT);
    snprintf(c.message, sizeof c.message, "%.120s", why);
    resp->status = 400;
    return refuse(resp, &c);
}

int rsp_recon_http_handler(void *ctx, const struct rsp_http_request *req,
                           struct rsp_http_response *resp)
{
    const struct rsp_es2p_http_ctx *hc = ctx;
    if (!hc || !req || !resp)
        return RSP_EINVAL;
    json_error_t je;
    json_t *root = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return bad_format(resp, "body is not a JSON object");
    }
    const char *requester = json_string_value(
        json_object_get(json_object_get(root, "header"), "functionRequesterIdentifier"));
    const char *kind_s = json_string_value(json_object_get(root, "kind"));
    json_t *events = json_object_get(root, "events");
    enum rsp_recon_kind kind;
    if (!requester || !kind_s || rsp_recon_kind_from_name(kind_s, &kind) != 0 ||
        !json_is_array(events) || json_array_size(events) > MAX_EVENTS) {
        json_decref(root);
        return bad_format(resp, "header.functionRequesterIdentifier, kind "
                                "(billing|attach|physical) and events (at most 10000) required");
    }
    const struct rsp_es2p_operator *op = NULL;
    struct rsp_status_code refusal;
    memset(&refusal, 0, sizeof refusal);
    int rc =
        rsp_es2p_authenticate(hc->ops, hc->n_ops, req->authorization, requester, &op, &refusal);
    if (rc || !op) {
        json_decref(root);
        return rc ? rc : refuse(resp, &refusal);
    }
    size_t n = json_array_size(events);
    struct rsp_recon_event *ev = calloc(n ? n : 1, sizeof *ev);
    if (!ev) {
        json_decref(root);
        return RSP_ENOMEM;
    }
    char err[160], why[200];
    for (size_t i = 0; i < n; i++) {
        if (rsp_recon_parse_json_object(json_array_get(events, i), kind, &ev[i], err, sizeof err) !=
            0) {
            snprintf(why, sizeof why, "events[%zu]: %s", i, err);
            free(ev);
            json_decref(root);
            return bad_format(resp, why);
        }
    }
    json_decref(root);
    struct rsp_store *st = NULL;
    rc = rsp_store_pool_get(hc->stores, &st);
    size_t added = 0;
    char actor[80];
    snprintf(actor, sizeof actor, "es2p:%.60s", op->id);
    /* Operator isolation as in ES2+: a billing or attach event naming an ICCID of the inventory
     * must name one of this operator's profiles; another operator's ICCID is answered as unknown
     * (8.2.1/3.9) and the batch is refused. ICCIDs outside the inventory (physical SIMs, billed
     * but never installed) and events without an ICCID are the operator's own data. */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (ev[i].kind == RSP_RECON_PHYSICAL || !ev[i].iccid[0])
            continue;
        struct rsp_profile p;
        int g = rsp_store_profile_get(st, ev[i].iccid, &p);
        if (g == RSP_ENOTFOUND)
            continue;
        if (g) {
            rc = g;
            break;
        }
        if (strcmp(p.owner, op->id) != 0) {
            free(ev);
            struct rsp_status_code c;
            rsp_sc_set(&c, RSP_SC_ICCID_UNKNOWN);
            snprintf(c.message, sizeof c.message, "events[%zu]: ICCID unknown", i);
            return refuse(resp, &c);
        }
    }
    if (rc == 0)
        rc = rsp_store_recon_import(st, ev, n, actor, &added);
    free(ev);
    if (rc)
        return rc;
    char body[160];
    int len =
        snprintf(body, sizeof body,
                 "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Executed-Success\"}},"
                 "\"received\":%zu,\"new\":%zu}",
                 n, added);
    snprintf(resp->log_outcome, sizeof resp->log_outcome, "Executed-Success");
    return rsp_buf_set(&resp->body, body, (size_t)len);
}
