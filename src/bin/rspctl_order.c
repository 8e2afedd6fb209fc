/* rspctl order / campaign: activation orders (stage 0) and campaigns (rsp/act.h).
 *
 *   rspctl order create --db STORE [--pseudonym-key F] [--identity-check CMD|URL]
 *                       [--identity-timeout S] (--csv FILE | --id ID --customer REF
 *                       (--profile-type T | --iccid ICCID) [--tariff P] [--campaign C]
 *                       [--country CC] [--eid EID] [--tac TAC] [--model M]) [--json]
 *   rspctl order reserve ORDER --db STORE --operator OP [--euicc-info FILE]
 *   rspctl order release ORDER --db STORE [--cc CODE]
 *   rspctl order list --db STORE [--customer R] [--campaign C] [--eid E] [--iccid I]
 *                     [--matching-id M] [--stage S] [--limit N] [--json]
 *   rspctl order show ORDER --db STORE [--json]
 *   rspctl order sweep --db STORE
 *   rspctl campaign create NAME --db STORE [--description D] [--requires-acceptance]
 *   rspctl campaign show NAME --db STORE [--json]
 *   rspctl campaign release NAME --db STORE --operator OP
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rsp/act_ops.h"
#include "rsp/err.h"
#include "rsp/es2p.h"

#include "rspctl.h"
#include "rspctl_act.h"

/* ---- shared helpers ---- */

int act_common_opt(int argc, char **argv, int *i, struct act_common *c)
{
    int r;
    if ((r = rspctl_opt_value(argc, argv, i, "--db", &c->db)) != 0)
        return r;
    return rspctl_opt_value(argc, argv, i, "--pseudonym-key", &c->pseudonym_key);
}

int act_open(const struct act_common *c, const char *cmd, struct rsp_store **st)
{
    static struct rsp_pseudonym_key key;
    char why[512], shown[512];
    if (!c->db) {
        fprintf(stderr, "rspctl %s: --db STORE is required\n", cmd);
        return EXIT_USAGE;
    }
    if (c->pseudonym_key) {
        struct rsp_buf b = RSP_BUF_INIT;
        int rc = rspctl_read_file(c->pseudonym_key, &b);
        if (rc == 0)
            rc = rsp_pseudonym_key_parse(b.data, b.len, &key);
        rsp_buf_free(&b);
        if (rc) {
            fprintf(stderr, "rspctl %s: %s: not a pseudonym key (%s)\n", cmd, c->pseudonym_key,
                    rsp_strerror(rc));
            return 1;
        }
    }
    int rc = rsp_store_open_url(c->db, st, why, sizeof why);
    if (rc) {
        rsp_store_url_redact(c->db, shown, sizeof shown);
        fprintf(stderr, "rspctl %s: cannot open %s: %s (%s)\n", cmd, shown, rsp_strerror(rc), why);
        return 1;
    }
    if (c->pseudonym_key)
        rsp_store_set_pseudonym_key(*st, &key);
    return 0;
}

json_t *act_order_json(const struct rsp_act_order *o)
{
    json_t *t = json_object();
    for (int i = 0; i < RSP_ACT_NSTAGES; i++)
        if (o->t[i])
            json_object_set_new(t, rsp_act_stage_name((enum rsp_act_stage)i),
                                json_integer(o->t[i]));
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,"
                     "s:I,s:I}",
                     "order_id", o->order_id, "customer_ref", o->customer_ref, "tariff_plan",
                     o->tariff_plan, "campaign", o->campaign, "country", o->country, "profile_type",
                     o->profile_type, "iccid", o->iccid, "eid", o->eid, "eum", o->eum, "tac",
                     o->tac, "device_model", o->device_model, "operator", o->operator_,
                     "identity_check", o->id_result, "identity_reason", o->id_reason, "stage",
                     rsp_act_stage_name(o->stage), "outcome", o->outcome, "matching_id",
                     o->matching_id, "stage_times", t, "created_at", (json_int_t)o->created_at,
                     "version", (json_int_t)o->version);
}

json_t *act_token_json(const struct rsp_act_token *t)
{
    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:s}", "matching_id", t->matching_id, "order_id",
                     t->order_id, "activation_code", t->activation_code, "issued_at",
                     (json_int_t)t->issued_at, "expires_at", (json_int_t)t->expires_at,
                     "revoked_at", (json_int_t)t->revoked_at, "revoke_reason", t->revoke_reason);
}

json_t *act_push_json(const struct rsp_act_push *p)
{
    return json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:I,s:s}", "push_id", (json_int_t)p->id,
                     "order_id", p->order_id, "matching_id", p->matching_id, "channel", p->channel,
                     "channel_ref", p->channel_ref, "issued_at", (json_int_t)p->issued_at,
                     "handed_at", (json_int_t)p->handed_at, "first_contact_at",
                     (json_int_t)p->first_contact_at, "outcome", p->outcome, "outcome_at",
                     (json_int_t)p->outcome_at, "outcome_reason", p->outcome_reason);
}

