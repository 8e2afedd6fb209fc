/* rsp-impair parameters, control-file parser, draws and per-connection plans (no sockets: the
 * proxy itself is tested with real processes in tests/e2e/impair_e2e.c). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/impair.h"

static void test_defaults(void **state)
{
    struct rsp_impair_params p;
    rsp_impair_params_default(&p);
    for (int d = 0; d < 2; d++) {
        assert_int_equal(p.dir[d].latency_ms, 0);
        assert_int_equal(p.dir[d].rate, 0);
        assert_int_equal(p.dir[d].reset_after, 0);
        assert_true(p.dir[d].stall_prob == 0);
    }
    assert_true(p.drop_fraction == 0);
    assert_int_equal(p.drop_min, 1);
    assert_int_equal(p.drop_max, 65536);
    assert_int_equal(p.drop_dir, RSP_IMPAIR_DROP_DIR_BOTH);
    assert_int_equal(p.drop_mode, RSP_IMPAIR_DROP_RESET);
    assert_int_equal(p.network, RSP_IMPAIR_NET_UP);
    char err[200];
    assert_int_equal(rsp_impair_params_check(&p, err, sizeof err), 0);
}

static void test_set_keys(void **state)
{
    struct rsp_impair_params p;
    rsp_impair_params_default(&p);
    char err[200];
    assert_int_equal(rsp_impair_params_set(&p, "latency", "120", err, sizeof err), 0);
    assert_int_equal(p.dir[RSP_IMPAIR_C2S].latency_ms, 120);
    assert_int_equal(p.dir[RSP_IMPAIR_S2C].latency_ms, 120);
    assert_int_equal(rsp_impair_params_set(&p, "s2c.latency", "7", err, sizeof err), 0);
    assert_int_equal(p.dir[RSP_IMPAIR_C2S].latency_ms, 120);
    assert_int_equal(p.dir[RSP_IMPAIR_S2C].latency_ms, 7);
    assert_int_equal(rsp_impair_params_set(&p, "c2s.rate", "1000000", err, sizeof err), 0);
    assert_int_equal(p.dir[RSP_IMPAIR_C2S].rate, 1000000);
    assert_int_equal(p.dir[RSP_IMPAIR_S2C].rate, 0);
    assert_int_equal(rsp_impair_params_set(&p, "jitter_dist", "normal", err, sizeof err), 0);
    assert_int_equal(p.dir[0].jitter_dist, RSP_IMPAIR_JITTER_NORMAL);
    assert_int_equal(p.dir[1].jitter_dist, RSP_IMPAIR_JITTER_NORMAL);
    assert_int_equal(rsp_impair_params_set(&p, "stall_prob", "0.25", err, sizeof err), 0);
    assert_true(p.dir[0].stall_prob == 0.25);
    assert_int_equal(rsp_impair_params_set(&p, "stall_prob", ".5", err, sizeof err), 0);
    assert_true(p.dir[1].stall_prob == 0.5);
    assert_int_equal(rsp_impair_params_set(&p, "s2c.reset_after", "12345", err, sizeof err), 0);
    assert_int_equal(p.dir[RSP_IMPAIR_S2C].reset_after, 12345);
    assert_int_equal(rsp_impair_params_set(&p, "drop_fraction", "1", err, sizeof err), 0);
    assert_true(p.drop_fraction == 1.0);
    assert_int_equal(rsp_impair_params_set(&p, "drop_range", "100-1000", err, sizeof err), 0);
    assert_int_equal(p.drop_min, 100);
    assert_int_equal(p.drop_max, 1000);
    assert_int_equal(rsp_impair_params_set(&p, "drop_dir", "c2s", err, sizeof err), 0);
    assert_int_equal(p.drop_dir, RSP_IMPAIR_DROP_DIR_C2S);
    assert_int_equal(rsp_impair_params_set(&p, "drop_mode", "hang", err, sizeof err), 0);
    assert_int_equal(p.drop_mode, RSP_IMPAIR_DROP_HANG);
    assert_int_equal(rsp_impair_params_set(&p, "refuse_first", "3", err, sizeof err), 0);
    assert_int_equal(p.refuse_first, 3);
    assert_int_equal(rsp_impair_params_set(&p, "network", "blackhole", err, sizeof err), 0);
    assert_int_equal(p.network, RSP_IMPAIR_NET_BLACKHOLE);
    assert_int_equal(rsp_impair_params_set(&p, "tag", "step 2", err, sizeof err), 0);
    assert_string_equal(p.tag, "step 2");
    assert_int_equal(rsp_impair_params_set(&p, "tag", "", err, sizeof err), 0);
    assert_string_equal(p.tag, "");
    assert_int_equal(rsp_impair_params_set_kv(&p, "stall_ms=250", err, sizeof err), 0);
    assert_int_equal(p.dir[0].stall_ms, 250);
    assert_int_equal(rsp_impair_params_set_kv(&p, "drop_min=5", err, sizeof err), 0);
    assert_int_equal(p.drop_min, 5);
}

/* Every refusal leaves the parameters exactly as they were and says why. */
static void test_set_refusals(void **state)
{
    static const struct {
        const char *key, *value;
        int rc;
    } bad[] = {
        {"latncy", "5", RSP_EINVAL},
        {"c2s.drop_fraction", "0.1", RSP_EINVAL},
        {"x2y.latency", "5", RSP_EINVAL},
        {"c2s.", "5", RSP_EINVAL},
        {"latency", "", RSP_ESYNTAX},
        {"latency", "-1", RSP_ESYNTAX},
        {"latency", "+1", RSP_ESYNTAX},
        {"latency", " 1", RSP_ESYNTAX},
        {"latency", "1ms", RSP_ESYNTAX},
        {"latency", "3600001", RSP_ERANGE},
        {"latency", "99999999999999999999999", RSP_ERANGE},
        {"rate", "1000000000001", RSP_ERANGE},
        {"reset_after", "1125899906842625", RSP_ERANGE},
        {"stall_prob", "1.5", RSP_ERANGE},
        {"stall_prob", "-0.1", RSP_ESYNTAX},
        {"stall_prob", "1e-3", RSP_ESYNTAX},
        {"stall_prob", "0.3.1", RSP_ESYNTAX},
        {"stall_prob", ".", RSP_ESYNTAX},
        {"drop_fraction", "nan", RSP_ESYNTAX},
        {"jitter_dist", "gauss", RSP_ESYNTAX},
        {"network", "UP", RSP_ESYNTAX},
        {"drop_dir", "up", RSP_ESYNTAX},
        {"drop_mode", "fin", RSP_ESYNTAX},
        {"drop_range", "1000-100", RSP_ERANGE},
        {"drop_range", "-100", RSP_ESYNTAX},
        {"drop_range", "100-", RSP_ESYNTAX},
        {"drop_range", "100", RSP_ESYNTAX},
        {"drop_range", "1-2-3", RSP_ESYNTAX},
        {"refuse_first", "1000000001", RSP_ERANGE},
        {"tag", "0123456789012345678901234567890123456789012345678901234567890123", RSP_ERANGE},
        {"tag", "a\tb", RSP_ESYNTAX},
        {"tag", "caf\xc3\xa9", RSP_ESYNTAX},
    };
    struct rsp_impair_params p, before;
    rsp_impair_params_default(&p);
    char err[200];
    assert_int_equal(rsp_impair_params_set(&p, "latency", "42", err, sizeof err), 0);
    before = p;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        int rc = rsp_impair_params_set(&p, bad[i].key, bad[i].value, err, sizeof err);
        if (rc != bad[i].rc)
            fail_msg("%s=%s: %d, want %d (%s)", bad[i].key, bad[i].value, rc, bad[i].rc, err);
        assert_true(err[0] != 0);
        assert_memory_equal(&p, &before, sizeof p);
    }
    assert_int_equal(rsp_impair_params_set_kv(&p, "latency", err, sizeof err), RSP_ESYNTAX);
    assert_int_equal(rsp_impair_params_set_kv(&p, "=5", err, sizeof err), RSP_ESYNTAX);
    assert_int_equal(rsp_impair_params_set_kv(&p, NULL, err, sizeof err), RSP_EINVAL);
    assert_memory_equal(&p, &before, sizeof p);
    /* a message names the key and what was expected */
    rsp_impair_params_set(&p, "s2c.rate", "fast", err, sizeof err);
    assert_non_null(strstr(err, "s2c.rate"));
    assert_non_null(strstr(err, "bytes per second"));
}

