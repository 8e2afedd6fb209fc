/* Golden-output tests of the TLV dump behind `rspctl decode`. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/tlvdump.h"

static char *dump_hex(const char *hex, int depth, int *rc)
{
    struct rsp_buf b = tu_hex(hex);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    *rc = rsp_tlvdump(f, b.data, b.len, depth);
    fclose(f);
    rsp_buf_free(&b);
    return out;
}

static void test_named_tree(void **state)
{
    int rc;
    char *s = dump_hex("BF38 0E A0 0C 30 03 80 01 01 5F37 04 DEADBEEF", 32, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(s, "BF38 AuthenticateServer [14]\n"
                           "  A0 [12]\n"
                           "    30 [3]\n"
                           "      80 [1] 01\n"
                           "    5F37 signature [4] DEADBEEF\n");
    free(s);
}

static void test_text_and_truncation_of_long_values(void **state)
{
    int rc;
    char *s = dump_hex("0C 03 616263", 32, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(s, "0C [3] 616263 \"abc\"\n");
    free(s);
    /* 70-byte value: 64 bytes shown, then the size */
    char hex[2 * 72 + 1] = "0446";
    for (int i = 0; i < 70; i++)
        memcpy(hex + 4 + 2 * i, "00", 2);
    hex[4 + 140] = 0;
    s = dump_hex(hex, 32, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(s, "... (70 bytes)"));
    free(s);
}

static void test_depth_limit(void **state)
{
    int rc;
    char *s = dump_hex("30 05 A1 03 80 01 07", 1, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(s, "30 [5]\n  A1 [3] 800107\n");
    free(s);
}

static void test_malformed_reports_offset(void **state)
{
    int rc;
    char *s = dump_hex("BF2E 00 30 05 80 01", 32, &rc);
    assert_int_equal(rc, RSP_ETRUNC);
    assert_string_equal(s, "BF2E GetEuiccChallenge [0]\n"
                           "!! malformed at offset 3: "
                           "input truncated: a length runs past the end of the data\n");
    free(s);
    assert_string_equal(rsp_tlv_tag_name(0xBF36), "BoundProfilePackage");
    assert_null(rsp_tlv_tag_name(0x80));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_named_tree),
        cmocka_unit_test(test_text_and_truncation_of_long_values),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_malformed_reports_offset),
    };
    return cmocka_run_group_tests_name("ops_tlvdump", tests, NULL, NULL);
}