json_t *act_quarantine_json(const struct rsp_act_quarantine *q)
{
    return json_pack(
        "{s:s,s:s,s:b,s:I,s:s,s:I,s:I,s:I,s:I,s:s,s:s}", "dim", rsp_act_dim_name(q->dim), "value",
        q->value, "active", q->active, "since", (json_int_t)q->since, "reason", q->reason,
        "attempts", (json_int_t)q->at_trip.attempts, "installs", (json_int_t)q->at_trip.installs,
        "failures", (json_int_t)q->at_trip.failures, "released_at", (json_int_t)q->released_at,
        "released_by", q->released_by, "release_reason", q->release_reason);
}

void act_print_json(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(j);
}

/* ---- ES2+ reuse: reservation (DownloadOrder) and release (ConfirmOrder) ---- */

static void es2_failed(const struct rsp_es2_response *r, char *out, size_t cap)
{
    const struct rsp_status_code *c = &r->status.code;
    snprintf(out, cap, "ES2+ %s/%s %s", c->subject, c->reason, c->message);
}

/* Records a refusal on the order (same stage, outcome = why, audited). */
static void note_refusal(struct rsp_store *st, const struct rsp_act_order *o, const char *why)
{
    struct rsp_act_order n = *o;
    snprintf(n.outcome, sizeof n.outcome, "%s", why);
    (void)rsp_act_order_update(st, o, &n, rspctl_actor(), why);
}

/* The capability check when the EID and its EUICCInfo2 are known: 0 fits or unknown, 1 refused
 * (why filled), negative on failure. */
static int capability(struct rsp_store *st, const struct rsp_act_order *o,
                      const struct rsp_profile *p, const char *file, char *why, size_t cap)
{
    struct rsp_buf info = RSP_BUF_INIT, pkg = RSP_BUF_INIT;
    int rc = 0;
    if (file)
        rc = rspctl_read_file(file, &info);
    else if (o->eid[0])
        rc = rsp_act_euicc_info_get(st, o->eid, &info);
    else
        rc = RSP_ENOTFOUND;
    if (rc == RSP_ENOTFOUND) {
        rc = 0; /* unknown capability: nothing to check */
        goto out;
    }
    if (rc)
        goto out;
    size_t pkg_len = 0;
    if (rsp_store_profile_package(st, p->iccid, &pkg) == 0)
        pkg_len = pkg.len;
    rc = rsp_act_capability_check(info.data, info.len, p, pkg_len, why, cap);
    if (rc < 0) {
        snprintf(why, cap, "EUICCInfo2 undecodable (%s)", rsp_strerror(rc));
        rc = 1;
    }
out:
    rsp_buf_free(&info);
    rsp_buf_free(&pkg);
    return rc;
}

int act_reserve(struct rsp_store *st, const char *order_id, const char *op_id,
                const char *euicc_info_file, bool quiet)
{
    struct rsp_act_order o;
    int rc = rsp_act_order_get(st, order_id, &o);
    if (rc) {
        fprintf(stderr, "rspctl order reserve: %s: %s\n", order_id, rsp_strerror(rc));
        return rc == RSP_ENOTFOUND ? 1 : rc;
    }
    if (o.stage != RSP_ACT_PRE_PROVISIONED) {
        fprintf(stderr, "rspctl order reserve: %s is %s, not pre-provisioned\n", order_id,
                rsp_act_stage_name(o.stage));
        return 1;
    }
    struct rsp_es2p_operator op;
    memset(&op, 0, sizeof op);
    snprintf(op.id, sizeof op.id, "%s", op_id);
    struct rsp_es2p_ctx ctx = {st, &op, NULL, 0};
    char why[256];
    for (int attempt = 0; attempt < 8; attempt++) {
        /* The candidate profile, checked against the eUICC, then reserved by its ICCID. */
        struct rsp_profile p;
        if (o.iccid[0])
            rc = rsp_store_profile_get(st, o.iccid, &p);
        else
            rc = rsp_store_profile_find_available_owned(st, o.profile_type, op.id, &p);
        if (rc == RSP_ENOTFOUND || rc == RSP_ESTATE) {
            snprintf(why, sizeof why, "no Available profile of type %s for operator %s",
                     o.profile_type, op.id);
            note_refusal(st, &o, why);
            fprintf(stderr, "rspctl order reserve: %s: %s\n", order_id, why);
            return 1;
        }
        if (rc)
            return rc;
        rc = capability(st, &o, &p, euicc_info_file, why, sizeof why);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            char msg[300];
            snprintf(msg, sizeof msg, "eUICC capability: %s", why);
            note_refusal(st, &o, msg);
            fprintf(stderr, "rspctl order reserve: %s refused: %s\n", order_id, msg);
            return 1;
        }
        struct rsp_es2_request rq;
        struct rsp_es2_response rs;
        memset(&rq, 0, sizeof rq);
        rq.fn = RSP_ES2_DOWNLOAD_ORDER;
        snprintf(rq.u.download_order.iccid, sizeof rq.u.download_order.iccid, "%s", p.iccid);
        snprintf(rq.u.download_order.eid, sizeof rq.u.download_order.eid, "%s", o.eid);
        rc = rsp_es2p_handle(&ctx, &rq, &rs);
        if (rc)
            return rc;
        if (rs.status.status != RSP_ES_SUCCESS) {
            if (!o.iccid[0] && strcmp(rs.status.code.reason, "3.3") == 0)
                continue; /* another caller took the candidate: pick again */
            es2_failed(&rs, why, sizeof why);
            note_refusal(st, &o, why);
            fprintf(stderr, "rspctl order reserve: %s refused: %s\n", order_id, why);
            return 1;
        }
        struct rsp_act_order n = o;
        n.stage = RSP_ACT_RESERVED;
        n.outcome[0] = 0;
        snprintf(n.iccid, sizeof n.iccid, "%s", rs.u.download_order.iccid);
        snprintf(n.operator_, sizeof n.operator_, "%s", op.id);
        rc = rsp_act_order_update(st, &o, &n, rspctl_actor(), "reserved (ES2+ DownloadOrder)");
        if (rc) {
            fprintf(stderr, "rspctl order reserve: %s: recording the reservation: %s\n", order_id,
                    rsp_strerror(rc));
            return rc;
        }
        if (!quiet)
            printf("%s reserved %s\n", order_id, n.iccid);
        return 0;
    }
    fprintf(stderr, "rspctl order reserve: %s: lost every race for a profile\n", order_id);
    return 1;
}

