/* ES10a/b/c management messages (SGP.22 v2.2 §5.7, Annex H): helpers shared by the ES10 codecs,
 * and the small request/response structures. Decoders point into the input and never allocate. */
#include <limits.h>
#include <string.h>

#include "es10_internal.h"

/* --- shared helpers -----------------------------------------------------------------------------
 */

int rsp_es10_i_open(const uint8_t *p, size_t n, rsp_tag tag, struct rsp_der_iter *it,
                    struct rsp_tlv *outer)
{
    struct rsp_tlv t;
    if (!p && n)
        return RSP_EINVAL;
    int rc = rsp_der_parse_tag(p, n, tag, &t);
    if (rc)
        return rc;
    if (!rsp_tag_constructed(tag))
        return RSP_EBADTAG;
    rsp_der_iter_value(it, &t);
    if (outer)
        *outer = t;
    return 0;
}

int rsp_es10_i_bin(const struct rsp_tlv *t, size_t min, size_t max, struct rsp_es10_bin *out)
{
    if (t->len < min || t->len > max)
        return RSP_ERANGE;
    out->p = t->val;
    out->len = t->len;
    return 0;
}

int rsp_es10_i_req_bin(struct rsp_der_iter *it, rsp_tag tag, size_t min, size_t max,
                       struct rsp_es10_bin *out)
{
    struct rsp_tlv t;
    int rc = rsp_der_req(it, tag, &t);
    return rc ? rc : rsp_es10_i_bin(&t, min, max, out);
}

int rsp_es10_i_opt_bin(struct rsp_der_iter *it, rsp_tag tag, size_t min, size_t max,
                       struct rsp_es10_bin *out)
{
    struct rsp_tlv t;
    out->p = NULL;
    out->len = 0;
    int rc = rsp_der_opt(it, tag, &t);
    if (rc <= 0)
        return rc;
    return rsp_es10_i_bin(&t, min, max, out);
}

int rsp_es10_i_bits(const struct rsp_tlv *t, struct rsp_es10_bits *out)
{
    if (rsp_tag_constructed(t->tag))
        return RSP_EBADTAG;
    return rsp_der_get_bits(t, &out->bits, &out->nbits);
}

int rsp_es10_i_opt_bits(struct rsp_der_iter *it, rsp_tag tag, struct rsp_es10_bits *out)
{
    struct rsp_tlv t;
    out->bits = NULL;
    out->nbits = 0;
    int rc = rsp_der_opt(it, tag, &t);
    if (rc <= 0)
        return rc;
    return rsp_es10_i_bits(&t, out);
}

int rsp_es10_i_req_bits(struct rsp_der_iter *it, rsp_tag tag, struct rsp_es10_bits *out)
{
    struct rsp_tlv t;
    int rc = rsp_der_req(it, tag, &t);
    return rc ? rc : rsp_es10_i_bits(&t, out);
}

int rsp_es10_i_int(const struct rsp_tlv *t, int *out)
{
    int64_t v;
    int rc = rsp_der_get_int(t, &v);
    if (rc)
        return rc;
    if (v < 0 || v > INT32_MAX)
        return RSP_ERANGE;
    *out = (int)v;
    return 0;
}

int rsp_es10_i_req_int(struct rsp_der_iter *it, rsp_tag tag, int *out)
{
    struct rsp_tlv t;
    int rc = rsp_der_req(it, tag, &t);
    return rc ? rc : rsp_es10_i_int(&t, out);
}

int rsp_es10_i_opt_int(struct rsp_der_iter *it, rsp_tag tag, bool *has, int *out)
{
    struct rsp_tlv t;
    *has = false;
    int rc = rsp_der_opt(it, tag, &t);
    if (rc <= 0)
        return rc;
    *has = true;
    return rsp_es10_i_int(&t, out);
}

int rsp_es10_i_req_version(struct rsp_der_iter *it, rsp_tag tag, uint8_t v[3])
{
    struct rsp_es10_bin b;
    int rc = rsp_es10_i_req_bin(it, tag, RSP_ES10_VERSION_LEN, RSP_ES10_VERSION_LEN, &b);
    if (rc == 0)
        memcpy(v, b.p, RSP_ES10_VERSION_LEN);
    return rc;
}

int rsp_es10_i_iccid(const struct rsp_tlv *t, struct rsp_iccid *out)
{
    if (t->len != RSP_ICCID_LEN) /* Iccid ::= OCTET STRING (SIZE(10)) */
        return RSP_ERANGE;
    memcpy(out->b, t->val, RSP_ICCID_LEN);
    return 0;
}

void rsp_es10_i_put_bin(struct rsp_buf *b, rsp_tag tag, const struct rsp_es10_bin *v)
{
    if (v->p)
        rsp_der_put(b, tag, v->p, v->len);
}

