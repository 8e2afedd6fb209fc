/* SM-DP+ store: the inventory (profiles), download sessions, the audit log and the ES2+ outbox.
 *
 * State lives here, never in a process (DESIGN.md): every ES9+ call may land on another process,
 * so handlers read a row, decide, and write it back with a compare-and-set on (state, version).
 * A lost race is RSP_ESTATE, a missing row RSP_ENOTFOUND.
 *
 * The store is a vtable (struct rsp_store_ops) with two backends, SQLite (store_sqlite.c) and
 * PostgreSQL (store_pg.c); handlers only call the rsp_store_* wrappers below, which validate
 * transitions against the state tables before the backend is asked to write.
 *
 * Threading: one struct rsp_store is one connection and is used by one thread at a time. Open one
 * per worker thread on the same database (SQLite: the same file, WAL mode; PostgreSQL: the same
 * database, from any number of processes and machines).
 *
 * Audit: every audit record is appended to one hash chain (rsp/audit.h, docs/AUDIT.md). A backend
 * writes a record in the same transaction as the change it records: it reads the one-row chain
 * head (last seq and hash) under its write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: SELECT ...
 * FOR UPDATE of that row), seals the record with rsp_audit_seal, inserts it and moves the head.
 * So several processes may append concurrently and the chain stays one sequence. Records carry
 * pseudonyms (rsp_store_subject), never raw EIDs.
 */
#ifndef RSP_STORE_H
#define RSP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/audit.h"
#include "rsp/buf.h"
#include "rsp/sgp22_types.h"
#include "rsp/telemetry.h"

/* Profile lifecycle at the SM-DP+ (SGP.22 §3.1.6; addendum §2.8). */
enum rsp_profile_state {
    RSP_PROFILE_AVAILABLE = 0,
    RSP_PROFILE_ALLOCATED,
    RSP_PROFILE_LINKED,
    RSP_PROFILE_CONFIRMED,
    RSP_PROFILE_RELEASED,
    RSP_PROFILE_DOWNLOADED,
    RSP_PROFILE_INSTALLED,
    RSP_PROFILE_ERROR,
    RSP_PROFILE_UNAVAILABLE,
    RSP_PROFILE_NSTATES
};

/* Download session (one per transactionId, §3.1.2 - §3.1.3). */
enum rsp_session_state {
    RSP_SESSION_STARTED = 0, /* after initiateAuthentication */
    RSP_SESSION_AUTHENTICATED,
    RSP_SESSION_BPP_BOUND,
    RSP_SESSION_FINISHED,
    RSP_SESSION_CANCELLED,
    RSP_SESSION_EXPIRED,
    RSP_SESSION_NSTATES
};

/* Names as stored in the database ("Available", "BPP-bound", ...). NULL for out-of-range. */
const char *rsp_profile_state_name(enum rsp_profile_state s);
const char *rsp_session_state_name(enum rsp_session_state s);
/* Parses a stored name; RSP_ESYNTAX if unknown. */
int rsp_profile_state_from_name(const char *name, enum rsp_profile_state *out);
int rsp_session_state_from_name(const char *name, enum rsp_session_state *out);

/* The one place that says which transitions exist. Staying in the same state is not a transition
 * (a field update) and is always allowed. Returns 0 or RSP_ESTATE (RSP_EINVAL out of range). */
int rsp_profile_transition_check(enum rsp_profile_state from, enum rsp_profile_state to);
int rsp_session_transition_check(enum rsp_session_state from, enum rsp_session_state to);

#define RSP_STORE_TEXT_MAX 64

/* Schema version of this rspkit: the number of migrations of each backend (each asserts it at
 * compile time). Tests compare against this instead of a literal. */
/* 5 accept, 6 ops, 7 tele, 8 recon, 9 ES9+ indexes, 10 batch manifests */
#define RSP_STORE_SCHEMA_VERSION 11
/* The tables schema 6 added (activation operations; tests that rebuild an older schema drop them).
 */
#define RSP_STORE_ACT_TABLES_DROP                                                                  \
    "DROP TABLE campaigns; DROP TABLE activation_orders; DROP TABLE activation_tokens;"            \
    " DROP TABLE pushes; DROP TABLE cohort_buckets; DROP TABLE quarantines;"                       \
    " DROP TABLE euicc_info;"
/* The tables schema 7 added (telemetry). */
#define RSP_STORE_TELE_TABLES_DROP                                                                 \
    "DROP TABLE tele_call; DROP TABLE tele_session; DROP TABLE tele_series; DROP TABLE "           \
    "tele_total;"

