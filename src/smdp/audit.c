/* Audit chain: canonical record encoding, hashes, signed checkpoints, pseudonyms and the
 * streaming verifier (rsp/audit.h, docs/AUDIT.md). Pure: no I/O. */
#include "rsp/audit.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"

#define RECORD_TAG     "rspkit-audit-record-v1"
#define CHECKPOINT_TAG "rspkit-audit-checkpoint-v1"
#define PSEUDO_KEY_TAG "rspkit-pseudonym-key-id"

/* ---- records ---- */

static bool printable(unsigned char c)
{
    return c >= 0x20 && c <= 0x7E;
}

/* Copies src into dst[cap]: cut at cap-1 (with "..." when `mark`), non-printable bytes as '?'. */
static void copy_field(char *dst, size_t cap, const char *src, bool mark)
{
    size_t n = src ? strlen(src) : 0;
    bool cut = n > cap - 1;
    if (cut)
        n = cap - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = printable((unsigned char)src[i]) ? src[i] : '?';
    if (cut && mark && cap > 4)
        memcpy(dst + n - 3, "...", 3);
    dst[n] = 0;
}

void rsp_audit_entry_set(struct rsp_audit_entry *e, const char *entity, const char *key,
                         const char *from, const char *to, const char *actor, const char *subject,
                         const char *reason)
{
    memset(e, 0, sizeof *e);
    copy_field(e->entity, sizeof e->entity, entity, false);
    copy_field(e->key, sizeof e->key, key, false);
    copy_field(e->from, sizeof e->from, from, false);
    copy_field(e->to, sizeof e->to, to, false);
    copy_field(e->actor, sizeof e->actor, actor, false);
    copy_field(e->subject, sizeof e->subject, subject, false);
    copy_field(e->reason, sizeof e->reason, reason, true);
}

static void put_u64(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)(v & 0xFF);
        v >>= 8;
    }
}

/* u16 length || bytes of a NUL-terminated field of at most `max` printable bytes. */
static int put_text(struct rsp_buf *b, const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n >= cap)
        return RSP_EINVAL; /* not terminated within its field */
    for (size_t i = 0; i < n; i++)
        if (!printable((unsigned char)s[i]))
            return RSP_EINVAL;
    uint8_t len[2] = {(uint8_t)(n >> 8), (uint8_t)n};
    rsp_buf_append(b, len, 2);
    return rsp_buf_append(b, s, n);
}

int rsp_audit_encode(const struct rsp_audit_entry *e, struct rsp_buf *out)
{
    if (!e || !out)
        return RSP_EINVAL;
    uint8_t n[16];
    put_u64(n, (uint64_t)e->seq);
    put_u64(n + 8, (uint64_t)e->at);
    int rc = rsp_buf_append(out, RECORD_TAG, strlen(RECORD_TAG));
    if (rc == 0)
        rc = rsp_buf_append(out, n, sizeof n);
    if (rc == 0)
        rc = put_text(out, e->entity, sizeof e->entity);
    if (rc == 0)
        rc = put_text(out, e->key, sizeof e->key);
    if (rc == 0)
        rc = put_text(out, e->from, sizeof e->from);
    if (rc == 0)
        rc = put_text(out, e->to, sizeof e->to);
    if (rc == 0)
        rc = put_text(out, e->actor, sizeof e->actor);
    if (rc == 0)
        rc = put_text(out, e->subject, sizeof e->subject);
    if (rc == 0)
        rc = put_text(out, e->reason, sizeof e->reason);
    if (rc == 0)
        rc = rsp_buf_append(out, e->prev, sizeof e->prev);
    return rc ? rc : out->err;
}

int rsp_audit_hash(const struct rsp_audit_entry *e, uint8_t out[RSP_AUDIT_HASH_LEN])
{
    if (!e || !out)
        return RSP_EINVAL;
    /* The largest encoding is under 600 bytes: no allocation. */
    uint8_t stack[1024];
    struct rsp_buf b = {stack, 0, sizeof stack, 0};
    int rc = rsp_audit_encode(e, &b);
    if (rc == 0 && b.data != stack) /* cannot happen with the field limits above */
        rc = RSP_ERANGE;
    if (rc == 0)
        rc = rsp_sha256(b.data, b.len, out);
    if (b.data != stack)
        rsp_buf_free(&b);
    return rc;
}

