/* textbuf.h - a growing text buffer for rendered output (INFO, metrics).
 *
 * Appends are printf-style and never fail on their own: running out of
 * memory marks the buffer failed, every later append does nothing, and
 * rsm_textbuf_finish() reports it by returning NULL. So a renderer appends
 * line after line without checking each one, and checks once at the end.
 *
 * Ownership: the caller owns struct rsm_textbuf (start it zeroed:
 * `struct rsm_textbuf t = {0};`); its memory is handed over by
 * rsm_textbuf_finish() (or dropped by rsm_textbuf_free()). Pure: no I/O. */
#ifndef RSM_TEXTBUF_H
#define RSM_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>

struct rsm_textbuf {
    char *s;    /* NUL-terminated once anything was appended; else NULL */
    size_t len; /* bytes of text, without the NUL */
    size_t cap; /* bytes allocated */
    bool oom;   /* an append ran out of memory: the text is incomplete */
};

/* Append printf(fmt, ...). On failure (out of memory, or an encoding error
 * from vsnprintf) t is marked failed instead. */
void rsm_textbuf_printf(struct rsm_textbuf *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Hand the text over: a malloc'd NUL-terminated string ("" if nothing was
 * appended) that the caller frees, or NULL if an append failed or memory
 * ran out here. t is empty afterwards, either way. */
char *rsm_textbuf_finish(struct rsm_textbuf *t);

/* Drop the text; t is empty afterwards. */
void rsm_textbuf_free(struct rsm_textbuf *t);

#endif /* RSM_TEXTBUF_H */
