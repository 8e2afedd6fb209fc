/* SAIP profile package reader (PEDefinitions, "eUICC Profile Package: Interoperable Format
 * Technical Specification"). Tags follow from AUTOMATIC TAGS: component n of a SEQUENCE or
 * alternative n of a CHOICE is [n], constructed when its type is. */
#include <string.h>

#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/saip.h"
#include "saip_int.h"

static const char *const pe_names[RSP_SAIP_PE_NTYPES] = {
    [RSP_SAIP_PE_HEADER] = "header",
    [RSP_SAIP_PE_GENERIC_FILE_MANAGEMENT] = "genericFileManagement",
    [RSP_SAIP_PE_PIN_CODES] = "pinCodes",
    [RSP_SAIP_PE_PUK_CODES] = "pukCodes",
    [RSP_SAIP_PE_AKA_PARAMETER] = "akaParameter",
    [RSP_SAIP_PE_CDMA_PARAMETER] = "cdmaParameter",
    [RSP_SAIP_PE_SECURITY_DOMAIN] = "securityDomain",
    [RSP_SAIP_PE_RFM] = "rfm",
    [RSP_SAIP_PE_APPLICATION] = "application",
    [RSP_SAIP_PE_NON_STANDARD] = "nonStandard",
    [RSP_SAIP_PE_END] = "end",
    [11] = "rfu1",
    [12] = "rfu2",
    [13] = "rfu3",
    [14] = "rfu4",
    [15] = "rfu5",
    [RSP_SAIP_PE_MF] = "mf",
    [RSP_SAIP_PE_CD] = "cd",
    [RSP_SAIP_PE_TELECOM] = "telecom",
    [RSP_SAIP_PE_USIM] = "usim",
    [RSP_SAIP_PE_OPT_USIM] = "opt-usim",
    [RSP_SAIP_PE_ISIM] = "isim",
    [RSP_SAIP_PE_OPT_ISIM] = "opt-isim",
    [RSP_SAIP_PE_PHONEBOOK] = "phonebook",
    [RSP_SAIP_PE_GSM_ACCESS] = "gsm-access",
    [RSP_SAIP_PE_CSIM] = "csim",
    [RSP_SAIP_PE_OPT_CSIM] = "opt-csim",
    [RSP_SAIP_PE_EAP] = "eap",
    [RSP_SAIP_PE_DF_5GS] = "df-5gs",
    [RSP_SAIP_PE_DF_SAIP] = "df-saip",
    [RSP_SAIP_PE_DF_SNPN] = "df-snpn",
    [RSP_SAIP_PE_DF_5GPROSE] = "df-5gprose",
    [RSP_SAIP_PE_IOT] = "iot",
    [RSP_SAIP_PE_OPT_IOT] = "opt-iot",
    [RSP_SAIP_PE_UNKNOWN] = "unknown",
};

const char *rsp_saip_pe_name(enum rsp_saip_pe_type t)
{
    if ((unsigned)t >= RSP_SAIP_PE_NTYPES)
        return "unknown";
    return pe_names[t];
}

/* ServicesList component identifiers, in order. */
static const char *const svc_names[RSP_SAIP_SVC_KNOWN] = {
    "contactless",
    "usim",
    "isim",
    "csim",
    "milenage",
    "tuak128",
    "cave",
    "gba-usim",
    "gba-isim",
    "mbms",
    "eap",
    "javacard",
    "multos",
    "multiple-usim",
    "multiple-isim",
    "multiple-csim",
    "tuak256",
    "usim-test-algorithm",
    "ber-tlv",
    "dfLink",
    "cat-tp",
    "get-identity",
    "profile-a-x25519",
    "profile-b-p256",
    "suciCalculatorApi",
    "dns-resolution",
    "scp11ac",
    "scp11c-authorization-mechanism",
    "s16mode",
    "eaka",
};

const char *rsp_saip_service_name(unsigned n)
{
    return n < RSP_SAIP_SVC_KNOWN ? svc_names[n] : NULL;
}

