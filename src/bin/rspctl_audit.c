/* rspctl audit: the tamper-evident audit trail of the SM-DP+ (docs/AUDIT.md). SMDP.sqlite below
 * stands for any store --db takes: a file path, sqlite:PATH or a postgresql:// URL.
 *
 *   rspctl audit keygen DIR [--force]
 *   rspctl audit checkpoint --db SMDP.sqlite --key AUDIT_KEY.pem|PKCS11_URI
 *   rspctl audit verify (--db SMDP.sqlite | --archive FILE) [--pubkey AUDIT_PUB.pem]...
 *          [--expect SEQ:HASH]... [--chain-only] [--quiet]
 *   rspctl audit export --db SMDP.sqlite (--pubkey AUDIT_PUB.pem | --key AUDIT_KEY.pem)
 *          [--from SEQ] [--to SEQ] OUT
 *   rspctl audit prune --db SMDP.sqlite --through SEQ
 *   rspctl audit list --db SMDP.sqlite [--from SEQ] [--to SEQ] [--key KEY]
 *   rspctl audit pseudonym --key-file PSEUDONYM_KEY [--class eid|imei|customer] ID
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rsp/audit.h"
#include "rsp/audit_archive.h"
#include "rsp/err.h"
#include "rsp/pkcs11.h"
#include "rsp/store.h"

#include "rspctl.h"

#define MAX_KEYS   8
#define MAX_EXPECT 16

static int parse_seq(const char *s, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < 1)
        return -1;
    *out = v;
    return 0;
}

/* Opens an existing store (never creates an SQLite file): a file path, sqlite:PATH or a
 * postgresql:// URL, as for 'rspctl profiles --db'. */
static int open_db(const char *cmd, const char *db, struct rsp_store **st)
{
    char why[512], shown[1024];
    const char *backend = rsp_store_url_backend(db);
    if (backend && strcmp(backend, "sqlite") == 0) {
        const char *path = strncmp(db, "sqlite:", 7) == 0 ? db + 7 : db;
        if (strncmp(path, "//", 2) == 0)
            path += 2;
        if (access(path, R_OK | W_OK) != 0) {
            fprintf(stderr, "rspctl audit %s: %s: %s\n", cmd, path, strerror(errno));
            return -1;
        }
    }
    int rc = rsp_store_open_url(db, st, why, sizeof why);
    if (rc) {
        rsp_store_url_redact(db, shown, sizeof shown);
        fprintf(stderr, "rspctl audit %s: cannot open the store %s: %s (%s)\n", cmd, shown,
                rsp_strerror(rc), why);
        return -1;
    }
    return 0;
}

/* A PEM file or a PKCS#11 URI (rsp/pkcs11.h: the key stays in the token). */
static int load_private(const char *cmd, const char *path, struct rsp_key **k)
{
    char why[256] = "", shown[1024];
    int rc;
    if (rsp_pkcs11_is_uri(path)) {
        rc = rsp_pkcs11_key_load(path, k, why, sizeof why);
    } else {
        struct rsp_buf b = RSP_BUF_INIT;
        rc = rspctl_read_file(path, &b);
        if (rc == 0)
            rc = rsp_key_from_private(b.data, b.len, k);
        rsp_buf_free_secure(&b);
    }
    if (rc == 0 && rsp_key_curve(*k) != RSP_CURVE_NIST_P256)
        rc = RSP_ECURVE;
    if (rc) {
        rsp_pkcs11_uri_redact(path, shown, sizeof shown);
        fprintf(stderr, "rspctl audit %s: %s: not a usable P-256 private key (%s%s%s)\n", cmd,
                shown, rsp_strerror(rc), why[0] ? ": " : "", why);
        rsp_key_free(*k);
        *k = NULL;
    }
    return rc ? -1 : 0;
}

static int load_public(const char *cmd, const char *path, struct rsp_key **k)
{
    int rc = rspctl_load_operator_key(path, k);
    if (rc == 0 && rsp_key_curve(*k) != RSP_CURVE_NIST_P256)
        rc = RSP_ECURVE;
    if (rc) {
        fprintf(stderr, "rspctl audit %s: %s: not a P-256 public key or certificate (%s)\n", cmd,
                path, rsp_strerror(rc));
        rsp_key_free(*k);
        *k = NULL;
    }
    return rc ? -1 : 0;
}

static void key_fingerprint(const struct rsp_key *k, char out[65])
{
    uint8_t id[32];
    if (rsp_audit_key_id(k, id) == 0)
        rsp_hex_str(out, id, 32, 0);
    else
        snprintf(out, 65, "?");
}

