/* rspctl quarantine: activation-integrity quarantines of cohorts (rsp/act.h).
 *
 *   rspctl quarantine list --db STORE [--all] [--json]
 *   rspctl quarantine show DIM VALUE --db STORE [--window S] [--bucket S] [--json]
 *   rspctl quarantine release DIM VALUE --db STORE --reason TEXT [--actor NAME]
 *   rspctl quarantine set DIM VALUE --db STORE --reason TEXT [--actor NAME]
 * DIM: campaign, eum, tac, profile-type.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rsp/act.h"
#include "rsp/err.h"

#include "rspctl.h"
#include "rspctl_act.h"

struct qargs {
    struct act_common c;
    const char *dim, *value, *reason, *actor, *window, *bucket;
    bool json, all;
};

static int parse(int argc, char **argv, struct qargs *a, const char *usage, int npos)
{
    memset(a, 0, sizeof *a);
    int pos = 0;
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i]))
            return printf("%s", usage), 1;
        if (!strcmp(argv[i], "--json")) {
            a->json = true;
            continue;
        }
        if (!strcmp(argv[i], "--all")) {
            a->all = true;
            continue;
        }
        if ((r = act_common_opt(argc, argv, &i, &a->c)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--reason", &a->reason)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--actor", &a->actor)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--window", &a->window)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--bucket", &a->bucket))) {
            if (r < 0)
                return fprintf(stderr, "%s", usage), -1;
            continue;
        }
        if (argv[i][0] == '-' || pos >= npos)
            return fprintf(stderr, "%s", usage), -1;
        if (pos++ == 0)
            a->dim = argv[i];
        else
            a->value = argv[i];
    }
    if (pos != npos)
        return fprintf(stderr, "%s", usage), -1;
    return 0;
}

static int list_cb(void *arg, const struct rsp_act_quarantine *q)
{
    json_t *a = arg;
    if (a)
        return json_array_append_new(a, act_quarantine_json(q)) ? RSP_ENOMEM : 0;
    printf("%-13s %-24s %-8s %-11lld %lld/%lld/%lld  %s%s%s\n", rsp_act_dim_name(q->dim), q->value,
           q->active ? "ACTIVE" : "released", (long long)q->since, (long long)q->at_trip.attempts,
           (long long)q->at_trip.installs, (long long)q->at_trip.failures, q->reason,
           q->active ? "" : "; released by ", q->active ? "" : q->released_by);
    return 0;
}

static int q_list(int argc, char **argv)
{
    struct qargs a;
    int r = parse(argc, argv, &a,
                  "usage: rspctl quarantine list --db STORE [--all] [--json]\n"
                  "Active quarantines (--all: released ones too).\n",
                  0);
    if (r)
        return r > 0 ? 0 : EXIT_USAGE;
    struct rsp_store *st;
    int rc = act_open(&a.c, "quarantine list", &st);
    if (rc)
        return rc;
    json_t *arr = a.json ? json_array() : NULL;
    if (!a.json)
        printf("%-13s %-24s %-8s %-11s %s\n", "DIM", "VALUE", "STATE", "SINCE",
               "ATTEMPTS/INSTALLS/FAILURES  REASON");
    rc = rsp_act_quarantine_list(st, !a.all, list_cb, arr);
    rsp_store_close(st);
    if (rc)
        return json_decref(arr), fprintf(stderr, "rspctl quarantine list: %s\n", rsp_strerror(rc)),
               1;
    if (arr)
        act_print_json(arr);
    return 0;
}

static int dim_of(const char *s, enum rsp_act_dim *d)
{
    if (rsp_act_dim_from_name(s, d) == 0)
        return 0;
    fprintf(stderr, "rspctl quarantine: DIM is campaign, eum, tac or profile-type (not '%s')\n", s);
    return EXIT_USAGE;
}

static int q_show(int argc, char **argv)
{
    struct qargs a;
    int r =
        parse(argc, argv, &a,
              "usage: rspctl quarantine show DIM VALUE --db STORE [--window S] [--bucket S]\n"
              "         [--json]\n"
              "The cohort's quarantine (if any) and its integrity figures now (pushes,\n"
              "attempts, installs, failures in the window; give rsp-smdp's integrity_window and\n"
              "integrity_bucket, default 3600 and 60).\n",
              2);
    if (r)
        return r > 0 ? 0 : EXIT_USAGE;
    enum rsp_act_dim d;
    if (dim_of(a.dim, &d))
        return EXIT_USAGE;
    struct rsp_store *st;
    int rc = act_open(&a.c, "quarantine show", &st);
    if (rc)
        return rc;
    struct rsp_act_integrity_config cfg = {
        .window_s = a.window ? (unsigned)strtoul(a.window, NULL, 10) : 3600,
        .bucket_s = a.bucket ? (unsigned)strtoul(a.bucket, NULL, 10) : 60};
    struct rsp_act_figures f;
    struct rsp_act_quarantine q;
    rc = rsp_act_figures(st, &cfg, d, a.value, (int64_t)time(NULL), &f);
    int qr = rc ? 0 : rsp_act_quarantine_get(st, d, a.value, &q);
    rsp_store_close(st);
    if (rc || (qr && qr != RSP_ENOTFOUND))
        return fprintf(stderr, "rspctl quarantine show: %s\n", rsp_strerror(rc ? rc : qr)), 1;
    json_t *j = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:b}", "dim", a.dim, "value", a.value, "pushes",
                          (json_int_t)f.pushes, "attempts", (json_int_t)f.attempts, "installs",
                          (json_int_t)f.installs, "failures", (json_int_t)f.failures, "quarantined",
                          qr == 0 && q.active);
    if (qr == 0)
        json_object_set_new(j, "quarantine", act_quarantine_json(&q));
    if (a.json) {
        act_print_json(j);
        return 0;
    }
    json_decref(j);
    printf("cohort %s %s: %lld pushes, %lld attempts, %lld installs, %lld failures in the "
           "window; %s\n",
           a.dim, a.value, (long long)f.pushes, (long long)f.attempts, (long long)f.installs,
           (long long)f.failures,
           qr         ? "never quarantined"
           : q.active ? "QUARANTINED"
                      : "quarantine released");
    if (qr == 0)
        printf("  since %lld: %s\n", (long long)q.since, q.reason);
    if (qr == 0 && !q.active)
        printf("  released %lld by %s: %s\n", (long long)q.released_at, q.released_by,
               q.release_reason);
    return 0;
}

static int q_change(int argc, char **argv, bool release)
{
    struct qargs a;
    int r = parse(argc, argv, &a,
                  release ? "usage: rspctl quarantine release DIM VALUE --db STORE --reason TEXT\n"
                            "         [--actor NAME]\n"
                            "Lifts a quarantine (audited with actor and reason; the cohort's\n"
                            "figures start afresh).\n"
                          : "usage: rspctl quarantine set DIM VALUE --db STORE --reason TEXT\n"
                            "         [--actor NAME]\n"
                            "Quarantines a cohort by hand (audited).\n",
                  2);
    if (r)
        return r > 0 ? 0 : EXIT_USAGE;
    enum rsp_act_dim d;
    if (dim_of(a.dim, &d))
        return EXIT_USAGE;
    if (!a.reason || !*a.reason) {
        fprintf(stderr, "rspctl quarantine %s: --reason is required\n",
                release ? "release" : "set");
        return EXIT_USAGE;
    }
    char actor[RSP_AUDIT_ACTOR_MAX + 1];
    if (a.actor)
        snprintf(actor, sizeof actor, "%s:%s", rspctl_actor(), a.actor);
    else
        snprintf(actor, sizeof actor, "%s", rspctl_actor());
    struct rsp_store *st;
    int rc = act_open(&a.c, release ? "quarantine release" : "quarantine set", &st);
    if (rc)
        return rc;
    int64_t now = (int64_t)time(NULL);
    rc = release ? rsp_act_quarantine_release(st, d, a.value, actor, a.reason, now)
                 : rsp_act_quarantine_set(st, d, a.value, actor, a.reason, now);
    rsp_store_close(st);
    if (rc == RSP_ENOTFOUND)
        return fprintf(stderr, "rspctl quarantine release: %s %s is not quarantined\n", a.dim,
                       a.value),
               1;
    if (rc)
        return fprintf(stderr, "rspctl quarantine: %s\n", rsp_strerror(rc)), 1;
    printf("%s %s %s\n", a.dim, a.value, release ? "released" : "quarantined");
    return 0;
}

static int q_release(int argc, char **argv)
{
    return q_change(argc, argv, true);
}

static int q_set(int argc, char **argv)
{
    return q_change(argc, argv, false);
}

int rspctl_cmd_quarantine(int argc, char **argv)
{
    static const struct subcommand t[] = {
        {"list", "quarantined cohorts", q_list},
        {"show", "a cohort's quarantine and integrity figures", q_show},
        {"release", "lift a quarantine (audited; --reason required)", q_release},
        {"set", "quarantine a cohort by hand (audited)", q_set},
    };
    return rspctl_dispatch("rspctl quarantine", t, sizeof t / sizeof t[0], argc, argv);
}