/* Number of a context-specific tag ([n]); -1 for another class or a number above 2^21. */
static long ctx_number(rsp_tag tag)
{
    size_t sz = rsp_tag_size(tag);
    uint8_t lead = (uint8_t)(tag >> (8 * (sz - 1)));
    if ((lead & 0xC0) != 0x80)
        return -1;
    if (sz == 1)
        return lead & 0x1F;
    long n = 0;
    for (size_t i = sz - 1; i-- > 0;)
        n = n << 7 | (long)((tag >> (8 * i)) & 0x7F);
    return n;
}

void rsp_saip_pe_iter_init(struct rsp_saip_pe_iter *it, const uint8_t *upp, size_t len)
{
    rsp_der_iter_init(&it->it, upp, len);
    it->index = 0;
}

/* PEHeader ::= SEQUENCE { mandated NULL OPTIONAL, identification UInt15 } */
static int parse_pe_header(const struct rsp_tlv *pe, struct rsp_saip_pe *out)
{
    struct rsp_der_iter it, h;
    struct rsp_tlv hdr, t;
    uint64_t v;
    int rc;
    rsp_der_iter_value(&it, pe);
    if ((rc = rsp_der_req(&it, 0xA0, &hdr)))
        return rc;
    rsp_der_iter_value(&h, &hdr);
    if ((rc = rsp_der_opt(&h, 0x80, &t)) < 0)
        return rc;
    if (rc == 1 && t.len != 0)
        return RSP_EBADLEN;
    out->mandated = rc == 1;
    if ((rc = rsp_der_req(&h, 0x81, &t)) || (rc = rsp_der_get_uint(&t, &v)))
        return rc;
    if (v > 32767)
        return RSP_ERANGE;
    out->identification = (uint16_t)v;
    out->has_pe_header = true;
    return rsp_der_finish(&h);
}

int rsp_saip_pe_next(struct rsp_saip_pe_iter *it, struct rsp_saip_pe *out)
{
    struct rsp_tlv t;
    int rc = rsp_der_next(&it->it, &t);
    if (rc <= 0)
        return rc;
    /* ProfileElement ::= CHOICE: every alternative is a SEQUENCE, so [n] constructed. */
    long n = ctx_number(t.tag);
    if (n < 0 || !rsp_tag_constructed(t.tag))
        return RSP_EUNEXPECTED;
    if ((rc = rsp_der_validate(t.val, t.len, RSP_DER_MAX_DEPTH)))
        return rc;
    memset(out, 0, sizeof *out);
    out->tlv = t;
    out->index = it->index++;
    if (n >= RSP_SAIP_PE_UNKNOWN || (n >= 11 && n <= 15))
        out->type = RSP_SAIP_PE_UNKNOWN;
    else
        out->type = (enum rsp_saip_pe_type)n;
    if (out->type != RSP_SAIP_PE_HEADER && out->type != RSP_SAIP_PE_UNKNOWN) {
        if ((rc = parse_pe_header(&t, out)))
            return rc;
    }
    return 1;
}

/* ---- ProfileHeader ---- */

static int parse_uint8(const struct rsp_tlv *t, uint8_t *out)
{
    uint64_t v;
    int rc = rsp_der_get_uint(t, &v);
    if (rc)
        return rc;
    if (v > 255)
        return RSP_ERANGE;
    *out = (uint8_t)v;
    return 0;
}

/* iccid OCTET STRING (SIZE(10)): the digits in the order they are written, F-padded. */
static int iccid_digits(const uint8_t h[10], char out[21])
{
    size_t n = 0;
    bool pad = false;
    for (size_t i = 0; i < 20; i++) {
        uint8_t d = (uint8_t)((h[i / 2] >> (i % 2 ? 0 : 4)) & 0x0F);
        if (d == 0x0F) {
            pad = true;
            continue;
        }
        if (d > 9 || pad)
            return RSP_ESYNTAX;
        out[n++] = (char)('0' + d);
    }
    out[n] = '\0';
    return n ? 0 : RSP_ESYNTAX;
}

