/* rsp-smdp: the SM-DP+ server process.
 *
 *   rsp-smdp [-c FILE] [--check-config] [--help]
 *
 * Reads one configuration file (key = value lines) with environment overrides RSP_SMDP_<KEY>,
 * opens the store, serves the ES9+ and ES2+ routes over HTTPS (plain HTTP only when configured),
 * runs the expiry sweeper periodically, and stops gracefully on SIGTERM/SIGINT.
 *
 * ES2+ (DownloadOrder, ConfirmOrder, CancelOrder, ReleaseProfile) is served by
 * rsp_es2p_http_handler for the operators of the `operator` lines, and a worker delivers the
 * HandleDownloadProgressInfo outbox to their callback URLs. The five ES9+ functions are served by
 * src/smdp/es9p.c (smdp_es9p below) once CERT.DPauth, CERT.DPpb, their keys and the CI
 * certificates are configured; without them the ES9+ routes answer 1.6 / 3.7 ("Function not yet
 * available"), as does any route whose handler is smdp_function_not_yet_available().
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "rsp/admin.h"
#include "rsp/audit.h"
#include "rsp/err.h"
#include "rsp/es2p.h"
#include "rsp/es2p_json.h"
#include "rsp/cert.h"
#include "rsp/crypto.h"
#include "rsp/es9p.h"
#include "rsp/es9p_json.h"
#include "rsp/http_server.h"
#include "rsp/pkcs11.h"
#include "rsp/recon.h"
#include "rsp/store.h"

#define DEFAULT_CONFIG "/etc/rspkit/rsp-smdp.conf"

/* ---- configuration ---- */

enum cfg_type { T_STR, T_UINT, T_BOOL };

struct config {
    char host[256];
    char listen_address[64];
    unsigned port;
    bool plain_http;
    char tls_chain[PATH_MAX];
    char tls_key[PATH_MAX];
    char tls_priorities[512];
    char dpauth_cert[PATH_MAX];
    char dpauth_key[PATH_MAX];
    char dppb_cert[PATH_MAX];
    char dppb_key[PATH_MAX];
    char ci_certs[4 * PATH_MAX]; /* comma-separated */
    char db_path[PATH_MAX];
    char database[1024]; /* store URL; empty: db_path (SQLite) */
    unsigned threads;
    unsigned body_limit;
    unsigned conn_timeout;
    unsigned session_lifetime;
    unsigned download_attempts;
    unsigned order_lifetime;
    unsigned sweep_interval;
    unsigned shutdown_grace;
    unsigned cc_max_attempts;
    unsigned notify_max_attempts;
    unsigned notify_base_delay;
    unsigned notify_max_delay;
    unsigned notify_poll_ms;
    char audit_key[PATH_MAX];
    unsigned audit_checkpoint_records;
    unsigned audit_checkpoint_interval;
    char pseudonym_key[PATH_MAX];
    /* branch recon: rollback sweeper and retention */
    bool rollback;
    unsigned rollback_sla;
    char rollback_policies[512];
    unsigned retention_events_days;
    unsigned retention_sessions_days;
    unsigned retention_rollbacks_days;
    /* branch faults: listening socket sharing and connection limits */
    bool reuse_port;
    unsigned max_connections;
    unsigned per_ip_connections;
    unsigned rate_limit_source;
    unsigned rate_limit_source_burst;
    unsigned rate_limit_matching_id;
    unsigned rate_limit_matching_id_burst;
    struct rsp_es2p_operator operators[RSP_ES2P_MAX_OPERATORS]; /* `operator` lines */
    size_t n_operators;
    /* branch tele: telemetry and the admin listener */
    bool telemetry;
    unsigned telemetry_period;
    unsigned telemetry_retention;
    unsigned telemetry_series_retention;
    char admin_listen_address[64];
    unsigned admin_port;
    bool admin_plain_http;
    char admin_auth_file[PATH_MAX];
    unsigned dashboard_window;
    /* branch ops: activation integrity (rsp/act.h) */
    unsigned integrity_window;
    unsigned integrity_bucket;
    unsigned integrity_failure_pct;
    unsigned integrity_min_sample;
    char integrity_webhook[256];
};

struct cfg_key {
    const char *name;
    enum cfg_type type;
    size_t offset;
    size_t size;
    const char *help;
};

#define K(name, type, member, help)                                                                \
    {                                                                                              \
        name, type, offsetof(struct config, member), sizeof(((struct config *)0)->member), help    \
    }

