/* rspctl internals: the subcommand table type and helpers shared by the subcommand files
 * (rspctl_<command>.c). Exit codes: 0 success, 1 failure, 2 usage error. */
#ifndef RSPCTL_H
#define RSPCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "rsp/buf.h"

#define EXIT_USAGE 2

struct subcommand {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
};

int rspctl_usage_table(FILE *f, const char *prefix, const struct subcommand *t, size_t n);
bool rspctl_is_help(const char *a);
/* Dispatches argv[1] among the table; argv[0] is the caller's own name. */
int rspctl_dispatch(const char *prefix, const struct subcommand *t, size_t n, int argc,
                    char **argv);
/* Reads a whole file ("-" = standard input) into out; 0 or RSP_EIO. */
int rspctl_read_file(const char *path, struct rsp_buf *out);
/* Writes data atomically: temporary file in the same directory, fsync, rename, fsync of the
 * directory. `mode` is applied before any byte is written (0600 for keys). */
int rspctl_write_atomic(const char *dir, const char *name, const void *data, size_t len,
                        mode_t mode);
int rspctl_make_dir(const char *path);
/* Matches "--name VALUE" or "--name=VALUE"; advances *i past what it consumed. 1 matched,
 * 0 not this option, -1 value missing. */
int rspctl_opt_value(int argc, char **argv, int *i, const char *name, const char **val);

/* Subcommands. */
int rspctl_cmd_pki(int argc, char **argv);
int rspctl_cmd_decode(int argc, char **argv);
int rspctl_cmd_qr(int argc, char **argv);
int rspctl_cmd_es2sink(int argc, char **argv);
int rspctl_cmd_manifest(int argc, char **argv);
int rspctl_cmd_profiles(int argc, char **argv);
int rspctl_cmd_audit(int argc, char **argv);
int rspctl_cmd_acceptance(int argc, char **argv);
int rspctl_cmd_report(int argc, char **argv);
/* branch recon (rspctl_recon.c, rspctl_report_recon.c) */
int rspctl_cmd_recon(int argc, char **argv);
int rspctl_cmd_rollback(int argc, char **argv);
int rspctl_cmd_privacy(int argc, char **argv);
int rspctl_report_rollback(int argc, char **argv);
int rspctl_report_parity(int argc, char **argv);
struct rsp_store;
struct rsp_pseudonym_key;
struct rsp_rollback_config;
/* Opens an existing store (an SQLite file must exist); -1 with a message. */
int rspctl_recon_open_db(const char *cmd, const char *db, struct rsp_store **st);
int rspctl_recon_load_pseudonym_key(const char *cmd, const char *path,
                                    struct rsp_pseudonym_key *key);
/* Seconds, or N followed by s, m, h or d. */
int rspctl_recon_parse_secs(const char *s, int64_t *out);
/* KIND=POLICY (rollback) into cfg; 0 or -1. */
int rspctl_recon_policy_arg(const char *v, struct rsp_rollback_config *cfg);

/* The actor of operator actions in audit records: "rspctl:" and the user's login name (or uid). */
const char *rspctl_actor(void);

/* rspctl_write_atomic for a whole path ("dir/name" or "name"). */
int rspctl_write_path(const char *path, const void *data, size_t len, mode_t mode);
struct rsp_key;
/* The operator's public key from a certificate or public key file (PEM or DER). */
int rspctl_load_operator_key(const char *path, struct rsp_key **out);

#endif
