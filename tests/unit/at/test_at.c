/* The ES10 exchanger over the AT-command modem transport, through a pseudo-terminal to a fake
 * modem in front of the software eUICC: GetEID, GetEUICCInfo1, a profile download and a long
 * GetProfilesInfo (GET RESPONSE through AT+CGLA), the basic channel (AT+CSIM), and every injected
 * fault giving its error without a hang and without losing step for the next command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "euicc_fx.h"
#include "fake_modem.h"
#include "rsp/apdu.h"
#include "rsp/apdu_at.h"
#include "rsp/apdu_card.h"
#include "rsp/err.h"

struct rig {
    struct rsp_euicc *e;
    struct rsp_apdu_card *card;
    struct fake_modem *m;
    struct rsp_apdu_transport *t;
    struct rsp_es10 s;
};

static int over_at(void *ctx, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    struct rig *r = ctx;
    int rc = rsp_es10_transceive(&r->s, cmd, len, resp);
    return rc == RSP_ESW ? (int)r->s.last_sw : rc;
}

static void rig_up(struct rig *r, const struct fm_opts *fo, const struct rsp_apdu_at_opts *ao,
                   bool basic)
{
    memset(r, 0, sizeof *r);
    r->e = fx_euicc(0, NULL, NULL);
    assert_non_null(r->e);
    struct rsp_apdu_card_opts co = {.handle = rsp_euicc_process, .handle_ctx = r->e};
    assert_int_equal(rsp_apdu_card_new(&r->card, &co), 0);
    r->m = fm_start(r->card, fo);
    assert_non_null(r->m);
    assert_int_equal(rsp_apdu_at_new(&r->t, fm_path(r->m), ao), 0);
    struct rsp_es10_opts eo = {.basic_channel = basic};
    assert_int_equal(rsp_es10_open(&r->s, r->t, &eo), 0);
}

static void rig_down(struct rig *r)
{
    fx_set_transceive(NULL, NULL);
    rsp_es10_close(&r->s);
    rsp_apdu_transport_free(r->t);
    fm_stop(r->m);
    rsp_apdu_card_free(r->card);
    rsp_euicc_free(r->e);
}

/* The command through the AT transport equals the command straight to the eUICC. */
static void same_as_direct(struct rig *r, const char *hex)
{
    uint8_t cmd[64];
    size_t n = 0;
    for (; hex[2 * n]; n++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * n, "%2x", &v), 1);
        cmd[n] = (uint8_t)v;
    }
    struct rsp_buf via = RSP_BUF_INIT, direct = RSP_BUF_INIT;
    assert_int_equal(rsp_es10_transceive(&r->s, cmd, n, &via), 0);
    assert_int_equal(rsp_euicc_process(r->e, cmd, n, &direct), 0);
    assert_true(via.len > 2);
    assert_int_equal(via.len, direct.len);
    assert_memory_equal(via.data, direct.data, via.len);
    rsp_buf_free(&via);
    rsp_buf_free(&direct);
}

#define GET_EID      "BF3E035C015A"
#define GET_INFO1    "BF2000"
#define GET_PROFILES "BF2D00"

static void test_eid_info1(void **st)
{
    (void)st;
    struct rig r;
    rig_up(&r, NULL, NULL, false);
    assert_int_equal(fm_count(r.m, "ATE0"), 1);
    assert_int_equal(fm_count(r.m, "AT+CCHO="), 1);
    same_as_direct(&r, GET_EID);
    same_as_direct(&r, GET_INFO1);
    assert_true(fm_count(r.m, "AT+CGLA=") >= 2);
    assert_int_equal(fm_count(r.m, "AT+CSIM="), 0);
    rsp_es10_close(&r.s);
    assert_int_equal(fm_count(r.m, "AT+CCHC="), 1);
    rig_down(&r);
}

static void test_bare_ccho(void **st)
{
    (void)st;
    struct fm_opts fo = {.bare_ccho = true};
    struct rig r;
    rig_up(&r, &fo, NULL, false);
    same_as_direct(&r, GET_EID);
    rig_down(&r);
}

static void test_basic_channel_csim(void **st)
{
    (void)st;
    struct rig r;
    rig_up(&r, NULL, NULL, true);
    same_as_direct(&r, GET_EID);
    assert_int_equal(fm_count(r.m, "AT+CCHO="), 0);
    assert_true(fm_count(r.m, "AT+CSIM=") >= 2); /* SELECT + STORE DATA */
    rig_down(&r);

    /* basic_only: MANAGE CHANNEL is refused, the exchanger falls back to AT+CSIM */
    struct rsp_apdu_at_opts ao = {.basic_only = true};
    rig_up(&r, NULL, &ao, false);
    same_as_direct(&r, GET_INFO1);
    assert_int_equal(fm_count(r.m, "AT+CCHO="), 0);
    rig_down(&r);
}

