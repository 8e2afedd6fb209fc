/* Software eUICC against the recorded osmo-smdpp session (../shared/testdata/osmo-smdpp-session):
 * the eUICC gets the recording's eUICC credentials, a clock inside the certificates' validity and
 * the recorded euiccChallenge pinned, then answers the recorded SM-DP+ messages.
 *
 * AuthenticateServer accepts the recorded serverSigned1 / serverSignature1 / CERT.DPauth (chain
 * to the recorded CI, challenge match, PKID) and signs a euiccSigned1 over the recorded
 * transactionId and serverChallenge.
 *
 * Without help the replay stops there: the recorded smdpSignature2 covers the recording's
 * euiccSignature1, which no eUICC can reproduce (ECDSA is randomised, and our euiccSigned1 carries
 * our own EUICCInfo2), so PrepareDownload is refused with invalidSignature; and the recording's
 * otSK.EUICC is lost, so its BPP cannot be decrypted. The TEST-ONLY hooks of the eUICC (struct
 * rsp_euicc_test_hooks) stand in for "the recorded eUICC": the session remembers the recorded
 * euiccSignature1 (so the recorded smdpSignature2 verifies and PrepareDownload is accepted), and
 * answers with the recorded euiccOtpk, using the recorded ECKA result Z (sgp22-notes §9) instead
 * of ECKA. With those, the recorded boundProfilePackage installs; without the otPK/Z hook the
 * same BPP is refused (smdpSign covers the recorded otPK, not ours). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "euicc_fx.h"
#include "rsp/cert.h"
#include "rsp/crypto.h"
#include "rsp/err.h"
#include "rsp/euicc.h"
#include "rsp/saip.h"
#include "rsp/sgp22.h"
#include "testutil.h"

#define RECORDING_TIME ((time_t)1782864000) /* 2026-07-01T00:00:00Z */
#define SESSION        "testdata/osmo-smdpp-session/"
/* ECKA shared secret Z of the recorded run (testdata README, sgp22-notes §9) */
#define RECORDED_Z "dae00c48006de00904adc6d97a53f90aec100ba9767ee9ddcfe9e379f7685462"

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

/* The recording, decoded. */
struct rec {
    json_t *root;
    struct rsp_buf challenge, s1, sig1, cert, pkid, auth, s2, sig2, dppb, pdr, bpp;
    struct rsp_buf key, euicc, eum, ci, upp;
    struct rsp_sgp22_authenticate_server_response rec_auth;
    struct rsp_sgp22_prepare_download_response rec_pd;
};

static void rec_load(struct rec *r)
{
    memset(r, 0, sizeof *r);
    json_error_t jerr;
    r->root = json_load_file(tu_shared_path(SESSION "es9p-exchanges.json"), 0, &jerr);
    assert_non_null(r->root);
    r->challenge = b64(body(r->root, 0, "request"), "euiccChallenge");
    assert_int_equal(r->challenge.len, 16);
    json_t *r0 = body(r->root, 0, "response");
    r->s1 = b64(r0, "serverSigned1");
    r->sig1 = b64(r0, "serverSignature1");
    r->cert = b64(r0, "serverCertificate");
    r->pkid = b64(r0, "euiccCiPKIdToBeUsed");
    r->auth = b64(body(r->root, 1, "request"), "authenticateServerResponse");
    json_t *r1 = body(r->root, 1, "response");
    r->s2 = b64(r1, "smdpSigned2");
    r->sig2 = b64(r1, "smdpSignature2");
    r->dppb = b64(r1, "smdpCertificate");
    r->pdr = b64(body(r->root, 2, "request"), "prepareDownloadResponse");
    r->bpp = b64(body(r->root, 2, "response"), "boundProfilePackage");
    r->key = tu_load(tu_shared_path(SESSION "certs/eUICC/SK_EUICC_ECDSA_NIST.pem"));
    r->euicc = tu_load(tu_shared_path(SESSION "certs/eUICC/CERT_EUICC_ECDSA_NIST.der"));
    r->eum = tu_load(tu_shared_path(SESSION "certs/EUM/CERT_EUM_ECDSA_NIST.der"));
    r->ci = tu_load(tu_shared_path(SESSION "certs/CertificateIssuer/CERT_CI_ECDSA_NIST.der"));
    r->upp = tu_load(tu_shared_path("testdata/ts48-upp/TS48V2-SAIP2-3-BERTLV-UNIQUE.der"));
    assert_int_equal(
        rsp_sgp22_authenticate_server_response_decode(r->auth.data, r->auth.len, &r->rec_auth), 0);
    assert_true(r->rec_auth.ok);
    assert_int_equal(
        rsp_sgp22_prepare_download_response_decode(r->pdr.data, r->pdr.len, &r->rec_pd), 0);
    assert_true(r->rec_pd.ok);
    assert_int_equal(r->rec_pd.euicc_signed2.euicc_otpk.len, RSP_EC_POINT_LEN);
}

