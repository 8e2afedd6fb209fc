/* BSP segment protection: known answers from a third-party SM-DP+ trace, round trips, refusals. */
#include "testutil.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "bsp_vectors.h"
#include "rsp/crypto.h"
#include "rsp/err.h"

static void hex16(const char *hex, uint8_t out[16])
{
    struct rsp_buf b = tu_hex(hex);
    assert_int_equal(b.len, 16);
    memcpy(out, b.data, 16);
    rsp_buf_free(&b);
}

/* Session keys of BSP_Test_mode51 (sgp22-notes §9). */
static void mode51_init(struct rsp_bsp *s)
{
    struct rsp_session_keys k;
    hex16("406d507b448a699e7a36a38494debbde", k.mcv);
    hex16("472f5bfadd97f21d34f3ce9b51b92751", k.s_enc);
    hex16("9ec07f5b36a13e12a991d66e294e6242", k.s_mac);
    rsp_bsp_init(s, &k);
    assert_int_equal(s->counter, 1);
}

static void mode51_ppk(struct rsp_bsp *s)
{
    uint8_t enc[16], mac[16], mcv[16];
    for (int i = 0; i < 16; i++)
        enc[i] = mac[i] = mcv[i] = (uint8_t)i;
    enc[0] = 0x01;
    mac[0] = 0x02;
    rsp_bsp_replace_keys(s, enc, mac, mcv);
    assert_int_equal(s->counter, 1);
}

static void wrap_check(struct rsp_bsp *s, uint8_t tag, bool enc, const char *plain_hex,
                       const char *wire_hex)
{
    struct rsp_buf plain = tu_hex(plain_hex);
    struct rsp_buf out = RSP_BUF_INIT;
    assert_int_equal(rsp_bsp_wrap(s, tag, enc, plain.data, plain.len, &out), 0);
    tu_assert_hex(out.data, out.len, wire_hex);
    rsp_buf_free(&out);
    rsp_buf_free(&plain);
}

static void unwrap_check(struct rsp_bsp *s, bool enc, const char *wire_hex, const char *plain_hex)
{
    struct rsp_buf wire = tu_hex(wire_hex);
    struct rsp_buf out = RSP_BUF_INIT;
    assert_int_equal(rsp_bsp_unwrap(s, enc, wire.data, wire.len, RSP_BSP_MAX_SEGMENT, &out), 0);
    tu_assert_hex(out.data, out.len, plain_hex);
    rsp_buf_free(&out);
    rsp_buf_free(&wire);
}

/* Exact bytes of the SM-DP+ side: 87, 88, 87 (counter 1..3), then the PPK switch and two 86. */
static void test_bsp_wrap_vectors(void **state)
{
    struct rsp_bsp s;
    mode51_init(&s);
    wrap_check(&s, 0x87, true, V_CFG_PLAIN, V_CFG_WIRE);
    assert_int_equal(s.counter, 2);
    wrap_check(&s, 0x88, false, V_SMD_PLAIN, V_SMD_WIRE);
    assert_int_equal(s.counter, 3); /* MAC-only segments advance the counter too */
    tu_assert_hex(s.mcv, 8, "8a62cc9adbb5ccbc");
    wrap_check(&s, 0x87, true, V_RSK_PLAIN, V_RSK_WIRE);
    assert_int_equal(s.counter, 4);
    mode51_ppk(&s);
    wrap_check(&s, 0x86, true, V_SEG0_PLAIN, V_SEG0_WIRE);
    wrap_check(&s, 0x86, true, V_SEG1_PLAIN, V_SEG1_WIRE);
    assert_int_equal(s.counter, 3);
    rsp_bsp_wipe(&s);
    uint8_t zero[sizeof s] = {0};
    assert_memory_equal(&s, zero, sizeof s);
}

/* The eUICC side of the same sequence gives back the plaintexts. */
static void test_bsp_unwrap_vectors(void **state)
{
    struct rsp_bsp s, w;
    mode51_init(&s);
    unwrap_check(&s, true, V_CFG_WIRE, V_CFG_PLAIN);
    unwrap_check(&s, false, V_SMD_WIRE, V_SMD_PLAIN);
    unwrap_check(&s, true, V_RSK_WIRE, V_RSK_PLAIN);
    assert_int_equal(s.counter, 4);
    mode51_ppk(&s);
    unwrap_check(&s, true, V_SEG0_WIRE, V_SEG0_PLAIN);
    unwrap_check(&s, true, V_SEG1_WIRE, V_SEG1_PLAIN);

    /* Same final state as the sender. */
    mode51_init(&w);
    mode51_ppk(&w);
    struct rsp_buf p0 = tu_hex(V_SEG0_PLAIN), p1 = tu_hex(V_SEG1_PLAIN), out = RSP_BUF_INIT;
    assert_int_equal(rsp_bsp_wrap(&w, 0x86, true, p0.data, p0.len, &out), 0);
    assert_int_equal(rsp_bsp_wrap(&w, 0x86, true, p1.data, p1.len, &out), 0);
    assert_memory_equal(&s, &w, sizeof s);
    rsp_buf_free(&p0);
    rsp_buf_free(&p1);
    rsp_buf_free(&out);
}

