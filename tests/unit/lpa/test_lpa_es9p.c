/* ES9+ client against a libmicrohttpd server (rsp_http_server) over plain HTTP and over HTTPS
 * with a chain from rsp_pki_generate: outcomes (success, 200-with-Failed, 204, non-JSON 500,
 * non-JSON 200), TLS failures (wrong CI, expired chain, host name mismatch, pin mismatch), a
 * refused connection (retried, retryable) and connection reuse. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rsp/err.h"
#include "rsp/es9p_client.h"
#include "rsp/es9p_json.h"
#include "rsp/http_server.h"
#include "rsp/pki.h"
#include "testutil.h"

enum mode { M_OK, M_FAILED, M_NO_CONTENT, M_500_HTML, M_200_TEXT };
static volatile int mode;

static const char *TID = "0A0B0C0D";

static int h_cancel(void *ctx, const struct rsp_http_request *req, struct rsp_http_response *resp)
{
    (void)ctx;
    (void)req;
    switch (mode) {
    case M_OK: {
        struct rsp_es9_response r;
        memset(&r, 0, sizeof r);
        r.fn = RSP_ES9_CANCEL_SESSION;
        r.status.status = RSP_ES_SUCCESS;
        if (rsp_tid_from_hex(TID, &r.u.cancel_session.transaction_id) != 0)
            return RSP_EINVAL;
        return rsp_es9_encode_response(&r, &resp->body);
    }
    case M_FAILED:
        return rsp_es_encode_failure(rsp_sc(RSP_SC_TID_UNKNOWN), &resp->body);
    case M_NO_CONTENT:
        resp->status = 204;
        return 0;
    case M_500_HTML:
        resp->status = 500;
        return rsp_buf_set(&resp->body, "<html>proxy error</html>", 24);
    default:
        return rsp_buf_set(&resp->body, "hello", 5);
    }
}

static int h_notify(void *ctx, const struct rsp_http_request *req, struct rsp_http_response *resp)
{
    (void)ctx;
    (void)req;
    resp->status = 204;
    return 0;
}

static const struct rsp_http_route routes[] = {
    {"/gsma/rsp2/es9plus/cancelSession", "cancelSession", h_cancel, NULL},
    {"/gsma/rsp2/es9plus/handleNotification", "handleNotification", h_notify, NULL},
};

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* A server with the DPtls chain of `pki` (NULL: plain HTTP). */
static struct rsp_http_server *start(const struct rsp_pki *pki, const char *tag)
{
    struct rsp_http_config cfg = {0};
    cfg.bind_addr = "127.0.0.1";
    cfg.threads = 2;
    char chain_path[512], key_path[512];
    if (pki) {
        const struct rsp_pki_item *tls = &pki->set[0].item[RSP_PKI_DPTLS];
        const struct rsp_pki_item *ci = &pki->set[0].item[RSP_PKI_CI];
        struct rsp_buf chain = RSP_BUF_INIT;
        assert_int_equal(rsp_pki_cert_pem(tls->cert_der.data, tls->cert_der.len, &chain), 0);
        assert_int_equal(rsp_pki_cert_pem(ci->cert_der.data, ci->cert_der.len, &chain), 0);
        snprintf(chain_path, sizeof chain_path, "%s/%s.chain.pem", tu_tmpdir(), tag);
        snprintf(key_path, sizeof key_path, "%s/%s.key.pem", tu_tmpdir(), tag);
        write_file(chain_path, chain.data, chain.len);
        write_file(key_path, tls->key_pem.data, tls->key_pem.len);
        rsp_buf_free(&chain);
        cfg.tls_chain_file = chain_path;
        cfg.tls_key_file = key_path;
    } else {
        cfg.plain_http = true;
    }
    struct rsp_http_server *s = NULL;
    assert_int_equal(rsp_http_server_start(&cfg, routes, 2, &s), 0);
    return s;
}

static const char *ci_file(const struct rsp_pki *pki, const char *tag)
{
    static char path[4][512];
    static int k;
    char *p = path[k++ % 4];
    const struct rsp_pki_item *ci = &pki->set[0].item[RSP_PKI_CI];
    struct rsp_buf pem = RSP_BUF_INIT;
    assert_int_equal(rsp_pki_cert_pem(ci->cert_der.data, ci->cert_der.len, &pem), 0);
    snprintf(p, 512, "%s/%s.ci.pem", tu_tmpdir(), tag);
    write_file(p, pem.data, pem.len);
    rsp_buf_free(&pem);
    return p;
}

static struct rsp_pki gen(time_t not_before, unsigned days)
{
    struct rsp_pki_opts o;
    rsp_pki_opts_default(&o);
    o.curves = RSP_PKI_NIST;
    if (not_before) {
        o.not_before = not_before;
        o.days = days;
    }
    struct rsp_pki p;
    assert_int_equal(rsp_pki_generate(&o, &p), 0);
    return p;
}

