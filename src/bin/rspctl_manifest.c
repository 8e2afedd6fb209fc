/* rspctl manifest: operator-signed profile manifests (docs/MANIFEST.md).
 *
 *   rspctl manifest sign --key OPERATOR_KEY.pem --operator ID --package UPP.der [--spn S]
 *                        [--name N] [--class test|provisioning|operational] [--profile-type T]
 *                        [--owner MCCMNC] -o MANIFEST
 *   rspctl manifest verify (--cert|--pubkey) OPERATOR.pem [--operator ID] --package UPP.der
 * MANIFEST
 *   rspctl manifest sign --batch --key OPERATOR_KEY.pem --operator ID [same options]
 *                        -o BATCH_MANIFEST (--dir DIR | UPP.der...)
 *   rspctl manifest verify --batch (--cert|--pubkey) OPERATOR.pem [--operator ID] BATCH_MANIFEST
 *                        [UPP.der...]
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "rsp/crypto.h"
#include "rsp/err.h"
#include "rsp/manifest.h"

#include "rspctl.h"

int rspctl_write_path(const char *path, const void *data, size_t len, mode_t mode)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    if (!*name)
        return RSP_EINVAL;
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) >= sizeof dir)
        return RSP_ERANGE;
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    return rspctl_write_atomic(dir, name, data, len, mode);
}

int rspctl_load_operator_key(const char *path, struct rsp_key **out)
{
    struct rsp_buf b = RSP_BUF_INIT;
    int rc = rspctl_read_file(path, &b);
    if (rc == 0)
        rc = rsp_operator_key_load(b.data, b.len, out);
    rsp_buf_free(&b);
    return rc;
}

static int parse_class(const char *s, enum rsp_profile_class *c)
{
    if (strcmp(s, "test") == 0)
        *c = RSP_PROFILE_CLASS_TEST;
    else if (strcmp(s, "provisioning") == 0)
        *c = RSP_PROFILE_CLASS_PROVISIONING;
    else if (strcmp(s, "operational") == 0)
        *c = RSP_PROFILE_CLASS_OPERATIONAL;
    else
        return -1;
    return 0;
}

static int set_text(char *dst, size_t cap, const char *v, const char *what)
{
    if (strlen(v) >= cap) {
        fprintf(stderr, "rspctl manifest: %s longer than %zu bytes\n", what, cap - 1);
        return -1;
    }
    snprintf(dst, cap, "%s", v);
    return 0;
}

static void sign_usage(FILE *f)
{
    fprintf(
        f, "usage: rspctl manifest sign --key OPERATOR_KEY.pem --operator ID --package UPP.der\n"
           "         [--spn S] [--name N] [--class test|provisioning|operational]\n"
           "         [--profile-type T] [--owner MCCMNC] -o MANIFEST\n"
           "       rspctl manifest sign --batch --key OPERATOR_KEY.pem --operator ID\n"
           "         [the options above but --package] -o BATCH_MANIFEST (--dir DIR | UPP.der...)\n"
           "         one signature over an entry per package (docs/MANIFEST.md)\n");
}

/* Package paths of a batch: the *.der files of dir (sorted by name) or the arguments. */
struct paths {
    char **v;
    size_t n;
};

static int paths_add(struct paths *ps, const char *dir, const char *name)
{
    if (ps->n >= RSP_MANIFEST_BATCH_MAX_ENTRIES)
        return RSP_ERANGE;
    char **v = realloc(ps->v, (ps->n + 1) * sizeof *v);
    if (!v)
        return RSP_ENOMEM;
    ps->v = v;
    size_t len = (dir ? strlen(dir) + 1 : 0) + strlen(name) + 1;
    if (!(v[ps->n] = malloc(len)))
        return RSP_ENOMEM;
    snprintf(v[ps->n], len, "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
    ps->n++;
    return 0;
}

static void paths_free(struct paths *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        free(ps->v[i]);
    free(ps->v);
}

static int paths_dir(struct paths *ps, const char *dir)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0)
        return RSP_EIO;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(ents[i]->d_name);
        if (rc == 0 && ents[i]->d_name[0] != '.' && l > 4 &&
            strcmp(ents[i]->d_name + l - 4, ".der") == 0)
            rc = paths_add(ps, dir, ents[i]->d_name);
        free(ents[i]);
    }
    free(ents);
    return rc;
}

