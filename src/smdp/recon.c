/* Reconciliation: event names and parsers (CSV, JSON lines), the store wrappers, and the matcher
 * (profiles hash-indexed by ICCID, IMSI and EID; every event is one lookup, so a run is linear in
 * profiles + events). */
#include "rsp/recon.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rsp/act.h"
#include "rsp/err.h"

static const char *const kind_names[RSP_RECON_NKINDS] = {"billing", "attach", "physical"};

const char *rsp_recon_kind_name(enum rsp_recon_kind k)
{
    return (unsigned)k < RSP_RECON_NKINDS ? kind_names[k] : "?";
}

int rsp_recon_kind_from_name(const char *name, enum rsp_recon_kind *out)
{
    for (unsigned i = 0; name && i < RSP_RECON_NKINDS; i++)
        if (strcmp(name, kind_names[i]) == 0) {
            *out = (enum rsp_recon_kind)i;
            return 0;
        }
    return RSP_ESYNTAX;
}

static const char *const disc_names[RSP_DISC_NKINDS] = {
    "released-not-installed", "installed-not-attached", "billed-not-installed",
    "installed-not-billed",   "imsi-mismatch",          "tariff-mismatch"};

const char *rsp_recon_disc_name(enum rsp_recon_disc d)
{
    return (unsigned)d < RSP_DISC_NKINDS ? disc_names[d] : "?";
}

int rsp_recon_disc_from_name(const char *name, enum rsp_recon_disc *out)
{
    for (unsigned i = 0; name && i < RSP_DISC_NKINDS; i++)
        if (strcmp(name, disc_names[i]) == 0) {
            *out = (enum rsp_recon_disc)i;
            return 0;
        }
    return RSP_ESYNTAX;
}

/* ---- parsing ---- */

int rsp_recon_parse_time(const char *s, int64_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 20)
        return RSP_ESYNTAX;
    bool digits = true;
    for (size_t i = 0; i < n; i++)
        digits &= isdigit((unsigned char)s[i]) != 0;
    if (digits) {
        if (n > 12)
            return RSP_ESYNTAX;
        *out = strtoll(s, NULL, 10);
        return 0;
    }
    /* YYYY-MM-DDTHH:MM:SSZ */
    if (n != 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' ||
        s[16] != ':' || s[19] != 'Z')
        return RSP_ESYNTAX;
    static const int pos[] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18};
    for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++)
        if (!isdigit((unsigned char)s[pos[i]]))
            return RSP_ESYNTAX;
    struct tm tm = {0};
    tm.tm_year = atoi(s) - 1900;
    tm.tm_mon = atoi(s + 5) - 1;
    tm.tm_mday = atoi(s + 8);
    tm.tm_hour = atoi(s + 11);
    tm.tm_min = atoi(s + 14);
    tm.tm_sec = atoi(s + 17);
    if (tm.tm_year < 70 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return RSP_ESYNTAX;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return RSP_ESYNTAX;
    *out = (int64_t)t;
    return 0;
}

static bool all_digits(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* Printable ASCII without the CSV/JSON structure characters that would confuse a report. */
static bool text_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e || s[i] == '"' ||
            s[i] == ',' || s[i] == '\\')
            return false;
    return true;
}

enum col {
    C_EVENT_ID,
    C_ICCID,
    C_IMSI,
    C_EID,
    C_IMEI,
    C_CUSTOMER,
    C_PLAN,
    C_COHORT,
    C_TIMESTAMP,
    C_ORDERED_AT,
    C_OUTCOME,
    C_NCOLS
};
static const struct {
    const char *name;
    enum col c;
} col_names[] = {
    {"event_id", C_EVENT_ID},
    {"iccid", C_ICCID},
    {"imsi", C_IMSI},
    {"eid", C_EID},
    {"imei", C_IMEI},
    {"customer", C_CUSTOMER},
    {"plan", C_PLAN},
    {"tariff", C_PLAN},
    {"cohort", C_COHORT},
    {"timestamp", C_TIMESTAMP},
    {"ordered_at", C_ORDERED_AT},
    {"outcome", C_OUTCOME},
};

static int col_from_name(const char *n, enum col *out)
{
    for (size_t i = 0; i < sizeof col_names / sizeof col_names[0]; i++)
        if (strcmp(n, col_names[i].name) == 0) {
            *out = col_names[i].c;
            return 0;
        }
    return RSP_ESYNTAX;
}

