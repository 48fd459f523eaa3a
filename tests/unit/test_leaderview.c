/* test_leaderview.c - unit tests for core/leaderview: the leader's view
 * relayed to the followers. Payloads round-trip, bad ones are refused
 * whole, newer payloads stay readable, the shape ignores what the regular
 * push carries anyway, and the rules for taking and using a view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsm/err.h"
#include "rsm/leaderview.h"

#define CID   "0123456789abcdef0123456789abcdef"
#define OTHER "fedcba9876543210fedcba9876543210"

/* ---- helpers ------------------------------------------------------------- */

static struct rsm_addr A(const char *text) {
    struct rsm_addr a;

    memset(&a, 0, sizeof a);
    assert_int_equal(rsm_addr_parse(text, &a, NULL, 0), 0);
    return a;
}

static const struct rsm_leaderview_origin ORIGIN = {2, 7, CID};

/* A group as a leader sees it: a master that is down (o_down), a replica
 * linked to it, a replica with replica-announced no and its link down, an
 * instance never read. */
static void make_group(struct rsm_leaderview_group *g, const char *name)
{
    struct rsm_leaderview_instance *in;

    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "%s", name);
    g->master = A("10.0.0.1:6379");
    g->o_down = true;
    g->o_down_ms = 1200;
    g->votes = 2;
    g->quorum = 2;
    in = &g->inst[g->n++];
    in->addr = g->master;
    in->s_down = in->disconnected = true;
    in->down_ms = 1500;
    in->no_reply_ms = 1500;
    in->has_info = true;
    in->info.role = RSM_ROLE_MASTER;
    in->info.link_down_since_s = -1;
    in->info.priority = 100;
    in->info.offset = 4242;
    snprintf(in->info.run_id, sizeof in->info.run_id, "%040d", 1);
    in->info_age_ms = 1600;
    in->role_age_ms = 90000;
    in = &g->inst[g->n++];
    in->addr = A("10.0.0.2:6379");
    in->no_reply_ms = 20;
    in->has_info = true;
    in->info.role = RSM_ROLE_REPLICA;
    in->info.master = g->master;
    in->info.link_up = true;
    in->info.link_down_since_s = -1;
    in->info.priority = 50;
    in->info.offset = 4200;
    snprintf(in->info.run_id, sizeof in->info.run_id, "%040d", 2);
    in->info_age_ms = 30;
    in->role_age_ms = 80000;
    in = &g->inst[g->n++];
    in->addr = A("[fd00::3]:6380");
    in->has_info = true;
    in->info.role = RSM_ROLE_REPLICA;
    in->info.master = g->master;
    in->info.link_down_since_s = 7;
    in->info.priority = 0;
    in->info.offset = -1;
    in->info.unannounced = true;
    in->info_age_ms = 40;
    in->role_age_ms = 0;
    in = &g->inst[g->n++];
    in->addr = A("redis-4.example:6379");
    in->info.link_down_since_s = -1;
    in->info.priority = 100;
    in->info.offset = -1;
    in->info_age_ms = in->role_age_ms = -1;
}

/* A payload of header + groups (malloc'd). */
static char *encode(const struct rsm_leaderview_group *gs, size_t n)
{
    struct rsm_textbuf t = {0};
    char *text;

    rsm_leaderview_encode_header(&t, &ORIGIN);
    for (size_t i = 0; i < n; i++)
        rsm_leaderview_encode_group(&t, &gs[i]);
    text = rsm_textbuf_finish(&t);
    assert_non_null(text);
    return text;
}

