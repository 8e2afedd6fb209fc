/* Software eUICC, procedure tests: the test acts as SM-DP+ and LPA (euicc_fx.c) and downloads
 * generated profiles for both curves, one- and two-layer, then manages them through ES10c and
 * handles the notifications. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "euicc_fx.h"
#include "rsp/apdu_card.h"
#include "rsp/err.h"
#include "rsp/saip.h"
#include "rsp/smdp_bpp.h"

static const struct fx_profile prof1 = {
    .iccid = "8949000000000000011", .name = "One", .profile_class = RSP_PROFILE_CLASS_OPERATIONAL};
static const struct fx_profile prof2 = {
    .iccid = "8949000000000000029", .name = "Two", .profile_class = RSP_PROFILE_CLASS_TEST};

static void list(struct rsp_euicc *e, struct rsp_profile_info_list *l, struct rsp_buf *keep)
{
    assert_int_equal(fx_cmd_hex(e, "BF2D00", keep), 0);
    assert_int_equal(rsp_profile_info_list_decode(keep->data, keep->len, l), 0);
    assert_false(l->is_error);
}

static void check_iccid(const struct rsp_profile_info *pi, const char *digits)
{
    struct rsp_iccid want;
    assert_int_equal(rsp_iccid_from_str(digits, &want), 0);
    assert_true(pi->has_iccid);
    assert_memory_equal(pi->iccid.b, want.b, RSP_ICCID_LEN);
}

static void download_case(size_t set, bool two_layer)
{
    struct rsp_euicc *e = fx_euicc(set, NULL, NULL);
    uint8_t aid[16];
    fx_download(e, set, &prof1, two_layer, aid);
    static const uint8_t aid0[16] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
                                     0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x10, 0x00};
    assert_memory_equal(aid, aid0, 16);
    struct rsp_buf b = RSP_BUF_INIT;
    struct rsp_profile_info_list l;
    list(e, &l, &b);
    assert_int_equal(l.n, 1);
    check_iccid(&l.profiles[0], prof1.iccid);
    assert_true(l.profiles[0].has_state);
    assert_int_equal(l.profiles[0].state, RSP_PROFILE_DISABLED);
    assert_true(l.profiles[0].has_profile_class);
    assert_int_equal(l.profiles[0].profile_class, RSP_PROFILE_CLASS_OPERATIONAL);
    assert_int_equal(l.profiles[0].name.len, 3);
    assert_memory_equal(l.profiles[0].name.p, "One", 3);
    assert_memory_equal(l.profiles[0].isdp_aid.p, aid0, 16);
    /* the IMSI read from the package is kept in the state */
    struct rsp_buf stb = fx_state(e);
    bool imsi_found = false;
    for (size_t i = 0; i + 15 <= stb.len && !imsi_found; i++)
        imsi_found = !memcmp(stb.data + i, "001019876543210", 15);
    assert_true(imsi_found);
    rsp_buf_free(&stb);
    /* non-default objects on request: notification configuration, SM-DP+ OID */
    assert_int_equal(fx_cmd_hex(e, "BF2D 06 5C 04 B6 B7 B8 99", &b), 0);
    assert_int_equal(rsp_profile_info_list_decode(b.data, b.len, &l), 0);
    assert_int_equal(l.n, 1);
    assert_false(l.profiles[0].has_iccid);
    assert_true(l.profiles[0].has_notif_config);
    assert_int_equal(l.profiles[0].n_notif_config, 1);
    assert_int_equal(rsp_es10_bits_mask(&l.profiles[0].notif_config[0].events), 0xF);
    char oid[32];
    assert_int_equal(
        rsp_oid_to_str(l.profiles[0].dp_oid.p, l.profiles[0].dp_oid.len, oid, sizeof oid), 0);
    assert_string_equal(oid, RSP_PKI_DEFAULT_SMDP_OID);
    assert_false(l.profiles[0].has_owner); /* not in the metadata: omitted */
    /* a second profile gets the next ISD-P AID */
    fx_download(e, set, &prof2, !two_layer, aid);
    assert_int_equal(aid[15], 0x01);
    list(e, &l, &b);
    assert_int_equal(l.n, 2);
    check_iccid(&l.profiles[1], prof2.iccid);
    assert_int_equal(l.profiles[1].profile_class, RSP_PROFILE_CLASS_TEST);
    /* two install notifications (the PIRs), seq 0 and 1 */
    assert_int_equal(fx_cmd_hex(e, "BF2800", &b), 0);
    struct rsp_es10_notif_list nl;
    assert_int_equal(rsp_es10_list_notif_resp_decode(b.data, b.len, &nl), 0);
    assert_int_equal(nl.n, 2);
    for (size_t i = 0; i < 2; i++) {
        struct rsp_sgp22_notification_metadata md;
        assert_int_equal(
            rsp_sgp22_notification_metadata_decode(nl.items[i].raw, nl.items[i].raw_len, &md), 0);
        assert_int_equal(md.seq_number, (int64_t)i);
        assert_int_equal(md.pmo, RSP_NOTIF_INSTALL);
    }
    rsp_buf_free(&b);
    rsp_euicc_free(e);
}

