/* resp_reader.h - requests of the RESP server as objects, and the reader
 * that decodes RESP arrays into them: the only code of the project that
 * knows hiredis's reader internals (resp_reader.c).
 *
 * Why one file: the request parser (resp_parser.c) uses hiredis's
 * redisReader for the framing of arrays of bulk strings, through its
 * reply-object hooks (redisReplyObjectFunctions) and, to learn how many
 * bytes a request used and to take back what follows it, the reader's
 * buffer fields (buf, pos, len). The hooks' signatures and the RESP3
 * element types differ between hiredis 0.14 (Debian 12) and 1.x (Debian
 * 13); every such difference is handled in resp_reader.c behind the small
 * API below, so that nothing else depends on the hiredis version.
 *
 * Ownership: resp__reader_new() allocates a reader, resp__reader_free()
 * frees it with any partial request. A request from resp__reader_next()
 * or resp__req_alloc() belongs to the caller (resp__req_free()). */
#ifndef RSM_NET_RESP_READER_H
#define RSM_NET_RESP_READER_H

#include <stddef.h>

/* One request: argc words; argv[i] is argvlen[i] bytes plus a NUL. Built
 * by the reader for an array, by the parser for an inline line. */
struct resp_req {
    int argc;
    char **argv;
    size_t *argvlen;
};

/* A request of argc empty words (argv[i] NULL); NULL if out of memory. */
struct resp_req *resp__req_alloc(int argc);

/* Free o and its words (NULL: nothing). */
void resp__req_free(struct resp_req *o);

/* A RESP reader for requests: arrays of bulk strings, at most max_args
 * elements. Every other element (status, error, integer, nested array,
 * RESP3 types) is refused like Redis refuses it. */
struct resp_reader;

/* NULL if out of memory. */
struct resp_reader *resp__reader_new(unsigned max_args);

/* Free rd (NULL: nothing). */
void resp__reader_free(struct resp_reader *rd);

/* Append len bytes (copied). 0 or RSM_ENOMEM. */
int resp__reader_feed(struct resp_reader *rd, const char *buf, size_t len);

/* Take the next complete request: 0 with *out set, or *out NULL when more
 * bytes are needed; RSM_EPROTO with the text of the error reply in msg
 * ("Protocol error: ..."), after which rd is not to be used again. */
int resp__reader_next(struct resp_reader *rd, struct resp_req **out, char *msg,
                      size_t len);

/* How many bytes were fed and not consumed yet; if bytes is not NULL, where
 * they are (valid until the next call on rd). */
size_t resp__reader_unread(const struct resp_reader *rd, const char **bytes);

#endif /* RSM_NET_RESP_READER_H */
