/* rspctl profiles: the SM-DP+ inventory (docs/MANIFEST.md).
 *
 *   rspctl profiles import --db STORE --operator-cert OPERATOR.pem [--operator ID]
 *          (--package UPP --manifest M | --dir DIR | --csv FILE) [--store-packages-in DIR]
 *   rspctl profiles import --db STORE --operator-cert OPERATOR.pem [--operator ID]
 *          --batch-manifest BATCH (--package UPP | --dir DIR) [--store-packages-in DIR]
 *   rspctl profiles list --db STORE [--state S] [--json]
 *
 * STORE is the SM-DP+ store: an SQLite file (a path or sqlite:PATH) or a PostgreSQL database
 * (postgresql://USER@HOST/DB), as rsp-smdp's `database` setting.
 *   rspctl profiles generate --iccid ICCID --imsi IMSI [--spn S] [--profile-type T] -o UPP.der
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rsp/err.h"
#include "rsp/inventory_csv.h"
#include "rsp/manifest.h"
#include "rsp/saip.h"
#include "rsp/store.h"

#include "rspctl.h"

#define MAX_PAIRS 100000
#define MAX_PATH  1024

struct pair {
    char label[128];
    char pkg_path[MAX_PATH];
    char man_path[MAX_PATH];
    struct rsp_buf pkg, man;
    char reason[320];
    int rc; /* outcome of reading and verifying (prep_range) */
};

struct pairs {
    struct pair *v;
    size_t n, cap;
};

static int add_pair(struct pairs *ps, const char *label, const char *pkg, const char *man)
{
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? 2 * ps->cap : 64;
        if (cap > MAX_PAIRS)
            return RSP_ERANGE;
        struct pair *v = realloc(ps->v, cap * sizeof *v);
        if (!v)
            return RSP_ENOMEM;
        ps->v = v;
        ps->cap = cap;
    }
    struct pair *p = &ps->v[ps->n];
    memset(p, 0, sizeof *p);
    if (snprintf(p->label, sizeof p->label, "%s", label) >= (int)sizeof p->label ||
        snprintf(p->pkg_path, sizeof p->pkg_path, "%s", pkg) >= (int)sizeof p->pkg_path ||
        snprintf(p->man_path, sizeof p->man_path, "%s", man) >= (int)sizeof p->man_path)
        return RSP_ERANGE;
    ps->n++;
    return 0;
}

static void free_pairs(struct pairs *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        rsp_buf_free(&ps->v[i].pkg);
        rsp_buf_free(&ps->v[i].man);
    }
    free(ps->v);
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n > k && strcmp(s + n - k, suf) == 0;
}

/* NAME.der with NAME.manifest, sorted by name. A .der without its manifest is still listed (it
 * is refused and reported). */
static int collect_dir(const char *dir, struct pairs *ps)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0)
        return RSP_EIO;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *nm = ents[i]->d_name;
        if (rc == 0 && nm[0] != '.' && has_suffix(nm, ".der")) {
            char pkg[MAX_PATH], man[MAX_PATH];
            int base = (int)(strlen(nm) - 4);
            if (snprintf(pkg, sizeof pkg, "%s/%s", dir, nm) >= (int)sizeof pkg ||
                snprintf(man, sizeof man, "%s/%.*s.manifest", dir, base, nm) >= (int)sizeof man)
                rc = RSP_ERANGE;
            else
                rc = add_pair(ps, nm, pkg, man);
        }
        free(ents[i]);
    }
    free(ents);
    return rc;
}

static int add_pair_cb(void *ctx, const char *label, const char *pkg, const char *man)
{
    return add_pair(ctx, label, pkg, man);
}

/* CSV: "package,manifest" per line (rsp_inventory_csv_parse, src/ops/inventory_csv.c); relative
 * paths are taken from the CSV file's directory. */
static int collect_csv(const char *csv, struct pairs *ps)
{
    struct rsp_buf text = RSP_BUF_INIT;
    if (rspctl_read_file(csv, &text) != 0) {
        rsp_buf_free(&text);
        return RSP_EIO;
    }
    char base[MAX_PATH];
    const char *slash = strrchr(csv, '/');
    snprintf(base, sizeof base, "%.*s", slash ? (int)(slash - csv) : 1, slash ? csv : ".");
    size_t line = 0;
    int rc =
        rsp_inventory_csv_parse((const char *)text.data, text.len, base, add_pair_cb, ps, &line);
    if (rc == RSP_ESYNTAX)
        fprintf(stderr, "rspctl profiles import: %s:%zu: expected package,manifest\n", csv, line);
    rsp_buf_free(&text);
    return rc;
}