void rsp_es10_i_put_bits(struct rsp_buf *b, rsp_tag tag, const struct rsp_es10_bits *v)
{
    if (v->bits)
        rsp_der_put_bits(b, tag, v->bits, v->nbits);
}

void rsp_es10_i_put_mask(struct rsp_buf *b, rsp_tag tag, uint32_t mask)
{
    uint8_t bits[4];
    memset(bits, 0, sizeof bits);
    for (unsigned i = 0; i < 32; i++)
        if (mask & (1u << i))
            bits[i / 8] |= (uint8_t)(0x80u >> (i % 8));
    rsp_der_put_named_bits(b, tag, bits, 32);
}

uint32_t rsp_es10_bits_mask(const struct rsp_es10_bits *b)
{
    uint32_t m = 0;
    if (!b || !b->bits)
        return 0;
    for (size_t i = 0; i < 32 && i < b->nbits; i++)
        if (rsp_der_bit(b->bits, b->nbits, i))
            m |= 1u << i;
    return m;
}

int rsp_es10_i_put_profile_id(struct rsp_buf *b, const struct rsp_es10_profile_id *id)
{
    switch (id->kind) {
    case RSP_ES10_BY_AID:
        if (!id->aid.p || id->aid.len < 1 || id->aid.len > 16) /* OctetTo16 */
            return RSP_EINVAL;
        return rsp_der_put(b, 0x4F, id->aid.p, id->aid.len);
    case RSP_ES10_BY_ICCID:
        return rsp_der_put(b, 0x5A, id->iccid.b, RSP_ICCID_LEN);
    }
    return RSP_EINVAL;
}

int rsp_es10_i_profile_id(const struct rsp_tlv *t, struct rsp_es10_profile_id *out)
{
    memset(out, 0, sizeof *out);
    if (t->tag == 0x4F) {
        out->kind = RSP_ES10_BY_AID;
        return rsp_es10_i_bin(t, 1, 16, &out->aid);
    }
    if (t->tag == 0x5A) {
        out->kind = RSP_ES10_BY_ICCID;
        return rsp_es10_i_iccid(t, &out->iccid);
    }
    return RSP_EUNEXPECTED;
}

int rsp_es10_i_operator_id(const struct rsp_tlv *t, struct rsp_es10_operator_id *out)
{
    struct rsp_der_iter it;
    int rc;
    if (!rsp_tag_constructed(t->tag))
        return RSP_EBADTAG;
    rsp_der_iter_value(&it, t);
    if ((rc = rsp_es10_i_req_bin(&it, 0x80, 3, 3, &out->mcc_mnc)) ||
        (rc = rsp_es10_i_opt_bin(&it, 0x81, 0, SIZE_MAX, &out->gid1)) ||
        (rc = rsp_es10_i_opt_bin(&it, 0x82, 0, SIZE_MAX, &out->gid2)))
        return rc;
    return rsp_der_finish(&it);
}

void rsp_es10_i_put_operator_id(struct rsp_buf *b, rsp_tag tag,
                                const struct rsp_es10_operator_id *op)
{
    size_t m = rsp_der_begin(b, tag);
    rsp_es10_i_put_bin(b, 0x80, &op->mcc_mnc);
    rsp_es10_i_put_bin(b, 0x81, &op->gid1);
    rsp_es10_i_put_bin(b, 0x82, &op->gid2);
    rsp_der_end(b, m);
}

int rsp_es10_i_pkid_list(struct rsp_der_iter *it, rsp_tag tag, struct rsp_es10_pkid_list *out)
{
    struct rsp_tlv t, e;
    struct rsp_der_iter in;
    int rc = rsp_der_req(it, tag, &t);
    if (rc)
        return rc;
    out->n = 0;
    rsp_der_iter_value(&in, &t);
    while ((rc = rsp_der_next(&in, &e)) == 1) {
        if (e.tag != 0x04)
            return RSP_EUNEXPECTED;
        if (out->n == RSP_ES10_MAX_CI_PKIDS)
            return RSP_ERANGE;
        /* SubjectKeyIdentifier: no SIZE in Annex H; 20 bytes in practice. */
        if ((rc = rsp_es10_i_bin(&e, 1, 64, &out->id[out->n])))
            return rc;
        out->n++;
    }
    return rc;
}

int rsp_es10_i_put_pkid_list(struct rsp_buf *b, rsp_tag tag, const struct rsp_es10_pkid_list *l)
{
    if (l->n > RSP_ES10_MAX_CI_PKIDS)
        return RSP_ERANGE;
    size_t m = rsp_der_begin(b, tag);
    for (size_t i = 0; i < l->n; i++)
        rsp_der_put(b, 0x04, l->id[i].p, l->id[i].len);
    return rsp_der_end(b, m);
}

/* --- generic messages ------------------------------------------------------------------------- */

