/* rspctl pki: generate and verify SGP.26-shaped test PKIs. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "rsp/cert.h"
#include "rsp/err.h"
#include "rsp/pki.h"
#include "rspctl.h"

/* --- pki init ------------------------------------------------------------------------------ */

static void pki_init_usage(FILE *f)
{
    fprintf(f,
            "usage: rspctl pki init DIR [options]\n"
            "\n"
            "Generates an SGP.26-shaped TEST PKI (CI, EUM, eUICC, DPauth, DPpb, DPtls) into\n"
            "DIR/{nist,brp}/: <role>.der and <role>.pem certificates, <role>.key.pem private\n"
            "keys (mode 0600), dptls.chain.pem (DPtls + CI certificates, for TLS servers).\n"
            "\n"
            "options:\n"
            "  --curve nist|brp|both   curves to generate (default both)\n"
            "  --smdp-host HOST        DPtls dNSName (default %s)\n"
            "  --smdp-oid OID          SM-DP+ OID in the DP certificates (default %s)\n"
            "  --eid EID               32-digit EID of the eUICC certificate (default %s)\n"
            "  --eum-iin IIN           IIN the EUM may issue EIDs under (default %s)\n"
            "  --days N                validity of every certificate (default %d)\n"
            "  --force                 replace an existing PKI in DIR\n",
            RSP_PKI_DEFAULT_SMDP_HOST, RSP_PKI_DEFAULT_SMDP_OID, RSP_PKI_DEFAULT_EID,
            RSP_PKI_DEFAULT_EUM_IIN, RSP_PKI_DEFAULT_DAYS);
}

static int write_set(const char *dir, const struct rsp_pki_set *set)
{
    char sub[PATH_MAX];
    const char *cdir = rsp_pki_curve_dir(set->curve);
    if (!cdir || snprintf(sub, sizeof sub, "%s/%s", dir, cdir) >= (int)sizeof sub)
        return RSP_EINVAL;
    if (rspctl_make_dir(sub) != 0) {
        fprintf(stderr, "rspctl: cannot create %s: %s\n", sub, strerror(errno));
        return RSP_EIO;
    }
    int rc = 0;
    for (int r = 0; r < RSP_PKI_NROLES && rc == 0; r++) {
        const struct rsp_pki_item *it = &set->item[r];
        const char *stem = rsp_pki_role_stem((enum rsp_pki_role)r);
        char name[64];
        struct rsp_buf pem = RSP_BUF_INIT;

        snprintf(name, sizeof name, "%s.der", stem);
        rc = rspctl_write_atomic(sub, name, it->cert_der.data, it->cert_der.len, 0644);
        if (rc == 0)
            printf("wrote %s/%s (certificate, DER, %zu bytes)\n", sub, name, it->cert_der.len);

        if (rc == 0)
            rc = rsp_pki_cert_pem(it->cert_der.data, it->cert_der.len, &pem);
        snprintf(name, sizeof name, "%s.pem", stem);
        if (rc == 0)
            rc = rspctl_write_atomic(sub, name, pem.data, pem.len, 0644);
        if (rc == 0)
            printf("wrote %s/%s (certificate, PEM)\n", sub, name);

        if (rc == 0 && r == RSP_PKI_DPTLS) {
            const struct rsp_buf *ci = &set->item[RSP_PKI_CI].cert_der;
            rc = rsp_pki_cert_pem(ci->data, ci->len, &pem);
            snprintf(name, sizeof name, "%s.chain.pem", stem);
            if (rc == 0)
                rc = rspctl_write_atomic(sub, name, pem.data, pem.len, 0644);
            if (rc == 0)
                printf("wrote %s/%s (DPtls + CI certificates, PEM)\n", sub, name);
        }
        rsp_buf_free(&pem);

        snprintf(name, sizeof name, "%s.key.pem", stem);
        if (rc == 0)
            rc = rspctl_write_atomic(sub, name, it->key_pem.data, it->key_pem.len, 0600);
        if (rc == 0)
            printf("wrote %s/%s (private key, mode 0600)\n", sub, name);
        if (rc != 0)
            fprintf(stderr, "rspctl: writing %s/%s failed: %s\n", sub, name, rsp_strerror(rc));
    }
    return rc;
}

