/* test_api.c - unit tests for io/api: the INFO and STATUS rendering from
 * plain structs, then the command table over real sockets on 127.0.0.1
 * against a fake node (the API reaches the node only through
 * struct rsm_api_node_ops). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rsm/api.h"
#include "rsm/cmddoc.h"
#include "rsm/err.h"
#include "rsm/fsm.h"

/* ===================================================================
 * A fake node: a status and an FSM the test sets, membership changes the
 * test completes by hand.
 * =================================================================== */

struct rsm_node {
    struct rsm_node_status st;
    struct rsm_fsm fsm;
    bool leader;
    int refuse;          /* returned by add/remove if not 0 */
    rsm_node_done_cb cb; /* the change in progress */
    void *cb_arg;
    struct rsm_member added;
    uint64_t removed;
    int n_changes;
    struct rsm_entry proposed; /* the last entry proposed */
    int n_proposed;
};

static void fake_status(const struct rsm_node *n, struct rsm_node_status *out)
{
    *out = n->st;
}

static const struct rsm_fsm *fake_fsm(const struct rsm_node *n)
{
    return &n->fsm;
}

static bool fake_is_leader(const struct rsm_node *n)
{
    return n->leader;
}

static int fake_add(struct rsm_node *n, const struct rsm_member *m,
                    rsm_node_done_cb cb, void *arg)
{
    if (n->refuse)
        return n->refuse;
    n->added = *m;
    n->cb = cb;
    n->cb_arg = arg;
    n->n_changes++;
    return 0;
}

static int fake_remove(struct rsm_node *n, uint64_t id, rsm_node_done_cb cb,
                       void *arg)
{
    if (n->refuse)
        return n->refuse;
    n->removed = id;
    n->cb = cb;
    n->cb_arg = arg;
    n->n_changes++;
    return 0;
}

/* "host:port[/apiport]" (the real parser lives in node.c). */
static int fake_parse(const char *text, uint16_t def_api, struct rsm_member *m,
                      char *errmsg, size_t errlen)
{
    char buf[RSM_ADDR_STRLEN];
    char *slash;
    long api = def_api;

    snprintf(buf, sizeof buf, "%s", text);
    slash = strchr(buf, '/');
    if (slash != NULL) {
        *slash = '\0';
        api = strtol(slash + 1, NULL, 10);
    }
    if (rsm_addr_parse(buf, &m->raft, errmsg, errlen) != 0)
        return RSM_EINVAL;
    return rsm_addr_set(&m->api, m->raft.host, api, errmsg, errlen);
}

static int fake_propose(struct rsm_node *n, const struct rsm_entry *e,
                        rsm_node_done_cb cb, void *arg)
{
    if (!n->leader)
        return RSM_ENOTLEADER;
    if (n->refuse)
        return n->refuse;
    n->proposed = *e;
    n->n_proposed++;
    n->cb = cb;
    n->cb_arg = arg;
    return 0;
}

static const struct rsm_api_node_ops fake_ops = {
    fake_status, fake_fsm,   fake_is_leader, fake_add,
    fake_remove, fake_parse, fake_propose,
};

static void member(struct rsm_member *m, uint64_t id, const char *raft,
                   const char *api)
{
    m->id = id;
    assert_int_equal(rsm_addr_parse(raft, &m->raft, NULL, 0), 0);
    assert_int_equal(rsm_addr_parse(api, &m->api, NULL, 0), 0);
    m->voter = true;
}

/* Agent 1 of 3, follower of agent 2. */
static void three_agents(struct rsm_node_status *st)
{
    memset(st, 0, sizeof *st);
    st->id = 1;
    st->state = "follower";
    st->term = 7;
    st->has_leader = true;
    st->commit_index = 42;
    st->applied_index = 41;
    st->last_index = 43;
    st->leader_changes = 3;
    st->n_members = 3;
    member(&st->members[0], 1, "127.0.0.1:7001", "127.0.0.1:26379");
    member(&st->members[1], 2, "127.0.0.1:7002", "127.0.0.1:26380");
    member(&st->members[2], 3, "127.0.0.1:7003", "127.0.0.1:26381");
    st->leader = st->members[1];
}

static void addr_of(struct rsm_addr *a, const char *text)
{
    assert_int_equal(rsm_addr_parse(text, a, NULL, 0), 0);
}

static void apply(struct rsm_fsm *fsm, const struct rsm_entry *e)
{
    char reason[RSM_ERRMSG_SIZE];

    if (rsm_fsm_apply(fsm, e, reason, sizeof reason) != 0)
        fail_msg("%s refused: %s", rsm_entry_kind_str(e->kind), reason);
}

/* Group "mymaster": master A, one completed failover A -> B (epoch 1),
 * then a decided failover B -> C in flight (epoch 2). Group "other": a
 * master and nothing else, paused. */
static void two_groups(struct rsm_fsm *fsm)
{
    struct rsm_entry *e = calloc(1, sizeof *e);

    assert_non_null(e);
    rsm_entry_init(e, RSM_ENTRY_OBSERVE_MASTER, "mymaster", 1000);
    addr_of(&e->master, "10.0.0.1:6379");
    snprintf(e->run_id, sizeof e->run_id, "run-a");
    e->n_members = 3;
    addr_of(&e->members[0], "10.0.0.1:6379");
    addr_of(&e->members[1], "10.0.0.2:6379");
    addr_of(&e->members[2], "10.0.0.3:6379");
    apply(fsm, e);

    rsm_entry_init(e, RSM_ENTRY_DECIDE_FAILOVER, "mymaster", 2000);
    e->epoch = 1;
    addr_of(&e->old_master, "10.0.0.1:6379");
    addr_of(&e->master, "10.0.0.2:6379");
    e->n_ranked = 1;
    addr_of(&e->ranking[0].addr, "10.0.0.2:6379");
    e->ranking[0].rank = 1;
    e->ranking[0].offset = 900;
    e->ranking[0].priority = 100;
    snprintf(e->reason, sizeof e->reason, "master down");
    e->old_offset = 1000;
    e->new_offset = 900;
    e->decided_by = 2;
    apply(fsm, e);

    rsm_entry_init(e, RSM_ENTRY_COMPLETE_FAILOVER, "mymaster", 3000);
    e->epoch = 1;
    e->result = RSM_RESULT_COMPLETED;
    e->data_at_risk = 100;
    apply(fsm, e);

    rsm_entry_init(e, RSM_ENTRY_DECIDE_FAILOVER, "mymaster", 4000);
    e->epoch = 2;
    addr_of(&e->old_master, "10.0.0.2:6379");
    addr_of(&e->master, "10.0.0.3:6379");
    e->failover_kind = RSM_FAILOVER_SWITCHOVER;
    e->n_ranked = 2;
    addr_of(&e->ranking[0].addr, "10.0.0.3:6379");
    e->ranking[0].rank = 1;
    addr_of(&e->ranking[1].addr, "10.0.0.1:6379");
    e->ranking[1].rank = 0;
    snprintf(e->ranking[1].reason, sizeof e->ranking[1].reason, "priority 0");
    snprintf(e->reason, sizeof e->reason, "operator switchover");
    e->decided_by = 2;
    apply(fsm, e);

    rsm_entry_init(e, RSM_ENTRY_OBSERVE_MASTER, "other", 5000);
    addr_of(&e->master, "10.0.1.1:6379");
    e->n_members = 1;
    addr_of(&e->members[0], "10.0.1.1:6379");
    apply(fsm, e);
    rsm_entry_init(e, RSM_ENTRY_SET_PAUSED, "other", 6000);
    e->paused = true;
    apply(fsm, e);
    free(e);
}

static const struct rsm_api_server_info server_info = {
    .version = "9.9.9", .uptime_s = 90061, .port = 26379};

/* ===================================================================
 * Rendering
 * =================================================================== */

static void assert_has(const char *text, const char *needle)
{
    if (strstr(text, needle) == NULL)
        fail_msg("'%s' not in:\n%s", needle, text);
}

