/* raftauth.c - the Raft connection handshake (see raftauth.h): encoding,
 * strict decoding, and HMAC-SHA256 proofs over the transcript. */
#include "rsm/raftauth.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <nettle/hmac.h>
#include <nettle/memops.h>

#define MAGIC     "RSMA"
#define VERSION   1
#define LABEL_LEN 6 /* "server", "client" */

enum msg_type { T_HELLO = 1, T_CHALLENGE, T_PROOF, T_ERROR, T_COUNT };

/* The longest body of each type. */
static const size_t body_max[T_COUNT] = {
    [T_HELLO] = 8 + 8 + RSM_RAFTAUTH_NONCE_LEN + 1 +
                RSM_RAFTAUTH_CLUSTER_ID_MAX + 1 + RSM_RAFTAUTH_ADDR_MAX,
    [T_CHALLENGE] = 8 + RSM_RAFTAUTH_NONCE_LEN + 1 +
                    RSM_RAFTAUTH_CLUSTER_ID_MAX + RSM_RAFTAUTH_MAC_LEN,
    [T_PROOF] = RSM_RAFTAUTH_MAC_LEN,
    [T_ERROR] = 1,
};

static const struct {
    const char *name, *text;
} reasons[RSM_RAFTAUTH_REASON_COUNT] = {
    [RSM_RAFTAUTH_OK] = {"ok", "ok"},
    [RSM_RAFTAUTH_MALFORMED] = {"malformed", "malformed handshake message"},
    [RSM_RAFTAUTH_PLAIN_RAFT] = {"plain-raft",
                                 "the peer sent a plain raft handshake: it "
                                 "runs without a cluster secret"},
    [RSM_RAFTAUTH_VERSION] = {"version",
                              "the peer speaks another handshake version"},
    [RSM_RAFTAUTH_OVERSIZED] = {"oversized", "handshake message too long"},
    [RSM_RAFTAUTH_UNEXPECTED] = {"unexpected",
                                 "unexpected handshake message at this step"},
    [RSM_RAFTAUTH_WRONG_SERVER] = {"wrong-server",
                                   "the peer dialled another member id than "
                                   "this agent's"},
    [RSM_RAFTAUTH_WRONG_PEER] = {"wrong-peer",
                                 "another member answered than the one "
                                 "dialled"},
    [RSM_RAFTAUTH_CLUSTER_MISMATCH] = {"cluster-mismatch",
                                       "the peer belongs to another cluster "
                                       "(cluster ids differ)"},
    [RSM_RAFTAUTH_BAD_PROOF] = {"bad-proof",
                                "bad proof: the peer does not know the "
                                "cluster secret"},
    [RSM_RAFTAUTH_TIMEOUT] = {"timeout", "handshake not finished in time"},
    [RSM_RAFTAUTH_CLOSED] = {"closed",
                             "the peer closed the connection during the "
                             "handshake"},
    [RSM_RAFTAUTH_REFUSED] = {"refused", "the peer refused the handshake"},
    [RSM_RAFTAUTH_BUSY] = {"busy", "too many handshakes in progress"},
    [RSM_RAFTAUTH_TLS] = {"tls", "the TLS handshake failed"},
    [RSM_RAFTAUTH_IDENTITY] = {"identity",
                               "the certificate does not name the member "
                               "it claims to be"},
};

const char *rsm_raftauth_reason_str(enum rsm_raftauth_reason r)
{
    if ((unsigned)r >= RSM_RAFTAUTH_REASON_COUNT)
        return "unknown handshake failure";
    return reasons[r].text;
}

const char *rsm_raftauth_reason_name(enum rsm_raftauth_reason r)
{
    if ((unsigned)r >= RSM_RAFTAUTH_REASON_COUNT)
        return "unknown";
    return reasons[r].name;
}

/* ---------------------------------------------------------------------------
 * Writing and reading fields
 * ------------------------------------------------------------------------- */

struct writer {
    unsigned char *p;
    size_t n;
};

static void raftauth__put8(struct writer *w, unsigned v)
{
    w->p[w->n++] = (unsigned char)v;
}

static void raftauth__put64(struct writer *w, uint64_t v)
{
    for (int i = 7; i >= 0; i--)
        raftauth__put8(w, (unsigned)(v >> (8 * i)) & 0xff);
}