int act_release(struct rsp_store *st, const char *order_id, const char *cc, bool quiet)
{
    struct rsp_act_order o;
    int rc = rsp_act_order_get(st, order_id, &o);
    if (rc) {
        fprintf(stderr, "rspctl order release: %s: %s\n", order_id, rsp_strerror(rc));
        return rc == RSP_ENOTFOUND ? 1 : rc;
    }
    if (o.stage != RSP_ACT_RESERVED) {
        fprintf(stderr, "rspctl order release: %s is %s, not reserved\n", order_id,
                rsp_act_stage_name(o.stage));
        return 1;
    }
    struct rsp_es2p_operator op;
    memset(&op, 0, sizeof op);
    snprintf(op.id, sizeof op.id, "%s", o.operator_);
    struct rsp_es2p_ctx ctx = {st, &op, NULL, 0};
    struct rsp_es2_request rq;
    struct rsp_es2_response rs;
    memset(&rq, 0, sizeof rq);
    rq.fn = RSP_ES2_CONFIRM_ORDER;
    snprintf(rq.u.confirm_order.iccid, sizeof rq.u.confirm_order.iccid, "%s", o.iccid);
    snprintf(rq.u.confirm_order.eid, sizeof rq.u.confirm_order.eid, "%s", o.eid);
    if (cc)
        snprintf(rq.u.confirm_order.confirmation_code, sizeof rq.u.confirm_order.confirmation_code,
                 "%s", cc);
    rq.u.confirm_order.release_flag = true;
    rc = rsp_es2p_handle(&ctx, &rq, &rs);
    if (rc)
        return rc;
    char why[256];
    if (rs.status.status != RSP_ES_SUCCESS) {
        es2_failed(&rs, why, sizeof why);
        note_refusal(st, &o, why);
        fprintf(stderr, "rspctl order release: %s refused: %s\n", order_id, why);
        return 1;
    }
    struct rsp_act_order n = o;
    n.stage = RSP_ACT_RELEASED;
    n.outcome[0] = 0;
    snprintf(n.matching_id, sizeof n.matching_id, "%s", rs.u.confirm_order.matching_id);
    rc = rsp_act_order_update(st, &o, &n, rspctl_actor(), "released (ES2+ ConfirmOrder)");
    if (rc)
        return rc;
    if (!quiet)
        printf("%s released matchingId %s\n", order_id, n.matching_id);
    return 0;
}

/* ---- order create ---- */

static void create_usage(FILE *f)
{
    fprintf(f, "usage: rspctl order create --db STORE [--pseudonym-key FILE]\n"
               "         [--identity-check CMD|URL] [--identity-timeout SECONDS]\n"
               "         (--csv FILE | --id ID --customer REF (--profile-type T | --iccid ICCID)\n"
               "          [--tariff PLAN] [--campaign C] [--country CC] [--eid EID] [--tac TAC]\n"
               "          [--model MODEL]) [--json]\n"
               "\n"
               "Stage 0 of the activation workflow: records pre-provisioned orders.\n"
               "--csv: a header row naming the columns (order_id, customer_ref required;\n"
               "tariff_plan, campaign, country, profile_type, iccid, eid, tac, device_model), one\n"
               "order per line, quoted fields allowed. Every line is checked first; any bad line\n"
               "is reported as FILE:LINE: reason and NOTHING is imported. A good file is imported\n"
               "in one transaction.\n"
               "--identity-check: a command (order JSON on stdin, {\"result\":\"pass\"|\"fail\",\n"
               "\"reason\":...} on stdout) or an http(s) URL (JSON POSTed); a failing or broken\n"
               "check records the order as identity-rejected with the reason.\n");
}

