/* Telemetry (pure parts): histogram bucketing, quantiles, the Prometheus text of a known aggregate
 * (exact text), label escaping, TAC from TBCD, report grouping/filters and its JSON and CSV, the
 * admin auth file and check, and the dashboard JSON of a store
 * with known telemetry. */
#include "testutil.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/admin.h"
#include "rsp/err.h"
#include "rsp/es9p.h"
#include "rsp/store.h"
#include "rsp/telemetry.h"

static void test_buckets(void **state)
{
    (void)state;
    assert_int_equal(rsp_tele_bucket(0), 0);
    assert_int_equal(rsp_tele_bucket(1000), 0); /* le is inclusive */
    assert_int_equal(rsp_tele_bucket(1001), 1);
    assert_int_equal(rsp_tele_bucket(2500), 1);
    assert_int_equal(rsp_tele_bucket(2501), 2);
    assert_int_equal(rsp_tele_bucket(5000), 2);
    assert_int_equal(rsp_tele_bucket(7000), 3);
    assert_int_equal(rsp_tele_bucket(10000000), RSP_TELE_NBUCKETS - 2);
    assert_int_equal(rsp_tele_bucket(10000001), RSP_TELE_NBUCKETS - 1);
    assert_int_equal(rsp_tele_bucket(UINT64_MAX), RSP_TELE_NBUCKETS - 1);
    for (unsigned i = 1; i < RSP_TELE_NBUCKETS - 1; i++)
        assert_true(rsp_tele_bucket_le_ms[i] > rsp_tele_bucket_le_ms[i - 1]);

    struct rsp_tele_series s;
    memset(&s, 0, sizeof s);
    int64_t empty[RSP_TELE_NBUCKETS] = {0};
    assert_true(rsp_tele_quantile_ms(empty, 0.5) == 0);
    /* 10 samples in (10, 25] ms: the median interpolates to the middle of the bucket */
    for (int i = 0; i < 10; i++)
        rsp_tele_series_add(&s, 20000);
    assert_int_equal(s.n, 10);
    assert_int_equal(s.sum_us, 200000);
    assert_int_equal(s.bucket[4], 10);
    assert_true(rsp_tele_quantile_ms(s.bucket, 0.5) > 17.49 &&
                rsp_tele_quantile_ms(s.bucket, 0.5) < 17.51);
    assert_true(rsp_tele_quantile_ms(s.bucket, 1.0) > 24.99);
    /* one slow outlier in +Inf: p99 of 11 samples is in +Inf -> the last finite bound */
    rsp_tele_series_add(&s, 60000000);
    assert_true(rsp_tele_quantile_ms(s.bucket, 0.99) == 10000);
    assert_true(rsp_tele_quantile_ms(s.bucket, 0.5) < 25);
}

static void test_tac(void **state)
{
    (void)state;
    char tac[9];
    /* IMEI 356938035643809 as SGP.22 codes it (TBCD, check digit in the last high nibble) */
    static const uint8_t imei[8] = {0x53, 0x96, 0x83, 0x30, 0x65, 0x34, 0x08, 0xF9};
    assert_int_equal(rsp_tele_tac_from_tbcd(imei, 8, tac), 0);
    assert_string_equal(tac, "35693803");
    static const uint8_t t4[4] = {0x53, 0x92, 0x60, 0x11};
    assert_int_equal(rsp_tele_tac_from_tbcd(t4, 4, tac), 0);
    assert_string_equal(tac, "35290611");
    static const uint8_t bad[4] = {0x53, 0x92, 0x6F, 0x11};
    assert_int_equal(rsp_tele_tac_from_tbcd(bad, 4, tac), RSP_ESYNTAX);
    assert_string_equal(tac, "");
    assert_int_equal(rsp_tele_tac_from_tbcd(t4, 3, tac), RSP_ESYNTAX);
}

