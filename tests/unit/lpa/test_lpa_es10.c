/* LPA ES10 client functions against the software eUICC through the card front-end and the
 * loopback transport: each function's success and an eUICC refusal; a full download through
 * AuthenticateServer, PrepareDownload and the LoadBoundProfilePackage segmenter at sampled STORE
 * DATA block sizes. The test plays the SM-DP+ with src/smdp's builders (as euicc_fx does). */
#include <string.h>

#include "euicc_fx.h"
#include "rsp/apdu.h"
#include "rsp/apdu_card.h"
#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/lpa.h"
#include "rsp/smdp_bpp.h"

struct link {
    struct rsp_apdu_card *card;
    struct rsp_apdu_transport *t;
    struct rsp_es10 s;
    struct rsp_euicc *e;
};

static void link_open_f(struct link *l, size_t block, const struct rsp_euicc_faults *f)
{
    memset(l, 0, sizeof *l);
    l->e = fx_euicc(0, NULL, f);
    struct rsp_apdu_card_opts co = {.handle = rsp_euicc_process, .handle_ctx = l->e};
    assert_int_equal(rsp_apdu_card_new(&l->card, &co), 0);
    assert_int_equal(rsp_apdu_loopback_new(&l->t, l->card), 0);
    struct rsp_es10_opts eo = {.block_size = block};
    assert_int_equal(rsp_es10_open(&l->s, l->t, &eo), 0);
}

static void link_open(struct link *l, size_t block)
{
    link_open_f(l, block, NULL);
}

static void link_close(struct link *l)
{
    rsp_es10_close(&l->s);
    rsp_apdu_transport_free(l->t);
    rsp_apdu_card_free(l->card);
    rsp_euicc_free(l->e);
}

static const struct rsp_pki_item *item(enum rsp_pki_role r)
{
    return &fx_pki()->set[0].item[r];
}

static struct rsp_key *key_of(enum rsp_pki_role r)
{
    struct rsp_key *k = NULL;
    assert_int_equal(rsp_pki_item_key(item(r), &k), 0);
    return k;
}

/* Authenticates and prepares a download through the LPA functions. Returns the
 * authenticateErrorCode (0 ok); on success also the downloadErrorCode in *pd_error. */
static int64_t lpa_auth_prepare(struct link *l, struct fx_dl *dl, bool bad_sig1, bool wrong_tid,
                                int64_t *pd_error)
{
    memset(dl, 0, sizeof *dl);
    assert_int_equal(rsp_random(dl->tid, sizeof dl->tid), 0);
    assert_int_equal(rsp_lpa_get_challenge(&l->s, dl->challenge), 0);
    struct rsp_key *sk = key_of(RSP_PKI_DPAUTH);
    struct rsp_buf s1 = RSP_BUF_INIT, sig1tlv = RSP_BUF_INIT, pkid = RSP_BUF_INIT;
    uint8_t sig1[64];
    assert_int_equal(rsp_smdp_server_signed1_build(dl->tid, 16, dl->challenge, FX_SMDP_ADDR, NULL,
                                                   sk, &s1, sig1, NULL),
                     0);
    rsp_key_free(sk);
    if (bad_sig1)
        sig1[5] ^= 0x10;
    assert_int_equal(rsp_der_put(&sig1tlv, 0x5F37, sig1, 64), 0);
    /* euiccCiPKIdToBeUsed: the CI our eUICC signs with (AKI of CERT.EUM) */
    struct rsp_cert *eum = NULL;
    uint8_t ki[RSP_KEYID_LEN];
    assert_int_equal(
        rsp_cert_parse(item(RSP_PKI_EUM)->cert_der.data, item(RSP_PKI_EUM)->cert_der.len, &eum), 0);
    assert_int_equal(rsp_cert_aki(eum, ki), 0);
    rsp_cert_free(eum);
    assert_int_equal(rsp_der_put(&pkid, 0x04, ki, sizeof ki), 0);
    struct rsp_lpa_auth_input in = {
        .server_signed1 = {s1.data, s1.len},
        .server_signature1 = {sig1tlv.data, sig1tlv.len},
        .euicc_ci_pkid = {pkid.data, pkid.len},
        .server_certificate = {item(RSP_PKI_DPAUTH)->cert_der.data,
                               item(RSP_PKI_DPAUTH)->cert_der.len},
    };
    struct rsp_lpa_device dev = {.matching_id = "MATCH-LPA", .tac = {0x35, 0x29, 0x06, 0x11}};
    struct rsp_buf raw = RSP_BUF_INIT;
    struct rsp_sgp22_authenticate_server_response ar;
    assert_int_equal(rsp_lpa_authenticate_server(&l->s, &in, &dev, &raw, &ar), 0);
    int64_t auth_error = 0;
    if (!ar.ok) {
        auth_error = ar.error_code;
        assert_memory_equal(ar.transaction_id.p, dl->tid, 16);
    } else {
        assert_int_equal(ar.euicc_signed1.ctx_params1.matching_id.len, 9);
        assert_memory_equal(ar.euicc_signed1.ctx_params1.matching_id.p, "MATCH-LPA", 9);
        memcpy(dl->euicc_sig1, ar.euicc_signature1.p, 64);
    }
    rsp_buf_free(&raw);
    rsp_buf_free(&s1);
    rsp_buf_free(&sig1tlv);
    rsp_buf_free(&pkid);
    if (auth_error)
        return auth_error;

    sk = key_of(RSP_PKI_DPPB);
    struct rsp_buf s2 = RSP_BUF_INIT, sig2tlv = RSP_BUF_INIT;
    uint8_t sig2[64], tid[16];
    memcpy(tid, dl->tid, 16);
    if (wrong_tid)
        tid[0] ^= 1;
    assert_int_equal(
        rsp_smdp_smdp_signed2_build(tid, 16, false, NULL, dl->euicc_sig1, sk, &s2, sig2), 0);
    rsp_key_free(sk);
    assert_int_equal(rsp_der_put(&sig2tlv, 0x5F37, sig2, 64), 0);
    struct rsp_lpa_prepare_input pin = {
        .smdp_signed2 = {s2.data, s2.len},
        .smdp_signature2 = {sig2tlv.data, sig2tlv.len},
        .smdp_certificate = {item(RSP_PKI_DPPB)->cert_der.data, item(RSP_PKI_DPPB)->cert_der.len},
    };
    struct rsp_sgp22_prepare_download_response pr;
    assert_int_equal(rsp_lpa_prepare_download(&l->s, &pin, &raw, &pr), 0);
    *pd_error = pr.ok ? 0 : pr.error_code;
    if (pr.ok)
        memcpy(dl->otpk, pr.euicc_signed2.euicc_otpk.p, 65);
    rsp_buf_free(&raw);
    rsp_buf_free(&s2);
    rsp_buf_free(&sig2tlv);
    return 0;
}