struct rsp_profile {
    char iccid[21]; /* decimal digits, no F padding (primary key) */
    char imsi[16];
    char profile_type[RSP_STORE_TEXT_MAX + 1];
    char spn[RSP_STORE_TEXT_MAX + 1];
    char name[RSP_STORE_TEXT_MAX + 1];
    enum rsp_profile_class pclass;
    char owner[RSP_STORE_TEXT_MAX + 1];     /* operator id allowed to order it (ES2+ requester) */
    char operator_[RSP_STORE_TEXT_MAX + 1]; /* network operator name */
    uint8_t package_sha256[32];
    char package_path[256]; /* empty when the package is stored as a blob */
    enum rsp_profile_state state;
    int64_t state_since; /* unix seconds of the last transition (set by the store) */
    int64_t created_at;  /* set by the store on insert */
    char eid[33];        /* empty when not linked */
    char matching_id[RSP_STORE_TEXT_MAX + 1];
    bool cc_set;
    uint8_t cc_hash[32]; /* SHA-256(CC) (addendum §2.10); the plain code is never stored */
    unsigned cc_attempts;
    unsigned cc_max_attempts;
    unsigned download_attempts;
    bool release_flag;
    char smds_address[RSP_STORE_TEXT_MAX + 1];
    char error_reason[128];
    int64_t version; /* bumped by every update (compare-and-set token) */
};

struct rsp_session {
    char tid[2 * RSP_TID_MAX + 1]; /* upper-case hex (primary key) */
    char iccid[21];                /* empty until authenticateClient picked a profile */
    char eid[33];
    enum rsp_session_state state;
    uint8_t server_challenge[16];
    uint8_t euicc_challenge[16];
    int curve; /* enum rsp_curve of the CI in use */
    uint8_t ci_pkid[20];
    size_t ci_pkid_len;
    struct rsp_buf otpk_euicc; /* otPK.EUICC.ECKA of the bound BPP (for the retry rule) */
    struct rsp_buf bpp;        /* the bound BPP, for a retry with the same otPK */
    struct rsp_buf euicc_cert; /* CERT.EUICC from authenticateClient (PIR, cancelSession) */
    uint8_t euicc_sig1[64];    /* euiccSignature1 (input of smdpSignature2) */
    uint8_t smdp_sig2[64];     /* smdpSignature2 (input of euiccSignature2) */
    int64_t expires_at;
    int64_t created_at; /* set by the store */
    int64_t updated_at; /* set by the store */
    int64_t version;
};

/* Zeroes the struct (empty buffers). */
void rsp_session_init(struct rsp_session *s);
/* Frees the buffers (the BPP is wiped). */
void rsp_session_free(struct rsp_session *s);

/* Audit records are struct rsp_audit_entry (rsp/audit.h): one hash-chained record per state
 * change, import, ES9+/ES2+ outcome, operator action and configuration change (docs/AUDIT.md). */

/* One pending ES2+ notification (HandleDownloadProgressInfo to the operator). */
struct rsp_outbox_item {
    int64_t id; /* set by the store */
    char iccid[21];
    char url[256];
    char body[4096]; /* the JSON request body */
    unsigned attempts;
    int64_t next_attempt_at;
};

struct rsp_store;
struct rsp_store_import_item;
/* branch recon: reconciliation events, rollbacks, privacy (rsp/recon.h) */
struct rsp_recon_event;
struct rsp_rollback;
struct rsp_privacy_counts;
typedef int (*rsp_store_recon_cb)(void *arg, const struct rsp_recon_event *ev);
typedef int (*rsp_store_rollback_cb)(void *arg, const struct rsp_rollback *rb);
/* Callback of rsp_store_profile_list. */
typedef int (*rsp_store_profile_cb)(void *arg, const struct rsp_profile *p);
/* Callbacks of rsp_store_audit_walk and rsp_store_audit_checkpoints. */
typedef int (*rsp_store_audit_cb)(void *arg, const struct rsp_audit_entry *e);
typedef int (*rsp_store_checkpoint_cb)(void *arg, const struct rsp_audit_checkpoint *cp);
/* Callback of rsp_store_tele_totals and rsp_store_tele_series (branch tele). */
typedef int (*rsp_store_tele_cb)(void *arg, const struct rsp_tele_series *s);

/* branch accept: one recorded acceptance run (table acceptance_run; rsp/acceptance.h). */
#define RSP_ACCEPTANCE_SUMMARY_MAX 1024
struct rsp_acceptance_run {
    int64_t id;                         /* set by the store (1, 2, ...) */
    char model[RSP_STORE_TEXT_MAX + 1]; /* device model name given by the operator ("" none) */
    char tac[9];                        /* device TAC, 8 digits ("" none) */
    char eum[16];                       /* EUM identification read from the card (EID digits) */
    char svn[16];                       /* SGP.22 version read from the card */
    char target[16];                    /* "pcsc", "at", "soft" */
    int64_t started_at, finished_at;    /* unix seconds */
    bool passed;
    char failed_step[32];                     /* the first failed step ("" when passed) */
    char summary[RSP_ACCEPTANCE_SUMMARY_MAX]; /* per step "name=pass:1.234;..." */
    uint8_t junit_sha256[32];                 /* SHA-256 of the JUnit report file */
};
typedef int (*rsp_store_acceptance_cb)(void *arg, const struct rsp_acceptance_run *run);
/* branch ops: a parameter of a generic statement (x_exec). The SQL is written once for both
 * backends: parameters are ?1 .. ?N (rewritten to $N for PostgreSQL), columns TEXT or INTEGER
 * (BIGINT), no backend-specific syntax (INSERT ... ON CONFLICT, no RETURNING); a parameter whose
 * type PostgreSQL cannot infer from its context (e.g. ?1 - ?2) is not allowed. Text NULL = SQL
 * NULL. */
