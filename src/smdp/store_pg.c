/* PostgreSQL backend of the SM-DP+ store (include/rsp/store.h) on libpq.
 *
 * Same semantics as the SQLite backend (store_sqlite.c), so that several rsp-smdp processes on
 * several machines can serve one deployment:
 * - Every multi-step change runs in one transaction (BEGIN ... COMMIT, READ COMMITTED). State
 *   changes are compare-and-set UPDATEs on (state, version): the UPDATE takes the row lock, a
 *   concurrent writer of the same row waits for it and then finds the version moved, so exactly
 *   one of them changes the row and the other gets RSP_ESTATE. Integrity violations (a duplicate
 *   ICCID or matchingId, a session for an unknown ICCID), serialization failures and deadlocks
 *   are RSP_ESTATE as well (SQLite: constraint / busy).
 * - Statements are prepared once per connection (protocol-level named statements, re-prepared
 *   after a reconnect); parameters are sent as text, bytea parameters in binary; results come
 *   back in binary.
 * - Schema migrations are numbered like SQLite's (table schema_version): the same version number
 *   is the same logical schema (tables, columns, keys, indexes). PostgreSQL has no rowid, so
 *   sessions carry an identity column `seq` for "the latest session"; audit and outbox ids are
 *   identity columns. Concurrent openers serialise on a transaction-level advisory lock.
 * - Lost connection: an operation that finds its connection dropped before anything could have
 *   been committed (the server rolls back an open transaction when the connection dies) is run
 *   once more on a new connection; if that fails too, or if the connection dropped while a COMMIT
 *   (or a single-statement write) was in flight, so that the outcome is unknown, the operation
 *   returns RSP_EIO with a message in rsp_store_last_error(). Nothing is ever half-written: a
 *   change is either committed whole (with its audit row) or not at all.
 * - The audit record of a change is written by audit_add_entry() inside the change's
 *   transaction; it is the one place that appends to the audit log. Records form one hash chain
 *   (rsp/audit.h, docs/AUDIT.md): the one-row chain head is read with SELECT ... FOR UPDATE, so
 *   appenders of all processes queue on that row lock until the appending transaction ends; the
 *   record is sealed with rsp_audit_seal, inserted, and the head moved. The head is always the
 *   last row a transaction locks (a change updates its rows first and appends its records
 *   after), so the lock order is the same everywhere and appends cannot deadlock.
 */
#include "rsp/store.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rsp/buf.h"
#include "rsp/crypto.h"
#include "rsp/err.h"
#include "rsp/recon.h"

/* Key of the advisory lock that serialises schema migrations ("rspk"). */
#define MIGRATION_LOCK 0x7273706bLL
/* Rows per page of rsp_store_profile_list and of the sweeper's candidate list. */
#define PAGE_ROWS 500

/* branch tele: the latency histogram columns of tele_series / tele_total (RSP_TELE_NBUCKETS) */
#define TELE_BUCKET_COLS_DEF                                                                       \
    " b0 BIGINT NOT NULL, b1 BIGINT NOT NULL, b2 BIGINT NOT NULL, b3 BIGINT NOT NULL,"             \
    " b4 BIGINT NOT NULL, b5 BIGINT NOT NULL, b6 BIGINT NOT NULL, b7 BIGINT NOT NULL,"             \
    " b8 BIGINT NOT NULL, b9 BIGINT NOT NULL, b10 BIGINT NOT NULL, b11 BIGINT NOT NULL,"           \
    " b12 BIGINT NOT NULL, b13 BIGINT NOT NULL"
#define TELE_BUCKET_COLS "b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13"
/* parameter P is the bucket index: 1 in that column, 0 elsewhere */
#define TELE_BUCKET_SET(P)                                                                         \
    "(" P "::int = 0)::int::bigint"                                                                \
    ", "                                                                                           \
    "(" P "::int = 1)::int::bigint"                                                                \
    ", "                                                                                           \
    "(" P "::int = 2)::int::bigint"                                                                \
    ", "                                                                                           \
    "(" P "::int = 3)::int::bigint"                                                                \
    ", "                                                                                           \
    "(" P "::int = 4)::int::bigint"                                                                \
    ", "                                                                                           \
    "(" P "::int = 5)::int::bigint"                                                                \
    ", "                                                                                           \
    "(" P "::int = 6)::int::bigint"                                                                \
    ", "                                                                                           \
    "(" P "::int = 7)::int::bigint"                                                                \
    ", "                                                                                           \
    "(" P "::int = 8)::int::bigint"                                                                \
    ", "                                                                                           \
    "(" P "::int = 9)::int::bigint"                                                                \
    ", "                                                                                           \
    "(" P "::int = 10)::int::bigint"                                                               \
    ", "                                                                                           \
    "(" P "::int = 11)::int::bigint"                                                               \
    ", "                                                                                           \
    "(" P "::int = 12)::int::bigint"                                                               \
    ", "                                                                                           \
    "(" P "::int = 13)::int::bigint"
#define TELE_BUCKET_UPSERT(T)                                                                      \
    "n = " T ".n + 1, sum_us = " T ".sum_us + excluded.sum_us"                                     \
    ", b0 = " T ".b0 + excluded.b0"                                                                \
    ", b1 = " T ".b1 + excluded.b1"                                                                \
    ", b2 = " T ".b2 + excluded.b2"                                                                \
    ", b3 = " T ".b3 + excluded.b3"                                                                \
    ", b4 = " T ".b4 + excluded.b4"                                                                \
    ", b5 = " T ".b5 + excluded.b5"                                                                \
    ", b6 = " T ".b6 + excluded.b6"                                                                \
    ", b7 = " T ".b7 + excluded.b7"                                                                \
    ", b8 = " T ".b8 + excluded.b8"                                                                \
    ", b9 = " T ".b9 + excluded.b9"                                                                \
    ", b10 = " T ".b10 + excluded.b10"                                                             \
    ", b11 = " T ".b11 + excluded.b11"                                                             \
    ", b12 = " T ".b12 + excluded.b12"                                                             \
    ", b13 = " T ".b13 + excluded.b13"

/* Migrations: entry i brings the schema from version i to i+1, in step with store_sqlite.c (same
 * tables, columns, keys and indexes; PostgreSQL types). Append only. */
static const char *const migrations[] = {
    /* 1: initial schema */
    "CREATE TABLE profiles ("
    " iccid TEXT PRIMARY KEY,"
    " imsi TEXT NOT NULL DEFAULT '',"
    " profile_type TEXT NOT NULL DEFAULT '',"
    " spn TEXT NOT NULL DEFAULT '',"
    " name TEXT NOT NULL DEFAULT '',"
    " class INTEGER NOT NULL DEFAULT 2,"
    " owner TEXT NOT NULL DEFAULT '',"
    " operator TEXT NOT NULL DEFAULT '',"
    " package_sha256 BYTEA,"
    " package BYTEA,"
    " package_path TEXT NOT NULL DEFAULT '',"
    " state TEXT NOT NULL CHECK (state IN ('Available','Allocated','Linked','Confirmed',"
    "  'Released','Downloaded','Installed','Error','Unavailable')),"
    " state_since BIGINT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " eid TEXT NOT NULL DEFAULT '',"
    " matching_id TEXT NOT NULL DEFAULT '',"
    " cc_hash BYTEA,"
    " cc_attempts INTEGER NOT NULL DEFAULT 0,"
    " cc_max_attempts INTEGER NOT NULL DEFAULT 0,"
    " download_attempts INTEGER NOT NULL DEFAULT 0,"
    " release_flag INTEGER NOT NULL DEFAULT 0,"
    " smds_address TEXT NOT NULL DEFAULT '',"
    " error_reason TEXT NOT NULL DEFAULT '',"
    " version BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX profiles_type_state ON profiles(profile_type, state, iccid);"
    "CREATE UNIQUE INDEX profiles_matching_id ON profiles(matching_id) WHERE matching_id <> '';"
    "CREATE TABLE sessions ("
    " seq BIGINT GENERATED ALWAYS AS IDENTITY," /* SQLite's rowid: creation order */
    " tid TEXT PRIMARY KEY,"
    " iccid TEXT REFERENCES profiles(iccid),"
    " eid TEXT NOT NULL DEFAULT '',"
    " state TEXT NOT NULL CHECK (state IN ('Started','Authenticated','BPP-bound','Finished',"
    "  'Cancelled','Expired')),"
    " server_challenge BYTEA NOT NULL,"
    " euicc_challenge BYTEA NOT NULL,"
    " curve INTEGER NOT NULL DEFAULT 0,"
    " ci_pkid BYTEA,"
    " otpk_euicc BYTEA,"
    " bpp BYTEA,"
    " expires_at BIGINT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL,"
    " version BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX sessions_expiry ON sessions(state, expires_at);"
    "CREATE INDEX sessions_iccid ON sessions(iccid);"
    "CREATE TABLE audit ("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " entity TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " from_state TEXT NOT NULL,"
    " to_state TEXT NOT NULL,"
    " actor TEXT NOT NULL,"
    " reason TEXT NOT NULL,"
    " at BIGINT NOT NULL);"
    "CREATE INDEX audit_key ON audit(key, id);"
    "CREATE TABLE outbox ("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " iccid TEXT NOT NULL,"
    " url TEXT NOT NULL,"
    " body TEXT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_at BIGINT NOT NULL,"
    " created_at BIGINT NOT NULL);"
    "CREATE INDEX outbox_due ON outbox(next_attempt_at, id);",
    /* 2: the operator-signed manifest each imported profile was verified against */
    "CREATE TABLE profile_manifests ("
    " iccid TEXT PRIMARY KEY REFERENCES profiles(iccid),"
    " manifest BYTEA NOT NULL,"
    " manifest_sha256 BYTEA NOT NULL,"
    " imported_at BIGINT NOT NULL);",
    /* 3: what ES9+ keeps between the requests of one session */
    "ALTER TABLE sessions ADD COLUMN euicc_cert BYTEA;"
    "ALTER TABLE sessions ADD COLUMN euicc_sig1 BYTEA;"
    "ALTER TABLE sessions ADD COLUMN smdp_sig2 BYTEA;",
    /* 4: the audit hash chain (docs/AUDIT.md); older rows are chained by chain_legacy() */
    "ALTER TABLE audit ADD COLUMN seq BIGINT;"
    "ALTER TABLE audit ADD COLUMN subject TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE audit ADD COLUMN prev_hash BYTEA;"
    "ALTER TABLE audit ADD COLUMN hash BYTEA;"
    "CREATE UNIQUE INDEX audit_seq ON audit(seq);"
    "CREATE TABLE audit_head ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " seq BIGINT NOT NULL,"
    " hash BYTEA NOT NULL,"
    " base_seq BIGINT NOT NULL,"
    " base_hash BYTEA NOT NULL);"
    "INSERT INTO audit_head VALUES (1, 0, decode(repeat('00', 32), 'hex'), 0,"
    " decode(repeat('00', 32), 'hex'));"
    "CREATE TABLE audit_checkpoints ("
    " seq BIGINT PRIMARY KEY,"
    " hash BYTEA NOT NULL,"
    " at BIGINT NOT NULL,"
    " key_id BYTEA NOT NULL,"
    " sig BYTEA NOT NULL);"
    "CREATE TABLE audit_exports ("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " first_seq BIGINT NOT NULL,"
    " last_seq BIGINT NOT NULL,"
    " sha256 BYTEA NOT NULL,"
    " at BIGINT NOT NULL);",
    /* branch accept: acceptance runs and the campaigns and device models that require one (as in
     * store_sqlite.c) */
    "CREATE TABLE IF NOT EXISTS acceptance_run ("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " model TEXT NOT NULL DEFAULT '',"
    " tac TEXT NOT NULL DEFAULT '',"
    " eum TEXT NOT NULL DEFAULT '',"
    " svn TEXT NOT NULL DEFAULT '',"
    " target TEXT NOT NULL,"
    " started_at BIGINT NOT NULL,"
    " finished_at BIGINT NOT NULL,"
    " passed INTEGER NOT NULL,"
    " failed_step TEXT NOT NULL DEFAULT '',"
    " summary TEXT NOT NULL DEFAULT '',"
    " junit_sha256 BYTEA NOT NULL,"
    " recorded_at BIGINT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS acceptance_run_model ON acceptance_run(model, id);"
    "CREATE INDEX IF NOT EXISTS acceptance_run_tac ON acceptance_run(tac, id);"
    "CREATE TABLE IF NOT EXISTS acceptance_requirement ("
    " scope TEXT NOT NULL CHECK (scope IN ('campaign','model')),"
    " name TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " actor TEXT NOT NULL,"
    " PRIMARY KEY (scope, name));",
    /* branch ops: activation operations (rsp/act.h): campaigns, orders with their stages,
     * activation tokens, pushes, cohort time buckets, quarantines, EUICCInfo2 seen per EID */
    "CREATE TABLE campaigns ( name TEXT PRIMARY KEY, description TEXT NOT NULL DEFAULT '', "
    "requires_acceptance BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL);"
    "CREATE TABLE activation_orders ( order_id TEXT PRIMARY KEY, customer_ref TEXT NOT NULL, "
    "tariff_plan TEXT NOT NULL DEFAULT '', campaign TEXT NOT NULL DEFAULT '', country TEXT NOT "
    "NULL DEFAULT '', profile_type TEXT NOT NULL DEFAULT '', iccid TEXT NOT NULL DEFAULT '', eid "
    "TEXT NOT NULL DEFAULT '', eum TEXT NOT NULL DEFAULT '', tac TEXT NOT NULL DEFAULT '', "
    "device_model TEXT NOT NULL DEFAULT '', operator TEXT NOT NULL DEFAULT '', id_result TEXT NOT "
    "NULL DEFAULT '', id_reason TEXT NOT NULL DEFAULT '', stage TEXT NOT NULL, outcome TEXT NOT "
    "NULL DEFAULT '', matching_id TEXT NOT NULL DEFAULT '', t_pre_provisioned BIGINT NOT NULL "
    "DEFAULT 0, t_identity_rejected BIGINT NOT NULL DEFAULT 0, t_reserved BIGINT NOT NULL DEFAULT "
    "0, t_released BIGINT NOT NULL DEFAULT 0, t_token_issued BIGINT NOT NULL DEFAULT 0, t_pushed "
    "BIGINT NOT NULL DEFAULT 0, t_first_contact BIGINT NOT NULL DEFAULT 0, t_installed BIGINT NOT "
    "NULL DEFAULT 0, t_failed BIGINT NOT NULL DEFAULT 0, t_expired BIGINT NOT NULL DEFAULT 0, "
    "t_revoked BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, "
    "version BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX activation_orders_customer ON activation_orders(customer_ref);"
    "CREATE INDEX activation_orders_campaign ON activation_orders(campaign, stage);"
    "CREATE INDEX activation_orders_eid ON activation_orders(eid);"
    "CREATE INDEX activation_orders_iccid ON activation_orders(iccid);"
    "CREATE INDEX activation_orders_mid ON activation_orders(matching_id);"
    "CREATE TABLE activation_tokens ( matching_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, "
    "activation_code TEXT NOT NULL, issued_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, "
    "revoked_at BIGINT NOT NULL DEFAULT 0, revoke_reason TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX activation_tokens_order ON activation_tokens(order_id);"
    "CREATE INDEX activation_tokens_expiry ON activation_tokens(revoked_at, expires_at);"
    "CREATE TABLE pushes ( id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, order_id TEXT NOT "
    "NULL, matching_id TEXT NOT NULL, channel TEXT NOT NULL DEFAULT '', channel_ref TEXT NOT NULL "
    "DEFAULT '', issued_at BIGINT NOT NULL, handed_at BIGINT NOT NULL DEFAULT 0, first_contact_at "
    "BIGINT NOT NULL DEFAULT 0, outcome TEXT NOT NULL DEFAULT '', outcome_at BIGINT NOT NULL "
    "DEFAULT 0, outcome_reason TEXT NOT NULL DEFAULT '', campaign TEXT NOT NULL DEFAULT '', eum "
    "TEXT NOT NULL DEFAULT '', tac TEXT NOT NULL DEFAULT '', profile_type TEXT NOT NULL DEFAULT "
    "'');"
    "CREATE INDEX pushes_mid ON pushes(matching_id, id);"
    "CREATE INDEX pushes_order ON pushes(order_id, id);"
    "CREATE TABLE cohort_buckets ( dim TEXT NOT NULL, value TEXT NOT NULL, bucket BIGINT NOT NULL, "
    "pushes BIGINT NOT NULL DEFAULT 0, attempts BIGINT NOT NULL DEFAULT 0, installs BIGINT NOT "
    "NULL DEFAULT 0, failures BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (dim, value, bucket));"
    "CREATE TABLE quarantines ( dim TEXT NOT NULL, value TEXT NOT NULL, active BIGINT NOT NULL, "
    "since BIGINT NOT NULL, reason TEXT NOT NULL DEFAULT '', attempts BIGINT NOT NULL DEFAULT 0, "
    "installs BIGINT NOT NULL DEFAULT 0, failures BIGINT NOT NULL DEFAULT 0, released_at BIGINT "
    "NOT NULL DEFAULT 0, released_by TEXT NOT NULL DEFAULT '', release_reason TEXT NOT NULL "
    "DEFAULT '', PRIMARY KEY (dim, value));"
    "CREATE TABLE euicc_info ( eid TEXT PRIMARY KEY, info2_hex TEXT NOT NULL, seen_at BIGINT NOT "
    "NULL);",
    /* branch tele: telemetry (rsp/telemetry.h), in step with store_sqlite.c */
    "CREATE TABLE tele_call ("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " at_ms BIGINT NOT NULL,"
    " fn TEXT NOT NULL,"
    " outcome TEXT NOT NULL,"
    " latency_us BIGINT NOT NULL,"
    " tid TEXT NOT NULL DEFAULT '',"
    " tac TEXT NOT NULL DEFAULT '',"
    " eum TEXT NOT NULL DEFAULT '',"
    " profile_type TEXT NOT NULL DEFAULT '',"
    " campaign TEXT NOT NULL DEFAULT '',"
    " country TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX tele_call_at ON tele_call(at_ms);"
    "CREATE TABLE tele_session ("
    " tid TEXT PRIMARY KEY,"
    " started_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL,"
    " tac TEXT NOT NULL DEFAULT '',"
    " eum TEXT NOT NULL DEFAULT '',"
    " profile_type TEXT NOT NULL DEFAULT '',"
    " campaign TEXT NOT NULL DEFAULT '',"
    " country TEXT NOT NULL DEFAULT '',"
    " subject TEXT NOT NULL DEFAULT '',"
    " stage TEXT NOT NULL DEFAULT '',"
    " result TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX tele_session_updated ON tele_session(updated_at);"
    "CREATE TABLE tele_series ("
    " period BIGINT NOT NULL,"
    " fn TEXT NOT NULL,"
    " outcome TEXT NOT NULL,"
    " tac TEXT NOT NULL,"
    " eum TEXT NOT NULL,"
    " profile_type TEXT NOT NULL,"
    " campaign TEXT NOT NULL,"
    " country TEXT NOT NULL,"
    " n BIGINT NOT NULL,"
    " sum_us BIGINT NOT NULL," TELE_BUCKET_COLS_DEF ","
    " PRIMARY KEY (period, fn, outcome, tac, eum, profile_type, campaign, country));"
    "CREATE TABLE tele_total ("
    " fn TEXT NOT NULL,"
    " outcome TEXT NOT NULL,"
    " n BIGINT NOT NULL,"
    " sum_us BIGINT NOT NULL," TELE_BUCKET_COLS_DEF ","
    " PRIMARY KEY (fn, outcome));",
    /* branch recon: reconciliation events, actions, rollbacks (see store_sqlite.c) */
    "CREATE TABLE IF NOT EXISTS recon_events ("
    " kind TEXT NOT NULL CHECK (kind IN ('billing','attach','physical')),"
    " event_id TEXT NOT NULL,"
    " iccid TEXT NOT NULL DEFAULT '',"
    " imsi TEXT NOT NULL DEFAULT '',"
    " eid TEXT NOT NULL DEFAULT '',"
    " imei TEXT NOT NULL DEFAULT '',"
    " customer TEXT NOT NULL DEFAULT '',"
    " plan TEXT NOT NULL DEFAULT '',"
    " cohort TEXT NOT NULL DEFAULT '',"
    " at BIGINT NOT NULL,"
    " started_at BIGINT NOT NULL DEFAULT 0,"
    " ok BIGINT NOT NULL DEFAULT 1,"
    " imported_at BIGINT NOT NULL,"
    " PRIMARY KEY (kind, event_id));"
    "CREATE INDEX IF NOT EXISTS recon_events_iccid ON recon_events(iccid);"
    "CREATE INDEX IF NOT EXISTS recon_events_customer ON recon_events(customer);"
    "CREATE INDEX IF NOT EXISTS recon_events_at ON recon_events(at);"
    "CREATE TABLE IF NOT EXISTS recon_actions ("
    " kind TEXT NOT NULL,"
    " subject TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " at BIGINT NOT NULL,"
    " PRIMARY KEY (kind, subject, action));"
    "CREATE TABLE IF NOT EXISTS rollbacks ("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " iccid TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " failed_at BIGINT NOT NULL,"
    " detail TEXT NOT NULL DEFAULT '',"
    " policy TEXT NOT NULL DEFAULT '',"
    " outcome TEXT NOT NULL DEFAULT '',"
    " opened_at BIGINT NOT NULL,"
    " done_at BIGINT NOT NULL DEFAULT 0);"
    "CREATE UNIQUE INDEX IF NOT EXISTS rollbacks_failure ON rollbacks(iccid, kind, failed_at);"
    "CREATE INDEX IF NOT EXISTS rollbacks_open ON rollbacks(done_at, id);",
    /* 9: the default-SM-DP+ lookup by EID through an index (partial: rows without an EID, the
     * whole unreleased inventory, cost nothing at import). The lookup by matchingId now names
     * the predicate of the partial index profiles_matching_id, which it had not been using. */
    "CREATE INDEX IF NOT EXISTS profiles_eid ON profiles(eid, iccid) WHERE eid <> '';",
    /* 10 (branch import): signed batch manifests (docs/MANIFEST.md), stored once each; the profiles
     * imported with one keep their entry record in profile_manifests */
    "CREATE TABLE IF NOT EXISTS manifest_batches ("
    " sha256 BYTEA PRIMARY KEY,"
    " manifest BYTEA NOT NULL,"
    " imported_at BIGINT NOT NULL);"
    /* stored as it is: compressing a signed batch costs the import more than it saves */
    "ALTER TABLE manifest_batches ALTER COLUMN manifest SET STORAGE EXTERNAL;",
    /* 11 (lead s5): telemetry without an index that every call updates. Raw calls are swept by
     * id (ids follow at_ms); sessions through an index on started_at, which updates leave alone,
     * instead of one on updated_at, which every call moved (2 WAL pages per call on SQLite). */
    "DROP INDEX IF EXISTS tele_call_at;"
    "DROP INDEX IF EXISTS tele_session_updated;"
    "CREATE INDEX IF NOT EXISTS tele_session_started ON tele_session(started_at);",
};
#define AUDIT_CHAIN_VERSION 4
#define SCHEMA_VERSION      ((int)(sizeof migrations / sizeof migrations[0]))
_Static_assert(SCHEMA_VERSION == RSP_STORE_SCHEMA_VERSION, "RSP_STORE_SCHEMA_VERSION");