/* Sets one field from its text; `why` gets the reason of a refusal. */
static int set_field(struct rsp_recon_event *e, enum col c, const char *v, const char **why)
{
    switch (c) {
    case C_EVENT_ID:
        if (!v[0] || !text_ok(v, RSP_RECON_ID_MAX))
            return *why = "event_id: 1-64 printable characters", RSP_ESYNTAX;
        snprintf(e->event_id, sizeof e->event_id, "%s", v);
        return 0;
    case C_ICCID:
        if (v[0] && !all_digits(v, 18, 20))
            return *why = "iccid: 18-20 digits", RSP_ESYNTAX;
        snprintf(e->iccid, sizeof e->iccid, "%s", v);
        return 0;
    case C_IMSI:
        if (v[0] && !all_digits(v, 6, 15))
            return *why = "imsi: 6-15 digits", RSP_ESYNTAX;
        snprintf(e->imsi, sizeof e->imsi, "%s", v);
        return 0;
    case C_EID:
        if (v[0] && !all_digits(v, 32, 32))
            return *why = "eid: 32 digits", RSP_ESYNTAX;
        snprintf(e->eid, sizeof e->eid, "%s", v);
        return 0;
    case C_IMEI:
        if (v[0] && !all_digits(v, 14, 16))
            return *why = "imei: 14-16 digits", RSP_ESYNTAX;
        snprintf(e->imei, sizeof e->imei, "%s", v);
        return 0;
    case C_CUSTOMER:
        if (!text_ok(v, RSP_RECON_TEXT_MAX))
            return *why = "customer: up to 64 printable characters", RSP_ESYNTAX;
        snprintf(e->customer, sizeof e->customer, "%s", v);
        return 0;
    case C_PLAN:
        if (!text_ok(v, RSP_RECON_TEXT_MAX))
            return *why = "plan: up to 64 printable characters", RSP_ESYNTAX;
        snprintf(e->plan, sizeof e->plan, "%s", v);
        return 0;
    case C_COHORT:
        if (!text_ok(v, RSP_RECON_TEXT_MAX))
            return *why = "cohort: up to 64 printable characters", RSP_ESYNTAX;
        snprintf(e->cohort, sizeof e->cohort, "%s", v);
        return 0;
    case C_TIMESTAMP:
        if (rsp_recon_parse_time(v, &e->at) != 0)
            return *why = "timestamp: unix seconds or YYYY-MM-DDTHH:MM:SSZ", RSP_ESYNTAX;
        return 0;
    case C_ORDERED_AT:
        if (v[0] && rsp_recon_parse_time(v, &e->started_at) != 0)
            return *why = "ordered_at: unix seconds or YYYY-MM-DDTHH:MM:SSZ", RSP_ESYNTAX;
        return 0;
    case C_OUTCOME:
        if (strcmp(v, "ok") == 0 || !v[0])
            e->ok = true;
        else if (strcmp(v, "failed") == 0)
            e->ok = false;
        else
            return *why = "outcome: ok or failed", RSP_ESYNTAX;
        return 0;
    default:
        return *why = "unknown column", RSP_ESYNTAX;
    }
}

static int event_check(const struct rsp_recon_event *e, const bool seen[C_NCOLS], const char **why)
{
    if (!seen[C_EVENT_ID] || !e->event_id[0])
        return *why = "event_id missing", RSP_ESYNTAX;
    if (!seen[C_TIMESTAMP])
        return *why = "timestamp missing", RSP_ESYNTAX;
    if (!e->iccid[0] && !e->imsi[0] && !e->eid[0])
        return *why = "one of iccid, imsi, eid is required", RSP_ESYNTAX;
    if (e->kind == RSP_RECON_PHYSICAL && !e->iccid[0])
        return *why = "a physical-SIM activation needs its iccid", RSP_ESYNTAX;
    return 0;
}

static void event_init(struct rsp_recon_event *e, enum rsp_recon_kind kind)
{
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->ok = true;
}

