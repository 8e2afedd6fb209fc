/* HTTP(S) server adapter on libmicrohttpd (include/rsp/http_server.h). */
#include "rsp/http_server.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rsp/err.h"
#include "rsp/es9p_json.h"

struct rsp_http_server {
    struct MHD_Daemon *d;
    struct rsp_http_route *routes;
    size_t n_routes;
    size_t body_limit;
    bool get_routes;
    void (*on_refused)(void *ctx, const char *path, int http_status, const char *outcome,
                       double ms);
    void *on_refused_ctx;
    FILE *log;
    uint16_t port;
    struct rsp_buf chain; /* PEM, NUL-terminated; MHD keeps pointers to these */
    struct rsp_buf key;
    pthread_mutex_t mu;
    pthread_cond_t idle;
    unsigned in_flight;
    struct rsp_ratelimit *per_source; /* not owned */
};

struct req_state {
    struct timespec start;
    struct rsp_buf body;
    bool too_big;
    bool refused; /* answered by the server itself for a known route (on_refused) */
};

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Writes a JSON string value: printable ASCII only, quotes and backslashes escaped, the rest
 * replaced by '?' (log lines must stay one line and parse as JSON). */
static void log_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fputc('\\', f), fputc(c, f);
        else
            fputc(c >= 0x20 && c < 0x7f ? c : '?', f);
    }
    fputc('"', f);
}

static void log_line(struct rsp_http_server *s, const char *method, const char *path,
                     const char *function, const struct rsp_http_response *r, double ms)
{
    if (!s->log)
        return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    flockfile(s->log);
    fprintf(s->log, "{\"ts\":%lld.%03ld,\"method\":", (long long)now.tv_sec, now.tv_nsec / 1000000);
    log_str(s->log, method);
    fputs(",\"path\":", s->log);
    log_str(s->log, path);
    fputs(",\"function\":", s->log);
    log_str(s->log, function ? function : "");
    if (r->log_tid[0]) {
        fputs(",\"transactionId\":", s->log);
        log_str(s->log, r->log_tid);
    }
    if (r->log_call_id[0]) {
        fputs(",\"functionCallIdentifier\":", s->log);
        log_str(s->log, r->log_call_id);
    }
    if (r->log_subject[0]) {
        fputs(",\"eid\":", s->log);
        log_str(s->log, r->log_subject);
    }
    fputs(",\"outcome\":", s->log);
    log_str(s->log, r->log_outcome);
    fprintf(s->log, ",\"status\":%d,\"ms\":%.1f}\n", r->status, ms);
    fflush(s->log);
    funlockfile(s->log);
}

void rsp_http_log_subject(struct rsp_http_response *resp, const char *pseudonym)
{
    if (!resp)
        return;
    resp->log_subject[0] = 0;
    size_t n = pseudonym ? strnlen(pseudonym, sizeof resp->log_subject) : 0;
    if (n < 3 || n >= sizeof resp->log_subject || strncmp(pseudonym, "p:", 2) != 0)
        return;
    for (size_t i = 2; i < n; i++)
        if (!((pseudonym[i] >= 'a' && pseudonym[i] <= 'z') ||
              (pseudonym[i] >= '2' && pseudonym[i] <= '7')))
            return;
    memcpy(resp->log_subject, pseudonym, n + 1);
}

/* A JSON failure envelope with the given HTTP status. */
static void fail_response(struct rsp_http_response *r, int http_status, enum rsp_sc code)
{
    const struct rsp_status_code *c = rsp_sc(code);
    r->status = http_status;
    if (rsp_es_encode_failure(c, &r->body) != 0)
        rsp_buf_reset(&r->body);
    snprintf(r->log_outcome, sizeof r->log_outcome, "Failed %s/%s", c->subject, c->reason);
}

