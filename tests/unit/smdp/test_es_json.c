/* ES9+/ES2+ JSON layer: the recorded osmo-smdpp session decodes, envelopes are byte-exact,
 * malformed input gives the right refusal. */
#include "testutil.h"

#include <jansson.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/es2p_json.h"
#include "rsp/es9p_json.h"

#define SESSION "testdata/osmo-smdpp-session/es9p-exchanges.json"

static void assert_buf_str(const struct rsp_buf *b, const char *want)
{
    if (b->len != strlen(want) || memcmp(b->data, want, b->len) != 0)
        fail_msg("got  %.*s\nwant %s", (int)b->len, (const char *)b->data, want);
}

static void assert_code(const struct rsp_status_code *c, const char *subject, const char *reason)
{
    assert_string_equal(c->subject, subject);
    assert_string_equal(c->reason, reason);
}

static void test_recorded_session(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    json_error_t jerr;
    json_t *root = json_load_file(tu_shared_path(SESSION), 0, &jerr);
    assert_non_null(root);
    assert_true(json_array_size(root) >= 4);
    unsigned seen = 0;
    for (size_t i = 0; i < json_array_size(root); i++) {
        json_t *e = json_array_get(root, i);
        const char *url = json_string_value(json_object_get(json_object_get(e, "request"), "url"));
        assert_non_null(url);
        const char *name = strrchr(url, '/') + 1;
        enum rsp_es9_function fn;
        assert_int_equal(rsp_es9_function_from_name(name, &fn), 0);
        assert_non_null(strstr(url, RSP_ES9P_PATH_PREFIX));
        seen |= 1u << fn;

        /* request */
        char *body = json_dumps(json_object_get(json_object_get(e, "request"), "body"), 0);
        assert_non_null(body);
        struct rsp_es9_request req;
        struct rsp_status_code refusal;
        assert_int_equal(rsp_es9_decode_request(fn, body, strlen(body), &req, &refusal), 0);
        /* request round trip: encode, decode, encode gives the same text */
        struct rsp_buf enc = RSP_BUF_INIT, enc2 = RSP_BUF_INIT;
        assert_int_equal(rsp_es9_encode_request(&req, &enc), 0);
        struct rsp_es9_request req2;
        assert_int_equal(
            rsp_es9_decode_request(fn, (const char *)enc.data, enc.len, &req2, &refusal), 0);
        assert_int_equal(rsp_es9_encode_request(&req2, &enc2), 0);
        assert_int_equal(enc.len, enc2.len);
        assert_memory_equal(enc.data, enc2.data, enc.len);
        free(body);

        /* response */
        int status = (int)json_integer_value(json_object_get(e, "status"));
        json_t *resp_json = json_object_get(e, "response");
        char *resp_text = json_is_object(resp_json) ? json_dumps(resp_json, 0) : NULL;
        struct rsp_es9_response resp;
        assert_int_equal(rsp_es9_decode_response(fn, resp_text ? resp_text : "",
                                                 resp_text ? strlen(resp_text) : 0, &resp),
                         0);
        switch (fn) {
        case RSP_ES9_INITIATE_AUTHENTICATION: {
            struct rsp_es9_initiate_auth_req *r = &req.u.initiate_auth;
            assert_int_equal(r->euicc_info1.data[0], 0xbf);
            assert_int_equal(r->euicc_info1.data[1], 0x20);
            assert_string_equal(r->smdp_address, "testsmdpplus1.example.com");
            assert_int_equal(resp.status.status, RSP_ES_SUCCESS);
            assert_int_equal(resp.u.initiate_auth.transaction_id.len, 16);
            assert_int_equal(resp.u.initiate_auth.server_signed1.data[0], 0x30);
            tu_assert_hex(resp.u.initiate_auth.server_signature1.data, 2, "5f37");
            tu_assert_hex(resp.u.initiate_auth.euicc_ci_pkid.data, 2, "0414");
            assert_int_equal(status, 200);
            break;
        }
        case RSP_ES9_AUTHENTICATE_CLIENT:
            tu_assert_hex(req.u.auth_client.authenticate_server_response.data, 2, "bf38");
            tu_assert_hex(req.u.auth_client.transaction_id.b, 16,
                          "D0A956CD160143F194E0A2D002018770");
            tu_assert_hex(resp.u.auth_client.profile_metadata.data, 2, "bf25");
            assert_true(resp.u.auth_client.smdp_certificate.len > 100);
            break;
        case RSP_ES9_GET_BOUND_PROFILE_PACKAGE:
            tu_assert_hex(req.u.gbpp.prepare_download_response.data, 2, "bf21");
            tu_assert_hex(resp.u.gbpp.bound_profile_package.data, 2, "bf36");
            break;
        case RSP_ES9_HANDLE_NOTIFICATION:
            tu_assert_hex(req.u.handle_notification.pending_notification.data, 2, "bf37");
            assert_int_equal(status, 204);
            break;
        default:
            break;
        }
        /* response round trip through our encoder */
        if (resp_text) {
            struct rsp_buf r1 = RSP_BUF_INIT;
            struct rsp_es9_response again;
            assert_int_equal(rsp_es9_encode_response(&resp, &r1), 0);
            assert_int_equal(rsp_es9_decode_response(fn, (const char *)r1.data, r1.len, &again), 0);
            assert_int_equal(again.status.status, RSP_ES_SUCCESS);
            rsp_es9_response_free(&again);
            rsp_buf_free(&r1);
        }
        free(resp_text);
        rsp_es9_response_free(&resp);
        rsp_es9_request_free(&req);
        rsp_es9_request_free(&req2);
        rsp_buf_free(&enc);
        rsp_buf_free(&enc2);
    }
    assert_int_equal(seen, 0xf); /* the four functions of a download */
    json_decref(root);
}