static void test_download_nist_one_layer(void **st)
{
    (void)st;
    download_case(0, false);
}
static void test_download_nist_two_layer(void **st)
{
    (void)st;
    download_case(0, true);
}
static void test_download_brp_one_layer(void **st)
{
    (void)st;
    download_case(1, false);
}
static void test_download_brp_two_layer(void **st)
{
    (void)st;
    download_case(1, true);
}

/* The whole BF36 in one command is accepted too (split internally as an LPA would). */
static void test_download_whole_bpp(void **st)
{
    (void)st;
    struct rsp_euicc *e = fx_euicc(0, NULL, NULL);
    struct fx_dl dl = {.set = 0};
    fx_authenticate(e, &dl, NULL);
    fx_prepare(e, &dl, NULL);
    struct rsp_buf bpp = RSP_BUF_INIT, r = RSP_BUF_INIT;
    fx_bpp(&dl, &prof1, true, &bpp);
    assert_int_equal(fx_cmd(e, bpp.data, bpp.len, &r), 0);
    struct rsp_sgp22_pir pir;
    fx_pir(0, &r, &pir);
    assert_true(pir.data.success);
    rsp_buf_free(&bpp);
    rsp_buf_free(&r);
    rsp_euicc_free(e);
}

static void switch_cmd(struct rsp_euicc *e, rsp_tag tag, const char *iccid, const uint8_t *aid,
                       int want)
{
    struct rsp_es10_switch_req rq;
    memset(&rq, 0, sizeof rq);
    if (iccid) {
        rq.id.kind = RSP_ES10_BY_ICCID;
        assert_int_equal(rsp_iccid_from_str(iccid, &rq.id.iccid), 0);
    } else {
        rq.id.kind = RSP_ES10_BY_AID;
        rq.id.aid.p = aid;
        rq.id.aid.len = 16;
    }
    rq.refresh = true;
    struct rsp_buf c = RSP_BUF_INIT, r = RSP_BUF_INIT;
    int got = -1;
    if (tag == 0xBF31) {
        assert_int_equal(rsp_es10_enable_req_encode(&rq, &c), 0);
        assert_int_equal(fx_cmd(e, c.data, c.len, &r), 0);
        enum rsp_enable_result res;
        assert_int_equal(rsp_es10_enable_resp_decode(r.data, r.len, &res), 0);
        got = (int)res;
    } else if (tag == 0xBF32) {
        assert_int_equal(rsp_es10_disable_req_encode(&rq, &c), 0);
        assert_int_equal(fx_cmd(e, c.data, c.len, &r), 0);
        enum rsp_disable_result res;
        assert_int_equal(rsp_es10_disable_resp_decode(r.data, r.len, &res), 0);
        got = (int)res;
    } else {
        assert_int_equal(rsp_es10_delete_req_encode(&rq.id, &c), 0);
        assert_int_equal(fx_cmd(e, c.data, c.len, &r), 0);
        enum rsp_delete_result res;
        assert_int_equal(rsp_es10_delete_resp_decode(r.data, r.len, &res), 0);
        got = (int)res;
    }
    assert_int_equal(got, want);
    rsp_buf_free(&c);
    rsp_buf_free(&r);
}

/* A refused management command answers `want` and leaves the state byte-identical. */
static void switch_refused(struct rsp_euicc *e, rsp_tag tag, const char *iccid, const uint8_t *aid,
                           int want)
{
    struct rsp_buf before = fx_state(e);
    switch_cmd(e, tag, iccid, aid, want);
    fx_assert_state(e, &before);
    rsp_buf_free(&before);
}

