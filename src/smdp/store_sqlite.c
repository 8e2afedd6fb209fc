/* SQLite backend of the SM-DP+ store (include/rsp/store.h).
 *
 * WAL journal, busy_timeout, foreign keys on; statements prepared once per connection and kept;
 * every multi-step change inside BEGIN IMMEDIATE ... COMMIT so a writer takes the write lock
 * before it reads what it is about to change. State changes are compare-and-set on
 * (state, version): a lost race changes no row and is reported as RSP_ESTATE.
 *
 * Writers of one process queue on a mutex shared by its connections to the same file (SQLite's
 * own busy handler polls with sleeps, which showed as latency spikes under load); other
 * processes still meet at SQLite's lock with busy_timeout. Between rsp_store_call_begin and
 * rsp_store_call_end the changes of a whole protocol call share one transaction, each operation
 * a savepoint inside it. */
#include "rsp/store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rsp/crypto.h"
#include "rsp/err.h"
#include "rsp/recon.h"

#define BUSY_TIMEOUT_MS 10000
/* branch ops: statements of x_exec kept per connection */
#define X_CACHE 64

/* branch tele: the latency histogram columns of tele_series / tele_total (RSP_TELE_NBUCKETS) */
#define TELE_BUCKET_COLS_DEF                                                                       \
    " b0 INTEGER NOT NULL, b1 INTEGER NOT NULL, b2 INTEGER NOT NULL, b3 INTEGER NOT NULL,"         \
    " b4 INTEGER NOT NULL, b5 INTEGER NOT NULL, b6 INTEGER NOT NULL, b7 INTEGER NOT NULL,"         \
    " b8 INTEGER NOT NULL, b9 INTEGER NOT NULL, b10 INTEGER NOT NULL, b11 INTEGER NOT NULL,"       \
    " b12 INTEGER NOT NULL, b13 INTEGER NOT NULL"
#define TELE_BUCKET_COLS "b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13"
/* ?10 is the bucket index: 1 in that column, 0 elsewhere */
#define TELE_BUCKET_SET                                                                            \
    "?10=0, ?10=1, ?10=2, ?10=3, ?10=4, ?10=5, ?10=6, "                                            \
    "?10=7, ?10=8, ?10=9, ?10=10, ?10=11, ?10=12, ?10=13"
#define TELE_BUCKET_UPSERT                                                                         \
    "n = n + 1, sum_us = sum_us + excluded.sum_us"                                                 \
    ", b0 = b0 + excluded.b0"                                                                      \
    ", b1 = b1 + excluded.b1"                                                                      \
    ", b2 = b2 + excluded.b2"                                                                      \
    ", b3 = b3 + excluded.b3"                                                                      \
    ", b4 = b4 + excluded.b4"                                                                      \
    ", b5 = b5 + excluded.b5"                                                                      \
    ", b6 = b6 + excluded.b6"                                                                      \
    ", b7 = b7 + excluded.b7"                                                                      \
    ", b8 = b8 + excluded.b8"                                                                      \
    ", b9 = b9 + excluded.b9"                                                                      \
    ", b10 = b10 + excluded.b10"                                                                   \
    ", b11 = b11 + excluded.b11"                                                                   \
    ", b12 = b12 + excluded.b12"                                                                   \
    ", b13 = b13 + excluded.b13"

/* Migrations: entry i brings the schema from version i to i+1. Append only. */
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
    " package_sha256 BLOB,"
    " package BLOB,"
    " package_path TEXT NOT NULL DEFAULT '',"
    " state TEXT NOT NULL CHECK (state IN ('Available','Allocated','Linked','Confirmed',"
    "  'Released','Downloaded','Installed','Error','Unavailable')),"
    " state_since INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " eid TEXT NOT NULL DEFAULT '',"
    " matching_id TEXT NOT NULL DEFAULT '',"
    " cc_hash BLOB,"
    " cc_attempts INTEGER NOT NULL DEFAULT 0,"
    " cc_max_attempts INTEGER NOT NULL DEFAULT 0,"
    " download_attempts INTEGER NOT NULL DEFAULT 0,"
    " release_flag INTEGER NOT NULL DEFAULT 0,"
    " smds_address TEXT NOT NULL DEFAULT '',"
    " error_reason TEXT NOT NULL DEFAULT '',"
    " version INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX profiles_type_state ON profiles(profile_type, state, iccid);"
    "CREATE UNIQUE INDEX profiles_matching_id ON profiles(matching_id) WHERE matching_id <> '';"
    "CREATE TABLE sessions ("
    " tid TEXT PRIMARY KEY,"
    " iccid TEXT REFERENCES profiles(iccid),"
    " eid TEXT NOT NULL DEFAULT '',"
    " state TEXT NOT NULL CHECK (state IN ('Started','Authenticated','BPP-bound','Finished',"
    "  'Cancelled','Expired')),"
    " server_challenge BLOB NOT NULL,"
    " euicc_challenge BLOB NOT NULL,"
    " curve INTEGER NOT NULL DEFAULT 0,"
    " ci_pkid BLOB,"
    " otpk_euicc BLOB,"
    " bpp BLOB,"
    " expires_at INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " version INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX sessions_expiry ON sessions(state, expires_at);"
    "CREATE INDEX sessions_iccid ON sessions(iccid);"
    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " entity TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " from_state TEXT NOT NULL,"
    " to_state TEXT NOT NULL,"
    " actor TEXT NOT NULL,"
    " reason TEXT NOT NULL,"
    " at INTEGER NOT NULL);"
    "CREATE INDEX audit_key ON audit(key, id);"
    "CREATE TABLE outbox ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " iccid TEXT NOT NULL,"
    " url TEXT NOT NULL,"
    " body TEXT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_at INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL);"
    "CREATE INDEX outbox_due ON outbox(next_attempt_at, id);",
    /* 2: the operator-signed manifest each imported profile was verified against */
    "CREATE TABLE profile_manifests ("
    " iccid TEXT PRIMARY KEY REFERENCES profiles(iccid),"
    " manifest BLOB NOT NULL,"
    " manifest_sha256 BLOB NOT NULL,"
    " imported_at INTEGER NOT NULL);",
    /* 3: what ES9+ keeps between the requests of one session */
    "ALTER TABLE sessions ADD COLUMN euicc_cert BLOB;"
    "ALTER TABLE sessions ADD COLUMN euicc_sig1 BLOB;"
    "ALTER TABLE sessions ADD COLUMN smdp_sig2 BLOB;",
    /* 4: the audit hash chain (docs/AUDIT.md): seq, subject pseudonym, prev and own hash per
     * record; the one-row chain head (and the base after a prune); signed checkpoints; the
     * exported ranges. Rows of older versions are chained by chain_legacy() right after. */
    "ALTER TABLE audit ADD COLUMN seq INTEGER;"
    "ALTER TABLE audit ADD COLUMN subject TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE audit ADD COLUMN prev_hash BLOB;"
    "ALTER TABLE audit ADD COLUMN hash BLOB;"
    "CREATE UNIQUE INDEX audit_seq ON audit(seq);"
    "CREATE TABLE audit_head ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " seq INTEGER NOT NULL,"
    " hash BLOB NOT NULL,"
    " base_seq INTEGER NOT NULL,"
    " base_hash BLOB NOT NULL);"
    "INSERT INTO audit_head VALUES (1, 0, zeroblob(32), 0, zeroblob(32));"
    "CREATE TABLE audit_checkpoints ("
    " seq INTEGER PRIMARY KEY,"
    " hash BLOB NOT NULL,"
    " at INTEGER NOT NULL,"
    " key_id BLOB NOT NULL,"
    " sig BLOB NOT NULL);"
    "CREATE TABLE audit_exports ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " first_seq INTEGER NOT NULL,"
    " last_seq INTEGER NOT NULL,"
    " sha256 BLOB NOT NULL,"
    " at INTEGER NOT NULL);",
    /* branch accept: acceptance runs (rspctl acceptance run --db) and the campaigns and device
     * models whose release requires a passing one (rsp_acceptance_gate) */
    "CREATE TABLE IF NOT EXISTS acceptance_run ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " model TEXT NOT NULL DEFAULT '',"
    " tac TEXT NOT NULL DEFAULT '',"
    " eum TEXT NOT NULL DEFAULT '',"
    " svn TEXT NOT NULL DEFAULT '',"
    " target TEXT NOT NULL,"
    " started_at INTEGER NOT NULL,"
    " finished_at INTEGER NOT NULL,"
    " passed INTEGER NOT NULL,"
    " failed_step TEXT NOT NULL DEFAULT '',"
    " summary TEXT NOT NULL DEFAULT '',"
    " junit_sha256 BLOB NOT NULL,"
    " recorded_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS acceptance_run_model ON acceptance_run(model, id);"
    "CREATE INDEX IF NOT EXISTS acceptance_run_tac ON acceptance_run(tac, id);"
    "CREATE TABLE IF NOT EXISTS acceptance_requirement ("
    " scope TEXT NOT NULL CHECK (scope IN ('campaign','model')),"
    " name TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " PRIMARY KEY (scope, name));",
    /* branch ops: activation operations (rsp/act.h): campaigns, orders with their stages,
     * activation tokens, pushes, cohort time buckets, quarantines, EUICCInfo2 seen per EID */
    "CREATE TABLE campaigns ( name TEXT PRIMARY KEY, description TEXT NOT NULL DEFAULT '', "
    "requires_acceptance INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);"
    "CREATE TABLE activation_orders ( order_id TEXT PRIMARY KEY, customer_ref TEXT NOT NULL, "
    "tariff_plan TEXT NOT NULL DEFAULT '', campaign TEXT NOT NULL DEFAULT '', country TEXT NOT "
    "NULL DEFAULT '', profile_type TEXT NOT NULL DEFAULT '', iccid TEXT NOT NULL DEFAULT '', eid "
    "TEXT NOT NULL DEFAULT '', eum TEXT NOT NULL DEFAULT '', tac TEXT NOT NULL DEFAULT '', "
    "device_model TEXT NOT NULL DEFAULT '', operator TEXT NOT NULL DEFAULT '', id_result TEXT NOT "
    "NULL DEFAULT '', id_reason TEXT NOT NULL DEFAULT '', stage TEXT NOT NULL, outcome TEXT NOT "
    "NULL DEFAULT '', matching_id TEXT NOT NULL DEFAULT '', t_pre_provisioned INTEGER NOT NULL "
    "DEFAULT 0, t_identity_rejected INTEGER NOT NULL DEFAULT 0, t_reserved INTEGER NOT NULL "
    "DEFAULT 0, t_released INTEGER NOT NULL DEFAULT 0, t_token_issued INTEGER NOT NULL DEFAULT 0, "
    "t_pushed INTEGER NOT NULL DEFAULT 0, t_first_contact INTEGER NOT NULL DEFAULT 0, t_installed "
    "INTEGER NOT NULL DEFAULT 0, t_failed INTEGER NOT NULL DEFAULT 0, t_expired INTEGER NOT NULL "
    "DEFAULT 0, t_revoked INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at "
    "INTEGER NOT NULL, version INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX activation_orders_customer ON activation_orders(customer_ref);"
    "CREATE INDEX activation_orders_campaign ON activation_orders(campaign, stage);"
    "CREATE INDEX activation_orders_eid ON activation_orders(eid);"
    "CREATE INDEX activation_orders_iccid ON activation_orders(iccid);"
    "CREATE INDEX activation_orders_mid ON activation_orders(matching_id);"
    "CREATE TABLE activation_tokens ( matching_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, "
    "activation_code TEXT NOT NULL, issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, "
    "revoked_at INTEGER NOT NULL DEFAULT 0, revoke_reason TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX activation_tokens_order ON activation_tokens(order_id);"
    "CREATE INDEX activation_tokens_expiry ON activation_tokens(revoked_at, expires_at);"
    "CREATE TABLE pushes ( id INTEGER PRIMARY KEY AUTOINCREMENT, order_id TEXT NOT NULL, "
    "matching_id TEXT NOT NULL, channel TEXT NOT NULL DEFAULT '', channel_ref TEXT NOT NULL "
    "DEFAULT '', issued_at INTEGER NOT NULL, handed_at INTEGER NOT NULL DEFAULT 0, "
    "first_contact_at INTEGER NOT NULL DEFAULT 0, outcome TEXT NOT NULL DEFAULT '', outcome_at "
    "INTEGER NOT NULL DEFAULT 0, outcome_reason TEXT NOT NULL DEFAULT '', campaign TEXT NOT NULL "
    "DEFAULT '', eum TEXT NOT NULL DEFAULT '', tac TEXT NOT NULL DEFAULT '', profile_type TEXT NOT "
    "NULL DEFAULT '');"
    "CREATE INDEX pushes_mid ON pushes(matching_id, id);"
    "CREATE INDEX pushes_order ON pushes(order_id, id);"
    "CREATE TABLE cohort_buckets ( dim TEXT NOT NULL, value TEXT NOT NULL, bucket INTEGER NOT "
    "NULL, pushes INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, installs "
    "INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (dim, value, "
    "bucket));"
    "CREATE TABLE quarantines ( dim TEXT NOT NULL, value TEXT NOT NULL, active INTEGER NOT NULL, "
    "since INTEGER NOT NULL, reason TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0, "
    "installs INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0, released_at INTEGER "
    "NOT NULL DEFAULT 0, released_by TEXT NOT NULL DEFAULT '', release_reason TEXT NOT NULL "
    "DEFAULT '', PRIMARY KEY (dim, value));"
    "CREATE TABLE euicc_info ( eid TEXT PRIMARY KEY, info2_hex TEXT NOT NULL, seen_at INTEGER NOT "
    "NULL);",
    /* branch tele: telemetry (rsp/telemetry.h): raw calls, sessions, per-period series and the
     * totals behind /metrics */
    "CREATE TABLE tele_call ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " at_ms INTEGER NOT NULL,"
    " fn TEXT NOT NULL,"
    " outcome TEXT NOT NULL,"
    " latency_us INTEGER NOT NULL,"
    " tid TEXT NOT NULL DEFAULT '',"
    " tac TEXT NOT NULL DEFAULT '',"
    " eum TEXT NOT NULL DEFAULT '',"
    " profile_type TEXT NOT NULL DEFAULT '',"
    " campaign TEXT NOT NULL DEFAULT '',"
    " country TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX tele_call_at ON tele_call(at_ms);"
    "CREATE TABLE tele_session ("
    " tid TEXT PRIMARY KEY,"
    " started_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
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
    " period INTEGER NOT NULL,"
    " fn TEXT NOT NULL,"
    " outcome TEXT NOT NULL,"
    " tac TEXT NOT NULL,"
    " eum TEXT NOT NULL,"
    " profile_type TEXT NOT NULL,"
    " campaign TEXT NOT NULL,"
    " country TEXT NOT NULL,"
    " n INTEGER NOT NULL,"
    " sum_us INTEGER NOT NULL," TELE_BUCKET_COLS_DEF ","
    " PRIMARY KEY (period, fn, outcome, tac, eum, profile_type, campaign, country));"
    "CREATE TABLE tele_total ("
    " fn TEXT NOT NULL,"
    " outcome TEXT NOT NULL,"
    " n INTEGER NOT NULL,"
    " sum_us INTEGER NOT NULL," TELE_BUCKET_COLS_DEF ","
    " PRIMARY KEY (fn, outcome));",
    /* branch recon: reconciliation events (billing, attach, physical-SIM activations), the
     * actions applied to discrepancies, rollbacks (rsp/recon.h);
     * IF NOT EXISTS: tests downgrade a database by deleting schema_version rows */
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
    " at INTEGER NOT NULL,"
    " started_at INTEGER NOT NULL DEFAULT 0,"
    " ok INTEGER NOT NULL DEFAULT 1,"
    " imported_at INTEGER NOT NULL,"
    " PRIMARY KEY (kind, event_id));"
    "CREATE INDEX IF NOT EXISTS recon_events_iccid ON recon_events(iccid);"
    "CREATE INDEX IF NOT EXISTS recon_events_customer ON recon_events(customer);"
    "CREATE INDEX IF NOT EXISTS recon_events_at ON recon_events(at);"
    "CREATE TABLE IF NOT EXISTS recon_actions ("
    " kind TEXT NOT NULL,"
    " subject TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " at INTEGER NOT NULL,"
    " PRIMARY KEY (kind, subject, action));"
    "CREATE TABLE IF NOT EXISTS rollbacks ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " iccid TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " failed_at INTEGER NOT NULL,"
    " detail TEXT NOT NULL DEFAULT '',"
    " policy TEXT NOT NULL DEFAULT '',"
    " outcome TEXT NOT NULL DEFAULT '',"
    " opened_at INTEGER NOT NULL,"
    " done_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE UNIQUE INDEX IF NOT EXISTS rollbacks_failure ON rollbacks(iccid, kind, failed_at);"
    "CREATE INDEX IF NOT EXISTS rollbacks_open ON rollbacks(done_at, id);",
    /* 9: the default-SM-DP+ lookup by EID through an index (partial: rows without an EID, the
     * whole unreleased inventory, cost nothing at import). The lookup by matchingId now names
     * the predicate of the partial index profiles_matching_id, which it had not been using. */
    "CREATE INDEX IF NOT EXISTS profiles_eid ON profiles(eid, iccid) WHERE eid <> '';",
    /* 10 (branch import): signed batch manifests (docs/MANIFEST.md), stored once each; the profiles
     * imported with one keep their entry record in profile_manifests */
    "CREATE TABLE IF NOT EXISTS manifest_batches ("
    " sha256 BLOB PRIMARY KEY,"
    " manifest BLOB NOT NULL,"
    " imported_at INTEGER NOT NULL);",
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

