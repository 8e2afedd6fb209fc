/* rsp-euicc: the software eUICC as a process.
 *
 *   rsp-euicc serve --vpcd HOST:PORT [--config DIR [--curve nist|brp]] [--state FILE]
 *                   [--eid EID] [--isdr-aid HEX] [--verbose]
 *
 * ES10 commands go to the software eUICC's command processor (rsp_euicc_process, src/euicc).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/apdu_card.h"
#include "rsp/buf.h"
#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/euicc.h"
#include "rsp/pki.h"
#include "rsp/vpcd.h"

#define DEFAULT_EID "89049032123451234512345678901235"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* The card behind vpcd: a simulated tear (--fault tear-at-segment=N) is a power loss during
 * that command; the card comes back at once with what it had committed (the next command
 * works), as a real card does after the phone restores power. */
static int process(void *ctx, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    struct rsp_euicc *e = ctx;
    int rc = rsp_euicc_process(e, cmd, len, resp);
    if (rsp_euicc_torn(e)) {
        fprintf(stderr, "rsp-euicc: power lost during a write (fault injection): the card "
                        "restarts with its committed state\n");
        rsp_euicc_power_cycle(e);
    }
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rsp-euicc serve --vpcd HOST:PORT [options]\n"
            "\n"
            "Runs the software eUICC (SGP.22 v2.2 ES10a/b/c: authentication, profile download\n"
            "and installation, profile management, notifications) behind its APDU front-end\n"
            "(ISO 7816-4 / GlobalPlatform: logical channels, SELECT ISD-R, STORE DATA chaining,\n"
            "GET RESPONSE) as a virtual card of vsmartcard's vpcd pcscd driver: connects to\n"
            "HOST:PORT (vpcd's default is localhost:35963), reconnects when the connection\n"
            "drops, stops on SIGTERM/SIGINT.\n"
            "\n"
            "options:\n"
            "  --vpcd HOST:PORT   where vpcd listens (required)\n"
            "  --config DIR       credentials from a test-PKI directory written by\n"
            "                     'rspctl pki init': DIR/CURVE/{euicc.der,euicc.key.pem,eum.der,\n"
            "                     ci.der}; the CI certificates of both curves found in DIR are\n"
            "                     trusted. Without --config a throw-away test PKI is generated\n"
            "                     in memory (SM-DP+s will not trust it).\n"
            "  --curve nist|brp   which credentials of DIR to use (default nist)\n"
            "  --state FILE       persist profiles, notifications and keys in FILE (written\n"
            "                     atomically after every change; default: memory only)\n"
            "  --eid EID          32 decimal digits (default " DEFAULT_EID ";\n"
            "                     with --config it must match CERT.EUICC)\n"
            "  --default-dp ADDR  initial default SM-DP+ address\n"
            "  --isdr-aid HEX     ISD-R AID (default A0000005591010FFFFFFFF8900000100)\n"
            "  --fault SPEC       fault injection for tests (comma-separated):\n"
            "                     tear-at-segment=N (power lost while LoadBoundProfilePackage\n"
            "                     segment N is written: nothing of the download is committed,\n"
            "                     the card restarts; once), fail-at-segment=N and\n"
            "                     fail-reason=R (a PIR errorResult for segment N, reason R,\n"
            "                     default 127; every download), insufficient-memory,\n"
            "                     delay-ms=N (before each answer), bad-signature=1|2\n"
            "                     (euiccSignature1 or 2 sent with a bit flipped)\n"
            "  -v, --verbose      log connection and power events to stderr\n"
            "  -h, --help         this text\n"
            "\n"
            "Malformed ES10 data gets SW 6A80, an unknown command 6A88.\n"
            "\n"
            "exit status: 0 after a clean stop, 1 on a runtime failure (including unreadable\n"
            "credentials or a corrupt state file), 2 on a usage error.\n");
}

