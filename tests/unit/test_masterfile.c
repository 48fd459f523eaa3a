/* test_masterfile.c - unit tests for core/masterfile: the masters given to
 * clients as kept in the data dir, and the rule that says when that file
 * answers instead of the FSM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsm/err.h"
#include "rsm/masterfile.h"

static struct rsm_addr A(const char *text) {
    struct rsm_addr a;

    memset(&a, 0, sizeof a);
    assert_int_equal(rsm_addr_parse(text, &a, NULL, 0), 0);
    return a;
}

static void
add(struct rsm_masterfile *mf, const char *g, const char *addr)
{
    struct rsm_addr a = A(addr);

    assert_int_equal(rsm_masterfile_add(mf, g, &a), 0);
}

/* ---- encoding ------------------------------------------------------------ */

static void test_round_trip_sorted(void **state)
{
    struct rsm_masterfile mf, back;
    char err[RSM_ERRMSG_SIZE];
    char *text;

    (void)state;
    rsm_masterfile_init(&mf);
    mf.applied = 42;
    add(&mf, "zeta", "10.0.0.3:6379");
    add(&mf, "alpha", "[fd00::1]:6380");
    add(&mf, "mid", "redis-0.redis.svc:6379");
    rsm_masterfile_sort(&mf);
    text = rsm_masterfile_encode(&mf);
    assert_non_null(text);
    assert_string_equal(text, "rsm-masters 1 42\n"
                              "alpha [fd00::1]:6380\n"
                              "mid redis-0.redis.svc:6379\n"
                              "zeta 10.0.0.3:6379\n");
    assert_int_equal(
        rsm_masterfile_decode(text, strlen(text), &back, err, sizeof err), 0);
    assert_int_equal(back.applied, 42);
    assert_true(rsm_masterfile_same(&mf, &back));
    assert_true(
        rsm_addr_equal(rsm_masterfile_find(&back, "mid"), &mf.items[1].master));
    assert_null(rsm_masterfile_find(&back, "nosuch"));
    assert_null(rsm_masterfile_find(&back, "a"));
    assert_null(rsm_masterfile_find(&back, "zz"));
    free(text);
    rsm_masterfile_free(&mf);
    rsm_masterfile_free(&back);
}

static void test_empty_file_has_no_groups(void **state)
{
    struct rsm_masterfile mf, back;
    char *text;

    (void)state;
    rsm_masterfile_init(&mf);
    text = rsm_masterfile_encode(&mf);
    assert_string_equal(text, "rsm-masters 1 0\n");
    assert_int_equal(rsm_masterfile_decode(text, strlen(text), &back, NULL, 0),
                     0);
    assert_int_equal(back.n, 0);
    assert_null(rsm_masterfile_find(&back, "g"));
    free(text);
    rsm_masterfile_free(&back);
}

static void test_bad_items_are_not_added(void **state)
{
    struct rsm_masterfile mf;
    struct rsm_addr a = A("10.0.0.1:6379"), none;
    char longname[RSM_GROUP_NAME_MAX + 1];

    (void)state;
    memset(&none, 0, sizeof none);
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    rsm_masterfile_init(&mf);
    assert_int_equal(rsm_masterfile_add(&mf, "", &a), RSM_EINVAL);
    assert_int_equal(rsm_masterfile_add(&mf, "a b", &a), RSM_EINVAL);
    assert_int_equal(rsm_masterfile_add(&mf, "a\nb", &a), RSM_EINVAL);
    assert_int_equal(rsm_masterfile_add(&mf, longname, &a), RSM_EINVAL);
    assert_int_equal(rsm_masterfile_add(&mf, "g", &none), RSM_EINVAL);
    assert_int_equal(mf.n, 0);
    rsm_masterfile_free(&mf);
}

/* ---- decoding: anything off is refused whole ---------------------------- */

static void expect_refused(const char *text, size_t len)
{
    struct rsm_masterfile mf;
    char err[RSM_ERRMSG_SIZE] = "";

    assert_int_equal(rsm_masterfile_decode(text, len, &mf, err, sizeof err),
                     RSM_EPARSE);
    assert_int_equal(mf.n, 0);
    assert_null(mf.items);
    assert_true(strncmp(err, "line ", 5) == 0);
}

#define REFUSED(s) expect_refused(s, sizeof(s) - 1)

static void test_damaged_files_are_refused(void **state)
{
    (void)state;
    REFUSED("");
    REFUSED("rsm-masters 1 4");                  /* cut: no newline */
    REFUSED("rsm-masters 2 4\n");                /* a version not known */
    REFUSED("rsm-masters 1 -4\n");               /* bad count */
    REFUSED("rsm-masters 1 4x\n");               /* bad count */
    REFUSED("rsm-masters 1 4\ng 10.0.0.1\n");    /* no port */
    REFUSED("rsm-masters 1 4\ng\n");             /* no address */
    REFUSED("rsm-masters 1 4\ng 1.2.3.4:5 x\n"); /* a field too many */
    REFUSED("rsm-masters 1 4\nb 1.2.3.4:5\na 1.2.3.4:5\n"); /* not sorted */
    REFUSED("rsm-masters 1 4\na 1.2.3.4:5\na 1.2.3.4:6\n"); /* twice */
    REFUSED("rsm-masters 1 4\na 1.2.3.4:5\nb 1.2.3.4:5");   /* last line cut */
    REFUSED("rsm-masters 1 4\na 1.2\0003.4:5\n");           /* NUL */
    REFUSED("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\n");        /* zeros */
}

/* ---- the rule ------------------------------------------------------------ */

static void test_file_answers_only_while_the_fsm_is_behind(void **state)
{
    struct rsm_masterfile mf;

    (void)state;
    rsm_masterfile_init(&mf);
    mf.applied = 10;
    assert_true(rsm_masterfile_usable(&mf, 0, false));   /* empty FSM */
    assert_true(rsm_masterfile_usable(&mf, 9, false));   /* replaying */
    assert_false(rsm_masterfile_usable(&mf, 10, false)); /* as new */
    assert_false(rsm_masterfile_usable(&mf, 11, false)); /* newer */
    /* caught up with the leader once: the log wins, even if the file
     * claims more (a file from another group, a log restored older) */
    assert_false(rsm_masterfile_usable(&mf, 3, true));
    mf.applied = 0; /* written before anything was applied: never */
    assert_false(rsm_masterfile_usable(&mf, 0, false));
}

static void test_same_ignores_the_count(void **state)
{
    struct rsm_masterfile a, b;

    (void)state;
    rsm_masterfile_init(&a);
    rsm_masterfile_init(&b);
    add(&a, "g", "10.0.0.1:6379");
    add(&b, "g", "10.0.0.1:6379");
    a.applied = 1;
    b.applied = 9;
    assert_true(rsm_masterfile_same(&a, &b));
    b.items[0].master.port = 6380;
    assert_false(rsm_masterfile_same(&a, &b));
    add(&a, "h", "10.0.0.1:6379");
    assert_false(rsm_masterfile_same(&a, &b));
    rsm_masterfile_free(&a);
    rsm_masterfile_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_sorted),
        cmocka_unit_test(test_empty_file_has_no_groups),
        cmocka_unit_test(test_bad_items_are_not_added),
        cmocka_unit_test(test_damaged_files_are_refused),
        cmocka_unit_test(test_file_answers_only_while_the_fsm_is_behind),
        cmocka_unit_test(test_same_ignores_the_count),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
