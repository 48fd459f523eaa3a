/* fuzz_leaderview.c - libFuzzer target for the two texts an agent reads
 * that other processes wrote: the leader's view (RSM LEADERVIEW payloads,
 * leaderview.h) and the masters file of the data dir (masterfile.h).
 *
 * Run: build-fuzz/fuzz_leaderview CORPUS_DIR tests/fuzz/corpus/leaderview
 *
 * The input is handed over as is (not NUL-terminated, exact length). A
 * payload that decodes must encode again to text that decodes to the same
 * groups; a masters file that decodes must be sorted and encode again to
 * text that decodes to the same. Crashes, sanitizer reports and broken
 * invariants are findings. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsm/err.h"
#include "rsm/leaderview.h"
#include "rsm/masterfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rsm_leaderview_group g, again;

static void same_group(const struct rsm_leaderview_group *a,
                       const struct rsm_leaderview_group *b)
{
    if (strcmp(a->name, b->name) != 0 || a->n != b->n ||
        a->o_down != b->o_down || a->o_down_ms != b->o_down_ms ||
        !rsm_addr_equal(&a->master, &b->master) ||
        rsm_leaderview_shape(a) != rsm_leaderview_shape(b))
        abort();
    for (unsigned i = 0; i < a->n; i++) {
        const struct rsm_leaderview_instance *x = &a->inst[i], *y = &b->inst[i];
        if (!rsm_addr_equal(&x->addr, &y->addr) ||
            x->info.offset != y->info.offset ||
            x->info_age_ms != y->info_age_ms || x->down_ms != y->down_ms)
            abort();
    }
}

/* The group just decoded, encoded and decoded again. */
static void round_trip(const struct rsm_leaderview_origin *o)
{
    struct rsm_textbuf t = {0};
    size_t pos = 0, len;
    struct rsm_leaderview_origin o2;
    char *text;

    rsm_leaderview_encode_header(&t, o);
    rsm_leaderview_encode_group(&t, &g);
    text = rsm_textbuf_finish(&t);
    if (text == NULL)
        return;
    len = strlen(text);
    if (rsm_leaderview_decode_header(text, len, &pos, &o2, NULL, 0) != 0 ||
        o2.leader_id != o->leader_id || o2.term != o->term ||
        strcmp(o2.cluster_id, o->cluster_id) != 0 ||
        rsm_leaderview_decode_group(text, len, &pos, NULL, &again, NULL, 0) !=
            0)
        abort();
    same_group(&g, &again);
    free(text);
}

static void leaderview(const char *text, size_t size)
{
    struct rsm_leaderview_origin o;
    char err[RSM_ERRMSG_SIZE];
    size_t pos = 0, start;
    int rv;

    if (rsm_leaderview_decode_header(text, size, &pos, &o, err, sizeof err) !=
        0)
        return;
    for (;;) {
        rv = rsm_leaderview_decode_group(text, size, &pos, &start, &g, err,
                                         sizeof err);
        if (rv == RSM_ENOTFOUND)
            return;
        if (rv != 0) {
            if (rv != RSM_EPARSE && rv != RSM_ERANGE && rv != RSM_ETRUNC)
                abort();
            return;
        }
        if (g.n > RSM_LEADERVIEW_MAX_INSTANCES || start >= pos || pos > size ||
            strlen(g.name) >= sizeof g.name)
            abort();
        round_trip(&o);
    }
}

static void masters(const char *text, size_t size)
{
    struct rsm_masterfile mf;
    char err[RSM_ERRMSG_SIZE];
    char *again_text;

    if (rsm_masterfile_decode(text, size, &mf, err, sizeof err) != 0) {
        if (mf.n != 0 || mf.items != NULL)
            abort();
        return;
    }
    for (size_t i = 1; i < mf.n; i++) {
        if (strcmp(mf.items[i - 1].group, mf.items[i].group) >= 0)
            abort();
    }
    again_text = rsm_masterfile_encode(&mf);
    if (again_text != NULL) {
        struct rsm_masterfile back;
        if (rsm_masterfile_decode(again_text, strlen(again_text), &back, NULL,
                                  0) != 0 ||
            back.applied != mf.applied || !rsm_masterfile_same(&mf, &back))
            abort();
        rsm_masterfile_free(&back);
    }
    free(again_text);
    rsm_masterfile_free(&mf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);

    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    leaderview(copy, size);
    masters(copy, size);
    free(copy);
    return 0;
}
