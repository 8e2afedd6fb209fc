/* Profile download end to end in one process: rsp_lpa_download drives the software eUICC
 * (loopback transport) and a test SM-DP+ served by rsp_http_server over plain HTTP, built from
 * src/smdp's builders and the euicc_fx profile helpers. Success (profile installed, PIR delivered,
 * notification removed), refusal by the SM-DP+, confirmation code required, a PIR error
 * (ICCID already installed), network failure. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "euicc_fx.h"
#include "rsp/apdu.h"
#include "rsp/apdu_card.h"
#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/es9p_client.h"
#include "rsp/es9p_json.h"
#include "rsp/http_server.h"
#include "rsp/lpa.h"
#include "rsp/lpa_attempt.h"
#include "rsp/smdp_bpp.h"

static const struct fx_profile prof = {
    .iccid = "8949000000000000777", .name = "DL", .profile_class = RSP_PROFILE_CLASS_OPERATIONAL};

/* test SM-DP+ state (one session at a time) */
static struct {
    bool refuse_initiate;
    bool cc_required;
    const char *shown_name; /* metadata shown at authenticateClient, when it lies */
    const char *shown_iccid;
    uint8_t tid[16];
    unsigned notifications;
    unsigned cancels;
    int64_t cancel_reason;  /* of the last cancelSession */
    unsigned gbpp_calls;    /* getBoundProfilePackage answered */
    unsigned fail_initiate; /* the next N initiateAuthentication calls get HTTP 503 */
    bool fail_gbpp;         /* every getBoundProfilePackage gets HTTP 503 */
} dp;

static bool http_503(struct rsp_http_response *resp)
{
    resp->status = 503;
    return rsp_buf_set(&resp->body, (const uint8_t *)"busy", 4) == 0;
}

static const struct rsp_pki_item *item(enum rsp_pki_role r)
{
    return &fx_pki()->set[0].item[r];
}

static int respond(struct rsp_es9_response *r, struct rsp_http_response *resp)
{
    r->status.status = RSP_ES_SUCCESS;
    int rc = rsp_es9_encode_response(r, &resp->body);
    rsp_es9_response_free(r);
    return rc;
}

static int h_initiate(void *ctx, const struct rsp_http_request *req, struct rsp_http_response *resp)
{
    (void)ctx;
    struct rsp_es9_request rq;
    struct rsp_status_code sc;
    if (dp.fail_initiate) {
        dp.fail_initiate--;
        return http_503(resp) ? 0 : RSP_ENOMEM;
    }
    if (rsp_es9_decode_request(RSP_ES9_INITIATE_AUTHENTICATION, (const char *)req->body,
                               req->body_len, &rq, &sc) != 0)
        return rsp_es_encode_failure(&sc, &resp->body);
    if (dp.refuse_initiate) {
        rsp_es9_request_free(&rq);
        return rsp_es_encode_failure(rsp_sc(RSP_SC_SMDP_ADDRESS_REFUSED), &resp->body);
    }
    struct rsp_es9_response r;
    memset(&r, 0, sizeof r);
    r.fn = RSP_ES9_INITIATE_AUTHENTICATION;
    rsp_random(dp.tid, 16);
    memcpy(r.u.initiate_auth.transaction_id.b, dp.tid, 16);
    r.u.initiate_auth.transaction_id.len = 16;
    struct rsp_key *sk = NULL;
    uint8_t sig[64], aki[RSP_KEYID_LEN];
    struct rsp_cert *eum = NULL;
    int rc = rsp_pki_item_key(item(RSP_PKI_DPAUTH), &sk);
    if (rc == 0)
        rc = rsp_smdp_server_signed1_build(dp.tid, 16, rq.u.initiate_auth.euicc_challenge,
                                           rq.u.initiate_auth.smdp_address, NULL, sk,
                                           &r.u.initiate_auth.server_signed1, sig, NULL);
    rsp_key_free(sk);
    rsp_es9_request_free(&rq);
    if (rc == 0)
        rc =
            rsp_cert_parse(item(RSP_PKI_EUM)->cert_der.data, item(RSP_PKI_EUM)->cert_der.len, &eum);
    if (rc == 0)
        rc = rsp_cert_aki(eum, aki);
    rsp_cert_free(eum);
    if (rc == 0)
        rc = rsp_der_put(&r.u.initiate_auth.server_signature1, 0x5F37, sig, 64);
    if (rc == 0)
        rc = rsp_der_put(&r.u.initiate_auth.euicc_ci_pkid, 0x04, aki, sizeof aki);
    if (rc == 0)
        rc = rsp_buf_set(&r.u.initiate_auth.server_certificate, item(RSP_PKI_DPAUTH)->cert_der.data,
                         item(RSP_PKI_DPAUTH)->cert_der.len);
    if (rc != 0) {
        rsp_es9_response_free(&r);
        return rc;
    }
    return respond(&r, resp);
}

