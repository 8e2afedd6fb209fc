/* HTTP server adapter: a real server on 127.0.0.1 (ephemeral port) and libcurl as the client,
 * over plain HTTP and over HTTPS with a DPtls chain from rsp_pki_generate. */
#include "testutil.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rsp/err.h"
#include "rsp/es9p_json.h"
#include "rsp/http_server.h"
#include "rsp/pki.h"

/* ---- handlers ---- */

static int h_echo(void *ctx, const struct rsp_http_request *req, struct rsp_http_response *resp)
{
    (void)ctx;
    char tmp[64];
    snprintf(tmp, sizeof tmp, "{\"len\":%zu}", req->body_len);
    rsp_buf_set(&resp->body, tmp, strlen(tmp));
    snprintf(resp->log_tid, sizeof resp->log_tid, "D0A9");
    snprintf(resp->log_outcome, sizeof resp->log_outcome, "Executed-Success");
    rsp_http_log_subject(resp, "p:abcdefghijklmnopqrstuv23");
    return 0;
}

static int h_fail(void *ctx, const struct rsp_http_request *req, struct rsp_http_response *resp)
{
    (void)ctx;
    (void)req;
    rsp_buf_set(&resp->body, "partial", 7); /* must be discarded */
    return RSP_EIO;
}

static int h_notify(void *ctx, const struct rsp_http_request *req, struct rsp_http_response *resp)
{
    (void)ctx;
    (void)req;
    resp->status = 204;
    return 0;
}

struct slow {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered;
};

static int h_slow(void *ctx, const struct rsp_http_request *req, struct rsp_http_response *resp)
{
    struct slow *s = ctx;
    (void)req;
    pthread_mutex_lock(&s->mu);
    s->entered = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    usleep(400 * 1000); /* still running when the stop begins */
    rsp_buf_set(&resp->body, "{\"slow\":true}", 13);
    return 0;
}

static struct slow g_slow = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

static const struct rsp_http_route routes[] = {
    {"/gsma/rsp2/es9plus/echo", "echo", h_echo, NULL},
    {"/fail", "fail", h_fail, NULL},
    {"/notify", "notify", h_notify, NULL},
    {"/slow", "slow", h_slow, &g_slow},
};
#define NROUTES (sizeof routes / sizeof routes[0])

/* ---- client ---- */

struct reply {
    long status;
    struct rsp_buf body;
    char content_type[128];
    char admin_protocol[64];
    CURLcode rc;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    rsp_buf_append(&((struct reply *)ud)->body, p, sz * n);
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct reply *r = ud;
    size_t len = sz * n;
    static const char xa[] = "X-Admin-Protocol: ";
    if (len > sizeof xa && strncasecmp(p, xa, sizeof xa - 1) == 0)
        snprintf(r->admin_protocol, sizeof r->admin_protocol, "%.*s",
                 (int)(len - (sizeof xa - 1) - 2), p + sizeof xa - 1);
    return len;
}

struct call {
    const char *method; /* "POST" or "GET" */
    const char *url;
    const char *content_type; /* NULL: none */
    const char *admin_protocol;
    const void *body;
    size_t body_len;
    const char *ca_file; /* HTTPS: trust anchor */
    const char *resolve; /* "host:port:127.0.0.1" */
    long max_tls;        /* 0 or CURL_SSLVERSION_MAX_TLSv1_2 */
    int chunked;         /* send the body chunked (no Content-Length) */
};

static void do_call(const struct call *c, struct reply *r)
{
    memset(r, 0, sizeof *r);
    rsp_buf_init(&r->body);
    CURL *h = curl_easy_init();
    assert_non_null(h);
    struct curl_slist *hdrs = NULL, *res = NULL;
    char line[256];
    if (c->content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", c->content_type);
        hdrs = curl_slist_append(hdrs, line);
    } else {
        hdrs = curl_slist_append(hdrs, "Content-Type:");
    }
    if (c->admin_protocol) {
        snprintf(line, sizeof line, "X-Admin-Protocol: %s", c->admin_protocol);
        hdrs = curl_slist_append(hdrs, line);
    }
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (c->chunked)
        hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (strcmp(c->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body ? c->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)c->body_len);
    }
    if (c->ca_file) {
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
        curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    }
    if (c->max_tls)
        curl_easy_setopt(h, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2 | c->max_tls);
    if (c->resolve) {
        res = curl_slist_append(res, c->resolve);
        curl_easy_setopt(h, CURLOPT_RESOLVE, res);
    }
    r->rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    char *ct = NULL;
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
    if (ct)
        snprintf(r->content_type, sizeof r->content_type, "%s", ct);
    curl_slist_free_all(hdrs);
    curl_slist_free_all(res);
    curl_easy_cleanup(h);
    rsp_buf_append_byte(&r->body, 0);
    r->body.len--;
}

