/* redis_tls.c - TLS on a Redis link's connection (redis_tls.h): a TLS
 * session (rsm/tls_session.h) between the socket and the reply reader,
 * so that the link keeps its own libuv stream, deadlines and write path.
 *
 *   socket --read--> session --plaintext--> reply reader
 *   command --session--> ciphertext --flush--> redis__write_raw --> socket
 *
 * The handshake runs in non-blocking steps: each read goes on with it and
 * sends what it produced (flush); it counts inside the link's connect deadline,
 * so a server that never finishes it times out like a connect. The server is
 * verified against the address the link was given: its IP (an IP literal) or
 * its name. */
#include "redis_tls.h"

#include "rsm/tls.h"
#include "rsm/tls_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One connection's session. Owned by its struct conn; freed in the
 * connection's close callback (redis__tls_free). */
struct redis_tls {
    struct rsm_tls_session *s;
    bool handshaking;
};

/* Write what the session produced (records, alerts) on the socket; 0 or
 * a libuv error. */
static int redis__tls_flush(struct rsm_redis *r, struct redis_tls *t)
{
    char *buf;
    size_t n;

    if (rsm_tls_session_output(t->s, &buf, &n) != 0)
        return UV_ENOMEM;
    if (n == 0)
        return 0;
    return redis__write_raw(r, buf, n, false);
}

/* Decrypt everything the session holds and feed it to the reply reader;
 * the handshake goes on first while it is not done, and once done the
 * link goes on to AUTH or ready. */
static void redis__tls_read_all(struct rsm_redis *r, struct conn *c)
{
    struct redis_tls *t = c->tls;
    char why[RSM_ERRMSG_SIZE];
    ssize_t n;
    int rv;

    for (;;) {
        n = rsm_tls_session_read(t->s, r->rbuf, sizeof r->rbuf, why,
                                 sizeof why);
        if (t->handshaking && rsm_tls_session_established(t->s)) {
            t->handshaking = false;
            rv = redis__tls_flush(r, t);
            if (rv == 0)
                redis__connected(r);
            if (rv != 0 || c != r->conn)
                break;
        }
        if (n > 0) {
            redis__feed(r, c, r->rbuf, (size_t)n);
            if (c != r->conn)
                return;
            continue;
        }
        if (n == 0)
            break;
        if (n == RSM_TLS_CLOSED) {
            redis__lost(r, "connection closed by the server (TLS "
                           "close_notify)");
            return;
        }
        (void)redis__tls_flush(r, t); /* the alert, if any: best effort */
        if (t->handshaking)
            redis__fail_all(r, RSM_ECONNECT, "%s: TLS handshake failed: %s",
                            r->name, why);
        else
            redis__fail_all(r, RSM_EPROTO, "%s: TLS read failed: %s", r->name,
                            why);
        return;
    }
    rv = redis__tls_flush(r, t); /* handshake or post-handshake messages */
    if (rv != 0 && c == r->conn)
        redis__fail_all(r, RSM_ECONNECT, "%s: write failed: %s", r->name,
                        uv_strerror(rv));
}

void redis__tls_on_read(struct rsm_redis *r, struct conn *c, const char *buf,
                        size_t len)
{
    if (rsm_tls_session_put(c->tls->s, buf, len) != 0) {
        redis__fail_all(r, RSM_ENOMEM, "%s: TLS buffer: out of memory",
                        r->name);
        return;
    }
    redis__tls_read_all(r, c);
}

int redis__tls_write(struct rsm_redis *r, char *buf, size_t len, bool secret)
{
    struct redis_tls *t = r->conn->tls;
    int rv = rsm_tls_session_write(t->s, buf, len);

    if (secret)
        explicit_bzero(buf, len);
    redisFreeCommand(buf);
    if (rv != 0)
        return rv == RSM_ENOMEM ? UV_ENOMEM : UV_EIO;
    return redis__tls_flush(r, t);
}

int redis__tls_start(struct rsm_redis *r, struct conn *c)
{
    struct redis_tls *t = calloc(1, sizeof *t);
    int rv;

    if (t == NULL)
        return UV_ENOMEM;
    c->tls = t; /* freed with c from here on */
    /* Verified against the address given: its IP (an IP literal) or its
     * name (DNS names of the certificate, and SNI). */
    if (rsm_tls_session_new(r->tls, r->addr.host, &t->s) != 0)
        return UV_ENOMEM;
    t->handshaking = true;
    r->state = ST_HANDSHAKE;
    rv = redis__tls_flush(r, t); /* the ClientHello */
    return rv;
}

void redis__tls_free(struct conn *c)
{
    if (c->tls != NULL) {
        rsm_tls_session_free(c->tls->s);
        free(c->tls);
        c->tls = NULL;
    }
}
