/* AT-command modem transport (3GPP TS 27.007 +CCHO/+CGLA/+CCHC/+CSIM); see rsp/apdu_at.h for the
 * channel model. */
#include "rsp/apdu_at.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "rsp/err.h"

#define VCHAN     1u  /* the virtual channel number handed to the exchanger */
#define ERR_SHOWN 80  /* characters of an offending line kept in the error message */
#define RX_CHUNK  512 /* bytes read at once */

struct at {
    int fd;
    unsigned timeout_ms;
    size_t max_line;
    bool basic_only;
    bool desync;  /* a command timed out: drain the late answer before the next one */
    bool vchan;   /* MANAGE CHANNEL open was answered with VCHAN */
    long session; /* AT+CCHO session id, -1: none */
    /* receive side */
    uint8_t rx[RX_CHUNK];
    size_t rx_pos, rx_len;
    char *line; /* max_line + 1 */
    char *info; /* max_line + 1: the information line of the last command */
    char cmd[64 + 2 * 261];
    char err[512];
};

static const struct rsp_apdu_transport_ops at_ops;

/* ---- errors ---- */

__attribute__((format(printf, 4, 5))) static int at_fail(struct at *a, int rc, const char *line,
                                                         const char *fmt, ...);
static int at_fail(struct at *a, int rc, const char *line, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!line) {
        snprintf(a->err, sizeof a->err, "%s", msg);
        return rc;
    }
    char shown[ERR_SHOWN * 4 + 4];
    size_t o = 0, i = 0;
    for (; line[i] && i < ERR_SHOWN; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c >= 0x20 && c < 0x7F && c != '\\') {
            shown[o++] = (char)c;
        } else {
            snprintf(shown + o, 5, "\\x%02X", c);
            o += 4;
        }
    }
    if (line[i]) {
        memcpy(shown + o, "...", 3);
        o += 3;
    }
    shown[o] = '\0';
    snprintf(a->err, sizeof a->err, "%s: \"%s\"", msg, shown);
    return rc;
}

const char *rsp_apdu_at_error(const struct rsp_apdu_transport *t)
{
    if (!t || t->ops != &at_ops || !t->ctx)
        return "not an AT transport";
    return ((const struct at *)t->ctx)->err;
}

/* ---- time ---- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining(long long deadline)
{
    long long r = deadline - now_ms();
    return r < 0 ? 0 : (int)r;
}

/* ---- raw I/O ---- */

