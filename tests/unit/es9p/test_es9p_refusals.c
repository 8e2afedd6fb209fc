/* ES9+ refusals not covered by the download test: eUICC version (8.8.3), the eUICC chain codes
 * (8.1.2, 8.1.3, 8.11.1), a profile not released yet (8.2/1.2), re-binding with another otPK
 * (8.2/3.7) and a missing hashCc (8.2.7/2.2). Each asserts the exact code and that neither the
 * profile nor the session changed. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "es9p_fx.h"
#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/manifest.h"
#include "rsp/saip.h"
#include "rsp/sgp22_auth.h"

static void assert_profile_unchanged(struct ef *f, const struct rsp_profile *before)
{
    struct rsp_profile now;
    assert_int_equal(rsp_store_profile_get(f->st, before->iccid, &now), 0);
    assert_int_equal(now.version, before->version);
    assert_int_equal(now.state, before->state);
    assert_int_equal(now.cc_attempts, before->cc_attempts);
    assert_int_equal(now.download_attempts, before->download_attempts);
}

static void snapshot(struct ef *f, struct rsp_profile *out)
{
    assert_int_equal(rsp_store_profile_get(f->st, EF_ICCID, out), 0);
}

/* A copy of `der` with validity [not_before, not_after], re-signed by `issuer`'s key. */
static void resign(const struct rsp_buf *der, const struct rsp_pki_item *issuer, time_t not_before,
                   time_t not_after, struct rsp_buf *out)
{
    const unsigned char *p = der->data;
    X509 *x = d2i_X509(NULL, &p, (long)der->len);
    assert_non_null(x);
    BIO *bio = BIO_new_mem_buf(issuer->key_pem.data, (int)issuer->key_pem.len);
    assert_non_null(bio);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    assert_non_null(k);
    assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), not_before));
    assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), not_after));
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    unsigned char *enc = NULL;
    int n = i2d_X509(x, &enc);
    assert_true(n > 0);
    assert_int_equal(rsp_buf_set(out, enc, (size_t)n), 0);
    OPENSSL_free(enc);
    EVP_PKEY_free(k);
    BIO_free(bio);
    X509_free(x);
}

/* One authenticateClient with the eUICC's answer carrying other certificates; expects `code`,
 * the session still Started and the profile unchanged. */
static void auth_with_certs(struct ef *f, const struct rsp_buf *euicc, const struct rsp_buf *eum,
                            const char *code)
{
    struct rsp_profile before;
    snapshot(f, &before);
    ef_initiate(f, NULL);
    f->swap_euicc_cert = euicc;
    f->swap_eum_cert = eum;
    ef_authenticate(f, EF_MID, code);
    f->swap_euicc_cert = NULL;
    f->swap_eum_cert = NULL;
    assert_int_equal(ef_session_state(f, &f->tid), RSP_SESSION_STARTED);
    assert_profile_unchanged(f, &before);
}

static void test_svn_unsupported(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 0);
    struct rsp_es9_initiate_auth_req rq;
    memset(&rq, 0, sizeof rq);
    struct rsp_buf r = RSP_BUF_INIT;
    assert_int_equal(fx_cmd_hex(f.e, "BF2E00", &r), 0);
    assert_int_equal(rsp_es10_challenge_decode(r.data, r.len, rq.euicc_challenge), 0);
    assert_int_equal(fx_cmd_hex(f.e, "BF2000", &r), 0);
    /* EUICCInfo1 starts with svn: BF20 len 82 03 <major> <minor> <patch> */
    assert_int_equal(r.data[3], 0x82);
    assert_int_equal(r.data[4], 0x03);
    assert_int_equal(r.data[5], 2);
    r.data[5] = 3;
    assert_int_equal(rsp_buf_set(&rq.euicc_info1, r.data, r.len), 0);
    snprintf(rq.smdp_address, sizeof rq.smdp_address, "%s", FX_SMDP_ADDR);
    struct rsp_profile before;
    snapshot(&f, &before);
    struct rsp_es9_response rs;
    memset(&rs, 0, sizeof rs);
    rs.fn = RSP_ES9_INITIATE_AUTHENTICATION;
    assert_int_equal(rsp_es9p_initiate_authentication(&f.cfg, f.st, &rq, &rs), 0);
    ef_assert_refused(&rs, "8.8.3/3.1");
    rsp_es9_response_free(&rs);
    assert_profile_unchanged(&f, &before);
    /* and v1 */
    r.data[5] = 1;
    assert_int_equal(rsp_buf_set(&rq.euicc_info1, r.data, r.len), 0);
    memset(&rs, 0, sizeof rs);
    rs.fn = RSP_ES9_INITIATE_AUTHENTICATION;
    assert_int_equal(rsp_es9p_initiate_authentication(&f.cfg, f.st, &rq, &rs), 0);
    ef_assert_refused(&rs, "8.8.3/3.1");
    rsp_es9_response_free(&rs);
    rsp_buf_free(&rq.euicc_info1);
    rsp_buf_free(&r);
    ef_close(&f);
}

