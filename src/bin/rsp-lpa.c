/* rsp-lpa: the Local Profile Assistant command line (SGP.22 v2.2 LPAd over ES10, ES9+ client).
 *
 *   rsp-lpa [--json] (--euicc soft:DIR | --pcsc [READER] | --at DEVICE) COMMAND ...
 *
 * Human output by default; --json prints one JSON object per line (progress events, then one
 * result). Exit status: 0 ok, 1 other failure, 2 usage, 3 refused by the eUICC, 4 refused by the
 * SM-DP+, 5 network failure after retries.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/apdu.h"
#include "rsp/apdu_at.h"
#include "rsp/apdu_card.h"
#include "rsp/buf.h"
#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/es9p_client.h"
#include "rsp/euicc.h"
#include "rsp/fileio.h"
#include "rsp/lpa.h"
#include "rsp/lpa_attempt.h"

enum {
    EXIT_OK = 0,
    EXIT_OTHER = 1,
    EXIT_USAGE = 2,
    EXIT_EUICC = 3,
    EXIT_SMDP = 4,
    EXIT_NETWORK = 5,
    EXIT_VERIFY = 6,   /* installed, failed local verification, deleted */
    EXIT_DEFERRED = 7, /* --no-wait: waiting for device conditions or a back-off; resume later */
};

/* ---- options and output ---- */

struct g {
    bool json;
    const char *soft_dir;
    const char *curve;
    bool pcsc;
    const char *reader;
    const char *at_dev; /* --at: AT-command modem port */
    struct rsp_buf aid;
    size_t block_size;
    const char *state_dir;          /* --state-dir: attempt records (one subdirectory per EID) */
    struct rsp_euicc_faults faults; /* --euicc-fault (soft:DIR only) */
    bool has_faults;
    const char *command; /* "profile list", for JSON results */
    /* ES9+ */
    const char *ca, *ca_path, *pin;
    bool insecure_tls, plain_http;
    unsigned retries;
    long timeout_s;
    char ca_default[4096];
    /* the open eUICC */
    struct rsp_euicc *euicc;
    struct rsp_apdu_card *card;
    struct rsp_apdu_transport *t;
    struct rsp_es10 s;
    bool open;
};

static void emit(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(o);
    fflush(stdout);
}

/* A string from card data: UTF-8 text, else null. */
static json_t *jstrn(const uint8_t *p, size_t n)
{
    if (!p)
        return json_null();
    json_t *v = json_stringn((const char *)p, n);
    return v ? v : json_null();
}

static json_t *jhex(const uint8_t *p, size_t n)
{
    if (!p)
        return json_null();
    char *h = malloc(2 * n + 1);
    if (!h)
        return json_null();
    rsp_hex_str(h, p, n, 1);
    json_t *v = json_string(h);
    free(h);
    return v;
}

/* The final result line (JSON) or nothing (human output is printed by the commands). */
static int finish_ok(struct g *g, json_t *data)
{
    if (g->json)
        emit(json_pack("{s:s, s:s, s:b, s:o}", "type", "result", "command", g->command, "ok", 1,
                       "data", data ? data : json_null()));
    else if (data)
        json_decref(data);
    return EXIT_OK;
}

/* A failure: kind "usage" | "euicc" | "smdp" | "network" | "tls" | "error". */
__attribute__((format(printf, 5, 6))) static int fail(struct g *g, int status, const char *kind,
                                                      int code, const char *fmt, ...);
static int fail(struct g *g, int status, const char *kind, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (g && g->json) {
        json_t *err = json_pack("{s:s, s:s}", "kind", kind, "message", msg);
        if (code >= 0)
            json_object_set_new(err, "code", json_integer(code));
        emit(json_pack("{s:s, s:s, s:b, s:o}", "type", "result", "command",
                       g->command ? g->command : "", "ok", 0, "error", err));
    } else {
        fprintf(stderr, "rsp-lpa: %s\n", msg);
    }
    return status;
}

static int usage_err(struct g *g, const char *what, const char *arg)
{
    int rc = fail(g, EXIT_USAGE, "usage", -1, "%s%s%s", what, arg ? ": " : "", arg ? arg : "");
    if (!g || !g->json)
        fprintf(stderr, "try 'rsp-lpa --help'\n");
    return rc;
}

/* An RSP_E* from an ES10 exchange. */
static int es10_fail(struct g *g, int rc, const char *what)
{
    if (rc == RSP_ESW)
        return fail(g, EXIT_EUICC, "euicc", g->s.last_sw, "%s: the eUICC answered SW %04X", what,
                    (unsigned)g->s.last_sw);
    return fail(g, EXIT_OTHER, "error", -1, "%s: %s", what, rsp_strerror(rc));
}

/* ---- help ---- */

static const char *const help_main =
    "usage: rsp-lpa [--json] EUICC COMMAND [ARGS]\n"
    "\n"
    "Local Profile Assistant (GSMA SGP.22 v2.2): manages the profiles and notifications of an\n"
    "eUICC over ES10 and (for downloads) talks to SM-DP+ servers over ES9+.\n"
    "\n"
    "eUICC selection (one is required):\n"
    "  --euicc soft:DIR    the in-process software eUICC: credentials from a directory\n"
    "                      written by 'rspctl pki init' (DIR/CURVE/euicc.der, euicc.key.pem,\n"
    "                      eum.der, ci.der), state kept in DIR/euicc.state\n"
    "  --curve nist|brp    credentials of the software eUICC (default nist)\n"
    "  --pcsc [READER]     a PC/SC reader: name substring or index (default: the first with a\n"
    "                      card)\n"
    "  --at DEVICE         the UICC of a modem behind its AT-command port (e.g. /dev/ttyUSB2;\n"
    "                      3GPP TS 27.007 AT+CCHO/AT+CGLA)\n"
    "  --isdr-aid HEX      ISD-R AID (default A0000005591010FFFFFFFF8900000100)\n"
    "  --block-size N      STORE DATA block size 1..255 (default 255)\n"
    "  --euicc-fault SPEC  (soft:DIR, tests) fault injection of the software eUICC, as\n"
    "                      'rsp-euicc serve --fault': tear-at-segment=N, fail-at-segment=N,\n"
    "                      fail-reason=R, insufficient-memory, delay-ms=N,\n"
    "                      bad-signature=1|2 (euiccSignature1|2 does not verify)\n"
    "  --state-dir DIR     where download attempts are kept for resuming (a subdirectory per\n"
    "                      EID; default DIR/lpa with soft:DIR, else $RSP_LPA_STATE_DIR,\n"
    "                      $XDG_STATE_HOME/rsp-lpa or ~/.local/state/rsp-lpa)\n"
    "\n"
    "output:\n"
    "  --json              one JSON object per line: {\"type\":\"progress\",...} events and one\n"
    "                      {\"type\":\"result\",\"ok\":true|false,...}\n"
    "\n"
    "commands ('rsp-lpa COMMAND --help' for each):\n"
    "  chip info                         EID, eUICC information, configured addresses\n"
    "  profile list                      installed profiles\n"
    "  profile enable|disable ID         ID: ICCID (digits) or ISD-P AID (hex)\n"
    "  profile delete ID\n"
    "  profile nickname ICCID [NAME]     set (or clear) a nickname\n"
    "  profile download [-a AC | -s HOST [-m ID]] [-c CODE] [--imei IMEI]\n"
    "                                    download and install a profile (retried, resumable)\n"
    "  notification list                 pending notifications\n"
    "  notification remove SEQ...|--all  remove notifications without sending them\n"
    "  notification process [SEQ...|--all]  send pending notifications and remove them\n"
    "  config [--default-dp ADDR]        show the addresses; set the default SM-DP+ address\n"
    "\n"
    "ES9+ (download, notification process):\n"
    "  --ca FILE           PEM bundle of the RSP CI certificates the SM-DP+ TLS chain must lead\n"
    "                      to (default with soft:DIR: DIR/nist/ci.pem); the OS store is never "
    "used\n"
    "  --ca-path DIR       OpenSSL hashed directory of RSP CI certificates\n"
    "  --pin SPEC          pinned SM-DP+ public key (file or sha256//BASE64)\n"
    "  --insecure-tls      no TLS certificate checks at all (labs only)\n"
    "  --http              plain HTTP (local test servers only)\n"
    "  --retries N         retries after a network failure (default 2)\n"
    "  --timeout SECONDS   per ES9+ exchange (default 60)\n"
    "\n"
    "exit status: 0 ok, 1 other failure, 2 usage error, 3 refused by the eUICC, 4 refused by the\n"
    "SM-DP+, 5 network failure after retries, 6 installed but failed local verification\n"
    "(deleted), 7 waiting (--no-wait: back-off or device conditions; run again to resume).\n";

struct cmd_help {
    const char *name;
    const char *text;
};

