/* raftauth.h - the handshake that opens every Raft connection of a group
 * with a secret: both sides prove they know the secret, and the ids and
 * cluster ids must match, before libraft sees a byte.
 *
 * Pure: messages are encoded, decoded and checked here; the caller does the
 * I/O, draws the nonces (RAND_bytes) and keeps the deadline. HMAC-SHA256 is
 * OpenSSL's libcrypto.
 *
 *   client -> server  HELLO      client id, the server id it dialled, its
 *                                cluster id ("" = unknown), client nonce,
 *                                its Raft address
 *   server -> client  CHALLENGE  server id, its cluster id, server nonce,
 *                                HMAC(secret, "server" || transcript)
 *   client -> server  PROOF      HMAC(secret, "client" || transcript)
 *   either way        ERROR      a reason, sent (unauthenticated, for the
 *                                log only) just before closing
 *
 * transcript = the HELLO body || the CHALLENGE body without its MAC, as
 * sent: both nonces, both ids, both cluster ids and the address. The two
 * labels keep a server proof from passing as a client proof.
 *
 * Framing: every message is an 8-byte header, "RSMA", version (1), type,
 * body length (16 bits, big endian), then the body. Integers are big
 * endian; strings are a length byte and printable ASCII. A raft_uv_tcp
 * handshake (a peer with no secret) starts with the 64-bit little-endian
 * protocol number 1, which is recognised and reported as such.
 *
 * Ownership: struct rsm_raftauth is caller-owned (embed it); it points to
 * the caller's secret, which must outlive it, and holds no other
 * resource. */
#ifndef RSM_RAFTAUTH_H
#define RSM_RAFTAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RSM_RAFTAUTH_NONCE_LEN      32
#define RSM_RAFTAUTH_MAC_LEN        32
#define RSM_RAFTAUTH_SECRET_MIN     16   /* bytes */
#define RSM_RAFTAUTH_SECRET_MAX     1024 /* bytes */
#define RSM_RAFTAUTH_CLUSTER_ID_MAX 64   /* characters */
#define RSM_RAFTAUTH_ADDR_MAX       255  /* characters */
#define RSM_RAFTAUTH_HEADER_LEN     8
/* No message is longer than this, header included. */
#define RSM_RAFTAUTH_FRAME_MAX 512

/* Why a handshake failed. The string table is rsm_raftauth_reason_str.
 * The values travel in ERROR messages: append, never renumber. */
enum rsm_raftauth_reason {
    RSM_RAFTAUTH_OK = 0,
    RSM_RAFTAUTH_MALFORMED,    /* not our message, or a field out of range */
    RSM_RAFTAUTH_PLAIN_RAFT,   /* a raft_uv_tcp handshake: no secret there */
    RSM_RAFTAUTH_VERSION,      /* our magic, another version */
    RSM_RAFTAUTH_OVERSIZED,    /* body longer than its type allows */
    RSM_RAFTAUTH_UNEXPECTED,   /* a known message at the wrong step */
    RSM_RAFTAUTH_WRONG_SERVER, /* HELLO names another server id than ours */
    RSM_RAFTAUTH_WRONG_PEER,   /* the server that answered is not the one
                                  we dialled */
    RSM_RAFTAUTH_CLUSTER_MISMATCH, /* both cluster ids known, different */
    RSM_RAFTAUTH_BAD_PROOF,        /* the peer's MAC is wrong: other secret */
    RSM_RAFTAUTH_TIMEOUT,          /* not finished before the deadline (I/O) */
    RSM_RAFTAUTH_CLOSED,   /* the peer closed during the handshake (I/O) */
    RSM_RAFTAUTH_REFUSED,  /* the peer sent ERROR (its reason: see
                              rsm_raftauth.peer_reason) */
    RSM_RAFTAUTH_BUSY,     /* too many handshakes at once (I/O) */
    RSM_RAFTAUTH_TLS,      /* the TLS handshake failed (I/O) */
    RSM_RAFTAUTH_IDENTITY, /* the peer's certificate does not name the
                              member it claims to be */
    RSM_RAFTAUTH_REASON_COUNT
};

/* One line for operators, e.g. "bad proof: the peer does not know the
 * cluster secret". Never NULL. */
const char *rsm_raftauth_reason_str(enum rsm_raftauth_reason r);

/* A short token for the reason ("bad-proof"), for metrics labels and
 * tests. Never NULL. */
const char *rsm_raftauth_reason_name(enum rsm_raftauth_reason r);

/* What HELLO carries (decoded, or as sent). */
struct rsm_raftauth_hello {
    uint64_t client_id, server_id;
    unsigned char nonce[RSM_RAFTAUTH_NONCE_LEN];
    char cluster_id[RSM_RAFTAUTH_CLUSTER_ID_MAX + 1];
    char address[RSM_RAFTAUTH_ADDR_MAX + 1];
};

