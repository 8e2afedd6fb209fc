/* Common mutual authentication messages: ServerSigned1, CtxParams1, EuiccSigned1,
 * AuthenticateServerRequest and AuthenticateServerResponse (SGP.22 v2.2 §5.7.13, §5.6.1, §5.6.3;
 * ASN.1 in Annex H / §6.6.1). */
#include "msg_internal.h"

/* ---- ServerSigned1 (§5.7.13): all fields explicitly tagged [0] [1] [3] [4], no [2] ---------- */

int rsp_sgp22_server_signed1_decode(const uint8_t *p, size_t n,
                                    struct rsp_sgp22_server_signed1 *out)
{
    struct rsp_der_iter it;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = m_open(p, n, 0x30, &out->raw, &it)))
        return rc;
    if ((rc = m_req_tid(&it, 0x80, &out->transaction_id)) ||
        (rc = m_req_bytes(&it, 0x81, RSP_SGP22_CHALLENGE_LEN, RSP_SGP22_CHALLENGE_LEN,
                          &out->euicc_challenge)) ||
        (rc = m_req_bytes(&it, 0x83, 0, NO_MAX, &out->server_address)) ||
        (rc = m_req_bytes(&it, 0x84, RSP_SGP22_CHALLENGE_LEN, RSP_SGP22_CHALLENGE_LEN,
                          &out->server_challenge)))
        return rc;
    return rsp_der_finish(&it);
}

int rsp_sgp22_server_signed1_encode(const struct rsp_sgp22_server_signed1 *in, struct rsp_buf *out)
{
    if (!m_ok_tid(&in->transaction_id) ||
        !m_ok(&in->euicc_challenge, RSP_SGP22_CHALLENGE_LEN, RSP_SGP22_CHALLENGE_LEN) ||
        !m_ok(&in->server_address, 0, NO_MAX) ||
        !m_ok(&in->server_challenge, RSP_SGP22_CHALLENGE_LEN, RSP_SGP22_CHALLENGE_LEN))
        return RSP_EINVAL;
    size_t start = out->len;
    size_t m = rsp_der_begin(out, 0x30);
    m_put_bytes(out, 0x80, &in->transaction_id);
    m_put_bytes(out, 0x81, &in->euicc_challenge);
    m_put_bytes(out, 0x83, &in->server_address);
    m_put_bytes(out, 0x84, &in->server_challenge);
    return m_enc_done(out, start, rsp_der_end(out, m));
}

/* Nested signed part: verbatim when raw is set, else from the fields. */
static int put_server_signed1(struct rsp_buf *out, const struct rsp_sgp22_server_signed1 *s)
{
    return m_has_raw(&s->raw) ? m_put_raw(out, &s->raw) : rsp_sgp22_server_signed1_encode(s, out);
}

/* ---- DeviceInfo / DeviceCapabilities (Annex H): no field tagged, so AUTOMATIC TAGS gives
 * [0] [1] [2]...; DeviceCapabilities keeps every element (extensible). ------------------------- */

const uint8_t *rsp_sgp22_devcap_get(const struct rsp_sgp22_device_capabilities *caps,
                                    unsigned index)
{
    if (index > 30)
        return NULL;
    for (size_t i = 0; i < caps->n; i++)
        if (caps->cap[i].tag == 0x80u + index && caps->cap[i].value.len == 3)
            return caps->cap[i].value.p;
    return NULL;
}

static int devcaps_decode(const struct rsp_tlv *t, struct rsp_sgp22_device_capabilities *caps)
{
    struct rsp_der_iter it;
    struct rsp_tlv e;
    int rc;
    rsp_der_iter_value(&it, t);
    caps->n = 0;
    while ((rc = rsp_der_next(&it, &e)) == 1) {
        if (caps->n == RSP_SGP22_DEVCAP_MAX)
            return RSP_ERANGE;
        /* The v2.2 fields [0]..[7] are VersionType (3 bytes). */
        if (e.tag >= 0x80 && e.tag <= 0x87 && e.len != 3)
            return RSP_ERANGE;
        caps->cap[caps->n].tag = e.tag;
        caps->cap[caps->n].value.p = e.val;
        caps->cap[caps->n].value.len = e.len;
        caps->n++;
    }
    return rc;
}

static int devcaps_encode(struct rsp_buf *out, const struct rsp_sgp22_device_capabilities *caps)
{
    if (caps->n > RSP_SGP22_DEVCAP_MAX)
        return RSP_EINVAL;
    size_t m = rsp_der_begin(out, 0xA1);
    for (size_t i = 0; i < caps->n; i++) {
        const struct rsp_sgp22_device_capability *c = &caps->cap[i];
        if (!m_ok(&c->value, 0, NO_MAX) || rsp_tag_constructed(c->tag) ||
            (c->tag >= 0x80 && c->tag <= 0x87 && c->value.len != 3))
            return RSP_EINVAL;
        m_put_bytes(out, c->tag, &c->value);
    }
    return rsp_der_end(out, m);
}

