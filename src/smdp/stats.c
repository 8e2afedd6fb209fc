/* Two-sample statistics (rsp/stats.h): pure arithmetic on copies of the samples. */
#include "rsp/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

static double *sorted_copy(const double *v, size_t n)
{
    double *c = malloc(n * sizeof *c);
    if (!c)
        return NULL;
    memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_double);
    return c;
}

double rsp_stat_quantile(const double *s, size_t n, double q)
{
    if (n == 0)
        return NAN;
    if (q <= 0)
        return s[0];
    if (q >= 1)
        return s[n - 1];
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    double f = pos - (double)i;
    return i + 1 < n ? s[i] + f * (s[i + 1] - s[i]) : s[i];
}

int rsp_stat_mann_whitney(const double *a, size_t n, const double *b, size_t m,
                          struct rsp_stat_result *out)
{
    if (!a || !b || !out || n == 0 || m == 0)
        return RSP_EINVAL;
    size_t N = n + m;
    struct item {
        double v;
        int from_a;
    } *all = malloc(N * sizeof *all);
    if (!all)
        return RSP_ENOMEM;
    for (size_t i = 0; i < n; i++)
        all[i] = (struct item){a[i], 1};
    for (size_t j = 0; j < m; j++)
        all[n + j] = (struct item){b[j], 0};
    qsort(all, N, sizeof *all, cmp_double); /* compares the leading double */
    /* mid-ranks; the tie term sum(t^3 - t) */
    double rank_sum_a = 0, ties = 0;
    for (size_t i = 0; i < N;) {
        size_t j = i;
        while (j + 1 < N && all[j + 1].v == all[i].v)
            j++;
        double mid = ((double)i + (double)j) / 2.0 + 1.0;
        double t = (double)(j - i + 1);
        ties += t * t * t - t;
        for (size_t k = i; k <= j; k++)
            if (all[k].from_a)
                rank_sum_a += mid;
        i = j + 1;
    }
    free(all);
    double dn = (double)n, dm = (double)m, dN = (double)N;
    double u = rank_sum_a - dn * (dn + 1) / 2.0;
    double mu = dn * dm / 2.0;
    double var = dn * dm / 12.0 * ((dN + 1) - ties / (dN * (dN - 1)));
    out->statistic = u;
    if (var <= 0) { /* every value equal */
        out->p = 1.0;
        return 0;
    }
    double z = (fabs(u - mu) - 0.5) / sqrt(var);
    if (z < 0)
        z = 0;
    out->p = erfc(z / sqrt(2.0));
    if (out->p > 1)
        out->p = 1;
    return 0;
}

double rsp_stat_kolmogorov_q(double lambda)
{
    if (lambda < 0.2)
        return 1.0; /* the series converges slowly here; Q is 1 to 1e-9 */
    double sum = 0, sign = 1;
    for (int k = 1; k <= 200; k++) {
        double term = sign * exp(-2.0 * (double)k * (double)k * lambda * lambda);
        sum += term;
        if (fabs(term) < 1e-17)
            break;
        sign = -sign;
    }
    double q = 2.0 * sum;
    return q < 0 ? 0 : q > 1 ? 1 : q;
}

int rsp_stat_ks2(const double *a, size_t n, const double *b, size_t m, struct rsp_stat_result *out)
{
    if (!a || !b || !out || n == 0 || m == 0)
        return RSP_EINVAL;
    double *x = sorted_copy(a, n), *y = sorted_copy(b, m);
    if (!x || !y) {
        free(x);
        free(y);
        return RSP_ENOMEM;
    }
    size_t i = 0, j = 0;
    double d = 0;
    while (i < n && j < m) {
        double v = x[i] < y[j] ? x[i] : y[j];
        while (i < n && x[i] == v)
            i++;
        while (j < m && y[j] == v)
            j++;
        double diff = fabs((double)i / (double)n - (double)j / (double)m);
        if (diff > d)
            d = diff;
    }
    free(x);
    free(y);
    double ne = (double)n * (double)m / (double)(n + m);
    double sq = sqrt(ne);
    out->statistic = d;
    out->p = rsp_stat_kolmogorov_q((sq + 0.12 + 0.11 / sq) * d);
    return 0;
}

int rsp_stat_two_proportions(size_t x1, size_t n1, size_t x2, size_t n2,
                             struct rsp_stat_result *out)
{
    if (!out || n1 == 0 || n2 == 0 || x1 > n1 || x2 > n2)
        return RSP_EINVAL;
    double p1 = (double)x1 / (double)n1, p2 = (double)x2 / (double)n2;
    double p = (double)(x1 + x2) / (double)(n1 + n2);
    double se = sqrt(p * (1 - p) * (1.0 / (double)n1 + 1.0 / (double)n2));
    if (se == 0) {
        out->statistic = 0;
        out->p = 1.0;
        return 0;
    }
    out->statistic = (p1 - p2) / se;
    out->p = erfc(fabs(out->statistic) / sqrt(2.0));
    return 0;
}