struct rsp_store_param {
    const char *text;
    int64_t i;
    bool is_int;
};
/* One result row of x_exec: ncol columns as text; a non-zero return stops and is returned. */
typedef int (*rsp_store_row_cb)(void *arg, int ncol, const char *const *val);

/* Backend vtable. Implementations may assume the wrappers validated the arguments. Every method
 * that writes more than one row does so in one transaction. */
struct rsp_store_ops {
    void (*close)(struct rsp_store *st);
    int (*profile_insert)(struct rsp_store *st, const struct rsp_profile *p, const uint8_t *pkg,
                          size_t pkg_len, const char *actor);
    int (*profile_get)(struct rsp_store *st, const char *iccid, struct rsp_profile *out);
    int (*profile_package)(struct rsp_store *st, const char *iccid, struct rsp_buf *out);
    /* First profile (by iccid) in Available with this profile type; RSP_ENOTFOUND if none. */
    int (*profile_find_available)(struct rsp_store *st, const char *profile_type,
                                  struct rsp_profile *out);
    /* Same, among the profiles of one owner (ES2+ operator isolation): RSP_ENOTFOUND if the owner
     * has no profile of this type at all, RSP_ESTATE if it has some but none is Available. */
    int (*profile_find_available_owned)(struct rsp_store *st, const char *profile_type,
                                        const char *owner, struct rsp_profile *out);
    /* The profile an ES9+ download asks for: the one with this matchingId (any state), or with an
     * empty matching_id the first Released profile linked to `eid` (default SM-DP+ case). */
    int (*profile_find_download)(struct rsp_store *st, const char *matching_id, const char *eid,
                                 struct rsp_profile *out);
    /* Writes every mutable field of `next` where iccid matches and (state, version) equal
     * (expect_state, expect_version); records an audit row when the state changes; bumps the
     * version. RSP_ESTATE when no row matched. */
    int (*profile_cas)(struct rsp_store *st, const struct rsp_profile *next,
                       enum rsp_profile_state expect_state, int64_t expect_version,
                       const char *actor, const char *reason);
    int (*session_insert)(struct rsp_store *st, const struct rsp_session *s, const char *actor);
    int (*session_get)(struct rsp_store *st, const char *tid_hex, struct rsp_session *out);
    int (*session_cas)(struct rsp_store *st, const struct rsp_session *next,
                       enum rsp_session_state expect_state, int64_t expect_version,
                       const char *actor, const char *reason);
    /* The latest session (by creation) of this ICCID that holds a bound BPP; RSP_ENOTFOUND. */
    int (*session_find_bound)(struct rsp_store *st, const char *iccid, struct rsp_session *out);
    /* Sessions not in a final state with expires_at <= now become Expired; the profile of each
     * follows the rollback rule (rsp_store_sweep_expired). */
    int (*sweep_expired)(struct rsp_store *st, int64_t now, unsigned *n_expired);
    /* Audit records for one entity key, oldest first, up to max; *n gets the count. */
    int (*audit_list)(struct rsp_store *st, const char *key, struct rsp_audit_entry *out,
                      size_t max, size_t *n);
    int (*outbox_add)(struct rsp_store *st, struct rsp_outbox_item *it);
    /* The oldest item due at `now` (RSP_ENOTFOUND if none). */
    int (*outbox_next_due)(struct rsp_store *st, int64_t now, struct rsp_outbox_item *out);
    /* Delivered: removed. Failed: attempts+1 and a new next_attempt_at. */
    int (*outbox_done)(struct rsp_store *st, int64_t id);
    int (*outbox_retry)(struct rsp_store *st, int64_t id, int64_t next_attempt_at);
    /* Inventory import (NULL in backends without it: RSP_ESTATE). See rsp_store_profile_import. */
    int (*profile_import)(struct rsp_store *st, struct rsp_store_import_item *items, size_t n,
                          const char *actor);
    int (*profile_manifest)(struct rsp_store *st, const char *iccid, struct rsp_buf *out);
    int (*profile_list)(struct rsp_store *st, const enum rsp_profile_state *state,
                        rsp_store_profile_cb cb, void *arg);
    /* Optional (NULL when a backend lacks them); see the rsp_store_* wrappers of the same name. */
    int (*schema_version)(struct rsp_store *st);
    const char *(*last_error)(struct rsp_store *st);
    void (*set_fault_hook)(struct rsp_store *st, void (*hook)(const char *point));
    /* ---- audit chain (see the wrappers rsp_store_audit_* below for the contracts) ---- */
    int (*audit_append)(struct rsp_store *st, struct rsp_audit_entry *e);
    int (*audit_head)(struct rsp_store *st, struct rsp_audit_head *out);
    int (*audit_walk)(struct rsp_store *st, int64_t from, int64_t to, rsp_store_audit_cb cb,
                      void *arg);
    int (*audit_last)(struct rsp_store *st, const char *entity, const char *key,
                      struct rsp_audit_entry *out);
    int (*audit_checkpoint_add)(struct rsp_store *st, const struct rsp_audit_checkpoint *cp);
    int (*audit_checkpoint_walk)(struct rsp_store *st, rsp_store_checkpoint_cb cb, void *arg);
    int (*audit_export_mark)(struct rsp_store *st, int64_t first, int64_t last,
                             const uint8_t sha256[32], const char *actor);
    int (*audit_prune)(struct rsp_store *st, int64_t through, const char *actor, int64_t *n_removed,
                       const char **why);
    /* branch accept: acceptance runs and requirements (see the rsp_store_acceptance_* wrappers) */
    int (*acceptance_run_add)(struct rsp_store *st, struct rsp_acceptance_run *run,
                              const char *actor);
    int (*acceptance_run_latest)(struct rsp_store *st, const char *model,
                                 struct rsp_acceptance_run *out);
    int (*acceptance_run_list)(struct rsp_store *st, const char *model, size_t max,
                               rsp_store_acceptance_cb cb, void *arg);
    int (*acceptance_require)(struct rsp_store *st, const char *scope, const char *name, bool on,
                              const char *actor, bool *changed);
    int (*acceptance_required)(struct rsp_store *st, const char *scope, const char *name,
                               bool *out);
    /* branch ops: generic statements for the activation-operations records (rsp/act.h,
     * src/smdp/act_store.c). See struct rsp_store_param for the SQL dialect. x_exec runs one
     * statement (inside or outside an x_begin transaction), calling cb once per result row with
     * the columns as text (NULL for SQL NULL); *changes (may be NULL) gets the rows changed.
     * x_audit appends a record to the chain inside the open transaction (as the backend's own
     * changes do). x_finish commits when rc is 0, else rolls back, and returns the result. */
    int (*x_begin)(struct rsp_store *st);
    int (*x_exec)(struct rsp_store *st, const char *sql, const struct rsp_store_param *p, int n,
                  rsp_store_row_cb cb, void *arg, int64_t *changes);
    int (*x_audit)(struct rsp_store *st, struct rsp_audit_entry *e);
    int (*x_finish)(struct rsp_store *st, int rc);
    /* branch tele: telemetry (see the rsp_store_tele_* wrappers for the contracts) */
    int (*tele_record)(struct rsp_store *st, struct rsp_tele_record *r, int64_t period_s);
    int (*tele_totals)(struct rsp_store *st, rsp_store_tele_cb cb, void *arg);
    int (*tele_series)(struct rsp_store *st, int64_t from, int64_t to, rsp_store_tele_cb cb,
                       void *arg);
    int (*tele_session_get)(struct rsp_store *st, const char *tid, struct rsp_tele_session *out);
    int (*tele_sweep)(struct rsp_store *st, int64_t calls_before_ms, int64_t series_before,
                      int64_t *n_removed);
    /* branch recon: reconciliation events, rollbacks, privacy (contracts at the rsp_store_recon_*,
     * rsp_store_rollback_*, rsp_store_privacy_* wrappers in rsp/recon.h) */
    int (*recon_import)(struct rsp_store *st, const struct rsp_recon_event *ev, size_t n,
                        const char *actor, size_t *inserted);
    int (*recon_walk)(struct rsp_store *st, int kind, rsp_store_recon_cb cb, void *arg);
    int (*recon_action_mark)(struct rsp_store *st, const char *kind, const char *subject,
                             const char *action, const char *actor);
    int (*rollback_open)(struct rsp_store *st, struct rsp_rollback *rb, const char *actor);
    int (*rollback_walk)(struct rsp_store *st, bool open_only, rsp_store_rollback_cb cb, void *arg);
    int (*rollback_close)(struct rsp_store *st, const struct rsp_rollback *rb, const char *actor);
    int (*privacy_erase)(struct rsp_store *st, const char *customer, const char *actor,
                         struct rsp_privacy_counts *out);
    int (*retention_sweep)(struct rsp_store *st, int data_class, int64_t before, const char *actor,
                           int64_t *n_removed);
    /* lead s4: one transaction per protocol call (rsp_store_call_begin / rsp_store_call_end) */
    int (*call_begin)(struct rsp_store *st);
    int (*call_end)(struct rsp_store *st, bool commit);
};