enum stmt_id {
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_SP,
    Q_SP_RELEASE,
    Q_SP_ROLLBACK,
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
    Q_SWEEP_SESSION,
    Q_SWEEP_PROFILE,
    Q_AUDIT_LIST,
    Q_OUTBOX_ADD,
    Q_OUTBOX_DUE,
    Q_OUTBOX_DONE,
    Q_OUTBOX_RETRY,
    Q_MANIFEST_ADD,
    Q_MANIFEST_GET,
    Q_MANIFEST_HASH,
    Q_PROFILE_LIST,
    Q_PROFILE_LIST_STATE,
    Q_PROFILE_EID,
    Q_AUDIT_HEAD,
    Q_AUDIT_HEAD_SET,
    Q_AUDIT_WALK,
    Q_AUDIT_WALK_ALL,
    Q_AUDIT_LAST,
    Q_AUDIT_HASH_AT,
    Q_CHECKPOINT_ADD,
    Q_CHECKPOINT_EXISTS,
    Q_CHECKPOINT_LIST,
    Q_CHECKPOINT_GET,
    Q_EXPORT_ADD,
    Q_EXPORT_LIST,
    Q_PRUNE_RECORDS,
    Q_PRUNE_CHECKPOINTS,
    Q_PRUNE_BASE,
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
    Q_IMPORT_LOOKUP,
    Q_IMPORT_INSERT,
    Q_BATCH_ADD,
    /* lead s5 */
    Q_PROFILE_CAS_SAME_KEYS,
    Q_SESSION_CAS_SAME_ICCID,
    Q_COUNT
};

static const char *const stmt_sql[Q_COUNT] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_SP] = "SAVEPOINT op",
    [Q_SP_RELEASE] = "RELEASE op",
    [Q_SP_ROLLBACK] = "ROLLBACK TO op",
    [Q_AUDIT_ADD] = "INSERT INTO audit (seq, at, entity, key, from_state, to_state, actor,"
                    " subject, reason, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
    [Q_PROFILE_INSERT] = "INSERT INTO profiles (" PROFILE_COLS ", package) VALUES "
                         "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,?)",
    [Q_PROFILE_GET] = "SELECT " PROFILE_COLS " FROM profiles WHERE iccid = ?",
    [Q_PROFILE_PACKAGE] = "SELECT package FROM profiles WHERE iccid = ?",
    [Q_PROFILE_FIND] = "SELECT " PROFILE_COLS " FROM profiles WHERE profile_type = ?"
                       " AND state = 'Available' ORDER BY iccid LIMIT 1",
    [Q_PROFILE_FIND_OWNED] = "SELECT " PROFILE_COLS " FROM profiles WHERE profile_type = ?1"
                             " AND owner = ?2 AND state = 'Available' ORDER BY iccid LIMIT 1",
    [Q_PROFILE_TYPE_OWNED] = "SELECT 1 FROM profiles WHERE profile_type = ?1 AND owner = ?2"
                             " LIMIT 1",
    [Q_PROFILE_CAS] =
        "UPDATE profiles SET imsi=?2, profile_type=?3, spn=?4, name=?5, class=?6, owner=?7,"
        " operator=?8, package_sha256=?9, package_path=?10, state=?11,"
        " state_since=CASE WHEN state = ?11 THEN state_since ELSE ?12 END,"
        " eid=?13, matching_id=?14, cc_hash=?15, cc_attempts=?16, cc_max_attempts=?17,"
        " download_attempts=?18, release_flag=?19, smds_address=?20, error_reason=?21,"
        " version = version + 1"
        " WHERE iccid = ?1 AND state = ?22 AND version = ?23",
    /* Q_PROFILE_CAS for a change that keeps the indexed profile_type, eid and matching_id (run
     * first; when it changes nothing, Q_PROFILE_CAS): SQLite rewrites the entries of every index
     * whose column an UPDATE sets, even to the value it had (a page each) */
    [Q_PROFILE_CAS_SAME_KEYS] =
        "UPDATE profiles SET imsi=?2, spn=?4, name=?5, class=?6, owner=?7,"
        " operator=?8, package_sha256=?9, package_path=?10, state=?11,"
        " state_since=CASE WHEN state = ?11 THEN state_since ELSE ?12 END,"
        " cc_hash=?15, cc_attempts=?16, cc_max_attempts=?17,"
        " download_attempts=?18, release_flag=?19, smds_address=?20, error_reason=?21,"
        " version = version + 1"
        " WHERE iccid = ?1 AND state = ?22 AND version = ?23 AND profile_type = ?3 AND eid = ?13"
        " AND matching_id = ?14",
    /* likewise Q_SESSION_CAS keeping the iccid (indexed, and a foreign key checked when set) */
    [Q_SESSION_CAS_SAME_ICCID] =
        "UPDATE sessions SET eid=?3, state=?4, server_challenge=?5,"
        " euicc_challenge=?6, curve=?7, ci_pkid=?8, otpk_euicc=?9, bpp=?10,"
        " expires_at=?11, updated_at=?12, euicc_cert=?15, euicc_sig1=?16,"
        " smdp_sig2=?17, version = version + 1"
        " WHERE tid = ?1 AND state = ?13 AND version = ?14 AND iccid IS ?2",
    [Q_PROFILE_BY_MID] = "SELECT " PROFILE_COLS " FROM profiles WHERE matching_id = ?1"
                         " AND matching_id <> ''",
    [Q_PROFILE_DEFAULT_DP] =
        "SELECT " PROFILE_COLS " FROM profiles WHERE eid = ?1 AND eid <> '' AND"
        " matching_id = '' AND state = 'Released' ORDER BY iccid LIMIT 1",
    [Q_PROFILE_EXISTS] = "SELECT 1 FROM profiles WHERE iccid = ?",
    [Q_SESSION_INSERT] = "INSERT INTO sessions (" SESSION_COLS ") VALUES "
                         "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,0,?15,?16,?17)",
    [Q_SESSION_GET] = "SELECT " SESSION_COLS " FROM sessions WHERE tid = ?",
    [Q_SESSION_CAS] = "UPDATE sessions SET iccid=?2, eid=?3, state=?4, server_challenge=?5,"
                      " euicc_challenge=?6, curve=?7, ci_pkid=?8, otpk_euicc=?9, bpp=?10,"
                      " expires_at=?11, updated_at=?12, euicc_cert=?15, euicc_sig1=?16,"
                      " smdp_sig2=?17, version = version + 1"
                      " WHERE tid = ?1 AND state = ?13 AND version = ?14",
    [Q_SESSION_EXISTS] = "SELECT 1 FROM sessions WHERE tid = ?",
    [Q_SESSION_FIND_BOUND] = "SELECT tid FROM sessions WHERE iccid = ? AND otpk_euicc IS NOT NULL"
                             " ORDER BY rowid DESC LIMIT 1",
    [Q_SWEEP_LIST] = "SELECT tid FROM sessions WHERE state IN " LIVE_SESSION
                     " AND expires_at <= ? ORDER BY expires_at LIMIT 64",
    [Q_SWEEP_SESSION] =
        "UPDATE sessions SET state = 'Expired', updated_at = ?2,"
        " version = version + 1 WHERE tid = ?1 AND state IN " LIVE_SESSION " AND expires_at <= ?2",
    [Q_SWEEP_PROFILE] = "UPDATE profiles SET state = 'Released', state_since = ?3,"
                        " error_reason = 'download session expired', version = version + 1 WHERE "
                        "iccid = ?1 AND state = 'Downloaded'"
                        " AND NOT EXISTS (SELECT 1 FROM sessions WHERE iccid = ?1"
                        " AND tid <> ?2 AND state IN " LIVE_SESSION ")",
    [Q_AUDIT_LIST] = "SELECT " AUDIT_COLS " FROM audit WHERE key = ? ORDER BY seq LIMIT ?",
    [Q_OUTBOX_ADD] = "INSERT INTO outbox (iccid, url, body, attempts, next_attempt_at,"
                     " created_at) VALUES (?,?,?,0,?,?)",
    [Q_OUTBOX_DUE] = "SELECT id, iccid, url, body, attempts, next_attempt_at FROM outbox"
                     " WHERE next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT 1",
    [Q_OUTBOX_DONE] = "DELETE FROM outbox WHERE id = ?",
    [Q_OUTBOX_RETRY] = "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2"
                       " WHERE id = ?1",
    [Q_MANIFEST_ADD] = "INSERT INTO profile_manifests (iccid, manifest, manifest_sha256,"
                       " imported_at) VALUES (?,?,?,?)",
    [Q_MANIFEST_GET] = "SELECT manifest FROM profile_manifests WHERE iccid = ?",
    [Q_MANIFEST_HASH] = "SELECT manifest_sha256 FROM profile_manifests WHERE iccid = ?",
    [Q_PROFILE_LIST] = "SELECT " PROFILE_COLS " FROM profiles ORDER BY iccid",
    [Q_PROFILE_LIST_STATE] = "SELECT " PROFILE_COLS " FROM profiles WHERE state = ? ORDER BY iccid",
    [Q_PROFILE_EID] = "SELECT eid FROM profiles WHERE iccid = ?",
    [Q_AUDIT_HEAD] = "SELECT seq, hash, base_seq, base_hash FROM audit_head WHERE id = 1",
    [Q_AUDIT_HEAD_SET] = "UPDATE audit_head SET seq = ?1, hash = ?2 WHERE id = 1 AND seq = ?3",
    [Q_AUDIT_WALK] = "SELECT " AUDIT_COLS " FROM audit WHERE seq BETWEEN ?1 AND ?2"
                     " ORDER BY seq, id",
    [Q_AUDIT_WALK_ALL] = "SELECT " AUDIT_COLS " FROM audit WHERE seq IS NULL OR seq <= ?1"
                         " ORDER BY seq, id",
    [Q_AUDIT_LAST] = "SELECT " AUDIT_COLS " FROM audit WHERE key = ?1 AND entity = ?2"
                     " ORDER BY id DESC LIMIT 1",
    [Q_AUDIT_HASH_AT] = "SELECT hash FROM audit WHERE seq = ?",
    [Q_CHECKPOINT_ADD] = "INSERT INTO audit_checkpoints (seq, hash, at, key_id, sig)"
                         " VALUES (?,?,?,?,?)",
    [Q_CHECKPOINT_EXISTS] = "SELECT 1 FROM audit_checkpoints WHERE seq = ?",
    [Q_CHECKPOINT_LIST] = "SELECT seq, hash, at, key_id, sig FROM audit_checkpoints ORDER BY seq",
    [Q_CHECKPOINT_GET] = "SELECT hash FROM audit_checkpoints WHERE seq = ?",
    [Q_EXPORT_ADD] = "INSERT INTO audit_exports (first_seq, last_seq, sha256, at) VALUES (?,?,?,?)",
    [Q_EXPORT_LIST] = "SELECT first_seq, last_seq FROM audit_exports ORDER BY first_seq",
    [Q_PRUNE_RECORDS] = "DELETE FROM audit WHERE seq <= ?",
    [Q_PRUNE_CHECKPOINTS] = "DELETE FROM audit_checkpoints WHERE seq < ?",
    [Q_PRUNE_BASE] = "UPDATE audit_head SET base_seq = ?1, base_hash = ?2 WHERE id = 1",
    /* branch tele */
    [Q_TELE_CALL_ADD] = "INSERT INTO tele_call (at_ms, fn, outcome, latency_us, tid, tac, eum,"
                        " profile_type, campaign, country) VALUES (?,?,?,?,?,?,?,?,?,?)",
    [Q_TELE_SERIES_ADD] =
        "INSERT INTO tele_series (period, fn, outcome, tac, eum, profile_type, campaign, country,"
        " n, sum_us, " TELE_BUCKET_COLS ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,1,?9," TELE_BUCKET_SET
        ") ON CONFLICT (period, fn, outcome, tac, eum, profile_type, campaign, country) DO UPDATE"
        " SET " TELE_BUCKET_UPSERT,
    [Q_TELE_TOTAL_ADD] = "INSERT INTO tele_total (fn, outcome, n, sum_us, " TELE_BUCKET_COLS
                         ") VALUES (?2,?3,1,?9," TELE_BUCKET_SET ") ON CONFLICT (fn, outcome) DO"
                         " UPDATE SET " TELE_BUCKET_UPSERT,
    [Q_TELE_SESSION_LABELS] = "SELECT tac, eum, profile_type, campaign, country FROM tele_session"
                              " WHERE tid = ?",
    [Q_TELE_SESSION_NEW] = "INSERT INTO tele_session (tid, started_at, updated_at, tac, eum,"
                           " profile_type, campaign, country, subject, stage, result) VALUES"
                           " (?1,?2,?2,?3,?4,?5,?6,?7,?8,?9,?10) ON CONFLICT (tid) DO NOTHING",
    [Q_TELE_SESSION_SET] = "UPDATE tele_session SET updated_at = ?2, tac = ?3, eum = ?4,"
                           " profile_type = ?5, campaign = ?6, country = ?7,"
                           " subject = CASE WHEN ?8 <> '' THEN ?8 ELSE subject END, stage = ?9,"
                           " result = CASE WHEN ?10 <> '' THEN ?10 ELSE result END WHERE tid = ?1",
    [Q_TELE_SESSION_GET] = "SELECT tid, started_at, updated_at, tac, eum, profile_type, campaign,"
                           " country, subject, stage, result FROM tele_session WHERE tid = ?",
    [Q_TELE_TOTALS] = "SELECT 0, fn, outcome, '', '', '', '', '', n, sum_us, " TELE_BUCKET_COLS
                      " FROM tele_total ORDER BY fn, outcome",
    [Q_TELE_SERIES] = "SELECT period, fn, outcome, tac, eum, profile_type, campaign, country, n,"
                      " sum_us, " TELE_BUCKET_COLS " FROM tele_series WHERE period >= ?1 AND"
                      " period < ?2 ORDER BY period, fn, outcome",
    /* by id, which follows at_ms: the rows before the first one at or after the cutoff (no index
     * on at_ms to update on every call; migration 11) */
    [Q_TELE_SWEEP_CALLS] = "DELETE FROM tele_call WHERE id < COALESCE((SELECT id FROM tele_call"
                           " WHERE at_ms >= ?1 ORDER BY id LIMIT 1), (SELECT max(id) + 1 FROM"
                           " tele_call), 0)",
    /* through the index on started_at, which an update does not move (migration 11) */
    [Q_TELE_SWEEP_SESSIONS] = "DELETE FROM tele_session WHERE started_at < ?1 AND"
                              " updated_at < ?1",
    [Q_TELE_SWEEP_SERIES] = "DELETE FROM tele_series WHERE period < ?",
    /* branch import: one lookup per item (row exists?, its manifest digest); the row insert of an
     * import, where a uniqueness conflict (e.g. a matchingId) inserts nothing instead of failing
     * (no per-item savepoint: a savepoint copies every page it touches to a sub-journal) */
    [Q_IMPORT_LOOKUP] = "SELECT m.manifest_sha256 FROM profiles p LEFT JOIN profile_manifests m"
                        " ON m.iccid = p.iccid WHERE p.iccid = ?",
    [Q_IMPORT_INSERT] = "INSERT OR IGNORE INTO profiles (" PROFILE_COLS ", package) VALUES "
                        "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,?)",
    [Q_BATCH_ADD] = "INSERT OR IGNORE INTO manifest_batches (sha256, manifest, imported_at)"
                    " VALUES (?,?,?)",
};

/* What the connections of this process to one database file (found by device and inode) share,
 * reference counted; none for in-memory or temporary databases:
 * - the writer lock;
 * - the checkpointer: a thread with a connection of its own that copies the WAL back into the
 *   database (PASSIVE: it never blocks readers or writers) once commits have added
 *   CHECKPOINT_FRAMES frames to the WAL since the last checkpoint. SQLite's automatic checkpoint
 *   would run inside the committing request, holding the writer lock through the copy and its
 *   fsync (the latency spikes of a busy server); started on first need, stopped with the last
 *   connection.
 * A PASSIVE checkpoint never rewinds the WAL, and a writer only rewinds it when no reader still
 * reads one of its frames, which a busy server seldom leaves it: the WAL grew past 50,000
 * frames (200 MiB), and since a trigger on the WAL's size then fired on every commit, the thread
 * checkpointed without pause (about 2,700 checkpoints, 1.5 s of its CPU, in 3,000 downloads).
 * So the trigger counts the frames added since the last checkpoint, and once the WAL holds
 * RESTART_FRAMES frames a complete checkpoint is followed by a RESTART one: it copies what was
 * committed in between and rewinds the WAL, holding this process's writer lock (so no writer of
 * ours meets SQLite's lock and its busy handler's sleeps) for the few milliseconds of that copy
 * and its fsyncs, and gives up at once, to try again after the next checkpoint, while a reader
 * is still in the WAL. */
