/* Private keys in a PKCS#11 token (an HSM; SoftHSM2 in tests), named by a PKCS#11 URI (RFC 7512).
 *
 *   pkcs11:token=rspkit;object=dpauth;type=private?pin-source=file:/etc/rspkit/pin
 *   pkcs11:token=rspkit;id=%01?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234
 *
 * The module is the URI's module-path, else the RSP_PKCS11_MODULE environment variable, else every
 * module registered with p11-kit. The URI's token attributes (token, manufacturer, serial, model)
 * select the token; its object attributes (object = CKA_LABEL, id = CKA_ID) must select exactly one
 * EC private key, and a public key object with the same label/id gives the public point and curve
 * (P-256 or brainpoolP256r1). The PIN comes from pin-value or pin-source=file:PATH (one line) and
 * is never logged nor kept after login.
 *
 * The key is a struct rsp_key (rsp/crypto.h, rsp_key_from_external): rsp_ecdsa_sign runs C_Sign
 * with CKM_ECDSA on the SHA-256 digest (the token answers r||s, the form the code uses). Such a key
 * only signs (ECKA is RSP_EKEY): the SM-DP+'s long-term keys (DPauth, DPpb) and the audit key only
 * sign; its ECKA key otSK.DP.ECKA is ephemeral, per download. Sessions are pooled, so several
 * threads may sign at once. */
#ifndef RSP_PKCS11_H
#define RSP_PKCS11_H

#include <stdbool.h>
#include <stddef.h>

struct rsp_key;

/* True when `s` is a PKCS#11 URI (starts with "pkcs11:"). */
bool rsp_pkcs11_is_uri(const char *s);
/* Copies `s` to out (cap bytes) with the value of a pin-value attribute replaced by "***", for
 * messages and configuration fingerprints. Any other string is copied as it is. */
void rsp_pkcs11_uri_redact(const char *s, char *out, size_t cap);
/* Loads the key the URI names. RSP_ESYNTAX (URI), RSP_EIO (module or token unavailable, login
 * failed), RSP_ENOTFOUND (no such key, or no public key object next to it), RSP_ESTATE (several
 * keys match), RSP_ECURVE, RSP_ENOMEM. `err` (may be NULL) gets one line without the PIN. */
int rsp_pkcs11_key_load(const char *uri, struct rsp_key **out, char *err, size_t err_len);

#endif
