/* SM-DP+ admin listener (issue #6 items 2 and 5): Prometheus /metrics, the NOC dashboard (one HTML
 * page with its own JS and CSS, embedded in the binary) and its JSON data, on a listener of their
 * own (never the ES9+ port), every route behind an authentication.
 *
 * Data: the store's telemetry aggregates only (rsp_store_tele_totals / rsp_store_tele_series), so
 * every rsp-smdp process of a deployment answers the same and no request scans raw telemetry rows;
 * the dashboard adds the activation-operations figures of rsp/act.h (order funnel by stage,
 * active quarantines, pushes handed to a channel without a first contact yet).
 *
 * Authentication: an admin auth file of `bearer TOKEN` and/or `basic USER:PASSWORD` lines; only
 * the SHA-256 of each accepted Authorization value is kept, compared in constant time; a request
 * without a matching one gets 401 with a Basic challenge. Credentials are never logged.
 */
#ifndef RSP_ADMIN_H
#define RSP_ADMIN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "rsp/http_server.h"
#include "rsp/store.h"

#define RSP_ADMIN_MAX_CREDS 16

struct rsp_admin_auth {
    size_t n;
    uint8_t sha256[RSP_ADMIN_MAX_CREDS][32]; /* of "bearer TOKEN" / "basic BASE64" */
};

/* Reads an auth file (lines `bearer TOKEN`, `basic USER:PASSWORD`, `#` comments, blank lines).
 * RSP_EIO when unreadable, RSP_ESYNTAX (err says which line, never the secret) when a line is
 * malformed or there is no credential at all. */
int rsp_admin_auth_load(const char *path, struct rsp_admin_auth *out, char *err, size_t err_len);
/* Parses the same text from memory. */
int rsp_admin_auth_parse(const char *text, size_t len, struct rsp_admin_auth *out, char *err,
                         size_t err_len);
/* True when the Authorization header value matches one credential (scheme case-insensitive). */
bool rsp_admin_auth_check(const struct rsp_admin_auth *a, const char *authorization);

struct rsp_admin {
    struct rsp_store_pool *stores;
    const struct rsp_admin_auth *auth;
    unsigned window_s;          /* dashboard: the last window_s seconds (0 = 86400) */
    unsigned period_s;          /* telemetry period (0 = 60) */
    uint64_t (*failures)(void); /* telemetry records not written (may be NULL) */
    time_t (*clock)(void *ctx); /* NULL: time(NULL) */
    void *clock_ctx;
};

/* The routes of the admin listener (ctx: struct rsp_admin): GET /metrics, /dashboard,
 * /dashboard/app.js, /dashboard/app.css, /api/dashboard. Returns the number written (<= max). */
size_t rsp_admin_routes(struct rsp_admin *a, struct rsp_http_route *out, size_t max);

/* The JSON of /api/dashboard for the window ending at `now` (also used by tests). */
int rsp_admin_dashboard_json(const struct rsp_admin *a, struct rsp_store *st, int64_t now,
                             struct rsp_buf *out);
/* The body of /metrics (Prometheus text 0.0.4). */
int rsp_admin_metrics(const struct rsp_admin *a, struct rsp_store *st, struct rsp_buf *out);

#endif
