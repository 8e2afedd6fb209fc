/* ES9+ client on libcurl: one kept-alive handle, TLS against the configured RSP CIs only, and a
 * classification of every outcome (see rsp/es9p_client.h). Bodies are never logged. */
#include <curl/curl.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rsp/err.h"
#include "rsp/es9p_client.h"

struct rsp_es9p_client {
    CURL *h;
    struct curl_slist *headers;
    struct curl_slist *resolve;
    struct curl_slist *connect_to;
    struct rsp_es9p_client_opts o;
    long connections;
};

const char *rsp_es9p_kind_name(enum rsp_es9p_kind k)
{
    switch (k) {
    case RSP_ES9P_OK:
        return "ok";
    case RSP_ES9P_REFUSED:
        return "refused by the SM-DP+";
    case RSP_ES9P_HTTP_ERROR:
        return "HTTP error";
    case RSP_ES9P_BAD_BODY:
        return "malformed response";
    case RSP_ES9P_TLS_ERROR:
        return "TLS error";
    case RSP_ES9P_NETWORK_ERROR:
        return "network error";
    }
    return "unknown";
}

static void global_init_once(void)
{
    static int done;
    if (!done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        done = 1;
    }
}

void rsp_es9p_client_free(struct rsp_es9p_client *c)
{
    if (!c)
        return;
    if (c->h)
        curl_easy_cleanup(c->h);
    curl_slist_free_all(c->headers);
    curl_slist_free_all(c->resolve);
    curl_slist_free_all(c->connect_to);
    free(c);
}

int rsp_es9p_client_new(const struct rsp_es9p_client_opts *opts, struct rsp_es9p_client **out)
{
    if (!opts || !out)
        return RSP_EINVAL;
    *out = NULL;
    if (!opts->plain_http && !opts->insecure_tls && !opts->ca_file && !opts->ca_path)
        return RSP_EINVAL;
    global_init_once();
    struct rsp_es9p_client *c = calloc(1, sizeof *c);
    if (!c)
        return RSP_ENOMEM;
    c->o = *opts;
    c->h = curl_easy_init();
    char admin[96];
    snprintf(admin, sizeof admin, "X-Admin-Protocol: %s",
             opts->admin_protocol ? opts->admin_protocol : RSP_ADMIN_PROTOCOL);
    struct curl_slist *h1 = curl_slist_append(NULL, "Content-Type: " RSP_JSON_CONTENT_TYPE);
    struct curl_slist *h2 = h1 ? curl_slist_append(h1, admin) : NULL;
    struct curl_slist *h3 = h2 ? curl_slist_append(h2, "Accept: application/json") : NULL;
    /* no "Expect: 100-continue" round trip */
    struct curl_slist *h4 = h3 ? curl_slist_append(h3, "Expect:") : NULL;
    c->headers = h4 ? h4 : h1;
    if (!h4 && h1) {
        curl_slist_free_all(h1);
        c->headers = NULL;
    }
    if (opts->resolve) {
        c->resolve = curl_slist_append(NULL, opts->resolve);
        if (!c->resolve) {
            rsp_es9p_client_free(c);
            return RSP_ENOMEM;
        }
    }
    if (opts->connect_to) {
        c->connect_to = curl_slist_append(NULL, opts->connect_to);
        if (!c->connect_to) {
            rsp_es9p_client_free(c);
            return RSP_ENOMEM;
        }
    }
    if (!c->h || !c->headers) {
        rsp_es9p_client_free(c);
        return RSP_ENOMEM;
    }
    *out = c;
    return 0;
}

long rsp_es9p_client_connections(const struct rsp_es9p_client *c)
{
    return c ? c->connections : 0;
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    struct rsp_buf *b = ud;
    size_t n = size * nmemb;
    if (b->len + n > 16u * 1024 * 1024) /* a BPP is far below this */
        return 0;
    return rsp_buf_append(b, p, n) == 0 ? n : 0;
}

static void set_options(struct rsp_es9p_client *c, const char *url, const char *body,
                        size_t body_len, struct rsp_buf *resp, char *errbuf)
{
    CURL *h = c->h;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT,
                     "rspkit-lpa/"
                     "0.1");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, c->o.plain_http ? "http" : "https");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     c->o.connect_timeout_ms ? c->o.connect_timeout_ms : 10000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->o.timeout_ms ? c->o.timeout_ms : 60000L);
    if (c->resolve)
        curl_easy_setopt(h, CURLOPT_RESOLVE, c->resolve);
    if (c->connect_to)
        curl_easy_setopt(h, CURLOPT_CONNECT_TO, c->connect_to);
    /* Trust: only the configured RSP CIs; CAPATH is set explicitly so that no compiled-in
     * system directory is consulted. */
    curl_easy_setopt(h, CURLOPT_CAINFO, c->o.ca_file);
    curl_easy_setopt(h, CURLOPT_CAPATH, c->o.ca_path);
    curl_easy_setopt(h, CURLOPT_SSL_OPTIONS, 0L);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->o.insecure_tls ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->o.insecure_tls ? 0L : 2L);
    curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, c->o.insecure_tls ? NULL : c->o.pinned_pubkey);
}