static int cmd_pki_init(int argc, char **argv)
{
    struct rsp_pki_opts o;
    rsp_pki_opts_default(&o);
    const char *dir = NULL;
    bool force = false;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m;
        if (rspctl_is_help(argv[i])) {
            pki_init_usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--force") == 0) {
            force = true;
            continue;
        }
        if ((m = rspctl_opt_value(argc, argv, &i, "--curve", &v)) != 0) {
            if (m > 0 && strcmp(v, "nist") == 0)
                o.curves = RSP_PKI_NIST;
            else if (m > 0 && strcmp(v, "brp") == 0)
                o.curves = RSP_PKI_BRP;
            else if (m > 0 && strcmp(v, "both") == 0)
                o.curves = RSP_PKI_BOTH;
            else
                goto usage;
        } else if ((m = rspctl_opt_value(argc, argv, &i, "--smdp-host", &v)) != 0) {
            if (m < 0)
                goto usage;
            o.smdp_host = v;
        } else if ((m = rspctl_opt_value(argc, argv, &i, "--smdp-oid", &v)) != 0) {
            if (m < 0)
                goto usage;
            o.smdp_oid = v;
        } else if ((m = rspctl_opt_value(argc, argv, &i, "--eid", &v)) != 0) {
            if (m < 0)
                goto usage;
            o.eid = v;
        } else if ((m = rspctl_opt_value(argc, argv, &i, "--eum-iin", &v)) != 0) {
            if (m < 0)
                goto usage;
            o.eum_iin = v;
        } else if ((m = rspctl_opt_value(argc, argv, &i, "--days", &v)) != 0) {
            char *end = NULL;
            long d = m > 0 ? strtol(v, &end, 10) : 0;
            if (m < 0 || !end || *end || d <= 0 || d > 100000)
                goto usage;
            o.days = (unsigned)d;
        } else if (argv[i][0] == '-' || dir) {
            goto usage;
        } else {
            dir = argv[i];
        }
    }
    if (!dir)
        goto usage;

    if (rspctl_make_dir(dir) != 0) {
        fprintf(stderr, "rspctl: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    if (!force) {
        static const char *const cdirs[] = {"nist", "brp"};
        for (int c = 0; c < 2; c++) {
            char p[PATH_MAX];
            struct stat st;
            if (snprintf(p, sizeof p, "%s/%s/ci.der", dir, cdirs[c]) >= (int)sizeof p) {
                fprintf(stderr, "rspctl: path too long\n");
                return 1;
            }
            if (stat(p, &st) == 0) {
                fprintf(stderr, "rspctl: %s exists; use --force to replace the PKI\n", p);
                return 1;
            }
        }
    }
    struct rsp_pki pki;
    int rc = rsp_pki_generate(&o, &pki);
    if (rc != 0) {
        fprintf(stderr, "rspctl: generating the PKI failed: %s\n", rsp_strerror(rc));
        return rc == RSP_ESYNTAX || rc == RSP_EINVAL ? EXIT_USAGE : 1;
    }
    for (size_t s = 0; s < pki.n && rc == 0; s++)
        rc = write_set(dir, &pki.set[s]);
    rsp_pki_free(&pki);
    if (rc == 0)
        printf("test PKI ready in %s (SM-DP+ %s, OID %s, EID %s). TEST KEYS ONLY.\n", dir,
               o.smdp_host, o.smdp_oid, o.eid);
    return rc == 0 ? 0 : 1;
usage:
    pki_init_usage(stderr);
    return EXIT_USAGE;
}

/* --- pki verify ---------------------------------------------------------------------------- */

static struct rsp_cert *load_cert(const char *sub, const char *stem)
{
    char path[PATH_MAX];
    struct rsp_buf b = RSP_BUF_INIT;
    struct rsp_cert *c = NULL;
    int rc =
        snprintf(path, sizeof path, "%s/%s.der", sub, stem) < (int)sizeof path ? 0 : RSP_ERANGE;
    if (rc == 0)
        rc = rspctl_read_file(path, &b);
    if (rc == 0)
        rc = rsp_cert_parse(b.data, b.len, &c);
    rsp_buf_free(&b);
    if (rc != 0)
        fprintf(stderr, "  %s: %s\n", path, rsp_strerror(rc));
    return c;
}