#define PROFILE_COLS                                                                               \
    "iccid, imsi, profile_type, spn, name, class, owner, operator, package_sha256, package_path,"  \
    " state, state_since, created_at, eid, matching_id, cc_hash, cc_attempts, cc_max_attempts,"    \
    " download_attempts, release_flag, smds_address, error_reason, version"
#define SESSION_COLS                                                                               \
    "tid, iccid, eid, state, server_challenge, euicc_challenge, curve, ci_pkid, otpk_euicc, bpp,"  \
    " expires_at, created_at, updated_at, version, euicc_cert, euicc_sig1, smdp_sig2"
#define LIVE_SESSION "('Started','Authenticated','BPP-bound')"
#define AUDIT_COLS                                                                                 \
    "coalesce(seq, 0), at, entity, key, from_state, to_state, actor, subject, reason, prev_hash,"  \
    " hash"
#define STR_(x) #x
#define STR(x)  STR_(x)
#define PAGE    " LIMIT " STR(PAGE_ROWS)

enum stmt_id {
    Q_AUDIT_ADD,
    Q_PROFILE_INSERT,
    Q_PROFILE_GET,
    Q_PROFILE_PACKAGE,
    Q_PROFILE_FIND,
    Q_PROFILE_FIND_OWNED,
    Q_PROFILE_TYPE_OWNED,
    Q_PROFILE_CAS,
    Q_PROFILE_BY_MID,
    Q_PROFILE_DEFAULT_DP,
    Q_PROFILE_EXISTS,
    Q_SESSION_INSERT,
    Q_SESSION_GET,
    Q_SESSION_CAS,
    Q_SESSION_EXISTS,
    Q_SESSION_FIND_BOUND,
    Q_SWEEP_LIST,
    Q_SWEEP_LOCK,
    Q_SWEEP_SESSION,
    Q_SWEEP_PROFILE,
    Q_AUDIT_LIST,
    Q_OUTBOX_ADD,
    Q_OUTBOX_DUE,
    Q_OUTBOX_DONE,
    Q_OUTBOX_RETRY,
    Q_IMPORT_INSERT,
    Q_MANIFEST_GET,
    Q_PROFILE_LIST,
    Q_PROFILE_LIST_STATE,
    Q_PROFILE_EID,
    Q_AUDIT_HEAD,
    Q_AUDIT_HEAD_LOCK,
    Q_AUDIT_HEAD_SET,
    Q_AUDIT_WALK_NOSEQ,
    Q_AUDIT_WALK,
    Q_AUDIT_LAST,
    Q_AUDIT_HASH_AT,
    Q_CHECKPOINT_ADD,
    Q_CHECKPOINT_GET,
    Q_CHECKPOINT_LIST,
    Q_EXPORT_ADD,
    Q_EXPORT_LIST,
    Q_PRUNE_RECORDS,
    Q_PRUNE_CHECKPOINTS,
    Q_PRUNE_BASE,
    Q_LEGACY_LIST,
    Q_LEGACY_SET,
    /* branch tele */
    Q_TELE_CALL_ADD,
    Q_TELE_SERIES_ADD,
    Q_TELE_TOTAL_ADD,
    Q_TELE_SESSION_LABELS,
    Q_TELE_SESSION_NEW,
    Q_TELE_SESSION_SET,
    Q_TELE_SESSION_GET,
    Q_TELE_TOTALS,
    Q_TELE_SERIES,
    Q_TELE_SWEEP_CALLS,
    Q_TELE_SWEEP_SESSIONS,
    Q_TELE_SWEEP_SERIES,
    /* branch import */
    Q_IMPORT_LOOKUP_ANY,
    Q_BATCH_ADD,
    /* lead s5 */
    Q_AUDIT_ADD_MANY,
    Q_COUNT
};

struct stmt_def {
    const char *sql;
    bool write; /* changes rows: outside a transaction, a lost connection leaves the outcome unknown
                 */
};

static const struct stmt_def stmts[Q_COUNT] = {
    [Q_AUDIT_ADD] = {"INSERT INTO audit (seq, at, entity, key, from_state, to_state, actor,"
                     " subject, reason, prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,"
                     "$11)",
                     true},
    [Q_PROFILE_INSERT] = {"INSERT INTO profiles (" PROFILE_COLS ", package) VALUES "
                          "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,"
                          "$20,$21,$22,0,$23)",
                          true},
    [Q_PROFILE_GET] = {"SELECT " PROFILE_COLS " FROM profiles WHERE iccid = $1", false},
    [Q_PROFILE_PACKAGE] = {"SELECT package FROM profiles WHERE iccid = $1", false},
    [Q_PROFILE_FIND] = {"SELECT " PROFILE_COLS " FROM profiles WHERE profile_type = $1"
                        " AND state = 'Available' ORDER BY iccid LIMIT 1",
                        false},
    [Q_PROFILE_FIND_OWNED] = {"SELECT " PROFILE_COLS " FROM profiles WHERE profile_type = $1"
                              " AND owner = $2 AND state = 'Available' ORDER BY iccid LIMIT 1",
                              false},
    [Q_PROFILE_TYPE_OWNED] = {"SELECT 1 FROM profiles WHERE profile_type = $1 AND owner = $2"
                              " LIMIT 1",
                              false},
    [Q_PROFILE_CAS] =
        {"UPDATE profiles SET imsi=$2, profile_type=$3, spn=$4, name=$5, class=$6, owner=$7,"
         " operator=$8, package_sha256=$9, package_path=$10, state=$11,"
         " state_since=CASE WHEN state = $11 THEN state_since ELSE $12 END,"
         " eid=$13, matching_id=$14, cc_hash=$15, cc_attempts=$16, cc_max_attempts=$17,"
         " download_attempts=$18, release_flag=$19, smds_address=$20, error_reason=$21,"
         " version = version + 1"
         " WHERE iccid = $1 AND state = $22 AND version = $23",
         true},
    [Q_PROFILE_BY_MID] = {"SELECT " PROFILE_COLS " FROM profiles WHERE matching_id = $1"
                          " AND matching_id <> ''",
                          false},
    [Q_PROFILE_DEFAULT_DP] = {"SELECT " PROFILE_COLS
                              " FROM profiles WHERE eid = $1 AND eid <> '' AND"
                              " matching_id = '' AND state = 'Released' ORDER BY iccid LIMIT 1",
                              false},
    [Q_PROFILE_EXISTS] = {"SELECT 1 FROM profiles WHERE iccid = $1", false},
    /* $14 is the initial version (0), so that the numbering matches Q_SESSION_CAS */
    [Q_SESSION_INSERT] = {"INSERT INTO sessions (" SESSION_COLS ") VALUES "
                          "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)",
                          true},
    [Q_SESSION_GET] = {"SELECT " SESSION_COLS " FROM sessions WHERE tid = $1", false},
    [Q_SESSION_CAS] = {"UPDATE sessions SET iccid=$2, eid=$3, state=$4, server_challenge=$5,"
                       " euicc_challenge=$6, curve=$7, ci_pkid=$8, otpk_euicc=$9, bpp=$10,"
                       " expires_at=$11, updated_at=$12, euicc_cert=$15, euicc_sig1=$16,"
                       " smdp_sig2=$17, version = version + 1"
                       " WHERE tid = $1 AND state = $13 AND version = $14",
                       true},
    [Q_SESSION_EXISTS] = {"SELECT 1 FROM sessions WHERE tid = $1", false},
    [Q_SESSION_FIND_BOUND] = {"SELECT " SESSION_COLS " FROM sessions WHERE iccid = $1"
                              " AND otpk_euicc IS NOT NULL ORDER BY seq DESC LIMIT 1",
                              false},
    [Q_SWEEP_LIST] = {"SELECT tid FROM sessions WHERE state IN " LIVE_SESSION
                      " AND expires_at <= $1 ORDER BY expires_at LIMIT 64",
                      false},
    [Q_SWEEP_LOCK] = {"SELECT state, coalesce(iccid, ''), eid FROM sessions WHERE tid = $1"
                      " FOR UPDATE",
                      false},
    [Q_SWEEP_SESSION] = {"UPDATE sessions SET state = 'Expired', updated_at = $2,"
                         " version = version + 1 WHERE tid = $1 AND state IN " LIVE_SESSION
                         " AND expires_at <= $2",
                         true},
    [Q_SWEEP_PROFILE] = {"UPDATE profiles SET state = 'Released', state_since = $3,"
                         " error_reason = 'download session expired', version = version + 1 WHERE "
                         "iccid = $1 AND state = 'Downloaded'"
                         " AND NOT EXISTS (SELECT 1 FROM sessions WHERE iccid = $1"
                         " AND tid <> $2 AND state IN " LIVE_SESSION ")",
                         true},
    [Q_AUDIT_LIST] = {"SELECT " AUDIT_COLS " FROM audit WHERE key = $1 ORDER BY seq LIMIT $2",
                      false},
    [Q_OUTBOX_ADD] = {"INSERT INTO outbox (iccid, url, body, attempts, next_attempt_at,"
                      " created_at) VALUES ($1,$2,$3,0,$4,$5) RETURNING id",
                      true},
    [Q_OUTBOX_DUE] = {"SELECT id, iccid, url, body, attempts, next_attempt_at FROM outbox"
                      " WHERE next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT 1",
                      false},
    [Q_OUTBOX_DONE] = {"DELETE FROM outbox WHERE id = $1", true},
    [Q_OUTBOX_RETRY] = {"UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2"
                        " WHERE id = $1",
                        true},
    /* no row: not in the inventory; a row with NULL: in it without a manifest */
    /* The profile row and its manifest in one statement; a uniqueness conflict (the ICCID, or the
     * matchingId, taken meanwhile) inserts nothing and returns no row. */
    [Q_IMPORT_INSERT] = {"WITH p AS (INSERT INTO profiles (" PROFILE_COLS ", package) VALUES "
                         "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,"
                         "$20,$21,$22,0,$23) ON CONFLICT DO NOTHING RETURNING iccid)"
                         " INSERT INTO profile_manifests (iccid, manifest, manifest_sha256,"
                         " imported_at) SELECT iccid, $24::bytea, $25::bytea, $26::bigint FROM p"
                         " RETURNING iccid",
                         true},
    [Q_MANIFEST_GET] = {"SELECT manifest FROM profile_manifests WHERE iccid = $1", false},
    [Q_PROFILE_LIST] = {"SELECT " PROFILE_COLS " FROM profiles WHERE iccid > $1"
                        " ORDER BY iccid" PAGE,
                        false},
    [Q_PROFILE_LIST_STATE] = {"SELECT " PROFILE_COLS " FROM profiles WHERE state = $1 AND"
                              " iccid > $2 ORDER BY iccid" PAGE,
                              false},
    [Q_PROFILE_EID] = {"SELECT eid FROM profiles WHERE iccid = $1", false},
    [Q_AUDIT_HEAD] = {"SELECT seq, hash, base_seq, base_hash FROM audit_head WHERE id = 1", false},
    /* the appenders' queue: held until the appending transaction ends */
    [Q_AUDIT_HEAD_LOCK] = {"SELECT seq, hash, base_seq, base_hash FROM audit_head WHERE id = 1"
                           " FOR UPDATE",
                           false},
    [Q_AUDIT_HEAD_SET] = {"UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1 AND seq = $3",
                          true},
    [Q_AUDIT_WALK_NOSEQ] = {"SELECT " AUDIT_COLS ", id FROM audit WHERE seq IS NULL AND id > $1"
                            " ORDER BY id" PAGE,
                            false},
    /* seq is unique: pages by seq */
    [Q_AUDIT_WALK] = {"SELECT " AUDIT_COLS " FROM audit WHERE seq > $1 AND seq <= $2"
                      " ORDER BY seq" PAGE,
                      false},
    [Q_AUDIT_LAST] = {"SELECT " AUDIT_COLS " FROM audit WHERE key = $1 AND entity = $2"
                      " ORDER BY id DESC LIMIT 1",
                      false},
    [Q_AUDIT_HASH_AT] = {"SELECT hash FROM audit WHERE seq = $1", false},
    [Q_CHECKPOINT_ADD] = {"INSERT INTO audit_checkpoints (seq, hash, at, key_id, sig)"
                          " VALUES ($1,$2,$3,$4,$5) ON CONFLICT (seq) DO NOTHING",
                          true},
    [Q_CHECKPOINT_GET] = {"SELECT hash FROM audit_checkpoints WHERE seq = $1", false},
    [Q_CHECKPOINT_LIST] = {"SELECT seq, hash, at, key_id, sig FROM audit_checkpoints WHERE seq > $1"
                           " ORDER BY seq" PAGE,
                           false},
    [Q_EXPORT_ADD] = {"INSERT INTO audit_exports (first_seq, last_seq, sha256, at)"
                      " VALUES ($1,$2,$3,$4)",
                      true},
    [Q_EXPORT_LIST] = {"SELECT first_seq, last_seq FROM audit_exports ORDER BY first_seq", false},
    [Q_PRUNE_RECORDS] = {"DELETE FROM audit WHERE seq <= $1", true},
    [Q_PRUNE_CHECKPOINTS] = {"DELETE FROM audit_checkpoints WHERE seq < $1", true},
    [Q_PRUNE_BASE] = {"UPDATE audit_head SET base_seq = $1, base_hash = $2 WHERE id = 1", true},
    [Q_LEGACY_LIST] = {"SELECT id, entity, key, from_state, to_state, actor, reason, at FROM audit"
                       " WHERE seq IS NULL ORDER BY id",
                       false},
    [Q_LEGACY_SET] = {"UPDATE audit SET seq=$2, entity=$3, key=$4, from_state=$5, to_state=$6,"
                      " actor=$7, reason=$8, subject='', prev_hash=$9, hash=$10 WHERE id=$1",
                      true},
    /* branch tele */
    [Q_TELE_CALL_ADD] = {"INSERT INTO tele_call (at_ms, fn, outcome, latency_us, tid, tac, eum,"
                         " profile_type, campaign, country) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,"
                         "$10)",
                         true},
    [Q_TELE_SERIES_ADD] =
        {"INSERT INTO tele_series (period, fn, outcome, tac, eum, profile_type,"
         " campaign, country, n, sum_us, " TELE_BUCKET_COLS ") VALUES ($1,$2,$3,"
         "$4,$5,$6,$7,$8,1,$9," TELE_BUCKET_SET(
             "$10") ") ON CONFLICT (period,"
                    " fn, outcome, tac, eum, profile_type, campaign, country) DO UPDATE"
                    " SET " TELE_BUCKET_UPSERT("tele_series"),
         true},
    [Q_TELE_TOTAL_ADD] = {"INSERT INTO tele_total (fn, outcome, n, sum_us, " TELE_BUCKET_COLS
                          ") VALUES ($1,$2,1,$3," TELE_BUCKET_SET(
                              "$4") ") ON CONFLICT (fn,"
                                    " outcome) DO UPDATE SET " TELE_BUCKET_UPSERT("tele_total"),
                          true},
    [Q_TELE_SESSION_LABELS] = {"SELECT tac, eum, profile_type, campaign, country FROM"
                               " tele_session WHERE tid = $1",
                               false},
    [Q_TELE_SESSION_NEW] = {"INSERT INTO tele_session (tid, started_at, updated_at, tac, eum,"
                            " profile_type, campaign, country, subject, stage, result) VALUES"
                            " ($1,$2,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (tid) DO NOTHING",
                            true},
    [Q_TELE_SESSION_SET] = {"UPDATE tele_session SET updated_at = $2, tac = $3, eum = $4,"
                            " profile_type = $5, campaign = $6, country = $7,"
                            " subject = CASE WHEN $8 <> '' THEN $8 ELSE subject END, stage = $9,"
                            " result = CASE WHEN $10 <> '' THEN $10 ELSE result END WHERE tid = $1",
                            true},
    [Q_TELE_SESSION_GET] = {"SELECT tid, started_at, updated_at, tac, eum, profile_type,"
                            " campaign, country, subject, stage, result FROM tele_session"
                            " WHERE tid = $1",
                            false},
    [Q_TELE_TOTALS] = {"SELECT 0::bigint, fn, outcome, ''::text, ''::text, ''::text, ''::text,"
                       " ''::text, n, sum_us, " TELE_BUCKET_COLS " FROM tele_total"
                       " ORDER BY fn, outcome",
                       false},
    [Q_TELE_SERIES] = {"SELECT period, fn, outcome, tac, eum, profile_type, campaign, country, n,"
                       " sum_us, " TELE_BUCKET_COLS " FROM tele_series WHERE period >= $1 AND"
                       " period < $2 ORDER BY period, fn, outcome",
                       false},
    /* as in store_sqlite.c (migration 11) */
    [Q_TELE_SWEEP_CALLS] = {"DELETE FROM tele_call WHERE id < COALESCE((SELECT id FROM tele_call"
                            " WHERE at_ms >= $1 ORDER BY id LIMIT 1), (SELECT max(id) + 1 FROM"
                            " tele_call), 0)",
                            true},
    [Q_TELE_SWEEP_SESSIONS] = {"DELETE FROM tele_session WHERE started_at < $1 AND"
                               " updated_at < $1",
                               true},
    [Q_TELE_SWEEP_SERIES] = {"DELETE FROM tele_series WHERE period < $1", true},
    /* branch import: the rows of a whole batch of ICCIDs (a text[] of them), with their
     * manifest digest (NULL: no manifest) */
    [Q_IMPORT_LOOKUP_ANY] = {"SELECT p.iccid, m.manifest_sha256 FROM profiles p LEFT JOIN"
                             " profile_manifests m ON m.iccid = p.iccid"
                             " WHERE p.iccid = ANY($1::text[])",
                             false},
    [Q_BATCH_ADD] = {"INSERT INTO manifest_batches (sha256, manifest, imported_at)"
                     " VALUES ($1,$2,$3) ON CONFLICT DO NOTHING",
                     true},
    /* lead s5: a call's audit records (arrays, one element per record) and the head moved past
     * them, in one statement (pg_call_end) */
    [Q_AUDIT_ADD_MANY] = {"WITH ins AS (INSERT INTO audit (seq, at, entity, key, from_state,"
                          " to_state, actor, subject, reason, prev_hash, hash)"
                          " SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[],"
                          " $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],"
                          " $9::text[], $10::bytea[], $11::bytea[]))"
                          " UPDATE audit_head SET seq = $12, hash = $13 WHERE id = 1 AND"
                          " seq = $14",
                          true},
};

struct pg_store {
    struct rsp_store base; /* first: the public handle */
    PGconn *conn;
    bool prepared[Q_COUNT];
    bool in_tx;
    bool lost;         /* the connection dropped during the current attempt */
    bool ambiguous;    /* ... while a COMMIT or a single-statement write was in flight */
    bool call;         /* inside rsp_store_call_begin ... call_end */
    bool call_tx;      /* the call's transaction is open (a change was made); in_tx stays true */
    bool call_broken;  /* the connection dropped inside the call's transaction: all of it is lost */
    int sp_depth;      /* operations' savepoints open inside the call's transaction */
    bool call_enabled; /* not RSP_PG_CALL_TRANSACTIONS=0 at open (pg_call_begin) */
    /* Inside a call's transaction its audit records wait here, unsealed; pg_call_end locks the
     * chain head, seals and inserts them and moves the head just before the COMMIT, so the head
     * row stays locked for two round trips, not for the whole call. */
    struct rsp_audit_entry *pend;
    size_t n_pend, cap_pend;
    size_t sp_n_pend; /* n_pend when the current operation's savepoint began */
    void (*hook)(const char *point);
    char err[512];
};

static struct pg_store *PG(struct rsp_store *st)
{
    return (struct pg_store *)st;
}

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static void fault(struct pg_store *s, const char *point)
{
    if (s->hook)
        s->hook(point);
}

__attribute__((format(printf, 2, 3))) static void set_err(struct pg_store *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    /* libpq messages end with a newline */
    size_t n = strlen(s->err);
    while (n && (s->err[n - 1] == '\n' || s->err[n - 1] == ' '))
        s->err[--n] = 0;
}

/* ---- parameters: text, or bytea in binary ---- */

#define MAX_PARAMS 26

struct params {
    int n;
    const char *v[MAX_PARAMS];
    int len[MAX_PARAMS];
    int fmt[MAX_PARAMS];
    char num[MAX_PARAMS][24];
};

static void p_init(struct params *p)
{
    memset(p, 0, sizeof *p);
}

/* Parameter i (1-based, as $i in the SQL). */
static void p_text(struct params *p, int i, const char *t)
{
    p->v[i - 1] = t ? t : "";
    p->fmt[i - 1] = 0;
    if (i > p->n)
        p->n = i;
}

static void p_i64(struct params *p, int i, int64_t x)
{
    snprintf(p->num[i - 1], sizeof p->num[0], "%lld", (long long)x);
    p_text(p, i, p->num[i - 1]);
}

static void p_null(struct params *p, int i)
{
    p->v[i - 1] = NULL;
    if (i > p->n)
        p->n = i;
}

