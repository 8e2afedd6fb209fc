/* SM-DP+ admin listener: /metrics, the NOC dashboard and its data (include/rsp/admin.h). */
#include "rsp/admin.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dashboard_assets.h"
#include "rsp/act.h"
#include "rsp/crypto.h"
#include "rsp/err.h"

/* ---- authentication ---- */

static int auth_add(struct rsp_admin_auth *a, const char *scheme, const char *cred, size_t len)
{
    if (a->n == RSP_ADMIN_MAX_CREDS)
        return RSP_ERANGE;
    struct rsp_buf v = RSP_BUF_INIT;
    rsp_buf_append(&v, scheme, strlen(scheme));
    rsp_buf_append_byte(&v, ' ');
    rsp_buf_append(&v, cred, len);
    int rc = v.err ? RSP_ENOMEM : rsp_sha256(v.data, v.len, a->sha256[a->n]);
    rsp_buf_free_secure(&v);
    if (rc == 0)
        a->n++;
    return rc;
}

int rsp_admin_auth_parse(const char *text, size_t len, struct rsp_admin_auth *out, char *err,
                         size_t err_len)
{
    if (!text || !out)
        return RSP_EINVAL;
    memset(out, 0, sizeof *out);
    if (err && err_len)
        err[0] = 0;
    size_t pos = 0;
    int lineno = 0, rc = 0;
    while (pos < len && rc == 0) {
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        lineno++;
        const char *l = text + pos;
        size_t n = end - pos;
        pos = end + 1;
        while (n && isspace((unsigned char)*l))
            l++, n--;
        while (n && isspace((unsigned char)l[n - 1]))
            n--;
        if (!n || *l == '#')
            continue;
        bool bearer = n > 7 && strncasecmp(l, "bearer ", 7) == 0;
        bool basic = n > 6 && strncasecmp(l, "basic ", 6) == 0;
        const char *v = l + (bearer ? 7 : 6);
        size_t vn = n - (size_t)(v - l);
        while (vn && isspace((unsigned char)*v))
            v++, vn--;
        bool printable = vn > 0;
        for (size_t i = 0; i < vn; i++)
            if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f)
                printable = false;
        if ((!bearer && !basic) || !printable || (basic && !memchr(v, ':', vn)) ||
            (bearer && vn < 16)) {
            if (err)
                snprintf(err, err_len,
                         "line %d: expected 'bearer TOKEN' (16+ characters) or 'basic "
                         "USER:PASSWORD'",
                         lineno);
            rc = RSP_ESYNTAX;
            break;
        }
        if (bearer) {
            rc = auth_add(out, "bearer", v, vn);
        } else {
            struct rsp_buf b64 = RSP_BUF_INIT;
            rc = rsp_base64_encode(&b64, (const uint8_t *)v, vn);
            if (rc == 0)
                rc = auth_add(out, "basic", (const char *)b64.data, b64.len);
            rsp_buf_free_secure(&b64);
        }
        if (rc == RSP_ERANGE && err)
            snprintf(err, err_len, "line %d: more than %d credentials", lineno,
                     RSP_ADMIN_MAX_CREDS);
    }
    if (rc == 0 && out->n == 0) {
        if (err)
            snprintf(err, err_len, "no credential (a 'bearer' or 'basic' line)");
        rc = RSP_ESYNTAX;
    }
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

int rsp_admin_auth_load(const char *path, struct rsp_admin_auth *out, char *err, size_t err_len)
{
    if (!path || !out)
        return RSP_EINVAL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (err)
            snprintf(err, err_len, "cannot read %s", path);
        return RSP_EIO;
    }
    struct rsp_buf b = RSP_BUF_INIT;
    char tmp[1024];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0 && b.len < 65536)
        rsp_buf_append(&b, tmp, n);
    bool bad = ferror(f) || b.len >= 65536 || b.err;
    fclose(f);
    rsp_memzero(tmp, sizeof tmp);
    int rc = bad ? RSP_EIO : rsp_admin_auth_parse((const char *)b.data, b.len, out, err, err_len);
    if (bad && err)
        snprintf(err, err_len, "cannot read %s (or larger than 64 KiB)", path);
    rsp_buf_free_secure(&b);
    return rc;
}

