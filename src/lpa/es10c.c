/* ES10c (LPA side): profile list and management, nickname, memory reset, EID; result names. */
#include <ctype.h>
#include <string.h>

#include "lpa_int.h"
#include "rsp/err.h"
#include "rsp/lpa.h"

int rsp_lpa_get_profiles(struct rsp_es10 *s, const struct rsp_profile_info_list_req *req,
                         struct rsp_buf *raw, struct rsp_profile_info_list *out)
{
    if (!s || !raw || !out)
        return RSP_EINVAL;
    struct rsp_buf cmd = RSP_BUF_INIT;
    int rc;
    if (req)
        rc = rsp_profile_info_list_req_encode(req, &cmd);
    else
        rc = rsp_es10_empty_encode(RSP_ES10_TAG_PROFILE_INFO_LIST, &cmd);
    if (rc != 0) {
        rsp_buf_free(&cmd);
        return rc;
    }
    if ((rc = rsp_lpa_xfer(s, &cmd, raw)) != 0)
        return rc;
    return rsp_profile_info_list_decode(raw->data, raw->len, out);
}

typedef int (*switch_enc)(const struct rsp_es10_switch_req *, struct rsp_buf *);

static int result_cmd(struct rsp_es10 *s, struct rsp_buf *cmd, rsp_tag tag, int *result)
{
    struct rsp_buf resp = RSP_BUF_INIT;
    int rc = rsp_lpa_xfer(s, cmd, &resp);
    if (rc == 0)
        rc = rsp_es10_result_decode(tag, resp.data, resp.len, result);
    rsp_buf_free(&resp);
    return rc;
}

static int switch_cmd(struct rsp_es10 *s, const struct rsp_es10_profile_id *id, bool refresh,
                      switch_enc enc, rsp_tag tag, int *result)
{
    if (!s || !id || !result)
        return RSP_EINVAL;
    struct rsp_es10_switch_req req = {.id = *id, .refresh = refresh};
    struct rsp_buf cmd = RSP_BUF_INIT;
    int rc = enc(&req, &cmd);
    if (rc != 0) {
        rsp_buf_free(&cmd);
        return rc;
    }
    return result_cmd(s, &cmd, tag, result);
}

int rsp_lpa_enable_profile(struct rsp_es10 *s, const struct rsp_es10_profile_id *id, bool refresh,
                           int *result)
{
    return switch_cmd(s, id, refresh, rsp_es10_enable_req_encode, RSP_ES10_TAG_ENABLE_PROFILE,
                      result);
}

int rsp_lpa_disable_profile(struct rsp_es10 *s, const struct rsp_es10_profile_id *id, bool refresh,
                            int *result)
{
    return switch_cmd(s, id, refresh, rsp_es10_disable_req_encode, RSP_ES10_TAG_DISABLE_PROFILE,
                      result);
}

int rsp_lpa_delete_profile(struct rsp_es10 *s, const struct rsp_es10_profile_id *id, int *result)
{
    if (!s || !id || !result)
        return RSP_EINVAL;
    struct rsp_buf cmd = RSP_BUF_INIT;
    int rc = rsp_es10_delete_req_encode(id, &cmd);
    if (rc != 0) {
        rsp_buf_free(&cmd);
        return rc;
    }
    return result_cmd(s, &cmd, RSP_ES10_TAG_DELETE_PROFILE, result);
}

int rsp_lpa_set_nickname(struct rsp_es10 *s, const struct rsp_iccid *iccid, const char *nickname,
                         int *result)
{
    if (!s || !iccid || !nickname || !result)
        return RSP_EINVAL;
    struct rsp_es10_set_nickname_req req = {
        .iccid = *iccid, .nickname = {(const uint8_t *)nickname, strlen(nickname)}};
    struct rsp_buf cmd = RSP_BUF_INIT;
    int rc = rsp_es10_set_nickname_req_encode(&req, &cmd);
    if (rc != 0) {
        rsp_buf_free(&cmd);
        return rc;
    }
    return result_cmd(s, &cmd, RSP_ES10_TAG_SET_NICKNAME, result);
}

int rsp_lpa_memory_reset(struct rsp_es10 *s, uint32_t options, int *result)
{
    if (!s || !result)
        return RSP_EINVAL;
    struct rsp_buf cmd = RSP_BUF_INIT;
    int rc = rsp_es10_memory_reset_req_encode(options, &cmd);
    if (rc != 0) {
        rsp_buf_free(&cmd);
        return rc;
    }
    return result_cmd(s, &cmd, RSP_ES10_TAG_EUICC_MEMORY_RESET, result);
}

