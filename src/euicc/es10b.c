/* ES10b (LPA services of the ISD-R, SGP.22 §5.7.5-§5.7.14, §5.7.22): the RSP session (challenge,
 * mutual authentication, download preparation, cancel), eUICC information, notifications, RAT.
 * LoadBoundProfilePackage is in install.c. */
#include <stdio.h>
#include <string.h>

#include "euicc_int.h"
#include "rsp/err.h"

/* ---- session state machine -------------------------------------------------------------------
 * The only place where sess.st changes. Any state may go back to NONE (discard) or to CHALLENGED
 * (a new GetEUICCChallenge discards the old session, §5.7.7); the rest moves forward one step. */
#define BIT(s) (1u << (s))
static const uint32_t sess_allowed_from[SESS_NSTATES] = {
    [SESS_NONE] = ~0u,
    [SESS_CHALLENGED] = ~0u,
    [SESS_AUTHENTICATED] = BIT(SESS_CHALLENGED),
    [SESS_PREPARED] = BIT(SESS_AUTHENTICATED),
    [SESS_BPP_SECURED] = BIT(SESS_PREPARED),
    [SESS_BPP_CONFIGURED] = BIT(SESS_BPP_SECURED),
    [SESS_BPP_METADATA] = BIT(SESS_BPP_CONFIGURED),
    [SESS_BPP_METADATA_DONE] = BIT(SESS_BPP_METADATA),
    [SESS_BPP_PPK] = BIT(SESS_BPP_METADATA_DONE),
    [SESS_BPP_LOADING] = BIT(SESS_BPP_METADATA_DONE) | BIT(SESS_BPP_PPK),
};

void es10b_session_discard(struct rsp_euicc *e)
{
    struct euicc_session *s = &e->sess;
    rsp_bsp_wipe(&s->bsp);
    rsp_key_free(s->dppb_pub);
    rsp_buf_free_secure(&s->metadata);
    rsp_buf_free_secure(&s->upp);
    rsp_memzero(s, sizeof *s);
    s->st = SESS_NONE;
}

void es10b_session_goto(struct rsp_euicc *e, enum es10b_session_state to)
{
    if (to >= SESS_NSTATES || !(sess_allowed_from[to] & BIT(e->sess.st)) || to == SESS_NONE) {
        es10b_session_discard(e);
        return;
    }
    e->sess.st = to;
}

/* ---- GetEUICCChallenge (§5.7.7) ---------------------------------------------------------------
 */

int es10b_get_euicc_challenge(struct rsp_euicc *e, const uint8_t *cmd, size_t len,
                              struct rsp_buf *resp)
{
    int rc = rsp_es10_empty_decode(RSP_ES10_TAG_EUICC_CHALLENGE, cmd, len);
    if (rc != 0)
        return rc;
    /* The previous session is discarded; its unused otSK stays kept (already persisted). */
    es10b_session_discard(e);
    if (e->has_fixed_challenge)
        memcpy(e->sess.challenge, e->fixed_challenge, 16);
    else if ((rc = rsp_random(e->sess.challenge, 16)) != 0)
        return rc;
    es10b_session_goto(e, SESS_CHALLENGED);
    return rsp_es10_challenge_encode(e->sess.challenge, resp);
}

/* ---- GetEUICCInfo (§5.7.8) --------------------------------------------------------------------
 */

static void pkid_lists(const struct rsp_euicc *e, struct rsp_es10_pkid_list *v,
                       struct rsp_es10_pkid_list *s)
{
    memset(v, 0, sizeof *v);
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < e->n_ci && i < RSP_ES10_MAX_CI_PKIDS; i++) {
        v->id[i].p = e->ci_ski[i];
        v->id[i].len = RSP_KEYID_LEN;
        v->n++;
    }
    s->id[0].p = e->sign_pkid;
    s->id[0].len = RSP_KEYID_LEN;
    s->n = 1;
}

