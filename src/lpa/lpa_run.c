/* The download driver of rsp/lpa_attempt.h: attempts, back-off, device conditions, resume from
 * the persisted record, CancelSession when giving up. One record per state directory. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "rsp/crypto.h"
#include "rsp/err.h"
#include "rsp/fileio.h"
#include "rsp/lpa.h"
#include "rsp/lpa_attempt.h"

struct run {
    struct rsp_es10 *s;
    struct rsp_es9p_client *c;
    const struct rsp_lpa_run_opts *o;
    struct rsp_lpa_download_opts dl; /* o->dl with our hooks */
    struct rsp_lpa_download_result *r;
    struct rsp_lpa_attempt a;
    int save_rc; /* first failure to save the record */
    char why[160];
};

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void do_sleep(struct run *R, unsigned ms)
{
    if (R->o->sleep_ms) {
        R->o->sleep_ms(R->o->sleep_ctx, ms);
        return;
    }
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint32_t rnd32(struct run *R)
{
    if (R->o->random)
        return R->o->random(R->o->random_ctx);
    uint32_t v = 0;
    if (rsp_random(&v, sizeof v) != 0)
        v = (uint32_t)now_ms();
    return v;
}

/* Progress to the caller's event callback and one line in the event log. `extra` is a JSON
 * object (stolen) or NULL. */
static void event(struct run *R, const char *name, size_t a, size_t b, json_t *extra)
{
    if (R->o->dl.event)
        R->o->dl.event(R->o->dl.event_ctx, name, a, b);
    json_t *o = json_pack("{s:I, s:s, s:I, s:s, s:s}", "t_ms", (json_int_t)now_ms(), "event", name,
                          "attempt", (json_int_t)R->a.attempts, "state",
                          rsp_lpa_att_state_name(R->a.state), "transaction_id", R->a.tid);
    if (o && extra)
        json_object_update(o, extra);
    json_decref(extra);
    char *line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (line) {
        rsp_lpa_event_append(R->o->state_dir, line);
        free(line);
    }
}

static void save(struct run *R, const char *what, size_t index)
{
    int rc = rsp_lpa_attempt_save(R->o->state_dir, &R->a);
    if (rc != 0 && R->save_rc == 0)
        R->save_rc = rc;
    if (R->o->saved_hook)
        R->o->saved_hook(R->o->saved_hook_ctx, what, index, R->a.attempts);
}

static void go(struct run *R, enum rsp_lpa_att_state to)
{
    /* the transition table is the contract; a violation is a bug in this file */
    if (rsp_lpa_att_transition_check(R->a.state, to) != 0)
        abort();
    R->a.state = to;
}

/* ---- hooks given to rsp_lpa_download ---- */

static bool conditions_now(struct run *R, char *why, size_t n)
{
    struct rsp_lpa_conditions c = R->o->conditions;
    if (R->o->conditions_file) {
        struct rsp_buf b = RSP_BUF_INIT;
        char err[128] = "";
        int rc = rsp_file_read(R->o->conditions_file, &b);
        if (rc == 0 && b.len <= 4096)
            rc = rsp_lpa_conditions_parse((const char *)b.data, b.len, &c, err, sizeof err);
        rsp_buf_free(&b);
        /* an unreadable or malformed file says nothing: the option values stand */
        if (rc != 0)
            c = R->o->conditions;
    }
    return rsp_lpa_conditions_ok(&R->o->cond_policy, &c, why, n);
}

static int hook_before_heavy(void *ctx, const char *step)
{
    struct run *R = ctx;
    (void)step;
    return conditions_now(R, R->why, sizeof R->why) ? 0 : 1;
}

static int hook_on_bpp(void *ctx, const struct rsp_tid *tid, const uint8_t *bpp, size_t len,
                       size_t segments)
{
    struct run *R = ctx;
    int rc = rsp_lpa_attempt_save_bpp(R->o->state_dir, bpp, len);
    if (rc != 0)
        return rc;
    rsp_tid_to_hex(tid, R->a.tid);
    R->a.has_bpp = true;
    R->a.segments = segments;
    R->a.acked = R->a.inflight = 0;
    R->a.expected = R->r->expected;
    snprintf(R->a.iccid, sizeof R->a.iccid, "%s", R->r->iccid);
    go(R, RSP_LPA_ATT_DOWNLOADING);
    save(R, "bpp", 0);
    event(R, "bpp-saved", segments, len,
          json_pack("{s:I, s:I}", "segments", (json_int_t)segments, "bytes", (json_int_t)len));
    return R->save_rc;
}

static void hook_on_segment(void *ctx, size_t index, size_t n, bool done)
{
    struct run *R = ctx;
    (void)n;
    if (done) {
        R->a.acked = index;
        R->a.inflight = 0;
    } else {
        R->a.inflight = index;
    }
    save(R, done ? "acked" : "sending", index);
}

/* ---- helpers ---- */

static void set_error(struct run *R, enum rsp_lpa_fail_class cls)
{
    snprintf(R->a.last_class, sizeof R->a.last_class, "%s", rsp_lpa_fail_class_name(cls));
    snprintf(R->a.last_error, sizeof R->a.last_error, "%s", R->r->message);
}

/* The profile of the record is on the eUICC already (a PIR got lost with the LPA): its AID. */
static int installed_aid(struct run *R, uint8_t aid[16])
{
    if (!R->a.expected.known)
        return RSP_ENOTFOUND;
    struct rsp_profile_info_list_req req;
    memset(&req, 0, sizeof req);
    req.search = RSP_ES10_SEARCH_ICCID;
    memcpy(req.iccid.b, R->a.expected.iccid, sizeof req.iccid.b);
    static const uint8_t tags[] = {0x5A, 0x4F};
    req.tag_list.p = tags;
    req.tag_list.len = sizeof tags;
    struct rsp_buf raw = RSP_BUF_INIT;
    struct rsp_profile_info_list *l = calloc(1, sizeof *l);
    if (!l)
        return RSP_ENOMEM;
    int rc = rsp_lpa_get_profiles(R->s, &req, &raw, l);
    if (rc == 0)
        rc = (!l->is_error && l->n == 1 && l->profiles[0].isdp_aid.len == 16) ? 0 : RSP_ENOTFOUND;
    if (rc == 0)
        memcpy(aid, l->profiles[0].isdp_aid.p, 16);
    rsp_buf_free(&raw);
    free(l);
    return rc;
}

/* CancelSession to the eUICC (it signs) and to the SM-DP+; kept in the record when the SM-DP+
 * cannot be reached. */
static void give_up_cancel(struct run *R, int reason)
{
    struct rsp_tid tid;
    if (!R->r->session_open || !R->a.tid[0] || rsp_tid_from_hex(R->a.tid, &tid) != 0)
        return;
    struct rsp_buf raw = RSP_BUF_INIT;
    struct rsp_sgp22_cancel_session_response cr;
    int rc = rsp_lpa_cancel_session(R->s, tid.b, tid.len, reason, &raw, &cr);
    R->r->session_open = false;
    if (rc != 0 || raw.len == 0 || 2 * raw.len >= sizeof R->a.pending_cancel) {
        event(R, "cancel-session", (size_t)reason, 0,
              json_pack("{s:i, s:s}", "reason", reason, "result", "the eUICC did not sign it"));
        rsp_buf_free(&raw);
        return;
    }
    rsp_hex_str(R->a.pending_cancel, raw.data, raw.len, 1);
    snprintf(R->a.cancel_tid, sizeof R->a.cancel_tid, "%s", R->a.tid);
    rsp_buf_free(&raw);
    save(R, "cancel", 0);
    rc = rsp_lpa_deliver_pending_cancel(R->c, R->o->state_dir);
    event(R, "cancel-session", (size_t)reason, 0,
          json_pack("{s:i, s:s}", "reason", reason, "result",
                    rc == 0 ? "delivered" : "kept for later delivery"));
    /* reload what deliver wrote (pending_cancel cleared on success) */
    struct rsp_lpa_attempt tmp;
    if (rsp_lpa_attempt_load(R->o->state_dir, &tmp, NULL, NULL, 0) == 0) {
        memcpy(R->a.pending_cancel, tmp.pending_cancel, sizeof tmp.pending_cancel);
        memcpy(R->a.cancel_tid, tmp.cancel_tid, sizeof tmp.cancel_tid);
    }
}

static int give_up(struct run *R, enum rsp_lpa_fail_class cls, int cancel_reason, int rc)
{
    set_error(R, cls);
    if (cancel_reason >= 0)
        give_up_cancel(R, cancel_reason);
    R->a.has_bpp = false;
    go(R, RSP_LPA_ATT_GAVE_UP);
    save(R, "gave-up", 0);
    event(R, "gave-up", R->a.attempts, 0,
          json_pack("{s:s, s:s}", "class", rsp_lpa_fail_class_name(cls), "error", R->r->message));
    return rc ? rc : RSP_EIO;
}

static bool budget_left(struct run *R, char *why, size_t n)
{
    const struct rsp_lpa_retry_policy *p = &R->o->retry;
    if (p->max_attempts && R->a.attempts >= p->max_attempts) {
        snprintf(why, n, "%u attempts made (the limit)", R->a.attempts);
        return false;
    }
    if (p->budget_s && R->a.first_at && now_s() - R->a.first_at >= (int64_t)p->budget_s) {
        snprintf(why, n, "the retry budget of %u s is spent", p->budget_s);
        return false;
    }
    return true;
}

/* Waits for acceptable device conditions. 0 when they are; 1 with no_wait. */
static int wait_conditions(struct run *R)
{
    char why[160];
    if (conditions_now(R, why, sizeof why))
        return 0;
    if (R->a.state != RSP_LPA_ATT_DEFERRED)
        go(R, RSP_LPA_ATT_DEFERRED);
    save(R, "deferred", 0);
    event(R, "deferred", 0, 0, json_pack("{s:s}", "why", why));
    if (R->o->no_wait) {
        snprintf(R->r->message, sizeof R->r->message, "deferred: %s", why);
        R->r->kind = RSP_LPA_DL_DEFERRED;
        return 1;
    }
    int64_t t0 = now_ms();
    unsigned poll = R->o->conditions_poll_ms ? R->o->conditions_poll_ms : 1000;
    while (!conditions_now(R, why, sizeof why))
        do_sleep(R, poll);
    int64_t waited = now_ms() - t0;
    if (R->a.first_at)
        R->a.first_at += waited / 1000; /* deferral is not network budget */
    event(R, "resumed", (size_t)waited, 0, json_pack("{s:I}", "waited_ms", (json_int_t)waited));
    return 0;
}

/* ---- the driver ---- */

static int start_record(struct run *R)
{
    struct rsp_lpa_attempt *a = &R->a;
    memset(a, 0, sizeof *a);
    a->state = RSP_LPA_ATT_IDLE;
    snprintf(a->eid, sizeof a->eid, "%s", R->o->eid ? R->o->eid : "");
    snprintf(a->smdp, sizeof a->smdp, "%s", R->o->dl.smdp_address);
    snprintf(a->matching_id, sizeof a->matching_id, "%s",
             R->o->dl.matching_id ? R->o->dl.matching_id : "");
    a->enable = R->o->enable;
    a->cc_required = R->o->dl.confirmation_code && *R->o->dl.confirmation_code;
    return 0;
}

static bool same_download(const struct rsp_lpa_attempt *a, const struct rsp_lpa_download_opts *d)
{
    const char *mid = d->matching_id ? d->matching_id : "";
    return !strcmp(a->smdp, d->smdp_address) && !strcmp(a->matching_id, mid);
}

static void dl_opts(struct run *R)
{
    R->dl = R->o->dl;
    R->dl.smdp_address = R->a.smdp;
    R->dl.matching_id = R->a.matching_id[0] ? R->a.matching_id : NULL;
    R->dl.before_heavy = hook_before_heavy;
    R->dl.on_bpp = hook_on_bpp;
    R->dl.on_segment = hook_on_segment;
    R->dl.hook_ctx = R;
}

/* One attempt: resume the load when the record allows it, else a new session. */
static int one_attempt(struct run *R, const struct rsp_buf *bpp)
{
    struct rsp_lpa_attempt *a = &R->a;
    if (a->state == RSP_LPA_ATT_DOWNLOADING || (a->has_bpp && a->state != RSP_LPA_ATT_IDLE)) {
        if (a->has_bpp && a->inflight == 0) {
            struct rsp_tid tid;
            if (rsp_tid_from_hex(a->tid, &tid) == 0) {
                if (a->state != RSP_LPA_ATT_DOWNLOADING)
                    go(R, RSP_LPA_ATT_DOWNLOADING);
                event(R, "resume", a->acked, a->segments,
                      json_pack("{s:I, s:I}", "acked", (json_int_t)a->acked, "segments",
                                (json_int_t)a->segments));
                int rc = rsp_lpa_download_resume(R->s, R->c, &R->dl, &tid, bpp->data, bpp->len,
                                                 a->acked, R->r);
                R->r->expected = a->expected;
                snprintf(R->r->iccid, sizeof R->r->iccid, "%s", a->iccid);
                return rc;
            }
        }
        if (a->has_bpp && a->inflight) {
            /* The LPA stopped while segment k was on its way: the eUICC may or may not have it,
             * and sending it again would break the MAC chain. If it was the last one, the
             * profile may even be installed. */
            uint8_t aid[16];
            if (a->inflight == a->segments && installed_aid(R, aid) == 0) {
                memset(R->r, 0, sizeof *R->r);
                R->r->kind = RSP_LPA_DL_OK;
                memcpy(R->r->aid, aid, 16);
                R->r->expected = a->expected;
                snprintf(R->r->iccid, sizeof R->r->iccid, "%s", a->iccid);
                snprintf(R->r->message, sizeof R->r->message, "%s",
                         "installed by the run that stopped (its PIR waits in the eUICC)");
                event(R, "found-installed", 0, 0, NULL);
                return 0;
            }
            event(R, "retry-path", a->inflight, a->segments,
                  json_pack("{s:s, s:I}", "why",
                            "a segment was in flight when the LPA or the eUICC stopped", "inflight",
                            (json_int_t)a->inflight));
        }
    }
    a->has_bpp = false;
    a->acked = a->inflight = a->segments = 0;
    go(R, RSP_LPA_ATT_AUTHENTICATING);
    save(R, "authenticating", 0);
    return rsp_lpa_download(R->s, R->c, &R->dl, R->r);
}

int rsp_lpa_run(struct rsp_es10 *s, struct rsp_es9p_client *c, const struct rsp_lpa_run_opts *o,
                struct rsp_lpa_download_result *result, struct rsp_lpa_attempt *final_attempt)
{
    if (!s || !c || !o || !result || !o->state_dir || !*o->state_dir)
        return RSP_EINVAL;
    memset(result, 0, sizeof *result);
    struct run R = {.s = s, .c = c, .o = o, .r = result};
    struct rsp_buf bpp = RSP_BUF_INIT;
    char err[160] = "";
    int rc = rsp_lpa_attempt_load(o->state_dir, &R.a, &bpp, err, sizeof err);
    bool fresh =
        rc == RSP_ENOTFOUND ||
        (rc == 0 && (R.a.state == RSP_LPA_ATT_GAVE_UP || R.a.state == RSP_LPA_ATT_INSTALLED ||
                     R.a.state == RSP_LPA_ATT_ENABLED || R.a.state == RSP_LPA_ATT_IDLE));
    if (rc != 0 && rc != RSP_ENOTFOUND) {
        snprintf(result->message, sizeof result->message, "attempt record in %s: %s", o->state_dir,
                 err);
        result->kind = RSP_LPA_DL_OTHER;
        rsp_buf_free(&bpp);
        return rc;
    }
    if (fresh) {
        if (!o->dl.smdp_address || !*o->dl.smdp_address) {
            rsp_buf_free(&bpp);
            return RSP_EINVAL;
        }
        char keep_cancel[sizeof R.a.pending_cancel], keep_tid[sizeof R.a.cancel_tid];
        bool had = rc == 0 && R.a.pending_cancel[0];
        if (had) {
            memcpy(keep_cancel, R.a.pending_cancel, sizeof keep_cancel);
            memcpy(keep_tid, R.a.cancel_tid, sizeof keep_tid);
        }
        start_record(&R);
        if (had) {
            memcpy(R.a.pending_cancel, keep_cancel, sizeof keep_cancel);
            memcpy(R.a.cancel_tid, keep_tid, sizeof keep_tid);
        }
    } else if (o->dl.smdp_address && *o->dl.smdp_address && !same_download(&R.a, &o->dl)) {
        snprintf(result->message, sizeof result->message,
                 "another download is pending (SM-DP+ %.64s, matchingId %.40s, state %s): "
                 "resume or abandon it first",
                 R.a.smdp, R.a.matching_id, rsp_lpa_att_state_name(R.a.state));
        result->kind = RSP_LPA_DL_OTHER;
        rsp_buf_free(&bpp);
        return RSP_ESTATE;
    }
    if (o->eid && R.a.eid[0] && strcmp(o->eid, R.a.eid) != 0) {
        snprintf(result->message, sizeof result->message,
                 "the attempt record in %s belongs to eUICC %s", o->state_dir, R.a.eid);
        result->kind = RSP_LPA_DL_OTHER;
        rsp_buf_free(&bpp);
        return RSP_ESTATE;
    }
    if (R.a.state == RSP_LPA_ATT_VERIFYING) {
        /* installed by an earlier run; Stage 3 is the caller's */
        result->kind = RSP_LPA_DL_OK;
        result->expected = R.a.expected;
        memcpy(result->aid, R.a.aid, 16);
        snprintf(result->iccid, sizeof result->iccid, "%s", R.a.iccid);
        snprintf(result->message, sizeof result->message, "%s", "installed by an earlier run");
        if (final_attempt)
            *final_attempt = R.a;
        rsp_buf_free(&bpp);
        return 0;
    }
    dl_opts(&R);
    if (R.a.pending_cancel[0] && rsp_lpa_deliver_pending_cancel(c, o->state_dir) == 0) {
        event(&R, "cancel-delivered", 0, 0, json_pack("{s:s}", "transaction_id", R.a.cancel_tid));
        R.a.pending_cancel[0] = 0;
        R.a.cancel_tid[0] = 0;
    }
    save(&R, "start", 0);

    for (;;) {
        /* back-off left from an earlier run or the previous attempt */
        if (R.a.state == RSP_LPA_ATT_BACKOFF) {
            int64_t ms = (R.a.next_at - now_s()) * 1000;
            if (ms > 0) {
                if (o->no_wait) {
                    snprintf(result->message, sizeof result->message,
                             "backing off: next attempt in %lld s (%.180s)", (long long)(ms / 1000),
                             R.a.last_error);
                    result->kind = RSP_LPA_DL_NETWORK;
                    rc = RSP_EIO;
                    break;
                }
                do_sleep(&R, (unsigned)ms);
            }
        }
        char why[160];
        if (!budget_left(&R, why, sizeof why)) {
            if (!result->message[0])
                snprintf(result->message, sizeof result->message, "%s", why);
            else
                snprintf(result->message + strlen(result->message),
                         sizeof result->message - strlen(result->message), " (%s)", why);
            rc = give_up(&R, RSP_LPA_FAIL_TRANSIENT,
                         result->kind == RSP_LPA_DL_EUICC_IO
                             ? RSP_SGP22_CANCEL_LOAD_BPP_EXECUTION_ERROR
                             : RSP_SGP22_CANCEL_TIMEOUT,
                         RSP_EIO);
            break;
        }
        if (wait_conditions(&R) != 0) {
            rc = RSP_ESTATE;
            break;
        }
        R.a.attempts++;
        if (!R.a.first_at)
            R.a.first_at = now_s();
        event(&R, "attempt", R.a.attempts, 0, NULL);
        rc = one_attempt(&R, &bpp);
        if (result->tid.len)
            rsp_tid_to_hex(&result->tid, R.a.tid); /* the session a CancelSession would name */
        enum rsp_lpa_fail_class cls = rsp_lpa_classify(result);
        if (cls == RSP_LPA_FAIL_NONE) {
            R.a.has_bpp = false;
            R.a.failures = 0;
            R.a.last_class[0] = R.a.last_error[0] = 0;
            R.a.expected = result->expected;
            snprintf(R.a.iccid, sizeof R.a.iccid, "%s", result->iccid);
            memcpy(R.a.aid, result->aid, 16);
            go(&R, RSP_LPA_ATT_VERIFYING);
            save(&R, "installed", 0);
            char path[4096];
            snprintf(path, sizeof path, "%s/attempt.bpp", o->state_dir);
            remove(path);
            event(&R, "installed", 0, 0, json_pack("{s:s}", "iccid", result->iccid));
            rc = 0;
            break;
        }
        set_error(&R, cls);
        if (cls == RSP_LPA_FAIL_FINAL) {
            rc = give_up(&R, cls, -1, rc);
            break;
        }
        if (cls == RSP_LPA_FAIL_SESSION_LOST) {
            event(&R, "session-lost", 0, 0, json_pack("{s:s}", "error", result->message));
            R.a.has_bpp = false;
            go(&R, RSP_LPA_ATT_AUTHENTICATING);
            save(&R, "session-lost", 0);
            continue;
        }
        if (cls == RSP_LPA_FAIL_DEFERRED) {
            /* the session was cancelled (postponed); wait_conditions takes over */
            event(&R, "postponed", 0, 0, json_pack("{s:s}", "why", R.why));
            go(&R, RSP_LPA_ATT_DEFERRED);
            save(&R, "postponed", 0);
            continue;
        }
        if (cls == RSP_LPA_FAIL_EUICC_RESET) {
            event(&R, "euicc-reset", 0, 0, json_pack("{s:s}", "error", result->message));
            int orc = o->reopen ? o->reopen(o->reopen_ctx, s) : RSP_ESTATE;
            if (orc != 0) {
                snprintf(result->message + strlen(result->message),
                         sizeof result->message - strlen(result->message),
                         "; the eUICC could not be reopened (%s)", rsp_strerror(orc));
                rc = give_up(&R, RSP_LPA_FAIL_FINAL, -1, orc);
                break;
            }
        }
        /* transient (or eUICC reset): back off */
        R.a.failures++;
        if (!budget_left(&R, why, sizeof why))
            continue; /* the top of the loop gives up with the right reason */
        unsigned d = rsp_lpa_backoff_ms(&o->retry, R.a.failures, rnd32(&R));
        R.a.next_at = now_s() + (d + 999) / 1000;
        go(&R, RSP_LPA_ATT_BACKOFF);
        save(&R, "backoff", 0);
        event(&R, "backoff", d, R.a.failures,
              json_pack("{s:I, s:I, s:s, s:s}", "delay_ms", (json_int_t)d, "failures",
                        (json_int_t)R.a.failures, "class", rsp_lpa_fail_class_name(cls), "error",
                        result->message));
        if (o->no_wait) {
            rc = rc ? rc : RSP_EIO;
            break;
        }
        do_sleep(&R, d);
        R.a.next_at = 0;
    }
    if (final_attempt)
        *final_attempt = R.a;
    rsp_buf_free(&bpp);
    return rc;
}

int rsp_lpa_deliver_pending_cancel(struct rsp_es9p_client *c, const char *state_dir)
{
    if (!c || !state_dir)
        return RSP_EINVAL;
    struct rsp_lpa_attempt a;
    int rc = rsp_lpa_attempt_load(state_dir, &a, NULL, NULL, 0);
    if (rc == RSP_ENOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (!a.pending_cancel[0])
        return 0;
    struct rsp_es9_request rq;
    memset(&rq, 0, sizeof rq);
    rq.fn = RSP_ES9_CANCEL_SESSION;
    if (rsp_tid_from_hex(a.cancel_tid, &rq.u.cancel_session.transaction_id) != 0 ||
        rsp_hex_decode(&rq.u.cancel_session.cancel_session_response, a.pending_cancel,
                       strlen(a.pending_cancel)) != 0) {
        rsp_es9_request_free(&rq);
        a.pending_cancel[0] = a.cancel_tid[0] = 0; /* unusable: drop it */
        return rsp_lpa_attempt_save(state_dir, &a);
    }
    struct rsp_es9_response rs;
    struct rsp_es9p_outcome oc;
    rc = rsp_es9p_call(c, a.smdp, &rq, &rs, &oc);
    rsp_es9_request_free(&rq);
    rsp_es9_response_free(&rs);
    /* any answer of the SM-DP+ (even a refusal: it knows the session ended) settles it */
    if (rc == 0 || oc.kind == RSP_ES9P_REFUSED) {
        a.pending_cancel[0] = a.cancel_tid[0] = 0;
        return rsp_lpa_attempt_save(state_dir, &a);
    }
    return RSP_EIO;
}
