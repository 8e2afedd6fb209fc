/* AT-command modem transport (3GPP TS 27.007): reaches the UICC of a USB LTE modem through its
 * serial AT port.
 *
 * Channel model. The modem, not the host, owns the logical channels: AT+CCHO="<AID>" opens a
 * channel *and* selects the application in one step, answering a session id; AT+CGLA carries
 * APDUs on that session, AT+CCHC closes it, AT+CSIM carries APDUs on the basic channel. The
 * transport maps the ES10 exchanger's ISO 7816 model onto this without any change to the
 * exchanger (rsp_es10_open works unchanged over it):
 *   - MANAGE CHANNEL open (no AT command) is answered with a synthetic R-APDU "01 9000": the
 *     virtual channel 1 (6881 with opts.basic_only, so the exchanger uses the basic channel);
 *   - the first SELECT by DF name on that channel becomes AT+CCHO="<AID>" and is answered with a
 *     synthetic "9000" (no FCI: the modem does not return it);
 *   - every further APDU on the virtual channel (STORE DATA, GET RESPONSE, ...) goes through
 *     AT+CGLA=<session>; the CLA byte is passed as the exchanger built it (the modem maps the
 *     session onto its channel);
 *   - MANAGE CHANNEL close of the virtual channel becomes AT+CCHC=<session>;
 *   - APDUs on the basic channel go through AT+CSIM.
 *
 * Line discipline: echo is switched off (ATE0) at connect and echoed commands are skipped
 * anyway; unsolicited result codes ("+CREG: ...", "^...", RING, ...) are skipped; every line is
 * bounded by opts.max_line; every command by opts.timeout_ms. Errors: RSP_EIO (device, timeout,
 * ERROR / +CME ERROR), RSP_ESYNTAX (a malformed answer line), RSP_ERANGE (a line longer than
 * max_line). rsp_apdu_at_error() tells what happened, with the offending line. A malformed or
 * overlong line does not stop the reading of the answer, so the next command starts in step.
 * After a timeout the next command first drains the line until it has been quiet for a whole
 * timeout: an answer later than that could still be taken for the next command's (AT has no
 * command tags), so choose the timeout above the modem's slowest answer.
 */
#ifndef RSP_APDU_AT_H
#define RSP_APDU_AT_H

#include <stdbool.h>
#include <stddef.h>

#include "rsp/apdu.h"

#define RSP_APDU_AT_BAUD_DEF     115200
#define RSP_APDU_AT_TIMEOUT_DEF  5000 /* ms per AT command */
#define RSP_APDU_AT_MAX_LINE_DEF 1024 /* a CGLA answer of 256 + 2 bytes is ~530 characters */
#define RSP_APDU_AT_MAX_LINE_MAX (64 * 1024)

struct rsp_apdu_at_opts {
    unsigned baud;       /* 0: RSP_APDU_AT_BAUD_DEF; 9600..921600 */
    unsigned timeout_ms; /* 0: RSP_APDU_AT_TIMEOUT_DEF */
    size_t max_line;     /* 0: RSP_APDU_AT_MAX_LINE_DEF; 64..RSP_APDU_AT_MAX_LINE_MAX */
    bool basic_only;     /* no AT+CCHO: refuse MANAGE CHANNEL, everything through AT+CSIM */
};

/* Opens `device` (a serial AT port such as /dev/ttyUSB2) in raw mode. `o` may be NULL. RSP_EIO
 * when the device cannot be opened or configured (errno tells why), RSP_EINVAL for bad options.
 * No AT command is sent before connect. */
int rsp_apdu_at_new(struct rsp_apdu_transport **out, const char *device,
                    const struct rsp_apdu_at_opts *o);
/* What the last failure of this transport was, with the offending line ("" when none; a static
 * message when `t` is not an AT transport). Valid until the next call on `t`. */
const char *rsp_apdu_at_error(const struct rsp_apdu_transport *t);

#endif
