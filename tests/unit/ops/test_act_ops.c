/* Activation workflow helpers: the bulk-order CSV parser (bounded, every bad line reported with
 * its number), the identity-check hook (command: pass, fail, broken answers, exit status,
 * timeout; URL: unreachable) and the eUICC capability check (SGP.22 version, free memory, test
 * profile support). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/act.h"
#include "rsp/act_ops.h"
#include "rsp/err.h"
#include "rsp/sgp22_es10.h"

static void parse(const char *text, struct rsp_act_csv *c)
{
    assert_int_equal(rsp_act_csv_parse(text, strlen(text), c), 0);
}

static bool has_error(const struct rsp_act_csv *c, size_t line, const char *needle)
{
    for (size_t i = 0; i < c->n_errors; i++)
        if (c->errors[i].line == line && strstr(c->errors[i].msg, needle))
            return true;
    return false;
}

static void test_csv_good(void **state)
{
    (void)state;
    struct rsp_act_csv c;
    parse("campaign,customer_ref,order_id,tac,device_model,profile_type\r\n"
          "spring,\"Doe, \"\"J\"\"\",A-1,35000011,\"Model X, rev 2\",pt\r\n"
          "\r\n"
          "spring,c2,A-2,,,pt\n"
          "autumn,c3,A-3,35000012,,pt", /* no final line end */
          &c);
    assert_int_equal(c.total_errors, 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.orders[0].order_id, "A-1");
    assert_string_equal(c.orders[0].customer_ref, "Doe, \"J\"");
    assert_string_equal(c.orders[0].device_model, "Model X, rev 2");
    assert_string_equal(c.orders[0].tac, "35000011");
    assert_int_equal(c.orders[0].stage, RSP_ACT_PRE_PROVISIONED);
    assert_int_equal(c.lines[1], 4); /* the blank line counts */
    assert_string_equal(c.orders[2].campaign, "autumn");
    rsp_act_csv_free(&c);
}

static void test_csv_header(void **state)
{
    (void)state;
    struct rsp_act_csv c;
    parse("order_id,customer_ref,colour\nA,b,red\n", &c);
    assert_int_equal(c.n, 0);
    assert_true(has_error(&c, 1, "unknown column 'colour'"));
    rsp_act_csv_free(&c);
    parse("order_id,profile_type\nA,pt\n", &c);
    assert_true(has_error(&c, 1, "order_id and customer_ref"));
    assert_int_equal(c.n, 0);
    rsp_act_csv_free(&c);
    parse("order_id,customer_ref,order_id\n", &c);
    assert_true(has_error(&c, 1, "twice"));
    rsp_act_csv_free(&c);
    parse("", &c);
    assert_true(has_error(&c, 1, "no header"));
    rsp_act_csv_free(&c);
}

static void test_csv_bad_lines(void **state)
{
    (void)state;
    struct rsp_act_csv c;
    parse("order_id,customer_ref,profile_type,eid,tac\n"
          "A1,c1,pt,,\n"                                 /* 2 good */
          "A2,c2,pt\n"                                   /* 3 field count */
          "A3,\"c3,pt,,\n"                               /* 4 unterminated quote */
          "A4,c\"4,pt,,\n"                               /* 5 quote in unquoted field */
          "A5,c5,pt,89049032123451234512345678901234,\n" /* 6 EID check digits */
          "A6,c6,pt,,1234\n"                             /* 7 TAC */
          "A7,c7,,,\n"                                   /* 8 neither type nor ICCID */
          "A1,c8,pt,,\n"                                 /* 9 duplicate of line 2 */
          "A 9,c9,pt,,\n"                                /* 10 order id characters */
          "\"x\"y,c,pt,,\n",                             /* 11 text after a closing quote */
          &c);
    assert_int_equal(c.n, 2); /* lines 2 and 9 parse; the duplicate is reported */
    assert_true(has_error(&c, 3, "3 fields, the header has 5"));
    assert_true(has_error(&c, 4, "unterminated"));
    assert_true(has_error(&c, 5, "quote inside"));
    assert_true(has_error(&c, 6, "eid"));
    assert_true(has_error(&c, 7, "tac"));
    assert_true(has_error(&c, 8, "profile_type or iccid"));
    assert_true(has_error(&c, 9, "also on line 2"));
    assert_true(has_error(&c, 10, "order_id"));
    assert_true(has_error(&c, 11, "after a closing quote"));
    assert_int_equal(c.total_errors, 9);
    rsp_act_csv_free(&c);
}