/* ---- keygen ---- */

static int cmd_keygen(int argc, char **argv)
{
    const char *dir = NULL;
    bool force = false;
    for (int i = 1; i < argc; i++) {
        if (rspctl_is_help(argv[i])) {
            printf("usage: rspctl audit keygen DIR [--force]\n"
                   "\n"
                   "Writes a TEST/LAB audit key set into DIR: audit.key.pem (ECDSA P-256 private\n"
                   "key signing checkpoints, mode 0600), audit.pub.pem (its public key, for\n"
                   "verifiers) and pseudonym.key (256-bit HMAC key of the EID pseudonyms, hex,\n"
                   "mode 0600). Point rsp-smdp's audit_key and pseudonym_key at them.\n"
                   "Production keys belong in an HSM (the key handle is PKCS#11-ready).\n");
            return 0;
        }
        if (strcmp(argv[i], "--force") == 0)
            force = true;
        else if (argv[i][0] == '-' || dir) {
            fprintf(stderr, "usage: rspctl audit keygen DIR [--force]\n");
            return EXIT_USAGE;
        } else
            dir = argv[i];
    }
    if (!dir) {
        fprintf(stderr, "usage: rspctl audit keygen DIR [--force]\n");
        return EXIT_USAGE;
    }
    char p[PATH_MAX];
    struct stat sb;
    if (snprintf(p, sizeof p, "%s/audit.key.pem", dir) >= (int)sizeof p)
        return 1;
    if (!force && stat(p, &sb) == 0) {
        fprintf(stderr, "rspctl audit keygen: %s exists; use --force to replace it\n", p);
        return 1;
    }
    if (rspctl_make_dir(dir) != 0) {
        fprintf(stderr, "rspctl audit keygen: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    struct rsp_key *k = NULL;
    struct rsp_buf priv = RSP_BUF_INIT, pub = RSP_BUF_INIT, ps = RSP_BUF_INIT;
    uint8_t secret[32];
    int rc = rsp_key_generate(RSP_CURVE_NIST_P256, &k);
    if (rc == 0)
        rc = rsp_key_export_private_pem(k, &priv);
    if (rc == 0)
        rc = rsp_key_export_public_pem(k, &pub);
    if (rc == 0)
        rc = rsp_random(secret, sizeof secret);
    if (rc == 0) {
        rsp_hex_encode(&ps, secret, sizeof secret, 0);
        rc = rsp_buf_append_byte(&ps, '\n');
    }
    if (rc == 0)
        rc = rspctl_write_atomic(dir, "audit.key.pem", priv.data, priv.len, 0600);
    if (rc == 0)
        rc = rspctl_write_atomic(dir, "audit.pub.pem", pub.data, pub.len, 0644);
    if (rc == 0)
        rc = rspctl_write_atomic(dir, "pseudonym.key", ps.data, ps.len, 0600);
    char fp[65] = "";
    if (rc == 0)
        key_fingerprint(k, fp);
    rsp_memzero(secret, sizeof secret);
    rsp_buf_free_secure(&priv);
    rsp_buf_free_secure(&ps);
    rsp_buf_free(&pub);
    rsp_key_free(k);
    if (rc) {
        fprintf(stderr, "rspctl audit keygen: %s\n", rsp_strerror(rc));
        return 1;
    }
    printf("wrote %s/audit.key.pem (P-256 private key, mode 0600)\n"
           "wrote %s/audit.pub.pem (public key)\n"
           "wrote %s/pseudonym.key (pseudonym key, mode 0600)\n"
           "audit key fingerprint (key id): %s\n"
           "TEST/LAB KEYS: keep the private key and the pseudonym key out of the store's reach.\n",
           dir, dir, dir, fp);
    return 0;
}

/* ---- checkpoint ---- */

static int cmd_checkpoint(int argc, char **argv)
{
    const char *db = NULL, *keyf = NULL;
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i])) {
            printf(
                "usage: rspctl audit checkpoint --db SMDP.sqlite --key AUDIT_KEY.pem|PKCS11_URI\n"
                "\nSigns a checkpoint of the current chain head now (rsp-smdp signs them\n"
                "periodically; this one is for exports, tests and shutdown procedures).\n"
                "--key: a PEM file, or a pkcs11: URI naming the key in a token\n"
                "(pkcs11:token=T;object=L;type=private?pin-source=file:PIN_FILE; see\n"
                "rsp-smdp(8), HSM KEYS).\n");
            return 0;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--db", &db)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--key", &keyf))) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        fprintf(stderr, "rspctl audit checkpoint: unexpected argument '%s'\n", argv[i]);
        return EXIT_USAGE;
    }
    if (!db || !keyf) {
        fprintf(stderr,
                "usage: rspctl audit checkpoint --db SMDP.sqlite --key AUDIT_KEY.pem|PKCS11_URI\n");
        return EXIT_USAGE;
    }
    struct rsp_key *k = NULL;
    struct rsp_store *st = NULL;
    if (load_private("checkpoint", keyf, &k))
        return 1;
    if (open_db("checkpoint", db, &st)) {
        rsp_key_free(k);
        return 1;
    }
    struct rsp_audit_checkpoint cp;
    int rc = rsp_store_audit_checkpoint(st, k, (int64_t)time(NULL), &cp);
    if (rc == 0) {
        char h[65];
        rsp_hex_str(h, cp.hash, 32, 0);
        printf("checkpoint: seq %" PRId64 " hash %s\n", cp.seq, h);
    } else if (rc == 1) {
        printf("checkpoint: nothing new to sign (empty chain, or the head is checkpointed)\n");
        rc = 0;
    } else {
        fprintf(stderr, "rspctl audit checkpoint: %s\n", rsp_strerror(rc));
    }
    rsp_store_close(st);
    rsp_key_free(k);
    return rc ? 1 : 0;
}