int rsp_es10_peek_tag(const uint8_t *p, size_t n, rsp_tag *tag)
{
    size_t hl, vl;
    if (!p || !tag)
        return RSP_EINVAL;
    return rsp_der_parse_header(p, n, tag, &hl, &vl);
}

int rsp_es10_empty_encode(rsp_tag tag, struct rsp_buf *out)
{
    return rsp_der_put_header(out, tag, 0);
}

int rsp_es10_empty_decode(rsp_tag tag, const uint8_t *p, size_t n)
{
    struct rsp_der_iter it;
    int rc = rsp_es10_i_open(p, n, tag, &it, NULL);
    return rc ? rc : rsp_der_finish(&it);
}

int rsp_es10_result_encode(rsp_tag tag, int result, struct rsp_buf *out)
{
    if (result < 0)
        return RSP_EINVAL;
    size_t m = rsp_der_begin(out, tag);
    rsp_der_put_int(out, 0x80, result);
    return rsp_der_end(out, m);
}

int rsp_es10_result_decode(rsp_tag tag, const uint8_t *p, size_t n, int *result)
{
    struct rsp_der_iter it;
    int v, rc;
    if (!result)
        return RSP_EINVAL;
    if ((rc = rsp_es10_i_open(p, n, tag, &it, NULL)) || (rc = rsp_es10_i_req_int(&it, 0x80, &v)) ||
        (rc = rsp_der_finish(&it)))
        return rc;
    *result = v;
    return 0;
}

#define RESULT_CODEC(name, tag, type)                                                              \
    int name##_encode(type r, struct rsp_buf *out)                                                 \
    {                                                                                              \
        return rsp_es10_result_encode(tag, (int)r, out);                                           \
    }                                                                                              \
    int name##_decode(const uint8_t *p, size_t n, type *r)                                         \
    {                                                                                              \
        int v = 0;                                                                                 \
        int rc = rsp_es10_result_decode(tag, p, n, &v);                                            \
        if (rc == 0)                                                                               \
            *r = (type)v;                                                                          \
        return rc;                                                                                 \
    }

RESULT_CODEC(rsp_es10_enable_resp, RSP_ES10_TAG_ENABLE_PROFILE, enum rsp_enable_result)
RESULT_CODEC(rsp_es10_disable_resp, RSP_ES10_TAG_DISABLE_PROFILE, enum rsp_disable_result)
RESULT_CODEC(rsp_es10_delete_resp, RSP_ES10_TAG_DELETE_PROFILE, enum rsp_delete_result)
RESULT_CODEC(rsp_es10_memory_reset_resp, RSP_ES10_TAG_EUICC_MEMORY_RESET, enum rsp_reset_result)
RESULT_CODEC(rsp_es10_set_nickname_resp, RSP_ES10_TAG_SET_NICKNAME, enum rsp_set_nickname_result)
RESULT_CODEC(rsp_es10_notif_sent_resp, RSP_ES10_TAG_NOTIFICATION_SENT,
             enum rsp_notification_sent_result)
RESULT_CODEC(rsp_es10_set_default_dp_resp, RSP_ES10_TAG_SET_DEFAULT_DP_ADDRESS,
             enum rsp_set_default_dp_result)

bool rsp_es10_taglist_has(const struct rsp_es10_bin *taglist, rsp_tag tag)
{
    if (!taglist || !taglist->p)
        return false;
    const uint8_t *p = taglist->p, *end = p + taglist->len;
    while (p < end) {
        rsp_tag t = *p++;
        size_t nb = 1;
        if ((t & 0x1F) == 0x1F) {
            do {
                if (p == end || nb == RSP_DER_MAX_TAG_BYTES)
                    return false;
                t = t << 8 | *p;
                nb++;
            } while (*p++ & 0x80);
        }
        if (t == tag)
            return true;
    }
    return false;
}

/* --- GetEuiccChallenge (§5.7.7) --------------------------------------------------------------- */

int rsp_es10_challenge_encode(const uint8_t challenge[RSP_ES10_CHALLENGE_LEN], struct rsp_buf *out)
{
    size_t m = rsp_der_begin(out, RSP_ES10_TAG_EUICC_CHALLENGE);
    rsp_der_put(out, 0x80, challenge, RSP_ES10_CHALLENGE_LEN);
    return rsp_der_end(out, m);
}

int rsp_es10_challenge_decode(const uint8_t *p, size_t n, uint8_t challenge[RSP_ES10_CHALLENGE_LEN])
{
    struct rsp_der_iter it;
    struct rsp_es10_bin c;
    int rc;
    if ((rc = rsp_es10_i_open(p, n, RSP_ES10_TAG_EUICC_CHALLENGE, &it, NULL)) ||
        (rc = rsp_es10_i_req_bin(&it, 0x80, RSP_ES10_CHALLENGE_LEN, RSP_ES10_CHALLENGE_LEN, &c)) ||
        (rc = rsp_der_finish(&it)))
        return rc;
    memcpy(challenge, c.p, RSP_ES10_CHALLENGE_LEN);
    return 0;
}