static void test_check(void **state)
{
    struct rsp_impair_params p;
    rsp_impair_params_default(&p);
    char err[200];
    p.drop_min = 10;
    p.drop_max = 5;
    assert_int_equal(rsp_impair_params_check(&p, err, sizeof err), RSP_ERANGE);
    assert_non_null(strstr(err, "drop_min"));
    p.drop_min = 0;
    p.drop_max = 5;
    assert_int_equal(rsp_impair_params_check(&p, err, sizeof err), 0);
    p.drop_fraction = 0.5;
    assert_int_equal(rsp_impair_params_check(&p, err, sizeof err), RSP_ERANGE);
}

static void test_control_file(void **state)
{
    struct rsp_impair_params p;
    rsp_impair_params_default(&p);
    char err[200];
    const char *text = "# a control file\n"
                       "\n"
                       "network = down\r\n"
                       "  s2c.latency=800  \n"
                       "\tdrop_fraction=0.3\n"
                       "drop_range=200-6000\n"
                       "tag=after # not a comment\n"
                       "c2s.rate=0"; /* no final newline */
    assert_int_equal(rsp_impair_params_parse(&p, text, strlen(text), err, sizeof err), 0);
    assert_int_equal(p.network, RSP_IMPAIR_NET_DOWN);
    assert_int_equal(p.dir[RSP_IMPAIR_S2C].latency_ms, 800);
    assert_int_equal(p.dir[RSP_IMPAIR_C2S].latency_ms, 0);
    assert_true(p.drop_fraction == 0.3);
    assert_int_equal(p.drop_min, 200);
    assert_int_equal(p.drop_max, 6000);
    assert_string_equal(p.tag, "after # not a comment");
    /* the empty file changes nothing */
    struct rsp_impair_params before = p;
    assert_int_equal(rsp_impair_params_parse(&p, "", 0, err, sizeof err), 0);
    assert_memory_equal(&p, &before, sizeof p);
}

