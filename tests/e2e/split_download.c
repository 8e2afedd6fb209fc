/* Scale-out client: one profile download whose ES9+ calls go to different rsp-smdp processes.
 *
 *   split_download --pki DIR --state FILE --address HOST:PORT --backend PORT_A --backend PORT_B
 *                  --plan ABAB --matching-id ID
 *
 * The program is the device: the LPA (rsp_lpa_download, src/lpa) over the software eUICC of the
 * test PKI in DIR (tests/common/euicc_fx.c; its state kept in FILE), talking HTTPS to HOST:PORT
 * like any phone. HOST:PORT is a TCP forwarder inside this program (a layer-4 load balancer on
 * 127.0.0.1:PORT) that connects each new connection to 127.0.0.1:PORT_A or 127.0.0.1:PORT_B.
 * Before each ES9+ call the LPA announces (its progress event), the forwarder is pointed at the
 * backend that the plan names for that call (plan letter i for the i-th of initiateAuthentication,
 * authenticateClient, getBoundProfilePackage, handleNotification, cancelSession) and, when the
 * backend changes, the open connections are closed: the next call opens a new connection, to the
 * other process. TLS is end to end between the LPA and each rsp-smdp (the forwarder sees bytes).
 *
 * Prints one "call <function> -> <backend>" line per ES9+ call; the test passes when the profile
 * is installed and every call went where the plan said. tests/e2e/pg_scaleout.sh checks the
 * other side (which process served which call, and the database). TAP output (cmocka). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "euicc_fx.h"
#include "rsp/apdu.h"
#include "rsp/apdu_card.h"
#include "rsp/err.h"
#include "rsp/es9p_client.h"
#include "rsp/lpa.h"

static const char *g_pki, *g_state, *g_address, *g_plan, *g_mid;
static unsigned g_listen, g_backend[2];
static size_t g_nbackends;

/* ---- the forwarder ---- */

#define MAX_CONNS 64

static struct {
    int lfd;
    pthread_t acceptor;
    pthread_mutex_t mu;
    int target; /* index into g_backend */
    int client[MAX_CONNS], upstream[MAX_CONNS];
    size_t n_open;
    unsigned accepted[2];
} fw = {.lfd = -1, .mu = PTHREAD_MUTEX_INITIALIZER};

static void pump_copy_until_eof(int a, int b)
{
    char buf[16384];
    struct pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        for (int i = 0; i < 2; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = recv(p[i].fd, buf, sizeof buf, 0);
            if (n <= 0)
                return;
            for (ssize_t off = 0; off < n;) {
                ssize_t w = send(p[1 - i].fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
                if (w <= 0)
                    return;
                off += w;
            }
        }
    }
}

static void *pump(void *arg)
{
    int slot = (int)(intptr_t)arg;
    pthread_mutex_lock(&fw.mu);
    int a = fw.client[slot], b = fw.upstream[slot];
    pthread_mutex_unlock(&fw.mu);
    pump_copy_until_eof(a, b);
    pthread_mutex_lock(&fw.mu);
    close(fw.client[slot]);
    close(fw.upstream[slot]);
    fw.client[slot] = fw.upstream[slot] = -1;
    fw.n_open--;
    pthread_mutex_unlock(&fw.mu);
    return NULL;
}

static int connect_local(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void *acceptor(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(fw.lfd, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL; /* listening socket shut down */
        }
        pthread_mutex_lock(&fw.mu);
        int t = fw.target;
        pthread_mutex_unlock(&fw.mu);
        int u = connect_local(g_backend[t]);
        if (u < 0) {
            close(c);
            continue;
        }
        pthread_mutex_lock(&fw.mu);
        int slot = -1;
        for (int i = 0; i < MAX_CONNS && slot < 0; i++)
            if (fw.client[i] < 0)
                slot = i;
        if (slot < 0) {
            pthread_mutex_unlock(&fw.mu);
            close(c);
            close(u);
            continue;
        }
        fw.client[slot] = c;
        fw.upstream[slot] = u;
        fw.n_open++;
        fw.accepted[t]++;
        pthread_mutex_unlock(&fw.mu);
        pthread_t th;
        if (pthread_create(&th, NULL, pump, (void *)(intptr_t)slot) == 0)
            pthread_detach(th);
    }
}

static void fw_start(void)
{
    for (int i = 0; i < MAX_CONNS; i++)
        fw.client[i] = fw.upstream[i] = -1;
    fw.lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fw.lfd >= 0);
    int one = 1;
    setsockopt(fw.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_listen)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fw.lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fw.lfd, 16) != 0)
        fail_msg("forwarder: cannot listen on 127.0.0.1:%u: %s", g_listen, strerror(errno));
    assert_int_equal(pthread_create(&fw.acceptor, NULL, acceptor, NULL), 0);
}

/* Points new connections at backend t and closes the open ones when it changes. */
static void fw_switch(int t)
{
    pthread_mutex_lock(&fw.mu);
    if (fw.target != t) {
        fw.target = t;
        for (int i = 0; i < MAX_CONNS; i++)
            if (fw.client[i] >= 0) {
                shutdown(fw.client[i], SHUT_RDWR);
                shutdown(fw.upstream[i], SHUT_RDWR);
            }
    }
    pthread_mutex_unlock(&fw.mu);
}