int rsp_audit_seal(struct rsp_audit_entry *e, int64_t prev_seq,
                   const uint8_t prev_hash[RSP_AUDIT_HASH_LEN])
{
    if (!e || !prev_hash)
        return RSP_EINVAL;
    if (prev_seq < 0 || prev_seq == INT64_MAX)
        return RSP_ERANGE;
    e->seq = prev_seq + 1;
    memcpy(e->prev, prev_hash, RSP_AUDIT_HASH_LEN);
    return rsp_audit_hash(e, e->hash);
}

/* ---- checkpoints ---- */

int rsp_audit_key_id(const struct rsp_key *k, uint8_t out[RSP_AUDIT_HASH_LEN])
{
    uint8_t pt[RSP_EC_POINT_LEN];
    if (!k || !out)
        return RSP_EINVAL;
    int rc = rsp_key_point(k, pt);
    return rc ? rc : rsp_sha256(pt, sizeof pt, out);
}

int rsp_audit_checkpoint_input(const struct rsp_audit_checkpoint *cp, struct rsp_buf *out)
{
    if (!cp || !out)
        return RSP_EINVAL;
    uint8_t n[8];
    rsp_buf_append(out, CHECKPOINT_TAG, strlen(CHECKPOINT_TAG));
    put_u64(n, (uint64_t)cp->seq);
    rsp_buf_append(out, n, 8);
    rsp_buf_append(out, cp->hash, sizeof cp->hash);
    put_u64(n, (uint64_t)cp->at);
    rsp_buf_append(out, n, 8);
    rsp_buf_append(out, cp->key_id, sizeof cp->key_id);
    return out->err;
}

int rsp_audit_checkpoint_sign(struct rsp_audit_checkpoint *cp, const struct rsp_key *key)
{
    if (!cp || !key)
        return RSP_EINVAL;
    if (rsp_key_curve(key) != RSP_CURVE_NIST_P256)
        return RSP_ECURVE;
    if (!rsp_key_has_private(key))
        return RSP_EKEY;
    int rc = rsp_audit_key_id(key, cp->key_id);
    struct rsp_buf in = RSP_BUF_INIT;
    if (rc == 0)
        rc = rsp_audit_checkpoint_input(cp, &in);
    if (rc == 0)
        rc = rsp_ecdsa_sign(key, in.data, in.len, cp->sig);
    rsp_buf_free(&in);
    return rc;
}

int rsp_audit_checkpoint_verify(const struct rsp_audit_checkpoint *cp, const struct rsp_key *pub)
{
    if (!cp || !pub)
        return RSP_EINVAL;
    uint8_t id[RSP_AUDIT_HASH_LEN];
    int rc = rsp_audit_key_id(pub, id);
    if (rc)
        return rc;
    if (memcmp(id, cp->key_id, sizeof id) != 0)
        return RSP_EKEY;
    if (rsp_key_curve(pub) != RSP_CURVE_NIST_P256)
        return RSP_ECURVE;
    struct rsp_buf in = RSP_BUF_INIT;
    rc = rsp_audit_checkpoint_input(cp, &in);
    if (rc == 0)
        rc = rsp_ecdsa_verify(pub, in.data, in.len, cp->sig, sizeof cp->sig);
    rsp_buf_free(&in);
    return rc;
}

