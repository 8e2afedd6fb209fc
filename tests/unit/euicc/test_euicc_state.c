/* Software eUICC, persistence: state file round trip, tear (simulated power loss) and retry with
 * the kept one-time key (bppEuiccOtpk), corrupt files, and every TS.48 test profile installed. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "euicc_fx.h"
#include "rsp/apdu_card.h"
#include "rsp/err.h"
#include "rsp/saip.h"

static const struct fx_profile prof1 = {
    .iccid = "8949000000000000011", .name = "One", .profile_class = RSP_PROFILE_CLASS_OPERATIONAL};
static const struct fx_profile prof2 = {
    .iccid = "8949000000000000029", .name = "Two", .profile_class = RSP_PROFILE_CLASS_TEST};

static const char *state_file(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tu_tmpdir(), name);
    return path;
}

/* Removes a state file and the directory state_file() made for it. */
static void cleanup(const char *path)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    remove(path);
    if (slash) {
        *slash = 0;
        rmdir(dir);
    }
}

static void assert_same(const struct rsp_buf *a, const struct rsp_buf *b)
{
    assert_int_equal(a->len, b->len);
    assert_memory_equal(a->data, b->data, a->len);
}

static void test_reload(void **st)
{
    (void)st;
    char path[512];
    snprintf(path, sizeof path, "%s", state_file("reload.state"));
    struct rsp_euicc *e = fx_euicc(0, path, NULL);
    fx_download(e, 0, &prof1, true, NULL);
    fx_download(e, 0, &prof2, false, NULL);
    struct rsp_buf r = RSP_BUF_INIT;
    assert_int_equal(
        fx_cmd_hex(e, "BF31 11 A0 0C 5A 0A 98 94 00 00 00 00 00 00 10 F1 81 01 FF", &r), 0);
    assert_int_equal(fx_cmd_hex(e, "BF3F 05 80 03 61 2E 62", &r), 0);
    /* without the A0 wrapper: disable, enable again (answer 80 00 = ok) */
    assert_int_equal(fx_cmd_hex(e, "BF32 0F 5A 0A 98 94 00 00 00 00 00 00 10 F1 81 01 FF", &r), 0);
    tu_assert_hex(r.data, r.len, "BF32 03 80 01 00");
    assert_int_equal(fx_cmd_hex(e, "BF31 0F 5A 0A 98 94 00 00 00 00 00 00 10 F1 81 01 00", &r), 0);
    tu_assert_hex(r.data, r.len, "BF31 03 80 01 00");
    /* delete with the A0 wrapper some LPAs use: the enabled profile is refused (2) */
    assert_int_equal(fx_cmd_hex(e, "BF33 0E A0 0C 5A 0A 98 94 00 00 00 00 00 00 10 F1", &r), 0);
    tu_assert_hex(r.data, r.len, "BF33 03 80 01 02");
    struct rsp_buf s1 = fx_state(e), p1 = fx_profiles(e);
    rsp_euicc_free(e);

    e = fx_euicc(0, path, NULL);
    struct rsp_buf s2 = fx_state(e), p2 = fx_profiles(e);
    assert_same(&s1, &s2);
    assert_same(&p1, &p2);
    struct rsp_profile_info_list l;
    assert_int_equal(rsp_profile_info_list_decode(p2.data, p2.len, &l), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.profiles[0].state, RSP_PROFILE_ENABLED);
    /* counters continue: the next install gets AID ...1002 and the next seq number */
    uint8_t aid[16];
    struct fx_profile p3 = {.iccid = "8949000000000000037", .profile_class = 2};
    fx_download(e, 0, &p3, true, aid);
    assert_int_equal(aid[15], 0x02);
    rsp_euicc_free(e);
    cleanup(path);
    rsp_buf_free(&s1);
    rsp_buf_free(&s2);
    rsp_buf_free(&p1);
    rsp_buf_free(&p2);
    rsp_buf_free(&r);
}

/* Power lost at segment N: nothing committed; after the restart the SM-DP+ retries with
 * bppEuiccOtpk = the otPK of the first attempt and the eUICC reuses its kept key. */