/* ProfileHeader ::= SEQUENCE { major-version UInt8, minor-version UInt8, profileType UTF8String
 * (SIZE(1..100)) OPTIONAL, iccid OCTET STRING (SIZE(10)), pol OCTET STRING OPTIONAL,
 * eUICC-Mandatory-services ServicesList, eUICC-Mandatory-GFSTEList SEQUENCE OF OBJECT IDENTIFIER,
 * ... (connectivityParameters, eUICC-Mandatory-AIDs, iotOptions: skipped) } */
static int parse_header(const struct rsp_tlv *pe, struct rsp_saip_info *out)
{
    struct rsp_der_iter it, sub;
    struct rsp_tlv t;
    int rc;
    rsp_der_iter_value(&it, pe);
    if ((rc = rsp_der_req(&it, 0x80, &t)) || (rc = parse_uint8(&t, &out->major)))
        return rc;
    if ((rc = rsp_der_req(&it, 0x81, &t)) || (rc = parse_uint8(&t, &out->minor)))
        return rc;
    if ((rc = rsp_der_opt(&it, 0x82, &t)) < 0)
        return rc;
    if (rc == 1) {
        if (t.len < 1 || t.len > 100)
            return RSP_ERANGE;
        out->profile_type = (const char *)t.val;
        out->profile_type_len = t.len;
    }
    if ((rc = rsp_der_req(&it, 0x83, &t)))
        return rc;
    if (t.len != 10)
        return RSP_ERANGE;
    memcpy(out->iccid_header, t.val, 10);
    saip_bcd_swap(out->iccid, t.val, 10);
    if ((rc = iccid_digits(t.val, out->iccid_str)))
        return rc;
    if ((rc = rsp_der_opt(&it, 0x84, &t)) < 0)
        return rc;
    /* ServicesList: every component is NULL OPTIONAL, [n] primitive. */
    if ((rc = rsp_der_req(&it, 0xA5, &t)))
        return rc;
    rsp_der_iter_value(&sub, &t);
    while ((rc = rsp_der_next(&sub, &t)) == 1) {
        long n = ctx_number(t.tag);
        if (n < 0 || rsp_tag_constructed(t.tag))
            return RSP_EUNEXPECTED;
        if (t.len != 0)
            return RSP_EBADLEN;
        if (n < 64)
            out->services |= (uint64_t)1 << n;
    }
    if (rc < 0)
        return rc;
    if ((rc = rsp_der_req(&it, 0xA6, &t)))
        return rc;
    rsp_der_iter_value(&sub, &t);
    while ((rc = rsp_der_next(&sub, &t)) == 1) {
        char tmp[128];
        if (t.tag != 0x06)
            return RSP_EUNEXPECTED;
        if (out->n_gfste >= RSP_SAIP_MAX_GFSTE)
            return RSP_ERANGE;
        if ((rc = rsp_oid_to_str(t.val, t.len, tmp, sizeof tmp)))
            return rc;
        out->gfste[out->n_gfste].val = t.val;
        out->gfste[out->n_gfste].len = t.len;
        out->n_gfste++;
    }
    if (rc < 0)
        return rc;
    return rsp_der_finish(&it);
}

/* ---- File contents ----
 * File ::= SEQUENCE OF CHOICE { doNotCreate NULL, fileDescriptor Fcp, fillFileOffset UInt16,
 * fillFileContent OCTET STRING }: the content is written from the current position, which
 * fillFileOffset moves forward relative to the end of the previous write. The initial content comes
 * from the template or from Fcp.proprietaryEFInfo (fillPattern [PRIVATE 1] / repeatPattern
 * [PRIVATE 2], ETSI TS 102 222 coding). Only the first SIM_WIN bytes are kept: enough for EF.IMSI
 * and EF.SPN. */
#define SIM_WIN 32
struct efsim {
    uint8_t d[SIM_WIN];
    bool w[SIM_WIN]; /* byte known */
    size_t size;     /* file size (template default or efFileSize) */
};

static void sim_pattern(struct efsim *s, const struct rsp_tlv *pat, bool repeat)
{
    if (pat->len == 0)
        return;
    for (size_t i = 0; i < s->size && i < SIM_WIN; i++) {
        if (i < pat->len)
            s->d[i] = pat->val[i];
        else
            s->d[i] = repeat ? pat->val[i % pat->len] : pat->val[pat->len - 1];
        s->w[i] = true;
    }
}

