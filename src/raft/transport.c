/* transport.c - the Raft transport: DNS names on every connect, and with a
 * secret an authenticated handshake on every connection (transport.h).
 *
 * A connect request from raft_uv goes through three steps:
 *   1. parse the member address "host:port[/api]" (the suffix is dropped),
 *   2. resolve host with uv_getaddrinfo (skipped for a dotted IPv4 host),
 *   3. without a secret: hand "ip:port" to raft_uv_tcp's connect, which does
 *      TCP + its handshake; with a secret: TCP connect ourselves, then HELLO,
 *      CHALLENGE, PROOF (raftauth.h), then hand the stream to raft_uv.
 * raft_uv's callback runs exactly once: with the stream, with
 * RAFT_NOCONNECTION (name did not resolve, TCP or handshake failed or timed
 * out), or with RAFT_CANCELED once close() started (raft_uv expects
 * CANCELED only then). Connecting has a deadline (CONNECT_TIMEOUT_MS), and
 * so has the handshake (HANDSHAKE_TIMEOUT_MS), on both sides.
 *
 * Incoming connections: without a secret raft_uv_tcp's, passed through;
 * with one, ours: accept, then the server side of the handshake, then
 * raft_uv's accept callback with the id and address the peer proved.
 *
 * close() cancels the lookups still queued, stops listening, aborts every
 * handshake in progress (closing its socket; nothing reaches raft_uv) and
 * reports completion only when every handle is closed and no request is in
 * flight. */
#include "rsm/transport.h"
#include "rsm/err.h"
#include "rsm/log.h"
#include "rsm/node.h"
#include "raft_compat.h"
#include "rsm/raftauth.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

/* An outgoing connection whose sent data stays unacknowledged this long is
 * dropped by the kernel (TCP_USER_TIMEOUT). raft_uv never reads from the
 * connections it opens, so a peer that vanished without a reset (a pod
 * deleted, its IP gone) would otherwise keep the leader writing into a dead
 * socket for the ~15 minutes of TCP retransmissions, never reconnecting and
 * so never resolving the peer's new address. */
#define SEND_USER_TIMEOUT_MS 5000
/* raft_uv_tcp's connect has no deadline: a SYN to an address nobody owns
 * any more (a pod moved) is retried by the kernel for minutes, and raft_uv
 * does not try again meanwhile. After this long raft_uv is told the connect
 * failed; it retries, and the retry resolves the name again. The abandoned
 * attempt ends on its own (its stream, if any, is closed). */
#define CONNECT_TIMEOUT_MS 2000

/* With a secret: a handshake, either side, not finished this long after
 * the TCP connection was established is abandoned. */
#define HANDSHAKE_TIMEOUT_MS 2000
/* Pending connections of the listening socket (raft_uv_tcp uses 1; peers
 * reconnect at once after a restart). */
#define LISTEN_BACKLOG 16
/* Incoming handshakes in progress at most; more are refused at once (a
 * group has at most RSM_MAX_AGENTS members, each dialling once). */
#define MAX_INCOMING 64
/* A handshake failure is logged once per peer and reason this often. */
#define AUTH_LOG_EVERY_MS 60000
#define AUTH_LOG_SLOTS    64

/* "255.255.255.255:65535" */
#define IPPORT_LEN (INET_ADDRSTRLEN + 8)
/* Peers whose resolution we remember for logging (by id). */
#define PEERS_TRACKED (2 * RSM_MAX_AGENTS)

struct conn;
struct hs;

/* What we remember about a peer: log resolution failures and IP changes
 * once, not on every retry. */
struct peer_seen {
    raft_id id;
    bool failing;
    char ip[INET_ADDRSTRLEN];
};

/* A handshake failure logged recently: incoming ones by the peer's IP and
 * claimed id, outgoing ones by the member id. */
struct auth_seen {
    bool used, incoming;
    char ip[INET_ADDRSTRLEN];
    raft_id id;
    enum rsm_raftauth_reason reason, peer_reason;
    uint64_t last_ms;    /* loop time of the line logged */
    unsigned suppressed; /* failures since, not logged */
};

struct impl {
    uv_loop_t *loop;
    struct raft_uv_transport *outer;
    struct raft_uv_transport inner; /* raft_uv_tcp, without a secret */
    char bind[IPPORT_LEN];
    raft_uv_accept_cb accept_cb;
    struct conn *pending; /* connect requests in flight */
    unsigned n_pending;
    bool closing, inner_closed;
    raft_uv_transport_close_cb close_cb;
    struct rsm_transport_stats stats;
    struct peer_seen peers[PEERS_TRACKED];

    /* With a secret (auth): our own listener and handshakes. */
    bool auth;
    unsigned char *secret; /* a copy, cleansed on destroy */
    size_t secret_len;
    raft_id self_id;
    char self_addr[RSM_RAFTAUTH_ADDR_MAX + 1]; /* from raft's init */
    const char *(*cluster_id)(void *arg);
    void *cluster_id_arg;
    uv_tcp_t listener;   /* or, if never listening, closer below */
    uv_timer_t closer;   /* closed at close() when not listening */
    bool listener_on;    /* listener initialised */
    struct hs *incoming; /* handshakes of accepted connections */
    unsigned n_incoming;
    struct auth_seen seen[AUTH_LOG_SLOTS];
};

