/* rspkit error convention.
 *
 * Every fallible function returns 0 on success or a negative RSP_E* code. These codes describe
 * internal failures and malformed input. A *protocol refusal* (an SGP.22 subject/reason code, an
 * ES10 error code) is not an error code: it is a value returned in the message it belongs to
 * (see rsp/sgp22.h), so callers can tell "the peer said no" from "something broke".
 */
#ifndef RSP_ERR_H
#define RSP_ERR_H

enum rsp_err {
    RSP_OK = 0,
    RSP_ENOMEM = -1,      /* allocation failed */
    RSP_EINVAL = -2,      /* invalid argument from the caller */
    RSP_ETRUNC = -3,      /* input ends before a declared length */
    RSP_EBADLEN = -4,     /* indefinite, over-long or non-minimal length */
    RSP_EBADTAG = -5,     /* malformed or non-minimal tag */
    RSP_EUNEXPECTED = -6, /* a tag other than the one required at this point */
    RSP_EMISSING = -7,    /* a mandatory element is absent */
    RSP_ERANGE = -8,      /* a value outside its permitted size or range */
    RSP_ETRAILING = -9,   /* bytes left over after the last element */
    RSP_EDEPTH = -10,     /* nesting deeper than the reader allows */
    RSP_ESYNTAX = -11,    /* a textual format (activation code, hex, OID) is malformed */
    RSP_ECRYPTO = -20,    /* the crypto library failed (not a verification result) */
    RSP_EVERIFY = -21,    /* a signature or MAC did not verify */
    RSP_ECURVE = -22,     /* unsupported or mismatched elliptic curve */
    RSP_EKEY = -23,       /* a key could not be parsed or used */
    RSP_ECERT = -30,      /* a certificate is malformed */
    RSP_ECHAIN = -31,     /* a certificate chain does not verify */
    RSP_EEXPIRED = -32,   /* a certificate is outside its validity period */
    RSP_EPOLICY = -33,    /* certificate role/policy/key-usage does not fit */
    RSP_EEIDRANGE = -34,  /* EID not within the EUM's permitted IINs */
    RSP_ENOTFOUND = -40,  /* no such object */
    RSP_ESTATE = -41,     /* operation not allowed in the current state */
    RSP_EIO = -50,        /* an I/O operation failed (adapters only) */
    RSP_ESW = -51,        /* a card answered with an error status word (the caller keeps it) */
};

/* Short, stable, human-readable description of an RSP_E* code. Never NULL. */
const char *rsp_strerror(int err);

#endif