static void p_blob(struct params *p, int i, const void *d, size_t n)
{
    p->v[i - 1] = n ? (const char *)d : "";
    p->len[i - 1] = (int)n;
    p->fmt[i - 1] = 1;
    if (i > p->n)
        p->n = i;
}

/* NULL for an empty blob (as the SQLite backend stores it). */
static void p_blob_or_null(struct params *p, int i, const void *d, size_t n)
{
    if (n)
        p_blob(p, i, d, n);
    else
        p_null(p, i);
}

/* ---- results (binary format) ---- */

static void col_text(const PGresult *r, int row, int col, char *out, size_t cap)
{
    if (PQgetisnull(r, row, col)) {
        out[0] = 0;
        return;
    }
    snprintf(out, cap, "%.*s", PQgetlength(r, row, col), PQgetvalue(r, row, col));
}

static int64_t col_i64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
    int n = PQgetlength(r, row, col);
    if (n != 2 && n != 4 && n != 8)
        return 0;
    uint64_t v = (p[0] & 0x80) ? UINT64_MAX : 0; /* sign extension */
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return (int64_t)v;
}

/* Copies a bytea column into a fixed array; its length (0 when NULL or too large). */
static size_t col_blob(const PGresult *r, int row, int col, uint8_t *out, size_t cap)
{
    size_t n = (size_t)PQgetlength(r, row, col);
    if (PQgetisnull(r, row, col) || n > cap)
        return 0;
    memcpy(out, PQgetvalue(r, row, col), n);
    return n;
}

static int col_buf(const PGresult *r, int row, int col, struct rsp_buf *out)
{
    size_t n = PQgetisnull(r, row, col) ? 0 : (size_t)PQgetlength(r, row, col);
    return n ? rsp_buf_set(out, PQgetvalue(r, row, col), n) : (rsp_buf_reset(out), 0);
}

static long affected(const PGresult *r)
{
    const char *t = PQcmdTuples((PGresult *)r);
    return t && *t ? strtol(t, NULL, 10) : 0;
}

/* ---- execution, errors, the lost connection ---- */

static bool sqlstate_is(const char *st, const char *prefix)
{
    return st && strncmp(st, prefix, strlen(prefix)) == 0;
}

/* 0 when the result is a success; otherwise maps the failure and records it. `ambiguous`: the
 * statement may have been committed by the server even if its answer is lost. */
static int check(struct pg_store *s, const PGresult *r, bool ambiguous)
{
    ExecStatusType est = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (est == PGRES_COMMAND_OK || est == PGRES_TUPLES_OK)
        return 0;
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg =
        r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r) : PQerrorMessage(s->conn);
    set_err(s, "PostgreSQL: %s", msg);
    if (PQstatus(s->conn) != CONNECTION_OK || sqlstate_is(st, "08") || sqlstate_is(st, "57P")) {
        /* connection exception, or the server is shutting down / terminated this backend */
        s->lost = true;
        s->ambiguous |= ambiguous;
        return RSP_EIO;
    }
    if (sqlstate_is(st, "23") || sqlstate_is(st, "40001") || sqlstate_is(st, "40P01") ||
        sqlstate_is(st, "55P03"))
        return RSP_ESTATE; /* integrity rule refused the change, or a lost race */
    if (sqlstate_is(st, "22"))
        return RSP_EINVAL; /* data exception: a value the database cannot store */
    return RSP_EIO;
}

static int simple(struct pg_store *s, const char *sql, bool ambiguous)
{
    PGresult *r = PQexec(s->conn, sql);
    int rc = check(s, r, ambiguous);
    PQclear(r);
    return rc;
}

/* Runs prepared statement `id` (preparing it on first use); on success *out holds the result. */
static int q_exec(struct pg_store *s, enum stmt_id id, const struct params *p, PGresult **out)
{
    char name[16];
    *out = NULL;
    snprintf(name, sizeof name, "rsp_q%d", (int)id);
    if (!s->prepared[id]) {
        PGresult *r = PQprepare(s->conn, name, stmts[id].sql, 0, NULL);
        int rc = check(s, r, false);
        PQclear(r);
        if (rc)
            return rc;
        s->prepared[id] = true;
    }
    /* A single write inside a call's transaction but outside an operation's savepoint: its own
     * savepoint, so that its failure undoes only it (PostgreSQL would abort the transaction). */
    bool own_sp = s->call_tx && s->sp_depth == 0 && stmts[id].write;
    if (own_sp) {
        int rc = simple(s, "SAVEPOINT w", false);
        if (rc)
            return rc;
    }
    PGresult *r = PQexecPrepared(s->conn, name, p ? p->n : 0, p ? p->v : NULL, p ? p->len : NULL,
                                 p ? p->fmt : NULL, 1);
    int rc = check(s, r, stmts[id].write && !s->in_tx);
    if (own_sp && !s->lost)
        simple(s, rc ? "ROLLBACK TO SAVEPOINT w" : "RELEASE SAVEPOINT w", false);
    if (rc) {
        PQclear(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* Runs a statement whose rows do not matter; *n_rows (may be NULL) gets the affected rows. */
static int q_run(struct pg_store *s, enum stmt_id id, const struct params *p, long *n_rows)
{
    PGresult *r;
    int rc = q_exec(s, id, p, &r);
    if (rc == 0 && n_rows)
        *n_rows = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : affected(r);
    PQclear(r);
    return rc;
}

/* Start of a multi-step change: BEGIN, or inside a call's open transaction a savepoint (the first
 * change of a call opens the transaction). */
static int begin(struct pg_store *s)
{
    if (s->call_broken)
        return RSP_EIO;
    s->sp_n_pend = s->n_pend;
    if (s->call_tx) {
        int rc = simple(s, "SAVEPOINT op", false);
        s->sp_depth += rc == 0;
        return rc;
    }
    int rc = simple(s, "BEGIN", false);
    s->in_tx = rc == 0;
    if (rc == 0 && s->call) {
        s->call_tx = true;
        if ((rc = simple(s, "SAVEPOINT op", false)) == 0) {
            s->sp_depth = 1;
        } else {
            s->call_tx = false;
            if (!s->lost)
                simple(s, "ROLLBACK", false);
            s->in_tx = false;
        }
    }
    return rc;
}

static int commit(struct pg_store *s)
{
    if (s->call_tx) {
        /* The operation's savepoint is left in place, not RELEASEd: a round trip fewer per
         * operation. Each later SAVEPOINT op nests inside it and ROLLBACK TO names the newest,
         * so an operation that fails still undoes only itself; the COMMIT keeps them all. A
         * call makes a handful of operations, far below the 64 subtransactions PostgreSQL keeps
         * per backend without spilling. */
        s->sp_depth--;
        return 0;
    }
    int rc = simple(s, "COMMIT", true);
    s->in_tx = false;
    return rc;
}

static void rollback(struct pg_store *s)
{
    if (s->call_tx) {
        if (!s->lost && PQstatus(s->conn) == CONNECTION_OK)
            simple(s, "ROLLBACK TO SAVEPOINT op", false); /* kept, as in commit() */
        s->sp_depth--;
        s->n_pend = s->sp_n_pend; /* the undone operation's audit records go with it */
        return;
    }
    if (s->in_tx && !s->lost && PQstatus(s->conn) == CONNECTION_OK)
        simple(s, "ROLLBACK", false);
    s->in_tx = false;
}

/* On unless the environment has RSP_PG_CALL_TRANSACTIONS=0 when the store is opened (then each
 * operation commits on its own and these are no-ops). A call's audit records are kept in memory
 * and appended to the chain by pg_call_end just before its COMMIT: the head row, locked FOR
 * UPDATE from there to the COMMIT, queues the appenders of every connection and process for two
 * round trips only. (Locked from the call's first record, as in the first version, it queued
 * them for most of every call: make bench measured 76 -> 63 downloads/s.) */
static int pg_call_begin(struct rsp_store *st)
{
    struct pg_store *s = PG(st);
    if (!s->call_enabled)
        return 0;
    if (s->call || s->in_tx)
        return RSP_ESTATE; /* calls do not nest, nor start inside a change */
    s->call = true;
    s->call_broken = false;
    s->n_pend = s->sp_n_pend = 0;
    return 0;
}

static int read_head(struct pg_store *s, bool lock, struct rsp_audit_head *h);

/* Appends the next element of a PostgreSQL array literal (text format) under construction in a:
 * a number as is, text double-quoted with " and \\ escaped; *err gets the first failure. */
static void arr_elem(struct rsp_buf *a, const char *t, bool quote, int *err)
{
    int rc = rsp_buf_append(a, a->len ? "," : "{", 1);
    if (!quote) {
        rc = rc ? rc : rsp_buf_append(a, t, strlen(t));
    } else {
        rc = rc ? rc : rsp_buf_append_byte(a, '"');
        for (; rc == 0 && *t; t++) {
            if (*t == '"' || *t == '\\')
                rc = rsp_buf_append_byte(a, '\\');
            rc = rc ? rc : rsp_buf_append_byte(a, (uint8_t)*t);
        }
        rc = rc ? rc : rsp_buf_append_byte(a, '"');
    }
    if (rc && !*err)
        *err = rc;
}

/* bytea in its hex input form, \x..., as a quoted element */
static void arr_bytea(struct rsp_buf *a, const uint8_t *d, size_t n, int *err)
{
    char t[2 + 2 * RSP_AUDIT_HASH_LEN + 1] = "\\x";
    rsp_hex_str(t + 2, d, n < RSP_AUDIT_HASH_LEN ? n : RSP_AUDIT_HASH_LEN, 0);
    arr_elem(a, t, true, err);
}

/* The call's pending audit records: the head read and locked, each record sealed after the one
 * before, all inserted and the head moved in one statement (inside the call's transaction). */
static int audit_flush(struct pg_store *s)
{
    struct rsp_audit_head h;
    int rc = read_head(s, true, &h);
    if (rc)
        return rc;
    int64_t seq0 = h.seq;
    enum { N_ARR = 11 };
    struct rsp_buf a[N_ARR];
    for (int k = 0; k < N_ARR; k++)
        rsp_buf_init(&a[k]);
    for (size_t i = 0; rc == 0 && i < s->n_pend; i++) {
        struct rsp_audit_entry *e = &s->pend[i];
        if ((rc = rsp_audit_seal(e, h.seq, h.hash)) != 0)
            break;
        h.seq = e->seq;
        memcpy(h.hash, e->hash, sizeof h.hash);
        char num[2][24];
        snprintf(num[0], sizeof num[0], "%lld", (long long)e->seq);
        snprintf(num[1], sizeof num[1], "%lld", (long long)e->at);
        arr_elem(&a[0], num[0], false, &rc);
        arr_elem(&a[1], num[1], false, &rc);
        const char *t[] = {e->entity, e->key, e->from, e->to, e->actor, e->subject, e->reason};
        for (size_t k = 0; k < sizeof t / sizeof t[0]; k++)
            arr_elem(&a[2 + k], t[k], true, &rc);
        arr_bytea(&a[9], e->prev, sizeof e->prev, &rc);
        arr_bytea(&a[10], e->hash, sizeof e->hash, &rc);
    }
    struct params p;
    p_init(&p);
    for (int k = 0; k < N_ARR; k++) {
        int r = rsp_buf_append(&a[k], "}", 2); /* with its NUL: a C string for libpq */
        rc = rc ? rc : r;
        p_text(&p, k + 1, (const char *)a[k].data);
    }
    p_i64(&p, 12, h.seq);
    p_blob(&p, 13, h.hash, sizeof h.hash);
    p_i64(&p, 14, seq0);
    long n = 0;
    if (rc == 0)
        rc = q_run(s, Q_AUDIT_ADD_MANY, &p, &n);
    if (rc == 0 && n != 1)
        rc = RSP_ESTATE;
    for (int k = 0; k < N_ARR; k++)
        rsp_buf_free(&a[k]);
    if (rc == 0)
        fault(s, "audit:after_record");
    return rc;
}

static int pg_call_end(struct rsp_store *st, bool keep)
{
    struct pg_store *s = PG(st);
    int rc = 0;
    if (!s->call_enabled)
        return 0;
    if (s->call_tx) {
        s->lost = s->ambiguous = false;
        if (keep && !s->call_broken && s->n_pend &&
            PQtransactionStatus(s->conn) == PQTRANS_INTRANS) {
            s->sp_depth = 1; /* statements of the call's own, not a savepoint's */
            rc = audit_flush(s);
            s->sp_depth = 0;
            if (rc && s->lost)
                s->call_broken = true;
        }
        s->call_tx = false;
        if (rc && !s->call_broken) {
            if (PQstatus(s->conn) == CONNECTION_OK)
                simple(s, "ROLLBACK", false);
        } else if (s->call_broken) {
            set_err(s, "PostgreSQL: connection lost during the call; none of its changes was "
                       "stored");
            rc = RSP_EIO;
        } else if (keep && PQtransactionStatus(s->conn) == PQTRANS_INERROR) {
            /* a statement failed outside any savepoint: PostgreSQL aborted the transaction (a
             * COMMIT now would answer ROLLBACK as if it had succeeded) */
            simple(s, "ROLLBACK", false);
            set_err(s, "PostgreSQL: a statement failed inside the call's transaction; none of "
                       "its changes was stored");
            rc = RSP_EIO;
        } else if (keep) {
            fault(s, "call:before_commit");
            rc = simple(s, "COMMIT", true);
            if (rc && s->ambiguous)
                set_err(s, "PostgreSQL: connection lost while a change was being committed; it "
                           "may or may not have been applied (read it again)");
        } else if (PQstatus(s->conn) == CONNECTION_OK) {
            simple(s, "ROLLBACK", false);
        }
        s->in_tx = false;
    }
    s->call = false;
    s->call_broken = false;
    s->sp_depth = 0;
    s->n_pend = s->sp_n_pend = 0;
    return rc;
}

/* Ends the transaction of a multi-step change: COMMIT when rc is 0, else ROLLBACK. */
static int finish(struct pg_store *s, int rc)
{
    if (rc) {
        rollback(s);
        return rc;
    }
    return commit(s);
}

static int reconnect(struct pg_store *s)
{
    PQreset(s->conn);
    memset(s->prepared, 0, sizeof s->prepared);
    s->in_tx = false;
    if (PQstatus(s->conn) != CONNECTION_OK) {
        set_err(s, "PostgreSQL: connection lost and reconnecting failed: %s",
                PQerrorMessage(s->conn));
        return RSP_EIO;
    }
    return 0;
}

/* Start of one attempt of an operation. A connection already known to be broken (an earlier
 * operation lost it) is re-established here; that counts as the operation's one reconnect. */
static int attempt_start(struct pg_store *s, int *reconnects)
{
    s->lost = s->ambiguous = false;
    if (s->call_tx) /* inside a call's transaction: no reconnect (it would lose the call) */
        return s->call_broken || PQstatus(s->conn) != CONNECTION_OK ? RSP_EIO : 0;
    s->in_tx = false;
    if (PQstatus(s->conn) == CONNECTION_OK)
        return 0;
    if ((*reconnects)++ > 0)
        return RSP_EIO;
    return reconnect(s);
}

/* After one attempt: true when it is to be run again on a new connection (the connection dropped
 * and nothing can have been committed). Otherwise *rc is the operation's result. */
static bool attempt_again(struct pg_store *s, int *reconnects, int *rc)
{
    if (!s->lost)
        return false;
    if (s->call_tx) { /* the call's transaction is gone with the connection */
        s->call_broken = true;
        *rc = RSP_EIO;
        return false;
    }
    s->in_tx = false;
    if (s->ambiguous) {
        set_err(s, "PostgreSQL: connection lost while a change was being committed; it may or "
                   "may not have been applied (read it again)");
        *rc = RSP_EIO;
        return false;
    }
    if ((*reconnects)++ > 0) {
        set_err(s, "PostgreSQL: connection lost again after reconnecting; nothing was changed");
        *rc = RSP_EIO;
        return false;
    }
    if (reconnect(s) != 0) {
        *rc = RSP_EIO;
        return false;
    }
    return true;
}

/* Runs `expr` (an attempt, assigning rc) with the lost-connection rule above. */
#define RUN(s, expr)                                                                               \
    do {                                                                                           \
        int reconnects_ = 0;                                                                       \
        do {                                                                                       \
            rc = attempt_start((s), &reconnects_);                                                 \
            if (rc == 0)                                                                           \
                rc = (expr);                                                                       \
        } while (attempt_again((s), &reconnects_, &rc));                                           \
    } while (0)

/* ---- audit chain ---- */

static int read_head_row(const PGresult *r, struct rsp_audit_head *h)
{
    memset(h, 0, sizeof *h);
    if (PQntuples(r) != 1)
        return RSP_EIO; /* the head row is part of the schema */
    h->seq = col_i64(r, 0, 0);
    h->base_seq = col_i64(r, 0, 2);
    return col_blob(r, 0, 1, h->hash, sizeof h->hash) == sizeof h->hash &&
                   col_blob(r, 0, 3, h->base_hash, sizeof h->base_hash) == sizeof h->base_hash
               ? 0
               : RSP_EIO;
}

/* The chain head; `lock`: FOR UPDATE (inside a transaction that appends or prunes). */
static int read_head(struct pg_store *s, bool lock, struct rsp_audit_head *h)
{
    PGresult *r;
    int rc = q_exec(s, lock ? Q_AUDIT_HEAD_LOCK : Q_AUDIT_HEAD, NULL, &r);
    if (rc)
        return rc;
    rc = read_head_row(r, h);
    PQclear(r);
    return rc;
}

/* Appends e to the chain inside the caller's transaction (the only writer of the audit log):
 * head locked, record sealed (rsp_audit_seal), inserted, head moved. Inside a call's transaction
 * the record waits for pg_call_end (audit_flush). */
static int audit_add_entry(struct pg_store *s, struct rsp_audit_entry *e)
{
    struct rsp_audit_head h;
    e->at = now_s();
    if (s->call_tx) { /* sealed and appended by pg_call_end, just before the COMMIT */
        if (s->n_pend == s->cap_pend) {
            size_t cap = s->cap_pend ? 2 * s->cap_pend : 8;
            struct rsp_audit_entry *p = realloc(s->pend, cap * sizeof *p);
            if (!p)
                return RSP_ENOMEM;
            s->pend = p;
            s->cap_pend = cap;
        }
        s->pend[s->n_pend++] = *e;
        return 0;
    }
    int rc = read_head(s, true, &h);
    if (rc == 0)
        rc = rsp_audit_seal(e, h.seq, h.hash);
    if (rc)
        return rc;
    struct params p;
    p_init(&p);
    p_i64(&p, 1, e->seq);
    p_i64(&p, 2, e->at);
    p_text(&p, 3, e->entity);
    p_text(&p, 4, e->key);
    p_text(&p, 5, e->from);
    p_text(&p, 6, e->to);
    p_text(&p, 7, e->actor);
    p_text(&p, 8, e->subject);
    p_text(&p, 9, e->reason);
    p_blob(&p, 10, e->prev, sizeof e->prev);
    p_blob(&p, 11, e->hash, sizeof e->hash);
    rc = q_run(s, Q_AUDIT_ADD, &p, NULL);
    if (rc)
        return rc;
    fault(s, "audit:after_record");
    p_init(&p);
    p_i64(&p, 1, e->seq);
    p_blob(&p, 2, e->hash, sizeof e->hash);
    p_i64(&p, 3, h.seq);
    long n = 0;
    rc = q_run(s, Q_AUDIT_HEAD_SET, &p, &n);
    return rc ? rc : n == 1 ? 0 : RSP_ESTATE;
}

static int audit_add(struct pg_store *s, const char *entity, const char *key, const char *from,
                     const char *to, const char *actor, const char *subject, const char *reason)
{
    struct rsp_audit_entry e;
    rsp_audit_entry_set(&e, entity, key, from, to, actor, subject, reason);
    return audit_add_entry(s, &e);
}

static void eid_subject(struct pg_store *s, const char *eid, char out[RSP_AUDIT_SUBJECT_MAX + 1])
{
    rsp_store_subject(&s->base, RSP_PSEUDONYM_EID, eid, out);
}

/* Schema 4: rows written before the chain existed are chained in id order inside the migration
 * transaction (text normalised as rsp_audit_entry_set does); see store_sqlite.c. */
static int chain_legacy(struct pg_store *s)
{
    PGresult *r;
    int rc = q_exec(s, Q_LEGACY_LIST, NULL, &r);
    if (rc)
        return rc;
    int64_t seq = 0;
    uint8_t prev[32] = {0};
    int rows = PQntuples(r);
    for (int i = 0; rc == 0 && i < rows; i++) {
        char f[6][RSP_AUDIT_REASON_MAX + 1];
        for (int c = 0; c < 6; c++)
            col_text(r, i, c + 1, f[c], sizeof f[c]);
        struct rsp_audit_entry e;
        rsp_audit_entry_set(&e, f[0], f[1], f[2], f[3], f[4], "", f[5]);
        e.at = col_i64(r, i, 7);
        rc = rsp_audit_seal(&e, seq, prev);
        struct params p;
        p_init(&p);
        p_i64(&p, 1, col_i64(r, i, 0));
        p_i64(&p, 2, e.seq);
        p_text(&p, 3, e.entity);
        p_text(&p, 4, e.key);
        p_text(&p, 5, e.from);
        p_text(&p, 6, e.to);
        p_text(&p, 7, e.actor);
        p_text(&p, 8, e.reason);
        p_blob(&p, 9, e.prev, 32);
        p_blob(&p, 10, e.hash, 32);
        if (rc == 0)
            rc = q_run(s, Q_LEGACY_SET, &p, NULL);
        seq = e.seq;
        memcpy(prev, e.hash, 32);
    }
    PQclear(r);
    if (rc == 0 && seq > 0) {
        struct params p;
        p_init(&p);
        p_i64(&p, 1, seq);
        p_blob(&p, 2, prev, 32);
        p_i64(&p, 3, 0);
        long n = 0;
        rc = q_run(s, Q_AUDIT_HEAD_SET, &p, &n);
        if (rc == 0 && n != 1)
            rc = RSP_EIO;
    }
    return rc;
}

/* ---- profiles ---- */

static void read_profile(const PGresult *r, int row, struct rsp_profile *p)
{
    memset(p, 0, sizeof *p);
    char state[16];
    col_text(r, row, 0, p->iccid, sizeof p->iccid);
    col_text(r, row, 1, p->imsi, sizeof p->imsi);
    col_text(r, row, 2, p->profile_type, sizeof p->profile_type);
    col_text(r, row, 3, p->spn, sizeof p->spn);
    col_text(r, row, 4, p->name, sizeof p->name);
    p->pclass = (enum rsp_profile_class)col_i64(r, row, 5);
    col_text(r, row, 6, p->owner, sizeof p->owner);
    col_text(r, row, 7, p->operator_, sizeof p->operator_);
    col_blob(r, row, 8, p->package_sha256, sizeof p->package_sha256);
    col_text(r, row, 9, p->package_path, sizeof p->package_path);
    col_text(r, row, 10, state, sizeof state);
    rsp_profile_state_from_name(state, &p->state);
    p->state_since = col_i64(r, row, 11);
    p->created_at = col_i64(r, row, 12);
    col_text(r, row, 13, p->eid, sizeof p->eid);
    col_text(r, row, 14, p->matching_id, sizeof p->matching_id);
    p->cc_set = col_blob(r, row, 15, p->cc_hash, sizeof p->cc_hash) == sizeof p->cc_hash;
    p->cc_attempts = (unsigned)col_i64(r, row, 16);
    p->cc_max_attempts = (unsigned)col_i64(r, row, 17);
    p->download_attempts = (unsigned)col_i64(r, row, 18);
    p->release_flag = col_i64(r, row, 19) != 0;
    col_text(r, row, 20, p->smds_address, sizeof p->smds_address);
    col_text(r, row, 21, p->error_reason, sizeof p->error_reason);
    p->version = col_i64(r, row, 22);
}

/* Parameters $1..$23 of an INSERT of one profile row (Q_PROFILE_INSERT, Q_IMPORT_INSERT). */
static void bind_profile_insert(struct params *q, const struct rsp_profile *p, const uint8_t *pkg,
                                size_t pkg_len, int64_t now)
{
    p_text(q, 1, p->iccid);
    p_text(q, 2, p->imsi);
    p_text(q, 3, p->profile_type);
    p_text(q, 4, p->spn);
    p_text(q, 5, p->name);
    p_i64(q, 6, (int)p->pclass);
    p_text(q, 7, p->owner);
    p_text(q, 8, p->operator_);
    p_blob(q, 9, p->package_sha256, sizeof p->package_sha256);
    p_text(q, 10, p->package_path);
    p_text(q, 11, rsp_profile_state_name(p->state));
    p_i64(q, 12, now);
    p_i64(q, 13, now);
    p_text(q, 14, p->eid);
    p_text(q, 15, p->matching_id);
    p_blob_or_null(q, 16, p->cc_hash, p->cc_set ? sizeof p->cc_hash : 0);
    p_i64(q, 17, (int)p->cc_attempts);
    p_i64(q, 18, (int)p->cc_max_attempts);
    p_i64(q, 19, (int)p->download_attempts);
    p_i64(q, 20, p->release_flag);
    p_text(q, 21, p->smds_address);
    p_text(q, 22, p->error_reason);
    p_blob_or_null(q, 23, pkg, pkg_len);
}

static int profile_insert_once(struct pg_store *s, const struct rsp_profile *p, const uint8_t *pkg,
                               size_t pkg_len, const char *actor)
{
    int rc = begin(s);
    if (rc)
        return rc;
    struct params q;
    p_init(&q);
    bind_profile_insert(&q, p, pkg, pkg_len, now_s());
    rc = q_run(s, Q_PROFILE_INSERT, &q, NULL);
    if (rc == 0) {
        fault(s, "profile_insert:after_insert");
        char subject[RSP_AUDIT_SUBJECT_MAX + 1];
        eid_subject(s, p->eid, subject);
        rc = audit_add(s, "profile", p->iccid, "", rsp_profile_state_name(p->state), actor, subject,
                       "inserted");
    }
    return finish(s, rc);
}

static int pg_profile_insert(struct rsp_store *st, const struct rsp_profile *p, const uint8_t *pkg,
                             size_t pkg_len, const char *actor)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, profile_insert_once(s, p, pkg, pkg_len, actor));
    return rc;
}

/* One profile row by a one- or two-parameter query; RSP_ENOTFOUND when none. */
static int profile_query_once(struct pg_store *s, enum stmt_id id, const char *a, const char *b,
                              struct rsp_profile *out)
{
    struct params q;
    p_init(&q);
    p_text(&q, 1, a);
    if (b)
        p_text(&q, 2, b);
    PGresult *r;
    int rc = q_exec(s, id, &q, &r);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        read_profile(r, 0, out);
    else
        rc = RSP_ENOTFOUND;
    PQclear(r);
    return rc;
}

static int pg_profile_get(struct rsp_store *st, const char *iccid, struct rsp_profile *out)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, profile_query_once(s, Q_PROFILE_GET, iccid, NULL, out));
    return rc;
}

