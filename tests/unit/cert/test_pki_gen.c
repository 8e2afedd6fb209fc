/* Test-PKI generator: both curves in memory, every chain verifies, keys match, and the certificate
 * shapes (extensions and their criticality) mirror the SGP.26 / osmo-smdpp certificates. */
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certtest.h"
#include "rsp/crypto.h"
#include "rsp/pki.h"

static const enum rsp_cert_role roles[RSP_PKI_NROLES] = {
    RSP_ROLE_CI, RSP_ROLE_EUM, RSP_ROLE_EUICC, RSP_ROLE_DP_AUTH, RSP_ROLE_DP_PB, RSP_ROLE_DP_TLS,
};

static void check_set(const struct rsp_pki_set *set, const struct rsp_pki_opts *o)
{
    struct rsp_cert *c[RSP_PKI_NROLES];
    for (int r = 0; r < RSP_PKI_NROLES; r++) {
        c[r] = ct_mem(&set->item[r].cert_der);
        assert_int_equal(rsp_cert_role(c[r]), roles[r]);
        assert_int_equal(rsp_cert_curve(c[r]), set->curve);
        /* the private key belongs to the certificate */
        struct rsp_key *priv = NULL, *pub = NULL;
        assert_int_equal(rsp_pki_item_key(&set->item[r], &priv), 0);
        assert_true(rsp_key_has_private(priv));
        assert_int_equal(rsp_cert_pubkey(c[r], &pub), 0);
        uint8_t p1[RSP_EC_POINT_LEN], p2[RSP_EC_POINT_LEN];
        assert_int_equal(rsp_key_point(priv, p1), 0);
        assert_int_equal(rsp_key_point(pub, p2), 0);
        assert_memory_equal(p1, p2, sizeof p1);
        /* and signs what the certificate's key verifies */
        uint8_t sig[RSP_ECDSA_SIG_LEN];
        assert_int_equal(rsp_ecdsa_sign(priv, "rspkit", 6, sig), 0);
        assert_int_equal(rsp_ecdsa_verify(pub, "rspkit", 6, sig, sizeof sig), 0);
        rsp_key_free(priv);
        rsp_key_free(pub);
        static const char hdr[] = "-----BEGIN PRIVATE KEY-----"; /* PKCS#8, unencrypted */
        assert_true(set->item[r].key_pem.len > sizeof hdr);
        assert_memory_equal(set->item[r].key_pem.data, hdr, sizeof hdr - 1);
    }
    char detail[RSP_CERT_DETAIL_SZ];
    time_t now = time(NULL);
    int rc = rsp_cert_verify_euicc_chain(c[RSP_PKI_CI], c[RSP_PKI_EUM], c[RSP_PKI_EUICC], now,
                                         detail, sizeof detail);
    if (rc != 0)
        fail_msg("euicc chain: %d %s", rc, detail);
    assert_int_equal(rsp_cert_verify_dp(c[RSP_PKI_CI], c[RSP_PKI_DPAUTH], RSP_ROLE_DP_AUTH, now,
                                        detail, sizeof detail),
                     0);
    assert_int_equal(rsp_cert_verify_dp(c[RSP_PKI_CI], c[RSP_PKI_DPPB], RSP_ROLE_DP_PB, now, detail,
                                        sizeof detail),
                     0);
    rc = rsp_cert_verify_dp(c[RSP_PKI_CI], c[RSP_PKI_DPTLS], RSP_ROLE_DP_TLS, now, detail,
                            sizeof detail);
    if (rc != 0)
        fail_msg("dptls: %d %s", rc, detail);
    /* validity: `days` from not_before */
    time_t nb, na;
    assert_int_equal(rsp_cert_validity(c[RSP_PKI_EUICC], &nb, &na), 0);
    assert_int_equal(na - nb, (time_t)o->days * 86400);
    assert_int_equal(rsp_cert_verify_dp(c[RSP_PKI_CI], c[RSP_PKI_DPAUTH], RSP_ROLE_DP_AUTH, na + 1,
                                        detail, sizeof detail),
                     RSP_EEXPIRED);

    char s[128];
    assert_int_equal(rsp_cert_eid(c[RSP_PKI_EUICC], s), 0);
    assert_string_equal(s, o->eid);
    for (int r = RSP_PKI_DPAUTH; r <= RSP_PKI_DPTLS; r++) {
        assert_int_equal(rsp_cert_registered_id(c[r], s, sizeof s), 0);
        assert_string_equal(s, o->smdp_oid);
    }
    assert_int_equal(rsp_cert_dns_name(c[RSP_PKI_DPTLS], s, sizeof s), 0);
    assert_string_equal(s, o->smdp_host);
    struct rsp_iin_list l;
    assert_int_equal(rsp_cert_permitted_iins(c[RSP_PKI_EUM], &l), 0);
    /* the same IIN from nameConstraints (bound to O) and from 2.23.146.1.2.2.0 */
    assert_int_equal(l.n, 2);
    assert_string_equal(l.e[0].iin, o->eum_iin);
    assert_string_equal(l.e[0].org, "RSP Test EUM");
    assert_string_equal(l.e[1].iin, o->eum_iin);
    assert_string_equal(l.e[1].org, "");
    uint8_t ski[RSP_KEYID_LEN], aki[RSP_KEYID_LEN];
    assert_int_equal(rsp_cert_ski(c[RSP_PKI_CI], ski), 0);
    assert_int_equal(rsp_cert_aki(c[RSP_PKI_CI], aki), RSP_EMISSING);
    for (int r = 0; r < RSP_PKI_NROLES; r++)
        rsp_cert_free(c[r]);
}

