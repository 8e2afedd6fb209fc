#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "rsp/der.h"
#include "rsp/err.h"

static int parse_hex(const char *hex, struct rsp_tlv *t, struct rsp_buf *keep)
{
    *keep = tu_hex(hex);
    return rsp_der_parse_one(keep->data, keep->len, t);
}

static void test_multibyte_tags(void **state)
{
    struct rsp_buf b;
    struct rsp_tlv t;
    assert_int_equal(parse_hex("BF2E 00", &t, &b), 0);
    assert_int_equal(t.tag, 0xBF2E);
    assert_int_equal(t.len, 0);
    assert_true(rsp_tag_constructed(t.tag));
    rsp_buf_free(&b);

    assert_int_equal(parse_hex("5F37 03 010203", &t, &b), 0);
    assert_int_equal(t.tag, 0x5F37);
    assert_false(rsp_tag_constructed(t.tag));
    assert_int_equal(t.len, 3);
    assert_int_equal(t.val[2], 3);
    assert_int_equal(t.raw_len, 6);
    rsp_buf_free(&b);

    assert_int_equal(parse_hex("5F49 01 04", &t, &b), 0);
    assert_int_equal(t.tag, 0x5F49);
    rsp_buf_free(&b);

    /* three-byte tag: number 0x4000 = 81 80 00 */
    assert_int_equal(parse_hex("9F818000 01 AA", &t, &b), 0);
    assert_int_equal(t.tag, 0x9F818000);
    assert_int_equal(rsp_tag_size(t.tag), 4);
    rsp_buf_free(&b);
}

static void test_bad_tags(void **state)
{
    struct rsp_buf b;
    struct rsp_tlv t;
    /* high form for a number < 31 */
    assert_int_equal(parse_hex("5F05 00", &t, &b), RSP_EBADTAG);
    rsp_buf_free(&b);
    /* leading 0x80 in the subsequent octets */
    assert_int_equal(parse_hex("5F8037 00", &t, &b), RSP_EBADTAG);
    rsp_buf_free(&b);
    /* more than 4 tag bytes */
    assert_int_equal(parse_hex("5F81818101 00", &t, &b), RSP_EBADTAG);
    rsp_buf_free(&b);
    /* tag continues past the end */
    assert_int_equal(parse_hex("BF", &t, &b), RSP_ETRUNC);
    rsp_buf_free(&b);
    assert_int_equal(parse_hex("BF81", &t, &b), RSP_ETRUNC);
    rsp_buf_free(&b);
}

static void test_lengths(void **state)
{
    struct rsp_buf b;
    struct rsp_tlv t;
    static const struct {
        const char *hex;
        int rc;
    } cases[] = {
        {"04 80 00 00", RSP_EBADLEN},           /* indefinite */
        {"04 FF", RSP_EBADLEN},                 /* reserved */
        {"04 81 05 0102030405", RSP_EBADLEN},   /* long form for < 128 */
        {"04 82 0005 0102030405", RSP_EBADLEN}, /* leading zero octet */
        {"04 85 0000000001 00", RSP_EBADLEN},   /* more than 4 length octets */
        {"04 05 01020304", RSP_ETRUNC},         /* value runs past the end */
        {"04 82 01", RSP_ETRUNC},               /* length octets truncated */
        {"04", RSP_ETRUNC},
        {"", RSP_ETRUNC},
        {"04 01 00 00", RSP_ETRAILING},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = parse_hex(cases[i].hex, &t, &b);
        if (rc != cases[i].rc)
            fail_msg("case %zu (%s): got %d want %d", i, cases[i].hex, rc, cases[i].rc);
        rsp_buf_free(&b);
    }
    /* a huge declared length on a short buffer never reads past it */
    assert_int_equal(parse_hex("04 84 FFFFFFFF 00", &t, &b), RSP_ETRUNC);
    rsp_buf_free(&b);
    /* long forms accepted when minimal */
    struct rsp_buf big = RSP_BUF_INIT;
    rsp_der_put_header(&big, 0x04, 300);
    for (int i = 0; i < 300; i++)
        rsp_buf_append_byte(&big, (uint8_t)i);
    assert_memory_equal(big.data, "\x04\x82\x01\x2c", 4);
    assert_int_equal(rsp_der_parse_one(big.data, big.len, &t), 0);
    assert_int_equal(t.len, 300);
    rsp_buf_free(&big);
}