int rsp_recon_parse_json_object(const void *obj, enum rsp_recon_kind kind,
                                struct rsp_recon_event *out, char *err, size_t err_len)
{
    const json_t *o = obj;
    const char *why = NULL;
    bool seen[C_NCOLS] = {false};
    event_init(out, kind);
    if (!json_is_object(o)) {
        snprintf(err, err_len, "not a JSON object");
        return RSP_ESYNTAX;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        enum col c;
        char num[32];
        const char *text;
        if (col_from_name(k, &c) != 0) {
            snprintf(err, err_len, "unknown field '%.40s'", k);
            return RSP_ESYNTAX;
        }
        if (json_is_string(v)) {
            text = json_string_value(v);
        } else if (json_is_integer(v) && (c == C_TIMESTAMP || c == C_ORDERED_AT) &&
                   json_integer_value(v) >= 0) {
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
            text = num;
        } else {
            snprintf(err, err_len, "%s: wrong type", k);
            return RSP_ESYNTAX;
        }
        if (set_field(out, c, text, &why) != 0) {
            snprintf(err, err_len, "%s", why);
            return RSP_ESYNTAX;
        }
        seen[c] = true;
    }
    if (event_check(out, seen, &why) != 0) {
        snprintf(err, err_len, "%s", why);
        return RSP_ESYNTAX;
    }
    return 0;
}

/* Splits one CSV line into at most max fields (quotes per RFC 4180, no embedded newlines). */
static int csv_split(char *line, char **f, size_t max, size_t *n)
{
    *n = 0;
    char *p = line;
    for (;;) {
        if (*n >= max)
            return RSP_ESYNTAX;
        if (*p == '"') {
            char *w = ++p;
            f[(*n)++] = w;
            for (;;) {
                if (!*p)
                    return RSP_ESYNTAX; /* unterminated */
                if (*p == '"') {
                    if (p[1] == '"') {
                        *w++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *w++ = *p++;
            }
            *w = 0;
            if (*p == ',') {
                p++;
                continue;
            }
            if (*p)
                return RSP_ESYNTAX;
            return 0;
        }
        f[(*n)++] = p;
        char *c = strchr(p, ',');
        if (!c)
            return 0;
        *c = 0;
        p = c + 1;
    }
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = 0;
    size_t i = 0;
    while (s[i] == ' ' || s[i] == '\t')
        i++;
    if (i)
        memmove(s, s + i, n - i + 1);
}

int rsp_recon_parse(enum rsp_recon_format fmt, enum rsp_recon_kind kind, const char *data,
                    size_t len, rsp_recon_event_cb cb, void *arg, char *err, size_t err_len)
{
    if ((unsigned)kind >= RSP_RECON_NKINDS || (!data && len))
        return RSP_EINVAL;
    char line[RSP_RECON_LINE_MAX + 1];
    enum col cols[C_NCOLS + 1];
    size_t ncols = 0;
    bool header = fmt == RSP_RECON_CSV;
    size_t lineno = 0, pos = 0;
    while (pos < len) {
        lineno++;
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - (data + pos)) : len - pos;
        if (ll && data[pos + ll - 1] == '\r')
            ll--;
        if (ll > RSP_RECON_LINE_MAX) {
            snprintf(err, err_len, "line %zu: longer than %d bytes", lineno, RSP_RECON_LINE_MAX);
            return RSP_ESYNTAX;
        }
        memcpy(line, data + pos, ll);
        line[ll] = 0;
        pos += (nl ? (size_t)(nl - (data + pos)) + 1 : len - pos);
        if (memchr(line, 0, ll)) {
            snprintf(err, err_len, "line %zu: NUL byte", lineno);
            return RSP_ESYNTAX;
        }
        trim(line);
        if (!line[0] || line[0] == '#')
            continue;
        struct rsp_recon_event e;
        const char *why = NULL;
        if (fmt == RSP_RECON_JSONL) {
            json_error_t je;
            json_t *o = json_loadb(line, strlen(line), JSON_REJECT_DUPLICATES, &je);
            if (!o) {
                snprintf(err, err_len, "line %zu: JSON: %.100s", lineno, je.text);
                return RSP_ESYNTAX;
            }
            char why2[160];
            int rc = rsp_recon_parse_json_object(o, kind, &e, why2, sizeof why2);
            json_decref(o);
            if (rc) {
                snprintf(err, err_len, "line %zu: %s", lineno, why2);
                return rc;
            }
        } else {
            char *f[C_NCOLS + 2];
            size_t n;
            if (csv_split(line, f, C_NCOLS + 1, &n) != 0) {
                snprintf(err, err_len, "line %zu: malformed CSV (quotes or more than %d fields)",
                         lineno, C_NCOLS);
                return RSP_ESYNTAX;
            }
            if (header) {
                bool dup[C_NCOLS] = {false};
                for (size_t i = 0; i < n; i++) {
                    trim(f[i]);
                    if (col_from_name(f[i], &cols[i]) != 0) {
                        snprintf(err, err_len, "line %zu: unknown column '%.40s'", lineno, f[i]);
                        return RSP_ESYNTAX;
                    }
                    if (dup[cols[i]]) {
                        snprintf(err, err_len, "line %zu: column '%.40s' twice", lineno, f[i]);
                        return RSP_ESYNTAX;
                    }
                    dup[cols[i]] = true;
                }
                ncols = n;
                header = false;
                continue;
            }
            if (n != ncols) {
                snprintf(err, err_len, "line %zu: %zu fields, the header has %zu", lineno, n,
                         ncols);
                return RSP_ESYNTAX;
            }
            bool seen[C_NCOLS] = {false};
            event_init(&e, kind);
            for (size_t i = 0; i < n; i++) {
                trim(f[i]);
                if (set_field(&e, cols[i], f[i], &why) != 0) {
                    snprintf(err, err_len, "line %zu: %s", lineno, why);
                    return RSP_ESYNTAX;
                }
                seen[cols[i]] = true;
            }
            if (event_check(&e, seen, &why) != 0) {
                snprintf(err, err_len, "line %zu: %s", lineno, why);
                return RSP_ESYNTAX;
            }
        }
        int rc = cb(arg, &e);
        if (rc)
            return rc;
    }
    if (header) {
        snprintf(err, err_len, "no header line");
        return RSP_ESYNTAX;
    }
    return 0;
}

/* ---- store wrappers ---- */

static const char *actor_or(const char *a)
{
    return a && *a ? a : "system";
}

int rsp_store_recon_import(struct rsp_store *st, const struct rsp_recon_event *ev, size_t n,
                           const char *actor, size_t *inserted)
{
    if (!st || (!ev && n))
        return RSP_EINVAL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned)ev[i].kind >= RSP_RECON_NKINDS || !ev[i].event_id[0])
            return RSP_EINVAL;
    if (!st->ops->recon_import)
        return RSP_EIO;
    return st->ops->recon_import(st, ev, n, actor_or(actor), inserted);
}

