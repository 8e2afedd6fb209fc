/* Human-readable dump of BER-TLV data with SGP.22 names for the unambiguous tags, for operators
 * and test engineers chasing interop problems (`rspctl decode`). */
#ifndef RSP_TLVDUMP_H
#define RSP_TLVDUMP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* SGP.22 name of a tag that means the same thing wherever it appears (BF38, 5F37, E3, ...), or
 * NULL for context-specific tags such as 80. */
const char *rsp_tlv_tag_name(uint32_t tag);
/* Prints the TLV tree of p[0..n) to f, two spaces per level, descending into constructed values
 * up to max_depth. Malformed input is reported at the byte offset where it starts; returns 0 or
 * the RSP_E* of the first malformed element. */
int rsp_tlvdump(FILE *f, const uint8_t *p, size_t n, int max_depth);

#endif
