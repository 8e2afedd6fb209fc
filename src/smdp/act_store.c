/* Activation operations records (rsp/act.h) over the store's generic statements.
 *
 * One SQL text for both backends (rsp_store_param): ?N parameters, TEXT and INTEGER columns,
 * INSERT ... ON CONFLICT for upserts. Every change runs inside x_begin ... x_finish with its audit
 * record(s) appended last (the chain head is the last lock a transaction takes, as in the
 * backends' own changes). */
#include "rsp/act.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rsp/err.h"
#include "rsp/es2p.h"
#include "rsp/sgp22_es10.h"

static const char *const stage_names[RSP_ACT_NSTAGES] = {
    "pre-provisioned", "identity-rejected", "reserved", "released", "token-issued", "pushed",
    "first-contact",   "installed",         "failed",   "expired",  "revoked",
};

static const char *const dim_names[RSP_ACT_NDIMS] = {"campaign", "eum", "tac", "profile-type"};

const char *rsp_act_stage_name(enum rsp_act_stage s)
{
    return (unsigned)s < RSP_ACT_NSTAGES ? stage_names[s] : NULL;
}

int rsp_act_stage_from_name(const char *name, enum rsp_act_stage *out)
{
    for (int i = 0; name && i < RSP_ACT_NSTAGES; i++)
        if (strcmp(name, stage_names[i]) == 0) {
            *out = (enum rsp_act_stage)i;
            return 0;
        }
    return RSP_ESYNTAX;
}

const char *rsp_act_dim_name(enum rsp_act_dim d)
{
    return (unsigned)d < RSP_ACT_NDIMS ? dim_names[d] : NULL;
}

int rsp_act_dim_from_name(const char *name, enum rsp_act_dim *out)
{
    for (int i = 0; name && i < RSP_ACT_NDIMS; i++)
        if (strcmp(name, dim_names[i]) == 0) {
            *out = (enum rsp_act_dim)i;
            return 0;
        }
    return RSP_ESYNTAX;
}

#define B(s) (1u << (s))
/* Allowed transitions: bit `to` set in row `from`. */
static const unsigned transitions[RSP_ACT_NSTAGES] = {
    [RSP_ACT_PRE_PROVISIONED] = B(RSP_ACT_RESERVED) | B(RSP_ACT_REVOKED),
    [RSP_ACT_IDENTITY_REJECTED] = 0,
    [RSP_ACT_RESERVED] = B(RSP_ACT_RELEASED) | B(RSP_ACT_PRE_PROVISIONED) | B(RSP_ACT_REVOKED),
    [RSP_ACT_RELEASED] = B(RSP_ACT_TOKEN_ISSUED) | B(RSP_ACT_REVOKED),
    [RSP_ACT_TOKEN_ISSUED] =
        B(RSP_ACT_PUSHED) | B(RSP_ACT_FIRST_CONTACT) | B(RSP_ACT_EXPIRED) | B(RSP_ACT_REVOKED),
    [RSP_ACT_PUSHED] = B(RSP_ACT_FIRST_CONTACT) | B(RSP_ACT_EXPIRED) | B(RSP_ACT_REVOKED),
    [RSP_ACT_FIRST_CONTACT] =
        B(RSP_ACT_INSTALLED) | B(RSP_ACT_FAILED) | B(RSP_ACT_EXPIRED) | B(RSP_ACT_REVOKED),
    [RSP_ACT_INSTALLED] = 0,
    [RSP_ACT_FAILED] =
        B(RSP_ACT_FIRST_CONTACT) | B(RSP_ACT_INSTALLED) | B(RSP_ACT_EXPIRED) | B(RSP_ACT_REVOKED),
    [RSP_ACT_EXPIRED] = B(RSP_ACT_TOKEN_ISSUED) | B(RSP_ACT_REVOKED),
    [RSP_ACT_REVOKED] = 0,
};

int rsp_act_stage_transition_check(enum rsp_act_stage from, enum rsp_act_stage to)
{
    if ((unsigned)from >= RSP_ACT_NSTAGES || (unsigned)to >= RSP_ACT_NSTAGES)
        return RSP_EINVAL;
    if (from == to)
        return 0;
    return (transitions[from] & B(to)) ? 0 : RSP_ESTATE;
}

/* ---- window arithmetic (pure) ---- */

static unsigned bucket_w(const struct rsp_act_integrity_config *c)
{
    return c && c->bucket_s ? c->bucket_s : 60;
}

static unsigned window_w(const struct rsp_act_integrity_config *c)
{
    return c && c->window_s ? c->window_s : 3600;
}

int64_t rsp_act_bucket_of(const struct rsp_act_integrity_config *c, int64_t t)
{
    int64_t w = bucket_w(c);
    int64_t k = t >= 0 ? t / w : -((-t + w - 1) / w);
    return k * w;
}

int64_t rsp_act_window_first(const struct rsp_act_integrity_config *c, int64_t now)
{
    int64_t w = bucket_w(c);
    int64_t n = ((int64_t)window_w(c) + w - 1) / w; /* buckets in the window, rounded up */
    if (n < 1)
        n = 1;
    return rsp_act_bucket_of(c, now) - (n - 1) * w;
}

bool rsp_act_integrity_trips(const struct rsp_act_integrity_config *c, int64_t installs,
                             int64_t failures)
{
    if (!c || c->failure_pct == 0 || installs < 0 || failures < 0)
        return false;
    int64_t done = installs + failures;
    if (done == 0 || done < (int64_t)c->min_sample)
        return false;
    return failures * 100 >= (int64_t)c->failure_pct * done;
}

/* ---- statements ---- */

#define PT(s)                                                                                      \
    {                                                                                              \
        .text = (s)                                                                                \
    }
#define PI(x)                                                                                      \
    {                                                                                              \
        .i = (x), .is_int = true                                                                   \
    }

static int xexec(struct rsp_store *st, const char *sql, const struct rsp_store_param *p, int n,
                 rsp_store_row_cb cb, void *arg, int64_t *changes)
{
    if (!st->ops->x_exec)
        return RSP_ESTATE;
    return st->ops->x_exec(st, sql, p, n, cb, arg, changes);
}

static int tx_begin(struct rsp_store *st)
{
    return st->ops->x_begin ? st->ops->x_begin(st) : RSP_ESTATE;
}

static int tx_end(struct rsp_store *st, int rc)
{
    return st->ops->x_finish(st, rc);
}

static int64_t to_i64(const char *v)
{
    return v ? strtoll(v, NULL, 10) : 0;
}

static void cp(char *dst, size_t cap, const char *v)
{
    snprintf(dst, cap, "%s", v ? v : "");
}

static int64_t wall(void)
{
    return (int64_t)time(NULL);
}

static int audit(struct rsp_store *st, const char *entity, const char *key, const char *from,
                 const char *to, const char *actor, const char *customer, const char *reason)
{
    struct rsp_audit_entry e;
    char subject[RSP_AUDIT_SUBJECT_MAX + 1];
    rsp_store_subject(st, RSP_PSEUDONYM_CUSTOMER, customer, subject);
    rsp_audit_entry_set(&e, entity, key, from, to, actor ? actor : "", subject,
                        reason ? reason : "");
    return st->ops->x_audit(st, &e);
}

/* ---- campaigns ---- */

