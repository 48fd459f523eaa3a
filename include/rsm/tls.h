/* tls.h - the TLS client context of the agent's links to Redis: one
 * OpenSSL SSL_CTX built from the --tls-* flags (client certificate,
 * trusted CAs, protocols, TLS 1.3 cipher suites), shared by every link.
 *
 * Every file is checked when the context is built, so that a bad one is
 * reported at start naming the file (unreadable, not a certificate or a
 * key, a key that does not match its certificate, an expired
 * certificate), not at the first handshake.
 *
 * Ownership: rsm_tls_create() allocates; rsm_tls_free() frees, after every
 * link that uses the context is closed (a link holds no reference). */
#ifndef RSM_TLS_H
#define RSM_TLS_H

#include <stddef.h>

struct rsm_tls;

/* Each field NULL or "" for none. */
struct rsm_tls_config {
    const char *cert_file;    /* client certificate (chain), PEM */
    const char *key_file;     /* its private key, PEM; needs cert_file */
    const char *ca_file;      /* trusted CA certificates, PEM */
    const char *ca_dir;       /* trusted CAs, c_rehash directory */
    const char *protocols;    /* "TLSv1.2 TLSv1.3" (Redis's syntax) */
    const char *ciphersuites; /* TLS 1.3 suites, OpenSSL's syntax */
};

/* Build a client context from cfg. Without ca_file and ca_dir the
 * system's default trust store is used. Servers are always verified.
 * Returns 0, RSM_ENOMEM, or RSM_EINVAL with msg (msg_size bytes) saying
 * what is wrong and naming the file. */
int rsm_tls_create(const struct rsm_tls_config *cfg, struct rsm_tls **out,
                   char *msg, size_t msg_size);

/* Free t (NULL: nothing). */
void rsm_tls_free(struct rsm_tls *t);

/* The OpenSSL context (an SSL_CTX *), for the links (src/net). */
void *rsm_tls_ctx(const struct rsm_tls *t);

#endif /* RSM_TLS_H */