int rsp_store_recon_walk(struct rsp_store *st, int kind, rsp_store_recon_cb cb, void *arg)
{
    if (!st || !cb || kind >= (int)RSP_RECON_NKINDS)
        return RSP_EINVAL;
    if (!st->ops->recon_walk)
        return RSP_EIO;
    return st->ops->recon_walk(st, kind < 0 ? -1 : kind, cb, arg);
}

int rsp_store_recon_action_mark(struct rsp_store *st, const char *kind, const char *subject,
                                const char *action, const char *actor)
{
    if (!st || !kind || !subject || !action || !*kind || !*subject || !*action)
        return RSP_EINVAL;
    if (!st->ops->recon_action_mark)
        return RSP_EIO;
    return st->ops->recon_action_mark(st, kind, subject, action, actor_or(actor));
}

/* ---- matcher ---- */

struct pstate {
    unsigned billed, attached, billed_early; /* billed_early: billed while not installed */
    unsigned imsi_bad, tariff_bad;
    char bill_event[RSP_RECON_ID_MAX + 1];
    char imsi_event[RSP_RECON_ID_MAX + 1];
    char imsi_seen[16];
    char tariff_event[RSP_RECON_ID_MAX + 1];
    char tariff_seen[RSP_RECON_TEXT_MAX + 1];
};

/* Open addressing, FNV-1a; values are indexes + 1 (0 = empty). */
struct index {
    uint32_t *slot;
    size_t cap; /* power of two */
};

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

static int index_init(struct index *x, size_t n)
{
    x->cap = 16;
    while (x->cap < 2 * n + 1)
        x->cap <<= 1;
    x->slot = calloc(x->cap, sizeof *x->slot);
    return x->slot ? 0 : RSP_ENOMEM;
}

