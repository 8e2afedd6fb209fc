/* Two-sample statistics for the eSIM vs physical-SIM parity report (pure; rsp/recon.h). Each test
 * returns its statistic and a two-sided p-value; the caller compares p with its alpha. */
#ifndef RSP_STATS_H
#define RSP_STATS_H

#include <stddef.h>

struct rsp_stat_result {
    double statistic; /* U (of sample a), D, or z */
    double p;         /* two-sided p-value */
};

/* Mann-Whitney U test, normal approximation with tie correction and continuity correction (as
 * scipy.stats.mannwhitneyu(method="asymptotic")). U is the statistic of sample a. Needs n, m >= 1
 * (RSP_EINVAL); the arrays are not modified. */
int rsp_stat_mann_whitney(const double *a, size_t n, const double *b, size_t m,
                          struct rsp_stat_result *out);
/* Two-sample Kolmogorov-Smirnov test: D = sup |F_a - F_b|; p from the asymptotic Kolmogorov
 * distribution with the Stephens small-sample adjustment, lambda = (sqrt(ne) + 0.12 +
 * 0.11 / sqrt(ne)) * D, ne = n*m/(n+m). */
int rsp_stat_ks2(const double *a, size_t n, const double *b, size_t m, struct rsp_stat_result *out);
/* Two-proportion z-test (pooled): x1 of n1 against x2 of n2. */
int rsp_stat_two_proportions(size_t x1, size_t n1, size_t x2, size_t n2,
                             struct rsp_stat_result *out);
/* The q-quantile (0..1, linear interpolation between order statistics) of a sorted array. */
double rsp_stat_quantile(const double *sorted, size_t n, double q);
/* Kolmogorov survival function Q(lambda) = 2 sum_{k>=1} (-1)^(k-1) exp(-2 k^2 lambda^2). */
double rsp_stat_kolmogorov_q(double lambda);

#endif