#define CHECKPOINT_FRAMES 4000
#define RESTART_FRAMES    (4 * CHECKPOINT_FRAMES)
struct sq_shared {
    dev_t dev;
    ino_t ino;
    unsigned refs;
    pthread_mutex_t w;
    char *path;
    pthread_mutex_t cp_lock;
    pthread_cond_t cp_cond;
    pthread_t cp_thread;
    bool cp_started, cp_wanted, cp_stop;
    /* the WAL's size in frames at the last checkpoint, 0 once it rewound: the next one starts
     * CHECKPOINT_FRAMES later, even when a reader kept the last from copying everything (else a
     * long read would have every commit wake the checkpointer again) */
    int cp_done;
    struct sq_shared *next;
};

static void *checkpointer(void *arg)
{
    struct sq_shared *x = arg;
    prctl(PR_SET_NAME, "rsp-checkpoint"); /* its name in top -H, ps -L, /proc/PID/task */
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(x->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) ==
        SQLITE_OK) {
        sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
        /* a first read: the connection learns the database is in WAL mode (a checkpoint on a
         * connection that has not read the file yet does nothing) */
        sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
    }
    pthread_mutex_lock(&x->cp_lock);
    for (;;) {
        while (!x->cp_wanted && !x->cp_stop)
            pthread_cond_wait(&x->cp_cond, &x->cp_lock);
        if (x->cp_stop)
            break;
        x->cp_wanted = false;
        pthread_mutex_unlock(&x->cp_lock);
        int log = -1, done = -1;
        if (db) {
            sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
            if (log >= RESTART_FRAMES && done == log) {
                pthread_mutex_lock(&x->w);
                sqlite3_busy_timeout(db, 0);
                sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, &log, &done);
                sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
                pthread_mutex_unlock(&x->w);
            }
        }
        pthread_mutex_lock(&x->cp_lock);
        x->cp_done = log > 0 ? log : 0;
    }
    pthread_mutex_unlock(&x->cp_lock);
    sqlite3_close(db);
    return NULL;
}

/* sqlite3_wal_hook of every connection with a shared part (replaces the automatic checkpoint) */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    struct sq_shared *x = arg;
    if (frames < CHECKPOINT_FRAMES)
        return SQLITE_OK;
    pthread_mutex_lock(&x->cp_lock);
    if (frames < x->cp_done) /* the WAL rewound since */
        x->cp_done = 0;
    if (frames - x->cp_done < CHECKPOINT_FRAMES) {
        pthread_mutex_unlock(&x->cp_lock);
        return SQLITE_OK;
    }
    if (!x->cp_started && !x->cp_stop)
        x->cp_started = pthread_create(&x->cp_thread, NULL, checkpointer, x) == 0;
    x->cp_done = frames; /* while the checkpoint runs: one wake-up is enough */
    x->cp_wanted = true;
    pthread_cond_signal(&x->cp_cond);
    pthread_mutex_unlock(&x->cp_lock);
    return SQLITE_OK;
}
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sq_shared *shared_list;

static struct sq_shared *shared_get(const char *path)
{
    struct stat sb;
    if (!path || !path[0] || strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0 ||
        stat(path, &sb) != 0)
        return NULL;
    pthread_mutex_lock(&shared_lock);
    struct sq_shared *x = shared_list;
    while (x && !(x->dev == sb.st_dev && x->ino == sb.st_ino))
        x = x->next;
    if (!x && (x = calloc(1, sizeof *x)) != NULL) {
        if ((x->path = strdup(path)) == NULL) {
            free(x);
            x = NULL;
        } else {
            x->dev = sb.st_dev;
            x->ino = sb.st_ino;
            pthread_mutex_init(&x->w, NULL);
            pthread_mutex_init(&x->cp_lock, NULL);
            pthread_cond_init(&x->cp_cond, NULL);
            x->next = shared_list;
            shared_list = x;
        }
    }
    if (x)
        x->refs++;
    pthread_mutex_unlock(&shared_lock);
    return x;
}

static void shared_put(struct sq_shared *x)
{
    if (!x)
        return;
    pthread_mutex_lock(&shared_lock);
    if (--x->refs == 0) {
        struct sq_shared **pp = &shared_list;
        while (*pp != x)
            pp = &(*pp)->next;
        *pp = x->next;
        pthread_mutex_lock(&x->cp_lock);
        x->cp_stop = true;
        pthread_cond_signal(&x->cp_cond);
        pthread_mutex_unlock(&x->cp_lock);
        if (x->cp_started)
            pthread_join(x->cp_thread, NULL);
        pthread_cond_destroy(&x->cp_cond);
        pthread_mutex_destroy(&x->cp_lock);
        pthread_mutex_destroy(&x->w);
        free(x->path);
        free(x);
    }
    pthread_mutex_unlock(&shared_lock);
}

struct sq_store {
    struct rsp_store base; /* first: the public handle */
    sqlite3 *db;
    struct sq_shared *shared; /* NULL: no in-process writer lock */
    bool wlocked;             /* this connection holds shared->w */
    bool call;                /* inside rsp_store_call_begin ... call_end */
    bool call_tx;             /* the call's transaction is open (a change was made) */
    /* Inside a call's transaction the audit chain head is kept in head_cache once read (the
     * write lock is held: nobody else appends) and written once before the COMMIT. */
    bool call_head;                /* head_cache holds the call's head */
    int64_t call_head_seq0;        /* the head's seq when the call read it */
    bool sp_head_cached;           /* head_cached when the current savepoint began */
    struct rsp_audit_head sp_head; /* head_cache then */
    sqlite3_stmt *stmt[Q_COUNT];
    void (*hook)(const char *point);
    /* branch ops: statements of x_exec, cached by SQL text pointer (callers pass literals) */
    const char *x_sql[X_CACHE];
    sqlite3_stmt *x_stmt[X_CACHE];
    unsigned x_next;
    /* During an import batch (one write transaction: no other appender can move the head), the
     * chain head is kept here and written once at the end instead of read and written per
     * record. */
    bool head_cached;
    struct rsp_audit_head head_cache;
};

static struct sq_store *SQ(struct rsp_store *st)
{
    return (struct sq_store *)st;
}

static int map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return 0;
    case SQLITE_NOMEM:
        return RSP_ENOMEM;
    case SQLITE_CONSTRAINT:
        return RSP_ESTATE; /* a uniqueness or reference rule refused the change */
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return RSP_ESTATE; /* lock not obtained within busy_timeout: treat as a lost race */
    default:
        return RSP_EIO;
    }
}

/* The cached statement, reset and unbound; NULL on failure. */
static sqlite3_stmt *Q(struct sq_store *s, enum stmt_id id)
{
    if (!s->stmt[id]) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[id],
                               NULL) != SQLITE_OK) {
            s->stmt[id] = NULL;
            return NULL;
        }
    } else {
        sqlite3_reset(s->stmt[id]);
        sqlite3_clear_bindings(s->stmt[id]);
    }
    return s->stmt[id];
}

static void fault(struct sq_store *s, const char *point)
{
    if (s->hook)
        s->hook(point);
}

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

/* Runs a statement that returns no row (or ignores rows). */
static int run(sqlite3_stmt *q)
{
    if (!q)
        return RSP_EIO;
    int rc = sqlite3_step(q);
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(q);
    int r = map_rc(rc);
    sqlite3_reset(q);
    return r;
}

static int wlock(struct sq_store *s)
{
    if (!s->shared || s->wlocked)
        return 0;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += BUSY_TIMEOUT_MS / 1000;
    int e = pthread_mutex_timedlock(&s->shared->w, &until);
    if (e == ETIMEDOUT)
        return RSP_ESTATE; /* as SQLITE_BUSY after busy_timeout: a lost race */
    if (e)
        return RSP_EIO;
    s->wlocked = true;
    return 0;
}

static void wunlock(struct sq_store *s)
{
    if (s->wlocked) {
        s->wlocked = false;
        pthread_mutex_unlock(&s->shared->w);
    }
}

/* Start of a multi-step change: BEGIN IMMEDIATE, or inside a call's open transaction a
 * savepoint (the first change of a call opens the transaction). */
static int begin(struct sq_store *s)
{
    s->sp_head_cached = s->call_head;
    s->sp_head = s->head_cache;
    if (s->call_tx)
        return run(Q(s, Q_SP));
    int rc = wlock(s);
    if (rc == 0 && (rc = run(Q(s, Q_BEGIN))) == 0 && s->call) {
        s->call_tx = true;
        if ((rc = run(Q(s, Q_SP))) != 0) {
            s->call_tx = false;
            run(Q(s, Q_ROLLBACK));
        }
    }
    if (rc)
        wunlock(s);
    return rc;
}

static int commit(struct sq_store *s)
{
    if (s->call_tx) {
        int rc = run(Q(s, Q_SP_RELEASE));
        if (rc) {
            run(Q(s, Q_SP_ROLLBACK));
            run(Q(s, Q_SP_RELEASE));
            if (s->call_head) { /* as rollback(): the undone records' head goes back too */
                s->call_head = s->head_cached = s->sp_head_cached;
                s->head_cache = s->sp_head;
            }
        }
        return rc;
    }
    int rc = run(Q(s, Q_COMMIT));
    if (rc && sqlite3_get_autocommit(s->db) == 0)
        run(Q(s, Q_ROLLBACK));
    wunlock(s);
    return rc;
}

static void rollback(struct sq_store *s)
{
    if (s->call_tx) {
        run(Q(s, Q_SP_ROLLBACK));
        run(Q(s, Q_SP_RELEASE));
        if (s->call_head) { /* the undone operation's records are undone: so is their head */
            s->call_head = s->head_cached = s->sp_head_cached;
            s->head_cache = s->sp_head;
        }
        return;
    }
    if (sqlite3_get_autocommit(s->db) == 0)
        run(Q(s, Q_ROLLBACK));
    wunlock(s);
}

static int sq_call_begin(struct rsp_store *st)
{
    struct sq_store *s = SQ(st);
    if (s->call || sqlite3_get_autocommit(s->db) == 0)
        return RSP_ESTATE; /* calls do not nest, nor start inside a change */
    s->call = true;
    return 0;
}

static int head_write(struct sq_store *s, int64_t expect_seq);

static int sq_call_end(struct rsp_store *st, bool keep)
{
    struct sq_store *s = SQ(st);
    int rc = 0;
    if (s->call_tx) {
        s->call_tx = false;
        if (keep && s->call_head && s->head_cache.seq != s->call_head_seq0)
            rc = head_write(s, s->call_head_seq0);
        s->call_head = s->head_cached = false;
        if (keep && rc == 0) {
            fault(s, "call:before_commit");
            rc = run(Q(s, Q_COMMIT));
        }
        if ((rc || !keep) && sqlite3_get_autocommit(s->db) == 0)
            run(Q(s, Q_ROLLBACK));
        wunlock(s);
    }
    s->call = false;
    return rc;
}

static void bind_text(sqlite3_stmt *q, int i, const char *t)
{
    sqlite3_bind_text(q, i, t ? t : "", -1, SQLITE_TRANSIENT);
}

