/* rspctl token / push: activation tokens (stage 1) and their pushes (rsp/act.h).
 *
 *   rspctl token issue (ORDER | --campaign C) --db STORE --smdp-address HOST [--ttl SECONDS]
 *                      [--qr-dir DIR] [--json]
 *   rspctl token show MATCHINGID --db STORE [--qr] [--json]
 *   rspctl token revoke MATCHINGID --db STORE --reason TEXT
 *   rspctl push record (--token MATCHINGID | --order ORDER) --channel email|sms|app|other
 *                      --ref REF --db STORE
 *   rspctl push list --db STORE [--order ORDER] [--json]
 */
#define _GNU_SOURCE /* syncfs */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rsp/act.h"
#include "rsp/err.h"
#include "rsp/qr.h"
#include "rsp/sgp22_types.h"

#include "rspctl.h"
#include "rspctl_act.h"

#define DEFAULT_TTL (30 * 86400)

/* Percent-encoding of everything but unreserved characters (RFC 3986). */
static void urlencode(const char *in, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *in && o + 4 < cap; in++) {
        unsigned char c = (unsigned char)*in;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = 0;
}

/* The link forms of an activation code: LPA: URI and the platform eSIM setup links. */
static json_t *links_json(const char *code)
{
    char lpa[300], enc[900], apple[1000], android[1000];
    snprintf(lpa, sizeof lpa, "LPA:%s", code);
    urlencode(lpa, enc, sizeof enc);
    snprintf(apple, sizeof apple,
             "https://esimsetup.apple.com/esim_qrcode_provisioning?carddata=%s", enc);
    snprintf(android, sizeof android,
             "https://esimsetup.android.com/esim_qrcode_provisioning?carddata=%s", enc);
    return json_pack("{s:s,s:s,s:s,s:s}", "activation_code", code, "lpa_uri", lpa, "apple", apple,
                     "android", android);
}

/* Writes DIR/NAME through a temporary file and a rename (a reader never sees a partial file);
 * `durable`: fsync the file and the directory (one file), else the caller syncs the file system
 * once after a batch (syncfs). */
static int write_file(const char *dir, const char *name, const struct rsp_buf *b, bool durable)
{
    if (durable)
        return rspctl_write_atomic(dir, name, b->data, b->len, 0644);
    char tmp[4096], dst[4096];
    if (snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name) >= (int)sizeof tmp ||
        snprintf(dst, sizeof dst, "%s/%s", dir, name) >= (int)sizeof dst)
        return RSP_ERANGE;
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return RSP_EIO;
    bool ok = fwrite(b->data, 1, b->len, f) == b->len;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, dst) != 0) {
        unlink(tmp);
        return RSP_EIO;
    }
    return 0;
}

static int write_qr(const char *dir, const char *order_id, const char *code, bool durable)
{
    char lpa[300], name[RSP_ACT_TEXT + 8];
    snprintf(lpa, sizeof lpa, "LPA:%s", code);
    struct rsp_buf png = RSP_BUF_INIT, svg = RSP_BUF_INIT;
    int rc = rsp_qr_png(lpa, 6, &png);
    if (rc == 0)
        rc = rsp_qr_svg(lpa, 6, &svg);
    snprintf(name, sizeof name, "%s.png", order_id);
    if (rc == 0)
        rc = write_file(dir, name, &png, durable);
    snprintf(name, sizeof name, "%s.svg", order_id);
    if (rc == 0)
        rc = write_file(dir, name, &svg, durable);
    rsp_buf_free(&png);
    rsp_buf_free(&svg);
    return rc;
}

