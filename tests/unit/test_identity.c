/* test_identity.c - unit tests for core/identity: is the agent that
 * answered the one we asked? Every verdict, the sentences that explain it,
 * and the address check made before asking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "rsm/identity.h"

#define CID   "0123456789abcdef0123456789abcdef"
#define OTHER "fedcba9876543210fedcba9876543210"

#define SELF  1 /* this agent */
#define ASKED 2 /* the member it asked */

/* ---- helpers ------------------------------------------------------------- */

/* Check a claim of (id, cluster) against ASKED, by SELF of CID. why is
 * filled with a marker first, so that an OK verdict must clear it. */
static enum rsm_identity_verdict check(uint64_t id, const char *cluster,
                                       char *why, size_t len)
{
    struct rsm_identity_claim c = {id, cluster};

    if (why != NULL && len > 0)
        snprintf(why, len, "stale");
    return rsm_identity_check(&c, ASKED, SELF, CID, why, len);
}

static void assert_mentions(const char *why, const char *needle)
{
    if (strstr(why, needle) == NULL)
        fail_msg("'%s' does not mention '%s'", why, needle);
}

static void set_addr(struct rsm_addr *a, const char *host, unsigned port)
{
    memset(a, 0, sizeof *a);
    snprintf(a->host, sizeof a->host, "%s", host);
    a->port = (uint16_t)port;
}

/* ---- rsm_identity_check -------------------------------------------------- */

static void test_the_asked_agent_of_this_cluster_is_ok(void **state)
{
    char why[RSM_IDENTITY_WHY_MAX];

    (void)state;
    assert_int_equal(check(ASKED, CID, why, sizeof why), RSM_IDENTITY_OK);
    assert_string_equal(why, ""); /* cleared on OK */
}

static void test_no_agent_id_is_missing(void **state)
{
    char why[RSM_IDENTITY_WHY_MAX];

    (void)state;
    assert_int_equal(check(0, CID, why, sizeof why), RSM_IDENTITY_MISSING);
    assert_mentions(why, "names no agent id");
    /* Missing wins over every other check: even no cluster at all. */
    assert_int_equal(check(0, NULL, why, sizeof why), RSM_IDENTITY_MISSING);
}

/* The /apiport scenario of issue #13: the address of agent 2 leads back to
 * agent 1, which answers as itself. */
static void test_self_answering_for_another_member(void **state)
{
    char why[RSM_IDENTITY_WHY_MAX];

    (void)state;
    assert_int_equal(check(SELF, CID, why, sizeof why), RSM_IDENTITY_SELF);
    assert_string_equal(why, "answered as agent 1 (this agent): the address "
                             "of agent 2 points here");
    /* Same verdict whatever cluster it claims: it is us. */
    assert_int_equal(check(SELF, OTHER, why, sizeof why), RSM_IDENTITY_SELF);
}

static void test_another_member_answering(void **state)
{
    char why[RSM_IDENTITY_WHY_MAX];

    (void)state;
    assert_int_equal(check(3, CID, why, sizeof why), RSM_IDENTITY_OTHER_AGENT);
    assert_string_equal(why, "answered as agent 3, not agent 2: its address "
                             "points at another member");
    /* Large ids are printed in full, not truncated to 32 bits. */
    assert_int_equal(check(UINT64_MAX, CID, why, sizeof why),
                     RSM_IDENTITY_OTHER_AGENT);
    assert_mentions(why, "agent 18446744073709551615, not agent 2");
}

static void test_agent_of_another_cluster(void **state)
{
    char why[RSM_IDENTITY_WHY_MAX];

    (void)state;
    assert_int_equal(check(ASKED, OTHER, why, sizeof why),
                     RSM_IDENTITY_OTHER_CLUSTER);
    assert_string_equal(why, "agent 2 belongs to cluster " OTHER
                             ", this group is " CID);
}

/* The claimed cluster id comes from the network: a long one is cut to 40
 * characters in the sentence, which then still names this group's. */
static void test_long_claimed_cluster_is_cut_in_why(void **state)
{
    char why[RSM_IDENTITY_WHY_MAX], claim[201];

    (void)state;
    memset(claim, 'z', sizeof claim - 1);
    claim[sizeof claim - 1] = '\0';
    assert_int_equal(check(ASKED, claim, why, sizeof why),
                     RSM_IDENTITY_OTHER_CLUSTER);
    assert_mentions(why, "belongs to cluster zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
                         "zzzzzzzz, this group is " CID);
}

/* A cluster id that nobody knows yet on either side is no mismatch: a new
 * agent, or a group whose first leader has not advertised yet. */