static int verify_set(const char *sub, time_t now)
{
    struct rsp_cert *c[RSP_PKI_NROLES];
    int bad = 0;
    for (int r = 0; r < RSP_PKI_NROLES; r++) {
        c[r] = load_cert(sub, rsp_pki_role_stem((enum rsp_pki_role)r));
        if (!c[r])
            bad = 1;
    }
    char detail[RSP_CERT_DETAIL_SZ];
    if (!bad) {
        int rc = rsp_cert_verify_euicc_chain(c[RSP_PKI_CI], c[RSP_PKI_EUM], c[RSP_PKI_EUICC], now,
                                             detail, sizeof detail);
        char eid[RSP_EID_DIGITS + 1] = "?";
        rsp_cert_eid(c[RSP_PKI_EUICC], eid);
        printf("%s: CI -> EUM -> eUICC (EID %s): %s\n", sub, eid, rc == 0 ? "ok" : detail);
        bad |= rc != 0;
        static const struct {
            enum rsp_pki_role idx;
            enum rsp_cert_role role;
        } dps[] = {{RSP_PKI_DPAUTH, RSP_ROLE_DP_AUTH},
                   {RSP_PKI_DPPB, RSP_ROLE_DP_PB},
                   {RSP_PKI_DPTLS, RSP_ROLE_DP_TLS}};
        for (size_t i = 0; i < sizeof dps / sizeof dps[0]; i++) {
            rc = rsp_cert_verify_dp(c[RSP_PKI_CI], c[dps[i].idx], dps[i].role, now, detail,
                                    sizeof detail);
            char oid[64] = "?";
            rsp_cert_registered_id(c[dps[i].idx], oid, sizeof oid);
            printf("%s: CI -> %s (SM-DP+ OID %s): %s\n", sub, rsp_cert_role_name(dps[i].role), oid,
                   rc == 0 ? "ok" : detail);
            bad |= rc != 0;
        }
    }
    for (int r = 0; r < RSP_PKI_NROLES; r++)
        rsp_cert_free(c[r]);
    return bad;
}

