/* ES9+ handlers against the recorded osmo-smdpp session (../shared/testdata/osmo-smdpp-session):
 * the recorded client messages are replayed against handlers configured with that run's
 * certificates, with the transactionId and serverChallenge pinned through the TEST-ONLY hooks and
 * the clock inside the certificates' validity. Accepted up to where fresh randomness diverges:
 * serverSigned1 is byte-identical, authenticateClient accepts the recorded eUICC answer;
 * euiccSignature2 covers the recorded session's smdpSignature2 (random ECDSA), so
 * getBoundProfilePackage is refused with 8.1/6.1. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rsp/cert.h"
#include "rsp/crypto.h"
#include "rsp/err.h"
#include "rsp/es9p.h"
#include "rsp/sgp22_auth.h"
#include "rsp/store.h"
#include "testutil.h"

#define SESSION "testdata/osmo-smdpp-session/"
#define CERTS   SESSION "certs/"

static time_t pinned_clock(void *ctx)
{
    (void)ctx;
    return (time_t)1717200000; /* 2024-06-01, inside the 2020..2030 test certificates */
}

static struct rsp_cert *cert_at(const char *rel)
{
    struct rsp_buf b = tu_load(tu_shared_path(rel));
    struct rsp_cert *c = NULL;
    assert_int_equal(rsp_cert_parse(b.data, b.len, &c), 0);
    rsp_buf_free(&b);
    return c;
}

static struct rsp_key *key_at(const char *rel)
{
    struct rsp_buf b = tu_load(tu_shared_path(rel));
    struct rsp_key *k = NULL;
    assert_int_equal(rsp_key_from_private(b.data, b.len, &k), 0);
    rsp_buf_free_secure(&b);
    return k;
}

static const char *resp_field(json_t *ex, const char *name)
{
    const char *v = json_string_value(json_object_get(json_object_get(ex, "response"), name));
    assert_non_null(v);
    return v;
}

static void b64(const char *s, struct rsp_buf *out)
{
    assert_non_null(s);
    assert_int_equal(rsp_base64_decode(out, s, strlen(s)), 0);
}

static void call(const struct rsp_es9p_config *cfg, struct rsp_store *st, enum rsp_es9_function fn,
                 json_t *ex, struct rsp_es9_response *out, struct rsp_es_exec_status *status)
{
    char *body = json_dumps(json_object_get(json_object_get(ex, "request"), "body"), 0);
    assert_non_null(body);
    struct rsp_buf o = RSP_BUF_INIT;
    int http = 0;
    assert_int_equal(rsp_es9p_handle_json(cfg, st, fn, body, strlen(body), &o, &http, status), 0);
    free(body);
    if (out && status->status == RSP_ES_SUCCESS)
        assert_int_equal(rsp_es9_decode_response(fn, (const char *)o.data, o.len, out), 0);
    rsp_buf_free(&o);
}

