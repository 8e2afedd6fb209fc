/* Local verification of a freshly installed profile (rspkit's Stage 3): before a device switches
 * to a profile, the LPA reads what the eUICC installed (ES10c.GetProfilesInfo, SGP.22 §5.7.15)
 * and compares it with the metadata the end user consented to at authenticateClient (§3.1.3,
 * profileMetadata). The eUICC itself installed the StoreMetadata carried in the BPP (MAC-protected
 * under keys bound to smdpSign); a difference means the SM-DP+ showed one profile and delivered
 * another, or the eUICC recorded something else, and the profile must not be enabled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/es9p_client.h"
#include "rsp/lpa.h"

static bool bin_is(const struct rsp_es10_bin *b, const char *s)
{
    size_t n = strlen(s);
    return b->len == n && (n == 0 || (b->p && memcmp(b->p, s, n) == 0));
}

int rsp_lpa_verify_installed(struct rsp_es10 *s, const struct rsp_lpa_expected *e,
                             const uint8_t aid[16], char *why, size_t why_len)
{
    if (!s || !e || !aid || !why || why_len == 0)
        return RSP_EINVAL;
    why[0] = 0;
    if (!e->known) {
        snprintf(why, why_len, "the SM-DP+ sent no usable profile metadata");
        return RSP_EVERIFY;
    }
    struct rsp_profile_info_list_req req;
    memset(&req, 0, sizeof req);
    req.search = RSP_ES10_SEARCH_ICCID;
    memcpy(req.iccid.b, e->iccid, sizeof req.iccid.b);
    /* profileOwner (B7) is not in the default set (§5.7.15): ask for exactly what is compared */
    static const uint8_t tags[] = {0x5A, 0x4F, 0x9F, 0x70, 0x91, 0x92, 0x95, 0xB7};
    req.tag_list.p = tags;
    req.tag_list.len = sizeof tags;
    struct rsp_buf raw = RSP_BUF_INIT;
    struct rsp_profile_info_list *lp = calloc(1, sizeof *lp); /* large: not on the stack */
    if (!lp)
        return RSP_ENOMEM;
    int rc = rsp_lpa_get_profiles(s, &req, &raw, lp);
    if (rc) {
        rsp_buf_free(&raw);
        free(lp);
        return rc;
    }
    char iccid[21];
    struct rsp_iccid ic;
    memcpy(ic.b, e->iccid, sizeof ic.b);
    rsp_iccid_to_str(&ic, iccid);
    rc = RSP_EVERIFY;
    const struct rsp_profile_info *p = lp->n == 1 ? &lp->profiles[0] : NULL;
    if (lp->is_error || lp->n == 0)
        snprintf(why, why_len, "no profile with ICCID %s is installed", iccid);
    else if (lp->n > 1)
        snprintf(why, why_len, "%zu profiles answer ICCID %s", lp->n, iccid);
    else if (!p->has_iccid || memcmp(p->iccid.b, e->iccid, sizeof p->iccid.b) != 0)
        snprintf(why, why_len, "the installed profile does not carry ICCID %s", iccid);
    else if (p->isdp_aid.len != 16 || memcmp(p->isdp_aid.p, aid, 16) != 0)
        snprintf(why, why_len, "ICCID %s is not in the ISD-P the installation reported", iccid);
    else if (!p->has_state || p->state != RSP_PROFILE_DISABLED)
        snprintf(why, why_len, "the new profile %s is not in the disabled state", iccid);
    else if ((p->has_profile_class ? p->profile_class : RSP_PROFILE_CLASS_OPERATIONAL) !=
             e->profile_class)
        snprintf(why, why_len, "profile class differs from the consented metadata");
    else if (!bin_is(&p->spn, e->spn))
        snprintf(why, why_len, "service provider name differs from the consented metadata");
    else if (!bin_is(&p->name, e->name))
        snprintf(why, why_len, "profile name differs from the consented metadata");
    else if (e->has_owner && (!p->has_owner || p->owner.mcc_mnc.len != 3 ||
                              memcmp(p->owner.mcc_mnc.p, e->owner_mcc_mnc, 3) != 0))
        snprintf(why, why_len, "profile owner (MCC/MNC) differs from the consented metadata");
    else
        rc = 0;
    rsp_buf_free(&raw);
    free(lp);
    return rc;
}
