/* textbuf.c - a growing text buffer (see textbuf.h). */
#include "rsm/textbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_CAP 512

/* Make room for need more bytes and a NUL; false if out of memory. */
static bool textbuf__reserve(struct rsm_textbuf *t, size_t need)
{
    size_t cap = t->cap ? t->cap : FIRST_CAP;
    char *s;

    if (need < t->cap - t->len)
        return true;
    while (cap - t->len <= need) {
        if (cap > SIZE_MAX / 2)
            return false;
        cap *= 2;
    }
    s = realloc(t->s, cap);
    if (s == NULL)
        return false;
    t->s = s;
    t->cap = cap;
    return true;
}

void rsm_textbuf_printf(struct rsm_textbuf *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->oom)
        return;
    va_start(ap, fmt);
    n = vsnprintf(t->s ? t->s + t->len : NULL, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->oom = true;
        return;
    }
    if ((size_t)n < t->cap - t->len) {
        t->len += (size_t)n;
        return;
    }
    if (!textbuf__reserve(t, (size_t)n)) {
        t->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

char *rsm_textbuf_finish(struct rsm_textbuf *t)
{
    char *s = t->s;

    if (t->oom) {
        free(s);
        s = NULL;
    } else if (s == NULL) {
        s = strdup("");
    }
    memset(t, 0, sizeof *t);
    return s;
}

void rsm_textbuf_free(struct rsm_textbuf *t)
{
    free(t->s);
    memset(t, 0, sizeof *t);
}
