/* tls.c - a TLS context (rsm/tls.h): an OpenSSL SSL_CTX, client or
 * server side, every file checked when it is built or reloaded. */
#include "rsm/tls.h"

#include "rsm/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ssl_dl.h"

/* The strings of struct rsm_tls_config, in order. */
#define TLS_NSTR 6

struct rsm_tls {
    SSL_CTX *ctx;
    struct rsm_tls_config cfg; /* strings point into str */
    char *str[TLS_NSTR];       /* copies, for rsm_tls_reload() */
};

static bool tls__set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* msg = "<what>: <OpenSSL's reason, or errno's>"; returns RSM_EINVAL. */
static int tls__fail(char *msg, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int tls__fail(char *msg, size_t size, const char *fmt, ...)
{
    unsigned long e = ERR_peek_last_error();
    const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(msg, size, fmt, ap);
    va_end(ap);
    if (why != NULL && n >= 0 && (size_t)n < size)
        snprintf(msg + n, size - (size_t)n, " (%s)", why);
    ERR_clear_error();
    return RSM_EINVAL;
}

/* A file we can open for reading, else the reason in msg. */
static int tls__readable(const char *what, const char *path, char *msg,
                         size_t size)
{
    FILE *f = fopen(path, "r");

    if (f == NULL)
        return tls__fail(msg, size, "%s %s: %s", what, path, strerror(errno));
    fclose(f);
    return 0;
}

/* "TLSv1.2 TLSv1.3" -> the lowest and highest version named. */
static int tls__protocols(SSL_CTX *ctx, const char *text, char *msg,
                          size_t size)
{
    static const struct {
        const char *name;
        int version;
    } known[] = {{"TLSv1.2", TLS1_2_VERSION}, {"TLSv1.3", TLS1_3_VERSION}};
    char buf[128], *tok, *save;
    int lo = 0, hi = 0;

    if (strlen(text) >= sizeof buf)
        return tls__fail(msg, size, "tls protocols '%s': too long", text);
    strcpy(buf, text);
    for (tok = strtok_r(buf, " ,", &save); tok != NULL;
         tok = strtok_r(NULL, " ,", &save)) {
        size_t i;
        for (i = 0; i < sizeof known / sizeof known[0]; i++)
            if (strcasecmp(tok, known[i].name) == 0)
                break;
        if (i == sizeof known / sizeof known[0])
            return tls__fail(msg, size,
                             "tls protocols: unknown '%s' (TLSv1.2, TLSv1.3)",
                             tok);
        if (lo == 0 || known[i].version < lo)
            lo = known[i].version;
        if (known[i].version > hi)
            hi = known[i].version;
    }
    if (lo == 0)
        return tls__fail(msg, size, "tls protocols: none given");
    if (!SSL_CTX_set_min_proto_version(ctx, lo) ||
        !SSL_CTX_set_max_proto_version(ctx, hi))
        return tls__fail(msg, size, "tls protocols '%s'", text);
    return 0;
}

/* The client certificate and its key, both checked. */
static int tls__identity(SSL_CTX *ctx, const struct rsm_tls_config *cfg,
                         char *msg, size_t size)
{
    X509 *cert;
    bool mismatch;
    int rv, ok;

    if (tls__set(cfg->key_file) && !tls__set(cfg->cert_file))
        return tls__fail(msg, size,
                         "tls key file %s given without a "
                         "certificate file",
                         cfg->key_file);
    if (!tls__set(cfg->cert_file) && cfg->side == RSM_TLS_SERVER)
        return tls__fail(msg, size,
                         "tls: a TLS port needs --tls-cert-file and "
                         "--tls-key-file");
    if (!tls__set(cfg->cert_file))
        return 0;
    if (!tls__set(cfg->key_file))
        return tls__fail(msg, size,
                         "tls cert file %s given without a key "
                         "file",
                         cfg->cert_file);
    rv = tls__readable("tls cert file", cfg->cert_file, msg, size);
    if (rv == 0)
        rv = tls__readable("tls key file", cfg->key_file, msg, size);
    if (rv != 0)
        return rv;
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1)
        return tls__fail(msg, size, "tls cert file %s: not a PEM certificate",
                         cfg->cert_file);
    cert = SSL_CTX_get0_certificate(ctx);
    if (cert != NULL && X509_cmp_current_time(X509_get0_notAfter(cert)) < 0)
        return tls__fail(msg, size, "tls cert file %s: certificate expired",
                         cfg->cert_file);
    ok = SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM);
    mismatch = ok != 1 && ERR_GET_REASON(ERR_peek_last_error()) ==
                              X509_R_KEY_VALUES_MISMATCH;
    if (ok != 1 && !mismatch)
        return tls__fail(msg, size, "tls key file %s: not a PEM private key",
                         cfg->key_file);
    if (mismatch || SSL_CTX_check_private_key(ctx) != 1)
        return tls__fail(msg, size,
                         "tls key file %s does not match tls cert file %s",
                         cfg->key_file, cfg->cert_file);
    return 0;
}

/* How the peer is verified: a client always verifies the server, a
 * server its clients as auth_clients says. */
