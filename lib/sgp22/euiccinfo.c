/* EUICCInfo1 (BF20) and EUICCInfo2 (BF22), SGP.22 v2.2 §5.7.8 and Annex H.
 *
 * EUICCInfo2 has explicitly tagged components, so AUTOMATIC TAGS does not apply to it: ppVersion
 * and sasAcreditationNumber keep their universal tags 04 and 0C. CertificationDataObject has no
 * tagged components, so its two fields get 80 and 81. */
#include <string.h>

#include "es10_internal.h"

int rsp_euicc_info1_encode(const struct rsp_euicc_info1 *in, struct rsp_buf *out)
{
    if (!in)
        return RSP_EINVAL;
    if (in->ci_verify.n > RSP_ES10_MAX_CI_PKIDS || in->ci_sign.n > RSP_ES10_MAX_CI_PKIDS)
        return RSP_ERANGE;
    size_t m = rsp_der_begin(out, RSP_ES10_TAG_EUICC_INFO1);
    rsp_der_put(out, 0x82, in->svn, RSP_ES10_VERSION_LEN);
    rsp_es10_i_put_pkid_list(out, 0xA9, &in->ci_verify);
    rsp_es10_i_put_pkid_list(out, 0xAA, &in->ci_sign);
    return rsp_der_end(out, m);
}

int rsp_euicc_info1_decode(const uint8_t *p, size_t n, struct rsp_euicc_info1 *out)
{
    struct rsp_der_iter it;
    struct rsp_euicc_info1 r;
    int rc;
    if (!out)
        return RSP_EINVAL;
    if ((rc = rsp_es10_i_open(p, n, RSP_ES10_TAG_EUICC_INFO1, &it, NULL)) ||
        (rc = rsp_es10_i_req_version(&it, 0x82, r.svn)) ||
        (rc = rsp_es10_i_pkid_list(&it, 0xA9, &r.ci_verify)) ||
        (rc = rsp_es10_i_pkid_list(&it, 0xAA, &r.ci_sign)) || (rc = rsp_der_finish(&it)))
        return rc;
    *out = r;
    return 0;
}

int rsp_euicc_info2_encode(const struct rsp_euicc_info2 *in, struct rsp_buf *out)
{
    if (!in || !in->ext_card_resource.p || !in->uicc_capability.bits || !in->rsp_capability.bits ||
        !in->sas_accreditation.p ||
        (in->has_certification_data && (!in->platform_label.p || !in->discovery_base_url.p)))
        return RSP_EINVAL;
    if (in->ci_verify.n > RSP_ES10_MAX_CI_PKIDS || in->ci_sign.n > RSP_ES10_MAX_CI_PKIDS ||
        in->sas_accreditation.len > RSP_ES10_SAS_MAX ||
        (in->has_euicc_category && in->euicc_category < 0))
        return RSP_ERANGE;
    size_t m = rsp_der_begin(out, RSP_ES10_TAG_EUICC_INFO2);
    rsp_der_put(out, 0x81, in->profile_version, RSP_ES10_VERSION_LEN);
    rsp_der_put(out, 0x82, in->svn, RSP_ES10_VERSION_LEN);
    rsp_der_put(out, 0x83, in->firmware_version, RSP_ES10_VERSION_LEN);
    rsp_es10_i_put_bin(out, 0x84, &in->ext_card_resource);
    rsp_es10_i_put_bits(out, 0x85, &in->uicc_capability);
    if (in->has_ts102241_version)
        rsp_der_put(out, 0x86, in->ts102241_version, RSP_ES10_VERSION_LEN);
    if (in->has_gp_version)
        rsp_der_put(out, 0x87, in->gp_version, RSP_ES10_VERSION_LEN);
    rsp_es10_i_put_bits(out, 0x88, &in->rsp_capability);
    rsp_es10_i_put_pkid_list(out, 0xA9, &in->ci_verify);
    rsp_es10_i_put_pkid_list(out, 0xAA, &in->ci_sign);
    if (in->has_euicc_category)
        rsp_der_put_int(out, 0x8B, in->euicc_category);
    rsp_es10_i_put_bits(out, 0x99, &in->forbidden_pprs);
    rsp_der_put(out, 0x04, in->pp_version, RSP_ES10_VERSION_LEN);
    rsp_es10_i_put_bin(out, 0x0C, &in->sas_accreditation);
    if (in->has_certification_data) {
        size_t mc = rsp_der_begin(out, 0xAC);
        rsp_es10_i_put_bin(out, 0x80, &in->platform_label);
        rsp_es10_i_put_bin(out, 0x81, &in->discovery_base_url);
        rsp_der_end(out, mc);
    }
    return rsp_der_end(out, m);
}