static void test_download_long_profiles(void **st)
{
    (void)st;
    struct rig r;
    rig_up(&r, NULL, NULL, false);
    fx_set_transceive(over_at, &r);
    static const char *const iccids[] = {"8949000000000000011", "8949000000000000029",
                                         "8949000000000000037", "8949000000000000045"};
    for (size_t i = 0; i < 4; i++) {
        struct fx_profile p = {.iccid = iccids[i],
                               .name = "A profile name to make GetProfilesInfo long",
                               .profile_class = RSP_PROFILE_CLASS_OPERATIONAL};
        uint8_t aid[16];
        fx_download(r.e, 0, &p, i == 0, aid);
    }
    fx_set_transceive(NULL, NULL);
    struct rsp_buf via = RSP_BUF_INIT;
    static const uint8_t cmd[] = {0xBF, 0x2D, 0x00};
    assert_int_equal(rsp_es10_transceive(&r.s, cmd, sizeof cmd, &via), 0);
    struct rsp_buf direct = fx_profiles(r.e);
    assert_true(via.len > 256); /* came in pieces through 61xx / GET RESPONSE */
    assert_int_equal(via.len, direct.len);
    assert_memory_equal(via.data, direct.data, via.len);
    struct rsp_profile_info_list pl;
    assert_int_equal(rsp_profile_info_list_decode(via.data, via.len, &pl), 0);
    assert_int_equal(pl.n, 4);
    rsp_buf_free(&via);
    rsp_buf_free(&direct);
    rig_down(&r);
}

/* Each fault on the next AT+CGLA: GetEID fails with `want` (and the message names `needle`),
 * then the next GetEID works. */
static void fault_case(enum fm_fault f, int want, const char *needle)
{
    struct fm_opts fo = {.slow_ms = 450}; /* late, but within one timeout of the deadline */
    struct rsp_apdu_at_opts ao = {.timeout_ms = 300};
    struct rig r;
    rig_up(&r, &fo, &ao, false);
    static const uint8_t eid[] = {0xBF, 0x3E, 0x03, 0x5C, 0x01, 0x5A};
    struct rsp_buf resp = RSP_BUF_INIT;
    fm_fault(r.m, "AT+CGLA", f);
    int rc = rsp_es10_transceive(&r.s, eid, sizeof eid, &resp);
    if (rc != want)
        print_error("fault %d: rc %d (%s), error \"%s\"\n", (int)f, rc, rsp_strerror(rc),
                    rsp_apdu_at_error(r.t));
    assert_int_equal(rc, want);
    if (needle && !strstr(rsp_apdu_at_error(r.t), needle)) {
        print_error("fault %d: \"%s\" lacks \"%s\"\n", (int)f, rsp_apdu_at_error(r.t), needle);
        fail();
    }
    assert_int_equal(rsp_es10_transceive(&r.s, eid, sizeof eid, &resp), 0);
    assert_int_equal(resp.len, 21);
    assert_int_equal(resp.data[0], 0xBF);
    rsp_buf_free(&resp);
    rig_down(&r);
}

static void test_fault_urc(void **st)
{
    (void)st;
    fault_case(FM_URC, 0, NULL);
}

static void test_fault_cme(void **st)
{
    (void)st;
    fault_case(FM_CME, RSP_EIO, "+CME ERROR: 13");
}

static void test_fault_error(void **st)
{
    (void)st;
    fault_case(FM_ERROR, RSP_EIO, "\"ERROR\"");
}

static void test_fault_garbage(void **st)
{
    (void)st;
    fault_case(FM_GARBAGE, RSP_ESYNTAX, "x\\x01garbage%%");
}

static void test_fault_overlong(void **st)
{
    (void)st;
    fault_case(FM_OVERLONG, RSP_ERANGE, "longer than 1024");
}

static void test_fault_slow(void **st)
{
    (void)st;
    fault_case(FM_SLOW, RSP_EIO, "within 300 ms");
}

static void test_fault_silent(void **st)
{
    (void)st;
    fault_case(FM_SILENT, RSP_EIO, "within 300 ms");
}

static void test_fault_badlen(void **st)
{
    (void)st;
    fault_case(FM_BADLEN, RSP_ESYNTAX, "length 6 but 4 hex");
}

static void test_fault_badhex(void **st)
{
    (void)st;
    fault_case(FM_BADHEX, RSP_ESYNTAX, "bad hex");
}

static void test_fault_noinfo(void **st)
{
    (void)st;
    fault_case(FM_NOINFO, RSP_ESYNTAX, "OK without a +CGLA: answer");
}