/* A bad control file is refused whole: nothing of its good lines is applied. */
static void test_control_file_all_or_nothing(void **state)
{
    struct rsp_impair_params p, before;
    rsp_impair_params_default(&p);
    before = p;
    char err[200];
    const char *bad1 = "network=down\nlatency=100\nlatency=abc\n";
    assert_int_equal(rsp_impair_params_parse(&p, bad1, strlen(bad1), err, sizeof err), RSP_ESYNTAX);
    assert_non_null(strstr(err, "line 3"));
    assert_memory_equal(&p, &before, sizeof p);
    const char *bad2 = "network=down\njust words\n";
    assert_int_equal(rsp_impair_params_parse(&p, bad2, strlen(bad2), err, sizeof err), RSP_ESYNTAX);
    assert_non_null(strstr(err, "line 2"));
    assert_memory_equal(&p, &before, sizeof p);
    /* consistency across lines */
    const char *bad3 = "drop_min=900\ndrop_max=100\n";
    assert_int_equal(rsp_impair_params_parse(&p, bad3, strlen(bad3), err, sizeof err), RSP_ERANGE);
    assert_memory_equal(&p, &before, sizeof p);
    /* bounds: a long line, a NUL byte, an oversized file */
    char line[600];
    memset(line, 'a', sizeof line);
    memcpy(line, "tag=", 4);
    line[sizeof line - 1] = '\n';
    assert_int_equal(rsp_impair_params_parse(&p, line, sizeof line, err, sizeof err), RSP_ERANGE);
    assert_int_equal(rsp_impair_params_parse(&p, "tag=a\0b\n", 8, err, sizeof err), RSP_ESYNTAX);
    static char big[RSP_IMPAIR_CONTROL_MAX + 2];
    memset(big, '\n', sizeof big);
    assert_int_equal(rsp_impair_params_parse(&p, big, sizeof big, err, sizeof err), RSP_ERANGE);
    assert_int_equal(rsp_impair_params_parse(&p, big, RSP_IMPAIR_CONTROL_MAX, err, sizeof err), 0);
    assert_memory_equal(&p, &before, sizeof p);
}

