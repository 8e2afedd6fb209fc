/* LPA recovery building blocks (rsp/lpa_attempt.h): back-off policy, failure classes, device
 * conditions, the attempt state machine and its persisted record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rsp/err.h"
#include "rsp/lpa_attempt.h"
#include "testutil.h"

static void test_backoff(void **st)
{
    (void)st;
    struct rsp_lpa_retry_policy p;
    rsp_lpa_retry_policy_default(&p);
    p.base_ms = 1000;
    p.cap_ms = 8000;
    /* the bounds: failure f gives d = min(cap, base * 2^(f-1)), drawn in [d/2, d] */
    static const unsigned want[] = {1000, 2000, 4000, 8000, 8000, 8000};
    for (unsigned f = 1; f <= 6; f++) {
        unsigned d = want[f - 1];
        assert_int_equal(rsp_lpa_backoff_ms(&p, f, 0), d - d / 2);
        assert_int_equal(rsp_lpa_backoff_ms(&p, f, d / 2), d);
        assert_int_equal(rsp_lpa_backoff_ms(&p, f, d / 2 + 1), d - d / 2);
        for (uint32_t r = 0; r < 5000; r += 37) {
            unsigned x = rsp_lpa_backoff_ms(&p, f, r * 2654435761u);
            assert_true(x >= d / 2 && x <= d);
        }
    }
    /* huge failure counts stay at the cap (no overflow) */
    assert_true(rsp_lpa_backoff_ms(&p, 1000, 12345) <= 8000);
}

static void test_classify(void **st)
{
    (void)st;
    struct rsp_lpa_download_result r;
    memset(&r, 0, sizeof r);
    r.kind = RSP_LPA_DL_OK;
    assert_int_equal(rsp_lpa_classify(&r), RSP_LPA_FAIL_NONE);
    r.kind = RSP_LPA_DL_NETWORK;
    assert_int_equal(rsp_lpa_classify(&r), RSP_LPA_FAIL_TRANSIENT);
    r.kind = RSP_LPA_DL_EUICC_IO;
    assert_int_equal(rsp_lpa_classify(&r), RSP_LPA_FAIL_EUICC_RESET);
    r.kind = RSP_LPA_DL_SESSION_LOST;
    assert_int_equal(rsp_lpa_classify(&r), RSP_LPA_FAIL_SESSION_LOST);
    r.kind = RSP_LPA_DL_DEFERRED;
    assert_int_equal(rsp_lpa_classify(&r), RSP_LPA_FAIL_DEFERRED);
    /* SGP.22 refusals and trust failures are final */
    r.kind = RSP_LPA_DL_SMDP_REFUSED;
    assert_int_equal(rsp_lpa_classify(&r), RSP_LPA_FAIL_FINAL);
    r.kind = RSP_LPA_DL_EUICC_REFUSED;
    assert_int_equal(rsp_lpa_classify(&r), RSP_LPA_FAIL_FINAL);
    r.kind = RSP_LPA_DL_TLS;
    assert_int_equal(rsp_lpa_classify(&r), RSP_LPA_FAIL_FINAL);
    /* HTTP: 5xx, 408 and 429 are transient, other statuses final */
    r.kind = RSP_LPA_DL_OTHER;
    r.es9.kind = RSP_ES9P_HTTP_ERROR;
    static const long transient[] = {500, 502, 503, 504, 408, 429};
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++) {
        r.es9.http_status = transient[i];
        assert_int_equal(rsp_lpa_classify(&r), RSP_LPA_FAIL_TRANSIENT);
    }
    r.es9.http_status = 404;
    assert_int_equal(rsp_lpa_classify(&r), RSP_LPA_FAIL_FINAL);
    r.es9.kind = RSP_ES9P_BAD_BODY;
    r.es9.http_status = 200;
    assert_int_equal(rsp_lpa_classify(&r), RSP_LPA_FAIL_FINAL);
}