/* Steps of a handshake. */
enum hs_step {
    HS_CONNECTING, /* client: TCP connect in flight */
    HS_HELLO,      /* client: HELLO sent, CHALLENGE due; server: HELLO due */
    HS_PROOF,      /* client: PROOF being written; server: PROOF due */
};

/* One handshake with a secret, client or server side: our TCP handle (a
 * raft_malloc'd uv_tcp_t, as raft_uv frees the streams it owns with
 * raft_free) and a deadline timer. Freed once both are closed, or, after
 * the stream went to raft_uv, once the timer is closed. Reads take exactly
 * one message at a time, so the bytes after the handshake stay in the
 * socket for raft_uv. */
struct hs {
    struct impl *im;
    struct conn *out; /* client side: the connect request; NULL: server */
    uv_tcp_t *tcp;    /* NULL once handed to raft_uv */
    uv_timer_t timer;
    uv_connect_t connect;
    uv_write_t wreq[2];
    unsigned char wbuf[2][RSM_RAFTAUTH_FRAME_MAX];
    unsigned n_writes, n_writing;
    unsigned open;   /* our handles still open (tcp, timer) */
    bool aborting;   /* our handles are closing */
    bool verified;   /* handshake passed: hand over once writes are done */
    bool sync_error; /* uv_tcp_connect failed at once */
    enum hs_step step;
    struct rsm_raftauth auth;
    unsigned char rbuf[RSM_RAFTAUTH_FRAME_MAX];
    size_t have, need;
    char peer[IPPORT_LEN]; /* the other end's "ip:port", for the log */
    char ip[INET_ADDRSTRLEN];
    struct hs *prev, *next; /* server side: impl's incoming list */
};

/* One connect request of raft_uv; freed once its callback ran (and, with a
 * secret, once the handles of its handshake are closed). */
struct conn {
    struct impl *im;
    struct raft_uv_connect *req; /* raft_uv's request */
    struct raft_uv_connect inner_req;
    uv_getaddrinfo_t gai;
    raft_id id;
    struct rsm_addr addr; /* Raft host:port of the peer */
    bool resolving;
    uv_timer_t timer; /* CONNECT_TIMEOUT_MS, once connecting */
    bool timer_on;    /* timer initialised: close it before free */
    bool answered;    /* raft_uv's callback has run */
    bool auth_on;     /* hs below is in use: it frees the conn */
    struct hs hs;
    struct conn *prev, *next;
};

/* ---------------------------------------------------------------------------
 * Bookkeeping
 * ------------------------------------------------------------------------- */

static void link_conn(struct impl *im, struct conn *c)
{
    c->prev = NULL;
    c->next = im->pending;
    if (im->pending != NULL)
        im->pending->prev = c;
    im->pending = c;
    im->n_pending++;
}

static void unlink_conn(struct impl *im, struct conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        im->pending = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    im->n_pending--;
}

/* Fire the user's close callback once everything has settled. */
static void maybe_closed(struct impl *im)
{
    raft_uv_transport_close_cb cb = im->close_cb;

    if (!im->closing || !im->inner_closed || im->n_pending > 0 ||
        im->n_incoming > 0 || cb == NULL)
        return;
    im->close_cb = NULL;
    cb(im->outer);
}

static void timer_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct impl *im = c->im;

    unlink_conn(im, c);
    free(c);
    maybe_closed(im);
}

/* Run raft_uv's callback (once). */
static void answer(struct conn *c, uv_stream_t *stream, int status)
{
    struct raft_uv_connect *req = c->req;

    c->answered = true;
    req->cb(req, stream, status);
}

/* Complete raft_uv's request (unless a timeout already did) and forget
 * it: free it now, or once its timer has closed. */
static void finish(struct conn *c, uv_stream_t *stream, int status)
{
    struct impl *im = c->im;

    if (c->timer_on) {
        uv_timer_stop(&c->timer);
        uv_close((uv_handle_t *)&c->timer, timer_closed);
    } else {
        unlink_conn(im, c);
    }
    if (!c->answered)
        answer(c, stream, status);
    if (!c->timer_on) {
        free(c);
        maybe_closed(im);
    }
}

static struct peer_seen *peer_seen(struct impl *im, raft_id id)
{
    struct peer_seen *free_slot = NULL;

    for (unsigned i = 0; i < PEERS_TRACKED; i++) {
        if (im->peers[i].id == id)
            return &im->peers[i];
        if (im->peers[i].id == 0 && free_slot == NULL)
            free_slot = &im->peers[i];
    }
    if (free_slot != NULL)
        free_slot->id = id;
    return free_slot;
}

static void note_resolved(struct impl *im, const struct conn *c, const char *ip)
{
    struct peer_seen *p = peer_seen(im, c->id);

    if (p == NULL || (!p->failing && strcmp(p->ip, ip) == 0))
        return;
    rsm_log(RSM_LOG_INFO, "raft-peer-resolved", "peer=%llu host=%s ip=%s",
            (unsigned long long)c->id, c->addr.host, ip);
    p->failing = false;
    snprintf(p->ip, sizeof p->ip, "%s", ip);
}

static void note_unresolved(struct impl *im, const struct conn *c,
                            const char *why)
{
    struct peer_seen *p = peer_seen(im, c->id);
    char q[RSM_ERRMSG_SIZE];

    im->stats.resolve_errors++;
    if (p != NULL && p->failing)
        return;
    rsm_log(RSM_LOG_WARN, "raft-resolve-failed", "peer=%llu host=%s error=%s",
            (unsigned long long)c->id, c->addr.host,
            rsm_log_quote(why, q, sizeof q));
    if (p != NULL)
        p->failing = true;
}

