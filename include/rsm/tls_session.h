/* tls_session.h - one TLS connection's state, with no socket: ciphertext
 * goes in (rsm_tls_session_put) and comes out (rsm_tls_session_output);
 * plaintext goes in (rsm_tls_session_write) and comes out
 * (rsm_tls_session_read). The caller owns the socket, its buffers and its
 * deadlines; OpenSSL sees only two memory BIOs. Every TLS connection of
 * the agent runs on it: the links to Redis (client side), the client and
 * HTTP ports (server side, rsm/listener.h) and the Raft transport (both
 * sides, src/raft).
 *
 * The handshake runs in steps: rsm_tls_session_read() goes on with it
 * whenever it is not done yet, so a caller only puts what it read and
 * reads, then sends whatever output there is.
 *
 * Ownership: a session holds a reference to its context's SSL_CTX, so a
 * context reloaded (rsm_tls_reload) or freed after the session was made
 * stays valid for it. Free with rsm_tls_session_free(). */
#ifndef RSM_TLS_SESSION_H
#define RSM_TLS_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct rsm_tls;
struct rsm_tls_session;

/* rsm_tls_session_read(): the peer ended the TLS session (close_notify). */
#define RSM_TLS_CLOSED (-1)
/* rsm_tls_session_read(): the session failed; why is in the message. */
#define RSM_TLS_FAILED (-2)

/* A session on t (a client context: the client side; a server context:
 * the server side). A client verifies the server against peer_host, an
 * IP literal (against the certificate's IP addresses) or a DNS name
 * (against its DNS names, also sent as SNI); NULL: the chain only.
 * A client's first output is its ClientHello. 0 or RSM_ENOMEM. */
int rsm_tls_session_new(const struct rsm_tls *t, const char *peer_host,
                        struct rsm_tls_session **out);

/* Free s (NULL: nothing). */
void rsm_tls_session_free(struct rsm_tls_session *s);

/* Ciphertext read from the socket. 0 or RSM_ENOMEM. */
int rsm_tls_session_put(struct rsm_tls_session *s, const void *buf, size_t len);

/* Go on with the handshake, then decrypt into out (cap bytes): the
 * number of plaintext bytes (> 0), 0 when more ciphertext is needed
 * first, RSM_TLS_CLOSED, or RSM_TLS_FAILED with why (why_size bytes:
 * OpenSSL's reason and, for a certificate, the verification error). Call
 * it until it returns 0 or less; then send the output (the handshake
 * makes some). */
ssize_t rsm_tls_session_read(struct rsm_tls_session *s, void *out, size_t cap,
                             char *why, size_t why_size);

/* Is the handshake done (and the peer verified)? */
bool rsm_tls_session_established(const struct rsm_tls_session *s);

/* Encrypt len bytes of plaintext into the output. Before the handshake is
 * done OpenSSL queues them. 0, RSM_ENOMEM, or RSM_EPROTO (the session
 * failed). */
int rsm_tls_session_write(struct rsm_tls_session *s, const void *buf,
                          size_t len);

/* Queue a close_notify alert (best effort). */
void rsm_tls_session_shutdown(struct rsm_tls_session *s);

/* Ciphertext to send, if any: a malloc'd buffer of *len bytes in *out
 * (the caller frees it), or *out NULL and *len 0. 0 or RSM_ENOMEM. */
int rsm_tls_session_output(struct rsm_tls_session *s, char **out, size_t *len);

/* Does the peer's verified certificate name host (an IP literal against
 * its IP addresses, else a DNS name, wildcards allowed)? false without a
 * certificate or before the handshake. */
bool rsm_tls_session_peer_is(const struct rsm_tls_session *s, const char *host);

/* The peer certificate's subject ("CN=agent-1,O=...") into buf, "" if
 * none: for logs. */
void rsm_tls_session_peer_subject(const struct rsm_tls_session *s, char *buf,
                                  size_t size);

#endif /* RSM_TLS_SESSION_H */
