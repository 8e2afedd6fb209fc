/* Profile download (SGP.22 §3.1.3): initiateAuthentication -> AuthenticateServer ->
 * authenticateClient -> PrepareDownload -> getBoundProfilePackage -> LoadBoundProfilePackage ->
 * handleNotification, with the checks an LPA makes between the steps. Refusals are values in
 * the result; the confirmation code is used only to compute hashCc and is never logged. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rsp/err.h"
#include "rsp/es9p_client.h"
#include "rsp/lpa.h"

struct dl {
    struct rsp_es10 *s;
    struct rsp_es9p_client *c;
    const struct rsp_lpa_download_opts *o;
    struct rsp_lpa_download_result *r;
    char host[256]; /* host[:port] for the URL */
};

static void ev(struct dl *d, const char *step, size_t i, size_t n)
{
    d->r->step = step;
    if (d->o->event)
        d->o->event(d->o->event_ctx, step, i, n);
}

__attribute__((format(printf, 5, 6))) static int stop(struct dl *d, enum rsp_lpa_dl_kind kind,
                                                      long code, int rc, const char *fmt, ...)
{
    d->r->kind = kind;
    d->r->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->r->message, sizeof d->r->message, fmt, ap);
    va_end(ap);
    return rc;
}

static int es10_stop(struct dl *d, int rc, const char *what)
{
    char m[128];
    if (rc == RSP_EIO || (rc == RSP_ESW && (d->s->last_sw & 0xFF00) == 0x6F00)) {
        /* no answer, or "no precise diagnosis": the card was reset or lost power */
        snprintf(m, sizeof m, "%s: the eUICC stopped answering (%s)", what,
                 rc == RSP_ESW ? "SW 6Fxx" : "I/O error");
        d->r->session_open = false;
        return stop(d, RSP_LPA_DL_EUICC_IO, rc == RSP_ESW ? d->s->last_sw : 0, rc, "%s", m);
    }
    if (rc == RSP_ESW) {
        snprintf(m, sizeof m, "%s: the eUICC answered SW %04X", what, (unsigned)d->s->last_sw);
        return stop(d, RSP_LPA_DL_EUICC_REFUSED, d->s->last_sw, rc, "%s", m);
    }
    snprintf(m, sizeof m, "%s: %s", what, rsp_strerror(rc));
    return stop(d, RSP_LPA_DL_OTHER, 0, rc, "%s", m);
}

static int es9_stop(struct dl *d, int rc)
{
    enum rsp_lpa_dl_kind k = RSP_LPA_DL_OTHER;
    switch (d->r->es9.kind) {
    case RSP_ES9P_REFUSED:
        k = RSP_LPA_DL_SMDP_REFUSED;
        break;
    case RSP_ES9P_NETWORK_ERROR:
        k = RSP_LPA_DL_NETWORK;
        break;
    case RSP_ES9P_TLS_ERROR:
        k = RSP_LPA_DL_TLS;
        break;
    default:
        break;
    }
    return stop(d, k, 0, rc ? rc : RSP_EIO, "%s: %.200s", d->r->step, d->r->es9.message);
}

/* An ES9+ call whose answer only matters to the SM-DP+ (a refusal report). */
static void report(struct dl *d, struct rsp_es9_request *rq)
{
    struct rsp_es9_response rs;
    struct rsp_es9p_outcome oc;
    rsp_es9p_call(d->c, d->host, rq, &rs, &oc);
    rsp_es9_response_free(&rs);
}

static bool bytes_eq(const struct rsp_sgp22_bytes *b, const uint8_t *p, size_t n)
{
    return b->len == n && memcmp(b->p, p, n) == 0;
}

