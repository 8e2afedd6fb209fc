/* rspctl report rollback / report parity (branch recon), registered in the table of
 * rspctl_report.c.
 *
 *   rspctl report rollback --db DB [--sla S] [--format table|json] [--fail-on-breach]
 *   rspctl report parity --db DB [--cohort FROM..TO] [--alpha A] [--format table|json]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rsp/err.h"
#include "rsp/recon.h"
#include "rsp/stats.h"
#include "rsp/store.h"

#include "rspctl.h"

/* ---- growable double arrays ---- */

struct dvec {
    double *v;
    size_t n, cap;
};

static int dpush(struct dvec *d, double x)
{
    if (d->n == d->cap) {
        size_t nc = d->cap ? 2 * d->cap : 256;
        void *nv = realloc(d->v, nc * sizeof *d->v);
        if (!nv)
            return RSP_ENOMEM;
        d->v = nv;
        d->cap = nc;
    }
    d->v[d->n++] = x;
    return 0;
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

static void dsort(struct dvec *d)
{
    if (d->n)
        qsort(d->v, d->n, sizeof *d->v, dcmp);
}

/* ---- report rollback ---- */

struct rb_stats {
    struct dvec ttr[RSP_FAIL_NKINDS]; /* time to rollback of the closed ones */
    size_t closed[RSP_FAIL_NKINDS], open[RSP_FAIL_NKINDS], breaches[RSP_FAIL_NKINDS];
    size_t overdue[RSP_FAIL_NKINDS]; /* open for longer than the SLA */
    int64_t sla, now;
    /* closed rollbacks by (iccid, failed_at), to find orphans */
    struct key {
        char iccid[21];
        int64_t failed_at;
    } * keys;
    size_t n_keys, cap_keys;
    int err;
};

static int rb_cb(void *arg, const struct rsp_rollback *rb)
{
    struct rb_stats *s = arg;
    enum rsp_fail_kind k;
    if (rsp_fail_kind_from_name(rb->kind, &k) != 0)
        k = RSP_FAIL_OTHER;
    if (rb->done_at) {
        s->closed[k]++;
        int64_t t = rb->done_at - rb->failed_at;
        if (dpush(&s->ttr[k], (double)t) != 0)
            return RSP_ENOMEM;
        if (t > s->sla)
            s->breaches[k]++;
    } else {
        s->open[k]++;
        if (s->now - rb->failed_at > s->sla)
            s->overdue[k]++;
    }
    if (s->n_keys == s->cap_keys) {
        size_t nc = s->cap_keys ? 2 * s->cap_keys : 256;
        void *nv = realloc(s->keys, nc * sizeof *s->keys);
        if (!nv)
            return RSP_ENOMEM;
        s->keys = nv;
        s->cap_keys = nc;
    }
    snprintf(s->keys[s->n_keys].iccid, sizeof s->keys[0].iccid, "%s", rb->iccid);
    s->keys[s->n_keys++].failed_at = rb->failed_at;
    return 0;
}

static int key_cmp(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    int c = strcmp(x->iccid, y->iccid);
    return c ? c : x->failed_at < y->failed_at ? -1 : x->failed_at > y->failed_at;
}

struct orphan_ctx {
    struct rb_stats *s;
    size_t orphans;
    char first[5][21];
    /* Downloaded profiles past the SLA: orphans unless a download session is still live (checked
     * after the walk, which must not be interleaved with other reads on PostgreSQL pages) */
    char (*downloaded)[21];
    size_t n_dl, cap_dl;
};

static void orphan_add(struct orphan_ctx *o, const char *iccid)
{
    if (o->orphans < 5)
        snprintf(o->first[o->orphans], sizeof o->first[0], "%s", iccid);
    o->orphans++;
}

/* A profile in a failed state (or in Downloaded) for longer than the SLA whose failure has no
 * rollback at all: the sweeper has not seen it. */
static int orphan_cb(void *arg, const struct rsp_profile *p)
{
    struct orphan_ctx *o = arg;
    enum rsp_fail_kind k;
    bool failed = rsp_rollback_classify(p, &k);
    if (!failed && p->state != RSP_PROFILE_DOWNLOADED)
        return 0;
    if (o->s->now - p->state_since <= o->s->sla)
        return 0;
    struct key want;
    snprintf(want.iccid, sizeof want.iccid, "%s", p->iccid);
    want.failed_at = p->state_since;
    if (failed && o->s->n_keys && bsearch(&want, o->s->keys, o->s->n_keys, sizeof want, key_cmp))
        return 0;
    if (!failed) { /* Downloaded */
        if (o->n_dl == o->cap_dl) {
            size_t nc = o->cap_dl ? 2 * o->cap_dl : 64;
            void *nv = realloc(o->downloaded, nc * sizeof *o->downloaded);
            if (!nv)
                return RSP_ENOMEM;
            o->downloaded = nv;
            o->cap_dl = nc;
        }
        snprintf(o->downloaded[o->n_dl++], sizeof o->downloaded[0], "%s", p->iccid);
        return 0;
    }
    orphan_add(o, p->iccid);
    return 0;
}

/* A Downloaded profile whose latest bound session is still live is a download in progress. */
static int check_downloaded(struct rsp_store *st, struct orphan_ctx *o)
{
    for (size_t i = 0; i < o->n_dl; i++) {
        struct rsp_session ss;
        rsp_session_init(&ss);
        int rc = rsp_store_session_find_bound(st, o->downloaded[i], &ss);
        bool live = rc == 0 && ss.state < RSP_SESSION_FINISHED && ss.expires_at > o->s->now;
        rsp_session_free(&ss);
        if (rc && rc != RSP_ENOTFOUND)
            return rc;
        if (!live)
            orphan_add(o, o->downloaded[i]);
    }
    return 0;
}

static const char rb_usage[] =
    "usage: rspctl report rollback --db DB [--sla S] [--format table|json] [--fail-on-breach]\n"
    "\nTime from failure to rollback per failure kind (count, median, p90, max seconds), the\n"
    "rollbacks over the SLA (default 300 s, as rsp-smdp's rollback_sla), the open ones past it,\n"
    "and orphans: profiles in a failed state for longer than the SLA with no rollback, or in\n"
    "Downloaded for longer than the SLA with no live download session. --fail-on-breach: exit 1\n"
    "when there is a breach, an overdue rollback or an orphan.\n";

int rspctl_report_rollback(int argc, char **argv)
{
    const char *db = NULL, *format = "table", *v;
    bool fail_on = false;
    struct rb_stats s;
    memset(&s, 0, sizeof s);
    s.sla = 300;
    s.now = (int64_t)time(NULL);
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i])) {
            fputs(rb_usage, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--fail-on-breach") == 0) {
            fail_on = true;
            continue;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--db", &db)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--format", &format))) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--sla", &v)) > 0 &&
            rspctl_recon_parse_secs(v, &s.sla) == 0)
            continue;
        fputs(rb_usage, stderr);
        return EXIT_USAGE;
    }
    if (!db || (strcmp(format, "table") && strcmp(format, "json"))) {
        fputs(rb_usage, stderr);
        return EXIT_USAGE;
    }
    struct rsp_store *st;
    if (rspctl_recon_open_db("report rollback", db, &st) != 0)
        return 1;
    int rc = rsp_store_rollback_walk(st, false, rb_cb, &s);
    struct orphan_ctx o;
    memset(&o, 0, sizeof o);
    o.s = &s;
    if (rc == 0) {
        if (s.n_keys)
            qsort(s.keys, s.n_keys, sizeof *s.keys, key_cmp);
        rc = rsp_store_profile_list(st, NULL, orphan_cb, &o);
    }
    if (rc == 0)
        rc = check_downloaded(st, &o);
    free(o.downloaded);
    if (rc) {
        fprintf(stderr, "rspctl report rollback: %s (%s)\n", rsp_strerror(rc),
                rsp_store_last_error(st));
        rsp_store_close(st);
        return 1;
    }
    rsp_store_close(st);
    size_t breaches = 0, overdue = 0;
    bool json = strcmp(format, "json") == 0;
    if (json)
        printf("{\"sla\":%lld,\"kinds\":{", (long long)s.sla);
    else
        printf("%-20s %6s %5s %8s %8s %8s %8s %7s\n", "kind", "closed", "open", "p50_s", "p90_s",
               "max_s", "breaches", "overdue");
    for (int k = 0; k < RSP_FAIL_NKINDS; k++) {
        dsort(&s.ttr[k]);
        double p50 = rsp_stat_quantile(s.ttr[k].v, s.ttr[k].n, 0.5);
        double p90 = rsp_stat_quantile(s.ttr[k].v, s.ttr[k].n, 0.9);
        double mx = s.ttr[k].n ? s.ttr[k].v[s.ttr[k].n - 1] : NAN;
        breaches += s.breaches[k];
        overdue += s.overdue[k];
        if (json) {
            printf("%s\"%s\":{\"closed\":%zu,\"open\":%zu,\"breaches\":%zu,\"overdue\":%zu",
                   k ? "," : "", rsp_fail_kind_name(k), s.closed[k], s.open[k], s.breaches[k],
                   s.overdue[k]);
            if (s.ttr[k].n)
                printf(",\"p50_s\":%.1f,\"p90_s\":%.1f,\"max_s\":%.0f", p50, p90, mx);
            printf("}");
        } else if (s.ttr[k].n) {
            printf("%-20s %6zu %5zu %8.1f %8.1f %8.0f %8zu %7zu\n", rsp_fail_kind_name(k),
                   s.closed[k], s.open[k], p50, p90, mx, s.breaches[k], s.overdue[k]);
        } else {
            printf("%-20s %6zu %5zu %8s %8s %8s %8zu %7zu\n", rsp_fail_kind_name(k), s.closed[k],
                   s.open[k], "-", "-", "-", s.breaches[k], s.overdue[k]);
        }
    }
    if (json) {
        printf("},\"breaches\":%zu,\"overdue\":%zu,\"orphans\":%zu,\"orphan_examples\":[", breaches,
               overdue, o.orphans);
        for (size_t i = 0; i < o.orphans && i < 5; i++)
            printf("%s\"%s\"", i ? "," : "", o.first[i]);
        printf("]}\n");
    } else {
        printf("\nSLA %llds: %zu breaches, %zu open past the SLA, %zu orphans", (long long)s.sla,
               breaches, overdue, o.orphans);
        for (size_t i = 0; i < o.orphans && i < 5; i++)
            printf("%s%s", i ? ", " : " (", o.first[i]);
        printf("%s\n", o.orphans ? (o.orphans > 5 ? ", ...)" : ")") : "");
    }
    for (int k = 0; k < RSP_FAIL_NKINDS; k++)
        free(s.ttr[k].v);
    free(s.keys);
    return fail_on && (breaches || overdue || o.orphans) ? 1 : 0;
}