static void assert_same_group(const struct rsm_leaderview_group *a,
                              const struct rsm_leaderview_group *b)
{
    assert_string_equal(a->name, b->name);
    assert_true(rsm_addr_equal(&a->master, &b->master));
    assert_int_equal(a->o_down, b->o_down);
    assert_int_equal(a->o_down_ms, b->o_down_ms);
    assert_int_equal(a->votes, b->votes);
    assert_int_equal(a->quorum, b->quorum);
    assert_int_equal(a->n, b->n);
    for (unsigned i = 0; i < a->n; i++) {
        const struct rsm_leaderview_instance *x = &a->inst[i], *y = &b->inst[i];
        assert_true(rsm_addr_equal(&x->addr, &y->addr));
        assert_int_equal(x->s_down, y->s_down);
        assert_int_equal(x->disconnected, y->disconnected);
        assert_int_equal(x->down_ms, y->down_ms);
        assert_int_equal(x->no_reply_ms, y->no_reply_ms);
        assert_int_equal(x->has_info, y->has_info);
        assert_int_equal(x->info_age_ms, y->info_age_ms);
        assert_int_equal(x->role_age_ms, y->role_age_ms);
        assert_int_equal(x->info.role, y->info.role);
        assert_true(rsm_addr_equal(&x->info.master, &y->info.master));
        assert_int_equal(x->info.link_up, y->info.link_up);
        assert_int_equal(x->info.link_down_since_s, y->info.link_down_since_s);
        assert_int_equal(x->info.priority, y->info.priority);
        assert_int_equal(x->info.offset, y->info.offset);
        assert_int_equal(x->info.unannounced, y->info.unannounced);
        assert_string_equal(x->info.run_id, y->info.run_id);
    }
}

/* Decode header + every group of text; returns the number of groups, or
 * -code on the first error (errmsg kept in err). */
static int decode_all(const char *text, size_t len,
                      struct rsm_leaderview_origin *o,
                      struct rsm_leaderview_group *out, size_t max, char *err,
                      size_t errlen)
{
    size_t pos = 0;
    int rv, n = 0;

    rv = rsm_leaderview_decode_header(text, len, &pos, o, err, errlen);
    if (rv != 0)
        return -rv;
    for (;;) {
        static struct rsm_leaderview_group scratch;
        struct rsm_leaderview_group *g = (size_t)n < max ? &out[n] : &scratch;
        rv = rsm_leaderview_decode_group(text, len, &pos, NULL, g, err, errlen);
        if (rv == RSM_ENOTFOUND)
            return n;
        if (rv != 0)
            return -rv;
        n++;
    }
}

/* ---- encoding ------------------------------------------------------------ */

static void test_payload_round_trips(void **state)
{
    static struct rsm_leaderview_group in[2], out[2];
    struct rsm_leaderview_origin o;
    char err[RSM_ERRMSG_SIZE];
    char *text;

    (void)state;
    make_group(&in[0], "alpha");
    make_group(&in[1], "beta");
    in[1].o_down = false;
    in[1].o_down_ms = 0;
    in[1].master = A("10.0.0.2:6379");
    text = encode(in, 2);
    assert_int_equal(
        decode_all(text, strlen(text), &o, out, 2, err, sizeof err), 2);
    assert_int_equal(o.leader_id, 2);
    assert_int_equal(o.term, 7);
    assert_string_equal(o.cluster_id, CID);
    assert_same_group(&in[0], &out[0]);
    assert_same_group(&in[1], &out[1]);
    free(text);
}

static void test_header_and_group_lines_read_as_documented(void **state)
{
    static struct rsm_leaderview_group g;
    char *text;

    (void)state;
    make_group(&g, "alpha");
    text = encode(&g, 1);
    assert_true(strncmp(text,
                        "rsm-leaderview 1 2 7 " CID "\n"
                        "g alpha 10.0.0.1:6379 1 1200 2 2 4\n"
                        "i 10.0.0.1:6379 sdi 1500 1500 1600 90000 m - -1 100 "
                        "4242 ",
                        strlen("rsm-leaderview 1 2 7 " CID "\n"
                               "g alpha 10.0.0.1:6379 1 1200 2 2 4\n"
                               "i 10.0.0.1:6379 sdi 1500 1500 1600 90000 m - "
                               "-1 100 4242 ")) == 0);
    assert_non_null(strstr(text, "\ni [fd00::3]:6380 iu 0 0 40 0 r "
                                 "10.0.0.1:6379 7 0 -1 -\n"));
    assert_non_null(strstr(text, "\ni redis-4.example:6379 - 0 0 -1 -1 ? - "
                                 "-1 100 -1 -\n"));
    free(text);
}