/* A single bytea value by key into out; RSP_ENOTFOUND when there is no row or it is NULL. */
static int blob_query_once(struct pg_store *s, enum stmt_id id, const char *key,
                           struct rsp_buf *out)
{
    struct params q;
    p_init(&q);
    p_text(&q, 1, key);
    PGresult *r;
    int rc = q_exec(s, id, &q, &r);
    if (rc)
        return rc;
    rc = PQntuples(r) == 0 || PQgetisnull(r, 0, 0) ? RSP_ENOTFOUND : col_buf(r, 0, 0, out);
    PQclear(r);
    return rc;
}

static int pg_profile_package(struct rsp_store *st, const char *iccid, struct rsp_buf *out)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, blob_query_once(s, Q_PROFILE_PACKAGE, iccid, out));
    return rc;
}

static int pg_profile_find_available(struct rsp_store *st, const char *profile_type,
                                     struct rsp_profile *out)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, profile_query_once(s, Q_PROFILE_FIND, profile_type, NULL, out));
    return rc;
}

static int find_owned_once(struct pg_store *s, const char *profile_type, const char *owner,
                           struct rsp_profile *out)
{
    int rc = profile_query_once(s, Q_PROFILE_FIND_OWNED, profile_type, owner, out);
    if (rc != RSP_ENOTFOUND)
        return rc;
    struct params q;
    p_init(&q);
    p_text(&q, 1, profile_type);
    p_text(&q, 2, owner);
    long n = 0;
    rc = q_run(s, Q_PROFILE_TYPE_OWNED, &q, &n);
    return rc ? rc : n ? RSP_ESTATE : RSP_ENOTFOUND;
}

static int pg_profile_find_available_owned(struct rsp_store *st, const char *profile_type,
                                           const char *owner, struct rsp_profile *out)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, find_owned_once(s, profile_type, owner, out));
    return rc;
}

static int pg_profile_find_download(struct rsp_store *st, const char *matching_id, const char *eid,
                                    struct rsp_profile *out)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, profile_query_once(s, matching_id[0] ? Q_PROFILE_BY_MID : Q_PROFILE_DEFAULT_DP,
                              matching_id[0] ? matching_id : eid, NULL, out));
    return rc;
}

/* After a CAS changed no row: RSP_ENOTFOUND if the key does not exist, else RSP_ESTATE. */
static int cas_lost(struct pg_store *s, enum stmt_id exists, const char *key)
{
    struct params q;
    p_init(&q);
    p_text(&q, 1, key);
    long n = 0;
    int rc = q_run(s, exists, &q, &n);
    return rc ? rc : n ? RSP_ESTATE : RSP_ENOTFOUND;
}

static int profile_cas_once(struct pg_store *s, const struct rsp_profile *p,
                            enum rsp_profile_state expect_state, int64_t expect_version,
                            const char *actor, const char *reason)
{
    const char *from = rsp_profile_state_name(expect_state), *to = rsp_profile_state_name(p->state);
    int rc = begin(s);
    if (rc)
        return rc;
    struct params q;
    /* The record's subject: the EID the profile is (or, when this change unlinks it, was) bound
     * to, read before the update inside the transaction. */
    char subject[RSP_AUDIT_SUBJECT_MAX + 1] = "", old_eid[33] = "";
    if (expect_state != p->state && !p->eid[0] && s->base.pseudonym_key) {
        p_init(&q);
        p_text(&q, 1, p->iccid);
        PGresult *r;
        rc = q_exec(s, Q_PROFILE_EID, &q, &r);
        if (rc)
            return finish(s, rc);
        if (PQntuples(r) > 0)
            col_text(r, 0, 0, old_eid, sizeof old_eid);
        PQclear(r);
    }
    if (expect_state != p->state)
        eid_subject(s, p->eid[0] ? p->eid : old_eid, subject);
    p_init(&q);
    p_text(&q, 1, p->iccid);
    p_text(&q, 2, p->imsi);
    p_text(&q, 3, p->profile_type);
    p_text(&q, 4, p->spn);
    p_text(&q, 5, p->name);
    p_i64(&q, 6, (int)p->pclass);
    p_text(&q, 7, p->owner);
    p_text(&q, 8, p->operator_);
    p_blob(&q, 9, p->package_sha256, sizeof p->package_sha256);
    p_text(&q, 10, p->package_path);
    p_text(&q, 11, to);
    p_i64(&q, 12, now_s());
    p_text(&q, 13, p->eid);
    p_text(&q, 14, p->matching_id);
    p_blob_or_null(&q, 15, p->cc_hash, p->cc_set ? sizeof p->cc_hash : 0);
    p_i64(&q, 16, (int)p->cc_attempts);
    p_i64(&q, 17, (int)p->cc_max_attempts);
    p_i64(&q, 18, (int)p->download_attempts);
    p_i64(&q, 19, p->release_flag);
    p_text(&q, 20, p->smds_address);
    p_text(&q, 21, p->error_reason);
    p_text(&q, 22, from);
    p_i64(&q, 23, expect_version);
    long n = 0;
    rc = q_run(s, Q_PROFILE_CAS, &q, &n);
    if (rc == 0 && n == 0)
        rc = cas_lost(s, Q_PROFILE_EXISTS, p->iccid);
    if (rc == 0 && expect_state != p->state) {
        fault(s, "profile_cas:after_update");
        rc = audit_add(s, "profile", p->iccid, from, to, actor, subject, reason);
    }
    return finish(s, rc);
}

static int pg_profile_cas(struct rsp_store *st, const struct rsp_profile *p,
                          enum rsp_profile_state expect_state, int64_t expect_version,
                          const char *actor, const char *reason)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, profile_cas_once(s, p, expect_state, expect_version, actor, reason));
    return rc;
}

/* ---- inventory import ---- */

/* The batch import runs in three pipelined phases inside one transaction (libpq pipeline mode: up
 * to PIPE_CHUNK statements sent before their results are read, so a batch costs a few round trips
 * per PIPE_CHUNK items instead of five per item):
 *   1. look every ICCID up (Q_IMPORT_LOOKUP_ANY, one statement), decide each item's outcome in
 *      item order (an ICCID seen earlier in the same batch counts as imported by then, as if
 *      looked up after it);
 *   2. insert the accepted rows (binary COPY, see below; or Q_IMPORT_INSERT pipelined, where a
 *      uniqueness conflict inserts nothing and is a refusal, as before);
 *   3. lock the chain head once (rows before records: the head stays the last lock taken), seal
 *      one audit record per item that needs one, in item order, insert them, move the head once.
 * The records, their order and the results are the ones the item-by-item import gave. */
#define PIPE_CHUNK 256

enum imp_state {
    IMP_NONE = 0,   /* nothing to record (present: no-op) */
    IMP_INSERT,     /* to insert (phase 2), then recorded as imported */
    IMP_REFUSED,    /* `refused` by the caller */
    IMP_HAVE_OTHER, /* in the inventory with another manifest */
    IMP_HAVE_NONE,  /* in the inventory without a manifest */
    IMP_DB_REFUSED, /* the insert hit a uniqueness rule */
};

struct imp {
    uint8_t digest[32];
    enum imp_state st;
};

/* Sends one prepared statement into the pipeline (prepared outside the pipeline beforehand). */
static int pipe_send(struct pg_store *s, enum stmt_id id, const struct params *p)
{
    char name[16];
    snprintf(name, sizeof name, "rsp_q%d", (int)id);
    if (PQsendQueryPrepared(s->conn, name, p->n, p->v, p->len, p->fmt, 1))
        return 0;
    set_err(s, "PostgreSQL: %s", PQerrorMessage(s->conn));
    if (PQstatus(s->conn) != CONNECTION_OK)
        s->lost = true;
    return RSP_EIO;
}

static int ensure_prepared(struct pg_store *s, enum stmt_id id)
{
    if (s->prepared[id])
        return 0;
    char name[16];
    snprintf(name, sizeof name, "rsp_q%d", (int)id);
    PGresult *r = PQprepare(s->conn, name, stmts[id].sql, 0, NULL);
    int rc = check(s, r, false);
    PQclear(r);
    if (rc == 0)
        s->prepared[id] = true;
    return rc;
}

/* The next statement's result in a pipeline (NULL-terminated per statement). 0 with *out set, or
 * an error (the first failure is recorded by check). */
static int pipe_result(struct pg_store *s, PGresult **out)
{
    PGresult *r = PQgetResult(s->conn);
    int rc = check(s, r, false);
    if (rc) {
        PQclear(r);
        *out = NULL;
        return rc;
    }
    PGresult *end = PQgetResult(s->conn); /* the NULL that ends this statement */
    PQclear(end);
    *out = r;
    return 0;
}

/* After a failure: syncs unless the sync point was sent already, drains the pipeline to it and
 * leaves pipeline mode. */
static int pipe_end(struct pg_store *s, int rc, bool synced)
{
    if (!synced && !PQpipelineSync(s->conn) && rc == 0)
        rc = RSP_EIO;
    for (int guard = 0; PQstatus(s->conn) == CONNECTION_OK && guard < 4 * PIPE_CHUNK + 8; guard++) {
        PGresult *r = PQgetResult(s->conn);
        if (!r)
            continue;
        ExecStatusType st = PQresultStatus(r);
        PQclear(r);
        if (st == PGRES_PIPELINE_SYNC)
            break;
    }
    if (!PQexitPipelineMode(s->conn) && rc == 0) {
        set_err(s, "PostgreSQL: %s", PQerrorMessage(s->conn));
        rc = RSP_EIO;
    }
    if (PQstatus(s->conn) != CONNECTION_OK) {
        s->lost = true;
        rc = RSP_EIO;
    }
    return rc;
}

/* Runs `count` statements built by `build(ctx, k, params)` (returns 0 to send, 1 to skip) in
 * pipelined chunks, giving each result to `take(ctx, k, result)`. */
typedef int (*pipe_build_fn)(struct pg_store *s, void *ctx, size_t k, struct params *p);
typedef int (*pipe_take_fn)(struct pg_store *s, void *ctx, size_t k, PGresult *r);

static int pipe_run(struct pg_store *s, enum stmt_id id, size_t count, pipe_build_fn build,
                    pipe_take_fn take, void *ctx)
{
    int rc = ensure_prepared(s, id);
    size_t sent[PIPE_CHUNK];
    for (size_t k = 0; rc == 0 && k < count;) {
        if (!PQenterPipelineMode(s->conn)) {
            set_err(s, "PostgreSQL: cannot enter pipeline mode: %s", PQerrorMessage(s->conn));
            return RSP_EIO;
        }
        size_t m = 0;
        for (; rc == 0 && k < count && m < PIPE_CHUNK; k++) {
            struct params q;
            p_init(&q);
            int b = build(s, ctx, k, &q);
            if (b < 0)
                rc = b;
            else if (b == 0 && (rc = pipe_send(s, id, &q)) == 0)
                sent[m++] = k;
        }
        bool synced = false;
        if (rc == 0) {
            synced = PQpipelineSync(s->conn) == 1;
            if (!synced)
                rc = RSP_EIO;
        }
        for (size_t i = 0; rc == 0 && i < m; i++) {
            PGresult *r;
            if ((rc = pipe_result(s, &r)) == 0) {
                rc = take(s, ctx, sent[i], r);
                PQclear(r);
            }
        }
        if (rc == 0) { /* the sync point */
            PGresult *r = PQgetResult(s->conn);
            ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
            PQclear(r);
            if (st != PGRES_PIPELINE_SYNC)
                rc = RSP_EIO;
            if (!PQexitPipelineMode(s->conn))
                rc = RSP_EIO;
        } else {
            pipe_end(s, rc, synced);
        }
    }
    if (rc == RSP_EIO && PQstatus(s->conn) != CONNECTION_OK)
        s->lost = true;
    return rc;
}

struct imp_ctx {
    struct rsp_store_import_item *items;
    struct imp *st;
    size_t *order; /* item indexes sorted by ICCID (duplicates in item order) */
    size_t n;
    const char *actor;
    int64_t now;
    struct rsp_audit_head head;
};

static struct imp_ctx *sort_ctx;
static int cmp_iccid(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int d = strcmp(sort_ctx->items[i].profile.iccid, sort_ctx->items[j].profile.iccid);
    return d ? d : (i > j) - (i < j);
}

/* An ICCID a batch holds twice: the later item meets the earlier one as already imported (same
 * manifest: present; another: refused), exactly as one-by-one lookups would see it. */
static void imp_dedup(struct imp_ctx *c)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&mu); /* qsort has no context argument in C11 */
    sort_ctx = c;
    qsort(c->order, c->n, sizeof *c->order, cmp_iccid);
    sort_ctx = NULL;
    pthread_mutex_unlock(&mu);
    for (size_t a = 0; a < c->n;) {
        size_t b = a + 1;
        while (b < c->n &&
               !strcmp(c->items[c->order[a]].profile.iccid, c->items[c->order[b]].profile.iccid))
            b++;
        /* the first to be inserted of the group (in item order) wins */
        const struct imp *first = NULL;
        for (size_t g = a; g < b; g++) {
            size_t k = c->order[g];
            struct imp *x = &c->st[k];
            if (c->items[k].refused || x->st != IMP_INSERT)
                continue;
            if (!first) {
                first = x;
            } else if (memcmp(first->digest, x->digest, 32) == 0) {
                x->st = IMP_NONE;
                c->items[k].result = RSP_STORE_IMPORT_PRESENT;
            } else {
                x->st = IMP_HAVE_OTHER;
                c->items[k].result = RSP_ESTATE;
            }
        }
        a = b;
    }
}

static int imp_insert_build(struct pg_store *s, void *c_, size_t k, struct params *q)
{
    struct imp_ctx *c = c_;
    struct rsp_store_import_item *it = &c->items[k];
    if (c->st[k].st != IMP_INSERT)
        return 1;
    bind_profile_insert(q, &it->profile, it->pkg, it->pkg_len, c->now);
    p_blob(q, 24, it->manifest, it->manifest_len);
    p_blob(q, 25, c->st[k].digest, 32);
    p_i64(q, 26, c->now);
    return 0;
}

static int imp_insert_take(struct pg_store *s, void *c_, size_t k, PGresult *r)
{
    struct imp_ctx *c = c_;
    if (PQntuples(r) == 0) { /* uniqueness: e.g. a duplicate matchingId */
        c->st[k].st = IMP_DB_REFUSED;
        c->items[k].result = RSP_ESTATE;
        return 0;
    }
    c->items[k].result = 0;
    fault(s, "profile_import:after_insert");
    return 0;
}

/* The audit record of item k (0) or none (1). */
static int imp_entry(struct pg_store *s, struct imp_ctx *c, size_t k, struct rsp_audit_entry *e)
{
    struct rsp_store_import_item *it = &c->items[k];
    const char *key = it->profile.iccid[0] ? it->profile.iccid : "-";
    char reason[128];
    switch (c->st[k].st) {
    case IMP_REFUSED:
        snprintf(reason, sizeof reason, "%s", it->refused);
        rsp_audit_entry_set(e, "import", key, "", "Refused", c->actor, "", reason);
        return 0;
    case IMP_HAVE_OTHER:
        rsp_audit_entry_set(e, "import", key, "", "Refused", c->actor, "",
                            "ICCID already imported with another manifest");
        return 0;
    case IMP_HAVE_NONE:
        rsp_audit_entry_set(e, "import", key, "", "Refused", c->actor, "",
                            "ICCID already in the inventory without a manifest");
        return 0;
    case IMP_DB_REFUSED:
        rsp_audit_entry_set(e, "import", key, "", "Refused", c->actor, "",
                            "row refused by the database");
        return 0;
    case IMP_INSERT: {
        char hex[17];
        rsp_hex_str(hex, c->st[k].digest, 8, 0);
        snprintf(reason, sizeof reason, "imported (manifest sha256 %s...)", hex);
        rsp_audit_entry_set(e, "profile", it->profile.iccid, "",
                            rsp_profile_state_name(RSP_PROFILE_AVAILABLE), c->actor, "", reason);
        return 0;
    }
    default:
        return 1;
    }
}

static int imp_audit_build(struct pg_store *s, void *c_, size_t k, struct params *q)
{
    struct imp_ctx *c = c_;
    static __thread struct rsp_audit_entry e; /* q points into it until the statement is sent */
    if (imp_entry(s, c, k, &e))
        return 1;
    e.at = c->now;
    int rc = rsp_audit_seal(&e, c->head.seq, c->head.hash);
    if (rc)
        return rc;
    c->head.seq = e.seq;
    memcpy(c->head.hash, e.hash, sizeof e.hash);
    p_i64(q, 1, e.seq);
    p_i64(q, 2, e.at);
    p_text(q, 3, e.entity);
    p_text(q, 4, e.key);
    p_text(q, 5, e.from);
    p_text(q, 6, e.to);
    p_text(q, 7, e.actor);
    p_text(q, 8, e.subject);
    p_text(q, 9, e.reason);
    p_blob(q, 10, e.prev, sizeof e.prev);
    p_blob(q, 11, e.hash, sizeof e.hash);
    return 0;
}

static int imp_audit_take(struct pg_store *s, void *c_, size_t k, PGresult *r)
{
    return 0;
}

