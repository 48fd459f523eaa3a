/* redis_tls.c - TLS on a Redis link's connection (redis_tls.h): OpenSSL
 * driven through two memory BIOs, so that the link keeps its own libuv
 * stream, deadlines and write path.
 *
 *   socket --read--> rbio --SSL_read--> plaintext --> reply reader
 *   command --SSL_write--> wbio --flush--> redis__write_raw --> socket
 *
 * The handshake runs in non-blocking steps: each SSL_connect sends what
 * it produced (flush) and waits for more bytes (SSL_ERROR_WANT_READ); it
 * counts inside the link's connect deadline, so a server that never
 * finishes it times out like a connect. The server is verified against
 * the address the link was given: its IP (an IP literal) or its name. */
#include "redis_tls.h"

#include "rsm/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssl_dl.h"

/* One connection's session. Owned by its struct conn; freed in the
 * connection's close callback (redis__tls_free). */
struct redis_tls {
    SSL *ssl;  /* owns both BIOs */
    BIO *rbio; /* ciphertext read from the socket */
    BIO *wbio; /* ciphertext to write on the socket */
    bool handshaking;
};

/* Why the last OpenSSL call on t failed, in out (and the error queue
 * cleared). */
static void tls__why(const struct redis_tls *t, int ret, char *out, size_t size)
{
    unsigned long e = ERR_peek_last_error();
    long verify = SSL_get_verify_result(t->ssl);
    int err = SSL_get_error(t->ssl, ret);

    if (e != 0 && verify != X509_V_OK)
        snprintf(out, size, "%s: %s", ERR_reason_error_string(e),
                 X509_verify_cert_error_string(verify));
    else if (e != 0)
        snprintf(out, size, "%s", ERR_reason_error_string(e));
    else if (err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL)
        snprintf(out, size, "connection closed by the server");
    else
        snprintf(out, size, "OpenSSL error %d", err);
    ERR_clear_error();
}

/* Write what OpenSSL produced (records, alerts) on the socket; 0 or a
 * libuv error. */
static int tls__flush(struct rsm_redis *r, struct redis_tls *t)
{
    size_t n = BIO_ctrl_pending(t->wbio);
    char *buf;
    int got;

    if (n == 0)
        return 0;
    buf = malloc(n);
    if (buf == NULL)
        return UV_ENOMEM;
    got = BIO_read(t->wbio, buf, (int)n);
    if (got <= 0) {
        free(buf);
        return UV_EIO;
    }
    return redis__write_raw(r, buf, (size_t)got, false);
}

/* One step of the handshake; once done, the link goes on to AUTH or
 * ready. */
static void tls__handshake(struct rsm_redis *r, struct conn *c)
{
    struct redis_tls *t = c->tls;
    char why[RSM_ERRMSG_SIZE];
    int ret, err, rv;

    ERR_clear_error();
    ret = SSL_connect(t->ssl);
    err = ret == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, ret);
    if (ret != 1 && err != SSL_ERROR_WANT_READ) {
        tls__why(t, ret, why, sizeof why);
        (void)tls__flush(r, t); /* the alert, if any: best effort */
        redis__fail_all(r, RSM_ECONNECT, "%s: TLS handshake failed: %s",
                        r->name, why);
        return;
    }
    rv = tls__flush(r, t);
    if (rv != 0) {
        redis__fail_all(r, RSM_ECONNECT, "%s: write failed: %s", r->name,
                        uv_strerror(rv));
        return;
    }
    if (ret == 1) {
        t->handshaking = false;
        redis__connected(r);
    }
}

/* Decrypt everything rbio holds and feed it to the reply reader. */
static void tls__read_all(struct rsm_redis *r, struct conn *c)
{
    struct redis_tls *t = c->tls;
    char why[RSM_ERRMSG_SIZE];
    int n, err, rv;

    for (;;) {
        ERR_clear_error();
        n = SSL_read(t->ssl, r->rbuf, (int)sizeof r->rbuf);
        if (n > 0) {
            redis__feed(r, c, r->rbuf, (size_t)n);
            if (c != r->conn)
                return;
            continue;
        }
        err = SSL_get_error(t->ssl, n);
        if (err == SSL_ERROR_WANT_READ)
            break;
        if (err == SSL_ERROR_ZERO_RETURN) {
            redis__lost(r, "connection closed by the server (TLS "
                           "close_notify)");
            return;
        }
        tls__why(t, n, why, sizeof why);
        redis__fail_all(r, RSM_EPROTO, "%s: TLS read failed: %s", r->name, why);
        return;
    }
    rv = tls__flush(r, t); /* post-handshake messages, if any */
    if (rv != 0)
        redis__fail_all(r, RSM_ECONNECT, "%s: write failed: %s", r->name,
                        uv_strerror(rv));
}

void redis__tls_on_read(struct rsm_redis *r, struct conn *c, const char *buf,
                        size_t len)
{
    struct redis_tls *t = c->tls;

    if (len > 0 && BIO_write(t->rbio, buf, (int)len) != (int)len) {
        redis__fail_all(r, RSM_ENOMEM, "%s: TLS buffer: out of memory",
                        r->name);
        return;
    }
    if (t->handshaking) {
        tls__handshake(r, c);
        if (c != r->conn || t->handshaking)
            return;
    }
    tls__read_all(r, c);
}

int redis__tls_write(struct rsm_redis *r, char *buf, size_t len, bool secret)
{
    struct redis_tls *t = r->conn->tls;
    int n = 0;

    ERR_clear_error();
    if (len > 0)
        n = SSL_write(t->ssl, buf, (int)len);
    if (secret)
        explicit_bzero(buf, len);
    redisFreeCommand(buf);
    if (len > 0 && n != (int)len) {
        ERR_clear_error();
        return UV_EIO; /* a memory BIO takes all or nothing */
    }
    return tls__flush(r, t);
}

/* Verify the server against the address given: an IP literal against
 * the certificate's IP addresses, a name against its DNS names (and sent
 * as SNI). 1 or 0 (out of memory). */
static int tls__expect_peer(const struct rsm_redis *r, SSL *ssl)
{
    if (r->numeric)
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), r->addr.host);
    return SSL_set1_host(ssl, r->addr.host) &&
           SSL_set_tlsext_host_name(ssl, r->addr.host);
}

int redis__tls_start(struct rsm_redis *r, struct conn *c)
{
    struct redis_tls *t = calloc(1, sizeof *t);

    if (t == NULL)
        return UV_ENOMEM;
    c->tls = t; /* freed with c from here on */
    t->ssl = SSL_new(rsm_tls_ctx(r->tls));
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        t->rbio = t->wbio = NULL;
        ERR_clear_error();
        return UV_ENOMEM;
    }
    BIO_set_mem_eof_return(t->rbio, -1); /* empty: retry, not EOF */
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    if (!tls__expect_peer(r, t->ssl)) {
        ERR_clear_error();
        return UV_ENOMEM;
    }
    SSL_set_connect_state(t->ssl);
    t->handshaking = true;
    r->state = ST_HANDSHAKE;
    tls__handshake(r, c); /* the ClientHello */
    return 0;
}

void redis__tls_free(struct conn *c)
{
    if (c->tls != NULL) {
        SSL_free(c->tls->ssl);
        free(c->tls);
        c->tls = NULL;
    }
}