static void test_certificate_refusals(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 0);
    const struct rsp_pki_set *ps = &fx_pki()->set[0];
    const struct rsp_buf *euicc = &ps->item[RSP_PKI_EUICC].cert_der;
    const struct rsp_buf *eum = &ps->item[RSP_PKI_EUM].cert_der;
    time_t now = time(NULL);
    struct rsp_buf bad = RSP_BUF_INIT;

    /* eUICC certificate expired (properly signed by the EUM): 8.1.3/6.3 */
    resign(euicc, &ps->item[RSP_PKI_EUM], now - 10 * 86400, now - 86400, &bad);
    auth_with_certs(&f, &bad, NULL, "8.1.3/6.3");
    /* eUICC certificate with a broken signature: 8.1.3/6.1 */
    assert_int_equal(rsp_buf_set(&bad, euicc->data, euicc->len), 0);
    bad.data[bad.len - 1] ^= 0x01;
    auth_with_certs(&f, &bad, NULL, "8.1.3/6.1");
    /* EUM certificate expired (properly signed by the CI): 8.1.2/6.3 */
    resign(eum, &ps->item[RSP_PKI_CI], now - 10 * 86400, now - 86400, &bad);
    auth_with_certs(&f, NULL, &bad, "8.1.2/6.3");
    /* EUM certificate with a broken signature: 8.1.2/6.1 */
    assert_int_equal(rsp_buf_set(&bad, eum->data, eum->len), 0);
    bad.data[bad.len - 1] ^= 0x01;
    auth_with_certs(&f, NULL, &bad, "8.1.2/6.1");
    /* not a certificate at all in either place */
    static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};
    assert_int_equal(rsp_buf_set(&bad, junk, sizeof junk), 0);
    auth_with_certs(&f, &bad, NULL, "8.1.3/6.1");
    auth_with_certs(&f, NULL, &bad, "8.1.2/6.1");
    /* a foreign EUM (another PKI, its CI not trusted here), with and without its eUICC: 8.11.1 */
    const struct rsp_pki_set *fs = &fx_foreign_pki()->set[0];
    auth_with_certs(&f, NULL, &fs->item[RSP_PKI_EUM].cert_der, "8.11.1/3.9");
    auth_with_certs(&f, &fs->item[RSP_PKI_EUICC].cert_der, &fs->item[RSP_PKI_EUM].cert_der,
                    "8.11.1/3.9");
    /* the untouched chain still downloads */
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    rsp_buf_free(&bad);
    ef_close(&f);
}

/* The trusted CI expired at the SM-DP+'s clock: 8.11.1 from the certificate at fault, whatever
 * the wording of the verifier's detail. */
static time_t far_future(void *ctx)
{
    (void)ctx;
    return time(NULL) + (time_t)(RSP_PKI_DEFAULT_DAYS + 30) * 86400;
}

