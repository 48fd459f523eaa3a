/* fuzz_tls.c - libFuzzer target for the TLS record path of the client
 * port (--tls-api): what the server's session (rsm/tls_session.h) makes
 * of the bytes a client sends, and what the RESP parser then gets.
 *
 * The first byte of an input picks the mode:
 *
 *   even: after a completed handshake. A client session writes the rest
 *         of the input as plaintext, in writes of (second byte % 64 + 1)
 *         * 16 bytes, so records of many sizes; its ciphertext goes into
 *         the server session, whose plaintext is read the way the
 *         listener reads it (listener_io.c: into the owner's buffer, the
 *         RESP server's 64 KB) and fed to the RESP parser
 *         (rsm_resp_parser_feed/next) as resp_server.c feeds it. What the
 *         parser gets must be exactly what the client wrote (until the
 *         parser stops at an error, as the server closes then).
 *   odd:  raw bytes as ciphertext into a fresh server session: the
 *         record layer and the handshake parsing of a client that is not
 *         a TLS client (or a broken one), read until the session wants
 *         more or fails, its output taken as the listener sends it.
 *
 * The certificate (EC P-256, self-signed, IP:127.0.0.1) is made once, at
 * the first input, with the openssl CLI in a temp dir removed as soon as
 * the contexts have read it (so a crash leaves nothing behind);
 * the client/server pair of the first mode is also made once and kept
 * while it works (a handshake per input would be most of the time).
 *
 *   CC=clang cmake -S . -B build-fuzz -DRSM_FUZZ=ON
 *   cmake --build build-fuzz --target fuzz_tls
 *   scripts/fuzz.sh tls 60 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rsm/err.h"
#include "rsm/resp_server.h"
#include "rsm/tls.h"
#include "rsm/tls_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define READ_SIZE 65536 /* the RESP server's read buffer */

static char dir[] = "/tmp/rsm-fuzz-tls-XXXXXX";
static struct rsm_tls *server_ctx, *client_ctx;
static struct rsm_tls_session *client, *server; /* the established pair */
static struct rsm_resp_limits limits;
static char rbuf[READ_SIZE];

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_tls: %s\n", what);
    abort();
}

static void remove_dir(void)
{
    char cmd[128];

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_tls: could not remove %s\n", dir);
}

static void make_contexts(void)
{
    struct rsm_tls_config cfg = {0};
    char cmd[1024], crt[64], key[64], err[RSM_ERRMSG_SIZE];
    int rv;

    if (mkdtemp(dir) == NULL)
        fail("mkdtemp");
    snprintf(crt, sizeof crt, "%s/server.crt", dir);
    snprintf(key, sizeof key, "%s/server.key", dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
             "-nodes -days 2 -subj /CN=fuzz -addext "
             "subjectAltName=IP:127.0.0.1 -keyout %s -out %s "
             ">/dev/null 2>&1",
             key, crt);
    if (system(cmd) != 0) {
        remove_dir();
        fail("openssl req failed (is the openssl CLI installed?)");
    }
    cfg.side = RSM_TLS_SERVER;
    cfg.auth_clients = RSM_TLS_AUTH_NO;
    cfg.cert_file = crt;
    cfg.key_file = key;
    rv = rsm_tls_create(&cfg, &server_ctx, err, sizeof err);
    memset(&cfg, 0, sizeof cfg);
    cfg.side = RSM_TLS_CLIENT;
    cfg.ca_file = crt;
    if (rv == 0)
        rv = rsm_tls_create(&cfg, &client_ctx, err, sizeof err);
    remove_dir(); /* read by the contexts: not needed any more */
    if (rv != 0)
        fail(err);
    rsm_resp_limits_default(&limits);
    limits.max_request_bytes = 64 * 1024;
}

/* Move from's output into to. */
static void carry(struct rsm_tls_session *from, struct rsm_tls_session *to)
{
    char *buf;
    size_t n;

    if (rsm_tls_session_output(from, &buf, &n) != 0)
        fail("output: out of memory");
    if (n > 0 && rsm_tls_session_put(to, buf, n) != 0)
        fail("put: out of memory");
    free(buf);
}

