/* Telemetry wrappers of the store (include/rsp/store.h, branch tele): argument checks, then the
 * backend. */
#include <ctype.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/store.h"

static bool text_ok(const char *s, size_t cap)
{
    return s && memchr(s, 0, cap) != NULL;
}

static bool labels_ok(const struct rsp_tele_labels *l)
{
    if (!text_ok(l->tac, sizeof l->tac) || !text_ok(l->eum, sizeof l->eum) ||
        !text_ok(l->profile_type, sizeof l->profile_type) ||
        !text_ok(l->campaign, sizeof l->campaign) || !text_ok(l->country, sizeof l->country))
        return false;
    for (const char *p = l->tac; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    return true;
}

/* Upper-case hex of at most 32 digits into out; false if not hex. */
static bool tid_norm(const char *tid, char out[33])
{
    size_t n = strnlen(tid, 33);
    if (n > 32)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)tid[i]))
            return false;
        out[i] = (char)toupper((unsigned char)tid[i]);
    }
    out[n] = 0;
    return true;
}

int rsp_store_tele_record(struct rsp_store *st, struct rsp_tele_record *r, int64_t period_s)
{
    if (!st || !r || period_s <= 0 || !text_ok(r->fn, sizeof r->fn) || !r->fn[0] ||
        !text_ok(r->outcome, sizeof r->outcome) || !r->outcome[0] ||
        !text_ok(r->event, sizeof r->event) || !text_ok(r->subject, sizeof r->subject) ||
        !labels_ok(&r->labels) || !text_ok(r->tid, sizeof r->tid) || !tid_norm(r->tid, r->tid) ||
        r->at_ms < 0 || r->latency_us > (uint64_t)INT64_MAX)
        return RSP_EINVAL;
    if (!st->ops->tele_record)
        return RSP_ESTATE;
    return st->ops->tele_record(st, r, period_s);
}

int rsp_store_tele_totals(struct rsp_store *st, rsp_store_tele_cb cb, void *arg)
{
    if (!st || !cb)
        return RSP_EINVAL;
    if (!st->ops->tele_totals)
        return RSP_ESTATE;
    return st->ops->tele_totals(st, cb, arg);
}

int rsp_store_tele_series(struct rsp_store *st, int64_t from, int64_t to, rsp_store_tele_cb cb,
                          void *arg)
{
    if (!st || !cb || to < 0)
        return RSP_EINVAL;
    if (!st->ops->tele_series)
        return RSP_ESTATE;
    return st->ops->tele_series(st, from, to ? to : INT64_MAX, cb, arg);
}

int rsp_store_tele_session_get(struct rsp_store *st, const char *tid, struct rsp_tele_session *out)
{
    char t[33];
    if (!st || !tid || !out)
        return RSP_EINVAL;
    if (!tid_norm(tid, t) || !t[0])
        return RSP_ESYNTAX;
    if (!st->ops->tele_session_get)
        return RSP_ESTATE;
    return st->ops->tele_session_get(st, t, out);
}

int rsp_store_tele_sweep(struct rsp_store *st, int64_t calls_before_ms, int64_t series_before,
                         int64_t *n_removed)
{
    int64_t n = 0;
    if (n_removed)
        *n_removed = 0;
    if (!st)
        return RSP_EINVAL;
    if (!st->ops->tele_sweep)
        return RSP_ESTATE;
    int rc = st->ops->tele_sweep(st, calls_before_ms, series_before, &n);
    if (rc == 0 && n_removed)
        *n_removed = n;
    return rc;
}
