/* test_raftauth.c - unit tests for core/raftauth: the Raft connection
 * handshake (HELLO, CHALLENGE, PROOF, ERROR), every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsm/raftauth.h"

#define SECRET       "0123456789abcdef-the-group-secret"
#define OTHER_SECRET "0123456789abcdef-another-secret!!"
#define CID          "5f2c0a9e1b7d4c3a8e6f0b1d2c3a4e5f"

/* ---- fixture: a client (agent 1) dialling a server (agent 2) ------------- */

struct fx {
    struct rsm_raftauth cli, srv;
    unsigned char cnonce[RSM_RAFTAUTH_NONCE_LEN],
        snonce[RSM_RAFTAUTH_NONCE_LEN];
    unsigned char hello[RSM_RAFTAUTH_FRAME_MAX];
    unsigned char chal[RSM_RAFTAUTH_FRAME_MAX];
    unsigned char proof[RSM_RAFTAUTH_FRAME_MAX];
    size_t hello_len, chal_len, proof_len;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);

    assert_non_null(f);
    for (int i = 0; i < RSM_RAFTAUTH_NONCE_LEN; i++) {
        f->cnonce[i] = (unsigned char)(i * 7 + 1);
        f->snonce[i] = (unsigned char)(i * 13 + 5);
    }
    rsm_raftauth_init(&f->cli, (const unsigned char *)SECRET, strlen(SECRET),
                      1);
    rsm_raftauth_init(&f->srv, (const unsigned char *)SECRET, strlen(SECRET),
                      2);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static void do_hello(struct fx *f, uint64_t to, const char *cid)
{
    assert_int_equal(
        rsm_raftauth_client_hello(&f->cli, to, cid, "127.0.0.1:7001/26381",
                                  f->cnonce, f->hello, &f->hello_len),
        RSM_RAFTAUTH_OK);
}

static int do_challenge(struct fx *f, const char *cid)
{
    return rsm_raftauth_server_challenge(&f->srv, cid, f->snonce, f->hello,
                                         f->hello_len, f->chal, &f->chal_len);
}

static int do_proof(struct fx *f)
{
    return rsm_raftauth_client_proof(&f->cli, f->chal, f->chal_len, f->proof,
                                     &f->proof_len);
}

static int do_verify(struct fx *f)
{
    return rsm_raftauth_server_verify(&f->srv, f->proof, f->proof_len);
}

/* HELLO, CHALLENGE and PROOF all accepted. */
static void full_handshake(struct fx *f, const char *ccid, const char *scid)
{
    do_hello(f, 2, ccid);
    assert_int_equal(do_challenge(f, scid), RSM_RAFTAUTH_OK);
    assert_int_equal(do_proof(f), RSM_RAFTAUTH_OK);
    assert_int_equal(do_verify(f), RSM_RAFTAUTH_OK);
}

/* ---- round trips --------------------------------------------------------- */

static void test_round_trip(void **state)
{
    struct fx *f = *state;

    full_handshake(f, CID, CID);
    assert_int_equal(f->srv.hello.client_id, 1);
    assert_int_equal(f->srv.hello.server_id, 2);
    assert_string_equal(f->srv.hello.address, "127.0.0.1:7001/26381");
    assert_string_equal(f->srv.hello.cluster_id, CID);
    assert_memory_equal(f->srv.hello.nonce, f->cnonce, sizeof f->cnonce);
    assert_int_equal(f->cli.challenge.server_id, 2);
    assert_string_equal(f->cli.challenge.cluster_id, CID);
    assert_memory_equal(f->cli.challenge.nonce, f->snonce, sizeof f->snonce);
    assert_true(f->hello_len <= RSM_RAFTAUTH_FRAME_MAX);
    assert_true(f->chal_len <= RSM_RAFTAUTH_FRAME_MAX);
    assert_int_equal(f->proof_len,
                     RSM_RAFTAUTH_HEADER_LEN + RSM_RAFTAUTH_MAC_LEN);
}

/* A new agent does not know the cluster id yet: "" on either side (or
 * both) is accepted. */
