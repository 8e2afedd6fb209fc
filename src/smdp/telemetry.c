/* SM-DP+ telemetry: histogram, Prometheus text, reports (include/rsp/telemetry.h). Pure. */
#include "rsp/telemetry.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"

const double rsp_tele_bucket_le_ms[RSP_TELE_NBUCKETS - 1] = {1,   2.5, 5,    10,   25,   50,   100,
                                                             250, 500, 1000, 2500, 5000, 10000};

unsigned rsp_tele_bucket(uint64_t latency_us)
{
    for (unsigned i = 0; i < RSP_TELE_NBUCKETS - 1; i++)
        if ((double)latency_us <= rsp_tele_bucket_le_ms[i] * 1000.0)
            return i;
    return RSP_TELE_NBUCKETS - 1;
}

int rsp_tele_tac_from_tbcd(const uint8_t *p, size_t n, char out[9])
{
    out[0] = 0;
    if (!p || n < 4)
        return RSP_ESYNTAX;
    char d[9];
    for (size_t i = 0; i < 4; i++) {
        unsigned lo = p[i] & 0x0f, hi = p[i] >> 4;
        if (lo > 9 || hi > 9)
            return RSP_ESYNTAX;
        d[2 * i] = (char)('0' + lo);
        d[2 * i + 1] = (char)('0' + hi);
    }
    d[8] = 0;
    memcpy(out, d, 9);
    return 0;
}

void rsp_tele_series_add(struct rsp_tele_series *s, uint64_t latency_us)
{
    s->n++;
    s->sum_us += (int64_t)latency_us;
    s->bucket[rsp_tele_bucket(latency_us)]++;
}

void rsp_tele_series_merge(struct rsp_tele_series *a, const struct rsp_tele_series *b)
{
    a->n += b->n;
    a->sum_us += b->sum_us;
    for (unsigned i = 0; i < RSP_TELE_NBUCKETS; i++)
        a->bucket[i] += b->bucket[i];
}

double rsp_tele_quantile_ms(const int64_t bucket[RSP_TELE_NBUCKETS], double q)
{
    int64_t total = 0;
    for (unsigned i = 0; i < RSP_TELE_NBUCKETS; i++)
        total += bucket[i];
    if (total <= 0)
        return 0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    double rank = q * (double)total, cum = 0;
    for (unsigned i = 0; i < RSP_TELE_NBUCKETS; i++) {
        double next = cum + (double)bucket[i];
        if (bucket[i] > 0 && next >= rank) {
            if (i == RSP_TELE_NBUCKETS - 1)
                return rsp_tele_bucket_le_ms[RSP_TELE_NBUCKETS - 2];
            double lo = i ? rsp_tele_bucket_le_ms[i - 1] : 0, hi = rsp_tele_bucket_le_ms[i];
            return lo + (hi - lo) * ((rank - cum) / (double)bucket[i]);
        }
        cum = next;
    }
    return rsp_tele_bucket_le_ms[RSP_TELE_NBUCKETS - 2];
}

/* ---- text output helpers ---- */

