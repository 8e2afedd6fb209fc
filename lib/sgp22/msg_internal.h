/* Private helpers shared by auth.c, download.c, es8p.c, pir.c and notification.c: field-level
 * decoding with size checks and field-level encoding. Not installed. */
#ifndef RSP_SGP22_MSG_INTERNAL_H
#define RSP_SGP22_MSG_INTERNAL_H

#include <string.h>

#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/sgp22_auth.h"

#define NO_MAX ((size_t)-1)

/* Opens the outer TLV p[0..n) (which must be exactly one TLV with `tag`) for iteration. */
static inline int m_open(const uint8_t *p, size_t n, rsp_tag tag, struct rsp_tlv *raw,
                         struct rsp_der_iter *it)
{
    if (!p && n)
        return RSP_EINVAL;
    int rc = rsp_der_parse_tag(p, n, tag, raw);
    if (rc)
        return rc;
    rsp_der_iter_value(it, raw);
    return 0;
}

static inline int m_size(const struct rsp_tlv *t, size_t min, size_t max,
                         struct rsp_sgp22_bytes *out)
{
    if (t->len < min || t->len > max)
        return RSP_ERANGE;
    out->p = t->val;
    out->len = t->len;
    return 0;
}

/* Mandatory primitive element with a size range. */
static inline int m_req_bytes(struct rsp_der_iter *it, rsp_tag tag, size_t min, size_t max,
                              struct rsp_sgp22_bytes *out)
{
    struct rsp_tlv t;
    int rc = rsp_der_req(it, tag, &t);
    return rc ? rc : m_size(&t, min, max, out);
}

/* Optional primitive element with a size range. */
static inline int m_opt_bytes(struct rsp_der_iter *it, rsp_tag tag, size_t min, size_t max,
                              bool *has, struct rsp_sgp22_bytes *out)
{
    struct rsp_tlv t;
    int rc = rsp_der_opt(it, tag, &t);
    if (rc <= 0)
        return rc;
    *has = true;
    return m_size(&t, min, max, out);
}

static inline int m_req_int(struct rsp_der_iter *it, rsp_tag tag, int64_t *v)
{
    struct rsp_tlv t;
    int rc = rsp_der_req(it, tag, &t);
    return rc ? rc : rsp_der_get_int(&t, v);
}

static inline int m_req_tid(struct rsp_der_iter *it, rsp_tag tag, struct rsp_sgp22_bytes *out)
{
    return m_req_bytes(it, tag, 1, RSP_SGP22_TID_MAX, out);
}

static inline int m_req_sig(struct rsp_der_iter *it, struct rsp_sgp22_bytes *out)
{
    return m_req_bytes(it, 0x5F37, RSP_SGP22_SIG_LEN, RSP_SGP22_SIG_LEN, out);
}

/* otPK: 65 bytes, uncompressed point. */
static inline int m_check_otpk(const struct rsp_sgp22_bytes *b)
{
    return b->len == RSP_SGP22_OTPK_LEN && b->p[0] == 0x04 ? 0 : RSP_ERANGE;
}

/* A certificate: a constructed 30 element, kept whole and not decoded here. */
static inline int m_req_cert(struct rsp_der_iter *it, struct rsp_tlv *out)
{
    int rc = rsp_der_req(it, 0x30, out);
    if (rc)
        return rc;
    return out->len ? 0 : RSP_ERANGE;
}

/* NamedBitList BIT STRING <-> mask (bit i = named bit i; bits 32 and above are ignored). */
static inline int m_get_mask(const struct rsp_tlv *t, uint32_t *mask)
{
    const uint8_t *bits;
    size_t nbits;
    int rc = rsp_der_get_bits(t, &bits, &nbits);
    if (rc)
        return rc;
    *mask = 0;
    for (size_t i = 0; i < nbits && i < 32; i++)
        if (rsp_der_bit(bits, nbits, i))
            *mask |= 1u << i;
    return 0;
}

static inline int m_put_mask(struct rsp_buf *b, rsp_tag tag, uint32_t mask)
{
    uint8_t bits[4];
    for (int i = 0; i < 4; i++) {
        uint8_t v = 0;
        for (int j = 0; j < 8; j++)
            if (mask & (1u << (i * 8 + j)))
                v |= (uint8_t)(0x80u >> j);
        bits[i] = v;
    }
    return rsp_der_put_named_bits(b, tag, bits, 32);
}

/* True if the byte field fits [min, max] (and has a pointer when non-empty). */
static inline bool m_ok(const struct rsp_sgp22_bytes *b, size_t min, size_t max)
{
    return b->len >= min && b->len <= max && (b->p || b->len == 0);
}

static inline bool m_ok_tid(const struct rsp_sgp22_bytes *b)
{
    return m_ok(b, 1, RSP_SGP22_TID_MAX);
}

static inline bool m_ok_otpk(const struct rsp_sgp22_bytes *b)
{
    return m_ok(b, RSP_SGP22_OTPK_LEN, RSP_SGP22_OTPK_LEN) && b->p[0] == 0x04;
}

static inline bool m_ok_sig(const struct rsp_sgp22_bytes *b)
{
    return m_ok(b, RSP_SGP22_SIG_LEN, RSP_SGP22_SIG_LEN);
}

static inline bool m_has_raw(const struct rsp_tlv *t)
{
    return t->raw != NULL && t->raw_len > 0;
}

static inline int m_put_bytes(struct rsp_buf *b, rsp_tag tag, const struct rsp_sgp22_bytes *v)
{
    return rsp_der_put(b, tag, v->p, v->len);
}

/* Appends a whole TLV received earlier (certificate, signed part). */
static inline int m_put_raw(struct rsp_buf *b, const struct rsp_tlv *t)
{
    if (!m_has_raw(t))
        return RSP_EINVAL;
    return rsp_buf_append(b, t->raw, t->raw_len);
}

/* Encoder wrapper: on failure, the output is cut back to where it was. */
static inline int m_enc_done(struct rsp_buf *out, size_t start, int rc)
{
    if (rc == 0)
        rc = out->err;
    if (rc && out->len >= start)
        out->len = start;
    return rc;
}

#endif
