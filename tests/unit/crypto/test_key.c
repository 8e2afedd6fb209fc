/* Key handles: SGP.26 test keys on both curves, curve detection, import/export round trips,
 * plus the small helpers of hash.c. */
#include "crypto_tu.h"

#include "rsp/err.h"

static const struct {
    const char *sk, *pk;
    enum rsp_curve curve;
} sgp26[] = {
    {"testdata/sgp26-certs/DPauth/SK_S_SM_DPauth_ECDSA_NIST.pem",
     "testdata/sgp26-certs/DPauth/PK_S_SM_DPauth_ECDSA_NIST.pem", RSP_CURVE_NIST_P256},
    {"testdata/sgp26-certs/DPauth/SK_S_SM_DPauth_ECDSA_BRP.pem",
     "testdata/sgp26-certs/DPauth/PK_S_SM_DPauth_ECDSA_BRP.pem", RSP_CURVE_BRAINPOOL_P256R1},
    {"testdata/sgp26-certs/DPpb/SK_S_SM_DPpb_ECDSA_NIST.pem",
     "testdata/sgp26-certs/DPpb/PK_S_SM_DPpb_ECDSA_NIST.pem", RSP_CURVE_NIST_P256},
    {"testdata/sgp26-certs/DPpb/SK_S_SM_DPpb_ECDSA_BRP.pem",
     "testdata/sgp26-certs/DPpb/PK_S_SM_DPpb_ECDSA_BRP.pem", RSP_CURVE_BRAINPOOL_P256R1},
};

/* SK_*.pem (an "EC PARAMETERS" block, then "EC PRIVATE KEY") load on both curves, the curve is
 * detected and the key pairs with its PK_*.pem. */
static void test_key_sgp26(void **state)
{
    TU_REQUIRE_SHARED();
    for (size_t i = 0; i < sizeof sgp26 / sizeof sgp26[0]; i++) {
        struct rsp_key *sk = tu_load_priv(sgp26[i].sk);
        struct rsp_key *pk = tu_load_pub(sgp26[i].pk);
        assert_int_equal(rsp_key_curve(sk), sgp26[i].curve);
        assert_int_equal(rsp_key_curve(pk), sgp26[i].curve);
        assert_true(rsp_key_has_private(sk));
        assert_false(rsp_key_has_private(pk));
        uint8_t a[RSP_EC_POINT_LEN], b[RSP_EC_POINT_LEN], sig[RSP_ECDSA_SIG_LEN];
        assert_int_equal(rsp_key_point(sk, a), 0);
        assert_int_equal(rsp_key_point(pk, b), 0);
        assert_memory_equal(a, b, sizeof a);
        assert_int_equal(rsp_ecdsa_sign(sk, "x", 1, sig), 0);
        assert_int_equal(rsp_ecdsa_verify(pk, "x", 1, sig, sizeof sig), 0);

        /* the same key as SEC1 DER (the EC PRIVATE KEY block alone) */
        struct rsp_buf pem = tu_load(tu_shared_path(sgp26[i].sk));
        struct rsp_buf der = tu_pem_block(pem.data, pem.len, "EC PRIVATE KEY");
        struct rsp_key *k2 = NULL;
        assert_int_equal(rsp_key_from_private(der.data, der.len, &k2), 0);
        assert_int_equal(rsp_key_curve(k2), sgp26[i].curve);
        assert_int_equal(rsp_key_point(k2, b), 0);
        assert_memory_equal(a, b, sizeof a);
        /* truncated DER is refused */
        struct rsp_key *k3 = NULL;
        assert_int_equal(rsp_key_from_private(der.data, der.len - 1, &k3), RSP_EKEY);
        assert_null(k3);
        rsp_key_free(k2);
        rsp_buf_free_secure(&der);
        rsp_buf_free_secure(&pem);
        rsp_key_free(pk);
        rsp_key_free(sk);
    }
}