static int parse_eid(const char *s)
{
    if (strlen(s) != 32)
        return -1;
    for (size_t i = 0; i < 32; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    return 0;
}

/* Credentials of the eUICC: from DIR, or a generated in-memory test PKI. */
struct creds {
    struct rsp_buf key, euicc, eum, ci[2];
    size_t n_ci;
    struct rsp_pki pki;
    bool have_pki;
};

static void creds_free(struct creds *c)
{
    rsp_buf_free_secure(&c->key);
    rsp_buf_free(&c->euicc);
    rsp_buf_free(&c->eum);
    rsp_buf_free(&c->ci[0]);
    rsp_buf_free(&c->ci[1]);
    if (c->have_pki)
        rsp_pki_free(&c->pki);
}

static int creds_load(struct creds *c, const char *dir, const char *curve, const char *eid)
{
    if (!dir) {
        struct rsp_pki_opts o;
        rsp_pki_opts_default(&o);
        o.curves = strcmp(curve, "brp") ? RSP_PKI_NIST : RSP_PKI_BRP;
        o.eid = eid;
        int rc = rsp_pki_generate(&o, &c->pki);
        if (rc != 0)
            return rc;
        c->have_pki = true;
        const struct rsp_pki_set *s = &c->pki.set[0];
        if ((rc = rsp_buf_set(&c->key, s->item[RSP_PKI_EUICC].key_pem.data,
                              s->item[RSP_PKI_EUICC].key_pem.len)) != 0 ||
            (rc = rsp_buf_set(&c->euicc, s->item[RSP_PKI_EUICC].cert_der.data,
                              s->item[RSP_PKI_EUICC].cert_der.len)) != 0 ||
            (rc = rsp_buf_set(&c->eum, s->item[RSP_PKI_EUM].cert_der.data,
                              s->item[RSP_PKI_EUM].cert_der.len)) != 0 ||
            (rc = rsp_buf_set(&c->ci[0], s->item[RSP_PKI_CI].cert_der.data,
                              s->item[RSP_PKI_CI].cert_der.len)) != 0)
            return rc;
        c->n_ci = 1;
        return 0;
    }
    char detail[256] = "";
    struct rsp_euicc_pki_files f;
    int rc = rsp_euicc_pki_files_load(dir, curve, &f, detail, sizeof detail);
    if (rc != 0) {
        fprintf(stderr, "rsp-euicc: missing or unreadable credentials (%s)\n", detail);
        return rc;
    }
    /* hand the buffers over to the creds */
    c->key = f.key;
    c->euicc = f.euicc;
    c->eum = f.eum;
    c->ci[0] = f.ci[0];
    c->ci[1] = f.ci[1];
    c->n_ci = f.n_ci;
    return 0;
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
    const char *eid_s = NULL;
    const char *aid_s = NULL;
    const char *config = NULL, *curve = "nist", *state = NULL, *default_dp = NULL;
    int verbose = 0;
    struct rsp_euicc_faults faults;
    memset(&faults, 0, sizeof faults);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            verbose = 1;
        } else if (!strcmp(a, "--vpcd") || !strcmp(a, "--eid") || !strcmp(a, "--isdr-aid") ||
                   !strcmp(a, "--config") || !strcmp(a, "--curve") || !strcmp(a, "--state") ||
                   !strcmp(a, "--default-dp") || !strcmp(a, "--fault")) {
            if (i + 1 >= argc)
                return usage_error("option needs a value", a);
            const char *v = argv[++i];
            char ferr[RSP_EUICC_DETAIL_SZ];
            if (!strcmp(a, "--fault")) {
                if (rsp_euicc_faults_parse(v, &faults, ferr, sizeof ferr) != 0)
                    return usage_error(ferr, v);
            } else if (!strcmp(a, "--vpcd"))
                vpcd = v;
            else if (!strcmp(a, "--eid"))
                eid_s = v;
            else if (!strcmp(a, "--config"))
                config = v;
            else if (!strcmp(a, "--curve"))
                curve = v;
            else if (!strcmp(a, "--state"))
                state = v;
            else if (!strcmp(a, "--default-dp"))
                default_dp = v;
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
    if (eid_s && parse_eid(eid_s) != 0)
        return usage_error("--eid wants 32 decimal digits", eid_s);
    if (strcmp(curve, "nist") != 0 && strcmp(curve, "brp") != 0)
        return usage_error("--curve wants nist or brp", curve);
    struct rsp_buf aid = RSP_BUF_INIT;
    if (aid_s) {
        if (rsp_hex_decode(&aid, aid_s, strlen(aid_s)) != 0 || aid.len < 5 ||
            aid.len > RSP_APDU_CARD_MAX_AID) {
            rsp_buf_free(&aid);
            return usage_error("--isdr-aid wants 5 to 16 bytes of hex", aid_s);
        }
    }

    struct creds cr;
    memset(&cr, 0, sizeof cr);
    int rc = creds_load(&cr, config, curve, eid_s ? eid_s : DEFAULT_EID);
    struct rsp_euicc *euicc = NULL;
    if (rc == 0) {
        struct rsp_euicc_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.sk_euicc.p = cr.key.data;
        cfg.sk_euicc.len = cr.key.len;
        cfg.cert_euicc.p = cr.euicc.data;
        cfg.cert_euicc.len = cr.euicc.len;
        cfg.cert_eum.p = cr.eum.data;
        cfg.cert_eum.len = cr.eum.len;
        for (size_t i = 0; i < cr.n_ci; i++) {
            cfg.ci[i].p = cr.ci[i].data;
            cfg.ci[i].len = cr.ci[i].len;
        }
        cfg.n_ci = cr.n_ci;
        cfg.default_dp = default_dp;
        cfg.state_path = state;
        cfg.faults = faults;
        char detail[RSP_EUICC_DETAIL_SZ];
        rc = rsp_euicc_new(&cfg, &euicc, detail, sizeof detail);
        if (rc != 0)
            fprintf(stderr, "rsp-euicc: %s%s%s\n", rsp_strerror(rc), detail[0] ? ": " : "", detail);
    }
    creds_free(&cr);
    if (rc == 0 && eid_s && config) {
        /* the EID is the one certified in CERT.EUICC */
        struct rsp_buf r = RSP_BUF_INIT;
        static const uint8_t get_eid[] = {0xBF, 0x3E, 0x03, 0x5C, 0x01, 0x5A};
        char got[33] = "";
        if (rsp_euicc_process(euicc, get_eid, sizeof get_eid, &r) == 0 && r.len == 21)
            rsp_hex_str(got, r.data + 5, 16, 0);
        rsp_buf_free(&r);
        if (strcmp(got, eid_s) != 0) {
            rsp_euicc_free(euicc);
            rsp_buf_free(&aid);
            return usage_error("--eid does not match CERT.EUICC of --config", eid_s);
        }
    }
    if (rc != 0) {
        rsp_buf_free(&aid);
        return 1;
    }
    struct rsp_apdu_card_opts opts = {
        .isdr_aid = aid_s ? aid.data : NULL,
        .isdr_aid_len = aid.len,
        .handle = process,
        .handle_ctx = euicc,
    };
    struct rsp_apdu_card *card = NULL;
    rc = rsp_apdu_card_new(&card, &opts);
    rsp_buf_free(&aid);
    if (rc != 0) {
        fprintf(stderr, "rsp-euicc: %s\n", rsp_strerror(rc));
        rsp_euicc_free(euicc);
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

    fprintf(stderr, "rsp-euicc: serving the ISD-R through vpcd at %s:%u (%s credentials%s%s)\n",
            host, (unsigned)port, config ? config : "generated test", state ? ", state " : "",
            state ? state : "");
    rc = rsp_vpcd_serve(host, port, card, &stop_flag, verbose);
    rsp_apdu_card_free(card);
    rsp_euicc_free(euicc);
    if (rc != 0) {
        fprintf(stderr, "rsp-euicc: %s\n", rsp_strerror(rc));
        return 1;
    }
    return 0;
}
