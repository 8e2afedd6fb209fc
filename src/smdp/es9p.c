/* ES9+ handlers of the SM-DP+ (see rsp/es9p.h). State lives in the store only. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/es2p.h"
#include "rsp/es9p.h"
#include "rsp/manifest.h"
#include "rsp/sgp22_auth.h"
#include "rsp/sgp22_es10.h"
#include "rsp/smdp_bpp.h"

#define ACTOR           "es9p"
#define HOST_ID         "rspkit-smdp"
#define DEFAULT_LIFE    600
#define DEFAULT_CC_MAX  3
#define NP_ELIGIBILITY  1 /* ES2+ notification points (SGP.22 §5.3.5) */
#define NP_CC           2
#define NP_BPP_DOWNLOAD 3
#define NP_INSTALLATION 4

static int64_t now_of(const struct rsp_es9p_config *cfg)
{
    return (int64_t)(cfg->clock ? cfg->clock(cfg->clock_ctx) : time(NULL));
}

static int refuse(struct rsp_es9_response *resp, enum rsp_sc id)
{
    memset(&resp->status, 0, sizeof resp->status);
    resp->status.status = RSP_ES_FAILED;
    resp->status.has_code = true;
    rsp_sc_set(&resp->status.code, id);
    return 0;
}

static void succeed(struct rsp_es9_response *resp)
{
    memset(&resp->status, 0, sizeof resp->status);
    resp->status.status = RSP_ES_SUCCESS;
}

static const struct rsp_es9p_creds *creds_for_curve(const struct rsp_es9p_config *cfg, int curve)
{
    for (size_t i = 0; i < cfg->n_creds; i++)
        if ((int)rsp_cert_curve(cfg->creds[i].dpauth) == curve)
            return &cfg->creds[i];
    return NULL;
}

/* The trusted CI whose SKI is `pkid`, or NULL. */
static const struct rsp_cert *trusted_ci(const struct rsp_es9p_config *cfg, const uint8_t *pkid,
                                         size_t pkid_len)
{
    uint8_t ski[RSP_KEYID_LEN];
    if (pkid_len != RSP_KEYID_LEN)
        return NULL;
    for (size_t i = 0; i < cfg->n_creds + cfg->n_cis; i++) {
        const struct rsp_cert *c = i < cfg->n_creds ? cfg->creds[i].ci : cfg->cis[i - cfg->n_creds];
        if (c && rsp_cert_ski(c, ski) == 0 && memcmp(ski, pkid, RSP_KEYID_LEN) == 0)
            return c;
    }
    return NULL;
}

static bool pkid_in(const struct rsp_es10_pkid_list *l, const uint8_t ski[RSP_KEYID_LEN])
{
    for (size_t i = 0; i < l->n; i++)
        if (l->id[i].len == RSP_KEYID_LEN && memcmp(l->id[i].p, ski, RSP_KEYID_LEN) == 0)
            return true;
    return false;
}

/* Our SM-DP+ OID: the registeredID of CERT.DPauth. */
static int smdp_oid(const struct rsp_es9p_creds *c, char *out, size_t outlen)
{
    return rsp_cert_registered_id(c->dpauth, out, outlen);
}

/* The SubjectPublicKeyInfo TLV of a DER certificate (Certificate { tbsCertificate { [0] version,
 * serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, ... } ... }). */
static int cert_spki(const uint8_t *der, size_t len, struct rsp_tlv *spki)
{
    struct rsp_tlv cert, tbs, t;
    struct rsp_der_iter it;
    int rc = rsp_der_parse_tag(der, len, 0x30, &cert);
    if (rc)
        return rc;
    rsp_der_iter_value(&it, &cert);
    if ((rc = rsp_der_req(&it, 0x30, &tbs)) != 0)
        return rc;
    rsp_der_iter_value(&it, &tbs);
    if ((rc = rsp_der_opt(&it, 0xA0, &t)) < 0 || (rc = rsp_der_req(&it, 0x02, &t)) != 0)
        return rc;
    for (int i = 0; i < 4; i++) /* signature, issuer, validity, subject */
        if ((rc = rsp_der_req(&it, 0x30, &t)) != 0)
            return rc;
    return rsp_der_req(&it, 0x30, spki);
}

/* The public key of a certificate that was verified before (the eUICC's, stored with the session
 * at authenticateClient after its chain check): read from the DER directly, without building an
 * X509 object; anything unusual takes the full parse. */
static int cert_pub(const uint8_t *der, size_t len, struct rsp_key **out)
{
    struct rsp_tlv spki;
    if (cert_spki(der, len, &spki) == 0 && rsp_key_from_spki(spki.raw, spki.raw_len, out) == 0)
        return 0;
    struct rsp_cert *c = NULL;
    int rc = rsp_cert_parse(der, len, &c);
    if (rc == 0)
        rc = rsp_cert_pubkey(c, out);
    rsp_cert_free(c);
    return rc;
}

/* 0 if sig verifies over msg with the public key of the DER certificate. */
static int verify_with(const uint8_t *cert, size_t cert_len, const uint8_t *msg, size_t n,
                       const uint8_t *sig, size_t sig_len)
{
    struct rsp_key *pub = NULL;
    int rc = cert_pub(cert, cert_len, &pub);
    if (rc == 0)
        rc = rsp_ecdsa_verify(pub, msg, n, sig, sig_len);
    rsp_key_free(pub);
    return rc;
}

static int append_sig_tlv(struct rsp_buf *b, const uint8_t sig[RSP_ECDSA_SIG_LEN])
{
    return rsp_der_put(b, 0x5F37, sig, RSP_ECDSA_SIG_LEN);
}

static int append_cert(struct rsp_buf *b, const struct rsp_cert *c)
{
    const uint8_t *der;
    size_t len;
    int rc = rsp_cert_der(c, &der, &len);
    return rc ? rc : rsp_buf_append(b, der, len);
}

/* ES2+ HandleDownloadProgressInfo for the operator (delivered by the ES2+ outbox sender). */
static int notify_operator(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                           const struct rsp_profile *p, const char *eid, int point,
                           const struct rsp_status_code *failure)
{
    const struct rsp_es2p_operator *op = NULL;
    for (size_t i = 0; i < cfg->n_operators && !op; i++)
        if (strcmp(cfg->operators[i].id, p->owner) == 0)
            op = &cfg->operators[i];
    if (!op)
        return 0; /* nobody to tell */
    struct rsp_profile q = *p;
    if (eid && eid != p->eid)
        snprintf(q.eid, sizeof q.eid, "%s", eid);
    struct rsp_es_exec_status status;
    memset(&status, 0, sizeof status);
    status.status = failure ? RSP_ES_FAILED : RSP_ES_SUCCESS;
    if (failure) {
        status.has_code = true;
        status.code = *failure;
    }
    return rsp_es2p_notify_enqueue(st, op, cfg->host, &q, point, &status, NULL, 0, now_of(cfg));
}

static int end_session(struct rsp_store *st, const struct rsp_session *s, enum rsp_session_state to,
                       const char *reason);

/* ---- initiateAuthentication ---- */

int rsp_es9p_initiate_authentication(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                                     const struct rsp_es9_initiate_auth_req *req,
                                     struct rsp_es9_response *resp)
{
    if (!cfg || !st || !req || !resp || !cfg->host)
        return RSP_EINVAL;
    /* DNS names compare case-insensitively (RFC 4343); the port, if any, is part of the address. */
    if (strcasecmp(req->smdp_address, cfg->host) != 0)
        return refuse(resp, RSP_SC_SMDP_ADDRESS_REFUSED);
    struct rsp_euicc_info1 info;
    if (rsp_euicc_info1_decode(req->euicc_info1.data, req->euicc_info1.len, &info) != 0)
        return refuse(resp, RSP_SC_BAD_FORMAT);
    if (info.svn[0] != 2)
        return refuse(resp, RSP_SC_SVN_UNSUPPORTED);
    /* The eUICC must sign with a CI we trust (8.8.2) and verify a CI that issued our DPauth
     * (8.8.4); prefer one CI for both. */
    const struct rsp_es9p_creds *cr = NULL;
    uint8_t ski[RSP_KEYID_LEN], sign_pkid[RSP_KEYID_LEN];
    bool have_sign = false;
    for (size_t i = 0; i < info.ci_sign.n && !have_sign; i++)
        if (trusted_ci(cfg, info.ci_sign.id[i].p, info.ci_sign.id[i].len)) {
            memcpy(sign_pkid, info.ci_sign.id[i].p, RSP_KEYID_LEN);
            have_sign = true;
        }
    if (!have_sign)
        return refuse(resp, RSP_SC_CI_PK_UNSUPPORTED);
    for (size_t i = 0; i < cfg->n_creds; i++) {
        if (rsp_cert_ski(cfg->creds[i].ci, ski) != 0 || !pkid_in(&info.ci_verify, ski))
            continue;
        if (!cr || pkid_in(&info.ci_sign, ski))
            cr = &cfg->creds[i];
        if (pkid_in(&info.ci_sign, ski)) {
            memcpy(sign_pkid, ski, RSP_KEYID_LEN);
            break;
        }
    }
    if (!cr)
        return refuse(resp, RSP_SC_DP_CERT_UNAVAILABLE);

