/* libFuzzer target: the ES9+ request handler end to end (src/smdp/es9p.c through
 * rsp_es9p_handle_json: JSON, base64, DER, session and inventory logic) on a real SQLite store.
 *
 * Set up once per process (LLVMFuzzerInitialize): a test PKI from rsp_pki_generate, a store in a
 * temporary file (in /dev/shm when present), three Released profiles and a recorded download
 * with the software eUICC as the device, which leaves the store with one session in each live
 * state (Started, Authenticated, BPP bound) and one valid request per function.
 *
 * Input: byte 0 picks the function (low bits) and the mode (bit 3).
 * - raw mode: the rest is the request body;
 * - template mode: the recorded request of that function is decoded, its DER payload (and
 *   transactionId) edited by the ops in the rest of the input (4 bytes each: op, offset lo/hi,
 *   value), re-encoded and sent.
 * After every input of either mode the store is put back to the recorded state (see restore()),
 * so every input meets the sessions and profiles the requests were recorded against.
 *
 * Properties: no crash, leak or undefined behaviour; rsp_es9p_handle_json always produces an
 * answer; that answer is 204 with an empty body (handleNotification only) or a 200 JSON body
 * that decodes as a success or failure envelope of the function. */
#include <stdint.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/es9p.h"
#include "rsp/euicc.h"
#include "rsp/pki.h"
#include "rsp/saip.h"
#include "rsp/sgp22_auth.h"
#include "rsp/sgp22_es10.h"
#include "rsp/store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HOST "testsmdpplus1.example.com"

static struct rsp_pki pki;
static struct rsp_cert *ci, *dpauth, *dppb;
static struct rsp_key *sk_dpauth, *sk_dppb;
static struct rsp_es9p_creds creds;
static struct rsp_es9p_config cfg;
static struct rsp_store *st;
static char db_path[256];
static struct rsp_buf tmpl[RSP_ES9_NFUNCTIONS][2];            /* recorded requests (JSON) */
static struct rsp_es9_request tmpl_rq[RSP_ES9_NFUNCTIONS][2]; /* the same, decoded */
static struct rsp_buf *payload(struct rsp_es9_request *rq, struct rsp_tid **tid);

/* ---- the store, put back to the recorded state after every input ----
 *
 * The store's own connection is captured when it opens (sqlite3_auto_extension), the recorded
 * state of every table is copied into temporary tables of that connection (temp.snap_<table>,
 * rowids included), and an update hook marks the tables an input changes. After each input only
 * those are put back (DELETE, INSERT ... SELECT from the copy, in one transaction, statements
 * prepared once), together with sqlite_sequence; tables with foreign keys are emptied first and
 * filled last. Every RESTORE_CHECK_EVERY restores, and after setting up, all tables are
 * compared with the copy (a difference aborts: the harness would no longer start every input
 * from the same state). This replaced copying the sessions and profiles tables through a second
 * connection per input (about 35% of the time, and the telemetry, audit head and eUICC info
 * tables were never put back). */
enum { MAX_TABLES = 64, RESTORE_CHECK_EVERY = 4096 };
struct snap_table {
    char name[64];
    bool child; /* has foreign keys: emptied before, filled after the others */
    /* Append-only shortcut: a table whose only key is its rowid (no UNIQUE index, so no
     * REPLACE can delete a row unseen by the update hook) that an input only appended to (rows
     * after max_rowid) is put back by deleting those rows. */
    bool appendable;
    sqlite3_int64 max_rowid;
    sqlite3_stmt *del, *ins, *cmp, *trim;
};
static sqlite3 *db;        /* the store's connection */
static bool capture_db;    /* set while the store opens */
static bool tracking;      /* the update hook records changes */
static uint64_t dirty;     /* bit i: tables[i] changed since the last restore */
static uint64_t rewritten; /* bit i: ... other than by appending rows */
static bool dirty_unknown; /* a change to a table not in the list */
static struct snap_table tables[MAX_TABLES];
static size_t n_tables;
static sqlite3_stmt *q_begin, *q_commit, *q_seq_del, *q_seq_ins;
static unsigned n_restores;
static unsigned long dirty_count[MAX_TABLES];

static void die(const char *what, int rc)
{
    fprintf(stderr, "fuzz_es9p setup: %s: %d\n", what, rc);
    abort();
}

