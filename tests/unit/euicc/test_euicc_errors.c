/* Software eUICC, refusals: every error path answers the exact SGP.22 code and changes nothing
 * (serialised state compared before/after), or, for a failed installation, adds only the signed
 * error PIR (the profile list stays byte-identical). */
#include <string.h>

#include "euicc_fx.h"
#include "rsp/apdu_card.h"
#include "rsp/err.h"

static const struct fx_profile prof1 = {
    .iccid = "8949000000000000011", .name = "One", .profile_class = RSP_PROFILE_CLASS_OPERATIONAL};

/* ---- AuthenticateServer (§5.7.13) ---------------------------------------------------------- */

static void auth_case(size_t set, const struct fx_auth_opts *o, int64_t want, time_t now)
{
    struct rsp_euicc *e = now ? fx_euicc_at(set, NULL, now) : fx_euicc(set, NULL, NULL);
    struct rsp_buf before = fx_state(e);
    struct fx_dl dl = {.set = set};
    fx_authenticate(e, &dl, o);
    assert_int_equal(dl.auth_error, want);
    fx_assert_state(e, &before);
    /* the session was not authenticated: PrepareDownload gets noSessionContext */
    if (want) {
        fx_prepare(e, &dl, NULL);
        assert_int_equal(dl.pd_error, RSP_SGP22_DL_ERR_NO_SESSION_CONTEXT);
        fx_assert_state(e, &before);
    }
    rsp_buf_free(&before);
    rsp_euicc_free(e);
}

static void test_auth_no_session(void **st)
{
    (void)st;
    struct fx_auth_opts o = {.skip_challenge = true};
    auth_case(0, &o, RSP_SGP22_AUTH_ERR_NO_SESSION_CONTEXT, 0);
}

static void test_auth_bad_signature(void **st)
{
    (void)st;
    struct fx_auth_opts o = {.bad_signature = true};
    auth_case(0, &o, RSP_SGP22_AUTH_ERR_INVALID_SIGNATURE, 0);
    auth_case(1, &o, RSP_SGP22_AUTH_ERR_INVALID_SIGNATURE, 0);
}

static void test_auth_challenge_mismatch(void **st)
{
    (void)st;
    struct fx_auth_opts o = {.wrong_challenge = true};
    auth_case(1, &o, RSP_SGP22_AUTH_ERR_EUICC_CHALLENGE_MISMATCH, 0);
}

static void test_auth_foreign_ci(void **st)
{
    (void)st;
    struct fx_auth_opts o = {.foreign_ci = true};
    auth_case(0, &o, RSP_SGP22_AUTH_ERR_CI_PK_UNKNOWN, 0);
}

static void test_auth_wrong_role(void **st)
{
    (void)st;
    struct fx_auth_opts o = {.cert_role = RSP_PKI_DPPB}; /* CERT.DPpb as serverCertificate */
    auth_case(0, &o, RSP_SGP22_AUTH_ERR_INVALID_CERTIFICATE, 0);
}

static void test_auth_wrong_pkid(void **st)
{
    (void)st;
    struct fx_auth_opts o = {.wrong_pkid = true};
    auth_case(0, &o, RSP_SGP22_AUTH_ERR_CI_PK_UNKNOWN, 0);
}

static void test_auth_expired(void **st)
{
    (void)st;
    /* the eUICC's clock 20 years ahead: CERT.DPauth has expired */
    auth_case(1, NULL, RSP_SGP22_AUTH_ERR_INVALID_CERTIFICATE, time(NULL) + 20L * 365 * 86400);
}

/* ---- PrepareDownload (§5.7.5) -------------------------------------------------------------- */

static void pd_case(size_t set, const struct fx_pd_opts *o, int64_t want)
{
    struct rsp_euicc *e = fx_euicc(set, NULL, NULL);
    struct fx_dl dl = {.set = set};
    fx_authenticate(e, &dl, NULL);
    assert_int_equal(dl.auth_error, 0);
    struct rsp_buf before = fx_state(e);
    fx_prepare(e, &dl, o);
    assert_int_equal(dl.pd_error, want);
    if (want)
        fx_assert_state(e, &before);
    rsp_buf_free(&before);
    rsp_euicc_free(e);
}

static void test_pd_bad_signature(void **st)
{
    (void)st;
    struct fx_pd_opts o = {.bad_signature = true};
    pd_case(0, &o, RSP_SGP22_DL_ERR_INVALID_SIGNATURE);
    pd_case(1, &o, RSP_SGP22_DL_ERR_INVALID_SIGNATURE);
}