static struct rsp_http_server *start_plain(size_t body_limit, FILE *log)
{
    struct rsp_http_config cfg = {0};
    cfg.bind_addr = "127.0.0.1";
    cfg.plain_http = true;
    cfg.threads = 2;
    cfg.body_limit = body_limit;
    cfg.log = log;
    struct rsp_http_server *s = NULL;
    assert_int_equal(rsp_http_server_start(&cfg, routes, NROUTES, &s), 0);
    assert_true(rsp_http_server_port(s) > 0);
    return s;
}

static void url_for(char *out, size_t cap, const char *scheme, const char *host, uint16_t port,
                    const char *path)
{
    snprintf(out, cap, "%s://%s:%u%s", scheme, host, (unsigned)port, path);
}

static void assert_failure_body(const struct reply *r, const char *subject, const char *reason)
{
    struct rsp_es_exec_status st;
    assert_int_equal(rsp_es_decode_header((const char *)r->body.data, r->body.len, &st), 0);
    assert_int_equal(st.status, RSP_ES_FAILED);
    assert_string_equal(st.code.subject, subject);
    assert_string_equal(st.code.reason, reason);
    assert_non_null(strstr(r->content_type, "application/json"));
}

/* branch faults: per-source rate limit -> HTTP 429 before the route runs, logged */
static void test_rate_limit_source(void **state)
{
    (void)state;
    FILE *log = tmpfile();
    assert_non_null(log);
    struct rsp_ratelimit *rl = NULL;
    assert_int_equal(rsp_ratelimit_new(1, 2, 16, &rl), 0); /* burst 2, then one a minute */
    struct rsp_http_config cfg = {0};
    cfg.bind_addr = "127.0.0.1";
    cfg.plain_http = true;
    cfg.threads = 2;
    cfg.log = log;
    cfg.per_source = rl;
    struct rsp_http_server *s = NULL;
    assert_int_equal(rsp_http_server_start(&cfg, routes, NROUTES, &s), 0);
    char url[256];
    url_for(url, sizeof url, "http", "127.0.0.1", rsp_http_server_port(s),
            "/gsma/rsp2/es9plus/echo");
    struct call c = {"POST", url, "application/json", "gsma/rsp/v2.5.0", "{\"a\":1}", 7, NULL, NULL,
                     0,      0};
    struct reply r;
    for (int i = 0; i < 2; i++) {
        do_call(&c, &r);
        assert_int_equal(r.status, 200);
        rsp_buf_free(&r.body);
    }
    do_call(&c, &r);
    assert_int_equal(r.status, 429);
    rsp_buf_free(&r.body);
    rsp_http_server_stop(s, 1000);
    rsp_ratelimit_free(rl);
    /* the refusal is in the request log */
    rewind(log);
    char line[1024];
    bool seen = false;
    while (fgets(line, sizeof line, log))
        seen = seen || (strstr(line, "\"status\":429") && strstr(line, "rate limited (source)"));
    assert_true(seen);
    fclose(log);
}

