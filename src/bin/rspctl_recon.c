/* rspctl recon / rollback / privacy: post-activation operations on an SM-DP+ store (rsp/recon.h).
 * DB stands for any store --db takes: a file path, sqlite:PATH or a postgresql:// URL.
 *
 *   rspctl recon import --db DB --kind billing|attach|physical [--format csv|jsonl] FILE
 *   rspctl recon report --db DB [--format table|json|csv] [--release-ttl S] [--attach-grace S]
 *          [--billing-grace S] [--only KIND] [--pseudonym-key FILE] [-o OUT]
 *   rspctl recon act --db DB [--action KIND=flag|notify|rollback]... [--notify-file FILE]
 *          [--release-ttl S] [--attach-grace S] [--billing-grace S]
 *   rspctl rollback sweep --db DB [--policy KIND=POLICY]... [--sla S] [--order-ttl S]
 *   rspctl rollback fail --db DB --iccid ICCID --kind KIND
 *   rspctl rollback list --db DB [--open]
 *   rspctl privacy erase --db DB --customer REF [--pseudonym-key FILE]
 *   rspctl privacy sweep --db DB [--events-days N] [--sessions-days N] [--rollbacks-days N]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rsp/audit.h"
#include "rsp/err.h"
#include "rsp/recon.h"
#include "rsp/store.h"

#include "rspctl.h"

/* ---- shared helpers (also used by rspctl_report_recon.c) ---- */

int rspctl_recon_open_db(const char *cmd, const char *db, struct rsp_store **st)
{
    char why[512], shown[1024];
    const char *backend = rsp_store_url_backend(db);
    if (backend && strcmp(backend, "sqlite") == 0) {
        const char *path = strncmp(db, "sqlite:", 7) == 0 ? db + 7 : db;
        if (strncmp(path, "//", 2) == 0)
            path += 2;
        if (access(path, R_OK | W_OK) != 0) {
            fprintf(stderr, "rspctl %s: %s: %s\n", cmd, path, strerror(errno));
            return -1;
        }
    }
    int rc = rsp_store_open_url(db, st, why, sizeof why);
    if (rc) {
        rsp_store_url_redact(db, shown, sizeof shown);
        fprintf(stderr, "rspctl %s: cannot open the store %s: %s (%s)\n", cmd, shown,
                rsp_strerror(rc), why);
        return -1;
    }
    return 0;
}

int rspctl_recon_load_pseudonym_key(const char *cmd, const char *path,
                                    struct rsp_pseudonym_key *key)
{
    struct rsp_buf b = RSP_BUF_INIT;
    int rc = rspctl_read_file(path, &b);
    if (rc == 0)
        rc = rsp_pseudonym_key_parse(b.data, b.len, key);
    rsp_buf_free_secure(&b);
    if (rc) {
        fprintf(stderr, "rspctl %s: %s: not a pseudonym key (64 to 128 hex digits)\n", cmd, path);
        return -1;
    }
    return 0;
}

int rspctl_recon_parse_secs(const char *s, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || errno || v < 0 || v > 100LL * 365 * 86400)
        return -1;
    if (*end == 'd' && !end[1])
        v *= 86400;
    else if (*end == 'h' && !end[1])
        v *= 3600;
    else if (*end == 'm' && !end[1])
        v *= 60;
    else if (*end && !(*end == 's' && !end[1]))
        return -1;
    *out = v;
    return 0;
}

/* ---- recon import ---- */

struct evvec {
    struct rsp_recon_event *v;
    size_t n, cap;
};

