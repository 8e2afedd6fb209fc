/* Download preparation: SmdpSigned2, PrepareDownloadRequest, EUICCSigned2,
 * PrepareDownloadResponse (SGP.22 v2.2 §5.7.5, §5.6.2) and StoreMetadataRequest (§5.5.3, §2.4a);
 * ASN.1 in Annex H / §6.6.1. */
#include "msg_internal.h"

/* ---- SmdpSigned2 (§5.7.5): [0] transactionId is tagged, so ccRequiredFlag stays a universal
 * BOOLEAN (01) and bppEuiccOtpk is [APPLICATION 73] (5F49). --------------------------------- */

int rsp_sgp22_smdp_signed2_decode(const uint8_t *p, size_t n, struct rsp_sgp22_smdp_signed2 *out)
{
    struct rsp_der_iter it;
    struct rsp_tlv t;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = m_open(p, n, 0x30, &out->raw, &it)))
        return rc;
    if ((rc = m_req_tid(&it, 0x80, &out->transaction_id)) || (rc = rsp_der_req(&it, 0x01, &t)) ||
        (rc = rsp_der_get_bool(&t, &out->cc_required)))
        return rc;
    if ((rc = m_opt_bytes(&it, 0x5F49, 0, NO_MAX, &out->has_bpp_euicc_otpk, &out->bpp_euicc_otpk)) <
        0)
        return rc;
    if (out->has_bpp_euicc_otpk && (rc = m_check_otpk(&out->bpp_euicc_otpk)))
        return rc;
    return rsp_der_finish(&it);
}

int rsp_sgp22_smdp_signed2_encode(const struct rsp_sgp22_smdp_signed2 *in, struct rsp_buf *out)
{
    if (!m_ok_tid(&in->transaction_id) ||
        (in->has_bpp_euicc_otpk && !m_ok_otpk(&in->bpp_euicc_otpk)))
        return RSP_EINVAL;
    size_t start = out->len;
    size_t m = rsp_der_begin(out, 0x30);
    m_put_bytes(out, 0x80, &in->transaction_id);
    rsp_der_put_bool(out, 0x01, in->cc_required);
    if (in->has_bpp_euicc_otpk)
        m_put_bytes(out, 0x5F49, &in->bpp_euicc_otpk);
    return m_enc_done(out, start, rsp_der_end(out, m));
}

/* ---- PrepareDownloadRequest (§5.7.5): 30, 5F37, [04 hashCc], 30 certificate. --------------- */

int rsp_sgp22_prepare_download_request_decode(const uint8_t *p, size_t n,
                                              struct rsp_sgp22_prepare_download_request *out)
{
    struct rsp_der_iter it;
    struct rsp_tlv t;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = m_open(p, n, 0xBF21, &out->raw, &it)))
        return rc;
    if ((rc = rsp_der_req(&it, 0x30, &t)) ||
        (rc = rsp_sgp22_smdp_signed2_decode(t.raw, t.raw_len, &out->smdp_signed2)) ||
        (rc = m_req_sig(&it, &out->smdp_signature2)))
        return rc;
    if ((rc = m_opt_bytes(&it, 0x04, RSP_SGP22_HASHCC_LEN, RSP_SGP22_HASHCC_LEN, &out->has_hash_cc,
                          &out->hash_cc)) < 0 ||
        (rc = m_req_cert(&it, &out->smdp_certificate)))
        return rc;
    return rsp_der_finish(&it);
}

int rsp_sgp22_prepare_download_request_encode(const struct rsp_sgp22_prepare_download_request *in,
                                              struct rsp_buf *out)
{
    if (!m_ok_sig(&in->smdp_signature2) ||
        (in->has_hash_cc && !m_ok(&in->hash_cc, RSP_SGP22_HASHCC_LEN, RSP_SGP22_HASHCC_LEN)) ||
        !m_has_raw(&in->smdp_certificate))
        return RSP_EINVAL;
    size_t start = out->len;
    size_t m = rsp_der_begin(out, 0xBF21);
    int rc = m_has_raw(&in->smdp_signed2.raw)
                 ? m_put_raw(out, &in->smdp_signed2.raw)
                 : rsp_sgp22_smdp_signed2_encode(&in->smdp_signed2, out);
    if (rc)
        return m_enc_done(out, start, rc);
    m_put_bytes(out, 0x5F37, &in->smdp_signature2);
    if (in->has_hash_cc)
        m_put_bytes(out, 0x04, &in->hash_cc);
    m_put_raw(out, &in->smdp_certificate);
    return m_enc_done(out, start, rsp_der_end(out, m));
}

