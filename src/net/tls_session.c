/* tls_session.c - one TLS connection between two memory BIOs
 * (rsm/tls_session.h):
 *
 *   socket --put--> rbio --SSL_read--> plaintext (rsm_tls_session_read)
 *   plaintext --SSL_write--> wbio --output--> socket
 */
#include "rsm/tls_session.h"

#include "rsm/err.h"
#include "rsm/tls.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssl_dl.h"

struct rsm_tls_session {
    SSL *ssl;  /* owns both BIOs and a reference to its SSL_CTX */
    BIO *rbio; /* ciphertext read from the socket */
    BIO *wbio; /* ciphertext to send */
    bool failed;
    char why[RSM_ERRMSG_SIZE]; /* why it failed: said again by each read */
};

static bool tls_session__is_ip(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, host, buf) == 1 ||
           inet_pton(AF_INET6, host, buf) == 1;
}

/* A client verifies the server against host: IP or DNS name (and SNI). */
static bool tls_session__expect(SSL *ssl, const char *host)
{
    if (tls_session__is_ip(host))
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1;
    return SSL_set1_host(ssl, host) == 1 &&
           SSL_set_tlsext_host_name(ssl, host) == 1;
}

int rsm_tls_session_new(const struct rsm_tls *t, const char *peer_host,
                        struct rsm_tls_session **out)
{
    struct rsm_tls_session *s = calloc(1, sizeof *s);
    bool client = rsm_tls_side(t) == RSM_TLS_CLIENT;

    if (s == NULL)
        return RSM_ENOMEM;
    ERR_clear_error();
    s->ssl = SSL_new(rsm_tls_ctx(t));
    s->rbio = BIO_new(BIO_s_mem());
    s->wbio = BIO_new(BIO_s_mem());
    if (s->ssl == NULL || s->rbio == NULL || s->wbio == NULL) {
        BIO_free(s->rbio);
        BIO_free(s->wbio);
        goto err;
    }
    BIO_set_mem_eof_return(s->rbio, -1); /* empty: retry, not EOF */
    SSL_set_bio(s->ssl, s->rbio, s->wbio);
    if (client && peer_host != NULL && !tls_session__expect(s->ssl, peer_host))
        goto err;
    if (client) {
        SSL_set_connect_state(s->ssl);
        (void)SSL_do_handshake(s->ssl); /* the ClientHello, into wbio */
    } else {
        SSL_set_accept_state(s->ssl);
    }
    ERR_clear_error();
    *out = s;
    return 0;

err:
    if (s->ssl != NULL)
        SSL_free(s->ssl);
    free(s);
    ERR_clear_error();
    return RSM_ENOMEM;
}

void rsm_tls_session_free(struct rsm_tls_session *s)
{
    if (s == NULL)
        return;
    SSL_free(s->ssl);
    free(s);
}

int rsm_tls_session_put(struct rsm_tls_session *s, const void *buf, size_t len)
{
    if (len == 0)
        return 0;
    if (len > (size_t)0x7fffffff ||
        BIO_write(s->rbio, buf, (int)len) != (int)len)
        return RSM_ENOMEM;
    return 0;
}

/* s failed: remember why the last call failed (the error queue
 * cleared), and return RSM_TLS_FAILED with it in why. */
static ssize_t tls_session__fail(struct rsm_tls_session *s, int ret,
                                 char *why, size_t why_size)
{
    unsigned long e = ERR_peek_last_error();
    long verify = SSL_get_verify_result(s->ssl);
    int err = SSL_get_error(s->ssl, ret);
    const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;
    size_t size = sizeof s->why;

    s->failed = true;
    if (reason != NULL && verify != X509_V_OK)
        snprintf(s->why, size, "%s: %s", reason,
                 X509_verify_cert_error_string(verify));
    else if (reason != NULL)
        snprintf(s->why, size, "%s", reason);
    else if (err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL)
        snprintf(s->why, size, "connection closed by the peer");
    else
        snprintf(s->why, size, "OpenSSL error %d", err);
    ERR_clear_error();
    if (why_size > 0)
        snprintf(why, why_size, "%s", s->why);
    return RSM_TLS_FAILED;
}

