/* Strict BER-TLV/DER reader and writer (X.690 §8.1 identifier and length octets, §10.1 DER
 * definite-length minimal form). */
#include "rsp/der.h"
#include "rsp/err.h"

#include <stdio.h>
#include <string.h>

bool rsp_tag_constructed(rsp_tag tag)
{
    size_t n = rsp_tag_size(tag);
    uint8_t first = (uint8_t)(tag >> (8 * (n - 1)));
    return (first & 0x20) != 0;
}

size_t rsp_tag_size(rsp_tag tag)
{
    if (tag > 0xFFFFFF)
        return 4;
    if (tag > 0xFFFF)
        return 3;
    if (tag > 0xFF)
        return 2;
    return 1;
}

/* X.690 §8.1.2: leading byte; low 5 bits all ones = high tag number form, then base-128 bytes
 * with bit 8 set on all but the last. Minimal: the first subsequent byte is not 0x80, and the
 * high form is used only for numbers >= 31. */
static int parse_tag(const uint8_t *p, size_t n, rsp_tag *tag, size_t *used)
{
    if (n < 1)
        return RSP_ETRUNC;
    rsp_tag t = p[0];
    size_t i = 1;
    if ((p[0] & 0x1F) == 0x1F) {
        uint32_t number = 0;
        for (;;) {
            if (i >= n)
                return RSP_ETRUNC;
            if (i >= RSP_DER_MAX_TAG_BYTES)
                return RSP_EBADTAG;
            uint8_t c = p[i];
            if (i == 1 && c == 0x80)
                return RSP_EBADTAG; /* leading zero bits */
            number = number << 7 | (c & 0x7F);
            t = t << 8 | c;
            i++;
            if (!(c & 0x80))
                break;
        }
        if (number < 31)
            return RSP_EBADTAG; /* should have used the low form */
    }
    *tag = t;
    *used = i;
    return 0;
}

/* X.690 §8.1.3 / §10.1: definite form only, minimal number of length octets. */
static int parse_len(const uint8_t *p, size_t n, size_t *len, size_t *used)
{
    if (n < 1)
        return RSP_ETRUNC;
    uint8_t b = p[0];
    if (b < 0x80) {
        *len = b;
        *used = 1;
        return 0;
    }
    size_t k = b & 0x7F;
    if (k == 0 || k > RSP_DER_MAX_LEN_BYTES) /* 0x80 indefinite; 0xFF reserved */
        return RSP_EBADLEN;
    if (n < 1 + k)
        return RSP_ETRUNC;
    if (p[1] == 0)
        return RSP_EBADLEN; /* leading zero octet */
    size_t v = 0;
    for (size_t i = 1; i <= k; i++)
        v = v << 8 | p[i];
    if (v < 0x80)
        return RSP_EBADLEN; /* short form was required */
    *len = v;
    *used = 1 + k;
    return 0;
}

int rsp_der_parse_header(const uint8_t *p, size_t n, rsp_tag *tag, size_t *hdr_len, size_t *val_len)
{
    size_t tl, ll;
    int rc;
    if (!p && n)
        return RSP_EINVAL;
    if ((rc = parse_tag(p, n, tag, &tl)) != 0)
        return rc;
    if ((rc = parse_len(p + tl, n - tl, val_len, &ll)) != 0)
        return rc;
    *hdr_len = tl + ll;
    return 0;
}

int rsp_der_parse(const uint8_t *p, size_t n, struct rsp_tlv *out)
{
    rsp_tag tag;
    size_t hl, vl;
    int rc = rsp_der_parse_header(p, n, &tag, &hl, &vl);
    if (rc)
        return rc;
    if (vl > n - hl)
        return RSP_ETRUNC;
    out->tag = tag;
    out->raw = p;
    out->raw_len = hl + vl;
    out->val = p + hl;
    out->len = vl;
    return 0;
}

int rsp_der_parse_one(const uint8_t *p, size_t n, struct rsp_tlv *out)
{
    int rc = rsp_der_parse(p, n, out);
    if (rc)
        return rc;
    return out->raw_len == n ? 0 : RSP_ETRAILING;
}

int rsp_der_parse_tag(const uint8_t *p, size_t n, rsp_tag tag, struct rsp_tlv *out)
{
    int rc = rsp_der_parse_one(p, n, out);
    if (rc)
        return rc;
    return out->tag == tag ? 0 : RSP_EUNEXPECTED;
}

static int validate(const uint8_t *p, size_t n, int depth, int max_depth)
{
    if (depth > max_depth)
        return RSP_EDEPTH;
    struct rsp_der_iter it;
    struct rsp_tlv t;
    int rc;
    rsp_der_iter_init(&it, p, n);
    while ((rc = rsp_der_next(&it, &t)) == 1) {
        if (rsp_tag_constructed(t.tag)) {
            rc = validate(t.val, t.len, depth + 1, max_depth);
            if (rc)
                return rc;
        }
    }
    return rc;
}

