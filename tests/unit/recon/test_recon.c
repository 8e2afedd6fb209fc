/* Reconciliation (pure): the CSV and JSON-lines parsers (every refusal), and the matcher on a
 * generated data set of more than 100,000 events with planted discrepancies of every kind: the
 * findings equal the planted set exactly (all found, none invented), whatever the event order. */
#include "testutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recon_gen.h"
#include "rsp/err.h"
#include "rsp/recon.h"

struct collected {
    struct rsp_recon_event ev[16];
    size_t n;
};

static int collect(void *arg, const struct rsp_recon_event *ev)
{
    struct collected *c = arg;
    if (c->n >= 16)
        return RSP_ERANGE;
    c->ev[c->n++] = *ev;
    return 0;
}

static int parse(enum rsp_recon_format fmt, enum rsp_recon_kind kind, const char *text,
                 struct collected *c, char *err, size_t err_len)
{
    memset(c, 0, sizeof *c);
    err[0] = 0;
    return rsp_recon_parse(fmt, kind, text, strlen(text), collect, c, err, err_len);
}

static void test_parse_csv(void **state)
{
    (void)state;
    struct collected c;
    char err[200];
    assert_int_equal(parse(RSP_RECON_CSV, RSP_RECON_BILLING,
                           "# billing export\r\n"
                           "timestamp, event_id ,iccid,imsi,plan,customer\r\n"
                           "1700000000,b1,8944000000000000001,001010000000001,plan-1,C-17\r\n"
                           "\n"
                           "2023-11-14T22:13:21Z,\"b,2\",,001010000000002,\"pl\"\"an\",\r\n",
                           &c, err, sizeof err),
                     RSP_ESYNTAX); /* a quote inside the plan is refused */
    assert_non_null(strstr(err, "line 5: "));
    assert_int_equal(parse(RSP_RECON_CSV, RSP_RECON_BILLING,
                           "timestamp,event_id,iccid,imsi,plan,customer\n"
                           "1700000000,b1,8944000000000000001,001010000000001,plan-1,C-17\n"
                           "2023-11-14T22:13:21Z,\"b 2\",,001010000000002,\"plan 2\",\n",
                           &c, err, sizeof err),
                     0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.ev[0].event_id, "b1");
    assert_string_equal(c.ev[0].iccid, "8944000000000000001");
    assert_string_equal(c.ev[0].customer, "C-17");
    assert_int_equal(c.ev[0].at, 1700000000);
    assert_int_equal(c.ev[0].kind, RSP_RECON_BILLING);
    assert_string_equal(c.ev[1].event_id, "b 2");
    assert_string_equal(c.ev[1].plan, "plan 2");
    assert_int_equal(c.ev[1].at, 1700000001);
    assert_string_equal(c.ev[1].iccid, "");

    static const struct {
        const char *text, *why;
    } bad[] = {
        {"", "no header"},
        {"event_id,timestamp,colour\n", "unknown column 'colour'"},
        {"event_id,timestamp,iccid,iccid\n", "twice"},
        {"event_id,timestamp,iccid\nx,1,894400000000000000112\n", "line 2: iccid"},
        {"event_id,timestamp,iccid\nx,1,894400000000000000a\n", "line 2: iccid"},
        {"event_id,timestamp,imsi\nx,1,0010100000000001\n", "imsi"},
        {"event_id,timestamp,eid\nx,1,8904\n", "eid"},
        {"event_id,timestamp,iccid\n,1,8944000000000000001\n", "event_id"},
        {"event_id,timestamp,iccid\nx,yesterday,8944000000000000001\n", "timestamp"},
        {"event_id,timestamp,iccid\nx,2023-13-01T00:00:00Z,8944000000000000001\n", "timestamp"},
        {"event_id,timestamp,plan\nx,1,p\n", "one of iccid, imsi, eid"},
        {"event_id,iccid\nx,8944000000000000001\n", "timestamp missing"},
        {"event_id,timestamp,iccid\nx,1\n", "2 fields"},
        {"event_id,timestamp,iccid\n\"x,1,8944000000000000001\n", "malformed"},
        {"event_id,timestamp,iccid,outcome\nx,1,8944000000000000001,maybe\n", "outcome"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(RSP_RECON_CSV, RSP_RECON_ATTACH, bad[i].text, &c, err, sizeof err);
        if (rc != RSP_ESYNTAX)
            fail_msg("case %zu: %d", i, rc);
        if (!strstr(err, bad[i].why))
            fail_msg("case %zu: '%s' does not say '%s'", i, err, bad[i].why);
        assert_int_equal(c.n, 0);
    }
    /* an over-long line */
    size_t big = RSP_RECON_LINE_MAX + 100;
    char *t = malloc(big + 64);
    assert_non_null(t);
    int k = snprintf(t, big + 64, "event_id,timestamp,iccid\n");
    memset(t + k, 'x', big);
    t[k + big] = 0;
    assert_int_equal(parse(RSP_RECON_CSV, RSP_RECON_ATTACH, t, &c, err, sizeof err), RSP_ESYNTAX);
    assert_non_null(strstr(err, "longer than"));
    free(t);
}

static void test_parse_jsonl(void **state)
{
    (void)state;
    struct collected c;
    char err[200];
    assert_int_equal(
        parse(RSP_RECON_JSONL, RSP_RECON_PHYSICAL,
              "{\"event_id\":\"p1\",\"iccid\":\"8944100000000000001\",\"timestamp\":1700003600,"
              "\"ordered_at\":\"2023-11-14T22:13:20Z\",\"outcome\":\"failed\",\"tariff\":\"p\"}\n"
              "{\"event_id\":\"p2\",\"iccid\":\"8944100000000000002\",\"timestamp\":5}\n",
              &c, err, sizeof err),
        0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.ev[0].kind, RSP_RECON_PHYSICAL);
    assert_false(c.ev[0].ok);
    assert_int_equal(c.ev[0].started_at, 1700000000);
    assert_string_equal(c.ev[0].plan, "p");
    assert_true(c.ev[1].ok);
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"{\"event_id\":\"p\",\"imsi\":\"001010000000001\",\"timestamp\":1}\n", "needs its iccid"},
        {"[1]\n", "not a JSON object"},
        {"{\"event_id\":\"p\"\n", "JSON"},
        {"{\"event_id\":\"p\",\"event_id\":\"q\",\"iccid\":\"8944100000000000001\","
         "\"timestamp\":1}\n",
         "JSON"},
        {"{\"event_id\":7,\"iccid\":\"8944100000000000001\",\"timestamp\":1}\n", "wrong type"},
        {"{\"event_id\":\"p\",\"iccid\":\"8944100000000000001\",\"timestamp\":-1}\n", "wrong type"},
        {"{\"event_id\":\"p\",\"iccid\":\"8944100000000000001\",\"timestamp\":1,\"x\":1}\n",
         "unknown field"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(RSP_RECON_JSONL, RSP_RECON_PHYSICAL, bad[i].text, &c, err, sizeof err);
        if (rc != RSP_ESYNTAX)
            fail_msg("case %zu: %d", i, rc);
        if (!strstr(err, bad[i].why))
            fail_msg("case %zu: '%s' does not say '%s'", i, err, bad[i].why);
    }
}