static const struct cmd_help cmd_helps[] = {
    {"chip info",
     "usage: rsp-lpa EUICC chip info\n"
     "\n"
     "Prints the EID, the eUICC's specification and firmware versions, free memory, the\n"
     "CI key identifiers it trusts and signs with, its RSP capabilities and the\n"
     "configured default SM-DP+ and root SM-DS addresses.\n"},
    {"profile list",
     "usage: rsp-lpa EUICC profile list\n"
     "\n"
     "Lists the installed profiles: ICCID, state, class, provider, name, nickname and\n"
     "ISD-P AID.\n"},
    {"profile enable",
     "usage: rsp-lpa EUICC profile enable ID [--refresh]\n"
     "\n"
     "Enables a disabled profile (the enabled one, if any, is disabled). ID is an\n"
     "ICCID (18-20 digits) or an ISD-P AID (hex). --refresh asks the eUICC for a\n"
     "REFRESH (a real device resets the card).\n"},
    {"profile disable", "usage: rsp-lpa EUICC profile disable ID [--refresh]\n"
                        "\n"
                        "Disables the enabled profile ID (ICCID or ISD-P AID).\n"},
    {"profile delete", "usage: rsp-lpa EUICC profile delete ID\n"
                       "\n"
                       "Deletes a disabled profile (ICCID or ISD-P AID). Irreversible.\n"},
    {"profile nickname",
     "usage: rsp-lpa EUICC profile nickname ICCID [NAME]\n"
     "\n"
     "Sets the nickname of a profile (at most 64 bytes of UTF-8); without NAME\n"
     "the nickname is cleared.\n"},
    {"profile download",
     "usage: rsp-lpa EUICC profile download (-a 'LPA:1$SMDP$MATCHINGID' | -s HOST -m "
     "MATCHINGID)\n"
     "                                    [-c CODE] [--imei IMEI] [--enable]\n"
     "\n"
     "Downloads a profile and installs it: initiateAuthentication, AuthenticateServer,\n"
     "authenticateClient, PrepareDownload, getBoundProfilePackage, LoadBoundProfilePackage,\n"
     "then the installation result is sent to the SM-DP+ (handleNotification). The installed\n"
     "profile is then verified locally: its ICCID, ISD-P, state, class, names and owner must\n"
     "equal the metadata shown at authenticateClient; a profile that differs is deleted, never\n"
     "enabled (exit 6). Pending notifications are sent at the end.\n"
     "  --enable      enable the profile once it is verified\n"
     "  -a AC         activation code, with or without the LPA: prefix\n"
     "  -s HOST       SM-DP+ address (host[:port]); default: the eUICC's default SM-DP+\n"
     "  -m ID         matching ID\n"
     "  -c CODE       confirmation code (never printed)\n"
     "  --imei IMEI   15 digits; its TAC goes into deviceInfo\n"
     "\n"
     "Recovery. Transient failures (network, HTTP 5xx/408/429, the eUICC reset mid-download)\n"
     "are retried with exponential back-off and jitter; refusals by the SM-DP+ or the eUICC\n"
     "and TLS trust failures are not. The attempt (transaction, BPP, segments the eUICC took)\n"
     "is saved in the state directory after every step: run the same command again (or\n"
     "--resume) after a crash and the download continues where it stopped -- without fetching\n"
     "the BPP again when the eUICC still holds the session, else through the SGP.22 retry\n"
     "path (bppEuiccOtpk). Giving up after the eUICC session was opened sends CancelSession\n"
     "(timeout, or loadBppExecutionError after eUICC resets); one that cannot be delivered is\n"
     "kept and sent by the next download or 'notification process'. Every decision goes to\n"
     "STATE/events.jsonl.\n"
     "  --resume            continue the pending download (no -a/-s needed)\n"
     "  --abandon           cancel the pending download (CancelSession) and forget it\n"
     "  --max-attempts N    attempts in all (default 8)\n"
     "  --backoff-base MS   first back-off (default 1000); doubles up to --backoff-cap MS\n"
     "                      (default 60000), each drawn in [d/2, d]\n"
     "  --budget SECONDS    no new attempt after this long (default 900; deferral not counted)\n"
     "  --no-wait           do not sleep through a back-off or a deferral: exit 7 instead\n"
     "Device conditions (heavy steps -- starting a download, getBoundProfilePackage -- wait\n"
     "while the battery is below --min-battery and not charging, or the signal is below\n"
     "--min-signal):\n"
     "  --battery PCT --charging --signal BARS (0..4)\n"
     "  --conditions FILE   battery=NN / charging=0|1 / signal=N lines, re-read while waiting\n"
     "  --min-battery PCT   default 20;  --min-signal BARS  default 1\n"
     "With --json, one {\"type\":\"progress\",\"step\":...} line per step (segments carry\n"
     "index and n; back-off carries delay_ms).\n"
     "Tests: RSP_LPA_TEST_KILL_AT=acked:K (or sending:K) makes the first attempt kill the\n"
     "process with SIGKILL right after saving that point.\n"},
    {"notification list", "usage: rsp-lpa EUICC notification list\n"
                          "\n"
                          "Lists the pending notifications: sequence number, operation, address,\n"
                          "ICCID.\n"},
    {"notification remove", "usage: rsp-lpa EUICC notification remove (SEQ... | --all)\n"
                            "\n"
                            "Removes notifications from the eUICC's list without sending them.\n"},
    {"notification process", "usage: rsp-lpa EUICC notification process [SEQ... | --all]\n"
                             "\n"
                             "Sends pending notifications (all without arguments) to the address\n"
                             "each one names (ES9+ handleNotification) and removes the delivered\n"
                             "ones from the eUICC.\n"},
    {"config", "usage: rsp-lpa EUICC config [--default-dp ADDR]\n"
               "\n"
               "Prints the default SM-DP+ and root SM-DS addresses of the eUICC; --default-dp\n"
               "sets the default SM-DP+ address (an empty ADDR clears it).\n"},
};

static bool wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return true;
    return false;
}

static int print_help(const char *name)
{
    for (size_t i = 0; i < sizeof cmd_helps / sizeof cmd_helps[0]; i++)
        if (!strcmp(cmd_helps[i].name, name)) {
            fputs(cmd_helps[i].text, stdout);
            return EXIT_OK;
        }
    fputs(help_main, stdout);
    return EXIT_OK;
}

/* ---- the eUICC ---- */

static int soft_open(struct g *g)
{
    const char *dir = g->soft_dir;
    struct rsp_euicc_pki_files files;
    char detail[RSP_EUICC_DETAIL_SZ] = "";
    int rc = rsp_euicc_pki_files_load(dir, g->curve, &files, detail, sizeof detail);
    if (rc != 0)
        return fail(g, EXIT_OTHER, "error", -1,
                    "missing or unreadable eUICC credentials (%s); create them with "
                    "'rspctl pki init %s'",
                    detail, dir);
    char state[4096];
    snprintf(state, sizeof state, "%s/euicc.state", dir);
    struct rsp_euicc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    rsp_euicc_pki_files_apply(&files, &cfg);
    cfg.state_path = state;
    cfg.faults = g->faults;
    detail[0] = 0;
    rc = rsp_euicc_new(&cfg, &g->euicc, detail, sizeof detail);
    rsp_euicc_pki_files_free(&files);
    if (rc != 0)
        return fail(g, EXIT_OTHER, "error", -1, "software eUICC %s: %s%s%s", dir, rsp_strerror(rc),
                    detail[0] ? ": " : "", detail);
    struct rsp_apdu_card_opts co = {.isdr_aid = g->aid.len ? g->aid.data : NULL,
                                    .isdr_aid_len = g->aid.len,
                                    .handle = rsp_euicc_process,
                                    .handle_ctx = g->euicc};
    if ((rc = rsp_apdu_card_new(&g->card, &co)) != 0 ||
        (rc = rsp_apdu_loopback_new(&g->t, g->card)) != 0)
        return fail(g, EXIT_OTHER, "error", -1, "software eUICC: %s", rsp_strerror(rc));
    return EXIT_OK;
}

static int euicc_open(struct g *g)
{
    int st;
    if (g->soft_dir) {
        if ((st = soft_open(g)) != EXIT_OK)
            return st;
    } else if (g->at_dev) {
        int rc = rsp_apdu_at_new(&g->t, g->at_dev, NULL);
        if (rc != 0)
            return fail(g, EXIT_OTHER, "error", -1, "modem %s: %s (%s)", g->at_dev,
                        rsp_strerror(rc), rc == RSP_EIO ? strerror(errno) : "bad options");
    } else {
        int rc = rsp_apdu_pcsc_new(&g->t, g->reader);
        if (rc != 0)
            return fail(g, EXIT_OTHER, "error", -1, "PC/SC%s%s: %s", g->reader ? " reader " : "",
                        g->reader ? g->reader : "", rsp_strerror(rc));
    }
    struct rsp_es10_opts eo = {.isdr_aid = g->aid.len ? g->aid.data : NULL,
                               .isdr_aid_len = g->aid.len,
                               .block_size = g->block_size};
    int rc = rsp_es10_open(&g->s, g->t, &eo);
    if (rc == RSP_ESW)
        return fail(g, EXIT_EUICC, "euicc", g->s.last_sw,
                    "the card refused to open the ISD-R (SW %04X)", (unsigned)g->s.last_sw);
    if (rc != 0 && g->at_dev)
        return fail(g, EXIT_OTHER, "error", -1, "cannot reach the eUICC: %s: %s", rsp_strerror(rc),
                    rsp_apdu_at_error(g->t));
    if (rc != 0)
        return fail(g, EXIT_OTHER, "error", -1, "cannot reach the eUICC: %s", rsp_strerror(rc));
    g->open = true;
    return EXIT_OK;
}