static void fw_stop(void)
{
    shutdown(fw.lfd, SHUT_RDWR);
    pthread_join(fw.acceptor, NULL);
    close(fw.lfd);
    fw_switch(fw.target == 0 ? 1 : 0); /* closes whatever is still open */
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&fw.mu);
        size_t n = fw.n_open;
        pthread_mutex_unlock(&fw.mu);
        if (n == 0)
            break;
        usleep(10000);
    }
}

/* ---- the download ---- */

static size_t g_calls;
static char g_routed[8][48];

static void on_event(void *ctx, const char *step, size_t i, size_t n)
{
    (void)ctx;
    (void)i;
    (void)n;
    static const char *const es9[] = {"initiateAuthentication", "authenticateClient",
                                      "getBoundProfilePackage", "handleNotification",
                                      "cancelSession"};
    bool is_call = false;
    for (size_t k = 0; k < sizeof es9 / sizeof es9[0]; k++)
        is_call |= strcmp(step, es9[k]) == 0;
    if (!is_call)
        return;
    size_t plen = strlen(g_plan);
    char letter = g_plan[g_calls < plen ? g_calls : plen - 1];
    int t = letter == 'B' ? 1 : 0;
    fw_switch(t);
    printf("# call %s -> %c (127.0.0.1:%u)\n", step, 'A' + t, g_backend[t]);
    if (g_calls < 8)
        snprintf(g_routed[g_calls], sizeof g_routed[0], "%s %c", step, 'A' + t);
    g_calls++;
}

static void test_split_download(void **st)
{
    (void)st;
    fx_pki_load(g_pki);
    fw_start();
    struct rsp_euicc *e = fx_euicc(0, g_state, NULL);
    struct rsp_apdu_card *card = NULL;
    struct rsp_apdu_card_opts co = {.handle = rsp_euicc_process, .handle_ctx = e};
    assert_int_equal(rsp_apdu_card_new(&card, &co), 0);
    struct rsp_apdu_transport *t = NULL;
    assert_int_equal(rsp_apdu_loopback_new(&t, card), 0);
    struct rsp_es10 s;
    struct rsp_es10_opts eo = {.block_size = 255};
    assert_int_equal(rsp_es10_open(&s, t, &eo), 0);

    char ca[1024];
    snprintf(ca, sizeof ca, "%s/nist/ci.pem", g_pki);
    struct rsp_es9p_client_opts o = {.ca_file = ca, .timeout_ms = 30000};
    struct rsp_es9p_client *c = NULL;
    assert_int_equal(rsp_es9p_client_new(&o, &c), 0);
    struct rsp_lpa_download_opts dl = {.smdp_address = g_address,
                                       .matching_id = g_mid,
                                       .tac = {0x35, 0x29, 0x06, 0x11},
                                       .event = on_event};
    struct rsp_lpa_download_result r;
    int rc = rsp_lpa_download(&s, c, &dl, &r);
    printf("# download: %s (step %s, kind %d)\n", r.message, r.step ? r.step : "-", (int)r.kind);
    long conns = rsp_es9p_client_connections(c);
    rsp_es9p_client_free(c);
    rsp_es10_close(&s);
    rsp_apdu_transport_free(t);
    rsp_apdu_card_free(card);
    rsp_euicc_free(e);
    fw_stop();
    printf("# forwarder: %u connection(s) to A, %u to B; the LPA opened %ld\n", fw.accepted[0],
           fw.accepted[1], conns);

    assert_int_equal(rc, 0);
    assert_int_equal(r.kind, RSP_LPA_DL_OK);
    assert_true(r.notification_sent);
    printf("installed %s\n", r.iccid);
    /* the four calls of a download, each where the plan put it */
    assert_int_equal(g_calls, 4);
    for (size_t i = 0; i < g_calls; i++)
        printf("routed %s\n", g_routed[i]);
    /* every backend the plan names received at least one connection */
    for (int b = 0; b < 2; b++)
        if (strchr(g_plan, 'A' + b))
            assert_true(fw.accepted[b] >= 1);
}

static void usage(void)
{
    fprintf(stderr, "usage: split_download --pki DIR --state FILE --address HOST:PORT "
                    "--backend PORT_A --backend PORT_B --plan ABAB --matching-id ID\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        const char *k = argv[i], *v = argv[++i];
        if (!strcmp(k, "--pki"))
            g_pki = v;
        else if (!strcmp(k, "--state"))
            g_state = v;
        else if (!strcmp(k, "--address"))
            g_address = v;
        else if (!strcmp(k, "--plan"))
            g_plan = v;
        else if (!strcmp(k, "--matching-id"))
            g_mid = v;
        else if (!strcmp(k, "--backend") && g_nbackends < 2)
            g_backend[g_nbackends++] = (unsigned)atoi(v);
        else
            usage();
    }
    const char *colon = g_address ? strrchr(g_address, ':') : NULL;
    if (!g_pki || !g_state || !colon || !g_plan || !*g_plan || !g_mid || g_nbackends != 2 ||
        strspn(g_plan, "AB") != strlen(g_plan))
        usage();
    g_listen = (unsigned)atoi(colon + 1);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_split_download)};
    return cmocka_run_group_tests_name("split_download", tests, NULL, NULL);
}
