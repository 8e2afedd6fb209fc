/* ES9+ JSON binding (SGP.22 §6.5 / §5.6; sgp22-notes §2): request validation, the response
 * envelope, SGP.22 status codes, and the request/response structures of the five ES9+ functions.
 *
 * Pure: text in, structs out, and back. Binary fields are standard base64 (rsp_base64_decode,
 * strict), transactionId is hex of 1..16 bytes compared case-insensitively.
 *
 * Error convention: a decoder returns 0, or a negative RSP_E* for malformed input (RSP_ESYNTAX:
 * not JSON / bad base64 / bad hex; RSP_EMISSING: a mandatory field is absent; RSP_ERANGE: a
 * value of the wrong size) and then also fills *refusal with the status code to answer with.
 * A refusal is data to put in a response, never a return code of the handler.
 */
#ifndef RSP_ES9P_JSON_H
#define RSP_ES9P_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/buf.h"
#include "rsp/sgp22_types.h"
#include "rsp/telemetry.h"

/* ---- status codes (addendum §1.2 - §1.5, §1.8, §2.9) ---- */

enum rsp_sc {
    /* transport and generic (§1.8: generic codes are partly local choices) */
    RSP_SC_BAD_CONTENT_TYPE = 0, /* 1.2.1 / 2.1 */
    RSP_SC_BAD_ADMIN_PROTOCOL,   /* 1.2.2 / 2.1 */
    RSP_SC_BAD_FORMAT,           /* 1.3.1 / 2.1 body is not JSON or a field is malformed */
    RSP_SC_MISSING_ELEMENT,      /* 1.3.1 / 2.2 */
    RSP_SC_BODY_TOO_LARGE,       /* 1.3.1 / 2.1 with its own message (HTTP 413) */
    RSP_SC_METHOD_NOT_ALLOWED,   /* 1.3.1 / 3.1 (HTTP 405) */
    RSP_SC_UNKNOWN_FUNCTION,     /* 1.6 / 3.9   (HTTP 404) */
    RSP_SC_FUNCTION_UNAVAILABLE, /* 1.6 / 3.7   function not yet available on this server */
    RSP_SC_INTERNAL,             /* 1.2 / 4.2   execution error of the SM-DP+ */
    /* ES9+.InitiateAuthentication (Table 37) */
    RSP_SC_SMDP_ADDRESS_REFUSED, /* 8.8.1 / 3.8 */
    RSP_SC_CI_PK_UNSUPPORTED,    /* 8.8.2 / 3.1 */
    RSP_SC_SVN_UNSUPPORTED,      /* 8.8.3 / 3.1 */
    RSP_SC_DP_CERT_UNAVAILABLE,  /* 8.8.4 / 3.7 */
    /* ES9+.AuthenticateClient (Table 43) */
    RSP_SC_EUM_CERT_INVALID,     /* 8.1.2 / 6.1 */
    RSP_SC_EUM_CERT_EXPIRED,     /* 8.1.2 / 6.3 */
    RSP_SC_EUICC_CERT_INVALID,   /* 8.1.3 / 6.1 */
    RSP_SC_EUICC_CERT_EXPIRED,   /* 8.1.3 / 6.3 */
    RSP_SC_EUICC_SIG_INVALID,    /* 8.1 / 6.1 (also serverChallenge mismatch) */
    RSP_SC_INSUFFICIENT_MEMORY,  /* 8.1 / 4.8 */
    RSP_SC_CI_PK_UNKNOWN,        /* 8.11.1 / 3.9 */
    RSP_SC_PROFILE_NOT_RELEASED, /* 8.2 / 1.2 */
    RSP_SC_TID_UNKNOWN,          /* 8.10.1 / 3.9 */
    RSP_SC_MATCHING_ID_REFUSED,  /* 8.2.6 / 3.8 */
    RSP_SC_EID_REFUSED,          /* 8.1.1 / 3.8 */
    RSP_SC_NO_ELIGIBLE_PROFILE,  /* 8.2.5 / 4.3 */
    RSP_SC_ORDER_EXPIRED,        /* 8.8.5 / 4.10 */
    RSP_SC_DOWNLOAD_RETRIES,     /* 8.8.5 / 6.4 */
    /* ES9+.GetBoundProfilePackage (Table 40) */
    RSP_SC_BPP_REBIND_REFUSED, /* 8.2 / 3.7 */
    RSP_SC_CC_MISSING,         /* 8.2.7 / 2.2 */
    RSP_SC_CC_REFUSED,         /* 8.2.7 / 3.8 */
    RSP_SC_CC_RETRIES,         /* 8.2.7 / 6.4 */
    /* ES9+.CancelSession (Table 46) */
    RSP_SC_SMDP_OID_MISMATCH, /* 8.8 / 3.10 */
    /* ES2+ (addendum §2.3 - §2.9) */
    RSP_SC_ICCID_UNKNOWN,            /* 8.2.1 / 3.9 */
    RSP_SC_ICCID_NOT_ALLOWED,        /* 8.2.1 / 1.2 */
    RSP_SC_ICCID_IN_USE,             /* 8.2.1 / 3.3 (also CancelOrder: already downloaded) */
    RSP_SC_ICCID_INVALID_TRANSITION, /* 8.2.1 / 3.5 */
    RSP_SC_ICCID_OTHER_EID,          /* 8.2.1 / 3.10 */
    RSP_SC_PROFILE_TYPE_UNKNOWN,     /* 8.2.5 / 3.9 */
    RSP_SC_PROFILE_TYPE_NOT_ALLOWED, /* 8.2.5 / 1.2 */
    RSP_SC_PROFILE_TYPE_EXHAUSTED,   /* 8.2.5 / 3.7 */
    RSP_SC_PROFILE_TYPE_MISMATCH,    /* 8.2.5 / 3.8 */
    RSP_SC_MATCHING_ID_IN_USE,       /* 8.2.6 / 3.3 */
    RSP_SC_MATCHING_ID_OTHER,        /* 8.2.6 / 3.10 */
    RSP_SC_EID_MISSING,              /* 8.1.1 / 2.2 */
    RSP_SC_EID_OTHER,                /* 8.1.1 / 3.10 */
    RSP_SC_SMDS_UNREACHABLE,         /* 8.9 / 5.1 */
    RSP_SC_SMDS_CASCADE_FAILED,      /* 8.9 / 4.2 */
    RSP_SC_REQUESTER_UNKNOWN,        /* 1.1 / 1.1 (local choice, §1.8) */
    RSP_SC_REQUESTER_NOT_ALLOWED,    /* 1.1 / 1.2 (local choice, §1.8) */
    /* ES2+ HandleDownloadProgressInfo statuses (Table 32b/c) */
    RSP_SC_ORDER_REFUSED,       /* 8.8.5 / 3.8 (end-user rejection) */
    RSP_SC_PPR_NOT_ALLOWED,     /* 8.2.8 / 1.2 */
    RSP_SC_METADATA_CHANGED,    /* 8.2.9 / 3.11 */
    RSP_SC_BPP_EXECUTION_ERROR, /* 8.2.10 / 4.2 */
    RSP_SC_RSP_EXECUTION_ERROR, /* 8 / 4.2 */
    RSP_SC_PROFILE_UNAVAILABLE, /* 8.2 / 3.7 the stored package failed its re-check */
    RSP_SC_COUNT
};

