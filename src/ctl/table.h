/* table.h - rsmctl's human output: aligned tables, wrapped lines and
 * colors, all fitting a terminal of TEXT_WIDTH columns.
 *
 * Colors are ANSI SGR sequences, written only when the caller says so
 * (text_use_color(): stdout is a terminal, NO_COLOR unset, TERM not
 * "dumb"); widths are always counted without them.
 *
 * Ownership: a struct table is the caller's (usually on the stack); its
 * cells are copies made here and freed by table_free(). */
#ifndef RSM_CTL_TABLE_H
#define RSM_CTL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Human output never goes past this column. */
#define TEXT_WIDTH 80

enum text_color {
    TC_NONE = 0,
    TC_BOLD,
    TC_GREEN,
    TC_YELLOW,
    TC_RED,
    TC_DIM,
};

/* Should stdout get colors? (a TTY, NO_COLOR unset or empty, TERM set
 * and not "dumb"). */
bool text_use_color(FILE *out);

/* The SGR sequence that starts c, and the one that ends it; "" when
 * !color or c is TC_NONE. */
const char *text_on(bool color, enum text_color c);
const char *text_off(bool color, enum text_color c);

/* Print prefix then text, wrapped at spaces to TEXT_WIDTH columns; the
 * next lines start with as many spaces as prefix is long plus `hang`.
 * A word longer than a line is cut. The whole text is in color c. */
void text_wrap(FILE *out, bool color, const char *prefix, unsigned hang,
               enum text_color c, const char *text);

/* "2026-11-26 10:00:01" (local time) for a wall-clock time in ms into buf
 * (len bytes), "-" for ms <= 0 or a time that cannot be shown. Returns
 * buf. */
const char *text_when(int64_t ms, char *buf, size_t len);

/* --- tables ----------------------------------------------------------------
 * Columns as wide as their widest cell, two spaces apart, left-aligned,
 * the header row in bold. If a row would pass TEXT_WIDTH, the flexible
 * column (table_flex(), default the widest) is narrowed and its long cells
 * cut, keeping a ":port" ending, with '~' where text was cut. */

#define TABLE_MAX_COLS 8

struct table {
    unsigned cols;
    size_t rows, cap;
    char ***cells;
    unsigned char **color; /* enum text_color per cell */
    int flex;              /* column to narrow, -1: the widest */
    bool oom;
};

/* Start a table with its header row (cols strings). */
void table_init(struct table *t, unsigned cols, const char *const *header);

/* Add a row of t->cols strings (NULL prints as empty). */
void table_row(struct table *t, const char *const *cells);

/* Color cell col of the last row added. */
void table_color(struct table *t, unsigned col, enum text_color c);

/* Narrow column col first when the table is too wide. */
void table_flex(struct table *t, unsigned col);

/* Print every row, each line starting with indent. Nothing if the table
 * ran out of memory (the caller's output says so if it checks t->oom). */
void table_print(const struct table *t, FILE *out, bool color,
                 const char *indent);

void table_free(struct table *t);

/* Cut text to at most width characters into buf (of len bytes) as the
 * tables do: "long-host-na~:6379", or "long tex~". Returns buf. */
const char *text_fit(const char *text, size_t width, char *buf, size_t len);

#endif /* RSM_CTL_TABLE_H */
