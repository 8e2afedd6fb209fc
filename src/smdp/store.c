/* Store interface: state tables, transition validation and the wrappers every handler calls. */
#include "rsp/store.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"

static const char *const profile_names[RSP_PROFILE_NSTATES] = {
    "Available",  "Allocated", "Linked", "Confirmed",  "Released",
    "Downloaded", "Installed", "Error",  "Unavailable"};

static const char *const session_names[RSP_SESSION_NSTATES] = {
    "Started", "Authenticated", "BPP-bound", "Finished", "Cancelled", "Expired"};

#define P(s) (1u << RSP_PROFILE_##s)

/* Profile transitions (SGP.22 §3.1.6 and addendum §2.8): row = from, bits = allowed targets.
 * - DownloadOrder: Available -> Allocated (no EID) or Linked (EID).
 * - ConfirmOrder: Allocated/Linked -> Confirmed (releaseFlag false) or Released (true); an EID
 *   given at ConfirmOrder links an Allocated profile first (Allocated -> Linked).
 * - ReleaseProfile: Confirmed -> Released.
 * - CancelOrder: any state before Downloaded, and Error, -> Available or Unavailable.
 * - getBoundProfilePackage: Released -> Downloaded (a retry stays in Downloaded).
 * - handleNotification (PIR): Downloaded -> Installed or Error.
 * - Error from Released/Downloaded: CC or download attempt limit, eligibility failure, end-user
 *   rejection, BPP re-binding refused (§3.1.3).
 * - Downloaded -> Released: the expiry sweeper's rollback rule (rsp_store_sweep_expired).
 * - Released -> Installed: a successful PIR that arrives after that rollback, from the EID the
 *   profile is bound to (es9p.c handle_late_pir).
 * - Available -> Unavailable: the operator retires stock. */
static const unsigned profile_next[RSP_PROFILE_NSTATES] = {
    [RSP_PROFILE_AVAILABLE] = P(ALLOCATED) | P(LINKED) | P(UNAVAILABLE),
    [RSP_PROFILE_ALLOCATED] =
        P(LINKED) | P(CONFIRMED) | P(RELEASED) | P(AVAILABLE) | P(UNAVAILABLE),
    [RSP_PROFILE_LINKED] = P(CONFIRMED) | P(RELEASED) | P(AVAILABLE) | P(UNAVAILABLE),
    [RSP_PROFILE_CONFIRMED] = P(RELEASED) | P(AVAILABLE) | P(UNAVAILABLE),
    [RSP_PROFILE_RELEASED] =
        P(DOWNLOADED) | P(INSTALLED) | P(ERROR) | P(AVAILABLE) | P(UNAVAILABLE),
    [RSP_PROFILE_DOWNLOADED] = P(INSTALLED) | P(ERROR) | P(RELEASED),
    [RSP_PROFILE_INSTALLED] = 0,
    [RSP_PROFILE_ERROR] = P(AVAILABLE) | P(UNAVAILABLE),
    [RSP_PROFILE_UNAVAILABLE] = 0,
};

#define S(s) (1u << RSP_SESSION_##s)

/* Session transitions: authenticateClient, getBoundProfilePackage, the PIR notification;
 * cancelSession and the sweeper end any non-final session. A retried getBoundProfilePackage
 * stays in BPP-bound (same state). */
static const unsigned session_next[RSP_SESSION_NSTATES] = {
    [RSP_SESSION_STARTED] = S(AUTHENTICATED) | S(CANCELLED) | S(EXPIRED),
    [RSP_SESSION_AUTHENTICATED] = S(BPP_BOUND) | S(CANCELLED) | S(EXPIRED),
    [RSP_SESSION_BPP_BOUND] = S(FINISHED) | S(CANCELLED) | S(EXPIRED),
    [RSP_SESSION_FINISHED] = 0,
    [RSP_SESSION_CANCELLED] = 0,
    [RSP_SESSION_EXPIRED] = 0,
};

const char *rsp_profile_state_name(enum rsp_profile_state s)
{
    return (unsigned)s < RSP_PROFILE_NSTATES ? profile_names[s] : NULL;
}