static void test_envelopes_exact(void **state)
{
    (void)state;
    struct rsp_buf out = RSP_BUF_INIT;
    assert_int_equal(rsp_es_encode_failure(rsp_sc(RSP_SC_TID_UNKNOWN), &out), 0);
    assert_buf_str(&out, "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Failed\","
                         "\"statusCodeData\":{\"subjectCode\":\"8.10.1\",\"reasonCode\":\"3.9\","
                         "\"message\":\"Unknown transactionId\"}}}}");
    struct rsp_status_code nomsg = {"8.8", "3.10", ""};
    assert_int_equal(rsp_es_encode_failure(&nomsg, &out), 0);
    assert_buf_str(&out, "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Failed\","
                         "\"statusCodeData\":{\"subjectCode\":\"8.8\",\"reasonCode\":\"3.10\"}}}}");

    struct rsp_es9_response r;
    memset(&r, 0, sizeof r);
    r.fn = RSP_ES9_GET_BOUND_PROFILE_PACKAGE;
    r.u.gbpp.transaction_id.len = 2;
    r.u.gbpp.transaction_id.b[0] = 0xab;
    r.u.gbpp.transaction_id.b[1] = 0x01;
    rsp_buf_append(&r.u.gbpp.bound_profile_package, "\xbf\x36\x00", 3);
    assert_int_equal(rsp_es9_encode_response(&r, &out), 0);
    assert_buf_str(&out, "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Executed-Success\""
                         "}},\"transactionId\":\"AB01\",\"boundProfilePackage\":\"vzYA\"}");
    /* a missing transactionId cannot be encoded */
    r.u.gbpp.transaction_id.len = 0;
    assert_int_equal(rsp_es9_encode_response(&r, &out), RSP_EMISSING);
    rsp_es9_response_free(&r);

    r.fn = RSP_ES9_HANDLE_NOTIFICATION;
    rsp_buf_set(&out, "x", 1);
    assert_int_equal(rsp_es9_encode_response(&r, &out), 0);
    assert_int_equal(out.len, 0);

    memset(&r, 0, sizeof r);
    r.fn = RSP_ES9_CANCEL_SESSION;
    r.u.cancel_session.transaction_id.len = 1;
    assert_int_equal(rsp_es9_encode_response(&r, &out), 0);
    assert_buf_str(&out, "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Executed-Success\""
                         "}},\"transactionId\":\"00\"}");

    struct rsp_es9_request q;
    memset(&q, 0, sizeof q);
    q.fn = RSP_ES9_INITIATE_AUTHENTICATION;
    memset(q.u.initiate_auth.euicc_challenge, 0xff, 16);
    rsp_buf_append(&q.u.initiate_auth.euicc_info1, "\xbf\x20\x00", 3);
    strcpy(q.u.initiate_auth.smdp_address, "smdp.example");
    assert_int_equal(rsp_es9_encode_request(&q, &out), 0);
    assert_buf_str(&out, "{\"euiccChallenge\":\"/////////////////////w==\",\"euiccInfo1\":\"vyAA\","
                         "\"smdpAddress\":\"smdp.example\"}");
    rsp_es9_request_free(&q);

    struct rsp_es_exec_status st;
    const char *fail = "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Failed\","
                       "\"statusCodeData\":{\"subjectCode\":\"8.8.1\",\"reasonCode\":\"3.8\","
                       "\"subjectIdentifier\":\"x\",\"message\":\"Invalid SM-DP+ Address\"}}}}";
    assert_int_equal(rsp_es_decode_header(fail, strlen(fail), &st), 0);
    assert_int_equal(st.status, RSP_ES_FAILED);
    assert_true(st.has_code);
    assert_code(&st.code, "8.8.1", "3.8");
    assert_string_equal(st.code.message, "Invalid SM-DP+ Address");
    assert_string_equal(st.subject_identifier, "x");
    struct rsp_es9_response fr;
    assert_int_equal(rsp_es9_decode_response(RSP_ES9_AUTHENTICATE_CLIENT, fail, strlen(fail), &fr),
                     0);
    assert_int_equal(fr.status.status, RSP_ES_FAILED);
    rsp_es9_response_free(&fr);
    /* a refused handleNotification answers with the envelope (found by fuzz_es9p) */
    assert_int_equal(rsp_es9_decode_response(RSP_ES9_HANDLE_NOTIFICATION, fail, strlen(fail), &fr),
                     0);
    assert_int_equal(fr.status.status, RSP_ES_FAILED);
    assert_code(&fr.status.code, "8.8.1", "3.8");
    rsp_es9_response_free(&fr);
    assert_int_equal(rsp_es9_decode_response(RSP_ES9_HANDLE_NOTIFICATION, "", 0, &fr), 0);
    assert_int_equal(rsp_es9_decode_response(RSP_ES9_HANDLE_NOTIFICATION, "x", 1, &fr),
                     RSP_ESYNTAX);
    assert_int_equal(rsp_es_decode_header("{}", 2, &st), RSP_EMISSING);
    assert_int_equal(rsp_es_decode_header("{\"header\":{\"functionExecutionStatus\":{\"status\":"
                                          "\"Done\"}}}",
                                          52, &st),
                     RSP_ESYNTAX);
    rsp_buf_free(&out);
}

