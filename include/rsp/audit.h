/* Tamper-evident audit trail of the SM-DP+ (docs/AUDIT.md).
 *
 * Every audit record carries the hash of the record before it; the hash is SHA-256 over a
 * canonical, length-prefixed encoding of the record (rsp_audit_encode). Checkpoints (seq, hash,
 * time) are signed with a dedicated ECDSA P-256 audit key held behind the rsp_key handle. The
 * verifier takes checkpoints and records as a stream and reports every inconsistency with the
 * place it was found. Personal identifiers (EID, IMEI, customer references) enter records only as
 * keyed pseudonyms (rsp_pseudonym).
 *
 * This module is pure (bytes in, hashes and findings out): the store backends keep the records
 * (rsp/store.h), rsp-smdp and rspctl do the I/O. Every store backend seals records with
 * rsp_audit_seal, so the chain is the same whatever database holds it.
 */
#ifndef RSP_AUDIT_H
#define RSP_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/buf.h"
#include "rsp/crypto.h"

#define RSP_AUDIT_HASH_LEN 32
/* Text field limits (bytes, printable ASCII 0x20-0x7E; see rsp_audit_entry_set). */
#define RSP_AUDIT_ENTITY_MAX  15
#define RSP_AUDIT_KEY_MAX     64
#define RSP_AUDIT_STATE_MAX   23
#define RSP_AUDIT_ACTOR_MAX   64
#define RSP_AUDIT_SUBJECT_MAX 32
#define RSP_AUDIT_REASON_MAX  255

/* One audit record. `entity` says what the record is about (docs/AUDIT.md lists them: "profile",
 * "session", "import", "es9p", "es2p", "es2p-notify", "config", "process", "audit-export",
 * "audit-prune"), `key` which one (ICCID, transactionId, ...), `from`/`to` the
 * state change or the outcome, `actor` who acted, `subject` the pseudonym of the person-related
 * identifier concerned (never the identifier itself; empty when none), `reason` the detail. */
struct rsp_audit_entry {
    int64_t seq; /* position in the chain: 1, 2, 3, ... without gaps */
    int64_t at;  /* unix seconds when written */
    char entity[RSP_AUDIT_ENTITY_MAX + 1];
    char key[RSP_AUDIT_KEY_MAX + 1];
    char from[RSP_AUDIT_STATE_MAX + 1];
    char to[RSP_AUDIT_STATE_MAX + 1];
    char actor[RSP_AUDIT_ACTOR_MAX + 1];
    char subject[RSP_AUDIT_SUBJECT_MAX + 1];
    char reason[RSP_AUDIT_REASON_MAX + 1];
    uint8_t prev[RSP_AUDIT_HASH_LEN]; /* hash of record seq-1 (zeros before record 1) */
    uint8_t hash[RSP_AUDIT_HASH_LEN]; /* SHA-256 of rsp_audit_encode(this record) */
};

/* Fills the text fields of e (NULL = empty), zeroes the rest. Text longer than its field is cut
 * (a cut reason ends in "..."); bytes outside printable ASCII become '?', so every stored field
 * is printable ASCII and the record exports as JSON unchanged. */
void rsp_audit_entry_set(struct rsp_audit_entry *e, const char *entity, const char *key,
                         const char *from, const char *to, const char *actor, const char *subject,
                         const char *reason);

/* The canonical encoding hashed into e->hash (docs/AUDIT.md, "Record hash"):
 *   "rspkit-audit-record-v1" || u64 seq || i64 at ||
 *   for entity, key, from, to, actor, subject, reason: u16 length || bytes ||
 *   prev (32 bytes)
 * integers big-endian. RSP_EINVAL if a field breaks the rules of rsp_audit_entry_set. */
int rsp_audit_encode(const struct rsp_audit_entry *e, struct rsp_buf *out);
/* SHA-256 of rsp_audit_encode(e). */
int rsp_audit_hash(const struct rsp_audit_entry *e, uint8_t out[RSP_AUDIT_HASH_LEN]);
/* Links e after the record (prev_seq, prev_hash): seq = prev_seq + 1, prev = prev_hash, hash
 * computed. prev_seq 0 with 32 zero bytes starts a chain. RSP_ERANGE on a negative or maximal
 * prev_seq, RSP_EINVAL on a bad field. */
