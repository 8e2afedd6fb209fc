/* rsp-smdp's configuration (rsp/smdp_conf.h): keys, defaults, the key = value parser and the
 * checks of --check-config, moved out of src/bin/rsp-smdp.c unchanged in behaviour except that a
 * line longer than RSP_SMDP_CONF_LINE_MAX bytes or holding a NUL byte, and a file larger than
 * RSP_SMDP_CONF_TEXT_MAX, are now refused (fgets split a long line into several, and cut a line
 * at a NUL), and that a refused text leaves the configuration as it was. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/smdp_conf.h"
#include "rsp/store.h"

#define K(name, type, member, help)                                                                \
    {                                                                                              \
        name, type, offsetof(struct rsp_smdp_conf, member),                                        \
            sizeof(((struct rsp_smdp_conf *)0)->member), help                                      \
    }

const struct rsp_smdp_conf_key rsp_smdp_conf_keys[] = {
    K("host", RSP_SMDP_CONF_STR, host, "SM-DP+ address (FQDN) compared with smdpAddress"),
    K("listen_address", RSP_SMDP_CONF_STR, listen_address, "numeric IPv4/IPv6 address (127.0.0.1)"),
    K("port", RSP_SMDP_CONF_UINT, port, "TCP port (443; 0 = any free port)"),
    K("plain_http", RSP_SMDP_CONF_BOOL, plain_http,
      "serve plain HTTP without TLS (false; tests only)"),
    K("tls_chain", RSP_SMDP_CONF_STR, tls_chain, "PEM: DPtls certificate then its CA chain"),
    K("tls_key", RSP_SMDP_CONF_STR, tls_key, "PEM: DPtls private key"),
    K("tls_priorities", RSP_SMDP_CONF_STR, tls_priorities,
      "GnuTLS priority string (built-in default)"),
    K("dpauth_cert", RSP_SMDP_CONF_STR, dpauth_cert, "CERT.DPauth.SIG (PEM or DER)"),
    K("dpauth_key", RSP_SMDP_CONF_STR, dpauth_key, "SK.DPauth.SIG (PEM file, or a pkcs11: URI)"),
    K("dppb_cert", RSP_SMDP_CONF_STR, dppb_cert, "CERT.DPpb.SIG (PEM or DER)"),
    K("dppb_key", RSP_SMDP_CONF_STR, dppb_key, "SK.DPpb.SIG (PEM file, or a pkcs11: URI)"),
    K("ci_certs", RSP_SMDP_CONF_STR, ci_certs, "comma-separated CI certificate files"),
    K("db_path", RSP_SMDP_CONF_STR, db_path, "SQLite database file (when database is not set)"),
    K("database", RSP_SMDP_CONF_STR, database,
      "store URL: postgresql://USER@HOST/DB (PostgreSQL), sqlite:PATH or a path (SQLite);\n"
      "                      overrides db_path"),
    K("threads", RSP_SMDP_CONF_UINT, threads, "HTTP worker threads (4)"),
    K("body_limit", RSP_SMDP_CONF_UINT, body_limit, "largest request body in bytes (1048576)"),
    K("conn_timeout", RSP_SMDP_CONF_UINT, conn_timeout, "idle connection timeout in seconds (30)"),
    K("session_lifetime", RSP_SMDP_CONF_UINT, session_lifetime,
      "download session lifetime in seconds (600)"),
    K("download_attempts", RSP_SMDP_CONF_UINT, download_attempts,
      "download attempts per profile before the order ends (10; 0 = no limit)"),
    K("order_lifetime", RSP_SMDP_CONF_UINT, order_lifetime,
      "seconds a released order may wait for its download (0 = no limit)"),
    K("sweep_interval", RSP_SMDP_CONF_UINT, sweep_interval, "seconds between expiry sweeps (30)"),
    K("shutdown_grace", RSP_SMDP_CONF_UINT, shutdown_grace,
      "seconds to wait for requests on stop (10)"),
    K("cc_max_attempts", RSP_SMDP_CONF_UINT, cc_max_attempts,
      "confirmation code attempts per order (3)"),
    K("notify_max_attempts", RSP_SMDP_CONF_UINT, notify_max_attempts,
      "HandleDownloadProgressInfo attempts before parking as failed (10)"),
    K("notify_base_delay", RSP_SMDP_CONF_UINT, notify_base_delay,
      "first retry delay in seconds, doubled per attempt, plus jitter (5)"),
    K("notify_max_delay", RSP_SMDP_CONF_UINT, notify_max_delay,
      "largest retry delay in seconds (3600)"),
    K("notify_poll_ms", RSP_SMDP_CONF_UINT, notify_poll_ms,
      "outbox poll interval in milliseconds (1000)"),
    K("audit_key", RSP_SMDP_CONF_STR, audit_key,
      "PEM file or pkcs11: URI: P-256 private key signing audit checkpoints\n"
      "                      (none: no checkpoints)"),
    K("audit_checkpoint_records", RSP_SMDP_CONF_UINT, audit_checkpoint_records,
      "sign a checkpoint once this many audit records accumulated (1000; 0 = off)"),
    K("audit_checkpoint_interval", RSP_SMDP_CONF_UINT, audit_checkpoint_interval,
      "or once this many seconds passed with new records (300; 0 = off)"),
    K("pseudonym_key", RSP_SMDP_CONF_STR, pseudonym_key,
      "hex key (64-128 digits) of the EID pseudonyms in audit records and logs"),
    /* branch tele */
    K("telemetry", RSP_SMDP_CONF_BOOL, telemetry,
      "record telemetry per ES9+ call and session (true)"),
    K("telemetry_period", RSP_SMDP_CONF_UINT, telemetry_period,
      "seconds per telemetry aggregation period (60)"),
    K("telemetry_retention", RSP_SMDP_CONF_UINT, telemetry_retention,
      "seconds raw telemetry calls and sessions are kept (604800; 0 = for ever)"),
    K("telemetry_series_retention", RSP_SMDP_CONF_UINT, telemetry_series_retention,
      "seconds per-period aggregates are kept (7776000; 0 = for ever; totals\n"
      "                      are never dropped)"),
    K("admin_listen_address", RSP_SMDP_CONF_STR, admin_listen_address,
      "admin listener (/metrics, dashboard) address (127.0.0.1)"),
    K("admin_port", RSP_SMDP_CONF_UINT, admin_port,
      "admin listener TCP port (0 = no admin listener)"),
    K("admin_plain_http", RSP_SMDP_CONF_BOOL, admin_plain_http,
      "admin listener without TLS (false: TLS with tls_chain/tls_key)"),
    K("admin_auth_file", RSP_SMDP_CONF_STR, admin_auth_file,
      "admin credentials: 'bearer TOKEN' / 'basic USER:PASSWORD' lines (required\n"
      "                      with admin_port)"),
    K("dashboard_window", RSP_SMDP_CONF_UINT, dashboard_window,
      "seconds the dashboard shows (86400)"),
    /* branch ops: activation integrity */
    K("integrity_window", RSP_SMDP_CONF_UINT, integrity_window,
      "activation integrity: sliding window in seconds (3600)"),
    K("integrity_bucket", RSP_SMDP_CONF_UINT, integrity_bucket,
      "width of the window's time buckets in seconds (60)"),
    K("integrity_failure_pct", RSP_SMDP_CONF_UINT, integrity_failure_pct,
      "quarantine a cohort when failures reach this % of completed attempts\n"
      "                      in the window (50; 0 = never quarantine)"),
    K("integrity_min_sample", RSP_SMDP_CONF_UINT, integrity_min_sample,
      "completed attempts (installs + failures) needed before a verdict (20)"),
    K("integrity_webhook", RSP_SMDP_CONF_STR, integrity_webhook,
      "URL a quarantine alert is POSTed to (JSON; retried through the outbox)"),
    /* branch recon */
    K("rollback", RSP_SMDP_CONF_BOOL, rollback,
      "roll failed profiles back by policy in every sweep (true; docs/man/rsp-smdp.8)"),
    K("rollback_sla", RSP_SMDP_CONF_UINT, rollback_sla,
      "seconds from a failure to its rollback (300; >= sweep_interval)"),
    K("rollback_policies", RSP_SMDP_CONF_STR, rollback_policies,
      "KIND=POLICY,... (available|quarantine|rerelease) for download-failed,\n"
      "                      install-failed, pir-error, cancelled, ttl-expired,\n"
      "                      verification-failed, other (rspctl rollback sweep --help)"),
    K("retention_events_days", RSP_SMDP_CONF_UINT, retention_events_days,
      "delete reconciliation events older than this (0 = keep)"),
    K("retention_sessions_days", RSP_SMDP_CONF_UINT, retention_sessions_days,
      "delete ended download sessions (EID, eUICC certificate) older than this (0 = keep)"),
    K("retention_rollbacks_days", RSP_SMDP_CONF_UINT, retention_rollbacks_days,
      "delete closed rollbacks older than this (0 = keep)"),
    K("reuse_port", RSP_SMDP_CONF_BOOL, reuse_port,
      "SO_REUSEPORT: several processes listen on one port (false)"),
    K("max_connections", RSP_SMDP_CONF_UINT, max_connections,
      "open connections at most (0 = libmicrohttpd's default)"),
    K("per_ip_connections", RSP_SMDP_CONF_UINT, per_ip_connections,
      "open connections per client address at most (0 = no limit)"),
    K("rate_limit_source", RSP_SMDP_CONF_UINT, rate_limit_source,
      "requests a minute per client address, HTTP 429 beyond (0 = off)"),
    K("rate_limit_source_burst", RSP_SMDP_CONF_UINT, rate_limit_source_burst,
      "requests in a burst per client address (rate_limit_source)"),
    K("rate_limit_matching_id", RSP_SMDP_CONF_UINT, rate_limit_matching_id,
      "authenticateClient calls a minute per matchingId, HTTP 429 beyond (0 = off)"),
    K("rate_limit_matching_id_burst", RSP_SMDP_CONF_UINT, rate_limit_matching_id_burst,
      "authenticateClient calls in a burst per matchingId (10)"),
};
const size_t rsp_smdp_conf_n_keys = sizeof rsp_smdp_conf_keys / sizeof rsp_smdp_conf_keys[0];