static void test_conditions(void **st)
{
    (void)st;
    struct rsp_lpa_conditions c;
    struct rsp_lpa_conditions_policy p;
    rsp_lpa_conditions_unknown(&c);
    rsp_lpa_conditions_policy_default(&p);
    char why[128] = "", err[128] = "";
    assert_true(rsp_lpa_conditions_ok(&p, &c, why, sizeof why)); /* unknown never blocks */
    const char *t = "# platform file\nbattery = 12\ncharging=no\n\nsignal=3\n";
    assert_int_equal(rsp_lpa_conditions_parse(t, strlen(t), &c, err, sizeof err), 0);
    assert_int_equal(c.battery_pct, 12);
    assert_int_equal(c.charging, 0);
    assert_int_equal(c.signal, 3);
    assert_false(rsp_lpa_conditions_ok(&p, &c, why, sizeof why));
    assert_non_null(strstr(why, "battery 12%"));
    c.charging = 1;
    assert_true(rsp_lpa_conditions_ok(&p, &c, why, sizeof why));
    c.battery_pct = 20; /* at the minimum: fine */
    c.charging = 0;
    assert_true(rsp_lpa_conditions_ok(&p, &c, why, sizeof why));
    c.signal = 0;
    assert_false(rsp_lpa_conditions_ok(&p, &c, why, sizeof why));
    assert_non_null(strstr(why, "signal 0"));
    /* bad lines: refused, nothing changed, the line named */
    struct rsp_lpa_conditions before = c;
    static const char *const bad[] = {"battery=101\n", "battery=-1\n", "charging=maybe\n",
                                      "signal=5\n",    "volume=3\n",   "battery\n",
                                      "battery=1x\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char two[64];
        snprintf(two, sizeof two, "signal=2\n%s", bad[i]);
        assert_int_equal(rsp_lpa_conditions_parse(two, strlen(two), &c, err, sizeof err),
                         RSP_ESYNTAX);
        assert_non_null(strstr(err, "line 2"));
        assert_memory_equal(&c, &before, sizeof c);
    }
}

static void test_state_machine(void **st)
{
    (void)st;
    /* every state has a name; the contract's main paths hold, shortcuts do not */
    for (int s = 0; s < RSP_LPA_ATT_NSTATES; s++)
        assert_string_not_equal(rsp_lpa_att_state_name((enum rsp_lpa_att_state)s), "?");
    assert_int_equal(rsp_lpa_att_transition_check(RSP_LPA_ATT_IDLE, RSP_LPA_ATT_AUTHENTICATING), 0);
    assert_int_equal(
        rsp_lpa_att_transition_check(RSP_LPA_ATT_AUTHENTICATING, RSP_LPA_ATT_DOWNLOADING), 0);
    assert_int_equal(rsp_lpa_att_transition_check(RSP_LPA_ATT_DOWNLOADING, RSP_LPA_ATT_VERIFYING),
                     0);
    assert_int_equal(rsp_lpa_att_transition_check(RSP_LPA_ATT_VERIFYING, RSP_LPA_ATT_ENABLED), 0);
    assert_int_equal(rsp_lpa_att_transition_check(RSP_LPA_ATT_DOWNLOADING, RSP_LPA_ATT_BACKOFF), 0);
    assert_int_equal(rsp_lpa_att_transition_check(RSP_LPA_ATT_BACKOFF, RSP_LPA_ATT_DOWNLOADING), 0);
    assert_int_equal(rsp_lpa_att_transition_check(RSP_LPA_ATT_IDLE, RSP_LPA_ATT_ENABLED),
                     RSP_ESTATE);
    assert_int_equal(rsp_lpa_att_transition_check(RSP_LPA_ATT_IDLE, RSP_LPA_ATT_DOWNLOADING),
                     RSP_ESTATE);
    assert_int_equal(rsp_lpa_att_transition_check(RSP_LPA_ATT_GAVE_UP, RSP_LPA_ATT_DOWNLOADING),
                     RSP_ESTATE);
    assert_int_equal(rsp_lpa_att_transition_check(RSP_LPA_ATT_ENABLED, RSP_LPA_ATT_BACKOFF),
                     RSP_ESTATE);
    assert_int_equal(rsp_lpa_att_transition_check(RSP_LPA_ATT_NSTATES, RSP_LPA_ATT_IDLE),
                     RSP_EINVAL);
}