static void test_csv_bounds(void **state)
{
    (void)state;
    struct rsp_act_csv c;
    /* an over-long line, an over-long field, a NUL byte */
    size_t big = RSP_ACT_CSV_MAX_LINE + 10;
    char *t = malloc(big + 200);
    assert_non_null(t);
    int k = sprintf(t, "order_id,customer_ref,profile_type\n");
    memset(t + k, 'x', big);
    k += (int)big;
    k += sprintf(t + k, "\n%0100d,c,pt\nA,c,pt\n", 7);
    t[k] = 'B';
    t[k + 1] = 0;
    t[k + 2] = ',';
    memcpy(t + k + 3, "c,pt\n", 5);
    assert_int_equal(rsp_act_csv_parse(t, (size_t)k + 8, &c), 0);
    assert_true(has_error(&c, 2, "longer than"));
    assert_true(has_error(&c, 3, "order_id longer than 64"));
    assert_true(has_error(&c, 5, "NUL"));
    assert_int_equal(c.n, 1);
    rsp_act_csv_free(&c);
    free(t);
    /* more errors than are kept: all counted */
    struct rsp_buf b = RSP_BUF_INIT;
    rsp_buf_append(&b, "order_id,customer_ref\n", 22);
    for (int i = 0; i < 150; i++)
        rsp_buf_append(&b, "X,c\n", 4); /* neither profile type nor ICCID */
    assert_int_equal(rsp_act_csv_parse((const char *)b.data, b.len, &c), 0);
    assert_int_equal(c.n_errors, RSP_ACT_CSV_MAX_ERRORS);
    assert_int_equal(c.total_errors, 150);
    rsp_act_csv_free(&c);
    rsp_buf_free(&b);
}

static void mkorder(struct rsp_act_order *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->order_id, sizeof o->order_id, "X1");
    snprintf(o->customer_ref, sizeof o->customer_ref, "cust \"1\"");
    snprintf(o->profile_type, sizeof o->profile_type, "pt");
}

static void test_identity_command(void **state)
{
    (void)state;
    struct rsp_act_order o;
    mkorder(&o);
    bool pass = false;
    char why[128];
    /* the order reaches the command as JSON on stdin */
    assert_int_equal(rsp_act_identity_check("grep -q '\"customer_ref\":\"cust \\\\\"1\\\\\"\"' &&"
                                            " echo '{\"result\":\"pass\",\"reason\":\"ok\"}'",
                                            5, &o, &pass, why, sizeof why),
                     0);
    assert_true(pass);
    assert_string_equal(why, "ok");
    assert_int_equal(rsp_act_identity_check("cat >/dev/null; echo '{\"result\":\"fail\","
                                            "\"reason\":\"document expired\"}'",
                                            5, &o, &pass, why, sizeof why),
                     0);
    assert_false(pass);
    assert_string_equal(why, "document expired");
    /* broken hooks fail the check with a reason */
    assert_int_equal(rsp_act_identity_check("echo '{\"result\":\"pass\"}'; exit 3", 5, &o, &pass,
                                            why, sizeof why),
                     0);
    assert_false(pass);
    assert_non_null(strstr(why, "exit status 3"));
    assert_int_equal(rsp_act_identity_check("echo maybe", 5, &o, &pass, why, sizeof why), 0);
    assert_false(pass);
    assert_non_null(strstr(why, "identity check error"));
    assert_int_equal(
        rsp_act_identity_check("echo '{\"result\":\"perhaps\"}'", 5, &o, &pass, why, sizeof why),
        0);
    assert_false(pass);
    assert_int_equal(rsp_act_identity_check("sleep 10", 1, &o, &pass, why, sizeof why), 0);
    assert_false(pass);
    assert_non_null(strstr(why, "no answer within 1 s"));
    assert_int_equal(rsp_act_identity_check("head -c 10000 /dev/zero | tr '\\0' x", 5, &o, &pass,
                                            why, sizeof why),
                     0);
    assert_false(pass);
    assert_non_null(strstr(why, "longer than"));
    assert_int_equal(rsp_act_identity_check("", 5, &o, &pass, why, sizeof why), RSP_EINVAL);
}