static void test_info_every_section(void **state)
{
    struct rsm_node_status st;
    struct rsm_fsm fsm;
    char *text;

    three_agents(&st);
    rsm_fsm_init(&fsm);
    two_groups(&fsm);
    text = rsm_api_render_info(&st, &fsm, &server_info, NULL);
    assert_non_null(text);
    assert_true(strncmp(text, "# Server\r\nredis_version:7.0.15\r\n", 32) == 0);
    assert_has(text, "\r\nrsm_version:9.9.9\r\n");
    assert_has(text, "\r\nuptime_in_seconds:90061\r\nuptime_in_days:1\r\n");
    assert_has(text, "\r\n\r\n# Raft\r\nraft_id:1\r\nraft_role:follower\r\n"
                     "raft_term:7\r\nraft_leader_id:2\r\n"
                     "raft_leader_addr:127.0.0.1:7002\r\n"
                     "raft_leader_api:127.0.0.1:26380\r\n"
                     "raft_commit_index:42\r\nraft_applied_index:41\r\n"
                     "raft_last_index:43\r\nraft_leader_changes:3\r\n"
                     "raft_members:3\r\n");
    assert_has(text, "member0:id=1,raft=127.0.0.1:7001,api=127.0.0.1:26379,"
                     "voter=1,leader=0\r\n");
    assert_has(text, "member1:id=2,raft=127.0.0.1:7002,api=127.0.0.1:26380,"
                     "voter=1,leader=1\r\n");
    assert_has(text, "# Groups\r\ngroups:2\r\n");
    assert_has(text, "group0:name=mymaster,master=10.0.0.2:6379,epoch=2,"
                     "paused=0,in_flight=1\r\n");
    assert_has(text, "group1:name=other,master=10.0.1.1:6379,epoch=0,"
                     "paused=1,in_flight=0\r\n");
    free(text);
    rsm_fsm_close(&fsm);
}

static void test_info_one_section_and_unknown(void **state)
{
    struct rsm_node_status st;
    char *text;

    three_agents(&st);
    text = rsm_api_render_info(&st, NULL, &server_info, "RAFT");
    assert_true(strncmp(text, "# Raft\r\n", 8) == 0);
    assert_null(strstr(text, "# Server"));
    assert_null(strstr(text, "# Groups"));
    free(text);
    text = rsm_api_render_info(&st, NULL, &server_info, "groups");
    assert_string_equal(text, "# Groups\r\ngroups:0\r\nfsm_applied:0\r\n"
                              "fsm_rejected:0\r\n\r\n");
    free(text);
    text = rsm_api_render_info(&st, NULL, &server_info, "nosuchsection");
    assert_string_equal(text, "");
    free(text);
}

static void test_info_without_leader(void **state)
{
    struct rsm_node_status st;
    char *text;

    three_agents(&st);
    st.has_leader = false;
    st.state = "candidate";
    text = rsm_api_render_info(&st, NULL, &server_info, "raft");
    assert_has(text, "raft_role:candidate\r\n");
    assert_has(text, "raft_leader_id:0\r\nraft_leader_addr:\r\n"
                     "raft_leader_api:\r\n");
    assert_has(text, "voter=1,leader=0\r\nmember1:");
    assert_null(strstr(text, "leader=1"));
    free(text);
}

static json_t *get(json_t *o, const char *path)
{
    char buf[128], *save = NULL;

    snprintf(buf, sizeof buf, "%s", path);
    for (char *k = strtok_r(buf, ".", &save); k && o;
         k = strtok_r(NULL, ".", &save)) {
        if (json_is_array(o))
            o = json_array_get(o, strtoul(k, NULL, 10));
        else
            o = json_object_get(o, k);
    }
    if (o == NULL)
        fail_msg("no %s in the status JSON", path);
    return o;
}

static void assert_jstr(json_t *o, const char *path, const char *want)
{
    json_t *v = get(o, path);

    assert_true(json_is_string(v));
    assert_string_equal(json_string_value(v), want);
}

static void assert_jint(json_t *o, const char *path, long long want)
{
    json_t *v = get(o, path);

    assert_true(json_is_integer(v));
    assert_int_equal(json_integer_value(v), want);
}

static void test_status_json(void **state)
{
    struct rsm_node_status st;
    struct rsm_fsm fsm;
    json_error_t jerr;
    char *text;
    json_t *o;

    three_agents(&st);
    rsm_fsm_init(&fsm);
    two_groups(&fsm);
    text = rsm_api_render_status(&st, &fsm, &server_info);
    assert_non_null(text);
    o = json_loads(text, 0, &jerr);
    assert_non_null(o);
    assert_jstr(o, "version", "9.9.9");
    assert_jint(o, "id", 1);
    assert_jstr(o, "role", "follower");
    assert_jint(o, "term", 7);
    assert_jint(o, "leader.id", 2);
    assert_jstr(o, "leader.api", "127.0.0.1:26380");
    assert_jint(o, "commit_index", 42);
    assert_jint(o, "applied_index", 41);
    assert_int_equal(json_array_size(get(o, "members")), 3);
    assert_jstr(o, "members.2.raft", "127.0.0.1:7003");
    assert_true(json_is_true(get(o, "members.1.leader")));
    assert_true(json_is_false(get(o, "members.0.leader")));
    assert_true(json_is_true(get(o, "members.0.voter")));
    assert_jint(o, "fsm.applied", 6);
    assert_int_equal(json_array_size(get(o, "groups")), 2);
    assert_jstr(o, "groups.0.name", "mymaster");
    assert_jstr(o, "groups.0.master", "10.0.0.2:6379");
    assert_jint(o, "groups.0.epoch", 2);
    assert_true(json_is_false(get(o, "groups.0.paused")));
    assert_int_equal(json_array_size(get(o, "groups.0.members")), 3);
    assert_jint(o, "groups.0.in_flight.epoch", 2);
    assert_jstr(o, "groups.0.in_flight.kind", "switchover");
    assert_jstr(o, "groups.0.in_flight.old_master", "10.0.0.2:6379");
    assert_jstr(o, "groups.0.in_flight.new_master", "10.0.0.3:6379");
    assert_jstr(o, "groups.0.in_flight.step", "none");
    assert_jstr(o, "groups.0.in_flight.reason", "operator switchover");
    assert_jint(o, "groups.0.in_flight.ranking.1.rank", 0);
    assert_jstr(o, "groups.0.in_flight.ranking.1.reason", "priority 0");
    assert_int_equal(json_array_size(get(o, "groups.0.history")), 1);
    assert_jint(o, "groups.0.history.0.epoch", 1);
    assert_jstr(o, "groups.0.history.0.result", "completed");
    assert_jstr(o, "groups.0.history.0.kind", "automatic");
    assert_jstr(o, "groups.0.history.0.old_master", "10.0.0.1:6379");
    assert_jstr(o, "groups.0.history.0.new_master", "10.0.0.2:6379");
    assert_jint(o, "groups.0.history.0.data_at_risk", 100);
    assert_jint(o, "groups.0.last_failover_end_ms", 3000);
    assert_jstr(o, "groups.1.name", "other");
    assert_true(json_is_null(get(o, "groups.1.in_flight")));
    assert_true(json_is_true(get(o, "groups.1.paused")));
    json_decref(o);
    free(text);

    /* no leader, no FSM */
    st.has_leader = false;
    text = rsm_api_render_status(&st, NULL, &server_info);
    o = json_loads(text, 0, &jerr);
    assert_non_null(o);
    assert_true(json_is_null(get(o, "leader")));
    assert_int_equal(json_array_size(get(o, "groups")), 0);
    json_decref(o);
    free(text);
    rsm_fsm_close(&fsm);
}

/* ===================================================================
 * Commands over sockets
 * =================================================================== */

struct fx {
    uv_loop_t loop;
    struct rsm_node node;
    struct rsm_api *api;
    bool stopped;
    int fd;
    redisReader *reader;
};