static int identity_all(const char *hook, unsigned timeout, struct rsp_act_order *o, size_t n,
                        size_t *rejected)
{
    *rejected = 0;
    for (size_t i = 0; hook && i < n; i++) {
        bool pass = false;
        char reason[128];
        int rc = rsp_act_identity_check(hook, timeout, &o[i], &pass, reason, sizeof reason);
        if (rc)
            return rc;
        snprintf(o[i].id_result, sizeof o[i].id_result, "%s", pass ? "pass" : "fail");
        snprintf(o[i].id_reason, sizeof o[i].id_reason, "%s", reason);
        if (!pass) {
            o[i].stage = RSP_ACT_IDENTITY_REJECTED;
            snprintf(o[i].outcome, sizeof o[i].outcome, "identity check: %.100s", reason);
            ++*rejected;
        }
    }
    return 0;
}

static int cmd_create(int argc, char **argv)
{
    struct act_common c = {0};
    const char *csv = NULL, *hook = NULL, *tmo = NULL;
    const char *v[10] = {0};
    static const char *const names[10] = {"--id",      "--customer",     "--tariff", "--campaign",
                                          "--country", "--profile-type", "--iccid",  "--eid",
                                          "--tac",     "--model"};
    bool json = false;
    for (int i = 1; i < argc; i++) {
        int r = 0;
        if (rspctl_is_help(argv[i])) {
            create_usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--json")) {
            json = true;
            continue;
        }
        if ((r = act_common_opt(argc, argv, &i, &c)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--csv", &csv)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--identity-check", &hook)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--identity-timeout", &tmo))) {
            if (r < 0)
                return create_usage(stderr), EXIT_USAGE;
            continue;
        }
        for (int k = 0; k < 10 && !r; k++)
            r = rspctl_opt_value(argc, argv, &i, names[k], &v[k]);
        if (r <= 0) {
            fprintf(stderr, "rspctl order create: bad argument '%s'\n", argv[i]);
            create_usage(stderr);
            return EXIT_USAGE;
        }
    }
    bool single = v[0] || v[1];
    if (!c.db || (csv && single) || (!csv && !single)) {
        create_usage(stderr);
        return EXIT_USAGE;
    }
    unsigned timeout = tmo ? (unsigned)strtoul(tmo, NULL, 10) : 10;
    struct rsp_act_csv parsed;
    memset(&parsed, 0, sizeof parsed);
    struct rsp_act_order one;
    struct rsp_act_order *orders = &one;
    size_t n = 1;
    if (csv) {
        struct rsp_buf b = RSP_BUF_INIT;
        if (rspctl_read_file(csv, &b) != 0) {
            fprintf(stderr, "rspctl order create: cannot read %s\n", csv);
            rsp_buf_free(&b);
            return 1;
        }
        int rc = rsp_act_csv_parse((const char *)b.data, b.len, &parsed);
        rsp_buf_free(&b);
        if (rc && rc != RSP_ERANGE) {
            fprintf(stderr, "rspctl order create: %s\n", rsp_strerror(rc));
            return 1;
        }
        if (parsed.total_errors) {
            for (size_t i = 0; i < parsed.n_errors; i++)
                fprintf(stderr, "%s:%zu: %s\n", csv, parsed.errors[i].line, parsed.errors[i].msg);
            fprintf(stderr, "rspctl order create: %zu error(s)%s; nothing imported\n",
                    parsed.total_errors,
                    parsed.total_errors > parsed.n_errors ? " (first shown)" : "");
            rsp_act_csv_free(&parsed);
            return 1;
        }
        orders = parsed.orders;
        n = parsed.n;
    } else {
        memset(&one, 0, sizeof one);
        char *dst[10] = {one.order_id, one.customer_ref, one.tariff_plan, one.campaign,
                         one.country,  one.profile_type, one.iccid,       one.eid,
                         one.tac,      one.device_model};
        size_t caps[10] = {sizeof one.order_id,    sizeof one.customer_ref, sizeof one.tariff_plan,
                           sizeof one.campaign,    sizeof one.country,      sizeof one.profile_type,
                           sizeof one.iccid,       sizeof one.eid,          sizeof one.tac,
                           sizeof one.device_model};
        for (int k = 0; k < 10; k++)
            if (v[k]) {
                if (strlen(v[k]) >= caps[k]) {
                    fprintf(stderr, "rspctl order create: %s: too long\n", names[k]);
                    return 1;
                }
                snprintf(dst[k], caps[k], "%s", v[k]);
            }
        one.stage = RSP_ACT_PRE_PROVISIONED;
        const char *why = NULL;
        if (rsp_act_order_validate(&one, &why) != 0) {
            fprintf(stderr, "rspctl order create: %s\n", why);
            return 1;
        }
    }
    size_t rejected = 0;
    int rc = identity_all(hook, timeout, orders, n, &rejected);
    struct rsp_store *st = NULL;
    if (rc == 0)
        rc = act_open(&c, "order create", &st);
    if (rc) {
        rsp_act_csv_free(&parsed);
        return rc > 0 ? rc : 1;
    }
    size_t bad = 0;
    rc = rsp_act_order_insert(st, orders, n, rspctl_actor(), &bad);
    if (rc == RSP_ESTATE)
        fprintf(stderr, "rspctl order create: %s%s%zu: order_id %s exists; nothing imported\n",
                csv ? csv : "", csv ? ":" : "order ", csv ? parsed.lines[bad] : (size_t)1,
                orders[bad].order_id);
    else if (rc)
        fprintf(stderr, "rspctl order create: %s (%s); nothing imported\n", rsp_strerror(rc),
                rsp_store_last_error(st));
    if (rc == 0) {
        if (json)
            act_print_json(json_pack("{s:I,s:I,s:I}", "imported", (json_int_t)n, "pre_provisioned",
                                     (json_int_t)(n - rejected), "identity_rejected",
                                     (json_int_t)rejected));
        else
            printf("imported %zu order(s): %zu pre-provisioned, %zu identity-rejected\n", n,
                   n - rejected, rejected);
    }
    rsp_store_close(st);
    rsp_act_csv_free(&parsed);
    return rc ? 1 : 0;
}

