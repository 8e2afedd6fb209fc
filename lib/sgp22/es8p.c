/* ES8+ structures: InitialiseSecureChannelRequest (BF23), ConfigureISDPRequest (BF24),
 * ReplaceSessionKeysRequest (BF26) and the Bound Profile Package (BF36) (SGP.22 v2.2 §2.5.2 to
 * §2.5.5, §5.5; ASN.1 in Annex H / §6.6.1). */
#include "msg_internal.h"

/* ---- InitialiseSecureChannelRequest (§5.5.1): remoteOpId [2], transactionId [0],
 * controlRefTemplate [6] IMPLICIT (A6 { [0] keyType, [1] keyLen, [4] hostId }), 5F49, 5F37. --- */

int rsp_sgp22_init_secure_channel_decode(const uint8_t *p, size_t n,
                                         struct rsp_sgp22_init_secure_channel *out)
{
    struct rsp_der_iter it, c;
    struct rsp_tlv crt;
    struct rsp_sgp22_bytes kt, kl;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = m_open(p, n, 0xBF23, &out->raw, &it)))
        return rc;
    if ((rc = m_req_int(&it, 0x82, &out->remote_op_id)) ||
        (rc = m_req_tid(&it, 0x80, &out->transaction_id)) || (rc = rsp_der_req(&it, 0xA6, &crt)))
        return rc;
    rsp_der_iter_value(&c, &crt);
    if ((rc = m_req_bytes(&c, 0x80, 1, 1, &kt)) || (rc = m_req_bytes(&c, 0x81, 1, 1, &kl)) ||
        (rc = m_req_bytes(&c, 0x84, 1, 16, &out->host_id)) || (rc = rsp_der_finish(&c)))
        return rc;
    out->key_type = kt.p[0];
    out->key_len = kl.p[0];
    if ((rc = m_req_bytes(&it, 0x5F49, 0, NO_MAX, &out->smdp_otpk)) ||
        (rc = m_check_otpk(&out->smdp_otpk)) || (rc = m_req_sig(&it, &out->smdp_sign)))
        return rc;
    return rsp_der_finish(&it);
}

/* Everything of BF23 that smdpSign covers: 82, 80, A6, 5F49. */
static int isc_signed_fields(const struct rsp_sgp22_init_secure_channel *in, struct rsp_buf *out)
{
    if (!m_ok_tid(&in->transaction_id) || !m_ok(&in->host_id, 1, 16) || !m_ok_otpk(&in->smdp_otpk))
        return RSP_EINVAL;
    rsp_der_put_int(out, 0x82, in->remote_op_id);
    m_put_bytes(out, 0x80, &in->transaction_id);
    size_t c = rsp_der_begin(out, 0xA6);
    rsp_der_put(out, 0x80, &in->key_type, 1);
    rsp_der_put(out, 0x81, &in->key_len, 1);
    m_put_bytes(out, 0x84, &in->host_id);
    rsp_der_end(out, c);
    m_put_bytes(out, 0x5F49, &in->smdp_otpk);
    return out->err;
}

int rsp_sgp22_init_secure_channel_encode(const struct rsp_sgp22_init_secure_channel *in,
                                         struct rsp_buf *out)
{
    if (!m_ok_sig(&in->smdp_sign))
        return RSP_EINVAL;
    size_t start = out->len;
    size_t m = rsp_der_begin(out, 0xBF23);
    int rc = isc_signed_fields(in, out);
    if (rc)
        return m_enc_done(out, start, rc);
    m_put_bytes(out, 0x5F37, &in->smdp_sign);
    return m_enc_done(out, start, rsp_der_end(out, m));
}

/* smdpSign input (§5.5.1; sgp22-notes §4): BF23 content up to (excluding) the 5F37 element, then
 * 5F49 41 euiccOtpk. From the received bytes when raw is set. */