/* --- GetEuiccData / GetEID (§5.7.20) ---------------------------------------------------------- */

int rsp_es10_get_euicc_data_encode(uint8_t tag_list, struct rsp_buf *out)
{
    size_t m = rsp_der_begin(out, RSP_ES10_TAG_GET_EUICC_DATA);
    rsp_der_put(out, 0x5C, &tag_list, 1);
    return rsp_der_end(out, m);
}

int rsp_es10_get_euicc_data_decode(const uint8_t *p, size_t n, uint8_t *tag_list)
{
    struct rsp_der_iter it;
    struct rsp_es10_bin tl;
    int rc;
    if ((rc = rsp_es10_i_open(p, n, RSP_ES10_TAG_GET_EUICC_DATA, &it, NULL)) ||
        (rc = rsp_es10_i_req_bin(&it, 0x5C, 1, 1, &tl)) || (rc = rsp_der_finish(&it)))
        return rc;
    *tag_list = tl.p[0];
    return 0;
}

int rsp_es10_get_eid_encode(struct rsp_buf *out)
{
    return rsp_es10_get_euicc_data_encode(0x5A, out);
}

int rsp_es10_eid_encode(const struct rsp_eid *eid, struct rsp_buf *out)
{
    size_t m = rsp_der_begin(out, RSP_ES10_TAG_GET_EUICC_DATA);
    rsp_der_put(out, 0x5A, eid->b, RSP_EID_LEN);
    return rsp_der_end(out, m);
}

int rsp_es10_eid_decode(const uint8_t *p, size_t n, struct rsp_eid *eid)
{
    struct rsp_der_iter it;
    struct rsp_es10_bin e;
    int rc;
    if ((rc = rsp_es10_i_open(p, n, RSP_ES10_TAG_GET_EUICC_DATA, &it, NULL)) ||
        (rc = rsp_es10_i_req_bin(&it, 0x5A, RSP_EID_LEN, RSP_EID_LEN, &e)) ||
        (rc = rsp_der_finish(&it)))
        return rc;
    memcpy(eid->b, e.p, RSP_EID_LEN);
    return 0;
}

/* --- Enable / Disable (§5.7.16, §5.7.17) ---------------------------------------------------- */

static int switch_encode(rsp_tag tag, const struct rsp_es10_switch_req *in, struct rsp_buf *out)
{
    if (!in)
        return RSP_EINVAL;
    size_t m = rsp_der_begin(out, tag);
    size_t m2 = rsp_der_begin(out, 0xA0); /* profileIdentifier [0] CHOICE: explicit */
    int rc = rsp_es10_i_put_profile_id(out, &in->id);
    if (rc)
        return rc;
    rsp_der_end(out, m2);
    rsp_der_put_bool(out, 0x81, in->refresh);
    return rsp_der_end(out, m);
}

static int switch_decode(rsp_tag tag, const uint8_t *p, size_t n, struct rsp_es10_switch_req *out)
{
    struct rsp_der_iter it, in;
    struct rsp_tlv a0, id, rf;
    struct rsp_es10_switch_req r;
    int rc;
    if ((rc = rsp_es10_i_open(p, n, tag, &it, NULL)) || (rc = rsp_der_req(&it, 0xA0, &a0)))
        return rc;
    rsp_der_iter_value(&in, &a0);
    if ((rc = rsp_der_next(&in, &id)) < 0)
        return rc;
    if (rc == 0)
        return RSP_EMISSING;
    if ((rc = rsp_es10_i_profile_id(&id, &r.id)) || (rc = rsp_der_finish_strict(&in)))
        return rc; /* a CHOICE holds exactly one alternative */
    if ((rc = rsp_der_req(&it, 0x81, &rf)) || (rc = rsp_der_get_bool(&rf, &r.refresh)) ||
        (rc = rsp_der_finish(&it)))
        return rc;
    *out = r;
    return 0;
}

int rsp_es10_enable_req_encode(const struct rsp_es10_switch_req *in, struct rsp_buf *out)
{
    return switch_encode(RSP_ES10_TAG_ENABLE_PROFILE, in, out);
}

int rsp_es10_enable_req_decode(const uint8_t *p, size_t n, struct rsp_es10_switch_req *out)
{
    return switch_decode(RSP_ES10_TAG_ENABLE_PROFILE, p, n, out);
}

int rsp_es10_disable_req_encode(const struct rsp_es10_switch_req *in, struct rsp_buf *out)
{
    return switch_encode(RSP_ES10_TAG_DISABLE_PROFILE, in, out);
}

int rsp_es10_disable_req_decode(const uint8_t *p, size_t n, struct rsp_es10_switch_req *out)
{
    return switch_decode(RSP_ES10_TAG_DISABLE_PROFILE, p, n, out);
}

