/* cmddoc.h - what each command of the client port does, in one sentence:
 * the text of HELP replies ("SENTINEL HELP") and of COMMAND DOCS.
 *
 * Commands are named as Redis names them in COMMAND LIST and COMMAND
 * DOCS: lowercase, subcommands joined with '|' ("sentinel|set",
 * "rsm|member|add"). The texts are ours (not copied from Redis); "since"
 * is the Redis version that introduced a Redis or Sentinel command, or
 * RSM_CMDDOC_SINCE_OURS for the agent's own.
 *
 * Pure data: a static table, no allocation. */
#ifndef RSM_CMDDOC_H
#define RSM_CMDDOC_H

/* The release our own commands first appeared in: fixed, not the current
 * version (rsm/version.h). */
#define RSM_CMDDOC_SINCE_OURS "0.1.0"

struct rsm_cmddoc {
    const char *name;       /* "sentinel|set" */
    const char *summary;    /* one sentence, no trailing newline */
    const char *since;      /* "2.8.4", ... */
    const char *complexity; /* Redis's "O(1)"-style note, NULL if none */
};

/* The doc of a command or subcommand (case-insensitive name), NULL if the
 * table has none. */
const struct rsm_cmddoc *rsm_cmddoc_find(const char *name);

#endif /* RSM_CMDDOC_H */