/* Every plaintext size up to the limit survives wrap + unwrap; one more byte is refused. */
static void test_bsp_roundtrip_sizes(void **state)
{
    struct rsp_bsp tx, rx;
    mode51_init(&tx);
    mode51_init(&rx);
    uint8_t data[RSP_BSP_MAX_PLAIN_MAC + 1];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    size_t sizes[] = {0, 1, 15, 16, 17, 31, 32, 127, 128, 239, 240, 255, 256, 1000, 1007};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (int enc = 0; enc < 2; enc++) {
            struct rsp_buf wire = RSP_BUF_INIT, plain = RSP_BUF_INIT;
            uint8_t tag = enc ? 0x86 : 0x88;
            assert_int_equal(rsp_bsp_wrap(&tx, tag, enc, data, sizes[i], &wire), 0);
            assert_true(wire.len <= RSP_BSP_MAX_SEGMENT);
            assert_int_equal(
                rsp_bsp_unwrap(&rx, enc, wire.data, wire.len, RSP_BSP_MAX_SEGMENT, &plain), 0);
            assert_int_equal(plain.len, sizes[i]);
            if (sizes[i])
                assert_memory_equal(plain.data, data, sizes[i]);
            rsp_buf_free(&wire);
            rsp_buf_free(&plain);
        }
    }
    assert_memory_equal(&tx, &rx, sizeof tx);

    struct rsp_buf wire = RSP_BUF_INIT;
    struct rsp_bsp before = tx;
    assert_int_equal(rsp_bsp_wrap(&tx, 0x88, false, data, RSP_BSP_MAX_PLAIN_MAC, &wire), 0);
    assert_int_equal(wire.len, RSP_BSP_MAX_SEGMENT);
    tx = before;
    wire.len = 0;
    assert_int_equal(rsp_bsp_wrap(&tx, 0x86, true, data, RSP_BSP_MAX_PLAIN_ENC, &wire), 0);
    assert_int_equal(wire.len, RSP_BSP_MAX_SEGMENT);
    before = tx;
    wire.len = 0;
    assert_int_equal(rsp_bsp_wrap(&tx, 0x86, true, data, RSP_BSP_MAX_PLAIN_ENC + 1, &wire),
                     RSP_ERANGE);
    assert_int_equal(rsp_bsp_wrap(&tx, 0x88, false, data, RSP_BSP_MAX_PLAIN_MAC + 1, &wire),
                     RSP_ERANGE);
    /* tag and mode must agree */
    assert_int_equal(rsp_bsp_wrap(&tx, 0x88, true, data, 4, &wire), RSP_EINVAL);
    assert_int_equal(rsp_bsp_wrap(&tx, 0x87, false, data, 4, &wire), RSP_EINVAL);
    assert_int_equal(wire.len, 0);
    assert_memory_equal(&tx, &before, sizeof tx);
    rsp_buf_free(&wire);
}

/* Independent segment builder for refusal tests: encrypts `n` bytes (already a multiple of 16,
 * padding left to the caller, so it can be wrong) or MACs them, without touching the state. */
