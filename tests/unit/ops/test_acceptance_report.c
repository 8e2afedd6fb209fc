/* Acceptance reports (src/ops/acceptance_report.c): JUnit XML and HTML from a run, counts and
 * summary, and escaping of hostile text (markup, quotes, control bytes, invalid UTF-8) so that no
 * field can break or inject into either document. The JUnit output is also checked by xmllint
 * (Debian libxml2-utils, in scripts/deps.sh). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/acceptance.h"
#include "rsp/err.h"

static void fill(struct rsp_accept_report *r)
{
    rsp_accept_report_init(r);
    snprintf(r->model, sizeof r->model, "Phone X");
    snprintf(r->tac, sizeof r->tac, "35290611");
    snprintf(r->target, sizeof r->target, "pcsc");
    snprintf(r->target_name, sizeof r->target_name, "rspkit lab vpcd 00 00");
    snprintf(r->eid, sizeof r->eid, "89049032123451234512345678901235");
    snprintf(r->eum, sizeof r->eum, "89049032");
    snprintf(r->svn, sizeof r->svn, "2.2.2");
    r->started_ms = 1700000000000;
    r->finished_ms = 1700000003500;
    struct rsp_accept_step *s = rsp_accept_step_add(r, "euicc-info");
    s->seconds = 0.25;
    s = rsp_accept_step_add(r, "download");
    s->seconds = 2.5;
    s->outcome = RSP_ACCEPT_FAIL;
    snprintf(s->message, sizeof s->message, "refused by the SM-DP+: 8.2.1/3.8");
    s = rsp_accept_step_add(r, "enable");
    s->outcome = RSP_ACCEPT_SKIP;
    snprintf(s->message, sizeof s->message, "not run: download failed");
}

static bool contains(const struct rsp_buf *b, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= b->len; i++)
        if (memcmp(b->data + i, needle, n) == 0)
            return true;
    return false;
}

static size_t count(const struct rsp_buf *b, const char *needle)
{
    size_t n = strlen(needle), c = 0;
    for (size_t i = 0; i + n <= b->len; i++)
        if (memcmp(b->data + i, needle, n) == 0)
            c++;
    return c;
}

/* Valid UTF-8 throughout (every replacement is U+FFFD). */
static bool utf8_ok(const struct rsp_buf *b)
{
    size_t i = 0;
    while (i < b->len) {
        unsigned char c = b->data[i];
        size_t n = c < 0x80             ? 1
                   : (c & 0xE0) == 0xC0 ? 2
                   : (c & 0xF0) == 0xE0 ? 3
                   : (c & 0xF8) == 0xF0 ? 4
                                        : 0;
        if (!n || i + n > b->len)
            return false;
        for (size_t k = 1; k < n; k++)
            if ((b->data[i + k] & 0xC0) != 0x80)
                return false;
        if (c < 0x20 && c != '\n' && c != '\t' && c != '\r')
            return false;
        i += n;
    }
    return true;
}

static int xmllint(const struct rsp_buf *b)
{
    char path[600], cmd[800];
    snprintf(path, sizeof path, "%s/report.xml", tu_tmpdir());
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
    fclose(f);
    snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", path);
    return system(cmd);
}

static void test_counts_and_summary(void **state)
{
    (void)state;
    struct rsp_accept_report r;
    fill(&r);
    size_t p, f, s;
    rsp_accept_counts(&r, &p, &f, &s);
    assert_int_equal(p, 1);
    assert_int_equal(f, 1);
    assert_int_equal(s, 1);
    assert_false(rsp_accept_passed(&r));
    assert_string_equal(rsp_accept_first_failure(&r)->name, "download");
    char sum[200];
    rsp_accept_summary(&r, sum, sizeof sum);
    assert_string_equal(sum, "euicc-info=pass:0.250;download=fail:2.500;enable=skip:0.000");
    rsp_accept_summary(&r, sum, 30); /* cut at an entry boundary */
    assert_string_equal(sum, "euicc-info=pass:0.250");
    r.steps[1].outcome = RSP_ACCEPT_PASS;
    r.steps[2].outcome = RSP_ACCEPT_PASS;
    assert_true(rsp_accept_passed(&r));
    assert_null(rsp_accept_first_failure(&r));
    struct rsp_accept_report empty;
    rsp_accept_report_init(&empty);
    assert_false(rsp_accept_passed(&empty)); /* nothing run is not a pass */
    for (int i = 0; i < RSP_ACCEPT_MAX_STEPS; i++)
        assert_non_null(rsp_accept_step_add(&empty, "x"));
    assert_null(rsp_accept_step_add(&empty, "one too many"));
}