/* ---- EUICCSigned2 (§5.7.5): 80, 5F49 euiccOtpk, [04 hashCc]. ------------------------------- */

int rsp_sgp22_euicc_signed2_decode(const uint8_t *p, size_t n, struct rsp_sgp22_euicc_signed2 *out)
{
    struct rsp_der_iter it;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = m_open(p, n, 0x30, &out->raw, &it)))
        return rc;
    if ((rc = m_req_tid(&it, 0x80, &out->transaction_id)) ||
        (rc = m_req_bytes(&it, 0x5F49, 0, NO_MAX, &out->euicc_otpk)) ||
        (rc = m_check_otpk(&out->euicc_otpk)))
        return rc;
    if ((rc = m_opt_bytes(&it, 0x04, RSP_SGP22_HASHCC_LEN, RSP_SGP22_HASHCC_LEN, &out->has_hash_cc,
                          &out->hash_cc)) < 0)
        return rc;
    return rsp_der_finish(&it);
}

int rsp_sgp22_euicc_signed2_encode(const struct rsp_sgp22_euicc_signed2 *in, struct rsp_buf *out)
{
    if (!m_ok_tid(&in->transaction_id) || !m_ok_otpk(&in->euicc_otpk) ||
        (in->has_hash_cc && !m_ok(&in->hash_cc, RSP_SGP22_HASHCC_LEN, RSP_SGP22_HASHCC_LEN)))
        return RSP_EINVAL;
    size_t start = out->len;
    size_t m = rsp_der_begin(out, 0x30);
    m_put_bytes(out, 0x80, &in->transaction_id);
    m_put_bytes(out, 0x5F49, &in->euicc_otpk);
    if (in->has_hash_cc)
        m_put_bytes(out, 0x04, &in->hash_cc);
    return m_enc_done(out, start, rsp_der_end(out, m));
}

/* ---- PrepareDownloadResponse (§5.7.5): [33] CHOICE, alternatives A0 ok / A1 error (AUTOMATIC
 * TAGS); the error SEQUENCE has [0] transactionId and a universal INTEGER. ------------------- */

int rsp_sgp22_prepare_download_response_decode(const uint8_t *p, size_t n,
                                               struct rsp_sgp22_prepare_download_response *out)
{
    struct rsp_der_iter it, c;
    struct rsp_tlv alt, t;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = m_open(p, n, 0xBF21, &out->raw, &it)))
        return rc;
    if ((rc = rsp_der_next(&it, &alt)) < 0)
        return rc;
    if (rc == 0)
        return RSP_EMISSING;
    rsp_der_iter_value(&c, &alt);
    if (alt.tag == 0xA0) {
        out->ok = true;
        if ((rc = rsp_der_req(&c, 0x30, &t)) ||
            (rc = rsp_sgp22_euicc_signed2_decode(t.raw, t.raw_len, &out->euicc_signed2)) ||
            (rc = m_req_sig(&c, &out->euicc_signature2)))
            return rc;
    } else if (alt.tag == 0xA1) {
        if ((rc = m_req_tid(&c, 0x80, &out->transaction_id)) ||
            (rc = m_req_int(&c, 0x02, &out->error_code)))
            return rc;
    } else {
        return RSP_EUNEXPECTED;
    }
    if ((rc = rsp_der_finish(&c)))
        return rc;
    return rsp_der_finish_strict(&it);
}

int rsp_sgp22_prepare_download_response_encode(const struct rsp_sgp22_prepare_download_response *in,
                                               struct rsp_buf *out)
{
    size_t start = out->len;
    int rc;
    size_t m = rsp_der_begin(out, 0xBF21);
    if (in->ok) {
        if (!m_ok_sig(&in->euicc_signature2))
            return m_enc_done(out, start, RSP_EINVAL);
        size_t a = rsp_der_begin(out, 0xA0);
        rc = m_has_raw(&in->euicc_signed2.raw)
                 ? m_put_raw(out, &in->euicc_signed2.raw)
                 : rsp_sgp22_euicc_signed2_encode(&in->euicc_signed2, out);
        if (rc)
            return m_enc_done(out, start, rc);
        m_put_bytes(out, 0x5F37, &in->euicc_signature2);
        rsp_der_end(out, a);
    } else {
        if (!m_ok_tid(&in->transaction_id))
            return m_enc_done(out, start, RSP_EINVAL);
        size_t a = rsp_der_begin(out, 0xA1);
        m_put_bytes(out, 0x80, &in->transaction_id);
        rsp_der_put_int(out, 0x02, in->error_code);
        rsp_der_end(out, a);
    }
    return m_enc_done(out, start, rsp_der_end(out, m));
}

