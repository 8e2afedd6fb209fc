/* Chain verification over the osmo-smdpp session certificates (CI -> EUM -> eUICC, CI -> DPauth,
 * CI -> DPpb) and negative cases. */
#include <stdlib.h>
#include <string.h>

#include "certtest.h"
#include "rsp/pki.h"

#define OSMO "testdata/osmo-smdpp-session/certs/"

struct set {
    struct rsp_cert *ci, *eum, *euicc, *dpauth, *dppb;
};

static struct set load_set(const char *curve)
{
    char rel[256];
    struct set s;
    snprintf(rel, sizeof rel, OSMO "CertificateIssuer/CERT_CI_ECDSA_%s.der", curve);
    s.ci = ct_shared(rel);
    snprintf(rel, sizeof rel, OSMO "EUM/CERT_EUM_ECDSA_%s.der", curve);
    s.eum = ct_shared(rel);
    snprintf(rel, sizeof rel, OSMO "eUICC/CERT_EUICC_ECDSA_%s.der", curve);
    s.euicc = ct_shared(rel);
    snprintf(rel, sizeof rel, OSMO "DPauth/CERT_S_SM_DPauth_ECDSA_%s.der", curve);
    s.dpauth = ct_shared(rel);
    snprintf(rel, sizeof rel, OSMO "DPpb/CERT_S_SM_DPpb_ECDSA_%s.der", curve);
    s.dppb = ct_shared(rel);
    return s;
}

static void free_set(struct set *s)
{
    rsp_cert_free(s->ci);
    rsp_cert_free(s->eum);
    rsp_cert_free(s->euicc);
    rsp_cert_free(s->dpauth);
    rsp_cert_free(s->dppb);
}

static void test_osmo_chains_verify(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    static const char *const curves[] = {"NIST", "BRP"};
    for (int i = 0; i < 2; i++) {
        struct set s = load_set(curves[i]);
        char detail[RSP_CERT_DETAIL_SZ];
        time_t times[] = {ct_day(2025, 1, 1), time(NULL)};
        for (int t = 0; t < 2; t++) {
            /* accepted although OpenSSL alone reports error 47 at the eUICC (the EUM's IIN
             * nameConstraints), see sgp22-notes section 4 */
            int rc =
                rsp_cert_verify_euicc_chain(s.ci, s.eum, s.euicc, times[t], detail, sizeof detail);
            if (rc != 0)
                fail_msg("%s: %d %s", curves[i], rc, detail);
            assert_string_equal(detail, "ok");
        }
        assert_int_equal(rsp_cert_verify_dp(s.ci, s.dpauth, RSP_ROLE_DP_AUTH, ct_day(2025, 1, 1),
                                            detail, sizeof detail),
                         0);
        assert_int_equal(rsp_cert_verify_dp(s.ci, s.dppb, RSP_ROLE_DP_PB, ct_day(2025, 1, 1),
                                            detail, sizeof detail),
                         0);
        assert_int_equal(rsp_cert_role(s.ci), RSP_ROLE_CI);
        assert_int_equal(rsp_cert_role(s.eum), RSP_ROLE_EUM);
        assert_int_equal(rsp_cert_role(s.euicc), RSP_ROLE_EUICC);
        assert_int_equal(rsp_cert_role(s.dpauth), RSP_ROLE_DP_AUTH);
        assert_int_equal(rsp_cert_role(s.dppb), RSP_ROLE_DP_PB);
        assert_int_equal(rsp_cert_curve(s.euicc),
                         i == 0 ? RSP_CURVE_NIST_P256 : RSP_CURVE_BRAINPOOL_P256R1);
        free_set(&s);
    }
}