int rsp_der_validate(const uint8_t *p, size_t n, int max_depth)
{
    if (max_depth < 0 || max_depth > RSP_DER_MAX_DEPTH)
        max_depth = RSP_DER_MAX_DEPTH;
    return validate(p, n, 0, max_depth);
}

void rsp_der_iter_init(struct rsp_der_iter *it, const uint8_t *p, size_t n)
{
    it->p = p;
    it->end = p ? p + n : p;
}

void rsp_der_iter_value(struct rsp_der_iter *it, const struct rsp_tlv *parent)
{
    rsp_der_iter_init(it, parent->val, parent->len);
}

bool rsp_der_iter_done(const struct rsp_der_iter *it)
{
    return it->p == it->end;
}

int rsp_der_next(struct rsp_der_iter *it, struct rsp_tlv *out)
{
    if (it->p == it->end)
        return 0;
    int rc = rsp_der_parse(it->p, (size_t)(it->end - it->p), out);
    if (rc)
        return rc;
    it->p += out->raw_len;
    return 1;
}

int rsp_der_peek(const struct rsp_der_iter *it, rsp_tag *tag)
{
    struct rsp_tlv t;
    if (it->p == it->end)
        return 0;
    int rc = rsp_der_parse(it->p, (size_t)(it->end - it->p), &t);
    if (rc)
        return rc;
    *tag = t.tag;
    return 1;
}

int rsp_der_opt(struct rsp_der_iter *it, rsp_tag tag, struct rsp_tlv *out)
{
    struct rsp_tlv t;
    if (it->p == it->end)
        return 0;
    int rc = rsp_der_parse(it->p, (size_t)(it->end - it->p), &t);
    if (rc)
        return rc;
    if (t.tag != tag)
        return 0;
    it->p += t.raw_len;
    if (out)
        *out = t;
    return 1;
}

int rsp_der_req(struct rsp_der_iter *it, rsp_tag tag, struct rsp_tlv *out)
{
    if (it->p == it->end)
        return RSP_EMISSING;
    int rc = rsp_der_opt(it, tag, out);
    if (rc < 0)
        return rc;
    return rc == 1 ? 0 : RSP_EUNEXPECTED;
}

int rsp_der_finish(struct rsp_der_iter *it)
{
    struct rsp_tlv t;
    int rc;
    while ((rc = rsp_der_next(it, &t)) == 1)
        ;
    return rc;
}

int rsp_der_finish_strict(struct rsp_der_iter *it)
{
    return it->p == it->end ? 0 : RSP_ETRAILING;
}

int rsp_der_find(const uint8_t *p, size_t n, rsp_tag tag, struct rsp_tlv *out)
{
    struct rsp_der_iter it;
    struct rsp_tlv t;
    int rc;
    rsp_der_iter_init(&it, p, n);
    while ((rc = rsp_der_next(&it, &t)) == 1) {
        if (t.tag == tag) {
            if (out)
                *out = t;
            return 1;
        }
    }
    return rc;
}

/* --- primitive values --------------------------------------------------------------------- */

int rsp_der_get_int(const struct rsp_tlv *t, int64_t *out)
{
    if (t->len == 0 || t->len > 8)
        return t->len == 0 ? RSP_EBADLEN : RSP_ERANGE;
    /* X.690 §8.3.2: the first nine bits must not be all ones or all zeros. */
    if (t->len > 1 &&
        ((t->val[0] == 0x00 && !(t->val[1] & 0x80)) || (t->val[0] == 0xFF && (t->val[1] & 0x80))))
        return RSP_EBADLEN;
    uint64_t v = (t->val[0] & 0x80) ? UINT64_MAX : 0;
    for (size_t i = 0; i < t->len; i++)
        v = v << 8 | t->val[i];
    memcpy(out, &v, sizeof v); /* two's complement reinterpretation */
    return 0;
}

int rsp_der_get_uint(const struct rsp_tlv *t, uint64_t *out)
{
    if (t->len == 0)
        return RSP_EBADLEN;
    if (t->val[0] & 0x80)
        return RSP_ERANGE; /* negative */
    if (t->len > 1 && t->val[0] == 0 && !(t->val[1] & 0x80))
        return RSP_EBADLEN;
    size_t start = t->val[0] == 0 ? 1 : 0;
    if (t->len - start > 8)
        return RSP_ERANGE;
    uint64_t v = 0;
    for (size_t i = start; i < t->len; i++)
        v = v << 8 | t->val[i];
    *out = v;
    return 0;
}

int rsp_der_get_bool(const struct rsp_tlv *t, bool *out)
{
    if (t->len != 1)
        return RSP_EBADLEN;
    if (t->val[0] != 0x00 && t->val[0] != 0xFF)
        return RSP_ERANGE; /* X.690 §11.1 */
    *out = t->val[0] == 0xFF;
    return 0;
}

