/* rsp-impair: user-space TCP impairment proxy for tests (include/rsp/impair.h, src/ops/impair.c).
 *
 *   rsp-impair --listen ADDR:PORT --upstream HOST:PORT [options]
 *   rsp-impair --plan N --seed S [options]      the drop plan of the first N connections
 *
 * Exit status: 0 stopped by SIGTERM/SIGINT, 1 cannot start (address, listen), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "rsp/err.h"
#include "rsp/fileio.h"
#include "rsp/impair.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
    "usage: rsp-impair --listen ADDR:PORT --upstream HOST:PORT [options]\n"
    "       rsp-impair --plan N --seed S [options]\n"
    "\n"
    "A TCP proxy for tests that impairs the connections it forwards (TLS passes through\n"
    "untouched): latency, jitter, bandwidth cap, stalls, resets after N bytes, drops of a\n"
    "fraction of connections mid-transfer, refused or black-holed first connections.\n"
    "c2s is client -> upstream, s2c upstream -> client. Per-direction options apply to both\n"
    "directions; use --set c2s.KEY=VALUE or s2c.KEY=VALUE for one.\n"
    "\n"
    "  --listen ADDR:PORT     numeric address to listen on; port 0 picks a free port\n"
    "  --upstream HOST:PORT   where connections go (resolved once at start)\n"
    "  --port-file FILE       write the bound port there (atomically) once listening\n"
    "  --log FILE             JSON-lines event log ('-': standard error)\n"
    "  --control FILE         KEY=VALUE lines laid over the options, re-read when the file\n"
    "                         changes (checked every 100 ms) and on SIGHUP; a removed file\n"
    "                         restores the options; a bad file changes nothing\n"
    "  --seed N               seed of every random draw (default: random, logged)\n"
    "  --set KEY=VALUE        any key of the control file (repeatable)\n"
    "  --plan N               print which of the first N connections the options and --seed\n"
    "                         drop, in which direction and at which byte (one JSON line each,\n"
    "                         connections numbered from 1 in accept order), then exit\n"
    "\n"
    "per direction:\n"
    "  --latency MS           one-way delay added (latency)\n"
    "  --jitter MS            delay spread (jitter)\n"
    "  --jitter-dist uniform|normal   uniform in latency+-jitter, or normal with sd jitter\n"
    "                         (jitter_dist)\n"
    "  --rate BYTES/S         bandwidth cap, 0 none (rate)\n"
    "  --stall-prob P         probability that a chunk read stalls the direction (stall_prob)\n"
    "  --stall-every BYTES    stall after every BYTES forwarded (stall_every)\n"
    "  --stall-ms MS          length of a stall (stall_ms)\n"
    "  --reset-after BYTES    RST once BYTES were forwarded; the receiver gets exactly BYTES\n"
    "                         (reset_after)\n"
    "per connection:\n"
    "  --drop-fraction F      drop this fraction of connections mid-transfer (drop_fraction)\n"
    "  --drop-range MIN-MAX   at a byte offset uniform in MIN..MAX, default 1-65536\n"
    "                         (drop_range)\n"
    "  --drop-dir c2s|s2c|both   the direction the offset counts in; both: either, at random\n"
    "                         (drop_dir, default both)\n"
    "  --drop-mode reset|close|hang   RST, FIN, or nothing more forwarded until the client\n"
    "                         gives up (drop_mode, default reset)\n"
    "  --refuse-first K       reset the first K connections at once (refuse_first)\n"
    "  --drop-first K         hold the first K connections silent (drop_first)\n"
    "  --network up|down|blackhole   down: connections refused, open ones reset; blackhole:\n"
    "                         nothing forwarded (network)\n"
    "limits:\n"
    "  --buffer BYTES         buffer per direction and connection (default 65536)\n"
    "  --max-conns N          open connections at most, more wait in the backlog (1024)\n"
    "  --connect-timeout MS   upstream connect (default 10000)\n"
    "  --flush-timeout MS     wait for acknowledgement before a cut (default 2000)\n"
    "\n"
    "Events (--log): listening, accept, refused, hold, upstream_connected, upstream_failed,\n"
    "stall, reset, drop, closed (reason, bytes each way, duration), control, control_error,\n"
    "network, summary (also printed on standard error at SIGTERM/SIGINT).\n"
    "Exit status: 0 stopped by a signal, 1 cannot start, 2 usage error.\n";

static void usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "rsp-impair: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    fprintf(stderr, "usage: rsp-impair --listen ADDR:PORT --upstream HOST:PORT [options] "
                    "(--help for all)\n");
}

/* Options that are one parameter key. */
static const struct {
    const char *opt, *key;
} aliases[] = {
    {"--latency", "latency"},
    {"--jitter", "jitter"},
    {"--jitter-dist", "jitter_dist"},
    {"--rate", "rate"},
    {"--stall-prob", "stall_prob"},
    {"--stall-every", "stall_every"},
    {"--stall-ms", "stall_ms"},
    {"--reset-after", "reset_after"},
    {"--drop-fraction", "drop_fraction"},
    {"--drop-range", "drop_range"},
    {"--drop-dir", "drop_dir"},
    {"--drop-mode", "drop_mode"},
    {"--refuse-first", "refuse_first"},
    {"--drop-first", "drop_first"},
    {"--network", "network"},
};