int rsp_act_campaign_put(struct rsp_store *st, const struct rsp_act_campaign *c, const char *actor)
{
    if (!st || !c || !c->name[0] || !actor || !*actor)
        return RSP_EINVAL;
    static const char sql[] =
        "INSERT INTO campaigns (name, description, requires_acceptance, created_at)"
        " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO UPDATE SET"
        " description = excluded.description, requires_acceptance = excluded.requires_acceptance";
    struct rsp_store_param p[] = {PT(c->name), PT(c->description), PI(c->requires_acceptance),
                                  PI(wall())};
    int rc = tx_begin(st);
    if (rc)
        return rc;
    rc = xexec(st, sql, p, 4, NULL, NULL, NULL);
    if (rc == 0)
        rc = audit(st, "campaign", c->name, "",
                   c->requires_acceptance ? "requires-acceptance" : "set", actor, NULL,
                   "campaign set");
    return tx_end(st, rc);
}

static int row_campaign(void *arg, int n, const char *const *v)
{
    struct rsp_act_campaign *c = arg;
    if (n < 4)
        return RSP_EIO;
    cp(c->name, sizeof c->name, v[0]);
    cp(c->description, sizeof c->description, v[1]);
    c->requires_acceptance = to_i64(v[2]) != 0;
    c->created_at = to_i64(v[3]);
    return 1;
}

int rsp_act_campaign_get(struct rsp_store *st, const char *name, struct rsp_act_campaign *out)
{
    if (!st || !name || !out)
        return RSP_EINVAL;
    memset(out, 0, sizeof *out);
    struct rsp_store_param p[] = {PT(name)};
    int rc = xexec(st,
                   "SELECT name, description, requires_acceptance, created_at FROM campaigns"
                   " WHERE name = ?1",
                   p, 1, row_campaign, out, NULL);
    return rc == 1 ? 0 : rc ? rc : RSP_ENOTFOUND;
}

/* ---- orders ---- */

#define ORDER_COLS                                                                                 \
    "order_id, customer_ref, tariff_plan, campaign, country, profile_type, iccid, eid, eum, tac,"  \
    " device_model, operator, id_result, id_reason, stage, outcome, matching_id,"                  \
    " t_pre_provisioned, t_identity_rejected, t_reserved, t_released, t_token_issued, t_pushed,"   \
    " t_first_contact, t_installed, t_failed, t_expired, t_revoked, created_at, updated_at,"       \
    " version"
#define ORDER_NCOLS 31

static bool id_chars(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != ':' && c != '-')
            return false;
    }
    return true;
}

static bool digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

int rsp_act_order_validate(const struct rsp_act_order *o, const char **why)
{
    static const char *w;
    if (!why)
        why = &w;
    if (!o)
        return RSP_EINVAL;
    if (!id_chars(o->order_id, RSP_ACT_TEXT))
        return *why = "order_id: 1-64 characters from A-Z a-z 0-9 . _ : -", RSP_ESYNTAX;
    if (!o->customer_ref[0] || !printable(o->customer_ref))
        return *why = "customer_ref: required, no control characters", RSP_ESYNTAX;
    if (!printable(o->tariff_plan) || !printable(o->device_model))
        return *why = "tariff_plan/device_model: no control characters", RSP_ESYNTAX;
    if (o->campaign[0] && !id_chars(o->campaign, RSP_ACT_TEXT))
        return *why = "campaign: 1-64 characters from A-Z a-z 0-9 . _ : -", RSP_ESYNTAX;
    if (o->country[0]) {
        size_t n = strlen(o->country);
        for (size_t i = 0; i < n; i++)
            if (!isalpha((unsigned char)o->country[i]))
                n = 0;
        if (n < 2 || n > 3)
            return *why = "country: 2 or 3 letters", RSP_ESYNTAX;
    }
    if (!o->profile_type[0] && !o->iccid[0])
        return *why = "profile_type or iccid required", RSP_ESYNTAX;
    if (o->profile_type[0] && !printable(o->profile_type))
        return *why = "profile_type: no control characters", RSP_ESYNTAX;
    if (o->iccid[0] &&
        (strlen(o->iccid) < 18 || strlen(o->iccid) > 20 || !digits(o->iccid, strlen(o->iccid))))
        return *why = "iccid: 18-20 digits", RSP_ESYNTAX;
    if (o->eid[0] && !rsp_es2p_eid_valid(o->eid))
        return *why = "eid: 32 digits with valid check digits", RSP_ESYNTAX;
    if (o->tac[0] && !digits(o->tac, 8))
        return *why = "tac: 8 digits", RSP_ESYNTAX;
    return 0;
}

static void order_params(const struct rsp_act_order *o, struct rsp_store_param p[ORDER_NCOLS])
{
    const char *t[] = {o->order_id,  o->customer_ref, o->tariff_plan,
                       o->campaign,  o->country,      o->profile_type,
                       o->iccid,     o->eid,          o->eum,
                       o->tac,       o->device_model, o->operator_,
                       o->id_result, o->id_reason,    rsp_act_stage_name(o->stage),
                       o->outcome,   o->matching_id};
    int k = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        p[k++] = (struct rsp_store_param)PT(t[i]);
    for (int i = 0; i < RSP_ACT_NSTAGES; i++)
        p[k++] = (struct rsp_store_param)PI(o->t[i]);
    p[k++] = (struct rsp_store_param)PI(o->created_at);
    p[k++] = (struct rsp_store_param)PI(o->updated_at);
    p[k++] = (struct rsp_store_param)PI(o->version);
}

static int row_order(void *arg, int n, const char *const *v)
{
    struct rsp_act_order *o = arg;
    if (n < ORDER_NCOLS)
        return RSP_EIO;
    memset(o, 0, sizeof *o);
    cp(o->order_id, sizeof o->order_id, v[0]);
    cp(o->customer_ref, sizeof o->customer_ref, v[1]);
    cp(o->tariff_plan, sizeof o->tariff_plan, v[2]);
    cp(o->campaign, sizeof o->campaign, v[3]);
    cp(o->country, sizeof o->country, v[4]);
    cp(o->profile_type, sizeof o->profile_type, v[5]);
    cp(o->iccid, sizeof o->iccid, v[6]);
    cp(o->eid, sizeof o->eid, v[7]);
    cp(o->eum, sizeof o->eum, v[8]);
    cp(o->tac, sizeof o->tac, v[9]);
    cp(o->device_model, sizeof o->device_model, v[10]);
    cp(o->operator_, sizeof o->operator_, v[11]);
    cp(o->id_result, sizeof o->id_result, v[12]);
    cp(o->id_reason, sizeof o->id_reason, v[13]);
    if (rsp_act_stage_from_name(v[14], &o->stage) != 0)
        return RSP_EIO;
    cp(o->outcome, sizeof o->outcome, v[15]);
    cp(o->matching_id, sizeof o->matching_id, v[16]);
    for (int i = 0; i < RSP_ACT_NSTAGES; i++)
        o->t[i] = to_i64(v[17 + i]);
    o->created_at = to_i64(v[28]);
    o->updated_at = to_i64(v[29]);
    o->version = to_i64(v[30]);
    return 0;
}

static int row_order_one(void *arg, int n, const char *const *v)
{
    int rc = row_order(arg, n, v);
    return rc ? rc : 1;
}