static void test_ci_expired(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 1);
    struct rsp_profile before;
    snapshot(&f, &before);
    ef_initiate(&f, NULL);
    f.cfg.clock = far_future;
    /* the session would have expired as well: extend it */
    char hex[33];
    rsp_tid_to_hex(&f.tid, hex);
    struct rsp_session s, n;
    rsp_session_init(&s);
    rsp_session_init(&n);
    assert_int_equal(rsp_store_session_get(f.st, hex, &s), 0);
    assert_int_equal(rsp_store_session_get(f.st, hex, &n), 0);
    n.expires_at = INT64_MAX;
    assert_int_equal(rsp_store_session_update(f.st, &s, &n, "test", "extend"), 0);
    rsp_session_free(&s);
    rsp_session_free(&n);
    ef_authenticate(&f, EF_MID, "8.11.1/3.9");
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_STARTED);
    assert_profile_unchanged(&f, &before);
    ef_close(&f);
}

static void test_not_released(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 0);
    ef_insert_profile_in(&f, "8949449999999990049", "MID-CONFIRMED", "", RSP_PROFILE_CONFIRMED);
    struct rsp_profile before;
    assert_int_equal(rsp_store_profile_get(f.st, "8949449999999990049", &before), 0);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, "MID-CONFIRMED", "8.2/1.2");
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_STARTED);
    assert_profile_unchanged(&f, &before);
    /* released profile, authenticated, then taken out of Released before the BPP is asked for */
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    struct rsp_profile cur, next;
    snapshot(&f, &cur);
    next = cur;
    next.state = RSP_PROFILE_ERROR;
    assert_int_equal(rsp_store_profile_update(f.st, &cur, &next, "test", "operator"), 0);
    snapshot(&f, &before);
    ef_prepare_and_get(&f, NULL, "8.2/1.2");
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_AUTHENTICATED);
    assert_profile_unchanged(&f, &before);
    ef_close(&f);
}

/* A PrepareDownloadResponse made by hand with the eUICC's key: otPK and hashCc chosen here. */
static void signed_pdr(struct ef *f, const uint8_t otpk[RSP_EC_POINT_LEN], const uint8_t *hash_cc,
                       struct rsp_buf *out)
{
    char hex[33];
    rsp_tid_to_hex(&f->tid, hex);
    struct rsp_session s;
    rsp_session_init(&s);
    assert_int_equal(rsp_store_session_get(f->st, hex, &s), 0);
    struct rsp_sgp22_prepare_download_response r;
    memset(&r, 0, sizeof r);
    r.ok = true;
    r.euicc_signed2.transaction_id.p = f->tid.b;
    r.euicc_signed2.transaction_id.len = f->tid.len;
    r.euicc_signed2.euicc_otpk.p = otpk;
    r.euicc_signed2.euicc_otpk.len = RSP_EC_POINT_LEN;
    if (hash_cc) {
        r.euicc_signed2.has_hash_cc = true;
        r.euicc_signed2.hash_cc.p = hash_cc;
        r.euicc_signed2.hash_cc.len = 32;
    }
    struct rsp_buf signed2 = RSP_BUF_INIT, in = RSP_BUF_INIT;
    assert_int_equal(rsp_sgp22_euicc_signed2_encode(&r.euicc_signed2, &signed2), 0);
    assert_int_equal(rsp_der_parse_one(signed2.data, signed2.len, &r.euicc_signed2.raw), 0);
    assert_int_equal(rsp_sgp22_euicc_signature2_input(signed2.data, signed2.len, s.smdp_sig2, &in),
                     0);
    struct rsp_key *sk = NULL;
    assert_int_equal(rsp_pki_item_key(&fx_pki()->set[f->set].item[RSP_PKI_EUICC], &sk), 0);
    uint8_t sig[RSP_ECDSA_SIG_LEN];
    assert_int_equal(rsp_ecdsa_sign(sk, in.data, in.len, sig), 0);
    r.euicc_signature2.p = sig;
    r.euicc_signature2.len = sizeof sig;
    rsp_buf_reset(out);
    assert_int_equal(rsp_sgp22_prepare_download_response_encode(&r, out), 0);
    rsp_key_free(sk);
    rsp_buf_free(&signed2);
    rsp_buf_free(&in);
    rsp_session_free(&s);
}

