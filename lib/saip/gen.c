/* SAIP profile package generator: a small but complete package built from parameters, so that the
 * project has test profiles of its own. Structure and tags follow PEDefinitions (AUTOMATIC TAGS);
 * template OIDs are those of the SAIP file system templates (2.23.143.1.2.n). */
#include <string.h>

#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/saip.h"
#include "saip_int.h"

#define OID_TEMPLATE_MF   "2.23.143.1.2.1"
#define OID_TEMPLATE_USIM "2.23.143.1.2.4"
#define OID_TEMPLATE_ISIM "2.23.143.1.2.8"

/* AIDs: RID A000000087 (3GPP), application code 1002 (USIM) / 1004 (ISIM). */
static const uint8_t aid_usim[16] = {0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02, 0xFF,
                                     0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00};
static const uint8_t aid_isim[16] = {0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x04, 0xFF,
                                     0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00};
/* GlobalPlatform ISD / MNO-SD AIDs. */
static const uint8_t aid_sd_pkg[7] = {0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50};
static const uint8_t aid_sd_class[8] = {0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50, 0x41};
static const uint8_t aid_mno_sd[8] = {0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00};

/* Access rules (EF.ARR records, ETSI TS 102 221 §9.2.4 expanded format):
 * 1: read always, update/activate/deactivate ADM1;
 * 2: read and update with PIN (global PIN1 in the MF, local PIN in an ADF), others ADM1. */
static const uint8_t arr_rule1[] = {0x80, 0x01, 0x01, 0x90, 0x00, 0x80, 0x01, 0x5A,
                                    0xA4, 0x06, 0x83, 0x01, 0x0A, 0x95, 0x01, 0x08};
static const uint8_t arr_rule2_mf[] = {0x80, 0x01, 0x03, 0xA4, 0x06, 0x83, 0x01, 0x01,
                                       0x95, 0x01, 0x08, 0x80, 0x01, 0x58, 0xA4, 0x06,
                                       0x83, 0x01, 0x0A, 0x95, 0x01, 0x08};
static const uint8_t arr_rule2_adf[] = {0x80, 0x01, 0x03, 0xA4, 0x06, 0x83, 0x01, 0x81,
                                        0x95, 0x01, 0x08, 0x80, 0x01, 0x58, 0xA4, 0x06,
                                        0x83, 0x01, 0x0A, 0x95, 0x01, 0x08};

#define REC_LEN 0x20 /* record length of the generated linear fixed files */

struct gen {
    struct rsp_buf *b;
    uint16_t next_id;
};

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* PEHeader ::= SEQUENCE { mandated NULL OPTIONAL, identification UInt15 }, as [0]. */
static void pe_header(struct gen *g)
{
    size_t m = rsp_der_begin(g->b, 0xA0);
    rsp_der_put(g->b, 0x80, NULL, 0);
    rsp_der_put_uint(g->b, 0x81, g->next_id++);
    rsp_der_end(g->b, m);
}

/* A File with a single fillFileContent. */
static void file_content(struct rsp_buf *b, rsp_tag tag, const uint8_t *c, size_t n)
{
    size_t m = rsp_der_begin(b, tag);
    rsp_der_put(b, 0x83, c, n);
    rsp_der_end(b, m);
}

/* Linear fixed file with nrec REC_LEN-byte records (FF-padded) under fid with ARR record arr:
 * Fcp { fileDescriptor [2], fileID [3], securityAttributesReferenced [11], efFileSize [0] } and
 * the whole content in one fillFileContent. */