bool rsp_admin_auth_check(const struct rsp_admin_auth *a, const char *authorization)
{
    if (!a || !authorization || a->n == 0)
        return false;
    size_t n = strnlen(authorization, 4097);
    if (n > 4096)
        return false;
    const char *sp = memchr(authorization, ' ', n);
    if (!sp || sp == authorization || (size_t)(sp - authorization) > 16)
        return false;
    struct rsp_buf v = RSP_BUF_INIT;
    for (const char *p = authorization; p < sp; p++)
        rsp_buf_append_byte(&v, (uint8_t)tolower((unsigned char)*p));
    while (*sp == ' ')
        sp++;
    rsp_buf_append_byte(&v, ' ');
    rsp_buf_append(&v, sp, n - (size_t)(sp - authorization));
    uint8_t h[32];
    bool ok = false;
    if (!v.err && rsp_sha256(v.data, v.len, h) == 0) {
        unsigned match = 0;
        for (size_t i = 0; i < a->n; i++) { /* every credential, constant time each */
            unsigned d = 0;
            for (size_t k = 0; k < 32; k++)
                d |= h[k] ^ a->sha256[i][k];
            match |= d == 0;
        }
        ok = match != 0;
    }
    rsp_buf_free_secure(&v);
    return ok;
}

/* ---- data ---- */

static int64_t now_of(const struct rsp_admin *a)
{
    return (int64_t)(a->clock ? a->clock(a->clock_ctx) : time(NULL));
}

struct rows {
    struct rsp_tele_series *r;
    size_t n, cap;
};

static int rows_add(void *arg, const struct rsp_tele_series *s)
{
    struct rows *w = arg;
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        struct rsp_tele_series *n = realloc(w->r, cap * sizeof *n);
        if (!n)
            return RSP_ENOMEM;
        w->r = n;
        w->cap = cap;
    }
    w->r[w->n++] = *s;
    return 0;
}

