/* Unit tests: SGP.22 identifiers, activation codes, hashCc and the ES10 codecs. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/sgp22_es10.h"
#include "rsp/sgp22_types.h"

/* --- TransactionID ------------------------------------------------------------------------------
 */

static void test_tid(void **state)
{
    struct rsp_tid a, b;
    char hex[33];
    assert_int_equal(rsp_tid_from_hex("d0a956cd160143f194E0A2D002018770", &a), 0);
    assert_int_equal(a.len, 16);
    assert_int_equal(a.b[0], 0xD0);
    rsp_tid_to_hex(&a, hex);
    assert_string_equal(hex, "D0A956CD160143F194E0A2D002018770");
    assert_int_equal(rsp_tid_from_hex("D0A956CD160143F194E0A2D002018770", &b), 0);
    assert_true(rsp_tid_equal(&a, &b));
    assert_int_equal(rsp_tid_from_hex("01", &b), 0);
    assert_int_equal(b.len, 1);
    assert_false(rsp_tid_equal(&a, &b));

    struct rsp_tid keep = b;
    assert_int_equal(rsp_tid_from_hex("", &b), RSP_ESYNTAX);
    assert_int_equal(rsp_tid_from_hex("0", &b), RSP_ESYNTAX);
    assert_int_equal(rsp_tid_from_hex("012", &b), RSP_ESYNTAX);
    assert_int_equal(rsp_tid_from_hex("0g", &b), RSP_ESYNTAX);
    assert_int_equal(rsp_tid_from_hex("000102030405060708090a0b0c0d0e0f10", &b), RSP_ESYNTAX);
    assert_memory_equal(&b, &keep, sizeof b);
}

/* --- ICCID --------------------------------------------------------------------------------------
 */

static void test_iccid(void **state)
{
    struct rsp_iccid ic;
    char s[21];
    assert_int_equal(rsp_iccid_from_str("8949449999999990056", &ic), 0);
    tu_assert_hex(ic.b, sizeof ic.b, "98 94 44 99 99 99 99 09 50 F6");
    assert_int_equal(rsp_iccid_to_str(&ic, s), 0);
    assert_string_equal(s, "8949449999999990056");
    /* trailing F pad, either case, gives the same */
    struct rsp_iccid ic2;
    assert_int_equal(rsp_iccid_from_str("8949449999999990056F", &ic2), 0);
    assert_memory_equal(ic.b, ic2.b, 10);
    assert_int_equal(rsp_iccid_from_str("8949449999999990056f", &ic2), 0);
    assert_memory_equal(ic.b, ic2.b, 10);
    /* 20 digits and 18 digits */
    assert_int_equal(rsp_iccid_from_str("89010012345678901234", &ic2), 0);
    tu_assert_hex(ic2.b, 10, "98 10 00 21 43 65 87 09 21 43");
    assert_int_equal(rsp_iccid_to_str(&ic2, s), 0);
    assert_string_equal(s, "89010012345678901234");
    assert_int_equal(rsp_iccid_from_str("890100123456789012", &ic2), 0);
    tu_assert_hex(ic2.b, 10, "98 10 00 21 43 65 87 09 21 FF");
    assert_int_equal(rsp_iccid_to_str(&ic2, s), 0);
    assert_string_equal(s, "890100123456789012");

    /* refusals */
    assert_int_equal(rsp_iccid_from_str("89010012345678901", &ic2), RSP_ESYNTAX);     /* 17 */
    assert_int_equal(rsp_iccid_from_str("890100123456789012345", &ic2), RSP_ESYNTAX); /* 21 */
    assert_int_equal(rsp_iccid_from_str("89010012345678901F2", &ic2), RSP_ESYNTAX);   /* F inside */
    assert_int_equal(rsp_iccid_from_str("8901001234567890123A", &ic2), RSP_ESYNTAX);
    assert_int_equal(rsp_iccid_from_str("8949449999999990056FF", &ic2), RSP_ESYNTAX);
    assert_int_equal(rsp_iccid_from_str("", &ic2), RSP_ESYNTAX);
    assert_int_equal(rsp_iccid_from_str(" 8949449999999990056", &ic2), RSP_ESYNTAX);

    /* to_str: non-decimal nibble, digit after padding, too few digits */
    struct rsp_iccid bad = {{0x98, 0x94, 0x44, 0x99, 0x99, 0x99, 0x99, 0x09, 0x50, 0xA6}};
    assert_int_equal(rsp_iccid_to_str(&bad, s), RSP_ESYNTAX);
    struct rsp_iccid bad2 = {{0x98, 0x94, 0x44, 0x99, 0x99, 0x99, 0x99, 0x09, 0xF0, 0x66}};
    assert_int_equal(rsp_iccid_to_str(&bad2, s), RSP_ESYNTAX);
    struct rsp_iccid shortid = {{0x98, 0x94, 0x44, 0x99, 0x99, 0x99, 0x99, 0x09, 0xFF, 0xFF}};
    assert_int_equal(rsp_iccid_to_str(&shortid, s), RSP_ESYNTAX);

    /* Luhn check digit (E.118), separate from the syntax check */
    assert_true(rsp_iccid_luhn_ok("8949449999999990056"));
    assert_true(rsp_iccid_luhn_ok("8949449999999990056F"));
    assert_true(rsp_iccid_luhn_ok("89000123456789012341"));
    assert_false(rsp_iccid_luhn_ok("8949449999999990057"));
    assert_false(rsp_iccid_luhn_ok("89010012345678901234"));
    assert_false(rsp_iccid_luhn_ok("894944999999999005X"));
    assert_false(rsp_iccid_luhn_ok(""));

    /* EF.ICCID form <-> SAIP header form */
    uint8_t swapped[10];
    rsp_bcd_swap(swapped, ic.b, 10);
    tu_assert_hex(swapped, 10, "89 49 44 99 99 99 99 90 05 6F");
    rsp_bcd_swap(swapped, swapped, 10); /* in place */
    assert_memory_equal(swapped, ic.b, 10);
}

/* --- EID ----------------------------------------------------------------------------------------
 */

static void test_eid(void **state)
{
    struct rsp_eid e;
    char s[33];
    /* SGP.26 test EID */
    assert_int_equal(rsp_eid_from_str("89049032123451234512345678901235", &e), 0);
    tu_assert_hex(e.b, 16, "89049032123451234512345678901235");
    rsp_eid_to_str(&e, s);
    assert_string_equal(s, "89049032123451234512345678901235");
    assert_int_equal(rsp_eid_complete("890490321234512345123456789012", s), 0);
    assert_string_equal(s, "89049032123451234512345678901235");
    /* the second vector of sgp22-notes §9 */
    assert_int_equal(rsp_eid_from_str("89049032123451234512345678901335", &e), RSP_ERANGE);
    assert_int_equal(rsp_eid_complete("890490321234512345123456789013", s), 0);
    assert_int_equal(rsp_eid_from_str(s, &e), 0);

    struct rsp_eid keep;
    memset(&keep, 0x55, sizeof keep);
    e = keep;
    assert_int_equal(rsp_eid_from_str("89049032123451234512345678901236", &e), RSP_ERANGE);
    assert_int_equal(rsp_eid_from_str("8904903212345123451234567890123", &e), RSP_ESYNTAX);
    assert_int_equal(rsp_eid_from_str("890490321234512345123456789012355", &e), RSP_ESYNTAX);
    assert_int_equal(rsp_eid_from_str("8904903212345123451234567890123A", &e), RSP_ESYNTAX);
    assert_memory_equal(&e, &keep, sizeof e);
    assert_int_equal(rsp_eid_complete("89049032123451234512345678901", s), RSP_ESYNTAX);
    assert_int_equal(rsp_eid_complete("89049032123451234512345678901x", s), RSP_ESYNTAX);

    /* every completed EID verifies */
    char first[31];
    for (int i = 0; i < 200; i++) {
        snprintf(first, sizeof first, "8904903200000000000000%08d", i * 7919);
        assert_int_equal(rsp_eid_complete(first, s), 0);
        assert_int_equal(rsp_eid_from_str(s, &e), 0);
    }
}

/* --- Activation codes (SGP.22 §4.1, sgp22-notes §1)
 * ----------------------------------------------- */

static void ac_roundtrip(const char *s, const char *addr, const char *mid, const char *oid, bool cc)
{
    struct rsp_activation_code ac;
    bool lpa = strncmp(s, "LPA:", 4) == 0;
    assert_int_equal(rsp_actcode_parse(s, strlen(s), &ac), 0);
    assert_string_equal(ac.smdp_address, addr);
    assert_string_equal(ac.matching_id, mid);
    assert_string_equal(ac.smdp_oid, oid);
    assert_int_equal(ac.cc_required, cc);
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_actcode_format(&ac, lpa, &b), 0);
    assert_int_equal(b.len, strlen(s));
    assert_memory_equal(b.data, s, b.len);
    rsp_buf_free(&b);
}

static void test_actcode_examples(void **state)
{
    /* §4.1 examples */
    ac_roundtrip("1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815", "SMDP.GSMA.COM",
                 "04386-AGYFT-A74Y8-3F815", "", false);
    ac_roundtrip("1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$$1", "SMDP.GSMA.COM",
                 "04386-AGYFT-A74Y8-3F815", "", true);
    ac_roundtrip("1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$1.3.6.1.4.1.31746$1", "SMDP.GSMA.COM",
                 "04386-AGYFT-A74Y8-3F815", "1.3.6.1.4.1.31746", true);
    ac_roundtrip("1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$1.3.6.1.4.1.31746", "SMDP.GSMA.COM",
                 "04386-AGYFT-A74Y8-3F815", "1.3.6.1.4.1.31746", false);
    ac_roundtrip("1$SMDP.GSMA.COM$$1.3.6.1.4.1.31746", "SMDP.GSMA.COM", "", "1.3.6.1.4.1.31746",
                 false);
    /* sgp22-notes §1 */
    ac_roundtrip("LPA:1$smdp.example.com$ABC-123", "smdp.example.com", "ABC-123", "", false);
    ac_roundtrip("1$host$TOKEN$$1", "host", "TOKEN", "", true);
    /* The notes' "1$host$token$$1": a lower-case token, outside §4.1.1's set but handed out by
     * independent SM-DP+s, is accepted; white space and control characters are not. */
    ac_roundtrip("1$host$token$$1", "host", "token", "", true);
    struct rsp_activation_code ac;
    assert_int_equal(rsp_actcode_parse("1$host$to ken$$1", 16, &ac), RSP_ESYNTAX);
    assert_int_equal(rsp_actcode_parse("1$host$to\tken", 14, &ac), RSP_ESYNTAX);
}