    struct rsp_session s;
    rsp_session_init(&s);
    struct rsp_tid tid = {.len = 16};
    int rc = 0;
    if (cfg->test_only_pinned_tid)
        memcpy(tid.b, cfg->test_only_pinned_tid, 16);
    else
        rc = rsp_random(tid.b, 16);
    struct rsp_es9_initiate_auth_resp *o = &resp->u.initiate_auth;
    uint8_t sig1[RSP_ECDSA_SIG_LEN];
    if (rc == 0)
        rc = rsp_smdp_server_signed1_build(tid.b, tid.len, req->euicc_challenge, cfg->host,
                                           cfg->test_only_pinned_server_challenge, cr->sk_dpauth,
                                           &o->server_signed1, sig1, s.server_challenge);
    if (rc == 0)
        rc = append_sig_tlv(&o->server_signature1, sig1);
    if (rc == 0)
        rc = rsp_der_put(&o->euicc_ci_pkid, 0x04, sign_pkid, RSP_KEYID_LEN);
    if (rc == 0)
        rc = append_cert(&o->server_certificate, cr->dpauth);
    if (rc == 0) {
        rsp_tid_to_hex(&tid, s.tid);
        s.state = RSP_SESSION_STARTED;
        memcpy(s.euicc_challenge, req->euicc_challenge, 16);
        s.curve = (int)rsp_cert_curve(cr->dpauth);
        memcpy(s.ci_pkid, sign_pkid, RSP_KEYID_LEN);
        s.ci_pkid_len = RSP_KEYID_LEN;
        s.expires_at = now_of(cfg) + (cfg->session_lifetime ? cfg->session_lifetime : DEFAULT_LIFE);
        rc = rsp_store_session_insert(st, &s, ACTOR);
    }
    rsp_session_free(&s);
    if (rc)
        return rc;
    o->transaction_id = tid;
    succeed(resp);
    snprintf(resp->tele.event, sizeof resp->tele.event, RSP_TELE_EV_STARTED);
    return 0;
}

/* An order past cfg->order_lifetime ends: profile Error (audited), ES2+ notified at `point`,
 * 8.8.5/4.10. Returns 1 when it did (resp filled), 0 when the order is live, or RSP_E*. */
static int order_expired(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                         const struct rsp_profile *p, const char *eid, int point,
                         struct rsp_es9_response *resp)
{
    if (!cfg->order_lifetime || p->state != RSP_PROFILE_RELEASED ||
        now_of(cfg) - p->state_since <= (int64_t)cfg->order_lifetime)
        return 0;
    struct rsp_profile pn = *p;
    pn.state = RSP_PROFILE_ERROR;
    snprintf(pn.error_reason, sizeof pn.error_reason, "order expired");
    int rc = rsp_store_profile_update(st, p, &pn, ACTOR, "order expired");
    if (rc == RSP_ESTATE) { /* changed meanwhile */
        refuse(resp, RSP_SC_ORDER_EXPIRED);
        return 1;
    }
    if (rc == 0)
        rc = notify_operator(cfg, st, p, eid, point, rsp_sc(RSP_SC_ORDER_EXPIRED));
    if (rc)
        return rc;
    refuse(resp, RSP_SC_ORDER_EXPIRED);
    return 1;
}

/* ---- authenticateClient ---- */

/* Loads a live session in one of the wanted states (bit mask); false: answer 8.10.1/3.9. */
static int load_session(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                        const struct rsp_tid *tid, unsigned states, struct rsp_session *s, bool *ok)
{
    char hex[2 * RSP_TID_MAX + 1];
    rsp_tid_to_hex(tid, hex);
    *ok = false;
    int rc = rsp_store_session_get(st, hex, s);
    if (rc == RSP_ENOTFOUND || rc == RSP_ESYNTAX)
        return 0;
    if (rc)
        return rc;
    if (!(states & (1u << s->state)))
        return 0;
    if (s->state <= RSP_SESSION_BPP_BOUND && s->expires_at <= now_of(cfg))
        return 0;
    *ok = true;
    return 0;
}

static bool bytes_eq(struct rsp_sgp22_bytes b, const uint8_t *p, size_t n)
{
    return b.len == n && memcmp(b.p, p, n) == 0;
}

/* Digits to packed BCD pairs (first digit in the low nibble), F-padded. */
static void put_mcc_mnc(const char *imsi, uint8_t out[3])
{
    out[0] = (uint8_t)((imsi[1] - '0') << 4 | (imsi[0] - '0'));
    out[1] = (uint8_t)(0xF0 | (imsi[2] - '0'));
    out[2] = (uint8_t)((imsi[4] - '0') << 4 | (imsi[3] - '0'));
}

/* StoreMetadataRequest from the profile row (profileMetadata, and the BPP's StoreMetadata). */
static int build_metadata(const struct rsp_es9p_config *cfg, const struct rsp_profile *p,
                          struct rsp_buf *out)
{
    struct rsp_iccid iccid;
    int rc = rsp_iccid_from_str(p->iccid, &iccid);
    if (rc)
        return rc;
    struct rsp_sgp22_store_metadata_request md;
    memset(&md, 0, sizeof md);
    md.iccid.p = iccid.b;
    md.iccid.len = RSP_ICCID_LEN;
    md.service_provider_name.p = (const uint8_t *)p->spn;
    md.service_provider_name.len = strlen(p->spn);
    md.profile_name.p = (const uint8_t *)p->name;
    md.profile_name.len = strlen(p->name);
    if (p->pclass != RSP_PROFILE_CLASS_OPERATIONAL) {
        md.has_profile_class = true;
        md.profile_class = p->pclass;
    }
    md.has_notification_config = true;
    md.n_notification_config = 1;
    md.notification_config[0].events =
        RSP_NOTIF_INSTALL | RSP_NOTIF_ENABLE | RSP_NOTIF_DISABLE | RSP_NOTIF_DELETE;
    md.notification_config[0].address.p = (const uint8_t *)cfg->host;
    md.notification_config[0].address.len = strlen(cfg->host);
    uint8_t mccmnc[3];
    if (strlen(p->imsi) >= 5) {
        put_mcc_mnc(p->imsi, mccmnc);
        md.has_profile_owner = true;
        md.profile_owner.mcc_mnc.p = mccmnc;
        md.profile_owner.mcc_mnc.len = 3;
    }
    return rsp_sgp22_store_metadata_request_encode(&md, out);
}

/* The code of a chain refusal, from the result and the certificate at fault. */
static enum rsp_sc chain_code(int rc, enum rsp_cert_role failed)
{
    if (failed == RSP_ROLE_CI)
        return RSP_SC_CI_PK_UNKNOWN;
    bool eum = failed == RSP_ROLE_EUM;
    if (rc == RSP_EEXPIRED)
        return eum ? RSP_SC_EUM_CERT_EXPIRED : RSP_SC_EUICC_CERT_EXPIRED;
    return eum ? RSP_SC_EUM_CERT_INVALID : RSP_SC_EUICC_CERT_INVALID;
}

/* Checks CI -> EUM -> eUICC for a CI we trust with SKI `ci_pkid`. 0 ok, 1 refused with *code,
 * negative RSP_E* on failure. */
static int check_euicc_chain(const struct rsp_es9p_config *cfg, const uint8_t *ci_pkid,
                             size_t ci_pkid_len, const struct rsp_tlv *eum_t,
                             const struct rsp_tlv *euicc_t, enum rsp_sc *code, char eid[33])
{
    struct rsp_cert *eum = NULL, *euicc = NULL;
    uint8_t aki[RSP_KEYID_LEN];
    int bad = 1;
    /* The EUM certificate is the same for every eUICC of that manufacturer: parsed once per
     * process (verified on every call all the same). */
    if (rsp_cert_parse_cached(eum_t->raw, eum_t->raw_len, &eum) != 0) {
        *code = RSP_SC_EUM_CERT_INVALID;
    } else if (rsp_cert_parse(euicc_t->raw, euicc_t->raw_len, &euicc) != 0) {
        *code = RSP_SC_EUICC_CERT_INVALID;
    } else if (rsp_cert_aki(eum, aki) != 0 || ci_pkid_len != RSP_KEYID_LEN ||
               memcmp(aki, ci_pkid, RSP_KEYID_LEN) != 0 || !trusted_ci(cfg, ci_pkid, ci_pkid_len)) {
        *code = RSP_SC_CI_PK_UNKNOWN;
    } else {
        enum rsp_cert_role failed;
        int rc = rsp_cert_verify_euicc_chain_at(trusted_ci(cfg, ci_pkid, ci_pkid_len), eum, euicc,
                                                (time_t)now_of(cfg), &failed, NULL, 0);
        if (rc == RSP_ENOMEM)
            bad = rc;
        else if (rc != 0)
            *code = chain_code(rc, failed);
        else if (rsp_cert_eid(euicc, eid) != 0)
            *code = RSP_SC_EUICC_CERT_INVALID;
        else
            bad = 0;
    }
    rsp_cert_free(eum);
    rsp_cert_free(euicc);
    return bad;
}

