/* rsp-impair parameters: KEY=VALUE parsing (command line and control file), the deterministic
 * generator and the per-connection plan. No I/O here; the proxy is src/ops/impair.c. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/impair.h"

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int rc,
                                                      const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

void rsp_impair_params_default(struct rsp_impair_params *p)
{
    memset(p, 0, sizeof *p);
    p->drop_min = 1;
    p->drop_max = 65536;
    p->drop_dir = RSP_IMPAIR_DROP_DIR_BOTH;
    p->drop_mode = RSP_IMPAIR_DROP_RESET;
    p->network = RSP_IMPAIR_NET_UP;
}

const char *rsp_impair_network_name(enum rsp_impair_network n)
{
    switch (n) {
    case RSP_IMPAIR_NET_UP:
        return "up";
    case RSP_IMPAIR_NET_DOWN:
        return "down";
    case RSP_IMPAIR_NET_BLACKHOLE:
        return "blackhole";
    }
    return "?";
}

const char *rsp_impair_dir_name(enum rsp_impair_dir d)
{
    return d == RSP_IMPAIR_C2S ? "c2s" : "s2c";
}

const char *rsp_impair_drop_mode_name(enum rsp_impair_drop_mode m)
{
    switch (m) {
    case RSP_IMPAIR_DROP_RESET:
        return "reset";
    case RSP_IMPAIR_DROP_CLOSE:
        return "close";
    case RSP_IMPAIR_DROP_HANG:
        return "hang";
    }
    return "?";
}

/* ---- values ---- */

/* Decimal digits only (no sign, no spaces), at most max. */
static int parse_u64(const char *v, uint64_t max, uint64_t *out)
{
    if (!*v)
        return RSP_ESYNTAX;
    uint64_t x = 0;
    for (const char *s = v; *s; s++) {
        if (*s < '0' || *s > '9')
            return RSP_ESYNTAX;
        unsigned dgt = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - dgt) / 10)
            return RSP_ERANGE;
        x = x * 10 + dgt;
    }
    if (x > max)
        return RSP_ERANGE;
    *out = x;
    return 0;
}

/* A probability: a plain decimal number in [0, 1] ("0.3", "1", ".5"; no exponent, no sign). */
static int parse_prob(const char *v, double *out)
{
    if (!*v || strlen(v) > 32)
        return RSP_ESYNTAX;
    for (const char *s = v; *s; s++)
        if (!isdigit((unsigned char)*s) && *s != '.')
            return RSP_ESYNTAX;
    char *end = NULL;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || !end || *end || !isfinite(x))
        return RSP_ESYNTAX;
    if (x < 0 || x > 1)
        return RSP_ERANGE;
    *out = x;
    return 0;
}

static int parse_enum(const char *v, const char *const *names, int n, int *out)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(v, names[i])) {
            *out = i;
            return 0;
        }
    return RSP_ESYNTAX;
}

/* ---- keys ---- */

enum key_kind {
    K_MS,
    K_BYTES,
    K_RATE,
    K_PROB,
    K_FIRST,
    K_JDIST,
    K_NET,
    K_DDIR,
    K_DMODE,
    K_RANGE,
    K_TAG
};

struct key {
    const char *name;
    enum key_kind kind;
    bool per_dir; /* accepts c2s./s2c. prefixes; bare sets both directions */
    size_t off;   /* in struct rsp_impair_dir_params (per_dir) or struct rsp_impair_params */
    const char *what;
};

#define DK(n, k, f, w)                                                                             \
    {                                                                                              \
        n, k, true, offsetof(struct rsp_impair_dir_params, f), w                                   \
    }
#define PK(n, k, f, w)                                                                             \
    {                                                                                              \
        n, k, false, offsetof(struct rsp_impair_params, f), w                                      \
    }
