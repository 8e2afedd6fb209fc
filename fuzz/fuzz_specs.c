/* libFuzzer target: the small text specifications read from files and command lines. The first
 * byte picks the parser, the rest is its input:
 *   0: rsp-impair control file (rsp_impair_params_parse): all or nothing, a refused file leaves
 *      the parameters unchanged, an accepted one passes rsp_impair_params_check or is refused;
 *   1: rsp-lpa device conditions file (rsp_lpa_conditions_parse): a refused file changes nothing;
 *   2: software eUICC fault spec (rsp_euicc_faults_parse, NUL-terminated): same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/euicc.h"
#include "rsp/impair.h"
#include "rsp/lpa_attempt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    char err[256];
    switch (data[0] % 3) {
    case 0: {
        struct rsp_impair_params p, keep;
        rsp_impair_params_default(&p);
        keep = p;
        if (rsp_impair_params_parse(&p, text, len, err, sizeof err) != 0) {
            if (memcmp(&p, &keep, sizeof p) != 0)
                abort();
        } else {
            (void)rsp_impair_params_check(&p, err, sizeof err);
        }
        break;
    }
    case 1: {
        struct rsp_lpa_conditions c, keep;
        rsp_lpa_conditions_unknown(&c);
        keep = c;
        if (rsp_lpa_conditions_parse(text, len, &c, err, sizeof err) != 0 &&
            memcmp(&c, &keep, sizeof c) != 0)
            abort();
        break;
    }
    default: {
        char *s = malloc(len + 1);
        if (!s)
            return 0;
        memcpy(s, text, len);
        s[len] = 0;
        struct rsp_euicc_faults f, keep;
        memset(&f, 0, sizeof f);
        keep = f;
        if (rsp_euicc_faults_parse(s, &f, err, sizeof err) != 0 && memcmp(&f, &keep, sizeof f) != 0)
            abort();
        free(s);
        break;
    }
    }
    return 0;
}