static int h_auth_client(void *ctx, const struct rsp_http_request *req,
                         struct rsp_http_response *resp)
{
    (void)ctx;
    struct rsp_es9_request rq;
    struct rsp_status_code sc;
    if (rsp_es9_decode_request(RSP_ES9_AUTHENTICATE_CLIENT, (const char *)req->body, req->body_len,
                               &rq, &sc) != 0)
        return rsp_es_encode_failure(&sc, &resp->body);
    struct rsp_sgp22_authenticate_server_response ar;
    struct rsp_buf *asr = &rq.u.auth_client.authenticate_server_response;
    if (rsp_sgp22_authenticate_server_response_decode(asr->data, asr->len, &ar) != 0 || !ar.ok) {
        rsp_es9_request_free(&rq);
        return rsp_es_encode_failure(rsp_sc(RSP_SC_EUICC_SIG_INVALID), &resp->body);
    }
    struct rsp_es9_response r;
    memset(&r, 0, sizeof r);
    r.fn = RSP_ES9_AUTHENTICATE_CLIENT;
    r.u.auth_client.transaction_id = rq.u.auth_client.transaction_id;
    struct rsp_key *sk = NULL;
    uint8_t sig[64];
    int rc = rsp_pki_item_key(item(RSP_PKI_DPPB), &sk);
    if (rc == 0)
        rc = rsp_smdp_smdp_signed2_build(dp.tid, 16, dp.cc_required, NULL, ar.euicc_signature1.p,
                                         sk, &r.u.auth_client.smdp_signed2, sig);
    rsp_key_free(sk);
    rsp_es9_request_free(&rq);
    if (rc == 0)
        rc = rsp_der_put(&r.u.auth_client.smdp_signature2, 0x5F37, sig, 64);
    if (rc == 0)
        rc = rsp_buf_set(&r.u.auth_client.smdp_certificate, item(RSP_PKI_DPPB)->cert_der.data,
                         item(RSP_PKI_DPPB)->cert_der.len);
    if (rc != 0) {
        rsp_es9_response_free(&r);
        return rc;
    }
    struct fx_profile shown = prof; /* what the user is asked to consent to */
    if (dp.shown_name)
        shown.name = dp.shown_name;
    if (dp.shown_iccid) {
        shown.iccid = dp.shown_iccid;
        shown.upp_iccid = prof.iccid;
    }
    fx_metadata(&shown, &r.u.auth_client.profile_metadata);
    return respond(&r, resp);
}

static int h_gbpp(void *ctx, const struct rsp_http_request *req, struct rsp_http_response *resp)
{
    (void)ctx;
    struct rsp_es9_request rq;
    struct rsp_status_code sc;
    if (dp.fail_gbpp)
        return http_503(resp) ? 0 : RSP_ENOMEM;
    if (rsp_es9_decode_request(RSP_ES9_GET_BOUND_PROFILE_PACKAGE, (const char *)req->body,
                               req->body_len, &rq, &sc) != 0)
        return rsp_es_encode_failure(&sc, &resp->body);
    dp.gbpp_calls++;
    struct rsp_sgp22_prepare_download_response pd;
    struct rsp_buf *pdr = &rq.u.gbpp.prepare_download_response;
    if (rsp_sgp22_prepare_download_response_decode(pdr->data, pdr->len, &pd) != 0 || !pd.ok) {
        rsp_es9_request_free(&rq);
        return rsp_es_encode_failure(rsp_sc(RSP_SC_EUICC_SIG_INVALID), &resp->body);
    }
    struct fx_dl dl;
    memset(&dl, 0, sizeof dl);
    memcpy(dl.tid, dp.tid, 16);
    memcpy(dl.otpk, pd.euicc_signed2.euicc_otpk.p, 65);
    struct rsp_es9_response r;
    memset(&r, 0, sizeof r);
    r.fn = RSP_ES9_GET_BOUND_PROFILE_PACKAGE;
    r.u.gbpp.transaction_id = rq.u.gbpp.transaction_id;
    rsp_es9_request_free(&rq);
    fx_bpp(&dl, &prof, true, &r.u.gbpp.bound_profile_package);
    return respond(&r, resp);
}

