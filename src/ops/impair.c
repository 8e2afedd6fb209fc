/* rsp-impair: the proxy (include/rsp/impair.h). One thread, one poll() loop with timers.
 *
 * A connection is a slot of a fixed pool (max_conns), found by index, with an explicit state
 * (enum conn_state; transitions only through conn_goto):
 *
 *   FREE -> CONNECTING   accepted; upstream connect in progress (client bytes are buffered)
 *   FREE -> HANGING      accepted and held silent (drop_first, network blackhole)
 *   CONNECTING -> OPEN   upstream connected: forwarding
 *   OPEN -> FLUSHING     a cut (reset_after, drop): nothing more is forwarded; the bytes already
 *                        written wait for their acknowledgement, then RST (or FIN)
 *   OPEN|CONNECTING -> HANGING   drop_mode hang, network blackhole
 *   any -> FREE          closed (end of both streams, error, cut done, network down, stop)
 *
 * Each direction of a connection (struct flow) is a bounded ring buffer plus a queue of chunk
 * records (one per read: length, release time, stall flag). Bytes are read only while both have
 * room, so a slow receiver slows the sender down through TCP. A chunk may leave when its release
 * time (read time + latency + jitter, never before the previous chunk) has come, no stall is
 * running and the rate limiter (token bucket, 20 ms of burst) has tokens; writes never cross a
 * cut point or a stall_every boundary.
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rsp/err.h"
#include "rsp/impair.h"

#define CHUNKS          256     /* chunk records per direction */
#define READ_MAX        16384   /* bytes per read */
#define ACCEPT_BATCH    64      /* accepts per loop turn */
#define CONTROL_POLL_US 100000  /* control file stat() period */
#define FLUSH_POLL_US   5000    /* acknowledgement check period while flushing */
#define IDLE_US         1000000 /* longest poll() sleep */
#define NO_CUT          UINT64_MAX

enum side { CLIENT = 0, UPSTREAM = 1 }; /* direction d reads side d and writes side 1 - d */

enum conn_state { CONN_FREE, CONN_CONNECTING, CONN_OPEN, CONN_FLUSHING, CONN_HANGING };

enum cut_kind { CUT_NONE, CUT_RESET_AFTER, CUT_DROP };

struct chunk {
    uint32_t len; /* bytes of this chunk still to forward */
    bool stall;   /* stall the direction when this chunk reaches the head */
    int64_t release_us;
};

struct flow {
    uint8_t *buf;
    size_t cap, head, len;
    struct chunk ch[CHUNKS];
    unsigned ch_head, ch_n;
    int64_t last_release_us;
    bool eof_in, eof_out, want_write;
    int64_t eof_release_us;
    uint64_t forwarded;
    int64_t stall_until_us;
    uint64_t stall_every_used, next_stall_at;
    double tokens;
    int64_t tokens_us;
    uint64_t cut_at;
    enum cut_kind cut_kind;
    struct rsp_impair_rng rng;
};

struct conn {
    enum conn_state state;
    uint64_t id;
    int fd[2];
    int pi[2]; /* index in the pollfd array of this loop turn, -1 none */
    struct flow f[2];
    uint8_t *mem;
    int64_t start_us;
    int64_t deadline_us; /* CONNECTING: connect timeout; FLUSHING: acknowledgement timeout */
    int64_t flush_check_us;
    bool finish_rst; /* FLUSHING ends with RST (else FIN) */
    enum cut_kind cut;
    enum rsp_impair_dir cut_dir;
    char peer[64];
};

struct rsp_impair {
    struct rsp_impair_params base, cur;
    uint64_t seed;
    FILE *log;
    size_t bufsz;
    unsigned max_conns, connect_timeout_ms, flush_timeout_ms;
    char listen_str[300], upstream_str[300];
    struct sockaddr_storage laddr, uaddr;
    socklen_t laddr_len, uaddr_len;
    uint16_t port;
    int lfd;
    int wake[2];
    volatile sig_atomic_t stop, reload;
    struct conn *conns;
    unsigned hi; /* slots [hi, max_conns) are all FREE: loops stop at hi */
    struct pollfd *pfds;
    uint64_t next_id;
    uint32_t refuse_left, drop_left;
    struct rsp_impair_stats st;
    int64_t accept_pause_us, listen_retry_us;
    /* control file */
    char *control;
    bool ctl_present;
    struct stat ctl_st;
    int64_t ctl_next_us;
    unsigned ctl_gen;
};

/* ---- time and logging ---- */

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static json_int_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One JSON line: {"t_ms":...,"event":NAME, <fields packed from fmt>}. */
static void log_ev(struct rsp_impair *p, const char *name, const char *fmt, ...)
{
    if (!p->log)
        return;
    json_t *o = json_object();
    if (!o)
        return;
    json_object_set_new(o, "t_ms", json_integer(real_ms()));
    json_object_set_new(o, "event", json_string(name));
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        json_t *more = json_vpack_ex(NULL, 0, fmt, ap);
        va_end(ap);
        if (more) {
            json_object_update(o, more);
            json_decref(more);
        }
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (s) {
        fprintf(p->log, "%s\n", s);
        fflush(p->log);
        free(s);
    }
}

