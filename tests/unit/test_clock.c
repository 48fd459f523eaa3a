/* test_clock.c - unit tests for net/clock: the wall clock readings and
 * the timestamps for people (the log's and rsmctl's). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <string.h>

#include "rsm/clock.h"

/* s matches pat, where '9' stands for any digit. */
static void assert_shape(const char *s, const char *pat)
{
    assert_int_equal(strlen(s), strlen(pat));
    for (size_t i = 0; pat[i] != '\0'; i++) {
        if (pat[i] == '9')
            assert_true(isdigit((unsigned char)s[i]));
        else
            assert_int_equal(s[i], pat[i]);
    }
}

static void test_wall_ms_and_ns_agree(void **state)
{
    int64_t ms = rsm_clock_wall_ms();
    int64_t ns = rsm_clock_wall_ns();

    (void)state;
    assert_true(ms > 1600000000000LL); /* after 2020 */
    assert_true(ns / 1000000 >= ms && ns / 1000000 - ms < 1000);
}

static void test_format_of_the_log(void **state)
{
    char buf[40];

    (void)state;
    assert_ptr_equal(
        rsm_clock_wall_format(buf, sizeof buf, true, "%Y-%m-%dT%H:%M:%S", "Z"),
        buf);
    assert_shape(buf, "9999-99-99T99:99:99.999Z");
}

static void test_format_of_rsmctl(void **state)
{
    char buf[16];

    (void)state;
    rsm_clock_wall_format(buf, sizeof buf, false, "%H:%M:%S", "");
    assert_shape(buf, "99:99:99.999");
}

static void test_format_truncates_to_the_buffer(void **state)
{
    char buf[10];

    (void)state;
    rsm_clock_wall_format(buf, sizeof buf, false, "%H:%M:%S", "");
    assert_shape(buf, "99:99:99.");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wall_ms_and_ns_agree),
        cmocka_unit_test(test_format_of_the_log),
        cmocka_unit_test(test_format_of_rsmctl),
        cmocka_unit_test(test_format_truncates_to_the_buffer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
