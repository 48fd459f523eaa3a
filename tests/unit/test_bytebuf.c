/* test_bytebuf.c - unit tests for net/bytebuf: appends keep the bytes in
 * order, the buffer grows from its first size by doubling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bytebuf.h"

static void test_appends_in_order(void **state)
{
    struct rsm_bytebuf b = {0};

    (void)state;
    assert_int_equal(rsm_bytebuf_put(&b, 4, "ab", 2), 0);
    assert_int_equal(b.cap, 4);
    assert_int_equal(rsm_bytebuf_put(&b, 4, "", 0), 0);
    assert_int_equal(rsm_bytebuf_put(&b, 4, "cdefg", 5), 0);
    assert_int_equal(b.len, 7);
    assert_int_equal(b.cap, 8); /* doubled once */
    assert_memory_equal(b.data, "abcdefg", 7);
    free(b.data);
}

static void test_first_allocation_fits_a_large_append(void **state)
{
    struct rsm_bytebuf b = {0};
    char big[1000];

    (void)state;
    memset(big, 'x', sizeof big);
    assert_int_equal(rsm_bytebuf_put(&b, 256, big, sizeof big), 0);
    assert_int_equal(b.cap, 1024);
    assert_int_equal(b.len, sizeof big);
    free(b.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appends_in_order),
        cmocka_unit_test(test_first_allocation_fits_a_large_append),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