/* Opens the store named by --db (a path, sqlite:PATH or a postgresql:// URL); prints why not. */
static int open_store(const char *db, struct rsp_store **st, const char *cmd)
{
    char why[512], shown[1024];
    int e = rsp_store_open_url(db, st, why, sizeof why);
    if (e) {
        rsp_store_url_redact(db, shown, sizeof shown);
        fprintf(stderr, "rspctl profiles %s: %s: cannot open (%s: %s)\n", cmd, shown,
                rsp_strerror(e), why);
    }
    return e;
}

struct prep_job {
    struct pairs *ps;
    struct rsp_store_import_item *items;
    const struct rsp_key *pub;
    const char *op;
    const struct rsp_manifest_batch *batch; /* --batch-manifest: verified; pair.man gets records */
    size_t from, to;
};

/* Reads and verifies pairs from..to-1; each pair's outcome in its rc (0, RSP_EVERIFY with the
 * item refused and the reason filled, or another error). */
static void *prep_range(void *arg)
{
    struct prep_job *j = arg;
    for (size_t i = j->from; i < j->to; i++) {
        struct pair *p = &j->ps->v[i];
        if (j->batch) {
            if (rspctl_read_file(p->pkg_path, &p->pkg)) {
                snprintf(p->reason, sizeof p->reason, "%s: input: cannot read the package",
                         p->label);
                j->items[i].refused = p->reason;
                p->rc = RSP_EVERIFY;
                continue;
            }
            p->rc = rsp_inventory_prepare_batch(p->pkg.data, p->pkg.len, j->batch, p->label,
                                                &j->items[i], &p->man, p->reason, sizeof p->reason);
            continue;
        }
        if (rspctl_read_file(p->pkg_path, &p->pkg) || rspctl_read_file(p->man_path, &p->man)) {
            snprintf(p->reason, sizeof p->reason,
                     "%s: input: cannot read the package or its manifest", p->label);
            j->items[i].refused = p->reason;
            p->rc = RSP_EVERIFY;
            continue;
        }
        p->rc = rsp_inventory_prepare(p->pkg.data, p->pkg.len, p->man.data, p->man.len, j->pub,
                                      j->op, p->label, &j->items[i], p->reason, sizeof p->reason);
    }
    return NULL;
}

static void prep_all(struct pairs *ps, struct rsp_store_import_item *items,
                     const struct rsp_key *pub, const char *op,
                     const struct rsp_manifest_batch *batch)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nt = ncpu < 1 ? 1 : ncpu > 16 ? 16 : (size_t)ncpu;
    if (nt > ps->n / 64 + 1) /* small inputs: not worth a thread */
        nt = ps->n / 64 + 1;
    struct prep_job jobs[16];
    pthread_t th[16];
    size_t per = (ps->n + nt - 1) / nt, started = 0;
    for (size_t t = 0; t < nt; t++) {
        jobs[t] = (struct prep_job){.ps = ps,
                                    .items = items,
                                    .pub = pub,
                                    .op = op,
                                    .batch = batch,
                                    .from = t * per < ps->n ? t * per : ps->n,
                                    .to = (t + 1) * per < ps->n ? (t + 1) * per : ps->n};
        if (t == 0 || pthread_create(&th[t], NULL, prep_range, &jobs[t]) != 0)
            continue; /* job 0 (and any thread that could not start) runs here */
        started |= (size_t)1 << t;
    }
    for (size_t t = 0; t < nt; t++)
        if (!(started & ((size_t)1 << t)))
            prep_range(&jobs[t]);
    for (size_t t = 1; t < nt; t++)
        if (started & ((size_t)1 << t))
            pthread_join(th[t], NULL);
}