/* Flushes a batch of QR files: one syncfs of the directory's file system. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return RSP_EIO;
    int rc = syncfs(fd) == 0 ? 0 : RSP_EIO;
    close(fd);
    return rc;
}

/* Issues the token of one released (or expired) order. 0, 1 refused (printed), negative. */
static int issue_one(struct rsp_store *st, const char *order_id, const char *host, int64_t ttl,
                     const char *qr_dir, json_t *out, bool quiet, bool durable)
{
    struct rsp_act_order o;
    int rc = rsp_act_order_get(st, order_id, &o);
    if (rc)
        return fprintf(stderr, "rspctl token issue: %s: %s\n", order_id, rsp_strerror(rc)),
               rc == RSP_ENOTFOUND ? 1 : rc;
    if ((o.stage != RSP_ACT_RELEASED && o.stage != RSP_ACT_EXPIRED) || !o.matching_id[0])
        return fprintf(stderr, "rspctl token issue: %s is %s (needs released or expired)\n",
                       order_id, rsp_act_stage_name(o.stage)),
               1;
    struct rsp_activation_code ac;
    memset(&ac, 0, sizeof ac);
    snprintf(ac.smdp_address, sizeof ac.smdp_address, "%s", host);
    snprintf(ac.matching_id, sizeof ac.matching_id, "%s", o.matching_id);
    struct rsp_buf code = RSP_BUF_INIT;
    rc = rsp_actcode_format(&ac, false, &code);
    if (rc == 0)
        rc = rsp_buf_append_byte(&code, 0);
    struct rsp_act_token t;
    memset(&t, 0, sizeof t);
    if (rc == 0 && code.len > sizeof t.activation_code)
        rc = RSP_ERANGE;
    if (rc) {
        rsp_buf_free(&code);
        return fprintf(stderr, "rspctl token issue: %s: activation code: %s\n", order_id,
                       rsp_strerror(rc)),
               1;
    }
    snprintf(t.matching_id, sizeof t.matching_id, "%s", o.matching_id);
    snprintf(t.order_id, sizeof t.order_id, "%s", o.order_id);
    snprintf(t.activation_code, sizeof t.activation_code, "%s", (const char *)code.data);
    rsp_buf_free(&code);
    t.expires_at = ttl ? (int64_t)time(NULL) + ttl : 0;
    rc = rsp_act_token_issue(st, &o, &t, rspctl_actor());
    if (rc == RSP_ESTATE)
        return fprintf(stderr, "rspctl token issue: %s changed meanwhile or its token is revoked\n",
                       order_id),
               1;
    if (rc)
        return rc;
    if (qr_dir && (rc = write_qr(qr_dir, o.order_id, t.activation_code, durable)) != 0)
        return fprintf(stderr, "rspctl token issue: %s: QR files in %s: %s\n", order_id, qr_dir,
                       rsp_strerror(rc)),
               rc;
    json_t *j = links_json(t.activation_code);
    json_object_set_new(j, "order_id", json_string(o.order_id));
    json_object_set_new(j, "matching_id", json_string(t.matching_id));
    json_object_set_new(j, "expires_at", json_integer(t.expires_at));
    if (out)
        json_array_append_new(out, j);
    else {
        if (!quiet)
            printf("%s %s\n", o.order_id, json_string_value(json_object_get(j, "lpa_uri")));
        json_decref(j);
    }
    return 0;
}

static int released_cb(void *arg, const struct rsp_act_order *o)
{
    json_t *a = arg;
    return json_array_append_new(a, json_string(o->order_id)) ? RSP_ENOMEM : 0;
}

