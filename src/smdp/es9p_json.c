/* ES9+ JSON binding (SGP.22 §6.5; sgp22-notes §2) and the generic field machinery shared with
 * the ES2+ layer (es_json_int.h). */
#include "rsp/es9p_json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "es_json_int.h"
#include "rsp/es2p_json.h"
#include "rsp/err.h"

/* ---- status codes: SGP.22 §5.2.6 catalogue, per-function tables (addendum §1.4, §2.9) ---- */

#define SC(id, s, r, m) [id] = {s, r, m}
static const struct rsp_status_code sc_table[RSP_SC_COUNT] = {
    SC(RSP_SC_BAD_CONTENT_TYPE, "1.2.1", "2.1", "Content-Type must be application/json"),
    SC(RSP_SC_BAD_ADMIN_PROTOCOL, "1.2.2", "2.1", "Unsupported X-Admin-Protocol"),
    SC(RSP_SC_BAD_FORMAT, "1.3.1", "2.1", "Invalid request format"),
    SC(RSP_SC_MISSING_ELEMENT, "1.3.1", "2.2", "Mandatory element missing"),
    SC(RSP_SC_BODY_TOO_LARGE, "1.3.1", "2.1", "Request body too large"),
    SC(RSP_SC_METHOD_NOT_ALLOWED, "1.3.1", "3.1", "Only POST is supported"),
    SC(RSP_SC_UNKNOWN_FUNCTION, "1.6", "3.9", "Unknown function"),
    SC(RSP_SC_FUNCTION_UNAVAILABLE, "1.6", "3.7", "Function not yet available"),
    SC(RSP_SC_INTERNAL, "1.2", "4.2", "Execution error"),
    SC(RSP_SC_SMDP_ADDRESS_REFUSED, "8.8.1", "3.8", "Invalid SM-DP+ Address"),
    SC(RSP_SC_CI_PK_UNSUPPORTED, "8.8.2", "3.1", "None of the proposed CI public keys supported"),
    SC(RSP_SC_SVN_UNSUPPORTED, "8.8.3", "3.1", "Specification version not supported"),
    SC(RSP_SC_DP_CERT_UNAVAILABLE, "8.8.4", "3.7", "No SM-DP+ certificate for the CI"),
    SC(RSP_SC_EUM_CERT_INVALID, "8.1.2", "6.1", "EUM certificate invalid"),
    SC(RSP_SC_EUM_CERT_EXPIRED, "8.1.2", "6.3", "EUM certificate expired"),
    SC(RSP_SC_EUICC_CERT_INVALID, "8.1.3", "6.1", "eUICC certificate invalid"),
    SC(RSP_SC_EUICC_CERT_EXPIRED, "8.1.3", "6.3", "eUICC certificate expired"),
    SC(RSP_SC_EUICC_SIG_INVALID, "8.1", "6.1", "eUICC signature invalid"),
    SC(RSP_SC_INSUFFICIENT_MEMORY, "8.1", "4.8", "Insufficient eUICC memory"),
    SC(RSP_SC_CI_PK_UNKNOWN, "8.11.1", "3.9", "Unknown CI public key"),
    SC(RSP_SC_PROFILE_NOT_RELEASED, "8.2", "1.2", "Profile not yet released"),
    SC(RSP_SC_TID_UNKNOWN, "8.10.1", "3.9", "Unknown transactionId"),
    SC(RSP_SC_MATCHING_ID_REFUSED, "8.2.6", "3.8", "MatchingID refused"),
    SC(RSP_SC_EID_REFUSED, "8.1.1", "3.8", "EID refused"),
    SC(RSP_SC_NO_ELIGIBLE_PROFILE, "8.2.5", "4.3", "No eligible profile"),
    SC(RSP_SC_ORDER_EXPIRED, "8.8.5", "4.10", "Download order expired"),
    SC(RSP_SC_DOWNLOAD_RETRIES, "8.8.5", "6.4", "Maximum number of download attempts exceeded"),
    SC(RSP_SC_BPP_REBIND_REFUSED, "8.2", "3.7", "BPP not available for a new binding"),
    SC(RSP_SC_PROFILE_UNAVAILABLE, "8.2", "3.7", "Profile not available"),
    SC(RSP_SC_CC_MISSING, "8.2.7", "2.2", "Confirmation code missing"),
    SC(RSP_SC_CC_REFUSED, "8.2.7", "3.8", "Confirmation code refused"),
    SC(RSP_SC_CC_RETRIES, "8.2.7", "6.4", "Maximum number of confirmation code attempts exceeded"),
    SC(RSP_SC_SMDP_OID_MISMATCH, "8.8", "3.10", "Invalid SM-DP+ OID"),
    SC(RSP_SC_ICCID_UNKNOWN, "8.2.1", "3.9", "Unknown ICCID"),
    SC(RSP_SC_ICCID_NOT_ALLOWED, "8.2.1", "1.2", "Not allowed for this ICCID"),
    SC(RSP_SC_ICCID_IN_USE, "8.2.1", "3.3", "ICCID not available"),
    SC(RSP_SC_ICCID_INVALID_TRANSITION, "8.2.1", "3.5", "Invalid profile state transition"),
    SC(RSP_SC_ICCID_OTHER_EID, "8.2.1", "3.10", "Another EID is associated with this ICCID"),
    SC(RSP_SC_PROFILE_TYPE_UNKNOWN, "8.2.5", "3.9", "Unknown profile type"),
    SC(RSP_SC_PROFILE_TYPE_NOT_ALLOWED, "8.2.5", "1.2", "Not allowed for this profile type"),
    SC(RSP_SC_PROFILE_TYPE_EXHAUSTED, "8.2.5", "3.7", "No more profiles of this type"),
    SC(RSP_SC_PROFILE_TYPE_MISMATCH, "8.2.5", "3.8", "Profile type does not match the ICCID"),
    SC(RSP_SC_MATCHING_ID_IN_USE, "8.2.6", "3.3", "MatchingID already in use"),
    SC(RSP_SC_MATCHING_ID_OTHER, "8.2.6", "3.10", "Another MatchingID is associated"),
    SC(RSP_SC_EID_MISSING, "8.1.1", "2.2", "EID missing"),
    SC(RSP_SC_EID_OTHER, "8.1.1", "3.10", "Another EID is associated"),
    SC(RSP_SC_SMDS_UNREACHABLE, "8.9", "5.1", "SM-DS inaccessible"),
    SC(RSP_SC_SMDS_CASCADE_FAILED, "8.9", "4.2", "SM-DS registration failed"),
    SC(RSP_SC_REQUESTER_UNKNOWN, "1.1", "1.1", "Unknown function requester"),
    SC(RSP_SC_REQUESTER_NOT_ALLOWED, "1.1", "1.2", "Function requester not allowed"),
    SC(RSP_SC_ORDER_REFUSED, "8.8.5", "3.8", "Download order refused"),
    SC(RSP_SC_PPR_NOT_ALLOWED, "8.2.8", "1.2", "PPR not allowed"),
    SC(RSP_SC_METADATA_CHANGED, "8.2.9", "3.11", "Profile metadata mismatch"),
    SC(RSP_SC_BPP_EXECUTION_ERROR, "8.2.10", "4.2", "BPP execution error"),
    SC(RSP_SC_RSP_EXECUTION_ERROR, "8", "4.2", "Execution error"),
};