static void cleanup(void)
{
    if (getenv("FUZZ_ES9P_STATS"))
        for (size_t i = 0; i < n_tables; i++)
            fprintf(stderr, "%s %lu/%u\n", tables[i].name, dirty_count[i], n_restores);
    for (size_t i = 0; i < n_tables; i++) {
        sqlite3_finalize(tables[i].del);
        sqlite3_finalize(tables[i].ins);
        sqlite3_finalize(tables[i].cmp);
        sqlite3_finalize(tables[i].trim);
    }
    sqlite3_finalize(q_begin);
    sqlite3_finalize(q_commit);
    sqlite3_finalize(q_seq_del);
    sqlite3_finalize(q_seq_ins);
    rsp_store_close(st);
    unlink(db_path);
    char side[300];
    snprintf(side, sizeof side, "%s-wal", db_path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", db_path);
    unlink(side);
}

static int capture(sqlite3 *conn, char **err, const struct sqlite3_api_routines *api)
{
    (void)err;
    (void)api;
    if (capture_db)
        db = conn;
    return SQLITE_OK;
}

static void sql(const char *q)
{
    char *err = NULL;
    if (sqlite3_exec(db, q, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "fuzz_es9p: %s: %s\n", q, err ? err : "?");
        abort();
    }
}

static sqlite3_stmt *prep(const char *q)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v3(db, q, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
        fprintf(stderr, "fuzz_es9p: %s: %s\n", q, sqlite3_errmsg(db));
        abort();
    }
    return s;
}

static void step(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "fuzz_es9p: %s: %s\n", sqlite3_sql(s), sqlite3_errmsg(db));
        abort();
    }
    sqlite3_reset(s);
}

__attribute__((no_sanitize("coverage"))) static void
on_update(void *arg, int op, const char *dbname, const char *table, sqlite3_int64 r)
{
    (void)arg;
    if (!tracking || strcmp(dbname, "main") != 0)
        return;
    for (size_t i = 0; i < n_tables; i++)
        if (strcmp(tables[i].name, table) == 0) {
            dirty |= (uint64_t)1 << i;
            if (op != SQLITE_INSERT || !tables[i].appendable || r <= tables[i].max_rowid)
                rewritten |= (uint64_t)1 << i;
            return;
        }
    dirty_unknown = true;
}

/* Compares every table with its copy; aborts on a difference. */
static void check_restored(void)
{
    for (size_t i = 0; i < n_tables; i++) {
        if (sqlite3_step(tables[i].cmp) != SQLITE_ROW || sqlite3_column_int64(tables[i].cmp, 0)) {
            fprintf(stderr, "fuzz_es9p: table %s differs from the recorded state\n",
                    tables[i].name);
            abort();
        }
        sqlite3_reset(tables[i].cmp);
    }
}

static void restore(void)
{
    if (dirty_unknown) {
        fprintf(stderr, "fuzz_es9p: a table outside the snapshot changed\n");
        abort();
    }
    bool any = dirty != 0;
    if (any) {
        tracking = false;
        step(q_begin);
        for (size_t i = 0; i < n_tables; i++)
            if ((dirty >> i & 1) && !(rewritten >> i & 1))
                step(tables[i].trim);
        for (int pass = 0; pass < 2; pass++) /* children emptied first */
            for (size_t i = 0; i < n_tables; i++)
                if ((rewritten >> i & 1) && tables[i].child == (pass == 0))
                    step(tables[i].del);
        for (int pass = 0; pass < 2; pass++) /* parents filled first */
            for (size_t i = 0; i < n_tables; i++)
                if ((rewritten >> i & 1) && tables[i].child == (pass == 1))
                    step(tables[i].ins);
        step(q_seq_del);
        step(q_seq_ins);
        step(q_commit);
        for (size_t i = 0; i < n_tables; i++)
            dirty_count[i] += dirty >> i & 1;
        dirty = rewritten = 0;
        tracking = true;
    }
    if (++n_restores % RESTORE_CHECK_EVERY == 0)
        check_restored();
}