static int h_notify(void *ctx, const struct rsp_http_request *req, struct rsp_http_response *resp)
{
    (void)ctx;
    (void)req;
    dp.notifications++;
    resp->status = 204;
    return 0;
}

static int h_cancel(void *ctx, const struct rsp_http_request *req, struct rsp_http_response *resp)
{
    (void)ctx;
    struct rsp_es9_request rq;
    struct rsp_status_code sc;
    if (rsp_es9_decode_request(RSP_ES9_CANCEL_SESSION, (const char *)req->body, req->body_len, &rq,
                               &sc) != 0)
        return rsp_es_encode_failure(&sc, &resp->body);
    dp.cancels++;
    struct rsp_sgp22_cancel_session_response cr;
    struct rsp_buf *csr = &rq.u.cancel_session.cancel_session_response;
    dp.cancel_reason = -1;
    if (rsp_sgp22_cancel_session_response_decode(csr->data, csr->len, &cr) == 0 && cr.ok)
        dp.cancel_reason = cr.signed_part.reason;
    struct rsp_es9_response r;
    memset(&r, 0, sizeof r);
    r.fn = RSP_ES9_CANCEL_SESSION;
    r.u.cancel_session.transaction_id = rq.u.cancel_session.transaction_id;
    rsp_es9_request_free(&rq);
    return respond(&r, resp);
}

static const struct rsp_http_route routes[] = {
    {"/gsma/rsp2/es9plus/initiateAuthentication", "initiateAuthentication", h_initiate, NULL},
    {"/gsma/rsp2/es9plus/authenticateClient", "authenticateClient", h_auth_client, NULL},
    {"/gsma/rsp2/es9plus/getBoundProfilePackage", "getBoundProfilePackage", h_gbpp, NULL},
    {"/gsma/rsp2/es9plus/handleNotification", "handleNotification", h_notify, NULL},
    {"/gsma/rsp2/es9plus/cancelSession", "cancelSession", h_cancel, NULL},
};

/* The LPA's link to the card: when `link_dead`, commands never reach the eUICC (the LPA died or
 * the reader was unplugged) while the eUICC keeps its session. */
static bool link_dead;
static int card_handle(void *ctx, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    if (link_dead)
        return RSP_EIO;
    return rsp_euicc_process(ctx, cmd, len, resp);
}

struct env {
    struct rsp_euicc *e;
    struct rsp_apdu_card *card;
    struct rsp_apdu_transport *t;
    struct rsp_es10 s;
    struct rsp_http_server *srv;
    struct rsp_es9p_client *c;
    char host[64];
};

static void env_open(struct env *v)
{
    memset(v, 0, sizeof *v);
    memset(&dp, 0, sizeof dp);
    v->e = fx_euicc(0, NULL, NULL);
    struct rsp_apdu_card_opts co = {.handle = card_handle, .handle_ctx = v->e};
    assert_int_equal(rsp_apdu_card_new(&v->card, &co), 0);
    assert_int_equal(rsp_apdu_loopback_new(&v->t, v->card), 0);
    struct rsp_es10_opts eo = {.block_size = 120};
    assert_int_equal(rsp_es10_open(&v->s, v->t, &eo), 0);
    struct rsp_http_config cfg = {0};
    cfg.bind_addr = "127.0.0.1";
    cfg.threads = 1;
    cfg.plain_http = true;
    assert_int_equal(rsp_http_server_start(&cfg, routes, 5, &v->srv), 0);
    snprintf(v->host, sizeof v->host, "127.0.0.1:%u", (unsigned)rsp_http_server_port(v->srv));
    struct rsp_es9p_client_opts o = {.plain_http = true, .retry_delay_ms = 10};
    assert_int_equal(rsp_es9p_client_new(&o, &v->c), 0);
}