/* ---- branch ops: activation tokens, quarantine, first contact and outcomes (rsp/act.h) ---- */

static int refuse_msg(struct rsp_es9_response *resp, enum rsp_sc id, const char *msg)
{
    refuse(resp, id);
    snprintf(resp->status.code.message, sizeof resp->status.code.message, "%s", msg);
    return 0;
}

/* The activation gate of a download about to start: 1 refused (resp filled, nothing changed), 0
 * go ahead, negative on a store failure. A matchingId without a token is not an activation order
 * (plain ES2+): only the EUM and profile-type cohorts apply to it. */
static int act_gate(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                    const struct rsp_profile *p, const char *mid, const char *eid,
                    struct rsp_es9_response *resp)
{
    struct rsp_act_token t;
    struct rsp_act_order o;
    bool have_order = false;
    int rc = mid[0] ? rsp_act_token_get(st, mid, &t) : RSP_ENOTFOUND;
    if (rc == 0) {
        if (t.revoked_at)
            return refuse_msg(resp, RSP_SC_MATCHING_ID_REFUSED, "Activation token revoked"), 1;
        if (t.expires_at && now_of(cfg) >= t.expires_at)
            return refuse_msg(resp, RSP_SC_ORDER_EXPIRED, "Activation token expired"), 1;
        have_order = rsp_act_order_get(st, t.order_id, &o) == 0;
        if (have_order) { /* branch tele: the order's campaign and country label the telemetry */
            snprintf(resp->tele.labels.campaign, sizeof resp->tele.labels.campaign, "%s",
                     o.campaign);
            snprintf(resp->tele.labels.country, sizeof resp->tele.labels.country, "%s", o.country);
        }
    } else if (rc != RSP_ENOTFOUND && rc != RSP_ESTATE) {
        return rc;
    }
    struct rsp_act_cohort c;
    rsp_act_cohort_of(have_order ? &o : NULL, eid, p->profile_type, &c);
    struct rsp_act_quarantine q;
    rc = rsp_act_quarantined(st, &c, &q);
    if (rc == 1) {
        char msg[128];
        snprintf(msg, sizeof msg, "Cohort %s %.60s is quarantined (activation integrity)",
                 rsp_act_dim_name(q.dim), q.value);
        return refuse_msg(resp, RSP_SC_MATCHING_ID_REFUSED, msg), 1;
    }
    return rc == RSP_ESTATE ? 0 : rc; /* RSP_ESTATE: a store without the act tables */
}

/* The outcome of the attempt of profile p (PIR or cancelSession); bookkeeping only: a failure here
 * does not change the answer to the eUICC. */
static void act_outcome(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                        const struct rsp_profile *p, bool installed, const char *reason)
{
    if (!p->matching_id[0])
        return;
    struct rsp_act_alert al;
    if (rsp_act_outcome(st, cfg->integrity, p->matching_id, installed, reason, now_of(cfg), &al) !=
        0)
        return;
    for (size_t i = 0; i < al.n && cfg->act_alert; i++)
        cfg->act_alert(cfg->act_alert_ctx, &al.q[i]);
}

int rsp_es9p_authenticate_client(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                                 const struct rsp_es9_auth_client_req *req,
                                 struct rsp_es9_response *resp)
{
    if (!cfg || !st || !req || !resp)
        return RSP_EINVAL;
    struct rsp_session s, next;
    rsp_session_init(&s);
    rsp_session_init(&next);
    struct rsp_buf md = RSP_BUF_INIT, prev_otpk = RSP_BUF_INIT;
    bool ok;
    int rc = load_session(cfg, st, &req->transaction_id, 1u << RSP_SESSION_STARTED, &s, &ok);
    if (rc || !ok) {
        if (rc == 0)
            refuse(resp, RSP_SC_TID_UNKNOWN);
        goto out;
    }
    struct rsp_sgp22_authenticate_server_response ar;
    if (rsp_sgp22_authenticate_server_response_decode(req->authenticate_server_response.data,
                                                      req->authenticate_server_response.len,
                                                      &ar) != 0) {
        refuse(resp, RSP_SC_BAD_FORMAT);
        goto out;
    }
    if (!ar.ok) {
        /* The eUICC refused the server: v2.2 names no code (addendum §1.5); 8.1/6.1 and the
         * session ends. */
        if (!bytes_eq(ar.transaction_id, req->transaction_id.b, req->transaction_id.len)) {
            refuse(resp, RSP_SC_TID_UNKNOWN);
            goto out;
        }
        rc = end_session(st, &s, RSP_SESSION_CANCELLED, "authenticateServer error");
        if (rc == 0)
            refuse(resp, RSP_SC_EUICC_SIG_INVALID);
        goto out;
    }
    const struct rsp_sgp22_euicc_signed1 *e1 = &ar.euicc_signed1;
    if (!bytes_eq(e1->transaction_id, req->transaction_id.b, req->transaction_id.len)) {
        refuse(resp, RSP_SC_TID_UNKNOWN);
        goto out;
    }
    if (!bytes_eq(e1->server_challenge, s.server_challenge, 16) ||
        !bytes_eq(e1->server_address, (const uint8_t *)cfg->host, strlen(cfg->host))) {
        refuse(resp, RSP_SC_EUICC_SIG_INVALID);
        goto out;
    }
    enum rsp_sc code;
    char eid[33];
    rc = check_euicc_chain(cfg, s.ci_pkid, s.ci_pkid_len, &ar.eum_certificate,
                           &ar.euicc_certificate, &code, eid);
    if (rc == 0)
        snprintf(resp->eid, sizeof resp->eid, "%s", eid);
    if (rc != 0) {
        if (rc > 0) {
            rc = 0;
            refuse(resp, code);
        }
        goto out;
    }
    if (verify_with(ar.euicc_certificate.raw, ar.euicc_certificate.raw_len, e1->raw.raw,
                    e1->raw.raw_len, ar.euicc_signature1.p, ar.euicc_signature1.len) != 0) {
        refuse(resp, RSP_SC_EUICC_SIG_INVALID);
        goto out;
    }
    /* Telemetry labels, from verified data only: the EUM identification (the first 8 digits of
     * the EID, as the activation-integrity cohorts of rsp/act.h) and the device's TAC (the first 8
     * digits of the IMEI when the LPA sent one, else the tac field). */
    snprintf(resp->tele.labels.eum, sizeof resp->tele.labels.eum, "%.8s", eid);
    if (e1->ctx_params1.has_imei)
        rsp_tele_tac_from_tbcd(e1->ctx_params1.imei.p, e1->ctx_params1.imei.len,
                               resp->tele.labels.tac);
    if (!resp->tele.labels.tac[0])
        rsp_tele_tac_from_tbcd(e1->ctx_params1.tac.p, e1->ctx_params1.tac.len,
                               resp->tele.labels.tac);
    /* The profile asked for. */
    char mid[RSP_STORE_TEXT_MAX + 1] = "";
    if (e1->ctx_params1.has_matching_id) {
        if (e1->ctx_params1.matching_id.len > RSP_STORE_TEXT_MAX) {
            refuse(resp, RSP_SC_MATCHING_ID_REFUSED);
            goto out;
        }
        memcpy(mid, e1->ctx_params1.matching_id.p, e1->ctx_params1.matching_id.len);
        mid[e1->ctx_params1.matching_id.len] = 0;
    }
    if (mid[0] && cfg->per_matching_id &&
        !rsp_ratelimit_take(cfg->per_matching_id, mid, (double)now_of(cfg), &resp->retry_after_s)) {
        resp->status.status = RSP_ES_FAILED;
        resp->status.has_code = false;
        goto out;
    }
    struct rsp_profile p, pn;
    rc = rsp_store_profile_find_download(st, mid, eid, &p);
    if (rc == RSP_ENOTFOUND || rc == RSP_EINVAL) {
        rc = 0;
        refuse(resp, RSP_SC_MATCHING_ID_REFUSED);
        goto out;
    }
    if (rc)
        goto out;
    snprintf(resp->tele.labels.profile_type, sizeof resp->tele.labels.profile_type, "%s",
             p.profile_type);
    if (p.state < RSP_PROFILE_RELEASED) {
        refuse(resp, RSP_SC_PROFILE_NOT_RELEASED);
        goto out;
    }
    /* Released, or Downloaded again by the EID it was bound to: the retry after an installation
     * that did not complete (§3.1.3 step 3; addendum §2.8). */
    bool retry = p.state == RSP_PROFILE_DOWNLOADED && p.eid[0] && strcmp(p.eid, eid) == 0;
    if (p.state != RSP_PROFILE_RELEASED && !retry) {
        refuse(resp, RSP_SC_MATCHING_ID_REFUSED);
        goto out;
    }
    if (p.eid[0] && strcmp(p.eid, eid) != 0) {
        refuse(resp, RSP_SC_EID_REFUSED);
        goto out;
    }
    rc = order_expired(cfg, st, &p, eid, NP_ELIGIBILITY, resp);
    if (rc != 0) {
        rc = rc > 0 ? 0 : rc;
        goto out;
    }
    rc = act_gate(cfg, st, &p, mid, eid, resp);
    if (rc != 0) {
        rc = rc > 0 ? 0 : rc;
        goto out;
    }
    pn = p;
    snprintf(pn.eid, sizeof pn.eid, "%s", eid);
    pn.download_attempts++;
    if (cfg->max_download_attempts && p.download_attempts >= cfg->max_download_attempts) {
        /* The order is terminated (addendum §3.1). */
        pn.download_attempts = p.download_attempts;
        pn.state = RSP_PROFILE_ERROR;
        snprintf(pn.error_reason, sizeof pn.error_reason, "download attempts exhausted");
        rc = rsp_store_profile_update(st, &p, &pn, ACTOR, "download attempts exhausted");
        if (rc == 0)
            rc = notify_operator(cfg, st, &p, eid, NP_ELIGIBILITY, rsp_sc(RSP_SC_DOWNLOAD_RETRIES));
        if (rc == 0)
            refuse(resp, RSP_SC_DOWNLOAD_RETRIES);
        goto out;
    }
    /* Retry rule: an earlier unsuccessful attempt of this EID bound a BPP to an otPK. */
    struct rsp_session prev;
    rsp_session_init(&prev);
    if (rsp_store_session_find_bound(st, p.iccid, &prev) == 0 && strcmp(prev.eid, eid) == 0 &&
        prev.otpk_euicc.len == RSP_EC_POINT_LEN)
        rc = rsp_buf_set(&prev_otpk, prev.otpk_euicc.data, prev.otpk_euicc.len);
    rsp_session_free(&prev);
    if (rc)
        goto out;