/* Copies every table of the store (the recorded state) and prepares the statements. */
static void snapshot(void)
{
    sqlite3_stmt *q = prep("SELECT name FROM main.sqlite_master WHERE type='table' AND name NOT "
                           "LIKE 'sqlite_%' ORDER BY name");
    while (sqlite3_step(q) == SQLITE_ROW) {
        if (n_tables == MAX_TABLES)
            die("too many tables", MAX_TABLES);
        snprintf(tables[n_tables++].name, sizeof tables[0].name, "%s",
                 (const char *)sqlite3_column_text(q, 0));
    }
    sqlite3_finalize(q);
    for (size_t i = 0; i < n_tables; i++) {
        struct snap_table *t = &tables[i];
        char stmt[8192], cols[4096] = "", buf[256];
        bool rowid_alias = false;
        int n_pk = 0;
        snprintf(buf, sizeof buf, "PRAGMA main.table_info(\"%s\")", t->name);
        q = prep(buf);
        while (sqlite3_step(q) == SQLITE_ROW) {
            const char *c = (const char *)sqlite3_column_text(q, 1);
            const char *type = (const char *)sqlite3_column_text(q, 2);
            int pk = sqlite3_column_int(q, 5);
            n_pk += pk > 0;
            if (pk == 1 && type && strcasecmp(type, "INTEGER") == 0)
                rowid_alias = true;
            size_t l = strlen(cols);
            snprintf(cols + l, sizeof cols - l, "%s\"%s\"", l ? "," : "", c);
        }
        sqlite3_finalize(q);
        if (n_pk != 1)
            rowid_alias = false;
        snprintf(buf, sizeof buf, "PRAGMA main.foreign_key_list(\"%s\")", t->name);
        q = prep(buf);
        t->child = sqlite3_step(q) == SQLITE_ROW;
        sqlite3_finalize(q);
        const char *rid = rowid_alias ? "" : "rowid,";
        snprintf(stmt, sizeof stmt, "CREATE TEMP TABLE \"snap_%s\" AS SELECT %s%s FROM main.\"%s\"",
                 t->name, rid, cols, t->name);
        sql(stmt);
        snprintf(stmt, sizeof stmt, "DELETE FROM main.\"%s\"", t->name);
        t->del = prep(stmt);
        /* a temporary table made by CREATE ... AS SELECT names the rowid column "rowid" */
        snprintf(stmt, sizeof stmt, "INSERT INTO main.\"%s\"(%s%s) SELECT * FROM temp.\"snap_%s\"",
                 t->name, rid, cols, t->name);
        t->ins = prep(stmt);
        snprintf(stmt, sizeof stmt,
                 "SELECT (SELECT count(*) FROM main.\"%s\") != (SELECT count(*) FROM "
                 "temp.\"snap_%s\") OR EXISTS (SELECT %s%s FROM main.\"%s\" EXCEPT SELECT * FROM "
                 "temp.\"snap_%s\")",
                 t->name, t->name, rid, cols, t->name, t->name);
        t->cmp = prep(stmt);
        snprintf(buf, sizeof buf, "PRAGMA main.index_list(\"%s\")", t->name);
        q = prep(buf);
        t->appendable = true;
        while (sqlite3_step(q) == SQLITE_ROW)
            if (sqlite3_column_int(q, 2))
                t->appendable = false; /* a UNIQUE index or key besides the rowid */
        sqlite3_finalize(q);
        snprintf(buf, sizeof buf, "SELECT coalesce(max(rowid), 0) FROM main.\"%s\"", t->name);
        q = prep(buf);
        if (sqlite3_step(q) != SQLITE_ROW)
            die("max rowid", 0);
        t->max_rowid = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
        snprintf(stmt, sizeof stmt, "DELETE FROM main.\"%s\" WHERE rowid > %lld", t->name,
                 (long long)t->max_rowid);
        t->trim = prep(stmt);
    }
    for (size_t i = 0; i < n_tables; i++) /* a child must not be a parent (two levels) */
        if (tables[i].child)
            for (size_t j = 0; j < n_tables; j++) {
                char buf[256];
                snprintf(buf, sizeof buf, "PRAGMA main.foreign_key_list(\"%s\")", tables[j].name);
                q = prep(buf);
                while (sqlite3_step(q) == SQLITE_ROW)
                    if (strcmp((const char *)sqlite3_column_text(q, 2), tables[i].name) == 0)
                        die("foreign keys deeper than one level", 0);
                sqlite3_finalize(q);
            }
    sql("CREATE TEMP TABLE snap_sqlite_sequence AS SELECT * FROM main.sqlite_sequence");
    q_seq_del = prep("DELETE FROM main.sqlite_sequence");
    q_seq_ins = prep("INSERT INTO main.sqlite_sequence SELECT * FROM temp.snap_sqlite_sequence");
    q_begin = prep("BEGIN");
    q_commit = prep("COMMIT");
    sqlite3_update_hook(db, on_update, NULL);
    tracking = true;
    check_restored();
}

