/* fake_redis.c - many simulated Redis endpoints in one process, for the
 * scale benchmark (scripts/bench/scale.py). Not a Redis: it answers just
 * what a failover agent asks of an idle, healthy replication group.
 *
 *   cc -O2 -o fake_redis scripts/bench/fake_redis.c
 *   fake_redis N
 *
 * Listens on N kernel-assigned ports of 127.0.0.1 and prints them on one
 * line ("ports P1 P2 ..."). Ports are taken in groups of 3 (the last one
 * smaller): the first is a master, the others its replicas, online and
 * linked. Every port answers, over RESP2:
 *   PING                  +PONG
 *   INFO [section]        server, persistence, replication (or all three
 *                         with no section or "all"/"default"/"everything");
 *                         the master lists its replicas (slaveN: lines)
 *   SUBSCRIBE ch...       subscribes this connection on this port
 *   PUBLISH ch msg        delivers to this port's subscribers of ch
 *   anything else         +OK
 * which is what rsm-agent (INFO, PING) and redis-sentinel (PING, INFO,
 * SUBSCRIBE/PUBLISH __sentinel__:hello) need to watch a group.
 *
 * It measures the probe period seen from here: for every port, the time
 * between two INFO replication (or plain INFO) and between two PING, in a
 * histogram of 0.1 ms steps. Lines on stdin: "reset" clears them, "stats"
 * prints "info N P50 P99 MAX ping N P50 P99 MAX commands N" (ms). EOF on
 * stdin ends the process. One thread, epoll, level-triggered. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HIST_STEPS 300000 /* 0.1 ms steps: 30 s */
#define MAX_ARGS   16

enum kind { K_STDIN, K_LISTEN, K_CONN };

struct hist {
    uint32_t *steps;
    uint64_t n;
    double max_ms;
};

struct conn;

struct port {
    enum kind kind;
    int fd;
    int index;
    int64_t last_info_ns, last_ping_ns;
    char *info_repl, *info_server, *info_pers, *info_all; /* bulk replies */
    struct conn *subs;
};

struct conn {
    enum kind kind;
    int fd;
    struct port *port;
    char *rb, *wb;
    size_t rlen, rcap, wlen, wcap;
    bool want_out;
    char chan[4][64]; /* subscribed channels, "" free */
    struct conn *next_sub;
    bool subscribed;
};

static int ep;
static struct port *ports;
static int n_ports;
static struct hist h_info, h_ping;
static uint64_t n_commands;

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void hist_add(struct hist *h, int64_t *last, int64_t now)
{
    if (*last != 0) {
        double ms = (double)(now - *last) / 1e6;
        long step = (long)(ms * 10);
        if (step >= HIST_STEPS)
            step = HIST_STEPS - 1;
        h->steps[step]++;
        h->n++;
        if (ms > h->max_ms)
            h->max_ms = ms;
    }
    *last = now;
}

static double hist_q(const struct hist *h, double q)
{
    uint64_t want = (uint64_t)(q * (double)h->n), seen = 0;

    if (h->n == 0)
        return 0;
    for (long i = 0; i < HIST_STEPS; i++) {
        seen += h->steps[i];
        if (seen > want)
            return (double)(i + 1) / 10.0 < h->max_ms ? (double)(i + 1) / 10.0
                                                      : h->max_ms;
    }
    return h->max_ms;
}

/* ---- replies -------------------------------------------------------- */

static void out(struct conn *c, const char *s, size_t n)
{
    if (c->wlen + n > c->wcap) {
        size_t cap = c->wcap ? c->wcap : 1024;
        while (cap < c->wlen + n)
            cap *= 2;
        c->wb = realloc(c->wb, cap);
        if (c->wb == NULL)
            die("realloc");
        c->wcap = cap;
    }
    memcpy(c->wb + c->wlen, s, n);
    c->wlen += n;
}

static void outs(struct conn *c, const char *s)
{
    out(c, s, strlen(s));
}

static void out_bulk(struct conn *c, const char *s, size_t n)
{
    char h[32];

    snprintf(h, sizeof h, "$%zu\r\n", n);
    outs(c, h);
    out(c, s, n);
    outs(c, "\r\n");
}

static char *bulk_of(const char *text)
{
    size_t n = strlen(text);
    char *b = malloc(n + 32);

    if (b == NULL)
        die("malloc");
    snprintf(b, n + 32, "$%zu\r\n%s\r\n", n, text);
    return b;
}

