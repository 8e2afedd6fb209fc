/* SAIP profile packages: the "eUICC Profile Package: Interoperable Format Technical
 * Specification" (SIMalliance/TCA), ASN.1 module PEDefinitions (AUTOMATIC TAGS, EXTENSIBILITY
 * IMPLIED). An unprotected profile package is a concatenation of DER ProfileElement CHOICE values:
 * a ProfileHeader first, an `end` PE last.
 *
 * Codec layer (same level as der): pure functions, no allocation in the reader, every result points
 * into the caller's input.
 */
#ifndef RSP_SAIP_H
#define RSP_SAIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/buf.h"
#include "rsp/der.h"

/* ProfileElement CHOICE alternatives. With AUTOMATIC TAGS the alternative number n is the
 * context-specific constructed tag [n] (A0 + n, BF 1F for n = 31 and beyond). */
enum rsp_saip_pe_type {
    RSP_SAIP_PE_HEADER = 0,                  /* header ProfileHeader */
    RSP_SAIP_PE_GENERIC_FILE_MANAGEMENT = 1, /* genericFileManagement */
    RSP_SAIP_PE_PIN_CODES = 2,
    RSP_SAIP_PE_PUK_CODES = 3,
    RSP_SAIP_PE_AKA_PARAMETER = 4,
    RSP_SAIP_PE_CDMA_PARAMETER = 5,
    RSP_SAIP_PE_SECURITY_DOMAIN = 6,
    RSP_SAIP_PE_RFM = 7,
    RSP_SAIP_PE_APPLICATION = 8,
    RSP_SAIP_PE_NON_STANDARD = 9,
    RSP_SAIP_PE_END = 10,
    /* 11..15: rfu1..rfu5 (PE-Dummy) */
    RSP_SAIP_PE_MF = 16,
    RSP_SAIP_PE_CD = 17,
    RSP_SAIP_PE_TELECOM = 18,
    RSP_SAIP_PE_USIM = 19,
    RSP_SAIP_PE_OPT_USIM = 20,
    RSP_SAIP_PE_ISIM = 21,
    RSP_SAIP_PE_OPT_ISIM = 22,
    RSP_SAIP_PE_PHONEBOOK = 23,
    RSP_SAIP_PE_GSM_ACCESS = 24,
    RSP_SAIP_PE_CSIM = 25,
    RSP_SAIP_PE_OPT_CSIM = 26,
    RSP_SAIP_PE_EAP = 27,
    RSP_SAIP_PE_DF_5GS = 28,
    RSP_SAIP_PE_DF_SAIP = 29,
    RSP_SAIP_PE_DF_SNPN = 30,
    RSP_SAIP_PE_DF_5GPROSE = 31,
    RSP_SAIP_PE_IOT = 32,
    RSP_SAIP_PE_OPT_IOT = 33,
    RSP_SAIP_PE_UNKNOWN = 34, /* an extension alternative this code does not know */
    RSP_SAIP_PE_NTYPES = 35
};

/* ASN.1 identifier of the alternative ("mf", "usim", "genericFileManagement", "opt-usim", ...);
 * "unknown" for RSP_SAIP_PE_UNKNOWN or out-of-range values. Never NULL. */
const char *rsp_saip_pe_name(enum rsp_saip_pe_type t);

/* One profile element as found in the package. */
struct rsp_saip_pe {
    enum rsp_saip_pe_type type;
    struct rsp_tlv tlv; /* the whole PE: tlv.raw/raw_len is what an eUICC installs */
    size_t index;       /* position in the package, 0 = header */
    /* PEHeader (every PE but the ProfileHeader and unknown extensions). */
    bool has_pe_header;
    bool mandated;
    uint16_t identification; /* UInt15 */
};

/* Iteration over the PEs of a package. Each step checks that the PE is a complete, well-formed
 * TLV (recursively, rsp_der_validate) with a context-specific constructed tag, and decodes its
 * PEHeader. It does not check the package-level rules (header first, end last): rsp_saip_parse
 * does. */
struct rsp_saip_pe_iter {
    struct rsp_der_iter it;
    size_t index;
};

void rsp_saip_pe_iter_init(struct rsp_saip_pe_iter *it, const uint8_t *upp, size_t len);
/* 1 and *out filled, 0 at the end of the input, negative RSP_E* if malformed. */
int rsp_saip_pe_next(struct rsp_saip_pe_iter *it, struct rsp_saip_pe *out);

/* ServicesList components (eUICC-Mandatory-services): bit n of rsp_saip_info.services is set
 * when component n (context tag [n]) is present. */
