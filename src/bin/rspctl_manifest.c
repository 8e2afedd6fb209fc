/* rspctl manifest: operator-signed profile manifests (docs/MANIFEST.md).
 *
 *   rspctl manifest sign --key OPERATOR_KEY.pem --operator ID --package UPP.der [--spn S]
 *                        [--name N] [--class test|provisioning|operational] [--profile-type T]
 *                        [--owner MCCMNC] -o MANIFEST
 *   rspctl manifest verify (--cert|--pubkey) OPERATOR.pem [--operator ID] --package UPP.der
 * MANIFEST
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    fprintf(f,
            "usage: rspctl manifest sign --key OPERATOR_KEY.pem --operator ID --package UPP.der\n"
            "         [--spn S] [--name N] [--class test|provisioning|operational]\n"
            "         [--profile-type T] [--owner MCCMNC] -o MANIFEST\n");
}

static int cmd_sign(int argc, char **argv)
{
    const char *key_path = NULL, *op = NULL, *pkg_path = NULL, *spn = NULL, *name = NULL;
    const char *cls = NULL, *ptype = NULL, *owner = NULL, *out_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r;
        if (rspctl_is_help(a)) {
            sign_usage(stdout);
            return 0;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--key", &key_path)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--operator", &op)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--package", &pkg_path)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--spn", &spn)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--name", &name)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--class", &cls)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--profile-type", &ptype)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--owner", &owner)) ||
            (r = rspctl_opt_value(argc, argv, &i, "-o", &out_path))) {
            if (r < 0) {
                fprintf(stderr, "rspctl manifest sign: %s needs a value\n", a);
                return EXIT_USAGE;
            }
            continue;
        }
        fprintf(stderr, "rspctl manifest sign: unexpected argument '%s'\n", a);
        sign_usage(stderr);
        return EXIT_USAGE;
    }
    if (!key_path || !op || !pkg_path || !out_path) {
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
               "         --package UPP.der MANIFEST\n");
}

static int cmd_verify(int argc, char **argv)
{
    const char *cert = NULL, *op = NULL, *pkg_path = NULL, *man_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r;
        if (rspctl_is_help(a)) {
            verify_usage(stdout);
            return 0;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--cert", &cert)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--pubkey", &cert)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--operator", &op)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--package", &pkg_path))) {
            if (r < 0) {
                fprintf(stderr, "rspctl manifest verify: %s needs a value\n", a);
                return EXIT_USAGE;
            }
            continue;
        }
        if (a[0] == '-' || man_path) {
            fprintf(stderr, "rspctl manifest verify: unexpected argument '%s'\n", a);
            verify_usage(stderr);
            return EXIT_USAGE;
        }
        man_path = a;
    }
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
    {"sign", "describe a profile package and sign the manifest with the operator's key", cmd_sign},
    {"verify", "verify a manifest against the operator's certificate and the package", cmd_verify},
};

int rspctl_cmd_manifest(int argc, char **argv)
{
    return rspctl_dispatch("rspctl manifest", manifest_cmds,
                           sizeof manifest_cmds / sizeof manifest_cmds[0], argc, argv);
}
