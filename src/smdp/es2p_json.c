/* ES2+ JSON binding (SGP.22 §5.3, §6.5.2; sgp22-notes §7; addendum §2.3 - §2.7, §2.11). */
#include "rsp/es2p_json.h"

#include <stdio.h>
#include <string.h>

#include "es_json_int.h"
#include "rsp/err.h"

static const char *const es2_names[RSP_ES2_NFUNCTIONS] = {
    "downloadOrder", "confirmOrder", "cancelOrder", "releaseProfile", "handleDownloadProgressInfo"};

const char *rsp_es2_function_name(enum rsp_es2_function f)
{
    return (unsigned)f < RSP_ES2_NFUNCTIONS ? es2_names[f] : NULL;
}

int rsp_es2_function_from_name(const char *name, enum rsp_es2_function *out)
{
    for (unsigned i = 0; name && i < RSP_ES2_NFUNCTIONS; i++)
        if (strcmp(name, es2_names[i]) == 0) {
            *out = (enum rsp_es2_function)i;
            return 0;
        }
    return RSP_ENOTFOUND;
}

typedef struct rsp_es2_req_header hdr_t;
typedef struct rsp_es2_download_order_req do_req;
typedef struct rsp_es2_download_order_resp do_resp;
typedef struct rsp_es2_confirm_order_req co_req;
typedef struct rsp_es2_confirm_order_resp co_resp;
typedef struct rsp_es2_cancel_order_req ca_req;
typedef struct rsp_es2_release_profile_req rp_req;
typedef struct rsp_es2_hdpi_req hd_req;

static const struct es_field f_hdr[] = {
    ES_FIELD(hdr_t, function_requester_identifier, "functionRequesterIdentifier", K_STR, 1),
    ES_FIELD(hdr_t, function_call_identifier, "functionCallIdentifier", K_STR, 1),
};
/* DownloadOrder (§5.3.1): iccid and profileType are conditional; checked below. */
static const struct es_field f_do_req[] = {
    ES_FIELD(do_req, eid, "eid", K_EID, 0),
    ES_FIELD(do_req, iccid, "iccid", K_ICCID, 0),
    ES_FIELD(do_req, profile_type, "profileType", K_STR, 0),
};
static const struct es_field f_do_resp[] = {
    ES_FIELD(do_resp, iccid, "iccid", K_ICCID, 1),
};
static const struct es_field f_co_req[] = {
    ES_FIELD(co_req, iccid, "iccid", K_ICCID, 1),
    ES_FIELD(co_req, eid, "eid", K_EID, 0),
    ES_FIELD(co_req, matching_id, "matchingId", K_STR, 0),
    ES_FIELD(co_req, confirmation_code, "confirmationCode", K_STR, 0),
    ES_FIELD(co_req, smds_address, "smdsAddress", K_STR, 0),
    ES_FIELD(co_req, release_flag, "releaseFlag", K_BOOL, 1),
};
static const struct es_field f_co_resp[] = {
    ES_FIELD(co_resp, eid, "eid", K_EID, 0),
    ES_FIELD(co_resp, matching_id, "matchingId", K_STR, 1),
    ES_FIELD(co_resp, smdp_address, "smdpAddress", K_STR, 0),
};
static const struct es_field f_ca_req[] = {
    ES_FIELD(ca_req, iccid, "iccid", K_ICCID, 1),
    ES_FIELD(ca_req, eid, "eid", K_EID, 0),
    ES_FIELD(ca_req, matching_id, "matchingId", K_STR, 0),
    ES_FIELD(ca_req, final_status, "finalProfileStatusIndicator", K_FINAL, 1),
};
static const struct es_field f_rp_req[] = {
    ES_FIELD(rp_req, iccid, "iccid", K_ICCID, 1),
};
static const struct es_field f_hd_req[] = {
    ES_FIELD(hd_req, eid, "eid", K_EID, 0),
    ES_FIELD(hd_req, iccid, "iccid", K_ICCID, 1),
    ES_FIELD(hd_req, profile_type, "profileType", K_STR, 1),
    ES_FIELD_ALT(hd_req, timestamp, "timestamp", "timeStamp", K_STR, 1),
    ES_FIELD(hd_req, notification_point_id, "notificationPointId", K_INT, 1),
    ES_FIELD(hd_req, notification_point_status, "notificationPointStatus", K_STATUS, 1),
    ES_FIELD(hd_req, result_data, "resultData", K_B64, 0),
};

struct es_table {
    const struct es_field *f;
    size_t n;
};
#define TABLE(a)                                                                                   \
    {                                                                                              \
        a, sizeof a / sizeof a[0]                                                                  \
    }
static const struct es_table req_tables[RSP_ES2_NFUNCTIONS] = {
    TABLE(f_do_req), TABLE(f_co_req), TABLE(f_ca_req), TABLE(f_rp_req), TABLE(f_hd_req)};
static const struct es_table resp_tables[RSP_ES2_NFUNCTIONS] = {
    TABLE(f_do_resp), TABLE(f_co_resp), {NULL, 0}, {NULL, 0}, {NULL, 0}};

