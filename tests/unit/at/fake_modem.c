/* Fake modem on a pseudo-terminal (see fake_modem.h). */
#define _XOPEN_SOURCE 700
#include "fake_modem.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "rsp/buf.h"

#define FM_MAX_CMD  4096
#define FM_LOG      8192
#define FM_LOG_NAME 16

struct fake_modem {
    int master, slave;
    char path[128];
    struct rsp_apdu_card *card;
    struct fm_opts o;
    pthread_t thread;
    pthread_mutex_t mu;
    bool stop;
    bool echo;
    char fault_prefix[32];
    enum fm_fault fault;
    int channel_of[64]; /* session id -> card channel, 0: none */
    char log[FM_LOG][FM_LOG_NAME];
    size_t nlog;
    /* thread buffers */
    uint8_t apdu[FM_MAX_CMD / 2];
    char info[FM_MAX_CMD + 64];
    char cmd[FM_MAX_CMD + 1];
};

#define SESSION_BASE 40 /* session ids differ from channel numbers on purpose */

static void out(struct fake_modem *m, const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = write(m->master, s, n);
        if (w < 0 && (errno == EINTR || errno == EAGAIN)) {
            struct pollfd p = {.fd = m->master, .events = POLLOUT};
            poll(&p, 1, 100);
            continue;
        }
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void line(struct fake_modem *m, const char *s)
{
    out(m, "\r\n");
    out(m, s);
    out(m, "\r\n");
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* "<hex>" (quoted) of exactly `len` characters into buf; -1 if malformed. */
static int parse_hex(const char *s, unsigned long len, uint8_t *buf, size_t cap, size_t *n)
{
    if (*s++ != '"')
        return -1;
    size_t i = 0;
    while (hexv(s[i]) >= 0)
        i++;
    if (i != len || i % 2 || i / 2 > cap || strcmp(s + i, "\""))
        return -1;
    for (size_t k = 0; k < i; k += 2)
        buf[k / 2] = (uint8_t)(hexv(s[k]) << 4 | hexv(s[k + 1]));
    *n = i / 2;
    return 0;
}

static void to_hex(const uint8_t *p, size_t n, char *s)
{
    static const char hx[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = hx[p[i] >> 4];
        s[2 * i + 1] = hx[p[i] & 15];
    }
    s[2 * n] = '\0';
}

/* One APDU on `channel` through the card; the R-APDU goes to r. */
static void card_apdu(struct fake_modem *m, unsigned channel, uint8_t *apdu, size_t n,
                      struct rsp_buf *r)
{
    if (channel && channel <= 3 && n)
        apdu[0] = (uint8_t)((apdu[0] & 0xBC) | channel);
    rsp_buf_reset(r);
    rsp_apdu_card_process(m->card, apdu, n, r);
}

/* Answers the information part of `cmd` into info ("" if none); returns the final result code
 * line. */
static const char *handle(struct fake_modem *m, const char *cmd, char *info, size_t cap)
{
    uint8_t *apdu = m->apdu;
    struct rsp_buf r = RSP_BUF_INIT;
    const char *final = "OK";
    info[0] = '\0';
    size_t n;
    if (!strcmp(cmd, "AT")) {
        /* nothing */
    } else if (!strcmp(cmd, "ATE0")) {
        m->echo = false;
    } else if (!strcmp(cmd, "ATE1")) {
        m->echo = true;
    } else if (!strncmp(cmd, "AT+CCHO=", 8)) {
        unsigned long hl = strlen(cmd + 8);
        if (hl < 2 || parse_hex(cmd + 8, hl - 2, apdu + 5, 16, &n) != 0 || n < 5) {
            final = "+CME ERROR: 50";
        } else {
            uint8_t mc[5] = {0x00, 0x70, 0x00, 0x00, 0x01};
            card_apdu(m, 0, mc, 5, &r);
            if (r.len != 3 || r.data[1] != 0x90) {
                final = "+CME ERROR: 13";
            } else {
                unsigned ch = r.data[0];
                apdu[0] = (uint8_t)ch;
                apdu[1] = 0xA4;
                apdu[2] = 0x04;
                apdu[3] = 0x00;
                apdu[4] = (uint8_t)n;
                apdu[5 + n] = 0x00;
                card_apdu(m, ch, apdu, 6 + n, &r);
                uint8_t sw1 = r.data[r.len - 2];
                if (sw1 != 0x90 && sw1 != 0x61) {
                    uint8_t cl[4] = {0x00, 0x70, 0x80, (uint8_t)ch};
                    card_apdu(m, 0, cl, 4, &r);
                    final = "+CME ERROR: 3";
                } else {
                    m->channel_of[ch] = (int)ch;
                    snprintf(info, cap, m->o.bare_ccho ? "%u" : "+CCHO: %u", SESSION_BASE + ch);
                }
            }
        }
    } else if (!strncmp(cmd, "AT+CCHC=", 8)) {
        long sid = strtol(cmd + 8, NULL, 10) - SESSION_BASE;
        if (sid < 1 || sid > 19 || !m->channel_of[sid]) {
            final = "+CME ERROR: 21";
        } else {
            uint8_t cl[4] = {0x00, 0x70, 0x80, (uint8_t)sid};
            card_apdu(m, 0, cl, 4, &r);
            m->channel_of[sid] = 0;
        }
    } else if (!strncmp(cmd, "AT+CGLA=", 8) || !strncmp(cmd, "AT+CSIM=", 8)) {
        bool cgla = cmd[4] == 'G';
        char *p;
        long ch = 0;
        const char *s = cmd + 8;
        if (cgla) {
            long sid = strtol(s, &p, 10) - SESSION_BASE;
            if (*p != ',' || sid < 1 || sid > 19 || !m->channel_of[sid])
                return "+CME ERROR: 21";
            ch = sid;
            s = p + 1;
        }
        unsigned long len = strtoul(s, &p, 10);
        if (*p != ',' || parse_hex(p + 1, len, apdu, sizeof m->apdu, &n) != 0 || n < 4) {
            final = "+CME ERROR: 50";
        } else {
            card_apdu(m, (unsigned)ch, apdu, n, &r);
            char *h = malloc(2 * r.len + 1);
            if (h) {
                to_hex(r.data, r.len, h);
                snprintf(info, cap, "%s: %zu,\"%s\"", cgla ? "+CGLA" : "+CSIM", 2 * r.len, h);
                free(h);
            }
        }
    } else {
        final = "ERROR";
    }
    rsp_buf_free(&r);
    return final;
}

static void respond(struct fake_modem *m, const char *cmd)
{
    char *info = m->info;
    pthread_mutex_lock(&m->mu);
    if (m->nlog < FM_LOG) {
        size_t k = strnlen(cmd, FM_LOG_NAME - 1);
        memcpy(m->log[m->nlog], cmd, k);
        m->log[m->nlog++][k] = '\0';
    }
    enum fm_fault f = FM_NONE;
    if (m->fault != FM_NONE && !strncmp(cmd, m->fault_prefix, strlen(m->fault_prefix))) {
        f = m->fault;
        m->fault = FM_NONE;
    }
    pthread_mutex_unlock(&m->mu);

    if (m->echo) {
        out(m, cmd);
        out(m, "\r");
    }
    switch (f) {
    case FM_CME:
        line(m, "+CME ERROR: 13");
        return;
    case FM_ERROR:
        line(m, "ERROR");
        return;
    case FM_SILENT:
        return;
    case FM_SLOW: {
        long ms = m->o.slow_ms ? (long)m->o.slow_ms : 600;
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        break;
    }
    case FM_GARBAGE:
        line(m, "x\x01garbage%%");
        break;
    case FM_OVERLONG: {
        char *big = malloc(5001);
        if (big) {
            memset(big, 'A', 5000);
            big[5000] = '\0';
            line(m, big);
            free(big);
        }
        break;
    }
    case FM_URC:
        line(m, "+CREG: 1,\"00C3\",\"0000001A\",7");
        line(m, "RING");
        break;
    default:
        break;
    }
    const char *final = handle(m, cmd, info, sizeof m->info);
    if (info[0]) {
        char *colon = strchr(info, ':');
        char *quote = strchr(info, '"');
        if (f == FM_BADLEN && colon) /* "+CGLA: 6,"9000"": 6 announced, 4 sent */
            snprintf(colon, sizeof m->info - (size_t)(colon - info), ": 6,\"9000\"");
        if (f == FM_BADHEX && quote && quote[1])
            quote[1] = 'Z';
        if (f != FM_NOINFO)
            line(m, info);
    }
    if (f == FM_URC)
        line(m, "^RSSI: 20");
    line(m, final);
}

static void *serve(void *arg)
{
    struct fake_modem *m = arg;
    char *cmd = m->cmd;
    size_t n = 0;
    bool overlong = false;
    for (;;) {
        pthread_mutex_lock(&m->mu);
        bool stop = m->stop;
        pthread_mutex_unlock(&m->mu);
        if (stop)
            break;
        struct pollfd p = {.fd = m->master, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0 || !(p.revents & POLLIN))
            continue;
        char buf[512];
        ssize_t r = read(m->master, buf, sizeof buf);
        if (r <= 0)
            continue;
        for (ssize_t i = 0; i < r; i++) {
            char c = buf[i];
            if (c == '\n')
                continue;
            if (c != '\r') {
                if (n < FM_MAX_CMD)
                    cmd[n++] = c;
                else
                    overlong = true;
                continue;
            }
            cmd[n] = '\0';
            if (overlong)
                line(m, "ERROR");
            else if (n)
                respond(m, cmd);
            n = 0;
            overlong = false;
        }
    }
    return NULL;
}

struct fake_modem *fm_start(struct rsp_apdu_card *card, const struct fm_opts *o)
{
    struct fake_modem *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->card = card;
    if (o)
        m->o = *o;
    m->echo = true;
    m->slave = -1;
    m->master = posix_openpt(O_RDWR | O_NOCTTY);
    if (m->master < 0 || grantpt(m->master) != 0 || unlockpt(m->master) != 0 ||
        !ptsname(m->master)) {
        if (m->master >= 0)
            close(m->master);
        free(m);
        return NULL;
    }
    snprintf(m->path, sizeof m->path, "%s", ptsname(m->master));
    /* Keep a slave open (no hang-up between clients) and raw (no echo by the line discipline). */
    m->slave = open(m->path, O_RDWR | O_NOCTTY);
    struct termios tio;
    if (m->slave >= 0 && tcgetattr(m->slave, &tio) == 0) {
        cfmakeraw(&tio);
        tcsetattr(m->slave, TCSANOW, &tio);
    }
    int fl = fcntl(m->master, F_GETFL);
    fcntl(m->master, F_SETFL, fl | O_NONBLOCK);
    pthread_mutex_init(&m->mu, NULL);
    if (pthread_create(&m->thread, NULL, serve, m) != 0) {
        pthread_mutex_destroy(&m->mu);
        close(m->slave);
        close(m->master);
        free(m);
        return NULL;
    }
    return m;
}

const char *fm_path(const struct fake_modem *m)
{
    return m->path;
}

void fm_fault(struct fake_modem *m, const char *prefix, enum fm_fault f)
{
    pthread_mutex_lock(&m->mu);
    snprintf(m->fault_prefix, sizeof m->fault_prefix, "%s", prefix);
    m->fault = f;
    pthread_mutex_unlock(&m->mu);
}

unsigned fm_count(struct fake_modem *m, const char *prefix)
{
    unsigned c = 0;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nlog; i++)
        c += !strncmp(m->log[i], prefix, strlen(prefix));
    pthread_mutex_unlock(&m->mu);
    return c;
}

void fm_stop(struct fake_modem *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    m->stop = true;
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
    pthread_mutex_destroy(&m->mu);
    if (m->slave >= 0)
        close(m->slave);
    close(m->master);
    free(m);
}
