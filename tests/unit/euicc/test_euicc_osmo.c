/* Software eUICC against the recorded osmo-smdpp session (../shared/testdata/osmo-smdpp-session):
 * the eUICC gets the recording's eUICC credentials, a clock inside the certificates' validity and
 * the recorded euiccChallenge pinned, then answers the recorded SM-DP+ messages.
 *
 * What can be checked: AuthenticateServer accepts the recorded serverSigned1 / serverSignature1 /
 * CERT.DPauth (chain to the recorded CI, challenge match, PKID) and signs a euiccSigned1 over the
 * recorded transactionId and serverChallenge. What cannot: PrepareDownload acceptance. The
 * recorded smdpSignature2 covers the recording's euiccSignature1, which no eUICC can reproduce
 * (ECDSA is randomised, and our euiccSigned1 carries our own EUICCInfo2), so the eUICC must
 * refuse it with invalidSignature; the recording's otSK.EUICC is not known either, so its BPP
 * cannot be decrypted by the eUICC. The test asserts exactly that. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/cert.h"
#include "rsp/err.h"
#include "rsp/euicc.h"
#include "rsp/sgp22.h"
#include "testutil.h"

#define RECORDING_TIME ((time_t)1782864000) /* 2026-07-01T00:00:00Z */
#define SESSION        "testdata/osmo-smdpp-session/"

static time_t recording_clock(void *ctx)
{
    (void)ctx;
    return RECORDING_TIME;
}

static json_t *body(json_t *root, size_t i, const char *part)
{
    json_t *p = json_object_get(json_array_get(root, i), part);
    assert_non_null(p);
    if (!strcmp(part, "request"))
        p = json_object_get(p, "body");
    assert_true(json_is_object(p));
    return p;
}

static struct rsp_buf b64(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    assert_true(json_is_string(v));
    struct rsp_buf out = RSP_BUF_INIT;
    assert_int_equal(rsp_base64_decode(&out, json_string_value(v), strlen(json_string_value(v))),
                     0);
    return out;
}

/* ES9+ carries some fields as whole TLVs (5F37 signatures, the 04 PKID): their value. */
static struct rsp_sgp22_bytes value_of(const struct rsp_buf *b, rsp_tag tag)
{
    struct rsp_tlv t;
    struct rsp_sgp22_bytes v = {b->data, b->len};
    if (rsp_der_parse_tag(b->data, b->len, tag, &t) == 0) {
        v.p = t.val;
        v.len = t.len;
    }
    return v;
}

