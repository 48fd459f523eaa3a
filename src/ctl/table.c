/* table.c - rsmctl's human output (see table.h). */
#include "table.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- colors ---------------------------------------------------------------
 */

bool text_use_color(FILE *out)
{
    const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

    if (no != NULL && no[0] != '\0')
        return false;
    if (term == NULL || strcmp(term, "dumb") == 0)
        return false;
    return isatty(fileno(out)) == 1;
}

const char *text_on(bool color, enum text_color c)
{
    static const char *const sgr[] = {
        [TC_NONE] = "",          [TC_BOLD] = "\033[1m",
        [TC_GREEN] = "\033[32m", [TC_YELLOW] = "\033[33m",
        [TC_RED] = "\033[31m",   [TC_DIM] = "\033[2m",
    };

    if (!color || (unsigned)c >= sizeof sgr / sizeof sgr[0])
        return "";
    return sgr[c];
}

const char *text_off(bool color, enum text_color c)
{
    return color && c != TC_NONE ? "\033[0m" : "";
}

/* ---- wrapping --------------------------------------------------------------
 */

void text_wrap(FILE *out, bool color, const char *prefix, unsigned hang,
               enum text_color c, const char *text)
{
    size_t indent = strlen(prefix) + hang, col = strlen(prefix);
    size_t room = TEXT_WIDTH > indent + 20 ? TEXT_WIDTH - indent : 20;
    const char *p = text;
    bool first_word = true;

    fputs(prefix, out);
    fputs(text_on(color, c), out);
    while (*p != '\0') {
        size_t word, space = 0;
        while (p[space] == ' ')
            space++;
        p += space;
        word = strcspn(p, " ");
        if (word == 0)
            break;
        if (!first_word && col + 1 + word > TEXT_WIDTH) {
            fprintf(out, "%s\n%*s%s", text_off(color, c), (int)indent, "",
                    text_on(color, c));
            col = indent;
            first_word = true;
        }
        if (!first_word) {
            fputc(' ', out);
            col++;
        }
        if (word > room) { /* cut an overlong word */
            fprintf(out, "%.*s", (int)room, p);
            p += room;
            col += room;
            first_word = false;
            continue;
        }
        fprintf(out, "%.*s", (int)word, p);
        col += word;
        p += word;
        first_word = false;
    }
    fprintf(out, "%s\n", text_off(color, c));
}

/* ---- times -----------------------------------------------------------------
 */

const char *text_when(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms <= 0 || localtime_r(&t, &tm) == NULL ||
        strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, len, "-");
    return buf;
}

/* ---- tables ----------------------------------------------------------------
 */

void table_init(struct table *t, unsigned cols, const char *const *header)
{
    memset(t, 0, sizeof *t);
    assert(cols > 0 && cols <= TABLE_MAX_COLS);
    t->cols = cols;
    t->flex = -1;
    table_row(t, header);
    if (!t->oom)
        for (unsigned c = 0; c < cols; c++)
            table_color(t, c, TC_BOLD);
}

static bool table__grow(struct table *t)
{
    size_t cap = t->cap ? t->cap * 2 : 8;
    char ***cells = realloc(t->cells, cap * sizeof *cells);
    unsigned char **color;

    if (cells == NULL)
        return false;
    t->cells = cells;
    color = realloc(t->color, cap * sizeof *color);
    if (color == NULL)
        return false;
    t->color = color;
    t->cap = cap;
    return true;
}

void table_row(struct table *t, const char *const *cells)
{
    char **row;
    unsigned char *color;

    if (t->oom)
        return;
    if (t->rows == t->cap && !table__grow(t)) {
        t->oom = true;
        return;
    }
    row = calloc(t->cols, sizeof *row);
    color = calloc(t->cols, sizeof *color);
    if (row == NULL || color == NULL) {
        free(row);
        free(color);
        t->oom = true;
        return;
    }
    for (unsigned i = 0; i < t->cols; i++) {
        row[i] = strdup(cells[i] ? cells[i] : "");
        if (row[i] == NULL)
            t->oom = true;
    }
    t->cells[t->rows] = row;
    t->color[t->rows] = color;
    t->rows++;
}

void table_color(struct table *t, unsigned col, enum text_color c)
{
    if (t->oom || t->rows == 0 || col >= t->cols)
        return;
    t->color[t->rows - 1][col] = (unsigned char)c;
}

void table_flex(struct table *t, unsigned col)
{
    if (col < t->cols)
        t->flex = (int)col;
}

const char *text_fit(const char *text, size_t width, char *buf, size_t len)
{
    size_t n = strlen(text), keep = 0;
    const char *colon = strrchr(text, ':');

    if (len == 0)
        return buf;
    if (n <= width || width == 0) {
        snprintf(buf, len, "%.*s", (int)(width ? width : n), text);
        return buf;
    }
    /* keep ":port" (up to 6 characters) when there is room for a head */
    if (colon != NULL && (size_t)(text + n - colon) <= 6 &&
        (size_t)(text + n - colon) + 4 <= width)
        keep = (size_t)(text + n - colon);
    snprintf(buf, len, "%.*s~%s", (int)(width - 1 - keep), text,
             text + n - keep);
    return buf;
}

/* Column widths, the flexible one narrowed to fit indent + TEXT_WIDTH. */
static void table__widths(const struct table *t, size_t indent, size_t *w)
{
    size_t total = indent;
    int flex = t->flex;

    for (unsigned c = 0; c < t->cols; c++) {
        w[c] = 0;
        for (size_t r = 0; r < t->rows; r++)
            if (strlen(t->cells[r][c]) > w[c])
                w[c] = strlen(t->cells[r][c]);
        total += w[c] + (c > 0 ? 2 : 0);
        if (t->flex < 0 && (flex < 0 || w[c] > w[flex]))
            flex = (int)c;
    }
    if (total > TEXT_WIDTH && flex >= 0) {
        size_t excess = total - TEXT_WIDTH;
        size_t min =
            strlen(t->cells[0][flex]) > 8 ? strlen(t->cells[0][flex]) : 8;
        w[flex] = w[flex] > min + excess ? w[flex] - excess
                  : w[flex] > min        ? min
                                         : w[flex];
    }
}

void table_print(const struct table *t, FILE *out, bool color,
                 const char *indent)
{
    size_t w[TABLE_MAX_COLS];
    char cell[TEXT_WIDTH * 4];

    if (t->oom)
        return;
    table__widths(t, strlen(indent), w);
    for (size_t r = 0; r < t->rows; r++) {
        size_t pad = 0;
        fputs(indent, out);
        for (unsigned c = 0; c < t->cols; c++) {
            enum text_color tc = (enum text_color)t->color[r][c];
            const char *s = text_fit(t->cells[r][c], w[c], cell, sizeof cell);
            if (s[0] != '\0') {
                fprintf(out, "%*s%s%s%s", (int)pad, "", text_on(color, tc), s,
                        text_off(color, tc));
                pad = 0;
            }
            pad += w[c] - strlen(s) + 2; /* trailing blanks never printed */
        }
        fputc('\n', out);
    }
}

void table_free(struct table *t)
{
    for (size_t r = 0; r < t->rows; r++) {
        for (unsigned c = 0; c < t->cols; c++)
            free(t->cells[r][c]);
        free(t->cells[r]);
        free(t->color[r]);
    }
    free(t->cells);
    free(t->color);
    memset(t, 0, sizeof *t);
}