static void bind_blob_or_null(sqlite3_stmt *q, int i, const void *p, size_t n)
{
    if (n)
        sqlite3_bind_blob64(q, i, p, n, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(q, i);
}

static void col_text(sqlite3_stmt *q, int i, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

/* Copies a blob column into a fixed array; returns its length (0 when NULL or too large). */
static size_t col_blob(sqlite3_stmt *q, int i, uint8_t *out, size_t cap)
{
    const void *p = sqlite3_column_blob(q, i);
    size_t n = (size_t)sqlite3_column_bytes(q, i);
    if (!p || n > cap)
        return 0;
    memcpy(out, p, n);
    return n;
}

static int col_buf(sqlite3_stmt *q, int i, struct rsp_buf *out)
{
    const void *p = sqlite3_column_blob(q, i);
    size_t n = (size_t)sqlite3_column_bytes(q, i);
    return n ? rsp_buf_set(out, p, n) : (rsp_buf_reset(out), 0);
}

/* ---- audit chain ---- */

/* The chain head (inside the caller's transaction). */
static int read_head(struct sq_store *s, struct rsp_audit_head *h)
{
    sqlite3_stmt *q = Q(s, Q_AUDIT_HEAD);
    if (!q)
        return RSP_EIO;
    memset(h, 0, sizeof *h);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        h->seq = sqlite3_column_int64(q, 0);
        h->base_seq = sqlite3_column_int64(q, 2);
        rc = col_blob(q, 1, h->hash, sizeof h->hash) == sizeof h->hash &&
                     col_blob(q, 3, h->base_hash, sizeof h->base_hash) == sizeof h->base_hash
                 ? 0
                 : RSP_EIO;
    } else {
        rc = rc == SQLITE_DONE ? RSP_EIO : map_rc(rc); /* the head row is part of the schema */
    }
    sqlite3_reset(q);
    return rc;
}

/* Appends e to the chain inside the caller's write transaction: head read under the write lock,
 * record sealed (rsp_audit_seal), inserted, head moved with a compare-and-set on its seq. */
/* Moves the stored chain head to head_cache, if it is still at expect_seq. */
static int head_write(struct sq_store *s, int64_t expect_seq)
{
    sqlite3_stmt *q = Q(s, Q_AUDIT_HEAD_SET);
    if (!q)
        return RSP_EIO;
    sqlite3_bind_int64(q, 1, s->head_cache.seq);
    sqlite3_bind_blob(q, 2, s->head_cache.hash, sizeof s->head_cache.hash, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 3, expect_seq);
    int rc = run(q);
    return rc ? rc : sqlite3_changes(s->db) == 1 ? 0 : RSP_ESTATE;
}

static int audit_add_entry(struct sq_store *s, struct rsp_audit_entry *e)
{
    struct rsp_audit_head h;
    e->at = now_s();
    int rc = 0;
    if (s->call_tx && !s->head_cached) { /* the call's first record: read the head once */
        if ((rc = read_head(s, &s->head_cache)) != 0)
            return rc;
        s->call_head = s->head_cached = true;
        s->call_head_seq0 = s->head_cache.seq;
    }
    if (s->head_cached)
        h = s->head_cache;
    else
        rc = read_head(s, &h);
    if (rc == 0)
        rc = rsp_audit_seal(e, h.seq, h.hash);
    if (rc)
        return rc;
    sqlite3_stmt *q = Q(s, Q_AUDIT_ADD);
    if (!q)
        return RSP_EIO;
    sqlite3_bind_int64(q, 1, e->seq);
    sqlite3_bind_int64(q, 2, e->at);
    bind_text(q, 3, e->entity);
    bind_text(q, 4, e->key);
    bind_text(q, 5, e->from);
    bind_text(q, 6, e->to);
    bind_text(q, 7, e->actor);
    bind_text(q, 8, e->subject);
    bind_text(q, 9, e->reason);
    sqlite3_bind_blob(q, 10, e->prev, sizeof e->prev, SQLITE_TRANSIENT);
    sqlite3_bind_blob(q, 11, e->hash, sizeof e->hash, SQLITE_TRANSIENT);
    rc = run(q);
    if (rc)
        return rc;
    fault(s, "audit:after_record");
    if (s->head_cached) {
        s->head_cache.seq = e->seq;
        memcpy(s->head_cache.hash, e->hash, sizeof e->hash);
        return 0;
    }
    q = Q(s, Q_AUDIT_HEAD_SET);
    if (!q)
        return RSP_EIO;
    sqlite3_bind_int64(q, 1, e->seq);
    sqlite3_bind_blob(q, 2, e->hash, sizeof e->hash, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 3, h.seq);
    rc = run(q);
    return rc ? rc : sqlite3_changes(s->db) == 1 ? 0 : RSP_ESTATE;
}

static int audit_add(struct sq_store *s, const char *entity, const char *key, const char *from,
                     const char *to, const char *actor, const char *subject, const char *reason)
{
    struct rsp_audit_entry e;
    rsp_audit_entry_set(&e, entity, key, from, to, actor, subject, reason);
    return audit_add_entry(s, &e);
}

/* Subject pseudonym of an EID for this connection ("" without a pseudonym key). */
static void eid_subject(struct sq_store *s, const char *eid, char out[RSP_AUDIT_SUBJECT_MAX + 1])
{
    rsp_store_subject(&s->base, RSP_PSEUDONYM_EID, eid, out);
}

/* ---- profiles ---- */

static void read_profile(sqlite3_stmt *q, struct rsp_profile *p)
{
    memset(p, 0, sizeof *p);
    col_text(q, 0, p->iccid, sizeof p->iccid);
    col_text(q, 1, p->imsi, sizeof p->imsi);
    col_text(q, 2, p->profile_type, sizeof p->profile_type);
    col_text(q, 3, p->spn, sizeof p->spn);
    col_text(q, 4, p->name, sizeof p->name);
    p->pclass = (enum rsp_profile_class)sqlite3_column_int(q, 5);
    col_text(q, 6, p->owner, sizeof p->owner);
    col_text(q, 7, p->operator_, sizeof p->operator_);
    col_blob(q, 8, p->package_sha256, sizeof p->package_sha256);
    col_text(q, 9, p->package_path, sizeof p->package_path);
    rsp_profile_state_from_name((const char *)sqlite3_column_text(q, 10), &p->state);
    p->state_since = sqlite3_column_int64(q, 11);
    p->created_at = sqlite3_column_int64(q, 12);
    col_text(q, 13, p->eid, sizeof p->eid);
    col_text(q, 14, p->matching_id, sizeof p->matching_id);
    p->cc_set = col_blob(q, 15, p->cc_hash, sizeof p->cc_hash) == sizeof p->cc_hash;
    p->cc_attempts = (unsigned)sqlite3_column_int(q, 16);
    p->cc_max_attempts = (unsigned)sqlite3_column_int(q, 17);
    p->download_attempts = (unsigned)sqlite3_column_int(q, 18);
    p->release_flag = sqlite3_column_int(q, 19) != 0;
    col_text(q, 20, p->smds_address, sizeof p->smds_address);
    col_text(q, 21, p->error_reason, sizeof p->error_reason);
    p->version = sqlite3_column_int64(q, 22);
}

/* The INSERT of one profile row (inside the caller's transaction) with statement `id`
 * (Q_PROFILE_INSERT or Q_IMPORT_INSERT). */
static int insert_row(struct sq_store *s, enum stmt_id id, const struct rsp_profile *p,
                      const uint8_t *pkg, size_t pkg_len)
{
    int64_t now = now_s();
    sqlite3_stmt *q = Q(s, id);
    if (!q)
        return RSP_EIO;
    const char *state = rsp_profile_state_name(p->state);
    bind_text(q, 1, p->iccid);
    bind_text(q, 2, p->imsi);
    bind_text(q, 3, p->profile_type);
    bind_text(q, 4, p->spn);
    bind_text(q, 5, p->name);
    sqlite3_bind_int(q, 6, (int)p->pclass);
    bind_text(q, 7, p->owner);
    bind_text(q, 8, p->operator_);
    sqlite3_bind_blob(q, 9, p->package_sha256, sizeof p->package_sha256, SQLITE_TRANSIENT);
    bind_text(q, 10, p->package_path);
    bind_text(q, 11, state);
    sqlite3_bind_int64(q, 12, now);
    sqlite3_bind_int64(q, 13, now);
    bind_text(q, 14, p->eid);
    bind_text(q, 15, p->matching_id);
    bind_blob_or_null(q, 16, p->cc_hash, p->cc_set ? sizeof p->cc_hash : 0);
    sqlite3_bind_int(q, 17, (int)p->cc_attempts);
    sqlite3_bind_int(q, 18, (int)p->cc_max_attempts);
    sqlite3_bind_int(q, 19, (int)p->download_attempts);
    sqlite3_bind_int(q, 20, p->release_flag);
    bind_text(q, 21, p->smds_address);
    bind_text(q, 22, p->error_reason);
    bind_blob_or_null(q, 23, pkg, pkg_len);
    return run(q);
}

static int insert_profile_row(struct sq_store *s, const struct rsp_profile *p, const uint8_t *pkg,
                              size_t pkg_len)
{
    return insert_row(s, Q_PROFILE_INSERT, p, pkg, pkg_len);
}

static int sq_profile_insert(struct rsp_store *st, const struct rsp_profile *p, const uint8_t *pkg,
                             size_t pkg_len, const char *actor)
{
    struct sq_store *s = SQ(st);
    int rc = begin(s);
    if (rc)
        return rc;
    rc = insert_profile_row(s, p, pkg, pkg_len);
    if (rc == 0) {
        fault(s, "profile_insert:after_insert");
        char subject[RSP_AUDIT_SUBJECT_MAX + 1];
        eid_subject(s, p->eid, subject);
        rc = audit_add(s, "profile", p->iccid, "", rsp_profile_state_name(p->state), actor, subject,
                       "inserted");
    }
    if (rc) {
        rollback(s);
        return rc;
    }
    return commit(s);
}

/* ---- inventory import ---- */

/* 2 and the digest when the profile is in the inventory with a stored manifest, 1 when it is
 * there without one, 0 when it is not, negative on error. */
static int import_lookup(struct sq_store *s, const char *iccid, uint8_t out[32])
{
    sqlite3_stmt *q = Q(s, Q_IMPORT_LOOKUP);
    if (!q)
        return RSP_EIO;
    bind_text(q, 1, iccid);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        rc = sqlite3_column_type(q, 0) == SQLITE_NULL ? 1
             : col_blob(q, 0, out, 32) == 32          ? 2
                                                      : RSP_EIO;
    else
        rc = rc == SQLITE_DONE ? 0 : map_rc(rc);
    sqlite3_reset(q);
    return rc;
}

/* The batch manifest an accepted item refers to, once per batch and import (an import of it
 * stored earlier leaves the row as it is). */
static int import_batch_row(struct sq_store *s, const struct rsp_store_import_item *it,
                            const uint8_t **last)
{
    if (!it->batch || it->batch == *last)
        return 0;
    uint8_t d[32];
    if (rsp_sha256(it->batch, it->batch_len, d))
        return RSP_ECRYPTO;
    sqlite3_stmt *q = Q(s, Q_BATCH_ADD);
    if (!q)
        return RSP_EIO;
    sqlite3_bind_blob(q, 1, d, 32, SQLITE_STATIC);
    sqlite3_bind_blob64(q, 2, it->batch, it->batch_len, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, now_s());
    int rc = run(q);
    if (rc == 0)
        *last = it->batch;
    return rc;
}

static int import_one(struct sq_store *s, struct rsp_store_import_item *it, const char *actor,
                      const uint8_t **last_batch)
{
    const char *key = it->profile.iccid[0] ? it->profile.iccid : "-";
    char reason[128];
    if (it->refused) {
        it->result = RSP_EVERIFY;
        snprintf(reason, sizeof reason, "%s", it->refused);
        return audit_add(s, "import", key, "", "Refused", actor, "", reason);
    }
    uint8_t digest[32], have[32];
    if (rsp_sha256(it->manifest, it->manifest_len, digest))
        return RSP_ECRYPTO;
    int rc = import_lookup(s, it->profile.iccid, have);
    if (rc < 0)
        return rc;
    if (rc == 2 && memcmp(have, digest, 32) == 0) {
        it->result = RSP_STORE_IMPORT_PRESENT;
        return 0;
    }
    if (rc > 0) {
        it->result = RSP_ESTATE;
        return audit_add(s, "import", key, "", "Refused", actor, "",
                         rc == 2 ? "ICCID already imported with another manifest"
                                 : "ICCID already in the inventory without a manifest");
    }
    /* The ICCID is free (checked above, under the write lock); another uniqueness conflict (e.g.
     * a duplicate matchingId) makes the insert a no-op, and the item is refused. The manifest
     * row cannot conflict (its key is the new ICCID): a failure there fails the batch. */
    rc = insert_row(s, Q_IMPORT_INSERT, &it->profile, it->pkg, it->pkg_len);
    if (rc)
        return rc;
    if (sqlite3_changes(s->db) != 1) {
        it->result = RSP_ESTATE;
        return audit_add(s, "import", key, "", "Refused", actor, "", "row refused by the database");
    }
    sqlite3_stmt *q = Q(s, Q_MANIFEST_ADD);
    if (!q)
        return RSP_EIO;
    bind_text(q, 1, it->profile.iccid);
    sqlite3_bind_blob64(q, 2, it->manifest, it->manifest_len, SQLITE_STATIC);
    sqlite3_bind_blob(q, 3, digest, 32, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, now_s());
    rc = run(q);
    if (rc)
        return rc == RSP_ESTATE ? RSP_EIO : rc;
    if ((rc = import_batch_row(s, it, last_batch)))
        return rc;
    char hex[17];
    rsp_hex_str(hex, digest, 8, 0);
    snprintf(reason, sizeof reason, "imported (manifest sha256 %s...)", hex);
    fault(s, "profile_import:after_insert");
    rc = audit_add(s, "profile", it->profile.iccid, "",
                   rsp_profile_state_name(RSP_PROFILE_AVAILABLE), actor, "", reason);
    if (rc == 0)
        it->result = 0;
    return rc;
}

static int sq_profile_import(struct rsp_store *st, struct rsp_store_import_item *items, size_t n,
                             const char *actor)
{
    struct sq_store *s = SQ(st);
    int rc = begin(s);
    if (rc)
        return rc;
    int64_t first_seq = 0;
    if ((rc = read_head(s, &s->head_cache)) == 0) {
        s->head_cached = true;
        first_seq = s->head_cache.seq;
    }
    const uint8_t *last_batch = NULL;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = import_one(s, &items[i], actor, &last_batch);
    s->head_cached = false;
    if (rc == 0 && s->head_cache.seq != first_seq) { /* the head, once */
        sqlite3_stmt *q = Q(s, Q_AUDIT_HEAD_SET);
        if (!q) {
            rc = RSP_EIO;
        } else {
            sqlite3_bind_int64(q, 1, s->head_cache.seq);
            sqlite3_bind_blob(q, 2, s->head_cache.hash, sizeof s->head_cache.hash,
                              SQLITE_TRANSIENT);
            sqlite3_bind_int64(q, 3, first_seq);
            rc = run(q);
            if (rc == 0 && sqlite3_changes(s->db) != 1)
                rc = RSP_ESTATE;
        }
    }
    if (rc) {
        rollback(s);
        return rc;
    }
    return commit(s);
}

static int sq_profile_manifest(struct rsp_store *st, const char *iccid, struct rsp_buf *out)
{
    sqlite3_stmt *q = Q(SQ(st), Q_MANIFEST_GET);
    if (!q)
        return RSP_EIO;
    bind_text(q, 1, iccid);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        rc = col_buf(q, 0, out);
    else
        rc = rc == SQLITE_DONE ? RSP_ENOTFOUND : map_rc(rc);
    sqlite3_reset(q);
    return rc;
}

static int sq_profile_list(struct rsp_store *st, const enum rsp_profile_state *state,
                           rsp_store_profile_cb cb, void *arg)
{
    sqlite3_stmt *q = Q(SQ(st), state ? Q_PROFILE_LIST_STATE : Q_PROFILE_LIST);
    if (!q)
        return RSP_EIO;
    if (state)
        bind_text(q, 1, rsp_profile_state_name(*state));
    int rc, stop = 0;
    struct rsp_profile p;
    while (stop == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        read_profile(q, &p);
        stop = cb(arg, &p);
    }
    sqlite3_reset(q);
    return stop ? stop : map_rc(rc);
}

static int sq_profile_get(struct rsp_store *st, const char *iccid, struct rsp_profile *out)
{
    sqlite3_stmt *q = Q(SQ(st), Q_PROFILE_GET);
    if (!q)
        return RSP_EIO;
    bind_text(q, 1, iccid);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        read_profile(q, out);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? RSP_ENOTFOUND : map_rc(rc);
    }
    sqlite3_reset(q);
    return rc;
}

static int sq_profile_package(struct rsp_store *st, const char *iccid, struct rsp_buf *out)
{
    sqlite3_stmt *q = Q(SQ(st), Q_PROFILE_PACKAGE);
    if (!q)
        return RSP_EIO;
    bind_text(q, 1, iccid);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        rc = sqlite3_column_type(q, 0) == SQLITE_NULL ? RSP_ENOTFOUND : col_buf(q, 0, out);
    else
        rc = rc == SQLITE_DONE ? RSP_ENOTFOUND : map_rc(rc);
    sqlite3_reset(q);
    return rc;
}

static int sq_profile_find_available(struct rsp_store *st, const char *profile_type,
                                     struct rsp_profile *out)
{
    sqlite3_stmt *q = Q(SQ(st), Q_PROFILE_FIND);
    if (!q)
        return RSP_EIO;
    bind_text(q, 1, profile_type);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        read_profile(q, out);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? RSP_ENOTFOUND : map_rc(rc);
    }
    sqlite3_reset(q);
    return rc;
}

static int sq_profile_find_available_owned(struct rsp_store *st, const char *profile_type,
                                           const char *owner, struct rsp_profile *out)
{
    sqlite3_stmt *q = Q(SQ(st), Q_PROFILE_FIND_OWNED);
    if (!q)
        return RSP_EIO;
    bind_text(q, 1, profile_type);
    bind_text(q, 2, owner);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        read_profile(q, out);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? 1 : map_rc(rc);
    }
    sqlite3_reset(q);
    if (rc != 1)
        return rc;
    q = Q(SQ(st), Q_PROFILE_TYPE_OWNED);
    if (!q)
        return RSP_EIO;
    bind_text(q, 1, profile_type);
    bind_text(q, 2, owner);
    rc = sqlite3_step(q);
    rc = rc == SQLITE_ROW ? RSP_ESTATE : rc == SQLITE_DONE ? RSP_ENOTFOUND : map_rc(rc);
    sqlite3_reset(q);
    return rc;
}

static int sq_profile_find_download(struct rsp_store *st, const char *matching_id, const char *eid,
                                    struct rsp_profile *out)
{
    sqlite3_stmt *q = Q(SQ(st), matching_id[0] ? Q_PROFILE_BY_MID : Q_PROFILE_DEFAULT_DP);
    if (!q)
        return RSP_EIO;
    bind_text(q, 1, matching_id[0] ? matching_id : eid);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        read_profile(q, out);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? RSP_ENOTFOUND : map_rc(rc);
    }
    sqlite3_reset(q);
    return rc;
}

/* After a CAS changed no row: RSP_ENOTFOUND if the key does not exist, else RSP_ESTATE. */
static int cas_lost(struct sq_store *s, enum stmt_id exists, const char *key)
{
    sqlite3_stmt *q = Q(s, exists);
    if (!q)
        return RSP_EIO;
    bind_text(q, 1, key);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_ROW ? RSP_ESTATE : rc == SQLITE_DONE ? RSP_ENOTFOUND : map_rc(rc);
}

static int profile_cas_run(sqlite3_stmt *q, const struct rsp_profile *p, const char *from,
                           const char *to, int64_t expect_version);

static int sq_profile_cas(struct rsp_store *st, const struct rsp_profile *p,
                          enum rsp_profile_state expect_state, int64_t expect_version,
                          const char *actor, const char *reason)
{
    struct sq_store *s = SQ(st);
    int rc = begin(s);
    if (rc)
        return rc;
    /* The record's subject: the EID the profile is (or, when this change unlinks it, was) bound
     * to, read before the update inside the transaction. */
    char subject[RSP_AUDIT_SUBJECT_MAX + 1] = "";
    if (expect_state != p->state) {
        char old_eid[33] = "";
        if (!p->eid[0] && st->pseudonym_key) {
            sqlite3_stmt *e = Q(s, Q_PROFILE_EID);
            if (!e) {
                rollback(s);
                return RSP_EIO;
            }
            bind_text(e, 1, p->iccid);
            if (sqlite3_step(e) == SQLITE_ROW)
                col_text(e, 0, old_eid, sizeof old_eid);
            sqlite3_reset(e);
        }
        eid_subject(s, p->eid[0] ? p->eid : old_eid, subject);
    }
    const char *from = rsp_profile_state_name(expect_state), *to = rsp_profile_state_name(p->state);
    /* the variant that leaves the indexed keys alone first, then (nothing changed: other keys,
     * or a lost compare-and-set) the whole row */
    for (int v = 0; v < 2; v++) {
        sqlite3_stmt *q = Q(s, v ? Q_PROFILE_CAS : Q_PROFILE_CAS_SAME_KEYS);
        if (!q) {
            rollback(s);
            return RSP_EIO;
        }
        rc = profile_cas_run(q, p, from, to, expect_version);
        if (rc || sqlite3_changes(s->db) > 0)
            break;
    }
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = cas_lost(s, Q_PROFILE_EXISTS, p->iccid);
    if (rc == 0 && expect_state != p->state) {
        fault(s, "profile_cas:after_update");
        rc = audit_add(s, "profile", p->iccid, from, to, actor, subject, reason);
    }
    if (rc) {
        rollback(s);
        return rc;
    }
    return commit(s);
}

/* Binds and runs Q_PROFILE_CAS or Q_PROFILE_CAS_SAME_KEYS (the same parameters). */
static int profile_cas_run(sqlite3_stmt *q, const struct rsp_profile *p, const char *from,
                           const char *to, int64_t expect_version)
{
    bind_text(q, 1, p->iccid);
    bind_text(q, 2, p->imsi);
    bind_text(q, 3, p->profile_type);
    bind_text(q, 4, p->spn);
    bind_text(q, 5, p->name);
    sqlite3_bind_int(q, 6, (int)p->pclass);
    bind_text(q, 7, p->owner);
    bind_text(q, 8, p->operator_);
    sqlite3_bind_blob(q, 9, p->package_sha256, sizeof p->package_sha256, SQLITE_TRANSIENT);
    bind_text(q, 10, p->package_path);
    bind_text(q, 11, to);
    sqlite3_bind_int64(q, 12, now_s());
    bind_text(q, 13, p->eid);
    bind_text(q, 14, p->matching_id);
    bind_blob_or_null(q, 15, p->cc_hash, p->cc_set ? sizeof p->cc_hash : 0);
    sqlite3_bind_int(q, 16, (int)p->cc_attempts);
    sqlite3_bind_int(q, 17, (int)p->cc_max_attempts);
    sqlite3_bind_int(q, 18, (int)p->download_attempts);
    sqlite3_bind_int(q, 19, p->release_flag);
    bind_text(q, 20, p->smds_address);
    bind_text(q, 21, p->error_reason);
    bind_text(q, 22, from);
    sqlite3_bind_int64(q, 23, expect_version);
    return run(q);
}