static void test_pd_wrong_tid(void **st)
{
    (void)st;
    struct fx_pd_opts o = {.wrong_tid = true};
    pd_case(0, &o, RSP_SGP22_DL_ERR_INVALID_TRANSACTION_ID);
}

static void test_pd_wrong_cert(void **st)
{
    (void)st;
    struct fx_pd_opts o = {.cert_role = RSP_PKI_DPAUTH};
    pd_case(0, &o, RSP_SGP22_DL_ERR_INVALID_CERTIFICATE);
    struct fx_pd_opts f = {.foreign_ci = true};
    pd_case(1, &f, RSP_SGP22_DL_ERR_INVALID_CERTIFICATE);
}

static void test_pd_no_session(void **st)
{
    (void)st;
    struct rsp_euicc *e = fx_euicc(0, NULL, NULL);
    struct rsp_buf r = RSP_BUF_INIT;
    assert_int_equal(fx_cmd_hex(e, "BF2E00", &r), 0); /* challenge only, no authentication */
    struct rsp_buf before = fx_state(e);
    struct fx_dl dl = {.set = 0};
    fx_prepare(e, &dl, NULL);
    assert_int_equal(dl.pd_error, RSP_SGP22_DL_ERR_NO_SESSION_CONTEXT);
    fx_assert_state(e, &before);
    rsp_buf_free(&before);
    rsp_buf_free(&r);
    rsp_euicc_free(e);
}

static void test_pd_confirmation_code(void **st)
{
    (void)st;
    struct fx_pd_opts o = {.cc_required = true};
    pd_case(0, &o, RSP_SGP22_DL_ERR_UNDEFINED); /* ccRequiredFlag without hashCc */
    struct fx_pd_opts ok = {.cc_required = true, .with_hash_cc = true};
    pd_case(0, &ok, 0); /* hashCc echoed in euiccSigned2 (checked in fx_prepare) */
}

/* ---- LoadBoundProfilePackage (§5.7.6, §2.5.6) ---------------------------------------------- */

enum tamper { T_NONE, T_SEG_LAST_BYTE, T_MISPLACED };

struct bpp_case {
    size_t set;
    bool two_layer;
    const struct fx_profile *prof;
    int seg_kind;    /* tamper the first segment whose tag is this (0x86 second one) */
    bool preinstall; /* install prof first (iccid exists) */
    struct rsp_euicc_faults faults;
    int64_t want_cmd, want_reason;
};

static size_t find_seg(const struct fx_segs *s, int tag, int nth)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->p[i][0] == (tag >> 8 ? 0xBF : tag) && nth-- == 0)
            return i;
    fail();
    return 0;
}

static void bpp_case_run(const struct bpp_case *c)
{
    struct rsp_euicc *e = fx_euicc(c->set, NULL, &c->faults);
    if (c->preinstall) {
        struct rsp_euicc_faults none;
        memset(&none, 0, sizeof none);
        rsp_euicc_set_faults(e, &none);
        fx_download(e, c->set, c->prof, true, NULL);
        rsp_euicc_set_faults(e, &c->faults);
    }
    struct rsp_buf list_before = fx_profiles(e), r = RSP_BUF_INIT, bpp = RSP_BUF_INIT;
    struct fx_dl dl = {.set = c->set};
    fx_authenticate(e, &dl, NULL);
    fx_prepare(e, &dl, NULL);
    assert_int_equal(dl.pd_error, 0);
    fx_bpp(&dl, c->prof, c->two_layer, &bpp);
    struct fx_segs s;
    fx_split(&bpp, &s);
    if (c->seg_kind) {
        size_t k = find_seg(&s, c->seg_kind, 0);
        ((uint8_t *)s.p[k])[s.len[k] - 1] ^= 0x01; /* last byte: MAC, or smdpSign in BF23 */
    }
    size_t sent;
    assert_int_equal(fx_send(e, &s, &r, &sent), 0);
    struct rsp_sgp22_pir pir;
    fx_pir(c->set, &r, &pir);
    assert_false(pir.data.success);
    assert_int_equal(pir.data.bpp_command_id, c->want_cmd);
    assert_int_equal(pir.data.error_reason, c->want_reason);
    /* nothing installed: the profile list is byte-identical */
    struct rsp_buf list_after = fx_profiles(e);
    assert_int_equal(list_after.len, list_before.len);
    assert_memory_equal(list_after.data, list_before.data, list_before.len);
    /* the error PIR is stored as the last pending notification */
    assert_int_equal(fx_cmd_hex(e, "BF2B00", &list_after), 0);
    struct rsp_es10_notif_list nl;
    assert_int_equal(rsp_es10_retrieve_notif_resp_decode(list_after.data, list_after.len, &nl), 0);
    assert_true(nl.n >= 1);
    assert_int_equal(nl.items[nl.n - 1].raw_len, r.len);
    assert_memory_equal(nl.items[nl.n - 1].raw, r.data, r.len);
    /* the session is over: a further segment finds no session */
    assert_int_equal(fx_cmd(e, s.p[s.n - 1], s.len[s.n - 1], &r), RSP_SW_COND_NOT_SATISFIED);
    rsp_buf_free(&list_after);
    rsp_buf_free(&list_before);
    rsp_buf_free(&bpp);
    rsp_buf_free(&r);
    rsp_euicc_free(e);
}

