/* rspctl report: operator reports. The subcommand table below is the one place reports are
 * registered: add a row per report (the telemetry reports of issue #6 item 2 append theirs).
 *
 *   rspctl report funnel --db STORE [--campaign C] [--json | --csv]
 */
#include <stdio.h>
#include <string.h>

#include "rsp/act.h"
#include "rsp/err.h"

#include "rspctl.h"
#include "rspctl_act.h"

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

/* Reports: append rows here. */
static const struct subcommand reports[] = {
    {"funnel", "activation funnel: orders per stage (current and reached)", rspctl_report_funnel},
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