static void test_round_trip_unknown_cluster_id(void **state)
{
    struct fx *f = *state;
    const char *pairs[][2] = {{"", CID}, {CID, ""}, {"", ""}};

    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        rsm_raftauth_init(&f->cli, (const unsigned char *)SECRET,
                          strlen(SECRET), 1);
        rsm_raftauth_init(&f->srv, (const unsigned char *)SECRET,
                          strlen(SECRET), 2);
        full_handshake(f, pairs[i][0], pairs[i][1]);
    }
}

/* The longest fields still fit in a frame. */
static void test_round_trip_limits(void **state)
{
    struct fx *f = *state;
    char cid[RSM_RAFTAUTH_CLUSTER_ID_MAX + 1], addr[RSM_RAFTAUTH_ADDR_MAX + 1];

    memset(cid, 'c', sizeof cid - 1);
    cid[sizeof cid - 1] = '\0';
    memset(addr, 'a', sizeof addr - 1);
    addr[sizeof addr - 1] = '\0';
    assert_int_equal(rsm_raftauth_client_hello(&f->cli, 2, cid, addr, f->cnonce,
                                               f->hello, &f->hello_len),
                     RSM_RAFTAUTH_OK);
    assert_true(f->hello_len <= RSM_RAFTAUTH_FRAME_MAX);
    assert_int_equal(do_challenge(f, cid), RSM_RAFTAUTH_OK);
    assert_int_equal(do_proof(f), RSM_RAFTAUTH_OK);
    assert_int_equal(do_verify(f), RSM_RAFTAUTH_OK);
    assert_string_equal(f->srv.hello.address, addr);
}

/* Each message length is what frame_len announces from its header. */
static void test_frame_len_matches(void **state)
{
    struct fx *f = *state;
    unsigned char err[RSM_RAFTAUTH_FRAME_MAX];
    size_t total, n;

    full_handshake(f, CID, CID);
    assert_int_equal(rsm_raftauth_frame_len(f->hello, &total), 0);
    assert_int_equal(total, f->hello_len);
    assert_int_equal(rsm_raftauth_frame_len(f->chal, &total), 0);
    assert_int_equal(total, f->chal_len);
    assert_int_equal(rsm_raftauth_frame_len(f->proof, &total), 0);
    assert_int_equal(total, f->proof_len);
    n = rsm_raftauth_error(RSM_RAFTAUTH_BAD_PROOF, err);
    assert_int_equal(rsm_raftauth_frame_len(err, &total), 0);
    assert_int_equal(total, n);
}

/* ---- identity ------------------------------------------------------------ */

static void test_server_refuses_hello_for_another_id(void **state)
{
    struct fx *f = *state;

    do_hello(f, 3, CID);
    assert_int_equal(do_challenge(f, CID), RSM_RAFTAUTH_WRONG_SERVER);
    /* the claimed id is there for the log */
    assert_int_equal(f->srv.hello.client_id, 1);
    assert_non_null(strstr(f->srv.detail, "member 3"));
    assert_non_null(strstr(f->srv.detail, "member 2"));
}

static void test_server_refuses_other_cluster(void **state)
{
    struct fx *f = *state;

    do_hello(f, 2, "aaaa");
    assert_int_equal(do_challenge(f, CID), RSM_RAFTAUTH_CLUSTER_MISMATCH);
    assert_non_null(strstr(f->srv.detail, "aaaa"));
    assert_non_null(strstr(f->srv.detail, CID));
}

/* A server that knows the secret but answered for another id, or for
 * another cluster, than the client asked (no honest server does: it
 * refuses the HELLO; this is the client's own check). */
static void test_client_refuses_wrong_peer(void **state)
{
    struct fx *f = *state;

    do_hello(f, 2, CID);
    assert_int_equal(do_challenge(f, CID), RSM_RAFTAUTH_OK);
    f->cli.hello.server_id = 5; /* as if it had dialled 5 */
    assert_int_equal(do_proof(f), RSM_RAFTAUTH_WRONG_PEER);
    assert_non_null(strstr(f->cli.detail, "dialled member 5"));
}

static void test_client_refuses_other_cluster(void **state)
{
    struct fx *f = *state;

    do_hello(f, 2, "");
    assert_int_equal(do_challenge(f, CID), RSM_RAFTAUTH_OK);
    snprintf(f->cli.hello.cluster_id, sizeof f->cli.hello.cluster_id, "bbbb");
    assert_int_equal(do_proof(f), RSM_RAFTAUTH_CLUSTER_MISMATCH);
}