static void test_plain_routes(void **state)
{
    (void)state;
    FILE *log = tmpfile();
    assert_non_null(log);
    struct rsp_http_server *s = start_plain(1024, log);
    uint16_t port = rsp_http_server_port(s);
    char url[256];
    struct reply r;

    url_for(url, sizeof url, "http", "127.0.0.1", port, "/gsma/rsp2/es9plus/echo");
    struct call c = {"POST", url, "application/json", "gsma/rsp/v2.5.0", "{\"a\":1}", 7, NULL, NULL,
                     0,      0};
    do_call(&c, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal((const char *)r.body.data, "{\"len\":7}");
    assert_string_equal(r.content_type, "application/json;charset=UTF-8");
    assert_string_equal(r.admin_protocol, RSP_ADMIN_PROTOCOL);
    rsp_buf_free(&r.body);

    /* GET -> 405 as JSON */
    c.method = "GET";
    do_call(&c, &r);
    assert_int_equal(r.status, 405);
    assert_failure_body(&r, "1.3.1", "3.1");
    rsp_buf_free(&r.body);
    c.method = "POST";

    /* Body over the limit -> 413 as JSON (announced by Content-Length) */
    char *big = malloc(4096);
    memset(big, 'x', 4096);
    c.body = big;
    c.body_len = 4096;
    do_call(&c, &r);
    assert_int_equal(r.status, 413);
    assert_failure_body(&r, "1.3.1", "2.1");
    rsp_buf_free(&r.body);
    /* ... and when it only shows while streaming (chunked, no Content-Length) */
    c.chunked = 1;
    do_call(&c, &r);
    assert_int_equal(r.status, 413);
    assert_failure_body(&r, "1.3.1", "2.1");
    rsp_buf_free(&r.body);
    /* a chunked body under the limit is served */
    c.body_len = 1000;
    do_call(&c, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal((const char *)r.body.data, "{\"len\":1000}");
    rsp_buf_free(&r.body);
    c.chunked = 0;
    free(big);

    /* Wrong Content-Type, missing Content-Type, bad X-Admin-Protocol -> JSON refusals */
    c.body = "{}";
    c.body_len = 2;
    c.content_type = "text/plain";
    do_call(&c, &r);
    assert_int_equal(r.status, 200);
    assert_failure_body(&r, "1.2.1", "2.1");
    rsp_buf_free(&r.body);
    c.content_type = NULL;
    do_call(&c, &r);
    assert_failure_body(&r, "1.2.1", "2.1");
    rsp_buf_free(&r.body);
    c.content_type = "application/json";
    c.admin_protocol = "http/1.1";
    do_call(&c, &r);
    assert_failure_body(&r, "1.2.2", "2.1");
    rsp_buf_free(&r.body);
    c.admin_protocol = NULL; /* absent is fine */
    do_call(&c, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal((const char *)r.body.data, "{\"len\":2}");
    rsp_buf_free(&r.body);

    /* Unknown path -> 404 JSON; handler error -> 500 JSON; 204 without a body */
    url_for(url, sizeof url, "http", "127.0.0.1", port, "/gsma/rsp2/es9plus/nothing");
    do_call(&c, &r);
    assert_int_equal(r.status, 404);
    assert_failure_body(&r, "1.6", "3.9");
    rsp_buf_free(&r.body);
    url_for(url, sizeof url, "http", "127.0.0.1", port, "/fail");
    do_call(&c, &r);
    assert_int_equal(r.status, 500);
    assert_failure_body(&r, "1.2", "4.2");
    rsp_buf_free(&r.body);
    url_for(url, sizeof url, "http", "127.0.0.1", port, "/notify");
    do_call(&c, &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body.len, 0);
    rsp_buf_free(&r.body);

    rsp_http_server_stop(s, 1000);

    /* One JSON line per request (10 requests), with the fields the handler gave. */
    rewind(log);
    char line[1024];
    int n = 0, echo_seen = 0;
    while (fgets(line, sizeof line, log)) {
        json_error_t e;
        json_t *j = json_loads(line, 0, &e);
        if (!j)
            fail_msg("log line is not JSON: %s", line);
        assert_non_null(json_object_get(j, "ms"));
        assert_non_null(json_object_get(j, "status"));
        if (json_integer_value(json_object_get(j, "status")) == 200 &&
            strcmp(json_string_value(json_object_get(j, "outcome")), "Executed-Success") == 0) {
            assert_string_equal(json_string_value(json_object_get(j, "function")), "echo");
            assert_string_equal(json_string_value(json_object_get(j, "transactionId")), "D0A9");
            assert_string_equal(json_string_value(json_object_get(j, "eid")),
                                "p:abcdefghijklmnopqrstuv23");
            echo_seen++;
        }
        json_decref(j);
        n++;
    }
    assert_int_equal(n, 12);
    assert_int_equal(echo_seen, 3);
    fclose(log);
}

/* The log's "eid" field takes pseudonyms only: a raw EID (or a prefix of one) never gets in. */
static void test_log_subject(void **state)
{
    (void)state;
    struct rsp_http_response r;
    memset(&r, 0, sizeof r);
    rsp_http_log_subject(&r, "p:abcdefghijklmnopqrstuv23");
    assert_string_equal(r.log_subject, "p:abcdefghijklmnopqrstuv23");
    static const char *const refused[] = {
        "89049032123451234512345678901235", "89049032", "p:8904903212345123", "p:", "", NULL};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        rsp_http_log_subject(&r, refused[i]);
        assert_string_equal(r.log_subject, "");
    }
}

static void test_config_refused(void **state)
{
    (void)state;
    struct rsp_http_config cfg = {0};
    struct rsp_http_server *s = NULL;
    /* TLS is the default: no files, no plain_http -> refused */
    assert_int_equal(rsp_http_server_start(&cfg, routes, NROUTES, &s), RSP_EINVAL);
    cfg.plain_http = true;
    cfg.bind_addr = "localhost"; /* numeric only */
    assert_int_equal(rsp_http_server_start(&cfg, routes, NROUTES, &s), RSP_EINVAL);
    cfg.plain_http = false;
    cfg.bind_addr = "127.0.0.1";
    cfg.tls_chain_file = "/nonexistent/chain.pem";
    cfg.tls_key_file = "/nonexistent/key.pem";
    assert_int_equal(rsp_http_server_start(&cfg, routes, NROUTES, &s), RSP_EIO);
    assert_null(s);

    /* A key GnuTLS cannot use: refused, and the reason reaches the error log as JSON. */
    char chain[512], key[512];
    snprintf(chain, sizeof chain, "%s/junk-chain.pem", tu_tmpdir());
    snprintf(key, sizeof key, "%s/junk-key.pem", tu_tmpdir());
    FILE *f = fopen(chain, "w");
    assert_non_null(f);
    fputs("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", f);
    fclose(f);
    f = fopen(key, "w");
    assert_non_null(f);
    fputs("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", f);
    fclose(f);
    cfg.tls_chain_file = chain;
    cfg.tls_key_file = key;
    FILE *errlog = tmpfile();
    assert_non_null(errlog);
    cfg.error_log = errlog;
    assert_int_equal(rsp_http_server_start(&cfg, routes, NROUTES, &s), RSP_EIO);
    rewind(errlog);
    char line[1024];
    int lines = 0;
    while (fgets(line, sizeof line, errlog)) {
        json_error_t e;
        json_t *j = json_loads(line, 0, &e);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "event")), "http-server");
        json_decref(j);
        lines++;
    }
    assert_true(lines >= 1);
    fclose(errlog);
}