static const struct cfg_key cfg_keys[] = {
    K("host", T_STR, host, "SM-DP+ address (FQDN) compared with smdpAddress"),
    K("listen_address", T_STR, listen_address, "numeric IPv4/IPv6 address (127.0.0.1)"),
    K("port", T_UINT, port, "TCP port (443; 0 = any free port)"),
    K("plain_http", T_BOOL, plain_http, "serve plain HTTP without TLS (false; tests only)"),
    K("tls_chain", T_STR, tls_chain, "PEM: DPtls certificate then its CA chain"),
    K("tls_key", T_STR, tls_key, "PEM: DPtls private key"),
    K("tls_priorities", T_STR, tls_priorities, "GnuTLS priority string (built-in default)"),
    K("dpauth_cert", T_STR, dpauth_cert, "CERT.DPauth.SIG (PEM or DER)"),
    K("dpauth_key", T_STR, dpauth_key, "SK.DPauth.SIG (PEM file, or a pkcs11: URI)"),
    K("dppb_cert", T_STR, dppb_cert, "CERT.DPpb.SIG (PEM or DER)"),
    K("dppb_key", T_STR, dppb_key, "SK.DPpb.SIG (PEM file, or a pkcs11: URI)"),
    K("ci_certs", T_STR, ci_certs, "comma-separated CI certificate files"),
    K("db_path", T_STR, db_path, "SQLite database file (when database is not set)"),
    K("database", T_STR, database,
      "store URL: postgresql://USER@HOST/DB (PostgreSQL), sqlite:PATH or a path (SQLite);\n"
      "                      overrides db_path"),
    K("threads", T_UINT, threads, "HTTP worker threads (4)"),
    K("body_limit", T_UINT, body_limit, "largest request body in bytes (1048576)"),
    K("conn_timeout", T_UINT, conn_timeout, "idle connection timeout in seconds (30)"),
    K("session_lifetime", T_UINT, session_lifetime, "download session lifetime in seconds (600)"),
    K("download_attempts", T_UINT, download_attempts,
      "download attempts per profile before the order ends (10; 0 = no limit)"),
    K("order_lifetime", T_UINT, order_lifetime,
      "seconds a released order may wait for its download (0 = no limit)"),
    K("sweep_interval", T_UINT, sweep_interval, "seconds between expiry sweeps (30)"),
    K("shutdown_grace", T_UINT, shutdown_grace, "seconds to wait for requests on stop (10)"),
    K("cc_max_attempts", T_UINT, cc_max_attempts, "confirmation code attempts per order (3)"),
    K("notify_max_attempts", T_UINT, notify_max_attempts,
      "HandleDownloadProgressInfo attempts before parking as failed (10)"),
    K("notify_base_delay", T_UINT, notify_base_delay,
      "first retry delay in seconds, doubled per attempt, plus jitter (5)"),
    K("notify_max_delay", T_UINT, notify_max_delay, "largest retry delay in seconds (3600)"),
    K("notify_poll_ms", T_UINT, notify_poll_ms, "outbox poll interval in milliseconds (1000)"),
    K("audit_key", T_STR, audit_key,
      "PEM file or pkcs11: URI: P-256 private key signing audit checkpoints\n"
      "                      (none: no checkpoints)"),
    K("audit_checkpoint_records", T_UINT, audit_checkpoint_records,
      "sign a checkpoint once this many audit records accumulated (1000; 0 = off)"),
    K("audit_checkpoint_interval", T_UINT, audit_checkpoint_interval,
      "or once this many seconds passed with new records (300; 0 = off)"),
    K("pseudonym_key", T_STR, pseudonym_key,
      "hex key (64-128 digits) of the EID pseudonyms in audit records and logs"),
    /* branch tele */
    K("telemetry", T_BOOL, telemetry, "record telemetry per ES9+ call and session (true)"),
    K("telemetry_period", T_UINT, telemetry_period,
      "seconds per telemetry aggregation period (60)"),
    K("telemetry_retention", T_UINT, telemetry_retention,
      "seconds raw telemetry calls and sessions are kept (604800; 0 = for ever)"),
    K("telemetry_series_retention", T_UINT, telemetry_series_retention,
      "seconds per-period aggregates are kept (7776000; 0 = for ever; totals\n"
      "                      are never dropped)"),
    K("admin_listen_address", T_STR, admin_listen_address,
      "admin listener (/metrics, dashboard) address (127.0.0.1)"),
    K("admin_port", T_UINT, admin_port, "admin listener TCP port (0 = no admin listener)"),
    K("admin_plain_http", T_BOOL, admin_plain_http,
      "admin listener without TLS (false: TLS with tls_chain/tls_key)"),
    K("admin_auth_file", T_STR, admin_auth_file,
      "admin credentials: 'bearer TOKEN' / 'basic USER:PASSWORD' lines (required\n"
      "                      with admin_port)"),
    K("dashboard_window", T_UINT, dashboard_window, "seconds the dashboard shows (86400)"),
    /* branch ops: activation integrity */
    K("integrity_window", T_UINT, integrity_window,
      "activation integrity: sliding window in seconds (3600)"),
    K("integrity_bucket", T_UINT, integrity_bucket,
      "width of the window's time buckets in seconds (60)"),
    K("integrity_failure_pct", T_UINT, integrity_failure_pct,
      "quarantine a cohort when failures reach this % of completed attempts\n"
      "                      in the window (50; 0 = never quarantine)"),
    K("integrity_min_sample", T_UINT, integrity_min_sample,
      "completed attempts (installs + failures) needed before a verdict (20)"),
    K("integrity_webhook", T_STR, integrity_webhook,
      "URL a quarantine alert is POSTed to (JSON; retried through the outbox)"),
    /* branch recon */
    K("rollback", T_BOOL, rollback,
      "roll failed profiles back by policy in every sweep (true; docs/man/rsp-smdp.8)"),
    K("rollback_sla", T_UINT, rollback_sla,
      "seconds from a failure to its rollback (300; >= sweep_interval)"),
    K("rollback_policies", T_STR, rollback_policies,
      "KIND=POLICY,... (available|quarantine|rerelease) for download-failed,\n"
      "                      install-failed, pir-error, cancelled, ttl-expired,\n"
      "                      verification-failed, other (rspctl rollback sweep --help)"),
    K("retention_events_days", T_UINT, retention_events_days,
      "delete reconciliation events older than this (0 = keep)"),
    K("retention_sessions_days", T_UINT, retention_sessions_days,
      "delete ended download sessions (EID, eUICC certificate) older than this (0 = keep)"),
    K("retention_rollbacks_days", T_UINT, retention_rollbacks_days,
      "delete closed rollbacks older than this (0 = keep)"),
    K("reuse_port", T_BOOL, reuse_port,
      "SO_REUSEPORT: several processes listen on one port (false)"),
    K("max_connections", T_UINT, max_connections,
      "open connections at most (0 = libmicrohttpd's default)"),
    K("per_ip_connections", T_UINT, per_ip_connections,
      "open connections per client address at most (0 = no limit)"),
    K("rate_limit_source", T_UINT, rate_limit_source,
      "requests a minute per client address, HTTP 429 beyond (0 = off)"),
    K("rate_limit_source_burst", T_UINT, rate_limit_source_burst,
      "requests in a burst per client address (rate_limit_source)"),
    K("rate_limit_matching_id", T_UINT, rate_limit_matching_id,
      "authenticateClient calls a minute per matchingId, HTTP 429 beyond (0 = off)"),
    K("rate_limit_matching_id_burst", T_UINT, rate_limit_matching_id_burst,
      "authenticateClient calls in a burst per matchingId (10)"),
};
#define N_KEYS (sizeof cfg_keys / sizeof cfg_keys[0])

static void config_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen_address, sizeof c->listen_address, "127.0.0.1");
    c->port = 443;
    snprintf(c->db_path, sizeof c->db_path, "/var/lib/rspkit/smdp.db");
    c->threads = 4;
    c->body_limit = 1u << 20;
    c->conn_timeout = 30;
    c->session_lifetime = 600;
    c->download_attempts = 10;
    c->sweep_interval = 30;
    c->shutdown_grace = 10;
    c->cc_max_attempts = 3;
    c->notify_max_attempts = 10;
    c->notify_base_delay = 5;
    c->notify_max_delay = 3600;
    c->notify_poll_ms = 1000;
    c->audit_checkpoint_records = 1000;
    c->audit_checkpoint_interval = 300;
    c->telemetry = true;
    c->telemetry_period = 60;
    c->telemetry_retention = 604800;
    c->telemetry_series_retention = 7776000;
    snprintf(c->admin_listen_address, sizeof c->admin_listen_address, "127.0.0.1");
    c->dashboard_window = 86400;
    c->integrity_window = 3600;
    c->integrity_bucket = 60;
    c->integrity_failure_pct = 50;
    c->integrity_min_sample = 20;
    c->rollback = true;
    c->rollback_sla = 300;
}

/* rollback_policies and rollback_sla into a rollback configuration; -1 with a message. */
static int rollback_config(const struct config *c, struct rsp_rollback_config *rb)
{
    rsp_rollback_config_default(rb);
    rb->sla = c->rollback_sla;
    rb->order_ttl = c->order_lifetime;
    char list[sizeof c->rollback_policies];
    snprintf(list, sizeof list, "%s", c->rollback_policies);
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        char *eq = strchr(t, '=');
        enum rsp_fail_kind k;
        enum rsp_rollback_policy pol;
        if (eq)
            *eq = 0;
        if (!eq || rsp_fail_kind_from_name(t, &k) != 0 ||
            rsp_rollback_policy_from_name(eq + 1, &pol) != 0) {
            fprintf(stderr, "rsp-smdp: rollback_policies: bad entry '%s' (KIND=POLICY)\n", t);
            return -1;
        }
        rb->policy[k] = pol;
    }
    char why[200];
    if (rsp_rollback_config_check(rb, why, sizeof why) != 0) {
        fprintf(stderr, "rsp-smdp: rollback_policies: %s\n", why);
        return -1;
    }
    return 0;
}

/* operator = ID token_sha256=HEX [cert_sha256=HEX] [callback_url=URL] [callback_ca=FILE]
 * (repeatable; not overridable from the environment). */
static int add_operator(struct config *c, const char *v, const char *where)
{
    char err[200];
    if (c->n_operators >= RSP_ES2P_MAX_OPERATORS) {
        fprintf(stderr, "rsp-smdp: %s: more than %d operators\n", where, RSP_ES2P_MAX_OPERATORS);
        return -1;
    }
    struct rsp_es2p_operator *op = &c->operators[c->n_operators];
    if (rsp_es2p_operator_parse(v, op, err, sizeof err) != 0) {
        fprintf(stderr, "rsp-smdp: %s: %s\n", where, err);
        return -1;
    }
    for (size_t i = 0; i < c->n_operators; i++)
        if (strcmp(c->operators[i].id, op->id) == 0) {
            fprintf(stderr, "rsp-smdp: %s: operator %s defined twice\n", where, op->id);
            return -1;
        }
    c->n_operators++;
    return 0;
}

static int set_value(struct config *c, const struct cfg_key *k, const char *v, const char *where)
{
    char *p = (char *)c + k->offset;
    switch (k->type) {
    case T_STR:
        if (strlen(v) >= k->size) {
            fprintf(stderr, "rsp-smdp: %s: value of %s too long\n", where, k->name);
            return -1;
        }
        memcpy(p, v, strlen(v) + 1);
        return 0;
    case T_UINT: {
        char *end;
        errno = 0;
        unsigned long n = strtoul(v, &end, 10);
        if (!*v || *end || errno || n > UINT_MAX || !isdigit((unsigned char)*v)) {
            fprintf(stderr, "rsp-smdp: %s: %s must be a non-negative integer\n", where, k->name);
            return -1;
        }
        *(unsigned *)p = (unsigned)n;
        return 0;
    }
    case T_BOOL:
        if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
            *(bool *)p = true;
        else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
            *(bool *)p = false;
        else {
            fprintf(stderr, "rsp-smdp: %s: %s must be true or false\n", where, k->name);
            return -1;
        }
        return 0;
    }
    return -1;
}