static void insert_profile(const char *iccid, const char *mid)
{
    struct rsp_saip_gen_params g;
    memset(&g, 0, sizeof g);
    g.iccid = iccid;
    g.imsi = "001019876543210";
    g.spn = "rspkit";
    memset(g.ki, 0x11, 16);
    memset(g.opc, 0x22, 16);
    struct rsp_buf upp = RSP_BUF_INIT;
    int rc = rsp_saip_generate(&g, &upp);
    if (rc)
        die("saip", rc);
    struct rsp_profile p;
    memset(&p, 0, sizeof p);
    snprintf(p.iccid, sizeof p.iccid, "%s", iccid);
    snprintf(p.imsi, sizeof p.imsi, "001019876543210");
    snprintf(p.profile_type, sizeof p.profile_type, "fuzz");
    snprintf(p.spn, sizeof p.spn, "rspkit");
    snprintf(p.name, sizeof p.name, "Fuzz profile");
    p.pclass = RSP_PROFILE_CLASS_OPERATIONAL;
    snprintf(p.owner, sizeof p.owner, "op1");
    rsp_sha256(upp.data, upp.len, p.package_sha256);
    p.state = RSP_PROFILE_RELEASED;
    snprintf(p.matching_id, sizeof p.matching_id, "%s", mid);
    if ((rc = rsp_store_profile_insert(st, &p, upp.data, upp.len, "fuzz")) != 0)
        die("profile insert", rc);
    rsp_buf_free(&upp);
}

/* ---- recording a download with the software eUICC ---- */

static struct rsp_euicc *euicc;

static void card(const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    rsp_buf_reset(resp);
    int rc = rsp_euicc_process(euicc, cmd, len, resp);
    if (rc)
        die("eUICC", rc);
}

/* Encodes `rq`, keeps it as template (fn, slot) and, when `send`, runs it. */
static void record(struct rsp_es9_request *rq, size_t slot, bool send, struct rsp_es9_response *rs)
{
    struct rsp_buf *t = &tmpl[rq->fn][slot];
    int rc = rsp_es9_encode_request(rq, t);
    if (rc)
        die("encode request", rc);
    if (!send)
        return;
    struct rsp_buf out = RSP_BUF_INIT;
    int http;
    rc = rsp_es9p_handle_json(&cfg, st, rq->fn, (const char *)t->data, t->len, &out, &http, NULL);
    if (rc || http != 200)
        die("handle", rc);
    memset(rs, 0, sizeof *rs);
    rc = rsp_es9_decode_response(rq->fn, (const char *)out.data, out.len, rs);
    if (rc || rs->status.status != RSP_ES_SUCCESS)
        die("recorded step refused", rc);
    rsp_buf_free(&out);
}

static void cat(struct rsp_buf *b, const struct rsp_buf *part)
{
    if (rsp_buf_append(b, part->data, part->len) != 0)
        die("append", RSP_ENOMEM);
}

/* initiateAuthentication (recorded once) + AuthenticateServer on the card; returns the tid. With
 * `send_auth` the authenticateClient is run and *ac holds its answer. */
