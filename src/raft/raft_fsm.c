/* raft_fsm.c - the raft_fsm callbacks over struct rsm_fsm (see
 * raft_fsm.h for the contract with libraft). */
#include "raft_fsm.h"
#include "rsm/err.h"
#include "rsm/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rejection reasons kept for the apply callbacks (rsm_raft_fsm_reason). */
#define REASONS_KEPT 64

/* An apply result: the rsm_fsm_apply_bytes() code in the low 8 bits, the
 * rejection's number (stats.rejected after it, 0 if applied) above. */
#define RESULT_CODE_BITS 8
_Static_assert(RSM_E_COUNT <= (1 << RESULT_CODE_BITS), "RSM_E* fit 8 bits");

/* The private block behind rfsm->data. */
struct adapter {
    struct rsm_fsm *state;
    rsm_raft_fsm_observer observer;
    void *arg;
    char last_reason[RSM_ERRMSG_SIZE];
    char reasons[REASONS_KEPT][RSM_ERRMSG_SIZE]; /* by rejection number */
    struct rsm_raft_fsm_stats stats;
};

static void raft_fsm__notify(struct adapter *a,
                             enum rsm_raft_fsm_event_type type,
                             const struct rsm_entry *e, int rc,
                             const char *reason, size_t bytes)
{
    struct rsm_raft_fsm_event ev = {type, e, rc, reason ? reason : "", bytes};

    if (a->observer != NULL)
        a->observer(a->arg, &ev);
}

static void raft_fsm__log_rejected(const struct rsm_entry *e,
                                   const char *reason, size_t bytes)
{
    char q[2 * RSM_ERRMSG_SIZE + 8], g[2 * RSM_GROUP_NAME_MAX + 8];

    if (e->kind == RSM_ENTRY_NONE) {
        rsm_log(RSM_LOG_WARN, "entry-rejected", "kind=none bytes=%zu reason=%s",
                bytes, rsm_log_quote(reason, q, sizeof q));
        return;
    }
    rsm_log(RSM_LOG_WARN, "entry-rejected",
            "kind=%s group=%s epoch=%llu reason=%s",
            rsm_entry_kind_str(e->kind), rsm_log_quote(e->group, g, sizeof g),
            (unsigned long long)e->epoch, rsm_log_quote(reason, q, sizeof q));
}

static int raft_fsm__apply(struct raft_fsm *rfsm, const struct raft_buffer *buf,
                           void **result)
{
    struct adapter *a = rfsm->data;
    struct rsm_entry *e;
    int rv;

    /* rsm_entry is large (~15 KB): keep it off the loop's stack. */
    e = malloc(sizeof *e);
    if (e == NULL)
        return RAFT_NOMEM;
    rv = rsm_fsm_apply_bytes(a->state, buf->base, buf->len, e, a->last_reason,
                             sizeof a->last_reason);
    if (rv == RSM_ENOMEM) {
        free(e);
        return RAFT_NOMEM;
    }
    if (rv == 0) {
        a->last_reason[0] = '\0';
        a->stats.applied++;
        raft_fsm__notify(a, RSM_RAFT_FSM_APPLIED, e, rv, NULL, buf->len);
        *result = NULL;
    } else {
        uint64_t n = ++a->stats.rejected;

        memcpy(a->reasons[n % REASONS_KEPT], a->last_reason,
               sizeof a->last_reason);
        raft_fsm__log_rejected(e, a->last_reason, buf->len);
        raft_fsm__notify(a, RSM_RAFT_FSM_REJECTED, e, rv, a->last_reason,
                         buf->len);
        *result = (void *)(uintptr_t)(n << RESULT_CODE_BITS | (unsigned)rv);
    }
    free(e);
    return 0;
}