/* ES10 CancelSession + ES9+ cancelSession (best effort). */
static void cancel(struct dl *d, const struct rsp_tid *tid, int reason)
{
    ev(d, "cancelSession", 0, 0);
    d->r->session_open = false;
    struct rsp_buf raw = RSP_BUF_INIT;
    struct rsp_sgp22_cancel_session_response cr;
    if (rsp_lpa_cancel_session(d->s, tid->b, tid->len, reason, &raw, &cr) == 0) {
        struct rsp_es9_request rq;
        memset(&rq, 0, sizeof rq);
        rq.fn = RSP_ES9_CANCEL_SESSION;
        rq.u.cancel_session.transaction_id = *tid;
        if (rsp_buf_set(&rq.u.cancel_session.cancel_session_response, raw.data, raw.len) == 0)
            report(d, &rq);
        rsp_es9_request_free(&rq);
    }
    rsp_buf_free(&raw);
}

static void split_host(struct dl *d, const char *addr)
{
    snprintf(d->host, sizeof d->host, "%s", addr);
}

static int load_and_report(struct dl *d, const uint8_t *bpp, size_t bpp_len, size_t skip);

/* After AuthenticateServer: authenticateClient, PrepareDownload, getBoundProfilePackage,
 * LoadBoundProfilePackage, handleNotification. */
