/* rsp-euicc: the software eUICC as a process.
 *
 *   rsp-euicc serve --vpcd HOST:PORT [--eid EID] [--isdr-aid HEX] [--verbose]
 *
 * The ES10 command processor is not written yet: until it lands, ES10 commands go to
 * euicc_es10_placeholder(), which knows only GetEID and GetEuiccChallenge.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "rsp/apdu_card.h"
#include "rsp/buf.h"
#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/vpcd.h"

#define DEFAULT_EID "89049032123451234512345678901235"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: rsp-euicc serve --vpcd HOST:PORT [options]\n"
               "\n"
               "Runs the software eUICC's APDU front-end (ISO 7816-4 / GlobalPlatform: logical\n"
               "channels, SELECT ISD-R, STORE DATA chaining, GET RESPONSE) as a virtual card of\n"
               "vsmartcard's vpcd pcscd driver: connects to HOST:PORT (vpcd's default is\n"
               "localhost:35963), reconnects when the connection drops, stops on SIGTERM/SIGINT.\n"
               "\n"
               "options:\n"
               "  --vpcd HOST:PORT   where vpcd listens (required)\n"
               "  --eid EID          32 decimal digits (default " DEFAULT_EID ")\n"
               "  --isdr-aid HEX     ISD-R AID (default A0000005591010FFFFFFFF8900000100)\n"
               "  -v, --verbose      log connection and power events to stderr\n"
               "  -h, --help         this text\n"
               "\n"
               "PLACEHOLDER: the ES10 command processor is not part of this build yet. ES10\n"
               "commands are answered by a temporary handler (euicc_es10_placeholder) that only\n"
               "knows GetEID (BF3E) and GetEuiccChallenge (BF2E); every other command gets\n"
               "SW 6A88 (unknown command), and malformed data SW 6A80.\n"
               "\n"
               "exit status: 0 after a clean stop, 1 on a runtime failure, 2 on a usage error.\n");
}

struct placeholder {
    uint8_t eid[16];
};

/* TEMPORARY: stands in for the ES10 command processor until it lands (next issue); replace it.
 * SGP.22 §5.7.20 GetEID: BF3E { 5C tagList } -> BF3E { 5A EID }. §5.7.7 GetEuiccChallenge:
 * BF2E {} -> BF2E { 80 euiccChallenge (16 bytes) }. §5.7.2: not DER -> 6A80, unknown -> 6A88. */
static int euicc_es10_placeholder(void *ctx, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    const struct placeholder *ph = ctx;
    struct rsp_tlv t;
    if (rsp_der_parse_one(cmd, len, &t) != 0)
        return RSP_SW_WRONG_DATA;
    if (t.tag == 0xBF3E) {
        size_t m = rsp_der_begin(resp, 0xBF3E);
        rsp_der_put(resp, 0x5A, ph->eid, sizeof ph->eid);
        return rsp_der_end(resp, m);
    }
    if (t.tag == 0xBF2E) {
        uint8_t challenge[16];
        if (getrandom(challenge, sizeof challenge, 0) != (ssize_t)sizeof challenge)
            return RSP_EIO;
        size_t m = rsp_der_begin(resp, 0xBF2E);
        rsp_der_put(resp, 0x80, challenge, sizeof challenge);
        return rsp_der_end(resp, m);
    }
    return RSP_SW_REF_NOT_FOUND;
}

static int parse_eid(const char *s, uint8_t eid[16])
{
    if (strlen(s) != 32)
        return -1;
    for (size_t i = 0; i < 32; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    struct rsp_buf b = RSP_BUF_INIT;
    int rc = rsp_hex_decode(&b, s, 32);
    if (rc == 0 && b.len == 16)
        memcpy(eid, b.data, 16);
    else
        rc = -1;
    rsp_buf_free(&b);
    return rc;
}

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "rsp-euicc: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    fprintf(stderr, "try 'rsp-euicc --help'\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
    }
    if (argc < 2)
        return usage_error("missing command", NULL);
    if (strcmp(argv[1], "serve") != 0)
        return usage_error("unknown command", argv[1]);

    const char *vpcd = NULL;
    const char *eid_s = DEFAULT_EID;
    const char *aid_s = NULL;
    int verbose = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            verbose = 1;
        } else if (!strcmp(a, "--vpcd") || !strcmp(a, "--eid") || !strcmp(a, "--isdr-aid")) {
            if (i + 1 >= argc)
                return usage_error("option needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--vpcd"))
                vpcd = v;
            else if (!strcmp(a, "--eid"))
                eid_s = v;
            else
                aid_s = v;
        } else {
            return usage_error("unknown option", a);
        }
    }
    if (!vpcd)
        return usage_error("--vpcd HOST:PORT is required", NULL);
    char host[256];
    uint16_t port;
    if (rsp_vpcd_parse_addr(vpcd, host, sizeof host, &port) != 0)
        return usage_error("--vpcd wants HOST:PORT", vpcd);
    struct placeholder ph;
    if (parse_eid(eid_s, ph.eid) != 0)
        return usage_error("--eid wants 32 decimal digits", eid_s);
    struct rsp_buf aid = RSP_BUF_INIT;
    if (aid_s) {
        if (rsp_hex_decode(&aid, aid_s, strlen(aid_s)) != 0 || aid.len < 5 ||
            aid.len > RSP_APDU_CARD_MAX_AID) {
            rsp_buf_free(&aid);
            return usage_error("--isdr-aid wants 5 to 16 bytes of hex", aid_s);
        }
    }

    struct rsp_apdu_card_opts opts = {
        .isdr_aid = aid_s ? aid.data : NULL,
        .isdr_aid_len = aid.len,
        .handle = euicc_es10_placeholder,
        .handle_ctx = &ph,
    };
    struct rsp_apdu_card *card = NULL;
    int rc = rsp_apdu_card_new(&card, &opts);
    rsp_buf_free(&aid);
    if (rc != 0) {
        fprintf(stderr, "rsp-euicc: %s\n", rsp_strerror(rc));
        return 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: poll() returns EINTR and the loop sees the flag */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    fprintf(stderr, "rsp-euicc: serving the ISD-R through vpcd at %s:%u (ES10: placeholder)\n",
            host, (unsigned)port);
    rc = rsp_vpcd_serve(host, port, card, &stop_flag, verbose);
    rsp_apdu_card_free(card);
    if (rc != 0) {
        fprintf(stderr, "rsp-euicc: %s\n", rsp_strerror(rc));
        return 1;
    }
    return 0;
}