static struct rsp_impair *g_proxy;

static void on_stop(int sig)
{
    (void)sig;
    if (g_proxy)
        rsp_impair_request_stop(g_proxy);
}

static void on_hup(int sig)
{
    (void)sig;
    if (g_proxy)
        rsp_impair_request_reload(g_proxy);
}

/* Decimal number in [0, max]. */
static int num(const char *s, unsigned long long max, unsigned long long *out)
{
    if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 20)
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno || v > max)
        return -1;
    *out = v;
    return 0;
}

static uint64_t random_seed(void)
{
    uint32_t v = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, &v, sizeof v) != (ssize_t)sizeof v)
        v = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
    if (fd >= 0)
        close(fd);
    return v;
}

/* --plan: the drop decision of connections 1..n as the proxy would make it at accept
 * (rsp_impair_plan_conn); connections refused or held first (refuse_first, drop_first) take a
 * number too, but their plan never applies. */
static int print_plan(const struct rsp_impair_params *p, uint64_t seed, unsigned long long n)
{
    for (unsigned long long id = 1; id <= n; id++) {
        struct rsp_impair_plan plan;
        rsp_impair_plan_conn(p, seed, id, &plan);
        if (plan.drop)
            printf("{\"conn\":%llu,\"drop\":true,\"dir\":\"%s\",\"at\":%llu}\n", id,
                   plan.drop_in == RSP_IMPAIR_C2S ? "c2s" : "s2c",
                   (unsigned long long)plan.drop_at);
        else
            printf("{\"conn\":%llu,\"drop\":false}\n", id);
    }
    return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_OK : EXIT_FAIL;
}

