/* rsp-impair end to end: the real program (argv[1]) between this test's TCP clients and its
 * in-process servers (echo, source of N bytes, sink that counts what it receives). Each
 * impairment is checked for doing what it says: lower time bounds are exact (the proxy never
 * forwards early), upper ones loose (a loaded machine is slow); byte counts at cut points are
 * exact; the drop fraction for a fixed seed is within a binomial tolerance and equal,
 * connection by connection, to rsp_impair_plan_conn.
 *
 *   impair_e2e RSP_IMPAIR
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rsp/impair.h"

static const char *g_bin;

/* ---- clock ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- servers (one thread per listener, one per connection) ---- */

enum srv_mode { SRV_ECHO, SRV_SOURCE, SRV_SINK };

#define SINK_MAX 64

struct server {
    enum srv_mode mode;
    int lfd;
    unsigned port;
    size_t source_bytes; /* SRV_SOURCE: bytes sent on each connection */
    pthread_mutex_t lock;
    unsigned sink_n; /* SRV_SINK: connections finished */
    size_t sink_count[SINK_MAX];
    int sink_err[SINK_MAX]; /* 0 EOF, else errno of the failed read */
};

struct srv_conn {
    struct server *s;
    int fd;
};

static void *srv_conn_main(void *arg)
{
    struct srv_conn sc = *(struct srv_conn *)arg;
    free(arg);
    struct server *s = sc.s;
    static char buf[65536];
    char rbuf[16384];
    if (s->mode == SRV_ECHO) {
        ssize_t r;
        while ((r = recv(sc.fd, rbuf, sizeof rbuf, 0)) > 0)
            if (send(sc.fd, rbuf, (size_t)r, MSG_NOSIGNAL) != r)
                break;
    } else if (s->mode == SRV_SOURCE) {
        size_t left = s->source_bytes;
        while (left) {
            size_t k = left < sizeof buf ? left : sizeof buf;
            ssize_t w = send(sc.fd, buf, k, MSG_NOSIGNAL);
            if (w <= 0)
                break;
            left -= (size_t)w;
        }
        shutdown(sc.fd, SHUT_WR);
        while (recv(sc.fd, rbuf, sizeof rbuf, 0) > 0)
            ;
    } else {
        size_t n = 0;
        ssize_t r;
        while ((r = recv(sc.fd, rbuf, sizeof rbuf, 0)) > 0)
            n += (size_t)r;
        int e = r < 0 ? errno : 0;
        pthread_mutex_lock(&s->lock);
        if (s->sink_n < SINK_MAX) {
            s->sink_count[s->sink_n] = n;
            s->sink_err[s->sink_n] = e;
        }
        s->sink_n++;
        pthread_mutex_unlock(&s->lock);
    }
    close(sc.fd);
    return NULL;
}

static void *srv_main(void *arg)
{
    struct server *s = arg;
    for (;;) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL;
        }
        struct srv_conn *sc = malloc(sizeof *sc);
        pthread_t t;
        if (!sc) {
            close(fd);
            continue;
        }
        sc->s = s;
        sc->fd = fd;
        if (pthread_create(&t, NULL, srv_conn_main, sc) != 0) {
            free(sc);
            close(fd);
            continue;
        }
        pthread_detach(t);
    }
}

static int listen_any(unsigned *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 512) != 0)
        return -1;
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    *port = ntohs(a.sin_port);
    return fd;
}

static struct server g_echo = {.mode = SRV_ECHO}, g_source = {.mode = SRV_SOURCE},
                     g_sink = {.mode = SRV_SINK};

static void server_start(struct server *s)
{
    pthread_mutex_init(&s->lock, NULL);
    s->lfd = listen_any(&s->port);
    assert_true(s->lfd >= 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, srv_main, s), 0);
    pthread_detach(t);
}

static void sink_reset(void)
{
    pthread_mutex_lock(&g_sink.lock);
    g_sink.sink_n = 0;
    pthread_mutex_unlock(&g_sink.lock);
}

static unsigned sink_wait(unsigned n, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    unsigned got;
    for (;;) {
        pthread_mutex_lock(&g_sink.lock);
        got = g_sink.sink_n;
        pthread_mutex_unlock(&g_sink.lock);
        if (got >= n || now_ms() > end)
            return got;
        sleep_ms(10);
    }
}