static enum MHD_Result queue(struct rsp_http_server *s, struct MHD_Connection *c,
                             struct req_state *st, const char *method, const char *path,
                             const char *function, struct rsp_http_response *r)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(r->body.len, r->body.data, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret = MHD_NO;
    if (resp) {
        if (r->content_type) { /* a GET route (admin listener) */
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
            MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
            MHD_add_response_header(resp, "Content-Security-Policy",
                                    "default-src 'self'; frame-ancestors 'none'");
            if (r->www_authenticate && r->status == MHD_HTTP_UNAUTHORIZED)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                        r->www_authenticate);
        } else {
            if (r->body.len)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, RSP_JSON_CONTENT_TYPE);
            MHD_add_response_header(resp, "X-Admin-Protocol", RSP_ADMIN_PROTOCOL);
        }
        if (r->status == MHD_HTTP_METHOD_NOT_ALLOWED)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
                                    r->content_type ? "GET, HEAD" : "POST");
        if (r->status == 429 && r->retry_after_s) {
            char ra[16];
            snprintf(ra, sizeof ra, "%u", r->retry_after_s);
            MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
        }
        ret = MHD_queue_response(c, (unsigned)r->status, resp);
        MHD_destroy_response(resp);
    }
    if (!r->log_outcome[0])
        snprintf(r->log_outcome, sizeof r->log_outcome, "HTTP %d", r->status);
    double ms = ms_since(&st->start);
    log_line(s, method, path, function, r, ms);
    if (st->refused && s->on_refused)
        s->on_refused(s->on_refused_ctx, path, r->status, r->log_outcome, ms);
    rsp_buf_free(&r->body);
    return ret;
}

/* The client's address as text ("" when unknown). */
static void client_addr(struct MHD_Connection *c, char *out, size_t n)
{
    out[0] = 0;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (!sa)
        return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)n);
}

