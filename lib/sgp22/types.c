/* SGP.22 identifiers: TransactionID, ICCID (EF.ICCID BCD form), EID (check digits mod 97) and the
 * confirmation code hash (SGP.22 §3.1.3). */
#include "rsp/sgp22_types.h"

#include <string.h>

#include "rsp/crypto.h"
#include "rsp/err.h"

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* --- TransactionID (Annex H: TransactionId ::= OCTET STRING (SIZE(1..16))) ------------------- */

int rsp_tid_from_hex(const char *hex, struct rsp_tid *out)
{
    if (!hex || !out)
        return RSP_EINVAL;
    size_t n = strlen(hex);
    if (n < 2 || n > 2 * RSP_TID_MAX || n % 2)
        return RSP_ESYNTAX;
    struct rsp_tid t = {{0}, n / 2};
    for (size_t i = 0; i < n; i += 2) {
        int hi = hex_nibble(hex[i]), lo = hex_nibble(hex[i + 1]);
        if (hi < 0 || lo < 0)
            return RSP_ESYNTAX;
        t.b[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    *out = t;
    return 0;
}

void rsp_tid_to_hex(const struct rsp_tid *t, char out[2 * RSP_TID_MAX + 1])
{
    size_t n = t->len <= RSP_TID_MAX ? t->len : RSP_TID_MAX;
    rsp_hex_str(out, t->b, n, 1);
}

bool rsp_tid_equal(const struct rsp_tid *a, const struct rsp_tid *b)
{
    return a->len == b->len && a->len <= RSP_TID_MAX && memcmp(a->b, b->b, a->len) == 0;
}

/* --- ICCID ------------------------------------------------------------------------------------ */

void rsp_bcd_swap(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (uint8_t)(src[i] << 4 | src[i] >> 4);
}

int rsp_iccid_from_str(const char *digits, struct rsp_iccid *out)
{
    if (!digits || !out)
        return RSP_EINVAL;
    size_t n = strnlen(digits, 2 * RSP_ICCID_LEN + 2);
    /* One trailing F pad is tolerated (ES2+ sends 19 digits + 'F'). */
    if (n > 0 && (digits[n - 1] == 'F' || digits[n - 1] == 'f'))
        n--;
    if (n < 18 || n > 2 * RSP_ICCID_LEN)
        return RSP_ESYNTAX;
    uint8_t nib[2 * RSP_ICCID_LEN];
    memset(nib, 0xF, sizeof nib);
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(digits[i]))
            return RSP_ESYNTAX;
        nib[i] = (uint8_t)(digits[i] - '0');
    }
    /* EF.ICCID (ETSI TS 102 221 §13.2): the first digit goes into the low nibble. */
    for (size_t i = 0; i < RSP_ICCID_LEN; i++)
        out->b[i] = (uint8_t)(nib[2 * i + 1] << 4 | nib[2 * i]);
    return 0;
}

int rsp_iccid_to_str(const struct rsp_iccid *iccid, char out[21])
{
    if (!iccid || !out)
        return RSP_EINVAL;
    char tmp[2 * RSP_ICCID_LEN + 1];
    size_t n = 0;
    bool pad = false;
    for (size_t i = 0; i < 2 * RSP_ICCID_LEN; i++) {
        uint8_t b = iccid->b[i / 2];
        uint8_t d = (i % 2) ? (uint8_t)(b >> 4) : (uint8_t)(b & 0xF);
        if (d == 0xF) {
            pad = true;
            continue;
        }
        if (d > 9 || pad) /* A..E, or a digit after the padding */
            return RSP_ESYNTAX;
        tmp[n++] = (char)('0' + d);
    }
    if (n < 18)
        return RSP_ESYNTAX;
    tmp[n] = '\0';
    memcpy(out, tmp, n + 1);
    return 0;
}

bool rsp_iccid_luhn_ok(const char *digits)
{
    if (!digits)
        return false;
    size_t n = strnlen(digits, 2 * RSP_ICCID_LEN + 2);
    if (n > 0 && (digits[n - 1] == 'F' || digits[n - 1] == 'f'))
        n--;
    if (n < 2 || n > 2 * RSP_ICCID_LEN)
        return false;
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) {
        char c = digits[n - 1 - i];
        if (!is_digit(c))
            return false;
        unsigned d = (unsigned)(c - '0');
        if (i % 2) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return sum % 10 == 0;
}

/* --- EID -------------------------------------------------------------------------------------- */

/* Remainder mod 97 of the decimal number written in d[0..n). */
static unsigned mod97(const char *d, size_t n)
{
    unsigned r = 0;
    for (size_t i = 0; i < n; i++)
        r = (r * 10 + (unsigned)(d[i] - '0')) % 97;
    return r;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return false;
    return true;
}

int rsp_eid_from_str(const char *digits, struct rsp_eid *out)
{
    if (!digits || !out)
        return RSP_EINVAL;
    if (strnlen(digits, 33) != 32 || !all_digits(digits, 32))
        return RSP_ESYNTAX;
    if (mod97(digits, 32) != 1)
        return RSP_ERANGE;
    for (size_t i = 0; i < RSP_EID_LEN; i++)
        out->b[i] = (uint8_t)((digits[2 * i] - '0') << 4 | (digits[2 * i + 1] - '0'));
    return 0;
}

void rsp_eid_to_str(const struct rsp_eid *eid, char out[33])
{
    rsp_hex_str(out, eid->b, RSP_EID_LEN, 1);
}

int rsp_eid_complete(const char *first30, char out[33])
{
    if (!first30 || !out)
        return RSP_EINVAL;
    if (strnlen(first30, 31) != 30 || !all_digits(first30, 30))
        return RSP_ESYNTAX;
    /* Check digits cd such that (N * 100 + cd) mod 97 == 1, i.e. cd = 98 - (N * 100 mod 97). */
    unsigned cd = 98 - (mod97(first30, 30) * 100) % 97;
    memcpy(out, first30, 30);
    out[30] = (char)('0' + cd / 10);
    out[31] = (char)('0' + cd % 10);
    out[32] = '\0';
    return 0;
}

/* --- Confirmation code hash (§3.1.3; verified by the SM-DP+ in §3.1.3.2) ------------------- */

int rsp_hash_cc(const char *cc, size_t cc_len, const struct rsp_tid *tid, uint8_t out[32])
{
    if ((!cc && cc_len) || !tid || !out || tid->len < 1 || tid->len > RSP_TID_MAX)
        return RSP_EINVAL;
    uint8_t m[RSP_SHA256_LEN + RSP_TID_MAX];
    int rc = rsp_sha256(cc ? cc : "", cc_len, m);
    if (rc == 0) {
        memcpy(m + RSP_SHA256_LEN, tid->b, tid->len);
        rc = rsp_sha256(m, RSP_SHA256_LEN + tid->len, out);
    }
    rsp_memzero(m, sizeof m);
    return rc;
}
