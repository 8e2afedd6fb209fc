/* ES10c (local profile management, SGP.22 §5.7.15-§5.7.21): profiles, EID, memory reset,
 * nickname. Every change is saved before the response is produced; a refused request changes
 * nothing. */
#include <stdlib.h>
#include <string.h>

#include "euicc_int.h"
#include "rsp/err.h"

/* ---- GetProfilesInfo (§5.7.15, addendum §6) ----------------------------------------------------
 */

static int profile_class_of(const struct rsp_sgp22_store_metadata_request *md)
{
    return md->has_profile_class ? (int)md->profile_class : RSP_PROFILE_CLASS_OPERATIONAL;
}

static bool wanted(const struct rsp_es10_bin *tl, rsp_tag tag, bool in_default_set)
{
    return tl->p ? rsp_es10_taglist_has(tl, tag) : in_default_set;
}

/* Bytes a ProfileInfo points to that exist in no other place. */
struct info_scratch {
    uint8_t dp[128];                            /* B8 value: 80 dpOid */
    uint8_t nc_bits[RSP_ES10_MAX_NOTIF_CONFIG]; /* NotificationEvent bits per B6 entry */
    uint8_t ppr;                                /* 99 bits */
};

/* Fills one ProfileInfo from profile p and its decoded metadata; pointers go into p, md and sc. */
static void fill_info(const struct euicc_profile *p,
                      const struct rsp_sgp22_store_metadata_request *md,
                      const struct rsp_es10_bin *tl, struct info_scratch *sc,
                      struct rsp_profile_info *pi)
{
    uint8_t *dp = sc->dp;
    memset(pi, 0, sizeof *pi);
    if (wanted(tl, 0x5A, true)) {
        pi->has_iccid = true;
        pi->iccid = p->iccid;
    }
    if (wanted(tl, 0x4F, true)) {
        pi->isdp_aid.p = p->aid;
        pi->isdp_aid.len = sizeof p->aid;
    }
    if (wanted(tl, 0x9F70, true)) {
        pi->has_state = true;
        pi->state = p->state;
    }
    if (p->has_nickname && wanted(tl, 0x90, true)) {
        pi->nickname.p = p->nickname;
        pi->nickname.len = p->nickname_len;
    }
    if (wanted(tl, 0x91, true)) {
        pi->spn.p = md->service_provider_name.p;
        pi->spn.len = md->service_provider_name.len;
    }
    if (wanted(tl, 0x92, true)) {
        pi->name.p = md->profile_name.p;
        pi->name.len = md->profile_name.len;
    }
    if (md->has_icon_type && wanted(tl, 0x93, true)) {
        pi->has_icon_type = true;
        pi->icon_type = (int)md->icon_type;
    }
    if (md->has_icon && wanted(tl, 0x94, true)) {
        pi->icon.p = md->icon.p;
        pi->icon.len = md->icon.len;
    }
    if (wanted(tl, 0x95, true)) {
        pi->has_profile_class = true;
        pi->profile_class = profile_class_of(md);
    }
    if (md->has_notification_config && wanted(tl, 0xB6, false)) {
        pi->has_notif_config = true;
        /* the BIT STRING is re-derived from the event mask (bit n of the mask = named bit n) */
        for (size_t i = 0; i < md->n_notification_config && i < RSP_ES10_MAX_NOTIF_CONFIG; i++) {
            uint32_t ev = md->notification_config[i].events;
            sc->nc_bits[i] = 0;
            for (unsigned b = 0; b < 4; b++)
                if (ev & (1u << b))
                    sc->nc_bits[i] |= (uint8_t)(0x80u >> b);
            pi->notif_config[i].events.bits = &sc->nc_bits[i];
            pi->notif_config[i].events.nbits = 4;
            pi->notif_config[i].address.p = md->notification_config[i].address.p;
            pi->notif_config[i].address.len = md->notification_config[i].address.len;
            pi->n_notif_config++;
        }
    }
    if (md->has_profile_owner && wanted(tl, 0xB7, false)) {
        pi->has_owner = true;
        pi->owner.mcc_mnc.p = md->profile_owner.mcc_mnc.p;
        pi->owner.mcc_mnc.len = md->profile_owner.mcc_mnc.len;
        if (md->profile_owner.has_gid1) {
            pi->owner.gid1.p = md->profile_owner.gid1.p;
            pi->owner.gid1.len = md->profile_owner.gid1.len;
        }
        if (md->profile_owner.has_gid2) {
            pi->owner.gid2.p = md->profile_owner.gid2.p;
            pi->owner.gid2.len = md->profile_owner.gid2.len;
        }
    }
    if (p->dp_oid_len && p->dp_oid_len < 126 && wanted(tl, 0xB8, false)) {
        dp[0] = 0x80;
        dp[1] = (uint8_t)p->dp_oid_len;
        memcpy(dp + 2, p->dp_oid, p->dp_oid_len);
        pi->dp_proprietary.p = dp;
        pi->dp_proprietary.len = p->dp_oid_len + 2;
    }
    if (md->has_ppr && wanted(tl, 0x99, false)) {
        sc->ppr = 0;
        for (unsigned b = 0; b < 3; b++)
            if (md->ppr & (1u << b))
                sc->ppr |= (uint8_t)(0x80u >> b);
        pi->ppr.bits = &sc->ppr;
        pi->ppr.nbits = 3;
    }
}

