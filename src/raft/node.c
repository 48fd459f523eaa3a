/* node.c - this agent's Raft node: data-dir lock, canonical/raft 0.15 over
 * the resolving transport, leadership tracking, proposals, membership and
 * the graceful stop.
 *
 * raft 0.15 has no state-change callback. A timer (poll_cb) compares
 * raft_state(), the term, the leader, the configuration and the snapshot
 * index with what it saw last and turns differences into log lines and
 * observer events. It runs every POLL_MS, and at once (next loop turn, out
 * of raft's call stack) when a raft tick or received message changed one
 * of them: raft_io's start() is wrapped to see those callbacks. A new leader
 * commits a barrier first (0.15 does not append a no-op on election, so
 * entries of older terms are only known committed after one of its own) and
 * reports RSM_NODE_BECAME_LEADER only when the barrier has been applied.
 *
 * Built against libraft 0.15 or 0.22 (raft_compat.h): the workarounds for
 * 0.15 bugs that need its internals are compiled for 0.15 only; 0.22 fixed
 * those bugs (each one says so). 0.22 appends a no-op on election itself;
 * the barrier is still how this node learns when it may decide. */
#include "rsm/node.h"
#include "rsm/codec.h"
#include "rsm/datadir.h"
#include "rsm/err.h"
#include "rsm/log.h"
#include "raft_compat.h"
#include "raft_fsm.h"
#include "rsm/transport.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <raft.h>
#include <raft/uv.h>

#ifndef POLL_MS
#define POLL_MS 250
#endif
/* Free room in the data dir is looked at no more often than this. */
#define DISK_CHECK_MS 200
/* Log segment size. raft_uv reads a whole open segment into memory on
 * restart and keeps it while any of its entries is in the in-memory log;
 * the 8 MiB default cost ~16 MB of RSS after a crash. Our entries are small
 * (bytes to a few KB); a batch larger than a segment still goes into one
 * (the file grows). */
#ifndef SEGMENT_SIZE
#define SEGMENT_SIZE (64 * 1024)
#endif
/* "host:port/apiport" */
#define MEMBER_STRLEN (RSM_ADDR_STRLEN + 8)

#define container_of(ptr, type, member)                                        \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* ---------------------------------------------------------------------------
 * Member addresses and the peer list
 * ------------------------------------------------------------------------- */

static int parse_api_port(const char *s, uint16_t *port, char *errmsg,
                          size_t errlen)
{
    unsigned long v = 0;

    if (*s == '\0')
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "missing API port");
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "API port '%s' is not a number", s);
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > 65535)
            break;
    }
    if (v < 1 || v > 65535)
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        "API port '%s' out of range 1-65535", s);
    *port = (uint16_t)v;
    return 0;
}

int rsm_node_parse_member_addr(const char *text, uint16_t default_api_port,
                               struct rsm_member *m, char *errmsg,
                               size_t errlen)
{
    char buf[MEMBER_STRLEN];
    struct rsm_addr raft;
    uint16_t api = default_api_port;
    char *slash;
    int rv;

    if (text == NULL || *text == '\0')
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "empty address");
    if (strlen(text) >= sizeof buf)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "address too long");
    memcpy(buf, text, strlen(text) + 1);
    slash = strchr(buf, '/');
    if (slash != NULL) {
        *slash = '\0';
        rv = parse_api_port(slash + 1, &api, errmsg, errlen);
        if (rv != 0)
            return rv;
    }
    rv = rsm_addr_parse(buf, &raft, errmsg, errlen);
    if (rv != 0)
        return rv;
    m->raft = raft;
    m->api = raft;
    m->api.port = api;
    m->api_given = slash != NULL;
    m->voter = true;
    return 0;
}

char *rsm_node_format_member(const struct rsm_member *m, char *buf, size_t len)
{
    char raft[RSM_ADDR_STRLEN];

    rsm_addr_format(&m->raft, raft, sizeof raft);
    if (m->api_given)
        snprintf(buf, len, "%s/%u", raft, (unsigned)m->api.port);
    else
        snprintf(buf, len, "%s", raft);
    return buf;
}

/* Parse "id=addr" (already trimmed, NUL-terminated) into *m. */
static int parse_peer_item(const char *item, uint16_t default_api_port,
                           struct rsm_member *m, char *errmsg, size_t errlen)
{
    const char *eq = strchr(item, '=');
    char why[RSM_ERRMSG_SIZE];

    if (eq == NULL)
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        "peer '%s': expected id=host:port[/apiport]", item);
    size_t idlen = (size_t)(eq - item);

    if (rsm_member_id_parse(item, idlen, &m->id) != 0)
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        idlen > 0 && strspn(item, "0") == idlen
                            ? "peer '%s': id 0 is not allowed"
                            : "peer '%s': id must be a positive number",
                        item);
    if (rsm_node_parse_member_addr(eq + 1, default_api_port, m, why,
                                   sizeof why) != 0)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "peer '%s': %s", item, why);
    return 0;
}

static int check_unique(const struct rsm_member *peers, unsigned n,
                        char *errmsg, size_t errlen)
{
    char a[RSM_ADDR_STRLEN];

    for (unsigned i = 0; i < n; i++) {
        for (unsigned j = 0; j < i; j++) {
            if (peers[i].id == peers[j].id)
                return rsm_errf(RSM_EINVAL, errmsg, errlen,
                                "duplicate peer id %llu",
                                (unsigned long long)peers[i].id);
            if (rsm_addr_equal(&peers[i].raft, &peers[j].raft))
                return rsm_errf(RSM_EINVAL, errmsg, errlen,
                                "peers %llu and %llu have the same address %s",
                                (unsigned long long)peers[j].id,
                                (unsigned long long)peers[i].id,
                                rsm_addr_format(&peers[i].raft, a, sizeof a));
        }
    }
    return 0;
}

int rsm_node_parse_peers(const char *text, uint16_t default_api_port,
                         struct rsm_node_config *cfg, char *errmsg,
                         size_t errlen)
{
    struct rsm_member peers[RSM_MAX_AGENTS];
    char item[MEMBER_STRLEN + 24];
    unsigned n = 0, pos = 0;
    const char *p = text;
    int rv;

    if (text == NULL || *text == '\0')
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "empty peer list");
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        pos++;
        while (len > 0 && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)p[len - 1]))
            len--;
        if (len == 0)
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "empty peer at position %u", pos);
        if (len >= sizeof item)
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "peer at position %u is too long", pos);
        if (n == RSM_MAX_AGENTS)
            return rsm_errf(RSM_EINVAL, errmsg, errlen, "more than %d peers",
                            RSM_MAX_AGENTS);
        memcpy(item, p, len);
        item[len] = '\0';
        rv = parse_peer_item(item, default_api_port, &peers[n], errmsg, errlen);
        if (rv != 0)
            return rv;
        n++;
        if (end == NULL)
            break;
        p = end + 1;
    }
    rv = check_unique(peers, n, errmsg, errlen);
    if (rv != 0)
        return rv;
    memcpy(cfg->peers, peers, n * sizeof peers[0]);
    cfg->n_peers = n;
    return 0;
}