/* ---- proofs -------------------------------------------------------------- */

/* The server has another secret: the client refuses its challenge. */
static void test_client_refuses_server_of_another_secret(void **state)
{
    struct fx *f = *state;

    rsm_raftauth_init(&f->srv, (const unsigned char *)OTHER_SECRET,
                      strlen(OTHER_SECRET), 2);
    do_hello(f, 2, CID);
    assert_int_equal(do_challenge(f, CID), RSM_RAFTAUTH_OK);
    assert_int_equal(do_proof(f), RSM_RAFTAUTH_BAD_PROOF);
    assert_int_equal(f->proof_len, 0); /* nothing to send */
}

/* The client has another secret: the server refuses its proof. */
static void test_server_refuses_client_of_another_secret(void **state)
{
    struct fx *f = *state;

    do_hello(f, 2, CID);
    assert_int_equal(do_challenge(f, CID), RSM_RAFTAUTH_OK);
    assert_int_equal(do_proof(f), RSM_RAFTAUTH_OK);
    f->srv.secret = (const unsigned char *)OTHER_SECRET;
    f->srv.secret_len = strlen(OTHER_SECRET);
    assert_int_equal(do_verify(f), RSM_RAFTAUTH_BAD_PROOF);
}

/* A prefix of the right secret is another secret. */
static void test_prefix_of_the_secret_is_refused(void **state)
{
    struct fx *f = *state;

    rsm_raftauth_init(&f->srv, (const unsigned char *)SECRET,
                      strlen(SECRET) - 1, 2);
    do_hello(f, 2, CID);
    assert_int_equal(do_challenge(f, CID), RSM_RAFTAUTH_OK);
    assert_int_equal(do_proof(f), RSM_RAFTAUTH_BAD_PROOF);
}

/* The server's proof sent back as the client's proof. */
static void test_server_proof_replayed_as_client_proof(void **state)
{
    struct fx *f = *state;
    unsigned char msg[RSM_RAFTAUTH_FRAME_MAX];
    size_t n;

    do_hello(f, 2, CID);
    assert_int_equal(do_challenge(f, CID), RSM_RAFTAUTH_OK);
    assert_int_equal(do_proof(f), RSM_RAFTAUTH_OK); /* the real one */
    memcpy(msg, f->proof, RSM_RAFTAUTH_HEADER_LEN);
    memcpy(msg + RSM_RAFTAUTH_HEADER_LEN, f->cli.challenge.mac,
           RSM_RAFTAUTH_MAC_LEN);
    n = RSM_RAFTAUTH_HEADER_LEN + RSM_RAFTAUTH_MAC_LEN;
    assert_int_equal(rsm_raftauth_server_verify(&f->srv, msg, n),
                     RSM_RAFTAUTH_BAD_PROOF);
}

/* A proof from an earlier handshake (other nonces) is refused. */
static void test_proof_of_another_handshake(void **state)
{
    struct fx *f = *state;
    unsigned char old[RSM_RAFTAUTH_FRAME_MAX];
    size_t old_len;

    full_handshake(f, CID, CID);
    memcpy(old, f->proof, f->proof_len);
    old_len = f->proof_len;
    f->snonce[0] ^= 1; /* a new server nonce */
    rsm_raftauth_init(&f->srv, (const unsigned char *)SECRET, strlen(SECRET),
                      2);
    assert_int_equal(do_challenge(f, CID), RSM_RAFTAUTH_OK);
    assert_int_equal(rsm_raftauth_server_verify(&f->srv, old, old_len),
                     RSM_RAFTAUTH_BAD_PROOF);
}

/* Any byte of the challenge changed in flight: the MAC catches it. */
static void test_tampered_challenge(void **state)
{
    struct fx *f = *state;
    unsigned char saved[RSM_RAFTAUTH_FRAME_MAX];

    do_hello(f, 2, CID);
    assert_int_equal(do_challenge(f, CID), RSM_RAFTAUTH_OK);
    memcpy(saved, f->chal, f->chal_len);
    for (size_t i = RSM_RAFTAUTH_HEADER_LEN; i < f->chal_len; i++) {
        memcpy(f->chal, saved, f->chal_len);
        f->chal[i] ^= 0x01;
        assert_int_not_equal(do_proof(f), RSM_RAFTAUTH_OK);
    }
}