static uint64_t notif_count(struct rsp_euicc *e, uint64_t *last_seq, uint32_t *last_pmo)
{
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(fx_cmd_hex(e, "BF2800", &b), 0);
    struct rsp_es10_notif_list nl;
    assert_int_equal(rsp_es10_list_notif_resp_decode(b.data, b.len, &nl), 0);
    if (nl.n) {
        struct rsp_sgp22_notification_metadata md;
        assert_int_equal(rsp_sgp22_notification_metadata_decode(nl.items[nl.n - 1].raw,
                                                                nl.items[nl.n - 1].raw_len, &md),
                         0);
        *last_seq = (uint64_t)md.seq_number;
        *last_pmo = md.pmo;
    }
    rsp_buf_free(&b);
    return nl.n;
}

static void test_profile_management(void **st)
{
    (void)st;
    struct rsp_euicc *e = fx_euicc(0, NULL, NULL);
    uint8_t aid1[16], aid2[16];
    fx_download(e, 0, &prof1, false, aid1);
    fx_download(e, 0, &prof2, true, aid2);
    uint64_t seq;
    uint32_t pmo;
    assert_int_equal(notif_count(e, &seq, &pmo), 2);

    /* enable 1 (by ICCID), then enable 2 (by AID): 1 is disabled implicitly */
    switch_cmd(e, 0xBF31, prof1.iccid, NULL, RSP_ENABLE_OK);
    assert_int_equal(notif_count(e, &seq, &pmo), 3);
    assert_int_equal(seq, 2);
    assert_int_equal(pmo, RSP_NOTIF_ENABLE);
    switch_refused(e, 0xBF31, prof1.iccid, NULL, RSP_ENABLE_PROFILE_NOT_IN_DISABLED_STATE);
    switch_cmd(e, 0xBF31, NULL, aid2, RSP_ENABLE_OK);
    assert_int_equal(notif_count(e, &seq, &pmo), 5); /* disable of 1, enable of 2 */
    assert_int_equal(seq, 4);
    struct rsp_buf b = RSP_BUF_INIT;
    struct rsp_profile_info_list l;
    list(e, &l, &b);
    assert_int_equal(l.profiles[0].state, RSP_PROFILE_DISABLED);
    assert_int_equal(l.profiles[1].state, RSP_PROFILE_ENABLED);

    /* refusals, each without a state change */
    switch_refused(e, 0xBF31, "8949000000000000995", NULL, RSP_ENABLE_ICCID_OR_AID_NOT_FOUND);
    switch_refused(e, 0xBF32, prof1.iccid, NULL, RSP_DISABLE_PROFILE_NOT_IN_ENABLED_STATE);
    switch_refused(e, 0xBF32, "8949000000000000995", NULL, RSP_DISABLE_ICCID_OR_AID_NOT_FOUND);
    switch_refused(e, 0xBF33, NULL, aid2, RSP_DELETE_PROFILE_NOT_IN_DISABLED_STATE);
    switch_refused(e, 0xBF33, "8949000000000000995", NULL, RSP_DELETE_ICCID_OR_AID_NOT_FOUND);

    /* nickname */
    struct rsp_es10_set_nickname_req nk;
    assert_int_equal(rsp_iccid_from_str(prof1.iccid, &nk.iccid), 0);
    nk.nickname.p = (const uint8_t *)"work";
    nk.nickname.len = 4;
    struct rsp_buf c = RSP_BUF_INIT;
    assert_int_equal(rsp_es10_set_nickname_req_encode(&nk, &c), 0);
    assert_int_equal(fx_cmd(e, c.data, c.len, &b), 0);
    enum rsp_set_nickname_result nr;
    assert_int_equal(rsp_es10_set_nickname_resp_decode(b.data, b.len, &nr), 0);
    assert_int_equal(nr, RSP_SET_NICKNAME_OK);
    list(e, &l, &b);
    assert_int_equal(l.profiles[0].nickname.len, 4);
    assert_memory_equal(l.profiles[0].nickname.p, "work", 4);
    /* unknown ICCID: iccidNotFound, no change */
    struct rsp_buf before = fx_state(e);
    assert_int_equal(rsp_iccid_from_str("8949000000000000995", &nk.iccid), 0);
    rsp_buf_reset(&c);
    assert_int_equal(rsp_es10_set_nickname_req_encode(&nk, &c), 0);
    assert_int_equal(fx_cmd(e, c.data, c.len, &b), 0);
    assert_int_equal(rsp_es10_set_nickname_resp_decode(b.data, b.len, &nr), 0);
    assert_int_equal(nr, RSP_SET_NICKNAME_ICCID_NOT_FOUND);
    fx_assert_state(e, &before);
    rsp_buf_free(&before);

    /* search criteria and tag list */
    assert_int_equal(fx_cmd_hex(e, "BF2D 0C A0 03 95 01 00 5C 05 5A 9F70 92 95", &b), 0);
    assert_int_equal(rsp_profile_info_list_decode(b.data, b.len, &l), 0);
    assert_int_equal(l.n, 1);
    check_iccid(&l.profiles[0], prof2.iccid);
    assert_null(l.profiles[0].isdp_aid.p); /* not asked for */
    assert_null(l.profiles[0].spn.p);
    assert_int_equal(l.profiles[0].name.len, 3);

    /* disable 2, delete 2 (by AID) */
    switch_cmd(e, 0xBF32, NULL, aid2, RSP_DISABLE_OK);
    switch_cmd(e, 0xBF33, NULL, aid2, RSP_DELETE_OK);
    assert_int_equal(notif_count(e, &seq, &pmo), 7);
    assert_int_equal(seq, 6);
    assert_int_equal(pmo, RSP_NOTIF_DELETE);
    list(e, &l, &b);
    assert_int_equal(l.n, 1);

    /* notifications: retrieve one by seq number, remove it, removing again: nothingToDelete */
    assert_int_equal(fx_cmd_hex(e, "BF2B 05 A0 03 80 01 00", &b), 0);
    struct rsp_es10_notif_list nl;
    assert_int_equal(rsp_es10_retrieve_notif_resp_decode(b.data, b.len, &nl), 0);
    assert_int_equal(nl.n, 1);
    struct rsp_sgp22_pending_notification pn;
    assert_int_equal(
        rsp_sgp22_pending_notification_decode(nl.items[0].raw, nl.items[0].raw_len, &pn), 0);
    assert_true(pn.is_pir);
    assert_int_equal(pn.pir.data.notification_metadata.seq_number, 0);
    assert_int_equal(fx_cmd_hex(e, "BF2B 05 A0 03 80 01 06", &b), 0);
    assert_int_equal(rsp_es10_retrieve_notif_resp_decode(b.data, b.len, &nl), 0);
    assert_int_equal(nl.n, 1);
    assert_int_equal(
        rsp_sgp22_pending_notification_decode(nl.items[0].raw, nl.items[0].raw_len, &pn), 0);
    assert_false(pn.is_pir); /* the delete: an OtherSignedNotification */
    assert_int_equal(pn.other.tbs.seq_number, 6);
    fx_verify_euicc(0, pn.other.tbs.raw.raw, pn.other.tbs.raw.raw_len, pn.other.signature.p,
                    pn.other.signature.len);
    assert_int_equal(pn.other.tbs.address.len, strlen(FX_NOTIF_ADDR));
    assert_memory_equal(pn.other.tbs.address.p, FX_NOTIF_ADDR, strlen(FX_NOTIF_ADDR));
    assert_int_equal(fx_cmd_hex(e, "BF2B00", &b), 0);
    assert_int_equal(rsp_es10_retrieve_notif_resp_decode(b.data, b.len, &nl), 0);
    assert_int_equal(nl.n, 7);
    enum rsp_notification_sent_result sr;
    assert_int_equal(fx_cmd_hex(e, "BF30 03 80 01 00", &b), 0);
    assert_int_equal(rsp_es10_notif_sent_resp_decode(b.data, b.len, &sr), 0);
    assert_int_equal(sr, RSP_NOTIF_SENT_OK);
    before = fx_state(e);
    assert_int_equal(fx_cmd_hex(e, "BF30 03 80 01 00", &b), 0);
    assert_int_equal(rsp_es10_notif_sent_resp_decode(b.data, b.len, &sr), 0);
    assert_int_equal(sr, RSP_NOTIF_SENT_NOTHING_TO_DELETE);
    fx_assert_state(e, &before);
    rsp_buf_free(&before);
    assert_int_equal(notif_count(e, &seq, &pmo), 6);

    rsp_buf_free(&c);
    rsp_buf_free(&b);
    rsp_euicc_free(e);
}