const struct rsp_status_code *rsp_sc(enum rsp_sc id)
{
    return &sc_table[(unsigned)id < RSP_SC_COUNT ? id : RSP_SC_INTERNAL];
}

void rsp_sc_set(struct rsp_status_code *out, enum rsp_sc id)
{
    if (out)
        *out = *rsp_sc(id);
}

int rsp_es_check_headers(const char *content_type, const char *admin_protocol,
                         struct rsp_status_code *refusal)
{
    static const char ct[] = "application/json", ap[] = "gsma/rsp/v";
    if (!content_type || strncasecmp(content_type, ct, sizeof ct - 1) != 0) {
        rsp_sc_set(refusal, RSP_SC_BAD_CONTENT_TYPE);
        return RSP_ESYNTAX;
    }
    if (admin_protocol && strncmp(admin_protocol, ap, sizeof ap - 1) != 0) {
        rsp_sc_set(refusal, RSP_SC_BAD_ADMIN_PROTOCOL);
        return RSP_ESYNTAX;
    }
    return 0;
}

/* ---- envelope ---- */

static const char *const status_names[] = {"Executed-Success", "Executed-WithWarning", "Failed",
                                           "Expired"};

const char *rsp_es_status_name(enum rsp_es_status s)
{
    return (unsigned)s < 4 ? status_names[s] : NULL;
}