static int write_all(struct at *a, const char *s, size_t n, long long deadline)
{
    while (n) {
        ssize_t w = write(a->fd, s, n);
        if (w > 0) {
            s += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return at_fail(a, RSP_EIO, NULL, "write: %s", strerror(errno));
        struct pollfd p = {.fd = a->fd, .events = POLLOUT};
        int ms = remaining(deadline);
        if (ms == 0 || poll(&p, 1, ms) == 0)
            return at_fail(a, RSP_EIO, NULL, "write: timeout");
    }
    return 0;
}

/* Next byte, waiting until the deadline: 1 with *c set, 0 on timeout, or a negative RSP_E*. */
static int read_byte(struct at *a, long long deadline, uint8_t *c)
{
    while (a->rx_pos == a->rx_len) {
        struct pollfd p = {.fd = a->fd, .events = POLLIN};
        int ms = remaining(deadline);
        int pr = ms ? poll(&p, 1, ms) : 0;
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return at_fail(a, RSP_EIO, NULL, "poll: %s", strerror(errno));
        if (pr == 0)
            return 0; /* timeout: the caller words the message */
        ssize_t r = read(a->fd, a->rx, sizeof a->rx);
        if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (r <= 0)
            return at_fail(a, RSP_EIO, NULL, "read: %s", r ? strerror(errno) : "end of file");
        a->rx_pos = 0;
        a->rx_len = (size_t)r;
    }
    *c = a->rx[a->rx_pos++];
    return 1;
}

/* One non-empty line (CR and LF both end a line) into a->line. RSP_ERANGE for a line longer
 * than max_line: the rest of it is consumed so that the stream stays in step; *timed_out tells
 * a timeout from other failures. */
static int read_line(struct at *a, long long deadline, bool *timed_out)
{
    size_t n = 0;
    bool overlong = false;
    *timed_out = false;
    for (;;) {
        uint8_t c = 0;
        int rc = read_byte(a, deadline, &c);
        if (rc <= 0) {
            *timed_out = rc == 0;
            a->line[n] = '\0';
            return rc < 0 ? rc : RSP_EIO;
        }
        if (c == '\r' || c == '\n') {
            if (overlong) {
                a->line[n] = '\0';
                return RSP_ERANGE;
            }
            if (n == 0)
                continue;
            a->line[n] = '\0';
            return 0;
        }
        if (n < a->max_line)
            a->line[n++] = (char)c;
        else
            overlong = true;
    }
}

/* Throws away whatever the modem still sends after a timeout (a late answer): reads until the
 * line has been quiet for a whole command timeout (a modem that said nothing for that long is
 * taken to have nothing more to say), at most four timeouts in all. */
static void drain(struct at *a)
{
    long long end = now_ms() + 4LL * a->timeout_ms;
    a->rx_pos = a->rx_len = 0;
    for (;;) {
        struct pollfd p = {.fd = a->fd, .events = POLLIN};
        int ms = remaining(end);
        if (ms > (int)a->timeout_ms)
            ms = (int)a->timeout_ms;
        if (ms == 0 || poll(&p, 1, ms) <= 0)
            break;
        if (read(a->fd, a->rx, sizeof a->rx) <= 0)
            break;
    }
    a->rx_pos = a->rx_len = 0;
    tcflush(a->fd, TCIFLUSH);
}

/* ---- commands ---- */

static bool is_urc(const char *l)
{
    static const char *const words[] = {"RING",         "RDY",     "NO CARRIER",
                                        "POWERED DOWN", "PB DONE", "SMS DONE"};
    if (l[0] == '+' || l[0] == '^')
        return true;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strcmp(l, words[i]))
            return true;
    return false;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Sends a->cmd and reads up to the final result code. The information line starting with
 * `prefix` (or, when bare_ok, a line of digits only) is copied to info (info_cap bytes,
 * NUL-terminated); with prefix NULL no information line is expected. Unsolicited result codes and
 * the echo of the command are skipped. A malformed or overlong line does not stop the reading, so
 * that the next command starts in step; its error is returned after the final result code. */
static int at_cmd(struct at *a, const char *prefix, bool bare_ok, char *info, size_t info_cap)
{
    if (a->desync) {
        drain(a);
        a->desync = false;
    }
    long long deadline = now_ms() + a->timeout_ms;
    size_t clen = strlen(a->cmd);
    a->cmd[clen] = '\r';
    int rc = write_all(a, a->cmd, clen + 1, deadline);
    a->cmd[clen] = '\0';
    if (rc != 0) {
        a->desync = true;
        return rc;
    }
    int err = 0;
    char saved[sizeof a->err];
    bool got_info = false;
    size_t plen = prefix ? strlen(prefix) : 0;
    for (;;) {
        bool timed_out;
        rc = read_line(a, deadline, &timed_out);
        if (rc == RSP_ERANGE) {
            if (!err) {
                err = at_fail(a, RSP_ERANGE, a->line, "%s: answer line longer than %zu bytes",
                              a->cmd, a->max_line);
                memcpy(saved, a->err, sizeof saved);
            }
            continue;
        }
        if (rc != 0) {
            a->desync = true;
            if (timed_out)
                return at_fail(a, RSP_EIO, a->line[0] ? a->line : NULL,
                               "%s: no final result code within %u ms", a->cmd, a->timeout_ms);
            return rc;
        }
        const char *l = a->line;
        int line_err = 0;
        if (!strcmp(l, "OK")) {
            if (!err && prefix && !got_info)
                return at_fail(a, RSP_ESYNTAX, NULL, "%s: OK without a %s answer", a->cmd, prefix);
            if (err)
                memcpy(a->err, saved, sizeof saved);
            return err;
        }
        if (!strcmp(l, "ERROR"))
            return err ? (memcpy(a->err, saved, sizeof saved), err)
                       : at_fail(a, RSP_EIO, l, "%s: the modem refused", a->cmd);
        if (!strncmp(l, "+CME ERROR:", 11))
            return err ? (memcpy(a->err, saved, sizeof saved), err)
                       : at_fail(a, RSP_EIO, l, "%s: the modem refused", a->cmd);
        if (!strcmp(l, a->cmd))
            continue; /* echo */
        if ((prefix && !strncmp(l, prefix, plen)) || (bare_ok && all_digits(l))) {
            const char *v = prefix && !strncmp(l, prefix, plen) ? l + plen : l;
            while (*v == ' ')
                v++;
            if (got_info)
                line_err = at_fail(a, RSP_ESYNTAX, l, "%s: second answer line", a->cmd);
            else if (strlen(v) >= info_cap)
                line_err = at_fail(a, RSP_ERANGE, l, "%s: answer too long", a->cmd);
            else
                memcpy(info, v, strlen(v) + 1);
            got_info = true;
        } else if (is_urc(l)) {
            continue;
        } else {
            line_err = at_fail(a, RSP_ESYNTAX, l, "%s: unexpected line", a->cmd);
        }
        if (line_err && !err) {
            err = line_err;
            memcpy(saved, a->err, sizeof saved);
        }
    }
}

/* ---- APDUs as hex ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Builds `<name>[<session>,]<2*len>,"<hex>"` into a->cmd. */
static void build_apdu_cmd(struct at *a, const char *name, long session, const uint8_t *capdu,
                           size_t len)
{
    static const char hx[] = "0123456789ABCDEF";
    int o = session >= 0
                ? snprintf(a->cmd, sizeof a->cmd, "AT%s=%ld,%zu,\"", name, session, 2 * len)
                : snprintf(a->cmd, sizeof a->cmd, "AT%s=%zu,\"", name, 2 * len);
    size_t p = (size_t)o;
    for (size_t i = 0; i < len; i++) {
        a->cmd[p++] = hx[capdu[i] >> 4];
        a->cmd[p++] = hx[capdu[i] & 15];
    }
    a->cmd[p++] = '"';
    a->cmd[p] = '\0';
}

/* Parses `<length>,"<hex>"` (the quotes are optional, but paired) into rapdu: the length counts
 * hex characters and must match; the response holds at least SW1 SW2. */
static int parse_apdu_answer(struct at *a, const char *v, struct rsp_buf *rapdu)
{
    const char *p = v;
    unsigned long n = 0;
    if (*p < '0' || *p > '9')
        return at_fail(a, RSP_ESYNTAX, v, "%s: no length in the answer", a->cmd);
    for (; *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (unsigned long)(*p - '0');
        if (n > 2 * (size_t)RSP_APDU_AT_MAX_LINE_MAX)
            return at_fail(a, RSP_ESYNTAX, v, "%s: length out of range", a->cmd);
    }
    if (*p++ != ',')
        return at_fail(a, RSP_ESYNTAX, v, "%s: no ',' after the length", a->cmd);
    bool quoted = *p == '"';
    if (quoted)
        p++;
    const char *h = p;
    while (hexval(*p) >= 0)
        p++;
    size_t hl = (size_t)(p - h);
    if (quoted && *p++ != '"')
        return at_fail(a, RSP_ESYNTAX, v, "%s: bad hex or missing '\"'", a->cmd);
    if (*p)
        return at_fail(a, RSP_ESYNTAX, v, "%s: trailing characters in the answer", a->cmd);
    if (hl != n)
        return at_fail(a, RSP_ESYNTAX, v, "%s: length %lu but %zu hex characters", a->cmd, n, hl);
    if (hl % 2 || hl < 4)
        return at_fail(a, RSP_ESYNTAX, v, "%s: the response is not whole bytes with SW1 SW2",
                       a->cmd);
    rsp_buf_reset(rapdu);
    int rc = rsp_buf_reserve(rapdu, hl / 2);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < hl; i += 2)
        rsp_buf_append_byte(rapdu, (uint8_t)(hexval(h[i]) << 4 | hexval(h[i + 1])));
    return rapdu->err;
}