static void env_close(struct env *v)
{
    rsp_es9p_client_free(v->c);
    rsp_http_server_stop(v->srv, 1000);
    rsp_es10_close(&v->s);
    rsp_apdu_transport_free(v->t);
    rsp_apdu_card_free(v->card);
    rsp_euicc_free(v->e);
}

static unsigned events;
static void on_event(void *ctx, const char *step, size_t i, size_t n)
{
    (void)ctx;
    (void)step;
    (void)i;
    (void)n;
    events++;
}

static int download(struct env *v, const char *cc, struct rsp_lpa_download_result *r)
{
    struct rsp_lpa_download_opts o = {.smdp_address = v->host,
                                      .matching_id = "MATCH-1",
                                      .confirmation_code = cc,
                                      .tac = {0x35, 0x29, 0x06, 0x11},
                                      .event = on_event};
    int rc = rsp_lpa_download(&v->s, v->c, &o, r);
    print_message("# download: %s (step %s)\n", r->message, r->step ? r->step : "-");
    return rc;
}

static size_t count_profiles(struct env *v)
{
    struct rsp_buf raw = RSP_BUF_INIT;
    static struct rsp_profile_info_list pl;
    assert_int_equal(rsp_lpa_get_profiles(&v->s, NULL, &raw, &pl), 0);
    rsp_buf_free(&raw);
    return pl.n;
}

static size_t count_notifications(struct env *v)
{
    struct rsp_buf raw = RSP_BUF_INIT;
    static struct rsp_es10_notif_list nl;
    assert_int_equal(rsp_lpa_list_notifications(&v->s, NULL, &raw, &nl), 0);
    rsp_buf_free(&raw);
    return nl.n;
}

static void test_download_ok_then_refusals(void **st)
{
    (void)st;
    struct env v;
    env_open(&v);
    struct rsp_lpa_download_result r;
    events = 0;
    assert_int_equal(download(&v, NULL, &r), 0);
    assert_int_equal(r.kind, RSP_LPA_DL_OK);
    assert_string_equal(r.iccid, prof.iccid);
    assert_true(r.notification_sent);
    assert_int_equal(dp.notifications, 1);
    assert_true(events >= 8);
    assert_int_equal(count_profiles(&v), 1);
    assert_int_equal(count_notifications(&v), 0); /* delivered and removed */
    /* the whole session over one connection */
    assert_int_equal(rsp_es9p_client_connections(v.c), 1);

    /* the same profile again: the eUICC refuses in the PIR (ICCID already installed) */
    assert_int_equal(download(&v, NULL, &r), RSP_ESTATE);
    assert_int_equal(r.kind, RSP_LPA_DL_EUICC_REFUSED);
    assert_int_equal(r.code, RSP_SGP22_ERR_ICCID_ALREADY_EXISTS);
    assert_int_equal(dp.notifications, 2); /* the failed PIR goes to the SM-DP+ too */

    /* a confirmation code is required and none given: the session is cancelled */
    dp.cc_required = true;
    assert_int_equal(download(&v, NULL, &r), RSP_ESTATE);
    assert_int_equal(r.kind, RSP_LPA_DL_CC_REQUIRED);
    assert_int_equal(dp.cancels, 1);
    dp.cc_required = false;

    /* refused by the SM-DP+ */
    dp.refuse_initiate = true;
    assert_int_equal(download(&v, NULL, &r), RSP_ESTATE);
    assert_int_equal(r.kind, RSP_LPA_DL_SMDP_REFUSED);
    assert_string_equal(r.es9.status.code.subject, "8.8.1");
    assert_string_equal(r.es9.status.code.reason, "3.8");
    assert_int_equal(count_profiles(&v), 1);
    env_close(&v);
}

/* Local verification (Stage 3): what the user consented to at authenticateClient must be what the
 * eUICC installed from the BPP. An SM-DP+ that shows one name and delivers another is caught. */