int rsp_audit_seal(struct rsp_audit_entry *e, int64_t prev_seq,
                   const uint8_t prev_hash[RSP_AUDIT_HASH_LEN]);

/* ---- chain state ---- */

/* head: the last record (seq 0 and zeros when the chain is empty). base: the record the retained
 * records follow (0 and zeros until a prune; after `prune --through P`: P and the hash of P). */
struct rsp_audit_head {
    int64_t seq;
    uint8_t hash[RSP_AUDIT_HASH_LEN];
    int64_t base_seq;
    uint8_t base_hash[RSP_AUDIT_HASH_LEN];
};

/* ---- signed checkpoints ---- */

struct rsp_audit_checkpoint {
    int64_t seq;                        /* the record checkpointed */
    uint8_t hash[RSP_AUDIT_HASH_LEN];   /* its hash */
    int64_t at;                         /* unix seconds of signing */
    uint8_t key_id[RSP_AUDIT_HASH_LEN]; /* rsp_audit_key_id of the signing key */
    uint8_t sig[RSP_ECDSA_SIG_LEN];     /* ECDSA P-256 r||s over rsp_audit_checkpoint_input */
};

/* Key identifier: SHA-256 of the uncompressed public point 04||X||Y. */
int rsp_audit_key_id(const struct rsp_key *k, uint8_t out[RSP_AUDIT_HASH_LEN]);
/* The signed bytes: "rspkit-audit-checkpoint-v1" || u64 seq || hash || i64 at || key_id. */
int rsp_audit_checkpoint_input(const struct rsp_audit_checkpoint *cp, struct rsp_buf *out);
/* Fills key_id and sig (seq, hash, at given). The key must be a P-256 private key (RSP_ECURVE
 * for another curve, RSP_EKEY for a public key). */
int rsp_audit_checkpoint_sign(struct rsp_audit_checkpoint *cp, const struct rsp_key *key);
/* 0 if cp is signed by `pub`; RSP_EKEY if cp->key_id is another key's, RSP_EVERIFY if the
 * signature does not verify. */
int rsp_audit_checkpoint_verify(const struct rsp_audit_checkpoint *cp, const struct rsp_key *pub);

/* ---- pseudonyms ---- */

#define RSP_PSEUDONYM_KEY_MIN 32
#define RSP_PSEUDONYM_KEY_MAX 64
/* "p:" and 24 lower-case base32 characters (the first 120 bits of the HMAC). */
#define RSP_PSEUDONYM_LEN 26

struct rsp_pseudonym_key {
    uint8_t k[RSP_PSEUDONYM_KEY_MAX];
    size_t len;
};

enum rsp_pseudonym_class {
    RSP_PSEUDONYM_EID = 0,
    RSP_PSEUDONYM_IMEI,
    RSP_PSEUDONYM_CUSTOMER,
};

/* The key file: 64 to 128 hex digits (32 to 64 bytes), surrounding whitespace allowed.
 * RSP_ESYNTAX otherwise. */
int rsp_pseudonym_key_parse(const uint8_t *text, size_t len, struct rsp_pseudonym_key *out);
/* "p:" + base32(HMAC-SHA-256(key, class name || ":" || id)[0..15)). Class names: "eid", "imei",
 * "customer". id: 1..128 bytes (RSP_EINVAL otherwise). The same identifier under the same key
 * always gives the same pseudonym; without the key it cannot be computed or reversed. */
int rsp_pseudonym(const struct rsp_pseudonym_key *key, enum rsp_pseudonym_class cls, const char *id,
                  char out[RSP_PSEUDONYM_LEN + 1]);
/* Identifier of a pseudonym key for configuration records: SHA-256("rspkit-pseudonym-key-id" ||
 * key), which does not reveal the key. */
int rsp_pseudonym_key_id(const struct rsp_pseudonym_key *key, uint8_t out[RSP_AUDIT_HASH_LEN]);

/* ---- verification ---- */