/* --- Delete (§5.7.18): BF33 is itself the CHOICE ------------------------------------------- */

int rsp_es10_delete_req_encode(const struct rsp_es10_profile_id *in, struct rsp_buf *out)
{
    if (!in)
        return RSP_EINVAL;
    size_t m = rsp_der_begin(out, RSP_ES10_TAG_DELETE_PROFILE);
    int rc = rsp_es10_i_put_profile_id(out, in);
    if (rc)
        return rc;
    return rsp_der_end(out, m);
}

int rsp_es10_delete_req_decode(const uint8_t *p, size_t n, struct rsp_es10_profile_id *out)
{
    struct rsp_der_iter it;
    struct rsp_tlv t;
    struct rsp_es10_profile_id id;
    int rc = rsp_es10_i_open(p, n, RSP_ES10_TAG_DELETE_PROFILE, &it, NULL);
    if (rc)
        return rc;
    if ((rc = rsp_der_next(&it, &t)) < 0)
        return rc;
    if (rc == 0)
        return RSP_EMISSING;
    if (t.tag == 0xA0) { /* tolerated: the Enable/Disable-style wrapper */
        if ((rc = rsp_der_finish_strict(&it)))
            return rc;
        rsp_der_iter_value(&it, &t);
        if ((rc = rsp_der_next(&it, &t)) < 0)
            return rc;
        if (rc == 0)
            return RSP_EMISSING;
    }
    if ((rc = rsp_es10_i_profile_id(&t, &id)) || (rc = rsp_der_finish_strict(&it)))
        return rc;
    *out = id;
    return 0;
}

/* --- eUICCMemoryReset (§5.7.19) --------------------------------------------------------------- */

int rsp_es10_memory_reset_req_encode(uint32_t options, struct rsp_buf *out)
{
    size_t m = rsp_der_begin(out, RSP_ES10_TAG_EUICC_MEMORY_RESET);
    rsp_es10_i_put_mask(out, 0x82, options);
    return rsp_der_end(out, m);
}

int rsp_es10_memory_reset_req_decode(const uint8_t *p, size_t n, uint32_t *options)
{
    struct rsp_der_iter it;
    struct rsp_es10_bits b;
    int rc;
    if ((rc = rsp_es10_i_open(p, n, RSP_ES10_TAG_EUICC_MEMORY_RESET, &it, NULL)) ||
        (rc = rsp_es10_i_req_bits(&it, 0x82, &b)) || (rc = rsp_der_finish(&it)))
        return rc;
    *options = rsp_es10_bits_mask(&b);
    return 0;
}

/* --- SetNickname (§5.7.21) -------------------------------------------------------------------- */

int rsp_es10_set_nickname_req_encode(const struct rsp_es10_set_nickname_req *in,
                                     struct rsp_buf *out)
{
    if (!in || in->nickname.len > RSP_ES10_NICKNAME_MAX || (!in->nickname.p && in->nickname.len))
        return RSP_EINVAL;
    size_t m = rsp_der_begin(out, RSP_ES10_TAG_SET_NICKNAME);
    rsp_der_put(out, 0x5A, in->iccid.b, RSP_ICCID_LEN);
    rsp_der_put(out, 0x90, in->nickname.p ? in->nickname.p : (const uint8_t *)"", in->nickname.len);
    return rsp_der_end(out, m);
}

int rsp_es10_set_nickname_req_decode(const uint8_t *p, size_t n,
                                     struct rsp_es10_set_nickname_req *out)
{
    struct rsp_der_iter it;
    struct rsp_tlv t;
    struct rsp_es10_set_nickname_req r;
    int rc;
    if ((rc = rsp_es10_i_open(p, n, RSP_ES10_TAG_SET_NICKNAME, &it, NULL)) ||
        (rc = rsp_der_req(&it, 0x5A, &t)) || (rc = rsp_es10_i_iccid(&t, &r.iccid)) ||
        (rc = rsp_es10_i_req_bin(&it, 0x90, 0, RSP_ES10_NICKNAME_MAX, &r.nickname)) ||
        (rc = rsp_der_finish(&it)))
        return rc;
    *out = r;
    return 0;
}

/* --- Notifications (§5.7.9, §5.7.10, §5.7.11) ------------------------------------------------ */

int rsp_es10_list_notif_req_encode(const struct rsp_es10_list_notif_req *in, struct rsp_buf *out)
{
    if (!in)
        return RSP_EINVAL;
    size_t m = rsp_der_begin(out, RSP_ES10_TAG_LIST_NOTIFICATION);
    if (in->has_pmo)
        rsp_es10_i_put_mask(out, 0x81, in->pmo);
    return rsp_der_end(out, m);
}