static void test_status_table(void **state)
{
    (void)state;
    for (int i = 0; i < RSP_SC_COUNT; i++) {
        const struct rsp_status_code *c = rsp_sc(i);
        assert_true(c->subject[0] && c->reason[0] && c->message[0]);
    }
    /* two-digit minor codes are never shortened (addendum §1.7) */
    assert_code(rsp_sc(RSP_SC_SMDP_OID_MISMATCH), "8.8", "3.10");
    assert_code(rsp_sc(RSP_SC_ORDER_EXPIRED), "8.8.5", "4.10");
    assert_code(rsp_sc(RSP_SC_EID_OTHER), "8.1.1", "3.10");
    assert_code(rsp_sc(RSP_SC_CC_REFUSED), "8.2.7", "3.8");
    assert_code(rsp_sc(RSP_SC_MATCHING_ID_REFUSED), "8.2.6", "3.8");
    assert_code(rsp_sc(RSP_SC_ICCID_INVALID_TRANSITION), "8.2.1", "3.5");
    assert_code(rsp_sc(RSP_SC_COUNT), "1.2", "4.2"); /* out of range: internal */
}

static void test_headers(void **state)
{
    (void)state;
    struct rsp_status_code c;
    assert_int_equal(rsp_es_check_headers("application/json", NULL, &c), 0);
    assert_int_equal(rsp_es_check_headers("application/json;charset=UTF-8", "gsma/rsp/v2.5.0", &c),
                     0);
    assert_int_equal(rsp_es_check_headers("text/plain", NULL, &c), RSP_ESYNTAX);
    assert_code(&c, "1.2.1", "2.1");
    assert_int_equal(rsp_es_check_headers(NULL, NULL, &c), RSP_ESYNTAX);
    assert_code(&c, "1.2.1", "2.1");
    assert_int_equal(rsp_es_check_headers("application/json", "http/1.1", &c), RSP_ESYNTAX);
    assert_code(&c, "1.2.2", "2.1");
    assert_int_equal(rsp_es_check_headers("application/json", "", &c), RSP_ESYNTAX);
}