static void test_other_commands(void **st)
{
    (void)st;
    struct rsp_euicc *e = fx_euicc(1, NULL, NULL);
    struct rsp_buf r = RSP_BUF_INIT;
    assert_int_equal(fx_cmd_hex(e, "BF3E 03 5C 01 5A", &r), 0);
    struct rsp_eid eid;
    assert_int_equal(rsp_es10_eid_decode(r.data, r.len, &eid), 0);
    char s[33];
    rsp_eid_to_str(&eid, s);
    assert_string_equal(s, RSP_PKI_DEFAULT_EID);
    assert_int_equal(fx_cmd_hex(e, "BF20 00", &r), 0);
    struct rsp_euicc_info1 i1;
    assert_int_equal(rsp_euicc_info1_decode(r.data, r.len, &i1), 0);
    assert_int_equal(i1.ci_verify.n, 2);
    assert_int_equal(i1.ci_sign.n, 1);
    assert_int_equal(i1.svn[0], 2);
    assert_int_equal(i1.svn[1], 2);
    assert_int_equal(fx_cmd_hex(e, "BF22 00", &r), 0);
    struct rsp_euicc_info2 i2;
    assert_int_equal(rsp_euicc_info2_decode(r.data, r.len, &i2), 0);
    assert_int_equal(fx_cmd_hex(e, "BF43 00", &r), 0);
    struct rsp_es10_rat rat;
    assert_int_equal(rsp_es10_rat_decode(r.data, r.len, &rat), 0);
    assert_int_equal(rat.n, 0);
    /* addresses: default set from the config; set a new one; clear it */
    assert_int_equal(fx_cmd_hex(e, "BF3C 00", &r), 0);
    struct rsp_es10_configured_addresses a;
    assert_int_equal(rsp_es10_configured_addresses_decode(r.data, r.len, &a), 0);
    assert_int_equal(a.default_dp.len, strlen(FX_SMDP_ADDR));
    assert_int_equal(fx_cmd_hex(e, "BF3F 05 80 03 61 2E 62", &r), 0); /* "a.b" */
    enum rsp_set_default_dp_result dr;
    assert_int_equal(rsp_es10_set_default_dp_resp_decode(r.data, r.len, &dr), 0);
    assert_int_equal(dr, RSP_SET_DEFAULT_DP_OK);
    assert_int_equal(fx_cmd_hex(e, "BF3C 00", &r), 0);
    assert_int_equal(rsp_es10_configured_addresses_decode(r.data, r.len, &a), 0);
    assert_int_equal(a.default_dp.len, 3);
    assert_int_equal(fx_cmd_hex(e, "BF3F 02 80 00", &r), 0);
    assert_int_equal(fx_cmd_hex(e, "BF3C 00", &r), 0);
    assert_int_equal(rsp_es10_configured_addresses_decode(r.data, r.len, &a), 0);
    assert_null(a.default_dp.p);
    /* memory reset: nothing installed -> resetDefaultSmdpAddress restores the config's value */
    assert_int_equal(fx_cmd_hex(e, "BF34 04 82 02 05 20", &r), 0);
    enum rsp_reset_result rr;
    assert_int_equal(rsp_es10_memory_reset_resp_decode(r.data, r.len, &rr), 0);
    assert_int_equal(rr, RSP_RESET_OK);
    assert_int_equal(fx_cmd_hex(e, "BF3C 00", &r), 0);
    assert_int_equal(rsp_es10_configured_addresses_decode(r.data, r.len, &a), 0);
    assert_int_equal(a.default_dp.len, strlen(FX_SMDP_ADDR));
    /* memory reset of operational profiles */
    fx_download(e, 1, &prof1, true, NULL);
    fx_download(e, 1, &prof2, true, NULL);
    assert_int_equal(fx_cmd_hex(e, "BF34 04 82 02 07 80", &r), 0);
    assert_int_equal(rsp_es10_memory_reset_resp_decode(r.data, r.len, &rr), 0);
    assert_int_equal(rr, RSP_RESET_OK);
    struct rsp_profile_info_list l;
    struct rsp_buf b = RSP_BUF_INIT;
    list(e, &l, &b);
    assert_int_equal(l.n, 1); /* the test profile stays */
    struct rsp_buf before = fx_state(e);
    assert_int_equal(fx_cmd_hex(e, "BF34 04 82 02 07 80", &r), 0);
    assert_int_equal(rsp_es10_memory_reset_resp_decode(r.data, r.len, &rr), 0);
    assert_int_equal(rr, RSP_RESET_NOTHING_TO_DELETE);
    fx_assert_state(e, &before);
    /* status words: unknown command, malformed data, BPP segment without a session */
    assert_int_equal(fx_cmd_hex(e, "BF7F 00", &r), RSP_SW_REF_NOT_FOUND);
    assert_int_equal(fx_cmd_hex(e, "BF2D 05 00", &r), RSP_SW_WRONG_DATA);
    assert_int_equal(fx_cmd_hex(e, "BF3E 03 5C 01 4F", &r), RSP_SW_WRONG_DATA);
    assert_int_equal(fx_cmd_hex(e, "A3 82 01 00", &r), RSP_SW_COND_NOT_SATISFIED);
    fx_assert_state(e, &before);
    rsp_buf_free(&before);
    rsp_buf_free(&b);
    rsp_buf_free(&r);
    rsp_euicc_free(e);
}