static struct rsp_tele_series row(const char *fn, const char *outcome, int64_t n)
{
    struct rsp_tele_series s;
    memset(&s, 0, sizeof s);
    snprintf(s.fn, sizeof s.fn, "%s", fn);
    snprintf(s.outcome, sizeof s.outcome, "%s", outcome);
    s.n = n;
    s.bucket[0] = n;
    return s;
}

static const char PROM_EXPECTED[] =
    "# HELP rsp_smdp_es9_requests_total ES9+ requests by function and outcome (ok, SGP.22 "
    "subject/reason code, internal, http-NNN).\n"
    "# TYPE rsp_smdp_es9_requests_total counter\n"
    "rsp_smdp_es9_requests_total{function=\"authenticateClient\",outcome=\"8.1.1/3.8\"} 1\n"
    "rsp_smdp_es9_requests_total{function=\"authenticateClient\",outcome=\"ok\"} 2\n"
    "rsp_smdp_es9_requests_total{function=\"initiateAuthentication\",outcome=\"a\\\"b\\\\c\\nd\"} "
    "1\n"
    "# HELP rsp_smdp_es9_request_duration_seconds ES9+ request handling time by function.\n"
    "# TYPE rsp_smdp_es9_request_duration_seconds histogram\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"authenticateClient\",le=\"0.001\"} 1\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"authenticateClient\",le=\"0.0025\"} "
    "1\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"authenticateClient\",le=\"0.005\"} 1\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"authenticateClient\",le=\"0.01\"} 2\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"authenticateClient\",le=\"0.025\"} 2\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"authenticateClient\",le=\"0.05\"} 2\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"authenticateClient\",le=\"0.1\"} 2\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"authenticateClient\",le=\"0.25\"} 2\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"authenticateClient\",le=\"0.5\"} 2\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"authenticateClient\",le=\"1\"} 2\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"authenticateClient\",le=\"2.5\"} 2\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"authenticateClient\",le=\"5\"} 2\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"authenticateClient\",le=\"10\"} 2\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"authenticateClient\",le=\"+Inf\"} 3\n"
    "rsp_smdp_es9_request_duration_seconds_sum{function=\"authenticateClient\"} 12.007000\n"
    "rsp_smdp_es9_request_duration_seconds_count{function=\"authenticateClient\"} 3\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"initiateAuthentication\",le=\"0."
    "001\"} 1\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"initiateAuthentication\",le=\"0."
    "0025\"} 1\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"initiateAuthentication\",le=\"0."
    "005\"} 1\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"initiateAuthentication\",le=\"0."
    "01\"} 1\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"initiateAuthentication\",le=\"0."
    "025\"} 1\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"initiateAuthentication\",le=\"0."
    "05\"} 1\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"initiateAuthentication\",le=\"0."
    "1\"} 1\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"initiateAuthentication\",le=\"0."
    "25\"} 1\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"initiateAuthentication\",le=\"0."
    "5\"} 1\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"initiateAuthentication\",le=\"1\"} "
    "1\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"initiateAuthentication\",le=\"2."
    "5\"} 1\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"initiateAuthentication\",le=\"5\"} "
    "1\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"initiateAuthentication\",le=\"10\"} "
    "1\n"
    "rsp_smdp_es9_request_duration_seconds_bucket{function=\"initiateAuthentication\",le=\"+"
    "Inf\"} 1\n"
    "rsp_smdp_es9_request_duration_seconds_sum{function=\"initiateAuthentication\"} 0.000000\n"
    "rsp_smdp_es9_request_duration_seconds_count{function=\"initiateAuthentication\"} 1\n"
    "# HELP rsp_smdp_sessions_total Download session events (started, authenticated, downloaded, "
    "installed, install-failed, cancelled).\n"
    "# TYPE rsp_smdp_sessions_total counter\n"
    "rsp_smdp_sessions_total{event=\"downloaded\"} 2\n"
    "rsp_smdp_sessions_total{event=\"installed\"} 1\n"
    "# HELP rsp_smdp_downloads_total Bound profile packages delivered.\n"
    "# TYPE rsp_smdp_downloads_total counter\n"
    "rsp_smdp_downloads_total 2\n"
    "# HELP rsp_smdp_installs_total Installation results reported by eUICCs.\n"
    "# TYPE rsp_smdp_installs_total counter\n"
    "rsp_smdp_installs_total{result=\"ok\"} 1\n"
    "rsp_smdp_installs_total{result=\"failed\"} 0\n";

