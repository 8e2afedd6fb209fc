/* Token buckets in a fixed open-addressing table with LRU replacement (include/rsp/ratelimit.h). */
#include "rsp/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"

struct bucket {
    char key[RSP_RATELIMIT_KEY_MAX + 1];
    bool used;
    double tokens;
    double updated; /* time of the last refill */
};

struct rsp_ratelimit {
    pthread_mutex_t mu;
    double rate; /* tokens per second */
    double burst;
    size_t cap;
    struct bucket *b;
};

#define PROBES 8 /* slots looked at per key: the key's home slot and the 7 after it */

int rsp_ratelimit_new(unsigned per_minute, unsigned burst, size_t capacity,
                      struct rsp_ratelimit **out)
{
    if (!out)
        return RSP_EINVAL;
    *out = NULL;
    if (!per_minute || !burst || !capacity || capacity > (1u << 24))
        return RSP_EINVAL;
    struct rsp_ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return RSP_ENOMEM;
    rl->b = calloc(capacity, sizeof *rl->b);
    if (!rl->b) {
        free(rl);
        return RSP_ENOMEM;
    }
    pthread_mutex_init(&rl->mu, NULL);
    rl->rate = per_minute / 60.0;
    rl->burst = burst;
    rl->cap = capacity;
    *out = rl;
    return 0;
}

void rsp_ratelimit_free(struct rsp_ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl->b);
    free(rl);
}

static uint64_t hash(const char *k)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ull;
    return h;
}

bool rsp_ratelimit_take(struct rsp_ratelimit *rl, const char *key, double now,
                        unsigned *retry_after_s)
{
    if (retry_after_s)
        *retry_after_s = 0;
    if (!rl)
        return true;
    char k[RSP_RATELIMIT_KEY_MAX + 1];
    size_t n = key ? strnlen(key, RSP_RATELIMIT_KEY_MAX) : 0;
    memcpy(k, key ? key : "", n);
    k[n] = 0;
    pthread_mutex_lock(&rl->mu);
    size_t home = (size_t)(hash(k) % rl->cap), victim = home;
    struct bucket *b = NULL;
    for (size_t i = 0; i < PROBES && i < rl->cap; i++) {
        struct bucket *c = &rl->b[(home + i) % rl->cap];
        if (c->used && strcmp(c->key, k) == 0) {
            b = c;
            break;
        }
        /* the replacement candidate: a free slot, else the least recently refilled */
        struct bucket *v = &rl->b[victim];
        if (v->used && (!c->used || c->updated < v->updated))
            victim = (home + i) % rl->cap;
    }
    if (!b) {
        b = &rl->b[victim];
        memcpy(b->key, k, n + 1);
        b->used = true;
        b->tokens = rl->burst;
        b->updated = now;
    }
    if (now > b->updated) {
        b->tokens = fmin(rl->burst, b->tokens + (now - b->updated) * rl->rate);
        b->updated = now;
    }
    bool ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    else if (retry_after_s)
        *retry_after_s = (unsigned)ceil((1.0 - b->tokens) / rl->rate - 1e-6);
    if (retry_after_s && !ok && *retry_after_s == 0)
        *retry_after_s = 1;
    pthread_mutex_unlock(&rl->mu);
    return ok;
}