static json_t *dir_json(const struct rsp_impair_dir_params *d)
{
    return json_pack("{s:i,s:i,s:s,s:I,s:f,s:I,s:i,s:I}", "latency", (int)d->latency_ms, "jitter",
                     (int)d->jitter_ms, "jitter_dist",
                     d->jitter_dist == RSP_IMPAIR_JITTER_NORMAL ? "normal" : "uniform", "rate",
                     (json_int_t)d->rate, "stall_prob", d->stall_prob, "stall_every",
                     (json_int_t)d->stall_every, "stall_ms", (int)d->stall_ms, "reset_after",
                     (json_int_t)d->reset_after);
}

static json_t *params_json(const struct rsp_impair_params *q)
{
    static const char *const ddir[] = {"c2s", "s2c", "both"};
    return json_pack("{s:o,s:o,s:f,s:I,s:I,s:s,s:s,s:i,s:i,s:s,s:s}", "c2s",
                     dir_json(&q->dir[RSP_IMPAIR_C2S]), "s2c", dir_json(&q->dir[RSP_IMPAIR_S2C]),
                     "drop_fraction", q->drop_fraction, "drop_min", (json_int_t)q->drop_min,
                     "drop_max", (json_int_t)q->drop_max, "drop_dir", ddir[q->drop_dir],
                     "drop_mode", rsp_impair_drop_mode_name(q->drop_mode), "refuse_first",
                     (int)q->refuse_first, "drop_first", (int)q->drop_first, "network",
                     rsp_impair_network_name(q->network), "tag", q->tag);
}

/* ---- sockets ---- */

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void close_rst(int fd)
{
    if (fd < 0)
        return;
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

static void addr_str(const struct sockaddr *sa, char *out, size_t n)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)sa;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
        snprintf(out, n, "%s:%u", host, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)sa;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs(a->sin6_port);
        snprintf(out, n, "[%s]:%u", host, port);
    } else {
        snprintf(out, n, "?");
    }
}

static int open_listener(struct rsp_impair *p, char *err, size_t errlen)
{
    int fd = socket(p->laddr.ss_family, SOCK_STREAM, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return RSP_EIO;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&p->laddr, p->laddr_len) != 0 || listen(fd, 511) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", p->listen_str, strerror(errno));
        close(fd);
        return RSP_EIO;
    }
    set_nonblock(fd);
    /* remember the bound port: a listener re-opened after network=down takes the same one */
    socklen_t len = sizeof p->laddr;
    getsockname(fd, (struct sockaddr *)&p->laddr, &len);
    p->laddr_len = len;
    p->port = ntohs(p->laddr.ss_family == AF_INET ? ((struct sockaddr_in *)&p->laddr)->sin_port
                                                  : ((struct sockaddr_in6 *)&p->laddr)->sin6_port);
    p->lfd = fd;
    return 0;
}

/* ---- connection state machine ---- */

static const bool conn_allowed[5][5] = {
    [CONN_FREE] = {[CONN_CONNECTING] = true, [CONN_HANGING] = true},
    [CONN_CONNECTING] = {[CONN_FREE] = true, [CONN_OPEN] = true, [CONN_HANGING] = true},
    [CONN_OPEN] = {[CONN_FREE] = true, [CONN_FLUSHING] = true, [CONN_HANGING] = true},
    [CONN_FLUSHING] = {[CONN_FREE] = true},
    [CONN_HANGING] = {[CONN_FREE] = true},
};

static void conn_goto(struct conn *c, enum conn_state s)
{
    assert(conn_allowed[c->state][s]);
    c->state = s;
}

static json_int_t dur_ms(const struct conn *c)
{
    return (json_int_t)((mono_us() - c->start_us) / 1000);
}

/* Ends a connection: RST (rst) or a plain close of both sides, one "closed" event. */
static void conn_end(struct rsp_impair *p, struct conn *c, const char *reason, bool rst,
                     const char *error)
{
    for (int s = 0; s < 2; s++) {
        if (rst)
            close_rst(c->fd[s]);
        else if (c->fd[s] >= 0)
            close(c->fd[s]);
        c->fd[s] = -1;
    }
    if (error)
        log_ev(p, "closed", "{s:I,s:s,s:s,s:I,s:I,s:I}", "conn", (json_int_t)c->id, "reason",
               reason, "error", error, "c2s", (json_int_t)c->f[RSP_IMPAIR_C2S].forwarded, "s2c",
               (json_int_t)c->f[RSP_IMPAIR_S2C].forwarded, "duration_ms", dur_ms(c));
    else
        log_ev(p, "closed", "{s:I,s:s,s:I,s:I,s:I}", "conn", (json_int_t)c->id, "reason", reason,
               "c2s", (json_int_t)c->f[RSP_IMPAIR_C2S].forwarded, "s2c",
               (json_int_t)c->f[RSP_IMPAIR_S2C].forwarded, "duration_ms", dur_ms(c));
    free(c->mem);
    c->mem = NULL;
    conn_goto(c, CONN_FREE);
    p->st.closed++;
    p->st.open--;
    while (p->hi > 0 && p->conns[p->hi - 1].state == CONN_FREE)
        p->hi--;
}