static void test_generate_both(void **state)
{
    (void)state;
    struct rsp_pki_opts o;
    rsp_pki_opts_default(&o);
    struct rsp_pki p;
    assert_int_equal(rsp_pki_generate(&o, &p), 0);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.set[0].curve, RSP_CURVE_NIST_P256);
    assert_int_equal(p.set[1].curve, RSP_CURVE_BRAINPOOL_P256R1);
    check_set(&p.set[0], &o);
    check_set(&p.set[1], &o);

    /* the two curves have independent CIs */
    struct rsp_cert *ci_n = ct_mem(&p.set[0].item[RSP_PKI_CI].cert_der);
    struct rsp_cert *dp_b = ct_mem(&p.set[1].item[RSP_PKI_DPAUTH].cert_der);
    char detail[RSP_CERT_DETAIL_SZ];
    assert_int_equal(
        rsp_cert_verify_dp(ci_n, dp_b, RSP_ROLE_DP_AUTH, time(NULL), detail, sizeof detail),
        RSP_ECHAIN);
    rsp_cert_free(ci_n);
    rsp_cert_free(dp_b);

    /* PEM form of a certificate parses back to the same DER */
    struct rsp_buf pem = RSP_BUF_INIT;
    const struct rsp_buf *der = &p.set[0].item[RSP_PKI_DPTLS].cert_der;
    assert_int_equal(rsp_pki_cert_pem(der->data, der->len, &pem), 0);
    struct rsp_cert *c = ct_mem(&pem);
    const uint8_t *d;
    size_t n;
    assert_int_equal(rsp_cert_der(c, &d, &n), 0);
    assert_int_equal(n, der->len);
    assert_memory_equal(d, der->data, n);
    rsp_cert_free(c);
    rsp_buf_free(&pem);
    rsp_pki_free(&p);
    rsp_pki_free(&p); /* idempotent */
}

static void test_options(void **state)
{
    (void)state;
    struct rsp_pki_opts o;
    rsp_pki_opts_default(&o);
    o.curves = RSP_PKI_BRP;
    o.smdp_host = "smdp.lab.example.org";
    o.smdp_oid = "2.999.12";
    o.eid = "89033023000000000000000000000123";
    o.eum_iin = "8903302";
    o.days = 30;
    o.not_before = time(NULL) - 86400;
    struct rsp_pki p;
    assert_int_equal(rsp_pki_generate(&o, &p), 0);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.set[0].curve, RSP_CURVE_BRAINPOOL_P256R1);
    check_set(&p.set[0], &o);
    rsp_pki_free(&p);

    struct rsp_pki_opts bad = o;
    bad.eid = "8904903212345123451234567890123";
    assert_int_equal(rsp_pki_generate(&bad, &p), RSP_ESYNTAX);
    assert_int_equal(p.n, 0);
    bad = o;
    bad.smdp_oid = "2.999.";
    assert_int_equal(rsp_pki_generate(&bad, &p), RSP_ESYNTAX);
    bad = o;
    bad.smdp_host = "bad host";
    assert_int_equal(rsp_pki_generate(&bad, &p), RSP_ESYNTAX);
    bad = o;
    bad.eum_iin = "89x";
    assert_int_equal(rsp_pki_generate(&bad, &p), RSP_ESYNTAX);
    bad = o;
    bad.curves = 0;
    assert_int_equal(rsp_pki_generate(&bad, &p), RSP_EINVAL);
    bad = o;
    bad.days = 0;
    assert_int_equal(rsp_pki_generate(&bad, &p), RSP_EINVAL);
    assert_int_equal(rsp_pki_generate(NULL, &p), RSP_EINVAL);
    assert_string_equal(rsp_pki_role_stem(RSP_PKI_DPTLS), "dptls");
    assert_string_equal(rsp_pki_curve_dir(RSP_CURVE_BRAINPOOL_P256R1), "brp");
}

