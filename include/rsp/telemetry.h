/* SM-DP+ telemetry (issue #6 item 2): one record per ES9+ call and per download-session event,
 * kept in the store (rsp/store.h: rsp_store_tele_*) with incremental aggregates, exported as
 * Prometheus text (/metrics on the admin listener), as JSON/CSV reports (rspctl report) and as the
 * data of the NOC dashboard.
 *
 * Pure: structs, the latency histogram, the renderers and the report aggregation; no I/O.
 *
 * Privacy: telemetry never carries an EID or IMEI. Cohort labels are the device TAC (8 digits,
 * a device model), the EUM (the first 8 digits of the EID: the issuer, shared by all its eUICCs,
 * the same value the activation-integrity cohorts of rsp/act.h use), the profile type, and the
 * campaign and country of the activation order; a session row may carry the EID's keyed pseudonym
 * (rsp_store_subject).
 */
#ifndef RSP_TELEMETRY_H
#define RSP_TELEMETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/buf.h"

#define RSP_TELE_LABEL_MAX 64
#define RSP_TELE_FN_MAX    31
#define RSP_TELE_OUT_MAX   47

/* The cohort of a call or session. Empty string = unknown. */
struct rsp_tele_labels {
    char tac[9]; /* 8 digits */
    char eum[RSP_TELE_LABEL_MAX + 1];
    char profile_type[RSP_TELE_LABEL_MAX + 1];
    char campaign[RSP_TELE_LABEL_MAX + 1];
    char country[RSP_TELE_LABEL_MAX + 1];
};

/* Latency histogram: RSP_TELE_NBUCKETS counters, bucket i counts latencies <= the i-th upper bound
 * (and above the previous one); the last bucket is above the last bound (+Inf). The bounds, in
 * milliseconds: 1, 2.5, then Prometheus's default buckets (5 ms .. 10 s). */
#define RSP_TELE_NBUCKETS 14
extern const double rsp_tele_bucket_le_ms[RSP_TELE_NBUCKETS - 1];
/* Index of the bucket of a latency in microseconds. */
unsigned rsp_tele_bucket(uint64_t latency_us);

/* The pseudo-function of session events: rows with fn "session" count events (outcome = event
 * name), their latency is 0 and not a measurement. */
#define RSP_TELE_FN_SESSION "session"
/* Session events. */
#define RSP_TELE_EV_STARTED "started" /* initiateAuthentication succeeded */
#define RSP_TELE_EV_AUTHENTICATED                                                                  \
    "authenticated"                               /* authenticateClient: profile bound (attempt)   \
                                                   */
#define RSP_TELE_EV_DOWNLOADED   "downloaded"     /* getBoundProfilePackage delivered a BPP */
#define RSP_TELE_EV_INSTALLED    "installed"      /* PIR success */
#define RSP_TELE_EV_INSTALL_FAIL "install-failed" /* PIR with an errorResult */
#define RSP_TELE_EV_CANCELLED    "cancelled"      /* cancelSession accepted */

/* One ES9+ call (rsp_store_tele_record). */
struct rsp_tele_record {
    int64_t at_ms;                      /* wall clock, milliseconds */
    char fn[RSP_TELE_FN_MAX + 1];       /* ES9+ function name */
    char outcome[RSP_TELE_OUT_MAX + 1]; /* "ok", "8.1.1/3.8", "internal", "http-413" */
    uint64_t latency_us;
    char tid[33]; /* transactionId hex, "" when none */
    /* Empty labels are taken from the session row of tid (filled in on return). */
    struct rsp_tele_labels labels;
    char subject[40]; /* pseudonym of the EID ("p:..."), or "": session row only */
    char event[24];   /* a session event of this call (RSP_TELE_EV_*), or "" */
};

/* One aggregate row: counts of (period, fn, outcome, labels), or of (fn, outcome) for the totals
 * since the store was created (period 0, labels empty). */
struct rsp_tele_series {
    int64_t period; /* unix seconds: start of the period */
    char fn[RSP_TELE_FN_MAX + 1];
    char outcome[RSP_TELE_OUT_MAX + 1];
    struct rsp_tele_labels labels;
    int64_t n;
    int64_t sum_us;
    int64_t bucket[RSP_TELE_NBUCKETS]; /* per bucket, not cumulative */
};

/* A download session's telemetry row. */
struct rsp_tele_session {
    char tid[33];
    int64_t started_at, updated_at; /* unix seconds */
    struct rsp_tele_labels labels;
    char subject[40];
    char stage[RSP_TELE_FN_MAX + 1]; /* the last function called */
    char result[24];                 /* the last session event */
};