static struct rsp_tid start_session(const char *mid, size_t slot, bool send_auth,
                                    struct rsp_es9_response *ac)
{
    static const uint8_t get_challenge[] = {0xBF, 0x2E, 0x00}, get_info1[] = {0xBF, 0x20, 0x00};
    struct rsp_buf r = RSP_BUF_INIT, body = RSP_BUF_INIT, cmd = RSP_BUF_INIT;
    struct rsp_es9_request rq;
    memset(&rq, 0, sizeof rq);
    rq.fn = RSP_ES9_INITIATE_AUTHENTICATION;
    card(get_challenge, sizeof get_challenge, &r);
    if (rsp_es10_challenge_decode(r.data, r.len, rq.u.initiate_auth.euicc_challenge) != 0)
        die("challenge", 0);
    card(get_info1, sizeof get_info1, &r);
    rsp_buf_set(&rq.u.initiate_auth.euicc_info1, r.data, r.len);
    snprintf(rq.u.initiate_auth.smdp_address, sizeof rq.u.initiate_auth.smdp_address, HOST);
    struct rsp_es9_response rs;
    record(&rq, 0, true, &rs);
    rsp_es9_request_free(&rq);
    const struct rsp_es9_initiate_auth_resp *o = &rs.u.initiate_auth;
    struct rsp_tid tid = o->transaction_id;
    cat(&body, &o->server_signed1);
    cat(&body, &o->server_signature1);
    cat(&body, &o->euicc_ci_pkid);
    cat(&body, &o->server_certificate);
    rsp_es9_response_free(&rs);
    static const uint8_t tac[4] = {0x35, 0x29, 0x06, 0x11};
    struct rsp_sgp22_ctx_params1 cp;
    memset(&cp, 0, sizeof cp);
    cp.has_matching_id = true;
    cp.matching_id.p = (const uint8_t *)mid;
    cp.matching_id.len = strlen(mid);
    cp.tac.p = tac;
    cp.tac.len = 4;
    rsp_sgp22_ctx_params1_encode(&cp, &body);
    rsp_der_put_header(&cmd, 0xBF38, body.len);
    cat(&cmd, &body);
    card(cmd.data, cmd.len, &r);
    memset(&rq, 0, sizeof rq);
    rq.fn = RSP_ES9_AUTHENTICATE_CLIENT;
    rq.u.auth_client.transaction_id = tid;
    rsp_buf_set(&rq.u.auth_client.authenticate_server_response, r.data, r.len);
    record(&rq, slot, send_auth, ac);
    rsp_es9_request_free(&rq);
    rsp_buf_free(&r);
    rsp_buf_free(&body);
    rsp_buf_free(&cmd);
    return tid;
}

/* PrepareDownload on the card from an authenticateClient answer; records the gbpp request. */
static void prepare(const struct rsp_tid *tid, const struct rsp_es9_response *ac, size_t slot,
                    bool send, struct rsp_es9_response *gb)
{
    const struct rsp_es9_auth_client_resp *o = &ac->u.auth_client;
    struct rsp_buf body = RSP_BUF_INIT, cmd = RSP_BUF_INIT, r = RSP_BUF_INIT;
    cat(&body, &o->smdp_signed2);
    cat(&body, &o->smdp_signature2);
    cat(&body, &o->smdp_certificate);
    rsp_der_put_header(&cmd, 0xBF21, body.len);
    cat(&cmd, &body);
    card(cmd.data, cmd.len, &r);
    struct rsp_es9_request rq;
    memset(&rq, 0, sizeof rq);
    rq.fn = RSP_ES9_GET_BOUND_PROFILE_PACKAGE;
    rq.u.gbpp.transaction_id = *tid;
    rsp_buf_set(&rq.u.gbpp.prepare_download_response, r.data, r.len);
    record(&rq, slot, send, gb);
    rsp_es9_request_free(&rq);
    rsp_buf_free(&r);
    rsp_buf_free(&body);
    rsp_buf_free(&cmd);
}

/* Loads the BPP segment by segment (as an LPA splits it); the last answer is the PIR. */
static void install(const struct rsp_buf *bpp, struct rsp_buf *pir)
{
    struct rsp_sgp22_bpp b;
    if (rsp_sgp22_bpp_decode(bpp->data, bpp->len, &b) != 0)
        die("bpp decode", 0);
    card(b.raw.raw, (size_t)(b.raw.val - b.raw.raw) + b.init_secure_channel.raw.raw_len, pir);
    card(b.first87.raw, b.first87.raw_len, pir);
    const struct rsp_tlv *lists[2] = {&b.seq88, &b.seq86};
    for (int i = 0; i < 2; i++) {
        if (i == 1 && b.has_second87)
            card(b.second87.raw, b.second87.raw_len, pir);
        card(lists[i]->raw, (size_t)(lists[i]->val - lists[i]->raw), pir);
        struct rsp_der_iter it;
        struct rsp_tlv seg;
        rsp_der_iter_value(&it, lists[i]);
        while (rsp_sgp22_bpp_next(&it, &seg) == 1)
            card(seg.raw, seg.raw_len, pir);
    }
}