/* export_private_pem -> from_private and export_public_pem -> from_spki give the same key. */
static void test_key_export_roundtrip(void **state)
{
    enum rsp_curve curves[] = {RSP_CURVE_NIST_P256, RSP_CURVE_BRAINPOOL_P256R1};
    for (size_t i = 0; i < 2; i++) {
        struct rsp_key *k = NULL, *k2 = NULL, *p2 = NULL, *k4 = NULL;
        uint8_t a[RSP_EC_POINT_LEN], b[RSP_EC_POINT_LEN], sig[RSP_ECDSA_SIG_LEN];
        assert_int_equal(rsp_key_generate(curves[i], &k), 0);
        assert_int_equal(rsp_key_point(k, a), 0);
        assert_int_equal(a[0], 0x04);

        struct rsp_buf priv = RSP_BUF_INIT, pub = RSP_BUF_INIT;
        assert_int_equal(rsp_key_export_private_pem(k, &priv), 0);
        static const char hdr[] = "-----BEGIN PRIVATE KEY-----";
        assert_true(priv.len > sizeof hdr - 1);
        assert_memory_equal(priv.data, hdr, sizeof hdr - 1); /* PEM is not NUL-terminated */
        assert_int_equal(rsp_key_from_private(priv.data, priv.len, &k2), 0);
        assert_int_equal(rsp_key_curve(k2), curves[i]);
        assert_int_equal(rsp_key_point(k2, b), 0);
        assert_memory_equal(a, b, sizeof a);
        assert_int_equal(rsp_ecdsa_sign(k2, "m", 1, sig), 0);
        assert_int_equal(rsp_ecdsa_verify(k, "m", 1, sig, sizeof sig), 0);

        /* PKCS#8 DER too */
        struct rsp_buf p8 = tu_pem_block(priv.data, priv.len, "PRIVATE KEY");
        assert_int_equal(rsp_key_from_private(p8.data, p8.len, &k4), 0);
        assert_int_equal(rsp_key_point(k4, b), 0);
        assert_memory_equal(a, b, sizeof a);

        assert_int_equal(rsp_key_export_public_pem(k, &pub), 0);
        struct rsp_buf spki = tu_pem_block(pub.data, pub.len, "PUBLIC KEY");
        assert_int_equal(rsp_key_from_spki(spki.data, spki.len, &p2), 0);
        assert_int_equal(rsp_key_curve(p2), curves[i]);
        assert_int_equal(rsp_key_point(p2, b), 0);
        assert_memory_equal(a, b, sizeof a);
        /* a public key has no private half to export */
        struct rsp_buf none = RSP_BUF_INIT;
        assert_int_equal(rsp_key_export_private_pem(p2, &none), RSP_EKEY);
        assert_int_equal(none.len, 0);
        /* a public SPKI is not a private key, a private key is not an SPKI */
        struct rsp_key *x = NULL;
        assert_int_equal(rsp_key_from_private(spki.data, spki.len, &x), RSP_EKEY);
        assert_int_equal(rsp_key_from_private(pub.data, pub.len, &x), RSP_EKEY);
        assert_int_equal(rsp_key_from_spki(p8.data, p8.len, &x), RSP_EKEY);
        assert_null(x);

        rsp_buf_free(&spki);
        rsp_buf_free_secure(&p8);
        rsp_buf_free(&pub);
        rsp_buf_free_secure(&priv);
        rsp_key_free(k4);
        rsp_key_free(p2);
        rsp_key_free(k2);
        rsp_key_free(k);
    }
}

static void test_key_from_point(void **state)
{
    struct rsp_key *k = NULL, *p = NULL;
    uint8_t pt[RSP_EC_POINT_LEN];
    assert_int_equal(rsp_key_generate(RSP_CURVE_BRAINPOOL_P256R1, &k), 0);
    assert_int_equal(rsp_key_point(k, pt), 0);
    assert_int_equal(rsp_key_from_point(RSP_CURVE_BRAINPOOL_P256R1, pt, sizeof pt, &p), 0);
    rsp_key_free(p);
    p = NULL;
    assert_int_equal(rsp_key_from_point(RSP_CURVE_NONE, pt, sizeof pt, &p), RSP_ECURVE);
    assert_int_equal(rsp_key_from_point((enum rsp_curve)7, pt, sizeof pt, &p), RSP_ECURVE);
    assert_int_equal(rsp_key_from_point(RSP_CURVE_NIST_P256, pt, sizeof pt, &p), RSP_EKEY);
    assert_int_equal(rsp_key_from_point(RSP_CURVE_BRAINPOOL_P256R1, pt, 64, &p), RSP_EKEY);
    assert_int_equal(rsp_key_from_point(RSP_CURVE_BRAINPOOL_P256R1, pt + 1, 64, &p), RSP_EKEY);
    pt[10] ^= 0x40;
    assert_int_equal(rsp_key_from_point(RSP_CURVE_BRAINPOOL_P256R1, pt, sizeof pt, &p), RSP_EKEY);
    uint8_t zero[RSP_EC_POINT_LEN] = {0x04};
    assert_int_equal(rsp_key_from_point(RSP_CURVE_NIST_P256, zero, sizeof zero, &p), RSP_EKEY);
    assert_null(p);
    assert_int_equal(rsp_key_generate(RSP_CURVE_NONE, &p), RSP_ECURVE);
    struct rsp_key *g = NULL;
    assert_int_equal(rsp_key_from_private((const uint8_t *)"garbage", 7, &g), RSP_EKEY);
    assert_int_equal(rsp_key_from_private((const uint8_t *)"-----BEGIN", 10, &g), RSP_EKEY);
    assert_null(g);
    rsp_key_free(NULL);
    assert_int_equal(rsp_key_curve(NULL), RSP_CURVE_NONE);
    rsp_key_free(k);
}

