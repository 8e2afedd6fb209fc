/* rspctl acceptance: first-boot acceptance suite against a sample device and the live SM-DP+,
 * JUnit/HTML reports, recorded runs and the release gate (include/rsp/acceptance.h).
 *
 *   rspctl acceptance run (--pcsc [READER] | --at DEVICE | --soft DIR) (--ac CODE --ac CODE |
 *                         --suite FILE | --es2 URL --operator ID --token-file FILE
 *                         --profile-type TYPE) [--model NAME] [--tac TAC | --imei IMEI] [--db
 * STORE]
 *                         [--junit FILE] [--html FILE] [conditions] [--impair SPEC | --impair-at
 *                         HOST:PORT] ...
 *   rspctl acceptance require|unrequire (--campaign C | --model M) --db STORE
 *   rspctl acceptance status [--campaign C] [--model M] --db STORE
 *   rspctl acceptance gate [--campaign C] --model M --db STORE
 *   rspctl acceptance list --db STORE [--model M] [--limit N]
 *
 * The runner uses the LPA library in process (rsp_lpa_run, the ES10 functions, the ES9+ client)
 * over the chosen transport; the impairment proxy (rsp_impair) runs in a thread of this process
 * when --impair is given. Each step is timed and ends pass, fail or skip (not run because a step
 * it needs failed); a profile left behind by a failed chain is disabled and deleted (best
 * effort) so that the card is ready for the next run.
 */
#include <dirent.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rsp/acceptance.h"
#include "rsp/apdu.h"
#include "rsp/apdu_at.h"
#include "rsp/apdu_card.h"
#include "rsp/crypto.h"
#include "rsp/err.h"
#include "rsp/es9p_client.h"
#include "rsp/euicc.h"
#include "rsp/fileio.h"
#include "rsp/impair.h"
#include "rsp/lpa.h"
#include "rsp/lpa_attempt.h"
#include "rsp/sgp22.h"
#include "rsp/store.h"

#include "rspctl.h"

/* snprintf whose cut output is acceptable (one-line messages and report fields). */
__attribute__((format(printf, 3, 4))) static void cutf(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

enum {
    ACC_PASS = 0,
    ACC_FAIL = 1,  /* a step failed (run) / error (other commands) */
    ACC_REPORT = 3 /* run: the report could not be written or recorded; gate: refused */
};

/* ---- options ---- */

struct acc {
    /* target */
    bool pcsc;
    const char *reader;
    const char *at_dev;
    const char *soft_dir;
    const char *curve;
    unsigned wait_s; /* PC/SC: wait this long for the card */
    struct rsp_euicc_faults faults;
    bool has_faults;
    /* what to download */
    const char *ac[2];
    const char *cc;
    /* or orders created over ES2+ (DownloadOrder with the card's EID + ConfirmOrder) */
    const char *es2_url, *operator_id, *token_file, *profile_type, *smdp_addr;
    char token[512];
    char ac_buf[2][300]; /* the activation codes of those orders */
    unsigned es2_calls;
    /* device */
    const char *model;
    char tac[9];
    bool has_imei;
    uint8_t tac_bin[4], imei[8];
    /* ES9+ */
    const char *ca, *ca_path;
    bool insecure_tls;
    unsigned retries;
    long timeout_s;
    char ca_default[PATH_MAX];
    /* conditions, retry policy */
    struct rsp_lpa_conditions cond;
    struct rsp_lpa_conditions_policy pol;
    const char *cond_file;
    struct rsp_lpa_retry_policy retry;
    /* network */
    char impair_spec[RSP_ACCEPT_TEXT_MAX];
    struct rsp_impair_params impair;
    uint64_t impair_seed;
    bool has_impair;
    const char *impair_at;
    const char *impair_log;
    /* output */
    const char *junit, *html, *db, *state_dir;
    bool quiet;
    /* suite file text (the strings above may point into it) */
    struct rsp_buf suite_text;

    /* runtime */
    struct rsp_euicc *euicc;
    struct rsp_apdu_card *card;
    struct rsp_apdu_transport *t;
    struct rsp_es10 s;
    bool open;
    struct rsp_es9p_client *c;
    struct rsp_impair *imp;
    pthread_t imp_thread;
    bool imp_running;
    FILE *imp_log;
    char connect_to[600];
    char tmp_state[PATH_MAX];
    struct rsp_accept_report rep;
};

static void say(struct acc *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct acc *a, const char *fmt, ...)
{
    if (a->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("rspctl acceptance: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- help ---- */

static const char help_run[] =
    "usage: rspctl acceptance run TARGET (--ac CODE --ac CODE | --suite FILE | --es2 URL ...)\n"
    "                             [options]\n"
    "\n"
    "First-boot acceptance suite against a sample device and the live SM-DP+. Steps (each a\n"
    "JUnit test case with its time and failure message):\n"
    "  euicc-info     GetEID, EUICCInfo2 (SGP.22 version, firmware); EUM = first 8 EID digits\n"
    "  download       the first activation code: the LPA's download with retries and device\n"
    "                 conditions (rsp_lpa_run), in process\n"
    "  verify         local verification of the installed profile against the consented\n"
    "                 metadata\n"
    "  enable         EnableProfile\n"
    "  notifications  every pending notification sent to its SM-DP+ (handleNotification) and\n"
    "                 removed; the install and enable notifications of the profile must be\n"
    "                 among them\n"
    "  disable        DisableProfile, its notification delivered\n"
    "  delete         DeleteProfile, its notification delivered\n"
    "  re-download    the second activation code (a second order, or the profile released\n"
    "                 again): download, verification, notifications\n"
    "A step whose predecessor failed is skipped; a profile left behind is disabled and deleted.\n"
    "\n"
    "target (one):\n"
    "  --pcsc [READER]      a PC/SC reader (name substring or index; default the first with a\n"
    "                       card); --wait SECONDS for the card (default 30)\n"
    "  --at DEVICE          the UICC of a modem behind its AT-command port\n"
    "  --soft DIR           the software eUICC in process (credentials from 'rspctl pki init\n"
    "                       DIR', state DIR/euicc.state); --curve nist|brp; --euicc-fault SPEC\n"
    "                       as 'rsp-euicc serve --fault'\n"
    "activation codes (an order each; create them with ES2+ DownloadOrder/ConfirmOrder, or\n"
    "'make lab' prints some):\n"
    "  --ac CODE            twice: download, then re-download ('LPA:1$SMDP$MATCHINGID')\n"
    "  --cc CODE            confirmation code, when the orders need one\n"
    "  --suite FILE         KEY = VALUE lines ('#' comments): ac (twice), cc, model, tac,\n"
    "                       battery, charging, signal, min_battery, min_signal, impair;\n"
    "                       options given on the command line win\n"
    "  --es2 URL            or create the two orders over ES2+ at URL (https://HOST[:PORT]):\n"
    "                       DownloadOrder linked to the card's EID, then ConfirmOrder with\n"
    "                       releaseFlag; needs --operator ID, --token-file FILE (the bearer\n"
    "                       token, never on the command line) and --profile-type TYPE; the\n"
    "                       codes name --smdp ADDRESS (default: HOST[:PORT] of the URL)\n"
    "device:\n"
    "  --model NAME         device model (recorded; the gate looks runs up by it)\n"
    "  --tac TAC            8-digit TAC (sent in deviceInfo; also matches the gate's model)\n"
    "  --imei IMEI          15 digits: TAC and IMEI in deviceInfo\n"
    "device conditions (the LPA's: heavy steps wait while the battery is low and not\n"
    "charging or the signal is weak; with fixed values that block, the download fails at once):\n"
    "  --battery PCT --charging --signal BARS --min-battery PCT --min-signal BARS\n"
    "  --conditions FILE    battery=/charging=/signal= lines, re-read while waiting\n"
    "  --max-attempts N --backoff-base MS --backoff-cap MS --budget SECONDS (LPA retry policy)\n"
    "network:\n"
    "  --impair SPEC        run the impairment proxy (rsp-impair) in this process between the\n"
    "                       LPA and the SM-DP+ of the first code: comma-separated KEY=VALUE of\n"
    "                       rsp-impair's control file (latency=300,drop_fraction=0.3,...) and\n"
    "                       seed=N; --impair-log FILE for its JSON events\n"
    "  --impair-at HOST:PORT  connect to the SM-DP+ through an rsp-impair running there\n"
    "ES9+: --ca FILE --ca-path DIR --insecure-tls --retries N --timeout SECONDS (as rsp-lpa;\n"
    "     default CA with --soft: DIR/nist/ci.pem)\n"
    "output:\n"
    "  --junit FILE         JUnit XML (default acceptance-junit.xml)\n"
    "  --html FILE          self-contained HTML report (default acceptance-report.html)\n"
    "  --db STORE           record the run (SQLite path, sqlite:PATH or postgresql:// URL, as\n"
    "                       'rspctl profiles'): device model/TAC, EUM and SGP.22 version read\n"
    "                       from the card, target, times, outcome, per-step summary, SHA-256 of\n"
    "                       the JUnit file; audited. Needs --model or --tac.\n"
    "  --state-dir DIR      LPA attempt records (default: a temporary directory)\n"
    "  --quiet              no progress lines on standard error\n"
    "\n"
    "exit status: 0 every step passed (and the run recorded), 1 a step failed, 2 usage error,\n"
    "3 the report could not be written or the run not recorded.\n";

static const char help_main[] =
    "usage: rspctl acceptance COMMAND [options]\n"
    "\n"
    "Acceptance gating before mass roll-out:\n"
    "  run        run the first-boot suite against a device; JUnit + HTML; record with --db\n"
    "  require    mark a campaign (--campaign C) or a device model (--model M) as requiring a\n"
    "             passing acceptance run before release (--db STORE)\n"
    "  unrequire  remove such a mark (also: require --unrequire)\n"
    "  status     marks, latest runs and the gate's decision for --campaign C / --model M\n"
    "  gate       the release decision for --campaign C --model M: exit 0 allowed, 3 refused\n"
    "             (the reason on standard error), 1 error\n"
    "  list       recorded runs, newest first (--model M, --limit N)\n"
    "\n"
    "A release is refused while the campaign or the device model is marked and the latest\n"
    "recorded run for the model (matched by model name or TAC) did not pass.\n"
    "Run 'rspctl acceptance run --help' for the suite's options.\n";

/* ---- small parsers ---- */

static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !*s)
        return -1;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > max)
            return -1;
    }
    *out = v;
    return 0;
}