/* ---- verify ---- */

struct report {
    bool quiet;
    unsigned long shown;
};

static void print_finding(void *arg, const struct rsp_audit_finding *f)
{
    struct report *r = arg;
    r->shown++;
    if (r->quiet && r->shown > 20)
        return;
    if (f->position)
        printf("FAIL seq %" PRId64 " (position %" PRIu64 ") [%s]: %s\n", f->seq, f->position,
               rsp_audit_problem_name(f->problem), f->detail);
    else
        printf("FAIL seq %" PRId64 " [%s]: %s\n", f->seq, rsp_audit_problem_name(f->problem),
               f->detail);
}

static int parse_expect(const char *s, struct rsp_audit_expect *e)
{
    const char *colon = strchr(s, ':');
    char num[24];
    if (!colon || (size_t)(colon - s) >= sizeof num || strlen(colon + 1) != 64)
        return -1;
    memcpy(num, s, (size_t)(colon - s));
    num[colon - s] = 0;
    struct rsp_buf b = RSP_BUF_INIT;
    int rc = parse_seq(num, &e->seq) || rsp_hex_decode(&b, colon + 1, 64) || b.len != 32;
    if (!rc)
        memcpy(e->hash, b.data, 32);
    rsp_buf_free(&b);
    return rc ? -1 : 0;
}

static void verify_usage(FILE *f)
{
    fprintf(
        f,
        "usage: rspctl audit verify --db SMDP.sqlite (--pubkey AUDIT_PUB.pem... | --chain-only)\n"
        "                           [--expect SEQ:HASH]... [--quiet]\n"
        "       rspctl audit verify --archive FILE [--pubkey AUDIT_PUB.pem]... [--quiet]\n"
        "\n"
        "Checks every audit record (its hash, its link to the one before, its seq), every\n"
        "signed checkpoint, the chain head and the prune anchor, and prints one FAIL line per\n"
        "problem with the seq where it is (edited, deleted, inserted, reordered records, bad\n"
        "signatures, a cut tail). --expect adds a (seq, hash) known from outside the store,\n"
        "e.g. an audit-checkpoint line of rsp-smdp's log, to catch a tail cut together with\n"
        "its checkpoints. An archive is checked with the key it carries unless --pubkey\n"
        "is given (compare the fingerprint it prints with the published one).\n"
        "Exit status 0: intact; 1: problems found or unreadable; 2: usage.\n");
}

static void print_result(const char *what, const struct rsp_audit_verify_result *r)
{
    if (r->findings == 0) {
        printf("audit verify: OK: %s: %" PRIu64 " record(s)", what, r->records);
        if (r->records)
            printf(" (seq %" PRId64 "..%" PRId64 ")", r->first_seq, r->last_seq);
        printf(", %" PRIu64 " checkpoint(s), %" PRIu64 " verified; signed through seq %" PRId64,
               r->checkpoints, r->checkpoints_ok, r->signed_seq);
        if (r->last_seq > r->signed_seq)
            printf("; records %" PRId64 "..%" PRId64 " await the next checkpoint",
                   r->signed_seq + 1, r->last_seq);
        printf("\n");
    } else {
        printf("audit verify: FAILED: %s: %" PRIu64 " problem(s), the first at seq %" PRId64 "\n",
               what, r->findings, r->first_bad_seq);
    }
}

