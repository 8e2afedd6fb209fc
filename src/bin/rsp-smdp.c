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
#include "rsp/smdp_conf.h"
#include "rsp/store.h"

#define DEFAULT_CONFIG "/etc/rspkit/rsp-smdp.conf"

/* ---- configuration (keys, defaults, parser and checks: src/smdp/smdp_conf.c) ---- */

#define N_KEYS   rsp_smdp_conf_n_keys
#define cfg_keys rsp_smdp_conf_keys

/* rollback_policies and rollback_sla into a rollback configuration; -1 with a message. */
static int rollback_config(const struct rsp_smdp_conf *c, struct rsp_rollback_config *rb)
{
    char why[600];
    if (rsp_smdp_conf_rollback(c, rb, why, sizeof why) != 0) {
        fprintf(stderr, "rsp-smdp: %s\n", why);
        return -1;
    }
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

/* The file (rsp_smdp_conf_parse); a missing default file is no error. */
static int config_load(struct rsp_smdp_conf *c, const char *path, bool must_exist)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (!must_exist && errno == ENOENT)
            return 0;
        fprintf(stderr, "rsp-smdp: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct rsp_buf text = RSP_BUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && text.len <= RSP_SMDP_CONF_TEXT_MAX)
        rsp_buf_append(&text, chunk, n);
    int rc = ferror(f) || text.err ? -1 : 0;
    if (rc)
        fprintf(stderr, "rsp-smdp: cannot read %s: %s\n", path, strerror(errno));
    fclose(f);
    char err[PATH_MAX + 600];
    if (rc == 0) {
        int prc = rsp_smdp_conf_parse(c, (const char *)text.data, text.len, path, err, sizeof err);
        if (prc != 0) {
            fprintf(stderr, "rsp-smdp: %s\n", prc == RSP_ESYNTAX ? err : "out of memory");
            rc = -1;
        }
    }
    rsp_buf_free(&text);
    return rc;
}

/* RSP_SMDP_<KEY> (key upper-cased) overrides the file. */
static int config_env(struct rsp_smdp_conf *c)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        char name[64];
        size_t n = (size_t)snprintf(name, sizeof name, "RSP_SMDP_");
        for (const char *k = cfg_keys[i].name; *k && n + 1 < sizeof name; k++)
            name[n++] = (char)toupper((unsigned char)*k);
        name[n] = 0;
        const char *v = getenv(name);
        char err[600];
        if (v && rsp_smdp_conf_set(c, &cfg_keys[i], v, name, err, sizeof err) != 0) {
            fprintf(stderr, "rsp-smdp: %s\n", err);
            return -1;
        }
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

static void report_problem(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "rsp-smdp: %s\n", message);
}

static int readable(void *ctx, const char *key, const char *path, bool required)
{
    (void)ctx;
    return check_readable(key, path, required);
}

static int config_check(const struct rsp_smdp_conf *c)
{
    return rsp_smdp_conf_check(c, report_problem, readable, NULL) ? -1 : 0;
}

/* The store to open: `database` when set, else the SQLite file db_path. */
static const char *store_url(const struct rsp_smdp_conf *c)
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
static int es9p_load(const struct rsp_smdp_conf *cfg, struct es9p_creds *c)
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

static void integrity_config(const struct rsp_smdp_conf *cfg, struct rsp_act_integrity_config *out)
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
static void rollback_tick(struct rsp_store *store, const struct rsp_smdp_conf *cfg)
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
static int audit_load(const struct rsp_smdp_conf *cfg, struct audit_state *a)
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
static int config_fingerprint(const struct rsp_smdp_conf *c, const struct audit_state *a,
                              uint8_t out[32])
{
    struct rsp_buf t = RSP_BUF_INIT;
    char line[8192], hex[65];
    uint8_t h[32];
    int rc = 0;
    for (size_t i = 0; i < N_KEYS; i++) {
        const char *p = (const char *)c + cfg_keys[i].offset;
        switch (cfg_keys[i].type) {
        case RSP_SMDP_CONF_STR:
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
        case RSP_SMDP_CONF_UINT:
            snprintf(line, sizeof line, "%s=%u\n", cfg_keys[i].name, *(const unsigned *)p);
            break;
        case RSP_SMDP_CONF_BOOL:
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
static int audit_start(struct rsp_store *st, const struct rsp_smdp_conf *cfg,
                       const struct audit_state *a)
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
static void audit_tick(struct rsp_store *st, const struct rsp_smdp_conf *cfg, struct audit_state *a,
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
    const struct rsp_smdp_conf *cfg;
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

    struct rsp_smdp_conf cfg;
    rsp_smdp_conf_defaults(&cfg);
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
