/* Token-bucket rate limiter keyed by short strings (a client address, a matchingId), for the
 * SM-DP+ (rsp-smdp: rate_limit_* settings, docs/man/rsp-smdp.8).
 *
 * Each key has a bucket of `burst` tokens refilled at `per_minute` tokens a minute; a request
 * takes one token or is refused with the seconds until the next token. Memory is bounded: the
 * table holds `capacity` buckets; a new key takes a free slot, or the least recently used one
 * when the table is full (an evicted key starts again with a full bucket, so the table should be
 * sized well above the number of keys active within burst/per_minute minutes). Thread-safe. */
#ifndef RSP_RATELIMIT_H
#define RSP_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>

#define RSP_RATELIMIT_KEY_MAX 64 /* longer keys are cut (still one bucket per distinct cut) */

struct rsp_ratelimit;

/* RSP_EINVAL when per_minute, burst or capacity is 0 or capacity > 1<<24; RSP_ENOMEM. */
int rsp_ratelimit_new(unsigned per_minute, unsigned burst, size_t capacity,
                      struct rsp_ratelimit **out);
void rsp_ratelimit_free(struct rsp_ratelimit *rl);
/* Takes one token of `key` at time `now` (seconds, any monotonic origin). true: allowed.
 * false: refused, *retry_after_s (may be NULL) gets the whole seconds until a token is back
 * (at least 1). A NULL limiter allows everything. */
bool rsp_ratelimit_take(struct rsp_ratelimit *rl, const char *key, double now,
                        unsigned *retry_after_s);

#endif
