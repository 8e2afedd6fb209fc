/* Parsing and accessors over the SGP.26 test certificates (../shared/testdata/sgp26-certs). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "certtest.h"
#include "rsp/crypto.h"

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool contains(const struct rsp_buf *b, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= b->len; i++)
        if (memcmp(b->data + i, needle, m) == 0)
            return true;
    return false;
}

static enum rsp_cert_role role_of_dir(const char *dir)
{
    if (strcmp(dir, "CertificateIssuer") == 0)
        return RSP_ROLE_CI;
    if (strcmp(dir, "DPauth") == 0)
        return RSP_ROLE_DP_AUTH;
    if (strcmp(dir, "DPpb") == 0)
        return RSP_ROLE_DP_PB;
    if (strcmp(dir, "DPtls") == 0)
        return RSP_ROLE_DP_TLS;
    return RSP_ROLE_NONE;
}

/* One file: certificates must parse and show the role/curve their place in the tree implies;
 * anything else (keys, the data_sig.der signature, configs) must be refused as RSP_ECERT. */
static int check_file(const char *dir, const char *name, const char *path)
{
    struct rsp_buf b = tu_load(path);
    bool is_cert = (ends_with(name, ".der") && strncmp(name, "CERT_", 5) == 0) ||
                   (ends_with(name, ".pem") && contains(&b, "BEGIN CERTIFICATE"));
    struct rsp_cert *c = NULL;
    int rc = rsp_cert_parse(b.data, b.len, &c);
    rsp_buf_free(&b);
    if (!is_cert) {
        if (ends_with(name, ".der") || ends_with(name, ".pem")) {
            if (rc != RSP_ECERT)
                fail_msg("%s: not a certificate, yet parse = %d", path, rc);
        }
        rsp_cert_free(c);
        return 0;
    }
    if (rc != 0)
        fail_msg("%s: parse = %d", path, rc);

    enum rsp_cert_role want = role_of_dir(dir);
    if (rsp_cert_role(c) != want)
        fail_msg("%s: role %s, want %s", path, rsp_cert_role_name(rsp_cert_role(c)),
                 rsp_cert_role_name(want));
    enum rsp_curve curve = strstr(name, "BRP") ? RSP_CURVE_BRAINPOOL_P256R1 : RSP_CURVE_NIST_P256;
    assert_int_equal(rsp_cert_curve(c), curve);

    char subj[256], iss[256];
    assert_int_equal(rsp_cert_subject(c, subj, sizeof subj), 0);
    assert_int_equal(rsp_cert_issuer(c, iss, sizeof iss), 0);
    assert_non_null(strstr(iss, "CN=Test CI"));
    uint8_t ski[RSP_KEYID_LEN], aki[RSP_KEYID_LEN];
    assert_int_equal(rsp_cert_ski(c, ski), 0);
    if (want == RSP_ROLE_CI) {
        assert_int_equal(rsp_cert_aki(c, aki), RSP_EMISSING); /* section 4.5.2.2: SKI only */
    } else {
        assert_int_equal(rsp_cert_aki(c, aki), 0);
    }
    time_t nb, na;
    assert_int_equal(rsp_cert_validity(c, &nb, &na), 0);
    assert_true(nb < na);
    char oid[64];
    if (want == RSP_ROLE_CI) {
        assert_int_equal(rsp_cert_registered_id(c, oid, sizeof oid), 0);
        assert_string_equal(oid, "2.999.1");
    } else {
        assert_int_equal(rsp_cert_registered_id(c, oid, sizeof oid), 0);
        assert_int_equal(strncmp(oid, "2.999.1", 7), 0); /* 2.999.10 / 12 / 14 / 18 */
        assert_int_equal(strlen(oid), 8);
    }
    char eid[RSP_EID_DIGITS + 1];
    assert_int_equal(rsp_cert_eid(c, eid), RSP_EMISSING);
    struct rsp_iin_list iins;
    assert_int_equal(rsp_cert_permitted_iins(c, &iins), RSP_EMISSING);

    struct rsp_key *k = NULL;
    assert_int_equal(rsp_cert_pubkey(c, &k), 0);
    assert_int_equal(rsp_key_curve(k), curve);
    assert_false(rsp_key_has_private(k));
    rsp_key_free(k);

    const uint8_t *der;
    size_t der_len;
    assert_int_equal(rsp_cert_der(c, &der, &der_len), 0);
    assert_true(der_len > 300 && der[0] == 0x30);
    rsp_cert_free(c);
    return 1;
}