struct batch_opts {
    const char *key_path, *op, *spn, *name, *cls, *ptype, *owner, *out_path;
};

/* One entry per package (as `sign` describes one), one signature over them all. */
static int sign_batch(const struct batch_opts *o, const struct paths *pkgs)
{
    enum rsp_profile_class pclass = RSP_PROFILE_CLASS_OPERATIONAL;
    if (o->cls && parse_class(o->cls, &pclass)) {
        fprintf(stderr, "rspctl manifest sign: --class: test, provisioning or operational\n");
        return EXIT_USAGE;
    }
    if (pkgs->n == 0) {
        fprintf(stderr, "rspctl manifest sign: no package\n");
        return EXIT_USAGE;
    }
    struct rsp_manifest *e = calloc(pkgs->n, sizeof *e);
    struct rsp_buf pkg = RSP_BUF_INIT, keyb = RSP_BUF_INIT, out = RSP_BUF_INIT;
    struct rsp_key *key = NULL;
    int rc = 1, x;
    if (!e)
        goto done;
    for (size_t i = 0; i < pkgs->n; i++) {
        rsp_buf_reset(&pkg);
        if (rspctl_read_file(pkgs->v[i], &pkg)) {
            fprintf(stderr, "rspctl manifest sign: cannot read %s\n", pkgs->v[i]);
            goto done;
        }
        if ((x = rsp_manifest_from_package(pkg.data, pkg.len, &e[i])) != 0) {
            fprintf(stderr, "rspctl manifest sign: %s: %s\n", pkgs->v[i],
                    x == RSP_EMISSING ? "the package has no IMSI (EF.IMSI)"
                                      : "not a profile package");
            goto done;
        }
        e[i].pclass = pclass;
        if (set_text(e[i].operator_id, sizeof e[i].operator_id, o->op, "--operator") ||
            (o->spn && set_text(e[i].spn, sizeof e[i].spn, o->spn, "--spn")) ||
            (o->name && set_text(e[i].name, sizeof e[i].name, o->name, "--name")) ||
            (o->ptype &&
             set_text(e[i].profile_type, sizeof e[i].profile_type, o->ptype, "--profile-type")) ||
            (o->owner && set_text(e[i].owner_plmn, sizeof e[i].owner_plmn, o->owner, "--owner"))) {
            rc = EXIT_USAGE;
            goto done;
        }
    }
    if (rspctl_read_file(o->key_path, &keyb) || rsp_key_from_private(keyb.data, keyb.len, &key)) {
        fprintf(stderr, "rspctl manifest sign: %s: not a usable EC private key\n", o->key_path);
        goto done;
    }
    x = rsp_manifest_batch_sign(e, pkgs->n, o->op, e[0].created_at, key, &out);
    if (x) {
        fprintf(stderr,
                "rspctl manifest sign: %s (check --operator, --owner, the texts, and that no ICCID "
                "is there twice)\n",
                rsp_strerror(x));
        rc = x == RSP_ESYNTAX || x == RSP_ERANGE ? EXIT_USAGE : 1;
        goto done;
    }
    if (rspctl_write_path(o->out_path, out.data, out.len, 0644)) {
        fprintf(stderr, "rspctl manifest sign: cannot write %s\n", o->out_path);
        goto done;
    }
    uint8_t d[RSP_SHA256_LEN];
    char hex[2 * RSP_SHA256_LEN + 1];
    rsp_sha256(out.data, out.len, d);
    rsp_hex_str(hex, d, sizeof d, 0);
    printf("{\"operatorId\":\"%s\",\"entries\":%zu,\"createdAt\":%lld,\"sha256\":\"%s\"}\n", o->op,
           pkgs->n, (long long)e[0].created_at, hex);
    rc = 0;
done:
    rsp_key_free(key);
    rsp_buf_free_secure(&keyb);
    rsp_buf_free(&pkg);
    rsp_buf_free(&out);
    free(e);
    return rc;
}

