/* tls.h - a TLS context of the agent: one OpenSSL SSL_CTX built from the
 * --tls-* flags (certificate, trusted CAs, protocols, TLS 1.3 cipher
 * suites), client side (the links to Redis, the Raft transport's outgoing
 * connections) or server side (the client and HTTP ports, the Raft
 * transport's listener). Connections run on it through rsm/tls_session.h.
 *
 * Every file is checked when the context is built, so that a bad one is
 * reported at start naming the file (unreadable, not a certificate or a
 * key, a key that does not match its certificate, an expired
 * certificate), not at the first handshake. rsm_tls_reload() reads the
 * same files again (SIGHUP): a new certificate is used by the connections
 * made after it, and a broken one leaves the old context in place.
 *
 * Ownership: rsm_tls_create() allocates (and copies cfg's strings);
 * rsm_tls_free() frees. A session holds its own reference to the SSL_CTX
 * it was made with, so freeing or reloading the context never breaks a
 * connection; a link that makes new sessions must not outlive it. */
#ifndef RSM_TLS_H
#define RSM_TLS_H

#include <stddef.h>

struct rsm_tls;

/* Which end of a connection the context is for. */
enum rsm_tls_side { RSM_TLS_CLIENT = 0, RSM_TLS_SERVER };

/* Server side: must a client show a certificate (Redis's
 * tls-auth-clients)? Verified against the trusted CAs when it does. */
enum rsm_tls_auth_clients {
    RSM_TLS_AUTH_YES = 0, /* required */
    RSM_TLS_AUTH_NO,      /* not asked for */
    RSM_TLS_AUTH_OPTIONAL /* asked for, verified if given */
};

/* Each string NULL or "" for none. */
struct rsm_tls_config {
    enum rsm_tls_side side;
    enum rsm_tls_auth_clients auth_clients; /* server side only */
    const char *cert_file;    /* certificate (chain), PEM; a server
                                 needs one */
    const char *key_file;     /* its private key, PEM; needs cert_file */
    const char *ca_file;      /* trusted CA certificates, PEM */
    const char *ca_dir;       /* trusted CAs, c_rehash directory */
    const char *protocols;    /* "TLSv1.2 TLSv1.3" (Redis's syntax) */
    const char *ciphersuites; /* TLS 1.3 suites, OpenSSL's syntax */
};

/* Build a context from cfg. Without ca_file and ca_dir the system's
 * default trust store is used. A client always verifies the server; a
 * server verifies clients as auth_clients says. Returns 0, RSM_ENOMEM,
 * RSM_EIO (no libssl), or RSM_EINVAL with msg (msg_size bytes) saying
 * what is wrong and naming the file. */
int rsm_tls_create(const struct rsm_tls_config *cfg, struct rsm_tls **out,
                   char *msg, size_t msg_size);

/* Read t's files again and build a new SSL_CTX with them; on success it
 * replaces the old one for the sessions made from now on. On error t is
 * unchanged and msg says why (as rsm_tls_create). */
int rsm_tls_reload(struct rsm_tls *t, char *msg, size_t msg_size);

/* t's side. */
enum rsm_tls_side rsm_tls_side(const struct rsm_tls *t);

/* Free t (NULL: nothing). */
void rsm_tls_free(struct rsm_tls *t);

/* The OpenSSL context (an SSL_CTX *), for the links (src/net). */
void *rsm_tls_ctx(const struct rsm_tls *t);

#endif /* RSM_TLS_H */