/* An outgoing stream: see SEND_USER_TIMEOUT_MS. */
static void set_user_timeout(uv_tcp_t *tcp)
{
    unsigned ms = SEND_USER_TIMEOUT_MS;
    uv_os_fd_t fd;

    if (uv_fileno((uv_handle_t *)tcp, &fd) == 0)
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
}

/* ---------------------------------------------------------------------------
 * Connect
 * ------------------------------------------------------------------------- */

static void stream_closed(uv_handle_t *h)
{
    struct conn *c = h->data;

    raft_free(h);
    finish(c, NULL, RAFT_CANCELED);
}

static void inner_connected(struct raft_uv_connect *ireq, uv_stream_t *stream,
                            int status)
{
    struct conn *c = ireq->data;
    struct impl *im = c->im;

    if (status == 0 && (im->closing || c->answered)) {
        /* Connected just as we started closing (raft_uv expects CANCELED
         * now), or after the connect timed out: the stream is ours to
         * close. */
        stream->data = c;
        uv_close((uv_handle_t *)stream, stream_closed);
        return;
    }
    if (status != 0 && status != RAFT_CANCELED)
        im->stats.connect_errors++;
    if (status == 0)
        set_user_timeout((uv_tcp_t *)stream);
    finish(c, stream, status);
}

static void connect_timeout(uv_timer_t *t)
{
    struct conn *c = t->data;

    if (c->answered)
        return;
    c->im->stats.connect_errors++;
    rsm_log(RSM_LOG_DEBUG, "raft-connect-timeout", "peer=%llu host=%s",
            (unsigned long long)c->id, c->addr.host);
    answer(c, NULL, RAFT_NOCONNECTION);
}

/* ---------------------------------------------------------------------------
 * Handshake failures in the log: once per peer and reason per minute
 * ------------------------------------------------------------------------- */

/* true if this failure is to be logged now; *suppressed: how many like it
 * were not logged since the previous line. */