static int tls__verify_mode(const struct rsm_tls_config *cfg)
{
    if (cfg->side == RSM_TLS_CLIENT)
        return SSL_VERIFY_PEER;
    switch (cfg->auth_clients) {
    case RSM_TLS_AUTH_NO:
        return SSL_VERIFY_NONE;
    case RSM_TLS_AUTH_OPTIONAL:
        return SSL_VERIFY_PEER;
    case RSM_TLS_AUTH_YES:
    default:
        return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
}

/* The CAs peers are verified against. */
static int tls__trust(SSL_CTX *ctx, const struct rsm_tls_config *cfg, char *msg,
                      size_t size)
{
    static const unsigned char sid_ctx[] = "rsm-agent";
    const char *file = tls__set(cfg->ca_file) ? cfg->ca_file : NULL;
    const char *dir = tls__set(cfg->ca_dir) ? cfg->ca_dir : NULL;
    int rv = 0;

    SSL_CTX_set_verify(ctx, tls__verify_mode(cfg), NULL);
    /* A server that verifies clients must name its sessions, or a
     * resumed one fails (OpenSSL's rule). */
    if (cfg->side == RSM_TLS_SERVER &&
        SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1) != 1)
        return tls__fail(msg, size, "tls: session id context");
    if (file == NULL && dir == NULL) {
        if (SSL_CTX_set_default_verify_paths(ctx) != 1)
            return tls__fail(msg, size, "tls: no default trust store");
        return 0;
    }
    if (file != NULL)
        rv = tls__readable("tls ca cert file", file, msg, size);
    if (rv == 0 && dir != NULL)
        rv = tls__readable("tls ca cert dir", dir, msg, size);
    if (rv != 0)
        return rv;
    if (file != NULL && SSL_CTX_load_verify_locations(ctx, file, NULL) != 1)
        return tls__fail(msg, size,
                         "tls ca cert file %s: no PEM certificate in it", file);
    if (dir != NULL && SSL_CTX_load_verify_locations(ctx, NULL, dir) != 1)
        return tls__fail(msg, size, "tls ca cert dir %s", dir);
    return 0;
}

/* A new SSL_CTX from cfg, every file checked; NULL with msg. */
static SSL_CTX *tls__build(const struct rsm_tls_config *cfg, int *rv, char *msg,
                           size_t msg_size)
{
    SSL_CTX *ctx;

    ERR_clear_error();
    ctx = SSL_CTX_new(cfg->side == RSM_TLS_SERVER ? TLS_server_method()
                                                  : TLS_client_method());
    if (ctx == NULL) {
        *rv = RSM_ENOMEM;
        return NULL;
    }
    *rv = tls__protocols(
        ctx, tls__set(cfg->protocols) ? cfg->protocols : "TLSv1.2 TLSv1.3", msg,
        msg_size);
    if (*rv == 0 && tls__set(cfg->ciphersuites) &&
        SSL_CTX_set_ciphersuites(ctx, cfg->ciphersuites) != 1)
        *rv = tls__fail(msg, msg_size, "tls ciphersuites '%s'",
                        cfg->ciphersuites);
    if (*rv == 0)
        *rv = tls__identity(ctx, cfg, msg, msg_size);
    if (*rv == 0)
        *rv = tls__trust(ctx, cfg, msg, msg_size);
    if (*rv != 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Copy cfg's strings into t (t->cfg points at the copies). */
static int tls__keep_config(struct rsm_tls *t, const struct rsm_tls_config *cfg)
{
    const char *in[TLS_NSTR] = {cfg->cert_file, cfg->key_file,
                                cfg->ca_file,   cfg->ca_dir,
                                cfg->protocols, cfg->ciphersuites};
    const char **outp[TLS_NSTR] = {&t->cfg.cert_file, &t->cfg.key_file,
                                   &t->cfg.ca_file,   &t->cfg.ca_dir,
                                   &t->cfg.protocols, &t->cfg.ciphersuites};

    t->cfg.side = cfg->side;
    t->cfg.auth_clients = cfg->auth_clients;
    for (int i = 0; i < TLS_NSTR; i++) {
        if (!tls__set(in[i]))
            continue;
        t->str[i] = strdup(in[i]);
        if (t->str[i] == NULL)
            return RSM_ENOMEM;
        *outp[i] = t->str[i];
    }
    return 0;
}

int rsm_tls_create(const struct rsm_tls_config *cfg, struct rsm_tls **out,
                   char *msg, size_t msg_size)
{
    struct rsm_tls *t = calloc(1, sizeof *t);
    int rv;

    if (msg_size > 0)
        msg[0] = '\0';
    if (t == NULL)
        return RSM_ENOMEM;
    rv = tls__keep_config(t, cfg);
    if (rv == 0)
        rv = rsm_ssl_load(msg, msg_size);
    if (rv == 0)
        t->ctx = tls__build(&t->cfg, &rv, msg, msg_size);
    if (rv != 0) {
        rsm_tls_free(t);
        return rv;
    }
    *out = t;
    return 0;
}

int rsm_tls_reload(struct rsm_tls *t, char *msg, size_t msg_size)
{
    SSL_CTX *ctx;
    int rv;

    if (msg_size > 0)
        msg[0] = '\0';
    ctx = tls__build(&t->cfg, &rv, msg, msg_size);
    if (ctx == NULL)
        return rv;
    SSL_CTX_free(t->ctx); /* live sessions keep their own reference */
    t->ctx = ctx;
    return 0;
}

enum rsm_tls_side rsm_tls_side(const struct rsm_tls *t)
{
    return t->cfg.side;
}

void rsm_tls_free(struct rsm_tls *t)
{
    if (t == NULL)
        return;
    if (t->ctx != NULL)
        SSL_CTX_free(t->ctx);
    for (int i = 0; i < TLS_NSTR; i++)
        free(t->str[i]);
    free(t);
}

void *rsm_tls_ctx(const struct rsm_tls *t)
{
    return t->ctx;
}