static void test_unknown_cluster_and_empty_group(void **state)
{
    static struct rsm_leaderview_group g, out;
    struct rsm_leaderview_origin o = {3, 1, ""}, back;
    struct rsm_textbuf t = {0};
    char err[RSM_ERRMSG_SIZE], *text;

    (void)state;
    memset(&g, 0, sizeof g);
    snprintf(g.name, sizeof g.name, "g");
    rsm_leaderview_encode_header(&t, &o);
    rsm_leaderview_encode_group(&t, &g);
    text = rsm_textbuf_finish(&t);
    assert_string_equal(text, "rsm-leaderview 1 3 1 -\ng g - 0 0 0 0 0\n");
    assert_int_equal(
        decode_all(text, strlen(text), &back, &out, 1, err, sizeof err), 1);
    assert_string_equal(back.cluster_id, "");
    assert_int_equal(out.n, 0);
    assert_int_equal(out.master.port, 0);
    free(text);
}

/* ---- decoding: what a newer leader may add ------------------------------ */

static void test_unknown_lines_fields_and_flags_are_skipped(void **state)
{
    static struct rsm_leaderview_group out;
    struct rsm_leaderview_origin o;
    char err[RSM_ERRMSG_SIZE];
    const char *text = "rsm-leaderview 1 2 7 " CID " more later\n"
                       "x something new\n"
                       "g g 10.0.0.1:6379 0 0 0 2 1 extra\n"
                       "i 10.0.0.2:6379 ilzq 0 5 10 20 r 10.0.0.1:6379 -1 "
                       "100 77 abc and more\n"
                       "y trailing\n";

    (void)state;
    assert_int_equal(
        decode_all(text, strlen(text), &o, &out, 1, err, sizeof err), 1);
    assert_int_equal(out.n, 1);
    assert_true(out.inst[0].has_info);
    assert_true(out.inst[0].info.link_up);
    assert_int_equal(out.inst[0].info.offset, 77);
    assert_string_equal(out.inst[0].info.run_id, "abc");
}

static void test_no_trailing_newline_is_fine(void **state)
{
    static struct rsm_leaderview_group out;
    struct rsm_leaderview_origin o;
    char err[RSM_ERRMSG_SIZE];
    const char *text = "rsm-leaderview 1 2 7 -\n"
                       "g g - 0 0 0 0 1\n"
                       "i 10.0.0.2:6379 - 0 0 -1 -1 ? - -1 100 -1 -";

    (void)state;
    assert_int_equal(
        decode_all(text, strlen(text), &o, &out, 1, err, sizeof err), 1);
    assert_false(out.inst[0].has_info);
    assert_int_equal(out.inst[0].info.priority, 100);
}

/* ---- decoding: what is refused ------------------------------------------ */

static void expect_refused(const char *text, int code, const char *needle)
{
    static struct rsm_leaderview_group out[2];
    struct rsm_leaderview_origin o;
    char err[RSM_ERRMSG_SIZE] = "";

    assert_int_equal(
        decode_all(text, strlen(text), &o, out, 2, err, sizeof err), -code);
    if (strstr(err, needle) == NULL)
        fail_msg("'%s' does not mention '%s'", err, needle);
}

