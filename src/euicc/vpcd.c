/* vpcd client loop (see rsp/vpcd.h). Protocol facts from vsmartcard's vpcd: 2-byte big-endian
 * length prefix both ways; 1-byte messages are control codes, only "get ATR" is answered. vpcd
 * polls card presence by asking for the ATR, so that request can come at any time. */
#include "rsp/vpcd.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>
#include <unistd.h>

#include "rsp/err.h"

#define VPCD_CTRL_OFF   0
#define VPCD_CTRL_ON    1
#define VPCD_CTRL_RESET 2
#define VPCD_CTRL_ATR   4

#define POLL_MS 200

int rsp_vpcd_parse_addr(const char *s, char *host, size_t hostlen, uint16_t *port)
{
    if (!s || !host || hostlen == 0 || !port)
        return RSP_EINVAL;
    const char *colon;
    const char *h = s;
    size_t hl;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':')
            return RSP_ESYNTAX;
        h = s + 1;
        hl = (size_t)(end - h);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return RSP_ESYNTAX;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= hostlen)
        return RSP_ESYNTAX;
    const char *ps = colon + 1;
    if (*ps == '\0')
        return RSP_ESYNTAX;
    unsigned long v = 0;
    for (const char *q = ps; *q; q++) {
        if (*q < '0' || *q > '9')
            return RSP_ESYNTAX;
        v = v * 10 + (unsigned long)(*q - '0');
        if (v > 65535)
            return RSP_ESYNTAX;
    }
    if (v == 0)
        return RSP_ESYNTAX;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (uint16_t)v;
    return 0;
}

static int connect_to(const char *host, uint16_t port)
{
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (getaddrinfo(host, service, &hints, &res) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

/* Reads exactly n bytes. 1 done, 0 stop requested, -1 connection lost or error. While waiting
 * for the first byte of a message (`idle`), wakes up every POLL_MS to look at *stop. */
static int read_full(int fd, uint8_t *p, size_t n, volatile sig_atomic_t *stop)
{
    size_t got = 0;
    while (got < n) {
        if (*stop)
            return 0;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, POLL_MS);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (pr == 0)
            continue;
        ssize_t r = recv(fd, p + got, n - got, 0);
        if (r == 0)
            return -1;
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        got += (size_t)r;
    }
    return 1;
}

static int write_msg(int fd, const uint8_t *p, size_t n)
{
    if (n > 0xFFFF)
        return -1;
    uint8_t hdr[2] = {(uint8_t)(n >> 8), (uint8_t)n};
    const uint8_t *parts[2] = {hdr, p};
    size_t lens[2] = {2, n};
    for (int i = 0; i < 2; i++) {
        size_t off = 0;
        while (off < lens[i]) {
            ssize_t w = send(fd, parts[i] + off, lens[i] - off, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return -1;
            }
            off += (size_t)w;
        }
    }
    return 0;
}

static void sleep_interruptible(volatile sig_atomic_t *stop, int ms)
{
    for (int t = 0; t < ms && !*stop; t += 100) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Serves one connection: 1 when it dropped, 0 on a stop request, negative RSP_E* when the card
 * front-end failed (out of memory). */
static int serve_conn(int fd, struct rsp_apdu_card *card, volatile sig_atomic_t *stop, int verbose)
{
    uint8_t *msg = malloc(0xFFFF);
    struct rsp_buf r = RSP_BUF_INIT;
    int rc = 1;
    if (!msg)
        return RSP_ENOMEM;
    for (;;) {
        uint8_t hdr[2];
        int k = read_full(fd, hdr, 2, stop);
        if (k <= 0) {
            rc = k == 0 ? 0 : 1;
            break;
        }
        size_t n = ((size_t)hdr[0] << 8) | hdr[1];
        k = read_full(fd, msg, n, stop);
        if (k <= 0) {
            rc = k == 0 ? 0 : 1;
            break;
        }
        if (n == 0)
            continue;
        if (n == 1) {
            switch (msg[0]) {
            case VPCD_CTRL_OFF:
            case VPCD_CTRL_ON:
            case VPCD_CTRL_RESET:
                /* Every power event is a reset of the card state; none is answered. */
                rsp_apdu_card_reset(card);
                if (verbose)
                    fprintf(stderr, "vpcd: %s\n",
                            msg[0] == VPCD_CTRL_OFF  ? "power off"
                            : msg[0] == VPCD_CTRL_ON ? "power on"
                                                     : "reset");
                continue;
            case VPCD_CTRL_ATR: {
                const uint8_t *atr;
                size_t al = rsp_apdu_card_atr(&atr);
                if (write_msg(fd, atr, al) != 0)
                    goto lost;
                continue;
            }
            default:
                if (verbose)
                    fprintf(stderr, "vpcd: ignoring unknown control code %u\n", msg[0]);
                continue;
            }
        }
        rsp_buf_reset(&r);
        int prc = rsp_apdu_card_process(card, msg, n, &r);
        if (prc != 0) {
            rc = prc;
            break;
        }
        if (write_msg(fd, r.data, r.len) != 0)
            goto lost;
    }
    goto out;
lost:
    rc = 1;
out:
    rsp_buf_free_secure(&r);
    free(msg);
    return rc;
}

int rsp_vpcd_serve(const char *host, uint16_t port, struct rsp_apdu_card *card,
                   volatile sig_atomic_t *stop, int verbose)
{
    if (!host || !card || !stop || port == 0)
        return RSP_EINVAL;
    bool said_waiting = false;
    while (!*stop) {
        int fd = connect_to(host, port);
        if (fd < 0) {
            if (verbose && !said_waiting)
                fprintf(stderr, "vpcd: cannot connect to %s:%u (%s); retrying every second\n", host,
                        (unsigned)port, strerror(errno));
            said_waiting = true;
            sleep_interruptible(stop, 1000);
            continue;
        }
        said_waiting = false;
        if (verbose)
            fprintf(stderr, "vpcd: connected to %s:%u\n", host, (unsigned)port);
        rsp_apdu_card_reset(card);
        int rc = serve_conn(fd, card, stop, verbose);
        close(fd);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            if (verbose)
                fprintf(stderr, "vpcd: connection lost; reconnecting\n");
            sleep_interruptible(stop, 1000);
        }
    }
    if (verbose)
        fprintf(stderr, "vpcd: stopped\n");
    return 0;
}
