/* sorted.c - binary search in an array kept sorted by a name (sorted.h). */
#include "rsm/sorted.h"

#include <assert.h>
#include <string.h>

size_t rsm_sorted_name_index(const void *base, size_t n, size_t size,
                             size_t name_off, const char *name, bool *found)
{
    const char *p = base;
    size_t lo = 0, hi = n;

    assert(n == 0 || (base != NULL && name_off < size));
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(p + mid * size + name_off, name);

        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