static int verify_archive(const char *path, const struct rsp_key *const *keys, size_t n_keys,
                          struct report *rep)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, "rspctl audit verify: %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct rsp_audit_archive_reader *r = NULL;
    int rc = rsp_audit_archive_reader_new(keys, n_keys, print_finding, rep, &r);
    char line[RSP_AUDIT_ARCHIVE_LINE_MAX + 2];
    while (rc == 0 && fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        bool nl = n && line[n - 1] == '\n';
        if (!nl && !feof(f)) { /* longer than the reader accepts: let it say so */
            rc = rsp_audit_archive_reader_line(r, line, n);
            break;
        }
        rc = rsp_audit_archive_reader_line(r, line, nl ? n - 1 : n);
    }
    if (rc == 0 && ferror(f))
        rc = RSP_EIO;
    struct rsp_audit_verify_result res;
    if (rc == 0)
        rc = rsp_audit_archive_reader_finish(r, &res);
    int status = 1;
    if (rc == RSP_ESYNTAX) {
        printf("FAIL %s\n", rsp_audit_archive_reader_error(r));
        printf("audit verify: FAILED: %s is not a readable rspkit audit archive\n", path);
    } else if (rc) {
        fprintf(stderr, "rspctl audit verify: %s: %s\n", path, rsp_strerror(rc));
    } else {
        const struct rsp_audit_archive_info *info = rsp_audit_archive_reader_info(r);
        char kid[65];
        rsp_hex_str(kid, info->key_id, 32, 0);
        printf("archive %s: records %" PRId64 "..%" PRId64 " following hash %.16s...\n", path,
               info->first_seq, info->last_seq,
               info->first_seq > 1 ? "(of the record before)" : "0000000000000000");
        if (n_keys)
            printf("audit key: given with --pubkey; the archive's key %s... %s\n", kid,
                   rsp_audit_archive_reader_key_given(r) ? "is one of them" : "is NOT one of them");
        else
            printf("audit key: the one in the archive, fingerprint %s\n"
                   "           (compare it with the published audit key fingerprint)\n",
                   kid);
        print_result(path, &res);
        status = res.findings ? 1 : 0;
    }
    rsp_audit_archive_reader_free(r);
    if (f != stdin)
        fclose(f);
    return status;
}

static int cmd_verify(int argc, char **argv)
{
    const char *db = NULL, *archive = NULL, *v = NULL;
    const char *pubs[MAX_KEYS];
    size_t n_pubs = 0, n_expect = 0;
    struct rsp_audit_expect expect[MAX_EXPECT];
    bool chain_only = false;
    struct report rep = {false, 0};
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i])) {
            verify_usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--chain-only") == 0) {
            chain_only = true;
        } else if (strcmp(argv[i], "--quiet") == 0) {
            rep.quiet = true;
        } else if ((r = rspctl_opt_value(argc, argv, &i, "--db", &db)) ||
                   (r = rspctl_opt_value(argc, argv, &i, "--archive", &archive))) {
            if (r < 0)
                goto usage;
        } else if ((r = rspctl_opt_value(argc, argv, &i, "--pubkey", &v))) {
            if (r < 0 || n_pubs == MAX_KEYS)
                goto usage;
            pubs[n_pubs++] = v;
        } else if ((r = rspctl_opt_value(argc, argv, &i, "--expect", &v))) {
            if (r < 0 || n_expect == MAX_EXPECT || parse_expect(v, &expect[n_expect]) != 0) {
                fprintf(stderr, "rspctl audit verify: --expect takes SEQ:HASH (64 hex digits)\n");
                return EXIT_USAGE;
            }
            n_expect++;
        } else {
            goto usage;
        }
    }
    if ((!db) == (!archive) || (db && !n_pubs && !chain_only) || (archive && n_expect) ||
        (chain_only && n_pubs))
        goto usage;

    struct rsp_key *keys[MAX_KEYS] = {NULL};
    int status = 1;
    for (size_t i = 0; i < n_pubs; i++)
        if (load_public("verify", pubs[i], &keys[i]))
            goto done;
    if (archive) {
        status = verify_archive(archive, (const struct rsp_key *const *)keys, n_pubs, &rep);
        goto done;
    }
    struct rsp_store *st = NULL;
    if (open_db("verify", db, &st))
        goto done;
    struct rsp_audit_head h;
    struct rsp_audit_verify_result res;
    int rc = rsp_store_audit_head(st, &h);
    if (rc == 0)
        rc = rsp_store_audit_verify(st, (const struct rsp_key *const *)keys, n_pubs, expect,
                                    n_expect, print_finding, &rep, &res);
    if (rc) {
        fprintf(stderr, "rspctl audit verify: %s: %s\n", db, rsp_strerror(rc));
    } else {
        for (size_t i = 0; i < n_pubs; i++) {
            char fp[65];
            key_fingerprint(keys[i], fp);
            printf("audit key: %s\n", fp);
        }
        if (chain_only)
            printf("audit key: none given (--chain-only): checkpoint signatures NOT verified\n");
        if (h.base_seq)
            printf("pruned: the retained chain follows seq %" PRId64
                   " (its records are in an archive)\n",
                   h.base_seq);
        print_result(db, &res);
        status = res.findings ? 1 : 0;
    }
    rsp_store_close(st);