int rsp_act_order_insert(struct rsp_store *st, const struct rsp_act_order *o, size_t n,
                         const char *actor, size_t *bad)
{
    if (!st || (!o && n) || !actor || !*actor)
        return RSP_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (rsp_act_order_validate(&o[i], NULL) != 0 ||
            (o[i].stage != RSP_ACT_PRE_PROVISIONED && o[i].stage != RSP_ACT_IDENTITY_REJECTED)) {
            if (bad)
                *bad = i;
            return RSP_EINVAL;
        }
    }
    static const char sql[] =
        "INSERT INTO activation_orders (" ORDER_COLS ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,"
        "?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27,?28,?29,?30,?31)"
        " ON CONFLICT (order_id) DO NOTHING";
    int64_t now = wall();
    int rc = tx_begin(st);
    if (rc)
        return rc;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct rsp_act_order r = o[i];
        memset(r.t, 0, sizeof r.t);
        r.t[r.stage] = now;
        r.created_at = r.updated_at = now;
        r.version = 0;
        if (r.eid[0] && !r.eum[0])
            snprintf(r.eum, sizeof r.eum, "%.8s", r.eid);
        struct rsp_store_param p[ORDER_NCOLS];
        order_params(&r, p);
        int64_t ch = 0;
        rc = xexec(st, sql, p, ORDER_NCOLS, NULL, NULL, &ch);
        if (rc == 0 && ch != 1) {
            rc = RSP_ESTATE;
            if (bad)
                *bad = i;
        }
        if (rc == 0)
            rc = audit(st, "order", r.order_id, "", rsp_act_stage_name(r.stage), actor,
                       r.customer_ref,
                       r.stage == RSP_ACT_IDENTITY_REJECTED ? r.id_reason : "created");
    }
    return tx_end(st, rc);
}

int rsp_act_order_get(struct rsp_store *st, const char *order_id, struct rsp_act_order *out)
{
    if (!st || !order_id || !out)
        return RSP_EINVAL;
    struct rsp_store_param p[] = {PT(order_id)};
    int rc = xexec(st, "SELECT " ORDER_COLS " FROM activation_orders WHERE order_id = ?1", p, 1,
                   row_order_one, out, NULL);
    return rc == 1 ? 0 : rc ? rc : RSP_ENOTFOUND;
}

static int order_by_mid(struct rsp_store *st, const char *mid, struct rsp_act_order *out)
{
    struct rsp_store_param p[] = {PT(mid)};
    int rc = xexec(st,
                   "SELECT " ORDER_COLS " FROM activation_orders WHERE order_id ="
                   " (SELECT order_id FROM activation_tokens WHERE matching_id = ?1)",
                   p, 1, row_order_one, out, NULL);
    return rc == 1 ? 0 : rc ? rc : RSP_ENOTFOUND;
}

int rsp_act_order_by_iccid(struct rsp_store *st, const char *iccid, struct rsp_act_order *out)
{
    if (!st || !iccid || !*iccid || !out)
        return RSP_EINVAL;
    struct rsp_store_param p[] = {PT(iccid)};
    int rc = xexec(st,
                   "SELECT " ORDER_COLS " FROM activation_orders WHERE iccid = ?1"
                   " ORDER BY updated_at DESC LIMIT 1",
                   p, 1, row_order_one, out, NULL);
    return rc == 1 ? 0 : rc ? rc : RSP_ENOTFOUND;
}

/* The CAS update inside the caller's transaction. */
static int order_update_tx(struct rsp_store *st, const struct rsp_act_order *cur,
                           struct rsp_act_order *next, const char *actor, const char *reason,
                           int64_t now)
{
    int rc = rsp_act_stage_transition_check(cur->stage, next->stage);
    if (rc)
        return rc;
    if (next->stage != cur->stage && next->t[next->stage] == 0)
        next->t[next->stage] = now;
    next->updated_at = now;
    next->version = cur->version;
    if (next->eid[0] && !next->eum[0])
        snprintf(next->eum, sizeof next->eum, "%.8s", next->eid);
    struct rsp_store_param p[ORDER_NCOLS];
    order_params(next, p); /* 1 order_id, 2-17 text fields, 18-28 stage times, ... */
    p[28] = (struct rsp_store_param)PI(now);
    p[29] = (struct rsp_store_param)PI(cur->version);
    static const char sql[] =
        "UPDATE activation_orders SET customer_ref=?2, tariff_plan=?3, campaign=?4, country=?5,"
        " profile_type=?6, iccid=?7, eid=?8, eum=?9, tac=?10, device_model=?11, operator=?12,"
        " id_result=?13, id_reason=?14, stage=?15, outcome=?16, matching_id=?17,"
        " t_pre_provisioned=?18, t_identity_rejected=?19, t_reserved=?20, t_released=?21,"
        " t_token_issued=?22, t_pushed=?23, t_first_contact=?24, t_installed=?25, t_failed=?26,"
        " t_expired=?27, t_revoked=?28, updated_at=?29, version = version + 1"
        " WHERE order_id = ?1 AND version = ?30";
    int64_t ch = 0;
    rc = xexec(st, sql, p, 30, NULL, NULL, &ch);
    if (rc)
        return rc;
    if (ch != 1)
        return RSP_ESTATE;
    next->version = cur->version + 1;
    if (cur->stage == next->stage && !reason)
        return 0;
    return audit(st, "order", next->order_id, rsp_act_stage_name(cur->stage),
                 rsp_act_stage_name(next->stage), actor, next->customer_ref, reason ? reason : "");
}

int rsp_act_order_update(struct rsp_store *st, const struct rsp_act_order *cur,
                         struct rsp_act_order *next, const char *actor, const char *reason)
{
    if (!st || !cur || !next || !actor || strcmp(cur->order_id, next->order_id) != 0)
        return RSP_EINVAL;
    int rc = tx_begin(st);
    if (rc)
        return rc;
    rc = order_update_tx(st, cur, next, actor, reason, wall());
    return tx_end(st, rc);
}

struct list_ctx {
    rsp_act_order_cb cb;
    void *arg;
};

static int row_order_list(void *arg, int n, const char *const *v)
{
    struct list_ctx *c = arg;
    struct rsp_act_order o;
    int rc = row_order(&o, n, v);
    return rc ? rc : c->cb(c->arg, &o);
}

int rsp_act_order_list(struct rsp_store *st, const struct rsp_act_order_filter *f,
                       rsp_act_order_cb cb, void *arg)
{
    if (!st || !cb)
        return RSP_EINVAL;
    struct rsp_act_order_filter none = {0};
    if (!f)
        f = &none;
    const char *stage = f->stage ? rsp_act_stage_name(*f->stage) : "";
    if (!stage)
        return RSP_EINVAL;
    struct rsp_store_param p[] = {PT(f->customer_ref ? f->customer_ref : ""),
                                  PT(f->campaign ? f->campaign : ""),
                                  PT(f->eid ? f->eid : ""),
                                  PT(f->iccid ? f->iccid : ""),
                                  PT(f->matching_id ? f->matching_id : ""),
                                  PT(stage),
                                  PI(f->limit ? (int64_t)f->limit : INT64_MAX)};
    struct list_ctx c = {cb, arg};
    return xexec(st,
                 "SELECT " ORDER_COLS " FROM activation_orders WHERE"
                 " (customer_ref = ?1 OR ?1 = '') AND (campaign = ?2 OR ?2 = '') AND"
                 " (eid = ?3 OR ?3 = '') AND (iccid = ?4 OR ?4 = '') AND"
                 " (matching_id = ?5 OR ?5 = '') AND (stage = ?6 OR ?6 = '')"
                 " ORDER BY order_id LIMIT ?7",
                 p, 7, row_order_list, &c, NULL);
}

/* ---- tokens ---- */