static void put(struct rsp_buf *b, const char *s)
{
    rsp_buf_append(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void putf(struct rsp_buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        rsp_buf_append(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void jstr(struct rsp_buf *b, const char *s)
{
    rsp_buf_append_byte(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            rsp_buf_append_byte(b, '\\');
            rsp_buf_append_byte(b, c);
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            putf(b, "\\u%04x", c);
        } else {
            rsp_buf_append_byte(b, c);
        }
    }
    rsp_buf_append_byte(b, '"');
}

static int count_row(void *arg, int ncol, const char *const *val);

struct qcount {
    int64_t n[RSP_ACT_NDIMS];
};

static int quarantine_count(void *arg, const struct rsp_act_quarantine *q)
{
    struct qcount *c = arg;
    if (q->active && (unsigned)q->dim < RSP_ACT_NDIMS)
        c->n[q->dim]++;
    return 0;
}

/* Gauges of the activation operations (rsp/act.h): orders per current stage, active quarantines
 * per dimension, pushes without a first contact. Nothing when the store has no such tables. */
static int act_gauges(struct rsp_store *st, struct rsp_buf *out)
{
    struct rsp_act_funnel f;
    int rc = rsp_act_funnel(st, NULL, &f);
    if (rc == RSP_ESTATE)
        return 0;
    struct qcount q = {{0}};
    int64_t pushes = 0;
    if (rc == 0)
        rc = rsp_act_quarantine_list(st, true, quarantine_count, &q);
    if (rc == 0 && st->ops->x_exec)
        rc = st->ops->x_exec(st,
                             "SELECT count(*) FROM pushes WHERE handed_at > 0 AND"
                             " first_contact_at = 0",
                             NULL, 0, count_row, &pushes, NULL);
    if (rc)
        return rc;
    put(out, "# HELP rsp_smdp_activation_orders Activation orders per current stage.\n"
             "# TYPE rsp_smdp_activation_orders gauge\n");
    for (int i = 0; i < RSP_ACT_NSTAGES; i++)
        putf(out, "rsp_smdp_activation_orders{stage=\"%s\"} %lld\n",
             rsp_act_stage_name((enum rsp_act_stage)i), (long long)f.current[i]);
    put(out, "# HELP rsp_smdp_quarantined_cohorts Cohorts quarantined by activation integrity.\n"
             "# TYPE rsp_smdp_quarantined_cohorts gauge\n");
    for (int i = 0; i < RSP_ACT_NDIMS; i++)
        putf(out, "rsp_smdp_quarantined_cohorts{dimension=\"%s\"} %lld\n",
             rsp_act_dim_name((enum rsp_act_dim)i), (long long)q.n[i]);
    putf(out,
         "# HELP rsp_smdp_pushes_without_first_contact Pushes handed to a channel whose token "
         "has not reached the SM-DP+.\n"
         "# TYPE rsp_smdp_pushes_without_first_contact gauge\n"
         "rsp_smdp_pushes_without_first_contact %lld\n",
         (long long)pushes);
    return out->err ? RSP_ENOMEM : 0;
}

int rsp_admin_metrics(const struct rsp_admin *a, struct rsp_store *st, struct rsp_buf *out)
{
    struct rows w = {0};
    int rc = rsp_store_tele_totals(st, rows_add, &w);
    if (rc == 0)
        rc = rsp_tele_prometheus(w.r, w.n, out);
    free(w.r);
    if (rc == 0) {
        char line[256];
        snprintf(line, sizeof line,
                 "# HELP rsp_smdp_telemetry_write_failures_total Telemetry records this process "
                 "could not write.\n"
                 "# TYPE rsp_smdp_telemetry_write_failures_total counter\n"
                 "rsp_smdp_telemetry_write_failures_total %llu\n",
                 (unsigned long long)(a && a->failures ? a->failures() : 0));
        rsp_buf_append(out, line, strlen(line));
        rc = out->err ? RSP_ENOMEM : 0;
    }
    if (rc == 0)
        rc = act_gauges(st, out);
    return rc;
}

/* Success over time for one dimension: per cohort and period, the attempts (profile bound at
 * authenticateClient), the installs and the failures (PIR errors and cancelled sessions) that
 * happened in that period. The page plots installed / (installed + failed): the sessions that
 * ended in the period, so an attempt still running is not counted as a failure. */
struct point {
    int64_t t, attempts, installed, failed;
};
struct cohort {
    char name[RSP_TELE_LABEL_MAX + 1];
    struct point *p;
    size_t n, cap;
};

static int cohort_add(struct cohort **cs, size_t *ncs, struct rsp_tele_map *idx, const char *name,
                      int64_t t, int64_t att, int64_t ins, int64_t fail)
{
    size_t at;
    bool added;
    if (rsp_tele_map_get(idx, name, strlen(name), *ncs, &at, &added) != 0)
        return RSP_ENOMEM;
    if (added) {
        struct cohort *n = realloc(*cs, (*ncs + 1) * sizeof *n);
        if (!n)
            return RSP_ENOMEM;
        *cs = n;
        memset(&n[*ncs], 0, sizeof n[*ncs]);
        snprintf(n[*ncs].name, sizeof n[*ncs].name, "%s", name);
        (*ncs)++;
    }
    struct cohort *c = &(*cs)[at];
    if (!c->n || c->p[c->n - 1].t != t) {
        if (c->n == c->cap) {
            size_t cap = c->cap ? 2 * c->cap : 16;
            struct point *n = realloc(c->p, cap * sizeof *n);
            if (!n)
                return RSP_ENOMEM;
            c->p = n;
            c->cap = cap;
        }
        c->p[c->n++] = (struct point){t, 0, 0, 0};
    }
    c->p[c->n - 1].attempts += att;
    c->p[c->n - 1].installed += ins;
    c->p[c->n - 1].failed += fail;
    return 0;
}

static const enum rsp_tele_dim dims[] = {RSP_TELE_DIM_PROFILE_TYPE, RSP_TELE_DIM_TAC,
                                         RSP_TELE_DIM_EUM, RSP_TELE_DIM_CAMPAIGN,
                                         RSP_TELE_DIM_COUNTRY};
#define NDIMS (sizeof dims / sizeof dims[0])

static const char *const funnel_stages[] = {RSP_TELE_EV_STARTED, RSP_TELE_EV_AUTHENTICATED,
                                            RSP_TELE_EV_DOWNLOADED, RSP_TELE_EV_INSTALLED};

static int64_t event_count(const struct rows *w, const char *ev)
{
    int64_t n = 0;
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->r[i].fn, RSP_TELE_FN_SESSION) == 0 && strcmp(w->r[i].outcome, ev) == 0)
            n += w->r[i].n;
    return n;
}

/* ---- activation operations (rsp/act.h): order funnel, quarantines, pushes ---- */

static int quarantine_json(void *arg, const struct rsp_act_quarantine *q)
{
    struct rsp_buf *out = arg;
    char cohort[RSP_ACT_TEXT + 24];
    snprintf(cohort, sizeof cohort, "%s %s", rsp_act_dim_name(q->dim), q->value);
    put(out, out->data[out->len - 1] == '[' ? "{\"cohort\":" : ",{\"cohort\":");
    jstr(out, cohort);
    putf(out, ",\"since\":%lld,\"reason\":", (long long)q->since);
    jstr(out, q->reason);
    putf(out, ",\"attempts\":%lld,\"installs\":%lld,\"failures\":%lld}",
         (long long)q->at_trip.attempts, (long long)q->at_trip.installs,
         (long long)q->at_trip.failures);
    return 0;
}

static int count_row(void *arg, int ncol, const char *const *val)
{
    int64_t *n = arg;
    *n = ncol > 0 && val[0] ? strtoll(val[0], NULL, 10) : 0;
    return 0;
}

/* ,"ops_funnel":[...],"quarantines":[...],"pushes_without_first_contact":N -- or nothing at all
 * when the store has no activation-operations tables (the page then shows "n/a"). */
static int act_panels(struct rsp_store *st, struct rsp_buf *out)
{
    struct rsp_act_funnel f;
    int rc = rsp_act_funnel(st, NULL, &f);
    if (rc == RSP_ESTATE) /* a backend without the generic statements */
        return 0;
    if (rc)
        return rc;
    /* the path of an order, and the orders that reached each stage */
    static const enum rsp_act_stage path[] = {
        RSP_ACT_PRE_PROVISIONED, RSP_ACT_RESERVED,      RSP_ACT_RELEASED,  RSP_ACT_TOKEN_ISSUED,
        RSP_ACT_PUSHED,          RSP_ACT_FIRST_CONTACT, RSP_ACT_INSTALLED, RSP_ACT_FAILED};
    put(out, ",\"ops_funnel\":[");
    for (size_t i = 0; i < sizeof path / sizeof path[0]; i++) {
        put(out, i ? ",{\"stage\":" : "{\"stage\":");
        jstr(out, rsp_act_stage_name(path[i]));
        putf(out, ",\"count\":%lld,\"current\":%lld}", (long long)f.reached[path[i]],
             (long long)f.current[path[i]]);
    }
    put(out, "],\"quarantines\":[");
    rc = rsp_act_quarantine_list(st, true, quarantine_json, out);
    put(out, "]");
    /* one COUNT over the pushes (ops' generic statement), never a walk in this process */
    int64_t n = 0;
    if (rc == 0 && st->ops->x_exec)
        rc = st->ops->x_exec(st,
                             "SELECT count(*) FROM pushes WHERE handed_at > 0 AND"
                             " first_contact_at = 0",
                             NULL, 0, count_row, &n, NULL);
    putf(out, ",\"pushes_without_first_contact\":%lld", (long long)n);
    return rc;
}

int rsp_admin_dashboard_json(const struct rsp_admin *a, struct rsp_store *st, int64_t now,
                             struct rsp_buf *out)
{
    int64_t window = a->window_s ? a->window_s : 86400, period = a->period_s ? a->period_s : 60;
    int64_t from = now - window;
    from -= from % period;
    struct rows tot = {0}, ser = {0};
    int rc = rsp_store_tele_totals(st, rows_add, &tot);
    if (rc == 0)
        rc = rsp_store_tele_series(st, from, 0, rows_add, &ser);
    struct cohort *cs[NDIMS] = {0};
    size_t ncs[NDIMS] = {0};
    struct rsp_tele_map idx[NDIMS];
    memset(idx, 0, sizeof idx);
    for (size_t i = 0; rc == 0 && i < ser.n; i++) {
        const struct rsp_tele_series *x = &ser.r[i];
        if (strcmp(x->fn, RSP_TELE_FN_SESSION) != 0)
            continue;
        int64_t att = strcmp(x->outcome, RSP_TELE_EV_AUTHENTICATED) == 0 ? x->n : 0;
        int64_t ins = strcmp(x->outcome, RSP_TELE_EV_INSTALLED) == 0 ? x->n : 0;
        int64_t fail = strcmp(x->outcome, RSP_TELE_EV_INSTALL_FAIL) == 0 ||
                               strcmp(x->outcome, RSP_TELE_EV_CANCELLED) == 0
                           ? x->n
                           : 0;
        if (!att && !ins && !fail)
            continue;
        for (size_t d = 0; rc == 0 && d < NDIMS; d++)
            rc = cohort_add(&cs[d], &ncs[d], &idx[d], rsp_tele_dim_value(&x->labels, dims[d]),
                            x->period, att, ins, fail);
    }
    if (rc == 0) {
        putf(out, "{\"generated_at\":%lld,\"period\":%lld,\"from\":%lld,\"to\":%lld",
             (long long)now, (long long)period, (long long)from, (long long)now);
        /* totals since the store was created: the /metrics numbers */
        put(out, ",\"requests\":[");
        bool first = true;
        for (size_t i = 0; i < tot.n; i++) {
            if (strcmp(tot.r[i].fn, RSP_TELE_FN_SESSION) == 0)
                continue;
            put(out, first ? "{\"function\":" : ",{\"function\":");
            first = false;
            jstr(out, tot.r[i].fn);
            put(out, ",\"outcome\":");
            jstr(out, tot.r[i].outcome);
            putf(out, ",\"count\":%lld}", (long long)tot.r[i].n);
        }
        put(out, "],\"latency\":[");
        first = true;
        for (size_t i = 0; i < tot.n;) {
            struct rsp_tele_series f;
            memset(&f, 0, sizeof f);
            size_t j = i;
            while (j < tot.n && strcmp(tot.r[j].fn, tot.r[i].fn) == 0)
                rsp_tele_series_merge(&f, &tot.r[j++]);
            if (strcmp(tot.r[i].fn, RSP_TELE_FN_SESSION) != 0) {
                put(out, first ? "{\"function\":" : ",{\"function\":");
                first = false;
                jstr(out, tot.r[i].fn);
                putf(out, ",\"count\":%lld,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f}", (long long)f.n,
                     rsp_tele_quantile_ms(f.bucket, 0.5), rsp_tele_quantile_ms(f.bucket, 0.9),
                     rsp_tele_quantile_ms(f.bucket, 0.99));
            }
            i = j;
        }
        put(out, "],\"sessions\":{");
        static const char *const evs[] = {RSP_TELE_EV_STARTED,      RSP_TELE_EV_AUTHENTICATED,
                                          RSP_TELE_EV_DOWNLOADED,   RSP_TELE_EV_INSTALLED,
                                          RSP_TELE_EV_INSTALL_FAIL, RSP_TELE_EV_CANCELLED};
        for (size_t e = 0; e < sizeof evs / sizeof evs[0]; e++) {
            put(out, e ? "," : "");
            jstr(out, evs[e]);
            putf(out, ":%lld", (long long)event_count(&tot, evs[e]));
        }
        /* the window: funnel and success over time per cohort */
        put(out, "},\"funnel\":[");
        for (size_t e = 0; e < sizeof funnel_stages / sizeof funnel_stages[0]; e++) {
            put(out, e ? ",{\"stage\":" : "{\"stage\":");
            jstr(out, funnel_stages[e]);
            putf(out, ",\"count\":%lld}", (long long)event_count(&ser, funnel_stages[e]));
        }
        put(out, "],\"success\":{");
        for (size_t d = 0; d < NDIMS; d++) {
            put(out, d ? "," : "");
            jstr(out, rsp_tele_dim_name(dims[d]));
            put(out, ":[");
            for (size_t c = 0; c < ncs[d]; c++) {
                put(out, c ? ",{\"cohort\":" : "{\"cohort\":");
                jstr(out, cs[d][c].name);
                put(out, ",\"points\":[");
                for (size_t k = 0; k < cs[d][c].n; k++) {
                    const struct point *p = &cs[d][c].p[k];
                    putf(out, "%s[%lld,%lld,%lld,%lld]", k ? "," : "", (long long)p->t,
                         (long long)p->attempts, (long long)p->installed, (long long)p->failed);
                }
                put(out, "]}");
            }
            put(out, "]");
        }
        put(out, "}");
        rc = act_panels(st, out);
        put(out, "}\n");
        if (rc == 0 && out->err)
            rc = RSP_ENOMEM;
    }
    for (size_t d = 0; d < NDIMS; d++) {
        for (size_t c = 0; c < ncs[d]; c++)
            free(cs[d][c].p);
        free(cs[d]);
        rsp_tele_map_free(&idx[d]);
    }
    free(tot.r);
    free(ser.r);
    return rc;
}

/* ---- routes ---- */

static const char CHALLENGE[] = "Basic realm=\"rsp-smdp admin\", charset=\"UTF-8\"";

/* 0 when authenticated; otherwise fills a 401 and returns 1. */
static int gate(const struct rsp_admin *a, const struct rsp_http_request *req,
                struct rsp_http_response *resp)
{
    if (rsp_admin_auth_check(a->auth, req->authorization))
        return 0;
    resp->status = 401;
    resp->content_type = "text/plain; charset=utf-8";
    resp->www_authenticate = CHALLENGE;
    rsp_buf_reset(&resp->body);
    put(&resp->body, "authentication required\n");
    snprintf(resp->log_outcome, sizeof resp->log_outcome, "unauthenticated");
    return 1;
}

static int h_metrics(void *ctx, const struct rsp_http_request *req, struct rsp_http_response *resp)
{
    struct rsp_admin *a = ctx;
    if (gate(a, req, resp))
        return 0;
    struct rsp_store *st;
    int rc = rsp_store_pool_get(a->stores, &st);
    if (rc == 0)
        rc = rsp_admin_metrics(a, st, &resp->body);
    if (rc)
        return rc;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    snprintf(resp->log_outcome, sizeof resp->log_outcome, "ok");
    return 0;
}

static int h_api(void *ctx, const struct rsp_http_request *req, struct rsp_http_response *resp)
{
    struct rsp_admin *a = ctx;
    if (gate(a, req, resp))
        return 0;
    struct rsp_store *st;
    int rc = rsp_store_pool_get(a->stores, &st);
    if (rc == 0)
        rc = rsp_admin_dashboard_json(a, st, now_of(a), &resp->body);
    if (rc)
        return rc;
    resp->content_type = "application/json; charset=utf-8";
    snprintf(resp->log_outcome, sizeof resp->log_outcome, "ok");
    return 0;
}

static int asset(const struct rsp_admin *a, const struct rsp_http_request *req,
                 struct rsp_http_response *resp, const char *data, size_t len, const char *type)
{
    if (gate(a, req, resp))
        return 0;
    rsp_buf_append(&resp->body, data, len);
    resp->content_type = type;
    snprintf(resp->log_outcome, sizeof resp->log_outcome, "ok");
    return resp->body.err ? RSP_ENOMEM : 0;
}

static int h_html(void *ctx, const struct rsp_http_request *req, struct rsp_http_response *resp)
{
    return asset(ctx, req, resp, rsp_dash_index_html, sizeof rsp_dash_index_html - 1,
                 "text/html; charset=utf-8");
}

static int h_js(void *ctx, const struct rsp_http_request *req, struct rsp_http_response *resp)
{
    return asset(ctx, req, resp, rsp_dash_app_js, sizeof rsp_dash_app_js - 1,
                 "text/javascript; charset=utf-8");
}

static int h_css(void *ctx, const struct rsp_http_request *req, struct rsp_http_response *resp)
{
    return asset(ctx, req, resp, rsp_dash_app_css, sizeof rsp_dash_app_css - 1,
                 "text/css; charset=utf-8");
}

size_t rsp_admin_routes(struct rsp_admin *a, struct rsp_http_route *out, size_t max)
{
    const struct rsp_http_route all[] = {
        {"/metrics", "admin.metrics", h_metrics, a},
        {"/dashboard", "admin.dashboard", h_html, a},
        {"/dashboard/app.js", "admin.dashboard", h_js, a},
        {"/dashboard/app.css", "admin.dashboard", h_css, a},
        {"/api/dashboard", "admin.api", h_api, a},
    };
    size_t n = sizeof all / sizeof all[0];
    if (n > max)
        n = max;
    memcpy(out, all, n * sizeof *out);
    return n;
}