static void test_local_verification(void **st)
{
    (void)st;
    struct env v;
    env_open(&v);
    struct rsp_lpa_download_result r;
    char why[160];
    assert_int_equal(download(&v, NULL, &r), 0);
    assert_true(r.expected.known);
    assert_string_equal(r.expected.name, prof.name);
    assert_int_equal(rsp_lpa_verify_installed(&v.s, &r.expected, r.aid, why, sizeof why), 0);
    /* a different AID than the PIR reported */
    uint8_t other_aid[16];
    memcpy(other_aid, r.aid, 16);
    other_aid[15] ^= 1;
    assert_int_equal(rsp_lpa_verify_installed(&v.s, &r.expected, other_aid, why, sizeof why),
                     RSP_EVERIFY);
    assert_non_null(strstr(why, "ISD-P"));
    /* once enabled it is no longer a fresh, disabled profile */
    struct rsp_es10_profile_id id = {.kind = RSP_ES10_BY_AID, .aid = {r.aid, 16}};
    int res = -1;
    assert_int_equal(rsp_lpa_enable_profile(&v.s, &id, false, &res), 0);
    assert_int_equal(res, 0);
    assert_int_equal(rsp_lpa_verify_installed(&v.s, &r.expected, r.aid, why, sizeof why),
                     RSP_EVERIFY);
    assert_non_null(strstr(why, "disabled"));
    env_close(&v);

    /* an SM-DP+ that shows another profile name than the one it delivers */
    env_open(&v);
    dp.shown_name = "Cheap plan";
    assert_int_equal(download(&v, NULL, &r), 0); /* the eUICC installs what the BPP says */
    assert_int_equal(rsp_lpa_verify_installed(&v.s, &r.expected, r.aid, why, sizeof why),
                     RSP_EVERIFY);
    assert_non_null(strstr(why, "profile name"));
    env_close(&v);

    /* an SM-DP+ that shows one ICCID and delivers another (consistent inside the BPP, so the
     * eUICC installs it): the consented ICCID is not on the eUICC */
    env_open(&v);
    dp.shown_iccid = "8949000000000000785";
    assert_int_equal(download(&v, NULL, &r), 0);
    assert_int_equal(count_profiles(&v), 1);
    assert_int_equal(rsp_lpa_verify_installed(&v.s, &r.expected, r.aid, why, sizeof why),
                     RSP_EVERIFY);
    assert_non_null(strstr(why, "no profile with ICCID 8949000000000000785"));
    env_close(&v);
}