static void record_download(void)
{
    /* session 1: bound, installed on the card; its PIR is recorded, not sent */
    struct rsp_es9_response ac, gb, unused;
    struct rsp_tid t1 = start_session("FUZZ-1", 0, true, &ac);
    prepare(&t1, &ac, 0, true, &gb);
    rsp_es9_response_free(&ac);
    struct rsp_buf pir = RSP_BUF_INIT;
    install(&gb.u.gbpp.bound_profile_package, &pir);
    rsp_es9_response_free(&gb);
    struct rsp_es9_request rq;
    memset(&rq, 0, sizeof rq);
    rq.fn = RSP_ES9_HANDLE_NOTIFICATION;
    rsp_buf_set(&rq.u.handle_notification.pending_notification, pir.data, pir.len);
    record(&rq, 0, false, &unused);
    rsp_es9_request_free(&rq);
    rsp_buf_free(&pir);
    /* session 2: authenticated; its getBoundProfilePackage (a fresh binding) and a signed
     * cancelSession are recorded, not sent */
    struct rsp_tid t2 = start_session("FUZZ-2", 1, true, &ac);
    prepare(&t2, &ac, 1, false, &unused);
    rsp_es9_response_free(&ac);
    struct rsp_sgp22_cancel_session_request cq;
    memset(&cq, 0, sizeof cq);
    cq.transaction_id.p = t2.b;
    cq.transaction_id.len = t2.len;
    cq.reason = RSP_SGP22_CANCEL_POSTPONED;
    struct rsp_buf cmd = RSP_BUF_INIT, r = RSP_BUF_INIT;
    rsp_sgp22_cancel_session_request_encode(&cq, &cmd);
    card(cmd.data, cmd.len, &r);
    memset(&rq, 0, sizeof rq);
    rq.fn = RSP_ES9_CANCEL_SESSION;
    rq.u.cancel_session.transaction_id = t2;
    rsp_buf_set(&rq.u.cancel_session.cancel_session_response, r.data, r.len);
    record(&rq, 0, false, &unused);
    rsp_es9_request_free(&rq);
    rsp_buf_free(&cmd);
    rsp_buf_free(&r);
    /* session 3: started; its authenticateClient is recorded, not sent */
    (void)start_session("FUZZ-3", 1, false, &unused);
}

/* Seed generator: with FUZZ_ES9P_DUMP=<dir>, the recorded requests are written there as inputs
 * of both modes (fuzz/corpus/es9p was made this way:
 * FUZZ_ES9P_DUMP=fuzz/corpus/es9p build-fuzz/fuzz/fuzz_es9p -runs=0). */
