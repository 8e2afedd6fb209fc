/* libFuzzer target: the SAIP profile package reader (rsp_saip_parse, rsp_saip_pe_next).
 * Properties checked on every input:
 * - no read outside the input (ASan), no undefined behaviour (UBSan);
 * - a package the reader accepts is a sequence of PEs that the iterator walks back to back, from
 *   the header to `end`, and its decoded strings are well-formed (digits, NUL-terminated). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/saip.h"

static void check_digits(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n > max)
        abort();
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rsp_saip_info info;
    struct rsp_saip_pe_iter it;
    struct rsp_saip_pe pe;
    int rc = rsp_saip_parse(data, size, &info);
    if (rc > 0)
        abort();

    size_t off = 0, n = 0;
    enum rsp_saip_pe_type last = RSP_SAIP_PE_UNKNOWN;
    int irc;
    rsp_saip_pe_iter_init(&it, data, size);
    while ((irc = rsp_saip_pe_next(&it, &pe)) == 1) {
        if (pe.tlv.raw != data + off || pe.index != n || pe.type >= RSP_SAIP_PE_NTYPES)
            abort();
        (void)rsp_saip_pe_name(pe.type);
        off += pe.tlv.raw_len;
        last = pe.type;
        n++;
    }
    if (rc == 0) {
        /* accepted: the iterator agrees on every PE and the package ends with `end` */
        if (irc != 0 || off != size || n != info.n_pes || last != RSP_SAIP_PE_END)
            abort();
        check_digits(info.iccid_str, 20);
        if (info.imsi_state == RSP_SAIP_PRESENT)
            check_digits(info.imsi, 15);
        if (strnlen(info.spn, sizeof info.spn) >= sizeof info.spn)
            abort();
        if (info.n_gfste > RSP_SAIP_MAX_GFSTE)
            abort();
    }
    return 0;
}
