/* Audit chain over any store backend: signing a checkpoint of the head, verifying the live
 * chain (rsp/store.h). Only the rsp_store_* wrappers are used, so a new backend gets both. */
#include <stdio.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/store.h"

int rsp_store_audit_checkpoint(struct rsp_store *st, const struct rsp_key *key, int64_t now,
                               struct rsp_audit_checkpoint *out)
{
    if (!st || !key || !out)
        return RSP_EINVAL;
    memset(out, 0, sizeof *out);
    struct rsp_audit_head h;
    int rc = rsp_store_audit_head(st, &h);
    if (rc)
        return rc;
    if (h.seq == 0 || h.seq == h.base_seq)
        return 1; /* nothing retained after the last checkpoint-anchored prune */
    out->seq = h.seq;
    memcpy(out->hash, h.hash, sizeof out->hash);
    out->at = now;
    rc = rsp_audit_checkpoint_sign(out, key);
    if (rc == 0)
        rc = rsp_store_audit_checkpoint_add(st, out);
    return rc;
}

/* ---- verification ---- */

struct verify_walk {
    struct rsp_audit_verifier *v;
    int64_t last; /* highest seq fed */
    int rc;
};

static int feed_checkpoint(void *arg, const struct rsp_audit_checkpoint *cp)
{
    struct verify_walk *w = arg;
    return rsp_audit_verifier_checkpoint(w->v, cp);
}

static int feed_record(void *arg, const struct rsp_audit_entry *e)
{
    struct verify_walk *w = arg;
    if (e->seq > w->last)
        w->last = e->seq;
    return rsp_audit_verifier_record(w->v, e);
}

static int count_record(void *arg, const struct rsp_audit_entry *e)
{
    (void)e;
    (*(uint64_t *)arg)++;
    return 0;
}

/* Rows beyond the head are reported through the verifier's callback, with their seq. */
struct beyond {
    rsp_audit_finding_cb cb;
    void *arg;
    uint64_t n;
    int64_t first;
};

static int note_beyond(void *arg, const struct rsp_audit_entry *e)
{
    struct beyond *b = arg;
    if (b->n++ == 0)
        b->first = e->seq;
    return 0;
}

int rsp_store_audit_verify(struct rsp_store *st, const struct rsp_key *const *keys, size_t n_keys,
                           const struct rsp_audit_expect *expect, size_t n_expect,
                           rsp_audit_finding_cb cb, void *arg, struct rsp_audit_verify_result *res)
{
    if (!st || !res || (n_keys && !keys) || (n_expect && !expect))
        return RSP_EINVAL;
    memset(res, 0, sizeof *res);
    struct rsp_audit_head head;
    int rc = rsp_store_audit_head(st, &head);
    if (rc)
        return rc;
    struct verify_walk w = {NULL, 0, 0};
    rc = rsp_audit_verifier_new(head.base_seq, head.base_hash, keys, n_keys, RSP_AUDIT_VERIFY_LIVE,
                                cb, arg, &w.v);
    if (rc)
        return rc;
    rc = rsp_store_audit_checkpoints(st, feed_checkpoint, &w);
    for (size_t i = 0; rc == 0 && i < n_expect; i++)
        rc = rsp_audit_verifier_expect(w.v, expect[i].seq, expect[i].hash);
    /* Everything up to the head read first (rows without seq included), then whatever concurrent
     * writers appended meanwhile, until the head stops moving. */
    if (rc == 0)
        rc = rsp_store_audit_walk(st, 0, head.seq, feed_record, &w);
    struct beyond b = {cb, arg, 0, 0};
    for (int round = 0; rc == 0 && round < 100; round++) {
        if (w.last < head.seq)
            w.last = head.seq;
        uint64_t extra = 0;
        rc = rsp_store_audit_walk(st, w.last + 1, INT64_MAX, count_record, &extra);
        if (rc || extra == 0)
            break;
        struct rsp_audit_head now;
        rc = rsp_store_audit_head(st, &now);
        if (rc)
            break;
        if (now.seq <= head.seq) { /* rows beyond a head that does not move: not in the chain */
            rc = rsp_store_audit_walk(st, head.seq + 1, INT64_MAX, note_beyond, &b);
            break;
        }
        rc = rsp_store_audit_walk(st, w.last + 1, now.seq, feed_record, &w);
        head = now;
    }
    if (rc == 0)
        rc = rsp_audit_verifier_finish(w.v, &head, 0, res);
    if (rc == 0 && b.n) {
        struct rsp_audit_finding f;
        memset(&f, 0, sizeof f);
        f.problem = RSP_AUDIT_HEAD;
        f.seq = b.first;
        snprintf(f.detail, sizeof f.detail,
                 "%llu row(s) from seq %lld lie beyond the chain head (seq %lld): inserted",
                 (unsigned long long)b.n, (long long)b.first, (long long)head.seq);
        if (res->findings++ == 0)
            res->first_bad_seq = b.first;
        if (cb)
            cb(arg, &f);
    }
    rsp_audit_verifier_free(w.v);
    return rc;
}
