/* SGP.22 protocol layer: umbrella header. Pure functions: bytes in, bytes out, no I/O.
 * - rsp/sgp22_types.h: identifiers (ICCID, EID, transactionId), activation and confirmation codes
 * - rsp/sgp22_auth.h:  common mutual authentication, download preparation, the Bound Profile
 *                      Package (ES8+), installation result, notifications, cancel session
 * - rsp/sgp22_es10.h:  ES10a/ES10c management structures (EUICCInfo, ProfileInfo, enable/disable/
 *                      delete, EID, notification lists, configured addresses)
 */
#ifndef RSP_SGP22_H
#define RSP_SGP22_H

#include "rsp/sgp22_types.h"
#include "rsp/sgp22_auth.h"
#include "rsp/sgp22_es10.h"

#endif
