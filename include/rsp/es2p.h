/* ES2+ at the SM-DP+ (SGP.22 §5.3; addendum §2): the operator-facing functions DownloadOrder,
 * ConfirmOrder, CancelOrder and ReleaseProfile as pure logic over the store, operator
 * authentication, and the HandleDownloadProgressInfo outbox (enqueue here, delivery in
 * es2p_notify.c).
 *
 * - Handlers take a decoded request (rsp/es2p_json.h) and fill a response. They return 0 when the
 *   response is filled, success or refusal (resp->status.status == RSP_ES_FAILED with the
 *   SGP.22 subject/reason code), and a negative RSP_E* only for an internal failure.
 * - Every state change goes through the store's compare-and-set with the operator id as the audit
 *   actor; a lost race is re-read and decided again. A refusal changes nothing.
 * - Isolation: an operator only sees profiles whose owner is its id. A foreign ICCID or profile
 *   type is refused exactly like an unknown one (8.2.1/3.9, 8.2.5/3.9).
 * - The confirmation code is only kept as SHA-256(CC) (addendum §2.10); no secret is logged.
 */
#ifndef RSP_ES2P_H
#define RSP_ES2P_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rsp/es2p_json.h"
#include "rsp/store.h"

#define RSP_ES2P_MAX_OPERATORS 32

/* One operator allowed on ES2+ (one `operator = ...` configuration line). */
struct rsp_es2p_operator {
    char id[RSP_STORE_TEXT_MAX + 1]; /* = functionRequesterIdentifier = profile owner */
    bool has_token;
    uint8_t token_sha256[32]; /* SHA-256 of the bearer token (the token itself is never kept) */
    bool has_cert;
    uint8_t cert_sha256[32]; /* client certificate fingerprint: parsed, NOT YET enforced (mTLS) */
    char callback_url[256];  /* HandleDownloadProgressInfo endpoint; empty = no notifications */
    char callback_ca[512];   /* PEM CA file for an https callback; empty = system store */
};

/* Parses "ID key=value ..." with keys token_sha256 (64 hex), cert_sha256 (64 hex),
 * callback_url, callback_ca. RSP_ESYNTAX with a message in err (may be NULL). */
int rsp_es2p_operator_parse(const char *spec, struct rsp_es2p_operator *out, char *err,
                            size_t err_len);

/* Authenticates an ES2+ call: `authorization` is the HTTP Authorization header ("Bearer TOKEN"),
 * `requester` the functionRequesterIdentifier. Returns 0 and *out = the operator, or 0 and
 * *out = NULL with `refusal` filled: 1.1/1.1 unknown or unauthenticated requester, 1.1/1.2 when
 * the token belongs to another operator than the requester identifier. */
int rsp_es2p_authenticate(const struct rsp_es2p_operator *ops, size_t n_ops,
                          const char *authorization, const char *requester,
                          const struct rsp_es2p_operator **out, struct rsp_status_code *refusal);

struct rsp_es2p_ctx {
    struct rsp_store *st;               /* this thread's connection */
    const struct rsp_es2p_operator *op; /* the authenticated operator */
    const char *smdp_address;           /* returned by ConfirmOrder; NULL/empty = omitted */
    unsigned cc_max_attempts;           /* stored with a confirmation code; 0 = 3 */
};

/* Dispatches on req->fn (the four operator functions; HandleDownloadProgressInfo is RSP_EINVAL).
 * The caller has checked req->header.functionRequesterIdentifier (rsp_es2p_authenticate). */
int rsp_es2p_handle(const struct rsp_es2p_ctx *ctx, const struct rsp_es2_request *req,
                    struct rsp_es2_response *resp);

/* ISO/IEC 7064 MOD 97-10 check of a 32-digit EID. */
bool rsp_es2p_eid_valid(const char *eid);
/* A new MatchingID from 0-9A-Z and '-' (SGP.22 §4.1.1): four groups of five characters drawn
 * uniformly from 0-9A-Z (about 103 bits). out must hold 24 bytes. */
int rsp_es2p_matching_id_generate(char out[24]);

/* Builds a HandleDownloadProgressInfo request for `p` and adds it to the outbox addressed to the
 * operator's callback (nothing is queued and 0 is returned when the operator has no callback).
 * `requester` is the SM-DP+'s functionRequesterIdentifier; result_data may be NULL. Used by the
 * ES9+ handlers at notification points 1-4 (addendum §2.7); no ES2+ function emits one. */
int rsp_es2p_notify_enqueue(struct rsp_store *st, const struct rsp_es2p_operator *op,
                            const char *requester, const struct rsp_profile *p, int point,
                            const struct rsp_es_exec_status *status, const uint8_t *result_data,
                            size_t result_len, int64_t now);

/* ---- delivery (es2p_notify.c) ---- */

struct rsp_es2p_notify_config {
    const struct rsp_es2p_operator *ops; /* for the CA file of a callback URL */
    size_t n_ops;
    unsigned max_attempts; /* attempts before an item is parked as failed; 0 = 10 */
    unsigned base_delay_s; /* first retry delay; doubles per attempt; 0 = 5 */
    unsigned max_delay_s;  /* cap of the delay; 0 = 3600 */
    unsigned timeout_s;    /* per request; 0 = 10 */
    FILE *log;             /* JSON lines (no bodies); NULL = silent */
};

/* The next_attempt_at of an item that reached max_attempts: kept in the outbox (durable,
 * inspectable) but never due again. */
#define RSP_ES2P_OUTBOX_FAILED INT64_MAX

/* One pass: POSTs every item due at `now`; HTTP 204 removes it, anything else schedules a retry
 * after base * 2^attempts (capped) plus up to 50% random jitter, or parks it as failed.
 * *delivered / *failed (may be NULL) count this pass's outcomes. */
int rsp_es2p_notify_run(struct rsp_store *st, const struct rsp_es2p_notify_config *cfg, int64_t now,
                        unsigned *delivered, unsigned *failed);

/* Background worker: its own store connection (opened with `open(arg)`), a pass every
 * poll_ms. */
struct rsp_es2p_notifier;
int rsp_es2p_notifier_start(const struct rsp_es2p_notify_config *cfg, rsp_store_open_fn open,
                            void *arg, unsigned poll_ms, struct rsp_es2p_notifier **out);
void rsp_es2p_notifier_stop(struct rsp_es2p_notifier *n);

/* ---- HTTP adapter (es2p_http.c) ---- */

struct rsp_es2p_http_ctx {
    const struct rsp_es2p_operator *ops;
    size_t n_ops;
    struct rsp_store_pool *stores;
    const char *smdp_address;
    unsigned cc_max_attempts;
};
struct rsp_http_request;
struct rsp_http_response;
/* rsp_http_handler for the four ES2+ paths (ctx: struct rsp_es2p_http_ctx): decode, authenticate,
 * rsp_es2p_handle, encode. The function is taken from the path. */
int rsp_es2p_http_handler(void *ctx, const struct rsp_http_request *req,
                          struct rsp_http_response *resp);

#endif