static int set_tac(struct acc *a, const char *s)
{
    if (strlen(s) != 8)
        return -1;
    for (int i = 0; i < 8; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    memcpy(a->tac, s, 9);
    for (int i = 0; i < 4; i++)
        a->tac_bin[i] = (uint8_t)(((s[2 * i] - '0') << 4) | (s[2 * i + 1] - '0'));
    return 0;
}

/* IMEI (15 digits) -> TAC and the 8-byte swapped-nibble BCD IMEI (as rsp-lpa --imei). */
static int set_imei(struct acc *a, const char *s)
{
    if (strlen(s) != 15)
        return -1;
    for (int i = 0; i < 15; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    char tac[9];
    memcpy(tac, s, 8);
    tac[8] = 0;
    set_tac(a, tac);
    for (size_t i = 0; i < 8; i++) {
        unsigned lo = (unsigned)(s[2 * i] - '0');
        unsigned hi = 2 * i + 1 < 15 ? (unsigned)(s[2 * i + 1] - '0') : 0xF;
        a->imei[i] = (uint8_t)((hi << 4) | lo);
    }
    a->has_imei = true;
    return 0;
}

/* --impair SPEC: comma-separated KEY=VALUE of rsp-impair's control file, plus seed=N. */
static int parse_impair(struct acc *a, const char *spec)
{
    char err[200];
    struct rsp_impair_params p;
    rsp_impair_params_default(&p);
    if (strlen(spec) >= sizeof a->impair_spec) {
        fprintf(stderr, "rspctl acceptance: --impair: too long\n");
        return -1;
    }
    char buf[RSP_ACCEPT_TEXT_MAX];
    snprintf(buf, sizeof buf, "%s", spec);
    uint64_t seed = 1;
    for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        while (*kv == ' ')
            kv++;
        if (!strncmp(kv, "seed=", 5)) {
            if (parse_uint(kv + 5, UINT64_MAX / 10, &seed) != 0) {
                fprintf(stderr, "rspctl acceptance: --impair: bad seed '%s'\n", kv + 5);
                return -1;
            }
            continue;
        }
        if (rsp_impair_params_set_kv(&p, kv, err, sizeof err) != 0) {
            fprintf(stderr, "rspctl acceptance: --impair: %s\n", err);
            return -1;
        }
    }
    if (rsp_impair_params_check(&p, err, sizeof err) != 0) {
        fprintf(stderr, "rspctl acceptance: --impair: %s\n", err);
        return -1;
    }
    a->impair = p;
    a->impair_seed = seed;
    a->has_impair = true;
    snprintf(a->impair_spec, sizeof a->impair_spec, "%s", spec);
    return 0;
}

static bool ac_ok(const char *s)
{
    struct rsp_activation_code ac;
    return s && rsp_actcode_parse(s, strlen(s), &ac) == 0 && ac.smdp_address[0];
}

/* One option of the run command (shared by the command line and the suite file, where `name`
 * is given with its leading "--"). 1 consumed the value, 0 a flag, -1 bad. */
static int run_opt(struct acc *a, const char *name, const char *v, bool from_file)
{
    uint64_t n;
    if (!strcmp(name, "--ac")) {
        if (!ac_ok(v)) {
            fprintf(stderr, "rspctl acceptance: not an activation code: %s\n", v);
            return -1;
        }
        if (a->ac[0] && a->ac[1]) {
            if (from_file)
                return 1; /* the command line's codes win */
            fprintf(stderr, "rspctl acceptance: --ac at most twice\n");
            return -1;
        }
        a->ac[a->ac[0] ? 1 : 0] = v;
        return 1;
    }
    if (!strcmp(name, "--cc")) {
        if (!from_file || !a->cc)
            a->cc = v;
        return 1;
    }
    if (!strcmp(name, "--model")) {
        if (strlen(v) == 0 || strlen(v) > RSP_STORE_TEXT_MAX) {
            fprintf(stderr, "rspctl acceptance: --model: 1 to %d bytes\n", RSP_STORE_TEXT_MAX);
            return -1;
        }
        for (const char *p = v; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
                fprintf(stderr, "rspctl acceptance: --model: printable ASCII only\n");
                return -1;
            }
        if (!from_file || !a->model)
            a->model = v;
        return 1;
    }
    if (!strcmp(name, "--tac")) {
        if (from_file && a->tac[0])
            return 1;
        if (set_tac(a, v) != 0) {
            fprintf(stderr, "rspctl acceptance: --tac wants 8 digits: %s\n", v);
            return -1;
        }
        return 1;
    }
    if (!strcmp(name, "--imei")) {
        if (set_imei(a, v) != 0) {
            fprintf(stderr, "rspctl acceptance: --imei wants 15 digits\n");
            return -1;
        }
        return 1;
    }
    if (!strcmp(name, "--impair")) {
        if (from_file && a->has_impair)
            return 1;
        return parse_impair(a, v) == 0 ? 1 : -1;
    }
    if (!strcmp(name, "--charging")) {
        if (v && *v) { /* suite file: charging = 0|1|yes|no */
            if (!strcmp(v, "1") || !strcmp(v, "yes"))
                a->cond.charging = 1;
            else if (!strcmp(v, "0") || !strcmp(v, "no"))
                a->cond.charging = 0;
            else
                return -1;
            return 1;
        }
        a->cond.charging = 1;
        return 0;
    }
    static const struct {
        const char *name;
        uint64_t max;
    } nums[] = {{"--battery", 100},          {"--signal", 4},          {"--min-battery", 100},
                {"--min-signal", 4},         {"--max-attempts", 1000}, {"--backoff-base", 86400000},
                {"--backoff-cap", 86400000}, {"--budget", 86400},      {"--retries", 100},
                {"--timeout", 3600},         {"--wait", 3600}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (strcmp(name, nums[i].name) != 0)
            continue;
        if (parse_uint(v, nums[i].max, &n) != 0 || (!strcmp(name, "--max-attempts") && !n)) {
            fprintf(stderr, "rspctl acceptance: %s: bad number '%s'\n", name, v);
            return -1;
        }
        if (!strcmp(name, "--battery"))
            a->cond.battery_pct = (int)n;
        else if (!strcmp(name, "--signal"))
            a->cond.signal = (int)n;
        else if (!strcmp(name, "--min-battery"))
            a->pol.min_battery = (int)n;
        else if (!strcmp(name, "--min-signal"))
            a->pol.min_signal = (int)n;
        else if (!strcmp(name, "--max-attempts"))
            a->retry.max_attempts = (unsigned)n;
        else if (!strcmp(name, "--backoff-base"))
            a->retry.base_ms = (unsigned)n;
        else if (!strcmp(name, "--backoff-cap"))
            a->retry.cap_ms = (unsigned)n;
        else if (!strcmp(name, "--budget"))
            a->retry.budget_s = (unsigned)n;
        else if (!strcmp(name, "--retries"))
            a->retries = (unsigned)n;
        else if (!strcmp(name, "--timeout"))
            a->timeout_s = (long)n;
        else
            a->wait_s = (unsigned)n;
        return 1;
    }
    return -1;
}

/* --suite FILE: "key = value" lines; keys are the option names without "--" (min_battery for
 * --min-battery). The file's text stays in a->suite_text (the options point into it). */
static int load_suite(struct acc *a, const char *path)
{
    if (rsp_file_read(path, &a->suite_text) != 0) {
        fprintf(stderr, "rspctl acceptance: cannot read suite file %s\n", path);
        return -1;
    }
    if (a->suite_text.len > 64 * 1024 || memchr(a->suite_text.data, 0, a->suite_text.len)) {
        fprintf(stderr, "rspctl acceptance: %s: not a suite file (binary or over 64 KiB)\n", path);
        return -1;
    }
    rsp_buf_append_byte(&a->suite_text, 0);
    char *text = (char *)a->suite_text.data;
    int lineno = 0;
    static const char *const keys[] = {"ac",       "cc",     "model",       "tac",    "battery",
                                       "charging", "signal", "min_battery", "impair", "min_signal"};
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
            line[--len] = 0;
        while (*line == ' ' || *line == '\t')
            line++;
        if (!*line || *line == '#')
            continue;
        char *eq = strchr(line, '=');
        if (!eq) {
            fprintf(stderr, "rspctl acceptance: %s:%d: expected KEY = VALUE\n", path, lineno);
            return -1;
        }
        char *kend = eq;
        while (kend > line && (kend[-1] == ' ' || kend[-1] == '\t'))
            kend--;
        *kend = 0;
        char *v = eq + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        bool known = false;
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            known = known || !strcmp(line, keys[i]);
        char opt[40];
        snprintf(opt, sizeof opt, "--%s", line);
        for (char *p = opt; *p; p++)
            if (*p == '_')
                *p = '-';
        if (!known || run_opt(a, opt, v, true) < 0) {
            fprintf(stderr, "rspctl acceptance: %s:%d: %s '%s'\n", path, lineno,
                    known ? "bad value for" : "unknown key", line);
            return -1;
        }
    }
    return 0;
}

/* ---- the eUICC ---- */