done:
    for (size_t i = 0; i < n_pubs; i++)
        rsp_key_free(keys[i]);
    return status;
usage:
    verify_usage(stderr);
    return EXIT_USAGE;
}

/* ---- export ---- */

struct export_ctx {
    struct rsp_buf *out;
    const uint8_t *key_id;
    const struct rsp_audit_head *head;
    int64_t from, to;
    uint64_t n_cp;
    bool to_signed;
    int64_t latest_cp; /* latest checkpoint by this key, at or below the head */
    uint8_t prev[32];  /* hash of record from - 1 */
    bool have_prev;
    uint64_t n_rec;
};

/* Checkpoints of the range signed by the export key (others are left out); counted, and written
 * when x->out is set. Also notes the latest checkpoint of the key. */
static int cp_collect(void *arg, const struct rsp_audit_checkpoint *cp)
{
    struct export_ctx *x = arg;
    if (memcmp(cp->key_id, x->key_id, 32) != 0)
        return 0;
    if (cp->seq > x->latest_cp && cp->seq <= x->head->seq)
        x->latest_cp = cp->seq;
    if (cp->seq < x->from || cp->seq > x->to)
        return 0;
    if (cp->seq == x->to)
        x->to_signed = true;
    x->n_cp++;
    return x->out ? rsp_audit_archive_checkpoint(cp, x->out) : 0;
}

static int rec_collect(void *arg, const struct rsp_audit_entry *e)
{
    struct export_ctx *x = arg;
    if (e->seq == x->from - 1) {
        memcpy(x->prev, e->hash, 32);
        x->have_prev = true;
        return 0;
    }
    x->n_rec++;
    return x->out ? rsp_audit_archive_record(e, x->out) : 0;
}

static void silent(void *arg, const struct rsp_audit_finding *f)
{
    (void)f;
    (*(unsigned *)arg)++;
}