/* The code, with a short English message; never NULL (RSP_SC_INTERNAL for out-of-range). */
const struct rsp_status_code *rsp_sc(enum rsp_sc id);
/* Copies rsp_sc(id) into *out (convenience for refusal out-parameters). */
void rsp_sc_set(struct rsp_status_code *out, enum rsp_sc id);

/* ---- transport ---- */

#define RSP_ES9P_PATH_PREFIX  "/gsma/rsp2/es9plus/"
#define RSP_ES2P_PATH_PREFIX  "/gsma/rsp2/es2plus/"
#define RSP_ADMIN_PROTOCOL    "gsma/rsp/v2.2.0"
#define RSP_JSON_CONTENT_TYPE "application/json;charset=UTF-8"

/* Request header rules (sgp22-notes §2.1): Content-Type must start with application/json
 * (else 1.2.1/2.1); X-Admin-Protocol may be absent, else must start with gsma/rsp/v (else
 * 1.2.2/2.1). Returns 0 or RSP_ESYNTAX with *refusal filled. */
int rsp_es_check_headers(const char *content_type, const char *admin_protocol,
                         struct rsp_status_code *refusal);

/* ---- envelope ---- */

enum rsp_es_status {
    RSP_ES_SUCCESS = 0, /* Executed-Success */
    RSP_ES_WARNING,     /* Executed-WithWarning */
    RSP_ES_FAILED,      /* Failed */
    RSP_ES_EXPIRED      /* Expired */
};

/* functionExecutionStatus (also ES2+ notificationPointStatus). */
struct rsp_es_exec_status {
    enum rsp_es_status status;
    bool has_code;
    struct rsp_status_code code; /* when has_code */
    char subject_identifier[64]; /* optional, empty when absent */
};

const char *rsp_es_status_name(enum rsp_es_status s);

/* The failure body: {"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":
 * {"subjectCode":..,"reasonCode":..,"message":..}}}} (message omitted when empty). Sent with
 * HTTP 200 (§6.5.1). Replaces the contents of out. */
int rsp_es_encode_failure(const struct rsp_status_code *code, struct rsp_buf *out);
/* Reads header.functionExecutionStatus of any response body. */
int rsp_es_decode_header(const char *json, size_t len, struct rsp_es_exec_status *out);

/* ---- the five ES9+ functions (sgp22-notes §2.3) ---- */