static void rec_free(struct rec *r)
{
    struct rsp_buf *bufs[] = {&r->challenge, &r->s1,   &r->sig1, &r->cert, &r->pkid, &r->auth,
                              &r->s2,        &r->sig2, &r->dppb, &r->pdr,  &r->bpp,  &r->key,
                              &r->euicc,     &r->eum,  &r->ci,   &r->upp};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        rsp_buf_free(bufs[i]);
    json_decref(r->root);
}

static struct rsp_euicc *rec_euicc(const struct rec *r, const struct rsp_euicc_test_hooks *h)
{
    struct rsp_euicc_config c;
    memset(&c, 0, sizeof c);
    c.sk_euicc.p = r->key.data;
    c.sk_euicc.len = r->key.len;
    c.cert_euicc.p = r->euicc.data;
    c.cert_euicc.len = r->euicc.len;
    c.cert_eum.p = r->eum.data;
    c.cert_eum.len = r->eum.len;
    c.ci[0].p = r->ci.data;
    c.ci[0].len = r->ci.len;
    c.n_ci = 1;
    c.clock = recording_clock;
    c.fixed_challenge = r->challenge.data;
    c.test_hooks = h;
    struct rsp_euicc *e = NULL;
    assert_int_equal(rsp_euicc_new(&c, &e, NULL, 0), 0);
    return e;
}

static void verify_euicc_sig(const struct rec *r, const uint8_t *msg, size_t n,
                             const struct rsp_sgp22_bytes *sig)
{
    struct rsp_cert *ec = NULL;
    struct rsp_key *pub = NULL;
    assert_int_equal(rsp_cert_parse(r->euicc.data, r->euicc.len, &ec), 0);
    assert_int_equal(rsp_cert_pubkey(ec, &pub), 0);
    assert_int_equal(rsp_ecdsa_verify(pub, msg, n, sig->p, sig->len), 0);
    rsp_key_free(pub);
    rsp_cert_free(ec);
}

