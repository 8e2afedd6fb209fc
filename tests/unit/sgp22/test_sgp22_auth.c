/* Unit tests for rsp/sgp22_auth.h: exact encodings (the vectors of
 * osmo-smdpp-session/asn1-encodings.txt, embedded here), round trips, signed-input helpers, the
 * recorded osmo-smdpp session, and refusals. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/sgp22_auth.h"

#include "sgp22_codecs.h"

static const struct sgp22_codec *codec(const char *name)
{
    for (size_t i = 0; i < SGP22_N_CODECS; i++)
        if (strcmp(sgp22_codecs[i].name, name) == 0)
            return &sgp22_codecs[i];
    fail_msg("no codec %s", name);
    return NULL;
}

typedef union sgp22_any any_t;

/* decode -> encode gives back exactly the input. */
static void roundtrip(const char *name, const uint8_t *p, size_t n)
{
    const struct sgp22_codec *c = codec(name);
    any_t *u = calloc(1, sizeof *u);
    assert_non_null(u);
    int rc = c->dec(p, n, u);
    if (rc)
        fail_msg("%s: decode %s", name, rsp_strerror(rc));
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(c->enc(u, &b), 0);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.data, p, n);
    rsp_buf_free(&b);
    free(u);
}

static void roundtrip_hex(const char *name, const char *hex)
{
    struct rsp_buf in = tu_hex(hex);
    roundtrip(name, in.data, in.len);
    rsp_buf_free(&in);
}

static int decode_hex(const char *name, const char *hex, void *out, struct rsp_buf *keep)
{
    *keep = tu_hex(hex);
    return codec(name)->dec(keep->data, keep->len, out);
}

static void assert_bytes(const struct rsp_sgp22_bytes *b, const char *hex)
{
    tu_assert_hex(b->p, b->len, hex);
}

static void assert_str(const struct rsp_sgp22_bytes *b, const char *s)
{
    assert_int_equal(b->len, strlen(s));
    assert_memory_equal(b->p, s, b->len);
}

/* ---- vectors: asn1-encodings.txt (pySim's module through asn1tools) ------------------------- */

#define TID   "801000112233445566778899aabbccddeeff"
#define Z16   "00000000000000000000000000000000"
#define Z32   Z16 Z16
#define Z64   Z32 Z32
#define OTPK0 "04" Z64
static const char V_SERVER_SIGNED1[] = "303b" TID "8110" Z16 "8303612e628410" Z16;
static const char V_CTX_PARAMS1[] = "a01980034d4944a112800435290611a10082080000000000000000";
static const char V_EUICC_SIGNED1[] =
    "306f" TID "8303612e628410" Z16
    "bf223781030203018203020200830301000084038101008504000000008603030100870302030088020480a900aa00"
    "8b010104030000010c0158a00aa108800435290611a100";
static const char V_AUTH_RESP_ERR[] = "bf3817a115" TID "020102";
static const char V_SMDP_SIGNED2[] = "3059" TID "0101ff5f4941" OTPK0;
static const char V_EUICC_SIGNED2[] = "3078" TID "5f4941" OTPK0 "0420" Z32;
static const char V_PDR_ERR[] = "bf2117a115" TID "020104";
static const char V_STORE_METADATA[] =
    "bf25245a0a98001032547698103214910253509202504e950102b60b3009"
    "800207808103612e62";
static const char V_CONFIGURE_ISDP[] = "bf2400";
static const char V_RSK[] = "bf26368010" Z16 "8110" Z16 "8210" Z16;
static const char V_NOTIF_META[] = "bf2f18800101810207800c03612e625a0a98001032547698103214";
static const char V_PIR_DATA_OK[] = "bf2740" TID "bf2f0c800101810207800c03612e62060388370a"
                                    "a218a0164f10a0000005591010ffffffff890000100004023000";
static const char V_PIR_DATA_ERR[] =
    "bf272b" TID "bf2f0c800101810207800c03612e62a208a106800105810108";
static const char V_CANCEL_REQ[] = "bf4115" TID "810100";
static const char V_CANCEL_SIGNED[] = "301a" TID "810388370a820100";
static const char V_CANCEL_RESP_ERR[] = "bf4103810105";
static const char V_ISC[] = "bf2381aa820101" TID "a60c8001888101108404484f5354"
                            "5f4941" OTPK0 "5f3740" Z64;

static void test_exact_encodings(void **state)
{
    roundtrip_hex("server_signed1", V_SERVER_SIGNED1);
    roundtrip_hex("ctx_params1", V_CTX_PARAMS1);
    roundtrip_hex("euicc_signed1", V_EUICC_SIGNED1);
    roundtrip_hex("authenticate_server_response", V_AUTH_RESP_ERR);
    roundtrip_hex("smdp_signed2", V_SMDP_SIGNED2);
    roundtrip_hex("euicc_signed2", V_EUICC_SIGNED2);
    roundtrip_hex("prepare_download_response", V_PDR_ERR);
    roundtrip_hex("store_metadata_request", V_STORE_METADATA);
    roundtrip_hex("configure_isdp_request", V_CONFIGURE_ISDP);
    roundtrip_hex("replace_session_keys_request", V_RSK);
    roundtrip_hex("notification_metadata", V_NOTIF_META);
    roundtrip_hex("pir_data", V_PIR_DATA_OK);
    roundtrip_hex("pir_data", V_PIR_DATA_ERR);
    roundtrip_hex("cancel_session_request", V_CANCEL_REQ);
    roundtrip_hex("euicc_cancel_session_signed", V_CANCEL_SIGNED);
    roundtrip_hex("cancel_session_response", V_CANCEL_RESP_ERR);
    roundtrip_hex("init_secure_channel", V_ISC);
}