static void test_actcode_rules(void **state)
{
    struct rsp_activation_code ac;
    const char *s;
    /* QR form, port, empty matching ID */
    ac_roundtrip("LPA:1$testsmdpplus1.example.com:8443$TS48V2-SAIP2-1-BERTLV-UNIQUE",
                 "testsmdpplus1.example.com:8443", "TS48V2-SAIP2-1-BERTLV-UNIQUE", "", false);
    ac_roundtrip("1$SMDP.GSMA.COM$", "SMDP.GSMA.COM", "", "", false);

    /* CC flag counts only when exactly "1" */
    s = "1$SMDP.GSMA.COM$ABC$$0";
    assert_int_equal(rsp_actcode_parse(s, strlen(s), &ac), 0);
    assert_false(ac.cc_required);
    s = "1$SMDP.GSMA.COM$ABC$$11";
    assert_int_equal(rsp_actcode_parse(s, strlen(s), &ac), 0);
    assert_false(ac.cc_required);
    s = "1$SMDP.GSMA.COM$ABC$1.2.3$";
    assert_int_equal(rsp_actcode_parse(s, strlen(s), &ac), 0);
    assert_false(ac.cc_required);
    assert_string_equal(ac.smdp_oid, "1.2.3");

    /* §4.1: a delimiter and parameters after the CC flag are ignored (not rejected) */
    s = "1$SMDP.GSMA.COM$ABC$1.2.3$1$FUTURE$MORE";
    assert_int_equal(rsp_actcode_parse(s, strlen(s), &ac), 0);
    assert_true(ac.cc_required);
    assert_string_equal(ac.smdp_oid, "1.2.3");

    /* the length argument is honoured (no NUL needed) */
    s = "1$SMDP.GSMA.COM$ABC$$1";
    assert_int_equal(rsp_actcode_parse(s, strlen(s) - 3, &ac), 0);
    assert_false(ac.cc_required);
    assert_string_equal(ac.matching_id, "ABC");
}

static void test_actcode_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "LPA:",
        "1",
        "1$SMDP.GSMA.COM",             /* no matching ID field */
        "2$SMDP.GSMA.COM$ABC",         /* AC_Format */
        "11$SMDP.GSMA.COM$ABC",        /* AC_Format */
        "$SMDP.GSMA.COM$ABC",          /* AC_Format missing */
        "1$$ABC",                      /* address missing */
        "1$SMDP$GSMA.COM$ABC",         /* '$' inside the address: '.' lands in the token */
        "1$SMDP.GSMA.COM$AB$C$1.2",    /* '$' inside the token: "C" is not an OID */
        "1$SMDP.GSMA.COM$A C",         /* white space in the token */
        "1$SMDP.GSMA.COM$A\x7f",       /* control character in the token */
        "1$SMDP GSMA.COM$ABC",         /* space */
        " 1$SMDP.GSMA.COM$ABC",        /* no trimming */
        "1$SMDP.GSMA.COM$ABC\n",       /* no trimming */
        "lpa:1$SMDP.GSMA.COM$ABC",     /* the prefix is "LPA:" */
        "1$-SMDP.GSMA.COM$ABC",        /* label starts with '-' */
        "1$SMDP..GSMA.COM$ABC",        /* empty label */
        "1$SMDP.GSMA.COM.$ABC",        /* trailing dot */
        "1$SMDP.GSMA.COM:$ABC",        /* empty port */
        "1$SMDP.GSMA.COM:0$ABC",       /* port 0 */
        "1$SMDP.GSMA.COM:65536$ABC",   /* port out of range */
        "1$SMDP.GSMA.COM$ABC$1.3.6.x", /* OID */
        "1$SMDP.GSMA.COM$ABC$3.1",     /* OID first arc */
        "1$SMDP.GSMA.COM$ABC$1",       /* OID with one arc */
        "1$SMDP.GSMA.COM$ABC$1..2",    /* OID empty arc */
        "1$SMDP.GSMA.COM$ABC$1.02",    /* OID leading zero */
        "LPA:LPA:1$SMDP.GSMA.COM$ABC", /* prefix twice */
    };
    struct rsp_activation_code ac, keep;
    memset(&keep, 0x5A, sizeof keep);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ac = keep;
        int rc = rsp_actcode_parse(bad[i], strlen(bad[i]), &ac);
        if (rc != RSP_ESYNTAX)
            fail_msg("accepted or wrong code %d: \"%s\"", rc, bad[i]);
        assert_memory_equal(&ac, &keep, sizeof ac);
    }
    /* an embedded NUL */
    ac = keep;
    assert_int_equal(rsp_actcode_parse("1$A.B$C\0D", 9, &ac), RSP_ESYNTAX);
    assert_memory_equal(&ac, &keep, sizeof ac);

    /* overlong: the whole code is at most 255 characters (§4.1), without the "LPA:" prefix */
    char big[400];
    memcpy(big, "LPA:1$SMDP.GSMA.COM$", 20);
    memset(big + 20, 'A', 239);
    big[259] = 0;
    assert_int_equal(strlen(big + 4), 255);
    assert_int_equal(rsp_actcode_parse(big, strlen(big), &ac), 0);
    assert_int_equal(strlen(ac.matching_id), 239);
    big[259] = 'A';
    big[260] = 0;
    ac = keep;
    assert_int_equal(rsp_actcode_parse(big, strlen(big), &ac), RSP_ESYNTAX);
    assert_memory_equal(&ac, &keep, sizeof ac);
    /* overlong address label */
    memcpy(big, "1$", 2);
    memset(big + 2, 'a', 64);
    memcpy(big + 66, ".com$ABC", 9);
    ac = keep;
    assert_int_equal(rsp_actcode_parse(big, strlen(big), &ac), RSP_ESYNTAX);
    assert_memory_equal(&ac, &keep, sizeof ac);
}

static void test_actcode_format(void **state)
{
    struct rsp_activation_code ac;
    struct rsp_buf b = RSP_BUF_INIT;
    memset(&ac, 0, sizeof ac);
    strcpy(ac.smdp_address, "smdp.example.com");
    strcpy(ac.matching_id, "ABC");
    ac.cc_required = true;
    assert_int_equal(rsp_actcode_format(&ac, true, &b), 0);
    assert_int_equal(b.len, strlen("LPA:1$smdp.example.com$ABC$$1"));
    assert_memory_equal(b.data, "LPA:1$smdp.example.com$ABC$$1", b.len);

    /* invalid structs: no output at all */
    rsp_buf_reset(&b);
    ac.smdp_address[0] = 0;
    assert_int_equal(rsp_actcode_format(&ac, false, &b), RSP_ESYNTAX);
    assert_int_equal(b.len, 0);
    strcpy(ac.smdp_address, "smdp.example.com");
    strcpy(ac.matching_id, "A$B");
    assert_int_equal(rsp_actcode_format(&ac, false, &b), RSP_ESYNTAX);
    strcpy(ac.matching_id, "ABC");
    strcpy(ac.smdp_oid, "1.2.x");
    assert_int_equal(rsp_actcode_format(&ac, false, &b), RSP_ESYNTAX);
    ac.smdp_oid[0] = 0;
    memset(ac.matching_id, 'A', RSP_AC_FIELD_MAX);
    ac.matching_id[RSP_AC_FIELD_MAX] = 0;
    assert_int_equal(rsp_actcode_format(&ac, false, &b), RSP_ERANGE); /* > 255 in total */
    memset(ac.matching_id, 'A', sizeof ac.matching_id);               /* not terminated */
    assert_int_equal(rsp_actcode_format(&ac, false, &b), RSP_ESYNTAX);
    assert_int_equal(b.len, 0);
    rsp_buf_free(&b);
}

/* --- hashCc (§3.1.3) ---------------------------------------------------------------------------
 */

static void test_hash_cc(void **state)
{
    struct rsp_tid tid;
    uint8_t h[32];
    assert_int_equal(rsp_tid_from_hex("0123456789ABCDEF0123456789ABCDEF", &tid), 0);
    assert_int_equal(rsp_hash_cc("12345678", 8, &tid, h), 0);
    /* Computed independently with:
     *   { printf '%s' 12345678 | openssl dgst -sha256 -binary;
     *     printf '\x01\x23\x45\x67\x89\xAB\xCD\xEF\x01\x23\x45\x67\x89\xAB\xCD\xEF'; } |
     *   openssl dgst -sha256 */
    tu_assert_hex(h, 32, "a1370440a38ba522a1518b10200ec765da6a7b2e5afd2a696de8592fd4a0928f");
    struct rsp_tid empty = {{0}, 0};
    assert_int_equal(rsp_hash_cc("12345678", 8, &empty, h), RSP_EINVAL);
}

/* --- ES10 helpers -------------------------------------------------------------------------------
 */

/* Encodes with `rc_expr` into b and compares with hex. */
#define ASSERT_ENC(b, call, hex)                                                                   \
    do {                                                                                           \
        rsp_buf_reset(&(b));                                                                       \
        assert_int_equal((call), 0);                                                               \
        tu_assert_hex((b).data, (b).len, (hex));                                                   \
    } while (0)

static const char AID_HEX[] = "A0000005591010FFFFFFFF8900001000";

