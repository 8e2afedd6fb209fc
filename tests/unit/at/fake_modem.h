/* A fake USB modem for the AT transport tests: a pseudo-terminal whose master side a thread
 * serves, answering ATE0/AT and the 3GPP TS 27.007 UICC commands (+CCHO, +CGLA, +CCHC, +CSIM) by
 * forwarding the APDUs to an in-process card front-end. Faults can be injected one command at a
 * time. */
#ifndef FAKE_MODEM_H
#define FAKE_MODEM_H

#include <stdbool.h>

#include "rsp/apdu_card.h"

enum fm_fault {
    FM_NONE,
    FM_URC,      /* unsolicited lines before, inside and after the answer (harmless) */
    FM_CME,      /* +CME ERROR: 13 instead of the answer */
    FM_ERROR,    /* ERROR instead of the answer */
    FM_GARBAGE,  /* a line of garbage, then the normal answer */
    FM_OVERLONG, /* a 5000-character line, then the normal answer */
    FM_SLOW,     /* the normal answer, late (fm_opts.slow_ms) */
    FM_SILENT,   /* no answer at all */
    FM_BADLEN,   /* +CGLA/+CSIM answer whose length does not match its hex */
    FM_BADHEX,   /* +CGLA/+CSIM answer with non-hex characters */
    FM_NOINFO,   /* OK without the information line */
};

struct fm_opts {
    bool bare_ccho;   /* answer AT+CCHO with the bare session id (as 27.007 writes it) */
    unsigned slow_ms; /* FM_SLOW delay; 0: 600 */
};

struct fake_modem;

/* Starts the modem thread in front of `card` (not owned). */
struct fake_modem *fm_start(struct rsp_apdu_card *card, const struct fm_opts *o);
/* Path of the pty slave: the "serial device" to open. */
const char *fm_path(const struct fake_modem *m);
/* The next command that starts with `prefix` (e.g. "AT+CGLA") gets `f` (once). */
void fm_fault(struct fake_modem *m, const char *prefix, enum fm_fault f);
/* How many commands starting with `prefix` were received. */
unsigned fm_count(struct fake_modem *m, const char *prefix);
void fm_stop(struct fake_modem *m);

#endif