static void import_usage(FILE *f)
{
    fprintf(f, "usage: rspctl profiles import --db STORE --operator-cert OPERATOR.pem\n"
               "         [--operator ID] (--package UPP --manifest M | --dir DIR | --csv FILE)\n"
               "         [--store-packages-in DIR]\n"
               "       rspctl profiles import --db STORE --operator-cert OPERATOR.pem\n"
               "         [--operator ID] --batch-manifest BATCH (--package UPP | --dir DIR)\n"
               "         [--store-packages-in DIR]\n"
               "  STORE: SQLite file (PATH or sqlite:PATH) or postgresql://USER@HOST/DB\n"
               "  --batch-manifest: one operator signature over the entries of many packages\n"
               "    (rspctl manifest sign --batch); --dir then takes every *.der in DIR\n");
}

static int cmd_import(int argc, char **argv)
{
    const char *db = NULL, *cert = NULL, *op = NULL, *pkg = NULL, *man = NULL, *dir = NULL;
    const char *csv = NULL, *store_dir = NULL, *batch_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r;
        if (rspctl_is_help(a)) {
            import_usage(stdout);
            return 0;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--db", &db)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--operator-cert", &cert)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--operator", &op)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--package", &pkg)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--manifest", &man)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--dir", &dir)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--csv", &csv)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--store-packages-in", &store_dir)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--batch-manifest", &batch_path))) {
            if (r < 0) {
                fprintf(stderr, "rspctl profiles import: %s needs a value\n", a);
                return EXIT_USAGE;
            }
            continue;
        }
        fprintf(stderr, "rspctl profiles import: unexpected argument '%s'\n", a);
        import_usage(stderr);
        return EXIT_USAGE;
    }
    int sources = (pkg || man) + (dir != NULL) + (csv != NULL);
    if (!db || !cert || sources != 1 ||
        (batch_path ? (man != NULL || csv != NULL) : (!pkg) != (!man))) {
        import_usage(stderr);
        return EXIT_USAGE;
    }
    struct pairs ps = {0};
    struct rsp_key *pub = NULL;
    struct rsp_store *st = NULL;
    struct rsp_store_import_item *items = NULL;
    struct rsp_buf batch_der = RSP_BUF_INIT;
    struct rsp_manifest_batch batch;
    memset(&batch, 0, sizeof batch);
    int rc = 1, e;
    if (rspctl_load_operator_key(cert, &pub)) {
        fprintf(stderr, "rspctl profiles import: %s: no usable operator certificate or key\n",
                cert);
        goto done;
    }
    if (batch_path) { /* the whole batch first: a batch that does not verify imports nothing */
        struct rsp_manifest_refusal why;
        if (rspctl_read_file(batch_path, &batch_der)) {
            fprintf(stderr, "rspctl profiles import: cannot read %s\n", batch_path);
            goto done;
        }
        if ((e = rsp_manifest_batch_decode(batch_der.data, batch_der.len, &batch)) != 0) {
            fprintf(stderr, "rspctl profiles import: %s: malformed batch manifest (%s)\n",
                    batch_path, rsp_strerror(e));
            goto done;
        }
        if ((e = rsp_manifest_batch_verify(&batch, pub, op, &why)) != 0) {
            fprintf(stderr, "rspctl profiles import: %s: REFUSED: %s%s%s; nothing imported\n",
                    batch_path, e == RSP_EVERIFY ? rsp_manifest_check_name(why.check) : "",
                    e == RSP_EVERIFY ? ": " : "", e == RSP_EVERIFY ? why.detail : rsp_strerror(e));
            goto done;
        }
    }
    e = pkg   ? add_pair(&ps, pkg, pkg, man ? man : "-")
        : dir ? collect_dir(dir, &ps)
              : collect_csv(csv, &ps);
    if (e) {
        fprintf(stderr, "rspctl profiles import: cannot list the input (%s)\n", rsp_strerror(e));
        goto done;
    }
    if (store_dir && rspctl_make_dir(store_dir)) {
        fprintf(stderr, "rspctl profiles import: cannot create %s\n", store_dir);
        goto done;
    }
    items = calloc(ps.n ? ps.n : 1, sizeof *items);
    if (!items)
        goto done;
    size_t refused = 0;
    /* Reading and verifying (an ECDSA verification per item) is independent per item: one thread
     * per CPU; the store then takes the whole batch in one transaction, in input order. */
    prep_all(&ps, items, pub, op, batch_path ? &batch : NULL);
    for (size_t i = 0; i < ps.n; i++) {
        struct pair *p = &ps.v[i];
        e = p->rc;
        if (e && e != RSP_EVERIFY) {
            fprintf(stderr, "rspctl profiles import: %s: %s\n", p->label, rsp_strerror(e));
            goto done;
        }
        if (e == 0 && store_dir) {
            char fname[32];
            snprintf(fname, sizeof fname, "%s.der", items[i].profile.iccid);
            int n = snprintf(items[i].profile.package_path, sizeof items[i].profile.package_path,
                             "%s/%s", store_dir, fname);
            if (n >= (int)sizeof items[i].profile.package_path ||
                rspctl_write_atomic(store_dir, fname, p->pkg.data, p->pkg.len, 0640)) {
                fprintf(stderr, "rspctl profiles import: cannot store %s in %s\n", fname,
                        store_dir);
                goto done;
            }
            items[i].pkg = NULL;
            items[i].pkg_len = 0;
        }
    }
    if ((e = open_store(db, &st, "import")) != 0)
        goto done;
    if ((e = rsp_store_profile_import(st, items, ps.n, rspctl_actor())) != 0) {
        fprintf(stderr, "rspctl profiles import: nothing imported: %s%s%s\n", rsp_strerror(e),
                *rsp_store_last_error(st) ? ": " : "", rsp_store_last_error(st));
        goto done;
    }
    size_t added = 0, present = 0;
    for (size_t i = 0; i < ps.n; i++) {
        const struct rsp_store_import_item *it = &items[i];
        if (it->result == 0) {
            printf("imported %s (%s)\n", it->profile.iccid, ps.v[i].label);
            added++;
        } else if (it->result == RSP_STORE_IMPORT_PRESENT) {
            printf("present  %s (%s)\n", it->profile.iccid, ps.v[i].label);
            present++;
        } else if (it->result == RSP_ESTATE) {
            fprintf(stderr,
                    "REFUSED %s: ICCID %s already in the inventory with another "
                    "manifest\n",
                    ps.v[i].label, it->profile.iccid);
            refused++;
        } else {
            fprintf(stderr, "REFUSED %s\n", it->refused ? it->refused : ps.v[i].label);
            refused++;
        }
    }
    printf("%zu imported, %zu already present, %zu refused\n", added, present, refused);
    rc = refused ? 1 : 0;
