/* Notifications: NotificationMetadata (BF2F), OtherSignedNotification, PendingNotification
 * (SGP.22 v2.2 §5.7.9, §5.7.10, §4.5); cancel session: CancelSessionRequest/Response (BF41,
 * §5.7.14). ASN.1 in Annex H / §6.6.1. */
#include "msg_internal.h"

/* ---- NotificationMetadata: seqNumber [0] and profileManagementOperation [1] are tagged, so
 * notificationAddress stays a universal UTF8String (0C) and iccid is [APPLICATION 26] (5A). --- */

int rsp_sgp22_notification_metadata_decode(const uint8_t *p, size_t n,
                                           struct rsp_sgp22_notification_metadata *out)
{
    struct rsp_der_iter it;
    struct rsp_tlv t;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = m_open(p, n, 0xBF2F, &out->raw, &it)))
        return rc;
    if ((rc = m_req_int(&it, 0x80, &out->seq_number)) || (rc = rsp_der_req(&it, 0x81, &t)) ||
        (rc = m_get_mask(&t, &out->pmo)) || (rc = m_req_bytes(&it, 0x0C, 0, NO_MAX, &out->address)))
        return rc;
    /* Iccid is SIZE(10); shorter values are tolerated here (pySim's ES9+ client sends an 8-byte
     * one in its PIR) and reported through iccid_ok, since the field is only informative and the
     * signature covers the received bytes anyway. */
    if ((rc = m_opt_bytes(&it, 0x5A, 1, RSP_SGP22_ICCID_LEN, &out->has_iccid, &out->iccid)) < 0)
        return rc;
    out->iccid_ok = out->has_iccid && out->iccid.len == RSP_SGP22_ICCID_LEN;
    return rsp_der_finish(&it);
}

int rsp_sgp22_notification_metadata_encode(const struct rsp_sgp22_notification_metadata *in,
                                           struct rsp_buf *out)
{
    if (!m_ok(&in->address, 0, NO_MAX) ||
        (in->has_iccid && !m_ok(&in->iccid, RSP_SGP22_ICCID_LEN, RSP_SGP22_ICCID_LEN)))
        return RSP_EINVAL;
    size_t start = out->len;
    size_t m = rsp_der_begin(out, 0xBF2F);
    rsp_der_put_int(out, 0x80, in->seq_number);
    m_put_mask(out, 0x81, in->pmo);
    m_put_bytes(out, 0x0C, &in->address);
    if (in->has_iccid)
        m_put_bytes(out, 0x5A, &in->iccid);
    return m_enc_done(out, start, rsp_der_end(out, m));
}

/* ---- OtherSignedNotification: BF2F, 5F37 (tagged, so no automatic tags), 30, 30. ----------- */

int rsp_sgp22_other_signed_notification_decode(const uint8_t *p, size_t n,
                                               struct rsp_sgp22_other_signed_notification *out)
{
    struct rsp_der_iter it;
    struct rsp_tlv t;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = m_open(p, n, 0x30, &out->raw, &it)))
        return rc;
    if ((rc = rsp_der_req(&it, 0xBF2F, &t)) ||
        (rc = rsp_sgp22_notification_metadata_decode(t.raw, t.raw_len, &out->tbs)) ||
        (rc = m_req_sig(&it, &out->signature)) || (rc = m_req_cert(&it, &out->euicc_certificate)) ||
        (rc = m_req_cert(&it, &out->eum_certificate)))
        return rc;
    return rsp_der_finish(&it);
}

int rsp_sgp22_other_signed_notification_encode(const struct rsp_sgp22_other_signed_notification *in,
                                               struct rsp_buf *out)
{
    if (!m_ok_sig(&in->signature) || !m_has_raw(&in->euicc_certificate) ||
        !m_has_raw(&in->eum_certificate))
        return RSP_EINVAL;
    size_t start = out->len;
    size_t m = rsp_der_begin(out, 0x30);
    int rc = m_has_raw(&in->tbs.raw) ? m_put_raw(out, &in->tbs.raw)
                                     : rsp_sgp22_notification_metadata_encode(&in->tbs, out);
    if (rc)
        return m_enc_done(out, start, rc);
    m_put_bytes(out, 0x5F37, &in->signature);
    m_put_raw(out, &in->euicc_certificate);
    m_put_raw(out, &in->eum_certificate);
    return m_enc_done(out, start, rsp_der_end(out, m));
}

/* ---- PendingNotification: CHOICE { [55] ProfileInstallationResult (BF37),
 * OtherSignedNotification (30) } (one alternative tagged, so no automatic tags). ------------- */

int rsp_sgp22_pending_notification_decode(const uint8_t *p, size_t n,
                                          struct rsp_sgp22_pending_notification *out)
{
    struct rsp_tlv t;
    int rc;
    memset(out, 0, sizeof *out);
    if (!p && n)
        return RSP_EINVAL;
    if ((rc = rsp_der_parse_one(p, n, &t)))
        return rc;
    out->raw = t;
    if (t.tag == 0xBF37) {
        out->is_pir = true;
        return rsp_sgp22_pir_decode(p, n, &out->pir);
    }
    if (t.tag == 0x30)
        return rsp_sgp22_other_signed_notification_decode(p, n, &out->other);
    return RSP_EUNEXPECTED;
}