static void raftauth__put_bytes(struct writer *w, const void *b, size_t n)
{
    memcpy(w->p + w->n, b, n);
    w->n += n;
}

static void raftauth__put_str(struct writer *w, const char *s)
{
    size_t n = strlen(s);

    raftauth__put8(w, (unsigned)n);
    raftauth__put_bytes(w, s, n);
}

struct reader {
    const unsigned char *p;
    size_t n, off;
    bool bad; /* ran past the end or a field out of range */
};

static uint64_t raftauth__get64(struct reader *r)
{
    uint64_t v = 0;

    if (r->n - r->off < 8) {
        r->bad = true;
        return 0;
    }
    for (int i = 0; i < 8; i++)
        v = (v << 8) | r->p[r->off++];
    return v;
}

static void raftauth__get_bytes(struct reader *r, void *out, size_t n)
{
    if (r->n - r->off < n) {
        r->bad = true;
        memset(out, 0, n);
        return;
    }
    memcpy(out, r->p + r->off, n);
    r->off += n;
}

static bool raftauth__printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

/* A length-prefixed printable string of at most max characters. */
static void raftauth__get_str(struct reader *r, char *out, size_t max)
{
    size_t n;

    out[0] = '\0';
    if (r->n - r->off < 1) {
        r->bad = true;
        return;
    }
    n = r->p[r->off++];
    if (n > max || r->n - r->off < n ||
        !raftauth__printable((const char *)r->p + r->off, n)) {
        r->bad = true;
        return;
    }
    memcpy(out, r->p + r->off, n);
    out[n] = '\0';
    r->off += n;
}

/* Every field read and nothing left over. */
static bool raftauth__reader_done(const struct reader *r)
{
    return !r->bad && r->off == r->n;
}

/* ---------------------------------------------------------------------------
 * Framing
 * ------------------------------------------------------------------------- */

static size_t raftauth__frame(unsigned char *out, enum msg_type type,
                              const unsigned char *body, size_t len)
{
    memcpy(out, MAGIC, 4);
    out[4] = VERSION;
    out[5] = (unsigned char)type;
    out[6] = (unsigned char)(len >> 8);
    out[7] = (unsigned char)(len & 0xff);
    memmove(out + RSM_RAFTAUTH_HEADER_LEN, body, len);
    return RSM_RAFTAUTH_HEADER_LEN + len;
}

