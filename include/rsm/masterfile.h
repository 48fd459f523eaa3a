/* masterfile.h - the masters given to clients, kept in the data dir so
 * that a restarted agent answers SENTINEL get-master-addr-by-name at once.
 *
 * After a restart the FSM is empty (or at its snapshot) until raft has
 * learnt the commit index from a leader and applied the log again: about
 * an election timeout. Clients asking in that window would get a null
 * answer, or an old master from the snapshot. So each agent keeps, in
 * "<data-dir>/masters", the master given to clients of every group
 * (rsm_sentinel_master_addr) together with the FSM's count of accepted
 * entries at that moment (fsm->applied: every agent applying the same log
 * has the same count at the same point, a clock of the committed state).
 *
 * The rule (rsm_masterfile_usable): the file answers while the FSM has
 * accepted fewer entries than the file records - its state is then older
 * than the file's - and only until the node has caught up with its leader
 * once (applied up to the commit index it learnt). From then on the FSM
 * answers, and it never goes back. So an answer is never older than what
 * this agent had already committed before it stopped, and never older than
 * the log once the log is applied; a file left from another group, or one
 * that claims more than the log holds, stops counting as soon as the node
 * has caught up. The file is rewritten after an entry changes a master
 * given to clients, and only when the FSM is past the file's count (not
 * while the log is replayed). Losing it (or an unreadable one) only brings
 * back the old wait.
 *
 * Text: "rsm-masters 1 <applied>\n" then "<group> <host:port>\n" per group
 * with a master, sorted by group. Pure: no I/O (datadir.h reads and
 * writes the file). Ownership: items are malloc'd by decode/set and freed
 * by rsm_masterfile_free(). */
#ifndef RSM_MASTERFILE_H
#define RSM_MASTERFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsm/addr.h"
#include "rsm/entry.h"

#define RSM_MASTERFILE_NAME "masters"

struct rsm_masterfile_item {
    char group[RSM_GROUP_NAME_MAX];
    struct rsm_addr master;
};

struct rsm_masterfile {
    uint64_t applied; /* fsm->applied when it was written */
    size_t n;
    struct rsm_masterfile_item *items; /* sorted by group, NULL if n 0 */
};

/* Empty: applied 0, no items. */
void rsm_masterfile_init(struct rsm_masterfile *mf);
void rsm_masterfile_free(struct rsm_masterfile *mf);

/* Append group's master (any order, unique groups); RSM_ENOMEM,
 * RSM_EINVAL for an empty or too long name, a name with a space or a
 * control character, or an unset address. Sorted by rsm_masterfile_sort. */
int rsm_masterfile_add(struct rsm_masterfile *mf, const char *group,
                       const struct rsm_addr *master);
void rsm_masterfile_sort(struct rsm_masterfile *mf);

/* The text of mf (malloc'd, NUL-terminated), NULL if out of memory. */
char *rsm_masterfile_encode(const struct rsm_masterfile *mf);

/* Parse text (len bytes) into *out (initialised here). 0, or RSM_EPARSE
 * / RSM_ENOMEM with errmsg; *out is empty then. */
int rsm_masterfile_decode(const char *text, size_t len,
                          struct rsm_masterfile *out, char *errmsg,
                          size_t errlen);

/* group's master in mf, NULL if none. */
const struct rsm_addr *rsm_masterfile_find(const struct rsm_masterfile *mf,
                                           const char *group);

/* Same groups and masters (applied not compared). */
bool rsm_masterfile_same(const struct rsm_masterfile *a,
                         const struct rsm_masterfile *b);

/* The rule above: answer from mf when the FSM has accepted fsm_applied
 * entries and the node has (caught_up) or has not yet caught up with its
 * leader once. */
bool rsm_masterfile_usable(const struct rsm_masterfile *mf,
                           uint64_t fsm_applied, bool caught_up);

#endif /* RSM_MASTERFILE_H */