static const struct fx_profile prof = {
    .iccid = "8949000000000000421", .name = "LPA", .profile_class = RSP_PROFILE_CLASS_OPERATIONAL};

static void count_progress(void *ctx, size_t index, size_t n)
{
    size_t *calls = ctx;
    assert_true(index >= 1 && index <= n);
    (*calls)++;
}

/* Full download; returns the load_bpp rc. bpp_block: STORE DATA block size for the BPP
 * segments (0: the session's); authentication itself needs more than 256 blocks of a few bytes. */
static int lpa_download_bs(struct link *l, bool two_layer, size_t bpp_block, size_t *sent,
                           struct rsp_buf *pir_raw, struct rsp_sgp22_pir *pir)
{
    struct fx_dl dl;
    int64_t pd_error = -1;
    assert_int_equal(lpa_auth_prepare(l, &dl, false, false, &pd_error), 0);
    assert_int_equal(pd_error, 0);
    struct rsp_buf bpp = RSP_BUF_INIT;
    fx_bpp(&dl, &prof, two_layer, &bpp);
    size_t calls = 0;
    if (bpp_block)
        l->s.block_size = bpp_block;
    int rc = rsp_lpa_load_bpp(&l->s, bpp.data, bpp.len, pir_raw, pir, sent, count_progress, &calls);
    assert_int_equal(calls, *sent);
    rsp_buf_free(&bpp);
    return rc;
}

static int lpa_download(struct link *l, bool two_layer, size_t *sent, struct rsp_buf *pir_raw,
                        struct rsp_sgp22_pir *pir)
{
    return lpa_download_bs(l, two_layer, 0, sent, pir_raw, pir);
}