static int cmd_sign(int argc, char **argv)
{
    const char *key_path = NULL, *op = NULL, *pkg_path = NULL, *spn = NULL, *name = NULL;
    const char *cls = NULL, *ptype = NULL, *owner = NULL, *out_path = NULL, *dir = NULL;
    bool batch = false;
    struct paths pkgs = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r;
        if (rspctl_is_help(a)) {
            sign_usage(stdout);
            paths_free(&pkgs);
            return 0;
        }
        if (strcmp(a, "--batch") == 0) {
            batch = true;
            continue;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--key", &key_path)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--operator", &op)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--package", &pkg_path)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--spn", &spn)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--name", &name)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--class", &cls)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--profile-type", &ptype)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--owner", &owner)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--dir", &dir)) ||
            (r = rspctl_opt_value(argc, argv, &i, "-o", &out_path))) {
            if (r < 0) {
                fprintf(stderr, "rspctl manifest sign: %s needs a value\n", a);
                paths_free(&pkgs);
                return EXIT_USAGE;
            }
            continue;
        }
        if (batch && a[0] != '-' && paths_add(&pkgs, NULL, a) == 0)
            continue;
        fprintf(stderr, "rspctl manifest sign: unexpected argument '%s'\n", a);
        sign_usage(stderr);
        paths_free(&pkgs);
        return EXIT_USAGE;
    }
    if (batch) {
        int e = 0;
        if (!key_path || !op || pkg_path || !out_path || (dir != NULL) == (pkgs.n > 0) ||
            (dir && (e = paths_dir(&pkgs, dir)) != 0)) {
            if (e)
                fprintf(stderr, "rspctl manifest sign: %s: cannot list (%s)\n", dir,
                        rsp_strerror(e));
            else
                sign_usage(stderr);
            paths_free(&pkgs);
            return e ? 1 : EXIT_USAGE;
        }
        struct batch_opts bo = {key_path, op, spn, name, cls, ptype, owner, out_path};
        int rc = sign_batch(&bo, &pkgs);
        paths_free(&pkgs);
        return rc;
    }
    if (!key_path || !op || !pkg_path || !out_path || dir) {
        sign_usage(stderr);
        return EXIT_USAGE;
    }
    enum rsp_profile_class pclass = RSP_PROFILE_CLASS_OPERATIONAL;
    if (cls && parse_class(cls, &pclass)) {
        fprintf(stderr, "rspctl manifest sign: --class: test, provisioning or operational\n");
        return EXIT_USAGE;
    }
    struct rsp_buf pkg = RSP_BUF_INIT, keyb = RSP_BUF_INIT, out = RSP_BUF_INIT;
    struct rsp_key *key = NULL;
    struct rsp_manifest m;
    int rc = 1;
    if (rspctl_read_file(pkg_path, &pkg)) {
        fprintf(stderr, "rspctl manifest sign: cannot read %s\n", pkg_path);
        goto done;
    }
    int e = rsp_manifest_from_package(pkg.data, pkg.len, &m);
    if (e == RSP_EMISSING) {
        fprintf(stderr, "rspctl manifest sign: %s: the package has no IMSI (EF.IMSI)\n", pkg_path);
        goto done;
    }
    if (e) {
        fprintf(stderr, "rspctl manifest sign: %s: not a profile package (%s)\n", pkg_path,
                rsp_strerror(e));
        goto done;
    }
    m.pclass = pclass;
    if (set_text(m.operator_id, sizeof m.operator_id, op, "--operator") ||
        (spn && set_text(m.spn, sizeof m.spn, spn, "--spn")) ||
        (name && set_text(m.name, sizeof m.name, name, "--name")) ||
        (ptype && set_text(m.profile_type, sizeof m.profile_type, ptype, "--profile-type")) ||
        (owner && set_text(m.owner_plmn, sizeof m.owner_plmn, owner, "--owner"))) {
        rc = EXIT_USAGE;
        goto done;
    }
    if (rspctl_read_file(key_path, &keyb) || rsp_key_from_private(keyb.data, keyb.len, &key)) {
        fprintf(stderr, "rspctl manifest sign: %s: not a usable EC private key\n", key_path);
        goto done;
    }
    e = rsp_manifest_sign(&m, key);
    if (e == 0)
        e = rsp_manifest_encode(&m, &out);
    if (e) {
        fprintf(stderr, "rspctl manifest sign: %s (check --operator, --owner and the texts)\n",
                rsp_strerror(e));
        rc = e == RSP_ESYNTAX || e == RSP_ERANGE ? EXIT_USAGE : 1;
        goto done;
    }
    if (rspctl_write_path(out_path, out.data, out.len, 0644)) {
        fprintf(stderr, "rspctl manifest sign: cannot write %s\n", out_path);
        goto done;
    }
    struct rsp_buf js = RSP_BUF_INIT;
    if (rsp_manifest_json(&m, &js) == 0)
        printf("%.*s\n", (int)js.len, (const char *)js.data);
    rsp_buf_free(&js);
    rc = 0;