static void test_eid_and_iins(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    struct set s = load_set("NIST");
    char eid[RSP_EID_DIGITS + 1];
    assert_int_equal(rsp_cert_eid(s.euicc, eid), 0);
    assert_string_equal(eid, "89049032123451234512345678901235");
    char none[RSP_EID_DIGITS + 1];
    assert_int_equal(rsp_cert_eid(s.eum, none), RSP_EMISSING);
    struct rsp_iin_list l;
    assert_int_equal(rsp_cert_permitted_iins(s.eum, &l), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.e[0].iin, "89049032");
    assert_string_equal(l.e[0].org, "RSP Test EUM");
    assert_true(rsp_eid_in_iins(eid, "RSP Test EUM", &l));
    assert_true(rsp_eid_in_iins(eid, NULL, &l));
    assert_false(rsp_eid_in_iins(eid, "Other EUM", &l));
    assert_false(rsp_eid_in_iins("89049033123451234512345678901235", NULL, &l));
    assert_int_equal(rsp_cert_permitted_iins(s.euicc, &l), RSP_EMISSING);
    char oid[32];
    assert_int_equal(rsp_cert_registered_id(s.eum, oid, sizeof oid), 0);
    assert_string_equal(oid, "2.999.5");
    assert_int_equal(rsp_cert_registered_id(s.dppb, oid, sizeof oid), 0);
    assert_string_equal(oid, "2.999.10");
    free_set(&s);
}

static void test_pkids(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    struct set nist = load_set("NIST");
    struct set brp = load_set("BRP");
    uint8_t ski[RSP_KEYID_LEN], aki[RSP_KEYID_LEN];
    assert_int_equal(rsp_cert_ski(nist.ci, ski), 0);
    tu_assert_hex(ski, sizeof ski, "5ff814de8e48445a5c8441161ae59704ff4b3c84");
    /* euiccCiPKIdToBeUsed = AKI of CERT.DPauth */
    assert_int_equal(rsp_cert_aki(nist.dpauth, aki), 0);
    assert_memory_equal(aki, ski, RSP_KEYID_LEN);

    uint8_t list[3][RSP_KEYID_LEN];
    memset(list, 0xAA, sizeof list);
    assert_int_equal(rsp_cert_ski(brp.ci, list[0]), 0);
    memcpy(list[2], ski, RSP_KEYID_LEN);
    assert_int_equal(rsp_pkid_find(ski, (const uint8_t(*)[RSP_KEYID_LEN])list, 3), 2);
    assert_int_equal(rsp_pkid_find(ski, (const uint8_t(*)[RSP_KEYID_LEN])list, 2), RSP_ENOTFOUND);
    struct rsp_cert *cis[2] = {nist.ci, brp.ci};
    assert_int_equal(rsp_cert_select_ci(cis, 2, (const uint8_t(*)[RSP_KEYID_LEN])list + 2, 1), 0);
    assert_int_equal(rsp_cert_select_ci(cis, 2, (const uint8_t(*)[RSP_KEYID_LEN])list, 2), 1);
    assert_int_equal(rsp_cert_select_ci(cis, 2, (const uint8_t(*)[RSP_KEYID_LEN])list + 1, 1),
                     RSP_ENOTFOUND);

    /* The same over DER: the content of euiccCiPKIdListForVerification (04 14 <ski> ...). */
    struct rsp_buf der = RSP_BUF_INIT;
    for (int i = 0; i < 3; i++) {
        rsp_buf_append_byte(&der, 0x04);
        rsp_buf_append_byte(&der, RSP_KEYID_LEN);
        rsp_buf_append(&der, list[i], RSP_KEYID_LEN);
    }
    assert_int_equal(rsp_pkid_find_der(ski, der.data, der.len), 2);
    assert_int_equal(rsp_pkid_find_der(ski, der.data, 2 * 22), RSP_ENOTFOUND);
    assert_true(rsp_pkid_find_der(ski, der.data, der.len - 1) < 0); /* truncated */
    der.data[22] = 0x05;
    assert_int_equal(rsp_pkid_find_der(ski, der.data, der.len), RSP_EUNEXPECTED);
    rsp_buf_free(&der);
    free_set(&nist);
    free_set(&brp);
}