static void gbpp_with(struct ef *f, const struct rsp_buf *pdr, const char *code)
{
    struct rsp_es9_gbpp_req rq;
    memset(&rq, 0, sizeof rq);
    rq.transaction_id = f->tid;
    rq.prepare_download_response = *pdr;
    struct rsp_es9_response rs;
    memset(&rs, 0, sizeof rs);
    rs.fn = RSP_ES9_GET_BOUND_PROFILE_PACKAGE;
    assert_int_equal(rsp_es9p_get_bound_profile_package(&f->cfg, f->st, &rq, &rs), 0);
    ef_assert_refused(&rs, code);
    rsp_es9_response_free(&rs);
}

static void new_otpk(enum rsp_curve curve, uint8_t out[RSP_EC_POINT_LEN])
{
    struct rsp_key *k = NULL;
    assert_int_equal(rsp_key_generate(curve, &k), 0);
    assert_int_equal(rsp_key_point(k, out), 0);
    rsp_key_free(k);
}

static void test_rebind_refused(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 0);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    ef_prepare_and_get(&f, NULL, NULL);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_BPP_BOUND);
    struct rsp_profile before;
    snapshot(&f, &before);
    assert_int_equal(before.state, RSP_PROFILE_DOWNLOADED);
    char hex[33];
    rsp_tid_to_hex(&f.tid, hex);
    struct rsp_session s0, s1;
    rsp_session_init(&s0);
    rsp_session_init(&s1);
    assert_int_equal(rsp_store_session_get(f.st, hex, &s0), 0);
    /* same session, a signed answer with another otPK */
    uint8_t otpk[RSP_EC_POINT_LEN];
    new_otpk(rsp_cert_curve(f.creds[0].dppb), otpk);
    struct rsp_buf pdr = RSP_BUF_INIT;
    signed_pdr(&f, otpk, NULL, &pdr);
    gbpp_with(&f, &pdr, "8.2/3.7");
    assert_int_equal(rsp_store_session_get(f.st, hex, &s1), 0);
    assert_int_equal(s1.state, RSP_SESSION_BPP_BOUND);
    assert_int_equal(s1.version, s0.version);
    assert_int_equal(s1.otpk_euicc.len, s0.otpk_euicc.len);
    assert_memory_equal(s1.otpk_euicc.data, s0.otpk_euicc.data, s0.otpk_euicc.len);
    assert_profile_unchanged(&f, &before);
    rsp_session_free(&s0);
    rsp_session_free(&s1);
    rsp_buf_free(&pdr);
    ef_close(&f);
}

static void test_hash_cc_missing(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 1);
    struct rsp_profile cur, next;
    snapshot(&f, &cur);
    next = cur;
    next.cc_set = true;
    assert_int_equal(rsp_sha256("1234", 4, next.cc_hash), 0);
    assert_int_equal(rsp_store_profile_update(f.st, &cur, &next, "test", "cc"), 0);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    struct rsp_profile before;
    snapshot(&f, &before);
    uint8_t otpk[RSP_EC_POINT_LEN];
    new_otpk(rsp_cert_curve(f.creds[1].dppb), otpk);
    struct rsp_buf pdr = RSP_BUF_INIT;
    signed_pdr(&f, otpk, NULL, &pdr);
    gbpp_with(&f, &pdr, "8.2.7/2.2");
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_AUTHENTICATED);
    assert_profile_unchanged(&f, &before);
    /* the same hand-made answer with the right hashCc is accepted (the helper is sound) */
    uint8_t h[32];
    assert_int_equal(rsp_hash_cc("1234", 4, &f.tid, h), 0);
    signed_pdr(&f, otpk, h, &pdr);
    gbpp_with(&f, &pdr, NULL);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_BPP_BOUND);
    rsp_buf_free(&pdr);
    ef_close(&f);
}

/* Imports a generated package with its signed manifest (as rspctl does) and releases it under
 * `mid`. The release goes straight to the row: this test is about binding, not ES2+. */