static void euicc_close(struct g *g)
{
    if (g->open)
        rsp_es10_close(&g->s);
    rsp_apdu_transport_free(g->t);
    rsp_apdu_card_free(g->card);
    rsp_euicc_free(g->euicc);
    g->open = false;
    g->t = NULL;
    g->card = NULL;
    g->euicc = NULL;
}

/* ---- chip info, config ---- */

static void ver(char out[16], const uint8_t v[3])
{
    snprintf(out, 16, "%u.%u.%u", v[0], v[1], v[2]);
}

static json_t *pkids(const struct rsp_es10_pkid_list *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, jhex(l->id[i].p, l->id[i].len));
    return a;
}

/* extCardResource: 81 installed applications, 82 free NVM, 83 free volatile memory. */
static json_t *card_resource(const struct rsp_es10_bin *b)
{
    json_t *o = json_object();
    struct rsp_der_iter it;
    struct rsp_tlv t;
    if (!b->p)
        return o;
    rsp_der_iter_init(&it, b->p, b->len);
    while (rsp_der_next(&it, &t) == 1) {
        /* fixed-size big-endian counters (not minimal INTEGERs) */
        if (t.len == 0 || t.len > 8)
            continue;
        uint64_t v = 0;
        for (size_t k = 0; k < t.len; k++)
            v = (v << 8) | t.val[k];
        const char *k = t.tag == 0x81   ? "installed_applications"
                        : t.tag == 0x82 ? "free_nvm"
                        : t.tag == 0x83 ? "free_ram"
                                        : NULL;
        if (k)
            json_object_set_new(o, k, json_integer((json_int_t)v));
    }
    return o;
}

static json_t *addresses_json(const struct rsp_es10_configured_addresses *a)
{
    return json_pack("{s:o, s:o}", "default_dp_address", jstrn(a->default_dp.p, a->default_dp.len),
                     "root_ds_address", jstrn(a->root_ds.p, a->root_ds.len));
}

static int cmd_chip_info(struct g *g, int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return usage_err(g, "chip info takes no arguments", NULL);
    char eid[33];
    int rc = rsp_lpa_get_eid(&g->s, eid);
    if (rc != 0)
        return es10_fail(g, rc, "GetEID");
    struct rsp_buf raw_i2 = RSP_BUF_INIT, raw_a = RSP_BUF_INIT;
    struct rsp_euicc_info2 i2;
    struct rsp_es10_configured_addresses a;
    if ((rc = rsp_lpa_get_euicc_info2(&g->s, &raw_i2, &i2)) != 0) {
        rsp_buf_free(&raw_i2);
        return es10_fail(g, rc, "GetEUICCInfo2");
    }
    if ((rc = rsp_lpa_configured_addresses(&g->s, &raw_a, &a)) != 0) {
        rsp_buf_free(&raw_i2);
        rsp_buf_free(&raw_a);
        return es10_fail(g, rc, "EuiccConfiguredAddresses");
    }
    char svn[16], fw[16], pv[16];
    ver(svn, i2.svn);
    ver(fw, i2.firmware_version);
    ver(pv, i2.profile_version);
    uint32_t caps = rsp_es10_bits_mask(&i2.rsp_capability);
    json_t *capa = json_array();
    static const char *const cap_names[] = {"additionalProfile", "crlSupport", "rpmSupport",
                                            "testProfileSupport"};
    for (unsigned i = 0; i < 4; i++)
        if (caps & (1u << i))
            json_array_append_new(capa, json_string(cap_names[i]));
    json_t *res = card_resource(&i2.ext_card_resource);
    json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "eid", eid, "svn", svn,
                          "firmware_version", fw, "profile_version", pv, "ext_card_resource", res,
                          "ci_pkids_verification", pkids(&i2.ci_verify), "ci_pkids_signing",
                          pkids(&i2.ci_sign), "rsp_capability", capa);
    json_t *ad = addresses_json(&a);
    json_object_update(d, ad);
    json_decref(ad);
    if (!g->json) {
        json_t *nvm = json_object_get(res, "free_nvm");
        printf("EID:                %s\n", eid);
        printf("Default SM-DP+:     %.*s\n", (int)a.default_dp.len,
               a.default_dp.p ? (const char *)a.default_dp.p : "");
        printf("Root SM-DS:         %.*s\n", (int)a.root_ds.len, (const char *)a.root_ds.p);
        printf("SGP.22 version:     %s\n", svn);
        printf("Firmware version:   %s\n", fw);
        printf("Profile package:    %s\n", pv);
        if (nvm)
            printf("Free NVM:           %lld bytes\n", (long long)json_integer_value(nvm));
        for (size_t i = 0; i < json_array_size(json_object_get(d, "ci_pkids_verification")); i++)
            printf(
                "CI key (verify):    %s\n",
                json_string_value(json_array_get(json_object_get(d, "ci_pkids_verification"), i)));
        for (size_t i = 0; i < json_array_size(json_object_get(d, "ci_pkids_signing")); i++)
            printf("CI key (sign):      %s\n",
                   json_string_value(json_array_get(json_object_get(d, "ci_pkids_signing"), i)));
        printf("RSP capabilities:  ");
        for (size_t i = 0; i < json_array_size(capa); i++)
            printf(" %s", json_string_value(json_array_get(capa, i)));
        printf("\n");
    }
    rsp_buf_free(&raw_i2);
    rsp_buf_free(&raw_a);
    return finish_ok(g, d);
}

static int cmd_config(struct g *g, int argc, char **argv)
{
    const char *set = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--default-dp") && i + 1 < argc)
            set = argv[++i];
        else if (!strcmp(argv[i], "--default-dp"))
            return usage_err(g, "--default-dp needs an address", NULL);
        else
            return usage_err(g, "unknown config argument", argv[i]);
    }
    if (set && strlen(set) > 255)
        return usage_err(g, "--default-dp: address too long", NULL);
    int rc;
    if (set) {
        int r = -1;
        if ((rc = rsp_lpa_set_default_dp(&g->s, set, &r)) != 0)
            return es10_fail(g, rc, "SetDefaultDpAddress");
        if (r != RSP_SET_DEFAULT_DP_OK)
            return fail(g, EXIT_EUICC, "euicc", r, "the eUICC refused the address (result %d)", r);
    }
    struct rsp_buf raw = RSP_BUF_INIT;
    struct rsp_es10_configured_addresses a;
    if ((rc = rsp_lpa_configured_addresses(&g->s, &raw, &a)) != 0) {
        rsp_buf_free(&raw);
        return es10_fail(g, rc, "EuiccConfiguredAddresses");
    }
    if (!g->json) {
        printf("Default SM-DP+:     %.*s\n", (int)a.default_dp.len,
               a.default_dp.p ? (const char *)a.default_dp.p : "");
        printf("Root SM-DS:         %.*s\n", (int)a.root_ds.len, (const char *)a.root_ds.p);
    }
    json_t *d = addresses_json(&a);
    rsp_buf_free(&raw);
    return finish_ok(g, d);
}

/* ---- profiles ---- */

static const char *class_name(const struct rsp_profile_info *p)
{
    if (!p->has_profile_class)
        return "operational";
    switch (p->profile_class) {
    case RSP_PROFILE_CLASS_TEST:
        return "test";
    case RSP_PROFILE_CLASS_PROVISIONING:
        return "provisioning";
    default:
        return "operational";
    }
}