static int setup_with(void **state, const char *password)
{
    struct fx *f = calloc(1, sizeof *f);
    struct rsm_api_config cfg = {.bind = {.host = "127.0.0.1", .port = 0}};
    struct sockaddr_in a = {.sin_family = AF_INET};
    char err[RSM_ERRMSG_SIZE];

    assert_non_null(f);
    snprintf(cfg.requirepass, sizeof cfg.requirepass, "%s", password);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    three_agents(&f->node.st);
    rsm_fsm_init(&f->node.fsm);
    two_groups(&f->node.fsm);
    assert_int_equal(rsm_api_start_ops(&f->loop, &cfg, &f->node, &fake_ops,
                                       &f->api, err, sizeof err),
                     0);
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_port = htons(rsm_api_port(f->api));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(f->fd, (struct sockaddr *)&a, sizeof a), 0);
    f->reader = redisReaderCreate();
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, "");
}

static int setup_pass(void **state)
{
    return setup_with(state, "hunter2");
}

static void on_stopped(void *arg)
{
    ((struct fx *)arg)->stopped = true;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    close(f->fd);
    redisReaderFree(f->reader);
    rsm_api_stop(f->api, on_stopped, f);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_true(f->stopped);
    /* a change that completes after the API is gone is harmless */
    if (f->node.cb)
        f->node.cb(f->node.cb_arg, 0, NULL);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    rsm_fsm_close(&f->node.fsm);
    free(f);
    return 0;
}

static void send_cmd(struct fx *f, int argc, const char **argv)
{
    char *buf = NULL;
    int n = redisFormatCommandArgv(&buf, argc, argv, NULL);

    assert_true(n > 0);
    assert_int_equal(send(f->fd, buf, (size_t)n, MSG_NOSIGNAL), n);
    free(buf);
}

/* The next reply, or NULL if none came within 2 s (caller frees). */
static redisReply *read_reply(struct fx *f, int ms)
{
    void *rep = NULL;
    char buf[16384];

    for (int i = 0; i < ms; i++) {
        struct pollfd p = {.fd = f->fd, .events = POLLIN};
        assert_int_equal(redisReaderGetReply(f->reader, &rep), REDIS_OK);
        if (rep != NULL)
            return rep;
        uv_run(&f->loop, UV_RUN_NOWAIT);
        if (poll(&p, 1, 1) == 1) {
            ssize_t n = recv(f->fd, buf, sizeof buf, MSG_DONTWAIT);
            assert_true(n > 0);
            redisReaderFeed(f->reader, buf, (size_t)n);
        }
    }
    return NULL;
}

#define CALL(f, ...)                                                           \
    call(f, sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *),      \
         (const char *[]){__VA_ARGS__})

static redisReply *call(struct fx *f, int argc, const char **argv)
{
    redisReply *r;

    send_cmd(f, argc, argv);
    r = read_reply(f, 2000);
    assert_non_null(r);
    return r;
}

static void expect_status(redisReply *r, const char *s)
{
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    assert_string_equal(r->str, s);
    freeReplyObject(r);
}

static void expect_error(redisReply *r, const char *s)
{
    if (r->type != REDIS_REPLY_ERROR || strcmp(r->str, s) != 0)
        fail_msg("expected error '%s', got type %d '%s'", s, r->type,
                 r->str ? r->str : "");
    freeReplyObject(r);
}

static void test_ping_info_status(void **state)
{
    struct fx *f = *state;
    redisReply *r;
    json_error_t jerr;
    json_t *o;

    expect_status(CALL(f, "PING"), "PONG");
    r = CALL(f, "ping", "hello");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, "hello");
    freeReplyObject(r);

    r = CALL(f, "INFO");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_has(r->str, "rsm_version:" RSM_VERSION "\r\n");
    assert_has(r->str, "raft_leader_api:127.0.0.1:26380\r\n");
    assert_has(r->str, "group0:name=mymaster");
    freeReplyObject(r);
    r = CALL(f, "info", "raft");
    assert_true(strncmp(r->str, "# Raft\r\n", 8) == 0);
    freeReplyObject(r);

    r = CALL(f, "RSM", "STATUS");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    o = json_loads(r->str, 0, &jerr);
    assert_non_null(o);
    assert_jint(o, "leader.id", 2);
    assert_jstr(o, "groups.0.name", "mymaster");
    json_decref(o);
    freeReplyObject(r);
}

static void test_members(void **state)
{
    struct fx *f = *state;
    redisReply *r = CALL(f, "rsm", "members"), *m;

    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    m = r->element[1];
    assert_int_equal(m->type, REDIS_REPLY_ARRAY);
    assert_int_equal(m->elements, 5);
    assert_int_equal(m->element[0]->integer, 2);
    assert_string_equal(m->element[1]->str, "127.0.0.1:7002");
    assert_string_equal(m->element[2]->str, "127.0.0.1:26380");
    assert_int_equal(m->element[3]->integer, 1);
    assert_int_equal(m->element[4]->integer, 1);
    assert_int_equal(r->element[0]->element[4]->integer, 0);
    freeReplyObject(r);
}

static void test_follower_names_the_leader(void **state)
{
    struct fx *f = *state;

    expect_error(CALL(f, "RSM", "MEMBER", "ADD", "4", "127.0.0.1:7004"),
                 "NOTLEADER 2 127.0.0.1:26380");
    expect_error(CALL(f, "RSM", "MEMBER", "REMOVE", "3"),
                 "NOTLEADER 2 127.0.0.1:26380");
    f->node.st.has_leader = false;
    expect_error(CALL(f, "RSM", "MEMBER", "REMOVE", "3"),
                 "NOLEADER no leader elected");
    assert_int_equal(f->node.n_changes, 0);
}

/* The leader answers a membership change once the node reports it
 * committed; a request pipelined behind it waits for it. */
static void test_member_add_and_remove_on_leader(void **state)
{
    struct fx *f = *state;
    const char *add[] = {"RSM", "MEMBER", "ADD", "4", "127.0.0.1:7004/26382"};
    const char *ping[] = {"PING"};

    f->node.leader = true;
    f->node.st.leader = f->node.st.members[0];
    send_cmd(f, 5, add);
    send_cmd(f, 1, ping);
    assert_null(read_reply(f, 100)); /* not committed yet */
    assert_int_equal(f->node.n_changes, 1);
    assert_int_equal(f->node.added.id, 4);
    assert_true(f->node.added.voter);
    assert_string_equal(f->node.added.raft.host, "127.0.0.1");
    assert_int_equal(f->node.added.raft.port, 7004);
    assert_int_equal(f->node.added.api.port, 26382);
    f->node.cb(f->node.cb_arg, 0, NULL);
    f->node.cb = NULL;
    expect_status(read_reply(f, 2000), "OK");
    expect_status(read_reply(f, 2000), "PONG");

    /* the API port is ours when the address has none */
    const char *add5[] = {"RSM", "MEMBER", "ADD", "5", "127.0.0.1:7005"};
    send_cmd(f, 5, add5);
    assert_null(read_reply(f, 50));
    assert_int_equal(f->node.added.api.port, rsm_api_port(f->api));
    f->node.cb(f->node.cb_arg, RSM_ERAFT, "leadership lost");
    f->node.cb = NULL;
    expect_error(read_reply(f, 2000),
                 "ERR membership change failed: leadership lost");

    const char *rm[] = {"RSM", "MEMBER", "REMOVE", "3"};
    send_cmd(f, 4, rm);
    assert_null(read_reply(f, 50));
    assert_int_equal(f->node.removed, 3);
    f->node.cb(f->node.cb_arg, 0, NULL);
    f->node.cb = NULL;
    expect_status(read_reply(f, 2000), "OK");

    /* the node refuses at once: a change in progress, a taken address */
    f->node.refuse = RSM_EBUSY;
    expect_error(CALL(f, "RSM", "MEMBER", "REMOVE", "2"),
                 "ERR a membership change is already in progress, try again");
    f->node.refuse = RSM_EEXIST;
    expect_error(CALL(f, "RSM", "MEMBER", "ADD", "6", "127.0.0.1:7002"),
                 "ERR member id or address already in use");
    /* ... or lost leadership in between */
    f->node.refuse = RSM_ENOTLEADER;
    f->node.st.leader = f->node.st.members[2];
    expect_error(CALL(f, "RSM", "MEMBER", "REMOVE", "2"),
                 "NOTLEADER 3 127.0.0.1:26381");
}

