/* Interoperability proof against an independent implementation: the complete ES9+ download
 * recorded between osmo-smdpp (SM-DP+) and pySim's es9p_client (LPA + eUICC emulation), in
 * ../shared/testdata/osmo-smdpp-session. Every message is decoded with rspkit's own codecs, then
 *  (a) all signatures verify over the byte strings SGP.22 names, with the certificates carried in
 *      the messages themselves,
 *  (b) the certificate chains CI -> EUM -> eUICC and CI -> DPauth / DPpb verify,
 *  (c) the Bound Profile Package, keyed from the recorded shared secret, decrypts segment by
 *      segment to exactly the TS.48 profile package that was served.
 * Skipped when ../shared is absent. */
#include "testutil.h"

#include <jansson.h>
#include <string.h>
#include <time.h>

#include "rsp/cert.h"
#include "rsp/crypto.h"
#include "rsp/err.h"
#include "rsp/sgp22.h"

/* A moment inside the validity of every certificate of the recording (2026-07-01T00:00:00Z). */
#define RECORDING_TIME ((time_t)1782864000)

#define SESSION "testdata/osmo-smdpp-session/"

struct session {
    json_t *root;
    /* decoded base64 blobs (owned) */
    struct rsp_buf server_signed1, server_signature1, server_cert, ci_pkid;
    struct rsp_buf auth_server_resp, profile_metadata, smdp_signed2, smdp_signature2, smdp_cert;
    struct rsp_buf prep_dl_resp, bpp, pir;
    char euicc_challenge_b64[64];
};

static void b64_field(json_t *obj, const char *key, struct rsp_buf *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        fail_msg("recorded exchange has no string field '%s'", key);
    const char *s = json_string_value(v);
    rsp_buf_init(out);
    assert_int_equal(rsp_base64_decode(out, s, strlen(s)), 0);
}

static json_t *exchange(json_t *root, size_t i, const char *part)
{
    json_t *e = json_array_get(root, i);
    assert_non_null(e);
    json_t *p = json_object_get(e, part);
    if (strcmp(part, "request") == 0) {
        json_t *body = json_object_get(p, "body");
        /* the body is either an object or a JSON string holding one */
        if (json_is_string(body)) {
            json_error_t err;
            json_t *parsed = json_loads(json_string_value(body), 0, &err);
            assert_non_null(parsed);
            json_object_set_new(e, "_parsed_body", parsed);
            return parsed;
        }
        return body;
    }
    return p;
}

static int setup(void **state)
{
    if (!tu_shared_dir())
        return 0;
    struct session *s = calloc(1, sizeof *s);
    json_error_t err;
    s->root = json_load_file(tu_shared_path(SESSION "es9p-exchanges.json"), 0, &err);
    if (!s->root || json_array_size(s->root) != 4) {
        print_error("cannot load the recorded session: %s\n", err.text);
        free(s);
        return -1;
    }
    json_t *r0 = exchange(s->root, 0, "response");
    b64_field(r0, "serverSigned1", &s->server_signed1);
    b64_field(r0, "serverSignature1", &s->server_signature1);
    b64_field(r0, "serverCertificate", &s->server_cert);
    b64_field(r0, "euiccCiPKIdToBeUsed", &s->ci_pkid);
    b64_field(exchange(s->root, 1, "request"), "authenticateServerResponse", &s->auth_server_resp);
    json_t *r1 = exchange(s->root, 1, "response");
    b64_field(r1, "profileMetadata", &s->profile_metadata);
    b64_field(r1, "smdpSigned2", &s->smdp_signed2);
    b64_field(r1, "smdpSignature2", &s->smdp_signature2);
    b64_field(r1, "smdpCertificate", &s->smdp_cert);
    b64_field(exchange(s->root, 2, "request"), "prepareDownloadResponse", &s->prep_dl_resp);
    b64_field(exchange(s->root, 2, "response"), "boundProfilePackage", &s->bpp);
    b64_field(exchange(s->root, 3, "request"), "pendingNotification", &s->pir);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct session *s = *state;
    if (!s)
        return 0;
    struct rsp_buf *bufs[] = {
        &s->server_signed1,   &s->server_signature1, &s->server_cert,  &s->ci_pkid,
        &s->auth_server_resp, &s->profile_metadata,  &s->smdp_signed2, &s->smdp_signature2,
        &s->smdp_cert,        &s->prep_dl_resp,      &s->bpp,          &s->pir};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        rsp_buf_free(bufs[i]);
    json_decref(s->root);
    free(s);
    return 0;
}