int rsp_lpa_get_eid(struct rsp_es10 *s, char eid[33])
{
    if (!s || !eid)
        return RSP_EINVAL;
    struct rsp_buf cmd = RSP_BUF_INIT, resp = RSP_BUF_INIT;
    int rc = rsp_es10_get_eid_encode(&cmd);
    if (rc != 0) {
        rsp_buf_free(&cmd);
        return rc;
    }
    if ((rc = rsp_lpa_xfer(s, &cmd, &resp)) == 0) {
        struct rsp_eid e;
        if ((rc = rsp_es10_eid_decode(resp.data, resp.len, &e)) == 0)
            rsp_eid_to_str(&e, eid);
    }
    rsp_buf_free(&resp);
    return rc;
}

int rsp_lpa_profile_id_parse(const char *text, struct rsp_es10_profile_id *id, uint8_t aid[16])
{
    if (!text || !id || !aid)
        return RSP_EINVAL;
    memset(id, 0, sizeof *id);
    size_t n = strlen(text), digits = 0;
    for (size_t i = 0; i < n; i++)
        digits += isdigit((unsigned char)text[i]) ? 1 : 0;
    if (digits == n && n >= 18 && n <= 20) {
        id->kind = RSP_ES10_BY_ICCID;
        return rsp_iccid_from_str(text, &id->iccid);
    }
    if (n < 10 || n > 32 || n % 2)
        return RSP_ESYNTAX;
    struct rsp_buf b = RSP_BUF_INIT;
    int rc = rsp_hex_decode(&b, text, n);
    if (rc == 0) {
        memcpy(aid, b.data, b.len);
        id->kind = RSP_ES10_BY_AID;
        id->aid.p = aid;
        id->aid.len = b.len;
    }
    rsp_buf_free(&b);
    return rc;
}

/* ---- names ---- */

static const char *pick(const char *const *names, size_t n, int64_t r)
{
    if (r == 127)
        return "undefinedError";
    if (r >= 0 && (size_t)r < n && names[r])
        return names[r];
    return "unknown code";
}

const char *rsp_lpa_enable_result_name(int r)
{
    static const char *const n[] = {"ok",
                                    "iccidOrAidNotFound",
                                    "profileNotInDisabledState",
                                    "disallowedByPolicy",
                                    "wrongProfileReenabling",
                                    "catBusy"};
    return pick(n, sizeof n / sizeof n[0], r);
}

const char *rsp_lpa_disable_result_name(int r)
{
    static const char *const n[] = {
        "ok",     "iccidOrAidNotFound", "profileNotInEnabledState", "disallowedByPolicy", NULL,
        "catBusy"};
    return pick(n, sizeof n / sizeof n[0], r);
}

const char *rsp_lpa_delete_result_name(int r)
{
    static const char *const n[] = {"ok", "iccidOrAidNotFound", "profileNotInDisabledState",
                                    "disallowedByPolicy"};
    return pick(n, sizeof n / sizeof n[0], r);
}

const char *rsp_lpa_auth_error_name(int64_t r)
{
    static const char *const n[] = {NULL,
                                    "invalidCertificate",
                                    "invalidSignature",
                                    "unsupportedCurve",
                                    "noSessionContext",
                                    "invalidOid",
                                    "euiccChallengeMismatch",
                                    "ciPKUnknown"};
    return pick(n, sizeof n / sizeof n[0], r);
}

const char *rsp_lpa_download_error_name(int64_t r)
{
    static const char *const n[] = {NULL,
                                    "invalidCertificate",
                                    "invalidSignature",
                                    "unsupportedCurve",
                                    "noSessionContext",
                                    "invalidTransactionId"};
    return pick(n, sizeof n / sizeof n[0], r);
}

const char *rsp_lpa_error_reason_name(int64_t r)
{
    static const char *const n[] = {NULL,
                                    "incorrectInputValues",
                                    "invalidSignature",
                                    "invalidTransactionId",
                                    "unsupportedCrtValues",
                                    "unsupportedRemoteOperationType",
                                    "unsupportedProfileClass",
                                    "scp03tStructureError",
                                    "scp03tSecurityError",
                                    "installFailedDueToIccidAlreadyExistsOnEuicc",
                                    "installFailedDueToInsufficientMemoryForProfile",
                                    "installFailedDueToInterruption",
                                    "installFailedDueToPEProcessingError",
                                    "installFailedDueToDataMismatch",
                                    "testProfileInstallFailedDueToInvalidNaaKey",
                                    "pprNotAllowed"};
    return pick(n, sizeof n / sizeof n[0], r);
}