static void test_bad_headers_are_refused(void **state)
{
    (void)state;
    expect_refused("", RSM_EPARSE, "empty");
    expect_refused("hello\n", RSM_EPARSE, "not a leader view");
    expect_refused("rsm-leaderview 2 2 7 -\n", RSM_EPARSE, "version 2");
    expect_refused("rsm-leaderview 1 0 7 -\n", RSM_EPARSE, "leader id 0");
    expect_refused("rsm-leaderview 1 x 7 -\n", RSM_EPARSE, "leader id");
    expect_refused("rsm-leaderview 1 2 -7 -\n", RSM_EPARSE, "term");
    expect_refused("rsm-leaderview 1 2 7 abc\n", RSM_EPARSE, "cluster id");
    expect_refused("rsm-leaderview 1 2 7\n", RSM_EPARSE, "not a leader view");
    expect_refused("rsm-leaderview  1 2 7 -\n", RSM_EPARSE, "empty field");
    expect_refused("rsm-leaderview 1 2 7 -\r\n", RSM_EPARSE, "control");
}

static void test_bad_groups_are_refused(void **state)
{
    (void)state;
#define H "rsm-leaderview 1 2 7 -\n"
    expect_refused(H "g g - 0 0 0 0 2\ni 10.0.0.2:6379 - 0 0 -1 -1 ? - -1 "
                     "100 -1 -\n",
                   RSM_ETRUNC, "1 of 2 instances");
    expect_refused(H "g g - 0 0 0 0 1\ng h - 0 0 0 0 0\n", RSM_ETRUNC,
                   "0 of 1");
    expect_refused(H "i 10.0.0.2:6379 - 0 0 -1 -1 ? - -1 100 -1 -\n",
                   RSM_EPARSE, "outside a group");
    expect_refused(H "g g - 2 0 0 0 0\n", RSM_ERANGE, "o_down");
    expect_refused(H "g g - 0 0 0 0 99\n", RSM_ERANGE, "instances");
    expect_refused(H "g g nohost 0 0 0 0 0\n", RSM_EPARSE, "group master");
    expect_refused(H "g g - 0 0 0\n", RSM_EPARSE, "group: 6 fields");
    expect_refused(H "g g - 0 0 0 0 1\ni - - 0 0 -1 -1 ? - -1 100 -1 -\n",
                   RSM_EPARSE, "without an address");
    expect_refused(H "g g - 0 0 0 0 1\ni 10.0.0.2:6379 - 0 0 -1 -1 x - -1 "
                     "100 -1 -\n",
                   RSM_EPARSE, "bad role");
    expect_refused(H "g g - 0 0 0 0 1\ni 10.0.0.2:6379 - -5 0 -1 -1 ? - -1 "
                     "100 -1 -\n",
                   RSM_ERANGE, "down_ms");
    expect_refused(H "g g - 0 0 0 0 1\ni 10.0.0.2:6379 - 0 0 -1 -1 ? - -1 "
                     "-1 -1 -\n",
                   RSM_ERANGE, "priority");
    expect_refused(H "g g - 0 0 0 0 1\ni 10.0.0.2:6379 - 0 0 -1 -1 ? - -1 "
                     "100 99999999999999999999 -\n",
                   RSM_ERANGE, "offset");
    expect_refused(H "g g - 0 0 0 0 1\ni 10.0.0.2:6379 - 0 0 -1 -1 ? - -1 "
                     "100 -1 "
                     "0123456789012345678901234567890123456789x\n",
                   RSM_EPARSE, "run id");
    expect_refused(H "g g - 0 0 0 0 1\ni 10.0.0.2:6379 - 0 0 -1 -1 ?\n",
                   RSM_EPARSE, "instance: 8 fields");
    expect_refused(H "g "
                     "a1234567890123456789012345678901234567890123456789012"
                     "34567890123 - 0 0 0 0 0\n",
                   RSM_EPARSE, "name too long");
#undef H
}