__attribute__((format(printf, 2, 3))) static void put(struct rsp_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    rsp_buf_append(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void puts_b(struct rsp_buf *b, const char *s)
{
    rsp_buf_append(b, s, strlen(s));
}

/* A Prometheus label value: backslash, double quote and line feed escaped. */
static void prom_value(struct rsp_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            puts_b(b, "\\\\");
        else if (*s == '"')
            puts_b(b, "\\\"");
        else if (*s == '\n')
            puts_b(b, "\\n");
        else
            rsp_buf_append_byte(b, (uint8_t)*s);
    }
}

static int cmp_series(const void *a, const void *b)
{
    const struct rsp_tele_series *x = a, *y = b;
    int c = strcmp(x->fn, y->fn);
    return c ? c : strcmp(x->outcome, y->outcome);
}

static void prom_seconds(char *out, size_t cap, int64_t us)
{
    snprintf(out, cap, "%lld.%06lld", (long long)(us / 1000000), (long long)(us % 1000000));
}

int rsp_tele_prometheus(const struct rsp_tele_series *totals, size_t n, struct rsp_buf *out)
{
    if (!out || (n && !totals))
        return RSP_EINVAL;
    struct rsp_tele_series *s = calloc(n ? n : 1, sizeof *s);
    if (!s)
        return RSP_ENOMEM;
    if (n)
        memcpy(s, totals, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_series);

    puts_b(out, "# HELP rsp_smdp_es9_requests_total ES9+ requests by function and outcome (ok, "
                "SGP.22 subject/reason code, internal, http-NNN).\n"
                "# TYPE rsp_smdp_es9_requests_total counter\n");
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s[i].fn, RSP_TELE_FN_SESSION) == 0)
            continue;
        puts_b(out, "rsp_smdp_es9_requests_total{function=\"");
        prom_value(out, s[i].fn);
        puts_b(out, "\",outcome=\"");
        prom_value(out, s[i].outcome);
        put(out, "\"} %lld\n", (long long)s[i].n);
    }

    puts_b(out, "# HELP rsp_smdp_es9_request_duration_seconds ES9+ request handling time by "
                "function.\n"
                "# TYPE rsp_smdp_es9_request_duration_seconds histogram\n");
    for (size_t i = 0; i < n;) {
        size_t j = i;
        struct rsp_tele_series f;
        memset(&f, 0, sizeof f);
        while (j < n && strcmp(s[j].fn, s[i].fn) == 0)
            rsp_tele_series_merge(&f, &s[j++]);
        if (strcmp(s[i].fn, RSP_TELE_FN_SESSION) != 0) {
            int64_t cum = 0;
            for (unsigned k = 0; k < RSP_TELE_NBUCKETS; k++) {
                cum += f.bucket[k];
                char le[24];
                if (k == RSP_TELE_NBUCKETS - 1)
                    snprintf(le, sizeof le, "+Inf");
                else
                    snprintf(le, sizeof le, "%g", rsp_tele_bucket_le_ms[k] / 1000.0);
                puts_b(out, "rsp_smdp_es9_request_duration_seconds_bucket{function=\"");
                prom_value(out, s[i].fn);
                put(out, "\",le=\"%s\"} %lld\n", le, (long long)cum);
            }
            char sec[40];
            prom_seconds(sec, sizeof sec, f.sum_us);
            puts_b(out, "rsp_smdp_es9_request_duration_seconds_sum{function=\"");
            prom_value(out, s[i].fn);
            put(out, "\"} %s\n", sec);
            puts_b(out, "rsp_smdp_es9_request_duration_seconds_count{function=\"");
            prom_value(out, s[i].fn);
            put(out, "\"} %lld\n", (long long)f.n);
        }
        i = j;
    }

    /* session events, and the two counters operators ask for first */
    int64_t downloads = 0, installed = 0, failed = 0;
    puts_b(out, "# HELP rsp_smdp_sessions_total Download session events (started, authenticated, "
                "downloaded, installed, install-failed, cancelled).\n"
                "# TYPE rsp_smdp_sessions_total counter\n");
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s[i].fn, RSP_TELE_FN_SESSION) != 0)
            continue;
        puts_b(out, "rsp_smdp_sessions_total{event=\"");
        prom_value(out, s[i].outcome);
        put(out, "\"} %lld\n", (long long)s[i].n);
        if (strcmp(s[i].outcome, RSP_TELE_EV_DOWNLOADED) == 0)
            downloads += s[i].n;
        else if (strcmp(s[i].outcome, RSP_TELE_EV_INSTALLED) == 0)
            installed += s[i].n;
        else if (strcmp(s[i].outcome, RSP_TELE_EV_INSTALL_FAIL) == 0)
            failed += s[i].n;
    }
    put(out,
        "# HELP rsp_smdp_downloads_total Bound profile packages delivered.\n"
        "# TYPE rsp_smdp_downloads_total counter\n"
        "rsp_smdp_downloads_total %lld\n"
        "# HELP rsp_smdp_installs_total Installation results reported by eUICCs.\n"
        "# TYPE rsp_smdp_installs_total counter\n"
        "rsp_smdp_installs_total{result=\"ok\"} %lld\n"
        "rsp_smdp_installs_total{result=\"failed\"} %lld\n",
        (long long)downloads, (long long)installed, (long long)failed);
    free(s);
    return out->err ? RSP_ENOMEM : 0;
}

/* ---- reports ---- */

static const char *const dim_names[] = {"none", "campaign",     "eum",
                                        "tac",  "profile_type", "country"};

int rsp_tele_dim_from_name(const char *name, enum rsp_tele_dim *out)
{
    for (size_t i = 0; i < sizeof dim_names / sizeof dim_names[0]; i++)
        if (name && strcmp(name, dim_names[i]) == 0) {
            *out = (enum rsp_tele_dim)i;
            return 0;
        }
    return RSP_ESYNTAX;
}

const char *rsp_tele_dim_name(enum rsp_tele_dim d)
{
    return (unsigned)d < sizeof dim_names / sizeof dim_names[0] ? dim_names[d] : "none";
}

const char *rsp_tele_dim_value(const struct rsp_tele_labels *l, enum rsp_tele_dim d)
{
    switch (d) {
    case RSP_TELE_DIM_CAMPAIGN:
        return l->campaign;
    case RSP_TELE_DIM_EUM:
        return l->eum;
    case RSP_TELE_DIM_TAC:
        return l->tac;
    case RSP_TELE_DIM_PROFILE_TYPE:
        return l->profile_type;
    case RSP_TELE_DIM_COUNTRY:
        return l->country;
    default:
        return "";
    }
}