/* ---- pseudonyms ---- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int rsp_pseudonym_key_parse(const uint8_t *text, size_t len, struct rsp_pseudonym_key *out)
{
    if (!text || !out)
        return RSP_EINVAL;
    memset(out, 0, sizeof *out);
    size_t a = 0, b = len;
    while (a < b && space(text[a]))
        a++;
    while (b > a && space(text[b - 1]))
        b--;
    size_t n = b - a;
    if (n % 2 || n < 2 * RSP_PSEUDONYM_KEY_MIN || n > 2 * RSP_PSEUDONYM_KEY_MAX)
        return RSP_ESYNTAX;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval(text[a + i]), lo = hexval(text[a + i + 1]);
        if (hi < 0 || lo < 0) {
            rsp_memzero(out, sizeof *out);
            return RSP_ESYNTAX;
        }
        out->k[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    out->len = n / 2;
    return 0;
}

static const char *class_name(enum rsp_pseudonym_class c)
{
    switch (c) {
    case RSP_PSEUDONYM_EID:
        return "eid";
    case RSP_PSEUDONYM_IMEI:
        return "imei";
    case RSP_PSEUDONYM_CUSTOMER:
        return "customer";
    default:
        return NULL;
    }
}

int rsp_pseudonym(const struct rsp_pseudonym_key *key, enum rsp_pseudonym_class cls, const char *id,
                  char out[RSP_PSEUDONYM_LEN + 1])
{
    const char *cn = class_name(cls);
    if (!key || !id || !out || !cn || key->len < RSP_PSEUDONYM_KEY_MIN ||
        key->len > RSP_PSEUDONYM_KEY_MAX)
        return RSP_EINVAL;
    size_t idn = strnlen(id, 129);
    if (idn == 0 || idn > 128)
        return RSP_EINVAL;
    char msg[16 + 128];
    size_t cl = strlen(cn);
    memcpy(msg, cn, cl);
    msg[cl] = ':';
    memcpy(msg + cl + 1, id, idn);
    uint8_t mac[RSP_SHA256_LEN];
    int rc = rsp_hmac_sha256(key->k, key->len, msg, cl + 1 + idn, mac);
    rsp_memzero(msg, sizeof msg);
    if (rc)
        return rc;
    /* base32 (RFC 4648 alphabet, lower case) of the first 15 bytes: 24 characters. */
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz234567";
    out[0] = 'p';
    out[1] = ':';
    for (int i = 0; i < 24; i++) {
        int bit = i * 5, byte = bit / 8, sh = bit % 8;
        unsigned v = (unsigned)mac[byte] << 8 | (byte + 1 < 15 ? mac[byte + 1] : 0);
        out[2 + i] = alpha[(v >> (11 - sh)) & 31];
    }
    out[RSP_PSEUDONYM_LEN] = 0;
    return 0;
}

int rsp_pseudonym_key_id(const struct rsp_pseudonym_key *key, uint8_t out[RSP_AUDIT_HASH_LEN])
{
    if (!key || !out || key->len > RSP_PSEUDONYM_KEY_MAX)
        return RSP_EINVAL;
    uint8_t b[sizeof PSEUDO_KEY_TAG - 1 + RSP_PSEUDONYM_KEY_MAX];
    memcpy(b, PSEUDO_KEY_TAG, sizeof PSEUDO_KEY_TAG - 1);
    memcpy(b + sizeof PSEUDO_KEY_TAG - 1, key->k, key->len);
    int rc = rsp_sha256(b, sizeof PSEUDO_KEY_TAG - 1 + key->len, out);
    rsp_memzero(b, sizeof b);
    return rc;
}

/* ---- verifier ---- */

#define WINDOW       64   /* records remembered for the reorder diagnosis */
#define MAX_REPORTED 1000 /* findings passed to the callback; the rest are only counted */

static const char *const problem_names[RSP_AUDIT_NPROBLEMS] = {
    [RSP_AUDIT_EDITED] = "edited",
    [RSP_AUDIT_LINK] = "link",
    [RSP_AUDIT_MISSING] = "missing",
    [RSP_AUDIT_DUPLICATE] = "duplicate",
    [RSP_AUDIT_ORDER] = "order",
    [RSP_AUDIT_REORDERED] = "reordered",
    [RSP_AUDIT_OUT_OF_RANGE] = "out-of-range",
    [RSP_AUDIT_CHECKPOINT_SIG] = "checkpoint-signature",
    [RSP_AUDIT_CHECKPOINT_HASH] = "checkpoint-hash",
    [RSP_AUDIT_TRUNCATED] = "truncated",
    [RSP_AUDIT_HEAD] = "head",
    [RSP_AUDIT_ANCHOR] = "anchor",
    [RSP_AUDIT_UNSIGNED] = "unsigned",
    [RSP_AUDIT_EXPECT] = "expected",
    [RSP_AUDIT_RENUMBERED] = "renumbered",
};

const char *rsp_audit_problem_name(enum rsp_audit_problem p)
{
    return (unsigned)p < RSP_AUDIT_NPROBLEMS ? problem_names[p] : "?";
}

struct cp_slot {
    struct rsp_audit_checkpoint cp;
    bool sig_ok;  /* signature verified with a trusted key */
    bool matched; /* settled: compared with the chain (record or base) */
    bool good;    /* and it matched */
};

struct expect_slot {
    int64_t seq;
    uint8_t hash[RSP_AUDIT_HASH_LEN];
    bool seen;
};

