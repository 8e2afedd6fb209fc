/* LPA download attempts (rsp/lpa_attempt.h): retry policy, failure classes, device conditions,
 * and the persisted attempt record with its event log. The driver is lpa_run.c. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rsp/err.h"
#include "rsp/fileio.h"
#include "rsp/lpa_attempt.h"

/* ---- retry policy ---- */

void rsp_lpa_retry_policy_default(struct rsp_lpa_retry_policy *p)
{
    p->base_ms = 1000;
    p->cap_ms = 60000;
    p->max_attempts = 8;
    p->budget_s = 900;
}

unsigned rsp_lpa_backoff_ms(const struct rsp_lpa_retry_policy *p, unsigned failures, uint32_t rnd)
{
    uint64_t d = p->base_ms ? p->base_ms : 1;
    for (unsigned i = 1; i < failures && d < p->cap_ms; i++)
        d *= 2;
    if (p->cap_ms && d > p->cap_ms)
        d = p->cap_ms;
    uint64_t half = d / 2;
    return (unsigned)(d - half + (half ? rnd % (half + 1) : 0));
}

static bool http_transient(long status)
{
    return status >= 500 || status == 408 || status == 429;
}

enum rsp_lpa_fail_class rsp_lpa_classify(const struct rsp_lpa_download_result *r)
{
    switch (r->kind) {
    case RSP_LPA_DL_OK:
        return RSP_LPA_FAIL_NONE;
    case RSP_LPA_DL_NETWORK:
        return RSP_LPA_FAIL_TRANSIENT;
    case RSP_LPA_DL_EUICC_IO:
        return RSP_LPA_FAIL_EUICC_RESET;
    case RSP_LPA_DL_SESSION_LOST:
        return RSP_LPA_FAIL_SESSION_LOST;
    case RSP_LPA_DL_DEFERRED:
        return RSP_LPA_FAIL_DEFERRED;
    case RSP_LPA_DL_OTHER:
        /* an HTTP error status from the server or a proxy in front of it */
        if (r->es9.kind == RSP_ES9P_HTTP_ERROR && http_transient(r->es9.http_status))
            return RSP_LPA_FAIL_TRANSIENT;
        return RSP_LPA_FAIL_FINAL;
    default: /* SGP.22 refusals, TLS trust failures, confirmation code missing */
        return RSP_LPA_FAIL_FINAL;
    }
}

const char *rsp_lpa_fail_class_name(enum rsp_lpa_fail_class c)
{
    static const char *const n[] = {"none",         "transient", "euicc-reset",
                                    "session-lost", "deferred",  "final"};
    return (unsigned)c < sizeof n / sizeof n[0] ? n[c] : "?";
}

/* ---- device conditions ---- */

void rsp_lpa_conditions_unknown(struct rsp_lpa_conditions *c)
{
    c->battery_pct = c->charging = c->signal = -1;
}

void rsp_lpa_conditions_policy_default(struct rsp_lpa_conditions_policy *p)
{
    p->min_battery = 20;
    p->min_signal = 1;
}