static void file_records(struct rsp_buf *b, rsp_tag tag, uint16_t fid, uint8_t arr,
                         const uint8_t *const *recs, const size_t *lens, size_t nrec)
{
    const uint8_t fd[4] = {0x42, 0x21, 0x00, REC_LEN};
    const uint8_t fidb[2] = {(uint8_t)(fid >> 8), (uint8_t)fid};
    const uint8_t sa[1] = {arr};
    size_t total = nrec * REC_LEN;
    const uint8_t fsz[2] = {(uint8_t)(total >> 8), (uint8_t)total};
    size_t m = rsp_der_begin(b, tag);
    size_t f = rsp_der_begin(b, 0xA1);
    rsp_der_put(b, 0x82, fd, sizeof fd);
    rsp_der_put(b, 0x83, fidb, sizeof fidb);
    rsp_der_put(b, 0x8B, sa, sizeof sa);
    /* efFileSize: minimal number of octets */
    if (fsz[0])
        rsp_der_put(b, 0x80, fsz, 2);
    else
        rsp_der_put(b, 0x80, fsz + 1, 1);
    rsp_der_end(b, f);
    rsp_der_put_header(b, 0x83, total);
    for (size_t i = 0; i < nrec; i++) {
        rsp_buf_append(b, recs[i], lens[i]);
        for (size_t k = lens[i]; k < REC_LEN; k++)
            rsp_buf_append_byte(b, 0xFF);
    }
    rsp_der_end(b, m);
}

/* Empty File: the template's file as it is. */
static void file_empty(struct rsp_buf *b, rsp_tag tag)
{
    rsp_der_put(b, tag, NULL, 0);
}

/* ADF: Fcp { fileID [3] (temporary), dfName [4], securityAttributesReferenced [11],
 * pinStatusTemplateDO [PRIVATE 6] (local PIN, PIN1, ADM1) }. */
static void file_adf(struct rsp_buf *b, uint16_t tmp_fid, const uint8_t aid[16])
{
    const uint8_t fidb[2] = {(uint8_t)(tmp_fid >> 8), (uint8_t)tmp_fid};
    const uint8_t sa[3] = {0x2F, 0x06, 0x01};
    const uint8_t ps[3] = {0x81, 0x01, 0x0A};
    size_t m = rsp_der_begin(b, 0xA2);
    size_t f = rsp_der_begin(b, 0xA1);
    rsp_der_put(b, 0x83, fidb, sizeof fidb);
    rsp_der_put(b, 0x84, aid, 16);
    rsp_der_put(b, 0x8B, sa, sizeof sa);
    rsp_der_put(b, 0xC6, ps, sizeof ps);
    rsp_der_end(b, f);
    rsp_der_end(b, m);
}

/* EF.DIR record: 61 L { 4F AID, 50 label }. */
static size_t dir_record(uint8_t *out, const uint8_t aid[16], const char *label)
{
    size_t ll = strlen(label);
    out[0] = 0x61;
    out[1] = (uint8_t)(2 + 16 + 2 + ll);
    out[2] = 0x4F;
    out[3] = 16;
    memcpy(out + 4, aid, 16);
    out[20] = 0x50;
    out[21] = (uint8_t)ll;
    memcpy(out + 22, label, ll);
    return 22 + ll;
}

/* header ProfileHeader (PEDefinitions §ProfileHeader). */
static void gen_header(struct gen *g, const struct rsp_saip_gen_params *p, const uint8_t hdr[10])
{
    struct rsp_buf *b = g->b;
    const char *ptype = p->profile_type ? p->profile_type : "rspkit test profile";
    size_t m = rsp_der_begin(b, 0xA0);
    rsp_der_put_uint(b, 0x80, 2);
    rsp_der_put_uint(b, 0x81, p->minor_version ? p->minor_version : 3);
    rsp_der_put(b, 0x82, ptype, strlen(ptype));
    rsp_der_put(b, 0x83, hdr, 10);
    /* eUICC-Mandatory-services: what the content needs (ServicesList order). */
    size_t s = rsp_der_begin(b, 0xA5);
    rsp_der_put(b, 0x80 | RSP_SAIP_SVC_USIM, NULL, 0);
    if (p->include_isim)
        rsp_der_put(b, 0x80 | RSP_SAIP_SVC_ISIM, NULL, 0);
    rsp_der_put(b, 0x80 | RSP_SAIP_SVC_MILENAGE, NULL, 0);
    rsp_der_end(b, s);
    /* eUICC-Mandatory-GFSTEList: the templates the PEs reference. */
    s = rsp_der_begin(b, 0xA6);
    rsp_der_put_oid(b, 0x06, OID_TEMPLATE_MF);
    rsp_der_put_oid(b, 0x06, OID_TEMPLATE_USIM);
    if (p->include_isim)
        rsp_der_put_oid(b, 0x06, OID_TEMPLATE_ISIM);
    rsp_der_end(b, s);
    rsp_der_end(b, m);
}