static int ev_push(void *arg, const struct rsp_recon_event *ev)
{
    struct evvec *x = arg;
    if (x->n == x->cap) {
        size_t nc = x->cap ? 2 * x->cap : 1024;
        void *nv = realloc(x->v, nc * sizeof *x->v);
        if (!nv)
            return RSP_ENOMEM;
        x->v = nv;
        x->cap = nc;
    }
    x->v[x->n++] = *ev;
    return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static const char import_usage[] =
    "usage: rspctl recon import --db DB --kind billing|attach|physical [--format csv|jsonl] FILE\n"
    "\nImports events from a CSV file (header line naming the columns) or JSON lines (one object\n"
    "per line). Columns/fields: event_id (required, unique per kind: re-importing is a no-op),\n"
    "timestamp (required: unix seconds or YYYY-MM-DDTHH:MM:SSZ), iccid, imsi, eid (at least one),\n"
    "imei, customer, plan (or tariff), cohort, and for physical-SIM activations ordered_at and\n"
    "outcome (ok|failed). The whole file is checked first: one bad line and nothing is stored.\n"
    "The format follows the file name (.jsonl/.json: JSON lines) unless --format says.\n";

static int cmd_import(int argc, char **argv)
{
    const char *db = NULL, *kind_s = NULL, *fmt_s = NULL, *file = NULL;
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i])) {
            fputs(import_usage, stdout);
            return 0;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--db", &db)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--kind", &kind_s)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--format", &fmt_s))) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        if ((argv[i][0] == '-' && argv[i][1]) || file) {
            fputs(import_usage, stderr);
            return EXIT_USAGE;
        }
        file = argv[i];
    }
    enum rsp_recon_kind kind;
    if (!db || !kind_s || !file || rsp_recon_kind_from_name(kind_s, &kind) != 0) {
        fputs(import_usage, stderr);
        return EXIT_USAGE;
    }
    enum rsp_recon_format fmt =
        ends_with(file, ".jsonl") || ends_with(file, ".json") ? RSP_RECON_JSONL : RSP_RECON_CSV;
    if (fmt_s) {
        if (strcmp(fmt_s, "csv") == 0)
            fmt = RSP_RECON_CSV;
        else if (strcmp(fmt_s, "jsonl") == 0)
            fmt = RSP_RECON_JSONL;
        else {
            fputs(import_usage, stderr);
            return EXIT_USAGE;
        }
    }
    struct rsp_buf b = RSP_BUF_INIT;
    if (rspctl_read_file(file, &b) != 0) {
        fprintf(stderr, "rspctl recon import: %s: cannot read\n", file);
        rsp_buf_free(&b);
        return 1;
    }
    struct evvec ev = {0};
    char err[256] = "";
    int rc = rsp_recon_parse(fmt, kind, (const char *)b.data, b.len, ev_push, &ev, err, sizeof err);
    rsp_buf_free(&b);
    if (rc) {
        fprintf(stderr, "rspctl recon import: %s: %s; nothing imported\n", file,
                err[0] ? err : rsp_strerror(rc));
        free(ev.v);
        return 1;
    }
    struct rsp_store *st;
    if (rspctl_recon_open_db("recon import", db, &st) != 0) {
        free(ev.v);
        return 1;
    }
    size_t added = 0;
    rc = rsp_store_recon_import(st, ev.v, ev.n, rspctl_actor(), &added);
    if (rc)
        fprintf(stderr, "rspctl recon import: %s (%s); nothing imported\n", rsp_strerror(rc),
                rsp_store_last_error(st));
    else
        printf("imported %zu %s events from %s: %zu new, %zu already present\n", ev.n,
               rsp_recon_kind_name(kind), file, added, ev.n - added);
    rsp_store_close(st);
    free(ev.v);
    return rc ? 1 : 0;
}

/* ---- recon report ---- */

struct report_opts {
    const char *db, *format, *only, *key_file, *out;
    struct rsp_recon_params prm;
    bool have_key;
    struct rsp_pseudonym_key key;
};

static int report_opt(int argc, char **argv, int *i, struct report_opts *o)
{
    const char *v = NULL;
    int r;
    if ((r = rspctl_opt_value(argc, argv, i, "--db", &o->db)) ||
        (r = rspctl_opt_value(argc, argv, i, "--format", &o->format)) ||
        (r = rspctl_opt_value(argc, argv, i, "--only", &o->only)) ||
        (r = rspctl_opt_value(argc, argv, i, "--pseudonym-key", &o->key_file)) ||
        (r = rspctl_opt_value(argc, argv, i, "-o", &o->out)))
        return r;
    int64_t *dst = NULL;
    if ((r = rspctl_opt_value(argc, argv, i, "--release-ttl", &v)) > 0)
        dst = &o->prm.release_ttl;
    else if (r == 0 && (r = rspctl_opt_value(argc, argv, i, "--attach-grace", &v)) > 0)
        dst = &o->prm.attach_grace;
    else if (r == 0 && (r = rspctl_opt_value(argc, argv, i, "--billing-grace", &v)) > 0)
        dst = &o->prm.billing_grace;
    else if (r == 0 && (r = rspctl_opt_value(argc, argv, i, "--now", &v)) > 0)
        dst = &o->prm.now;
    if (r <= 0)
        return r;
    return rspctl_recon_parse_secs(v, dst) == 0 ? 1 : -1;
}

