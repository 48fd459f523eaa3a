/* node_start.c - starting the Raft node (rsm_node_start, node.h): the
 * data-dir lock, the checks of the data dir, the transport, raft_uv and
 * raft, the first configuration on an empty dir. */
#include "node_int.h"
#include "rsm/clock.h"
#include "rsm/datadir.h"
#include "rsm/err.h"
#include "rsm/log.h"
#include "raft_fsm.h"
#include "rsm/transport.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------
 * The data-dir lock
 * ------------------------------------------------------------------------- */

/* mkdir -p dir (mode 0700 for what we create). */
static int node__make_dir(const char *dir, char *errmsg, size_t errlen)
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
static long node__lock_holder(int fd)
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
static int node__lock_dir(const char *dir, int *fd_out, char *errmsg,
                          size_t errlen)
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
        long holder = node__lock_holder(fd);

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
 * Start
 * ------------------------------------------------------------------------- */

static const struct rsm_member *
node__self_member(const struct rsm_node_config *cfg)
{
    for (unsigned i = 0; i < cfg->n_peers; i++) {
        if (cfg->peers[i].id == cfg->id)
            return &cfg->peers[i];
    }
    return NULL;
}

static int node__check_config(const struct rsm_node_config *cfg, char *errmsg,
                              size_t errlen)
{
    if (cfg->id == 0)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "id must be > 0");
    if (node__self_member(cfg) == NULL)
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
static int node__bootstrap(struct rsm_node *n, char *errmsg, size_t errlen)
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

#if RSM_RAFT_015
/* The entry at index of the in-memory log, or NULL. */
static const struct raft_entry *node__log_entry(const struct raft_log *l,
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
static void node__mark_loaded_configuration(struct rsm_node *n)
{
    struct raft *r = &n->raft;
    raft_index last = r->configuration_index;

    if (r->configuration_uncommitted_index != 0 || last <= r->commit_index ||
        last <= r->log.snapshot.last_index)
        return;
    for (raft_index i = last - 1; i > 0; i--) {
        const struct raft_entry *e = node__log_entry(&r->log, i);

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
static void node__mark_loaded_configuration(struct rsm_node *n)
{
    (void)n;
}
#endif

/* raft_init succeeded: the rest of start, whose failures need raft_close. */
static void node__log_set_aside(void *arg, const char *name)
{
    struct rsm_node *n = arg;

    rsm_log(RSM_LOG_WARN, "data-file-set-aside",
            "data_dir=%s file=%s detail=\"damaged: libraft renamed it; its "
            "entries come again from the leader\"",
            n->data_dir, name);
}

/* raft_start failed: its message, naming the snapshot when it does not
 * name a file (its LZ4 errors do not). */
static int node__start_failed(struct rsm_node *n, int rv, char *errmsg,
                              size_t errlen)
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

static int node__start_raft(struct rsm_node *n, char *errmsg, size_t errlen)
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
        rv = node__bootstrap(n, errmsg, errlen);
        if (rv != 0)
            return rv;
    }
    since = rsm_clock_wall_ns();
    rv = raft_start(&n->raft);
    if (rv != 0)
        return node__start_failed(n, rv, errmsg, errlen);
    rsm_datadir_set_aside(n->data_dir, since, node__log_set_aside, n);
    node__mark_loaded_configuration(n);
    rv = uv_timer_start(&n->poll, node__poll_cb, 0, POLL_MS);
    if (rv != 0)
        return rsm_errf(RSM_EIO, errmsg, errlen, "poll timer: %s",
                        uv_strerror(rv));
    return 0;
}

static const char *node__transport_cluster_id(void *arg)
{
    return rsm_node_cluster_id(arg);
}

/* The transport, with the handshake if the group has a secret (the
 * transport keeps its own copy: the config's pointer is dropped). */
static int node__init_transport(struct rsm_node *n, char *errmsg, size_t errlen)
{
    struct rsm_transport_auth auth = {
        .secret = n->cfg.cluster_secret,
        .secret_len = n->cfg.cluster_secret_len,
        .tls_server = n->cfg.raft_tls_server,
        .tls_client = n->cfg.raft_tls_client,
        .self_id = n->cfg.id,
        .cluster_id = node__transport_cluster_id,
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
static int node__start_io(struct rsm_node *n, char *errmsg, size_t errlen)
{
    int rv;

    rv = node__make_dir(n->data_dir, errmsg, errlen);
    if (rv != 0)
        return rv;
    rv = node__lock_dir(n->data_dir, &n->lock_fd, errmsg, errlen);
    if (rv != 0)
        return rv;
    rv = rsm_datadir_read_cluster_id(n->data_dir, n->cluster_id,
                                     sizeof n->cluster_id, errmsg, errlen);
    if (rv == RSM_ENOTFOUND)
        rv = 0;
    if (rv != 0)
        goto err_after_lock;
    rv = node__fsm_setup(n, errmsg, errlen);
    if (rv != 0)
        goto err_after_lock;
    rv = node__init_transport(n, errmsg, errlen);
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
    n->io.start = node__io_start;
#if RSM_RAFT_015
    n->io_send = n->io.send;
    n->io.send = node__io_send;
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
    node__fsm_teardown(n);
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
    rv = node__check_config(cfg, errmsg, errlen);
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
    assert(node__self_member(cfg) != NULL); /* node__check_config */
    rsm_node_format_member(node__self_member(cfg), n->self_addr,
                           sizeof n->self_addr);
    if (n->data_dir == NULL) {
        free(n);
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "node: no memory");
    }
    rv = node__start_io(n, errmsg, errlen);
    if (rv != 0) {
        free(n->data_dir);
        free(n);
        return rv;
    }
    /* From here on the node is freed by node__raft_closed(). */
    uv_timer_init(loop, &n->poll);
    uv_timer_init(loop, &n->stop_timer);
    n->poll.data = n;
    n->stop_timer.data = n;
    n->handles_open = 2;
    rv = node__start_raft(n, errmsg, errlen);
    if (rv != 0) {
        n->stopping = n->closing = true;
        raft_close(&n->raft, node__raft_closed);
        return rv;
    }
    rsm_log(RSM_LOG_INFO, "node-started", "id=%llu addr=%s data_dir=%s",
            (unsigned long long)cfg->id, n->self_addr, n->data_dir);
    *out = n;
    return 0;
}