/* ---- sessions ---- */

static void bind_session(sqlite3_stmt *q, const struct rsp_session *x)
{
    bind_text(q, 1, x->tid);
    if (x->iccid[0])
        bind_text(q, 2, x->iccid);
    else
        sqlite3_bind_null(q, 2);
    bind_text(q, 3, x->eid);
    bind_text(q, 4, rsp_session_state_name(x->state));
    sqlite3_bind_blob(q, 5, x->server_challenge, sizeof x->server_challenge, SQLITE_TRANSIENT);
    sqlite3_bind_blob(q, 6, x->euicc_challenge, sizeof x->euicc_challenge, SQLITE_TRANSIENT);
    sqlite3_bind_int(q, 7, x->curve);
    bind_blob_or_null(q, 8, x->ci_pkid, x->ci_pkid_len);
    bind_blob_or_null(q, 9, x->otpk_euicc.data, x->otpk_euicc.len);
    bind_blob_or_null(q, 10, x->bpp.data, x->bpp.len);
    sqlite3_bind_int64(q, 11, x->expires_at);
    bind_blob_or_null(q, 15, x->euicc_cert.data, x->euicc_cert.len);
    sqlite3_bind_blob(q, 16, x->euicc_sig1, sizeof x->euicc_sig1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(q, 17, x->smdp_sig2, sizeof x->smdp_sig2, SQLITE_TRANSIENT);
}

static int sq_session_insert(struct rsp_store *st, const struct rsp_session *x, const char *actor)
{
    struct sq_store *s = SQ(st);
    int64_t now = now_s();
    int rc = begin(s);
    if (rc)
        return rc;
    sqlite3_stmt *q = Q(s, Q_SESSION_INSERT);
    if (!q) {
        rollback(s);
        return RSP_EIO;
    }
    bind_session(q, x);
    sqlite3_bind_int64(q, 12, now);
    sqlite3_bind_int64(q, 13, now);
    rc = run(q);
    if (rc == 0) {
        fault(s, "session_insert:after_insert");
        char subject[RSP_AUDIT_SUBJECT_MAX + 1];
        eid_subject(s, x->eid, subject);
        rc = audit_add(s, "session", x->tid, "", rsp_session_state_name(x->state), actor, subject,
                       "created");
    }
    if (rc) {
        rollback(s);
        return rc;
    }
    return commit(s);
}

static int sq_session_get(struct rsp_store *st, const char *tid, struct rsp_session *out)
{
    sqlite3_stmt *q = Q(SQ(st), Q_SESSION_GET);
    if (!q)
        return RSP_EIO;
    bind_text(q, 1, tid);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        /* keep the caller's buffers (initialised by rsp_session_init), reset everything else */
        struct rsp_buf otpk = out->otpk_euicc, bpp = out->bpp, cert = out->euicc_cert;
        memset(out, 0, sizeof *out);
        out->otpk_euicc = otpk;
        out->bpp = bpp;
        out->euicc_cert = cert;
        col_text(q, 0, out->tid, sizeof out->tid);
        col_text(q, 1, out->iccid, sizeof out->iccid);
        col_text(q, 2, out->eid, sizeof out->eid);
        rsp_session_state_from_name((const char *)sqlite3_column_text(q, 3), &out->state);
        col_blob(q, 4, out->server_challenge, sizeof out->server_challenge);
        col_blob(q, 5, out->euicc_challenge, sizeof out->euicc_challenge);
        out->curve = sqlite3_column_int(q, 6);
        out->ci_pkid_len = col_blob(q, 7, out->ci_pkid, sizeof out->ci_pkid);
        rc = col_buf(q, 8, &out->otpk_euicc);
        if (rc == 0)
            rc = col_buf(q, 9, &out->bpp);
        out->expires_at = sqlite3_column_int64(q, 10);
        out->created_at = sqlite3_column_int64(q, 11);
        out->updated_at = sqlite3_column_int64(q, 12);
        out->version = sqlite3_column_int64(q, 13);
        if (rc == 0)
            rc = col_buf(q, 14, &out->euicc_cert);
        col_blob(q, 15, out->euicc_sig1, sizeof out->euicc_sig1);
        col_blob(q, 16, out->smdp_sig2, sizeof out->smdp_sig2);
    } else {
        rc = rc == SQLITE_DONE ? RSP_ENOTFOUND : map_rc(rc);
    }
    sqlite3_reset(q);
    return rc;
}

static int sq_session_find_bound(struct rsp_store *st, const char *iccid, struct rsp_session *out)
{
    sqlite3_stmt *q = Q(SQ(st), Q_SESSION_FIND_BOUND);
    if (!q)
        return RSP_EIO;
    bind_text(q, 1, iccid);
    char tid[2 * RSP_TID_MAX + 1] = "";
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        col_text(q, 0, tid, sizeof tid);
    rc = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? RSP_ENOTFOUND : map_rc(rc);
    sqlite3_reset(q);
    return rc ? rc : sq_session_get(st, tid, out);
}

static int sq_session_cas(struct rsp_store *st, const struct rsp_session *x,
                          enum rsp_session_state expect_state, int64_t expect_version,
                          const char *actor, const char *reason)
{
    struct sq_store *s = SQ(st);
    int rc = begin(s);
    if (rc)
        return rc;
    /* keeping the iccid first, then (nothing changed) the whole row, as in sq_profile_cas */
    int64_t now = now_s();
    for (int v = 0; v < 2; v++) {
        sqlite3_stmt *q = Q(s, v ? Q_SESSION_CAS : Q_SESSION_CAS_SAME_ICCID);
        if (!q) {
            rollback(s);
            return RSP_EIO;
        }
        bind_session(q, x);
        sqlite3_bind_int64(q, 12, now);
        bind_text(q, 13, rsp_session_state_name(expect_state));
        sqlite3_bind_int64(q, 14, expect_version);
        rc = run(q);
        if (rc || sqlite3_changes(s->db) > 0)
            break;
    }
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = cas_lost(s, Q_SESSION_EXISTS, x->tid);
    if (rc == 0 && expect_state != x->state) {
        fault(s, "session_cas:after_update");
        char subject[RSP_AUDIT_SUBJECT_MAX + 1];
        eid_subject(s, x->eid, subject);
        rc = audit_add(s, "session", x->tid, rsp_session_state_name(expect_state),
                       rsp_session_state_name(x->state), actor, subject, reason);
    }
    if (rc) {
        rollback(s);
        return rc;
    }
    return commit(s);
}

/* One expired session in one transaction; *done is 1 when it was expired here. */
static int sweep_one(struct sq_store *s, const char *tid, int64_t now, int *done)
{
    char iccid[21] = "";
    const char *from = "";
    char from_buf[16] = "";
    char subject[RSP_AUDIT_SUBJECT_MAX + 1] = "";
    *done = 0;
    int rc = begin(s);
    if (rc)
        return rc;
    /* Read the state before the update, inside the write transaction. */
    struct rsp_session cur;
    rsp_session_init(&cur);
    rc = sq_session_get(&s->base, tid, &cur);
    if (rc == 0) {
        snprintf(from_buf, sizeof from_buf, "%s", rsp_session_state_name(cur.state));
        from = from_buf;
        snprintf(iccid, sizeof iccid, "%s", cur.iccid);
        eid_subject(s, cur.eid, subject);
    }
    rsp_session_free(&cur);
    sqlite3_stmt *q = rc ? NULL : Q(s, Q_SWEEP_SESSION);
    if (!rc && !q)
        rc = RSP_EIO;
    if (rc == 0) {
        bind_text(q, 1, tid);
        sqlite3_bind_int64(q, 2, now);
        rc = run(q);
        *done = rc == 0 && sqlite3_changes(s->db) == 1;
    }
    if (rc == 0 && *done) {
        rc = audit_add(s, "session", tid, from, "Expired", "sweeper", subject,
                       "session lifetime over");
        fault(s, "sweep:after_session");
    }
    if (rc == 0 && *done && iccid[0]) {
        /* Rollback rule (store.h): Downloaded -> Released, unless another live session. */
        if (rsp_profile_transition_check(RSP_PROFILE_DOWNLOADED, RSP_PROFILE_RELEASED) != 0)
            rc = RSP_ESTATE;
        q = rc ? NULL : Q(s, Q_SWEEP_PROFILE);
        if (!rc && !q)
            rc = RSP_EIO;
        if (rc == 0) {
            bind_text(q, 1, iccid);
            bind_text(q, 2, tid);
            sqlite3_bind_int64(q, 3, now_s());
            rc = run(q);
            if (rc == 0 && sqlite3_changes(s->db) == 1)
                rc = audit_add(s, "profile", iccid, "Downloaded", "Released", "sweeper", subject,
                               "download session expired");
        }
    }
    if (rc) {
        rollback(s);
        *done = 0;
        return rc;
    }
    return commit(s);
}

static int sq_sweep_expired(struct rsp_store *st, int64_t now, unsigned *n_expired)
{
    struct sq_store *s = SQ(st);
    *n_expired = 0;
    for (;;) {
        char tids[64][2 * RSP_TID_MAX + 1];
        size_t n = 0;
        sqlite3_stmt *q = Q(s, Q_SWEEP_LIST);
        if (!q)
            return RSP_EIO;
        sqlite3_bind_int64(q, 1, now);
        int rc;
        while ((rc = sqlite3_step(q)) == SQLITE_ROW && n < 64)
            col_text(q, 0, tids[n++], sizeof tids[0]);
        sqlite3_reset(q);
        if (rc != SQLITE_DONE && rc != SQLITE_ROW)
            return map_rc(rc);
        unsigned swept = 0;
        for (size_t i = 0; i < n; i++) {
            int done;
            rc = sweep_one(s, tids[i], now, &done);
            if (rc && rc != RSP_ESTATE)
                return rc;
            swept += done;
        }
        *n_expired += swept;
        if (n < 64 || swept == 0)
            return 0;
    }
}

static void read_audit(sqlite3_stmt *q, struct rsp_audit_entry *e)
{
    memset(e, 0, sizeof *e);
    e->seq = sqlite3_column_int64(q, 0);
    e->at = sqlite3_column_int64(q, 1);
    col_text(q, 2, e->entity, sizeof e->entity);
    col_text(q, 3, e->key, sizeof e->key);
    col_text(q, 4, e->from, sizeof e->from);
    col_text(q, 5, e->to, sizeof e->to);
    col_text(q, 6, e->actor, sizeof e->actor);
    col_text(q, 7, e->subject, sizeof e->subject);
    col_text(q, 8, e->reason, sizeof e->reason);
    /* a missing or mis-sized hash reads as zeros: the verifier reports the record */
    col_blob(q, 9, e->prev, sizeof e->prev);
    col_blob(q, 10, e->hash, sizeof e->hash);
    /* An over-long text (edited in the database) must not pass as its cut copy: make it fail the
     * canonical check instead. */
    static const struct {
        int col;
        size_t cap;
    } texts[] = {{2, sizeof e->entity}, {3, sizeof e->key},   {4, sizeof e->from},
                 {5, sizeof e->to},     {6, sizeof e->actor}, {7, sizeof e->subject},
                 {8, sizeof e->reason}};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if ((size_t)sqlite3_column_bytes(q, texts[i].col) >= texts[i].cap)
            e->entity[0] = '\x01';
}

static int sq_audit_list(struct rsp_store *st, const char *key, struct rsp_audit_entry *out,
                         size_t max, size_t *n)
{
    sqlite3_stmt *q = Q(SQ(st), Q_AUDIT_LIST);
    if (!q)
        return RSP_EIO;
    bind_text(q, 1, key);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)max);
    int rc;
    *n = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        read_audit(q, &out[(*n)++]);
    sqlite3_reset(q);
    return map_rc(rc);
}

static int sq_audit_append(struct rsp_store *st, struct rsp_audit_entry *e)
{
    struct sq_store *s = SQ(st);
    int rc = begin(s);
    if (rc)
        return rc;
    rc = audit_add_entry(s, e);
    if (rc) {
        rollback(s);
        return rc;
    }
    return commit(s);
}

static int sq_audit_head(struct rsp_store *st, struct rsp_audit_head *out)
{
    struct sq_store *s = SQ(st);
    if (s->call_head) { /* inside a call that appended: the head it will store */
        *out = s->head_cache;
        return 0;
    }
    return read_head(s, out);
}

/* Walks with a statement of its own: the callback may use this connection meanwhile. */
static int sq_audit_walk(struct rsp_store *st, int64_t from, int64_t to, rsp_store_audit_cb cb,
                         void *arg)
{
    struct sq_store *s = SQ(st);
    sqlite3_stmt *q = NULL;
    const char *sql = stmt_sql[from <= 0 ? Q_AUDIT_WALK_ALL : Q_AUDIT_WALK];
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return RSP_EIO;
    if (from <= 0) {
        sqlite3_bind_int64(q, 1, to);
    } else {
        sqlite3_bind_int64(q, 1, from);
        sqlite3_bind_int64(q, 2, to);
    }
    int rc, stop = 0;
    struct rsp_audit_entry e;
    while (stop == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        read_audit(q, &e);
        stop = cb(arg, &e);
    }
    sqlite3_finalize(q);
    return stop ? stop : map_rc(rc);
}

static int sq_audit_last(struct rsp_store *st, const char *entity, const char *key,
                         struct rsp_audit_entry *out)
{
    sqlite3_stmt *q = Q(SQ(st), Q_AUDIT_LAST);
    if (!q)
        return RSP_EIO;
    bind_text(q, 1, key);
    bind_text(q, 2, entity);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        read_audit(q, out);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? RSP_ENOTFOUND : map_rc(rc);
    }
    sqlite3_reset(q);
    return rc;
}

/* The stored hash of the record at seq (1 found, 0 not found, negative). */
static int hash_at(struct sq_store *s, int64_t seq, uint8_t out[32])
{
    sqlite3_stmt *q = Q(s, Q_AUDIT_HASH_AT);
    if (!q)
        return RSP_EIO;
    sqlite3_bind_int64(q, 1, seq);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        rc = col_blob(q, 0, out, 32) == 32 ? 1 : 0;
    else
        rc = rc == SQLITE_DONE ? 0 : map_rc(rc);
    sqlite3_reset(q);
    return rc;
}

static int sq_audit_checkpoint_add(struct rsp_store *st, const struct rsp_audit_checkpoint *cp)
{
    struct sq_store *s = SQ(st);
    int rc = begin(s);
    if (rc)
        return rc;
    uint8_t have[32];
    sqlite3_stmt *q = Q(s, Q_CHECKPOINT_EXISTS);
    if (!q)
        rc = RSP_EIO;
    else {
        sqlite3_bind_int64(q, 1, cp->seq);
        rc = sqlite3_step(q);
        rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : map_rc(rc);
        sqlite3_reset(q);
    }
    if (rc == 0) {
        rc = hash_at(s, cp->seq, have);
        rc = rc == 1   ? (memcmp(have, cp->hash, 32) == 0 ? 0 : RSP_ESTATE)
             : rc == 0 ? RSP_ESTATE
                       : rc;
    }
    if (rc == 0) {
        q = Q(s, Q_CHECKPOINT_ADD);
        if (!q) {
            rc = RSP_EIO;
        } else {
            sqlite3_bind_int64(q, 1, cp->seq);
            sqlite3_bind_blob(q, 2, cp->hash, sizeof cp->hash, SQLITE_TRANSIENT);
            sqlite3_bind_int64(q, 3, cp->at);
            sqlite3_bind_blob(q, 4, cp->key_id, sizeof cp->key_id, SQLITE_TRANSIENT);
            sqlite3_bind_blob(q, 5, cp->sig, sizeof cp->sig, SQLITE_TRANSIENT);
            rc = run(q);
        }
    }
    if (rc < 0) {
        rollback(s);
        return rc;
    }
    int c = commit(s);
    return c ? c : rc;
}

static int sq_audit_checkpoint_walk(struct rsp_store *st, rsp_store_checkpoint_cb cb, void *arg)
{
    struct sq_store *s = SQ(st);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, stmt_sql[Q_CHECKPOINT_LIST], -1, &q, NULL) != SQLITE_OK)
        return RSP_EIO;
    int rc, stop = 0;
    struct rsp_audit_checkpoint cp;
    while (stop == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        memset(&cp, 0, sizeof cp);
        cp.seq = sqlite3_column_int64(q, 0);
        col_blob(q, 1, cp.hash, sizeof cp.hash);
        cp.at = sqlite3_column_int64(q, 2);
        col_blob(q, 3, cp.key_id, sizeof cp.key_id);
        col_blob(q, 4, cp.sig, sizeof cp.sig);
        stop = cb(arg, &cp);
    }
    sqlite3_finalize(q);
    return stop ? stop : map_rc(rc);
}