static void report_defaults(struct report_opts *o)
{
    memset(o, 0, sizeof *o);
    o->format = "table";
    o->prm.now = (int64_t)time(NULL);
    o->prm.release_ttl = 86400;
    o->prm.attach_grace = 3600;
    o->prm.billing_grace = 86400;
}

/* An EID never leaves in a report: its pseudonym, or a placeholder without a key. */
static void shown_subject(const struct report_opts *o, const char *subject, char out[40])
{
    size_t n = strlen(subject);
    bool eid = n == 32 && strspn(subject, "0123456789") == 32;
    if (!eid) {
        snprintf(out, 40, "%s", subject);
        return;
    }
    char p[RSP_PSEUDONYM_LEN + 1];
    if (o->have_key && rsp_pseudonym(&o->key, RSP_PSEUDONYM_EID, subject, p) == 0)
        snprintf(out, 40, "%s", p);
    else
        snprintf(out, 40, "eid:redacted");
}

static int run_match(const char *cmd, struct report_opts *o, struct rsp_store **st_out,
                     struct rsp_recon_finding **f, size_t *n, size_t counts[RSP_DISC_NKINDS])
{
    if (o->key_file) {
        if (rspctl_recon_load_pseudonym_key(cmd, o->key_file, &o->key) != 0)
            return 1;
        o->have_key = true;
    }
    struct rsp_store *st;
    if (rspctl_recon_open_db(cmd, o->db, &st) != 0)
        return 1;
    struct rsp_recon *r = NULL;
    int rc = rsp_recon_load(st, &r);
    if (rc == 0)
        rc = rsp_recon_findings(r, &o->prm, f, n, counts);
    rsp_recon_free(r);
    if (rc) {
        fprintf(stderr, "rspctl %s: %s (%s)\n", cmd, rsp_strerror(rc), rsp_store_last_error(st));
        rsp_store_close(st);
        return 1;
    }
    if (st_out)
        *st_out = st;
    else
        rsp_store_close(st);
    return 0;
}

static const char report_usage[] =
    "usage: rspctl recon report --db DB [--format table|json|csv] [--only KIND]\n"
    "          [--release-ttl S] [--attach-grace S] [--billing-grace S] [--pseudonym-key FILE]\n"
    "          [-o OUT]\n"
    "\nMatches the imported billing and attach events to the profiles (by ICCID, else IMSI, else\n"
    "EID; tariffs from the activation orders) and lists one finding per subscription and kind:\n"
    "  released-not-installed  Released/Downloaded for longer than --release-ttl (default 1d)\n"
    "  installed-not-attached  Installed longer than --attach-grace (1h), no attach event\n"
    "  billed-not-installed    billing for a profile not Installed, or for an unknown ICCID\n"
    "                          (physical SIMs imported with --kind physical excepted)\n"
    "  installed-not-billed    Installed longer than --billing-grace (1d), no billing event\n"
    "  imsi-mismatch           an event's IMSI differs from the profile's\n"
    "  tariff-mismatch         the billed plan differs from the order's tariff\n"
    "Durations: seconds, or N[smhd]. EIDs appear only as pseudonyms (--pseudonym-key) or\n"
    "'eid:redacted'. Exit 0 (findings are data, not errors).\n";

