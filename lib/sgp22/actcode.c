/* Activation Code (SGP.22 §4.1, §4.1.1): parse and format.
 *
 * Rules applied (from §4.1 unless noted):
 * - optional "LPA:" prefix (QR code form); the code after it is at most 255 characters;
 * - AC_Format must be exactly "1";
 * - the SM-DP+ address is an FQDN (labels of letters, digits and '-', separated by '.'); the spec
 *   restricts it to the QR alphanumeric set (upper case) but DNS names are case-insensitive and
 *   lower-case addresses are common, so both cases are accepted; an optional ":port" is accepted
 *   (':' is in that character set; test SM-DP+s listen on non-default ports);
 * - the MatchingID may be empty; §4.1.1 limits it to 0-9, A-Z and '-', but independent SM-DP+s
 *   hand out other tokens (lower case, '_', '.'), so any visible ASCII except '$' is accepted;
 *   rspkit's own SM-DP+ generates MatchingIDs within the §4.1.1 set;
 * - the SM-DP+ OID is empty or a dotted-decimal OID;
 * - the Confirmation Code Required Flag counts only when it is exactly "1";
 * - a delimiter and any parameters after the flag are ignored (§4.1: "Phase 1 Device" rule);
 * - no whitespace trimming: the spec defines none, and none of the allowed characters is a space.
 */
#include "rsp/sgp22_types.h"

#include <string.h>

#include "rsp/err.h"

#define AC_MAX_LEN 255 /* §4.1 */

struct field {
    const char *p;
    size_t len;
};

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* FQDN with an optional ":port". */
static bool valid_address(const char *p, size_t n)
{
    size_t host = n;
    for (size_t i = 0; i < n; i++)
        if (p[i] == ':') {
            host = i;
            break;
        }
    if (host == 0 || host > 253)
        return false;
    if (host < n) {
        size_t plen = n - host - 1;
        if (plen < 1 || plen > 5)
            return false;
        unsigned port = 0;
        for (size_t i = host + 1; i < n; i++) {
            if (!is_digit(p[i]))
                return false;
            port = port * 10 + (unsigned)(p[i] - '0');
        }
        if (port < 1 || port > 65535 || p[host + 1] == '0')
            return false;
    }
    size_t label = 0;
    for (size_t i = 0; i <= host; i++) {
        if (i == host || p[i] == '.') {
            if (label == 0 || label > 63 || p[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!is_alnum(p[i]) && p[i] != '-')
            return false;
        if (label == 0 && p[i] == '-')
            return false;
        label++;
    }
    return true;
}

static bool valid_matching_id(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] <= ' ' || p[i] > '~' || p[i] == '$')
            return false;
    return true;
}

/* Dotted decimal OID: at least two arcs, first arc 0..2, no leading zeros, no empty arcs. */
static bool valid_oid(const char *p, size_t n)
{
    if (n == 0)
        return true;
    size_t arcs = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != '.') {
            if (!is_digit(p[i]))
                return false;
            continue;
        }
        size_t alen = i - start;
        if (alen == 0 || alen > 20 || (alen > 1 && p[start] == '0'))
            return false;
        if (arcs == 0 && (alen != 1 || p[start] > '2'))
            return false;
        arcs++;
        start = i + 1;
    }
    return arcs >= 2;
}

static bool printable(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7E)
            return false;
    return true;
}

int rsp_actcode_parse(const char *s, size_t len, struct rsp_activation_code *out)
{
    if ((!s && len) || !out)
        return RSP_EINVAL;
    if (len >= 4 && memcmp(s, "LPA:", 4) == 0) {
        s += 4;
        len -= 4;
    }
    if (len > AC_MAX_LEN || !printable(s, len))
        return RSP_ESYNTAX;

    struct field f[5];
    size_t nf = 0, start = 0;
    for (size_t i = 0; i <= len && nf < 5; i++) {
        if (i == len || s[i] == '$') {
            f[nf].p = s + start;
            f[nf].len = i - start;
            nf++;
            start = i + 1;
        }
    }
    /* Anything after a fifth '$' is ignored (§4.1). */
    if (nf < 3)
        return RSP_ESYNTAX;
    if (f[0].len != 1 || f[0].p[0] != '1')
        return RSP_ESYNTAX;
    if (!valid_address(f[1].p, f[1].len) || !valid_matching_id(f[2].p, f[2].len))
        return RSP_ESYNTAX;
    if (nf >= 4 && !valid_oid(f[3].p, f[3].len))
        return RSP_ESYNTAX;

    /* Fields are shorter than 256 since the whole code is; build aside, then publish. */
    struct rsp_activation_code ac;
    memset(&ac, 0, sizeof ac);
    memcpy(ac.smdp_address, f[1].p, f[1].len);
    memcpy(ac.matching_id, f[2].p, f[2].len);
    if (nf >= 4)
        memcpy(ac.smdp_oid, f[3].p, f[3].len);
    ac.cc_required = nf >= 5 && f[4].len == 1 && f[4].p[0] == '1';
    *out = ac;
    return 0;
}

static size_t bounded_len(const char *s)
{
    return strnlen(s, RSP_AC_FIELD_MAX + 1);
}

int rsp_actcode_format(const struct rsp_activation_code *ac, bool lpa_prefix, struct rsp_buf *out)
{
    if (!ac || !out)
        return RSP_EINVAL;
    size_t la = bounded_len(ac->smdp_address), lm = bounded_len(ac->matching_id),
           lo = bounded_len(ac->smdp_oid);
    if (la > RSP_AC_FIELD_MAX || lm > RSP_AC_FIELD_MAX || lo > RSP_AC_FIELD_MAX)
        return RSP_ESYNTAX; /* not NUL-terminated */
    if (!valid_address(ac->smdp_address, la) || !valid_matching_id(ac->matching_id, lm) ||
        !valid_oid(ac->smdp_oid, lo))
        return RSP_ESYNTAX;
    size_t total = 2 + la + 1 + lm;
    if (lo || ac->cc_required)
        total += 1 + lo;
    if (ac->cc_required)
        total += 2;
    if (total > AC_MAX_LEN)
        return RSP_ERANGE;
    if (rsp_buf_reserve(out, total + (lpa_prefix ? 4 : 0)))
        return out->err;
    if (lpa_prefix)
        rsp_buf_append(out, "LPA:", 4);
    rsp_buf_append(out, "1$", 2);
    rsp_buf_append(out, ac->smdp_address, la);
    rsp_buf_append_byte(out, '$');
    rsp_buf_append(out, ac->matching_id, lm);
    if (lo || ac->cc_required) {
        rsp_buf_append_byte(out, '$');
        rsp_buf_append(out, ac->smdp_oid, lo);
    }
    if (ac->cc_required)
        rsp_buf_append(out, "$1", 2);
    return out->err;
}
