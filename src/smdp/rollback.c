/* Rollback procedures: failure classification, policies, the SLA sweeper; and the privacy and
 * retention wrappers of the store. Every profile change here is a compare-and-set through
 * rsp_store_profile_update, so it is checked against the state table (store.c) and audited. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/recon.h"

#define ACTOR "rollback"

static const char *const fail_names[RSP_FAIL_NKINDS] = {
    "download-failed", "install-failed",      "pir-error", "cancelled",
    "ttl-expired",     "verification-failed", "other"};
static const char *const policy_names[RSP_RB_NPOLICIES] = {"available", "quarantine", "rerelease"};

const char *rsp_fail_kind_name(enum rsp_fail_kind k)
{
    return (unsigned)k < RSP_FAIL_NKINDS ? fail_names[k] : "?";
}

int rsp_fail_kind_from_name(const char *name, enum rsp_fail_kind *out)
{
    for (unsigned i = 0; name && i < RSP_FAIL_NKINDS; i++)
        if (strcmp(name, fail_names[i]) == 0) {
            *out = (enum rsp_fail_kind)i;
            return 0;
        }
    return RSP_ESYNTAX;
}

const char *rsp_rollback_policy_name(enum rsp_rollback_policy p)
{
    return (unsigned)p < RSP_RB_NPOLICIES ? policy_names[p] : "?";
}

int rsp_rollback_policy_from_name(const char *name, enum rsp_rollback_policy *out)
{
    for (unsigned i = 0; name && i < RSP_RB_NPOLICIES; i++)
        if (strcmp(name, policy_names[i]) == 0) {
            *out = (enum rsp_rollback_policy)i;
            return 0;
        }
    return RSP_ESYNTAX;
}

void rsp_rollback_config_default(struct rsp_rollback_config *c)
{
    memset(c, 0, sizeof *c);
    c->policy[RSP_FAIL_DOWNLOAD] = RSP_RB_RERELEASE;
    c->policy[RSP_FAIL_INSTALL] = RSP_RB_RERELEASE;
    c->policy[RSP_FAIL_PIR] = RSP_RB_QUARANTINE;
    c->policy[RSP_FAIL_CANCELLED] = RSP_RB_AVAILABLE;
    c->policy[RSP_FAIL_TTL] = RSP_RB_AVAILABLE; /* the order lapsed: re-releasing would re-arm it */
    c->policy[RSP_FAIL_VERIFY] = RSP_RB_QUARANTINE;
    c->policy[RSP_FAIL_OTHER] = RSP_RB_QUARANTINE;
    c->sla = 300;
}

int rsp_rollback_config_check(const struct rsp_rollback_config *c, char *why, size_t why_len)
{
    if (!c)
        return RSP_EINVAL;
    if (c->policy[RSP_FAIL_DOWNLOAD] == RSP_RB_AVAILABLE) {
        if (why && why_len)
            snprintf(why, why_len,
                     "download-failed=available is refused: the profile package may have reached "
                     "the eUICC (its result lost), so the profile could end on two eUICCs; use "
                     "rerelease or quarantine");
        return RSP_EINVAL;
    }
    return 0;
}

/* ---- store wrappers ---- */

static const char *actor_or(const char *a)
{
    return a && *a ? a : "system";
}

int rsp_store_rollback_open(struct rsp_store *st, struct rsp_rollback *rb, const char *actor)
{
    enum rsp_fail_kind k;
    if (!st || !rb || !rb->iccid[0] || rsp_fail_kind_from_name(rb->kind, &k) != 0)
        return RSP_EINVAL;
    if (!st->ops->rollback_open)
        return RSP_EIO;
    return st->ops->rollback_open(st, rb, actor_or(actor));
}

int rsp_store_rollback_walk(struct rsp_store *st, bool open_only, rsp_store_rollback_cb cb,
                            void *arg)
{
    if (!st || !cb)
        return RSP_EINVAL;
    if (!st->ops->rollback_walk)
        return RSP_EIO;
    return st->ops->rollback_walk(st, open_only, cb, arg);
}

int rsp_store_rollback_close(struct rsp_store *st, const struct rsp_rollback *rb, const char *actor)
{
    if (!st || !rb || rb->id <= 0 || rb->done_at <= 0 || !rb->policy[0] || !rb->outcome[0])
        return RSP_EINVAL;
    if (!st->ops->rollback_close)
        return RSP_EIO;
    return st->ops->rollback_close(st, rb, actor_or(actor));
}