/* ---------------------------------------------------------------------------
 * The data-dir lock
 * ------------------------------------------------------------------------- */

/* mkdir -p dir (mode 0700 for what we create). */
static int make_dir(const char *dir, char *errmsg, size_t errlen)
{
    char path[PATH_MAX];
    struct stat st;
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof path)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "bad data dir '%s'", dir);
    memcpy(path, dir, n + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return rsm_errf(RSM_EIO, errmsg, errlen, "create %s: %s", path,
                            strerror(errno));
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return rsm_errf(RSM_EIO, errmsg, errlen, "create data dir %s: %s", path,
                        strerror(errno));
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return rsm_errf(RSM_EIO, errmsg, errlen,
                        "data dir %s is not a directory", path);
    return 0;
}

/* The pid written in a LOCK file by its holder, or 0. */
static long lock_holder(int fd)
{
    char buf[32];
    ssize_t r = pread(fd, buf, sizeof buf - 1, 0);

    if (r <= 0)
        return 0;
    buf[r] = '\0';
    return strtol(buf, NULL, 10);
}

/* Take an exclusive flock on <dir>/LOCK and write our pid in it. The lock
 * lives as long as the descriptor (released by close or by process exit,
 * also on SIGKILL). */
static int lock_dir(const char *dir, int *fd_out, char *errmsg, size_t errlen)
{
    char path[PATH_MAX], pid[32];
    int fd, n;

    if (snprintf(path, sizeof path, "%s/LOCK", dir) >= (int)sizeof path)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "data dir path too long");
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return rsm_errf(RSM_EIO, errmsg, errlen, "open %s: %s", path,
                        strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        long holder = lock_holder(fd);

        close(fd);
        if (e == EWOULDBLOCK)
            return rsm_errf(RSM_ELOCKED, errmsg, errlen,
                            "data dir %s is locked by another rsm-agent "
                            "(pid %ld)",
                            dir, holder);
        return rsm_errf(RSM_EIO, errmsg, errlen, "lock %s: %s", path,
                        strerror(e));
    }
    n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        rsm_log(RSM_LOG_WARN, "lock-pid-write-failed", "path=%s", path);
    *fd_out = fd;
    return 0;
}

/* ---------------------------------------------------------------------------
 * The node
 * ------------------------------------------------------------------------- */

struct rsm_node {
    uv_loop_t *loop;
    struct rsm_node_config cfg; /* cfg.data_dir points to data_dir */
    char *data_dir;
    char self_addr[MEMBER_STRLEN];
    char cluster_id[RSM_CLUSTER_ID_LEN + 1]; /* "" while unknown */
    struct rsm_node_observer obs;
    int lock_fd;

    struct rsm_fsm state; /* the replicated state */
    struct raft_fsm fsm;  /* drives state (raft_fsm.h) */
    struct raft_uv_transport transport;
    struct raft_io io;
    struct raft raft;
    /* raft_io->start and the callbacks raft gave it, wrapped (see top). */
    int (*io_start)(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
                    raft_io_recv_cb recv);
    raft_io_tick_cb raft_tick;
    raft_io_recv_cb raft_recv;
    uint64_t tick_ms;        /* loop time of raft's latest tick, 0: none */
    uint64_t tick_period_ms; /* what raft asked io->start for */
#if RSM_RAFT_015
    int (*io_send)(struct raft_io *io, struct raft_io_send *req,
                   const struct raft_message *msg, raft_io_send_cb cb);
    bool in_append;        /* raft is handling an AppendEntries we got */
    raft_index append_end; /* its prev_log_index + n_entries */
#else
    /* When a message last came from whom (loop ms): 0.22 does not show a
     * leader's per-follower progress, transfer_target reads this. */
    struct {
        raft_id id;
        uint64_t ms;
    } heard[RSM_MAX_AGENTS];
#endif
    uv_timer_t poll;
    uv_timer_t stop_timer;
    unsigned handles_open;

    /* What the last poll saw. */
    int state_seen;
    raft_term term_seen;
    raft_id leader_seen;
    raft_index conf_seen, conf_uncommitted_seen, snap_seen;
    bool restored; /* a snapshot was restored since the last poll */
    bool ready;    /* leader and the barrier applied */
    bool barrier_inflight;
    uint64_t leader_changes;

    /* Data disk below RSM_DATADIR_MIN_FREE: no proposals, and a leader
     * hands leadership over (disk_transfer, kept like transfer below). */
    bool disk_low, disk_transfer_busy;
    uint64_t disk_checked_ms;   /* uv_now of the last look */
    raft_term disk_skip_logged; /* term of the last "nobody to hand to" */
    struct raft_transfer disk_transfer;

    /* Stopping. The transfer request stays here until raft is closed:
     * raft 0.15 may touch it after its callback. */
    struct raft_transfer transfer;
    bool stopping, closing;
    rsm_node_stop_cb stop_cb;
    void *stop_arg;
};

static void emit(struct rsm_node *n, enum rsm_node_event ev,
                 const struct rsm_entry *e, int status)
{
    if (n->obs.on_event != NULL && !n->closing)
        n->obs.on_event(n->obs.arg, ev, e, status);
}

static const char *state_name(int state)
{
    switch (state) {
    case RAFT_LEADER:
        return "leader";
    case RAFT_FOLLOWER:
        return "follower";
    case RAFT_CANDIDATE:
        return "candidate";
    default:
        return "unavailable";
    }
}

/* RSM_E* for a raft error code. */
static int map_raft_error(int rv)
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

/* Members of the current (possibly uncommitted) configuration. */
static unsigned config_members(const struct rsm_node *n, struct rsm_member *out,
                               unsigned max)
{
    const struct raft_configuration *c = &n->raft.configuration;
    unsigned k = 0;

    for (unsigned i = 0; i < c->n && k < max; i++) {
        struct rsm_member m;

        memset(&m, 0, sizeof m);
        if (rsm_node_parse_member_addr(c->servers[i].address, n->cfg.api_port,
                                       &m, NULL, 0) != 0)
            continue; /* not one of ours; never written by this agent */
        m.id = c->servers[i].id;
        m.voter = c->servers[i].role == RAFT_VOTER;
        out[k++] = m;
    }
    return k;
}

/* ---------------------------------------------------------------------------
 * Watching raft (poll)
 * ------------------------------------------------------------------------- */

static void barrier_done(struct raft_barrier *req, int status);

struct barrier {
    struct raft_barrier req;
    struct rsm_node *n;
    raft_term term;
    uint64_t started_ns;
};