static void test_es10_empty_and_results(void **state)
{
    struct rsp_buf b = RSP_BUF_INIT, in;
    static const rsp_tag tags[] = {RSP_ES10_TAG_EUICC_CHALLENGE, RSP_ES10_TAG_EUICC_INFO1,
                                   RSP_ES10_TAG_EUICC_INFO2,
                                   RSP_ES10_TAG_EUICC_CONFIGURED_ADDRESSES, RSP_ES10_TAG_GET_RAT};
    static const char *const hex[] = {"BF2E00", "BF2000", "BF2200", "BF3C00", "BF4300"};
    for (size_t i = 0; i < 5; i++) {
        ASSERT_ENC(b, rsp_es10_empty_encode(tags[i], &b), hex[i]);
        assert_int_equal(rsp_es10_empty_decode(tags[i], b.data, b.len), 0);
        rsp_tag t;
        assert_int_equal(rsp_es10_peek_tag(b.data, b.len, &t), 0);
        assert_int_equal(t, tags[i]);
    }
    in = tu_hex("BF2E 03 80 01 00"); /* an extension element is tolerated */
    assert_int_equal(rsp_es10_empty_decode(RSP_ES10_TAG_EUICC_CHALLENGE, in.data, in.len), 0);
    assert_int_equal(rsp_es10_empty_decode(RSP_ES10_TAG_EUICC_INFO1, in.data, in.len),
                     RSP_EUNEXPECTED);
    rsp_buf_free(&in);
    in = tu_hex("BF2E 00 00");
    assert_int_equal(rsp_es10_empty_decode(RSP_ES10_TAG_EUICC_CHALLENGE, in.data, in.len),
                     RSP_ETRAILING);
    rsp_buf_free(&in);
    in = tu_hex("BF2E 02 80 01");
    assert_int_equal(rsp_es10_empty_decode(RSP_ES10_TAG_EUICC_CHALLENGE, in.data, in.len),
                     RSP_ETRUNC);
    rsp_buf_free(&in);

    /* single-result responses */
    ASSERT_ENC(b, rsp_es10_enable_resp_encode(RSP_ENABLE_CAT_BUSY, &b), "BF31 03 80 01 05");
    enum rsp_enable_result er;
    assert_int_equal(rsp_es10_enable_resp_decode(b.data, b.len, &er), 0);
    assert_int_equal(er, RSP_ENABLE_CAT_BUSY);
    ASSERT_ENC(b, rsp_es10_disable_resp_encode(RSP_DISABLE_UNDEFINED_ERROR, &b),
               "BF32 03 80 01 7F");
    enum rsp_disable_result dr;
    assert_int_equal(rsp_es10_disable_resp_decode(b.data, b.len, &dr), 0);
    assert_int_equal(dr, RSP_DISABLE_UNDEFINED_ERROR);
    ASSERT_ENC(b, rsp_es10_delete_resp_encode(RSP_DELETE_OK, &b), "BF33 03 80 01 00");
    enum rsp_delete_result xr;
    assert_int_equal(rsp_es10_delete_resp_decode(b.data, b.len, &xr), 0);
    assert_int_equal(xr, RSP_DELETE_OK);
    ASSERT_ENC(b, rsp_es10_memory_reset_resp_encode(RSP_RESET_NOTHING_TO_DELETE, &b),
               "BF34 03 80 01 01");
    enum rsp_reset_result rr;
    assert_int_equal(rsp_es10_memory_reset_resp_decode(b.data, b.len, &rr), 0);
    assert_int_equal(rr, RSP_RESET_NOTHING_TO_DELETE);
    ASSERT_ENC(b, rsp_es10_set_nickname_resp_encode(RSP_SET_NICKNAME_ICCID_NOT_FOUND, &b),
               "BF29 03 80 01 01");
    enum rsp_set_nickname_result nr;
    assert_int_equal(rsp_es10_set_nickname_resp_decode(b.data, b.len, &nr), 0);
    assert_int_equal(nr, RSP_SET_NICKNAME_ICCID_NOT_FOUND);
    ASSERT_ENC(b, rsp_es10_notif_sent_resp_encode(RSP_NOTIF_SENT_OK, &b), "BF30 03 80 01 00");
    enum rsp_notification_sent_result sr;
    assert_int_equal(rsp_es10_notif_sent_resp_decode(b.data, b.len, &sr), 0);
    assert_int_equal(sr, RSP_NOTIF_SENT_OK);
    ASSERT_ENC(b, rsp_es10_set_default_dp_resp_encode(RSP_SET_DEFAULT_DP_UNDEFINED_ERROR, &b),
               "BF3F 03 80 01 7F");
    enum rsp_set_default_dp_result pr;
    assert_int_equal(rsp_es10_set_default_dp_resp_decode(b.data, b.len, &pr), 0);
    assert_int_equal(pr, RSP_SET_DEFAULT_DP_UNDEFINED_ERROR);
    /* wrong response tag, negative or missing value */
    assert_int_equal(rsp_es10_enable_resp_decode(b.data, b.len, &er), RSP_EUNEXPECTED);
    in = tu_hex("BF31 03 80 01 FF");
    assert_int_equal(rsp_es10_enable_resp_decode(in.data, in.len, &er), RSP_ERANGE);
    rsp_buf_free(&in);
    in = tu_hex("BF31 00");
    assert_int_equal(rsp_es10_enable_resp_decode(in.data, in.len, &er), RSP_EMISSING);
    rsp_buf_free(&in);
    in = tu_hex("BF31 03 81 01 00");
    assert_int_equal(rsp_es10_enable_resp_decode(in.data, in.len, &er), RSP_EUNEXPECTED);
    rsp_buf_free(&in);
    rsp_buf_free(&b);
}

static void test_es10_challenge_eid(void **state)
{
    struct rsp_buf b = RSP_BUF_INIT, in;
    uint8_t ch[16], ch2[16];
    for (int i = 0; i < 16; i++)
        ch[i] = (uint8_t)(0xA0 + i);
    ASSERT_ENC(b, rsp_es10_challenge_encode(ch, &b),
               "BF2E 12 80 10 A0A1A2A3A4A5A6A7A8A9AAABACADAEAF");
    assert_int_equal(rsp_es10_challenge_decode(b.data, b.len, ch2), 0);
    assert_memory_equal(ch, ch2, 16);
    in = tu_hex("BF2E 11 80 0F A0A1A2A3A4A5A6A7A8A9AAABACADAE");
    assert_int_equal(rsp_es10_challenge_decode(in.data, in.len, ch2), RSP_ERANGE);
    rsp_buf_free(&in);

    /* GetEID (sgp22-notes §3.5) */
    ASSERT_ENC(b, rsp_es10_get_eid_encode(&b), "BF3E 03 5C 01 5A");
    uint8_t tl = 0;
    assert_int_equal(rsp_es10_get_euicc_data_decode(b.data, b.len, &tl), 0);
    assert_int_equal(tl, 0x5A);
    in = tu_hex("BF3E 04 5C 02 5A 4F"); /* v2.2: Octet1 */
    assert_int_equal(rsp_es10_get_euicc_data_decode(in.data, in.len, &tl), RSP_ERANGE);
    rsp_buf_free(&in);
    in = tu_hex("BF3E 00");
    assert_int_equal(rsp_es10_get_euicc_data_decode(in.data, in.len, &tl), RSP_EMISSING);
    rsp_buf_free(&in);

    struct rsp_eid eid, eid2;
    assert_int_equal(rsp_eid_from_str("89049032123451234512345678901235", &eid), 0);
    ASSERT_ENC(b, rsp_es10_eid_encode(&eid, &b), "BF3E 12 5A 10 89049032123451234512345678901235");
    assert_int_equal(rsp_es10_eid_decode(b.data, b.len, &eid2), 0);
    assert_memory_equal(eid.b, eid2.b, 16);
    in = tu_hex("BF3E 11 5A 0F 890490321234512345123456789012");
    assert_int_equal(rsp_es10_eid_decode(in.data, in.len, &eid2), RSP_ERANGE);
    rsp_buf_free(&in);
    rsp_buf_free(&b);
}

/* --- EUICCInfo1 / EUICCInfo2 ------------------------------------------------------------------ */

/* From ../shared/testdata/osmo-smdpp-session/asn1-encodings.txt (pySim encodings). */
static const char INFO1_HEX[] = "bf20358203020200a9160414000102030405060708090a0b0c0d0e0f10111213"
                                "aa160414000102030405060708090a0b0c0d0e0f10111213";
static const char INFO2_HEX[] =
    "bf226381030203018203020200830301000084038101008504000000008603030100870302030088020480a916"
    "0414000102030405060708090a0b0c0d0e0f10111213aa160414000102030405060708090a0b0c0d0e0f101112"
    "138b010104030000010c0158";

static void test_euicc_info1(void **state)
{
    struct rsp_buf in = tu_hex(INFO1_HEX), b = RSP_BUF_INIT;
    struct rsp_euicc_info1 i1;
    assert_int_equal(rsp_euicc_info1_decode(in.data, in.len, &i1), 0);
    tu_assert_hex(i1.svn, 3, "020200");
    assert_int_equal(i1.ci_verify.n, 1);
    assert_int_equal(i1.ci_sign.n, 1);
    tu_assert_hex(i1.ci_verify.id[0].p, i1.ci_verify.id[0].len,
                  "000102030405060708090a0b0c0d0e0f10111213");
    ASSERT_ENC(b, rsp_euicc_info1_encode(&i1, &b), INFO1_HEX);

    /* too many PKIds: 9 */
    struct rsp_buf big = RSP_BUF_INIT;
    size_t m = rsp_der_begin(&big, 0xBF20);
    rsp_der_put(&big, 0x82, "\x02\x02\x00", 3);
    size_t m2 = rsp_der_begin(&big, 0xA9);
    for (int i = 0; i < RSP_ES10_MAX_CI_PKIDS + 1; i++)
        rsp_der_put(&big, 0x04, in.data + 10, 20);
    rsp_der_end(&big, m2);
    rsp_der_put(&big, 0xAA, NULL, 0);
    rsp_der_end(&big, m);
    assert_int_equal(big.err, 0);
    assert_int_equal(rsp_euicc_info1_decode(big.data, big.len, &i1), RSP_ERANGE);
    i1.ci_sign.n = RSP_ES10_MAX_CI_PKIDS + 1;
    rsp_buf_reset(&b);
    assert_int_equal(rsp_euicc_info1_encode(&i1, &b), RSP_ERANGE);
    rsp_buf_free(&big);
    /* svn of 2 bytes */
    struct rsp_buf s = tu_hex("BF20 08 82 02 0202 A9 00 AA 00");
    assert_int_equal(rsp_euicc_info1_decode(s.data, s.len, &i1), RSP_ERANGE);
    rsp_buf_free(&s);
    /* an element other than an OCTET STRING in a list */
    s = tu_hex("BF20 0B 82 03 020200 A9 02 05 00 AA 00");
    assert_int_equal(rsp_euicc_info1_decode(s.data, s.len, &i1), RSP_EUNEXPECTED);
    rsp_buf_free(&s);
    rsp_buf_free(&in);
    rsp_buf_free(&b);
}

