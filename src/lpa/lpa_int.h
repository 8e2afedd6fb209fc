/* Internals shared by the LPA's ES10 files. */
#ifndef RSP_LPA_INT_H
#define RSP_LPA_INT_H

#include "rsp/apdu.h"
#include "rsp/buf.h"

/* Sends the command built in `cmd` (its sticky error checked first) and puts the answer in
 * `resp`. RSP_EMISSING when the answer is empty. `cmd` is freed. */
int rsp_lpa_xfer(struct rsp_es10 *s, struct rsp_buf *cmd, struct rsp_buf *resp);

#endif
