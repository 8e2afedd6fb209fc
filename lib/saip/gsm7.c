/* Small helpers: BCD nibble swap, 3GPP TS 23.038 §6.2.1 default alphabet. */
#include "saip_int.h"

void saip_bcd_swap(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (uint8_t)((src[i] << 4) | (src[i] >> 4));
}

/* Code points 00..7F of the default alphabet; 1B (escape to the extension table) is NULL. */
static const char *const gsm7[128] = {
    "@",        "\xC2\xA3", "$",        "\xC2\xA5", "\xC3\xA8", "\xC3\xA9", "\xC3\xB9", "\xC3\xAC",
    "\xC3\xB2", "\xC3\x87", "\n",       "\xC3\x98", "\xC3\xB8", "\r",       "\xC3\x85", "\xC3\xA5",
    "\xCE\x94", "_",        "\xCE\xA6", "\xCE\x93", "\xCE\x9B", "\xCE\xA9", "\xCE\xA0", "\xCE\xA8",
    "\xCE\xA3", "\xCE\x98", "\xCE\x9E", NULL,       "\xC3\x86", "\xC3\xA6", "\xC3\x9F", "\xC3\x89",
    " ",        "!",        "\"",       "#",        "\xC2\xA4", "%",        "&",        "'",
    "(",        ")",        "*",        "+",        ",",        "-",        ".",        "/",
    "0",        "1",        "2",        "3",        "4",        "5",        "6",        "7",
    "8",        "9",        ":",        ";",        "<",        "=",        ">",        "?",
    "\xC2\xA1", "A",        "B",        "C",        "D",        "E",        "F",        "G",
    "H",        "I",        "J",        "K",        "L",        "M",        "N",        "O",
    "P",        "Q",        "R",        "S",        "T",        "U",        "V",        "W",
    "X",        "Y",        "Z",        "\xC3\x84", "\xC3\x96", "\xC3\x91", "\xC3\x9C", "\xC2\xA7",
    "\xC2\xBF", "a",        "b",        "c",        "d",        "e",        "f",        "g",
    "h",        "i",        "j",        "k",        "l",        "m",        "n",        "o",
    "p",        "q",        "r",        "s",        "t",        "u",        "v",        "w",
    "x",        "y",        "z",        "\xC3\xA4", "\xC3\xB6", "\xC3\xB1", "\xC3\xBC", "\xC3\xA0",
};

const char *saip_gsm7_to_utf8(uint8_t c)
{
    return c < 128 ? gsm7[c] : NULL;
}

int saip_gsm7_from_ascii(char c)
{
    if (c == '@')
        return 0x00;
    if (c == '$')
        return 0x02;
    if (c == '_')
        return 0x11;
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return (unsigned char)c;
    if (c == ' ' || c == '!' || c == '"' || c == '#' || (c >= '%' && c <= '/') ||
        (c >= ':' && c <= '?'))
        return (unsigned char)c;
    return -1;
}