/* mf PE-MF { mf-header, templateID, mf, ef-iccid [4], ef-dir [5], ef-arr [6] }. */
static void gen_mf(struct gen *g, const struct rsp_saip_gen_params *p, const uint8_t ef_iccid[10])
{
    struct rsp_buf *b = g->b;
    uint8_t r_usim[REC_LEN], r_isim[REC_LEN];
    const uint8_t *recs[2] = {r_usim, r_isim};
    size_t lens[2];
    size_t m = rsp_der_begin(b, 0xB0);
    pe_header(g);
    rsp_der_put_oid(b, 0x81, OID_TEMPLATE_MF);
    /* mf: the MF with PIN1 and ADM1 as its key references */
    size_t f = rsp_der_begin(b, 0xA2);
    size_t fcp = rsp_der_begin(b, 0xA1);
    static const uint8_t sa[3] = {0x2F, 0x06, 0x01};
    static const uint8_t ps[2] = {0x01, 0x0A};
    rsp_der_put(b, 0x8B, sa, sizeof sa);
    rsp_der_put(b, 0xC6, ps, sizeof ps);
    rsp_der_end(b, fcp);
    rsp_der_end(b, f);
    file_content(b, 0xA4, ef_iccid, 10);
    lens[0] = dir_record(r_usim, aid_usim, "USIM");
    lens[1] = dir_record(r_isim, aid_isim, "ISIM");
    file_records(b, 0xA5, 0x2F00, 0x01, recs, lens, p->include_isim ? 2 : 1);
    const uint8_t *arr[2] = {arr_rule1, arr_rule2_mf};
    size_t arr_len[2] = {sizeof arr_rule1, sizeof arr_rule2_mf};
    file_records(b, 0xA6, 0x2F06, 0x01, arr, arr_len, 2);
    rsp_der_end(b, m);
}

/* PIN/PUK values: OCTET STRING (SIZE(8)), ASCII digits padded with FF. */
static void pad8(uint8_t out[8], const char *s)
{
    size_t n = strlen(s);
    memset(out, 0xFF, 8);
    memcpy(out, s, n);
}

/* pukCodes PE-PUKCodes { puk-Header, pukCodes [1] SEQUENCE OF PUKConfiguration } with PUK 1
 * (pukAppl1) and 129 (secondPUKAppl1); maxNumOfAttemps-retryNumLeft left at its DEFAULT. */
static void gen_puk(struct gen *g, const char *puk)
{
    struct rsp_buf *b = g->b;
    uint8_t v[8];
    pad8(v, puk);
    size_t m = rsp_der_begin(b, 0xA3);
    pe_header(g);
    size_t l = rsp_der_begin(b, 0xA1);
    static const unsigned refs[2] = {1, 129};
    for (size_t i = 0; i < 2; i++) {
        size_t c = rsp_der_begin(b, 0x30);
        rsp_der_put_uint(b, 0x80, refs[i]);
        rsp_der_put(b, 0x81, v, 8);
        rsp_der_end(b, c);
    }
    rsp_der_end(b, l);
    rsp_der_end(b, m);
}

/* pinCodes PE-PINCodes { pin-Header, pinCodes [1] CHOICE { pinconfig [0] SEQUENCE OF
 * PINConfiguration } }. Global (MF): PIN1 (unblocked by PUK 1) and ADM1; local (ADF): PIN 129
 * (secondPINAppl1, unblocked by PUK 129). pinAttributes 6 (not DEFAULT 7, so encoded). */
