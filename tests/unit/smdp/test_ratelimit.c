/* Token-bucket rate limiter (src/smdp/ratelimit.c): burst, refill, Retry-After, separate keys,
 * bounded table with LRU replacement, bad parameters. Times are explicit (no clock). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rsp/err.h"
#include "rsp/ratelimit.h"

static void test_burst_then_refill(void **state)
{
    (void)state;
    struct rsp_ratelimit *rl = NULL;
    assert_int_equal(rsp_ratelimit_new(60, 3, 16, &rl), 0); /* one a second, burst 3 */
    unsigned ra = 99;
    for (int i = 0; i < 3; i++)
        assert_true(rsp_ratelimit_take(rl, "10.0.0.1", 100.0, &ra));
    assert_int_equal(ra, 0);
    assert_false(rsp_ratelimit_take(rl, "10.0.0.1", 100.0, &ra));
    assert_int_equal(ra, 1);
    /* half a token later: still refused, one second to wait at most */
    assert_false(rsp_ratelimit_take(rl, "10.0.0.1", 100.5, &ra));
    assert_int_equal(ra, 1);
    assert_true(rsp_ratelimit_take(rl, "10.0.0.1", 101.6, &ra));
    assert_false(rsp_ratelimit_take(rl, "10.0.0.1", 101.6, &ra));
    /* a long pause refills to the burst, never beyond */
    for (int i = 0; i < 3; i++)
        assert_true(rsp_ratelimit_take(rl, "10.0.0.1", 1000.0, NULL));
    assert_false(rsp_ratelimit_take(rl, "10.0.0.1", 1000.0, NULL));
    /* another key has its own bucket */
    assert_true(rsp_ratelimit_take(rl, "10.0.0.2", 1000.0, NULL));
    rsp_ratelimit_free(rl);
}

static void test_retry_after_slow_rate(void **state)
{
    (void)state;
    struct rsp_ratelimit *rl = NULL;
    assert_int_equal(rsp_ratelimit_new(2, 1, 4, &rl), 0); /* one every 30 s */
    unsigned ra = 0;
    assert_true(rsp_ratelimit_take(rl, "MID-1", 0.0, &ra));
    assert_false(rsp_ratelimit_take(rl, "MID-1", 0.0, &ra));
    assert_int_equal(ra, 30);
    assert_false(rsp_ratelimit_take(rl, "MID-1", 20.0, &ra));
    assert_int_equal(ra, 10);
    assert_true(rsp_ratelimit_take(rl, "MID-1", 30.0, &ra));
    rsp_ratelimit_free(rl);
}

static void test_bounded_table(void **state)
{
    (void)state;
    struct rsp_ratelimit *rl = NULL;
    assert_int_equal(rsp_ratelimit_new(1, 1, 8, &rl), 0);
    char key[32];
    /* many more keys than slots: every new key is admitted once (it replaces the least recently
     * used bucket), the memory stays the table's */
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_true(rsp_ratelimit_take(rl, key, (double)i, NULL));
    }
    /* the most recent key is still limited */
    assert_false(rsp_ratelimit_take(rl, "k999", 999.0, NULL));
    /* long keys are cut, NULL is the empty key */
    char longkey[200];
    memset(longkey, 'x', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = 0;
    assert_true(rsp_ratelimit_take(rl, longkey, 2000.0, NULL));
    assert_false(rsp_ratelimit_take(rl, longkey, 2000.0, NULL));
    assert_true(rsp_ratelimit_take(rl, NULL, 2000.0, NULL));
    rsp_ratelimit_free(rl);
    /* no limiter: everything passes */
    assert_true(rsp_ratelimit_take(NULL, "a", 0.0, NULL));
}

static void test_bad_parameters(void **state)
{
    (void)state;
    struct rsp_ratelimit *rl = (struct rsp_ratelimit *)1;
    assert_int_equal(rsp_ratelimit_new(0, 1, 1, &rl), RSP_EINVAL);
    assert_null(rl);
    assert_int_equal(rsp_ratelimit_new(1, 0, 1, &rl), RSP_EINVAL);
    assert_int_equal(rsp_ratelimit_new(1, 1, 0, &rl), RSP_EINVAL);
    assert_int_equal(rsp_ratelimit_new(1, 1, (1u << 24) + 1, &rl), RSP_EINVAL);
    assert_int_equal(rsp_ratelimit_new(1, 1, 1, NULL), RSP_EINVAL);
    rsp_ratelimit_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refill),
        cmocka_unit_test(test_retry_after_slow_rate),
        cmocka_unit_test(test_bounded_table),
        cmocka_unit_test(test_bad_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
