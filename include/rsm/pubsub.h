/* pubsub.h - Redis-style publish/subscribe for the client port.
 *
 * A registry of subscribers, each with the channels and glob patterns it
 * subscribed to, and the four commands that change them, answered with
 * Redis's replies (RESP2):
 *   SUBSCRIBE ch [ch ...]     one ["subscribe", ch, :count] per channel
 *   UNSUBSCRIBE [ch ...]      one ["unsubscribe", ch, :count] per channel;
 *                             without arguments: every channel, or one
 *                             ["unsubscribe", nil, :count] if there is none
 *   PSUBSCRIBE / PUNSUBSCRIBE the same with patterns ("psubscribe", ...)
 * where count is the number of channels plus patterns of the subscriber
 * after that change. A publication goes to each subscriber of the channel
 * as ["message", channel, payload] and, for each of its patterns that
 * match the channel, as ["pmessage", pattern, channel, payload] (a
 * subscriber of both gets both, like Redis).
 *
 * Patterns are Redis globs, case-sensitive: `*` any run of bytes, `?` one
 * byte, `[abc]`, `[^abc]`, `[a-z]` a class (an unterminated class runs to
 * the end of the pattern), `\x` the byte x itself.
 *
 * The registry is plain data: a subscriber is an opaque owner pointer (the
 * API uses its struct rsm_resp_client) and messages are delivered through
 * a callback, so that tests need no socket. rsm_pubsub_deliver_resp() is
 * the callback that pushes the message to a RESP client.
 *
 * A subscriber is limited to RSM_PUBSUB_MAX_PER_SUB channels plus patterns
 * and to names of RSM_PUBSUB_NAME_MAX bytes.
 *
 * Ownership: rsm_pubsub_create() allocates the registry, the caller frees
 * it with rsm_pubsub_free() (which frees any subscriber left). A subscriber
 * is allocated by rsm_pubsub_sub_create() and freed by
 * rsm_pubsub_sub_free(); it may be freed from inside a delivery callback
 * (e.g. its client closed for exceeding its output limit): publication
 * then skips it, and its memory is released when the publication ends.
 * Names are copied. Single-threaded (the loop thread). */
#ifndef RSM_PUBSUB_H
#define RSM_PUBSUB_H

#include <stdbool.h>
#include <stddef.h>

#include "rsm/resp_server.h"

#define RSM_PUBSUB_MAX_PER_SUB 4096
#define RSM_PUBSUB_NAME_MAX    1024

struct rsm_pubsub;
struct rsm_pubsub_sub;

/* 0 or RSM_ENOMEM. */
int rsm_pubsub_create(struct rsm_pubsub **out);

/* Free the registry and every subscriber still in it. Not from inside a
 * delivery callback. */
void rsm_pubsub_free(struct rsm_pubsub *ps);

/* A new subscriber with no subscription, for owner; NULL if out of
 * memory. */
struct rsm_pubsub_sub *rsm_pubsub_sub_create(struct rsm_pubsub *ps,
                                             void *owner);

/* Drop every subscription of s and free it (see Ownership). */
void rsm_pubsub_sub_free(struct rsm_pubsub_sub *s);

void *rsm_pubsub_sub_owner(const struct rsm_pubsub_sub *s);

/* Subscribe s to a channel (pattern false) or a pattern (true), name being
 * len bytes (binary safe). *added (may be NULL) says whether it is new.
 * 0, or RSM_ERANGE (name too long, or the subscriber is at its limit) /
 * RSM_ENOMEM, leaving s unchanged. */
int rsm_pubsub_subscribe(struct rsm_pubsub_sub *s, bool pattern,
                         const char *name, size_t len, bool *added);

/* Unsubscribe; true if s was subscribed. */
bool rsm_pubsub_unsubscribe(struct rsm_pubsub_sub *s, bool pattern,
                            const char *name, size_t len);

/* Channels plus patterns of s (the count in Redis's replies). */
size_t rsm_pubsub_count(const struct rsm_pubsub_sub *s);

/* Number of channels (pattern false) or patterns of s, and the i-th one
 * (i < that number; *len gets its length; valid until s changes). */
size_t rsm_pubsub_n(const struct rsm_pubsub_sub *s, bool pattern);
const char *rsm_pubsub_name(const struct rsm_pubsub_sub *s, bool pattern,
                            size_t i, size_t *len);

/* Subscribers with at least one subscription. */
size_t rsm_pubsub_subscribers(const struct rsm_pubsub *ps);

/* One delivery: pattern NULL (plen 0) for a channel subscription. */
typedef void (*rsm_pubsub_deliver_fn)(void *arg, void *owner,
                                      const char *pattern, size_t plen,
                                      const char *channel, size_t clen,
                                      const char *msg, size_t mlen);

/* Publish msg on channel: call fn once per channel subscription and once
 * per matching pattern of every subscriber, subscribers in the order they
 * were created. Returns the number of deliveries (Redis's PUBLISH
 * result). fn may free subscribers (see Ownership), not the registry. */
size_t rsm_pubsub_publish(struct rsm_pubsub *ps, const char *channel,
                          size_t clen, const char *msg, size_t mlen,
                          rsm_pubsub_deliver_fn fn, void *arg);

/* Does the glob pattern match the string (see the top of this file)? */
bool rsm_pubsub_match(const char *pattern, size_t plen, const char *s,
                      size_t slen);

/* ---------------------------------------------------------------------
 * RESP
 * --------------------------------------------------------------------- */

/* Run SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE or PUNSUBSCRIBE (req->argv[0],
 * any case) for s and write Redis's replies into r (one array per channel
 * or pattern, all in this one reply). At the subscription limit the
 * replies for the channels taken are followed by an error and the rest is
 * not subscribed. Returns 0, or RSM_EINVAL if argv[0] is none of the four
 * or SUBSCRIBE/PSUBSCRIBE has no argument (nothing written). */
int rsm_pubsub_command(struct rsm_pubsub_sub *s, struct rsm_resp_reply *r,
                       const struct rsm_resp_request *req);

/* A rsm_pubsub_deliver_fn for subscribers whose owner is a struct
 * rsm_resp_client: the message is pushed to it (nothing if the client is
 * closing); arg is not used. */
void rsm_pubsub_deliver_resp(void *arg, void *owner, const char *pattern,
                             size_t plen, const char *channel, size_t clen,
                             const char *msg, size_t mlen);

#endif /* RSM_PUBSUB_H */