/* BPP builder: parameter checks leave the output untouched; small segment sizes install too. */
/* Fault hook: an artificial delay before each answer. */
static void test_fault_delay(void **st)
{
    (void)st;
    struct rsp_euicc_faults f = {.delay_ms = 60};
    struct rsp_euicc *e = fx_euicc(0, NULL, &f);
    struct rsp_buf r = RSP_BUF_INIT;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(fx_cmd_hex(e, "BF2E00", &r), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms >= 55);
    rsp_buf_free(&r);
    rsp_euicc_free(e);
}

static void test_bpp_builder(void **st)
{
    (void)st;
    struct rsp_euicc *e = fx_euicc(0, NULL, NULL);
    struct fx_dl dl = {.set = 0};
    fx_authenticate(e, &dl, NULL);
    fx_prepare(e, &dl, NULL);
    struct rsp_buf md = RSP_BUF_INIT, upp = RSP_BUF_INIT, bpp = RSP_BUF_INIT, r = RSP_BUF_INIT;
    fx_metadata(&prof1, &md);
    fx_upp(&prof1, &upp);
    struct rsp_eid eid;
    assert_int_equal(rsp_eid_from_str(RSP_PKI_DEFAULT_EID, &eid), 0);
    struct rsp_key *sk = NULL;
    assert_int_equal(rsp_pki_item_key(&fx_pki()->set[0].item[RSP_PKI_DPPB], &sk), 0);
    struct rsp_smdp_bpp_params bp = {
        .transaction_id = dl.tid,
        .transaction_id_len = sizeof dl.tid,
        .euicc_otpk = dl.otpk,
        .eid = eid.b,
        .sk_dppb = sk,
        .host_id = (const uint8_t *)"h",
        .host_id_len = 1,
        .store_metadata = md.data,
        .store_metadata_len = md.len,
        .upp = upp.data,
        .upp_len = upp.len,
        .two_layer = true,
    };
    assert_int_equal(rsp_buf_append(&bpp, "x", 1), 0);
    struct rsp_smdp_bpp_params bad = bp;
    bad.segment_plain = RSP_BSP_MAX_PLAIN_ENC + 1;
    assert_int_equal(rsp_smdp_bpp_build(&bad, &bpp), RSP_EINVAL);
    bad = bp;
    bad.host_id_len = 17;
    assert_int_equal(rsp_smdp_bpp_build(&bad, &bpp), RSP_EINVAL);
    bad = bp;
    bad.upp_len = 0;
    assert_int_equal(rsp_smdp_bpp_build(&bad, &bpp), RSP_EINVAL);
    assert_int_equal(rsp_smdp_bpp_build(NULL, &bpp), RSP_EINVAL);
    assert_int_equal(bpp.len, 1);
    rsp_buf_reset(&bpp);
    bp.segment_plain = 100;
    bp.metadata_plain = 16; /* StoreMetadata over several 88 segments */
    assert_int_equal(rsp_smdp_bpp_build(&bp, &bpp), 0);
    struct rsp_sgp22_bpp dec;
    assert_int_equal(rsp_sgp22_bpp_decode(bpp.data, bpp.len, &dec), 0);
    assert_true(dec.n_seq86 >= upp.len / 100);
    assert_true(dec.n_seq88 > 1);
    assert_true(dec.has_second87);
    struct fx_segs s;
    fx_split(&bpp, &s);
    size_t sent;
    assert_int_equal(fx_send(e, &s, &r, &sent), 0);
    struct rsp_sgp22_pir pir;
    fx_pir(0, &r, &pir);
    assert_true(pir.data.success);
    rsp_key_free(sk);
    rsp_buf_free(&md);
    rsp_buf_free(&upp);
    rsp_buf_free(&bpp);
    rsp_buf_free(&r);
    rsp_euicc_free(e);
}

