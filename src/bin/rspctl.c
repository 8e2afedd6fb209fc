/* rspctl: operator tool for rspkit.
 *
 * Subcommands live in a table (name, summary, handler); add a row to add one. Exit codes: 0
 * success, 1 failure, 2 usage error.
 *
 *   rspctl pki init DIR [--curve nist|brp|both] [--smdp-host HOST] [--smdp-oid OID] [--eid EID]
 *                       [--eum-iin IIN] [--days N] [--force]
 *   rspctl pki verify DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rsp/err.h"

#include "rspctl.h"
#include "rspctl_act.h"

int rspctl_usage_table(FILE *f, const char *prefix, const struct subcommand *t, size_t n)
{
    fprintf(f, "usage: %s <command> [args]\n\ncommands:\n", prefix);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %-10s %s\n", t[i].name, t[i].summary);
    fprintf(f, "\nRun '%s <command> --help' for details.\n", prefix);
    return 0;
}

bool rspctl_is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0;
}

/* Dispatches argv[1] among the table; argv[0] is the caller's own name. */
int rspctl_dispatch(const char *prefix, const struct subcommand *t, size_t n, int argc, char **argv)
{
    if (argc < 2) {
        rspctl_usage_table(stderr, prefix, t, n);
        return EXIT_USAGE;
    }
    if (rspctl_is_help(argv[1])) {
        rspctl_usage_table(stdout, prefix, t, n);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(argv[1], t[i].name) == 0)
            return t[i].run(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s'\n", prefix, argv[1]);
    rspctl_usage_table(stderr, prefix, t, n);
    return EXIT_USAGE;
}

/* --- file helpers (the library does no I/O) ------------------------------------------------- */

int rspctl_read_file(const char *path, struct rsp_buf *out)
{
    bool std_in = strcmp(path, "-") == 0;
    FILE *f = std_in ? stdin : fopen(path, "rb");
    if (!f)
        return RSP_EIO;
    uint8_t chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        rsp_buf_append(out, chunk, got);
    int bad = ferror(f);
    if (!std_in)
        fclose(f);
    return bad ? RSP_EIO : out->err;
}

int rspctl_write_atomic(const char *dir, const char *name, const void *data, size_t len,
                        mode_t mode)
{
    char tmp[PATH_MAX], dst[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name) >= (int)sizeof tmp ||
        snprintf(dst, sizeof dst, "%s/%s", dir, name) >= (int)sizeof dst)
        return RSP_ERANGE;
    int fd = mkstemp(tmp);
    if (fd < 0)
        return RSP_EIO;
    int rc = 0;
    if (fchmod(fd, mode) != 0)
        rc = RSP_EIO;
    const uint8_t *p = data;
    size_t left = len;
    while (rc == 0 && left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = RSP_EIO;
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = RSP_EIO;
    if (close(fd) != 0 && rc == 0)
        rc = RSP_EIO;
    if (rc == 0 && rename(tmp, dst) != 0)
        rc = RSP_EIO;
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

int rspctl_make_dir(const char *path)
{
    if (mkdir(path, 0755) == 0)
        return 0;
    struct stat st;
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    return RSP_EIO;
}

/* Matches "--name VALUE" or "--name=VALUE"; advances *i past what it consumed. 1 matched,
 * 0 not this option, -1 value missing. */
int rspctl_opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != 0)
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *val = argv[++*i];
    return 1;
}

const char *rspctl_actor(void)
{
    static char actor[80];
    const struct passwd *pw = getpwuid(geteuid());
    if (pw && pw->pw_name)
        snprintf(actor, sizeof actor, "rspctl:%.60s", pw->pw_name);
    else
        snprintf(actor, sizeof actor, "rspctl:uid%lu", (unsigned long)geteuid());
    return actor;
}

/* Top-level subcommands: add rows here. */
static const struct subcommand commands[] = {
    {"pki", "test PKI: generate and verify certificate sets", rspctl_cmd_pki},
    {"decode", "dump a DER/BER-TLV message (file, hex or base64) with SGP.22 names",
     rspctl_cmd_decode},
    {"manifest", "sign and verify operator profile manifests", rspctl_cmd_manifest},
    {"profiles", "SM-DP+ inventory: import signed profiles, list, generate test packages",
     rspctl_cmd_profiles},
    {"qr", "QR code of an activation code: terminal, PNG, SVG", rspctl_cmd_qr},
    {"es2-sink", "receive ES2+ HandleDownloadProgressInfo notifications (operator side)",
     rspctl_cmd_es2sink},
    {"audit", "SM-DP+ audit trail: verify, export, prune, checkpoint, keys", rspctl_cmd_audit},
    {"acceptance", "first-boot acceptance runs (JUnit/HTML), requirements, release gate",
     rspctl_cmd_acceptance},
    /* branch ops: activation operations (rsp/act.h) */
    {"order", "activation orders: create (CSV), reserve, release, list, show", rspctl_cmd_order},
    {"campaign", "campaigns: create, show, bulk release", rspctl_cmd_campaign},
    {"token", "activation tokens: issue (QR, deep links), show, revoke", rspctl_cmd_token},
    {"push", "pushes of activation tokens: record hand-over, list", rspctl_cmd_push},
    {"quarantine", "activation integrity quarantines: list, show, release", rspctl_cmd_quarantine},
    {"report", "reports: funnel, ES9+ outcomes and latency per cohort, rollback, parity",
     rspctl_cmd_report},
    {"recon", "reconcile billing and network-attach events with installs", rspctl_cmd_recon},
    {"rollback", "rollback of failed downloads: sweep, report a failure, list",
     rspctl_cmd_rollback},
    {"privacy", "erase a customer's personal data; retention sweep", rspctl_cmd_privacy},
};

int main(int argc, char **argv)
{
    return rspctl_dispatch("rspctl", commands, sizeof commands / sizeof commands[0], argc, argv);
}