static void test_member_changes_bad_arguments(void **state)
{
    struct fx *f = *state;

    f->node.leader = true;
    expect_error(CALL(f, "RSM", "MEMBER", "ADD", "x", "127.0.0.1:7004"),
                 "ERR invalid member id 'x'");
    expect_error(CALL(f, "RSM", "MEMBER", "ADD", "0", "127.0.0.1:7004"),
                 "ERR invalid member id '0'");
    expect_error(CALL(f, "RSM", "MEMBER", "ADD", "-1", "127.0.0.1:7004"),
                 "ERR invalid member id '-1'");
    expect_error(CALL(f, "RSM", "MEMBER", "ADD", "2", "127.0.0.1:7009"),
                 "ERR member 2 already exists");
    expect_error(CALL(f, "RSM", "MEMBER", "REMOVE", "9"), "ERR no member 9");
    {
        redisReply *r = CALL(f, "RSM", "MEMBER", "ADD", "4", "nope");
        assert_int_equal(r->type, REDIS_REPLY_ERROR);
        assert_true(
            strncmp(r->str, "ERR invalid member address 'nope': ", 35) == 0);
        freeReplyObject(r);
    }
    assert_int_equal(f->node.n_changes, 0);
}

static void test_unknown_commands_and_arity(void **state)
{
    struct fx *f = *state;
    redisReply *r;

    expect_error(CALL(f, "FLUSHALL"),
                 "ERR unknown command 'FLUSHALL', with args beginning "
                 "with: ");
    expect_error(CALL(f, "get", "a", "b"),
                 "ERR unknown command 'get', with args beginning with: 'a' "
                 "'b' ");
    expect_error(CALL(f, "PING", "a", "b"),
                 "ERR wrong number of arguments for 'ping' command");
    expect_error(CALL(f, "RSM"),
                 "ERR wrong number of arguments for 'rsm' command");
    expect_error(CALL(f, "RSM", "FROB"),
                 "ERR unknown subcommand 'FROB'. Try RSM HELP.");
    expect_error(CALL(f, "RSM", "STATUS", "x"),
                 "ERR wrong number of arguments for 'rsm|status' command");
    expect_error(CALL(f, "RSM", "MEMBER"),
                 "ERR wrong number of arguments for 'rsm|member' command");
    expect_error(CALL(f, "RSM", "MEMBER", "JOIN", "4"),
                 "ERR unknown subcommand 'JOIN'. Try RSM HELP.");
    expect_error(CALL(f, "RSM", "MEMBER", "ADD", "4"),
                 "ERR wrong number of arguments for 'rsm|member|add' "
                 "command");
    r = CALL(f, "RSM", "HELP");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_true(r->elements >= 6);
    freeReplyObject(r);
    /* the connection still works after all that */
    expect_status(CALL(f, "PING"), "PONG");
}

/* The client leaves while its change is in progress: the completion still
 * runs (and frees the orphaned reply). */
static void test_client_gone_before_commit(void **state)
{
    struct fx *f = *state;
    const char *add[] = {"RSM", "MEMBER", "ADD", "4", "127.0.0.1:7004"};

    f->node.leader = true;
    send_cmd(f, 5, add);
    assert_null(read_reply(f, 50));
    assert_non_null(f->node.cb);
    close(f->fd);
    f->fd = -1;
    for (int i = 0; i < 50; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    f->node.cb(f->node.cb_arg, 0, NULL);
    f->node.cb = NULL;
}

/* Stopped with a change in progress: completed after the stop (in
 * teardown). */
static void test_stop_with_change_in_progress(void **state)
{
    struct fx *f = *state;
    const char *add[] = {"RSM", "MEMBER", "ADD", "4", "127.0.0.1:7004"};

    f->node.leader = true;
    send_cmd(f, 5, add);
    assert_null(read_reply(f, 50));
    assert_non_null(f->node.cb);
}

static void test_bind_error(void **state)
{
    struct fx *f = *state;
    struct rsm_api_config cfg = {.bind = {.host = "127.0.0.1"}};
    struct rsm_api *other;
    char err[RSM_ERRMSG_SIZE];

    cfg.bind.port = rsm_api_port(f->api);
    assert_int_equal(rsm_api_start_ops(&f->loop, &cfg, &f->node, &fake_ops,
                                       &other, err, sizeof err),
                     RSM_EIO);
    assert_has(err, "in use");
}

/* ===================================================================
 * Sentinel, connection and pub/sub commands
 * =================================================================== */

/* A flat array of pairs, every value a bulk string: the value of key. */
static const char *field(const redisReply *r, const char *key)
{
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements % 2, 0);
    for (size_t i = 0; i < r->elements; i += 2) {
        assert_int_equal(r->element[i + 1]->type, REDIS_REPLY_STRING);
        if (strcmp(r->element[i]->str, key) == 0)
            return r->element[i + 1]->str;
    }
    fail_msg("no field %s", key);
    return NULL;
}

static void expect_bulks(redisReply *r, size_t n, ...)
{
    va_list ap;

    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, n);
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        const char *want = va_arg(ap, const char *);
        assert_int_equal(r->element[i]->type, REDIS_REPLY_STRING);
        assert_string_equal(r->element[i]->str, want);
    }
    va_end(ap);
    freeReplyObject(r);
}

static void test_sentinel_commands(void **state)
{
    struct fx *f = *state;
    redisReply *r;

    expect_bulks(CALL(f, "SENTINEL", "get-master-addr-by-name", "mymaster"), 2,
                 "10.0.0.2", "6379");
    r = CALL(f, "sentinel", "GET-MASTER-ADDR-BY-NAME", "nosuch");
    assert_int_equal(r->type, REDIS_REPLY_NIL); /* a null array */
    freeReplyObject(r);

    r = CALL(f, "SENTINEL", "MASTERS");
    assert_int_equal(r->elements, 2);
    assert_string_equal(field(r->element[0], "name"), "mymaster");
    assert_string_equal(field(r->element[0], "ip"), "10.0.0.2");
    assert_string_equal(field(r->element[0], "flags"),
                        "master,failover_in_progress");
    assert_string_equal(field(r->element[0], "num-slaves"), "2");
    assert_string_equal(field(r->element[0], "num-other-sentinels"), "2");
    assert_string_equal(field(r->element[0], "quorum"), "2");
    assert_string_equal(field(r->element[0], "config-epoch"), "2");
    assert_string_equal(field(r->element[1], "name"), "other");
    assert_string_equal(field(r->element[1], "flags"), "master");
    freeReplyObject(r);
    r = CALL(f, "SENTINEL", "MASTER", "other");
    assert_string_equal(field(r, "ip"), "10.0.1.1");
    assert_string_equal(field(r, "num-slaves"), "0");
    freeReplyObject(r);
    expect_error(CALL(f, "SENTINEL", "MASTER", "nosuch"),
                 "ERR No such master with that name");
    expect_error(CALL(f, "SENTINEL", "REPLICAS", "nosuch"),
                 "ERR No such master with that name");

    r = CALL(f, "SENTINEL", "SLAVES", "mymaster");
    assert_int_equal(r->elements, 2);
    assert_string_equal(field(r->element[0], "name"), "10.0.0.1:6379");
    assert_string_equal(field(r->element[0], "flags"), "slave");
    assert_string_equal(field(r->element[1], "name"), "10.0.0.3:6379");
    assert_string_equal(field(r->element[1], "flags"), "slave,promoted");
    freeReplyObject(r);

    r = CALL(f, "SENTINEL", "SENTINELS", "mymaster");
    assert_int_equal(r->elements, 2);
    assert_string_equal(field(r->element[0], "port"), "26380");
    assert_string_equal(field(r->element[1], "port"), "26381");
    freeReplyObject(r);
    r = CALL(f, "SENTINEL", "MYID");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_int_equal(r->len, 40);
    freeReplyObject(r);
    r = CALL(f, "SENTINEL", "CKQUORUM", "mymaster");
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    assert_true(strncmp(r->str, "OK 3 usable Sentinels", 21) == 0);
    freeReplyObject(r);
    f->node.st.has_leader = false;
    r = CALL(f, "SENTINEL", "CKQUORUM", "mymaster");
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_true(strncmp(r->str, "NOQUORUM ", 9) == 0);
    freeReplyObject(r);
    f->node.st.has_leader = true;

    /* a manual failover needs the leader, and a monitor */
    expect_error(CALL(f, "SENTINEL", "FAILOVER", "mymaster"),
                 "NOTLEADER 2 127.0.0.1:26380");
    f->node.leader = true;
    expect_error(CALL(f, "SENTINEL", "FAILOVER", "mymaster"),
                 "ERR this agent does not monitor Redis (no --monitor)");
    expect_error(CALL(f, "SENTINEL", "FAILOVER", "nosuch"),
                 "ERR No such master with that name");
    /* RSM FAILOVER <group> [FORCE] (issue #14): the same, leader only */
    expect_error(CALL(f, "RSM", "FAILOVER", "mymaster", "FORCE"),
                 "ERR this agent does not monitor Redis (no --monitor)");
    expect_error(CALL(f, "RSM", "FAILOVER", "mymaster", "NOW"),
                 "ERR bad argument 'NOW': want FORCE or nothing");
    expect_error(CALL(f, "RSM", "FAILOVER", "nosuch", "force"),
                 "ERR No such master with that name");
    f->node.leader = false;
    expect_error(CALL(f, "RSM", "FAILOVER", "mymaster"),
                 "NOTLEADER 2 127.0.0.1:26380");
    f->node.leader = true;

    r = CALL(f, "ROLE");
    assert_int_equal(r->elements, 2);
    assert_string_equal(r->element[0]->str, "sentinel");
    assert_int_equal(r->element[1]->elements, 2);
    assert_string_equal(r->element[1]->element[1]->str, "other");
    freeReplyObject(r);

    r = CALL(f, "INFO", "sentinel");
    assert_has(r->str, "# Sentinel\r\nsentinel_masters:2\r\n");
    assert_has(r->str, "master0:name=mymaster,status=ok,address=10.0.0.2:6379,"
                       "slaves=2,sentinels=3\r\n");
    assert_has(r->str, "master1:name=other,status=ok,address=10.0.1.1:6379,"
                       "slaves=0,sentinels=3\r\n");
    freeReplyObject(r);
    r = CALL(f, "INFO", "clients");
    assert_has(r->str, "connected_clients:1\r\npubsub_clients:0\r\n"
                       "maxclients:1000\r\n");
    freeReplyObject(r);
    expect_error(CALL(f, "SENTINEL", "FROB"),
                 "ERR unknown subcommand 'FROB'. Try SENTINEL HELP.");
    r = CALL(f, "SENTINEL", "HELP");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_true(r->elements >= 10);
    freeReplyObject(r);
}