enum rsp_saip_service {
    RSP_SAIP_SVC_CONTACTLESS = 0,
    RSP_SAIP_SVC_USIM = 1,
    RSP_SAIP_SVC_ISIM = 2,
    RSP_SAIP_SVC_CSIM = 3,
    RSP_SAIP_SVC_MILENAGE = 4,
    RSP_SAIP_SVC_TUAK128 = 5,
    RSP_SAIP_SVC_CAVE = 6,
    RSP_SAIP_SVC_GBA_USIM = 7,
    RSP_SAIP_SVC_GBA_ISIM = 8,
    RSP_SAIP_SVC_MBMS = 9,
    RSP_SAIP_SVC_EAP = 10,
    RSP_SAIP_SVC_JAVACARD = 11,
    RSP_SAIP_SVC_MULTOS = 12,
    RSP_SAIP_SVC_MULTIPLE_USIM = 13,
    RSP_SAIP_SVC_MULTIPLE_ISIM = 14,
    RSP_SAIP_SVC_MULTIPLE_CSIM = 15,
    RSP_SAIP_SVC_TUAK256 = 16,
    RSP_SAIP_SVC_USIM_TEST_ALGORITHM = 17,
    RSP_SAIP_SVC_BER_TLV = 18,
    RSP_SAIP_SVC_DFLINK = 19,
    RSP_SAIP_SVC_CAT_TP = 20,
    RSP_SAIP_SVC_GET_IDENTITY = 21,
    RSP_SAIP_SVC_PROFILE_A_X25519 = 22,
    RSP_SAIP_SVC_PROFILE_B_P256 = 23,
    RSP_SAIP_SVC_SUCI_CALCULATOR_API = 24,
    RSP_SAIP_SVC_DNS_RESOLUTION = 25,
    RSP_SAIP_SVC_SCP11AC = 26,
    RSP_SAIP_SVC_SCP11C_AUTHORIZATION = 27,
    RSP_SAIP_SVC_S16MODE = 28,
    RSP_SAIP_SVC_EAKA = 29,
    RSP_SAIP_SVC_KNOWN = 30
};
/* ASN.1 identifier of a ServicesList component ("usim", "ber-tlv", ...), NULL if unknown. */
const char *rsp_saip_service_name(unsigned n);

/* Maxima of the fixed-size arrays of rsp_saip_info (exceeding one gives RSP_ERANGE). */
#define RSP_SAIP_MAX_GFSTE 32   /* eUICC-Mandatory-GFSTEList entries */
#define RSP_SAIP_MAX_PES   4096 /* PEs in one package */

/* State of a value taken from a file's content (EF.IMSI, EF.SPN). */
enum rsp_saip_value_state {
    RSP_SAIP_ABSENT = 0,    /* no such PE/file, or no content given for it */
    RSP_SAIP_PRESENT = 1,   /* decoded */
    RSP_SAIP_MALFORMED = 2, /* content present but not decodable (the package itself parsed) */
};

struct rsp_saip_oid {
    const uint8_t *val; /* OBJECT IDENTIFIER contents (see rsp_oid_to_str) */
    size_t len;
};

struct rsp_saip_info {
    /* ProfileHeader */
    uint8_t major, minor;     /* major-version, minor-version */
    const char *profile_type; /* profileType (UTF-8, not NUL-terminated), NULL when absent */
    size_t profile_type_len;
    uint8_t iccid_header[10]; /* iccid exactly as in the header (un-swapped BCD, F-padded) */
    uint8_t iccid[10];        /* the same in EF.ICCID (nibble-swapped) form */
    char iccid_str[21];       /* decimal digits, no padding */
    uint64_t services;        /* eUICC-Mandatory-services, bit n = component [n] */
    struct rsp_saip_oid gfste[RSP_SAIP_MAX_GFSTE]; /* eUICC-Mandatory-GFSTEList */
    size_t n_gfste;

    /* Inventory */
    size_t pe_count[RSP_SAIP_PE_NTYPES]; /* number of PEs per type (header and end included) */
    size_t n_pes;

    /* First USIM PE (PE-USIM): EF.IMSI and EF.SPN as the package fills them. */
    enum rsp_saip_value_state imsi_state;
    char imsi[16]; /* decimal digits, NUL-terminated, when PRESENT */
    enum rsp_saip_value_state spn_state;
    uint8_t spn_display;  /* EF.SPN byte 1: display condition */
    char spn[3 * 16 + 1]; /* name, GSM 7-bit default alphabet (unpacked) as UTF-8, no 'FF' pad */
};

/* Parses a whole unprotected profile package. Errors: RSP_EMISSING (empty input, no header first,
 * no `end`), RSP_EUNEXPECTED (a second header, a PE that is not a context-specific constructed
 * alternative), RSP_ETRAILING (bytes after `end`), RSP_ERANGE (a maximum above exceeded, or a
 * header value out of its ASN.1 range), RSP_ESYNTAX (ICCID not BCD), and the der codes for
 * malformed TLVs. An absent USIM or EF.IMSI content is not an error (imsi_state). */
int rsp_saip_parse(const uint8_t *upp, size_t len, struct rsp_saip_info *out);

/* Generator parameters. Strings are NUL-terminated. */
struct rsp_saip_gen_params {
    const char *iccid;        /* 18..20 digits (a trailing 'F' pad is accepted) */
    const char *imsi;         /* 6..15 digits */
    const char *spn;          /* 0..16 characters of the GSM default alphabet's ASCII subset */
    const char *profile_type; /* 1..100 bytes; NULL: "rspkit test profile" */
    uint8_t ki[16];           /* Milenage K (test values only) */
    uint8_t opc[16];          /* Milenage OPc */
    bool include_isim;        /* adds an ISIM PE (and its EF.DIR record, service, template) */
    uint8_t minor_version;    /* 1 or 3 (SAIP 2.1 / 2.3); 0 means 3 */
    uint8_t mnc_len;          /* 2 or 3 (EF.AD); 0 means 2 */
    const char *pin1;         /* 4..8 digits; NULL: "0000" */
    const char *puk1;         /* 8 digits; NULL: "12345678" */
    const char *adm1;         /* 8 characters; NULL: "88888888" */
};

/* Appends a complete SAIP 2.x package (header, mf, pukCodes, pinCodes, usim, pinCodes,
 * akaParameter, [isim, pinCodes], securityDomain (MNO-SD instance), end) to out.
 * RSP_EINVAL/RSP_ESYNTAX for bad parameters (nothing appended), RSP_ENOMEM. */
int rsp_saip_generate(const struct rsp_saip_gen_params *p, struct rsp_buf *out);

#endif