static void test_identity_url(void **state)
{
    (void)state;
    struct rsp_act_order o;
    mkorder(&o);
    bool pass = true;
    char why[128];
    /* port 1 on loopback: nothing listens */
    assert_int_equal(
        rsp_act_identity_check("http://127.0.0.1:1/check", 2, &o, &pass, why, sizeof why), 0);
    assert_false(pass);
    assert_non_null(strstr(why, "identity check error"));
}

/* EUICCInfo2 with the given SVN major, free NVM and testProfileSupport. */
static void info2(uint8_t svn_major, uint32_t nvm, bool test_support, struct rsp_buf *out)
{
    struct rsp_euicc_info2 i2;
    memset(&i2, 0, sizeof i2);
    i2.svn[0] = svn_major;
    i2.svn[1] = 2;
    uint8_t ecr[] = {0x81,
                     0x01,
                     0x00,
                     0x82,
                     0x04,
                     (uint8_t)(nvm >> 24),
                     (uint8_t)(nvm >> 16),
                     (uint8_t)(nvm >> 8),
                     (uint8_t)nvm};
    i2.ext_card_resource.p = ecr;
    i2.ext_card_resource.len = sizeof ecr;
    static const uint8_t uicc_cap[2] = {0x68, 0x02};
    i2.uicc_capability.bits = uicc_cap;
    i2.uicc_capability.nbits = 16;
    uint8_t rcap = test_support ? 0x10 : 0x00; /* bit 3 = testProfileSupport */
    i2.rsp_capability.bits = &rcap;
    i2.rsp_capability.nbits = 8;
    i2.sas_accreditation.p = (const uint8_t *)"";
    assert_int_equal(rsp_euicc_info2_encode(&i2, out), 0);
}

static void test_capability(void **state)
{
    (void)state;
    struct rsp_profile p;
    memset(&p, 0, sizeof p);
    p.pclass = RSP_PROFILE_CLASS_OPERATIONAL;
    char why[200];
    struct rsp_buf b = RSP_BUF_INIT;
    info2(2, 100000, false, &b);
    assert_int_equal(rsp_act_capability_check(b.data, b.len, &p, 99999, why, sizeof why), 0);
    assert_int_equal(rsp_act_capability_check(b.data, b.len, &p, 100000, why, sizeof why), 0);
    assert_int_equal(rsp_act_capability_check(b.data, b.len, &p, 100001, why, sizeof why), 1);
    assert_non_null(strstr(why, "free non-volatile memory 100000"));
    p.pclass = RSP_PROFILE_CLASS_TEST;
    assert_int_equal(rsp_act_capability_check(b.data, b.len, &p, 10, why, sizeof why), 1);
    assert_non_null(strstr(why, "testProfileSupport"));
    rsp_buf_reset(&b);
    info2(2, 100000, true, &b);
    assert_int_equal(rsp_act_capability_check(b.data, b.len, &p, 10, why, sizeof why), 0);
    rsp_buf_reset(&b);
    info2(3, 100000, true, &b);
    assert_int_equal(rsp_act_capability_check(b.data, b.len, &p, 10, why, sizeof why), 1);
    assert_non_null(strstr(why, "v3.2.0"));
    static const uint8_t junk[] = {0xBF, 0x22, 0x01, 0x00};
    assert_true(rsp_act_capability_check(junk, sizeof junk, &p, 10, why, sizeof why) < 0);
    rsp_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_good),         cmocka_unit_test(test_csv_header),
        cmocka_unit_test(test_csv_bad_lines),    cmocka_unit_test(test_csv_bounds),
        cmocka_unit_test(test_identity_command), cmocka_unit_test(test_identity_url),
        cmocka_unit_test(test_capability),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
