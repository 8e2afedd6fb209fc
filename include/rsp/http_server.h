/* HTTP(S) server adapter for the SM-DP+ (ES9+ and ES2+ JSON APIs), on libmicrohttpd with its
 * GnuTLS backend.
 *
 * - A route table maps an exact path to a handler; every route is POST-only (405 otherwise) and
 *   JSON (the Content-Type / X-Admin-Protocol rules of rsp_es_check_headers are applied before the
 *   handler runs; a refusal is a JSON failure envelope, never HTML).
 * - Bodies above the configured limit get HTTP 413 with a JSON failure body.
 * - Handlers run on the server's thread pool and must not keep pointers to the request across
 *   calls (sessions are referred to by transactionId in the store).
 * - One JSON log line per request: path, function, transactionId, outcome, HTTP status, duration in
 *   ms. Handlers fill the log fields; bodies are never logged; EIDs only as keyed pseudonyms.
 * - TLS keys must be on a curve GnuTLS supports for TLS (NIST P-256/P-384): a brainpool DPtls
 *   key makes rsp_http_server_start fail with RSP_EIO.
 * - rsp_http_server_stop() quiesces (stops accepting), waits for the requests in flight, then
 *   stops.
 */
#ifndef RSP_HTTP_SERVER_H
#define RSP_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rsp/buf.h"
#include "rsp/ratelimit.h"

/* TLS 1.3, and TLS 1.2 with ECDHE-ECDSA and AES-GCM/CBC only (GnuTLS priority syntax). */
#define RSP_HTTP_TLS_PRIORITIES                                                                    \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-KX-ALL:+ECDHE-ECDSA:-CIPHER-ALL:+AES-128-GCM:"    \
    "+AES-256-GCM:+AES-128-CBC:+AES-256-CBC"

struct rsp_http_request {
    const char *path;
    const uint8_t *body; /* not NUL-terminated */
    size_t body_len;
    const char *content_type;   /* NULL when absent */
    const char *admin_protocol; /* X-Admin-Protocol, NULL when absent */
    const char *authorization;  /* Authorization header, NULL when absent (never logged) */
};

struct rsp_http_response {
    int status;          /* HTTP status; 200 unless the handler says otherwise */
    struct rsp_buf body; /* owned by the server; empty for 204 */
    /* log fields (optional, NUL-terminated; never secrets) */
    char log_tid[33];
    char log_outcome[48]; /* e.g. "Executed-Success" or "Failed 8.10.1/3.9" */
    char log_subject[40]; /* pseudonym of the EID concerned ("p:..."), never the EID itself */
    char log_call_id[65]; /* ES2+ functionCallIdentifier (first 64 characters) */
    /* branch tele, for GET routes (admin listener): the Content-Type of the body (static string;
     * NULL = JSON), and a WWW-Authenticate challenge to send with a 401 (static; NULL = none). */
    const char *content_type;
    const char *www_authenticate;
    /* branch faults: with status 429, the Retry-After header in seconds (0: none) */
    unsigned retry_after_s;
};

/* Returns 0 (response filled) or a negative RSP_E* (the server answers 500 with a JSON
 * failure envelope 1.2/4.2). */
typedef int (*rsp_http_handler)(void *ctx, const struct rsp_http_request *req,
                                struct rsp_http_response *resp);

struct rsp_http_route {
    const char *path;     /* exact match, e.g. "/gsma/rsp2/es9plus/initiateAuthentication" */
    const char *function; /* name for the log line */
    rsp_http_handler handler;
    void *ctx;
};

struct rsp_http_config {
    const char *bind_addr;      /* numeric IPv4 or IPv6 address; NULL = 127.0.0.1 */
    uint16_t port;              /* 0 = ephemeral (see rsp_http_server_port) */
    unsigned threads;           /* thread pool size; 0 = 4 */
    size_t body_limit;          /* bytes; 0 = 1 MiB */
    unsigned conn_timeout_s;    /* idle connection timeout; 0 = 30 */
    bool plain_http;            /* only when explicitly configured: no TLS at all */
    const char *tls_chain_file; /* PEM: server certificate first, then its issuers */
    const char *tls_key_file;   /* PEM private key */
    const char *tls_priorities; /* NULL = RSP_HTTP_TLS_PRIORITIES */
    FILE *log;                  /* JSON lines; NULL = no request log */
    FILE *error_log; /* libmicrohttpd's own messages (bad key, TLS setup), as JSON lines; NULL =
                        silent */
    /* branch tele: a GET listener (the admin listener): every route answers GET and HEAD only
     * (405 otherwise), no request body, no ES header rules, the response's content_type; answers
     * carry Cache-Control no-store, nosniff and a same-origin Content-Security-Policy. */
    bool get_routes;
    /* branch tele: called (on the worker thread) for a request to a known route that the server
     * itself refused before the handler ran (405, 413, a Content-Type / X-Admin-Protocol refusal),
     * with its HTTP status, the log outcome ("Failed S/R" or "HTTP 405") and the duration; NULL:
     * none. rsp-smdp records these as ES9+ telemetry. */
    void (*on_refused)(void *ctx, const char *path, int http_status, const char *outcome,
                       double ms);
    void *on_refused_ctx;
    /* branch faults: */
    bool reuse_port;             /* SO_REUSEPORT: several processes may listen on one port */
    unsigned max_connections;    /* open connections at most; 0 = MHD's default */
    unsigned per_ip_connections; /* per client address; 0 = no limit */
    /* requests per client address (rsp/ratelimit.h; not owned, NULL = none): over the limit, HTTP
     * 429 with Retry-After before the body is read (SGP.22 §6.3 lets the server use 4xx; no
     * function status code exists for it) */
    struct rsp_ratelimit *per_source;
};

struct rsp_http_server;

/* Starts listening and serving. RSP_EINVAL for a bad configuration (no TLS files without
 * plain_http, unparsable address), RSP_EIO when a file cannot be read or the daemon does not
 * start (port in use, bad key). */
int rsp_http_server_start(const struct rsp_http_config *cfg, const struct rsp_http_route *routes,
                          size_t n_routes, struct rsp_http_server **out);
/* The bound port (useful with port 0). */
uint16_t rsp_http_server_port(const struct rsp_http_server *s);
/* Requests currently being processed. */
unsigned rsp_http_server_in_flight(struct rsp_http_server *s);
/* Graceful stop: no new connections, wait up to grace_ms for requests in flight, then close
 * everything and free the server. */
void rsp_http_server_stop(struct rsp_http_server *s, unsigned grace_ms);

/* Sets the "eid" field of the log line to a pseudonym (rsp_store_subject, "p:..."); anything
 * that is not a pseudonym is ignored, so a raw EID can never reach the log this way. */
void rsp_http_log_subject(struct rsp_http_response *resp, const char *pseudonym);

#endif