static const struct cfg_key *find_key(const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(cfg_keys[i].name, name) == 0)
            return &cfg_keys[i];
    return NULL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

/* key = value lines; '#' starts a comment line; unknown keys are errors. */
static int config_load(struct config *c, const char *path, bool must_exist)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (!must_exist && errno == ENOENT)
            return 0;
        fprintf(stderr, "rsp-smdp: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[8192], where[PATH_MAX + 32];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            fprintf(stderr, "rsp-smdp: %s: expected key = value\n", where);
            rc = -1;
            break;
        }
        *eq = 0;
        const char *key = trim(s), *val = trim(eq + 1);
        if (strcmp(key, "operator") == 0) {
            rc = add_operator(c, val, where);
            continue;
        }
        const struct cfg_key *k = find_key(key);
        if (!k) {
            fprintf(stderr, "rsp-smdp: %s: unknown key '%s'\n", where, key);
            rc = -1;
            break;
        }
        rc = set_value(c, k, val, where);
    }
    fclose(f);
    return rc;
}

/* RSP_SMDP_<KEY> (key upper-cased) overrides the file. */
static int config_env(struct config *c)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        char name[64];
        size_t n = (size_t)snprintf(name, sizeof name, "RSP_SMDP_");
        for (const char *k = cfg_keys[i].name; *k && n + 1 < sizeof name; k++)
            name[n++] = (char)toupper((unsigned char)*k);
        name[n] = 0;
        const char *v = getenv(name);
        if (v && set_value(c, &cfg_keys[i], v, name) != 0)
            return -1;
    }
    return 0;
}

static int check_readable(const char *key, const char *path, bool required)
{
    if (!path[0]) {
        if (required)
            fprintf(stderr, "rsp-smdp: %s is required\n", key);
        return required ? -1 : 0;
    }
    if (rsp_pkcs11_is_uri(path))
        return 0; /* checked when the key is loaded */
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "rsp-smdp: %s: cannot read %s: %s\n", key, path, strerror(errno));
        return -1;
    }
    return 0;
}

static int config_check(const struct config *c)
{
    int bad = 0;
    if (!c->host[0]) {
        fprintf(stderr, "rsp-smdp: host is required\n");
        bad = 1;
    }
    if (c->port > 65535) {
        fprintf(stderr, "rsp-smdp: port out of range\n");
        bad = 1;
    }
    if (c->threads == 0 || c->threads > 256 || c->body_limit < 1024 || c->session_lifetime == 0 ||
        c->sweep_interval == 0) {
        fprintf(stderr, "rsp-smdp: threads must be 1..256, body_limit >= 1024, "
                        "session_lifetime and sweep_interval > 0\n");
        bad = 1;
    }
    bad |= check_readable("tls_chain", c->tls_chain, !c->plain_http) != 0;
    bad |= check_readable("tls_key", c->tls_key, !c->plain_http) != 0;
    bad |= check_readable("dpauth_cert", c->dpauth_cert, false) != 0;
    bad |= check_readable("dpauth_key", c->dpauth_key, false) != 0;
    bad |= check_readable("dppb_cert", c->dppb_cert, false) != 0;
    bad |= check_readable("dppb_key", c->dppb_key, false) != 0;
    char list[sizeof c->ci_certs];
    snprintf(list, sizeof list, "%s", c->ci_certs);
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        bad |= check_readable("ci_certs", trim(t), true) != 0;
    for (size_t i = 0; i < c->n_operators; i++)
        bad |= check_readable("callback_ca", c->operators[i].callback_ca, false) != 0;
    bad |= check_readable("audit_key", c->audit_key, false) != 0;
    bad |= check_readable("pseudonym_key", c->pseudonym_key, false) != 0;
    if (c->integrity_window == 0 || c->integrity_bucket == 0 || c->integrity_failure_pct > 100) {
        fprintf(stderr, "rsp-smdp: integrity_window and integrity_bucket must be > 0, "
                        "integrity_failure_pct 0-100\n");
        bad = 1;
    }
    if (c->notify_poll_ms == 0) {
        fprintf(stderr, "rsp-smdp: notify_poll_ms must be > 0\n");
        bad = 1;
    }
    struct rsp_rollback_config rbc;
    if (rollback_config(c, &rbc) != 0)
        bad = 1;
    if (c->rollback && c->sweep_interval > c->rollback_sla) {
        fprintf(stderr, "rsp-smdp: sweep_interval (%u) must not exceed rollback_sla (%u)\n",
                c->sweep_interval, c->rollback_sla);
        bad = 1;
    }
    if (!c->database[0] && !c->db_path[0]) {
        fprintf(stderr, "rsp-smdp: db_path or database is required\n");
        bad = 1;
    }
    if (c->telemetry_period == 0 || c->dashboard_window == 0 || c->admin_port > 65535) {
        fprintf(stderr, "rsp-smdp: telemetry_period and dashboard_window must be > 0, admin_port "
                        "0..65535\n");
        bad = 1;
    }
    if (c->admin_port) {
        bad |= check_readable("admin_auth_file", c->admin_auth_file, true) != 0;
        if (!c->admin_plain_http && !c->plain_http && (!c->tls_chain[0] || !c->tls_key[0])) {
            fprintf(stderr, "rsp-smdp: the admin listener needs tls_chain/tls_key or "
                            "admin_plain_http\n");
            bad = 1;
        }
        if (c->admin_port == c->port) {
            fprintf(stderr, "rsp-smdp: admin_port must differ from port\n");
            bad = 1;
        }
    }
    if (c->database[0] && !rsp_store_url_backend(c->database)) {
        fprintf(stderr, "rsp-smdp: database: not a store URL (postgresql://..., postgres://..., "
                        "sqlite:PATH or a file path)\n");
        bad = 1;
    }
    return bad ? -1 : 0;
}

/* The store to open: `database` when set, else the SQLite file db_path. */
static const char *store_url(const struct config *c)
{
    return c->database[0] ? c->database : c->db_path;
}

/* ---- routes ---- */

/* ES9+ credentials loaded at start (owned by main; read-only while serving). */
#define MAX_CIS 8
struct es9p_creds {
    struct rsp_cert *ci[MAX_CIS];
    size_t n_ci;
    struct rsp_cert *dpauth, *dppb;
    struct rsp_key *sk_dpauth, *sk_dppb;
    struct rsp_es9p_creds set;
    struct rsp_es9p_config cfg;
};

static void es9p_creds_free(struct es9p_creds *c)
{
    for (size_t i = 0; i < c->n_ci; i++)
        rsp_cert_free(c->ci[i]);
    rsp_cert_free(c->dpauth);
    rsp_cert_free(c->dppb);
    rsp_key_free(c->sk_dpauth);
    rsp_key_free(c->sk_dppb);
    memset(c, 0, sizeof *c);
}

static int read_all(const char *key, const char *path, struct rsp_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "rsp-smdp: %s: cannot open %s: %s\n", key, path, strerror(errno));
        return -1;
    }
    uint8_t chunk[4096];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = rsp_buf_append(out, chunk, n);
    if (ferror(f) || rc) {
        fprintf(stderr, "rsp-smdp: %s: cannot read %s\n", key, path);
        rc = -1;
    }
    fclose(f);
    return rc;
}

static int load_cert(const char *key, const char *path, struct rsp_cert **out)
{
    struct rsp_buf b = RSP_BUF_INIT;
    int rc = read_all(key, path, &b);
    if (rc == 0 && (rc = rsp_cert_parse(b.data, b.len, out)) != 0)
        fprintf(stderr, "rsp-smdp: %s: %s is not a certificate: %s\n", key, path, rsp_strerror(rc));
    rsp_buf_free(&b);
    return rc ? -1 : 0;
}