static void test_fault_ccho(void **st)
{
    (void)st;
    struct rsp_euicc *e = fx_euicc(0, NULL, NULL);
    struct rsp_apdu_card_opts co = {.handle = rsp_euicc_process, .handle_ctx = e};
    struct rsp_apdu_card *card;
    assert_int_equal(rsp_apdu_card_new(&card, &co), 0);
    struct fake_modem *m = fm_start(card, NULL);
    assert_non_null(m);
    struct rsp_apdu_transport *t;
    struct rsp_apdu_at_opts ao = {.timeout_ms = 300};
    assert_int_equal(rsp_apdu_at_new(&t, fm_path(m), &ao), 0);
    struct rsp_es10 s;
    fm_fault(m, "AT+CCHO", FM_CME);
    assert_int_equal(rsp_es10_open(&s, t, NULL), RSP_EIO);
    assert_non_null(strstr(rsp_apdu_at_error(t), "AT+CCHO=\"A0000005591010FFFFFFFF8900000100\""));
    /* an unknown AID: the modem refuses to open the channel */
    static const uint8_t other[] = {0xA0, 0x00, 0x00, 0x00, 0x01, 0x02};
    struct rsp_es10_opts eo = {.isdr_aid = other, .isdr_aid_len = sizeof other};
    assert_int_equal(rsp_es10_open(&s, t, &eo), RSP_EIO);
    assert_non_null(strstr(rsp_apdu_at_error(t), "+CME ERROR: 3"));
    /* a slow answer to ATE0 at connect */
    fm_fault(m, "ATE0", FM_SILENT);
    assert_int_equal(rsp_es10_open(&s, t, NULL), RSP_EIO);
    assert_int_equal(rsp_es10_open(&s, t, NULL), 0);
    rsp_es10_close(&s);
    rsp_apdu_transport_free(t);
    fm_stop(m);
    rsp_apdu_card_free(card);
    rsp_euicc_free(e);
}

static void test_args(void **st)
{
    (void)st;
    struct rsp_apdu_transport *t = NULL;
    struct rsp_apdu_at_opts bad_baud = {.baud = 12345};
    struct rsp_apdu_at_opts bad_line = {.max_line = 10};
    assert_int_equal(rsp_apdu_at_new(&t, "/dev/null", &bad_baud), RSP_EINVAL);
    assert_int_equal(rsp_apdu_at_new(&t, "/dev/null", &bad_line), RSP_EINVAL);
    assert_int_equal(rsp_apdu_at_new(&t, "", NULL), RSP_EINVAL);
    assert_int_equal(rsp_apdu_at_new(&t, "/nonexistent/ttyUSB9", NULL), RSP_EIO);
    assert_int_equal(rsp_apdu_at_new(&t, "/dev/null", NULL), RSP_EIO); /* not a tty */
    assert_null(t);
    assert_string_equal(rsp_apdu_at_error(NULL), "not an AT transport");
}

/* rsp-lpa --at <pty> chip info against the fake modem: the EID comes through. */
static void test_rsp_lpa_chip_info(void **st)
{
    (void)st;
    struct rsp_euicc *e = fx_euicc(0, NULL, NULL);
    struct rsp_apdu_card_opts co = {.handle = rsp_euicc_process, .handle_ctx = e};
    struct rsp_apdu_card *card;
    assert_int_equal(rsp_apdu_card_new(&card, &co), 0);
    struct fake_modem *m = fm_start(card, NULL);
    assert_non_null(m);
    static const uint8_t get_eid[] = {0xBF, 0x3E, 0x03, 0x5C, 0x01, 0x5A};
    struct rsp_buf r = RSP_BUF_INIT;
    assert_int_equal(rsp_euicc_process(e, get_eid, sizeof get_eid, &r), 0);
    assert_int_equal(r.len, 21);
    char eid[33];
    for (size_t i = 0; i < 16; i++)
        snprintf(eid + 2 * i, 3, "%02X", r.data[5 + i]);
    rsp_buf_free(&r);

    const char *build = getenv("RSP_BUILD_DIR");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s/src/lpa/rsp-lpa --json --at %s chip info 2>&1",
             build ? build : ".", fm_path(m));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[8192];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    if (status != 0 || !strstr(out, eid))
        print_error("%s\n-> status %d, EID %s, output:\n%s\n", cmd, status, eid, out);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, eid));
    assert_int_equal(fm_count(m, "AT+CCHO="), 1);
    assert_int_equal(fm_count(m, "AT+CCHC="), 1);
    fm_stop(m);
    rsp_apdu_card_free(card);
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
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_eid_info1),
        cmocka_unit_test(test_bare_ccho),
        cmocka_unit_test(test_basic_channel_csim),
        cmocka_unit_test(test_download_long_profiles),
        cmocka_unit_test(test_fault_urc),
        cmocka_unit_test(test_fault_cme),
        cmocka_unit_test(test_fault_error),
        cmocka_unit_test(test_fault_garbage),
        cmocka_unit_test(test_fault_overlong),
        cmocka_unit_test(test_fault_slow),
        cmocka_unit_test(test_fault_silent),
        cmocka_unit_test(test_fault_badlen),
        cmocka_unit_test(test_fault_badhex),
        cmocka_unit_test(test_fault_noinfo),
        cmocka_unit_test(test_fault_ccho),
        cmocka_unit_test(test_rsp_lpa_chip_info),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_group);
}