int rsp_der_get_bits(const struct rsp_tlv *t, const uint8_t **bits, size_t *nbits)
{
    if (t->len == 0)
        return RSP_EBADLEN;
    uint8_t unused = t->val[0];
    if (unused > 7 || (t->len == 1 && unused != 0))
        return RSP_ERANGE;
    /* X.690 §11.2.1: unused bits are zero in DER. */
    if (t->len > 1 && (t->val[t->len - 1] & ((1u << unused) - 1)))
        return RSP_ERANGE;
    *bits = t->val + 1;
    *nbits = (t->len - 1) * 8 - unused;
    return 0;
}

bool rsp_der_bit(const uint8_t *bits, size_t nbits, size_t i)
{
    if (i >= nbits)
        return false;
    return (bits[i / 8] >> (7 - i % 8)) & 1;
}

/* --- OBJECT IDENTIFIER (X.690 §8.19) -------------------------------------------------------- */

int rsp_oid_to_str(const uint8_t *val, size_t len, char *out, size_t outlen)
{
    if (len == 0 || !out || outlen == 0)
        return RSP_EINVAL;
    size_t pos = 0;
    bool first = true;
    size_t i = 0;
    while (i < len) {
        uint64_t sub = 0;
        if (val[i] == 0x80)
            return RSP_ESYNTAX; /* non-minimal sub-identifier */
        for (;;) {
            if (i >= len)
                return RSP_ETRUNC; /* last byte had the continuation bit */
            if (sub > (UINT64_MAX >> 7))
                return RSP_ERANGE;
            sub = sub << 7 | (val[i] & 0x7F);
            if (!(val[i++] & 0x80))
                break;
        }
        char tmp[48];
        int w;
        if (first) {
            unsigned a0 = sub < 40 ? 0 : sub < 80 ? 1 : 2;
            uint64_t a1 = sub - 40u * a0;
            w = snprintf(tmp, sizeof tmp, "%u.%llu", a0, (unsigned long long)a1);
            first = false;
        } else {
            w = snprintf(tmp, sizeof tmp, ".%llu", (unsigned long long)sub);
        }
        if (w < 0 || pos + (size_t)w + 1 > outlen)
            return RSP_ERANGE;
        memcpy(out + pos, tmp, (size_t)w + 1);
        pos += (size_t)w;
    }
    return 0;
}

static int put_base128(struct rsp_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (uint8_t)(v & 0x7F);
        v >>= 7;
    } while (v);
    while (n > 1)
        rsp_buf_append_byte(b, tmp[--n] | 0x80);
    return rsp_buf_append_byte(b, tmp[0]);
}

static int parse_arc(const char **s, uint64_t *v)
{
    const char *p = *s;
    if (*p < '0' || *p > '9')
        return RSP_ESYNTAX;
    if (*p == '0' && p[1] >= '0' && p[1] <= '9')
        return RSP_ESYNTAX; /* leading zero */
    uint64_t x = 0;
    while (*p >= '0' && *p <= '9') {
        uint64_t d = (uint64_t)(*p++ - '0');
        if (x > (UINT64_MAX - d) / 10)
            return RSP_ERANGE;
        x = x * 10 + d;
    }
    *v = x;
    *s = p;
    return 0;
}

int rsp_oid_from_str(struct rsp_buf *out, const char *dotted)
{
    if (!dotted)
        return RSP_EINVAL;
    const char *p = dotted;
    uint64_t a0, a1, v;
    int rc;
    if ((rc = parse_arc(&p, &a0)) != 0)
        return rc;
    if (*p++ != '.')
        return RSP_ESYNTAX;
    if ((rc = parse_arc(&p, &a1)) != 0)
        return rc;
    if (a0 > 2 || (a0 < 2 && a1 >= 40) || a1 > UINT64_MAX - 80)
        return RSP_ERANGE;
    size_t start = out->len;
    put_base128(out, a0 * 40 + a1);
    while (*p) {
        if (*p++ != '.' || (rc = parse_arc(&p, &v)) != 0) {
            out->len = start;
            return rc ? rc : RSP_ESYNTAX;
        }
        put_base128(out, v);
    }
    return out->err;
}

/* --- writer ----------------------------------------------------------------------------- */

size_t rsp_der_len_size(size_t len)
{
    size_t n = 1;
    if (len < 0x80)
        return 1;
    while (len) {
        n++;
        len >>= 8;
    }
    return n;
}

static void encode_len(uint8_t *o, size_t len, size_t nbytes)
{
    if (nbytes == 1) {
        o[0] = (uint8_t)len;
        return;
    }
    o[0] = (uint8_t)(0x80 | (nbytes - 1));
    for (size_t i = nbytes - 1; i >= 1; i--) {
        o[i] = (uint8_t)len;
        len >>= 8;
    }
}