    const struct rsp_es9p_creds *cr = creds_for_curve(cfg, s.curve);
    if (!cr) {
        rc = RSP_ESTATE;
        goto out;
    }
    struct rsp_es9_auth_client_resp *o = &resp->u.auth_client;
    uint8_t sig2[RSP_ECDSA_SIG_LEN];
    rc = build_metadata(cfg, &p, &md);
    if (rc == 0)
        rc =
            rsp_smdp_smdp_signed2_build(req->transaction_id.b, req->transaction_id.len, p.cc_set,
                                        prev_otpk.len ? prev_otpk.data : NULL,
                                        ar.euicc_signature1.p, cr->sk_dppb, &o->smdp_signed2, sig2);
    if (rc == 0)
        rc = append_sig_tlv(&o->smdp_signature2, sig2);
    if (rc == 0)
        rc = append_cert(&o->smdp_certificate, cr->dppb);
    if (rc == 0)
        rc = rsp_buf_set(&o->profile_metadata, md.data, md.len);
    if (rc)
        goto out;

    /* Writes: the profile (EID binding, attempt count), then the session (replay guard). */
    rc = rsp_store_profile_update(st, &p, &pn, ACTOR, "authenticateClient");
    if (rc == RSP_ESTATE) {
        rc = 0;
        refuse(resp, RSP_SC_MATCHING_ID_REFUSED);
        goto out;
    }
    if (rc)
        goto out;
    memcpy(next.tid, s.tid, sizeof next.tid);
    snprintf(next.iccid, sizeof next.iccid, "%s", p.iccid);
    snprintf(next.eid, sizeof next.eid, "%s", eid);
    next.state = RSP_SESSION_AUTHENTICATED;
    memcpy(next.server_challenge, s.server_challenge, 16);
    memcpy(next.euicc_challenge, s.euicc_challenge, 16);
    next.curve = s.curve;
    memcpy(next.ci_pkid, s.ci_pkid, sizeof next.ci_pkid);
    next.ci_pkid_len = s.ci_pkid_len;
    next.expires_at = s.expires_at;
    memcpy(next.euicc_sig1, ar.euicc_signature1.p, RSP_ECDSA_SIG_LEN);
    memcpy(next.smdp_sig2, sig2, RSP_ECDSA_SIG_LEN);
    rc = rsp_buf_set(&next.euicc_cert, ar.euicc_certificate.raw, ar.euicc_certificate.raw_len);
    if (rc == 0)
        rc = rsp_store_session_update(st, &s, &next, ACTOR, "authenticateClient");
    if (rc == RSP_ESTATE) {
        rc = 0;
        refuse(resp, RSP_SC_TID_UNKNOWN);
        goto out;
    }
    if (rc == 0) {
        o->transaction_id = req->transaction_id;
        succeed(resp);
        snprintf(resp->tele.event, sizeof resp->tele.event, RSP_TELE_EV_AUTHENTICATED);
        /* bookkeeping (rsp/act.h): the eUICC's EUICCInfo2 for capability checks, first contact */
        if (ar.euicc_signed1.euicc_info2.raw)
            (void)rsp_act_euicc_info_put(st, eid, ar.euicc_signed1.euicc_info2.raw,
                                         ar.euicc_signed1.euicc_info2.raw_len, now_of(cfg));
        (void)rsp_act_first_contact(st, cfg->integrity, mid, eid, now_of(cfg));
    }
out:
    rsp_buf_free(&md);
    rsp_buf_free(&prev_otpk);
    rsp_session_free(&s);
    rsp_session_free(&next);
    return rc;
}

/* ---- getBoundProfilePackage ---- */

/* Copies the fields of `s` into `n` (initialised; buffers duplicated). */
static int session_copy(struct rsp_session *n, const struct rsp_session *s)
{
    struct rsp_buf a = n->otpk_euicc, b = n->bpp, c = n->euicc_cert;
    *n = *s;
    n->otpk_euicc = a;
    n->bpp = b;
    n->euicc_cert = c;
    int rc = rsp_buf_set(&n->otpk_euicc, s->otpk_euicc.data, s->otpk_euicc.len);
    if (rc == 0)
        rc = rsp_buf_set(&n->bpp, s->bpp.data, s->bpp.len);
    if (rc == 0)
        rc = rsp_buf_set(&n->euicc_cert, s->euicc_cert.data, s->euicc_cert.len);
    return rc;
}

/* The BPP of an earlier session with its InitialiseSecureChannel re-made for this transactionId
 * (addendum §3.1: the 86/87/88 blocks stay valid). */
static int rebind_bpp(const struct rsp_buf *old, const struct rsp_tid *tid, const uint8_t *otpk,
                      const struct rsp_key *sk_dppb, struct rsp_buf *out)
{
    struct rsp_sgp22_bpp b;
    int rc = rsp_sgp22_bpp_decode(old->data, old->len, &b);
    if (rc)
        return rc;
    struct rsp_sgp22_init_secure_channel isc = b.init_secure_channel;
    memset(&isc.raw, 0, sizeof isc.raw);
    isc.transaction_id.p = tid->b;
    isc.transaction_id.len = tid->len;
    struct rsp_buf in = RSP_BUF_INIT, bf23 = RSP_BUF_INIT;
    uint8_t sig[RSP_ECDSA_SIG_LEN];
    rc = rsp_sgp22_smdp_sign_input(&isc, otpk, &in);
    if (rc == 0)
        rc = rsp_ecdsa_sign(sk_dppb, in.data, in.len, sig);
    if (rc == 0) {
        isc.smdp_sign.p = sig;
        isc.smdp_sign.len = sizeof sig;
        rc = rsp_sgp22_init_secure_channel_encode(&isc, &bf23);
    }
    if (rc == 0) {
        const uint8_t *rest = b.init_secure_channel.raw.raw + b.init_secure_channel.raw.raw_len;
        size_t rest_len = (size_t)(b.raw.raw + b.raw.raw_len - rest);
        rc = rsp_der_put_header(out, 0xBF36, bf23.len + rest_len);
        if (rc == 0)
            rc = rsp_buf_append(out, bf23.data, bf23.len);
        if (rc == 0)
            rc = rsp_buf_append(out, rest, rest_len);
    }
    rsp_buf_free(&in);
    rsp_buf_free(&bf23);
    return rc;
}

static int end_session(struct rsp_store *st, const struct rsp_session *s, enum rsp_session_state to,
                       const char *reason)
{
    struct rsp_session n;
    rsp_session_init(&n);
    int rc = session_copy(&n, s);
    n.state = to;
    if (rc == 0)
        rc = rsp_store_session_update(st, s, &n, ACTOR, reason);
    rsp_session_free(&n);
    return rc;
}