static void test_euicc_info2(void **state)
{
    struct rsp_buf in = tu_hex(INFO2_HEX), b = RSP_BUF_INIT;
    struct rsp_euicc_info2 i2;
    assert_int_equal(rsp_euicc_info2_decode(in.data, in.len, &i2), 0);
    tu_assert_hex(i2.profile_version, 3, "020301");
    tu_assert_hex(i2.svn, 3, "020200");
    tu_assert_hex(i2.firmware_version, 3, "010000");
    tu_assert_hex(i2.ext_card_resource.p, i2.ext_card_resource.len, "810100");
    assert_int_equal(i2.uicc_capability.nbits, 24);
    assert_true(i2.has_ts102241_version);
    tu_assert_hex(i2.ts102241_version, 3, "030100");
    assert_true(i2.has_gp_version);
    tu_assert_hex(i2.gp_version, 3, "020300");
    assert_int_equal(rsp_es10_bits_mask(&i2.rsp_capability), RSP_CAP_ADDITIONAL_PROFILE);
    assert_int_equal(i2.ci_verify.n, 1);
    assert_int_equal(i2.ci_sign.n, 1);
    assert_true(i2.has_euicc_category);
    assert_int_equal(i2.euicc_category, RSP_EUICC_CATEGORY_BASIC);
    assert_null(i2.forbidden_pprs.bits);
    tu_assert_hex(i2.pp_version, 3, "000001");
    assert_int_equal(i2.sas_accreditation.len, 1);
    assert_int_equal(i2.sas_accreditation.p[0], 'X');
    assert_false(i2.has_certification_data);
    ASSERT_ENC(b, rsp_euicc_info2_encode(&i2, &b), INFO2_HEX);

    /* every optional field, through encode -> decode -> encode */
    static const uint8_t ppr[] = {0x60};
    i2.forbidden_pprs.bits = ppr;
    i2.forbidden_pprs.nbits = 3;
    i2.has_certification_data = true;
    i2.platform_label.p = (const uint8_t *)"PL";
    i2.platform_label.len = 2;
    i2.discovery_base_url.p = (const uint8_t *)"https://dloa.example";
    i2.discovery_base_url.len = 20;
    i2.euicc_category = RSP_EUICC_CATEGORY_CONTACTLESS;
    rsp_buf_reset(&b);
    assert_int_equal(rsp_euicc_info2_encode(&i2, &b), 0);
    struct rsp_euicc_info2 j;
    assert_int_equal(rsp_euicc_info2_decode(b.data, b.len, &j), 0);
    assert_int_equal(rsp_es10_bits_mask(&j.forbidden_pprs), RSP_PPR1 | RSP_PPR2);
    assert_true(j.has_certification_data);
    assert_int_equal(j.discovery_base_url.len, 20);
    assert_memory_equal(j.platform_label.p, "PL", 2);
    assert_int_equal(j.euicc_category, RSP_EUICC_CATEGORY_CONTACTLESS);
    struct rsp_buf b2 = RSP_BUF_INIT;
    assert_int_equal(rsp_euicc_info2_encode(&j, &b2), 0);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.data, b2.data, b.len);
    /* the certification data sits right before the end: check its exact bytes */
    tu_assert_hex(b.data + b.len - 28, 28,
                  "AC 1A 80 02 504C 81 14 68747470733A2F2F646C6F612E6578616D706C65");
    /* an unknown extension element after the last field is skipped */
    rsp_buf_reset(&b2);
    size_t m = rsp_der_begin(&b2, 0xBF22);
    rsp_buf_append(&b2, in.data + 3, in.len - 3);
    rsp_der_put(&b2, 0x8D, "\x01", 1);
    rsp_der_end(&b2, m);
    assert_int_equal(rsp_euicc_info2_decode(b2.data, b2.len, &j), 0);
    rsp_buf_free(&b2);

    /* refusals: mandatory rspCapability (88) removed; VersionType of 4 bytes */
    struct rsp_buf s = tu_hex("bf2249 8103020301 8203020200 8303010000 8403810100 850400000000 "
                              "8603030100 8703020300 a916 0414000102030405060708090a0b0c0d0e0f"
                              "10111213 aa00 8b0101 0403000001 0c0158");
    assert_int_equal(rsp_euicc_info2_decode(s.data, s.len, &j), RSP_EUNEXPECTED);
    rsp_buf_free(&s);
    s = tu_hex("bf2212 810402030100 8203020200 8303010000 8400");
    assert_int_equal(rsp_euicc_info2_decode(s.data, s.len, &j), RSP_ERANGE);
    rsp_buf_free(&s);
    /* sasAcreditationNumber longer than 64 */
    rsp_buf_reset(&b);
    i2.has_certification_data = false;
    uint8_t sas[65];
    memset(sas, 'S', sizeof sas);
    i2.sas_accreditation.p = sas;
    i2.sas_accreditation.len = 65;
    assert_int_equal(rsp_euicc_info2_encode(&i2, &b), RSP_ERANGE);
    rsp_buf_free(&b);
    rsp_buf_free(&in);
}

/* EUICCInfo2 inside the AuthenticateServerResponse recorded against osmo-smdpp. */
static void test_euicc_info2_recorded(void **state)
{
    TU_REQUIRE_SHARED();
    struct rsp_buf json =
        tu_load(tu_shared_path("testdata/osmo-smdpp-session/es9p-exchanges.json"));
    rsp_buf_append_byte(&json, 0);
    const char *key = "\"authenticateServerResponse\"";
    const char *p = strstr((const char *)json.data, key);
    assert_non_null(p);
    p = strchr(p + strlen(key), '"');
    assert_non_null(p);
    p++;
    const char *q = strchr(p, '"');
    assert_non_null(q);
    struct rsp_buf der = RSP_BUF_INIT;
    assert_int_equal(rsp_base64_decode(&der, p, (size_t)(q - p)), 0);

    /* BF38 { A0 { 30 euiccSigned1 { 80, 83, 84, BF22, A0 }, 5F37, 30, 30 } } */
    struct rsp_tlv t, a0, s1, bf22;
    assert_int_equal(rsp_der_parse_tag(der.data, der.len, 0xBF38, &t), 0);
    assert_int_equal(rsp_der_parse(t.val, t.len, &a0), 0);
    assert_int_equal(a0.tag, 0xA0);
    assert_int_equal(rsp_der_parse(a0.val, a0.len, &s1), 0);
    assert_int_equal(s1.tag, 0x30);
    assert_int_equal(rsp_der_find(s1.val, s1.len, 0xBF22, &bf22), 1);

    struct rsp_euicc_info2 i2;
    assert_int_equal(rsp_euicc_info2_decode_tlv(&bf22, &i2), 0);
    assert_int_equal(rsp_euicc_info2_decode(bf22.raw, bf22.raw_len, &i2), 0);
    tu_assert_hex(i2.profile_version, 3, "020301");
    tu_assert_hex(i2.svn, 3, "020400");
    tu_assert_hex(i2.firmware_version, 3, "234200");
    tu_assert_hex(i2.ext_card_resource.p, i2.ext_card_resource.len, "810100820400049c6883022223");
    assert_int_equal(i2.uicc_capability.nbits, 32);
    tu_assert_hex(i2.uicc_capability.bits, 4, "6b36d3c3");
    assert_true(i2.has_ts102241_version);
    tu_assert_hex(i2.ts102241_version, 3, "110200");
    assert_true(i2.has_gp_version);
    tu_assert_hex(i2.gp_version, 3, "020300");
    assert_int_equal(i2.rsp_capability.nbits, 6);
    /* additionalProfile, testProfileSupport and two bits defined after v2.2 */
    assert_int_equal(rsp_es10_bits_mask(&i2.rsp_capability),
                     RSP_CAP_ADDITIONAL_PROFILE | RSP_CAP_TEST_PROFILE_SUPPORT | 1u << 4 | 1u << 5);
    assert_int_equal(i2.ci_verify.n, 1);
    tu_assert_hex(i2.ci_verify.id[0].p, i2.ci_verify.id[0].len,
                  "5ff814de8e48445a5c8441161ae59704ff4b3c84");
    assert_int_equal(i2.ci_sign.n, 1);
    tu_assert_hex(i2.ci_sign.id[0].p, i2.ci_sign.id[0].len,
                  "5ff814de8e48445a5c8441161ae59704ff4b3c84");
    assert_false(i2.has_euicc_category);
    assert_null(i2.forbidden_pprs.bits);
    tu_assert_hex(i2.pp_version, 3, "010000");
    assert_int_equal(i2.sas_accreditation.len, 14);
    assert_memory_equal(i2.sas_accreditation.p, "OSMOCOM-TEST-1", 14);
    assert_false(i2.has_certification_data);

    /* re-encoding gives the recorded bytes */
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_euicc_info2_encode(&i2, &b), 0);
    assert_int_equal(b.len, bf22.raw_len);
    assert_memory_equal(b.data, bf22.raw, b.len);
    /* every truncation is refused */
    for (size_t n = 0; n < bf22.raw_len; n++)
        assert_true(rsp_euicc_info2_decode(bf22.raw, n, &i2) < 0);
    rsp_buf_free(&b);
    rsp_buf_free(&der);
    rsp_buf_free(&json);
}

/* The recorded PendingNotification (a BF37 ProfileInstallationResult) carried in a
 * RetrieveNotificationsListResponse. */
static void test_retrieve_recorded(void **state)
{
    TU_REQUIRE_SHARED();
    struct rsp_buf json =
        tu_load(tu_shared_path("testdata/osmo-smdpp-session/es9p-exchanges.json"));
    rsp_buf_append_byte(&json, 0);
    const char *key = "\"pendingNotification\"";
    const char *p = strstr((const char *)json.data, key);
    assert_non_null(p);
    p = strchr(p + strlen(key), '"');
    assert_non_null(p);
    p++;
    const char *q = strchr(p, '"');
    assert_non_null(q);
    struct rsp_buf pn = RSP_BUF_INIT;
    assert_int_equal(rsp_base64_decode(&pn, p, (size_t)(q - p)), 0);

    static struct rsp_es10_notif_list l, d;
    memset(&l, 0, sizeof l);
    assert_int_equal(rsp_der_parse_one(pn.data, pn.len, &l.items[0]), 0);
    assert_int_equal(l.items[0].tag, 0xBF37);
    l.n = 1;
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_es10_retrieve_notif_resp_encode(&l, &b), 0);
    assert_int_equal(rsp_es10_retrieve_notif_resp_decode(b.data, b.len, &d), 0);
    assert_false(d.is_error);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.items[0].raw_len, pn.len);
    assert_memory_equal(d.items[0].raw, pn.data, pn.len);
    rsp_buf_free(&b);
    rsp_buf_free(&pn);
    rsp_buf_free(&json);
}

/* --- GetProfilesInfo -------------------------------------------------------------------------- */