/* The master given to clients moves as soon as the promotion commits. */
static void test_master_moves_at_promotion(void **state)
{
    struct fx *f = *state;
    struct rsm_entry *e = calloc(1, sizeof *e);

    rsm_entry_init(e, RSM_ENTRY_FAILOVER_PROGRESS, "mymaster", 7000);
    e->epoch = 2;
    e->step = RSM_STEP_PROMOTED;
    apply(&f->node.fsm, e);
    free(e);
    expect_bulks(CALL(f, "SENTINEL", "get-master-addr-by-name", "mymaster"), 2,
                 "10.0.0.3", "6379");
    redisReply *r = CALL(f, "SENTINEL", "MASTER", "mymaster");
    assert_string_equal(field(r, "ip"), "10.0.0.3");
    assert_string_equal(field(r, "flags"), "master,failover_in_progress");
    freeReplyObject(r);
}

static void test_history(void **state)
{
    struct fx *f = *state;
    redisReply *r = CALL(f, "RSM", "HISTORY"), *h;

    assert_int_equal(r->elements, 1);
    h = r->element[0];
    assert_int_equal(h->elements, 24);
    assert_string_equal(field(h, "group"), "mymaster");
    assert_string_equal(field(h, "epoch"), "1");
    assert_string_equal(field(h, "kind"), "automatic");
    assert_string_equal(field(h, "result"), "completed");
    assert_string_equal(field(h, "old-master"), "10.0.0.1:6379");
    assert_string_equal(field(h, "new-master"), "10.0.0.2:6379");
    assert_string_equal(field(h, "data-at-risk"), "100");
    assert_string_equal(field(h, "reason"), "master down");
    freeReplyObject(r);
    r = CALL(f, "RSM", "HISTORY", "other");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 0);
    freeReplyObject(r);
    expect_error(CALL(f, "RSM", "HISTORY", "nosuch"),
                 "ERR no such group 'nosuch'");
}

static void test_pause_resume_through_the_log(void **state)
{
    struct fx *f = *state;
    const char *pause[] = {"RSM", "PAUSE", "mymaster"};
    const char *resume[] = {"RSM", "RESUME", "other"};

    expect_error(CALL(f, "RSM", "PAUSE", "mymaster"),
                 "NOTLEADER 2 127.0.0.1:26380");
    f->node.leader = true;
    expect_error(CALL(f, "RSM", "PAUSE", "nosuch"),
                 "ERR no such group 'nosuch'");
    assert_int_equal(f->node.n_proposed, 0);
    send_cmd(f, 3, pause);
    assert_null(read_reply(f, 50)); /* until committed */
    assert_int_equal(f->node.n_proposed, 1);
    assert_int_equal(f->node.proposed.kind, RSM_ENTRY_SET_PAUSED);
    assert_string_equal(f->node.proposed.group, "mymaster");
    assert_true(f->node.proposed.paused);
    f->node.cb(f->node.cb_arg, 0, NULL);
    f->node.cb = NULL;
    expect_status(read_reply(f, 2000), "OK");
    send_cmd(f, 3, resume);
    assert_null(read_reply(f, 50));
    assert_false(f->node.proposed.paused);
    assert_string_equal(f->node.proposed.group, "other");
    f->node.cb(f->node.cb_arg, RSM_ERAFT, "leadership lost");
    f->node.cb = NULL;
    expect_error(read_reply(f, 2000), "ERR not committed: leadership lost");
}

/* Issue #14: SENTINEL SET through the log (checked first, refused options
 * never proposed nor forwarded), RESET's count, CONFIG GET/SET. */