/* Re-check before binding: the package about to be bound is the one the operator signed (its
 * manifest, rsp_inventory_recheck) or, for a profile stored without a manifest, the one whose
 * digest the row holds. 0 ok, 1 mismatch (why filled), negative RSP_E* on failure. */
static int recheck_package(struct rsp_store *st, const struct rsp_profile *p,
                           const struct rsp_buf *upp, char *why, size_t why_len)
{
    struct rsp_buf man = RSP_BUF_INIT;
    int rc = rsp_store_profile_manifest(st, p->iccid, &man);
    rsp_buf_free(&man);
    if (rc == 0) {
        struct rsp_manifest_refusal r;
        rc = rsp_inventory_recheck(st, p->iccid, upp->data, upp->len, &r);
        if (rc == RSP_EVERIFY) {
            snprintf(why, why_len, "package re-check: %s", r.detail);
            return 1;
        }
        return rc;
    }
    if (rc != RSP_ENOTFOUND)
        return rc;
    uint8_t digest[32], zero[32] = {0};
    if (memcmp(p->package_sha256, zero, 32) == 0)
        return 0;
    rc = rsp_sha256(upp->data, upp->len, digest);
    if (rc)
        return rc;
    if (memcmp(digest, p->package_sha256, 32) != 0) {
        snprintf(why, why_len, "package re-check: digest differs from the inventory row");
        return 1;
    }
    return 0;
}

/* The stored package failed its re-check: nothing is bound, the profile goes to Error (audited
 * with the reason), the operator is told at notification point 3, and the eUICC gets 8.2/3.7
 * (the profile is not available; a retry cannot succeed). */
static int package_refused(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                           const struct rsp_profile *p, const char *eid, const char *why,
                           struct rsp_es9_response *resp)
{
    struct rsp_profile pn = *p;
    pn.state = RSP_PROFILE_ERROR;
    snprintf(pn.error_reason, sizeof pn.error_reason, "%.120s", why);
    int rc = rsp_store_profile_update(st, p, &pn, ACTOR, why);
    if (rc == RSP_ESTATE) /* changed meanwhile: the next look decides */
        return refuse(resp, RSP_SC_PROFILE_NOT_RELEASED);
    if (rc == 0)
        rc = notify_operator(cfg, st, p, eid, NP_BPP_DOWNLOAD, rsp_sc(RSP_SC_PROFILE_UNAVAILABLE));
    if (rc == 0)
        refuse(resp, RSP_SC_PROFILE_UNAVAILABLE);
    return rc;
}

int rsp_es9p_get_bound_profile_package(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                                       const struct rsp_es9_gbpp_req *req,
                                       struct rsp_es9_response *resp)
{
    if (!cfg || !st || !req || !resp)
        return RSP_EINVAL;
    struct rsp_session s, n, prev;
    rsp_session_init(&s);
    rsp_session_init(&n);
    rsp_session_init(&prev);
    struct rsp_buf in = RSP_BUF_INIT, md = RSP_BUF_INIT, upp = RSP_BUF_INIT, bpp = RSP_BUF_INIT;
    bool ok;
    int rc = load_session(cfg, st, &req->transaction_id,
                          1u << RSP_SESSION_AUTHENTICATED | 1u << RSP_SESSION_BPP_BOUND, &s, &ok);
    if (rc || !ok) {
        if (rc == 0)
            refuse(resp, RSP_SC_TID_UNKNOWN);
        goto out;
    }
    snprintf(resp->eid, sizeof resp->eid, "%s", s.eid);
    struct rsp_sgp22_prepare_download_response pr;
    if (rsp_sgp22_prepare_download_response_decode(req->prepare_download_response.data,
                                                   req->prepare_download_response.len, &pr) != 0) {
        refuse(resp, RSP_SC_BAD_FORMAT);
        goto out;
    }
    if (!pr.ok) {
        if (!bytes_eq(pr.transaction_id, req->transaction_id.b, req->transaction_id.len)) {
            refuse(resp, RSP_SC_TID_UNKNOWN);
            goto out;
        }
        /* downloadResponseError: 8.1/6.1 and the session ends (addendum §1.5). */
        rc = s.state == RSP_SESSION_AUTHENTICATED
                 ? end_session(st, &s, RSP_SESSION_CANCELLED, "prepareDownload error")
                 : 0;
        if (rc == 0)
            refuse(resp, RSP_SC_EUICC_SIG_INVALID);
        goto out;
    }
    const struct rsp_sgp22_euicc_signed2 *e2 = &pr.euicc_signed2;
    if (!bytes_eq(e2->transaction_id, req->transaction_id.b, req->transaction_id.len)) {
        refuse(resp, RSP_SC_TID_UNKNOWN);
        goto out;
    }
    rc = rsp_sgp22_euicc_signature2_input(e2->raw.raw, e2->raw.raw_len, s.smdp_sig2, &in);
    if (rc)
        goto out;
    if (verify_with(s.euicc_cert.data, s.euicc_cert.len, in.data, in.len, pr.euicc_signature2.p,
                    pr.euicc_signature2.len) != 0) {
        refuse(resp, RSP_SC_EUICC_SIG_INVALID);
        goto out;
    }
    struct rsp_es9_gbpp_resp *o = &resp->u.gbpp;
    if (s.state == RSP_SESSION_BPP_BOUND) {
        /* A retry in the same session: the same BPP for the same otPK, else no re-binding. */
        if (s.otpk_euicc.len != RSP_EC_POINT_LEN ||
            memcmp(s.otpk_euicc.data, e2->euicc_otpk.p, RSP_EC_POINT_LEN) != 0) {
            refuse(resp, RSP_SC_BPP_REBIND_REFUSED);
            goto out;
        }
        rc = rsp_buf_set(&o->bound_profile_package, s.bpp.data, s.bpp.len);
        if (rc == 0) {
            o->transaction_id = req->transaction_id;
            succeed(resp);
            snprintf(resp->tele.event, sizeof resp->tele.event, RSP_TELE_EV_DOWNLOADED);
        }
        goto out;
    }
    struct rsp_profile p, pn;
    rc = rsp_store_profile_get(st, s.iccid, &p);
    if (rc)
        goto out;
    if (p.state != RSP_PROFILE_RELEASED &&
        !(p.state == RSP_PROFILE_DOWNLOADED && strcmp(p.eid, s.eid) == 0)) {
        refuse(resp, RSP_SC_PROFILE_NOT_RELEASED);
        goto out;
    }
    rc = order_expired(cfg, st, &p, s.eid, NP_BPP_DOWNLOAD, resp);
    if (rc != 0) {
        rc = rc > 0 ? 0 : rc;
        goto out;
    }
    pn = p;
    if (p.cc_set) {
        if (!e2->has_hash_cc) {
            refuse(resp, RSP_SC_CC_MISSING);
            goto out;
        }
        uint8_t buf[32 + RSP_TID_MAX], want[32];
        memcpy(buf, p.cc_hash, 32);
        memcpy(buf + 32, req->transaction_id.b, req->transaction_id.len);
        rc = rsp_sha256(buf, 32 + req->transaction_id.len, want);
        if (rc)
            goto out;
        if (!bytes_eq(e2->hash_cc, want, 32)) {
            unsigned max = p.cc_max_attempts      ? p.cc_max_attempts
                           : cfg->cc_max_attempts ? cfg->cc_max_attempts
                                                  : DEFAULT_CC_MAX;
            pn.cc_attempts++;
            bool locked = pn.cc_attempts >= max;
            if (locked) {
                pn.state = RSP_PROFILE_ERROR;
                snprintf(pn.error_reason, sizeof pn.error_reason, "confirmation code attempts");
            }
            rc = rsp_store_profile_update(st, &p, &pn, ACTOR, "wrong confirmation code");
            if (rc == 0 && locked)
                rc = notify_operator(cfg, st, &p, s.eid, NP_CC, rsp_sc(RSP_SC_CC_RETRIES));
            if (rc == 0)
                refuse(resp, locked ? RSP_SC_CC_RETRIES : RSP_SC_CC_REFUSED);
            goto out;
        }
    }
    const struct rsp_es9p_creds *cr = creds_for_curve(cfg, s.curve);
    if (!cr) {
        rc = RSP_ESTATE;
        goto out;
    }
    /* Retry across sessions: the BPP bound earlier to the same otPK is reused. */
    if (rsp_store_session_find_bound(st, p.iccid, &prev) == 0 && strcmp(prev.eid, s.eid) == 0 &&
        prev.otpk_euicc.len == RSP_EC_POINT_LEN &&
        memcmp(prev.otpk_euicc.data, e2->euicc_otpk.p, RSP_EC_POINT_LEN) == 0) {
        rc = rebind_bpp(&prev.bpp, &req->transaction_id, e2->euicc_otpk.p, cr->sk_dppb, &bpp);
    } else {
        rc = rsp_store_profile_package(st, p.iccid, &upp);
        if (rc == 0) {
            char why[256];
            rc = recheck_package(st, &p, &upp, why, sizeof why);
            if (rc > 0) {
                rc = package_refused(cfg, st, &p, s.eid, why, resp);
                goto out;
            }
        }
        if (rc == 0)
            rc = build_metadata(cfg, &p, &md);
        struct rsp_eid eid;
        if (rc == 0)
            rc = rsp_eid_from_str(s.eid, &eid);
        if (rc == 0) {
            struct rsp_smdp_bpp_params bp = {
                .transaction_id = req->transaction_id.b,
                .transaction_id_len = req->transaction_id.len,
                .euicc_otpk = e2->euicc_otpk.p,
                .eid = eid.b,
                .sk_dppb = cr->sk_dppb,
                .host_id = (const uint8_t *)HOST_ID,
                .host_id_len = strlen(HOST_ID),
                .store_metadata = md.data,
                .store_metadata_len = md.len,
                .upp = upp.data,
                .upp_len = upp.len,
                .two_layer = true,
            };
            rc = rsp_smdp_bpp_build(&bp, &bpp);
        }
    }
    if (rc)
        goto out;
    pn.state = RSP_PROFILE_DOWNLOADED;
    rc = rsp_store_profile_update(st, &p, &pn, ACTOR, "getBoundProfilePackage");
    if (rc == RSP_ESTATE) {
        rc = 0;
        refuse(resp, RSP_SC_PROFILE_NOT_RELEASED);
        goto out;
    }
    if (rc == 0)
        rc = session_copy(&n, &s);
    if (rc == 0)
        rc = rsp_buf_set(&n.otpk_euicc, e2->euicc_otpk.p, RSP_EC_POINT_LEN);
    if (rc == 0)
        rc = rsp_buf_set(&n.bpp, bpp.data, bpp.len);
    n.state = RSP_SESSION_BPP_BOUND;
    if (rc == 0)
        rc = rsp_store_session_update(st, &s, &n, ACTOR, "getBoundProfilePackage");
    if (rc == 0)
        rc = notify_operator(cfg, st, &p, s.eid, NP_BPP_DOWNLOAD, NULL);
    if (rc == 0)
        rc = rsp_buf_set(&o->bound_profile_package, bpp.data, bpp.len);
    if (rc == 0) {
        o->transaction_id = req->transaction_id;
        succeed(resp);
        snprintf(resp->tele.event, sizeof resp->tele.event, RSP_TELE_EV_DOWNLOADED);
    }
out:
    rsp_buf_free(&in);
    rsp_buf_free(&md);
    rsp_buf_free_secure(&upp);
    rsp_buf_free_secure(&bpp);
    rsp_session_free(&s);
    rsp_session_free(&n);
    rsp_session_free(&prev);
    return rc;
}