static void import_released(struct ef *f, const char *iccid, const char *mid,
                            const struct rsp_key *op)
{
    struct rsp_saip_gen_params g;
    memset(&g, 0, sizeof g);
    g.iccid = iccid;
    g.imsi = "001019876543210";
    g.spn = "rspkit";
    memset(g.ki, 0x11, sizeof g.ki);
    memset(g.opc, 0x22, sizeof g.opc);
    struct rsp_buf pkg = RSP_BUF_INIT, man = RSP_BUF_INIT;
    assert_int_equal(rsp_saip_generate(&g, &pkg), 0);
    struct rsp_manifest m;
    assert_int_equal(rsp_manifest_from_package(pkg.data, pkg.len, &m), 0);
    snprintf(m.operator_id, sizeof m.operator_id, "op1");
    snprintf(m.name, sizeof m.name, "Imported");
    assert_int_equal(rsp_manifest_sign(&m, op), 0);
    assert_int_equal(rsp_manifest_encode(&m, &man), 0);
    struct rsp_store_import_item it;
    char reason[256];
    assert_int_equal(rsp_inventory_prepare(pkg.data, pkg.len, man.data, man.len, op, "op1", "t",
                                           &it, reason, sizeof reason),
                     0);
    assert_int_equal(rsp_store_profile_import(f->st, &it, 1, "test"), 0);
    assert_int_equal(it.result, 0);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "UPDATE profiles SET state = 'Released', matching_id = ?1 "
                                        "WHERE iccid = ?2",
                                        -1, &q, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(q, 1, mid, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, iccid, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(q), SQLITE_DONE);
    sqlite3_finalize(q);
    sqlite3_close(db);
    rsp_buf_free(&pkg);
    rsp_buf_free(&man);
}

/* Flips one byte of the package stored in the row, behind the store's back. */
static void tamper_stored_package(struct ef *f, const char *iccid)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *q;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT package FROM profiles WHERE iccid = ?1", -1, &q, NULL),
        SQLITE_OK);
    sqlite3_bind_text(q, 1, iccid, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    struct rsp_buf pkg = RSP_BUF_INIT;
    assert_int_equal(
        rsp_buf_set(&pkg, sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0)), 0);
    sqlite3_finalize(q);
    assert_true(pkg.len > 100);
    pkg.data[pkg.len / 2] ^= 0x01;
    assert_int_equal(
        sqlite3_prepare_v2(db, "UPDATE profiles SET package = ?1 WHERE iccid = ?2", -1, &q, NULL),
        SQLITE_OK);
    sqlite3_bind_blob(q, 1, pkg.data, (int)pkg.len, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, iccid, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(q), SQLITE_DONE);
    sqlite3_finalize(q);
    sqlite3_close(db);
    rsp_buf_free(&pkg);
}

static size_t drain_outbox(struct ef *f)
{
    struct rsp_outbox_item it;
    size_t n = 0;
    while (rsp_store_outbox_next_due(f->st, INT64_MAX, &it) == 0) {
        assert_int_equal(rsp_store_outbox_done(f->st, it.id), 0);
        n++;
    }
    return n;
}

static void expect_package_refused(struct ef *f, const char *iccid, const char *mid)
{
    ef_initiate(f, NULL);
    ef_authenticate(f, mid, NULL);
    drain_outbox(f);
    ef_prepare_and_get(f, NULL, "8.2/3.7");
    assert_int_equal(ef_profile_state(f, iccid), RSP_PROFILE_ERROR);
    assert_int_equal(ef_session_state(f, &f->tid), RSP_SESSION_AUTHENTICATED);
    /* audited with the reason, the operator is told */
    struct rsp_audit_entry a[16];
    size_t n = 0;
    assert_int_equal(rsp_store_audit_list(f->st, iccid, a, 16, &n), 0);
    assert_true(n >= 1);
    assert_string_equal(a[n - 1].to, "Error");
    assert_non_null(strstr(a[n - 1].reason, "package re-check"));
    struct rsp_outbox_item it;
    assert_int_equal(rsp_store_outbox_next_due(f->st, INT64_MAX, &it), 0);
    assert_non_null(strstr(it.body, "\"subjectCode\":\"8.2\",\"reasonCode\":\"3.7\""));
    assert_int_equal(drain_outbox(f), 1);
    /* a later attempt meets a profile in Error */
    ef_initiate(f, NULL);
    ef_authenticate(f, mid, "8.2.6/3.8");
}

