/* test_sorted.c - unit tests for core/sorted: found, insertion points at
 * the start, middle and end, an empty array, and a name that is not the
 * first field of its element. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rsm/sorted.h"

struct item {
    int before; /* so that the name is not at offset 0 */
    char name[8];
};

static const struct item items[] = {{1, "b"}, {2, "d"}, {3, "f"}};

static size_t find(const char *name, bool *found)
{
    return rsm_sorted_name_index(items, 3, sizeof items[0],
                                 offsetof(struct item, name), name, found);
}

static void test_finds_every_name(void **state)
{
    bool found;

    (void)state;
    assert_int_equal(find("b", &found), 0);
    assert_true(found);
    assert_int_equal(find("d", &found), 1);
    assert_true(found);
    assert_int_equal(find("f", &found), 2);
    assert_true(found);
}

static void test_absent_name_gives_its_insertion_point(void **state)
{
    bool found = true;

    (void)state;
    assert_int_equal(find("a", &found), 0);
    assert_false(found);
    assert_int_equal(find("c", &found), 1);
    assert_false(found);
    assert_int_equal(find("e", &found), 2);
    assert_false(found);
    assert_int_equal(find("g", &found), 3);
    assert_false(found);
}

static void test_empty_array(void **state)
{
    bool found = true;

    (void)state;
    assert_int_equal(rsm_sorted_name_index(NULL, 0, 8, 0, "x", &found), 0);
    assert_false(found);
}

static void test_plain_name_arrays(void **state)
{
    static const char names[][4] = {"aa", "ab", "b"};
    bool found;

    (void)state;
    assert_int_equal(
        rsm_sorted_name_index(names, 3, sizeof names[0], 0, "ab", &found), 1);
    assert_true(found);
    assert_int_equal(
        rsm_sorted_name_index(names, 3, sizeof names[0], 0, "a", &found), 0);
    assert_false(found);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finds_every_name),
        cmocka_unit_test(test_absent_name_gives_its_insertion_point),
        cmocka_unit_test(test_empty_array),
        cmocka_unit_test(test_plain_name_arrays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