static int download_rest(struct dl *d, const struct rsp_tid *tid, const struct rsp_buf *asr)
{
    struct rsp_lpa_download_result *r = d->r;
    struct rsp_es9_request rq;
    struct rsp_es9_response rs;
    int rc;
    ev(d, "authenticateClient", 0, 0);
    memset(&rq, 0, sizeof rq);
    rq.fn = RSP_ES9_AUTHENTICATE_CLIENT;
    rq.u.auth_client.transaction_id = *tid;
    if ((rc = rsp_buf_set(&rq.u.auth_client.authenticate_server_response, asr->data, asr->len)))
        return stop(d, RSP_LPA_DL_OTHER, 0, rc, "%s", "out of memory");
    rc = rsp_es9p_call(d->c, d->host, &rq, &rs, &r->es9);
    rsp_es9_request_free(&rq);
    if (rc != 0 && r->es9.kind == RSP_ES9P_REFUSED &&
        (r->es9.attempts > 1 || (!strcmp(r->es9.status.code.subject, "8.10.1") &&
                                 !strcmp(r->es9.status.code.reason, "3.9")))) {
        /* authenticateClient is not idempotent: a repeat after a lost answer (ours, or libcurl's
         * own resend on a connection that died without an answer) is refused because the first
         * one went through -- for a transactionId the SM-DP+ handed out moments ago, "unknown"
         * can only mean that. The session is unusable, the network is to blame. */
        rsp_es9_response_free(&rs);
        r->es9.kind = RSP_ES9P_NETWORK_ERROR;
        r->es9.retryable = true;
        return stop(d, RSP_LPA_DL_NETWORK, 0, RSP_EIO,
                    "authenticateClient: answer lost, repeat refused (%.160s)", r->es9.message);
    }
    if (rc != 0) {
        rsp_es9_response_free(&rs);
        return es9_stop(d, rc);
    }
    struct rsp_es9_auth_client_resp *ac = &rs.u.auth_client;
    struct rsp_sgp22_smdp_signed2 s2;
    struct rsp_sgp22_store_metadata_request md;
    if (!rsp_tid_equal(&ac->transaction_id, tid) ||
        rsp_sgp22_smdp_signed2_decode(ac->smdp_signed2.data, ac->smdp_signed2.len, &s2) != 0 ||
        !bytes_eq(&s2.transaction_id, tid->b, tid->len)) {
        rsp_es9_response_free(&rs);
        cancel(d, tid, RSP_SGP22_CANCEL_UNDEFINED_REASON);
        return stop(d, RSP_LPA_DL_OTHER, 0, RSP_EVERIFY, "%s",
                    "authenticateClient: the answer is for another transaction");
    }
    if (rsp_sgp22_store_metadata_request_decode(ac->profile_metadata.data, ac->profile_metadata.len,
                                                &md) == 0 &&
        md.iccid.len == RSP_ICCID_LEN) {
        struct rsp_iccid ic;
        memcpy(ic.b, md.iccid.p, RSP_ICCID_LEN);
        rsp_iccid_to_str(&ic, r->iccid);
        struct rsp_lpa_expected *e = &r->expected;
        memcpy(e->iccid, md.iccid.p, RSP_ICCID_LEN);
        e->profile_class =
            md.has_profile_class ? (int)md.profile_class : (int)RSP_PROFILE_CLASS_OPERATIONAL;
        snprintf(e->spn, sizeof e->spn, "%.*s", (int)md.service_provider_name.len,
                 (const char *)md.service_provider_name.p);
        snprintf(e->name, sizeof e->name, "%.*s", (int)md.profile_name.len,
                 (const char *)md.profile_name.p);
        e->has_owner = md.has_profile_owner && md.profile_owner.mcc_mnc.len == 3;
        if (e->has_owner)
            memcpy(e->owner_mcc_mnc, md.profile_owner.mcc_mnc.p, 3);
        e->known =
            md.service_provider_name.len < sizeof e->spn && md.profile_name.len < sizeof e->name;
    }
    uint8_t hash_cc[32];
    bool with_cc = false;
    if (s2.cc_required) {
        if (!d->o->confirmation_code || !*d->o->confirmation_code) {
            rsp_es9_response_free(&rs);
            cancel(d, tid, RSP_SGP22_CANCEL_POSTPONED);
            return stop(d, RSP_LPA_DL_CC_REQUIRED, 0, RSP_ESTATE, "%s",
                        "the SM-DP+ requires a confirmation code (-c)");
        }
        if ((rc = rsp_hash_cc(d->o->confirmation_code, strlen(d->o->confirmation_code), tid,
                              hash_cc)) != 0) {
            rsp_es9_response_free(&rs);
            return stop(d, RSP_LPA_DL_OTHER, 0, rc, "%s", "hashCc");
        }
        with_cc = true;
    }

    ev(d, "prepareDownload", 0, 0);
    struct rsp_lpa_prepare_input pin = {
        .smdp_signed2 = {ac->smdp_signed2.data, ac->smdp_signed2.len},
        .smdp_signature2 = {ac->smdp_signature2.data, ac->smdp_signature2.len},
        .smdp_certificate = {ac->smdp_certificate.data, ac->smdp_certificate.len},
        .hash_cc = with_cc ? hash_cc : NULL,
    };
    struct rsp_buf pdr = RSP_BUF_INIT;
    struct rsp_sgp22_prepare_download_response pd;
    rc = rsp_lpa_prepare_download(d->s, &pin, &pdr, &pd);
    memset(hash_cc, 0, sizeof hash_cc);
    rsp_es9_response_free(&rs);
    if (rc != 0) {
        rsp_buf_free(&pdr);
        return es10_stop(d, rc, "PrepareDownload");
    }

    if (pd.ok && d->o->before_heavy &&
        d->o->before_heavy(d->o->hook_ctx, "getBoundProfilePackage")) {
        rsp_buf_free(&pdr);
        cancel(d, tid, RSP_SGP22_CANCEL_POSTPONED);
        return stop(d, RSP_LPA_DL_DEFERRED, 0, RSP_ESTATE, "%s",
                    "deferred before getBoundProfilePackage (device conditions); session "
                    "cancelled as postponed");
    }
    ev(d, "getBoundProfilePackage", 0, 0);
    memset(&rq, 0, sizeof rq);
    rq.fn = RSP_ES9_GET_BOUND_PROFILE_PACKAGE;
    rq.u.gbpp.transaction_id = *tid;
    rc = rsp_buf_set(&rq.u.gbpp.prepare_download_response, pdr.data, pdr.len);
    rsp_buf_free(&pdr);
    if (rc != 0) {
        rsp_es9_request_free(&rq);
        return stop(d, RSP_LPA_DL_OTHER, 0, rc, "%s", "out of memory");
    }
    if (!pd.ok) {
        r->session_open = false;
        /* the SM-DP+ learns the eUICC's refusal from getBoundProfilePackage */
        long code = (long)pd.error_code;
        report(d, &rq);
        rsp_es9_request_free(&rq);
        return stop(d, RSP_LPA_DL_EUICC_REFUSED, code, RSP_ESTATE, "PrepareDownload refused: %s",
                    rsp_lpa_download_error_name(code));
    }
    rc = rsp_es9p_call(d->c, d->host, &rq, &rs, &r->es9);
    rsp_es9_request_free(&rq);
    if (rc != 0) {
        /* No CancelSession here: a refusal ended the session at the SM-DP+ already, and after a
         * network failure the eUICC session stays for the caller to retry or to cancel with the
         * reason that fits (rsp_lpa_run: timeout when the retry budget is spent). */
        rsp_es9_response_free(&rs);
        return es9_stop(d, rc);
    }
    if (!rsp_tid_equal(&rs.u.gbpp.transaction_id, tid)) {
        rsp_es9_response_free(&rs);
        cancel(d, tid, RSP_SGP22_CANCEL_UNDEFINED_REASON);
        return stop(d, RSP_LPA_DL_OTHER, 0, RSP_EVERIFY, "%s",
                    "getBoundProfilePackage: the answer is for another transaction");
    }

    size_t nseg = 0;
    rc = rsp_lpa_bpp_segments(rs.u.gbpp.bound_profile_package.data,
                              rs.u.gbpp.bound_profile_package.len, &nseg);
    if (rc != 0) {
        rsp_es9_response_free(&rs);
        cancel(d, tid, RSP_SGP22_CANCEL_LOAD_BPP_EXECUTION_ERROR);
        return stop(d, RSP_LPA_DL_OTHER, 0, rc, "getBoundProfilePackage: not a usable BPP (%s)",
                    rsp_strerror(rc));
    }
    if (d->o->on_bpp && d->o->on_bpp(d->o->hook_ctx, tid, rs.u.gbpp.bound_profile_package.data,
                                     rs.u.gbpp.bound_profile_package.len, nseg) != 0) {
        rsp_es9_response_free(&rs);
        return stop(d, RSP_LPA_DL_OTHER, 0, RSP_EIO, "%s",
                    "the BPP could not be saved for a resume: stopped before loading it");
    }
    rc = load_and_report(d, rs.u.gbpp.bound_profile_package.data,
                         rs.u.gbpp.bound_profile_package.len, 0);
    rsp_es9_response_free(&rs);
    return rc;
}

