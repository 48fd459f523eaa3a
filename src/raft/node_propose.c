/* node_propose.c - what the leader asks raft to commit: entries
 * (rsm_node_propose, padded by rsm_node_encode_entry) and membership
 * changes (rsm_node_add_member, rsm_node_remove_member). */
#include "node_int.h"
#include "rsm/codec.h"
#include "rsm/err.h"
#include "rsm/log.h"
#include "raft_fsm.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RSM_E* for a raft error code. */
static int node__map_raft_error(int rv)
{
    switch (rv) {
    case 0:
        return 0;
    case RAFT_NOMEM:
        return RSM_ENOMEM;
    case RAFT_NOTLEADER:
        return RSM_ENOTLEADER;
    case RAFT_CANTCHANGE:
        return RSM_EBUSY;
    case RAFT_DUPLICATEID:
    case RAFT_DUPLICATEADDRESS:
        return RSM_EEXIST;
    case RAFT_BADID:
    case RAFT_BADROLE:
    case RAFT_NOTFOUND:
        return RSM_ENOTFOUND;
    case RAFT_SHUTDOWN:
    case RAFT_CANCELED:
        return RSM_ECANCELED;
    default:
        return RSM_ERAFT;
    }
}

/* ---------------------------------------------------------------------------
 * Proposals
 * ------------------------------------------------------------------------- */

/* raft 0.15 (and 0.22 still) requires every entry to be a multiple of 8
 * bytes long: its batch encoder copies entries back to back but its
 * decoder steps over 8-byte padded lengths (an assert that Debian's NDEBUG
 * build drops), so a follower catching up on several entries at once, or
 * an agent reloading its log, reads garbage. We pad the protobuf bytes with one
 * extra field that protobuf skips as unknown: field PAD_FIELD, wire type 2
 * (bytes), at least 3 bytes (2-byte key, 1-byte length). proto/rsm.proto
 * reserves the number. */
#define PAD_FIELD 2047
#define PAD_MIN   3

int rsm_node_encode_entry(const struct rsm_entry *e, void **buf, size_t *len)
{
    void *enc;
    size_t n, pad;
    unsigned char *out;
    unsigned key = (PAD_FIELD << 3) | 2;
    int rv;

    rv = rsm_codec_encode_entry(e, &enc, &n);
    if (rv != 0)
        return rv;
    pad = (8 - n % 8) % 8;
    if (pad != 0 && pad < PAD_MIN)
        pad += 8;
    out = raft_malloc(n + pad);
    if (out == NULL) {
        free(enc);
        return RSM_ENOMEM;
    }
    memcpy(out, enc, n);
    free(enc);
    if (pad > 0) {
        out[n] = (unsigned char)(0x80 | (key & 0x7f));
        out[n + 1] = (unsigned char)(key >> 7);
        out[n + 2] = (unsigned char)(pad - PAD_MIN);
        memset(out + n + PAD_MIN, 0, pad - PAD_MIN);
    }
    *buf = out;
    assert((n + pad) % 8 == 0);
    *len = n + pad;
    return 0;
}

struct proposal {
    struct raft_apply req;
    struct rsm_node *n;
    rsm_node_done_cb cb;
    void *arg;
};

static void node__apply_done(struct raft_apply *req, int status, void *result)
{
    struct proposal *p = req->data;
    int code = 0;
    const char *msg = NULL;

    if (status == RAFT_LEADERSHIPLOST) {
        code = RSM_ERAFT;
        msg = "leadership lost, entry may still commit";
    } else if (status != 0) {
        code = RSM_ERAFT;
        msg = raft_strerror(status);
    } else {
        /* 0.22 calls us once a whole batch was applied: the reason of
         * this entry, not the last one (raft_fsm.h). */
        code = rsm_raft_fsm_result(result);
        if (code != 0)
            msg = rsm_raft_fsm_reason(&p->n->fsm, result);
    }
    if (p->cb != NULL)
        p->cb(p->arg, code, msg);
    free(p);
}