static void dump_seeds(const char *dir)
{
    for (unsigned fn = 0; fn < RSP_ES9_NFUNCTIONS; fn++)
        for (unsigned slot = 0; slot < 2; slot++) {
            const struct rsp_buf *t = &tmpl[fn][slot];
            if (!t->len)
                continue;
            char path[512];
            const char *name = rsp_es9_function_name((enum rsp_es9_function)fn);
            snprintf(path, sizeof path, "%s/seed-%s-%u-json", dir, name, slot);
            FILE *f = fopen(path, "wb");
            uint8_t b0 = (uint8_t)fn;
            if (!f || fwrite(&b0, 1, 1, f) != 1 || fwrite(t->data, 1, t->len, f) != t->len)
                die(path, 0);
            fclose(f);
            snprintf(path, sizeof path, "%s/seed-%s-%u-replay", dir, name, slot);
            f = fopen(path, "wb");
            b0 = (uint8_t)(fn | 8u | slot << 4);
            if (!f || fwrite(&b0, 1, 1, f) != 1)
                die(path, 0);
            fclose(f);
        }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    struct rsp_pki_opts o;
    rsp_pki_opts_default(&o);
    o.curves = RSP_PKI_NIST;
    int rc = rsp_pki_generate(&o, &pki);
    if (rc)
        die("pki", rc);
    const struct rsp_pki_set *ps = &pki.set[0];
    if (rsp_cert_parse(ps->item[RSP_PKI_CI].cert_der.data, ps->item[RSP_PKI_CI].cert_der.len,
                       &ci) ||
        rsp_cert_parse(ps->item[RSP_PKI_DPAUTH].cert_der.data,
                       ps->item[RSP_PKI_DPAUTH].cert_der.len, &dpauth) ||
        rsp_cert_parse(ps->item[RSP_PKI_DPPB].cert_der.data, ps->item[RSP_PKI_DPPB].cert_der.len,
                       &dppb) ||
        rsp_pki_item_key(&ps->item[RSP_PKI_DPAUTH], &sk_dpauth) ||
        rsp_pki_item_key(&ps->item[RSP_PKI_DPPB], &sk_dppb))
        die("credentials", 0);
    creds = (struct rsp_es9p_creds){ci, dpauth, sk_dpauth, dppb, sk_dppb};
    cfg.host = HOST;
    cfg.creds = &creds;
    cfg.n_creds = 1;
    cfg.session_lifetime = 1000000000u; /* recorded sessions stay live for the whole run */

    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(db_path, sizeof db_path, "%s/rspkit-fuzz-es9p-%d.db", dir, (int)getpid());
    unlink(db_path);
    if (sqlite3_auto_extension((void (*)(void))capture) != SQLITE_OK)
        die("auto extension", 0);
    capture_db = true;
    rc = rsp_store_sqlite_open(db_path, &st);
    capture_db = false;
    sqlite3_cancel_auto_extension((void (*)(void))capture);
    if (rc != 0 || !db)
        die("store", rc);
    atexit(cleanup);
    insert_profile("8949449999999990023", "FUZZ-1");
    insert_profile("8949449999999990031", "FUZZ-2");
    insert_profile("8949449999999990049", "FUZZ-3");

    struct rsp_euicc_config c;
    memset(&c, 0, sizeof c);
    c.sk_euicc.p = ps->item[RSP_PKI_EUICC].key_pem.data;
    c.sk_euicc.len = ps->item[RSP_PKI_EUICC].key_pem.len;
    c.cert_euicc.p = ps->item[RSP_PKI_EUICC].cert_der.data;
    c.cert_euicc.len = ps->item[RSP_PKI_EUICC].cert_der.len;
    c.cert_eum.p = ps->item[RSP_PKI_EUM].cert_der.data;
    c.cert_eum.len = ps->item[RSP_PKI_EUM].cert_der.len;
    c.ci[0].p = ps->item[RSP_PKI_CI].cert_der.data;
    c.ci[0].len = ps->item[RSP_PKI_CI].cert_der.len;
    c.n_ci = 1;
    c.default_dp = HOST;
    char detail[RSP_EUICC_DETAIL_SZ];
    if ((rc = rsp_euicc_new(&c, &euicc, detail, sizeof detail)) != 0)
        die(detail, rc);
    record_download();
    rsp_euicc_free(euicc);
    euicc = NULL;

    snapshot();
    /* every recorded request, replayed as is, succeeds against the restored store */
    for (unsigned fn = 0; fn < RSP_ES9_NFUNCTIONS; fn++)
        for (unsigned slot = 0; slot < 2; slot++) {
            const struct rsp_buf *t = &tmpl[fn][slot];
            bool stale = fn == RSP_ES9_AUTHENTICATE_CLIENT && slot == 0; /* session 1 moved on */
            if (!t->len || stale)
                continue;
            struct rsp_buf out = RSP_BUF_INIT;
            int http = 0;
            struct rsp_es_exec_status outcome;
            rc = rsp_es9p_handle_json(&cfg, st, (enum rsp_es9_function)fn, (const char *)t->data,
                                      t->len, &out, &http, &outcome);
            if (rc || outcome.status != RSP_ES_SUCCESS) {
                fprintf(stderr, "replay of %s/%u: %s/%s\n",
                        rsp_es9_function_name((enum rsp_es9_function)fn), slot,
                        outcome.code.subject, outcome.code.reason);
                die("replay", rc);
            }
            rsp_buf_free(&out);
            restore();
        }
    for (unsigned fn = 0; fn < RSP_ES9_NFUNCTIONS; fn++)
        for (unsigned slot = 0; slot < 2; slot++) {
            const struct rsp_buf *t = &tmpl[fn][slot];
            struct rsp_status_code why;
            struct rsp_tid *tid;
            if (t->len && (rsp_es9_decode_request((enum rsp_es9_function)fn, (const char *)t->data,
                                                  t->len, &tmpl_rq[fn][slot], &why) != 0 ||
                           payload(&tmpl_rq[fn][slot], &tid)->len == 0))
                die("decode of a recorded request", 0);
        }
    const char *dump = getenv("FUZZ_ES9P_DUMP");
    if (dump)
        dump_seeds(dump);
    return 0;
}

/* ---- one input ---- */