enum rsp_audit_problem {
    RSP_AUDIT_EDITED = 0,      /* the stored hash is not the hash of the record's contents */
    RSP_AUDIT_LINK,            /* prev is not the hash of the record before */
    RSP_AUDIT_MISSING,         /* seq numbers skipped: records deleted */
    RSP_AUDIT_DUPLICATE,       /* the same seq twice: a record inserted */
    RSP_AUDIT_ORDER,           /* seq goes backwards */
    RSP_AUDIT_REORDERED,       /* a record links to one stored elsewhere in the chain */
    RSP_AUDIT_OUT_OF_RANGE,    /* a record without seq, or inside the pruned range */
    RSP_AUDIT_CHECKPOINT_SIG,  /* a checkpoint signature does not verify, or unknown key */
    RSP_AUDIT_CHECKPOINT_HASH, /* the chain's hash at a checkpoint differs from the signed one */
    RSP_AUDIT_TRUNCATED,       /* a checkpoint or the head names records beyond the end */
    RSP_AUDIT_HEAD,            /* the chain head differs from the last record */
    RSP_AUDIT_ANCHOR,          /* the retained chain's start is not a recorded prune */
    RSP_AUDIT_UNSIGNED,        /* an archive whose last record has no valid checkpoint */
    RSP_AUDIT_EXPECT,          /* an expected (seq, hash) from outside is not in the chain */
    RSP_AUDIT_RENUMBERED, /* a record's hash fits another seq: records renumbered from here (one
                           * finding per run of records shifted alike) */
    RSP_AUDIT_NPROBLEMS
};

/* Short stable name ("edited", "link", ...). */
const char *rsp_audit_problem_name(enum rsp_audit_problem p);

struct rsp_audit_finding {
    enum rsp_audit_problem problem;
    int64_t seq;       /* the record or checkpoint concerned (0 when none) */
    uint64_t position; /* 1-based position among the records read (0 for checkpoints) */
    char detail[320];
};

/* Called once per finding, in the order found. */
typedef void (*rsp_audit_finding_cb)(void *arg, const struct rsp_audit_finding *f);

struct rsp_audit_verify_result {
    uint64_t records;
    int64_t first_seq, last_seq; /* 0 when no record */
    uint8_t last_hash[RSP_AUDIT_HASH_LEN];
    uint64_t checkpoints;    /* checkpoints read */
    uint64_t checkpoints_ok; /* of which signature verified and matching the chain */
    int64_t signed_seq;      /* highest seq covered by a verified, matching checkpoint */
    uint64_t findings;
    int64_t first_bad_seq; /* seq of the first finding (0 if none or not tied to a seq) */
};

/* Verification mode flags. */
#define RSP_AUDIT_VERIFY_LIVE                                                                      \
    1u /* a live store: a base after a prune needs its prune record                                \
        * and anchor checkpoint */
#define RSP_AUDIT_VERIFY_ARCHIVE                                                                   \
    2u /* an archive: the last record must carry a valid checkpoint                                \
        */

struct rsp_audit_verifier;

/* A verifier for the records that follow (base_seq, base_hash). keys: trusted public keys for
 * checkpoint signatures (not owned; must outlive the verifier); with none, signatures are not
 * checked (checkpoints_ok stays 0) but checkpoint hashes are still compared with the chain. */
int rsp_audit_verifier_new(int64_t base_seq, const uint8_t base_hash[RSP_AUDIT_HASH_LEN],
                           const struct rsp_key *const *keys, size_t n_keys, unsigned flags,
                           rsp_audit_finding_cb cb, void *arg, struct rsp_audit_verifier **out);
/* Checkpoints first (any order, before the first record). */
int rsp_audit_verifier_checkpoint(struct rsp_audit_verifier *v,
                                  const struct rsp_audit_checkpoint *cp);
/* A (seq, hash) known from outside the store (a checkpoint log line, a later archive): the chain
 * must contain it. Before the first record. */
int rsp_audit_verifier_expect(struct rsp_audit_verifier *v, int64_t seq,
                              const uint8_t hash[RSP_AUDIT_HASH_LEN]);
/* The records, in the order stored (by seq). */
int rsp_audit_verifier_record(struct rsp_audit_verifier *v, const struct rsp_audit_entry *e);
/* End of the stream. head: the store's chain head (NULL for an archive; expected_last: for an
 * archive, the last seq its header announces, else 0). Fills res. Returns 0 (the findings
 * say whether the chain is intact) or a negative RSP_E* on failure. */
int rsp_audit_verifier_finish(struct rsp_audit_verifier *v, const struct rsp_audit_head *head,
                              int64_t expected_last, struct rsp_audit_verify_result *res);
void rsp_audit_verifier_free(struct rsp_audit_verifier *v);

#endif