static int cmd_profile_list(struct g *g, int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return usage_err(g, "profile list takes no arguments", NULL);
    struct rsp_buf raw = RSP_BUF_INIT;
    struct rsp_profile_info_list *pl = malloc(sizeof *pl);
    if (!pl)
        return fail(g, EXIT_OTHER, "error", -1, "out of memory");
    int rc = rsp_lpa_get_profiles(&g->s, NULL, &raw, pl);
    if (rc != 0) {
        free(pl);
        rsp_buf_free(&raw);
        return es10_fail(g, rc, "GetProfilesInfo");
    }
    if (pl->is_error) {
        int e = pl->error;
        free(pl);
        rsp_buf_free(&raw);
        return fail(g, EXIT_EUICC, "euicc", e, "the eUICC refused to list profiles (error %d)", e);
    }
    json_t *arr = json_array();
    if (!g->json && pl->n)
        printf("%-20s %-8s %-12s %-32s %s\n", "ICCID", "STATE", "CLASS", "AID", "NAME (NICKNAME)");
    for (size_t i = 0; i < pl->n; i++) {
        const struct rsp_profile_info *p = &pl->profiles[i];
        char iccid[21] = "";
        if (p->has_iccid)
            rsp_iccid_to_str(&p->iccid, iccid);
        const char *state = !p->has_state                     ? "unknown"
                            : p->state == RSP_PROFILE_ENABLED ? "enabled"
                                                              : "disabled";
        json_t *o = json_pack("{s:s, s:o, s:s, s:s, s:o, s:o, s:o}", "iccid", iccid, "isdp_aid",
                              jhex(p->isdp_aid.p, p->isdp_aid.len), "state", state, "class",
                              class_name(p), "service_provider", jstrn(p->spn.p, p->spn.len),
                              "name", jstrn(p->name.p, p->name.len), "nickname",
                              jstrn(p->nickname.p, p->nickname.len));
        json_array_append_new(arr, o);
        if (!g->json) {
            char aid[33] = "";
            if (p->isdp_aid.p && p->isdp_aid.len <= 16)
                rsp_hex_str(aid, p->isdp_aid.p, p->isdp_aid.len, 1);
            printf("%-20s %-8s %-12s %-32s %.*s", iccid, state, class_name(p), aid,
                   (int)p->name.len, p->name.p ? (const char *)p->name.p : "");
            if (p->nickname.p && p->nickname.len)
                printf(" (%.*s)", (int)p->nickname.len, (const char *)p->nickname.p);
            printf("\n");
        }
    }
    if (!g->json && pl->n == 0)
        printf("no profiles\n");
    free(pl);
    rsp_buf_free(&raw);
    return finish_ok(g, arr);
}

static int cmd_profile_switch(struct g *g, int argc, char **argv, int which)
{
    const char *idtext = NULL;
    bool refresh = false;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--refresh") && which != 2)
            refresh = true;
        else if (argv[i][0] == '-' || idtext)
            return usage_err(g, "unexpected argument", argv[i]);
        else
            idtext = argv[i];
    }
    if (!idtext)
        return usage_err(g, "a profile ICCID or ISD-P AID is required", NULL);
    struct rsp_es10_profile_id id;
    uint8_t aid[16];
    if (rsp_lpa_profile_id_parse(idtext, &id, aid) != 0)
        return usage_err(g, "not an ICCID (18-20 digits) or an ISD-P AID (hex)", idtext);
    int r = -1, rc;
    const char *what;
    if (which == 0) {
        rc = rsp_lpa_enable_profile(&g->s, &id, refresh, &r);
        what = "EnableProfile";
    } else if (which == 1) {
        rc = rsp_lpa_disable_profile(&g->s, &id, refresh, &r);
        what = "DisableProfile";
    } else {
        rc = rsp_lpa_delete_profile(&g->s, &id, &r);
        what = "DeleteProfile";
    }
    if (rc != 0)
        return es10_fail(g, rc, what);
    if (r != 0)
        return fail(g, EXIT_EUICC, "euicc", r, "%s refused by the eUICC: %s (%d)", what,
                    which == 0   ? rsp_lpa_enable_result_name(r)
                    : which == 1 ? rsp_lpa_disable_result_name(r)
                                 : rsp_lpa_delete_result_name(r),
                    r);
    if (!g->json)
        printf("%s %s\n", idtext, which == 0 ? "enabled" : which == 1 ? "disabled" : "deleted");
    return finish_ok(g, json_pack("{s:s}", "profile", idtext));
}

static int cmd_profile_nickname(struct g *g, int argc, char **argv)
{
    if (argc < 1 || argc > 2)
        return usage_err(g, "profile nickname ICCID [NAME]", NULL);
    struct rsp_iccid iccid;
    if (rsp_iccid_from_str(argv[0], &iccid) != 0)
        return usage_err(g, "not an ICCID", argv[0]);
    const char *nick = argc == 2 ? argv[1] : "";
    if (strlen(nick) > RSP_ES10_NICKNAME_MAX)
        return usage_err(g, "nickname longer than 64 bytes", NULL);
    int r = -1;
    int rc = rsp_lpa_set_nickname(&g->s, &iccid, nick, &r);
    if (rc != 0)
        return es10_fail(g, rc, "SetNickname");
    if (r != RSP_SET_NICKNAME_OK)
        return fail(g, EXIT_EUICC, "euicc", r, "SetNickname refused by the eUICC: %s (%d)",
                    r == RSP_SET_NICKNAME_ICCID_NOT_FOUND ? "iccidNotFound" : "undefinedError", r);
    if (!g->json)
        printf("%s nickname %s%s%s\n", argv[0], *nick ? "set to '" : "cleared", nick,
               *nick ? "'" : "");
    return finish_ok(g, json_pack("{s:s, s:s}", "iccid", argv[0], "nickname", nick));
}

/* ---- notifications ---- */

static const char *pmo_name(uint32_t pmo)
{
    if (pmo & RSP_NOTIF_INSTALL)
        return "install";
    if (pmo & RSP_NOTIF_ENABLE)
        return "enable";
    if (pmo & RSP_NOTIF_DISABLE)
        return "disable";
    if (pmo & RSP_NOTIF_DELETE)
        return "delete";
    return "unknown";
}

static int list_notifications(struct g *g, struct rsp_buf *raw, struct rsp_es10_notif_list *nl)
{
    int rc = rsp_lpa_list_notifications(&g->s, NULL, raw, nl);
    if (rc != 0)
        return es10_fail(g, rc, "ListNotification");
    if (nl->is_error)
        return fail(g, EXIT_EUICC, "euicc", nl->error,
                    "the eUICC refused to list notifications (error %d)", nl->error);
    return EXIT_OK;
}

static int cmd_notification_list(struct g *g, int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return usage_err(g, "notification list takes no arguments", NULL);
    struct rsp_buf raw = RSP_BUF_INIT;
    static struct rsp_es10_notif_list nl;
    int st = list_notifications(g, &raw, &nl);
    if (st != EXIT_OK) {
        rsp_buf_free(&raw);
        return st;
    }
    json_t *arr = json_array();
    if (!g->json && nl.n)
        printf("%-6s %-8s %-20s %s\n", "SEQ", "EVENT", "ICCID", "ADDRESS");
    for (size_t i = 0; i < nl.n; i++) {
        struct rsp_sgp22_notification_metadata md;
        if (rsp_sgp22_notification_metadata_decode(nl.items[i].raw, nl.items[i].raw_len, &md) != 0)
            continue;
        char iccid[21] = "";
        if (md.has_iccid && md.iccid.len == RSP_ICCID_LEN) {
            struct rsp_iccid ic;
            memcpy(ic.b, md.iccid.p, RSP_ICCID_LEN);
            rsp_iccid_to_str(&ic, iccid);
        }
        json_array_append_new(arr, json_pack("{s:I, s:s, s:o, s:s}", "seq_number",
                                             (json_int_t)md.seq_number, "operation",
                                             pmo_name(md.pmo), "address",
                                             jstrn(md.address.p, md.address.len), "iccid", iccid));
        if (!g->json)
            printf("%-6lld %-8s %-20s %.*s\n", (long long)md.seq_number, pmo_name(md.pmo), iccid,
                   (int)md.address.len, (const char *)md.address.p);
    }
    if (!g->json && nl.n == 0)
        printf("no pending notifications\n");
    rsp_buf_free(&raw);
    return finish_ok(g, arr);
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!*s || !isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int cmd_notification_remove(struct g *g, int argc, char **argv)
{
    bool all = false;
    uint64_t seqs[RSP_ES10_MAX_NOTIFICATIONS];
    size_t n = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--all"))
            all = true;
        else if (n < RSP_ES10_MAX_NOTIFICATIONS && parse_u64(argv[i], &seqs[n]) == 0)
            n++;
        else
            return usage_err(g, "not a sequence number", argv[i]);
    }
    if (all == (n > 0))
        return usage_err(g, "give sequence numbers or --all", NULL);
    if (all) {
        struct rsp_buf raw = RSP_BUF_INIT;
        static struct rsp_es10_notif_list nl;
        int st = list_notifications(g, &raw, &nl);
        if (st == EXIT_OK)
            for (size_t i = 0; i < nl.n; i++) {
                struct rsp_sgp22_notification_metadata md;
                if (rsp_sgp22_notification_metadata_decode(nl.items[i].raw, nl.items[i].raw_len,
                                                           &md) == 0)
                    seqs[n++] = (uint64_t)md.seq_number;
            }
        rsp_buf_free(&raw);
        if (st != EXIT_OK)
            return st;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        int r = -1;
        int rc = rsp_lpa_remove_notification(&g->s, seqs[i], &r);
        if (rc != 0) {
            json_decref(arr);
            return es10_fail(g, rc, "RemoveNotificationFromList");
        }
        if (r != RSP_NOTIF_SENT_OK) {
            json_decref(arr);
            return fail(
                g, EXIT_EUICC, "euicc", r, "notification %llu: %s (%d)",
                (unsigned long long)seqs[i],
                r == RSP_NOTIF_SENT_NOTHING_TO_DELETE ? "nothingToDelete" : "undefinedError", r);
        }
        json_array_append_new(arr, json_integer((json_int_t)seqs[i]));
        if (!g->json)
            printf("notification %llu removed\n", (unsigned long long)seqs[i]);
    }
    if (!g->json && n == 0)
        printf("no pending notifications\n");
    return finish_ok(g, json_pack("{s:o}", "removed", arr));
}