static int sq_audit_export_mark(struct rsp_store *st, int64_t first, int64_t last,
                                const uint8_t sha256[32], const char *actor)
{
    struct sq_store *s = SQ(st);
    int rc = begin(s);
    if (rc)
        return rc;
    struct rsp_audit_head h;
    rc = read_head(s, &h);
    if (rc == 0 && (last > h.seq || first <= h.base_seq))
        rc = RSP_EINVAL;
    sqlite3_stmt *q = rc ? NULL : Q(s, Q_EXPORT_ADD);
    if (rc == 0 && !q)
        rc = RSP_EIO;
    if (rc == 0) {
        sqlite3_bind_int64(q, 1, first);
        sqlite3_bind_int64(q, 2, last);
        sqlite3_bind_blob(q, 3, sha256, 32, SQLITE_TRANSIENT);
        sqlite3_bind_int64(q, 4, now_s());
        rc = run(q);
    }
    if (rc == 0) {
        char key[48], hex[65], reason[160];
        snprintf(key, sizeof key, "%lld-%lld", (long long)first, (long long)last);
        rsp_hex_str(hex, sha256, 32, 0);
        snprintf(reason, sizeof reason, "records %lld..%lld archived, archive sha256 %s",
                 (long long)first, (long long)last, hex);
        rc = audit_add(s, "audit-export", key, "", "Exported", actor, "", reason);
    }
    if (rc) {
        rollback(s);
        return rc;
    }
    return commit(s);
}

/* 1 when the exports cover every seq in [from, to], 0 if not, negative on failure. */
static int exports_cover(struct sq_store *s, int64_t from, int64_t to)
{
    sqlite3_stmt *q = Q(s, Q_EXPORT_LIST);
    if (!q)
        return RSP_EIO;
    int64_t next = from; /* first seq not yet covered */
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW && next <= to) {
        int64_t a = sqlite3_column_int64(q, 0), b = sqlite3_column_int64(q, 1);
        if (a <= next && b >= next)
            next = b + 1;
    }
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return map_rc(rc);
    return next > to;
}

static int sq_audit_prune(struct rsp_store *st, int64_t through, const char *actor,
                          int64_t *n_removed, const char **why)
{
    struct sq_store *s = SQ(st);
    int rc = begin(s);
    if (rc)
        return rc;
    struct rsp_audit_head h;
    uint8_t cp_hash[32], rec_hash[32];
    rc = read_head(s, &h);
    if (rc == 0 && (through <= h.base_seq || through > h.seq)) {
        *why = "SEQ must lie between the current base and the chain head";
        rc = RSP_ESTATE;
    }
    sqlite3_stmt *q = rc ? NULL : Q(s, Q_CHECKPOINT_GET);
    if (rc == 0 && !q)
        rc = RSP_EIO;
    if (rc == 0) {
        sqlite3_bind_int64(q, 1, through);
        rc = sqlite3_step(q);
        rc = rc == SQLITE_ROW && col_blob(q, 0, cp_hash, 32) == 32 ? 0
             : rc == SQLITE_ROW || rc == SQLITE_DONE               ? RSP_ESTATE
                                                                   : map_rc(rc);
        sqlite3_reset(q);
        if (rc == RSP_ESTATE)
            *why = "SEQ has no checkpoint (prune only through a checkpointed record)";
    }
    if (rc == 0) {
        rc = hash_at(s, through, rec_hash);
        if (rc == 1 && memcmp(rec_hash, cp_hash, 32) == 0)
            rc = 0;
        else if (rc >= 0) {
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
    if (rc == 0) {
        q = Q(s, Q_PRUNE_RECORDS);
        if (!q)
            rc = RSP_EIO;
        else {
            sqlite3_bind_int64(q, 1, through);
            rc = run(q);
            *n_removed = sqlite3_changes64(s->db);
        }
    }
    if (rc == 0) {
        fault(s, "prune:after_delete");
        q = Q(s, Q_PRUNE_CHECKPOINTS);
        if (!q)
            rc = RSP_EIO;
        else {
            sqlite3_bind_int64(q, 1, through);
            rc = run(q);
        }
    }
    if (rc == 0) {
        q = Q(s, Q_PRUNE_BASE);
        if (!q)
            rc = RSP_EIO;
        else {
            sqlite3_bind_int64(q, 1, through);
            sqlite3_bind_blob(q, 2, cp_hash, 32, SQLITE_TRANSIENT);
            rc = run(q);
        }
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
    if (rc) {
        rollback(s);
        *n_removed = 0;
        return rc;
    }
    rc = commit(s);
    if (rc)
        *n_removed = 0;
    return rc;
}

static int sq_outbox_add(struct rsp_store *st, struct rsp_outbox_item *it)
{
    struct sq_store *s = SQ(st);
    sqlite3_stmt *q = Q(s, Q_OUTBOX_ADD);
    if (!q)
        return RSP_EIO;
    bind_text(q, 1, it->iccid);
    bind_text(q, 2, it->url);
    bind_text(q, 3, it->body);
    sqlite3_bind_int64(q, 4, it->next_attempt_at);
    sqlite3_bind_int64(q, 5, now_s());
    int rc = run(q);
    if (rc == 0) {
        it->id = sqlite3_last_insert_rowid(s->db);
        it->attempts = 0;
    }
    return rc;
}

static int sq_outbox_next_due(struct rsp_store *st, int64_t now, struct rsp_outbox_item *out)
{
    sqlite3_stmt *q = Q(SQ(st), Q_OUTBOX_DUE);
    if (!q)
        return RSP_EIO;
    sqlite3_bind_int64(q, 1, now);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        out->id = sqlite3_column_int64(q, 0);
        col_text(q, 1, out->iccid, sizeof out->iccid);
        col_text(q, 2, out->url, sizeof out->url);
        col_text(q, 3, out->body, sizeof out->body);
        out->attempts = (unsigned)sqlite3_column_int(q, 4);
        out->next_attempt_at = sqlite3_column_int64(q, 5);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? RSP_ENOTFOUND : map_rc(rc);
    }
    sqlite3_reset(q);
    return rc;
}

static int sq_outbox_done(struct rsp_store *st, int64_t id)
{
    struct sq_store *s = SQ(st);
    sqlite3_stmt *q = Q(s, Q_OUTBOX_DONE);
    if (!q)
        return RSP_EIO;
    sqlite3_bind_int64(q, 1, id);
    int rc = run(q);
    return rc ? rc : sqlite3_changes(s->db) ? 0 : RSP_ENOTFOUND;
}

static int sq_outbox_retry(struct rsp_store *st, int64_t id, int64_t next_attempt_at)
{
    struct sq_store *s = SQ(st);
    sqlite3_stmt *q = Q(s, Q_OUTBOX_RETRY);
    if (!q)
        return RSP_EIO;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, next_attempt_at);
    int rc = run(q);
    return rc ? rc : sqlite3_changes(s->db) ? 0 : RSP_ENOTFOUND;
}

/* ---- telemetry (branch tele) ---- */

static void bind_labels(sqlite3_stmt *q, int first, const struct rsp_tele_labels *l)
{
    bind_text(q, first, l->tac);
    bind_text(q, first + 1, l->eum);
    bind_text(q, first + 2, l->profile_type);
    bind_text(q, first + 3, l->campaign);
    bind_text(q, first + 4, l->country);
}

static void col_labels(sqlite3_stmt *q, int first, struct rsp_tele_labels *l)
{
    col_text(q, first, l->tac, sizeof l->tac);
    col_text(q, first + 1, l->eum, sizeof l->eum);
    col_text(q, first + 2, l->profile_type, sizeof l->profile_type);
    col_text(q, first + 3, l->campaign, sizeof l->campaign);
    col_text(q, first + 4, l->country, sizeof l->country);
}

/* Empty labels of r from the session row of r->tid (when there is one). */
static int tele_fill_labels(struct sq_store *s, struct rsp_tele_record *r)
{
    sqlite3_stmt *q = Q(s, Q_TELE_SESSION_LABELS);
    if (!q)
        return RSP_EIO;
    bind_text(q, 1, r->tid);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        struct rsp_tele_labels have;
        col_labels(q, 0, &have);
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
        rc = SQLITE_DONE;
    }
    rc = map_rc(rc);
    sqlite3_reset(q);
    return rc;
}

/* +1 in the series and total rows of (fn, outcome) with this latency. */
static int tele_count(struct sq_store *s, int64_t period, const char *fn, const char *outcome,
                      const struct rsp_tele_labels *l, uint64_t latency_us)
{
    int rc = 0;
    for (int i = 0; rc == 0 && i < 2; i++) {
        sqlite3_stmt *q = Q(s, i ? Q_TELE_TOTAL_ADD : Q_TELE_SERIES_ADD);
        if (!q)
            return RSP_EIO;
        if (!i) {
            sqlite3_bind_int64(q, 1, period);
            bind_labels(q, 4, l);
        }
        bind_text(q, 2, fn);
        bind_text(q, 3, outcome);
        sqlite3_bind_int64(q, 9, (sqlite3_int64)latency_us);
        sqlite3_bind_int(q, 10, (int)rsp_tele_bucket(latency_us));
        rc = run(q);
    }
    return rc;
}

static int sq_tele_record(struct rsp_store *st, struct rsp_tele_record *r, int64_t period_s)
{
    struct sq_store *s = SQ(st);
    int rc = begin(s);
    if (rc)
        return rc;
    if (r->tid[0])
        rc = tele_fill_labels(s, r);
    int64_t at = r->at_ms / 1000, period = at - at % period_s;
    sqlite3_stmt *q = rc ? NULL : Q(s, Q_TELE_CALL_ADD);
    if (rc == 0 && !q)
        rc = RSP_EIO;
    if (rc == 0) {
        sqlite3_bind_int64(q, 1, r->at_ms);
        bind_text(q, 2, r->fn);
        bind_text(q, 3, r->outcome);
        sqlite3_bind_int64(q, 4, (sqlite3_int64)r->latency_us);
        bind_text(q, 5, r->tid);
        bind_labels(q, 6, &r->labels);
        rc = run(q);
    }
    if (rc == 0)
        rc = tele_count(s, period, r->fn, r->outcome, &r->labels, r->latency_us);
    if (rc == 0 && r->event[0])
        rc = tele_count(s, period, RSP_TELE_FN_SESSION, r->event, &r->labels, 0);
    if (rc == 0 && r->tid[0]) {
        bool is_new = strcmp(r->event, RSP_TELE_EV_STARTED) == 0;
        q = Q(s, is_new ? Q_TELE_SESSION_NEW : Q_TELE_SESSION_SET);
        if (!q) {
            rc = RSP_EIO;
        } else {
            bind_text(q, 1, r->tid);
            sqlite3_bind_int64(q, 2, at);
            bind_labels(q, 3, &r->labels);
            bind_text(q, 8, r->subject);
            bind_text(q, 9, r->fn);
            bind_text(q, 10, r->event);
            rc = run(q);
        }
    }
    if (rc) {
        rollback(s);
        return rc;
    }
    return commit(s);
}

static void read_series(sqlite3_stmt *q, struct rsp_tele_series *x)
{
    memset(x, 0, sizeof *x);
    x->period = sqlite3_column_int64(q, 0);
    col_text(q, 1, x->fn, sizeof x->fn);
    col_text(q, 2, x->outcome, sizeof x->outcome);
    col_labels(q, 3, &x->labels);
    x->n = sqlite3_column_int64(q, 8);
    x->sum_us = sqlite3_column_int64(q, 9);
    for (int i = 0; i < RSP_TELE_NBUCKETS; i++)
        x->bucket[i] = sqlite3_column_int64(q, 10 + i);
}

static int tele_walk(struct sq_store *s, enum stmt_id id, int64_t from, int64_t to,
                     rsp_store_tele_cb cb, void *arg)
{
    sqlite3_stmt *q = Q(s, id);
    if (!q)
        return RSP_EIO;
    if (id == Q_TELE_SERIES) {
        sqlite3_bind_int64(q, 1, from);
        sqlite3_bind_int64(q, 2, to);
    }
    int rc, stop = 0;
    while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct rsp_tele_series x;
        read_series(q, &x);
        stop = cb(arg, &x);
    }
    if (!stop)
        stop = map_rc(rc);
    sqlite3_reset(q);
    return stop;
}

static int sq_tele_totals(struct rsp_store *st, rsp_store_tele_cb cb, void *arg)
{
    return tele_walk(SQ(st), Q_TELE_TOTALS, 0, 0, cb, arg);
}

static int sq_tele_series(struct rsp_store *st, int64_t from, int64_t to, rsp_store_tele_cb cb,
                          void *arg)
{
    return tele_walk(SQ(st), Q_TELE_SERIES, from, to, cb, arg);
}

static int sq_tele_session_get(struct rsp_store *st, const char *tid, struct rsp_tele_session *out)
{
    sqlite3_stmt *q = Q(SQ(st), Q_TELE_SESSION_GET);
    if (!q)
        return RSP_EIO;
    bind_text(q, 1, tid);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        col_text(q, 0, out->tid, sizeof out->tid);
        out->started_at = sqlite3_column_int64(q, 1);
        out->updated_at = sqlite3_column_int64(q, 2);
        col_labels(q, 3, &out->labels);
        col_text(q, 8, out->subject, sizeof out->subject);
        col_text(q, 9, out->stage, sizeof out->stage);
        col_text(q, 10, out->result, sizeof out->result);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? RSP_ENOTFOUND : map_rc(rc);
    }
    sqlite3_reset(q);
    return rc;
}

static int sq_tele_sweep(struct rsp_store *st, int64_t calls_before_ms, int64_t series_before,
                         int64_t *n_removed)
{
    struct sq_store *s = SQ(st);
    int rc = begin(s);
    const struct {
        enum stmt_id id;
        int64_t before;
    } steps[] = {{Q_TELE_SWEEP_CALLS, calls_before_ms},
                 {Q_TELE_SWEEP_SESSIONS, calls_before_ms / 1000},
                 {Q_TELE_SWEEP_SERIES, series_before}};
    *n_removed = 0;
    for (size_t i = 0; rc == 0 && i < sizeof steps / sizeof steps[0]; i++) {
        if (steps[i].before <= 0)
            continue;
        sqlite3_stmt *q = Q(s, steps[i].id);
        if (!q) {
            rc = RSP_EIO;
            break;
        }
        sqlite3_bind_int64(q, 1, steps[i].before);
        rc = run(q);
        if (rc == 0)
            *n_removed += sqlite3_changes(s->db);
    }
    if (rc) {
        rollback(s);
        return rc;
    }
    return commit(s);
}

static void sq_close(struct rsp_store *st)
{
    struct sq_store *s = SQ(st);
    if (s->call)
        sq_call_end(st, false);
    rollback(s);
    if (s->shared)
        sqlite3_wal_hook(s->db, NULL, NULL);
    shared_put(s->shared);
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    for (int i = 0; i < X_CACHE; i++)
        sqlite3_finalize(s->x_stmt[i]);
    sqlite3_close(s->db);
    free(s);
}

static int read_version(sqlite3 *db, int *v);

static int sq_schema_version(struct rsp_store *st)
{
    int v;
    return read_version(SQ(st)->db, &v) ? -1 : v;
}

static const char *sq_last_error(struct rsp_store *st)
{
    return sqlite3_errcode(SQ(st)->db) == SQLITE_OK ? "" : sqlite3_errmsg(SQ(st)->db);
}

static void sq_set_fault_hook(struct rsp_store *st, void (*hook)(const char *point))
{
    SQ(st)->hook = hook;
}

/* ---- branch accept: acceptance runs and requirements ----
 * Rare operator actions: statements prepared per call (not in the cached table). */

#define ACCEPT_COLS                                                                                \
    "id, model, tac, eum, svn, target, started_at, finished_at, passed, failed_step, summary,"     \
    " junit_sha256"

static void read_acceptance(sqlite3_stmt *q, struct rsp_acceptance_run *r)
{
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(q, 0);
    col_text(q, 1, r->model, sizeof r->model);
    col_text(q, 2, r->tac, sizeof r->tac);
    col_text(q, 3, r->eum, sizeof r->eum);
    col_text(q, 4, r->svn, sizeof r->svn);
    col_text(q, 5, r->target, sizeof r->target);
    r->started_at = sqlite3_column_int64(q, 6);
    r->finished_at = sqlite3_column_int64(q, 7);
    r->passed = sqlite3_column_int(q, 8) != 0;
    col_text(q, 9, r->failed_step, sizeof r->failed_step);
    col_text(q, 10, r->summary, sizeof r->summary);
    col_blob(q, 11, r->junit_sha256, sizeof r->junit_sha256);
}

/* The audit reason of a recorded run (both backends write the same text). */
static void acceptance_reason(const struct rsp_acceptance_run *r, char *out, size_t cap)
{
    char h[65];
    rsp_hex_str(h, r->junit_sha256, sizeof r->junit_sha256, 0);
    /* at most 228 bytes: never cut (RSP_AUDIT_REASON_MAX); eum and svn are in the row */
    if (snprintf(out, cap, "junit_sha256=%s target=%s tac=%s%s%s model=%s", h, r->target, r->tac,
                 r->passed ? "" : " failed_step=", r->passed ? "" : r->failed_step, r->model) < 0)
        out[0] = 0;
}