static int load_key(const char *key, const char *path, struct rsp_key **out)
{
    if (rsp_pkcs11_is_uri(path)) { /* a key in an HSM (rsp/pkcs11.h) */
        char why[256], shown[PATH_MAX];
        int rc = rsp_pkcs11_key_load(path, out, why, sizeof why);
        if (rc) {
            rsp_pkcs11_uri_redact(path, shown, sizeof shown);
            fprintf(stderr, "rsp-smdp: %s: %s: %s (%s)\n", key, shown, rsp_strerror(rc), why);
        }
        return rc ? -1 : 0;
    }
    struct rsp_buf b = RSP_BUF_INIT;
    int rc = read_all(key, path, &b);
    if (rc == 0 && (rc = rsp_key_from_private(b.data, b.len, out)) != 0)
        fprintf(stderr, "rsp-smdp: %s: %s is not an EC private key: %s\n", key, path,
                rsp_strerror(rc));
    rsp_buf_free_secure(&b);
    return rc ? -1 : 0;
}

/* Loads DPauth/DPpb, their keys and the CIs; 1 when ES9+ is not configured (no DPauth), 0 when
 * loaded, -1 (message printed) when the configuration is incomplete or inconsistent. */
static int es9p_load(const struct config *cfg, struct es9p_creds *c)
{
    memset(c, 0, sizeof *c);
    if (!cfg->dpauth_cert[0] && !cfg->dpauth_key[0] && !cfg->dppb_cert[0] && !cfg->dppb_key[0])
        return 1;
    if (!cfg->dpauth_cert[0] || !cfg->dpauth_key[0] || !cfg->dppb_cert[0] || !cfg->dppb_key[0] ||
        !cfg->ci_certs[0]) {
        fprintf(stderr, "rsp-smdp: ES9+ needs dpauth_cert, dpauth_key, dppb_cert, dppb_key and "
                        "ci_certs together\n");
        return -1;
    }
    char list[sizeof cfg->ci_certs];
    snprintf(list, sizeof list, "%s", cfg->ci_certs);
    char *save = NULL;
    int rc = 0;
    for (char *t = strtok_r(list, ",", &save); t && rc == 0; t = strtok_r(NULL, ",", &save)) {
        if (c->n_ci == MAX_CIS) {
            fprintf(stderr, "rsp-smdp: ci_certs: at most %d certificates\n", MAX_CIS);
            rc = -1;
        } else {
            rc = load_cert("ci_certs", trim(t), &c->ci[c->n_ci]);
            if (rc == 0)
                c->n_ci++;
        }
    }
    if (rc == 0)
        rc = load_cert("dpauth_cert", cfg->dpauth_cert, &c->dpauth);
    if (rc == 0)
        rc = load_cert("dppb_cert", cfg->dppb_cert, &c->dppb);
    if (rc == 0)
        rc = load_key("dpauth_key", cfg->dpauth_key, &c->sk_dpauth);
    if (rc == 0)
        rc = load_key("dppb_key", cfg->dppb_key, &c->sk_dppb);
    /* the CI that issued DPauth must also have issued DPpb */
    const struct rsp_cert *ci = NULL;
    char detail[RSP_CERT_DETAIL_SZ] = "no CI in ci_certs";
    for (size_t i = 0; rc == 0 && i < c->n_ci && !ci; i++)
        if (rsp_cert_verify_dp(c->ci[i], c->dpauth, RSP_ROLE_DP_AUTH, time(NULL), detail,
                               sizeof detail) == 0 &&
            rsp_cert_verify_dp(c->ci[i], c->dppb, RSP_ROLE_DP_PB, time(NULL), detail,
                               sizeof detail) == 0)
            ci = c->ci[i];
    if (rc == 0 && !ci) {
        fprintf(stderr, "rsp-smdp: dpauth_cert/dppb_cert do not verify against ci_certs: %s\n",
                detail);
        rc = -1;
    }
    if (rc) {
        es9p_creds_free(c);
        return -1;
    }
    c->set = (struct rsp_es9p_creds){ci, c->dpauth, c->sk_dpauth, c->dppb, c->sk_dppb};
    c->cfg.host = cfg->host;
    c->cfg.operators = cfg->operators;
    c->cfg.n_operators = cfg->n_operators;
    c->cfg.creds = &c->set;
    c->cfg.n_creds = 1;
    c->cfg.cis = (const struct rsp_cert *const *)c->ci;
    c->cfg.n_cis = c->n_ci;
    c->cfg.session_lifetime = cfg->session_lifetime;
    c->cfg.max_download_attempts = cfg->download_attempts;
    c->cfg.order_lifetime = cfg->order_lifetime;
    c->cfg.telemetry_period = cfg->telemetry_period;
    c->cfg.telemetry_off = !cfg->telemetry;
    return 0;
}

/* ---- activation integrity (rsp/act.h) ---- */

static void log_event(const char *event, const char *detail);

static void integrity_config(const struct config *cfg, struct rsp_act_integrity_config *out)
{
    *out = (struct rsp_act_integrity_config){
        .window_s = cfg->integrity_window,
        .bucket_s = cfg->integrity_bucket,
        .failure_pct = cfg->integrity_failure_pct,
        .min_sample = cfg->integrity_min_sample,
        .webhook_url = cfg->integrity_webhook[0] ? cfg->integrity_webhook : NULL,
    };
}

/* The alert log line of a quarantine an outcome tripped (the webhook goes through the outbox). */
static void quarantine_alert(void *ctx, const struct rsp_act_quarantine *q)
{
    (void)ctx;
    char detail[512];
    snprintf(detail, sizeof detail, "cohort %s %s quarantined: %s", rsp_act_dim_name(q->dim),
             q->value, q->reason);
    log_event("quarantine", detail);
}

/* detail is escaped: it may carry a database's error message (quotes, newlines). */
static void log_event(const char *event, const char *detail);

/* branch recon: the rollback sweeper and the retention windows, after the expiry sweep (so a
 * session that just expired is rolled back in the same tick). Logged only when it did something;
 * log lines name ICCIDs and counts, never an EID or a customer. */
static void rollback_tick(struct rsp_store *store, const struct config *cfg)
{
    char detail[256];
    int64_t now = (int64_t)time(NULL);
    if (cfg->rollback) {
        struct rsp_rollback_config rbc;
        struct rsp_rollback_run run;
        if (rollback_config(cfg, &rbc) == 0) {
            int rc = rsp_rollback_sweep(store, &rbc, now, &run);
            if (rc || run.detected || run.done || run.breaches) {
                snprintf(detail, sizeof detail,
                         "%u detected, %u rolled back, %u lost a race, %u over the SLA%s%s",
                         run.detected, run.done, run.lost, run.breaches, rc ? ", error: " : "",
                         rc ? rsp_strerror(rc) : "");
                log_event("rollback", detail);
            }
        }
    }
    const unsigned days[RSP_DATA_NCLASSES] = {
        cfg->retention_events_days, cfg->retention_sessions_days, cfg->retention_rollbacks_days};
    for (int c = 0; c < RSP_DATA_NCLASSES; c++) {
        if (!days[c])
            continue;
        int64_t n = 0;
        int rc = rsp_store_retention_sweep(store, (enum rsp_data_class)c,
                                           now - (int64_t)days[c] * 86400, "rsp-smdp", &n);
        if (rc || n) {
            snprintf(detail, sizeof detail, "%s: %lld deleted%s%s",
                     rsp_data_class_name((enum rsp_data_class)c), (long long)n,
                     rc ? ", error: " : "", rc ? rsp_strerror(rc) : "");
            log_event("retention", detail);
        }
    }
}

static void log_event(const char *event, const char *detail)
{
    char esc[1024];
    size_t n = 0;
    for (const char *p = detail; *p && n + 7 < sizeof esc; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            esc[n++] = '\\';
            esc[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(esc + n, sizeof esc - n, "\\u%04x", c);
        } else {
            esc[n++] = (char)c;
        }
    }
    esc[n] = 0;
    fprintf(stderr, "{\"ts\":%lld,\"event\":\"%s\",\"detail\":\"%s\"}\n", (long long)time(NULL),
            event, esc);
}

/* ---- audit (docs/AUDIT.md) ---- */