/* The slot of key (found or the empty one where it would go). keyof(i) gives the key of value i. */
#define INDEX_FIND(x, key, keyof, out)                                                             \
    do {                                                                                           \
        size_t m_ = (x)->cap - 1, i_ = (size_t)fnv(key) & m_;                                      \
        while ((x)->slot[i_] && strcmp(keyof((x)->slot[i_] - 1), (key)) != 0)                      \
            i_ = (i_ + 1) & m_;                                                                    \
        (out) = i_;                                                                                \
    } while (0)

struct unmatched {
    char subject[33];
    char event_id[RSP_RECON_ID_MAX + 1];
    unsigned n;
};

struct rsp_recon {
    struct rsp_recon_profile *p;
    struct pstate *ps;
    size_t n;
    struct index by_iccid, by_imsi, by_eid;
    /* physical SIMs (ICCID and IMSI), and billing events that matched no profile */
    char (*phys)[21];
    size_t n_phys, cap_phys;
    struct index phys_ix;
    struct unmatched *um;
    size_t n_um, cap_um;
    struct index um_ix;
};

#define PK_ICCID(r, i) ((r)->p[(i)].iccid)
#define PK_IMSI(r, i)  ((r)->p[(i)].imsi)
#define PK_EID(r, i)   ((r)->p[(i)].eid)

void rsp_recon_free(struct rsp_recon *r)
{
    if (!r)
        return;
    free(r->p);
    free(r->ps);
    free(r->by_iccid.slot);
    free(r->by_imsi.slot);
    free(r->by_eid.slot);
    free(r->phys);
    free(r->phys_ix.slot);
    free(r->um);
    free(r->um_ix.slot);
    free(r);
}

static bool better_for_eid(const struct rsp_recon_profile *a, const struct rsp_recon_profile *b)
{
    /* an Installed profile is the one an EID-only event is about */
    return a->state == RSP_PROFILE_INSTALLED && b->state != RSP_PROFILE_INSTALLED;
}

int rsp_recon_new(const struct rsp_recon_profile *p, size_t n, struct rsp_recon **out)
{
    if ((!p && n) || !out)
        return RSP_EINVAL;
    struct rsp_recon *r = calloc(1, sizeof *r);
    if (!r)
        return RSP_ENOMEM;
    r->n = n;
    r->p = malloc((n ? n : 1) * sizeof *r->p);
    r->ps = calloc(n ? n : 1, sizeof *r->ps);
    int rc = r->p && r->ps ? 0 : RSP_ENOMEM;
    if (rc == 0)
        rc = index_init(&r->by_iccid, n);
    if (rc == 0)
        rc = index_init(&r->by_imsi, n);
    if (rc == 0)
        rc = index_init(&r->by_eid, n);
    if (rc == 0)
        rc = index_init(&r->phys_ix, 1024);
    if (rc == 0)
        rc = index_init(&r->um_ix, 1024);
    if (rc) {
        rsp_recon_free(r);
        return rc;
    }
    if (n)
        memcpy(r->p, p, n * sizeof *p);
    size_t at;
#define KI(i) PK_ICCID(r, i)
#define KM(i) PK_IMSI(r, i)
#define KE(i) PK_EID(r, i)
    for (size_t i = 0; i < n; i++) {
        INDEX_FIND(&r->by_iccid, r->p[i].iccid, KI, at);
        if (!r->by_iccid.slot[at])
            r->by_iccid.slot[at] = (uint32_t)i + 1;
        if (r->p[i].imsi[0]) {
            INDEX_FIND(&r->by_imsi, r->p[i].imsi, KM, at);
            if (!r->by_imsi.slot[at])
                r->by_imsi.slot[at] = (uint32_t)i + 1;
        }
        if (r->p[i].eid[0]) {
            INDEX_FIND(&r->by_eid, r->p[i].eid, KE, at);
            if (!r->by_eid.slot[at] || better_for_eid(&r->p[i], &r->p[r->by_eid.slot[at] - 1]))
                r->by_eid.slot[at] = (uint32_t)i + 1;
        }
    }
    *out = r;
    return 0;
}

int rsp_recon_set_tariff(struct rsp_recon *r, const char *iccid, const char *tariff)
{
    size_t at;
    INDEX_FIND(&r->by_iccid, iccid, KI, at);
    if (!r->by_iccid.slot[at])
        return RSP_ENOTFOUND;
    snprintf(r->p[r->by_iccid.slot[at] - 1].tariff, sizeof r->p[0].tariff, "%s", tariff);
    return 0;
}

