/* Post-activation: reconciliation of billing and network-attach events with installs, rollback
 * procedures with an SLA, eSIM vs physical-SIM parity, privacy erasure and retention
 * (docs/ARCHITECTURE.md "Post-activation", docs/AUDIT.md "Privacy").
 *
 * Layers: the parsers, the matcher and the statistics are pure (bytes and arrays in, results
 * out); the store wrappers below are the only way these data enter or leave a database; rspctl
 * and rsp-smdp do the I/O. */
#ifndef RSP_RECON_H
#define RSP_RECON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/buf.h"
#include "rsp/store.h"

/* ---- events ---- */

enum rsp_recon_kind {
    RSP_RECON_BILLING = 0, /* a subscription billed on a plan */
    RSP_RECON_ATTACH,      /* the network saw the subscription attach */
    RSP_RECON_PHYSICAL,    /* a physical-SIM activation (parity baseline) */
    RSP_RECON_NKINDS
};

#define RSP_RECON_ID_MAX   64
#define RSP_RECON_TEXT_MAX 64

/* One imported event. Identifiers are as received (digits), or pseudonyms after an erasure. */
struct rsp_recon_event {
    enum rsp_recon_kind kind;
    char event_id[RSP_RECON_ID_MAX + 1]; /* unique per kind: a re-import is a no-op */
    char iccid[21];
    char imsi[16];
    char eid[33];  /* 32 digits, or a pseudonym */
    char imei[33]; /* 15-16 digits, or a pseudonym */
    char customer[RSP_RECON_TEXT_MAX + 1];
    char plan[RSP_RECON_TEXT_MAX + 1]; /* billing: the plan billed; physical: the plan ordered */
    char cohort[RSP_RECON_TEXT_MAX + 1];
    int64_t at;         /* unix seconds: billed / attached / activated */
    int64_t started_at; /* physical: when the activation was ordered (0 unknown) */
    bool ok;            /* physical: the activation succeeded; others: true */
};

const char *rsp_recon_kind_name(enum rsp_recon_kind k); /* "billing", "attach", "physical" */
int rsp_recon_kind_from_name(const char *name, enum rsp_recon_kind *out);

/* Import formats. CSV: a header line naming the columns (any order; unknown columns are refused),
 * then one event per line; fields may be double-quoted ("" inside). JSON lines: one object per
 * line with the same names. Columns: event_id (required), iccid, imsi, eid, imei, customer,
 * plan (alias tariff), cohort, timestamp (required; unix seconds or UTC RFC 3339
 * "YYYY-MM-DDTHH:MM:SSZ"), ordered_at (physical), outcome ("ok"/"failed", physical; default ok).
 * At least one of iccid, imsi, eid. Every value is checked (digits and lengths). */
enum rsp_recon_format { RSP_RECON_CSV = 0, RSP_RECON_JSONL };

#define RSP_RECON_LINE_MAX 4096

/* Parses a whole file; calls cb for every event. A bad line stops the parse: RSP_ESYNTAX with
 * "line N: why" in err, and nothing should be stored (the caller imports only after a clean
 * parse). A non-zero cb return stops and is returned. */
typedef int (*rsp_recon_event_cb)(void *arg, const struct rsp_recon_event *ev);
int rsp_recon_parse(enum rsp_recon_format fmt, enum rsp_recon_kind kind, const char *data,
                    size_t len, rsp_recon_event_cb cb, void *arg, char *err, size_t err_len);
/* One JSON object (the HTTP endpoint's body element); same rules. */
int rsp_recon_parse_json_object(const void *json_t_obj, enum rsp_recon_kind kind,
                                struct rsp_recon_event *out, char *err, size_t err_len);
/* "YYYY-MM-DDTHH:MM:SSZ" or decimal seconds -> unix seconds. */
int rsp_recon_parse_time(const char *s, int64_t *out);

/* Events pushed over HTTP (src/smdp/recon_http.c): POST RSP_RECON_HTTP_PATH on the ES2+
 * listener, ES2+ authentication; ctx is the struct rsp_es2p_http_ctx of the ES2+ routes. */