/* GetEUICCChallenge (pinned) + AuthenticateServer with the recorded server messages. */
static void rec_authenticate(struct rsp_euicc *e, const struct rec *rc)
{
    struct rsp_buf r = RSP_BUF_INIT, req = RSP_BUF_INIT;
    static const uint8_t get_challenge[] = {0xBF, 0x2E, 0x00};
    assert_int_equal(rsp_euicc_process(e, get_challenge, sizeof get_challenge, &r), 0);
    uint8_t ch[16];
    assert_int_equal(rsp_es10_challenge_decode(r.data, r.len, ch), 0);
    assert_memory_equal(ch, rc->challenge.data, 16);

    /* AuthenticateServerRequest as the LPA built it: the SM-DP+'s parts + the recorded
     * ctxParams1 (taken from the recorded euiccSigned1) */
    const struct rsp_sgp22_authenticate_server_response *rec = &rc->rec_auth;
    struct rsp_sgp22_authenticate_server_request rq;
    memset(&rq, 0, sizeof rq);
    assert_int_equal(rsp_der_parse_one(rc->s1.data, rc->s1.len, &rq.server_signed1.raw), 0);
    rq.server_signature1 = value_of(&rc->sig1, 0x5F37);
    rq.euicc_ci_pkid_to_be_used = value_of(&rc->pkid, 0x04);
    assert_int_equal(rsp_der_parse_one(rc->cert.data, rc->cert.len, &rq.server_certificate), 0);
    rq.ctx_params1 = rec->euicc_signed1.ctx_params1;
    assert_int_equal(rsp_sgp22_authenticate_server_request_encode(&rq, &req), 0);
    rsp_buf_reset(&r);
    assert_int_equal(rsp_euicc_process(e, req.data, req.len, &r), 0);
    struct rsp_sgp22_authenticate_server_response ar;
    assert_int_equal(rsp_sgp22_authenticate_server_response_decode(r.data, r.len, &ar), 0);
    if (!ar.ok)
        print_message("authenticateErrorCode %d\n", (int)ar.error_code);
    assert_true(ar.ok);
    assert_int_equal(ar.euicc_signed1.transaction_id.len, rec->euicc_signed1.transaction_id.len);
    assert_memory_equal(ar.euicc_signed1.transaction_id.p, rec->euicc_signed1.transaction_id.p,
                        rec->euicc_signed1.transaction_id.len);
    assert_memory_equal(ar.euicc_signed1.server_challenge.p, rec->euicc_signed1.server_challenge.p,
                        16);
    assert_int_equal(ar.euicc_signed1.ctx_params1.raw.raw_len,
                     rec->euicc_signed1.ctx_params1.raw.raw_len);
    /* euiccSignature1 verifies with the recording's CERT.EUICC, and is a fresh one (the hook,
     * when set, changes only what the session remembers) */
    verify_euicc_sig(rc, ar.euicc_signed1.raw.raw, ar.euicc_signed1.raw.raw_len,
                     &ar.euicc_signature1);
    assert_memory_not_equal(ar.euicc_signature1.p, rec->euicc_signature1.p, 64);
    rsp_buf_free(&r);
    rsp_buf_free(&req);
}

/* PrepareDownload with the recorded smdpSigned2 / smdpSignature2 / CERT.DPpb. */
static void rec_prepare(struct rsp_euicc *e, const struct rec *rc,
                        struct rsp_sgp22_prepare_download_response *pr, struct rsp_buf *r)
{
    struct rsp_sgp22_prepare_download_request pq;
    memset(&pq, 0, sizeof pq);
    assert_int_equal(rsp_der_parse_one(rc->s2.data, rc->s2.len, &pq.smdp_signed2.raw), 0);
    pq.smdp_signature2 = value_of(&rc->sig2, 0x5F37);
    assert_int_equal(rsp_der_parse_one(rc->dppb.data, rc->dppb.len, &pq.smdp_certificate), 0);
    struct rsp_buf req = RSP_BUF_INIT;
    assert_int_equal(rsp_sgp22_prepare_download_request_encode(&pq, &req), 0);
    rsp_buf_reset(r);
    assert_int_equal(rsp_euicc_process(e, req.data, req.len, r), 0);
    assert_int_equal(rsp_sgp22_prepare_download_response_decode(r->data, r->len, pr), 0);
    rsp_buf_free(&req);
}

static size_t n_profiles(struct rsp_euicc *e, struct rsp_profile_info_list *l, struct rsp_buf *b)
{
    static const uint8_t gpi[] = {0xBF, 0x2D, 0x00};
    rsp_buf_reset(b);
    assert_int_equal(rsp_euicc_process(e, gpi, sizeof gpi, b), 0);
    assert_int_equal(rsp_profile_info_list_decode(b->data, b->len, l), 0);
    assert_false(l->is_error);
    return l->n;
}