static bool auth_log_due(struct impl *im, bool incoming, const char *ip,
                         raft_id id, enum rsm_raftauth_reason reason,
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
static void auth_reason_text(enum rsm_raftauth_reason r,
                             enum rsm_raftauth_reason peer_r, char *buf,
                             size_t len)
{
    if (r == RSM_RAFTAUTH_REFUSED)
        snprintf(buf, len, "%s: %s", rsm_raftauth_reason_str(r),
                 rsm_raftauth_reason_str(peer_r));
    else
        snprintf(buf, len, "%s", rsm_raftauth_reason_str(r));
}

/* What the operator should check ("" if nothing useful to say). id: the
 * member at the other end, 0 if not known. */
static void auth_hint(enum rsm_raftauth_reason r,
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
static void log_auth_failure(struct hs *hs, enum rsm_raftauth_reason r,
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

    if (!auth_log_due(im, in, hs->ip, id, r, peer_r, &suppressed))
        return;
    auth_reason_text(r, peer_r, text, sizeof text);
    auth_hint(r, peer_r, id, in, hint, sizeof hint);
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

/* ---------------------------------------------------------------------------
 * Handshake I/O, both sides
 * ------------------------------------------------------------------------- */

static const char *cluster_id(const struct impl *im)
{
    const char *id = im->cluster_id ? im->cluster_id(im->cluster_id_arg) : "";

    return id != NULL ? id : "";
}

static void out_closed(struct hs *hs);
static void in_closed(struct hs *hs);
static void out_fail(struct hs *hs, enum rsm_raftauth_reason r,
                     const char *why);
static void in_refuse(struct hs *hs, enum rsm_raftauth_reason r,
                      const char *why);
static void out_frame(struct hs *hs);
static void in_frame(struct hs *hs);
static void out_handover(struct hs *hs);
static void in_handover(struct hs *hs);

static void hs_handle_closed(uv_handle_t *h)
{
    struct hs *hs = h->data;

    if (h == (uv_handle_t *)hs->tcp) {
        raft_free(h);
        hs->tcp = NULL;
    }
    if (--hs->open > 0)
        return;
    if (hs->out != NULL)
        out_closed(hs);
    else
        in_closed(hs);
}

/* Close our handles (once); out_closed() / in_closed() run when both are
 * closed. A read, connect or write callback that runs meanwhile (with
 * UV_ECANCELED) sees hs->aborting and returns. */
static void hs_abort(struct hs *hs)
{
    if (hs->aborting)
        return;
    hs->aborting = true;
    uv_timer_stop(&hs->timer);
    if (hs->tcp != NULL)
        uv_close((uv_handle_t *)hs->tcp, hs_handle_closed);
    uv_close((uv_handle_t *)&hs->timer, hs_handle_closed);
}

/* Tell the peer why, best effort (the socket closes right after): only
 * when it may be listening. */
static void hs_send_error(struct hs *hs, enum rsm_raftauth_reason r)
{
    unsigned char msg[RSM_RAFTAUTH_HEADER_LEN + 1];
    uv_buf_t buf;

    if (r == RSM_RAFTAUTH_CLOSED || r == RSM_RAFTAUTH_REFUSED ||
        hs->tcp == NULL)
        return;
    buf = uv_buf_init((char *)msg, (unsigned)rsm_raftauth_error(r, msg));
    (void)uv_try_write((uv_stream_t *)hs->tcp, &buf, 1);
}

static void hs_fail(struct hs *hs, enum rsm_raftauth_reason r, const char *why)
{
    if (hs->out != NULL)
        out_fail(hs, r, why);
    else
        in_refuse(hs, r, why);
}

static void hs_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct hs *hs = h->data;

    (void)suggested;
    buf->base = (char *)hs->rbuf + hs->have;
    buf->len = hs->need - hs->have;
}

/* Exactly one message: the header, then the length it announces. */
static void hs_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct hs *hs = s->data;
    enum rsm_raftauth_reason r;
    size_t total;

    (void)buf;
    if (nread == 0 || hs->aborting)
        return;
    if (nread < 0) {
        hs_fail(hs, RSM_RAFTAUTH_CLOSED,
                nread == UV_EOF ? NULL : uv_strerror((int)nread));
        return;
    }
    hs->have += (size_t)nread;
    if (hs->have < hs->need)
        return;
    if (hs->need == RSM_RAFTAUTH_HEADER_LEN) {
        r = rsm_raftauth_frame_len(hs->rbuf, &total);
        if (r != RSM_RAFTAUTH_OK) {
            hs_fail(hs, r, NULL);
            return;
        }
        hs->need = total;
        if (hs->have < hs->need)
            return;
    }
    uv_read_stop(s);
    if (hs->out != NULL)
        out_frame(hs);
    else
        in_frame(hs);
}

static int hs_read_next(struct hs *hs)
{
    hs->have = 0;
    hs->need = RSM_RAFTAUTH_HEADER_LEN;
    return uv_read_start((uv_stream_t *)hs->tcp, hs_alloc, hs_read);
}

static void hs_written(uv_write_t *req, int status)
{
    struct hs *hs = req->data;

    hs->n_writing--;
    if (hs->aborting)
        return;
    if (status != 0) {
        hs_fail(hs, RSM_RAFTAUTH_CLOSED, uv_strerror(status));
        return;
    }
    if (hs->verified && hs->n_writing == 0) {
        if (hs->out != NULL)
            out_handover(hs);
        else
            in_handover(hs);
    }
}

/* The buffer for the next message to write (at most two per side). */
static unsigned char *hs_wbuf(struct hs *hs)
{
    assert(hs->n_writes < 2);
    return hs->wbuf[hs->n_writes];
}

/* Write len bytes of hs_wbuf(). 0 or a libuv error. */
static int hs_write(struct hs *hs, size_t len)
{
    uv_write_t *req = &hs->wreq[hs->n_writes];
    uv_buf_t buf = uv_buf_init((char *)hs->wbuf[hs->n_writes], (unsigned)len);
    int rv;

    rv = uv_write(req, (uv_stream_t *)hs->tcp, &buf, 1, hs_written);
    if (rv != 0)
        return rv;
    req->data = hs;
    hs->n_writes++;
    hs->n_writing++;
    return 0;
}

static void hs_timeout(uv_timer_t *t)
{
    struct hs *hs = t->data;

    if (hs->aborting)
        return;
    if (hs->out != NULL && hs->sync_error)
        out_fail(hs, RSM_RAFTAUTH_OK, "connect failed");
    else
        hs_fail(hs, RSM_RAFTAUTH_TIMEOUT, NULL);
}

/* ---------------------------------------------------------------------------
 * Handshake, client side (our connect)
 * ------------------------------------------------------------------------- */

static void out_closed(struct hs *hs)
{
    struct conn *c = hs->out;
    struct impl *im = c->im;

    if (!c->answered) /* aborted by close() */
        answer(c, NULL, RAFT_CANCELED);
    unlink_conn(im, c);
    free(c);
    maybe_closed(im);
}

/* The connect failed: r is RSM_RAFTAUTH_OK for a TCP failure (why says
 * which), TIMEOUT, or the handshake's refusal. raft_uv hears
 * RAFT_NOCONNECTION now and retries later (resolving the name again). */
static void out_fail(struct hs *hs, enum rsm_raftauth_reason r, const char *why)
{
    struct conn *c = hs->out;
    struct impl *im = c->im;

    if (r == RSM_RAFTAUTH_OK || r == RSM_RAFTAUTH_TIMEOUT) {
        im->stats.connect_errors++;
        if (r == RSM_RAFTAUTH_TIMEOUT)
            rsm_log(RSM_LOG_DEBUG,
                    hs->step == HS_CONNECTING ? "raft-connect-timeout"
                                              : "raft-handshake-timeout",
                    "peer=%llu host=%s", (unsigned long long)c->id,
                    c->addr.host);
    } else {
        im->stats.auth_failed++;
        log_auth_failure(hs, r, why);
        hs_send_error(hs, r);
    }
    hs_abort(hs);
    if (!c->answered)
        answer(c, NULL, RAFT_NOCONNECTION);
}

static void out_connected(uv_connect_t *req, int status)
{
    struct hs *hs = req->data;
    struct impl *im = hs->im;
    unsigned char nonce[RSM_RAFTAUTH_NONCE_LEN];
    enum rsm_raftauth_reason r;
    size_t len;

    if (hs->aborting)
        return;
    if (status != 0) {
        out_fail(hs, RSM_RAFTAUTH_OK, uv_strerror(status));
        return;
    }
    set_user_timeout(hs->tcp);
    hs->step = HS_HELLO;
    uv_timer_start(&hs->timer, hs_timeout, HANDSHAKE_TIMEOUT_MS, 0);
    if (RAND_bytes(nonce, sizeof nonce) != 1) {
        rsm_log(RSM_LOG_ERROR, "raft-auth-random-failed", NULL);
        out_fail(hs, RSM_RAFTAUTH_OK, "RAND_bytes failed");
        return;
    }
    r = rsm_raftauth_client_hello(&hs->auth, hs->out->id, cluster_id(im),
                                  im->self_addr, nonce, hs_wbuf(hs), &len);
    if (r != RSM_RAFTAUTH_OK) {
        out_fail(hs, r, hs->auth.detail);
        return;
    }
    if (hs_write(hs, len) != 0 || hs_read_next(hs) != 0)
        out_fail(hs, RSM_RAFTAUTH_CLOSED, "cannot write or read");
}

/* CHALLENGE (or ERROR) from the server. */
static void out_frame(struct hs *hs)
{
    enum rsm_raftauth_reason r;
    size_t len;

    r = rsm_raftauth_client_proof(&hs->auth, hs->rbuf, hs->have, hs_wbuf(hs),
                                  &len);
    if (r != RSM_RAFTAUTH_OK) {
        out_fail(hs, r, hs->auth.detail);
        return;
    }
    hs->step = HS_PROOF;
    hs->verified = true;
    if (hs_write(hs, len) != 0)
        out_fail(hs, RSM_RAFTAUTH_CLOSED, "cannot write");
}

/* PROOF written: the stream is raft_uv's from now on. */
static void out_handover(struct hs *hs)
{
    struct conn *c = hs->out;
    uv_stream_t *s = (uv_stream_t *)hs->tcp;

    hs->tcp = NULL;
    hs->open--;
    s->data = NULL;
    hs_abort(hs); /* the timer; the conn is freed once it is closed */
    answer(c, s, 0);
}

/* Step 3 with a secret: connect to ip:port ourselves, with a deadline.
 * 0, or RAFT_NOMEM with nothing to undo. Every other failure is reported
 * to raft_uv from the loop (never from inside its connect call). */
static int auth_connect(struct conn *c, const char *ip)
{
    struct impl *im = c->im;
    struct hs *hs = &c->hs;
    struct sockaddr_in sa;
    int rv;

    hs->tcp = raft_malloc(sizeof *hs->tcp);
    if (hs->tcp == NULL)
        return RAFT_NOMEM;
    hs->im = im;
    hs->out = c;
    c->auth_on = true;
    uv_tcp_init(im->loop, hs->tcp);
    hs->tcp->data = hs;
    uv_timer_init(im->loop, &hs->timer);
    hs->timer.data = hs;
    hs->open = 2;
    snprintf(hs->ip, sizeof hs->ip, "%.15s", ip);
    snprintf(hs->peer, sizeof hs->peer, "%.15s:%u", ip, (unsigned)c->addr.port);
    rsm_raftauth_init(&hs->auth, im->secret, im->secret_len, im->self_id);
    hs->step = HS_CONNECTING;
    rv = uv_ip4_addr(ip, c->addr.port, &sa);
    if (rv == 0)
        rv = uv_tcp_connect(&hs->connect, hs->tcp, (const struct sockaddr *)&sa,
                            out_connected);
    hs->connect.data = hs;
    hs->sync_error = rv != 0;
    uv_timer_start(&hs->timer, hs_timeout, rv != 0 ? 0 : CONNECT_TIMEOUT_MS, 0);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Handshake, server side (accepted connections)
 * ------------------------------------------------------------------------- */

static void in_closed(struct hs *hs)
{
    struct impl *im = hs->im;

    if (hs->prev != NULL)
        hs->prev->next = hs->next;
    else
        im->incoming = hs->next;
    if (hs->next != NULL)
        hs->next->prev = hs->prev;
    im->n_incoming--;
    free(hs);
    maybe_closed(im);
}

/* Refuse the connection: counted, logged, closed. Nothing reached raft. */
static void in_refuse(struct hs *hs, enum rsm_raftauth_reason r,
                      const char *why)
{
    hs->im->stats.auth_refused++;
    log_auth_failure(hs, r, why);
    hs_send_error(hs, r);
    hs_abort(hs);
}

/* HELLO, then PROOF (or ERROR) from the client. */
static void in_frame(struct hs *hs)
{
    unsigned char nonce[RSM_RAFTAUTH_NONCE_LEN];
    enum rsm_raftauth_reason r;
    size_t len;

    if (hs->step == HS_HELLO) {
        if (RAND_bytes(nonce, sizeof nonce) != 1) {
            rsm_log(RSM_LOG_ERROR, "raft-auth-random-failed", NULL);
            hs_abort(hs);
            return;
        }
        r = rsm_raftauth_server_challenge(&hs->auth, cluster_id(hs->im), nonce,
                                          hs->rbuf, hs->have, hs_wbuf(hs),
                                          &len);
        if (r != RSM_RAFTAUTH_OK) {
            in_refuse(hs, r, hs->auth.detail);
            return;
        }
        hs->step = HS_PROOF;
        if (hs_write(hs, len) != 0 || hs_read_next(hs) != 0)
            in_refuse(hs, RSM_RAFTAUTH_CLOSED, "cannot write or read");
        return;
    }
    r = rsm_raftauth_server_verify(&hs->auth, hs->rbuf, hs->have);
    if (r != RSM_RAFTAUTH_OK) {
        in_refuse(hs, r, hs->auth.detail);
        return;
    }
    hs->verified = true;
    if (hs->n_writing == 0)
        in_handover(hs);
}

/* PROOF checked and CHALLENGE written: the stream is raft_uv's, with the
 * id and address the peer proved. */
static void in_handover(struct hs *hs)
{
    struct impl *im = hs->im;
    uv_stream_t *s = (uv_stream_t *)hs->tcp;

    hs->tcp = NULL;
    hs->open--;
    s->data = NULL;
    hs_abort(hs); /* the timer; hs (and the address) live until it closes */
    im->stats.auth_accepted++;
    im->accept_cb(im->outer, hs->auth.hello.client_id, hs->auth.hello.address,
                  s);
}

static void peer_name(struct hs *hs)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;

    snprintf(hs->ip, sizeof hs->ip, "?");
    snprintf(hs->peer, sizeof hs->peer, "?");
    if (uv_tcp_getpeername(hs->tcp, (struct sockaddr *)&ss, &len) != 0 ||
        ss.ss_family != AF_INET)
        return;
    uv_ip4_name((struct sockaddr_in *)&ss, hs->ip, sizeof hs->ip);
    snprintf(hs->peer, sizeof hs->peer, "%s:%u", hs->ip,
             (unsigned)ntohs(((struct sockaddr_in *)&ss)->sin_port));
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct impl *im = listener->data;
    struct hs *hs;

    if (status != 0 || im->closing) {
        rsm_log(RSM_LOG_WARN, "raft-accept-failed", "error=%s",
                status ? uv_strerror(status) : "closing");
        return;
    }
    hs = calloc(1, sizeof *hs);
    if (hs != NULL)
        hs->tcp = raft_malloc(sizeof *hs->tcp);
    if (hs == NULL || hs->tcp == NULL) {
        /* Not accepted: libuv stops watching the listener until the next
         * uv_accept, i.e. until memory is back and a connection comes. */
        free(hs);
        rsm_log(RSM_LOG_ERROR, "raft-accept-failed", "error=\"no memory\"");
        return;
    }
    hs->im = im;
    uv_tcp_init(im->loop, hs->tcp);
    hs->tcp->data = hs;
    uv_timer_init(im->loop, &hs->timer);
    hs->timer.data = hs;
    hs->open = 2;
    hs->next = im->incoming;
    if (im->incoming != NULL)
        im->incoming->prev = hs;
    im->incoming = hs;
    im->n_incoming++;
    if (uv_accept(listener, (uv_stream_t *)hs->tcp) != 0) {
        hs_abort(hs);
        return;
    }
    peer_name(hs);
    rsm_raftauth_init(&hs->auth, im->secret, im->secret_len, im->self_id);
    if (im->n_incoming > MAX_INCOMING) {
        in_refuse(hs, RSM_RAFTAUTH_BUSY, NULL);
        return;
    }
    hs->step = HS_HELLO;
    uv_timer_start(&hs->timer, hs_timeout, HANDSHAKE_TIMEOUT_MS, 0);
    if (hs_read_next(hs) != 0)
        hs_abort(hs);
}

/* Listen on im->bind ourselves. 0 or RAFT_IOERR with errmsg. */
static int auth_listen(struct impl *im, char *errmsg, size_t errlen)
{
    struct sockaddr_in sa;
    char ip[INET_ADDRSTRLEN];
    unsigned port = 0;
    int rv = UV_EINVAL;

    uv_tcp_init(im->loop, &im->listener);
    im->listener.data = im;
    im->listener_on = true;
    if (sscanf(im->bind, "%15[0-9.]:%u", ip, &port) == 2 && port <= 65535)
        rv = uv_ip4_addr(ip, (int)port, &sa);
    if (rv == 0)
        rv = uv_tcp_bind(&im->listener, (const struct sockaddr *)&sa, 0);
    if (rv == 0)
        rv = uv_listen((uv_stream_t *)&im->listener, LISTEN_BACKLOG,
                       on_connection);
    if (rv != 0) {
        snprintf(errmsg, errlen, "listen on %s: %s", im->bind, uv_strerror(rv));
        return RAFT_IOERR;
    }
    return 0;
}

static void listener_closed(uv_handle_t *h)
{
    struct impl *im = h->data;

    im->inner_closed = true;
    maybe_closed(im);
}

/* close() with a secret: stop listening, abort every handshake. */
static void auth_close(struct impl *im)
{
    for (struct conn *c = im->pending; c != NULL; c = c->next) {
        if (c->resolving)
            uv_cancel((uv_req_t *)&c->gai); /* else resolved() runs soon */
        else if (c->auth_on)
            hs_abort(&c->hs);
    }
    for (struct hs *hs = im->incoming; hs != NULL; hs = hs->next)
        hs_abort(hs);
    if (im->listener_on) {
        uv_close((uv_handle_t *)&im->listener, listener_closed);
    } else { /* never listened: still report completion from the loop */
        uv_timer_init(im->loop, &im->closer);
        im->closer.data = im;
        uv_close((uv_handle_t *)&im->closer, listener_closed);
    }
}

/* Step 3: ask raft_uv_tcp to connect to ip, with a deadline (or, with a
 * secret, connect and run the handshake ourselves). 0 or a RAFT_* code. */
static int connect_ip(struct conn *c, const char *ip)
{
    struct impl *im = c->im;
    char ipport[IPPORT_LEN];
    int rv;

    if (im->auth)
        return auth_connect(c, ip);
    snprintf(ipport, sizeof ipport, "%.15s:%u", ip, (unsigned)c->addr.port);
    c->inner_req.data = c;
    rv = im->inner.connect(&im->inner, &c->inner_req, c->id, ipport,
                           inner_connected);
    if (rv == 0) {
        uv_timer_init(im->loop, &c->timer);
        c->timer.data = c;
        c->timer_on = true;
        uv_timer_start(&c->timer, connect_timeout, CONNECT_TIMEOUT_MS, 0);
    }
    return rv;
}

static void resolved(uv_getaddrinfo_t *gai, int status, struct addrinfo *res)
{
    struct conn *c = gai->data;
    struct impl *im = c->im;
    char ip[INET_ADDRSTRLEN];
    int rv;

    c->resolving = false;
    if (im->closing) {
        uv_freeaddrinfo(res);
        finish(c, NULL, RAFT_CANCELED);
        return;
    }
    if (status != 0 || res == NULL || res->ai_family != AF_INET) {
        note_unresolved(im, c, status ? uv_strerror(status) : "no address");
        uv_freeaddrinfo(res);
        finish(c, NULL, RAFT_NOCONNECTION);
        return;
    }
    inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, ip,
              sizeof ip);
    uv_freeaddrinfo(res);
    note_resolved(im, c, ip);
    rv = connect_ip(c, ip);
    if (rv != 0) {
        im->stats.connect_errors++;
        finish(c, NULL, RAFT_NOCONNECTION);
    }
}