/* ---- ES9+: download, notification process ---- */

static int es9_client(struct g *g, struct rsp_es9p_client **c)
{
    struct rsp_es9p_client_opts o = {.ca_file = g->ca,
                                     .ca_path = g->ca_path,
                                     .pinned_pubkey = g->pin,
                                     .insecure_tls = g->insecure_tls,
                                     .plain_http = g->plain_http,
                                     .retries = g->retries,
                                     .timeout_ms = g->timeout_s * 1000};
    if (!o.ca_file && !o.ca_path && g->soft_dir) {
        snprintf(g->ca_default, sizeof g->ca_default, "%s/nist/ci.pem", g->soft_dir);
        FILE *f = fopen(g->ca_default, "rb");
        if (f) {
            fclose(f);
            o.ca_file = g->ca_default;
        }
    }
    int rc = rsp_es9p_client_new(&o, c);
    if (rc == RSP_EINVAL)
        return usage_err(g,
                         "no RSP CI certificates for TLS: give --ca FILE or --ca-path DIR "
                         "(or --insecure-tls in a lab)",
                         NULL);
    if (rc != 0)
        return fail(g, EXIT_OTHER, "error", -1, "ES9+ client: %s", rsp_strerror(rc));
    return EXIT_OK;
}

static void on_progress(void *ctx, const char *step, size_t i, size_t n)
{
    struct g *g = ctx;
    bool seg = !strcmp(step, "loadBoundProfilePackage") && n;
    bool backoff = !strcmp(step, "backoff");
    if (g->json) {
        json_t *o =
            json_pack("{s:s, s:s, s:s}", "type", "progress", "command", g->command, "step", step);
        if (seg) {
            json_object_set_new(o, "index", json_integer((json_int_t)i));
            json_object_set_new(o, "n", json_integer((json_int_t)n));
        } else if (backoff) {
            json_object_set_new(o, "delay_ms", json_integer((json_int_t)i));
            json_object_set_new(o, "failures", json_integer((json_int_t)n));
        } else if (!strcmp(step, "attempt")) {
            json_object_set_new(o, "attempt", json_integer((json_int_t)i));
        }
        emit(o);
    } else if (seg) {
        if (i == 1 || i == n || i % 10 == 0)
            fprintf(stderr, "rsp-lpa: %s %zu/%zu\n", step, i, n);
    } else if (backoff) {
        fprintf(stderr, "rsp-lpa: backing off %zu ms (failure %zu)\n", i, n);
    } else {
        fprintf(stderr, "rsp-lpa: %s\n", step);
    }
}

/* IMEI (15 digits) -> TAC and IMEI as SGP.22 codes them (§2.6.5 deviceInfo): Telephony BCD
 * strings (3GPP TS 29.002: first digit in the low nibble), 4 bytes for the TAC, 8 bytes for the
 * IMEI with the check digit in the high nibble of the last byte and an F filler. */
static int parse_imei(const char *s, uint8_t tac[4], uint8_t imei[8])
{
    if (strlen(s) != 15)
        return -1;
    for (size_t i = 0; i < 15; i++)
        if (!isdigit((unsigned char)s[i]))
            return -1;
    for (size_t i = 0; i < 4; i++)
        tac[i] = (uint8_t)(((s[2 * i + 1] - '0') << 4) | (s[2 * i] - '0'));
    for (size_t i = 0; i < 8; i++) {
        unsigned lo = (unsigned)(s[2 * i] - '0');
        unsigned hi = 2 * i + 1 < 15 ? (unsigned)(s[2 * i + 1] - '0') : 0xF;
        imei[i] = (uint8_t)((hi << 4) | lo);
    }
    return 0;
}

static int send_notifications(struct g *g, struct rsp_es9p_client *c, bool all,
                              const uint64_t *want, size_t nwant, json_t *sent);

/* Stage 3 after a successful installation: local verification against the metadata the user
 * consented to; a profile that fails it is deleted (never enabled) and the deletion notification
 * sent; a verified one is enabled when asked, and the pending notifications are sent. */
static int after_install(struct g *g, const struct rsp_lpa_download_result *r, bool enable)
{
    char aid[33], why[160];
    rsp_hex_str(aid, r->aid, sizeof r->aid, 1);
    on_progress(g, "verify", 0, 0);
    int rc = rsp_lpa_verify_installed(&g->s, &r->expected, r->aid, why, sizeof why);
    struct rsp_es10_profile_id id = {.kind = RSP_ES10_BY_AID, .aid = {r->aid, sizeof r->aid}};
    struct rsp_es9p_client *c = NULL;
    json_t *sent = json_array();
    int st = EXIT_OK;
    if (rc == RSP_EVERIFY) {
        int res = -1;
        int drc = rsp_lpa_delete_profile(&g->s, &id, &res);
        if (es9_client(g, &c) == EXIT_OK)
            send_notifications(g, c, true, NULL, 0, sent);
        rsp_es9p_client_free(c);
        json_decref(sent);
        return fail(g, EXIT_VERIFY, "verification", -1,
                    "profile %s failed local verification: %s; %s", r->iccid, why,
                    drc == 0 && res == 0 ? "it was deleted" : "deleting it FAILED");
    }
    if (rc != 0) {
        json_decref(sent);
        return es10_fail(g, rc, "GetProfilesInfo (verification)");
    }
    bool enabled = false;
    if (enable) {
        on_progress(g, "enable", 0, 0);
        int res = -1;
        rc = rsp_lpa_enable_profile(&g->s, &id, true, &res);
        if (rc != 0) {
            json_decref(sent);
            return es10_fail(g, rc, "EnableProfile");
        }
        if (res != 0) {
            json_decref(sent);
            return fail(g, EXIT_EUICC, "euicc", res,
                        "profile %s verified but not enabled: result %d", r->iccid, res);
        }
        enabled = true;
    }
    if ((st = es9_client(g, &c)) == EXIT_OK) {
        st = send_notifications(g, c, true, NULL, 0, sent);
        rsp_es9p_client_free(c);
    }
    if (st != EXIT_OK) {
        /* the profile is in place; the notifications stay pending for `notification process` */
        json_decref(sent);
        return st;
    }
    if (!g->json)
        printf("profile %s installed (ISD-P %s), verified%s\n", r->iccid, aid,
               enabled ? " and enabled" : "");
    return finish_ok(g, json_pack("{s:s, s:s, s:b, s:b, s:o}", "iccid", r->iccid, "isdp_aid", aid,
                                  "verified", 1, "enabled", enabled, "notifications_sent", sent));
}

/* ---- download state directory, eUICC reopening, test kill points ---- */

/* STATE/EID: --state-dir, soft:DIR/lpa, $RSP_LPA_STATE_DIR, $XDG_STATE_HOME/rsp-lpa,
 * ~/.local/state/rsp-lpa. */
static int state_dir_for(struct g *g, const char *eid, char *out, size_t n)
{
    const char *base = g->state_dir;
    char buf[4096];
    if (!base && g->soft_dir) {
        snprintf(buf, sizeof buf, "%s/lpa", g->soft_dir);
        base = buf;
    }
    if (!base)
        base = getenv("RSP_LPA_STATE_DIR");
    if (!base && getenv("XDG_STATE_HOME") && *getenv("XDG_STATE_HOME")) {
        snprintf(buf, sizeof buf, "%s/rsp-lpa", getenv("XDG_STATE_HOME"));
        base = buf;
    }
    if (!base && getenv("HOME")) {
        snprintf(buf, sizeof buf, "%s/.local/state/rsp-lpa", getenv("HOME"));
        base = buf;
    }
    if (!base)
        return -1;
    if (snprintf(out, n, "%s/%s", base, eid) >= (int)n)
        return -1;
    return rsp_dir_create(out);
}

/* After an eUICC reset: power-cycle the in-process card, or reconnect the reader/modem; then
 * open the ISD-R again. */