done:
    rsp_store_close(st);
    rsp_key_free(pub);
    free(items);
    free_pairs(&ps);
    rsp_manifest_batch_free(&batch);
    rsp_buf_free(&batch_der);
    return rc;
}

/* ---- list ---- */

struct list_ctx {
    bool json;
    size_t n;
};

static const char *class_str(enum rsp_profile_class c)
{
    return c == RSP_PROFILE_CLASS_TEST           ? "test"
           : c == RSP_PROFILE_CLASS_PROVISIONING ? "provisioning"
                                                 : "operational";
}

/* JSON string of inventory text (the importer only stores validated UTF-8 without controls). */
static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static int list_one(void *arg, const struct rsp_profile *p)
{
    struct list_ctx *c = arg;
    char sha[65];
    rsp_hex_str(sha, p->package_sha256, sizeof p->package_sha256, 0);
    if (c->json) {
        printf("%s{\"iccid\":", c->n ? "," : "");
        json_str(p->iccid);
        printf(",\"imsi\":");
        json_str(p->imsi);
        printf(",\"state\":\"%s\",\"profileType\":", rsp_profile_state_name(p->state));
        json_str(p->profile_type);
        printf(",\"serviceProviderName\":");
        json_str(p->spn);
        printf(",\"profileName\":");
        json_str(p->name);
        printf(",\"profileClass\":\"%s\",\"owner\":", class_str(p->pclass));
        json_str(p->owner);
        printf(",\"ownerPlmn\":");
        json_str(p->operator_);
        printf(",\"packageSha256\":\"%s\"}", sha);
    } else {
        printf("%-20s %-15s %-11s %-12s %-16s %s\n", p->iccid, p->imsi,
               rsp_profile_state_name(p->state), class_str(p->pclass), p->owner, p->name);
    }
    c->n++;
    return 0;
}