static int tr_connect(struct raft_uv_transport *t, struct raft_uv_connect *req,
                      raft_id id, const char *address, raft_uv_connect_cb cb)
{
    struct impl *im = t->impl;
    struct addrinfo hints;
    struct rsm_member m;
    struct in_addr v4;
    struct conn *c;
    char port[8], err[RSM_ERRMSG_SIZE];
    int rv;

    im->stats.connects++;
    if (im->closing)
        return RAFT_CANCELED;
    if (rsm_node_parse_member_addr(address, 0, &m, err, sizeof err) != 0) {
        snprintf(t->errmsg, sizeof t->errmsg,
                 "peer %llu address '%.80s': %.120s", (unsigned long long)id,
                 address, err);
        return RAFT_INVALID;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return RAFT_NOMEM;
    c->im = im;
    c->req = req;
    c->id = id;
    c->addr = m.raft;
    req->cb = cb;

    if (inet_pton(AF_INET, c->addr.host, &v4) == 1) {
        rv = connect_ip(c, c->addr.host);
        if (rv != 0) {
            free(c);
            return rv;
        }
        link_conn(im, c);
        return 0;
    }

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET; /* raft_uv_tcp 0.15 speaks IPv4 only */
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof port, "%u", (unsigned)c->addr.port);
    c->gai.data = c;
    rv =
        uv_getaddrinfo(im->loop, &c->gai, resolved, c->addr.host, port, &hints);
    if (rv != 0) {
        snprintf(t->errmsg, sizeof t->errmsg, "resolve %.180s: %.60s",
                 c->addr.host, uv_strerror(rv));
        free(c);
        return RAFT_NOCONNECTION;
    }
    c->resolving = true;
    link_conn(im, c);
    return 0;
}