static int row_token(void *arg, int n, const char *const *v)
{
    struct rsp_act_token *t = arg;
    if (n < 7)
        return RSP_EIO;
    memset(t, 0, sizeof *t);
    cp(t->matching_id, sizeof t->matching_id, v[0]);
    cp(t->order_id, sizeof t->order_id, v[1]);
    cp(t->activation_code, sizeof t->activation_code, v[2]);
    t->issued_at = to_i64(v[3]);
    t->expires_at = to_i64(v[4]);
    t->revoked_at = to_i64(v[5]);
    cp(t->revoke_reason, sizeof t->revoke_reason, v[6]);
    return 1;
}

int rsp_act_token_get(struct rsp_store *st, const char *matching_id, struct rsp_act_token *out)
{
    if (!st || !matching_id || !out)
        return RSP_EINVAL;
    struct rsp_store_param p[] = {PT(matching_id)};
    int rc = xexec(st,
                   "SELECT matching_id, order_id, activation_code, issued_at, expires_at,"
                   " revoked_at, revoke_reason FROM activation_tokens WHERE matching_id = ?1",
                   p, 1, row_token, out, NULL);
    return rc == 1 ? 0 : rc ? rc : RSP_ENOTFOUND;
}

static int push_insert(struct rsp_store *st, const struct rsp_act_order *o, const char *mid,
                       const char *channel, const char *ref, int64_t issued, int64_t handed)
{
    struct rsp_store_param p[] = {
        PT(o->order_id), PT(mid),         PT(channel), PT(ref),    PI(issued),
        PI(handed),      PT(o->campaign), PT(o->eum),  PT(o->tac), PT(o->profile_type)};
    return xexec(st,
                 "INSERT INTO pushes (order_id, matching_id, channel, channel_ref, issued_at,"
                 " handed_at, campaign, eum, tac, profile_type) VALUES"
                 " (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
                 p, 10, NULL, NULL, NULL);
}

int rsp_act_token_issue(struct rsp_store *st, const struct rsp_act_order *cur,
                        const struct rsp_act_token *t, const char *actor)
{
    if (!st || !cur || !t || !actor || !t->matching_id[0] || !t->activation_code[0])
        return RSP_EINVAL;
    int64_t now = wall();
    struct rsp_store_param p[] = {PT(t->matching_id), PT(cur->order_id), PT(t->activation_code),
                                  PI(now), PI(t->expires_at)};
    int rc = tx_begin(st);
    if (rc)
        return rc;
    int64_t ch = 0;
    rc = xexec(st,
               "INSERT INTO activation_tokens (matching_id, order_id, activation_code, issued_at,"
               " expires_at) VALUES (?1,?2,?3,?4,?5) ON CONFLICT (matching_id) DO UPDATE SET"
               " activation_code = excluded.activation_code, issued_at = excluded.issued_at,"
               " expires_at = excluded.expires_at WHERE activation_tokens.revoked_at = 0 AND"
               " activation_tokens.order_id = excluded.order_id",
               p, 5, NULL, NULL, &ch);
    if (rc == 0 && ch != 1)
        rc = RSP_ESTATE;
    struct rsp_act_order next = *cur;
    next.stage = RSP_ACT_TOKEN_ISSUED;
    snprintf(next.matching_id, sizeof next.matching_id, "%s", t->matching_id);
    if (rc == 0)
        rc = order_update_tx(st, cur, &next, actor, "token issued", now);
    if (rc == 0)
        rc = push_insert(st, &next, t->matching_id, "", "", now, 0);
    if (rc == 0)
        rc = audit(st, "token", t->matching_id, "", "issued", actor, cur->customer_ref,
                   "activation token issued");
    return tx_end(st, rc);
}

int rsp_act_token_revoke(struct rsp_store *st, const char *matching_id, const char *reason,
                         const char *actor, int64_t now)
{
    if (!st || !matching_id || !reason || !*reason || !actor || !*actor)
        return RSP_EINVAL;
    int rc = tx_begin(st);
    if (rc)
        return rc;
    struct rsp_store_param p[] = {PT(matching_id), PI(now), PT(reason)};
    int64_t ch = 0;
    rc = xexec(st,
               "UPDATE activation_tokens SET revoked_at = ?2, revoke_reason = ?3"
               " WHERE matching_id = ?1 AND revoked_at = 0",
               p, 3, NULL, NULL, &ch);
    if (rc == 0 && ch != 1) {
        struct rsp_act_token t;
        rc = rsp_act_token_get(st, matching_id, &t) == 0 ? RSP_ESTATE : RSP_ENOTFOUND;
    }
    struct rsp_act_order o, next;
    if (rc == 0)
        rc = order_by_mid(st, matching_id, &o);
    if (rc == 0 && o.stage != RSP_ACT_INSTALLED && o.stage != RSP_ACT_REVOKED) {
        next = o;
        next.stage = RSP_ACT_REVOKED;
        snprintf(next.outcome, sizeof next.outcome, "token revoked: %s", reason);
        rc = order_update_tx(st, &o, &next, actor, "token revoked", now);
    }
    if (rc == 0)
        rc = audit(st, "token", matching_id, "issued", "revoked", actor, o.customer_ref, reason);
    return tx_end(st, rc);
}

struct mid_list {
    char (*mid)[RSP_ACT_TEXT + 1];
    size_t n, cap;
};

static int row_mid(void *arg, int n, const char *const *v)
{
    struct mid_list *l = arg;
    if (n < 1 || l->n >= l->cap)
        return 0;
    cp(l->mid[l->n++], sizeof l->mid[0], v[0]);
    return 0;
}

int rsp_act_token_expire(struct rsp_store *st, int64_t now, unsigned *n)
{
    if (!st)
        return RSP_EINVAL;
    unsigned done = 0;
    char mids[128][RSP_ACT_TEXT + 1];
    for (;;) {
        struct mid_list l = {mids, 0, 128};
        struct rsp_store_param p[] = {PI(now)};
        int rc = xexec(st,
                       "SELECT t.matching_id FROM activation_tokens t JOIN activation_orders o"
                       " ON o.order_id = t.order_id WHERE t.revoked_at = 0 AND t.expires_at <> 0"
                       " AND t.expires_at <= ?1 AND o.stage IN"
                       " ('token-issued','pushed','first-contact','failed')"
                       " ORDER BY t.expires_at LIMIT 128",
                       p, 1, row_mid, &l, NULL);
        if (rc)
            return rc;
        unsigned moved = 0;
        for (size_t i = 0; i < l.n; i++) {
            if ((rc = tx_begin(st)) != 0)
                return rc;
            struct rsp_act_order o, next;
            rc = order_by_mid(st, mids[i], &o);
            if (rc == 0 && rsp_act_stage_transition_check(o.stage, RSP_ACT_EXPIRED) == 0 &&
                o.stage != RSP_ACT_EXPIRED) {
                next = o;
                next.stage = RSP_ACT_EXPIRED;
                snprintf(next.outcome, sizeof next.outcome, "activation token expired");
                rc = order_update_tx(st, &o, &next, "rsp-smdp", "token expired", now);
                if (rc == 0)
                    moved++;
            }
            rc = tx_end(st, rc);
            if (rc && rc != RSP_ESTATE)
                return rc;
        }
        done += moved;
        if (l.n < 128 || moved == 0)
            break;
    }
    if (n)
        *n = done;
    return 0;
}

/* ---- pushes ---- */