/* ---- report parity ---- */

/* One activation of either channel. */
struct act {
    char iccid[21];
    int64_t start;   /* eSIM: first release; physical: ordered_at */
    int64_t service; /* first attach (eSIM) / activation time (physical); 0 none */
    bool ok;
    bool billed, plan_ok;
    char plan[RSP_RECON_TEXT_MAX + 1];
};

struct acts {
    struct act *v;
    size_t n, cap;
};

struct parity_ctx {
    struct acts esim, phys;
    /* index: sorted copies of the ICCIDs for bsearch after loading */
    int64_t from, to;
    /* IMSI/EID -> ICCID of the profiles, for attach events without an ICCID */
    struct idmap {
        char id[33];
        char iccid[21];
    } * ids;
    size_t n_ids, cap_ids;
    int err;
};

static int act_cmp(const void *a, const void *b)
{
    return strcmp(((const struct act *)a)->iccid, ((const struct act *)b)->iccid);
}

static struct act *afind(struct acts *a, const char *iccid)
{
    struct act key;
    snprintf(key.iccid, sizeof key.iccid, "%s", iccid);
    return a->n ? bsearch(&key, a->v, a->n, sizeof key, act_cmp) : NULL;
}

static struct act *apush(struct acts *a)
{
    if (a->n == a->cap) {
        size_t nc = a->cap ? 2 * a->cap : 256;
        void *nv = realloc(a->v, nc * sizeof *a->v);
        if (!nv)
            return NULL;
        a->v = nv;
        a->cap = nc;
    }
    struct act *x = &a->v[a->n++];
    memset(x, 0, sizeof *x);
    return x;
}