/* Grows an index when it is half full: rebuild with keys from keyof. */
static int grow(struct index *x, size_t used, const char *(*keyof)(void *, size_t), void *ctx)
{
    if (2 * (used + 1) < x->cap)
        return 0;
    struct index nx;
    int rc = index_init(&nx, 2 * used + 2);
    if (rc)
        return rc;
    for (size_t i = 0; i < used; i++) {
        size_t m = nx.cap - 1, j = (size_t)fnv(keyof(ctx, i)) & m;
        while (nx.slot[j])
            j = (j + 1) & m;
        nx.slot[j] = (uint32_t)i + 1;
    }
    free(x->slot);
    *x = nx;
    return 0;
}

static const char *phys_key(void *ctx, size_t i)
{
    return ((struct rsp_recon *)ctx)->phys[i];
}

static const char *um_key(void *ctx, size_t i)
{
    return ((struct rsp_recon *)ctx)->um[i].subject;
}

#define KP(i) (r->phys[(i)])
#define KU(i) (r->um[(i)].subject)

static int phys_add(struct rsp_recon *r, const char *key)
{
    if (!key[0])
        return 0;
    size_t at;
    INDEX_FIND(&r->phys_ix, key, KP, at);
    if (r->phys_ix.slot[at])
        return 0;
    if (r->n_phys == r->cap_phys) {
        size_t nc = r->cap_phys ? 2 * r->cap_phys : 256;
        void *np = realloc(r->phys, nc * sizeof *r->phys);
        if (!np)
            return RSP_ENOMEM;
        r->phys = np;
        r->cap_phys = nc;
    }
    int rc = grow(&r->phys_ix, r->n_phys, phys_key, r);
    if (rc)
        return rc;
    snprintf(r->phys[r->n_phys], sizeof r->phys[0], "%s", key);
    INDEX_FIND(&r->phys_ix, key, KP, at);
    r->phys_ix.slot[at] = (uint32_t)++r->n_phys;
    return 0;
}

static bool phys_has(struct rsp_recon *r, const char *key)
{
    if (!key[0])
        return false;
    size_t at;
    INDEX_FIND(&r->phys_ix, key, KP, at);
    return r->phys_ix.slot[at] != 0;
}

static int um_add(struct rsp_recon *r, const char *subject, const char *event_id)
{
    size_t at;
    INDEX_FIND(&r->um_ix, subject, KU, at);
    if (r->um_ix.slot[at]) {
        r->um[r->um_ix.slot[at] - 1].n++;
        return 0;
    }
    if (r->n_um == r->cap_um) {
        size_t nc = r->cap_um ? 2 * r->cap_um : 256;
        void *np = realloc(r->um, nc * sizeof *r->um);
        if (!np)
            return RSP_ENOMEM;
        r->um = np;
        r->cap_um = nc;
    }
    int rc = grow(&r->um_ix, r->n_um, um_key, r);
    if (rc)
        return rc;
    struct unmatched *u = &r->um[r->n_um];
    snprintf(u->subject, sizeof u->subject, "%s", subject);
    snprintf(u->event_id, sizeof u->event_id, "%s", event_id);
    u->n = 1;
    INDEX_FIND(&r->um_ix, subject, KU, at);
    r->um_ix.slot[at] = (uint32_t)++r->n_um;
    return 0;
}

/* The profile an event is about: by ICCID when it carries one, else IMSI, else EID; -1 none. */
static long resolve(struct rsp_recon *r, const struct rsp_recon_event *ev)
{
    size_t at;
    if (ev->iccid[0]) {
        INDEX_FIND(&r->by_iccid, ev->iccid, KI, at);
        return (long)r->by_iccid.slot[at] - 1;
    }
    if (ev->imsi[0]) {
        INDEX_FIND(&r->by_imsi, ev->imsi, KM, at);
        return (long)r->by_imsi.slot[at] - 1;
    }
    INDEX_FIND(&r->by_eid, ev->eid, KE, at);
    return (long)r->by_eid.slot[at] - 1;
}