/* One 86 segment the way osmo-smdpp cuts them (1008 plaintext bytes: a 1036-byte TLV, over the
 * 1020 of SGP.22, which rsp_bsp_wrap refuses to produce): BSP by hand with OpenSSL. */
static void wrap_big(struct rsp_bsp *b, const uint8_t *plain, size_t len, struct rsp_buf *out)
{
    uint8_t padded[1040], ct[1040], iv[16], ctr[16] = {0}, full[16];
    size_t dlen = (len / 16 + 1) * 16;
    memcpy(padded, plain, len);
    padded[len] = 0x80;
    memset(padded + len + 1, 0, dlen - len - 1);
    ctr[12] = (uint8_t)(b->counter >> 24);
    ctr[13] = (uint8_t)(b->counter >> 16);
    ctr[14] = (uint8_t)(b->counter >> 8);
    ctr[15] = (uint8_t)b->counter;
    int n = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, b->enc, NULL), 1);
    EVP_CIPHER_CTX_set_padding(c, 0);
    assert_int_equal(EVP_EncryptUpdate(c, iv, &n, ctr, 16), 1);
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_128_cbc(), NULL, b->enc, iv), 1);
    EVP_CIPHER_CTX_set_padding(c, 0);
    assert_int_equal(EVP_EncryptUpdate(c, ct, &n, padded, (int)dlen), 1);
    EVP_CIPHER_CTX_free(c);
    uint8_t hdr[4] = {0x86, 0x82, (uint8_t)((dlen + 8) >> 8), (uint8_t)(dlen + 8)};
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    EVP_MAC_CTX *m = EVP_MAC_CTX_new(mac);
    OSSL_PARAM prm[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, "AES-128-CBC", 0),
                        OSSL_PARAM_construct_end()};
    size_t fl = 0;
    assert_int_equal(EVP_MAC_init(m, b->mac, 16, prm), 1);
    assert_int_equal(EVP_MAC_update(m, b->mcv, 16), 1);
    assert_int_equal(EVP_MAC_update(m, hdr, 4), 1);
    assert_int_equal(EVP_MAC_update(m, ct, dlen), 1);
    assert_int_equal(EVP_MAC_final(m, full, &fl, sizeof full), 1);
    EVP_MAC_CTX_free(m);
    EVP_MAC_free(mac);
    assert_int_equal(rsp_buf_append(out, hdr, 4), 0);
    assert_int_equal(rsp_buf_append(out, ct, dlen), 0);
    assert_int_equal(rsp_buf_append(out, full, 8), 0);
    memcpy(b->mcv, full, 16);
    b->counter++;
}

