/* fuzz_http.c - libFuzzer target for the HTTP protocol core (io/http).
 *
 * Run: build-fuzz/fuzz_http tests/fuzz/corpus/http
 *
 * The first byte of the input picks how the rest is cut into pieces (1 to
 * 64 bytes, or all at once), so that every parser callback is also seen
 * split across reads; the rest is fed to one connection with small limits,
 * then EOF. The output must be a sequence of complete responses, one per
 * request counted, each with a status line, a Content-Length that matches
 * its body (none for HEAD), and the handler must only ever see GET/HEAD
 * with a path that starts with '/'. Nothing may come out after the
 * connection is done. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsm/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SEEN 4096

struct seen {
    unsigned n;
    bool head[MAX_SEEN];
};

static void handler(void *arg, const struct rsm_http_request *req,
                    struct rsm_http_response *resp)
{
    struct seen *s = arg;

    if (req->path[0] != '/' || strlen(req->path) == 0)
        abort();
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
        abort();
    if (req->head != (strcmp(req->method, "HEAD") == 0))
        abort();
    if (s->n < MAX_SEEN)
        s->head[s->n] = req->head;
    s->n++;
    rsm_http_response_text(resp, 200, req->path);
}

/* Walk the responses in out; returns how many, aborts on a malformed one. */
static unsigned check_output(const char *out, size_t len, const struct seen *s)
{
    unsigned n = 0, handled = 0;
    size_t pos = 0;

    while (pos < len) {
        const char *p = out + pos, *end, *cl;
        size_t hlen, body;
        int status;

        if (len - pos < 13 || memcmp(p, "HTTP/1.1 ", 9) != 0)
            abort();
        status = atoi(p + 9);
        if (status < 100 || status > 599)
            abort();
        end = memmem(p, len - pos, "\r\n\r\n", 4);
        if (end == NULL)
            abort();
        hlen = (size_t)(end - p) + 4;
        cl = memmem(p, hlen, "Content-Length: ", 16);
        if (cl == NULL)
            abort();
        body = strtoul(cl + 16, NULL, 10);
        if (status == 200) {
            if (handled < MAX_SEEN && s->head[handled])
                body = 0;
            handled++;
        }
        if (hlen + body > len - pos)
            abort();
        pos += hlen + body;
        n++;
    }
    if (handled != s->n)
        abort();
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rsm_http_limits l;
    struct rsm_http_conn *c;
    struct seen *s;
    size_t step, pos = 1, total = 0, cap = 0;
    char *all = NULL;

    if (size == 0)
        return 0;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return 0;
    rsm_http_limits_default(&l);
    l.max_url_bytes = 64;
    l.max_header_bytes = 256;
    l.max_headers = 8;
    l.max_body_bytes = 32;
    l.max_output_bytes = 1 << 16;
    if (rsm_http_conn_create(&l, handler, s, &c) != 0) {
        free(s);
        return 0;
    }
    step = data[0] % 65;
    if (step == 0)
        step = size;
    while (pos < size) {
        size_t n = size - pos < step ? size - pos : step;
        bool was_done = rsm_http_conn_done(c);
        char *out;
        size_t len;

        if (rsm_http_conn_feed(c, (const char *)data + pos, n) != 0)
            break;
        pos += n;
        rsm_http_conn_take_output(c, &out, &len);
        if (was_done && len > 0)
            abort(); /* nothing after done */
        if (len > 0) {
            char *grown = realloc(all, total + len);
            if (grown == NULL) {
                free(out);
                break;
            }
            all = grown;
            memcpy(all + total, out, len);
            total += len;
            cap = total;
        }
        free(out);
    }
    rsm_http_conn_eof(c);
    if (!rsm_http_conn_done(c) || rsm_http_conn_in_request(c))
        abort();
    if (check_output(all, total, s) != rsm_http_conn_requests(c))
        abort();
    (void)cap;
    free(all);
    rsm_http_conn_free(c);
    free(s);
    return 0;
}