static void gen_pin(struct gen *g, const char *pin, const char *adm, bool global)
{
    struct rsp_buf *b = g->b;
    uint8_t v[8];
    size_t m = rsp_der_begin(b, 0xA2);
    pe_header(g);
    size_t ch = rsp_der_begin(b, 0xA1);
    size_t l = rsp_der_begin(b, 0xA0);
    size_t c = rsp_der_begin(b, 0x30);
    pad8(v, pin);
    rsp_der_put_uint(b, 0x80, global ? 1 : 129);
    rsp_der_put(b, 0x81, v, 8);
    rsp_der_put_uint(b, 0x82, global ? 1 : 129);
    rsp_der_put_uint(b, 0x83, 6);
    rsp_der_end(b, c);
    if (global) {
        c = rsp_der_begin(b, 0x30);
        pad8(v, adm);
        rsp_der_put_uint(b, 0x80, 10); /* adm1 */
        rsp_der_put(b, 0x81, v, 8);
        rsp_der_put_uint(b, 0x83, 3);
        rsp_der_end(b, c);
    }
    rsp_der_end(b, l);
    rsp_der_end(b, ch);
    rsp_der_end(b, m);
}

/* EF.IMSI content (3GPP TS 31.102 §4.2.2). */
static void imsi_ef(const char *imsi, uint8_t out[9])
{
    size_t n = strlen(imsi);
    memset(out, 0xFF, 9);
    out[0] = (uint8_t)((n + 2) / 2); /* parity nibble + n digits, in bytes */
    /* nibble stream: parity/type, d1, d2, ...; low nibble first in each byte */
    for (size_t i = 0; i <= n; i++) {
        uint8_t nib =
            i == 0 ? (uint8_t)(0x01 | (n % 2 ? 0x08 : 0x00)) : (uint8_t)(imsi[i - 1] - '0');
        uint8_t *byte = &out[1 + i / 2];
        if (i % 2 == 0)
            *byte = (uint8_t)((*byte & 0xF0) | nib);
        else
            *byte = (uint8_t)((*byte & 0x0F) | (nib << 4));
    }
}

/* usim PE-USIM { usim-header, templateID, adf-usim [2], ef-imsi [3], ef-arr [4], ef-ust [8],
 * ef-spn [13], ef-est [14], ef-acc [18], ef-ad [21], ef-ecc [22] }. */
static void gen_usim(struct gen *g, const struct rsp_saip_gen_params *p)
{
    struct rsp_buf *b = g->b;
    uint8_t imsi[9], spn[17], acc[2], ad[4];
    size_t m = rsp_der_begin(b, 0xB3);
    pe_header(g);
    rsp_der_put_oid(b, 0x81, OID_TEMPLATE_USIM);
    file_adf(b, 0x7FD0, aid_usim);
    imsi_ef(p->imsi, imsi);
    file_content(b, 0xA3, imsi, sizeof imsi);
    const uint8_t *arr[2] = {arr_rule1, arr_rule2_adf};
    size_t arr_len[2] = {sizeof arr_rule1, sizeof arr_rule2_adf};
    file_records(b, 0xA4, 0x6F06, 0x01, arr, arr_len, 2);
    /* EF.UST: services 19 (SPN) and 27 (GSM access); TS 31.102 §4.2.8, bit (n-1)%8 of byte
     * (n-1)/8. */
    static const uint8_t ust[4] = {0x00, 0x00, 0x04, 0x04};
    file_content(b, 0xA8, ust, sizeof ust);
    memset(spn, 0xFF, sizeof spn);
    spn[0] = 0x01; /* display condition */
    for (size_t i = 0; p->spn[i]; i++)
        spn[1 + i] = (uint8_t)saip_gsm7_from_ascii(p->spn[i]);
    file_content(b, 0xAD, spn, sizeof spn);
    file_empty(b, 0xAE);
    /* EF.ACC: access class = last IMSI digit (TS 31.102 §4.2.15). */
    unsigned cls = (unsigned)(p->imsi[strlen(p->imsi) - 1] - '0');
    acc[0] = (uint8_t)((1u << cls) >> 8);
    acc[1] = (uint8_t)(1u << cls);
    file_content(b, 0xB2, acc, sizeof acc);
    /* EF.AD: normal operation, length of MNC in the IMSI (TS 31.102 §4.2.18). */
    ad[0] = 0x00;
    ad[1] = 0x00;
    ad[2] = 0x00;
    ad[3] = p->mnc_len ? p->mnc_len : 2;
    file_content(b, 0xB5, ad, sizeof ad);
    file_empty(b, 0xB6);
    rsp_der_end(b, m);
}