static int post(struct rsp_es9p_client *c, const char *host, struct rsp_es9p_outcome *oc)
{
    struct rsp_buf body = RSP_BUF_INIT;
    char json[64];
    snprintf(json, sizeof json, "{\"transactionId\":\"%s\",\"cancelSessionResponse\":\"\"}", TID);
    int rc = rsp_es9p_post(c, host, "cancelSession", json, strlen(json), &body, oc);
    rsp_buf_free(&body);
    return rc;
}

static void test_plain_http_outcomes(void **st)
{
    (void)st;
    struct rsp_http_server *s = start(NULL, "plain");
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%u", (unsigned)rsp_http_server_port(s));
    struct rsp_es9p_client_opts o = {.plain_http = true};
    struct rsp_es9p_client *c = NULL;
    assert_int_equal(rsp_es9p_client_new(&o, &c), 0);
    struct rsp_es9p_outcome oc;

    /* typed call: success */
    mode = M_OK;
    struct rsp_es9_request rq;
    memset(&rq, 0, sizeof rq);
    rq.fn = RSP_ES9_CANCEL_SESSION;
    assert_int_equal(rsp_tid_from_hex(TID, &rq.u.cancel_session.transaction_id), 0);
    assert_int_equal(rsp_buf_set(&rq.u.cancel_session.cancel_session_response, "\xBF\x41\x00", 3),
                     0);
    struct rsp_es9_response rs;
    assert_int_equal(rsp_es9p_call(c, host, &rq, &rs, &oc), 0);
    assert_int_equal(oc.kind, RSP_ES9P_OK);
    assert_int_equal(oc.http_status, 200);
    struct rsp_tid want;
    assert_int_equal(rsp_tid_from_hex(TID, &want), 0);
    assert_true(rsp_tid_equal(&rs.u.cancel_session.transaction_id, &want));
    rsp_es9_response_free(&rs);

    /* 200 with Failed: the subject and reason come back */
    mode = M_FAILED;
    assert_int_equal(rsp_es9p_call(c, host, &rq, &rs, &oc), RSP_ESTATE);
    assert_int_equal(oc.kind, RSP_ES9P_REFUSED);
    assert_string_equal(oc.status.code.subject, "8.10.1");
    assert_string_equal(oc.status.code.reason, "3.9");
    assert_non_null(strstr(oc.message, "8.10.1"));
    rsp_es9_response_free(&rs);

    /* 204 where a body is expected, and where it is not */
    mode = M_NO_CONTENT;
    assert_int_equal(rsp_es9p_call(c, host, &rq, &rs, &oc), RSP_ESYNTAX);
    assert_int_equal(oc.kind, RSP_ES9P_BAD_BODY);
    rsp_es9_response_free(&rs);
    struct rsp_es9_request nq;
    memset(&nq, 0, sizeof nq);
    nq.fn = RSP_ES9_HANDLE_NOTIFICATION;
    assert_int_equal(rsp_buf_set(&nq.u.handle_notification.pending_notification, "\x30\x00", 2), 0);
    assert_int_equal(rsp_es9p_call(c, host, &nq, &rs, &oc), 0);
    assert_int_equal(oc.http_status, 204);
    rsp_es9_response_free(&rs);
    rsp_es9_request_free(&nq);

    /* non-JSON 500 and non-JSON 200 */
    mode = M_500_HTML;
    assert_int_equal(post(c, host, &oc), 0);
    assert_int_equal(oc.kind, RSP_ES9P_HTTP_ERROR);
    assert_int_equal(oc.http_status, 500);
    assert_false(oc.retryable);
    assert_int_equal(rsp_es9p_call(c, host, &rq, &rs, &oc), RSP_EIO);
    rsp_es9_response_free(&rs);
    mode = M_200_TEXT;
    assert_int_equal(post(c, host, &oc), 0);
    assert_int_equal(oc.kind, RSP_ES9P_BAD_BODY);

    /* everything above went over one kept-alive connection */
    assert_int_equal(rsp_es9p_client_connections(c), 1);
    rsp_es9_request_free(&rq);
    rsp_es9p_client_free(c);
    rsp_http_server_stop(s, 1000);
}

static void test_refused_connection(void **st)
{
    (void)st;
    /* a port nobody listens on: bind, read the port, close */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
    struct rsp_es9p_client_opts o = {.plain_http = true, .retries = 2, .retry_delay_ms = 10};
    struct rsp_es9p_client *c = NULL;
    assert_int_equal(rsp_es9p_client_new(&o, &c), 0);
    struct rsp_es9p_outcome oc;
    assert_int_equal(post(c, host, &oc), RSP_EIO);
    assert_int_equal(oc.kind, RSP_ES9P_NETWORK_ERROR);
    assert_true(oc.retryable);
    assert_int_equal(oc.attempts, 3);
    rsp_es9p_client_free(c);
    /* without CI files and without --insecure-tls there is no client (no OS-store fallback) */
    struct rsp_es9p_client_opts none = {0};
    assert_int_equal(rsp_es9p_client_new(&none, &c), RSP_EINVAL);
}