static int soft_open(struct acc *a, char *err, size_t errlen)
{
    struct rsp_euicc_pki_files files;
    char detail[RSP_EUICC_DETAIL_SZ] = "";
    int rc = rsp_euicc_pki_files_load(a->soft_dir, a->curve, &files, detail, sizeof detail);
    if (rc != 0) {
        snprintf(err, errlen, "software eUICC credentials in %s: %s", a->soft_dir, detail);
        return rc;
    }
    char state[PATH_MAX];
    snprintf(state, sizeof state, "%s/euicc.state", a->soft_dir);
    struct rsp_euicc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    rsp_euicc_pki_files_apply(&files, &cfg);
    cfg.state_path = state;
    cfg.faults = a->faults;
    detail[0] = 0;
    rc = rsp_euicc_new(&cfg, &a->euicc, detail, sizeof detail);
    rsp_euicc_pki_files_free(&files);
    if (rc != 0) {
        snprintf(err, errlen, "software eUICC %s: %s %s", a->soft_dir, rsp_strerror(rc), detail);
        return rc;
    }
    struct rsp_apdu_card_opts co = {.handle = rsp_euicc_process, .handle_ctx = a->euicc};
    if ((rc = rsp_apdu_card_new(&a->card, &co)) != 0 ||
        (rc = rsp_apdu_loopback_new(&a->t, a->card)) != 0)
        snprintf(err, errlen, "software eUICC: %s", rsp_strerror(rc));
    return rc;
}

static void euicc_close(struct acc *a)
{
    if (a->open)
        rsp_es10_close(&a->s);
    rsp_apdu_transport_free(a->t);
    rsp_apdu_card_free(a->card);
    rsp_euicc_free(a->euicc);
    a->open = false;
    a->t = NULL;
    a->card = NULL;
    a->euicc = NULL;
}

/* Opens the target and the ISD-R; PC/SC waits up to --wait seconds for the card. */
static int euicc_open(struct acc *a, char *err, size_t errlen)
{
    int rc;
    if (a->soft_dir) {
        if ((rc = soft_open(a, err, errlen)) != 0)
            return rc;
    } else if (a->at_dev) {
        if ((rc = rsp_apdu_at_new(&a->t, a->at_dev, NULL)) != 0) {
            snprintf(err, errlen, "modem %s: %s", a->at_dev, rsp_strerror(rc));
            return rc;
        }
    }
    for (unsigned tries = 0;; tries++) {
        if (a->pcsc) {
            rc = rsp_apdu_pcsc_new(&a->t, a->reader);
            if (rc != 0 && tries < a->wait_s * 4) {
                struct timespec ts = {0, 250000000};
                nanosleep(&ts, NULL);
                continue;
            }
            if (rc != 0) {
                snprintf(err, errlen, "PC/SC reader %s: %s (no card after %u s)",
                         a->reader ? a->reader : "(first with a card)", rsp_strerror(rc),
                         a->wait_s);
                return rc;
            }
        }
        struct rsp_es10_opts eo = {.block_size = 0};
        rc = rsp_es10_open(&a->s, a->t, &eo);
        if (rc != 0 && a->pcsc && tries < a->wait_s * 4) {
            rsp_apdu_transport_free(a->t);
            a->t = NULL;
            struct timespec ts = {0, 250000000};
            nanosleep(&ts, NULL);
            continue;
        }
        break;
    }
    if (rc == RSP_ESW)
        snprintf(err, errlen, "the card refused to open the ISD-R (SW %04X)",
                 (unsigned)a->s.last_sw);
    else if (rc != 0)
        snprintf(err, errlen, "cannot reach the eUICC: %s%s%s", rsp_strerror(rc),
                 a->at_dev ? ": " : "", a->at_dev ? rsp_apdu_at_error(a->t) : "");
    a->open = rc == 0;
    return rc;
}

/* rsp_lpa_run's reopen: power-cycle the in-process card, or reconnect the reader/modem. */
static int reopen_euicc(void *ctx, struct rsp_es10 *s)
{
    struct acc *a = ctx;
    (void)s;
    if (a->open)
        rsp_es10_close(&a->s);
    a->open = false;
    int rc;
    if (a->euicc) {
        rsp_euicc_power_cycle(a->euicc);
        rsp_apdu_card_reset(a->card);
    } else {
        rsp_apdu_transport_free(a->t);
        a->t = NULL;
        rc = a->at_dev ? rsp_apdu_at_new(&a->t, a->at_dev, NULL)
                       : rsp_apdu_pcsc_new(&a->t, a->reader);
        if (rc != 0)
            return rc;
    }
    struct rsp_es10_opts eo = {.block_size = 0};
    rc = rsp_es10_open(&a->s, a->t, &eo);
    a->open = rc == 0;
    return rc;
}

/* ---- ES9+ client and the impairment proxy ---- */

static void *impair_thread(void *arg)
{
    rsp_impair_run(arg);
    return NULL;
}

/* host:port of an SM-DP+ address (443 when it has no port). */
static void host_port(const char *addr, char *out, size_t cap)
{
    const char *colon = strrchr(addr, ':');
    bool has_port = colon && !strchr(colon, ']');
    snprintf(out, cap, "%s%s", addr, has_port ? "" : ":443");
}

/* The SM-DP+ address of the run: the first activation code's, or with ES2+ orders --smdp or the
 * host[:port] of the ES2+ URL. */
static const char *smdp_address(struct acc *a)
{
    static char addr[RSP_AC_FIELD_MAX + 1];
    if (a->ac[0]) {
        struct rsp_activation_code ac;
        rsp_actcode_parse(a->ac[0], strlen(a->ac[0]), &ac);
        snprintf(addr, sizeof addr, "%s", ac.smdp_address);
    } else if (a->smdp_addr) {
        snprintf(addr, sizeof addr, "%s", a->smdp_addr);
    } else {
        const char *h = strstr(a->es2_url, "://");
        h = h ? h + 3 : a->es2_url;
        snprintf(addr, sizeof addr, "%.*s", (int)strcspn(h, "/"), h);
    }
    return addr;
}

static int net_start(struct acc *a, char *err, size_t errlen)
{
    char upstream[300];
    host_port(smdp_address(a), upstream, sizeof upstream);
    if (a->has_impair) {
        if (a->impair_log && !(a->imp_log = fopen(a->impair_log, "w"))) {
            snprintf(err, errlen, "cannot write %s", a->impair_log);
            return RSP_EIO;
        }
        struct rsp_impair_config cfg = {.listen = "127.0.0.1:0",
                                        .upstream = upstream,
                                        .params = a->impair,
                                        .seed = a->impair_seed,
                                        .log = a->imp_log};
        char e[200] = "";
        int rc = rsp_impair_new(&cfg, &a->imp, e, sizeof e);
        if (rc != 0) {
            snprintf(err, errlen, "impairment proxy to %s: %s", upstream, e);
            return rc;
        }
        if (pthread_create(&a->imp_thread, NULL, impair_thread, a->imp) != 0) {
            snprintf(err, errlen, "cannot start the impairment proxy thread");
            return RSP_EIO;
        }
        a->imp_running = true;
        snprintf(a->connect_to, sizeof a->connect_to, "%s:127.0.0.1:%u", upstream,
                 (unsigned)rsp_impair_port(a->imp));
        say(a, "impairment proxy on 127.0.0.1:%u -> %s (%s)", (unsigned)rsp_impair_port(a->imp),
            upstream, a->impair_spec);
    } else if (a->impair_at) {
        snprintf(a->connect_to, sizeof a->connect_to, "%s:%s", upstream, a->impair_at);
    }
    struct rsp_es9p_client_opts o = {.ca_file = a->ca,
                                     .ca_path = a->ca_path,
                                     .insecure_tls = a->insecure_tls,
                                     .retries = a->retries,
                                     .timeout_ms = a->timeout_s * 1000,
                                     .connect_to = a->connect_to[0] ? a->connect_to : NULL};
    if (!o.ca_file && !o.ca_path && a->soft_dir) {
        snprintf(a->ca_default, sizeof a->ca_default, "%s/nist/ci.pem", a->soft_dir);
        if (access(a->ca_default, R_OK) == 0)
            o.ca_file = a->ca_default;
    }
    int rc = rsp_es9p_client_new(&o, &a->c);
    if (rc != 0)
        snprintf(err, errlen, "ES9+ client: %s%s", rsp_strerror(rc),
                 rc == RSP_EINVAL ? " (give --ca FILE or --ca-path DIR)" : "");
    return rc;
}

static void net_stop(struct acc *a)
{
    rsp_es9p_client_free(a->c);
    a->c = NULL;
    if (a->imp_running) {
        rsp_impair_request_stop(a->imp);
        pthread_join(a->imp_thread, NULL);
        a->imp_running = false;
    }
    rsp_impair_free(a->imp);
    a->imp = NULL;
    if (a->imp_log)
        fclose(a->imp_log);
    a->imp_log = NULL;
}

/* ---- steps ---- */

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct step_ctx {
    struct acc *a;
    struct rsp_accept_step *st;
    double t0;
};

static void step_begin(struct acc *a, struct step_ctx *sc, const char *name)
{
    sc->a = a;
    sc->st = rsp_accept_step_add(&a->rep, name);
    sc->t0 = now_mono();
    say(a, "step %s ...", name);
}

__attribute__((format(printf, 3, 4))) static void detail(struct step_ctx *sc, bool line,
                                                         const char *fmt, ...)
{
    size_t n = strlen(sc->st->detail);
    if (n + 2 >= sizeof sc->st->detail)
        return;
    if (line && n)
        sc->st->detail[n++] = '\n';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sc->st->detail + n, sizeof sc->st->detail - n, fmt, ap);
    va_end(ap);
}