static double mono_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const struct rsp_http_route *find_route(struct rsp_http_server *s, const char *path)
{
    for (size_t i = 0; i < s->n_routes; i++)
        if (strcmp(s->routes[i].path, path) == 0)
            return &s->routes[i];
    return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct rsp_http_server *s = cls;
    struct req_state *st = *con_cls;
    struct rsp_http_response r;
    memset(&r, 0, sizeof r);
    rsp_buf_init(&r.body);
    r.status = MHD_HTTP_OK;
    const struct rsp_http_route *route = find_route(s, url);
    const char *function = route ? route->function : "";

    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st)
            return MHD_NO;
        clock_gettime(CLOCK_MONOTONIC, &st->start);
        rsp_buf_init(&st->body);
        *con_cls = st;
        pthread_mutex_lock(&s->mu);
        s->in_flight++;
        pthread_mutex_unlock(&s->mu);
        /* Refusals that need no body are answered before it is read. */
        if (s->per_source) {
            char addr[INET6_ADDRSTRLEN];
            client_addr(c, addr, sizeof addr);
            if (!rsp_ratelimit_take(s->per_source, addr, mono_now(), &r.retry_after_s)) {
                r.status = 429;
                snprintf(r.log_outcome, sizeof r.log_outcome, "rate limited (source)");
                return queue(s, c, st, method, url, function, &r);
            }
        }
        if (!route) {
            fail_response(&r, MHD_HTTP_NOT_FOUND, RSP_SC_UNKNOWN_FUNCTION);
            return queue(s, c, st, method, url, function, &r);
        }
        if (s->get_routes) { /* admin listener: answered at once, no body */
            r.content_type = "text/plain; charset=utf-8";
            if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
                strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
                r.status = MHD_HTTP_METHOD_NOT_ALLOWED;
                rsp_buf_append(&r.body, "method not allowed\n", 19);
                return queue(s, c, st, method, url, function, &r);
            }
            struct rsp_http_request req = {
                .path = url,
                .body = (const uint8_t *)"",
                .authorization =
                    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
            };
            if (route->handler(route->ctx, &req, &r) != 0) {
                rsp_buf_reset(&r.body);
                r.status = MHD_HTTP_INTERNAL_SERVER_ERROR;
                r.content_type = "text/plain; charset=utf-8";
                rsp_buf_append(&r.body, "internal error\n", 15);
            }
            if (strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
                rsp_buf_reset(&r.body);
            return queue(s, c, st, method, url, function, &r);
        }
        st->refused = true; /* until the handler runs */
        if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
            fail_response(&r, MHD_HTTP_METHOD_NOT_ALLOWED, RSP_SC_METHOD_NOT_ALLOWED);
            return queue(s, c, st, method, url, function, &r);
        }
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > s->body_limit) {
            fail_response(&r, 413, RSP_SC_BODY_TOO_LARGE);
            return queue(s, c, st, method, url, function, &r);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!st->too_big) {
            if (st->body.len + *upload_data_size > s->body_limit)
                st->too_big = true;
            else if (rsp_buf_append(&st->body, upload_data, *upload_data_size))
                return MHD_NO;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->too_big) {
        fail_response(&r, 413, RSP_SC_BODY_TOO_LARGE);
        return queue(s, c, st, method, url, function, &r);
    }
    struct rsp_http_request req = {
        .path = url,
        .body = st->body.data ? st->body.data : (const uint8_t *)"",
        .body_len = st->body.len,
        .content_type =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
        .admin_protocol = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Admin-Protocol"),
        .authorization =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
    };
    struct rsp_status_code refusal;
    if (rsp_es_check_headers(req.content_type, req.admin_protocol, &refusal) != 0) {
        /* A function-level refusal: HTTP 200 with the failure envelope (§6.5.1). */
        rsp_es_encode_failure(&refusal, &r.body);
        snprintf(r.log_outcome, sizeof r.log_outcome, "Failed %s/%s", refusal.subject,
                 refusal.reason);
        return queue(s, c, st, method, url, function, &r);
    }
    st->refused = false;
    int rc = route->handler(route->ctx, &req, &r);
    if (rc) {
        rsp_buf_reset(&r.body);
        fail_response(&r, MHD_HTTP_INTERNAL_SERVER_ERROR, RSP_SC_INTERNAL);
    }
    return queue(s, c, st, method, url, function, &r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct rsp_http_server *s = cls;
    struct req_state *st = *con_cls;
    if (!st)
        return;
    rsp_buf_free(&st->body);
    free(st);
    *con_cls = NULL;
    pthread_mutex_lock(&s->mu);
    s->in_flight--;
    if (s->in_flight == 0)
        pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
}

/* MHD_LogCallback: fmt comes from libmicrohttpd. */
__attribute__((format(printf, 2, 0))) static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    FILE *f = cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    flockfile(f);
    fputs("{\"event\":\"http-server\",\"detail\":", f);
    log_str(f, msg);
    fputs("}\n", f);
    fflush(f);
    funlockfile(f);
}

static int read_text_file(const char *path, struct rsp_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return RSP_EIO;
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        rsp_buf_append(out, tmp, n);
    int bad = ferror(f);
    fclose(f);
    rsp_memzero(tmp, sizeof tmp);
    rsp_buf_append_byte(out, 0);
    return bad ? RSP_EIO : out->err;
}

static void free_server(struct rsp_http_server *s)
{
    if (!s)
        return;
    free(s->routes);
    rsp_buf_free(&s->chain);
    rsp_buf_free_secure(&s->key);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->idle);
    free(s);
}

