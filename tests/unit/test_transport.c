/* test_transport.c - unit tests for io/transport on a real loop and
 * loopback sockets: the handshake hands streams to "raft" (this test plays
 * raft_uv), the bytes after it arrive intact, every refusal is counted and
 * nothing reaches raft, and close() in the middle of handshakes leaves no
 * handle behind (uv_loop_close() returns 0; the ASan build checks
 * memory). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "rsm/transport.h"

#define SECRET "0123456789abcdef-transport-test"
#define OTHER  "0123456789abcdef-another-secret"

/* ---- one side: a transport and what "raft" got from it ------------------ */

struct side {
    struct raft_uv_transport t;
    bool up, closed;
    raft_id id;
    char addr[32];
    unsigned accepted;
    bool any_accepted;
    raft_id accepted_id;
    char accepted_addr[64];
    uv_stream_t *in; /* the last accepted stream, ours to close */
    char cid[40];
};

struct fx {
    uv_loop_t loop;
    uv_timer_t tick; /* wakes the loop up: waits below are bounded */
    struct side a, b;
    /* the connect request of a to b */
    struct raft_uv_connect req;
    bool answered;
    int status;
    uv_stream_t *out;
    /* bytes read from b's accepted stream */
    char got[64];
    size_t n_got;
};

static struct fx *g; /* for the callbacks that carry no pointer */

static uint16_t free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static const char *side_cid(void *arg)
{
    return ((struct side *)arg)->cid;
}

static struct side *side_of(struct raft_uv_transport *t)
{
    return t == &g->a.t ? &g->a : &g->b;
}

static void stream_freed(uv_handle_t *h)
{
    raft_free(h);
}

static void accepted(struct raft_uv_transport *t, raft_id id,
                     const char *address, uv_stream_t *stream)
{
    struct side *s = side_of(t);

    s->accepted++;
    s->any_accepted = true;
    s->accepted_id = id;
    snprintf(s->accepted_addr, sizeof s->accepted_addr, "%s", address);
    if (s->in != NULL)
        uv_close((uv_handle_t *)s->in, stream_freed);
    s->in = stream;
}

static void connected(struct raft_uv_connect *req, uv_stream_t *stream,
                      int status)
{
    struct fx *f = req->data;

    assert_false(f->answered); /* exactly once */
    f->answered = true;
    f->status = status;
    f->out = stream;
    assert_true(status == 0 ? stream != NULL : stream == NULL);
}

/* Start side s as id with the secret (NULL: none). */
static void side_start(struct fx *f, struct side *s, raft_id id,
                       const char *secret)
{
    struct rsm_transport_auth auth = {
        .secret = (const unsigned char *)secret,
        .secret_len = secret ? strlen(secret) : 0,
        .self_id = id,
        .cluster_id = side_cid,
        .arg = s,
    };
    struct rsm_addr bind = {.host = "127.0.0.1"};
    char err[256];

    bind.port = free_port();
    s->id = id;
    snprintf(s->addr, sizeof s->addr, "127.0.0.1:%u", (unsigned)bind.port);
    assert_int_equal(
        rsm_transport_init(&s->t, &f->loop, &bind, &auth, err, sizeof err), 0);
    assert_int_equal(s->t.init(&s->t, id, s->addr), 0);
    assert_int_equal(s->t.listen(&s->t, accepted), 0);
    s->up = true;
}

static void side_closed(struct raft_uv_transport *t)
{
    struct side *s = side_of(t);

    assert_false(s->closed); /* exactly once */
    s->closed = true;
}

/* Run the loop until cond holds, 5 s at most (the tick timer keeps every
 * turn short). */
#define RUN_UNTIL(f, cond)                                                     \
    do {                                                                       \
        uint64_t end_ = uv_now(&(f)->loop) + 5000;                             \
        while (!(cond) && uv_now(&(f)->loop) < end_)                           \
            uv_run(&(f)->loop, UV_RUN_ONCE);                                   \
        assert_true(cond);                                                     \
    } while (0)