static void test_osmo_replay(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    json_error_t jerr;
    json_t *root = json_load_file(tu_shared_path(SESSION "es9p-exchanges.json"), 0, &jerr);
    assert_non_null(root);
    json_t *ia = json_array_get(root, 0), *ac = json_array_get(root, 1),
           *gb = json_array_get(root, 2);

    struct rsp_cert *ci = cert_at(CERTS "CertificateIssuer/CERT_CI_ECDSA_NIST.der");
    struct rsp_cert *dpauth = cert_at(CERTS "DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der");
    struct rsp_cert *dppb = cert_at(CERTS "DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der");
    struct rsp_key *sk_auth = key_at(CERTS "DPauth/SK_S_SM_DPauth_ECDSA_NIST.pem");
    struct rsp_key *sk_pb = key_at(CERTS "DPpb/SK_S_SM_DPpb_ECDSA_NIST.pem");
    struct rsp_es9p_creds cr = {ci, dpauth, sk_auth, dppb, sk_pb};

    /* the recorded transactionId and serverChallenge (84 ... at the end of serverSigned1) */
    struct rsp_tid tid;
    assert_int_equal(rsp_tid_from_hex(resp_field(ia, "transactionId"), &tid), 0);
    struct rsp_buf s1 = RSP_BUF_INIT;
    b64(resp_field(ia, "serverSigned1"), &s1);
    struct rsp_sgp22_server_signed1 rec1;
    assert_int_equal(rsp_sgp22_server_signed1_decode(s1.data, s1.len, &rec1), 0);

    struct rsp_es9p_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.host = "testsmdpplus1.example.com";
    cfg.creds = &cr;
    cfg.n_creds = 1;
    cfg.clock = pinned_clock;
    cfg.test_only_pinned_tid = tid.b;
    cfg.test_only_pinned_server_challenge = rec1.server_challenge.p;

    char db[512];
    snprintf(db, sizeof db, "%s/es9p-osmo-%d.db", tu_tmpdir(), (int)getpid());
    unlink(db);
    struct rsp_store *st = NULL;
    assert_int_equal(rsp_store_sqlite_open(db, &st), 0);

    /* a Released profile with the recorded matchingId */
    struct rsp_buf asr = RSP_BUF_INIT;
    b64(json_string_value(json_object_get(json_object_get(json_object_get(ac, "request"), "body"),
                                          "authenticateServerResponse")),
        &asr);
    struct rsp_sgp22_authenticate_server_response ar;
    assert_int_equal(rsp_sgp22_authenticate_server_response_decode(asr.data, asr.len, &ar), 0);
    assert_true(ar.ok);
    struct rsp_profile p;
    memset(&p, 0, sizeof p);
    snprintf(p.iccid, sizeof p.iccid, "8949449999999990023");
    snprintf(p.spn, sizeof p.spn, "rspkit");
    snprintf(p.name, sizeof p.name, "replay");
    p.pclass = RSP_PROFILE_CLASS_OPERATIONAL;
    p.state = RSP_PROFILE_RELEASED;
    if (ar.euicc_signed1.ctx_params1.has_matching_id)
        snprintf(p.matching_id, sizeof p.matching_id, "%.*s",
                 (int)ar.euicc_signed1.ctx_params1.matching_id.len,
                 (const char *)ar.euicc_signed1.ctx_params1.matching_id.p);
    static const uint8_t pkg[] = {0xA0, 0x00};
    assert_int_equal(rsp_store_profile_insert(st, &p, pkg, sizeof pkg, "test"), 0);

    struct rsp_es9_response r1;
    memset(&r1, 0, sizeof r1);
    struct rsp_es_exec_status stt;
    call(&cfg, st, RSP_ES9_INITIATE_AUTHENTICATION, ia, &r1, &stt);
    assert_int_equal(stt.status, RSP_ES_SUCCESS);
    assert_true(rsp_tid_equal(&r1.u.initiate_auth.transaction_id, &tid));
    assert_int_equal(r1.u.initiate_auth.server_signed1.len, s1.len);
    assert_memory_equal(r1.u.initiate_auth.server_signed1.data, s1.data, s1.len);
    rsp_es9_response_free(&r1);

    struct rsp_es9_response r2;
    memset(&r2, 0, sizeof r2);
    call(&cfg, st, RSP_ES9_AUTHENTICATE_CLIENT, ac, &r2, &stt);
    if (stt.status != RSP_ES_SUCCESS)
        print_message("authenticateClient: %s/%s\n", stt.code.subject, stt.code.reason);
    assert_int_equal(stt.status, RSP_ES_SUCCESS);
    rsp_es9_response_free(&r2);

    /* past the divergence point */
    call(&cfg, st, RSP_ES9_GET_BOUND_PROFILE_PACKAGE, gb, NULL, &stt);
    assert_int_equal(stt.status, RSP_ES_FAILED);
    assert_string_equal(stt.code.subject, "8.1");
    assert_string_equal(stt.code.reason, "6.1");

    rsp_store_close(st);
    unlink(db);
    rsp_buf_free(&asr);
    rsp_buf_free(&s1);
    rsp_key_free(sk_auth);
    rsp_key_free(sk_pb);
    rsp_cert_free(ci);
    rsp_cert_free(dpauth);
    rsp_cert_free(dppb);
    json_decref(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_osmo_replay)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