static void conn_hang(struct rsp_impair *p, struct conn *c, const char *reason)
{
    conn_goto(c, CONN_HANGING);
    p->st.held++;
    log_ev(p, "hold", "{s:I,s:s}", "conn", (json_int_t)c->id, "reason", reason);
}

static void upstream_failed(struct rsp_impair *p, struct conn *c, const char *why)
{
    p->st.upstream_failed++;
    log_ev(p, "upstream_failed", "{s:I,s:s}", "conn", (json_int_t)c->id, "error", why);
    conn_end(p, c, "upstream_failed", true, why);
}

/* The cut of direction d at its current byte count. */
static void conn_cut(struct rsp_impair *p, struct conn *c, enum rsp_impair_dir d, int64_t now)
{
    struct flow *f = &c->f[d];
    c->cut = f->cut_kind;
    c->cut_dir = d;
    if (f->cut_kind == CUT_RESET_AFTER) {
        p->st.resets++;
        log_ev(p, "reset", "{s:I,s:s,s:I}", "conn", (json_int_t)c->id, "dir",
               rsp_impair_dir_name(d), "at", (json_int_t)f->forwarded);
        c->finish_rst = true;
    } else {
        p->st.drops++;
        enum rsp_impair_drop_mode m = p->cur.drop_mode;
        log_ev(p, "drop", "{s:I,s:s,s:I,s:s}", "conn", (json_int_t)c->id, "dir",
               rsp_impair_dir_name(d), "at", (json_int_t)f->forwarded, "mode",
               rsp_impair_drop_mode_name(m));
        if (m == RSP_IMPAIR_DROP_HANG) {
            conn_hang(p, c, "drop");
            return;
        }
        c->finish_rst = m == RSP_IMPAIR_DROP_RESET;
    }
    conn_goto(c, CONN_FLUSHING);
    c->deadline_us = now + (int64_t)p->flush_timeout_ms * 1000;
    c->flush_check_us = now;
}

static bool outq_empty(int fd)
{
    int q = 0;
    if (fd < 0 || ioctl(fd, SIOCOUTQ, &q) != 0)
        return true;
    return q == 0;
}

/* FLUSHING: once both send queues are acknowledged (or the timeout passed), RST or FIN. */
static void conn_flush(struct rsp_impair *p, struct conn *c, int64_t now, int64_t *next)
{
    if (now < c->flush_check_us) {
        if (c->flush_check_us < *next)
            *next = c->flush_check_us;
        return;
    }
    bool acked = outq_empty(c->fd[0]) && outq_empty(c->fd[1]);
    if (!acked && now < c->deadline_us) {
        c->flush_check_us = now + FLUSH_POLL_US;
        if (c->flush_check_us < *next)
            *next = c->flush_check_us;
        return;
    }
    const char *reason = c->cut == CUT_RESET_AFTER ? "reset_after" : "drop";
    if (c->finish_rst) {
        conn_end(p, c, reason, true, acked ? NULL : "not acknowledged before the reset");
        return;
    }
    /* FIN: read what is pending first, else close() would send a RST instead */
    uint8_t sink[4096];
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < 256 && recv(c->fd[s], sink, sizeof sink, MSG_DONTWAIT) > 0; i++)
            ;
        shutdown(c->fd[s], SHUT_WR);
    }
    conn_end(p, c, reason, false, acked ? NULL : "not acknowledged before the close");
}

/* ---- one direction ---- */

static void flow_init(struct flow *f, uint8_t *buf, size_t cap, uint64_t seed, uint64_t stream)
{
    memset(f, 0, sizeof *f);
    f->buf = buf;
    f->cap = cap;
    f->cut_at = NO_CUT;
    rsp_impair_rng_init(&f->rng, seed, stream);
}

static bool flow_can_read(const struct flow *f)
{
    return !f->eof_in && f->len < f->cap && f->ch_n < CHUNKS;
}