static struct rsp_cert *cert_of(const uint8_t *der, size_t len)
{
    struct rsp_cert *c = NULL;
    assert_int_equal(rsp_cert_parse(der, len, &c), 0);
    return c;
}

static struct rsp_key *key_of(const struct rsp_cert *c)
{
    struct rsp_key *k = NULL;
    assert_int_equal(rsp_cert_pubkey(c, &k), 0);
    return k;
}

/* The 64-byte signature inside a whole 5F37 TLV as carried in ES9+ JSON. */
static const uint8_t *sig_of(const struct rsp_buf *tlv)
{
    struct rsp_tlv t;
    assert_int_equal(rsp_der_parse_tag(tlv->data, tlv->len, 0x5F37, &t), 0);
    assert_int_equal(t.len, RSP_ECDSA_SIG_LEN);
    return t.val;
}

/* Verifies, then checks that one flipped bit of the signed bytes is refused. */
static void verify_and_tamper(const struct rsp_key *k, const uint8_t *msg, size_t len,
                              const uint8_t *sig)
{
    assert_int_equal(rsp_ecdsa_verify(k, msg, len, sig, RSP_ECDSA_SIG_LEN), 0);
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, msg, len);
    copy[len / 2] ^= 0x01;
    assert_int_equal(rsp_ecdsa_verify(k, copy, len, sig, RSP_ECDSA_SIG_LEN), RSP_EVERIFY);
    free(copy);
}