static int id_cmp(const void *a, const void *b)
{
    return strcmp(((const struct idmap *)a)->id, ((const struct idmap *)b)->id);
}

static int id_push(struct parity_ctx *c, const char *id, const char *iccid)
{
    if (!id[0])
        return 0;
    if (c->n_ids == c->cap_ids) {
        size_t nc = c->cap_ids ? 2 * c->cap_ids : 256;
        void *nv = realloc(c->ids, nc * sizeof *c->ids);
        if (!nv)
            return RSP_ENOMEM;
        c->ids = nv;
        c->cap_ids = nc;
    }
    snprintf(c->ids[c->n_ids].id, sizeof c->ids[0].id, "%s", id);
    snprintf(c->ids[c->n_ids++].iccid, sizeof c->ids[0].iccid, "%s", iccid);
    return 0;
}

/* Pass 1 (audit): the first release of each profile inside the cohort window. */
static int release_cb(void *arg, const struct rsp_audit_entry *e)
{
    struct parity_ctx *c = arg;
    if (strcmp(e->entity, "profile") != 0 || strcmp(e->to, "Released") != 0 ||
        strcmp(e->from, "Released") == 0)
        return 0;
    if (e->at < c->from || e->at > c->to || strlen(e->key) >= sizeof c->esim.v[0].iccid)
        return 0;
    struct act *x = apush(&c->esim);
    if (!x)
        return RSP_ENOMEM;
    snprintf(x->iccid, sizeof x->iccid, "%.20s", e->key);
    x->start = e->at;
    return 0;
}