int rsp_sgp22_smdp_sign_input(const struct rsp_sgp22_init_secure_channel *in,
                              const uint8_t euicc_otpk[RSP_SGP22_OTPK_LEN], struct rsp_buf *out)
{
    if (!euicc_otpk || euicc_otpk[0] != 0x04)
        return RSP_EINVAL;
    size_t start = out->len;
    int rc = 0;
    if (m_has_raw(&in->raw)) {
        struct rsp_der_iter it;
        struct rsp_tlv e;
        bool found = false;
        rsp_der_iter_init(&it, in->raw.val, in->raw.len);
        while ((rc = rsp_der_next(&it, &e)) == 1) {
            if (e.tag == 0x5F37) {
                found = true;
                break;
            }
            rsp_buf_append(out, e.raw, e.raw_len);
        }
        if (rc < 0 || !found)
            return m_enc_done(out, start, rc < 0 ? rc : RSP_EMISSING);
        rc = 0;
    } else if ((rc = isc_signed_fields(in, out))) {
        return m_enc_done(out, start, rc);
    }
    rsp_der_put(out, 0x5F49, euicc_otpk, RSP_SGP22_OTPK_LEN);
    return m_enc_done(out, start, rc);
}

/* ---- ConfigureISDPRequest (§5.5.2): BF24 { [24] dpProprietaryData OPTIONAL }; inside
 * DpProprietaryData the only field, dpOid, is untagged, so AUTOMATIC TAGS makes it [0] (80). ----
 */

int rsp_sgp22_configure_isdp_request_decode(const uint8_t *p, size_t n,
                                            struct rsp_sgp22_configure_isdp_request *out)
{
    struct rsp_der_iter it, c;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = m_open(p, n, 0xBF24, &out->raw, &it)))
        return rc;
    if ((rc = rsp_der_opt(&it, 0xB8, &out->dp_proprietary_data)) < 0)
        return rc;
    if (rc) {
        out->has_dp_proprietary_data = true;
        /* At most 128 bytes including tag and length (Annex H comment). */
        if (out->dp_proprietary_data.raw_len > 128)
            return RSP_ERANGE;
        rsp_der_iter_value(&c, &out->dp_proprietary_data);
        if ((rc = m_req_bytes(&c, 0x80, 1, NO_MAX, &out->dp_oid)) || (rc = rsp_der_finish(&c)))
            return rc;
        out->has_dp_oid = true;
    }
    return rsp_der_finish(&it);
}

int rsp_sgp22_configure_isdp_request_encode(const struct rsp_sgp22_configure_isdp_request *in,
                                            struct rsp_buf *out)
{
    size_t start = out->len;
    size_t m = rsp_der_begin(out, 0xBF24);
    if (in->has_dp_proprietary_data && m_has_raw(&in->dp_proprietary_data)) {
        if (in->dp_proprietary_data.tag != 0xB8)
            return m_enc_done(out, start, RSP_EINVAL);
        m_put_raw(out, &in->dp_proprietary_data);
    } else if (in->has_dp_proprietary_data || in->has_dp_oid) {
        if (!in->has_dp_oid || !m_ok(&in->dp_oid, 1, NO_MAX))
            return m_enc_done(out, start, RSP_EINVAL);
        size_t d = rsp_der_begin(out, 0xB8);
        m_put_bytes(out, 0x80, &in->dp_oid);
        rsp_der_end(out, d);
    }
    return m_enc_done(out, start, rsp_der_end(out, m));
}

/* ---- ReplaceSessionKeysRequest (§5.5.4): three untagged OCTET STRINGs -> [0] [1] [2]. ------- */

int rsp_sgp22_replace_session_keys_request_decode(
    const uint8_t *p, size_t n, struct rsp_sgp22_replace_session_keys_request *out)
{
    struct rsp_der_iter it;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = m_open(p, n, 0xBF26, &out->raw, &it)))
        return rc;
    /* AES-128 keys and a 16-byte MAC chaining value (§2.5.3: keyLen is 16). */
    if ((rc = m_req_bytes(&it, 0x80, 16, 16, &out->initial_mcv)) ||
        (rc = m_req_bytes(&it, 0x81, 16, 16, &out->ppk_enc)) ||
        (rc = m_req_bytes(&it, 0x82, 16, 16, &out->ppk_cmac)))
        return rc;
    return rsp_der_finish(&it);
}

int rsp_sgp22_replace_session_keys_request_encode(
    const struct rsp_sgp22_replace_session_keys_request *in, struct rsp_buf *out)
{
    if (!m_ok(&in->initial_mcv, 16, 16) || !m_ok(&in->ppk_enc, 16, 16) ||
        !m_ok(&in->ppk_cmac, 16, 16))
        return RSP_EINVAL;
    size_t start = out->len;
    size_t m = rsp_der_begin(out, 0xBF26);
    m_put_bytes(out, 0x80, &in->initial_mcv);
    m_put_bytes(out, 0x81, &in->ppk_enc);
    m_put_bytes(out, 0x82, &in->ppk_cmac);
    return m_enc_done(out, start, rsp_der_end(out, m));
}