int rsp_http_server_start(const struct rsp_http_config *cfg, const struct rsp_http_route *routes,
                          size_t n_routes, struct rsp_http_server **out)
{
    if (!cfg || !out || (n_routes && !routes))
        return RSP_EINVAL;
    *out = NULL;
    if (!cfg->plain_http && (!cfg->tls_chain_file || !cfg->tls_key_file))
        return RSP_EINVAL;

    union {
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } sa;
    memset(&sa, 0, sizeof sa);
    const char *addr = cfg->bind_addr ? cfg->bind_addr : "127.0.0.1";
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_AUTO;
    if (inet_pton(AF_INET, addr, &sa.v4.sin_addr) == 1) {
        sa.v4.sin_family = AF_INET;
        sa.v4.sin_port = htons(cfg->port);
    } else if (inet_pton(AF_INET6, addr, &sa.v6.sin6_addr) == 1) {
        sa.v6.sin6_family = AF_INET6;
        sa.v6.sin6_port = htons(cfg->port);
        flags |= MHD_USE_IPv6;
    } else {
        return RSP_EINVAL;
    }

    struct rsp_http_server *s = calloc(1, sizeof *s);
    if (!s)
        return RSP_ENOMEM;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->idle, NULL);
    rsp_buf_init(&s->chain);
    rsp_buf_init(&s->key);
    s->body_limit = cfg->body_limit ? cfg->body_limit : 1u << 20;
    s->log = cfg->log;
    s->get_routes = cfg->get_routes;
    s->on_refused = cfg->on_refused;
    s->on_refused_ctx = cfg->on_refused_ctx;
    s->per_source = cfg->per_source;
    s->n_routes = n_routes;
    s->routes = calloc(n_routes ? n_routes : 1, sizeof *s->routes);
    if (!s->routes) {
        free_server(s);
        return RSP_ENOMEM;
    }
    if (n_routes)
        memcpy(s->routes, routes, n_routes * sizeof *routes);
    for (size_t i = 0; i < n_routes; i++)
        if (!routes[i].path || !routes[i].handler) {
            free_server(s);
            return RSP_EINVAL;
        }
    if (!cfg->plain_http) {
        if (read_text_file(cfg->tls_chain_file, &s->chain) ||
            read_text_file(cfg->tls_key_file, &s->key)) {
            free_server(s);
            return RSP_EIO;
        }
        flags |= MHD_USE_TLS;
    }

    struct MHD_OptionItem opts[14];
    size_t no = 0;
    if (cfg->error_log) { /* first, so that every message goes through it */
        flags |= MHD_USE_ERROR_LOG;
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_logger,
                                             cfg->error_log};
    }
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &sa};
    opts[no++] =
        (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, cfg->threads ? cfg->threads : 4, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                         cfg->conn_timeout_s ? cfg->conn_timeout_s : 30, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s};
    if (cfg->max_connections)
        opts[no++] =
            (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections, NULL};
    if (cfg->per_ip_connections)
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                             cfg->per_ip_connections, NULL};
    if (cfg->reuse_port)
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL};
    if (!cfg->plain_http) {
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->chain.data};
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->key.data};
        opts[no++] = (struct MHD_OptionItem){
            MHD_OPTION_HTTPS_PRIORITIES, 0,
            (void *)(cfg->tls_priorities ? cfg->tls_priorities : RSP_HTTP_TLS_PRIORITIES)};
    }
    opts[no] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    s->d = MHD_start_daemon(flags, cfg->port, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, opts,
                            MHD_OPTION_END);
    if (!s->d) {
        free_server(s);
        return RSP_EIO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : cfg->port;
    *out = s;
    return 0;
}

uint16_t rsp_http_server_port(const struct rsp_http_server *s)
{
    return s ? s->port : 0;
}

unsigned rsp_http_server_in_flight(struct rsp_http_server *s)
{
    pthread_mutex_lock(&s->mu);
    unsigned n = s->in_flight;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void rsp_http_server_stop(struct rsp_http_server *s, unsigned grace_ms)
{
    if (!s)
        return;
    /* The listening socket is ours after quiescing: closing it now makes new connections fail
     * at once instead of waiting in the backlog during the drain. */
    MHD_socket fd = MHD_quiesce_daemon(s->d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += grace_ms / 1000;
    deadline.tv_nsec += (long)(grace_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (s->in_flight > 0)
        if (pthread_cond_timedwait(&s->idle, &s->mu, &deadline) != 0)
            break;
    pthread_mutex_unlock(&s->mu);
    MHD_stop_daemon(s->d);
    free_server(s);
}
