/* rsp-impair: a user-space TCP impairment proxy for tests (the kernel of the dev machine has no
 * netem). It accepts TCP connections, connects each one to an upstream and forwards the bytes
 * untouched (TLS passes through) while applying, per direction and per connection: latency and
 * jitter, a bandwidth cap, stalls, a reset after N bytes, drops of a fraction of connections at
 * a random byte offset, and refusal or black-holing of the first K connections. A control file
 * switches the network down / black-holed / up and changes parameters while it runs.
 *
 * Directions: c2s (client -> upstream) and s2c (upstream -> client). Parameters are key=value
 * pairs, the same on the command line (rsp-impair --set KEY=VALUE) and in the control file:
 *
 *   per direction (KEY sets both directions, c2s.KEY or s2c.KEY only one):
 *     latency=MS  jitter=MS  jitter_dist=uniform|normal  rate=BYTES_PER_S (0: no cap)
 *     stall_prob=P (per chunk read)  stall_every=BYTES  stall_ms=MS  reset_after=BYTES (0: never)
 *   per connection:
 *     drop_fraction=F  drop_range=MIN-MAX (or drop_min=, drop_max=)  drop_dir=c2s|s2c|both
 *     drop_mode=reset|close|hang
 *   proxy:
 *     refuse_first=K  drop_first=K  network=up|down|blackhole  tag=TEXT (echoed in the log)
 *
 * Cut points are exact: "reset after N bytes" and "dropped at byte N" mean the receiver gets
 * exactly N bytes of that direction and never byte N+1 (the cut happens when byte N+1 would be
 * forwarded; a stream that ends at N is not cut). Before a reset the proxy waits until the
 * delivered bytes have been acknowledged, so the RST cannot destroy them.
 *
 * Reproducibility: every random draw comes from a generator seeded with (seed, connection
 * index, stream), so the per-connection decisions (dropped or not, at which byte, in which
 * direction) depend only on the seed and the accept order, never on timing.
 *
 * The proxy is single-threaded (poll() with timers). Memory is bounded: each connection has a
 * buffer of `buffer` bytes per direction; when it is full the proxy stops reading that side
 * (TCP backpressure), and at most `max_conns` connections are open (further ones wait in the
 * listen backlog).
 */
#ifndef RSP_IMPAIR_H
#define RSP_IMPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum rsp_impair_dir {
    RSP_IMPAIR_C2S = 0, /* client -> upstream */
    RSP_IMPAIR_S2C = 1, /* upstream -> client */
};

enum rsp_impair_jitter_dist {
    RSP_IMPAIR_JITTER_UNIFORM = 0, /* delay uniform in [latency - jitter, latency + jitter] */
    RSP_IMPAIR_JITTER_NORMAL,      /* latency + N(0, jitter), cut to latency +- 3 jitter */
};

enum rsp_impair_network {
    RSP_IMPAIR_NET_UP = 0,
    RSP_IMPAIR_NET_DOWN,      /* listener closed (connection refused), every connection reset */
    RSP_IMPAIR_NET_BLACKHOLE, /* nothing forwarded; new connections accepted and held silent */
};

enum rsp_impair_drop_mode {
    RSP_IMPAIR_DROP_RESET = 0, /* RST to both sides */
    RSP_IMPAIR_DROP_CLOSE,     /* FIN to both sides (a clean but early end of stream) */
    RSP_IMPAIR_DROP_HANG,      /* nothing more forwarded; both sides held until they close */
};

enum rsp_impair_drop_dir {
    RSP_IMPAIR_DROP_DIR_C2S = 0,
    RSP_IMPAIR_DROP_DIR_S2C,
    RSP_IMPAIR_DROP_DIR_BOTH, /* each dropped connection: c2s or s2c with equal probability */
};

/* Upper bounds of the parser (anything larger is RSP_ERANGE). */
#define RSP_IMPAIR_MAX_MS      3600000u         /* latency, jitter, stall_ms: one hour */
#define RSP_IMPAIR_MAX_BYTES   (1ull << 50)     /* byte offsets and counts */
#define RSP_IMPAIR_MAX_RATE    1000000000000ull /* bytes per second */
#define RSP_IMPAIR_MAX_FIRST   1000000000u      /* refuse_first, drop_first */
#define RSP_IMPAIR_TAG_MAX     64               /* tag, including the terminating NUL */
#define RSP_IMPAIR_CONTROL_MAX (64u * 1024u)    /* control file size */

struct rsp_impair_dir_params {
    uint32_t latency_ms;
    uint32_t jitter_ms;
    enum rsp_impair_jitter_dist jitter_dist;
    uint64_t rate;        /* bytes per second; 0: no cap */
    double stall_prob;    /* probability that a chunk read stalls the direction */
    uint64_t stall_every; /* stall after every this many bytes forwarded; 0: off */
    uint32_t stall_ms;    /* length of a stall */
    uint64_t reset_after; /* RST once this many bytes were forwarded; 0: never */
};

struct rsp_impair_params {
    struct rsp_impair_dir_params dir[2]; /* [RSP_IMPAIR_C2S], [RSP_IMPAIR_S2C] */
    double drop_fraction;                /* of connections, in [0, 1] */
    uint64_t drop_min, drop_max;         /* byte offset range of a drop (inclusive) */
    enum rsp_impair_drop_dir drop_dir;
    enum rsp_impair_drop_mode drop_mode;
    uint32_t refuse_first; /* the next K connections: accepted, then reset at once */
    uint32_t drop_first;   /* the next K connections: accepted, then held silent */
    enum rsp_impair_network network;
    char tag[RSP_IMPAIR_TAG_MAX];
};