static int set_sw(struct rsp_buf *rapdu, const uint8_t *data, size_t n, uint16_t sw)
{
    rsp_buf_reset(rapdu);
    if (n)
        rsp_buf_append(rapdu, data, n);
    rsp_buf_append_byte(rapdu, (uint8_t)(sw >> 8));
    rsp_buf_append_byte(rapdu, (uint8_t)sw);
    return rapdu->err;
}

/* ---- the channel model ---- */

static int at_close_session(struct at *a)
{
    if (a->session < 0)
        return 0;
    snprintf(a->cmd, sizeof a->cmd, "AT+CCHC=%ld", a->session);
    a->session = -1;
    return at_cmd(a, NULL, false, NULL, 0);
}

static int at_open_session(struct at *a, const uint8_t *aid, size_t aid_len)
{
    static const char hx[] = "0123456789ABCDEF";
    size_t p = (size_t)snprintf(a->cmd, sizeof a->cmd, "AT+CCHO=\"");
    for (size_t i = 0; i < aid_len; i++) {
        a->cmd[p++] = hx[aid[i] >> 4];
        a->cmd[p++] = hx[aid[i] & 15];
    }
    a->cmd[p++] = '"';
    a->cmd[p] = '\0';
    int rc = at_cmd(a, "+CCHO:", true, a->info, a->max_line + 1);
    if (rc != 0)
        return rc;
    if (!all_digits(a->info) || strlen(a->info) > 9)
        return at_fail(a, RSP_ESYNTAX, a->info, "%s: bad session id", a->cmd);
    a->session = strtol(a->info, NULL, 10);
    return 0;
}

