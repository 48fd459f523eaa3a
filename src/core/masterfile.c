/* masterfile.c - the masters given to clients, as kept in the data dir
 * (see masterfile.h). */
#include "rsm/masterfile.h"
#include "rsm/err.h"
#include "rsm/textbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC    "rsm-masters"
#define VERSION  1 /* written in masterfile__decode_header's prefix too */
#define LINE_LEN (RSM_GROUP_NAME_MAX + RSM_ADDR_STRLEN + 2)

void rsm_masterfile_init(struct rsm_masterfile *mf)
{
    memset(mf, 0, sizeof *mf);
}

void rsm_masterfile_free(struct rsm_masterfile *mf)
{
    free(mf->items);
    rsm_masterfile_init(mf);
}

static bool masterfile__good_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= RSM_GROUP_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return false;
    }
    return true;
}

int rsm_masterfile_add(struct rsm_masterfile *mf, const char *group,
                       const struct rsm_addr *master)
{
    struct rsm_masterfile_item *grown;

    if (!masterfile__good_name(group) || !rsm_addr_is_set(master))
        return RSM_EINVAL;
    grown = realloc(mf->items, (mf->n + 1) * sizeof *grown);
    if (grown == NULL)
        return RSM_ENOMEM;
    mf->items = grown;
    memset(&grown[mf->n], 0, sizeof grown[mf->n]);
    memcpy(grown[mf->n].group, group, strlen(group) + 1);
    grown[mf->n].master = *master;
    mf->n++;
    return 0;
}

static int masterfile__by_group(const void *a, const void *b)
{
    return strcmp(((const struct rsm_masterfile_item *)a)->group,
                  ((const struct rsm_masterfile_item *)b)->group);
}

void rsm_masterfile_sort(struct rsm_masterfile *mf)
{
    if (mf->n > 1)
        qsort(mf->items, mf->n, sizeof *mf->items, masterfile__by_group);
}

char *rsm_masterfile_encode(const struct rsm_masterfile *mf)
{
    struct rsm_textbuf t = {0};
    char a[RSM_ADDR_STRLEN];

    rsm_textbuf_printf(&t, "%s %d %" PRIu64 "\n", MAGIC, VERSION, mf->applied);
    for (size_t i = 0; i < mf->n; i++)
        rsm_textbuf_printf(&t, "%s %s\n", mf->items[i].group,
                           rsm_addr_format(&mf->items[i].master, a, sizeof a));
    return rsm_textbuf_finish(&t);
}

/* The line at *pos into buf (NUL-terminated, without "\n"); false at the
 * end, or for a line too long or without its "\n". */
static bool masterfile__next_line(const char *text, size_t len, size_t *pos,
                                  char *buf, size_t size, bool *bad)
{
    const char *p = text + *pos, *nl;
    size_t n;

    *bad = false;
    if (*pos >= len)
        return false;
    nl = memchr(p, '\n', len - *pos);
    n = nl != NULL ? (size_t)(nl - p) : len - *pos;
    if (nl == NULL || n >= size || memchr(p, '\0', n) != NULL) {
        *bad = true;
        return false;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    *pos += n + 1;
    return true;
}

static int masterfile__decode_header(const char *line, uint64_t *applied)
{
    static const char prefix[] = MAGIC " 1 ";
    const char *num = line + sizeof prefix - 1;
    char *end;

    if (strncmp(line, prefix, sizeof prefix - 1) != 0 || *num < '0' ||
        *num > '9')
        return RSM_EPARSE;
    errno = 0;
    *applied = strtoull(num, &end, 10);
    return *end == '\0' && errno == 0 ? 0 : RSM_EPARSE;
}

static int masterfile__decode_item(struct rsm_masterfile *mf, char *line)
{
    char *sp = strchr(line, ' ');
    struct rsm_addr a;
    int rv;

    if (sp == NULL || strchr(sp + 1, ' ') != NULL)
        return RSM_EPARSE;
    *sp = '\0';
    memset(&a, 0, sizeof a);
    if (rsm_addr_parse(sp + 1, &a, NULL, 0) != 0)
        return RSM_EPARSE;
    if (mf->n > 0 && strcmp(mf->items[mf->n - 1].group, line) >= 0)
        return RSM_EPARSE; /* not sorted, or twice */
    rv = rsm_masterfile_add(mf, line, &a);
    return rv == RSM_EINVAL ? RSM_EPARSE : rv;
}

int rsm_masterfile_decode(const char *text, size_t len,
                          struct rsm_masterfile *out, char *errmsg,
                          size_t errlen)
{
    char line[LINE_LEN + 1];
    size_t pos = 0;
    unsigned no = 1;
    bool bad;
    int rv;

    rsm_masterfile_init(out);
    if (!masterfile__next_line(text, len, &pos, line, sizeof line, &bad) ||
        masterfile__decode_header(line, &out->applied) != 0)
        return rsm_errf(RSM_EPARSE, errmsg, errlen,
                        "line 1: not an %s %d header", MAGIC, VERSION);
    while (masterfile__next_line(text, len, &pos, line, sizeof line, &bad)) {
        no++;
        rv = masterfile__decode_item(out, line);
        if (rv != 0) {
            rsm_masterfile_free(out);
            return rsm_errf(rv, errmsg, errlen, "line %u: %s", no,
                            rv == RSM_ENOMEM ? "out of memory"
                                             : "not \"<group> <host:port>\" "
                                               "in order");
        }
    }
    if (bad) {
        rsm_masterfile_free(out);
        return rsm_errf(RSM_EPARSE, errmsg, errlen, "line %u: cut or too long",
                        no + 1);
    }
    return 0;
}

const struct rsm_addr *rsm_masterfile_find(const struct rsm_masterfile *mf,
                                           const char *group)
{
    size_t lo = 0, hi = mf->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(mf->items[mid].group, group);
        if (c == 0)
            return &mf->items[mid].master;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

bool rsm_masterfile_same(const struct rsm_masterfile *a,
                         const struct rsm_masterfile *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->items[i].group, b->items[i].group) != 0 ||
            !rsm_addr_equal(&a->items[i].master, &b->items[i].master))
            return false;
    }
    return true;
}

bool rsm_masterfile_usable(const struct rsm_masterfile *mf,
                           uint64_t fsm_applied, bool caught_up)
{
    return !caught_up && mf->applied > fsm_applied;
}