struct rsp_store {
    const struct rsp_store_ops *ops;
    /* Key of the pseudonyms in audit records and logs (rsp_store_set_pseudonym_key); NULL: no
     * person-related identifier is recorded at all. Backends allocate the struct zeroed. */
    const struct rsp_pseudonym_key *pseudonym_key;
};

/* SQLite backend. Creates the file and migrates the schema to the current version. */
int rsp_store_sqlite_open(const char *path, struct rsp_store **out);
/* Schema version after open (for tests and --check-config). */
int rsp_store_sqlite_schema_version(struct rsp_store *st);
/* Test hook: called with a point name between the statements of a multi-step change (inside the
 * transaction). NULL to remove. For crash tests only. */
void rsp_store_sqlite_set_fault_hook(struct rsp_store *st, void (*hook)(const char *point));

/* PostgreSQL backend (libpq). `conninfo` is a libpq connection string or URI
 * (postgresql://USER@HOST:PORT/DB?...). Connects and migrates the schema to the current version
 * (the same numbering as SQLite: same version = same logical schema). RSP_EIO when the server
 * cannot be reached, RSP_ESTATE when the database was written by a newer rspkit. A connection
 * lost during an operation is re-established once and the operation re-run when nothing can have
 * been committed; otherwise RSP_EIO (rsp_store_last_error says what happened). */