json_t *es_status_object(const struct rsp_es_exec_status *st)
{
    json_t *o = json_object();
    if (!o || json_object_set_new(o, "status", json_string(rsp_es_status_name(st->status)))) {
        json_decref(o);
        return NULL;
    }
    if (st->has_code) {
        json_t *c = json_object();
        int bad = !c;
        if (!bad && st->subject_identifier[0])
            bad |= json_object_set_new(c, "subjectIdentifier", json_string(st->subject_identifier));
        if (!bad)
            bad |= json_object_set_new(c, "subjectCode", json_string(st->code.subject));
        if (!bad)
            bad |= json_object_set_new(c, "reasonCode", json_string(st->code.reason));
        if (!bad && st->code.message[0])
            bad |= json_object_set_new(c, "message", json_string(st->code.message));
        if (bad || json_object_set_new(o, "statusCodeData", c)) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static int copy_str(char *dst, size_t cap, json_t *v)
{
    if (!json_is_string(v) || json_string_length(v) >= cap)
        return RSP_ESYNTAX;
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

int es_status_from_object(json_t *o, struct rsp_es_exec_status *out)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(o))
        return RSP_EMISSING;
    json_t *s = json_object_get(o, "status");
    if (!json_is_string(s))
        return RSP_EMISSING;
    unsigned i;
    for (i = 0; i < 4; i++)
        if (strcmp(json_string_value(s), status_names[i]) == 0)
            break;
    if (i == 4)
        return RSP_ESYNTAX;
    out->status = (enum rsp_es_status)i;
    json_t *c = json_object_get(o, "statusCodeData");
    if (c) {
        if (!json_is_object(c))
            return RSP_ESYNTAX;
        if (copy_str(out->code.subject, sizeof out->code.subject,
                     json_object_get(c, "subjectCode")) ||
            copy_str(out->code.reason, sizeof out->code.reason, json_object_get(c, "reasonCode")))
            return RSP_ESYNTAX;
        json_t *m = json_object_get(c, "message");
        if (m && json_is_string(m))
            snprintf(out->code.message, sizeof out->code.message, "%s", json_string_value(m));
        json_t *si = json_object_get(c, "subjectIdentifier");
        if (si && json_is_string(si))
            snprintf(out->subject_identifier, sizeof out->subject_identifier, "%s",
                     json_string_value(si));
        out->has_code = true;
    }
    return 0;
}

static json_t *envelope(const struct rsp_es_exec_status *st)
{
    json_t *root = json_object(), *hdr = json_object(), *fes = es_status_object(st);
    if (!root || !hdr || !fes || json_object_set_new(hdr, "functionExecutionStatus", fes)) {
        json_decref(root);
        json_decref(hdr);
        return NULL;
    }
    if (json_object_set_new(root, "header", hdr)) {
        json_decref(root);
        return NULL;
    }
    return root;
}

json_t *es_success_envelope(void)
{
    struct rsp_es_exec_status ok;
    memset(&ok, 0, sizeof ok);
    ok.status = RSP_ES_SUCCESS;
    return envelope(&ok);
}

int es_dump(json_t *obj, struct rsp_buf *out)
{
    if (!obj)
        return RSP_ENOMEM;
    char *s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (!s)
        return RSP_ENOMEM;
    int rc = rsp_buf_set(out, s, strlen(s));
    free(s);
    return rc;
}

int rsp_es_encode_failure(const struct rsp_status_code *code, struct rsp_buf *out)
{
    if (!code || !out)
        return RSP_EINVAL;
    struct rsp_es_exec_status st;
    memset(&st, 0, sizeof st);
    st.status = RSP_ES_FAILED;
    st.has_code = true;
    st.code = *code;
    return es_dump(envelope(&st), out);
}

int es_parse_object(const char *json, size_t len, json_t **out, struct rsp_status_code *refusal)
{
    json_error_t err;
    *out = NULL;
    if (!json) {
        rsp_sc_set(refusal, RSP_SC_BAD_FORMAT);
        return RSP_EINVAL;
    }
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(root)) {
        json_decref(root);
        rsp_sc_set(refusal, RSP_SC_BAD_FORMAT);
        return RSP_ESYNTAX;
    }
    *out = root;
    return 0;
}