struct bad_case {
    enum rsp_es9_function fn;
    const char *json;
    int rc;
    const char *subject, *reason;
};

static void test_malformed(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {RSP_ES9_AUTHENTICATE_CLIENT, "", RSP_ESYNTAX, "1.3.1", "2.1"},
        {RSP_ES9_AUTHENTICATE_CLIENT, "not json", RSP_ESYNTAX, "1.3.1", "2.1"},
        {RSP_ES9_AUTHENTICATE_CLIENT, "[1,2]", RSP_ESYNTAX, "1.3.1", "2.1"},
        {RSP_ES9_AUTHENTICATE_CLIENT, "{\"transactionId\":\"0102\"}", RSP_EMISSING, "1.3.1", "2.2"},
        {RSP_ES9_AUTHENTICATE_CLIENT,
         "{\"transactionId\":\"01G2\",\"authenticateServerResponse\":\"vzgA\"}", RSP_ESYNTAX,
         "1.3.1", "2.1"},
        {RSP_ES9_AUTHENTICATE_CLIENT,
         "{\"transactionId\":\"000102030405060708090a0b0c0d0e0f10\","
         "\"authenticateServerResponse\":\"vzgA\"}",
         RSP_ESYNTAX, "1.3.1", "2.1"},
        {RSP_ES9_AUTHENTICATE_CLIENT,
         "{\"transactionId\":\"0102\",\"authenticateServerResponse\":\"vzg\"}", RSP_ESYNTAX,
         "1.3.1", "2.1"},
        {RSP_ES9_AUTHENTICATE_CLIENT,
         "{\"transactionId\":\"0102\",\"authenticateServerResponse\":\"vz A\"}", RSP_ESYNTAX,
         "1.3.1", "2.1"},
        {RSP_ES9_AUTHENTICATE_CLIENT,
         "{\"transactionId\":12,\"authenticateServerResponse\":\"vzgA\"}", RSP_ESYNTAX, "1.3.1",
         "2.1"},
        {RSP_ES9_AUTHENTICATE_CLIENT,
         "{\"transactionId\":null,\"authenticateServerResponse\":\"vzgA\"}", RSP_EMISSING, "1.3.1",
         "2.2"},
        {RSP_ES9_AUTHENTICATE_CLIENT,
         "{\"transactionId\":\"0102\",\"transactionId\":\"0102\",\"authenticateServerResponse\":"
         "\"vzgA\"}",
         RSP_ESYNTAX, "1.3.1", "2.1"},
        {RSP_ES9_AUTHENTICATE_CLIENT,
         "{\"header\":5,\"transactionId\":\"0102\",\"authenticateServerResponse\":\"vzgA\"}",
         RSP_ESYNTAX, "1.3.1", "2.1"},
        {RSP_ES9_INITIATE_AUTHENTICATION,
         "{\"euiccChallenge\":\"AAEC\",\"euiccInfo1\":\"vyAA\",\"smdpAddress\":\"a\"}", RSP_ERANGE,
         "1.3.1", "2.1"},
        {RSP_ES9_INITIATE_AUTHENTICATION,
         "{\"euiccChallenge\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"euiccInfo1\":\"vyAA\","
         "\"smdpAddress\":\"a\\u0000b\"}",
         RSP_ESYNTAX, "1.3.1", "2.1"},
        {RSP_ES9_HANDLE_NOTIFICATION, "{\"pendingNotification\":true}", RSP_ESYNTAX, "1.3.1",
         "2.1"},
        {RSP_ES9_CANCEL_SESSION, "{\"transactionId\":\"\",\"cancelSessionResponse\":\"vzgA\"}",
         RSP_ESYNTAX, "1.3.1", "2.1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rsp_es9_request r;
        struct rsp_status_code c;
        memset(&c, 0, sizeof c);
        int rc = rsp_es9_decode_request(cases[i].fn, cases[i].json, strlen(cases[i].json), &r, &c);
        if (rc != cases[i].rc)
            fail_msg("case %zu (%s): rc %d, want %d", i, cases[i].json, rc, cases[i].rc);
        assert_code(&c, cases[i].subject, cases[i].reason);
        rsp_es9_request_free(&r); /* nothing left to free, but must be safe */
    }
    /* lower-case transactionId accepted; header object accepted and ignored */
    const char *ok = "{\"header\":{\"functionRequesterIdentifier\":\"x\"},\"transactionId\":"
                     "\"d0a9\",\"authenticateServerResponse\":\"vzgA\",\"extra\":1}";
    struct rsp_es9_request r;
    struct rsp_status_code c;
    assert_int_equal(rsp_es9_decode_request(RSP_ES9_AUTHENTICATE_CLIENT, ok, strlen(ok), &r, &c),
                     0);
    tu_assert_hex(r.u.auth_client.transaction_id.b, r.u.auth_client.transaction_id.len, "d0a9");
    rsp_es9_request_free(&r);
    assert_int_equal(rsp_es9_decode_request(RSP_ES9_NFUNCTIONS, ok, strlen(ok), &r, &c),
                     RSP_EINVAL);
    enum rsp_es9_function fn;
    assert_int_equal(rsp_es9_function_from_name("getBoundProfilePackage", &fn), 0);
    assert_int_equal(fn, RSP_ES9_GET_BOUND_PROFILE_PACKAGE);
    assert_int_equal(rsp_es9_function_from_name("getboundprofilepackage", &fn), RSP_ENOTFOUND);
}