static const struct key keys[] = {
    DK("latency", K_MS, latency_ms, "milliseconds"),
    DK("jitter", K_MS, jitter_ms, "milliseconds"),
    DK("jitter_dist", K_JDIST, jitter_dist, "uniform or normal"),
    DK("rate", K_RATE, rate, "bytes per second (0: no cap)"),
    DK("stall_prob", K_PROB, stall_prob, "a probability in [0, 1]"),
    DK("stall_every", K_BYTES, stall_every, "bytes (0: off)"),
    DK("stall_ms", K_MS, stall_ms, "milliseconds"),
    DK("reset_after", K_BYTES, reset_after, "bytes (0: never)"),
    PK("drop_fraction", K_PROB, drop_fraction, "a fraction in [0, 1]"),
    PK("drop_min", K_BYTES, drop_min, "bytes"),
    PK("drop_max", K_BYTES, drop_max, "bytes"),
    PK("drop_range", K_RANGE, drop_min, "MIN-MAX (bytes)"),
    PK("drop_dir", K_DDIR, drop_dir, "c2s, s2c or both"),
    PK("drop_mode", K_DMODE, drop_mode, "reset, close or hang"),
    PK("refuse_first", K_FIRST, refuse_first, "a connection count"),
    PK("drop_first", K_FIRST, drop_first, "a connection count"),
    PK("network", K_NET, network, "up, down or blackhole"),
    PK("tag", K_TAG, tag, "text (printable ASCII, at most 63 bytes)"),
};

static const char *const jdist_names[] = {"uniform", "normal"};
static const char *const net_names[] = {"up", "down", "blackhole"};
static const char *const ddir_names[] = {"c2s", "s2c", "both"};
static const char *const dmode_names[] = {"reset", "close", "hang"};

/* Stores v into the field at base + k->off. */
static int set_value(const struct key *k, void *base, const char *v)
{
    uint8_t *f = (uint8_t *)base + k->off;
    uint64_t u = 0;
    int e = 0, rc;
    switch (k->kind) {
    case K_MS:
        if ((rc = parse_u64(v, RSP_IMPAIR_MAX_MS, &u)) != 0)
            return rc;
        *(uint32_t *)f = (uint32_t)u;
        return 0;
    case K_BYTES:
        if ((rc = parse_u64(v, RSP_IMPAIR_MAX_BYTES, &u)) != 0)
            return rc;
        *(uint64_t *)f = u;
        return 0;
    case K_RATE:
        if ((rc = parse_u64(v, RSP_IMPAIR_MAX_RATE, &u)) != 0)
            return rc;
        *(uint64_t *)f = u;
        return 0;
    case K_FIRST:
        if ((rc = parse_u64(v, RSP_IMPAIR_MAX_FIRST, &u)) != 0)
            return rc;
        *(uint32_t *)f = (uint32_t)u;
        return 0;
    case K_PROB:
        return parse_prob(v, (double *)f);
    case K_JDIST:
        if ((rc = parse_enum(v, jdist_names, 2, &e)) != 0)
            return rc;
        *(enum rsp_impair_jitter_dist *)f = (enum rsp_impair_jitter_dist)e;
        return 0;
    case K_NET:
        if ((rc = parse_enum(v, net_names, 3, &e)) != 0)
            return rc;
        *(enum rsp_impair_network *)f = (enum rsp_impair_network)e;
        return 0;
    case K_DDIR:
        if ((rc = parse_enum(v, ddir_names, 3, &e)) != 0)
            return rc;
        *(enum rsp_impair_drop_dir *)f = (enum rsp_impair_drop_dir)e;
        return 0;
    case K_DMODE:
        if ((rc = parse_enum(v, dmode_names, 3, &e)) != 0)
            return rc;
        *(enum rsp_impair_drop_mode *)f = (enum rsp_impair_drop_mode)e;
        return 0;
    case K_RANGE: {
        const char *dash = strchr(v, '-');
        if (!dash || dash == v || dash - v > 20)
            return RSP_ESYNTAX;
        char lo[21];
        memcpy(lo, v, (size_t)(dash - v));
        lo[dash - v] = 0;
        uint64_t a, b;
        if ((rc = parse_u64(lo, RSP_IMPAIR_MAX_BYTES, &a)) != 0 ||
            (rc = parse_u64(dash + 1, RSP_IMPAIR_MAX_BYTES, &b)) != 0)
            return rc;
        if (a > b)
            return RSP_ERANGE;
        struct rsp_impair_params *p = base;
        p->drop_min = a;
        p->drop_max = b;
        return 0;
    }
    case K_TAG: {
        size_t n = strlen(v);
        if (n >= RSP_IMPAIR_TAG_MAX)
            return RSP_ERANGE;
        for (size_t i = 0; i < n; i++)
            if (v[i] < 0x20 || v[i] > 0x7e)
                return RSP_ESYNTAX;
        memcpy(f, v, n + 1);
        return 0;
    }
    }
    return RSP_EINVAL;
}