static void test_long_lines_and_nul_bytes_are_refused(void **state)
{
    char text[2048];
    static struct rsm_leaderview_group out;
    struct rsm_leaderview_origin o;
    size_t pos = 0, n;

    (void)state;
    n = (size_t)snprintf(text, sizeof text, "rsm-leaderview 1 2 7 -\ng ");
    memset(text + n, 'a', 1100);
    text[n + 1100] = '\n';
    assert_int_equal(
        rsm_leaderview_decode_header(text, n + 1101, &pos, &o, NULL, 0), 0);
    assert_int_equal(
        rsm_leaderview_decode_group(text, n + 1101, &pos, NULL, &out, NULL, 0),
        RSM_EPARSE);
    memcpy(text, "rsm-leaderview 1 2\0007 -\n", 24);
    pos = 0;
    assert_int_equal(rsm_leaderview_decode_header(text, 24, &pos, &o, NULL, 0),
                     RSM_EPARSE);
}

static void test_group_start_offset_allows_reading_it_again(void **state)
{
    static struct rsm_leaderview_group in[2], out;
    struct rsm_leaderview_origin o;
    size_t pos = 0, start = 0, end;
    char *text;

    (void)state;
    make_group(&in[0], "alpha");
    make_group(&in[1], "beta");
    text = encode(in, 2);
    assert_int_equal(
        rsm_leaderview_decode_header(text, strlen(text), &pos, &o, NULL, 0), 0);
    assert_int_equal(rsm_leaderview_decode_group(text, strlen(text), &pos, NULL,
                                                 &out, NULL, 0),
                     0);
    assert_int_equal(rsm_leaderview_decode_group(text, strlen(text), &pos,
                                                 &start, &out, NULL, 0),
                     0);
    end = pos;
    assert_string_equal(out.name, "beta");
    /* the slice [start, end) alone is the group, as a follower keeps it */
    pos = 0;
    memset(&out, 0, sizeof out);
    assert_int_equal(rsm_leaderview_decode_group(text + start, end - start,
                                                 &pos, NULL, &out, NULL, 0),
                     0);
    assert_same_group(&in[1], &out);
    assert_int_equal(rsm_leaderview_decode_group(text + start, end - start,
                                                 &pos, NULL, &out, NULL, 0),
                     RSM_ENOTFOUND);
    free(text);
}

/* ---- shape --------------------------------------------------------------- */

static void test_shape_ignores_times_and_offsets(void **state)
{
    static struct rsm_leaderview_group a, b;

    (void)state;
    make_group(&a, "g");
    b = a;
    b.o_down_ms += 100;
    b.votes = 3;
    b.inst[0].down_ms += 100;
    b.inst[1].no_reply_ms += 100;
    b.inst[1].info.offset += 1000;
    b.inst[1].info_age_ms += 100;
    b.inst[2].info.link_down_since_s += 1;
    assert_true(rsm_leaderview_shape(&a) == rsm_leaderview_shape(&b));
}

static void test_shape_follows_flags_links_roles(void **state)
{
    static struct rsm_leaderview_group a, b;
    uint64_t base;

    (void)state;
    make_group(&a, "g");
    base = rsm_leaderview_shape(&a);
#define CHANGED(stmt)                                                          \
    do {                                                                       \
        b = a;                                                                 \
        stmt;                                                                  \
        assert_true(rsm_leaderview_shape(&b) != base);                         \
    } while (0)
    CHANGED(b.o_down = false);
    CHANGED(b.master = A("10.0.0.2:6379"));
    CHANGED(b.inst[0].s_down = false);
    CHANGED(b.inst[1].disconnected = true);
    CHANGED(b.inst[1].info.link_up = false);
    CHANGED(b.inst[1].info.role = RSM_ROLE_MASTER);
    CHANGED(b.inst[1].info.master = A("10.0.0.9:6379"));
    CHANGED(b.inst[2].info.unannounced = false);
    CHANGED(b.inst[1].info.priority = 1);
    CHANGED(b.inst[1].info.run_id[0] = 'x');
    CHANGED(b.inst[3].has_info = true);
    CHANGED(b.n = 3);
    CHANGED(snprintf(b.name, sizeof b.name, "h"));
#undef CHANGED
}

/* ---- taking and using a view -------------------------------------------- */

static struct rsm_leaderview_self follower(void)
{
    struct rsm_leaderview_self s = {1, true, 2, 7, CID};