struct audit_state {
    struct rsp_key *key; /* checkpoint signing key; NULL: no checkpoints */
    uint8_t key_id[RSP_AUDIT_HASH_LEN];
    bool have_pseudonym;
    struct rsp_pseudonym_key pseudonym;
    int64_t last_cp_seq; /* latest checkpoint known to this process */
    int64_t last_cp_at;
};

/* Loads audit_key (P-256 only) and pseudonym_key. 0 or -1 (message printed). */
static int audit_load(const struct config *cfg, struct audit_state *a)
{
    memset(a, 0, sizeof *a);
    if (cfg->audit_key[0]) {
        if (load_key("audit_key", cfg->audit_key, &a->key))
            return -1;
        if (rsp_key_curve(a->key) != RSP_CURVE_NIST_P256) {
            char shown[PATH_MAX];
            rsp_pkcs11_uri_redact(cfg->audit_key, shown, sizeof shown);
            fprintf(stderr, "rsp-smdp: audit_key: %s is not a P-256 key (ECDSA P-256 only)\n",
                    shown);
            return -1;
        }
        if (rsp_audit_key_id(a->key, a->key_id))
            return -1;
    }
    if (cfg->pseudonym_key[0]) {
        struct rsp_buf b = RSP_BUF_INIT;
        int rc = read_all("pseudonym_key", cfg->pseudonym_key, &b);
        if (rc == 0 && rsp_pseudonym_key_parse(b.data, b.len, &a->pseudonym) != 0) {
            fprintf(stderr, "rsp-smdp: pseudonym_key: %s must hold 64 to 128 hex digits\n",
                    cfg->pseudonym_key);
            rc = -1;
        }
        rsp_buf_free_secure(&b);
        if (rc)
            return -1;
        a->have_pseudonym = true;
    }
    return 0;
}

static void audit_free(struct audit_state *a)
{
    rsp_key_free(a->key);
    rsp_memzero(&a->pseudonym, sizeof a->pseudonym);
}

/* SHA-256 of a file's bytes into h (message printed on failure). */
static int file_sha256(const char *key, const char *path, uint8_t h[32])
{
    struct rsp_buf b = RSP_BUF_INIT;
    int rc = read_all(key, path, &b);
    if (rc == 0 && rsp_sha256(b.data, b.len, h) != 0)
        rc = -1;
    rsp_buf_free(&b);
    return rc;
}

/* The configuration's fingerprint: SHA-256 over every effective key = value line (file values and
 * environment overrides alike), the operator lines, the digests of the certificate files and the
 * ids of the audit and pseudonym keys. Secrets enter only as those ids. */
static int config_fingerprint(const struct config *c, const struct audit_state *a, uint8_t out[32])
{
    struct rsp_buf t = RSP_BUF_INIT;
    char line[8192], hex[65];
    uint8_t h[32];
    int rc = 0;
    for (size_t i = 0; i < N_KEYS; i++) {
        const char *p = (const char *)c + cfg_keys[i].offset;
        switch (cfg_keys[i].type) {
        case T_STR:
            if (p == c->database) { /* a password in the URL must not feed the fingerprint */
                char shown[sizeof c->database];
                rsp_store_url_redact(p, shown, sizeof shown);
                snprintf(line, sizeof line, "%s=%s\n", cfg_keys[i].name, shown);
            } else if (rsp_pkcs11_is_uri(p)) { /* nor a PIN in a PKCS#11 URI */
                char shown[PATH_MAX];
                rsp_pkcs11_uri_redact(p, shown, sizeof shown);
                snprintf(line, sizeof line, "%s=%s\n", cfg_keys[i].name, shown);
            } else {
                snprintf(line, sizeof line, "%s=%s\n", cfg_keys[i].name, p);
            }
            break;
        case T_UINT:
            snprintf(line, sizeof line, "%s=%u\n", cfg_keys[i].name, *(const unsigned *)p);
            break;
        case T_BOOL:
            snprintf(line, sizeof line, "%s=%s\n", cfg_keys[i].name,
                     *(const bool *)p ? "true" : "false");
            break;
        }
        rsp_buf_append(&t, line, strlen(line));
    }
    for (size_t i = 0; i < c->n_operators; i++) {
        const struct rsp_es2p_operator *op = &c->operators[i];
        char tok[65] = "", cert[65] = "";
        if (op->has_token)
            rsp_hex_str(tok, op->token_sha256, 32, 0);
        if (op->has_cert)
            rsp_hex_str(cert, op->cert_sha256, 32, 0);
        snprintf(line, sizeof line,
                 "operator=%s token_sha256=%s cert_sha256=%s callback_url=%s callback_ca=%s\n",
                 op->id, tok, cert, op->callback_url, op->callback_ca);
        rsp_buf_append(&t, line, strlen(line));
    }
    const struct {
        const char *key, *path;
    } files[] = {
        {"tls_chain", c->tls_chain}, {"dpauth_cert", c->dpauth_cert}, {"dppb_cert", c->dppb_cert}};
    for (size_t i = 0; rc == 0 && i < sizeof files / sizeof files[0]; i++) {
        if (!files[i].path[0])
            continue;
        rc = file_sha256(files[i].key, files[i].path, h);
        rsp_hex_str(hex, h, 32, 0);
        snprintf(line, sizeof line, "sha256(%s)=%s\n", files[i].key, hex);
        rsp_buf_append(&t, line, strlen(line));
    }
    char list[sizeof c->ci_certs];
    snprintf(list, sizeof list, "%s", c->ci_certs);
    char *save = NULL;
    for (char *f = strtok_r(list, ",", &save); rc == 0 && f; f = strtok_r(NULL, ",", &save)) {
        rc = file_sha256("ci_certs", trim(f), h);
        rsp_hex_str(hex, h, 32, 0);
        snprintf(line, sizeof line, "sha256(ci_certs)=%s\n", hex);
        rsp_buf_append(&t, line, strlen(line));
    }
    if (a->key) {
        rsp_hex_str(hex, a->key_id, 32, 0);
        snprintf(line, sizeof line, "audit_key_id=%s\n", hex);
        rsp_buf_append(&t, line, strlen(line));
    }
    if (a->have_pseudonym && rsp_pseudonym_key_id(&a->pseudonym, h) == 0) {
        rsp_hex_str(hex, h, 32, 0);
        snprintf(line, sizeof line, "pseudonym_key_id=%s\n", hex);
        rsp_buf_append(&t, line, strlen(line));
    }
    if (rc == 0 && (t.err || rsp_sha256(t.data, t.len, out) != 0))
        rc = -1;
    rsp_buf_free(&t);
    return rc;
}

#define CONFIG_TAG "configuration sha256 "

/* At start: a "process Started" record, and a "config" record saying whether the configuration
 * changed since the last start recorded in the chain. */
static int audit_start(struct rsp_store *st, const struct config *cfg, const struct audit_state *a)
{
    uint8_t fp[32];
    char hex[65], reason[RSP_AUDIT_REASON_MAX + 1], prev[24] = "";
    if (config_fingerprint(cfg, a, fp))
        return -1;
    rsp_hex_str(hex, fp, 32, 0);
    struct rsp_audit_entry e;
    snprintf(reason, sizeof reason, "pid %ld, host %.200s, schema %d", (long)getpid(), cfg->host,
             rsp_store_schema_version(st));
    rsp_audit_entry_set(&e, "process", "rsp-smdp", "", "Started", "rsp-smdp", "", reason);
    int rc = rsp_store_audit_append(st, &e);
    bool changed = true;
    if (rc == 0) {
        struct rsp_audit_entry last;
        int lr = rsp_store_audit_last(st, "config", "rsp-smdp", &last);
        if (lr == 0 && strncmp(last.reason, CONFIG_TAG, strlen(CONFIG_TAG)) == 0) {
            const char *old = last.reason + strlen(CONFIG_TAG);
            changed = strncmp(old, hex, 64) != 0;
            snprintf(prev, sizeof prev, "%.16s", old);
        } else if (lr != 0 && lr != RSP_ENOTFOUND) {
            rc = lr;
        }
    }
    if (rc == 0) {
        char aid[17] = "none";
        if (a->key)
            rsp_hex_str(aid, a->key_id, 8, 0);
        snprintf(reason, sizeof reason, CONFIG_TAG "%s; audit key %s%s; pseudonyms %s; %s%s%s", hex,
                 aid, a->key ? "..." : "", a->have_pseudonym ? "on" : "off",
                 prev[0] ? "previous " : "no earlier configuration record", prev,
                 prev[0] ? "..." : "");
        rsp_audit_entry_set(&e, "config", "rsp-smdp", "", changed ? "Changed" : "Unchanged",
                            "rsp-smdp", "", reason);
        rc = rsp_store_audit_append(st, &e);
    }
    if (rc)
        fprintf(stderr, "rsp-smdp: cannot write the start audit records: %s\n", rsp_strerror(rc));
    else
        log_event(changed ? "config-changed" : "config", hex);
    return rc ? -1 : 0;
}

