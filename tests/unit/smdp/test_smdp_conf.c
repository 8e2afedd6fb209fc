/* rsp-smdp's configuration (src/smdp/smdp_conf.c): the key = value parser (values, comments,
 * blanks, operators, errors with file and line, a refused text changing nothing, bounds) and the
 * checks of --check-config (messages in order, file checks through the callback). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rsp/err.h"
#include "rsp/smdp_conf.h"

static struct rsp_smdp_conf *conf_new(void)
{
    struct rsp_smdp_conf *c = malloc(sizeof *c);
    assert_non_null(c);
    rsp_smdp_conf_defaults(c);
    return c;
}

static int parse(struct rsp_smdp_conf *c, const char *text, char *err, size_t n)
{
    return rsp_smdp_conf_parse(c, text, strlen(text), "t.conf", err, n);
}

static void test_values(void **state)
{
    (void)state;
    struct rsp_smdp_conf *c = conf_new();
    char err[300] = "";
    assert_int_equal(c->port, 443);
    assert_true(c->rollback);
    const char *text = "# comment\n"
                       "\n"
                       "  host =  smdp.example.com  \r\n"
                       "port=8443\n"
                       "plain_http = yes\n"
                       "rollback = 0\n"
                       "database = sqlite:/tmp/x=y.db\n"
                       "ci_certs = a.pem, b.pem\n"
                       "tls_priorities =\n"
                       "operator = op1 token_sha256=" /* 64 hex digits */
                       "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff "
                       "callback_url=http://127.0.0.1:9/cb\n"
                       "port = 9443"; /* last line without a newline; a later value wins */
    assert_int_equal(parse(c, text, err, sizeof err), 0);
    assert_string_equal(c->host, "smdp.example.com");
    assert_int_equal(c->port, 9443);
    assert_true(c->plain_http);
    assert_false(c->rollback);
    assert_string_equal(c->database, "sqlite:/tmp/x=y.db"); /* split at the first '=' */
    assert_string_equal(c->ci_certs, "a.pem, b.pem");
    assert_string_equal(c->tls_priorities, "");
    assert_int_equal(c->n_operators, 1);
    assert_string_equal(c->operators[0].id, "op1");
    assert_true(c->operators[0].has_token);
    assert_int_equal(c->operators[0].token_sha256[1], 0x11);
    assert_string_equal(c->operators[0].callback_url, "http://127.0.0.1:9/cb");
    assert_int_equal(c->threads, 4); /* untouched keys keep their defaults */
    free(c);
}