static int apdu_via(struct at *a, const char *name, long session, const uint8_t *capdu, size_t len,
                    struct rsp_buf *rapdu)
{
    build_apdu_cmd(a, name, session, capdu, len);
    char prefix[16];
    snprintf(prefix, sizeof prefix, "%s:", name);
    int rc = at_cmd(a, prefix, false, a->info, a->max_line + 1);
    if (rc != 0)
        return rc;
    return parse_apdu_answer(a, a->info, rapdu);
}

static int at_transmit(void *ctx, const uint8_t *capdu, size_t len, struct rsp_buf *rapdu)
{
    struct at *a = ctx;
    if (len > 261)
        return at_fail(a, RSP_EINVAL, NULL, "C-APDU of %zu bytes (short APDUs only)", len);
    uint8_t cla = capdu[0], ins = capdu[1], p1 = capdu[2], p2 = capdu[3];
    unsigned ch = (cla & 0x40) ? 4u + (cla & 0x0F) : (cla & 0x03u);
    if (ins == 0x70 && (cla & 0x80) == 0) { /* MANAGE CHANNEL */
        if (p1 == 0x00 && p2 == 0x00) {
            if (a->basic_only || ch != 0)
                return set_sw(rapdu, NULL, 0, RSP_SW_CHANNEL_NOT_SUPP);
            if (a->vchan)
                return set_sw(rapdu, NULL, 0, RSP_SW_FUNC_NOT_SUPP); /* only one channel */
            a->vchan = true;
            uint8_t c = VCHAN;
            return set_sw(rapdu, &c, 1, RSP_SW_OK);
        }
        if (p1 == 0x80 && a->vchan && (p2 == VCHAN || (p2 == 0 && ch == VCHAN))) {
            a->vchan = false;
            int rc = at_close_session(a);
            return rc != 0 ? rc : set_sw(rapdu, NULL, 0, RSP_SW_OK);
        }
        return set_sw(rapdu, NULL, 0, RSP_SW_CHANNEL_NOT_SUPP);
    }
    if (ch == 0)
        return apdu_via(a, "+CSIM", -1, capdu, len, rapdu);
    if (ch != VCHAN || !a->vchan)
        return set_sw(rapdu, NULL, 0, RSP_SW_CHANNEL_NOT_SUPP);
    if (a->session < 0) {
        /* SELECT by DF name (case 3 or 4) opens the session. */
        if (ins != 0xA4 || p1 != 0x04 || len < 6 || capdu[4] < 1 ||
            capdu[4] > RSP_APDU_CARD_MAX_AID || len < 5u + capdu[4])
            return set_sw(rapdu, NULL, 0, RSP_SW_COND_NOT_SATISFIED);
        int rc = at_open_session(a, capdu + 5, capdu[4]);
        return rc != 0 ? rc : set_sw(rapdu, NULL, 0, RSP_SW_OK);
    }
    return apdu_via(a, "+CGLA", a->session, capdu, len, rapdu);
}