static int sq_acceptance_run_add(struct rsp_store *st, struct rsp_acceptance_run *r,
                                 const char *actor)
{
    struct sq_store *s = SQ(st);
    sqlite3_stmt *q = NULL;
    int rc = begin(s);
    if (rc)
        return rc;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO acceptance_run (model, tac, eum, svn, target, started_at,"
                           " finished_at, passed, failed_step, summary, junit_sha256, recorded_at)"
                           " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &q, NULL) != SQLITE_OK) {
        rollback(s);
        return RSP_EIO;
    }
    bind_text(q, 1, r->model);
    bind_text(q, 2, r->tac);
    bind_text(q, 3, r->eum);
    bind_text(q, 4, r->svn);
    bind_text(q, 5, r->target);
    sqlite3_bind_int64(q, 6, r->started_at);
    sqlite3_bind_int64(q, 7, r->finished_at);
    sqlite3_bind_int(q, 8, r->passed ? 1 : 0);
    bind_text(q, 9, r->failed_step);
    bind_text(q, 10, r->summary);
    sqlite3_bind_blob(q, 11, r->junit_sha256, sizeof r->junit_sha256, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 12, now_s());
    rc = map_rc(sqlite3_step(q));
    sqlite3_finalize(q);
    if (rc == 0) {
        r->id = sqlite3_last_insert_rowid(s->db);
        char key[32], reason[RSP_AUDIT_REASON_MAX + 1];
        snprintf(key, sizeof key, "run:%lld", (long long)r->id);
        acceptance_reason(r, reason, sizeof reason);
        rc =
            audit_add(s, "acceptance", key, "", r->passed ? "passed" : "failed", actor, "", reason);
    }
    if (rc) {
        rollback(s);
        return rc;
    }
    return commit(s);
}

/* Steps a query of ACCEPT_COLS rows into cb (at most max, 0: all). */
static int acceptance_rows(sqlite3_stmt *q, size_t max, rsp_store_acceptance_cb cb, void *arg)
{
    int rc, ret = 0;
    size_t n = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW && (max == 0 || n < max)) {
        struct rsp_acceptance_run r;
        read_acceptance(q, &r);
        n++;
        if ((ret = cb(arg, &r)) != 0)
            return ret;
    }
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : map_rc(rc);
}

static int sq_acceptance_run_list(struct rsp_store *st, const char *model, size_t max,
                                  rsp_store_acceptance_cb cb, void *arg)
{
    struct sq_store *s = SQ(st);
    sqlite3_stmt *q = NULL;
    const char *sql = model ? "SELECT " ACCEPT_COLS " FROM acceptance_run WHERE model = ?1"
                              " OR tac = ?1 ORDER BY id DESC"
                            : "SELECT " ACCEPT_COLS " FROM acceptance_run ORDER BY id DESC";
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return RSP_EIO;
    if (model)
        bind_text(q, 1, model);
    int rc = acceptance_rows(q, max, cb, arg);
    sqlite3_finalize(q);
    return rc;
}

static int copy_run(void *arg, const struct rsp_acceptance_run *r)
{
    *(struct rsp_acceptance_run *)arg = *r;
    return 1;
}

static int sq_acceptance_run_latest(struct rsp_store *st, const char *model,
                                    struct rsp_acceptance_run *out)
{
    int rc = sq_acceptance_run_list(st, model, 1, copy_run, out);
    return rc == 1 ? 0 : rc == 0 ? RSP_ENOTFOUND : rc;
}

static int sq_acceptance_required(struct rsp_store *st, const char *scope, const char *name,
                                  bool *out)
{
    struct sq_store *s = SQ(st);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT 1 FROM acceptance_requirement WHERE scope = ? AND name = ?", -1,
                           &q, NULL) != SQLITE_OK)
        return RSP_EIO;
    bind_text(q, 1, scope);
    bind_text(q, 2, name);
    int rc = sqlite3_step(q);
    *out = rc == SQLITE_ROW;
    sqlite3_finalize(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : map_rc(rc);
}

static int sq_acceptance_require(struct rsp_store *st, const char *scope, const char *name, bool on,
                                 const char *actor, bool *changed)
{
    struct sq_store *s = SQ(st);
    sqlite3_stmt *q = NULL;
    int rc = begin(s);
    if (rc)
        return rc;
    const char *sql = on ? "INSERT OR IGNORE INTO acceptance_requirement (scope, name, created_at,"
                           " actor) VALUES (?,?,?,?)"
                         : "DELETE FROM acceptance_requirement WHERE scope = ? AND name = ?";
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) {
        rollback(s);
        return RSP_EIO;
    }
    bind_text(q, 1, scope);
    bind_text(q, 2, name);
    if (on) {
        sqlite3_bind_int64(q, 3, now_s());
        bind_text(q, 4, actor);
    }
    rc = map_rc(sqlite3_step(q));
    sqlite3_finalize(q);
    *changed = rc == 0 && sqlite3_changes(s->db) == 1;
    if (rc == 0 && *changed) {
        char key[RSP_AUDIT_KEY_MAX + 1];
        snprintf(key, sizeof key, "%s:%s", scope, name);
        rc = audit_add(s, "acceptance-req", key, on ? "" : "required", on ? "required" : "", actor,
                       "", on ? "release requires a passing acceptance run" : "removed");
    }
    if (rc) {
        *changed = false;
        rollback(s);
        return rc;
    }
    return commit(s);
}

/* ---- branch ops: generic statements (rsp_store_param, x_exec) ---- */

static sqlite3_stmt *x_prepare(struct sq_store *s, const char *sql)
{
    for (unsigned i = 0; i < X_CACHE; i++)
        if (s->x_sql[i] == sql && s->x_stmt[i]) {
            sqlite3_reset(s->x_stmt[i]);
            sqlite3_clear_bindings(s->x_stmt[i]);
            return s->x_stmt[i];
        }
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q, NULL) != SQLITE_OK)
        return NULL;
    unsigned i = s->x_next++ % X_CACHE;
    if (s->x_stmt[i])
        sqlite3_finalize(s->x_stmt[i]);
    s->x_sql[i] = sql;
    s->x_stmt[i] = q;
    return q;
}

static int sq_x_begin(struct rsp_store *st)
{
    return begin(SQ(st));
}

static int sq_x_finish(struct rsp_store *st, int rc)
{
    struct sq_store *s = SQ(st);
    if (rc) {
        rollback(s);
        return rc;
    }
    return commit(s);
}

static int sq_x_audit(struct rsp_store *st, struct rsp_audit_entry *e)
{
    return audit_add_entry(SQ(st), e);
}

#define X_MAX_COLS 48

static int sq_x_exec(struct rsp_store *st, const char *sql, const struct rsp_store_param *p, int n,
                     rsp_store_row_cb cb, void *arg, int64_t *changes)
{
    struct sq_store *s = SQ(st);
    sqlite3_stmt *q = x_prepare(s, sql);
    if (!q)
        return RSP_EIO;
    for (int i = 0; i < n; i++) {
        if (p[i].is_int)
            sqlite3_bind_int64(q, i + 1, p[i].i);
        else if (p[i].text)
            sqlite3_bind_text(q, i + 1, p[i].text, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(q, i + 1);
    }
    int rc, r = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (!cb || r)
            continue;
        int nc = sqlite3_column_count(q);
        if (nc > X_MAX_COLS)
            nc = X_MAX_COLS;
        const char *v[X_MAX_COLS];
        for (int i = 0; i < nc; i++)
            v[i] = (const char *)sqlite3_column_text(q, i);
        r = cb(arg, nc, v);
    }
    int out = r ? r : map_rc(rc);
    if (out == 0 && changes)
        *changes = sqlite3_changes(s->db);
    sqlite3_reset(q);
    return out;
}

/* ---- branch recon: reconciliation events, actions, rollbacks, privacy, retention ----
 * Statements prepared per call (these operations are batch or sweeper work, not the hot path). */

static sqlite3_stmt *prep(struct sq_store *s, const char *sql)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return NULL;
    return q;
}

/* Runs a prepared statement to completion and finalizes it; *changes (may be NULL) gets the
 * rows changed. */
static int run_final(struct sq_store *s, sqlite3_stmt *q, int64_t *changes)
{
    if (!q)
        return RSP_EIO;
    int rc = run(q);
    if (rc == 0 && changes)
        *changes = sqlite3_changes(s->db);
    sqlite3_finalize(q);
    return rc;
}

static int sq_recon_import(struct rsp_store *st, const struct rsp_recon_event *ev, size_t n,
                           const char *actor, size_t *inserted)
{
    struct sq_store *s = SQ(st);
    size_t added = 0;
    int rc = begin(s);
    if (rc)
        return rc;
    sqlite3_stmt *q = prep(s, "INSERT INTO recon_events (kind, event_id, iccid, imsi, eid, imei,"
                              " customer, plan, cohort, at, started_at, ok, imported_at) VALUES"
                              " (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING");
    if (!q)
        rc = RSP_EIO;
    int64_t now = now_s();
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct rsp_recon_event *e = &ev[i];
        sqlite3_reset(q);
        bind_text(q, 1, rsp_recon_kind_name(e->kind));
        bind_text(q, 2, e->event_id);
        bind_text(q, 3, e->iccid);
        bind_text(q, 4, e->imsi);
        bind_text(q, 5, e->eid);
        bind_text(q, 6, e->imei);
        bind_text(q, 7, e->customer);
        bind_text(q, 8, e->plan);
        bind_text(q, 9, e->cohort);
        sqlite3_bind_int64(q, 10, e->at);
        sqlite3_bind_int64(q, 11, e->started_at);
        sqlite3_bind_int(q, 12, e->ok ? 1 : 0);
        sqlite3_bind_int64(q, 13, now);
        rc = run(q);
        if (rc == 0)
            added += (size_t)sqlite3_changes(s->db);
    }
    sqlite3_finalize(q);
    if (rc == 0) {
        char reason[96];
        snprintf(reason, sizeof reason, "%zu events, %zu new", n, added);
        rc = audit_add(s, "recon-import", n ? rsp_recon_kind_name(ev[0].kind) : "-", "", "imported",
                       actor, "", reason);
    }
    if (rc) {
        rollback(s);
        return rc;
    }
    rc = commit(s);
    if (rc == 0 && inserted)
        *inserted = added;
    return rc;
}

static void read_event(sqlite3_stmt *q, struct rsp_recon_event *e)
{
    memset(e, 0, sizeof *e);
    char kind[16];
    col_text(q, 0, kind, sizeof kind);
    rsp_recon_kind_from_name(kind, &e->kind);
    col_text(q, 1, e->event_id, sizeof e->event_id);
    col_text(q, 2, e->iccid, sizeof e->iccid);
    col_text(q, 3, e->imsi, sizeof e->imsi);
    col_text(q, 4, e->eid, sizeof e->eid);
    col_text(q, 5, e->imei, sizeof e->imei);
    col_text(q, 6, e->customer, sizeof e->customer);
    col_text(q, 7, e->plan, sizeof e->plan);
    col_text(q, 8, e->cohort, sizeof e->cohort);
    e->at = sqlite3_column_int64(q, 9);
    e->started_at = sqlite3_column_int64(q, 10);
    e->ok = sqlite3_column_int(q, 11) != 0;
}

