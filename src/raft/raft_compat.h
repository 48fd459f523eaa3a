/* raft_compat.h - the libraft versions the shell is built against:
 * canonical/raft 0.15.0 (Debian 12) and cowsql/raft 0.22.1 (Debian 13).
 *
 * 0.15 has no version macros and keeps its in-memory log, the leader's
 * per-follower progress and configuration_index in the public struct raft;
 * node_*.c work around 0.15 bugs through them. 0.22 (the raft_step core
 * under a compatibility layer for the raft_io API) hides those internals
 * and fixed the bugs those workarounds exist for, except one: its batch
 * decoder still steps over 8-byte padded entry lengths that its encoder
 * does not write, so node_propose.c pads entries on every version.
 * RSM_RAFT_015 tells the two apart. The versions in between are refused:
 * neither layout was checked against them.
 *
 * 0.22 also wants a version number in struct raft_uv_transport (1), which
 * 0.15 does not have (transport.c).
 *
 * Header-only; the accessors only read the raft object. */
#ifndef RSM_RAFT_COMPAT_H
#define RSM_RAFT_COMPAT_H

#include <raft.h>

#if !defined(RAFT_VERSION_NUMBER)
#define RSM_RAFT_015 1 /* 0.15: no RAFT_VERSION_* macros */
#elif RAFT_VERSION_NUMBER >= 2200
#define RSM_RAFT_015 0
#else
#error "libraft 0.16 to 0.21 is not supported (built with 0.15.0 and 0.22.1)"
#endif

/* Index of the latest committed configuration entry, 0 if none. */
static inline raft_index rsm_raft_conf_committed_index(const struct raft *r)
{
#if RSM_RAFT_015
    return r->configuration_index;
#else
    return r->configuration_committed_index;
#endif
}

/* Index and term of the last entry covered by the latest snapshot once it
 * is stored (taken) or installed, 0 if none. */
static inline raft_index rsm_raft_snapshot_index(const struct raft *r)
{
#if RSM_RAFT_015
    return r->log.snapshot.last_index;
#else
    return r->trail.snapshot.index;
#endif
}

static inline raft_term rsm_raft_snapshot_term(const struct raft *r)
{
#if RSM_RAFT_015
    return r->log.snapshot.last_term;
#else
    return r->trail.snapshot.term;
#endif
}

#endif /* RSM_RAFT_COMPAT_H */