static void test_sentinel_set_reset_config(void **state)
{
    struct fx *f = *state;
    const char *set[] = {"SENTINEL", "SET", "mymaster",
                         "quorum",   "2",   "down-after-milliseconds",
                         "3000"};
    redisReply *r;

    /* a follower without a monitor cannot forward: the leader is named */
    expect_error(CALL(f, "SENTINEL", "SET", "mymaster", "quorum", "2"),
                 "NOTLEADER 2 127.0.0.1:26380");
    /* checked on the agent asked, leader or not */
    expect_error(CALL(f, "SENTINEL", "SET", "nosuch", "quorum", "2"),
                 "ERR No such master with that name");
    expect_error(CALL(f, "SENTINEL", "SET", "mymaster", "quorum", "0"),
                 "ERR Invalid argument '0' for SENTINEL SET 'quorum'");
    r = CALL(f, "SENTINEL", "SET", "mymaster", "auth-pass", "hunter2");
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(r->str, "--redis-password-file"));
    assert_null(strstr(r->str, "hunter2"));
    freeReplyObject(r);
    expect_error(
        CALL(f, "SENTINEL", "SET", "mymaster", "quorum", "2", "parallel-syncs"),
        "ERR Unknown option or number of arguments for SENTINEL "
        "SET 'parallel-syncs'");
    expect_error(CALL(f, "SENTINEL", "SET", "mymaster", "quorum"),
                 "ERR wrong number of arguments for 'sentinel|set' command");
    assert_int_equal(f->node.n_proposed, 0);

    f->node.leader = true;
    expect_error(CALL(f, "SENTINEL", "SET", "mymaster", "quorum", "2",
                      "failover-timeout", "x"),
                 "ERR Invalid argument 'x' for SENTINEL SET "
                 "'failover-timeout'");
    assert_int_equal(f->node.n_proposed, 0); /* all or nothing */
    send_cmd(f, 7, set);
    assert_null(read_reply(f, 50)); /* until committed */
    assert_int_equal(f->node.n_proposed, 1);
    assert_int_equal(f->node.proposed.kind, RSM_ENTRY_SET_GROUP_CONFIG);
    assert_string_equal(f->node.proposed.group, "mymaster");
    assert_int_equal(f->node.proposed.settings.quorum, 2);
    assert_int_equal(f->node.proposed.settings.down_after_ms, 3000);
    assert_int_equal(f->node.proposed.settings.failover_timeout_ms, 0);
    apply(&f->node.fsm, &f->node.proposed);
    f->node.cb(f->node.cb_arg, 0, NULL);
    f->node.cb = NULL;
    expect_status(read_reply(f, 2000), "OK");
    /* SENTINEL MASTER shows the group's settings */
    r = CALL(f, "SENTINEL", "MASTER", "mymaster");
    assert_string_equal(field(r, "down-after-milliseconds"), "3000");
    assert_string_equal(field(r, "quorum"), "2");
    freeReplyObject(r);

    r = CALL(f, "SENTINEL", "RESET", "*");
    assert_int_equal(r->integer, 2);
    freeReplyObject(r);
    r = CALL(f, "SENTINEL", "RESET", "my*");
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    r = CALL(f, "SENTINEL", "RESET", "nosuch");
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);

    r = CALL(f, "SENTINEL", "CONFIG", "GET", "*");
    assert_int_equal(r->elements, 14);
    assert_string_equal(r->element[0]->str, "resolve-hostnames");
    assert_string_equal(r->element[1]->str, "yes");
    assert_string_equal(field(r, "sentinel-pass"), "");
    assert_string_equal(field(r, "loglevel"), "notice");
    freeReplyObject(r);
    r = CALL(f, "SENTINEL", "CONFIG", "GET", "ANNOUNCE-*");
    assert_int_equal(r->elements, 6);
    freeReplyObject(r);
    r = CALL(f, "SENTINEL", "CONFIG", "GET", "nosuch");
    assert_int_equal(r->elements, 0);
    freeReplyObject(r);
    expect_status(CALL(f, "SENTINEL", "CONFIG", "SET", "loglevel", "warning"),
                  "OK");
    r = CALL(f, "SENTINEL", "CONFIG", "GET", "loglevel");
    assert_string_equal(r->element[1]->str, "warning");
    freeReplyObject(r);
    expect_status(CALL(f, "SENTINEL", "CONFIG", "SET", "loglevel", "notice"),
                  "OK");
    expect_status(
        CALL(f, "SENTINEL", "CONFIG", "SET", "resolve-hostnames", "yes"), "OK");
    expect_error(
        CALL(f, "SENTINEL", "CONFIG", "SET", "resolve-hostnames", "maybe"),
        "ERR Invalid value 'maybe' to SENTINEL CONFIG SET "
        "'resolve-hostnames'");
    expect_error(CALL(f, "SENTINEL", "CONFIG", "SET", "nosuch", "1"),
                 "ERR Invalid argument 'nosuch' to SENTINEL CONFIG SET");
    r = CALL(f, "SENTINEL", "CONFIG", "SET", "sentinel-pass", "hunter2");
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_null(strstr(r->str, "hunter2"));
    freeReplyObject(r);
    expect_error(CALL(f, "SENTINEL", "CONFIG", "GET"),
                 "ERR Only SENTINEL CONFIG GET <option> / SET <option> "
                 "<value> are supported.");
    expect_error(CALL(f, "SENTINEL", "CONFIG"),
                 "ERR wrong number of arguments for 'sentinel|config' "
                 "command");
    assert_int_equal(f->node.n_proposed, 1); /* none of these */
}

/* Issue #14: SENTINEL MONITOR and REMOVE through the log: checked on the
 * agent asked (Sentinel's errors), proposed by the leader, +OK once
 * committed; a follower passes them on (here without a monitor it
 * cannot: the leader is named). */
static void test_sentinel_monitor_remove(void **state)
{
    struct fx *f = *state;
    const char *mon[] = {"SENTINEL",  "MONITOR", "new",
                         "127.0.0.1", "6390",    "2"};
    const char *rm[] = {"SENTINEL", "REMOVE", "new"};
    redisReply *r;

    expect_error(
        CALL(f, "SENTINEL", "MONITOR", "new", "127.0.0.1", "6390", "x"),
        "ERR Invalid quorum");
    expect_error(CALL(f, "SENTINEL", "MONITOR", "new", "127.0.0.1", "p", "2"),
                 "ERR Invalid port");
    expect_error(
        CALL(f, "SENTINEL", "MONITOR", "new", "127.0.0.1", "6390", "0"),
        "ERR Quorum must be 1 or greater.");
    expect_error(
        CALL(f, "SENTINEL", "MONITOR", "new", "127.0.0.1", "6390", "-3"),
        "ERR Quorum must be 1 or greater.");
    expect_error(
        CALL(f, "SENTINEL", "MONITOR", "new", "127.0.0.1", "70000", "2"),
        "ERR Invalid port number");
    expect_error(
        CALL(f, "SENTINEL", "MONITOR", "new", "bad host!", "6390", "2"),
        "ERR Invalid IP address specified");
    expect_error(
        CALL(f, "SENTINEL", "MONITOR", "mymaster", "127.0.0.1", "6390", "2"),
        "ERR Duplicated master name");
    r = CALL(f, "SENTINEL", "MONITOR", "new", "127.0.0.1", "6390", "17");
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(r->str, "ERR Invalid quorum: at most 16"));
    freeReplyObject(r);
    expect_error(CALL(f, "SENTINEL", "MONITOR", "new"),
                 "ERR wrong number of arguments for 'sentinel|monitor' "
                 "command");
    expect_error(CALL(f, "SENTINEL", "REMOVE", "nosuch"),
                 "ERR No such master with that name");
    /* a follower without a monitor cannot forward: the leader is named */
    expect_error(
        CALL(f, "SENTINEL", "MONITOR", "new", "127.0.0.1", "6390", "2"),
        "NOTLEADER 2 127.0.0.1:26380");
    assert_int_equal(f->node.n_proposed, 0);

    f->node.leader = true;
    /* one that loses a race with another MONITOR of the name */
    send_cmd(f, 6, mon);
    assert_null(read_reply(f, 50));
    f->node.cb(f->node.cb_arg, RSM_EREJECTED,
               RSM_FSM_DUPLICATE_GROUP ": group 'new' exists");
    f->node.cb = NULL;
    expect_error(read_reply(f, 2000), "ERR Duplicated master name");

    send_cmd(f, 6, mon);
    assert_null(read_reply(f, 50)); /* until committed */
    assert_int_equal(f->node.n_proposed, 2);
    assert_int_equal(f->node.proposed.kind, RSM_ENTRY_MONITOR_GROUP);
    assert_string_equal(f->node.proposed.group, "new");
    assert_string_equal(f->node.proposed.master.host, "127.0.0.1");
    assert_int_equal(f->node.proposed.master.port, 6390);
    assert_int_equal(f->node.proposed.settings.quorum, 2);
    apply(&f->node.fsm, &f->node.proposed);
    f->node.cb(f->node.cb_arg, 0, NULL);
    f->node.cb = NULL;
    expect_status(read_reply(f, 2000), "OK");
    r = CALL(f, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "new");
    assert_int_equal(r->elements, 2);
    assert_string_equal(r->element[1]->str, "6390");
    freeReplyObject(r);
    r = CALL(f, "SENTINEL", "MASTER", "new");
    assert_string_equal(field(r, "quorum"), "2");
    freeReplyObject(r);
    expect_error(
        CALL(f, "SENTINEL", "MONITOR", "new", "127.0.0.1", "6391", "2"),
        "ERR Duplicated master name");

    send_cmd(f, 3, rm);
    assert_null(read_reply(f, 50));
    assert_int_equal(f->node.proposed.kind, RSM_ENTRY_REMOVE_GROUP);
    assert_string_equal(f->node.proposed.group, "new");
    apply(&f->node.fsm, &f->node.proposed);
    f->node.cb(f->node.cb_arg, 0, NULL);
    f->node.cb = NULL;
    expect_status(read_reply(f, 2000), "OK");
    r = CALL(f, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "new");
    assert_int_equal(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    expect_error(CALL(f, "SENTINEL", "REMOVE", "new"),
                 "ERR No such master with that name");
}