static int max_checkpoint(void *arg, const struct rsp_audit_checkpoint *cp)
{
    struct audit_state *a = arg;
    if (cp->seq > a->last_cp_seq) {
        a->last_cp_seq = cp->seq;
        a->last_cp_at = cp->at;
    }
    return 0;
}

/* Signs a checkpoint of the head when `force`, or N records or T seconds (with new records)
 * after the last one; every checkpoint is also a log line, a copy kept outside the store. */
static void audit_tick(struct rsp_store *st, const struct config *cfg, struct audit_state *a,
                       bool force)
{
    if (!a->key)
        return;
    int64_t now = (int64_t)time(NULL);
    struct rsp_audit_head h;
    if (rsp_store_audit_head(st, &h) != 0 || h.seq <= a->last_cp_seq)
        return;
    bool due = force ||
               (cfg->audit_checkpoint_records &&
                h.seq - a->last_cp_seq >= (int64_t)cfg->audit_checkpoint_records) ||
               (cfg->audit_checkpoint_interval &&
                now - a->last_cp_at >= (int64_t)cfg->audit_checkpoint_interval);
    if (!due)
        return;
    struct rsp_audit_checkpoint cp;
    int rc = rsp_store_audit_checkpoint(st, a->key, now, &cp);
    if (rc < 0) {
        log_event("audit-checkpoint", rsp_strerror(rc));
        return;
    }
    a->last_cp_at = now;
    if (rc == 1) { /* another process signed this head */
        a->last_cp_seq = h.seq;
        return;
    }
    a->last_cp_seq = cp.seq;
    char hash[65], sig[129], kid[65];
    rsp_hex_str(hash, cp.hash, 32, 0);
    rsp_hex_str(sig, cp.sig, 64, 0);
    rsp_hex_str(kid, cp.key_id, 32, 0);
    fprintf(stderr,
            "{\"ts\":%lld,\"event\":\"audit-checkpoint\",\"seq\":%lld,\"hash\":\"%s\","
            "\"at\":%lld,\"key_id\":\"%s\",\"sig\":\"%s\"}\n",
            (long long)now, (long long)cp.seq, hash, (long long)cp.at, kid, sig);
    fflush(stderr);
}

/* What every handler gets: the configuration and the per-thread store connections. Handlers
 * refer to sessions by transactionId through the store, never by pointer. */
struct smdp_ctx {
    const struct config *cfg;
    struct rsp_store_pool *stores;
    struct rsp_es9p_http es9p_http; /* cfg NULL: ES9+ not configured */
};

/* Answer of a function this deployment does not offer (the ES9+ routes when DPauth/DPpb are not
 * configured): a JSON refusal 1.6/3.7, never a silent success. */
static int smdp_function_not_yet_available(void *ctx, const struct rsp_http_request *req,
                                           struct rsp_http_response *resp)
{
    (void)ctx;
    (void)req;
    const struct rsp_status_code *c = rsp_sc(RSP_SC_FUNCTION_UNAVAILABLE);
    snprintf(resp->log_outcome, sizeof resp->log_outcome, "Failed %s/%s", c->subject, c->reason);
    return rsp_es_encode_failure(c, &resp->body);
}

/* The five ES9+ functions (src/smdp/es9p.c); 1.6/3.7 while ES9+ is not configured. */
static int smdp_es9p(void *ctx, const struct rsp_http_request *req, struct rsp_http_response *resp)
{
    struct smdp_ctx *c = ctx;
    if (!c->es9p_http.cfg)
        return smdp_function_not_yet_available(ctx, req, resp);
    return rsp_es9p_http_handler(&c->es9p_http, req, resp);
}

struct smdp_function {
    const char *path;
    const char *name;
    rsp_http_handler handler; /* smdp_function_not_yet_available until implemented */
    bool es2p;                /* ctx is the struct rsp_es2p_http_ctx */
};

/* The route table. Every entry whose handler is smdp_function_not_yet_available is NOT YET
 * AVAILABLE. */
static const struct smdp_function smdp_functions[] = {
    {RSP_ES9P_PATH_PREFIX "initiateAuthentication", "ES9+.InitiateAuthentication", smdp_es9p,
     false},
    {RSP_ES9P_PATH_PREFIX "authenticateClient", "ES9+.AuthenticateClient", smdp_es9p, false},
    {RSP_ES9P_PATH_PREFIX "getBoundProfilePackage", "ES9+.GetBoundProfilePackage", smdp_es9p,
     false},
    {RSP_ES9P_PATH_PREFIX "handleNotification", "ES9+.HandleNotification", smdp_es9p, false},
    {RSP_ES9P_PATH_PREFIX "cancelSession", "ES9+.CancelSession", smdp_es9p, false},
    {RSP_ES2P_PATH_PREFIX "downloadOrder", "ES2+.DownloadOrder", rsp_es2p_http_handler, true},
    {RSP_ES2P_PATH_PREFIX "confirmOrder", "ES2+.ConfirmOrder", rsp_es2p_http_handler, true},
    {RSP_ES2P_PATH_PREFIX "cancelOrder", "ES2+.CancelOrder", rsp_es2p_http_handler, true},
    {RSP_ES2P_PATH_PREFIX "releaseProfile", "ES2+.ReleaseProfile", rsp_es2p_http_handler, true},
    /* branch ops: push hand-over (not a GSMA function; ES2+ authentication) */
    {RSP_ACT_PUSH_PATH, "rspkit.RecordPush", rsp_act_push_http_handler, true},
    /* branch recon: reconciliation events pushed by the operator (ES2+ authentication) */
    {RSP_RECON_HTTP_PATH, "rspkit.ReconEvents", rsp_recon_http_handler, true},
};
#define N_FUNCTIONS (sizeof smdp_functions / sizeof smdp_functions[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: rsp-smdp [-c FILE] [--check-config]\n"
               "\n"
               "SGP.22 SM-DP+ server: ES9+ (LPA) and ES2+ (operator) over HTTPS.\n"
               "\n"
               "options:\n"
               "  -c, --config FILE   configuration file (default " DEFAULT_CONFIG ")\n"
               "  --check-config      validate the configuration and the store, then exit\n"
               "  -h, --help          this text\n"
               "\n"
               "configuration keys (key = value; environment RSP_SMDP_<KEY> overrides):\n");
    for (size_t i = 0; i < N_KEYS; i++)
        fprintf(f, "  %-19s %s\n", cfg_keys[i].name, cfg_keys[i].help);
    fprintf(f, "  %-19s %s\n", "operator",
            "ES2+ operator, repeatable: ID token_sha256=HEX [cert_sha256=HEX]\n"
            "                      [callback_url=URL] [callback_ca=FILE]; the bearer token's\n"
            "                      SHA-256 authenticates the caller, whose ID must equal\n"
            "                      functionRequesterIdentifier and the profiles' owner\n"
            "                      (cert_sha256 is accepted but mutual TLS is NOT YET enforced)");
    fprintf(f, "\nfunctions (POST, JSON):\n");
    for (size_t i = 0; i < N_FUNCTIONS; i++)
        fprintf(f, "  %-30s %s\n", smdp_functions[i].name,
                smdp_functions[i].handler == smdp_function_not_yet_available
                    ? "NOT YET AVAILABLE (answers 1.6/3.7)"
                    : "available");
    fprintf(f, "\nThe ES9+ functions need dpauth_cert, dpauth_key, dppb_cert, dppb_key and\n"
               "ci_certs; without them they answer a JSON refusal (subject 1.6, reason 3.7,\n"
               "smdp_function_not_yet_available).\n"
               "\n"
               "ES2+ callers send 'Authorization: Bearer TOKEN'. HandleDownloadProgressInfo\n"
               "notifications are queued in the store and POSTed to the operator's callback_url\n"
               "until it answers 204 (retried with back-off; parked as failed after\n"
               "notify_max_attempts).\n"
               "\n"
               "Activation integrity: downloads of activation orders (rspctl order/token) are\n"
               "counted per cohort (campaign, EUM, TAC, profile type); a cohort whose failure\n"
               "rate reaches integrity_failure_pct over integrity_window, with at least\n"
               "integrity_min_sample completed attempts, is quarantined: new releases and\n"
               "downloads of it are refused until 'rspctl quarantine release'. The alert is a\n"
               "log line (event quarantine) and a POST to integrity_webhook (any 2xx ends it).\n"
               "\n"
               "exit status: 0 after a clean stop or a valid --check-config, 1 on a runtime\n"
               "failure or an invalid configuration, 2 on a usage error.\n");
}