/* Drive the handshake of a new pair to its end. */
static void make_pair(void)
{
    char why[RSM_ERRMSG_SIZE];

    rsm_tls_session_free(client);
    rsm_tls_session_free(server);
    if (rsm_tls_session_new(client_ctx, "127.0.0.1", &client) != 0 ||
        rsm_tls_session_new(server_ctx, NULL, &server) != 0)
        fail("session: out of memory");
    for (int i = 0; i < 20; i++) {
        carry(client, server);
        if (rsm_tls_session_read(server, rbuf, sizeof rbuf, why, sizeof why) <
            0)
            fail(why);
        carry(server, client);
        if (rsm_tls_session_read(client, rbuf, sizeof rbuf, why, sizeof why) <
            0)
            fail(why);
        if (rsm_tls_session_established(client) &&
            rsm_tls_session_established(server))
            return;
    }
    fail("handshake did not complete");
}

/* Feed n decrypted bytes to the parser and take every request; false
 * once it fails (the server would close the connection). */
static bool parse(struct rsm_resp_parser *p, const char *buf, size_t n)
{
    struct rsm_resp_request req;
    char err[RSM_ERRMSG_SIZE];
    int rv;

    if (rsm_resp_parser_feed(p, buf, n) != 0)
        return false;
    while ((rv = rsm_resp_parser_next(p, &req, err, sizeof err)) == 0)
        if (req.argc < 1)
            fail("a request without arguments");
    return rv == RSM_ETRUNC;
}

/* The server reads everything the session has; checks it is what the
 * client wrote (at *at of data) and parses it. */
static bool server_reads(struct rsm_resp_parser *p, const uint8_t *data,
                         size_t *at, size_t size, bool *parsing)
{
    char why[RSM_ERRMSG_SIZE];
    ssize_t n;

    while ((n = rsm_tls_session_read(server, rbuf, sizeof rbuf, why,
                                     sizeof why)) > 0) {
        if ((size_t)n > size - *at || memcmp(rbuf, data + *at, (size_t)n))
            fail("the server read other bytes than the client wrote");
        *at += (size_t)n;
        if (*parsing)
            *parsing = parse(p, rbuf, (size_t)n);
    }
    return n == 0;
}

static void after_handshake(const uint8_t *data, size_t size)
{
    size_t chunk = 16, sent = 0, got = 0;
    struct rsm_resp_parser *p;
    bool parsing = true;

    if (client == NULL || !rsm_tls_session_established(server))
        make_pair();
    if (size > 0) {
        chunk = (size_t)(data[0] % 64 + 1) * 16;
        data++;
        size--;
    }
    if (rsm_resp_parser_create(&limits, &p) != 0)
        fail("parser: out of memory");
    while (sent < size) {
        size_t n = size - sent < chunk ? size - sent : chunk;
        if (rsm_tls_session_write(client, data + sent, n) != 0)
            fail("client write failed");
        sent += n;
        carry(client, server);
        if (!server_reads(p, data, &got, size, &parsing))
            fail("the server session failed on the client's records");
    }
    if (got != size)
        fail("the server read fewer bytes than the client wrote");
    carry(server, client); /* nothing expected; keep the pair clean */
    rsm_resp_parser_free(p);
}

static void raw_records(const uint8_t *data, size_t size)
{
    struct rsm_tls_session *s;
    char why[RSM_ERRMSG_SIZE], *out;
    size_t n;

    if (rsm_tls_session_new(server_ctx, NULL, &s) != 0)
        fail("session: out of memory");
    if (rsm_tls_session_put(s, data, size) != 0)
        fail("put: out of memory");
    while (rsm_tls_session_read(s, rbuf, sizeof rbuf, why, sizeof why) > 0)
        ;
    if (rsm_tls_session_output(s, &out, &n) != 0)
        fail("output: out of memory");
    free(out);
    rsm_tls_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (server_ctx == NULL)
        make_contexts();
    if (size == 0)
        return 0;
    if (data[0] & 1)
        raw_records(data + 1, size - 1);
    else
        after_handshake(data + 1, size - 1);
    return 0;
}