static void seg_progress(void *ctx, size_t i, size_t n)
{
    struct dl *d = ctx;
    ev(d, "loadBoundProfilePackage", i, n);
    if (d->o->on_segment)
        d->o->on_segment(d->o->hook_ctx, i, n, false);
}

static void seg_acked(void *ctx, size_t i, size_t n)
{
    struct dl *d = ctx;
    if (d->o->on_segment)
        d->o->on_segment(d->o->hook_ctx, i, n, true);
}

/* LoadBoundProfilePackage from segment skip+1, then the PIR to the SM-DP+. */
static int load_and_report(struct dl *d, const uint8_t *bpp, size_t bpp_len, size_t skip)
{
    struct rsp_lpa_download_result *r = d->r;
    struct rsp_es9_request rq;
    struct rsp_es9_response rs;
    int rc;
    d->r->step = "loadBoundProfilePackage";
    struct rsp_buf pir_raw = RSP_BUF_INIT;
    struct rsp_sgp22_pir pir;
    size_t sent = 0;
    struct rsp_lpa_load_opts lo = {
        .skip = skip, .progress = seg_progress, .acked = seg_acked, .ctx = d};
    rc = rsp_lpa_load_bpp_ex(d->s, bpp, bpp_len, &lo, &pir_raw, &pir, &sent);
    if (rc != 0) {
        rsp_buf_free(&pir_raw);
        if (skip && sent <= 1 && rc == RSP_ESW && d->s->last_sw == 0x6985) {
            r->session_open = false;
            return stop(d, RSP_LPA_DL_SESSION_LOST, 0x6985, RSP_ESTATE, "%s",
                        "resume: the eUICC no longer holds the download session (it was reset)");
        }
        return es10_stop(d, rc, "LoadBoundProfilePackage");
    }
    r->session_open = false; /* the PIR ends the session on the eUICC */
    bool ok = pir.data.success;
    long reason = (long)pir.data.error_reason;
    if (ok && pir.data.aid.len == sizeof r->aid)
        memcpy(r->aid, pir.data.aid.p, sizeof r->aid);
    uint64_t seq = (uint64_t)pir.data.notification_metadata.seq_number;

    /* the PIR goes to the SM-DP+ whatever it says */
    ev(d, "handleNotification", 0, 0);
    memset(&rq, 0, sizeof rq);
    rq.fn = RSP_ES9_HANDLE_NOTIFICATION;
    struct rsp_es9p_outcome noc;
    if (rsp_buf_set(&rq.u.handle_notification.pending_notification, pir_raw.data, pir_raw.len) ==
            0 &&
        rsp_es9p_call(d->c, d->host, &rq, &rs, &noc) == 0) {
        int res = -1;
        if (rsp_lpa_remove_notification(d->s, seq, &res) == 0 && res == RSP_NOTIF_SENT_OK)
            r->notification_sent = true;
    }
    rsp_es9_response_free(&rs);
    rsp_es9_request_free(&rq);
    rsp_buf_free(&pir_raw);
    if (!ok)
        return stop(d, RSP_LPA_DL_EUICC_REFUSED, reason, RSP_ESTATE, "installation failed: %s",
                    rsp_lpa_error_reason_name(reason));
    return stop(d, RSP_LPA_DL_OK, 0, 0, "%s",
                r->notification_sent
                    ? "installed"
                    : "installed (the installation notification is still pending)");
}

