/* End to end over real HTTPS on loopback: the ES9+ handlers behind the HTTP server (the same
 * adapter rsp-smdp routes to) with the DPtls chain from rsp_pki_generate, libcurl as the LPA's
 * transport, and the in-process software eUICC as the device. */
#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "es9p_fx.h"
#include "rsp/err.h"
#include "rsp/http_server.h"

struct lpa {
    char base[256];
    char resolve[160];
    char ca[512];
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct rsp_buf *b = ud;
    return rsp_buf_append(b, p, sz * n) == 0 ? sz * n : 0;
}

/* POSTs the JSON with the LPA headers; the transactionId goes in lower-case hex (the SM-DP+
 * compares it case-insensitively). */
static int curl_post(void *ctx, const char *name, const struct rsp_buf *json, struct rsp_buf *body)
{
    const struct lpa *l = ctx;
    struct rsp_buf req = RSP_BUF_INIT;
    assert_int_equal(rsp_buf_set(&req, json->data, json->len), 0);
    assert_int_equal(rsp_buf_append_byte(&req, 0), 0);
    char *t = strstr((char *)req.data, "\"transactionId\":\"");
    if (t)
        for (t += 17; *t && *t != '"'; t++)
            *t = (char)tolower((unsigned char)*t);
    char url[512];
    snprintf(url, sizeof url, "%s/%s", l->base, name);
    CURL *h = curl_easy_init();
    assert_non_null(h);
    struct curl_slist *hdrs = NULL, *res = NULL;
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "X-Admin-Protocol: gsma/rsp/v2.2.0");
    hdrs = curl_slist_append(hdrs, "User-Agent: gsma-rsp-lpad");
    res = curl_slist_append(res, l->resolve);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_RESOLVE, res);
    curl_easy_setopt(h, CURLOPT_CAINFO, l->ca);
    curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)req.data);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(req.len - 1));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    rsp_buf_reset(body);
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK)
        fail_msg("%s: %s", name, curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_slist_free_all(res);
    curl_easy_cleanup(h);
    rsp_buf_free(&req);
    return (int)status;
}

static void write_file(const char *path, const struct rsp_buf *b)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
    fclose(f);
}

static int open_store(void *path, struct rsp_store **out)
{
    return rsp_store_sqlite_open(path, out);
}

static void test_https_download(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 0);
    const struct rsp_pki_set *ps = &fx_pki()->set[0];
    const struct rsp_pki_item *tls = &ps->item[RSP_PKI_DPTLS], *root = &ps->item[RSP_PKI_CI];
    struct rsp_buf chain = RSP_BUF_INIT, ci = RSP_BUF_INIT;
    assert_int_equal(rsp_pki_cert_pem(tls->cert_der.data, tls->cert_der.len, &chain), 0);
    assert_int_equal(rsp_pki_cert_pem(root->cert_der.data, root->cert_der.len, &chain), 0);
    assert_int_equal(rsp_pki_cert_pem(root->cert_der.data, root->cert_der.len, &ci), 0);
    char chain_path[512], key_path[512];
    struct lpa l;
    snprintf(chain_path, sizeof chain_path, "%s/es9p-dptls.chain.pem", tu_tmpdir());
    snprintf(key_path, sizeof key_path, "%s/es9p-dptls.key.pem", tu_tmpdir());
    snprintf(l.ca, sizeof l.ca, "%s/es9p-ci.pem", tu_tmpdir());
    write_file(chain_path, &chain);
    write_file(key_path, &tls->key_pem);
    write_file(l.ca, &ci);

    struct rsp_store_pool *pool = NULL;
    assert_int_equal(rsp_store_pool_create(open_store, f.db, &pool), 0);
    struct rsp_es9p_http h = {&f.cfg, pool};
    static const char *const names[] = {"initiateAuthentication", "authenticateClient",
                                        "getBoundProfilePackage", "handleNotification",
                                        "cancelSession"};
    char paths[5][96];
    struct rsp_http_route routes[5];
    for (size_t i = 0; i < 5; i++) {
        snprintf(paths[i], sizeof paths[i], "%s%s", RSP_ES9P_PATH_PREFIX, names[i]);
        routes[i] = (struct rsp_http_route){paths[i], names[i], rsp_es9p_http_handler, &h};
    }
    struct rsp_http_config hc;
    memset(&hc, 0, sizeof hc);
    hc.bind_addr = "127.0.0.1";
    hc.threads = 2;
    hc.tls_chain_file = chain_path;
    hc.tls_key_file = key_path;
    FILE *log = tmpfile();
    assert_non_null(log);
    hc.log = log;
    struct rsp_http_server *srv = NULL;
    assert_int_equal(rsp_http_server_start(&hc, routes, 5, &srv), 0);
    uint16_t port = rsp_http_server_port(srv);
    snprintf(l.base, sizeof l.base, "https://%s:%u/gsma/rsp2/es9plus", FX_SMDP_ADDR,
             (unsigned)port);
    snprintf(l.resolve, sizeof l.resolve, "%s:%u:127.0.0.1", FX_SMDP_ADDR, (unsigned)port);
    f.post = curl_post;
    f.post_ctx = &l;

    /* a refusal travels as a JSON failure with its code */
    ef_initiate(&f, NULL);
    struct rsp_tid good = f.tid;
    f.tid.b[0] ^= 0x5A;
    ef_authenticate(&f, EF_MID, "8.10.1/3.9");
    f.tid = good;
    /* the whole download */
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    ef_prepare_and_get(&f, NULL, NULL);
    ef_install(&f);
    ef_notify(&f);
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_INSTALLED);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_FINISHED);

    rsp_http_server_stop(srv, 5000);
    /* request log: the transactionId (hex) on every ES9+ line but handleNotification's; no EID,
     * no key material, no bodies */
    char want[33], line[1024];
    rsp_tid_to_hex(&f.tid, want);
    size_t with_tid = 0, lines = 0;
    rewind(log);
    while (fgets(line, sizeof line, log)) {
        lines++;
        assert_null(strstr(line, RSP_PKI_DEFAULT_EID));
        assert_null(strstr(line, "PRIVATE"));
        assert_null(strstr(line, "boundProfilePackage"));
        if (strstr(line, "handleNotification")) {
            assert_null(strstr(line, "transactionId"));
            continue;
        }
        assert_non_null(strstr(line, "\"transactionId\":\""));
        if (strstr(line, want))
            with_tid++;
    }
    assert_int_equal(lines, 6);
    assert_int_equal(with_tid, 3); /* initiate, authenticate, getBoundProfilePackage */
    fclose(log);
    rsp_store_pool_destroy(pool);
    unlink(chain_path);
    unlink(key_path);
    unlink(l.ca);
    rsp_buf_free(&chain);
    rsp_buf_free(&ci);
    ef_close(&f);
}

static int teardown_all(void **state)
{
    (void)state;
    fx_pki_free();
    return 0;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_https_download)};
    int rc = cmocka_run_group_tests(tests, NULL, teardown_all);
    curl_global_cleanup();
    return rc;
}