static int cmd_report(int argc, char **argv)
{
    struct report_opts o;
    report_defaults(&o);
    for (int i = 1; i < argc; i++) {
        if (rspctl_is_help(argv[i])) {
            fputs(report_usage, stdout);
            return 0;
        }
        int r = report_opt(argc, argv, &i, &o);
        if (r <= 0) {
            fputs(report_usage, stderr);
            return EXIT_USAGE;
        }
    }
    enum rsp_recon_disc only = RSP_DISC_NKINDS;
    if (!o.db ||
        (strcmp(o.format, "table") && strcmp(o.format, "json") && strcmp(o.format, "csv")) ||
        (o.only && rsp_recon_disc_from_name(o.only, &only) != 0)) {
        fputs(report_usage, stderr);
        return EXIT_USAGE;
    }
    struct rsp_recon_finding *f = NULL;
    size_t n = 0, counts[RSP_DISC_NKINDS];
    if (run_match("recon report", &o, NULL, &f, &n, counts) != 0)
        return 1;
    FILE *out = o.out ? fopen(o.out, "w") : stdout;
    if (!out) {
        fprintf(stderr, "rspctl recon report: %s: %s\n", o.out, strerror(errno));
        free(f);
        return 1;
    }
    char subj[40];
    if (strcmp(o.format, "json") == 0) {
        fprintf(out,
                "{\"now\":%lld,\"release_ttl\":%lld,\"attach_grace\":%lld,"
                "\"billing_grace\":%lld,\"counts\":{",
                (long long)o.prm.now, (long long)o.prm.release_ttl, (long long)o.prm.attach_grace,
                (long long)o.prm.billing_grace);
        for (int k = 0; k < RSP_DISC_NKINDS; k++)
            fprintf(out, "%s\"%s\":%zu", k ? "," : "", rsp_recon_disc_name(k), counts[k]);
        fprintf(out, "},\"findings\":[");
        bool first = true;
        for (size_t i = 0; i < n; i++) {
            if (only != RSP_DISC_NKINDS && f[i].kind != only)
                continue;
            shown_subject(&o, f[i].subject, subj);
            /* every text was checked at import (printable, no quote or backslash) */
            fprintf(out,
                    "%s{\"kind\":\"%s\",\"subject\":\"%s\",\"event_id\":\"%s\",\"expected\":"
                    "\"%s\",\"seen\":\"%s\",\"events\":%u}",
                    first ? "" : ",", rsp_recon_disc_name(f[i].kind), subj, f[i].event_id,
                    f[i].expected, f[i].seen, f[i].n_events);
            first = false;
        }
        fprintf(out, "]}\n");
    } else if (strcmp(o.format, "csv") == 0) {
        fprintf(out, "kind,subject,event_id,expected,seen,events\n");
        for (size_t i = 0; i < n; i++) {
            if (only != RSP_DISC_NKINDS && f[i].kind != only)
                continue;
            shown_subject(&o, f[i].subject, subj);
            fprintf(out, "%s,%s,%s,%s,%s,%u\n", rsp_recon_disc_name(f[i].kind), subj, f[i].event_id,
                    f[i].expected, f[i].seen, f[i].n_events);
        }
    } else {
        fprintf(out, "%-24s %s\n", "discrepancy", "count");
        for (int k = 0; k < RSP_DISC_NKINDS; k++)
            fprintf(out, "%-24s %zu\n", rsp_recon_disc_name(k), counts[k]);
        if (n)
            fprintf(out, "\n%-24s %-21s %-16s %-16s %-16s %s\n", "kind", "subject", "event",
                    "expected", "seen", "events");
        for (size_t i = 0; i < n; i++) {
            if (only != RSP_DISC_NKINDS && f[i].kind != only)
                continue;
            shown_subject(&o, f[i].subject, subj);
            fprintf(out, "%-24s %-21s %-16s %-16s %-16s %u\n", rsp_recon_disc_name(f[i].kind), subj,
                    f[i].event_id[0] ? f[i].event_id : "-", f[i].expected[0] ? f[i].expected : "-",
                    f[i].seen[0] ? f[i].seen : "-", f[i].n_events);
        }
    }
    int bad = ferror(out);
    if (o.out && fclose(out) != 0)
        bad = 1;
    free(f);
    if (bad) {
        fprintf(stderr, "rspctl recon report: write error\n");
        return 1;
    }
    return 0;
}

/* ---- recon act ---- */

enum action { ACT_FLAG = 0, ACT_NOTIFY, ACT_ROLLBACK, ACT_NONE };
static const char *const action_names[] = {"flag", "notify", "rollback", "none"};

static const char act_usage[] =
    "usage: rspctl recon act --db DB [--action KIND=flag|notify|rollback|none]...\n"
    "          [--notify-file FILE] [--release-ttl S] [--attach-grace S] [--billing-grace S]\n"
    "\nApplies the configured action to every current discrepancy, once (an action already\n"
    "applied to a subscription is not repeated), each with an audit record:\n"
    "  flag      record the discrepancy as seen (audit record \"recon\")\n"
    "  notify    also append one JSON line to --notify-file (for the billing/care systems)\n"
    "  rollback  report the profile failed (Released/Downloaded -> Error \"order expired\"):\n"
    "            the rollback sweeper then applies the ttl-expired policy; only for\n"
    "            profiles in Released or Downloaded, others are flagged\n"
    "Defaults: released-not-installed=rollback, every other kind=flag.\n";

