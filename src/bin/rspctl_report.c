/* rspctl report: operator reports from the SM-DP+ store, as JSON or CSV. One row per report kind
 * in `reports[]` below (other report kinds append theirs: funnel, rollback, parity, ...). SMDP.db
 * stands for any store --db takes: a file path, sqlite:PATH or a postgresql:// URL.
 *
 *   rspctl report funnel --db STORE [--campaign C] [--json | --csv]       (branch ops)
 *   rspctl report es9 --db SMDP.db [--by none|campaign|eum|tac|profile_type|country]
 *          [--from TIME] [--to TIME] [--campaign X] [--eum X] [--tac X] [--profile-type X]
 *          [--country X] [--format json|csv] [-o FILE]
 *
 * TIME: unix seconds, YYYY-MM-DDTHH:MM:SSZ (UTC), or relative to now: -30m, -24h, -7d.
 */
#define _GNU_SOURCE /* timegm */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rsp/act.h"
#include "rsp/err.h"
#include "rsp/store.h"
#include "rsp/telemetry.h"

#include "rspctl.h"
#include "rspctl_act.h"

/* Parses TIME (see the top comment) relative to `now`; -1 when malformed. */
static int report_time(const char *s, int64_t now, int64_t *out)
{
    if (!s || !*s)
        return -1;
    char *end = NULL;
    if (s[0] == '-') {
        errno = 0;
        long long v = strtoll(s + 1, &end, 10);
        if (errno || end == s + 1 || v < 0 || end[0] == 0 || end[1] != 0)
            return -1;
        long long unit = end[0] == 's'   ? 1
                         : end[0] == 'm' ? 60
                         : end[0] == 'h' ? 3600
                         : end[0] == 'd' ? 86400
                                         : 0;
        if (!unit || v > (long long)(INT64_MAX / 2) / unit)
            return -1;
        *out = now - v * unit;
        return 0;
    }
    bool digits = true;
    for (const char *p = s; *p; p++)
        digits &= isdigit((unsigned char)*p) != 0;
    if (digits) {
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || strlen(s) > 12)
            return -1;
        *out = v;
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end)
        return -1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

static int open_db(const char *db, struct rsp_store **st)
{
    char why[512], shown[1024];
    const char *backend = rsp_store_url_backend(db);
    if (backend && strcmp(backend, "sqlite") == 0) {
        const char *path = strncmp(db, "sqlite:", 7) == 0 ? db + 7 : db;
        if (strncmp(path, "//", 2) == 0)
            path += 2;
        if (access(path, R_OK) != 0) { /* never create an empty store */
            fprintf(stderr, "rspctl report: %s: %s\n", path, strerror(errno));
            return -1;
        }
    }
    int rc = rsp_store_open_url(db, st, why, sizeof why);
    if (rc) {
        rsp_store_url_redact(db, shown, sizeof shown);
        fprintf(stderr, "rspctl report: cannot open the store %s: %s (%s)\n", shown,
                rsp_strerror(rc), why);
        return -1;
    }
    return 0;
}

static int write_out(const char *path, const struct rsp_buf *b)
{
    if (!path || strcmp(path, "-") == 0)
        return fwrite(b->data, 1, b->len, stdout) == b->len ? 0 : -1;
    int rc = rspctl_write_path(path, b->data, b->len, 0644);
    if (rc)
        fprintf(stderr, "rspctl report: cannot write %s: %s\n", path, rsp_strerror(rc));
    return rc ? -1 : 0;
}

static void es9_usage(FILE *f)
{
    fprintf(f,
            "usage: rspctl report es9 --db URL [--by none|campaign|eum|tac|profile_type|country]\n"
            "           [--from TIME] [--to TIME] [--campaign X] [--eum X] [--tac X]\n"
            "           [--profile-type X] [--country X] [--format json|csv] [-o FILE]\n"
            "\n"
            "ES9+ calls per cohort, function and outcome (ok, SGP.22 subject/reason, internal,\n"
            "http-NNN) with their count and latency (mean, p50, p90, p99 in ms, estimated from\n"
            "the histogram buckets), and download-session events (function \"session\":\n"
            "started, authenticated, downloaded, installed, install-failed, cancelled).\n"
            "Read from the store's per-period aggregates (telemetry_period), never raw rows.\n"
            "TIME: unix seconds, YYYY-MM-DDTHH:MM:SSZ, or -30m / -24h / -7d from now; --from\n"
            "and --to select aggregation periods by their start.\n");
}