static int parse_int(const char *v, size_t n, int lo, int hi, int *out)
{
    if (n == 0 || n > 3)
        return -1;
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)v[i]))
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    if (x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

int rsp_lpa_conditions_parse(const char *text, size_t len, struct rsp_lpa_conditions *c, char *err,
                             size_t err_len)
{
    if (!text || !c)
        return RSP_EINVAL;
    struct rsp_lpa_conditions n = *c;
    size_t at = 0;
    unsigned line = 0;
    while (at < len) {
        line++;
        size_t e = at;
        while (e < len && text[e] != '\n')
            e++;
        const char *p = text + at;
        size_t k = e - at;
        at = e + 1;
        while (k && isspace((unsigned char)*p))
            p++, k--;
        while (k && isspace((unsigned char)p[k - 1]))
            k--;
        if (k == 0 || *p == '#')
            continue;
        const char *eq = memchr(p, '=', k);
        if (!eq)
            goto bad;
        size_t kl = (size_t)(eq - p), vl = k - kl - 1;
        const char *v = eq + 1;
        while (kl && isspace((unsigned char)p[kl - 1]))
            kl--;
        while (vl && isspace((unsigned char)*v))
            v++, vl--;
        if (kl == 7 && !memcmp(p, "battery", 7)) {
            if (parse_int(v, vl, 0, 100, &n.battery_pct))
                goto bad;
        } else if (kl == 8 && !memcmp(p, "charging", 8)) {
            if ((vl == 1 && *v == '1') || (vl == 3 && !memcmp(v, "yes", 3)))
                n.charging = 1;
            else if ((vl == 1 && *v == '0') || (vl == 2 && !memcmp(v, "no", 2)))
                n.charging = 0;
            else
                goto bad;
        } else if (kl == 6 && !memcmp(p, "signal", 6)) {
            if (parse_int(v, vl, 0, 4, &n.signal))
                goto bad;
        } else {
            goto bad;
        }
    }
    *c = n;
    return 0;
bad:
    if (err && err_len)
        snprintf(err, err_len, "line %u: expected battery=0..100, charging=0|1 or signal=0..4",
                 line);
    return RSP_ESYNTAX;
}

bool rsp_lpa_conditions_ok(const struct rsp_lpa_conditions_policy *p,
                           const struct rsp_lpa_conditions *c, char *why, size_t why_len)
{
    if (c->battery_pct >= 0 && c->battery_pct < p->min_battery && c->charging != 1) {
        if (why && why_len)
            snprintf(why, why_len, "battery %d%% below %d%%, not charging", c->battery_pct,
                     p->min_battery);
        return false;
    }
    if (c->signal >= 0 && c->signal < p->min_signal) {
        if (why && why_len)
            snprintf(why, why_len, "signal %d bar%s, below %d", c->signal,
                     c->signal == 1 ? "" : "s", p->min_signal);
        return false;
    }
    return true;
}

/* ---- state machine ---- */

static const char *const att_names[RSP_LPA_ATT_NSTATES] = {
    "Idle",    "Authenticating", "Downloading", "Verifying", "Installed",
    "Enabled", "Backoff",        "Deferred",    "GaveUp"};

const char *rsp_lpa_att_state_name(enum rsp_lpa_att_state s)
{
    return (unsigned)s < RSP_LPA_ATT_NSTATES ? att_names[s] : "?";
}

static int att_from_name(const char *n, enum rsp_lpa_att_state *out)
{
    for (int i = 0; i < RSP_LPA_ATT_NSTATES; i++)
        if (!strcmp(n, att_names[i])) {
            *out = (enum rsp_lpa_att_state)i;
            return 0;
        }
    return RSP_ESYNTAX;
}

#define B(s) (1u << (s))
/* allowed[to] = the states it may be entered from */
static const unsigned att_allowed[RSP_LPA_ATT_NSTATES] = {
    [RSP_LPA_ATT_IDLE] = 0,
    [RSP_LPA_ATT_AUTHENTICATING] = B(RSP_LPA_ATT_IDLE) | B(RSP_LPA_ATT_BACKOFF) |
                                   B(RSP_LPA_ATT_DEFERRED) | B(RSP_LPA_ATT_DOWNLOADING),
    [RSP_LPA_ATT_DOWNLOADING] =
        B(RSP_LPA_ATT_AUTHENTICATING) | B(RSP_LPA_ATT_BACKOFF) | B(RSP_LPA_ATT_DEFERRED),
    [RSP_LPA_ATT_VERIFYING] = B(RSP_LPA_ATT_AUTHENTICATING) | B(RSP_LPA_ATT_DOWNLOADING),
    [RSP_LPA_ATT_INSTALLED] = B(RSP_LPA_ATT_VERIFYING),
    [RSP_LPA_ATT_ENABLED] = B(RSP_LPA_ATT_VERIFYING),
    [RSP_LPA_ATT_BACKOFF] = B(RSP_LPA_ATT_AUTHENTICATING) | B(RSP_LPA_ATT_DOWNLOADING),
    [RSP_LPA_ATT_DEFERRED] = B(RSP_LPA_ATT_IDLE) | B(RSP_LPA_ATT_AUTHENTICATING) |
                             B(RSP_LPA_ATT_BACKOFF) | B(RSP_LPA_ATT_DOWNLOADING),
    [RSP_LPA_ATT_GAVE_UP] = B(RSP_LPA_ATT_IDLE) | B(RSP_LPA_ATT_AUTHENTICATING) |
                            B(RSP_LPA_ATT_DOWNLOADING) | B(RSP_LPA_ATT_BACKOFF) |
                            B(RSP_LPA_ATT_DEFERRED) | B(RSP_LPA_ATT_VERIFYING),
};

int rsp_lpa_att_transition_check(enum rsp_lpa_att_state from, enum rsp_lpa_att_state to)
{
    if ((unsigned)from >= RSP_LPA_ATT_NSTATES || (unsigned)to >= RSP_LPA_ATT_NSTATES)
        return RSP_EINVAL;
    if (from == to)
        return 0;
    return (att_allowed[to] & B(from)) ? 0 : RSP_ESTATE;
}

/* ---- record ---- */

#define RECORD_VERSION 1

static void path_of(char *out, size_t n, const char *dir, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static json_t *hexj(const uint8_t *p, size_t n)
{
    char h[2 * 64 + 1];
    if (n > 64)
        return json_null();
    rsp_hex_str(h, p, n, 1);
    return json_string(h);
}

int rsp_lpa_attempt_save(const char *dir, const struct rsp_lpa_attempt *a)
{
    if (!dir || !a || (unsigned)a->state >= RSP_LPA_ATT_NSTATES)
        return RSP_EINVAL;
    if (rsp_dir_create(dir) != 0)
        return RSP_EIO;
    const struct rsp_lpa_expected *x = &a->expected;
    json_t *ex = json_pack("{s:b, s:o, s:i, s:s, s:s, s:o}", "known", x->known, "iccid",
                           hexj(x->iccid, sizeof x->iccid), "profile_class", x->profile_class,
                           "spn", x->spn, "name", x->name, "owner_mcc_mnc",
                           x->has_owner ? hexj(x->owner_mcc_mnc, 3) : json_null());
    json_t *o = json_pack(
        "{s:i, s:s, s:s, s:s, s:s, s:b, s:b, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, "
        "s:s, s:s, s:s, s:o, s:s, s:o}",
        "version", RECORD_VERSION, "state", rsp_lpa_att_state_name(a->state), "eid", a->eid, "smdp",
        a->smdp, "matching_id", a->matching_id, "enable", a->enable, "cc_required", a->cc_required,
        "transaction_id", a->tid, "has_bpp", a->has_bpp, "segments", (json_int_t)a->segments,
        "acked", (json_int_t)a->acked, "inflight", (json_int_t)a->inflight, "attempts",
        (json_int_t)a->attempts, "failures", (json_int_t)a->failures, "first_at",
        (json_int_t)a->first_at, "next_at", (json_int_t)a->next_at, "last_class", a->last_class,
        "last_error", a->last_error, "pending_cancel", a->pending_cancel, "cancel_transaction_id",
        a->cancel_tid, "expected", ex ? ex : json_null(), "iccid", a->iccid, "isdp_aid",
        hexj(a->aid, sizeof a->aid));
    if (!o)
        return RSP_ENOMEM;
    char *s = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        return RSP_ENOMEM;
    char path[4096];
    path_of(path, sizeof path, dir, "attempt.json");
    int rc = rsp_file_write_atomic(path, s, strlen(s), 0600);
    free(s);
    return rc;
}

int rsp_lpa_attempt_save_bpp(const char *dir, const uint8_t *bpp, size_t len)
{
    if (!dir || !bpp)
        return RSP_EINVAL;
    if (rsp_dir_create(dir) != 0)
        return RSP_EIO;
    char path[4096];
    path_of(path, sizeof path, dir, "attempt.bpp");
    return rsp_file_write_atomic(path, bpp, len, 0600);
}

int rsp_lpa_attempt_clear(const char *dir)
{
    if (!dir)
        return RSP_EINVAL;
    char path[4096];
    int rc = 0;
    path_of(path, sizeof path, dir, "attempt.json");
    if (unlink(path) != 0 && errno != ENOENT)
        rc = RSP_EIO;
    path_of(path, sizeof path, dir, "attempt.bpp");
    if (unlink(path) != 0 && errno != ENOENT)
        rc = RSP_EIO;
    return rc;
}

__attribute__((format(printf, 3, 4))) static int bad(char *err, size_t n, const char *fmt, ...)
{
    if (err && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, n, fmt, ap);
        va_end(ap);
    }
    return RSP_ESYNTAX;
}

static int get_str(json_t *o, const char *k, char *out, size_t n)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v) || json_string_length(v) >= n)
        return -1;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int get_uint(json_t *o, const char *k, uint64_t max, uint64_t *out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int get_hex(json_t *o, const char *k, uint8_t *out, size_t n, bool nullable, bool *present)
{
    json_t *v = json_object_get(o, k);
    if (present)
        *present = false;
    if (nullable && json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) != 2 * n)
        return -1;
    struct rsp_buf b = RSP_BUF_INIT;
    int rc = rsp_hex_decode(&b, json_string_value(v), 2 * n);
    if (rc == 0 && b.len == n)
        memcpy(out, b.data, n);
    size_t got = b.len;
    rsp_buf_free(&b);
    if (rc != 0 || got != n)
        return -1;
    if (present)
        *present = true;
    return 0;
}