static int info2_body(struct rsp_der_iter *it, struct rsp_euicc_info2 *r)
{
    struct rsp_tlv t;
    int rc;
    memset(r, 0, sizeof *r);
    if ((rc = rsp_es10_i_req_version(it, 0x81, r->profile_version)) ||
        (rc = rsp_es10_i_req_version(it, 0x82, r->svn)) ||
        (rc = rsp_es10_i_req_version(it, 0x83, r->firmware_version)) ||
        (rc = rsp_es10_i_req_bin(it, 0x84, 0, SIZE_MAX, &r->ext_card_resource)) ||
        (rc = rsp_es10_i_req_bits(it, 0x85, &r->uicc_capability)))
        return rc;
    if ((rc = rsp_der_opt(it, 0x86, &t)) < 0)
        return rc;
    if ((r->has_ts102241_version = rc == 1)) {
        if (t.len != RSP_ES10_VERSION_LEN)
            return RSP_ERANGE;
        memcpy(r->ts102241_version, t.val, RSP_ES10_VERSION_LEN);
    }
    if ((rc = rsp_der_opt(it, 0x87, &t)) < 0)
        return rc;
    if ((r->has_gp_version = rc == 1)) {
        if (t.len != RSP_ES10_VERSION_LEN)
            return RSP_ERANGE;
        memcpy(r->gp_version, t.val, RSP_ES10_VERSION_LEN);
    }
    if ((rc = rsp_es10_i_req_bits(it, 0x88, &r->rsp_capability)) ||
        (rc = rsp_es10_i_pkid_list(it, 0xA9, &r->ci_verify)) ||
        (rc = rsp_es10_i_pkid_list(it, 0xAA, &r->ci_sign)) ||
        (rc = rsp_es10_i_opt_int(it, 0x8B, &r->has_euicc_category, &r->euicc_category)) ||
        (rc = rsp_es10_i_opt_bits(it, 0x99, &r->forbidden_pprs)) ||
        (rc = rsp_es10_i_req_version(it, 0x04, r->pp_version)) ||
        (rc = rsp_es10_i_req_bin(it, 0x0C, 0, RSP_ES10_SAS_MAX, &r->sas_accreditation)))
        return rc;
    if ((rc = rsp_der_opt(it, 0xAC, &t)) < 0)
        return rc;
    if ((r->has_certification_data = rc == 1)) {
        struct rsp_der_iter c;
        rsp_der_iter_value(&c, &t);
        if ((rc = rsp_es10_i_req_bin(&c, 0x80, 0, SIZE_MAX, &r->platform_label)) ||
            (rc = rsp_es10_i_req_bin(&c, 0x81, 0, SIZE_MAX, &r->discovery_base_url)) ||
            (rc = rsp_der_finish(&c)))
            return rc;
    }
    return rsp_der_finish(it);
}

int rsp_euicc_info2_decode_tlv(const struct rsp_tlv *t, struct rsp_euicc_info2 *out)
{
    struct rsp_der_iter it;
    struct rsp_euicc_info2 r;
    if (!t || !out)
        return RSP_EINVAL;
    if (t->tag != RSP_ES10_TAG_EUICC_INFO2)
        return RSP_EUNEXPECTED;
    rsp_der_iter_value(&it, t);
    int rc = info2_body(&it, &r);
    if (rc == 0)
        *out = r;
    return rc;
}

int rsp_euicc_info2_decode(const uint8_t *p, size_t n, struct rsp_euicc_info2 *out)
{
    struct rsp_tlv t;
    if (!p && n)
        return RSP_EINVAL;
    int rc = rsp_der_parse_tag(p, n, RSP_ES10_TAG_EUICC_INFO2, &t);
    return rc ? rc : rsp_euicc_info2_decode_tlv(&t, out);
}
