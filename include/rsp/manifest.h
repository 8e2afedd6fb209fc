/* Operator-signed profile manifests for the SM-DP+ inventory (docs/MANIFEST.md).
 *
 * A manifest binds one unprotected profile package (UPP, SAIP DER) to its inventory metadata:
 * the SHA-256 of the package, the ICCID and IMSI the package itself carries, and what the
 * operator says about it (profile type, SPN, name, class, owner PLMN). The operator signs the DER
 * of the TBS part with ECDSA-SHA256 (TR-03111 r||s); the SM-DP+ holds the operator's certificate
 * or public key and accepts a profile only when the signature, the digest and the ICCID/IMSI read
 * from the package all agree (rsp_manifest_verify), and re-checks the stored package before it is
 * bound (rsp_inventory_recheck).
 *
 * Codec functions are pure and bounded; rsp_inventory_recheck reads the store.
 */
#ifndef RSP_MANIFEST_H
#define RSP_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/buf.h"
#include "rsp/crypto.h"
#include "rsp/sgp22_types.h"
#include "rsp/store.h"

#define RSP_MANIFEST_VERSION  1
#define RSP_MANIFEST_MAX_LEN  2048 /* whole encoded manifest; decode refuses larger input */
#define RSP_MANIFEST_TEXT_MAX 64   /* bytes of each text field */
#define RSP_MANIFEST_GID_MAX  16

struct rsp_manifest {
    unsigned version;                             /* RSP_MANIFEST_VERSION */
    char operator_id[RSP_MANIFEST_TEXT_MAX + 1];  /* [A-Za-z0-9._-]{1,64} */
    char iccid[21];                               /* 18..20 digits, no F padding */
    char imsi[16];                                /* 6..15 digits */
    char profile_type[RSP_MANIFEST_TEXT_MAX + 1]; /* UTF-8, may be empty */
    char spn[RSP_MANIFEST_TEXT_MAX + 1];          /* serviceProviderName, may be empty */
    char name[RSP_MANIFEST_TEXT_MAX + 1];         /* profileName, may be empty */
    enum rsp_profile_class pclass;                /* test, provisioning, operational */
    char owner_plmn[7];                           /* MCC+MNC, 5 or 6 digits; "" when absent */
    uint8_t gid1[RSP_MANIFEST_GID_MAX], gid2[RSP_MANIFEST_GID_MAX];
    size_t gid1_len, gid2_len;              /* 0 when absent */
    uint8_t package_sha256[RSP_SHA256_LEN]; /* SHA-256 of the whole UPP */
    int64_t created_at;                     /* unix seconds, >= 0 */
    uint8_t signature[RSP_ECDSA_SIG_LEN];   /* r||s over the DER of the TBS part */
};

/* Which check refused a manifest (rsp_manifest_verify, rsp_inventory_recheck). */
enum rsp_manifest_check {
    RSP_MANIFEST_OK = 0,
    RSP_MANIFEST_SIGNATURE, /* the operator's key does not verify the signature */
    RSP_MANIFEST_OPERATOR,  /* operatorId is not the one the key is configured for */
    RSP_MANIFEST_DIGEST,    /* SHA-256 of the package differs from packageDigest */
    RSP_MANIFEST_PACKAGE,   /* the package does not parse as a SAIP package */
    RSP_MANIFEST_ICCID,     /* ICCID in the package differs from the manifest's */
    RSP_MANIFEST_IMSI,      /* IMSI in the package absent or different */
    RSP_MANIFEST_STORED,    /* store: no manifest, or the row disagrees with its manifest */
};

struct rsp_manifest_refusal {
    enum rsp_manifest_check check;
    char detail[192]; /* one line naming the field and both values */
};

/* Short stable name ("signature", "digest", "iccid", ...). Never NULL. */
const char *rsp_manifest_check_name(enum rsp_manifest_check c);

/* Fills a manifest from the package itself: version, ICCID, IMSI, digest, profileType and SPN
 * when the package has them, class operational, created_at = now. The caller then sets
 * operator_id and the other metadata. RSP_EMISSING (with no change to *m's meaning) when the
 * package has no IMSI; the rsp_saip_parse codes for a malformed package. */