/* A non-EC and a non-supported-curve key are refused. */
static void test_key_unsupported(void **state)
{
    /* PKCS#8 Ed25519 key (RFC 8410 example) */
    struct rsp_buf ed = tu_hex("302e020100300506032b657004220420"
                               "d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842");
    struct rsp_key *k = NULL;
    assert_int_equal(rsp_key_from_private(ed.data, ed.len, &k), RSP_EKEY);
    assert_null(k);
    rsp_buf_free(&ed);
    /* a throw-away secp384r1 key (SEC1 DER) parses but its curve is not supported */
    struct rsp_buf p384 =
        tu_hex("3081a40201010430d9d4e552b2247b2a211ca19d6bd1afefc846e150d812883e36a277ccd47fe0b2"
               "aa9f58bd9fabffdbc7d2541ce7b83027a00706052b81040022a1640362000473888ce9abf053a75d"
               "d2dbfdc6fa15b1e86e07c26bf7e29fef70d0cea595e25b32512f745a6baafd075b0ace0ae83a9bab"
               "15ff53fb7ecfd2db15d2981904f5c31f7c3c246e47ef48b2afb0a1a3f08ce3c19b8eb9d0e2748e93"
               "5ff230b6a441ea");
    assert_int_equal(rsp_key_from_private(p384.data, p384.len, &k), RSP_ECURVE);
    assert_null(k);
    rsp_buf_free(&p384);
}

