/* A device that gives up a download with a CancelSession reason of its choice, for the rollback
 * end-to-end test (tests/e2e/recon.sh):
 *
 *   device_cancel --pki DIR --address HOST:PORT --matching-id ID --reason N
 *
 * The LPA (rsp_lpa_download, src/lpa) over the software eUICC of the test PKI in DIR
 * (tests/common/euicc_fx.c) runs a real download against rsp-smdp over HTTPS up to the bound
 * profile package, stops before loading it (the on_bpp hook), then the eUICC signs a
 * CancelSession with reason N (0 endUserRejection, 4 metadataMismatch, 5 loadBppExecutionError,
 * ...) and it goes to the SM-DP+ as ES9+ cancelSession. rsp-lpa itself sends these reasons only
 * while its eUICC still holds the session (a separate card process), which the in-process
 * software eUICC of rsp-lpa cannot do after a kill or a tear. Exit 0 when the SM-DP+ accepted the
 * cancellation, 1 otherwise. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "euicc_fx.h"
#include "rsp/apdu.h"
#include "rsp/apdu_card.h"
#include "rsp/err.h"
#include "rsp/es9p_client.h"
#include "rsp/lpa.h"

static struct rsp_tid g_tid;

static int stop_before_load(void *ctx, const struct rsp_tid *tid, const uint8_t *bpp, size_t len,
                            size_t nseg)
{
    (void)ctx;
    (void)bpp;
    (void)len;
    (void)nseg;
    g_tid = *tid;
    return 1;
}

static void test_cancel(void **st);
static const char *g_pki, *g_address, *g_mid;
static int g_reason = -1;

static void test_cancel(void **st)
{
    (void)st;
    fx_pki_load(g_pki);
    struct rsp_euicc *e = fx_euicc(0, NULL, NULL);
    struct rsp_apdu_card *card = NULL;
    struct rsp_apdu_card_opts co = {.handle = rsp_euicc_process, .handle_ctx = e};
    assert_int_equal(rsp_apdu_card_new(&card, &co), 0);
    struct rsp_apdu_transport *t = NULL;
    assert_int_equal(rsp_apdu_loopback_new(&t, card), 0);
    struct rsp_es10 s;
    struct rsp_es10_opts eo = {.block_size = 255};
    assert_int_equal(rsp_es10_open(&s, t, &eo), 0);
    char ca[1024];
    snprintf(ca, sizeof ca, "%s/nist/ci.pem", g_pki);
    struct rsp_es9p_client_opts o = {.ca_file = ca, .timeout_ms = 30000};
    struct rsp_es9p_client *c = NULL;
    assert_int_equal(rsp_es9p_client_new(&o, &c), 0);
    struct rsp_lpa_download_opts dl = {.smdp_address = g_address,
                                       .matching_id = g_mid,
                                       .tac = {0x35, 0x29, 0x06, 0x11},
                                       .on_bpp = stop_before_load};
    struct rsp_lpa_download_result r;
    int rc = rsp_lpa_download(&s, c, &dl, &r);
    printf("# download stopped: %s (step %s)\n", r.message, r.step ? r.step : "-");
    assert_true(rc != 0);
    assert_true(g_tid.len > 0); /* the BPP was bound */
    /* the eUICC signs the cancellation; the SM-DP+ receives it */
    struct rsp_buf raw = RSP_BUF_INIT;
    struct rsp_sgp22_cancel_session_response cr;
    assert_int_equal(rsp_lpa_cancel_session(&s, g_tid.b, g_tid.len, g_reason, &raw, &cr), 0);
    struct rsp_es9_request rq;
    memset(&rq, 0, sizeof rq);
    rq.fn = RSP_ES9_CANCEL_SESSION;
    rq.u.cancel_session.transaction_id = g_tid;
    assert_int_equal(rsp_buf_set(&rq.u.cancel_session.cancel_session_response, raw.data, raw.len),
                     0);
    struct rsp_es9_response rs;
    struct rsp_es9p_outcome oc;
    rc = rsp_es9p_call(c, g_address, &rq, &rs, &oc);
    printf("# cancelSession(reason %d): %s\n", g_reason, oc.message);
    assert_int_equal(rc, 0);
    rsp_es9_response_free(&rs);
    rsp_es9_request_free(&rq);
    rsp_buf_free(&raw);
    rsp_es9p_client_free(c);
    rsp_es10_close(&s);
    rsp_apdu_transport_free(t);
    rsp_apdu_card_free(card);
    rsp_euicc_free(e);
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--pki"))
            g_pki = v;
        else if (!strcmp(k, "--address"))
            g_address = v;
        else if (!strcmp(k, "--matching-id"))
            g_mid = v;
        else if (!strcmp(k, "--reason"))
            g_reason = atoi(v);
    }
    if (!g_pki || !g_address || !g_mid || g_reason < 0 || g_reason > 127) {
        fprintf(stderr, "usage: device_cancel --pki DIR --address HOST:PORT --matching-id ID "
                        "--reason N\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cancel)};
    return cmocka_run_group_tests_name("device_cancel", tests, NULL, NULL);
}
