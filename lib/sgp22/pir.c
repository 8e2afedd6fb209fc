/* ProfileInstallationResult (BF37) and ProfileInstallationResultData (BF27) (SGP.22 v2.2 §5.7.6,
 * §2.5.6; ASN.1 in Annex H / §6.6.1). */
#include "msg_internal.h"

/* ---- ProfileInstallationResultData: [0] transactionId, [47] notificationMetadata, smdpOid (06),
 * finalResult [2] CHOICE (explicit, A2) { SuccessResult (A0: 4F aid, 04 simaResponse) |
 * ErrorResult (A1: untagged fields -> [0] bppCommandId, [1] errorReason, [2] simaResponse) }. ---
 * smdpOid is mandatory in v2.2 but tolerated absent (pySim's newer module has it OPTIONAL). */

int rsp_sgp22_pir_data_decode(const uint8_t *p, size_t n, struct rsp_sgp22_pir_data *out)
{
    struct rsp_der_iter it, fr, c;
    struct rsp_tlv t, alt;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = m_open(p, n, 0xBF27, &out->raw, &it)))
        return rc;
    if ((rc = m_req_tid(&it, 0x80, &out->transaction_id)) || (rc = rsp_der_req(&it, 0xBF2F, &t)) ||
        (rc =
             rsp_sgp22_notification_metadata_decode(t.raw, t.raw_len, &out->notification_metadata)))
        return rc;
    if ((rc = m_opt_bytes(&it, 0x06, 1, NO_MAX, &out->has_smdp_oid, &out->smdp_oid)) < 0 ||
        (rc = rsp_der_req(&it, 0xA2, &t)))
        return rc;
    rsp_der_iter_value(&fr, &t);
    if ((rc = rsp_der_next(&fr, &alt)) < 0)
        return rc;
    if (rc == 0)
        return RSP_EMISSING;
    rsp_der_iter_value(&c, &alt);
    if (alt.tag == 0xA0) {
        out->success = true;
        out->has_sima_response = true;
        if ((rc = m_req_bytes(&c, 0x4F, 5, 16, &out->aid)) ||
            (rc = m_req_bytes(&c, 0x04, 0, NO_MAX, &out->sima_response)))
            return rc;
    } else if (alt.tag == 0xA1) {
        if ((rc = m_req_int(&c, 0x80, &out->bpp_command_id)) ||
            (rc = m_req_int(&c, 0x81, &out->error_reason)) ||
            (rc = m_opt_bytes(&c, 0x82, 0, NO_MAX, &out->has_sima_response, &out->sima_response)) <
                0)
            return rc;
    } else {
        return RSP_EUNEXPECTED;
    }
    if ((rc = rsp_der_finish(&c)) || (rc = rsp_der_finish_strict(&fr)))
        return rc;
    return rsp_der_finish(&it);
}

int rsp_sgp22_pir_data_encode(const struct rsp_sgp22_pir_data *in, struct rsp_buf *out)
{
    if (!m_ok_tid(&in->transaction_id) || (in->has_smdp_oid && !m_ok(&in->smdp_oid, 1, NO_MAX)) ||
        (in->success && (!m_ok(&in->aid, 5, 16) || !m_ok(&in->sima_response, 0, NO_MAX))) ||
        (!in->success && in->has_sima_response && !m_ok(&in->sima_response, 0, NO_MAX)))
        return RSP_EINVAL;
    size_t start = out->len;
    size_t m = rsp_der_begin(out, 0xBF27);
    m_put_bytes(out, 0x80, &in->transaction_id);
    const struct rsp_sgp22_notification_metadata *nm = &in->notification_metadata;
    int rc = m_has_raw(&nm->raw) ? m_put_raw(out, &nm->raw)
                                 : rsp_sgp22_notification_metadata_encode(nm, out);
    if (rc)
        return m_enc_done(out, start, rc);
    if (in->has_smdp_oid)
        m_put_bytes(out, 0x06, &in->smdp_oid);
    size_t fr = rsp_der_begin(out, 0xA2);
    if (in->success) {
        size_t a = rsp_der_begin(out, 0xA0);
        m_put_bytes(out, 0x4F, &in->aid);
        m_put_bytes(out, 0x04, &in->sima_response);
        rsp_der_end(out, a);
    } else {
        size_t a = rsp_der_begin(out, 0xA1);
        rsp_der_put_int(out, 0x80, in->bpp_command_id);
        rsp_der_put_int(out, 0x81, in->error_reason);
        if (in->has_sima_response)
            m_put_bytes(out, 0x82, &in->sima_response);
        rsp_der_end(out, a);
    }
    rsp_der_end(out, fr);
    return m_enc_done(out, start, rsp_der_end(out, m));
}

/* ---- ProfileInstallationResult: BF37 { BF27, 5F37 euiccSignPIR } (signature over BF27). ---- */

int rsp_sgp22_pir_decode(const uint8_t *p, size_t n, struct rsp_sgp22_pir *out)
{
    struct rsp_der_iter it;
    struct rsp_tlv t;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = m_open(p, n, 0xBF37, &out->raw, &it)))
        return rc;
    if ((rc = rsp_der_req(&it, 0xBF27, &t)) ||
        (rc = rsp_sgp22_pir_data_decode(t.raw, t.raw_len, &out->data)) ||
        (rc = m_req_sig(&it, &out->euicc_sign_pir)))
        return rc;
    return rsp_der_finish(&it);
}

int rsp_sgp22_pir_encode(const struct rsp_sgp22_pir *in, struct rsp_buf *out)
{
    if (!m_ok_sig(&in->euicc_sign_pir))
        return RSP_EINVAL;
    size_t start = out->len;
    size_t m = rsp_der_begin(out, 0xBF37);
    int rc = m_has_raw(&in->data.raw) ? m_put_raw(out, &in->data.raw)
                                      : rsp_sgp22_pir_data_encode(&in->data, out);
    if (rc)
        return m_enc_done(out, start, rc);
    m_put_bytes(out, 0x5F37, &in->euicc_sign_pir);
    return m_enc_done(out, start, rsp_der_end(out, m));
}
