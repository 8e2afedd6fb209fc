/* ES10c.GetProfilesInfo (SGP.22 v2.2 §5.7.15, Annex H): ProfileInfoListRequest (BF2D),
 * ProfileInfo (E3) and ProfileInfoListResponse (BF2D { A0 { E3* } } | BF2D { 81 error }). */
#include <string.h>

#include "es10_internal.h"

/* --- request ---------------------------------------------------------------------------------- */

int rsp_profile_info_list_req_encode(const struct rsp_profile_info_list_req *in,
                                     struct rsp_buf *out)
{
    if (!in)
        return RSP_EINVAL;
    size_t m = rsp_der_begin(out, RSP_ES10_TAG_PROFILE_INFO_LIST);
    if (in->search != RSP_ES10_SEARCH_NONE) {
        size_t m2 = rsp_der_begin(out, 0xA0); /* searchCriteria [0] CHOICE: explicit */
        switch (in->search) {
        case RSP_ES10_SEARCH_AID:
            if (!in->aid.p || in->aid.len < 1 || in->aid.len > 16)
                return RSP_EINVAL;
            rsp_der_put(out, 0x4F, in->aid.p, in->aid.len);
            break;
        case RSP_ES10_SEARCH_ICCID:
            rsp_der_put(out, 0x5A, in->iccid.b, RSP_ICCID_LEN);
            break;
        case RSP_ES10_SEARCH_CLASS:
            if (in->profile_class < 0)
                return RSP_EINVAL;
            rsp_der_put_int(out, 0x95, in->profile_class);
            break;
        default:
            return RSP_EINVAL;
        }
        rsp_der_end(out, m2);
    }
    rsp_es10_i_put_bin(out, 0x5C, &in->tag_list);
    return rsp_der_end(out, m);
}

int rsp_profile_info_list_req_decode(const uint8_t *p, size_t n,
                                     struct rsp_profile_info_list_req *out)
{
    struct rsp_der_iter it, in;
    struct rsp_tlv a0, t;
    struct rsp_profile_info_list_req r;
    int rc;
    if (!out)
        return RSP_EINVAL;
    memset(&r, 0, sizeof r);
    if ((rc = rsp_es10_i_open(p, n, RSP_ES10_TAG_PROFILE_INFO_LIST, &it, NULL)) ||
        (rc = rsp_der_opt(&it, 0xA0, &a0)) < 0)
        return rc;
    if (rc == 1) {
        rsp_der_iter_value(&in, &a0);
        if ((rc = rsp_der_next(&in, &t)) < 0)
            return rc;
        if (rc == 0)
            return RSP_EMISSING;
        switch (t.tag) {
        case 0x4F:
            r.search = RSP_ES10_SEARCH_AID;
            rc = rsp_es10_i_bin(&t, 1, 16, &r.aid);
            break;
        case 0x5A:
            r.search = RSP_ES10_SEARCH_ICCID;
            rc = rsp_es10_i_iccid(&t, &r.iccid);
            break;
        case 0x95:
            r.search = RSP_ES10_SEARCH_CLASS;
            rc = rsp_es10_i_int(&t, &r.profile_class);
            break;
        default:
            rc = RSP_EUNEXPECTED;
        }
        if (rc || (rc = rsp_der_finish_strict(&in)))
            return rc;
    }
    if ((rc = rsp_es10_i_opt_bin(&it, 0x5C, 0, 64, &r.tag_list)) || (rc = rsp_der_finish(&it)))
        return rc;
    *out = r;
    return 0;
}

/* --- ProfileInfo (E3) ------------------------------------------------------------------------- */