int rsp_manifest_from_package(const uint8_t *pkg, size_t len, struct rsp_manifest *m);

/* Appends the DER of the TBS part (what is signed). RSP_EINVAL / RSP_ERANGE / RSP_ESYNTAX for a
 * field outside its format; nothing is appended then. */
int rsp_manifest_encode_tbs(const struct rsp_manifest *m, struct rsp_buf *out);
/* Signs the TBS part with the operator's private key (m->signature). */
int rsp_manifest_sign(struct rsp_manifest *m, const struct rsp_key *operator_key);
/* Appends the whole signed manifest. */
int rsp_manifest_encode(const struct rsp_manifest *m, struct rsp_buf *out);
/* Strict decode of exactly der[0..len): DER only (re-encoding must give the same bytes), known
 * fields only, every field within its format, len <= RSP_MANIFEST_MAX_LEN (RSP_ERANGE). Does not
 * check the signature. */
int rsp_manifest_decode(const uint8_t *der, size_t len, struct rsp_manifest *out);

/* Verifies a decoded manifest against the operator's public key and the package: signature,
 * then (when expect_operator is non-NULL) the operatorId, then the digest, then the ICCID and
 * IMSI parsed from the package. 0, or RSP_EVERIFY with *why naming the first failed check (other
 * negatives for internal failures). `why` may be NULL. */
int rsp_manifest_verify(const struct rsp_manifest *m, const struct rsp_key *operator_pub,
                        const char *expect_operator, const uint8_t *pkg, size_t len,
                        struct rsp_manifest_refusal *why);

/* Human-readable JSON object (one line, no trailing newline) appended to out. */
int rsp_manifest_json(const struct rsp_manifest *m, struct rsp_buf *out);

/* The operator's public key from an X.509 certificate or a SubjectPublicKeyInfo, PEM or DER.
 * RSP_EKEY / RSP_ECERT / RSP_ECURVE. */
int rsp_operator_key_load(const uint8_t *data, size_t len, struct rsp_key **out);

/* Inventory row (state Available) for a verified manifest: iccid, imsi, type, SPN, name, class,
 * owner = operatorId, operator_ = owner PLMN, package digest. */
void rsp_manifest_to_profile(const struct rsp_manifest *m, struct rsp_profile *p);

/* Verifies one package + manifest pair for import and fills *item: the profile row on success
 * (item->pkg and item->manifest point to the caller's bytes), or item->refused = reason (the
 * caller's buffer, filled with "<label>: <check>: <detail>") on failure. The ICCID is set whenever
 * the manifest decodes, for the audit row. 0 accepted, RSP_EVERIFY refused, other negatives. */
int rsp_inventory_prepare(const uint8_t *pkg, size_t pkg_len, const uint8_t *man, size_t man_len,
                          const struct rsp_key *operator_pub, const char *expect_operator,
                          const char *label, struct rsp_store_import_item *item, char *reason,
                          size_t reason_cap);

/* ---- Batch manifests (docs/MANIFEST.md, "Batch manifests") ----
 * One operator signature over a list of entries, each entry a TBSManifest (the signed part of a
 * per-profile manifest, same operatorId as the batch, ICCIDs distinct). Import then costs one
 * ECDSA verification per batch instead of one per profile. Each imported profile keeps its entry
 * in a batch entry record (BatchEntryRecord: batch digest, index, the entry's DER) as its stored
 * manifest; the batch itself is stored once. */

#define RSP_MANIFEST_BATCH_MAX_ENTRIES 100000
#define RSP_MANIFEST_BATCH_MAX_LEN     (64u << 20) /* whole encoded batch manifest */
#define RSP_MANIFEST_RECORD_TAG        0xA1u       /* BatchEntryRecord: [1] IMPLICIT SEQUENCE */

struct rsp_manifest_batch_raw {
    const uint8_t *der; /* the entry's TBSManifest DER, inside the batch's bytes */
    size_t len;
};

