/* Internal helpers of lib/saip (kept local so the codec layer depends only on der and util). */
#ifndef RSP_SAIP_INT_H
#define RSP_SAIP_INT_H

#include <stddef.h>
#include <stdint.h>

/* Swaps the two nibbles of each byte (SAIP header ICCID <-> EF.ICCID form). */
void saip_bcd_swap(uint8_t *dst, const uint8_t *src, size_t n);
/* UTF-8 form of a character of the 3GPP TS 23.038 default alphabet (unpacked, one byte per
 * character); NULL for the escape (1B) and values above 7F. */
const char *saip_gsm7_to_utf8(uint8_t c);
/* Default-alphabet code of an ASCII character that has one, -1 otherwise. */
int saip_gsm7_from_ascii(char c);

#endif
