/* redis_tls.h - TLS on a Redis link's connection (redis_tls.c), between
 * the libuv stream and the reply reader, through a pair of OpenSSL memory
 * BIOs: bytes read from the socket go into the read BIO, what OpenSSL
 * wants to send is taken from the write BIO and written on the stream.
 * Private to src/net. A link without a TLS context never calls these. */
#ifndef RSM_NET_REDIS_TLS_H
#define RSM_NET_REDIS_TLS_H

#include "redis_int.h"

/* The TCP connection c of r is up: make its TLS session (verifying the
 * server against r->addr.host) and send the ClientHello. r->state becomes
 * ST_HANDSHAKE; the handshake goes on in redis__tls_on_read and, once
 * done, calls redis__connected(r). 0 or a libuv error (nothing freed: c's
 * close frees the session). */
int redis__tls_start(struct rsm_redis *r, struct conn *c);

/* Ciphertext read on c: go on with the handshake, or decrypt and feed the
 * reply reader (redis__feed). Failures fail the link (redis__fail_all). */
void redis__tls_on_read(struct rsm_redis *r, struct conn *c, const char *buf,
                        size_t len);

/* Encrypt buf and write it on the current connection; buf is freed (wiped
 * first if secret) either way. 0 or a libuv error. */
int redis__tls_write(struct rsm_redis *r, char *buf, size_t len, bool secret);

/* Free c's TLS session (NULL: nothing); from c's close callback. */
void redis__tls_free(struct conn *c);

#endif /* RSM_NET_REDIS_TLS_H */