/* Fcp ::= SEQUENCE { ..., efFileSize [0] OCTET STRING OPTIONAL, ..., proprietaryEFInfo [5]
 * ProprietaryInfo OPTIONAL, ... } */
static int sim_fcp(struct efsim *s, const struct rsp_tlv *fcp)
{
    struct rsp_der_iter it, pi;
    struct rsp_tlv t, p;
    int rc;
    rsp_der_iter_value(&it, fcp);
    while ((rc = rsp_der_next(&it, &t)) == 1) {
        if (t.tag == 0x80) {
            if (t.len == 0 || t.len > 4)
                return RSP_ERANGE;
            size_t v = 0;
            for (size_t i = 0; i < t.len; i++)
                v = v << 8 | t.val[i];
            s->size = v;
        } else if (t.tag == 0xA5) {
            rsp_der_iter_value(&pi, &t);
            while ((rc = rsp_der_next(&pi, &p)) == 1) {
                if (p.tag == 0xC1)
                    sim_pattern(s, &p, false);
                else if (p.tag == 0xC2)
                    sim_pattern(s, &p, true);
            }
            if (rc < 0)
                return rc;
        }
    }
    return rc;
}

static int sim_file(struct efsim *s, const struct rsp_tlv *file, size_t default_size)
{
    struct rsp_der_iter it;
    struct rsp_tlv t;
    size_t pos = 0;
    uint64_t off;
    int rc;
    memset(s, 0, sizeof *s);
    s->size = default_size;
    rsp_der_iter_value(&it, file);
    while ((rc = rsp_der_next(&it, &t)) == 1) {
        switch (t.tag) {
        case 0x80: /* doNotCreate */
            memset(s->w, 0, sizeof s->w);
            return 0;
        case 0xA1: /* fileDescriptor */
            if ((rc = sim_fcp(s, &t)))
                return rc;
            break;
        case 0x82: /* fillFileOffset UInt16 */
            if ((rc = rsp_der_get_uint(&t, &off)))
                return rc;
            if (off > 65535 || pos > s->size || off > s->size - pos)
                return RSP_ERANGE;
            pos += (size_t)off;
            break;
        case 0x83: /* fillFileContent */
            if (pos > s->size || t.len > s->size - pos)
                return RSP_ERANGE; /* content beyond the end of the file */
            for (size_t i = 0; i < t.len && pos + i < SIM_WIN; i++) {
                s->d[pos + i] = t.val[i];
                s->w[pos + i] = true;
            }
            pos += t.len;
            break;
        default: /* an extension alternative */
            break;
        }
    }
    return rc;
}

/* EF.IMSI (3GPP TS 31.102 §4.2.2): length of the IMSI in bytes, then BCD digits, low nibble
 * first, the first low nibble being the parity/type nibble (b4 = odd number of digits, b3..b1 =
 * 001). */
static enum rsp_saip_value_state decode_imsi(const struct efsim *s, char out[16])
{
    if (!s->w[0])
        return RSP_SAIP_ABSENT;
    size_t l = s->d[0];
    if (l < 1 || l > 8)
        return RSP_SAIP_MALFORMED;
    for (size_t i = 1; i <= l; i++)
        if (!s->w[i])
            return RSP_SAIP_MALFORMED;
    if ((s->d[1] & 0x07) != 0x01)
        return RSP_SAIP_MALFORMED;
    bool odd = (s->d[1] & 0x08) != 0;
    size_t n = 0;
    for (size_t i = 1; i < 2 * l; i++) {
        uint8_t b = s->d[1 + i / 2];
        uint8_t d = (uint8_t)(i % 2 ? b >> 4 : b & 0x0F);
        if (d == 0x0F && i == 2 * l - 1 && !odd)
            break;
        if (d > 9)
            return RSP_SAIP_MALFORMED;
        out[n++] = (char)('0' + d);
    }
    out[n] = '\0';
    if ((n % 2 == 1) != odd || n < 6)
        return RSP_SAIP_MALFORMED;
    return RSP_SAIP_PRESENT;
}