static int cmd_act(int argc, char **argv)
{
    struct report_opts o;
    report_defaults(&o);
    enum action act[RSP_DISC_NKINDS];
    for (int k = 0; k < RSP_DISC_NKINDS; k++)
        act[k] = ACT_FLAG;
    act[RSP_DISC_RELEASED_NOT_INSTALLED] = ACT_ROLLBACK;
    const char *notify = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;
        if (rspctl_is_help(argv[i])) {
            fputs(act_usage, stdout);
            return 0;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--notify-file", &notify)) > 0)
            continue;
        if (r == 0 && (r = rspctl_opt_value(argc, argv, &i, "--action", &v)) > 0) {
            const char *eq = strchr(v, '=');
            char kind[40];
            enum rsp_recon_disc d;
            int a = -1;
            if (eq && (size_t)(eq - v) < sizeof kind) {
                snprintf(kind, sizeof kind, "%.*s", (int)(eq - v), v);
                for (int k = 0; k <= ACT_NONE; k++)
                    if (strcmp(eq + 1, action_names[k]) == 0)
                        a = k;
            }
            if (!eq || a < 0 || rsp_recon_disc_from_name(kind, &d) != 0) {
                fprintf(stderr, "rspctl recon act: bad --action '%s'\n", v);
                return EXIT_USAGE;
            }
            act[d] = (enum action)a;
            continue;
        }
        if (r == 0)
            r = report_opt(argc, argv, &i, &o);
        if (r <= 0) {
            fputs(act_usage, stderr);
            return EXIT_USAGE;
        }
    }
    bool need_notify = false;
    for (int k = 0; k < RSP_DISC_NKINDS; k++)
        need_notify |= act[k] == ACT_NOTIFY;
    if (!o.db || (need_notify && !notify)) {
        fputs(act_usage, stderr);
        return EXIT_USAGE;
    }
    struct rsp_store *st;
    struct rsp_recon_finding *f = NULL;
    size_t n = 0, counts[RSP_DISC_NKINDS];
    if (run_match("recon act", &o, &st, &f, &n, counts) != 0)
        return 1;
    FILE *nf = notify ? fopen(notify, "a") : NULL;
    if (notify && !nf) {
        fprintf(stderr, "rspctl recon act: %s: %s\n", notify, strerror(errno));
        free(f);
        rsp_store_close(st);
        return 1;
    }
    size_t done[ACT_NONE + 1] = {0}, already = 0, failed = 0;
    char subj[40];
    for (size_t i = 0; i < n; i++) {
        enum action a = act[f[i].kind];
        if (a == ACT_NONE)
            continue;
        const char *kind = rsp_recon_disc_name(f[i].kind);
        if (a == ACT_ROLLBACK) {
            int rc = rsp_rollback_report_failure(st, f[i].subject, RSP_FAIL_TTL, rspctl_actor());
            if (rc == RSP_ESTATE || rc == RSP_ENOTFOUND || rc == RSP_EINVAL)
                a = ACT_FLAG; /* not a profile in Released/Downloaded: flagged instead */
            else if (rc) {
                fprintf(stderr, "rspctl recon act: %s %s: %s\n", kind, f[i].subject,
                        rsp_strerror(rc));
                failed++;
                continue;
            }
        }
        shown_subject(&o, f[i].subject, subj);
        int rc = rsp_store_recon_action_mark(st, kind, subj, action_names[a], rspctl_actor());
        if (rc == 1) {
            already++;
            continue;
        }
        if (rc) {
            fprintf(stderr, "rspctl recon act: %s %s: %s\n", kind, subj, rsp_strerror(rc));
            failed++;
            continue;
        }
        if (a == ACT_NOTIFY)
            fprintf(nf,
                    "{\"kind\":\"%s\",\"subject\":\"%s\",\"event_id\":\"%s\",\"expected\":\"%s\","
                    "\"seen\":\"%s\",\"at\":%lld}\n",
                    kind, subj, f[i].event_id, f[i].expected, f[i].seen, (long long)o.prm.now);
        done[a]++;
    }
    if (nf && fclose(nf) != 0)
        failed++;
    printf("recon act: %zu flagged, %zu notified, %zu rolled back, %zu already handled, "
           "%zu failed\n",
           done[ACT_FLAG], done[ACT_NOTIFY], done[ACT_ROLLBACK], already, failed);
    free(f);
    rsp_store_close(st);
    return failed ? 1 : 0;
}

int rspctl_cmd_recon(int argc, char **argv)
{
    static const struct subcommand sub[] = {
        {"import", "import billing, attach or physical-SIM events (CSV, JSON lines)", cmd_import},
        {"report", "discrepancies between events and installs (table, JSON, CSV)", cmd_report},
        {"act", "apply the configured action to each discrepancy, once, audited", cmd_act},
    };
    return rspctl_dispatch("rspctl recon", sub, sizeof sub / sizeof sub[0], argc, argv);
}