static void test_osmo_recording(void **st)
{
    (void)st;
    TU_REQUIRE_SHARED();
    json_error_t jerr;
    json_t *root = json_load_file(tu_shared_path(SESSION "es9p-exchanges.json"), 0, &jerr);
    assert_non_null(root);
    struct rsp_buf challenge = b64(body(root, 0, "request"), "euiccChallenge");
    assert_int_equal(challenge.len, 16);
    json_t *r0 = body(root, 0, "response");
    struct rsp_buf s1 = b64(r0, "serverSigned1"), sig1 = b64(r0, "serverSignature1"),
                   cert = b64(r0, "serverCertificate"), pkid = b64(r0, "euiccCiPKIdToBeUsed");
    struct rsp_buf rec_auth = b64(body(root, 1, "request"), "authenticateServerResponse");
    json_t *r1 = body(root, 1, "response");
    struct rsp_buf s2 = b64(r1, "smdpSigned2"), sig2 = b64(r1, "smdpSignature2"),
                   dppb = b64(r1, "smdpCertificate");

    struct rsp_buf key = tu_load(tu_shared_path(SESSION "certs/eUICC/SK_EUICC_ECDSA_NIST.pem"));
    struct rsp_buf euicc = tu_load(tu_shared_path(SESSION "certs/eUICC/CERT_EUICC_ECDSA_NIST.der"));
    struct rsp_buf eum = tu_load(tu_shared_path(SESSION "certs/EUM/CERT_EUM_ECDSA_NIST.der"));
    struct rsp_buf ci =
        tu_load(tu_shared_path(SESSION "certs/CertificateIssuer/CERT_CI_ECDSA_NIST.der"));
    struct rsp_euicc_config c;
    memset(&c, 0, sizeof c);
    c.sk_euicc.p = key.data;
    c.sk_euicc.len = key.len;
    c.cert_euicc.p = euicc.data;
    c.cert_euicc.len = euicc.len;
    c.cert_eum.p = eum.data;
    c.cert_eum.len = eum.len;
    c.ci[0].p = ci.data;
    c.ci[0].len = ci.len;
    c.n_ci = 1;
    c.clock = recording_clock;
    c.fixed_challenge = challenge.data;
    struct rsp_euicc *e = NULL;
    assert_int_equal(rsp_euicc_new(&c, &e, NULL, 0), 0);

    struct rsp_buf r = RSP_BUF_INIT, req = RSP_BUF_INIT;
    static const uint8_t get_challenge[] = {0xBF, 0x2E, 0x00};
    assert_int_equal(rsp_euicc_process(e, get_challenge, sizeof get_challenge, &r), 0);
    uint8_t ch[16];
    assert_int_equal(rsp_es10_challenge_decode(r.data, r.len, ch), 0);
    assert_memory_equal(ch, challenge.data, 16);

    /* AuthenticateServerRequest as the LPA built it: the SM-DP+'s parts + the recorded
     * ctxParams1 (taken from the recorded euiccSigned1) */
    struct rsp_sgp22_authenticate_server_response rec;
    assert_int_equal(
        rsp_sgp22_authenticate_server_response_decode(rec_auth.data, rec_auth.len, &rec), 0);
    struct rsp_sgp22_authenticate_server_request rq;
    memset(&rq, 0, sizeof rq);
    assert_int_equal(rsp_der_parse_one(s1.data, s1.len, &rq.server_signed1.raw), 0);
    rq.server_signature1 = value_of(&sig1, 0x5F37);
    rq.euicc_ci_pkid_to_be_used = value_of(&pkid, 0x04);
    assert_int_equal(rsp_der_parse_one(cert.data, cert.len, &rq.server_certificate), 0);
    rq.ctx_params1 = rec.euicc_signed1.ctx_params1;
    assert_int_equal(rsp_sgp22_authenticate_server_request_encode(&rq, &req), 0);
    rsp_buf_reset(&r);
    assert_int_equal(rsp_euicc_process(e, req.data, req.len, &r), 0);
    struct rsp_sgp22_authenticate_server_response ar;
    assert_int_equal(rsp_sgp22_authenticate_server_response_decode(r.data, r.len, &ar), 0);
    if (!ar.ok)
        print_message("authenticateErrorCode %d\n", (int)ar.error_code);
    assert_true(ar.ok);
    assert_int_equal(ar.euicc_signed1.transaction_id.len, rec.euicc_signed1.transaction_id.len);
    assert_memory_equal(ar.euicc_signed1.transaction_id.p, rec.euicc_signed1.transaction_id.p,
                        rec.euicc_signed1.transaction_id.len);
    assert_memory_equal(ar.euicc_signed1.server_challenge.p, rec.euicc_signed1.server_challenge.p,
                        16);
    assert_int_equal(ar.euicc_signed1.ctx_params1.raw.raw_len,
                     rec.euicc_signed1.ctx_params1.raw.raw_len);
    /* euiccSignature1 verifies with the recording's CERT.EUICC */
    struct rsp_cert *ec = NULL;
    struct rsp_key *pub = NULL;
    assert_int_equal(rsp_cert_parse(euicc.data, euicc.len, &ec), 0);
    assert_int_equal(rsp_cert_pubkey(ec, &pub), 0);
    assert_int_equal(rsp_ecdsa_verify(pub, ar.euicc_signed1.raw.raw, ar.euicc_signed1.raw.raw_len,
                                      ar.euicc_signature1.p, ar.euicc_signature1.len),
                     0);
    rsp_key_free(pub);
    rsp_cert_free(ec);

    /* PrepareDownload with the recorded smdpSigned2: bound to the recording's euiccSignature1 */
    struct rsp_sgp22_prepare_download_request pq;
    memset(&pq, 0, sizeof pq);
    assert_int_equal(rsp_der_parse_one(s2.data, s2.len, &pq.smdp_signed2.raw), 0);
    pq.smdp_signature2 = value_of(&sig2, 0x5F37);
    assert_int_equal(rsp_der_parse_one(dppb.data, dppb.len, &pq.smdp_certificate), 0);
    rsp_buf_reset(&req);
    assert_int_equal(rsp_sgp22_prepare_download_request_encode(&pq, &req), 0);
    struct rsp_buf before = RSP_BUF_INIT, after = RSP_BUF_INIT;
    assert_int_equal(rsp_euicc_state_serialize(e, &before), 0);
    rsp_buf_reset(&r);
    assert_int_equal(rsp_euicc_process(e, req.data, req.len, &r), 0);
    struct rsp_sgp22_prepare_download_response pr;
    assert_int_equal(rsp_sgp22_prepare_download_response_decode(r.data, r.len, &pr), 0);
    assert_false(pr.ok);
    assert_int_equal(pr.error_code, RSP_SGP22_DL_ERR_INVALID_SIGNATURE);
    assert_int_equal(rsp_euicc_state_serialize(e, &after), 0);
    assert_int_equal(after.len, before.len);
    assert_memory_equal(after.data, before.data, before.len);

    struct rsp_buf *bufs[] = {&challenge, &s1,   &sig1, &cert,   &pkid,  &rec_auth,
                              &s2,        &sig2, &dppb, &key,    &euicc, &eum,
                              &ci,        &r,    &req,  &before, &after};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        rsp_buf_free(bufs[i]);
    rsp_euicc_free(e);
    json_decref(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_osmo_recording),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
