/* PKCS#11 private keys (rsp/pkcs11.h) on p11-kit: URI parsing (RFC 7512), module loading,
 * token and object lookup, login, and C_Sign(CKM_ECDSA) behind rsp_key_from_external. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include "rsp/crypto.h"
#include "rsp/err.h"
#include "rsp/pkcs11.h"

#define POOL_MAX 64

struct p11_key {
    CK_FUNCTION_LIST *mod;   /* the module holding the token */
    CK_FUNCTION_LIST **mods; /* all registered modules (no module-path), or NULL */
    bool own_mod;            /* mod was loaded for this key (module-path) */
    CK_SLOT_ID slot;
    CK_OBJECT_HANDLE obj;
    pthread_mutex_t mu;
    CK_SESSION_HANDLE free_sessions[POOL_MAX];
    size_t n_free;
};

bool rsp_pkcs11_is_uri(const char *s)
{
    return s && strncmp(s, "pkcs11:", 7) == 0;
}

__attribute__((format(printf, 3, 4))) static void fail(char *err, size_t len, const char *fmt, ...)
{
    if (err && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
}

static void p11_key_free(void *ctx)
{
    struct p11_key *k = ctx;
    if (!k)
        return;
    for (size_t i = 0; i < k->n_free; i++)
        k->mod->C_CloseSession(k->free_sessions[i]);
    if (k->mods) {
        p11_kit_modules_finalize_and_release(k->mods);
    } else if (k->own_mod) {
        p11_kit_module_finalize(k->mod);
        p11_kit_module_release(k->mod);
    }
    pthread_mutex_destroy(&k->mu);
    free(k);
}

void rsp_pkcs11_uri_redact(const char *s, char *out, size_t cap)
{
    if (!out || !cap)
        return;
    out[0] = 0;
    if (!s)
        return;
    const char *p = rsp_pkcs11_is_uri(s) ? strstr(s, "pin-value=") : NULL;
    if (!p) {
        snprintf(out, cap, "%s", s);
        return;
    }
    p += strlen("pin-value=");
    const char *end = p + strcspn(p, "&;");
    snprintf(out, cap, "%.*s***%s", (int)(p - s), s, end);
}

/* A session from the pool, or a new one. */
static int session_get(struct p11_key *k, CK_SESSION_HANDLE *s)
{
    pthread_mutex_lock(&k->mu);
    if (k->n_free) {
        *s = k->free_sessions[--k->n_free];
        pthread_mutex_unlock(&k->mu);
        return 0;
    }
    pthread_mutex_unlock(&k->mu);
    return k->mod->C_OpenSession(k->slot, CKF_SERIAL_SESSION, NULL, NULL, s) == CKR_OK ? 0
                                                                                       : RSP_EIO;
}

static void session_put(struct p11_key *k, CK_SESSION_HANDLE s, bool broken)
{
    pthread_mutex_lock(&k->mu);
    if (!broken && k->n_free < POOL_MAX) {
        k->free_sessions[k->n_free++] = s;
        s = CK_INVALID_HANDLE;
    }
    pthread_mutex_unlock(&k->mu);
    if (s != CK_INVALID_HANDLE)
        k->mod->C_CloseSession(s);
}

static int p11_sign_hash(void *ctx, const uint8_t hash[RSP_SHA256_LEN],
                         uint8_t sig[RSP_ECDSA_SIG_LEN])
{
    struct p11_key *k = ctx;
    CK_SESSION_HANDLE s;
    int rc = session_get(k, &s);
    if (rc)
        return rc;
    CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
    CK_ULONG n = RSP_ECDSA_SIG_LEN;
    CK_RV rv = k->mod->C_SignInit(s, &mech, k->obj);
    if (rv == CKR_OK)
        rv = k->mod->C_Sign(s, (CK_BYTE_PTR)hash, RSP_SHA256_LEN, sig, &n);
    /* CKM_ECDSA answers r||s, each the size of the order (32 bytes on both curves) */
    if (rv == CKR_OK && n != RSP_ECDSA_SIG_LEN)
        rv = CKR_GENERAL_ERROR;
    session_put(k, s, rv != CKR_OK);
    return rv == CKR_OK ? 0 : RSP_ECRYPTO;
}

static const struct rsp_key_external_ops p11_ops = {
    .name = "pkcs11",
    .sign_hash = p11_sign_hash,
    .ecdh = NULL,
    .free = p11_key_free,
};

/* PIN from pin-value or pin-source=file:PATH (or a bare path); one line, newline stripped. */
static int read_pin(P11KitUri *uri, char *pin, size_t cap, char *err, size_t err_len)
{
    const char *v = p11_kit_uri_get_pin_value(uri);
    pin[0] = 0;
    if (v) {
        if (strlen(v) >= cap) {
            fail(err, err_len, "pin-value too long");
            return RSP_ERANGE;
        }
        snprintf(pin, cap, "%s", v);
        return 0;
    }
    const char *src = p11_kit_uri_get_pin_source(uri);
    if (!src)
        return 0; /* no login */
    if (strncmp(src, "file:", 5) == 0)
        src += 5;
    FILE *f = fopen(src, "r");
    if (!f) {
        fail(err, err_len, "pin-source %s: cannot read it", src);
        return RSP_EIO;
    }
    if (!fgets(pin, (int)cap, f))
        pin[0] = 0;
    fclose(f);
    pin[strcspn(pin, "\r\n")] = 0;
    return 0;
}

/* The curve from DER CKA_EC_PARAMS (a namedCurve OID). */
static enum rsp_curve params_curve(const uint8_t *p, size_t n)
{
    static const uint8_t p256[] = {0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
    static const uint8_t bp256[] = {0x06, 0x09, 0x2B, 0x24, 0x03, 0x03,
                                    0x02, 0x08, 0x01, 0x01, 0x07};
    if (n == sizeof p256 && memcmp(p, p256, n) == 0)
        return RSP_CURVE_NIST_P256;
    if (n == sizeof bp256 && memcmp(p, bp256, n) == 0)
        return RSP_CURVE_BRAINPOOL_P256R1;
    return RSP_CURVE_NONE;
}

/* Objects of class `cls` matching the URI's object attributes: count in *n (up to 2 kept). */
static CK_RV find(CK_FUNCTION_LIST *m, CK_SESSION_HANDLE s, P11KitUri *uri, CK_OBJECT_CLASS cls,
                  CK_OBJECT_HANDLE found[2], CK_ULONG *n)
{
    CK_ATTRIBUTE tmpl[4];
    CK_ULONG nt = 0;
    CK_KEY_TYPE kt = CKK_EC;
    tmpl[nt++] = (CK_ATTRIBUTE){CKA_CLASS, &cls, sizeof cls};
    tmpl[nt++] = (CK_ATTRIBUTE){CKA_KEY_TYPE, &kt, sizeof kt};
    CK_ATTRIBUTE *a = p11_kit_uri_get_attribute(uri, CKA_LABEL);
    if (a)
        tmpl[nt++] = *a;
    a = p11_kit_uri_get_attribute(uri, CKA_ID);
    if (a)
        tmpl[nt++] = *a;
    CK_RV rv = m->C_FindObjectsInit(s, tmpl, nt);
    if (rv != CKR_OK)
        return rv;
    *n = 0;
    rv = m->C_FindObjects(s, found, 2, n);
    m->C_FindObjectsFinal(s);
    return rv;
}

/* The uncompressed public point from CKA_EC_POINT (DER OCTET STRING, or the bare point). */
static int point_of(const uint8_t *p, size_t n, uint8_t out[RSP_EC_POINT_LEN])
{
    if (n == RSP_EC_POINT_LEN + 2 && p[0] == 0x04 && p[1] == RSP_EC_POINT_LEN) {
        p += 2;
        n -= 2;
    }
    if (n != RSP_EC_POINT_LEN || p[0] != 0x04)
        return RSP_EKEY;
    memcpy(out, p, RSP_EC_POINT_LEN);
    return 0;
}

int rsp_pkcs11_key_load(const char *uri_s, struct rsp_key **out, char *err, size_t err_len)
{
    if (!uri_s || !out)
        return RSP_EINVAL;
    *out = NULL;
    if (err && err_len)
        err[0] = 0;
    if (!rsp_pkcs11_is_uri(uri_s)) {
        fail(err, err_len, "not a pkcs11: URI");
        return RSP_ESYNTAX;
    }
    P11KitUri *uri = p11_kit_uri_new();
    if (!uri)
        return RSP_ENOMEM;
    int prc = p11_kit_uri_parse(uri_s, P11_KIT_URI_FOR_OBJECT_ON_TOKEN_AND_MODULE, uri);
    if (prc != P11_KIT_URI_OK || p11_kit_uri_any_unrecognized(uri)) {
        fail(err, err_len, "bad PKCS#11 URI (%s)",
             prc != P11_KIT_URI_OK ? p11_kit_uri_message(prc) : "unrecognised attribute");
        p11_kit_uri_free(uri);
        return RSP_ESYNTAX;
    }
    CK_ATTRIBUTE *cls_attr = p11_kit_uri_get_attribute(uri, CKA_CLASS);
    if (cls_attr && (cls_attr->ulValueLen != sizeof(CK_OBJECT_CLASS) ||
                     *(CK_OBJECT_CLASS *)cls_attr->pValue != CKO_PRIVATE_KEY)) {
        fail(err, err_len, "the URI names an object that is not a private key (type=private)");
        p11_kit_uri_free(uri);
        return RSP_ESYNTAX;
    }
    if (!p11_kit_uri_get_attribute(uri, CKA_LABEL) && !p11_kit_uri_get_attribute(uri, CKA_ID)) {
        fail(err, err_len, "the URI names no key (object= or id=)");
        p11_kit_uri_free(uri);
        return RSP_ESYNTAX;
    }
    struct p11_key *k = calloc(1, sizeof *k);
    if (!k) {
        p11_kit_uri_free(uri);
        return RSP_ENOMEM;
    }
    pthread_mutex_init(&k->mu, NULL);
    int rc = RSP_EIO;
    char pin[256];
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CK_SLOT_ID *slots = NULL;
    const char *path = p11_kit_uri_get_module_path(uri);
    if (!path)
        path = getenv("RSP_PKCS11_MODULE");
    if (path && *path) {
        k->mod = p11_kit_module_load(path, 0);
        if (!k->mod) {
            fail(err, err_len, "cannot load PKCS#11 module %s: %s", path, p11_kit_message());
            goto done;
        }
        if (p11_kit_module_initialize(k->mod) != CKR_OK) {
            p11_kit_module_release(k->mod);
            k->mod = NULL;
            fail(err, err_len, "PKCS#11 module %s: C_Initialize failed", path);
            goto done;
        }
        k->own_mod = true;
    } else {
        k->mods = p11_kit_modules_load_and_initialize(0);
        if (!k->mods || !k->mods[0]) {
            fail(err, err_len, "no PKCS#11 module (set module-path or RSP_PKCS11_MODULE)");
            goto done;
        }
    }
    /* the token: the first one the URI's token attributes match */
    for (size_t mi = 0; !s && (k->mods ? k->mods[mi] != NULL : mi == 0); mi++) {
        CK_FUNCTION_LIST *m = k->mods ? k->mods[mi] : k->mod;
        CK_ULONG ns = 0;
        if (m->C_GetSlotList(CK_TRUE, NULL, &ns) != CKR_OK || ns == 0)
            continue;
        free(slots);
        if (!(slots = calloc(ns, sizeof *slots)) || m->C_GetSlotList(CK_TRUE, slots, &ns) != CKR_OK)
            continue;
        for (CK_ULONG i = 0; i < ns && !s; i++) {
            CK_TOKEN_INFO ti;
            if (m->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
                !p11_kit_uri_match_token_info(uri, &ti))
                continue;
            if (m->C_OpenSession(slots[i], CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK) {
                s = CK_INVALID_HANDLE;
                continue;
            }
            k->mod = m;
            k->slot = slots[i];
        }
    }
    if (s == CK_INVALID_HANDLE) {
        fail(err, err_len, "no PKCS#11 token matches the URI");
        rc = RSP_ENOTFOUND;
        goto done;
    }
    if ((rc = read_pin(uri, pin, sizeof pin, err, err_len)) != 0)
        goto done;
    bool had_pin = pin[0] != 0;
    if (had_pin) {
        CK_RV rv = k->mod->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
        memset(pin, 0, sizeof pin);
        if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
            fail(err, err_len, "PKCS#11 login refused (CKR 0x%lx)", (unsigned long)rv);
            rc = RSP_EIO;
            goto done;
        }
    }
    CK_OBJECT_HANDLE found[2], pubh[2];
    CK_ULONG n = 0, np = 0;
    if (find(k->mod, s, uri, CKO_PRIVATE_KEY, found, &n) != CKR_OK || n == 0) {
        fail(err, err_len, "no EC private key matches the URI%s",
             had_pin ? "" : " (no PIN given: private objects need a login)");
        rc = RSP_ENOTFOUND;
        goto done;
    }
    if (n > 1) {
        fail(err, err_len, "several EC private keys match the URI: add object= or id=");
        rc = RSP_ESTATE;
        goto done;
    }
    k->obj = found[0];
    if (find(k->mod, s, uri, CKO_PUBLIC_KEY, pubh, &np) != CKR_OK || np != 1) {
        fail(err, err_len, "no single public key object with the private key's label/id");
        rc = RSP_ENOTFOUND;
        goto done;
    }
    uint8_t params[64], point[128], pub[RSP_EC_POINT_LEN];
    CK_ATTRIBUTE at[2] = {{CKA_EC_PARAMS, params, sizeof params},
                          {CKA_EC_POINT, point, sizeof point}};
    if (k->mod->C_GetAttributeValue(s, pubh[0], at, 2) != CKR_OK) {
        fail(err, err_len, "cannot read the public key (CKA_EC_PARAMS, CKA_EC_POINT)");
        rc = RSP_EIO;
        goto done;
    }
    enum rsp_curve curve = params_curve(params, at[0].ulValueLen);
    if (curve == RSP_CURVE_NONE) {
        fail(err, err_len, "the key is on neither P-256 nor brainpoolP256r1");
        rc = RSP_ECURVE;
        goto done;
    }
    if (point_of(point, at[1].ulValueLen, pub) != 0) {
        fail(err, err_len, "unusable CKA_EC_POINT");
        rc = RSP_EKEY;
        goto done;
    }
    k->free_sessions[k->n_free++] = s; /* the first pooled session */
    s = CK_INVALID_HANDLE;
    rc = rsp_key_from_external(curve, pub, &p11_ops, k, out);
    if (rc == 0)
        k = NULL; /* owned by the key now */
    else
        fail(err, err_len, "public key not on its curve");
done:
    memset(pin, 0, sizeof pin);
    if (s != CK_INVALID_HANDLE && k && k->mod)
        k->mod->C_CloseSession(s);
    free(slots);
    p11_key_free(k);
    p11_kit_uri_free(uri);
    return rc;
}