/* ---- Signed byte strings (§5.7.5; sgp22-notes §4) ------------------------------------------ */

static int sig_input(const uint8_t *signed_part, size_t len, const uint8_t sig[RSP_SGP22_SIG_LEN],
                     struct rsp_buf *out)
{
    static const uint8_t hdr[3] = {0x5F, 0x37, RSP_SGP22_SIG_LEN};
    if (!signed_part || !len || !sig)
        return RSP_EINVAL;
    size_t start = out->len;
    rsp_buf_append(out, signed_part, len);
    rsp_buf_append(out, hdr, sizeof hdr);
    rsp_buf_append(out, sig, RSP_SGP22_SIG_LEN);
    return m_enc_done(out, start, 0);
}

/* smdpSignature2 covers smdpSigned2 followed by euiccSignature1 as a whole 5F37 TLV. */
int rsp_sgp22_smdp_signature2_input(const uint8_t *smdp_signed2, size_t smdp_signed2_len,
                                    const uint8_t euicc_signature1[RSP_SGP22_SIG_LEN],
                                    struct rsp_buf *out)
{
    return sig_input(smdp_signed2, smdp_signed2_len, euicc_signature1, out);
}

/* euiccSignature2 covers euiccSigned2 followed by the whole smdpSignature2 TLV. */
int rsp_sgp22_euicc_signature2_input(const uint8_t *euicc_signed2, size_t euicc_signed2_len,
                                     const uint8_t smdp_signature2[RSP_SGP22_SIG_LEN],
                                     struct rsp_buf *out)
{
    return sig_input(euicc_signed2, euicc_signed2_len, smdp_signature2, out);
}

/* ---- StoreMetadataRequest (§5.5.3; Annex H): Iccid is [APPLICATION 26] and the other fields are
 * explicitly tagged [17]..[25], so there are no automatic tags at this level. Inside
 * NotificationConfigurationInformation and OperatorId nothing is tagged: [0] [1] ([2]). ------ */

static int notif_cfg_decode(const struct rsp_tlv *list, struct rsp_sgp22_store_metadata_request *o)
{
    struct rsp_der_iter it, c;
    struct rsp_tlv e, t;
    int rc;
    rsp_der_iter_value(&it, list);
    while ((rc = rsp_der_next(&it, &e)) == 1) {
        if (e.tag != 0x30)
            return RSP_EUNEXPECTED;
        if (o->n_notification_config == RSP_NOTIF_CFG_MAX)
            return RSP_ERANGE;
        struct rsp_sgp22_notification_config *nc =
            &o->notification_config[o->n_notification_config];
        rsp_der_iter_value(&c, &e);
        if ((rc = rsp_der_req(&c, 0x80, &t)) || (rc = m_get_mask(&t, &nc->events)) ||
            (rc = m_req_bytes(&c, 0x81, 0, NO_MAX, &nc->address)) || (rc = rsp_der_finish(&c)))
            return rc;
        o->n_notification_config++;
    }
    return rc;
}

static int operator_id_decode(const struct rsp_tlv *t, struct rsp_sgp22_operator_id *o)
{
    struct rsp_der_iter it;
    int rc;
    rsp_der_iter_value(&it, t);
    if ((rc = m_req_bytes(&it, 0x80, 3, 3, &o->mcc_mnc)) ||
        (rc = m_opt_bytes(&it, 0x81, 0, NO_MAX, &o->has_gid1, &o->gid1)) < 0 ||
        (rc = m_opt_bytes(&it, 0x82, 0, NO_MAX, &o->has_gid2, &o->gid2)) < 0)
        return rc;
    return rsp_der_finish(&it);
}

/* Optional INTEGER: 0 (absent or decoded) or negative. */
static int opt_int(struct rsp_der_iter *it, rsp_tag tag, bool *has, int64_t *v)
{
    struct rsp_tlv t;
    int rc = rsp_der_opt(it, tag, &t);
    if (rc <= 0)
        return rc;
    *has = true;
    return rsp_der_get_int(&t, v);
}

