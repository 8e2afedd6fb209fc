/* Activation operations (issue #6 items 1 and 3): campaigns, activation orders with their stages,
 * activation tokens, pushes, activation integrity per cohort and quarantines.
 *
 * Records live in the SM-DP+ store (rsp/store.h), written through the backend's generic
 * statements (x_begin / x_exec / x_audit / x_finish), so both backends run the same SQL
 * (src/smdp/act_store.c). Every change is one transaction together with its audit record(s)
 * (entity "order", "token", "push", "campaign", "quarantine"); audit records never carry a
 * customer reference or an EID: the subject is the keyed pseudonym of the customer reference
 * (rsp_store_subject, class customer), keys are order ids, matchingIds and cohort names.
 *
 * Stages of an order (one current stage; the time each stage was first reached is kept):
 *   pre-provisioned -> reserved -> released -> token-issued -> pushed -> first-contact ->
 *   installed | failed (failed -> first-contact again on a retry);
 *   identity-rejected (final, at creation); expired and revoked (the token) from any stage
 *   before installed. See rsp_act_stage_transition_check.
 *
 * Activation integrity: per cohort (campaign, EUM, TAC, profile type) the store counts pushes
 * (hand-overs to a channel), attempts (a download of a push's matchingId going past ES9+
 * authenticateClient), installs (PIR success) and failures (PIR error, cancelSession other than
 * postponed/timeout) in time buckets of `bucket_s` seconds, updated in the transaction of each
 * event. The verdict uses completed attempts only: a push nobody has scanned yet, or a download
 * still running, is no evidence against the cohort. The
 * failure rate of a cohort is failures / (installs + failures) over the window (the current
 * bucket and the window/bucket - 1 buckets before it); when installs + failures >= min_sample
 * and failures * 100 >= failure_pct * (installs + failures), the cohort is quarantined in that
 * same transaction (rsp_act_integrity_trips). A quarantine is lifted only by
 * rsp_act_quarantine_release (audited, actor and reason required).
 */
#ifndef RSP_ACT_H
#define RSP_ACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/store.h"

enum rsp_act_stage {
    RSP_ACT_PRE_PROVISIONED = 0,
    RSP_ACT_IDENTITY_REJECTED,
    RSP_ACT_RESERVED,
    RSP_ACT_RELEASED,
    RSP_ACT_TOKEN_ISSUED,
    RSP_ACT_PUSHED,
    RSP_ACT_FIRST_CONTACT,
    RSP_ACT_INSTALLED,
    RSP_ACT_FAILED,
    RSP_ACT_EXPIRED,
    RSP_ACT_REVOKED,
    RSP_ACT_NSTAGES
};

/* "pre-provisioned", "identity-rejected", ... NULL out of range. */
const char *rsp_act_stage_name(enum rsp_act_stage s);
/* RSP_ESYNTAX if unknown. */
int rsp_act_stage_from_name(const char *name, enum rsp_act_stage *out);
/* 0 when from -> to is a transition (same stage: always 0), RSP_ESTATE otherwise. */
int rsp_act_stage_transition_check(enum rsp_act_stage from, enum rsp_act_stage to);

#define RSP_ACT_TEXT 64

struct rsp_act_order {
    char order_id[RSP_ACT_TEXT + 1]; /* [A-Za-z0-9._:-], not a customer reference */
    char customer_ref[RSP_ACT_TEXT + 1];
    char tariff_plan[RSP_ACT_TEXT + 1];
    char campaign[RSP_ACT_TEXT + 1];
    char country[8];
    char profile_type[RSP_ACT_TEXT + 1];
    char iccid[21]; /* requested (may be empty) or reserved */
    char eid[33];   /* empty when not known */
    char eum[9];    /* EUM identification: the first 8 digits of the EID */
    char tac[9];    /* device TAC (8 digits) */
    char device_model[RSP_ACT_TEXT + 1];
    char operator_[RSP_ACT_TEXT + 1]; /* the ES2+ operator (profile owner) of the reservation */
    char id_result[8];                /* "pass", "fail" or "" (no check configured) */
    char id_reason[128];
    enum rsp_act_stage stage;
    char outcome[128]; /* reason of the last refusal / failure, "" otherwise */
    char matching_id[RSP_ACT_TEXT + 1];
    int64_t t[RSP_ACT_NSTAGES]; /* first time each stage was reached; 0 = never */
    int64_t created_at, updated_at, version;
};

