/* Self-verifiable audit archives (docs/AUDIT.md, "Archive format").
 *
 * One text file: a README block of '#' lines naming the verifier command, then one JSON object
 * per line: a header (range, the hash before the first record, the audit public key), every
 * checkpoint of the range, then the records in seq order. The last record of an archive carries a
 * signed checkpoint, so every record in it is covered by a signature. `rspctl audit verify
 * --archive FILE` checks it with nothing but rspkit.
 *
 * Writing appends lines to an rsp_buf; reading is line by line (bounded lines, strict JSON:
 * every field required, no unknown field, exact types and lengths) into the streaming verifier
 * of rsp/audit.h.
 */
#ifndef RSP_AUDIT_ARCHIVE_H
#define RSP_AUDIT_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/audit.h"
#include "rsp/buf.h"
#include "rsp/crypto.h"

#define RSP_AUDIT_ARCHIVE_FORMAT   "rspkit-audit-archive"
#define RSP_AUDIT_ARCHIVE_VERSION  1
#define RSP_AUDIT_ARCHIVE_LINE_MAX 4096 /* longest line a reader accepts (bytes) */

struct rsp_audit_archive_info {
    int64_t first_seq, last_seq;
    uint8_t prev_hash[RSP_AUDIT_HASH_LEN]; /* hash of record first_seq - 1 (zeros for seq 1) */
    int64_t created_at;
    uint64_t n_records, n_checkpoints;
    uint8_t public_key[RSP_EC_POINT_LEN]; /* the audit key (P-256, 04||X||Y) */
    uint8_t key_id[RSP_AUDIT_HASH_LEN];   /* rsp_audit_key_id of it */
};

/* The README block and the header line. */
int rsp_audit_archive_begin(const struct rsp_audit_archive_info *info, struct rsp_buf *out);
/* One checkpoint line (all checkpoints come before the first record). */
int rsp_audit_archive_checkpoint(const struct rsp_audit_checkpoint *cp, struct rsp_buf *out);
/* One record line. */
int rsp_audit_archive_record(const struct rsp_audit_entry *e, struct rsp_buf *out);

struct rsp_audit_archive_reader;

/* keys: trusted audit public keys (not owned); none: the key inside the archive is used (the
 * caller should show its fingerprint, rsp_audit_archive_reader_info()->key_id). */
int rsp_audit_archive_reader_new(const struct rsp_key *const *keys, size_t n_keys,
                                 rsp_audit_finding_cb cb, void *arg,
                                 struct rsp_audit_archive_reader **out);
/* One line without its newline. RSP_ESYNTAX when the line is malformed or out of place (the
 * reason in rsp_audit_archive_reader_error); the archive is then not verifiable. */
int rsp_audit_archive_reader_line(struct rsp_audit_archive_reader *r, const char *line, size_t len);
const char *rsp_audit_archive_reader_error(const struct rsp_audit_archive_reader *r);
/* The header once read, else NULL. */
const struct rsp_audit_archive_info *
rsp_audit_archive_reader_info(const struct rsp_audit_archive_reader *r);
/* True when the archive's key is one of the keys given to rsp_audit_archive_reader_new. */
bool rsp_audit_archive_reader_key_given(const struct rsp_audit_archive_reader *r);
/* End of the file: RSP_ESYNTAX when no header was read; else 0 with the result (the findings
 * say whether it verified). */
int rsp_audit_archive_reader_finish(struct rsp_audit_archive_reader *r,
                                    struct rsp_audit_verify_result *res);
void rsp_audit_archive_reader_free(struct rsp_audit_archive_reader *r);

#endif