int rsp_es_decode_header(const char *json, size_t len, struct rsp_es_exec_status *out)
{
    json_t *root;
    if (!out)
        return RSP_EINVAL;
    int rc = es_parse_object(json, len, &root, NULL);
    if (rc)
        return rc;
    rc = es_status_from_object(
        json_object_get(json_object_get(root, "header"), "functionExecutionStatus"), out);
    json_decref(root);
    return rc;
}

/* ---- fields ---- */

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static int decode_one(json_t *v, const struct es_field *f, void *p)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    size_t n = s ? json_string_length(v) : 0;
    switch (f->kind) {
    case K_B64: {
        if (!s)
            return RSP_ESYNTAX;
        struct rsp_buf *b = p;
        rsp_buf_init(b);
        int rc = rsp_base64_decode(b, s, n);
        if (rc)
            rsp_buf_free(b);
        return rc ? RSP_ESYNTAX : 0;
    }
    case K_CHAL16: {
        if (!s)
            return RSP_ESYNTAX;
        struct rsp_buf b = RSP_BUF_INIT;
        int rc = rsp_base64_decode(&b, s, n) ? RSP_ESYNTAX : b.len != 16 ? RSP_ERANGE : 0;
        if (rc == 0)
            memcpy(p, b.data, 16);
        rsp_buf_free(&b);
        return rc;
    }
    case K_TID:
        if (!s || strlen(s) != n)
            return RSP_ESYNTAX;
        return rsp_tid_from_hex(s, p) ? RSP_ESYNTAX : 0;
    case K_STR:
        if (!s || strlen(s) != n)
            return RSP_ESYNTAX; /* embedded NUL */
        if (n >= f->size)
            return RSP_ERANGE;
        memcpy(p, s, n + 1);
        return 0;
    case K_ICCID: {
        if (!s || n < 18 || n > 20)
            return RSP_ESYNTAX;
        size_t d = n;
        if (s[n - 1] == 'F' || s[n - 1] == 'f')
            d--;
        if (d < 18 || !all_digits(s, d))
            return RSP_ESYNTAX;
        memcpy(p, s, d);
        ((char *)p)[d] = 0;
        return 0;
    }
    case K_EID:
        if (!s || n != 32 || !all_digits(s, n))
            return RSP_ESYNTAX;
        memcpy(p, s, 33);
        return 0;
    case K_BOOL:
        if (!json_is_boolean(v))
            return RSP_ESYNTAX;
        *(bool *)p = json_is_true(v);
        return 0;
    case K_INT:
        if (json_is_integer(v)) {
            json_int_t i = json_integer_value(v);
            if (i < 0 || i > 0x7fffffff)
                return RSP_ERANGE;
            *(int *)p = (int)i;
            return 0;
        }
        if (!s || n == 0 || n > 9 || !all_digits(s, n))
            return RSP_ESYNTAX;
        *(int *)p = atoi(s);
        return 0;
    case K_STATUS:
        return es_status_from_object(v, p) ? RSP_ESYNTAX : 0;
    case K_FINAL:
        if (s && strcmp(s, "Available") == 0)
            *(enum rsp_es2_final_status *)p = RSP_ES2_FINAL_AVAILABLE;
        else if (s && strcmp(s, "Unavailable") == 0)
            *(enum rsp_es2_final_status *)p = RSP_ES2_FINAL_UNAVAILABLE;
        else
            return RSP_ESYNTAX;
        return 0;
    }
    return RSP_EINVAL;
}

void es_free_fields(const struct es_field *f, size_t n, void *base)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].kind == K_B64)
            rsp_buf_free((struct rsp_buf *)((char *)base + f[i].offset));
}

