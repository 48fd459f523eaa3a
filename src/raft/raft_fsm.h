/* raft_fsm.h - struct rsm_fsm as the state machine of libraft (canonical
 * 0.15, cowsql 0.22).
 *
 * Fills a struct raft_fsm (version 2, synchronous snapshots, no
 * snapshot_finalize) whose callbacks drive an rsm_fsm the caller owns:
 *   apply    decodes the entry and applies it with rsm_fsm_apply_bytes();
 *            a malformed or refused entry is rejected (state unchanged,
 *            logged as event "entry-rejected" at warn) and raft goes on:
 *            the callback returns 0 for rejections, so every replica
 *            rejects it alike. Only RSM_ENOMEM is returned to raft
 *            (RAFT_NOMEM): the entry is then not marked applied and raft
 *            retries it, instead of one replica skipping it.
 *   snapshot rsm_fsm_snapshot() into one raft_malloc'd buffer (raft owns
 *            and frees it); logged as "snapshot-taken" at info.
 *   restore  rsm_fsm_restore(); on success the buffer is raft_free'd (raft
 *            hands its ownership over); on failure the old state is kept,
 *            the buffer is left to raft, "snapshot-restore-failed" is
 *            logged at error and RAFT_MALFORMED returned.
 *
 * The apply result passed to raft_apply()'s callback is not a pointer:
 * it carries the int result of rsm_fsm_apply_bytes() (0 = applied,
 * RSM_EREJECTED = refused by a rule or undecodable). Read it with
 * rsm_raft_fsm_result(), and only when the callback's status is 0 (with
 * RAFT_LEADERSHIPLOST and the like the entry may still commit later, and
 * its result is then seen by the observer only). Why a rejected entry was
 * rejected: rsm_raft_fsm_reason() of that result. (raft 0.15 runs the
 * proposer's callback right after the FSM applied the entry, where the last
 * reason would do; 0.22 queues the callbacks of a batch of entries and runs
 * them after the whole batch was applied.)
 *
 * Ownership: the caller owns the struct raft_fsm and the struct rsm_fsm
 * (both must outlive the raft instance); rsm_raft_fsm_init() allocates a
 * small private block in rfsm->data that rsm_raft_fsm_close() frees. Close
 * only after raft_close() has completed. */
#ifndef RSM_RAFT_FSM_H
#define RSM_RAFT_FSM_H

#include <stddef.h>
#include <stdint.h>

#include <raft.h>

#include "rsm/entry.h"
#include "rsm/fsm.h"

enum rsm_raft_fsm_event_type {
    RSM_RAFT_FSM_APPLIED = 1,    /* entry accepted: state changed */
    RSM_RAFT_FSM_REJECTED,       /* entry refused, state unchanged */
    RSM_RAFT_FSM_SNAPSHOT,       /* snapshot taken */
    RSM_RAFT_FSM_RESTORED,       /* state replaced by a snapshot */
    RSM_RAFT_FSM_RESTORE_FAILED, /* snapshot refused, old state kept */
};

/* What the observer is told; everything is valid only during the call. */
struct rsm_raft_fsm_event {
    enum rsm_raft_fsm_event_type type;
    const struct rsm_entry *entry; /* APPLIED/REJECTED: the entry (kind
                                      RSM_ENTRY_NONE if undecodable);
                                      NULL otherwise */
    int rc;                        /* 0 or RSM_E* */
    const char *reason;            /* REJECTED/RESTORE_FAILED: why; "" */
    size_t bytes;                  /* size of the entry or snapshot */
};

/* Called on the raft thread (the loop) after each event, when the state
 * has already changed. May read the rsm_fsm; must not call raft_apply()
 * re-entrantly in a way that frees the raft instance. */
typedef void (*rsm_raft_fsm_observer)(void *arg,
                                      const struct rsm_raft_fsm_event *ev);

/* Counters, for status output and tests. */
struct rsm_raft_fsm_stats {
    uint64_t applied, rejected; /* entries seen by this adapter */
    uint64_t snapshots, restores, restore_failures;
};

/* Fill *rfsm to drive *state. observer may be NULL. 0 or RSM_ENOMEM. */
int rsm_raft_fsm_init(struct raft_fsm *rfsm, struct rsm_fsm *state,
                      rsm_raft_fsm_observer observer, void *arg);

/* Free what init allocated; *rfsm is zeroed. Safe on a zeroed struct. */
void rsm_raft_fsm_close(struct raft_fsm *rfsm);

/* The rsm_fsm driven by rfsm. */
struct rsm_fsm *rsm_raft_fsm_state(const struct raft_fsm *rfsm);

/* Reason of the last rejected entry ("" if the last entry applied). */
const char *rsm_raft_fsm_last_reason(const struct raft_fsm *rfsm);

void rsm_raft_fsm_stats(const struct raft_fsm *rfsm,
                        struct rsm_raft_fsm_stats *out);

/* Why the entry whose apply result this is was rejected, "" if it was
 * applied. The text stays until 64 more entries have been rejected (copy
 * it); asked later, a note that it is gone. */
const char *rsm_raft_fsm_reason(const struct raft_fsm *rfsm,
                                const void *result);

/* The rsm_fsm_apply_bytes() result carried by raft's apply result: its low
 * 8 bits (the others number the rejection, for rsm_raft_fsm_reason). */
static inline int rsm_raft_fsm_result(const void *result)
{
    return (int)((uintptr_t)result & 0xff);
}

#endif /* RSM_RAFT_FSM_H */