/* ---- ES2+ ---- */

#define HDR                                                                                        \
    "\"header\":{\"functionRequesterIdentifier\":\"op1\",\"functionCallIdentifier\":\"FCI-1\"}"

static void test_es2_requests(void **state)
{
    (void)state;
    struct rsp_es2_request r;
    struct rsp_status_code c;
    struct rsp_buf out = RSP_BUF_INIT;
    const char *dl = "{" HDR ",\"eid\":\"89049032123451234512345678901235\","
                     "\"iccid\":\"894447650000123456F\",\"profileType\":\"gold\"}";
    assert_int_equal(rsp_es2_decode_request(RSP_ES2_DOWNLOAD_ORDER, dl, strlen(dl), &r, &c), 0);
    assert_string_equal(r.header.function_requester_identifier, "op1");
    assert_string_equal(r.header.function_call_identifier, "FCI-1");
    assert_string_equal(r.u.download_order.iccid, "894447650000123456");
    assert_string_equal(r.u.download_order.profile_type, "gold");
    const char *dl19 = "{" HDR ",\"iccid\":\"8944476500001234567F\"}";
    assert_int_equal(rsp_es2_decode_request(RSP_ES2_DOWNLOAD_ORDER, dl19, strlen(dl19), &r, &c), 0);
    assert_string_equal(r.u.download_order.iccid, "8944476500001234567");
    /* 19 digits are emitted with the F pad */
    assert_int_equal(rsp_es2_encode_request(&r, &out), 0);
    assert_buf_str(&out, "{" HDR ",\"iccid\":\"8944476500001234567F\"}");

    const char *none = "{" HDR ",\"eid\":\"89049032123451234512345678901235\"}";
    assert_int_equal(rsp_es2_decode_request(RSP_ES2_DOWNLOAD_ORDER, none, strlen(none), &r, &c),
                     RSP_EMISSING);
    assert_code(&c, "1.3.1", "2.2");
    const char *nohdr = "{\"iccid\":\"8944476500001234567\"}";
    assert_int_equal(rsp_es2_decode_request(RSP_ES2_RELEASE_PROFILE, nohdr, strlen(nohdr), &r, &c),
                     RSP_EMISSING);
    const char *badiccid = "{" HDR ",\"iccid\":\"89444765000012345X\"}";
    assert_int_equal(
        rsp_es2_decode_request(RSP_ES2_RELEASE_PROFILE, badiccid, strlen(badiccid), &r, &c),
        RSP_ESYNTAX);
    assert_code(&c, "1.3.1", "2.1");

    const char *co = "{" HDR ",\"iccid\":\"8944476500001234567\",\"matchingId\":\"ABC-1\","
                     "\"confirmationCode\":\"1234\",\"releaseFlag\":true}";
    assert_int_equal(rsp_es2_decode_request(RSP_ES2_CONFIRM_ORDER, co, strlen(co), &r, &c), 0);
    assert_true(r.u.confirm_order.release_flag);
    assert_string_equal(r.u.confirm_order.matching_id, "ABC-1");
    assert_string_equal(r.u.confirm_order.confirmation_code, "1234");
    assert_string_equal(r.u.confirm_order.eid, "");
    const char *co_nf = "{" HDR ",\"iccid\":\"8944476500001234567\",\"releaseFlag\":\"yes\"}";
    assert_int_equal(rsp_es2_decode_request(RSP_ES2_CONFIRM_ORDER, co_nf, strlen(co_nf), &r, &c),
                     RSP_ESYNTAX);

    const char *ca = "{" HDR ",\"iccid\":\"8944476500001234567\","
                     "\"finalProfileStatusIndicator\":\"Unavailable\"}";
    assert_int_equal(rsp_es2_decode_request(RSP_ES2_CANCEL_ORDER, ca, strlen(ca), &r, &c), 0);
    assert_int_equal(r.u.cancel_order.final_status, RSP_ES2_FINAL_UNAVAILABLE);
    const char *ca_bad = "{" HDR ",\"iccid\":\"8944476500001234567\","
                         "\"finalProfileStatusIndicator\":\"Gone\"}";
    assert_int_equal(rsp_es2_decode_request(RSP_ES2_CANCEL_ORDER, ca_bad, strlen(ca_bad), &r, &c),
                     RSP_ESYNTAX);

    /* HandleDownloadProgressInfo: lenient input (timeStamp, string id) */
    const char *hd = "{" HDR ",\"eid\":\"89049032123451234512345678901235\","
                     "\"iccid\":\"8944476500001234567F\",\"profileType\":\"gold\","
                     "\"timeStamp\":\"2026-07-01T00:00:00Z\",\"notificationPointId\":\"4\","
                     "\"notificationPointStatus\":{\"status\":\"Executed-Success\"},"
                     "\"resultData\":\"ogA=\"}";
    assert_int_equal(
        rsp_es2_decode_request(RSP_ES2_HANDLE_DOWNLOAD_PROGRESS_INFO, hd, strlen(hd), &r, &c), 0);
    assert_int_equal(r.u.hdpi.notification_point_id, 4);
    assert_string_equal(r.u.hdpi.timestamp, "2026-07-01T00:00:00Z");
    tu_assert_hex(r.u.hdpi.result_data.data, r.u.hdpi.result_data.len, "a200");
    /* strict output */
    assert_int_equal(rsp_es2_encode_request(&r, &out), 0);
    assert_buf_str(&out, "{" HDR ",\"eid\":\"89049032123451234512345678901235\","
                         "\"iccid\":\"8944476500001234567F\",\"profileType\":\"gold\","
                         "\"timestamp\":\"2026-07-01T00:00:00Z\",\"notificationPointId\":4,"
                         "\"notificationPointStatus\":{\"status\":\"Executed-Success\"},"
                         "\"resultData\":\"ogA=\"}");
    rsp_es2_request_free(&r);

    /* a failed notification point with its code */
    memset(&r, 0, sizeof r);
    r.fn = RSP_ES2_HANDLE_DOWNLOAD_PROGRESS_INFO;
    strcpy(r.header.function_requester_identifier, "smdp");
    strcpy(r.header.function_call_identifier, "1");
    strcpy(r.u.hdpi.iccid, "89444765000012345678");
    strcpy(r.u.hdpi.profile_type, "gold");
    strcpy(r.u.hdpi.timestamp, "2026-07-01T00:00:00Z");
    r.u.hdpi.notification_point_id = 2;
    r.u.hdpi.notification_point_status.status = RSP_ES_FAILED;
    r.u.hdpi.notification_point_status.has_code = true;
    r.u.hdpi.notification_point_status.code = *rsp_sc(RSP_SC_CC_RETRIES);
    r.u.hdpi.notification_point_status.code.message[0] = 0;
    assert_int_equal(rsp_es2_encode_request(&r, &out), 0);
    assert_buf_str(&out, "{\"header\":{\"functionRequesterIdentifier\":\"smdp\","
                         "\"functionCallIdentifier\":\"1\"},\"iccid\":\"89444765000012345678\","
                         "\"profileType\":\"gold\",\"timestamp\":\"2026-07-01T00:00:00Z\","
                         "\"notificationPointId\":2,\"notificationPointStatus\":{\"status\":"
                         "\"Failed\",\"statusCodeData\":{\"subjectCode\":\"8.2.7\","
                         "\"reasonCode\":\"6.4\"}}}");
    struct rsp_es2_request back;
    assert_int_equal(rsp_es2_decode_request(RSP_ES2_HANDLE_DOWNLOAD_PROGRESS_INFO,
                                            (const char *)out.data, out.len, &back, &c),
                     0);
    assert_int_equal(back.u.hdpi.notification_point_status.status, RSP_ES_FAILED);
    assert_code(&back.u.hdpi.notification_point_status.code, "8.2.7", "6.4");
    rsp_es2_request_free(&back);
    rsp_buf_free(&out);
}