struct seen_rec {
    int64_t seq;
    uint8_t hash[RSP_AUDIT_HASH_LEN];
};

struct rsp_audit_verifier {
    int64_t base_seq;
    uint8_t base_hash[RSP_AUDIT_HASH_LEN];
    const struct rsp_key *const *keys;
    size_t n_keys;
    uint8_t (*key_ids)[RSP_AUDIT_HASH_LEN];
    unsigned flags;
    rsp_audit_finding_cb cb;
    void *arg;

    struct cp_slot *cps;
    size_t n_cps, cap_cps, next_cp;
    bool started; /* first record seen (checkpoints sorted) */
    struct expect_slot *ex;
    size_t n_ex, cap_ex;

    uint64_t position;
    int64_t last_seq;
    uint8_t last_hash[RSP_AUDIT_HASH_LEN];
    struct seen_rec ring[WINDOW];
    size_t ring_n, ring_next;
    struct seen_rec pending[WINDOW]; /* records whose prev was not found yet: (seq, prev) */
    size_t pend_n;
    int64_t last_prune; /* key of the latest audit-prune record */
    int64_t shift;      /* renumbering offset of the current run (0: none) */
    struct rsp_audit_verify_result res;
};

static void hex16(char out[17], const uint8_t *h)
{
    rsp_hex_str(out, h, 8, 0);
}

__attribute__((format(printf, 5, 6))) static void report(struct rsp_audit_verifier *v,
                                                         enum rsp_audit_problem p, int64_t seq,
                                                         uint64_t position, const char *fmt, ...)
{
    struct rsp_audit_finding f;
    memset(&f, 0, sizeof f);
    f.problem = p;
    f.seq = seq;
    f.position = position;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f.detail, sizeof f.detail, fmt, ap);
    va_end(ap);
    if (v->res.findings == 0)
        v->res.first_bad_seq = seq;
    v->res.findings++;
    if (v->cb && v->res.findings <= MAX_REPORTED)
        v->cb(v->arg, &f);
}

int rsp_audit_verifier_new(int64_t base_seq, const uint8_t base_hash[RSP_AUDIT_HASH_LEN],
                           const struct rsp_key *const *keys, size_t n_keys, unsigned flags,
                           rsp_audit_finding_cb cb, void *arg, struct rsp_audit_verifier **out)
{
    if (!out || !base_hash || base_seq < 0 || (n_keys && !keys) || n_keys > 64)
        return RSP_EINVAL;
    *out = NULL;
    struct rsp_audit_verifier *v = calloc(1, sizeof *v);
    if (!v)
        return RSP_ENOMEM;
    v->base_seq = base_seq;
    memcpy(v->base_hash, base_hash, RSP_AUDIT_HASH_LEN);
    v->keys = keys;
    v->n_keys = n_keys;
    v->flags = flags;
    v->cb = cb;
    v->arg = arg;
    v->last_seq = base_seq;
    memcpy(v->last_hash, base_hash, RSP_AUDIT_HASH_LEN);
    if (n_keys) {
        v->key_ids = calloc(n_keys, sizeof *v->key_ids);
        if (!v->key_ids) {
            free(v);
            return RSP_ENOMEM;
        }
        for (size_t i = 0; i < n_keys; i++) {
            int rc = rsp_audit_key_id(keys[i], v->key_ids[i]);
            if (rc) {
                rsp_audit_verifier_free(v);
                return rc;
            }
        }
    }
    *out = v;
    return 0;
}

void rsp_audit_verifier_free(struct rsp_audit_verifier *v)
{
    if (!v)
        return;
    free(v->cps);
    free(v->ex);
    free(v->key_ids);
    free(v);
}