/* Sends the recorded BPP in the LPA's segments; returns the last answer (the PIR). */
static void send_bpp(struct rsp_euicc *e, const struct rec *rc, struct rsp_buf *r, size_t *sent,
                     size_t *n_segs)
{
    struct fx_segs s;
    fx_split(&rc->bpp, &s);
    *n_segs = s.n;
    assert_true(s.n > 6);
    /* osmo-smdpp cuts the profile at 1008 plaintext bytes: 1036-byte 86 segments */
    size_t n86 = 0;
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i][0] == 0x86) {
            if (i + 1 < s.n)
                assert_int_equal(s.len[i], 1036);
            n86++;
        }
    assert_true(n86 >= 12);
    assert_int_equal(fx_send(e, &s, r, sent), 0);
}

static void test_osmo_recording(void **st)
{
    (void)st;
    TU_REQUIRE_SHARED();
    struct rec rc;
    rec_load(&rc);
    struct rsp_euicc *e = rec_euicc(&rc, NULL);
    rec_authenticate(e, &rc);

    /* PrepareDownload with the recorded smdpSigned2: bound to the recording's euiccSignature1 */
    struct rsp_buf before = RSP_BUF_INIT, after = RSP_BUF_INIT, r = RSP_BUF_INIT;
    assert_int_equal(rsp_euicc_state_serialize(e, &before), 0);
    struct rsp_sgp22_prepare_download_response pr;
    rec_prepare(e, &rc, &pr, &r);
    assert_false(pr.ok);
    assert_int_equal(pr.error_code, RSP_SGP22_DL_ERR_INVALID_SIGNATURE);
    assert_int_equal(rsp_euicc_state_serialize(e, &after), 0);
    assert_int_equal(after.len, before.len);
    assert_memory_equal(after.data, before.data, before.len);
    /* ... so the BPP finds no prepared session: 6985, nothing installed */
    rsp_buf_reset(&r);
    assert_int_equal(rsp_euicc_process(e, rc.bpp.data, rc.bpp.len, &r), 0x6985);
    assert_int_equal(r.len, 0);
    struct rsp_profile_info_list l;
    assert_int_equal(n_profiles(e, &l, &r), 0);

    rsp_buf_free(&r);
    rsp_buf_free(&before);
    rsp_buf_free(&after);
    rsp_euicc_free(e);
    rec_free(&rc);
}