static int report_es9(int argc, char **argv)
{
    const char *db = NULL, *by = "none", *from = NULL, *to = NULL, *format = "json", *out = NULL;
    struct rsp_tele_filter f;
    memset(&f, 0, sizeof f);
    const struct {
        const char *opt;
        char *dst;
        size_t cap;
    } labels[] = {
        {"--campaign", f.match.campaign, sizeof f.match.campaign},
        {"--eum", f.match.eum, sizeof f.match.eum},
        {"--tac", f.match.tac, sizeof f.match.tac},
        {"--profile-type", f.match.profile_type, sizeof f.match.profile_type},
        {"--country", f.match.country, sizeof f.match.country},
    };
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m = 0;
        if (rspctl_is_help(argv[i])) {
            es9_usage(stdout);
            return 0;
        }
        if ((m = rspctl_opt_value(argc, argv, &i, "--db", &db)) ||
            (m = rspctl_opt_value(argc, argv, &i, "--by", &by)) ||
            (m = rspctl_opt_value(argc, argv, &i, "--from", &from)) ||
            (m = rspctl_opt_value(argc, argv, &i, "--to", &to)) ||
            (m = rspctl_opt_value(argc, argv, &i, "--format", &format)) ||
            (m = rspctl_opt_value(argc, argv, &i, "-o", &out))) {
            if (m < 0)
                break;
            continue;
        }
        for (size_t k = 0; k < sizeof labels / sizeof labels[0] && !m; k++)
            if ((m = rspctl_opt_value(argc, argv, &i, labels[k].opt, &v)) > 0) {
                if (strlen(v) >= labels[k].cap) {
                    fprintf(stderr, "rspctl report es9: %s: value too long\n", labels[k].opt);
                    return EXIT_USAGE;
                }
                snprintf(labels[k].dst, labels[k].cap, "%s", v);
            }
        if (m > 0)
            continue;
        fprintf(stderr, "rspctl report es9: %s '%s'\n", m < 0 ? "missing value for" : "unknown",
                argv[i]);
        es9_usage(stderr);
        return EXIT_USAGE;
    }
    enum rsp_tele_dim dim;
    int64_t now = (int64_t)time(NULL);
    if (!db) {
        fprintf(stderr, "rspctl report es9: --db is required\n");
        es9_usage(stderr);
        return EXIT_USAGE;
    }
    if (rsp_tele_dim_from_name(by, &dim) != 0) {
        fprintf(stderr, "rspctl report es9: --by: one of none, campaign, eum, tac, "
                        "profile_type, country\n");
        return EXIT_USAGE;
    }
    if ((from && report_time(from, now, &f.from) != 0) ||
        (to && report_time(to, now, &f.to) != 0)) {
        fprintf(stderr, "rspctl report es9: --from/--to: unix seconds, YYYY-MM-DDTHH:MM:SSZ or "
                        "-N(s|m|h|d)\n");
        return EXIT_USAGE;
    }
    if (f.to && f.to <= f.from) {
        fprintf(stderr, "rspctl report es9: --to must be after --from\n");
        return EXIT_USAGE;
    }
    bool csv = strcmp(format, "csv") == 0;
    if (!csv && strcmp(format, "json") != 0) {
        fprintf(stderr, "rspctl report es9: --format: json or csv\n");
        return EXIT_USAGE;
    }
    struct rsp_store *st = NULL;
    if (open_db(db, &st))
        return 1;
    struct rsp_tele_report r;
    rsp_tele_report_init(&r, dim, &f);
    int rc = rsp_store_tele_series(st, f.from, f.to, rsp_tele_report_add, &r);
    if (rc == 0)
        rc = r.err;
    struct rsp_buf b = RSP_BUF_INIT;
    if (rc == 0) {
        rsp_tele_report_sort(&r);
        rc = csv ? rsp_tele_report_csv(&r, &b) : rsp_tele_report_json(&r, &b);
    }
    if (rc)
        fprintf(stderr, "rspctl report es9: %s (%s)\n", rsp_strerror(rc), rsp_store_last_error(st));
    else if (write_out(out, &b) != 0)
        rc = -1;
    rsp_buf_free(&b);
    rsp_tele_report_free(&r);
    rsp_store_close(st);
    return rc ? 1 : 0;
}