/* The address in HELLO is covered by the proofs: a man in the middle
 * that rewrites it breaks the handshake. */
static void test_tampered_hello(void **state)
{
    struct fx *f = *state;
    size_t at;

    do_hello(f, 2, CID);
    at = f->hello_len - 1; /* last character of the address */
    f->hello[at] = f->hello[at] == '1' ? '2' : '1';
    assert_int_equal(do_challenge(f, CID), RSM_RAFTAUTH_OK);
    assert_int_equal(do_proof(f), RSM_RAFTAUTH_BAD_PROOF);
}

static void test_tampered_proof(void **state)
{
    struct fx *f = *state;

    do_hello(f, 2, CID);
    assert_int_equal(do_challenge(f, CID), RSM_RAFTAUTH_OK);
    assert_int_equal(do_proof(f), RSM_RAFTAUTH_OK);
    f->proof[f->proof_len - 1] ^= 0x80;
    assert_int_equal(do_verify(f), RSM_RAFTAUTH_BAD_PROOF);
}

/* ---- malformed input ----------------------------------------------------- */

/* Every strict prefix of every message is refused. */
static void test_truncated_at_every_length(void **state)
{
    struct fx *f = *state;
    struct rsm_raftauth a;
    unsigned char out[RSM_RAFTAUTH_FRAME_MAX];
    size_t out_len;

    full_handshake(f, CID, CID);
    for (size_t n = 0; n < f->hello_len; n++) {
        rsm_raftauth_init(&a, (const unsigned char *)SECRET, strlen(SECRET), 2);
        assert_int_equal(rsm_raftauth_server_challenge(
                             &a, CID, f->snonce, f->hello, n, out, &out_len),
                         RSM_RAFTAUTH_MALFORMED);
    }
    for (size_t n = 0; n < f->chal_len; n++)
        assert_int_equal(
            rsm_raftauth_client_proof(&f->cli, f->chal, n, out, &out_len),
            RSM_RAFTAUTH_MALFORMED);
    for (size_t n = 0; n < f->proof_len; n++)
        assert_int_equal(rsm_raftauth_server_verify(&f->srv, f->proof, n),
                         RSM_RAFTAUTH_MALFORMED);
}

/* A body shorter than its fields, with a header that says so. */
static void test_short_body_with_matching_header(void **state)
{
    struct fx *f = *state;
    unsigned char msg[RSM_RAFTAUTH_FRAME_MAX];
    size_t n;

    do_hello(f, 2, CID);
    n = f->hello_len - 5;
    memcpy(msg, f->hello, n);
    msg[6] = (unsigned char)((n - RSM_RAFTAUTH_HEADER_LEN) >> 8);
    msg[7] = (unsigned char)((n - RSM_RAFTAUTH_HEADER_LEN) & 0xff);
    assert_int_equal(rsm_raftauth_server_challenge(&f->srv, CID, f->snonce, msg,
                                                   n, f->chal, &f->chal_len),
                     RSM_RAFTAUTH_MALFORMED);
}

/* One byte more than the fields (still within the type's limit). */
static void test_trailing_byte(void **state)
{
    struct fx *f = *state;
    unsigned char msg[RSM_RAFTAUTH_FRAME_MAX];
    size_t n;

    do_hello(f, 2, CID);
    memcpy(msg, f->hello, f->hello_len);
    msg[f->hello_len] = 'x';
    n = f->hello_len + 1;
    msg[6] = (unsigned char)((n - RSM_RAFTAUTH_HEADER_LEN) >> 8);
    msg[7] = (unsigned char)((n - RSM_RAFTAUTH_HEADER_LEN) & 0xff);
    assert_int_equal(rsm_raftauth_server_challenge(&f->srv, CID, f->snonce, msg,
                                                   n, f->chal, &f->chal_len),
                     RSM_RAFTAUTH_MALFORMED);
}