/* ---- CtxParams1 (§5.7.13): CHOICE whose only v2.2 alternative, ctxParamsForCommonAuthentication,
 * gets [0] by AUTOMATIC TAGS; inside it matchingId [0], deviceInfo [1]. --------------------------
 */

int rsp_sgp22_ctx_params1_decode(const uint8_t *p, size_t n, struct rsp_sgp22_ctx_params1 *out)
{
    struct rsp_der_iter it, di;
    struct rsp_tlv dev, caps;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = m_open(p, n, 0xA0, &out->raw, &it)))
        return rc;
    if ((rc = m_opt_bytes(&it, 0x80, 0, NO_MAX, &out->has_matching_id, &out->matching_id)) < 0 ||
        (rc = rsp_der_req(&it, 0xA1, &dev)))
        return rc;
    rsp_der_iter_value(&di, &dev);
    /* tac is Octet4; pySim's module declares Octet8, so 8 is tolerated (sgp22-notes §3.1). */
    if ((rc = m_req_bytes(&di, 0x80, 4, 8, &out->tac)))
        return rc;
    if (out->tac.len != 4 && out->tac.len != 8)
        return RSP_ERANGE;
    if ((rc = rsp_der_req(&di, 0xA1, &caps)) || (rc = devcaps_decode(&caps, &out->caps)) ||
        (rc = m_opt_bytes(&di, 0x82, 8, 8, &out->has_imei, &out->imei)) < 0 ||
        (rc = rsp_der_finish(&di)))
        return rc;
    return rsp_der_finish(&it);
}

int rsp_sgp22_ctx_params1_encode(const struct rsp_sgp22_ctx_params1 *in, struct rsp_buf *out)
{
    if ((in->has_matching_id && !m_ok(&in->matching_id, 0, NO_MAX)) ||
        !(m_ok(&in->tac, 4, 4) || m_ok(&in->tac, 8, 8)) || (in->has_imei && !m_ok(&in->imei, 8, 8)))
        return RSP_EINVAL;
    size_t start = out->len;
    size_t m = rsp_der_begin(out, 0xA0);
    if (in->has_matching_id)
        m_put_bytes(out, 0x80, &in->matching_id);
    size_t md = rsp_der_begin(out, 0xA1);
    m_put_bytes(out, 0x80, &in->tac);
    int rc = devcaps_encode(out, &in->caps);
    if (rc)
        return m_enc_done(out, start, rc);
    if (in->has_imei)
        m_put_bytes(out, 0x82, &in->imei);
    rsp_der_end(out, md);
    return m_enc_done(out, start, rsp_der_end(out, m));
}

static int put_ctx_params1(struct rsp_buf *out, const struct rsp_sgp22_ctx_params1 *c)
{
    return m_has_raw(&c->raw) ? m_put_raw(out, &c->raw) : rsp_sgp22_ctx_params1_encode(c, out);
}

/* ---- EuiccSigned1 (§5.7.13): [0] [3] [4] [34] tagged, ctxParams1 untagged CHOICE (A0). ------ */

int rsp_sgp22_euicc_signed1_decode(const uint8_t *p, size_t n, struct rsp_sgp22_euicc_signed1 *out)
{
    struct rsp_der_iter it;
    struct rsp_tlv ctx;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = m_open(p, n, 0x30, &out->raw, &it)))
        return rc;
    if ((rc = m_req_tid(&it, 0x80, &out->transaction_id)) ||
        (rc = m_req_bytes(&it, 0x83, 0, NO_MAX, &out->server_address)) ||
        (rc = m_req_bytes(&it, 0x84, RSP_SGP22_CHALLENGE_LEN, RSP_SGP22_CHALLENGE_LEN,
                          &out->server_challenge)) ||
        (rc = rsp_der_req(&it, 0xBF22, &out->euicc_info2)) || (rc = rsp_der_req(&it, 0xA0, &ctx)) ||
        (rc = rsp_sgp22_ctx_params1_decode(ctx.raw, ctx.raw_len, &out->ctx_params1)))
        return rc;
    return rsp_der_finish(&it);
}

int rsp_sgp22_euicc_signed1_encode(const struct rsp_sgp22_euicc_signed1 *in, struct rsp_buf *out)
{
    if (!m_ok_tid(&in->transaction_id) || !m_ok(&in->server_address, 0, NO_MAX) ||
        !m_ok(&in->server_challenge, RSP_SGP22_CHALLENGE_LEN, RSP_SGP22_CHALLENGE_LEN) ||
        !m_has_raw(&in->euicc_info2) || in->euicc_info2.tag != 0xBF22)
        return RSP_EINVAL;
    size_t start = out->len;
    size_t m = rsp_der_begin(out, 0x30);
    m_put_bytes(out, 0x80, &in->transaction_id);
    m_put_bytes(out, 0x83, &in->server_address);
    m_put_bytes(out, 0x84, &in->server_challenge);
    m_put_raw(out, &in->euicc_info2);
    int rc = put_ctx_params1(out, &in->ctx_params1);
    if (rc)
        return m_enc_done(out, start, rc);
    return m_enc_done(out, start, rsp_der_end(out, m));
}