const char *rsp_session_state_name(enum rsp_session_state s)
{
    return (unsigned)s < RSP_SESSION_NSTATES ? session_names[s] : NULL;
}

int rsp_profile_state_from_name(const char *name, enum rsp_profile_state *out)
{
    for (unsigned i = 0; name && i < RSP_PROFILE_NSTATES; i++)
        if (strcmp(name, profile_names[i]) == 0) {
            *out = (enum rsp_profile_state)i;
            return 0;
        }
    return RSP_ESYNTAX;
}

int rsp_session_state_from_name(const char *name, enum rsp_session_state *out)
{
    for (unsigned i = 0; name && i < RSP_SESSION_NSTATES; i++)
        if (strcmp(name, session_names[i]) == 0) {
            *out = (enum rsp_session_state)i;
            return 0;
        }
    return RSP_ESYNTAX;
}

int rsp_profile_transition_check(enum rsp_profile_state from, enum rsp_profile_state to)
{
    if ((unsigned)from >= RSP_PROFILE_NSTATES || (unsigned)to >= RSP_PROFILE_NSTATES)
        return RSP_EINVAL;
    if (from == to)
        return 0;
    return (profile_next[from] & (1u << to)) ? 0 : RSP_ESTATE;
}

int rsp_session_transition_check(enum rsp_session_state from, enum rsp_session_state to)
{
    if ((unsigned)from >= RSP_SESSION_NSTATES || (unsigned)to >= RSP_SESSION_NSTATES)
        return RSP_EINVAL;
    if (from == to)
        return 0;
    return (session_next[from] & (1u << to)) ? 0 : RSP_ESTATE;
}

void rsp_session_init(struct rsp_session *s)
{
    memset(s, 0, sizeof *s);
    rsp_buf_init(&s->otpk_euicc);
    rsp_buf_init(&s->bpp);
    rsp_buf_init(&s->euicc_cert);
}

void rsp_session_free(struct rsp_session *s)
{
    rsp_buf_free(&s->otpk_euicc);
    rsp_buf_free_secure(&s->bpp);
    rsp_buf_free(&s->euicc_cert);
}

void rsp_store_close(struct rsp_store *st)
{
    if (st)
        st->ops->close(st);
}