static void test_info(void **st)
{
    (void)st;
    struct link l;
    link_open(&l, 255);
    uint8_t ch1[16], ch2[16];
    assert_int_equal(rsp_lpa_get_challenge(&l.s, ch1), 0);
    assert_int_equal(rsp_lpa_get_challenge(&l.s, ch2), 0);
    assert_memory_not_equal(ch1, ch2, 16);
    struct rsp_buf raw = RSP_BUF_INIT;
    struct rsp_euicc_info1 i1;
    assert_int_equal(rsp_lpa_get_euicc_info1(&l.s, &raw, &i1), 0);
    assert_int_equal(i1.svn[0], 2);
    assert_true(i1.ci_verify.n >= 1);
    struct rsp_euicc_info2 i2;
    assert_int_equal(rsp_lpa_get_euicc_info2(&l.s, &raw, &i2), 0);
    assert_int_equal(i2.svn[0], 2);
    assert_true(i2.ci_sign.n >= 1);
    char eid[33];
    assert_int_equal(rsp_lpa_get_eid(&l.s, eid), 0);
    assert_int_equal(strlen(eid), 32);
    struct rsp_eid e;
    assert_int_equal(rsp_eid_from_str(eid, &e), 0);
    rsp_buf_free(&raw);
    link_close(&l);
}

static void test_addresses(void **st)
{
    (void)st;
    struct link l;
    link_open(&l, 120);
    struct rsp_buf raw = RSP_BUF_INIT;
    struct rsp_es10_configured_addresses a;
    assert_int_equal(rsp_lpa_configured_addresses(&l.s, &raw, &a), 0);
    assert_int_equal(a.default_dp.len, strlen(FX_SMDP_ADDR));
    assert_memory_equal(a.default_dp.p, FX_SMDP_ADDR, a.default_dp.len);
    assert_non_null(a.root_ds.p);
    int r = -1;
    assert_int_equal(rsp_lpa_set_default_dp(&l.s, "dp.lab.example", &r), 0);
    assert_int_equal(r, RSP_SET_DEFAULT_DP_OK);
    assert_int_equal(rsp_lpa_configured_addresses(&l.s, &raw, &a), 0);
    assert_int_equal(a.default_dp.len, 14);
    assert_memory_equal(a.default_dp.p, "dp.lab.example", 14);
    rsp_buf_free(&raw);
    link_close(&l);
}