/* The hooks reproduce the recorded eUICC: the recorded BPP installs. */
static void test_osmo_bpp_installs(void **st)
{
    (void)st;
    TU_REQUIRE_SHARED();
    struct rec rc;
    rec_load(&rc);
    struct rsp_buf z = tu_hex(RECORDED_Z);
    assert_int_equal(z.len, RSP_ECKA_Z_LEN);
    struct rsp_euicc_test_hooks h = {.euicc_sig1 = rc.rec_auth.euicc_signature1.p,
                                     .otpk = rc.rec_pd.euicc_signed2.euicc_otpk.p,
                                     .z = z.data};
    assert_int_equal(rc.rec_auth.euicc_signature1.len, 64);
    struct rsp_euicc *e = rec_euicc(&rc, &h);
    rec_authenticate(e, &rc);

    struct rsp_buf r = RSP_BUF_INIT, in = RSP_BUF_INIT;
    struct rsp_sgp22_prepare_download_response pr;
    rec_prepare(e, &rc, &pr, &r);
    if (!pr.ok)
        print_message("downloadErrorCode %d\n", (int)pr.error_code);
    assert_true(pr.ok);
    /* answered with the recorded otPK.EUICC, signed by the recording's eUICC key */
    assert_memory_equal(pr.euicc_signed2.euicc_otpk.p, rc.rec_pd.euicc_signed2.euicc_otpk.p,
                        RSP_EC_POINT_LEN);
    struct rsp_sgp22_bytes sig2 = value_of(&rc.sig2, 0x5F37);
    assert_int_equal(rsp_sgp22_euicc_signature2_input(pr.euicc_signed2.raw.raw,
                                                      pr.euicc_signed2.raw.raw_len, sig2.p, &in),
                     0);
    verify_euicc_sig(&rc, in.data, in.len, &pr.euicc_signature2);

    /* the recorded BPP, segment by segment: smdpSign verifies over the recorded euiccOtpk, the
     * session keys come from the recorded Z, every segment's MAC verifies */
    size_t sent, n_segs;
    send_bpp(e, &rc, &r, &sent, &n_segs);
    assert_int_equal(sent, n_segs);
    struct rsp_sgp22_pir pir;
    assert_int_equal(rsp_sgp22_pir_decode(r.data, r.len, &pir), 0);
    verify_euicc_sig(&rc, pir.data.raw.raw, pir.data.raw.raw_len, &pir.euicc_sign_pir);
    if (!pir.data.success)
        print_message("PIR error: command %d reason %d\n", (int)pir.data.bpp_command_id,
                      (int)pir.data.error_reason);
    assert_true(pir.data.success);
    assert_int_equal(pir.data.transaction_id.len, rc.rec_auth.euicc_signed1.transaction_id.len);
    assert_memory_equal(pir.data.transaction_id.p, rc.rec_auth.euicc_signed1.transaction_id.p,
                        pir.data.transaction_id.len);
    assert_int_equal(pir.data.aid.len, 16);

    /* the installed profile is the recording's: ICCID of the TS.48 package it decrypts to */
    struct rsp_saip_info info;
    assert_int_equal(rsp_saip_parse(rc.upp.data, rc.upp.len, &info), 0);
    struct rsp_iccid want;
    assert_int_equal(rsp_iccid_from_str(info.iccid_str, &want), 0);
    struct rsp_buf lb = RSP_BUF_INIT;
    struct rsp_profile_info_list l;
    assert_int_equal(n_profiles(e, &l, &lb), 1);
    assert_true(l.profiles[0].has_iccid);
    assert_memory_equal(l.profiles[0].iccid.b, want.b, RSP_ICCID_LEN);
    assert_true(l.profiles[0].has_state);
    assert_int_equal(l.profiles[0].state, RSP_PROFILE_DISABLED);
    assert_memory_equal(l.profiles[0].isdp_aid.p, pir.data.aid.p, 16);
    assert_true(pir.data.notification_metadata.has_iccid);
    assert_memory_equal(pir.data.notification_metadata.iccid.p, want.b, RSP_ICCID_LEN);
    /* byte for byte: the state keeps the SHA-256 of the decrypted package */
    uint8_t hash[RSP_SHA256_LEN];
    assert_int_equal(rsp_sha256(rc.upp.data, rc.upp.len, hash), 0);
    struct rsp_buf stb = RSP_BUF_INIT;
    assert_int_equal(rsp_euicc_state_serialize(e, &stb), 0);
    bool found = false;
    for (size_t i = 0; i + sizeof hash <= stb.len && !found; i++)
        found = !memcmp(stb.data + i, hash, sizeof hash);
    assert_true(found);

    rsp_buf_free(&stb);
    rsp_buf_free(&lb);
    rsp_buf_free(&in);
    rsp_buf_free(&r);
    rsp_buf_free(&z);
    rsp_euicc_free(e);
    rec_free(&rc);
}

/* Only the euiccSignature1 hook: PrepareDownload is accepted but answers a fresh otPK, which the
 * recorded smdpSign does not cover: the BPP is refused at InitialiseSecureChannel with
 * invalidSignature, nothing is installed. Then the same eUICC given the otPK / Z hook accepts a
 * new session with the same recording. */