int es10b_get_euicc_info1(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    int rc = rsp_es10_empty_decode(RSP_ES10_TAG_EUICC_INFO1, cmd, len);
    if (rc != 0)
        return rc;
    struct rsp_euicc_info1 i1;
    memcpy(i1.svn, e->svn, 3);
    pkid_lists(e, &i1.ci_verify, &i1.ci_sign);
    return rsp_euicc_info1_encode(&i1, resp);
}

static size_t nvm_used(const struct rsp_euicc *e)
{
    size_t used = 0;
    for (size_t i = 0; i < e->n_profiles; i++)
        used += (size_t)e->profiles[i].upp_len;
    return used;
}

int es10b_euicc_info2_encode(const struct rsp_euicc *e, struct rsp_buf *out)
{
    struct rsp_euicc_info2 i2;
    memset(&i2, 0, sizeof i2);
    memcpy(i2.profile_version, e->profile_version, 3);
    memcpy(i2.svn, e->svn, 3);
    memcpy(i2.firmware_version, e->firmware_version, 3);
    /* extCardResource (ETSI TS 102 226 §8.2.1.3.2): 81 installed applications, 82 free NVM,
     * 83 free volatile memory. */
    size_t used = nvm_used(e);
    uint32_t free_nvm = (uint32_t)(e->nvm_bytes > used ? e->nvm_bytes - used : 0);
    uint8_t ecr[] = {0x81,
                     0x01,
                     (uint8_t)e->n_profiles,
                     0x82,
                     0x04,
                     (uint8_t)(free_nvm >> 24),
                     (uint8_t)(free_nvm >> 16),
                     (uint8_t)(free_nvm >> 8),
                     (uint8_t)free_nvm,
                     0x83,
                     0x02,
                     0x40,
                     0x00};
    i2.ext_card_resource.p = ecr;
    i2.ext_card_resource.len = sizeof ecr;
    /* UICCCapability: usimSupport(1), isimSupport(2), akaMilenage(4), javacard(14). */
    static const uint8_t uicc_cap[2] = {0x68, 0x02};
    i2.uicc_capability.bits = uicc_cap;
    i2.uicc_capability.nbits = 16;
    i2.has_ts102241_version = true;
    i2.ts102241_version[0] = 9;
    i2.ts102241_version[1] = 2;
    i2.has_gp_version = true;
    i2.gp_version[0] = 2;
    i2.gp_version[1] = 3;
    uint8_t rcap = 0;
    for (unsigned b = 0; b < 8; b++)
        if (e->rsp_capability & (1u << b))
            rcap |= (uint8_t)(0x80u >> b);
    i2.rsp_capability.bits = &rcap;
    i2.rsp_capability.nbits = 8;
    pkid_lists(e, &i2.ci_verify, &i2.ci_sign);
    i2.pp_version[2] = 1;
    i2.sas_accreditation.p = (const uint8_t *)"";
    i2.sas_accreditation.len = 0;
    return rsp_euicc_info2_encode(&i2, out);
}

int es10b_get_euicc_info2(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    int rc = rsp_es10_empty_decode(RSP_ES10_TAG_EUICC_INFO2, cmd, len);
    return rc ? rc : es10b_euicc_info2_encode(e, resp);
}

/* ---- AuthenticateServer (§5.7.13) -------------------------------------------------------------
 */

static int auth_error(const struct rsp_sgp22_bytes *tid, int code, struct rsp_buf *resp)
{
    struct rsp_sgp22_authenticate_server_response r;
    memset(&r, 0, sizeof r);
    r.ok = false;
    r.transaction_id = *tid;
    r.error_code = code;
    return rsp_sgp22_authenticate_server_response_encode(&r, resp);
}

