/* test_redis.c - io/redis against a real redis-server started by the test.
 *
 * Servers run on kernel-chosen loopback ports, are started with fork/exec
 * and stopped by PID. Every test runs its own loop and ends with
 * uv_loop_close() == 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rsm/redis.h"
#include "rsm/tls.h"

#define PASSWORD "t3st-secret-pw"

/* ------------------------------------------------------------------------
 * redis-server processes
 * ---------------------------------------------------------------------- */

struct server {
    pid_t pid;
    uint16_t port;
    char dir[64];
};

static uint16_t free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* true once the server answers anything to PING (+PONG or -NOAUTH). */
static bool server_answers(uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
    char buf[64];
    bool ok = false;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        write(fd, "PING\r\n", 6) == 6 && read(fd, buf, sizeof buf) > 0)
        ok = buf[0] == '+' || buf[0] == '-';
    close(fd);
    return ok;
}

static void server_start(struct server *s, const char *password)
{
    char conf[128];
    FILE *f;

    strcpy(s->dir, "/tmp/rsm-ut-redis-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    s->port = free_port();
    snprintf(conf, sizeof conf, "%s/redis.conf", s->dir);
    f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f,
            "port %u\nbind 127.0.0.1\ndir %s\nsave \"\"\nappendonly no\n"
            "protected-mode no\nlogfile %s/redis.log\n",
            s->port, s->dir, s->dir);
    if (password != NULL) /* in the file, never in argv */
        fprintf(f, "requirepass %s\n", password);
    fclose(f);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execlp("redis-server", "redis-server", conf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && !server_answers(s->port); i++)
        usleep(10000);
    assert_true(server_answers(s->port));
}

