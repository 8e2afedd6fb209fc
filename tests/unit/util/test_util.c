#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "rsp/buf.h"
#include "rsp/err.h"

static void test_buf_append_insert(void **state)
{
    struct rsp_buf b = RSP_BUF_INIT;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(rsp_buf_append_byte(&b, (uint8_t)i), 0);
    assert_int_equal(b.len, 1000);
    assert_int_equal(b.data[999], (uint8_t)999);
    assert_int_equal(rsp_buf_insert(&b, 1, "xy", 2), 0);
    assert_int_equal(b.len, 1002);
    assert_memory_equal(b.data, "\x00xy\x01\x02", 5);
    assert_int_equal(rsp_buf_insert(&b, 5000, "z", 1), RSP_EINVAL);
    size_t n;
    uint8_t *d = rsp_buf_steal(&b, &n);
    assert_int_equal(n, 1002);
    assert_null(b.data);
    free(d);
}

static void test_buf_sticky_error(void **state)
{
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_buf_reserve(&b, SIZE_MAX - 10), RSP_ENOMEM);
    assert_int_equal(b.err, RSP_ENOMEM);
    /* every later append fails and changes nothing */
    assert_int_equal(rsp_buf_append(&b, "a", 1), RSP_ENOMEM);
    assert_int_equal(b.len, 0);
    rsp_buf_reset(&b);
    assert_int_equal(rsp_buf_append(&b, "a", 1), 0);
    rsp_buf_free_secure(&b);
}

static void test_hex(void **state)
{
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_hex_decode(&b, "00fFa5", 6), 0);
    assert_memory_equal(b.data, "\x00\xff\xa5", 3);
    assert_int_equal(rsp_hex_decode(&b, "0", 1), RSP_ESYNTAX);
    assert_int_equal(rsp_hex_decode(&b, "0g", 2), RSP_ESYNTAX);
    assert_int_equal(b.len, 3); /* unchanged on error */
    struct rsp_buf h = RSP_BUF_INIT;
    assert_int_equal(rsp_hex_encode(&h, b.data, b.len, 1), 0);
    assert_memory_equal(h.data, "00FFA5", 6);
    char s[7];
    rsp_hex_str(s, b.data, 3, 0);
    assert_string_equal(s, "00ffa5");
    rsp_buf_free(&b);
    rsp_buf_free(&h);
}

static void b64_roundtrip(const char *plain, const char *enc)
{
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_base64_encode(&b, (const uint8_t *)plain, strlen(plain)), 0);
    assert_int_equal(b.len, strlen(enc));
    assert_memory_equal(b.data, enc, b.len);
    rsp_buf_reset(&b);
    assert_int_equal(rsp_base64_decode(&b, enc, strlen(enc)), 0);
    assert_int_equal(b.len, strlen(plain));
    assert_memory_equal(b.data, plain, b.len);
    rsp_buf_free(&b);
}

static void test_base64_rfc4648_vectors(void **state)
{
    b64_roundtrip("", "");
    b64_roundtrip("f", "Zg==");
    b64_roundtrip("fo", "Zm8=");
    b64_roundtrip("foo", "Zm9v");
    b64_roundtrip("foob", "Zm9vYg==");
    b64_roundtrip("fooba", "Zm9vYmE=");
    b64_roundtrip("foobar", "Zm9vYmFy");
}

static void test_base64_rejects(void **state)
{
    static const char *bad[] = {
        "Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zm 9v", "Zg==Zg==", "Zm-v", "=Zm9"};
    struct rsp_buf b = RSP_BUF_INIT;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(rsp_base64_decode(&b, bad[i], strlen(bad[i])), RSP_ESYNTAX);
        assert_int_equal(b.len, 0);
    }
    rsp_buf_free(&b);
}

static void test_strerror(void **state)
{
    assert_string_equal(rsp_strerror(0), "success");
    assert_string_equal(rsp_strerror(12345), "unknown error");
    assert_true(strlen(rsp_strerror(RSP_EVERIFY)) > 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_append_insert),
        cmocka_unit_test(test_buf_sticky_error),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_base64_rfc4648_vectors),
        cmocka_unit_test(test_base64_rejects),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