static void test_prometheus(void **state)
{
    (void)state;
    struct rsp_tele_series t[6];
    /* unsorted on purpose */
    t[0] = row(RSP_TELE_FN_SESSION, RSP_TELE_EV_INSTALLED, 1);
    t[1] = row("authenticateClient", "ok", 0);
    rsp_tele_series_add(&t[1], 1000); /* 1 ms */
    rsp_tele_series_add(&t[1], 6000); /* 6 ms */
    t[2] = row("initiateAuthentication", "a\"b\\c\nd", 1);
    t[3] = row("authenticateClient", "8.1.1/3.8", 0);
    rsp_tele_series_add(&t[3], 12000000); /* 12 s: +Inf */
    t[4] = row(RSP_TELE_FN_SESSION, RSP_TELE_EV_DOWNLOADED, 2);
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_tele_prometheus(t, 5, &b), 0);
    rsp_buf_append_byte(&b, 0);
    if (strcmp((const char *)b.data, PROM_EXPECTED) != 0)
        fail_msg("got:\n%s", (const char *)b.data);
    rsp_buf_free(&b);
    /* nothing recorded yet: the help lines and zero counters, still valid text */
    assert_int_equal(rsp_tele_prometheus(NULL, 0, &b), 0);
    rsp_buf_append_byte(&b, 0);
    assert_non_null(strstr((const char *)b.data, "rsp_smdp_downloads_total 0\n"));
    assert_null(strstr((const char *)b.data, "_bucket"));
    rsp_buf_free(&b);
}