int rsp_profile_info_encode(const struct rsp_profile_info *in, struct rsp_buf *out)
{
    if (!in)
        return RSP_EINVAL;
    if ((in->isdp_aid.p && (in->isdp_aid.len < 1 || in->isdp_aid.len > 16)) ||
        in->nickname.len > RSP_ES10_NICKNAME_MAX || in->spn.len > RSP_ES10_SPN_MAX ||
        in->name.len > RSP_ES10_PROFILE_NAME_MAX || in->icon.len > RSP_ES10_ICON_MAX ||
        in->n_notif_config > RSP_ES10_MAX_NOTIF_CONFIG ||
        (in->dp_proprietary.p && in->dp_proprietary.len + 2 > RSP_ES10_DP_PROPRIETARY_MAX) ||
        (in->has_state && in->state < 0) || (in->has_icon_type && in->icon_type < 0) ||
        (in->has_profile_class && in->profile_class < 0))
        return RSP_ERANGE;
    if (in->has_owner && !in->owner.mcc_mnc.p)
        return RSP_EINVAL;
    /* Annex H SEQUENCE order (addendum §6.2). */
    size_t m = rsp_der_begin(out, RSP_ES10_TAG_PROFILE_INFO);
    if (in->has_iccid)
        rsp_der_put(out, 0x5A, in->iccid.b, RSP_ICCID_LEN);
    rsp_es10_i_put_bin(out, 0x4F, &in->isdp_aid);
    if (in->has_state)
        rsp_der_put_int(out, 0x9F70, in->state);
    rsp_es10_i_put_bin(out, 0x90, &in->nickname);
    rsp_es10_i_put_bin(out, 0x91, &in->spn);
    rsp_es10_i_put_bin(out, 0x92, &in->name);
    if (in->has_icon_type)
        rsp_der_put_int(out, 0x93, in->icon_type);
    rsp_es10_i_put_bin(out, 0x94, &in->icon);
    if (in->has_profile_class)
        rsp_der_put_int(out, 0x95, in->profile_class);
    if (in->has_notif_config) {
        size_t mb = rsp_der_begin(out, 0xB6);
        for (size_t i = 0; i < in->n_notif_config; i++) {
            size_t ms = rsp_der_begin(out, 0x30);
            rsp_es10_i_put_bits(out, 0x80, &in->notif_config[i].events);
            rsp_es10_i_put_bin(out, 0x81, &in->notif_config[i].address);
            rsp_der_end(out, ms);
        }
        rsp_der_end(out, mb);
    }
    if (in->has_owner)
        rsp_es10_i_put_operator_id(out, 0xB7, &in->owner);
    rsp_es10_i_put_bin(out, 0xB8, &in->dp_proprietary);
    rsp_es10_i_put_bits(out, 0x99, &in->ppr);
    return rsp_der_end(out, m);
}

static int notif_config_decode(const struct rsp_tlv *b6, struct rsp_profile_info *r)
{
    struct rsp_der_iter it, in;
    struct rsp_tlv e;
    int rc;
    r->n_notif_config = 0;
    rsp_der_iter_value(&it, b6);
    while ((rc = rsp_der_next(&it, &e)) == 1) {
        if (e.tag != 0x30)
            return RSP_EUNEXPECTED;
        if (r->n_notif_config == RSP_ES10_MAX_NOTIF_CONFIG)
            return RSP_ERANGE;
        struct rsp_es10_notif_config *c = &r->notif_config[r->n_notif_config++];
        rsp_der_iter_value(&in, &e);
        if ((rc = rsp_es10_i_req_bits(&in, 0x80, &c->events)) ||
            (rc = rsp_es10_i_req_bin(&in, 0x81, 0, 255, &c->address)) || (rc = rsp_der_finish(&in)))
            return rc;
    }
    return rc;
}

static int dp_proprietary_decode(const struct rsp_tlv *b8, struct rsp_profile_info *r)
{
    struct rsp_der_iter it;
    /* "maximum size including tag and length field: 128 bytes" (Annex H). */
    if (b8->raw_len > RSP_ES10_DP_PROPRIETARY_MAX)
        return RSP_ERANGE;
    r->dp_proprietary.p = b8->val;
    r->dp_proprietary.len = b8->len;
    rsp_der_iter_value(&it, b8);
    int rc = rsp_es10_i_req_bin(&it, 0x80, 1, SIZE_MAX, &r->dp_oid);
    return rc ? rc : rsp_der_finish(&it);
}

