/* ECDSA in TR-03111 form: round trips, DER conversion, refusals, real SM-DP+ signatures. */
#include "crypto_tu.h"

#include "rsp/err.h"

static void test_ecdsa_roundtrip(void **state)
{
    enum rsp_curve curves[] = {RSP_CURVE_NIST_P256, RSP_CURVE_BRAINPOOL_P256R1};
    static const char msg[] = "serverSigned1 stand-in";
    for (size_t i = 0; i < 2; i++) {
        struct rsp_key *k = NULL, *pub = NULL, *other = NULL;
        uint8_t sig[RSP_ECDSA_SIG_LEN], pt[RSP_EC_POINT_LEN];
        assert_int_equal(rsp_key_generate(curves[i], &k), 0);
        assert_int_equal(rsp_ecdsa_sign(k, msg, sizeof msg, sig), 0);
        assert_int_equal(rsp_ecdsa_verify(k, msg, sizeof msg, sig, sizeof sig), 0);
        /* the public half alone verifies, but cannot sign */
        assert_int_equal(rsp_key_point(k, pt), 0);
        assert_int_equal(rsp_key_from_point(curves[i], pt, sizeof pt, &pub), 0);
        assert_false(rsp_key_has_private(pub));
        assert_int_equal(rsp_ecdsa_verify(pub, msg, sizeof msg, sig, sizeof sig), 0);
        assert_int_equal(rsp_ecdsa_sign(pub, msg, sizeof msg, sig), RSP_EKEY);
        /* every single flipped bit of the signature or the message fails with RSP_EVERIFY */
        for (size_t bit = 0; bit < 8 * sizeof sig; bit += 7) {
            sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            assert_int_equal(rsp_ecdsa_verify(pub, msg, sizeof msg, sig, sizeof sig), RSP_EVERIFY);
            sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        char msg2[sizeof msg];
        memcpy(msg2, msg, sizeof msg);
        msg2[3] ^= 0x20;
        assert_int_equal(rsp_ecdsa_verify(pub, msg2, sizeof msg2, sig, sizeof sig), RSP_EVERIFY);
        /* wrong length: neither a truncated nor a padded signature is accepted */
        assert_int_equal(rsp_ecdsa_verify(pub, msg, sizeof msg, sig, 63), RSP_EBADLEN);
        assert_int_equal(rsp_ecdsa_verify(pub, msg, sizeof msg, sig, 0), RSP_EBADLEN);
        uint8_t longer[65] = {0};
        memcpy(longer + 1, sig, 64);
        assert_int_equal(rsp_ecdsa_verify(pub, msg, sizeof msg, longer, 65), RSP_EBADLEN);
        /* r = s = 0 and r = s = all ones (>= n) never verify */
        uint8_t zero[64] = {0}, ones[64];
        memset(ones, 0xff, sizeof ones);
        assert_int_equal(rsp_ecdsa_verify(pub, msg, sizeof msg, zero, 64), RSP_EVERIFY);
        assert_int_equal(rsp_ecdsa_verify(pub, msg, sizeof msg, ones, 64), RSP_EVERIFY);
        /* a key on the other curve does not verify it */
        assert_int_equal(rsp_key_generate(curves[1 - i], &other), 0);
        assert_int_equal(rsp_ecdsa_verify(other, msg, sizeof msg, sig, sizeof sig), RSP_EVERIFY);
        /* an empty message is fine */
        assert_int_equal(rsp_ecdsa_sign(k, NULL, 0, sig), 0);
        assert_int_equal(rsp_ecdsa_verify(pub, NULL, 0, sig, sizeof sig), 0);
        rsp_key_free(other);
        rsp_key_free(pub);
        rsp_key_free(k);
    }
}

static void der_roundtrip(const char *raw_hex, const char *der_hex)
{
    struct rsp_buf raw = tu_hex(raw_hex);
    assert_int_equal(raw.len, 64);
    struct rsp_buf der = RSP_BUF_INIT;
    assert_int_equal(rsp_ecdsa_sig_to_der(raw.data, &der), 0);
    tu_assert_hex(der.data, der.len, der_hex);
    uint8_t back[64];
    assert_int_equal(rsp_ecdsa_sig_from_der(der.data, der.len, back), 0);
    assert_memory_equal(back, raw.data, 64);
    rsp_buf_free(&der);
    rsp_buf_free(&raw);
}

#define Z31 "00000000000000000000000000000000000000000000000000000000000000"
#define F30 "111111111111111111111111111111111111111111111111111111111111"
#define F31 "11111111111111111111111111111111111111111111111111111111111111"

static void test_ecdsa_der_conversion(void **state)
{
    /* r with 31 leading zero bytes, s with the high bit set (needs a 00 sign byte) */
    der_roundtrip(Z31 "01"
                      "80" F31,
                  "3026 020101 02210080" F31);
    /* r = 0 is encoded as a single 00; s with one leading zero byte and then 7f */
    der_roundtrip(Z31 "00"
                      "007f" F30,
                  "3024 020100 021f7f" F30);
    /* both full width, high bits clear */
    der_roundtrip("7f" F31 "7f" F31, "3044 02207f" F31 "02207f" F31);
    /* both with high bit set: 72 bytes, the maximum */
    der_roundtrip("ff" F31 "ff" F31, "3046 022100ff" F31 "022100ff" F31);

    /* strict DER: refusals */
    uint8_t sig[64];
    struct {
        const char *der;
        int want;
    } bad[] = {
        {"", RSP_ETRUNC},
        {"30", RSP_ETRUNC},
        {"31060201010201 01", RSP_EUNEXPECTED},
        {"3006020101020101 00", RSP_ETRAILING},       /* bytes after the SEQUENCE */
        {"3007020101020101 00", RSP_ETRAILING},       /* bytes after s inside it */
        {"3007020101020101", RSP_ETRUNC},             /* SEQUENCE longer than the input */
        {"308106020101020101", RSP_EBADLEN},          /* long-form length */
        {"3006020101030101", RSP_EUNEXPECTED},        /* s not an INTEGER */
        {"30070202000102 0101", RSP_EBADLEN},         /* non-minimal r */
        {"3006020180020101", RSP_ERANGE},             /* negative r */
        {"3005020002 0101", RSP_EBADLEN},             /* empty INTEGER */
        {"3003020101", RSP_ETRUNC},                   /* s missing */
        {"302702220101" F31 "01 020101", RSP_ERANGE}, /* r of 34 bytes */
        {"3026022101" F31 "01 020101", RSP_ERANGE},   /* r of 33 bytes, no sign byte */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct rsp_buf d = tu_hex(bad[i].der);
        int got = rsp_ecdsa_sig_from_der(d.data ? d.data : (const uint8_t *)"", d.len, sig);
        if (got != bad[i].want)
            fail_msg("case %zu (%s): got %d want %d", i, bad[i].der, got, bad[i].want);
        rsp_buf_free(&d);
    }
}

/* data_sig.der of the SGP.26 set is a DER ECDSA-Sig-Value (two 32-byte INTEGERs). */
static void test_ecdsa_der_sgp26(void **state)
{
    TU_REQUIRE_SHARED();
    struct rsp_buf d = tu_load(tu_shared_path("testdata/sgp26-certs/DPauth/data_sig.der"));
    uint8_t sig[64];
    assert_int_equal(rsp_ecdsa_sig_from_der(d.data, d.len, sig), 0);
    tu_assert_hex(sig, 64,
                  "414cb61afe56bf6552cccdec418848ca74a307d7f4cdba846e10ec453c4ee5fb"
                  "52a47e26c06b5cfe107ead09c9526cdcdbb09f89a537ec19b64e1e8c8e6d57f8");
    struct rsp_buf back = RSP_BUF_INIT;
    assert_int_equal(rsp_ecdsa_sig_to_der(sig, &back), 0);
    assert_int_equal(back.len, d.len);
    assert_memory_equal(back.data, d.data, d.len);
    rsp_buf_free(&back);
    rsp_buf_free(&d);
}

/* The recorded osmo-smdpp session: serverSignature1 over the raw serverSigned1 (sgp22-notes §4),
 * with the DPauth key taken both from its PEM and from the SPKI inside the certificate. */
static void test_ecdsa_server_signature1(void **state)
{
    TU_REQUIRE_SHARED();
    struct rsp_buf signed1 = tu_hex(
        "30518010d0a956cd160143f194e0a2d0020187708110d841ea083038f873cc881d4081fb3def83197465"
        "7374736d6470706c7573312e6578616d706c652e636f6d8410ae0117756c6abc488b34d44657b4cbb5");
    struct rsp_buf sig1 = tu_hex(
        "5f37400b9634cf34da89982d2b1f31d514fd4339e4886c5f0bd7c84b0ec2811aa44e10e5951f3d070bde"
        "ff35eb8ddcd7ad31f003dd558e22e7a8e5f2d532d07dc56802");
    assert_int_equal(sig1.len, 67);
    const uint8_t *rs = sig1.data + 3;

    struct rsp_key *pk =
        tu_load_pub("testdata/osmo-smdpp-session/certs/DPauth/PK_S_SM_DPauth_ECDSA_NIST.pem");
    assert_int_equal(rsp_key_curve(pk), RSP_CURVE_NIST_P256);
    assert_int_equal(rsp_ecdsa_verify(pk, signed1.data, signed1.len, rs, 64), 0);

    /* SPKI of the certificate: SEQUENCE { id-ecPublicKey, prime256v1 } BIT STRING (91 bytes) */
    struct rsp_buf cert = tu_load(
        tu_shared_path("testdata/osmo-smdpp-session/certs/DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der"));
    struct rsp_buf prefix = tu_hex("3059301306072a8648ce3d020106082a8648ce3d030107034200");
    const uint8_t *spki = NULL;
    for (size_t i = 0; i + 91 <= cert.len; i++)
        if (memcmp(cert.data + i, prefix.data, prefix.len) == 0)
            spki = cert.data + i;
    assert_non_null(spki);
    struct rsp_key *ck = NULL;
    assert_int_equal(rsp_key_from_spki(spki, 91, &ck), 0);
    assert_int_equal(rsp_ecdsa_verify(ck, signed1.data, signed1.len, rs, 64), 0);
    /* SPKI with trailing bytes, or cut short, is refused */
    struct rsp_key *bad = NULL;
    assert_int_equal(rsp_key_from_spki(spki, 90, &bad), RSP_EKEY);
    assert_null(bad);

    /* a different byte anywhere in serverSigned1 breaks it */
    signed1.data[20] ^= 0x01;
    assert_int_equal(rsp_ecdsa_verify(ck, signed1.data, signed1.len, rs, 64), RSP_EVERIFY);
    signed1.data[20] ^= 0x01;
    /* the DER-encoded form of the same signature is not what RSP carries */
    assert_int_equal(rsp_ecdsa_verify(ck, signed1.data, signed1.len, sig1.data, sig1.len),
                     RSP_EBADLEN);

    rsp_key_free(ck);
    rsp_key_free(pk);
    rsp_buf_free(&prefix);
    rsp_buf_free(&cert);
    rsp_buf_free(&sig1);
    rsp_buf_free(&signed1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ecdsa_roundtrip),
        cmocka_unit_test(test_ecdsa_der_conversion),
        cmocka_unit_test(test_ecdsa_der_sgp26),
        cmocka_unit_test(test_ecdsa_server_signature1),
    };
    return cmocka_run_group_tests_name("crypto_ecdsa", tests, NULL, NULL);
}