const struct rsp_smdp_conf_key *rsp_smdp_conf_key_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < rsp_smdp_conf_n_keys; i++)
        if (strcmp(rsp_smdp_conf_keys[i].name, name) == 0)
            return &rsp_smdp_conf_keys[i];
    return NULL;
}

void rsp_smdp_conf_defaults(struct rsp_smdp_conf *c)
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

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t n, const char *fmt, ...)
{
    if (err && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, n, fmt, ap);
        va_end(ap);
    }
    return RSP_ESYNTAX;
}

int rsp_smdp_conf_set(struct rsp_smdp_conf *c, const struct rsp_smdp_conf_key *k, const char *v,
                      const char *where, char *err, size_t err_len)
{
    if (!c || !k || !v)
        return RSP_EINVAL;
    if (!where)
        where = k->name;
    char *p = (char *)c + k->offset;
    switch (k->type) {
    case RSP_SMDP_CONF_STR:
        if (strlen(v) >= k->size)
            return fail(err, err_len, "%s: value of %s too long", where, k->name);
        memcpy(p, v, strlen(v) + 1);
        return 0;
    case RSP_SMDP_CONF_UINT: {
        char *end;
        errno = 0;
        unsigned long n = strtoul(v, &end, 10);
        if (!*v || *end || errno || n > UINT_MAX || !isdigit((unsigned char)*v))
            return fail(err, err_len, "%s: %s must be a non-negative integer", where, k->name);
        *(unsigned *)p = (unsigned)n;
        return 0;
    }
    case RSP_SMDP_CONF_BOOL:
        if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
            *(bool *)p = true;
        else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
            *(bool *)p = false;
        else
            return fail(err, err_len, "%s: %s must be true or false", where, k->name);
        return 0;
    }
    return RSP_EINVAL;
}