static void test_report(void **state)
{
    (void)state;
    struct rsp_tele_series rows[5];
    rows[0] = row("authenticateClient", "ok", 0);
    rows[0].period = 600;
    snprintf(rows[0].labels.tac, sizeof rows[0].labels.tac, "35290611");
    snprintf(rows[0].labels.campaign, sizeof rows[0].labels.campaign, "spring, \"A\"");
    for (int i = 0; i < 4; i++)
        rsp_tele_series_add(&rows[0], 20000);
    rows[1] = rows[0];
    rows[1].period = 660; /* same cohort, next period: merged */
    rows[2] = rows[0];
    snprintf(rows[2].labels.tac, sizeof rows[2].labels.tac, "35693803");
    rows[3] = row(RSP_TELE_FN_SESSION, RSP_TELE_EV_INSTALLED, 3);
    rows[3].period = 600;
    snprintf(rows[3].labels.tac, sizeof rows[3].labels.tac, "35290611");
    snprintf(rows[3].labels.campaign, sizeof rows[3].labels.campaign, "spring, \"A\"");
    rows[4] = rows[0];
    rows[4].period = 1200; /* outside --to */

    struct rsp_tele_filter f = {.from = 600, .to = 1200};
    snprintf(f.match.campaign, sizeof f.match.campaign, "spring, \"A\"");
    struct rsp_tele_report r;
    rsp_tele_report_init(&r, RSP_TELE_DIM_TAC, &f);
    for (int i = 4; i >= 0; i--)
        assert_int_equal(rsp_tele_report_add(&r, &rows[i]), 0);
    rsp_tele_report_sort(&r);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.rows[0].labels.tac, "35290611");
    assert_string_equal(r.rows[0].fn, "authenticateClient");
    assert_int_equal(r.rows[0].n, 8);
    assert_string_equal(r.rows[1].fn, RSP_TELE_FN_SESSION);
    assert_string_equal(r.rows[2].labels.tac, "35693803");

    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_tele_report_csv(&r, &b), 0);
    rsp_buf_append_byte(&b, 0);
    assert_string_equal((const char *)b.data,
                        "cohort,function,outcome,count,mean_ms,p50_ms,p90_ms,p99_ms\r\n"
                        "35290611,authenticateClient,ok,8,20.000,17.500,23.500,24.850\r\n"
                        "35290611,session,installed,3,,,,\r\n"
                        "35693803,authenticateClient,ok,4,20.000,17.500,23.500,24.850\r\n");
    rsp_buf_free(&b);
    assert_int_equal(rsp_tele_report_json(&r, &b), 0);
    rsp_buf_append_byte(&b, 0);
    assert_string_equal(
        (const char *)b.data,
        "{\"by\":\"tac\",\"from\":600,\"to\":1200,\"groups\":["
        "{\"cohort\":\"35290611\",\"function\":\"authenticateClient\",\"outcome\":\"ok\","
        "\"count\":8,\"latency_ms\":{\"mean\":20.000,\"p50\":17.500,\"p90\":23.500,\"p99\":24.850}}"
        ","
        "{\"cohort\":\"35290611\",\"function\":\"session\",\"outcome\":\"installed\",\"count\":3},"
        "{\"cohort\":\"35693803\",\"function\":\"authenticateClient\",\"outcome\":\"ok\","
        "\"count\":4,\"latency_ms\":{\"mean\":20.000,\"p50\":17.500,\"p90\":23.500,\"p99\":24.850}}"
        "]}\n");
    rsp_buf_free(&b);
    rsp_tele_report_free(&r);

    /* by campaign: CSV quoting of a comma and quotes */
    rsp_tele_report_init(&r, RSP_TELE_DIM_CAMPAIGN, NULL);
    assert_int_equal(rsp_tele_report_add(&r, &rows[3]), 0);
    assert_int_equal(rsp_tele_report_csv(&r, &b), 0);
    rsp_buf_append_byte(&b, 0);
    assert_non_null(strstr((const char *)b.data, "\r\n\"spring, \"\"A\"\"\",session,installed,3,"));
    rsp_buf_free(&b);
    rsp_tele_report_free(&r);

    enum rsp_tele_dim d;
    assert_int_equal(rsp_tele_dim_from_name("profile_type", &d), 0);
    assert_int_equal(d, RSP_TELE_DIM_PROFILE_TYPE);
    assert_int_equal(rsp_tele_dim_from_name("imei", &d), RSP_ESYNTAX);
}

/* The grouping map: many keys, found again, growth keeps them. */
static void test_map(void **state)
{
    (void)state;
    struct rsp_tele_map m;
    memset(&m, 0, sizeof m);
    char k[32];
    size_t v;
    bool added;
    for (size_t i = 0; i < 5000; i++) {
        int n = snprintf(k, sizeof k, "tac-%zu", i);
        assert_int_equal(rsp_tele_map_get(&m, k, (size_t)n, i, &v, &added), 0);
        assert_true(added);
        assert_int_equal(v, i);
    }
    assert_int_equal(m.n, 5000);
    for (size_t i = 0; i < 5000; i += 7) {
        int n = snprintf(k, sizeof k, "tac-%zu", i);
        assert_int_equal(rsp_tele_map_get(&m, k, (size_t)n, 99999, &v, &added), 0);
        assert_false(added);
        assert_int_equal(v, i);
    }
    /* a key with an embedded separator is its own key */
    assert_int_equal(rsp_tele_map_get(&m,
                                      "a\x1f"
                                      "b",
                                      3, 7, &v, &added),
                     0);
    assert_true(added);
    assert_int_equal(rsp_tele_map_get(&m, "a", 1, 8, &v, &added), 0);
    assert_true(added);
    assert_int_equal(m.n, 5002);
    rsp_tele_map_free(&m);
    assert_int_equal(m.n, 0);
}