static int cmd_list(int argc, char **argv)
{
    const char *db = NULL, *state = NULL;
    struct list_ctx c = {false, 0};
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i])) {
            printf("usage: rspctl profiles list --db STORE [--state S] [--json]\n"
                   "  STORE: SQLite file (PATH or sqlite:PATH) or postgresql://USER@HOST/DB\n");
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0) {
            c.json = true;
            continue;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--db", &db)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--state", &state))) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        fprintf(stderr, "rspctl profiles list: unexpected argument '%s'\n", argv[i]);
        return EXIT_USAGE;
    }
    enum rsp_profile_state s;
    if (!db || (state && rsp_profile_state_from_name(state, &s))) {
        fprintf(stderr, "usage: rspctl profiles list --db STORE [--state S] [--json]\n"
                        "  S: Available, Allocated, Linked, Confirmed, Released, Downloaded,\n"
                        "     Installed, Error, Unavailable\n");
        return EXIT_USAGE;
    }
    struct rsp_store *st;
    int e = open_store(db, &st, "list");
    if (e)
        return 1;
    if (c.json)
        printf("[");
    e = rsp_store_profile_list(st, state ? &s : NULL, list_one, &c);
    if (c.json)
        printf("]\n");
    if (e)
        fprintf(stderr, "rspctl profiles list: %s%s%s\n", rsp_strerror(e),
                *rsp_store_last_error(st) ? ": " : "", rsp_store_last_error(st));
    rsp_store_close(st);
    return e ? 1 : 0;
}

/* ---- generate ---- */

static int cmd_generate(int argc, char **argv)
{
    const char *iccid = NULL, *imsi = NULL, *spn = NULL, *ptype = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i])) {
            printf("usage: rspctl profiles generate --iccid ICCID --imsi IMSI [--spn S]\n"
                   "         [--profile-type T] -o UPP.der\n");
            return 0;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--iccid", &iccid)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--imsi", &imsi)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--spn", &spn)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--profile-type", &ptype)) ||
            (r = rspctl_opt_value(argc, argv, &i, "-o", &out))) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        fprintf(stderr, "rspctl profiles generate: unexpected argument '%s'\n", argv[i]);
        return EXIT_USAGE;
    }
    if (!iccid || !imsi || !out) {
        fprintf(stderr, "usage: rspctl profiles generate --iccid ICCID --imsi IMSI [--spn S]\n"
                        "         [--profile-type T] -o UPP.der\n");
        return EXIT_USAGE;
    }
    struct rsp_saip_gen_params p;
    memset(&p, 0, sizeof p);
    p.iccid = iccid;
    p.imsi = imsi;
    p.spn = spn ? spn : "";
    p.profile_type = ptype;
    struct rsp_buf b = RSP_BUF_INIT;
    /* Test profiles: fresh random Milenage K and OPc, never printed. */
    int e = rsp_random(p.ki, sizeof p.ki);
    if (e == 0)
        e = rsp_random(p.opc, sizeof p.opc);
    if (e == 0)
        e = rsp_saip_generate(&p, &b);
    rsp_memzero(p.ki, sizeof p.ki);
    rsp_memzero(p.opc, sizeof p.opc);
    int rc = 0;
    if (e == RSP_EINVAL || e == RSP_ESYNTAX) {
        fprintf(stderr, "rspctl profiles generate: bad --iccid, --imsi, --spn or --profile-type\n");
        rc = EXIT_USAGE;
    } else if (e) {
        fprintf(stderr, "rspctl profiles generate: %s\n", rsp_strerror(e));
        rc = 1;
    } else if (rspctl_write_path(out, b.data, b.len, 0640)) {
        fprintf(stderr, "rspctl profiles generate: cannot write %s\n", out);
        rc = 1;
    }
    rsp_buf_free_secure(&b);
    return rc;
}

static const struct subcommand profile_cmds[] = {
    {"import", "verify packages against signed manifests and add them as Available", cmd_import},
    {"list", "show the inventory", cmd_list},
    {"generate", "generate a test profile package (SAIP)", cmd_generate},
};

int rspctl_cmd_profiles(int argc, char **argv)
{
    return rspctl_dispatch("rspctl profiles", profile_cmds,
                           sizeof profile_cmds / sizeof profile_cmds[0], argc, argv);
}
