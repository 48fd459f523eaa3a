/* bench.c - rsm-agent's test-only apply benchmark (RSM_TEST_FAULTS
 * builds only; a release build compiles the no-op versions below). */
#include "agent.h"
#include "rsm/err.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef RSM_TEST_FAULTS
/* Test-only: with RSM_BENCH_APPLIES=N in the environment, the first time
 * this agent is the ready leader it proposes N entries one after the other
 * and logs the commit latency (event bench-apply). Used by
 * scripts/bench/raft.sh; not a flag, not in --help. */
struct bench {
    unsigned total, done, errors, rejected;
    uint64_t *lat_ns;
    uint64_t t0;
    bool started;
};

static int agent__cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static void agent__bench_next(struct agent *a);

static void agent__bench_report(struct bench *b)
{
    unsigned n = b->done;

    qsort(b->lat_ns, n, sizeof b->lat_ns[0], agent__cmp_u64);
    rsm_log(RSM_LOG_INFO, "bench-apply",
            "n=%u errors=%u rejected=%u median_us=%.0f p99_us=%.0f "
            "max_us=%.0f",
            n, b->errors, b->rejected, n ? (double)b->lat_ns[n / 2] / 1e3 : 0.0,
            n ? (double)b->lat_ns[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] /
                    1e3
              : 0.0,
            n ? (double)b->lat_ns[n - 1] / 1e3 : 0.0);
}

static void agent__bench_applied(void *arg, int status, const char *msg)
{
    struct agent *a = arg;
    struct bench *b = a->bench;

    assert(b != NULL && b->done < b->total); /* one reply per proposal */
    b->lat_ns[b->done++] = uv_hrtime() - b->t0;
    if (status == RSM_EREJECTED)
        b->rejected++;
    else if (status != 0)
        b->errors++;
    (void)msg;
    agent__bench_next(a);
}

static void agent__bench_next(struct agent *a)
{
    struct bench *b = a->bench;
    struct rsm_entry e;

    if (b->done == b->total || a->stopping || a->node == NULL) {
        agent__bench_report(b);
        return;
    }
    rsm_entry_init(&e, RSM_ENTRY_OBSERVE_MASTER, "bench",
                   (int64_t)(uv_now(&a->loop)));
    rsm_addr_set(&e.master, "127.0.0.1", 6379, NULL, 0);
    b->t0 = uv_hrtime();
    if (rsm_node_propose(a->node, &e, agent__bench_applied, a) != 0) {
        b->errors++;
        agent__bench_report(b);
    }
}

void agent_bench_maybe_start(struct agent *a)
{
    const char *env = getenv("RSM_BENCH_APPLIES");
    long n = env ? strtol(env, NULL, 10) : 0;

    if (a->bench != NULL || n <= 0 || n > 1000000)
        return;
    a->bench = calloc(1, sizeof *a->bench);
    if (a->bench == NULL)
        return;
    a->bench->lat_ns = calloc((size_t)n, sizeof(uint64_t));
    if (a->bench->lat_ns == NULL)
        return;
    a->bench->total = (unsigned)n;
    agent__bench_next(a);
}

void agent_bench_free(struct agent *a)
{
    if (a->bench != NULL)
        free(a->bench->lat_ns);
    free(a->bench);
    a->bench = NULL;
}
#else
void agent_bench_maybe_start(struct agent *a)
{
    (void)a;
}

void agent_bench_free(struct agent *a)
{
    (void)a;
}
#endif