int rsp_sgp22_store_metadata_request_decode(const uint8_t *p, size_t n,
                                            struct rsp_sgp22_store_metadata_request *out)
{
    struct rsp_der_iter it;
    struct rsp_tlv t;
    int rc;
    memset(out, 0, sizeof *out);
    out->profile_class = RSP_PROFILE_CLASS_OPERATIONAL;
    if ((rc = m_open(p, n, 0xBF25, &out->raw, &it)))
        return rc;
    if ((rc = m_req_bytes(&it, 0x5A, RSP_SGP22_ICCID_LEN, RSP_SGP22_ICCID_LEN, &out->iccid)) ||
        (rc = m_req_bytes(&it, 0x91, 0, 32, &out->service_provider_name)) ||
        (rc = m_req_bytes(&it, 0x92, 0, 64, &out->profile_name)))
        return rc;
    if ((rc = opt_int(&it, 0x93, &out->has_icon_type, &out->icon_type)) ||
        (rc = m_opt_bytes(&it, 0x94, 0, 1024, &out->has_icon, &out->icon)) < 0 ||
        (rc = opt_int(&it, 0x95, &out->has_profile_class, &out->profile_class)))
        return rc;
    if ((rc = rsp_der_opt(&it, 0xB6, &t)) < 0)
        return rc;
    if (rc == 1) {
        out->has_notification_config = true;
        if ((rc = notif_cfg_decode(&t, out)))
            return rc;
    }
    if ((rc = rsp_der_opt(&it, 0xB7, &t)) < 0)
        return rc;
    if (rc == 1) {
        out->has_profile_owner = true;
        if ((rc = operator_id_decode(&t, &out->profile_owner)))
            return rc;
    }
    if ((rc = rsp_der_opt(&it, 0x99, &t)) < 0)
        return rc;
    if (rc == 1) {
        out->has_ppr = true;
        if ((rc = m_get_mask(&t, &out->ppr)))
            return rc;
    }
    return rsp_der_finish(&it);
}

int rsp_sgp22_store_metadata_request_encode(const struct rsp_sgp22_store_metadata_request *in,
                                            struct rsp_buf *out)
{
    const struct rsp_sgp22_operator_id *po = &in->profile_owner;
    if (!m_ok(&in->iccid, RSP_SGP22_ICCID_LEN, RSP_SGP22_ICCID_LEN) ||
        !m_ok(&in->service_provider_name, 0, 32) || !m_ok(&in->profile_name, 0, 64) ||
        (in->has_icon && !m_ok(&in->icon, 0, 1024)) ||
        in->n_notification_config > RSP_NOTIF_CFG_MAX ||
        (in->has_profile_owner &&
         (!m_ok(&po->mcc_mnc, 3, 3) || (po->has_gid1 && !m_ok(&po->gid1, 0, NO_MAX)) ||
          (po->has_gid2 && !m_ok(&po->gid2, 0, NO_MAX)))))
        return RSP_EINVAL;
    for (size_t i = 0; in->has_notification_config && i < in->n_notification_config; i++)
        if (!m_ok(&in->notification_config[i].address, 0, NO_MAX))
            return RSP_EINVAL;
    size_t start = out->len;
    size_t m = rsp_der_begin(out, 0xBF25);
    m_put_bytes(out, 0x5A, &in->iccid);
    m_put_bytes(out, 0x91, &in->service_provider_name);
    m_put_bytes(out, 0x92, &in->profile_name);
    if (in->has_icon_type)
        rsp_der_put_int(out, 0x93, in->icon_type);
    if (in->has_icon)
        m_put_bytes(out, 0x94, &in->icon);
    /* DER would omit the DEFAULT (operational); has_profile_class lets the caller choose, since
     * osmo-smdpp sends 95 01 02 and the signed/MACed bytes must be reproducible. */
    if (in->has_profile_class)
        rsp_der_put_int(out, 0x95, in->profile_class);
    if (in->has_notification_config) {
        size_t l = rsp_der_begin(out, 0xB6);
        for (size_t i = 0; i < in->n_notification_config; i++) {
            size_t s = rsp_der_begin(out, 0x30);
            m_put_mask(out, 0x80, in->notification_config[i].events);
            m_put_bytes(out, 0x81, &in->notification_config[i].address);
            rsp_der_end(out, s);
        }
        rsp_der_end(out, l);
    }
    if (in->has_profile_owner) {
        size_t o = rsp_der_begin(out, 0xB7);
        m_put_bytes(out, 0x80, &po->mcc_mnc);
        if (po->has_gid1)
            m_put_bytes(out, 0x81, &po->gid1);
        if (po->has_gid2)
            m_put_bytes(out, 0x82, &po->gid2);
        rsp_der_end(out, o);
    }
    if (in->has_ppr)
        m_put_mask(out, 0x99, in->ppr);
    return m_enc_done(out, start, rsp_der_end(out, m));
}