/* ---- handleNotification ---- */

/* The PIR of a session that ended by expiry (BPP-bound past expires_at, or Expired by the
 * sweeper, whose rollback returned the profile to Released): the eUICC's signed word that the
 * profile is installed arrives late (the notification was lost to a network failure or a server
 * crash, and the LPA sent it again later). A successful one moves the profile, still bound to
 * the same EID and in Downloaded or Released, to Installed; otherwise the store would offer a
 * profile again that sits on an eUICC. A failed one changes nothing (the rollback already
 * returned the profile). Found by tests/e2e/crash.sh. */
static int handle_late_pir(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                           const struct rsp_sgp22_pir *pir, struct rsp_session *s)
{
    if (!pir->data.success || !s->iccid[0])
        return 0;
    struct rsp_profile p, pn;
    int rc = rsp_store_profile_get(st, s->iccid, &p);
    if (rc)
        return rc;
    if (strcmp(p.eid, s->eid) != 0 ||
        (p.state != RSP_PROFILE_DOWNLOADED && p.state != RSP_PROFILE_RELEASED))
        return 0;
    pn = p;
    pn.state = RSP_PROFILE_INSTALLED;
    rc = rsp_store_profile_update(st, &p, &pn, ACTOR,
                                  "profileInstallationResult after the session expired");
    if (rc == 0 && s->state == RSP_SESSION_BPP_BOUND)
        rc = end_session(st, s, RSP_SESSION_EXPIRED, "session lifetime over");
    if (rc == 0)
        rc = notify_operator(cfg, st, &p, s->eid, NP_INSTALLATION, NULL);
    return rc;
}

static int handle_pir(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                      const struct rsp_sgp22_pir *pir, struct rsp_es9_response *resp)
{
    char *eid_out = resp->eid;
    struct rsp_tid tid;
    if (pir->data.transaction_id.len < 1 || pir->data.transaction_id.len > RSP_TID_MAX)
        return 0;
    memcpy(tid.b, pir->data.transaction_id.p, pir->data.transaction_id.len);
    tid.len = pir->data.transaction_id.len;
    struct rsp_session s;
    rsp_session_init(&s);
    char hex[2 * RSP_TID_MAX + 1];
    rsp_tid_to_hex(&tid, hex);
    int rc = rsp_store_session_get(st, hex, &s);
    if (rc == RSP_ENOTFOUND || rc == RSP_ESYNTAX) {
        rc = 0;
        goto out; /* unknown: stop processing (§3.1.3.3) */
    }
    if (rc)
        goto out;
    /* a session that bound a BPP: live, or ended by expiry (a late PIR) */
    bool live = s.state == RSP_SESSION_BPP_BOUND && s.expires_at > now_of(cfg);
    bool late = (s.state == RSP_SESSION_BPP_BOUND || s.state == RSP_SESSION_EXPIRED) && !live &&
                s.bpp.len > 0;
    if (!live && !late)
        goto out;
    if (verify_with(s.euicc_cert.data, s.euicc_cert.len, pir->data.raw.raw, pir->data.raw.raw_len,
                    pir->euicc_sign_pir.p, pir->euicc_sign_pir.len) != 0)
        goto out;
    snprintf(eid_out, 33, "%s", s.eid);
    if (late) {
        rc = handle_late_pir(cfg, st, pir, &s);
        goto out;
    }
    struct rsp_profile p, pn;
    rc = rsp_store_profile_get(st, s.iccid, &p);
    if (rc)
        goto out;
    pn = p;
    pn.state = pir->data.success ? RSP_PROFILE_INSTALLED : RSP_PROFILE_RELEASED;
    if (!pir->data.success)
        snprintf(pn.error_reason, sizeof pn.error_reason, "installation error %lld/%lld",
                 (long long)pir->data.bpp_command_id, (long long)pir->data.error_reason);
    if (p.state == RSP_PROFILE_DOWNLOADED) {
        rc = rsp_store_profile_update(st, &p, &pn, ACTOR, "profileInstallationResult");
        if (rc)
            goto out;
        act_outcome(cfg, st, &p, pir->data.success, pn.error_reason);
    }
    rc = end_session(st, &s, RSP_SESSION_FINISHED, "profileInstallationResult");
    if (rc == 0)
        rc = notify_operator(cfg, st, &p, s.eid, NP_INSTALLATION,
                             pir->data.success ? NULL : rsp_sc(RSP_SC_BPP_EXECUTION_ERROR));
    if (rc == 0) {
        rsp_tid_to_hex(&tid, resp->tele.tid);
        snprintf(resp->tele.event, sizeof resp->tele.event, "%s",
                 pir->data.success ? RSP_TELE_EV_INSTALLED : RSP_TELE_EV_INSTALL_FAIL);
    }
out:
    rsp_session_free(&s);
    return rc == RSP_ESTATE ? 0 : rc;
}

int rsp_es9p_handle_notification(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                                 const struct rsp_es9_handle_notification_req *req,
                                 struct rsp_es9_response *resp)
{
    if (!cfg || !st || !req || !resp)
        return RSP_EINVAL;
    struct rsp_sgp22_pending_notification pn;
    if (rsp_sgp22_pending_notification_decode(req->pending_notification.data,
                                              req->pending_notification.len, &pn) != 0)
        return refuse(resp, RSP_SC_BAD_FORMAT);
    int rc = 0;
    if (pn.is_pir) {
        rc = handle_pir(cfg, st, &pn.pir, resp);
    } else {
        /* Other notifications: verified with the certificate they carry; nothing to change in
         * the download inventory. */
        (void)verify_with(pn.other.euicc_certificate.raw, pn.other.euicc_certificate.raw_len,
                          pn.other.tbs.raw.raw, pn.other.tbs.raw.raw_len, pn.other.signature.p,
                          pn.other.signature.len);
    }
    if (rc == 0)
        succeed(resp);
    return rc;
}

/* ---- cancelSession ---- */