static int cmd_export(int argc, char **argv)
{
    const char *db = NULL, *pubf = NULL, *keyf = NULL, *from_s = NULL, *to_s = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i])) {
            printf(
                "usage: rspctl audit export --db SMDP.sqlite (--pubkey AUDIT_PUB.pem | --key "
                "AUDIT_KEY.pem)\n"
                "                           [--from SEQ] [--to SEQ] OUT\n"
                "\n"
                "Writes records SEQ..SEQ with their checkpoints and the public audit key to the\n"
                "self-verifiable archive OUT (README inside; verify it with 'rspctl audit\n"
                "verify --archive OUT'). --from defaults to the first retained record, --to to\n"
                "the latest checkpoint; --to must be a checkpointed record so that the whole\n"
                "archive is covered by a signature ('rspctl audit checkpoint' makes one now).\n"
                "The range is checked first; the export is then noted in the store, which is\n"
                "what 'rspctl audit prune' requires.\n");
            return 0;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--db", &db)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--pubkey", &pubf)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--key", &keyf)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--from", &from_s)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--to", &to_s)) ||
            (r = rspctl_opt_value(argc, argv, &i, "-o", &out))) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        if (argv[i][0] == '-' || out) {
            fprintf(stderr, "rspctl audit export: unexpected argument '%s'\n", argv[i]);
            return EXIT_USAGE;
        }
        out = argv[i];
    }
    int64_t from = 0, to = 0;
    if (!db || !out || (!pubf) == (!keyf) || (from_s && parse_seq(from_s, &from)) ||
        (to_s && parse_seq(to_s, &to))) {
        fprintf(stderr, "usage: rspctl audit export --db SMDP.sqlite (--pubkey AUDIT_PUB.pem | "
                        "--key AUDIT_KEY.pem) [--from SEQ] [--to SEQ] OUT\n");
        return EXIT_USAGE;
    }
    struct rsp_key *k = NULL;
    struct rsp_store *st = NULL;
    struct rsp_buf a = RSP_BUF_INIT;
    int status = 1, rc;
    if ((pubf ? load_public("export", pubf, &k) : load_private("export", keyf, &k)) ||
        open_db("export", db, &st))
        goto done;
    struct rsp_audit_archive_info info;
    memset(&info, 0, sizeof info);
    struct rsp_audit_head h;
    rc = rsp_store_audit_head(st, &h);
    if (rc == 0)
        rc = rsp_key_point(k, info.public_key);
    if (rc == 0)
        rc = rsp_audit_key_id(k, info.key_id);
    struct export_ctx x = {NULL, info.key_id, &h, 0, 0, 0, false, 0, {0}, false, 0};
    if (rc == 0) /* the latest checkpoint of this key */
        rc = rsp_store_audit_checkpoints(st, cp_collect, &x);
    if (rc) {
        fprintf(stderr, "rspctl audit export: %s\n", rsp_strerror(rc));
        goto done;
    }
    if (!from)
        from = h.base_seq + 1;
    if (!to)
        to = x.latest_cp;
    if (to == 0 || from > h.seq) {
        fprintf(stderr,
                "rspctl audit export: nothing to export: no checkpoint signed by this key "
                "after seq %" PRId64 " (run 'rspctl audit checkpoint')\n",
                h.base_seq);
        goto done;
    }
    if (from <= h.base_seq || to < from || to > h.seq) {
        fprintf(stderr,
                "rspctl audit export: the range %" PRId64 "..%" PRId64
                " is not within the retained records %" PRId64 "..%" PRId64 "\n",
                from, to, h.base_seq + 1, h.seq);
        goto done;
    }
    /* The range must verify before it becomes an archive. */
    unsigned problems = 0;
    struct rsp_audit_verify_result res;
    const struct rsp_key *keys[1] = {k};
    rc = rsp_store_audit_verify(st, keys, 1, NULL, 0, silent, &problems, &res);
    if (rc == 0 && res.findings) {
        fprintf(stderr,
                "rspctl audit export: the chain does not verify (first problem at seq %" PRId64
                "); run 'rspctl audit verify'\n",
                res.first_bad_seq);
        goto done;
    }
    info.first_seq = from;
    info.last_seq = to;
    info.created_at = (int64_t)time(NULL);
    x.from = from;
    x.to = to;
    x.n_cp = 0;
    x.to_signed = false;
    if (rc == 0 && from - 1 > h.base_seq)
        rc = rsp_store_audit_walk(st, from - 1, from - 1, rec_collect, &x);
    if (rc == 0 && from - 1 == h.base_seq) {
        memcpy(x.prev, h.base_hash, 32);
        x.have_prev = true;
    }
    x.n_rec = 0;
    if (rc == 0) { /* counts first: the header announces them */
        x.out = NULL;
        rc = rsp_store_audit_checkpoints(st, cp_collect, &x);
        if (rc == 0)
            rc = rsp_store_audit_walk(st, from, to, rec_collect, &x);
    }
    if (rc) {
        fprintf(stderr, "rspctl audit export: %s\n", rsp_strerror(rc));
        goto done;
    }
    if (!x.to_signed) {
        fprintf(stderr,
                "rspctl audit export: seq %" PRId64 " has no checkpoint signed by this key: an "
                "archive must end at one (latest: seq %" PRId64 ")\n",
                to, x.latest_cp);
        goto done;
    }
    if (!x.have_prev || x.n_rec != (uint64_t)(to - from + 1)) {
        fprintf(stderr, "rspctl audit export: records of the range are missing\n");
        goto done;
    }
    memcpy(info.prev_hash, x.prev, 32);
    info.n_records = x.n_rec;
    info.n_checkpoints = x.n_cp;
    x.out = &a;
    x.n_cp = 0;
    x.n_rec = 0;
    rc = rsp_audit_archive_begin(&info, &a);
    if (rc == 0)
        rc = rsp_store_audit_checkpoints(st, cp_collect, &x);
    if (rc == 0)
        rc = rsp_store_audit_walk(st, from, to, rec_collect, &x);
    /* read back what is about to be written: it must verify as it stands */
    struct rsp_audit_archive_reader *rd = NULL;
    problems = 0;
    if (rc == 0)
        rc = rsp_audit_archive_reader_new(keys, 1, silent, &problems, &rd);
    for (size_t i = 0; rc == 0 && i < a.len;) {
        const uint8_t *nl = memchr(a.data + i, '\n', a.len - i);
        size_t n = nl ? (size_t)(nl - (a.data + i)) : a.len - i;
        rc = rsp_audit_archive_reader_line(rd, (const char *)a.data + i, n);
        i += n + 1;
    }
    if (rc == 0)
        rc = rsp_audit_archive_reader_finish(rd, &res);
    rsp_audit_archive_reader_free(rd);
    if (rc == 0 && (problems || res.findings)) {
        fprintf(stderr, "rspctl audit export: the archive does not verify; nothing written\n");
        goto done;
    }
    uint8_t digest[32];
    if (rc == 0)
        rc = rsp_sha256(a.data, a.len, digest);
    if (rc == 0 && rspctl_write_path(out, a.data, a.len, 0644) != 0) {
        fprintf(stderr, "rspctl audit export: cannot write %s\n", out);
        goto done;
    }
    if (rc == 0)
        rc = rsp_store_audit_export_mark(st, from, to, digest, rspctl_actor());
    if (rc) {
        fprintf(stderr, "rspctl audit export: %s\n", rsp_strerror(rc));
        goto done;
    }
    char hex[65];
    rsp_hex_str(hex, digest, 32, 0);
    printf("exported records %" PRId64 "..%" PRId64 " (%" PRIu64 " records, %" PRIu64
           " checkpoints) to %s\n"
           "archive sha256 %s\n"
           "verify with: rspctl audit verify --archive %s\n",
           from, to, info.n_records, info.n_checkpoints, out, hex, out);
    status = 0;