/* Pass 2 (profiles): success needs Installed; the profile's IMSI and EID resolve attach events. */
static int profile_cb(void *arg, const struct rsp_profile *p)
{
    struct parity_ctx *c = arg;
    struct act *x = afind(&c->esim, p->iccid);
    if (!x)
        return 0;
    x->ok = p->state == RSP_PROFILE_INSTALLED;
    int rc = id_push(c, p->imsi, p->iccid);
    return rc ? rc : id_push(c, p->eid, p->iccid);
}

static const char *resolve_iccid(struct parity_ctx *c, const struct rsp_recon_event *ev)
{
    if (ev->iccid[0])
        return ev->iccid;
    struct idmap key;
    snprintf(key.id, sizeof key.id, "%s", ev->imsi[0] ? ev->imsi : ev->eid);
    struct idmap *m = c->n_ids ? bsearch(&key, c->ids, c->n_ids, sizeof key, id_cmp) : NULL;
    return m ? m->iccid : "";
}

/* Pass 3 (physical events): the physical cohort. */
static int phys_cb(void *arg, const struct rsp_recon_event *ev)
{
    struct parity_ctx *c = arg;
    if (ev->kind != RSP_RECON_PHYSICAL || !ev->started_at || ev->started_at < c->from ||
        ev->started_at > c->to)
        return 0;
    struct act *x = apush(&c->phys);
    if (!x)
        return RSP_ENOMEM;
    snprintf(x->iccid, sizeof x->iccid, "%s", ev->iccid);
    x->start = ev->started_at;
    x->ok = ev->ok;
    x->service = ev->ok ? ev->at : 0;
    snprintf(x->plan, sizeof x->plan, "%s", ev->plan);
    return 0;
}