/* Ends a step: pass when msg is NULL, else fail with msg. Returns true on pass. */
__attribute__((format(printf, 2, 3))) static bool step_end(struct step_ctx *sc, const char *fmt,
                                                           ...)
{
    sc->st->seconds = now_mono() - sc->t0;
    if (!fmt) {
        sc->st->outcome = RSP_ACCEPT_PASS;
        say(sc->a, "step %s: pass (%.3f s)", sc->st->name, sc->st->seconds);
        return true;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sc->st->message, sizeof sc->st->message, fmt, ap);
    va_end(ap);
    sc->st->outcome = RSP_ACCEPT_FAIL;
    say(sc->a, "step %s: FAIL (%.3f s): %s", sc->st->name, sc->st->seconds, sc->st->message);
    return false;
}

static void step_skip(struct acc *a, const char *name, const char *why)
{
    struct rsp_accept_step *s = rsp_accept_step_add(&a->rep, name);
    s->outcome = RSP_ACCEPT_SKIP;
    snprintf(s->message, sizeof s->message, "not run: %s", why);
    say(a, "step %s: skipped (%s)", name, why);
}

static const char *es10_err(struct acc *a, int rc, char *buf, size_t cap)
{
    if (rc == RSP_ESW)
        snprintf(buf, cap, "the eUICC answered SW %04X", (unsigned)a->s.last_sw);
    else
        snprintf(buf, cap, "%s", rsp_strerror(rc));
    return buf;
}

/* ---- ES2+ orders (operator side, SGP.22 §5.3 over HTTPS with a bearer token) ---- */

static const char *jstr(const json_t *o, const char *key, const char *dflt)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : dflt;
}

static size_t es2_body(char *p, size_t size, size_t n, void *arg)
{
    struct rsp_buf *b = arg;
    if (b->len + size * n > 64 * 1024)
        return 0; /* bounded: an ES2+ answer is small */
    rsp_buf_append(b, p, size * n);
    return size * n;
}

/* One ES2+ call; *out is the decoded answer when functionExecutionStatus is Executed-*. */
static int es2_call(struct acc *a, const char *fn, json_t *req, json_t **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    char url[600], auth[600], callid[64];
    snprintf(callid, sizeof callid, "rspctl-acceptance-%ld-%u", (long)getpid(), ++a->es2_calls);
    json_object_set_new(req, "header",
                        json_pack("{s:s, s:s}", "functionRequesterIdentifier", a->operator_id,
                                  "functionCallIdentifier", callid));
    char *body = json_dumps(req, JSON_COMPACT);
    const char *base = a->es2_url;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    snprintf(url, sizeof url, "%.*s/gsma/rsp2/es2plus/%s", (int)bl, base, fn);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", a->token);
    CURL *h = curl_easy_init();
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    hd = curl_slist_append(hd, "X-Admin-Protocol: gsma/rsp/v2.5.0");
    hd = curl_slist_append(hd, auth);
    struct rsp_buf resp = RSP_BUF_INIT;
    int rc = RSP_EIO;
    if (h && hd && body) {
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, es2_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
        curl_easy_setopt(h, CURLOPT_TIMEOUT, a->timeout_s > 0 ? a->timeout_s : 60L);
        if (a->insecure_tls) {
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        } else {
            /* the SM-DP+'s TLS chain leads to the RSP CI: the same trust as ES9+ */
            curl_easy_setopt(h, CURLOPT_CAINFO, a->ca ? a->ca : a->ca_default);
            curl_easy_setopt(h, CURLOPT_CAPATH, a->ca_path);
        }
        CURLcode cc = curl_easy_perform(h);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (cc != CURLE_OK) {
            cutf(err, errlen, "ES2+ %s at %s: %s", fn, url, curl_easy_strerror(cc));
        } else {
            rsp_buf_append_byte(&resp, 0);
            json_t *j = json_loads((const char *)resp.data, 0, NULL);
            const char *st = json_string_value(json_object_get(
                json_object_get(json_object_get(j, "header"), "functionExecutionStatus"),
                "status"));
            json_t *scd = json_object_get(
                json_object_get(json_object_get(j, "header"), "functionExecutionStatus"),
                "statusCodeData");
            if (st && !strncmp(st, "Executed-", 9)) {
                *out = j;
                j = NULL;
                rc = 0;
            } else if (st) {
                cutf(err, errlen, "ES2+ %s refused: %s/%s %s", fn, jstr(scd, "subjectCode", "?"),
                     jstr(scd, "reasonCode", "?"), jstr(scd, "message", ""));
                rc = RSP_ESTATE;
            } else {
                snprintf(err, errlen, "ES2+ %s: HTTP %ld without a function execution status", fn,
                         status);
            }
            json_decref(j);
        }
    } else {
        snprintf(err, errlen, "ES2+ %s: out of memory", fn);
        rc = RSP_ENOMEM;
    }
    curl_slist_free_all(hd);
    if (h)
        curl_easy_cleanup(h);
    free(body);
    rsp_buf_free(&resp);
    return rc;
}

/* DownloadOrder (profile type, linked to the card's EID) + ConfirmOrder (released): the
 * activation code of a new order into a->ac_buf[k]. */
static int es2_order(struct acc *a, struct step_ctx *sc, int k, char *err, size_t errlen)
{
    json_t *r = NULL;
    json_t *req = json_pack("{s:s, s:s}", "eid", a->rep.eid, "profileType", a->profile_type);
    int rc = es2_call(a, "downloadOrder", req, &r, err, errlen);
    json_decref(req);
    if (rc)
        return rc;
    char iccid[24];
    snprintf(iccid, sizeof iccid, "%s", jstr(r, "iccid", ""));
    json_decref(r);
    if (!iccid[0]) {
        snprintf(err, errlen, "ES2+ downloadOrder: no iccid in the answer");
        return RSP_ESYNTAX;
    }
    req = json_pack("{s:s, s:s, s:b}", "iccid", iccid, "eid", a->rep.eid, "releaseFlag", 1);
    rc = es2_call(a, "confirmOrder", req, &r, err, errlen);
    json_decref(req);
    if (rc)
        return rc;
    const char *mid = json_string_value(json_object_get(r, "matchingId"));
    cutf(a->ac_buf[k], sizeof a->ac_buf[k], "LPA:1$%s$%s", smdp_address(a), mid ? mid : "");
    json_decref(r);
    if (!ac_ok(a->ac_buf[k])) {
        snprintf(err, errlen, "ES2+ confirmOrder: no usable matchingId in the answer");
        return RSP_ESYNTAX;
    }
    detail(sc, true, "ES2+ order: ICCID %s linked to the EID, released", iccid);
    a->ac[k] = a->ac_buf[k];
    return 0;
}

static int step_info(struct acc *a)
{
    struct step_ctx sc;
    step_begin(a, &sc, "euicc-info");
    char err[300];
    if (euicc_open(a, err, sizeof err) != 0)
        return step_end(&sc, "%s", err) ? 0 : -1;
    int rc = rsp_lpa_get_eid(&a->s, a->rep.eid);
    if (rc != 0)
        return step_end(&sc, "GetEID: %s", es10_err(a, rc, err, sizeof err)) ? 0 : -1;
    snprintf(a->rep.eum, sizeof a->rep.eum, "%.8s", a->rep.eid);
    struct rsp_buf raw = RSP_BUF_INIT;
    struct rsp_euicc_info2 i2;
    rc = rsp_lpa_get_euicc_info2(&a->s, &raw, &i2);
    if (rc == 0) {
        snprintf(a->rep.svn, sizeof a->rep.svn, "%u.%u.%u", i2.svn[0], i2.svn[1], i2.svn[2]);
        snprintf(a->rep.firmware, sizeof a->rep.firmware, "%u.%u.%u", i2.firmware_version[0],
                 i2.firmware_version[1], i2.firmware_version[2]);
    }
    rsp_buf_free(&raw);
    if (rc != 0)
        return step_end(&sc, "GetEUICCInfo2: %s", es10_err(a, rc, err, sizeof err)) ? 0 : -1;
    detail(&sc, true, "EID %s", a->rep.eid);
    detail(&sc, true, "EUM (EID digits 1-8) %s", a->rep.eum);
    detail(&sc, true, "SGP.22 version %s, firmware %s", a->rep.svn, a->rep.firmware);
    if (strlen(a->rep.eid) != 32)
        return step_end(&sc, "the EID '%s' is not 32 digits", a->rep.eid) ? 0 : -1;
    if (i2.svn[0] != 2)
        return step_end(&sc, "SGP.22 version %s is not 2.x", a->rep.svn) ? 0 : -1;
    return step_end(&sc, NULL) ? 0 : -1;
}

/* Installed profile of a download: what later steps need. */
struct installed {
    bool present;
    char iccid[21];
    uint8_t aid[16];
    struct rsp_lpa_expected expected;
    bool pir_delivered; /* the download sent the installation result itself (and removed it) */
};

static const char *dl_kind_name(enum rsp_lpa_dl_kind k)
{
    switch (k) {
    case RSP_LPA_DL_OK:
        return "ok";
    case RSP_LPA_DL_EUICC_REFUSED:
        return "refused by the eUICC";
    case RSP_LPA_DL_SMDP_REFUSED:
        return "refused by the SM-DP+";
    case RSP_LPA_DL_NETWORK:
        return "network failure";
    case RSP_LPA_DL_TLS:
        return "TLS failure";
    case RSP_LPA_DL_CC_REQUIRED:
        return "confirmation code required";
    case RSP_LPA_DL_EUICC_IO:
        return "the eUICC stopped answering";
    case RSP_LPA_DL_DEFERRED:
        return "deferred by device conditions";
    case RSP_LPA_DL_SESSION_LOST:
        return "session lost";
    default:
        return "failure";
    }
}