#define RSP_RECON_HTTP_PATH "/rspkit/recon/v1/events"
struct rsp_http_request;
struct rsp_http_response;
int rsp_recon_http_handler(void *ctx, const struct rsp_http_request *req,
                           struct rsp_http_response *resp);

/* ---- store: events ---- */

/* Imports a batch in one transaction, idempotent by (kind, event_id): *inserted (may be NULL)
 * counts the new ones; one audit record ("recon-import", key the kind, reason the counts). */
int rsp_store_recon_import(struct rsp_store *st, const struct rsp_recon_event *ev, size_t n,
                           const char *actor, size_t *inserted);
/* Every event of one kind (kind < 0: all), by kind then event_id. */
int rsp_store_recon_walk(struct rsp_store *st, int kind, rsp_store_recon_cb cb, void *arg);
/* Records that `action` was applied to discrepancy (kind, subject), with an audit record, in one
 * transaction: 0, or 1 (nothing written) when it was already recorded. */
int rsp_store_recon_action_mark(struct rsp_store *st, const char *kind, const char *subject,
                                const char *action, const char *actor);

/* ---- matcher ---- */

enum rsp_recon_disc {
    RSP_DISC_RELEASED_NOT_INSTALLED =
        0,                           /* released (or downloaded), no install after release_ttl */
    RSP_DISC_INSTALLED_NOT_ATTACHED, /* installed > attach_grace ago, no attach event */
    RSP_DISC_BILLED_NOT_INSTALLED,   /* billing event for a subscription not installed */
    RSP_DISC_INSTALLED_NOT_BILLED,   /* installed > billing_grace ago, no billing event */
    RSP_DISC_IMSI_MISMATCH,          /* event IMSI != the profile's IMSI */
    RSP_DISC_TARIFF_MISMATCH,        /* billed plan != the order's tariff */
    RSP_DISC_NKINDS
};
const char *rsp_recon_disc_name(enum rsp_recon_disc d); /* "released-not-installed", ... */
int rsp_recon_disc_from_name(const char *name, enum rsp_recon_disc *out);

/* The compact view of a profile the matcher needs. */
struct rsp_recon_profile {
    char iccid[21];
    char imsi[16];
    char eid[33];
    enum rsp_profile_state state;
    int64_t state_since;
    char tariff[RSP_RECON_TEXT_MAX + 1]; /* the order's tariff ("" unknown: not compared) */
};

struct rsp_recon_params {
    int64_t now;
    int64_t release_ttl;   /* seconds */
    int64_t attach_grace;  /* seconds */
    int64_t billing_grace; /* seconds */
};

/* One discrepancy: per subscription (subject = ICCID, or the event's IMSI/EID when it matched
 * no profile) and kind, never per event; n_events counts the events behind it. */
struct rsp_recon_finding {
    enum rsp_recon_disc kind;
    char subject[33];
    char event_id[RSP_RECON_ID_MAX + 1]; /* the first event involved ("" for state-only kinds) */
    char expected[RSP_RECON_TEXT_MAX + 1];
    char seen[RSP_RECON_TEXT_MAX + 1];
    unsigned n_events;
};

struct rsp_recon;
/* A matcher over n profiles (copied; hash-indexed by ICCID, IMSI and EID). */
int rsp_recon_new(const struct rsp_recon_profile *p, size_t n, struct rsp_recon **out);
void rsp_recon_free(struct rsp_recon *r);
/* Feeds one event (any order; O(1) expected). Physical events register their ICCID as a
 * physical SIM so its billing is not an eSIM discrepancy. */
int rsp_recon_add_event(struct rsp_recon *r, const struct rsp_recon_event *ev);
/* Produces the findings (sorted by kind, then subject) into *out (malloc'd, caller frees) and the
 * count per kind. */
int rsp_recon_findings(struct rsp_recon *r, const struct rsp_recon_params *prm,
                       struct rsp_recon_finding **out, size_t *n, size_t counts[RSP_DISC_NKINDS]);