static void test_junit(void **state)
{
    (void)state;
    struct rsp_accept_report r;
    fill(&r);
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_accept_junit(&r, &b), 0);
    rsp_buf_append_byte(&b, 0);
    b.len--;
    assert_true(contains(&b, "<testsuites name=\"rspkit acceptance\" tests=\"3\" failures=\"1\" "
                             "errors=\"0\" skipped=\"1\" time=\"3.500\">"));
    assert_true(contains(&b, "timestamp=\"2023-11-14T22:13:20\""));
    assert_int_equal(count(&b, "<testcase "), 3);
    assert_true(contains(&b, "<testcase classname=\"acceptance.pcsc\" name=\"euicc-info\" "
                             "time=\"0.250\"/>"));
    assert_true(contains(&b, "<failure message=\"refused by the SM-DP+: 8.2.1/3.8\" "
                             "type=\"download\">"));
    assert_true(contains(&b, "<skipped message=\"not run: download failed\"/>"));
    assert_true(contains(&b, "<property name=\"euicc.sgp22_version\" value=\"2.2.2\"/>"));
    assert_true(contains(&b, "<property name=\"device.tac\" value=\"35290611\"/>"));
    assert_int_equal(xmllint(&b), 0);
    rsp_buf_free(&b);
}

/* Every text field hostile at once. */
static void hostile(struct rsp_accept_report *r)
{
    static const char evil[] = "</failure><script>alert('x')</script> \"q\" & 'a' "
                               "\x01\x1b[31m \xff\xfe \xc0\xaf \xed\xa0\x80 \xef\xbf\xbe ]]> "
                               "\xe2\x82\xac ok";
    fill(r);
    snprintf(r->model, sizeof r->model, "%s", evil);
    snprintf(r->suite, sizeof r->suite, "%s", evil);
    snprintf(r->target, sizeof r->target, "a\"<b>");
    memcpy(r->eid, "<\x01\xff&\"", 6); /* a short field: the same classes of bytes */
    snprintf(r->smdp, sizeof r->smdp, "%s", evil);
    for (size_t i = 0; i < r->n; i++) {
        snprintf(r->steps[i].name, sizeof r->steps[i].name, "st\"<ep>&%zu", i);
        snprintf(r->steps[i].message, sizeof r->steps[i].message, "%s", evil);
        snprintf(r->steps[i].detail, sizeof r->steps[i].detail, "line1\n%s\nline3", evil);
    }
}

static void test_junit_hostile(void **state)
{
    (void)state;
    struct rsp_accept_report r;
    hostile(&r);
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_accept_junit(&r, &b), 0);
    assert_true(utf8_ok(&b));
    assert_false(contains(&b, "<script"));
    assert_false(contains(&b, "</failure><"));
    assert_true(contains(&b, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &quot;q&quot; "
                             "&amp; &#39;a&#39;"));
    /* control bytes, invalid UTF-8, surrogates, overlongs and U+FFFE become U+FFFD; the euro
     * sign stays */
    assert_true(contains(&b, "\xef\xbf\xbd\xef\xbf\xbd[31m"));
    assert_true(contains(&b, "\xe2\x82\xac ok"));
    assert_false(contains(&b, "\xef\xbf\xbe"));
    /* the newline of a detail is kept in element text, a character reference in attributes */
    assert_true(contains(&b, ">line1\n"));
    assert_int_equal(count(&b, "<testcase "), 3);
    assert_int_equal(count(&b, "<failure "), 1);
    assert_int_equal(count(&b, "</failure>"), 1);
    assert_true(contains(&b, "name=\"st&quot;&lt;ep&gt;&amp;1\""));
    assert_int_equal(xmllint(&b), 0);
    rsp_buf_free(&b);
}

static void test_html(void **state)
{
    (void)state;
    struct rsp_accept_report r;
    fill(&r);
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_accept_html(&r, &b), 0);
    assert_true(contains(&b, "<!DOCTYPE html>"));
    assert_true(contains(&b, "FAILED: 1 passed, 1 failed, 1 skipped of 3 steps"));
    assert_true(contains(&b, "<td class=\"fail\">fail</td>"));
    assert_true(contains(&b, "<td class=\"skip\">skip</td>"));
    assert_true(contains(&b, "Phone X"));
    /* self-contained: no script, no external asset of any kind */
    assert_false(contains(&b, "<script"));
    assert_false(contains(&b, "src="));
    assert_false(contains(&b, "href="));
    assert_false(contains(&b, "url("));
    assert_false(contains(&b, "http://"));
    assert_false(contains(&b, "https://"));
    r.steps[1].outcome = r.steps[2].outcome = RSP_ACCEPT_PASS;
    assert_int_equal(rsp_accept_html(&r, &b), 0);
    assert_true(contains(&b, "PASSED: 3 passed, 0 failed, 0 skipped of 3 steps"));
    rsp_buf_free(&b);
}

static void test_html_hostile(void **state)
{
    (void)state;
    struct rsp_accept_report r;
    hostile(&r);
    snprintf(r.target_name, sizeof r.target_name, "<img src=http://evil/x onerror=alert(1)>");
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_accept_html(&r, &b), 0);
    assert_true(utf8_ok(&b));
    assert_false(contains(&b, "<script"));
    assert_false(contains(&b, "<img"));
    assert_false(contains(&b, "<ep>"));
    assert_true(contains(&b, "&lt;img src=http://evil/x onerror=alert(1)&gt;"));
    assert_int_equal(count(&b, "<tr>"), 1 + 11 + 1 + 3); /* header, properties, header, steps */
    rsp_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_and_summary), cmocka_unit_test(test_junit),
        cmocka_unit_test(test_junit_hostile),      cmocka_unit_test(test_html),
        cmocka_unit_test(test_html_hostile),
    };
    return cmocka_run_group_tests_name("acceptance_report", tests, NULL, NULL);
}