/* ---- the proxy process ---- */

struct proxy {
    pid_t pid;
    unsigned port;
    char dir[512];
    char log[600], control[600];
};

static void proxy_start(struct proxy *px, unsigned upstream_port, const char *const *extra)
{
    memset(px, 0, sizeof *px);
    snprintf(px->dir, sizeof px->dir, "%s/px-XXXXXX", tu_tmpdir());
    assert_non_null(mkdtemp(px->dir));
    snprintf(px->log, sizeof px->log, "%s/log", px->dir);
    snprintf(px->control, sizeof px->control, "%s/control", px->dir);
    char portfile[600], up[64];
    snprintf(portfile, sizeof portfile, "%s/port", px->dir);
    snprintf(up, sizeof up, "127.0.0.1:%u", upstream_port);
    const char *argv[64];
    int n = 0;
    argv[n++] = g_bin;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--upstream";
    argv[n++] = up;
    argv[n++] = "--port-file";
    argv[n++] = portfile;
    argv[n++] = "--log";
    argv[n++] = px->log;
    for (int i = 0; extra && extra[i]; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    px->pid = fork();
    assert_true(px->pid >= 0);
    if (px->pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        execv(g_bin, (char *const *)argv);
        _exit(127);
    }
    /* ready once the port file exists (written after listen) */
    for (int i = 0; i < 1000; i++) {
        FILE *f = fopen(portfile, "r");
        if (f) {
            int ok = fscanf(f, "%u", &px->port);
            fclose(f);
            if (ok == 1 && px->port)
                return;
        }
        int st;
        if (waitpid(px->pid, &st, WNOHANG) == px->pid)
            fail_msg("rsp-impair exited before listening (status %d)", st);
        sleep_ms(10);
    }
    fail_msg("rsp-impair did not write its port file");
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("");
    static char tmp[1 << 16];
    size_t cap = 1 << 16, len = 0;
    char *s = malloc(cap + 1);
    size_t k;
    while (s && (k = fread(tmp, 1, sizeof tmp, f)) > 0) {
        if (len + k > cap) {
            cap = 2 * (len + k);
            char *t = realloc(s, cap + 1);
            if (!t) {
                free(s);
                s = NULL;
                break;
            }
            s = t;
        }
        memcpy(s + len, tmp, k);
        len += k;
    }
    fclose(f);
    if (s)
        s[len] = 0;
    return s;
}

/* Lines of the event log containing every one of the (up to two) substrings. */
static unsigned log_count(const struct proxy *px, const char *a, const char *b)
{
    char *s = slurp(px->log);
    assert_non_null(s);
    unsigned n = 0;
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n"))
        if (strstr(line, a) && (!b || strstr(line, b)))
            n++;
    free(s);
    return n;
}

static void log_wait(const struct proxy *px, const char *a, const char *b, unsigned n)
{
    for (int i = 0; i < 1500; i++) { /* 15 s: the proxy checks its control file every 100 ms */
        if (log_count(px, a, b) >= n)
            return;
        sleep_ms(10);
    }
    fail_msg("no %u log lines with %s %s", n, a, b ? b : "");
}

/* SIGTERM: exit status 0 and a summary line. */
static void proxy_stop(struct proxy *px)
{
    kill(px->pid, SIGTERM);
    int st = 0;
    assert_int_equal(waitpid(px->pid, &st, 0), px->pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(log_count(px, "\"event\":\"summary\"", NULL), 1);
}

/* Writes the control file atomically (temporary file + rename). */
static void control_write(const struct proxy *px, const char *text)
{
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.tmp", px->control);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, px->control), 0);
}

/* ---- clients ---- */

static int tcp_connect(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void set_rcvtimeo(int fd, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

/* Reads until EOF, an error or the timeout: the byte count; *err = 0 (EOF), errno, or
 * ETIMEDOUT. */
static size_t read_until_end(int fd, int timeout_ms, int *err)
{
    set_rcvtimeo(fd, timeout_ms);
    char buf[16384];
    size_t n = 0;
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r > 0) {
            n += (size_t)r;
            continue;
        }
        if (r == 0)
            *err = 0;
        else
            *err = (errno == EAGAIN || errno == EWOULDBLOCK) ? ETIMEDOUT : errno;
        return n;
    }
}

/* One echo round trip of len bytes: the time in ms, or -1 when the echo did not come back. */
static int64_t echo_rtt(int fd, size_t len, int timeout_ms)
{
    char out[4096], in[4096];
    assert_true(len <= sizeof out);
    memset(out, 'e', len);
    set_rcvtimeo(fd, timeout_ms);
    int64_t t0 = now_ms();
    if (send(fd, out, len, MSG_NOSIGNAL) != (ssize_t)len)
        return -1;
    size_t got = 0;
    while (got < len) {
        ssize_t r = recv(fd, in + got, len - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return now_ms() - t0;
}

/* ---- tests ---- */

static void test_usage(void **state)
{
    static const struct {
        int want;
        const char *args[8];
    } cases[] = {
        {0, {"--help"}},
        {2, {NULL}},
        {2, {"--listen", "127.0.0.1:0"}},
        {2, {"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--latency", "abc"}},
        {2, {"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--drop-range", "9-1"}},
        {2, {"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--frobnicate", "1"}},
        {2, {"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--set", "nokey=1"}},
        {2, {"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--seed", "x"}},
        {2, {"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--latency"}},
        {2, {"--listen", "nothing", "--upstream", "127.0.0.1:9"}},
        {2, {"--listen", "127.0.0.1:0", "--upstream", "localhost"}},
        {2, {"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--max-conns", "0"}},
        {2, {"--plan", "5"}},
        {2, {"--plan", "0", "--seed", "1"}},
        {2, {"--plan", "x", "--seed", "1"}},
        {0, {"--plan", "3", "--seed", "1"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[10] = {g_bin};
        for (int k = 0; k < 8 && cases[i].args[k]; k++)
            argv[k + 1] = cases[i].args[k];
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, 1);
            dup2(devnull, 2);
            execv(g_bin, (char *const *)argv);
            _exit(127);
        }
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        if (WEXITSTATUS(st) != cases[i].want)
            fail_msg("case %zu (%s): status %d, want %d", i,
                     cases[i].args[0] ? cases[i].args[0] : "", WEXITSTATUS(st), cases[i].want);
    }
    /* a port in use: cannot start (1) */
    char busy[32];
    snprintf(busy, sizeof busy, "127.0.0.1:%u", g_echo.port);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        execl(g_bin, g_bin, "--listen", busy, "--upstream", "127.0.0.1:9", (char *)NULL);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_int_equal(WEXITSTATUS(st), 1);
}

/* No impairment: bytes pass unchanged both ways; the log tells the connection's story. */
static void test_passthrough(void **state)
{
    struct proxy px;
    proxy_start(&px, g_echo.port, NULL);
    int fd = tcp_connect(px.port);
    assert_true(fd >= 0);
    char out[3000], in[3000];
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (char)(i * 7 + 3);
    assert_int_equal(send(fd, out, sizeof out, 0), (ssize_t)sizeof out);
    size_t got = 0;
    set_rcvtimeo(fd, 5000);
    while (got < sizeof in) {
        ssize_t r = recv(fd, in + got, sizeof in - got, 0);
        assert_true(r > 0);
        got += (size_t)r;
    }
    assert_memory_equal(in, out, sizeof out);
    close(fd);
    log_wait(&px, "\"event\":\"closed\"", "\"reason\":\"eof\"", 1);
    assert_int_equal(log_count(&px, "\"event\":\"closed\"", "\"c2s\":3000,\"s2c\":3000"), 1);
    assert_int_equal(log_count(&px, "\"event\":\"accept\"", NULL), 1);
    assert_int_equal(log_count(&px, "\"event\":\"upstream_connected\"", NULL), 1);
    proxy_stop(&px);
    assert_int_equal(log_count(&px, "\"event\":\"summary\"", "\"accepted\":1,"), 1);
}

/* latency 150 ms each way: every round trip takes at least 300 ms. */
static void test_latency(void **state)
{
    struct proxy px;
    const char *args[] = {"--latency", "150", NULL};
    proxy_start(&px, g_echo.port, args);
    int fd = tcp_connect(px.port);
    assert_true(fd >= 0);
    for (int i = 0; i < 4; i++) {
        int64_t rtt = echo_rtt(fd, 100, 10000);
        print_message("# rtt %lld ms\n", (long long)rtt);
        assert_in_range(rtt, 300, 300 + 3000);
    }
    close(fd);
    proxy_stop(&px);
}

/* jitter: uniform 100 +- 50 and normal 100 sd 20 (cut at 3 sd), per direction. */
static void test_jitter(void **state)
{
    for (int dist = 0; dist < 2; dist++) {
        struct proxy px;
        const char *uni[] = {"--latency", "100", "--jitter", "50", "--seed", "5", NULL};
        const char *nor[] = {"--latency", "100",    "--jitter", "20", "--jitter-dist",
                             "normal",    "--seed", "5",        NULL};
        proxy_start(&px, g_echo.port, dist ? nor : uni);
        int fd = tcp_connect(px.port);
        assert_true(fd >= 0);
        int64_t lo = 1 << 30, hi = 0;
        for (int i = 0; i < 12; i++) {
            int64_t rtt = echo_rtt(fd, 10, 10000);
            assert_true(rtt >= 0);
            lo = rtt < lo ? rtt : lo;
            hi = rtt > hi ? rtt : hi;
        }
        print_message("# %s: rtt %lld..%lld ms\n", dist ? "normal" : "uniform", (long long)lo,
                      (long long)hi);
        assert_true(lo >= (dist ? 2 * (100 - 60) : 2 * (100 - 50)));
        assert_true(hi <= 2 * (dist ? 160 : 150) + 3000);
        assert_true(hi - lo >= 5); /* the delays do vary */
        close(fd);
        proxy_stop(&px);
    }
}

/* rate 100000 B/s upstream -> client: 200000 bytes take at least ~2 s. */
static void test_rate(void **state)
{
    struct proxy px;
    const char *args[] = {"--set", "s2c.rate=100000", NULL};
    g_source.source_bytes = 200000;
    proxy_start(&px, g_source.port, args);
    int fd = tcp_connect(px.port);
    assert_true(fd >= 0);
    int64_t t0 = now_ms();
    int err = -1;
    size_t n = read_until_end(fd, 30000, &err);
    int64_t ms = now_ms() - t0;
    close(fd);
    print_message("# 200000 bytes at 100000 B/s: %lld ms (%.0f B/s)\n", (long long)ms,
                  200000.0 * 1000 / (double)ms);
    assert_int_equal(n, 200000);
    assert_int_equal(err, 0);
    /* the cap is not exceeded by more than 10% (the first 20 ms burst included) */
    assert_true(ms >= 1800);
    assert_true(ms <= 30000);
    proxy_stop(&px);
}

/* stall_every 10000 bytes for 300 ms on 35000 bytes: stalls at 10000, 20000 and 30000. */
static void test_stall_every(void **state)
{
    struct proxy px;
    const char *args[] = {"--set", "s2c.stall_every=10000", "--stall-ms", "300", NULL};
    g_source.source_bytes = 35000;
    proxy_start(&px, g_source.port, args);
    int fd = tcp_connect(px.port);
    assert_true(fd >= 0);
    int64_t t0 = now_ms();
    int err = -1;
    size_t n = read_until_end(fd, 30000, &err);
    int64_t ms = now_ms() - t0;
    close(fd);
    assert_int_equal(n, 35000);
    assert_true(ms >= 900);
    log_wait(&px, "\"event\":\"closed\"", NULL, 1);
    assert_int_equal(log_count(&px, "\"event\":\"stall\"", NULL), 3);
    assert_int_equal(log_count(&px, "\"event\":\"stall\"", "\"at\":10000,"), 1);
    assert_int_equal(log_count(&px, "\"event\":\"stall\"", "\"at\":20000,"), 1);
    assert_int_equal(log_count(&px, "\"event\":\"stall\"", "\"at\":30000,"), 1);
    proxy_stop(&px);
}

/* stall_prob 1: every chunk stalls its direction for 80 ms, so a round trip takes >= 160 ms. */
static void test_stall_prob(void **state)
{
    struct proxy px;
    const char *args[] = {"--stall-prob", "1", "--stall-ms", "80", NULL};
    proxy_start(&px, g_echo.port, args);
    int fd = tcp_connect(px.port);
    assert_true(fd >= 0);
    for (int i = 0; i < 3; i++)
        assert_in_range(echo_rtt(fd, 50, 10000), 160, 160 + 3000);
    close(fd);
    assert_true(log_count(&px, "\"event\":\"stall\"", "\"why\":\"stall_prob\"") >= 6);
    proxy_stop(&px);
}

/* reset_after: the receiver gets exactly N bytes, then a reset. */
static void test_reset_after(void **state)
{
    struct proxy px;
    const char *s2c[] = {"--set", "s2c.reset_after=12345", NULL};
    g_source.source_bytes = 100000;
    proxy_start(&px, g_source.port, s2c);
    for (int i = 0; i < 3; i++) {
        int fd = tcp_connect(px.port);
        assert_true(fd >= 0);
        int err = -1;
        size_t n = read_until_end(fd, 10000, &err);
        close(fd);
        assert_int_equal(n, 12345);
        assert_int_equal(err, ECONNRESET);
    }
    assert_int_equal(log_count(&px, "\"event\":\"reset\"", "\"dir\":\"s2c\",\"at\":12345"), 3);
    proxy_stop(&px);

    const char *c2s[] = {"--set", "c2s.reset_after=777", NULL};
    proxy_start(&px, g_sink.port, c2s);
    sink_reset();
    int fd = tcp_connect(px.port);
    assert_true(fd >= 0);
    char buf[5000];
    memset(buf, 'x', sizeof buf);
    send(fd, buf, sizeof buf, MSG_NOSIGNAL);
    assert_int_equal(sink_wait(1, 10000), 1);
    assert_int_equal(g_sink.sink_count[0], 777);
    assert_int_equal(g_sink.sink_err[0], ECONNRESET);
    int err = -1;
    read_until_end(fd, 10000, &err);
    assert_int_equal(err, ECONNRESET);
    close(fd);
    proxy_stop(&px);
}

/* 200 connections, drop_fraction 0.3 at 100..1000 bytes of s2c, seed 42: each connection gets
 * exactly what rsp_impair_plan_conn says, the count is within 4 sd of the binomial mean, and a
 * second run with the same seed is identical. */
static void test_drop_fraction(void **state)
{
    enum { N = 200, BYTES = 2000 };
    static size_t got[2][N];
    g_source.source_bytes = BYTES;
    struct rsp_impair_params p;
    rsp_impair_params_default(&p);
    p.drop_fraction = 0.3;
    p.drop_min = 100;
    p.drop_max = 1000;
    p.drop_dir = RSP_IMPAIR_DROP_DIR_S2C;
    for (int run = 0; run < 2; run++) {
        struct proxy px;
        const char *args[] = {"--drop-fraction", "0.3",        "--drop-range",
                              "100-1000",        "--drop-dir", "s2c",
                              "--seed",          "42",         NULL};
        proxy_start(&px, g_source.port, args);
        unsigned dropped = 0;
        for (unsigned i = 0; i < N; i++) {
            int fd = tcp_connect(px.port);
            assert_true(fd >= 0);
            int err = -1;
            got[run][i] = read_until_end(fd, 10000, &err);
            close(fd);
            struct rsp_impair_plan pl;
            rsp_impair_plan_conn(&p, 42, i + 1, &pl);
            if (pl.drop) {
                dropped++;
                assert_int_equal(got[run][i], pl.drop_at);
                assert_int_equal(err, ECONNRESET);
            } else {
                assert_int_equal(got[run][i], BYTES);
                assert_int_equal(err, 0);
            }
        }
        print_message("# run %d: %u of %d connections dropped\n", run, dropped, N);
        /* binomial(200, 0.3): mean 60, sd 6.5 */
        assert_in_range(dropped, 60 - 26, 60 + 26);
        log_wait(&px, "\"event\":\"closed\"", NULL, N);
        assert_int_equal(log_count(&px, "\"event\":\"drop\"", NULL), dropped);
        proxy_stop(&px);
    }
    assert_memory_equal(got[0], got[1], sizeof got[0]);

    /* --plan prints the same decisions, without a proxy: what the connections above met */
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "'%s' --plan %d --seed 42 --drop-fraction 0.3 --drop-range 100-1000 --drop-dir s2c",
             g_bin, N);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char line[128];
    unsigned n = 0;
    while (fgets(line, sizeof line, f)) {
        n++;
        struct rsp_impair_plan pl;
        rsp_impair_plan_conn(&p, 42, n, &pl);
        char want[128];
        if (pl.drop)
            snprintf(want, sizeof want, "{\"conn\":%u,\"drop\":true,\"dir\":\"s2c\",\"at\":%llu}\n",
                     n, (unsigned long long)pl.drop_at);
        else
            snprintf(want, sizeof want, "{\"conn\":%u,\"drop\":false}\n", n);
        assert_string_equal(line, want);
        if (pl.drop) /* the byte count the client of connection n really got */
            assert_int_equal(got[0][n - 1], pl.drop_at);
    }
    assert_int_equal(pclose(f), 0);
    assert_int_equal(n, N);
}

/* drop_mode close: exactly N bytes then a clean EOF; hang: N bytes then silence until the
 * client gives up; c2s drops into the sink: the server gets exactly N bytes. */
static void test_drop_modes(void **state)
{
    struct proxy px;
    g_source.source_bytes = 50000;
    const char *close_args[] = {"--drop-fraction", "1",           "--drop-range",
                                "3000-3000",       "--drop-mode", "close",
                                "--drop-dir",      "s2c",         NULL};
    proxy_start(&px, g_source.port, close_args);
    int fd = tcp_connect(px.port);
    int err = -1;
    assert_int_equal(read_until_end(fd, 10000, &err), 3000);
    assert_int_equal(err, 0);
    close(fd);
    proxy_stop(&px);

    const char *hang_args[] = {"--drop-fraction", "1",           "--drop-range",
                               "4000-4000",       "--drop-mode", "hang",
                               "--drop-dir",      "s2c",         NULL};
    proxy_start(&px, g_source.port, hang_args);
    fd = tcp_connect(px.port);
    assert_int_equal(read_until_end(fd, 700, &err), 4000);
    assert_int_equal(err, ETIMEDOUT);
    close(fd);
    log_wait(&px, "\"event\":\"closed\"", "\"reason\":\"client_closed\"", 1);
    assert_int_equal(log_count(&px, "\"event\":\"hold\"", "\"reason\":\"drop\""), 1);
    proxy_stop(&px);

    const char *c2s_args[] = {
        "--drop-fraction", "1", "--drop-range", "1500-1500", "--drop-dir", "c2s", NULL};
    proxy_start(&px, g_sink.port, c2s_args);
    sink_reset();
    fd = tcp_connect(px.port);
    char buf[8000];
    memset(buf, 'y', sizeof buf);
    send(fd, buf, sizeof buf, MSG_NOSIGNAL);
    assert_int_equal(sink_wait(1, 10000), 1);
    assert_int_equal(g_sink.sink_count[0], 1500);
    close(fd);
    assert_int_equal(log_count(&px, "\"event\":\"drop\"", "\"dir\":\"c2s\",\"at\":1500"), 1);
    proxy_stop(&px);
}

/* refuse_first 3: three resets before any byte, then service; drop_first 2: two silent
 * connections, then service. */
static void test_first_k(void **state)
{
    struct proxy px;
    const char *refuse[] = {"--refuse-first", "3", NULL};
    proxy_start(&px, g_echo.port, refuse);
    for (int i = 0; i < 3; i++) {
        int fd = tcp_connect(px.port);
        assert_true(fd >= 0); /* the handshake completes in the kernel, then RST */
        int err = -1;         /* (no send first: a failed send would consume the reset) */
        assert_int_equal(read_until_end(fd, 5000, &err), 0);
        assert_int_equal(err, ECONNRESET);
        close(fd);
    }
    int fd = tcp_connect(px.port);
    assert_true(echo_rtt(fd, 10, 5000) >= 0);
    close(fd);
    assert_int_equal(log_count(&px, "\"event\":\"refused\"", NULL), 3);
    proxy_stop(&px);

    const char *hold[] = {"--drop-first", "2", NULL};
    proxy_start(&px, g_echo.port, hold);
    for (int i = 0; i < 2; i++) {
        fd = tcp_connect(px.port);
        assert_true(fd >= 0);
        assert_int_equal(echo_rtt(fd, 10, 500), -1);
        close(fd);
    }
    fd = tcp_connect(px.port);
    assert_true(echo_rtt(fd, 10, 5000) >= 0);
    close(fd);
    assert_int_equal(log_count(&px, "\"event\":\"hold\"", "\"reason\":\"drop_first\""), 2);
    proxy_stop(&px);
}

/* An upstream that refuses: the client is reset, the log says why. */
static void test_upstream_down(void **state)
{
    unsigned dead;
    int l = listen_any(&dead);
    close(l); /* nothing listens there any more */
    struct proxy px;
    proxy_start(&px, dead, NULL);
    int fd = tcp_connect(px.port);
    assert_true(fd >= 0);
    int err = -1;
    assert_int_equal(read_until_end(fd, 5000, &err), 0);
    assert_int_equal(err, ECONNRESET);
    close(fd);
    assert_int_equal(log_count(&px, "\"event\":\"upstream_failed\"", NULL), 1);
    proxy_stop(&px);
}

/* The control file: down (refused, open connections reset), up, blackhole, parameters changed
 * mid-run, a bad file changes nothing, a removed file restores the command line. */
static void test_control(void **state)
{
    struct proxy px;
    char ctl[600];
    const char *args[] = {"--control", ctl, NULL};
    snprintf(ctl, sizeof ctl, "%s/impair-control", tu_tmpdir());
    unlink(ctl);
    proxy_start(&px, g_echo.port, args);
    snprintf(px.control, sizeof px.control, "%s", ctl);
    log_wait(&px, "\"event\":\"control\"", "\"present\":false", 1);
    int fd = tcp_connect(px.port);
    assert_true(echo_rtt(fd, 10, 5000) >= 0);

    control_write(&px, "network=down\ntag=t1\n");
    log_wait(&px, "\"event\":\"control\"", "\"tag\":\"t1\"", 1);
    int err = -1;
    read_until_end(fd, 5000, &err);
    assert_int_equal(err, ECONNRESET); /* the open connection was reset */
    close(fd);
    assert_int_equal(tcp_connect(px.port), -ECONNREFUSED);

    control_write(&px, "network=up\ntag=t2\n");
    log_wait(&px, "\"event\":\"relistening\"", NULL, 1);
    fd = tcp_connect(px.port);
    assert_true(fd >= 0);
    assert_true(echo_rtt(fd, 10, 5000) >= 0);

    control_write(&px, "latency=200\ntag=t3\n");
    log_wait(&px, "\"event\":\"control\"", "\"tag\":\"t3\"", 1);
    assert_in_range(echo_rtt(fd, 10, 10000), 400, 400 + 3000); /* the open connection too */

    control_write(&px, "latency=abc\ntag=t4\n");
    log_wait(&px, "\"event\":\"control_error\"", "line 1", 1);
    assert_in_range(echo_rtt(fd, 10, 10000), 400, 400 + 3000); /* kept */

    control_write(&px, "network=blackhole\ntag=t5\n");
    log_wait(&px, "\"event\":\"control\"", "\"tag\":\"t5\"", 1);
    assert_int_equal(echo_rtt(fd, 10, 600), -1);
    close(fd);
    fd = tcp_connect(px.port);
    assert_true(fd >= 0); /* accepted, then nothing */
    assert_int_equal(echo_rtt(fd, 10, 600), -1);
    close(fd);

    unlink(ctl);
    log_wait(&px, "\"event\":\"control\"", "\"present\":false", 2);
    fd = tcp_connect(px.port);
    assert_true(echo_rtt(fd, 10, 5000) >= 0);
    close(fd);
    assert_int_equal(log_count(&px, "\"event\":\"network\"", "\"to\":\"down\""), 1);
    assert_int_equal(log_count(&px, "\"event\":\"closed\"", "\"reason\":\"network_down\""), 1);
    proxy_stop(&px);
}

/* Many connections: 300 clients at once through a proxy allowed 40 open connections; every
 * echo completes (the others wait in the backlog). */
static void test_many(void **state)
{
    enum { N = 300, LEN = 1000 };
    struct proxy px;
    const char *args[] = {"--max-conns", "40", "--latency", "5", NULL};
    proxy_start(&px, g_echo.port, args);
    static int fds[N];
    static size_t got[N];
    char out[LEN];
    memset(out, 'm', sizeof out);
    for (int i = 0; i < N; i++) {
        fds[i] = tcp_connect(px.port);
        assert_true(fds[i] >= 0);
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
        assert_int_equal(send(fds[i], out, LEN, MSG_NOSIGNAL), LEN);
        got[i] = 0;
    }
    /* close each connection once its echo is complete, so the proxy frees slots */
    unsigned done = 0;
    int64_t end = now_ms() + 60000;
    static struct pollfd pf[N];
    while (done < N && now_ms() < end) {
        int n = 0;
        for (int i = 0; i < N; i++)
            if (fds[i] >= 0)
                pf[n++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        poll(pf, (nfds_t)n, 100);
        for (int i = 0; i < N; i++) {
            if (fds[i] < 0)
                continue;
            char in[LEN];
            ssize_t r = recv(fds[i], in, sizeof in, 0);
            if (r > 0)
                got[i] += (size_t)r;
            if (got[i] >= LEN || r == 0 || (r < 0 && errno != EAGAIN)) {
                close(fds[i]);
                fds[i] = -1;
                done++;
            }
        }
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(got[i], LEN);
    proxy_stop(&px);
    assert_int_equal(log_count(&px, "\"event\":\"summary\"", "\"accepted\":300,"), 1);
    assert_int_equal(log_count(&px, "\"event\":\"summary\"", "\"max_open\":40,"), 1);
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/* Bounded memory: a source pushing 256 MiB to 4 clients that do not read does not grow the
 * proxy (64 KiB per direction; the rest waits in the sender through TCP backpressure). */
static void test_backpressure(void **state)
{
    struct proxy px;
    const char *args[] = {"--buffer", "65536", NULL};
    g_source.source_bytes = 256u << 20;
    proxy_start(&px, g_source.port, args);
    sleep_ms(200);
    long before = rss_kb(px.pid);
    int fds[4];
    for (int i = 0; i < 4; i++)
        fds[i] = tcp_connect(px.port);
    sleep_ms(1500);
    long after = rss_kb(px.pid);
    print_message("# rsp-impair RSS %ld kB -> %ld kB with 4 stalled 256 MiB transfers\n", before,
                  after);
    assert_true(before > 0 && after > 0);
    assert_true(after - before < 16 * 1024);
    /* and the data still flows once the client reads */
    int err = -1;
    set_rcvtimeo(fds[0], 2000);
    char buf[65536];
    assert_true(recv(fds[0], buf, sizeof buf, 0) > 0);
    (void)err;
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    proxy_stop(&px);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: impair_e2e RSP_IMPAIR\n");
        return 2;
    }
    g_bin = argv[1];
    signal(SIGPIPE, SIG_IGN);
    server_start(&g_echo);
    server_start(&g_source);
    server_start(&g_sink);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage),         cmocka_unit_test(test_passthrough),
        cmocka_unit_test(test_latency),       cmocka_unit_test(test_jitter),
        cmocka_unit_test(test_rate),          cmocka_unit_test(test_stall_every),
        cmocka_unit_test(test_stall_prob),    cmocka_unit_test(test_reset_after),
        cmocka_unit_test(test_drop_fraction), cmocka_unit_test(test_drop_modes),
        cmocka_unit_test(test_first_k),       cmocka_unit_test(test_upstream_down),
        cmocka_unit_test(test_control),       cmocka_unit_test(test_many),
        cmocka_unit_test(test_backpressure),
    };
    return cmocka_run_group_tests_name("impair_e2e", tests, NULL, NULL);
}