int main(int argc, char **argv)
{
    struct rsp_impair_config cfg = {0};
    rsp_impair_params_default(&cfg.params);
    const char *port_file = NULL, *log_path = NULL;
    bool have_seed = false;
    unsigned long long plan_n = 0;
    char err[256];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        }
        if (strncmp(a, "--", 2) != 0) {
            usage_error("unexpected argument", a);
            return EXIT_USAGE;
        }
        char name[64];
        const char *eq = strchr(a, '=');
        if (eq) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
            v = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a);
            if (i + 1 >= argc) {
                usage_error("missing value for", a);
                return EXIT_USAGE;
            }
            v = argv[++i];
        }
        unsigned long long n;
        int rc = 0;
        const char *key = NULL;
        for (size_t k = 0; k < sizeof aliases / sizeof aliases[0]; k++)
            if (!strcmp(name, aliases[k].opt))
                key = aliases[k].key;
        if (key) {
            rc = rsp_impair_params_set(&cfg.params, key, v, err, sizeof err);
        } else if (!strcmp(name, "--set")) {
            rc = rsp_impair_params_set_kv(&cfg.params, v, err, sizeof err);
        } else if (!strcmp(name, "--listen")) {
            cfg.listen = v;
        } else if (!strcmp(name, "--upstream")) {
            cfg.upstream = v;
        } else if (!strcmp(name, "--port-file")) {
            port_file = v;
        } else if (!strcmp(name, "--log")) {
            log_path = v;
        } else if (!strcmp(name, "--control")) {
            cfg.control_file = v;
        } else if (!strcmp(name, "--seed")) {
            if (num(v, UINT64_MAX, &n) != 0) {
                usage_error("--seed wants a decimal number", v);
                return EXIT_USAGE;
            }
            cfg.seed = n;
            have_seed = true;
        } else if (!strcmp(name, "--plan")) {
            if (num(v, 1000000, &n) != 0 || n < 1) {
                usage_error("--plan wants 1 to 1000000 connections", v);
                return EXIT_USAGE;
            }
            plan_n = n;
        } else if (!strcmp(name, "--buffer")) {
            if (num(v, 64u << 20, &n) != 0 || n < 16) {
                usage_error("--buffer wants 16 to 67108864 bytes", v);
                return EXIT_USAGE;
            }
            cfg.buffer = (size_t)n;
        } else if (!strcmp(name, "--max-conns")) {
            if (num(v, 100000, &n) != 0 || n < 1) {
                usage_error("--max-conns wants 1 to 100000", v);
                return EXIT_USAGE;
            }
            cfg.max_conns = (unsigned)n;
        } else if (!strcmp(name, "--connect-timeout") || !strcmp(name, "--flush-timeout")) {
            if (num(v, RSP_IMPAIR_MAX_MS, &n) != 0 || n < 1) {
                usage_error("a timeout wants 1 to 3600000 ms", v);
                return EXIT_USAGE;
            }
            if (name[2] == 'c')
                cfg.connect_timeout_ms = (unsigned)n;
            else
                cfg.flush_timeout_ms = (unsigned)n;
        } else {
            usage_error("unknown option", a);
            return EXIT_USAGE;
        }
        if (rc) {
            usage_error(err, NULL);
            return EXIT_USAGE;
        }
    }
    if (plan_n && !have_seed) {
        usage_error("--plan needs --seed (the plan depends on it)", NULL);
        return EXIT_USAGE;
    }
    if (!plan_n && (!cfg.listen || !cfg.upstream)) {
        usage_error("--listen and --upstream are required", NULL);
        return EXIT_USAGE;
    }
    if (rsp_impair_params_check(&cfg.params, err, sizeof err) != 0) {
        usage_error(err, NULL);
        return EXIT_USAGE;
    }
    if (plan_n)
        return print_plan(&cfg.params, cfg.seed, plan_n);
    if (!have_seed)
        cfg.seed = random_seed();
    FILE *log = NULL;
    if (log_path) {
        log = strcmp(log_path, "-") ? fopen(log_path, "a") : stderr;
        if (!log) {
            fprintf(stderr, "rsp-impair: cannot open %s: %s\n", log_path, strerror(errno));
            return EXIT_FAIL;
        }
    }
    cfg.log = log;

    /* two descriptors per connection */
    struct rlimit rl;
    unsigned want = 2 * (cfg.max_conns ? cfg.max_conns : 1024) + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    struct sigaction sa = {0};
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    struct rsp_impair *p = NULL;
    int rc = rsp_impair_new(&cfg, &p, err, sizeof err);
    if (rc) {
        fprintf(stderr, "rsp-impair: %s (%s)\n", err[0] ? err : "cannot start", rsp_strerror(rc));
        if (log && log != stderr)
            fclose(log);
        return rc == RSP_ESYNTAX || rc == RSP_EINVAL ? EXIT_USAGE : EXIT_FAIL;
    }
    g_proxy = p;
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);

    unsigned port = rsp_impair_port(p);
    if (port_file) {
        char txt[16];
        int len = snprintf(txt, sizeof txt, "%u\n", port);
        if (rsp_file_write_atomic(port_file, txt, (size_t)len, 0644) != 0) {
            fprintf(stderr, "rsp-impair: cannot write %s\n", port_file);
            rsp_impair_free(p);
            if (log && log != stderr)
                fclose(log);
            return EXIT_FAIL;
        }
    }
    fprintf(stderr, "rsp-impair: listening on port %u, upstream %s, seed %llu\n", port,
            cfg.upstream, (unsigned long long)cfg.seed);
    rc = rsp_impair_run(p);
    struct rsp_impair_stats st;
    rsp_impair_get_stats(p, &st);
    fprintf(stderr,
            "rsp-impair: stopped: %llu connections accepted (%llu refused, %llu held), %llu "
            "dropped, %llu reset after N bytes, %llu reset by network down, %llu upstream "
            "failures, %llu stalls; bytes c2s %llu, s2c %llu; at most %u open\n",
            (unsigned long long)st.accepted, (unsigned long long)st.refused,
            (unsigned long long)st.held, (unsigned long long)st.drops,
            (unsigned long long)st.resets, (unsigned long long)st.network_resets,
            (unsigned long long)st.upstream_failed, (unsigned long long)st.stalls,
            (unsigned long long)st.bytes[0], (unsigned long long)st.bytes[1], st.max_open);
    g_proxy = NULL;
    rsp_impair_free(p);
    if (log && log != stderr)
        fclose(log);
    return rc ? EXIT_FAIL : EXIT_OK;
}