static void build_info(struct port *p)
{
    int master = p->index - p->index % 3;
    int end = master + 3 < n_ports ? master + 3 : n_ports;
    char server[512], pers[64], repl[2048], all[4096];
    size_t off = 0;
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int port_no[3] = {0, 0, 0};

    for (int i = master; i < end; i++) {
        len = sizeof sa;
        if (getsockname(ports[i].fd, (struct sockaddr *)&sa, &len) != 0)
            die("getsockname");
        port_no[i - master] = ntohs(sa.sin_port);
    }
    snprintf(server, sizeof server,
             "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n"
             "run_id:%040x\r\ntcp_port:%d\r\nprocess_id:%d\r\n",
             port_no[p->index - master] * 7919u, port_no[p->index - master],
             (int)getpid());
    snprintf(pers, sizeof pers, "# Persistence\r\nloading:0\r\n");
    if (p->index == master) {
        off += (size_t)snprintf(repl + off, sizeof repl - off,
                                "# Replication\r\nrole:master\r\n"
                                "connected_slaves:%d\r\n",
                                end - master - 1);
        for (int i = master + 1; i < end; i++)
            off += (size_t)snprintf(repl + off, sizeof repl - off,
                                    "slave%d:ip=127.0.0.1,port=%d,state=online,"
                                    "offset=1000,lag=0\r\n",
                                    i - master - 1, port_no[i - master]);
        snprintf(repl + off, sizeof repl - off,
                 "master_failover_state:no-failover\r\n"
                 "master_replid:%040x\r\nmaster_repl_offset:1000\r\n",
                 port_no[0] * 104729u);
    } else {
        snprintf(repl, sizeof repl,
                 "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\n"
                 "master_port:%d\r\nmaster_link_status:up\r\n"
                 "master_last_io_seconds_ago:0\r\n"
                 "master_sync_in_progress:0\r\nslave_read_repl_offset:1000\r\n"
                 "slave_repl_offset:1000\r\nslave_priority:100\r\n"
                 "slave_read_only:1\r\nreplica_announced:1\r\n"
                 "connected_slaves:0\r\nmaster_failover_state:no-failover\r\n"
                 "master_replid:%040x\r\nmaster_repl_offset:1000\r\n",
                 port_no[0], port_no[0] * 104729u);
    }
    snprintf(all, sizeof all, "%s\r\n%s\r\n%s", server, pers, repl);
    p->info_server = bulk_of(server);
    p->info_pers = bulk_of(pers);
    p->info_repl = bulk_of(repl);
    p->info_all = bulk_of(all);
}

/* ---- commands ------------------------------------------------------- */

static bool eq(const char *a, size_t n, const char *b)
{
    return strlen(b) == n && strncasecmp(a, b, n) == 0;
}

static void subscribe(struct conn *c, const char *ch, size_t n)
{
    int count = 0, slot = -1;
    char h[32];

    for (int i = 0; i < 4; i++) {
        if (c->chan[i][0] != '\0')
            count++;
        else if (slot < 0)
            slot = i;
    }
    if (slot >= 0 && n < sizeof c->chan[0]) {
        memcpy(c->chan[slot], ch, n);
        c->chan[slot][n] = '\0';
        count++;
        if (!c->subscribed) {
            c->subscribed = true;
            c->next_sub = c->port->subs;
            c->port->subs = c;
        }
    }
    outs(c, "*3\r\n$9\r\nsubscribe\r\n");
    out_bulk(c, ch, n);
    snprintf(h, sizeof h, ":%d\r\n", count);
    outs(c, h);
}

static void flush_conn(struct conn *c);

static void publish(struct conn *c, const char *ch, size_t chn, const char *msg,
                    size_t msgn)
{
    int n = 0;
    char h[32];

    for (struct conn *s = c->port->subs; s != NULL; s = s->next_sub) {
        for (int i = 0; i < 4; i++) {
            if (eq(ch, chn, s->chan[i]) && s->chan[i][0] != '\0') {
                outs(s, "*3\r\n$7\r\nmessage\r\n");
                out_bulk(s, ch, chn);
                out_bulk(s, msg, msgn);
                if (s != c)
                    flush_conn(s);
                n++;
                break;
            }
        }
    }
    snprintf(h, sizeof h, ":%d\r\n", n);
    outs(c, h);
}

