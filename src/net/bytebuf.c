/* bytebuf.c - a growing byte buffer (see bytebuf.h). */
#include "bytebuf.h"
#include "rsm/err.h"

#include <stdlib.h>
#include <string.h>

int rsm_bytebuf_put(struct rsm_bytebuf *b, size_t first_cap, const void *p,
                    size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : first_cap;
        char *d;
        while (cap < b->len + n)
            cap *= 2;
        d = realloc(b->data, cap);
        if (d == NULL)
            return RSM_ENOMEM;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}