static enum rsp_sc cancel_status(int64_t reason)
{
    switch (reason) {
    case RSP_SGP22_CANCEL_END_USER_REJECTION:
        return RSP_SC_ORDER_REFUSED;
    case RSP_SGP22_CANCEL_PPR_NOT_ALLOWED:
        return RSP_SC_PPR_NOT_ALLOWED;
    case RSP_SGP22_CANCEL_METADATA_MISMATCH:
        return RSP_SC_METADATA_CHANGED;
    case RSP_SGP22_CANCEL_LOAD_BPP_EXECUTION_ERROR:
        return RSP_SC_BPP_EXECUTION_ERROR;
    default:
        return RSP_SC_RSP_EXECUTION_ERROR;
    }
}

static const char *cancel_reason_name(int64_t reason)
{
    switch (reason) {
    case RSP_SGP22_CANCEL_END_USER_REJECTION:
        return "endUserRejection";
    case RSP_SGP22_CANCEL_PPR_NOT_ALLOWED:
        return "pprNotAllowed";
    case RSP_SGP22_CANCEL_METADATA_MISMATCH:
        return "metadataMismatch";
    case RSP_SGP22_CANCEL_LOAD_BPP_EXECUTION_ERROR:
        return "loadBppExecutionError";
    default:
        return "undefinedReason";
    }
}

int rsp_es9p_cancel_session(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                            const struct rsp_es9_cancel_session_req *req,
                            struct rsp_es9_response *resp)
{
    if (!cfg || !st || !req || !resp)
        return RSP_EINVAL;
    struct rsp_session s;
    rsp_session_init(&s);
    bool ok;
    int rc = load_session(cfg, st, &req->transaction_id, ~0u, &s, &ok);
    if (rc || !ok) {
        if (rc == 0)
            refuse(resp, RSP_SC_TID_UNKNOWN);
        goto out;
    }
    snprintf(resp->eid, sizeof resp->eid, "%s", s.eid);
    struct rsp_sgp22_cancel_session_response cr;
    if (rsp_sgp22_cancel_session_response_decode(req->cancel_session_response.data,
                                                 req->cancel_session_response.len, &cr) != 0) {
        refuse(resp, RSP_SC_BAD_FORMAT);
        goto out;
    }
    if (!cr.ok) {
        refuse(resp, RSP_SC_TID_UNKNOWN);
        goto out;
    }
    if (!s.euicc_cert.len ||
        verify_with(s.euicc_cert.data, s.euicc_cert.len, cr.signed_part.raw.raw,
                    cr.signed_part.raw.raw_len, cr.signature.p, cr.signature.len) != 0) {
        refuse(resp, RSP_SC_EUICC_SIG_INVALID);
        goto out;
    }
    if (!bytes_eq(cr.signed_part.transaction_id, req->transaction_id.b, req->transaction_id.len)) {
        refuse(resp, RSP_SC_TID_UNKNOWN);
        goto out;
    }
    const struct rsp_es9p_creds *c = creds_for_curve(cfg, s.curve);
    char ours[64], theirs[64];
    if (!c || smdp_oid(c, ours, sizeof ours) != 0 ||
        rsp_oid_to_str(cr.signed_part.smdp_oid.p, cr.signed_part.smdp_oid.len, theirs,
                       sizeof theirs) != 0 ||
        strcmp(ours, theirs) != 0) {
        refuse(resp, RSP_SC_SMDP_OID_MISMATCH);
        goto out;
    }
    resp->u.cancel_session.transaction_id = req->transaction_id;
    if (s.state > RSP_SESSION_BPP_BOUND) {
        /* Already ended (e.g. after the PIR): accepted, nothing changes. */
        succeed(resp);
        goto out;
    }
    bool retry = cr.signed_part.reason == RSP_SGP22_CANCEL_POSTPONED ||
                 cr.signed_part.reason == RSP_SGP22_CANCEL_TIMEOUT;
    if (s.iccid[0]) {
        struct rsp_profile p, pn;
        rc = rsp_store_profile_get(st, s.iccid, &p);
        if (rc)
            goto out;
        pn = p;
        if (retry)
            pn.state = p.state == RSP_PROFILE_DOWNLOADED ? RSP_PROFILE_RELEASED : p.state;
        else if (p.state == RSP_PROFILE_RELEASED || p.state == RSP_PROFILE_DOWNLOADED) {
            pn.state = RSP_PROFILE_ERROR;
            /* read by rsp_rollback_classify (rollback.c) */
            snprintf(pn.error_reason, sizeof pn.error_reason, "cancelSession %s",
                     cancel_reason_name(cr.signed_part.reason));
        }
        if (pn.state != p.state) {
            rc = rsp_store_profile_update(st, &p, &pn, ACTOR, "cancelSession");
            if (rc == 0 && !retry)
                act_outcome(cfg, st, &p, false,
                            rsp_sc(cancel_status(cr.signed_part.reason))->message);
            if (rc == 0 && !retry)
                rc = notify_operator(cfg, st, &p, s.eid, NP_INSTALLATION,
                                     rsp_sc(cancel_status(cr.signed_part.reason)));
            if (rc)
                goto out;
        }
    }
    rc = end_session(st, &s, RSP_SESSION_CANCELLED, "cancelSession");
    if (rc == 0) {
        succeed(resp);
        snprintf(resp->tele.event, sizeof resp->tele.event, RSP_TELE_EV_CANCELLED);
    }
out:
    rsp_session_free(&s);
    return rc;
}

/* ---- JSON ---- */

int rsp_es9p_handle_json(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                         enum rsp_es9_function fn, const char *json, size_t len,
                         struct rsp_buf *out, int *http_status, struct rsp_es_exec_status *outcome)
{
    return rsp_es9p_handle_json_tid(cfg, st, fn, json, len, out, http_status, outcome, NULL);
}

static void tid_of(const struct rsp_es9_request *rq, const struct rsp_es9_response *rs,
                   struct rsp_tid *tid)
{
    switch (rq->fn) {
    case RSP_ES9_INITIATE_AUTHENTICATION:
        if (rs->status.status == RSP_ES_SUCCESS)
            *tid = rs->u.initiate_auth.transaction_id;
        break;
    case RSP_ES9_AUTHENTICATE_CLIENT:
        *tid = rq->u.auth_client.transaction_id;
        break;
    case RSP_ES9_GET_BOUND_PROFILE_PACKAGE:
        *tid = rq->u.gbpp.transaction_id;
        break;
    case RSP_ES9_CANCEL_SESSION:
        *tid = rq->u.cancel_session.transaction_id;
        break;
    default:
        break;
    }
}

/* One audit record per ES9+ exchange that reached its function: the function, the outcome with
 * its subject/reason code, the transactionId and the pseudonym of the EID when known. */
static int audit_outcome(struct rsp_store *st, enum rsp_es9_function fn, const struct rsp_tid *tid,
                         const struct rsp_es9_response *rs)
{
    char key[2 * RSP_TID_MAX + 1] = "-", subject[RSP_AUDIT_SUBJECT_MAX + 1], reason[200];
    if (tid->len)
        rsp_tid_to_hex(tid, key);
    rsp_store_subject(st, RSP_PSEUDONYM_EID, rs->eid, subject);
    const struct rsp_es_exec_status *o = &rs->status;
    if (rs->retry_after_s)
        snprintf(reason, sizeof reason, "%s rate limited per matchingId (HTTP 429)",
                 rsp_es9_function_name(fn));
    else if (o->status == RSP_ES_FAILED && o->has_code)
        snprintf(reason, sizeof reason, "%s %s/%s %.120s", rsp_es9_function_name(fn),
                 o->code.subject, o->code.reason, o->code.message);
    else
        snprintf(reason, sizeof reason, "%s", rsp_es9_function_name(fn));
    struct rsp_audit_entry e;
    rsp_audit_entry_set(&e, "es9p", key, "", rsp_es_status_name(o->status), ACTOR, subject, reason);
    return rsp_store_audit_append(st, &e);
}

/* ---- telemetry (rsp/telemetry.h) ---- */

static atomic_uint_fast64_t tele_failures;

uint64_t rsp_es9p_tele_failures(void)
{
    return (uint64_t)atomic_load(&tele_failures);
}

/* One telemetry record of an exchange: the outcome ("ok", the status code, or `error`), the
 * latency since t0, the labels and session event the handler found, the session's tid. */