static int parse_record(json_t *o, struct rsp_lpa_attempt *a, char *err, size_t en)
{
    uint64_t v;
    char st[32];
    if (!json_is_object(o) || get_uint(o, "version", 1000, &v) || v != RECORD_VERSION)
        return bad(err, en, "%s", "not an attempt record of this version");
    if (get_str(o, "state", st, sizeof st) || att_from_name(st, &a->state))
        return bad(err, en, "%s", "state");
    if (get_str(o, "eid", a->eid, sizeof a->eid) || get_str(o, "smdp", a->smdp, sizeof a->smdp) ||
        get_str(o, "matching_id", a->matching_id, sizeof a->matching_id) ||
        get_str(o, "transaction_id", a->tid, sizeof a->tid) ||
        get_str(o, "last_class", a->last_class, sizeof a->last_class) ||
        get_str(o, "last_error", a->last_error, sizeof a->last_error) ||
        get_str(o, "pending_cancel", a->pending_cancel, sizeof a->pending_cancel) ||
        get_str(o, "cancel_transaction_id", a->cancel_tid, sizeof a->cancel_tid) ||
        get_str(o, "iccid", a->iccid, sizeof a->iccid))
        return bad(err, en, "%s", "a text field is missing or too long");
    json_t *b;
    if (!json_is_boolean(b = json_object_get(o, "enable")))
        return bad(err, en, "%s", "enable");
    a->enable = json_is_true(b);
    if (!json_is_boolean(b = json_object_get(o, "cc_required")))
        return bad(err, en, "%s", "cc_required");
    a->cc_required = json_is_true(b);
    if (!json_is_boolean(b = json_object_get(o, "has_bpp")))
        return bad(err, en, "%s", "has_bpp");
    a->has_bpp = json_is_true(b);
    uint64_t seg, ack, inf, att, fail, first, next;
    if (get_uint(o, "segments", 100000, &seg) || get_uint(o, "acked", seg, &ack) ||
        get_uint(o, "inflight", seg, &inf) || get_uint(o, "attempts", 1000000, &att) ||
        get_uint(o, "failures", 1000000, &fail) || get_uint(o, "first_at", INT64_MAX, &first) ||
        get_uint(o, "next_at", INT64_MAX, &next))
        return bad(err, en, "%s", "a counter is missing or out of range");
    a->segments = seg;
    a->acked = ack;
    a->inflight = inf;
    a->attempts = (unsigned)att;
    a->failures = (unsigned)fail;
    a->first_at = (int64_t)first;
    a->next_at = (int64_t)next;
    if (a->has_bpp && (seg == 0 || !a->tid[0]))
        return bad(err, en, "%s", "a BPP without segments or transaction");
    if (get_hex(o, "isdp_aid", a->aid, sizeof a->aid, false, NULL))
        return bad(err, en, "%s", "isdp_aid");
    json_t *x = json_object_get(o, "expected");
    struct rsp_lpa_expected *e = &a->expected;
    if (!json_is_object(x) || !json_is_boolean(json_object_get(x, "known")) ||
        get_hex(x, "iccid", e->iccid, sizeof e->iccid, false, NULL) ||
        get_str(x, "spn", e->spn, sizeof e->spn) || get_str(x, "name", e->name, sizeof e->name) ||
        get_uint(x, "profile_class", 2, &v) ||
        get_hex(x, "owner_mcc_mnc", e->owner_mcc_mnc, 3, true, &e->has_owner))
        return bad(err, en, "%s", "expected (profile metadata)");
    e->known = json_is_true(json_object_get(x, "known"));
    e->profile_class = (int)v;
    return 0;
}