    return s;
}

static void test_the_leader_in_this_term_is_taken(void **state)
{
    struct rsm_leaderview_self self = follower();
    char why[RSM_ERRMSG_SIZE] = "stale";

    (void)state;
    assert_true(rsm_leaderview_accept(&ORIGIN, &self, why, sizeof why));
    assert_string_equal(why, "");
    self.cluster_id = ""; /* not known here yet */
    assert_true(rsm_leaderview_accept(&ORIGIN, &self, NULL, 0));
}

static void test_others_are_refused_with_a_reason(void **state)
{
    struct rsm_leaderview_self self = follower();
    struct rsm_leaderview_origin o = ORIGIN;
    char why[RSM_ERRMSG_SIZE];

    (void)state;
    self.id = 2; /* sent to itself */
    assert_false(rsm_leaderview_accept(&o, &self, why, sizeof why));
    assert_non_null(strstr(why, "this agent"));
    self = follower();
    self.leader_id = 3; /* not the leader here */
    assert_false(rsm_leaderview_accept(&o, &self, why, sizeof why));
    assert_non_null(strstr(why, "another"));
    self.has_leader = false;
    assert_false(rsm_leaderview_accept(&o, &self, why, sizeof why));
    assert_non_null(strstr(why, "not known"));
    self = follower();
    self.term = 8; /* a deposed leader's late push */
    assert_false(rsm_leaderview_accept(&o, &self, why, sizeof why));
    assert_non_null(strstr(why, "term 7"));
    self.term = 6; /* a leader this agent has not heard of yet */
    assert_false(rsm_leaderview_accept(&o, &self, why, sizeof why));
    self = follower();
    self.cluster_id = OTHER;
    assert_false(rsm_leaderview_accept(&o, &self, why, sizeof why));
    assert_non_null(strstr(why, "cluster"));
}

static void test_fresh_for_two_down_after_periods(void **state)
{
    struct rsm_leaderview_self self = follower();

    (void)state;
    assert_true(rsm_leaderview_fresh(&ORIGIN, 10000, &self, 10000, 1000));
    assert_true(rsm_leaderview_fresh(&ORIGIN, 10000, &self, 11999, 1000));
    assert_false(rsm_leaderview_fresh(&ORIGIN, 10000, &self, 12000, 1000));
    assert_true(rsm_leaderview_fresh(&ORIGIN, 10000, &self, 19999, 5000));
    /* no longer the leader, or a new term: not used, however young */
    self.leader_id = 3;
    assert_false(rsm_leaderview_fresh(&ORIGIN, 10000, &self, 10001, 1000));
    self = follower();
    self.term = 8;
    assert_false(rsm_leaderview_fresh(&ORIGIN, 10000, &self, 10001, 1000));
    self = follower();
    self.id = 2; /* this agent is the leader now */
    self.leader_id = 2;
    assert_false(rsm_leaderview_fresh(&ORIGIN, 10000, &self, 10001, 1000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_payload_round_trips),
        cmocka_unit_test(test_header_and_group_lines_read_as_documented),
        cmocka_unit_test(test_unknown_cluster_and_empty_group),
        cmocka_unit_test(test_unknown_lines_fields_and_flags_are_skipped),
        cmocka_unit_test(test_no_trailing_newline_is_fine),
        cmocka_unit_test(test_bad_headers_are_refused),
        cmocka_unit_test(test_bad_groups_are_refused),
        cmocka_unit_test(test_long_lines_and_nul_bytes_are_refused),
        cmocka_unit_test(test_group_start_offset_allows_reading_it_again),
        cmocka_unit_test(test_shape_ignores_times_and_offsets),
        cmocka_unit_test(test_shape_follows_flags_links_roles),
        cmocka_unit_test(test_the_leader_in_this_term_is_taken),
        cmocka_unit_test(test_others_are_refused_with_a_reason),
        cmocka_unit_test(test_fresh_for_two_down_after_periods),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
