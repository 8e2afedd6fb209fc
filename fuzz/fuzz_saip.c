/* libFuzzer target: the SAIP profile package reader (rsp_saip_parse, rsp_saip_pe_next).
 * Properties checked on every input:
 * - no read outside the input (ASan), no undefined behaviour (UBSan);
 * - a package the reader accepts is a sequence of PEs that the iterator walks back to back, from
 *   the header to `end`, and its decoded strings are well-formed (digits, NUL-terminated);
 * - the generator, fed parameters cut from the input, produces packages that parse back. */
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

/* Generator property: parameters cut from the input ("flags iccid|imsi|spn"); whatever the
 * generator accepts parses back to the same values. */
static void generate(const uint8_t *data, size_t size)
{
    char s[3][40];
    size_t k = 0, o = 0;
    if (size < 1)
        return;
    memset(s, 0, sizeof s);
    for (size_t i = 1; i < size && k < 3; i++) {
        if (data[i] == '|') {
            k++;
            o = 0;
        } else if (o < sizeof s[0] - 1) {
            s[k][o++] = data[i] ? (char)data[i] : '0';
        }
    }
    struct rsp_saip_gen_params p;
    memset(&p, 0, sizeof p);
    p.iccid = s[0];
    p.imsi = s[1];
    p.spn = s[2];
    p.include_isim = data[0] & 1;
    p.minor_version = data[0] & 2 ? 1 : 3;
    p.mnc_len = data[0] & 4 ? 3 : 2;
    memset(p.ki, data[0], 16);
    struct rsp_buf b = RSP_BUF_INIT;
    struct rsp_saip_info info;
    if (rsp_saip_generate(&p, &b) == 0) {
        if (rsp_saip_parse(b.data, b.len, &info) != 0 || info.imsi_state != RSP_SAIP_PRESENT ||
            strcmp(info.imsi, p.imsi) != 0 || strcmp(info.spn, p.spn) != 0 ||
            strncmp(info.iccid_str, p.iccid, strlen(info.iccid_str)) != 0 ||
            info.minor != p.minor_version)
            abort();
    } else if (b.len != 0) {
        abort(); /* a refused parameter set appends nothing */
    }
    rsp_buf_free(&b);
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
    generate(data, size);
    return 0;
}