static bool label_ok(const char *want, const char *have)
{
    return !want[0] || strcmp(want, have) == 0;
}

bool rsp_tele_filter_match(const struct rsp_tele_filter *f, const struct rsp_tele_series *s)
{
    if (!f)
        return true;
    if (s->period < f->from || (f->to && s->period >= f->to))
        return false;
    const struct rsp_tele_labels *w = &f->match, *h = &s->labels;
    return label_ok(w->tac, h->tac) && label_ok(w->eum, h->eum) &&
           label_ok(w->profile_type, h->profile_type) && label_ok(w->campaign, h->campaign) &&
           label_ok(w->country, h->country);
}

void rsp_tele_report_init(struct rsp_tele_report *r, enum rsp_tele_dim by,
                          const struct rsp_tele_filter *f)
{
    memset(r, 0, sizeof *r);
    r->by = by;
    if (f)
        r->filter = *f;
}

static void set_dim(struct rsp_tele_labels *l, enum rsp_tele_dim d, const char *v)
{
    char *p = (char *)rsp_tele_dim_value(l, d);
    if (d == RSP_TELE_DIM_NONE)
        return;
    size_t cap = d == RSP_TELE_DIM_TAC ? sizeof l->tac : RSP_TELE_LABEL_MAX + 1;
    snprintf(p, cap, "%s", v);
}

/* ---- string map ---- */

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h;
}

static int map_grow(struct rsp_tele_map *m)
{
    size_t cap = m->cap ? 2 * m->cap : 64;
    struct rsp_tele_map_entry *e = calloc(cap, sizeof *e);
    if (!e)
        return RSP_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->e[i].key)
            continue;
        size_t j = (size_t)m->e[i].h & (cap - 1);
        while (e[j].key)
            j = (j + 1) & (cap - 1);
        e[j] = m->e[i];
    }
    free(m->e);
    m->e = e;
    m->cap = cap;
    return 0;
}

int rsp_tele_map_get(struct rsp_tele_map *m, const char *key, size_t len, size_t new_val,
                     size_t *val, bool *added)
{
    *added = false;
    if ((m->n + 1) * 2 > m->cap && map_grow(m) != 0)
        return RSP_ENOMEM;
    uint64_t h = fnv1a(key, len);
    size_t j = (size_t)h & (m->cap - 1);
    for (; m->e[j].key; j = (j + 1) & (m->cap - 1))
        if (m->e[j].h == h && m->e[j].len == len && memcmp(m->e[j].key, key, len) == 0) {
            *val = m->e[j].val;
            return 0;
        }
    char *k = malloc(len + 1);
    if (!k)
        return RSP_ENOMEM;
    memcpy(k, key, len);
    k[len] = 0;
    m->e[j] = (struct rsp_tele_map_entry){h, k, len, new_val};
    m->n++;
    *val = new_val;
    *added = true;
    return 0;
}

void rsp_tele_map_free(struct rsp_tele_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->e[i].key);
    free(m->e);
    memset(m, 0, sizeof *m);
}

int rsp_tele_report_add(void *report, const struct rsp_tele_series *s)
{
    struct rsp_tele_report *r = report;
    if (!rsp_tele_filter_match(&r->filter, s))
        return 0;
    const char *v = rsp_tele_dim_value(&s->labels, r->by);
    char key[RSP_TELE_LABEL_MAX + RSP_TELE_FN_MAX + RSP_TELE_OUT_MAX + 8];
    int klen = snprintf(key, sizeof key, "%s%c%s%c%s", v, 0x1f, s->fn, 0x1f, s->outcome);
    size_t at;
    bool added;
    if (klen < 0 || (size_t)klen >= sizeof key ||
        rsp_tele_map_get(&r->index, key, (size_t)klen, r->n, &at, &added) != 0) {
        r->err = RSP_ENOMEM;
        return RSP_ENOMEM;
    }
    if (!added) {
        rsp_tele_series_merge(&r->rows[at], s);
        return 0;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 32;
        struct rsp_tele_series *n = realloc(r->rows, cap * sizeof *n);
        if (!n) {
            r->err = RSP_ENOMEM;
            return RSP_ENOMEM;
        }
        r->rows = n;
        r->cap = cap;
    }
    struct rsp_tele_series *g = &r->rows[r->n++];
    memset(g, 0, sizeof *g);
    memcpy(g->fn, s->fn, sizeof g->fn);
    memcpy(g->outcome, s->outcome, sizeof g->outcome);
    set_dim(&g->labels, r->by, v);
    rsp_tele_series_merge(g, s);
    return 0;
}