/* ---- lifecycle ---- */

static int at_connect(void *ctx)
{
    struct at *a = ctx;
    a->vchan = false;
    a->session = -1;
    a->rx_pos = a->rx_len = 0;
    tcflush(a->fd, TCIFLUSH); /* whatever came before us; at_cmd drains after a timeout */
    /* Echo off; the echo of this very command is skipped by at_cmd. */
    snprintf(a->cmd, sizeof a->cmd, "ATE0");
    return at_cmd(a, NULL, false, NULL, 0);
}

static void at_disconnect(void *ctx)
{
    struct at *a = ctx;
    (void)at_close_session(a); /* best effort */
    a->vchan = false;
}

static void at_destroy(void *ctx)
{
    struct at *a = ctx;
    if (!a)
        return;
    if (a->fd >= 0)
        close(a->fd);
    free(a->line);
    free(a->info);
    free(a);
}

static const struct rsp_apdu_transport_ops at_ops = {
    .name = "at",
    .connect = at_connect,
    .transmit = at_transmit,
    .disconnect = at_disconnect,
    .destroy = at_destroy,
};

static int baud_const(unsigned baud, speed_t *out)
{
    static const struct {
        unsigned b;
        speed_t s;
    } map[] = {{9600, B9600},     {19200, B19200},   {38400, B38400},   {57600, B57600},
               {115200, B115200}, {230400, B230400}, {460800, B460800}, {921600, B921600}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (map[i].b == baud) {
            *out = map[i].s;
            return 0;
        }
    }
    return RSP_EINVAL;
}

int rsp_apdu_at_new(struct rsp_apdu_transport **out, const char *device,
                    const struct rsp_apdu_at_opts *o)
{
    if (!out || !device || !*device)
        return RSP_EINVAL;
    *out = NULL;
    struct rsp_apdu_at_opts d = {0};
    if (o)
        d = *o;
    if (!d.baud)
        d.baud = RSP_APDU_AT_BAUD_DEF;
    if (!d.timeout_ms)
        d.timeout_ms = RSP_APDU_AT_TIMEOUT_DEF;
    if (!d.max_line)
        d.max_line = RSP_APDU_AT_MAX_LINE_DEF;
    speed_t speed;
    if (baud_const(d.baud, &speed) != 0 || d.max_line < 64 ||
        d.max_line > RSP_APDU_AT_MAX_LINE_MAX || d.timeout_ms > 600000)
        return RSP_EINVAL;

    struct rsp_apdu_transport *t = calloc(1, sizeof *t);
    struct at *a = calloc(1, sizeof *a);
    if (!t || !a) {
        free(t);
        free(a);
        return RSP_ENOMEM;
    }
    a->fd = -1;
    a->session = -1;
    a->timeout_ms = d.timeout_ms;
    a->max_line = d.max_line;
    a->basic_only = d.basic_only;
    a->line = malloc(d.max_line + 1);
    a->info = malloc(d.max_line + 1);
    t->ops = &at_ops;
    t->ctx = a;
    if (!a->line || !a->info) {
        rsp_apdu_transport_free(t);
        return RSP_ENOMEM;
    }
    a->fd = open(device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    struct termios tio;
    if (a->fd < 0 || tcgetattr(a->fd, &tio) != 0) {
        int e = errno;
        rsp_apdu_transport_free(t);
        errno = e;
        return RSP_EIO;
    }
    cfmakeraw(&tio);
    tio.c_cflag |= CLOCAL | CREAD;
    tio.c_cflag &= ~(tcflag_t)CRTSCTS;
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    if (cfsetispeed(&tio, speed) != 0 || cfsetospeed(&tio, speed) != 0 ||
        tcsetattr(a->fd, TCSANOW, &tio) != 0) {
        int e = errno;
        rsp_apdu_transport_free(t);
        errno = e;
        return RSP_EIO;
    }
    *out = t;
    return 0;
}