int rsp_es10_list_notif_req_decode(const uint8_t *p, size_t n, struct rsp_es10_list_notif_req *out)
{
    struct rsp_der_iter it;
    struct rsp_es10_bits b;
    int rc;
    if ((rc = rsp_es10_i_open(p, n, RSP_ES10_TAG_LIST_NOTIFICATION, &it, NULL)) ||
        (rc = rsp_es10_i_opt_bits(&it, 0x81, &b)) || (rc = rsp_der_finish(&it)))
        return rc;
    out->has_pmo = b.bits != NULL;
    out->pmo = rsp_es10_bits_mask(&b);
    return 0;
}

int rsp_es10_retrieve_notif_req_encode(const struct rsp_es10_retrieve_notif_req *in,
                                       struct rsp_buf *out)
{
    if (!in)
        return RSP_EINVAL;
    size_t m = rsp_der_begin(out, RSP_ES10_TAG_RETRIEVE_NOTIFICATIONS);
    if (in->kind == RSP_ES10_RETRIEVE_SEQ || in->kind == RSP_ES10_RETRIEVE_PMO) {
        size_t m2 = rsp_der_begin(out, 0xA0); /* searchCriteria [0] CHOICE */
        if (in->kind == RSP_ES10_RETRIEVE_SEQ) {
            if (in->seq_number > INT64_MAX)
                return RSP_EINVAL;
            rsp_der_put_int(out, 0x80, (int64_t)in->seq_number);
        } else {
            rsp_es10_i_put_mask(out, 0x81, in->pmo);
        }
        rsp_der_end(out, m2);
    } else if (in->kind != RSP_ES10_RETRIEVE_ALL) {
        return RSP_EINVAL;
    }
    return rsp_der_end(out, m);
}

int rsp_es10_retrieve_notif_req_decode(const uint8_t *p, size_t n,
                                       struct rsp_es10_retrieve_notif_req *out)
{
    struct rsp_der_iter it, in;
    struct rsp_tlv a0, t;
    struct rsp_es10_retrieve_notif_req r;
    int rc;
    memset(&r, 0, sizeof r);
    if ((rc = rsp_es10_i_open(p, n, RSP_ES10_TAG_RETRIEVE_NOTIFICATIONS, &it, NULL)) ||
        (rc = rsp_der_opt(&it, 0xA0, &a0)) < 0)
        return rc;
    if (rc == 1) {
        rsp_der_iter_value(&in, &a0);
        if ((rc = rsp_der_next(&in, &t)) < 0)
            return rc;
        if (rc == 0)
            return RSP_EMISSING;
        if (t.tag == 0x80) {
            r.kind = RSP_ES10_RETRIEVE_SEQ;
            rc = rsp_der_get_uint(&t, &r.seq_number);
        } else if (t.tag == 0x81) {
            struct rsp_es10_bits b;
            r.kind = RSP_ES10_RETRIEVE_PMO;
            rc = rsp_es10_i_bits(&t, &b);
            r.pmo = rsp_es10_bits_mask(&b);
        } else {
            rc = RSP_EUNEXPECTED;
        }
        if (rc || (rc = rsp_der_finish_strict(&in)))
            return rc;
    }
    if ((rc = rsp_der_finish(&it)))
        return rc;
    *out = r;
    return 0;
}

static bool notif_item_ok(rsp_tag list_tag, rsp_tag item)
{
    if (list_tag == RSP_ES10_TAG_LIST_NOTIFICATION)
        return item == RSP_ES10_TAG_NOTIFICATION_METADATA;
    return item == RSP_ES10_TAG_PROFILE_INSTALLATION_RESULT || item == 0x30;
}

static int notif_list_encode(rsp_tag tag, const struct rsp_es10_notif_list *in, struct rsp_buf *out)
{
    if (!in)
        return RSP_EINVAL;
    if (in->is_error) {
        if (in->error < 0)
            return RSP_EINVAL;
        size_t me = rsp_der_begin(out, tag);
        rsp_der_put_int(out, 0x81, in->error);
        return rsp_der_end(out, me);
    }
    if (in->n > RSP_ES10_MAX_NOTIFICATIONS)
        return RSP_ERANGE;
    for (size_t i = 0; i < in->n; i++)
        if (!in->items[i].raw || !notif_item_ok(tag, in->items[i].tag))
            return RSP_EINVAL;
    size_t m = rsp_der_begin(out, tag);
    size_t m2 = rsp_der_begin(out, 0xA0);
    for (size_t i = 0; i < in->n; i++)
        rsp_buf_append(out, in->items[i].raw, in->items[i].raw_len);
    rsp_der_end(out, m2);
    return rsp_der_end(out, m);
}