int es10c_get_profiles_info(struct rsp_euicc *e, const uint8_t *cmd, size_t len,
                            struct rsp_buf *resp)
{
    struct rsp_profile_info_list_req rq;
    int rc = rsp_profile_info_list_req_decode(cmd, len, &rq);
    if (rc != 0)
        return rc;
    struct rsp_profile_info_list *l = calloc(1, sizeof *l);
    struct rsp_sgp22_store_metadata_request *md = calloc(RSP_EUICC_MAX_PROFILES, sizeof *md);
    struct info_scratch *sc = calloc(RSP_EUICC_MAX_PROFILES, sizeof *sc);
    if (!l || !md || !sc) {
        rc = RSP_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < e->n_profiles; i++) {
        const struct euicc_profile *p = &e->profiles[i];
        if ((rc = rsp_sgp22_store_metadata_request_decode(p->metadata.data, p->metadata.len,
                                                          &md[i])) != 0)
            goto out;
        bool match = true;
        switch (rq.search) {
        case RSP_ES10_SEARCH_AID:
            match = rq.aid.len == sizeof p->aid && !memcmp(rq.aid.p, p->aid, sizeof p->aid);
            break;
        case RSP_ES10_SEARCH_ICCID:
            match = !memcmp(rq.iccid.b, p->iccid.b, RSP_ICCID_LEN);
            break;
        case RSP_ES10_SEARCH_CLASS:
            match = rq.profile_class == profile_class_of(&md[i]);
            break;
        default:
            break;
        }
        if (!match)
            continue;
        struct rsp_profile_info *pi = &l->profiles[l->n++];
        fill_info(p, &md[i], &rq.tag_list, &sc[i], pi);
    }
    rc = rsp_profile_info_list_encode(l, resp);
out:
    free(l);
    free(md);
    free(sc);
    return rc;
}

/* ---- Enable / Disable / Delete (§5.7.16-§5.7.18) ----------------------------------------------
 */

/* Enable/Disable requests: the Annex H form BF31/BF32 { A0 { 4F | 5A }, 81 refreshFlag }, and
 * the form without the A0 wrapper that some LPAs send (re-wrapped, then decoded by the codec). */
static int switch_decode(rsp_tag tag, const uint8_t *cmd, size_t len,
                         struct rsp_es10_switch_req *rq)
{
    int (*dec)(const uint8_t *, size_t, struct rsp_es10_switch_req *) =
        tag == RSP_ES10_TAG_ENABLE_PROFILE ? rsp_es10_enable_req_decode
                                           : rsp_es10_disable_req_decode;
    int rc = dec(cmd, len, rq);
    if (rc == 0)
        return 0;
    struct rsp_tlv outer, id;
    struct rsp_der_iter it;
    if (rsp_der_parse_tag(cmd, len, tag, &outer) != 0)
        return rc;
    rsp_der_iter_value(&it, &outer);
    if (rsp_der_next(&it, &id) != 1 || (id.tag != 0x4F && id.tag != 0x5A))
        return rc;
    struct rsp_buf w = RSP_BUF_INIT;
    size_t m = rsp_der_begin(&w, tag);
    size_t a = rsp_der_begin(&w, 0xA0);
    rsp_buf_append(&w, id.raw, id.raw_len);
    rsp_der_end(&w, a);
    rsp_buf_append(&w, it.p, (size_t)(it.end - it.p));
    int rc2 = rsp_der_end(&w, m);
    if (rc2 == 0)
        rc2 = dec(w.data, w.len, rq);
    /* the decoded AID points into w: move it into the request's own bytes */
    if (rc2 == 0 && rq->id.kind == RSP_ES10_BY_AID)
        rq->id.aid.p = id.val;
    rsp_buf_free(&w);
    return rc2 == 0 ? 0 : rc;
}