/* ---- rollback ---- */

/* KIND=POLICY into cfg; 0 or -1. */
int rspctl_recon_policy_arg(const char *v, struct rsp_rollback_config *cfg)
{
    const char *eq = strchr(v, '=');
    char kind[40];
    enum rsp_fail_kind k;
    enum rsp_rollback_policy p;
    if (!eq || (size_t)(eq - v) >= sizeof kind)
        return -1;
    snprintf(kind, sizeof kind, "%.*s", (int)(eq - v), v);
    if (rsp_fail_kind_from_name(kind, &k) != 0 || rsp_rollback_policy_from_name(eq + 1, &p) != 0)
        return -1;
    cfg->policy[k] = p;
    return 0;
}

static const char sweep_usage[] =
    "usage: rspctl rollback sweep --db DB [--policy KIND=POLICY]... [--sla S] [--order-ttl S]\n"
    "\nRuns the rollback sweeper once (rsp-smdp runs it every sweep_interval): opens a rollback\n"
    "for every failed profile and applies the policy of its kind as audited transitions.\n"
    "KIND: download-failed install-failed pir-error cancelled ttl-expired verification-failed\n"
    "      other. POLICY: available (back to stock), quarantine (Unavailable), rerelease (the\n"
    "      same order again for the same EID and matchingId). --order-ttl: Released longer than\n"
    "      this is a ttl-expired failure (default: off). Exit 1 when a rollback breached the "
    "SLA.\n";

static int cmd_sweep(int argc, char **argv)
{
    const char *db = NULL, *v;
    struct rsp_rollback_config cfg;
    rsp_rollback_config_default(&cfg);
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i])) {
            fputs(sweep_usage, stdout);
            return 0;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--db", &db)) > 0)
            continue;
        if (r == 0 && (r = rspctl_opt_value(argc, argv, &i, "--policy", &v)) > 0) {
            if (rspctl_recon_policy_arg(v, &cfg) != 0) {
                fprintf(stderr, "rspctl rollback sweep: bad --policy '%s'\n", v);
                return EXIT_USAGE;
            }
            continue;
        }
        if (r == 0 && (r = rspctl_opt_value(argc, argv, &i, "--sla", &v)) > 0) {
            if (rspctl_recon_parse_secs(v, &cfg.sla) != 0)
                return EXIT_USAGE;
            continue;
        }
        if (r == 0 && (r = rspctl_opt_value(argc, argv, &i, "--order-ttl", &v)) > 0) {
            if (rspctl_recon_parse_secs(v, &cfg.order_ttl) != 0)
                return EXIT_USAGE;
            continue;
        }
        fputs(sweep_usage, stderr);
        return EXIT_USAGE;
    }
    if (!db) {
        fputs(sweep_usage, stderr);
        return EXIT_USAGE;
    }
    char why[200];
    if (rsp_rollback_config_check(&cfg, why, sizeof why) != 0) {
        fprintf(stderr, "rspctl rollback sweep: %s\n", why);
        return EXIT_USAGE;
    }
    struct rsp_store *st;
    if (rspctl_recon_open_db("rollback sweep", db, &st) != 0)
        return 1;
    struct rsp_rollback_run run;
    int rc = rsp_rollback_sweep(st, &cfg, (int64_t)time(NULL), &run);
    if (rc)
        fprintf(stderr, "rspctl rollback sweep: %s (%s)\n", rsp_strerror(rc),
                rsp_store_last_error(st));
    else
        printf("rollback sweep: %u detected, %u rolled back, %u lost a race, %u over the SLA\n",
               run.detected, run.done, run.lost, run.breaches);
    rsp_store_close(st);
    return rc || run.breaches ? 1 : 0;
}

static const char fail_usage[] =
    "usage: rspctl rollback fail --db DB --iccid ICCID --kind KIND\n"
    "\nRecords a failure reported by the device or customer care (e.g. verification-failed:\n"
    "the device found the profile it received unusable): a profile in Released or Downloaded\n"
    "goes to Error (audited) and the sweeper rolls it back by the policy of KIND. Installed\n"
    "profiles are refused: Installed is final at the SM-DP+ (SGP.22 3.1.6), the device must\n"
    "delete the profile.\n";