enum rsp_es9_function {
    RSP_ES9_INITIATE_AUTHENTICATION = 0,
    RSP_ES9_AUTHENTICATE_CLIENT,
    RSP_ES9_GET_BOUND_PROFILE_PACKAGE,
    RSP_ES9_HANDLE_NOTIFICATION,
    RSP_ES9_CANCEL_SESSION,
    RSP_ES9_NFUNCTIONS
};
/* "initiateAuthentication", ...; NULL out of range. */
const char *rsp_es9_function_name(enum rsp_es9_function f);
/* By name (the last path segment); RSP_ENOTFOUND if not an ES9+ function. */
int rsp_es9_function_from_name(const char *name, enum rsp_es9_function *out);

struct rsp_es9_initiate_auth_req {
    uint8_t euicc_challenge[16];
    struct rsp_buf euicc_info1; /* BF20 TLV */
    char smdp_address[256];
};
struct rsp_es9_initiate_auth_resp {
    struct rsp_tid transaction_id;
    struct rsp_buf server_signed1;    /* 30 TLV */
    struct rsp_buf server_signature1; /* 5F37 TLV */
    struct rsp_buf euicc_ci_pkid;     /* 04 TLV */
    struct rsp_buf server_certificate;
};
struct rsp_es9_auth_client_req {
    struct rsp_tid transaction_id;
    struct rsp_buf authenticate_server_response; /* BF38 TLV */
};
struct rsp_es9_auth_client_resp {
    struct rsp_tid transaction_id;
    struct rsp_buf profile_metadata; /* BF25 TLV */
    struct rsp_buf smdp_signed2;
    struct rsp_buf smdp_signature2;
    struct rsp_buf smdp_certificate;
};
struct rsp_es9_gbpp_req {
    struct rsp_tid transaction_id;
    struct rsp_buf prepare_download_response; /* BF21 TLV */
};
struct rsp_es9_gbpp_resp {
    struct rsp_tid transaction_id;
    struct rsp_buf bound_profile_package; /* BF36 TLV */
};
struct rsp_es9_handle_notification_req {
    struct rsp_buf pending_notification; /* BF37 or 30 TLV */
};
struct rsp_es9_cancel_session_req {
    struct rsp_tid transaction_id;
    struct rsp_buf cancel_session_response; /* BF41 TLV */
};
struct rsp_es9_cancel_session_resp {
    struct rsp_tid transaction_id;
};

/* One union per direction so a router can hold any of them; `fn` says which member is valid. */
struct rsp_es9_request {
    enum rsp_es9_function fn;
    union {
        struct rsp_es9_initiate_auth_req initiate_auth;
        struct rsp_es9_auth_client_req auth_client;
        struct rsp_es9_gbpp_req gbpp;
        struct rsp_es9_handle_notification_req handle_notification;
        struct rsp_es9_cancel_session_req cancel_session;
    } u;
};
/* Telemetry of one exchange, filled by the ES9+ handlers (rsp/telemetry.h); never encoded. */
struct rsp_es9_tele {
    struct rsp_tele_labels labels; /* from verified data only */
    char event[24];                /* RSP_TELE_EV_* of this exchange, "" for none */
    char tid[33];                  /* hex: the session a notification concerns, "" otherwise */
};

struct rsp_es9_response {
    enum rsp_es9_function fn;
    struct rsp_es_exec_status status;
    /* The EID the exchange concerns, once the SM-DP+ learnt it (authenticateClient onwards; empty
     * before): for the pseudonymised audit record only, never encoded. */
    char eid[33];
    struct rsp_es9_tele tele;
    /* branch faults: >0 when the request was refused by a rate limit (answered HTTP 429 with
     * Retry-After in seconds and no body; never encoded) */
    unsigned retry_after_s;
    union {
        struct rsp_es9_initiate_auth_resp initiate_auth;
        struct rsp_es9_auth_client_resp auth_client;
        struct rsp_es9_gbpp_resp gbpp;
        struct rsp_es9_cancel_session_resp cancel_session;
    } u;
};

/* Decodes a request body of function fn. An optional "header" object is accepted and ignored
 * (ES9+ requests carry none, §2.1); unknown fields are ignored. On failure the request is left
 * empty (nothing to free) and *refusal says what to answer. */
int rsp_es9_decode_request(enum rsp_es9_function fn, const char *json, size_t len,
                           struct rsp_es9_request *out, struct rsp_status_code *refusal);
/* Encodes a request (the LPA side; also used by tests and the fuzzer's round trip). */
int rsp_es9_encode_request(const struct rsp_es9_request *req, struct rsp_buf *out);
void rsp_es9_request_free(struct rsp_es9_request *req);

/* Encodes a success response: the envelope first, then the fields in the order of §2.3.
 * handleNotification has no body (HTTP 204): out is left empty. */
int rsp_es9_encode_response(const struct rsp_es9_response *resp, struct rsp_buf *out);
/* Decodes a response body: the header, and on Executed-Success/WithWarning the fields.
 * handleNotification: an empty body (HTTP 204) is success; a body is an envelope (a refusal). */
int rsp_es9_decode_response(enum rsp_es9_function fn, const char *json, size_t len,
                            struct rsp_es9_response *out);
void rsp_es9_response_free(struct rsp_es9_response *resp);

#endif