/* sha256//base64 of the DPtls SubjectPublicKeyInfo */
static void pin_of(const struct rsp_pki *pki, char *out, size_t n)
{
    const struct rsp_pki_item *tls = &pki->set[0].item[RSP_PKI_DPTLS];
    const unsigned char *p = tls->cert_der.data;
    X509 *x = d2i_X509(NULL, &p, (long)tls->cert_der.len);
    assert_non_null(x);
    unsigned char *spki = NULL;
    int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
    assert_true(len > 0);
    unsigned char md[32];
    SHA256(spki, (size_t)len, md);
    OPENSSL_free(spki);
    X509_free(x);
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_base64_encode(&b, md, 32), 0);
    snprintf(out, n, "sha256//%.*s", (int)b.len, (const char *)b.data);
    rsp_buf_free(&b);
}

static int https_post(const char *ca, const char *name, uint16_t port, const char *pin,
                      bool insecure, struct rsp_es9p_outcome *oc, long *conns)
{
    char host[128], resolve[160];
    snprintf(host, sizeof host, "%s:%u", name, (unsigned)port);
    snprintf(resolve, sizeof resolve, "%s:%u:127.0.0.1", name, (unsigned)port);
    struct rsp_es9p_client_opts o = {
        .ca_file = ca, .resolve = resolve, .pinned_pubkey = pin, .insecure_tls = insecure};
    struct rsp_es9p_client *c = NULL;
    assert_int_equal(rsp_es9p_client_new(&o, &c), 0);
    int rc = post(c, host, oc);
    if (rc == 0 && conns)
        for (int i = 0; i < 3; i++)
            assert_int_equal(post(c, host, oc), 0);
    if (conns)
        *conns = rsp_es9p_client_connections(c);
    rsp_es9p_client_free(c);
    return rc;
}

static void test_https(void **st)
{
    (void)st;
    struct rsp_pki good = gen(0, 0), other = gen(0, 0);
    struct rsp_pki expired = gen(time(NULL) - 40 * 86400, 10);
    const char *good_ci = ci_file(&good, "good"), *other_ci = ci_file(&other, "other");
    const char *expired_ci = ci_file(&expired, "expired");
    struct rsp_http_server *s = start(&good, "good");
    struct rsp_http_server *se = start(&expired, "expired");
    uint16_t port = rsp_http_server_port(s), eport = rsp_http_server_port(se);
    const char *name = RSP_PKI_DEFAULT_SMDP_HOST;
    struct rsp_es9p_outcome oc;
    mode = M_OK;

    /* success, four calls over one TLS connection */
    long conns = 0;
    int rc = https_post(good_ci, name, port, NULL, false, &oc, &conns);
    if (rc != 0)
        fail_msg("HTTPS: %s", oc.message);
    assert_int_equal(oc.kind, RSP_ES9P_OK);
    assert_int_equal(conns, 1);
    /* pinned: the right key passes, another fails with its own error */
    char pin[128];
    pin_of(&good, pin, sizeof pin);
    assert_int_equal(https_post(good_ci, name, port, pin, false, &oc, NULL), 0);
    assert_int_equal(oc.kind, RSP_ES9P_OK);
    pin_of(&other, pin, sizeof pin);
    assert_int_equal(https_post(good_ci, name, port, pin, false, &oc, NULL), RSP_EIO);
    assert_int_equal(oc.kind, RSP_ES9P_TLS_ERROR);
    assert_int_equal(oc.tls, RSP_ES9P_TLS_PIN_MISMATCH);

    /* wrong CI */
    assert_int_equal(https_post(other_ci, name, port, NULL, false, &oc, NULL), RSP_EIO);
    assert_int_equal(oc.kind, RSP_ES9P_TLS_ERROR);
    assert_int_equal(oc.tls, RSP_ES9P_TLS_UNKNOWN_CA);
    assert_false(oc.retryable);
    assert_non_null(strstr(oc.message, "RSP CI"));
    /* ... accepted only with insecure_tls */
    assert_int_equal(https_post(other_ci, name, port, NULL, true, &oc, NULL), 0);
    assert_int_equal(oc.kind, RSP_ES9P_OK);

    /* host name mismatch */
    assert_int_equal(https_post(good_ci, "other.example.org", port, NULL, false, &oc, NULL),
                     RSP_EIO);
    if (oc.tls != RSP_ES9P_TLS_HOST_MISMATCH)
        fail_msg("host mismatch: %s (curl %d, verify %ld)", oc.message, oc.curl_code,
                 oc.verify_result);

    /* expired server chain */
    assert_int_equal(https_post(expired_ci, name, eport, NULL, false, &oc, NULL), RSP_EIO);
    assert_int_equal(oc.kind, RSP_ES9P_TLS_ERROR);
    assert_int_equal(oc.tls, RSP_ES9P_TLS_EXPIRED);
    assert_non_null(strstr(oc.message, "expired"));

    rsp_http_server_stop(s, 1000);
    rsp_http_server_stop(se, 1000);
    rsp_pki_free(&good);
    rsp_pki_free(&other);
    rsp_pki_free(&expired);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_http_outcomes),
        cmocka_unit_test(test_refused_connection),
        cmocka_unit_test(test_https),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