static int find_ci(const struct rsp_euicc *e, const struct rsp_cert *c)
{
    uint8_t aki[RSP_KEYID_LEN];
    if (rsp_cert_aki(c, aki) != 0)
        return -1;
    for (size_t i = 0; i < e->n_ci; i++)
        if (!memcmp(aki, e->ci_ski[i], RSP_KEYID_LEN))
            return (int)i;
    return -1;
}

/* Checks one SM-DP+ certificate: 0 and *ci_out, or an error code of the response (the
 * authenticate and download error codes agree on 1 invalidCertificate, 3 unsupportedCurve). */
static int check_dp_cert(const struct rsp_euicc *e, const struct rsp_cert *c,
                         enum rsp_cert_role role, int *ci_out, bool *ci_unknown)
{
    *ci_unknown = false;
    if (rsp_cert_curve(c) == RSP_CURVE_NONE)
        return RSP_SGP22_AUTH_ERR_UNSUPPORTED_CURVE;
    int ci = find_ci(e, c);
    if (ci < 0) {
        *ci_unknown = true;
        return RSP_SGP22_AUTH_ERR_CI_PK_UNKNOWN;
    }
    if (rsp_cert_verify_dp(e->ci[ci], c, role, euicc_now(e), NULL, 0) != 0)
        return RSP_SGP22_AUTH_ERR_INVALID_CERTIFICATE;
    *ci_out = ci;
    return 0;
}

static int verify_sig(const struct rsp_cert *c, const uint8_t *msg, size_t n,
                      const struct rsp_sgp22_bytes *sig)
{
    struct rsp_key *pub = NULL;
    int rc = rsp_cert_pubkey(c, &pub);
    if (rc == 0)
        rc = rsp_ecdsa_verify(pub, msg, n, sig->p, sig->len);
    rsp_key_free(pub);
    return rc;
}

int es10b_authenticate_server(struct rsp_euicc *e, const uint8_t *cmd, size_t len,
                              struct rsp_buf *resp)
{
    struct rsp_sgp22_authenticate_server_request rq;
    int rc = rsp_sgp22_authenticate_server_request_decode(cmd, len, &rq);
    if (rc != 0)
        return rc;
    const struct rsp_sgp22_server_signed1 *s1 = &rq.server_signed1;
    struct euicc_session *s = &e->sess;
    if (s->st != SESS_CHALLENGED)
        return auth_error(&s1->transaction_id, RSP_SGP22_AUTH_ERR_NO_SESSION_CONTEXT, resp);
    struct rsp_cert *cert = NULL;
    /* An SM-DP+ presents the same certificates to every eUICC: parsed once per process (the
     * chain and the signature are verified every time all the same). */
    if (rsp_cert_parse_cached(rq.server_certificate.raw, rq.server_certificate.raw_len, &cert) != 0)
        return auth_error(&s1->transaction_id, RSP_SGP22_AUTH_ERR_INVALID_CERTIFICATE, resp);
    int ci = -1, code;
    bool ci_unknown;
    char oid[EUICC_OID_MAX];
    struct rsp_buf oid_der = RSP_BUF_INIT;
    code = check_dp_cert(e, cert, RSP_ROLE_DP_AUTH, &ci, &ci_unknown);
    if (!code && (rsp_cert_registered_id(cert, oid, sizeof oid) != 0 ||
                  rsp_oid_from_str(&oid_der, oid) != 0 || oid_der.len > EUICC_OID_MAX))
        code = RSP_SGP22_AUTH_ERR_INVALID_OID;
    if (!code && verify_sig(cert, s1->raw.raw, s1->raw.raw_len, &rq.server_signature1) != 0)
        code = RSP_SGP22_AUTH_ERR_INVALID_SIGNATURE;
    if (!code && memcmp(s1->euicc_challenge.p, s->challenge, 16) != 0)
        code = RSP_SGP22_AUTH_ERR_EUICC_CHALLENGE_MISMATCH;
    if (!code && (rq.euicc_ci_pkid_to_be_used.len != RSP_KEYID_LEN ||
                  memcmp(rq.euicc_ci_pkid_to_be_used.p, e->sign_pkid, RSP_KEYID_LEN) != 0))
        code = RSP_SGP22_AUTH_ERR_CI_PK_UNKNOWN;
    if (!code && s1->server_address.len > EUICC_ADDR_MAX)
        code = RSP_SGP22_AUTH_ERR_UNDEFINED;
    rsp_cert_free(cert);
    if (code) {
        rsp_buf_free(&oid_der);
        return auth_error(&s1->transaction_id, code, resp);
    }