/* ---- order list / show ---- */

struct list_out {
    json_t *arr;
    size_t n;
};

static int list_cb(void *arg, const struct rsp_act_order *o)
{
    struct list_out *l = arg;
    l->n++;
    if (l->arr)
        return json_array_append_new(l->arr, act_order_json(o)) ? RSP_ENOMEM : 0;
    printf("%-20s %-17s %-14s %-20s %-24s %s\n", o->order_id, rsp_act_stage_name(o->stage),
           o->campaign[0] ? o->campaign : "-", o->iccid[0] ? o->iccid : "-",
           o->matching_id[0] ? o->matching_id : "-", o->outcome);
    return 0;
}

static int cmd_list(int argc, char **argv)
{
    struct act_common c = {0};
    struct rsp_act_order_filter f = {0};
    const char *stage = NULL, *limit = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i])) {
            printf(
                "usage: rspctl order list --db STORE [--customer REF] [--campaign C] [--eid EID]\n"
                "         [--iccid ICCID] [--matching-id M] [--stage S] [--limit N] [--json]\n"
                "stages: pre-provisioned identity-rejected reserved released token-issued\n"
                "        pushed first-contact installed failed expired revoked\n");
            return 0;
        }
        if (!strcmp(argv[i], "--json")) {
            json = true;
            continue;
        }
        if ((r = act_common_opt(argc, argv, &i, &c)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--customer", &f.customer_ref)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--campaign", &f.campaign)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--eid", &f.eid)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--iccid", &f.iccid)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--matching-id", &f.matching_id)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--stage", &stage)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--limit", &limit))) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        fprintf(stderr, "rspctl order list: bad argument '%s'\n", argv[i]);
        return EXIT_USAGE;
    }
    enum rsp_act_stage s;
    if (stage) {
        if (rsp_act_stage_from_name(stage, &s) != 0) {
            fprintf(stderr, "rspctl order list: unknown stage '%s'\n", stage);
            return EXIT_USAGE;
        }
        f.stage = &s;
    }
    if (limit)
        f.limit = (size_t)strtoull(limit, NULL, 10);
    struct rsp_store *st;
    int rc = act_open(&c, "order list", &st);
    if (rc)
        return rc;
    struct list_out l = {json ? json_array() : NULL, 0};
    if (!json)
        printf("%-20s %-17s %-14s %-20s %-24s %s\n", "ORDER", "STAGE", "CAMPAIGN", "ICCID",
               "MATCHING-ID", "OUTCOME");
    rc = rsp_act_order_list(st, &f, list_cb, &l);
    rsp_store_close(st);
    if (rc) {
        json_decref(l.arr);
        fprintf(stderr, "rspctl order list: %s\n", rsp_strerror(rc));
        return 1;
    }
    if (json)
        act_print_json(l.arr);
    return 0;
}

static int push_cb(void *arg, const struct rsp_act_push *p)
{
    return json_array_append_new((json_t *)arg, act_push_json(p)) ? RSP_ENOMEM : 0;
}