int rsp_impair_params_set(struct rsp_impair_params *p, const char *key, const char *value,
                          char *err, size_t errlen)
{
    if (!p || !key || !value)
        return fail(err, errlen, RSP_EINVAL, "missing key or value");
    int dir = -1; /* -1: both */
    const char *name = key;
    if (!strncmp(key, "c2s.", 4)) {
        dir = RSP_IMPAIR_C2S;
        name = key + 4;
    } else if (!strncmp(key, "s2c.", 4)) {
        dir = RSP_IMPAIR_S2C;
        name = key + 4;
    }
    const struct key *k = NULL;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(keys[i].name, name))
            k = &keys[i];
    if (!k)
        return fail(err, errlen, RSP_EINVAL, "unknown key '%.64s'", key);
    if (dir >= 0 && !k->per_dir)
        return fail(err, errlen, RSP_EINVAL, "'%.64s' is not a per-direction key", name);
    int rc;
    if (k->per_dir) {
        struct rsp_impair_params q = *p;
        for (int d = 0; d < 2; d++)
            if ((dir < 0 || dir == d) && (rc = set_value(k, &q.dir[d], value)) != 0)
                goto bad;
        *p = q;
        return 0;
    }
    struct rsp_impair_params q = *p;
    if ((rc = set_value(k, &q, value)) != 0)
        goto bad;
    *p = q;
    return 0;
bad:
    return fail(err, errlen, rc, "%.64s=%.64s: %s (expected %s)", key, value,
                rc == RSP_ERANGE ? "out of range" : "malformed", k->what);
}

int rsp_impair_params_set_kv(struct rsp_impair_params *p, const char *kv, char *err, size_t errlen)
{
    if (!kv)
        return fail(err, errlen, RSP_EINVAL, "missing KEY=VALUE");
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv || eq - kv > 64)
        return fail(err, errlen, RSP_ESYNTAX, "'%.80s' is not KEY=VALUE", kv);
    char key[65];
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = 0;
    return rsp_impair_params_set(p, key, eq + 1, err, errlen);
}

int rsp_impair_params_check(const struct rsp_impair_params *p, char *err, size_t errlen)
{
    if (p->drop_min > p->drop_max)
        return fail(err, errlen, RSP_ERANGE, "drop_min %llu is above drop_max %llu",
                    (unsigned long long)p->drop_min, (unsigned long long)p->drop_max);
    if (p->drop_fraction > 0 && p->drop_min == 0)
        return fail(err, errlen, RSP_ERANGE,
                    "drop_min must be at least 1 (a drop at byte 0 is refuse_first)");
    return 0;
}

static char *trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        *--end = 0;
    *end = 0;
    return s;
}

int rsp_impair_params_parse(struct rsp_impair_params *p, const char *text, size_t len, char *err,
                            size_t errlen)
{
    if (!p || (!text && len))
        return fail(err, errlen, RSP_EINVAL, "no text");
    if (len > RSP_IMPAIR_CONTROL_MAX)
        return fail(err, errlen, RSP_ERANGE, "control file larger than %u bytes",
                    RSP_IMPAIR_CONTROL_MAX);
    struct rsp_impair_params q = *p;
    size_t pos = 0;
    unsigned lineno = 0;
    while (pos < len) {
        lineno++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        if (n > 512)
            return fail(err, errlen, RSP_ERANGE, "line %u: longer than 512 bytes", lineno);
        char line[513];
        memcpy(line, text + pos, n);
        line[n] = 0;
        pos += n + (nl ? 1 : 0);
        if (memchr(line, 0, n))
            return fail(err, errlen, RSP_ESYNTAX, "line %u: NUL byte", lineno);
        char *s = trim(line, line + n);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq)
            return fail(err, errlen, RSP_ESYNTAX, "line %u: not KEY=VALUE", lineno);
        *eq = 0;
        char *key = trim(s, eq);
        char *val = trim(eq + 1, eq + 1 + strlen(eq + 1));
        char msg[200];
        int rc = rsp_impair_params_set(&q, key, val, msg, sizeof msg);
        if (rc)
            return fail(err, errlen, rc, "line %u: %s", lineno, msg);
    }
    char msg[200];
    int rc = rsp_impair_params_check(&q, msg, sizeof msg);
    if (rc)
        return fail(err, errlen, rc, "%s", msg);
    *p = q;
    return 0;
}

