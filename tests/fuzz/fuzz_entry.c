/* fuzz_entry.c - libFuzzer target for the log entry decoder and the FSM.
 *
 * Each input is decoded as an entry (must fail cleanly or give an entry
 * that passes the form check and re-encodes), applied as bytes to a
 * long-lived state machine (which must stay equal to its own snapshot),
 * and restored as a snapshot (a refused snapshot keeps the old state).
 *
 *   CC=clang cmake -S . -B build-fuzz -DRSM_FUZZ=ON
 *   cmake --build build-fuzz --target fuzz_entry
 *   ./build-fuzz/fuzz_entry -max_total_time=60 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsm/codec.h"
#include "rsm/err.h"
#include "rsm/fsm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rsm_fsm fsm;
static bool ready;

static void check_decode(const uint8_t *data, size_t size)
{
    struct rsm_entry e;
    void *buf = NULL;
    size_t len = 0;
    int rv = rsm_codec_decode_entry(data, size, &e, NULL, 0);

    if (rv != 0) {
        if (rv != RSM_EPARSE || e.kind != RSM_ENTRY_NONE)
            abort();
        return;
    }
    if (rsm_entry_check(&e, NULL, 0) != 0)
        abort();
    if (rsm_codec_encode_entry(&e, &buf, &len) != 0)
        abort();
    free(buf);
}

/* Snapshot the state, restore it into a fresh one: must be equal. */
static void check_snapshot_round_trip(void)
{
    struct rsm_fsm copy;
    void *buf;
    size_t len;

    if (rsm_fsm_snapshot(&fsm, &buf, &len) != 0)
        abort();
    rsm_fsm_init(&copy);
    if (rsm_fsm_restore(&copy, buf, len, NULL, 0) != 0 ||
        !rsm_fsm_equal(&fsm, &copy))
        abort();
    rsm_fsm_close(&copy);
    free(buf);
}

static void check_restore(const uint8_t *data, size_t size)
{
    struct rsm_fsm target;

    rsm_fsm_init(&target);
    if (rsm_fsm_restore(&target, data, size, NULL, 0) == 0) {
        /* What we accept we can write back and read again. */
        void *buf;
        size_t len;
        struct rsm_fsm again;

        if (rsm_fsm_snapshot(&target, &buf, &len) != 0)
            abort();
        rsm_fsm_init(&again);
        if (rsm_fsm_restore(&again, buf, len, NULL, 0) != 0 ||
            !rsm_fsm_equal(&target, &again))
            abort();
        rsm_fsm_close(&again);
        free(buf);
    } else if (target.n_groups != 0) {
        abort(); /* a refused restore must leave the state as it was */
    }
    rsm_fsm_close(&target);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char reason[RSM_ERRMSG_SIZE];

    if (!ready) {
        rsm_fsm_init(&fsm);
        ready = true;
    }
    check_decode(data, size);
    rsm_fsm_apply_bytes(&fsm, data, size, NULL, reason, sizeof reason);
    check_snapshot_round_trip();
    if (fsm.n_groups > 8) { /* keep the state small and the runs fast */
        rsm_fsm_close(&fsm);
        rsm_fsm_init(&fsm);
    }
    check_restore(data, size);
    return 0;
}