static void test_every_sgp26_file(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    const char *root = tu_shared_path("testdata/sgp26-certs");
    static const char *const dirs[] = {"CertificateIssuer", "DPauth", "DPpb", "DPtls"};
    int certs = 0;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char dpath[1024];
        snprintf(dpath, sizeof dpath, "%s/%s", root, dirs[i]);
        DIR *d = opendir(dpath);
        assert_non_null(d);
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[2048];
            snprintf(path, sizeof path, "%s/%s", dpath, e->d_name);
            certs += check_file(dirs[i], e->d_name, path);
        }
        closedir(d);
    }
    /* 2 CI DER + 2 CI PEM + 4 DPauth + 4 DPpb + 5 DPtls DER + 2 DPtls PEM */
    assert_int_equal(certs, 19);
}

static void test_smdp_oids_and_names(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    static const struct {
        const char *file;
        const char *oid;
        const char *dns;
    } v[] = {
        {"DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der", "2.999.10", NULL},
        {"DPauth/CERT_S_SM_DP2auth_ECDSA_BRP.der", "2.999.12", NULL},
        {"DPpb/CERT_S_SM_DPpb_ECDSA_BRP.der", "2.999.10", NULL},
        {"DPpb/CERT_S_SM_DP2pb_ECDSA_NIST.der", "2.999.12", NULL},
        {"DPtls/CERT_S_SM_DP_TLS_NIST.der", "2.999.10", "testsmdpplus1.example.com"},
        {"DPtls/CERT_S_SM_DP2_TLS.der", "2.999.12", "testsmdpplus2.example.com"},
        {"DPtls/CERT_S_SM_DP4_TLS.der", "2.999.14", "testsmdpplus4.example.com"},
        {"DPtls/CERT_S_SM_DP8_TLS.der", "2.999.18", "testsmdpplus8.example.com"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "testdata/sgp26-certs/%s", v[i].file);
        struct rsp_cert *c = ct_shared(rel);
        char oid[32], dns[128];
        assert_int_equal(rsp_cert_registered_id(c, oid, sizeof oid), 0);
        assert_string_equal(oid, v[i].oid);
        assert_int_equal(rsp_cert_registered_id(c, oid, 4), RSP_ERANGE);
        if (v[i].dns) {
            assert_int_equal(rsp_cert_dns_name(c, dns, sizeof dns), 0);
            assert_string_equal(dns, v[i].dns);
        } else {
            assert_int_equal(rsp_cert_dns_name(c, dns, sizeof dns), RSP_EMISSING);
        }
        rsp_cert_free(c);
    }
    /* Subject line and key identifiers of one known certificate. */
    struct rsp_cert *c = ct_shared("testdata/sgp26-certs/DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der");
    char subj[128];
    assert_int_equal(rsp_cert_subject(c, subj, sizeof subj), 0);
    assert_string_equal(subj, "CN=TEST SM-DP\\+,O=ACME"); /* RFC 2253 escapes + */
    assert_int_equal(rsp_cert_subject(c, subj, 5), RSP_ERANGE);
    assert_string_equal(subj, "CN=T");
    uint8_t id[RSP_KEYID_LEN];
    assert_int_equal(rsp_cert_ski(c, id), 0);
    tu_assert_hex(id, sizeof id, "BD5A82CC1A96602118BA7560A1FF83A78B210BE5");
    assert_int_equal(rsp_cert_aki(c, id), 0);
    tu_assert_hex(id, sizeof id, "F54172BDF98A95D65CBEB88A38A1C11D800A85C3");
    time_t nb, na;
    assert_int_equal(rsp_cert_validity(c, &nb, &na), 0);
    assert_int_equal(nb, ct_day(2020, 4, 1) + 8 * 3600 + 31 * 60 + 30);
    assert_int_equal(na, ct_day(2030, 3, 30) + 8 * 3600 + 31 * 60 + 30);
    rsp_cert_free(c);
}