/* Pass 4 (attach and billing events) on both cohorts. */
static int ev_cb(void *arg, const struct rsp_recon_event *ev)
{
    struct parity_ctx *c = arg;
    if (ev->kind == RSP_RECON_PHYSICAL)
        return 0;
    const char *iccid = resolve_iccid(c, ev);
    if (!iccid[0])
        return 0;
    struct act *e = afind(&c->esim, iccid), *p = afind(&c->phys, iccid);
    if (ev->kind == RSP_RECON_ATTACH) {
        if (e && ev->at >= e->start && (!e->service || ev->at < e->service))
            e->service = ev->at;
        return 0;
    }
    struct act *x = e ? e : p;
    if (!x)
        return 0;
    x->billed = true;
    /* plan check: the physical order's plan (eSIM: the order tariff, rsp_recon_orders) */
    x->plan_ok |= !x->plan[0] || !ev->plan[0] || strcmp(x->plan, ev->plan) == 0;
    return 0;
}

static int tariff_cb(void *arg, const char *iccid, const char *tariff, const char *customer)
{
    (void)customer;
    struct act *x = afind(arg, iccid);
    if (x)
        snprintf(x->plan, sizeof x->plan, "%s", tariff);
    return 0;
}

static void jnum(double x)
{
    if (isnan(x))
        printf("null");
    else
        printf("%.1f", x);
}

/* "FROM..TO" with dates (YYYY-MM-DD, TO inclusive) or unix seconds. */
static int parse_cohort(const char *s, int64_t *from, int64_t *to)
{
    const char *dots = strstr(s, "..");
    if (!dots || dots == s || !dots[2] || dots - s > 24)
        return -1;
    char a[32], b[32];
    snprintf(a, sizeof a, "%.*s", (int)(dots - s), s);
    snprintf(b, sizeof b, "%s", dots + 2);
    char ta[40], tb[40];
    bool date = strlen(a) == 10 && a[4] == '-';
    if (date) {
        snprintf(ta, sizeof ta, "%.10sT00:00:00Z", a);
        snprintf(tb, sizeof tb, "%.10sT23:59:59Z", b);
    } else {
        snprintf(ta, sizeof ta, "%s", a);
        snprintf(tb, sizeof tb, "%s", b);
    }
    if (rsp_recon_parse_time(ta, from) != 0 || rsp_recon_parse_time(tb, to) != 0 || *to < *from)
        return -1;
    return 0;
}

struct channel {
    size_t n, ok, billed_match;
    struct dvec tts;
};

static int summarise(const struct acts *a, struct channel *ch)
{
    memset(ch, 0, sizeof *ch);
    ch->n = a->n;
    for (size_t i = 0; i < a->n; i++) {
        const struct act *x = &a->v[i];
        bool success = x->ok && x->service;
        if (success) {
            ch->ok++;
            if (dpush(&ch->tts, (double)(x->service - x->start)) != 0)
                return RSP_ENOMEM;
            if (x->billed && x->plan_ok)
                ch->billed_match++;
        }
    }
    dsort(&ch->tts);
    return 0;
}

static const char parity_usage[] =
    "usage: rspctl report parity --db DB [--cohort FROM..TO] [--alpha A] [--format table|json]\n"
    "\nCompares eSIM activations (profiles first released in the cohort window, from the audit\n"
    "trail) with physical-SIM activations (imported with 'recon import --kind physical', ordered\n"
    "in the window): time to service (release or order to the first network attach; Mann-Whitney\n"
    "U and two-sample Kolmogorov-Smirnov), success rate (installed/activated and attached;\n"
    "two-proportion z-test) and billing match rate among the successes (billed, on the ordered\n"
    "plan when known; z-test). A metric whose p-value is below --alpha (default 0.05) is\n"
    "flagged DIFFERENT. FROM..TO: YYYY-MM-DD..YYYY-MM-DD (inclusive) or unix seconds; default:\n"
    "everything. Exit 0; 3 when something is flagged (for scripts), 1 on errors.\n";