/* A new leader commits a barrier before it says it is ready. */
static void start_barrier(struct rsm_node *n)
{
    struct barrier *b = calloc(1, sizeof *b);
    int rv;

    if (b == NULL)
        return; /* retried on the next poll */
    b->n = n;
    b->term = n->raft.current_term;
    b->started_ns = uv_hrtime();
    b->req.data = b;
    rv = raft_barrier(&n->raft, &b->req, barrier_done);
    if (rv != 0) {
        rsm_log(RSM_LOG_WARN, "leader-barrier-failed", "term=%llu error=%s",
                (unsigned long long)b->term, raft_strerror(rv));
        free(b);
        return;
    }
    n->barrier_inflight = true;
}

static void barrier_done(struct raft_barrier *req, int status)
{
    struct barrier *b = req->data;
    struct rsm_node *n = b->n;
    double ms = (double)(uv_hrtime() - b->started_ns) / 1e6;

    n->barrier_inflight = false;
    if (n->closing) {
        free(b);
        return;
    }
    if (status != 0) {
        rsm_log(RSM_LOG_WARN, "leader-barrier-failed", "term=%llu error=%s",
                (unsigned long long)b->term, raft_strerror(status));
    } else if (n->raft.state == RAFT_LEADER &&
               n->raft.current_term == b->term && !n->ready) {
        n->ready = true;
        rsm_log(RSM_LOG_INFO, "leader-ready",
                "term=%llu barrier_ms=%.1f applied=%llu",
                (unsigned long long)b->term, ms,
                (unsigned long long)n->raft.last_applied);
        emit(n, RSM_NODE_BECAME_LEADER, NULL, 0);
    }
    free(b);
}

static void log_members(struct rsm_node *n, const char *event, bool committed)
{
    struct rsm_member ms[RSM_MAX_AGENTS];
    unsigned k = config_members(n, ms, RSM_MAX_AGENTS);
    char list[RSM_MAX_AGENTS * (MEMBER_STRLEN + 32)] = "", addr[MEMBER_STRLEN];
    size_t o = 0;

    for (unsigned i = 0; i < k && o < sizeof list; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%llu:%s:%s",
                              i ? "," : "", (unsigned long long)ms[i].id,
                              rsm_node_format_member(&ms[i], addr, sizeof addr),
                              ms[i].voter ? "voter" : "non-voter");
    rsm_log(RSM_LOG_INFO, event, "index=%llu committed=%s members=%s",
            (unsigned long long)(committed
                                     ? rsm_raft_conf_committed_index(&n->raft)
                                     : n->raft.configuration_uncommitted_index),
            committed ? "true" : "false", *list ? list : "none");
}

static void watch_state(struct rsm_node *n)
{
    int st = n->raft.state;
    raft_term term = n->raft.current_term;
    bool was_leader = n->state_seen == RAFT_LEADER;

    if (st == n->state_seen && (st != RAFT_LEADER || term == n->term_seen)) {
        n->term_seen = term;
        return;
    }
    if (was_leader) {
        rsm_log(RSM_LOG_INFO, "lost-leadership", "term=%llu new_term=%llu",
                (unsigned long long)n->term_seen, (unsigned long long)term);
        n->ready = false;
        emit(n, RSM_NODE_LOST_LEADERSHIP, NULL, 0);
    }
    switch (st) {
    case RAFT_LEADER:
        n->ready = false;
        rsm_log(RSM_LOG_INFO, "became-leader", "term=%llu",
                (unsigned long long)term);
        break;
    case RAFT_FOLLOWER:
        rsm_log(RSM_LOG_INFO, "became-follower", "term=%llu",
                (unsigned long long)term);
        break;
    case RAFT_CANDIDATE:
        rsm_log(RSM_LOG_DEBUG, "became-candidate", "term=%llu",
                (unsigned long long)term);
        break;
    default:
        rsm_log(RSM_LOG_WARN, "raft-unavailable", "term=%llu",
                (unsigned long long)term);
        break;
    }
    n->state_seen = st;
    n->term_seen = term;
}

static void watch_leader(struct rsm_node *n)
{
    raft_id id;
    const char *addr;

    raft_leader(&n->raft, &id, &addr);
    if (id == n->leader_seen)
        return;
    n->leader_seen = id;
    if (id == 0) {
        rsm_log(RSM_LOG_DEBUG, "leader-unknown", "term=%llu",
                (unsigned long long)n->raft.current_term);
        return;
    }
    n->leader_changes++;
    rsm_log(RSM_LOG_INFO, "leader-changed", "leader=%llu addr=%s term=%llu",
            (unsigned long long)id, addr ? addr : "?",
            (unsigned long long)n->raft.current_term);
    emit(n, RSM_NODE_LEADER_CHANGED, NULL, 0);
}

static void watch_log(struct rsm_node *n)
{
    const struct raft *r = &n->raft;

    if (rsm_raft_conf_committed_index(r) != n->conf_seen) {
        n->conf_seen = rsm_raft_conf_committed_index(r);
        log_members(n, "membership", true);
    }
    if (r->configuration_uncommitted_index != n->conf_uncommitted_seen) {
        n->conf_uncommitted_seen = r->configuration_uncommitted_index;
        if (r->configuration_uncommitted_index != 0)
            log_members(n, "membership-change", false);
    }
    if (rsm_raft_snapshot_index(r) != n->snap_seen) {
        n->snap_seen = rsm_raft_snapshot_index(r);
        /* raft_fsm.c logs the snapshot itself; this is where it sits in
         * the log, once stored (taken) or installed (restored). */
        rsm_log(RSM_LOG_INFO,
                n->restored ? "snapshot-installed" : "snapshot-stored",
                "index=%llu term=%llu", (unsigned long long)n->snap_seen,
                (unsigned long long)rsm_raft_snapshot_term(r));
        n->restored = false;
    }
}

static raft_id transfer_target(struct rsm_node *n);

static void disk_transfer_done(struct raft_transfer *req)
{
    struct rsm_node *n = container_of(req, struct rsm_node, disk_transfer);

    n->disk_transfer_busy = false;
}

/* A leader short of disk hands leadership to the voter most caught up. */
static void step_aside(struct rsm_node *n)
{
    raft_id target;
    int rv;

    if (n->disk_transfer_busy)
        return;
    target = transfer_target(n);
    if (target == 0) {
        if (n->disk_skip_logged != n->raft.current_term)
            rsm_log(RSM_LOG_ERROR, "leadership-transfer-skipped",
                    "reason=no-reachable-voter cause=data-disk-low "
                    "term=%llu detail=\"leading without deciding\"",
                    (unsigned long long)n->raft.current_term);
        n->disk_skip_logged = n->raft.current_term;
        return;
    }
    memset(&n->disk_transfer, 0, sizeof n->disk_transfer);
    rv = raft_transfer(&n->raft, &n->disk_transfer, target, disk_transfer_done);
    if (rv != 0) {
        rsm_log(RSM_LOG_WARN, "leadership-transfer-failed",
                "cause=data-disk-low error=%s", raft_strerror(rv));
        return;
    }
    n->disk_transfer_busy = true;
    rsm_log(RSM_LOG_WARN, "leadership-transfer",
            "to=%llu term=%llu cause=data-disk-low", (unsigned long long)target,
            (unsigned long long)n->raft.current_term);
}