/* ---- HTTPS ---- */

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void test_https(void **state)
{
    (void)state;
    struct rsp_pki_opts o;
    struct rsp_pki pki;
    rsp_pki_opts_default(&o);
    o.curves = RSP_PKI_NIST;
    assert_int_equal(rsp_pki_generate(&o, &pki), 0);
    const struct rsp_pki_set *set = &pki.set[0];
    struct rsp_buf chain = RSP_BUF_INIT, ci = RSP_BUF_INIT;
    const struct rsp_pki_item *tls = &set->item[RSP_PKI_DPTLS], *root = &set->item[RSP_PKI_CI];
    assert_int_equal(rsp_pki_cert_pem(tls->cert_der.data, tls->cert_der.len, &chain), 0);
    assert_int_equal(rsp_pki_cert_pem(root->cert_der.data, root->cert_der.len, &chain), 0);
    assert_int_equal(rsp_pki_cert_pem(root->cert_der.data, root->cert_der.len, &ci), 0);
    char chain_path[512], key_path[512], ci_path[512], other_ci_path[512];
    snprintf(chain_path, sizeof chain_path, "%s/dptls.chain.pem", tu_tmpdir());
    snprintf(key_path, sizeof key_path, "%s/dptls.key.pem", tu_tmpdir());
    snprintf(ci_path, sizeof ci_path, "%s/ci.pem", tu_tmpdir());
    snprintf(other_ci_path, sizeof other_ci_path, "%s/other-ci.pem", tu_tmpdir());
    write_file(chain_path, chain.data, chain.len);
    write_file(key_path, tls->key_pem.data, tls->key_pem.len);
    write_file(ci_path, ci.data, ci.len);

    struct rsp_http_config cfg = {0};
    cfg.bind_addr = "127.0.0.1";
    cfg.threads = 2;
    cfg.tls_chain_file = chain_path;
    cfg.tls_key_file = key_path;
    struct rsp_http_server *s = NULL;
    assert_int_equal(rsp_http_server_start(&cfg, routes, NROUTES, &s), 0);
    uint16_t port = rsp_http_server_port(s);
    char url[256], resolve[128];
    url_for(url, sizeof url, "https", RSP_PKI_DEFAULT_SMDP_HOST, port, "/gsma/rsp2/es9plus/echo");
    snprintf(resolve, sizeof resolve, "%s:%u:127.0.0.1", RSP_PKI_DEFAULT_SMDP_HOST, (unsigned)port);
    struct reply r;
    struct call c = {"POST", url, "application/json", NULL, "{}", 2, ci_path, resolve, 0, 0};
    do_call(&c, &r);
    if (r.rc != CURLE_OK)
        fail_msg("HTTPS call failed: %s", curl_easy_strerror(r.rc));
    assert_int_equal(r.status, 200);
    assert_string_equal((const char *)r.body.data, "{\"len\":2}");
    rsp_buf_free(&r.body);

    /* TLS 1.2 only (ECDHE-ECDSA with AES-GCM) */
    c.max_tls = CURL_SSLVERSION_MAX_TLSv1_2;
    do_call(&c, &r);
    if (r.rc != CURLE_OK)
        fail_msg("TLS 1.2 call failed: %s", curl_easy_strerror(r.rc));
    assert_int_equal(r.status, 200);
    rsp_buf_free(&r.body);
    c.max_tls = 0;

    /* A client trusting another CI refuses the server. */
    struct rsp_pki other;
    assert_int_equal(rsp_pki_generate(&o, &other), 0);
    struct rsp_buf other_ci = RSP_BUF_INIT;
    const struct rsp_pki_item *oroot = &other.set[0].item[RSP_PKI_CI];
    assert_int_equal(rsp_pki_cert_pem(oroot->cert_der.data, oroot->cert_der.len, &other_ci), 0);
    write_file(other_ci_path, other_ci.data, other_ci.len);
    c.ca_file = other_ci_path;
    do_call(&c, &r);
    assert_int_not_equal(r.rc, CURLE_OK);
    rsp_buf_free(&r.body);

    /* Plain HTTP to the TLS port fails. */
    url_for(url, sizeof url, "http", "127.0.0.1", port, "/gsma/rsp2/es9plus/echo");
    c.url = url;
    c.ca_file = NULL;
    c.resolve = NULL;
    do_call(&c, &r);
    assert_true(r.rc != CURLE_OK || r.status != 200);
    rsp_buf_free(&r.body);

    rsp_http_server_stop(s, 1000);
    rsp_buf_free(&other_ci);
    rsp_pki_free(&other);
    rsp_buf_free(&chain);
    rsp_buf_free(&ci);
    rsp_pki_free(&pki);
}