int rsp_store_privacy_erase(struct rsp_store *st, const char *customer, const char *actor,
                            struct rsp_privacy_counts *out)
{
    struct rsp_privacy_counts dummy;
    if (!st || !customer || !customer[0] || strlen(customer) > RSP_RECON_TEXT_MAX)
        return RSP_EINVAL;
    if (!st->ops->privacy_erase)
        return RSP_EIO;
    return st->ops->privacy_erase(st, customer, actor_or(actor), out ? out : &dummy);
}

static const char *const class_names[RSP_DATA_NCLASSES] = {"events", "sessions", "rollbacks"};

const char *rsp_data_class_name(enum rsp_data_class c)
{
    return (unsigned)c < RSP_DATA_NCLASSES ? class_names[c] : "?";
}

int rsp_store_retention_sweep(struct rsp_store *st, enum rsp_data_class cls, int64_t before,
                              const char *actor, int64_t *n_removed)
{
    int64_t dummy;
    if (!st || (unsigned)cls >= RSP_DATA_NCLASSES)
        return RSP_EINVAL;
    if (!st->ops->retention_sweep)
        return RSP_EIO;
    return st->ops->retention_sweep(st, (int)cls, before, actor_or(actor),
                                    n_removed ? n_removed : &dummy);
}

/* ---- classification ---- */

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* error_reason texts are written by es9p.c (and the sweeper, and rsp_rollback_report_failure);
 * this table is the one place that reads them. */
bool rsp_rollback_classify(const struct rsp_profile *p, enum rsp_fail_kind *out)
{
    const char *e = p->error_reason;
    if (p->state != RSP_PROFILE_ERROR && !(p->state == RSP_PROFILE_RELEASED && e[0]))
        return false;
    if (starts(e, "installation error"))
        *out = RSP_FAIL_PIR;
    else if (starts(e, "cancelSession loadBppExecutionError"))
        *out = RSP_FAIL_INSTALL;
    else if (starts(e, "cancelSession metadataMismatch") || starts(e, "device verification"))
        *out = RSP_FAIL_VERIFY;
    else if (starts(e, "cancelSession") || starts(e, "confirmation code attempts"))
        *out = RSP_FAIL_CANCELLED;
    else if (starts(e, "order expired"))
        *out = RSP_FAIL_TTL;
    else if (starts(e, "download session expired") || starts(e, "download attempts exhausted") ||
             starts(e, "package re-check") || starts(e, "download failed"))
        *out = RSP_FAIL_DOWNLOAD;
    else if (p->state == RSP_PROFILE_RELEASED && starts(e, "rollback:"))
        return false; /* our own note after a re-release */
    else
        *out = RSP_FAIL_OTHER;
    return true;
}

/* ---- applying a policy ---- */

/* One audited step; *cur follows the row. */
static int step(struct rsp_store *st, struct rsp_profile *cur, enum rsp_profile_state to,
                bool clear_order, const char *reason)
{
    struct rsp_profile n = *cur;
    n.state = to;
    if (clear_order) {
        n.eid[0] = 0;
        n.matching_id[0] = 0;
        n.cc_set = false;
        memset(n.cc_hash, 0, sizeof n.cc_hash);
        n.cc_attempts = 0;
        n.release_flag = false;
        n.smds_address[0] = 0;
    }
    n.download_attempts = 0;
    if (to == RSP_PROFILE_RELEASED)
        snprintf(n.error_reason, sizeof n.error_reason, "rollback: re-released");
    else if (to != RSP_PROFILE_ERROR)
        n.error_reason[0] = 0;
    int rc = rsp_store_profile_update(st, cur, &n, ACTOR, reason);
    if (rc == 0)
        *cur = n;
    return rc;
}

/* Applies policy to the profile (as read); outcome gets the final state or why not. */
static int apply(struct rsp_store *st, struct rsp_profile *p, enum rsp_rollback_policy pol,
                 const char *reason, char outcome[64])
{
    int rc = 0;
    switch (pol) {
    case RSP_RB_AVAILABLE:
        rc = step(st, p, RSP_PROFILE_AVAILABLE, true, reason);
        break;
    case RSP_RB_QUARANTINE:
        rc = step(st, p, RSP_PROFILE_UNAVAILABLE, false, reason);
        break;
    case RSP_RB_RERELEASE:
        if (p->state == RSP_PROFILE_RELEASED) {
            rc = step(st, p, RSP_PROFILE_RELEASED, false, reason); /* field update */
            break;
        }
        /* Error -> Available -> Linked|Allocated -> Released, each a transition of the table
         * (Error has no direct way back to Released, SGP.22 §3.1.6). The order data stay. */
        rc = step(st, p, RSP_PROFILE_AVAILABLE, false, reason);
        if (rc == 0)
            rc = step(st, p, p->eid[0] ? RSP_PROFILE_LINKED : RSP_PROFILE_ALLOCATED, false, reason);
        if (rc == 0)
            rc = step(st, p, RSP_PROFILE_RELEASED, false, reason);
        break;
    default:
        return RSP_EINVAL;
    }
    snprintf(outcome, 64, "%s", rc == 0 ? rsp_profile_state_name(p->state) : "");
    return rc;
}

