/* LPA download attempts: recovery for intermittent networks, low batteries and restarts.
 *
 * A download is an attempt record (one per eUICC, persisted in a state directory) moving through
 * an explicit state machine:
 *
 *   Idle -> Authenticating -> Downloading(k of n) -> Verifying -> Installed | Enabled
 *                 |                 |
 *                 +----> Backoff(next_at) / Deferred(conditions) ----> (next attempt)
 *                 +----> GaveUp (refusal, or the retry budget is spent)
 *
 * - Retry policy: exponential back-off with jitter, capped, within a budget of attempts and time.
 *   Only transient failures are retried (network, HTTP 5xx/408/429, a lost authenticateClient
 *   answer, the eUICC reset mid-download); SGP.22 refusals (by the SM-DP+ or the eUICC), TLS
 *   trust failures and protocol violations are final.
 * - Device conditions (battery %, charging, signal bars) from options or a file the platform
 *   updates: heavy steps (starting a download, getBoundProfilePackage) wait while the battery is
 *   low and not charging or the signal is too weak.
 * - Resume: the BPP and the number of segments the eUICC took are saved, so a restarted LPA whose
 *   eUICC still holds the session (a separate card: PC/SC, modem, real device) sends the rest
 *   without fetching the BPP again. When the eUICC lost the session (reset, or the in-process
 *   software eUICC restarted with the LPA), or when a segment was in flight when the LPA died, the
 *   SGP.22 retry path is taken: a new session in which the SM-DP+ offers bppEuiccOtpk, the eUICC
 *   reuses its kept one-time key and the SM-DP+ re-binds the same BPP.
 * - Giving up after the eUICC session was opened sends CancelSession (timeout after the network
 *   budget, loadBppExecutionError after repeated eUICC resets) to the eUICC and to the SM-DP+, so
 *   the order can be rolled back; a cancel that cannot be delivered is kept and sent later.
 * - Every decision is appended to an event log (JSON lines, DIR/events.jsonl).
 */
#ifndef RSP_LPA_ATTEMPT_H
#define RSP_LPA_ATTEMPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/apdu.h"
#include "rsp/buf.h"
#include "rsp/es9p_client.h"

/* ---- retry policy ---- */

struct rsp_lpa_retry_policy {
    unsigned base_ms;      /* first back-off (default 1000) */
    unsigned cap_ms;       /* longest single back-off (default 60000) */
    unsigned max_attempts; /* attempts in all, the first included (default 8) */
    unsigned budget_s;     /* time from the first attempt after which no new one starts
                              (default 900; time spent deferred is not counted) */
};
void rsp_lpa_retry_policy_default(struct rsp_lpa_retry_policy *p);
/* Back-off after `failures` (>= 1) consecutive transient failures: d = min(cap, base * 2^(f-1)),
 * then a uniform draw in [d/2, d] from `rnd` ("equal jitter"). */
unsigned rsp_lpa_backoff_ms(const struct rsp_lpa_retry_policy *p, unsigned failures, uint32_t rnd);

enum rsp_lpa_fail_class {
    RSP_LPA_FAIL_NONE = 0,     /* success */
    RSP_LPA_FAIL_TRANSIENT,    /* network / server trouble: back off, retry */
    RSP_LPA_FAIL_EUICC_RESET,  /* the eUICC stopped answering: reopen it, retry */
    RSP_LPA_FAIL_SESSION_LOST, /* resume impossible: retry at once with a new session */
    RSP_LPA_FAIL_DEFERRED,     /* device conditions: wait for them, then retry */
    RSP_LPA_FAIL_FINAL,        /* a refusal or a fault a retry cannot fix */
};
enum rsp_lpa_fail_class rsp_lpa_classify(const struct rsp_lpa_download_result *r);
const char *rsp_lpa_fail_class_name(enum rsp_lpa_fail_class c);

/* ---- device conditions ---- */

struct rsp_lpa_conditions {
    int battery_pct; /* 0..100, -1 unknown */
    int charging;    /* 0 / 1, -1 unknown */
    int signal;      /* bars 0..4, -1 unknown */
};
struct rsp_lpa_conditions_policy {
    int min_battery; /* below this and not charging: wait (default 20) */
    int min_signal;  /* below this: wait (default 1) */
};
void rsp_lpa_conditions_unknown(struct rsp_lpa_conditions *c);
void rsp_lpa_conditions_policy_default(struct rsp_lpa_conditions_policy *p);
/* Parses "battery=NN", "charging=0|1|yes|no", "signal=N" lines ('#' comments, blanks allowed)
 * over the values already in *c. RSP_ESYNTAX (err says which line) leaves *c unchanged. */
int rsp_lpa_conditions_parse(const char *text, size_t len, struct rsp_lpa_conditions *c, char *err,
                             size_t err_len);
/* true when heavy steps may run; else why gets the reason ("battery 12% below 20%, not
 * charging"). Unknown values never block. */
bool rsp_lpa_conditions_ok(const struct rsp_lpa_conditions_policy *p,
                           const struct rsp_lpa_conditions *c, char *why, size_t why_len);

/* ---- the attempt record (DIR/attempt.json, DIR/attempt.bpp) ---- */