/* operator = ID token_sha256=HEX [cert_sha256=HEX] [callback_url=URL] [callback_ca=FILE]
 * (repeatable; not overridable from the environment). */
static int add_operator(struct rsp_smdp_conf *c, const char *v, const char *where, char *err,
                        size_t err_len)
{
    char why[200];
    if (c->n_operators >= RSP_ES2P_MAX_OPERATORS)
        return fail(err, err_len, "%s: more than %d operators", where, RSP_ES2P_MAX_OPERATORS);
    struct rsp_es2p_operator *op = &c->operators[c->n_operators];
    if (rsp_es2p_operator_parse(v, op, why, sizeof why) != 0) {
        memset(op, 0, sizeof *op);
        return fail(err, err_len, "%s: %s", where, why);
    }
    for (size_t i = 0; i < c->n_operators; i++)
        if (strcmp(c->operators[i].id, op->id) == 0) {
            int rc = fail(err, err_len, "%s: operator %s defined twice", where, op->id);
            memset(op, 0, sizeof *op);
            return rc;
        }
    c->n_operators++;
    return 0;
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

int rsp_smdp_conf_parse(struct rsp_smdp_conf *c, const char *text, size_t len, const char *origin,
                        char *err, size_t err_len)
{
    if (!c || (!text && len))
        return RSP_EINVAL;
    if (!origin)
        origin = "-";
    if (len > RSP_SMDP_CONF_TEXT_MAX)
        return fail(err, err_len, "%s: larger than %d bytes", origin, RSP_SMDP_CONF_TEXT_MAX);
    struct rsp_smdp_conf *n = malloc(sizeof *n); /* the result; *c only when all is well */
    if (!n)
        return RSP_ENOMEM;
    *n = *c;
    char line[RSP_SMDP_CONF_LINE_MAX + 1], where[PATH_MAX + 32];
    int rc = 0;
    unsigned long lineno = 0;
    for (size_t pos = 0; rc == 0 && pos < len;) {
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t n_line = nl ? (size_t)(nl - start) : len - pos;
        pos += n_line + (nl ? 1 : 0);
        lineno++;
        snprintf(where, sizeof where, "%s:%lu", origin, lineno);
        if (n_line > RSP_SMDP_CONF_LINE_MAX) {
            rc = fail(err, err_len, "%s: line longer than %d bytes", where, RSP_SMDP_CONF_LINE_MAX);
            break;
        }
        if (memchr(start, 0, n_line)) {
            rc = fail(err, err_len, "%s: NUL byte in the line", where);
            break;
        }
        memcpy(line, start, n_line);
        line[n_line] = 0;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = fail(err, err_len, "%s: expected key = value", where);
            break;
        }
        *eq = 0;
        const char *key = trim(s), *val = trim(eq + 1);
        if (strcmp(key, "operator") == 0) {
            rc = add_operator(n, val, where, err, err_len);
            continue;
        }
        const struct rsp_smdp_conf_key *k = rsp_smdp_conf_key_find(key);
        if (!k) {
            rc = fail(err, err_len, "%s: unknown key '%s'", where, key);
            break;
        }
        rc = rsp_smdp_conf_set(n, k, val, where, err, err_len);
    }
    if (rc == 0)
        *c = *n;
    free(n);
    return rc;
}