static void test_negative(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    struct set s = load_set("NIST");
    struct set b = load_set("BRP");
    char detail[RSP_CERT_DETAIL_SZ];
    time_t now = ct_day(2025, 1, 1);

    /* wrong CI: the SGP.26 CI has the same name as the osmo-smdpp CI, but another key */
    struct rsp_cert *other_ci =
        ct_shared("testdata/sgp26-certs/CertificateIssuer/CERT_CI_ECDSA_NIST.der");
    assert_int_equal(
        rsp_cert_verify_euicc_chain(other_ci, s.eum, s.euicc, now, detail, sizeof detail),
        RSP_ECHAIN);
    assert_non_null(strstr(detail, "EUM certificate"));
    assert_int_equal(
        rsp_cert_verify_dp(other_ci, s.dpauth, RSP_ROLE_DP_AUTH, now, detail, sizeof detail),
        RSP_ECHAIN);
    assert_int_equal(rsp_cert_verify_euicc_chain(b.ci, s.eum, s.euicc, now, detail, sizeof detail),
                     RSP_ECHAIN);
    rsp_cert_free(other_ci);

    /* EUM swapped: the BRP EUM (same subject name) under the NIST CI / above the NIST eUICC */
    assert_int_equal(rsp_cert_verify_euicc_chain(s.ci, b.eum, s.euicc, now, detail, sizeof detail),
                     RSP_ECHAIN);
    /* certificates in the wrong positions */
    assert_int_equal(rsp_cert_verify_euicc_chain(s.ci, s.euicc, s.eum, now, detail, sizeof detail),
                     RSP_ECHAIN);
    assert_int_equal(rsp_cert_verify_euicc_chain(s.ci, s.eum, s.dpauth, now, detail, sizeof detail),
                     RSP_ECHAIN);

    /* validity via `now`: EUM notAfter 2054-03-24, CI 2055-04-01, DPauth 2030-03-30 */
    assert_int_equal(rsp_cert_verify_euicc_chain(s.ci, s.eum, s.euicc, ct_day(2054, 6, 1), detail,
                                                 sizeof detail),
                     RSP_EEXPIRED);
    assert_string_equal(detail, "EUM certificate: expired on 2054-03-24");
    assert_int_equal(rsp_cert_verify_euicc_chain(s.ci, s.eum, s.euicc, ct_day(2060, 1, 1), detail,
                                                 sizeof detail),
                     RSP_EEXPIRED);
    assert_string_equal(detail, "CI certificate: expired on 2055-04-01");
    assert_int_equal(rsp_cert_verify_euicc_chain(s.ci, s.eum, s.euicc, ct_day(2019, 1, 1), detail,
                                                 sizeof detail),
                     RSP_EEXPIRED);
    assert_string_equal(detail, "CI certificate: not valid before 2020-04-01");
    /* the structured form names the certificate at fault */
    enum rsp_cert_role failed = RSP_ROLE_DP_PB;
    assert_int_equal(rsp_cert_verify_euicc_chain_at(s.ci, s.eum, s.euicc, now, &failed, NULL, 0),
                     0);
    assert_int_equal(failed, RSP_ROLE_NONE);
    assert_int_equal(
        rsp_cert_verify_euicc_chain_at(s.ci, s.eum, s.euicc, ct_day(2054, 6, 1), &failed, NULL, 0),
        RSP_EEXPIRED);
    assert_int_equal(failed, RSP_ROLE_EUM);
    assert_int_equal(
        rsp_cert_verify_euicc_chain_at(s.ci, s.eum, s.euicc, ct_day(2060, 1, 1), &failed, NULL, 0),
        RSP_EEXPIRED);
    assert_int_equal(failed, RSP_ROLE_CI);
    assert_int_equal(rsp_cert_verify_euicc_chain_at(s.ci, b.eum, s.euicc, now, &failed, NULL, 0),
                     RSP_ECHAIN);
    assert_int_equal(failed, RSP_ROLE_EUM);
    assert_int_equal(rsp_cert_verify_euicc_chain_at(s.ci, s.eum, s.dpauth, now, &failed, NULL, 0),
                     RSP_ECHAIN);
    assert_int_equal(failed, RSP_ROLE_EUICC);
    assert_int_equal(rsp_cert_verify_dp(s.ci, s.dpauth, RSP_ROLE_DP_AUTH, ct_day(2031, 1, 1),
                                        detail, sizeof detail),
                     RSP_EEXPIRED);
    assert_string_equal(detail, "DPauth certificate: expired on 2030-03-30");

    /* a DPpb presented where a DPauth is required, and vice versa */
    assert_int_equal(rsp_cert_verify_dp(s.ci, s.dppb, RSP_ROLE_DP_AUTH, now, detail, sizeof detail),
                     RSP_EPOLICY);
    assert_non_null(strstr(detail, "DPauth certificate: role policy is DPpb"));
    assert_int_equal(rsp_cert_verify_dp(s.ci, s.dpauth, RSP_ROLE_DP_PB, now, detail, sizeof detail),
                     RSP_EPOLICY);
    assert_int_equal(
        rsp_cert_verify_dp(s.ci, s.dpauth, RSP_ROLE_DP_TLS, now, detail, sizeof detail),
        RSP_EPOLICY);
    /* EUM is no SM-DP+ certificate; CI is no eUICC role */
    assert_int_equal(rsp_cert_verify_dp(s.ci, s.eum, RSP_ROLE_DP_AUTH, now, detail, sizeof detail),
                     RSP_EPOLICY);
    assert_int_equal(rsp_cert_verify_dp(s.ci, s.dpauth, RSP_ROLE_EUICC, now, detail, sizeof detail),
                     RSP_EINVAL);
    assert_int_equal(rsp_cert_verify_dp(NULL, s.dpauth, RSP_ROLE_DP_AUTH, now, NULL, 0),
                     RSP_EINVAL);

    /* a flipped bit in the eUICC certificate's signature */
    const uint8_t *der;
    size_t len;
    assert_int_equal(rsp_cert_der(s.euicc, &der, &len), 0);
    struct rsp_buf bad = RSP_BUF_INIT;
    rsp_buf_set(&bad, der, len);
    bad.data[len - 5] ^= 0x01;
    struct rsp_cert *bad_euicc = ct_mem(&bad);
    assert_int_equal(
        rsp_cert_verify_euicc_chain(s.ci, s.eum, bad_euicc, now, detail, sizeof detail),
        RSP_ECHAIN);
    assert_non_null(strstr(detail, "eUICC certificate: certificate signature failure"));
    rsp_cert_free(bad_euicc);
    rsp_buf_free(&bad);
    free_set(&s);
    free_set(&b);
}