static void test_es2_responses(void **state)
{
    (void)state;
    struct rsp_buf out = RSP_BUF_INIT;
    struct rsp_es2_response r;
    memset(&r, 0, sizeof r);
    r.fn = RSP_ES2_DOWNLOAD_ORDER;
    strcpy(r.u.download_order.iccid, "89444765000012345678");
    assert_int_equal(rsp_es2_encode_response(&r, &out), 0);
    assert_buf_str(&out, "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Executed-Success\""
                         "}},\"iccid\":\"89444765000012345678\"}");
    memset(&r, 0, sizeof r);
    r.fn = RSP_ES2_CONFIRM_ORDER;
    strcpy(r.u.confirm_order.matching_id, "ABC-1");
    strcpy(r.u.confirm_order.smdp_address, "smdp.example");
    assert_int_equal(rsp_es2_encode_response(&r, &out), 0);
    assert_buf_str(&out, "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Executed-Success\""
                         "}},\"matchingId\":\"ABC-1\",\"smdpAddress\":\"smdp.example\"}");
    struct rsp_es2_response back;
    assert_int_equal(
        rsp_es2_decode_response(RSP_ES2_CONFIRM_ORDER, (const char *)out.data, out.len, &back), 0);
    assert_string_equal(back.u.confirm_order.matching_id, "ABC-1");
    memset(&r, 0, sizeof r);
    r.fn = RSP_ES2_RELEASE_PROFILE;
    assert_int_equal(rsp_es2_encode_response(&r, &out), 0);
    assert_buf_str(&out,
                   "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Executed-Success\"}}}");
    r.status.status = RSP_ES_FAILED;
    r.status.has_code = true;
    r.status.code = *rsp_sc(RSP_SC_ICCID_INVALID_TRANSITION);
    assert_int_equal(rsp_es2_encode_response(&r, &out), 0);
    assert_buf_str(&out, "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Failed\","
                         "\"statusCodeData\":{\"subjectCode\":\"8.2.1\",\"reasonCode\":\"3.5\","
                         "\"message\":\"Invalid profile state transition\"}}}}");
    r.fn = RSP_ES2_HANDLE_DOWNLOAD_PROGRESS_INFO;
    assert_int_equal(rsp_es2_encode_response(&r, &out), 0);
    assert_int_equal(out.len, 0);
    assert_int_equal(rsp_es2_decode_response(RSP_ES2_HANDLE_DOWNLOAD_PROGRESS_INFO, "", 0, &back),
                     0);
    enum rsp_es2_function fn;
    assert_int_equal(rsp_es2_function_from_name("handleDownloadProgressInfo", &fn), 0);
    assert_int_equal(fn, RSP_ES2_HANDLE_DOWNLOAD_PROGRESS_INFO);
    rsp_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recorded_session), cmocka_unit_test(test_envelopes_exact),
        cmocka_unit_test(test_status_table),     cmocka_unit_test(test_headers),
        cmocka_unit_test(test_malformed),        cmocka_unit_test(test_es2_requests),
        cmocka_unit_test(test_es2_responses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