/* Reads once from side d into flow d. Returns false when the connection was ended. */
static bool flow_read(struct rsp_impair *p, struct conn *c, enum rsp_impair_dir d, int64_t now)
{
    struct flow *f = &c->f[d];
    if (!flow_can_read(f))
        return true;
    if (f->len == 0)
        f->head = 0;
    size_t tail = (f->head + f->len) % f->cap;
    size_t room = tail >= f->head ? f->cap - tail : f->head - tail;
    if (room > READ_MAX)
        room = READ_MAX;
    ssize_t r = recv(c->fd[d], f->buf + tail, room, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return true;
    if (r < 0) {
        conn_end(p, c, d == RSP_IMPAIR_C2S ? "client_error" : "upstream_error", true,
                 strerror(errno));
        return false;
    }
    const struct rsp_impair_dir_params *dp = &p->cur.dir[d];
    int64_t rel = now + (int64_t)rsp_impair_delay_ms(dp, &f->rng) * 1000;
    if (rel < f->last_release_us)
        rel = f->last_release_us; /* a stream keeps its order */
    f->last_release_us = rel;
    if (r == 0) {
        f->eof_in = true;
        f->eof_release_us = rel;
        return true;
    }
    struct chunk *ch = &f->ch[(f->ch_head + f->ch_n) % CHUNKS];
    ch->len = (uint32_t)r;
    ch->release_us = rel;
    ch->stall = dp->stall_prob > 0 && rsp_impair_rng_unit(&f->rng) < dp->stall_prob;
    f->ch_n++;
    f->len += (size_t)r;
    return true;
}

static void set_next(int64_t *next, int64_t t)
{
    if (t < *next)
        *next = t;
}

static void stall(struct rsp_impair *p, struct conn *c, enum rsp_impair_dir d, int64_t now,
                  const char *why)
{
    struct flow *f = &c->f[d];
    uint32_t ms = p->cur.dir[d].stall_ms;
    f->stall_until_us = now + (int64_t)ms * 1000;
    p->st.stalls++;
    log_ev(p, "stall", "{s:I,s:s,s:I,s:i,s:s}", "conn", (json_int_t)c->id, "dir",
           rsp_impair_dir_name(d), "at", (json_int_t)f->forwarded, "ms", (int)ms, "why", why);
}

/* Forwards what direction d may send now. Returns false when the connection left OPEN. */
static bool flow_pump(struct rsp_impair *p, struct conn *c, enum rsp_impair_dir d, int64_t now,
                      int64_t *next)
{
    struct flow *f = &c->f[d];
    const struct rsp_impair_dir_params *dp = &p->cur.dir[d];
    int dst = c->fd[1 - d];
    for (;;) {
        if (f->ch_n == 0) {
            if (f->eof_in && !f->eof_out) {
                int64_t t =
                    f->eof_release_us > f->stall_until_us ? f->eof_release_us : f->stall_until_us;
                if (now >= t) {
                    shutdown(dst, SHUT_WR);
                    f->eof_out = true;
                } else {
                    set_next(next, t);
                }
            }
            return true;
        }
        struct chunk *ch = &f->ch[f->ch_head];
        if (now < ch->release_us) {
            set_next(next, ch->release_us);
            return true;
        }
        if (ch->stall) {
            ch->stall = false;
            stall(p, c, d, now, "stall_prob");
        }
        if (now < f->stall_until_us) {
            set_next(next, f->stall_until_us);
            return true;
        }
        if (f->forwarded == f->cut_at) {
            conn_cut(p, c, d, now);
            return false;
        }
        uint64_t allowed = ch->len;
        if (f->cut_at != NO_CUT && f->cut_at - f->forwarded < allowed)
            allowed = f->cut_at - f->forwarded;
        if (dp->stall_every != f->stall_every_used) {
            f->stall_every_used = dp->stall_every;
            f->next_stall_at =
                dp->stall_every ? (f->forwarded / dp->stall_every + 1) * dp->stall_every : 0;
        }
        if (dp->stall_every) {
            if (f->forwarded == f->next_stall_at) {
                f->next_stall_at += dp->stall_every;
                stall(p, c, d, now, "stall_every");
                continue;
            }
            if (f->next_stall_at - f->forwarded < allowed)
                allowed = f->next_stall_at - f->forwarded;
        }
        if (dp->rate) {
            double burst = (double)dp->rate / 50.0; /* 20 ms */
            if (burst < 1)
                burst = 1;
            f->tokens += (double)(now - f->tokens_us) * (double)dp->rate / 1e6;
            f->tokens_us = now;
            if (f->tokens > burst)
                f->tokens = burst;
            double need = (double)allowed < burst ? (double)allowed : burst;
            if (f->tokens < need) {
                set_next(next, now + 1 + (int64_t)((need - f->tokens) * 1e6 / (double)dp->rate));
                return true;
            }
            if ((double)allowed > f->tokens)
                allowed = (uint64_t)f->tokens;
        }
        if (f->want_write)
            return true; /* waits for POLLOUT */
        size_t contig = f->cap - f->head;
        if (contig > f->len)
            contig = f->len;
        if (allowed > contig)
            allowed = contig;
        ssize_t w = send(dst, f->buf + f->head, (size_t)allowed, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                f->want_write = true;
                return true;
            }
            conn_end(p, c, d == RSP_IMPAIR_C2S ? "upstream_error" : "client_error", true,
                     strerror(errno));
            return false;
        }
        size_t n = (size_t)w;
        f->head = (f->head + n) % f->cap;
        f->len -= n;
        f->forwarded += n;
        p->st.bytes[d] += n;
        if (dp->rate)
            f->tokens -= (double)n;
        ch->len -= (uint32_t)n;
        if (ch->len == 0) {
            f->ch_head = (f->ch_head + 1) % CHUNKS;
            f->ch_n--;
        }
    }
}