/* ---------------------------------------------------------------------------
 * Init, listen, close
 * ------------------------------------------------------------------------- */

static int tr_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
    struct impl *im = t->impl;

    if (!im->auth)
        return im->inner.init(&im->inner, id, address);
    if (id != im->self_id) {
        snprintf(t->errmsg, sizeof t->errmsg,
                 "transport: raft id %llu, handshake id %llu",
                 (unsigned long long)id, (unsigned long long)im->self_id);
        return RAFT_INVALID;
    }
    if (strlen(address) > RSM_RAFTAUTH_ADDR_MAX) {
        snprintf(t->errmsg, sizeof t->errmsg,
                 "transport: own address longer than %d characters",
                 RSM_RAFTAUTH_ADDR_MAX);
        return RAFT_INVALID;
    }
    snprintf(im->self_addr, sizeof im->self_addr, "%s", address);
    return 0;
}

static void accepted(struct raft_uv_transport *inner, raft_id id,
                     const char *address, uv_stream_t *stream)
{
    struct impl *im = inner->data;

    im->accept_cb(im->outer, id, address, stream);
}

/* raft_uv_tcp reports a failed bind as RAFT_IOERR without detail: bind a
 * throw-away socket to the same address to learn why. */
static void explain_listen_failure(struct impl *im, char *buf, size_t len)
{
    struct sockaddr_in sa;
    char ip[INET_ADDRSTRLEN];
    unsigned port = 0;
    const char *why = "cannot listen";
    int fd, one = 1;

    if (sscanf(im->bind, "%15[0-9.]:%u", ip, &port) == 2 &&
        uv_ip4_addr(ip, (int)port, &sa) == 0) {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
                why = strerror(errno);
            close(fd);
        }
    }
    snprintf(buf, len, "listen on %s: %s", im->bind, why);
}