enum rsp_lpa_att_state {
    RSP_LPA_ATT_IDLE = 0,
    RSP_LPA_ATT_AUTHENTICATING,
    RSP_LPA_ATT_DOWNLOADING,
    RSP_LPA_ATT_VERIFYING,
    RSP_LPA_ATT_INSTALLED,
    RSP_LPA_ATT_ENABLED,
    RSP_LPA_ATT_BACKOFF,
    RSP_LPA_ATT_DEFERRED,
    RSP_LPA_ATT_GAVE_UP,
    RSP_LPA_ATT_NSTATES
};
const char *rsp_lpa_att_state_name(enum rsp_lpa_att_state s);
/* 0 or RSP_ESTATE: the one table of allowed transitions (staying is always allowed). */
int rsp_lpa_att_transition_check(enum rsp_lpa_att_state from, enum rsp_lpa_att_state to);

struct rsp_lpa_attempt {
    enum rsp_lpa_att_state state;
    char eid[33];
    char smdp[256];
    char matching_id[65];
    bool enable;                   /* enable after verification */
    bool cc_required;              /* the order needs a confirmation code (never stored) */
    char tid[2 * RSP_TID_MAX + 1]; /* hex; empty: no session yet */
    bool has_bpp;                  /* DIR/attempt.bpp holds the BPP of tid */
    size_t segments;               /* n */
    size_t acked;                  /* segments the eUICC took */
    size_t inflight;               /* segment being sent when saved (0: none) */
    unsigned attempts;             /* attempts started */
    unsigned failures;             /* consecutive transient failures */
    int64_t first_at;              /* unix seconds of the first attempt (shifted by deferrals) */
    int64_t next_at;               /* Backoff: not before */
    char last_class[16];
    char last_error[256];
    char pending_cancel[1024]; /* hex of a signed CancelSessionResponse not yet delivered */
    char cancel_tid[2 * RSP_TID_MAX + 1];
    struct rsp_lpa_expected expected; /* Stage 3 reference (from profileMetadata) */
    char iccid[21];
    uint8_t aid[16]; /* after the PIR */
};

/* RSP_ENOTFOUND when DIR has no record; RSP_ESYNTAX (err says why) when it cannot be read as
 * one: never half-loaded. bpp (may be NULL) gets the saved BPP when has_bpp. */
int rsp_lpa_attempt_load(const char *dir, struct rsp_lpa_attempt *a, struct rsp_buf *bpp, char *err,
                         size_t err_len);
/* Atomic replacement of the record (the directory is created when missing). */
int rsp_lpa_attempt_save(const char *dir, const struct rsp_lpa_attempt *a);
int rsp_lpa_attempt_save_bpp(const char *dir, const uint8_t *bpp, size_t len);
/* Removes the record and the BPP (the event log stays). */
int rsp_lpa_attempt_clear(const char *dir);
/* Appends one JSON object (no newline inside) as a line to DIR/events.jsonl. */
int rsp_lpa_event_append(const char *dir, const char *json_line);

/* ---- the driver ---- */

struct rsp_lpa_run_opts {
    struct rsp_lpa_download_opts dl; /* smdp_address, matching_id, cc, device, event callback */
    const char *eid;                 /* of the eUICC (the record belongs to it) */
    const char *state_dir;           /* required */
    bool enable;                     /* recorded for Stage 3 */
    struct rsp_lpa_retry_policy retry;
    struct rsp_lpa_conditions_policy cond_policy;
    struct rsp_lpa_conditions conditions; /* from options */
    const char *conditions_file;          /* re-read before heavy steps (over `conditions`) */
    unsigned conditions_poll_ms;          /* while deferred (default 1000) */
    bool no_wait; /* return RSP_LPA_DL_DEFERRED / a transient result instead of sleeping */
    /* After an eUICC reset: make `s` usable again (power-cycle / reconnect, reopen the ISD-R). */
    int (*reopen)(void *ctx, struct rsp_es10 *s);
    void *reopen_ctx;
    /* Tests: called after each save of the record with the event name ("acked", ...), the
     * segment index and the attempt; used to kill the process at an exact point. */
    void (*saved_hook)(void *ctx, const char *what, size_t index, unsigned attempt);
    void *saved_hook_ctx;
    uint32_t (*random)(void *ctx); /* NULL: from the OS */
    void *random_ctx;
    void (*sleep_ms)(void *ctx, unsigned ms); /* NULL: nanosleep */
    void *sleep_ctx;
};

/* Runs (or resumes, from the record in state_dir) a download until the profile is installed
 * (0, result->kind RSP_LPA_DL_OK, record left in Verifying for Stage 3), a final failure
 * (record GaveUp) or, with no_wait, a wait (record Backoff or Deferred, result kind DEFERRED or
 * the transient failure). A record of another download (other SM-DP+ or matchingId) is
 * RSP_ESTATE. *final_attempt (may be NULL) gets the record as left. */
int rsp_lpa_run(struct rsp_es10 *s, struct rsp_es9p_client *c, const struct rsp_lpa_run_opts *o,
                struct rsp_lpa_download_result *result, struct rsp_lpa_attempt *final_attempt);

/* Sends a CancelSession kept in the record (pending_cancel) to its SM-DP+; clears it once the
 * SM-DP+ answered. 0 when nothing is pending or it was delivered. */
int rsp_lpa_deliver_pending_cancel(struct rsp_es9p_client *c, const char *state_dir);

#endif