static void test_unknown_cluster_on_either_side_is_accepted(void **state)
{
    struct rsm_identity_claim c = {ASKED, OTHER};
    char why[RSM_IDENTITY_WHY_MAX];

    (void)state;
    assert_int_equal(check(ASKED, "", why, sizeof why), RSM_IDENTITY_OK);
    assert_int_equal(check(ASKED, NULL, why, sizeof why), RSM_IDENTITY_OK);
    assert_int_equal(rsm_identity_check(&c, ASKED, SELF, "", why, sizeof why),
                     RSM_IDENTITY_OK);
    assert_string_equal(why, "");
    c.cluster_id = "";
    assert_int_equal(rsm_identity_check(&c, ASKED, SELF, "", why, sizeof why),
                     RSM_IDENTITY_OK);
}

/* Asking oneself (asked == self) on purpose: the answer naming self is the
 * expected one, not a misdirected address. */
static void test_asking_oneself_is_ok(void **state)
{
    struct rsm_identity_claim c = {SELF, CID};
    char why[RSM_IDENTITY_WHY_MAX];

    (void)state;
    assert_int_equal(rsm_identity_check(&c, SELF, SELF, CID, why, sizeof why),
                     RSM_IDENTITY_OK);
    /* Another agent answering is still another agent. */
    c.agent_id = ASKED;
    assert_int_equal(rsm_identity_check(&c, SELF, SELF, CID, why, sizeof why),
                     RSM_IDENTITY_OTHER_AGENT);
    assert_mentions(why, "answered as agent 2, not agent 1");
    /* And its cluster still has to match. */
    c.agent_id = SELF;
    c.cluster_id = OTHER;
    assert_int_equal(rsm_identity_check(&c, SELF, SELF, CID, why, sizeof why),
                     RSM_IDENTITY_OTHER_CLUSTER);
}

static void test_why_may_be_null_or_short(void **state)
{
    char why[8];

    (void)state;
    assert_int_equal(check(0, CID, NULL, 0), RSM_IDENTITY_MISSING);
    assert_int_equal(check(SELF, CID, NULL, 0), RSM_IDENTITY_SELF);
    assert_int_equal(check(3, CID, NULL, 0), RSM_IDENTITY_OTHER_AGENT);
    assert_int_equal(check(ASKED, OTHER, NULL, 0), RSM_IDENTITY_OTHER_CLUSTER);
    assert_int_equal(check(ASKED, CID, NULL, 0), RSM_IDENTITY_OK);
    /* A short buffer is truncated, never overrun (ASan). */
    assert_int_equal(check(3, CID, why, sizeof why), RSM_IDENTITY_OTHER_AGENT);
    assert_int_equal(strlen(why), sizeof why - 1);
    /* A zero length is never written to. */
    why[0] = 'x';
    assert_int_equal(check(3, CID, why, 0), RSM_IDENTITY_OTHER_AGENT);
    assert_int_equal(why[0], 'x');
}

/* Every sentence fits RSM_IDENTITY_WHY_MAX, even with the longest ids. */
static void test_why_max_holds_every_sentence(void **state)
{
    struct rsm_identity_claim c = {UINT64_MAX, OTHER};
    struct rsm_addr peer;
    char why[RSM_IDENTITY_WHY_MAX + 1];

    (void)state;
    assert_int_equal(rsm_identity_check(&c, UINT64_MAX - 1, UINT64_MAX, CID,
                                        why, sizeof why),
                     RSM_IDENTITY_SELF);
    assert_true(strlen(why) < RSM_IDENTITY_WHY_MAX);
    assert_int_equal(
        rsm_identity_check(&c, UINT64_MAX - 1, 1, CID, why, sizeof why),
        RSM_IDENTITY_OTHER_AGENT);
    assert_true(strlen(why) < RSM_IDENTITY_WHY_MAX);
    c.agent_id = UINT64_MAX - 1;
    assert_int_equal(
        rsm_identity_check(&c, UINT64_MAX - 1, 1, CID, why, sizeof why),
        RSM_IDENTITY_OTHER_CLUSTER);
    assert_true(strlen(why) < RSM_IDENTITY_WHY_MAX);
    /* The address sentence with a short host (a long DNS name is longer
     * than any buffer of this size: it is truncated, see the test above). */
    set_addr(&peer, "10.100.200.250", 65535);
    assert_int_equal(
        rsm_identity_check_addr(&peer, UINT64_MAX, &peer, why, sizeof why),
        RSM_IDENTITY_ADDR_IS_SELF);
    assert_true(strlen(why) < RSM_IDENTITY_WHY_MAX);
}

/* ---- rsm_identity_check_addr --------------------------------------------- */