enum rsm_raftauth_reason rsm_raftauth_frame_len(const unsigned char *hdr,
                                                size_t *total)
{
    static const unsigned char plain[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    size_t len = ((size_t)hdr[6] << 8) | hdr[7];

    *total = 0;
    if (memcmp(hdr, plain, sizeof plain) == 0)
        return RSM_RAFTAUTH_PLAIN_RAFT;
    if (memcmp(hdr, MAGIC, 4) != 0)
        return RSM_RAFTAUTH_MALFORMED;
    if (hdr[4] != VERSION)
        return RSM_RAFTAUTH_VERSION;
    if (hdr[5] < T_HELLO || hdr[5] >= T_COUNT)
        return RSM_RAFTAUTH_MALFORMED;
    if (len > body_max[hdr[5]])
        return RSM_RAFTAUTH_OVERSIZED;
    *total = RSM_RAFTAUTH_HEADER_LEN + len;
    return RSM_RAFTAUTH_OK;
}

size_t rsm_raftauth_error(enum rsm_raftauth_reason reason, unsigned char *out)
{
    unsigned char b = (unsigned char)reason;

    return raftauth__frame(out, T_ERROR, &b, 1);
}

/* Check a whole message of type want: *body and *len point into in. An
 * ERROR message is REFUSED, with its reason in a->peer_reason. */
static enum rsm_raftauth_reason
raftauth__open_msg(struct rsm_raftauth *a, const unsigned char *in,
                   size_t in_len, enum msg_type want,
                   const unsigned char **body, size_t *len)
{
    enum rsm_raftauth_reason rv;
    size_t total;

    if (in_len < RSM_RAFTAUTH_HEADER_LEN)
        return RSM_RAFTAUTH_MALFORMED;
    rv = rsm_raftauth_frame_len(in, &total);
    if (rv != RSM_RAFTAUTH_OK)
        return rv;
    if (total != in_len)
        return RSM_RAFTAUTH_MALFORMED;
    *body = in + RSM_RAFTAUTH_HEADER_LEN;
    *len = total - RSM_RAFTAUTH_HEADER_LEN;
    if (in[5] == T_ERROR) {
        if (*len != 1 || (*body)[0] == RSM_RAFTAUTH_OK ||
            (*body)[0] >= RSM_RAFTAUTH_REASON_COUNT)
            return RSM_RAFTAUTH_MALFORMED;
        a->peer_reason = (enum rsm_raftauth_reason)(*body)[0];
        return RSM_RAFTAUTH_REFUSED;
    }
    if (in[5] != want)
        return RSM_RAFTAUTH_UNEXPECTED;
    return RSM_RAFTAUTH_OK;
}

/* ---------------------------------------------------------------------------
 * Proofs
 * ------------------------------------------------------------------------- */

/* HMAC-SHA256(secret, label || transcript), with Nettle's HMAC (a small
 * library: OpenSSL's libcrypto cost every agent ~1.4 MB of resident
 * relocated pages just by being linked, secret or not). Always true: kept
 * as a result so that the callers' failure paths stay in place. */
static bool raftauth__prove(const struct rsm_raftauth *a, const char *label,
                            unsigned char out[RSM_RAFTAUTH_MAC_LEN])
{
    struct hmac_sha256_ctx ctx;

    _Static_assert(RSM_RAFTAUTH_MAC_LEN == SHA256_DIGEST_SIZE,
                   "the proof is one SHA-256 digest");
    hmac_sha256_set_key(&ctx, a->secret_len, (const uint8_t *)a->secret);
    hmac_sha256_update(&ctx, LABEL_LEN, (const uint8_t *)label);
    hmac_sha256_update(&ctx, a->hello_len, a->hello_body);
    hmac_sha256_update(&ctx, a->challenge_len, a->challenge_body);
    hmac_sha256_digest(&ctx, RSM_RAFTAUTH_MAC_LEN, out);
    explicit_bzero(&ctx, sizeof ctx);
    return true;
}

/* Compare the peer's MAC with ours in constant time. */
static enum rsm_raftauth_reason
raftauth__check_proof(struct rsm_raftauth *a, const char *label,
                      const unsigned char mac[RSM_RAFTAUTH_MAC_LEN])
{
    unsigned char want[RSM_RAFTAUTH_MAC_LEN];

    if (!raftauth__prove(a, label, want)) {
        snprintf(a->detail, sizeof a->detail, "HMAC-SHA256 failed");
        return RSM_RAFTAUTH_BAD_PROOF;
    }
    if (!memeql_sec(want, mac, RSM_RAFTAUTH_MAC_LEN)) {
        snprintf(a->detail, sizeof a->detail,
                 "its proof does not match this agent's secret");
        return RSM_RAFTAUTH_BAD_PROOF;
    }
    return RSM_RAFTAUTH_OK;
}

static enum rsm_raftauth_reason raftauth__check_cluster(struct rsm_raftauth *a,
                                                        const char *ours,
                                                        const char *theirs)
{
    if (ours[0] == '\0' || theirs[0] == '\0' || strcmp(ours, theirs) == 0)
        return RSM_RAFTAUTH_OK;
    snprintf(a->detail, sizeof a->detail, "cluster id here %.64s, peer's %.64s",
             ours, theirs);
    return RSM_RAFTAUTH_CLUSTER_MISMATCH;
}

/* ---------------------------------------------------------------------------
 * The steps
 * ------------------------------------------------------------------------- */

void rsm_raftauth_init(struct rsm_raftauth *a, const unsigned char *secret,
                       size_t secret_len, uint64_t self_id)
{
    assert(secret != NULL && secret_len > 0);
    memset(a, 0, sizeof *a);
    a->secret = secret;
    a->secret_len = secret_len;
    a->self_id = self_id;
}

static bool raftauth__valid_str(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);

    return n >= min && n <= max && raftauth__printable(s, n);
}