/* libraft 0.15 keeps leading on a full disk and then crashes on a write it
 * could not make: below RSM_DATADIR_MIN_FREE free bytes this node proposes
 * nothing (rsm_node_propose fails) and, when it leads, steps aside. */
static void watch_disk(struct rsm_node *n)
{
    int64_t room;
    bool low;

    if (uv_now(n->loop) - n->disk_checked_ms < DISK_CHECK_MS)
        return;
    n->disk_checked_ms = uv_now(n->loop);
    room = rsm_datadir_free_bytes(n->data_dir);
    low = room >= 0 && room < RSM_DATADIR_MIN_FREE;
    if (low != n->disk_low) {
        n->disk_low = low;
        rsm_log(low ? RSM_LOG_ERROR : RSM_LOG_INFO,
                low ? "data-disk-low" : "data-disk-ok",
                "free_bytes=%lld min_bytes=%d data_dir=%s%s", (long long)room,
                RSM_DATADIR_MIN_FREE, n->data_dir,
                low ? " detail=\"no proposals, leadership handed over\"" : "");
    }
    if (low && n->raft.state == RAFT_LEADER && !n->stopping)
        step_aside(n);
}

static bool needs_barrier(const struct rsm_node *n)
{
    return n->raft.state == RAFT_LEADER && !n->ready && !n->barrier_inflight &&
           !n->stopping;
}

static void poll_cb(uv_timer_t *t)
{
    struct rsm_node *n = t->data;

    if (n->closing)
        return;
    watch_state(n); /* observers run from here: check closing again */
    if (!n->closing)
        watch_leader(n);
    if (!n->closing)
        watch_log(n);
    if (!n->closing)
        watch_disk(n);
    if (!n->closing && needs_barrier(n))
        start_barrier(n);
}

/* Cheap: did anything poll_cb looks at change since it last ran? */
static bool changed(struct rsm_node *n)
{
    const struct raft *r = &n->raft;
    raft_id id;
    const char *addr;

    if (r->state != n->state_seen || r->current_term != n->term_seen ||
        rsm_raft_conf_committed_index(r) != n->conf_seen ||
        r->configuration_uncommitted_index != n->conf_uncommitted_seen ||
        rsm_raft_snapshot_index(r) != n->snap_seen || needs_barrier(n))
        return true;
    raft_leader(&n->raft, &id, &addr);
    return id != n->leader_seen;
}

/* After raft handled a tick or a message: run poll_cb on the next loop
 * turn if something changed. */
static void kick(struct rsm_node *n)
{
    if (!n->closing && changed(n))
        uv_timer_start(&n->poll, poll_cb, 0, POLL_MS);
}

static void io_tick(struct raft_io *io)
{
    struct rsm_node *n = container_of(io, struct rsm_node, io);

    n->tick_ms = uv_now(n->loop);
    n->raft_tick(io);
    kick(n);
}

uint64_t rsm_node_tick_ms(const struct rsm_node *n)
{
    return n->tick_ms;
}

uint64_t rsm_node_tick_period_ms(const struct rsm_node *n)
{
    return n->tick_period_ms;
}

#if RSM_RAFT_015
/* Two bugs of raft 0.15 followers, fixed where messages pass through.
 *
 * A follower whose log ends with entries a deposed leader appended but
 * never committed ("stale" entries) answers an AppendEntries that matches
 * at prev_log_index with
 *  1. last_log_index = its last stored index, stale entries included. The
 *     leader takes that as the follower's match index: it counts the
 *     follower as holding entries it does not have (commits without a real
 *     majority) and, once in pipeline mode, ignores the follower's
 *     rejections forever, so the follower never catches up;
 *  2. commit_index = min(leader_commit, last stored index): it may apply a
 *     stale entry the leader overwrote.
 * Raft's rule is "index of last new entry": prev_log_index + n_entries. So
 * leader_commit is capped at it before raft sees the message, and a
 * success result sent while raft handles that message (the synchronous
 * path; results sent later, after new entries were stored, end at the
 * leader's entries) reports at most it. */
static void io_recv(struct raft_io *io, struct raft_message *msg)
{
    struct rsm_node *n = container_of(io, struct rsm_node, io);
    struct raft_append_entries *ae = &msg->append_entries;
    bool append = msg->type == RAFT_IO_APPEND_ENTRIES;

    if (append) {
        n->append_end = ae->prev_log_index + ae->n_entries;
        if (ae->leader_commit > n->append_end)
            ae->leader_commit = n->append_end;
        n->in_append = true;
    }
    n->raft_recv(io, msg);
    n->in_append = false;
    kick(n);
}

static int io_send(struct raft_io *io, struct raft_io_send *req,
                   const struct raft_message *msg, raft_io_send_cb cb)
{
    struct rsm_node *n = container_of(io, struct rsm_node, io);
    struct raft_message fixed;

    if (n->in_append && msg->type == RAFT_IO_APPEND_ENTRIES_RESULT &&
        msg->append_entries_result.rejected == 0 &&
        msg->append_entries_result.last_log_index > n->append_end) {
        /* raft_uv encodes the message before send() returns. */
        fixed = *msg;
        fixed.append_entries_result.last_log_index = n->append_end;
        return n->io_send(io, req, &fixed, cb);
    }
    return n->io_send(io, req, msg, cb);
}
#else
/* Note that id just spoke (a slot of its own, else the stalest one). */
static void heard_from(struct rsm_node *n, raft_id id)
{
    unsigned slot = 0;

    for (unsigned i = 0; i < RSM_MAX_AGENTS; i++) {
        if (n->heard[i].id == id) {
            slot = i;
            break;
        }
        if (n->heard[i].ms < n->heard[slot].ms)
            slot = i;
    }
    n->heard[slot].id = id;
    n->heard[slot].ms = uv_now(n->loop);
}

/* Whether id spoke within the last election timeout. */
static bool heard_recently(const struct rsm_node *n, raft_id id)
{
    for (unsigned i = 0; i < RSM_MAX_AGENTS; i++)
        if (n->heard[i].id == id)
            return uv_now(n->loop) - n->heard[i].ms <
                   n->cfg.election_timeout_ms;
    return false;
}

/* 0.22 follows Raft's rule on both points of the 0.15 workaround above
 * (replicationAppend: commit index min(leader_commit, prev_log_index +
 * n_entries); a success reports prev_log_index + n_entries, at most what
 * is stored): messages only pass through, noting who sent them. */