/* Timers and writes of one connection. */
static void conn_service(struct rsp_impair *p, struct conn *c, int64_t now, int64_t *next)
{
    switch (c->state) {
    case CONN_CONNECTING:
        if (now >= c->deadline_us)
            upstream_failed(p, c, "connect timeout");
        else
            set_next(next, c->deadline_us);
        return;
    case CONN_OPEN:
        for (int d = 0; d < 2; d++)
            if (!flow_pump(p, c, (enum rsp_impair_dir)d, now, next)) {
                if (c->state == CONN_FLUSHING) /* a cut: its first check is now */
                    conn_flush(p, c, now, next);
                return;
            }
        if (c->f[0].eof_out && c->f[1].eof_out)
            conn_end(p, c, "eof", false, NULL);
        return;
    case CONN_FLUSHING:
        conn_flush(p, c, now, next);
        return;
    case CONN_FREE:
    case CONN_HANGING:
        return;
    }
}

static short side_events(const struct conn *c, enum side s)
{
    if (c->fd[s] < 0)
        return 0;
    switch (c->state) {
    case CONN_CONNECTING:
        if (s == UPSTREAM)
            return POLLOUT;
        return flow_can_read(&c->f[RSP_IMPAIR_C2S]) ? POLLIN | POLLRDHUP : 0;
    case CONN_OPEN: {
        short ev = 0;
        if (flow_can_read(&c->f[s]))
            ev |= POLLIN | POLLRDHUP;
        if (c->f[1 - s].want_write)
            ev |= POLLOUT;
        return ev;
    }
    case CONN_HANGING:
        return POLLRDHUP;
    case CONN_FREE:
    case CONN_FLUSHING:
        return 0;
    }
    return 0;
}

/* Readiness of one connection after poll(). */
static void conn_io(struct rsp_impair *p, struct conn *c, const short rev[2], int64_t now)
{
    switch (c->state) {
    case CONN_CONNECTING:
        if (rev[UPSTREAM]) {
            int e = 0;
            socklen_t el = sizeof e;
            if (getsockopt(c->fd[UPSTREAM], SOL_SOCKET, SO_ERROR, &e, &el) != 0)
                e = errno;
            if (e) {
                upstream_failed(p, c, strerror(e));
                return;
            }
            conn_goto(c, CONN_OPEN);
            log_ev(p, "upstream_connected", "{s:I,s:I}", "conn", (json_int_t)c->id, "connect_ms",
                   dur_ms(c));
        }
        if (rev[CLIENT])
            flow_read(p, c, RSP_IMPAIR_C2S, now);
        return;
    case CONN_OPEN:
        for (int s = 0; s < 2 && c->state == CONN_OPEN; s++) {
            if (rev[s] & POLLOUT)
                c->f[1 - s].want_write = false;
            if (rev[s] & (POLLIN | POLLRDHUP | POLLHUP | POLLERR))
                flow_read(p, c, (enum rsp_impair_dir)s, now);
        }
        return;
    case CONN_HANGING:
        for (int s = 0; s < 2; s++)
            if (rev[s] && c->fd[s] >= 0) {
                close(c->fd[s]);
                c->fd[s] = -1;
            }
        if (c->fd[CLIENT] < 0)
            conn_end(p, c, "client_closed", false, NULL);
        return;
    case CONN_FREE:
    case CONN_FLUSHING:
        return;
    }
}

/* ---- accepting ---- */

static struct conn *free_slot(struct rsp_impair *p)
{
    for (unsigned i = 0; i < p->max_conns; i++)
        if (p->conns[i].state == CONN_FREE) {
            if (i + 1 > p->hi)
                p->hi = i + 1;
            return &p->conns[i];
        }
    return NULL;
}

static void conn_start(struct rsp_impair *p, int fd, const char *peer, int64_t now)
{
    uint64_t id = ++p->next_id;
    p->st.accepted++;
    log_ev(p, "accept", "{s:I,s:s}", "conn", (json_int_t)id, "peer", peer);
    if (p->refuse_left) {
        p->refuse_left--;
        p->st.refused++;
        close_rst(fd);
        log_ev(p, "refused", "{s:I,s:s}", "conn", (json_int_t)id, "reason", "refuse_first");
        return;
    }
    struct conn *c = free_slot(p);
    if (!c) { /* cannot happen: the listener is not polled when the pool is full */
        close_rst(fd);
        return;
    }
    memset(c, 0, sizeof *c);
    c->id = id;
    c->fd[CLIENT] = fd;
    c->fd[UPSTREAM] = -1;
    c->start_us = now;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    flow_init(&c->f[0], NULL, 0, p->seed, id * 4 + 1);
    flow_init(&c->f[1], NULL, 0, p->seed, id * 4 + 2);
    p->st.open++;
    if (p->st.open > p->st.max_open)
        p->st.max_open = p->st.open;
    if (p->cur.network == RSP_IMPAIR_NET_BLACKHOLE) {
        conn_hang(p, c, "network_blackhole");
        return;
    }
    if (p->drop_left) {
        p->drop_left--;
        conn_hang(p, c, "drop_first");
        return;
    }
    c->mem = malloc(2 * p->bufsz);
    if (!c->mem) {
        conn_goto(c, CONN_CONNECTING);
        conn_end(p, c, "no_memory", true, NULL);
        return;
    }
    c->f[0].buf = c->mem;
    c->f[1].buf = c->mem + p->bufsz;
    c->f[0].cap = c->f[1].cap = p->bufsz;
    for (int d = 0; d < 2; d++)
        if (p->cur.dir[d].reset_after) {
            c->f[d].cut_at = p->cur.dir[d].reset_after;
            c->f[d].cut_kind = CUT_RESET_AFTER;
        }
    struct rsp_impair_plan plan;
    rsp_impair_plan_conn(&p->cur, p->seed, id, &plan);
    if (plan.drop && plan.drop_at < c->f[plan.drop_in].cut_at) {
        c->f[plan.drop_in].cut_at = plan.drop_at;
        c->f[plan.drop_in].cut_kind = CUT_DROP;
    }
    conn_goto(c, CONN_CONNECTING);
    c->deadline_us = now + (int64_t)p->connect_timeout_ms * 1000;
    int u = socket(p->uaddr.ss_family, SOCK_STREAM, 0);
    if (u < 0) {
        upstream_failed(p, c, strerror(errno));
        return;
    }
    set_nonblock(u);
    int one = 1;
    setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd[UPSTREAM] = u;
    if (connect(u, (struct sockaddr *)&p->uaddr, p->uaddr_len) != 0 && errno != EINPROGRESS)
        upstream_failed(p, c, strerror(errno));
}