int rsp_store_pg_open(const char *conninfo, struct rsp_store **out);
/* Same, with the reason of a failure in err (no password). */
int rsp_store_pg_open_err(const char *conninfo, struct rsp_store **out, char *err, size_t err_len);
/* rsp_store_open_fn for the PostgreSQL backend: arg is the conninfo (const char *). */
int rsp_store_pg_opener(void *conninfo, struct rsp_store **out);
/* The server process id of the connection (tests); 0 for a store of another backend. */
int rsp_store_pg_backend_pid(struct rsp_store *st);

/* Opens a store by URL: "postgres://..." or "postgresql://..." (PostgreSQL), "sqlite:PATH" or a
 * plain file path (SQLite). Any other "scheme://" is RSP_EINVAL. err (may be NULL) gets the
 * reason of a failure; it never contains a password. */
int rsp_store_open_url(const char *url, struct rsp_store **out, char *err, size_t err_len);
/* rsp_store_open_fn for rsp_store_open_url: arg is the URL (const char *). */
int rsp_store_url_opener(void *url, struct rsp_store **out);
/* "postgres" or "sqlite" for a URL as rsp_store_open_url reads it; NULL if it refuses it. */
const char *rsp_store_url_backend(const char *url);
/* The URL with any password replaced by "***" (for logs and messages). */
void rsp_store_url_redact(const char *url, char *out, size_t cap);
/* Schema version of the open store (-1 on failure). */
int rsp_store_schema_version(struct rsp_store *st);
/* Human-readable reason of the last failure of this connection ("" if none is known). */
const char *rsp_store_last_error(struct rsp_store *st);
/* Test hook, as rsp_store_sqlite_set_fault_hook, for any backend that has fault points. */
void rsp_store_set_fault_hook(struct rsp_store *st, void (*hook)(const char *point));

void rsp_store_close(struct rsp_store *st);

/* One transaction per protocol call. Between rsp_store_call_begin and rsp_store_call_end the
 * operations on st do not commit one by one: the first change opens a transaction, each
 * operation runs as a savepoint inside it (one that fails or loses its compare-and-set undoes
 * only its own changes, as before), and rsp_store_call_end commits everything at once (commit
 * true) or undoes it (false). Nothing of the call is visible to other connections before that
 * commit, and nothing of it is stored if the commit fails (its return value: the caller must
 * not report success then). Calls do not nest. A backend without the operations commits each
 * operation on its own (both functions return 0). */
int rsp_store_call_begin(struct rsp_store *st);
int rsp_store_call_end(struct rsp_store *st, bool commit);

/* Per-thread connections to one database, for servers whose worker threads each need their own
 * struct rsp_store. `open` is called on a thread's first rsp_store_pool_get. */
typedef int (*rsp_store_open_fn)(void *arg, struct rsp_store **out);
struct rsp_store_pool;
int rsp_store_pool_create(rsp_store_open_fn open, void *arg, struct rsp_store_pool **out);
/* The calling thread's connection (opened on first use; owned by the pool). */
int rsp_store_pool_get(struct rsp_store_pool *p, struct rsp_store **out);
/* Connections opened so far. */
size_t rsp_store_pool_size(struct rsp_store_pool *p);
/* Closes every connection; no thread may use one afterwards. */
void rsp_store_pool_destroy(struct rsp_store_pool *p);
/* The pseudonym key every connection of the pool gets (rsp_store_set_pseudonym_key); call it
 * before the first rsp_store_pool_get. Not owned. */