static uint32_t ppr_of(const struct euicc_profile *p)
{
    struct rsp_sgp22_store_metadata_request md;
    if (rsp_sgp22_store_metadata_request_decode(p->metadata.data, p->metadata.len, &md) != 0)
        return 0;
    return md.has_ppr ? md.ppr : 0;
}

static struct euicc_profile *enabled_profile(struct rsp_euicc *e)
{
    for (size_t i = 0; i < e->n_profiles; i++)
        if (e->profiles[i].state == RSP_PROFILE_ENABLED)
            return &e->profiles[i];
    return NULL;
}

/* A change is made in memory, then saved; when the state file cannot be written the command
 * fails with RSP_EIO (6F00) and the next successful save carries the change. */
int es10c_enable_profile(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    struct rsp_es10_switch_req rq;
    int rc = switch_decode(RSP_ES10_TAG_ENABLE_PROFILE, cmd, len, &rq);
    if (rc != 0)
        return rc;
    struct euicc_profile *p = euicc_profile_by_id(e, &rq.id);
    if (!p)
        return rsp_es10_enable_resp_encode(RSP_ENABLE_ICCID_OR_AID_NOT_FOUND, resp);
    if (p->state != RSP_PROFILE_DISABLED)
        return rsp_es10_enable_resp_encode(RSP_ENABLE_PROFILE_NOT_IN_DISABLED_STATE, resp);
    struct euicc_profile *cur = enabled_profile(e);
    if (cur && (ppr_of(cur) & RSP_PPR1))
        return rsp_es10_enable_resp_encode(RSP_ENABLE_DISALLOWED_BY_POLICY, resp);
    if (cur) {
        cur->state = RSP_PROFILE_DISABLED;
        if ((rc = es10b_queue_other_notification(e, cur, RSP_NOTIF_DISABLE)) != 0)
            return rc;
    }
    p->state = RSP_PROFILE_ENABLED;
    if ((rc = es10b_queue_other_notification(e, p, RSP_NOTIF_ENABLE)) != 0 ||
        (rc = euicc_save(e)) != 0)
        return rc;
    es10b_session_discard(e); /* §5.7.16: a switch may end the RSP session */
    return rsp_es10_enable_resp_encode(RSP_ENABLE_OK, resp);
}

int es10c_disable_profile(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    struct rsp_es10_switch_req rq;
    int rc = switch_decode(RSP_ES10_TAG_DISABLE_PROFILE, cmd, len, &rq);
    if (rc != 0)
        return rc;
    struct euicc_profile *p = euicc_profile_by_id(e, &rq.id);
    if (!p)
        return rsp_es10_disable_resp_encode(RSP_DISABLE_ICCID_OR_AID_NOT_FOUND, resp);
    if (p->state != RSP_PROFILE_ENABLED)
        return rsp_es10_disable_resp_encode(RSP_DISABLE_PROFILE_NOT_IN_ENABLED_STATE, resp);
    if (ppr_of(p) & RSP_PPR1)
        return rsp_es10_disable_resp_encode(RSP_DISABLE_DISALLOWED_BY_POLICY, resp);
    p->state = RSP_PROFILE_DISABLED;
    if ((rc = es10b_queue_other_notification(e, p, RSP_NOTIF_DISABLE)) != 0 ||
        (rc = euicc_save(e)) != 0)
        return rc;
    es10b_session_discard(e);
    return rsp_es10_disable_resp_encode(RSP_DISABLE_OK, resp);
}

static void remove_profile(struct rsp_euicc *e, struct euicc_profile *p)
{
    size_t i = (size_t)(p - e->profiles);
    euicc_profile_clear(p);
    memmove(&e->profiles[i], &e->profiles[i + 1], (e->n_profiles - i - 1) * sizeof e->profiles[0]);
    e->n_profiles--;
    memset(&e->profiles[e->n_profiles], 0, sizeof e->profiles[0]);
}