static int row_push(void *arg, int n, const char *const *v)
{
    struct rsp_act_push *p = arg;
    if (n < 16)
        return RSP_EIO;
    memset(p, 0, sizeof *p);
    p->id = to_i64(v[0]);
    cp(p->order_id, sizeof p->order_id, v[1]);
    cp(p->matching_id, sizeof p->matching_id, v[2]);
    cp(p->channel, sizeof p->channel, v[3]);
    cp(p->channel_ref, sizeof p->channel_ref, v[4]);
    p->issued_at = to_i64(v[5]);
    p->handed_at = to_i64(v[6]);
    p->first_contact_at = to_i64(v[7]);
    cp(p->outcome, sizeof p->outcome, v[8]);
    p->outcome_at = to_i64(v[9]);
    cp(p->outcome_reason, sizeof p->outcome_reason, v[10]);
    cp(p->campaign, sizeof p->campaign, v[11]);
    cp(p->eum, sizeof p->eum, v[12]);
    cp(p->tac, sizeof p->tac, v[13]);
    cp(p->profile_type, sizeof p->profile_type, v[14]);
    return 0;
}

#define PUSH_COLS                                                                                  \
    "id, order_id, matching_id, channel, channel_ref, issued_at, handed_at, first_contact_at,"     \
    " outcome, outcome_at, outcome_reason, campaign, eum, tac, profile_type, 0"

static int row_push_one(void *arg, int n, const char *const *v)
{
    int rc = row_push(arg, n, v);
    return rc ? rc : 1;
}

static int push_latest(struct rsp_store *st, const char *mid, struct rsp_act_push *out)
{
    struct rsp_store_param p[] = {PT(mid)};
    int rc = xexec(st,
                   "SELECT " PUSH_COLS " FROM pushes WHERE matching_id = ?1 ORDER BY id DESC"
                   " LIMIT 1",
                   p, 1, row_push_one, out, NULL);
    return rc == 1 ? 0 : rc ? rc : RSP_ENOTFOUND;
}

static void cohort_of_push(const struct rsp_act_push *p, struct rsp_act_cohort *c);
static int bucket_add(struct rsp_store *st, const struct rsp_act_integrity_config *cfg,
                      const struct rsp_act_cohort *c, int64_t now, const struct rsp_act_figures *d);

static bool channel_ok(const char *c)
{
    return c &&
           (!strcmp(c, "email") || !strcmp(c, "sms") || !strcmp(c, "app") || !strcmp(c, "other"));
}

int rsp_act_push_record(struct rsp_store *st, const char *matching_id, const char *channel,
                        const char *ref, const char *actor, int64_t now, int64_t *push_id)
{
    if (!st || !matching_id || !channel_ok(channel) || !ref || strlen(ref) > RSP_ACT_TEXT ||
        !printable(ref) || !actor || !*actor)
        return RSP_EINVAL;
    int rc = tx_begin(st);
    if (rc)
        return rc;
    struct rsp_act_token t;
    struct rsp_act_order o, next;
    struct rsp_act_push pu;
    rc = rsp_act_token_get(st, matching_id, &t);
    if (rc == 0 && t.revoked_at)
        rc = RSP_ESTATE;
    if (rc == 0)
        rc = order_by_mid(st, matching_id, &o);
    if (rc == 0)
        rc = push_latest(st, matching_id, &pu);
    if (rc == 0 && pu.handed_at == 0) {
        struct rsp_store_param p[] = {PI(pu.id), PT(channel), PT(ref), PI(now)};
        rc = xexec(st,
                   "UPDATE pushes SET channel = ?2, channel_ref = ?3, handed_at = ?4 WHERE id = ?1",
                   p, 4, NULL, NULL, NULL);
    } else if (rc == 0) {
        rc = push_insert(st, &o, matching_id, channel, ref, now, now);
        if (rc == 0)
            rc = push_latest(st, matching_id, &pu);
    }
    if (rc == 0) {
        struct rsp_act_cohort c;
        struct rsp_act_figures d = {.pushes = 1};
        cohort_of_push(&pu, &c);
        rc = bucket_add(st, NULL, &c, now, &d);
    }
    if (rc == 0 && o.stage == RSP_ACT_TOKEN_ISSUED) {
        next = o;
        next.stage = RSP_ACT_PUSHED;
        rc = order_update_tx(st, &o, &next, actor, "pushed", now);
    }
    if (rc == 0) {
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)pu.id);
        rc = audit(st, "push", key, "issued", "handed-over", actor, o.customer_ref, channel);
    }
    if (rc == 0 && push_id)
        *push_id = pu.id;
    return tx_end(st, rc);
}

struct push_ctx {
    rsp_act_push_cb cb;
    void *arg;
};

static int row_push_list(void *arg, int n, const char *const *v)
{
    struct push_ctx *c = arg;
    struct rsp_act_push p;
    int rc = row_push(&p, n, v);
    return rc ? rc : c->cb(c->arg, &p);
}

int rsp_act_push_list(struct rsp_store *st, const char *order_id, rsp_act_push_cb cb, void *arg)
{
    if (!st || !cb)
        return RSP_EINVAL;
    struct rsp_store_param p[] = {PT(order_id ? order_id : "")};
    struct push_ctx c = {cb, arg};
    return xexec(st, "SELECT " PUSH_COLS " FROM pushes WHERE order_id = ?1 OR ?1 = '' ORDER BY id",
                 p, 1, row_push_list, &c, NULL);
}

/* ---- cohorts ---- */

void rsp_act_cohort_of(const struct rsp_act_order *o, const char *eid, const char *profile_type,
                       struct rsp_act_cohort *out)
{
    memset(out, 0, sizeof *out);
    if (o) {
        cp(out->v[RSP_ACT_DIM_CAMPAIGN], sizeof out->v[0], o->campaign);
        cp(out->v[RSP_ACT_DIM_EUM], sizeof out->v[0], o->eum);
        cp(out->v[RSP_ACT_DIM_TAC], sizeof out->v[0], o->tac);
        cp(out->v[RSP_ACT_DIM_PTYPE], sizeof out->v[0], o->profile_type);
    }
    if (eid && strlen(eid) >= 8)
        snprintf(out->v[RSP_ACT_DIM_EUM], sizeof out->v[0], "%.8s", eid);
    if (profile_type && *profile_type)
        cp(out->v[RSP_ACT_DIM_PTYPE], sizeof out->v[0], profile_type);
}

static void cohort_of_push(const struct rsp_act_push *p, struct rsp_act_cohort *c)
{
    memset(c, 0, sizeof *c);
    cp(c->v[RSP_ACT_DIM_CAMPAIGN], sizeof c->v[0], p->campaign);
    cp(c->v[RSP_ACT_DIM_EUM], sizeof c->v[0], p->eum);
    cp(c->v[RSP_ACT_DIM_TAC], sizeof c->v[0], p->tac);
    cp(c->v[RSP_ACT_DIM_PTYPE], sizeof c->v[0], p->profile_type);
}

static int bucket_add(struct rsp_store *st, const struct rsp_act_integrity_config *cfg,
                      const struct rsp_act_cohort *c, int64_t now, const struct rsp_act_figures *d)
{
    for (int k = 0; k < RSP_ACT_NDIMS; k++) {
        if (!c->v[k][0])
            continue;
        struct rsp_store_param p[] = {
            PT(dim_names[k]), PT(c->v[k]),     PI(rsp_act_bucket_of(cfg, now)),
            PI(d->pushes),    PI(d->attempts), PI(d->installs),
            PI(d->failures)};
        int rc = xexec(st,
                       "INSERT INTO cohort_buckets (dim, value, bucket, pushes, attempts, installs,"
                       " failures) VALUES (?1,?2,?3,?4,?5,?6,?7) ON CONFLICT (dim, value, bucket)"
                       " DO UPDATE SET pushes = cohort_buckets.pushes + excluded.pushes,"
                       " attempts = cohort_buckets.attempts + excluded.attempts,"
                       " installs = cohort_buckets.installs + excluded.installs,"
                       " failures = cohort_buckets.failures + excluded.failures",
                       p, 7, NULL, NULL, NULL);
        if (rc)
            return rc;
    }
    return 0;
}