void rsp_store_pool_set_pseudonym_key(struct rsp_store_pool *p,
                                      const struct rsp_pseudonym_key *key);
/* rsp_store_open_fn for the SQLite backend: arg is the database path (const char *). */
int rsp_store_sqlite_opener(void *path, struct rsp_store **out);

/* Wrappers: argument checks, then the backend. */
/* Inserts a profile (state as given; created_at/state_since/version set by the store) with its
 * package blob (pkg may be NULL when package_path is used). RSP_ESTATE if the ICCID, or a non-empty
 * matchingId, already exists. */
int rsp_store_profile_insert(struct rsp_store *st, const struct rsp_profile *p, const uint8_t *pkg,
                             size_t pkg_len, const char *actor);
int rsp_store_profile_get(struct rsp_store *st, const char *iccid, struct rsp_profile *out);
int rsp_store_profile_package(struct rsp_store *st, const char *iccid, struct rsp_buf *out);
int rsp_store_profile_find_available(struct rsp_store *st, const char *profile_type,
                                     struct rsp_profile *out);
int rsp_store_profile_find_available_owned(struct rsp_store *st, const char *profile_type,
                                           const char *owner, struct rsp_profile *out);
/* See rsp_store_ops.profile_find_download; RSP_ENOTFOUND if none. */
int rsp_store_profile_find_download(struct rsp_store *st, const char *matching_id, const char *eid,
                                    struct rsp_profile *out);
/* Compare-and-set update: `cur` is the row as read, `next` the wanted row (same iccid). The state
 * change cur->state -> next->state must pass rsp_profile_transition_check (RSP_ESTATE otherwise).
 * On success next->version is cur->version + 1. */
int rsp_store_profile_update(struct rsp_store *st, const struct rsp_profile *cur,
                             struct rsp_profile *next, const char *actor, const char *reason);
/* Shorthand: read, change the state only, write with CAS. */
int rsp_store_profile_transition(struct rsp_store *st, const char *iccid,
                                 enum rsp_profile_state from, enum rsp_profile_state to,
                                 const char *actor, const char *reason);

/* The tid must be upper-case hex (rsp_tid_to_hex); RSP_ESTATE if it exists or the ICCID is not
 * in the inventory. */
int rsp_store_session_insert(struct rsp_store *st, const struct rsp_session *s, const char *actor);
/* Looks a session up by transactionId hex, either case. `out` must have been initialised with
 * rsp_session_init (or filled before): its two buffers are reused, the caller frees them with
 * rsp_session_free. RSP_ENOTFOUND / RSP_ESYNTAX (not hex). */
int rsp_store_session_get(struct rsp_store *st, const char *tid_hex, struct rsp_session *out);
int rsp_store_session_update(struct rsp_store *st, const struct rsp_session *cur,
                             struct rsp_session *next, const char *actor, const char *reason);

/* The latest session of a profile that bound a BPP (the download retry rule, addendum §3.1);
 * `out` as for rsp_store_session_get. RSP_ENOTFOUND if none. */
int rsp_store_session_find_bound(struct rsp_store *st, const char *iccid, struct rsp_session *out);

/* Expiry sweeper. Every session past its expiry that is not Finished/Cancelled/Expired becomes
 * Expired. Rollback rule for its profile: a profile left in Downloaded by that session (BPP
 * delivered, no installation result) returns to Released so the order can be retried; other
 * states are left alone (Released stays Released; Installed and Error are final for a session).
 * Each session is handled in its own transaction. */
int rsp_store_sweep_expired(struct rsp_store *st, int64_t now, unsigned *n_expired);

int rsp_store_audit_list(struct rsp_store *st, const char *key, struct rsp_audit_entry *out,
                         size_t max, size_t *n);

int rsp_store_outbox_add(struct rsp_store *st, struct rsp_outbox_item *it);
int rsp_store_outbox_next_due(struct rsp_store *st, int64_t now, struct rsp_outbox_item *out);
int rsp_store_outbox_done(struct rsp_store *st, int64_t id);
int rsp_store_outbox_retry(struct rsp_store *st, int64_t id, int64_t next_attempt_at);

/* ---- Inventory import (docs/MANIFEST.md) ----
 * Profiles enter the inventory together with the operator-signed manifest they were verified
 * against; the manifest is kept (table profile_manifests, schema version 2) so that the package
 * can be re-checked before binding (rsp_inventory_recheck) and a re-import can be recognised. */

#define RSP_STORE_IMPORT_PRESENT 1 /* item result: this very manifest is already stored (no-op) */