/* Sets the order tariff of a profile after rsp_recon_new (RSP_ENOTFOUND: no such ICCID). */
int rsp_recon_set_tariff(struct rsp_recon *r, const char *iccid, const char *tariff);

/* Loads the profiles (with their order tariffs, rsp_recon_orders) and every event of a store
 * into a matcher. */
int rsp_recon_load(struct rsp_store *st, struct rsp_recon **out);

/* The activation orders' data per reserved ICCID: tariff plan and customer reference (branch
 * ops, rsp_act_order_list). THE one place reconciliation reads the orders. */
typedef int (*rsp_recon_order_cb)(void *arg, const char *iccid, const char *tariff,
                                  const char *customer);
int rsp_recon_orders(struct rsp_store *st, rsp_recon_order_cb cb, void *arg);

/* ---- rollback ---- */

enum rsp_fail_kind {
    RSP_FAIL_DOWNLOAD = 0, /* the download did not complete (session expired after the BPP was
                              bound, attempt limit, package refused at binding) */
    RSP_FAIL_INSTALL,      /* the LPA reported loadBppExecutionError (CancelSession reason 5) */
    RSP_FAIL_PIR,          /* a PIR with an errorResult */
    RSP_FAIL_CANCELLED,    /* CancelSession endUserRejection / pprNotAllowed / undefined, or the
                              confirmation-code limit */
    RSP_FAIL_TTL,          /* the released order was not downloaded within its lifetime */
    RSP_FAIL_VERIFY,       /* the device's verification failed: CancelSession metadataMismatch
                              (4) or `rspctl rollback report --kind verification-failed` */
    RSP_FAIL_OTHER,        /* an Error whose cause is not one of the above */
    RSP_FAIL_NKINDS
};
enum rsp_rollback_policy {
    RSP_RB_AVAILABLE = 0, /* back to stock: -> Available (order data cleared) */
    RSP_RB_QUARANTINE,    /* retired: -> Unavailable */
    RSP_RB_RERELEASE,     /* the same order again for the same EID and matchingId: Released */
    RSP_RB_NPOLICIES
};
const char *rsp_fail_kind_name(enum rsp_fail_kind k); /* "download-failed", ... */
int rsp_fail_kind_from_name(const char *name, enum rsp_fail_kind *out);
const char *rsp_rollback_policy_name(enum rsp_rollback_policy p);
int rsp_rollback_policy_from_name(const char *name, enum rsp_rollback_policy *out);

struct rsp_rollback_config {
    enum rsp_rollback_policy policy[RSP_FAIL_NKINDS];
    int64_t sla;          /* seconds from failure to rollback */
    int64_t order_ttl;    /* Released longer than this (0: never) is a TTL failure */
    unsigned max_per_run; /* rollbacks per sweep (0: unlimited) */
};
/* The defaults: download-failed and install-failed re-release; pir-error, verification-failed
 * and other quarantine; cancelled and ttl-expired back to Available; SLA 300 s. */
void rsp_rollback_config_default(struct rsp_rollback_config *c);
/* Refuses policies that could hand one profile to two eUICCs: a download failure includes a
 * session that expired after the bound profile package was delivered, whose installation result
 * never came back, so the profile may be installed on that eUICC; "available" would offer it to
 * another EID. 0, or RSP_EINVAL with why (may be NULL). */
int rsp_rollback_config_check(const struct rsp_rollback_config *c, char *why, size_t why_len);

/* One rollback (table rollbacks): opened when a failure is detected, closed once the policy's
 * transitions are done. */
struct rsp_rollback {
    int64_t id;
    char iccid[21];
    char kind[24];     /* rsp_fail_kind_name */
    int64_t failed_at; /* when the profile entered the failed state */
    char detail[128];
    char policy[24];
    char outcome[64]; /* the final state, or why nothing could be done */
    int64_t opened_at;
    int64_t done_at; /* 0 while open */
};

/* Opens a rollback (one audit record "rollback" key ICCID, to "open:KIND"): 0 with rb->id set, or
 * 1 when one exists for (iccid, kind, failed_at) (rb->id and rb->done_at then read from it). */