/* An eUICC whose EID is outside the EUM's IIN: only the EID-range rule rejects it. */
static void test_eid_outside_iin(void **state)
{
    (void)state;
    struct rsp_pki_opts o;
    rsp_pki_opts_default(&o);
    o.curves = RSP_PKI_NIST;
    o.eid = "89049033123451234512345678901235"; /* IIN 89049033, EUM permits 89049032 */
    struct rsp_pki p;
    assert_int_equal(rsp_pki_generate(&o, &p), 0);
    struct rsp_cert *ci = ct_mem(&p.set[0].item[RSP_PKI_CI].cert_der);
    struct rsp_cert *eum = ct_mem(&p.set[0].item[RSP_PKI_EUM].cert_der);
    struct rsp_cert *euicc = ct_mem(&p.set[0].item[RSP_PKI_EUICC].cert_der);
    char detail[RSP_CERT_DETAIL_SZ];
    assert_int_equal(rsp_cert_verify_euicc_chain(ci, eum, euicc, time(NULL), detail, sizeof detail),
                     RSP_EEIDRANGE);
    assert_non_null(strstr(detail, "eUICC certificate: EID 89049033123451234512345678901235"));
    rsp_cert_free(ci);
    rsp_cert_free(eum);
    rsp_cert_free(euicc);
    rsp_pki_free(&p);
}