int es_decode_fields(json_t *obj, const struct es_field *f, size_t n, void *base,
                     struct rsp_status_code *refusal)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].kind == K_B64)
            rsp_buf_init((struct rsp_buf *)((char *)base + f[i].offset));
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(obj, f[i].name);
        if (!v && f[i].alt_name)
            v = json_object_get(obj, f[i].alt_name);
        if (!v || json_is_null(v)) {
            if (!f[i].mandatory)
                continue;
            es_free_fields(f, n, base);
            rsp_sc_set(refusal, RSP_SC_MISSING_ELEMENT);
            if (refusal)
                snprintf(refusal->message, sizeof refusal->message, "Missing %s", f[i].name);
            return RSP_EMISSING;
        }
        int rc = decode_one(v, &f[i], (char *)base + f[i].offset);
        if (rc) {
            es_free_fields(f, n, base);
            rsp_sc_set(refusal, RSP_SC_BAD_FORMAT);
            if (refusal)
                snprintf(refusal->message, sizeof refusal->message, "Invalid %s", f[i].name);
            return rc;
        }
    }
    return 0;
}

static json_t *encode_one(const struct es_field *f, const void *p, int *skip)
{
    *skip = 0;
    switch (f->kind) {
    case K_B64: {
        const struct rsp_buf *b = p;
        struct rsp_buf t = RSP_BUF_INIT;
        if (b->len == 0 && !f->mandatory) {
            *skip = 1;
            return NULL;
        }
        if (rsp_base64_encode(&t, b->data, b->len) || rsp_buf_append_byte(&t, 0)) {
            rsp_buf_free(&t);
            return NULL;
        }
        json_t *v = json_string((const char *)t.data);
        rsp_buf_free(&t);
        return v;
    }
    case K_CHAL16: {
        struct rsp_buf t = RSP_BUF_INIT;
        if (rsp_base64_encode(&t, p, 16) || rsp_buf_append_byte(&t, 0)) {
            rsp_buf_free(&t);
            return NULL;
        }
        json_t *v = json_string((const char *)t.data);
        rsp_buf_free(&t);
        return v;
    }
    case K_TID: {
        const struct rsp_tid *t = p;
        char hex[2 * RSP_TID_MAX + 1];
        if (t->len == 0 || t->len > RSP_TID_MAX) {
            *skip = !f->mandatory;
            return NULL;
        }
        rsp_tid_to_hex(t, hex);
        return json_string(hex);
    }
    case K_STR:
    case K_EID:
        if (!((const char *)p)[0] && !f->mandatory) {
            *skip = 1;
            return NULL;
        }
        return json_string(p);
    case K_ICCID: {
        char s[21];
        size_t n = strlen(p);
        if (n == 0 && !f->mandatory) {
            *skip = 1;
            return NULL;
        }
        snprintf(s, sizeof s, "%s%s", (const char *)p, n == 19 ? "F" : "");
        return json_string(s);
    }
    case K_BOOL:
        return json_boolean(*(const bool *)p);
    case K_INT:
        return json_integer(*(const int *)p);
    case K_STATUS:
        return es_status_object(p);
    case K_FINAL:
        return json_string(*(const enum rsp_es2_final_status *)p == RSP_ES2_FINAL_UNAVAILABLE
                               ? "Unavailable"
                               : "Available");
    }
    return NULL;
}

int es_encode_fields(json_t *obj, const struct es_field *f, size_t n, const void *base)
{
    for (size_t i = 0; i < n; i++) {
        int skip;
        json_t *v = encode_one(&f[i], (const char *)base + f[i].offset, &skip);
        if (skip)
            continue;
        if (!v)
            return f[i].kind == K_TID ? RSP_EMISSING : RSP_ENOMEM;
        if (json_object_set_new(obj, f[i].name, v))
            return RSP_ENOMEM;
    }
    return 0;
}

/* ---- ES9+ message tables (sgp22-notes §2.3) ---- */

static const char *const es9_names[RSP_ES9_NFUNCTIONS] = {
    "initiateAuthentication", "authenticateClient", "getBoundProfilePackage", "handleNotification",
    "cancelSession"};

const char *rsp_es9_function_name(enum rsp_es9_function f)
{
    return (unsigned)f < RSP_ES9_NFUNCTIONS ? es9_names[f] : NULL;
}

int rsp_es9_function_from_name(const char *name, enum rsp_es9_function *out)
{
    for (unsigned i = 0; name && i < RSP_ES9_NFUNCTIONS; i++)
        if (strcmp(name, es9_names[i]) == 0) {
            *out = (enum rsp_es9_function)i;
            return 0;
        }
    return RSP_ENOTFOUND;
}