static void test_profile_info_request(void **state)
{
    struct rsp_buf b = RSP_BUF_INIT, in;
    struct rsp_profile_info_list_req r, d;
    memset(&r, 0, sizeof r);
    ASSERT_ENC(b, rsp_profile_info_list_req_encode(&r, &b), "BF2D 00");
    assert_int_equal(rsp_profile_info_list_req_decode(b.data, b.len, &d), 0);
    assert_int_equal(d.search, RSP_ES10_SEARCH_NONE);
    assert_null(d.tag_list.p);

    /* addendum §6.2 examples */
    static const uint8_t tl1[] = {0x5A, 0x9F, 0x70};
    r.tag_list.p = tl1;
    r.tag_list.len = sizeof tl1;
    ASSERT_ENC(b, rsp_profile_info_list_req_encode(&r, &b), "BF2D 05 5C 03 5A 9F70");
    assert_int_equal(rsp_profile_info_list_req_decode(b.data, b.len, &d), 0);
    assert_true(rsp_es10_taglist_has(&d.tag_list, 0x5A));
    assert_true(rsp_es10_taglist_has(&d.tag_list, 0x9F70));
    assert_false(rsp_es10_taglist_has(&d.tag_list, 0x70));
    assert_false(rsp_es10_taglist_has(&d.tag_list, 0x4F));

    struct rsp_buf aid = tu_hex(AID_HEX);
    static const uint8_t tl2[] = {0x5A, 0x4F, 0x9F, 0x70, 0x90, 0x91, 0x92,
                                  0x93, 0x94, 0x95, 0xB6, 0xB7, 0xB8, 0x99};
    r.search = RSP_ES10_SEARCH_AID;
    r.aid.p = aid.data;
    r.aid.len = aid.len;
    r.tag_list.p = tl2;
    r.tag_list.len = sizeof tl2;
    ASSERT_ENC(b, rsp_profile_info_list_req_encode(&r, &b),
               "BF2D 24 A0 12 4F 10 A0000005591010FFFFFFFF8900001000 "
               "5C 0E 5A 4F 9F70 90 91 92 93 94 95 B6 B7 B8 99");
    assert_int_equal(rsp_profile_info_list_req_decode(b.data, b.len, &d), 0);
    assert_int_equal(d.search, RSP_ES10_SEARCH_AID);
    assert_int_equal(d.aid.len, 16);
    assert_true(rsp_es10_taglist_has(&d.tag_list, 0x99));
    assert_true(rsp_es10_taglist_has(&d.tag_list, 0xB8));

    r.search = RSP_ES10_SEARCH_ICCID;
    assert_int_equal(rsp_iccid_from_str("8949449999999990056", &r.iccid), 0);
    r.tag_list.p = NULL;
    ASSERT_ENC(b, rsp_profile_info_list_req_encode(&r, &b),
               "BF2D 0E A0 0C 5A 0A 98944499999999095 0F6");
    assert_int_equal(rsp_profile_info_list_req_decode(b.data, b.len, &d), 0);
    assert_int_equal(d.search, RSP_ES10_SEARCH_ICCID);
    assert_memory_equal(d.iccid.b, r.iccid.b, 10);

    r.search = RSP_ES10_SEARCH_CLASS;
    r.profile_class = RSP_PROFILE_CLASS_TEST;
    ASSERT_ENC(b, rsp_profile_info_list_req_encode(&r, &b), "BF2D 05 A0 03 95 01 00");
    assert_int_equal(rsp_profile_info_list_req_decode(b.data, b.len, &d), 0);
    assert_int_equal(d.search, RSP_ES10_SEARCH_CLASS);
    assert_int_equal(d.profile_class, RSP_PROFILE_CLASS_TEST);

    /* refusals: two criteria in the CHOICE, empty criteria, unknown criterion, short ICCID */
    in = tu_hex("BF2D 08 A0 06 95 01 00 95 01 01");
    assert_int_equal(rsp_profile_info_list_req_decode(in.data, in.len, &d), RSP_ETRAILING);
    rsp_buf_free(&in);
    in = tu_hex("BF2D 02 A0 00");
    assert_int_equal(rsp_profile_info_list_req_decode(in.data, in.len, &d), RSP_EMISSING);
    rsp_buf_free(&in);
    in = tu_hex("BF2D 05 A0 03 90 01 00");
    assert_int_equal(rsp_profile_info_list_req_decode(in.data, in.len, &d), RSP_EUNEXPECTED);
    rsp_buf_free(&in);
    in = tu_hex("BF2D 0B A0 09 5A 07 98944499999999");
    assert_int_equal(rsp_profile_info_list_req_decode(in.data, in.len, &d), RSP_ERANGE);
    rsp_buf_free(&in);
    in = tu_hex("BF2D 15 A0 13 4F 11 A0000005591010FFFFFFFF890000100000");
    assert_int_equal(rsp_profile_info_list_req_decode(in.data, in.len, &d), RSP_ERANGE);
    rsp_buf_free(&in);
    /* truncated multi-byte tag in a tag list */
    static const uint8_t tl3[] = {0x5A, 0x9F};
    struct rsp_es10_bin tlb = {tl3, sizeof tl3};
    assert_true(rsp_es10_taglist_has(&tlb, 0x5A));
    assert_false(rsp_es10_taglist_has(&tlb, 0x9F70));
    rsp_buf_free(&aid);
    rsp_buf_free(&b);
}

/* A sysmoEUICC-style default-set ProfileInfo. */
static const char E3_HEX[] =
    "E3 37 5A 0A 98944499999999095 0F6 4F 10 A0000005591010FFFFFFFF8900001000"
    " 9F70 01 01 90 04 576F726B 91 04 41434D45 92 04 54657374 95 01 02";

static void test_profile_info(void **state)
{
    struct rsp_buf in = tu_hex(E3_HEX), b = RSP_BUF_INIT;
    struct rsp_profile_info pi;
    char iccid[21];
    assert_int_equal(rsp_profile_info_decode(in.data, in.len, &pi), 0);
    assert_true(pi.has_iccid);
    assert_int_equal(rsp_iccid_to_str(&pi.iccid, iccid), 0);
    assert_string_equal(iccid, "8949449999999990056");
    tu_assert_hex(pi.isdp_aid.p, pi.isdp_aid.len, AID_HEX);
    assert_true(pi.has_state);
    assert_int_equal(pi.state, RSP_PROFILE_ENABLED);
    assert_memory_equal(pi.nickname.p, "Work", 4);
    assert_memory_equal(pi.spn.p, "ACME", 4);
    assert_memory_equal(pi.name.p, "Test", 4);
    assert_false(pi.has_icon_type);
    assert_null(pi.icon.p);
    assert_true(pi.has_profile_class);
    assert_int_equal(pi.profile_class, RSP_PROFILE_CLASS_OPERATIONAL);
    assert_false(pi.has_notif_config);
    assert_false(pi.has_owner);
    assert_null(pi.dp_proprietary.p);
    assert_null(pi.ppr.bits);
    ASSERT_ENC(b, rsp_profile_info_encode(&pi, &b), E3_HEX);

    /* every field */
    static const uint8_t icon[] = {0x89, 0x50, 0x4E, 0x47};
    static const uint8_t ppr[] = {0x40};
    static const uint8_t ev[] = {0x90};
    pi.has_icon_type = true;
    pi.icon_type = RSP_ICON_PNG;
    pi.icon.p = icon;
    pi.icon.len = sizeof icon;
    pi.has_notif_config = true;
    pi.n_notif_config = 2;
    pi.notif_config[0].events.bits = ev;
    pi.notif_config[0].events.nbits = 4;
    pi.notif_config[0].address.p = (const uint8_t *)"a.b";
    pi.notif_config[0].address.len = 3;
    pi.notif_config[1] = pi.notif_config[0];
    pi.has_owner = true;
    pi.owner.mcc_mnc.p = (const uint8_t *)"\x62\xF2\x10";
    pi.owner.mcc_mnc.len = 3;
    pi.owner.gid1.p = (const uint8_t *)"\xAB";
    pi.owner.gid1.len = 1;
    pi.dp_proprietary.p = (const uint8_t *)"\x80\x03\x88\x37\x0A";
    pi.dp_proprietary.len = 5;
    pi.ppr.bits = ppr;
    pi.ppr.nbits = 2;
    rsp_buf_reset(&b);
    assert_int_equal(rsp_profile_info_encode(&pi, &b), 0);
    static const char full[] =
        "E3 6D 5A 0A 98944499999999095 0F6 4F 10 A0000005591010FFFFFFFF8900001000 9F70 01 01"
        " 90 04 576F726B 91 04 41434D45 92 04 54657374 93 01 01 94 04 89504E47 95 01 02"
        " B6 16 30 09 80 02 04 90 81 03 612E62 30 09 80 02 04 90 81 03 612E62"
        " B7 08 80 03 62F210 81 01 AB B8 05 80 03 88370A 99 02 06 40";
    tu_assert_hex(b.data, b.len, full);
    struct rsp_profile_info q;
    assert_int_equal(rsp_profile_info_decode(b.data, b.len, &q), 0);
    assert_true(q.has_icon_type);
    assert_int_equal(q.icon_type, RSP_ICON_PNG);
    assert_int_equal(q.icon.len, 4);
    assert_true(q.has_notif_config);
    assert_int_equal(q.n_notif_config, 2);
    assert_int_equal(rsp_es10_bits_mask(&q.notif_config[1].events),
                     RSP_NOTIF_INSTALL | RSP_NOTIF_DELETE);
    assert_memory_equal(q.notif_config[1].address.p, "a.b", 3);
    assert_true(q.has_owner);
    tu_assert_hex(q.owner.mcc_mnc.p, q.owner.mcc_mnc.len, "62F210");
    tu_assert_hex(q.owner.gid1.p, q.owner.gid1.len, "AB");
    assert_null(q.owner.gid2.p);
    tu_assert_hex(q.dp_oid.p, q.dp_oid.len, "88370A");
    assert_int_equal(q.dp_proprietary.len, 5);
    assert_int_equal(rsp_es10_bits_mask(&q.ppr), RSP_PPR1);
    struct rsp_buf b2 = RSP_BUF_INIT;
    assert_int_equal(rsp_profile_info_encode(&q, &b2), 0);
    tu_assert_hex(b2.data, b2.len, full);
    rsp_buf_free(&b2);

    /* an empty E3 is valid (every field OPTIONAL); unknown trailing extensions are skipped */
    struct rsp_buf s = tu_hex("E3 00");
    assert_int_equal(rsp_profile_info_decode(s.data, s.len, &q), 0);
    assert_false(q.has_iccid);
    rsp_buf_free(&s);
    s = tu_hex("E3 0B 9F70 01 00 9F24 01 01 BF76 00");
    assert_int_equal(rsp_profile_info_decode(s.data, s.len, &q), 0);
    assert_int_equal(q.state, RSP_PROFILE_DISABLED);
    rsp_buf_free(&s);

    /* refusals: oversized nickname / SPN, short ICCID, AID of 17, B8 over 128 bytes, bad B7 */
    uint8_t raw[300];
    raw[0] = 0xE3;
    raw[1] = 0x43;
    raw[2] = 0x90;
    raw[3] = 0x41;
    memset(raw + 4, 'n', 65);
    assert_int_equal(rsp_profile_info_decode(raw, 69, &q), RSP_ERANGE);
    raw[1] = 0x23;
    raw[2] = 0x91;
    raw[3] = 0x21;
    assert_int_equal(rsp_profile_info_decode(raw, 37, &q), RSP_ERANGE);
    s = tu_hex("E3 0B 5A 09 989444999999990950");
    assert_int_equal(rsp_profile_info_decode(s.data, s.len, &q), RSP_ERANGE);
    rsp_buf_free(&s);
    s = tu_hex("E3 13 4F 11 A0000005591010FFFFFFFF890000100000");
    assert_int_equal(rsp_profile_info_decode(s.data, s.len, &q), RSP_ERANGE);
    rsp_buf_free(&s);
    s = tu_hex("E3 06 B7 04 80 02 62F2");
    assert_int_equal(rsp_profile_info_decode(s.data, s.len, &q), RSP_ERANGE);
    rsp_buf_free(&s);
    raw[0] = 0xE3;
    raw[1] = 0x81;
    raw[2] = 0x84;
    raw[3] = 0xB8;
    raw[4] = 0x81;
    raw[5] = 0x81; /* B8 of 3 + 129 = 132 bytes */
    raw[6] = 0x80;
    raw[7] = 0x7F;
    memset(raw + 8, 0x01, 127);
    assert_int_equal(rsp_profile_info_decode(raw, 135, &q), RSP_ERANGE);
    /* encoder: oversized name */
    pi.name.len = 65;
    rsp_buf_reset(&b);
    assert_int_equal(rsp_profile_info_encode(&pi, &b), RSP_ERANGE);
    rsp_buf_free(&b);
    rsp_buf_free(&in);
}