/* A header announcing more than its type allows. */
static void test_oversized(void **state)
{
    unsigned char hdr[RSM_RAFTAUTH_HEADER_LEN] = {'R', 'S', 'M', 'A', 1, 1};
    size_t total;

    (void)state;
    for (unsigned type = 1; type <= 4; type++) {
        hdr[5] = (unsigned char)type;
        hdr[6] = 0xff;
        hdr[7] = 0xff;
        assert_int_equal(rsm_raftauth_frame_len(hdr, &total),
                         RSM_RAFTAUTH_OVERSIZED);
        assert_int_equal(total, 0);
    }
    /* the largest a HELLO may be is the frame limit */
    hdr[5] = 1;
    hdr[6] = (RSM_RAFTAUTH_FRAME_MAX - RSM_RAFTAUTH_HEADER_LEN + 1) >> 8;
    hdr[7] = (RSM_RAFTAUTH_FRAME_MAX - RSM_RAFTAUTH_HEADER_LEN + 1) & 0xff;
    assert_int_equal(rsm_raftauth_frame_len(hdr, &total),
                     RSM_RAFTAUTH_OVERSIZED);
}

/* A string field longer than allowed, inside a frame of legal size. */
static void test_oversized_field(void **state)
{
    struct fx *f = *state;
    unsigned char msg[RSM_RAFTAUTH_FRAME_MAX];
    size_t n = RSM_RAFTAUTH_HEADER_LEN;

    memcpy(msg, "RSMA\x01\x01", 6);
    memset(msg + n, 0, 8 + 8);
    msg[n + 7] = 1;  /* client 1 */
    msg[n + 15] = 2; /* server 2 */
    n += 16;
    memset(msg + n, 7, RSM_RAFTAUTH_NONCE_LEN);
    n += RSM_RAFTAUTH_NONCE_LEN;
    msg[n++] = RSM_RAFTAUTH_CLUSTER_ID_MAX + 1; /* cluster id too long */
    memset(msg + n, 'c', RSM_RAFTAUTH_CLUSTER_ID_MAX + 1);
    n += RSM_RAFTAUTH_CLUSTER_ID_MAX + 1;
    msg[n++] = 1;
    msg[n++] = 'a';
    msg[6] = (unsigned char)((n - RSM_RAFTAUTH_HEADER_LEN) >> 8);
    msg[7] = (unsigned char)((n - RSM_RAFTAUTH_HEADER_LEN) & 0xff);
    assert_int_equal(rsm_raftauth_server_challenge(&f->srv, "", f->snonce, msg,
                                                   n, f->chal, &f->chal_len),
                     RSM_RAFTAUTH_MALFORMED);
}

/* The header of a raft_uv_tcp handshake (protocol 1, little endian), our
 * magic with another version, another magic, an unknown type. */
static void test_foreign_headers(void **state)
{
    static const unsigned char plain[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    static const unsigned char v2[8] = {'R', 'S', 'M', 'A', 2, 1, 0, 10};
    static const unsigned char http[8] = {'G', 'E', 'T', ' ',
                                          '/', ' ', 'H', 'T'};
    static const unsigned char type0[8] = {'R', 'S', 'M', 'A', 1, 0, 0, 1};
    static const unsigned char type9[8] = {'R', 'S', 'M', 'A', 1, 9, 0, 1};
    size_t total;

    (void)state;
    assert_int_equal(rsm_raftauth_frame_len(plain, &total),
                     RSM_RAFTAUTH_PLAIN_RAFT);
    assert_int_equal(rsm_raftauth_frame_len(v2, &total), RSM_RAFTAUTH_VERSION);
    assert_int_equal(rsm_raftauth_frame_len(http, &total),
                     RSM_RAFTAUTH_MALFORMED);
    assert_int_equal(rsm_raftauth_frame_len(type0, &total),
                     RSM_RAFTAUTH_MALFORMED);
    assert_int_equal(rsm_raftauth_frame_len(type9, &total),
                     RSM_RAFTAUTH_MALFORMED);
}

/* Random bytes are never a valid HELLO, CHALLENGE or PROOF. */
static void test_random_garbage(void **state)
{
    struct fx *f = *state;
    unsigned char buf[RSM_RAFTAUTH_FRAME_MAX], out[RSM_RAFTAUTH_FRAME_MAX];
    size_t out_len;

    do_hello(f, 2, CID);
    assert_int_equal(do_challenge(f, CID), RSM_RAFTAUTH_OK);
    srand(13);
    for (int round = 0; round < 5000; round++) {
        size_t n = (size_t)rand() % sizeof buf;
        struct rsm_raftauth s;

        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)rand();
        if (round % 2 == 0 && n >= RSM_RAFTAUTH_HEADER_LEN) {
            /* often a plausible header, so the bodies get decoded */
            memcpy(buf, "RSMA\x01", 5);
            buf[5] = (unsigned char)(1 + (round / 2) % 4);
            buf[6] = (unsigned char)((n - RSM_RAFTAUTH_HEADER_LEN) >> 8);
            buf[7] = (unsigned char)((n - RSM_RAFTAUTH_HEADER_LEN) & 0xff);
        }
        rsm_raftauth_init(&s, (const unsigned char *)SECRET, strlen(SECRET), 2);
        assert_int_not_equal(rsm_raftauth_server_challenge(
                                 &s, CID, f->snonce, buf, n, out, &out_len),
                             RSM_RAFTAUTH_OK);
        assert_int_not_equal(
            rsm_raftauth_client_proof(&f->cli, buf, n, out, &out_len),
            RSM_RAFTAUTH_OK);
        assert_int_not_equal(rsm_raftauth_server_verify(&f->srv, buf, n),
                             RSM_RAFTAUTH_OK);
    }
}