static int reopen_euicc(void *ctx, struct rsp_es10 *s)
{
    struct g *g = ctx;
    (void)s;
    if (g->open)
        rsp_es10_close(&g->s);
    g->open = false;
    if (g->euicc) {
        rsp_euicc_power_cycle(g->euicc);
        rsp_apdu_card_reset(g->card);
    } else {
        rsp_apdu_transport_free(g->t);
        g->t = NULL;
        int rc = g->at_dev ? rsp_apdu_at_new(&g->t, g->at_dev, NULL)
                           : rsp_apdu_pcsc_new(&g->t, g->reader);
        if (rc != 0)
            return rc;
    }
    struct rsp_es10_opts eo = {.isdr_aid = g->aid.len ? g->aid.data : NULL,
                               .isdr_aid_len = g->aid.len,
                               .block_size = g->block_size};
    int rc = rsp_es10_open(&g->s, g->t, &eo);
    g->open = rc == 0;
    return rc;
}

struct kill_at {
    char what[16];
    size_t index;
};

/* RSP_LPA_TEST_KILL_AT=WHAT:K (tests): SIGKILL right after the record was saved at that point
 * of the first attempt -- a crash at an exact place, nothing flushed or cleaned up. */
static void test_kill_hook(void *ctx, const char *what, size_t index, unsigned attempt)
{
    const struct kill_at *k = ctx;
    if (attempt == 1 && index == k->index && !strcmp(what, k->what)) {
        fflush(stdout);
        kill(getpid(), SIGKILL);
    }
}

static int parse_kill_at(const char *v, struct kill_at *k)
{
    const char *colon = strchr(v, ':');
    uint64_t n;
    if (!colon || (size_t)(colon - v) >= sizeof k->what || parse_u64(colon + 1, &n) != 0)
        return -1;
    memcpy(k->what, v, (size_t)(colon - v));
    k->what[colon - v] = 0;
    k->index = (size_t)n;
    return 0;
}

static uint32_t seeded_random(void *ctx)
{
    uint64_t *x = ctx; /* xorshift64: reproducible jitter for tests (RSP_LPA_TEST_SEED) */
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return (uint32_t)(*x >> 32);
}

/* --abandon: CancelSession(endUserRejection) for a session the eUICC still holds, delivered or
 * kept; then the record is removed. */
static int abandon(struct g *g, const char *dir)
{
    struct rsp_lpa_attempt a;
    char err[160] = "";
    int rc = rsp_lpa_attempt_load(dir, &a, NULL, err, sizeof err);
    if (rc == RSP_ENOTFOUND)
        return fail(g, EXIT_USAGE, "usage", -1, "no pending download in %s", dir);
    if (rc == 0 && a.tid[0] && a.state != RSP_LPA_ATT_GAVE_UP) {
        struct rsp_tid tid;
        struct rsp_buf raw = RSP_BUF_INIT;
        struct rsp_sgp22_cancel_session_response cr;
        if (rsp_tid_from_hex(a.tid, &tid) == 0 &&
            rsp_lpa_cancel_session(&g->s, tid.b, tid.len, RSP_SGP22_CANCEL_END_USER_REJECTION, &raw,
                                   &cr) == 0 &&
            2 * raw.len < sizeof a.pending_cancel) {
            rsp_hex_str(a.pending_cancel, raw.data, raw.len, 1);
            snprintf(a.cancel_tid, sizeof a.cancel_tid, "%s", a.tid);
            a.has_bpp = false;
            rsp_lpa_attempt_save(dir, &a);
            struct rsp_es9p_client *c = NULL;
            if (es9_client(g, &c) == EXIT_OK) {
                if (rsp_lpa_deliver_pending_cancel(c, dir) != 0 && !g->json)
                    fprintf(stderr, "rsp-lpa: the SM-DP+ could not be told; the session expires "
                                    "there on its own\n");
                rsp_es9p_client_free(c);
            }
        }
        rsp_buf_free(&raw);
    }
    rsp_lpa_attempt_clear(dir);
    if (!g->json)
        printf("pending download abandoned\n");
    return finish_ok(g, json_pack("{s:b}", "abandoned", 1));
}

static int num_opt(const char *v, uint64_t max, uint64_t *out)
{
    return parse_u64(v, out) != 0 || *out > max ? -1 : 0;
}