static void on_event(void *ctx, const char *step, size_t i, size_t n)
{
    struct step_ctx *sc = ctx;
    if (!strcmp(step, "loadBoundProfilePackage") && n && i != n && i != 1)
        return; /* first and last segment only */
    if (!strcmp(step, "backoff"))
        detail(sc, true, "+%.3f s backoff %zu ms (failure %zu)", now_mono() - sc->t0, i, n);
    else if (n)
        detail(sc, true, "+%.3f s %s %zu/%zu", now_mono() - sc->t0, step, i, n);
    else
        detail(sc, true, "+%.3f s %s", now_mono() - sc->t0, step);
}

/* One download with the LPA driver (retries, conditions); fills *out on success. A failure ends
 * the step; a success ends it only when `end` (else the caller goes on with the step). */
static bool download(struct acc *a, struct step_ctx *sc, const char *code, struct installed *out,
                     bool end)
{
    struct rsp_activation_code ac;
    rsp_actcode_parse(code, strlen(code), &ac);
    if (ac.cc_required && !a->cc)
        return step_end(sc, "the activation code requires a confirmation code (--cc)");
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/%s", a->state_dir ? a->state_dir : a->tmp_state,
                 a->rep.eid) >= (int)sizeof dir ||
        rsp_dir_create(dir) != 0)
        return step_end(sc, "cannot create the LPA state directory %s", dir);
    rsp_lpa_attempt_clear(dir); /* a fresh attempt: the suite never resumes an older one */
    struct rsp_lpa_run_opts ro;
    memset(&ro, 0, sizeof ro);
    ro.dl.smdp_address = ac.smdp_address;
    ro.dl.matching_id = ac.matching_id[0] ? ac.matching_id : NULL;
    ro.dl.confirmation_code = a->cc;
    memcpy(ro.dl.tac, a->tac_bin, 4);
    ro.dl.has_imei = a->has_imei;
    memcpy(ro.dl.imei, a->imei, 8);
    ro.dl.event = on_event;
    ro.dl.event_ctx = sc;
    ro.eid = a->rep.eid;
    ro.state_dir = dir;
    ro.retry = a->retry;
    ro.cond_policy = a->pol;
    ro.conditions = a->cond;
    ro.conditions_file = a->cond_file;
    ro.reopen = reopen_euicc;
    ro.reopen_ctx = a;
    /* Fixed conditions that block would wait for ever: the download fails at once instead. */
    char why[160] = "";
    ro.no_wait = !a->cond_file && !rsp_lpa_conditions_ok(&a->pol, &a->cond, why, sizeof why);
    struct rsp_lpa_download_result r;
    struct rsp_lpa_attempt fin;
    memset(&fin, 0, sizeof fin);
    memset(&r, 0, sizeof r);
    long conns0 = rsp_es9p_client_connections(a->c);
    rsp_lpa_run(&a->s, a->c, &ro, &r, &fin);
    detail(sc, true, "attempts %u, ES9+ connections %ld, record %s", fin.attempts,
           rsp_es9p_client_connections(a->c) - conns0, rsp_lpa_att_state_name(fin.state));
    if (r.kind != RSP_LPA_DL_OK) {
        rsp_lpa_attempt_clear(dir);
        if (r.kind == RSP_LPA_DL_SMDP_REFUSED)
            return step_end(sc, "%s at %s: %s (subject %s reason %s)", dl_kind_name(r.kind),
                            r.step ? r.step : "start", r.message, r.es9.status.code.subject,
                            r.es9.status.code.reason);
        return step_end(sc, "%s%s%s: %s", dl_kind_name(r.kind), r.step ? " at " : "",
                        r.step ? r.step : "", r.message[0] ? r.message : why);
    }
    rsp_lpa_attempt_clear(dir);
    out->present = true;
    snprintf(out->iccid, sizeof out->iccid, "%s", r.iccid);
    memcpy(out->aid, r.aid, 16);
    out->expected = r.expected;
    out->pir_delivered = r.notification_sent;
    char aid[33];
    rsp_hex_str(aid, r.aid, 16, 1);
    detail(sc, true, "installed ICCID %s in ISD-P %s (%s)%s", r.iccid, aid, r.expected.name,
           r.notification_sent ? "; installation result delivered to the SM-DP+" : "");
    return end ? step_end(sc, NULL) : true;
}

static const char *pmo_name(uint32_t pmo)
{
    return pmo & RSP_NOTIF_INSTALL   ? "install"
           : pmo & RSP_NOTIF_ENABLE  ? "enable"
           : pmo & RSP_NOTIF_DISABLE ? "disable"
           : pmo & RSP_NOTIF_DELETE  ? "delete"
                                     : "unknown";
}

/* Sends every pending notification to its SM-DP+ and removes each delivered one; `seen` gets
 * the operations (RSP_NOTIF_* bits) delivered for `iccid`. 0, or -1 with the reason in err. */
static int deliver(struct acc *a, struct step_ctx *sc, const char *iccid, uint32_t *seen, char *err,
                   size_t errlen)
{
    struct rsp_buf raw = RSP_BUF_INIT;
    static struct rsp_es10_notif_list nl;
    char e[120];
    *seen = 0;
    int rc = rsp_lpa_retrieve_notifications(&a->s, NULL, &raw, &nl);
    if (rc != 0 || nl.is_error) {
        snprintf(err, errlen, "RetrieveNotificationsList: %s",
                 rc ? es10_err(a, rc, e, sizeof e) : "refused by the eUICC");
        rsp_buf_free(&raw);
        return -1;
    }
    int ret = 0;
    for (size_t i = 0; i < nl.n && ret == 0; i++) {
        struct rsp_sgp22_pending_notification pn;
        if (rsp_sgp22_pending_notification_decode(nl.items[i].raw, nl.items[i].raw_len, &pn) != 0) {
            snprintf(err, errlen, "notification %zu of the list does not decode", i + 1);
            ret = -1;
            break;
        }
        const struct rsp_sgp22_notification_metadata *md =
            pn.is_pir ? &pn.pir.data.notification_metadata : &pn.other.tbs;
        char host[256], ic[21] = "";
        snprintf(host, sizeof host, "%.*s", (int)(md->address.len < 255 ? md->address.len : 255),
                 (const char *)md->address.p);
        if (md->has_iccid && md->iccid.len == RSP_ICCID_LEN) {
            struct rsp_iccid x;
            memcpy(x.b, md->iccid.p, RSP_ICCID_LEN);
            rsp_iccid_to_str(&x, ic);
        }
        struct rsp_es9_request rq;
        struct rsp_es9_response rs;
        struct rsp_es9p_outcome oc;
        memset(&rq, 0, sizeof rq);
        memset(&oc, 0, sizeof oc);
        rq.fn = RSP_ES9_HANDLE_NOTIFICATION;
        rc = rsp_buf_set(&rq.u.handle_notification.pending_notification, nl.items[i].raw,
                         nl.items[i].raw_len);
        if (rc == 0)
            rc = rsp_es9p_call(a->c, host, &rq, &rs, &oc);
        rsp_es9_response_free(&rs);
        rsp_es9_request_free(&rq);
        if (rc != 0) {
            cutf(err, errlen, "notification %lld (%s %s) to %s: %s", (long long)md->seq_number,
                 pmo_name(md->pmo), ic, host, oc.message[0] ? oc.message : rsp_strerror(rc));
            ret = -1;
            break;
        }
        int res = -1;
        rc = rsp_lpa_remove_notification(&a->s, (uint64_t)md->seq_number, &res);
        if (rc != 0 || res != 0) {
            snprintf(err, errlen, "RemoveNotificationFromList %lld: %s", (long long)md->seq_number,
                     rc ? es10_err(a, rc, e, sizeof e) : "refused");
            ret = -1;
            break;
        }
        detail(sc, true, "notification %lld (%s, ICCID %s) delivered to %s and removed",
               (long long)md->seq_number, pmo_name(md->pmo), ic, host);
        if (iccid && !strcmp(ic, iccid))
            *seen |= md->pmo;
    }
    rsp_buf_free(&raw);
    if (ret != 0)
        return ret;
    /* nothing of this profile may be left pending */
    rc = rsp_lpa_list_notifications(&a->s, NULL, &raw, &nl);
    if (rc != 0 || nl.is_error) {
        snprintf(err, errlen, "ListNotification: %s",
                 rc ? es10_err(a, rc, e, sizeof e) : "refused by the eUICC");
        ret = -1;
    } else if (nl.n) {
        snprintf(err, errlen, "%zu notification(s) still pending after delivery", nl.n);
        ret = -1;
    }
    rsp_buf_free(&raw);
    return ret;
}

/* Enable / disable / delete by ISD-P AID; 0 or -1 with err. */
static int profile_op(struct acc *a, int which, const uint8_t aid[16], char *err, size_t errlen)
{
    struct rsp_es10_profile_id id = {.kind = RSP_ES10_BY_AID, .aid = {aid, 16}};
    int r = -1, rc;
    char e[120];
    const char *what = which == 0   ? "EnableProfile"
                       : which == 1 ? "DisableProfile"
                                    : "DeleteProfile";
    if (which == 0)
        rc = rsp_lpa_enable_profile(&a->s, &id, true, &r);
    else if (which == 1)
        rc = rsp_lpa_disable_profile(&a->s, &id, true, &r);
    else
        rc = rsp_lpa_delete_profile(&a->s, &id, &r);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", what, es10_err(a, rc, e, sizeof e));
        return -1;
    }
    if (r != 0) {
        snprintf(err, errlen, "%s refused by the eUICC: %s (%d)", what,
                 which == 0   ? rsp_lpa_enable_result_name(r)
                 : which == 1 ? rsp_lpa_disable_result_name(r)
                              : rsp_lpa_delete_result_name(r),
                 r);
        return -1;
    }
    return 0;
}

