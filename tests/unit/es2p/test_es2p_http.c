/* ES2+ over HTTP through the rsp-smdp process (its config, routing and notification worker):
 * DownloadOrder -> ConfirmOrder with a bearer token, authentication and isolation refusals, and a
 * HandleDownloadProgressInfo that survives the operator being down and an rsp-smdp restart.
 *   test_es2p_http RSP_SMDP */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "rsp/crypto.h"
#include "rsp/err.h"
#include "rsp/es2p.h"
#include "rsp/store.h"

#define EID1  "89049032123451234512345678901235"
#define ICC_A "8944000000000000011"
#define ICC_B "8944000000000000019"

static const char *smdp_exe;
static char dir[256], db[512], conf[512], errlog[512];
static unsigned short cb_port;

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static unsigned short closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void token_hash_hex(const char *tok, char hex[65])
{
    uint8_t h[32];
    assert_int_equal(rsp_sha256(tok, strlen(tok), h), 0);
    rsp_hex_str(hex, h, 32, 0);
}

/* ---- rsp-smdp process ---- */

static pid_t smdp_start(unsigned *port)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *e = freopen(errlog, "a", stderr);
        FILE *o = freopen(errlog, "a", stdout); /* the request log too: checked for secrets */
        (void)e;
        (void)o;
        execl(smdp_exe, smdp_exe, "-c", conf, (char *)NULL);
        _exit(127);
    }
    /* the port of the newest "listening" line */
    for (int i = 0; i < 100; i++) {
        sleep_ms(50);
        FILE *f = fopen(errlog, "r");
        if (!f)
            continue;
        char line[1024];
        unsigned p = 0;
        while (fgets(line, sizeof line, f)) {
            const char *k = strstr(line, "\"event\":\"listening\",\"detail\":\"127.0.0.1 port ");
            if (k)
                p = (unsigned)strtoul(
                    k + strlen("\"event\":\"listening\",\"detail\":\"127.0.0.1 port "), NULL, 10);
        }
        fclose(f);
        if (p) {
            *port = p;
            return pid;
        }
    }
    kill(pid, SIGKILL);
    fail_msg("rsp-smdp did not report its port");
    return -1;
}

static void smdp_stop(pid_t pid)
{
    assert_int_equal(kill(pid, SIGTERM), 0);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- HTTP client ---- */

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    struct rsp_buf *b = arg;
    return rsp_buf_append(b, p, size * n) == 0 ? size * n : 0;
}

/* POSTs body to the ES2+ function; returns the HTTP status, the body in *out (NUL-terminated). */
static long es2_post(unsigned port, const char *fn, const char *token, const char *body,
                     struct rsp_buf *out)
{
    char url[256], auth[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/gsma/rsp2/es2plus/%s", port, fn);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "X-Admin-Protocol: gsma/rsp/v2.2.0");
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    rsp_buf_reset(out);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    assert_int_equal(rsp_buf_append_byte(out, 0), 0);
    out->len--;
    return status;
}

static void assert_failed(const struct rsp_buf *b, const char *subject, const char *reason)
{
    struct rsp_es_exec_status st;
    assert_int_equal(rsp_es_decode_header((const char *)b->data, b->len, &st), 0);
    assert_int_equal(st.status, RSP_ES_FAILED);
    assert_string_equal(st.code.subject, subject);
    assert_string_equal(st.code.reason, reason);
}

/* ---- the operator's callback server ---- */

struct cb_server {
    pthread_mutex_t mu;
    unsigned hits;
    char body[4096];
    char content_type[64];
};

struct upload {
    struct rsp_buf b;
};

static enum MHD_Result cb_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **con_cls)
{
    (void)version;
    struct cb_server *s = cls;
    struct upload *u = *con_cls;
    if (!u) {
        u = calloc(1, sizeof *u);
        if (!u)
            return MHD_NO;
        *con_cls = u;
        return MHD_YES;
    }
    if (*size) {
        if (rsp_buf_append(&u->b, data, *size))
            return MHD_NO;
        *size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&s->mu);
    if (strcmp(method, "POST") == 0 && strcmp(url, "/hdpi") == 0) {
        s->hits++;
        size_t n = u->b.len < sizeof s->body - 1 ? u->b.len : sizeof s->body - 1;
        memcpy(s->body, u->b.data ? (const char *)u->b.data : "", n);
        s->body[n] = 0;
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        snprintf(s->content_type, sizeof s->content_type, "%s", ct ? ct : "");
    }
    pthread_mutex_unlock(&s->mu);
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_NO_CONTENT, r);
    MHD_destroy_response(r);
    return ret;
}

static void cb_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct upload *u = *con_cls;
    if (u) {
        rsp_buf_free(&u->b);
        free(u);
    }
    *con_cls = NULL;
}