static void classify_tls(struct rsp_es9p_outcome *oc, CURLcode cc, const char *errbuf)
{
    long v = oc->verify_result;
    oc->kind = RSP_ES9P_TLS_ERROR;
    if (cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH) {
        oc->tls = RSP_ES9P_TLS_PIN_MISMATCH;
        snprintf(oc->message, sizeof oc->message,
                 "TLS: the server's public key does not match the pinned key");
        return;
    }
    if (v == X509_V_ERR_CERT_HAS_EXPIRED || v == X509_V_ERR_CERT_NOT_YET_VALID) {
        oc->tls = RSP_ES9P_TLS_EXPIRED;
        snprintf(oc->message, sizeof oc->message,
                 "TLS: the SM-DP+ certificate chain is %s (check the clock and the server "
                 "certificate)",
                 v == X509_V_ERR_CERT_HAS_EXPIRED ? "expired" : "not yet valid");
        return;
    }
    if (v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
        v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT || v == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
        v == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
        v == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE || v == X509_V_ERR_CERT_SIGNATURE_FAILURE) {
        oc->tls = RSP_ES9P_TLS_UNKNOWN_CA;
        snprintf(oc->message, sizeof oc->message,
                 "TLS: the SM-DP+ certificate is not issued by a configured RSP CI (%s)",
                 X509_verify_cert_error_string(v));
        return;
    }
    if (v == X509_V_ERR_HOSTNAME_MISMATCH ||
        (cc == CURLE_PEER_FAILED_VERIFICATION && (v == X509_V_OK || v == X509_V_ERR_UNSPECIFIED) &&
         (strstr(errbuf, "host name") || strstr(errbuf, "hostname") ||
          strstr(errbuf, "subject name")))) {
        /* curl checks the host name itself after the chain verified: the verify result then says
         * nothing specific and only its error text tells the cause */
        oc->tls = RSP_ES9P_TLS_HOST_MISMATCH;
        snprintf(oc->message, sizeof oc->message,
                 "TLS: the SM-DP+ certificate does not name this host (%.180s)", errbuf);
        return;
    }
    oc->tls = RSP_ES9P_TLS_OTHER;
    if (v != X509_V_OK)
        snprintf(oc->message, sizeof oc->message, "TLS: %s", X509_verify_cert_error_string(v));
    else
        snprintf(oc->message, sizeof oc->message, "TLS: %.200s",
                 errbuf[0] ? errbuf : curl_easy_strerror(cc));
}

static bool is_tls_code(CURLcode cc)
{
    return cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_PEER_FAILED_VERIFICATION ||
           cc == CURLE_SSL_CERTPROBLEM || cc == CURLE_SSL_CIPHER ||
           cc == CURLE_SSL_CACERT_BADFILE || cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH ||
           cc == CURLE_SSL_ISSUER_ERROR || cc == CURLE_SSL_INVALIDCERTSTATUS ||
           cc == CURLE_USE_SSL_FAILED;
}

/* A connection cut during the TLS handshake (reset, EOF) is a network failure, not a TLS one:
 * nothing was wrong with the certificates, and a retry may well succeed. */