static void io_recv(struct raft_io *io, struct raft_message *msg)
{
    struct rsm_node *n = container_of(io, struct rsm_node, io);

    heard_from(n, msg->server_id);
    n->raft_recv(io, msg);
    kick(n);
}
#endif

static int io_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
                    raft_io_recv_cb recv)
{
    struct rsm_node *n = container_of(io, struct rsm_node, io);

    n->raft_tick = tick;
    n->raft_recv = recv;
    n->tick_period_ms = msecs;
    return n->io_start(io, msecs, io_tick, io_recv);
}

/* ---------------------------------------------------------------------------
 * The FSM: src/raft/raft_fsm.c drives our rsm_fsm and logs rejected entries
 * and snapshots; we pass its events on.
 * ------------------------------------------------------------------------- */

/* Every applied entry at debug level; a decision at info level, with its
 * old and new master, so that every agent's log records each decision it
 * applied (the chaos suite compares them across agents). */
static void log_applied(const struct rsm_entry *e)
{
    char old[RSM_ADDR_STRLEN], new[RSM_ADDR_STRLEN];
    char g[2 * RSM_GROUP_NAME_MAX + 8];

    if (e->kind != RSM_ENTRY_DECIDE_FAILOVER) {
        rsm_log(RSM_LOG_DEBUG, "entry-applied", "kind=%s epoch=%llu",
                rsm_entry_kind_str(e->kind), (unsigned long long)e->epoch);
        return;
    }
    rsm_log(RSM_LOG_INFO, "entry-applied",
            "kind=%s group=%s epoch=%llu old=%s new=%s",
            rsm_entry_kind_str(e->kind), rsm_log_quote(e->group, g, sizeof g),
            (unsigned long long)e->epoch,
            rsm_addr_format(&e->old_master, old, sizeof old),
            rsm_addr_format(&e->master, new, sizeof new));
}

/* The log carries the group's cluster id (AdvertiseAgent): take it, and
 * keep it in the data dir for the next start (the Raft handshake needs it
 * before the log is replayed). A different id in the data dir than in the
 * log means the dir was copied from another group: the log wins, loudly. */
static void sync_cluster_id(struct rsm_node *n)
{
    const char *id = n->state.cluster_id;
    char err[RSM_ERRMSG_SIZE];

    if (id[0] == '\0' || strcmp(id, n->cluster_id) == 0)
        return;
    if (n->cluster_id[0] != '\0')
        rsm_log(RSM_LOG_WARN, "cluster-id-changed", "from=%s to=%s data_dir=%s",
                n->cluster_id, id, n->data_dir);
    else
        rsm_log(RSM_LOG_INFO, "cluster-id-adopted", "cluster_id=%s", id);
    memcpy(n->cluster_id, id, sizeof n->cluster_id);
    if (rsm_datadir_write_cluster_id(n->data_dir, id, err, sizeof err) != 0)
        rsm_log(RSM_LOG_ERROR, "cluster-id-not-stored", "error=\"%s\"", err);
}

static void on_fsm_event(void *arg, const struct rsm_raft_fsm_event *ev)
{
    struct rsm_node *n = arg;

    switch (ev->type) {
    case RSM_RAFT_FSM_APPLIED:
        log_applied(ev->entry);
        sync_cluster_id(n);
        emit(n, RSM_NODE_APPLIED, ev->entry, ev->rc);
        break;
    case RSM_RAFT_FSM_REJECTED: /* logged by raft_fsm.c */
        emit(n, RSM_NODE_APPLIED, ev->entry, ev->rc);
        break;
    case RSM_RAFT_FSM_RESTORED:
        n->restored = true;
        sync_cluster_id(n);
        break;
    default:
        break;
    }
}

static int fsm_setup(struct rsm_node *n, char *errmsg, size_t errlen)
{
    int rv;

    rsm_fsm_init(&n->state);
    rv = rsm_raft_fsm_init(&n->fsm, &n->state, on_fsm_event, n);
    if (rv != 0) {
        rsm_fsm_close(&n->state);
        return rsm_errf(rv, errmsg, errlen, "fsm: %s", rsm_strerror(rv));
    }
    return 0;
}

static void fsm_teardown(struct rsm_node *n)
{
    rsm_raft_fsm_close(&n->fsm);
    rsm_fsm_close(&n->state);
}

/* ---------------------------------------------------------------------------
 * Start
 * ------------------------------------------------------------------------- */

static const struct rsm_member *self_member(const struct rsm_node_config *cfg)
{
    for (unsigned i = 0; i < cfg->n_peers; i++) {
        if (cfg->peers[i].id == cfg->id)
            return &cfg->peers[i];
    }
    return NULL;
}

static int check_config(const struct rsm_node_config *cfg, char *errmsg,
                        size_t errlen)
{
    if (cfg->id == 0)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "id must be > 0");
    if (self_member(cfg) == NULL)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "id %llu is not in peers",
                        (unsigned long long)cfg->id);
    if (cfg->data_dir == NULL || *cfg->data_dir == '\0')
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "no data dir");
    if (cfg->heartbeat_timeout_ms == 0 ||
        cfg->heartbeat_timeout_ms >= cfg->election_timeout_ms)
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        "heartbeat timeout must be > 0 and below the "
                        "election timeout");
    return 0;
}

/* Write the configured voters as the first configuration, on an empty data
 * dir only. 0 also when the dir already holds a log (a restart). */
static int bootstrap(struct rsm_node *n, char *errmsg, size_t errlen)
{
    struct raft_configuration conf;
    char addr[MEMBER_STRLEN];
    int rv = 0;

    raft_configuration_init(&conf);
    for (unsigned i = 0; i < n->cfg.n_peers && rv == 0; i++)
        rv = raft_configuration_add(
            &conf, n->cfg.peers[i].id,
            rsm_node_format_member(&n->cfg.peers[i], addr, sizeof addr),
            RAFT_VOTER);
    if (rv == 0)
        rv = raft_bootstrap(&n->raft, &conf);
    raft_configuration_close(&conf);
    if (rv == RAFT_CANTBOOTSTRAP) {
        rsm_log(RSM_LOG_INFO, "raft-restart", "data_dir=%s", n->data_dir);
        return 0;
    }
    if (rv != 0)
        return rsm_errf(RSM_ERAFT, errmsg, errlen, "raft_bootstrap: %s (%s)",
                        raft_strerror(rv), raft_errmsg(&n->raft));
    rsm_log(RSM_LOG_INFO, "raft-bootstrap", "voters=%u data_dir=%s",
            n->cfg.n_peers, n->data_dir);
    return 0;
}

static void raft_closed(struct raft *r);

#if RSM_RAFT_015
/* The entry at index of the in-memory log, or NULL. */
static const struct raft_entry *log_entry(const struct raft_log *l,
                                          raft_index index)
{
    size_t n =
        l->back >= l->front ? l->back - l->front : l->size - l->front + l->back;

    if (index <= l->offset || index > l->offset + n)
        return NULL;
    return &l->entries[(l->front + (index - l->offset - 1)) % l->size];
}