static int row_figures(void *arg, int n, const char *const *v)
{
    struct rsp_act_figures *f = arg;
    if (n < 4)
        return RSP_EIO;
    f->attempts = to_i64(v[0]);
    f->installs = to_i64(v[1]);
    f->failures = to_i64(v[2]);
    f->pushes = to_i64(v[3]);
    return 0;
}

int rsp_act_figures(struct rsp_store *st, const struct rsp_act_integrity_config *cfg,
                    enum rsp_act_dim dim, const char *value, int64_t now,
                    struct rsp_act_figures *out)
{
    if (!st || !value || !out || !rsp_act_dim_name(dim))
        return RSP_EINVAL;
    memset(out, 0, sizeof *out);
    struct rsp_store_param p[] = {PT(dim_names[dim]), PT(value),
                                  PI(rsp_act_window_first(cfg, now))};
    return xexec(st,
                 "SELECT coalesce(sum(attempts), 0), coalesce(sum(installs), 0),"
                 " coalesce(sum(failures), 0), coalesce(sum(pushes), 0) FROM cohort_buckets"
                 " WHERE dim = ?1 AND value = ?2"
                 " AND bucket >= ?3",
                 p, 3, row_figures, out, NULL);
}

/* ---- quarantine ---- */

static int row_quarantine(void *arg, int n, const char *const *v)
{
    struct rsp_act_quarantine *q = arg;
    if (n < 11)
        return RSP_EIO;
    memset(q, 0, sizeof *q);
    if (rsp_act_dim_from_name(v[0], &q->dim) != 0)
        return RSP_EIO;
    cp(q->value, sizeof q->value, v[1]);
    q->active = to_i64(v[2]) != 0;
    q->since = to_i64(v[3]);
    cp(q->reason, sizeof q->reason, v[4]);
    q->at_trip.attempts = to_i64(v[5]);
    q->at_trip.installs = to_i64(v[6]);
    q->at_trip.failures = to_i64(v[7]);
    q->released_at = to_i64(v[8]);
    cp(q->released_by, sizeof q->released_by, v[9]);
    cp(q->release_reason, sizeof q->release_reason, v[10]);
    return 1;
}

#define Q_COLS                                                                                     \
    "dim, value, active, since, reason, attempts, installs, failures, released_at, released_by,"   \
    " release_reason"

int rsp_act_quarantine_get(struct rsp_store *st, enum rsp_act_dim dim, const char *value,
                           struct rsp_act_quarantine *out)
{
    if (!st || !value || !out || !rsp_act_dim_name(dim))
        return RSP_EINVAL;
    struct rsp_store_param p[] = {PT(dim_names[dim]), PT(value)};
    int rc = xexec(st, "SELECT " Q_COLS " FROM quarantines WHERE dim = ?1 AND value = ?2", p, 2,
                   row_quarantine, out, NULL);
    return rc == 1 ? 0 : rc ? rc : RSP_ENOTFOUND;
}

int rsp_act_quarantined(struct rsp_store *st, const struct rsp_act_cohort *c,
                        struct rsp_act_quarantine *q)
{
    if (!st || !c)
        return RSP_EINVAL;
    struct rsp_act_quarantine tmp;
    if (!q)
        q = &tmp;
    struct rsp_store_param p[] = {PT(c->v[0]), PT(c->v[1]), PT(c->v[2]), PT(c->v[3])};
    int rc = xexec(st,
                   "SELECT " Q_COLS " FROM quarantines WHERE active = 1 AND ("
                   "(dim = 'campaign' AND value = ?1 AND ?1 <> '') OR"
                   " (dim = 'eum' AND value = ?2 AND ?2 <> '') OR"
                   " (dim = 'tac' AND value = ?3 AND ?3 <> '') OR"
                   " (dim = 'profile-type' AND value = ?4 AND ?4 <> '')) ORDER BY since LIMIT 1",
                   p, 4, row_quarantine, q, NULL);
    return rc == 1 ? 1 : rc;
}

struct q_ctx {
    rsp_act_quarantine_cb cb;
    void *arg;
};

static int row_q_list(void *arg, int n, const char *const *v)
{
    struct q_ctx *c = arg;
    struct rsp_act_quarantine q;
    int rc = row_quarantine(&q, n, v);
    return rc < 0 ? rc : c->cb(c->arg, &q);
}

int rsp_act_quarantine_list(struct rsp_store *st, bool active_only, rsp_act_quarantine_cb cb,
                            void *arg)
{
    if (!st || !cb)
        return RSP_EINVAL;
    struct rsp_store_param p[] = {PI(active_only ? 1 : 0)};
    struct q_ctx c = {cb, arg};
    return xexec(st,
                 "SELECT " Q_COLS " FROM quarantines WHERE active = 1 OR ?1 = 0"
                 " ORDER BY active DESC, since, dim, value",
                 p, 1, row_q_list, &c, NULL);
}

/* Quarantines (dim, value) inside the caller's transaction; 1 when it was not active before. */
static int quarantine_set_tx(struct rsp_store *st, enum rsp_act_dim dim, const char *value,
                             const char *actor, const char *reason, const struct rsp_act_figures *f,
                             int64_t now)
{
    struct rsp_act_figures zero = {0};
    if (!f)
        f = &zero;
    struct rsp_store_param p[] = {PT(dim_names[dim]), PT(value),       PI(now),        PT(reason),
                                  PI(f->attempts),    PI(f->installs), PI(f->failures)};
    int64_t ch = 0;
    int rc = xexec(st,
                   "INSERT INTO quarantines (dim, value, active, since, reason, attempts,"
                   " installs, failures) VALUES (?1,?2,1,?3,?4,?5,?6,?7)"
                   " ON CONFLICT (dim, value) DO UPDATE SET active = 1, since = excluded.since,"
                   " reason = excluded.reason, attempts = excluded.attempts,"
                   " installs = excluded.installs, failures = excluded.failures,"
                   " released_at = 0, released_by = '', release_reason = ''"
                   " WHERE quarantines.active = 0",
                   p, 7, NULL, NULL, &ch);
    if (rc || ch != 1)
        return rc;
    char key[RSP_AUDIT_KEY_MAX + 1];
    snprintf(key, sizeof key, "%s:%.50s", dim_names[dim], value);
    rc = audit(st, "quarantine", key, "open", "quarantined", actor, NULL, reason);
    return rc ? rc : 1;
}

int rsp_act_quarantine_set(struct rsp_store *st, enum rsp_act_dim dim, const char *value,
                           const char *actor, const char *reason, int64_t now)
{
    if (!st || !value || !*value || !rsp_act_dim_name(dim) || !actor || !*actor || !reason ||
        !*reason)
        return RSP_EINVAL;
    int rc = tx_begin(st);
    if (rc)
        return rc;
    rc = quarantine_set_tx(st, dim, value, actor, reason, NULL, now);
    return tx_end(st, rc < 0 ? rc : 0);
}