static void test_bpp_tampered_86(void **st)
{
    (void)st;
    struct bpp_case c = {.prof = &prof1,
                         .seg_kind = 0x86,
                         .want_cmd = RSP_SGP22_BPP_CMD_LOAD_PROFILE_ELEMENTS,
                         .want_reason = RSP_SGP22_ERR_SCP03T_SECURITY_ERROR};
    bpp_case_run(&c);
    c.two_layer = true;
    c.set = 1;
    bpp_case_run(&c);
}

static void test_bpp_tampered_88(void **st)
{
    (void)st;
    struct bpp_case c = {.prof = &prof1,
                         .seg_kind = 0x88,
                         .want_cmd = RSP_SGP22_BPP_CMD_STORE_METADATA,
                         .want_reason = RSP_SGP22_ERR_SCP03T_SECURITY_ERROR};
    bpp_case_run(&c);
}

static void test_bpp_tampered_87(void **st)
{
    (void)st;
    struct bpp_case c = {.prof = &prof1,
                         .seg_kind = 0xA0,
                         .want_cmd = RSP_SGP22_BPP_CMD_CONFIGURE_ISDP,
                         .want_reason = RSP_SGP22_ERR_SCP03T_SECURITY_ERROR};
    bpp_case_run(&c);
    c.seg_kind = 0xA2;
    c.two_layer = true;
    c.want_cmd = RSP_SGP22_BPP_CMD_REPLACE_SESSION_KEYS;
    bpp_case_run(&c);
}

static void test_bpp_bad_smdp_sign(void **st)
{
    (void)st;
    struct bpp_case c = {.set = 1,
                         .prof = &prof1,
                         .seg_kind = 0xBF36,
                         .want_cmd = RSP_SGP22_BPP_CMD_INITIALISE_SECURE_CHANNEL,
                         .want_reason = RSP_SGP22_ERR_INVALID_SIGNATURE};
    bpp_case_run(&c);
}

static void test_bpp_iccid_mismatch(void **st)
{
    (void)st;
    struct fx_profile p = prof1;
    p.upp_iccid = "8949000000000000037";
    struct bpp_case c = {.prof = &p,
                         .want_cmd = RSP_SGP22_BPP_CMD_LOAD_PROFILE_ELEMENTS,
                         .want_reason = RSP_SGP22_ERR_DATA_MISMATCH};
    bpp_case_run(&c);
}

static void test_bpp_iccid_exists(void **st)
{
    (void)st;
    struct bpp_case c = {.prof = &prof1,
                         .preinstall = true,
                         .want_cmd = RSP_SGP22_BPP_CMD_STORE_METADATA,
                         .want_reason = RSP_SGP22_ERR_ICCID_ALREADY_EXISTS};
    bpp_case_run(&c);
}

static void test_bpp_ppr_not_allowed(void **st)
{
    (void)st;
    struct fx_profile p = prof1;
    p.ppr = RSP_PPR1;
    struct bpp_case c = {.prof = &p,
                         .want_cmd = RSP_SGP22_BPP_CMD_STORE_METADATA,
                         .want_reason = RSP_SGP22_ERR_PPR_NOT_ALLOWED};
    bpp_case_run(&c);
}