static void test_signatures(void **state)
{
    TU_REQUIRE_SHARED();
    struct session *s = *state;

    /* 1. serverSignature1 (SK.DPauth) over serverSigned1 */
    struct rsp_sgp22_server_signed1 ss1;
    assert_int_equal(
        rsp_sgp22_server_signed1_decode(s->server_signed1.data, s->server_signed1.len, &ss1), 0);
    struct rsp_cert *dpauth = cert_of(s->server_cert.data, s->server_cert.len);
    struct rsp_key *k_dpauth = key_of(dpauth);
    verify_and_tamper(k_dpauth, ss1.raw.raw, ss1.raw.raw_len, sig_of(&s->server_signature1));

    /* 2. euiccSignature1 (SK.EUICC) over euiccSigned1 as received */
    struct rsp_sgp22_authenticate_server_response asr;
    assert_int_equal(rsp_sgp22_authenticate_server_response_decode(s->auth_server_resp.data,
                                                                   s->auth_server_resp.len, &asr),
                     0);
    assert_true(asr.ok);
    /* the eUICC echoed the SM-DP+'s transactionId and serverChallenge */
    assert_int_equal(asr.euicc_signed1.transaction_id.len, ss1.transaction_id.len);
    assert_memory_equal(asr.euicc_signed1.transaction_id.p, ss1.transaction_id.p,
                        ss1.transaction_id.len);
    assert_memory_equal(asr.euicc_signed1.server_challenge.p, ss1.server_challenge.p, 16);
    struct rsp_cert *euicc = cert_of(asr.euicc_certificate.raw, asr.euicc_certificate.raw_len);
    struct rsp_key *k_euicc = key_of(euicc);
    verify_and_tamper(k_euicc, asr.euicc_signed1.raw.raw, asr.euicc_signed1.raw.raw_len,
                      asr.euicc_signature1.p);

    /* 3. smdpSignature2 (SK.DPpb) over smdpSigned2 || 5F3740 || euiccSignature1 */
    struct rsp_sgp22_smdp_signed2 sd2;
    assert_int_equal(rsp_sgp22_smdp_signed2_decode(s->smdp_signed2.data, s->smdp_signed2.len, &sd2),
                     0);
    struct rsp_buf in = RSP_BUF_INIT;
    assert_int_equal(
        rsp_sgp22_smdp_signature2_input(sd2.raw.raw, sd2.raw.raw_len, asr.euicc_signature1.p, &in),
        0);
    struct rsp_cert *dppb = cert_of(s->smdp_cert.data, s->smdp_cert.len);
    struct rsp_key *k_dppb = key_of(dppb);
    const uint8_t *smdp_sig2 = sig_of(&s->smdp_signature2);
    verify_and_tamper(k_dppb, in.data, in.len, smdp_sig2);

    /* 4. euiccSignature2 (SK.EUICC) over euiccSigned2 || smdpSignature2 TLV */
    struct rsp_sgp22_prepare_download_response pdr;
    assert_int_equal(
        rsp_sgp22_prepare_download_response_decode(s->prep_dl_resp.data, s->prep_dl_resp.len, &pdr),
        0);
    assert_true(pdr.ok);
    rsp_buf_reset(&in);
    assert_int_equal(rsp_sgp22_euicc_signature2_input(
                         pdr.euicc_signed2.raw.raw, pdr.euicc_signed2.raw.raw_len, smdp_sig2, &in),
                     0);
    verify_and_tamper(k_euicc, in.data, in.len, pdr.euicc_signature2.p);

    /* 5. smdpSign (SK.DPpb) in InitialiseSecureChannel, bound to the eUICC's otPK */
    struct rsp_sgp22_bpp bpp;
    assert_int_equal(rsp_sgp22_bpp_decode(s->bpp.data, s->bpp.len, &bpp), 0);
    rsp_buf_reset(&in);
    assert_int_equal(
        rsp_sgp22_smdp_sign_input(&bpp.init_secure_channel, pdr.euicc_signed2.euicc_otpk.p, &in),
        0);
    verify_and_tamper(k_dppb, in.data, in.len, bpp.init_secure_channel.smdp_sign.p);

    /* 6. euiccSignPIR (SK.EUICC) over ProfileInstallationResultData */
    struct rsp_sgp22_pir pir;
    assert_int_equal(rsp_sgp22_pir_decode(s->pir.data, s->pir.len, &pir), 0);
    assert_true(pir.data.success);
    verify_and_tamper(k_euicc, pir.data.raw.raw, pir.data.raw.raw_len, pir.euicc_sign_pir.p);

    /* A signature by the wrong key is refused: smdpSignature2 checked with DPauth's key. */
    rsp_buf_reset(&in);
    assert_int_equal(
        rsp_sgp22_smdp_signature2_input(sd2.raw.raw, sd2.raw.raw_len, asr.euicc_signature1.p, &in),
        0);
    assert_int_equal(rsp_ecdsa_verify(k_dpauth, in.data, in.len, smdp_sig2, 64), RSP_EVERIFY);

    rsp_buf_free(&in);
    rsp_key_free(k_dpauth);
    rsp_key_free(k_euicc);
    rsp_key_free(k_dppb);
    rsp_cert_free(dpauth);
    rsp_cert_free(euicc);
    rsp_cert_free(dppb);
}