static void test_profile_info_list(void **state)
{
    struct rsp_buf b = RSP_BUF_INIT, in;
    static struct rsp_profile_info_list l, d;
    /* real card with nothing installed (addendum §5.3) */
    in = tu_hex("BF2D 02 A0 00");
    assert_int_equal(rsp_profile_info_list_decode(in.data, in.len, &d), 0);
    assert_false(d.is_error);
    assert_int_equal(d.n, 0);
    rsp_buf_free(&in);
    memset(&l, 0, sizeof l);
    ASSERT_ENC(b, rsp_profile_info_list_encode(&l, &b), "BF2D 02 A0 00");
    /* error (addendum §5.1) */
    in = tu_hex("BF2D 03 81 01 01");
    assert_int_equal(rsp_profile_info_list_decode(in.data, in.len, &d), 0);
    assert_true(d.is_error);
    assert_int_equal(d.error, RSP_PIL_INCORRECT_INPUT_VALUES);
    rsp_buf_free(&in);
    l.is_error = true;
    l.error = RSP_PIL_UNDEFINED_ERROR;
    ASSERT_ENC(b, rsp_profile_info_list_encode(&l, &b), "BF2D 03 81 01 7F");

    /* two profiles */
    struct rsp_buf e3 = tu_hex(E3_HEX);
    memset(&l, 0, sizeof l);
    assert_int_equal(rsp_profile_info_decode(e3.data, e3.len, &l.profiles[0]), 0);
    l.profiles[1] = l.profiles[0];
    l.profiles[1].has_state = true;
    l.profiles[1].state = RSP_PROFILE_DISABLED;
    l.profiles[1].nickname.p = NULL;
    l.n = 2;
    rsp_buf_reset(&b);
    assert_int_equal(rsp_profile_info_list_encode(&l, &b), 0);
    assert_int_equal(rsp_profile_info_list_decode(b.data, b.len, &d), 0);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.profiles[0].state, RSP_PROFILE_ENABLED);
    assert_int_equal(d.profiles[1].state, RSP_PROFILE_DISABLED);
    assert_null(d.profiles[1].nickname.p);
    tu_assert_hex(b.data + 5, e3.len, E3_HEX);

    /* 33 profiles: RSP_ERANGE, and `d` untouched */
    struct rsp_buf big = RSP_BUF_INIT;
    size_t m = rsp_der_begin(&big, 0xBF2D);
    size_t m2 = rsp_der_begin(&big, 0xA0);
    for (int i = 0; i < RSP_MAX_PROFILES; i++)
        rsp_buf_append(&big, e3.data, e3.len);
    rsp_der_end(&big, m2);
    rsp_der_end(&big, m);
    assert_int_equal(rsp_profile_info_list_decode(big.data, big.len, &d), 0);
    assert_int_equal(d.n, RSP_MAX_PROFILES);
    rsp_buf_reset(&big);
    m = rsp_der_begin(&big, 0xBF2D);
    m2 = rsp_der_begin(&big, 0xA0);
    for (int i = 0; i < RSP_MAX_PROFILES + 1; i++)
        rsp_buf_append(&big, e3.data, e3.len);
    rsp_der_end(&big, m2);
    rsp_der_end(&big, m);
    d.n = 7;
    assert_int_equal(rsp_profile_info_list_decode(big.data, big.len, &d), RSP_ERANGE);
    assert_int_equal(d.n, 7);
    l.n = RSP_MAX_PROFILES + 1;
    rsp_buf_reset(&b);
    assert_int_equal(rsp_profile_info_list_encode(&l, &b), RSP_ERANGE);
    rsp_buf_free(&big);

    /* refusals: both alternatives, non-E3 element, a bad E3 inside */
    in = tu_hex("BF2D 05 A0 00 81 01 01");
    assert_int_equal(rsp_profile_info_list_decode(in.data, in.len, &d), RSP_ETRAILING);
    rsp_buf_free(&in);
    in = tu_hex("BF2D 04 A0 02 E2 00");
    assert_int_equal(rsp_profile_info_list_decode(in.data, in.len, &d), RSP_EUNEXPECTED);
    rsp_buf_free(&in);
    in = tu_hex("BF2D 06 A0 04 E3 02 5A 00");
    assert_int_equal(rsp_profile_info_list_decode(in.data, in.len, &d), RSP_ERANGE);
    rsp_buf_free(&in);
    in = tu_hex("BF2D 00");
    assert_int_equal(rsp_profile_info_list_decode(in.data, in.len, &d), RSP_EMISSING);
    rsp_buf_free(&in);
    rsp_buf_free(&e3);
    rsp_buf_free(&b);
}

/* --- Enable / Disable / Delete / Reset / Nickname -----------------------------------------------
 */

static void test_profile_management(void **state)
{
    struct rsp_buf b = RSP_BUF_INIT, in, aid = tu_hex(AID_HEX);
    struct rsp_es10_switch_req sw, d;
    memset(&sw, 0, sizeof sw);
    /* from ../shared/testdata/osmo-smdpp-session/asn1-encodings.txt */
    static const char ENABLE_HEX[] = "bf3111a00c5a0a980010325476981032148101ff";
    sw.id.kind = RSP_ES10_BY_ICCID;
    assert_int_equal(rsp_iccid_from_str("89000123456789012341", &sw.id.iccid), 0);
    sw.refresh = true;
    ASSERT_ENC(b, rsp_es10_enable_req_encode(&sw, &b), ENABLE_HEX);
    assert_int_equal(rsp_es10_enable_req_decode(b.data, b.len, &d), 0);
    assert_int_equal(d.id.kind, RSP_ES10_BY_ICCID);
    assert_memory_equal(d.id.iccid.b, sw.id.iccid.b, 10);
    assert_true(d.refresh);
    assert_int_equal(rsp_es10_disable_req_decode(b.data, b.len, &d), RSP_EUNEXPECTED);

    sw.id.kind = RSP_ES10_BY_AID;
    sw.id.aid.p = aid.data;
    sw.id.aid.len = aid.len;
    sw.refresh = false;
    ASSERT_ENC(b, rsp_es10_disable_req_encode(&sw, &b),
               "BF32 17 A0 12 4F 10 A0000005591010FFFFFFFF8900001000 81 01 00");
    assert_int_equal(rsp_es10_disable_req_decode(b.data, b.len, &d), 0);
    assert_int_equal(d.id.kind, RSP_ES10_BY_AID);
    tu_assert_hex(d.id.aid.p, d.id.aid.len, AID_HEX);
    assert_false(d.refresh);
    /* refusals: missing refreshFlag, both identifiers, non-DER boolean, empty AID */
    in = tu_hex("BF31 0E A0 0C 5A 0A 98001032547698103214");
    assert_int_equal(rsp_es10_enable_req_decode(in.data, in.len, &d), RSP_EMISSING);
    rsp_buf_free(&in);
    in = tu_hex("BF31 14 A0 0F 5A 0A 98001032547698103214 4F 01 A0 81 01 FF");
    assert_int_equal(rsp_es10_enable_req_decode(in.data, in.len, &d), RSP_ETRAILING);
    rsp_buf_free(&in);
    in = tu_hex("BF31 11 A0 0C 5A 0A 98001032547698103214 81 01 01");
    assert_int_equal(rsp_es10_enable_req_decode(in.data, in.len, &d), RSP_ERANGE);
    rsp_buf_free(&in);
    in = tu_hex("BF31 07 A0 02 4F 00 81 01 FF");
    assert_int_equal(rsp_es10_enable_req_decode(in.data, in.len, &d), RSP_ERANGE);
    rsp_buf_free(&in);
    sw.id.aid.len = 17;
    rsp_buf_reset(&b);
    assert_int_equal(rsp_es10_enable_req_encode(&sw, &b), RSP_EINVAL);

    /* Delete: Annex H form, and the A0-wrapped form some LPAs send */
    struct rsp_es10_profile_id id;
    static const char DELETE_HEX[] = "bf330c5a0a98001032547698103214";
    memset(&id, 0, sizeof id);
    id.kind = RSP_ES10_BY_ICCID;
    assert_int_equal(rsp_iccid_from_str("89000123456789012341", &id.iccid), 0);
    ASSERT_ENC(b, rsp_es10_delete_req_encode(&id, &b), DELETE_HEX);
    struct rsp_es10_profile_id did;
    assert_int_equal(rsp_es10_delete_req_decode(b.data, b.len, &did), 0);
    assert_int_equal(did.kind, RSP_ES10_BY_ICCID);
    assert_memory_equal(did.iccid.b, id.iccid.b, 10);
    in = tu_hex("BF33 0E A0 0C 5A 0A 98001032547698103214");
    assert_int_equal(rsp_es10_delete_req_decode(in.data, in.len, &did), 0);
    assert_int_equal(did.kind, RSP_ES10_BY_ICCID);
    rsp_buf_free(&in);
    in = tu_hex("BF33 12 4F 10 A0000005591010FFFFFFFF8900001000");
    assert_int_equal(rsp_es10_delete_req_decode(in.data, in.len, &did), 0);
    assert_int_equal(did.kind, RSP_ES10_BY_AID);
    rsp_buf_free(&in);
    in = tu_hex("BF33 0F 5A 0A 98001032547698103214 4F 01 A0");
    assert_int_equal(rsp_es10_delete_req_decode(in.data, in.len, &did), RSP_ETRAILING);
    rsp_buf_free(&in);
    in = tu_hex("BF33 11 A0 0C 5A 0A 98001032547698103214 81 01 FF");
    assert_int_equal(rsp_es10_delete_req_decode(in.data, in.len, &did), RSP_ETRAILING);
    rsp_buf_free(&in);
    in = tu_hex("BF33 00");
    assert_int_equal(rsp_es10_delete_req_decode(in.data, in.len, &did), RSP_EMISSING);
    rsp_buf_free(&in);
    in = tu_hex("BF33 02 A0 00");
    assert_int_equal(rsp_es10_delete_req_decode(in.data, in.len, &did), RSP_EMISSING);
    rsp_buf_free(&in);
    in = tu_hex("BF33 03 80 01 00");
    assert_int_equal(rsp_es10_delete_req_decode(in.data, in.len, &did), RSP_EUNEXPECTED);
    rsp_buf_free(&in);

    /* eUICCMemoryReset */
    uint32_t opts = 0;
    ASSERT_ENC(b,
               rsp_es10_memory_reset_req_encode(
                   RSP_RESET_DELETE_OPERATIONAL | RSP_RESET_DEFAULT_SMDP_ADDRESS, &b),
               "BF34 04 82 02 05 A0");
    assert_int_equal(rsp_es10_memory_reset_req_decode(b.data, b.len, &opts), 0);
    assert_int_equal(opts, RSP_RESET_DELETE_OPERATIONAL | RSP_RESET_DEFAULT_SMDP_ADDRESS);
    in = tu_hex("BF34 00");
    assert_int_equal(rsp_es10_memory_reset_req_decode(in.data, in.len, &opts), RSP_EMISSING);
    rsp_buf_free(&in);
    in = tu_hex("BF34 04 82 02 08 A0"); /* 8 unused bits */
    assert_int_equal(rsp_es10_memory_reset_req_decode(in.data, in.len, &opts), RSP_ERANGE);
    rsp_buf_free(&in);

    /* SetNickname */
    struct rsp_es10_set_nickname_req nk, dn;
    nk.iccid = id.iccid;
    nk.nickname.p = (const uint8_t *)"Work";
    nk.nickname.len = 4;
    ASSERT_ENC(b, rsp_es10_set_nickname_req_encode(&nk, &b),
               "BF29 12 5A 0A 98001032547698103214 90 04 576F726B");
    assert_int_equal(rsp_es10_set_nickname_req_decode(b.data, b.len, &dn), 0);
    assert_int_equal(dn.nickname.len, 4);
    assert_memory_equal(dn.iccid.b, id.iccid.b, 10);
    nk.nickname.p = NULL;
    nk.nickname.len = 0;
    ASSERT_ENC(b, rsp_es10_set_nickname_req_encode(&nk, &b),
               "BF29 0E 5A 0A 98001032547698103214 90 00");
    assert_int_equal(rsp_es10_set_nickname_req_decode(b.data, b.len, &dn), 0);
    assert_int_equal(dn.nickname.len, 0);
    uint8_t longname[65];
    memset(longname, 'x', sizeof longname);
    nk.nickname.p = longname;
    nk.nickname.len = 65;
    rsp_buf_reset(&b);
    assert_int_equal(rsp_es10_set_nickname_req_encode(&nk, &b), RSP_EINVAL);
    in = tu_hex("BF29 02 90 00");
    assert_int_equal(rsp_es10_set_nickname_req_decode(in.data, in.len, &dn), RSP_EUNEXPECTED);
    rsp_buf_free(&in);
    rsp_buf_free(&aid);
    rsp_buf_free(&b);
}

