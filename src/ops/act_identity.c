/* Identity-check hook of activation orders (rsp/act_ops.h): a command or an HTTP(S) URL. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rsp/act_ops.h"
#include "rsp/err.h"

#define ANSWER_MAX 4096

static char *request_json(const struct rsp_act_order *o)
{
    json_t *j =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "order_id", o->order_id,
                  "customer_ref", o->customer_ref, "tariff_plan", o->tariff_plan, "campaign",
                  o->campaign, "country", o->country, "profile_type", o->profile_type, "iccid",
                  o->iccid, "eid", o->eid, "tac", o->tac, "device_model", o->device_model);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

/* Reads {"result":"pass"|"fail","reason":...}. */
static void verdict(const char *ans, size_t n, bool *pass, char *reason, size_t cap)
{
    json_error_t e;
    json_t *j = json_loadb(ans, n, 0, &e);
    const char *r = json_is_object(j) ? json_string_value(json_object_get(j, "result")) : NULL;
    const char *why = json_is_object(j) ? json_string_value(json_object_get(j, "reason")) : NULL;
    if (!r || (strcmp(r, "pass") != 0 && strcmp(r, "fail") != 0)) {
        *pass = false;
        snprintf(reason, cap, "identity check error: answer is not {\"result\":\"pass\"|\"fail\"}");
    } else {
        *pass = strcmp(r, "pass") == 0;
        snprintf(reason, cap, "%s", why ? why : "");
        for (char *p = reason; *p; p++) /* one printable line */
            if ((unsigned char)*p < 0x20)
                *p = ' ';
    }
    json_decref(j);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void run_command(const char *cmd, unsigned timeout_s, const char *req, bool *pass,
                        char *reason, size_t cap)
{
    int in[2], out[2];
    if (pipe(in) != 0)
        goto broken;
    if (pipe(out) != 0) {
        close(in[0]);
        close(in[1]);
        goto broken;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        goto broken;
    }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        setpgid(0, 0);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    size_t req_len = strlen(req), sent = 0, got = 0;
    char ans[ANSWER_MAX + 1];
    bool timed_out = false, too_long = false;
    int64_t deadline = mono_ms() + (int64_t)timeout_s * 1000;
    int wfd = in[1];
    for (;;) {
        struct pollfd p[2] = {{out[0], POLLIN, 0}, {wfd, POLLOUT, 0}};
        int64_t left = deadline - mono_ms();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        int r = poll(p, wfd >= 0 ? 2 : 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        if (wfd >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = write(wfd, req + sent, req_len - sent);
            if (w > 0)
                sent += (size_t)w;
            if (w < 0 && errno != EAGAIN) /* the command does not read: fine */
                sent = req_len;
            if (sent >= req_len) {
                close(wfd);
                wfd = -1;
            }
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t rd = read(out[0], ans + got, ANSWER_MAX - got);
            if (rd == 0)
                break;
            if (rd > 0) {
                got += (size_t)rd;
                if (got >= ANSWER_MAX) {
                    too_long = true;
                    break;
                }
            } else if (errno != EAGAIN && errno != EINTR) {
                break;
            }
        }
    }
    if (wfd >= 0)
        close(wfd);
    close(out[0]);
    if (timed_out || too_long)
        kill(-pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    signal(SIGPIPE, old);
    *pass = false;
    if (timed_out)
        snprintf(reason, cap, "identity check error: no answer within %u s", timeout_s);
    else if (too_long)
        snprintf(reason, cap, "identity check error: answer longer than %d bytes", ANSWER_MAX);
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        snprintf(reason, cap, "identity check error: command exit status %d",
                 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    else
        verdict(ans, got, pass, reason, cap);
    return;
broken:
    *pass = false;
    snprintf(reason, cap, "identity check error: cannot run the command");
}

struct sink {
    char data[ANSWER_MAX + 1];
    size_t n;
    bool overflow;
};

static size_t sink_write(char *p, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t k = size * n;
    if (s->n + k > ANSWER_MAX) {
        s->overflow = true;
        return 0;
    }
    memcpy(s->data + s->n, p, k);
    s->n += k;
    return k;
}

static void run_url(const char *url, unsigned timeout_s, const char *req, bool *pass, char *reason,
                    size_t cap)
{
    *pass = false;
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    struct sink s = {.n = 0};
    if (!c || !h) {
        snprintf(reason, cap, "identity check error: cannot start an HTTP request");
        goto out;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout_s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    CURLcode cc = curl_easy_perform(c);
    long http = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
    if (s.overflow)
        snprintf(reason, cap, "identity check error: answer longer than %d bytes", ANSWER_MAX);
    else if (cc != CURLE_OK)
        snprintf(reason, cap, "identity check error: %s", curl_easy_strerror(cc));
    else if (http < 200 || http > 299)
        snprintf(reason, cap, "identity check error: HTTP %ld", http);
    else
        verdict(s.data, s.n, pass, reason, cap);
out:
    curl_slist_free_all(h);
    if (c)
        curl_easy_cleanup(c);
}

int rsp_act_identity_check(const char *spec, unsigned timeout_s, const struct rsp_act_order *o,
                           bool *pass, char *reason, size_t reason_len)
{
    if (!spec || !*spec || !o || !pass || !reason || !reason_len)
        return RSP_EINVAL;
    if (!timeout_s)
        timeout_s = 10;
    char *req = request_json(o);
    if (!req)
        return RSP_ENOMEM;
    if (!strncmp(spec, "http://", 7) || !strncmp(spec, "https://", 8))
        run_url(spec, timeout_s, req, pass, reason, reason_len);
    else
        run_command(spec, timeout_s, req, pass, reason, reason_len);
    free(req);
    return 0;
}