    /* euiccSigned1 over the received serverAddress, serverChallenge and ctxParams1. */
    struct rsp_buf info2 = RSP_BUF_INIT, signed1 = RSP_BUF_INIT;
    struct rsp_sgp22_authenticate_server_response r;
    memset(&r, 0, sizeof r);
    r.ok = true;
    struct rsp_sgp22_euicc_signed1 *es1 = &r.euicc_signed1;
    es1->transaction_id = s1->transaction_id;
    es1->server_address = s1->server_address;
    es1->server_challenge = s1->server_challenge;
    es1->ctx_params1 = rq.ctx_params1;
    uint8_t sig[RSP_ECDSA_SIG_LEN];
    if ((rc = es10b_euicc_info2_encode(e, &info2)) != 0 ||
        (rc = rsp_der_parse_one(info2.data, info2.len, &es1->euicc_info2)) != 0 ||
        (rc = rsp_sgp22_euicc_signed1_encode(es1, &signed1)) != 0 ||
        (rc = rsp_der_parse_one(signed1.data, signed1.len, &es1->raw)) != 0 ||
        (rc = rsp_ecdsa_sign(e->sk, signed1.data, signed1.len, sig)) != 0 ||
        (rc = euicc_cert_tlv(e->cert_euicc, &r.euicc_certificate)) != 0 ||
        (rc = euicc_cert_tlv(e->cert_eum, &r.eum_certificate)) != 0)
        goto out;
    if (e->faults.bad_signature == 1)
        sig[RSP_ECDSA_SIG_LEN - 1] ^= 1; /* TEST fault: a signature that does not verify */
    r.euicc_signature1.p = sig;
    r.euicc_signature1.len = sizeof sig;
    if ((rc = rsp_sgp22_authenticate_server_response_encode(&r, resp)) != 0)
        goto out;
    memcpy(s->tid, s1->transaction_id.p, s1->transaction_id.len);
    s->tid_len = s1->transaction_id.len;
    memcpy(s->server_address, s1->server_address.p, s1->server_address.len);
    s->server_address[s1->server_address.len] = 0;
    /* TEST ONLY hook: a recorded euiccSignature1 for replaying a recorded smdpSignature2 */
    memcpy(s->euicc_sig1, e->hook_sig1 ? e->hook_euicc_sig1 : sig, sizeof sig);
    s->ci_index = ci;
    snprintf(s->dpauth_oid, sizeof s->dpauth_oid, "%s", oid);
    memcpy(s->dp_oid, oid_der.data, oid_der.len);
    s->dp_oid_len = oid_der.len;
    es10b_session_goto(e, SESS_AUTHENTICATED);
out:
    rsp_buf_free(&oid_der);
    rsp_buf_free(&info2);
    rsp_buf_free(&signed1);
    return rc;
}

/* ---- PrepareDownload (§5.7.5) -----------------------------------------------------------------
 */

static int dl_error(const struct rsp_sgp22_bytes *tid, int code, struct rsp_buf *resp)
{
    struct rsp_sgp22_prepare_download_response r;
    memset(&r, 0, sizeof r);
    r.ok = false;
    r.transaction_id = *tid;
    r.error_code = code;
    return rsp_sgp22_prepare_download_response_encode(&r, resp);
}