static void run_until(struct fx *f, const bool *flag)
{
    RUN_UNTIL(f, *flag);
}

static void tick(uv_timer_t *t)
{
    (void)t;
}

static void side_close(struct fx *f, struct side *s)
{
    if (!s->up)
        return;
    if (s->in != NULL)
        uv_close((uv_handle_t *)s->in, stream_freed);
    s->in = NULL;
    s->t.close(&s->t, side_closed);
    run_until(f, &s->closed);
    rsm_transport_destroy(&s->t);
    s->up = false;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);

    assert_non_null(f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    uv_timer_init(&f->loop, &f->tick);
    uv_timer_start(&f->tick, tick, 10, 10);
    f->req.data = f;
    g = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    if (f->out != NULL)
        uv_close((uv_handle_t *)f->out, stream_freed);
    side_close(f, &f->a);
    side_close(f, &f->b);
    uv_close((uv_handle_t *)&f->tick, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    g = NULL;
    return 0;
}

/* a dials b (as id `to`), waits for the answer. */
static void dial(struct fx *f, raft_id to)
{
    assert_int_equal(f->a.t.connect(&f->a.t, &f->req, to, f->b.addr, connected),
                     0);
    run_until(f, &f->answered);
}

static void get_stats(struct side *s, struct rsm_transport_stats *st)
{
    rsm_transport_get_stats(&s->t, st);
}

/* ---- the handshake ------------------------------------------------------- */

static void read_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
    struct fx *f = h->data;

    (void)size;
    buf->base = f->got + f->n_got;
    buf->len = sizeof f->got - f->n_got;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct fx *f = s->data;

    (void)buf;
    if (n > 0)
        f->n_got += (size_t)n;
}

static void write_done(uv_write_t *req, int status)
{
    assert_int_equal(status, 0);
    free(req);
}

static void test_handshake_hands_both_streams_over(void **state)
{
    struct fx *f = *state;
    static const char msg[] = "raft bytes right after the handshake";
    struct rsm_transport_stats st;
    uv_write_t *w = malloc(sizeof *w);
    uv_buf_t buf = uv_buf_init((char *)msg, sizeof msg);

    side_start(f, &f->a, 1, SECRET);
    side_start(f, &f->b, 2, SECRET);
    /* the client writes at once, as raft_uv does: nothing may be lost or
     * eaten by the server's handshake */
    dial(f, 2);
    assert_int_equal(f->status, 0);
    assert_int_equal(uv_write(w, f->out, &buf, 1, write_done), 0);
    run_until(f, &f->b.any_accepted);
    assert_int_equal(f->b.accepted_id, 1);
    assert_string_equal(f->b.accepted_addr, f->a.addr);
    f->b.in->data = f;
    assert_int_equal(uv_read_start(f->b.in, read_alloc, read_cb), 0);
    RUN_UNTIL(f, f->n_got >= sizeof msg);
    assert_memory_equal(f->got, msg, sizeof msg);
    get_stats(&f->b, &st);
    assert_true(st.authenticated);
    assert_int_equal(st.auth_accepted, 1);
    assert_int_equal(st.auth_refused, 0);
    get_stats(&f->a, &st);
    assert_int_equal(st.connects, 1);
    assert_int_equal(st.auth_failed, 0);
    assert_int_equal(st.connect_errors, 0);
}

/* Known and equal cluster ids pass; one unknown passes too. */
static void test_same_cluster_passes(void **state)
{
    struct fx *f = *state;

    side_start(f, &f->a, 1, SECRET);
    side_start(f, &f->b, 2, SECRET);
    snprintf(f->a.cid, sizeof f->a.cid, "abc");
    snprintf(f->b.cid, sizeof f->b.cid, "abc");
    dial(f, 2);
    assert_int_equal(f->status, 0);
}

/* ---- refusals: nothing reaches raft ---------------------------------------
 * Each is counted once on each side: auth_failed on the dialling side,
 * auth_refused on the other. */

