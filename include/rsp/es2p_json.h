/* ES2+ JSON binding (SGP.22 §5.3, §6.5.2; sgp22-notes §7; addendum §2): DownloadOrder,
 * ConfirmOrder, CancelOrder, ReleaseProfile (operator -> SM-DP+) and HandleDownloadProgressInfo
 * (SM-DP+ -> operator). Same conventions as rsp/es9p_json.h.
 *
 * ES2+ requests carry a mandatory header {functionRequesterIdentifier, functionCallIdentifier}.
 * ICCIDs are accepted with 19 or 20 digits and an optional trailing F (stripped on input) and
 * emitted as 20 characters (a 19-digit ICCID gets the F pad). Lenient input, strict output
 * (addendum §2.11): HandleDownloadProgressInfo accepts "timeStamp" and a string
 * notificationPointId, and emits "timestamp" and an integer.
 */
#ifndef RSP_ES2P_JSON_H
#define RSP_ES2P_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "rsp/buf.h"
#include "rsp/es9p_json.h"

enum rsp_es2_function {
    RSP_ES2_DOWNLOAD_ORDER = 0,
    RSP_ES2_CONFIRM_ORDER,
    RSP_ES2_CANCEL_ORDER,
    RSP_ES2_RELEASE_PROFILE,
    RSP_ES2_HANDLE_DOWNLOAD_PROGRESS_INFO,
    RSP_ES2_NFUNCTIONS
};
const char *rsp_es2_function_name(enum rsp_es2_function f);
int rsp_es2_function_from_name(const char *name, enum rsp_es2_function *out);

#define RSP_ES2_TEXT_MAX 64

struct rsp_es2_req_header {
    char function_requester_identifier[128];
    char function_call_identifier[128];
};

struct rsp_es2_download_order_req {
    char eid[33];   /* empty when absent */
    char iccid[21]; /* digits, empty when absent (conditional with profile_type) */
    char profile_type[RSP_ES2_TEXT_MAX + 1];
};
struct rsp_es2_download_order_resp {
    char iccid[21];
};

struct rsp_es2_confirm_order_req {
    char iccid[21];
    char eid[33];
    char matching_id[RSP_ES2_TEXT_MAX + 1];
    char confirmation_code[RSP_ES2_TEXT_MAX + 1]; /* plain text (addendum §2.10) */
    char smds_address[256];
    bool release_flag;
};
struct rsp_es2_confirm_order_resp {
    char eid[33]; /* omitted when empty */
    char matching_id[RSP_ES2_TEXT_MAX + 1];
    char smdp_address[256]; /* omitted when empty */
};

enum rsp_es2_final_status { RSP_ES2_FINAL_AVAILABLE = 0, RSP_ES2_FINAL_UNAVAILABLE };
struct rsp_es2_cancel_order_req {
    char iccid[21];
    char eid[33];
    char matching_id[RSP_ES2_TEXT_MAX + 1];
    enum rsp_es2_final_status final_status; /* finalProfileStatusIndicator, mandatory */
};

struct rsp_es2_release_profile_req {
    char iccid[21];
};

struct rsp_es2_hdpi_req {
    char eid[33];
    char iccid[21];
    char profile_type[RSP_ES2_TEXT_MAX + 1];
    char timestamp[40]; /* as received / to send, e.g. 2026-07-01T00:00:00Z */
    int notification_point_id;
    struct rsp_es_exec_status notification_point_status;
    struct rsp_buf result_data; /* empty when absent */
};

struct rsp_es2_request {
    enum rsp_es2_function fn;
    struct rsp_es2_req_header header;
    union {
        struct rsp_es2_download_order_req download_order;
        struct rsp_es2_confirm_order_req confirm_order;
        struct rsp_es2_cancel_order_req cancel_order;
        struct rsp_es2_release_profile_req release_profile;
        struct rsp_es2_hdpi_req hdpi;
    } u;
};

struct rsp_es2_response {
    enum rsp_es2_function fn;
    struct rsp_es_exec_status status;
    union {
        struct rsp_es2_download_order_resp download_order;
        struct rsp_es2_confirm_order_resp confirm_order;
    } u; /* CancelOrder and ReleaseProfile have only the header; HDPI has no body (204) */
};

int rsp_es2_decode_request(enum rsp_es2_function fn, const char *json, size_t len,
                           struct rsp_es2_request *out, struct rsp_status_code *refusal);
int rsp_es2_encode_request(const struct rsp_es2_request *req, struct rsp_buf *out);
void rsp_es2_request_free(struct rsp_es2_request *req);

int rsp_es2_encode_response(const struct rsp_es2_response *resp, struct rsp_buf *out);
int rsp_es2_decode_response(enum rsp_es2_function fn, const char *json, size_t len,
                            struct rsp_es2_response *out);

#endif