static void test_hostport(void **state)
{
    char h[64];
    uint16_t port = 1;
    assert_int_equal(rsp_impair_split_hostport("127.0.0.1:8443", h, sizeof h, &port), 0);
    assert_string_equal(h, "127.0.0.1");
    assert_int_equal(port, 8443);
    assert_int_equal(rsp_impair_split_hostport("[::1]:0", h, sizeof h, &port), 0);
    assert_string_equal(h, "::1");
    assert_int_equal(port, 0);
    assert_int_equal(rsp_impair_split_hostport("localhost:65535", h, sizeof h, &port), 0);
    assert_string_equal(h, "localhost");
    assert_int_equal(port, 65535);
    const char *bad[] = {"localhost", ":80",     "h:",   "h:65536", "h:-1",
                         "::1:80",    "[::1]80", "[::1", "h:8x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        port = 7;
        if (rsp_impair_split_hostport(bad[i], h, sizeof h, &port) == 0)
            fail_msg("'%s' accepted", bad[i]);
        assert_int_equal(port, 7);
    }
    assert_int_equal(rsp_impair_split_hostport("abcdefghij:1", h, 5, &port), RSP_ERANGE);
}

static void test_rng(void **state)
{
    struct rsp_impair_rng a, b, c;
    rsp_impair_rng_init(&a, 42, 7);
    rsp_impair_rng_init(&b, 42, 7);
    rsp_impair_rng_init(&c, 42, 8);
    int same_ab = 0, same_ac = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = rsp_impair_rng_u64(&a), y = rsp_impair_rng_u64(&b), z = rsp_impair_rng_u64(&c);
        same_ab += x == y;
        same_ac += x == z;
    }
    assert_int_equal(same_ab, 1000);
    assert_int_equal(same_ac, 0);
    /* unit in [0, 1), range within bounds, both ends reached, roughly uniform */
    unsigned hist[10] = {0};
    for (int i = 0; i < 20000; i++) {
        double u = rsp_impair_rng_unit(&a);
        assert_true(u >= 0 && u < 1);
        uint64_t r = rsp_impair_rng_range(&a, 10, 19);
        assert_true(r >= 10 && r <= 19);
        hist[r - 10]++;
    }
    for (int i = 0; i < 10; i++) /* mean 2000, sd ~42: +-300 is over 7 sd */
        assert_in_range(hist[i], 1700, 2300);
    assert_int_equal(rsp_impair_rng_range(&a, 5, 5), 5);
    assert_int_equal(rsp_impair_rng_range(&a, 9, 3), 9);
    uint64_t full = rsp_impair_rng_range(&a, 0, UINT64_MAX);
    (void)full; /* the whole range is allowed (no division by a zero span) */
}