static int notif_list_decode(rsp_tag tag, const uint8_t *p, size_t n,
                             struct rsp_es10_notif_list *out)
{
    struct rsp_der_iter it, in;
    struct rsp_tlv t, e;
    int rc;
    if (!out)
        return RSP_EINVAL;
    if ((rc = rsp_es10_i_open(p, n, tag, &it, NULL)) || (rc = rsp_der_next(&it, &t)) < 0)
        return rc;
    if (rc == 0)
        return RSP_EMISSING;
    size_t cnt = 0;
    if (t.tag == 0x81) { /* the error alternative: validate before publishing */
        int v;
        if ((rc = rsp_es10_i_int(&t, &v)) || (rc = rsp_der_finish_strict(&it)))
            return rc;
        out->is_error = true;
        out->error = v;
        out->n = 0;
        return 0;
    }
    if (t.tag != 0xA0)
        return RSP_EUNEXPECTED;
    if ((rc = rsp_der_finish_strict(&it))) /* a CHOICE: one alternative only */
        return rc;
    /* First pass validates, so that `out` is only written for a good input. */
    rsp_der_iter_value(&in, &t);
    while ((rc = rsp_der_next(&in, &e)) == 1) {
        if (!notif_item_ok(tag, e.tag))
            return RSP_EUNEXPECTED;
        if (++cnt > RSP_ES10_MAX_NOTIFICATIONS)
            return RSP_ERANGE;
    }
    if (rc)
        return rc;
    out->is_error = false;
    out->error = 0;
    out->n = 0;
    rsp_der_iter_value(&in, &t);
    while (rsp_der_next(&in, &e) == 1)
        out->items[out->n++] = e;
    return 0;
}

int rsp_es10_list_notif_resp_encode(const struct rsp_es10_notif_list *in, struct rsp_buf *out)
{
    return notif_list_encode(RSP_ES10_TAG_LIST_NOTIFICATION, in, out);
}

int rsp_es10_list_notif_resp_decode(const uint8_t *p, size_t n, struct rsp_es10_notif_list *out)
{
    return notif_list_decode(RSP_ES10_TAG_LIST_NOTIFICATION, p, n, out);
}

int rsp_es10_retrieve_notif_resp_encode(const struct rsp_es10_notif_list *in, struct rsp_buf *out)
{
    return notif_list_encode(RSP_ES10_TAG_RETRIEVE_NOTIFICATIONS, in, out);
}

int rsp_es10_retrieve_notif_resp_decode(const uint8_t *p, size_t n, struct rsp_es10_notif_list *out)
{
    return notif_list_decode(RSP_ES10_TAG_RETRIEVE_NOTIFICATIONS, p, n, out);
}

int rsp_es10_notif_sent_req_encode(uint64_t seq_number, struct rsp_buf *out)
{
    if (seq_number > INT64_MAX)
        return RSP_EINVAL;
    size_t m = rsp_der_begin(out, RSP_ES10_TAG_NOTIFICATION_SENT);
    rsp_der_put_int(out, 0x80, (int64_t)seq_number);
    return rsp_der_end(out, m);
}

int rsp_es10_notif_sent_req_decode(const uint8_t *p, size_t n, uint64_t *seq_number)
{
    struct rsp_der_iter it;
    struct rsp_tlv t;
    uint64_t v;
    int rc;
    if ((rc = rsp_es10_i_open(p, n, RSP_ES10_TAG_NOTIFICATION_SENT, &it, NULL)) ||
        (rc = rsp_der_req(&it, 0x80, &t)) || (rc = rsp_der_get_uint(&t, &v)) ||
        (rc = rsp_der_finish(&it)))
        return rc;
    *seq_number = v;
    return 0;
}

/* --- Addresses (§5.7.3, §5.7.4) ----------------------------------------------------------------
 */

int rsp_es10_configured_addresses_encode(const struct rsp_es10_configured_addresses *in,
                                         struct rsp_buf *out)
{
    if (!in || !in->root_ds.p)
        return RSP_EINVAL;
    size_t m = rsp_der_begin(out, RSP_ES10_TAG_EUICC_CONFIGURED_ADDRESSES);
    rsp_es10_i_put_bin(out, 0x80, &in->default_dp);
    rsp_es10_i_put_bin(out, 0x81, &in->root_ds);
    return rsp_der_end(out, m);
}

int rsp_es10_configured_addresses_decode(const uint8_t *p, size_t n,
                                         struct rsp_es10_configured_addresses *out)
{
    struct rsp_der_iter it;
    struct rsp_es10_configured_addresses r;
    int rc;
    if ((rc = rsp_es10_i_open(p, n, RSP_ES10_TAG_EUICC_CONFIGURED_ADDRESSES, &it, NULL)) ||
        (rc = rsp_es10_i_opt_bin(&it, 0x80, 0, 255, &r.default_dp)) ||
        (rc = rsp_es10_i_req_bin(&it, 0x81, 0, 255, &r.root_ds)) || (rc = rsp_der_finish(&it)))
        return rc;
    *out = r;
    return 0;
}