/* ---- import fast path: one lookup, binary COPY ----
 * Phase 1 looks the whole batch up with one statement. Phases 2 and 3 send the accepted rows,
 * their manifests and the audit records with COPY ... FROM STDIN (FORMAT binary) instead of one
 * INSERT per row (per-statement work in the server: executor start, constraint expressions,
 * ...). COPY has no ON CONFLICT: it is used when no accepted item carries a matchingId (the
 * ICCIDs were looked up under this transaction); a uniqueness conflict all the same (a row
 * inserted meanwhile by another process) aborts the attempt, and the batch is run again the
 * row-by-row way, which refuses just that item. Either way the results and records are the ones
 * of the item-by-item import. */

static void cp_u16(struct rsp_buf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    rsp_buf_append(b, x, 2);
}

static void cp_u32(struct rsp_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    rsp_buf_append(b, x, 4);
}

static void cp_bytes(struct rsp_buf *b, const void *p, size_t n)
{
    cp_u32(b, (uint32_t)n);
    rsp_buf_append(b, p, n);
}

static void cp_null(struct rsp_buf *b)
{
    cp_u32(b, 0xFFFFFFFFu); /* length -1 */
}

static void cp_text(struct rsp_buf *b, const char *t)
{
    cp_bytes(b, t ? t : "", t ? strlen(t) : 0);
}

static void cp_i32(struct rsp_buf *b, int32_t v)
{
    cp_u32(b, 4);
    cp_u32(b, (uint32_t)v);
}

static void cp_i64(struct rsp_buf *b, int64_t v)
{
    cp_u32(b, 8);
    cp_u32(b, (uint32_t)((uint64_t)v >> 32));
    cp_u32(b, (uint32_t)(uint64_t)v);
}

/* Appends the tuple of item k to b (0), nothing (1), or fails (negative). */
typedef int (*copy_row_fn)(struct pg_store *s, void *ctx, size_t k, struct rsp_buf *b);

/* COPY `sql` (... FROM STDIN (FORMAT binary)) with the tuples of items 0..count-1. */
static int copy_rows(struct pg_store *s, const char *sql, size_t count, copy_row_fn row, void *ctx)
{
    PGresult *r = PQexec(s->conn, sql);
    if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
        int rc = check(s, r, false);
        PQclear(r);
        return rc ? rc : RSP_EIO;
    }
    PQclear(r);
    struct rsp_buf b = RSP_BUF_INIT;
    rsp_buf_append(&b, "PGCOPY\n\377\r\n", 11); /* signature, NUL included */
    cp_u32(&b, 0);                              /* flags */
    cp_u32(&b, 0);                              /* header extension */
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < count; k++) {
        int e = row(s, ctx, k, &b);
        if (e < 0)
            rc = e;
        else if (b.err)
            rc = b.err;
        else if (b.len >= (1u << 20)) {
            if (PQputCopyData(s->conn, (const char *)b.data, (int)b.len) != 1)
                rc = RSP_EIO;
            rsp_buf_reset(&b);
        }
    }
    if (rc == 0) {
        cp_u16(&b, 0xFFFFu); /* trailer */
        rc = b.err;
    }
    if (rc == 0 && PQputCopyData(s->conn, (const char *)b.data, (int)b.len) != 1)
        rc = RSP_EIO;
    rsp_buf_free(&b);
    if (PQputCopyEnd(s->conn, rc ? "rspkit: import aborted" : NULL) != 1 && rc == 0)
        rc = RSP_EIO;
    while ((r = PQgetResult(s->conn)) != NULL) {
        int e = check(s, r, false);
        if (rc == 0)
            rc = e;
        PQclear(r);
    }
    if (rc == RSP_EIO && PQstatus(s->conn) != CONNECTION_OK)
        s->lost = true;
    return rc;
}

struct imp_found {
    char iccid[sizeof((struct rsp_profile *)0)->iccid];
    bool has_manifest;
    uint8_t digest[32];
};

static int cmp_found(const void *a, const void *b)
{
    return strcmp(((const struct imp_found *)a)->iccid, ((const struct imp_found *)b)->iccid);
}

/* Phase 1 in one statement: every ICCID of the batch as one text[] parameter. */
static int imp_lookup_all(struct pg_store *s, struct imp_ctx *c)
{
    struct rsp_buf arr = RSP_BUF_INIT;
    rsp_buf_append_byte(&arr, '{');
    bool any = false;
    for (size_t k = 0; k < c->n; k++) {
        if (c->items[k].refused)
            continue;
        if (any)
            rsp_buf_append_byte(&arr, ',');
        any = true;
        rsp_buf_append_byte(&arr, '"');
        for (const char *p = c->items[k].profile.iccid; *p; p++) {
            if (*p == '"' || *p == '\\')
                rsp_buf_append_byte(&arr, '\\');
            rsp_buf_append_byte(&arr, (uint8_t)*p);
        }
        rsp_buf_append_byte(&arr, '"');
    }
    rsp_buf_append(&arr, "}", 2); /* NUL-terminated */
    int rc = arr.err;
    PGresult *r = NULL;
    if (rc == 0 && any) {
        struct params q;
        p_init(&q);
        p_text(&q, 1, (const char *)arr.data);
        rc = q_exec(s, Q_IMPORT_LOOKUP_ANY, &q, &r);
    }
    rsp_buf_free(&arr);
    if (rc || !any)
        return rc;
    size_t nf = (size_t)PQntuples(r);
    struct imp_found *f = calloc(nf ? nf : 1, sizeof *f);
    if (!f) {
        PQclear(r);
        return RSP_ENOMEM;
    }
    for (size_t i = 0; i < nf; i++) {
        col_text(r, (int)i, 0, f[i].iccid, sizeof f[i].iccid);
        f[i].has_manifest = !PQgetisnull(r, (int)i, 1);
        if (f[i].has_manifest && col_blob(r, (int)i, 1, f[i].digest, 32) != 32)
            rc = RSP_EIO;
    }
    PQclear(r);
    qsort(f, nf, sizeof *f, cmp_found);
    for (size_t k = 0; rc == 0 && k < c->n; k++) {
        struct rsp_store_import_item *it = &c->items[k];
        struct imp *x = &c->st[k];
        if (it->refused)
            continue;
        struct imp_found key;
        snprintf(key.iccid, sizeof key.iccid, "%s", it->profile.iccid);
        const struct imp_found *hit = bsearch(&key, f, nf, sizeof *f, cmp_found);
        if (!hit) {
            x->st = IMP_INSERT; /* may still be a duplicate within the batch (imp_dedup) */
        } else if (!hit->has_manifest) {
            x->st = IMP_HAVE_NONE;
            it->result = RSP_ESTATE;
        } else if (memcmp(hit->digest, x->digest, 32) == 0) {
            x->st = IMP_NONE;
            it->result = RSP_STORE_IMPORT_PRESENT;
        } else {
            x->st = IMP_HAVE_OTHER;
            it->result = RSP_ESTATE;
        }
    }
    free(f);
    return rc;
}

static int imp_copy_profile(struct pg_store *s, void *c_, size_t k, struct rsp_buf *b)
{
    struct imp_ctx *c = c_;
    const struct rsp_store_import_item *it = &c->items[k];
    const struct rsp_profile *p = &it->profile;
    if (c->st[k].st != IMP_INSERT)
        return 1;
    cp_u16(b, 24); /* PROFILE_COLS, package */
    cp_text(b, p->iccid);
    cp_text(b, p->imsi);
    cp_text(b, p->profile_type);
    cp_text(b, p->spn);
    cp_text(b, p->name);
    cp_i32(b, (int32_t)p->pclass);
    cp_text(b, p->owner);
    cp_text(b, p->operator_);
    cp_bytes(b, p->package_sha256, sizeof p->package_sha256);
    cp_text(b, p->package_path);
    cp_text(b, rsp_profile_state_name(p->state));
    cp_i64(b, c->now);
    cp_i64(b, c->now);
    cp_text(b, p->eid);
    cp_text(b, p->matching_id);
    if (p->cc_set)
        cp_bytes(b, p->cc_hash, sizeof p->cc_hash);
    else
        cp_null(b);
    cp_i32(b, (int32_t)p->cc_attempts);
    cp_i32(b, (int32_t)p->cc_max_attempts);
    cp_i32(b, (int32_t)p->download_attempts);
    cp_i32(b, p->release_flag ? 1 : 0);
    cp_text(b, p->smds_address);
    cp_text(b, p->error_reason);
    cp_i64(b, 0); /* version */
    if (it->pkg && it->pkg_len)
        cp_bytes(b, it->pkg, it->pkg_len);
    else
        cp_null(b);
    return 0;
}

static int imp_copy_manifest(struct pg_store *s, void *c_, size_t k, struct rsp_buf *b)
{
    struct imp_ctx *c = c_;
    const struct rsp_store_import_item *it = &c->items[k];
    if (c->st[k].st != IMP_INSERT)
        return 1;
    cp_u16(b, 4);
    cp_text(b, it->profile.iccid);
    cp_bytes(b, it->manifest, it->manifest_len);
    cp_bytes(b, c->st[k].digest, 32);
    cp_i64(b, c->now);
    return 0;
}

static int imp_copy_audit(struct pg_store *s, void *c_, size_t k, struct rsp_buf *b)
{
    struct imp_ctx *c = c_;
    struct rsp_audit_entry e;
    if (imp_entry(s, c, k, &e))
        return 1;
    e.at = c->now;
    int rc = rsp_audit_seal(&e, c->head.seq, c->head.hash);
    if (rc)
        return rc;
    c->head.seq = e.seq;
    memcpy(c->head.hash, e.hash, sizeof e.hash);
    cp_u16(b, 11);
    cp_i64(b, e.seq);
    cp_i64(b, e.at);
    cp_text(b, e.entity);
    cp_text(b, e.key);
    cp_text(b, e.from);
    cp_text(b, e.to);
    cp_text(b, e.actor);
    cp_text(b, e.subject);
    cp_text(b, e.reason);
    cp_bytes(b, e.prev, sizeof e.prev);
    cp_bytes(b, e.hash, sizeof e.hash);
    return 0;
}

/* The batch manifests the accepted items refer to, each once (ON CONFLICT: stored before). */
static int imp_batches(struct pg_store *s, struct imp_ctx *c)
{
    const uint8_t *last = NULL;
    for (size_t k = 0; k < c->n; k++) {
        const struct rsp_store_import_item *it = &c->items[k];
        if (c->st[k].st != IMP_INSERT || !it->batch || it->batch == last)
            continue;
        uint8_t d[32];
        if (rsp_sha256(it->batch, it->batch_len, d))
            return RSP_ECRYPTO;
        struct params p;
        p_init(&p);
        p_blob(&p, 1, d, 32);
        p_blob(&p, 2, it->batch, it->batch_len);
        p_i64(&p, 3, c->now);
        int rc = q_run(s, Q_BATCH_ADD, &p, NULL);
        if (rc)
            return rc == RSP_ESTATE ? RSP_EIO : rc;
        last = it->batch;
    }
    return 0;
}

/* One attempt of the batch; `copy`: phases 2 and 3 with COPY when the batch allows it. */
static int import_once(struct pg_store *s, struct rsp_store_import_item *items, size_t n,
                       const char *actor, bool copy)
{
    struct imp_ctx c = {.items = items, .n = n, .actor = actor, .now = now_s()};
    c.st = calloc(n ? n : 1, sizeof *c.st);
    c.order = calloc(n ? n : 1, sizeof *c.order);
    if (!c.st || !c.order) {
        free(c.st);
        free(c.order);
        return RSP_ENOMEM;
    }
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < n; k++) {
        c.order[k] = k;
        items[k].result = 0;
        if (items[k].refused) {
            c.st[k].st = IMP_REFUSED;
            items[k].result = RSP_EVERIFY;
        } else if (rsp_sha256(items[k].manifest, items[k].manifest_len, c.st[k].digest)) {
            rc = RSP_ECRYPTO;
        }
    }
    if (rc == 0)
        rc = begin(s);
    if (rc == 0)
        rc = imp_lookup_all(s, &c);
    if (rc == 0) {
        fault(s, "profile_import:looked_up");
        imp_dedup(&c);
    }
    for (size_t k = 0; copy && k < n; k++)
        if (c.st[k].st == IMP_INSERT && items[k].profile.matching_id[0])
            copy = false;
    if (rc == 0)
        rc = imp_batches(s, &c);
    if (rc == 0 && copy) {
        rc = copy_rows(s, "COPY profiles (" PROFILE_COLS ", package) FROM STDIN (FORMAT binary)", n,
                       imp_copy_profile, &c);
        if (rc == 0)
            rc = copy_rows(s,
                           "COPY profile_manifests (iccid, manifest, manifest_sha256,"
                           " imported_at) FROM STDIN (FORMAT binary)",
                           n, imp_copy_manifest, &c);
        for (size_t k = 0; rc == 0 && k < n; k++)
            if (c.st[k].st == IMP_INSERT) {
                items[k].result = 0;
                fault(s, "profile_import:after_insert");
            }
    } else if (rc == 0) {
        rc = pipe_run(s, Q_IMPORT_INSERT, n, imp_insert_build, imp_insert_take, &c);
    }
    if (rc == 0)
        rc = read_head(s, true, &c.head);
    int64_t first_seq = c.head.seq;
    if (rc == 0 && copy) {
        rc = copy_rows(s,
                       "COPY audit (seq, at, entity, key, from_state, to_state, actor, subject,"
                       " reason, prev_hash, hash) FROM STDIN (FORMAT binary)",
                       n, imp_copy_audit, &c);
    } else if (rc == 0) {
        rc = ensure_prepared(s, Q_AUDIT_ADD);
        if (rc == 0)
            rc = pipe_run(s, Q_AUDIT_ADD, n, imp_audit_build, imp_audit_take, &c);
    }
    if (rc == 0 && c.head.seq != first_seq) {
        fault(s, "audit:after_record");
        struct params p;
        p_init(&p);
        p_i64(&p, 1, c.head.seq);
        p_blob(&p, 2, c.head.hash, sizeof c.head.hash);
        p_i64(&p, 3, first_seq);
        long m = 0;
        rc = q_run(s, Q_AUDIT_HEAD_SET, &p, &m);
        if (rc == 0 && m != 1)
            rc = RSP_ESTATE;
    }
    free(c.st);
    free(c.order);
    if (rc == 0)
        return commit(s);
    rollback(s);
    return rc;
}

static int pg_profile_import(struct rsp_store *st, struct rsp_store_import_item *items, size_t n,
                             const char *actor)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, import_once(s, items, n, actor, true));
    if (rc == RSP_ESTATE) /* a conflict COPY cannot skip: the row-by-row way refuses the item */
        RUN(s, import_once(s, items, n, actor, false));
    return rc;
}

static int pg_profile_manifest(struct rsp_store *st, const char *iccid, struct rsp_buf *out)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, blob_query_once(s, Q_MANIFEST_GET, iccid, out));
    return rc;
}

/* One page of the listing after `after`; *rows gets the result (the caller frees). */
static int list_page_once(struct pg_store *s, const enum rsp_profile_state *state,
                          const char *after, PGresult **rows)
{
    struct params q;
    p_init(&q);
    if (state) {
        p_text(&q, 1, rsp_profile_state_name(*state));
        p_text(&q, 2, after);
    } else {
        p_text(&q, 1, after);
    }
    return q_exec(s, state ? Q_PROFILE_LIST_STATE : Q_PROFILE_LIST, &q, rows);
}

/* Walks the profiles in pages by ICCID (each page its own statement: a lost connection costs one
 * page, never a callback twice). Unlike SQLite's single read, the walk is not one snapshot. */
static int pg_profile_list(struct rsp_store *st, const enum rsp_profile_state *state,
                           rsp_store_profile_cb cb, void *arg)
{
    struct pg_store *s = PG(st);
    char after[sizeof((struct rsp_profile *)0)->iccid] = "";
    for (;;) {
        PGresult *r = NULL;
        int rc;
        RUN(s, list_page_once(s, state, after, &r));
        if (rc)
            return rc;
        int n = PQntuples(r), stop = 0;
        struct rsp_profile p;
        for (int i = 0; i < n && stop == 0; i++) {
            read_profile(r, i, &p);
            snprintf(after, sizeof after, "%s", p.iccid);
            stop = cb(arg, &p);
        }
        PQclear(r);
        if (stop || n < PAGE_ROWS)
            return stop;
    }
}

/* ---- sessions ---- */

/* Parameters $1..$11 and $15..$17 (Q_SESSION_INSERT, Q_SESSION_CAS). */
static void bind_session(struct params *q, const struct rsp_session *x)
{
    p_text(q, 1, x->tid);
    if (x->iccid[0])
        p_text(q, 2, x->iccid);
    else
        p_null(q, 2);
    p_text(q, 3, x->eid);
    p_text(q, 4, rsp_session_state_name(x->state));
    p_blob(q, 5, x->server_challenge, sizeof x->server_challenge);
    p_blob(q, 6, x->euicc_challenge, sizeof x->euicc_challenge);
    p_i64(q, 7, x->curve);
    p_blob_or_null(q, 8, x->ci_pkid, x->ci_pkid_len);
    p_blob_or_null(q, 9, x->otpk_euicc.data, x->otpk_euicc.len);
    p_blob_or_null(q, 10, x->bpp.data, x->bpp.len);
    p_i64(q, 11, x->expires_at);
    p_blob_or_null(q, 15, x->euicc_cert.data, x->euicc_cert.len);
    p_blob(q, 16, x->euicc_sig1, sizeof x->euicc_sig1);
    p_blob(q, 17, x->smdp_sig2, sizeof x->smdp_sig2);
}

static int session_insert_once(struct pg_store *s, const struct rsp_session *x, const char *actor)
{
    int64_t now = now_s();
    int rc = begin(s);
    if (rc)
        return rc;
    struct params q;
    p_init(&q);
    bind_session(&q, x);
    p_i64(&q, 12, now);
    p_i64(&q, 13, now);
    p_i64(&q, 14, 0);
    rc = q_run(s, Q_SESSION_INSERT, &q, NULL);
    if (rc == 0) {
        fault(s, "session_insert:after_insert");
        char subject[RSP_AUDIT_SUBJECT_MAX + 1];
        eid_subject(s, x->eid, subject);
        rc = audit_add(s, "session", x->tid, "", rsp_session_state_name(x->state), actor, subject,
                       "created");
    }
    return finish(s, rc);
}

static int pg_session_insert(struct rsp_store *st, const struct rsp_session *x, const char *actor)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, session_insert_once(s, x, actor));
    return rc;
}

static int read_session(const PGresult *r, int row, struct rsp_session *out)
{
    /* keep the caller's buffers (initialised by rsp_session_init), reset everything else */
    struct rsp_buf otpk = out->otpk_euicc, bpp = out->bpp, cert = out->euicc_cert;
    char state[16];
    memset(out, 0, sizeof *out);
    out->otpk_euicc = otpk;
    out->bpp = bpp;
    out->euicc_cert = cert;
    col_text(r, row, 0, out->tid, sizeof out->tid);
    col_text(r, row, 1, out->iccid, sizeof out->iccid);
    col_text(r, row, 2, out->eid, sizeof out->eid);
    col_text(r, row, 3, state, sizeof state);
    rsp_session_state_from_name(state, &out->state);
    col_blob(r, row, 4, out->server_challenge, sizeof out->server_challenge);
    col_blob(r, row, 5, out->euicc_challenge, sizeof out->euicc_challenge);
    out->curve = (int)col_i64(r, row, 6);
    out->ci_pkid_len = col_blob(r, row, 7, out->ci_pkid, sizeof out->ci_pkid);
    int rc = col_buf(r, row, 8, &out->otpk_euicc);
    if (rc == 0)
        rc = col_buf(r, row, 9, &out->bpp);
    out->expires_at = col_i64(r, row, 10);
    out->created_at = col_i64(r, row, 11);
    out->updated_at = col_i64(r, row, 12);
    out->version = col_i64(r, row, 13);
    if (rc == 0)
        rc = col_buf(r, row, 14, &out->euicc_cert);
    col_blob(r, row, 15, out->euicc_sig1, sizeof out->euicc_sig1);
    col_blob(r, row, 16, out->smdp_sig2, sizeof out->smdp_sig2);
    return rc;
}

static int session_query_once(struct pg_store *s, enum stmt_id id, const char *key,
                              struct rsp_session *out)
{
    struct params q;
    p_init(&q);
    p_text(&q, 1, key);
    PGresult *r;
    int rc = q_exec(s, id, &q, &r);
    if (rc)
        return rc;
    rc = PQntuples(r) > 0 ? read_session(r, 0, out) : RSP_ENOTFOUND;
    PQclear(r);
    return rc;
}

static int pg_session_get(struct rsp_store *st, const char *tid, struct rsp_session *out)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, session_query_once(s, Q_SESSION_GET, tid, out));
    return rc;
}

static int pg_session_find_bound(struct rsp_store *st, const char *iccid, struct rsp_session *out)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, session_query_once(s, Q_SESSION_FIND_BOUND, iccid, out));
    return rc;
}

static int session_cas_once(struct pg_store *s, const struct rsp_session *x,
                            enum rsp_session_state expect_state, int64_t expect_version,
                            const char *actor, const char *reason)
{
    int rc = begin(s);
    if (rc)
        return rc;
    struct params q;
    p_init(&q);
    bind_session(&q, x);
    p_i64(&q, 12, now_s());
    p_text(&q, 13, rsp_session_state_name(expect_state));
    p_i64(&q, 14, expect_version);
    long n = 0;
    rc = q_run(s, Q_SESSION_CAS, &q, &n);
    if (rc == 0 && n == 0)
        rc = cas_lost(s, Q_SESSION_EXISTS, x->tid);
    if (rc == 0 && expect_state != x->state) {
        fault(s, "session_cas:after_update");
        char subject[RSP_AUDIT_SUBJECT_MAX + 1];
        eid_subject(s, x->eid, subject);
        rc = audit_add(s, "session", x->tid, rsp_session_state_name(expect_state),
                       rsp_session_state_name(x->state), actor, subject, reason);
    }
    return finish(s, rc);
}

static int pg_session_cas(struct rsp_store *st, const struct rsp_session *x,
                          enum rsp_session_state expect_state, int64_t expect_version,
                          const char *actor, const char *reason)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, session_cas_once(s, x, expect_state, expect_version, actor, reason));
    return rc;
}

/* ---- expiry sweeper ---- */