/* The activation funnel: orders per current stage (they add up to the total: every order is in
 * exactly one stage) and the orders that reached each stage at some time. */
int rspctl_report_funnel(int argc, char **argv)
{
    struct act_common c = {0};
    const char *campaign = NULL;
    bool json = false, csv = false;
    const char *usage = "usage: rspctl report funnel --db STORE [--campaign C] [--json | --csv]\n"
                        "Orders per current stage (summing to the total) and per stage reached.\n";
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i]))
            return printf("%s", usage), 0;
        if (!strcmp(argv[i], "--json")) {
            json = true;
            continue;
        }
        if (!strcmp(argv[i], "--csv")) {
            csv = true;
            continue;
        }
        if ((r = act_common_opt(argc, argv, &i, &c)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--campaign", &campaign))) {
            if (r < 0)
                return fprintf(stderr, "%s", usage), EXIT_USAGE;
            continue;
        }
        return fprintf(stderr, "%s", usage), EXIT_USAGE;
    }
    if (json && csv)
        return fprintf(stderr, "%s", usage), EXIT_USAGE;
    struct rsp_store *st;
    int rc = act_open(&c, "report funnel", &st);
    if (rc)
        return rc;
    struct rsp_act_funnel f;
    rc = rsp_act_funnel(st, campaign, &f);
    rsp_store_close(st);
    if (rc)
        return fprintf(stderr, "rspctl report funnel: %s\n", rsp_strerror(rc)), 1;
    if (json) {
        json_t *cur = json_object(), *reached = json_object();
        for (int i = 0; i < RSP_ACT_NSTAGES; i++) {
            const char *n = rsp_act_stage_name((enum rsp_act_stage)i);
            json_object_set_new(cur, n, json_integer(f.current[i]));
            json_object_set_new(reached, n, json_integer(f.reached[i]));
        }
        act_print_json(json_pack("{s:s,s:I,s:o,s:o}", "campaign", campaign ? campaign : "", "total",
                                 (json_int_t)f.total, "current", cur, "reached", reached));
        return 0;
    }
    if (csv)
        printf("stage,current,reached\n");
    else
        printf("%-18s %10s %10s\n", "STAGE", "CURRENT", "REACHED");
    for (int i = 0; i < RSP_ACT_NSTAGES; i++) {
        const char *n = rsp_act_stage_name((enum rsp_act_stage)i);
        if (csv)
            printf("%s,%lld,%lld\n", n, (long long)f.current[i], (long long)f.reached[i]);
        else
            printf("%-18s %10lld %10lld\n", n, (long long)f.current[i], (long long)f.reached[i]);
    }
    if (csv)
        printf("total,%lld,%lld\n", (long long)f.total, (long long)f.total);
    else
        printf("%-18s %10lld %10lld\n", "total", (long long)f.total, (long long)f.total);
    return 0;
}

/* Report kinds: add rows here (one function each, in this file or its own). */
static const struct subcommand reports[] = {
    {"funnel", "activation funnel: orders per stage (current and reached)", rspctl_report_funnel},
    {"es9", "ES9+ outcomes and latency percentiles per cohort (JSON/CSV)", report_es9},
    /* branch recon (rspctl_report_recon.c) */
    {"rollback", "time to rollback per failure kind, SLA breaches, orphans",
     rspctl_report_rollback},
    {"parity", "eSIM vs physical SIM: time to service, success, billing match",
     rspctl_report_parity},
};

int rspctl_cmd_report(int argc, char **argv)
{
    return rspctl_dispatch("rspctl report", reports, sizeof reports / sizeof reports[0], argc,
                           argv);
}