static int cmd_fail(int argc, char **argv)
{
    const char *db = NULL, *iccid = NULL, *kind_s = NULL;
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i])) {
            fputs(fail_usage, stdout);
            return 0;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--db", &db)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--iccid", &iccid)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--kind", &kind_s))) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        fputs(fail_usage, stderr);
        return EXIT_USAGE;
    }
    enum rsp_fail_kind k;
    if (!db || !iccid || !kind_s || rsp_fail_kind_from_name(kind_s, &k) != 0) {
        fputs(fail_usage, stderr);
        return EXIT_USAGE;
    }
    struct rsp_store *st;
    if (rspctl_recon_open_db("rollback fail", db, &st) != 0)
        return 1;
    int rc = rsp_rollback_report_failure(st, iccid, k, rspctl_actor());
    if (rc == RSP_ESTATE)
        fprintf(stderr,
                "rspctl rollback fail: %s is not in Released or Downloaded; nothing "
                "changed\n",
                iccid);
    else if (rc)
        fprintf(stderr, "rspctl rollback fail: %s: %s\n", iccid, rsp_strerror(rc));
    else
        printf("%s: Error (%s); the rollback sweeper applies its policy\n", iccid, kind_s);
    rsp_store_close(st);
    return rc ? 1 : 0;
}

static int print_rb(void *arg, const struct rsp_rollback *rb)
{
    (void)arg;
    printf("%-6lld %-20s %-20s %-11lld %-11lld %-10s %s\n", (long long)rb->id, rb->iccid, rb->kind,
           (long long)rb->failed_at, (long long)rb->done_at, rb->policy[0] ? rb->policy : "-",
           rb->outcome[0] ? rb->outcome : "(open)");
    return 0;
}

static int cmd_list(int argc, char **argv)
{
    const char *db = NULL;
    bool open_only = false;
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i])) {
            printf("usage: rspctl rollback list --db DB [--open]\n");
            return 0;
        }
        if (strcmp(argv[i], "--open") == 0) {
            open_only = true;
            continue;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--db", &db)) > 0)
            continue;
        return EXIT_USAGE;
    }
    if (!db)
        return EXIT_USAGE;
    struct rsp_store *st;
    if (rspctl_recon_open_db("rollback list", db, &st) != 0)
        return 1;
    printf("%-6s %-20s %-20s %-11s %-11s %-10s %s\n", "id", "iccid", "kind", "failed_at", "done_at",
           "policy", "outcome");
    int rc = rsp_store_rollback_walk(st, open_only, print_rb, NULL);
    rsp_store_close(st);
    return rc ? 1 : 0;
}

int rspctl_cmd_rollback(int argc, char **argv)
{
    static const struct subcommand sub[] = {
        {"sweep", "detect failed profiles and apply the rollback policies now", cmd_sweep},
        {"fail", "record a failure reported by the device or care", cmd_fail},
        {"list", "list rollbacks", cmd_list},
    };
    return rspctl_dispatch("rspctl rollback", sub, sizeof sub / sizeof sub[0], argc, argv);
}

/* ---- privacy ---- */

static const char erase_usage[] =
    "usage: rspctl privacy erase --db DB --customer REF [--pseudonym-key FILE]\n"
    "\nErases the personal data of a customer in one transaction: its reference, the EIDs and\n"
    "IMEIs of its subscriptions are replaced by their keyed pseudonyms (emptied without a key)\n"
    "in events, profiles, sessions (the eUICC certificate is dropped) and pending\n"
    "notifications. Audit records already hold pseudonyms only, so the chain still verifies.\n"
    "Refused (nothing changed) while one of the customer's downloads is in progress. The\n"
    "output names the customer by its pseudonym only.\n";