int rspctl_report_parity(int argc, char **argv)
{
    const char *db = NULL, *format = "table", *cohort = NULL, *alpha_s = NULL;
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i])) {
            fputs(parity_usage, stdout);
            return 0;
        }
        if ((r = rspctl_opt_value(argc, argv, &i, "--db", &db)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--format", &format)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--cohort", &cohort)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--alpha", &alpha_s))) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        fputs(parity_usage, stderr);
        return EXIT_USAGE;
    }
    struct parity_ctx c;
    memset(&c, 0, sizeof c);
    c.from = 0;
    c.to = INT64_MAX;
    double alpha = 0.05;
    if (alpha_s) {
        char *end;
        alpha = strtod(alpha_s, &end);
        if (*end || !(alpha > 0 && alpha < 1)) {
            fputs(parity_usage, stderr);
            return EXIT_USAGE;
        }
    }
    if (!db || (strcmp(format, "table") && strcmp(format, "json")) ||
        (cohort && parse_cohort(cohort, &c.from, &c.to) != 0)) {
        fputs(parity_usage, stderr);
        return EXIT_USAGE;
    }
    struct rsp_store *st;
    if (rspctl_recon_open_db("report parity", db, &st) != 0)
        return 1;
    struct rsp_audit_head h;
    int rc = rsp_store_audit_head(st, &h);
    if (rc == 0)
        rc = rsp_store_audit_walk(st, 1, h.seq, release_cb, &c);
    if (rc == 0) {
        /* keep the first release of each ICCID */
        if (c.esim.n)
            qsort(c.esim.v, c.esim.n, sizeof *c.esim.v, act_cmp);
        size_t w = 0;
        for (size_t i = 0; i < c.esim.n; i++)
            if (w == 0 || strcmp(c.esim.v[w - 1].iccid, c.esim.v[i].iccid) != 0)
                c.esim.v[w++] = c.esim.v[i];
            else if (c.esim.v[i].start < c.esim.v[w - 1].start)
                c.esim.v[w - 1].start = c.esim.v[i].start;
        c.esim.n = w;
        rc = rsp_store_profile_list(st, NULL, profile_cb, &c);
    }
    if (rc == 0) {
        if (c.n_ids)
            qsort(c.ids, c.n_ids, sizeof *c.ids, id_cmp);
        rc = rsp_recon_orders(st, tariff_cb, &c.esim);
    }
    if (rc == 0)
        rc = rsp_store_recon_walk(st, RSP_RECON_PHYSICAL, phys_cb, &c);
    if (rc == 0) {
        if (c.phys.n)
            qsort(c.phys.v, c.phys.n, sizeof *c.phys.v, act_cmp);
        rc = rsp_store_recon_walk(st, -1, ev_cb, &c);
    }
    if (rc) {
        fprintf(stderr, "rspctl report parity: %s (%s)\n", rsp_strerror(rc),
                rsp_store_last_error(st));
        rsp_store_close(st);
        return 1;
    }
    rsp_store_close(st);
    struct channel e, p;
    if (summarise(&c.esim, &e) != 0 || summarise(&c.phys, &p) != 0) {
        fprintf(stderr, "rspctl report parity: out of memory\n");
        return 1;
    }
    struct rsp_stat_result mw = {NAN, NAN}, ks = {NAN, NAN}, sr = {NAN, NAN}, bm = {NAN, NAN};
    bool have_tts = e.tts.n && p.tts.n;
    if (have_tts) {
        rsp_stat_mann_whitney(e.tts.v, e.tts.n, p.tts.v, p.tts.n, &mw);
        rsp_stat_ks2(e.tts.v, e.tts.n, p.tts.v, p.tts.n, &ks);
    }
    bool have_sr = e.n && p.n, have_bm = e.ok && p.ok;
    if (have_sr)
        rsp_stat_two_proportions(e.ok, e.n, p.ok, p.n, &sr);
    if (have_bm)
        rsp_stat_two_proportions(e.billed_match, e.ok, p.billed_match, p.ok, &bm);
    bool f_tts = have_tts && (mw.p < alpha || ks.p < alpha);
    bool f_sr = have_sr && sr.p < alpha, f_bm = have_bm && bm.p < alpha;
    double e50 = rsp_stat_quantile(e.tts.v, e.tts.n, 0.5),
           p50 = rsp_stat_quantile(p.tts.v, p.tts.n, 0.5);
    double e90 = rsp_stat_quantile(e.tts.v, e.tts.n, 0.9),
           p90 = rsp_stat_quantile(p.tts.v, p.tts.n, 0.9);
    double esr = e.n ? (double)e.ok / (double)e.n : NAN,
           psr = p.n ? (double)p.ok / (double)p.n : NAN;
    double ebm = e.ok ? (double)e.billed_match / (double)e.ok : NAN;
    double pbm = p.ok ? (double)p.billed_match / (double)p.ok : NAN;
    if (strcmp(format, "json") == 0) {
        printf("{\"alpha\":%g,\"cohort\":{\"from\":%lld,\"to\":%lld},"
               "\"esim\":{\"activations\":%zu,\"successes\":%zu,\"billed_match\":%zu},"
               "\"physical\":{\"activations\":%zu,\"successes\":%zu,\"billed_match\":%zu},",
               alpha, (long long)c.from, (long long)(c.to == INT64_MAX ? 0 : c.to), e.n, e.ok,
               e.billed_match, p.n, p.ok, p.billed_match);
        printf("\"time_to_service\":{\"esim_p50\":");
        jnum(e50);
        printf(",\"esim_p90\":");
        jnum(e90);
        printf(",\"physical_p50\":");
        jnum(p50);
        printf(",\"physical_p90\":");
        jnum(p90);
        printf(",");
        printf("\"mann_whitney_u\":%.1f,\"mann_whitney_p\":%.6g,\"ks_d\":%.6g,\"ks_p\":%.6g,"
               "\"different\":%s},",
               have_tts ? mw.statistic : 0, have_tts ? mw.p : 1, have_tts ? ks.statistic : 0,
               have_tts ? ks.p : 1, f_tts ? "true" : "false");
        printf("\"success_rate\":{\"z\":%.6g,\"p\":%.6g,\"different\":%s},",
               have_sr ? sr.statistic : 0, have_sr ? sr.p : 1, f_sr ? "true" : "false");
        printf("\"billing_match\":{\"z\":%.6g,\"p\":%.6g,\"different\":%s}}\n",
               have_bm ? bm.statistic : 0, have_bm ? bm.p : 1, f_bm ? "true" : "false");
    } else {
        printf("cohort: %zu eSIM activations, %zu physical-SIM activations; alpha %g\n\n", e.n, p.n,
               alpha);
        printf("%-22s %14s %14s   %s\n", "metric", "eSIM", "physical", "test");
        printf("%-22s %14.0f %14.0f\n", "time to service p50 s", e50, p50);
        printf("%-22s %14.0f %14.0f   Mann-Whitney U=%.1f p=%.4g; KS D=%.4f p=%.4g%s\n",
               "time to service p90 s", e90, p90, mw.statistic, mw.p, ks.statistic, ks.p,
               f_tts ? "  DIFFERENT" : "");
        printf("%-22s %13.2f%% %13.2f%%   z=%.3f p=%.4g%s\n", "success rate", 100 * esr, 100 * psr,
               sr.statistic, sr.p, f_sr ? "  DIFFERENT" : "");
        printf("%-22s %13.2f%% %13.2f%%   z=%.3f p=%.4g%s\n", "billing match", 100 * ebm, 100 * pbm,
               bm.statistic, bm.p, f_bm ? "  DIFFERENT" : "");
    }
    free(e.tts.v);
    free(p.tts.v);
    free(c.esim.v);
    free(c.phys.v);
    free(c.ids);
    return f_tts || f_sr || f_bm ? 3 : 0;
}