static void test_delay(void **state)
{
    struct rsp_impair_rng r;
    rsp_impair_rng_init(&r, 1, 1);
    struct rsp_impair_dir_params d = {.latency_ms = 100};
    for (int i = 0; i < 100; i++)
        assert_int_equal(rsp_impair_delay_ms(&d, &r), 100);
    d.jitter_ms = 30;
    unsigned lo = 1000, hi = 0;
    for (int i = 0; i < 5000; i++) {
        unsigned x = rsp_impair_delay_ms(&d, &r);
        assert_in_range(x, 70, 130);
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
    }
    assert_true(lo <= 72 && hi >= 128); /* the whole interval is used */
    /* never below zero */
    d.latency_ms = 10;
    d.jitter_ms = 50;
    for (int i = 0; i < 1000; i++)
        assert_in_range(rsp_impair_delay_ms(&d, &r), 0, 60);
    /* normal: within 3 sd, mean close to the latency, sd close to the jitter */
    d.latency_ms = 500;
    d.jitter_ms = 40;
    d.jitter_dist = RSP_IMPAIR_JITTER_NORMAL;
    double sum = 0, sq = 0;
    const int n = 20000;
    for (int i = 0; i < n; i++) {
        unsigned x = rsp_impair_delay_ms(&d, &r);
        assert_in_range(x, 380, 620);
        sum += x;
        sq += (double)x * x;
    }
    double mean = sum / n, sd = sqrt(sq / n - mean * mean);
    assert_true(fabs(mean - 500) < 3);
    assert_true(sd > 36 && sd < 44);
}

/* The drop fraction for a fixed seed lies within a binomial tolerance, offsets stay in range,
 * the plan depends only on (seed, index), and the direction follows drop_dir. */
static void test_plan(void **state)
{
    struct rsp_impair_params p;
    rsp_impair_params_default(&p);
    struct rsp_impair_plan pl;
    for (uint64_t i = 1; i <= 1000; i++) {
        rsp_impair_plan_conn(&p, 42, i, &pl);
        assert_false(pl.drop);
    }
    p.drop_fraction = 1;
    p.drop_min = 100;
    p.drop_max = 1000;
    for (uint64_t i = 1; i <= 1000; i++) {
        rsp_impair_plan_conn(&p, 42, i, &pl);
        assert_true(pl.drop);
        assert_in_range(pl.drop_at, 100, 1000);
    }
    p.drop_fraction = 0.3;
    const unsigned n = 10000;
    unsigned dropped = 0, s2c = 0;
    for (uint64_t i = 1; i <= n; i++) {
        rsp_impair_plan_conn(&p, 42, i, &pl);
        if (pl.drop) {
            dropped++;
            s2c += pl.drop_in == RSP_IMPAIR_S2C;
        }
    }
    /* binomial(10000, 0.3): mean 3000, sd 45.8; 4 sd */
    assert_in_range(dropped, 3000 - 184, 3000 + 184);
    /* drop_dir both: about half each way (binomial(~3000, 0.5), sd ~27; 5 sd) */
    assert_in_range(s2c, dropped / 2 - 140, dropped / 2 + 140);
    /* same seed, same plan; the range does not change which connections drop */
    struct rsp_impair_params q = p;
    q.drop_max = 5000;
    q.drop_dir = RSP_IMPAIR_DROP_DIR_C2S;
    unsigned differ_seed = 0;
    for (uint64_t i = 1; i <= 2000; i++) {
        struct rsp_impair_plan a, b, c, e;
        rsp_impair_plan_conn(&p, 42, i, &a);
        rsp_impair_plan_conn(&p, 42, i, &b);
        assert_memory_equal(&a, &b, sizeof a);
        rsp_impair_plan_conn(&q, 42, i, &c);
        assert_int_equal(a.drop, c.drop);
        if (c.drop)
            assert_int_equal(c.drop_in, RSP_IMPAIR_C2S);
        rsp_impair_plan_conn(&p, 43, i, &e);
        differ_seed += a.drop != e.drop;
    }
    assert_true(differ_seed > 300); /* another seed is another run (2*0.3*0.7 = 42% differ) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),     cmocka_unit_test(test_set_keys),
        cmocka_unit_test(test_set_refusals), cmocka_unit_test(test_check),
        cmocka_unit_test(test_control_file), cmocka_unit_test(test_control_file_all_or_nothing),
        cmocka_unit_test(test_hostport),     cmocka_unit_test(test_rng),
        cmocka_unit_test(test_delay),        cmocka_unit_test(test_plan),
    };
    return cmocka_run_group_tests_name("impair", tests, NULL, NULL);
}