static void check_answer(enum rsp_es9_function fn, int rc, int http, const struct rsp_buf *out)
{
    if (rc != 0)
        abort(); /* every request gets an answer */
    if (http == 204) {
        if (fn != RSP_ES9_HANDLE_NOTIFICATION || out->len != 0)
            abort();
        return;
    }
    if (http != 200 || out->len == 0)
        abort();
    struct rsp_es9_response rs;
    memset(&rs, 0, sizeof rs);
    if (rsp_es9_decode_response(fn, (const char *)out->data, out->len, &rs) != 0)
        abort();
    if (rs.status.status == RSP_ES_FAILED &&
        (!rs.status.has_code || !rs.status.code.subject[0] || !rs.status.code.reason[0]))
        abort();
    rsp_es9_response_free(&rs);
}

static void edit(struct rsp_buf *b, const uint8_t *ops, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i += 4) {
        size_t at = ((size_t)ops[i + 1] | (size_t)ops[i + 2] << 8);
        uint8_t v = ops[i + 3];
        if (b->len == 0)
            break;
        at %= b->len;
        switch (ops[i] & 3) {
        case 0:
            b->data[at] ^= v ? v : 1;
            break;
        case 1:
            b->data[at] = v;
            break;
        case 2:
            b->len = at; /* truncate */
            break;
        default: {
            uint8_t ins = v;
            struct rsp_buf t = RSP_BUF_INIT;
            if (rsp_buf_append(&t, b->data, at) == 0 && rsp_buf_append(&t, &ins, 1) == 0 &&
                rsp_buf_append(&t, b->data + at, b->len - at) == 0)
                rsp_buf_set(b, t.data, t.len);
            rsp_buf_free(&t);
            break;
        }
        }
    }
}

static struct rsp_buf *payload(struct rsp_es9_request *rq, struct rsp_tid **tid)
{
    *tid = NULL;
    switch (rq->fn) {
    case RSP_ES9_INITIATE_AUTHENTICATION:
        return &rq->u.initiate_auth.euicc_info1;
    case RSP_ES9_AUTHENTICATE_CLIENT:
        *tid = &rq->u.auth_client.transaction_id;
        return &rq->u.auth_client.authenticate_server_response;
    case RSP_ES9_GET_BOUND_PROFILE_PACKAGE:
        *tid = &rq->u.gbpp.transaction_id;
        return &rq->u.gbpp.prepare_download_response;
    case RSP_ES9_HANDLE_NOTIFICATION:
        return &rq->u.handle_notification.pending_notification;
    default:
        *tid = &rq->u.cancel_session.transaction_id;
        return &rq->u.cancel_session.cancel_session_response;
    }
}

static void run(enum rsp_es9_function fn, const char *body, size_t len)
{
    struct rsp_buf out = RSP_BUF_INIT;
    int http = 0;
    int rc = rsp_es9p_handle_json(&cfg, st, fn, body, len, &out, &http, NULL);
    check_answer(fn, rc, http, &out);
    rsp_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum rsp_es9_function fn = (enum rsp_es9_function)((data[0] & 7) % RSP_ES9_NFUNCTIONS);
    bool template = (data[0] & 8) != 0;
    if (!template) {
        run(fn, (const char *)data + 1, size - 1);
        restore(); /* raw bodies may start sessions */
        return 0;
    }
    size_t slot = (data[0] >> 4) & 1;
    const struct rsp_buf *t = &tmpl[fn][slot];
    if (!t->len)
        t = &tmpl[fn][0];
    /* the template decoded once (tmpl_rq); its one buffer, the payload, copied */
    struct rsp_es9_request rq = tmpl_rq[fn][t == &tmpl[fn][slot] ? slot : 0];
    struct rsp_tid *tid;
    struct rsp_buf *p = payload(&rq, &tid);
    struct rsp_buf own = RSP_BUF_INIT;
    if (rsp_buf_set(&own, p->data, p->len) != 0)
        abort();
    *p = own;
    const uint8_t *ops = data + 1;
    size_t n = size - 1;
    if (tid && n >= 2 && (ops[0] & 0xF0) == 0xF0) {
        /* edit the transactionId: length and one byte */
        tid->len = (size_t)(ops[1] % RSP_TID_MAX) + 1;
        tid->b[ops[1] % tid->len] ^= 0x5A;
        ops += 2;
        n -= 2;
    }
    edit(p, ops, n);
    struct rsp_buf json = RSP_BUF_INIT;
    if (rsp_es9_encode_request(&rq, &json) == 0)
        run(fn, (const char *)json.data, json.len);
    rsp_buf_free(&json);
    rsp_es9_request_free(&rq);
    restore();
    return 0;
}