int rsp_recon_add_event(struct rsp_recon *r, const struct rsp_recon_event *ev)
{
    if (!r || !ev)
        return RSP_EINVAL;
    if (ev->kind == RSP_RECON_PHYSICAL) {
        int rc = phys_add(r, ev->iccid);
        return rc ? rc : phys_add(r, ev->imsi);
    }
    long i = resolve(r, ev);
    if (i < 0) {
        if (ev->kind != RSP_RECON_BILLING)
            return 0; /* an attach of a subscription not provisioned here */
        return um_add(r, ev->iccid[0] ? ev->iccid : ev->imsi[0] ? ev->imsi : ev->eid, ev->event_id);
    }
    const struct rsp_recon_profile *p = &r->p[i];
    struct pstate *s = &r->ps[i];
    if (ev->imsi[0] && p->imsi[0] && strcmp(ev->imsi, p->imsi) != 0) {
        if (!s->imsi_bad++) {
            snprintf(s->imsi_event, sizeof s->imsi_event, "%s", ev->event_id);
            snprintf(s->imsi_seen, sizeof s->imsi_seen, "%s", ev->imsi);
        }
    }
    if (ev->kind == RSP_RECON_ATTACH) {
        s->attached++;
        return 0;
    }
    s->billed++;
    if (p->state != RSP_PROFILE_INSTALLED) {
        if (!s->billed_early++)
            snprintf(s->bill_event, sizeof s->bill_event, "%s", ev->event_id);
    }
    if (p->tariff[0] && ev->plan[0] && strcmp(p->tariff, ev->plan) != 0) {
        if (!s->tariff_bad++) {
            snprintf(s->tariff_event, sizeof s->tariff_event, "%s", ev->event_id);
            snprintf(s->tariff_seen, sizeof s->tariff_seen, "%s", ev->plan);
        }
    }
    return 0;
}

struct fvec {
    struct rsp_recon_finding *v;
    size_t n, cap;
    int err;
};

static struct rsp_recon_finding *fadd(struct fvec *f, enum rsp_recon_disc kind, const char *subject,
                                      const char *event_id, unsigned n_events)
{
    if (f->n == f->cap) {
        size_t nc = f->cap ? 2 * f->cap : 256;
        void *nv = realloc(f->v, nc * sizeof *f->v);
        if (!nv) {
            f->err = RSP_ENOMEM;
            return NULL;
        }
        f->v = nv;
        f->cap = nc;
    }
    struct rsp_recon_finding *x = &f->v[f->n++];
    memset(x, 0, sizeof *x);
    x->kind = kind;
    snprintf(x->subject, sizeof x->subject, "%s", subject);
    snprintf(x->event_id, sizeof x->event_id, "%s", event_id ? event_id : "");
    x->n_events = n_events;
    return x;
}

static int fcmp(const void *a, const void *b)
{
    const struct rsp_recon_finding *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return strcmp(x->subject, y->subject);
}

int rsp_recon_findings(struct rsp_recon *r, const struct rsp_recon_params *prm,
                       struct rsp_recon_finding **out, size_t *n, size_t counts[RSP_DISC_NKINDS])
{
    if (!r || !prm || !out || !n)
        return RSP_EINVAL;
    struct fvec f = {0};
    for (size_t i = 0; i < r->n && !f.err; i++) {
        const struct rsp_recon_profile *p = &r->p[i];
        const struct pstate *s = &r->ps[i];
        int64_t age = prm->now - p->state_since;
        struct rsp_recon_finding *x;
        if ((p->state == RSP_PROFILE_RELEASED || p->state == RSP_PROFILE_DOWNLOADED) &&
            age > prm->release_ttl &&
            (x = fadd(&f, RSP_DISC_RELEASED_NOT_INSTALLED, p->iccid, NULL, 0)))
            snprintf(x->seen, sizeof x->seen, "%s", rsp_profile_state_name(p->state));
        if (p->state == RSP_PROFILE_INSTALLED && !s->attached && age > prm->attach_grace)
            fadd(&f, RSP_DISC_INSTALLED_NOT_ATTACHED, p->iccid, NULL, 0);
        if (p->state == RSP_PROFILE_INSTALLED && !s->billed && age > prm->billing_grace)
            fadd(&f, RSP_DISC_INSTALLED_NOT_BILLED, p->iccid, NULL, 0);
        if (s->billed_early &&
            (x = fadd(&f, RSP_DISC_BILLED_NOT_INSTALLED, p->iccid, s->bill_event, s->billed_early)))
            snprintf(x->seen, sizeof x->seen, "%s", rsp_profile_state_name(p->state));
        if (s->imsi_bad &&
            (x = fadd(&f, RSP_DISC_IMSI_MISMATCH, p->iccid, s->imsi_event, s->imsi_bad))) {
            snprintf(x->expected, sizeof x->expected, "%s", p->imsi);
            snprintf(x->seen, sizeof x->seen, "%s", s->imsi_seen);
        }
        if (s->tariff_bad &&
            (x = fadd(&f, RSP_DISC_TARIFF_MISMATCH, p->iccid, s->tariff_event, s->tariff_bad))) {
            snprintf(x->expected, sizeof x->expected, "%s", p->tariff);
            snprintf(x->seen, sizeof x->seen, "%s", s->tariff_seen);
        }
    }
    for (size_t i = 0; i < r->n_um && !f.err; i++) {
        if (phys_has(r, r->um[i].subject))
            continue; /* a physical SIM's billing */
        struct rsp_recon_finding *x = fadd(&f, RSP_DISC_BILLED_NOT_INSTALLED, r->um[i].subject,
                                           r->um[i].event_id, r->um[i].n);
        if (x)
            snprintf(x->seen, sizeof x->seen, "unknown");
    }
    if (f.err) {
        free(f.v);
        return f.err;
    }
    if (f.n)
        qsort(f.v, f.n, sizeof *f.v, fcmp);
    if (counts) {
        memset(counts, 0, RSP_DISC_NKINDS * sizeof counts[0]);
        for (size_t i = 0; i < f.n; i++)
            counts[f.v[i].kind]++;
    }
    *out = f.v;
    *n = f.n;
    return 0;
}