static void command(struct conn *c, int argc, const char **argv,
                    const size_t *len)
{
    struct port *p = c->port;

    n_commands++;
    if (argc == 0)
        return;
    if (eq(argv[0], len[0], "PING")) {
        hist_add(&h_ping, &p->last_ping_ns, now_ns());
        outs(c, "+PONG\r\n");
    } else if (eq(argv[0], len[0], "INFO")) {
        const char *s = argc > 1 ? argv[1] : "";
        size_t n = argc > 1 ? len[1] : 0;
        if (argc == 1 || eq(s, n, "all") || eq(s, n, "default") ||
            eq(s, n, "everything")) {
            hist_add(&h_info, &p->last_info_ns, now_ns());
            outs(c, p->info_all);
        } else if (eq(s, n, "replication")) {
            hist_add(&h_info, &p->last_info_ns, now_ns());
            outs(c, p->info_repl);
        } else if (eq(s, n, "server")) {
            outs(c, p->info_server);
        } else if (eq(s, n, "persistence")) {
            outs(c, p->info_pers);
        } else {
            outs(c, "$0\r\n\r\n");
        }
    } else if (eq(argv[0], len[0], "SUBSCRIBE")) {
        for (int i = 1; i < argc; i++)
            subscribe(c, argv[i], len[i]);
    } else if (eq(argv[0], len[0], "PUBLISH") && argc == 3) {
        publish(c, argv[1], len[1], argv[2], len[2]);
    } else {
        outs(c, "+OK\r\n");
    }
}

/* One command from c->rb at *off: 1 done, 0 incomplete, -1 bad. */
static int parse_one(struct conn *c, size_t *off)
{
    const char *b = c->rb + *off, *end = c->rb + c->rlen, *nl;
    const char *argv[MAX_ARGS];
    size_t len[MAX_ARGS];
    long n;
    int argc = 0;

    nl = memchr(b, '\n', (size_t)(end - b));
    if (nl == NULL)
        return 0;
    if (*b != '*') { /* inline */
        const char *p = b, *e = nl;
        if (e > b && e[-1] == '\r')
            e--;
        while (p < e && argc < MAX_ARGS) {
            const char *q = p;
            while (q < e && *q != ' ')
                q++;
            if (q > p) {
                argv[argc] = p;
                len[argc++] = (size_t)(q - p);
            }
            p = q + 1;
        }
        *off += (size_t)(nl + 1 - b);
        command(c, argc, argv, len);
        return 1;
    }
    n = strtol(b + 1, NULL, 10);
    if (n < 0 || n > MAX_ARGS)
        return -1;
    b = nl + 1;
    for (long i = 0; i < n; i++) {
        long l;
        if (b >= end)
            return 0;
        if (*b != '$')
            return -1;
        nl = memchr(b, '\n', (size_t)(end - b));
        if (nl == NULL)
            return 0;
        l = strtol(b + 1, NULL, 10);
        if (l < 0)
            return -1;
        if (end - (nl + 1) < l + 2)
            return 0;
        argv[argc] = nl + 1;
        len[argc++] = (size_t)l;
        b = nl + 1 + l + 2;
    }
    *off = (size_t)(b - c->rb);
    command(c, argc, argv, len);
    return 1;
}

/* ---- connections ---------------------------------------------------- */

static void close_conn(struct conn *c)
{
    if (c->subscribed) {
        for (struct conn **pp = &c->port->subs; *pp != NULL;
             pp = &(*pp)->next_sub) {
            if (*pp == c) {
                *pp = c->next_sub;
                break;
            }
        }
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->rb);
    free(c->wb);
    free(c);
}

static void flush_conn(struct conn *c)
{
    size_t off = 0;
    bool want;

    while (off < c->wlen) {
        ssize_t w = write(c->fd, c->wb + off, c->wlen - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break; /* EAGAIN: the rest at EPOLLOUT; errors: at read */
        }
        off += (size_t)w;
    }
    memmove(c->wb, c->wb + off, c->wlen - off);
    c->wlen -= off;
    want = c->wlen > 0;
    if (want != c->want_out) {
        struct epoll_event e = {.events = EPOLLIN | (want ? EPOLLOUT : 0),
                                .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
        c->want_out = want;
    }
}

static void on_read(struct conn *c)
{
    size_t off = 0;
    ssize_t r;
    int rv;

    if (c->rcap - c->rlen < 4096) {
        c->rcap = c->rcap ? c->rcap * 2 : 16384;
        c->rb = realloc(c->rb, c->rcap);
        if (c->rb == NULL)
            die("realloc");
    }
    r = read(c->fd, c->rb + c->rlen, c->rcap - c->rlen);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        close_conn(c);
        return;
    }
    if (r < 0)
        return;
    c->rlen += (size_t)r;
    while ((rv = parse_one(c, &off)) == 1)
        ;
    if (rv < 0) {
        close_conn(c);
        return;
    }
    memmove(c->rb, c->rb + off, c->rlen - off);
    c->rlen -= off;
    flush_conn(c);
}