static unsigned outbox_items(struct rsp_store *st, struct rsp_outbox_item *it)
{
    return rsp_store_outbox_next_due(st, INT64_MAX, it) == 0 ? 1 : 0;
}

static void test_es2p_over_http(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    snprintf(db, sizeof db, "%s/smdp.db", dir);
    snprintf(conf, sizeof conf, "%s/smdp.conf", dir);
    snprintf(errlog, sizeof errlog, "%s/smdp.err", dir);
    cb_port = closed_port(); /* the operator is down: nobody listens there yet */

    /* inventory: one profile per operator */
    struct rsp_store *st = NULL;
    assert_int_equal(rsp_store_sqlite_open(db, &st), 0);
    const char *iccids[2] = {ICC_A, ICC_B}, *owners[2] = {"opA", "opB"};
    for (int i = 0; i < 2; i++) {
        struct rsp_profile p;
        memset(&p, 0, sizeof p);
        snprintf(p.iccid, sizeof p.iccid, "%s", iccids[i]);
        snprintf(p.profile_type, sizeof p.profile_type, "type-%s", owners[i]);
        snprintf(p.owner, sizeof p.owner, "%s", owners[i]);
        p.pclass = RSP_PROFILE_CLASS_OPERATIONAL;
        p.state = RSP_PROFILE_AVAILABLE;
        assert_int_equal(rsp_store_profile_insert(st, &p, (const uint8_t *)"pkg", 3, "test"), 0);
    }

    char ha[65], hb[65], opa_line[512];
    token_hash_hex("secret-A", ha);
    token_hash_hex("secret-B", hb);
    snprintf(opa_line, sizeof opa_line, "opA token_sha256=%s callback_url=http://127.0.0.1:%u/hdpi",
             ha, (unsigned)cb_port);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f,
            "host = smdp.example.com\nlisten_address = 127.0.0.1\nport = 0\nplain_http = true\n"
            "db_path = %s\nthreads = 2\nsweep_interval = 1\nshutdown_grace = 2\n"
            "notify_base_delay = 1\nnotify_max_delay = 1\nnotify_poll_ms = 100\n"
            "notify_max_attempts = 50\noperator = %s\noperator = opB token_sha256=%s\n",
            db, opa_line, hb);
    fclose(f);

    unsigned port = 0;
    pid_t pid = smdp_start(&port);
    struct rsp_buf b = RSP_BUF_INIT;

    /* DownloadOrder by profile type with an EID */
    assert_int_equal(es2_post(port, "downloadOrder", "secret-A",
                              "{\"header\":{\"functionRequesterIdentifier\":\"opA\","
                              "\"functionCallIdentifier\":\"c1\"},\"profileType\":\"type-opA\","
                              "\"eid\":\"" EID1 "\"}",
                              &b),
                     200);
    struct rsp_es2_response resp;
    assert_int_equal(
        rsp_es2_decode_response(RSP_ES2_DOWNLOAD_ORDER, (const char *)b.data, b.len, &resp), 0);
    assert_int_equal(resp.status.status, RSP_ES_SUCCESS);
    assert_string_equal(resp.u.download_order.iccid, ICC_A);
    assert_non_null(strstr((const char *)b.data, "\"" ICC_A "F\"")); /* emitted with the F pad */

    /* refusals: wrong token, a token for another requester, another operator's ICCID */