/* ---- loading from a store ---- */

struct orders_ctx {
    rsp_recon_order_cb cb;
    void *arg;
};

static int order_cb(void *arg, const struct rsp_act_order *o)
{
    const struct orders_ctx *c = arg;
    if (!o->iccid[0])
        return 0; /* not reserved yet: no subscription to compare */
    return c->cb(c->arg, o->iccid, o->tariff_plan, o->customer_ref);
}

int rsp_recon_orders(struct rsp_store *st, rsp_recon_order_cb cb, void *arg)
{
    if (!st || !cb)
        return RSP_EINVAL;
    struct orders_ctx c = {cb, arg};
    return rsp_act_order_list(st, NULL, order_cb, &c);
}

struct pvec {
    struct rsp_recon_profile *v;
    size_t n, cap;
};

static int load_profile(void *arg, const struct rsp_profile *p)
{
    struct pvec *pv = arg;
    if (pv->n == pv->cap) {
        size_t nc = pv->cap ? 2 * pv->cap : 1024;
        void *nv = realloc(pv->v, nc * sizeof *pv->v);
        if (!nv)
            return RSP_ENOMEM;
        pv->v = nv;
        pv->cap = nc;
    }
    struct rsp_recon_profile *x = &pv->v[pv->n++];
    memset(x, 0, sizeof *x);
    snprintf(x->iccid, sizeof x->iccid, "%s", p->iccid);
    snprintf(x->imsi, sizeof x->imsi, "%s", p->imsi);
    snprintf(x->eid, sizeof x->eid, "%s", p->eid);
    x->state = p->state;
    x->state_since = p->state_since;
    return 0;
}

static int load_tariff(void *arg, const char *iccid, const char *tariff, const char *customer)
{
    (void)customer;
    int rc = rsp_recon_set_tariff(arg, iccid, tariff);
    return rc == RSP_ENOTFOUND ? 0 : rc;
}

static int load_event(void *arg, const struct rsp_recon_event *ev)
{
    return rsp_recon_add_event(arg, ev);
}

int rsp_recon_load(struct rsp_store *st, struct rsp_recon **out)
{
    if (!st || !out)
        return RSP_EINVAL;
    struct pvec pv = {0};
    int rc = rsp_store_profile_list(st, NULL, load_profile, &pv);
    struct rsp_recon *r = NULL;
    if (rc == 0)
        rc = rsp_recon_new(pv.v, pv.n, &r);
    free(pv.v);
    if (rc == 0)
        rc = rsp_recon_orders(st, load_tariff, r);
    if (rc == 0)
        rc = rsp_store_recon_walk(st, -1, load_event, r);
    if (rc) {
        rsp_recon_free(r);
        return rc;
    }
    *out = r;
    return 0;
}
