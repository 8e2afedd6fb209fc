/* Delivery of the ES2+ outbox (HandleDownloadProgressInfo, SGP.22 §5.3.5; addendum §2.7) with
 * libcurl: at-least-once, durable (the store keeps every item until HTTP 204 or until it is parked
 * as failed after max_attempts), exponential back-off with jitter. */
#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rsp/crypto.h"
#include "rsp/err.h"
#include "rsp/es2p.h"

static const struct rsp_es2p_operator *op_for_url(const struct rsp_es2p_notify_config *cfg,
                                                  const char *url)
{
    for (size_t i = 0; i < cfg->n_ops; i++)
        if (strcmp(cfg->ops[i].callback_url, url) == 0)
            return &cfg->ops[i];
    return NULL;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

/* The HTTP status, or 0 when no answer came (connection refused, TLS failure, timeout). */
static long post(const struct rsp_es2p_notify_config *cfg, const struct rsp_outbox_item *it)
{
    CURL *c = curl_easy_init();
    if (!c)
        return 0;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h2 = h ? curl_slist_append(h, "X-Admin-Protocol: gsma/rsp/v2.2.0") : NULL;
    long status = 0;
    if (h2) {
        h = h2;
        const struct rsp_es2p_operator *op = op_for_url(cfg, it->url);
        curl_easy_setopt(c, CURLOPT_URL, it->url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, it->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(it->body));
        curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(cfg->timeout_s ? cfg->timeout_s : 10));
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        if (op && op->callback_ca[0])
            curl_easy_setopt(c, CURLOPT_CAINFO, op->callback_ca);
        if (curl_easy_perform(c) == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

static void log_line(const struct rsp_es2p_notify_config *cfg, const struct rsp_outbox_item *it,
                     const char *outcome, long http, int64_t next)
{
    if (!cfg->log)
        return;
    fprintf(cfg->log,
            "{\"ts\":%lld,\"event\":\"hdpi\",\"outbox_id\":%lld,\"attempt\":%u,\"http\":%ld,"
            "\"outcome\":\"%s\",\"next_attempt_at\":%lld}\n",
            (long long)time(NULL), (long long)it->id, it->attempts + 1, http, outcome,
            (long long)next);
    fflush(cfg->log);
}

static int64_t backoff(const struct rsp_es2p_notify_config *cfg, unsigned attempts)
{
    uint64_t base = cfg->base_delay_s ? cfg->base_delay_s : 5;
    uint64_t cap = cfg->max_delay_s ? cfg->max_delay_s : 3600;
    uint64_t d = base;
    for (unsigned i = 0; i < attempts && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    uint32_t r = 0;
    if (rsp_random(&r, sizeof r) == 0 && d / 2)
        d += r % (d / 2 + 1); /* jitter: up to 50% more */
    return (int64_t)d;
}

/* Final delivery outcomes are audited (not each retry): delivered, or parked as failed. */
static int audit_delivery(struct rsp_store *st, const struct rsp_outbox_item *it, bool delivered,
                          long http)
{
    char reason[160];
    snprintf(reason, sizeof reason,
             "HandleDownloadProgressInfo %s after %u attempt(s), last HTTP status %ld, outbox "
             "item %lld",
             delivered ? "delivered" : "parked as failed", it->attempts + 1, http,
             (long long)it->id);
    struct rsp_audit_entry e;
    rsp_audit_entry_set(&e, "es2p-notify", it->iccid, "", delivered ? "Delivered" : "Failed",
                        "es2p-notify", "", reason);
    return rsp_store_audit_append(st, &e);
}

int rsp_es2p_notify_run(struct rsp_store *st, const struct rsp_es2p_notify_config *cfg, int64_t now,
                        unsigned *delivered, unsigned *failed)
{
    if (!st || !cfg)
        return RSP_EINVAL;
    unsigned ok = 0, ko = 0, max = cfg->max_attempts ? cfg->max_attempts : 10;
    int rc = 0;
    for (;;) {
        struct rsp_outbox_item it;
        rc = rsp_store_outbox_next_due(st, now, &it);
        if (rc == RSP_ENOTFOUND) {
            rc = 0;
            break;
        }
        if (rc)
            break;
        long http = post(cfg, &it);
        /* branch ops: an item for a URL that is no operator's callback (the activation
         * integrity webhook, rsp/act.h) is delivered by any 2xx */
        bool webhook = !op_for_url(cfg, it.url);
        if (http == 204 || (webhook && http >= 200 && http < 300)) {
            rc = rsp_store_outbox_done(st, it.id);
            if (rc == 0)
                rc = audit_delivery(st, &it, true, http);
            log_line(cfg, &it, "delivered", http, 0);
            ok++;
        } else if (it.attempts + 1 >= max) {
            rc = rsp_store_outbox_retry(st, it.id, RSP_ES2P_OUTBOX_FAILED);
            if (rc == 0)
                rc = audit_delivery(st, &it, false, http);
            log_line(cfg, &it, "failed", http, RSP_ES2P_OUTBOX_FAILED);
            ko++;
        } else {
            int64_t next = now + backoff(cfg, it.attempts);
            rc = rsp_store_outbox_retry(st, it.id, next);
            log_line(cfg, &it, "retry", http, next);
        }
        if (rc)
            break;
    }
    if (delivered)
        *delivered = ok;
    if (failed)
        *failed = ko;
    return rc;
}

struct rsp_es2p_notifier {
    struct rsp_es2p_notify_config cfg;
    struct rsp_store *st;
    unsigned poll_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

static void *worker(void *arg)
{
    struct rsp_es2p_notifier *n = arg;
    pthread_mutex_lock(&n->mu);
    while (!n->stop) {
        pthread_mutex_unlock(&n->mu);
        int rc = rsp_es2p_notify_run(n->st, &n->cfg, (int64_t)time(NULL), NULL, NULL);
        if (rc && n->cfg.log) {
            fprintf(n->cfg.log, "{\"ts\":%lld,\"event\":\"hdpi\",\"error\":\"%s\"}\n",
                    (long long)time(NULL), rsp_strerror(rc));
            fflush(n->cfg.log);
        }
        pthread_mutex_lock(&n->mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += n->poll_ms / 1000;
        ts.tv_nsec += (long)(n->poll_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!n->stop && pthread_cond_timedwait(&n->cv, &n->mu, &ts) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

int rsp_es2p_notifier_start(const struct rsp_es2p_notify_config *cfg, rsp_store_open_fn open,
                            void *arg, unsigned poll_ms, struct rsp_es2p_notifier **out)
{
    if (!cfg || !open || !out)
        return RSP_EINVAL;
    *out = NULL;
    struct rsp_es2p_notifier *n = calloc(1, sizeof *n);
    if (!n)
        return RSP_ENOMEM;
    n->cfg = *cfg;
    n->poll_ms = poll_ms ? poll_ms : 1000;
    int rc = open(arg, &n->st);
    if (rc) {
        free(n);
        return rc;
    }
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, NULL);
    if (pthread_create(&n->thread, NULL, worker, n) != 0) {
        pthread_cond_destroy(&n->cv);
        pthread_mutex_destroy(&n->mu);
        rsp_store_close(n->st);
        free(n);
        return RSP_EIO;
    }
    *out = n;
    return 0;
}

void rsp_es2p_notifier_stop(struct rsp_es2p_notifier *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    n->stop = true;
    pthread_cond_signal(&n->cv);
    pthread_mutex_unlock(&n->mu);
    pthread_join(n->thread, NULL);
    pthread_cond_destroy(&n->cv);
    pthread_mutex_destroy(&n->mu);
    rsp_store_close(n->st);
    free(n);
}