static void accept_some(struct rsp_impair *p, int64_t now)
{
    for (int i = 0; i < ACCEPT_BATCH && p->lfd >= 0 && p->st.open < p->max_conns; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept(p->lfd, (struct sockaddr *)&ss, &sl);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                p->accept_pause_us = now + 100000;
                log_ev(p, "accept_error", "{s:s}", "error", strerror(errno));
            }
            return;
        }
        set_nonblock(fd);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char peer[64];
        addr_str((struct sockaddr *)&ss, peer, sizeof peer);
        conn_start(p, fd, peer, now);
    }
}

/* ---- network state and the control file ---- */

static void network_change(struct rsp_impair *p, enum rsp_impair_network from,
                           enum rsp_impair_network to)
{
    if (from == to)
        return;
    log_ev(p, "network", "{s:s,s:s}", "from", rsp_impair_network_name(from), "to",
           rsp_impair_network_name(to));
    if (to == RSP_IMPAIR_NET_DOWN) {
        if (p->lfd >= 0)
            close(p->lfd);
        p->lfd = -1;
        for (unsigned i = 0; i < p->hi; i++) {
            struct conn *c = &p->conns[i];
            if (c->state != CONN_FREE) {
                p->st.network_resets++;
                conn_end(p, c, "network_down", true, NULL);
            }
        }
        return;
    }
    if (to == RSP_IMPAIR_NET_BLACKHOLE)
        for (unsigned i = 0; i < p->hi; i++) {
            struct conn *c = &p->conns[i];
            if (c->state == CONN_CONNECTING || c->state == CONN_OPEN)
                conn_hang(p, c, "network_blackhole");
        }
    p->listen_retry_us = 0; /* up or blackhole: listen again (next loop turn) */
}

static void apply_params(struct rsp_impair *p, const struct rsp_impair_params *q, bool present)
{
    struct rsp_impair_params old = p->cur;
    p->cur = *q;
    if (q->refuse_first != old.refuse_first)
        p->refuse_left = q->refuse_first;
    if (q->drop_first != old.drop_first)
        p->drop_left = q->drop_first;
    p->ctl_gen++;
    p->st.control_loads++;
    log_ev(p, "control", "{s:i,s:b,s:s,s:o}", "generation", (int)p->ctl_gen, "present", present,
           "tag", q->tag, "params", params_json(q));
    network_change(p, old.network, q->network);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Re-reads the control file when it changed (or when forced). The file is laid over the base
 * parameters; a file that does not parse changes nothing; a removed file restores the base. */
static void control_poll(struct rsp_impair *p, bool force)
{
    struct stat st;
    if (stat(p->control, &st) != 0) {
        if (p->ctl_present || force) {
            p->ctl_present = false;
            apply_params(p, &p->base, false);
        }
        return;
    }
    if (!force && p->ctl_present && same_file(&st, &p->ctl_st))
        return;
    p->ctl_present = true;
    p->ctl_st = st;
    char msg[256];
    int fd = open(p->control, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, sizeof msg, "open: %s", strerror(errno));
        goto bad;
    }
    char *text = malloc(RSP_IMPAIR_CONTROL_MAX + 1);
    size_t len = 0;
    ssize_t r = 0;
    while (text && len <= RSP_IMPAIR_CONTROL_MAX &&
           (r = read(fd, text + len, RSP_IMPAIR_CONTROL_MAX + 1 - len)) > 0)
        len += (size_t)r;
    close(fd);
    if (!text || r < 0) {
        snprintf(msg, sizeof msg, "read: %s", text ? strerror(errno) : "out of memory");
        free(text);
        goto bad;
    }
    struct rsp_impair_params q = p->base;
    int rc = rsp_impair_params_parse(&q, text, len, msg, sizeof msg);
    free(text);
    if (rc)
        goto bad;
    apply_params(p, &q, true);
    return;
bad:
    p->st.control_errors++;
    log_ev(p, "control_error", "{s:s,s:s}", "file", p->control, "error", msg);
}