static void test_header_streaming(void **state)
{
    /* BF36 header followed by only part of its value, as an LPA sends it */
    struct rsp_buf b = tu_hex("BF36 82 1234 BF23 00");
    rsp_tag tag;
    size_t hl, vl;
    assert_int_equal(rsp_der_parse_header(b.data, b.len, &tag, &hl, &vl), 0);
    assert_int_equal(tag, 0xBF36);
    assert_int_equal(hl, 5);
    assert_int_equal(vl, 0x1234);
    struct rsp_tlv t;
    assert_int_equal(rsp_der_parse(b.data, b.len, &t), RSP_ETRUNC);
    rsp_buf_free(&b);
}

static void test_iteration_and_fields(void **state)
{
    /* ServerSigned1-like SEQUENCE with an unknown extension at the end */
    struct rsp_buf b = tu_hex("30 11 80 02 AABB 81 01 01 83 03 616263 9F20 02 0000");
    struct rsp_tlv seq, t;
    assert_int_equal(rsp_der_parse_tag(b.data, b.len, 0x30, &seq), 0);
    struct rsp_der_iter it;
    rsp_der_iter_value(&it, &seq);
    assert_int_equal(rsp_der_req(&it, 0x80, &t), 0);
    assert_int_equal(t.len, 2);
    assert_int_equal(rsp_der_opt(&it, 0x82, &t), 0); /* absent optional: nothing consumed */
    assert_int_equal(rsp_der_req(&it, 0x81, &t), 0);
    assert_int_equal(rsp_der_req(&it, 0x84, &t), RSP_EUNEXPECTED);
    assert_int_equal(rsp_der_req(&it, 0x83, &t), 0);
    assert_memory_equal(t.val, "abc", 3);
    assert_int_equal(rsp_der_finish_strict(&it), RSP_ETRAILING);
    rsp_tag peek;
    assert_int_equal(rsp_der_peek(&it, &peek), 1);
    assert_int_equal(peek, 0x9F20);
    assert_int_equal(rsp_der_finish(&it), 0); /* extension skipped */
    assert_true(rsp_der_iter_done(&it));
    assert_int_equal(rsp_der_req(&it, 0x80, &t), RSP_EMISSING);
    assert_int_equal(rsp_der_find(seq.val, seq.len, 0x83, &t), 1);
    assert_int_equal(rsp_der_find(seq.val, seq.len, 0x99, &t), 0);
    rsp_buf_free(&b);

    /* a malformed element in the middle is reported, not skipped */
    b = tu_hex("80 01 00 81 05 00");
    rsp_der_iter_init(&it, b.data, b.len);
    assert_int_equal(rsp_der_next(&it, &t), 1);
    assert_int_equal(rsp_der_next(&it, &t), RSP_ETRUNC);
    rsp_der_iter_init(&it, b.data, b.len);
    assert_int_equal(rsp_der_finish(&it), RSP_ETRUNC);
    rsp_buf_free(&b);
}

static void test_validate_depth(void **state)
{
    struct rsp_buf b = RSP_BUF_INIT;
    size_t marks[40];
    for (int i = 0; i < 40; i++)
        marks[i] = rsp_der_begin(&b, 0x30);
    rsp_der_put(&b, 0x04, "x", 1);
    for (int i = 39; i >= 0; i--)
        assert_int_equal(rsp_der_end(&b, marks[i]), 0);
    assert_int_equal(rsp_der_validate(b.data, b.len, 50), RSP_EDEPTH); /* capped at 32 */
    assert_int_equal(rsp_der_validate(b.data, b.len, 8), RSP_EDEPTH);
    struct rsp_tlv t;
    assert_int_equal(rsp_der_parse_one(b.data, b.len, &t), 0);
    /* 35 levels inside is fine with a limit of 40? no: the cap is RSP_DER_MAX_DEPTH */
    rsp_buf_free(&b);
    b = tu_hex("30 06 A1 04 80 02 0102");
    assert_int_equal(rsp_der_validate(b.data, b.len, 4), 0);
    rsp_buf_free(&b);
    b = tu_hex("30 06 A1 04 80 03 0102");
    assert_int_equal(rsp_der_validate(b.data, b.len, 4), RSP_ETRUNC);
    rsp_buf_free(&b);
}