static void test_download_network(void **st)
{
    (void)st;
    struct env v;
    env_open(&v);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    snprintf(v.host, sizeof v.host, "127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
    struct rsp_lpa_download_result r;
    assert_int_equal(download(&v, NULL, &r), RSP_EIO);
    assert_int_equal(r.kind, RSP_LPA_DL_NETWORK);
    assert_true(r.es9.retryable);
    assert_int_equal(count_profiles(&v), 0);
    env_close(&v);
}

/* ---- recovery ---- */

struct capture {
    struct rsp_buf bpp;
    size_t cut_after; /* the link dies once this segment was acked */
    size_t acked;
};

static int cap_bpp(void *ctx, const struct rsp_tid *tid, const uint8_t *bpp, size_t len,
                   size_t segments)
{
    struct capture *c = ctx;
    (void)tid;
    assert_true(segments > c->cut_after);
    return rsp_buf_set(&c->bpp, bpp, len);
}

static void cap_segment(void *ctx, size_t index, size_t n, bool done)
{
    struct capture *c = ctx;
    (void)n;
    if (done) {
        c->acked = index;
        if (index == c->cut_after)
            link_dead = true;
    }
}

/* The LPA stops after segment 4 (its link to the card is gone; the eUICC keeps the session):
 * rsp_lpa_download_resume sends segments 5.. of the saved BPP, and the profile installs with ONE
 * getBoundProfilePackage. Resuming into an eUICC that lost the session says SESSION_LOST. */
static void test_resume_saved_bpp(void **st)
{
    (void)st;
    struct env v;
    env_open(&v);
    struct capture cap = {.bpp = RSP_BUF_INIT, .cut_after = 4};
    struct rsp_lpa_download_opts o = {.smdp_address = v.host,
                                      .matching_id = "MATCH-1",
                                      .tac = {0x35, 0x29, 0x06, 0x11},
                                      .on_bpp = cap_bpp,
                                      .on_segment = cap_segment,
                                      .hook_ctx = &cap};
    struct rsp_lpa_download_result r;
    assert_int_equal(rsp_lpa_download(&v.s, v.c, &o, &r), RSP_ESW);
    assert_int_equal(r.kind, RSP_LPA_DL_EUICC_IO);
    assert_int_equal(cap.acked, 4);
    assert_int_equal(dp.gbpp_calls, 1);
    link_dead = false;
    struct rsp_tid tid = r.tid;
    /* a new LPA process: the ES10 session is opened again, the card keeps its RSP session */
    rsp_es10_close(&v.s);
    struct rsp_es10_opts eo = {.block_size = 120};
    assert_int_equal(rsp_es10_open(&v.s, v.t, &eo), 0);
    struct rsp_lpa_download_opts o2 = {.smdp_address = v.host};
    assert_int_equal(
        rsp_lpa_download_resume(&v.s, v.c, &o2, &tid, cap.bpp.data, cap.bpp.len, 4, &r), 0);
    assert_int_equal(r.kind, RSP_LPA_DL_OK);
    assert_int_equal(dp.gbpp_calls, 1);
    assert_int_equal(dp.notifications, 1);
    assert_int_equal(count_profiles(&v), 1);
    /* the same BPP again: this session is over on the eUICC */
    assert_int_equal(
        rsp_lpa_download_resume(&v.s, v.c, &o2, &tid, cap.bpp.data, cap.bpp.len, 4, &r),
        RSP_ESTATE);
    assert_int_equal(r.kind, RSP_LPA_DL_SESSION_LOST);
    rsp_buf_free(&cap.bpp);
    env_close(&v);
}

static unsigned slept[32], n_slept;
static void fake_sleep(void *ctx, unsigned ms)
{
    (void)ctx;
    if (n_slept < 32)
        slept[n_slept++] = ms;
}
static uint32_t fixed_random(void *ctx)
{
    (void)ctx;
    return 0; /* the low end of each jitter window: d/2 */
}

static void run_opts(struct env *v, struct rsp_lpa_run_opts *ro, const char *dir)
{
    memset(ro, 0, sizeof *ro);
    ro->dl.smdp_address = v->host;
    ro->dl.matching_id = "MATCH-1";
    memcpy(ro->dl.tac, "\x35\x29\x06\x11", 4);
    ro->state_dir = dir;
    rsp_lpa_retry_policy_default(&ro->retry);
    ro->retry.base_ms = 1000;
    ro->retry.cap_ms = 4000;
    rsp_lpa_conditions_policy_default(&ro->cond_policy);
    rsp_lpa_conditions_unknown(&ro->conditions);
    ro->sleep_ms = fake_sleep;
    ro->random = fixed_random;
    n_slept = 0;
}

static size_t count_lines(const char *path, const char *needle)
{
    struct rsp_buf b = tu_load(path);
    size_t n = 0;
    assert_int_equal(rsp_buf_append_byte(&b, 0), 0);
    for (const char *p = (const char *)b.data; (p = strstr(p, needle)) != NULL; p++)
        n++;
    rsp_buf_free(&b);
    return n;
}

/* The driver: two HTTP 503 answers -> two back-offs (1000, then 2000 ms before jitter; the
 * jitter source gives the low end) -> installed, and the record left for Stage 3. */
static void test_run_backoff_then_success(void **st)
{
    (void)st;
    struct env v;
    env_open(&v);
    char dir[512], ev[600];
    snprintf(dir, sizeof dir, "%s/run1", tu_tmpdir());
    struct rsp_lpa_run_opts ro;
    run_opts(&v, &ro, dir);
    dp.fail_initiate = 2;
    struct rsp_lpa_download_result r;
    struct rsp_lpa_attempt a;
    assert_int_equal(rsp_lpa_run(&v.s, v.c, &ro, &r, &a), 0);
    assert_int_equal(r.kind, RSP_LPA_DL_OK);
    assert_int_equal(a.state, RSP_LPA_ATT_VERIFYING);
    assert_int_equal(a.attempts, 3);
    assert_int_equal(n_slept, 2);
    assert_int_equal(slept[0], 500);
    assert_int_equal(slept[1], 1000);
    snprintf(ev, sizeof ev, "%s/events.jsonl", dir);
    assert_int_equal(count_lines(ev, "\"event\":\"backoff\""), 2);
    assert_int_equal(count_lines(ev, "\"event\":\"installed\""), 1);
    /* run again: the record says installed, Stage 3 is the caller's; nothing is downloaded */
    unsigned calls = dp.gbpp_calls;
    assert_int_equal(rsp_lpa_run(&v.s, v.c, &ro, &r, &a), 0);
    assert_int_equal(dp.gbpp_calls, calls);
    assert_int_equal(rsp_lpa_attempt_clear(dir), 0);
    remove(ev);
    rmdir(dir);
    env_close(&v);
}

/* The driver gives up when the budget is spent: getBoundProfilePackage always fails (503) after
 * PrepareDownload, so the eUICC holds the session: CancelSession(timeout) goes to the SM-DP+;
 * an SGP.22 refusal is final at once (no back-off). */
static void test_run_give_up_cancels(void **st)
{
    (void)st;
    struct env v;
    env_open(&v);
    char dir[512], ev[600];
    snprintf(dir, sizeof dir, "%s/run2", tu_tmpdir());
    struct rsp_lpa_run_opts ro;
    run_opts(&v, &ro, dir);
    ro.retry.max_attempts = 3;
    dp.fail_gbpp = true;
    struct rsp_lpa_download_result r;
    struct rsp_lpa_attempt a;
    assert_int_not_equal(rsp_lpa_run(&v.s, v.c, &ro, &r, &a), 0);
    assert_int_equal(a.state, RSP_LPA_ATT_GAVE_UP);
    assert_int_equal(a.attempts, 3);
    assert_int_equal(n_slept, 2);
    assert_int_equal(dp.cancels, 1);
    assert_int_equal(dp.cancel_reason, RSP_SGP22_CANCEL_TIMEOUT);
    assert_string_equal(a.pending_cancel, ""); /* delivered */
    snprintf(ev, sizeof ev, "%s/events.jsonl", dir);
    assert_int_equal(count_lines(ev, "\"event\":\"gave-up\""), 1);
    assert_int_equal(count_lines(ev, "\"result\":\"delivered\""), 1);
    dp.fail_gbpp = false;

    /* a refusal: final, no back-off, no cancel (no eUICC session was opened) */
    dp.refuse_initiate = true;
    run_opts(&v, &ro, dir);
    assert_int_not_equal(rsp_lpa_run(&v.s, v.c, &ro, &r, &a), 0);
    assert_int_equal(r.kind, RSP_LPA_DL_SMDP_REFUSED);
    assert_int_equal(a.state, RSP_LPA_ATT_GAVE_UP);
    assert_int_equal(a.attempts, 1);
    assert_int_equal(n_slept, 0);
    assert_int_equal(dp.cancels, 1);
    assert_int_equal(rsp_lpa_attempt_clear(dir), 0);
    remove(ev);
    rmdir(dir);
    env_close(&v);
}

/* Device conditions: battery low and not charging -> deferred before anything is sent; with
 * no_wait the run returns DEFERRED; waiting, it polls the conditions file until the platform
 * writes charging=1, then installs. */
static char cond_path[600];
static void sleep_then_charge(void *ctx, unsigned ms)
{
    (void)ctx;
    fake_sleep(NULL, ms);
    if (n_slept == 3) {
        FILE *f = fopen(cond_path, "w");
        assert_non_null(f);
        fputs("battery=9\ncharging=1\n", f);
        fclose(f);
    }
}

static void test_run_deferred(void **st)
{
    (void)st;
    struct env v;
    env_open(&v);
    char dir[512], ev[600];
    snprintf(dir, sizeof dir, "%s/run3", tu_tmpdir());
    snprintf(cond_path, sizeof cond_path, "%s/conditions", tu_tmpdir());
    FILE *f = fopen(cond_path, "w");
    assert_non_null(f);
    fputs("battery=9\ncharging=0\n", f);
    fclose(f);
    struct rsp_lpa_run_opts ro;
    run_opts(&v, &ro, dir);
    ro.conditions_file = cond_path;
    ro.no_wait = true;
    struct rsp_lpa_download_result r;
    struct rsp_lpa_attempt a;
    assert_int_not_equal(rsp_lpa_run(&v.s, v.c, &ro, &r, &a), 0);
    assert_int_equal(r.kind, RSP_LPA_DL_DEFERRED);
    assert_int_equal(a.state, RSP_LPA_ATT_DEFERRED);
    assert_int_equal(a.attempts, 0);
    assert_int_equal(dp.gbpp_calls, 0);
    ro.no_wait = false;
    ro.sleep_ms = sleep_then_charge;
    ro.conditions_poll_ms = 50;
    assert_int_equal(rsp_lpa_run(&v.s, v.c, &ro, &r, &a), 0);
    assert_int_equal(r.kind, RSP_LPA_DL_OK);
    assert_int_equal(n_slept, 3);
    assert_int_equal(slept[0], 50);
    snprintf(ev, sizeof ev, "%s/events.jsonl", dir);
    assert_int_equal(count_lines(ev, "\"event\":\"resumed\""), 1);
    assert_int_equal(rsp_lpa_attempt_clear(dir), 0);
    remove(ev);
    remove(cond_path);
    rmdir(dir);
    env_close(&v);
}

static void put_file(const char *dir, const char *sub, const char *name, const struct rsp_buf *b)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
    fclose(f);
}