/* A step that changes the profile's state and must deliver the notification of that operation. */
static bool op_step(struct acc *a, const char *name, int which, uint32_t want,
                    const struct installed *p)
{
    struct step_ctx sc;
    step_begin(a, &sc, name);
    char err[RSP_ACCEPT_MESSAGE_MAX];
    if (profile_op(a, which, p->aid, err, sizeof err) != 0)
        return step_end(&sc, "%s", err);
    detail(&sc, true, "profile %s %s", p->iccid,
           which == 0   ? "enabled"
           : which == 1 ? "disabled"
                        : "deleted");
    uint32_t seen = 0;
    if (deliver(a, &sc, p->iccid, &seen, err, sizeof err) != 0)
        return step_end(&sc, "%s", err);
    if (want && !(seen & want))
        return step_end(&sc, "no %s notification of profile %s was delivered", pmo_name(want),
                        p->iccid);
    return step_end(&sc, NULL);
}

/* Best effort after a failed chain: disable and delete the profile, deliver what is pending. */
static void cleanup(struct acc *a, struct installed *p)
{
    if (!p->present || !a->open)
        return;
    char err[200];
    profile_op(a, 1, p->aid, err, sizeof err);
    if (profile_op(a, 2, p->aid, err, sizeof err) == 0)
        say(a, "cleanup: profile %s deleted", p->iccid);
    else
        say(a, "cleanup: profile %s not deleted: %s", p->iccid, err);
    struct rsp_accept_step scratch;
    memset(&scratch, 0, sizeof scratch);
    struct step_ctx sc = {.a = a, .st = &scratch, .t0 = now_mono()};
    uint32_t seen;
    deliver(a, &sc, NULL, &seen, err, sizeof err);
    p->present = false;
}

static void run_suite(struct acc *a)
{
    static const char *const chain[] = {"verify", "enable", "notifications", "disable", "delete"};
    char err[RSP_ACCEPT_MESSAGE_MAX];
    if (step_info(a) != 0) {
        for (size_t i = 0; i < 2 + sizeof chain / sizeof chain[0]; i++)
            step_skip(a,
                      i == 0   ? "download"
                      : i == 6 ? "re-download"
                               : chain[i - 1],
                      "euicc-info failed");
        return;
    }
    if (net_start(a, err, sizeof err) != 0) {
        struct step_ctx sc;
        step_begin(a, &sc, "download");
        step_end(&sc, "%s", err);
        for (size_t i = 0; i < sizeof chain / sizeof chain[0]; i++)
            step_skip(a, chain[i], "download failed");
        step_skip(a, "re-download", "no network client");
        return;
    }
    struct installed p = {0};
    struct step_ctx sc;
    step_begin(a, &sc, "download");
    bool ok;
    if (a->es2_url && es2_order(a, &sc, 0, err, sizeof err) != 0)
        ok = step_end(&sc, "%s", err);
    else
        ok = download(a, &sc, a->ac[0], &p, true);
    size_t k = 0;
    const char *failed = "download";
    if (ok) {
        /* verify */
        step_begin(a, &sc, chain[k++]);
        char why[200];
        int rc = rsp_lpa_verify_installed(&a->s, &p.expected, p.aid, why, sizeof why);
        if (rc == RSP_EVERIFY)
            ok = step_end(&sc, "profile %s failed local verification: %s", p.iccid, why);
        else if (rc != 0)
            ok = step_end(&sc, "GetProfilesInfo: %s", es10_err(a, rc, err, sizeof err));
        else {
            detail(&sc, true,
                   "profile %s: ICCID, ISD-P, state, class, names and owner as consented", p.iccid);
            ok = step_end(&sc, NULL);
        }
        failed = "verify";
    }
    if (ok) {
        /* enable (its notification is delivered by the next step) */
        step_begin(a, &sc, chain[k++]);
        failed = "enable";
        if (profile_op(a, 0, p.aid, err, sizeof err) != 0)
            ok = step_end(&sc, "%s", err);
        else {
            detail(&sc, true, "profile %s enabled", p.iccid);
            ok = step_end(&sc, NULL);
        }
    }
    if (ok) {
        step_begin(a, &sc, chain[k++]);
        failed = "notifications";
        uint32_t seen = 0;
        if (deliver(a, &sc, p.iccid, &seen, err, sizeof err) != 0)
            ok = step_end(&sc, "%s", err);
        else if (!(seen & RSP_NOTIF_INSTALL) && !p.pir_delivered)
            ok =
                step_end(&sc, "the installation result of profile %s was never delivered", p.iccid);
        else if (!(seen & RSP_NOTIF_ENABLE))
            ok = step_end(&sc, "no enable notification of profile %s was delivered", p.iccid);
        else
            ok = step_end(&sc, NULL);
    }
    if (ok) {
        k++;
        failed = "disable";
        ok = op_step(a, "disable", 1, RSP_NOTIF_DISABLE, &p);
    }
    if (ok) {
        k++;
        failed = "delete";
        ok = op_step(a, "delete", 2, RSP_NOTIF_DELETE, &p);
        if (ok)
            p.present = false;
    }
    for (; k < sizeof chain / sizeof chain[0]; k++) {
        char why[64];
        snprintf(why, sizeof why, "%s failed", failed);
        step_skip(a, chain[k], why);
    }
    cleanup(a, &p);

    /* re-download: the second order, independent of the chain above */
    struct installed q = {0};
    step_begin(a, &sc, "re-download");
    if (a->es2_url && es2_order(a, &sc, 1, err, sizeof err) != 0)
        ok = step_end(&sc, "%s", err);
    else
        ok = download(a, &sc, a->ac[1], &q, false);
    if (ok) {
        /* the same step goes on: verification and delivery of the notifications */
        char why[200];
        int rc = rsp_lpa_verify_installed(&a->s, &q.expected, q.aid, why, sizeof why);
        uint32_t seen = 0;
        if (rc != 0)
            ok = step_end(&sc, "profile %s failed local verification: %s", q.iccid,
                          rc == RSP_EVERIFY ? why : rsp_strerror(rc));
        else if (deliver(a, &sc, q.iccid, &seen, err, sizeof err) != 0)
            ok = step_end(&sc, "%s", err);
        else if (!(seen & RSP_NOTIF_INSTALL) && !q.pir_delivered)
            ok =
                step_end(&sc, "the installation result of profile %s was never delivered", q.iccid);
        else {
            detail(&sc, true, "profile %s verified; left installed (disabled)", q.iccid);
            ok = step_end(&sc, NULL);
        }
        if (!ok)
            cleanup(a, &q);
    }
}

/* ---- the run command ---- */

static int write_file(const char *path, const struct rsp_buf *b)
{
    return rspctl_write_path(path, b->data, b->len, 0644);
}

/* Removes a directory tree this program created (the temporary LPA state: one directory per
 * EID with the attempt record and the event log); depth-limited, never follows links. */
static int remove_tree(const char *path, int depth)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);
    if (depth > 4)
        return -1;
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[PATH_MAX];
        if (snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) >= (int)sizeof sub ||
            remove_tree(sub, depth + 1) != 0)
            rc = -1;
    }
    closedir(d);
    return rc == 0 ? rmdir(path) : rc;
}

static void acc_free(struct acc *a)
{
    net_stop(a);
    euicc_close(a);
    if (a->tmp_state[0] && remove_tree(a->tmp_state, 0) != 0)
        fprintf(stderr, "rspctl acceptance: could not remove %s\n", a->tmp_state);
    rsp_buf_free(&a->suite_text);
    rsp_memzero(a->token, sizeof a->token);
}