static int cmd_profile_download(struct g *g, int argc, char **argv)
{
    const char *ac_s = NULL, *host = NULL, *mid = NULL, *cc = NULL, *imei_s = NULL;
    bool enable = false, resume = false, do_abandon = false;
    struct rsp_lpa_run_opts ro;
    memset(&ro, 0, sizeof ro);
    rsp_lpa_retry_policy_default(&ro.retry);
    rsp_lpa_conditions_policy_default(&ro.cond_policy);
    rsp_lpa_conditions_unknown(&ro.conditions);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        uint64_t n;
        if (!strcmp(a, "--enable")) {
            enable = true;
        } else if (!strcmp(a, "--resume")) {
            resume = true;
        } else if (!strcmp(a, "--abandon")) {
            do_abandon = true;
        } else if (!strcmp(a, "--no-wait")) {
            ro.no_wait = true;
        } else if (!strcmp(a, "--charging")) {
            ro.conditions.charging = 1;
        } else if ((!strcmp(a, "-a") || !strcmp(a, "-s") || !strcmp(a, "-m") || !strcmp(a, "-c") ||
                    !strcmp(a, "--imei") || !strcmp(a, "--conditions")) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(a, "-a"))
                ac_s = v;
            else if (!strcmp(a, "-s"))
                host = v;
            else if (!strcmp(a, "-m"))
                mid = v;
            else if (!strcmp(a, "-c"))
                cc = v;
            else if (!strcmp(a, "--conditions"))
                ro.conditions_file = v;
            else
                imei_s = v;
        } else if ((!strcmp(a, "--max-attempts") || !strcmp(a, "--backoff-base") ||
                    !strcmp(a, "--backoff-cap") || !strcmp(a, "--budget") ||
                    !strcmp(a, "--battery") || !strcmp(a, "--signal") ||
                    !strcmp(a, "--min-battery") || !strcmp(a, "--min-signal")) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            bool pct = !strcmp(a, "--battery") || !strcmp(a, "--min-battery");
            bool bars = !strcmp(a, "--signal") || !strcmp(a, "--min-signal");
            uint64_t max = pct ? 100 : bars ? 4 : !strcmp(a, "--max-attempts") ? 1000 : 86400000;
            if (num_opt(v, max, &n) != 0 || (!strcmp(a, "--max-attempts") && n == 0))
                return usage_err(g, "bad number for", a);
            if (!strcmp(a, "--max-attempts"))
                ro.retry.max_attempts = (unsigned)n;
            else if (!strcmp(a, "--backoff-base"))
                ro.retry.base_ms = (unsigned)n;
            else if (!strcmp(a, "--backoff-cap"))
                ro.retry.cap_ms = (unsigned)n;
            else if (!strcmp(a, "--budget"))
                ro.retry.budget_s = (unsigned)n;
            else if (!strcmp(a, "--battery"))
                ro.conditions.battery_pct = (int)n;
            else if (!strcmp(a, "--signal"))
                ro.conditions.signal = (int)n;
            else if (!strcmp(a, "--min-battery"))
                ro.cond_policy.min_battery = (int)n;
            else
                ro.cond_policy.min_signal = (int)n;
        } else {
            return usage_err(g, "unexpected download argument (or missing value)", a);
        }
    }
    if (ac_s && (host || mid))
        return usage_err(g, "-a excludes -s and -m", NULL);
    if ((resume || do_abandon) && (ac_s || host || mid))
        return usage_err(g, "--resume and --abandon take the pending download, not -a/-s/-m", NULL);
    char eid[33], dir[4096];
    int rc = rsp_lpa_get_eid(&g->s, eid);
    if (rc != 0)
        return es10_fail(g, rc, "GetEID");
    if (state_dir_for(g, eid, dir, sizeof dir) != 0)
        return fail(g, EXIT_OTHER, "error", -1,
                    "no usable state directory for download attempts (give --state-dir)");
    if (do_abandon)
        return abandon(g, dir);

    struct rsp_activation_code ac;
    struct rsp_lpa_download_opts *o = &ro.dl;
    static const uint8_t default_tac[4] = {0x53, 0x92, 0x60, 0x11}; /* TAC 35290611 (TBCD) */
    memcpy(o->tac, default_tac, 4);
    if (imei_s) {
        if (parse_imei(imei_s, o->tac, o->imei) != 0)
            return usage_err(g, "--imei wants 15 digits", imei_s);
        o->has_imei = true;
    }
    char dp[256] = "";
    if (resume) {
        struct rsp_lpa_attempt a;
        char err[160] = "";
        rc = rsp_lpa_attempt_load(dir, &a, NULL, err, sizeof err);
        if (rc == RSP_ENOTFOUND ||
            (rc == 0 && (a.state == RSP_LPA_ATT_GAVE_UP || a.state == RSP_LPA_ATT_IDLE)))
            return fail(g, EXIT_USAGE, "usage", -1, "no pending download to resume in %s", dir);
        if (rc != 0)
            return fail(g, EXIT_OTHER, "error", -1, "attempt record in %s: %s", dir, err);
        enable = enable || a.enable;
        if (a.cc_required && !cc && a.state != RSP_LPA_ATT_DOWNLOADING &&
            a.state != RSP_LPA_ATT_VERIFYING)
            return usage_err(g, "the pending download needs its confirmation code again (-c)",
                             NULL);
    } else if (ac_s) {
        if (rsp_actcode_parse(ac_s, strlen(ac_s), &ac) != 0)
            return usage_err(g, "not an activation code (1$SMDP$MATCHINGID...)", NULL);
        snprintf(dp, sizeof dp, "%s", ac.smdp_address);
        mid = ac.matching_id;
        if (ac.cc_required && !cc)
            return usage_err(g, "the activation code requires a confirmation code (-c)", NULL);
    } else if (host) {
        snprintf(dp, sizeof dp, "%s", host);
    } else {
        struct rsp_buf raw = RSP_BUF_INIT;
        struct rsp_es10_configured_addresses a;
        rc = rsp_lpa_configured_addresses(&g->s, &raw, &a);
        if (rc == 0 && a.default_dp.p && a.default_dp.len && a.default_dp.len < sizeof dp)
            snprintf(dp, sizeof dp, "%.*s", (int)a.default_dp.len, (const char *)a.default_dp.p);
        rsp_buf_free(&raw);
        if (rc != 0)
            return es10_fail(g, rc, "EuiccConfiguredAddresses");
        if (!dp[0])
            return usage_err(g, "no SM-DP+: give -a or -s (the eUICC has no default SM-DP+)", NULL);
    }
    o->smdp_address = dp[0] ? dp : NULL;
    o->matching_id = mid && *mid ? mid : NULL;
    o->confirmation_code = cc;
    o->event = on_progress;
    o->event_ctx = g;
    ro.eid = eid;
    ro.state_dir = dir;
    ro.enable = enable;
    ro.reopen = reopen_euicc;
    ro.reopen_ctx = g;
    struct kill_at kat;
    const char *kenv = getenv("RSP_LPA_TEST_KILL_AT");
    if (kenv && *kenv) {
        if (parse_kill_at(kenv, &kat) != 0)
            return usage_err(g, "RSP_LPA_TEST_KILL_AT wants WHAT:K", kenv);
        ro.saved_hook = test_kill_hook;
        ro.saved_hook_ctx = &kat;
    }
    uint64_t seed = 0;
    const char *senv = getenv("RSP_LPA_TEST_SEED");
    if (senv && parse_u64(senv, &seed) == 0 && seed) {
        ro.random = seeded_random;
        ro.random_ctx = &seed;
    }
    struct rsp_es9p_client *c = NULL;
    int st = es9_client(g, &c);
    if (st != EXIT_OK)
        return st;
    struct rsp_lpa_download_result r;
    struct rsp_lpa_attempt fin;
    memset(&fin, 0, sizeof fin);
    rc = rsp_lpa_run(&g->s, c, &ro, &r, &fin);
    rsp_es9p_client_free(c);
    if (rc == RSP_ESTATE && r.kind == RSP_LPA_DL_OTHER && !fin.state)
        return fail(g, EXIT_USAGE, "usage", -1, "%s", r.message);
    if (r.kind == RSP_LPA_DL_OK) {
        st = after_install(g, &r, enable);
        /* Stage 3 done (or refused and the profile deleted): the attempt is over */
        rsp_lpa_attempt_clear(dir);
        return st;
    }
    switch (r.kind) {
    case RSP_LPA_DL_EUICC_REFUSED:
        return fail(g, EXIT_EUICC, "euicc", (int)r.code, "%s", r.message);
    case RSP_LPA_DL_SMDP_REFUSED:
        if (g->json) {
            json_t *err = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kind", "smdp", "step",
                                    r.step ? r.step : "", "subject_code", r.es9.status.code.subject,
                                    "reason_code", r.es9.status.code.reason, "smdp_message",
                                    r.es9.status.code.message, "message", r.message);
            emit(json_pack("{s:s, s:s, s:b, s:o}", "type", "result", "command", g->command, "ok", 0,
                           "error", err));
            return EXIT_SMDP;
        }
        return fail(g, EXIT_SMDP, "smdp", -1, "refused by the SM-DP+: %s", r.message);
    case RSP_LPA_DL_DEFERRED:
        return fail(g, EXIT_DEFERRED, "deferred", -1, "%s (run the download again to resume)",
                    r.message);
    case RSP_LPA_DL_NETWORK:
    case RSP_LPA_DL_EUICC_IO:
        if (ro.no_wait && fin.state == RSP_LPA_ATT_BACKOFF)
            return fail(g, EXIT_DEFERRED, "backoff", -1,
                        "%s; backing off after %u attempt(s) (run the download again to resume)",
                        r.message, fin.attempts);
        if (r.kind == RSP_LPA_DL_EUICC_IO)
            return fail(g, EXIT_EUICC, "euicc", (int)r.code, "%s (after %u attempts)", r.message,
                        fin.attempts);
        return fail(g, EXIT_NETWORK, "network", -1, "%s (after %u attempts)", r.message,
                    fin.attempts);
    case RSP_LPA_DL_CC_REQUIRED:
        return fail(g, EXIT_USAGE, "usage", -1, "%s", r.message);
    case RSP_LPA_DL_TLS:
        return fail(g, EXIT_OTHER, "tls", (int)r.es9.tls, "%s", r.message);
    default:
        if (r.es9.kind == RSP_ES9P_HTTP_ERROR)
            return fail(g, EXIT_NETWORK, "network", -1, "%s (after %u attempts)", r.message,
                        fin.attempts);
        return fail(g, EXIT_OTHER, "error", -1, "%s", r.message);
    }
}

/* Sends the pending notifications selected (all, or the sequence numbers in want[]) to the
 * SM-DP+ each names, removing each from the eUICC once delivered; appends the sequence numbers
 * sent to `sent`. Returns an exit status (the first failure stops the loop). */
static int send_notifications(struct g *g, struct rsp_es9p_client *c, bool all,
                              const uint64_t *want, size_t nwant, json_t *sent)
{
    struct rsp_buf raw = RSP_BUF_INIT;
    static struct rsp_es10_notif_list nl;
    int rc = rsp_lpa_retrieve_notifications(&g->s, NULL, &raw, &nl);
    if (rc != 0 || nl.is_error) {
        rsp_buf_free(&raw);
        return rc ? es10_fail(g, rc, "RetrieveNotificationsList")
                  : fail(g, EXIT_EUICC, "euicc", nl.error, "RetrieveNotificationsList refused");
    }
    int st = EXIT_OK;
    for (size_t i = 0; i < nl.n && st == EXIT_OK; i++) {
        struct rsp_sgp22_pending_notification pn;
        if (rsp_sgp22_pending_notification_decode(nl.items[i].raw, nl.items[i].raw_len, &pn) != 0)
            continue;
        const struct rsp_sgp22_notification_metadata *md =
            pn.is_pir ? &pn.pir.data.notification_metadata : &pn.other.tbs;
        uint64_t seq = (uint64_t)md->seq_number;
        bool pick = all;
        for (size_t k = 0; k < nwant; k++)
            pick = pick || want[k] == seq;
        if (!pick)
            continue;
        char host[256];
        snprintf(host, sizeof host, "%.*s", (int)(md->address.len < 255 ? md->address.len : 255),
                 (const char *)md->address.p);
        struct rsp_es9_request rq;
        struct rsp_es9_response rs;
        struct rsp_es9p_outcome oc;
        memset(&rq, 0, sizeof rq);
        rq.fn = RSP_ES9_HANDLE_NOTIFICATION;
        rc = rsp_buf_set(&rq.u.handle_notification.pending_notification, nl.items[i].raw,
                         nl.items[i].raw_len);
        if (rc == 0)
            rc = rsp_es9p_call(c, host, &rq, &rs, &oc);
        rsp_es9_response_free(&rs);
        rsp_es9_request_free(&rq);
        if (rc != 0) {
            st = oc.kind == RSP_ES9P_NETWORK_ERROR
                     ? fail(g, EXIT_NETWORK, "network", -1, "notification %llu to %s: %s",
                            (unsigned long long)seq, host, oc.message)
                 : oc.kind == RSP_ES9P_REFUSED
                     ? fail(g, EXIT_SMDP, "smdp", -1, "notification %llu to %s: %s",
                            (unsigned long long)seq, host, oc.message)
                     : fail(g, EXIT_OTHER, "error", -1, "notification %llu to %s: %s",
                            (unsigned long long)seq, host, oc.message);
            break;
        }
        int res = -1;
        if ((rc = rsp_lpa_remove_notification(&g->s, seq, &res)) != 0)
            st = es10_fail(g, rc, "RemoveNotificationFromList");
        json_array_append_new(sent, json_integer((json_int_t)seq));
        if (!g->json && st == EXIT_OK)
            printf("notification %llu sent to %s\n", (unsigned long long)seq, host);
    }
    rsp_buf_free(&raw);
    return st;
}