struct rsp_store_import_item {
    struct rsp_profile profile; /* state must be Available */
    const uint8_t *pkg;         /* the package blob; NULL when profile.package_path is used */
    size_t pkg_len;
    const uint8_t *manifest; /* the signed manifest, DER (required unless `refused`) */
    size_t manifest_len;
    /* Non-NULL when the caller's verification failed: nothing is inserted, one audit row
     * (entity "import", key profile.iccid or "-", to "Refused", reason this text) is written. */
    const char *refused;
    /* Out: 0 inserted (plus its audit row), RSP_STORE_IMPORT_PRESENT, RSP_ESTATE (the ICCID or
     * its matchingId exists with another manifest, or without one: refused, audited), RSP_EVERIFY
     * (`refused` was set). */
    int result;
    /* branch import: the signed batch manifest (docs/MANIFEST.md) that `manifest` (then a batch
     * entry record) refers to, or NULL. Stored once per batch (table manifest_batches, keyed by
     * its SHA-256) in the same transaction as the first accepted item that refers to it. */
    const uint8_t *batch;
    size_t batch_len;
};

/* Imports a batch in ONE transaction: either every item's outcome is recorded, or (on an I/O
 * error) none. Per-item refusals are results, not errors. Returns 0 or a negative RSP_E*. */
int rsp_store_profile_import(struct rsp_store *st, struct rsp_store_import_item *items, size_t n,
                             const char *actor);
/* The stored manifest of a profile; RSP_ENOTFOUND if the profile has none. */
int rsp_store_profile_manifest(struct rsp_store *st, const char *iccid, struct rsp_buf *out);
/* Calls cb for every profile (by ICCID), or only those in *state when state is non-NULL. A
 * non-zero return of cb stops the walk and is returned. */
int rsp_store_profile_list(struct rsp_store *st, const enum rsp_profile_state *state,
                           rsp_store_profile_cb cb, void *arg);

/* ---- Audit chain (rsp/audit.h, docs/AUDIT.md) ---- */

/* Sets the key of the pseudonyms this connection writes into audit records (subject) and that
 * handlers put in logs; NULL: none (records and logs then name no EID). Not owned. */
void rsp_store_set_pseudonym_key(struct rsp_store *st, const struct rsp_pseudonym_key *key);
/* The subject of a record about identifier `id` of class `cls`: its pseudonym, or "" when id is
 * NULL or empty or no pseudonym key is set. */
void rsp_store_subject(const struct rsp_store *st, enum rsp_pseudonym_class cls, const char *id,
                       char out[RSP_AUDIT_SUBJECT_MAX + 1]);

/* Appends one record not tied to a row change (ES9+/ES2+ outcomes, operator actions,
 * configuration): in its own transaction, chained like every other record. In: the text fields
 * (rsp_audit_entry_set); out: seq, at, prev and hash. */
int rsp_store_audit_append(struct rsp_store *st, struct rsp_audit_entry *e);
/* The chain head and the base (rsp_audit_head). */
int rsp_store_audit_head(struct rsp_store *st, struct rsp_audit_head *out);
/* Records with from <= seq <= to in seq order (then storage order); with from <= 0 also the rows
 * that have no seq at all (given as seq 0), so a verifier sees everything. A non-zero return of
 * cb stops the walk and is returned. */
int rsp_store_audit_walk(struct rsp_store *st, int64_t from, int64_t to, rsp_store_audit_cb cb,
                         void *arg);
/* The latest record with this entity and key; RSP_ENOTFOUND if none is retained. */
int rsp_store_audit_last(struct rsp_store *st, const char *entity, const char *key,
                         struct rsp_audit_entry *out);
/* Stores a signed checkpoint of record cp->seq, which must be in the chain with hash cp->hash
 * (RSP_ESTATE otherwise; the signature is the caller's). Returns 1, writing nothing, when that seq
 * already has a checkpoint (another process made it). */
int rsp_store_audit_checkpoint_add(struct rsp_store *st, const struct rsp_audit_checkpoint *cp);
/* Every stored checkpoint, by seq. */
int rsp_store_audit_checkpoints(struct rsp_store *st, rsp_store_checkpoint_cb cb, void *arg);
/* Notes that records first..last were written to an archive whose file has this SHA-256: one
 * export row and one "audit-export" record, in one transaction. RSP_EINVAL unless
 * 1 <= first <= last <= head. */
int rsp_store_audit_export_mark(struct rsp_store *st, int64_t first, int64_t last,
                                const uint8_t sha256[32], const char *actor);
/* Drops the records up to `through` once they are archived: `through` must be above the base, a
 * checkpointed record, and every record from base+1 to it must be covered by exports
 * (RSP_ESTATE otherwise, *why saying which rule; static text). In one transaction: the records
 * and the older checkpoints go, the checkpoint at `through` stays as the anchor, the base becomes
 * (through, its hash) and an "audit-prune" record (key: through) is appended, so the rest still
 * verifies. *n_removed (may be NULL) gets the number of records removed. */
int rsp_store_audit_prune(struct rsp_store *st, int64_t through, const char *actor,
                          int64_t *n_removed, const char **why);

/* Signs a checkpoint of the current head with `key` (P-256) at time `now` and stores it: 0 with
 * *out filled, 1 when there is nothing to sign (empty chain, or the head already has one). */