static void tear_case(size_t set, bool two_layer, unsigned tear_at)
{
    char path[512];
    snprintf(path, sizeof path, "%s", state_file("tear.state"));
    remove(path);
    struct rsp_euicc_faults f = {.tear_at_segment = tear_at};
    struct rsp_euicc *e = fx_euicc(set, path, NULL);
    fx_download(e, set, &prof2, true, NULL); /* something installed already */
    rsp_euicc_set_faults(e, &f);
    struct rsp_buf before_profiles = fx_profiles(e);

    struct fx_dl dl = {.set = set};
    fx_authenticate(e, &dl, NULL);
    fx_prepare(e, &dl, NULL);
    struct rsp_buf bpp = RSP_BUF_INIT, r = RSP_BUF_INIT;
    fx_bpp(&dl, &prof1, two_layer, &bpp);
    struct fx_segs s;
    fx_split(&bpp, &s);
    size_t sent;
    assert_int_equal(fx_send(e, &s, &r, &sent), RSP_EIO);
    assert_int_equal(sent, tear_at);
    assert_true(rsp_euicc_torn(e));
    assert_int_equal(fx_cmd_hex(e, "BF2D00", &r), RSP_EIO); /* dead until restarted */
    rsp_euicc_free(e);

    e = fx_euicc(set, path, NULL);
    struct rsp_buf after_profiles = fx_profiles(e);
    assert_same(&before_profiles, &after_profiles);
    uint8_t first_otpk[65];
    memcpy(first_otpk, dl.otpk, 65);
    /* retry: same otPK through bppEuiccOtpk */
    struct fx_pd_opts o = {.bpp_euicc_otpk = first_otpk};
    fx_authenticate(e, &dl, NULL);
    fx_prepare(e, &dl, &o);
    assert_int_equal(dl.pd_error, 0);
    assert_memory_equal(dl.otpk, first_otpk, 65);
    rsp_buf_reset(&bpp);
    fx_bpp(&dl, &prof1, two_layer, &bpp);
    fx_split(&bpp, &s);
    assert_int_equal(fx_send(e, &s, &r, &sent), 0);
    struct rsp_sgp22_pir pir;
    fx_pir(set, &r, &pir);
    assert_true(pir.data.success);
    /* the key was used: a further bppEuiccOtpk naming it gets a fresh pair */
    fx_authenticate(e, &dl, NULL);
    fx_prepare(e, &dl, &o);
    assert_int_equal(dl.pd_error, 0);
    assert_memory_not_equal(dl.otpk, first_otpk, 65);
    rsp_euicc_free(e);
    cleanup(path);
    rsp_buf_free(&before_profiles);
    rsp_buf_free(&after_profiles);
    rsp_buf_free(&bpp);
    rsp_buf_free(&r);
}

static void test_tear_and_retry(void **st)
{
    (void)st;
    tear_case(0, true, 7); /* 1 BF36, 2 A0, 3 A1, 4 88, 5 A2, 6 A3, 7 first 86 */
    tear_case(1, false, 2);
    tear_case(0, false, 1);
}

/* A retry whose bppEuiccOtpk names no kept key (or without one) gets a fresh pair. */
/* The card loses power and comes back without the process restarting (rsp-euicc serve, the LPA's
 * in-process eUICC): rsp_euicc_power_cycle ends the tear, keeps what was committed and clears the
 * one-shot tear fault; rsp_euicc_state_load replaces the state from an image, all or nothing. */
static void test_power_cycle_and_state_load(void **st)
{
    (void)st;
    struct rsp_euicc_faults f = {.tear_at_segment = 4};
    struct rsp_euicc *e = fx_euicc(0, NULL, NULL);
    fx_download(e, 0, &prof2, true, NULL);
    struct rsp_buf before = fx_profiles(e), r = RSP_BUF_INIT;
    rsp_euicc_set_faults(e, &f);
    struct fx_dl dl = {.set = 0};
    fx_authenticate(e, &dl, NULL);
    fx_prepare(e, &dl, NULL);
    struct rsp_buf bpp = RSP_BUF_INIT;
    fx_bpp(&dl, &prof1, false, &bpp);
    struct fx_segs s;
    fx_split(&bpp, &s);
    size_t sent;
    assert_int_equal(fx_send(e, &s, &r, &sent), RSP_EIO);
    assert_true(rsp_euicc_torn(e));
    rsp_euicc_power_cycle(e);
    assert_false(rsp_euicc_torn(e));
    struct rsp_buf after = fx_profiles(e), image = fx_state(e);
    assert_same(&before, &after);
    /* the session is gone: a segment now has no session to go to */
    assert_int_equal(fx_send(e, &s, &r, &sent), RSP_SW_COND_NOT_SATISFIED);
    /* the tear was one-shot: the same download goes through now */
    fx_download(e, 0, &prof1, false, NULL);
    struct rsp_buf two = fx_profiles(e);
    assert_true(two.len > after.len);

    /* state_load: back to the image with one profile, then a corrupt image empties the state */
    assert_int_equal(rsp_euicc_state_load(e, image.data, image.len, NULL, 0), 0);
    struct rsp_buf again = fx_state(e);
    assert_same(&image, &again);
    char why[RSP_EUICC_DETAIL_SZ] = "";
    assert_int_equal(image.data[6], 1);
    image.data[6] = 2; /* 30 82 LL LL 80 01 version: an unknown version */
    assert_int_equal(rsp_euicc_state_load(e, image.data, image.len, why, sizeof why), RSP_ESYNTAX);
    assert_true(why[0] != 0);
    struct rsp_profile_info_list l;
    struct rsp_buf p = fx_profiles(e);
    assert_int_equal(rsp_profile_info_list_decode(p.data, p.len, &l), 0);
    assert_int_equal(l.n, 0);
    rsp_euicc_free(e);
    rsp_buf_free(&before);
    rsp_buf_free(&after);
    rsp_buf_free(&image);
    rsp_buf_free(&two);
    rsp_buf_free(&again);
    rsp_buf_free(&p);
    rsp_buf_free(&bpp);
    rsp_buf_free(&r);
}