static int cmd_notification_process(struct g *g, int argc, char **argv)
{
    bool all = argc == 0;
    uint64_t want[RSP_ES10_MAX_NOTIFICATIONS];
    size_t nwant = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--all"))
            all = true;
        else if (nwant < RSP_ES10_MAX_NOTIFICATIONS && parse_u64(argv[i], &want[nwant]) == 0)
            nwant++;
        else
            return usage_err(g, "not a sequence number", argv[i]);
    }
    struct rsp_es9p_client *c = NULL;
    int st = es9_client(g, &c);
    if (st != EXIT_OK)
        return st;
    json_t *sent = json_array();
    st = send_notifications(g, c, all, want, nwant, sent);
    char eid[33], dir[4096];
    if (rsp_lpa_get_eid(&g->s, eid) == 0 && state_dir_for(g, eid, dir, sizeof dir) == 0)
        rsp_lpa_deliver_pending_cancel(c, dir); /* a CancelSession kept by a download */
    rsp_es9p_client_free(c);
    if (st != EXIT_OK) {
        json_decref(sent);
        return st;
    }
    return finish_ok(g, json_pack("{s:o}", "sent", sent));
}

/* ---- main ---- */

struct command {
    const char *name;
    bool needs_euicc;
    int (*run)(struct g *g, int argc, char **argv);
};

static int run_enable(struct g *g, int argc, char **argv)
{
    return cmd_profile_switch(g, argc, argv, 0);
}
static int run_disable(struct g *g, int argc, char **argv)
{
    return cmd_profile_switch(g, argc, argv, 1);
}
static int run_delete(struct g *g, int argc, char **argv)
{
    return cmd_profile_switch(g, argc, argv, 2);
}

static const struct command commands[] = {
    {"chip info", true, cmd_chip_info},
    {"profile list", true, cmd_profile_list},
    {"profile enable", true, run_enable},
    {"profile disable", true, run_disable},
    {"profile delete", true, run_delete},
    {"profile nickname", true, cmd_profile_nickname},
    {"profile download", true, cmd_profile_download},
    {"notification list", true, cmd_notification_list},
    {"notification remove", true, cmd_notification_remove},
    {"notification process", true, cmd_notification_process},
    {"config", true, cmd_config},
};

static bool is_command_word(const char *s)
{
    return !strcmp(s, "chip") || !strcmp(s, "profile") || !strcmp(s, "notification") ||
           !strcmp(s, "config");
}

int main(int argc, char **argv)
{
    struct g g;
    memset(&g, 0, sizeof g);
    g.curve = "nist";
    g.retries = 2;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-')
            break;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(help_main, stdout);
            rsp_buf_free(&g.aid);
            return EXIT_OK;
        } else if (!strcmp(a, "--json")) {
            g.json = true;
        } else if (!strcmp(a, "--pcsc")) {
            g.pcsc = true;
            if (i + 1 < argc && argv[i + 1][0] != '-' && !is_command_word(argv[i + 1]))
                g.reader = argv[++i];
        } else if (!strcmp(a, "--at") && i + 1 < argc) {
            g.at_dev = argv[++i];
        } else if (!strncmp(a, "--at=", 5)) {
            g.at_dev = a + 5;
        } else if (!strncmp(a, "--pcsc=", 7)) {
            g.pcsc = true;
            g.reader = a + 7;
        } else if (!strcmp(a, "--insecure-tls")) {
            g.insecure_tls = true;
        } else if (!strcmp(a, "--http")) {
            g.plain_http = true;
        } else if ((!strcmp(a, "--ca") || !strcmp(a, "--ca-path") || !strcmp(a, "--pin") ||
                    !strcmp(a, "--retries") || !strcmp(a, "--timeout")) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            uint64_t n;
            if (!strcmp(a, "--ca"))
                g.ca = v;
            else if (!strcmp(a, "--ca-path"))
                g.ca_path = v;
            else if (!strcmp(a, "--pin"))
                g.pin = v;
            else if (parse_u64(v, &n) != 0 || n > 3600) {
                rsp_buf_free(&g.aid);
                return usage_err(&g, "wants a small number", a);
            } else if (!strcmp(a, "--retries"))
                g.retries = (unsigned)n;
            else
                g.timeout_s = (long)n;
        } else if ((!strcmp(a, "--state-dir") || !strcmp(a, "--euicc-fault")) && i + 1 < argc) {
            const char *v = argv[++i];
            char ferr[RSP_EUICC_DETAIL_SZ];
            if (!strcmp(a, "--state-dir")) {
                g.state_dir = v;
            } else if (rsp_euicc_faults_parse(v, &g.faults, ferr, sizeof ferr) != 0) {
                rsp_buf_free(&g.aid);
                return usage_err(&g, ferr, NULL);
            } else {
                g.has_faults = true;
            }
        } else if (!strcmp(a, "--euicc") || !strcmp(a, "--curve") || !strcmp(a, "--isdr-aid") ||
                   !strcmp(a, "--block-size")) {
            if (i + 1 >= argc) {
                rsp_buf_free(&g.aid);
                return usage_err(&g, "option needs a value", a);
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--euicc")) {
                if (strncmp(v, "soft:", 5) != 0 || !v[5]) {
                    rsp_buf_free(&g.aid);
                    return usage_err(&g, "--euicc wants soft:DIR", v);
                }
                g.soft_dir = v + 5;
            } else if (!strcmp(a, "--curve")) {
                if (strcmp(v, "nist") && strcmp(v, "brp")) {
                    rsp_buf_free(&g.aid);
                    return usage_err(&g, "--curve wants nist or brp", v);
                }
                g.curve = v;
            } else if (!strcmp(a, "--isdr-aid")) {
                rsp_buf_reset(&g.aid);
                if (rsp_hex_decode(&g.aid, v, strlen(v)) != 0 || g.aid.len < 5 ||
                    g.aid.len > RSP_APDU_CARD_MAX_AID) {
                    rsp_buf_free(&g.aid);
                    return usage_err(&g, "--isdr-aid wants 5 to 16 bytes of hex", v);
                }
            } else {
                uint64_t bs;
                if (parse_u64(v, &bs) != 0 || bs < 1 || bs > 255) {
                    rsp_buf_free(&g.aid);
                    return usage_err(&g, "--block-size wants 1..255", v);
                }
                g.block_size = (size_t)bs;
            }
        } else {
            rsp_buf_free(&g.aid);
            return usage_err(&g, "unknown option", a);
        }
    }
    if (i >= argc) {
        rsp_buf_free(&g.aid);
        return usage_err(&g, "missing command", NULL);
    }
    /* "config" is one word, the others two */
    char name[64];
    int words = !strcmp(argv[i], "config") ? 1 : 2;
    if (words == 2 && (i + 1 >= argc || argv[i + 1][0] == '-')) {
        rsp_buf_free(&g.aid);
        if (is_command_word(argv[i]) && wants_help(argc - i, argv + i))
            return print_help(argv[i]);
        return usage_err(&g, is_command_word(argv[i]) ? "missing subcommand" : "unknown command",
                         argv[i]);
    }
    snprintf(name, sizeof name, "%s%s%s", argv[i], words == 2 ? " " : "",
             words == 2 ? argv[i + 1] : "");
    const struct command *cmd = NULL;
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (!strcmp(commands[k].name, name))
            cmd = &commands[k];
    if (!cmd) {
        rsp_buf_free(&g.aid);
        return usage_err(&g, "unknown command", name);
    }
    g.command = cmd->name;
    int cargc = argc - i - words;
    char **cargv = argv + i + words;
    if (wants_help(cargc, cargv)) {
        rsp_buf_free(&g.aid);
        return print_help(cmd->name);
    }
    int st;
    if (cmd->needs_euicc) {
        if ((g.soft_dir != NULL) + g.pcsc + (g.at_dev != NULL) != 1) {
            rsp_buf_free(&g.aid);
            return usage_err(
                &g, "choose one eUICC: --euicc soft:DIR, --pcsc [READER] or --at DEVICE", NULL);
        }
        if (g.has_faults && !g.soft_dir) {
            rsp_buf_free(&g.aid);
            return usage_err(&g, "--euicc-fault applies to the software eUICC (--euicc soft:DIR)",
                             NULL);
        }
        st = euicc_open(&g);
        if (st == EXIT_OK)
            st = cmd->run(&g, cargc, cargv);
        euicc_close(&g);
    } else {
        st = cmd->run(&g, cargc, cargv);
    }
    rsp_buf_free(&g.aid);
    return st;
}