static int tok_issue(int argc, char **argv)
{
    struct act_common c = {0};
    const char *order = NULL, *campaign = NULL, *host = NULL, *ttl_s = NULL, *dir = NULL;
    bool json = false;
    const char *usage =
        "usage: rspctl token issue (ORDER | --campaign C) --db STORE --smdp-address HOST\n"
        "         [--ttl SECONDS] [--qr-dir DIR] [--json]\n"
        "Issues the activation token of released orders: activation code 1$HOST$MATCHINGID,\n"
        "LPA: URI, the Apple/Android eSIM setup links, and with --qr-dir the QR codes as\n"
        "DIR/ORDER.png and DIR/ORDER.svg. Default TTL 30 days (0 = no expiry). Each issue\n"
        "opens a push (issued); `rspctl push record` notes its hand-over to a channel.\n";
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i]))
            return printf("%s", usage), 0;
        if (!strcmp(argv[i], "--json")) {
            json = true;
            continue;
        }
        if ((r = act_common_opt(argc, argv, &i, &c)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--campaign", &campaign)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--smdp-address", &host)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--ttl", &ttl_s)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--qr-dir", &dir))) {
            if (r < 0)
                return fprintf(stderr, "%s", usage), EXIT_USAGE;
            continue;
        }
        if (argv[i][0] == '-' || order)
            return fprintf(stderr, "%s", usage), EXIT_USAGE;
        order = argv[i];
    }
    if (!host || (!order) == (!campaign))
        return fprintf(stderr, "%s", usage), EXIT_USAGE;
    int64_t ttl = ttl_s ? strtoll(ttl_s, NULL, 10) : DEFAULT_TTL;
    if (ttl < 0)
        return fprintf(stderr, "%s", usage), EXIT_USAGE;
    if (dir && rspctl_make_dir(dir) != 0)
        return fprintf(stderr, "rspctl token issue: cannot create %s\n", dir), 1;
    struct rsp_store *st;
    int rc = act_open(&c, "token issue", &st);
    if (rc)
        return rc;
    json_t *out = json ? json_array() : NULL;
    size_t ok = 0, bad = 0;
    if (order) {
        rc = issue_one(st, order, host, ttl, dir, out, false, true);
        rc > 0 ? bad++ : rc == 0 ? ok++ : 0;
    } else {
        json_t *ids = json_array();
        enum rsp_act_stage s = RSP_ACT_RELEASED;
        struct rsp_act_order_filter f = {.campaign = campaign, .stage = &s};
        rc = rsp_act_order_list(st, &f, released_cb, ids);
        size_t k;
        json_t *v;
        json_array_foreach(ids, k, v)
        {
            if (rc < 0)
                break;
            rc = issue_one(st, json_string_value(v), host, ttl, dir, out, true, false);
            rc > 0 ? bad++ : rc == 0 ? ok++ : 0;
        }
        json_decref(ids);
        if (rc > 0)
            rc = 0;
        if (dir && ok && sync_dir(dir) != 0 && rc == 0)
            rc = RSP_EIO;
        if (!json && rc == 0)
            printf("campaign %s: %zu token(s) issued, %zu refused%s%s\n", campaign, ok, bad,
                   dir ? ", QR codes in " : "", dir ? dir : "");
    }
    if (rc < 0)
        fprintf(stderr, "rspctl token issue: %s (%s)\n", rsp_strerror(rc),
                rsp_store_last_error(st));
    rsp_store_close(st);
    if (out)
        act_print_json(out);
    return rc < 0 || bad ? 1 : 0;
}

static int tok_show_revoke(int argc, char **argv, bool revoke)
{
    struct act_common c = {0};
    const char *mid = NULL, *reason = NULL;
    bool json = false, qr = false;
    const char *usage = revoke ? "usage: rspctl token revoke MATCHINGID --db STORE --reason TEXT\n"
                                 "The SM-DP+ then refuses the download (8.2.6/3.8).\n"
                               : "usage: rspctl token show MATCHINGID --db STORE [--qr] [--json]\n";
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i]))
            return printf("%s", usage), 0;
        if (!strcmp(argv[i], "--json")) {
            json = true;
            continue;
        }
        if (!strcmp(argv[i], "--qr")) {
            qr = true;
            continue;
        }
        if ((r = act_common_opt(argc, argv, &i, &c)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--reason", &reason))) {
            if (r < 0)
                return fprintf(stderr, "%s", usage), EXIT_USAGE;
            continue;
        }
        if (argv[i][0] == '-' || mid)
            return fprintf(stderr, "%s", usage), EXIT_USAGE;
        mid = argv[i];
    }
    if (!mid || (revoke && (!reason || !*reason)))
        return fprintf(stderr, "%s", usage), EXIT_USAGE;
    struct rsp_store *st;
    int rc = act_open(&c, revoke ? "token revoke" : "token show", &st);
    if (rc)
        return rc;
    struct rsp_act_token t;
    if (revoke) {
        rc = rsp_act_token_revoke(st, mid, reason, rspctl_actor(), (int64_t)time(NULL));
        rsp_store_close(st);
        if (rc)
            return fprintf(stderr, "rspctl token revoke: %s: %s\n", mid,
                           rc == RSP_ESTATE ? "already revoked" : rsp_strerror(rc)),
                   1;
        printf("token %s revoked\n", mid);
        return 0;
    }
    rc = rsp_act_token_get(st, mid, &t);
    rsp_store_close(st);
    if (rc)
        return fprintf(stderr, "rspctl token show: %s: %s\n", mid, rsp_strerror(rc)), 1;
    json_t *j = act_token_json(&t);
    json_t *links = links_json(t.activation_code);
    json_object_update(j, links);
    json_decref(links);
    const char *state = t.revoked_at                                          ? "revoked"
                        : t.expires_at && (int64_t)time(NULL) >= t.expires_at ? "expired"
                                                                              : "valid";
    json_object_set_new(j, "state", json_string(state));
    if (qr) {
        char lpa[300];
        snprintf(lpa, sizeof lpa, "LPA:%s", t.activation_code);
        rsp_qr_terminal(stdout, lpa);
    }
    if (json) {
        act_print_json(j);
        return 0;
    }
    printf("token %s (order %s): %s\n  %s\n  %s\n  %s\n  expires %lld\n", t.matching_id, t.order_id,
           state, json_string_value(json_object_get(j, "lpa_uri")),
           json_string_value(json_object_get(j, "apple")),
           json_string_value(json_object_get(j, "android")), (long long)t.expires_at);
    json_decref(j);
    return 0;
}

