/* codec.h - struct rsm_entry <-> protobuf bytes (proto/rsm.proto).
 *
 * The only module that sees generated protobuf-c types; the rest of the
 * project uses the plain structs of entry.h and fsm.h. Decoding validates
 * what protobuf cannot: string lengths against our fixed buffers, ports in
 * 1..65535, enum values, counts against RSM_MAX_*; violations are
 * RSM_EPARSE with the field named in errmsg. */
#ifndef RSM_CODEC_H
#define RSM_CODEC_H

#include <stddef.h>

#include "rsm/entry.h"

/* Encode into a malloc'd buffer the caller frees (raft_apply takes it
 * over once copied into a raft_buffer allocated with raft_malloc by io). */
int rsm_codec_encode_entry(const struct rsm_entry *e, void **buf,
                           size_t *len);

/* Decode len bytes into *e. 0 or RSM_EPARSE / RSM_ENOMEM. */
int rsm_codec_decode_entry(const void *buf, size_t len, struct rsm_entry *e,
                           char *errmsg, size_t errlen);

#endif /* RSM_CODEC_H */