static int raft_fsm__snapshot(struct raft_fsm *rfsm, struct raft_buffer *bufs[],
                              unsigned *n_bufs)
{
    struct adapter *a = rfsm->data;
    struct raft_buffer *out;
    void *data = NULL;
    size_t len = 0;

    if (rsm_fsm_snapshot(a->state, &data, &len) != 0)
        return RAFT_NOMEM;
    out = raft_malloc(sizeof *out);
    if (out == NULL)
        goto err_after_snapshot;
    out->base = raft_malloc(len > 0 ? len : 1);
    if (out->base == NULL)
        goto err_after_out;
    memcpy(out->base, data, len);
    out->len = len;
    free(data);
    *bufs = out;
    *n_bufs = 1;
    a->stats.snapshots++;
    rsm_log(RSM_LOG_INFO, "snapshot-taken", "bytes=%zu groups=%zu", len,
            a->state->n_groups);
    raft_fsm__notify(a, RSM_RAFT_FSM_SNAPSHOT, NULL, 0, NULL, len);
    return 0;

err_after_out:
    raft_free(out);
err_after_snapshot:
    free(data);
    return RAFT_NOMEM;
}

static int raft_fsm__restore(struct raft_fsm *rfsm, struct raft_buffer *buf)
{
    struct adapter *a = rfsm->data;
    char errmsg[RSM_ERRMSG_SIZE], q[2 * RSM_ERRMSG_SIZE + 8];
    size_t len = buf->len;
    int rv;

    rv = rsm_fsm_restore(a->state, buf->base, len, errmsg, sizeof errmsg);
    if (rv != 0) {
        if (rv == RSM_ENOMEM)
            snprintf(errmsg, sizeof errmsg, "%s", rsm_strerror(rv));
        a->stats.restore_failures++;
        rsm_log(RSM_LOG_ERROR, "snapshot-restore-failed", "bytes=%zu error=%s",
                len, rsm_log_quote(errmsg, q, sizeof q));
        raft_fsm__notify(a, RSM_RAFT_FSM_RESTORE_FAILED, NULL, rv, errmsg, len);
        return rv == RSM_ENOMEM ? RAFT_NOMEM : RAFT_MALFORMED;
    }
    raft_free(buf->base);
    buf->base = NULL;
    a->stats.restores++;
    rsm_log(RSM_LOG_INFO, "snapshot-restored", "bytes=%zu groups=%zu", len,
            a->state->n_groups);
    raft_fsm__notify(a, RSM_RAFT_FSM_RESTORED, NULL, 0, NULL, len);
    return 0;
}

int rsm_raft_fsm_init(struct raft_fsm *rfsm, struct rsm_fsm *state,
                      rsm_raft_fsm_observer observer, void *arg)
{
    struct adapter *a = calloc(1, sizeof *a);

    if (a == NULL)
        return RSM_ENOMEM;
    a->state = state;
    a->observer = observer;
    a->arg = arg;
    memset(rfsm, 0, sizeof *rfsm);
    rfsm->version = 2;
    rfsm->data = a;
    rfsm->apply = raft_fsm__apply;
    rfsm->snapshot = raft_fsm__snapshot;
    rfsm->restore = raft_fsm__restore;
    rfsm->snapshot_finalize = NULL; /* raft owns and frees the buffers */
    rfsm->snapshot_async = NULL;
    return 0;
}

void rsm_raft_fsm_close(struct raft_fsm *rfsm)
{
    free(rfsm->data);
    memset(rfsm, 0, sizeof *rfsm);
}

struct rsm_fsm *rsm_raft_fsm_state(const struct raft_fsm *rfsm)
{
    const struct adapter *a = rfsm->data;

    return a->state;
}

const char *rsm_raft_fsm_last_reason(const struct raft_fsm *rfsm)
{
    const struct adapter *a = rfsm->data;

    return a->last_reason;
}

const char *rsm_raft_fsm_reason(const struct raft_fsm *rfsm, const void *result)
{
    const struct adapter *a = rfsm->data;
    uint64_t n = (uintptr_t)result >> RESULT_CODE_BITS;

    if (n == 0)
        return "";
    if (a->stats.rejected - n >= REASONS_KEPT)
        return "rejected (reason no longer known: 64 later rejections)";
    return a->reasons[n % REASONS_KEPT];
}

void rsm_raft_fsm_stats(const struct raft_fsm *rfsm,
                        struct rsm_raft_fsm_stats *out)
{
    const struct adapter *a = rfsm->data;

    *out = a->stats;
}