/* ---- the sweeper ---- */

struct sweep_ctx {
    struct rsp_store *st;
    const struct rsp_rollback_config *cfg;
    int64_t now;
    struct rsp_rollback_run *run;
    int err;
};

static int finish_one_call(struct sweep_ctx *c, const struct rsp_rollback *rb0);

/* Finishes one open rollback: applies the policy when the profile is still in the failed state
 * of that rollback, else records what it is now (someone else resolved it). The policy's steps
 * (a re-release is three transitions) and the closing of the rollback are one transaction
 * (rsp_store_call_begin): a sweeper that loses a race half-way leaves the profile in its failed
 * state for the next run, never in an intermediate one another sweeper would take for
 * "resolved elsewhere". */
static int finish_one(void *arg, const struct rsp_rollback *rb0)
{
    struct sweep_ctx *c = arg;
    if (c->cfg->max_per_run && c->run->done >= c->cfg->max_per_run)
        return 1;
    int rc = rsp_store_call_begin(c->st);
    if (rc) {
        c->err = rc;
        return rc;
    }
    unsigned done0 = c->run->done, breaches0 = c->run->breaches;
    rc = finish_one_call(c, rb0);
    bool keep = rc == 0 && c->err == 0;
    int committed = rsp_store_call_end(c->st, keep);
    if (rc == RSP_ESTATE)
        return 0; /* lost a race: nothing of it stored, looked at again next run */
    if (keep && committed != 0) {
        c->run->done = done0; /* nothing of it was stored */
        c->run->breaches = breaches0;
        if (committed == RSP_ESTATE) {
            c->run->lost++;
            return 0;
        }
        c->err = committed;
        return committed;
    }
    return rc;
}

static int finish_one_call(struct sweep_ctx *c, const struct rsp_rollback *rb0)
{
    struct rsp_rollback rb = *rb0;
    enum rsp_fail_kind k;
    if (rsp_fail_kind_from_name(rb.kind, &k) != 0)
        k = RSP_FAIL_OTHER;
    enum rsp_rollback_policy pol = c->cfg->policy[k];
    struct rsp_profile p;
    int rc = rsp_store_profile_get(c->st, rb.iccid, &p);
    char reason[96];
    snprintf(reason, sizeof reason, "rollback %lld %s: %s", (long long)rb.id, rb.kind,
             rsp_rollback_policy_name(pol));
    enum rsp_fail_kind now_kind;
    if (rc == RSP_ENOTFOUND) {
        snprintf(rb.outcome, sizeof rb.outcome, "profile gone");
    } else if (rc) {
        c->err = rc;
        return rc;
    } else if (p.state_since == rb.failed_at && rsp_rollback_classify(&p, &now_kind)) {
        rc = apply(c->st, &p, pol, reason, rb.outcome);
        if (rc == RSP_ESTATE) {
            c->run->lost++;    /* changed meanwhile: looked at again next run */
            return RSP_ESTATE; /* undo the steps already made */
        }
        if (rc) {
            c->err = rc;
            return rc;
        }
    } else {
        snprintf(rb.outcome, sizeof rb.outcome, "resolved elsewhere: %s",
                 rsp_profile_state_name(p.state));
    }
    snprintf(rb.policy, sizeof rb.policy, "%s", rsp_rollback_policy_name(pol));
    rb.done_at = c->now > rb.failed_at ? c->now : rb.failed_at;
    rc = rsp_store_rollback_close(c->st, &rb, ACTOR);
    if (rc == RSP_ESTATE) {
        c->run->lost++;
        return RSP_ESTATE; /* another sweeper closed it: undo ours */
    }
    if (rc) {
        c->err = rc;
        return rc;
    }
    c->run->done++;
    if (rb.done_at - rb.failed_at > c->cfg->sla)
        c->run->breaches++;
    return 0;
}

/* The failed profiles (and the Released ones past the order TTL) of one state, copied: the walk
 * must not write. */
struct plist {
    struct rsp_profile *v;
    size_t n, cap;
    const struct rsp_rollback_config *cfg;
    int64_t now;
};

static bool ttl_over(const struct rsp_profile *p, const struct rsp_rollback_config *cfg,
                     int64_t now)
{
    enum rsp_fail_kind k;
    return p->state == RSP_PROFILE_RELEASED && !rsp_rollback_classify(p, &k) && cfg->order_ttl &&
           now - p->state_since > cfg->order_ttl;
}