static void test_decoded_fields(void **state)
{
    any_t *u = calloc(1, sizeof *u);
    struct rsp_buf k;
    assert_non_null(u);

    struct rsp_sgp22_server_signed1 *ss1 = (void *)u;
    assert_int_equal(decode_hex("server_signed1", V_SERVER_SIGNED1, ss1, &k), 0);
    assert_bytes(&ss1->transaction_id, "00112233445566778899aabbccddeeff");
    assert_str(&ss1->server_address, "a.b");
    assert_int_equal(ss1->euicc_challenge.len, 16);
    assert_int_equal(ss1->raw.raw_len, k.len);
    assert_ptr_equal(ss1->raw.raw, k.data);
    rsp_buf_free(&k);

    struct rsp_sgp22_ctx_params1 *cp = (void *)u;
    assert_int_equal(decode_hex("ctx_params1", V_CTX_PARAMS1, cp, &k), 0);
    assert_true(cp->has_matching_id);
    assert_str(&cp->matching_id, "MID");
    assert_bytes(&cp->tac, "35290611");
    assert_int_equal(cp->caps.n, 0);
    assert_null(rsp_sgp22_devcap_get(&cp->caps, RSP_SGP22_DEVCAP_EUTRAN));
    assert_true(cp->has_imei);
    assert_bytes(&cp->imei, "0000000000000000");
    rsp_buf_free(&k);

    struct rsp_sgp22_euicc_signed1 *es1 = (void *)u;
    assert_int_equal(decode_hex("euicc_signed1", V_EUICC_SIGNED1, es1, &k), 0);
    assert_int_equal(es1->euicc_info2.tag, 0xBF22);
    assert_int_equal(es1->euicc_info2.raw_len, 0x37 + 3);
    assert_false(es1->ctx_params1.has_matching_id);
    assert_false(es1->ctx_params1.has_imei);
    rsp_buf_free(&k);

    struct rsp_sgp22_authenticate_server_response *asp = (void *)u;
    assert_int_equal(decode_hex("authenticate_server_response", V_AUTH_RESP_ERR, asp, &k), 0);
    assert_false(asp->ok);
    assert_int_equal(asp->error_code, RSP_SGP22_AUTH_ERR_INVALID_SIGNATURE);
    rsp_buf_free(&k);

    struct rsp_sgp22_smdp_signed2 *sd2 = (void *)u;
    assert_int_equal(decode_hex("smdp_signed2", V_SMDP_SIGNED2, sd2, &k), 0);
    assert_true(sd2->cc_required);
    assert_true(sd2->has_bpp_euicc_otpk);
    assert_int_equal(sd2->bpp_euicc_otpk.len, 65);
    rsp_buf_free(&k);

    struct rsp_sgp22_euicc_signed2 *es2 = (void *)u;
    assert_int_equal(decode_hex("euicc_signed2", V_EUICC_SIGNED2, es2, &k), 0);
    assert_true(es2->has_hash_cc);
    assert_int_equal(es2->hash_cc.len, 32);
    rsp_buf_free(&k);

    struct rsp_sgp22_prepare_download_response *pdr = (void *)u;
    assert_int_equal(decode_hex("prepare_download_response", V_PDR_ERR, pdr, &k), 0);
    assert_false(pdr->ok);
    assert_int_equal(pdr->error_code, RSP_SGP22_DL_ERR_NO_SESSION_CONTEXT);
    rsp_buf_free(&k);

    struct rsp_sgp22_store_metadata_request *smr = (void *)u;
    assert_int_equal(decode_hex("store_metadata_request", V_STORE_METADATA, smr, &k), 0);
    assert_bytes(&smr->iccid, "98001032547698103214");
    assert_str(&smr->service_provider_name, "SP");
    assert_str(&smr->profile_name, "PN");
    assert_true(smr->has_profile_class);
    assert_int_equal(smr->profile_class, RSP_PROFILE_CLASS_OPERATIONAL);
    assert_true(smr->has_notification_config);
    assert_int_equal(smr->n_notification_config, 1);
    assert_int_equal(smr->notification_config[0].events, RSP_NOTIF_INSTALL);
    assert_str(&smr->notification_config[0].address, "a.b");
    assert_false(smr->has_profile_owner);
    rsp_buf_free(&k);

    struct rsp_sgp22_replace_session_keys_request *rsk = (void *)u;
    assert_int_equal(decode_hex("replace_session_keys_request", V_RSK, rsk, &k), 0);
    assert_int_equal(rsk->ppk_cmac.len, 16);
    rsp_buf_free(&k);

    struct rsp_sgp22_notification_metadata *nm = (void *)u;
    assert_int_equal(decode_hex("notification_metadata", V_NOTIF_META, nm, &k), 0);
    assert_int_equal(nm->seq_number, 1);
    assert_int_equal(nm->pmo, RSP_NOTIF_INSTALL);
    assert_true(nm->has_iccid);
    assert_true(nm->iccid_ok);
    rsp_buf_free(&k);

    struct rsp_sgp22_pir_data *pd = (void *)u;
    assert_int_equal(decode_hex("pir_data", V_PIR_DATA_OK, pd, &k), 0);
    assert_true(pd->success);
    assert_true(pd->has_smdp_oid);
    char oid[64];
    assert_int_equal(rsp_oid_to_str(pd->smdp_oid.p, pd->smdp_oid.len, oid, sizeof oid), 0);
    assert_string_equal(oid, "2.999.10");
    assert_bytes(&pd->aid, "a0000005591010ffffffff8900001000");
    assert_bytes(&pd->sima_response, "3000");
    rsp_buf_free(&k);
    assert_int_equal(decode_hex("pir_data", V_PIR_DATA_ERR, pd, &k), 0);
    assert_false(pd->success);
    assert_false(pd->has_smdp_oid);
    assert_int_equal(pd->bpp_command_id, RSP_SGP22_BPP_CMD_LOAD_PROFILE_ELEMENTS);
    assert_int_equal(pd->error_reason, RSP_SGP22_ERR_SCP03T_SECURITY_ERROR);
    assert_false(pd->has_sima_response);
    rsp_buf_free(&k);

    struct rsp_sgp22_cancel_session_request *cr = (void *)u;
    assert_int_equal(decode_hex("cancel_session_request", V_CANCEL_REQ, cr, &k), 0);
    assert_int_equal(cr->reason, RSP_SGP22_CANCEL_END_USER_REJECTION);
    rsp_buf_free(&k);

    struct rsp_sgp22_euicc_cancel_session_signed *cs = (void *)u;
    assert_int_equal(decode_hex("euicc_cancel_session_signed", V_CANCEL_SIGNED, cs, &k), 0);
    assert_bytes(&cs->smdp_oid, "88370a");
    assert_int_equal(cs->reason, 0);
    rsp_buf_free(&k);

    struct rsp_sgp22_cancel_session_response *csr = (void *)u;
    assert_int_equal(decode_hex("cancel_session_response", V_CANCEL_RESP_ERR, csr, &k), 0);
    assert_false(csr->ok);
    assert_int_equal(csr->error_code, RSP_SGP22_CANCEL_ERR_INVALID_TRANSACTION_ID);
    rsp_buf_free(&k);

    struct rsp_sgp22_init_secure_channel *isc = (void *)u;
    assert_int_equal(decode_hex("init_secure_channel", V_ISC, isc, &k), 0);
    assert_int_equal(isc->remote_op_id, RSP_SGP22_REMOTE_OP_INSTALL_BPP);
    assert_int_equal(isc->key_type, 0x88);
    assert_int_equal(isc->key_len, 0x10);
    assert_str(&isc->host_id, "HOST");
    rsp_buf_free(&k);

    free(u);
}