enum rsm_raftauth_reason
rsm_raftauth_client_hello(struct rsm_raftauth *a, uint64_t server_id,
                          const char *cluster_id, const char *address,
                          const unsigned char nonce[RSM_RAFTAUTH_NONCE_LEN],
                          unsigned char *out, size_t *out_len)
{
    struct writer w = {a->hello_body, 0};
    struct rsm_raftauth_hello *h = &a->hello;

    if (a->self_id == 0 || server_id == 0 ||
        !raftauth__valid_str(cluster_id, 0, RSM_RAFTAUTH_CLUSTER_ID_MAX) ||
        !raftauth__valid_str(address, 1, RSM_RAFTAUTH_ADDR_MAX)) {
        snprintf(a->detail, sizeof a->detail,
                 "cannot encode: id 0, or cluster id / address too long or "
                 "not printable");
        return RSM_RAFTAUTH_MALFORMED;
    }
    h->client_id = a->self_id;
    h->server_id = server_id;
    memcpy(h->nonce, nonce, RSM_RAFTAUTH_NONCE_LEN);
    snprintf(h->cluster_id, sizeof h->cluster_id, "%s", cluster_id);
    snprintf(h->address, sizeof h->address, "%s", address);
    a->have_hello = true;
    raftauth__put64(&w, h->client_id);
    raftauth__put64(&w, h->server_id);
    raftauth__put_bytes(&w, h->nonce, RSM_RAFTAUTH_NONCE_LEN);
    raftauth__put_str(&w, h->cluster_id);
    raftauth__put_str(&w, h->address);
    a->hello_len = w.n;
    *out_len = raftauth__frame(out, T_HELLO, a->hello_body, a->hello_len);
    return RSM_RAFTAUTH_OK;
}

static enum rsm_raftauth_reason
raftauth__decode_challenge(struct rsm_raftauth *a, const unsigned char *body,
                           size_t len)
{
    struct reader r = {body, len, 0, false};
    struct rsm_raftauth_challenge *c = &a->challenge;

    c->server_id = raftauth__get64(&r);
    raftauth__get_bytes(&r, c->nonce, RSM_RAFTAUTH_NONCE_LEN);
    raftauth__get_str(&r, c->cluster_id, RSM_RAFTAUTH_CLUSTER_ID_MAX);
    raftauth__get_bytes(&r, c->mac, RSM_RAFTAUTH_MAC_LEN);
    if (!raftauth__reader_done(&r) || c->server_id == 0)
        return RSM_RAFTAUTH_MALFORMED;
    memcpy(a->challenge_body, body, len - RSM_RAFTAUTH_MAC_LEN);
    a->challenge_len = len - RSM_RAFTAUTH_MAC_LEN;
    return RSM_RAFTAUTH_OK;
}

enum rsm_raftauth_reason
rsm_raftauth_client_proof(struct rsm_raftauth *a, const unsigned char *in,
                          size_t in_len, unsigned char *out, size_t *out_len)
{
    unsigned char mac[RSM_RAFTAUTH_MAC_LEN];
    enum rsm_raftauth_reason rv;
    const unsigned char *body;
    size_t len;

    assert(a->have_hello);
    rv = raftauth__open_msg(a, in, in_len, T_CHALLENGE, &body, &len);
    if (rv == RSM_RAFTAUTH_OK)
        rv = raftauth__decode_challenge(a, body, len);
    /* The MAC first: once it holds, the server's id and cluster id below
     * are its own (they are in the transcript). */
    if (rv == RSM_RAFTAUTH_OK)
        rv = raftauth__check_proof(a, "server", a->challenge.mac);
    if (rv == RSM_RAFTAUTH_OK && a->challenge.server_id != a->hello.server_id) {
        snprintf(a->detail, sizeof a->detail,
                 "dialled member %llu, member %llu answered",
                 (unsigned long long)a->hello.server_id,
                 (unsigned long long)a->challenge.server_id);
        rv = RSM_RAFTAUTH_WRONG_PEER;
    }
    if (rv == RSM_RAFTAUTH_OK)
        rv = raftauth__check_cluster(a, a->hello.cluster_id,
                                     a->challenge.cluster_id);
    if (rv != RSM_RAFTAUTH_OK)
        return rv;
    if (!raftauth__prove(a, "client", mac)) {
        snprintf(a->detail, sizeof a->detail, "HMAC-SHA256 failed");
        return RSM_RAFTAUTH_BAD_PROOF;
    }
    *out_len = raftauth__frame(out, T_PROOF, mac, sizeof mac);
    return RSM_RAFTAUTH_OK;
}