int rsp_impair_split_hostport(const char *s, char *host, size_t hostlen, uint16_t *port)
{
    if (!s || !host || !hostlen || !port)
        return RSP_EINVAL;
    const char *h = s, *colon;
    size_t hl;
    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return RSP_ESYNTAX;
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || strchr(s, ':') != colon)
            return RSP_ESYNTAX;
        hl = (size_t)(colon - s);
    }
    if (!hl || hl >= hostlen)
        return hl ? RSP_ERANGE : RSP_ESYNTAX;
    uint64_t pv;
    int rc = parse_u64(colon + 1, 65535, &pv);
    if (rc)
        return rc;
    memcpy(host, h, hl);
    host[hl] = 0;
    *port = (uint16_t)pv;
    return 0;
}

/* ---- generator: splitmix64 to seed, xoshiro256** to draw ---- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void rsp_impair_rng_init(struct rsp_impair_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed;
    uint64_t mix = splitmix64(&x) ^ (stream * 0xd1342543de82ef95ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&mix);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t rsp_impair_rng_u64(struct rsp_impair_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rsp_impair_rng_unit(struct rsp_impair_rng *r)
{
    return (double)(rsp_impair_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t rsp_impair_rng_range(struct rsp_impair_rng *r, uint64_t lo, uint64_t hi)
{
    if (hi <= lo)
        return lo;
    uint64_t span = hi - lo + 1;
    if (span == 0) /* the whole 64-bit range */
        return rsp_impair_rng_u64(r);
    /* rejection sampling: no modulo bias */
    uint64_t limit = UINT64_MAX - UINT64_MAX % span;
    uint64_t x;
    do
        x = rsp_impair_rng_u64(r);
    while (x >= limit);
    return lo + x % span;
}

uint32_t rsp_impair_delay_ms(const struct rsp_impair_dir_params *d, struct rsp_impair_rng *r)
{
    double lat = d->latency_ms, j = d->jitter_ms, x = lat;
    if (j > 0) {
        if (d->jitter_dist == RSP_IMPAIR_JITTER_NORMAL) {
            /* Box-Muller; 1 - unit is in (0, 1] so the logarithm is finite */
            double u1 = 1.0 - rsp_impair_rng_unit(r), u2 = rsp_impair_rng_unit(r);
            double z = sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
            if (z > 3)
                z = 3;
            if (z < -3)
                z = -3;
            x = lat + z * j;
        } else {
            x = lat - j + rsp_impair_rng_unit(r) * 2.0 * j;
        }
    }
    if (x < 0)
        x = 0;
    return (uint32_t)llround(x);
}

void rsp_impair_plan_conn(const struct rsp_impair_params *p, uint64_t seed, uint64_t index,
                          struct rsp_impair_plan *out)
{
    struct rsp_impair_rng r;
    rsp_impair_rng_init(&r, seed, index * 4);
    memset(out, 0, sizeof *out);
    /* always the same number of draws, so a change of one key does not shift the others */
    double u = rsp_impair_rng_unit(&r);
    uint64_t dirbit = rsp_impair_rng_u64(&r) >> 63;
    uint64_t at = rsp_impair_rng_range(&r, p->drop_min, p->drop_max);
    if (p->drop_fraction <= 0 || u >= p->drop_fraction)
        return;
    out->drop = true;
    out->drop_in = p->drop_dir == RSP_IMPAIR_DROP_DIR_C2S   ? RSP_IMPAIR_C2S
                   : p->drop_dir == RSP_IMPAIR_DROP_DIR_S2C ? RSP_IMPAIR_S2C
                   : dirbit                                 ? RSP_IMPAIR_S2C
                                                            : RSP_IMPAIR_C2S;
    out->drop_at = at;
}
