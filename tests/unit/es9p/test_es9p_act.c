/* ES9+ and activation operations (rsp/act.h), driven by the in-process LPA and the software
 * eUICC: first contact and install recorded on the order and its push with the cohort figures;
 * a revoked token refused 8.2.6/3.8 and an expired one 8.8.5/4.10 with nothing changed; a cohort
 * quarantined while a session is past authenticateClient: that session finishes, a new download
 * of the cohort is refused 8.2.6/3.8 with the cohort named. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "es9p_fx.h"
#include "rsp/act.h"
#include "rsp/err.h"

static const struct rsp_act_integrity_config icfg = {
    .window_s = 3600, .bucket_s = 60, .failure_pct = 50, .min_sample = 2};

/* An activation order of campaign `camp` at token-issued for the profile (iccid, mid). */
static void order_for(struct ef *f, const char *id, const char *camp, const char *iccid,
                      const char *mid, int64_t expires_at)
{
    struct rsp_act_order o;
    memset(&o, 0, sizeof o);
    snprintf(o.order_id, sizeof o.order_id, "%s", id);
    snprintf(o.customer_ref, sizeof o.customer_ref, "cust-%s", id);
    snprintf(o.campaign, sizeof o.campaign, "%s", camp);
    snprintf(o.profile_type, sizeof o.profile_type, "es9p-act");
    snprintf(o.tac, sizeof o.tac, "35000011");
    o.stage = RSP_ACT_PRE_PROVISIONED;
    assert_int_equal(rsp_act_order_insert(f->st, &o, 1, "t", NULL), 0);
    struct rsp_act_order cur, next;
    assert_int_equal(rsp_act_order_get(f->st, id, &cur), 0);
    next = cur;
    next.stage = RSP_ACT_RESERVED;
    snprintf(next.iccid, sizeof next.iccid, "%s", iccid);
    assert_int_equal(rsp_act_order_update(f->st, &cur, &next, "t", "reserved"), 0);
    cur = next;
    next.stage = RSP_ACT_RELEASED;
    snprintf(next.matching_id, sizeof next.matching_id, "%s", mid);
    assert_int_equal(rsp_act_order_update(f->st, &cur, &next, "t", "released"), 0);
    struct rsp_act_token t;
    memset(&t, 0, sizeof t);
    snprintf(t.matching_id, sizeof t.matching_id, "%s", mid);
    snprintf(t.activation_code, sizeof t.activation_code, "1$%s$%s", FX_SMDP_ADDR, mid);
    t.expires_at = expires_at;
    assert_int_equal(rsp_act_token_issue(f->st, &next, &t, "t"), 0);
}

static enum rsp_act_stage stage_of(struct ef *f, const char *id)
{
    struct rsp_act_order o;
    assert_int_equal(rsp_act_order_get(f->st, id, &o), 0);
    return o.stage;
}

static void test_install_recorded(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 0);
    f.cfg.integrity = &icfg;
    order_for(&f, "O1", "camp", EF_ICCID, EF_MID, 0);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    assert_int_equal(stage_of(&f, "O1"), RSP_ACT_FIRST_CONTACT);
    struct rsp_act_order o;
    assert_int_equal(rsp_act_order_get(f.st, "O1", &o), 0);
    assert_int_equal(strlen(o.eid), 32);
    assert_int_equal(strlen(o.eum), 8);
    /* the eUICC's EUICCInfo2 is kept for capability checks */
    struct rsp_buf info = RSP_BUF_INIT;
    assert_int_equal(rsp_act_euicc_info_get(f.st, o.eid, &info), 0);
    assert_int_equal(info.data[0], 0xBF);
    assert_int_equal(info.data[1], 0x22);
    rsp_buf_free(&info);
    ef_prepare_and_get(&f, NULL, NULL);
    ef_install(&f);
    ef_notify(&f);
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_INSTALLED);
    assert_int_equal(stage_of(&f, "O1"), RSP_ACT_INSTALLED);
    struct rsp_act_figures fig;
    assert_int_equal(rsp_act_figures(f.st, &icfg, RSP_ACT_DIM_CAMPAIGN, "camp", time(NULL), &fig),
                     0);
    assert_int_equal(fig.attempts, 1);
    assert_int_equal(fig.installs, 1);
    assert_int_equal(fig.failures, 0);
    assert_int_equal(rsp_act_figures(f.st, &icfg, RSP_ACT_DIM_EUM, o.eum, time(NULL), &fig), 0);
    assert_int_equal(fig.installs, 1);
    ef_close(&f);
}

static void test_token_refusals(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 0);
    ef_insert_profile(&f, "8949449999999990031", "MID-EXP", "");
    order_for(&f, "R1", "camp", EF_ICCID, EF_MID, 0);
    order_for(&f, "E1", "camp", "8949449999999990031", "MID-EXP", (int64_t)time(NULL) - 1);
    assert_int_equal(rsp_act_token_revoke(f.st, EF_MID, "cancelled", "t", time(NULL)), 0);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, "8.2.6/3.8");
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_RELEASED);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_STARTED);
    assert_int_equal(stage_of(&f, "R1"), RSP_ACT_REVOKED);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, "MID-EXP", "8.8.5/4.10");
    assert_int_equal(ef_profile_state(&f, "8949449999999990031"), RSP_PROFILE_RELEASED);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_STARTED);
    assert_int_equal(stage_of(&f, "E1"), RSP_ACT_TOKEN_ISSUED); /* the sweeper moves it */
    ef_close(&f);
}

static void test_quarantine_in_flight(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 0);
    f.cfg.integrity = &icfg;
    ef_insert_profile(&f, "8949449999999990049", "MID-2", "");
    order_for(&f, "Q1", "risky", EF_ICCID, EF_MID, 0);
    order_for(&f, "Q2", "risky", "8949449999999990049", "MID-2", 0);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    /* the cohort is quarantined while this session is past authenticateClient */
    assert_int_equal(
        rsp_act_quarantine_set(f.st, RSP_ACT_DIM_CAMPAIGN, "risky", "t", "test", time(NULL)), 0);
    ef_prepare_and_get(&f, NULL, NULL);
    ef_install(&f);
    ef_notify(&f);
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_INSTALLED);
    assert_int_equal(stage_of(&f, "Q1"), RSP_ACT_INSTALLED);
    /* a new download of the cohort is refused, nothing changes */
    ef_initiate(&f, NULL);
    ef_authenticate(&f, "MID-2", "8.2.6/3.8");
    assert_int_equal(ef_profile_state(&f, "8949449999999990049"), RSP_PROFILE_RELEASED);
    assert_int_equal(stage_of(&f, "Q2"), RSP_ACT_TOKEN_ISSUED);
    /* released: the download goes ahead */
    assert_int_equal(rsp_act_quarantine_release(f.st, RSP_ACT_DIM_CAMPAIGN, "risky", "alice",
                                                "fixed", time(NULL)),
                     0);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, "MID-2", NULL);
    assert_int_equal(stage_of(&f, "Q2"), RSP_ACT_FIRST_CONTACT);
    ef_close(&f);
}

static int teardown_all(void **state)
{
    (void)state;
    fx_pki_free();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_install_recorded),
        cmocka_unit_test(test_token_refusals),
        cmocka_unit_test(test_quarantine_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
