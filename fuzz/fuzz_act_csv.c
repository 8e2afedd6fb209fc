/* libFuzzer target: the bulk activation-order CSV parser (rsp/act_ops.h). Properties checked on
 * every input:
 * - no crash, no read outside the input (ASan), no undefined behaviour (UBSan);
 * - the result is consistent: orders + kept errors bounded, every order valid
 *   (rsp_act_order_validate) with a line number inside the input, errors counted at least as
 *   often as kept. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/act_ops.h"
#include "rsp/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rsp_act_csv c;
    int rc = rsp_act_csv_parse((const char *)data, size, &c);
    if (rc == RSP_ENOMEM)
        return 0;
    if (rc != 0 && rc != RSP_ERANGE)
        abort();
    if (c.n_errors > RSP_ACT_CSV_MAX_ERRORS || c.total_errors < c.n_errors)
        abort();
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    for (size_t i = 0; i < c.n; i++) {
        if (rsp_act_order_validate(&c.orders[i], NULL) != 0)
            abort();
        if (c.lines[i] < 2 || c.lines[i] > lines)
            abort();
    }
    rsp_act_csv_free(&c);
    return 0;
}