int rsp_audit_verifier_checkpoint(struct rsp_audit_verifier *v,
                                  const struct rsp_audit_checkpoint *cp)
{
    if (!v || !cp)
        return RSP_EINVAL;
    if (v->started)
        return RSP_ESTATE;
    if (v->n_cps == v->cap_cps) {
        size_t cap = v->cap_cps ? 2 * v->cap_cps : 64;
        struct cp_slot *n = realloc(v->cps, cap * sizeof *n);
        if (!n)
            return RSP_ENOMEM;
        v->cps = n;
        v->cap_cps = cap;
    }
    struct cp_slot *s = &v->cps[v->n_cps++];
    memset(s, 0, sizeof *s);
    s->cp = *cp;
    v->res.checkpoints++;
    if (!v->n_keys)
        return 0;
    size_t k = 0;
    while (k < v->n_keys && memcmp(v->key_ids[k], cp->key_id, RSP_AUDIT_HASH_LEN) != 0)
        k++;
    char id[17];
    hex16(id, cp->key_id);
    if (k == v->n_keys) {
        report(v, RSP_AUDIT_CHECKPOINT_SIG, cp->seq, 0,
               "checkpoint at seq %" PRId64 " is signed by an unknown key (key id %s...)", cp->seq,
               id);
        return 0;
    }
    int rc = rsp_audit_checkpoint_verify(cp, v->keys[k]);
    if (rc == 0)
        s->sig_ok = true;
    else if (rc == RSP_EVERIFY || rc == RSP_EKEY || rc == RSP_ECURVE)
        report(v, RSP_AUDIT_CHECKPOINT_SIG, cp->seq, 0,
               "checkpoint at seq %" PRId64 ": the signature does not verify with key %s... "
               "(checkpoint edited or forged)",
               cp->seq, id);
    else
        return rc;
    return 0;
}

int rsp_audit_verifier_expect(struct rsp_audit_verifier *v, int64_t seq,
                              const uint8_t hash[RSP_AUDIT_HASH_LEN])
{
    if (!v || !hash || seq <= 0)
        return RSP_EINVAL;
    if (v->started)
        return RSP_ESTATE;
    if (v->n_ex == v->cap_ex) {
        size_t cap = v->cap_ex ? 2 * v->cap_ex : 8;
        struct expect_slot *n = realloc(v->ex, cap * sizeof *n);
        if (!n)
            return RSP_ENOMEM;
        v->ex = n;
        v->cap_ex = cap;
    }
    struct expect_slot *s = &v->ex[v->n_ex++];
    s->seq = seq;
    memcpy(s->hash, hash, RSP_AUDIT_HASH_LEN);
    s->seen = false;
    return 0;
}

static int cp_cmp(const void *a, const void *b)
{
    const struct cp_slot *x = a, *y = b;
    return x->cp.seq < y->cp.seq ? -1 : x->cp.seq > y->cp.seq;
}

static void signed_up_to(struct rsp_audit_verifier *v, struct cp_slot *s)
{
    s->matched = true;
    s->good = true;
    if (s->sig_ok) {
        v->res.checkpoints_ok++;
        if (s->cp.seq > v->res.signed_seq)
            v->res.signed_seq = s->cp.seq;
    }
}

/* First record: sort the checkpoints, settle those at or before the base. */
static void start(struct rsp_audit_verifier *v)
{
    v->started = true;
    if (v->n_cps)
        qsort(v->cps, v->n_cps, sizeof *v->cps, cp_cmp);
    while (v->next_cp < v->n_cps && v->cps[v->next_cp].cp.seq <= v->base_seq) {
        struct cp_slot *s = &v->cps[v->next_cp++];
        if (s->cp.seq != v->base_seq || v->base_seq == 0)
            continue; /* history before the retained range */
        if (memcmp(s->cp.hash, v->base_hash, RSP_AUDIT_HASH_LEN) == 0) {
            signed_up_to(v, s);
        } else {
            char a[17], b[17];
            hex16(a, s->cp.hash);
            hex16(b, v->base_hash);
            report(v, RSP_AUDIT_ANCHOR, s->cp.seq, 0,
                   "the checkpoint at seq %" PRId64 " signs hash %s... but the retained chain "
                   "starts after hash %s... (anchor changed)",
                   s->cp.seq, a, b);
        }
    }
}

/* The first checkpoint at seq (sorted array), or NULL. */
static struct cp_slot *find_cp(struct rsp_audit_verifier *v, int64_t seq)
{
    size_t lo = 0, hi = v->n_cps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->cps[mid].cp.seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < v->n_cps && v->cps[lo].cp.seq == seq ? &v->cps[lo] : NULL;
}

/* The highest seq below `seq` of a checkpoint that verified and matched (the base if none). */
static int64_t matched_before(const struct rsp_audit_verifier *v, int64_t seq)
{
    int64_t best = v->base_seq;
    for (size_t i = 0; i < v->n_cps && v->cps[i].cp.seq < seq; i++)
        if (v->cps[i].good && (v->cps[i].sig_ok || !v->n_keys) && v->cps[i].cp.seq > best &&
            (v->cps[i].cp.seq != v->base_seq || v->base_seq == 0))
            best = v->cps[i].cp.seq;
    return best;
}