int rsp_lpa_attempt_load(const char *dir, struct rsp_lpa_attempt *a, struct rsp_buf *bpp, char *err,
                         size_t err_len)
{
    if (!dir || !a)
        return RSP_EINVAL;
    char path[4096];
    path_of(path, sizeof path, dir, "attempt.json");
    struct rsp_buf raw = RSP_BUF_INIT;
    int rc = rsp_file_read(path, &raw);
    if (rc == 0 && raw.len > 64 * 1024)
        rc = bad(err, err_len, "%s", "the record is larger than 64 KiB");
    if (rc != 0) {
        rsp_buf_free(&raw);
        return rc;
    }
    json_error_t je;
    json_t *o = json_loadb((const char *)raw.data, raw.len, JSON_REJECT_DUPLICATES, &je);
    rsp_buf_free(&raw);
    if (!o)
        return bad(err, err_len, "not JSON (%s)", je.text);
    struct rsp_lpa_attempt tmp;
    memset(&tmp, 0, sizeof tmp);
    rc = parse_record(o, &tmp, err, err_len);
    json_decref(o);
    if (rc != 0)
        return rc;
    if (bpp && tmp.has_bpp) {
        rsp_buf_reset(bpp);
        path_of(path, sizeof path, dir, "attempt.bpp");
        if ((rc = rsp_file_read(path, bpp)) != 0)
            return bad(err, err_len, "%s", "the saved BPP (attempt.bpp) cannot be read");
    }
    *a = tmp;
    return 0;
}

int rsp_lpa_event_append(const char *dir, const char *json_line)
{
    if (!dir || !json_line || strchr(json_line, '\n'))
        return RSP_EINVAL;
    if (rsp_dir_create(dir) != 0)
        return RSP_EIO;
    char path[4096];
    path_of(path, sizeof path, dir, "events.jsonl");
    FILE *f = fopen(path, "a");
    if (!f)
        return RSP_EIO;
    int rc = fprintf(f, "%s\n", json_line) < 0 ? RSP_EIO : 0;
    if (fclose(f) != 0)
        rc = RSP_EIO;
    return rc;
}
