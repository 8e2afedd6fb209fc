/* ECKA-DH and the X9.63 session-key KDF: known answers (sgp22-notes §9) and properties. */
#include "testutil.h"

#include <string.h>

#include "rsp/crypto.h"
#include "rsp/err.h"

/* SEC1 ECPrivateKey DER for a P-256 scalar given in hex (no public key inside). */
static struct rsp_buf sec1_p256(const char *scalar_hex)
{
    struct rsp_buf d = tu_hex("30310201010420");
    struct rsp_buf s = tu_hex(scalar_hex);
    struct rsp_buf oid = tu_hex("a00a06082a8648ce3d030107");
    rsp_buf_append(&d, s.data, s.len);
    rsp_buf_append(&d, oid.data, oid.len);
    assert_int_equal(d.err, 0);
    rsp_buf_free_secure(&s);
    rsp_buf_free(&oid);
    return d;
}

static void test_ecka_vector(void **state)
{
    /* pySim tests/unittests/test_esim.py TestECKA */
    struct rsp_buf der =
        sec1_p256("fb68a38ccedb69e15cbe03c256228998ac398587e5dc7117f948145c839d61a4");
    struct rsp_buf peer =
        tu_hex("0400f7b8d71403f21d84b00cd9e561178d737d3f4d065e62fee279271298dd4f"
               "074794ab791b9939d4461296efe388aa26731064263af988b7d2c4d77da44801b5");
    struct rsp_key *k = NULL;
    assert_int_equal(rsp_key_from_private(der.data, der.len, &k), 0);
    assert_int_equal(rsp_key_curve(k), RSP_CURVE_NIST_P256);
    uint8_t z[RSP_ECKA_Z_LEN];
    assert_int_equal(rsp_ecka(k, peer.data, peer.len, z), 0);
    tu_assert_hex(z, sizeof z, "c9a993dd4879a8f7161f2085410edd4f9652f1df37be097ba96ba2ca6be528fe");

    /* malformed peers: wrong length, compressed form, not on the curve, other curve's point */
    assert_int_equal(rsp_ecka(k, peer.data, peer.len - 1, z), RSP_EKEY);
    peer.data[0] = 0x02;
    assert_int_equal(rsp_ecka(k, peer.data, peer.len, z), RSP_EKEY);
    peer.data[0] = 0x04;
    peer.data[64] ^= 0x01;
    assert_int_equal(rsp_ecka(k, peer.data, peer.len, z), RSP_EKEY);
    struct rsp_key *bp = NULL;
    uint8_t bp_pt[RSP_EC_POINT_LEN];
    assert_int_equal(rsp_key_generate(RSP_CURVE_BRAINPOOL_P256R1, &bp), 0);
    assert_int_equal(rsp_key_point(bp, bp_pt), 0);
    assert_int_equal(rsp_ecka(k, bp_pt, sizeof bp_pt, z), RSP_EKEY);
    rsp_key_free(bp);
    rsp_key_free(k);
    rsp_buf_free_secure(&der);
    rsp_buf_free(&peer);
}

static void kdf_check(const char *z_hex, const char *host_hex, const char *eid_hex, const char *mcv,
                      const char *enc, const char *mac)
{
    struct rsp_buf z = tu_hex(z_hex), host = tu_hex(host_hex), eid = tu_hex(eid_hex);
    struct rsp_session_keys k;
    assert_int_equal(rsp_kdf_session_keys(z.data, 0x88, 0x10, host.data, host.len, eid.data, &k),
                     0);
    tu_assert_hex(k.mcv, 16, mcv);
    tu_assert_hex(k.s_enc, 16, enc);
    tu_assert_hex(k.s_mac, 16, mac);
    rsp_buf_free(&z);
    rsp_buf_free(&host);
    rsp_buf_free(&eid);
}

static void test_kdf_vectors(void **state)
{
    /* BSP_Test_mode51 (third-party SM-DP+ trace) */
    kdf_check("c9a993dd4879a8f7161f2085410edd4f9652f1df37be097ba96ba2ca6be528fe",
              "8080808080808080", "89049032123451234512345678901235",
              "406d507b448a699e7a36a38494debbde", "472f5bfadd97f21d34f3ce9b51b92751",
              "9ec07f5b36a13e12a991d66e294e6242");
    /* BSP_Test */
    kdf_check("8902dca391bbb22570fe60c176076246f568b1941265dff1d729e63039658089",
              "8080808080808080", "89049032123451234512345678901335",
              "734bc93ddb10c71c5ad13d420dc08b5b", "d782d575b22a38334556a3d9a1e2ae6b",
              "a35addc192ae8f934e2932116c7e89e7");
    /* the recorded osmo-smdpp session, hostId "mahlzeit" */
    kdf_check("dae00c48006de00904adc6d97a53f90aec100ba9767ee9ddcfe9e379f7685462",
              "6d61686c7a656974", "89049032123451234512345678901235",
              "2f84bf60619700467d7956c4d2ad412a", "5e84c72d84a18d37ef4d0851922a5584",
              "38cf0d5e6429a25fc99ee10278f59564");
}

static void test_kdf_args(void **state)
{
    uint8_t z[32] = {0}, eid[16] = {0}, host[17] = {0};
    struct rsp_session_keys k;
    assert_int_equal(rsp_kdf_session_keys(z, 0x88, 0x10, host, 0, eid, &k), RSP_ERANGE);
    assert_int_equal(rsp_kdf_session_keys(z, 0x88, 0x10, host, 17, eid, &k), RSP_ERANGE);
    assert_int_equal(rsp_kdf_session_keys(z, 0x88, 0x10, host, 16, eid, &k), 0);
    assert_int_equal(rsp_kdf_session_keys(NULL, 0x88, 0x10, host, 1, eid, &k), RSP_EINVAL);
}

/* Both sides of a fresh key agreement get the same Z, on both curves. */
static void test_ecka_agreement(void **state)
{
    enum rsp_curve curves[] = {RSP_CURVE_NIST_P256, RSP_CURVE_BRAINPOOL_P256R1};
    for (size_t i = 0; i < 2; i++) {
        struct rsp_key *a = NULL, *b = NULL;
        uint8_t pa[RSP_EC_POINT_LEN], pb[RSP_EC_POINT_LEN], za[32], zb[32];
        assert_int_equal(rsp_key_generate(curves[i], &a), 0);
        assert_int_equal(rsp_key_generate(curves[i], &b), 0);
        assert_int_equal(rsp_key_curve(a), curves[i]);
        assert_int_equal(rsp_key_point(a, pa), 0);
        assert_int_equal(rsp_key_point(b, pb), 0);
        assert_int_equal(rsp_ecka(a, pb, sizeof pb, za), 0);
        assert_int_equal(rsp_ecka(b, pa, sizeof pa, zb), 0);
        assert_memory_equal(za, zb, 32);
        /* a public-only key cannot derive */
        struct rsp_key *pub = NULL;
        assert_int_equal(rsp_key_from_point(curves[i], pa, sizeof pa, &pub), 0);
        assert_int_equal(rsp_ecka(pub, pb, sizeof pb, za), RSP_EKEY);
        rsp_key_free(pub);
        rsp_key_free(a);
        rsp_key_free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ecka_vector),
        cmocka_unit_test(test_kdf_vectors),
        cmocka_unit_test(test_kdf_args),
        cmocka_unit_test(test_ecka_agreement),
    };
    return cmocka_run_group_tests_name("crypto_ecka", tests, NULL, NULL);
}