/* One expired session in one transaction; *done is 1 when it was expired here. Both rows are
 * changed before the records are appended (the chain head is the last lock taken). */
static int sweep_one_once(struct pg_store *s, const char *tid, int64_t now, int *done)
{
    char iccid[21] = "", from[16] = "", eid[33] = "", subject[RSP_AUDIT_SUBJECT_MAX + 1];
    *done = 0;
    int rc = begin(s);
    if (rc)
        return rc;
    /* Lock the session row and read its state before the update. */
    struct params q;
    p_init(&q);
    p_text(&q, 1, tid);
    PGresult *r;
    rc = q_exec(s, Q_SWEEP_LOCK, &q, &r);
    if (rc == 0) {
        if (PQntuples(r) > 0) {
            col_text(r, 0, 0, from, sizeof from);
            col_text(r, 0, 1, iccid, sizeof iccid);
            col_text(r, 0, 2, eid, sizeof eid);
        } else {
            rc = RSP_ENOTFOUND;
        }
        PQclear(r);
    }
    eid_subject(s, eid, subject);
    long n = 0;
    if (rc == 0) {
        p_init(&q);
        p_text(&q, 1, tid);
        p_i64(&q, 2, now);
        rc = q_run(s, Q_SWEEP_SESSION, &q, &n);
    }
    int expired = rc == 0 && n == 1, released = 0;
    if (rc == 0 && expired && iccid[0]) {
        /* Rollback rule (store.h): Downloaded -> Released, unless another live session. */
        if (rsp_profile_transition_check(RSP_PROFILE_DOWNLOADED, RSP_PROFILE_RELEASED) != 0)
            rc = RSP_ESTATE;
        if (rc == 0) {
            p_init(&q);
            p_text(&q, 1, iccid);
            p_text(&q, 2, tid);
            p_i64(&q, 3, now_s());
            rc = q_run(s, Q_SWEEP_PROFILE, &q, &n);
            released = rc == 0 && n == 1;
        }
    }
    if (rc == 0 && expired) {
        rc = audit_add(s, "session", tid, from, "Expired", "sweeper", subject,
                       "session lifetime over");
        fault(s, "sweep:after_session");
    }
    if (rc == 0 && released)
        rc = audit_add(s, "profile", iccid, "Downloaded", "Released", "sweeper", subject,
                       "download session expired");
    rc = finish(s, rc == RSP_ENOTFOUND ? 0 : rc);
    *done = rc == 0 && expired;
    return rc;
}

static int sweep_list_once(struct pg_store *s, int64_t now, PGresult **out)
{
    struct params q;
    p_init(&q);
    p_i64(&q, 1, now);
    return q_exec(s, Q_SWEEP_LIST, &q, out);
}

static int pg_sweep_expired(struct rsp_store *st, int64_t now, unsigned *n_expired)
{
    struct pg_store *s = PG(st);
    *n_expired = 0;
    for (;;) {
        PGresult *r = NULL;
        int rc;
        RUN(s, sweep_list_once(s, now, &r));
        if (rc)
            return rc;
        int n = PQntuples(r);
        unsigned swept = 0;
        for (int i = 0; i < n; i++) {
            char tid[2 * RSP_TID_MAX + 1];
            int done = 0;
            col_text(r, i, 0, tid, sizeof tid);
            RUN(s, sweep_one_once(s, tid, now, &done));
            if (rc && rc != RSP_ESTATE) {
                PQclear(r);
                return rc;
            }
            swept += (unsigned)done;
        }
        PQclear(r);
        *n_expired += swept;
        if (n < 64 || swept == 0)
            return 0;
    }
}

/* ---- audit list, outbox ---- */

static void read_audit(const PGresult *r, int row, struct rsp_audit_entry *e)
{
    memset(e, 0, sizeof *e);
    e->seq = col_i64(r, row, 0);
    e->at = col_i64(r, row, 1);
    col_text(r, row, 2, e->entity, sizeof e->entity);
    col_text(r, row, 3, e->key, sizeof e->key);
    col_text(r, row, 4, e->from, sizeof e->from);
    col_text(r, row, 5, e->to, sizeof e->to);
    col_text(r, row, 6, e->actor, sizeof e->actor);
    col_text(r, row, 7, e->subject, sizeof e->subject);
    col_text(r, row, 8, e->reason, sizeof e->reason);
    /* a missing or mis-sized hash reads as zeros: the verifier reports the record */
    col_blob(r, row, 9, e->prev, sizeof e->prev);
    col_blob(r, row, 10, e->hash, sizeof e->hash);
    /* an over-long text (edited in the database) must fail the canonical check, not pass as
     * its cut copy */
    static const size_t caps[] = {sizeof e->entity, sizeof e->key,   sizeof e->from,
                                  sizeof e->to,     sizeof e->actor, sizeof e->subject,
                                  sizeof e->reason};
    for (int i = 0; i < 7; i++)
        if ((size_t)PQgetlength(r, row, 2 + i) >= caps[i])
            e->entity[0] = '\x01';
}

static int audit_list_once(struct pg_store *s, const char *key, struct rsp_audit_entry *out,
                           size_t max, size_t *n)
{
    struct params q;
    p_init(&q);
    p_text(&q, 1, key);
    p_i64(&q, 2, (int64_t)max);
    PGresult *r;
    *n = 0;
    int rc = q_exec(s, Q_AUDIT_LIST, &q, &r);
    if (rc)
        return rc;
    int rows = PQntuples(r);
    for (int i = 0; i < rows && (size_t)i < max; i++) {
        read_audit(r, i, &out[i]);
        (*n)++;
    }
    PQclear(r);
    return 0;
}

static int pg_audit_list(struct rsp_store *st, const char *key, struct rsp_audit_entry *out,
                         size_t max, size_t *n)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, audit_list_once(s, key, out, max, n));
    return rc;
}

static int outbox_add_once(struct pg_store *s, struct rsp_outbox_item *it)
{
    struct params q;
    p_init(&q);
    p_text(&q, 1, it->iccid);
    p_text(&q, 2, it->url);
    p_text(&q, 3, it->body);
    p_i64(&q, 4, it->next_attempt_at);
    p_i64(&q, 5, now_s());
    PGresult *r;
    int rc = q_exec(s, Q_OUTBOX_ADD, &q, &r);
    if (rc)
        return rc;
    if (PQntuples(r) == 1) {
        it->id = col_i64(r, 0, 0);
        it->attempts = 0;
    } else {
        rc = RSP_EIO;
    }
    PQclear(r);
    return rc;
}

static int pg_outbox_add(struct rsp_store *st, struct rsp_outbox_item *it)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, outbox_add_once(s, it));
    return rc;
}

static int outbox_due_once(struct pg_store *s, int64_t now, struct rsp_outbox_item *out)
{
    struct params q;
    p_init(&q);
    p_i64(&q, 1, now);
    PGresult *r;
    int rc = q_exec(s, Q_OUTBOX_DUE, &q, &r);
    if (rc)
        return rc;
    if (PQntuples(r) > 0) {
        memset(out, 0, sizeof *out);
        out->id = col_i64(r, 0, 0);
        col_text(r, 0, 1, out->iccid, sizeof out->iccid);
        col_text(r, 0, 2, out->url, sizeof out->url);
        col_text(r, 0, 3, out->body, sizeof out->body);
        out->attempts = (unsigned)col_i64(r, 0, 4);
        out->next_attempt_at = col_i64(r, 0, 5);
    } else {
        rc = RSP_ENOTFOUND;
    }
    PQclear(r);
    return rc;
}

static int pg_outbox_next_due(struct rsp_store *st, int64_t now, struct rsp_outbox_item *out)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, outbox_due_once(s, now, out));
    return rc;
}

static int outbox_change_once(struct pg_store *s, enum stmt_id id, int64_t item, int64_t next)
{
    struct params q;
    p_init(&q);
    p_i64(&q, 1, item);
    if (id == Q_OUTBOX_RETRY)
        p_i64(&q, 2, next);
    long n = 0;
    int rc = q_run(s, id, &q, &n);
    return rc ? rc : n ? 0 : RSP_ENOTFOUND;
}

static int pg_outbox_done(struct rsp_store *st, int64_t id)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, outbox_change_once(s, Q_OUTBOX_DONE, id, 0));
    return rc;
}

static int pg_outbox_retry(struct rsp_store *st, int64_t id, int64_t next_attempt_at)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, outbox_change_once(s, Q_OUTBOX_RETRY, id, next_attempt_at));
    return rc;
}

/* ---- audit chain operations ---- */

static int audit_append_once(struct pg_store *s, struct rsp_audit_entry *e)
{
    int rc = begin(s);
    if (rc)
        return rc;
    return finish(s, audit_add_entry(s, e));
}

static int pg_audit_append(struct rsp_store *st, struct rsp_audit_entry *e)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, audit_append_once(s, e));
    return rc;
}

static int pg_audit_head(struct rsp_store *st, struct rsp_audit_head *out)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, read_head(s, false, out)); /* a call's records count once it has committed */
    return rc;
}

static int audit_page_once(struct pg_store *s, bool noseq, int64_t after, int64_t to,
                           PGresult **rows)
{
    struct params q;
    p_init(&q);
    p_i64(&q, 1, after);
    if (!noseq)
        p_i64(&q, 2, to);
    return q_exec(s, noseq ? Q_AUDIT_WALK_NOSEQ : Q_AUDIT_WALK, &q, rows);
}

/* In pages (each its own statement, like pg_profile_list): rows without a seq first (by id),
 * then by seq. Not one snapshot: the verifier follows the head. */
static int pg_audit_walk(struct rsp_store *st, int64_t from, int64_t to, rsp_store_audit_cb cb,
                         void *arg)
{
    struct pg_store *s = PG(st);
    for (int pass = from <= 0 ? 0 : 1; pass < 2; pass++) {
        int64_t after = pass == 0 || from <= 0 ? INT64_MIN : from - 1;
        for (;;) {
            PGresult *r = NULL;
            int rc;
            RUN(s, audit_page_once(s, pass == 0, after, to, &r));
            if (rc)
                return rc;
            int n = PQntuples(r), stop = 0;
            struct rsp_audit_entry e;
            for (int i = 0; i < n && stop == 0; i++) {
                read_audit(r, i, &e);
                after = pass == 0 ? col_i64(r, i, 11) : e.seq;
                stop = cb(arg, &e);
            }
            PQclear(r);
            if (stop)
                return stop;
            if (n < PAGE_ROWS)
                break;
        }
    }
    return 0;
}

static int audit_last_once(struct pg_store *s, const char *entity, const char *key,
                           struct rsp_audit_entry *out)
{
    struct params q;
    p_init(&q);
    p_text(&q, 1, key);
    p_text(&q, 2, entity);
    PGresult *r;
    int rc = q_exec(s, Q_AUDIT_LAST, &q, &r);
    if (rc)
        return rc;
    if (PQntuples(r) > 0)
        read_audit(r, 0, out);
    else
        rc = RSP_ENOTFOUND;
    PQclear(r);
    return rc;
}

static int pg_audit_last(struct rsp_store *st, const char *entity, const char *key,
                         struct rsp_audit_entry *out)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, audit_last_once(s, entity, key, out));
    return rc;
}

/* One 32-byte hash by seq (Q_AUDIT_HASH_AT, Q_CHECKPOINT_GET): 1 found, 0 not, negative. */
static int hash_by_seq(struct pg_store *s, enum stmt_id id, int64_t seq, uint8_t out[32])
{
    struct params q;
    p_init(&q);
    p_i64(&q, 1, seq);
    PGresult *r;
    int rc = q_exec(s, id, &q, &r);
    if (rc)
        return rc;
    rc = PQntuples(r) > 0 && col_blob(r, 0, 0, out, 32) == 32 ? 1 : 0;
    PQclear(r);
    return rc;
}

static int checkpoint_add_once(struct pg_store *s, const struct rsp_audit_checkpoint *cp)
{
    int rc = begin(s);
    if (rc)
        return rc;
    uint8_t have[32];
    rc = hash_by_seq(s, Q_AUDIT_HASH_AT, cp->seq, have);
    if (rc == 1)
        rc = memcmp(have, cp->hash, 32) == 0 ? 0 : RSP_ESTATE;
    else if (rc == 0)
        rc = RSP_ESTATE;
    long n = 0;
    if (rc == 0) {
        struct params q;
        p_init(&q);
        p_i64(&q, 1, cp->seq);
        p_blob(&q, 2, cp->hash, sizeof cp->hash);
        p_i64(&q, 3, cp->at);
        p_blob(&q, 4, cp->key_id, sizeof cp->key_id);
        p_blob(&q, 5, cp->sig, sizeof cp->sig);
        rc = q_run(s, Q_CHECKPOINT_ADD, &q, &n);
    }
    rc = finish(s, rc);
    return rc ? rc : n == 1 ? 0 : 1; /* 1: that seq had a checkpoint already */
}

static int pg_audit_checkpoint_add(struct rsp_store *st, const struct rsp_audit_checkpoint *cp)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, checkpoint_add_once(s, cp));
    return rc;
}

static int checkpoint_page_once(struct pg_store *s, int64_t after, PGresult **rows)
{
    struct params q;
    p_init(&q);
    p_i64(&q, 1, after);
    return q_exec(s, Q_CHECKPOINT_LIST, &q, rows);
}

static int pg_audit_checkpoint_walk(struct rsp_store *st, rsp_store_checkpoint_cb cb, void *arg)
{
    struct pg_store *s = PG(st);
    int64_t after = INT64_MIN;
    for (;;) {
        PGresult *r = NULL;
        int rc;
        RUN(s, checkpoint_page_once(s, after, &r));
        if (rc)
            return rc;
        int n = PQntuples(r), stop = 0;
        struct rsp_audit_checkpoint cp;
        for (int i = 0; i < n && stop == 0; i++) {
            memset(&cp, 0, sizeof cp);
            cp.seq = after = col_i64(r, i, 0);
            col_blob(r, i, 1, cp.hash, sizeof cp.hash);
            cp.at = col_i64(r, i, 2);
            col_blob(r, i, 3, cp.key_id, sizeof cp.key_id);
            col_blob(r, i, 4, cp.sig, sizeof cp.sig);
            stop = cb(arg, &cp);
        }
        PQclear(r);
        if (stop || n < PAGE_ROWS)
            return stop;
    }
}

static int export_mark_once(struct pg_store *s, int64_t first, int64_t last,
                            const uint8_t sha256[32], const char *actor)
{
    int rc = begin(s);
    if (rc)
        return rc;
    struct rsp_audit_head h;
    rc = read_head(s, true, &h);
    if (rc == 0 && (last > h.seq || first <= h.base_seq))
        rc = RSP_EINVAL;
    if (rc == 0) {
        struct params q;
        p_init(&q);
        p_i64(&q, 1, first);
        p_i64(&q, 2, last);
        p_blob(&q, 3, sha256, 32);
        p_i64(&q, 4, now_s());
        rc = q_run(s, Q_EXPORT_ADD, &q, NULL);
    }
    if (rc == 0) {
        char key[48], hex[65], reason[160];
        snprintf(key, sizeof key, "%lld-%lld", (long long)first, (long long)last);
        rsp_hex_str(hex, sha256, 32, 0);
        snprintf(reason, sizeof reason, "records %lld..%lld archived, archive sha256 %s",
                 (long long)first, (long long)last, hex);
        rc = audit_add(s, "audit-export", key, "", "Exported", actor, "", reason);
    }
    return finish(s, rc);
}

static int pg_audit_export_mark(struct rsp_store *st, int64_t first, int64_t last,
                                const uint8_t sha256[32], const char *actor)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, export_mark_once(s, first, last, sha256, actor));
    return rc;
}

/* 1 when the exports cover every seq in [from, to], 0 if not, negative on failure. */
static int exports_cover(struct pg_store *s, int64_t from, int64_t to)
{
    PGresult *r;
    int rc = q_exec(s, Q_EXPORT_LIST, NULL, &r);
    if (rc)
        return rc;
    int64_t next = from;
    for (int i = 0; i < PQntuples(r) && next <= to; i++) {
        int64_t a = col_i64(r, i, 0), b = col_i64(r, i, 1);
        if (a <= next && b >= next)
            next = b + 1;
    }
    PQclear(r);
    return next > to;
}

static int prune_once(struct pg_store *s, int64_t through, const char *actor, int64_t *n_removed,
                      const char **why)
{
    *n_removed = 0;
    int rc = begin(s);
    if (rc)
        return rc;
    struct rsp_audit_head h;
    uint8_t cp_hash[32], rec_hash[32];
    rc = read_head(s, true, &h); /* no append runs meanwhile */
    if (rc == 0 && (through <= h.base_seq || through > h.seq)) {
        *why = "SEQ must lie between the current base and the chain head";
        rc = RSP_ESTATE;
    }
    if (rc == 0) {
        rc = hash_by_seq(s, Q_CHECKPOINT_GET, through, cp_hash);
        if (rc == 0) {
            *why = "SEQ has no checkpoint (prune only through a checkpointed record)";
            rc = RSP_ESTATE;
        } else if (rc == 1) {
            rc = 0;
        }
    }
    if (rc == 0) {
        rc = hash_by_seq(s, Q_AUDIT_HASH_AT, through, rec_hash);
        if (rc == 1 && memcmp(rec_hash, cp_hash, 32) == 0) {
            rc = 0;
        } else if (rc >= 0) {
            *why = "the record at SEQ does not match its checkpoint (run rspctl audit verify)";
            rc = RSP_ESTATE;
        }
    }
    if (rc == 0) {
        rc = exports_cover(s, h.base_seq + 1, through);
        if (rc == 0) {
            *why = "records up to SEQ have not all been exported (rspctl audit export)";
            rc = RSP_ESTATE;
        } else if (rc == 1) {
            rc = 0;
        }
    }
    struct params q;
    long n = 0;
    if (rc == 0) {
        p_init(&q);
        p_i64(&q, 1, through);
        rc = q_run(s, Q_PRUNE_RECORDS, &q, &n);
    }
    if (rc == 0) {
        fault(s, "prune:after_delete");
        rc = q_run(s, Q_PRUNE_CHECKPOINTS, &q, NULL);
    }
    if (rc == 0) {
        p_init(&q);
        p_i64(&q, 1, through);
        p_blob(&q, 2, cp_hash, 32);
        rc = q_run(s, Q_PRUNE_BASE, &q, NULL);
    }
    if (rc == 0) {
        char key[24], hex[17], reason[200];
        snprintf(key, sizeof key, "%lld", (long long)through);
        rsp_hex_str(hex, cp_hash, 8, 0);
        snprintf(reason, sizeof reason,
                 "records %lld..%lld removed after export; anchor: checkpoint at seq %lld, "
                 "hash %s...",
                 (long long)h.base_seq + 1, (long long)through, (long long)through, hex);
        rc = audit_add(s, "audit-prune", key, "", "Pruned", actor, "", reason);
    }
    rc = finish(s, rc);
    if (rc == 0)
        *n_removed = n;
    return rc;
}

static int pg_audit_prune(struct rsp_store *st, int64_t through, const char *actor,
                          int64_t *n_removed, const char **why)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, prune_once(s, through, actor, n_removed, why));
    return rc;
}

/* ---- schema, open, close ---- */

static int read_version(struct pg_store *s, int *v)
{
    PGresult *r = PQexec(s->conn, "SELECT coalesce(max(version), 0) FROM schema_version");
    int rc = check(s, r, false);
    if (rc == 0)
        *v = PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return rc;
}

static int migrate_once(struct pg_store *s)
{
    int v = 0, rc = begin(s);
    if (rc)
        return rc;
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%lld)", (long long)MIGRATION_LOCK);
    rc = simple(s, sql, false);
    if (rc == 0)
        rc = simple(s,
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL,"
                    " applied_at BIGINT NOT NULL)",
                    false);
    if (rc == 0)
        rc = read_version(s, &v);
    if (rc == 0 && v > SCHEMA_VERSION) {
        set_err(s, "PostgreSQL: schema version %d is newer than this rspkit (%d)", v,
                SCHEMA_VERSION);
        rc = RSP_ESTATE;
    }
    for (; rc == 0 && v < SCHEMA_VERSION; v++) {
        rc = simple(s, migrations[v], false);
        if (rc == 0 && v + 1 == AUDIT_CHAIN_VERSION)
            rc = chain_legacy(s);
        snprintf(sql, sizeof sql, "INSERT INTO schema_version VALUES (%d, %lld)", v + 1,
                 (long long)now_s());
        if (rc == 0)
            rc = simple(s, sql, false);
    }
    return finish(s, rc);
}

static int pg_schema_version(struct rsp_store *st)
{
    struct pg_store *s = PG(st);
    int v = -1, rc;
    RUN(s, read_version(s, &v));
    return rc ? -1 : v;
}

static const char *pg_last_error(struct rsp_store *st)
{
    return PG(st)->err;
}

static void pg_set_fault_hook(struct rsp_store *st, void (*hook)(const char *point))
{
    PG(st)->hook = hook;
}

/* ---- telemetry (branch tele) ---- */

static void p_labels(struct params *q, int first, const struct rsp_tele_labels *l)
{
    p_text(q, first, l->tac);
    p_text(q, first + 1, l->eum);
    p_text(q, first + 2, l->profile_type);
    p_text(q, first + 3, l->campaign);
    p_text(q, first + 4, l->country);
}

static void col_labels(const PGresult *r, int row, int first, struct rsp_tele_labels *l)
{
    col_text(r, row, first, l->tac, sizeof l->tac);
    col_text(r, row, first + 1, l->eum, sizeof l->eum);
    col_text(r, row, first + 2, l->profile_type, sizeof l->profile_type);
    col_text(r, row, first + 3, l->campaign, sizeof l->campaign);
    col_text(r, row, first + 4, l->country, sizeof l->country);
}