static void test_chains(void **state)
{
    TU_REQUIRE_SHARED();
    struct session *s = *state;
    struct rsp_buf ci_der =
        tu_load(tu_shared_path(SESSION "certs/CertificateIssuer/CERT_CI_ECDSA_NIST.der"));
    struct rsp_cert *ci = cert_of(ci_der.data, ci_der.len);

    /* the CI the SM-DP+ chose is the one whose SKI it sent as euiccCiPKIdToBeUsed */
    uint8_t ski[RSP_KEYID_LEN];
    struct rsp_tlv pk;
    assert_int_equal(rsp_der_parse_tag(s->ci_pkid.data, s->ci_pkid.len, 0x04, &pk), 0);
    assert_int_equal(rsp_cert_ski(ci, ski), 0);
    assert_int_equal(pk.len, RSP_KEYID_LEN);
    assert_memory_equal(pk.val, ski, RSP_KEYID_LEN);

    struct rsp_sgp22_authenticate_server_response asr;
    assert_int_equal(rsp_sgp22_authenticate_server_response_decode(s->auth_server_resp.data,
                                                                   s->auth_server_resp.len, &asr),
                     0);
    struct rsp_cert *eum = cert_of(asr.eum_certificate.raw, asr.eum_certificate.raw_len);
    struct rsp_cert *euicc = cert_of(asr.euicc_certificate.raw, asr.euicc_certificate.raw_len);
    struct rsp_cert *dpauth = cert_of(s->server_cert.data, s->server_cert.len);
    struct rsp_cert *dppb = cert_of(s->smdp_cert.data, s->smdp_cert.len);
    char detail[RSP_CERT_DETAIL_SZ];

    assert_int_equal(
        rsp_cert_verify_euicc_chain(ci, eum, euicc, RECORDING_TIME, detail, sizeof detail), 0);
    char eid[RSP_EID_DIGITS + 1];
    assert_int_equal(rsp_cert_eid(euicc, eid), 0);
    assert_string_equal(eid, "89049032123451234512345678901235");
    assert_int_equal(
        rsp_cert_verify_dp(ci, dpauth, RSP_ROLE_DP_AUTH, RECORDING_TIME, detail, sizeof detail), 0);
    assert_int_equal(
        rsp_cert_verify_dp(ci, dppb, RSP_ROLE_DP_PB, RECORDING_TIME, detail, sizeof detail), 0);
    /* roles are enforced: the DPauth certificate cannot stand in for DPpb */
    assert_int_equal(
        rsp_cert_verify_dp(ci, dpauth, RSP_ROLE_DP_PB, RECORDING_TIME, detail, sizeof detail),
        RSP_EPOLICY);
    char oid[32];
    assert_int_equal(rsp_cert_registered_id(dppb, oid, sizeof oid), 0);
    assert_string_equal(oid, "2.999.10");

    rsp_cert_free(ci);
    rsp_cert_free(eum);
    rsp_cert_free(euicc);
    rsp_cert_free(dpauth);
    rsp_cert_free(dppb);
    rsp_buf_free(&ci_der);
}

/* Unwraps every segment of one BPP list into `plain` (appended). */
static void unwrap_list(struct rsp_bsp *bsp, const struct rsp_tlv *list, bool encrypted,
                        struct rsp_buf *plain, size_t *count)
{
    struct rsp_der_iter it;
    struct rsp_tlv seg;
    int rc;
    rsp_der_iter_value(&it, list);
    *count = 0;
    while ((rc = rsp_sgp22_bpp_next(&it, &seg)) == 1) {
        /* osmo-smdpp cuts segments larger than SGP.22 allows (1036 bytes): tolerate them */
        assert_int_equal(rsp_bsp_unwrap(bsp, encrypted, seg.raw, seg.raw_len, 1036, plain), 0);
        (*count)++;
    }
    assert_int_equal(rc, 0);
}