static void test_hash_helpers(void **state)
{
    uint8_t h[RSP_SHA256_LEN];
    assert_int_equal(rsp_sha256("abc", 3, h), 0);
    tu_assert_hex(h, sizeof h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(rsp_sha256(NULL, 0, h), 0);
    tu_assert_hex(h, sizeof h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    uint8_t r1[32] = {0}, r2[32] = {0};
    assert_int_equal(rsp_random(r1, sizeof r1), 0);
    assert_int_equal(rsp_random(r2, sizeof r2), 0);
    assert_memory_not_equal(r1, r2, sizeof r1);
    assert_int_equal(rsp_random(NULL, 0), 0);
    assert_string_equal(rsp_curve_name(RSP_CURVE_NIST_P256), "nist");
    assert_string_equal(rsp_curve_name(RSP_CURVE_BRAINPOOL_P256R1), "brainpool");
    assert_null(rsp_curve_name(RSP_CURVE_NONE));
}

/* The named-curve SPKI of each curve (the fast path of rsp_key_from_spki): same key as exported;
 * a point off the curve and a trailing byte are refused. */
static void test_key_spki_forms(void **state)
{
    enum rsp_curve curves[] = {RSP_CURVE_NIST_P256, RSP_CURVE_BRAINPOOL_P256R1};
    for (size_t i = 0; i < 2; i++) {
        struct rsp_key *k = NULL, *p = NULL;
        uint8_t a[RSP_EC_POINT_LEN], b[RSP_EC_POINT_LEN];
        assert_int_equal(rsp_key_generate(curves[i], &k), 0);
        assert_int_equal(rsp_key_point(k, a), 0);
        struct rsp_buf pub = RSP_BUF_INIT;
        assert_int_equal(rsp_key_export_public_pem(k, &pub), 0);
        struct rsp_buf spki = tu_pem_block(pub.data, pub.len, "PUBLIC KEY");
        assert_int_equal(spki.len, (i == 0 ? 26 : 27) + RSP_EC_POINT_LEN);
        assert_int_equal(rsp_key_from_spki(spki.data, spki.len, &p), 0);
        assert_int_equal(rsp_key_curve(p), curves[i]);
        assert_int_equal(rsp_key_point(p, b), 0);
        assert_memory_equal(a, b, sizeof a);
        rsp_key_free(p);
        p = NULL;
        spki.data[spki.len - 1] ^= 0x01; /* y no longer matches x */
        assert_int_equal(rsp_key_from_spki(spki.data, spki.len, &p), RSP_EKEY);
        assert_null(p);
        spki.data[spki.len - 1] ^= 0x01;
        assert_int_equal(rsp_buf_append(&spki, "", 1), 0); /* a trailing byte */
        assert_int_equal(rsp_key_from_spki(spki.data, spki.len, &p), RSP_EKEY);
        assert_null(p);
        rsp_buf_free(&spki);
        rsp_buf_free(&pub);
        rsp_key_free(k);
    }
}

/* An external key (an HSM stand-in): the callback gets SHA-256(msg) and answers a signature the
 * test made beforehand with the real key. */
struct ext_ctx {
    uint8_t want_hash[RSP_SHA256_LEN];
    uint8_t sig[RSP_ECDSA_SIG_LEN];
    int calls, frees;
};

static int ext_sign(void *ctx, const uint8_t hash[RSP_SHA256_LEN], uint8_t sig[RSP_ECDSA_SIG_LEN])
{
    struct ext_ctx *c = ctx;
    c->calls++;
    if (memcmp(hash, c->want_hash, RSP_SHA256_LEN) != 0)
        return RSP_EVERIFY;
    memcpy(sig, c->sig, RSP_ECDSA_SIG_LEN);
    return 0;
}

static void ext_free(void *ctx)
{
    ((struct ext_ctx *)ctx)->frees++;
}

static void test_key_external(void **state)
{
    static const struct rsp_key_external_ops ops = {
        .name = "test-hsm", .sign_hash = ext_sign, .ecdh = NULL, .free = ext_free};
    struct rsp_key *soft = NULL, *ext = NULL;
    struct ext_ctx c = {0};
    uint8_t pt[RSP_EC_POINT_LEN], pt2[RSP_EC_POINT_LEN], sig[RSP_ECDSA_SIG_LEN], z[32];
    assert_int_equal(rsp_key_generate(RSP_CURVE_NIST_P256, &soft), 0);
    assert_int_equal(rsp_key_point(soft, pt), 0);
    assert_int_equal(rsp_ecdsa_sign(soft, "msg", 3, c.sig), 0);
    assert_int_equal(rsp_sha256("msg", 3, c.want_hash), 0);
    assert_int_equal(rsp_key_from_external(RSP_CURVE_NIST_P256, pt, NULL, &c, &ext), RSP_EINVAL);
    pt[64] ^= 1; /* off the curve: refused, ctx not freed */
    assert_int_equal(rsp_key_from_external(RSP_CURVE_NIST_P256, pt, &ops, &c, &ext), RSP_EKEY);
    assert_null(ext);
    pt[64] ^= 1;
    assert_int_equal(rsp_key_from_external(RSP_CURVE_NIST_P256, pt, &ops, &c, &ext), 0);
    assert_true(rsp_key_has_private(ext));
    assert_string_equal(rsp_key_backend(ext), "test-hsm");
    assert_string_equal(rsp_key_backend(soft), "openssl");
    assert_int_equal(rsp_key_point(ext, pt2), 0);
    assert_memory_equal(pt, pt2, sizeof pt);
    assert_int_equal(rsp_ecdsa_sign(ext, "msg", 3, sig), 0);
    assert_int_equal(c.calls, 1);
    assert_int_equal(rsp_ecdsa_verify(ext, "msg", 3, sig, sizeof sig), 0);
    assert_int_equal(rsp_ecdsa_sign(ext, "other", 5, sig), RSP_EVERIFY); /* the callback's error */
    struct rsp_buf none = RSP_BUF_INIT;
    assert_int_equal(rsp_key_export_private_pem(ext, &none), RSP_ESTATE);
    assert_int_equal(rsp_ecka(ext, pt, sizeof pt, z), RSP_EKEY); /* no ecdh callback */
    assert_int_equal(c.frees, 0);
    rsp_key_free(ext);
    assert_int_equal(c.frees, 1);
    rsp_key_free(soft);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_sgp26),      cmocka_unit_test(test_key_export_roundtrip),
        cmocka_unit_test(test_key_from_point), cmocka_unit_test(test_key_unsupported),
        cmocka_unit_test(test_key_spki_forms), cmocka_unit_test(test_key_external),
        cmocka_unit_test(test_hash_helpers),
    };
    return cmocka_run_group_tests_name("crypto_key", tests, NULL, NULL);
}
