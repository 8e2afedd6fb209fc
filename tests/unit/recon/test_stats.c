/* Parity statistics against reference values computed independently with SciPy 1.10.1
 * (Debian python3-scipy): scipy.stats.mannwhitneyu(a, b, alternative="two-sided",
 * method="asymptotic", use_continuity=True), scipy.stats.ks_2samp (statistic) with
 * scipy.stats.kstwobign.sf of the Stephens-adjusted lambda, and 2 * scipy.stats.norm.sf(|z|) of
 * the pooled two-proportion z. The generating expressions of the samples are in the tests. */
#include "testutil.h"

#include <math.h>

#include "rsp/err.h"
#include "rsp/stats.h"

#define CLOSE(x, want, rel)                                                                        \
    do {                                                                                           \
        double x_ = (x), w_ = (want);                                                              \
        if (fabs(x_ - w_) > (rel)*fabs(w_) + 1e-15)                                                \
            fail_msg("%s = %.17g, want %.17g", #x, x_, w_);                                        \
    } while (0)

static void test_mann_whitney(void **state)
{
    (void)state;
    static const double a[] = {12, 15, 15, 18, 21, 22, 30, 31, 45, 60, 61, 75};
    static const double b[] = {20, 25, 25, 33, 40, 41, 50, 55, 70, 80, 90, 95, 120, 130};
    struct rsp_stat_result r;
    assert_int_equal(rsp_stat_mann_whitney(a, 12, b, 14, &r), 0);
    CLOSE(r.statistic, 39.0, 0);
    CLOSE(r.p, 0.02204359054702918, 1e-9);
    /* larger samples with ties: x_i = (7919 i + 13) mod 1000, y_i = (104729 i + 7) mod 1200 */
    double x[400], y[300];
    for (int i = 0; i < 400; i++)
        x[i] = (double)((i * 7919 + 13) % 1000);
    for (int i = 0; i < 300; i++)
        y[i] = (double)((i * 104729 + 7) % 1200);
    assert_int_equal(rsp_stat_mann_whitney(x, 400, y, 300, &r), 0);
    CLOSE(r.statistic, 50473.5, 0);
    CLOSE(r.p, 0.0003207675777231435, 1e-9);
    /* heavy ties: x_i = i mod 5 (50), y_i = i mod 7 (60) */
    for (int i = 0; i < 50; i++)
        x[i] = (double)(i % 5);
    for (int i = 0; i < 60; i++)
        y[i] = (double)(i % 7);
    assert_int_equal(rsp_stat_mann_whitney(x, 50, y, 60, &r), 0);
    CLOSE(r.statistic, 1120.0, 0);
    CLOSE(r.p, 0.02100077173815257, 1e-9);
    /* all equal: no evidence of a difference */
    double same[3] = {5, 5, 5};
    assert_int_equal(rsp_stat_mann_whitney(same, 3, same, 3, &r), 0);
    CLOSE(r.p, 1.0, 0);
    assert_int_equal(rsp_stat_mann_whitney(a, 0, b, 14, &r), RSP_EINVAL);
}

static void test_ks(void **state)
{
    (void)state;
    static const double a[] = {12, 15, 15, 18, 21, 22, 30, 31, 45, 60, 61, 75};
    static const double b[] = {20, 25, 25, 33, 40, 41, 50, 55, 70, 80, 90, 95, 120, 130};
    struct rsp_stat_result r;
    assert_int_equal(rsp_stat_ks2(a, 12, b, 14, &r), 0);
    CLOSE(r.statistic, 0.45238095238095233, 1e-12);
    CLOSE(r.p, 0.10002623976251403, 1e-9);
    double x[400], y[300];
    for (int i = 0; i < 400; i++)
        x[i] = (double)((i * 7919 + 13) % 1000);
    for (int i = 0; i < 300; i++)
        y[i] = (double)((i * 104729 + 7) % 1200);
    assert_int_equal(rsp_stat_ks2(x, 400, y, 300, &r), 0);
    CLOSE(r.statistic, 0.16833333333333333, 1e-12);
    CLOSE(r.p, 9.967691926681981e-05, 1e-7);
    /* the Kolmogorov distribution itself */
    CLOSE(rsp_stat_kolmogorov_q(1.0), 0.26999967167735456, 1e-9);
    CLOSE(rsp_stat_kolmogorov_q(0.5), 0.9639452436648751, 1e-9);
    CLOSE(rsp_stat_kolmogorov_q(1.36), 0.049485876755377876, 1e-9);
    /* identical samples */
    assert_int_equal(rsp_stat_ks2(a, 12, a, 12, &r), 0);
    CLOSE(r.statistic, 0.0, 0);
    CLOSE(r.p, 1.0, 0);
}

static void test_two_proportions(void **state)
{
    (void)state;
    struct rsp_stat_result r;
    assert_int_equal(rsp_stat_two_proportions(60, 100, 45, 100, &r), 0);
    CLOSE(r.statistic, 2.1239769762143657, 1e-12);
    CLOSE(r.p, 0.033672068856345855, 1e-9);
    assert_int_equal(rsp_stat_two_proportions(930, 1000, 955, 1000, &r), 0);
    CLOSE(r.statistic, -2.4013220515859617, 1e-12);
    CLOSE(r.p, 0.016335952258418406, 1e-9);
    assert_int_equal(rsp_stat_two_proportions(5, 5, 5, 5, &r), 0);
    CLOSE(r.p, 1.0, 0);
    assert_int_equal(rsp_stat_two_proportions(6, 5, 5, 5, &r), RSP_EINVAL);
    assert_int_equal(rsp_stat_two_proportions(0, 0, 5, 5, &r), RSP_EINVAL);
}

static void test_quantile(void **state)
{
    (void)state;
    static const double s[] = {1, 2, 3, 4, 10};
    CLOSE(rsp_stat_quantile(s, 5, 0.5), 3.0, 0);
    CLOSE(rsp_stat_quantile(s, 5, 0.9), 7.6, 1e-12); /* numpy.percentile(s, 90) */
    CLOSE(rsp_stat_quantile(s, 5, 0.0), 1.0, 0);
    CLOSE(rsp_stat_quantile(s, 5, 1.0), 10.0, 0);
    assert_true(isnan(rsp_stat_quantile(s, 0, 0.5)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mann_whitney),
        cmocka_unit_test(test_ks),
        cmocka_unit_test(test_two_proportions),
        cmocka_unit_test(test_quantile),
    };
    return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