done:
    rsp_buf_free(&a);
    rsp_store_close(st);
    rsp_key_free(k);
    return status;
}

/* ---- prune ---- */

static int cmd_prune(int argc, char **argv)
{
    const char *db = NULL, *through_s = NULL;
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i])) {
            printf("usage: rspctl audit prune --db SMDP.sqlite --through SEQ\n"
                   "\n"
                   "Removes records up to SEQ from the live store once they are in archives\n"
                   "('rspctl audit export'). SEQ must be a checkpointed record; that checkpoint\n"
                   "stays as the anchor the remaining chain starts from, and the prune itself is\n"
                   "an audit record, so 'rspctl audit verify' keeps passing.\n");
            return 0;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--db", &db)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--through", &through_s))) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        fprintf(stderr, "rspctl audit prune: unexpected argument '%s'\n", argv[i]);
        return EXIT_USAGE;
    }
    int64_t through;
    if (!db || !through_s || parse_seq(through_s, &through)) {
        fprintf(stderr, "usage: rspctl audit prune --db SMDP.sqlite --through SEQ\n");
        return EXIT_USAGE;
    }
    struct rsp_store *st = NULL;
    if (open_db("prune", db, &st))
        return 1;
    int64_t n = 0;
    const char *why = "";
    int rc = rsp_store_audit_prune(st, through, rspctl_actor(), &n, &why);
    if (rc == RSP_ESTATE && why[0])
        fprintf(stderr, "rspctl audit prune: refused: %s\n", why);
    else if (rc)
        fprintf(stderr, "rspctl audit prune: %s\n", rsp_strerror(rc));
    else
        printf("pruned %" PRId64 " record(s) through seq %" PRId64
               "; the chain continues from that checkpoint\n",
               n, through);
    rsp_store_close(st);
    return rc ? 1 : 0;
}

/* ---- list ---- */

struct list_ctx {
    const char *key;
    unsigned long n;
};

static int print_record(void *arg, const struct rsp_audit_entry *e)
{
    struct list_ctx *l = arg;
    if (l->key && strcmp(l->key, e->key) != 0)
        return 0;
    char when[32] = "?";
    time_t t = (time_t)e->at;
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char h[17];
    rsp_hex_str(h, e->hash, 8, 0);
    printf("%" PRId64 " %s %s %s %s%s%s %s %s \"%s\" %s...\n", e->seq, when, e->entity, e->key,
           e->from, e->from[0] ? "->" : "", e->to, e->actor, e->subject[0] ? e->subject : "-",
           e->reason, h);
    l->n++;
    return 0;
}