/* A lab SM-DP+ addressed by an IPv4 literal: the DPtls certificate names it as dNSName and as
 * iPAddress (what TLS clients match an address against); a DNS name gets no iPAddress. */
static void test_ip_host(void **state)
{
    (void)state;
    const char *hosts[] = {"127.0.0.1", "smdp.lab.example.org"};
    for (int i = 0; i < 2; i++) {
        struct rsp_pki_opts o;
        rsp_pki_opts_default(&o);
        o.curves = RSP_PKI_NIST;
        o.smdp_host = hosts[i];
        struct rsp_pki p;
        assert_int_equal(rsp_pki_generate(&o, &p), 0);
        check_set(&p.set[0], &o);
        const struct rsp_buf *der = &p.set[0].item[RSP_PKI_DPTLS].cert_der;
        const unsigned char *d = der->data;
        X509 *x = d2i_X509(NULL, &d, (long)der->len);
        assert_non_null(x);
        assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), i == 0 ? 1 : 0);
        assert_int_equal(X509_check_host(x, hosts[i], 0, 0, NULL), 1);
        X509_free(x);
        rsp_pki_free(&p);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* "OID" (+ "!" if critical) for each extension of a certificate, in a fixed order, into out. */
static void ext_shape(const uint8_t *der, size_t len, char *out, size_t outlen)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    assert_non_null(x);
    /* collect then sort so that extension order does not matter */
    char items[16][48];
    int n = X509_get_ext_count(x);
    assert_true(n <= 16);
    for (int i = 0; i < n; i++) {
        X509_EXTENSION *e = X509_get_ext(x, i);
        char oid[40];
        OBJ_obj2txt(oid, sizeof oid, X509_EXTENSION_get_object(e), 1);
        snprintf(items[i], sizeof items[i], "%s%s", oid, X509_EXTENSION_get_critical(e) ? "!" : "");
    }
    qsort(items, (size_t)n, sizeof items[0], cmp_str);
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(items[i], "2.23.146.1.2.2.0") == 0)
            continue; /* our EUM adds the newer IIN extension as well */
        strncat(out, items[i], outlen - strlen(out) - 1);
        strncat(out, " ", outlen - strlen(out) - 1);
    }
    X509_free(x);
}

static void test_shape_mirrors_sgp26(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    static const char *const ref[RSP_PKI_NROLES] = {
        "testdata/osmo-smdpp-session/certs/CertificateIssuer/CERT_CI_ECDSA_NIST.der",
        "testdata/osmo-smdpp-session/certs/EUM/CERT_EUM_ECDSA_NIST.der",
        "testdata/osmo-smdpp-session/certs/eUICC/CERT_EUICC_ECDSA_NIST.der",
        "testdata/osmo-smdpp-session/certs/DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der",
        "testdata/osmo-smdpp-session/certs/DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der",
        "testdata/sgp26-certs/DPtls/CERT_S_SM_DP_TLS_NIST.der",
    };
    struct rsp_pki_opts o;
    rsp_pki_opts_default(&o);
    o.curves = RSP_PKI_NIST;
    struct rsp_pki p;
    assert_int_equal(rsp_pki_generate(&o, &p), 0);
    for (int r = 0; r < RSP_PKI_NROLES; r++) {
        struct rsp_buf want = tu_load(tu_shared_path(ref[r]));
        char a[512], b[512];
        ext_shape(want.data, want.len, a, sizeof a);
        ext_shape(p.set[0].item[r].cert_der.data, p.set[0].item[r].cert_der.len, b, sizeof b);
        if (strcmp(a, b) != 0)
            fail_msg("%s: reference [%s] generated [%s]", rsp_pki_role_stem(r), a, b);
        rsp_buf_free(&want);
    }
    rsp_pki_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_both),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_ip_host),
        cmocka_unit_test(test_shape_mirrors_sgp26),
    };
    return cmocka_run_group_tests_name("pki_gen", tests, NULL, NULL);
}