static int cmd_show(int argc, char **argv)
{
    struct act_common c = {0};
    const char *id = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i])) {
            printf("usage: rspctl order show ORDER --db STORE [--json]\n");
            return 0;
        }
        if (!strcmp(argv[i], "--json")) {
            json = true;
            continue;
        }
        if ((r = act_common_opt(argc, argv, &i, &c))) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        if (argv[i][0] == '-' || id)
            return fprintf(stderr, "rspctl order show: bad argument '%s'\n", argv[i]), EXIT_USAGE;
        id = argv[i];
    }
    if (!id)
        return fprintf(stderr, "usage: rspctl order show ORDER --db STORE [--json]\n"), EXIT_USAGE;
    struct rsp_store *st;
    int rc = act_open(&c, "order show", &st);
    if (rc)
        return rc;
    struct rsp_act_order o;
    rc = rsp_act_order_get(st, id, &o);
    if (rc) {
        fprintf(stderr, "rspctl order show: %s: %s\n", id, rsp_strerror(rc));
        rsp_store_close(st);
        return 1;
    }
    json_t *j = act_order_json(&o);
    json_t *pushes = json_array();
    rc = rsp_act_push_list(st, id, push_cb, pushes);
    json_object_set_new(j, "pushes", pushes);
    struct rsp_act_token t;
    if (o.matching_id[0] && rsp_act_token_get(st, o.matching_id, &t) == 0)
        json_object_set_new(j, "token", act_token_json(&t));
    rsp_store_close(st);
    if (json) {
        act_print_json(j);
        return rc ? 1 : 0;
    }
    printf("order %s\n  customer %s, tariff %s, campaign %s, country %s\n  profile type %s, "
           "ICCID %s, EID %s, TAC %s, model %s, operator %s\n  identity check %s %s\n"
           "  stage %s%s%s\n",
           o.order_id, o.customer_ref, o.tariff_plan, o.campaign, o.country, o.profile_type,
           o.iccid[0] ? o.iccid : "-", o.eid[0] ? o.eid : "-", o.tac[0] ? o.tac : "-",
           o.device_model[0] ? o.device_model : "-", o.operator_[0] ? o.operator_ : "-",
           o.id_result[0] ? o.id_result : "-", o.id_reason, rsp_act_stage_name(o.stage),
           o.outcome[0] ? ": " : "", o.outcome);
    for (int i = 0; i < RSP_ACT_NSTAGES; i++)
        if (o.t[i])
            printf("  %-17s %lld\n", rsp_act_stage_name((enum rsp_act_stage)i), (long long)o.t[i]);
    size_t k;
    json_t *p;
    json_array_foreach(json_object_get(j, "pushes"), k, p)
    {
        printf("  push %lld: channel %s ref %s handed %lld first contact %lld outcome %s\n",
               (long long)json_integer_value(json_object_get(p, "push_id")),
               json_string_value(json_object_get(p, "channel")),
               json_string_value(json_object_get(p, "channel_ref")),
               (long long)json_integer_value(json_object_get(p, "handed_at")),
               (long long)json_integer_value(json_object_get(p, "first_contact_at")),
               json_string_value(json_object_get(p, "outcome")));
    }
    json_decref(j);
    return rc ? 1 : 0;
}

/* ---- order reserve / release / sweep ---- */

static int cmd_reserve_release(int argc, char **argv, bool reserve)
{
    struct act_common c = {0};
    const char *id = NULL, *op = NULL, *info = NULL, *cc = NULL;
    const char *usage = reserve
                            ? "usage: rspctl order reserve ORDER --db STORE --operator OP "
                              "[--euicc-info EUICCINFO2.der]\n"
                              "Checks the eUICC capability when the EID's EUICCInfo2 is known\n"
                              "(given, or seen by the SM-DP+), then reserves a profile through\n"
                              "the ES2+ DownloadOrder logic.\n"
                            : "usage: rspctl order release ORDER --db STORE [--cc CODE]\n"
                              "Releases the reserved profile through the ES2+ ConfirmOrder\n"
                              "logic (refused for a quarantined cohort).\n";
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i]))
            return printf("%s", usage), 0;
        if ((r = act_common_opt(argc, argv, &i, &c)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--operator", &op)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--euicc-info", &info)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--cc", &cc))) {
            if (r < 0)
                return fprintf(stderr, "%s", usage), EXIT_USAGE;
            continue;
        }
        if (argv[i][0] == '-' || id)
            return fprintf(stderr, "%s", usage), EXIT_USAGE;
        id = argv[i];
    }
    if (!id || (reserve && !op))
        return fprintf(stderr, "%s", usage), EXIT_USAGE;
    struct rsp_store *st;
    int rc = act_open(&c, reserve ? "order reserve" : "order release", &st);
    if (rc)
        return rc;
    rc = reserve ? act_reserve(st, id, op, info, false) : act_release(st, id, cc, false);
    if (rc < 0)
        fprintf(stderr, "rspctl order: %s (%s)\n", rsp_strerror(rc), rsp_store_last_error(st));
    rsp_store_close(st);
    return rc ? 1 : 0;
}