static int cmd_list(int argc, char **argv)
{
    const char *db = NULL, *from_s = NULL, *to_s = NULL, *key = NULL;
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i])) {
            printf("usage: rspctl audit list --db SMDP.sqlite [--from SEQ] [--to SEQ] [--key KEY]\n"
                   "\nOne line per record: seq, time (UTC), entity, key, from->to, actor, subject\n"
                   "pseudonym, \"reason\", hash prefix.\n");
            return 0;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--db", &db)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--from", &from_s)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--to", &to_s)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--key", &key))) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        fprintf(stderr, "rspctl audit list: unexpected argument '%s'\n", argv[i]);
        return EXIT_USAGE;
    }
    int64_t from = 1, to = INT64_MAX;
    if (!db || (from_s && parse_seq(from_s, &from)) || (to_s && parse_seq(to_s, &to))) {
        fprintf(stderr, "usage: rspctl audit list --db SMDP.sqlite [--from SEQ] [--to SEQ] "
                        "[--key KEY]\n");
        return EXIT_USAGE;
    }
    struct rsp_store *st = NULL;
    if (open_db("list", db, &st))
        return 1;
    struct list_ctx l = {key, 0};
    int rc = from <= to ? rsp_store_audit_walk(st, from, to, print_record, &l) : 0;
    if (rc)
        fprintf(stderr, "rspctl audit list: %s\n", rsp_strerror(rc));
    rsp_store_close(st);
    return rc ? 1 : 0;
}

/* ---- pseudonym ---- */

static int cmd_pseudonym(int argc, char **argv)
{
    const char *kf = NULL, *cls_s = "eid", *id = NULL;
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i])) {
            printf("usage: rspctl audit pseudonym --key-file PSEUDONYM_KEY "
                   "[--class eid|imei|customer] ID\n"
                   "\nPrints the pseudonym under which audit records and logs name ID (what an\n"
                   "auditor holding the deployment's pseudonym key looks for).\n");
            return 0;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--key-file", &kf)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--class", &cls_s))) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        if (argv[i][0] == '-' || id)
            return EXIT_USAGE;
        id = argv[i];
    }
    enum rsp_pseudonym_class cls;
    if (strcmp(cls_s, "eid") == 0)
        cls = RSP_PSEUDONYM_EID;
    else if (strcmp(cls_s, "imei") == 0)
        cls = RSP_PSEUDONYM_IMEI;
    else if (strcmp(cls_s, "customer") == 0)
        cls = RSP_PSEUDONYM_CUSTOMER;
    else
        return EXIT_USAGE;
    if (!kf || !id) {
        fprintf(stderr, "usage: rspctl audit pseudonym --key-file PSEUDONYM_KEY "
                        "[--class eid|imei|customer] ID\n");
        return EXIT_USAGE;
    }
    struct rsp_buf b = RSP_BUF_INIT;
    struct rsp_pseudonym_key key;
    char p[RSP_PSEUDONYM_LEN + 1];
    int rc = rspctl_read_file(kf, &b);
    if (rc == 0)
        rc = rsp_pseudonym_key_parse(b.data, b.len, &key);
    rsp_buf_free_secure(&b);
    if (rc == 0)
        rc = rsp_pseudonym(&key, cls, id, p);
    rsp_memzero(&key, sizeof key);
    if (rc) {
        fprintf(stderr, "rspctl audit pseudonym: %s\n", rsp_strerror(rc));
        return 1;
    }
    printf("%s\n", p);
    return 0;
}

int rspctl_cmd_audit(int argc, char **argv)
{
    static const struct subcommand sub[] = {
        {"keygen", "make a test/lab audit key pair and pseudonym key", cmd_keygen},
        {"checkpoint", "sign a checkpoint of the chain head now", cmd_checkpoint},
        {"verify", "verify the live chain or an archive; says where it is broken", cmd_verify},
        {"export", "write records and checkpoints to a self-verifiable archive", cmd_export},
        {"prune", "drop archived records from the live store, keeping an anchor", cmd_prune},
        {"list", "print audit records", cmd_list},
        {"pseudonym", "the pseudonym of an EID, IMEI or customer reference", cmd_pseudonym},
    };
    return rspctl_dispatch("rspctl audit", sub, sizeof sub / sizeof sub[0], argc, argv);
}