static bool digits_ok(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static const char *actor_or_default(const char *actor)
{
    return actor && *actor ? actor : "system";
}

int rsp_store_profile_insert(struct rsp_store *st, const struct rsp_profile *p, const uint8_t *pkg,
                             size_t pkg_len, const char *actor)
{
    if (!st || !p || !digits_ok(p->iccid, 18, 20) || (unsigned)p->state >= RSP_PROFILE_NSTATES ||
        (pkg_len && !pkg))
        return RSP_EINVAL;
    return st->ops->profile_insert(st, p, pkg, pkg_len, actor_or_default(actor));
}

int rsp_store_profile_get(struct rsp_store *st, const char *iccid, struct rsp_profile *out)
{
    if (!st || !iccid || !out)
        return RSP_EINVAL;
    return st->ops->profile_get(st, iccid, out);
}

int rsp_store_profile_package(struct rsp_store *st, const char *iccid, struct rsp_buf *out)
{
    if (!st || !iccid || !out)
        return RSP_EINVAL;
    return st->ops->profile_package(st, iccid, out);
}

int rsp_store_profile_find_available(struct rsp_store *st, const char *profile_type,
                                     struct rsp_profile *out)
{
    if (!st || !profile_type || !out)
        return RSP_EINVAL;
    return st->ops->profile_find_available(st, profile_type, out);
}

int rsp_store_profile_find_available_owned(struct rsp_store *st, const char *profile_type,
                                           const char *owner, struct rsp_profile *out)
{
    if (!st || !profile_type || !owner || !out)
        return RSP_EINVAL;
    if (!st->ops->profile_find_available_owned)
        return RSP_EIO;
    return st->ops->profile_find_available_owned(st, profile_type, owner, out);
}

int rsp_store_profile_update(struct rsp_store *st, const struct rsp_profile *cur,
                             struct rsp_profile *next, const char *actor, const char *reason)
{
    if (!st || !cur || !next || strcmp(cur->iccid, next->iccid) != 0)
        return RSP_EINVAL;
    int rc = rsp_profile_transition_check(cur->state, next->state);
    if (rc)
        return rc;
    rc = st->ops->profile_cas(st, next, cur->state, cur->version, actor_or_default(actor),
                              reason ? reason : "");
    if (rc == 0)
        next->version = cur->version + 1;
    return rc;
}

int rsp_store_profile_transition(struct rsp_store *st, const char *iccid,
                                 enum rsp_profile_state from, enum rsp_profile_state to,
                                 const char *actor, const char *reason)
{
    struct rsp_profile cur, next;
    int rc = rsp_store_profile_get(st, iccid, &cur);
    if (rc)
        return rc;
    if (cur.state != from)
        return RSP_ESTATE;
    next = cur;
    next.state = to;
    return rsp_store_profile_update(st, &cur, &next, actor, reason);
}

static int tid_normalise(const char *in, char out[2 * RSP_TID_MAX + 1])
{
    struct rsp_tid t;
    if (!in || rsp_tid_from_hex(in, &t) != 0)
        return RSP_ESYNTAX;
    rsp_tid_to_hex(&t, out);
    return 0;
}

int rsp_store_session_insert(struct rsp_store *st, const struct rsp_session *s, const char *actor)
{
    char tid[2 * RSP_TID_MAX + 1];
    if (!st || !s || (unsigned)s->state >= RSP_SESSION_NSTATES || s->ci_pkid_len > 20)
        return RSP_EINVAL;
    if (tid_normalise(s->tid, tid) || strcmp(tid, s->tid) != 0)
        return RSP_EINVAL; /* the key is stored in upper-case hex */
    return st->ops->session_insert(st, s, actor_or_default(actor));
}

int rsp_store_session_get(struct rsp_store *st, const char *tid_hex, struct rsp_session *out)
{
    char tid[2 * RSP_TID_MAX + 1];
    if (!st || !out)
        return RSP_EINVAL;
    if (tid_normalise(tid_hex, tid))
        return RSP_ESYNTAX;
    return st->ops->session_get(st, tid, out);
}

int rsp_store_session_update(struct rsp_store *st, const struct rsp_session *cur,
                             struct rsp_session *next, const char *actor, const char *reason)
{
    if (!st || !cur || !next || strcmp(cur->tid, next->tid) != 0 || next->ci_pkid_len > 20)
        return RSP_EINVAL;
    int rc = rsp_session_transition_check(cur->state, next->state);
    if (rc)
        return rc;
    rc = st->ops->session_cas(st, next, cur->state, cur->version, actor_or_default(actor),
                              reason ? reason : "");
    if (rc == 0)
        next->version = cur->version + 1;
    return rc;
}

int rsp_store_profile_find_download(struct rsp_store *st, const char *matching_id, const char *eid,
                                    struct rsp_profile *out)
{
    if (!st || !matching_id || !eid || !out || strlen(matching_id) > RSP_STORE_TEXT_MAX ||
        (!matching_id[0] && !digits_ok(eid, 32, 32)))
        return RSP_EINVAL;
    return st->ops->profile_find_download(st, matching_id, eid, out);
}

int rsp_store_session_find_bound(struct rsp_store *st, const char *iccid, struct rsp_session *out)
{
    if (!st || !iccid || !out || !digits_ok(iccid, 18, 20))
        return RSP_EINVAL;
    return st->ops->session_find_bound(st, iccid, out);
}

int rsp_store_sweep_expired(struct rsp_store *st, int64_t now, unsigned *n_expired)
{
    unsigned dummy;
    if (!st)
        return RSP_EINVAL;
    return st->ops->sweep_expired(st, now, n_expired ? n_expired : &dummy);
}

int rsp_store_audit_list(struct rsp_store *st, const char *key, struct rsp_audit_entry *out,
                         size_t max, size_t *n)
{
    if (!st || !key || (!out && max) || !n)
        return RSP_EINVAL;
    return st->ops->audit_list(st, key, out, max, n);
}

int rsp_store_outbox_add(struct rsp_store *st, struct rsp_outbox_item *it)
{
    if (!st || !it)
        return RSP_EINVAL;
    return st->ops->outbox_add(st, it);
}

int rsp_store_outbox_next_due(struct rsp_store *st, int64_t now, struct rsp_outbox_item *out)
{
    if (!st || !out)
        return RSP_EINVAL;
    return st->ops->outbox_next_due(st, now, out);
}

int rsp_store_outbox_done(struct rsp_store *st, int64_t id)
{
    if (!st)
        return RSP_EINVAL;
    return st->ops->outbox_done(st, id);
}

int rsp_store_outbox_retry(struct rsp_store *st, int64_t id, int64_t next_attempt_at)
{
    if (!st)
        return RSP_EINVAL;
    return st->ops->outbox_retry(st, id, next_attempt_at);
}

/* ---- per-thread connection pool ---- */

struct pool_entry {
    pthread_t thread;
    struct rsp_store *st;
};

struct rsp_store_pool {
    rsp_store_open_fn open;
    void *arg;
    const struct rsp_pseudonym_key *pseudonym_key;
    pthread_mutex_t mu;
    struct pool_entry *e;
    size_t n, cap;
};

int rsp_store_pool_create(rsp_store_open_fn open, void *arg, struct rsp_store_pool **out)
{
    if (!open || !out)
        return RSP_EINVAL;
    struct rsp_store_pool *p = calloc(1, sizeof *p);
    if (!p)
        return RSP_ENOMEM;
    p->open = open;
    p->arg = arg;
    pthread_mutex_init(&p->mu, NULL);
    *out = p;
    return 0;
}

int rsp_store_pool_get(struct rsp_store_pool *p, struct rsp_store **out)
{
    if (!p || !out)
        return RSP_EINVAL;
    pthread_t self = pthread_self();
    int rc = 0;
    *out = NULL;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n; i++)
        if (pthread_equal(p->e[i].thread, self)) {
            *out = p->e[i].st;
            break;
        }
    if (!*out) {
        if (p->n == p->cap) {
            size_t cap = p->cap ? 2 * p->cap : 8;
            struct pool_entry *e = realloc(p->e, cap * sizeof *e);
            if (!e)
                rc = RSP_ENOMEM;
            else {
                p->e = e;
                p->cap = cap;
            }
        }
        if (rc == 0)
            rc = p->open(p->arg, out);
        if (rc == 0) {
            rsp_store_set_pseudonym_key(*out, p->pseudonym_key);
            p->e[p->n++] = (struct pool_entry){self, *out};
        }
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

size_t rsp_store_pool_size(struct rsp_store_pool *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->n;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void rsp_store_pool_set_pseudonym_key(struct rsp_store_pool *p, const struct rsp_pseudonym_key *key)
{
    if (p)
        p->pseudonym_key = key;
}

void rsp_store_pool_destroy(struct rsp_store_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        rsp_store_close(p->e[i].st);
    free(p->e);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* ---- inventory import ---- */

int rsp_store_profile_import(struct rsp_store *st, struct rsp_store_import_item *items, size_t n,
                             const char *actor)
{
    if (!st || (n && !items))
        return RSP_EINVAL;
    for (size_t i = 0; i < n; i++) {
        const struct rsp_store_import_item *it = &items[i];
        if (it->refused)
            continue;
        if (!digits_ok(it->profile.iccid, 18, 20) || it->profile.state != RSP_PROFILE_AVAILABLE ||
            !it->manifest || !it->manifest_len || (it->pkg_len && !it->pkg))
            return RSP_EINVAL;
    }
    if (!st->ops->profile_import)
        return RSP_ESTATE;
    return st->ops->profile_import(st, items, n, actor_or_default(actor));
}

int rsp_store_profile_manifest(struct rsp_store *st, const char *iccid, struct rsp_buf *out)
{
    if (!st || !iccid || !out)
        return RSP_EINVAL;
    if (!st->ops->profile_manifest)
        return RSP_ENOTFOUND;
    return st->ops->profile_manifest(st, iccid, out);
}

int rsp_store_profile_list(struct rsp_store *st, const enum rsp_profile_state *state,
                           rsp_store_profile_cb cb, void *arg)
{
    if (!st || !cb || (state && (unsigned)*state >= RSP_PROFILE_NSTATES))
        return RSP_EINVAL;
    if (!st->ops->profile_list)
        return RSP_ESTATE;
    return st->ops->profile_list(st, state, cb, arg);
}

/* ---- audit chain ---- */

void rsp_store_set_pseudonym_key(struct rsp_store *st, const struct rsp_pseudonym_key *key)
{
    if (st)
        st->pseudonym_key = key;
}

void rsp_store_subject(const struct rsp_store *st, enum rsp_pseudonym_class cls, const char *id,
                       char out[RSP_AUDIT_SUBJECT_MAX + 1])
{
    char p[RSP_PSEUDONYM_LEN + 1];
    out[0] = 0;
    if (!st || !st->pseudonym_key || !id || !*id)
        return;
    if (rsp_pseudonym(st->pseudonym_key, cls, id, p) == 0)
        memcpy(out, p, sizeof p);
}

static bool audit_entry_ok(const struct rsp_audit_entry *e)
{
    struct rsp_buf b = RSP_BUF_INIT;
    int rc = rsp_audit_encode(e, &b);
    rsp_buf_free(&b);
    return rc == 0 && e->entity[0];
}

int rsp_store_call_begin(struct rsp_store *st)
{
    if (!st)
        return RSP_EINVAL;
    return st->ops->call_begin ? st->ops->call_begin(st) : 0;
}

int rsp_store_call_end(struct rsp_store *st, bool commit)
{
    if (!st)
        return RSP_EINVAL;
    return st->ops->call_end ? st->ops->call_end(st, commit) : 0;
}

int rsp_store_audit_append(struct rsp_store *st, struct rsp_audit_entry *e)
{
    if (!st || !e || !audit_entry_ok(e))
        return RSP_EINVAL;
    if (!st->ops->audit_append)
        return RSP_ESTATE;
    return st->ops->audit_append(st, e);
}

int rsp_store_audit_head(struct rsp_store *st, struct rsp_audit_head *out)
{
    if (!st || !out)
        return RSP_EINVAL;
    if (!st->ops->audit_head)
        return RSP_ESTATE;
    return st->ops->audit_head(st, out);
}

int rsp_store_audit_walk(struct rsp_store *st, int64_t from, int64_t to, rsp_store_audit_cb cb,
                         void *arg)
{
    if (!st || !cb || from > to)
        return RSP_EINVAL;
    if (!st->ops->audit_walk)
        return RSP_ESTATE;
    return st->ops->audit_walk(st, from, to, cb, arg);
}

int rsp_store_audit_last(struct rsp_store *st, const char *entity, const char *key,
                         struct rsp_audit_entry *out)
{
    if (!st || !entity || !key || !out)
        return RSP_EINVAL;
    if (!st->ops->audit_last)
        return RSP_ESTATE;
    return st->ops->audit_last(st, entity, key, out);
}

int rsp_store_audit_checkpoint_add(struct rsp_store *st, const struct rsp_audit_checkpoint *cp)
{
    if (!st || !cp || cp->seq <= 0)
        return RSP_EINVAL;
    if (!st->ops->audit_checkpoint_add)
        return RSP_ESTATE;
    return st->ops->audit_checkpoint_add(st, cp);
}

int rsp_store_audit_checkpoints(struct rsp_store *st, rsp_store_checkpoint_cb cb, void *arg)
{
    if (!st || !cb)
        return RSP_EINVAL;
    if (!st->ops->audit_checkpoint_walk)
        return RSP_ESTATE;
    return st->ops->audit_checkpoint_walk(st, cb, arg);
}

int rsp_store_audit_export_mark(struct rsp_store *st, int64_t first, int64_t last,
                                const uint8_t sha256[32], const char *actor)
{
    if (!st || !sha256 || first < 1 || last < first)
        return RSP_EINVAL;
    if (!st->ops->audit_export_mark)
        return RSP_ESTATE;
    return st->ops->audit_export_mark(st, first, last, sha256, actor_or_default(actor));
}

int rsp_store_audit_prune(struct rsp_store *st, int64_t through, const char *actor,
                          int64_t *n_removed, const char **why)
{
    int64_t n = 0;
    const char *w = NULL;
    if (why)
        *why = "";
    if (n_removed)
        *n_removed = 0;
    if (!st || through < 1)
        return RSP_EINVAL;
    if (!st->ops->audit_prune)
        return RSP_ESTATE;
    int rc = st->ops->audit_prune(st, through, actor_or_default(actor), &n, &w);
    if (n_removed)
        *n_removed = n;
    if (why && w)
        *why = w;
    return rc;
}

/* ---- branch accept: acceptance runs and requirements ---- */

/* Printable ASCII only, NUL within cap (each text field of a run). */
static bool printable(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == cap)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

static bool acceptance_run_ok(const struct rsp_acceptance_run *r)
{
    if (!printable(r->model, sizeof r->model) || !printable(r->tac, sizeof r->tac) ||
        !printable(r->eum, sizeof r->eum) || !printable(r->svn, sizeof r->svn) ||
        !printable(r->target, sizeof r->target) ||
        !printable(r->failed_step, sizeof r->failed_step) ||
        !printable(r->summary, sizeof r->summary))
        return false;
    if (!r->model[0] && !r->tac[0])
        return false;
    for (const char *p = r->tac; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    return r->passed ? !r->failed_step[0] : true;
}

int rsp_store_acceptance_run_add(struct rsp_store *st, struct rsp_acceptance_run *run,
                                 const char *actor)
{
    if (!st || !run || !acceptance_run_ok(run))
        return RSP_EINVAL;
    if (!st->ops->acceptance_run_add)
        return RSP_ESTATE;
    return st->ops->acceptance_run_add(st, run, actor_or_default(actor));
}

int rsp_store_acceptance_run_latest(struct rsp_store *st, const char *model,
                                    struct rsp_acceptance_run *out)
{
    if (!st || !out || !model || !model[0])
        return RSP_EINVAL;
    if (!st->ops->acceptance_run_latest)
        return RSP_ESTATE;
    return st->ops->acceptance_run_latest(st, model, out);
}

int rsp_store_acceptance_run_list(struct rsp_store *st, const char *model, size_t max,
                                  rsp_store_acceptance_cb cb, void *arg)
{
    if (!st || !cb)
        return RSP_EINVAL;
    if (!st->ops->acceptance_run_list)
        return RSP_ESTATE;
    return st->ops->acceptance_run_list(st, model && model[0] ? model : NULL, max, cb, arg);
}

static bool acceptance_scope_ok(const char *scope, const char *name)
{
    return scope && name && (!strcmp(scope, "campaign") || !strcmp(scope, "model")) && name[0] &&
           printable(name, RSP_STORE_TEXT_MAX + 1);
}

int rsp_store_acceptance_require(struct rsp_store *st, const char *scope, const char *name, bool on,
                                 const char *actor, bool *changed)
{
    if (changed)
        *changed = false;
    if (!st || !acceptance_scope_ok(scope, name))
        return RSP_EINVAL;
    if (!st->ops->acceptance_require)
        return RSP_ESTATE;
    bool c = false;
    int rc = st->ops->acceptance_require(st, scope, name, on, actor_or_default(actor), &c);
    if (changed)
        *changed = c;
    return rc;
}

int rsp_store_acceptance_required(struct rsp_store *st, const char *scope, const char *name,
                                  bool *out)
{
    if (!st || !out || !acceptance_scope_ok(scope, name))
        return RSP_EINVAL;
    *out = false;
    if (!st->ops->acceptance_required)
        return RSP_ESTATE;
    return st->ops->acceptance_required(st, scope, name, out);
}