static struct rsp_buf forge(const struct rsp_bsp *s, uint8_t tag, bool enc, const uint8_t *d,
                            size_t n)
{
    struct rsp_buf out = RSP_BUF_INIT;
    uint8_t hdr[4] = {tag};
    size_t vlen = n + 8, h;
    if (vlen < 0x80) {
        hdr[1] = (uint8_t)vlen;
        h = 2;
    } else if (vlen < 0x100) {
        hdr[1] = 0x81;
        hdr[2] = (uint8_t)vlen;
        h = 3;
    } else {
        hdr[1] = 0x82;
        hdr[2] = (uint8_t)(vlen >> 8);
        hdr[3] = (uint8_t)vlen;
        h = 4;
    }
    rsp_buf_append(&out, hdr, h);
    if (enc) {
        uint8_t ctr[16] = {0}, iv[16];
        int l = 0;
        ctr[15] = (uint8_t)s->counter;
        ctr[14] = (uint8_t)(s->counter >> 8);
        EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
        assert_non_null(c);
        assert_true(EVP_EncryptInit_ex2(c, EVP_aes_128_ecb(), s->enc, NULL, NULL) > 0);
        EVP_CIPHER_CTX_set_padding(c, 0);
        assert_true(EVP_EncryptUpdate(c, iv, &l, ctr, 16) > 0);
        assert_true(EVP_EncryptInit_ex2(c, EVP_aes_128_cbc(), s->enc, iv, NULL) > 0);
        EVP_CIPHER_CTX_set_padding(c, 0);
        assert_int_equal(rsp_buf_reserve(&out, n), 0);
        assert_true(EVP_EncryptUpdate(c, out.data + out.len, &l, d, (int)n) > 0);
        assert_int_equal(l, (int)n);
        out.len += n;
        EVP_CIPHER_CTX_free(c);
    } else {
        rsp_buf_append(&out, d, n);
    }
    uint8_t full[16];
    size_t fl = 0;
    char cipher[] = "AES-128-CBC";
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
                      OSSL_PARAM_construct_end()};
    EVP_MAC *m = EVP_MAC_fetch(NULL, "CMAC", NULL);
    EVP_MAC_CTX *mc = EVP_MAC_CTX_new(m);
    assert_true(EVP_MAC_init(mc, s->mac, 16, p) > 0);
    EVP_MAC_update(mc, s->mcv, 16);
    EVP_MAC_update(mc, out.data, out.len);
    assert_true(EVP_MAC_final(mc, full, &fl, 16) > 0);
    EVP_MAC_CTX_free(mc);
    EVP_MAC_free(m);
    rsp_buf_append(&out, full, 8);
    assert_int_equal(out.err, 0);
    return out;
}

static void expect_refusal(struct rsp_bsp *s, bool enc, const uint8_t *p, size_t n, size_t max,
                           int want)
{
    struct rsp_bsp before = *s;
    struct rsp_buf plain = RSP_BUF_INIT;
    assert_int_equal(rsp_bsp_unwrap(s, enc, p, n, max, &plain), want);
    assert_int_equal(plain.len, 0);
    assert_memory_equal(s, &before, sizeof before);
    rsp_buf_free(&plain);
}