/* raft 0.15 loads the last configuration entry of the log as committed,
 * even one a deposed leader appended and never replicated. A new leader's
 * entries then replace it in the log, but this agent keeps using it (a
 * member that was never added, or one that was never removed). Mark it
 * uncommitted, as raft does for one received from a leader, so that raft
 * rolls it back when it is truncated and commits it when it is applied:
 * only when it lies beyond the snapshot (nothing past the snapshot is known
 * committed at start-up) and the configuration before it (committed: raft
 * appends a change only once the previous one committed) is still in the
 * in-memory log, which raft's rollback reads. */
static void mark_loaded_configuration(struct rsm_node *n)
{
    struct raft *r = &n->raft;
    raft_index last = r->configuration_index;

    if (r->configuration_uncommitted_index != 0 || last <= r->commit_index ||
        last <= r->log.snapshot.last_index)
        return;
    for (raft_index i = last - 1; i > 0; i--) {
        const struct raft_entry *e = log_entry(&r->log, i);

        if (e == NULL)
            break;
        if (e->type == RAFT_CHANGE) {
            r->configuration_uncommitted_index = last;
            r->configuration_index = i;
            rsm_log(RSM_LOG_INFO, "membership-loaded",
                    "index=%llu committed=unknown previous=%llu",
                    (unsigned long long)last, (unsigned long long)i);
            return;
        }
    }
}
#else
/* 0.22 loads a configuration entry past index 1 as uncommitted itself,
 * with the one before it (or the snapshot's) as the committed one
 * (RestoreEntries). */
static void mark_loaded_configuration(struct rsm_node *n)
{
    (void)n;
}
#endif

/* raft_init succeeded: the rest of start, whose failures need raft_close. */
static void log_set_aside(void *arg, const char *name)
{
    struct rsm_node *n = arg;

    rsm_log(RSM_LOG_WARN, "data-file-set-aside",
            "data_dir=%s file=%s detail=\"damaged: libraft renamed it; its "
            "entries come again from the leader\"",
            n->data_dir, name);
}

static int64_t wall_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* raft_start failed: its message, naming the snapshot when it does not
 * name a file (its LZ4 errors do not). */
static int start_failed(struct rsm_node *n, int rv, char *errmsg, size_t errlen)
{
    const char *why = n->transport.errmsg[0]     ? n->transport.errmsg
                      : raft_errmsg(&n->raft)[0] ? raft_errmsg(&n->raft)
                                                 : n->io.errmsg;
    char snap[256];

    rsm_datadir_newest_snapshot(n->data_dir, snap, sizeof snap);
    if (snap[0] != '\0' && strstr(why, "segment") == NULL &&
        strstr(why, "snapshot-") == NULL && strstr(why, "metadata") == NULL)
        return rsm_errf(RSM_ERAFT, errmsg, errlen,
                        "raft_start: %s (%s) loading %s/%s", raft_strerror(rv),
                        why, n->data_dir, snap);
    return rsm_errf(RSM_ERAFT, errmsg, errlen, "raft_start: %s (%s)",
                    raft_strerror(rv), why);
}

static int start_raft(struct rsm_node *n, char *errmsg, size_t errlen)
{
    int64_t since;
    int rv;

    /* What libraft 0.15 would hang or crash on (datadir.h). */
    rv = rsm_datadir_check(n->data_dir, errmsg, errlen);
    if (rv != 0)
        return rv;

    raft_set_election_timeout(&n->raft, n->cfg.election_timeout_ms);
    raft_set_heartbeat_timeout(&n->raft, n->cfg.heartbeat_timeout_ms);
    raft_set_snapshot_threshold(&n->raft, n->cfg.snapshot_threshold);
    raft_set_pre_vote(&n->raft, true);
#if !RSM_RAFT_015
    /* 0.22 refuses new entries (RAFT_NOSPACE) while a majority has fewer
     * KB of prepared log segments than this. Its 4 MB default is a quarter
     * of the two 8 MiB segments raft_uv keeps prepared, more than our two
     * SEGMENT_SIZE ones ever hold: the same quarter of ours. */
    raft_set_capacity_threshold(&n->raft, SEGMENT_SIZE / 2 / 1024);
#endif
    if (!n->cfg.join) {
        rv = bootstrap(n, errmsg, errlen);
        if (rv != 0)
            return rv;
    }
    since = wall_ns();
    rv = raft_start(&n->raft);
    if (rv != 0)
        return start_failed(n, rv, errmsg, errlen);
    rsm_datadir_set_aside(n->data_dir, since, log_set_aside, n);
    mark_loaded_configuration(n);
    rv = uv_timer_start(&n->poll, poll_cb, 0, POLL_MS);
    if (rv != 0)
        return rsm_errf(RSM_EIO, errmsg, errlen, "poll timer: %s",
                        uv_strerror(rv));
    return 0;
}

static const char *transport_cluster_id(void *arg)
{
    return rsm_node_cluster_id(arg);
}

/* The transport, with the handshake if the group has a secret (the
 * transport keeps its own copy: the config's pointer is dropped). */
static int init_transport(struct rsm_node *n, char *errmsg, size_t errlen)
{
    struct rsm_transport_auth auth = {
        .secret = n->cfg.cluster_secret,
        .secret_len = n->cfg.cluster_secret_len,
        .self_id = n->cfg.id,
        .cluster_id = transport_cluster_id,
        .arg = n,
    };
    int rv;

    rv = rsm_transport_init(&n->transport, n->loop, &n->cfg.raft_bind, &auth,
                            errmsg, errlen);
    n->cfg.cluster_secret = NULL;
    n->cfg.cluster_secret_len = 0;
    return rv;
}

/* Before raft_init: lock, fsm, transport, raft_uv. Undone synchronously on
 * error. */