struct rsp_act_campaign {
    char name[RSP_ACT_TEXT + 1];
    char description[256];
    bool requires_acceptance;
    int64_t created_at;
};

struct rsp_act_token {
    char matching_id[RSP_ACT_TEXT + 1];
    char order_id[RSP_ACT_TEXT + 1];
    char activation_code[256];
    int64_t issued_at, expires_at, revoked_at;
    char revoke_reason[128];
};

struct rsp_act_push {
    int64_t id;
    char order_id[RSP_ACT_TEXT + 1];
    char matching_id[RSP_ACT_TEXT + 1];
    char channel[16];
    char channel_ref[RSP_ACT_TEXT + 1];
    int64_t issued_at, handed_at, first_contact_at, outcome_at;
    char outcome[16]; /* "", "installed", "failed" */
    char outcome_reason[128];
    char campaign[RSP_ACT_TEXT + 1], eum[9], tac[9], profile_type[RSP_ACT_TEXT + 1];
};

/* Cohort dimensions. */
enum rsp_act_dim { RSP_ACT_DIM_CAMPAIGN = 0, RSP_ACT_DIM_EUM, RSP_ACT_DIM_TAC, RSP_ACT_DIM_PTYPE };
#define RSP_ACT_NDIMS 4
/* "campaign", "eum", "tac", "profile-type"; NULL out of range. */
const char *rsp_act_dim_name(enum rsp_act_dim d);
int rsp_act_dim_from_name(const char *name, enum rsp_act_dim *out);

/* The cohort values of one download: empty values are not cohorts. */
struct rsp_act_cohort {
    char v[RSP_ACT_NDIMS][RSP_ACT_TEXT + 1];
};

struct rsp_act_integrity_config {
    unsigned window_s;    /* sliding window, seconds (default 3600) */
    unsigned bucket_s;    /* bucket width, seconds (default 60); window is rounded up to buckets */
    unsigned failure_pct; /* 1..100: quarantine at failures*100 >= pct*(installs+failures) */
    unsigned min_sample;  /* completed attempts (installs + failures) needed before a verdict */
    const char *webhook_url; /* alert webhook (outbox, retried); NULL/empty = log only */
};

/* Window arithmetic (pure). Buckets are keyed by their start time (a multiple of bucket_s), so
 * events counted with another bucket width (rspctl's pushes use the default) still fall into the
 * right window. The start of t's bucket, and the start of the first bucket inside the window at
 * now (the current bucket and the window/bucket - 1 before it). */
int64_t rsp_act_bucket_of(const struct rsp_act_integrity_config *c, int64_t t);
int64_t rsp_act_window_first(const struct rsp_act_integrity_config *c, int64_t now);
/* The verdict (pure): true when the completed sample reaches min_sample and the failure rate
 * reaches failure_pct. failure_pct 0 disables quarantine. */
bool rsp_act_integrity_trips(const struct rsp_act_integrity_config *c, int64_t installs,
                             int64_t failures);

struct rsp_act_figures {
    int64_t pushes;   /* tokens handed over to a channel */
    int64_t attempts; /* downloads started (first contact and retries) */
    int64_t installs, failures;
};

struct rsp_act_quarantine {
    enum rsp_act_dim dim;
    char value[RSP_ACT_TEXT + 1];
    bool active;
    int64_t since;
    char reason[256];
    struct rsp_act_figures at_trip;
    int64_t released_at;
    char released_by[RSP_ACT_TEXT + 1];
    char release_reason[256];
};

/* A quarantine that tripped during an event (for the caller's log line). */
struct rsp_act_alert {
    size_t n;
    struct rsp_act_quarantine q[RSP_ACT_NDIMS];
};

/* ---- campaigns ---- */
/* Creates or updates (description, requires_acceptance). Audited. */
int rsp_act_campaign_put(struct rsp_store *st, const struct rsp_act_campaign *c, const char *actor);
int rsp_act_campaign_get(struct rsp_store *st, const char *name, struct rsp_act_campaign *out);

/* ---- orders ---- */
/* Field checks of an order before it is stored (lengths, characters, EID check digits, TAC
 * digits): 0 or RSP_ESYNTAX with a static message in *why. */