/* akaParameter PE-AKAParameter { aka-header, algoConfiguration [1] CHOICE { algoParameter [1]
 * AlgoParameter { algorithmID milenage(1), algorithmOptions, key, opc } } }; the Milenage
 * constants and the SQN parameters keep their DEFAULT values, hence are absent. */
static void gen_aka(struct gen *g, const struct rsp_saip_gen_params *p)
{
    struct rsp_buf *b = g->b;
    static const uint8_t opts = 0x00;
    size_t m = rsp_der_begin(b, 0xA4);
    pe_header(g);
    size_t c = rsp_der_begin(b, 0xA1);
    size_t a = rsp_der_begin(b, 0xA1);
    rsp_der_put_uint(b, 0x80, 1);
    rsp_der_put(b, 0x81, &opts, 1);
    rsp_der_put(b, 0x82, p->ki, 16);
    rsp_der_put(b, 0x83, p->opc, 16);
    rsp_der_end(b, a);
    rsp_der_end(b, c);
    rsp_der_end(b, m);
}

/* A 3GPP TS 31.103 NAI data object: 80 L value. */
static void nai_file(struct rsp_buf *b, rsp_tag tag, const char *s1, const char *s2)
{
    size_t n1 = strlen(s1), n2 = strlen(s2);
    size_t total = 2 + n1 + n2;
    const uint8_t fsz = (uint8_t)total;
    size_t m = rsp_der_begin(b, tag);
    size_t f = rsp_der_begin(b, 0xA1);
    rsp_der_put(b, 0x80, &fsz, 1);
    rsp_der_end(b, f);
    rsp_der_put_header(b, 0x83, total);
    rsp_buf_append_byte(b, 0x80);
    rsp_buf_append_byte(b, (uint8_t)(n1 + n2));
    rsp_buf_append(b, s1, n1);
    rsp_buf_append(b, s2, n2);
    rsp_der_end(b, m);
}

/* isim PE-ISIM { isim-header, templateID, adf-isim [2], ef-impi [3], ef-impu [4], ef-domain [5],
 * ef-ist [6], ef-arr [8] }. */
static void gen_isim(struct gen *g, const struct rsp_saip_gen_params *p)
{
    struct rsp_buf *b = g->b;
    char domain[64], impi[96];
    size_t ml = p->mnc_len ? p->mnc_len : 2;
    /* ims.mnc<MNC, 3 digits>.mcc<MCC>.3gppnetwork.org (3GPP TS 23.003 §13.2) */
    memcpy(domain, "ims.mnc", 7);
    size_t o = 7;
    if (ml == 2)
        domain[o++] = '0';
    memcpy(domain + o, p->imsi + 3, ml);
    o += ml;
    memcpy(domain + o, ".mcc", 4);
    o += 4;
    memcpy(domain + o, p->imsi, 3);
    o += 3;
    memcpy(domain + o, ".3gppnetwork.org", 17);
    size_t il = strlen(p->imsi);
    memcpy(impi, p->imsi, il);
    impi[il] = '@';
    memcpy(impi + il + 1, domain, strlen(domain) + 1);

    size_t m = rsp_der_begin(b, 0xB5);
    pe_header(g);
    rsp_der_put_oid(b, 0x81, OID_TEMPLATE_ISIM);
    file_adf(b, 0x7FE0, aid_isim);
    nai_file(b, 0xA3, impi, "");
    nai_file(b, 0xA4, "sip:", impi);
    nai_file(b, 0xA5, domain, "");
    static const uint8_t ist[1] = {0x00};
    file_content(b, 0xA6, ist, sizeof ist);
    file_empty(b, 0xA8);
    rsp_der_end(b, m);
}

/* securityDomain PE-SecurityDomain { sd-Header, instance [1] ApplicationInstance } for the MNO-SD
 * (keys are out of scope for the test profiles). */