static int tr_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
    struct impl *im = t->impl;
    int rv;

    im->accept_cb = cb;
    if (im->auth)
        return auth_listen(im, t->errmsg, sizeof t->errmsg);
    rv = im->inner.listen(&im->inner, accepted);
    if (rv != 0)
        explain_listen_failure(im, t->errmsg, sizeof t->errmsg);
    return rv;
}

static void inner_closed(struct raft_uv_transport *inner)
{
    struct impl *im = inner->data;

    im->inner_closed = true;
    maybe_closed(im);
}

static void tr_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
    struct impl *im = t->impl;

    im->closing = true;
    im->close_cb = cb;
    if (im->auth) {
        auth_close(im);
        return;
    }
    for (struct conn *c = im->pending; c != NULL; c = c->next) {
        if (c->resolving)
            uv_cancel((uv_req_t *)&c->gai); /* else resolved() runs soon */
    }
    im->inner.close(&im->inner, inner_closed);
}

/* Resolve the bind address to "a.b.c.d:port" now (start-up). */
static int resolve_bind(struct impl *im, const struct rsm_addr *bind,
                        char *errmsg, size_t errlen)
{
    struct addrinfo hints;
    uv_getaddrinfo_t req;
    struct in_addr v4;
    char ip[INET_ADDRSTRLEN];
    int rv;

    if (inet_pton(AF_INET, bind->host, &v4) == 1) {
        snprintf(im->bind, sizeof im->bind, "%.15s:%u", bind->host,
                 (unsigned)bind->port);
        return 0;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    rv = uv_getaddrinfo(im->loop, &req, NULL, bind->host, NULL, &hints);
    if (rv != 0)
        return rsm_errf(RSM_ERESOLVE, errmsg, errlen,
                        "raft bind host '%s' (IPv4 only): %s", bind->host,
                        uv_strerror(rv));
    inet_ntop(AF_INET, &((struct sockaddr_in *)req.addrinfo->ai_addr)->sin_addr,
              ip, sizeof ip);
    uv_freeaddrinfo(req.addrinfo);
    snprintf(im->bind, sizeof im->bind, "%s:%u", ip, (unsigned)bind->port);
    return 0;
}

/* Keep a copy of the secret and the identity callbacks. */
static int setup_auth(struct impl *im, const struct rsm_transport_auth *auth,
                      char *errmsg, size_t errlen)
{
    im->secret = malloc(auth->secret_len);
    if (im->secret == NULL)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "transport: no memory");
    memcpy(im->secret, auth->secret, auth->secret_len);
    im->secret_len = auth->secret_len;
    im->self_id = auth->self_id;
    im->cluster_id = auth->cluster_id;
    im->cluster_id_arg = auth->arg;
    im->auth = true;
    im->stats.authenticated = true;
    rsm_log(RSM_LOG_INFO, "raft-authenticated", "bind=%s handshake=hmac-sha256",
            im->bind);
    return 0;
}