int es10c_delete_profile(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    struct rsp_es10_profile_id id;
    int rc = rsp_es10_delete_req_decode(cmd, len, &id);
    if (rc != 0)
        return rc;
    struct euicc_profile *p = euicc_profile_by_id(e, &id);
    if (!p)
        return rsp_es10_delete_resp_encode(RSP_DELETE_ICCID_OR_AID_NOT_FOUND, resp);
    if (p->state != RSP_PROFILE_DISABLED)
        return rsp_es10_delete_resp_encode(RSP_DELETE_PROFILE_NOT_IN_DISABLED_STATE, resp);
    if (ppr_of(p) & RSP_PPR2)
        return rsp_es10_delete_resp_encode(RSP_DELETE_DISALLOWED_BY_POLICY, resp);
    if ((rc = es10b_queue_other_notification(e, p, RSP_NOTIF_DELETE)) != 0)
        return rc;
    remove_profile(e, p);
    if ((rc = euicc_save(e)) != 0)
        return rc;
    return rsp_es10_delete_resp_encode(RSP_DELETE_OK, resp);
}

/* ---- eUICCMemoryReset (§5.7.19) ---------------------------------------------------------------
 */

int es10c_memory_reset(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    uint32_t opt;
    int rc = rsp_es10_memory_reset_req_decode(cmd, len, &opt);
    if (rc != 0)
        return rc;
    bool did = false;
    for (size_t i = e->n_profiles; i-- > 0;) {
        struct rsp_sgp22_store_metadata_request md;
        struct euicc_profile *p = &e->profiles[i];
        int cls = RSP_PROFILE_CLASS_OPERATIONAL;
        if (rsp_sgp22_store_metadata_request_decode(p->metadata.data, p->metadata.len, &md) == 0)
            cls = profile_class_of(&md);
        if ((cls == RSP_PROFILE_CLASS_OPERATIONAL && (opt & RSP_RESET_DELETE_OPERATIONAL)) ||
            (cls == RSP_PROFILE_CLASS_TEST && (opt & RSP_RESET_DELETE_FIELD_LOADED_TEST))) {
            remove_profile(e, p);
            did = true;
        }
    }
    if (opt & RSP_RESET_DEFAULT_SMDP_ADDRESS) {
        memcpy(e->default_dp, e->initial_default_dp, sizeof e->default_dp);
        did = true;
    }
    if (!did)
        return rsp_es10_memory_reset_resp_encode(RSP_RESET_NOTHING_TO_DELETE, resp);
    es10b_session_discard(e);
    if ((rc = euicc_save(e)) != 0)
        return rc;
    return rsp_es10_memory_reset_resp_encode(RSP_RESET_OK, resp);
}

/* ---- GetEID (§5.7.20) -------------------------------------------------------------------------
 */

int es10c_get_eid(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    uint8_t tl;
    int rc = rsp_es10_get_euicc_data_decode(cmd, len, &tl);
    if (rc != 0)
        return rc;
    if (tl != 0x5A)
        return RSP_EUNEXPECTED;
    return rsp_es10_eid_encode(&e->eid, resp);
}

/* ---- SetNickname (§5.7.21) --------------------------------------------------------------------
 */

int es10c_set_nickname(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    struct rsp_es10_set_nickname_req rq;
    int rc = rsp_es10_set_nickname_req_decode(cmd, len, &rq);
    if (rc != 0)
        return rc;
    struct euicc_profile *p = euicc_profile_by_iccid(e, &rq.iccid);
    if (!p)
        return rsp_es10_set_nickname_resp_encode(RSP_SET_NICKNAME_ICCID_NOT_FOUND, resp);
    if (rq.nickname.len > RSP_ES10_NICKNAME_MAX)
        return rsp_es10_set_nickname_resp_encode(RSP_SET_NICKNAME_UNDEFINED_ERROR, resp);
    p->has_nickname = true;
    if (rq.nickname.len)
        memcpy(p->nickname, rq.nickname.p, rq.nickname.len);
    p->nickname_len = rq.nickname.len;
    if ((rc = euicc_save(e)) != 0)
        return rc;
    return rsp_es10_set_nickname_resp_encode(RSP_SET_NICKNAME_OK, resp);
}