static void test_bsp_unwrap_refusals(void **state)
{
    struct rsp_bsp s;
    mode51_init(&s);
    struct rsp_buf w = tu_hex(V_CFG_WIRE);
    const size_t M = RSP_BSP_MAX_SEGMENT;

    /* the forger agrees with the vector, so the refusals below test one thing each */
    {
        struct rsp_buf plain = tu_hex("bf240080000000000000000000000000");
        struct rsp_buf f = forge(&s, 0x87, true, plain.data, 16);
        assert_int_equal(f.len, w.len);
        assert_memory_equal(f.data, w.data, w.len);
        rsp_buf_free(&f);
        rsp_buf_free(&plain);
    }

    /* bad MAC: in the MAC itself, in the ciphertext, in the header */
    for (size_t i = 0; i < w.len; i++) {
        w.data[i] ^= 0x01;
        int want = i == 1 ? RSP_ETRUNC : RSP_EVERIFY; /* 87 -> 86 is a valid tag */
        expect_refusal(&s, true, w.data, w.len, M, want);
        w.data[i] ^= 0x01;
    }
    /* truncated */
    for (size_t n = 0; n < w.len; n++)
        expect_refusal(&s, true, w.data, n, M, RSP_ETRUNC);
    /* trailing byte */
    {
        struct rsp_buf t = tu_hex(V_CFG_WIRE "00");
        expect_refusal(&s, true, t.data, t.len, M, RSP_ETRAILING);
        rsp_buf_free(&t);
    }
    /* wrong tag for the mode, unknown tag */
    expect_refusal(&s, false, w.data, w.len, M, RSP_EUNEXPECTED);
    w.data[0] = 0x85;
    expect_refusal(&s, true, w.data, w.len, M, RSP_EUNEXPECTED);
    w.data[0] = 0x87;
    /* oversize for max_len */
    expect_refusal(&s, true, w.data, w.len, w.len - 1, RSP_ERANGE);
    /* non-minimal, indefinite and 4-byte lengths */
    {
        struct rsp_buf t = tu_hex("878118" /* 81 18: non-minimal */);
        rsp_buf_append(&t, w.data + 2, w.len - 2);
        expect_refusal(&s, true, t.data, t.len, M, RSP_EBADLEN);
        rsp_buf_free(&t);
        struct rsp_buf u = tu_hex("8780");
        expect_refusal(&s, true, u.data, u.len, M, RSP_EBADLEN);
        rsp_buf_free(&u);
        struct rsp_buf v = tu_hex("8783000018");
        expect_refusal(&s, true, v.data, v.len, M, RSP_EBADLEN);
        rsp_buf_free(&v);
    }
    /* encrypted data not a whole number of blocks, or empty */
    {
        uint8_t d[17] = {0x80};
        struct rsp_buf f = forge(&s, 0x88, false, d, 17);
        f.data[0] = 0x87;
        expect_refusal(&s, true, f.data, f.len, M, RSP_EBADLEN);
        rsp_buf_free(&f);
        struct rsp_buf g = forge(&s, 0x87, false, d, 0);
        expect_refusal(&s, true, g.data, g.len, M, RSP_EBADLEN);
        rsp_buf_free(&g);
        struct rsp_buf h = tu_hex("880400000000");
        expect_refusal(&s, false, h.data, h.len, M, RSP_EBADLEN);
        rsp_buf_free(&h);
    }
    /* bad padding under a valid MAC */
    {
        const char *bad[] = {
            "bf2400000000000000000000000000 00", /* no 80 at all */
            "bf2400800000000000000000000000 01", /* non-zero after 80 */
            "bf2400000000000000000000000000 41", /* ends in data */
            "00112233445566778899aabbccddee80 00000000000000000000000000000000", /* 80 not in
                                                                                    last block */
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            struct rsp_buf p = tu_hex(bad[i]);
            struct rsp_buf f = forge(&s, 0x86, true, p.data, p.len);
            expect_refusal(&s, true, f.data, f.len, M, RSP_EVERIFY);
            rsp_buf_free(&f);
            rsp_buf_free(&p);
        }
        /* whole block of padding is fine */
        struct rsp_buf p =
            tu_hex("00112233445566778899aabbccddeeff 80000000000000000000000000000000");
        struct rsp_buf f = forge(&s, 0x86, true, p.data, p.len);
        struct rsp_buf out = RSP_BUF_INIT;
        struct rsp_bsp copy = s;
        assert_int_equal(rsp_bsp_unwrap(&copy, true, f.data, f.len, M, &out), 0);
        tu_assert_hex(out.data, out.len, "00112233445566778899aabbccddeeff");
        rsp_buf_free(&out);
        rsp_buf_free(&f);
        rsp_buf_free(&p);
    }
    /* after all of that the genuine segment still verifies: the state never moved */
    unwrap_check(&s, true, V_CFG_WIRE, V_CFG_PLAIN);
    rsp_buf_free(&w);
}

/* A 1036-byte segment (1008 plaintext bytes, as osmo-smdpp cuts them) is over the SGP.22 limit
 * but accepted when max_len allows it. */
static void test_bsp_large_segment(void **state)
{
    struct rsp_bsp s;
    mode51_init(&s);
    mode51_ppk(&s);
    uint8_t p[1024];
    for (size_t i = 0; i < sizeof p; i++)
        p[i] = (uint8_t)(i ^ 0x5a);
    p[1008] = 0x80;
    memset(p + 1009, 0, sizeof p - 1009);
    struct rsp_buf f = forge(&s, 0x86, true, p, sizeof p);
    assert_int_equal(f.len, 1036);
    tu_assert_hex(f.data, 4, "86820408");
    expect_refusal(&s, true, f.data, f.len, RSP_BSP_MAX_SEGMENT, RSP_ERANGE);
    struct rsp_buf out = RSP_BUF_INIT;
    assert_int_equal(rsp_bsp_unwrap(&s, true, f.data, f.len, 1036, &out), 0);
    assert_int_equal(out.len, 1008);
    assert_memory_equal(out.data, p, 1008);
    assert_int_equal(s.counter, 2);
    rsp_buf_free(&out);
    rsp_buf_free(&f);
}

/* Minimal BER-TLV header reader for the test: 1- or 2-byte tags, 1..3-byte lengths. */
static size_t tlv_hdr(const uint8_t *p, size_t n, unsigned *tag, size_t *vlen)
{
    size_t i = 0;
    assert_true(n >= 2);
    *tag = p[i++];
    if ((*tag & 0x1f) == 0x1f)
        *tag = (*tag << 8) | p[i++];
    uint8_t b = p[i++];
    if (b < 0x80) {
        *vlen = b;
    } else {
        size_t nb = b & 0x7f;
        assert_true(nb >= 1 && nb <= 2);
        *vlen = 0;
        for (size_t j = 0; j < nb; j++)
            *vlen = (*vlen << 8) | p[i++];
    }
    assert_true(i + *vlen <= n);
    return i;
}