static void test_admin_auth(void **state)
{
    (void)state;
    struct rsp_admin_auth a;
    char err[200];
    const char *file = "# NOC\n\nbearer 0123456789abcdef0123\n  basic noc:s3cret:with:colons  \n";
    assert_int_equal(rsp_admin_auth_parse(file, strlen(file), &a, err, sizeof err), 0);
    assert_int_equal(a.n, 2);
    assert_true(rsp_admin_auth_check(&a, "Bearer 0123456789abcdef0123"));
    assert_true(rsp_admin_auth_check(&a, "bearer 0123456789abcdef0123"));
    assert_false(rsp_admin_auth_check(&a, "Bearer 0123456789abcdef012"));
    assert_false(rsp_admin_auth_check(&a, "Bearer 0123456789abcdef01234"));
    /* base64("noc:s3cret:with:colons") */
    assert_true(rsp_admin_auth_check(&a, "Basic bm9jOnMzY3JldDp3aXRoOmNvbG9ucw=="));
    assert_false(rsp_admin_auth_check(&a, "Basic bm9jOnMzY3JldA=="));
    assert_false(rsp_admin_auth_check(&a, "Basic"));
    assert_false(rsp_admin_auth_check(&a, ""));
    assert_false(rsp_admin_auth_check(&a, NULL));
    assert_false(rsp_admin_auth_check(&a, "0123456789abcdef0123"));

    static const char *const bad[] = {"",
                                      "# nothing\n",
                                      "token abc\n",
                                      "bearer short\n",
                                      "basic nocolon\n",
                                      "bearer 0123456789abcdef\x01zz\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(rsp_admin_auth_parse(bad[i], strlen(bad[i]), &a, err, sizeof err),
                         RSP_ESYNTAX);
        assert_int_equal(a.n, 0);
        assert_null(strstr(err, "short")); /* the message never quotes the secret */
    }
    assert_int_equal(rsp_admin_auth_load("/nonexistent/auth", &a, err, sizeof err), RSP_EIO);
}

/* The dashboard JSON of a store with known telemetry. */
static int64_t fixed_now = 10000;
static time_t fixed_clock(void *ctx)
{
    (void)ctx;
    return (time_t)fixed_now;
}