/* --- Notifications ------------------------------------------------------------------------------
 */

/* NotificationMetadata from asn1-encodings.txt */
static const char BF2F_HEX[] = "bf2f18800101810207800c03612e625a0a98001032547698103214";

static void test_notifications(void **state)
{
    struct rsp_buf b = RSP_BUF_INIT, in;
    struct rsp_es10_list_notif_req lr = {false, 0}, ld;
    ASSERT_ENC(b, rsp_es10_list_notif_req_encode(&lr, &b), "BF28 00");
    assert_int_equal(rsp_es10_list_notif_req_decode(b.data, b.len, &ld), 0);
    assert_false(ld.has_pmo);
    lr.has_pmo = true;
    lr.pmo = RSP_NOTIF_ENABLE | RSP_NOTIF_DISABLE;
    ASSERT_ENC(b, rsp_es10_list_notif_req_encode(&lr, &b), "BF28 04 81 02 05 60");
    assert_int_equal(rsp_es10_list_notif_req_decode(b.data, b.len, &ld), 0);
    assert_true(ld.has_pmo);
    assert_int_equal(ld.pmo, RSP_NOTIF_ENABLE | RSP_NOTIF_DISABLE);

    struct rsp_es10_retrieve_notif_req rr, rd;
    memset(&rr, 0, sizeof rr);
    ASSERT_ENC(b, rsp_es10_retrieve_notif_req_encode(&rr, &b), "BF2B 00");
    assert_int_equal(rsp_es10_retrieve_notif_req_decode(b.data, b.len, &rd), 0);
    assert_int_equal(rd.kind, RSP_ES10_RETRIEVE_ALL);
    rr.kind = RSP_ES10_RETRIEVE_SEQ;
    rr.seq_number = 1;
    ASSERT_ENC(b, rsp_es10_retrieve_notif_req_encode(&rr, &b), "BF2B 05 A0 03 80 01 01");
    assert_int_equal(rsp_es10_retrieve_notif_req_decode(b.data, b.len, &rd), 0);
    assert_int_equal(rd.kind, RSP_ES10_RETRIEVE_SEQ);
    assert_int_equal(rd.seq_number, 1);
    rr.seq_number = 200;
    ASSERT_ENC(b, rsp_es10_retrieve_notif_req_encode(&rr, &b), "BF2B 06 A0 04 80 02 00C8");
    assert_int_equal(rsp_es10_retrieve_notif_req_decode(b.data, b.len, &rd), 0);
    assert_int_equal(rd.seq_number, 200);
    rr.kind = RSP_ES10_RETRIEVE_PMO;
    rr.pmo = RSP_NOTIF_INSTALL;
    ASSERT_ENC(b, rsp_es10_retrieve_notif_req_encode(&rr, &b), "BF2B 06 A0 04 81 02 07 80");
    assert_int_equal(rsp_es10_retrieve_notif_req_decode(b.data, b.len, &rd), 0);
    assert_int_equal(rd.kind, RSP_ES10_RETRIEVE_PMO);
    assert_int_equal(rd.pmo, RSP_NOTIF_INSTALL);
    in = tu_hex("BF2B 08 A0 06 80 01 01 81 01 00");
    assert_int_equal(rsp_es10_retrieve_notif_req_decode(in.data, in.len, &rd), RSP_ETRAILING);
    rsp_buf_free(&in);
    in = tu_hex("BF2B 05 A0 03 80 01 FF"); /* negative sequence number */
    assert_int_equal(rsp_es10_retrieve_notif_req_decode(in.data, in.len, &rd), RSP_ERANGE);
    rsp_buf_free(&in);

    /* ListNotificationResponse with two BF2F */
    struct rsp_buf md = tu_hex(BF2F_HEX);
    static struct rsp_es10_notif_list nl, nd;
    memset(&nl, 0, sizeof nl);
    assert_int_equal(rsp_der_parse_one(md.data, md.len, &nl.items[0]), 0);
    nl.items[1] = nl.items[0];
    nl.n = 2;
    ASSERT_ENC(b, rsp_es10_list_notif_resp_encode(&nl, &b),
               "BF28 38 A0 36 bf2f18800101810207800c03612e625a0a98001032547698103214"
               "bf2f18800101810207800c03612e625a0a98001032547698103214");
    assert_int_equal(rsp_es10_list_notif_resp_decode(b.data, b.len, &nd), 0);
    assert_false(nd.is_error);
    assert_int_equal(nd.n, 2);
    assert_int_equal(nd.items[1].tag, 0xBF2F);
    tu_assert_hex(nd.items[1].raw, nd.items[1].raw_len, BF2F_HEX);
    /* a BF2F list is not a PendingNotification list */
    assert_int_equal(rsp_es10_retrieve_notif_resp_encode(&nl, &b), RSP_EINVAL);
    in = tu_hex("BF2B 1D A0 1B bf2f18800101810207800c03612e625a0a98001032547698103214");
    assert_int_equal(rsp_es10_retrieve_notif_resp_decode(in.data, in.len, &nd), RSP_EUNEXPECTED);
    rsp_buf_free(&in);
    in = tu_hex("BF28 03 81 01 7F");
    assert_int_equal(rsp_es10_list_notif_resp_decode(in.data, in.len, &nd), 0);
    assert_true(nd.is_error);
    assert_int_equal(nd.error, RSP_NOTIF_LIST_UNDEFINED_ERROR);
    rsp_buf_free(&in);
    nl.is_error = true;
    nl.error = RSP_NOTIF_LIST_UNDEFINED_ERROR;
    ASSERT_ENC(b, rsp_es10_retrieve_notif_resp_encode(&nl, &b), "BF2B 03 81 01 7F");

    /* RetrieveNotificationsListResponse with a BF37 and a 30 (contents opaque here) */
    in = tu_hex("BF2B 0D A0 0B BF37 03 BF27 00 30 03 BF2F 00");
    assert_int_equal(rsp_es10_retrieve_notif_resp_decode(in.data, in.len, &nd), 0);
    assert_int_equal(nd.n, 2);
    assert_int_equal(nd.items[0].tag, 0xBF37);
    assert_int_equal(nd.items[1].tag, 0x30);
    struct rsp_es10_notif_list copy = nd;
    ASSERT_ENC(b, rsp_es10_retrieve_notif_resp_encode(&copy, &b),
               "BF2B 0D A0 0B BF37 03 BF27 00 30 03 BF2F 00");
    rsp_buf_free(&in);
    in = tu_hex("BF2B 02 A0 00");
    assert_int_equal(rsp_es10_retrieve_notif_resp_decode(in.data, in.len, &nd), 0);
    assert_int_equal(nd.n, 0);
    rsp_buf_free(&in);

    /* too many entries */
    struct rsp_buf big = RSP_BUF_INIT;
    size_t m = rsp_der_begin(&big, 0xBF28);
    size_t m2 = rsp_der_begin(&big, 0xA0);
    for (int i = 0; i < RSP_ES10_MAX_NOTIFICATIONS + 1; i++)
        rsp_buf_append(&big, md.data, md.len);
    rsp_der_end(&big, m2);
    rsp_der_end(&big, m);
    nd.n = 3;
    assert_int_equal(rsp_es10_list_notif_resp_decode(big.data, big.len, &nd), RSP_ERANGE);
    assert_int_equal(nd.n, 3);
    rsp_buf_free(&big);

    /* NotificationSent */
    uint64_t seq = 0;
    ASSERT_ENC(b, rsp_es10_notif_sent_req_encode(1, &b), "bf3003800101");
    assert_int_equal(rsp_es10_notif_sent_req_decode(b.data, b.len, &seq), 0);
    assert_int_equal(seq, 1);
    ASSERT_ENC(b, rsp_es10_notif_sent_req_encode(128, &b), "BF30 04 80 02 0080");
    assert_int_equal(rsp_es10_notif_sent_req_decode(b.data, b.len, &seq), 0);
    assert_int_equal(seq, 128);
    in = tu_hex("BF30 04 80 02 0001"); /* non-minimal INTEGER */
    assert_true(rsp_es10_notif_sent_req_decode(in.data, in.len, &seq) < 0);
    rsp_buf_free(&in);
    rsp_buf_free(&md);
    rsp_buf_free(&b);
}