/* Picks otSK.EUICC.ECKA: the kept pair when bppEuiccOtpk names it for this SM-DP+ (addendum §3.2),
 * else a fresh pair on the curve of CERT.DPpb, which becomes the kept one. *changed tells whether
 * the persistent state changed. */
static int select_otsk(struct rsp_euicc *e, const struct rsp_sgp22_smdp_signed2 *s2,
                       enum rsp_curve curve, bool *changed)
{
    struct euicc_session *s = &e->sess;
    *changed = false;
    if (e->hook_otpk) { /* TEST ONLY: a recorded otPK whose private key is unknown (Z is given) */
        memcpy(s->otpk, e->hook_otpk_pt, RSP_EC_POINT_LEN);
        s->hooked_otpk = true;
        return 0;
    }
    if (s2->has_bpp_euicc_otpk && e->kept_otsk && s2->bpp_euicc_otpk.len == RSP_EC_POINT_LEN &&
        !memcmp(s2->bpp_euicc_otpk.p, e->kept_otpk, RSP_EC_POINT_LEN) &&
        e->kept_dp_oid_len == s->dp_oid_len && !memcmp(e->kept_dp_oid, s->dp_oid, s->dp_oid_len) &&
        rsp_key_curve(e->kept_otsk) == curve) {
        memcpy(s->otpk, e->kept_otpk, RSP_EC_POINT_LEN);
        return 0;
    }
    struct rsp_key *k = NULL;
    int rc = rsp_key_generate(curve, &k);
    if (rc == 0)
        rc = rsp_key_point(k, s->otpk);
    if (rc != 0) {
        rsp_key_free(k);
        return rc;
    }
    euicc_drop_kept_key(e);
    e->kept_otsk = k;
    memcpy(e->kept_otpk, s->otpk, RSP_EC_POINT_LEN);
    memcpy(e->kept_dp_oid, s->dp_oid, s->dp_oid_len);
    e->kept_dp_oid_len = s->dp_oid_len;
    *changed = true;
    return 0;
}

int es10b_prepare_download(struct rsp_euicc *e, const uint8_t *cmd, size_t len,
                           struct rsp_buf *resp)
{
    struct rsp_sgp22_prepare_download_request rq;
    int rc = rsp_sgp22_prepare_download_request_decode(cmd, len, &rq);
    if (rc != 0)
        return rc;
    const struct rsp_sgp22_smdp_signed2 *s2 = &rq.smdp_signed2;
    const struct rsp_sgp22_bytes *tid = &s2->transaction_id;
    struct euicc_session *s = &e->sess;
    if (s->st != SESS_AUTHENTICATED)
        return dl_error(tid, RSP_SGP22_DL_ERR_NO_SESSION_CONTEXT, resp);
    if (tid->len != s->tid_len || memcmp(tid->p, s->tid, s->tid_len) != 0)
        return dl_error(tid, RSP_SGP22_DL_ERR_INVALID_TRANSACTION_ID, resp);
    struct rsp_cert *cert = NULL;
    if (rsp_cert_parse_cached(rq.smdp_certificate.raw, rq.smdp_certificate.raw_len, &cert) != 0)
        return dl_error(tid, RSP_SGP22_DL_ERR_INVALID_CERTIFICATE, resp);
    int ci = -1;
    bool ci_unknown;
    int code = check_dp_cert(e, cert, RSP_ROLE_DP_PB, &ci, &ci_unknown);
    if (ci_unknown)
        code = RSP_SGP22_DL_ERR_INVALID_CERTIFICATE; /* no ciPKUnknown among download codes */
    /* Same CI as CERT.DPauth, and the same SM-DP+ (OID in subjectAltName). */
    char oid[EUICC_OID_MAX];
    if (!code && (ci != s->ci_index || rsp_cert_registered_id(cert, oid, sizeof oid) != 0 ||
                  strcmp(oid, s->dpauth_oid) != 0))
        code = RSP_SGP22_DL_ERR_INVALID_CERTIFICATE;
    struct rsp_buf in = RSP_BUF_INIT;
    if (!code) {
        rc = rsp_sgp22_smdp_signature2_input(s2->raw.raw, s2->raw.raw_len, s->euicc_sig1, &in);
        if (rc != 0) {
            rsp_cert_free(cert);
            rsp_buf_free(&in);
            return rc;
        }
        if (verify_sig(cert, in.data, in.len, &rq.smdp_signature2) != 0)
            code = RSP_SGP22_DL_ERR_INVALID_SIGNATURE;
    }
    rsp_buf_free(&in);
    /* §3.1.3: with ccRequiredFlag the LPA must supply hashCc, which the eUICC signs along. */
    if (!code && s2->cc_required && !rq.has_hash_cc)
        code = RSP_SGP22_DL_ERR_UNDEFINED;
    enum rsp_curve curve = rsp_cert_curve(cert);
    struct rsp_key *dppb_pub = NULL;
    if (!code && (rc = rsp_cert_pubkey(cert, &dppb_pub)) != 0) {
        rsp_cert_free(cert);
        return rc;
    }
    rsp_cert_free(cert);
    if (code)
        return dl_error(tid, code, resp);