/* Encoders from fields only (nothing decoded), against the same exact bytes. */
static void test_encode_from_fields(void **state)
{
    static const uint8_t tid[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                    0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    static const uint8_t zero[65] = {0};
    static const uint8_t otpk[65] = {0x04};
    struct rsp_buf b = RSP_BUF_INIT;

    struct rsp_sgp22_server_signed1 ss1 = {
        .transaction_id = {tid, 16},
        .euicc_challenge = {zero, 16},
        .server_address = {(const uint8_t *)"a.b", 3},
        .server_challenge = {zero, 16},
    };
    assert_int_equal(rsp_sgp22_server_signed1_encode(&ss1, &b), 0);
    struct rsp_buf want = tu_hex(V_SERVER_SIGNED1);
    assert_int_equal(b.len, want.len);
    assert_memory_equal(b.data, want.data, b.len);
    rsp_buf_free(&want);

    /* CtxParams1 with a known and an unknown (later-version) capability. */
    static const uint8_t v[3] = {0x0f, 0x00, 0x00};
    struct rsp_sgp22_ctx_params1 cp = {
        .has_matching_id = true,
        .matching_id = {(const uint8_t *)"", 0},
        .tac = {(const uint8_t *)"\x35\x29\x06\x11", 4},
        .caps = {.n = 2, .cap = {{0x85, {v, 3}}, {0x8A, {v, 1}}}},
    };
    rsp_buf_reset(&b);
    assert_int_equal(rsp_sgp22_ctx_params1_encode(&cp, &b), 0);
    tu_assert_hex(b.data, b.len, "a0 14 8000 a1 10 800435290611 a108 8503 0f0000 8a01 0f");
    struct rsp_sgp22_ctx_params1 cp2;
    assert_int_equal(rsp_sgp22_ctx_params1_decode(b.data, b.len, &cp2), 0);
    assert_true(cp2.has_matching_id);
    assert_int_equal(cp2.matching_id.len, 0);
    assert_int_equal(cp2.caps.n, 2);
    assert_ptr_equal(rsp_sgp22_devcap_get(&cp2.caps, RSP_SGP22_DEVCAP_EUTRAN),
                     cp2.caps.cap[0].value.p);
    assert_int_equal(cp2.caps.cap[1].tag, 0x8A);

    struct rsp_sgp22_smdp_signed2 sd2 = {.transaction_id = {tid, 16},
                                         .cc_required = true,
                                         .has_bpp_euicc_otpk = true,
                                         .bpp_euicc_otpk = {otpk, 65}};
    rsp_buf_reset(&b);
    assert_int_equal(rsp_sgp22_smdp_signed2_encode(&sd2, &b), 0);
    tu_assert_hex(b.data, b.len, V_SMDP_SIGNED2);

    struct rsp_sgp22_notification_metadata nm = {
        .seq_number = 1,
        .pmo = RSP_NOTIF_INSTALL,
        .address = {(const uint8_t *)"a.b", 3},
        .has_iccid = true,
        .iccid = {(const uint8_t *)"\x98\x00\x10\x32\x54\x76\x98\x10\x32\x14", 10},
    };
    rsp_buf_reset(&b);
    assert_int_equal(rsp_sgp22_notification_metadata_encode(&nm, &b), 0);
    tu_assert_hex(b.data, b.len, V_NOTIF_META);
    /* NotificationEvent named bits: enable 02 06 40, disable 02 05 20, delete 02 04 10. */
    nm.has_iccid = false;
    nm.pmo = RSP_NOTIF_DELETE;
    rsp_buf_reset(&b);
    assert_int_equal(rsp_sgp22_notification_metadata_encode(&nm, &b), 0);
    tu_assert_hex(b.data, b.len, "bf2f0c 800101 81020410 0c03612e62");

    /* PIR data from fields, with a NotificationMetadata from fields. */
    struct rsp_sgp22_pir_data pd = {
        .transaction_id = {tid, 16},
        .notification_metadata = {.seq_number = 1,
                                  .pmo = RSP_NOTIF_INSTALL,
                                  .address = {(const uint8_t *)"a.b", 3}},
        .bpp_command_id = RSP_SGP22_BPP_CMD_LOAD_PROFILE_ELEMENTS,
        .error_reason = RSP_SGP22_ERR_SCP03T_SECURITY_ERROR,
    };
    rsp_buf_reset(&b);
    assert_int_equal(rsp_sgp22_pir_data_encode(&pd, &b), 0);
    tu_assert_hex(b.data, b.len, V_PIR_DATA_ERR);

    struct rsp_sgp22_euicc_cancel_session_signed cs = {
        .transaction_id = {tid, 16}, .smdp_oid = {(const uint8_t *)"\x88\x37\x0a", 3}};
    struct rsp_sgp22_cancel_session_response csr = {
        .ok = true, .signed_part = cs, .signature = {zero, 64}};
    rsp_buf_reset(&b);
    assert_int_equal(rsp_sgp22_cancel_session_response_encode(&csr, &b), 0);
    tu_assert_hex(b.data, b.len,
                  "bf4161 a05f"
                  "301a" TID "810388370a820100 5f3740" Z64);
    struct rsp_sgp22_cancel_session_response csr2;
    assert_int_equal(rsp_sgp22_cancel_session_response_decode(b.data, b.len, &csr2), 0);
    assert_true(csr2.ok);
    tu_assert_hex(csr2.signed_part.raw.raw, csr2.signed_part.raw.raw_len, V_CANCEL_SIGNED);

    struct rsp_sgp22_configure_isdp_request ci = {.has_dp_oid = true,
                                                  .dp_oid = {(const uint8_t *)"\x88\x37\x0a", 3}};
    rsp_buf_reset(&b);
    assert_int_equal(rsp_sgp22_configure_isdp_request_encode(&ci, &b), 0);
    tu_assert_hex(b.data, b.len, "bf2407 b805 800388370a");
    roundtrip("configure_isdp_request", b.data, b.len);

    /* StoreMetadata with every optional field. */
    struct rsp_sgp22_store_metadata_request smr = {
        .iccid = {nm.iccid.p, 10},
        .service_provider_name = {(const uint8_t *)"SP", 2},
        .profile_name = {(const uint8_t *)"PN", 2},
        .has_icon_type = true,
        .icon_type = RSP_ICON_PNG,
        .has_icon = true,
        .icon = {(const uint8_t *)"\x89PNG", 4},
        .has_notification_config = true,
        .n_notification_config = 2,
        .notification_config = {{RSP_NOTIF_ENABLE, {(const uint8_t *)"x", 1}},
                                {RSP_NOTIF_DISABLE, {(const uint8_t *)"y", 1}}},
        .has_profile_owner = true,
        .profile_owner = {.mcc_mnc = {(const uint8_t *)"\x62\xf2\x10", 3},
                          .has_gid2 = true,
                          .gid2 = {(const uint8_t *)"\x01", 1}},
        .has_ppr = true,
        .ppr = RSP_PPR2,
    };
    rsp_buf_reset(&b);
    assert_int_equal(rsp_sgp22_store_metadata_request_encode(&smr, &b), 0);
    tu_assert_hex(b.data, b.len,
                  "bf253f 5a0a98001032547698103214 91025350 9202504e 930101 940489504e47"
                  "b612 3007 80020640 810178 3007 80020520 810179"
                  "b708 800362f210 820101 99020520");
    struct rsp_sgp22_store_metadata_request *smr2 = calloc(1, sizeof *smr2);
    assert_non_null(smr2);
    assert_int_equal(rsp_sgp22_store_metadata_request_decode(b.data, b.len, smr2), 0);
    assert_false(smr2->has_profile_class);
    assert_int_equal(smr2->profile_class, RSP_PROFILE_CLASS_OPERATIONAL);
    assert_int_equal(smr2->ppr, RSP_PPR2);
    assert_false(smr2->profile_owner.has_gid1);
    assert_true(smr2->profile_owner.has_gid2);
    free(smr2);

    rsp_buf_free(&b);
}

/* Containers: a nested signed part is taken from raw when set, else encoded from its fields; both
 * give the same bytes. */
static void test_nested_raw_vs_fields(void **state)
{
    struct rsp_buf k = tu_hex(V_EUICC_SIGNED1);
    struct rsp_buf certs = tu_hex("3003020101 3003020102");
    struct rsp_sgp22_authenticate_server_response *r = calloc(1, sizeof *r);
    assert_non_null(r);
    static const uint8_t sig[64] = {1};
    r->ok = true;
    assert_int_equal(rsp_sgp22_euicc_signed1_decode(k.data, k.len, &r->euicc_signed1), 0);
    r->euicc_signature1 = (struct rsp_sgp22_bytes){sig, 64};
    assert_int_equal(rsp_der_parse(certs.data, certs.len, &r->euicc_certificate), 0);
    assert_int_equal(rsp_der_parse(certs.data + 5, 5, &r->eum_certificate), 0);
    struct rsp_buf a = RSP_BUF_INIT, b = RSP_BUF_INIT;
    assert_int_equal(rsp_sgp22_authenticate_server_response_encode(r, &a), 0);
    memset(&r->euicc_signed1.raw, 0, sizeof r->euicc_signed1.raw);
    memset(&r->euicc_signed1.ctx_params1.raw, 0, sizeof(struct rsp_tlv));
    assert_int_equal(rsp_sgp22_authenticate_server_response_encode(r, &b), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    roundtrip("authenticate_server_response", a.data, a.len);
    struct rsp_sgp22_authenticate_server_response *r2 = calloc(1, sizeof *r2);
    assert_non_null(r2);
    assert_int_equal(rsp_sgp22_authenticate_server_response_decode(a.data, a.len, r2), 0);
    assert_true(r2->ok);
    tu_assert_hex(r2->euicc_signed1.raw.raw, r2->euicc_signed1.raw.raw_len, V_EUICC_SIGNED1);
    tu_assert_hex(r2->eum_certificate.raw, r2->eum_certificate.raw_len, "3003020102");
    free(r2);
    free(r);
    rsp_buf_free(&a);
    rsp_buf_free(&b);
    rsp_buf_free(&k);
    rsp_buf_free(&certs);
}

static void test_signed_inputs(void **state)
{
    uint8_t sig[64], otpk[65];
    for (int i = 0; i < 64; i++)
        sig[i] = (uint8_t)i;
    memset(otpk, 0xee, sizeof otpk);
    otpk[0] = 0x04;
    struct rsp_buf s2 = tu_hex(V_SMDP_SIGNED2);
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_sgp22_smdp_signature2_input(s2.data, s2.len, sig, &b), 0);
    assert_int_equal(b.len, s2.len + 67);
    assert_memory_equal(b.data, s2.data, s2.len);
    tu_assert_hex(b.data + s2.len, 3, "5f3740");
    assert_memory_equal(b.data + s2.len + 3, sig, 64);
    rsp_buf_reset(&b);
    assert_int_equal(rsp_sgp22_euicc_signature2_input(s2.data, s2.len, sig, &b), 0);
    assert_int_equal(b.len, s2.len + 67);
    assert_int_equal(rsp_sgp22_euicc_signature2_input(NULL, 0, sig, &b), RSP_EINVAL);
    rsp_buf_free(&s2);

    /* smdpSign input: from the received bytes and from the fields, the same. */
    struct rsp_buf isc_hex = tu_hex(V_ISC);
    struct rsp_sgp22_init_secure_channel isc;
    assert_int_equal(rsp_sgp22_init_secure_channel_decode(isc_hex.data, isc_hex.len, &isc), 0);
    rsp_buf_reset(&b);
    assert_int_equal(rsp_sgp22_smdp_sign_input(&isc, otpk, &b), 0);
    /* BF23 content (3-byte header) minus 5F37 40 sig (67), then 5F49 41 otpk (68). */
    size_t content = isc_hex.len - 4 - 67;
    assert_int_equal(b.len, content + 68);
    assert_memory_equal(b.data, isc_hex.data + 4, content);
    tu_assert_hex(b.data + content, 3, "5f4941");
    assert_memory_equal(b.data + content + 3, otpk, 65);
    struct rsp_buf c = RSP_BUF_INIT;
    memset(&isc.raw, 0, sizeof isc.raw);
    assert_int_equal(rsp_sgp22_smdp_sign_input(&isc, otpk, &c), 0);
    assert_int_equal(c.len, b.len);
    assert_memory_equal(c.data, b.data, b.len);
    otpk[0] = 0x02;
    assert_int_equal(rsp_sgp22_smdp_sign_input(&isc, otpk, &c), RSP_EINVAL);
    rsp_buf_free(&c);
    rsp_buf_free(&b);
    rsp_buf_free(&isc_hex);
}

/* ---- the recorded osmo-smdpp session --------------------------------------------------------- */

/* Finds "key": "<value>" after `from` and base64-decodes the value into out. Returns the position
 * after the value. */
static const char *json_b64(const char *from, const char *key, struct rsp_buf *out)
{
    char pat[80];
    snprintf(pat, sizeof pat, "\"%s\": \"", key);
    const char *s = strstr(from, pat);
    if (!s)
        fail_msg("key %s not found", key);
    s += strlen(pat);
    const char *e = strchr(s, '"');
    assert_non_null(e);
    rsp_buf_init(out);
    assert_int_equal(rsp_base64_decode(out, s, (size_t)(e - s)), 0);
    return e;
}

static const uint8_t TID_RUN[16] = {0xd0, 0xa9, 0x56, 0xcd, 0x16, 0x01, 0x43, 0xf1,
                                    0x94, 0xe0, 0xa2, 0xd0, 0x02, 0x01, 0x87, 0x70};

static void assert_tid_run(const struct rsp_sgp22_bytes *b)
{
    assert_int_equal(b->len, 16);
    assert_memory_equal(b->p, TID_RUN, 16);
}

static bool contains(const uint8_t *p, size_t n, const char *s)
{
    size_t l = strlen(s);
    for (size_t i = 0; i + l <= n; i++)
        if (memcmp(p + i, s, l) == 0)
            return true;
    return false;
}

static void test_recorded_session(void **state)
{
    TU_REQUIRE_SHARED();
    struct rsp_buf js = tu_load(tu_shared_path("testdata/osmo-smdpp-session/es9p-exchanges.json"));
    rsp_buf_append_byte(&js, 0);
    const char *j = (const char *)js.data;
    any_t *u = calloc(1, sizeof *u);
    assert_non_null(u);

    /* initiateAuthentication */
    struct rsp_buf chal, ss1b, sig1, pkid, scert;
    const char *pos = json_b64(j, "euiccChallenge", &chal);
    pos = json_b64(pos, "serverSigned1", &ss1b);
    pos = json_b64(pos, "serverSignature1", &sig1);
    pos = json_b64(pos, "euiccCiPKIdToBeUsed", &pkid);
    pos = json_b64(pos, "serverCertificate", &scert);
    struct rsp_sgp22_server_signed1 ss1;
    assert_int_equal(rsp_sgp22_server_signed1_decode(ss1b.data, ss1b.len, &ss1), 0);
    assert_tid_run(&ss1.transaction_id);
    assert_str(&ss1.server_address, "testsmdpplus1.example.com");
    assert_int_equal(chal.len, 16);
    assert_memory_equal(ss1.euicc_challenge.p, chal.data, 16);
    roundtrip("server_signed1", ss1b.data, ss1b.len);

    /* authenticateClient request: AuthenticateServerResponse */
    struct rsp_buf asr;
    pos = json_b64(pos, "authenticateServerResponse", &asr);
    struct rsp_sgp22_authenticate_server_response *ar = &u->asp;
    assert_int_equal(rsp_sgp22_authenticate_server_response_decode(asr.data, asr.len, ar), 0);
    assert_true(ar->ok);
    assert_tid_run(&ar->euicc_signed1.transaction_id);
    assert_str(&ar->euicc_signed1.server_address, "testsmdpplus1.example.com");
    assert_memory_equal(ar->euicc_signed1.server_challenge.p, ss1.server_challenge.p, 16);
    assert_int_equal(ar->euicc_signed1.euicc_info2.tag, 0xBF22);
    const struct rsp_sgp22_ctx_params1 *cp = &ar->euicc_signed1.ctx_params1;
    assert_true(cp->has_matching_id);
    assert_str(&cp->matching_id, "TS48V2-SAIP2-3-BERTLV-UNIQUE");
    assert_bytes(&cp->tac, "35230145");
    assert_false(cp->has_imei);
    assert_int_equal(ar->euicc_signature1.len, 64);
    /* EID = serialNumber of CERT.EUICC. */
    assert_true(contains(ar->euicc_certificate.raw, ar->euicc_certificate.raw_len,
                         "89049032123451234512345678901235"));
    assert_int_equal(ar->eum_certificate.tag, 0x30);
    roundtrip("authenticate_server_response", asr.data, asr.len);
    uint8_t euicc_sig1[64];
    memcpy(euicc_sig1, ar->euicc_signature1.p, 64);

    /* The ES10b AuthenticateServerRequest the LPA built from those blobs. */
    struct rsp_sgp22_authenticate_server_request *rq =
        calloc(1, sizeof(struct rsp_sgp22_authenticate_server_request));
    assert_non_null(rq);
    rq->server_signed1 = ss1;
    struct rsp_tlv t;
    assert_int_equal(rsp_der_parse_tag(sig1.data, sig1.len, 0x5F37, &t), 0);
    rq->server_signature1 = (struct rsp_sgp22_bytes){t.val, t.len};
    assert_int_equal(rsp_der_parse_tag(pkid.data, pkid.len, 0x04, &t), 0);
    rq->euicc_ci_pkid_to_be_used = (struct rsp_sgp22_bytes){t.val, t.len};
    assert_int_equal(rsp_der_parse_tag(scert.data, scert.len, 0x30, &rq->server_certificate), 0);
    rq->ctx_params1 = *cp;
    struct rsp_buf bf38 = RSP_BUF_INIT;
    assert_int_equal(rsp_sgp22_authenticate_server_request_encode(rq, &bf38), 0);
    assert_int_equal(bf38.len, 5 + ss1b.len + sig1.len + pkid.len + scert.len + cp->raw.raw_len);
    roundtrip("authenticate_server_request", bf38.data, bf38.len);
    assert_int_equal(rsp_sgp22_authenticate_server_request_decode(bf38.data, bf38.len, rq), 0);
    assert_int_equal(rq->euicc_ci_pkid_to_be_used.len, 20);
    free(rq);

    /* authenticateClient response */
    struct rsp_buf meta, sd2b, sig2, dpcert;
    pos = json_b64(pos, "profileMetadata", &meta);
    pos = json_b64(pos, "smdpSigned2", &sd2b);
    pos = json_b64(pos, "smdpSignature2", &sig2);
    pos = json_b64(pos, "smdpCertificate", &dpcert);
    struct rsp_sgp22_store_metadata_request *smr = &u->smr;
    assert_int_equal(rsp_sgp22_store_metadata_request_decode(meta.data, meta.len, smr), 0);
    assert_bytes(&smr->iccid, "989444999999990950f6");
    assert_str(&smr->service_provider_name, "OsmocomSPN");
    assert_str(&smr->profile_name, "TS48V2-SAIP2-3-BERTLV-UNIQUE");
    assert_true(smr->has_profile_class); /* osmo-smdpp sends the DEFAULT explicitly */
    assert_int_equal(smr->profile_class, RSP_PROFILE_CLASS_OPERATIONAL);
    assert_int_equal(smr->n_notification_config, 3);
    assert_int_equal(smr->notification_config[0].events, RSP_NOTIF_ENABLE);
    assert_int_equal(smr->notification_config[1].events, RSP_NOTIF_DISABLE);
    assert_int_equal(smr->notification_config[2].events, RSP_NOTIF_DELETE);
    assert_str(&smr->notification_config[2].address, "testsmdpplus1.example.com");
    roundtrip("store_metadata_request", meta.data, meta.len);

    struct rsp_sgp22_smdp_signed2 sd2;
    assert_int_equal(rsp_sgp22_smdp_signed2_decode(sd2b.data, sd2b.len, &sd2), 0);
    assert_tid_run(&sd2.transaction_id);
    assert_false(sd2.cc_required);
    assert_false(sd2.has_bpp_euicc_otpk);
    roundtrip("smdp_signed2", sd2b.data, sd2b.len);
    struct rsp_buf in2 = RSP_BUF_INIT;
    assert_int_equal(rsp_sgp22_smdp_signature2_input(sd2b.data, sd2b.len, euicc_sig1, &in2), 0);
    assert_int_equal(in2.len, sd2b.len + 67);

    /* PrepareDownloadRequest as the LPA builds it. */
    struct rsp_sgp22_prepare_download_request *pq = &u->pdr;
    memset(pq, 0, sizeof *pq);
    pq->smdp_signed2 = sd2;
    assert_int_equal(rsp_der_parse_tag(sig2.data, sig2.len, 0x5F37, &t), 0);
    pq->smdp_signature2 = (struct rsp_sgp22_bytes){t.val, t.len};
    assert_int_equal(rsp_der_parse_tag(dpcert.data, dpcert.len, 0x30, &pq->smdp_certificate), 0);
    struct rsp_buf bf21 = RSP_BUF_INIT;
    assert_int_equal(rsp_sgp22_prepare_download_request_encode(pq, &bf21), 0);
    roundtrip("prepare_download_request", bf21.data, bf21.len);

    /* getBoundProfilePackage request: PrepareDownloadResponse */
    struct rsp_buf pdrb;
    pos = json_b64(pos, "prepareDownloadResponse", &pdrb);
    struct rsp_sgp22_prepare_download_response pr;
    assert_int_equal(rsp_sgp22_prepare_download_response_decode(pdrb.data, pdrb.len, &pr), 0);
    assert_true(pr.ok);
    assert_tid_run(&pr.euicc_signed2.transaction_id);
    assert_int_equal(pr.euicc_signed2.euicc_otpk.len, 65);
    assert_false(pr.euicc_signed2.has_hash_cc);
    roundtrip("prepare_download_response", pdrb.data, pdrb.len);
    struct rsp_buf in3 = RSP_BUF_INIT;
    assert_int_equal(rsp_sgp22_euicc_signature2_input(pr.euicc_signed2.raw.raw,
                                                      pr.euicc_signed2.raw.raw_len,
                                                      pq->smdp_signature2.p, &in3),
                     0);
    assert_memory_equal(in3.data + pr.euicc_signed2.raw.raw_len, sig2.data, sig2.len);

    /* getBoundProfilePackage response: the BPP */
    struct rsp_buf bppb;
    pos = json_b64(pos, "boundProfilePackage", &bppb);
    struct rsp_sgp22_bpp *bpp = &u->bpp;
    assert_int_equal(rsp_sgp22_bpp_decode(bppb.data, bppb.len, bpp), 0);
    const struct rsp_sgp22_init_secure_channel *isc = &bpp->init_secure_channel;
    assert_int_equal(isc->remote_op_id, 1);
    assert_tid_run(&isc->transaction_id);
    assert_int_equal(isc->key_type, 0x88);
    assert_int_equal(isc->key_len, 0x10);
    assert_str(&isc->host_id, "mahlzeit");
    assert_int_equal(bpp->n_first87, 1);
    assert_int_equal(bpp->n_seq88, 1);
    assert_true(bpp->has_second87);
    assert_int_equal(bpp->n_second87, 1);
    assert_int_equal(bpp->n_seq86, 13);
    roundtrip("init_secure_channel", isc->raw.raw, isc->raw.raw_len);
    struct rsp_buf in4 = RSP_BUF_INIT;
    assert_int_equal(rsp_sgp22_smdp_sign_input(isc, pr.euicc_signed2.euicc_otpk.p, &in4), 0);
    assert_int_equal(in4.len, isc->raw.len - 67 + 68);

    /* Walk the segments: pointers into the input, 12 x 1036 bytes then one 236-byte 86. */
    struct rsp_sgp22_bytes segs[4][16];
    size_t nseg[4] = {0};
    const struct rsp_tlv *lists[4] = {&bpp->first87, &bpp->seq88, &bpp->second87, &bpp->seq86};
    for (int l = 0; l < 4; l++) {
        struct rsp_der_iter it;
        struct rsp_tlv seg;
        int rc;
        rsp_der_iter_value(&it, lists[l]);
        while ((rc = rsp_sgp22_bpp_next(&it, &seg)) == 1) {
            assert_true(seg.raw >= bppb.data && seg.raw + seg.raw_len <= bppb.data + bppb.len);
            assert_true(nseg[l] < 16);
            segs[l][nseg[l]++] = (struct rsp_sgp22_bytes){seg.raw, seg.raw_len};
        }
        assert_int_equal(rc, 0);
    }
    assert_int_equal(nseg[3], 13);
    for (int i = 0; i < 12; i++) {
        assert_int_equal(segs[3][i].len, 1036);
        tu_assert_hex(segs[3][i].p, 4, "86820408");
    }
    assert_int_equal(segs[3][12].len, 3 + 232);
    /* The one 88 carries the MACed StoreMetadataRequest: its plaintext is the profileMetadata. */
    assert_true(segs[1][0].len > meta.len);
    assert_memory_equal(segs[1][0].p + 3, meta.data, meta.len);
    /* Encode from parts gives back the received BPP. */
    struct rsp_sgp22_bpp_parts parts = {
        .init_secure_channel = isc,
        .first87 = segs[0],
        .n_first87 = nseg[0],
        .seq88 = segs[1],
        .n_seq88 = nseg[1],
        .has_second87 = true,
        .second87 = segs[2],
        .n_second87 = nseg[2],
        .seq86 = segs[3],
        .n_seq86 = nseg[3],
    };
    struct rsp_buf re = RSP_BUF_INIT;
    assert_int_equal(rsp_sgp22_bpp_encode(&parts, &re), 0);
    assert_int_equal(re.len, bppb.len);
    assert_memory_equal(re.data, bppb.data, re.len);
    /* A segment of the wrong kind is refused and the output is cut back. */
    parts.seq88 = segs[3];
    size_t before = re.len;
    assert_int_equal(rsp_sgp22_bpp_encode(&parts, &re), RSP_EINVAL);
    assert_int_equal(re.len, before);

    /* handleNotification: the PIR */
    struct rsp_buf pn;
    pos = json_b64(pos, "pendingNotification", &pn);
    struct rsp_sgp22_pending_notification *n = &u->pn;
    assert_int_equal(rsp_sgp22_pending_notification_decode(pn.data, pn.len, n), 0);
    assert_true(n->is_pir);
    const struct rsp_sgp22_pir_data *pd = &n->pir.data;
    assert_tid_run(&pd->transaction_id);
    assert_int_equal(pd->notification_metadata.seq_number, 1);
    assert_int_equal(pd->notification_metadata.pmo, RSP_NOTIF_INSTALL);
    assert_str(&pd->notification_metadata.address, "testsmdpplus1.example.com");
    /* pySim's client puts an 8-byte, un-swapped ICCID here: tolerated, flagged. */
    assert_true(pd->notification_metadata.has_iccid);
    assert_false(pd->notification_metadata.iccid_ok);
    assert_bytes(&pd->notification_metadata.iccid, "8949449999999909");
    assert_true(pd->has_smdp_oid);
    assert_bytes(&pd->smdp_oid, "88370a");
    assert_true(pd->success);
    assert_bytes(&pd->aid, "a0000005591010ffffffff8900001000");
    assert_int_equal(n->pir.euicc_sign_pir.len, 64);
    roundtrip("pending_notification", pn.data, pn.len);
    roundtrip("pir", pn.data, pn.len);
    (void)pos;

    rsp_buf_free(&re);
    rsp_buf_free(&in4);
    rsp_buf_free(&in3);
    rsp_buf_free(&in2);
    struct rsp_buf *all[] = {&js,   &chal, &ss1b, &sig1,   &pkid, &scert, &asr,  &bf38,
                             &meta, &sd2b, &sig2, &dpcert, &bf21, &pdrb,  &bppb, &pn};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        rsp_buf_free(all[i]);
    free(u);
}

/* ---- refusals -------------------------------------------------------------------------------- */

static int dec_hex(const char *name, const char *hex)
{
    any_t *u = calloc(1, sizeof *u);
    assert_non_null(u);
    struct rsp_buf k;
    int rc = decode_hex(name, hex, u, &k);
    rsp_buf_free(&k);
    free(u);
    return rc;
}

static void test_refusals(void **state)
{
    /* truncated */
    assert_int_equal(dec_hex("server_signed1", "303b" TID "8110" Z16 "8303612e628410" Z16 "00"),
                     RSP_ETRAILING);
    assert_int_equal(dec_hex("server_signed1", "303c" TID "8110" Z16 "8303612e628410" Z16),
                     RSP_ETRUNC);
    assert_int_equal(dec_hex("server_signed1", ""), RSP_ETRUNC);
    /* wrong outer tag */
    assert_int_equal(dec_hex("server_signed1", "313b" TID "8110" Z16 "8303612e628410" Z16),
                     RSP_EUNEXPECTED);
    assert_int_equal(dec_hex("pir", "bf3800"), RSP_EUNEXPECTED);
    assert_int_equal(dec_hex("pending_notification", "bf3800"), RSP_EUNEXPECTED);
    /* missing mandatory fields */
    assert_int_equal(dec_hex("server_signed1", "3029" TID "8110" Z16 "8303612e62"), RSP_EMISSING);
    assert_int_equal(dec_hex("server_signed1", "303b" TID "8303612e628410" Z16 "8110" Z16),
                     RSP_EUNEXPECTED);
    assert_int_equal(dec_hex("authenticate_server_response", "bf3800"), RSP_EMISSING);
    assert_int_equal(dec_hex("authenticate_server_response", "bf3802a200"), RSP_EUNEXPECTED);
    assert_int_equal(dec_hex("cancel_session_response", "bf4103820105"), RSP_EUNEXPECTED);
    assert_int_equal(dec_hex("ctx_params1", "a000"), RSP_EMISSING);
    assert_int_equal(dec_hex("store_metadata_request", "bf250c5a0a98001032547698103214"),
                     RSP_EMISSING);
    /* wrong sizes */
    assert_int_equal(dec_hex("server_signed1", "303a" TID "810f"
                                               "000000000000000000000000000000"
                                               "8303612e628410" Z16),
                     RSP_ERANGE);
    assert_int_equal(dec_hex("server_signed1", "302b8000"
                                               "8110" Z16 "8303612e628410" Z16),
                     RSP_ERANGE);
    assert_int_equal(
        dec_hex("cancel_session_request", "bf4116801100112233445566778899aabbccddeeff00810100"),
        RSP_ERANGE);
    assert_int_equal(dec_hex("smdp_signed2", "3058" TID "0101ff5f4940" Z64), RSP_ERANGE);
    assert_int_equal(dec_hex("smdp_signed2", "3059" TID "0101ff5f494102" Z64), RSP_ERANGE);
    assert_int_equal(dec_hex("smdp_signed2", "3015" TID "010101"), RSP_ERANGE);
    assert_int_equal(dec_hex("euicc_signed2",
                             "3077" TID "5f4941" OTPK0 "041f" Z16 "000000000000000000000000000000"),
                     RSP_ERANGE);
    assert_int_equal(dec_hex("store_metadata_request", "bf250f5a09980010325476981032910092 00"),
                     RSP_ERANGE);
    assert_int_equal(dec_hex("ctx_params1", "a009a108800335290aa100"), RSP_ETRUNC);
    assert_int_equal(dec_hex("ctx_params1", "a009a107800335290aa100"), RSP_ERANGE);
    assert_int_equal(dec_hex("ctx_params1", "a00ea10c800435290611a10485020102"), RSP_ERANGE);
    assert_int_equal(dec_hex("pir", "bf37 46 "
                                    "bf27 00 5f3740" Z64),
                     RSP_EMISSING);
    assert_int_equal(dec_hex("pir_data", "bf272b" TID "bf2f0c800101810207800c03612e62a208a106"
                                         "800105820108"),
                     RSP_EUNEXPECTED);
    assert_int_equal(dec_hex("init_secure_channel", "bf2381aa820101" TID "a60c8001888102"
                                                    "10108403484f53"
                                                    "5f4941" OTPK0 "5f3740" Z64),
                     RSP_ERANGE);
    assert_int_equal(dec_hex("replace_session_keys_request", "bf26058003000000"), RSP_ERANGE);
    /* BPP with an 88 in the first list */
    assert_int_equal(dec_hex("bpp", "bf3681b6"
                                    "bf2381aa820101" TID "a60c8001888101108404484f5354"
                                    "5f4941" OTPK0 "5f3740" Z64 "a0028800a100a300"),
                     RSP_EUNEXPECTED);
    assert_int_equal(dec_hex("bpp", "bf3681b4"
                                    "bf2381aa820101" TID "a60c8001888101108404484f5354"
                                    "5f4941" OTPK0 "5f3740" Z64 "a000a100a200"),
                     RSP_EMISSING);
    /* a minimal valid BPP (empty lists, no A2) */
    assert_int_equal(dec_hex("bpp", "bf3681b4"
                                    "bf2381aa820101" TID "a60c8001888101108404484f5354"
                                    "5f4941" OTPK0 "5f3740" Z64 "a000a100a300"),
                     0);

    /* ServerSigned1 has no [2]: an 82 where 83 is due is refused */
    assert_int_equal(dec_hex("server_signed1", "303e" TID "8110" Z16 "820100 8303612e628410" Z16),
                     RSP_EUNEXPECTED);
    /* tac: 4 bytes, 8 tolerated (pySim's Octet8), anything else refused */
    assert_int_equal(dec_hex("ctx_params1", "a00ea10c800835290611ffffffffa100"), 0);
    assert_int_equal(dec_hex("ctx_params1", "a00ba109800535290611ffa100"), RSP_ERANGE);
    /* imei is Octet8 */
    assert_int_equal(dec_hex("ctx_params1", "a00fa10d800435290611a1008203000000"), RSP_ERANGE);

    /* unknown trailing extension elements are skipped (EXTENSIBILITY IMPLIED) */
    assert_int_equal(dec_hex("server_signed1", "303e" TID "8110" Z16 "8303612e628410" Z16 "850100"),
                     0);
    assert_int_equal(dec_hex("cancel_session_request", "bf4118" TID "810100 bf6400"), 0);
    /* ... but must be well-formed */
    assert_int_equal(dec_hex("cancel_session_request", "bf4117" TID "810100 8505"), RSP_ETRUNC);

    /* encoders refuse wrong sizes and leave the output as it was */
    struct rsp_buf b = RSP_BUF_INIT;
    rsp_buf_append_byte(&b, 0xAA);
    static const uint8_t big[17] = {0};
    struct rsp_sgp22_cancel_session_request cr = {.transaction_id = {big, 17}};
    assert_int_equal(rsp_sgp22_cancel_session_request_encode(&cr, &b), RSP_EINVAL);
    cr.transaction_id.len = 0;
    assert_int_equal(rsp_sgp22_cancel_session_request_encode(&cr, &b), RSP_EINVAL);
    struct rsp_sgp22_pir_data pd = {.transaction_id = {big, 16}, .success = true, .aid = {big, 4}};
    assert_int_equal(rsp_sgp22_pir_data_encode(&pd, &b), RSP_EINVAL);
    struct rsp_sgp22_prepare_download_response pr = {.ok = true, .euicc_signature2 = {big, 17}};
    assert_int_equal(rsp_sgp22_prepare_download_response_encode(&pr, &b), RSP_EINVAL);
    struct rsp_sgp22_authenticate_server_response ar = {.ok = false};
    assert_int_equal(rsp_sgp22_authenticate_server_response_encode(&ar, &b), RSP_EINVAL);
    assert_int_equal(b.len, 1);
    assert_int_equal(b.err, 0);
    rsp_buf_free(&b);
}

/* Every prefix and every single-byte change of every vector: decoders return 0 or a negative
 * code, never crash (ASan/UBSan builds check memory safety), and what decodes re-encodes. */
static void test_mutations(void **state)
{
    const char *vec[] = {V_SERVER_SIGNED1,
                         V_CTX_PARAMS1,
                         V_EUICC_SIGNED1,
                         V_AUTH_RESP_ERR,
                         V_SMDP_SIGNED2,
                         V_EUICC_SIGNED2,
                         V_PDR_ERR,
                         V_STORE_METADATA,
                         V_RSK,
                         V_NOTIF_META,
                         V_PIR_DATA_OK,
                         V_PIR_DATA_ERR,
                         V_CANCEL_REQ,
                         V_CANCEL_SIGNED,
                         V_CANCEL_RESP_ERR,
                         V_ISC};
    any_t *u = calloc(1, sizeof *u);
    assert_non_null(u);
    static const uint8_t deltas[] = {0x01, 0x80, 0xff, 0x20};
    for (size_t v = 0; v < sizeof vec / sizeof vec[0]; v++) {
        struct rsp_buf in = tu_hex(vec[v]);
        for (size_t cut = 0; cut <= in.len; cut++) {
            for (size_t c = 0; c < SGP22_N_CODECS; c++) {
                int rc = sgp22_codecs[c].dec(in.data, cut, u);
                assert_true(rc <= 0);
                if (cut < in.len)
                    assert_true(rc < 0);
            }
        }
        for (size_t i = 0; i < in.len; i++) {
            for (size_t d = 0; d < sizeof deltas; d++) {
                in.data[i] ^= deltas[d];
                for (size_t c = 0; c < SGP22_N_CODECS; c++) {
                    int rc = sgp22_codecs[c].dec(in.data, in.len, u);
                    assert_true(rc <= 0);
                    if (rc == 0 && sgp22_codecs[c].enc) {
                        struct rsp_buf b = RSP_BUF_INIT;
                        (void)sgp22_codecs[c].enc(u, &b);
                        rsp_buf_free(&b);
                    }
                }
                in.data[i] ^= deltas[d];
            }
        }
        rsp_buf_free(&in);
    }
    free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_encodings),    cmocka_unit_test(test_decoded_fields),
        cmocka_unit_test(test_encode_from_fields), cmocka_unit_test(test_nested_raw_vs_fields),
        cmocka_unit_test(test_signed_inputs),      cmocka_unit_test(test_recorded_session),
        cmocka_unit_test(test_refusals),           cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests_name("sgp22_auth", tests, NULL, NULL);
}
