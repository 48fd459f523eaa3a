/* datadir.h - what the agent checks in its Raft data dir itself, around
 * libraft 0.15 (the Raft node, src/raft/node_*.c, calls these).
 *
 * libraft reads the data dir in raft_start() and handles most damage on its
 * own: a damaged closed segment (not the last), snapshot metadata or a
 * truncated closed segment stop it with a message naming the file; a
 * damaged last closed segment or open segment is renamed
 * "corrupt-<ns>-<name>" and its entries are fetched again from the leader.
 * Measured with Debian's libraft 0.15, it does not survive two kinds of
 * damage: a truncated LZ4 snapshot makes its decompression loop forever
 * (raft_start never returns), and an open segment that ends in the middle
 * of a batch makes it free a buffer twice (abort). Its snapshot checksum
 * error does not name the file. And it keeps leading when its disk is
 * full, then crashes (SIGSEGV) on a write it could not make.
 *
 * This module finds those cases first, so that the agent refuses to start
 * with a message naming the file, and tells the node how much room is
 * left. It also keeps the agent's own two files there: "cluster-id", the
 * group's cluster id, so that a restarted agent knows it before its log is
 * replayed (the Raft handshake checks it), and "masters", the masters given
 * to clients (masterfile.h), so that it answers clients before then.
 * Nothing else here writes to the data dir. */
#ifndef RSM_DATADIR_H
#define RSM_DATADIR_H

#include <stddef.h>
#include <stdint.h>

#include "rsm/masterfile.h"

/* Free bytes below which a node stops proposing and hands leadership over:
 * room for libraft's next segments (the node uses 64 KiB segments and
 * libraft prepares up to 3 ahead) and a snapshot. */
#define RSM_DATADIR_MIN_FREE (512 * 1024)

/* Check the files libraft will read before it reads them: the snapshot it
 * will load (the newest one with a .meta file: highest term, then index,
 * then timestamp) must be a complete LZ4 frame (or not compressed), and
 * every open segment must end on a batch boundary or in zeros. 0 when
 * nothing is wrong (or nothing is there yet), RSM_ETRUNC or RSM_EPARSE
 * with the file and what to do about it in errmsg, RSM_EIO if the dir or a
 * file cannot be read. */
int rsm_datadir_check(const char *dir, char *errmsg, size_t errlen);

/* The name of the snapshot libraft will load into buf ("" if none). */
void rsm_datadir_newest_snapshot(const char *dir, char *buf, size_t len);

/* Free bytes on the file system of dir (for an unprivileged writer), or -1
 * if statvfs fails. */
int64_t rsm_datadir_free_bytes(const char *dir);

/* Files libraft set aside as damaged ("corrupt-<ns>-<name>") at or after
 * since_ns (CLOCK_REALTIME nanoseconds): cb is called with each name.
 * Returns how many. */
unsigned rsm_datadir_set_aside(const char *dir, int64_t since_ns,
                               void (*cb)(void *arg, const char *name),
                               void *arg);

/* The cluster id stored in dir/cluster-id into buf (RSM_CLUSTER_ID_LEN +
 * 1 bytes): 0, RSM_ENOTFOUND if there is no such file (buf ""),
 * RSM_EPARSE if it does not hold a cluster id, RSM_EIO if it cannot be
 * read (errmsg names the file). */
int rsm_datadir_read_cluster_id(const char *dir, char *buf, size_t len,
                                char *errmsg, size_t errlen);

/* Store id in dir/cluster-id (written to a temporary file, synced, then
 * renamed over). 0, RSM_EINVAL if id is not a cluster id, or RSM_EIO with
 * errmsg. */
int rsm_datadir_write_cluster_id(const char *dir, const char *id, char *errmsg,
                                 size_t errlen);

/* Read dir/masters into *out (initialised here): 0, RSM_ENOTFOUND if
 * there is none, RSM_EPARSE (unreadable: treat as none), RSM_EIO or
 * RSM_ENOMEM, with errmsg naming the file. */
int rsm_datadir_read_masters(const char *dir, struct rsm_masterfile *out,
                             char *errmsg, size_t errlen);

/* Store mf in dir/masters (a temporary file renamed over; not synced, see
 * masterfile.h). 0, RSM_ENOMEM or RSM_EIO with errmsg. */
int rsm_datadir_write_masters(const char *dir, const struct rsm_masterfile *mf,
                              char *errmsg, size_t errlen);

#endif /* RSM_DATADIR_H */