static void test_profiles_and_notifications(void **st)
{
    (void)st;
    struct link l;
    link_open(&l, 255);
    struct rsp_buf raw = RSP_BUF_INIT, pir_raw = RSP_BUF_INIT;
    static struct rsp_profile_info_list pl;
    assert_int_equal(rsp_lpa_get_profiles(&l.s, NULL, &raw, &pl), 0);
    assert_false(pl.is_error);
    assert_int_equal(pl.n, 0);

    /* refusals on an empty eUICC */
    struct rsp_es10_profile_id id;
    uint8_t aid[16];
    assert_int_equal(rsp_lpa_profile_id_parse(prof.iccid, &id, aid), 0);
    assert_int_equal(id.kind, RSP_ES10_BY_ICCID);
    int r = -1;
    assert_int_equal(rsp_lpa_enable_profile(&l.s, &id, false, &r), 0);
    assert_int_equal(r, RSP_ENABLE_ICCID_OR_AID_NOT_FOUND);
    assert_string_equal(rsp_lpa_enable_result_name(r), "iccidOrAidNotFound");
    assert_int_equal(rsp_lpa_set_nickname(&l.s, &id.iccid, "x", &r), 0);
    assert_int_equal(r, RSP_SET_NICKNAME_ICCID_NOT_FOUND);
    assert_int_equal(rsp_lpa_remove_notification(&l.s, 4242, &r), 0);
    assert_int_equal(r, RSP_NOTIF_SENT_NOTHING_TO_DELETE);

    struct rsp_sgp22_pir pir;
    size_t sent = 0;
    assert_int_equal(lpa_download(&l, true, &sent, &pir_raw, &pir), 0);
    assert_true(pir.data.success);
    assert_int_equal(pir.data.aid.len, 16);
    memcpy(aid, pir.data.aid.p, 16);

    assert_int_equal(rsp_lpa_get_profiles(&l.s, NULL, &raw, &pl), 0);
    assert_int_equal(pl.n, 1);
    assert_memory_equal(pl.profiles[0].isdp_aid.p, aid, 16);
    assert_int_equal(pl.profiles[0].state, RSP_PROFILE_DISABLED);

    /* by ICCID and by AID */
    assert_int_equal(rsp_lpa_set_nickname(&l.s, &id.iccid, "work", &r), 0);
    assert_int_equal(r, RSP_SET_NICKNAME_OK);
    assert_int_equal(rsp_lpa_disable_profile(&l.s, &id, false, &r), 0);
    assert_int_equal(r, RSP_DISABLE_PROFILE_NOT_IN_ENABLED_STATE);
    assert_int_equal(rsp_lpa_enable_profile(&l.s, &id, false, &r), 0);
    assert_int_equal(r, RSP_ENABLE_OK);
    struct rsp_es10_profile_id by_aid;
    uint8_t aid2[16];
    char hex[33];
    rsp_hex_str(hex, aid, 16, 1);
    assert_int_equal(rsp_lpa_profile_id_parse(hex, &by_aid, aid2), 0);
    assert_int_equal(by_aid.kind, RSP_ES10_BY_AID);
    assert_int_equal(rsp_lpa_enable_profile(&l.s, &by_aid, false, &r), 0);
    assert_int_equal(r, RSP_ENABLE_PROFILE_NOT_IN_DISABLED_STATE);
    assert_int_equal(rsp_lpa_delete_profile(&l.s, &by_aid, &r), 0);
    assert_int_equal(r, RSP_DELETE_PROFILE_NOT_IN_DISABLED_STATE);
    struct rsp_profile_info_list_req q = {.search = RSP_ES10_SEARCH_ICCID, .iccid = id.iccid};
    assert_int_equal(rsp_lpa_get_profiles(&l.s, &q, &raw, &pl), 0);
    assert_int_equal(pl.n, 1);
    assert_int_equal(pl.profiles[0].state, RSP_PROFILE_ENABLED);
    assert_int_equal(pl.profiles[0].nickname.len, 4);
    assert_int_equal(rsp_lpa_disable_profile(&l.s, &id, false, &r), 0);
    assert_int_equal(r, RSP_DISABLE_OK);
    assert_int_equal(rsp_lpa_delete_profile(&l.s, &id, &r), 0);
    assert_int_equal(r, RSP_DELETE_OK);

    /* notifications: install, enable, disable, delete */
    static struct rsp_es10_notif_list nl;
    assert_int_equal(rsp_lpa_list_notifications(&l.s, NULL, &raw, &nl), 0);
    assert_false(nl.is_error);
    assert_int_equal(nl.n, 4);
    struct rsp_sgp22_notification_metadata md;
    assert_int_equal(
        rsp_sgp22_notification_metadata_decode(nl.items[0].raw, nl.items[0].raw_len, &md), 0);
    uint64_t first = (uint64_t)md.seq_number;
    struct rsp_es10_list_notif_req only_install = {.has_pmo = true, .pmo = RSP_NOTIF_INSTALL};
    assert_int_equal(rsp_lpa_list_notifications(&l.s, &only_install, &raw, &nl), 0);
    assert_int_equal(nl.n, 1);
    struct rsp_buf raw2 = RSP_BUF_INIT;
    assert_int_equal(rsp_lpa_retrieve_notifications(&l.s, NULL, &raw2, &nl), 0);
    assert_int_equal(nl.n, 4);
    struct rsp_sgp22_pending_notification pn;
    assert_int_equal(
        rsp_sgp22_pending_notification_decode(nl.items[0].raw, nl.items[0].raw_len, &pn), 0);
    assert_true(pn.is_pir);
    struct rsp_es10_retrieve_notif_req by_seq = {.kind = RSP_ES10_RETRIEVE_SEQ,
                                                 .seq_number = first};
    assert_int_equal(rsp_lpa_retrieve_notifications(&l.s, &by_seq, &raw2, &nl), 0);
    assert_int_equal(nl.n, 1);
    assert_int_equal(rsp_lpa_remove_notification(&l.s, first, &r), 0);
    assert_int_equal(r, RSP_NOTIF_SENT_OK);
    assert_int_equal(rsp_lpa_list_notifications(&l.s, NULL, &raw, &nl), 0);
    assert_int_equal(nl.n, 3);

    /* memory reset: nothing to delete now */
    assert_int_equal(rsp_lpa_memory_reset(&l.s, RSP_RESET_DELETE_OPERATIONAL, &r), 0);
    assert_int_equal(r, RSP_RESET_NOTHING_TO_DELETE);
    rsp_buf_free(&raw);
    rsp_buf_free(&raw2);
    rsp_buf_free(&pir_raw);
    link_close(&l);
}