static void test_connection_commands(void **state)
{
    struct fx *f = *state;
    redisReply *r;

    expect_error(CALL(f, "AUTH", "x"),
                 "ERR AUTH <password> called without any password "
                 "configured for the default user. Are you sure your "
                 "configuration is correct?");
    /* no password configured: the default user takes any, like Redis */
    expect_status(CALL(f, "AUTH", "default", "whatever"), "OK");
    expect_error(CALL(f, "AUTH", "someone", "whatever"),
                 "WRONGPASS invalid username-password pair or user is "
                 "disabled.");
    r = CALL(f, "HELLO", "2", "AUTH", "default", "x");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    freeReplyObject(r);
    expect_error(CALL(f, "HELLO", "3"), "NOPROTO unsupported protocol version");
    expect_error(CALL(f, "HELLO", "x"),
                 "ERR Protocol version is not an integer or out of range");
    expect_error(CALL(f, "HELLO", "2", "FROB"),
                 "ERR Syntax error in HELLO option 'FROB'");
    r = CALL(f, "HELLO", "2", "SETNAME", "app");
    assert_int_equal(r->elements, 14);
    assert_string_equal(r->element[0]->str, "server");
    assert_string_equal(r->element[4]->str, "proto");
    assert_int_equal(r->element[5]->integer, 2);
    assert_string_equal(r->element[8]->str, "mode");
    assert_string_equal(r->element[9]->str, "sentinel");
    freeReplyObject(r);
    r = CALL(f, "HELLO");
    assert_int_equal(r->elements, 14);
    freeReplyObject(r);
    r = CALL(f, "CLIENT", "GETNAME");
    assert_string_equal(r->str, "app"); /* from HELLO's SETNAME */
    freeReplyObject(r);
    expect_error(CALL(f, "CLIENT", "SETNAME", "a b"),
                 "ERR Client names cannot contain spaces, newlines or "
                 "special characters.");
    expect_status(CALL(f, "CLIENT", "SETNAME", "worker-1"), "OK");
    r = CALL(f, "CLIENT", "GETNAME");
    assert_string_equal(r->str, "worker-1");
    freeReplyObject(r);
    r = CALL(f, "CLIENT", "ID");
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_true(r->integer >= 1);
    freeReplyObject(r);
    expect_status(CALL(f, "CLIENT", "SETINFO", "LIB-NAME", "redis-py"), "OK");
    expect_error(CALL(f, "CLIENT", "KILL", "x"),
                 "ERR unknown subcommand 'KILL'. Try CLIENT HELP.");

    r = CALL(f, "COMMAND", "COUNT");
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long count = r->integer;
    freeReplyObject(r);
    r = CALL(f, "COMMAND");
    assert_int_equal((long long)r->elements, count);
    assert_int_equal(r->element[0]->elements, 10);
    freeReplyObject(r);
    r = CALL(f, "COMMAND", "INFO", "ping", "nosuch");
    assert_int_equal(r->elements, 2);
    assert_string_equal(r->element[0]->element[0]->str, "ping");
    assert_int_equal(r->element[0]->element[1]->integer, -1);
    assert_int_equal(r->element[1]->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    r = CALL(f, "COMMAND", "DOCS", "sentinel");
    assert_int_equal(r->elements, 2);
    assert_string_equal(r->element[0]->str, "sentinel");
    assert_string_equal(field(r->element[1], "group"), "sentinel");
    freeReplyObject(r);
    r = CALL(f, "COMMAND", "LIST");
    bool found = false;
    for (size_t i = 0; i < r->elements; i++)
        found |= strcmp(r->element[i]->str, "sentinel|masters") == 0;
    assert_true(found);
    freeReplyObject(r);
    expect_error(CALL(f, "COMMAND", "FROB"),
                 "ERR unknown subcommand 'FROB'. Try COMMAND HELP.");
    expect_status(CALL(f, "RESET"), "RESET");
    r = CALL(f, "CLIENT", "GETNAME");
    assert_int_equal(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    expect_status(CALL(f, "QUIT"), "OK");
    {
        char c;
        ssize_t n = -1;
        for (int i = 0; i < 2000 && n != 0; i++) {
            uv_run(&f->loop, UV_RUN_NOWAIT);
            n = recv(f->fd, &c, 1, MSG_DONTWAIT);
            usleep(1000);
        }
        assert_int_equal(n, 0); /* closed */
    }
}

static void test_requirepass(void **state)
{
    struct fx *f = *state;
    redisReply *r;

    expect_error(CALL(f, "PING"), "NOAUTH Authentication required.");
    expect_error(CALL(f, "SENTINEL", "MASTERS"),
                 "NOAUTH Authentication required.");
    expect_error(CALL(f, "SUBSCRIBE", "x"), "NOAUTH Authentication required.");
    expect_error(CALL(f, "nosuchcommand"), "NOAUTH Authentication required.");
    r = CALL(f, "HELLO", "2");
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_true(strncmp(r->str, "NOAUTH HELLO must be called", 27) == 0);
    freeReplyObject(r);
    expect_error(CALL(f, "AUTH", "hunter"),
                 "WRONGPASS invalid username-password pair or user is "
                 "disabled.");
    expect_error(CALL(f, "AUTH", "hunter22"),
                 "WRONGPASS invalid username-password pair or user is "
                 "disabled.");
    expect_error(CALL(f, "AUTH", "admin", "hunter2"),
                 "WRONGPASS invalid username-password pair or user is "
                 "disabled.");
    expect_error(CALL(f, "HELLO", "2", "AUTH", "default", "nope"),
                 "WRONGPASS invalid username-password pair or user is "
                 "disabled.");
    expect_status(CALL(f, "AUTH", "hunter2"), "OK");
    expect_status(CALL(f, "PING"), "PONG");
    expect_status(CALL(f, "RESET"), "RESET"); /* forgets it */
    expect_error(CALL(f, "PING"), "NOAUTH Authentication required.");
    r = CALL(f, "HELLO", "2", "AUTH", "default", "hunter2");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    freeReplyObject(r);
    expect_status(CALL(f, "PING"), "PONG");
    expect_status(CALL(f, "AUTH", "default", "hunter2"), "OK");
}

/* Before AUTH the gate is the table's no_auth flag (what COMMAND INFO
 * shows): AUTH, HELLO and QUIT pass it, in any case, and then meet their
 * own checks; everything else gets NOAUTH, even with a wrong arity. */
static void test_noauth_gate_follows_flags(void **state)
{
    struct fx *f = *state;
    const char *flagged[] = {"auth", "hello", "quit"};
    redisReply *r;

    expect_error(CALL(f, "auth"),
                 "ERR wrong number of arguments for 'auth' command");
    expect_error(CALL(f, "Hello", "3"), "NOPROTO unsupported protocol version");
    expect_error(CALL(f, "CLIENT", "ID"), "NOAUTH Authentication required.");
    expect_error(CALL(f, "COMMAND"), "NOAUTH Authentication required.");
    expect_error(CALL(f, "PING", "a", "b"), "NOAUTH Authentication required.");
    expect_status(CALL(f, "AUTH", "hunter2"), "OK");
    r = CALL(f, "COMMAND", "INFO", "auth", "hello", "quit", "ping", "client");
    assert_int_equal(r->elements, 5);
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *flags = r->element[i]->element[2];
        bool noauth = flags->elements == 1 &&
                      strcmp(flags->element[0]->str, "no_auth") == 0;
        assert_int_equal(noauth, i < sizeof flagged / sizeof flagged[0]);
        if (i < sizeof flagged / sizeof flagged[0])
            assert_string_equal(r->element[i]->element[0]->str, flagged[i]);
    }
    freeReplyObject(r);
}

static redisReply *next_push(struct fx *f)
{
    redisReply *r = read_reply(f, 2000);

    assert_non_null(r);
    return r;
}

static void expect_message(struct fx *f, const char *channel,
                           const char *payload)
{
    redisReply *r = next_push(f);

    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_string_equal(r->element[r->elements - 2]->str, channel);
    assert_string_equal(r->element[r->elements - 1]->str, payload);
    freeReplyObject(r);
}

static void pump(struct fx *f, int ms)
{
    for (int i = 0; i < ms; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

/* Subscribed mode, and the events of applied entries reaching a
 * subscriber: the agent's node observer forwards them. */
static void test_subscribed_mode_and_events(void **state)
{
    struct fx *f = *state;
    struct rsm_entry *e = calloc(1, sizeof *e);
    redisReply *r;

    r = CALL(f, "PSUBSCRIBE", "+*");
    assert_int_equal(r->elements, 3);
    assert_string_equal(r->element[0]->str, "psubscribe");
    freeReplyObject(r);
    expect_error(CALL(f, "SENTINEL", "MASTERS"),
                 "ERR Can't execute 'SENTINEL': only (P|S)SUBSCRIBE / "
                 "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this "
                 "context");
    expect_bulks(CALL(f, "PING"), 2, "pong", "");
    expect_bulks(CALL(f, "PING", "x"), 2, "pong", "x");
    r = CALL(f, "INFO", "clients");
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);

    /* the node has applied everything it knows: events are live */
    f->node.st.applied_index = f->node.st.commit_index;
    pump(f, 150); /* one poll: the API knows each group's master */
    rsm_entry_init(e, RSM_ENTRY_FAILOVER_PROGRESS, "mymaster", 7000);
    e->epoch = 2;
    e->step = RSM_STEP_PROMOTED;
    apply(&f->node.fsm, e);
    rsm_api_node_event(f->api, RSM_NODE_APPLIED, e, 0);
    expect_message(f, "+promoted-slave",
                   "slave 10.0.0.3:6379 10.0.0.3 6379 @ mymaster 10.0.0.2 "
                   "6379");
    expect_message(f, "+failover-state-reconf-slaves",
                   "master mymaster 10.0.0.2 6379");
    expect_message(f, "+switch-master", "mymaster 10.0.0.2 6379 10.0.0.3 6379");
    /* a rejected entry publishes nothing */
    rsm_api_node_event(f->api, RSM_NODE_APPLIED, e, RSM_EREJECTED);
    /* the leader's actions: only those Sentinel has, once a second */
    rsm_api_monitor_event(f->api, "mymaster", "+slave-reconf-sent",
                          "mymaster 10.0.0.1:6379 -> 10.0.0.3:6379");
    rsm_api_monitor_event(f->api, "mymaster", "+slave-reconf-sent",
                          "mymaster 10.0.0.1:6379 -> 10.0.0.3:6379");
    rsm_api_monitor_event(f->api, "mymaster", "+observe-master", "x");
    rsm_api_monitor_event(f->api, "mymaster", "+convert-to-slave",
                          "mymaster old master 10.0.0.2:6379 now a replica "
                          "of 10.0.0.3:6379");
    expect_message(f, "+slave-reconf-sent",
                   "slave 10.0.0.1:6379 10.0.0.1 6379 @ mymaster 10.0.0.3 "
                   "6379");
    expect_message(f, "+convert-to-slave",
                   "slave 10.0.0.2:6379 10.0.0.2 6379 @ mymaster 10.0.0.3 "
                   "6379");
    rsm_entry_init(e, RSM_ENTRY_COMPLETE_FAILOVER, "mymaster", 8000);
    e->epoch = 2;
    apply(&f->node.fsm, e);
    rsm_api_node_event(f->api, RSM_NODE_APPLIED, e, 0);
    expect_message(f, "+failover-end", "master mymaster 10.0.0.2 6379");
    expect_message(f, "+slave",
                   "slave 10.0.0.1:6379 10.0.0.1 6379 @ mymaster 10.0.0.3 "
                   "6379");
    expect_message(f, "+slave",
                   "slave 10.0.0.2:6379 10.0.0.2 6379 @ mymaster 10.0.0.3 "
                   "6379");
    assert_null(read_reply(f, 200)); /* no second +switch-master */
    free(e);

    r = CALL(f, "PUNSUBSCRIBE");
    assert_string_equal(r->element[0]->str, "punsubscribe");
    assert_int_equal(r->element[2]->integer, 0);
    freeReplyObject(r);
    expect_status(CALL(f, "PING"), "PONG"); /* a normal client again */
}

/* While the node replays its log (applied behind commit), entries publish
 * nothing. */
static void test_no_events_while_replaying(void **state)
{
    struct fx *f = *state;
    struct rsm_entry *e = calloc(1, sizeof *e);
    redisReply *r = CALL(f, "SUBSCRIBE", "+switch-master", "+promoted-slave");

    freeReplyObject(r);
    r = read_reply(f, 2000); /* the second subscribe */
    freeReplyObject(r);
    pump(f, 150);
    rsm_entry_init(e, RSM_ENTRY_FAILOVER_PROGRESS, "mymaster", 7000);
    e->epoch = 2;
    e->step = RSM_STEP_PROMOTED;
    apply(&f->node.fsm, e); /* applied 41 < commit 42 */
    rsm_api_node_event(f->api, RSM_NODE_APPLIED, e, 0);
    assert_null(read_reply(f, 300));
    free(e);
}

/* Issue #14: INFO with several sections over the port, HELP in Redis's
 * form, COMMAND DOCS with subcommands, and a doc for every command. */
static void test_info_help_and_docs(void **state)
{
    struct fx *f = *state;
    redisReply *r, *subs = NULL;

    r = CALL(f, "INFO", "cpu", "SERVER", "nosuch");
    assert_true(strncmp(r->str, "# Server\r\nredis_version:7.0.15\r\n", 32) ==
                0);
    assert_has(r->str, "\r\n\r\n# CPU\r\nused_cpu_sys:");
    assert_null(strstr(r->str, "# Clients"));
    freeReplyObject(r);
    r = CALL(f, "INFO", "keyspace");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_int_equal(r->len, 0);
    freeReplyObject(r);

    r = CALL(f, "SENTINEL", "HELP");
    assert_string_equal(r->element[0]->str,
                        "SENTINEL <subcommand> [<arg> [value] [opt] ...]. "
                        "Subcommands are:");
    assert_string_equal(r->element[1]->str, "GET-MASTER-ADDR-BY-NAME <group>");
    assert_true(strncmp(r->element[2]->str, "    ", 4) == 0 &&
                r->element[2]->str[4] != ' ');
    assert_string_equal(r->element[r->elements - 2]->str, "HELP");
    assert_int_equal(r->elements % 2, 1);
    freeReplyObject(r);

    r = CALL(f, "COMMAND", "DOCS", "sentinel");
    assert_string_equal(r->element[0]->str, "sentinel");
    for (size_t i = 0; i + 1 < r->element[1]->elements; i += 2) {
        if (strcmp(r->element[1]->element[i]->str, "subcommands") == 0)
            subs = r->element[1]->element[i + 1];
    }
    assert_non_null(subs);
    assert_true(subs->elements >= 2 * 9);
    assert_string_equal(subs->element[0]->str,
                        "sentinel|get-master-addr-by-name");
    assert_string_equal(field(subs->element[1], "group"), "sentinel");
    freeReplyObject(r);

    r = CALL(f, "COMMAND", "LIST");
    for (size_t i = 0; i < r->elements; i++) {
        if (rsm_cmddoc_find(r->element[i]->str) == NULL)
            fail_msg("no doc for '%s' (src/core/cmddoc.c)", r->element[i]->str);
    }
    freeReplyObject(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_info_every_section),
        cmocka_unit_test(test_info_one_section_and_unknown),
        cmocka_unit_test(test_info_without_leader),
        cmocka_unit_test(test_status_json),
        cmocka_unit_test_setup_teardown(test_ping_info_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_info_help_and_docs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follower_names_the_leader, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_member_add_and_remove_on_leader,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_changes_bad_arguments,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_commands_and_arity, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_client_gone_before_commit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stop_with_change_in_progress,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sentinel_commands, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_master_moves_at_promotion, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_resume_through_the_log,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sentinel_set_reset_config, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sentinel_monitor_remove, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_connection_commands, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_requirepass, setup_pass, teardown),
        cmocka_unit_test_setup_teardown(test_noauth_gate_follows_flags,
                                        setup_pass, teardown),
        cmocka_unit_test_setup_teardown(test_subscribed_mode_and_events, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_events_while_replaying, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