struct rsp_manifest_batch {
    unsigned version;
    char operator_id[RSP_MANIFEST_TEXT_MAX + 1];
    int64_t created_at;
    size_t n;                           /* entries, 1..RSP_MANIFEST_BATCH_MAX_ENTRIES */
    struct rsp_manifest *entries;       /* decoded entries (their signature field is zero) */
    struct rsp_manifest_batch_raw *raw; /* their DER */
    size_t *by_iccid;                   /* entry indexes sorted by ICCID */
    uint8_t signature[RSP_ECDSA_SIG_LEN];
    uint8_t digest[RSP_SHA256_LEN]; /* SHA-256 of the whole batch manifest */
    const uint8_t *der, *tbs;       /* the caller's bytes (not owned): whole, signed part */
    size_t der_len, tbs_len;
    bool verified; /* set by rsp_manifest_batch_verify */
};

/* Encodes and signs a batch of n entries (each a manifest whose operator_id is operator_id;
 * their own signature fields are ignored) and appends it to out. The result is checked with
 * rsp_manifest_batch_decode (duplicate ICCIDs: RSP_ESYNTAX). */
int rsp_manifest_batch_sign(const struct rsp_manifest *entries, size_t n, const char *operator_id,
                            int64_t created_at, const struct rsp_key *operator_key,
                            struct rsp_buf *out);
/* Strict decode of exactly der[0..len) (DER only, canonical re-encoding, every entry as strict as
 * rsp_manifest_decode, entry operatorId = batch operatorId, ICCIDs distinct, bounds above).
 * Allocates; free with rsp_manifest_batch_free. The bytes must outlive *out. Does not check the
 * signature. */
int rsp_manifest_batch_decode(const uint8_t *der, size_t len, struct rsp_manifest_batch *out);
void rsp_manifest_batch_free(struct rsp_manifest_batch *b);
/* Signature with the operator's key, then operatorId when expect_operator is non-NULL. 0 (and
 * b->verified), RSP_EVERIFY with *why, other negatives. */
int rsp_manifest_batch_verify(struct rsp_manifest_batch *b, const struct rsp_key *operator_pub,
                              const char *expect_operator, struct rsp_manifest_refusal *why);
/* Index of the entry with this ICCID, or -1. */
long rsp_manifest_batch_find(const struct rsp_manifest_batch *b, const char *iccid);
/* Appends the batch entry record of entry `index`:
 *   BatchEntryRecord ::= [1] IMPLICIT SEQUENCE { batchDigest OCTET STRING (SIZE(32)),
 *                                                index INTEGER, entry TBSManifest } */
int rsp_manifest_batch_record(const struct rsp_manifest_batch *b, size_t index,
                              struct rsp_buf *out);
/* Strict decode of a batch entry record: the batch digest, the index and the entry (signature
 * field zero). */
int rsp_manifest_record_decode(const uint8_t *der, size_t len, uint8_t batch_digest[32],
                               size_t *index, struct rsp_manifest *entry);

/* rsp_inventory_prepare for a package covered by a verified batch (RSP_EINVAL if not verified):
 * the package's ICCID selects the entry; digest and IMSI are checked against it. On success
 * item->manifest is the entry's record, written into `record` (the caller's buffer, kept until
 * the import), and item->batch is the batch. 0 accepted, RSP_EVERIFY refused, other negatives. */
int rsp_inventory_prepare_batch(const uint8_t *pkg, size_t pkg_len,
                                const struct rsp_manifest_batch *b, const char *label,
                                struct rsp_store_import_item *item, struct rsp_buf *record,
                                char *reason, size_t reason_cap);

/* Re-check before binding (getBoundProfilePackage): decodes the manifest stored with `iccid`
 * (a per-profile manifest or a batch entry record) and checks that SHA-256(pkg) equals its digest
 * and the row's package_sha256, and that the package's ICCID and IMSI are the manifest's. pkg NULL:
 * the package blob stored in the row. 0, RSP_EVERIFY with *why, RSP_ENOTFOUND (no such profile),
 * other negatives. */
int rsp_inventory_recheck(struct rsp_store *st, const char *iccid, const uint8_t *pkg, size_t len,
                          struct rsp_manifest_refusal *why);

#endif