static void test_retry_unknown_otpk(void **st)
{
    (void)st;
    struct rsp_euicc *e = fx_euicc(0, NULL, NULL);
    struct fx_dl dl = {.set = 0};
    fx_authenticate(e, &dl, NULL);
    fx_prepare(e, &dl, NULL);
    uint8_t first[65], bogus[65];
    memcpy(first, dl.otpk, 65);
    memcpy(bogus, dl.otpk, 65);
    bogus[64] ^= 1;
    struct fx_pd_opts o = {.bpp_euicc_otpk = bogus};
    fx_authenticate(e, &dl, NULL);
    fx_prepare(e, &dl, &o);
    assert_int_equal(dl.pd_error, 0);
    assert_memory_not_equal(dl.otpk, first, 65);
    rsp_euicc_free(e);
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void expect_corrupt(const char *path, const char *why)
{
    const struct rsp_pki *pk = fx_pki();
    struct rsp_euicc_config c;
    memset(&c, 0, sizeof c);
    c.sk_euicc.p = pk->set[0].item[RSP_PKI_EUICC].key_pem.data;
    c.sk_euicc.len = pk->set[0].item[RSP_PKI_EUICC].key_pem.len;
    c.cert_euicc.p = pk->set[0].item[RSP_PKI_EUICC].cert_der.data;
    c.cert_euicc.len = pk->set[0].item[RSP_PKI_EUICC].cert_der.len;
    c.cert_eum.p = pk->set[0].item[RSP_PKI_EUM].cert_der.data;
    c.cert_eum.len = pk->set[0].item[RSP_PKI_EUM].cert_der.len;
    c.ci[0].p = pk->set[0].item[RSP_PKI_CI].cert_der.data;
    c.ci[0].len = pk->set[0].item[RSP_PKI_CI].cert_der.len;
    c.n_ci = 1;
    c.state_path = path;
    struct rsp_euicc *e = NULL;
    char detail[RSP_EUICC_DETAIL_SZ];
    assert_int_equal(rsp_euicc_new(&c, &e, detail, sizeof detail), RSP_ESYNTAX);
    assert_null(e);
    assert_non_null(strstr(detail, "corrupt state file"));
    if (why)
        assert_non_null(strstr(detail, why));
}

static void test_corrupt_file(void **st)
{
    (void)st;
    char path[512];
    snprintf(path, sizeof path, "%s", state_file("corrupt.state"));
    struct rsp_euicc *e = fx_euicc(0, path, NULL);
    fx_download(e, 0, &prof1, true, NULL);
    struct rsp_buf good = fx_state(e);
    rsp_euicc_free(e);
    /* not DER */
    write_file(path, (const uint8_t *)"hello", 5);
    expect_corrupt(path, NULL);
    /* empty */
    write_file(path, (const uint8_t *)"", 0);
    expect_corrupt(path, NULL);
    /* every truncation of a valid image */
    for (size_t n = 1; n < good.len; n += 1 + n / 8) {
        write_file(path, good.data, n);
        expect_corrupt(path, NULL);
    }
    /* a few byte flips that keep the DER shape but break a value */
    struct rsp_buf bad = RSP_BUF_INIT;
    assert_int_equal(rsp_buf_set(&bad, good.data, good.len), 0);
    bad.data[6] = 9; /* version */
    write_file(path, bad.data, bad.len);
    expect_corrupt(path, "version");
    /* the state of another eUICC (EID right after the version) */
    assert_int_equal(rsp_buf_set(&bad, good.data, good.len), 0);
    assert_int_equal(bad.data[7], 0x88); /* 30 82 LL LL 80 01 01 88 10 EID */
    bad.data[9 + 15] ^= 0x01;
    write_file(path, bad.data, bad.len);
    expect_corrupt(path, "belongs to the eUICC with EID");
    /* unparsable in the middle: every byte position flipped must either load or be refused */
    for (size_t i = 0; i < good.len; i += 7) {
        assert_int_equal(rsp_buf_set(&bad, good.data, good.len), 0);
        bad.data[i] ^= 0x55;
        write_file(path, bad.data, bad.len);
        struct rsp_euicc *x = NULL;
        const struct rsp_pki *pk = fx_pki();
        struct rsp_euicc_config c;
        memset(&c, 0, sizeof c);
        c.sk_euicc.p = pk->set[0].item[RSP_PKI_EUICC].key_pem.data;
        c.sk_euicc.len = pk->set[0].item[RSP_PKI_EUICC].key_pem.len;
        c.cert_euicc.p = pk->set[0].item[RSP_PKI_EUICC].cert_der.data;
        c.cert_euicc.len = pk->set[0].item[RSP_PKI_EUICC].cert_der.len;
        c.cert_eum.p = pk->set[0].item[RSP_PKI_EUM].cert_der.data;
        c.cert_eum.len = pk->set[0].item[RSP_PKI_EUM].cert_der.len;
        c.ci[0].p = pk->set[0].item[RSP_PKI_CI].cert_der.data;
        c.ci[0].len = pk->set[0].item[RSP_PKI_CI].cert_der.len;
        c.n_ci = 1;
        c.state_path = path;
        int rc = rsp_euicc_new(&c, &x, NULL, 0);
        assert_true(rc == 0 || rc == RSP_ESYNTAX);
        rsp_euicc_free(x);
    }
    rsp_buf_free(&bad);
    rsp_buf_free(&good);
    cleanup(path);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every TS.48 *-UNIQUE package through a locally built BPP, side by side on one eUICC of credential
 * set `set` (0 NIST P-256, 1 brainpoolP256r1), every BPP one- or two-layer. */
static void ts48_case(size_t set, bool two_layer)
{
    const char *dir = tu_shared_path("testdata/ts48-upp");
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *names[64];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < 64) {
        size_t l = strlen(de->d_name);
        if (l > 11 && !strcmp(de->d_name + l - 11, "-UNIQUE.der"))
            names[n++] = strdup(de->d_name);
    }
    closedir(d);
    assert_true(n > 0);
    qsort(names, n, sizeof names[0], cmp_str);
    struct rsp_euicc *e = fx_euicc(set, NULL, NULL);
    char iccids[64][21];
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct rsp_buf upp = tu_load(path);
        struct rsp_saip_info info;
        assert_int_equal(rsp_saip_parse(upp.data, upp.len, &info), 0);
        snprintf(iccids[i], sizeof iccids[i], "%s", info.iccid_str);
        struct fx_profile p = {.iccid = iccids[i],
                               .upp = upp.data,
                               .upp_len = upp.len,
                               .name = names[i],
                               .profile_class = RSP_PROFILE_CLASS_TEST};
        if (strlen(names[i]) > 64)
            p.name = "TS.48";
        fx_download(e, set, &p, two_layer, NULL);
        rsp_buf_free(&upp);
    }
    struct rsp_buf b = fx_profiles(e);
    struct rsp_profile_info_list l;
    assert_int_equal(rsp_profile_info_list_decode(b.data, b.len, &l), 0);
    assert_int_equal(l.n, n);
    for (size_t i = 0; i < n; i++) {
        struct rsp_iccid want;
        assert_int_equal(rsp_iccid_from_str(iccids[i], &want), 0);
        assert_memory_equal(l.profiles[i].iccid.b, want.b, RSP_ICCID_LEN);
        assert_int_equal(l.profiles[i].isdp_aid.p[15], (uint8_t)i);
        free(names[i]);
    }
    print_message("# installed %zu TS.48 profiles (%s, %s)\n", n, set ? "brainpoolP256r1" : "P-256",
                  two_layer ? "two-layer" : "one-layer");
    rsp_buf_free(&b);
    rsp_euicc_free(e);
}

static void test_ts48_nist_one_layer(void **st)
{
    (void)st;
    TU_REQUIRE_SHARED();
    ts48_case(0, false);
}

static void test_ts48_nist_two_layer(void **st)
{
    (void)st;
    TU_REQUIRE_SHARED();
    ts48_case(0, true);
}

static void test_ts48_brp_one_layer(void **st)
{
    (void)st;
    TU_REQUIRE_SHARED();
    ts48_case(1, false);
}

static void test_ts48_brp_two_layer(void **st)
{
    (void)st;
    TU_REQUIRE_SHARED();
    ts48_case(1, true);
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
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_tear_and_retry),
        cmocka_unit_test(test_power_cycle_and_state_load),
        cmocka_unit_test(test_retry_unknown_otpk),
        cmocka_unit_test(test_corrupt_file),
        cmocka_unit_test(test_ts48_nist_one_layer),
        cmocka_unit_test(test_ts48_nist_two_layer),
        cmocka_unit_test(test_ts48_brp_one_layer),
        cmocka_unit_test(test_ts48_brp_two_layer),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_group);
}