int rsp_act_quarantine_release(struct rsp_store *st, enum rsp_act_dim dim, const char *value,
                               const char *actor, const char *reason, int64_t now)
{
    if (!st || !value || !rsp_act_dim_name(dim) || !actor || !*actor || !reason || !*reason)
        return RSP_EINVAL;
    int rc = tx_begin(st);
    if (rc)
        return rc;
    struct rsp_store_param p[] = {PT(dim_names[dim]), PT(value), PI(now), PT(actor), PT(reason)};
    int64_t ch = 0;
    rc = xexec(st,
               "UPDATE quarantines SET active = 0, released_at = ?3, released_by = ?4,"
               " release_reason = ?5 WHERE dim = ?1 AND value = ?2 AND active = 1",
               p, 5, NULL, NULL, &ch);
    if (rc == 0 && ch != 1)
        rc = RSP_ENOTFOUND;
    if (rc == 0)
        rc = xexec(st, "DELETE FROM cohort_buckets WHERE dim = ?1 AND value = ?2", p, 2, NULL, NULL,
                   NULL);
    if (rc == 0) {
        char key[RSP_AUDIT_KEY_MAX + 1];
        snprintf(key, sizeof key, "%s:%.50s", dim_names[dim], value);
        rc = audit(st, "quarantine", key, "quarantined", "released", actor, NULL, reason);
    }
    return tx_end(st, rc);
}

/* ---- ES9+ events ---- */

int rsp_act_first_contact(struct rsp_store *st, const struct rsp_act_integrity_config *cfg,
                          const char *matching_id, const char *eid, int64_t now)
{
    if (!st || !matching_id)
        return RSP_EINVAL;
    if (!*matching_id)
        return RSP_ENOTFOUND;
    int rc = tx_begin(st);
    if (rc)
        return rc;
    struct rsp_act_order o, next;
    struct rsp_act_push pu;
    rc = order_by_mid(st, matching_id, &o);
    if (rc == 0)
        rc = push_latest(st, matching_id, &pu);
    if (rc == 0) {
        if (eid && strlen(eid) >= 8 && !pu.eum[0])
            snprintf(pu.eum, sizeof pu.eum, "%.8s", eid);
        struct rsp_store_param p[] = {PI(pu.id), PI(now), PT(pu.eum)};
        rc = xexec(st,
                   "UPDATE pushes SET first_contact_at = CASE WHEN first_contact_at = 0 THEN ?2"
                   " ELSE first_contact_at END, eum = ?3 WHERE id = ?1",
                   p, 3, NULL, NULL, NULL);
    }
    struct rsp_act_cohort c;
    if (rc == 0) {
        cohort_of_push(&pu, &c);
        struct rsp_act_figures d = {.attempts = 1};
        rc = bucket_add(st, cfg, &c, now, &d);
    }
    if (rc == 0) {
        next = o;
        if (eid && *eid && !next.eid[0])
            snprintf(next.eid, sizeof next.eid, "%s", eid);
        if (rsp_act_stage_transition_check(o.stage, RSP_ACT_FIRST_CONTACT) == 0)
            next.stage = RSP_ACT_FIRST_CONTACT;
        rc = order_update_tx(st, &o, &next, "rsp-smdp", "first contact", now);
    }
    return tx_end(st, rc);
}

static int alert_outbox(struct rsp_store *st, const struct rsp_act_integrity_config *cfg,
                        const struct rsp_act_quarantine *q, int64_t now)
{
    if (!cfg || !cfg->webhook_url || !cfg->webhook_url[0])
        return 0;
    json_t *j = json_pack(
        "{s:s,s:{s:s,s:s},s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s}", "event", "quarantine", "cohort",
        "dim", dim_names[q->dim], "value", q->value, "since", (json_int_t)q->since, "pushes",
        (json_int_t)q->at_trip.pushes, "attempts", (json_int_t)q->at_trip.attempts, "installs",
        (json_int_t)q->at_trip.installs, "failures", (json_int_t)q->at_trip.failures, "failure_pct",
        (json_int_t)cfg->failure_pct, "min_sample", (json_int_t)cfg->min_sample, "window_s",
        (json_int_t)window_w(cfg), "reason", q->reason);
    char *body = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!body)
        return RSP_ENOMEM;
    struct rsp_store_param p[] = {PT("quarantine"), PT(cfg->webhook_url), PT(body), PI(now)};
    int rc = strlen(body) < sizeof((struct rsp_outbox_item *)0)->body
                 ? xexec(st,
                         "INSERT INTO outbox (iccid, url, body, attempts, next_attempt_at,"
                         " created_at) VALUES (?1, ?2, ?3, 0, ?4, ?4)",
                         p, 4, NULL, NULL, NULL)
                 : RSP_ERANGE;
    free(body);
    return rc;
}

int rsp_act_outcome(struct rsp_store *st, const struct rsp_act_integrity_config *cfg,
                    const char *matching_id, bool installed, const char *reason, int64_t now,
                    struct rsp_act_alert *alert)
{
    if (!st || !matching_id)
        return RSP_EINVAL;
    if (alert)
        alert->n = 0;
    if (!*matching_id)
        return RSP_ENOTFOUND;
    int rc = tx_begin(st);
    if (rc)
        return rc;
    struct rsp_act_order o, next;
    struct rsp_act_push pu;
    rc = order_by_mid(st, matching_id, &o);
    if (rc == 0)
        rc = push_latest(st, matching_id, &pu);
    if (rc == 0) {
        struct rsp_store_param p[] = {PI(pu.id), PT(installed ? "installed" : "failed"), PI(now),
                                      PT(reason ? reason : "")};
        rc = xexec(st,
                   "UPDATE pushes SET outcome = ?2, outcome_at = ?3, outcome_reason = ?4"
                   " WHERE id = ?1",
                   p, 4, NULL, NULL, NULL);
    }
    struct rsp_act_cohort c;
    if (rc == 0) {
        cohort_of_push(&pu, &c);
        struct rsp_act_figures d = {.installs = installed ? 1 : 0, .failures = installed ? 0 : 1};
        rc = bucket_add(st, cfg, &c, now, &d);
    }
    if (rc == 0) {
        next = o;
        enum rsp_act_stage to = installed ? RSP_ACT_INSTALLED : RSP_ACT_FAILED;
        if (rsp_act_stage_transition_check(o.stage, to) == 0)
            next.stage = to;
        snprintf(next.outcome, sizeof next.outcome, "%s", installed ? "" : reason ? reason : "");
        rc = order_update_tx(st, &o, &next, "rsp-smdp",
                             installed ? "installed" : "installation failed", now);
    }
    /* The verdict per cohort, from its buckets in the window (a bounded range of the key). */
    for (int d = 0; rc == 0 && d < RSP_ACT_NDIMS; d++) {
        if (!c.v[d][0])
            continue;
        struct rsp_act_figures f;
        rc = rsp_act_figures(st, cfg, (enum rsp_act_dim)d, c.v[d], now, &f);
        if (rc || !rsp_act_integrity_trips(cfg, f.installs, f.failures))
            continue;
        char why[256];
        snprintf(why, sizeof why,
                 "failure rate %lld/%lld >= %u%% (min sample %u, window %us); attempts %lld",
                 (long long)f.failures, (long long)(f.installs + f.failures), cfg->failure_pct,
                 cfg->min_sample, window_w(cfg), (long long)f.attempts);
        int r = quarantine_set_tx(st, (enum rsp_act_dim)d, c.v[d], "rsp-smdp", why, &f, now);
        if (r < 0) {
            rc = r;
        } else if (r == 1) {
            struct rsp_act_quarantine q = {
                .dim = (enum rsp_act_dim)d, .active = true, .since = now, .at_trip = f};
            cp(q.value, sizeof q.value, c.v[d]);
            cp(q.reason, sizeof q.reason, why);
            rc = alert_outbox(st, cfg, &q, now);
            if (alert && alert->n < RSP_ACT_NDIMS)
                alert->q[alert->n++] = q;
        }
    }
    rc = tx_end(st, rc);
    if (rc && alert)
        alert->n = 0;
    return rc;
}