static int cmd_run(int argc, char **argv)
{
    struct acc a;
    memset(&a, 0, sizeof a);
    a.curve = "nist";
    a.wait_s = 30;
    a.retries = 2;
    a.timeout_s = 60;
    rsp_lpa_conditions_unknown(&a.cond);
    rsp_lpa_conditions_policy_default(&a.pol);
    rsp_lpa_retry_policy_default(&a.retry);
    a.retry.budget_s = 300;
    const char *suite = NULL;
    int st = EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (rspctl_is_help(o)) {
            fputs(help_run, stdout);
            return 0;
        } else if (!strcmp(o, "--pcsc")) {
            a.pcsc = true;
            if (v && v[0] != '-')
                a.reader = argv[++i];
        } else if (!strcmp(o, "--insecure-tls")) {
            a.insecure_tls = true;
        } else if (!strcmp(o, "--quiet")) {
            a.quiet = true;
        } else if (!strcmp(o, "--charging")) {
            a.cond.charging = 1;
        } else if (!v) {
            fprintf(stderr, "rspctl acceptance run: %s needs a value (or is unknown)\n", o);
            return EXIT_USAGE;
        } else if (!strcmp(o, "--at")) {
            a.at_dev = argv[++i];
        } else if (!strcmp(o, "--soft")) {
            a.soft_dir = argv[++i];
        } else if (!strcmp(o, "--curve")) {
            a.curve = argv[++i];
            if (strcmp(a.curve, "nist") && strcmp(a.curve, "brp")) {
                fprintf(stderr, "rspctl acceptance run: --curve wants nist or brp\n");
                return EXIT_USAGE;
            }
        } else if (!strcmp(o, "--euicc-fault")) {
            char ferr[RSP_EUICC_DETAIL_SZ];
            if (rsp_euicc_faults_parse(argv[++i], &a.faults, ferr, sizeof ferr) != 0) {
                fprintf(stderr, "rspctl acceptance run: --euicc-fault: %s\n", ferr);
                return EXIT_USAGE;
            }
            a.has_faults = true;
        } else if (!strcmp(o, "--suite")) {
            suite = argv[++i];
        } else if (!strcmp(o, "--es2")) {
            a.es2_url = argv[++i];
        } else if (!strcmp(o, "--operator")) {
            a.operator_id = argv[++i];
        } else if (!strcmp(o, "--token-file")) {
            a.token_file = argv[++i];
        } else if (!strcmp(o, "--profile-type")) {
            a.profile_type = argv[++i];
        } else if (!strcmp(o, "--smdp")) {
            a.smdp_addr = argv[++i];
        } else if (!strcmp(o, "--ca")) {
            a.ca = argv[++i];
        } else if (!strcmp(o, "--ca-path")) {
            a.ca_path = argv[++i];
        } else if (!strcmp(o, "--conditions")) {
            a.cond_file = argv[++i];
        } else if (!strcmp(o, "--impair-at")) {
            a.impair_at = argv[++i];
        } else if (!strcmp(o, "--impair-log")) {
            a.impair_log = argv[++i];
        } else if (!strcmp(o, "--junit")) {
            a.junit = argv[++i];
        } else if (!strcmp(o, "--html")) {
            a.html = argv[++i];
        } else if (!strcmp(o, "--db")) {
            a.db = argv[++i];
        } else if (!strcmp(o, "--state-dir")) {
            a.state_dir = argv[++i];
        } else if (run_opt(&a, o, v, false) == 1) {
            i++;
        } else {
            fprintf(stderr, "rspctl acceptance run: bad option or value: %s %s\n", o, v);
            fprintf(stderr, "try 'rspctl acceptance run --help'\n");
            goto out;
        }
    }
    if (suite && load_suite(&a, suite) != 0)
        goto out;
    if ((a.pcsc ? 1 : 0) + (a.at_dev ? 1 : 0) + (a.soft_dir ? 1 : 0) != 1) {
        fprintf(stderr, "rspctl acceptance run: choose one target: --pcsc [READER], --at DEVICE "
                        "or --soft DIR\n");
        goto out;
    }
    if (a.has_faults && !a.soft_dir) {
        fprintf(stderr, "rspctl acceptance run: --euicc-fault applies to --soft only (for a card "
                        "behind PC/SC: rsp-euicc serve --fault)\n");
        goto out;
    }
    if (a.es2_url && (a.ac[0] || a.ac[1])) {
        fprintf(stderr, "rspctl acceptance run: --es2 creates the orders: no --ac\n");
        goto out;
    }
    if (a.es2_url) {
        if (!a.operator_id || !a.token_file || !a.profile_type) {
            fprintf(stderr, "rspctl acceptance run: --es2 needs --operator ID, --token-file FILE "
                            "and --profile-type TYPE\n");
            goto out;
        }
        if (strncmp(a.es2_url, "https://", 8) != 0 || strlen(a.es2_url) > 256) {
            fprintf(stderr, "rspctl acceptance run: --es2 wants an https:// URL (at most 256 "
                            "bytes)\n");
            goto out;
        }
        struct rsp_buf tok = RSP_BUF_INIT;
        int trc = rsp_file_read(a.token_file, &tok);
        size_t tl = tok.len;
        while (tl &&
               (tok.data[tl - 1] == '\n' || tok.data[tl - 1] == '\r' || tok.data[tl - 1] == ' '))
            tl--;
        bool tok_ok = trc == 0 && tl > 0 && tl < sizeof a.token;
        for (size_t k = 0; tok_ok && k < tl; k++)
            tok_ok = tok.data[k] > 0x20 && tok.data[k] < 0x7f;
        if (tok_ok) {
            memcpy(a.token, tok.data, tl);
            a.token[tl] = 0;
        }
        rsp_buf_free_secure(&tok);
        if (!tok_ok) {
            fprintf(stderr,
                    "rspctl acceptance run: --token-file %s: unreadable, empty or not one "
                    "printable token\n",
                    a.token_file);
            st = ACC_FAIL;
            goto out;
        }
    } else if (!a.ac[0] || !a.ac[1]) {
        fprintf(stderr, "rspctl acceptance run: two activation codes are needed (--ac twice or "
                        "'ac =' lines in --suite), or --es2 to create the orders: download and "
                        "re-download\n");
        goto out;
    }
    if (a.has_impair && a.impair_at) {
        fprintf(stderr, "rspctl acceptance run: --impair and --impair-at exclude each other\n");
        goto out;
    }
    if (a.db && !a.model && !a.tac[0]) {
        fprintf(stderr, "rspctl acceptance run: --db needs the device: --model NAME and/or --tac "
                        "TAC (or --imei)\n");
        goto out;
    }
    if (!a.tac[0]) {
        static const uint8_t default_tac[4] = {0x35, 0x29, 0x06, 0x11}; /* as rsp-lpa */
        memcpy(a.tac_bin, default_tac, 4);
    }
    if (!a.state_dir) {
        snprintf(a.tmp_state, sizeof a.tmp_state, "%s/rspctl-acceptance.XXXXXX",
                 getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(a.tmp_state)) {
            fprintf(stderr, "rspctl acceptance run: cannot create a temporary directory\n");
            a.tmp_state[0] = 0;
            st = ACC_FAIL;
            goto out;
        }
    }
    if (!a.junit)
        a.junit = "acceptance-junit.xml";
    if (!a.html)
        a.html = "acceptance-report.html";

    /* the report's header */
    rsp_accept_report_init(&a.rep);
    snprintf(a.rep.model, sizeof a.rep.model, "%s", a.model ? a.model : "");
    snprintf(a.rep.tac, sizeof a.rep.tac, "%s", a.tac);
    snprintf(a.rep.target, sizeof a.rep.target, "%s", a.pcsc ? "pcsc" : a.at_dev ? "at" : "soft");
    snprintf(a.rep.target_name, sizeof a.rep.target_name, "%s",
             a.pcsc     ? (a.reader ? a.reader : "(first reader with a card)")
             : a.at_dev ? a.at_dev
                        : a.soft_dir);
    if (a.es2_url) {
        cutf(a.rep.smdp, sizeof a.rep.smdp, "%s (orders over ES2+ at %s, profile type %s)",
             smdp_address(&a), a.es2_url, a.profile_type);
    } else {
        struct rsp_activation_code ac0, ac1;
        rsp_actcode_parse(a.ac[0], strlen(a.ac[0]), &ac0);
        rsp_actcode_parse(a.ac[1], strlen(a.ac[1]), &ac1);
        cutf(a.rep.smdp, sizeof a.rep.smdp, "%s%s%s", ac0.smdp_address,
             strcmp(ac0.smdp_address, ac1.smdp_address) ? ", " : "",
             strcmp(ac0.smdp_address, ac1.smdp_address) ? ac1.smdp_address : "");
    }
    char cond[RSP_ACCEPT_TEXT_MAX] = "";
    size_t cl = 0;
    if (a.cond.battery_pct >= 0)
        cl += (size_t)snprintf(cond + cl, sizeof cond - cl, "battery=%d%% ", a.cond.battery_pct);
    if (a.cond.charging >= 0)
        cl += (size_t)snprintf(cond + cl, sizeof cond - cl, "charging=%d ", a.cond.charging);
    if (a.cond.signal >= 0)
        cl += (size_t)snprintf(cond + cl, sizeof cond - cl, "signal=%d ", a.cond.signal);
    if (a.cond_file && cl < sizeof cond)
        cl += (size_t)snprintf(cond + cl, sizeof cond - cl, "file=%s ", a.cond_file);
    if (cl < sizeof cond)
        snprintf(cond + cl, sizeof cond - cl, "(min battery %d%%, min signal %d)",
                 a.pol.min_battery, a.pol.min_signal);
    snprintf(a.rep.conditions, sizeof a.rep.conditions, "%s", cond);
    if (a.has_impair)
        cutf(a.rep.impair, sizeof a.rep.impair, "%s (in process)", a.impair_spec);
    else if (a.impair_at)
        snprintf(a.rep.impair, sizeof a.rep.impair, "rsp-impair at %s", a.impair_at);
    gethostname(a.rep.hostname, sizeof a.rep.hostname - 1);

    a.rep.started_ms = now_ms();
    run_suite(&a);
    a.rep.finished_ms = now_ms();
    net_stop(&a);

    bool passed = rsp_accept_passed(&a.rep);
    st = passed ? ACC_PASS : ACC_FAIL;
    struct rsp_buf junit = RSP_BUF_INIT, html = RSP_BUF_INIT;
    if (rsp_accept_junit(&a.rep, &junit) != 0 || rsp_accept_html(&a.rep, &html) != 0 ||
        write_file(a.junit, &junit) != 0 || write_file(a.html, &html) != 0) {
        fprintf(stderr, "rspctl acceptance run: cannot write the reports (%s, %s)\n", a.junit,
                a.html);
        st = ACC_REPORT;
    }
    size_t np, nf, ns;
    rsp_accept_counts(&a.rep, &np, &nf, &ns);
    const struct rsp_accept_step *ff = rsp_accept_first_failure(&a.rep);
    printf("acceptance %s: %zu passed, %zu failed, %zu skipped (%.3f s)%s%s%s\n",
           passed ? "PASSED" : "FAILED", np, nf, ns,
           (double)(a.rep.finished_ms - a.rep.started_ms) / 1000.0, ff ? "; first failure: " : "",
           ff ? ff->name : "", ff ? "" : "");
    if (ff)
        printf("  %s: %s\n", ff->name, ff->message);
    printf("JUnit: %s\nHTML:  %s\n", a.junit, a.html);
    if (a.db && st != ACC_REPORT) {
        struct rsp_acceptance_run run;
        memset(&run, 0, sizeof run);
        snprintf(run.model, sizeof run.model, "%s", a.model ? a.model : "");
        snprintf(run.tac, sizeof run.tac, "%s", a.tac);
        snprintf(run.eum, sizeof run.eum, "%s", a.rep.eum);
        snprintf(run.svn, sizeof run.svn, "%s", a.rep.svn);
        snprintf(run.target, sizeof run.target, "%s", a.rep.target);
        run.started_at = a.rep.started_ms / 1000;
        run.finished_at = a.rep.finished_ms / 1000;
        run.passed = passed;
        if (!passed) {
            /* a run with nothing failed but something skipped cannot happen; be explicit */
            snprintf(run.failed_step, sizeof run.failed_step, "%s", ff ? ff->name : "?");
        }
        rsp_accept_summary(&a.rep, run.summary, sizeof run.summary);
        rsp_sha256(junit.data, junit.len, run.junit_sha256);
        struct rsp_store *store = NULL;
        char why[256] = "";
        int rc = rsp_store_open_url(a.db, &store, why, sizeof why);
        if (rc == 0)
            rc = rsp_store_acceptance_run_add(store, &run, rspctl_actor());
        if (rc != 0) {
            fprintf(stderr, "rspctl acceptance run: the run was not recorded: %s%s%s\n",
                    rsp_strerror(rc), why[0] ? ": " : "",
                    why[0]  ? why
                    : store ? rsp_store_last_error(store)
                            : "");
            st = ACC_REPORT;
        } else {
            char h[65];
            rsp_hex_str(h, run.junit_sha256, 32, 0);
            printf("recorded: acceptance run #%lld (%s, JUnit SHA-256 %s)\n", (long long)run.id,
                   passed ? "passed" : "failed", h);
        }
        rsp_store_close(store);
    }
    rsp_buf_free(&junit);
    rsp_buf_free(&html);