/* The DPtls certificates are valid 2025-06-30 .. 2026-08-02 (13:14:38 UTC). */
static void test_dptls_expiry(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    static const char *const tls[][2] = {
        {"DPtls/CERT_S_SM_DP_TLS_NIST.der", "CertificateIssuer/CERT_CI_ECDSA_NIST.der"},
        {"DPtls/CERT_S_SM_DP_TLS_BRP.der", "CertificateIssuer/CERT_CI_ECDSA_BRP.der"},
        {"DPtls/CERT_S_SM_DP2_TLS.der", "CertificateIssuer/CERT_CI_ECDSA_NIST.der"},
        {"DPtls/CERT_S_SM_DP4_TLS.der", "CertificateIssuer/CERT_CI_ECDSA_NIST.der"},
        {"DPtls/CERT_S_SM_DP8_TLS.der", "CertificateIssuer/CERT_CI_ECDSA_NIST.der"},
    };
    time_t now = time(NULL);
    for (size_t i = 0; i < sizeof tls / sizeof tls[0]; i++) {
        char rel[256], detail[RSP_CERT_DETAIL_SZ];
        snprintf(rel, sizeof rel, "testdata/sgp26-certs/%s", tls[i][0]);
        struct rsp_cert *dp = ct_shared(rel);
        snprintf(rel, sizeof rel, "testdata/sgp26-certs/%s", tls[i][1]);
        struct rsp_cert *ci = ct_shared(rel);

        /* Real current time: expired, reported as expired (not as malformed or bad chain). */
        time_t na;
        assert_int_equal(rsp_cert_validity(dp, NULL, &na), 0);
        if (now > na) {
            assert_int_equal(
                rsp_cert_verify_dp(ci, dp, RSP_ROLE_DP_TLS, now, detail, sizeof detail),
                RSP_EEXPIRED);
            assert_string_equal(detail, "DPtls certificate: expired on 2026-08-02");
        } else {
            print_message("clock before 2026-08-02: real-time expiry check not applicable\n");
        }
        assert_int_equal(
            rsp_cert_verify_dp(ci, dp, RSP_ROLE_DP_TLS, ct_day(2026, 8, 3), detail, sizeof detail),
            RSP_EEXPIRED);
        /* Inside the validity period the chain is fine. */
        assert_int_equal(
            rsp_cert_verify_dp(ci, dp, RSP_ROLE_DP_TLS, ct_day(2026, 1, 1), detail, sizeof detail),
            0);
        assert_string_equal(detail, "ok");
        /* 2025-01-01 is before their notBefore (2025-06-30): not yet valid. */
        assert_int_equal(
            rsp_cert_verify_dp(ci, dp, RSP_ROLE_DP_TLS, ct_day(2025, 1, 1), detail, sizeof detail),
            RSP_EEXPIRED);
        assert_string_equal(detail, "DPtls certificate: not valid before 2025-06-30");
        /* A TLS certificate is no DPauth certificate. */
        assert_int_equal(
            rsp_cert_verify_dp(ci, dp, RSP_ROLE_DP_AUTH, ct_day(2026, 1, 1), detail, sizeof detail),
            RSP_EPOLICY);
        rsp_cert_free(dp);
        rsp_cert_free(ci);
    }
}