static void test_addr_same_as_own_is_self(void **state)
{
    struct rsm_addr peer, self;
    char why[RSM_IDENTITY_WHY_MAX];

    (void)state;
    set_addr(&peer, "10.0.0.1", 7000);
    set_addr(&self, "10.0.0.1", 7000);
    assert_int_equal(
        rsm_identity_check_addr(&peer, ASKED, &self, why, sizeof why),
        RSM_IDENTITY_ADDR_IS_SELF);
    assert_string_equal(why, "the client address of agent 2 (10.0.0.1:7000) "
                             "is this agent's own");
    assert_int_equal(rsm_identity_check_addr(&peer, ASKED, &self, NULL, 0),
                     RSM_IDENTITY_ADDR_IS_SELF);
    /* IPv6 is written with brackets. */
    set_addr(&peer, "::1", 7000);
    set_addr(&self, "::1", 7000);
    assert_int_equal(
        rsm_identity_check_addr(&peer, ASKED, &self, why, sizeof why),
        RSM_IDENTITY_ADDR_IS_SELF);
    assert_mentions(why, "([::1]:7000)");
}

static void test_addr_other_port_or_host_is_ok(void **state)
{
    struct rsm_addr peer, self;
    char why[RSM_IDENTITY_WHY_MAX];

    (void)state;
    set_addr(&self, "10.0.0.1", 7000);
    set_addr(&peer, "10.0.0.1", 7001); /* same host, another agent */
    snprintf(why, sizeof why, "stale");
    assert_int_equal(
        rsm_identity_check_addr(&peer, ASKED, &self, why, sizeof why),
        RSM_IDENTITY_OK);
    assert_string_equal(why, "");
    set_addr(&peer, "10.0.0.2", 7000);
    assert_int_equal(
        rsm_identity_check_addr(&peer, ASKED, &self, why, sizeof why),
        RSM_IDENTITY_OK);
}

/* An agent that does not know its own client address (empty) never takes
 * a peer for itself, not even a peer whose address is empty too. */
static void test_addr_empty_self_never_matches(void **state)
{
    struct rsm_addr peer, self;
    char why[RSM_IDENTITY_WHY_MAX];

    (void)state;
    memset(&self, 0, sizeof self);
    memset(&peer, 0, sizeof peer);
    assert_int_equal(
        rsm_identity_check_addr(&peer, ASKED, &self, why, sizeof why),
        RSM_IDENTITY_OK);
    set_addr(&peer, "10.0.0.1", 7000);
    assert_int_equal(
        rsm_identity_check_addr(&peer, ASKED, &self, why, sizeof why),
        RSM_IDENTITY_OK);
}

/* rsm_addr_equal folds the case of host names: so does this check. */
static void test_addr_host_case_is_ignored(void **state)
{
    struct rsm_addr peer, self;
    char why[RSM_IDENTITY_WHY_MAX];

    (void)state;
    set_addr(&self, "rsm-0.rsm.default.svc", 7000);
    set_addr(&peer, "RSM-0.Rsm.Default.SVC", 7000);
    assert_int_equal(
        rsm_identity_check_addr(&peer, ASKED, &self, why, sizeof why),
        RSM_IDENTITY_ADDR_IS_SELF);
    assert_mentions(why, "agent 2 (RSM-0.Rsm.Default.SVC:7000)");
}

/* ---- names --------------------------------------------------------------- */

static void test_verdict_names(void **state)
{
    (void)state;
    assert_string_equal(rsm_identity_verdict_str(RSM_IDENTITY_OK), "ok");
    assert_string_equal(rsm_identity_verdict_str(RSM_IDENTITY_MISSING),
                        "missing");
    assert_string_equal(rsm_identity_verdict_str(RSM_IDENTITY_SELF), "self");
    assert_string_equal(rsm_identity_verdict_str(RSM_IDENTITY_OTHER_AGENT),
                        "other-agent");
    assert_string_equal(rsm_identity_verdict_str(RSM_IDENTITY_OTHER_CLUSTER),
                        "other-cluster");
    assert_string_equal(rsm_identity_verdict_str(RSM_IDENTITY_ADDR_IS_SELF),
                        "address-is-self");
    assert_string_equal(rsm_identity_verdict_str((enum rsm_identity_verdict)(
                            RSM_IDENTITY_ADDR_IS_SELF + 1)),
                        "unknown");
    assert_string_equal(
        rsm_identity_verdict_str((enum rsm_identity_verdict) - 1), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_asked_agent_of_this_cluster_is_ok),
        cmocka_unit_test(test_no_agent_id_is_missing),
        cmocka_unit_test(test_self_answering_for_another_member),
        cmocka_unit_test(test_another_member_answering),
        cmocka_unit_test(test_agent_of_another_cluster),
        cmocka_unit_test(test_long_claimed_cluster_is_cut_in_why),
        cmocka_unit_test(test_unknown_cluster_on_either_side_is_accepted),
        cmocka_unit_test(test_asking_oneself_is_ok),
        cmocka_unit_test(test_why_may_be_null_or_short),
        cmocka_unit_test(test_why_max_holds_every_sentence),
        cmocka_unit_test(test_addr_same_as_own_is_self),
        cmocka_unit_test(test_addr_other_port_or_host_is_ok),
        cmocka_unit_test(test_addr_empty_self_never_matches),
        cmocka_unit_test(test_addr_host_case_is_ignored),
        cmocka_unit_test(test_verdict_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