static void test_recheck_before_binding(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 0);
    struct rsp_key *op = NULL;
    assert_int_equal(rsp_key_generate(RSP_CURVE_NIST_P256, &op), 0);
    /* imported with a signed manifest, package altered in the DB afterwards */
    import_released(&f, "8949449999999990064", "MID-SIGNED", op);
    tamper_stored_package(&f, "8949449999999990064");
    expect_package_refused(&f, "8949449999999990064", "MID-SIGNED");
    /* an untouched import binds */
    import_released(&f, "8949449999999990072", "MID-CLEAN", op);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, "MID-CLEAN", NULL);
    ef_prepare_and_get(&f, NULL, NULL);
    assert_int_equal(ef_profile_state(&f, "8949449999999990072"), RSP_PROFILE_DOWNLOADED);
    rsp_key_free(op);
    ef_close(&f);
    /* a profile stored without a manifest is held to the digest of its row */
    ef_open(&f, 1);
    tamper_stored_package(&f, EF_ICCID);
    expect_package_refused(&f, EF_ICCID, EF_MID);
    ef_close(&f);
}

static time_t clock_offset;
static time_t offset_clock(void *ctx)
{
    (void)ctx;
    return time(NULL) + clock_offset;
}

static void test_order_expired(void **state)
{
    (void)state;
    /* authenticateClient two hours after the release, with a one-hour order lifetime */
    struct ef f;
    ef_open(&f, 0);
    f.cfg.order_lifetime = 3600;
    f.cfg.clock = offset_clock;
    clock_offset = 7200;
    drain_outbox(&f);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, "8.8.5/4.10");
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_ERROR);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_STARTED);
    struct rsp_outbox_item it;
    assert_int_equal(rsp_store_outbox_next_due(f.st, INT64_MAX, &it), 0);
    assert_non_null(strstr(it.body, "\"subjectCode\":\"8.8.5\",\"reasonCode\":\"4.10\""));
    assert_int_equal(drain_outbox(&f), 1);
    struct rsp_audit_entry a[8];
    size_t n = 0;
    assert_int_equal(rsp_store_audit_list(f.st, EF_ICCID, a, 8, &n), 0);
    assert_true(n >= 1);
    assert_string_equal(a[n - 1].reason, "order expired");
    ef_close(&f);
    /* authenticated in time, getBoundProfilePackage too late */
    ef_open(&f, 1);
    f.cfg.order_lifetime = 3600;
    f.cfg.clock = offset_clock;
    f.cfg.session_lifetime = 100000;
    clock_offset = 0;
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    clock_offset = 7200;
    ef_prepare_and_get(&f, NULL, "8.8.5/4.10");
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_ERROR);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_AUTHENTICATED);
    ef_close(&f);
    /* within the lifetime the download goes through */
    ef_open(&f, 0);
    f.cfg.order_lifetime = 3600;
    f.cfg.clock = offset_clock;
    clock_offset = 1800;
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    ef_prepare_and_get(&f, NULL, NULL);
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_DOWNLOADED);
    ef_close(&f);
    clock_offset = 0;
}

static int teardown_all(void **state)
{
    (void)state;
    fx_pki_free();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_svn_unsupported),
        cmocka_unit_test(test_certificate_refusals),
        cmocka_unit_test(test_ci_expired),
        cmocka_unit_test(test_not_released),
        cmocka_unit_test(test_rebind_refused),
        cmocka_unit_test(test_hash_cc_missing),
        cmocka_unit_test(test_recheck_before_binding),
        cmocka_unit_test(test_order_expired),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