/* Control characters or spaces in a string field. */
static void test_non_printable_fields(void **state)
{
    struct fx *f = *state;
    size_t at;

    do_hello(f, 2, CID);
    at = f->hello_len - 3; /* inside the address */
    f->hello[at] = '\n';
    assert_int_equal(do_challenge(f, CID), RSM_RAFTAUTH_MALFORMED);
    f->hello[at] = ' ';
    assert_int_equal(do_challenge(f, CID), RSM_RAFTAUTH_MALFORMED);
}

/* A message of the wrong step. */
static void test_unexpected_messages(void **state)
{
    struct fx *f = *state;
    unsigned char out[RSM_RAFTAUTH_FRAME_MAX];
    size_t out_len;

    full_handshake(f, CID, CID);
    /* a PROOF or CHALLENGE where a HELLO is due */
    rsm_raftauth_init(&f->srv, (const unsigned char *)SECRET, strlen(SECRET),
                      2);
    assert_int_equal(rsm_raftauth_server_challenge(&f->srv, CID, f->snonce,
                                                   f->proof, f->proof_len, out,
                                                   &out_len),
                     RSM_RAFTAUTH_UNEXPECTED);
    assert_int_equal(rsm_raftauth_server_challenge(&f->srv, CID, f->snonce,
                                                   f->chal, f->chal_len, out,
                                                   &out_len),
                     RSM_RAFTAUTH_UNEXPECTED);
    /* a HELLO where a CHALLENGE is due (a client dialled a client) */
    assert_int_equal(rsm_raftauth_client_proof(&f->cli, f->hello, f->hello_len,
                                               out, &out_len),
                     RSM_RAFTAUTH_UNEXPECTED);
}

/* ERROR from the peer: REFUSED with its reason; a bad ERROR is
 * malformed. */
static void test_error_messages(void **state)
{
    struct fx *f = *state;
    unsigned char msg[RSM_RAFTAUTH_FRAME_MAX], out[RSM_RAFTAUTH_FRAME_MAX];
    size_t n, out_len;

    do_hello(f, 2, CID);
    n = rsm_raftauth_error(RSM_RAFTAUTH_CLUSTER_MISMATCH, msg);
    assert_int_equal(n, RSM_RAFTAUTH_HEADER_LEN + 1);
    assert_int_equal(rsm_raftauth_client_proof(&f->cli, msg, n, out, &out_len),
                     RSM_RAFTAUTH_REFUSED);
    assert_int_equal(f->cli.peer_reason, RSM_RAFTAUTH_CLUSTER_MISMATCH);

    assert_int_equal(do_challenge(f, CID), RSM_RAFTAUTH_OK);
    n = rsm_raftauth_error(RSM_RAFTAUTH_BAD_PROOF, msg);
    assert_int_equal(rsm_raftauth_server_verify(&f->srv, msg, n),
                     RSM_RAFTAUTH_REFUSED);
    assert_int_equal(f->srv.peer_reason, RSM_RAFTAUTH_BAD_PROOF);

    msg[RSM_RAFTAUTH_HEADER_LEN] = RSM_RAFTAUTH_OK;
    assert_int_equal(rsm_raftauth_server_verify(&f->srv, msg, n),
                     RSM_RAFTAUTH_MALFORMED);
    msg[RSM_RAFTAUTH_HEADER_LEN] = RSM_RAFTAUTH_REASON_COUNT;
    assert_int_equal(rsm_raftauth_server_verify(&f->srv, msg, n),
                     RSM_RAFTAUTH_MALFORMED);
}