/* What CHALLENGE carries. */
struct rsm_raftauth_challenge {
    uint64_t server_id;
    unsigned char nonce[RSM_RAFTAUTH_NONCE_LEN];
    char cluster_id[RSM_RAFTAUTH_CLUSTER_ID_MAX + 1];
    unsigned char mac[RSM_RAFTAUTH_MAC_LEN];
};

/* One side of one handshake. Fields are read-only for the caller; hello
 * and challenge are valid once the step that decodes or encodes them
 * succeeded (hello.client_id is also set when the HELLO decoded but was
 * refused, so that the log can name the claimed id). */
struct rsm_raftauth {
    const unsigned char *secret;
    size_t secret_len;
    uint64_t self_id;
    struct rsm_raftauth_hello hello;
    struct rsm_raftauth_challenge challenge;
    bool have_hello;
    enum rsm_raftauth_reason peer_reason; /* from an ERROR frame */
    char detail[160]; /* what exactly failed: ids, cluster ids */
    /* the transcript, as on the wire */
    unsigned char hello_body[RSM_RAFTAUTH_FRAME_MAX];
    size_t hello_len;
    unsigned char challenge_body[RSM_RAFTAUTH_FRAME_MAX];
    size_t challenge_len; /* without the MAC */
};

/* Start a handshake as self_id with the group's secret (secret_len >= 1;
 * the flag parser enforces RSM_RAFTAUTH_SECRET_MIN). */
void rsm_raftauth_init(struct rsm_raftauth *a, const unsigned char *secret,
                       size_t secret_len, uint64_t self_id);

/* The length of the message whose header is hdr (RSM_RAFTAUTH_HEADER_LEN
 * bytes): RSM_RAFTAUTH_OK and *total = header + body, or MALFORMED /
 * PLAIN_RAFT / VERSION / OVERSIZED (an unknown type is MALFORMED). The
 * reader reads exactly *total bytes, so that what follows the handshake
 * stays in the socket for libraft. */
enum rsm_raftauth_reason rsm_raftauth_frame_len(const unsigned char *hdr,
                                                size_t *total);

/* Client, step 1: encode HELLO to server_id into out (at least
 * RSM_RAFTAUTH_FRAME_MAX bytes), *out_len set. cluster_id may be "" (not
 * known yet); address is this agent's Raft address. MALFORMED (with
 * detail) if a string is too long or not printable, or an id is 0. */
enum rsm_raftauth_reason
rsm_raftauth_client_hello(struct rsm_raftauth *a, uint64_t server_id,
                          const char *cluster_id, const char *address,
                          const unsigned char nonce[RSM_RAFTAUTH_NONCE_LEN],
                          unsigned char *out, size_t *out_len);

/* Client, step 2: check the server's answer (a whole message, header
 * included) and on success encode PROOF into out. Refuses: ERROR from the
 * server (REFUSED, peer_reason set), another type (UNEXPECTED), a
 * malformed body, another server id (WRONG_PEER), another cluster id
 * (CLUSTER_MISMATCH), a wrong MAC (BAD_PROOF). */
enum rsm_raftauth_reason
rsm_raftauth_client_proof(struct rsm_raftauth *a, const unsigned char *in,
                          size_t in_len, unsigned char *out, size_t *out_len);

/* Server, step 1: check HELLO (a whole message) against self_id and
 * cluster_id ("" = unknown) and on success encode CHALLENGE with nonce
 * into out. Refuses: ERROR/other type, malformed, WRONG_SERVER,
 * CLUSTER_MISMATCH. */
enum rsm_raftauth_reason
rsm_raftauth_server_challenge(struct rsm_raftauth *a, const char *cluster_id,
                              const unsigned char nonce[RSM_RAFTAUTH_NONCE_LEN],
                              const unsigned char *in, size_t in_len,
                              unsigned char *out, size_t *out_len);

/* Server, step 2: check PROOF (a whole message). OK: the peer is
 * a->hello.client_id at a->hello.address. Refuses: ERROR (REFUSED),
 * another type, malformed, BAD_PROOF. */
enum rsm_raftauth_reason rsm_raftauth_server_verify(struct rsm_raftauth *a,
                                                    const unsigned char *in,
                                                    size_t in_len);

/* Encode ERROR with reason into out (RSM_RAFTAUTH_HEADER_LEN + 1 bytes);
 * returns its length. */
size_t rsm_raftauth_error(enum rsm_raftauth_reason reason, unsigned char *out);

#endif /* RSM_RAFTAUTH_H */