/* --- Addresses and RAT --------------------------------------------------------------------------
 */

static void test_addresses_rat(void **state)
{
    struct rsp_buf b = RSP_BUF_INIT, in;
    struct rsp_es10_configured_addresses ca, cd;
    ca.default_dp.p = (const uint8_t *)"dp.example";
    ca.default_dp.len = 10;
    ca.root_ds.p = (const uint8_t *)"ds.example";
    ca.root_ds.len = 10;
    ASSERT_ENC(b, rsp_es10_configured_addresses_encode(&ca, &b),
               "BF3C 18 80 0A 64702E6578616D706C65 81 0A 64732E6578616D706C65");
    assert_int_equal(rsp_es10_configured_addresses_decode(b.data, b.len, &cd), 0);
    assert_memory_equal(cd.default_dp.p, "dp.example", 10);
    assert_memory_equal(cd.root_ds.p, "ds.example", 10);
    ca.default_dp.p = NULL;
    ASSERT_ENC(b, rsp_es10_configured_addresses_encode(&ca, &b),
               "BF3C 0C 81 0A 64732E6578616D706C65");
    assert_int_equal(rsp_es10_configured_addresses_decode(b.data, b.len, &cd), 0);
    assert_null(cd.default_dp.p);
    in = tu_hex("BF3C 0C 80 0A 64702E6578616D706C65");
    assert_int_equal(rsp_es10_configured_addresses_decode(in.data, in.len, &cd), RSP_EMISSING);
    rsp_buf_free(&in);

    struct rsp_es10_bin addr = {(const uint8_t *)"dp.example", 10}, ad;
    ASSERT_ENC(b, rsp_es10_set_default_dp_req_encode(&addr, &b),
               "BF3F 0C 80 0A 64702E6578616D706C65");
    assert_int_equal(rsp_es10_set_default_dp_req_decode(b.data, b.len, &ad), 0);
    assert_int_equal(ad.len, 10);
    in = tu_hex("BF3F 00");
    assert_int_equal(rsp_es10_set_default_dp_req_decode(in.data, in.len, &ad), RSP_EMISSING);
    rsp_buf_free(&in);

    /* GetRAT: one rule (PPR1, operator 262/01 with gid1, consent required) */
    static struct rsp_es10_rat rat, rd;
    static const uint8_t ppr1[] = {0x40}, consent[] = {0x80};
    memset(&rat, 0, sizeof rat);
    rat.n = 1;
    rat.rules[0].ppr_ids.bits = ppr1;
    rat.rules[0].ppr_ids.nbits = 2;
    rat.rules[0].n_operators = 1;
    rat.rules[0].operators[0].mcc_mnc.p = (const uint8_t *)"\x62\xF2\x10";
    rat.rules[0].operators[0].mcc_mnc.len = 3;
    rat.rules[0].ppr_flags.bits = consent;
    rat.rules[0].ppr_flags.nbits = 1;
    ASSERT_ENC(b, rsp_es10_rat_encode(&rat, &b),
               "BF43 15 A0 13 30 11 80 02 06 40 A1 07 30 05 80 03 62F210 82 02 07 80");
    assert_int_equal(rsp_es10_rat_decode(b.data, b.len, &rd), 0);
    assert_int_equal(rd.n, 1);
    assert_int_equal(rsp_es10_bits_mask(&rd.rules[0].ppr_ids), RSP_PPR1);
    assert_int_equal(rd.rules[0].n_operators, 1);
    tu_assert_hex(rd.rules[0].operators[0].mcc_mnc.p, 3, "62F210");
    assert_int_equal(rsp_es10_bits_mask(&rd.rules[0].ppr_flags), 1);
    in = tu_hex("BF43 02 A0 00");
    assert_int_equal(rsp_es10_rat_decode(in.data, in.len, &rd), 0);
    assert_int_equal(rd.n, 0);
    rsp_buf_free(&in);
    in = tu_hex("BF43 0A A0 08 30 06 80 02 06 40 A1 00");
    rd.n = 5;
    assert_int_equal(rsp_es10_rat_decode(in.data, in.len, &rd), RSP_EMISSING); /* no pprFlags */
    assert_int_equal(rd.n, 5);
    rsp_buf_free(&in);
    rsp_buf_free(&b);
}

/* --- Generic refusals: every truncation of every valid encoding fails cleanly
 * --------------------- */

static union {
    struct rsp_euicc_info1 i1;
    struct rsp_euicc_info2 i2;
    struct rsp_profile_info pi;
    struct rsp_profile_info_list pl;
    struct rsp_profile_info_list_req pr;
    struct rsp_es10_switch_req sw;
    struct rsp_es10_profile_id id;
    struct rsp_es10_notif_list nl;
    struct rsp_es10_rat rat;
    struct rsp_es10_set_nickname_req nk;
    struct rsp_es10_retrieve_notif_req rn;
    struct rsp_es10_configured_addresses ca;
    uint8_t ch[16];
    struct rsp_eid eid;
} sink;

static int d_info1(const uint8_t *p, size_t n)
{
    return rsp_euicc_info1_decode(p, n, &sink.i1);
}
static int d_info2(const uint8_t *p, size_t n)
{
    return rsp_euicc_info2_decode(p, n, &sink.i2);
}
static int d_pi(const uint8_t *p, size_t n)
{
    return rsp_profile_info_decode(p, n, &sink.pi);
}
static int d_pl(const uint8_t *p, size_t n)
{
    return rsp_profile_info_list_decode(p, n, &sink.pl);
}
static int d_pr(const uint8_t *p, size_t n)
{
    return rsp_profile_info_list_req_decode(p, n, &sink.pr);
}
static int d_enable(const uint8_t *p, size_t n)
{
    return rsp_es10_enable_req_decode(p, n, &sink.sw);
}
static int d_delete(const uint8_t *p, size_t n)
{
    return rsp_es10_delete_req_decode(p, n, &sink.id);
}
static int d_listn(const uint8_t *p, size_t n)
{
    return rsp_es10_list_notif_resp_decode(p, n, &sink.nl);
}
static int d_retr(const uint8_t *p, size_t n)
{
    return rsp_es10_retrieve_notif_resp_decode(p, n, &sink.nl);
}
static int d_retrq(const uint8_t *p, size_t n)
{
    return rsp_es10_retrieve_notif_req_decode(p, n, &sink.rn);
}
static int d_rat(const uint8_t *p, size_t n)
{
    return rsp_es10_rat_decode(p, n, &sink.rat);
}
static int d_nick(const uint8_t *p, size_t n)
{
    return rsp_es10_set_nickname_req_decode(p, n, &sink.nk);
}
static int d_ca(const uint8_t *p, size_t n)
{
    return rsp_es10_configured_addresses_decode(p, n, &sink.ca);
}
static int d_ch(const uint8_t *p, size_t n)
{
    return rsp_es10_challenge_decode(p, n, sink.ch);
}
static int d_eid(const uint8_t *p, size_t n)
{
    return rsp_es10_eid_decode(p, n, &sink.eid);
}

static void test_truncation_and_trailing(void **state)
{
    static const struct {
        int (*dec)(const uint8_t *, size_t);
        const char *hex;
    } cases[] = {
        {d_info1, INFO1_HEX},
        {d_info2, INFO2_HEX},
        {d_pi, E3_HEX},
        {d_pl, "BF2D 3B A0 39 E3 37 5A 0A 98944499999999095 0F6 4F 10 "
               "A0000005591010FFFFFFFF8900001000 9F70 01 01 90 04 576F726B 91 04 41434D45 "
               "92 04 54657374 95 01 02"},
        {d_pr, "BF2D 24 A0 12 4F 10 A0000005591010FFFFFFFF8900001000 "
               "5C 0E 5A 4F 9F70 90 91 92 93 94 95 B6 B7 B8 99"},
        {d_enable, "bf3111a00c5a0a980010325476981032148101ff"},
        {d_delete, "BF33 0E A0 0C 5A 0A 98001032547698103214"},
        {d_listn, "BF28 1D A0 1B bf2f18800101810207800c03612e625a0a98001032547698103214"},
        {d_retr, "BF2B 0D A0 0B BF37 03 BF27 00 30 03 BF2F 00"},
        {d_retrq, "BF2B 05 A0 03 80 01 01"},
        {d_rat, "BF43 15 A0 13 30 11 80 02 06 40 A1 07 30 05 80 03 62F210 82 02 07 80"},
        {d_nick, "BF29 12 5A 0A 98001032547698103214 90 04 576F726B"},
        {d_ca, "BF3C 0C 81 0A 64732E6578616D706C65"},
        {d_ch, "BF2E 12 80 10 A0A1A2A3A4A5A6A7A8A9AAABACADAEAF"},
        {d_eid, "BF3E 12 5A 10 89049032123451234512345678901235"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct rsp_buf in = tu_hex(cases[c].hex);
        if (cases[c].dec(in.data, in.len) != 0)
            fail_msg("case %zu: valid input refused", c);
        for (size_t n = 0; n < in.len; n++)
            if (cases[c].dec(in.data, n) >= 0)
                fail_msg("case %zu: truncation to %zu accepted", c, n);
        rsp_buf_append_byte(&in, 0x00);
        assert_int_equal(cases[c].dec(in.data, in.len), RSP_ETRAILING);
        /* a length one larger than the input */
        in.len--;
        in.data[in.data[0] == 0xE3 ? 1 : 2]++;
        if (cases[c].dec(in.data, in.len) != RSP_ETRUNC)
            fail_msg("case %zu: over-long length not refused as truncated", c);
        rsp_buf_free(&in);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_tid),
    cmocka_unit_test(test_iccid),
    cmocka_unit_test(test_eid),
    cmocka_unit_test(test_actcode_examples),
    cmocka_unit_test(test_actcode_rules),
    cmocka_unit_test(test_actcode_rejects),
    cmocka_unit_test(test_actcode_format),
    cmocka_unit_test(test_hash_cc),
    cmocka_unit_test(test_es10_empty_and_results),
    cmocka_unit_test(test_es10_challenge_eid),
    cmocka_unit_test(test_euicc_info1),
    cmocka_unit_test(test_euicc_info2),
    cmocka_unit_test(test_euicc_info2_recorded),
    cmocka_unit_test(test_retrieve_recorded),
    cmocka_unit_test(test_profile_info_request),
    cmocka_unit_test(test_profile_info),
    cmocka_unit_test(test_profile_info_list),
    cmocka_unit_test(test_profile_management),
    cmocka_unit_test(test_notifications),
    cmocka_unit_test(test_addresses_rat),
    cmocka_unit_test(test_truncation_and_trailing),
};

int main(void)
{
    return cmocka_run_group_tests_name("sgp22_es10", tests, NULL, NULL);
}