/* Without a secret: raft_uv_tcp, bound to im->bind. */
static int setup_tcp(struct impl *im, char *errmsg, size_t errlen)
{
    int rv;

    im->inner.data = im;
#if !RSM_RAFT_015
    im->inner.version = 1; /* 0.22: raft_uv_tcp_init refuses any other */
#endif
    rv = raft_uv_tcp_init(&im->inner, im->loop);
    if (rv != 0)
        return rsm_errf(RSM_ERAFT, errmsg, errlen, "raft_uv_tcp_init: %s",
                        raft_strerror(rv));
    rv = raft_uv_tcp_set_bind_address(&im->inner, im->bind);
    if (rv != 0) {
        raft_uv_tcp_close(&im->inner);
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "raft bind address %s: %s",
                        im->bind, raft_strerror(rv));
    }
    rsm_log(RSM_LOG_WARN, "raft-unauthenticated",
            "bind=%s detail=\"no cluster secret (--cluster-secret-file): "
            "anyone who reaches this port can take part in the group's "
            "votes and log\"",
            im->bind);
    return 0;
}

int rsm_transport_init(struct raft_uv_transport *t, uv_loop_t *loop,
                       const struct rsm_addr *bind,
                       const struct rsm_transport_auth *auth, char *errmsg,
                       size_t errlen)
{
    struct impl *im;
    int rv;

    im = calloc(1, sizeof *im);
    if (im == NULL)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "transport: no memory");
    im->loop = loop;
    im->outer = t;
    rv = resolve_bind(im, bind, errmsg, errlen);
    if (rv != 0)
        goto err_after_alloc;
    if (auth != NULL && auth->secret != NULL && auth->secret_len > 0)
        rv = setup_auth(im, auth, errmsg, errlen);
    else
        rv = setup_tcp(im, errmsg, errlen);
    if (rv != 0)
        goto err_after_alloc;
    memset(t, 0, sizeof *t);
#if !RSM_RAFT_015
    t->version = 1; /* 0.22: raft_uv_init refuses 0 (none in 0.15) */
#endif
    t->impl = im;
    t->init = tr_init;
    t->listen = tr_listen;
    t->connect = tr_connect;
    t->close = tr_close;
    return 0;

err_after_alloc:
    free(im);
    return rv;
}

void rsm_transport_destroy(struct raft_uv_transport *t)
{
    struct impl *im = t->impl;

    if (im == NULL)
        return;
    if (!im->auth)
        raft_uv_tcp_close(&im->inner);
    if (im->secret != NULL) {
        OPENSSL_cleanse(im->secret, im->secret_len);
        free(im->secret);
    }
    free(im);
    t->impl = NULL;
}

void rsm_transport_get_stats(const struct raft_uv_transport *t,
                             struct rsm_transport_stats *out)
{
    const struct impl *im = t->impl;

    memset(out, 0, sizeof *out);
    if (im != NULL)
        *out = im->stats;
}