    bool changed;
    if ((rc = select_otsk(e, s2, curve, &changed)) != 0) {
        rsp_key_free(dppb_pub);
        return rc;
    }
    struct rsp_buf signed2 = RSP_BUF_INIT;
    struct rsp_sgp22_prepare_download_response r;
    memset(&r, 0, sizeof r);
    r.ok = true;
    r.euicc_signed2.transaction_id = *tid;
    r.euicc_signed2.euicc_otpk.p = s->otpk;
    r.euicc_signed2.euicc_otpk.len = RSP_EC_POINT_LEN;
    if (s2->cc_required) {
        r.euicc_signed2.has_hash_cc = true;
        r.euicc_signed2.hash_cc = rq.hash_cc;
    }
    uint8_t sig[RSP_ECDSA_SIG_LEN];
    if ((rc = rsp_sgp22_euicc_signed2_encode(&r.euicc_signed2, &signed2)) != 0 ||
        (rc = rsp_der_parse_one(signed2.data, signed2.len, &r.euicc_signed2.raw)) != 0 ||
        (rc = rsp_sgp22_euicc_signature2_input(signed2.data, signed2.len, rq.smdp_signature2.p,
                                               &in)) != 0 ||
        (rc = rsp_ecdsa_sign(e->sk, in.data, in.len, sig)) != 0)
        goto out;
    if (e->faults.bad_signature == 2)
        sig[RSP_ECDSA_SIG_LEN - 1] ^= 1; /* TEST fault: a signature that does not verify */
    r.euicc_signature2.p = sig;
    r.euicc_signature2.len = sizeof sig;
    if ((rc = rsp_sgp22_prepare_download_response_encode(&r, resp)) != 0)
        goto out;
    rsp_key_free(s->dppb_pub);
    s->dppb_pub = dppb_pub;
    dppb_pub = NULL;
    es10b_session_goto(e, SESS_PREPARED);
    if (changed)
        rc = euicc_save(e);
out:
    rsp_key_free(dppb_pub);
    rsp_buf_free(&in);
    rsp_buf_free(&signed2);
    return rc;
}

/* ---- CancelSession (§5.7.14) ------------------------------------------------------------------
 */

