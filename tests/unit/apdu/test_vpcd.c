/* vpcd adapter: address parsing and the serve loop against an in-test fake vpcd (a TCP listener
 * that speaks the length-prefixed protocol): ATR, power events, APDUs, reconnect, stop. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rsp/err.h"
#include "rsp/vpcd.h"

static void test_parse_addr(void **state)
{
    (void)state;
    char host[64];
    uint16_t port = 0;
    assert_int_equal(rsp_vpcd_parse_addr("127.0.0.1:35963", host, sizeof host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 35963);
    assert_int_equal(rsp_vpcd_parse_addr("localhost:1", host, sizeof host, &port), 0);
    assert_string_equal(host, "localhost");
    assert_int_equal(rsp_vpcd_parse_addr("[::1]:8080", host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 8080);
    const char *bad[] = {"",           "host",    "host:",     ":80",  "host:0",
                         "host:65536", "host:8x", "[::1]8080", "[::1", "h:-1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(rsp_vpcd_parse_addr(bad[i], host, sizeof host, &port), RSP_ESYNTAX);
    char tiny[4];
    assert_int_equal(rsp_vpcd_parse_addr("abcd:1", tiny, sizeof tiny, &port), RSP_ESYNTAX);
    assert_int_equal(rsp_vpcd_parse_addr(NULL, host, sizeof host, &port), RSP_EINVAL);
}

static int echo(void *ctx, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    (void)ctx;
    return rsp_buf_append(resp, cmd, len);
}

struct server {
    struct rsp_apdu_card *card;
    uint16_t port;
    volatile sig_atomic_t stop;
    int rc;
};

static void *serve_thread(void *arg)
{
    struct server *s = arg;
    s->rc = rsp_vpcd_serve("127.0.0.1", s->port, s->card, &s->stop, 0);
    return NULL;
}

static int listen_any(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 1), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static int accept_within(int lfd, int ms)
{
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, ms), 1);
    int fd = accept(lfd, NULL, NULL);
    assert_true(fd >= 0);
    return fd;
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        p += w;
        n -= (size_t)w;
    }
}

static void recv_all(int fd, uint8_t *p, size_t n)
{
    while (n) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&pf, 1, 5000), 1);
        ssize_t r = recv(fd, p, n, 0);
        assert_true(r > 0);
        p += r;
        n -= (size_t)r;
    }
}

static void send_msg(int fd, const char *hex)
{
    struct rsp_buf b = tu_hex(hex);
    uint8_t h[2] = {(uint8_t)(b.len >> 8), (uint8_t)b.len};
    send_all(fd, h, 2);
    send_all(fd, b.data, b.len);
    rsp_buf_free(&b);
}

static struct rsp_buf recv_msg(int fd)
{
    uint8_t h[2];
    recv_all(fd, h, 2);
    size_t n = ((size_t)h[0] << 8) | h[1];
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_buf_reserve(&b, n + 1), 0);
    recv_all(fd, b.data, n);
    b.len = n;
    return b;
}

static void expect(int fd, const char *hex)
{
    struct rsp_buf b = recv_msg(fd);
    tu_assert_hex(b.data, b.len, hex);
    rsp_buf_free(&b);
}

static void test_serve(void **state)
{
    (void)state;
    struct server s = {0};
    struct rsp_apdu_card_opts o = {.handle = echo};
    assert_int_equal(rsp_apdu_card_new(&s.card, &o), 0);
    int lfd = listen_any(&s.port);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, serve_thread, &s), 0);

    int fd = accept_within(lfd, 5000);
    /* ATR on request; power events get no answer */
    send_msg(fd, "04");
    const uint8_t *atr;
    size_t al = rsp_apdu_card_atr(&atr);
    struct rsp_buf b = recv_msg(fd);
    assert_int_equal(b.len, al);
    assert_memory_equal(b.data, atr, al);
    rsp_buf_free(&b);
    send_msg(fd, "01");
    send_msg(fd, "02");
    send_msg(fd, "07"); /* unknown control code: ignored */
    send_msg(fd, "00A4040C 10 A0000005591010FFFFFFFF8900000100");
    expect(fd, "9000");
    /* a message split across TCP writes */
    uint8_t part1[] = {0x00, 0x09, 0x80, 0xE2, 0x91};
    uint8_t part2[] = {0x00, 0x03, 0xBF, 0x2E, 0x00, 0x00};
    send_all(fd, part1, sizeof part1);
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    send_all(fd, part2, sizeof part2);
    expect(fd, "BF2E00 9000");
    send_msg(fd, "04");
    rsp_buf_free(&b);
    b = recv_msg(fd);
    assert_int_equal(b.len, al);
    rsp_buf_free(&b);
    /* a power off resets the selection */
    send_msg(fd, "00");
    send_msg(fd, "80E2910003BF2E0000");
    expect(fd, "6985");

    /* connection lost: the card connects again (about 1 s later), with a fresh state */
    send_msg(fd, "00A4040C 10 A0000005591010FFFFFFFF8900000100");
    expect(fd, "9000");
    close(fd);
    fd = accept_within(lfd, 5000);
    send_msg(fd, "80E2910003BF2E0000");
    expect(fd, "6985");

    /* stop request: the loop returns within a poll period or so */
    s.stop = 1;
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(s.rc, 0);
    close(fd);

    /* stop while nobody listens (connect refused, retry loop) */
    close(lfd);
    s.stop = 0;
    assert_int_equal(pthread_create(&th, NULL, serve_thread, &s), 0);
    nanosleep(&ts, NULL);
    s.stop = 1;
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(s.rc, 0);

    volatile sig_atomic_t st = 0;
    assert_int_equal(rsp_vpcd_serve(NULL, 1, s.card, &st, 0), RSP_EINVAL);
    assert_int_equal(rsp_vpcd_serve("127.0.0.1", 0, s.card, &st, 0), RSP_EINVAL);
    rsp_apdu_card_free(s.card);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_addr),
        cmocka_unit_test(test_serve),
    };
    return cmocka_run_group_tests_name("vpcd", tests, NULL, NULL);
}