static int sq_recon_walk(struct rsp_store *st, int kind, rsp_store_recon_cb cb, void *arg)
{
    struct sq_store *s = SQ(st);
    sqlite3_stmt *q = prep(s, kind < 0 ? "SELECT kind, event_id, iccid, imsi, eid, imei, customer,"
                                         " plan, cohort, at, started_at, ok FROM recon_events"
                                         " ORDER BY kind, event_id"
                                       : "SELECT kind, event_id, iccid, imsi, eid, imei, customer,"
                                         " plan, cohort, at, started_at, ok FROM recon_events"
                                         " WHERE kind = ? ORDER BY event_id");
    if (!q)
        return RSP_EIO;
    if (kind >= 0)
        bind_text(q, 1, rsp_recon_kind_name((enum rsp_recon_kind)kind));
    int rc, out = 0;
    struct rsp_recon_event e;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        read_event(q, &e);
        if ((out = cb(arg, &e)) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = map_rc(rc);
    sqlite3_finalize(q);
    return out;
}

static int sq_recon_action_mark(struct rsp_store *st, const char *kind, const char *subject,
                                const char *action, const char *actor)
{
    struct sq_store *s = SQ(st);
    int rc = begin(s);
    if (rc)
        return rc;
    sqlite3_stmt *q = prep(s, "INSERT INTO recon_actions (kind, subject, action, at)"
                              " VALUES (?,?,?,?) ON CONFLICT DO NOTHING");
    int64_t n = 0;
    if (q) {
        bind_text(q, 1, kind);
        bind_text(q, 2, subject);
        bind_text(q, 3, action);
        sqlite3_bind_int64(q, 4, now_s());
    }
    rc = run_final(s, q, &n);
    if (rc == 0 && n == 1)
        rc = audit_add(s, "recon", subject, kind, action, actor, "", "reconciliation action");
    if (rc) {
        rollback(s);
        return rc;
    }
    rc = commit(s);
    return rc ? rc : n == 1 ? 0 : 1;
}

#define ROLLBACK_COLS "id, iccid, kind, failed_at, detail, policy, outcome, opened_at, done_at"

static void read_rollback(sqlite3_stmt *q, struct rsp_rollback *rb)
{
    memset(rb, 0, sizeof *rb);
    rb->id = sqlite3_column_int64(q, 0);
    col_text(q, 1, rb->iccid, sizeof rb->iccid);
    col_text(q, 2, rb->kind, sizeof rb->kind);
    rb->failed_at = sqlite3_column_int64(q, 3);
    col_text(q, 4, rb->detail, sizeof rb->detail);
    col_text(q, 5, rb->policy, sizeof rb->policy);
    col_text(q, 6, rb->outcome, sizeof rb->outcome);
    rb->opened_at = sqlite3_column_int64(q, 7);
    rb->done_at = sqlite3_column_int64(q, 8);
}

static int sq_rollback_open(struct rsp_store *st, struct rsp_rollback *rb, const char *actor)
{
    struct sq_store *s = SQ(st);
    int rc = begin(s);
    if (rc)
        return rc;
    int64_t n = 0;
    rb->opened_at = now_s();
    sqlite3_stmt *q = prep(s, "INSERT INTO rollbacks (iccid, kind, failed_at, detail, policy,"
                              " opened_at) VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING");
    if (q) {
        bind_text(q, 1, rb->iccid);
        bind_text(q, 2, rb->kind);
        sqlite3_bind_int64(q, 3, rb->failed_at);
        bind_text(q, 4, rb->detail);
        bind_text(q, 5, rb->policy);
        sqlite3_bind_int64(q, 6, rb->opened_at);
    }
    rc = run_final(s, q, &n);
    if (rc == 0 && n == 1) {
        char to[40];
        snprintf(to, sizeof to, "open:%s", rb->kind);
        rc = audit_add(s, "rollback", rb->iccid, "", to, actor, "", rb->detail);
    }
    if (rc == 0) {
        q = prep(s, "SELECT " ROLLBACK_COLS " FROM rollbacks WHERE iccid = ? AND kind = ?"
                    " AND failed_at = ?");
        if (!q)
            rc = RSP_EIO;
        else {
            bind_text(q, 1, rb->iccid);
            bind_text(q, 2, rb->kind);
            sqlite3_bind_int64(q, 3, rb->failed_at);
            if (sqlite3_step(q) == SQLITE_ROW)
                read_rollback(q, rb);
            else
                rc = RSP_EIO;
            sqlite3_finalize(q);
        }
    }
    if (rc) {
        rollback(s);
        return rc;
    }
    rc = commit(s);
    return rc ? rc : n == 1 ? 0 : 1;
}

static int sq_rollback_walk(struct rsp_store *st, bool open_only, rsp_store_rollback_cb cb,
                            void *arg)
{
    struct sq_store *s = SQ(st);
    sqlite3_stmt *q =
        prep(s, open_only ? "SELECT " ROLLBACK_COLS " FROM rollbacks WHERE done_at = 0 ORDER BY id"
                          : "SELECT " ROLLBACK_COLS " FROM rollbacks ORDER BY id");
    if (!q)
        return RSP_EIO;
    int rc, out = 0;
    struct rsp_rollback rb;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        read_rollback(q, &rb);
        if ((out = cb(arg, &rb)) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = map_rc(rc);
    sqlite3_finalize(q);
    return out;
}

static int sq_rollback_close(struct rsp_store *st, const struct rsp_rollback *rb, const char *actor)
{
    struct sq_store *s = SQ(st);
    int rc = begin(s);
    if (rc)
        return rc;
    int64_t n = 0;
    sqlite3_stmt *q = prep(s, "UPDATE rollbacks SET policy = ?2, outcome = ?3, done_at = ?4"
                              " WHERE id = ?1 AND done_at = 0");
    if (q) {
        sqlite3_bind_int64(q, 1, rb->id);
        bind_text(q, 2, rb->policy);
        bind_text(q, 3, rb->outcome);
        sqlite3_bind_int64(q, 4, rb->done_at);
    }
    rc = run_final(s, q, &n);
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
    if (rc) {
        rollback(s);
        return rc;
    }
    return commit(s);
}

/* Distinct values of one column for a query with one text parameter, into a bounded list. */
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

static int collect(struct sq_store *s, const char *sql, const char *param, struct strlist *l)
{
    sqlite3_stmt *q = prep(s, sql);
    if (!q)
        return RSP_EIO;
    bind_text(q, 1, param);
    int rc, out = 0;
    char t[RSP_RECON_TEXT_MAX + 1];
    while (out == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        col_text(q, 0, t, sizeof t);
        out = strlist_add(l, t);
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = map_rc(rc);
    sqlite3_finalize(q);
    return out;
}

static int replace_all(struct sq_store *s, const char *sql, const char *from, const char *to,
                       int64_t *n)
{
    int64_t c = 0;
    sqlite3_stmt *q = prep(s, sql);
    if (q) {
        bind_text(q, 1, from);
        bind_text(q, 2, to);
    }
    int rc = run_final(s, q, &c);
    if (n)
        *n += c;
    return rc;
}

static int erase_tx(struct sq_store *s, const char *customer, const char *actor,
                    struct rsp_privacy_counts *out, struct strlist *iccids, struct strlist *eids,
                    struct strlist *imeis)
{
    int rc =
        collect(s, "SELECT DISTINCT iccid FROM recon_events WHERE customer = ?", customer, iccids);
    if (rc)
        return rc;
    /* the activation orders (branch ops) of the customer */
    rc = collect(s, "SELECT DISTINCT iccid FROM activation_orders WHERE customer_ref = ?", customer,
                 iccids);
    if (rc)
        return rc;
    if (iccids->n == 0) {
        /* a customer known only by events without an ICCID, or by an order without one */
        sqlite3_stmt *q = prep(s, "SELECT 1 FROM recon_events WHERE customer = ?1 UNION ALL"
                                  " SELECT 1 FROM activation_orders WHERE customer_ref = ?1"
                                  " LIMIT 1");
        if (!q)
            return RSP_EIO;
        bind_text(q, 1, customer);
        rc = sqlite3_step(q);
        sqlite3_finalize(q);
        if (rc != SQLITE_ROW)
            return RSP_ENOTFOUND;
    }
    rc = collect(s, "SELECT DISTINCT eid FROM activation_orders WHERE customer_ref = ?", customer,
                 eids);
    if (rc == 0)
        rc = collect(s, "SELECT DISTINCT eid FROM recon_events WHERE customer = ?", customer, eids);
    if (rc == 0)
        rc = collect(s, "SELECT DISTINCT imei FROM recon_events WHERE customer = ?", customer,
                     imeis);
    for (size_t i = 0; rc == 0 && i < iccids->n; i++) {
        rc =
            collect(s, "SELECT DISTINCT eid FROM recon_events WHERE iccid = ?", iccids->v[i], eids);
        if (rc == 0)
            rc = collect(s, "SELECT DISTINCT imei FROM recon_events WHERE iccid = ?", iccids->v[i],
                         imeis);
        if (rc == 0)
            rc = collect(s, "SELECT eid FROM profiles WHERE iccid = ?", iccids->v[i], eids);
        if (rc == 0) { /* refuse while a download of the customer is live */
            sqlite3_stmt *q = prep(s, "SELECT 1 FROM profiles WHERE iccid = ? AND state IN"
                                      " ('Linked','Confirmed','Released','Downloaded')");
            if (!q)
                return RSP_EIO;
            bind_text(q, 1, iccids->v[i]);
            int r = sqlite3_step(q);
            sqlite3_finalize(q);
            if (r == SQLITE_ROW)
                return RSP_ESTATE;
        }
    }
    for (size_t i = 0; rc == 0 && i < eids->n; i++) { /* a live order of the same device */
        sqlite3_stmt *q = prep(s, "SELECT 1 FROM profiles WHERE eid = ? AND state IN"
                                  " ('Linked','Confirmed','Released','Downloaded')");
        if (!q)
            return RSP_EIO;
        bind_text(q, 1, eids->v[i]);
        int r = sqlite3_step(q);
        sqlite3_finalize(q);
        if (r == SQLITE_ROW)
            return RSP_ESTATE;
    }
    out->iccids = (int64_t)iccids->n;
    char p[RSP_AUDIT_SUBJECT_MAX + 1];
    for (size_t i = 0; rc == 0 && i < eids->n; i++) {
        rsp_store_subject(&s->base, RSP_PSEUDONYM_EID, eids->v[i], p);
        if (strcmp(p, eids->v[i]) == 0)
            continue; /* already a pseudonym */
        rc = replace_all(s, "UPDATE recon_events SET eid = ?2 WHERE eid = ?1", eids->v[i], p,
                         &out->events);
        if (rc == 0)
            rc = replace_all(s, "UPDATE profiles SET eid = ?2 WHERE eid = ?1", eids->v[i], p,
                             &out->profiles);
        if (rc == 0)
            rc = replace_all(s, "UPDATE sessions SET eid = ?2, euicc_cert = NULL WHERE eid = ?1",
                             eids->v[i], p, &out->sessions);
        if (rc == 0)
            rc = replace_all(s,
                             "UPDATE outbox SET body = replace(body, ?1, ?2)"
                             " WHERE instr(body, ?1) > 0",
                             eids->v[i], p, &out->outbox);
        if (rc == 0)
            rc = replace_all(s, "UPDATE activation_orders SET eid = ?2 WHERE eid = ?1", eids->v[i],
                             p, &out->orders);
        if (rc == 0) /* EUICCInfo2 seen for the device: dropped */
            rc = replace_all(s, "DELETE FROM euicc_info WHERE eid = ?1 OR eid = ?2", eids->v[i], p,
                             NULL);
    }
    if (rc == 0) /* the push channel's reference (a number, an address) of the orders */
        rc = replace_all(s,
                         "UPDATE pushes SET channel_ref = ?2 WHERE channel_ref <> '' AND"
                         " order_id IN (SELECT order_id FROM activation_orders WHERE"
                         " customer_ref = ?1)",
                         customer, "", NULL);
    for (size_t i = 0; rc == 0 && i < imeis->n; i++) {
        rsp_store_subject(&s->base, RSP_PSEUDONYM_IMEI, imeis->v[i], p);
        if (strcmp(p, imeis->v[i]) != 0)
            rc = replace_all(s, "UPDATE recon_events SET imei = ?2 WHERE imei = ?1", imeis->v[i], p,
                             &out->events);
    }
    char cp[RSP_AUDIT_SUBJECT_MAX + 1];
    rsp_store_subject(&s->base, RSP_PSEUDONYM_CUSTOMER, customer, cp);
    if (rc == 0)
        rc = replace_all(s, "UPDATE recon_events SET customer = ?2 WHERE customer = ?1", customer,
                         cp, &out->events);
    if (rc == 0)
        rc =
            replace_all(s, "UPDATE activation_orders SET customer_ref = ?2 WHERE customer_ref = ?1",
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

static int sq_privacy_erase(struct rsp_store *st, const char *customer, const char *actor,
                            struct rsp_privacy_counts *out)
{
    struct sq_store *s = SQ(st);
    memset(out, 0, sizeof *out);
    struct strlist l[3];
    for (int i = 0; i < 3; i++) {
        l[i].n = 0;
        l[i].v = calloc(ERASE_MAX, sizeof l[i].v[0]);
    }
    int rc = l[0].v && l[1].v && l[2].v ? begin(s) : RSP_ENOMEM;
    if (rc == 0) {
        rc = erase_tx(s, customer, actor, out, &l[0], &l[1], &l[2]);
        if (rc)
            rollback(s);
        else
            rc = commit(s);
    }
    for (int i = 0; i < 3; i++)
        free(l[i].v);
    if (rc == 0) /* old page images leave the WAL */
        sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    return rc;
}

static int sq_retention_sweep(struct rsp_store *st, int data_class, int64_t before,
                              const char *actor, int64_t *n_removed)
{
    static const char *const sql[RSP_DATA_NCLASSES] = {
        [RSP_DATA_EVENTS] = "DELETE FROM recon_events WHERE at < ?",
        [RSP_DATA_SESSIONS] = ("DELETE FROM sessions WHERE state IN ('Finished','Cancelled',"
                               "'Expired') AND updated_at < ?"),
        [RSP_DATA_ROLLBACKS] = "DELETE FROM rollbacks WHERE done_at <> 0 AND done_at < ?",
    };
    struct sq_store *s = SQ(st);
    int rc = begin(s);
    if (rc)
        return rc;
    int64_t n = 0;
    sqlite3_stmt *q = prep(s, sql[data_class]);
    if (q)
        sqlite3_bind_int64(q, 1, before);
    rc = run_final(s, q, &n);
    if (rc == 0 && n > 0) {
        char reason[96];
        snprintf(reason, sizeof reason, "%lld rows older than %lld", (long long)n,
                 (long long)before);
        rc = audit_add(s, "retention", rsp_data_class_name((enum rsp_data_class)data_class), "",
                       "deleted", actor, "", reason);
    }
    if (rc) {
        rollback(s);
        return rc;
    }
    rc = commit(s);
    if (rc == 0)
        *n_removed = n;
    return rc;
}

static const struct rsp_store_ops sq_ops = {
    .close = sq_close,
    .profile_insert = sq_profile_insert,
    .profile_get = sq_profile_get,
    .profile_package = sq_profile_package,
    .profile_find_available = sq_profile_find_available,
    .profile_find_available_owned = sq_profile_find_available_owned,
    .profile_find_download = sq_profile_find_download,
    .profile_cas = sq_profile_cas,
    .session_insert = sq_session_insert,
    .session_get = sq_session_get,
    .session_cas = sq_session_cas,
    .session_find_bound = sq_session_find_bound,
    .sweep_expired = sq_sweep_expired,
    .audit_list = sq_audit_list,
    .outbox_add = sq_outbox_add,
    .outbox_next_due = sq_outbox_next_due,
    .outbox_done = sq_outbox_done,
    .outbox_retry = sq_outbox_retry,
    .profile_import = sq_profile_import,
    .profile_manifest = sq_profile_manifest,
    .profile_list = sq_profile_list,
    .schema_version = sq_schema_version,
    .last_error = sq_last_error,
    .set_fault_hook = sq_set_fault_hook,
    .audit_append = sq_audit_append,
    .audit_head = sq_audit_head,
    .audit_walk = sq_audit_walk,
    .audit_last = sq_audit_last,
    .audit_checkpoint_add = sq_audit_checkpoint_add,
    .audit_checkpoint_walk = sq_audit_checkpoint_walk,
    .audit_export_mark = sq_audit_export_mark,
    .audit_prune = sq_audit_prune,
    /* branch accept */
    .acceptance_run_add = sq_acceptance_run_add,
    .acceptance_run_latest = sq_acceptance_run_latest,
    .acceptance_run_list = sq_acceptance_run_list,
    .acceptance_require = sq_acceptance_require,
    .acceptance_required = sq_acceptance_required,
    /* branch ops: generic statements for the activation-operations records */
    .x_begin = sq_x_begin,
    .x_exec = sq_x_exec,
    .x_audit = sq_x_audit,
    .x_finish = sq_x_finish,
    /* branch tele */
    .tele_record = sq_tele_record,
    .tele_totals = sq_tele_totals,
    .tele_series = sq_tele_series,
    .tele_session_get = sq_tele_session_get,
    .tele_sweep = sq_tele_sweep,
    /* branch recon */
    .recon_import = sq_recon_import,
    .recon_walk = sq_recon_walk,
    .recon_action_mark = sq_recon_action_mark,
    .rollback_open = sq_rollback_open,
    .rollback_walk = sq_rollback_walk,
    .rollback_close = sq_rollback_close,
    .privacy_erase = sq_privacy_erase,
    .retention_sweep = sq_retention_sweep,
    /* lead s4: one transaction per protocol call */
    .call_begin = sq_call_begin,
    .call_end = sq_call_end,
};

static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : RSP_EIO;
}

static int read_version(sqlite3 *db, int *v)
{
    sqlite3_stmt *q;
    *v = 0;
    if (sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version", -1, &q, NULL))
        return RSP_EIO;
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        *v = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return rc == SQLITE_ROW ? 0 : RSP_EIO;
}

/* Schema 4: rows written before the chain existed are chained in id order, in the migration's
 * transaction (their text normalised as rsp_audit_entry_set does). The chain proves nothing about
 * what happened to them before this moment (docs/AUDIT.md). */
static int chain_legacy(sqlite3 *db)
{
    sqlite3_stmt *sel = NULL, *upd = NULL, *head = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, entity, key, from_state, to_state, actor, reason, at"
                           " FROM audit WHERE seq IS NULL ORDER BY id",
                           -1, &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "UPDATE audit SET seq=?2, entity=?3, key=?4, from_state=?5,"
                           " to_state=?6, actor=?7, reason=?8, subject='', prev_hash=?9, hash=?10"
                           " WHERE id=?1",
                           -1, &upd, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "UPDATE audit_head SET seq=?1, hash=?2 WHERE id=1", -1, &head,
                           NULL) != SQLITE_OK)
        rc = RSP_EIO;
    int64_t seq = 0;
    uint8_t prev[32] = {0};
    struct rsp_audit_entry e;
    int step = SQLITE_DONE;
    while (rc == 0 && (step = sqlite3_step(sel)) == SQLITE_ROW) {
        char f[7][RSP_AUDIT_REASON_MAX + 1];
        for (int i = 0; i < 6; i++)
            col_text(sel, i + 1, f[i], sizeof f[i]);
        rsp_audit_entry_set(&e, f[0], f[1], f[2], f[3], f[4], "", f[5]);
        e.at = sqlite3_column_int64(sel, 7);
        rc = rsp_audit_seal(&e, seq, prev);
        if (rc)
            break;
        sqlite3_bind_int64(upd, 1, sqlite3_column_int64(sel, 0));
        sqlite3_bind_int64(upd, 2, e.seq);
        bind_text(upd, 3, e.entity);
        bind_text(upd, 4, e.key);
        bind_text(upd, 5, e.from);
        bind_text(upd, 6, e.to);
        bind_text(upd, 7, e.actor);
        bind_text(upd, 8, e.reason);
        sqlite3_bind_blob(upd, 9, e.prev, 32, SQLITE_TRANSIENT);
        sqlite3_bind_blob(upd, 10, e.hash, 32, SQLITE_TRANSIENT);
        rc = run(upd);
        seq = e.seq;
        memcpy(prev, e.hash, 32);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = map_rc(step);
    if (rc == 0 && seq > 0) {
        sqlite3_bind_int64(head, 1, seq);
        sqlite3_bind_blob(head, 2, prev, 32, SQLITE_TRANSIENT);
        rc = run(head);
    }
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    sqlite3_finalize(head);
    return rc;
}

/* Brings the schema to SCHEMA_VERSION in one write transaction (concurrent openers wait). */
static int migrate(sqlite3 *db)
{
    int v, rc = exec(db, "BEGIN IMMEDIATE");
    if (rc)
        return rc;
    rc = exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL,"
                  " applied_at INTEGER NOT NULL)");
    if (rc == 0)
        rc = read_version(db, &v);
    if (rc == 0 && v > SCHEMA_VERSION)
        rc = RSP_ESTATE; /* written by a newer rspkit */
    for (; rc == 0 && v < SCHEMA_VERSION; v++) {
        char sql[128];
        rc = exec(db, migrations[v]);
        if (rc == 0 && v + 1 == AUDIT_CHAIN_VERSION)
            rc = chain_legacy(db);
        snprintf(sql, sizeof sql, "INSERT INTO schema_version VALUES (%d, %lld)", v + 1,
                 (long long)now_s());
        if (rc == 0)
            rc = exec(db, sql);
    }
    if (rc) {
        exec(db, "ROLLBACK");
        return rc;
    }
    return exec(db, "COMMIT");
}

/* journal_mode=WAL answers SQLITE_BUSY at once, without the busy handler, while another
 * connection is creating the same new database (several processes or pool threads starting
 * together): retried for up to BUSY_TIMEOUT_MS. */
static int set_wal(sqlite3 *db)
{
    for (int waited = 0;; waited += 10) {
        int rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return 0;
        if ((rc & 0xff) != SQLITE_BUSY || waited >= BUSY_TIMEOUT_MS)
            return RSP_EIO;
        sqlite3_sleep(10);
    }
}

int rsp_store_sqlite_open(const char *path, struct rsp_store **out)
{
    if (!path || !out)
        return RSP_EINVAL;
    *out = NULL;
    struct sq_store *s = calloc(1, sizeof *s);
    if (!s)
        return RSP_ENOMEM;
    s->base.ops = &sq_ops;
    int rc = 0;
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        rc = RSP_EIO;
    if (rc == 0)
        sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    if (rc == 0)
        rc = set_wal(s->db);
    if (rc == 0)
        rc = exec(s->db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;"
                         " PRAGMA secure_delete=ON"); /* erased data is overwritten */
    if (rc == 0)
        rc = migrate(s->db);
    if (rc == 0 && (s->shared = shared_get(sqlite3_db_filename(s->db, "main"))) != NULL)
        sqlite3_wal_hook(s->db, wal_hook, s->shared); /* checkpoints off the request path */
    if (rc) {
        sq_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

int rsp_store_sqlite_schema_version(struct rsp_store *st)
{
    int v;
    if (!st || read_version(SQ(st)->db, &v))
        return -1;
    return v;
}

void rsp_store_sqlite_set_fault_hook(struct rsp_store *st, void (*hook)(const char *point))
{
    if (st)
        SQ(st)->hook = hook;
}

int rsp_store_sqlite_opener(void *path, struct rsp_store **out)
{
    return rsp_store_sqlite_open((const char *)path, out);
}