/* TAC (8 digits) from TBCD octets (3GPP TS 29.002: low nibble first): the first 8 digits of the
 * IMEI (8 octets) or the 4-octet TAC. RSP_ESYNTAX (out "") if a digit is not 0-9. */
int rsp_tele_tac_from_tbcd(const uint8_t *p, size_t n, char out[9]);

/* Adds one latency to a row (n, sum, bucket). */
void rsp_tele_series_add(struct rsp_tele_series *s, uint64_t latency_us);
/* Adds the counts of b to a. */
void rsp_tele_series_merge(struct rsp_tele_series *a, const struct rsp_tele_series *b);

/* Estimated q-quantile (0..1) in milliseconds from the histogram (linear within a bucket, as
 * Prometheus's histogram_quantile; the +Inf bucket answers the last finite bound). 0 if empty. */
double rsp_tele_quantile_ms(const int64_t bucket[RSP_TELE_NBUCKETS], double q);

/* Prometheus text exposition (version 0.0.4) of the totals: rsp_smdp_es9_requests_total{function,
 * outcome}, rsp_smdp_es9_request_duration_seconds histogram per function (_bucket{le}, _sum,
 * _count), rsp_smdp_sessions_total{event}, rsp_smdp_downloads_total,
 * rsp_smdp_installs_total{result}. Rows may come in any order; they are sorted. Appends to out. */
int rsp_tele_prometheus(const struct rsp_tele_series *totals, size_t n, struct rsp_buf *out);

/* ---- reports (rspctl report, dashboard) ---- */

enum rsp_tele_dim {
    RSP_TELE_DIM_NONE = 0,
    RSP_TELE_DIM_CAMPAIGN,
    RSP_TELE_DIM_EUM,
    RSP_TELE_DIM_TAC,
    RSP_TELE_DIM_PROFILE_TYPE,
    RSP_TELE_DIM_COUNTRY,
};
/* "campaign", "eum", "tac", "profile_type", "country" ("none" for NONE); RSP_ESYNTAX if unknown. */
int rsp_tele_dim_from_name(const char *name, enum rsp_tele_dim *out);
const char *rsp_tele_dim_name(enum rsp_tele_dim d);
/* The value of a dimension in a label set ("" for NONE). */
const char *rsp_tele_dim_value(const struct rsp_tele_labels *l, enum rsp_tele_dim d);

/* Filters of a report: a label that is non-empty must match exactly. */
struct rsp_tele_filter {
    int64_t from, to; /* period start in [from, to); to 0 = no upper bound */
    struct rsp_tele_labels match;
};
bool rsp_tele_filter_match(const struct rsp_tele_filter *f, const struct rsp_tele_series *s);

/* A string -> index map (open addressing, FNV-1a), for grouping many rows in linear time. */
struct rsp_tele_map {
    struct rsp_tele_map_entry {
        uint64_t h;
        char *key; /* NULL: free slot */
        size_t len, val;
    } * e;
    size_t cap, n;
};
/* The value of key (len bytes); when absent, adds it with value new_val and sets *added.
 * RSP_ENOMEM. */
int rsp_tele_map_get(struct rsp_tele_map *m, const char *key, size_t len, size_t new_val,
                     size_t *val, bool *added);
void rsp_tele_map_free(struct rsp_tele_map *m);

/* Accumulates aggregate rows into groups (cohort value, fn, outcome). */
struct rsp_tele_report {
    enum rsp_tele_dim by;
    struct rsp_tele_filter filter;
    struct rsp_tele_series *rows; /* labels: only the grouped dimension is set */
    size_t n, cap;
    int err;
    struct rsp_tele_map index; /* group key -> row */
};
void rsp_tele_report_init(struct rsp_tele_report *r, enum rsp_tele_dim by,
                          const struct rsp_tele_filter *f);
/* rsp_store_tele_cb: adds one aggregate row (skipped when the filter does not match). */
int rsp_tele_report_add(void *report, const struct rsp_tele_series *s);
/* Sorts the groups (cohort, fn, outcome). */
void rsp_tele_report_sort(struct rsp_tele_report *r);
/* JSON: {"by":..,"from":..,"to":..,"groups":[{"cohort":..,"function":..,"outcome":..,"count":..,
 * "latency_ms":{"mean":..,"p50":..,"p90":..,"p99":..}}]}. */
int rsp_tele_report_json(const struct rsp_tele_report *r, struct rsp_buf *out);
/* CSV with a header line: cohort,function,outcome,count,mean_ms,p50_ms,p90_ms,p99_ms. */
int rsp_tele_report_csv(const struct rsp_tele_report *r, struct rsp_buf *out);
void rsp_tele_report_free(struct rsp_tele_report *r);

#endif