/* ---- public ---- */

static int resolve(const char *hostport, bool passive, struct sockaddr_storage *out,
                   socklen_t *outlen, char *err, size_t errlen)
{
    char host[256];
    uint16_t port;
    int rc = rsp_impair_split_hostport(hostport, host, sizeof host, &port);
    if (rc) {
        snprintf(err, errlen, "'%s' is not HOST:PORT", hostport);
        return RSP_ESYNTAX;
    }
    char ps[8];
    snprintf(ps, sizeof ps, "%u", (unsigned)port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    if (passive)
        hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
    struct addrinfo *ai = NULL;
    int g = getaddrinfo(host, ps, &hints, &ai);
    if (g != 0 || !ai) {
        snprintf(err, errlen, "cannot resolve '%s': %s", host, gai_strerror(g));
        return passive ? RSP_ESYNTAX : RSP_EIO;
    }
    memcpy(out, ai->ai_addr, ai->ai_addrlen);
    *outlen = ai->ai_addrlen;
    freeaddrinfo(ai);
    if (!passive && port == 0) {
        snprintf(err, errlen, "upstream port 0");
        return RSP_ESYNTAX;
    }
    return 0;
}

int rsp_impair_new(const struct rsp_impair_config *cfg, struct rsp_impair **out, char *err,
                   size_t errlen)
{
    char dummy[8];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = 0;
    if (!cfg || !out || !cfg->listen || !cfg->upstream) {
        snprintf(err, errlen, "listen and upstream addresses are required");
        return RSP_EINVAL;
    }
    *out = NULL;
    int rc = rsp_impair_params_check(&cfg->params, err, errlen);
    if (rc)
        return rc;
    struct rsp_impair *p = calloc(1, sizeof *p);
    if (!p)
        return RSP_ENOMEM;
    p->lfd = -1;
    p->wake[0] = p->wake[1] = -1;
    p->base = p->cur = cfg->params;
    p->seed = cfg->seed;
    p->log = cfg->log;
    p->bufsz = cfg->buffer ? cfg->buffer : 65536;
    p->max_conns = cfg->max_conns ? cfg->max_conns : 1024;
    p->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 10000;
    p->flush_timeout_ms = cfg->flush_timeout_ms ? cfg->flush_timeout_ms : 2000;
    p->refuse_left = p->cur.refuse_first;
    p->drop_left = p->cur.drop_first;
    snprintf(p->listen_str, sizeof p->listen_str, "%s", cfg->listen);
    snprintf(p->upstream_str, sizeof p->upstream_str, "%s", cfg->upstream);
    if (p->bufsz < 16 || p->bufsz > (64u << 20) || p->max_conns > 100000) {
        snprintf(err, errlen, "buffer must be 16 B to 64 MiB and max_conns at most 100000");
        rc = RSP_EINVAL;
        goto fail;
    }
    if ((rc = resolve(cfg->listen, true, &p->laddr, &p->laddr_len, err, errlen)) != 0 ||
        (rc = resolve(cfg->upstream, false, &p->uaddr, &p->uaddr_len, err, errlen)) != 0)
        goto fail;
    p->conns = calloc(p->max_conns, sizeof *p->conns);
    p->pfds = calloc(2 * (size_t)p->max_conns + 2, sizeof *p->pfds);
    if (cfg->control_file)
        p->control = strdup(cfg->control_file);
    if (!p->conns || !p->pfds || (cfg->control_file && !p->control)) {
        rc = RSP_ENOMEM;
        goto fail;
    }
    for (unsigned i = 0; i < p->max_conns; i++)
        p->conns[i].fd[0] = p->conns[i].fd[1] = -1;
    if (pipe(p->wake) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        rc = RSP_EIO;
        goto fail;
    }
    set_nonblock(p->wake[0]);
    set_nonblock(p->wake[1]);
    if ((rc = open_listener(p, err, errlen)) != 0)
        goto fail;
    char la[80];
    addr_str((struct sockaddr *)&p->laddr, la, sizeof la);
    char seed[24];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)p->seed);
    log_ev(p, "listening", "{s:s,s:i,s:s,s:s,s:o}", "listen", la, "port", (int)p->port, "upstream",
           p->upstream_str, "seed", seed, "params", params_json(&p->base));
    if (p->control) {
        control_poll(p, true);
        p->ctl_next_us = mono_us() + CONTROL_POLL_US;
    }
    *out = p;
    return 0;
fail:
    rsp_impair_free(p);
    return rc;
}

uint16_t rsp_impair_port(const struct rsp_impair *p)
{
    return p ? p->port : 0;
}

void rsp_impair_request_stop(struct rsp_impair *p)
{
    int saved = errno;
    p->stop = 1;
    if (write(p->wake[1], "s", 1) < 0) {
        /* the pipe is full: a wake-up is pending anyway */
    }
    errno = saved;
}

