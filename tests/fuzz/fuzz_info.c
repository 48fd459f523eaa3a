/* fuzz_info.c - libFuzzer target for the INFO reply parser.
 *
 * Run: build-fuzz/fuzz_info -dict=tests/unit/fixtures/info/fuzz_info.dict
 *      CORPUS_DIR tests/unit/fixtures/info
 *
 * The input is handed over as is (not NUL-terminated, exact length), once
 * into a fresh struct and once merged over a struct parsed from the same
 * bytes, the way the agent parses several replies into one observation.
 * Crashes, sanitizer reports and broken invariants are findings. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsm/err.h"
#include "rsm/info.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct rsm_info *info, int rv, const char *err)
{
    if (rv != 0) {
        if (rv != RSM_EPARSE && rv != RSM_ETRUNC && rv != RSM_ERANGE)
            abort();
        if (strncmp(err, "line ", 5) != 0)
            abort();
        return;
    }
    if (info->n_replicas > RSM_INFO_MAX_REPLICAS || info->priority < 0)
        abort();
    if (strlen(info->master.host) >= sizeof info->master.host ||
        strlen(info->run_id) >= sizeof info->run_id ||
        strlen(info->master_replid) >= sizeof info->master_replid ||
        strlen(info->redis_version) >= sizeof info->redis_version)
        abort();
    (void)rsm_info_offset(info);
    (void)rsm_role_str(info->role);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rsm_info info;
    char err[RSM_ERRMSG_SIZE] = "";
    int rv;

    rsm_info_init(&info);
    rv = rsm_info_parse(&info, (const char *)data, size, err, sizeof err);
    check(&info, rv, err);
    rv = rsm_info_parse(&info, (const char *)data, size, err, sizeof err);
    check(&info, rv, err);
    return 0;
}