int main(int argc, char **argv)
{
    const char *config_path = DEFAULT_CONFIG;
    bool explicit_config = false, check_only = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) {
            if (++i >= argc) {
                usage(stderr);
                return 2;
            }
            config_path = argv[i];
            explicit_config = true;
        } else if (!strcmp(argv[i], "--check-config")) {
            check_only = true;
        } else {
            fprintf(stderr, "rsp-smdp: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }

    struct config cfg;
    config_defaults(&cfg);
    if (config_load(&cfg, config_path, explicit_config) || config_env(&cfg) || config_check(&cfg))
        return 1;

    /* One connection for the sweeper here; the HTTP workers and the notifier open their own. */
    struct rsp_store *store = NULL;
    const char *url = store_url(&cfg);
    char shown[sizeof cfg.database], why[512];
    rsp_store_url_redact(url, shown, sizeof shown);
    int rc = rsp_store_open_url(url, &store, why, sizeof why);
    if (rc) {
        fprintf(stderr, "rsp-smdp: cannot open the store %s: %s (%s)\n", shown, rsp_strerror(rc),
                why);
        return 1;
    }
    struct es9p_creds es9p;
    int es9p_rc = es9p_load(&cfg, &es9p);
    if (es9p_rc < 0) {
        rsp_store_close(store);
        return 1;
    }
    static struct audit_state audit; /* outlives every store connection */
    if (audit_load(&cfg, &audit)) {
        es9p_creds_free(&es9p);
        rsp_store_close(store);
        return 1;
    }
    if (check_only) {
        char kid[17] = "";
        if (audit.key)
            rsp_hex_str(kid, audit.key_id, 8, 0);
        if (cfg.admin_port) { /* branch tele: the admin credentials must parse, too */
            struct rsp_admin_auth aa;
            char why_auth[200];
            if (rsp_admin_auth_load(cfg.admin_auth_file, &aa, why_auth, sizeof why_auth) != 0) {
                fprintf(stderr, "rsp-smdp: admin_auth_file: %s\n", why_auth);
                audit_free(&audit);
                es9p_creds_free(&es9p);
                rsp_store_close(store);
                return 1;
            }
            printf("rsp-smdp: admin listener on %s port %u (%u credentials), telemetry %s\n",
                   cfg.admin_listen_address, cfg.admin_port, (unsigned)aa.n,
                   cfg.telemetry ? "on" : "off");
            rsp_memzero(&aa, sizeof aa);
        }
        printf("rsp-smdp: configuration ok (store %s, %s schema version %d, ES9+ %s, audit "
               "checkpoints %s%s%s, pseudonyms %s)\n",
               shown, rsp_store_url_backend(url), rsp_store_schema_version(store),
               es9p_rc == 0 ? "configured" : "not configured", audit.key ? "signed by key " : "off",
               kid, audit.key ? "..." : "",
               audit.have_pseudonym ? "on" : "off (no EID in audit records or logs)");
        audit_free(&audit);
        es9p_creds_free(&es9p);
        rsp_store_close(store);
        return 0;
    }
    const struct rsp_pseudonym_key *pk = audit.have_pseudonym ? &audit.pseudonym : NULL;
    rsp_store_set_pseudonym_key(store, pk);
    if (rsp_store_audit_checkpoints(store, max_checkpoint, &audit) != 0 ||
        audit_start(store, &cfg, &audit) != 0) {
        audit_free(&audit);
        es9p_creds_free(&es9p);
        rsp_store_close(store);
        return 1;
    }
    if (!audit.key)
        log_event("audit", "no audit_key: checkpoints are not signed");
    if (!pk)
        log_event("audit", "no pseudonym_key: audit records and logs carry no EID");

    /* Signals are taken synchronously by the main thread; the server threads inherit the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    static struct rsp_act_integrity_config integrity;
    integrity_config(&cfg, &integrity);
    es9p.cfg.integrity = &integrity;
    es9p.cfg.act_alert = quarantine_alert;
    struct smdp_ctx ctx = {&cfg, NULL, {es9p_rc == 0 ? &es9p.cfg : NULL, NULL}};
    if (es9p_rc != 0)
        log_event("es9p", "not configured (no DPauth): ES9+ answers 1.6/3.7");
    rc = rsp_store_pool_create(rsp_store_url_opener, (void *)url, &ctx.stores);
    if (rc == 0)
        rsp_store_pool_set_pseudonym_key(ctx.stores, pk);
    ctx.es9p_http.stores = ctx.stores;
    if (rc) {
        es9p_creds_free(&es9p);
        rsp_store_close(store);
        return 1;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        rsp_store_pool_destroy(ctx.stores);
        es9p_creds_free(&es9p);
        rsp_store_close(store);
        return 1;
    }
    struct rsp_es2p_http_ctx es2ctx = {cfg.operators, cfg.n_operators, ctx.stores, cfg.host,
                                       cfg.cc_max_attempts};
    struct rsp_http_route routes[N_FUNCTIONS];
    for (size_t i = 0; i < N_FUNCTIONS; i++)
        routes[i] = (struct rsp_http_route){smdp_functions[i].path, smdp_functions[i].name,
                                            smdp_functions[i].handler,
                                            smdp_functions[i].es2p ? (void *)&es2ctx : &ctx};
    /* Rate limits (rsp/ratelimit.h): 65536 buckets each, a few MB at most. */
    struct rsp_ratelimit *rl_source = NULL, *rl_mid = NULL;
    if (cfg.rate_limit_source)
        rsp_ratelimit_new(cfg.rate_limit_source,
                          cfg.rate_limit_source_burst ? cfg.rate_limit_source_burst
                                                      : cfg.rate_limit_source,
                          65536, &rl_source);
    if (cfg.rate_limit_matching_id)
        rsp_ratelimit_new(cfg.rate_limit_matching_id,
                          cfg.rate_limit_matching_id_burst ? cfg.rate_limit_matching_id_burst : 10,
                          65536, &rl_mid);
    if ((cfg.rate_limit_source && !rl_source) || (cfg.rate_limit_matching_id && !rl_mid)) {
        fprintf(stderr, "rsp-smdp: cannot set up the rate limits\n");
        rsp_ratelimit_free(rl_source);
        rsp_ratelimit_free(rl_mid);
        rsp_store_pool_destroy(ctx.stores);
        es9p_creds_free(&es9p);
        rsp_store_close(store);
        curl_global_cleanup();
        return 1;
    }
    es9p.cfg.per_matching_id = rl_mid;
    struct rsp_http_config hc = {
        .per_source = rl_source,
        .bind_addr = cfg.listen_address,
        .port = (uint16_t)cfg.port,
        .threads = cfg.threads,
        .body_limit = cfg.body_limit,
        .conn_timeout_s = cfg.conn_timeout,
        .reuse_port = cfg.reuse_port,
        .max_connections = cfg.max_connections,
        .per_ip_connections = cfg.per_ip_connections,
        .plain_http = cfg.plain_http,
        .tls_chain_file = cfg.tls_chain,
        .tls_key_file = cfg.tls_key,
        .tls_priorities = cfg.tls_priorities[0] ? cfg.tls_priorities : NULL,
        .log = stdout,
        .error_log = stderr,
        /* ES9+ requests the server refuses before the handler count in the telemetry too */
        .on_refused = es9p_rc == 0 ? rsp_es9p_tele_refused : NULL,
        .on_refused_ctx = &ctx.es9p_http,
    };
    struct rsp_http_server *srv = NULL;
    rc = rsp_http_server_start(&hc, routes, N_FUNCTIONS, &srv);
    if (rc) {
        fprintf(stderr, "rsp-smdp: cannot start the HTTP server on %s:%u: %s\n", cfg.listen_address,
                cfg.port, rsp_strerror(rc));
        rsp_ratelimit_free(rl_source);
        rsp_ratelimit_free(rl_mid);
        rsp_store_pool_destroy(ctx.stores);
        es9p_creds_free(&es9p);
        rsp_store_close(store);
        curl_global_cleanup();
        return 1;
    }
    struct rsp_es2p_notify_config nc = {
        .ops = cfg.operators,
        .n_ops = cfg.n_operators,
        .max_attempts = cfg.notify_max_attempts,
        .base_delay_s = cfg.notify_base_delay,
        .max_delay_s = cfg.notify_max_delay,
        .log = stderr,
    };
    struct rsp_es2p_notifier *notifier = NULL;
    rc = rsp_es2p_notifier_start(&nc, rsp_store_url_opener, (void *)url, cfg.notify_poll_ms,
                                 &notifier);
    if (rc) {
        fprintf(stderr, "rsp-smdp: cannot start the notification worker: %s\n", rsp_strerror(rc));
        rsp_http_server_stop(srv, 0);
        rsp_ratelimit_free(rl_source);
        rsp_ratelimit_free(rl_mid);
        rsp_store_pool_destroy(ctx.stores);
        es9p_creds_free(&es9p);
        rsp_store_close(store);
        curl_global_cleanup();
        return 1;
    }
    /* The admin listener (/metrics, NOC dashboard): its own port, every route authenticated. */
    static struct rsp_admin_auth admin_auth;
    struct rsp_admin admin = {.stores = ctx.stores,
                              .auth = &admin_auth,
                              .window_s = cfg.dashboard_window,
                              .period_s = cfg.telemetry_period,
                              .failures = rsp_es9p_tele_failures};
    struct rsp_http_server *admin_srv = NULL;
    if (cfg.admin_port) {
        char why_auth[200];
        struct rsp_http_route aroutes[8];
        size_t nar = rsp_admin_routes(&admin, aroutes, 8);
        struct rsp_http_config ac = {
            .bind_addr = cfg.admin_listen_address,
            .port = (uint16_t)cfg.admin_port,
            .threads = 2,
            .conn_timeout_s = cfg.conn_timeout,
            .plain_http = cfg.admin_plain_http || cfg.plain_http,
            .tls_chain_file = cfg.tls_chain,
            .tls_key_file = cfg.tls_key,
            .tls_priorities = cfg.tls_priorities[0] ? cfg.tls_priorities : NULL,
            .log = stdout,
            .error_log = stderr,
            .get_routes = true,
        };
        rc = rsp_admin_auth_load(cfg.admin_auth_file, &admin_auth, why_auth, sizeof why_auth);
        if (rc)
            fprintf(stderr, "rsp-smdp: admin_auth_file: %s\n", why_auth);
        else if ((rc = rsp_http_server_start(&ac, aroutes, nar, &admin_srv)) != 0)
            fprintf(stderr, "rsp-smdp: cannot start the admin listener on %s:%u: %s\n",
                    cfg.admin_listen_address, cfg.admin_port, rsp_strerror(rc));
        if (rc) {
            rsp_es2p_notifier_stop(notifier);
            rsp_http_server_stop(srv, 0);
            rsp_store_pool_destroy(ctx.stores);
            es9p_creds_free(&es9p);
            rsp_store_close(store);
            curl_global_cleanup();
            return 1;
        }
    }
    char detail[sizeof shown + 64];
    snprintf(detail, sizeof detail, "%s %s", rsp_store_url_backend(url), shown);
    log_event("store", detail);
    if (admin_srv) {
        snprintf(detail, sizeof detail, "%s port %u%s (/metrics, /dashboard)",
                 cfg.admin_listen_address, (unsigned)rsp_http_server_port(admin_srv),
                 cfg.admin_plain_http || cfg.plain_http ? " plain-http" : " tls");
        log_event("admin-listening", detail);
    }
    snprintf(detail, sizeof detail, "%s port %u%s", cfg.listen_address,
             (unsigned)rsp_http_server_port(srv), cfg.plain_http ? " plain-http" : " tls");
    log_event("listening", detail);

    int status = 0;
    audit_tick(store, &cfg, &audit, true); /* the start records, signed */
    /* With an audit key the loop wakes every second to check whether a checkpoint is due. */
    time_t next_sweep = time(NULL) + (time_t)cfg.sweep_interval;
    for (;;) {
        time_t now = time(NULL);
        time_t wait = next_sweep > now ? next_sweep - now : 0;
        if (audit.key && wait > 1)
            wait = 1;
        struct timespec ts = {wait, 0};
        int sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (sig < 0 && errno != EAGAIN && errno != EINTR) {
            status = 1;
            break;
        }
        if (time(NULL) >= next_sweep) {
            next_sweep = time(NULL) + (time_t)cfg.sweep_interval;
            unsigned n = 0;
            rc = rsp_store_sweep_expired(store, (int64_t)time(NULL), &n);
            if (rc || n) {
                snprintf(detail, sizeof detail, "%u expired%s%s%s%s", n, rc ? ", error: " : "",
                         rc ? rsp_strerror(rc) : "", rc ? ": " : "",
                         rc ? rsp_store_last_error(store) : "");
                log_event("sweep", detail);
            }
            /* telemetry retention (totals are kept: /metrics counters never go down) */
            int64_t now_s = (int64_t)time(NULL), removed = 0;
            rc = rsp_store_tele_sweep(
                store,
                cfg.telemetry_retention ? (now_s - (int64_t)cfg.telemetry_retention) * 1000 : 0,
                cfg.telemetry_series_retention ? now_s - (int64_t)cfg.telemetry_series_retention
                                               : 0,
                &removed);
            if (rc || removed) {
                snprintf(detail, sizeof detail, "%lld telemetry rows removed%s%s",
                         (long long)removed, rc ? ", error: " : "", rc ? rsp_strerror(rc) : "");
                log_event("telemetry-sweep", detail);
            }
            rc = rsp_act_token_expire(store, (int64_t)time(NULL), &n);
            if (rc || n) {
                snprintf(detail, sizeof detail, "%u activation orders expired%s%s", n,
                         rc ? ", error: " : "", rc ? rsp_strerror(rc) : "");
                log_event("token-expiry", detail);
            }
            rollback_tick(store, &cfg);
        }
        audit_tick(store, &cfg, &audit, false);
    }
    log_event("stopping", "waiting for requests in flight");
    rsp_http_server_stop(srv, cfg.shutdown_grace * 1000);
    rsp_http_server_stop(admin_srv, 1000);
    rsp_ratelimit_free(rl_source);
    rsp_ratelimit_free(rl_mid);
    rsp_es2p_notifier_stop(notifier);
    rsp_store_pool_destroy(ctx.stores); /* the worker threads are gone */
    curl_global_cleanup();
    es9p_creds_free(&es9p);
    /* The stop is recorded and signed: nothing after it can be cut off unnoticed. */
    struct rsp_audit_entry stop;
    rsp_audit_entry_set(&stop, "process", "rsp-smdp", "", "Stopped", "rsp-smdp", "",
                        status ? "stopped after a failure" : "clean stop");
    if (rsp_store_audit_append(store, &stop) != 0)
        log_event("audit", "cannot record the stop");
    audit_tick(store, &cfg, &audit, true);
    audit_free(&audit);
    rsp_store_close(store);
    log_event("stopped", "");
    return status;
}