static void tele_note(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                      enum rsp_es9_function fn, const struct rsp_tid *tid,
                      const struct rsp_es9_response *rs, const char *error,
                      const struct timespec *t0)
{
    struct rsp_tele_record r;
    memset(&r, 0, sizeof r);
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t us = (int64_t)(t1.tv_sec - t0->tv_sec) * 1000000 + (t1.tv_nsec - t0->tv_nsec) / 1000;
    r.latency_us = us > 0 ? (uint64_t)us : 0;
    if (cfg->clock) {
        r.at_ms = (int64_t)cfg->clock(cfg->clock_ctx) * 1000;
    } else {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        r.at_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    }
    snprintf(r.fn, sizeof r.fn, "%s", rsp_es9_function_name(fn));
    if (error)
        snprintf(r.outcome, sizeof r.outcome, "%s", error);
    else if (rs->status.status == RSP_ES_FAILED && rs->status.has_code)
        snprintf(r.outcome, sizeof r.outcome, "%.15s/%.15s", rs->status.code.subject,
                 rs->status.code.reason);
    else if (rs->status.status == RSP_ES_FAILED)
        snprintf(r.outcome, sizeof r.outcome, "failed");
    else
        snprintf(r.outcome, sizeof r.outcome, "ok");
    if (rs->tele.tid[0])
        snprintf(r.tid, sizeof r.tid, "%s", rs->tele.tid);
    else if (tid->len)
        rsp_tid_to_hex(tid, r.tid);
    r.labels = rs->tele.labels;
    if (!error)
        snprintf(r.event, sizeof r.event, "%s", rs->tele.event);
    char subject[RSP_AUDIT_SUBJECT_MAX + 1];
    rsp_store_subject(st, RSP_PSEUDONYM_EID, rs->eid, subject);
    snprintf(r.subject, sizeof r.subject, "%s", subject);
    if (rsp_store_tele_record(st, &r, cfg->telemetry_period ? cfg->telemetry_period : 60) != 0)
        atomic_fetch_add(&tele_failures, 1);
}

void rsp_es9p_tele_refused(void *ctx, const char *path, int http_status, const char *outcome,
                           double ms)
{
    const struct rsp_es9p_http *h = ctx;
    enum rsp_es9_function fn;
    struct rsp_store *st;
    size_t pre = strlen(RSP_ES9P_PATH_PREFIX);
    if (!h || !h->cfg || h->cfg->telemetry_off || !path ||
        strncmp(path, RSP_ES9P_PATH_PREFIX, pre) != 0 ||
        rsp_es9_function_from_name(path + pre, &fn) != 0 || rsp_store_pool_get(h->stores, &st) != 0)
        return;
    struct rsp_tele_record r;
    memset(&r, 0, sizeof r);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    r.at_ms = h->cfg->clock ? (int64_t)h->cfg->clock(h->cfg->clock_ctx) * 1000
                            : (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    r.latency_us = ms > 0 ? (uint64_t)(ms * 1000.0) : 0;
    snprintf(r.fn, sizeof r.fn, "%s", rsp_es9_function_name(fn));
    if (http_status == 200 && outcome && strncmp(outcome, "Failed ", 7) == 0)
        snprintf(r.outcome, sizeof r.outcome, "%.40s", outcome + 7);
    else
        snprintf(r.outcome, sizeof r.outcome, "http-%d", http_status);
    if (rsp_store_tele_record(st, &r, h->cfg->telemetry_period ? h->cfg->telemetry_period : 60))
        atomic_fetch_add(&tele_failures, 1);
}

/* rsp_es9p_handle_json_tid, and *subject (may be NULL) gets the EID's pseudonym for the log. */
static int handle_json(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                       enum rsp_es9_function fn, const char *json, size_t len, struct rsp_buf *out,
                       int *http_status, struct rsp_es_exec_status *outcome, struct rsp_tid *tid,
                       char subject[RSP_AUDIT_SUBJECT_MAX + 1], unsigned *retry_after)
{
    if (subject)
        subject[0] = 0;
    if (tid)
        memset(tid, 0, sizeof *tid);
    if (!cfg || !st || !out || !http_status || (unsigned)fn >= RSP_ES9_NFUNCTIONS)
        return RSP_EINVAL;
    struct rsp_es9_request rq;
    struct rsp_es9_response rs;
    memset(&rq, 0, sizeof rq);
    memset(&rs, 0, sizeof rs);
    rs.fn = fn;
    struct rsp_status_code refusal;
    struct rsp_tid t;
    memset(&t, 0, sizeof t);
    int rc = 0;
    bool internal = false;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    *http_status = 200;
    rsp_buf_reset(out);
    /* The call's changes, its audit record and its telemetry record commit together (one
     * transaction instead of one per change: see rsp_store_call_begin). */
    if (rsp_store_call_begin(st) != 0)
        return RSP_ESTATE;
    if (rsp_es9_decode_request(fn, json, len, &rq, &refusal) != 0) {
        refuse(&rs, RSP_SC_BAD_FORMAT);
        rs.status.code = refusal;
    } else {
        switch (fn) {
        case RSP_ES9_INITIATE_AUTHENTICATION:
            rc = rsp_es9p_initiate_authentication(cfg, st, &rq.u.initiate_auth, &rs);
            break;
        case RSP_ES9_AUTHENTICATE_CLIENT:
            rc = rsp_es9p_authenticate_client(cfg, st, &rq.u.auth_client, &rs);
            break;
        case RSP_ES9_GET_BOUND_PROFILE_PACKAGE:
            rc = rsp_es9p_get_bound_profile_package(cfg, st, &rq.u.gbpp, &rs);
            break;
        case RSP_ES9_HANDLE_NOTIFICATION:
            rc = rsp_es9p_handle_notification(cfg, st, &rq.u.handle_notification, &rs);
            break;
        default:
            rc = rsp_es9p_cancel_session(cfg, st, &rq.u.cancel_session, &rs);
            break;
        }
        if (rc) {
            refuse(&rs, RSP_SC_INTERNAL);
            internal = true;
            rc = 0;
        }
        rq.fn = fn;
        tid_of(&rq, &rs, &t);
        if (tid)
            *tid = t;
    }
    int audited = audit_outcome(st, fn, &t, &rs);
    if (rs.retry_after_s) {
        *http_status = 429;
        if (retry_after)
            *retry_after = rs.retry_after_s;
    } else if (rs.status.status == RSP_ES_FAILED) {
        rc = rsp_es_encode_failure(&rs.status.code, out);
    } else if (fn == RSP_ES9_HANDLE_NOTIFICATION) {
        *http_status = 204;
    } else {
        rc = rsp_es9_encode_response(&rs, out);
    }
    if (rc == 0)
        rc = audited; /* no answer goes out without its audit record */
    if (outcome)
        *outcome = rs.status;
    if (subject)
        rsp_store_subject(st, RSP_PSEUDONYM_EID, rs.eid, subject);
    if (!cfg->telemetry_off)
        tele_note(cfg, st, fn, &t, &rs, internal ? "internal" : rc ? "http-500" : NULL, &t0);
    int committed = rsp_store_call_end(st, true);
    if (rc == 0 && committed != 0)
        rc = committed; /* nothing of the call was stored: no answer goes out */
    rs.fn = fn;
    rsp_es9_response_free(&rs);
    rsp_es9_request_free(&rq);
    return rc;
}

int rsp_es9p_handle_json_tid(const struct rsp_es9p_config *cfg, struct rsp_store *st,
                             enum rsp_es9_function fn, const char *json, size_t len,
                             struct rsp_buf *out, int *http_status,
                             struct rsp_es_exec_status *outcome, struct rsp_tid *tid)
{
    return handle_json(cfg, st, fn, json, len, out, http_status, outcome, tid, NULL, NULL);
}

int rsp_es9p_http_handler(void *ctx, const struct rsp_http_request *req,
                          struct rsp_http_response *resp)
{
    const struct rsp_es9p_http *h = ctx;
    if (!h || !h->cfg || !h->stores || !req || !resp)
        return RSP_EINVAL;
    const char *slash = strrchr(req->path, '/');
    enum rsp_es9_function fn;
    struct rsp_store *st = NULL;
    int rc = rsp_es9_function_from_name(slash ? slash + 1 : req->path, &fn);
    if (rc == 0)
        rc = rsp_store_pool_get(h->stores, &st);
    struct rsp_es_exec_status out;
    memset(&out, 0, sizeof out);
    struct rsp_tid tid;
    if (rc == 0)
        rc = handle_json(h->cfg, st, fn, (const char *)req->body, req->body_len, &resp->body,
                         &resp->status, &out, &tid, resp->log_subject, &resp->retry_after_s);
    if (rc)
        return rc;
    if (resp->status == 429) {
        if (tid.len)
            rsp_tid_to_hex(&tid, resp->log_tid);
        snprintf(resp->log_outcome, sizeof resp->log_outcome, "rate limited (matchingId)");
        return 0;
    }
    if (tid.len)
        rsp_tid_to_hex(&tid, resp->log_tid);
    if (out.status == RSP_ES_FAILED)
        snprintf(resp->log_outcome, sizeof resp->log_outcome, "Failed %s/%s", out.code.subject,
                 out.code.reason);
    else
        snprintf(resp->log_outcome, sizeof resp->log_outcome, "%s", rsp_es_status_name(out.status));
    return 0;
}