/* EF.SPN (3GPP TS 31.102 §4.2.12): display condition, then 16 bytes of name in the SMS default
 * alphabet (unpacked, 3GPP TS 23.038) padded with FF. UCS2-coded names are not decoded. */
static enum rsp_saip_value_state decode_spn(const struct efsim *s, uint8_t *disp, char *out,
                                            size_t outlen)
{
    if (!s->w[0])
        return RSP_SAIP_ABSENT;
    *disp = s->d[0];
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 1; i < 17 && i < s->size; i++) {
        if (!s->w[i])
            return RSP_SAIP_MALFORMED;
        if (s->d[i] == 0xFF)
            break;
        const char *u = saip_gsm7_to_utf8(s->d[i]);
        if (!u)
            return RSP_SAIP_MALFORMED;
        size_t ul = strlen(u);
        if (o + ul >= outlen)
            return RSP_SAIP_MALFORMED;
        memcpy(out + o, u, ul);
        o += ul;
        out[o] = '\0';
    }
    return RSP_SAIP_PRESENT;
}

/* PE-USIM ::= SEQUENCE { usim-header PEHeader [0], templateID [1], adf-usim [2], ef-imsi [3],
 * ef-arr [4], ..., ef-spn [13], ... }. Template sizes: EF.IMSI 9 bytes, EF.SPN 17 bytes. */
static int parse_usim(const struct rsp_tlv *pe, struct rsp_saip_info *out)
{
    struct rsp_der_iter it;
    struct rsp_tlv t;
    struct efsim s;
    int rc;
    rsp_der_iter_value(&it, pe);
    while ((rc = rsp_der_next(&it, &t)) == 1) {
        if (t.tag == 0xA3) {
            if ((rc = sim_file(&s, &t, 9)))
                return rc;
            out->imsi_state = decode_imsi(&s, out->imsi);
            if (out->imsi_state != RSP_SAIP_PRESENT)
                out->imsi[0] = '\0';
        } else if (t.tag == 0xAD) {
            if ((rc = sim_file(&s, &t, 17)))
                return rc;
            out->spn_state = decode_spn(&s, &out->spn_display, out->spn, sizeof out->spn);
            if (out->spn_state != RSP_SAIP_PRESENT)
                out->spn[0] = '\0';
        }
    }
    return rc;
}

int rsp_saip_parse(const uint8_t *upp, size_t len, struct rsp_saip_info *out)
{
    struct rsp_saip_pe_iter it;
    struct rsp_saip_pe pe;
    bool usim_seen = false;
    int rc;
    if (!out || (!upp && len))
        return RSP_EINVAL;
    memset(out, 0, sizeof *out);
    rsp_saip_pe_iter_init(&it, upp, len);
    while ((rc = rsp_saip_pe_next(&it, &pe)) == 1) {
        if (pe.index == 0 && pe.type != RSP_SAIP_PE_HEADER)
            return RSP_EMISSING; /* the ProfileHeader must come first */
        if (pe.index != 0 && pe.type == RSP_SAIP_PE_HEADER)
            return RSP_EUNEXPECTED;
        if (out->n_pes >= RSP_SAIP_MAX_PES)
            return RSP_ERANGE;
        out->n_pes++;
        out->pe_count[pe.type]++;
        if (pe.type == RSP_SAIP_PE_HEADER) {
            if ((rc = parse_header(&pe.tlv, out)))
                return rc;
        } else if (pe.type == RSP_SAIP_PE_USIM && !usim_seen) {
            usim_seen = true;
            if ((rc = parse_usim(&pe.tlv, out)))
                return rc;
        } else if (pe.type == RSP_SAIP_PE_END) {
            /* PE-End closes the package: nothing may follow. */
            return rsp_der_iter_done(&it.it) ? 0 : RSP_ETRAILING;
        }
    }
    if (rc < 0)
        return rc;
    return RSP_EMISSING; /* empty input or no `end` */
}