/* Runs rsp-lpa with `args` and returns its exit status; the last output line goes to last. */
static int run_lpa(const char *args, char *last, size_t last_len, unsigned *progress)
{
    char cmd[2048];
    const char *build = getenv("RSP_BUILD_DIR");
    snprintf(cmd, sizeof cmd, "%s/src/lpa/rsp-lpa %s 2>/dev/null", build ? build : ".", args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[4096];
    last[0] = 0;
    while (fgets(line, sizeof line, p)) {
        if (progress && strstr(line, "\"type\":\"progress\""))
            (*progress)++;
        snprintf(last, last_len, "%s", line);
    }
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The command line: rsp-lpa --http --euicc soft:DIR profile download -s HOST -m ID against the
 * same test SM-DP+, the soft eUICC holding the fixture's credentials. */
static void test_cli_download(void **st)
{
    (void)st;
    struct env v;
    env_open(&v);
    const char *dir = tu_tmpdir();
    const struct rsp_pki_set *ps = &fx_pki()->set[0];
    put_file(dir, "nist", "euicc.der", &ps->item[RSP_PKI_EUICC].cert_der);
    put_file(dir, "nist", "euicc.key.pem", &ps->item[RSP_PKI_EUICC].key_pem);
    put_file(dir, "nist", "eum.der", &ps->item[RSP_PKI_EUM].cert_der);
    put_file(dir, "nist", "ci.der", &ps->item[RSP_PKI_CI].cert_der);
    put_file(dir, "brp", "ci.der", &fx_pki()->set[1].item[RSP_PKI_CI].cert_der);
    char args[1024], last[4096];
    unsigned progress = 0;
    snprintf(args, sizeof args,
             "--json --http --euicc soft:%s profile download -s %s -m MATCH-1 --imei "
             "356938035643809",
             dir, v.host);
    int rc = run_lpa(args, last, sizeof last, &progress);
    print_message("# %s", last);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(last, "\"ok\":true"));
    assert_non_null(strstr(last, prof.iccid));
    assert_true(progress >= 7);
    assert_int_equal(dp.notifications, 1);
    snprintf(args, sizeof args, "--json --euicc soft:%s profile list", dir);
    assert_int_equal(run_lpa(args, last, sizeof last, NULL), 0);
    assert_non_null(strstr(last, prof.iccid));
    /* again: the eUICC refuses (ICCID already installed): exit status 3 */
    snprintf(args, sizeof args, "--http --euicc soft:%s profile download -s %s -m MATCH-1", dir,
             v.host);
    assert_int_equal(run_lpa(args, last, sizeof last, NULL), 3);
    /* refused by the SM-DP+: exit status 4 with the codes in the JSON result */
    dp.refuse_initiate = true;
    snprintf(args, sizeof args, "--json --http --euicc soft:%s profile download -s %s", dir,
             v.host);
    assert_int_equal(run_lpa(args, last, sizeof last, NULL), 4);
    assert_non_null(strstr(last, "\"subject_code\":\"8.8.1\""));
    assert_non_null(strstr(last, "\"reason_code\":\"3.8\""));
    env_close(&v);
}

static int teardown_group(void **st)
{
    (void)st;
    fx_pki_free();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_download_ok_then_refusals),
        cmocka_unit_test(test_local_verification),
        cmocka_unit_test(test_download_network),
        cmocka_unit_test(test_cli_download),
        cmocka_unit_test(test_resume_saved_bpp),
        cmocka_unit_test(test_run_backoff_then_success),
        cmocka_unit_test(test_run_give_up_cancels),
        cmocka_unit_test(test_run_deferred),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_group);
}