static int tok_show(int argc, char **argv)
{
    return tok_show_revoke(argc, argv, false);
}

static int tok_revoke(int argc, char **argv)
{
    return tok_show_revoke(argc, argv, true);
}

int rspctl_cmd_token(int argc, char **argv)
{
    static const struct subcommand t[] = {
        {"issue", "activation code, QR (PNG, SVG), deep links of released orders", tok_issue},
        {"show", "a token: code, links, state; --qr renders it in the terminal", tok_show},
        {"revoke", "revoke a token (downloads refused)", tok_revoke},
    };
    return rspctl_dispatch("rspctl token", t, sizeof t / sizeof t[0], argc, argv);
}

/* ---- pushes ---- */

/* --csv FILE: "order_id,channel,ref" per line (header row, no quoting), one push each. */
static int push_csv(struct rsp_store *st, const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return fprintf(stderr, "rspctl push record: cannot read %s\n", file), 1;
    char line[512];
    size_t ln = 0, ok = 0, bad = 0;
    int rc = 0;
    while (rc >= 0 && fgets(line, sizeof line, f)) {
        ln++;
        size_t n = strlen(line);
        if (n && line[n - 1] != '\n' && !feof(f)) {
            fprintf(stderr, "%s:%zu: line longer than %zu bytes\n", file, ln, sizeof line - 2);
            bad++;
            int ch;
            while ((ch = fgetc(f)) != EOF && ch != '\n')
                ;
            continue;
        }
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        if (ln == 1 || n == 0)
            continue; /* header, blank */
        char *order = line, *channel = strchr(line, ','), *ref = NULL;
        if (channel) {
            *channel++ = 0;
            ref = strchr(channel, ',');
            if (ref)
                *ref++ = 0;
        }
        if (!channel || !ref || strchr(ref, ',')) {
            fprintf(stderr, "%s:%zu: expected order_id,channel,ref\n", file, ln);
            bad++;
            continue;
        }
        struct rsp_act_order o;
        int r = rsp_act_order_get(st, order, &o);
        if (r == 0)
            r = rsp_act_push_record(st, o.matching_id, channel, ref, rspctl_actor(),
                                    (int64_t)time(NULL), NULL);
        if (r == RSP_ENOTFOUND || r == RSP_EINVAL || r == RSP_ESTATE) {
            fprintf(stderr, "%s:%zu: %s: %s\n", file, ln, order,
                    r == RSP_ENOTFOUND ? "no such order/token"
                    : r == RSP_ESTATE  ? "token revoked"
                                       : "bad channel or ref");
            bad++;
        } else if (r) {
            rc = r;
        } else {
            ok++;
        }
    }
    fclose(f);
    if (rc < 0)
        return fprintf(stderr, "rspctl push record: %s (%s)\n", rsp_strerror(rc),
                       rsp_store_last_error(st)),
               1;
    printf("%zu push(es) recorded, %zu refused\n", ok, bad);
    return bad ? 1 : 0;
}