static void test_sgp26_dp_chains(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    static const struct {
        const char *file;
        enum rsp_cert_role role;
    } v[] = {
        {"DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der", RSP_ROLE_DP_AUTH},
        {"DPauth/CERT_S_SM_DPauth_ECDSA_BRP.der", RSP_ROLE_DP_AUTH},
        {"DPauth/CERT_S_SM_DP2auth_ECDSA_NIST.der", RSP_ROLE_DP_AUTH},
        {"DPauth/CERT_S_SM_DP2auth_ECDSA_BRP.der", RSP_ROLE_DP_AUTH},
        {"DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der", RSP_ROLE_DP_PB},
        {"DPpb/CERT_S_SM_DPpb_ECDSA_BRP.der", RSP_ROLE_DP_PB},
        {"DPpb/CERT_S_SM_DP2pb_ECDSA_NIST.der", RSP_ROLE_DP_PB},
        {"DPpb/CERT_S_SM_DP2pb_ECDSA_BRP.der", RSP_ROLE_DP_PB},
    };
    struct rsp_cert *ci_nist =
        ct_shared("testdata/sgp26-certs/CertificateIssuer/CERT_CI_ECDSA_NIST.pem");
    struct rsp_cert *ci_brp =
        ct_shared("testdata/sgp26-certs/CertificateIssuer/CERT_CI_ECDSA_BRP.pem");
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char rel[256], detail[RSP_CERT_DETAIL_SZ];
        snprintf(rel, sizeof rel, "testdata/sgp26-certs/%s", v[i].file);
        struct rsp_cert *dp = ct_shared(rel);
        bool brp = strstr(v[i].file, "BRP") != NULL;
        struct rsp_cert *ci = brp ? ci_brp : ci_nist;
        struct rsp_cert *other = brp ? ci_nist : ci_brp;
        assert_int_equal(
            rsp_cert_verify_dp(ci, dp, v[i].role, ct_day(2025, 1, 1), detail, sizeof detail), 0);
        assert_int_equal(
            rsp_cert_verify_dp(other, dp, v[i].role, ct_day(2025, 1, 1), detail, sizeof detail),
            RSP_ECHAIN);
        /* 2030-03-30 is their notAfter */
        assert_int_equal(
            rsp_cert_verify_dp(ci, dp, v[i].role, ct_day(2030, 4, 1), detail, sizeof detail),
            RSP_EEXPIRED);
        assert_non_null(strstr(detail, "expired on 2030-03-30"));
        rsp_cert_free(dp);
    }
    rsp_cert_free(ci_nist);
    rsp_cert_free(ci_brp);
}

static void test_malformed(void **state)
{
    (void)state;
    struct rsp_cert *c = (struct rsp_cert *)1;
    static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};
    assert_int_equal(rsp_cert_parse(junk, sizeof junk, &c), RSP_ECERT);
    assert_null(c);
    assert_int_equal(rsp_cert_parse(junk, 0, &c), RSP_ECERT);
    assert_int_equal(rsp_cert_parse(NULL, 10, &c), RSP_ECERT);
    assert_int_equal(rsp_cert_parse(junk, sizeof junk, NULL), RSP_EINVAL);
    static const char pem[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert_int_equal(rsp_cert_parse((const uint8_t *)pem, sizeof pem - 1, &c), RSP_ECERT);
    rsp_cert_free(NULL);
    if (!tu_shared_dir())
        return;
    /* Trailing bytes after a DER certificate, and truncation. */
    struct rsp_buf b =
        tu_load(tu_shared_path("testdata/sgp26-certs/CertificateIssuer/CERT_CI_ECDSA_NIST.der"));
    assert_int_equal(rsp_cert_parse(b.data, b.len - 1, &c), RSP_ECERT);
    rsp_buf_append_byte(&b, 0);
    assert_int_equal(rsp_cert_parse(b.data, b.len, &c), RSP_ECERT);
    assert_int_equal(rsp_cert_parse(b.data, b.len - 1, &c), 0);
    rsp_cert_free(c);
    rsp_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_sgp26_file), cmocka_unit_test(test_smdp_oids_and_names),
        cmocka_unit_test(test_dptls_expiry),     cmocka_unit_test(test_sgp26_dp_chains),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests_name("cert_parse", tests, NULL, NULL);
}
