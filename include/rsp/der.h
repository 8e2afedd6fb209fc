/* Strict BER-TLV / DER codec (SGP.22 ES10 and ES8+ structures, X.509 fragments).
 *
 * Reader: definite lengths only, minimal length and tag encodings, tags of up to 4 bytes, every
 * length checked against the buffer. Nothing is copied: a parsed TLV points into the input.
 * Writer: appends to an rsp_buf; constructed values are opened with rsp_der_begin() and closed with
 * rsp_der_end(), which patches the length in place (one memmove of the content per level when the
 * length needs more than one byte, never a copy per element).
 */
#ifndef RSP_DER_H
#define RSP_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/buf.h"

/* A tag exactly as its bytes appear on the wire, packed big-endian: 0x30, 0x5A, 0xBF2E, 0x5F37. */
typedef uint32_t rsp_tag;

#define RSP_DER_MAX_TAG_BYTES 4 /* leading byte + up to 3 subsequent bytes */
#define RSP_DER_MAX_LEN_BYTES 4 /* 84 xx xx xx xx at most */
#define RSP_DER_MAX_DEPTH     32

struct rsp_tlv {
    rsp_tag tag;
    const uint8_t *raw; /* the whole TLV (tag, length, value): what a signature covers */
    size_t raw_len;
    const uint8_t *val; /* the value */
    size_t len;
};

/* True if the tag's leading byte has the constructed bit (0x20). */
bool rsp_tag_constructed(rsp_tag tag);
/* Number of bytes of the tag's encoding (1..4). */
size_t rsp_tag_size(rsp_tag tag);

/* Decodes the tag and length at p[0..n) without requiring the value to be present (for streamed
 * input such as the BF36 header that an LPA sends before the segments). */
int rsp_der_parse_header(const uint8_t *p, size_t n, rsp_tag *tag, size_t *hdr_len,
                         size_t *val_len);
/* Parses the first TLV of p[0..n) (value must be complete); trailing bytes are allowed. */
int rsp_der_parse(const uint8_t *p, size_t n, struct rsp_tlv *out);
/* Parses one TLV that must occupy exactly p[0..n): RSP_ETRAILING otherwise. */
int rsp_der_parse_one(const uint8_t *p, size_t n, struct rsp_tlv *out);
/* Like rsp_der_parse_one, and the tag must be `tag` (RSP_EUNEXPECTED otherwise). */
int rsp_der_parse_tag(const uint8_t *p, size_t n, rsp_tag tag, struct rsp_tlv *out);
/* Recursively checks that p[0..n) is a sequence of well-formed TLVs, descending into constructed
 * ones up to max_depth levels (RSP_EDEPTH beyond). */
int rsp_der_validate(const uint8_t *p, size_t n, int max_depth);

/* Iteration over consecutive sibling TLVs. */
struct rsp_der_iter {
    const uint8_t *p;
    const uint8_t *end;
};

void rsp_der_iter_init(struct rsp_der_iter *it, const uint8_t *p, size_t n);
/* Iterates over the value of a (constructed) TLV. */
void rsp_der_iter_value(struct rsp_der_iter *it, const struct rsp_tlv *parent);
bool rsp_der_iter_done(const struct rsp_der_iter *it);
/* 1 and *out filled if another TLV follows, 0 at the end, negative RSP_E* if malformed. */
int rsp_der_next(struct rsp_der_iter *it, struct rsp_tlv *out);
/* Tag of the next element without consuming it: 1 found, 0 at end, negative if malformed. */
int rsp_der_peek(const struct rsp_der_iter *it, rsp_tag *tag);
/* Optional element in a SEQUENCE: if the next element has `tag`, consumes it and returns 1;
 * otherwise consumes nothing and returns 0; negative if malformed. */
int rsp_der_opt(struct rsp_der_iter *it, rsp_tag tag, struct rsp_tlv *out);
/* Mandatory element: 0 when consumed; RSP_EMISSING at the end, RSP_EUNEXPECTED for another tag. */
int rsp_der_req(struct rsp_der_iter *it, rsp_tag tag, struct rsp_tlv *out);
/* End of a SEQUENCE with EXTENSIBILITY IMPLIED: the remaining elements (unknown extensions) are
 * skipped but must be well-formed. 0 or negative. */
int rsp_der_finish(struct rsp_der_iter *it);
/* Like rsp_der_finish, but nothing may remain (RSP_ETRAILING). */
int rsp_der_finish_strict(struct rsp_der_iter *it);
/* Finds the first sibling with `tag` in p[0..n): 1 found, 0 absent, negative if malformed. */
int rsp_der_find(const uint8_t *p, size_t n, rsp_tag tag, struct rsp_tlv *out);

/* Primitive values (contents of an already parsed TLV; the tag is not checked). */
/* Non-negative INTEGER, minimal encoding, fitting in 64 bits. */
int rsp_der_get_uint(const struct rsp_tlv *t, uint64_t *out);
/* Signed INTEGER, minimal encoding, fitting in 64 bits. */
int rsp_der_get_int(const struct rsp_tlv *t, int64_t *out);
/* BOOLEAN in DER form: 00 or FF. */
int rsp_der_get_bool(const struct rsp_tlv *t, bool *out);
/* BIT STRING: *bits points to the bit bytes, *nbits is the number of significant bits. */
int rsp_der_get_bits(const struct rsp_tlv *t, const uint8_t **bits, size_t *nbits);
/* True if bit `i` (0 = most significant bit of the first byte, as ASN.1 numbers named bits) is set.
 */
bool rsp_der_bit(const uint8_t *bits, size_t nbits, size_t i);

/* OBJECT IDENTIFIER contents <-> dotted text ("2.999.10"). Arcs up to 64 bits; the first
 * sub-identifier may exceed 80 (arc 2.x with x >= 40). */
int rsp_oid_to_str(const uint8_t *val, size_t len, char *out, size_t outlen);
int rsp_oid_from_str(struct rsp_buf *out, const char *dotted);

/* Writer. All functions append to b and return 0 or the sticky error of b. */
size_t rsp_der_len_size(size_t len);
int rsp_der_put_header(struct rsp_buf *b, rsp_tag tag, size_t len);
int rsp_der_put(struct rsp_buf *b, rsp_tag tag, const void *val, size_t len);
int rsp_der_put_uint(struct rsp_buf *b, rsp_tag tag, uint64_t v);
int rsp_der_put_int(struct rsp_buf *b, rsp_tag tag, int64_t v);
int rsp_der_put_bool(struct rsp_buf *b, rsp_tag tag, bool v);
/* BIT STRING of nbits bits taken from bits[] (MSB first). */
int rsp_der_put_bits(struct rsp_buf *b, rsp_tag tag, const uint8_t *bits, size_t nbits);
/* NamedBitList BIT STRING in DER form: trailing zero bits are removed. */
int rsp_der_put_named_bits(struct rsp_buf *b, rsp_tag tag, const uint8_t *bits, size_t nbits);
int rsp_der_put_oid(struct rsp_buf *b, rsp_tag tag, const char *dotted);
/* Opens a constructed TLV; returns a mark for rsp_der_end(). */
size_t rsp_der_begin(struct rsp_buf *b, rsp_tag tag);
/* Closes the TLV opened at `mark`, writing its definite minimal length. */
int rsp_der_end(struct rsp_buf *b, size_t mark);

#endif