static int tele_fill_labels(struct pg_store *s, struct rsp_tele_record *r)
{
    struct params q;
    p_init(&q);
    p_text(&q, 1, r->tid);
    PGresult *res;
    int rc = q_exec(s, Q_TELE_SESSION_LABELS, &q, &res);
    if (rc)
        return rc;
    if (PQntuples(res) == 1) {
        struct rsp_tele_labels have;
        col_labels(res, 0, 0, &have);
        struct rsp_tele_labels *l = &r->labels;
        if (!l->tac[0])
            memcpy(l->tac, have.tac, sizeof l->tac);
        if (!l->eum[0])
            memcpy(l->eum, have.eum, sizeof l->eum);
        if (!l->profile_type[0])
            memcpy(l->profile_type, have.profile_type, sizeof l->profile_type);
        if (!l->campaign[0])
            memcpy(l->campaign, have.campaign, sizeof l->campaign);
        if (!l->country[0])
            memcpy(l->country, have.country, sizeof l->country);
    }
    PQclear(res);
    return 0;
}

static int tele_count(struct pg_store *s, int64_t period, const char *fn, const char *outcome,
                      const struct rsp_tele_labels *l, uint64_t latency_us)
{
    struct params q;
    p_init(&q);
    p_i64(&q, 1, period);
    p_text(&q, 2, fn);
    p_text(&q, 3, outcome);
    p_labels(&q, 4, l);
    p_i64(&q, 9, (int64_t)latency_us);
    p_i64(&q, 10, (int64_t)rsp_tele_bucket(latency_us));
    int rc = q_run(s, Q_TELE_SERIES_ADD, &q, NULL);
    if (rc)
        return rc;
    p_init(&q);
    p_text(&q, 1, fn);
    p_text(&q, 2, outcome);
    p_i64(&q, 3, (int64_t)latency_us);
    p_i64(&q, 4, (int64_t)rsp_tele_bucket(latency_us));
    return q_run(s, Q_TELE_TOTAL_ADD, &q, NULL);
}

static int tele_record_once(struct pg_store *s, struct rsp_tele_record *r, int64_t period_s)
{
    int rc = begin(s);
    if (rc)
        return rc;
    /* Telemetry is best effort: its commit does not wait for the WAL flush (a server crash may
     * lose the last moments of telemetry, never a profile or session change, which commit
     * synchronously in their own transactions). Inside a call's transaction the record commits
     * with the call's changes, synchronously: SET LOCAL would last to the end of the call's
     * transaction and make its profile and session changes asynchronous too. */
    if (!s->call_tx)
        rc = simple(s, "SET LOCAL synchronous_commit TO OFF", false);
    if (rc == 0 && r->tid[0])
        rc = tele_fill_labels(s, r);
    int64_t at = r->at_ms / 1000, period = at - at % period_s;
    struct params q;
    if (rc == 0) {
        p_init(&q);
        p_i64(&q, 1, r->at_ms);
        p_text(&q, 2, r->fn);
        p_text(&q, 3, r->outcome);
        p_i64(&q, 4, (int64_t)r->latency_us);
        p_text(&q, 5, r->tid);
        p_labels(&q, 6, &r->labels);
        rc = q_run(s, Q_TELE_CALL_ADD, &q, NULL);
    }
    if (rc == 0)
        rc = tele_count(s, period, r->fn, r->outcome, &r->labels, r->latency_us);
    if (rc == 0 && r->event[0])
        rc = tele_count(s, period, RSP_TELE_FN_SESSION, r->event, &r->labels, 0);
    if (rc == 0 && r->tid[0]) {
        p_init(&q);
        p_text(&q, 1, r->tid);
        p_i64(&q, 2, at);
        p_labels(&q, 3, &r->labels);
        p_text(&q, 8, r->subject);
        p_text(&q, 9, r->fn);
        p_text(&q, 10, r->event);
        rc = q_run(
            s, strcmp(r->event, RSP_TELE_EV_STARTED) == 0 ? Q_TELE_SESSION_NEW : Q_TELE_SESSION_SET,
            &q, NULL);
    }
    return finish(s, rc);
}

static int pg_tele_record(struct rsp_store *st, struct rsp_tele_record *r, int64_t period_s)
{
    struct pg_store *s = PG(st);
    struct rsp_tele_labels given = r->labels;
    int rc;
    RUN(s, (r->labels = given, tele_record_once(s, r, period_s)));
    return rc;
}

static void read_series(const PGresult *r, int row, struct rsp_tele_series *x)
{
    memset(x, 0, sizeof *x);
    x->period = col_i64(r, row, 0);
    col_text(r, row, 1, x->fn, sizeof x->fn);
    col_text(r, row, 2, x->outcome, sizeof x->outcome);
    col_labels(r, row, 3, &x->labels);
    x->n = col_i64(r, row, 8);
    x->sum_us = col_i64(r, row, 9);
    for (int i = 0; i < RSP_TELE_NBUCKETS; i++)
        x->bucket[i] = col_i64(r, row, 10 + i);
}

static int tele_query_once(struct pg_store *s, enum stmt_id id, int64_t from, int64_t to,
                           PGresult **out)
{
    struct params q;
    p_init(&q);
    if (id == Q_TELE_SERIES) {
        p_i64(&q, 1, from);
        p_i64(&q, 2, to);
    }
    return q_exec(s, id, id == Q_TELE_SERIES ? &q : NULL, out);
}

/* One query (the rows of a report range; aggregates are small next to raw rows). */
static int tele_walk(struct pg_store *s, enum stmt_id id, int64_t from, int64_t to,
                     rsp_store_tele_cb cb, void *arg)
{
    PGresult *r = NULL;
    int rc;
    RUN(s, tele_query_once(s, id, from, to, &r));
    if (rc)
        return rc;
    int n = PQntuples(r), stop = 0;
    for (int i = 0; i < n && !stop; i++) {
        struct rsp_tele_series x;
        read_series(r, i, &x);
        stop = cb(arg, &x);
    }
    PQclear(r);
    return stop;
}

static int pg_tele_totals(struct rsp_store *st, rsp_store_tele_cb cb, void *arg)
{
    return tele_walk(PG(st), Q_TELE_TOTALS, 0, 0, cb, arg);
}

static int pg_tele_series(struct rsp_store *st, int64_t from, int64_t to, rsp_store_tele_cb cb,
                          void *arg)
{
    return tele_walk(PG(st), Q_TELE_SERIES, from, to, cb, arg);
}

static int tele_session_once(struct pg_store *s, const char *tid, struct rsp_tele_session *out)
{
    struct params q;
    p_init(&q);
    p_text(&q, 1, tid);
    PGresult *r;
    int rc = q_exec(s, Q_TELE_SESSION_GET, &q, &r);
    if (rc)
        return rc;
    if (PQntuples(r) == 1) {
        memset(out, 0, sizeof *out);
        col_text(r, 0, 0, out->tid, sizeof out->tid);
        out->started_at = col_i64(r, 0, 1);
        out->updated_at = col_i64(r, 0, 2);
        col_labels(r, 0, 3, &out->labels);
        col_text(r, 0, 8, out->subject, sizeof out->subject);
        col_text(r, 0, 9, out->stage, sizeof out->stage);
        col_text(r, 0, 10, out->result, sizeof out->result);
    } else {
        rc = RSP_ENOTFOUND;
    }
    PQclear(r);
    return rc;
}

static int pg_tele_session_get(struct rsp_store *st, const char *tid, struct rsp_tele_session *out)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, tele_session_once(s, tid, out));
    return rc;
}

static int tele_sweep_once(struct pg_store *s, int64_t calls_before_ms, int64_t series_before,
                           int64_t *n_removed)
{
    const struct {
        enum stmt_id id;
        int64_t before;
    } steps[] = {{Q_TELE_SWEEP_CALLS, calls_before_ms},
                 {Q_TELE_SWEEP_SESSIONS, calls_before_ms / 1000},
                 {Q_TELE_SWEEP_SERIES, series_before}};
    *n_removed = 0;
    int rc = begin(s);
    for (size_t i = 0; rc == 0 && i < sizeof steps / sizeof steps[0]; i++) {
        if (steps[i].before <= 0)
            continue;
        struct params q;
        p_init(&q);
        p_i64(&q, 1, steps[i].before);
        long n = 0;
        rc = q_run(s, steps[i].id, &q, &n);
        *n_removed += n;
    }
    return finish(s, rc);
}

static int pg_tele_sweep(struct rsp_store *st, int64_t calls_before_ms, int64_t series_before,
                         int64_t *n_removed)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, tele_sweep_once(s, calls_before_ms, series_before, n_removed));
    return rc;
}

static void pg_close(struct rsp_store *st)
{
    struct pg_store *s = PG(st);
    if (s->conn)
        PQfinish(s->conn);
    free(s->pend);
    free(s);
}

/* ---- branch accept: acceptance runs and requirements ----
 * Rare operator actions: unnamed statements (PQexecParams), not the prepared table; the same
 * lost-connection rule (RUN) as everything else. */

#define ACCEPT_COLS                                                                                \
    "id, model, tac, eum, svn, target, started_at, finished_at, passed, failed_step, summary,"     \
    " junit_sha256"

/* Runs `sql` with parameters p; `write`: changes rows (outside a transaction the outcome of a
 * lost answer is unknown). On success *out (may be NULL) holds the result. */
static int adhoc_exec(struct pg_store *s, const char *sql, bool write, const struct params *p,
                      PGresult **out)
{
    if (out)
        *out = NULL;
    PGresult *r = PQexecParams(s->conn, sql, p ? p->n : 0, NULL, p ? p->v : NULL, p ? p->len : NULL,
                               p ? p->fmt : NULL, 1);
    int rc = check(s, r, write && !s->in_tx);
    if (rc || !out)
        PQclear(r);
    else
        *out = r;
    return rc;
}

static void read_acceptance(const PGresult *r, int row, struct rsp_acceptance_run *a)
{
    memset(a, 0, sizeof *a);
    a->id = col_i64(r, row, 0);
    col_text(r, row, 1, a->model, sizeof a->model);
    col_text(r, row, 2, a->tac, sizeof a->tac);
    col_text(r, row, 3, a->eum, sizeof a->eum);
    col_text(r, row, 4, a->svn, sizeof a->svn);
    col_text(r, row, 5, a->target, sizeof a->target);
    a->started_at = col_i64(r, row, 6);
    a->finished_at = col_i64(r, row, 7);
    a->passed = col_i64(r, row, 8) != 0;
    col_text(r, row, 9, a->failed_step, sizeof a->failed_step);
    col_text(r, row, 10, a->summary, sizeof a->summary);
    col_blob(r, row, 11, a->junit_sha256, sizeof a->junit_sha256);
}

/* The audit reason of a recorded run (the same text as store_sqlite.c). */
static void acceptance_reason(const struct rsp_acceptance_run *a, char *out, size_t cap)
{
    char h[65];
    rsp_hex_str(h, a->junit_sha256, sizeof a->junit_sha256, 0);
    /* at most 228 bytes: never cut (RSP_AUDIT_REASON_MAX); eum and svn are in the row */
    if (snprintf(out, cap, "junit_sha256=%s target=%s tac=%s%s%s model=%s", h, a->target, a->tac,
                 a->passed ? "" : " failed_step=", a->passed ? "" : a->failed_step, a->model) < 0)
        out[0] = 0;
}

static int acceptance_add_once(struct pg_store *s, struct rsp_acceptance_run *a, const char *actor)
{
    int rc = begin(s);
    if (rc)
        return rc;
    struct params q;
    p_init(&q);
    p_text(&q, 1, a->model);
    p_text(&q, 2, a->tac);
    p_text(&q, 3, a->eum);
    p_text(&q, 4, a->svn);
    p_text(&q, 5, a->target);
    p_i64(&q, 6, a->started_at);
    p_i64(&q, 7, a->finished_at);
    p_i64(&q, 8, a->passed ? 1 : 0);
    p_text(&q, 9, a->failed_step);
    p_text(&q, 10, a->summary);
    p_blob(&q, 11, a->junit_sha256, sizeof a->junit_sha256);
    p_i64(&q, 12, now_s());
    PGresult *r;
    rc = adhoc_exec(s,
                    "INSERT INTO acceptance_run (model, tac, eum, svn, target, started_at,"
                    " finished_at, passed, failed_step, summary, junit_sha256, recorded_at)"
                    " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) RETURNING id",
                    true, &q, &r);
    int64_t id = 0;
    if (rc == 0) {
        if (PQntuples(r) == 1)
            id = col_i64(r, 0, 0);
        else
            rc = RSP_EIO;
        PQclear(r);
    }
    if (rc == 0) {
        char key[32], reason[RSP_AUDIT_REASON_MAX + 1];
        snprintf(key, sizeof key, "run:%lld", (long long)id);
        struct rsp_acceptance_run tmp = *a;
        tmp.id = id;
        acceptance_reason(&tmp, reason, sizeof reason);
        rc =
            audit_add(s, "acceptance", key, "", a->passed ? "passed" : "failed", actor, "", reason);
    }
    rc = finish(s, rc);
    if (rc == 0)
        a->id = id;
    return rc;
}

static int pg_acceptance_run_add(struct rsp_store *st, struct rsp_acceptance_run *a,
                                 const char *actor)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, acceptance_add_once(s, a, actor));
    return rc;
}

static int acceptance_list_once(struct pg_store *s, const char *model, size_t max, PGresult **r)
{
    struct params q;
    p_init(&q);
    p_i64(&q, 1, max ? (int64_t)max : INT64_MAX);
    if (model)
        p_text(&q, 2, model);
    return adhoc_exec(s,
                      model ? "SELECT " ACCEPT_COLS " FROM acceptance_run WHERE model = $2"
                              " OR tac = $2 ORDER BY id DESC LIMIT $1"
                            : "SELECT " ACCEPT_COLS " FROM acceptance_run ORDER BY id DESC"
                              " LIMIT $1",
                      false, &q, r);
}

/* Runs are few (one per acceptance run of a device model): one query, no paging. */
static int pg_acceptance_run_list(struct rsp_store *st, const char *model, size_t max,
                                  rsp_store_acceptance_cb cb, void *arg)
{
    struct pg_store *s = PG(st);
    PGresult *r = NULL;
    int rc;
    RUN(s, acceptance_list_once(s, model, max, &r));
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        struct rsp_acceptance_run a;
        read_acceptance(r, i, &a);
        rc = cb(arg, &a);
    }
    PQclear(r);
    return rc;
}

static int copy_run(void *arg, const struct rsp_acceptance_run *a)
{
    *(struct rsp_acceptance_run *)arg = *a;
    return 1;
}

static int pg_acceptance_run_latest(struct rsp_store *st, const char *model,
                                    struct rsp_acceptance_run *out)
{
    int rc = pg_acceptance_run_list(st, model, 1, copy_run, out);
    return rc == 1 ? 0 : rc == 0 ? RSP_ENOTFOUND : rc;
}

static int acceptance_required_once(struct pg_store *s, const char *scope, const char *name,
                                    bool *out)
{
    struct params q;
    p_init(&q);
    p_text(&q, 1, scope);
    p_text(&q, 2, name);
    PGresult *r;
    int rc = adhoc_exec(s, "SELECT 1 FROM acceptance_requirement WHERE scope = $1 AND name = $2",
                        false, &q, &r);
    if (rc == 0) {
        *out = PQntuples(r) > 0;
        PQclear(r);
    }
    return rc;
}

static int pg_acceptance_required(struct rsp_store *st, const char *scope, const char *name,
                                  bool *out)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, acceptance_required_once(s, scope, name, out));
    return rc;
}

static int acceptance_require_once(struct pg_store *s, const char *scope, const char *name, bool on,
                                   const char *actor, bool *changed)
{
    *changed = false;
    int rc = begin(s);
    if (rc)
        return rc;
    struct params q;
    p_init(&q);
    p_text(&q, 1, scope);
    p_text(&q, 2, name);
    if (on) {
        p_i64(&q, 3, now_s());
        p_text(&q, 4, actor);
    }
    PGresult *r;
    rc = adhoc_exec(s,
                    on ? "INSERT INTO acceptance_requirement (scope, name, created_at, actor)"
                         " VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING"
                       : "DELETE FROM acceptance_requirement WHERE scope = $1 AND name = $2",
                    true, &q, &r);
    bool c = false;
    if (rc == 0) {
        c = affected(r) == 1;
        PQclear(r);
    }
    if (rc == 0 && c) {
        char key[RSP_AUDIT_KEY_MAX + 1];
        snprintf(key, sizeof key, "%s:%s", scope, name);
        rc = audit_add(s, "acceptance-req", key, on ? "" : "required", on ? "required" : "", actor,
                       "", on ? "release requires a passing acceptance run" : "removed");
    }
    rc = finish(s, rc);
    *changed = rc == 0 && c;
    return rc;
}

static int pg_acceptance_require(struct rsp_store *st, const char *scope, const char *name, bool on,
                                 const char *actor, bool *changed)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, acceptance_require_once(s, scope, name, on, actor, changed));
    return rc;
}

/* ---- branch ops: generic statements (rsp_store_param, x_exec) ---- */

static int pg_x_begin(struct rsp_store *st)
{
    struct pg_store *s = PG(st);
    int reconnects = 0;
    int rc = attempt_start(s, &reconnects);
    return rc ? rc : begin(s);
}

static int pg_x_finish(struct rsp_store *st, int rc)
{
    return finish(PG(st), rc);
}

static int pg_x_audit(struct rsp_store *st, struct rsp_audit_entry *e)
{
    return audit_add_entry(PG(st), e);
}

#define X_MAX_PARAMS 48
#define X_MAX_COLS   48

static int pg_x_exec(struct rsp_store *st, const char *sql, const struct rsp_store_param *p, int n,
                     rsp_store_row_cb cb, void *arg, int64_t *changes)
{
    struct pg_store *s = PG(st);
    if (n < 0 || n > X_MAX_PARAMS)
        return RSP_EINVAL;
    if (!s->in_tx) { /* a single statement: re-establish a connection an earlier call lost */
        int reconnects = 0;
        int rc = attempt_start(s, &reconnects);
        if (rc)
            return rc;
    }
    /* ?N -> $N outside quoted literals */
    size_t len = strlen(sql);
    char *q = malloc(len + 1);
    if (!q)
        return RSP_ENOMEM;
    bool quoted = false;
    for (size_t i = 0; i <= len; i++) {
        if (sql[i] == '\'')
            quoted = !quoted;
        q[i] = (!quoted && sql[i] == '?') ? '$' : sql[i];
    }
    const char *v[X_MAX_PARAMS];
    char num[X_MAX_PARAMS][24];
    for (int i = 0; i < n; i++) {
        if (p[i].is_int) {
            snprintf(num[i], sizeof num[i], "%lld", (long long)p[i].i);
            v[i] = num[i];
        } else {
            v[i] = p[i].text;
        }
    }
    PGresult *r = PQexecParams(s->conn, q, n, NULL, v, NULL, NULL, 0);
    free(q);
    int rc = check(s, r, !s->in_tx);
    if (rc == 0 && cb && PQresultStatus(r) == PGRES_TUPLES_OK) {
        int nc = PQnfields(r);
        if (nc > X_MAX_COLS)
            nc = X_MAX_COLS;
        for (int row = 0; rc == 0 && row < PQntuples(r); row++) {
            const char *c[X_MAX_COLS];
            for (int i = 0; i < nc; i++)
                c[i] = PQgetisnull(r, row, i) ? NULL : PQgetvalue(r, row, i);
            rc = cb(arg, nc, c);
        }
    }
    if (rc == 0 && changes)
        *changes = affected(r);
    PQclear(r);
    return rc;
}

/* ---- branch recon: reconciliation events, actions, rollbacks, privacy, retention ----
 * Unnamed statements (PQexecParams, text parameters, binary results): batch and sweeper work. */

#define XP_MAX 16

/* Runs sql with up to XP_MAX text parameters; *out (may be NULL) gets the result. */
static int xp(struct pg_store *s, const char *sql, int n, const char *const *v, PGresult **out,
              long *n_rows)
{
    PGresult *r = PQexecParams(s->conn, sql, n, NULL, v, NULL, NULL, 1);
    int rc = check(s, r, !s->in_tx);
    if (rc == 0 && n_rows)
        *n_rows = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : affected(r);
    if (rc == 0 && out)
        *out = r;
    else
        PQclear(r);
    return rc;
}

static int recon_import_once(struct pg_store *s, const struct rsp_recon_event *ev, size_t n,
                             const char *actor, size_t *inserted)
{
    size_t added = 0;
    int rc = begin(s);
    char at[24], started[24], now[24];
    snprintf(now, sizeof now, "%lld", (long long)now_s());
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct rsp_recon_event *e = &ev[i];
        snprintf(at, sizeof at, "%lld", (long long)e->at);
        snprintf(started, sizeof started, "%lld", (long long)e->started_at);
        const char *v[13] = {rsp_recon_kind_name(e->kind),
                             e->event_id,
                             e->iccid,
                             e->imsi,
                             e->eid,
                             e->imei,
                             e->customer,
                             e->plan,
                             e->cohort,
                             at,
                             started,
                             e->ok ? "1" : "0",
                             now};
        long k = 0;
        rc = xp(s,
                "INSERT INTO recon_events (kind, event_id, iccid, imsi, eid, imei, customer,"
                " plan, cohort, at, started_at, ok, imported_at) VALUES ($1,$2,$3,$4,$5,$6,$7,"
                "$8,$9,$10,$11,$12,$13) ON CONFLICT DO NOTHING",
                13, v, NULL, &k);
        added += (size_t)k;
    }
    if (rc == 0) {
        char reason[96];
        snprintf(reason, sizeof reason, "%zu events, %zu new", n, added);
        rc = audit_add(s, "recon-import", n ? rsp_recon_kind_name(ev[0].kind) : "-", "", "imported",
                       actor, "", reason);
    }
    rc = finish(s, rc);
    if (rc == 0 && inserted)
        *inserted = added;
    return rc;
}

static int pg_recon_import(struct rsp_store *st, const struct rsp_recon_event *ev, size_t n,
                           const char *actor, size_t *inserted)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, recon_import_once(s, ev, n, actor, inserted));
    return rc;
}

static void pg_read_event(const PGresult *r, int row, struct rsp_recon_event *e)
{
    memset(e, 0, sizeof *e);
    char kind[16];
    col_text(r, row, 0, kind, sizeof kind);
    rsp_recon_kind_from_name(kind, &e->kind);
    col_text(r, row, 1, e->event_id, sizeof e->event_id);
    col_text(r, row, 2, e->iccid, sizeof e->iccid);
    col_text(r, row, 3, e->imsi, sizeof e->imsi);
    col_text(r, row, 4, e->eid, sizeof e->eid);
    col_text(r, row, 5, e->imei, sizeof e->imei);
    col_text(r, row, 6, e->customer, sizeof e->customer);
    col_text(r, row, 7, e->plan, sizeof e->plan);
    col_text(r, row, 8, e->cohort, sizeof e->cohort);
    e->at = col_i64(r, row, 9);
    e->started_at = col_i64(r, row, 10);
    e->ok = col_i64(r, row, 11) != 0;
}

