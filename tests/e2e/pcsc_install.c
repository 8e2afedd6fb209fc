/* PC/SC end-to-end client: a complete profile download into rsp-euicc through pcscd and vpcd.
 *
 *   pcsc_install --config DIR --phase install|check [--reader NAME] [--wait SECONDS]
 *
 * DIR is the test PKI `rspctl pki init` wrote, which `rsp-euicc serve --config DIR --curve nist`
 * uses too. The program is the LPA and an in-process SM-DP+ (tests/common/euicc_fx.c: the
 * SM-DP+ builders of src/smdp with DIR's DPauth / DPpb keys); every ES10 command goes through the
 * pcsc transport (src/apdu/pcsc.c) in STORE DATA blocks of 120 bytes.
 *
 * install: SELECT ISD-R, GetEID, GetEUICCInfo1 (the CI PKIDs are the SKI of DIR/nist/ci.der),
 *   the download of a generated profile (AuthenticateServer, PrepareDownload, the BPP in the
 *   LPA's segments: BF36 header + BF23, A0, A1 header, each 88, A2, A3 header, each 86; the PIR
 *   signature verified with CERT.EUICC), with ../shared also a TS.48 *-UNIQUE package
 *   (two-layer); GetProfilesInfo lists them (ICCID, disabled, class, name); EnableProfile.
 * check (after rsp-euicc restarted on the same --state file): the profiles are still there and
 *   the generated one is enabled.
 * Output is TAP (cmocka); exit status 0 when every check holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "euicc_fx.h"
#include "rsp/apdu.h"
#include "rsp/cert.h"
#include "rsp/err.h"
#include "rsp/saip.h"
#include "rsp/sgp22_es10.h"

#define TS48_PACKAGE "testdata/ts48-upp/TS48V2-SAIP2-3-BERTLV-UNIQUE.der"
#define BLOCK_SIZE   120

static const char *g_reader, *g_config;
static int g_wait = 30;
static struct rsp_apdu_transport *g_t;
static struct rsp_es10 g_s;

static const struct fx_profile gen_profile = {.iccid = "8949000000000000987",
                                              .name = "rspkit e2e",
                                              .profile_class = RSP_PROFILE_CLASS_OPERATIONAL};

/* fx_cmd through PC/SC: the status word of a refusal is returned as rsp_euicc_process would. */
static int pcsc_xfer(void *ctx, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    struct rsp_es10 *s = ctx;
    int rc = rsp_es10_transceive(s, cmd, len, resp);
    if (rc == RSP_ESW)
        return s->last_sw;
    return rc;
}

static int open_card(void **st)
{
    (void)st;
    fx_pki_load(g_config);
    assert_int_equal(rsp_apdu_pcsc_new(&g_t, g_reader), 0);
    struct rsp_es10_opts o = {.block_size = BLOCK_SIZE};
    time_t until = time(NULL) + g_wait;
    int rc;
    while ((rc = rsp_es10_open(&g_s, g_t, &o)) != 0 && time(NULL) < until) {
        struct timespec ts = {0, 250 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (rc != 0) {
        print_message("no ES10 session within %d s: %s (last SW %04X)\n", g_wait, rsp_strerror(rc),
                      g_s.last_sw);
        rsp_apdu_transport_free(g_t);
        g_t = NULL;
        return -1;
    }
    fx_set_transceive(pcsc_xfer, &g_s);
    return 0;
}

static int close_card(void **st)
{
    (void)st;
    fx_set_transceive(NULL, NULL);
    if (g_t) {
        rsp_es10_close(&g_s);
        rsp_apdu_transport_free(g_t);
    }
    fx_pki_free();
    return 0;
}

static void test_select_isdr(void **st)
{
    (void)st;
    assert_true(g_s.fci.len > 2);
    assert_int_equal(g_s.fci.data[0], 0x6F);
}

static void test_get_eid(void **st)
{
    (void)st;
    struct rsp_buf r = RSP_BUF_INIT;
    assert_int_equal(fx_cmd_hex(NULL, "BF3E035C015A", &r), 0);
    struct rsp_eid eid;
    assert_int_equal(rsp_eid_from_str(RSP_PKI_DEFAULT_EID, &eid), 0);
    assert_int_equal(r.len, 21);
    assert_memory_equal(r.data, "\xBF\x3E\x12\x5A\x10", 5);
    assert_memory_equal(r.data + 5, eid.b, 16);
    rsp_buf_free(&r);
}

static bool has_pkid(const struct rsp_es10_pkid_list *l, const uint8_t *ski)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->id[i].len == RSP_KEYID_LEN && !memcmp(l->id[i].p, ski, RSP_KEYID_LEN))
            return true;
    return false;
}