static int cmd_erase(int argc, char **argv)
{
    const char *db = NULL, *customer = NULL, *kf = NULL;
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i])) {
            fputs(erase_usage, stdout);
            return 0;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--db", &db)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--customer", &customer)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--pseudonym-key", &kf))) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        fputs(erase_usage, stderr);
        return EXIT_USAGE;
    }
    if (!db || !customer || !customer[0]) {
        fputs(erase_usage, stderr);
        return EXIT_USAGE;
    }
    struct rsp_pseudonym_key key;
    if (kf && rspctl_recon_load_pseudonym_key("privacy erase", kf, &key) != 0)
        return 1;
    char shown[RSP_PSEUDONYM_LEN + 1] = "(no pseudonym key)";
    if (kf)
        rsp_pseudonym(&key, RSP_PSEUDONYM_CUSTOMER, customer, shown);
    struct rsp_store *st;
    if (rspctl_recon_open_db("privacy erase", db, &st) != 0)
        return 1;
    if (kf)
        rsp_store_set_pseudonym_key(st, &key);
    struct rsp_privacy_counts c;
    int rc = rsp_store_privacy_erase(st, customer, rspctl_actor(), &c);
    if (rc == RSP_ENOTFOUND)
        fprintf(stderr, "rspctl privacy erase: customer %s: nothing in the store names it\n",
                shown);
    else if (rc == RSP_ESTATE)
        fprintf(stderr,
                "rspctl privacy erase: customer %s: a download is in progress (cancel "
                "the order first); nothing changed\n",
                shown);
    else if (rc)
        fprintf(stderr, "rspctl privacy erase: %s (%s); nothing changed\n", rsp_strerror(rc),
                rsp_store_last_error(st));
    else
        printf("erased customer %s: %lld subscriptions, %lld event, %lld profile, %lld session, "
               "%lld notification rows rewritten\n",
               shown, (long long)c.iccids, (long long)c.events, (long long)c.profiles,
               (long long)c.sessions, (long long)c.outbox);
    rsp_store_close(st);
    rsp_memzero(&key, sizeof key);
    return rc ? 1 : 0;
}

static const char psweep_usage[] =
    "usage: rspctl privacy sweep --db DB [--events-days N] [--sessions-days N]\n"
    "          [--rollbacks-days N]\n"
    "\nDeletes what is older than its retention window (rsp-smdp does it every sweep with\n"
    "retention_events_days, retention_sessions_days, retention_rollbacks_days): imported\n"
    "events by event time, ended download sessions (they hold the EID and the eUICC\n"
    "certificate) by last update, closed rollbacks by close time. A class without a window is\n"
    "kept. Each deletion is one transaction with an audit record.\n";

static int cmd_psweep(int argc, char **argv)
{
    const char *db = NULL;
    const char *days_s[RSP_DATA_NCLASSES] = {NULL};
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i])) {
            fputs(psweep_usage, stdout);
            return 0;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--db", &db)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--events-days", &days_s[RSP_DATA_EVENTS])) ||
            (r = rspctl_opt_value(argc, argv, &i, "--sessions-days", &days_s[RSP_DATA_SESSIONS])) ||
            (r = rspctl_opt_value(argc, argv, &i, "--rollbacks-days",
                                  &days_s[RSP_DATA_ROLLBACKS]))) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        fputs(psweep_usage, stderr);
        return EXIT_USAGE;
    }
    if (!db) {
        fputs(psweep_usage, stderr);
        return EXIT_USAGE;
    }
    int64_t days[RSP_DATA_NCLASSES];
    for (int c = 0; c < RSP_DATA_NCLASSES; c++) {
        days[c] = -1;
        char *end;
        if (days_s[c]) {
            days[c] = strtoll(days_s[c], &end, 10);
            if (!*days_s[c] || *end || days[c] < 0 || days[c] > 36500) {
                fputs(psweep_usage, stderr);
                return EXIT_USAGE;
            }
        }
    }
    struct rsp_store *st;
    if (rspctl_recon_open_db("privacy sweep", db, &st) != 0)
        return 1;
    int rc = 0;
    int64_t now = (int64_t)time(NULL);
    for (int c = 0; c < RSP_DATA_NCLASSES && rc == 0; c++) {
        if (days[c] < 0)
            continue;
        int64_t n = 0;
        rc = rsp_store_retention_sweep(st, (enum rsp_data_class)c, now - days[c] * 86400,
                                       rspctl_actor(), &n);
        if (rc == 0)
            printf("%s: %lld rows older than %lld days deleted\n",
                   rsp_data_class_name((enum rsp_data_class)c), (long long)n, (long long)days[c]);
        else
            fprintf(stderr, "rspctl privacy sweep: %s: %s\n",
                    rsp_data_class_name((enum rsp_data_class)c), rsp_strerror(rc));
    }
    rsp_store_close(st);
    return rc ? 1 : 0;
}

int rspctl_cmd_privacy(int argc, char **argv)
{
    static const struct subcommand sub[] = {
        {"erase", "erase a customer's personal data (pseudonyms stay)", cmd_erase},
        {"sweep", "delete data past its retention window", cmd_psweep},
    };
    return rspctl_dispatch("rspctl privacy", sub, sizeof sub / sizeof sub[0], argc, argv);
}