static void test_integers(void **state)
{
    static const struct {
        int64_t v;
        const char *hex;
    } iv[] = {
        {0, "020100"},
        {127, "02017F"},
        {128, "02020080"},
        {256, "02020100"},
        {-1, "0201FF"},
        {-128, "020180"},
        {-129, "0202FF7F"},
        {INT64_MAX, "02087FFFFFFFFFFFFFFF"},
        {INT64_MIN, "02088000000000000000"},
    };
    for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++) {
        struct rsp_buf b = RSP_BUF_INIT;
        assert_int_equal(rsp_der_put_int(&b, 0x02, iv[i].v), 0);
        tu_assert_hex(b.data, b.len, iv[i].hex);
        struct rsp_tlv t;
        int64_t back;
        assert_int_equal(rsp_der_parse_one(b.data, b.len, &t), 0);
        assert_int_equal(rsp_der_get_int(&t, &back), 0);
        assert_true(back == iv[i].v);
        rsp_buf_free(&b);
    }
    struct rsp_buf b = RSP_BUF_INIT;
    rsp_der_put_uint(&b, 0x80, UINT64_MAX);
    tu_assert_hex(b.data, b.len, "8009 00FFFFFFFFFFFFFFFF");
    struct rsp_tlv t;
    uint64_t u;
    assert_int_equal(rsp_der_parse_one(b.data, b.len, &t), 0);
    assert_int_equal(rsp_der_get_uint(&t, &u), 0);
    assert_true(u == UINT64_MAX);
    rsp_buf_free(&b);

    /* non-minimal, negative, empty, too large */
    const char *bad[] = {"02020001", "0202FFFF", "0200", "0209010000000000000000"};
    int want[] = {RSP_EBADLEN, RSP_EBADLEN, RSP_EBADLEN, RSP_ERANGE};
    for (size_t i = 0; i < 4; i++) {
        b = tu_hex(bad[i]);
        int64_t v;
        assert_int_equal(rsp_der_parse_one(b.data, b.len, &t), 0);
        assert_int_equal(rsp_der_get_int(&t, &v), want[i]);
        rsp_buf_free(&b);
    }
    b = tu_hex("0201FF");
    assert_int_equal(rsp_der_parse_one(b.data, b.len, &t), 0);
    assert_int_equal(rsp_der_get_uint(&t, &u), RSP_ERANGE);
    rsp_buf_free(&b);
}

static void test_bool_and_bits(void **state)
{
    struct rsp_buf b = RSP_BUF_INIT;
    struct rsp_tlv t;
    bool v;
    rsp_der_put_bool(&b, 0x01, true);
    rsp_der_put_bool(&b, 0x01, false);
    tu_assert_hex(b.data, b.len, "0101FF 010100");
    assert_int_equal(rsp_der_parse(b.data, b.len, &t), 0);
    assert_int_equal(rsp_der_get_bool(&t, &v), 0);
    assert_true(v);
    rsp_buf_free(&b);
    b = tu_hex("010101");
    assert_int_equal(rsp_der_parse_one(b.data, b.len, &t), 0);
    assert_int_equal(rsp_der_get_bool(&t, &v), RSP_ERANGE); /* not DER */
    rsp_buf_free(&b);

    /* NotificationEvent bit strings as seen on the wire (sgp22-notes §3.2) */
    static const struct {
        int bit;
        const char *hex;
    } ev[] = {{0, "81020780"}, {1, "81020640"}, {2, "81020520"}, {3, "81020410"}};
    for (size_t i = 0; i < 4; i++) {
        uint8_t bits[1] = {(uint8_t)(0x80 >> ev[i].bit)};
        b = (struct rsp_buf){0};
        rsp_der_put_named_bits(&b, 0x81, bits, 8);
        tu_assert_hex(b.data, b.len, ev[i].hex);
        const uint8_t *p;
        size_t n;
        assert_int_equal(rsp_der_parse_one(b.data, b.len, &t), 0);
        assert_int_equal(rsp_der_get_bits(&t, &p, &n), 0);
        assert_int_equal(n, (size_t)ev[i].bit + 1);
        assert_true(rsp_der_bit(p, n, (size_t)ev[i].bit));
        assert_false(rsp_der_bit(p, n, 7));
        rsp_buf_free(&b);
    }
    rsp_buf_init(&b);
    uint8_t zero = 0;
    rsp_der_put_named_bits(&b, 0x03, &zero, 8);
    tu_assert_hex(b.data, b.len, "030100");
    rsp_buf_free(&b);
    const char *bad[] = {"0300", "030108", "03020701", "030101"};
    for (size_t i = 0; i < 4; i++) {
        const uint8_t *p;
        size_t n;
        b = tu_hex(bad[i]);
        assert_int_equal(rsp_der_parse_one(b.data, b.len, &t), 0);
        assert_true(rsp_der_get_bits(&t, &p, &n) < 0);
        rsp_buf_free(&b);
    }
}