void rsp_impair_request_reload(struct rsp_impair *p)
{
    int saved = errno;
    p->reload = 1;
    if (write(p->wake[1], "r", 1) < 0) {
        /* the pipe is full: a wake-up is pending anyway */
    }
    errno = saved;
}

void rsp_impair_get_stats(const struct rsp_impair *p, struct rsp_impair_stats *out)
{
    *out = p->st;
}

int rsp_impair_run(struct rsp_impair *p)
{
    int rc = 0;
    while (!p->stop) {
        int64_t now = mono_us();
        if (p->control && (p->reload || now >= p->ctl_next_us)) {
            bool force = p->reload;
            p->reload = 0;
            control_poll(p, force);
            p->ctl_next_us = now + CONTROL_POLL_US;
        }
        if (p->lfd < 0 && p->cur.network != RSP_IMPAIR_NET_DOWN && now >= p->listen_retry_us) {
            char msg[200];
            if (open_listener(p, msg, sizeof msg) != 0) {
                log_ev(p, "listen_error", "{s:s}", "error", msg);
                p->listen_retry_us = now + CONTROL_POLL_US;
            } else {
                log_ev(p, "relistening", "{s:i}", "port", (int)p->port);
            }
        }
        int64_t next = now + IDLE_US;
        if (p->control)
            set_next(&next, p->ctl_next_us);
        if (p->lfd < 0 && p->cur.network != RSP_IMPAIR_NET_DOWN)
            set_next(&next, p->listen_retry_us);
        for (unsigned i = 0; i < p->hi; i++)
            if (p->conns[i].state != CONN_FREE)
                conn_service(p, &p->conns[i], now, &next);

        nfds_t n = 0;
        p->pfds[n++] = (struct pollfd){.fd = p->wake[0], .events = POLLIN};
        int li = -1;
        if (p->lfd >= 0 && p->st.open < p->max_conns) {
            if (now >= p->accept_pause_us) {
                li = (int)n;
                p->pfds[n++] = (struct pollfd){.fd = p->lfd, .events = POLLIN};
            } else {
                set_next(&next, p->accept_pause_us);
            }
        }
        for (unsigned i = 0; i < p->hi; i++) {
            struct conn *c = &p->conns[i];
            c->pi[0] = c->pi[1] = -1;
            if (c->state == CONN_FREE)
                continue;
            for (int s = 0; s < 2; s++) {
                short ev = side_events(c, (enum side)s);
                if (ev) {
                    c->pi[s] = (int)n;
                    p->pfds[n++] = (struct pollfd){.fd = c->fd[s], .events = ev};
                }
            }
        }
        int64_t wait_us = next - now;
        int timeout = wait_us <= 0 ? 0 : (int)((wait_us + 999) / 1000);
        int r = poll(p->pfds, n, timeout);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = RSP_EIO;
            break;
        }
        now = mono_us();
        if (p->pfds[0].revents) {
            char drain[64];
            while (read(p->wake[0], drain, sizeof drain) > 0)
                ;
        }
        for (unsigned i = 0; i < p->hi; i++) {
            struct conn *c = &p->conns[i];
            if (c->state == CONN_FREE)
                continue;
            short rev[2] = {c->pi[0] >= 0 ? p->pfds[c->pi[0]].revents : 0,
                            c->pi[1] >= 0 ? p->pfds[c->pi[1]].revents : 0};
            if (rev[0] || rev[1])
                conn_io(p, c, rev, now);
        }
        if (li >= 0 && p->pfds[li].revents)
            accept_some(p, now);
    }
    for (unsigned i = 0; i < p->hi; i++)
        if (p->conns[i].state != CONN_FREE)
            conn_end(p, &p->conns[i], "stopped", false, NULL);
    struct rsp_impair_stats *s = &p->st;
    log_ev(p, "summary", "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:i,s:I,s:I}",
           "accepted", (json_int_t)s->accepted, "refused", (json_int_t)s->refused, "held",
           (json_int_t)s->held, "upstream_failed", (json_int_t)s->upstream_failed, "resets",
           (json_int_t)s->resets, "drops", (json_int_t)s->drops, "network_resets",
           (json_int_t)s->network_resets, "stalls", (json_int_t)s->stalls, "closed",
           (json_int_t)s->closed, "c2s", (json_int_t)s->bytes[0], "s2c", (json_int_t)s->bytes[1],
           "open", (int)s->open, "max_open", (int)s->max_open, "control_loads",
           (json_int_t)s->control_loads, "control_errors", (json_int_t)s->control_errors);
    return rc;
}

void rsp_impair_free(struct rsp_impair *p)
{
    if (!p)
        return;
    if (p->conns)
        for (unsigned i = 0; i < p->max_conns; i++) {
            struct conn *c = &p->conns[i];
            for (int s = 0; s < 2; s++)
                if (c->fd[s] >= 0)
                    close(c->fd[s]);
            free(c->mem);
        }
    if (p->lfd >= 0)
        close(p->lfd);
    for (int i = 0; i < 2; i++)
        if (p->wake[i] >= 0)
            close(p->wake[i]);
    free(p->conns);
    free(p->pfds);
    free(p->control);
    free(p);
}