static void check_findings(const struct recon_gen *g, const struct rsp_recon_finding *f, size_t n,
                           const size_t counts[RSP_DISC_NKINDS])
{
    for (int k = 0; k < RSP_DISC_NKINDS; k++) {
        print_message("# %-24s planted %zu, found %zu\n", rsp_recon_disc_name(k), g->counts[k],
                      counts[k]);
        assert_true(g->counts[k] > 0); /* every kind is planted */
        assert_int_equal(counts[k], g->counts[k]);
    }
    assert_int_equal(n, g->nexpect);
    for (size_t i = 0; i < n; i++) {
        if (f[i].kind != g->expect[i].kind || strcmp(f[i].subject, g->expect[i].subject) != 0)
            fail_msg("finding %zu: %s %s, planted %s %s", i, rsp_recon_disc_name(f[i].kind),
                     f[i].subject, rsp_recon_disc_name(g->expect[i].kind), g->expect[i].subject);
    }
}

static void test_match_generated(void **state)
{
    (void)state;
    struct recon_gen g;
    assert_int_equal(recon_gen_make(50000, 7, 1800000000, &g), 0);
    assert_true(g.nev >= 100000);
    print_message("# %zu profiles, %zu events\n", g.np, g.nev);
    for (unsigned long seed = 7; seed <= 8; seed++) {
        if (seed == 8) { /* the same data in another order */
            recon_gen_free(&g);
            assert_int_equal(recon_gen_make(50000, seed, 1800000000, &g), 0);
        }
        struct rsp_recon *r;
        assert_int_equal(rsp_recon_new(g.p, g.np, &r), 0);
        for (size_t i = 0; i < g.nev; i++)
            assert_int_equal(rsp_recon_add_event(r, &g.ev[i]), 0);
        struct rsp_recon_finding *f;
        size_t n, counts[RSP_DISC_NKINDS];
        assert_int_equal(rsp_recon_findings(r, &g.prm, &f, &n, counts), 0);
        check_findings(&g, f, n, counts);
        /* details of one of each */
        for (size_t i = 0; i < n; i++) {
            if (f[i].kind == RSP_DISC_TARIFF_MISMATCH) {
                assert_string_equal(f[i].seen, "plan-premium");
                assert_true(strncmp(f[i].expected, "plan-", 5) == 0);
            }
            if (f[i].kind == RSP_DISC_IMSI_MISMATCH)
                assert_string_not_equal(f[i].seen, f[i].expected);
        }
        free(f);
        rsp_recon_free(r);
    }
    recon_gen_free(&g);
}