static void refused(struct fx *f, raft_id to)
{
    struct rsm_transport_stats st;

    dial(f, to);
    assert_int_equal(f->status, RAFT_NOCONNECTION);
    get_stats(&f->a, &st);
    assert_int_equal(st.auth_failed, 1);
    /* the server may count only once it reads the client's ERROR */
    RUN_UNTIL(f, (get_stats(&f->b, &st), st.auth_refused == 1));
    for (int i = 0; i < 5; i++) /* and never again */
        uv_run(&f->loop, UV_RUN_ONCE);
    get_stats(&f->b, &st);
    assert_int_equal(st.auth_refused, 1);
    assert_int_equal(f->b.accepted, 0);
    assert_int_equal(st.auth_accepted, 0);
}

static void test_other_secret_is_refused(void **state)
{
    struct fx *f = *state;

    side_start(f, &f->a, 1, OTHER);
    side_start(f, &f->b, 2, SECRET);
    refused(f, 2);
}

static void test_wrong_member_id_is_refused(void **state)
{
    struct fx *f = *state;

    side_start(f, &f->a, 1, SECRET);
    side_start(f, &f->b, 2, SECRET);
    refused(f, 3); /* b is 2 */
}

static void test_other_cluster_is_refused(void **state)
{
    struct fx *f = *state;

    side_start(f, &f->a, 1, SECRET);
    side_start(f, &f->b, 2, SECRET);
    snprintf(f->a.cid, sizeof f->a.cid, "aaaa");
    snprintf(f->b.cid, sizeof f->b.cid, "bbbb");
    refused(f, 2);
}

/* A transport with a secret dialling one without: the plain side closes
 * at our HELLO; ours fails (closed), nothing is handed over. */
static void test_secret_against_plain(void **state)
{
    struct fx *f = *state;
    struct rsm_transport_stats st;

    side_start(f, &f->a, 1, SECRET);
    side_start(f, &f->b, 2, NULL);
    dial(f, 2);
    assert_int_equal(f->status, RAFT_NOCONNECTION);
    get_stats(&f->a, &st);
    assert_int_equal(st.auth_failed, 1);
    get_stats(&f->b, &st);
    assert_false(st.authenticated);
    assert_int_equal(f->b.accepted, 0);
}

/* Without a secret on either side: raft_uv_tcp, as before. */
static void test_plain_both_sides(void **state)
{
    struct fx *f = *state;

    side_start(f, &f->a, 1, NULL);
    side_start(f, &f->b, 2, NULL);
    dial(f, 2);
    assert_int_equal(f->status, 0);
    run_until(f, &f->b.any_accepted);
    assert_int_equal(f->b.accepted_id, 1);
    assert_string_equal(f->b.accepted_addr, f->a.addr);
}

/* ---- connect failures ---------------------------------------------------- */

static void test_nobody_listening(void **state)
{
    struct fx *f = *state;
    struct rsm_transport_stats st;
    char addr[32];

    side_start(f, &f->a, 1, SECRET);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)free_port());
    assert_int_equal(f->a.t.connect(&f->a.t, &f->req, 2, addr, connected), 0);
    assert_false(f->answered); /* never from inside connect() */
    run_until(f, &f->answered);
    assert_int_equal(f->status, RAFT_NOCONNECTION);
    get_stats(&f->a, &st);
    assert_int_equal(st.connect_errors, 1);
    assert_int_equal(st.auth_failed, 0);
}

static void test_bad_address(void **state)
{
    struct fx *f = *state;

    side_start(f, &f->a, 1, SECRET);
    assert_int_equal(
        f->a.t.connect(&f->a.t, &f->req, 2, "no port here", connected),
        RAFT_INVALID);
    assert_false(f->answered);
}

/* ---- close() with work in flight ----------------------------------------- */

/* Close the dialling side while its handshake is in flight: raft hears
 * CANCELED, and the loop is left clean. */