/* What the client refuses to encode. */
static void test_hello_refuses_bad_input(void **state)
{
    struct fx *f = *state;
    char big[RSM_RAFTAUTH_ADDR_MAX + 2];

    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(rsm_raftauth_client_hello(&f->cli, 0, CID, "h:1",
                                               f->cnonce, f->hello,
                                               &f->hello_len),
                     RSM_RAFTAUTH_MALFORMED);
    assert_int_equal(rsm_raftauth_client_hello(&f->cli, 2, CID, "", f->cnonce,
                                               f->hello, &f->hello_len),
                     RSM_RAFTAUTH_MALFORMED);
    assert_int_equal(rsm_raftauth_client_hello(&f->cli, 2, CID, "a b",
                                               f->cnonce, f->hello,
                                               &f->hello_len),
                     RSM_RAFTAUTH_MALFORMED);
    assert_int_equal(rsm_raftauth_client_hello(&f->cli, 2, CID, big, f->cnonce,
                                               f->hello, &f->hello_len),
                     RSM_RAFTAUTH_MALFORMED);
    assert_int_equal(rsm_raftauth_client_hello(&f->cli, 2, big, "h:1",
                                               f->cnonce, f->hello,
                                               &f->hello_len),
                     RSM_RAFTAUTH_MALFORMED);
    rsm_raftauth_init(&f->cli, (const unsigned char *)SECRET, strlen(SECRET),
                      0);
    assert_int_equal(rsm_raftauth_client_hello(&f->cli, 2, CID, "h:1",
                                               f->cnonce, f->hello,
                                               &f->hello_len),
                     RSM_RAFTAUTH_MALFORMED);
}

/* Every reason has a name and a sentence; unknown values do not crash. */
static void test_reason_strings(void **state)
{
    (void)state;
    for (int r = 0; r < RSM_RAFTAUTH_REASON_COUNT; r++) {
        assert_true(strlen(rsm_raftauth_reason_str(r)) > 1);
        assert_true(strlen(rsm_raftauth_reason_name(r)) > 1);
        assert_null(strchr(rsm_raftauth_reason_name(r), ' '));
    }
    assert_string_equal(rsm_raftauth_reason_str(RSM_RAFTAUTH_BAD_PROOF),
                        "bad proof: the peer does not know the cluster "
                        "secret");
    assert_string_equal(rsm_raftauth_reason_name(RSM_RAFTAUTH_REASON_COUNT),
                        "unknown");
    assert_non_null(rsm_raftauth_reason_str(RSM_RAFTAUTH_REASON_COUNT + 5));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_round_trip),
        T(test_round_trip_unknown_cluster_id),
        T(test_round_trip_limits),
        T(test_frame_len_matches),
        T(test_server_refuses_hello_for_another_id),
        T(test_server_refuses_other_cluster),
        T(test_client_refuses_wrong_peer),
        T(test_client_refuses_other_cluster),
        T(test_client_refuses_server_of_another_secret),
        T(test_server_refuses_client_of_another_secret),
        T(test_prefix_of_the_secret_is_refused),
        T(test_server_proof_replayed_as_client_proof),
        T(test_proof_of_another_handshake),
        T(test_tampered_challenge),
        T(test_tampered_hello),
        T(test_tampered_proof),
        T(test_truncated_at_every_length),
        T(test_short_body_with_matching_header),
        T(test_trailing_byte),
        T(test_oversized),
        T(test_oversized_field),
        T(test_foreign_headers),
        T(test_random_garbage),
        T(test_non_printable_fields),
        T(test_unexpected_messages),
        T(test_error_messages),
        T(test_hello_refuses_bad_input),
        T(test_reason_strings),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