static void test_dashboard_json(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/dash.db", tu_tmpdir());
    struct rsp_store_pool *pool;
    assert_int_equal(rsp_store_pool_create(rsp_store_sqlite_opener, path, &pool), 0);
    struct rsp_store *st;
    assert_int_equal(rsp_store_pool_get(pool, &st), 0);
    static const struct {
        int64_t at;
        const char *fn, *out, *tid, *event, *tac, *ptype;
    } calls[] = {
        {9000, "initiateAuthentication", "ok", "01", RSP_TELE_EV_STARTED, "", ""},
        {9001, "authenticateClient", "ok", "01", RSP_TELE_EV_AUTHENTICATED, "35290611", "gold"},
        {9002, "getBoundProfilePackage", "ok", "01", RSP_TELE_EV_DOWNLOADED, "", ""},
        {9003, "handleNotification", "ok", "01", RSP_TELE_EV_INSTALLED, "", ""},
        {9100, "initiateAuthentication", "ok", "02", RSP_TELE_EV_STARTED, "", ""},
        {9101, "authenticateClient", "ok", "02", RSP_TELE_EV_AUTHENTICATED, "35693803", "gold"},
        {9102, "getBoundProfilePackage", "8.2.7/3.8", "02", "", "", ""},
        {100, "initiateAuthentication", "ok", "03", RSP_TELE_EV_STARTED, "", ""}, /* old */
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        struct rsp_tele_record r;
        memset(&r, 0, sizeof r);
        r.at_ms = calls[i].at * 1000;
        snprintf(r.fn, sizeof r.fn, "%s", calls[i].fn);
        snprintf(r.outcome, sizeof r.outcome, "%s", calls[i].out);
        snprintf(r.tid, sizeof r.tid, "%s", calls[i].tid);
        snprintf(r.event, sizeof r.event, "%s", calls[i].event);
        snprintf(r.labels.tac, sizeof r.labels.tac, "%s", calls[i].tac);
        snprintf(r.labels.profile_type, sizeof r.labels.profile_type, "%s", calls[i].ptype);
        r.latency_us = 3000;
        assert_int_equal(rsp_store_tele_record(st, &r, 60), 0);
    }
    struct rsp_admin_auth auth = {0};
    struct rsp_admin a = {
        .stores = pool, .auth = &auth, .window_s = 3600, .period_s = 60, .clock = fixed_clock};
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_admin_dashboard_json(&a, st, fixed_now, &b), 0);
    rsp_buf_append_byte(&b, 0);
    const char *j = (const char *)b.data;
    assert_non_null(strstr(j, "\"from\":6360,\"to\":10000"));
    /* the window: the old session (at 100 s) is not in the funnel, the totals have it */
    assert_non_null(strstr(j, "\"funnel\":[{\"stage\":\"started\",\"count\":2},{\"stage\":"
                              "\"authenticated\",\"count\":2},{\"stage\":\"downloaded\","
                              "\"count\":1},{\"stage\":\"installed\",\"count\":1}]"));
    assert_non_null(strstr(j, "\"sessions\":{\"started\":3,"));
    /* success per TAC: [period, attempts, installed, failed] */
    assert_non_null(strstr(j, "\"tac\":[{\"cohort\":\"35290611\",\"points\":[[9000,1,1,0]]},"
                              "{\"cohort\":\"35693803\",\"points\":[[9060,1,0,0]]}]"));
    assert_non_null(strstr(j, "\"profile_type\":[{\"cohort\":\"gold\",\"points\":[[9000,1,1,0],"
                              "[9060,1,0,0]]}]"));
    assert_non_null(strstr(
        j, "{\"function\":\"getBoundProfilePackage\",\"outcome\":\"8.2.7/3.8\",\"count\":1}"));
    assert_non_null(strstr(j, "\"latency\":[{\"function\":\"authenticateClient\",\"count\":2,"));
    /* activation operations (rsp/act.h): no order yet */
    assert_non_null(strstr(j, "\"ops_funnel\":[{\"stage\":\"pre-provisioned\",\"count\":0,"));
    assert_non_null(strstr(j, "\"quarantines\":[],\"pushes_without_first_contact\":0}"));
    rsp_buf_free(&b);

    /* the /metrics body adds this process's write failures */
    assert_int_equal(rsp_admin_metrics(&a, st, &b), 0);
    rsp_buf_append_byte(&b, 0);
    assert_non_null(strstr((const char *)b.data, "rsp_smdp_telemetry_write_failures_total 0\n"));
    assert_non_null(strstr((const char *)b.data, "rsp_smdp_sessions_total{event=\"started\"} 3\n"));
    assert_non_null(strstr((const char *)b.data, "rsp_smdp_pushes_without_first_contact 0\n"));
    assert_non_null(
        strstr((const char *)b.data, "rsp_smdp_quarantined_cohorts{dimension=\"campaign\"} 0\n"));
    rsp_buf_free(&b);
    rsp_store_pool_destroy(pool);
}

/* ---- the admin listener over HTTP (GET routes, authentication, headers) ---- */

struct got {
    long status;
    struct rsp_buf body, headers;
};

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    rsp_buf_append(ud, p, sz * n);
    return sz * n;
}

static void http_get(uint16_t port, const char *method, const char *path, const char *auth,
                     struct got *g)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)port, path);
    rsp_buf_init(&g->body);
    rsp_buf_init(&g->headers);
    CURL *h = curl_easy_init();
    assert_non_null(h);
    struct curl_slist *hdrs = NULL;
    char a[256];
    if (auth) {
        snprintf(a, sizeof a, "Authorization: %s", auth);
        hdrs = curl_slist_append(hdrs, a);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &g->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &g->headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "POST") == 0)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "x");
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &g->status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    rsp_buf_append_byte(&g->body, 0);
    rsp_buf_append_byte(&g->headers, 0);
}

static bool has(const struct rsp_buf *b, const char *s)
{
    return strstr((const char *)b->data, s) != NULL;
}

static void got_free(struct got *g)
{
    rsp_buf_free(&g->body);
    rsp_buf_free(&g->headers);
}