static void test_close_during_outgoing_handshake(void **state)
{
    struct fx *f = *state;

    side_start(f, &f->a, 1, SECRET);
    side_start(f, &f->b, 2, SECRET);
    assert_int_equal(f->a.t.connect(&f->a.t, &f->req, 2, f->b.addr, connected),
                     0);
    uv_run(&f->loop, UV_RUN_NOWAIT); /* connect under way, no answer yet */
    assert_false(f->answered);
    side_close(f, &f->a);
    assert_true(f->answered);
    assert_int_equal(f->status, RAFT_CANCELED);
}

/* Close the listening side with idle clients in their handshake, and a
 * lookup still queued on the dialling side. */
static void test_close_with_idle_incoming_and_pending_lookup(void **state)
{
    struct fx *f = *state;
    struct sockaddr_in sa;
    int fds[3];
    char addr[64];

    side_start(f, &f->b, 2, SECRET);
    uv_ip4_addr("127.0.0.1", atoi(strchr(f->b.addr, ':') + 1), &sa);
    for (int i = 0; i < 3; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_int_equal(connect(fds[i], (struct sockaddr *)&sa, sizeof sa), 0);
    }
    for (int i = 0; i < 5; i++) /* accepted, handshakes waiting */
        uv_run(&f->loop, UV_RUN_ONCE);
    /* and a name lookup of b's transport itself, in flight at close */
    snprintf(addr, sizeof addr, "localhost:%u", (unsigned)free_port());
    assert_int_equal(f->b.t.connect(&f->b.t, &f->req, 1, addr, connected), 0);
    side_close(f, &f->b);
    run_until(f, &f->answered);
    assert_int_equal(f->status, RAFT_CANCELED);
    assert_int_equal(f->b.accepted, 0);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
}

/* Never listened (raft_start failed early): close still completes, from
 * the loop. */
static void test_close_without_listen(void **state)
{
    struct fx *f = *state;
    struct rsm_transport_auth auth = {
        .secret = (const unsigned char *)SECRET,
        .secret_len = strlen(SECRET),
        .self_id = 1,
    };
    struct rsm_addr bind = {.host = "127.0.0.1", .port = 1};
    char err[256];

    assert_int_equal(
        rsm_transport_init(&f->a.t, &f->loop, &bind, &auth, err, sizeof err),
        0);
    f->a.up = true;
    f->a.t.close(&f->a.t, side_closed);
    assert_false(f->a.closed); /* not from inside close() */
    run_until(f, &f->a.closed);
    rsm_transport_destroy(&f->a.t);
    f->a.up = false;
}

/* The id raft gives must be the handshake's. */
static void test_init_checks_the_id(void **state)
{
    struct fx *f = *state;
    struct rsm_transport_auth auth = {
        .secret = (const unsigned char *)SECRET,
        .secret_len = strlen(SECRET),
        .self_id = 1,
    };
    struct rsm_addr bind = {.host = "127.0.0.1", .port = 1};
    char err[256];

    assert_int_equal(
        rsm_transport_init(&f->a.t, &f->loop, &bind, &auth, err, sizeof err),
        0);
    assert_int_equal(f->a.t.init(&f->a.t, 2, "127.0.0.1:1"), RAFT_INVALID);
    assert_non_null(strstr(f->a.t.errmsg, "id"));
    rsm_transport_destroy(&f->a.t);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_handshake_hands_both_streams_over),
        T(test_same_cluster_passes),
        T(test_other_secret_is_refused),
        T(test_wrong_member_id_is_refused),
        T(test_other_cluster_is_refused),
        T(test_secret_against_plain),
        T(test_plain_both_sides),
        T(test_nobody_listening),
        T(test_bad_address),
        T(test_close_during_outgoing_handshake),
        T(test_close_with_idle_incoming_and_pending_lookup),
        T(test_close_without_listen),
        T(test_init_checks_the_id),
    };
#undef T

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