static void test_euicc_info1(void **st)
{
    (void)st;
    uint8_t ski[2][RSP_KEYID_LEN];
    for (size_t s = 0; s < 2; s++) {
        struct rsp_cert *ci = NULL;
        const struct rsp_buf *der = &fx_pki()->set[s].item[RSP_PKI_CI].cert_der;
        assert_int_equal(rsp_cert_parse(der->data, der->len, &ci), 0);
        assert_int_equal(rsp_cert_ski(ci, ski[s]), 0);
        rsp_cert_free(ci);
    }
    struct rsp_buf r = RSP_BUF_INIT;
    assert_int_equal(fx_cmd_hex(NULL, "BF2000", &r), 0);
    struct rsp_euicc_info1 info;
    assert_int_equal(rsp_euicc_info1_decode(r.data, r.len, &info), 0);
    /* rsp-euicc --config DIR --curve nist: signs with the NIST CI's chain, trusts both CIs */
    assert_int_equal(info.ci_sign.n, 1);
    assert_true(has_pkid(&info.ci_sign, ski[0]));
    assert_int_equal(info.ci_verify.n, 2);
    assert_true(has_pkid(&info.ci_verify, ski[0]));
    assert_true(has_pkid(&info.ci_verify, ski[1]));
    rsp_buf_free(&r);
}

static void check_listed(const struct rsp_profile_info_list *l, const char *iccid, int state,
                         int cls, const char *name)
{
    struct rsp_iccid want;
    assert_int_equal(rsp_iccid_from_str(iccid, &want), 0);
    for (size_t i = 0; i < l->n; i++) {
        const struct rsp_profile_info *p = &l->profiles[i];
        if (!p->has_iccid || memcmp(p->iccid.b, want.b, RSP_ICCID_LEN) != 0)
            continue;
        assert_true(p->has_state);
        assert_int_equal(p->state, state);
        assert_true(p->has_profile_class);
        assert_int_equal(p->profile_class, cls);
        assert_int_equal(p->name.len, strlen(name));
        assert_memory_equal(p->name.p, name, strlen(name));
        return;
    }
    fail_msg("profile %s not listed", iccid);
}

static void list_profiles(struct rsp_profile_info_list *l, struct rsp_buf *keep)
{
    assert_int_equal(fx_cmd_hex(NULL, "BF2D00", keep), 0);
    assert_int_equal(rsp_profile_info_list_decode(keep->data, keep->len, l), 0);
    assert_false(l->is_error);
}

static void test_download_generated(void **st)
{
    (void)st;
    uint8_t aid[16];
    fx_download(NULL, 0, &gen_profile, false, aid);
    print_message("# generated profile %s installed\n", gen_profile.iccid);
}

static char ts48_iccid[21];

static void test_download_ts48(void **st)
{
    (void)st;
    TU_REQUIRE_SHARED();
    struct rsp_buf upp = tu_load(tu_shared_path(TS48_PACKAGE));
    struct rsp_saip_info info;
    assert_int_equal(rsp_saip_parse(upp.data, upp.len, &info), 0);
    snprintf(ts48_iccid, sizeof ts48_iccid, "%s", info.iccid_str);
    struct fx_profile p = {.iccid = ts48_iccid,
                           .upp = upp.data,
                           .upp_len = upp.len,
                           .name = "TS.48",
                           .profile_class = RSP_PROFILE_CLASS_TEST};
    fx_download(NULL, 0, &p, true, NULL);
    print_message("# TS.48 profile %s installed (%zu bytes, two-layer)\n", ts48_iccid, upp.len);
    rsp_buf_free(&upp);
}

