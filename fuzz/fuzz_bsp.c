/* libFuzzer target: BSP segment unwrap (rsp_bsp_unwrap) on arbitrary bytes with fixed keys.
 * First input byte: bit 0 selects encrypted (86/87) or MAC-only (88); bit 1 allows large (osmo
 * style, up to 1100 bytes) segments. The rest is the TLV. Valid MACs are out of reach for the
 * fuzzer, so a second pass wraps the input and unwraps it again, which must round-trip. */
#include <stdint.h>
#include <string.h>

#include "rsp/crypto.h"
#include "rsp/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fixed_state(struct rsp_bsp *s)
{
    struct rsp_session_keys k;
    memset(k.mcv, 0x22, sizeof k.mcv);
    memset(k.s_enc, 0x00, sizeof k.s_enc);
    memset(k.s_mac, 0x11, sizeof k.s_mac);
    rsp_bsp_init(s, &k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool enc = data[0] & 1;
    size_t max = (data[0] & 2) ? 1100 : RSP_BSP_MAX_SEGMENT;
    struct rsp_bsp s, before;
    fixed_state(&s);
    before = s;
    struct rsp_buf out = RSP_BUF_INIT;
    int ret = rsp_bsp_unwrap(&s, enc, data + 1, size - 1, max, &out);
    if (ret != 0 && (memcmp(&s, &before, sizeof s) != 0 || out.len != 0))
        __builtin_trap(); /* a refusal must leave everything unchanged */
    rsp_buf_free(&out);

    /* Round trip of the payload through wrap and unwrap. */
    struct rsp_bsp tx, rx;
    fixed_state(&tx);
    fixed_state(&rx);
    struct rsp_buf wire = RSP_BUF_INIT, back = RSP_BUF_INIT;
    uint8_t tag = enc ? 0x86 : 0x88;
    if (rsp_bsp_wrap(&tx, tag, enc, data + 1, size - 1, &wire) == 0) {
        if (rsp_bsp_unwrap(&rx, enc, wire.data, wire.len, RSP_BSP_MAX_SEGMENT, &back) != 0 ||
            back.len != size - 1 || (back.len && memcmp(back.data, data + 1, back.len) != 0))
            __builtin_trap();
    }
    rsp_buf_free(&wire);
    rsp_buf_free(&back);
    rsp_bsp_wipe(&s);
    return 0;
}