static int cmp_group(const struct rsp_tele_series *x, const struct rsp_tele_series *y,
                     enum rsp_tele_dim d)
{
    int c = strcmp(rsp_tele_dim_value(&x->labels, d), rsp_tele_dim_value(&y->labels, d));
    if (!c)
        c = strcmp(x->fn, y->fn);
    return c ? c : strcmp(x->outcome, y->outcome);
}

/* Insertion sort (reentrant: handlers run on several threads; groups are few). */
void rsp_tele_report_sort(struct rsp_tele_report *r)
{
    for (size_t i = 1; i < r->n; i++) {
        struct rsp_tele_series t = r->rows[i];
        size_t j = i;
        while (j > 0 && cmp_group(&r->rows[j - 1], &t, r->by) > 0) {
            r->rows[j] = r->rows[j - 1];
            j--;
        }
        r->rows[j] = t;
    }
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void json_str(struct rsp_buf *b, const char *s)
{
    rsp_buf_append_byte(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            rsp_buf_append_byte(b, '\\');
            rsp_buf_append_byte(b, c);
        } else if (c < 0x20) {
            put(b, "\\u%04x", c);
        } else {
            rsp_buf_append_byte(b, c);
        }
    }
    rsp_buf_append_byte(b, '"');
}

static double mean_ms(const struct rsp_tele_series *g)
{
    return g->n ? (double)g->sum_us / 1000.0 / (double)g->n : 0;
}

int rsp_tele_report_json(const struct rsp_tele_report *r, struct rsp_buf *out)
{
    puts_b(out, "{\"by\":");
    json_str(out, rsp_tele_dim_name(r->by));
    put(out, ",\"from\":%lld,\"to\":%lld,\"groups\":[", (long long)r->filter.from,
        (long long)r->filter.to);
    for (size_t i = 0; i < r->n; i++) {
        const struct rsp_tele_series *g = &r->rows[i];
        puts_b(out, i ? ",{\"cohort\":" : "{\"cohort\":");
        json_str(out, rsp_tele_dim_value(&g->labels, r->by));
        puts_b(out, ",\"function\":");
        json_str(out, g->fn);
        puts_b(out, ",\"outcome\":");
        json_str(out, g->outcome);
        put(out, ",\"count\":%lld", (long long)g->n);
        if (strcmp(g->fn, RSP_TELE_FN_SESSION) != 0)
            put(out, ",\"latency_ms\":{\"mean\":%.3f,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f}",
                mean_ms(g), rsp_tele_quantile_ms(g->bucket, 0.5),
                rsp_tele_quantile_ms(g->bucket, 0.9), rsp_tele_quantile_ms(g->bucket, 0.99));
        puts_b(out, "}");
    }
    puts_b(out, "]}\n");
    return out->err ? RSP_ENOMEM : 0;
}

/* A CSV field (RFC 4180): quoted when it holds a comma, quote or line break. */
static void csv_field(struct rsp_buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        puts_b(b, s);
        return;
    }
    rsp_buf_append_byte(b, '"');
    for (; *s; s++) {
        if (*s == '"')
            rsp_buf_append_byte(b, '"');
        rsp_buf_append_byte(b, (uint8_t)*s);
    }
    rsp_buf_append_byte(b, '"');
}

int rsp_tele_report_csv(const struct rsp_tele_report *r, struct rsp_buf *out)
{
    puts_b(out, "cohort,function,outcome,count,mean_ms,p50_ms,p90_ms,p99_ms\r\n");
    for (size_t i = 0; i < r->n; i++) {
        const struct rsp_tele_series *g = &r->rows[i];
        csv_field(out, rsp_tele_dim_value(&g->labels, r->by));
        rsp_buf_append_byte(out, ',');
        csv_field(out, g->fn);
        rsp_buf_append_byte(out, ',');
        csv_field(out, g->outcome);
        if (strcmp(g->fn, RSP_TELE_FN_SESSION) == 0)
            put(out, ",%lld,,,,\r\n", (long long)g->n);
        else
            put(out, ",%lld,%.3f,%.3f,%.3f,%.3f\r\n", (long long)g->n, mean_ms(g),
                rsp_tele_quantile_ms(g->bucket, 0.5), rsp_tele_quantile_ms(g->bucket, 0.9),
                rsp_tele_quantile_ms(g->bucket, 0.99));
    }
    return out->err ? RSP_ENOMEM : 0;
}

void rsp_tele_report_free(struct rsp_tele_report *r)
{
    rsp_tele_map_free(&r->index);
    free(r->rows);
    r->rows = NULL;
    r->n = r->cap = 0;
}