static void ts48_iccid_from_shared(void)
{
    if (ts48_iccid[0] || !tu_shared_dir())
        return;
    struct rsp_buf upp = tu_load(tu_shared_path(TS48_PACKAGE));
    struct rsp_saip_info info;
    assert_int_equal(rsp_saip_parse(upp.data, upp.len, &info), 0);
    snprintf(ts48_iccid, sizeof ts48_iccid, "%s", info.iccid_str);
    rsp_buf_free(&upp);
}

static void test_listed_and_enable(void **st)
{
    (void)st;
    struct rsp_buf b = RSP_BUF_INIT, c = RSP_BUF_INIT, r = RSP_BUF_INIT;
    struct rsp_profile_info_list l;
    list_profiles(&l, &b);
    assert_int_equal(l.n, tu_shared_dir() ? 2 : 1);
    check_listed(&l, gen_profile.iccid, RSP_PROFILE_DISABLED, gen_profile.profile_class,
                 gen_profile.name);
    ts48_iccid_from_shared();
    if (ts48_iccid[0])
        check_listed(&l, ts48_iccid, RSP_PROFILE_DISABLED, RSP_PROFILE_CLASS_TEST, "TS.48");

    struct rsp_es10_switch_req rq;
    memset(&rq, 0, sizeof rq);
    rq.id.kind = RSP_ES10_BY_ICCID;
    assert_int_equal(rsp_iccid_from_str(gen_profile.iccid, &rq.id.iccid), 0);
    rq.refresh = true;
    assert_int_equal(rsp_es10_enable_req_encode(&rq, &c), 0);
    assert_int_equal(fx_cmd(NULL, c.data, c.len, &r), 0);
    enum rsp_enable_result res;
    assert_int_equal(rsp_es10_enable_resp_decode(r.data, r.len, &res), 0);
    assert_int_equal(res, RSP_ENABLE_OK);

    list_profiles(&l, &b);
    check_listed(&l, gen_profile.iccid, RSP_PROFILE_ENABLED, gen_profile.profile_class,
                 gen_profile.name);
    rsp_buf_free(&b);
    rsp_buf_free(&c);
    rsp_buf_free(&r);
}

/* After the restart on the same state file. */
static void test_still_there(void **st)
{
    (void)st;
    struct rsp_buf b = RSP_BUF_INIT;
    struct rsp_profile_info_list l;
    list_profiles(&l, &b);
    assert_int_equal(l.n, tu_shared_dir() ? 2 : 1);
    check_listed(&l, gen_profile.iccid, RSP_PROFILE_ENABLED, gen_profile.profile_class,
                 gen_profile.name);
    ts48_iccid_from_shared();
    if (ts48_iccid[0])
        check_listed(&l, ts48_iccid, RSP_PROFILE_DISABLED, RSP_PROFILE_CLASS_TEST, "TS.48");
    rsp_buf_free(&b);
}

int main(int argc, char **argv)
{
    const char *phase = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--reader"))
            g_reader = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--config"))
            g_config = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--phase"))
            phase = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--wait"))
            g_wait = atoi(argv[++i]);
        else
            phase = NULL, i = argc;
    }
    if (!g_config || !phase || (strcmp(phase, "install") && strcmp(phase, "check"))) {
        fprintf(stderr, "usage: pcsc_install --config DIR --phase install|check [--reader NAME] "
                        "[--wait SECONDS]\n");
        return 2;
    }
    const struct CMUnitTest install[] = {
        cmocka_unit_test(test_select_isdr),   cmocka_unit_test(test_get_eid),
        cmocka_unit_test(test_euicc_info1),   cmocka_unit_test(test_download_generated),
        cmocka_unit_test(test_download_ts48), cmocka_unit_test(test_listed_and_enable),
    };
    const struct CMUnitTest check[] = {
        cmocka_unit_test(test_select_isdr),
        cmocka_unit_test(test_get_eid),
        cmocka_unit_test(test_still_there),
    };
    if (!strcmp(phase, "install"))
        return cmocka_run_group_tests_name("install", install, open_card, close_card);
    return cmocka_run_group_tests_name("check", check, open_card, close_card);
}