/* Pages of 500 by (kind, event_id). */
static int pg_recon_walk(struct rsp_store *st, int kind, rsp_store_recon_cb cb, void *arg)
{
    struct pg_store *s = PG(st);
    char after_kind[16] = "", after_id[RSP_RECON_ID_MAX + 1] = "";
    const char *want = kind < 0 ? "" : rsp_recon_kind_name((enum rsp_recon_kind)kind);
    for (;;) {
        PGresult *r = NULL;
        int rc;
        const char *v[3] = {after_kind, after_id, want};
        RUN(s, xp(s,
                  "SELECT kind, event_id, iccid, imsi, eid, imei, customer, plan, cohort, at,"
                  " started_at, ok FROM recon_events WHERE (kind, event_id) > ($1, $2) AND"
                  " ($3 = '' OR kind = $3) ORDER BY kind, event_id" PAGE,
                  3, v, &r, NULL));
        if (rc)
            return rc;
        int n = PQntuples(r), stop = 0;
        struct rsp_recon_event e;
        for (int i = 0; i < n && stop == 0; i++) {
            pg_read_event(r, i, &e);
            snprintf(after_kind, sizeof after_kind, "%s", rsp_recon_kind_name(e.kind));
            snprintf(after_id, sizeof after_id, "%s", e.event_id);
            stop = cb(arg, &e);
        }
        PQclear(r);
        if (stop || n < PAGE_ROWS)
            return stop;
    }
}

static int action_mark_once(struct pg_store *s, const char *kind, const char *subject,
                            const char *action, const char *actor, long *n)
{
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)now_s());
    const char *v[4] = {kind, subject, action, now};
    int rc = begin(s);
    if (rc == 0)
        rc = xp(s,
                "INSERT INTO recon_actions (kind, subject, action, at) VALUES ($1,$2,$3,$4)"
                " ON CONFLICT DO NOTHING",
                4, v, NULL, n);
    if (rc == 0 && *n == 1)
        rc = audit_add(s, "recon", subject, kind, action, actor, "", "reconciliation action");
    return finish(s, rc);
}

static int pg_recon_action_mark(struct rsp_store *st, const char *kind, const char *subject,
                                const char *action, const char *actor)
{
    struct pg_store *s = PG(st);
    long n = 0;
    int rc;
    RUN(s, action_mark_once(s, kind, subject, action, actor, &n));
    return rc ? rc : n == 1 ? 0 : 1;
}

#define ROLLBACK_COLS "id, iccid, kind, failed_at, detail, policy, outcome, opened_at, done_at"

static void pg_read_rollback(const PGresult *r, int row, struct rsp_rollback *rb)
{
    memset(rb, 0, sizeof *rb);
    rb->id = col_i64(r, row, 0);
    col_text(r, row, 1, rb->iccid, sizeof rb->iccid);
    col_text(r, row, 2, rb->kind, sizeof rb->kind);
    rb->failed_at = col_i64(r, row, 3);
    col_text(r, row, 4, rb->detail, sizeof rb->detail);
    col_text(r, row, 5, rb->policy, sizeof rb->policy);
    col_text(r, row, 6, rb->outcome, sizeof rb->outcome);
    rb->opened_at = col_i64(r, row, 7);
    rb->done_at = col_i64(r, row, 8);
}

static int rollback_open_once(struct pg_store *s, struct rsp_rollback *rb, const char *actor,
                              long *n)
{
    char failed[24], opened[24];
    rb->opened_at = now_s();
    snprintf(failed, sizeof failed, "%lld", (long long)rb->failed_at);
    snprintf(opened, sizeof opened, "%lld", (long long)rb->opened_at);
    const char *v[6] = {rb->iccid, rb->kind, failed, rb->detail, rb->policy, opened};
    int rc = begin(s);
    if (rc == 0)
        rc = xp(s,
                "INSERT INTO rollbacks (iccid, kind, failed_at, detail, policy, opened_at)"
                " VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING",
                6, v, NULL, n);
    if (rc == 0 && *n == 1) {
        char to[40];
        snprintf(to, sizeof to, "open:%s", rb->kind);
        rc = audit_add(s, "rollback", rb->iccid, "", to, actor, "", rb->detail);
    }
    PGresult *r = NULL;
    if (rc == 0)
        rc = xp(s,
                "SELECT " ROLLBACK_COLS " FROM rollbacks WHERE iccid = $1 AND kind = $2 AND"
                " failed_at = $3",
                3, v, &r, NULL);
    if (rc == 0) {
        if (PQntuples(r) == 1)
            pg_read_rollback(r, 0, rb);
        else
            rc = RSP_EIO;
        PQclear(r);
    }
    return finish(s, rc);
}

static int pg_rollback_open(struct rsp_store *st, struct rsp_rollback *rb, const char *actor)
{
    struct pg_store *s = PG(st);
    long n = 0;
    int rc;
    RUN(s, rollback_open_once(s, rb, actor, &n));
    return rc ? rc : n == 1 ? 0 : 1;
}

static int pg_rollback_walk(struct rsp_store *st, bool open_only, rsp_store_rollback_cb cb,
                            void *arg)
{
    struct pg_store *s = PG(st);
    char after[24] = "0";
    for (;;) {
        PGresult *r = NULL;
        int rc;
        const char *v[2] = {after, open_only ? "1" : "0"};
        RUN(s, xp(s,
                  "SELECT " ROLLBACK_COLS " FROM rollbacks WHERE id > $1 AND ($2 = '0' OR"
                  " done_at = 0) ORDER BY id" PAGE,
                  2, v, &r, NULL));
        if (rc)
            return rc;
        int n = PQntuples(r), stop = 0;
        struct rsp_rollback rb;
        for (int i = 0; i < n && stop == 0; i++) {
            pg_read_rollback(r, i, &rb);
            snprintf(after, sizeof after, "%lld", (long long)rb.id);
            stop = cb(arg, &rb);
        }
        PQclear(r);
        if (stop || n < PAGE_ROWS)
            return stop;
    }
}

static int rollback_close_once(struct pg_store *s, const struct rsp_rollback *rb, const char *actor)
{
    char id[24], done[24];
    snprintf(id, sizeof id, "%lld", (long long)rb->id);
    snprintf(done, sizeof done, "%lld", (long long)rb->done_at);
    const char *v[4] = {id, rb->policy, rb->outcome, done};
    long n = 0;
    int rc = begin(s);
    if (rc == 0)
        rc = xp(s,
                "UPDATE rollbacks SET policy = $2, outcome = $3, done_at = $4 WHERE id = $1"
                " AND done_at = 0",
                4, v, NULL, &n);
    if (rc == 0 && n != 1)
        rc = RSP_ESTATE;
    if (rc == 0) {
        char from[40], to[40], reason[160];
        snprintf(from, sizeof from, "open:%s", rb->kind);
        snprintf(to, sizeof to, "done:%s", rb->policy);
        snprintf(reason, sizeof reason, "%s after %llds", rb->outcome,
                 (long long)(rb->done_at - rb->failed_at));
        rc = audit_add(s, "rollback", rb->iccid, from, to, actor, "", reason);
    }
    return finish(s, rc);
}

static int pg_rollback_close(struct rsp_store *st, const struct rsp_rollback *rb, const char *actor)
{
    struct pg_store *s = PG(st);
    int rc;
    RUN(s, rollback_close_once(s, rb, actor));
    return rc;
}

#define ERASE_MAX 4096
struct strlist {
    char (*v)[RSP_RECON_TEXT_MAX + 1];
    size_t n;
};

static int strlist_add(struct strlist *l, const char *t)
{
    if (!t[0])
        return 0;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], t) == 0)
            return 0;
    if (l->n >= ERASE_MAX)
        return RSP_ERANGE;
    snprintf(l->v[l->n++], sizeof l->v[0], "%s", t);
    return 0;
}

static int collect(struct pg_store *s, const char *sql, const char *param, struct strlist *l)
{
    PGresult *r = NULL;
    int rc = xp(s, sql, 1, &param, &r, NULL);
    char t[RSP_RECON_TEXT_MAX + 1];
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        col_text(r, i, 0, t, sizeof t);
        rc = strlist_add(l, t);
    }
    PQclear(r);
    return rc;
}

static int replace_all(struct pg_store *s, const char *sql, const char *from, const char *to,
                       int64_t *n)
{
    const char *v[2] = {from, to};
    long c = 0;
    int rc = xp(s, sql, 2, v, NULL, &c);
    if (n)
        *n += c;
    return rc;
}

static int erase_tx(struct pg_store *s, const char *customer, const char *actor,
                    struct rsp_privacy_counts *out, struct strlist *iccids, struct strlist *eids,
                    struct strlist *imeis)
{
    int rc =
        collect(s, "SELECT DISTINCT iccid FROM recon_events WHERE customer = $1", customer, iccids);
    if (rc)
        return rc;
    /* the activation orders (branch ops) of the customer */
    rc = collect(s, "SELECT DISTINCT iccid FROM activation_orders WHERE customer_ref = $1",
                 customer, iccids);
    if (rc)
        return rc;
    if (iccids->n == 0) {
        long k = 0;
        rc = xp(s,
                "SELECT 1 FROM recon_events WHERE customer = $1 UNION ALL"
                " SELECT 1 FROM activation_orders WHERE customer_ref = $1 LIMIT 1",
                1, &customer, NULL, &k);
        if (rc)
            return rc;
        if (k == 0)
            return RSP_ENOTFOUND;
    }
    rc = collect(s, "SELECT DISTINCT eid FROM activation_orders WHERE customer_ref = $1", customer,
                 eids);
    if (rc == 0)
        rc =
            collect(s, "SELECT DISTINCT eid FROM recon_events WHERE customer = $1", customer, eids);
    if (rc == 0)
        rc = collect(s, "SELECT DISTINCT imei FROM recon_events WHERE customer = $1", customer,
                     imeis);
    for (size_t i = 0; rc == 0 && i < iccids->n; i++) {
        const char *ic = iccids->v[i];
        rc = collect(s, "SELECT DISTINCT eid FROM recon_events WHERE iccid = $1", ic, eids);
        if (rc == 0)
            rc = collect(s, "SELECT DISTINCT imei FROM recon_events WHERE iccid = $1", ic, imeis);
        if (rc == 0)
            rc = collect(s, "SELECT eid FROM profiles WHERE iccid = $1", ic, eids);
        if (rc == 0) {
            long k = 0;
            rc = xp(s,
                    "SELECT 1 FROM profiles WHERE iccid = $1 AND state IN"
                    " ('Linked','Confirmed','Released','Downloaded') FOR UPDATE",
                    1, &ic, NULL, &k);
            if (rc == 0 && k)
                return RSP_ESTATE;
        }
    }
    for (size_t i = 0; rc == 0 && i < eids->n; i++) { /* a live order of the same device */
        long k = 0;
        const char *e = eids->v[i];
        rc = xp(s,
                "SELECT 1 FROM profiles WHERE eid = $1 AND state IN"
                " ('Linked','Confirmed','Released','Downloaded') FOR UPDATE",
                1, &e, NULL, &k);
        if (rc == 0 && k)
            return RSP_ESTATE;
    }
    out->iccids = (int64_t)iccids->n;
    char p[RSP_AUDIT_SUBJECT_MAX + 1];
    for (size_t i = 0; rc == 0 && i < eids->n; i++) {
        rsp_store_subject(&s->base, RSP_PSEUDONYM_EID, eids->v[i], p);
        if (strcmp(p, eids->v[i]) == 0)
            continue;
        rc = replace_all(s, "UPDATE recon_events SET eid = $2 WHERE eid = $1", eids->v[i], p,
                         &out->events);
        if (rc == 0)
            rc = replace_all(s, "UPDATE profiles SET eid = $2 WHERE eid = $1", eids->v[i], p,
                             &out->profiles);
        if (rc == 0)
            rc = replace_all(s, "UPDATE sessions SET eid = $2, euicc_cert = NULL WHERE eid = $1",
                             eids->v[i], p, &out->sessions);
        if (rc == 0)
            rc = replace_all(s,
                             "UPDATE outbox SET body = replace(body, $1, $2)"
                             " WHERE strpos(body, $1) > 0",
                             eids->v[i], p, &out->outbox);
        if (rc == 0)
            rc = replace_all(s, "UPDATE activation_orders SET eid = $2 WHERE eid = $1", eids->v[i],
                             p, &out->orders);
        if (rc == 0) /* EUICCInfo2 seen for the device: dropped */
            rc = replace_all(s, "DELETE FROM euicc_info WHERE eid = $1 OR eid = $2", eids->v[i], p,
                             NULL);
    }
    if (rc == 0) /* the push channel's reference (a number, an address) of the orders */
        rc = replace_all(s,
                         "UPDATE pushes SET channel_ref = $2 WHERE channel_ref <> '' AND"
                         " order_id IN (SELECT order_id FROM activation_orders WHERE"
                         " customer_ref = $1)",
                         customer, "", NULL);
    for (size_t i = 0; rc == 0 && i < imeis->n; i++) {
        rsp_store_subject(&s->base, RSP_PSEUDONYM_IMEI, imeis->v[i], p);
        if (strcmp(p, imeis->v[i]) != 0)
            rc = replace_all(s, "UPDATE recon_events SET imei = $2 WHERE imei = $1", imeis->v[i], p,
                             &out->events);
    }
    char cp[RSP_AUDIT_SUBJECT_MAX + 1];
    rsp_store_subject(&s->base, RSP_PSEUDONYM_CUSTOMER, customer, cp);
    if (rc == 0)
        rc = replace_all(s, "UPDATE recon_events SET customer = $2 WHERE customer = $1", customer,
                         cp, &out->events);
    if (rc == 0)
        rc =
            replace_all(s, "UPDATE activation_orders SET customer_ref = $2 WHERE customer_ref = $1",
                        customer, cp, &out->orders);
    if (rc == 0) {
        char reason[160];
        snprintf(reason, sizeof reason,
                 "erased: %lld subscriptions, %lld event, %lld profile, %lld session rows",
                 (long long)out->iccids, (long long)out->events, (long long)out->profiles,
                 (long long)out->sessions);
        rc = audit_add(s, "privacy", cp[0] ? cp : "-", "", "erased", actor, cp, reason);
    }
    return rc;
}

static int erase_once(struct pg_store *s, const char *customer, const char *actor,
                      struct rsp_privacy_counts *out, struct strlist *l)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 3; i++)
        l[i].n = 0;
    int rc = begin(s);
    if (rc == 0)
        rc = erase_tx(s, customer, actor, out, &l[0], &l[1], &l[2]);
    return finish(s, rc);
}

static int pg_privacy_erase(struct rsp_store *st, const char *customer, const char *actor,
                            struct rsp_privacy_counts *out)
{
    struct pg_store *s = PG(st);
    struct strlist l[3];
    for (int i = 0; i < 3; i++)
        l[i].v = calloc(ERASE_MAX, sizeof l[i].v[0]);
    int rc = RSP_ENOMEM;
    if (l[0].v && l[1].v && l[2].v)
        RUN(s, erase_once(s, customer, actor, out, l));
    for (int i = 0; i < 3; i++)
        free(l[i].v);
    return rc;
}

static int retention_once(struct pg_store *s, int data_class, int64_t before, const char *actor,
                          long *n)
{
    static const char *const sql[RSP_DATA_NCLASSES] = {
        [RSP_DATA_EVENTS] = "DELETE FROM recon_events WHERE at < $1",
        [RSP_DATA_SESSIONS] = ("DELETE FROM sessions WHERE state IN ('Finished','Cancelled',"
                               "'Expired') AND updated_at < $1"),
        [RSP_DATA_ROLLBACKS] = "DELETE FROM rollbacks WHERE done_at <> 0 AND done_at < $1",
    };
    char b[24];
    snprintf(b, sizeof b, "%lld", (long long)before);
    const char *v[1] = {b};
    int rc = begin(s);
    if (rc == 0)
        rc = xp(s, sql[data_class], 1, v, NULL, n);
    if (rc == 0 && *n > 0) {
        char reason[96];
        snprintf(reason, sizeof reason, "%ld rows older than %lld", *n, (long long)before);
        rc = audit_add(s, "retention", rsp_data_class_name((enum rsp_data_class)data_class), "",
                       "deleted", actor, "", reason);
    }
    return finish(s, rc);
}

static int pg_retention_sweep(struct rsp_store *st, int data_class, int64_t before,
                              const char *actor, int64_t *n_removed)
{
    struct pg_store *s = PG(st);
    long n = 0;
    int rc;
    RUN(s, retention_once(s, data_class, before, actor, &n));
    if (rc == 0)
        *n_removed = n;
    return rc;
}

static const struct rsp_store_ops pg_ops = {
    .close = pg_close,
    .profile_insert = pg_profile_insert,
    .profile_get = pg_profile_get,
    .profile_package = pg_profile_package,
    .profile_find_available = pg_profile_find_available,
    .profile_find_available_owned = pg_profile_find_available_owned,
    .profile_find_download = pg_profile_find_download,
    .profile_cas = pg_profile_cas,
    .session_insert = pg_session_insert,
    .session_get = pg_session_get,
    .session_cas = pg_session_cas,
    .session_find_bound = pg_session_find_bound,
    .sweep_expired = pg_sweep_expired,
    .audit_list = pg_audit_list,
    .outbox_add = pg_outbox_add,
    .outbox_next_due = pg_outbox_next_due,
    .outbox_done = pg_outbox_done,
    .outbox_retry = pg_outbox_retry,
    .profile_import = pg_profile_import,
    .profile_manifest = pg_profile_manifest,
    .profile_list = pg_profile_list,
    .schema_version = pg_schema_version,
    .last_error = pg_last_error,
    .set_fault_hook = pg_set_fault_hook,
    .audit_append = pg_audit_append,
    .audit_head = pg_audit_head,
    .audit_walk = pg_audit_walk,
    .audit_last = pg_audit_last,
    .audit_checkpoint_add = pg_audit_checkpoint_add,
    .audit_checkpoint_walk = pg_audit_checkpoint_walk,
    .audit_export_mark = pg_audit_export_mark,
    .audit_prune = pg_audit_prune,
    /* branch accept */
    .acceptance_run_add = pg_acceptance_run_add,
    .acceptance_run_latest = pg_acceptance_run_latest,
    .acceptance_run_list = pg_acceptance_run_list,
    .acceptance_require = pg_acceptance_require,
    .acceptance_required = pg_acceptance_required,
    /* branch ops: generic statements for the activation-operations records */
    .x_begin = pg_x_begin,
    .x_exec = pg_x_exec,
    .x_audit = pg_x_audit,
    .x_finish = pg_x_finish,
    /* branch tele */
    .tele_record = pg_tele_record,
    .tele_totals = pg_tele_totals,
    .tele_series = pg_tele_series,
    .tele_session_get = pg_tele_session_get,
    .tele_sweep = pg_tele_sweep,
    /* branch recon */
    .recon_import = pg_recon_import,
    .recon_walk = pg_recon_walk,
    .recon_action_mark = pg_recon_action_mark,
    .rollback_open = pg_rollback_open,
    .rollback_walk = pg_rollback_walk,
    .rollback_close = pg_rollback_close,
    .privacy_erase = pg_privacy_erase,
    .retention_sweep = pg_retention_sweep,
    /* lead s4/s5: one transaction per protocol call unless RSP_PG_CALL_TRANSACTIONS=0 (see
     * pg_call_begin) */
    .call_begin = pg_call_begin,
    .call_end = pg_call_end,
};

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

int rsp_store_pg_open_err(const char *conninfo, struct rsp_store **out, char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = 0;
    if (!conninfo || !out)
        return RSP_EINVAL;
    *out = NULL;
    struct pg_store *s = calloc(1, sizeof *s);
    if (s) {
        const char *ct = getenv("RSP_PG_CALL_TRANSACTIONS");
        s->call_enabled = !(ct && strcmp(ct, "0") == 0);
    }
    if (!s)
        return RSP_ENOMEM;
    s->base.ops = &pg_ops;
    /* Defaults first: the conninfo (expanded from "dbname") comes last and overrides them. */
    const char *const keys[] = {"connect_timeout",
                                "application_name",
                                "client_encoding",
                                "keepalives_idle",
                                "keepalives_interval",
                                "keepalives_count",
                                "gssencmode",
                                "dbname",
                                NULL};
    const char *const vals[] = {"10", "rspkit", "UTF8", "30", "10", "3", "disable", conninfo, NULL};
    s->conn = PQconnectdbParams(keys, vals, 1);
    if (s->conn) /* notices ("already exists, skipping") are not for the process's log */
        PQsetNoticeProcessor(s->conn, ignore_notice, NULL);
    int rc = 0;
    if (!s->conn) {
        rc = RSP_ENOMEM;
    } else if (PQstatus(s->conn) != CONNECTION_OK) {
        set_err(s, "PostgreSQL: cannot connect: %s", PQerrorMessage(s->conn));
        rc = RSP_EIO;
    }
    if (rc == 0) {
        int reconnects = 0;
        do {
            rc = attempt_start(s, &reconnects);
            if (rc == 0)
                rc = migrate_once(s);
        } while (attempt_again(s, &reconnects, &rc));
    }
    if (rc) {
        if (err && err_len)
            snprintf(err, err_len, "%s", s->err[0] ? s->err : rsp_strerror(rc));
        pg_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

int rsp_store_pg_open(const char *conninfo, struct rsp_store **out)
{
    return rsp_store_pg_open_err(conninfo, out, NULL, 0);
}

int rsp_store_pg_opener(void *conninfo, struct rsp_store **out)
{
    return rsp_store_pg_open((const char *)conninfo, out);
}

int rsp_store_pg_backend_pid(struct rsp_store *st)
{
    return st && st->ops == &pg_ops ? PQbackendPID(PG(st)->conn) : 0;
}