static void test_auth_refusals(void **st)
{
    (void)st;
    struct link l;
    link_open(&l, 255);
    struct fx_dl dl;
    int64_t pd = -1;
    int64_t ae = lpa_auth_prepare(&l, &dl, true, false, &pd);
    assert_int_equal(ae, RSP_SGP22_AUTH_ERR_INVALID_SIGNATURE);
    assert_string_equal(rsp_lpa_auth_error_name(ae), "invalidSignature");
    assert_int_equal(lpa_auth_prepare(&l, &dl, false, true, &pd), 0);
    assert_int_equal(pd, RSP_SGP22_DL_ERR_INVALID_TRANSACTION_ID);
    /* cancel the open session; a second cancel for a foreign tid is refused */
    assert_int_equal(lpa_auth_prepare(&l, &dl, false, false, &pd), 0);
    assert_int_equal(pd, 0);
    struct rsp_buf raw = RSP_BUF_INIT;
    struct rsp_sgp22_cancel_session_response cr;
    assert_int_equal(
        rsp_lpa_cancel_session(&l.s, dl.tid, 16, RSP_SGP22_CANCEL_POSTPONED, &raw, &cr), 0);
    assert_true(cr.ok);
    assert_memory_equal(cr.signed_part.transaction_id.p, dl.tid, 16);
    dl.tid[3] ^= 1;
    assert_int_equal(
        rsp_lpa_cancel_session(&l.s, dl.tid, 16, RSP_SGP22_CANCEL_POSTPONED, &raw, &cr), 0);
    assert_false(cr.ok);
    rsp_buf_free(&raw);
    link_close(&l);
}

static void test_bpp_refusals(void **st)
{
    (void)st;
    /* a PIR error at segment 3 stops the sequence there */
    struct rsp_euicc_faults f = {.fail_at_segment = 3,
                                 .fail_reason = RSP_SGP22_ERR_PE_PROCESSING_ERROR};
    struct link l;
    link_open_f(&l, 255, &f);
    struct rsp_buf raw = RSP_BUF_INIT;
    struct rsp_sgp22_pir pir;
    size_t sent = 0;
    assert_int_equal(lpa_download(&l, false, &sent, &raw, &pir), 0);
    assert_int_equal(sent, 3);
    assert_false(pir.data.success);
    assert_int_equal(pir.data.error_reason, RSP_SGP22_ERR_PE_PROCESSING_ERROR);
    assert_string_equal(rsp_lpa_error_reason_name(pir.data.error_reason),
                        "installFailedDueToPEProcessingError");
    /* a BPP outside any session: the card's status word */
    struct fx_dl dl;
    memset(&dl, 0, sizeof dl);
    memset(dl.otpk, 0, sizeof dl.otpk);
    struct rsp_key *k = NULL;
    assert_int_equal(rsp_key_generate(RSP_CURVE_NIST_P256, &k), 0);
    assert_int_equal(rsp_key_point(k, dl.otpk), 0);
    rsp_key_free(k);
    struct rsp_buf bpp = RSP_BUF_INIT;
    fx_bpp(&dl, &prof, false, &bpp);
    assert_int_equal(rsp_lpa_load_bpp(&l.s, bpp.data, bpp.len, &raw, &pir, &sent, NULL, NULL),
                     RSP_ESW);
    assert_int_equal(l.s.last_sw, RSP_SW_COND_NOT_SATISFIED);
    assert_int_equal(sent, 1);
    /* not a BPP */
    assert_int_equal(rsp_lpa_load_bpp(&l.s, bpp.data, 10, &raw, &pir, &sent, NULL, NULL) < 0, 1);
    assert_int_equal(sent, 0);
    rsp_buf_free(&bpp);
    rsp_buf_free(&raw);
    link_close(&l);
}

static void test_bpp_block_sizes(void **st)
{
    (void)st;
    static const size_t sizes[] = {1, 2, 3, 5, 16, 37, 64, 119, 128, 200, 254, 255};
    size_t ok = 0, too_small = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct link l;
        link_open(&l, 255);
        struct rsp_buf raw = RSP_BUF_INIT;
        struct rsp_sgp22_pir pir;
        size_t sent = 99;
        int rc = lpa_download_bs(&l, (i % 2) == 0, sizes[i], &sent, &raw, &pir);
        if (rc == RSP_ERANGE) {
            /* refused before the first segment: nothing half-installed */
            assert_int_equal(sent, 0);
            assert_true(sizes[i] < 8);
            too_small++;
        } else {
            assert_int_equal(rc, 0);
            assert_true(pir.data.success);
            static struct rsp_profile_info_list pl;
            assert_int_equal(rsp_lpa_get_profiles(&l.s, NULL, &raw, &pl), 0);
            assert_int_equal(pl.n, 1);
            ok++;
        }
        rsp_buf_free(&raw);
        link_close(&l);
    }
    print_message("# block sizes: %zu installed, %zu refused as too small\n", ok, too_small);
    assert_true(ok >= 8);
    assert_true(too_small >= 1);
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
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_profiles_and_notifications),
        cmocka_unit_test(test_auth_refusals),
        cmocka_unit_test(test_bpp_refusals),
        cmocka_unit_test(test_bpp_block_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_group);
}