static void gen_sd(struct gen *g)
{
    struct rsp_buf *b = g->b;
    static const uint8_t priv[3] = {0x82, 0xDC, 0x00};
    static const uint8_t lcs[1] = {0x0F};
    static const uint8_t c9[4] = {0x81, 0x02, 0x80, 0x00};
    size_t m = rsp_der_begin(b, 0xA6);
    pe_header(g);
    size_t i = rsp_der_begin(b, 0xA1);
    rsp_der_put(b, 0x4F, aid_sd_pkg, sizeof aid_sd_pkg);
    rsp_der_put(b, 0x4F, aid_sd_class, sizeof aid_sd_class);
    rsp_der_put(b, 0x4F, aid_mno_sd, sizeof aid_mno_sd);
    rsp_der_put(b, 0x82, priv, sizeof priv);
    rsp_der_put(b, 0x83, lcs, sizeof lcs);
    rsp_der_put(b, 0xC9, c9, sizeof c9);
    rsp_der_end(b, i);
    rsp_der_end(b, m);
}

static int check_params(const struct rsp_saip_gen_params *p, uint8_t hdr[10])
{
    if (!p || !p->iccid || !p->imsi || !p->spn)
        return RSP_EINVAL;
    size_t n = strlen(p->iccid);
    size_t digits = n;
    if (n == 20 && (p->iccid[19] == 'F' || p->iccid[19] == 'f'))
        digits = 19;
    if (digits < 18 || n > 20 || !all_digits(p->iccid, digits))
        return RSP_ESYNTAX;
    memset(hdr, 0xFF, 10);
    for (size_t i = 0; i < digits; i++) {
        uint8_t d = (uint8_t)(p->iccid[i] - '0');
        if (i % 2 == 0)
            hdr[i / 2] = (uint8_t)((d << 4) | 0x0F);
        else
            hdr[i / 2] = (uint8_t)((hdr[i / 2] & 0xF0) | d);
    }
    n = strlen(p->imsi);
    if (n < 6 || n > 15 || !all_digits(p->imsi, n))
        return RSP_ESYNTAX;
    n = strlen(p->spn);
    if (n > 16)
        return RSP_ERANGE;
    for (size_t i = 0; i < n; i++)
        if (saip_gsm7_from_ascii(p->spn[i]) < 0)
            return RSP_ESYNTAX;
    if (p->profile_type && (strlen(p->profile_type) < 1 || strlen(p->profile_type) > 100))
        return RSP_ERANGE;
    if (p->minor_version != 0 && p->minor_version != 1 && p->minor_version != 3)
        return RSP_EINVAL;
    if (p->mnc_len != 0 && p->mnc_len != 2 && p->mnc_len != 3)
        return RSP_EINVAL;
    if (p->pin1 && ((n = strlen(p->pin1)) < 4 || n > 8 || !all_digits(p->pin1, n)))
        return RSP_ESYNTAX;
    if (p->puk1 && (strlen(p->puk1) != 8 || !all_digits(p->puk1, 8)))
        return RSP_ESYNTAX;
    if (p->adm1 && strlen(p->adm1) != 8)
        return RSP_ESYNTAX;
    return 0;
}

int rsp_saip_generate(const struct rsp_saip_gen_params *p, struct rsp_buf *out)
{
    uint8_t hdr[10], ef_iccid[10];
    int rc;
    if (!out)
        return RSP_EINVAL;
    if ((rc = check_params(p, hdr)))
        return rc;
    if (out->err)
        return out->err;
    saip_bcd_swap(ef_iccid, hdr, 10);
    const char *pin = p->pin1 ? p->pin1 : "0000";
    const char *puk = p->puk1 ? p->puk1 : "12345678";
    const char *adm = p->adm1 ? p->adm1 : "88888888";
    size_t start = out->len;
    struct gen g = {out, 1};

    gen_header(&g, p, hdr);
    gen_mf(&g, p, ef_iccid);
    gen_puk(&g, puk);
    gen_pin(&g, pin, adm, true);
    gen_usim(&g, p);
    gen_pin(&g, pin, adm, false);
    gen_aka(&g, p);
    if (p->include_isim) {
        gen_isim(&g, p);
        gen_pin(&g, pin, adm, false);
    }
    gen_sd(&g);
    size_t m = rsp_der_begin(out, 0xAA); /* end PE-End { end-header } */
    pe_header(&g);
    rsp_der_end(out, m);

    if (out->err) {
        rc = out->err;
        if (out->len > start)
            rsp_memzero(out->data + start, out->len - start);
        out->len = start;
        return rc;
    }
    return 0;
}