static void test_bpp_fault_fail_at_segment(void **st)
{
    (void)st;
    /* segments: 1 BF36+BF23, 2 A0, 3 A1 header, 4 first 88 */
    struct bpp_case c = {
        .prof = &prof1,
        .faults = {.fail_at_segment = 4, .fail_reason = RSP_SGP22_ERR_PE_PROCESSING_ERROR},
        .want_cmd = RSP_SGP22_BPP_CMD_STORE_METADATA,
        .want_reason = RSP_SGP22_ERR_PE_PROCESSING_ERROR};
    bpp_case_run(&c);
    c.faults.fail_at_segment = 1;
    c.faults.fail_reason = 0;
    c.want_cmd = RSP_SGP22_BPP_CMD_INITIALISE_SECURE_CHANNEL;
    c.want_reason = RSP_SGP22_ERR_UNKNOWN_ERROR;
    bpp_case_run(&c);
}

static void test_bpp_insufficient_memory(void **st)
{
    (void)st;
    struct bpp_case c = {.prof = &prof1,
                         .faults = {.insufficient_memory = true},
                         .want_cmd = RSP_SGP22_BPP_CMD_LOAD_PROFILE_ELEMENTS,
                         .want_reason = RSP_SGP22_ERR_INSUFFICIENT_MEMORY};
    bpp_case_run(&c);
}

/* A segment out of order gets 6A88 and the session continues (addendum §4.4). */
static void test_bpp_misplaced_segment(void **st)
{
    (void)st;
    struct rsp_euicc *e = fx_euicc(0, NULL, NULL);
    struct fx_dl dl = {.set = 0};
    fx_authenticate(e, &dl, NULL);
    fx_prepare(e, &dl, NULL);
    struct rsp_buf bpp = RSP_BUF_INIT, r = RSP_BUF_INIT;
    fx_bpp(&dl, &prof1, false, &bpp);
    struct fx_segs s;
    fx_split(&bpp, &s);
    size_t first86 = find_seg(&s, 0x86, 0);
    assert_int_equal(fx_cmd(e, s.p[first86], s.len[first86], &r), RSP_SW_REF_NOT_FOUND);
    assert_int_equal(fx_cmd(e, s.p[1], s.len[1], &r), RSP_SW_REF_NOT_FOUND); /* A0 before BF36 */
    size_t sent;
    assert_int_equal(fx_send(e, &s, &r, &sent), 0);
    struct rsp_sgp22_pir pir;
    fx_pir(0, &r, &pir);
    assert_true(pir.data.success);
    rsp_buf_free(&bpp);
    rsp_buf_free(&r);
    rsp_euicc_free(e);
}

/* A new GetEUICCChallenge in the middle of a download discards the pending installation: no
 * profile, no PIR, and the rest of the BPP finds no session. */
static void test_bpp_interrupted(void **st)
{
    (void)st;
    struct rsp_euicc *e = fx_euicc(1, NULL, NULL);
    struct fx_dl dl = {.set = 1};
    fx_authenticate(e, &dl, NULL);
    fx_prepare(e, &dl, NULL);
    struct rsp_buf bpp = RSP_BUF_INIT, r = RSP_BUF_INIT;
    fx_bpp(&dl, &prof1, true, &bpp);
    struct fx_segs s;
    fx_split(&bpp, &s);
    for (size_t i = 0; i < s.n - 1; i++) {
        assert_int_equal(fx_cmd(e, s.p[i], s.len[i], &r), 0);
        assert_int_equal(r.len, 0);
    }
    struct rsp_buf before = fx_state(e);
    assert_int_equal(fx_cmd_hex(e, "BF2E00", &r), 0);
    assert_int_equal(fx_cmd(e, s.p[s.n - 1], s.len[s.n - 1], &r), RSP_SW_COND_NOT_SATISFIED);
    fx_assert_state(e, &before); /* the kept otSK stays for a retry */
    struct rsp_buf pl = fx_profiles(e);
    struct rsp_profile_info_list l;
    assert_int_equal(rsp_profile_info_list_decode(pl.data, pl.len, &l), 0);
    assert_int_equal(l.n, 0);
    rsp_buf_free(&pl);
    rsp_buf_free(&before);
    rsp_buf_free(&bpp);
    rsp_buf_free(&r);
    rsp_euicc_free(e);
}

/* ---- CancelSession (§5.7.14) --------------------------------------------------------------- */