int rsp_smdp_conf_rollback(const struct rsp_smdp_conf *c, struct rsp_rollback_config *rb, char *err,
                           size_t err_len)
{
    if (!c || !rb)
        return RSP_EINVAL;
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
            rsp_rollback_policy_from_name(eq + 1, &pol) != 0)
            return fail(err, err_len, "rollback_policies: bad entry '%s' (KIND=POLICY)", t);
        rb->policy[k] = pol;
    }
    char why[200];
    if (rsp_rollback_config_check(rb, why, sizeof why) != 0)
        return fail(err, err_len, "rollback_policies: %s", why);
    return 0;
}

struct checker {
    void (*report)(void *ctx, const char *message);
    int (*readable)(void *ctx, const char *key, const char *path, bool required);
    void *ctx;
    int problems;
};

static void problem(struct checker *k, const char *message)
{
    k->problems++;
    if (k->report)
        k->report(k->ctx, message);
}

static void file(struct checker *k, const char *key, const char *path, bool required)
{
    if (k->readable && k->readable(k->ctx, key, path, required) != 0)
        k->problems++;
}

int rsp_smdp_conf_check(
    const struct rsp_smdp_conf *c, void (*report)(void *ctx, const char *message),
    int (*readable)(void *ctx, const char *key, const char *path, bool required), void *ctx)
{
    if (!c)
        return RSP_EINVAL;
    struct checker k = {report, readable, ctx, 0};
    char msg[600];
    if (!c->host[0])
        problem(&k, "host is required");
    if (c->port > 65535)
        problem(&k, "port out of range");
    if (c->threads == 0 || c->threads > 256 || c->body_limit < 1024 || c->session_lifetime == 0 ||
        c->sweep_interval == 0)
        problem(&k, "threads must be 1..256, body_limit >= 1024, "
                    "session_lifetime and sweep_interval > 0");
    file(&k, "tls_chain", c->tls_chain, !c->plain_http);
    file(&k, "tls_key", c->tls_key, !c->plain_http);
    file(&k, "dpauth_cert", c->dpauth_cert, false);
    file(&k, "dpauth_key", c->dpauth_key, false);
    file(&k, "dppb_cert", c->dppb_cert, false);
    file(&k, "dppb_key", c->dppb_key, false);
    char list[sizeof c->ci_certs];
    snprintf(list, sizeof list, "%s", c->ci_certs);
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        file(&k, "ci_certs", trim(t), true);
    for (size_t i = 0; i < c->n_operators; i++)
        file(&k, "callback_ca", c->operators[i].callback_ca, false);
    file(&k, "audit_key", c->audit_key, false);
    file(&k, "pseudonym_key", c->pseudonym_key, false);
    if (c->integrity_window == 0 || c->integrity_bucket == 0 || c->integrity_failure_pct > 100)
        problem(&k, "integrity_window and integrity_bucket must be > 0, "
                    "integrity_failure_pct 0-100");
    if (c->notify_poll_ms == 0)
        problem(&k, "notify_poll_ms must be > 0");
    struct rsp_rollback_config rbc;
    if (rsp_smdp_conf_rollback(c, &rbc, msg, sizeof msg) != 0)
        problem(&k, msg);
    if (c->rollback && c->sweep_interval > c->rollback_sla) {
        snprintf(msg, sizeof msg, "sweep_interval (%u) must not exceed rollback_sla (%u)",
                 c->sweep_interval, c->rollback_sla);
        problem(&k, msg);
    }
    if (!c->database[0] && !c->db_path[0])
        problem(&k, "db_path or database is required");
    if (c->telemetry_period == 0 || c->dashboard_window == 0 || c->admin_port > 65535)
        problem(&k, "telemetry_period and dashboard_window must be > 0, admin_port 0..65535");
    if (c->admin_port) {
        file(&k, "admin_auth_file", c->admin_auth_file, true);
        if (!c->admin_plain_http && !c->plain_http && (!c->tls_chain[0] || !c->tls_key[0]))
            problem(&k, "the admin listener needs tls_chain/tls_key or admin_plain_http");
        if (c->admin_port == c->port)
            problem(&k, "admin_port must differ from port");
    }
    if (c->database[0] && !rsp_store_url_backend(c->database))
        problem(&k, "database: not a store URL (postgresql://..., postgres://..., "
                    "sqlite:PATH or a file path)");
    return k.problems;
}