int rsp_es10_set_default_dp_req_encode(const struct rsp_es10_bin *address, struct rsp_buf *out)
{
    if (!address || (!address->p && address->len))
        return RSP_EINVAL;
    size_t m = rsp_der_begin(out, RSP_ES10_TAG_SET_DEFAULT_DP_ADDRESS);
    rsp_der_put(out, 0x80, address->p ? address->p : (const uint8_t *)"", address->len);
    return rsp_der_end(out, m);
}

int rsp_es10_set_default_dp_req_decode(const uint8_t *p, size_t n, struct rsp_es10_bin *address)
{
    struct rsp_der_iter it;
    struct rsp_es10_bin a;
    int rc;
    if ((rc = rsp_es10_i_open(p, n, RSP_ES10_TAG_SET_DEFAULT_DP_ADDRESS, &it, NULL)) ||
        (rc = rsp_es10_i_req_bin(&it, 0x80, 0, 255, &a)) || (rc = rsp_der_finish(&it)))
        return rc;
    *address = a;
    return 0;
}

/* --- GetRAT (§5.7.22) --------------------------------------------------------------------------
 */

int rsp_es10_rat_encode(const struct rsp_es10_rat *in, struct rsp_buf *out)
{
    if (!in || in->n > RSP_ES10_MAX_RAT_RULES)
        return RSP_ERANGE;
    for (size_t i = 0; i < in->n; i++)
        if (in->rules[i].n_operators > RSP_ES10_MAX_RAT_OPERATORS || !in->rules[i].ppr_ids.bits ||
            !in->rules[i].ppr_flags.bits)
            return RSP_EINVAL;
    size_t m = rsp_der_begin(out, RSP_ES10_TAG_GET_RAT);
    size_t m2 = rsp_der_begin(out, 0xA0);
    for (size_t i = 0; i < in->n; i++) {
        const struct rsp_es10_rat_rule *r = &in->rules[i];
        size_t m3 = rsp_der_begin(out, 0x30);
        rsp_es10_i_put_bits(out, 0x80, &r->ppr_ids);
        size_t m4 = rsp_der_begin(out, 0xA1);
        for (size_t j = 0; j < r->n_operators; j++)
            rsp_es10_i_put_operator_id(out, 0x30, &r->operators[j]);
        rsp_der_end(out, m4);
        rsp_es10_i_put_bits(out, 0x82, &r->ppr_flags);
        rsp_der_end(out, m3);
    }
    rsp_der_end(out, m2);
    return rsp_der_end(out, m);
}

static int rat_rule_decode(const struct rsp_tlv *t, struct rsp_es10_rat_rule *r)
{
    struct rsp_der_iter it, ops;
    struct rsp_tlv a1, op;
    int rc;
    rsp_der_iter_value(&it, t);
    if ((rc = rsp_es10_i_req_bits(&it, 0x80, &r->ppr_ids)) || (rc = rsp_der_req(&it, 0xA1, &a1)))
        return rc;
    r->n_operators = 0;
    rsp_der_iter_value(&ops, &a1);
    while ((rc = rsp_der_next(&ops, &op)) == 1) {
        if (op.tag != 0x30)
            return RSP_EUNEXPECTED;
        if (r->n_operators == RSP_ES10_MAX_RAT_OPERATORS)
            return RSP_ERANGE;
        if ((rc = rsp_es10_i_operator_id(&op, &r->operators[r->n_operators++])))
            return rc;
    }
    if (rc || (rc = rsp_es10_i_req_bits(&it, 0x82, &r->ppr_flags)))
        return rc;
    return rsp_der_finish(&it);
}

int rsp_es10_rat_decode(const uint8_t *p, size_t n, struct rsp_es10_rat *out)
{
    struct rsp_der_iter it, in;
    struct rsp_tlv a0, e;
    int rc;
    if (!out)
        return RSP_EINVAL;
    if ((rc = rsp_es10_i_open(p, n, RSP_ES10_TAG_GET_RAT, &it, NULL)) ||
        (rc = rsp_der_req(&it, 0xA0, &a0)) || (rc = rsp_der_finish(&it)))
        return rc;
    /* Validate into a scratch rule first, so that `out` is untouched on error. */
    struct rsp_es10_rat_rule scratch;
    size_t cnt = 0;
    rsp_der_iter_value(&in, &a0);
    while ((rc = rsp_der_next(&in, &e)) == 1) {
        if (e.tag != 0x30)
            return RSP_EUNEXPECTED;
        if (++cnt > RSP_ES10_MAX_RAT_RULES)
            return RSP_ERANGE;
        if ((rc = rat_rule_decode(&e, &scratch)))
            return rc;
    }
    if (rc)
        return rc;
    out->n = 0;
    rsp_der_iter_value(&in, &a0);
    while (rsp_der_next(&in, &e) == 1)
        (void)rat_rule_decode(&e, &out->rules[out->n++]);
    return 0;
}
