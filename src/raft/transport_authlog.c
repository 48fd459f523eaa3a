/* transport_authlog.c - handshake failures of the Raft transport in the
 * log: one line per peer and reason per minute at most (with how many were
 * not logged since), the reason in words and what the operator should
 * check. */
#include "transport_int.h"
#include "rsm/log.h"

#include <stdio.h>
#include <string.h>

/* A handshake failure is logged once per peer and reason this often. */
#define AUTH_LOG_EVERY_MS 60000

/* true if this failure is to be logged now; *suppressed: how many like it
 * were not logged since the previous line. */
static bool transport__auth_log_due(struct impl *im, bool incoming,
                                    const char *ip, raft_id id,
                                    enum rsm_raftauth_reason reason,
                                    enum rsm_raftauth_reason peer_reason,
                                    unsigned *suppressed)
{
    uint64_t now = uv_now(im->loop);
    struct auth_seen *e, *slot = NULL;

    for (unsigned i = 0; i < AUTH_LOG_SLOTS; i++) {
        e = &im->seen[i];
        if (e->used && e->incoming == incoming && e->id == id &&
            e->reason == reason && e->peer_reason == peer_reason &&
            strcmp(e->ip, ip) == 0) {
            if (now - e->last_ms < AUTH_LOG_EVERY_MS) {
                e->suppressed++;
                return false;
            }
            slot = e;
            break;
        }
    }
    if (slot == NULL) { /* a free slot, or the one logged longest ago */
        slot = &im->seen[0];
        for (unsigned i = 0; i < AUTH_LOG_SLOTS && slot->used; i++)
            if (!im->seen[i].used || im->seen[i].last_ms < slot->last_ms)
                slot = &im->seen[i];
        memset(slot, 0, sizeof *slot);
        slot->used = true;
        slot->incoming = incoming;
        snprintf(slot->ip, sizeof slot->ip, "%s", ip);
        slot->id = id;
        slot->reason = reason;
        slot->peer_reason = peer_reason;
    }
    *suppressed = slot->suppressed;
    slot->suppressed = 0;
    slot->last_ms = now;
    return true;
}

/* The reason as one sentence: with the peer's own reason if it refused. */
static void transport__auth_reason_text(enum rsm_raftauth_reason r,
                                        enum rsm_raftauth_reason peer_r,
                                        char *buf, size_t len)
{
    if (r == RSM_RAFTAUTH_REFUSED)
        snprintf(buf, len, "%s: %s", rsm_raftauth_reason_str(r),
                 rsm_raftauth_reason_str(peer_r));
    else
        snprintf(buf, len, "%s", rsm_raftauth_reason_str(r));
}

/* What the operator should check ("" if nothing useful to say). id: the
 * member at the other end, 0 if not known. */
static void transport__auth_hint(enum rsm_raftauth_reason r,
                                 enum rsm_raftauth_reason peer_r, raft_id id,
                                 bool incoming, char *buf, size_t len)
{
    char who[48];

    if (id != 0)
        snprintf(who, sizeof who, "member %llu", (unsigned long long)id);
    else
        snprintf(who, sizeof who, "the peer");
    if (r == RSM_RAFTAUTH_REFUSED)
        r = peer_r; /* what the other side found */
    switch (r) {
    case RSM_RAFTAUTH_BAD_PROOF:
        snprintf(buf, len,
                 "the cluster secrets differ: check --cluster-secret-file "
                 "(or RSM_CLUSTER_SECRET) on this agent or on %s",
                 who);
        break;
    case RSM_RAFTAUTH_PLAIN_RAFT:
        snprintf(buf, len,
                 "%s runs without a cluster secret: give every agent the "
                 "same --cluster-secret-file",
                 who);
        break;
    case RSM_RAFTAUTH_CLUSTER_MISMATCH:
        snprintf(buf, len,
                 "%s belongs to another group: check --peers on this "
                 "agent and on %s",
                 who, who);
        break;
    case RSM_RAFTAUTH_WRONG_SERVER:
    case RSM_RAFTAUTH_WRONG_PEER:
        snprintf(buf, len,
                 "an address in --peers reaches another member than the "
                 "one named: check --peers on this agent and on %s",
                 who);
        break;
    case RSM_RAFTAUTH_TLS:
        snprintf(buf, len,
                 "every agent needs --tls-raft on and a certificate "
                 "(--tls-cert-file, valid now) from a CA the others trust "
                 "(--tls-ca-cert-file): check this agent and %s",
                 who);
        break;
    case RSM_RAFTAUTH_IDENTITY:
        snprintf(buf, len,
                 "the certificate of %s must name the host of its member "
                 "address (subjectAltName DNS or IP)",
                 incoming ? who : "this agent");
        break;
    case RSM_RAFTAUTH_VERSION:
        snprintf(buf, len, "%s runs another rsm-agent version", who);
        break;
    case RSM_RAFTAUTH_CLOSED:
        if (!incoming)
            snprintf(buf, len,
                     "%s may run without a cluster secret (or be "
                     "stopping): see its log",
                     who);
        else
            buf[0] = '\0';
        break;
    default:
        buf[0] = '\0';
    }
}

/* One raft-auth-refused (incoming) or raft-auth-failed (outgoing) line,
 * unless one like it was logged less than a minute ago. */
void transport__log_auth_failure(struct hs *hs, enum rsm_raftauth_reason r,
                                 const char *why)
{
    struct impl *im = hs->im;
    bool in = hs->out == NULL;
    raft_id id = in ? hs->auth.hello.client_id : hs->out->id;
    enum rsm_raftauth_reason peer_r = hs->auth.peer_reason;
    enum rsm_log_level level =
        r == RSM_RAFTAUTH_CLOSED || r == RSM_RAFTAUTH_TIMEOUT ? RSM_LOG_INFO
                                                              : RSM_LOG_WARN;
    char text[256], hint[256], q[3][320], fields[1200];
    unsigned suppressed;
    int n;

    if (!transport__auth_log_due(im, in, hs->ip, id, r, peer_r, &suppressed))
        return;
    transport__auth_reason_text(r, peer_r, text, sizeof text);
    transport__auth_hint(r, peer_r, id, in, hint, sizeof hint);
    if (in)
        n = snprintf(fields, sizeof fields, "peer=%s", hs->peer);
    else
        n = snprintf(fields, sizeof fields, "peer=%llu addr=%s",
                     (unsigned long long)id, hs->peer);
    if (in && id != 0)
        n += snprintf(fields + n, sizeof fields - (size_t)n, " claimed_id=%llu",
                      (unsigned long long)id);
    n += snprintf(fields + n, sizeof fields - (size_t)n, " reason=%s",
                  rsm_log_quote(text, q[0], sizeof q[0]));
    if (why != NULL && why[0] != '\0')
        n += snprintf(fields + n, sizeof fields - (size_t)n, " detail=%s",
                      rsm_log_quote(why, q[1], sizeof q[1]));
    if (hint[0] != '\0')
        n += snprintf(fields + n, sizeof fields - (size_t)n, " hint=%s",
                      rsm_log_quote(hint, q[2], sizeof q[2]));
    if (suppressed > 0)
        snprintf(fields + n, sizeof fields - (size_t)n, " repeated=%u",
                 suppressed);
    rsm_log(level, in ? "raft-auth-refused" : "raft-auth-failed", "%s", fields);
}
