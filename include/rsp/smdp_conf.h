/* rsp-smdp's configuration: the settings, their defaults, the key = value file syntax and the
 * checks of --check-config. Pure (no I/O): the program reads the file and the environment and
 * says whether a file is readable through a callback; the parser and the checks are here so that
 * unit tests and a fuzz target (fuzz/fuzz_smdp_conf.c) exercise exactly the code rsp-smdp runs.
 *
 * File syntax: one `key = value` per line (blanks around key and value ignored), blank lines and
 * lines starting with '#' skipped, `operator = ...` repeatable (rsp_es2p_operator_parse), any
 * other unknown key an error. A line is at most RSP_SMDP_CONF_LINE_MAX bytes, the text at most
 * RSP_SMDP_CONF_TEXT_MAX; a NUL byte is an error. */
#ifndef RSP_SMDP_CONF_H
#define RSP_SMDP_CONF_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "rsp/es2p.h"
#include "rsp/recon.h"

#define RSP_SMDP_CONF_LINE_MAX 8191
#define RSP_SMDP_CONF_TEXT_MAX (1 << 20)

struct rsp_smdp_conf {
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

enum rsp_smdp_conf_type { RSP_SMDP_CONF_STR, RSP_SMDP_CONF_UINT, RSP_SMDP_CONF_BOOL };

/* One key of the file (and of the environment, RSP_SMDP_<KEY upper-cased>): where its value
 * lives in struct rsp_smdp_conf and the --help line. */
struct rsp_smdp_conf_key {
    const char *name;
    enum rsp_smdp_conf_type type;
    size_t offset;
    size_t size;
    const char *help;
};
extern const struct rsp_smdp_conf_key rsp_smdp_conf_keys[];
extern const size_t rsp_smdp_conf_n_keys;
const struct rsp_smdp_conf_key *rsp_smdp_conf_key_find(const char *name);

void rsp_smdp_conf_defaults(struct rsp_smdp_conf *c);

/* Sets one key from its text ("true"/"yes"/"1", "false"/"no"/"0" for booleans, decimal for
 * integers). RSP_ESYNTAX with err = "WHERE: why" (the value stays as it was). */
int rsp_smdp_conf_set(struct rsp_smdp_conf *c, const struct rsp_smdp_conf_key *k, const char *value,
                      const char *where, char *err, size_t err_len);

/* Parses a whole file's text over the values already in *c (defaults, usually). 0, or
 * RSP_ESYNTAX with err = "ORIGIN:LINE: why" and *c unchanged; RSP_ENOMEM. */
int rsp_smdp_conf_parse(struct rsp_smdp_conf *c, const char *text, size_t len, const char *origin,
                        char *err, size_t err_len);

/* rollback_policies and rollback_sla (and order_lifetime) as a rollback configuration; 0, or
 * RSP_ESYNTAX with err = "rollback_policies: why". */
int rsp_smdp_conf_rollback(const struct rsp_smdp_conf *c, struct rsp_rollback_config *rb, char *err,
                           size_t err_len);

/* The checks of --check-config, in its order: every problem is passed to report (one message,
 * no "rsp-smdp: " prefix). readable (may be NULL: file checks skipped, the rest is pure) is
 * asked about each configured file (key, path, required) and returns 0 when it is usable,
 * reporting its own problem otherwise. Returns the number of problems (0: valid). */
int rsp_smdp_conf_check(
    const struct rsp_smdp_conf *c, void (*report)(void *ctx, const char *message),
    int (*readable)(void *ctx, const char *key, const char *path, bool required), void *ctx);

#endif