int es10b_cancel_session(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    struct rsp_sgp22_cancel_session_request rq;
    int rc = rsp_sgp22_cancel_session_request_decode(cmd, len, &rq);
    if (rc != 0)
        return rc;
    struct euicc_session *s = &e->sess;
    struct rsp_sgp22_cancel_session_response r;
    memset(&r, 0, sizeof r);
    if (s->st < SESS_AUTHENTICATED || rq.transaction_id.len != s->tid_len ||
        memcmp(rq.transaction_id.p, s->tid, s->tid_len) != 0) {
        r.ok = false;
        r.error_code = RSP_SGP22_CANCEL_ERR_INVALID_TRANSACTION_ID;
        return rsp_sgp22_cancel_session_response_encode(&r, resp);
    }
    struct rsp_buf signed_part = RSP_BUF_INIT;
    uint8_t sig[RSP_ECDSA_SIG_LEN];
    r.ok = true;
    r.signed_part.transaction_id = rq.transaction_id;
    r.signed_part.smdp_oid.p = s->dp_oid;
    r.signed_part.smdp_oid.len = s->dp_oid_len;
    r.signed_part.reason = rq.reason;
    if ((rc = rsp_sgp22_euicc_cancel_session_signed_encode(&r.signed_part, &signed_part)) != 0 ||
        (rc = rsp_der_parse_one(signed_part.data, signed_part.len, &r.signed_part.raw)) != 0 ||
        (rc = rsp_ecdsa_sign(e->sk, signed_part.data, signed_part.len, sig)) != 0)
        goto out;
    r.signature.p = sig;
    r.signature.len = sizeof sig;
    if ((rc = rsp_sgp22_cancel_session_response_encode(&r, resp)) != 0)
        goto out;
    /* postponed / timeout: the unused pair stays kept for a retry; other reasons end the order. */
    bool keep = rq.reason == RSP_SGP22_CANCEL_POSTPONED || rq.reason == RSP_SGP22_CANCEL_TIMEOUT;
    bool had_key = s->st >= SESS_PREPARED && e->kept_otsk;
    es10b_session_discard(e);
    if (!keep && had_key) {
        euicc_drop_kept_key(e);
        rc = euicc_save(e);
    }
out:
    rsp_buf_free(&signed_part);
    return rc;
}

/* ---- notifications (§5.7.9-§5.7.11) -----------------------------------------------------------
 */

/* The NotificationMetadata (BF2F) inside a stored PendingNotification. */
static int notif_metadata(const struct euicc_notif *nt, struct rsp_tlv *md)
{
    struct rsp_sgp22_pending_notification pn;
    int rc = rsp_sgp22_pending_notification_decode(nt->pending.data, nt->pending.len, &pn);
    if (rc != 0)
        return rc;
    *md = pn.is_pir ? pn.pir.data.notification_metadata.raw : pn.other.tbs.raw;
    return 0;
}

int es10b_list_notification(struct rsp_euicc *e, const uint8_t *cmd, size_t len,
                            struct rsp_buf *resp)
{
    struct rsp_es10_list_notif_req rq;
    int rc = rsp_es10_list_notif_req_decode(cmd, len, &rq);
    if (rc != 0)
        return rc;
    struct rsp_es10_notif_list l;
    memset(&l, 0, sizeof l);
    for (size_t i = 0; i < e->n_notifs && l.n < RSP_ES10_MAX_NOTIFICATIONS; i++) {
        if (rq.has_pmo && !(rq.pmo & e->notifs[i].pmo))
            continue;
        if ((rc = notif_metadata(&e->notifs[i], &l.items[l.n])) != 0)
            return rc;
        l.n++;
    }
    return rsp_es10_list_notif_resp_encode(&l, resp);
}

int es10b_retrieve_notifications(struct rsp_euicc *e, const uint8_t *cmd, size_t len,
                                 struct rsp_buf *resp)
{
    struct rsp_es10_retrieve_notif_req rq;
    int rc = rsp_es10_retrieve_notif_req_decode(cmd, len, &rq);
    if (rc != 0)
        return rc;
    struct rsp_es10_notif_list l;
    memset(&l, 0, sizeof l);
    for (size_t i = 0; i < e->n_notifs && l.n < RSP_ES10_MAX_NOTIFICATIONS; i++) {
        const struct euicc_notif *nt = &e->notifs[i];
        if ((rq.kind == RSP_ES10_RETRIEVE_SEQ && nt->seq != rq.seq_number) ||
            (rq.kind == RSP_ES10_RETRIEVE_PMO && !(rq.pmo & nt->pmo)))
            continue;
        if ((rc = rsp_der_parse_one(nt->pending.data, nt->pending.len, &l.items[l.n])) != 0)
            return rc;
        l.n++;
    }
    return rsp_es10_retrieve_notif_resp_encode(&l, resp);
}