static void test_admin_listener(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/admin.db", tu_tmpdir());
    struct rsp_store_pool *pool;
    assert_int_equal(rsp_store_pool_create(rsp_store_sqlite_opener, path, &pool), 0);
    struct rsp_admin_auth auth;
    const char *file = "bearer 0123456789abcdef0123\nbasic noc:pw\n";
    assert_int_equal(rsp_admin_auth_parse(file, strlen(file), &auth, NULL, 0), 0);
    struct rsp_admin a = {.stores = pool, .auth = &auth};
    struct rsp_http_route routes[8];
    size_t n = rsp_admin_routes(&a, routes, 8);
    assert_int_equal(n, 5);
    struct rsp_http_config cfg = {0};
    cfg.plain_http = true;
    cfg.get_routes = true;
    struct rsp_http_server *srv = NULL;
    assert_int_equal(rsp_http_server_start(&cfg, routes, n, &srv), 0);
    uint16_t port = rsp_http_server_port(srv);
    const char *bearer = "Bearer 0123456789abcdef0123";
    struct got g;

    static const char *const paths[] = {"/metrics", "/dashboard", "/dashboard/app.js",
                                        "/dashboard/app.css", "/api/dashboard"};
    for (size_t i = 0; i < 5; i++) {
        http_get(port, "GET", paths[i], NULL, &g);
        assert_int_equal(g.status, 401);
        assert_true(has(&g.headers, "WWW-Authenticate: Basic realm=\"rsp-smdp admin\""));
        assert_false(has(&g.body, "rsp_smdp"));
        got_free(&g);
        http_get(port, "GET", paths[i], "Bearer wrong-token-wrong-token", &g);
        assert_int_equal(g.status, 401);
        got_free(&g);
        http_get(port, "GET", paths[i], bearer, &g);
        assert_int_equal(g.status, 200);
        assert_true(has(&g.headers, "Cache-Control: no-store"));
        assert_true(has(&g.headers, "X-Content-Type-Options: nosniff"));
        assert_true(has(&g.headers, "Content-Security-Policy: default-src 'self'"));
        got_free(&g);
    }
    http_get(port, "GET", "/metrics", "Basic bm9jOnB3", &g); /* noc:pw */
    assert_int_equal(g.status, 200);
    assert_true(has(&g.headers, "Content-Type: text/plain; version=0.0.4"));
    assert_true(has(&g.body, "# TYPE rsp_smdp_es9_requests_total counter\n"));
    got_free(&g);
    http_get(port, "GET", "/dashboard", bearer, &g);
    assert_true(has(&g.headers, "Content-Type: text/html"));
    assert_true(has(&g.body, "<script src=\"/dashboard/app.js\""));
    assert_false(has(&g.body, "http://")); /* no external asset */
    assert_false(has(&g.body, "https://"));
    got_free(&g);
    http_get(port, "GET", "/api/dashboard", bearer, &g);
    assert_true(has(&g.headers, "Content-Type: application/json"));
    assert_true(has(&g.body, "\"funnel\":["));
    got_free(&g);
    http_get(port, "HEAD", "/metrics", bearer, &g);
    assert_int_equal(g.status, 200);
    assert_int_equal(g.body.len, 1); /* just the NUL added here */
    got_free(&g);
    http_get(port, "POST", "/metrics", bearer, &g);
    assert_int_equal(g.status, 405);
    assert_true(has(&g.headers, "Allow: GET, HEAD"));
    got_free(&g);
    http_get(port, "GET", "/gsma/rsp2/es9plus/initiateAuthentication", bearer, &g);
    assert_int_equal(g.status, 404); /* no ES9+ on the admin listener */
    got_free(&g);
    rsp_http_server_stop(srv, 1000);
    rsp_store_pool_destroy(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets),    cmocka_unit_test(test_tac),
        cmocka_unit_test(test_prometheus), cmocka_unit_test(test_report),
        cmocka_unit_test(test_admin_auth), cmocka_unit_test(test_dashboard_json),
        cmocka_unit_test(test_map),        cmocka_unit_test(test_admin_listener),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