/* ---- AuthenticateServerRequest (§5.7.13): serverSignature1 is tagged, so no automatic tags. -- */

int rsp_sgp22_authenticate_server_request_decode(const uint8_t *p, size_t n,
                                                 struct rsp_sgp22_authenticate_server_request *out)
{
    struct rsp_der_iter it;
    struct rsp_tlv t;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = m_open(p, n, 0xBF38, &out->raw, &it)))
        return rc;
    if ((rc = rsp_der_req(&it, 0x30, &t)) ||
        (rc = rsp_sgp22_server_signed1_decode(t.raw, t.raw_len, &out->server_signed1)) ||
        (rc = m_req_sig(&it, &out->server_signature1)) ||
        (rc = m_req_bytes(&it, 0x04, 1, NO_MAX, &out->euicc_ci_pkid_to_be_used)) ||
        (rc = m_req_cert(&it, &out->server_certificate)) || (rc = rsp_der_req(&it, 0xA0, &t)) ||
        (rc = rsp_sgp22_ctx_params1_decode(t.raw, t.raw_len, &out->ctx_params1)))
        return rc;
    return rsp_der_finish(&it);
}

int rsp_sgp22_authenticate_server_request_encode(
    const struct rsp_sgp22_authenticate_server_request *in, struct rsp_buf *out)
{
    if (!m_ok_sig(&in->server_signature1) || !m_ok(&in->euicc_ci_pkid_to_be_used, 1, NO_MAX) ||
        !m_has_raw(&in->server_certificate))
        return RSP_EINVAL;
    size_t start = out->len;
    size_t m = rsp_der_begin(out, 0xBF38);
    int rc = put_server_signed1(out, &in->server_signed1);
    if (rc)
        return m_enc_done(out, start, rc);
    m_put_bytes(out, 0x5F37, &in->server_signature1);
    m_put_bytes(out, 0x04, &in->euicc_ci_pkid_to_be_used);
    m_put_raw(out, &in->server_certificate);
    if ((rc = put_ctx_params1(out, &in->ctx_params1)))
        return m_enc_done(out, start, rc);
    return m_enc_done(out, start, rsp_der_end(out, m));
}

/* ---- AuthenticateServerResponse (§5.7.13): [56] CHOICE, alternatives [0] ok / [1] error by
 * AUTOMATIC TAGS; AuthenticateResponseError has [0] transactionId then a universal INTEGER. ---- */

int rsp_sgp22_authenticate_server_response_decode(
    const uint8_t *p, size_t n, struct rsp_sgp22_authenticate_server_response *out)
{
    struct rsp_der_iter it, c;
    struct rsp_tlv alt, t;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = m_open(p, n, 0xBF38, &out->raw, &it)))
        return rc;
    if ((rc = rsp_der_next(&it, &alt)) < 0)
        return rc;
    if (rc == 0)
        return RSP_EMISSING;
    rsp_der_iter_value(&c, &alt);
    if (alt.tag == 0xA0) {
        out->ok = true;
        if ((rc = rsp_der_req(&c, 0x30, &t)) ||
            (rc = rsp_sgp22_euicc_signed1_decode(t.raw, t.raw_len, &out->euicc_signed1)) ||
            (rc = m_req_sig(&c, &out->euicc_signature1)) ||
            (rc = m_req_cert(&c, &out->euicc_certificate)) ||
            (rc = m_req_cert(&c, &out->eum_certificate)))
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
    /* A CHOICE holds exactly one alternative. */
    return rsp_der_finish_strict(&it);
}

int rsp_sgp22_authenticate_server_response_encode(
    const struct rsp_sgp22_authenticate_server_response *in, struct rsp_buf *out)
{
    size_t start = out->len;
    int rc = 0;
    size_t m = rsp_der_begin(out, 0xBF38);
    if (in->ok) {
        if (!m_ok_sig(&in->euicc_signature1) || !m_has_raw(&in->euicc_certificate) ||
            !m_has_raw(&in->eum_certificate))
            return m_enc_done(out, start, RSP_EINVAL);
        size_t a = rsp_der_begin(out, 0xA0);
        rc = m_has_raw(&in->euicc_signed1.raw)
                 ? m_put_raw(out, &in->euicc_signed1.raw)
                 : rsp_sgp22_euicc_signed1_encode(&in->euicc_signed1, out);
        if (rc)
            return m_enc_done(out, start, rc);
        m_put_bytes(out, 0x5F37, &in->euicc_signature1);
        m_put_raw(out, &in->euicc_certificate);
        m_put_raw(out, &in->eum_certificate);
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