static int cmd_reserve(int argc, char **argv)
{
    return cmd_reserve_release(argc, argv, true);
}

static int cmd_release(int argc, char **argv)
{
    return cmd_reserve_release(argc, argv, false);
}

static int cmd_sweep(int argc, char **argv)
{
    struct act_common c = {0};
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i]))
            return printf("usage: rspctl order sweep --db STORE\n"
                          "Moves orders whose activation token expired to the expired stage\n"
                          "(rsp-smdp does the same at every sweep_interval).\n"),
                   0;
        if ((r = act_common_opt(argc, argv, &i, &c)) <= 0)
            return EXIT_USAGE;
    }
    struct rsp_store *st;
    int rc = act_open(&c, "order sweep", &st);
    if (rc)
        return rc;
    unsigned n = 0;
    rc = rsp_act_token_expire(st, (int64_t)time(NULL), &n);
    rsp_store_close(st);
    if (rc)
        return fprintf(stderr, "rspctl order sweep: %s\n", rsp_strerror(rc)), 1;
    printf("%u order(s) expired\n", n);
    return 0;
}

int rspctl_cmd_order(int argc, char **argv)
{
    static const struct subcommand t[] = {
        {"create", "record pre-provisioned orders (single or --csv), identity check", cmd_create},
        {"reserve", "check eUICC capability and reserve a profile (ES2+ DownloadOrder)",
         cmd_reserve},
        {"release", "release the reserved profile (ES2+ ConfirmOrder)", cmd_release},
        {"list", "orders by customer, campaign, EID, ICCID, matchingId, stage", cmd_list},
        {"show", "one order with its stage times, token and pushes", cmd_show},
        {"sweep", "expire orders whose activation token expired", cmd_sweep},
    };
    return rspctl_dispatch("rspctl order", t, sizeof t / sizeof t[0], argc, argv);
}

/* ---- campaigns ---- */

static int camp_create(int argc, char **argv)
{
    struct act_common c = {0};
    const char *name = NULL, *desc = NULL;
    bool req = false;
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i]))
            return printf("usage: rspctl campaign create NAME --db STORE [--description D]\n"
                          "         [--requires-acceptance]\n"),
                   0;
        if (!strcmp(argv[i], "--requires-acceptance")) {
            req = true;
            continue;
        }
        if ((r = act_common_opt(argc, argv, &i, &c)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--description", &desc))) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        if (argv[i][0] == '-' || name)
            return fprintf(stderr, "rspctl campaign create: bad argument '%s'\n", argv[i]),
                   EXIT_USAGE;
        name = argv[i];
    }
    struct rsp_act_campaign k = {0};
    if (!name || strlen(name) > RSP_ACT_TEXT || (desc && strlen(desc) >= sizeof k.description))
        return fprintf(stderr, "usage: rspctl campaign create NAME --db STORE ...\n"), EXIT_USAGE;
    snprintf(k.name, sizeof k.name, "%s", name);
    snprintf(k.description, sizeof k.description, "%s", desc ? desc : "");
    k.requires_acceptance = req;
    struct rsp_store *st;
    int rc = act_open(&c, "campaign create", &st);
    if (rc)
        return rc;
    rc = rsp_act_campaign_put(st, &k, rspctl_actor());
    rsp_store_close(st);
    if (rc)
        return fprintf(stderr, "rspctl campaign create: %s\n", rsp_strerror(rc)), 1;
    printf("campaign %s%s\n", name, req ? " (requires acceptance)" : "");
    return 0;
}

static int camp_show(int argc, char **argv)
{
    struct act_common c = {0};
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i]))
            return printf("usage: rspctl campaign show NAME --db STORE\n"), 0;
        if (!strcmp(argv[i], "--json"))
            continue;
        if ((r = act_common_opt(argc, argv, &i, &c))) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        name = argv[i];
    }
    if (!name)
        return EXIT_USAGE;
    struct rsp_store *st;
    int rc = act_open(&c, "campaign show", &st);
    if (rc)
        return rc;
    struct rsp_act_campaign k;
    struct rsp_act_funnel f;
    rc = rsp_act_campaign_get(st, name, &k);
    if (rc == 0)
        rc = rsp_act_funnel(st, name, &f);
    struct rsp_act_quarantine q;
    int qr = rc ? 0 : rsp_act_quarantine_get(st, RSP_ACT_DIM_CAMPAIGN, name, &q);
    rsp_store_close(st);
    if (rc)
        return fprintf(stderr, "rspctl campaign show: %s: %s\n", name, rsp_strerror(rc)), 1;
    act_print_json(json_pack("{s:s,s:s,s:b,s:I,s:I,s:b}", "name", k.name, "description",
                             k.description, "requires_acceptance", k.requires_acceptance,
                             "created_at", (json_int_t)k.created_at, "orders", (json_int_t)f.total,
                             "quarantined", qr == 0 && q.active));
    return 0;
}