static void test_cancel_session(void **st)
{
    (void)st;
    struct rsp_euicc *e = fx_euicc(0, NULL, NULL);
    struct fx_dl dl = {.set = 0};
    fx_authenticate(e, &dl, NULL);
    fx_prepare(e, &dl, NULL);
    struct rsp_buf c = RSP_BUF_INIT, r = RSP_BUF_INIT;
    struct rsp_sgp22_cancel_session_request rq;
    memset(&rq, 0, sizeof rq);
    uint8_t wrong[16];
    memcpy(wrong, dl.tid, 16);
    wrong[0] ^= 1;
    rq.transaction_id.p = wrong;
    rq.transaction_id.len = 16;
    rq.reason = RSP_SGP22_CANCEL_POSTPONED;
    assert_int_equal(rsp_sgp22_cancel_session_request_encode(&rq, &c), 0);
    struct rsp_buf before = fx_state(e);
    assert_int_equal(fx_cmd(e, c.data, c.len, &r), 0);
    struct rsp_sgp22_cancel_session_response cr;
    assert_int_equal(rsp_sgp22_cancel_session_response_decode(r.data, r.len, &cr), 0);
    assert_false(cr.ok);
    assert_int_equal(cr.error_code, RSP_SGP22_CANCEL_ERR_INVALID_TRANSACTION_ID);
    fx_assert_state(e, &before);
    /* the right transactionId, postponed: signed answer, the kept otSK stays */
    rq.transaction_id.p = dl.tid;
    rsp_buf_reset(&c);
    assert_int_equal(rsp_sgp22_cancel_session_request_encode(&rq, &c), 0);
    assert_int_equal(fx_cmd(e, c.data, c.len, &r), 0);
    assert_int_equal(rsp_sgp22_cancel_session_response_decode(r.data, r.len, &cr), 0);
    assert_true(cr.ok);
    fx_verify_euicc(0, cr.signed_part.raw.raw, cr.signed_part.raw.raw_len, cr.signature.p,
                    cr.signature.len);
    assert_int_equal(cr.signed_part.reason, RSP_SGP22_CANCEL_POSTPONED);
    assert_memory_equal(cr.signed_part.transaction_id.p, dl.tid, 16);
    fx_assert_state(e, &before);
    /* the session is gone */
    assert_int_equal(fx_cmd(e, c.data, c.len, &r), 0);
    assert_int_equal(rsp_sgp22_cancel_session_response_decode(r.data, r.len, &cr), 0);
    assert_false(cr.ok);
    /* endUserRejection ends the order: the kept key is erased (state changes) */
    fx_authenticate(e, &dl, NULL);
    fx_prepare(e, &dl, NULL);
    rq.transaction_id.p = dl.tid;
    rq.reason = RSP_SGP22_CANCEL_END_USER_REJECTION;
    rsp_buf_reset(&c);
    assert_int_equal(rsp_sgp22_cancel_session_request_encode(&rq, &c), 0);
    struct rsp_buf with_key = fx_state(e);
    assert_int_equal(fx_cmd(e, c.data, c.len, &r), 0);
    assert_int_equal(rsp_sgp22_cancel_session_response_decode(r.data, r.len, &cr), 0);
    assert_true(cr.ok);
    struct rsp_buf after = fx_state(e);
    assert_true(after.len < with_key.len);
    rsp_buf_free(&after);
    rsp_buf_free(&with_key);
    rsp_buf_free(&before);
    rsp_buf_free(&c);
    rsp_buf_free(&r);
    rsp_euicc_free(e);
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
        cmocka_unit_test(test_auth_no_session),
        cmocka_unit_test(test_auth_bad_signature),
        cmocka_unit_test(test_auth_challenge_mismatch),
        cmocka_unit_test(test_auth_foreign_ci),
        cmocka_unit_test(test_auth_wrong_role),
        cmocka_unit_test(test_auth_wrong_pkid),
        cmocka_unit_test(test_auth_expired),
        cmocka_unit_test(test_pd_bad_signature),
        cmocka_unit_test(test_pd_wrong_tid),
        cmocka_unit_test(test_pd_wrong_cert),
        cmocka_unit_test(test_pd_no_session),
        cmocka_unit_test(test_pd_confirmation_code),
        cmocka_unit_test(test_bpp_tampered_86),
        cmocka_unit_test(test_bpp_tampered_88),
        cmocka_unit_test(test_bpp_tampered_87),
        cmocka_unit_test(test_bpp_bad_smdp_sign),
        cmocka_unit_test(test_bpp_iccid_mismatch),
        cmocka_unit_test(test_bpp_iccid_exists),
        cmocka_unit_test(test_bpp_ppr_not_allowed),
        cmocka_unit_test(test_bpp_fault_fail_at_segment),
        cmocka_unit_test(test_bpp_insufficient_memory),
        cmocka_unit_test(test_bpp_misplaced_segment),
        cmocka_unit_test(test_bpp_interrupted),
        cmocka_unit_test(test_cancel_session),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_group);
}