static int cmd_pki_verify(int argc, char **argv)
{
    if (argc == 2 && rspctl_is_help(argv[1])) {
        printf("usage: rspctl pki verify DIR\n\nRe-verifies the chains of a PKI written by "
               "'rspctl pki init' at the current time.\n");
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: rspctl pki verify DIR\n");
        return EXIT_USAGE;
    }
    static const char *const cdirs[] = {"nist", "brp"};
    int found = 0, bad = 0;
    time_t now = time(NULL);
    for (int i = 0; i < 2; i++) {
        char sub[PATH_MAX];
        struct stat st;
        if (snprintf(sub, sizeof sub, "%s/%s", argv[1], cdirs[i]) >= (int)sizeof sub ||
            stat(sub, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        found++;
        bad |= verify_set(sub, now);
    }
    if (!found) {
        fprintf(stderr, "rspctl: no nist/ or brp/ PKI under %s\n", argv[1]);
        return 1;
    }
    return bad ? 1 : 0;
}

/* --- pki issue ----------------------------------------------------------------------------- */

static void pki_issue_usage(FILE *f)
{
    fprintf(
        f,
        "usage: rspctl pki issue DIR --role euicc|eum -o OUT [options]\n"
        "\n"
        "Issues one more TEST certificate from the PKI in DIR (written by 'rspctl pki init'\n"
        "or by this command): an eUICC certificate signed by DIR's EUM, or an EUM certificate\n"
        "signed by DIR's CI. OUT/CURVE/ gets the new <role>.der, <role>.pem, <role>.key.pem\n"
        "(mode 0600) and copies of the issuers (ci.*, and eum.* for an eUICC), so OUT is a\n"
        "credential directory for 'rsp-lpa --euicc soft:OUT' (or, for an EUM, the DIR of a\n"
        "further 'pki issue --role euicc').\n"
        "\n"
        "options:\n"
        "  --curve nist|brp        curve directory to use (default nist)\n"
        "  --eid EID               32-digit EID of an eUICC certificate (default %s)\n"
        "  --eum-iin IIN           permitted IIN of an EUM certificate (default %s)\n"
        "  --days N                validity in days (default %d)\n"
        "  --start-days N          start of validity N days from now (negative: in the past;\n"
        "                          default: one hour ago). Expired: --start-days -10 --days 1;\n"
        "                          not yet valid: --start-days 10\n",
        RSP_PKI_DEFAULT_EID, RSP_PKI_DEFAULT_EUM_IIN, RSP_PKI_DEFAULT_DAYS);
}

static int copy_cert(const char *src_sub, const char *dst_sub, const char *stem)
{
    char path[PATH_MAX], name[64];
    struct rsp_buf b = RSP_BUF_INIT;
    int rc = 0;
    static const char *const exts[] = {"der", "pem"};
    for (int e = 0; e < 2 && rc == 0; e++) {
        snprintf(name, sizeof name, "%s.%s", stem, exts[e]);
        if (snprintf(path, sizeof path, "%s/%s", src_sub, name) >= (int)sizeof path)
            return RSP_EINVAL;
        rsp_buf_reset(&b);
        rc = rspctl_read_file(path, &b);
        if (rc == 0)
            rc = rspctl_write_atomic(dst_sub, name, b.data, b.len, 0644);
    }
    rsp_buf_free(&b);
    return rc;
}

static int cmd_pki_issue(int argc, char **argv)
{
    struct rsp_pki_opts o;
    rsp_pki_opts_default(&o);
    const char *dir = NULL, *outdir = NULL, *cdir = "nist";
    int role = -1;
    long start_days = 0;
    bool has_start = false;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m;
        if (rspctl_is_help(argv[i])) {
            pki_issue_usage(stdout);
            return 0;
        }
        if ((m = rspctl_opt_value(argc, argv, &i, "--curve", &v)) != 0) {
            if (m < 0 || (strcmp(v, "nist") != 0 && strcmp(v, "brp") != 0))
                goto usage;
            cdir = v;
        } else if ((m = rspctl_opt_value(argc, argv, &i, "--role", &v)) != 0) {
            if (m > 0 && strcmp(v, "euicc") == 0)
                role = RSP_PKI_EUICC;
            else if (m > 0 && strcmp(v, "eum") == 0)
                role = RSP_PKI_EUM;
            else
                goto usage;
        } else if ((m = rspctl_opt_value(argc, argv, &i, "-o", &v)) != 0) {
            if (m < 0)
                goto usage;
            outdir = v;
        } else if ((m = rspctl_opt_value(argc, argv, &i, "--eid", &v)) != 0) {
            if (m < 0)
                goto usage;
            o.eid = v;
        } else if ((m = rspctl_opt_value(argc, argv, &i, "--eum-iin", &v)) != 0) {
            if (m < 0)
                goto usage;
            o.eum_iin = v;
        } else if ((m = rspctl_opt_value(argc, argv, &i, "--days", &v)) != 0) {
            char *end = NULL;
            long d = m > 0 ? strtol(v, &end, 10) : 0;
            if (m < 0 || !end || *end || d <= 0 || d > 100000)
                goto usage;
            o.days = (unsigned)d;
        } else if ((m = rspctl_opt_value(argc, argv, &i, "--start-days", &v)) != 0) {
            char *end = NULL;
            long d = m > 0 ? strtol(v, &end, 10) : 0;
            if (m < 0 || !end || *end || d < -100000 || d > 100000)
                goto usage;
            start_days = d;
            has_start = true;
        } else if (argv[i][0] == '-' || dir) {
            goto usage;
        } else {
            dir = argv[i];
        }
    }
    if (!dir || !outdir || role < 0)
        goto usage;
    if (has_start)
        o.not_before = time(NULL) + (time_t)start_days * 86400;
    if (o.not_before == 0)
        o.not_before = time(NULL) - 3600;

    char src[PATH_MAX], dst[PATH_MAX], path[PATH_MAX];
    if (snprintf(src, sizeof src, "%s/%s", dir, cdir) >= (int)sizeof src ||
        snprintf(dst, sizeof dst, "%s/%s", outdir, cdir) >= (int)sizeof dst) {
        fprintf(stderr, "rspctl: path too long\n");
        return 1;
    }
    const char *istem = role == RSP_PKI_EUICC ? "eum" : "ci";
    const char *stem = rsp_pki_role_stem((enum rsp_pki_role)role);
    struct rsp_pki_item issuer = {RSP_BUF_INIT, RSP_BUF_INIT}, item = {RSP_BUF_INIT, RSP_BUF_INIT};
    int rc = 0;
    if (snprintf(path, sizeof path, "%s/%s.der", src, istem) >= (int)sizeof path)
        rc = RSP_EINVAL;
    if (rc == 0)
        rc = rspctl_read_file(path, &issuer.cert_der);
    if (rc == 0 && snprintf(path, sizeof path, "%s/%s.key.pem", src, istem) >= (int)sizeof path)
        rc = RSP_EINVAL;
    if (rc == 0)
        rc = rspctl_read_file(path, &issuer.key_pem);
    if (rc != 0) {
        fprintf(stderr, "rspctl: cannot read the issuer (%s): %s\n", path, rsp_strerror(rc));
        rsp_buf_free(&issuer.cert_der);
        rsp_buf_free_secure(&issuer.key_pem);
        return 1;
    }
    rc = rsp_pki_issue(&issuer, (enum rsp_pki_role)role, &o, &item);
    rsp_buf_free(&issuer.cert_der);
    rsp_buf_free_secure(&issuer.key_pem);
    if (rc != 0) {
        fprintf(stderr, "rspctl: issuing the certificate failed: %s\n", rsp_strerror(rc));
        return rc == RSP_ESYNTAX || rc == RSP_EINVAL ? EXIT_USAGE : 1;
    }
    if (rspctl_make_dir(outdir) != 0 || rspctl_make_dir(dst) != 0) {
        fprintf(stderr, "rspctl: cannot create %s: %s\n", dst, strerror(errno));
        rc = RSP_EIO;
    }
    struct rsp_buf pem = RSP_BUF_INIT;
    char name[64];
    if (rc == 0 && strcmp(src, dst) != 0) {
        rc = copy_cert(src, dst, "ci");
        if (rc == 0 && role == RSP_PKI_EUICC)
            rc = copy_cert(src, dst, "eum");
    }
    snprintf(name, sizeof name, "%s.der", stem);
    if (rc == 0)
        rc = rspctl_write_atomic(dst, name, item.cert_der.data, item.cert_der.len, 0644);
    if (rc == 0)
        rc = rsp_pki_cert_pem(item.cert_der.data, item.cert_der.len, &pem);
    snprintf(name, sizeof name, "%s.pem", stem);
    if (rc == 0)
        rc = rspctl_write_atomic(dst, name, pem.data, pem.len, 0644);
    snprintf(name, sizeof name, "%s.key.pem", stem);
    if (rc == 0)
        rc = rspctl_write_atomic(dst, name, item.key_pem.data, item.key_pem.len, 0600);
    rsp_buf_free(&pem);
    rsp_buf_free(&item.cert_der);
    rsp_buf_free_secure(&item.key_pem);
    if (rc != 0) {
        fprintf(stderr, "rspctl: writing %s failed: %s\n", dst, rsp_strerror(rc));
        return 1;
    }
    printf("issued %s/%s.der (%s). TEST KEYS ONLY.\n", dst, stem,
           role == RSP_PKI_EUICC ? o.eid : o.eum_iin);
    return 0;
usage:
    pki_issue_usage(stderr);
    return EXIT_USAGE;
}

static const struct subcommand pki_cmds[] = {
    {"init", "generate an SGP.26-shaped test PKI into a directory", cmd_pki_init},
    {"verify", "re-verify the certificate chains of such a directory", cmd_pki_verify},
    {"issue", "issue one more test eUICC or EUM certificate from such a directory", cmd_pki_issue},
};

int rspctl_cmd_pki(int argc, char **argv)
{
    return rspctl_dispatch("rspctl pki", pki_cmds, sizeof pki_cmds / sizeof pki_cmds[0], argc,
                           argv);
}
