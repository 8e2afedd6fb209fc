/* ES9+ function handlers of the SM-DP+ (SGP.22 §3.1.2 - §3.1.3, §5.6.1 - §5.6.5).
 *
 * Pure logic over the store and the crypto layer: every handler reads the session row named by the
 * transactionId, decides, and writes back with compare-and-set; nothing is kept in process memory
 * between requests, so consecutive calls of one download may run in different processes.
 *
 * Return convention: 0 with resp->status filled (Executed-Success, or Failed with the exact
 * subject/reason code of the addendum §1.4 - §1.5), or a negative RSP_E* for an internal failure
 * (answered as 1.2/4.2 by rsp_es9p_handle_json). A refusal changes neither the profile nor the
 * session, except where noted (confirmation code attempts are counted, an error reported by the
 * eUICC ends the session, an exhausted attempt limit puts the profile in Error).
 *
 * Rollback rules (documented choices):
 * - cancelSession postponed/timeout: session Cancelled, a Downloaded profile returns to Released
 *   (the order can be retried); other reasons: session Cancelled, profile Error, ES2+ notified.
 * - PIR with an errorResult: session Finished, profile back to Released so the order can be
 *   retried (bounded by the download attempt limit), ES2+ notified with 8.2.10/4.2.
 */
#ifndef RSP_ES9P_H
#define RSP_ES9P_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "rsp/cert.h"
#include "rsp/crypto.h"
#include "rsp/es9p_json.h"
#include "rsp/http_server.h"
#include "rsp/act.h"
#include "rsp/ratelimit.h"
#include "rsp/store.h"

/* One SM-DP+ credential set: CERT.DPauth and CERT.DPpb with their keys, both issued under `ci`.
 * Several sets (one per curve / CI) may be configured. Not owned. */
struct rsp_es9p_creds {
    const struct rsp_cert *ci;
    const struct rsp_cert *dpauth;
    const struct rsp_key *sk_dpauth;
    const struct rsp_cert *dppb;
    const struct rsp_key *sk_dppb;
};

struct rsp_es2p_operator; /* rsp/es2p.h */

struct rsp_es9p_config {
    const char *host; /* this SM-DP+'s address (smdpAddress, serverAddress, notifications) */
    const struct rsp_es9p_creds *creds;
    size_t n_creds;
    /* CIs trusted for eUICC chains (CERT.EUM issuers); the CIs of `creds` are always trusted. */
    const struct rsp_cert *const *cis;
    size_t n_cis;
    unsigned session_lifetime;      /* seconds; 0 = 600 */
    unsigned max_download_attempts; /* authenticateClient per profile; 0 = unlimited */
    unsigned cc_max_attempts;       /* when the profile row says 0; 0 = 3 */
    /* Operators to notify (ES2+ HandleDownloadProgressInfo, §5.3.5): the one whose id is the
     * profile's owner; none configured or no callback URL = no notification. */
    const struct rsp_es2p_operator *operators;
    size_t n_operators;
    /* Seconds a Released order may wait for its download (counted from the profile's entry into
     * Released); past it, authenticateClient / getBoundProfilePackage answer 8.8.5/4.10 and the
     * order ends (profile Error, ES2+ notified). 0 = no limit. */
    unsigned order_lifetime;
    /* branch faults: authenticateClient calls per matchingId (after euiccSignature1 verified;
     * rsp/ratelimit.h, not owned, NULL = none): over it, HTTP 429 with Retry-After */
    struct rsp_ratelimit *per_matching_id;
    time_t (*clock)(void *ctx); /* NULL: time(NULL) */
    /* Telemetry (rsp/telemetry.h): one record per exchange through rsp_store_tele_record, in
     * periods of telemetry_period seconds (0 = 60); telemetry_off: none. A failure to record never
     * changes the answer; it is counted (rsp_es9p_tele_failures). */
    unsigned telemetry_period;
    bool telemetry_off;
    void *clock_ctx;
    /* TEST ONLY (never set by rsp-smdp): pin the transactionId (16 bytes) and serverChallenge
     * (16 bytes) of initiateAuthentication, for replaying recorded sessions. NULL: random. */
    const uint8_t *test_only_pinned_tid;
    const uint8_t *test_only_pinned_server_challenge;
    /* branch ops: activation operations (rsp/act.h). Activation tokens are checked at
     * authenticateClient (revoked: 8.2.6/3.8, expired: 8.8.5/4.10), a quarantined cohort refuses
     * new downloads (8.2.6/3.8 with a message naming the cohort), first contact and outcomes are
     * recorded with the cohort figures. NULL integrity: defaults and no quarantine verdict.
     * act_alert (may be NULL) is called for each quarantine an outcome tripped (for the log). */
    const struct rsp_act_integrity_config *integrity;
    void (*act_alert)(void *ctx, const struct rsp_act_quarantine *q);
    void *act_alert_ctx;
};