/* Each bad text: refused with file:line and the reason, the configuration unchanged. */
static void test_errors(void **state)
{
    (void)state;
    static const char op[] =
        "operator = op1 "
        "token_sha256=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
    char dup[512];
    snprintf(dup, sizeof dup, "%s%s", op, op);
    const struct {
        const char *text;
        const char *err;
    } cases[] = {
        {"host = a\nbogus = 1\n", "t.conf:2: unknown key 'bogus'"},
        {"host x\n", "t.conf:1: expected key = value"},
        {"\n\nport = -1\n", "t.conf:3: port must be a non-negative integer"},
        {"port = 4294967296\n", "t.conf:1: port must be a non-negative integer"},
        {"port = 12abc\n", "t.conf:1: port must be a non-negative integer"},
        {"port =\n", "t.conf:1: port must be a non-negative integer"},
        {"plain_http = maybe\n", "t.conf:1: plain_http must be true or false"},
        {"operator = op1 token_sha256=0011\n", "t.conf:1: "},
        {dup, "t.conf:2: operator op1 defined twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rsp_smdp_conf *c = conf_new(), *before = conf_new();
        char err[300] = "";
        assert_int_equal(parse(c, "host = kept\nport = 1\n", err, sizeof err), 0);
        *before = *c;
        assert_int_equal(parse(c, cases[i].text, err, sizeof err), RSP_ESYNTAX);
        assert_memory_equal(err, cases[i].err, strlen(cases[i].err));
        assert_memory_equal(c, before, sizeof *c);
        free(c);
        free(before);
    }
}

static void test_bounds(void **state)
{
    (void)state;
    struct rsp_smdp_conf *c = conf_new();
    char err[300] = "";
    /* a value one byte too long for its field */
    size_t n = sizeof c->host + 16;
    char *t = malloc(n);
    assert_non_null(t);
    memset(t, 'a', n);
    memcpy(t, "host=", 5);
    t[5 + sizeof c->host] = 0; /* 256 'a': no room for the NUL */
    assert_int_equal(parse(c, t, err, sizeof err), RSP_ESYNTAX);
    assert_string_equal(err, "t.conf:1: value of host too long");
    t[5 + sizeof c->host - 1] = 0; /* 255: fits */
    assert_int_equal(parse(c, t, err, sizeof err), 0);
    assert_int_equal(strlen(c->host), sizeof c->host - 1);
    free(t);
    /* an over-long line, even a comment */
    n = RSP_SMDP_CONF_LINE_MAX + 2;
    t = malloc(n);
    assert_non_null(t);
    memset(t, ' ', n);
    t[0] = '#';
    assert_int_equal(rsp_smdp_conf_parse(c, t, n - 1, "t.conf", err, sizeof err), RSP_ESYNTAX);
    assert_string_equal(err, "t.conf:1: line longer than 8191 bytes");
    assert_int_equal(rsp_smdp_conf_parse(c, t, n - 2, "t.conf", err, sizeof err), 0);
    free(t);
    /* a NUL byte */
    static const char nul[] = "host = a\0b\n";
    assert_int_equal(rsp_smdp_conf_parse(c, nul, sizeof nul - 1, "t.conf", err, sizeof err),
                     RSP_ESYNTAX);
    assert_string_equal(err, "t.conf:1: NUL byte in the line");
    /* too large a text */
    assert_int_equal(
        rsp_smdp_conf_parse(c, "", (size_t)RSP_SMDP_CONF_TEXT_MAX + 1, "t.conf", err, sizeof err),
        RSP_ESYNTAX);
    /* the 33rd operator */
    char line[200];
    for (int i = 0; i < RSP_ES2P_MAX_OPERATORS; i++) {
        snprintf(line, sizeof line, "operator = op%d token_sha256=%064d\n", i, i);
        assert_int_equal(parse(c, line, err, sizeof err), 0);
    }
    assert_int_equal(parse(c,
                           "operator = opx token_sha256=" /* 64 zeros */
                           "0000000000000000000000000000000000000000000000000000000000000000\n",
                           err, sizeof err),
                     RSP_ESYNTAX);
    assert_string_equal(err, "t.conf:1: more than 32 operators");
    assert_int_equal(rsp_smdp_conf_parse(NULL, "", 0, "x", err, sizeof err), RSP_EINVAL);
    free(c);
}

static void test_set_env_style(void **state)
{
    (void)state;
    struct rsp_smdp_conf *c = conf_new();
    char err[300] = "";
    const struct rsp_smdp_conf_key *k = rsp_smdp_conf_key_find("port");
    assert_non_null(k);
    assert_int_equal(rsp_smdp_conf_set(c, k, "abc", "RSP_SMDP_PORT", err, sizeof err), RSP_ESYNTAX);
    assert_string_equal(err, "RSP_SMDP_PORT: port must be a non-negative integer");
    assert_int_equal(c->port, 443);
    assert_int_equal(rsp_smdp_conf_set(c, k, "80", "RSP_SMDP_PORT", err, sizeof err), 0);
    assert_int_equal(c->port, 80);
    assert_null(rsp_smdp_conf_key_find("operator")); /* a file-only line */
    assert_null(rsp_smdp_conf_key_find("nope"));
    free(c);
}

struct seen {
    char text[2048];
    int files;
};

static void report(void *ctx, const char *m)
{
    struct seen *s = ctx;
    size_t l = strlen(s->text);
    snprintf(s->text + l, sizeof s->text - l, "%s|", m);
}

static int readable(void *ctx, const char *key, const char *path, bool required)
{
    struct seen *s = ctx;
    s->files++;
    if (!path[0] && required) {
        report(ctx, key);
        return -1;
    }
    return 0;
}

static void test_check(void **state)
{
    (void)state;
    struct rsp_smdp_conf *c = conf_new();
    struct seen s;
    memset(&s, 0, sizeof s);
    /* defaults: no host; without plain_http the TLS files are required */
    assert_int_equal(rsp_smdp_conf_check(c, report, readable, &s), 3);
    assert_string_equal(s.text, "host is required|tls_chain|tls_key|");
    /* pure checks only (no file callback) */
    char err[300];
    assert_int_equal(parse(c,
                           "host = h\nplain_http = true\nthreads = 0\nrollback_sla = 10\n"
                           "rollback_policies = pir-error=forget\nadmin_port = 443\n"
                           "database = mysql://x/y\n",
                           err, sizeof err),
                     0);
    memset(&s, 0, sizeof s);
    assert_int_equal(rsp_smdp_conf_check(c, report, NULL, &s), 5);
    assert_string_equal(s.text,
                        "threads must be 1..256, body_limit >= 1024, session_lifetime and "
                        "sweep_interval > 0|rollback_policies: bad entry 'pir-error' "
                        "(KIND=POLICY)|sweep_interval (30) must not exceed rollback_sla (10)|"
                        "admin_port must differ from port|database: not a store URL "
                        "(postgresql://..., postgres://..., sqlite:PATH or a file path)|");
    assert_int_equal(s.files, 0);
    /* a valid configuration */
    rsp_smdp_conf_defaults(c);
    assert_int_equal(
        parse(c, "host = h\nplain_http = true\nci_certs = a.pem, b.pem\n", err, sizeof err), 0);
    memset(&s, 0, sizeof s);
    assert_int_equal(rsp_smdp_conf_check(c, report, readable, &s), 0);
    assert_string_equal(s.text, "");
    assert_int_equal(s.files, 10); /* 6 credential files, 2 CIs, audit and pseudonym keys */
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bounds), cmocka_unit_test(test_set_env_style),
        cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