static int collect_failed(void *arg, const struct rsp_profile *p)
{
    struct plist *l = arg;
    enum rsp_fail_kind k;
    if (!rsp_rollback_classify(p, &k) && !ttl_over(p, l->cfg, l->now))
        return 0;
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 64;
        void *nv = realloc(l->v, nc * sizeof *l->v);
        if (!nv)
            return RSP_ENOMEM;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = *p;
    return 0;
}

int rsp_rollback_sweep(struct rsp_store *st, const struct rsp_rollback_config *cfg, int64_t now,
                       struct rsp_rollback_run *out)
{
    if (!st || !cfg)
        return RSP_EINVAL;
    struct rsp_rollback_run dummy;
    struct rsp_rollback_run *run = out ? out : &dummy;
    memset(run, 0, sizeof *run);
    struct plist l = {NULL, 0, 0, cfg, now};
    /* 1. detect: profiles in Error, and Released ones (failed, or past the order TTL) */
    enum rsp_profile_state states[2] = {RSP_PROFILE_ERROR, RSP_PROFILE_RELEASED};
    int rc = 0;
    for (int s = 0; s < 2 && rc == 0; s++) {
        l.n = 0;
        rc = rsp_store_profile_list(st, &states[s], collect_failed, &l);
        for (size_t i = 0; rc == 0 && i < l.n; i++) {
            struct rsp_profile *p = &l.v[i];
            enum rsp_fail_kind k;
            if (ttl_over(p, cfg, now)) {
                /* the order's lifetime is over: Released -> Error "order expired" */
                struct rsp_profile n = *p;
                n.state = RSP_PROFILE_ERROR;
                snprintf(n.error_reason, sizeof n.error_reason, "order expired");
                int r2 = rsp_store_profile_update(st, p, &n, ACTOR, "order expired");
                if (r2 == RSP_ESTATE) {
                    run->lost++;
                    continue;
                }
                if (r2) {
                    rc = r2;
                    break;
                }
                struct rsp_profile again;
                if (rsp_store_profile_get(st, p->iccid, &again) == 0)
                    *p = again;
            }
            if (!rsp_rollback_classify(p, &k))
                continue;
            struct rsp_rollback rb;
            memset(&rb, 0, sizeof rb);
            snprintf(rb.iccid, sizeof rb.iccid, "%s", p->iccid);
            snprintf(rb.kind, sizeof rb.kind, "%s", rsp_fail_kind_name(k));
            rb.failed_at = p->state_since;
            snprintf(rb.detail, sizeof rb.detail, "%s: %.100s", rsp_profile_state_name(p->state),
                     p->error_reason);
            snprintf(rb.policy, sizeof rb.policy, "%s", rsp_rollback_policy_name(cfg->policy[k]));
            int r2 = rsp_store_rollback_open(st, &rb, ACTOR);
            if (r2 < 0) {
                rc = r2;
                break;
            }
            if (r2 == 0)
                run->detected++;
        }
    }
    free(l.v);
    if (rc)
        return rc;
    /* 2. apply the policy of every open rollback */
    struct sweep_ctx c = {st, cfg, now, run, 0};
    rc = rsp_store_rollback_walk(st, true, finish_one, &c);
    if (c.err)
        return c.err;
    return rc < 0 ? rc : 0;
}

int rsp_rollback_report_failure(struct rsp_store *st, const char *iccid, enum rsp_fail_kind kind,
                                const char *actor)
{
    if (!st || !iccid || (unsigned)kind >= RSP_FAIL_NKINDS)
        return RSP_EINVAL;
    struct rsp_profile p;
    int rc = rsp_store_profile_get(st, iccid, &p);
    if (rc)
        return rc;
    if (p.state != RSP_PROFILE_RELEASED && p.state != RSP_PROFILE_DOWNLOADED)
        return RSP_ESTATE;
    static const char *const why[RSP_FAIL_NKINDS] = {
        [RSP_FAIL_DOWNLOAD] = "download failed (reported)",
        [RSP_FAIL_INSTALL] = "cancelSession loadBppExecutionError (reported)",
        [RSP_FAIL_PIR] = "installation error (reported)",
        [RSP_FAIL_CANCELLED] = "cancelSession (reported)",
        [RSP_FAIL_TTL] = "order expired (reported)",
        [RSP_FAIL_VERIFY] = "device verification failed (reported)",
        [RSP_FAIL_OTHER] = "reported failure",
    };
    struct rsp_profile n = p;
    n.state = RSP_PROFILE_ERROR;
    snprintf(n.error_reason, sizeof n.error_reason, "%s", why[kind]);
    return rsp_store_profile_update(st, &p, &n, actor_or(actor), why[kind]);
}