/* rsp_cert_parse_cached: the same certificate as rsp_cert_parse, an object of the caller's own
 * (freed independently), verification unchanged; refusals are not cached; more distinct
 * certificates than slots still parse. */
static void test_parse_cached(void **state)
{
    (void)state;
    struct rsp_pki_opts o;
    rsp_pki_opts_default(&o);
    o.curves = RSP_PKI_NIST;
    struct rsp_pki p;
    assert_int_equal(rsp_pki_generate(&o, &p), 0);
    const struct rsp_buf *eum_der = &p.set[0].item[RSP_PKI_EUM].cert_der;
    struct rsp_cert *ci = ct_mem(&p.set[0].item[RSP_PKI_CI].cert_der);
    struct rsp_cert *euicc = ct_mem(&p.set[0].item[RSP_PKI_EUICC].cert_der);
    struct rsp_cert *a = NULL, *b = NULL;
    assert_int_equal(rsp_cert_parse_cached(eum_der->data, eum_der->len, &a), 0);
    assert_int_equal(rsp_cert_parse_cached(eum_der->data, eum_der->len, &b), 0);
    assert_ptr_not_equal(a, b);
    const uint8_t *d;
    size_t n;
    assert_int_equal(rsp_cert_der(b, &d, &n), 0);
    assert_int_equal(n, eum_der->len);
    assert_memory_equal(d, eum_der->data, n);
    rsp_cert_free(a); /* b stays usable */
    char detail[RSP_CERT_DETAIL_SZ];
    assert_int_equal(rsp_cert_verify_euicc_chain(ci, b, euicc, time(NULL), detail, sizeof detail),
                     0);
    rsp_cert_free(b);
    /* a malformed certificate is refused every time, cached or not */
    struct rsp_buf bad = {0};
    assert_int_equal(rsp_buf_append(&bad, eum_der->data, eum_der->len - 1), 0);
    for (int i = 0; i < 2; i++) {
        a = (struct rsp_cert *)1;
        assert_int_equal(rsp_cert_parse_cached(bad.data, bad.len, &a), RSP_ECERT);
        assert_null(a);
    }
    rsp_buf_free(&bad);
    assert_int_equal(rsp_cert_parse_cached(NULL, 1, &a), RSP_ECERT);
    assert_int_equal(rsp_cert_parse_cached(eum_der->data, eum_der->len, NULL), RSP_EINVAL);
    /* more distinct certificates than cache slots (the eUICC certificates of 40 PKIs) */
    for (int i = 0; i < 40; i++) {
        struct rsp_pki q;
        char eid[33];
        snprintf(eid, sizeof eid, "890490321234512345123456789%05d", i);
        o.eid = eid;
        assert_int_equal(rsp_pki_generate(&o, &q), 0);
        const struct rsp_buf *e = &q.set[0].item[RSP_PKI_EUICC].cert_der;
        for (int k = 0; k < 2; k++) {
            assert_int_equal(rsp_cert_parse_cached(e->data, e->len, &a), 0);
            char got[33];
            assert_int_equal(rsp_cert_eid(a, got), 0);
            assert_string_equal(got, eid);
            rsp_cert_free(a);
        }
        rsp_pki_free(&q);
    }
    rsp_cert_free(ci);
    rsp_cert_free(euicc);
    rsp_pki_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_osmo_chains_verify),
        cmocka_unit_test(test_eid_and_iins),
        cmocka_unit_test(test_pkids),
        cmocka_unit_test(test_negative),
        cmocka_unit_test(test_eid_outside_iin),
        cmocka_unit_test(test_parse_cached),
    };
    return cmocka_run_group_tests_name("cert_chain", tests, NULL, NULL);
}