static enum rsm_raftauth_reason
raftauth__decode_hello(struct rsm_raftauth *a, const unsigned char *body,
                       size_t len)
{
    struct reader r = {body, len, 0, false};
    struct rsm_raftauth_hello *h = &a->hello;

    h->client_id = raftauth__get64(&r);
    h->server_id = raftauth__get64(&r);
    raftauth__get_bytes(&r, h->nonce, RSM_RAFTAUTH_NONCE_LEN);
    raftauth__get_str(&r, h->cluster_id, RSM_RAFTAUTH_CLUSTER_ID_MAX);
    raftauth__get_str(&r, h->address, RSM_RAFTAUTH_ADDR_MAX);
    if (!raftauth__reader_done(&r) || h->client_id == 0 || h->server_id == 0 ||
        h->address[0] == '\0')
        return RSM_RAFTAUTH_MALFORMED;
    memcpy(a->hello_body, body, len);
    a->hello_len = len;
    a->have_hello = true;
    return RSM_RAFTAUTH_OK;
}

enum rsm_raftauth_reason
rsm_raftauth_server_challenge(struct rsm_raftauth *a, const char *cluster_id,
                              const unsigned char nonce[RSM_RAFTAUTH_NONCE_LEN],
                              const unsigned char *in, size_t in_len,
                              unsigned char *out, size_t *out_len)
{
    struct rsm_raftauth_challenge *c = &a->challenge;
    struct writer w = {a->challenge_body, 0};
    unsigned char body[RSM_RAFTAUTH_FRAME_MAX];
    enum rsm_raftauth_reason rv;
    const unsigned char *msg;
    size_t len;

    rv = raftauth__open_msg(a, in, in_len, T_HELLO, &msg, &len);
    if (rv == RSM_RAFTAUTH_OK)
        rv = raftauth__decode_hello(a, msg, len);
    if (rv != RSM_RAFTAUTH_OK)
        return rv;
    if (a->hello.server_id != a->self_id) {
        snprintf(a->detail, sizeof a->detail,
                 "it dialled member %llu, this is member %llu",
                 (unsigned long long)a->hello.server_id,
                 (unsigned long long)a->self_id);
        return RSM_RAFTAUTH_WRONG_SERVER;
    }
    if (!raftauth__valid_str(cluster_id, 0, RSM_RAFTAUTH_CLUSTER_ID_MAX)) {
        snprintf(a->detail, sizeof a->detail, "own cluster id not printable");
        return RSM_RAFTAUTH_MALFORMED;
    }
    rv = raftauth__check_cluster(a, cluster_id, a->hello.cluster_id);
    if (rv != RSM_RAFTAUTH_OK)
        return rv;
    c->server_id = a->self_id;
    memcpy(c->nonce, nonce, RSM_RAFTAUTH_NONCE_LEN);
    snprintf(c->cluster_id, sizeof c->cluster_id, "%s", cluster_id);
    raftauth__put64(&w, c->server_id);
    raftauth__put_bytes(&w, c->nonce, RSM_RAFTAUTH_NONCE_LEN);
    raftauth__put_str(&w, c->cluster_id);
    a->challenge_len = w.n;
    if (!raftauth__prove(a, "server", c->mac)) {
        snprintf(a->detail, sizeof a->detail, "HMAC-SHA256 failed");
        return RSM_RAFTAUTH_BAD_PROOF;
    }
    memcpy(body, a->challenge_body, a->challenge_len);
    memcpy(body + a->challenge_len, c->mac, RSM_RAFTAUTH_MAC_LEN);
    *out_len = raftauth__frame(out, T_CHALLENGE, body,
                               a->challenge_len + RSM_RAFTAUTH_MAC_LEN);
    return RSM_RAFTAUTH_OK;
}

enum rsm_raftauth_reason rsm_raftauth_server_verify(struct rsm_raftauth *a,
                                                    const unsigned char *in,
                                                    size_t in_len)
{
    enum rsm_raftauth_reason rv;
    const unsigned char *body;
    size_t len;

    assert(a->have_hello && a->challenge_len > 0);
    rv = raftauth__open_msg(a, in, in_len, T_PROOF, &body, &len);
    if (rv != RSM_RAFTAUTH_OK)
        return rv;
    if (len != RSM_RAFTAUTH_MAC_LEN)
        return RSM_RAFTAUTH_MALFORMED;
    return raftauth__check_proof(a, "client", body);
}