/* ---- BoundProfilePackage (§2.5.4, §5.5): BF36 { BF23, [0] SEQUENCE OF [7], [1] SEQUENCE OF [8],
 * [2] SEQUENCE OF [7] OPTIONAL, [3] SEQUENCE OF [6] }. ----------------------------------------- */

static int seg_tag_of(rsp_tag list)
{
    switch (list) {
    case 0xA0:
    case 0xA2:
        return 0x87;
    case 0xA1:
        return 0x88;
    case 0xA3:
        return 0x86;
    default:
        return 0;
    }
}

static int seg_list(struct rsp_der_iter *it, rsp_tag list, struct rsp_tlv *t, size_t *count)
{
    struct rsp_der_iter c;
    struct rsp_tlv s;
    int rc = rsp_der_req(it, list, t);
    if (rc)
        return rc;
    rsp_der_iter_value(&c, t);
    *count = 0;
    while ((rc = rsp_der_next(&c, &s)) == 1) {
        if (s.tag != (rsp_tag)seg_tag_of(list))
            return RSP_EUNEXPECTED;
        (*count)++;
    }
    return rc;
}

int rsp_sgp22_bpp_decode(const uint8_t *p, size_t n, struct rsp_sgp22_bpp *out)
{
    struct rsp_der_iter it;
    struct rsp_tlv t;
    rsp_tag next;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = m_open(p, n, 0xBF36, &out->raw, &it)))
        return rc;
    if ((rc = rsp_der_req(&it, 0xBF23, &t)) ||
        (rc = rsp_sgp22_init_secure_channel_decode(t.raw, t.raw_len, &out->init_secure_channel)) ||
        (rc = seg_list(&it, 0xA0, &out->first87, &out->n_first87)) ||
        (rc = seg_list(&it, 0xA1, &out->seq88, &out->n_seq88)))
        return rc;
    if ((rc = rsp_der_peek(&it, &next)) < 0)
        return rc;
    if (rc == 1 && next == 0xA2) {
        out->has_second87 = true;
        if ((rc = seg_list(&it, 0xA2, &out->second87, &out->n_second87)))
            return rc;
    }
    if ((rc = seg_list(&it, 0xA3, &out->seq86, &out->n_seq86)))
        return rc;
    return rsp_der_finish(&it);
}

int rsp_sgp22_bpp_next(struct rsp_der_iter *it, struct rsp_tlv *seg)
{
    int rc = rsp_der_next(it, seg);
    if (rc == 1 && seg->tag != 0x86 && seg->tag != 0x87 && seg->tag != 0x88)
        return RSP_EUNEXPECTED;
    return rc;
}

static int put_segs(struct rsp_buf *out, rsp_tag list, const struct rsp_sgp22_bytes *segs, size_t n)
{
    struct rsp_tlv t;
    if (n && !segs)
        return RSP_EINVAL;
    size_t m = rsp_der_begin(out, list);
    for (size_t i = 0; i < n; i++) {
        if (!segs[i].p || rsp_der_parse_tag(segs[i].p, segs[i].len, (rsp_tag)seg_tag_of(list), &t))
            return RSP_EINVAL;
        rsp_buf_append(out, segs[i].p, segs[i].len);
    }
    return rsp_der_end(out, m);
}

int rsp_sgp22_bpp_encode(const struct rsp_sgp22_bpp_parts *in, struct rsp_buf *out)
{
    const struct rsp_sgp22_init_secure_channel *isc = in->init_secure_channel;
    if (!isc)
        return RSP_EINVAL;
    size_t start = out->len;
    size_t m = rsp_der_begin(out, 0xBF36);
    int rc = m_has_raw(&isc->raw) ? m_put_raw(out, &isc->raw)
                                  : rsp_sgp22_init_secure_channel_encode(isc, out);
    if (!rc)
        rc = put_segs(out, 0xA0, in->first87, in->n_first87);
    if (!rc)
        rc = put_segs(out, 0xA1, in->seq88, in->n_seq88);
    if (!rc && in->has_second87)
        rc = put_segs(out, 0xA2, in->second87, in->n_second87);
    if (!rc)
        rc = put_segs(out, 0xA3, in->seq86, in->n_seq86);
    if (rc)
        return m_enc_done(out, start, rc);
    return m_enc_done(out, start, rsp_der_end(out, m));
}
