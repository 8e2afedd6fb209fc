/* PC/SC probe for the pcscd + vpcd end-to-end test: talks to rsp-euicc through pcsc-lite with the
 * pcsc transport and the ES10 exchanger.
 *
 *   pcsc_probe [--reader NAME] [--eid EID] [--wait SECONDS]
 *
 * Waits until the reader holds a card, opens an ES10 session (MANAGE CHANNEL + SELECT ISD-R),
 * then checks GetEID (the EID given), GetEuiccChallenge (16 bytes, two calls differ), STORE DATA
 * chaining with small blocks and the status words of the placeholder for unknown and malformed
 * commands. Exit 0 when all hold, 1 otherwise, 2 on usage errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rsp/apdu.h"
#include "rsp/err.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            printf("ok: " __VA_ARGS__);                                                            \
        } else {                                                                                   \
            printf("FAIL: " __VA_ARGS__);                                                          \
            failures++;                                                                            \
        }                                                                                          \
        printf("\n");                                                                              \
    } while (0)

static void hexprint(const char *label, const uint8_t *p, size_t n)
{
    printf("%s", label);
    for (size_t i = 0; i < n; i++)
        printf("%02X", p[i]);
    printf("\n");
}

static int open_session(struct rsp_es10 *s, struct rsp_apdu_transport *t, size_t bs, int wait_s)
{
    struct rsp_es10_opts o = {.block_size = bs};
    time_t until = time(NULL) + wait_s;
    int rc;
    for (;;) {
        rc = rsp_es10_open(s, t, &o);
        if (rc == 0 || time(NULL) >= until)
            break;
        struct timespec ts = {0, 250 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return rc;
}

int main(int argc, char **argv)
{
    const char *reader = NULL;
    const char *eid_s = "89049032123451234512345678901235";
    int wait_s = 30;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--reader"))
            reader = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--eid"))
            eid_s = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--wait"))
            wait_s = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: pcsc_probe [--reader NAME] [--eid EID] [--wait SECONDS]\n");
            return 2;
        }
    }
    struct rsp_buf eid = RSP_BUF_INIT;
    if (rsp_hex_decode(&eid, eid_s, strlen(eid_s)) != 0 || eid.len != 16) {
        fprintf(stderr, "pcsc_probe: bad --eid\n");
        rsp_buf_free(&eid);
        return 2;
    }

    struct rsp_apdu_transport *t = NULL;
    int rc = rsp_apdu_pcsc_new(&t, reader);
    if (rc != 0) {
        fprintf(stderr, "pcsc_probe: pcsc transport: %s\n", rsp_strerror(rc));
        rsp_buf_free(&eid);
        return 1;
    }
    struct rsp_es10 s;
    rc = open_session(&s, t, 0, wait_s);
    if (rc != 0) {
        printf("FAIL: no ES10 session within %d s: %s (last SW %04X)\n", wait_s, rsp_strerror(rc),
               s.last_sw);
        rsp_apdu_transport_free(t);
        rsp_buf_free(&eid);
        return 1;
    }
    CHECK(s.fci.len > 2 && s.fci.data[0] == 0x6F, "SELECT ISD-R returned an FCI (%zu bytes)",
          s.fci.len);
    printf("info: ES10 session on channel %u\n", s.channel);

    struct rsp_buf resp = RSP_BUF_INIT;
    static const uint8_t get_eid[] = {0xBF, 0x3E, 0x03, 0x5C, 0x01, 0x5A};
    rc = rsp_es10_transceive(&s, get_eid, sizeof get_eid, &resp);
    CHECK(rc == 0, "GetEID: %s (SW %04X)", rsp_strerror(rc), s.last_sw);
    if (rc == 0) {
        hexprint("info: GetEID response ", resp.data, resp.len);
        uint8_t want[21] = {0xBF, 0x3E, 0x12, 0x5A, 0x10};
        memcpy(want + 5, eid.data, 16);
        CHECK(resp.len == sizeof want && !memcmp(resp.data, want, sizeof want),
              "GetEID answers BF3E 12 5A 10 %s", eid_s);
    }

    static const uint8_t get_chal[] = {0xBF, 0x2E, 0x00};
    uint8_t chal[2][16];
    for (int k = 0; k < 2; k++) {
        rc = rsp_es10_transceive(&s, get_chal, sizeof get_chal, &resp);
        bool shape = rc == 0 && resp.len == 21 && resp.data[0] == 0xBF && resp.data[1] == 0x2E &&
                     resp.data[2] == 0x12 && resp.data[3] == 0x80 && resp.data[4] == 0x10;
        CHECK(shape, "GetEuiccChallenge #%d answers BF2E 12 80 10 <16 bytes> (rc %d, SW %04X)",
              k + 1, rc, s.last_sw);
        if (shape)
            memcpy(chal[k], resp.data + 5, 16);
        else
            memset(chal[k], k, 16);
    }
    CHECK(memcmp(chal[0], chal[1], 16) != 0, "two challenges differ");

    /* Unknown command spread over many STORE DATA blocks: reassembled, then refused (6A88). */
    uint8_t big[600];
    big[0] = 0xBF;
    big[1] = 0x7F;
    big[2] = 0x82;
    big[3] = (uint8_t)((sizeof big - 5) >> 8);
    big[4] = (uint8_t)(sizeof big - 5);
    for (size_t i = 5; i < sizeof big; i++)
        big[i] = (uint8_t)i;
    rsp_es10_close(&s);
    rc = open_session(&s, t, 7, 5);
    CHECK(rc == 0, "second session with 7-byte blocks: %s", rsp_strerror(rc));
    if (rc == 0) {
        rc = rsp_es10_transceive(&s, big, sizeof big, &resp);
        CHECK(rc == RSP_ESW && s.last_sw == 0x6A88,
              "600-byte unknown command in 86 blocks: SW %04X (want 6A88)", s.last_sw);
        rc = rsp_es10_transceive(&s, get_eid, sizeof get_eid, &resp);
        CHECK(rc == 0 && resp.len == 21, "GetEID in 7-byte blocks: %s", rsp_strerror(rc));
        static const uint8_t junk[] = {0xBF, 0x3E, 0x05, 0x5C};
        rc = rsp_es10_transceive(&s, junk, sizeof junk, &resp);
        CHECK(rc == RSP_ESW && s.last_sw == 0x6A80, "truncated TLV: SW %04X (want 6A80)",
              s.last_sw);
        rsp_es10_close(&s);
    }

    rsp_buf_free(&resp);
    rsp_buf_free(&eid);
    rsp_apdu_transport_free(t);
    printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
    return failures ? 1 : 0;
}