static void test_osmo_sized_segments(void **st)
{
    (void)st;
    TU_REQUIRE_SHARED(); /* the generated profile is shorter than one 1008-byte segment */
    struct rsp_euicc *e = fx_euicc(0, NULL, NULL);
    struct fx_dl dl = {.set = 0};
    fx_authenticate(e, &dl, NULL);
    fx_prepare(e, &dl, NULL);
    struct rsp_buf md = RSP_BUF_INIT, upp = RSP_BUF_INIT, segs = RSP_BUF_INIT, bpp = RSP_BUF_INIT,
                   in = RSP_BUF_INIT, r = RSP_BUF_INIT;
    upp = tu_load(tu_shared_path("testdata/ts48-upp/TS48V2-SAIP2-3-BERTLV-UNIQUE.der"));
    struct rsp_saip_info info;
    assert_int_equal(rsp_saip_parse(upp.data, upp.len, &info), 0);
    struct fx_profile tp = {.iccid = info.iccid_str, .profile_class = RSP_PROFILE_CLASS_TEST};
    fx_metadata(&tp, &md);
    assert_true(upp.len > 2 * 1008);
    struct rsp_eid eid;
    assert_int_equal(rsp_eid_from_str(RSP_PKI_DEFAULT_EID, &eid), 0);
    struct rsp_key *sk = NULL, *ot = NULL;
    assert_int_equal(rsp_pki_item_key(&fx_pki()->set[0].item[RSP_PKI_DPPB], &sk), 0);
    assert_int_equal(rsp_key_generate(RSP_CURVE_NIST_P256, &ot), 0);
    uint8_t otpt[65], sig[64], z[32];
    assert_int_equal(rsp_key_point(ot, otpt), 0);
    struct rsp_sgp22_init_secure_channel isc;
    memset(&isc, 0, sizeof isc);
    isc.remote_op_id = 1;
    isc.transaction_id.p = dl.tid;
    isc.transaction_id.len = 16;
    isc.key_type = 0x88;
    isc.key_len = 0x10;
    isc.host_id.p = (const uint8_t *)"mahlzeit";
    isc.host_id.len = 8;
    isc.smdp_otpk.p = otpt;
    isc.smdp_otpk.len = 65;
    assert_int_equal(rsp_sgp22_smdp_sign_input(&isc, dl.otpk, &in), 0);
    assert_int_equal(rsp_ecdsa_sign(sk, in.data, in.len, sig), 0);
    isc.smdp_sign.p = sig;
    isc.smdp_sign.len = 64;
    assert_int_equal(rsp_ecka(ot, dl.otpk, 65, z), 0);
    struct rsp_session_keys keys;
    assert_int_equal(rsp_kdf_session_keys(z, 0x88, 0x10, isc.host_id.p, 8, eid.b, &keys), 0);
    struct rsp_bsp b;
    rsp_bsp_init(&b, &keys);
    static const uint8_t bf24[] = {0xBF, 0x24, 0x00};
    size_t off[64] = {0}, len[64] = {0}, k = 0;
    off[k] = segs.len;
    assert_int_equal(rsp_bsp_wrap(&b, 0x87, true, bf24, sizeof bf24, &segs), 0);
    len[k] = segs.len - off[k];
    k++;
    off[k] = segs.len;
    assert_int_equal(rsp_bsp_wrap(&b, 0x88, false, md.data, md.len, &segs), 0);
    len[k] = segs.len - off[k];
    k++;
    size_t first86 = k;
    for (size_t at = 0; at < upp.len; k++) {
        size_t n = upp.len - at < 1008 ? upp.len - at : 1008;
        assert_true(k < 64);
        off[k] = segs.len;
        if (n == 1008)
            wrap_big(&b, upp.data + at, n, &segs);
        else
            assert_int_equal(rsp_bsp_wrap(&b, 0x86, true, upp.data + at, n, &segs), 0);
        len[k] = segs.len - off[k];
        at += n;
    }
    assert_int_equal(len[first86], 1036);
    struct rsp_sgp22_bytes v[64];
    for (size_t i = 0; i < k; i++) {
        v[i].p = segs.data + off[i];
        v[i].len = len[i];
    }
    struct rsp_sgp22_bpp_parts parts = {.init_secure_channel = &isc,
                                        .first87 = &v[0],
                                        .n_first87 = 1,
                                        .seq88 = &v[1],
                                        .n_seq88 = 1,
                                        .seq86 = &v[first86],
                                        .n_seq86 = k - first86};
    assert_int_equal(rsp_sgp22_bpp_encode(&parts, &bpp), 0);
    struct fx_segs s;
    fx_split(&bpp, &s);
    size_t sent;
    assert_int_equal(fx_send(e, &s, &r, &sent), 0);
    struct rsp_sgp22_pir pir;
    fx_pir(0, &r, &pir);
    assert_true(pir.data.success);
    rsp_bsp_wipe(&b);
    rsp_key_free(sk);
    rsp_key_free(ot);
    struct rsp_buf *bufs[] = {&md, &upp, &segs, &bpp, &in, &r};
    for (size_t i = 0; i < 6; i++)
        rsp_buf_free(bufs[i]);
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
        cmocka_unit_test(test_download_nist_one_layer),
        cmocka_unit_test(test_download_nist_two_layer),
        cmocka_unit_test(test_download_brp_one_layer),
        cmocka_unit_test(test_download_brp_two_layer),
        cmocka_unit_test(test_download_whole_bpp),
        cmocka_unit_test(test_profile_management),
        cmocka_unit_test(test_other_commands),
        cmocka_unit_test(test_fault_delay),
        cmocka_unit_test(test_bpp_builder),
        cmocka_unit_test(test_osmo_sized_segments),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_group);
}