int rsp_store_audit_checkpoint(struct rsp_store *st, const struct rsp_key *key, int64_t now,
                               struct rsp_audit_checkpoint *out);
/* (seq, hash) pairs known from outside the store, for rsp_store_audit_verify. */
struct rsp_audit_expect {
    int64_t seq;
    uint8_t hash[RSP_AUDIT_HASH_LEN];
};
/* Verifies the whole retained chain of a live store: every checkpoint (signatures with `keys`;
 * none = not checked), every record, the head and the prune anchor, plus the expected pairs.
 * Findings go to cb as they are found; *res sums up. Appends running meanwhile are taken into
 * account (the walk follows the head). 0 or a negative RSP_E* on failure to read. */
int rsp_store_audit_verify(struct rsp_store *st, const struct rsp_key *const *keys, size_t n_keys,
                           const struct rsp_audit_expect *expect, size_t n_expect,
                           rsp_audit_finding_cb cb, void *arg, struct rsp_audit_verify_result *res);

/* ---- branch accept: acceptance runs and requirements (rsp/acceptance.h) ---- */

/* Records a finished run (run->id is set) and its audit record (entity "acceptance", key
 * "run:ID", to "passed"/"failed", reason naming model, TAC, target, failed step and the JUnit
 * SHA-256) in one transaction. RSP_EINVAL when neither model nor TAC is given or a field is not
 * printable ASCII. */
int rsp_store_acceptance_run_add(struct rsp_store *st, struct rsp_acceptance_run *run,
                                 const char *actor);
/* The latest run (highest id) whose model or TAC equals `model`; RSP_ENOTFOUND if none. */
int rsp_store_acceptance_run_latest(struct rsp_store *st, const char *model,
                                    struct rsp_acceptance_run *out);
/* Runs newest first, at most max (0: all), only those of `model` (model or TAC) when non-NULL
 * and non-empty. A non-zero return of cb stops the walk and is returned. */
int rsp_store_acceptance_run_list(struct rsp_store *st, const char *model, size_t max,
                                  rsp_store_acceptance_cb cb, void *arg);
/* Marks (on) or unmarks a campaign or a device model as requiring acceptance: scope "campaign"
 * or "model", name 1..64 printable ASCII. Audited (entity "acceptance-req") when it changes
 * anything; *changed (may be NULL) says whether it did. */
int rsp_store_acceptance_require(struct rsp_store *st, const char *scope, const char *name, bool on,
                                 const char *actor, bool *changed);
/* Whether scope/name is marked. */
int rsp_store_acceptance_required(struct rsp_store *st, const char *scope, const char *name,
                                  bool *out);
/* ---- Telemetry (branch tele; rsp/telemetry.h, docs/ARCHITECTURE.md "Telemetry") ----
 * Tables: tele_call (one raw row per ES9+ call, kept for the retention window), tele_session (one
 * row per download session: cohort labels, EID pseudonym, last stage and event), tele_series
 * (counts and latency histograms per period x function x outcome x cohort) and tele_total (the
 * same per function x outcome since the store was created; never swept, so /metrics counters only
 * grow). The aggregates are updated in the transaction that inserts the raw row, so reading
 * metrics and reports never scans raw rows. */

/* Records one call in one transaction: the raw row, +1 in its tele_series row (period = at_ms
 * rounded down to a multiple of period_s seconds) and its tele_total row, and when r->event is
 * set the same for (RSP_TELE_FN_SESSION, event). Session row: created by the event "started"
 * (labels, subject), otherwise updated when it exists (non-empty labels and subject kept, stage =
 * fn, result = event when set). Empty labels of r are first taken from the session row of r->tid
 * (r is updated). RSP_EINVAL for an empty fn/outcome or period_s <= 0. */
int rsp_store_tele_record(struct rsp_store *st, struct rsp_tele_record *r, int64_t period_s);
/* Every tele_total row (fn, outcome; period 0, labels empty), in any order. */
int rsp_store_tele_totals(struct rsp_store *st, rsp_store_tele_cb cb, void *arg);
/* The tele_series rows with from <= period < to (to 0: no bound), by period. */
int rsp_store_tele_series(struct rsp_store *st, int64_t from, int64_t to, rsp_store_tele_cb cb,
                          void *arg);
/* The session row of a transactionId (hex, either case); RSP_ENOTFOUND. */
int rsp_store_tele_session_get(struct rsp_store *st, const char *tid, struct rsp_tele_session *out);
/* Retention: removes raw rows older than calls_before_ms, sessions not updated since
 * calls_before_ms / 1000 and series rows with period < series_before (0: keep). tele_total is
 * never swept. *n_removed (may be NULL) gets the rows removed. */
int rsp_store_tele_sweep(struct rsp_store *st, int64_t calls_before_ms, int64_t series_before,
                         int64_t *n_removed);

#endif