done:
    rsp_key_free(key);
    rsp_buf_free_secure(&keyb);
    rsp_buf_free(&pkg);
    rsp_buf_free(&out);
    return rc;
}

static void verify_usage(FILE *f)
{
    fprintf(f, "usage: rspctl manifest verify (--cert|--pubkey) OPERATOR.pem [--operator ID]\n"
               "         --package UPP.der MANIFEST\n"
               "       rspctl manifest verify --batch (--cert|--pubkey) OPERATOR.pem\n"
               "         [--operator ID] BATCH_MANIFEST [UPP.der...]\n");
}

/* The batch's signature (and operator), then each package given against its entry. */
static int verify_batch(const char *cert, const char *op, const char *path, char **pkgs,
                        size_t npkg)
{
    struct rsp_buf der = RSP_BUF_INIT, pkg = RSP_BUF_INIT, rec = RSP_BUF_INIT;
    struct rsp_key *pub = NULL;
    struct rsp_manifest_batch b;
    struct rsp_manifest_refusal why;
    memset(&b, 0, sizeof b);
    int rc = 1, e;
    if (rspctl_load_operator_key(cert, &pub)) {
        fprintf(stderr, "rspctl manifest verify: %s: no usable operator certificate or key\n",
                cert);
    } else if (rspctl_read_file(path, &der)) {
        fprintf(stderr, "rspctl manifest verify: cannot read %s\n", path);
    } else if ((e = rsp_manifest_batch_decode(der.data, der.len, &b)) != 0) {
        fprintf(stderr, "rspctl manifest verify: %s: malformed batch manifest (%s)\n", path,
                rsp_strerror(e));
    } else if ((e = rsp_manifest_batch_verify(&b, pub, op, &why)) != 0) {
        if (e == RSP_EVERIFY)
            fprintf(stderr, "rspctl manifest verify: REFUSED: %s: %s\n",
                    rsp_manifest_check_name(why.check), why.detail);
        else
            fprintf(stderr, "rspctl manifest verify: %s\n", rsp_strerror(e));
    } else {
        char hex[2 * RSP_SHA256_LEN + 1];
        rsp_hex_str(hex, b.digest, sizeof b.digest, 0);
        printf("{\"operatorId\":\"%s\",\"entries\":%zu,\"createdAt\":%lld,\"sha256\":\"%s\"}\n",
               b.operator_id, b.n, (long long)b.created_at, hex);
        rc = 0;
        for (size_t i = 0; i < npkg; i++) {
            struct rsp_store_import_item it;
            char reason[320];
            rsp_buf_reset(&pkg);
            if (rspctl_read_file(pkgs[i], &pkg)) {
                fprintf(stderr, "REFUSED %s: cannot read it\n", pkgs[i]);
                rc = 1;
                continue;
            }
            e = rsp_inventory_prepare_batch(pkg.data, pkg.len, &b, pkgs[i], &it, &rec, reason,
                                            sizeof reason);
            if (e == 0) {
                printf("OK %s: ICCID %s\n", pkgs[i], it.profile.iccid);
            } else {
                fprintf(stderr, "REFUSED %s\n", e == RSP_EVERIFY ? reason : rsp_strerror(e));
                rc = 1;
            }
        }
        if (rc == 0)
            printf("OK: signature verified%s\n",
                   npkg ? "; digest, ICCID and IMSI of every package too" : "");
    }
    rsp_manifest_batch_free(&b);
    rsp_key_free(pub);
    rsp_buf_free(&der);
    rsp_buf_free(&pkg);
    rsp_buf_free(&rec);
    return rc;
}