static bool dropped_in_handshake(CURLcode cc, long verify, const char *errbuf)
{
    /* before the peer's certificate was checked the verify result is OK or "unspecified" */
    if (cc != CURLE_SSL_CONNECT_ERROR || (verify != X509_V_OK && verify != X509_V_ERR_UNSPECIFIED))
        return false;
    return strstr(errbuf, "SSL_ERROR_SYSCALL") || strstr(errbuf, "reset by peer") ||
           strstr(errbuf, "unexpected eof") || strstr(errbuf, "EOF");
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int rsp_es9p_post(struct rsp_es9p_client *c, const char *host, const char *fn, const char *body,
                  size_t body_len, struct rsp_buf *resp_body, struct rsp_es9p_outcome *oc)
{
    if (!c || !host || !fn || !body || !resp_body || !oc)
        return RSP_EINVAL;
    memset(oc, 0, sizeof *oc);
    if (!*host || strpbrk(host, "/?#@ \t\r\n") || !*fn || strpbrk(fn, "/?#"))
        return RSP_EINVAL;
    char url[512];
    if (snprintf(url, sizeof url, "%s://%s" RSP_ES9P_PATH_PREFIX "%s",
                 c->o.plain_http ? "http" : "https", host, fn) >= (int)sizeof url)
        return RSP_EINVAL;
    unsigned delay = c->o.retry_delay_ms ? c->o.retry_delay_ms : 1000;
    CURLcode cc = CURLE_OK;
    char errbuf[CURL_ERROR_SIZE];
    for (unsigned attempt = 0;; attempt++) {
        rsp_buf_reset(resp_body);
        errbuf[0] = 0;
        set_options(c, url, body, body_len, resp_body, errbuf);
        cc = curl_easy_perform(c->h);
        oc->attempts = attempt + 1;
        oc->curl_code = (int)cc;
        long nconn = 0, verify = 0;
        curl_easy_getinfo(c->h, CURLINFO_NUM_CONNECTS, &nconn);
        curl_easy_getinfo(c->h, CURLINFO_SSL_VERIFYRESULT, &verify);
        c->connections += nconn;
        oc->verify_result = verify;
        if (cc == CURLE_OK)
            break;
        if (resp_body->err)
            return resp_body->err;
        if (is_tls_code(cc) && !dropped_in_handshake(cc, verify, errbuf)) {
            classify_tls(oc, cc, errbuf);
            return RSP_EIO;
        }
        oc->kind = RSP_ES9P_NETWORK_ERROR;
        oc->retryable = true;
        snprintf(oc->message, sizeof oc->message, "network: %.200s",
                 errbuf[0] ? errbuf : curl_easy_strerror(cc));
        if (attempt >= c->o.retries)
            return RSP_EIO;
        sleep_ms(delay);
        delay = delay > 30000 ? 60000 : delay * 2;
    }
    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &oc->http_status);
    if (rsp_buf_append_byte(resp_body, 0) != 0)
        return RSP_ENOMEM;
    resp_body->len--;
    if (oc->http_status == 204) {
        oc->kind = RSP_ES9P_OK;
        snprintf(oc->message, sizeof oc->message, "no content");
        return 0;
    }
    /* A JSON envelope says more than the status line, whatever the HTTP status. */
    int hrc = rsp_es_decode_header((const char *)resp_body->data, resp_body->len, &oc->status);
    if (hrc == 0 && (oc->status.status == RSP_ES_FAILED || oc->status.status == RSP_ES_EXPIRED)) {
        oc->kind = RSP_ES9P_REFUSED;
        if (oc->status.has_code)
            snprintf(oc->message, sizeof oc->message, "%s: subject %s reason %s: %s",
                     rsp_es_status_name(oc->status.status), oc->status.code.subject,
                     oc->status.code.reason, oc->status.code.message);
        else
            snprintf(oc->message, sizeof oc->message, "%s without a status code",
                     rsp_es_status_name(oc->status.status));
        return 0;
    }
    if (oc->http_status != 200) {
        oc->kind = RSP_ES9P_HTTP_ERROR;
        snprintf(oc->message, sizeof oc->message, "HTTP %ld%s", oc->http_status,
                 hrc == 0 ? "" : " with a body that is not an ES9+ JSON envelope");
        return 0;
    }
    if (hrc != 0) {
        oc->kind = RSP_ES9P_BAD_BODY;
        snprintf(oc->message, sizeof oc->message,
                 "HTTP 200 with a body that is not an ES9+ JSON envelope (%s)", rsp_strerror(hrc));
        return 0;
    }
    oc->kind = RSP_ES9P_OK;
    snprintf(oc->message, sizeof oc->message, "%s", rsp_es_status_name(oc->status.status));
    return 0;
}

int rsp_es9p_call(struct rsp_es9p_client *c, const char *host, const struct rsp_es9_request *req,
                  struct rsp_es9_response *resp, struct rsp_es9p_outcome *oc)
{
    if (!c || !host || !req || !resp || !oc)
        return RSP_EINVAL;
    memset(resp, 0, sizeof *resp);
    resp->fn = req->fn;
    memset(oc, 0, sizeof *oc);
    const char *fn = rsp_es9_function_name(req->fn);
    if (!fn)
        return RSP_EINVAL;
    struct rsp_buf body = RSP_BUF_INIT, answer = RSP_BUF_INIT;
    int rc = rsp_es9_encode_request(req, &body);
    if (rc == 0)
        rc = rsp_buf_append_byte(&body, 0);
    if (rc == 0)
        rc = rsp_es9p_post(c, host, fn, (const char *)body.data, body.len - 1, &answer, oc);
    if (rc == 0) {
        switch (oc->kind) {
        case RSP_ES9P_OK:
            if (oc->http_status == 204 && req->fn != RSP_ES9_HANDLE_NOTIFICATION) {
                oc->kind = RSP_ES9P_BAD_BODY;
                snprintf(oc->message, sizeof oc->message, "HTTP 204 where %s expects a body", fn);
                rc = RSP_ESYNTAX;
                break;
            }
            rc = rsp_es9_decode_response(req->fn, (const char *)answer.data,
                                         oc->http_status == 204 ? 0 : answer.len, resp);
            if (rc != 0) {
                oc->kind = RSP_ES9P_BAD_BODY;
                snprintf(oc->message, sizeof oc->message, "%s response: %s", fn, rsp_strerror(rc));
                rc = RSP_ESYNTAX;
            }
            break;
        case RSP_ES9P_REFUSED:
            resp->status = oc->status;
            rc = RSP_ESTATE;
            break;
        case RSP_ES9P_BAD_BODY:
            rc = RSP_ESYNTAX;
            break;
        default:
            rc = RSP_EIO;
            break;
        }
    }
    rsp_buf_free(&body);
    rsp_buf_free(&answer);
    return rc;
}