typedef struct rsp_es9_initiate_auth_req ia_req;
typedef struct rsp_es9_initiate_auth_resp ia_resp;
typedef struct rsp_es9_auth_client_req ac_req;
typedef struct rsp_es9_auth_client_resp ac_resp;
typedef struct rsp_es9_gbpp_req gb_req;
typedef struct rsp_es9_gbpp_resp gb_resp;
typedef struct rsp_es9_handle_notification_req hn_req;
typedef struct rsp_es9_cancel_session_req cs_req;
typedef struct rsp_es9_cancel_session_resp cs_resp;

static const struct es_field f_ia_req[] = {
    ES_FIELD(ia_req, euicc_challenge, "euiccChallenge", K_CHAL16, 1),
    ES_FIELD(ia_req, euicc_info1, "euiccInfo1", K_B64, 1),
    ES_FIELD(ia_req, smdp_address, "smdpAddress", K_STR, 1),
};
static const struct es_field f_ia_resp[] = {
    ES_FIELD(ia_resp, transaction_id, "transactionId", K_TID, 1),
    ES_FIELD(ia_resp, server_signed1, "serverSigned1", K_B64, 1),
    ES_FIELD(ia_resp, server_signature1, "serverSignature1", K_B64, 1),
    ES_FIELD(ia_resp, euicc_ci_pkid, "euiccCiPKIdToBeUsed", K_B64, 1),
    ES_FIELD(ia_resp, server_certificate, "serverCertificate", K_B64, 1),
};
static const struct es_field f_ac_req[] = {
    ES_FIELD(ac_req, transaction_id, "transactionId", K_TID, 1),
    ES_FIELD(ac_req, authenticate_server_response, "authenticateServerResponse", K_B64, 1),
};
static const struct es_field f_ac_resp[] = {
    ES_FIELD(ac_resp, transaction_id, "transactionId", K_TID, 1),
    ES_FIELD(ac_resp, profile_metadata, "profileMetadata", K_B64, 1),
    ES_FIELD(ac_resp, smdp_signed2, "smdpSigned2", K_B64, 1),
    ES_FIELD(ac_resp, smdp_signature2, "smdpSignature2", K_B64, 1),
    ES_FIELD(ac_resp, smdp_certificate, "smdpCertificate", K_B64, 1),
};
static const struct es_field f_gb_req[] = {
    ES_FIELD(gb_req, transaction_id, "transactionId", K_TID, 1),
    ES_FIELD(gb_req, prepare_download_response, "prepareDownloadResponse", K_B64, 1),
};
static const struct es_field f_gb_resp[] = {
    ES_FIELD(gb_resp, transaction_id, "transactionId", K_TID, 1),
    ES_FIELD(gb_resp, bound_profile_package, "boundProfilePackage", K_B64, 1),
};
static const struct es_field f_hn_req[] = {
    ES_FIELD(hn_req, pending_notification, "pendingNotification", K_B64, 1),
};
static const struct es_field f_cs_req[] = {
    ES_FIELD(cs_req, transaction_id, "transactionId", K_TID, 1),
    ES_FIELD(cs_req, cancel_session_response, "cancelSessionResponse", K_B64, 1),
};
static const struct es_field f_cs_resp[] = {
    /* osmo-smdpp echoes it; the spec has no output data: optional on input */
    ES_FIELD(cs_resp, transaction_id, "transactionId", K_TID, 0),
};

struct es_table {
    const struct es_field *f;
    size_t n;
};
#define TABLE(a)                                                                                   \
    {                                                                                              \
        a, sizeof a / sizeof a[0]                                                                  \
    }
static const struct es_table es9_req_tables[RSP_ES9_NFUNCTIONS] = {
    TABLE(f_ia_req), TABLE(f_ac_req), TABLE(f_gb_req), TABLE(f_hn_req), TABLE(f_cs_req)};
static const struct es_table es9_resp_tables[RSP_ES9_NFUNCTIONS] = {
    TABLE(f_ia_resp), TABLE(f_ac_resp), TABLE(f_gb_resp), {NULL, 0}, TABLE(f_cs_resp)};

