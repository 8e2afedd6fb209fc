/* Generated reconciliation data set (recon_gen.h). Segments of the profile index range carry one
 * planted situation each; the expected findings are written down while planting, independently of
 * the matcher. */
#include "recon_gen.h"

#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"

#define DAY 86400

struct gen {
    struct recon_gen *g;
    size_t cap_ev, cap_ex;
    int err;
    unsigned long ev_serial;
};

static void iccid_of(char out[21], unsigned prefix, size_t i)
{
    char t[64];
    snprintf(t, sizeof t, "8944%u%014zu", prefix % 10, (size_t)(i % 100000000000000ULL));
    snprintf(out, 21, "%.19s", t);
}

static void imsi_of(char out[16], size_t i, unsigned variant)
{
    char t[64];
    snprintf(t, sizeof t, "00101%u%09zu", variant % 10, (size_t)(i % 1000000000ULL));
    snprintf(out, 16, "%.15s", t);
}

static void eid_of(char out[33], size_t i)
{
    char t[64];
    snprintf(t, sizeof t, "89049032%024zu", i);
    snprintf(out, 33, "%.32s", t);
}

static struct rsp_recon_event *ev_add(struct gen *x, enum rsp_recon_kind kind, int64_t at)
{
    struct recon_gen *g = x->g;
    if (x->err)
        return NULL;
    if (g->nev == x->cap_ev) {
        size_t nc = x->cap_ev ? 2 * x->cap_ev : 4096;
        void *nv = realloc(g->ev, nc * sizeof *g->ev);
        if (!nv) {
            x->err = RSP_ENOMEM;
            return NULL;
        }
        g->ev = nv;
        x->cap_ev = nc;
    }
    struct rsp_recon_event *e = &g->ev[g->nev++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->ok = true;
    e->at = at;
    snprintf(e->event_id, sizeof e->event_id, "%c-%08lu", rsp_recon_kind_name(kind)[0],
             ++x->ev_serial);
    return e;
}

static void expect(struct gen *x, enum rsp_recon_disc kind, const char *subject)
{
    struct recon_gen *g = x->g;
    if (x->err)
        return;
    if (g->nexpect == x->cap_ex) {
        size_t nc = x->cap_ex ? 2 * x->cap_ex : 1024;
        void *nv = realloc(g->expect, nc * sizeof *g->expect);
        if (!nv) {
            x->err = RSP_ENOMEM;
            return;
        }
        g->expect = nv;
        x->cap_ex = nc;
    }
    g->expect[g->nexpect].kind = kind;
    snprintf(g->expect[g->nexpect].subject, sizeof g->expect[0].subject, "%s", subject);
    g->nexpect++;
    g->counts[kind]++;
}

/* Billing of profile p by ICCID (and IMSI), on its tariff unless `plan` is given. */
static void bill(struct gen *x, const struct rsp_recon_profile *p, const char *plan,
                 const char *imsi, int64_t at)
{
    struct rsp_recon_event *e = ev_add(x, RSP_RECON_BILLING, at);
    if (!e)
        return;
    snprintf(e->iccid, sizeof e->iccid, "%s", p->iccid);
    snprintf(e->imsi, sizeof e->imsi, "%s", imsi ? imsi : p->imsi);
    snprintf(e->plan, sizeof e->plan, "%s", plan ? plan : p->tariff);
    snprintf(e->customer, sizeof e->customer, "cust-%s", p->iccid + 10);
}

static void attach(struct gen *x, const struct rsp_recon_profile *p, const char *imsi, int64_t at)
{
    struct rsp_recon_event *e = ev_add(x, RSP_RECON_ATTACH, at);
    if (!e)
        return;
    snprintf(e->iccid, sizeof e->iccid, "%s", p->iccid);
    snprintf(e->imsi, sizeof e->imsi, "%s", imsi ? imsi : p->imsi);
    snprintf(e->imei, sizeof e->imei, "35%013zu", (size_t)(at % 1000000007));
}

static int cmp_expect(const void *a, const void *b)
{
    const struct recon_gen_expect *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return strcmp(x->subject, y->subject);
}

/* Segment sizes (planted discrepancies and decoys that must NOT be reported). */
enum {
    N_RELEASED_OLD = 137,
    N_DOWNLOADED_OLD = 11,
    N_RELEASED_NEW = 25, /* decoy: within the TTL */
    N_NOT_ATTACHED = 211,
    N_NOT_BILLED = 173,
    N_FRESH = 30, /* decoy: installed within both graces, no events yet */
    N_BILLED_AVAILABLE = 40,
    N_BILLED_ERROR = 5,
    N_IMSI_ATTACH = 83,
    N_IMSI_BILL = 20,
    N_TARIFF = 97,
    N_BY_EID = 500,  /* attach events carrying only the EID */
    N_BY_IMSI = 500, /* billing events carrying only the IMSI */
    N_STOCK = 1000,  /* Available, no events */
    N_UNKNOWN = 19,  /* billed ICCIDs nobody provisioned (the first 7 billed twice) */
    N_PHYSICAL = 12000,
    N_PHYS_BILLED = 300, /* decoy: physical SIMs are billed too */
};

int recon_gen_make(size_t n_profiles, unsigned long seed, int64_t now, struct recon_gen *g)
{
    memset(g, 0, sizeof *g);
    if (n_profiles < 20000)
        return RSP_EINVAL;
    g->prm.now = now;
    g->prm.release_ttl = DAY;
    g->prm.attach_grace = 2 * DAY;
    g->prm.billing_grace = 3 * DAY;
    g->p = calloc(n_profiles, sizeof *g->p);
    if (!g->p)
        return RSP_ENOMEM;
    g->np = n_profiles;
    struct gen x = {g, 0, 0, 0, 0};
    for (size_t i = 0; i < n_profiles; i++) {
        struct rsp_recon_profile *p = &g->p[i];
        iccid_of(p->iccid, 0, i);
        imsi_of(p->imsi, i, 0);
        eid_of(p->eid, i);
        snprintf(p->tariff, sizeof p->tariff, "plan-%zu", i % 5);
        p->state = RSP_PROFILE_INSTALLED;
        p->state_since = now - 10 * DAY;
    }
    size_t i = 0;
    const int64_t t = now - 5 * DAY;
#define SEG(n) for (size_t end_ = i + (n); i < end_; i++)
    SEG(N_RELEASED_OLD)
    {
        g->p[i].state = RSP_PROFILE_RELEASED;
        g->p[i].state_since = now - 3 * DAY;
        expect(&x, RSP_DISC_RELEASED_NOT_INSTALLED, g->p[i].iccid);
    }
    SEG(N_DOWNLOADED_OLD)
    {
        g->p[i].state = RSP_PROFILE_DOWNLOADED;
        g->p[i].state_since = now - 2 * DAY;
        expect(&x, RSP_DISC_RELEASED_NOT_INSTALLED, g->p[i].iccid);
    }
    SEG(N_RELEASED_NEW)
    {
        g->p[i].state = RSP_PROFILE_RELEASED;
        g->p[i].state_since = now - DAY / 2;
    }
    SEG(N_NOT_ATTACHED)
    {
        bill(&x, &g->p[i], NULL, NULL, t);
        expect(&x, RSP_DISC_INSTALLED_NOT_ATTACHED, g->p[i].iccid);
    }
    SEG(N_NOT_BILLED)
    {
        attach(&x, &g->p[i], NULL, t);
        expect(&x, RSP_DISC_INSTALLED_NOT_BILLED, g->p[i].iccid);
    }
    SEG(N_FRESH)
    {
        g->p[i].state_since = now - DAY;
    }
    SEG(N_BILLED_AVAILABLE)
    {
        g->p[i].state = RSP_PROFILE_AVAILABLE;
        g->p[i].eid[0] = 0;
        bill(&x, &g->p[i], NULL, NULL, t);
        expect(&x, RSP_DISC_BILLED_NOT_INSTALLED, g->p[i].iccid);
    }
    SEG(N_BILLED_ERROR)
    {
        g->p[i].state = RSP_PROFILE_ERROR;
        g->p[i].state_since = now - DAY / 4;
        bill(&x, &g->p[i], NULL, NULL, t);
        bill(&x, &g->p[i], NULL, NULL, t + 60);
        expect(&x, RSP_DISC_BILLED_NOT_INSTALLED, g->p[i].iccid);
    }
    SEG(N_IMSI_ATTACH)
    {
        char other[16];
        imsi_of(other, i, 9);
        attach(&x, &g->p[i], other, t);
        bill(&x, &g->p[i], NULL, NULL, t);
        expect(&x, RSP_DISC_IMSI_MISMATCH, g->p[i].iccid);
    }
    SEG(N_IMSI_BILL)
    {
        char other[16];
        imsi_of(other, i, 8);
        attach(&x, &g->p[i], NULL, t);
        bill(&x, &g->p[i], NULL, other, t);
        expect(&x, RSP_DISC_IMSI_MISMATCH, g->p[i].iccid);
    }
    SEG(N_TARIFF)
    {
        attach(&x, &g->p[i], NULL, t);
        bill(&x, &g->p[i], "plan-premium", NULL, t);
        expect(&x, RSP_DISC_TARIFF_MISMATCH, g->p[i].iccid);
    }
    SEG(N_BY_EID)
    {
        struct rsp_recon_event *e = ev_add(&x, RSP_RECON_ATTACH, t);
        if (e)
            snprintf(e->eid, sizeof e->eid, "%s", g->p[i].eid);
        bill(&x, &g->p[i], NULL, NULL, t);
    }
    SEG(N_BY_IMSI)
    {
        attach(&x, &g->p[i], NULL, t);
        struct rsp_recon_event *e = ev_add(&x, RSP_RECON_BILLING, t);
        if (e) {
            snprintf(e->imsi, sizeof e->imsi, "%s", g->p[i].imsi);
            snprintf(e->plan, sizeof e->plan, "%s", g->p[i].tariff);
        }
    }
    SEG(N_STOCK)
    {
        g->p[i].state = RSP_PROFILE_AVAILABLE;
        g->p[i].eid[0] = 0;
    }
    for (; i < n_profiles; i++) { /* the healthy rest */
        attach(&x, &g->p[i], NULL, t);
        bill(&x, &g->p[i], NULL, NULL, t + 3600);
    }
    for (size_t k = 0; k < N_UNKNOWN; k++) {
        struct rsp_recon_profile u = {0};
        iccid_of(u.iccid, 9, k);
        imsi_of(u.imsi, k, 7);
        snprintf(u.tariff, sizeof u.tariff, "plan-1");
        bill(&x, &u, NULL, NULL, t);
        if (k < 7)
            bill(&x, &u, NULL, NULL, t + 60);
        expect(&x, RSP_DISC_BILLED_NOT_INSTALLED, u.iccid);
    }
    for (size_t k = 0; k < N_PHYSICAL; k++) {
        struct rsp_recon_event *e = ev_add(&x, RSP_RECON_PHYSICAL, t + (int64_t)k);
        if (!e)
            break;
        iccid_of(e->iccid, 1, k);
        imsi_of(e->imsi, k, 5);
        e->started_at = e->at - 3600 - (int64_t)(k % 7200);
        e->ok = k % 50 != 0;
        snprintf(e->plan, sizeof e->plan, "plan-%zu", k % 5);
        if (k < N_PHYS_BILLED) {
            struct rsp_recon_profile ph = {0};
            snprintf(ph.iccid, sizeof ph.iccid, "%s", e->iccid);
            snprintf(ph.imsi, sizeof ph.imsi, "%s", e->imsi);
            snprintf(ph.tariff, sizeof ph.tariff, "%s", e->plan);
            bill(&x, &ph, NULL, NULL, t + 7200);
        }
    }
#undef SEG
    if (x.err) {
        recon_gen_free(g);
        return x.err;
    }
    /* shuffle the events (Fisher-Yates, LCG): the matcher must not depend on their order */
    unsigned long s = seed ? seed : 1;
    for (size_t k = g->nev; k > 1; k--) {
        s = s * 6364136223846793005UL + 1442695040888963407UL;
        size_t j = (size_t)((s >> 33) % k);
        struct rsp_recon_event tmp = g->ev[k - 1];
        g->ev[k - 1] = g->ev[j];
        g->ev[j] = tmp;
    }
    qsort(g->expect, g->nexpect, sizeof *g->expect, cmp_expect);
    return 0;
}

void recon_gen_free(struct recon_gen *g)
{
    free(g->p);
    free(g->ev);
    free(g->expect);
    memset(g, 0, sizeof *g);
}

int recon_gen_write_csv(const struct recon_gen *g, enum rsp_recon_kind kind, FILE *f)
{
    fprintf(f, "event_id,iccid,imsi,eid,imei,customer,plan,timestamp,ordered_at,outcome\n");
    for (size_t i = 0; i < g->nev; i++) {
        const struct rsp_recon_event *e = &g->ev[i];
        if (e->kind != kind)
            continue;
        fprintf(f, "%s,%s,%s,%s,%s,%s,%s,%lld,%lld,%s\n", e->event_id, e->iccid, e->imsi, e->eid,
                e->imei, e->customer, e->plan, (long long)e->at, (long long)e->started_at,
                e->ok ? "ok" : "failed");
    }
    return ferror(f) ? RSP_EIO : 0;
}