static void record_path(char *out, size_t n, const char *dir, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static void test_record(void **st)
{
    (void)st;
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/state", tu_tmpdir());
    struct rsp_lpa_attempt a, b;
    char err[160] = "";
    assert_int_equal(rsp_lpa_attempt_load(dir, &b, NULL, err, sizeof err), RSP_ENOTFOUND);
    memset(&a, 0, sizeof a);
    a.state = RSP_LPA_ATT_DOWNLOADING;
    snprintf(a.eid, sizeof a.eid, "89049032123451234512345678901235");
    snprintf(a.smdp, sizeof a.smdp, "smdp.example:8443");
    snprintf(a.matching_id, sizeof a.matching_id, "ABC-123");
    snprintf(a.tid, sizeof a.tid, "00112233445566778899AABBCCDDEEFF");
    a.enable = true;
    a.has_bpp = true;
    a.segments = 9;
    a.acked = 4;
    a.attempts = 2;
    a.failures = 1;
    a.first_at = 1795600000;
    a.next_at = 1795600010;
    a.expected.known = true;
    memcpy(a.expected.iccid, "\x98\x94\x00\x00\x00\x00\x00\x00\x10\xF1", 10);
    a.expected.profile_class = 2;
    snprintf(a.expected.spn, sizeof a.expected.spn, "Operator \"quoted\"");
    snprintf(a.expected.name, sizeof a.expected.name, "Name");
    a.expected.has_owner = true;
    memcpy(a.expected.owner_mcc_mnc, "\x00\xF1\x10", 3);
    memset(a.aid, 0xA0, sizeof a.aid);
    static const uint8_t bpp[] = {0xBF, 0x36, 0x03, 0x01, 0x02, 0x03};
    assert_int_equal(rsp_lpa_attempt_save_bpp(dir, bpp, sizeof bpp), 0);
    assert_int_equal(rsp_lpa_attempt_save(dir, &a), 0);
    struct rsp_buf got = RSP_BUF_INIT;
    assert_int_equal(rsp_lpa_attempt_load(dir, &b, &got, err, sizeof err), 0);
    assert_memory_equal(&a, &b, sizeof a);
    tu_assert_hex(got.data, got.len, "BF3603010203");

    /* a damaged record is refused whole, with a reason, and the BPP is not returned */
    record_path(path, sizeof path, dir, "attempt.json");
    struct rsp_buf raw = tu_load(path);
    static const char *const edits[][2] = {
        {"\"acked\": 4", "\"acked\": 10"},       /* more acked than segments */
        {"\"Downloading\"", "\"Sleeping\""},     /* unknown state */
        {"\"version\": 1", "\"version\": 2"},    /* unknown version */
        {"\"has_bpp\": true", "\"has_bpp\": 1"}, /* wrong type */
        {"\"segments\": 9", "\"segments\": -9"}, /* negative */
        {"\"profile_class\": 2", "\"profile_class\": 7"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char *s = malloc(raw.len + 64);
        assert_non_null(s);
        memcpy(s, raw.data, raw.len);
        s[raw.len] = 0;
        char *at = strstr(s, edits[i][0]);
        assert_non_null(at);
        size_t ol = strlen(edits[i][0]), nl = strlen(edits[i][1]);
        memmove(at + nl, at + ol, strlen(at + ol) + 1);
        memcpy(at, edits[i][1], nl);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fputs(s, f);
        fclose(f);
        free(s);
        err[0] = 0;
        rsp_buf_reset(&got);
        assert_int_equal(rsp_lpa_attempt_load(dir, &b, &got, err, sizeof err), RSP_ESYNTAX);
        assert_true(err[0] != 0);
        assert_int_equal(got.len, 0);
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("{\"version\": 1, ", f); /* truncated */
    fclose(f);
    assert_int_equal(rsp_lpa_attempt_load(dir, &b, NULL, err, sizeof err), RSP_ESYNTAX);

    /* the event log appends lines; clear removes the record and the BPP, not the log */
    assert_int_equal(rsp_lpa_event_append(dir, "{\"event\":\"a\"}"), 0);
    assert_int_equal(rsp_lpa_event_append(dir, "{\"event\":\"b\"}"), 0);
    assert_int_equal(rsp_lpa_event_append(dir, "two\nlines"), RSP_EINVAL);
    assert_int_equal(rsp_lpa_attempt_clear(dir), 0);
    assert_int_equal(rsp_lpa_attempt_load(dir, &b, NULL, err, sizeof err), RSP_ENOTFOUND);
    record_path(path, sizeof path, dir, "attempt.bpp");
    assert_int_not_equal(access(path, F_OK), 0);
    record_path(path, sizeof path, dir, "events.jsonl");
    rsp_buf_free(&raw);
    raw = tu_load(path);
    assert_int_equal(raw.len, strlen("{\"event\":\"a\"}\n{\"event\":\"b\"}\n"));
    remove(path);
    rmdir(dir);
    rsp_buf_free(&raw);
    rsp_buf_free(&got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff),    cmocka_unit_test(test_classify),
        cmocka_unit_test(test_conditions), cmocka_unit_test(test_state_machine),
        cmocka_unit_test(test_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
