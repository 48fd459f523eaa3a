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

struct rsm_fsm;

/* Encode into a malloc'd buffer the caller frees (raft_apply takes it
 * over once copied into a raft_buffer allocated with raft_malloc by io).
 * 0, RSM_EINVAL if rsm_entry_check() refuses the entry (call it for the
 * detail), or RSM_ENOMEM. */
int rsm_codec_encode_entry(const struct rsm_entry *e, void **buf, size_t *len);

/* Decode len bytes into *e. 0 or RSM_EPARSE / RSM_ENOMEM; on error *e is
 * zeroed (kind RSM_ENTRY_NONE). An Entry whose oneof is not set (or set to
 * a kind this version does not know) is RSM_EPARSE "unknown entry kind".
 * A decoded entry always passes rsm_entry_check(). */
int rsm_codec_decode_entry(const void *buf, size_t len, struct rsm_entry *e,
                           char *errmsg, size_t errlen);

/* Encode the whole FSM state as an rsm.Snapshot (format 1) into a malloc'd
 * buffer the caller frees. 0 or RSM_ENOMEM. Used by rsm_fsm_snapshot(). */
int rsm_codec_encode_snapshot(const struct rsm_fsm *fsm, void **buf,
                              size_t *len);

/* Decode an rsm.Snapshot into *out, which must be freshly rsm_fsm_init()ed.
 * Checks everything the entry decoder checks plus: format 1, group names
 * valid and strictly sorted, history within RSM_HISTORY_MAX, an in-flight
 * decision that belongs to its group and epoch and has a new master, the
 * removed groups' names valid, strictly sorted and none of them a group.
 * 0 or RSM_EPARSE (detail in errmsg) / RSM_ENOMEM; on error *out is left
 * empty. Used by rsm_fsm_restore(). */
int rsm_codec_decode_snapshot(const void *buf, size_t len, struct rsm_fsm *out,
                              char *errmsg, size_t errlen);

#endif /* RSM_CODEC_H */