int rsp_es2_decode_request(enum rsp_es2_function fn, const char *json, size_t len,
                           struct rsp_es2_request *out, struct rsp_status_code *refusal)
{
    json_t *root;
    if (!out || (unsigned)fn >= RSP_ES2_NFUNCTIONS) {
        rsp_sc_set(refusal, RSP_SC_INTERNAL);
        return RSP_EINVAL;
    }
    memset(out, 0, sizeof *out);
    out->fn = fn;
    int rc = es_parse_object(json, len, &root, refusal);
    if (rc)
        return rc;
    json_t *hdr = json_object_get(root, "header");
    if (!json_is_object(hdr)) {
        rsp_sc_set(refusal, hdr ? RSP_SC_BAD_FORMAT : RSP_SC_MISSING_ELEMENT);
        json_decref(root);
        return hdr ? RSP_ESYNTAX : RSP_EMISSING;
    }
    rc = es_decode_fields(hdr, f_hdr, sizeof f_hdr / sizeof f_hdr[0], &out->header, refusal);
    if (rc == 0)
        rc = es_decode_fields(root, req_tables[fn].f, req_tables[fn].n, &out->u, refusal);
    json_decref(root);
    if (rc == 0 && fn == RSP_ES2_DOWNLOAD_ORDER && !out->u.download_order.iccid[0] &&
        !out->u.download_order.profile_type[0]) {
        /* §5.3.1: the operator names an ICCID or a profile type (or both) */
        rsp_sc_set(refusal, RSP_SC_MISSING_ELEMENT);
        if (refusal)
            snprintf(refusal->message, sizeof refusal->message, "Missing iccid or profileType");
        rc = RSP_EMISSING;
    }
    if (rc) {
        rsp_es2_request_free(out);
        memset(out, 0, sizeof *out);
        out->fn = fn;
    }
    return rc;
}

int rsp_es2_encode_request(const struct rsp_es2_request *req, struct rsp_buf *out)
{
    if (!req || !out || (unsigned)req->fn >= RSP_ES2_NFUNCTIONS)
        return RSP_EINVAL;
    json_t *root = json_object(), *hdr = json_object();
    int rc = root && hdr ? 0 : RSP_ENOMEM;
    if (rc == 0)
        rc = es_encode_fields(hdr, f_hdr, sizeof f_hdr / sizeof f_hdr[0], &req->header);
    if (rc == 0) {
        rc = json_object_set_new(root, "header", hdr) ? RSP_ENOMEM : 0;
        hdr = NULL;
    }
    if (rc == 0)
        rc = es_encode_fields(root, req_tables[req->fn].f, req_tables[req->fn].n, &req->u);
    json_decref(hdr);
    if (rc) {
        json_decref(root);
        return rc;
    }
    return es_dump(root, out);
}

void rsp_es2_request_free(struct rsp_es2_request *req)
{
    if (req && req->fn == RSP_ES2_HANDLE_DOWNLOAD_PROGRESS_INFO)
        rsp_buf_free(&req->u.hdpi.result_data);
}

int rsp_es2_encode_response(const struct rsp_es2_response *resp, struct rsp_buf *out)
{
    if (!resp || !out || (unsigned)resp->fn >= RSP_ES2_NFUNCTIONS)
        return RSP_EINVAL;
    if (resp->fn == RSP_ES2_HANDLE_DOWNLOAD_PROGRESS_INFO) {
        rsp_buf_reset(out); /* HTTP 204 */
        return 0;
    }
    if (resp->status.status == RSP_ES_FAILED && resp->status.has_code)
        return rsp_es_encode_failure(&resp->status.code, out);
    json_t *root = es_success_envelope();
    if (!root)
        return RSP_ENOMEM;
    int rc = 0;
    if (resp_tables[resp->fn].f)
        rc = es_encode_fields(root, resp_tables[resp->fn].f, resp_tables[resp->fn].n, &resp->u);
    if (rc) {
        json_decref(root);
        return rc;
    }
    return es_dump(root, out);
}

int rsp_es2_decode_response(enum rsp_es2_function fn, const char *json, size_t len,
                            struct rsp_es2_response *out)
{
    json_t *root;
    if (!out || (unsigned)fn >= RSP_ES2_NFUNCTIONS)
        return RSP_EINVAL;
    memset(out, 0, sizeof *out);
    out->fn = fn;
    if (fn == RSP_ES2_HANDLE_DOWNLOAD_PROGRESS_INFO)
        return len == 0 ? 0 : RSP_ETRAILING;
    int rc = es_parse_object(json, len, &root, NULL);
    if (rc)
        return rc;
    rc = es_status_from_object(
        json_object_get(json_object_get(root, "header"), "functionExecutionStatus"), &out->status);
    if (rc == 0 && resp_tables[fn].f &&
        (out->status.status == RSP_ES_SUCCESS || out->status.status == RSP_ES_WARNING))
        rc = es_decode_fields(root, resp_tables[fn].f, resp_tables[fn].n, &out->u, NULL);
    json_decref(root);
    if (rc) {
        memset(out, 0, sizeof *out);
        out->fn = fn;
    }
    return rc;
}