struct ids {
    char (*id)[RSP_ACT_TEXT + 1];
    size_t n, cap;
};

static int ids_cb(void *arg, const struct rsp_act_order *o)
{
    struct ids *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        void *p = realloc(l->id, cap * sizeof *l->id);
        if (!p)
            return RSP_ENOMEM;
        l->id = p;
        l->cap = cap;
    }
    snprintf(l->id[l->n++], sizeof l->id[0], "%s", o->order_id);
    return 0;
}

/* The acceptance gate of a bulk release: the `accept` branch's rsp_acceptance_gate() is called
 * from rsp_act_acceptance_gate_hook (see rsp/act.h). */
static int camp_release(int argc, char **argv)
{
    struct act_common c = {0};
    const char *name = NULL, *op = NULL;
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i]))
            return printf("usage: rspctl campaign release NAME --db STORE --operator OP\n"
                          "Bulk release: every pre-provisioned order of the campaign is reserved\n"
                          "and released, every reserved one released. Refused as a whole while\n"
                          "the campaign is quarantined or its acceptance gate does not pass;\n"
                          "single orders of a quarantined EUM/TAC/profile type are refused.\n"),
                   0;
        if ((r = act_common_opt(argc, argv, &i, &c)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--operator", &op))) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        if (argv[i][0] == '-' || name)
            return EXIT_USAGE;
        name = argv[i];
    }
    if (!name || !op)
        return fprintf(stderr, "usage: rspctl campaign release NAME --db STORE --operator OP\n"),
               EXIT_USAGE;
    struct rsp_store *st;
    int rc = act_open(&c, "campaign release", &st);
    if (rc)
        return rc;
    struct rsp_act_campaign k = {0};
    rc = rsp_act_campaign_get(st, name, &k);
    if (rc == RSP_ENOTFOUND) {
        snprintf(k.name, sizeof k.name, "%s", name); /* orders may name an unregistered one */
        rc = 0;
    }
    char why[256] = "";
    struct rsp_act_quarantine q;
    if (rc == 0 && rsp_act_quarantine_get(st, RSP_ACT_DIM_CAMPAIGN, name, &q) == 0 && q.active) {
        fprintf(stderr,
                "rspctl campaign release: campaign %s is quarantined since %lld (%s); "
                "nothing released (rspctl quarantine release campaign %s --reason ...)\n",
                name, (long long)q.since, q.reason, name);
        rsp_store_close(st);
        return 1;
    }
    if (rc == 0 && rsp_act_acceptance_gate_hook(st, &k, why, sizeof why) != 0) {
        fprintf(stderr, "rspctl campaign release: refused by the acceptance gate: %s\n", why);
        rsp_store_close(st);
        return 1;
    }
    struct ids pre = {0}, res = {0};
    enum rsp_act_stage s1 = RSP_ACT_PRE_PROVISIONED, s2 = RSP_ACT_RESERVED;
    struct rsp_act_order_filter f1 = {.campaign = name, .stage = &s1};
    struct rsp_act_order_filter f2 = {.campaign = name, .stage = &s2};
    if (rc == 0)
        rc = rsp_act_order_list(st, &f1, ids_cb, &pre);
    if (rc == 0)
        rc = rsp_act_order_list(st, &f2, ids_cb, &res);
    size_t released = 0, refused = 0;
    for (size_t i = 0; rc == 0 && i < pre.n; i++) {
        int r = act_reserve(st, pre.id[i], op, NULL, true);
        if (r == 0)
            r = act_release(st, pre.id[i], NULL, true);
        if (r < 0)
            rc = r;
        else
            r == 0 ? released++ : refused++;
    }
    for (size_t i = 0; rc == 0 && i < res.n; i++) {
        int r = act_release(st, res.id[i], NULL, true);
        if (r < 0)
            rc = r;
        else
            r == 0 ? released++ : refused++;
    }
    free(pre.id);
    free(res.id);
    if (rc)
        fprintf(stderr, "rspctl campaign release: %s (%s)\n", rsp_strerror(rc),
                rsp_store_last_error(st));
    else
        printf("campaign %s: %zu released, %zu refused\n", name, released, refused);
    rsp_store_close(st);
    return rc || refused ? 1 : 0;
}

int rspctl_cmd_campaign(int argc, char **argv)
{
    static const struct subcommand t[] = {
        {"create", "create or update a campaign", camp_create},
        {"show", "a campaign, its order count and quarantine", camp_show},
        {"release", "bulk release (quarantine and acceptance gate checked)", camp_release},
    };
    return rspctl_dispatch("rspctl campaign", t, sizeof t / sizeof t[0], argc, argv);
}