int rsm_node_propose(struct rsm_node *n, const struct rsm_entry *e,
                     rsm_node_done_cb cb, void *arg)
{
    struct raft_buffer buf;
    struct proposal *p;
    int rv;

    if (n->stopping || n->raft.state != RAFT_LEADER)
        return RSM_ENOTLEADER;
    if (n->disk_low)
        return RSM_EIO; /* logged by node__watch_disk */
    rv = rsm_node_encode_entry(e, &buf.base, &buf.len);
    if (rv != 0)
        return rv;
    p = calloc(1, sizeof *p);
    if (p == NULL) {
        raft_free(buf.base);
        return RSM_ENOMEM;
    }
    p->n = n;
    p->cb = cb;
    p->arg = arg;
    p->req.data = p;
    rv = raft_apply(&n->raft, &p->req, &buf, 1, node__apply_done);
    if (rv != 0) {
        /* The callback will not run and the buffer is still ours. */
        raft_free(buf.base);
        free(p);
        return node__map_raft_error(rv) == RSM_ENOTLEADER ? RSM_ENOTLEADER
                                                          : RSM_ERAFT;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * Membership
 * ------------------------------------------------------------------------- */

enum change_op { OP_ADD, OP_PROMOTE, OP_REMOVE };

struct change {
    struct raft_change add, assign, remove;
    struct rsm_node *n;
    enum change_op op;
    raft_id id;
    char addr[MEMBER_STRLEN];
    rsm_node_done_cb cb;
    void *arg;
};

static const char *node__op_name(enum change_op op)
{
    return op == OP_ADD ? "add" : op == OP_PROMOTE ? "promote" : "remove";
}

static void node__change_finish(struct change *c, int status)
{
    char msg[RSM_ERRMSG_SIZE] = "";

    if (status != 0)
        snprintf(msg, sizeof msg, "member %s %llu: %s", node__op_name(c->op),
                 (unsigned long long)c->id, raft_strerror(status));
    rsm_log(status ? RSM_LOG_WARN : RSM_LOG_INFO, "member-change-done",
            "op=%s id=%llu addr=%s status=%s", node__op_name(c->op),
            (unsigned long long)c->id, c->addr[0] ? c->addr : "-",
            status ? raft_strerror(status) : "ok");
    if (c->cb != NULL)
        c->cb(c->arg, node__map_raft_error(status), status ? msg : NULL);
    free(c);
}

static void node__change_done(struct raft_change *req, int status)
{
    struct change *c = req->data;
    int rv;

    if (status == 0 && c->op == OP_ADD && !c->n->closing) {
        /* Added as a spare: now make it a voter (raft catches it up). */
        c->op = OP_PROMOTE;
        rv = raft_assign(&c->n->raft, &c->assign, c->id, RAFT_VOTER,
                         node__change_done);
        if (rv == 0)
            return;
        status = rv;
    }
    node__change_finish(c, status);
}

static struct change *node__change_new(struct rsm_node *n, enum change_op op,
                                       raft_id id, rsm_node_done_cb cb,
                                       void *arg)
{
    struct change *c = calloc(1, sizeof *c);

    if (c == NULL)
        return NULL;
    c->n = n;
    c->op = op;
    c->id = id;
    c->cb = cb;
    c->arg = arg;
    c->add.data = c->assign.data = c->remove.data = c;
    return c;
}

int rsm_node_add_member(struct rsm_node *n, const struct rsm_member *m,
                        rsm_node_done_cb cb, void *arg)
{
    struct change *c;
    int rv;

    if (n->stopping || n->raft.state != RAFT_LEADER)
        return RSM_ENOTLEADER;
    if (m->id == 0)
        return RSM_EINVAL;
    c = node__change_new(n, OP_ADD, m->id, cb, arg);
    if (c == NULL)
        return RSM_ENOMEM;
    rsm_node_format_member(m, c->addr, sizeof c->addr);
    rv = raft_add(&n->raft, &c->add, m->id, c->addr, node__change_done);
    if (rv != 0) {
        free(c);
        return node__map_raft_error(rv);
    }
    rsm_log(RSM_LOG_INFO, "member-change", "op=add id=%llu addr=%s",
            (unsigned long long)m->id, c->addr);
    return 0;
}

int rsm_node_remove_member(struct rsm_node *n, uint64_t id, rsm_node_done_cb cb,
                           void *arg)
{
    struct change *c;
    int rv;

    if (n->stopping || n->raft.state != RAFT_LEADER)
        return RSM_ENOTLEADER;
    c = node__change_new(n, OP_REMOVE, id, cb, arg);
    if (c == NULL)
        return RSM_ENOMEM;
    rv = raft_remove(&n->raft, &c->remove, id, node__change_done);
    if (rv != 0) {
        free(c);
        return node__map_raft_error(rv);
    }
    rsm_log(RSM_LOG_INFO, "member-change", "op=remove id=%llu",
            (unsigned long long)id);
    return 0;
}