static int profile_info_body(const struct rsp_tlv *e3, struct rsp_profile_info *r)
{
    struct rsp_der_iter it;
    struct rsp_tlv t;
    int rc;
    memset(r, 0, sizeof *r);
    rsp_der_iter_value(&it, e3);
    if ((rc = rsp_der_opt(&it, 0x5A, &t)) < 0)
        return rc;
    if ((r->has_iccid = rc == 1) && (rc = rsp_es10_i_iccid(&t, &r->iccid)))
        return rc;
    if ((rc = rsp_es10_i_opt_bin(&it, 0x4F, 1, 16, &r->isdp_aid)) ||
        (rc = rsp_es10_i_opt_int(&it, 0x9F70, &r->has_state, &r->state)) ||
        (rc = rsp_es10_i_opt_bin(&it, 0x90, 0, RSP_ES10_NICKNAME_MAX, &r->nickname)) ||
        (rc = rsp_es10_i_opt_bin(&it, 0x91, 0, RSP_ES10_SPN_MAX, &r->spn)) ||
        (rc = rsp_es10_i_opt_bin(&it, 0x92, 0, RSP_ES10_PROFILE_NAME_MAX, &r->name)) ||
        (rc = rsp_es10_i_opt_int(&it, 0x93, &r->has_icon_type, &r->icon_type)) ||
        (rc = rsp_es10_i_opt_bin(&it, 0x94, 0, RSP_ES10_ICON_MAX, &r->icon)) ||
        (rc = rsp_es10_i_opt_int(&it, 0x95, &r->has_profile_class, &r->profile_class)))
        return rc;
    if ((rc = rsp_der_opt(&it, 0xB6, &t)) < 0)
        return rc;
    if ((r->has_notif_config = rc == 1) && (rc = notif_config_decode(&t, r)))
        return rc;
    if ((rc = rsp_der_opt(&it, 0xB7, &t)) < 0)
        return rc;
    if ((r->has_owner = rc == 1) && (rc = rsp_es10_i_operator_id(&t, &r->owner)))
        return rc;
    if ((rc = rsp_der_opt(&it, 0xB8, &t)) < 0)
        return rc;
    if (rc == 1 && (rc = dp_proprietary_decode(&t, r)))
        return rc;
    if ((rc = rsp_es10_i_opt_bits(&it, 0x99, &r->ppr)))
        return rc;
    return rsp_der_finish(&it);
}

int rsp_profile_info_decode(const uint8_t *p, size_t n, struct rsp_profile_info *out)
{
    struct rsp_tlv t;
    struct rsp_profile_info r;
    if (!out || (!p && n))
        return RSP_EINVAL;
    int rc = rsp_der_parse_tag(p, n, RSP_ES10_TAG_PROFILE_INFO, &t);
    if (rc || (rc = profile_info_body(&t, &r)))
        return rc;
    *out = r;
    return 0;
}

/* --- response --------------------------------------------------------------------------------- */

int rsp_profile_info_list_encode(const struct rsp_profile_info_list *in, struct rsp_buf *out)
{
    if (!in)
        return RSP_EINVAL;
    size_t m = rsp_der_begin(out, RSP_ES10_TAG_PROFILE_INFO_LIST);
    if (in->is_error) {
        if (in->error < 0)
            return RSP_EINVAL;
        rsp_der_put_int(out, 0x81, in->error); /* profileInfoListError [1] */
        return rsp_der_end(out, m);
    }
    if (in->n > RSP_ES10_MAX_PROFILES)
        return RSP_ERANGE;
    size_t m2 = rsp_der_begin(out, 0xA0); /* profileInfoListOk [0] */
    for (size_t i = 0; i < in->n; i++) {
        int rc = rsp_profile_info_encode(&in->profiles[i], out);
        if (rc)
            return rc;
    }
    rsp_der_end(out, m2);
    return rsp_der_end(out, m);
}

int rsp_profile_info_list_decode(const uint8_t *p, size_t n, struct rsp_profile_info_list *out)
{
    struct rsp_der_iter it, in;
    struct rsp_tlv t, e;
    int rc;
    if (!out)
        return RSP_EINVAL;
    if ((rc = rsp_es10_i_open(p, n, RSP_ES10_TAG_PROFILE_INFO_LIST, &it, NULL)) ||
        (rc = rsp_der_next(&it, &t)) < 0)
        return rc;
    if (rc == 0)
        return RSP_EMISSING;
    if ((rc = rsp_der_finish_strict(&it))) /* a CHOICE: exactly one alternative */
        return rc;
    if (t.tag == 0x81) {
        int v;
        if ((rc = rsp_es10_i_int(&t, &v)))
            return rc;
        out->is_error = true;
        out->error = v;
        out->n = 0;
        return 0;
    }
    if (t.tag != 0xA0)
        return RSP_EUNEXPECTED;
    /* Validate everything before touching `out` (one ProfileInfo of scratch space). */
    struct rsp_profile_info scratch;
    size_t cnt = 0;
    rsp_der_iter_value(&in, &t);
    while ((rc = rsp_der_next(&in, &e)) == 1) {
        if (e.tag != RSP_ES10_TAG_PROFILE_INFO)
            return RSP_EUNEXPECTED;
        if (++cnt > RSP_ES10_MAX_PROFILES)
            return RSP_ERANGE;
        if ((rc = profile_info_body(&e, &scratch)))
            return rc;
    }
    if (rc)
        return rc;
    out->is_error = false;
    out->error = 0;
    out->n = 0;
    rsp_der_iter_value(&in, &t);
    while (rsp_der_next(&in, &e) == 1)
        (void)profile_info_body(&e, &out->profiles[out->n++]);
    return 0;
}