static bool ring_find(const struct rsp_audit_verifier *v, const uint8_t *h, int64_t *seq)
{
    /* newest first, skipping the newest (the immediate predecessor, already compared) */
    for (size_t i = 1; i < v->ring_n; i++) {
        const struct seen_rec *r = &v->ring[(v->ring_next + WINDOW - 1 - i) % WINDOW];
        if (memcmp(r->hash, h, RSP_AUDIT_HASH_LEN) == 0) {
            *seq = r->seq;
            return true;
        }
    }
    return false;
}

static int64_t parse_seq(const char *s)
{
    int64_t v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

/* The offset d (|d| <= RENUMBER_MAX) such that e's stored hash is its hash under seq + d, the
 * current run's offset tried first; 0 if none. */
#define RENUMBER_MAX 8
static int64_t renumbered(const struct rsp_audit_verifier *v, const struct rsp_audit_entry *e)
{
    struct rsp_audit_entry t = *e;
    uint8_t h[RSP_AUDIT_HASH_LEN];
    for (int64_t i = -1; i <= 2 * RENUMBER_MAX; i++) {
        int64_t d = i < 0 ? v->shift : (i % 2 ? 1 : -1) * (i / 2 + 1);
        if (d == 0 || (i >= 0 && d == v->shift) || d > RENUMBER_MAX || d < -RENUMBER_MAX)
            continue;
        if ((d > 0 && e->seq > INT64_MAX - d) || e->seq + d <= 0)
            continue;
        t.seq = e->seq + d;
        if (rsp_audit_hash(&t, h) == 0 && memcmp(h, e->hash, RSP_AUDIT_HASH_LEN) == 0)
            return d;
    }
    return 0;
}

int rsp_audit_verifier_record(struct rsp_audit_verifier *v, const struct rsp_audit_entry *e)
{
    if (!v || !e)
        return RSP_EINVAL;
    if (!v->started)
        start(v);
    uint64_t pos = ++v->position;
    v->res.records++;
    char a[17], b[17];

    if (e->seq <= v->base_seq) {
        report(v, RSP_AUDIT_OUT_OF_RANGE, e->seq, pos,
               "record at position %" PRIu64 " has seq %" PRId64
               " (0: none), inside the range that "
               "precedes the chain (seq <= %" PRId64 "): inserted or renumbered",
               pos, e->seq, v->base_seq);
        return 0;
    }
    if (v->res.first_seq == 0)
        v->res.first_seq = e->seq;

    uint8_t h[RSP_AUDIT_HASH_LEN];
    int rc = rsp_audit_hash(e, h);
    if (rc != 0 && rc != RSP_EINVAL)
        return rc;
    bool content_ok = rc == 0 && memcmp(h, e->hash, RSP_AUDIT_HASH_LEN) == 0;
    int64_t shift = 0;
    if (!content_ok && rc == 0)
        shift = renumbered(v, e);
    if (!content_ok && shift) {
        if (shift != v->shift)
            report(v, RSP_AUDIT_RENUMBERED, e->seq, pos,
                   "seq %" PRId64 ": the record was written as seq %" PRId64
                   "; records are renumbered from here (%s)",
                   e->seq, e->seq + shift,
                   shift > 0 ? "records deleted or moved before it"
                             : "a record inserted before it");
    } else if (!content_ok) {
        hex16(a, e->hash);
        if (rc == 0) {
            hex16(b, h);
            report(v, RSP_AUDIT_EDITED, e->seq, pos,
                   "seq %" PRId64 ": the stored hash %s... is not the hash of the record's "
                   "contents (%s...): the record was edited",
                   e->seq, a, b);
        } else {
            report(v, RSP_AUDIT_EDITED, e->seq, pos,
                   "seq %" PRId64 ": a field is not in canonical form: the record was edited",
                   e->seq);
        }
    }

    int64_t want = v->last_seq + 1;
    if (e->seq > want)
        report(v, RSP_AUDIT_MISSING, want, pos,
               "seq %" PRId64 " follows seq %" PRId64 ": record%s %" PRId64 "..%" PRId64
               " missing (deleted)",
               e->seq, v->last_seq, e->seq - want > 1 ? "s" : "", want, e->seq - 1);
    else if (e->seq == v->last_seq)
        report(v, RSP_AUDIT_DUPLICATE, e->seq, pos,
               "a second record with seq %" PRId64 " (position %" PRIu64 "): inserted", e->seq,
               pos);
    else if (e->seq < v->last_seq)
        report(v, RSP_AUDIT_ORDER, e->seq, pos,
               "seq %" PRId64 " comes after seq %" PRId64 ": out of order", e->seq, v->last_seq);

    if (memcmp(e->prev, v->last_hash, RSP_AUDIT_HASH_LEN) != 0) {
        int64_t at;
        if (ring_find(v, e->prev, &at)) {
            report(v, RSP_AUDIT_REORDERED, e->seq, pos,
                   "seq %" PRId64 " links to the record at seq %" PRId64 " instead of seq %" PRId64
                   ": records between them were inserted or moved",
                   e->seq, at, v->last_seq);
        } else {
            hex16(a, e->prev);
            hex16(b, v->last_hash);
            report(v, RSP_AUDIT_LINK, e->seq, pos,
                   "seq %" PRId64 ": prev hash %s... is not the hash of seq %" PRId64
                   " (%s...): a record before it was deleted, inserted, moved or re-hashed",
                   e->seq, a, v->last_seq, b);
            if (v->pend_n == WINDOW)
                memmove(v->pending, v->pending + 1, (WINDOW - 1) * sizeof v->pending[0]);
            else
                v->pend_n++;
            v->pending[v->pend_n - 1].seq = e->seq;
            memcpy(v->pending[v->pend_n - 1].hash, e->prev, RSP_AUDIT_HASH_LEN);
        }
    }
    /* An earlier record that linked to this one: the two are out of order. */
    for (size_t i = 0; i < v->pend_n; i++) {
        if (memcmp(v->pending[i].hash, e->hash, RSP_AUDIT_HASH_LEN) != 0)
            continue;
        report(v, RSP_AUDIT_REORDERED, v->pending[i].seq, pos,
               "seq %" PRId64 " links to the record now at seq %" PRId64
               ", stored after it: records %" PRId64 " and %" PRId64 " are out of order",
               v->pending[i].seq, e->seq, v->pending[i].seq, e->seq);
        memmove(v->pending + i, v->pending + i + 1, (v->pend_n - i - 1) * sizeof v->pending[0]);
        v->pend_n--;
        break;
    }

    /* Checkpoints: the record written as seq W (its own seq, or the seq it had before a
     * renumbering) must have the signed hash of the checkpoint at W. */
    if (content_ok || shift) {
        int64_t w = e->seq + (content_ok ? 0 : shift);
        struct cp_slot *s = find_cp(v, w);
        for (; s && s < v->cps + v->n_cps && s->cp.seq == w; s++) {
            if (s->matched)
                continue;
            if (memcmp(s->cp.hash, e->hash, RSP_AUDIT_HASH_LEN) == 0) {
                signed_up_to(v, s);
                continue;
            }
            s->matched = true; /* reported here, not again at the end */
            hex16(a, s->cp.hash);
            hex16(b, e->hash);
            report(v, RSP_AUDIT_CHECKPOINT_HASH, w, pos,
                   "the checkpoint at seq %" PRId64 " signs hash %s... but the chain has %s...: "
                   "records after seq %" PRId64 " and up to %" PRId64 " were rewritten",
                   w, a, b, matched_before(v, w), w);
        }
    }
    for (size_t i = 0; i < v->n_ex; i++)
        if (!v->ex[i].seen && v->ex[i].seq == e->seq &&
            memcmp(v->ex[i].hash, e->hash, RSP_AUDIT_HASH_LEN) == 0 && content_ok)
            v->ex[i].seen = true;

    v->shift = shift;
    if (strcmp(e->entity, "audit-prune") == 0)
        v->last_prune = parse_seq(e->key);

    if (e->seq > v->last_seq)
        v->last_seq = e->seq;
    memcpy(v->last_hash, e->hash, RSP_AUDIT_HASH_LEN);
    v->res.last_seq = e->seq;
    memcpy(v->res.last_hash, e->hash, RSP_AUDIT_HASH_LEN);
    struct seen_rec *r = &v->ring[v->ring_next];
    r->seq = e->seq;
    memcpy(r->hash, e->hash, RSP_AUDIT_HASH_LEN);
    v->ring_next = (v->ring_next + 1) % WINDOW;
    if (v->ring_n < WINDOW)
        v->ring_n++;
    return 0;
}

int rsp_audit_verifier_finish(struct rsp_audit_verifier *v, const struct rsp_audit_head *head,
                              int64_t expected_last, struct rsp_audit_verify_result *res)
{
    if (!v || !res)
        return RSP_EINVAL;
    if (!v->started)
        start(v);
    char a[17], b[17];
    int64_t end = v->last_seq; /* base_seq when no record */
    for (; v->next_cp < v->n_cps; v->next_cp++) {
        struct cp_slot *sl = &v->cps[v->next_cp];
        const struct rsp_audit_checkpoint *cp = &sl->cp;
        if (sl->matched)
            continue;
        hex16(a, cp->hash);
        if (cp->seq > end)
            report(v, RSP_AUDIT_TRUNCATED, cp->seq, 0,
                   "the checkpoint at seq %" PRId64 " (signed at %" PRId64 ") is beyond the end "
                   "of the chain (seq %" PRId64 "): records %" PRId64 "..%" PRId64 " deleted",
                   cp->seq, cp->at, end, end + 1, cp->seq);
        else
            report(v, RSP_AUDIT_CHECKPOINT_HASH, cp->seq, 0,
                   "the record signed by the checkpoint at seq %" PRId64 " (hash %s...) is not "
                   "in the chain: edited, rewritten or deleted after seq %" PRId64,
                   cp->seq, a, matched_before(v, cp->seq));
    }
    for (size_t i = 0; i < v->n_ex; i++)
        if (!v->ex[i].seen) {
            hex16(a, v->ex[i].hash);
            report(v, RSP_AUDIT_EXPECT, v->ex[i].seq, 0,
                   "the expected record seq %" PRId64 " with hash %s... is not in the chain%s",
                   v->ex[i].seq, a, v->ex[i].seq > end ? " (tail truncated)" : " (rewritten)");
        }
    if (head) {
        if (head->seq != end || memcmp(head->hash, v->last_hash, RSP_AUDIT_HASH_LEN) != 0) {
            hex16(a, head->hash);
            hex16(b, v->last_hash);
            if (head->seq > end)
                report(v, RSP_AUDIT_TRUNCATED, head->seq, 0,
                       "the chain head names seq %" PRId64 " but the chain ends at seq %" PRId64
                       ": records %" PRId64 "..%" PRId64 " deleted",
                       head->seq, end, end + 1, head->seq);
            else
                report(v, RSP_AUDIT_HEAD, head->seq, 0,
                       "the chain head (seq %" PRId64 ", %s...) is not the last record (seq "
                       "%" PRId64 ", %s...)",
                       head->seq, a, end, b);
        }
    }
    if ((v->flags & RSP_AUDIT_VERIFY_LIVE) && v->base_seq > 0) {
        bool anchored = false;
        for (size_t i = 0; i < v->n_cps; i++)
            if (v->cps[i].cp.seq == v->base_seq && v->cps[i].good &&
                (v->cps[i].sig_ok || !v->n_keys))
                anchored = true;
        if (!anchored)
            report(v, RSP_AUDIT_ANCHOR, v->base_seq, 0,
                   "the retained chain starts after seq %" PRId64 " but no valid checkpoint "
                   "signs that anchor",
                   v->base_seq);
        if (v->last_prune != v->base_seq)
            report(v, RSP_AUDIT_ANCHOR, v->base_seq, 0,
                   "the retained chain starts after seq %" PRId64 " but the last prune record "
                   "%s: records were removed without a recorded prune",
                   v->base_seq, v->last_prune > 0 ? "names another seq" : "is missing");
    }
    if (v->flags & RSP_AUDIT_VERIFY_ARCHIVE) {
        if (expected_last && end != expected_last)
            report(v, RSP_AUDIT_TRUNCATED, expected_last, 0,
                   "the archive announces records up to seq %" PRId64 " but ends at seq %" PRId64,
                   expected_last, end);
        if (v->n_keys && v->res.signed_seq != end)
            report(v, RSP_AUDIT_UNSIGNED, end, 0,
                   "the last record of the archive (seq %" PRId64 ") has no valid checkpoint "
                   "(signed up to seq %" PRId64 ")",
                   end, v->res.signed_seq);
    }
    *res = v->res;
    if (!res->records)
        res->first_seq = res->last_seq = 0;
    return 0;
}
