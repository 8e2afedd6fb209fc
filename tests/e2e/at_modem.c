/* A software eUICC behind a fake AT-command modem (tests/unit/at/fake_modem.c) on a
 * pseudo-terminal, for end-to-end tests of programs that take --at DEVICE:
 *
 *   at_modem CONFIG_DIR STATE_FILE PATH_FILE
 *
 * The eUICC's credentials come from CONFIG_DIR (rspctl pki init, curve nist), its state is kept
 * in STATE_FILE; the pty's path is written to PATH_FILE once the modem answers. Runs until
 * SIGTERM or SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fake_modem.h"
#include "rsp/apdu_card.h"
#include "rsp/err.h"
#include "rsp/euicc.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: at_modem CONFIG_DIR STATE_FILE PATH_FILE\n");
        return 2;
    }
    struct rsp_euicc_pki_files files;
    char detail[RSP_EUICC_DETAIL_SZ] = "";
    if (rsp_euicc_pki_files_load(argv[1], "nist", &files, detail, sizeof detail) != 0) {
        fprintf(stderr, "at_modem: %s\n", detail);
        return 1;
    }
    struct rsp_euicc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    rsp_euicc_pki_files_apply(&files, &cfg);
    cfg.state_path = argv[2];
    struct rsp_euicc *e = NULL;
    int rc = rsp_euicc_new(&cfg, &e, detail, sizeof detail);
    rsp_euicc_pki_files_free(&files);
    if (rc != 0) {
        fprintf(stderr, "at_modem: eUICC: %s %s\n", rsp_strerror(rc), detail);
        return 1;
    }
    struct rsp_apdu_card_opts co = {.handle = rsp_euicc_process, .handle_ctx = e};
    struct rsp_apdu_card *card = NULL;
    if (rsp_apdu_card_new(&card, &co) != 0)
        return 1;
    struct fake_modem *m = fm_start(card, NULL);
    if (!m) {
        fprintf(stderr, "at_modem: cannot start the fake modem\n");
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    FILE *f = fopen(argv[3], "w");
    if (!f || fprintf(f, "%s\n", fm_path(m)) < 0 || fclose(f) != 0) {
        fprintf(stderr, "at_modem: cannot write %s\n", argv[3]);
        return 1;
    }
    fprintf(stderr, "at_modem: modem on %s\n", fm_path(m));
    while (!stop)
        pause();
    fprintf(stderr, "at_modem: %u AT+CGLA commands\n", fm_count(m, "AT+CGLA="));
    fm_stop(m);
    rsp_apdu_card_free(card);
    rsp_euicc_free(e);
    return 0;
}