int rsp_es9p_initiate_authentication(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                                     const struct rsp_es9_initiate_auth_req *req,
                                     struct rsp_es9_response *resp);
int rsp_es9p_authenticate_client(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                                 const struct rsp_es9_auth_client_req *req,
                                 struct rsp_es9_response *resp);
int rsp_es9p_get_bound_profile_package(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                                       const struct rsp_es9_gbpp_req *req,
                                       struct rsp_es9_response *resp);
/* Notification MEP: resp->status is Success for any well-formed notification, whether or not it
 * matched a session (an unknown transactionId or a bad signature is ignored, §3.1.3.3). */
int rsp_es9p_handle_notification(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                                 const struct rsp_es9_handle_notification_req *req,
                                 struct rsp_es9_response *resp);
int rsp_es9p_cancel_session(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                            const struct rsp_es9_cancel_session_req *req,
                            struct rsp_es9_response *resp);

/* JSON in, JSON out: decodes the request of `fn`, runs the handler, encodes the answer. On return
 * 0, *http_status is 200 (body = success or failure envelope) or 204 (handleNotification, empty
 * body); `outcome` (may be NULL) gets the status for logs. Negative RSP_E* only for failures to
 * produce any answer. */
int rsp_es9p_handle_json(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                         enum rsp_es9_function fn, const char *json, size_t len,
                         struct rsp_buf *out, int *http_status, struct rsp_es_exec_status *outcome);
/* Same, and *tid (may be NULL) gets the transactionId of the exchange for the request log: the
 * request's, or the new one of initiateAuthentication; len 0 when there is none
 * (handleNotification, an undecodable body). */
int rsp_es9p_handle_json_tid(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                             enum rsp_es9_function fn, const char *json, size_t len,
                             struct rsp_buf *out, int *http_status,
                             struct rsp_es_exec_status *outcome, struct rsp_tid *tid);

/* HTTP adapter: the rsp_http_handler of the five ES9+ routes (the function is the last path
 * segment). ctx is a struct rsp_es9p_http; each worker thread uses its own store connection from
 * the pool. Fills the log outcome (status and code) and the transactionId (hex); never EIDs,
 * confirmation codes or keys. */
struct rsp_es9p_http {
    const struct rsp_es9p_config *cfg;
    struct rsp_store_pool *stores;
};
int rsp_es9p_http_handler(void *ctx, const struct rsp_http_request *req,
                          struct rsp_http_response *resp);

/* on_refused hook of struct rsp_http_config (ctx: struct rsp_es9p_http): records an ES9+ request
 * the HTTP server refused before the handler (outcome "http-405", "http-413", or the SGP.22 code
 * of a header refusal such as "1.2.1/2.1") as telemetry. Other paths are ignored. */
void rsp_es9p_tele_refused(void *ctx, const char *path, int http_status, const char *outcome,
                           double ms);
/* Telemetry records this process failed to write (store errors), since start. */
uint64_t rsp_es9p_tele_failures(void);

#endif
