/* bytebuf.h - a growing byte buffer: what the HTTP protocol core (the
 * request target, the output) and the RESP parser (its input) append to.
 *
 * Ownership: the owner embeds struct rsm_bytebuf, zeroed, and frees data
 * with free() when done. Pure: no I/O. */
#ifndef RSM_BYTEBUF_H
#define RSM_BYTEBUF_H

#include <stddef.h>

struct rsm_bytebuf {
    char *data; /* NULL until something was appended */
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated */
};

/* Append the n bytes at p. The first allocation holds first_cap bytes
 * (or more, doubled until p fits), each later growth doubles. Returns 0,
 * or RSM_ENOMEM with b unchanged. */
int rsm_bytebuf_put(struct rsm_bytebuf *b, size_t first_cap, const void *p,
                    size_t n);

#endif /* RSM_BYTEBUF_H */