ssize_t rsm_tls_session_read(struct rsm_tls_session *s, void *out, size_t cap,
                             char *why, size_t why_size)
{
    int n, err;

    if (s->failed) {
        if (why_size > 0)
            snprintf(why, why_size, "%s", s->why);
        return RSM_TLS_FAILED;
    }
    ERR_clear_error();
    if (!SSL_is_init_finished(s->ssl)) {
        n = SSL_do_handshake(s->ssl);
        if (n != 1) {
            err = SSL_get_error(s->ssl, n);
            if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
                return 0;
            return tls_session__fail(s, n, why, why_size);
        }
    }
    if (cap > (size_t)0x7fffffff)
        cap = 0x7fffffff;
    n = SSL_read(s->ssl, out, (int)cap);
    if (n > 0)
        return n;
    err = SSL_get_error(s->ssl, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return 0;
    }
    if (err == SSL_ERROR_ZERO_RETURN) {
        ERR_clear_error();
        return RSM_TLS_CLOSED;
    }
    return tls_session__fail(s, n, why, why_size);
}

bool rsm_tls_session_established(const struct rsm_tls_session *s)
{
    return !s->failed && SSL_is_init_finished(s->ssl);
}

int rsm_tls_session_write(struct rsm_tls_session *s, const void *buf,
                          size_t len)
{
    int n;

    if (s->failed)
        return RSM_EPROTO;
    if (len == 0)
        return 0;
    if (len > (size_t)0x7fffffff)
        return RSM_EINVAL;
    ERR_clear_error();
    n = SSL_write(s->ssl, buf, (int)len);
    if (n == (int)len)
        return 0;
    /* Before the handshake is done SSL_write wants to read first: a
     * memory BIO never blocks a write, so that is the only reason. */
    if (n <= 0 && SSL_get_error(s->ssl, n) == SSL_ERROR_WANT_READ) {
        ERR_clear_error();
        return RSM_EBUSY;
    }
    ERR_clear_error();
    return RSM_EPROTO;
}

void rsm_tls_session_shutdown(struct rsm_tls_session *s)
{
    if (!s->failed && SSL_is_init_finished(s->ssl))
        (void)SSL_shutdown(s->ssl);
    ERR_clear_error();
}

int rsm_tls_session_output(struct rsm_tls_session *s, char **out, size_t *len)
{
    size_t n = BIO_ctrl_pending(s->wbio);
    char *buf;
    int got;

    *out = NULL;
    *len = 0;
    if (n == 0)
        return 0;
    buf = malloc(n);
    if (buf == NULL)
        return RSM_ENOMEM;
    got = BIO_read(s->wbio, buf, (int)n);
    if (got <= 0) {
        free(buf);
        return RSM_ENOMEM;
    }
    *out = buf;
    *len = (size_t)got;
    return 0;
}

bool rsm_tls_session_peer_is(const struct rsm_tls_session *s, const char *host)
{
    X509 *cert;

    if (!rsm_tls_session_established(s) || host == NULL || host[0] == '\0')
        return false;
    cert = SSL_get0_peer_certificate(s->ssl);
    if (cert == NULL || SSL_get_verify_result(s->ssl) != X509_V_OK)
        return false;
    if (tls_session__is_ip(host))
        return X509_check_ip_asc(cert, host, 0) == 1;
    return X509_check_host(cert, host, strlen(host), 0, NULL) == 1;
}

void rsm_tls_session_peer_subject(const struct rsm_tls_session *s, char *buf,
                                  size_t size)
{
    X509 *cert = SSL_get0_peer_certificate(s->ssl);

    if (size == 0)
        return;
    buf[0] = '\0';
    if (cert != NULL)
        X509_NAME_oneline(X509_get_subject_name(cert), buf, (int)size);
}