static int start_io(struct rsm_node *n, char *errmsg, size_t errlen)
{
    int rv;

    rv = make_dir(n->data_dir, errmsg, errlen);
    if (rv != 0)
        return rv;
    rv = lock_dir(n->data_dir, &n->lock_fd, errmsg, errlen);
    if (rv != 0)
        return rv;
    rv = rsm_datadir_read_cluster_id(n->data_dir, n->cluster_id,
                                     sizeof n->cluster_id, errmsg, errlen);
    if (rv == RSM_ENOTFOUND)
        rv = 0;
    if (rv != 0)
        goto err_after_lock;
    rv = fsm_setup(n, errmsg, errlen);
    if (rv != 0)
        goto err_after_lock;
    rv = init_transport(n, errmsg, errlen);
    if (rv != 0)
        goto err_after_fsm;
    rv = raft_uv_init(&n->io, n->loop, n->data_dir, &n->transport);
    if (rv != 0) {
        rv = rsm_errf(RSM_ERAFT, errmsg, errlen, "raft_uv_init %s: %s (%s)",
                      n->data_dir, raft_strerror(rv), n->io.errmsg);
        goto err_after_transport;
    }
    raft_uv_set_segment_size(&n->io, SEGMENT_SIZE);
    n->io_start = n->io.start;
    n->io.start = io_start;
#if RSM_RAFT_015
    n->io_send = n->io.send;
    n->io.send = io_send;
#endif
    rv = raft_init(&n->raft, &n->io, &n->fsm, n->cfg.id, n->self_addr);
    if (rv != 0) {
        rv = rsm_errf(RSM_ERAFT, errmsg, errlen, "raft_init: %s (%s)",
                      raft_strerror(rv), raft_errmsg(&n->raft));
        goto err_after_raft_uv;
    }
    return 0;

err_after_raft_uv:
    raft_uv_close(&n->io);
err_after_transport:
    rsm_transport_destroy(&n->transport);
err_after_fsm:
    fsm_teardown(n);
err_after_lock:
    close(n->lock_fd);
    n->lock_fd = -1;
    return rv;
}

int rsm_node_start(uv_loop_t *loop, const struct rsm_node_config *cfg,
                   const struct rsm_node_observer *obs, struct rsm_node **out,
                   char *errmsg, size_t errlen)
{
    struct rsm_node *n;
    int rv;

    *out = NULL;
    rv = check_config(cfg, errmsg, errlen);
    if (rv != 0)
        return rv;
    n = calloc(1, sizeof *n);
    if (n == NULL)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "node: no memory");
    n->loop = loop;
    n->cfg = *cfg;
    n->data_dir = strdup(cfg->data_dir);
    n->cfg.data_dir = n->data_dir;
    n->lock_fd = -1;
    n->state_seen = RAFT_UNAVAILABLE;
    if (obs != NULL)
        n->obs = *obs;
    rsm_node_format_member(self_member(cfg), n->self_addr, sizeof n->self_addr);
    if (n->data_dir == NULL) {
        free(n);
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "node: no memory");
    }
    rv = start_io(n, errmsg, errlen);
    if (rv != 0) {
        free(n->data_dir);
        free(n);
        return rv;
    }
    /* From here on the node is freed by raft_closed(). */
    uv_timer_init(loop, &n->poll);
    uv_timer_init(loop, &n->stop_timer);
    n->poll.data = n;
    n->stop_timer.data = n;
    n->handles_open = 2;
    rv = start_raft(n, errmsg, errlen);
    if (rv != 0) {
        n->stopping = n->closing = true;
        raft_close(&n->raft, raft_closed);
        return rv;
    }
    rsm_log(RSM_LOG_INFO, "node-started", "id=%llu addr=%s data_dir=%s",
            (unsigned long long)cfg->id, n->self_addr, n->data_dir);
    *out = n;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Stop
 * ------------------------------------------------------------------------- */

static void handle_closed(uv_handle_t *h)
{
    struct rsm_node *n = h->data;
    rsm_node_stop_cb cb;
    void *arg;

    if (--n->handles_open > 0)
        return;
    cb = n->stop_cb;
    arg = n->stop_arg;
    if (n->lock_fd >= 0)
        close(n->lock_fd); /* releases the flock */
    rsm_log(RSM_LOG_INFO, "node-stopped", "id=%llu",
            (unsigned long long)n->cfg.id);
    free(n->data_dir);
    free(n);
    if (cb != NULL)
        cb(arg);
}

static void raft_closed(struct raft *r)
{
    struct rsm_node *n = container_of(r, struct rsm_node, raft);

    raft_uv_close(&n->io);
    rsm_transport_destroy(&n->transport);
    fsm_teardown(n);
    uv_close((uv_handle_t *)&n->poll, handle_closed);
    uv_close((uv_handle_t *)&n->stop_timer, handle_closed);
}

static void begin_close(struct rsm_node *n)
{
    if (n->closing)
        return;
    n->closing = true;
    n->ready = false;
    uv_timer_stop(&n->poll);
    uv_timer_stop(&n->stop_timer);
    raft_close(&n->raft, raft_closed);
}

static void transfer_done(struct raft_transfer *req)
{
    struct rsm_node *n = container_of(req, struct rsm_node, transfer);
    raft_id id;
    const char *addr;

    if (n->closing)
        return;
    raft_leader(&n->raft, &id, &addr);
    rsm_log(id != 0 && id != n->cfg.id ? RSM_LOG_INFO : RSM_LOG_WARN,
            "leadership-transferred", "leader=%llu term=%llu",
            (unsigned long long)id, (unsigned long long)n->raft.current_term);
    begin_close(n);
}

static void stop_timeout(uv_timer_t *t)
{
    struct rsm_node *n = t->data;

    rsm_log(RSM_LOG_WARN, "leadership-transfer-timeout", "after_ms=%u",
            2 * n->cfg.election_timeout_ms);
    begin_close(n);
}

#if RSM_RAFT_015
/* The voter most likely to win at once: caught up furthest and heard from
 * within the last election timeout. 0 if none: nobody could take over. */
static raft_id transfer_target(struct rsm_node *n)
{
    const struct raft *r = &n->raft;
    raft_id best = 0;
    raft_index best_match = 0;

    for (unsigned i = 0; i < r->configuration.n; i++) {
        const struct raft_server *s = &r->configuration.servers[i];
        const struct raft_progress *p = &r->leader_state.progress[i];

        if (s->id == r->id || s->role != RAFT_VOTER || !p->recent_recv)
            continue;
        if (best == 0 || p->match_index > best_match) {
            best = s->id;
            best_match = p->match_index;
        }
    }
    return best;
}
#else
/* The same choice on 0.22, which shows a follower's match index
 * (raft_match_index) but not when it last answered: heard_recently. */
static raft_id transfer_target(struct rsm_node *n)
{
    const struct raft *r = &n->raft;
    raft_id best = 0;
    raft_index best_match = 0, match;

    for (unsigned i = 0; i < r->configuration.n; i++) {
        const struct raft_server *s = &r->configuration.servers[i];

        if (s->id == r->id || s->role != RAFT_VOTER ||
            !heard_recently(n, s->id) ||
            raft_match_index(r, s->id, &match) != 0)
            continue;
        if (best == 0 || match > best_match) {
            best = s->id;
            best_match = match;
        }
    }
    return best;
}
#endif

static unsigned other_voters(const struct rsm_node *n)
{
    const struct raft_configuration *c = &n->raft.configuration;
    unsigned k = 0;

    for (unsigned i = 0; i < c->n; i++)
        if (c->servers[i].id != n->raft.id && c->servers[i].role == RAFT_VOTER)
            k++;
    return k;
}