/* ---- graceful shutdown ---- */

struct bg_call {
    struct call c;
    struct reply r;
};

static void *bg(void *arg)
{
    struct bg_call *b = arg;
    do_call(&b->c, &b->r);
    return NULL;
}

static void *late_bg(void *arg)
{
    usleep(100 * 1000); /* the stop is draining: the slow handler sleeps 400 ms */
    return bg(arg);
}

static void test_graceful_shutdown(void **state)
{
    (void)state;
    struct rsp_http_server *s = start_plain(1024, NULL);
    uint16_t port = rsp_http_server_port(s);
    char url[256];
    url_for(url, sizeof url, "http", "127.0.0.1", port, "/slow");
    struct bg_call b = {{"POST", url, "application/json", NULL, "{}", 2, NULL, NULL, 0, 0}, {0}};
    g_slow.entered = 0;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, bg, &b), 0);
    pthread_mutex_lock(&g_slow.mu);
    while (!g_slow.entered)
        pthread_cond_wait(&g_slow.cv, &g_slow.mu);
    pthread_mutex_unlock(&g_slow.mu);
    assert_int_equal(rsp_http_server_in_flight(s), 1);
    char late_url[256];
    url_for(late_url, sizeof late_url, "http", "127.0.0.1", port, "/gsma/rsp2/es9plus/echo");
    struct bg_call late = {{"POST", late_url, "application/json", NULL, "{}", 2, NULL, NULL, 0, 0},
                           {0}};
    pthread_t late_th;
    assert_int_equal(pthread_create(&late_th, NULL, late_bg, &late), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rsp_http_server_stop(s, 5000); /* the handler still sleeps */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(th, NULL);
    pthread_join(late_th, NULL);
    /* a connection attempted during the drain is refused, not queued */
    assert_int_equal(late.r.rc, CURLE_COULDNT_CONNECT);
    rsp_buf_free(&late.r.body);
    assert_int_equal(b.r.rc, CURLE_OK);
    assert_int_equal(b.r.status, 200);
    assert_string_equal((const char *)b.r.body.data, "{\"slow\":true}");
    rsp_buf_free(&b.r.body);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(waited < 4.0); /* it waited for the request, not for the grace period */

    /* after the stop nothing listens */
    struct reply r;
    url_for(url, sizeof url, "http", "127.0.0.1", port, "/gsma/rsp2/es9plus/echo");
    struct call c = {"POST", url, "application/json", NULL, "{}", 2, NULL, NULL, 0, 0};
    do_call(&c, &r);
    assert_int_equal(r.rc, CURLE_COULDNT_CONNECT);
    rsp_buf_free(&r.body);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_routes),      cmocka_unit_test(test_log_subject),
        cmocka_unit_test(test_config_refused),    cmocka_unit_test(test_https),
        cmocka_unit_test(test_graceful_shutdown), cmocka_unit_test(test_rate_limit_source),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