static int cmd_verify(int argc, char **argv)
{
    const char *cert = NULL, *op = NULL, *pkg_path = NULL, *man_path = NULL;
    bool batch = false;
    char **extra = calloc((size_t)argc + 1, sizeof *extra);
    size_t nextra = 0;
    if (!extra)
        return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r;
        if (rspctl_is_help(a)) {
            verify_usage(stdout);
            free(extra);
            return 0;
        }
        if (strcmp(a, "--batch") == 0) {
            batch = true;
            continue;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--cert", &cert)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--pubkey", &cert)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--operator", &op)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--package", &pkg_path))) {
            if (r < 0) {
                fprintf(stderr, "rspctl manifest verify: %s needs a value\n", a);
                free(extra);
                return EXIT_USAGE;
            }
            continue;
        }
        if (batch && a[0] != '-' && man_path) {
            extra[nextra++] = argv[i];
            continue;
        }
        if (a[0] == '-' || man_path) {
            fprintf(stderr, "rspctl manifest verify: unexpected argument '%s'\n", a);
            verify_usage(stderr);
            free(extra);
            return EXIT_USAGE;
        }
        man_path = a;
    }
    if (batch) {
        int rc = EXIT_USAGE;
        if (!cert || pkg_path || !man_path)
            verify_usage(stderr);
        else
            rc = verify_batch(cert, op, man_path, extra, nextra);
        free(extra);
        return rc;
    }
    free(extra);
    if (!cert || !pkg_path || !man_path) {
        verify_usage(stderr);
        return EXIT_USAGE;
    }
    struct rsp_buf pkg = RSP_BUF_INIT, man = RSP_BUF_INIT, js = RSP_BUF_INIT;
    struct rsp_key *pub = NULL;
    struct rsp_manifest m;
    struct rsp_manifest_refusal why;
    int rc = 1, e;
    if (rspctl_load_operator_key(cert, &pub)) {
        fprintf(stderr, "rspctl manifest verify: %s: no usable operator certificate or key\n",
                cert);
    } else if (rspctl_read_file(pkg_path, &pkg) || rspctl_read_file(man_path, &man)) {
        fprintf(stderr, "rspctl manifest verify: cannot read the package or the manifest\n");
    } else if ((e = rsp_manifest_decode(man.data, man.len, &m)) != 0) {
        fprintf(stderr, "rspctl manifest verify: %s: malformed manifest (%s)\n", man_path,
                rsp_strerror(e));
    } else if ((e = rsp_manifest_verify(&m, pub, op, pkg.data, pkg.len, &why)) != 0) {
        if (e == RSP_EVERIFY)
            fprintf(stderr, "rspctl manifest verify: REFUSED: %s: %s\n",
                    rsp_manifest_check_name(why.check), why.detail);
        else
            fprintf(stderr, "rspctl manifest verify: %s\n", rsp_strerror(e));
    } else {
        if (rsp_manifest_json(&m, &js) == 0)
            printf("%.*s\n", (int)js.len, (const char *)js.data);
        printf("OK: signature, digest, ICCID and IMSI verified\n");
        rc = 0;
    }
    rsp_key_free(pub);
    rsp_buf_free(&pkg);
    rsp_buf_free(&man);
    rsp_buf_free(&js);
    return rc;
}

static const struct subcommand manifest_cmds[] = {
    {"sign",
     "describe a profile package and sign the manifest with the operator's key (--batch: many "
     "packages, one signature)",
     cmd_sign},
    {"verify",
     "verify a manifest against the operator's certificate and the package (--batch: a batch "
     "manifest)",
     cmd_verify},
};

int rspctl_cmd_manifest(int argc, char **argv)
{
    return rspctl_dispatch("rspctl manifest", manifest_cmds,
                           sizeof manifest_cmds / sizeof manifest_cmds[0], argc, argv);
}