static void test_osmo_bpp_refused_without_hook(void **st)
{
    (void)st;
    TU_REQUIRE_SHARED();
    struct rec rc;
    rec_load(&rc);
    struct rsp_euicc_test_hooks h = {.euicc_sig1 = rc.rec_auth.euicc_signature1.p};
    struct rsp_euicc *e = rec_euicc(&rc, &h);
    rec_authenticate(e, &rc);
    struct rsp_buf r = RSP_BUF_INIT, lb = RSP_BUF_INIT;
    struct rsp_sgp22_prepare_download_response pr;
    rec_prepare(e, &rc, &pr, &r);
    assert_true(pr.ok);
    assert_memory_not_equal(pr.euicc_signed2.euicc_otpk.p, rc.rec_pd.euicc_signed2.euicc_otpk.p,
                            RSP_EC_POINT_LEN);
    size_t sent, n_segs;
    send_bpp(e, &rc, &r, &sent, &n_segs);
    assert_int_equal(sent, 1); /* answered at the first segment */
    struct rsp_sgp22_pir pir;
    assert_int_equal(rsp_sgp22_pir_decode(r.data, r.len, &pir), 0);
    verify_euicc_sig(&rc, pir.data.raw.raw, pir.data.raw.raw_len, &pir.euicc_sign_pir);
    assert_false(pir.data.success);
    assert_int_equal(pir.data.bpp_command_id, RSP_SGP22_BPP_CMD_INITIALISE_SECURE_CHANNEL);
    assert_int_equal(pir.data.error_reason, RSP_SGP22_ERR_INVALID_SIGNATURE);
    struct rsp_profile_info_list l;
    assert_int_equal(n_profiles(e, &l, &lb), 0);
    /* the session is over: the rest of the BPP finds none */
    struct fx_segs s;
    fx_split(&rc.bpp, &s);
    rsp_buf_reset(&r);
    assert_int_equal(rsp_euicc_process(e, s.p[1], s.len[1], &r), 0x6985);

    /* the whole hook set, a new session on the same eUICC: installed */
    struct rsp_buf z = tu_hex(RECORDED_Z);
    h.otpk = rc.rec_pd.euicc_signed2.euicc_otpk.p;
    h.z = z.data;
    rsp_euicc_set_test_hooks(e, &h);
    rec_authenticate(e, &rc);
    rec_prepare(e, &rc, &pr, &r);
    assert_true(pr.ok);
    send_bpp(e, &rc, &r, &sent, &n_segs);
    assert_int_equal(sent, n_segs);
    assert_int_equal(rsp_sgp22_pir_decode(r.data, r.len, &pir), 0);
    assert_true(pir.data.success);
    assert_int_equal(n_profiles(e, &l, &lb), 1);

    rsp_buf_free(&z);
    rsp_buf_free(&lb);
    rsp_buf_free(&r);
    rsp_euicc_free(e);
    rec_free(&rc);
}

/* otpk without z (or the reverse) is a configuration error. */
static void test_hooks_config(void **st)
{
    (void)st;
    TU_REQUIRE_SHARED();
    struct rec rc;
    rec_load(&rc);
    struct rsp_euicc_test_hooks h = {.otpk = rc.rec_pd.euicc_signed2.euicc_otpk.p};
    struct rsp_euicc_config c;
    memset(&c, 0, sizeof c);
    c.sk_euicc.p = rc.key.data;
    c.sk_euicc.len = rc.key.len;
    c.cert_euicc.p = rc.euicc.data;
    c.cert_euicc.len = rc.euicc.len;
    c.cert_eum.p = rc.eum.data;
    c.cert_eum.len = rc.eum.len;
    c.ci[0].p = rc.ci.data;
    c.ci[0].len = rc.ci.len;
    c.n_ci = 1;
    c.test_hooks = &h;
    struct rsp_euicc *e = NULL;
    assert_int_equal(rsp_euicc_new(&c, &e, NULL, 0), RSP_EINVAL);
    assert_null(e);
    rec_free(&rc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_osmo_recording),
        cmocka_unit_test(test_osmo_bpp_installs),
        cmocka_unit_test(test_osmo_bpp_refused_without_hook),
        cmocka_unit_test(test_hooks_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