static void test_bpp_decrypts_to_the_profile(void **state)
{
    TU_REQUIRE_SHARED();
    struct session *s = *state;
    struct rsp_sgp22_bpp bpp;
    assert_int_equal(rsp_sgp22_bpp_decode(s->bpp.data, s->bpp.len, &bpp), 0);
    const struct rsp_sgp22_init_secure_channel *isc = &bpp.init_secure_channel;
    assert_int_equal(isc->remote_op_id, RSP_SGP22_REMOTE_OP_INSTALL_BPP);
    assert_int_equal(isc->key_type, 0x88);
    assert_int_equal(isc->key_len, 0x10);

    /* session keys from the recorded shared secret, the CRT of BF23 and the EID */
    struct rsp_buf z = tu_hex("dae00c48006de00904adc6d97a53f90aec100ba9767ee9ddcfe9e379f7685462");
    struct rsp_eid eid;
    assert_int_equal(rsp_eid_from_str("89049032123451234512345678901235", &eid), 0);
    struct rsp_session_keys keys;
    assert_int_equal(rsp_kdf_session_keys(z.data, isc->key_type, isc->key_len, isc->host_id.p,
                                          isc->host_id.len, eid.b, &keys),
                     0);
    tu_assert_hex(keys.mcv, 16, "2f84bf60619700467d7956c4d2ad412a");
    tu_assert_hex(keys.s_enc, 16, "5e84c72d84a18d37ef4d0851922a5584");
    tu_assert_hex(keys.s_mac, 16, "38cf0d5e6429a25fc99ee10278f59564");

    struct rsp_bsp bsp;
    rsp_bsp_init(&bsp, &keys);
    struct rsp_buf plain = RSP_BUF_INIT;
    size_t n;

    /* A0: ConfigureISDP */
    unwrap_list(&bsp, &bpp.first87, true, &plain, &n);
    assert_int_equal(n, 1);
    struct rsp_sgp22_configure_isdp_request cfg;
    assert_int_equal(rsp_sgp22_configure_isdp_request_decode(plain.data, plain.len, &cfg), 0);

    /* A1: StoreMetadata, exactly the profileMetadata the SM-DP+ showed in authenticateClient */
    rsp_buf_reset(&plain);
    unwrap_list(&bsp, &bpp.seq88, false, &plain, &n);
    assert_int_equal(plain.len, s->profile_metadata.len);
    assert_memory_equal(plain.data, s->profile_metadata.data, plain.len);
    struct rsp_sgp22_store_metadata_request md;
    assert_int_equal(rsp_sgp22_store_metadata_request_decode(plain.data, plain.len, &md), 0);
    uint8_t md_iccid[RSP_ICCID_LEN]; /* md points into `plain`, which is reused below */
    memcpy(md_iccid, md.iccid.p, RSP_ICCID_LEN);

    /* A2: ReplaceSessionKeys (two-layer protection) */
    assert_true(bpp.has_second87);
    rsp_buf_reset(&plain);
    unwrap_list(&bsp, &bpp.second87, true, &plain, &n);
    struct rsp_sgp22_replace_session_keys_request rsk;
    assert_int_equal(rsp_sgp22_replace_session_keys_request_decode(plain.data, plain.len, &rsk), 0);
    uint8_t ppk_enc[16], ppk_mac[16], mcv[16];
    memcpy(ppk_enc, rsk.ppk_enc.p, 16);
    memcpy(ppk_mac, rsk.ppk_cmac.p, 16);
    memcpy(mcv, rsk.initial_mcv.p, 16);
    rsp_bsp_replace_keys(&bsp, ppk_enc, ppk_mac, mcv);

    /* A3: the profile package itself */
    rsp_buf_reset(&plain);
    unwrap_list(&bsp, &bpp.seq86, true, &plain, &n);
    assert_int_equal(n, bpp.n_seq86);
    struct rsp_buf upp =
        tu_load(tu_shared_path("testdata/ts48-upp/TS48V2-SAIP2-3-BERTLV-UNIQUE.der"));
    assert_int_equal(plain.len, upp.len);
    assert_memory_equal(plain.data, upp.data, upp.len);

    /* the ICCID the metadata announced is the one inside the package header (un-swapped there) */
    uint8_t swapped[RSP_ICCID_LEN];
    rsp_bcd_swap(swapped, md_iccid, RSP_ICCID_LEN);
    bool found = false;
    for (size_t i = 0; i + RSP_ICCID_LEN <= 64 && !found; i++)
        found = memcmp(upp.data + i, swapped, RSP_ICCID_LEN) == 0;
    assert_true(found);

    rsp_bsp_wipe(&bsp);
    rsp_buf_free(&plain);
    rsp_buf_free(&upp);
    rsp_buf_free(&z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signatures),
        cmocka_unit_test(test_chains),
        cmocka_unit_test(test_bpp_decrypts_to_the_profile),
    };
    return cmocka_run_group_tests_name("interop_osmo_session", tests, setup, teardown);
}