static void oid_case(const char *dotted, const char *hex)
{
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_oid_from_str(&b, dotted), 0);
    tu_assert_hex(b.data, b.len, hex);
    char s[128];
    assert_int_equal(rsp_oid_to_str(b.data, b.len, s, sizeof s), 0);
    assert_string_equal(s, dotted);
    rsp_buf_free(&b);
}

static void test_oids(void **state)
{
    oid_case("2.999.10", "8837 0A"); /* SGP.26 SM-DP+ OID: first sub-identifier 1079 */
    oid_case("2.999.1", "8837 01");
    oid_case("2.23.146.1.2.1.4", "6781 12010201 04");
    oid_case("1.2.840.10045.3.1.7", "2A8648CE3D030107");
    oid_case("1.3.36.3.3.2.8.1.1.7", "2B2403030208010107");
    oid_case("0.0", "00");
    oid_case("2.40", "78");
    oid_case("1.2.18446744073709551615", "2A 81FFFFFFFFFFFFFFFF7F");

    struct rsp_buf b = RSP_BUF_INIT;
    const char *bad[] = {"", "1", "3.1", "1.40", "1..2", "1.2.", "a.b", "1.02", "1.2.3x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rsp_buf_reset(&b);
        assert_true(rsp_oid_from_str(&b, bad[i]) < 0);
    }
    char s[16];
    struct rsp_buf v = tu_hex("2A8648CE3D030107");
    assert_int_equal(rsp_oid_to_str(v.data, v.len, s, 8), RSP_ERANGE); /* output too small */
    char big[32];
    assert_int_equal(rsp_oid_to_str(v.data, v.len - 1, big, sizeof big), 0);
    assert_string_equal(big, "1.2.840.10045.3.1");
    rsp_buf_free(&v);
    v = tu_hex("2A86"); /* continuation bit on the last byte */
    assert_int_equal(rsp_oid_to_str(v.data, v.len, s, sizeof s), RSP_ETRUNC);
    rsp_buf_free(&v);
    v = tu_hex("2A8001"); /* non-minimal sub-identifier */
    assert_int_equal(rsp_oid_to_str(v.data, v.len, s, sizeof s), RSP_ESYNTAX);
    rsp_buf_free(&v);
    rsp_buf_free(&b);
}

static void test_writer_nesting(void **state)
{
    /* nested constructed TLVs whose lengths need 1, 2 and 3 bytes */
    struct rsp_buf b = RSP_BUF_INIT;
    size_t outer = rsp_der_begin(&b, 0xBF36);
    size_t mid = rsp_der_begin(&b, 0xA3);
    uint8_t *blob = calloc(70000, 1);
    assert_non_null(blob);
    for (int i = 0; i < 70; i++)
        rsp_der_put(&b, 0x86, blob, 1000);
    assert_int_equal(rsp_der_end(&b, mid), 0);
    size_t small = rsp_der_begin(&b, 0xA0);
    rsp_der_put(&b, 0x87, "\x01", 1);
    assert_int_equal(rsp_der_end(&b, small), 0);
    assert_int_equal(rsp_der_end(&b, outer), 0);
    free(blob);

    struct rsp_tlv t, a3, x;
    assert_int_equal(rsp_der_parse_tag(b.data, b.len, 0xBF36, &t), 0);
    assert_int_equal(rsp_der_validate(b.data, b.len, 4), 0);
    struct rsp_der_iter it;
    rsp_der_iter_value(&it, &t);
    assert_int_equal(rsp_der_req(&it, 0xA3, &a3), 0);
    assert_int_equal(a3.len, 70 * (1000 + 4));
    assert_int_equal(rsp_der_req(&it, 0xA0, &x), 0);
    tu_assert_hex(x.raw, x.raw_len, "A003 870101");
    assert_true(rsp_der_iter_done(&it));
    rsp_buf_free(&b);

    /* empty constructed */
    b = (struct rsp_buf){0};
    rsp_der_end(&b, rsp_der_begin(&b, 0xBF2E));
    tu_assert_hex(b.data, b.len, "BF2E00");
    assert_int_equal(rsp_der_len_size(0x7F), 1);
    assert_int_equal(rsp_der_len_size(0x80), 2);
    assert_int_equal(rsp_der_len_size(0x100), 3);
    assert_int_equal(rsp_der_len_size(0x10000), 4);
    rsp_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multibyte_tags),
        cmocka_unit_test(test_bad_tags),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_header_streaming),
        cmocka_unit_test(test_iteration_and_fields),
        cmocka_unit_test(test_validate_depth),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_bool_and_bits),
        cmocka_unit_test(test_oids),
        cmocka_unit_test(test_writer_nesting),
    };
    return cmocka_run_group_tests_name("der", tests, NULL, NULL);
}