static int put_tag(struct rsp_buf *b, rsp_tag tag)
{
    size_t n = rsp_tag_size(tag);
    for (size_t i = n; i > 0; i--)
        rsp_buf_append_byte(b, (uint8_t)(tag >> (8 * (i - 1))));
    return b->err;
}

int rsp_der_put_header(struct rsp_buf *b, rsp_tag tag, size_t len)
{
    uint8_t lb[1 + sizeof(size_t)];
    size_t n = rsp_der_len_size(len);
    if (n > 1 + RSP_DER_MAX_LEN_BYTES) {
        b->err = b->err ? b->err : RSP_ERANGE;
        return b->err;
    }
    encode_len(lb, len, n);
    put_tag(b, tag);
    return rsp_buf_append(b, lb, n);
}

int rsp_der_put(struct rsp_buf *b, rsp_tag tag, const void *val, size_t len)
{
    rsp_der_put_header(b, tag, len);
    return rsp_buf_append(b, val, len);
}

int rsp_der_put_int(struct rsp_buf *b, rsp_tag tag, int64_t v)
{
    uint8_t tmp[8];
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    for (int i = 7; i >= 0; i--) {
        tmp[i] = (uint8_t)u;
        u >>= 8;
    }
    size_t s = 0;
    while (s < 7 &&
           ((tmp[s] == 0x00 && !(tmp[s + 1] & 0x80)) || (tmp[s] == 0xFF && (tmp[s + 1] & 0x80))))
        s++;
    return rsp_der_put(b, tag, tmp + s, 8 - s);
}

int rsp_der_put_uint(struct rsp_buf *b, rsp_tag tag, uint64_t v)
{
    uint8_t tmp[9];
    tmp[0] = 0;
    for (int i = 8; i >= 1; i--) {
        tmp[i] = (uint8_t)v;
        v >>= 8;
    }
    size_t s = 0;
    while (s < 8 && tmp[s] == 0 && !(tmp[s + 1] & 0x80))
        s++;
    return rsp_der_put(b, tag, tmp + s, 9 - s);
}

int rsp_der_put_bool(struct rsp_buf *b, rsp_tag tag, bool v)
{
    uint8_t c = v ? 0xFF : 0x00;
    return rsp_der_put(b, tag, &c, 1);
}

int rsp_der_put_bits(struct rsp_buf *b, rsp_tag tag, const uint8_t *bits, size_t nbits)
{
    size_t nbytes = (nbits + 7) / 8;
    uint8_t unused = (uint8_t)(nbytes * 8 - nbits);
    rsp_der_put_header(b, tag, nbytes + 1);
    rsp_buf_append_byte(b, unused);
    if (nbytes == 0)
        return b->err;
    rsp_buf_append(b, bits, nbytes - 1);
    /* clear the unused low bits of the last byte (DER) */
    return rsp_buf_append_byte(b, (uint8_t)(bits[nbytes - 1] & (0xFF << unused)));
}

int rsp_der_put_named_bits(struct rsp_buf *b, rsp_tag tag, const uint8_t *bits, size_t nbits)
{
    while (nbits > 0 && !rsp_der_bit(bits, nbits, nbits - 1))
        nbits--;
    return rsp_der_put_bits(b, tag, bits, nbits);
}

int rsp_der_put_oid(struct rsp_buf *b, rsp_tag tag, const char *dotted)
{
    struct rsp_buf v = RSP_BUF_INIT;
    int rc = rsp_oid_from_str(&v, dotted);
    if (rc == 0)
        rc = rsp_der_put(b, tag, v.data, v.len);
    else if (!b->err)
        b->err = rc;
    rsp_buf_free(&v);
    return rc;
}

size_t rsp_der_begin(struct rsp_buf *b, rsp_tag tag)
{
    put_tag(b, tag);
    size_t mark = b->len;
    rsp_buf_append_byte(b, 0); /* length placeholder, fixed by rsp_der_end */
    return mark;
}

int rsp_der_end(struct rsp_buf *b, size_t mark)
{
    if (b->err)
        return b->err;
    if (mark >= b->len) {
        b->err = RSP_EINVAL;
        return b->err;
    }
    size_t content = b->len - mark - 1;
    size_t n = rsp_der_len_size(content);
    if (n > 1 + RSP_DER_MAX_LEN_BYTES) {
        b->err = RSP_ERANGE;
        return b->err;
    }
    if (n > 1) {
        uint8_t pad[1 + sizeof(size_t)] = {0};
        int rc = rsp_buf_insert(b, mark + 1, pad, n - 1);
        if (rc)
            return rc;
    }
    encode_len(b->data + mark, content, n);
    return 0;
}