static int push_record(int argc, char **argv)
{
    struct act_common c = {0};
    const char *mid = NULL, *order = NULL, *channel = NULL, *ref = NULL, *csv = NULL;
    const char *usage =
        "usage: rspctl push record (--token MATCHINGID | --order ORDER)\n"
        "         --channel email|sms|app|other --ref REF --db STORE\n"
        "       rspctl push record --csv FILE --db STORE\n"
        "Records the hand-over of an activation token to a channel (REF: the channel's\n"
        "message id; no personal data). A token handed over again is a new push. --csv:\n"
        "a header row, then order_id,channel,ref per line (each push its own transaction;\n"
        "bad lines reported with their number, the good ones recorded).\n";
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i]))
            return printf("%s", usage), 0;
        if ((r = act_common_opt(argc, argv, &i, &c)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--token", &mid)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--order", &order)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--channel", &channel)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--ref", &ref)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--csv", &csv))) {
            if (r < 0)
                return fprintf(stderr, "%s", usage), EXIT_USAGE;
            continue;
        }
        return fprintf(stderr, "%s", usage), EXIT_USAGE;
    }
    if (csv ? (mid || order || channel || ref) : ((!mid) == (!order) || !channel || !ref))
        return fprintf(stderr, "%s", usage), EXIT_USAGE;
    struct rsp_store *st;
    int rc = act_open(&c, "push record", &st);
    if (rc)
        return rc;
    if (csv) {
        rc = push_csv(st, csv);
        rsp_store_close(st);
        return rc;
    }
    struct rsp_act_order o;
    char m[RSP_ACT_TEXT + 1];
    snprintf(m, sizeof m, "%s", mid ? mid : "");
    if (order) {
        rc = rsp_act_order_get(st, order, &o);
        if (rc == 0)
            snprintf(m, sizeof m, "%s", o.matching_id);
    }
    int64_t id = 0;
    if (rc == 0)
        rc = rsp_act_push_record(st, m, channel, ref, rspctl_actor(), (int64_t)time(NULL), &id);
    rsp_store_close(st);
    if (rc)
        return fprintf(stderr, "rspctl push record: %s\n",
                       rc == RSP_EINVAL   ? "channel must be email, sms, app or other; ref up to "
                                            "64 printable characters"
                       : rc == RSP_ESTATE ? "the token is revoked"
                       : rc == RSP_ENOTFOUND ? "no such token/order"
                                             : rsp_strerror(rc)),
               1;
    printf("push %lld recorded\n", (long long)id);
    return 0;
}

static int push_list_cb(void *arg, const struct rsp_act_push *p)
{
    json_t *a = arg;
    if (a)
        return json_array_append_new(a, act_push_json(p)) ? RSP_ENOMEM : 0;
    printf("%-8lld %-20s %-24s %-6s %-20s %-11lld %-11lld %-11lld %s\n", (long long)p->id,
           p->order_id, p->matching_id, p->channel[0] ? p->channel : "-",
           p->channel_ref[0] ? p->channel_ref : "-", (long long)p->issued_at,
           (long long)p->handed_at, (long long)p->first_contact_at,
           p->outcome[0] ? p->outcome : "-");
    return 0;
}

static int push_list(int argc, char **argv)
{
    struct act_common c = {0};
    const char *order = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        int r;
        if (rspctl_is_help(argv[i]))
            return printf("usage: rspctl push list --db STORE [--order ORDER] [--json]\n"), 0;
        if (!strcmp(argv[i], "--json")) {
            json = true;
            continue;
        }
        if ((r = act_common_opt(argc, argv, &i, &c)) ||
            (r = rspctl_opt_value(argc, argv, &i, "--order", &order))) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        return EXIT_USAGE;
    }
    struct rsp_store *st;
    int rc = act_open(&c, "push list", &st);
    if (rc)
        return rc;
    json_t *a = json ? json_array() : NULL;
    if (!json)
        printf("%-8s %-20s %-24s %-6s %-20s %-11s %-11s %-11s %s\n", "PUSH", "ORDER", "MATCHING-ID",
               "CHAN", "REF", "ISSUED", "HANDED", "CONTACT", "OUTCOME");
    rc = rsp_act_push_list(st, order, push_list_cb, a);
    rsp_store_close(st);
    if (rc)
        return json_decref(a), fprintf(stderr, "rspctl push list: %s\n", rsp_strerror(rc)), 1;
    if (a)
        act_print_json(a);
    return 0;
}

int rspctl_cmd_push(int argc, char **argv)
{
    static const struct subcommand t[] = {
        {"record", "record the hand-over of a token to a channel", push_record},
        {"list", "pushes (issued, handed over, first contact, outcome)", push_list},
    };
    return rspctl_dispatch("rspctl push", t, sizeof t / sizeof t[0], argc, argv);
}