/* No impairment, network up, drop range 1-65536, drop_dir both, drop_mode reset. */
void rsp_impair_params_default(struct rsp_impair_params *p);
/* Sets one parameter. On an unknown key or a bad value: RSP_EINVAL / RSP_ESYNTAX / RSP_ERANGE,
 * a message in err, and *p unchanged. */
int rsp_impair_params_set(struct rsp_impair_params *p, const char *key, const char *value,
                          char *err, size_t errlen);
/* "KEY=VALUE" form of rsp_impair_params_set. */
int rsp_impair_params_set_kv(struct rsp_impair_params *p, const char *kv, char *err, size_t errlen);
/* Consistency checks between keys (drop_min <= drop_max, drop_min >= 1 when dropping). */
int rsp_impair_params_check(const struct rsp_impair_params *p, char *err, size_t errlen);
/* Applies a control file: KEY=VALUE lines, blank lines and '#' comments, spaces around KEY and
 * VALUE ignored, at most RSP_IMPAIR_CONTROL_MAX bytes and 512 bytes per line. All or nothing:
 * on any error *p is unchanged and err names the line. */
int rsp_impair_params_parse(struct rsp_impair_params *p, const char *text, size_t len, char *err,
                            size_t errlen);
/* Names of the enumerations (for logs). */
const char *rsp_impair_network_name(enum rsp_impair_network n);
const char *rsp_impair_dir_name(enum rsp_impair_dir d);
const char *rsp_impair_drop_mode_name(enum rsp_impair_drop_mode m);

/* "HOST:PORT" or "[IPv6]:PORT" -> host (without brackets) and port (0-65535). */
int rsp_impair_split_hostport(const char *s, char *host, size_t hostlen, uint16_t *port);

/* ---- deterministic draws (xoshiro256** seeded through splitmix64) ---- */

struct rsp_impair_rng {
    uint64_t s[4];
};

/* A generator for (seed, stream): different streams are independent sequences. */
void rsp_impair_rng_init(struct rsp_impair_rng *r, uint64_t seed, uint64_t stream);
uint64_t rsp_impair_rng_u64(struct rsp_impair_rng *r);
/* Uniform in [0, 1). */
double rsp_impair_rng_unit(struct rsp_impair_rng *r);
/* Uniform in [lo, hi] (lo <= hi). */
uint64_t rsp_impair_rng_range(struct rsp_impair_rng *r, uint64_t lo, uint64_t hi);
/* One delay draw for a chunk of direction d: latency plus jitter per d's distribution,
 * never below 0. */
uint32_t rsp_impair_delay_ms(const struct rsp_impair_dir_params *d, struct rsp_impair_rng *r);

/* What happens to connection number `index` (1 = the first accepted) under p and seed. */
struct rsp_impair_plan {
    bool drop;                   /* dropped mid-transfer */
    enum rsp_impair_dir drop_in; /* the direction whose byte count decides */
    uint64_t drop_at;            /* the receiver gets exactly this many bytes of drop_in */
};
void rsp_impair_plan_conn(const struct rsp_impair_params *p, uint64_t seed, uint64_t index,
                          struct rsp_impair_plan *out);

/* ---- the proxy ---- */

struct rsp_impair_config {
    const char *listen;              /* "ADDR:PORT", numeric address; port 0: any free port */
    const char *upstream;            /* "HOST:PORT", resolved once by rsp_impair_new */
    struct rsp_impair_params params; /* base parameters (the control file is laid over them) */
    uint64_t seed;
    const char *control_file;    /* NULL: none */
    FILE *log;                   /* JSON lines, flushed per line; NULL: none */
    size_t buffer;               /* bytes per direction and connection; 0: 65536 */
    unsigned max_conns;          /* 0: 1024 */
    unsigned connect_timeout_ms; /* upstream connect; 0: 10000 */
    unsigned flush_timeout_ms;   /* wait for acknowledgement before a cut; 0: 2000 */
};

struct rsp_impair_stats {
    uint64_t accepted;        /* connections accepted (including refused and held ones) */
    uint64_t refused;         /* reset at once (refuse_first) */
    uint64_t held;            /* held silent (drop_first, network blackhole, drop_mode hang) */
    uint64_t upstream_failed; /* the upstream could not be reached */
    uint64_t resets;          /* cut by reset_after */
    uint64_t drops;           /* cut by a drop */
    uint64_t network_resets;  /* reset by network=down */
    uint64_t stalls;
    uint64_t closed; /* connections finished (any way) */
    uint64_t bytes[2];
    unsigned open, max_open;
    uint64_t control_loads, control_errors;
};

struct rsp_impair;

/* Resolves the upstream, binds and listens (so the port is known and connections queue when
 * this returns). Errors: RSP_EINVAL (config), RSP_ESYNTAX (address), RSP_EIO (resolve, bind,
 * listen) with a message in err; RSP_ENOMEM. */
int rsp_impair_new(const struct rsp_impair_config *cfg, struct rsp_impair **out, char *err,
                   size_t errlen);
/* The bound port. */
uint16_t rsp_impair_port(const struct rsp_impair *p);
/* Runs the proxy until rsp_impair_request_stop; logs a "summary" event at the end. 0, or
 * RSP_EIO when poll() fails. */
int rsp_impair_run(struct rsp_impair *p);
/* Async-signal-safe: make rsp_impair_run return / re-read the control file now. */
void rsp_impair_request_stop(struct rsp_impair *p);
void rsp_impair_request_reload(struct rsp_impair *p);
void rsp_impair_get_stats(const struct rsp_impair *p, struct rsp_impair_stats *out);
/* Closes every connection and frees. NULL is a no-op. */
void rsp_impair_free(struct rsp_impair *p);

#endif