/* ---- funnel ---- */

static int row_stage_count(void *arg, int n, const char *const *v)
{
    struct rsp_act_funnel *f = arg;
    enum rsp_act_stage s;
    if (n < 2 || rsp_act_stage_from_name(v[0], &s) != 0)
        return RSP_EIO;
    f->current[s] = to_i64(v[1]);
    return 0;
}

static int row_reached(void *arg, int n, const char *const *v)
{
    struct rsp_act_funnel *f = arg;
    if (n < 1 + RSP_ACT_NSTAGES)
        return RSP_EIO;
    f->total = to_i64(v[0]);
    for (int i = 0; i < RSP_ACT_NSTAGES; i++)
        f->reached[i] = to_i64(v[1 + i]);
    return 0;
}

#define REACHED(c) " coalesce(sum(CASE WHEN " c " <> 0 THEN 1 ELSE 0 END), 0)"

int rsp_act_funnel(struct rsp_store *st, const char *campaign, struct rsp_act_funnel *out)
{
    if (!st || !out)
        return RSP_EINVAL;
    memset(out, 0, sizeof *out);
    struct rsp_store_param p[] = {PT(campaign ? campaign : "")};
    /* One snapshot for both queries. */
    int rc = tx_begin(st);
    if (rc)
        return rc;
    rc = xexec(st,
               "SELECT stage, count(*) FROM activation_orders WHERE campaign = ?1 OR ?1 = ''"
               " GROUP BY stage",
               p, 1, row_stage_count, out, NULL);
    if (rc == 0)
        rc = xexec(
            st,
            "SELECT count(*)," REACHED("t_pre_provisioned") "," REACHED("t_identity_rejected") "," REACHED("t_reserved") "," REACHED("t_released") "," REACHED("t_token_issued") "," REACHED(
                "t_pushed") "," REACHED("t_first_contact") "," REACHED("t_installed") "," REACHED("t_failed") "," REACHED("t_expired") "," REACHED("t_revoked") " FROM activation_orders WHERE campaign = ?1 OR ?1 = ''",
            p, 1, row_reached, out, NULL);
    return tx_end(st, rc);
}

/* ---- EUICCInfo2 ---- */

int rsp_act_euicc_info_put(struct rsp_store *st, const char *eid, const uint8_t *der, size_t len,
                           int64_t now)
{
    if (!st || !eid || !*eid || !der || !len || len > 4096)
        return RSP_EINVAL;
    /* hex text: the generic statements carry text and integers only */
    char *hex = malloc(2 * len + 1);
    if (!hex)
        return RSP_ENOMEM;
    for (size_t i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02X", der[i]);
    struct rsp_store_param p[] = {PT(eid), PT(hex), PI(now)};
    int rc = xexec(st,
                   "INSERT INTO euicc_info (eid, info2_hex, seen_at) VALUES (?1, ?2, ?3)"
                   " ON CONFLICT (eid) DO UPDATE SET info2_hex = excluded.info2_hex,"
                   " seen_at = excluded.seen_at",
                   p, 3, NULL, NULL, NULL);
    free(hex);
    return rc;
}

static int row_hex(void *arg, int n, const char *const *v)
{
    struct rsp_buf *b = arg;
    if (n < 1 || !v[0])
        return RSP_EIO;
    size_t len = strlen(v[0]) / 2;
    rsp_buf_reset(b);
    for (size_t i = 0; i < len; i++) {
        unsigned x;
        if (sscanf(v[0] + 2 * i, "%2x", &x) != 1)
            return RSP_EIO;
        uint8_t byte = (uint8_t)x;
        int rc = rsp_buf_append(b, &byte, 1);
        if (rc)
            return rc;
    }
    return 1;
}

int rsp_act_euicc_info_get(struct rsp_store *st, const char *eid, struct rsp_buf *out)
{
    if (!st || !eid || !out)
        return RSP_EINVAL;
    struct rsp_store_param p[] = {PT(eid)};
    int rc = xexec(st, "SELECT info2_hex FROM euicc_info WHERE eid = ?1", p, 1, row_hex, out, NULL);
    return rc == 1 ? 0 : rc ? rc : RSP_ENOTFOUND;
}

/* ---- eUICC capability ---- */

/* freeNonVolatileMemory (82) inside extCardResource; -1 when absent. */
static int64_t free_nvm(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i + 2 <= n) {
        uint8_t tag = p[i], len = p[i + 1];
        if (len > 8 || i + 2 + len > n)
            return -1;
        if (tag == 0x82) {
            int64_t v = 0;
            for (uint8_t k = 0; k < len; k++)
                v = (v << 8) | p[i + 2 + k];
            return v;
        }
        i += 2u + len;
    }
    return -1;
}

int rsp_act_capability_check(const uint8_t *info2, size_t len, const struct rsp_profile *p,
                             size_t pkg_len, char *why, size_t why_len)
{
    if (!info2 || !p || !why || !why_len)
        return RSP_EINVAL;
    why[0] = 0;
    struct rsp_euicc_info2 e;
    int rc = rsp_euicc_info2_decode(info2, len, &e);
    if (rc)
        return rc;
    if (e.svn[0] != 2) {
        snprintf(why, why_len, "eUICC implements SGP.22 v%u.%u.%u; this SM-DP+ serves v2.x",
                 e.svn[0], e.svn[1], e.svn[2]);
        return 1;
    }
    int64_t nvm = free_nvm(e.ext_card_resource.p, e.ext_card_resource.len);
    if (nvm >= 0 && (uint64_t)nvm < (uint64_t)pkg_len) {
        snprintf(why, why_len,
                 "eUICC free non-volatile memory %lld bytes < profile package %zu bytes",
                 (long long)nvm, pkg_len);
        return 1;
    }
    if (p->pclass == RSP_PROFILE_CLASS_TEST &&
        !(rsp_es10_bits_mask(&e.rsp_capability) & RSP_CAP_TEST_PROFILE_SUPPORT)) {
        snprintf(why, why_len, "test profile, but the eUICC does not declare testProfileSupport");
        return 1;
    }
    return 0;
}

/* ---- acceptance gate hook ---- */

int rsp_act_acceptance_gate_hook(struct rsp_store *st, const struct rsp_act_campaign *c, char *why,
                                 size_t why_len)
{
    (void)st;
    if (!c)
        return RSP_EINVAL;
    /* HOOK (issue #6 item 4): the lead replaces this body with a call to rsp_acceptance_gate()
     * from the `accept` branch at merge. Until then a campaign that requires acceptance is
     * refused (no acceptance run can be recorded without that branch). */
    if (c->requires_acceptance) {
        if (why && why_len)
            snprintf(why, why_len,
                     "campaign %s requires a passing acceptance run (rspctl acceptance run)",
                     c->name);
        return RSP_ESTATE;
    }
    return 0;
}