#define CONFIRM                                                                                    \
    "{\"header\":{\"functionRequesterIdentifier\":\"%s\",\"functionCallIdentifier\":\"c2\"},"      \
    "\"iccid\":\"" ICC_A "\",\"confirmationCode\":\"4711\",\"releaseFlag\":true}"
    char body[512];
    snprintf(body, sizeof body, CONFIRM, "opA");
    assert_int_equal(es2_post(port, "confirmOrder", "wrong", body, &b), 200);
    assert_failed(&b, "1.1", "1.1");
    assert_int_equal(es2_post(port, "confirmOrder", NULL, body, &b), 200);
    assert_failed(&b, "1.1", "1.1");
    assert_int_equal(es2_post(port, "confirmOrder", "secret-B", body, &b), 200);
    assert_failed(&b, "1.1", "1.2");
    snprintf(body, sizeof body, CONFIRM, "opB");
    assert_int_equal(es2_post(port, "confirmOrder", "secret-B", body, &b), 200);
    assert_failed(&b, "8.2.1", "3.9");
    struct rsp_profile p;
    assert_int_equal(rsp_store_profile_get(st, ICC_A, &p), 0);
    assert_int_equal(p.state, RSP_PROFILE_LINKED);
    assert_false(p.cc_set);
    /* malformed JSON: 1.3.1/2.1 */
    assert_int_equal(es2_post(port, "confirmOrder", "secret-A", "{", &b), 200);
    assert_failed(&b, "1.3.1", "2.1");

    /* ConfirmOrder with releaseFlag: Released */
    snprintf(body, sizeof body, CONFIRM, "opA");
    assert_int_equal(es2_post(port, "confirmOrder", "secret-A", body, &b), 200);
    assert_int_equal(
        rsp_es2_decode_response(RSP_ES2_CONFIRM_ORDER, (const char *)b.data, b.len, &resp), 0);
    assert_int_equal(resp.status.status, RSP_ES_SUCCESS);
    assert_string_equal(resp.u.confirm_order.eid, EID1);
    assert_string_equal(resp.u.confirm_order.smdp_address, "smdp.example.com");
    assert_int_equal(strlen(resp.u.confirm_order.matching_id), 23);
    assert_int_equal(rsp_store_profile_get(st, ICC_A, &p), 0);
    assert_int_equal(p.state, RSP_PROFILE_RELEASED);
    assert_string_equal(p.matching_id, resp.u.confirm_order.matching_id);
    rsp_buf_free(&b);

    /* No secret in rsp-smdp's logs (request log and events) */
    {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "grep -q -e secret-A -e 4711 %s", errlog);
        assert_int_not_equal(system(cmd), 0);
    }

    /* A notification queued by the ES9+ side (same store) while the operator is down */
    struct rsp_es2p_operator opa;
    char err[200];
    assert_int_equal(rsp_es2p_operator_parse(opa_line, &opa, err, sizeof err), 0);
    struct rsp_es_exec_status ok = {RSP_ES_SUCCESS, false, {"", "", ""}, ""};
    assert_int_equal(rsp_es2p_notify_enqueue(st, &opa, "smdp.example.com", &p, 3, &ok, NULL, 0,
                                             (int64_t)time(NULL)),
                     0);
    struct rsp_outbox_item it;
    for (int i = 0; i < 100; i++) { /* wait for two failed attempts */
        sleep_ms(100);
        assert_int_equal(outbox_items(st, &it), 1);
        if (it.attempts >= 2)
            break;
    }
    assert_true(it.attempts >= 2);
    smdp_stop(pid); /* rsp-smdp goes down with the item pending */
    assert_int_equal(outbox_items(st, &it), 1);
    unsigned attempts_before = it.attempts;

    /* the operator comes back, then rsp-smdp restarts: the item arrives */
    struct cb_server cs;
    memset(&cs, 0, sizeof cs);
    pthread_mutex_init(&cs.mu, NULL);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(cb_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, cb_port, NULL, NULL,
                         cb_request, &cs, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a,
                         MHD_OPTION_NOTIFY_COMPLETED, cb_done, NULL, MHD_OPTION_END);
    assert_non_null(d);
    pid = smdp_start(&port);
    unsigned hits = 0;
    for (int i = 0; i < 100 && !hits; i++) {
        sleep_ms(100);
        pthread_mutex_lock(&cs.mu);
        hits = cs.hits;
        pthread_mutex_unlock(&cs.mu);
    }
    assert_int_equal(hits, 1);
    for (int i = 0; i < 50 && outbox_items(st, &it); i++)
        sleep_ms(50);
    assert_int_equal(outbox_items(st, &it), 0); /* delivered: removed */
    assert_true(attempts_before >= 2);
    assert_string_equal(cs.content_type, "application/json");
    struct rsp_es2_request hd;
    struct rsp_status_code sc;
    assert_int_equal(rsp_es2_decode_request(RSP_ES2_HANDLE_DOWNLOAD_PROGRESS_INFO, cs.body,
                                            strlen(cs.body), &hd, &sc),
                     0);
    assert_string_equal(hd.header.function_requester_identifier, "smdp.example.com");
    assert_string_equal(hd.u.hdpi.iccid, ICC_A);
    assert_string_equal(hd.u.hdpi.eid, EID1);
    assert_int_equal(hd.u.hdpi.notification_point_id, 3);
    assert_int_equal(hd.u.hdpi.notification_point_status.status, RSP_ES_SUCCESS);
    rsp_es2_request_free(&hd);
    sleep_ms(300); /* no duplicate */
    pthread_mutex_lock(&cs.mu);
    assert_int_equal(cs.hits, 1);
    pthread_mutex_unlock(&cs.mu);

    smdp_stop(pid);
    MHD_stop_daemon(d);
    pthread_mutex_destroy(&cs.mu);
    rsp_store_close(st);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_es2p_http RSP_SMDP\n");
        return 2;
    }
    smdp_exe = argv[1];
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_es2p_over_http),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