int rsp_lpa_download_resume(struct rsp_es10 *s, struct rsp_es9p_client *c,
                            const struct rsp_lpa_download_opts *o, const struct rsp_tid *tid,
                            const uint8_t *bpp, size_t len, size_t acked,
                            struct rsp_lpa_download_result *result)
{
    if (!s || !c || !o || !result || !tid || !bpp || !o->smdp_address || !*o->smdp_address ||
        strlen(o->smdp_address) >= 256)
        return RSP_EINVAL;
    memset(result, 0, sizeof *result);
    struct dl d = {.s = s, .c = c, .o = o, .r = result};
    split_host(&d, o->smdp_address);
    result->tid = *tid;
    result->session_open = true;
    return load_and_report(&d, bpp, len, acked);
}

int rsp_lpa_download(struct rsp_es10 *s, struct rsp_es9p_client *c,
                     const struct rsp_lpa_download_opts *o, struct rsp_lpa_download_result *result)
{
    if (!s || !c || !o || !result || !o->smdp_address || !*o->smdp_address ||
        strlen(o->smdp_address) >= 256)
        return RSP_EINVAL;
    memset(result, 0, sizeof *result);
    struct dl d = {.s = s, .c = c, .o = o, .r = result};
    split_host(&d, o->smdp_address);
    int rc;

    ev(&d, "challenge", 0, 0);
    uint8_t ch[RSP_ES10_CHALLENGE_LEN];
    struct rsp_buf info1 = RSP_BUF_INIT;
    if ((rc = rsp_lpa_get_challenge(s, ch)) != 0 ||
        (rc = rsp_lpa_get_euicc_info1(s, &info1, NULL)) != 0) {
        rsp_buf_free(&info1);
        return es10_stop(&d, rc, "GetEUICCChallenge/GetEUICCInfo1");
    }

    ev(&d, "initiateAuthentication", 0, 0);
    struct rsp_es9_request rq;
    struct rsp_es9_response rs;
    memset(&rq, 0, sizeof rq);
    rq.fn = RSP_ES9_INITIATE_AUTHENTICATION;
    memcpy(rq.u.initiate_auth.euicc_challenge, ch, sizeof ch);
    /* smdpAddress is the SM-DP+ address exactly as the activation code (or the eUICC's default)
     * gave it, port included: the SM-DP+ compares it with its own configured address, and the
     * serverAddress it signs must be the same string (§3.1.1, §5.6.1). */
    snprintf(rq.u.initiate_auth.smdp_address, sizeof rq.u.initiate_auth.smdp_address, "%s", d.host);
    rc = rsp_buf_set(&rq.u.initiate_auth.euicc_info1, info1.data, info1.len);
    rsp_buf_free(&info1);
    if (rc == 0)
        rc = rsp_es9p_call(c, d.host, &rq, &rs, &result->es9);
    rsp_es9_request_free(&rq);
    if (rc != 0) {
        rsp_es9_response_free(&rs);
        return es9_stop(&d, rc);
    }
    struct rsp_es9_initiate_auth_resp *ia = &rs.u.initiate_auth;
    struct rsp_tid tid = ia->transaction_id;
    result->tid = tid;
    struct rsp_sgp22_server_signed1 s1;
    if (rsp_sgp22_server_signed1_decode(ia->server_signed1.data, ia->server_signed1.len, &s1) !=
            0 ||
        !bytes_eq(&s1.transaction_id, tid.b, tid.len) || !bytes_eq(&s1.euicc_challenge, ch, 16) ||
        s1.server_address.len != strlen(d.host) ||
        strncasecmp((const char *)s1.server_address.p, d.host, s1.server_address.len) != 0) {
        rsp_es9_response_free(&rs);
        return stop(
            &d, RSP_LPA_DL_OTHER, 0, RSP_EVERIFY, "%s",
            "initiateAuthentication: serverSigned1 does not match this session (transaction, "
            "challenge or server address)");
    }

    ev(&d, "authenticateServer", 0, 0);
    struct rsp_lpa_auth_input in = {
        .server_signed1 = {ia->server_signed1.data, ia->server_signed1.len},
        .server_signature1 = {ia->server_signature1.data, ia->server_signature1.len},
        .euicc_ci_pkid = {ia->euicc_ci_pkid.data, ia->euicc_ci_pkid.len},
        .server_certificate = {ia->server_certificate.data, ia->server_certificate.len},
    };
    struct rsp_lpa_device dev;
    memset(&dev, 0, sizeof dev);
    dev.matching_id = o->matching_id;
    memcpy(dev.tac, o->tac, sizeof dev.tac);
    dev.has_imei = o->has_imei;
    memcpy(dev.imei, o->imei, sizeof dev.imei);
    struct rsp_buf asr = RSP_BUF_INIT;
    struct rsp_sgp22_authenticate_server_response ar;
    rc = rsp_lpa_authenticate_server(s, &in, &dev, &asr, &ar);
    rsp_es9_response_free(&rs);
    if (rc != 0) {
        rsp_buf_free(&asr);
        return es10_stop(&d, rc, "AuthenticateServer");
    }
    result->session_open = ar.ok;
    if (!ar.ok) {
        long code = (long)ar.error_code;
        /* the SM-DP+ learns the refusal from authenticateClient */
        memset(&rq, 0, sizeof rq);
        rq.fn = RSP_ES9_AUTHENTICATE_CLIENT;
        rq.u.auth_client.transaction_id = tid;
        if (rsp_buf_set(&rq.u.auth_client.authenticate_server_response, asr.data, asr.len) == 0)
            report(&d, &rq);
        rsp_es9_request_free(&rq);
        rsp_buf_free(&asr);
        return stop(&d, RSP_LPA_DL_EUICC_REFUSED, code, RSP_ESTATE,
                    "AuthenticateServer refused: %s", rsp_lpa_auth_error_name(code));
    }
    rc = download_rest(&d, &tid, &asr);
    rsp_buf_free(&asr);
    return rc;
}