int rsp_act_order_validate(const struct rsp_act_order *o, const char **why);
/* Inserts n orders in ONE transaction (all or none), each with its audit record. The stage is
 * o->stage (pre-provisioned or identity-rejected); created_at/updated_at/t[stage] set by the
 * store. A duplicate order id (in the batch or stored) refuses the whole batch with RSP_ESTATE
 * and *bad = its index. */
int rsp_act_order_insert(struct rsp_store *st, const struct rsp_act_order *o, size_t n,
                         const char *actor, size_t *bad);
int rsp_act_order_get(struct rsp_store *st, const char *order_id, struct rsp_act_order *out);
/* Compare-and-set update of every mutable field of `next` against cur's version; a stage change
 * must pass rsp_act_stage_transition_check and records t[stage] if not reached before. Audited
 * (from/to stage, reason). next->version/updated_at are set on success. */
int rsp_act_order_update(struct rsp_store *st, const struct rsp_act_order *cur,
                         struct rsp_act_order *next, const char *actor, const char *reason);

/* The latest order (by update) that names this ICCID (indexed); RSP_ENOTFOUND if none. */
int rsp_act_order_by_iccid(struct rsp_store *st, const char *iccid, struct rsp_act_order *out);

struct rsp_act_order_filter {
    const char *customer_ref, *campaign, *eid, *iccid, *matching_id; /* NULL/"" = any */
    const enum rsp_act_stage *stage;                                 /* NULL = any */
    size_t limit;                                                    /* 0 = no limit */
};
typedef int (*rsp_act_order_cb)(void *arg, const struct rsp_act_order *o);
int rsp_act_order_list(struct rsp_store *st, const struct rsp_act_order_filter *f,
                       rsp_act_order_cb cb, void *arg);

/* ---- tokens and pushes ---- */
/* Issues a token for an order: the token row, a push row (issued), the order to token-issued,
 * audited, in one transaction. RSP_ESTATE when the order moved (CAS) or the matchingId has a
 * token already. */
int rsp_act_token_issue(struct rsp_store *st, const struct rsp_act_order *cur,
                        const struct rsp_act_token *t, const char *actor);
int rsp_act_token_get(struct rsp_store *st, const char *matching_id, struct rsp_act_token *out);
/* Revokes: token revoked, order -> revoked (if not installed). RSP_ESTATE if already revoked. */
int rsp_act_token_revoke(struct rsp_store *st, const char *matching_id, const char *reason,
                         const char *actor, int64_t now);
/* Orders whose token expired by `now` (not revoked, not installed) move to expired; *n gets the
 * count. Each order in its own transaction. */
int rsp_act_token_expire(struct rsp_store *st, int64_t now, unsigned *n);

/* Records the hand-over of a token to a channel ("email", "sms", "app", "other") with the
 * channel's reference: the latest push of the matchingId if not yet handed over, else a new push
 * row. The order moves to pushed (from token-issued). RSP_ENOTFOUND for an unknown matchingId,
 * RSP_ESTATE for a revoked token. */
int rsp_act_push_record(struct rsp_store *st, const char *matching_id, const char *channel,
                        const char *ref, const char *actor, int64_t now, int64_t *push_id);
typedef int (*rsp_act_push_cb)(void *arg, const struct rsp_act_push *p);
int rsp_act_push_list(struct rsp_store *st, const char *order_id, rsp_act_push_cb cb, void *arg);

/* The SM-DP+ saw the matchingId in an authenticateClient that goes ahead (ES9+): first contact
 * of the latest push (attempt counted in the cohort buckets), the order to first-contact and its
 * EID/EUM filled in. 0, or RSP_ENOTFOUND when the matchingId has no token (not an activation
 * order: nothing recorded). */
int rsp_act_first_contact(struct rsp_store *st, const struct rsp_act_integrity_config *cfg,
                          const char *matching_id, const char *eid, int64_t now);
/* The outcome of the attempt (PIR / cancelSession): the push, the order (installed / failed),
 * the cohort buckets, the verdict per cohort and any new quarantine (plus its webhook outbox
 * item) in one transaction. *alert (may be NULL) gets the quarantines that tripped. */