int rsp_store_rollback_open(struct rsp_store *st, struct rsp_rollback *rb, const char *actor);
/* Every rollback, or only the open ones, by id. */
int rsp_store_rollback_walk(struct rsp_store *st, bool open_only, rsp_store_rollback_cb cb,
                            void *arg);
/* Closes an open rollback with rb->policy, rb->outcome, rb->done_at, with an audit record
 * ("rollback" key ICCID, from "open:KIND", to "done:POLICY"). RSP_ESTATE when already closed. */
int rsp_store_rollback_close(struct rsp_store *st, const struct rsp_rollback *rb,
                             const char *actor);

/* The failure kind of a profile in a failed state (Error, or Released with an error_reason);
 * false when the profile is not failed. */
bool rsp_rollback_classify(const struct rsp_profile *p, enum rsp_fail_kind *out);

struct rsp_rollback_run {
    unsigned detected; /* rollbacks opened */
    unsigned done;     /* rollbacks closed */
    unsigned lost;     /* lost a race (retried next run) */
    unsigned breaches; /* closed later than the SLA */
};
/* The sweeper: detects failed profiles (and Released ones past order_ttl, which first go to
 * Error "order expired"), opens a rollback for each new failure and applies the policy of its
 * kind as explicit, audited transitions (rsp_store_profile_update; actor "rollback"):
 * available: Error|Released -> Available; quarantine: Error|Released -> Unavailable; rerelease:
 * Error -> Available -> Linked (or Allocated without an EID) -> Released keeping EID and
 * matchingId, Released stays Released with the error cleared. */
int rsp_rollback_sweep(struct rsp_store *st, const struct rsp_rollback_config *cfg, int64_t now,
                       struct rsp_rollback_run *out);
/* A failure reported by the device or the operator (rspctl rollback report): a profile in
 * Released or Downloaded goes to Error with `why` as its error_reason (audited); the sweeper then
 * rolls it back. RSP_ESTATE for other states (Installed is final at the SM-DP+, SGP.22 §3.1.6). */
int rsp_rollback_report_failure(struct rsp_store *st, const char *iccid, enum rsp_fail_kind kind,
                                const char *actor);

/* ---- privacy ---- */

struct rsp_privacy_counts {
    int64_t iccids;   /* subscriptions linked to the customer */
    int64_t events;   /* event rows rewritten */
    int64_t profiles; /* profile rows whose EID was replaced */
    int64_t sessions; /* session rows scrubbed */
    int64_t outbox;   /* pending notifications rewritten */
    int64_t orders;   /* order rows (branch ops) */
};
/* Erases a customer's personal data in one transaction: the customer reference, the EIDs and
 * IMEIs of its subscriptions are replaced by their keyed pseudonyms (the store's key; without a
 * key they are emptied) in events, profiles, sessions (the eUICC certificate, which names the
 * EID, is dropped) and pending notifications; one audit record (entity "privacy", key and
 * subject the customer's pseudonym). RSP_ENOTFOUND when nothing names the customer, RSP_ESTATE
 * (nothing changed) while one of its profiles, or any profile linked to one of its EIDs, is in a
 * live download state (Linked, Confirmed, Released, Downloaded). */
int rsp_store_privacy_erase(struct rsp_store *st, const char *customer, const char *actor,
                            struct rsp_privacy_counts *out);

enum rsp_data_class {
    RSP_DATA_EVENTS = 0, /* reconciliation events (by event time) */
    RSP_DATA_SESSIONS,   /* ended download sessions (by last update) */
    RSP_DATA_ROLLBACKS,  /* closed rollbacks (by close time) */
    RSP_DATA_NCLASSES
};
const char *rsp_data_class_name(enum rsp_data_class c);
/* Deletes the rows of one data class older than `before` (one transaction, one audit record
 * when something was deleted). */
int rsp_store_retention_sweep(struct rsp_store *st, enum rsp_data_class cls, int64_t before,
                              const char *actor, int64_t *n_removed);

#endif
