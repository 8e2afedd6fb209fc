/* The CSV of rspctl profiles import --csv (src/ops/inventory_csv.c): lines, header, comments,
 * blanks, joined paths, errors with their line, bounds, the callback's code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rsp/err.h"
#include "rsp/inventory_csv.h"

struct got {
    char text[4096];
    int n, stop_at;
};

static int collect(void *ctx, const char *label, const char *pkg, const char *man)
{
    struct got *g = ctx;
    if (++g->n == g->stop_at)
        return RSP_ENOMEM;
    size_t l = strlen(g->text);
    snprintf(g->text + l, sizeof g->text - l, "%s|%s|%s\n", label, pkg, man);
    return 0;
}

static int parse(const char *text, struct got *g, size_t *line)
{
    memset(g->text, 0, sizeof g->text);
    g->n = 0;
    return rsp_inventory_csv_parse(text, strlen(text), "/in", collect, g, line);
}

static void test_lines(void **state)
{
    (void)state;
    struct got g = {.stop_at = 0};
    size_t line = 99;
    assert_int_equal(parse("package,manifest\n"
                           "# comment\n"
                           "\n"
                           "a.der,a.manifest\r\n"
                           "/abs/b.der,sub/b.manifest   \n"
                           "c.der,c.manifest", /* no newline at the end */
                           &g, &line),
                     0);
    assert_int_equal(line, 0);
    assert_string_equal(g.text, "line 4|/in/a.der|/in/a.manifest\n"
                                "line 5|/abs/b.der|/in/sub/b.manifest\n"
                                "line 6|/in/c.der|/in/c.manifest\n");
    /* the header only on the first line */
    assert_int_equal(parse("a.der,a.manifest\npackage,manifest\n", &g, &line), 0);
    assert_int_equal(g.n, 2);
    assert_int_equal(parse("", &g, &line), 0);
    assert_int_equal(g.n, 0);
}

static void test_errors(void **state)
{
    (void)state;
    struct got g = {.stop_at = 0};
    size_t line = 0;
    assert_int_equal(parse("a.der,a.manifest\nno-comma\n", &g, &line), RSP_ESYNTAX);
    assert_int_equal(line, 2);
    assert_int_equal(g.n, 1);
    assert_int_equal(parse("a,b,c\n", &g, &line), RSP_ESYNTAX);
    assert_int_equal(line, 1);
    static const char nul[] = "a.der,a\0.manifest\n";
    assert_int_equal(rsp_inventory_csv_parse(nul, sizeof nul - 1, "/in", collect, &g, &line),
                     RSP_ESYNTAX);
    /* the callback's code stops the parse */
    g.stop_at = 2;
    assert_int_equal(parse("a,b\nc,d\ne,f\n", &g, &line), RSP_ENOMEM);
    assert_int_equal(line, 2);
    assert_int_equal(g.n, 2);
    assert_int_equal(rsp_inventory_csv_parse(NULL, 1, "/in", collect, &g, &line), RSP_EINVAL);
}

static void test_bounds(void **state)
{
    (void)state;
    struct got g = {.stop_at = 0};
    size_t line = 0;
    char *t = malloc(RSP_INVENTORY_CSV_LINE_MAX + 2);
    assert_non_null(t);
    /* a line of exactly the limit (a comment) is read; one byte more is refused */
    memset(t, 'x', RSP_INVENTORY_CSV_LINE_MAX + 1);
    t[0] = '#';
    assert_int_equal(
        rsp_inventory_csv_parse(t, RSP_INVENTORY_CSV_LINE_MAX, "/in", collect, &g, &line), 0);
    assert_int_equal(
        rsp_inventory_csv_parse(t, RSP_INVENTORY_CSV_LINE_MAX + 1, "/in", collect, &g, &line),
        RSP_ERANGE);
    assert_int_equal(line, 1);
    /* a joined path of 1024 bytes does not fit (1023 does) */
    char p[1100];
    memset(p, 'p', sizeof p);
    p[0] = '/';
    memcpy(p + RSP_INVENTORY_CSV_PATH_MAX - 1, ",/m\n", 5);
    assert_int_equal(parse(p, &g, &line), 0);
    memset(p, 'p', sizeof p);
    p[0] = '/';
    memcpy(p + RSP_INVENTORY_CSV_PATH_MAX, ",/m\n", 5);
    assert_int_equal(parse(p, &g, &line), RSP_ERANGE);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
