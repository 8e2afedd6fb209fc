/* vpcd adapter: runs the card front-end as a virtual smart card of vsmartcard's vpcd, the pcscd
 * reader driver (Debian package vsmartcard-vpcd).
 *
 * vpcd listens on TCP (port 35963 by default, /etc/reader.conf.d/vpcd) and the virtual card
 * connects to it. Each message in either direction is a 2-byte big-endian length followed by
 * that many bytes. From vpcd, a 1-byte message is a control code (0 power off, 1 power on,
 * 2 reset: no answer; 4 get ATR: answered with the ATR); a longer one is a C-APDU, answered with
 * the R-APDU.
 */
#ifndef RSP_VPCD_H
#define RSP_VPCD_H

#include <signal.h>
#include <stdint.h>

#include "rsp/apdu_card.h"

#define RSP_VPCD_DEFAULT_PORT 35963

/* Connects to vpcd at host:port and serves `card` until *stop becomes non-zero (set it from a
 * SIGTERM/SIGINT handler installed without SA_RESTART). A lost or refused connection is retried
 * every second. Returns 0 after a stop request, RSP_EINVAL for bad arguments, RSP_ENOMEM. Progress
 * (connect, disconnect, power events) is logged to stderr when `verbose`; APDU contents never. */
int rsp_vpcd_serve(const char *host, uint16_t port, struct rsp_apdu_card *card,
                   volatile sig_atomic_t *stop, int verbose);

/* Parses "HOST:PORT" (or "[v6]:PORT"); host is written NUL-terminated into host[hostlen]. */
int rsp_vpcd_parse_addr(const char *s, char *host, size_t hostlen, uint16_t *port);

#endif