/* The stop itself, on a loop turn of its own: rsm_node_stop() may be called
 * from an observer callback, i.e. from inside raft. */
static void stop_begin(uv_timer_t *t)
{
    struct rsm_node *n = t->data;
    raft_id target;
    int rv;

    if (n->raft.state != RAFT_LEADER) {
        begin_close(n);
        return;
    }
    target = transfer_target(n);
    if (target == 0) {
        bool alone = other_voters(n) == 0;

        rsm_log(alone ? RSM_LOG_INFO : RSM_LOG_WARN,
                "leadership-transfer-skipped", "reason=%s term=%llu",
                alone ? "no-other-voter" : "no-reachable-voter",
                (unsigned long long)n->raft.current_term);
        begin_close(n);
        return;
    }
    memset(&n->transfer, 0, sizeof n->transfer);
    rv = raft_transfer(&n->raft, &n->transfer, target, transfer_done);
    if (rv != 0) {
        rsm_log(RSM_LOG_WARN, "leadership-transfer-failed", "error=%s",
                raft_strerror(rv));
        begin_close(n);
        return;
    }
    rsm_log(RSM_LOG_INFO, "leadership-transfer", "to=%llu term=%llu",
            (unsigned long long)n->transfer.id,
            (unsigned long long)n->raft.current_term);
    uv_timer_start(&n->stop_timer, stop_timeout,
                   2 * (uint64_t)n->cfg.election_timeout_ms, 0);
}

void rsm_node_stop(struct rsm_node *n, rsm_node_stop_cb cb, void *arg)
{
    if (n->stopping)
        return;
    n->stopping = true;
    n->stop_cb = cb;
    n->stop_arg = arg;
    uv_timer_start(&n->stop_timer, stop_begin, 0, 0);
}

/* ---------------------------------------------------------------------------
 * Status
 * ------------------------------------------------------------------------- */

/* The addresses m advertised through the log replace the configured or
 * guessed ones. */
static void use_advertised(const struct rsm_node *n, struct rsm_member *m)
{
    const struct rsm_agent_info *a = rsm_fsm_agent(&n->state, m->id);

    if (a == NULL)
        return;
    m->api = a->api;
    m->http = a->http;
    m->advertised = true;
}

void rsm_node_get_status(const struct rsm_node *n, struct rsm_node_status *out)
{
    struct raft *r = (struct raft *)&n->raft;
    raft_id lid;
    const char *laddr;

    memset(out, 0, sizeof *out);
    out->id = n->cfg.id;
    out->state = n->closing ? "unavailable" : state_name(r->state);
    out->term = r->current_term;
    out->commit_index = r->commit_index;
    out->applied_index = raft_last_applied(r);
    out->last_index = raft_last_index(r);
    out->leader_changes = n->leader_changes;
    out->n_members = config_members(n, out->members, RSM_MAX_AGENTS);
    for (unsigned i = 0; i < out->n_members; i++)
        use_advertised(n, &out->members[i]);
    raft_leader(r, &lid, &laddr);
    if (lid == 0 || n->closing)
        return;
    for (unsigned i = 0; i < out->n_members; i++) {
        if (out->members[i].id == lid) {
            out->has_leader = true;
            out->leader = out->members[i];
            return;
        }
    }
    if (laddr != NULL &&
        rsm_node_parse_member_addr(laddr, n->cfg.api_port, &out->leader, NULL,
                                   0) == 0) {
        out->has_leader = true;
        out->leader.id = lid;
        use_advertised(n, &out->leader);
    }
}

const char *rsm_node_cluster_id(const struct rsm_node *n)
{
    return n->cluster_id;
}

void rsm_node_transport_stats(const struct rsm_node *n,
                              struct rsm_transport_stats *out)
{
    rsm_transport_get_stats(&n->transport, out);
}

const struct rsm_fsm *rsm_node_fsm(const struct rsm_node *n)
{
    return &n->state;
}

bool rsm_node_is_leader(const struct rsm_node *n)
{
    return !n->closing && n->raft.state == RAFT_LEADER;
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
    *len = n + pad;
    return 0;
}

struct proposal {
    struct raft_apply req;
    struct rsm_node *n;
    rsm_node_done_cb cb;
    void *arg;
};

static void apply_done(struct raft_apply *req, int status, void *result)
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
        return RSM_EIO; /* logged by watch_disk */
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
    rv = raft_apply(&n->raft, &p->req, &buf, 1, apply_done);
    if (rv != 0) {
        /* The callback will not run and the buffer is still ours. */
        raft_free(buf.base);
        free(p);
        return map_raft_error(rv) == RSM_ENOTLEADER ? RSM_ENOTLEADER
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

static const char *op_name(enum change_op op)
{
    return op == OP_ADD ? "add" : op == OP_PROMOTE ? "promote" : "remove";
}

static void change_finish(struct change *c, int status)
{
    char msg[RSM_ERRMSG_SIZE] = "";

    if (status != 0)
        snprintf(msg, sizeof msg, "member %s %llu: %s", op_name(c->op),
                 (unsigned long long)c->id, raft_strerror(status));
    rsm_log(status ? RSM_LOG_WARN : RSM_LOG_INFO, "member-change-done",
            "op=%s id=%llu addr=%s status=%s", op_name(c->op),
            (unsigned long long)c->id, c->addr[0] ? c->addr : "-",
            status ? raft_strerror(status) : "ok");
    if (c->cb != NULL)
        c->cb(c->arg, map_raft_error(status), status ? msg : NULL);
    free(c);
}

static void change_done(struct raft_change *req, int status)
{
    struct change *c = req->data;
    int rv;

    if (status == 0 && c->op == OP_ADD && !c->n->closing) {
        /* Added as a spare: now make it a voter (raft catches it up). */
        c->op = OP_PROMOTE;
        rv = raft_assign(&c->n->raft, &c->assign, c->id, RAFT_VOTER,
                         change_done);
        if (rv == 0)
            return;
        status = rv;
    }
    change_finish(c, status);
}

static struct change *change_new(struct rsm_node *n, enum change_op op,
                                 raft_id id, rsm_node_done_cb cb, void *arg)
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
    c = change_new(n, OP_ADD, m->id, cb, arg);
    if (c == NULL)
        return RSM_ENOMEM;
    rsm_node_format_member(m, c->addr, sizeof c->addr);
    rv = raft_add(&n->raft, &c->add, m->id, c->addr, change_done);
    if (rv != 0) {
        free(c);
        return map_raft_error(rv);
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
    c = change_new(n, OP_REMOVE, id, cb, arg);
    if (c == NULL)
        return RSM_ENOMEM;
    rv = raft_remove(&n->raft, &c->remove, id, change_done);
    if (rv != 0) {
        free(c);
        return map_raft_error(rv);
    }
    rsm_log(RSM_LOG_INFO, "member-change", "op=remove id=%llu",
            (unsigned long long)id);
    return 0;
}