int rsp_sgp22_pending_notification_encode(const struct rsp_sgp22_pending_notification *in,
                                          struct rsp_buf *out)
{
    return in->is_pir ? rsp_sgp22_pir_encode(&in->pir, out)
                      : rsp_sgp22_other_signed_notification_encode(&in->other, out);
}

/* ---- CancelSessionRequest: no field tagged -> [0] transactionId, [1] reason. ---------------- */

int rsp_sgp22_cancel_session_request_decode(const uint8_t *p, size_t n,
                                            struct rsp_sgp22_cancel_session_request *out)
{
    struct rsp_der_iter it;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = m_open(p, n, 0xBF41, &out->raw, &it)))
        return rc;
    if ((rc = m_req_tid(&it, 0x80, &out->transaction_id)) ||
        (rc = m_req_int(&it, 0x81, &out->reason)))
        return rc;
    return rsp_der_finish(&it);
}

int rsp_sgp22_cancel_session_request_encode(const struct rsp_sgp22_cancel_session_request *in,
                                            struct rsp_buf *out)
{
    if (!m_ok_tid(&in->transaction_id))
        return RSP_EINVAL;
    size_t start = out->len;
    size_t m = rsp_der_begin(out, 0xBF41);
    m_put_bytes(out, 0x80, &in->transaction_id);
    rsp_der_put_int(out, 0x81, in->reason);
    return m_enc_done(out, start, rsp_der_end(out, m));
}

/* ---- EuiccCancelSessionSigned: no field tagged -> [0] transactionId, [1] smdpOid (an implicit
 * OBJECT IDENTIFIER, 81, not 06), [2] reason. ------------------------------------------------- */

int rsp_sgp22_euicc_cancel_session_signed_decode(const uint8_t *p, size_t n,
                                                 struct rsp_sgp22_euicc_cancel_session_signed *out)
{
    struct rsp_der_iter it;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = m_open(p, n, 0x30, &out->raw, &it)))
        return rc;
    if ((rc = m_req_tid(&it, 0x80, &out->transaction_id)) ||
        (rc = m_req_bytes(&it, 0x81, 1, NO_MAX, &out->smdp_oid)) ||
        (rc = m_req_int(&it, 0x82, &out->reason)))
        return rc;
    return rsp_der_finish(&it);
}

int rsp_sgp22_euicc_cancel_session_signed_encode(
    const struct rsp_sgp22_euicc_cancel_session_signed *in, struct rsp_buf *out)
{
    if (!m_ok_tid(&in->transaction_id) || !m_ok(&in->smdp_oid, 1, NO_MAX))
        return RSP_EINVAL;
    size_t start = out->len;
    size_t m = rsp_der_begin(out, 0x30);
    m_put_bytes(out, 0x80, &in->transaction_id);
    m_put_bytes(out, 0x81, &in->smdp_oid);
    rsp_der_put_int(out, 0x82, in->reason);
    return m_enc_done(out, start, rsp_der_end(out, m));
}

/* ---- CancelSessionResponse: [65] CHOICE, alternatives untagged -> [0] ok (A0 SEQUENCE) and [1]
 * error (81, implicit INTEGER). CancelSessionResponseOk has a tagged field: 30, 5F37. -------- */

int rsp_sgp22_cancel_session_response_decode(const uint8_t *p, size_t n,
                                             struct rsp_sgp22_cancel_session_response *out)
{
    struct rsp_der_iter it, c;
    struct rsp_tlv alt, t;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = m_open(p, n, 0xBF41, &out->raw, &it)))
        return rc;
    if ((rc = rsp_der_next(&it, &alt)) < 0)
        return rc;
    if (rc == 0)
        return RSP_EMISSING;
    if (alt.tag == 0xA0) {
        out->ok = true;
        rsp_der_iter_value(&c, &alt);
        if ((rc = rsp_der_req(&c, 0x30, &t)) ||
            (rc = rsp_sgp22_euicc_cancel_session_signed_decode(t.raw, t.raw_len,
                                                               &out->signed_part)) ||
            (rc = m_req_sig(&c, &out->signature)) || (rc = rsp_der_finish(&c)))
            return rc;
    } else if (alt.tag == 0x81) {
        if ((rc = rsp_der_get_int(&alt, &out->error_code)))
            return rc;
    } else {
        return RSP_EUNEXPECTED;
    }
    return rsp_der_finish_strict(&it);
}

int rsp_sgp22_cancel_session_response_encode(const struct rsp_sgp22_cancel_session_response *in,
                                             struct rsp_buf *out)
{
    size_t start = out->len;
    size_t m = rsp_der_begin(out, 0xBF41);
    if (in->ok) {
        if (!m_ok_sig(&in->signature))
            return m_enc_done(out, start, RSP_EINVAL);
        size_t a = rsp_der_begin(out, 0xA0);
        const struct rsp_sgp22_euicc_cancel_session_signed *s = &in->signed_part;
        int rc = m_has_raw(&s->raw) ? m_put_raw(out, &s->raw)
                                    : rsp_sgp22_euicc_cancel_session_signed_encode(s, out);
        if (rc)
            return m_enc_done(out, start, rc);
        m_put_bytes(out, 0x5F37, &in->signature);
        rsp_der_end(out, a);
    } else {
        rsp_der_put_int(out, 0x81, in->error_code);
    }
    return m_enc_done(out, start, rsp_der_end(out, m));
}