static void server_stop(struct server *s)
{
    char path[128];

    if (s->pid <= 0)
        return;
    kill(s->pid, SIGCONT);
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
    snprintf(path, sizeof path, "%s/redis.conf", s->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/redis.log", s->dir);
    unlink(path);
    rmdir(s->dir);
}

static struct server shared; /* plain server for most tests */

static int group_setup(void **state)
{
    server_start(&shared, NULL);
    return 0;
}

static int group_teardown(void **state)
{
    server_stop(&shared);
    return 0;
}

/* ------------------------------------------------------------------------
 * Loop helpers
 * ---------------------------------------------------------------------- */

#define MAX_GOT 64

/* What the callbacks saw, in the order they ran. */
struct got {
    int n;
    int status[MAX_GOT];
    int type[MAX_GOT];
    long long integer[MAX_GOT];
    char str[MAX_GOT][64];
    char msg[MAX_GOT][RSM_ERRMSG_SIZE];
    bool reentry_rejected;
};

static void on_result(struct rsm_redis *r, const struct rsm_redis_result *res,
                      void *arg)
{
    struct got *g = arg;
    int i = g->n++;

    assert_true(i < MAX_GOT);
    assert_non_null(res->errmsg);
    snprintf(g->msg[i], sizeof g->msg[i], "%s", res->errmsg);
    g->status[i] = res->status;
    g->type[i] = res->reply ? res->reply->type : -1;
    if (res->reply != NULL) {
        g->integer[i] = res->reply->integer;
        if (res->reply->str != NULL)
            snprintf(g->str[i], sizeof g->str[i], "%.*s", (int)res->reply->len,
                     res->reply->str);
    }
}

static struct rsm_redis *link_new(uv_loop_t *loop, const char *host,
                                  uint16_t port, const char *user,
                                  const char *password)
{
    struct rsm_redis_config cfg = {.connect_timeout_ms = 2000};
    struct rsm_redis *r = NULL;

    assert_int_equal(rsm_addr_set(&cfg.addr, host, port, NULL, 0), 0);
    cfg.user = user;
    cfg.password = password;
    assert_int_equal(rsm_redis_create(loop, &cfg, &r), 0);
    return r;
}

static void send_cmd(struct rsm_redis *r, uint64_t timeout_ms, struct got *g,
                     int argc, const char *const *argv)
{
    int before = g->n;

    assert_int_equal(rsm_redis_command(r, timeout_ms, on_result, g, argc, argv),
                     0);
    assert_int_equal(g->n, before); /* never called from inside */
}

static void wait_for(uv_loop_t *loop, struct got *g, int n)
{
    while (g->n < n)
        uv_run(loop, UV_RUN_ONCE);
}

/* Send one command and run the loop until its callback ran. */
static void run_cmd(uv_loop_t *loop, struct rsm_redis *r, uint64_t timeout_ms,
                    struct got *g, int argc, const char *const *argv)
{
    send_cmd(r, timeout_ms, g, argc, argv);
    wait_for(loop, g, g->n + 1);
}

static void on_closed(struct rsm_redis *r, void *arg)
{
    (*(int *)arg)++;
}

/* Close the link, drain the loop, and check nothing is left open. */
static void link_close_and_finish(uv_loop_t *loop, struct rsm_redis *r)
{
    int closed = 0;

    rsm_redis_close(r, on_closed, &closed);
    assert_int_equal(closed, 0); /* only from a close callback */
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(closed, 1);
    assert_int_equal(uv_loop_close(loop), 0);
}

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

static const char *const PING[] = {"PING"};

/* ------------------------------------------------------------------------
 * Tests
 * ---------------------------------------------------------------------- */

static void test_round_trip(void **state)
{
    static const char *const set[] = {"SET", "rt:key", "hello world"};
    static const char *const get[] = {"GET", "rt:key"};
    uv_loop_t loop;
    struct got g = {0};
    char addr[32];

    uv_loop_init(&loop);
    struct rsm_redis *r = link_new(&loop, "127.0.0.1", shared.port, NULL, NULL);
    assert_false(rsm_redis_connected(r));
    run_cmd(&loop, r, 1000, &g, 3, set);
    assert_int_equal(g.status[0], 0);
    assert_int_equal(g.type[0], REDIS_REPLY_STATUS);
    assert_string_equal(g.str[0], "OK");
    assert_true(rsm_redis_connected(r));
    run_cmd(&loop, r, 1000, &g, 2, get);
    assert_int_equal(g.status[1], 0);
    assert_int_equal(g.type[1], REDIS_REPLY_STRING);
    assert_string_equal(g.str[1], "hello world");
    snprintf(addr, sizeof addr, "127.0.0.1:%u", shared.port);
    assert_non_null(strstr(g.msg[1], addr));
    assert_int_equal(rsm_redis_addr(r)->port, shared.port);
    link_close_and_finish(&loop, r);
}

static void test_pipelining_keeps_order(void **state)
{
    static const char *const del[] = {"DEL", "pipe:ctr"};
    static const char *const incr[] = {"INCR", "pipe:ctr"};
    uv_loop_t loop;
    struct got g = {0};
    const int n = 40;

    uv_loop_init(&loop);
    struct rsm_redis *r = link_new(&loop, "127.0.0.1", shared.port, NULL, NULL);
    send_cmd(r, 2000, &g, 2, del); /* all queued before the connect */
    for (int i = 0; i < n; i++)
        send_cmd(r, 2000, &g, 2, incr);
    wait_for(&loop, &g, n + 1);
    assert_int_equal(g.status[0], 0);
    for (int i = 1; i <= n; i++) {
        assert_int_equal(g.status[i], 0);
        assert_int_equal(g.type[i], REDIS_REPLY_INTEGER);
        assert_int_equal(g.integer[i], i);
    }
    link_close_and_finish(&loop, r);
}

static void test_refused_connection_fails_fast(void **state)
{
    uv_loop_t loop;
    struct got g = {0};
    char addr[32];
    uint16_t port = free_port(); /* nobody listens there */

    uv_loop_init(&loop);
    struct rsm_redis *r = link_new(&loop, "127.0.0.1", port, NULL, NULL);
    uint64_t t0 = now_ms();
    run_cmd(&loop, r, 5000, &g, 1, PING);
    assert_true(now_ms() - t0 < 500);
    assert_int_equal(g.status[0], RSM_EREFUSED);
    assert_int_equal(g.type[0], -1);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    assert_non_null(strstr(g.msg[0], addr));
    assert_false(rsm_redis_connected(r));
    link_close_and_finish(&loop, r);
}

static void test_stopped_server_times_out(void **state)
{
    uv_loop_t loop;
    struct got g = {0};

    uv_loop_init(&loop);
    struct rsm_redis *r = link_new(&loop, "127.0.0.1", shared.port, NULL, NULL);
    run_cmd(&loop, r, 1000, &g, 1, PING);
    assert_int_equal(g.status[0], 0);

    kill(shared.pid, SIGSTOP);
    uint64_t t0 = now_ms();
    send_cmd(r, 200, &g, 1, PING);
    send_cmd(r, 5000, &g, 1, PING); /* behind it: fails with it */
    wait_for(&loop, &g, 3);
    uint64_t took = now_ms() - t0;
    kill(shared.pid, SIGCONT);
    assert_int_equal(g.status[1], RSM_ETIMEOUT);
    assert_int_equal(g.status[2], RSM_ETIMEOUT);
    assert_true(took >= 195 && took < 600);
    assert_false(rsm_redis_connected(r));

    /* The next command reconnects. */
    run_cmd(&loop, r, 2000, &g, 1, PING);
    assert_int_equal(g.status[3], 0);
    assert_string_equal(g.str[3], "PONG");
    link_close_and_finish(&loop, r);
}

static void test_auth(void **state)
{
    static const char *const whoami[] = {"ACL", "WHOAMI"};
    struct server s;
    uv_loop_t loop;
    struct got g = {0};

    server_start(&s, PASSWORD);
    uv_loop_init(&loop);
    struct rsm_redis *ok = link_new(&loop, "127.0.0.1", s.port, NULL, PASSWORD);
    struct rsm_redis *user =
        link_new(&loop, "127.0.0.1", s.port, "default", PASSWORD);
    struct rsm_redis *bad =
        link_new(&loop, "127.0.0.1", s.port, NULL, "wrong-" PASSWORD);
    struct rsm_redis *none = link_new(&loop, "127.0.0.1", s.port, NULL, NULL);

    run_cmd(&loop, ok, 1000, &g, 1, PING);
    run_cmd(&loop, user, 1000, &g, 2, whoami);
    run_cmd(&loop, bad, 1000, &g, 1, PING);
    run_cmd(&loop, none, 1000, &g, 1, PING);
    server_stop(&s);

    assert_int_equal(g.status[0], 0);
    assert_string_equal(g.str[0], "PONG");
    assert_int_equal(g.status[1], 0);
    assert_string_equal(g.str[1], "default");
    assert_int_equal(g.status[2], RSM_EAUTH);
    assert_null(strstr(g.msg[2], PASSWORD));
    assert_int_equal(g.status[3], RSM_EREPLY); /* NOAUTH */
    assert_non_null(strstr(g.msg[3], "NOAUTH"));
    rsm_redis_close(ok, NULL, NULL);
    rsm_redis_close(user, NULL, NULL);
    rsm_redis_close(bad, NULL, NULL);
    link_close_and_finish(&loop, none);
}

static void test_error_reply_keeps_link(void **state)
{
    static const char *const bogus[] = {"NOSUCHCOMMAND", "x"};
    uv_loop_t loop;
    struct got g = {0};

    uv_loop_init(&loop);
    struct rsm_redis *r = link_new(&loop, "127.0.0.1", shared.port, NULL, NULL);
    send_cmd(r, 1000, &g, 2, bogus);
    send_cmd(r, 1000, &g, 1, PING);
    wait_for(&loop, &g, 2);
    assert_int_equal(g.status[0], RSM_EREPLY);
    assert_int_equal(g.type[0], REDIS_REPLY_ERROR);
    assert_non_null(strstr(g.msg[0], "unknown command"));
    assert_int_equal(g.status[1], 0);
    assert_true(rsm_redis_connected(r));
    link_close_and_finish(&loop, r);
}

static void test_unresolvable_name(void **state)
{
    uv_loop_t loop;
    struct got g = {0};

    uv_loop_init(&loop);
    struct rsm_redis *r =
        link_new(&loop, "no-such-host.invalid", 6379, NULL, NULL);
    run_cmd(&loop, r, 5000, &g, 1, PING);
    assert_int_equal(g.status[0], RSM_ERESOLVE);
    assert_non_null(strstr(g.msg[0], "no-such-host.invalid:6379"));
    link_close_and_finish(&loop, r);
}

static void test_host_name_is_resolved(void **state)
{
    uv_loop_t loop;
    struct got g = {0};

    /* a name, not a literal: goes through uv_getaddrinfo for real (if it
     * also gives ::1 first, the refused ::1 attempt falls through to the
     * next address, since the server listens on 127.0.0.1 only) */
    uv_loop_init(&loop);
    struct rsm_redis *r = link_new(&loop, "localhost", shared.port, NULL, NULL);
    run_cmd(&loop, r, 2000, &g, 1, PING);
    assert_int_equal(g.status[0], 0);
    link_close_and_finish(&loop, r);
}

static void on_result_then_retry(struct rsm_redis *r,
                                 const struct rsm_redis_result *res, void *arg)
{
    struct got *g = arg;

    on_result(r, res, arg);
    if (rsm_redis_command(r, 1000, on_result, g, 1, PING) == RSM_EINVAL)
        g->reentry_rejected = true;
}

static void test_close_cancels_pending(void **state)
{
    static const char *const get[] = {"GET", "x"};
    uv_loop_t loop;
    struct got g = {0};
    int closed = 0;

    uv_loop_init(&loop);
    struct rsm_redis *r = link_new(&loop, "127.0.0.1", shared.port, NULL, NULL);
    run_cmd(&loop, r, 1000, &g, 1, PING);
    send_cmd(r, 1000, &g, 2, get); /* written, reply not read yet */
    assert_int_equal(
        rsm_redis_command(r, 1000, on_result_then_retry, &g, 1, PING), 0);
    rsm_redis_close(r, on_closed, &closed);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.status[1], RSM_ECANCELED);
    assert_int_equal(g.status[2], RSM_ECANCELED);
    assert_true(g.reentry_rejected);
    assert_int_equal(closed, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(closed, 1);
    assert_int_equal(g.n, 3);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_bad_arguments(void **state)
{
    uv_loop_t loop;
    struct got g = {0};
    const char *const null_arg[] = {"GET", NULL};

    uv_loop_init(&loop);
    struct rsm_redis *r = link_new(&loop, "127.0.0.1", shared.port, NULL, NULL);
    assert_int_equal(rsm_redis_command(r, 1000, on_result, &g, 0, PING),
                     RSM_EINVAL);
    assert_int_equal(rsm_redis_command(r, 0, on_result, &g, 1, PING),
                     RSM_EINVAL);
    assert_int_equal(rsm_redis_command(r, 1000, NULL, &g, 1, PING), RSM_EINVAL);
    assert_int_equal(rsm_redis_command(r, 1000, on_result, &g, 2, null_arg),
                     RSM_EINVAL);
    link_close_and_finish(&loop, r);
    assert_int_equal(g.n, 0);
}

/* A listening socket on a free loopback port, non-blocking. */
static int raw_listen(uint16_t *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Run the loop until fd has something to accept / read (or 2 s pass). */
static int loop_until_fd(uv_loop_t *loop, int fd, bool accepting)
{
    for (int i = 0; i < 2000; i++) {
        int rv = accepting ? accept(fd, NULL, NULL) : 0;
        if (accepting && rv >= 0)
            return rv;
        if (!accepting) {
            char c;
            if (recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 1)
                return fd;
        }
        uv_run(loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    fail_msg("nothing on fd %d", fd);
    return -1;
}

static void test_commands_sent_together_answered_in_order(void **state)
{
    static const char *const info[] = {"INFO", "replication"};
    static const char *const echo[] = {"ECHO", "two"};
    const char *const *cmds[] = {info, echo, PING};
    const int argc[] = {2, 2, 1};
    const char want[] = "*2\r\n$4\r\nINFO\r\n$11\r\nreplication\r\n"
                        "*2\r\n$4\r\nECHO\r\n$3\r\ntwo\r\n"
                        "*1\r\n$4\r\nPING\r\n";
    const char replies[] = "$3\r\none\r\n$3\r\ntwo\r\n+PONG\r\n";
    uv_loop_t loop;
    struct got g = {0};
    char buf[256];
    uint16_t port;
    int lfd = raw_listen(&port), cfd;
    ssize_t n;

    uv_loop_init(&loop);
    struct rsm_redis *r = link_new(&loop, "127.0.0.1", port, NULL, NULL);
    /* queued while connecting: sent once connected, as one RESP stream */
    assert_int_equal(rsm_redis_commands(r, 2000, on_result, &g, 3, argc, cmds),
                     0);
    assert_int_equal(g.n, 0);
    cfd = loop_until_fd(&loop, lfd, true);
    loop_until_fd(&loop, cfd, false);
    usleep(20000); /* all of it has arrived by now */
    n = recv(cfd, buf, sizeof buf - 1, MSG_DONTWAIT);
    assert_int_equal(n, (ssize_t)strlen(want));
    buf[n] = '\0';
    assert_string_equal(buf, want);
    assert_int_equal(write(cfd, replies, strlen(replies)),
                     (ssize_t)strlen(replies));
    wait_for(&loop, &g, 3);
    assert_string_equal(g.str[0], "one"); /* in order, one callback each */
    assert_string_equal(g.str[1], "two");
    assert_string_equal(g.str[2], "PONG");

    /* and on a ready link */
    assert_int_equal(rsm_redis_commands(r, 2000, on_result, &g, 3, argc, cmds),
                     0);
    loop_until_fd(&loop, cfd, false);
    usleep(20000);
    n = recv(cfd, buf, sizeof buf - 1, MSG_DONTWAIT);
    assert_int_equal(n, (ssize_t)strlen(want));
    assert_int_equal(write(cfd, replies, strlen(replies)),
                     (ssize_t)strlen(replies));
    wait_for(&loop, &g, 6);
    assert_int_equal(g.status[5], 0);
    close(cfd);
    close(lfd);
    link_close_and_finish(&loop, r);
}

/* A TLS link to a server that accepts and never answers the ClientHello:
 * the handshake counts in the connect timeout, and fails like a connect
 * that takes too long (not at the command's own, longer deadline). */
static void test_tls_handshake_counts_in_connect_timeout(void **state)
{
    struct rsm_tls_config tc = {0};
    struct rsm_redis_config cfg = {.connect_timeout_ms = 300};
    struct rsm_tls *tls = NULL;
    struct rsm_redis *r = NULL;
    char msg[RSM_ERRMSG_SIZE], c = 0;
    uv_loop_t loop;
    struct got g = {0};
    uint16_t port;
    int lfd = raw_listen(&port), cfd;

    assert_int_equal(rsm_tls_create(&tc, &tls, msg, sizeof msg), 0);
    uv_loop_init(&loop);
    assert_int_equal(rsm_addr_set(&cfg.addr, "127.0.0.1", port, NULL, 0), 0);
    cfg.tls = tls;
    assert_int_equal(rsm_redis_create(&loop, &cfg, &r), 0);
    uint64_t t0 = now_ms();
    send_cmd(r, 5000, &g, 1, PING);
    cfd = loop_until_fd(&loop, lfd, true);
    loop_until_fd(&loop, cfd, false);
    assert_int_equal(recv(cfd, &c, 1, MSG_PEEK), 1);
    assert_int_equal((unsigned char)c, 0x16); /* a TLS handshake record */
    wait_for(&loop, &g, 1);
    uint64_t took = now_ms() - t0;
    assert_int_equal(g.status[0], RSM_ETIMEOUT);
    assert_non_null(strstr(g.msg[0], "connect timed out after 300 ms in the "
                                     "TLS handshake"));
    assert_true(took >= 295 && took < 2000);
    assert_false(rsm_redis_connected(r));
    close(cfd);
    close(lfd);
    link_close_and_finish(&loop, r);
    rsm_tls_free(tls);
}

/* A TLS link to a plaintext Redis: Redis waits for the end of a line that
 * the ClientHello never sends; the connect times out, saying where. */
static void test_tls_link_to_a_plaintext_server(void **state)
{
    struct rsm_tls_config tc = {0};
    struct rsm_redis_config cfg = {.connect_timeout_ms = 300};
    struct rsm_tls *tls = NULL;
    struct rsm_redis *r = NULL;
    char msg[RSM_ERRMSG_SIZE];
    uv_loop_t loop;
    struct got g = {0};

    assert_int_equal(rsm_tls_create(&tc, &tls, msg, sizeof msg), 0);
    uv_loop_init(&loop);
    assert_int_equal(rsm_addr_set(&cfg.addr, "127.0.0.1", shared.port, NULL, 0),
                     0);
    cfg.tls = tls;
    assert_int_equal(rsm_redis_create(&loop, &cfg, &r), 0);
    run_cmd(&loop, r, 1500, &g, 1, PING);
    assert_int_equal(g.status[0], RSM_ETIMEOUT);
    assert_non_null(strstr(g.msg[0], "in the TLS handshake (a plaintext"));
    link_close_and_finish(&loop, r);
    rsm_tls_free(tls);
}

static void test_shorter_deadline_behind_a_longer_one(void **state)
{
    uv_loop_t loop;
    struct got g = {0};

    uv_loop_init(&loop);
    struct rsm_redis *r = link_new(&loop, "127.0.0.1", shared.port, NULL, NULL);
    run_cmd(&loop, r, 1000, &g, 1, PING);
    assert_int_equal(g.status[0], 0);

    kill(shared.pid, SIGSTOP);
    uint64_t t0 = now_ms();
    send_cmd(r, 5000, &g, 1, PING);
    send_cmd(r, 200, &g, 1, PING); /* the link times out at its deadline */
    wait_for(&loop, &g, 3);
    uint64_t took = now_ms() - t0;
    kill(shared.pid, SIGCONT);
    assert_int_equal(g.status[1], RSM_ETIMEOUT);
    assert_int_equal(g.status[2], RSM_ETIMEOUT);
    assert_non_null(strstr(g.msg[1], "no reply within 200 ms"));
    assert_true(took >= 195 && took < 600);
    link_close_and_finish(&loop, r);
}

static void test_commands_bad_arguments(void **state)
{
    uv_loop_t loop;
    struct got g = {0};
    const char *const null_arg[] = {"GET", NULL};
    const char *const *cmds[] = {PING, null_arg};
    const int argc[] = {1, 2};

    uv_loop_init(&loop);
    struct rsm_redis *r = link_new(&loop, "127.0.0.1", shared.port, NULL, NULL);
    assert_int_equal(rsm_redis_commands(r, 1000, on_result, &g, 0, argc, cmds),
                     RSM_EINVAL);
    assert_int_equal(rsm_redis_commands(r, 1000, on_result, &g, 1, NULL, cmds),
                     RSM_EINVAL);
    /* one bad command: none is sent */
    assert_int_equal(rsm_redis_commands(r, 1000, on_result, &g, 2, argc, cmds),
                     RSM_EINVAL);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_false(rsm_redis_connected(r)); /* nothing asked it to connect */
    link_close_and_finish(&loop, r);
    assert_int_equal(g.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_pipelining_keeps_order),
        cmocka_unit_test(test_refused_connection_fails_fast),
        cmocka_unit_test(test_stopped_server_times_out),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_error_reply_keeps_link),
        cmocka_unit_test(test_unresolvable_name),
        cmocka_unit_test(test_host_name_is_resolved),
        cmocka_unit_test(test_close_cancels_pending),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_commands_sent_together_answered_in_order),
        cmocka_unit_test(test_shorter_deadline_behind_a_longer_one),
        cmocka_unit_test(test_commands_bad_arguments),
        cmocka_unit_test(test_tls_handshake_counts_in_connect_timeout),
        cmocka_unit_test(test_tls_link_to_a_plaintext_server),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
