#include "rsp/err.h"

const char *rsp_strerror(int err)
{
    switch (err) {
    case RSP_OK:
        return "success";
    case RSP_ENOMEM:
        return "out of memory";
    case RSP_EINVAL:
        return "invalid argument";
    case RSP_ETRUNC:
        return "input truncated: a length runs past the end of the data";
    case RSP_EBADLEN:
        return "bad length encoding (indefinite, too long or not minimal)";
    case RSP_EBADTAG:
        return "bad tag encoding";
    case RSP_EUNEXPECTED:
        return "unexpected tag";
    case RSP_EMISSING:
        return "mandatory element missing";
    case RSP_ERANGE:
        return "value out of range";
    case RSP_ETRAILING:
        return "trailing bytes after the last element";
    case RSP_EDEPTH:
        return "nesting too deep";
    case RSP_ESYNTAX:
        return "syntax error";
    case RSP_ECRYPTO:
        return "cryptographic library failure";
    case RSP_EVERIFY:
        return "signature or MAC verification failed";
    case RSP_ECURVE:
        return "unsupported or mismatched curve";
    case RSP_EKEY:
        return "unusable key";
    case RSP_ECERT:
        return "malformed certificate";
    case RSP_ECHAIN:
        return "certificate chain verification failed";
    case RSP_EEXPIRED:
        return "certificate expired or not yet valid";
    case RSP_EPOLICY:
        return "certificate role, policy or key usage mismatch";
    case RSP_EEIDRANGE:
        return "EID outside the EUM's permitted IINs";
    case RSP_ENOTFOUND:
        return "not found";
    case RSP_ESTATE:
        return "not allowed in the current state";
    case RSP_EIO:
        return "I/O error";
    case RSP_ESW:
        return "card returned an error status word";
    default:
        return "unknown error";
    }
}