int rsp_act_outcome(struct rsp_store *st, const struct rsp_act_integrity_config *cfg,
                    const char *matching_id, bool installed, const char *reason, int64_t now,
                    struct rsp_act_alert *alert);
/* The cohort of a download by matchingId (token -> order) with the EID the session saw (EUM) and
 * the profile type; usable without an order (then only EUM and profile type). */
void rsp_act_cohort_of(const struct rsp_act_order *o, const char *eid, const char *profile_type,
                       struct rsp_act_cohort *out);

/* ---- integrity and quarantine ---- */
int rsp_act_figures(struct rsp_store *st, const struct rsp_act_integrity_config *cfg,
                    enum rsp_act_dim dim, const char *value, int64_t now,
                    struct rsp_act_figures *out);
/* 1 with *q filled when one of the cohort's values is quarantined (active), 0 when none. */
int rsp_act_quarantined(struct rsp_store *st, const struct rsp_act_cohort *c,
                        struct rsp_act_quarantine *q);
int rsp_act_quarantine_get(struct rsp_store *st, enum rsp_act_dim dim, const char *value,
                           struct rsp_act_quarantine *out);
typedef int (*rsp_act_quarantine_cb)(void *arg, const struct rsp_act_quarantine *q);
/* All quarantines (active first), or only active ones. */
int rsp_act_quarantine_list(struct rsp_store *st, bool active_only, rsp_act_quarantine_cb cb,
                            void *arg);
/* Lifts an active quarantine: actor and reason required (RSP_EINVAL), RSP_ENOTFOUND if not
 * active. The cohort's buckets up to now are cleared so the verdict starts afresh. Audited. */
int rsp_act_quarantine_release(struct rsp_store *st, enum rsp_act_dim dim, const char *value,
                               const char *actor, const char *reason, int64_t now);
/* Quarantines a cohort by hand (tests, operator): audited. */
int rsp_act_quarantine_set(struct rsp_store *st, enum rsp_act_dim dim, const char *value,
                           const char *actor, const char *reason, int64_t now);

/* ---- funnel ---- */
struct rsp_act_funnel {
    int64_t total;
    int64_t current[RSP_ACT_NSTAGES]; /* sums to total */
    int64_t reached[RSP_ACT_NSTAGES]; /* orders that reached each stage at some time */
};
int rsp_act_funnel(struct rsp_store *st, const char *campaign, struct rsp_act_funnel *out);

/* ---- EUICCInfo2 seen per EID ---- */
int rsp_act_euicc_info_put(struct rsp_store *st, const char *eid, const uint8_t *der, size_t len,
                           int64_t now);
int rsp_act_euicc_info_get(struct rsp_store *st, const char *eid, struct rsp_buf *out);

/* ---- push hand-over endpoint (src/smdp/act_http.c) ----
 * rsp_http_handler on the ES2+ listener, ctx = struct rsp_es2p_http_ctx (same operators and
 * authentication as ES2+). Request and refusal codes: see act_http.c. */
#define RSP_ACT_PUSH_PATH "/rspkit/es2plus/recordPush"
struct rsp_http_request;
struct rsp_http_response;
int rsp_act_push_http_handler(void *ctx, const struct rsp_http_request *req,
                              struct rsp_http_response *resp);

/* ---- eUICC capability (pure) ----
 * Checks EUICCInfo2 (DER, BF22) against a profile before it is reserved: SGP.22 version (svn
 * major 2), free non-volatile memory (extCardResource) >= pkg_len, and a test profile needs
 * testProfileSupport. 0 fits, 1 does not (why says which), negative: EUICCInfo2 undecodable. */
int rsp_act_capability_check(const uint8_t *info2, size_t len, const struct rsp_profile *p,
                             size_t pkg_len, char *why, size_t why_len);

/* ---- acceptance gate hook (issue #6 item 4) ----
 * Called by bulk release of a campaign before anything is released. 0 = allowed; RSP_ESTATE with
 * a message in why = refused. The `accept` branch provides the real gate
 * (rsp_acceptance_gate); until it is wired, this allows every campaign that does not require
 * acceptance and refuses the ones that do. */
int rsp_act_acceptance_gate_hook(struct rsp_store *st, const struct rsp_act_campaign *c, char *why,
                                 size_t why_len);

#endif