/* Whole BPP of the recorded osmo-smdpp session (two-layer, 1036-byte 86 segments): A0..A2 under
 * the session keys, the PPKs from BF26, then every 86 decrypts to the TS.48 profile byte for
 * byte (sgp22-notes §5, §9). */
static void test_bsp_osmo_bpp(void **state)
{
    TU_REQUIRE_SHARED();
    struct rsp_buf json =
        tu_load(tu_shared_path("testdata/osmo-smdpp-session/es9p-exchanges.json"));
    rsp_buf_append_byte(&json, 0);
    const char *key = "\"boundProfilePackage\": \"";
    const char *b = strstr((const char *)json.data, key);
    assert_non_null(b);
    b += strlen(key);
    const char *e = strchr(b, '"');
    assert_non_null(e);
    struct rsp_buf bpp = RSP_BUF_INIT;
    assert_int_equal(rsp_base64_decode(&bpp, b, (size_t)(e - b)), 0);

    struct rsp_session_keys k;
    hex16("2f84bf60619700467d7956c4d2ad412a", k.mcv);
    hex16("5e84c72d84a18d37ef4d0851922a5584", k.s_enc);
    hex16("38cf0d5e6429a25fc99ee10278f59564", k.s_mac);
    struct rsp_bsp s;
    rsp_bsp_init(&s, &k);

    unsigned tag;
    size_t vlen, h = tlv_hdr(bpp.data, bpp.len, &tag, &vlen);
    assert_int_equal(tag, 0xbf36);
    const uint8_t *p = bpp.data + h, *end = p + vlen;
    struct rsp_buf profile = RSP_BUF_INIT, rsk = RSP_BUF_INIT, other = RSP_BUF_INIT;
    size_t n86 = 0, big = 0;
    while (p < end) {
        size_t ch = tlv_hdr(p, (size_t)(end - p), &tag, &vlen);
        const uint8_t *q = p + ch, *qend = q + vlen;
        p = qend;
        if (tag == 0xbf23)
            continue;
        while (q < qend) {
            unsigned st;
            size_t sv, sh = tlv_hdr(q, (size_t)(qend - q), &st, &sv);
            size_t seg = sh + sv;
            struct rsp_buf *dst = tag == 0xa2 ? &rsk : (tag == 0xa3 ? &profile : &other);
            assert_int_equal(rsp_bsp_unwrap(&s, st != 0x88, q, seg, 1100, dst), 0);
            if (st == 0x86) {
                n86++;
                big += seg > RSP_BSP_MAX_SEGMENT;
            }
            q += seg;
        }
        if (tag == 0xa2) {
            /* BF26 { 80 initial MCV, 81 PPK-ENC, 82 PPK-CMAC } */
            assert_int_equal(rsk.len, 3 + 3 * 18);
            tu_assert_hex(rsk.data, 3, "bf2636");
            const uint8_t *v = rsk.data + 3;
            assert_int_equal(v[0], 0x80);
            assert_int_equal(v[18], 0x81);
            assert_int_equal(v[36], 0x82);
            rsp_bsp_replace_keys(&s, v + 20, v + 38, v + 2);
            tu_assert_hex(s.enc, 16, "00000000000000000000000000000000");
            tu_assert_hex(s.mac, 16, "11111111111111111111111111111111");
            tu_assert_hex(s.mcv, 16, "22222222222222222222222222222222");
        }
    }
    assert_true(n86 > 1);
    assert_true(big > 0); /* the session really uses oversize segments */
    struct rsp_buf upp =
        tu_load(tu_shared_path("testdata/ts48-upp/TS48V2-SAIP2-3-BERTLV-UNIQUE.der"));
    assert_int_equal(profile.len, upp.len);
    assert_memory_equal(profile.data, upp.data, upp.len);

    rsp_bsp_wipe(&s);
    rsp_buf_free(&upp);
    rsp_buf_free(&profile);
    rsp_buf_free_secure(&rsk);
    rsp_buf_free(&other);
    rsp_buf_free(&bpp);
    rsp_buf_free(&json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bsp_wrap_vectors),    cmocka_unit_test(test_bsp_unwrap_vectors),
        cmocka_unit_test(test_bsp_roundtrip_sizes), cmocka_unit_test(test_bsp_unwrap_refusals),
        cmocka_unit_test(test_bsp_large_segment),   cmocka_unit_test(test_bsp_osmo_bpp),
    };
    return cmocka_run_group_tests_name("crypto_bsp", tests, NULL, NULL);
}