int rsp_es9_decode_request(enum rsp_es9_function fn, const char *json, size_t len,
                           struct rsp_es9_request *out, struct rsp_status_code *refusal)
{
    json_t *root;
    if (!out || (unsigned)fn >= RSP_ES9_NFUNCTIONS) {
        rsp_sc_set(refusal, RSP_SC_INTERNAL);
        return RSP_EINVAL;
    }
    memset(out, 0, sizeof *out);
    out->fn = fn;
    int rc = es_parse_object(json, len, &root, refusal);
    if (rc)
        return rc;
    json_t *hdr = json_object_get(root, "header");
    if (hdr && !json_is_object(hdr)) {
        json_decref(root);
        rsp_sc_set(refusal, RSP_SC_BAD_FORMAT);
        return RSP_ESYNTAX;
    }
    rc = es_decode_fields(root, es9_req_tables[fn].f, es9_req_tables[fn].n, &out->u, refusal);
    json_decref(root);
    if (rc) {
        memset(out, 0, sizeof *out);
        out->fn = fn;
    }
    return rc;
}

int rsp_es9_encode_request(const struct rsp_es9_request *req, struct rsp_buf *out)
{
    if (!req || !out || (unsigned)req->fn >= RSP_ES9_NFUNCTIONS)
        return RSP_EINVAL;
    json_t *root = json_object();
    if (!root)
        return RSP_ENOMEM;
    int rc = es_encode_fields(root, es9_req_tables[req->fn].f, es9_req_tables[req->fn].n, &req->u);
    if (rc) {
        json_decref(root);
        return rc;
    }
    return es_dump(root, out);
}

void rsp_es9_request_free(struct rsp_es9_request *req)
{
    if (req && (unsigned)req->fn < RSP_ES9_NFUNCTIONS)
        es_free_fields(es9_req_tables[req->fn].f, es9_req_tables[req->fn].n, &req->u);
}

int rsp_es9_encode_response(const struct rsp_es9_response *resp, struct rsp_buf *out)
{
    if (!resp || !out || (unsigned)resp->fn >= RSP_ES9_NFUNCTIONS)
        return RSP_EINVAL;
    if (resp->fn == RSP_ES9_HANDLE_NOTIFICATION) {
        rsp_buf_reset(out);
        return 0;
    }
    json_t *root = envelope(&resp->status);
    if (!root)
        return RSP_ENOMEM;
    if (resp->status.status == RSP_ES_SUCCESS || resp->status.status == RSP_ES_WARNING) {
        int rc = es_encode_fields(root, es9_resp_tables[resp->fn].f, es9_resp_tables[resp->fn].n,
                                  &resp->u);
        if (rc) {
            json_decref(root);
            return rc;
        }
    }
    return es_dump(root, out);
}

int rsp_es9_decode_response(enum rsp_es9_function fn, const char *json, size_t len,
                            struct rsp_es9_response *out)
{
    json_t *root;
    if (!out || (unsigned)fn >= RSP_ES9_NFUNCTIONS)
        return RSP_EINVAL;
    memset(out, 0, sizeof *out);
    out->fn = fn;
    /* handleNotification: HTTP 204 without a body, or a failure envelope for a refused request */
    if (fn == RSP_ES9_HANDLE_NOTIFICATION && len == 0)
        return 0;
    int rc = es_parse_object(json, len, &root, NULL);
    if (rc)
        return rc;
    rc = es_status_from_object(
        json_object_get(json_object_get(root, "header"), "functionExecutionStatus"), &out->status);
    if (rc == 0 && es9_resp_tables[fn].f &&
        (out->status.status == RSP_ES_SUCCESS || out->status.status == RSP_ES_WARNING))
        rc = es_decode_fields(root, es9_resp_tables[fn].f, es9_resp_tables[fn].n, &out->u, NULL);
    json_decref(root);
    if (rc) {
        memset(out, 0, sizeof *out);
        out->fn = fn;
    }
    return rc;
}

void rsp_es9_response_free(struct rsp_es9_response *resp)
{
    if (resp && (unsigned)resp->fn < RSP_ES9_NFUNCTIONS && es9_resp_tables[resp->fn].f)
        es_free_fields(es9_resp_tables[resp->fn].f, es9_resp_tables[resp->fn].n, &resp->u);
}