static void on_accept(struct port *p)
{
    int one = 1, fd = accept4(p->fd, NULL, NULL, SOCK_NONBLOCK);
    struct conn *c;
    struct epoll_event e;

    if (fd < 0)
        return;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c = calloc(1, sizeof *c);
    if (c == NULL)
        die("calloc");
    c->kind = K_CONN;
    c->fd = fd;
    c->port = p;
    e.events = EPOLLIN;
    e.data.ptr = c;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) != 0)
        die("epoll_ctl");
}

static void on_stdin(void)
{
    static char line[256];
    static size_t n;
    ssize_t r = read(0, line + n, sizeof line - 1 - n);

    if (r <= 0)
        exit(0);
    n += (size_t)r;
    line[n] = '\0';
    for (char *nl; (nl = strchr(line, '\n')) != NULL;) {
        *nl = '\0';
        if (strcmp(line, "reset") == 0) {
            memset(h_info.steps, 0, HIST_STEPS * sizeof *h_info.steps);
            memset(h_ping.steps, 0, HIST_STEPS * sizeof *h_ping.steps);
            h_info.n = h_ping.n = 0;
            h_info.max_ms = h_ping.max_ms = 0;
            n_commands = 0;
            printf("ok\n");
        } else if (strcmp(line, "stats") == 0) {
            printf("info %llu %.1f %.1f %.1f ping %llu %.1f %.1f %.1f "
                   "commands %llu\n",
                   (unsigned long long)h_info.n, hist_q(&h_info, 0.5),
                   hist_q(&h_info, 0.99), h_info.max_ms,
                   (unsigned long long)h_ping.n, hist_q(&h_ping, 0.5),
                   hist_q(&h_ping, 0.99), h_ping.max_ms,
                   (unsigned long long)n_commands);
        }
        fflush(stdout);
        n -= (size_t)(nl + 1 - line);
        memmove(line, nl + 1, n + 1);
    }
    if (n == sizeof line - 1)
        n = 0;
}

int main(int argc, char **argv)
{
    static enum kind stdin_kind = K_STDIN;
    struct epoll_event e, evs[256];

    if (argc != 2 || (n_ports = atoi(argv[1])) <= 0) {
        fprintf(stderr, "usage: fake_redis N\n");
        return 2;
    }
    ports = calloc((size_t)n_ports, sizeof *ports);
    h_info.steps = calloc(HIST_STEPS, sizeof *h_info.steps);
    h_ping.steps = calloc(HIST_STEPS, sizeof *h_ping.steps);
    if (ports == NULL || h_info.steps == NULL || h_ping.steps == NULL)
        die("calloc");
    ep = epoll_create1(0);
    if (ep < 0)
        die("epoll_create1");
    for (int i = 0; i < n_ports; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int one = 1;
        struct port *p = &ports[i];
        p->kind = K_LISTEN;
        p->index = i;
        p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (p->fd < 0)
            die("socket");
        setsockopt(p->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(p->fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
            listen(p->fd, 128) != 0)
            die("bind/listen");
        e.events = EPOLLIN;
        e.data.ptr = p;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &e) != 0)
            die("epoll_ctl");
    }
    printf("ports");
    for (int i = 0; i < n_ports; i++) {
        struct sockaddr_in sa;
        socklen_t len = sizeof sa;
        build_info(&ports[i]);
        getsockname(ports[i].fd, (struct sockaddr *)&sa, &len);
        printf(" %d", ntohs(sa.sin_port));
    }
    printf("\n");
    fflush(stdout);
    e.events = EPOLLIN;
    e.data.ptr = &stdin_kind;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &e) != 0)
        die("epoll_ctl stdin");
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            enum kind *k = evs[i].data.ptr;
            if (*k == K_STDIN) {
                on_stdin();
            } else if (*k == K_LISTEN) {
                on_accept((struct port *)k);
            } else {
                struct conn *c = (struct conn *)k;
                if (evs[i].events & EPOLLOUT)
                    flush_conn(c);
                if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                    on_read(c);
            }
        }
    }
}