int es10b_remove_notification(struct rsp_euicc *e, const uint8_t *cmd, size_t len,
                              struct rsp_buf *resp)
{
    uint64_t seq;
    int rc = rsp_es10_notif_sent_req_decode(cmd, len, &seq);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < e->n_notifs; i++) {
        if (e->notifs[i].seq != seq)
            continue;
        struct rsp_buf gone = e->notifs[i].pending;
        memmove(&e->notifs[i], &e->notifs[i + 1], (e->n_notifs - i - 1) * sizeof e->notifs[0]);
        e->n_notifs--;
        rsp_buf_free(&gone);
        if ((rc = euicc_save(e)) != 0)
            return rc;
        return rsp_es10_notif_sent_resp_encode(RSP_NOTIF_SENT_OK, resp);
    }
    return rsp_es10_notif_sent_resp_encode(RSP_NOTIF_SENT_NOTHING_TO_DELETE, resp);
}

int es10b_queue_other_notification(struct rsp_euicc *e, const struct euicc_profile *p, uint32_t pmo)
{
    struct rsp_sgp22_store_metadata_request md;
    int rc = rsp_sgp22_store_metadata_request_decode(p->metadata.data, p->metadata.len, &md);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < md.n_notification_config; i++) {
        const struct rsp_sgp22_notification_config *nc = &md.notification_config[i];
        if (!(nc->events & pmo))
            continue;
        struct rsp_buf tbs = RSP_BUF_INIT, out = RSP_BUF_INIT;
        struct rsp_sgp22_other_signed_notification n;
        memset(&n, 0, sizeof n);
        n.tbs.seq_number = (int64_t)e->next_seq;
        n.tbs.pmo = pmo;
        n.tbs.address = nc->address;
        n.tbs.has_iccid = true;
        n.tbs.iccid.p = p->iccid.b;
        n.tbs.iccid.len = RSP_ICCID_LEN;
        uint8_t sig[RSP_ECDSA_SIG_LEN];
        if ((rc = rsp_sgp22_notification_metadata_encode(&n.tbs, &tbs)) == 0 &&
            (rc = rsp_der_parse_one(tbs.data, tbs.len, &n.tbs.raw)) == 0 &&
            (rc = rsp_ecdsa_sign(e->sk, tbs.data, tbs.len, sig)) == 0 &&
            (rc = euicc_cert_tlv(e->cert_euicc, &n.euicc_certificate)) == 0 &&
            (rc = euicc_cert_tlv(e->cert_eum, &n.eum_certificate)) == 0) {
            n.signature.p = sig;
            n.signature.len = sizeof sig;
            if ((rc = rsp_sgp22_other_signed_notification_encode(&n, &out)) == 0 &&
                (rc = euicc_notif_add(e, e->next_seq, pmo, out.data, out.len)) == 0)
                e->next_seq++;
        }
        rsp_buf_free(&tbs);
        rsp_buf_free(&out);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- GetRAT (§5.7.22): no rule authorises any PPR on this eUICC. ----------------------------- */

int es10b_get_rat(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    (void)e;
    int rc = rsp_es10_empty_decode(RSP_ES10_TAG_GET_RAT, cmd, len);
    if (rc != 0)
        return rc;
    struct rsp_es10_rat rat;
    memset(&rat, 0, sizeof rat);
    return rsp_es10_rat_encode(&rat, resp);
}