/* Without tariffs (no order data) nothing is a tariff mismatch; re-fed events (a re-import) count
 * events, not discrepancies. */
static void test_match_edges(void **state)
{
    (void)state;
    struct recon_gen g;
    assert_int_equal(recon_gen_make(20000, 3, 1800000000, &g), 0);
    for (size_t i = 0; i < g.np; i++)
        g.p[i].tariff[0] = 0;
    struct rsp_recon *r;
    assert_int_equal(rsp_recon_new(g.p, g.np, &r), 0);
    for (int twice = 0; twice < 2; twice++)
        for (size_t i = 0; i < g.nev; i++)
            assert_int_equal(rsp_recon_add_event(r, &g.ev[i]), 0);
    struct rsp_recon_finding *f;
    size_t n, counts[RSP_DISC_NKINDS];
    assert_int_equal(rsp_recon_findings(r, &g.prm, &f, &n, counts), 0);
    assert_int_equal(counts[RSP_DISC_TARIFF_MISMATCH], 0);
    for (int k = 0; k < RSP_DISC_NKINDS; k++)
        if (k != RSP_DISC_TARIFF_MISMATCH)
            assert_int_equal(counts[k], g.counts[k]);
    free(f);
    /* a tariff set afterwards is compared */
    assert_int_equal(rsp_recon_set_tariff(r, "8944099999999999999", "x"), RSP_ENOTFOUND);
    rsp_recon_free(r);
    recon_gen_free(&g);
    /* an empty matcher finds nothing */
    struct rsp_recon_params prm = {1800000000, 1, 1, 1};
    assert_int_equal(rsp_recon_new(NULL, 0, &r), 0);
    assert_int_equal(rsp_recon_findings(r, &prm, &f, &n, counts), 0);
    assert_int_equal(n, 0);
    free(f);
    rsp_recon_free(r);
}

static void test_names(void **state)
{
    (void)state;
    for (int k = 0; k < RSP_DISC_NKINDS; k++) {
        enum rsp_recon_disc d;
        assert_int_equal(rsp_recon_disc_from_name(rsp_recon_disc_name(k), &d), 0);
        assert_int_equal(d, k);
    }
    for (int k = 0; k < RSP_FAIL_NKINDS; k++) {
        enum rsp_fail_kind d;
        assert_int_equal(rsp_fail_kind_from_name(rsp_fail_kind_name(k), &d), 0);
        assert_int_equal(d, k);
    }
    enum rsp_recon_disc d;
    assert_int_equal(rsp_recon_disc_from_name("billed", &d), RSP_ESYNTAX);
    int64_t t;
    assert_int_equal(rsp_recon_parse_time("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(rsp_recon_parse_time("2026-11-26T03:00:00Z", &t), 0);
    assert_int_equal(t, 1795662000);
    assert_int_equal(rsp_recon_parse_time("2026-11-26T03:00:00", &t), RSP_ESYNTAX);
    assert_int_equal(rsp_recon_parse_time("1234567890123", &t), RSP_ESYNTAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_csv),       cmocka_unit_test(test_parse_jsonl),
        cmocka_unit_test(test_match_generated), cmocka_unit_test(test_match_edges),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests_name("recon", tests, NULL, NULL);
}
