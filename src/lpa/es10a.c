/* ES10a (LPA side): configured addresses; and the command helper shared by the ES10 files. */
#include <string.h>

#include "lpa_int.h"
#include "rsp/err.h"
#include "rsp/lpa.h"

int rsp_lpa_xfer(struct rsp_es10 *s, struct rsp_buf *cmd, struct rsp_buf *resp)
{
    int rc = cmd->err;
    if (rc == 0 && cmd->len == 0)
        rc = RSP_EINVAL;
    if (rc == 0)
        rc = rsp_es10_transceive(s, cmd->data, cmd->len, resp);
    rsp_buf_free(cmd);
    if (rc == 0 && resp->len == 0)
        rc = RSP_EMISSING;
    return rc;
}

int rsp_lpa_configured_addresses(struct rsp_es10 *s, struct rsp_buf *raw,
                                 struct rsp_es10_configured_addresses *out)
{
    if (!s || !raw)
        return RSP_EINVAL;
    struct rsp_buf cmd = RSP_BUF_INIT;
    int rc = rsp_es10_empty_encode(RSP_ES10_TAG_EUICC_CONFIGURED_ADDRESSES, &cmd);
    if (rc != 0) {
        rsp_buf_free(&cmd);
        return rc;
    }
    if ((rc = rsp_lpa_xfer(s, &cmd, raw)) != 0)
        return rc;
    struct rsp_es10_configured_addresses tmp;
    return rsp_es10_configured_addresses_decode(raw->data, raw->len, out ? out : &tmp);
}

int rsp_lpa_set_default_dp(struct rsp_es10 *s, const char *address, int *result)
{
    if (!s || !address || !result)
        return RSP_EINVAL;
    struct rsp_es10_bin a = {.p = (const uint8_t *)address, .len = strlen(address)};
    struct rsp_buf cmd = RSP_BUF_INIT, resp = RSP_BUF_INIT;
    int rc = rsp_es10_set_default_dp_req_encode(&a, &cmd);
    if (rc != 0) {
        rsp_buf_free(&cmd);
        return rc;
    }
    if ((rc = rsp_lpa_xfer(s, &cmd, &resp)) == 0) {
        enum rsp_set_default_dp_result r;
        if ((rc = rsp_es10_set_default_dp_resp_decode(resp.data, resp.len, &r)) == 0)
            *result = (int)r;
    }
    rsp_buf_free(&resp);
    return rc;
}
