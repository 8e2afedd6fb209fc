/* ES10a (LPA services for addresses, SGP.22 §5.7.3, §5.7.4). */
#include <string.h>

#include "euicc_int.h"
#include "rsp/err.h"

int es10a_get_configured_addresses(struct rsp_euicc *e, const uint8_t *cmd, size_t len,
                                   struct rsp_buf *resp)
{
    int rc = rsp_es10_empty_decode(RSP_ES10_TAG_EUICC_CONFIGURED_ADDRESSES, cmd, len);
    if (rc != 0)
        return rc;
    struct rsp_es10_configured_addresses a;
    memset(&a, 0, sizeof a);
    if (e->default_dp[0]) {
        a.default_dp.p = (const uint8_t *)e->default_dp;
        a.default_dp.len = strlen(e->default_dp);
    }
    a.root_ds.p = (const uint8_t *)e->root_ds;
    a.root_ds.len = strlen(e->root_ds);
    return rsp_es10_configured_addresses_encode(&a, resp);
}

/* §5.7.4: an empty address removes the default SM-DP+ address. */
int es10a_set_default_dp_address(struct rsp_euicc *e, const uint8_t *cmd, size_t len,
                                 struct rsp_buf *resp)
{
    struct rsp_es10_bin addr;
    int rc = rsp_es10_set_default_dp_req_decode(cmd, len, &addr);
    if (rc != 0)
        return rc;
    if (addr.len > EUICC_ADDR_MAX || memchr(addr.p, 0, addr.len))
        return rsp_es10_set_default_dp_resp_encode(RSP_SET_DEFAULT_DP_UNDEFINED_ERROR, resp);
    char old[EUICC_ADDR_MAX + 1];
    memcpy(old, e->default_dp, sizeof old);
    memcpy(e->default_dp, addr.p, addr.len);
    e->default_dp[addr.len] = 0;
    if ((rc = euicc_save(e)) != 0) {
        memcpy(e->default_dp, old, sizeof old);
        return rc;
    }
    return rsp_es10_set_default_dp_resp_encode(RSP_SET_DEFAULT_DP_OK, resp);
}
