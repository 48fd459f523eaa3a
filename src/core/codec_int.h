/* codec_int.h - what the pieces of the codec share (private to src/core):
 * the protobuf-c message blocks that encoding points at our buffers, the
 * decoder's error context, and the encoders and decoders of the fields
 * that entries (codec.c) and snapshots (codec_snapshot.c) both carry
 * (codec_field.c).
 *
 * Encoders point the message at the struct's own buffers (no copies): the
 * message is valid while both live. Decoders copy every field into our
 * fixed buffers and return 0 or RSM_EPARSE with the field named in the
 * decoder's errmsg. */
#ifndef RSM_CODEC_INT_H
#define RSM_CODEC_INT_H

#include "rsm/entry.h"
#include "rsm/groupconf.h"

#include "rsm.pb-c.h"

#include <stddef.h>

/* Protobuf-c wants char * for strings it only reads. */
static inline char *codec__str(const char *s)
{
    return (char *)s;
}

/* --- encoding ------------------------------------------------------------ */

/* A list of addresses. */
struct addrs_pb {
    Rsm__Addr msg[RSM_MAX_MEMBERS];
    Rsm__Addr *ptr[RSM_MAX_MEMBERS];
};

/* A DecideFailover and its ranking. */
struct decide_pb {
    Rsm__DecideFailover msg;
    Rsm__Addr old_master, new_master;
    Rsm__Ranked ranked[RSM_MAX_RANKED];
    Rsm__Addr ranked_addr[RSM_MAX_RANKED];
    Rsm__Ranked *ranked_ptr[RSM_MAX_RANKED];
};

/* a into msg; an empty address is left out of the message (NULL). */
Rsm__Addr *codec__enc_addr(Rsm__Addr *msg, const struct rsm_addr *a);

/* The n addresses a into pb; returns the array of pointers to them. */
Rsm__Addr **codec__enc_addrs(struct addrs_pb *pb, const struct rsm_addr *a,
                             unsigned n);

/* A C step to its proto number. */
Rsm__FailoverStep codec__enc_step(enum rsm_failover_step s);

/* The decision e into pb; returns &pb->msg. */
Rsm__DecideFailover *codec__enc_decide(struct decide_pb *pb,
                                       const struct rsm_entry *e);

/* A group's settings into m, NULL when none is set. */
Rsm__GroupSettings *codec__enc_settings(Rsm__GroupSettings *m,
                                        const struct rsm_group_settings *s);

/* Pack any message into a fresh malloc'd buffer: 0 or RSM_ENOMEM. */
int codec__pack(const ProtobufCMessage *m, void **buf, size_t *len);

/* --- decoding ------------------------------------------------------------ */

/* Error buffer and the path of the field being decoded ("decide_failover.
 * ranking[2].addr"), for messages that say where the problem is. */
struct dec {
    char *errmsg;
    size_t errlen;
};

/* RSM_EPARSE "field: fmt detail" (detail may be NULL). */
int codec__bad(struct dec *d, const char *field, const char *fmt,
               const char *detail);

/* src (NULL: "") into dst of size bytes, refused if it does not fit. */
int codec__dec_str(struct dec *d, char *dst, size_t size, const char *src,
                   const char *field);

/* src (NULL: the empty address) into dst: host fits, port in 1..65535,
 * neither without the other. */
int codec__dec_addr(struct dec *d, struct rsm_addr *dst, const Rsm__Addr *src,
                    const char *field);

/* n_src addresses (at most RSM_MAX_MEMBERS, none NULL) into dst, *n. */
int codec__dec_addrs(struct dec *d, struct rsm_addr *dst, unsigned *n,
                     size_t n_src, Rsm__Addr **src, const char *field);

/* An enum value v in 0..max into *out. */
int codec__dec_enum(struct dec *d, int v, int max, const char *field, int *out);

/* A proto step number to the C step. */
int codec__dec_step(struct dec *d, int v, const char *field,
                    enum rsm_failover_step *out);

/* A DecideFailover into e (its kind and time are the caller's). */
int codec__dec_decide(struct dec *d, const Rsm__DecideFailover *m,
                      struct rsm_entry *e);

/* Settings as the message has them (m NULL: none set); their ranges are
 * checked with the entry's or group's form. */
void codec__dec_settings(const Rsm__GroupSettings *m,
                         struct rsm_group_settings *s);

/* The form check of entry.c (rsm_entry_check), as a parse error whose
 * text starts with what. */
int codec__check(struct dec *d, const struct rsm_entry *e, const char *what);

#endif /* RSM_CODEC_INT_H */