out:
    acc_free(&a);
    return st;
}

/* ---- require / unrequire / status / gate / list ---- */

struct gate_opts {
    const char *db, *campaign, *model;
    bool unrequire;
    uint64_t limit;
};

static int gate_args(const char *cmd, int argc, char **argv, struct gate_opts *g, bool allow_un,
                     bool allow_limit)
{
    memset(g, 0, sizeof *g);
    g->limit = 20;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        if (rspctl_is_help(argv[i])) {
            fputs(help_main, stdout);
            return 1;
        } else if (allow_un && !strcmp(argv[i], "--unrequire")) {
            g->unrequire = true;
        } else if ((r = rspctl_opt_value(argc, argv, &i, "--db", &g->db)) ||
                   (r = rspctl_opt_value(argc, argv, &i, "--campaign", &g->campaign)) ||
                   (r = rspctl_opt_value(argc, argv, &i, "--model", &g->model)) ||
                   (allow_limit && (r = rspctl_opt_value(argc, argv, &i, "--limit", &v)))) {
            if (r < 0) {
                fprintf(stderr, "rspctl acceptance %s: %s needs a value\n", cmd, argv[i]);
                return -1;
            }
            if (v && parse_uint(v, 100000, &g->limit) != 0) {
                fprintf(stderr, "rspctl acceptance %s: --limit wants a number\n", cmd);
                return -1;
            }
        } else {
            fprintf(stderr, "rspctl acceptance %s: unknown argument '%s'\n", cmd, argv[i]);
            return -1;
        }
    }
    if (!g->db) {
        fprintf(stderr, "rspctl acceptance %s: --db STORE is required\n", cmd);
        return -1;
    }
    return 0;
}

static int open_store(const char *cmd, const char *db, struct rsp_store **st)
{
    char why[256] = "";
    int rc = rsp_store_open_url(db, st, why, sizeof why);
    if (rc != 0)
        fprintf(stderr, "rspctl acceptance %s: cannot open %s: %s%s%s\n", cmd, db, rsp_strerror(rc),
                why[0] ? ": " : "", why);
    return rc;
}

static int cmd_require_common(int argc, char **argv, bool unrequire)
{
    struct gate_opts g;
    const char *cmd = argv[0];
    int r = gate_args(cmd, argc, argv, &g, !unrequire, false);
    if (r)
        return r > 0 ? 0 : EXIT_USAGE;
    unrequire = unrequire || g.unrequire;
    if (!!g.campaign == !!g.model) {
        fprintf(stderr, "rspctl acceptance %s: give exactly one of --campaign C or --model M\n",
                cmd);
        return EXIT_USAGE;
    }
    const char *scope = g.campaign ? "campaign" : "model";
    const char *name = g.campaign ? g.campaign : g.model;
    struct rsp_store *st = NULL;
    if (open_store(cmd, g.db, &st) != 0)
        return ACC_FAIL;
    bool changed = false;
    int rc = rsp_store_acceptance_require(st, scope, name, !unrequire, rspctl_actor(), &changed);
    if (rc == RSP_EINVAL) {
        fprintf(stderr, "rspctl acceptance %s: %s name must be 1 to %d printable ASCII bytes\n",
                cmd, scope, RSP_STORE_TEXT_MAX);
        rsp_store_close(st);
        return EXIT_USAGE;
    }
    if (rc != 0) {
        fprintf(stderr, "rspctl acceptance %s: %s (%s)\n", cmd, rsp_strerror(rc),
                rsp_store_last_error(st));
        rsp_store_close(st);
        return ACC_FAIL;
    }
    printf("%s %s %s acceptance%s\n", scope, name, unrequire ? "no longer requires" : "requires",
           changed ? "" : " (unchanged)");
    rsp_store_close(st);
    return 0;
}

static int cmd_require(int argc, char **argv)
{
    return cmd_require_common(argc, argv, false);
}

static int cmd_unrequire(int argc, char **argv)
{
    return cmd_require_common(argc, argv, true);
}

static void print_run(const struct rsp_acceptance_run *r)
{
    char t[32];
    time_t tt = (time_t)r->finished_at;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char h[65];
    rsp_hex_str(h, r->junit_sha256, 32, 0);
    printf("run #%lld %s %s model=%s tac=%s target=%s eum=%s sgp22=%s%s%s junit_sha256=%.16s...\n",
           (long long)r->id, t, r->passed ? "passed" : "FAILED", r->model[0] ? r->model : "-",
           r->tac[0] ? r->tac : "-", r->target, r->eum, r->svn,
           r->passed ? "" : " step=", r->passed ? "" : r->failed_step, h);
}

static int print_run_cb(void *arg, const struct rsp_acceptance_run *r)
{
    (void)arg;
    print_run(r);
    return 0;
}

static int cmd_list(int argc, char **argv)
{
    struct gate_opts g;
    int r = gate_args("list", argc, argv, &g, false, true);
    if (r)
        return r > 0 ? 0 : EXIT_USAGE;
    if (g.campaign) {
        fprintf(stderr, "rspctl acceptance list: runs are per device model (--model), not per "
                        "campaign\n");
        return EXIT_USAGE;
    }
    struct rsp_store *st = NULL;
    if (open_store("list", g.db, &st) != 0)
        return ACC_FAIL;
    int rc = rsp_store_acceptance_run_list(st, g.model, (size_t)g.limit, print_run_cb, NULL);
    rsp_store_close(st);
    if (rc != 0) {
        fprintf(stderr, "rspctl acceptance list: %s\n", rsp_strerror(rc));
        return ACC_FAIL;
    }
    return 0;
}

static int cmd_status_gate(int argc, char **argv, bool gate)
{
    struct gate_opts g;
    const char *cmd = gate ? "gate" : "status";
    int r = gate_args(cmd, argc, argv, &g, false, false);
    if (r)
        return r > 0 ? 0 : EXIT_USAGE;
    if (!g.campaign && !g.model) {
        fprintf(stderr, "rspctl acceptance %s: give --campaign C and/or --model M\n", cmd);
        return EXIT_USAGE;
    }
    struct rsp_store *st = NULL;
    if (open_store(cmd, g.db, &st) != 0)
        return ACC_FAIL;
    int ret = 0;
    if (!gate) {
        bool req;
        if (g.campaign && rsp_store_acceptance_required(st, "campaign", g.campaign, &req) == 0)
            printf("campaign %s: %s\n", g.campaign,
                   req ? "requires acceptance" : "no acceptance requirement");
        if (g.model && rsp_store_acceptance_required(st, "model", g.model, &req) == 0)
            printf("model %s: %s\n", g.model,
                   req ? "requires acceptance" : "no acceptance requirement");
        if (g.model) {
            struct rsp_acceptance_run run;
            int rc = rsp_store_acceptance_run_latest(st, g.model, &run);
            if (rc == 0) {
                printf("latest ");
                print_run(&run);
            } else if (rc == RSP_ENOTFOUND) {
                printf("latest run: none recorded for %s\n", g.model);
            }
        }
    }
    char why[512];
    int rc = rsp_acceptance_gate(st, g.campaign, g.model, why, sizeof why);
    if (rc == 0) {
        printf("release allowed: %s\n", why);
    } else if (rc == RSP_ACCEPTANCE_REFUSED) {
        if (gate)
            fprintf(stderr, "release refused: %s\n", why);
        else
            printf("release refused: %s\n", why);
        ret = gate ? ACC_REPORT : 0;
    } else {
        fprintf(stderr, "rspctl acceptance %s: %s (%s)\n", cmd, rsp_strerror(rc),
                rsp_store_last_error(st));
        ret = ACC_FAIL;
    }
    rsp_store_close(st);
    return ret;
}

static int cmd_status(int argc, char **argv)
{
    return cmd_status_gate(argc, argv, false);
}

static int cmd_gate(int argc, char **argv)
{
    return cmd_status_gate(argc, argv, true);
}

int rspctl_cmd_acceptance(int argc, char **argv)
{
    static const struct subcommand sub[] = {
        {"run", "run the first-boot suite against a device (JUnit + HTML; --db records it)",
         cmd_run},
        {"require", "mark a campaign or device model as requiring a passing run", cmd_require},
        {"unrequire", "remove such a mark", cmd_unrequire},
        {"status", "marks, latest run and the gate's decision", cmd_status},
        {"gate", "release decision: exit 0 allowed, 3 refused", cmd_gate},
        {"list", "recorded runs, newest first", cmd_list},
    };
    if (argc >= 2 && rspctl_is_help(argv[1])) {
        fputs(help_main, stdout);
        return 0;
    }
    return rspctl_dispatch("rspctl acceptance", sub, sizeof sub / sizeof sub[0], argc, argv);
}
