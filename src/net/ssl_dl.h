/* ssl_dl.h - OpenSSL, loaded only when TLS is asked for.
 *
 * Linking libssl and libcrypto costs every agent ~1.7 MB of resident
 * memory (their relocated data pages), TLS on or not: an idle agent went
 * from 3.6 to 5.3 MB, over the 4 MB target (a static link still gave
 * 4.8 MB). So the two files that use OpenSSL (tls.c, tls_session.c) call
 * it through this table, filled by rsm_ssl_load() with dlopen/dlsym the
 * first time a TLS context is made. The headers are OpenSSL's own (built
 * against libssl-dev), so every pointer has the exact type of the
 * function it replaces; the macros below turn each call, also those
 * inside OpenSSL's own macros (BIO_set_mem_eof_return -> BIO_ctrl,
 * SSL_set_tlsext_host_name -> SSL_ctrl, SSL_CTX_set_min_proto_version ->
 * SSL_CTX_ctrl), into a call through the table. */
#ifndef RSM_NET_SSL_DL_H
#define RSM_NET_SSL_DL_H

#include <stddef.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* Every OpenSSL function tls.c and tls_session.c call. */
#define RSM_SSL_FUNCS(X)                                                       \
    X(BIO_ctrl)                                                                \
    X(BIO_ctrl_pending)                                                        \
    X(BIO_free)                                                                \
    X(BIO_new)                                                                 \
    X(BIO_read)                                                                \
    X(BIO_s_mem)                                                               \
    X(BIO_write)                                                               \
    X(ERR_clear_error)                                                         \
    X(ERR_peek_last_error)                                                     \
    X(ERR_reason_error_string)                                                 \
    X(SSL_CTX_check_private_key)                                               \
    X(SSL_CTX_ctrl)                                                            \
    X(SSL_CTX_free)                                                            \
    X(SSL_CTX_get0_certificate)                                                \
    X(SSL_CTX_load_verify_locations)                                           \
    X(SSL_CTX_new)                                                             \
    X(SSL_CTX_set_ciphersuites)                                                \
    X(SSL_CTX_set_default_verify_paths)                                        \
    X(SSL_CTX_set_session_id_context)                                          \
    X(SSL_CTX_set_verify)                                                      \
    X(SSL_CTX_use_PrivateKey_file)                                             \
    X(SSL_CTX_use_certificate_chain_file)                                      \
    X(SSL_ctrl)                                                                \
    X(SSL_do_handshake)                                                        \
    X(SSL_free)                                                                \
    X(SSL_get0_param)                                                          \
    X(SSL_get0_peer_certificate)                                               \
    X(SSL_get_error)                                                           \
    X(SSL_get_verify_result)                                                   \
    X(SSL_is_init_finished)                                                    \
    X(SSL_new)                                                                 \
    X(SSL_read)                                                                \
    X(SSL_set1_host)                                                           \
    X(SSL_set_accept_state)                                                    \
    X(SSL_set_bio)                                                             \
    X(SSL_set_connect_state)                                                   \
    X(SSL_shutdown)                                                            \
    X(SSL_write)                                                               \
    X(TLS_client_method)                                                       \
    X(TLS_server_method)                                                       \
    X(X509_NAME_oneline)                                                       \
    X(X509_VERIFY_PARAM_set1_ip_asc)                                           \
    X(X509_check_host)                                                         \
    X(X509_check_ip_asc)                                                       \
    X(X509_cmp_current_time)                                                   \
    X(X509_get0_notAfter)                                                      \
    X(X509_get_subject_name)                                                   \
    X(X509_verify_cert_error_string)

#define RSM_SSL_MEMBER(f) __typeof__(&f) f;
struct rsm_ssl_api {
    RSM_SSL_FUNCS(RSM_SSL_MEMBER)
};
#undef RSM_SSL_MEMBER

/* The table; valid once rsm_ssl_load() returned 0. */
extern struct rsm_ssl_api rsm_ssl;

/* Load libssl.so.3 (and libcrypto through it) and fill rsm_ssl, once;
 * later calls return the first result. 0, or RSM_EIO with what is
 * missing in errmsg (the library, or a symbol). */
int rsm_ssl_load(char *errmsg, size_t errlen);

#ifndef RSM_SSL_DL_IMPL
#define BIO_ctrl                      rsm_ssl.BIO_ctrl
#define BIO_ctrl_pending              rsm_ssl.BIO_ctrl_pending
#define BIO_free                      rsm_ssl.BIO_free
#define BIO_new                       rsm_ssl.BIO_new
#define BIO_read                      rsm_ssl.BIO_read
#define BIO_s_mem                     rsm_ssl.BIO_s_mem
#define BIO_write                     rsm_ssl.BIO_write
#define ERR_clear_error               rsm_ssl.ERR_clear_error
#define ERR_peek_last_error           rsm_ssl.ERR_peek_last_error
#define ERR_reason_error_string       rsm_ssl.ERR_reason_error_string
#define SSL_CTX_check_private_key     rsm_ssl.SSL_CTX_check_private_key
#define SSL_CTX_ctrl                  rsm_ssl.SSL_CTX_ctrl
#define SSL_CTX_free                  rsm_ssl.SSL_CTX_free
#define SSL_CTX_get0_certificate      rsm_ssl.SSL_CTX_get0_certificate
#define SSL_CTX_load_verify_locations rsm_ssl.SSL_CTX_load_verify_locations
#define SSL_CTX_new                   rsm_ssl.SSL_CTX_new
#define SSL_CTX_set_ciphersuites      rsm_ssl.SSL_CTX_set_ciphersuites
#define SSL_CTX_set_default_verify_paths                                       \
    rsm_ssl.SSL_CTX_set_default_verify_paths
#define SSL_CTX_set_session_id_context rsm_ssl.SSL_CTX_set_session_id_context
#define SSL_CTX_set_verify             rsm_ssl.SSL_CTX_set_verify
#define SSL_CTX_use_PrivateKey_file    rsm_ssl.SSL_CTX_use_PrivateKey_file
#define SSL_CTX_use_certificate_chain_file                                     \
    rsm_ssl.SSL_CTX_use_certificate_chain_file
#define SSL_ctrl                      rsm_ssl.SSL_ctrl
#define SSL_do_handshake              rsm_ssl.SSL_do_handshake
#define SSL_free                      rsm_ssl.SSL_free
#define SSL_get0_param                rsm_ssl.SSL_get0_param
#define SSL_get0_peer_certificate     rsm_ssl.SSL_get0_peer_certificate
#define SSL_get_error                 rsm_ssl.SSL_get_error
#define SSL_get_verify_result         rsm_ssl.SSL_get_verify_result
#define SSL_is_init_finished          rsm_ssl.SSL_is_init_finished
#define SSL_new                       rsm_ssl.SSL_new
#define SSL_read                      rsm_ssl.SSL_read
#define SSL_set1_host                 rsm_ssl.SSL_set1_host
#define SSL_set_accept_state          rsm_ssl.SSL_set_accept_state
#define SSL_set_bio                   rsm_ssl.SSL_set_bio
#define SSL_set_connect_state         rsm_ssl.SSL_set_connect_state
#define SSL_shutdown                  rsm_ssl.SSL_shutdown
#define SSL_write                     rsm_ssl.SSL_write
#define TLS_client_method             rsm_ssl.TLS_client_method
#define TLS_server_method             rsm_ssl.TLS_server_method
#define X509_NAME_oneline             rsm_ssl.X509_NAME_oneline
#define X509_VERIFY_PARAM_set1_ip_asc rsm_ssl.X509_VERIFY_PARAM_set1_ip_asc
#define X509_check_host               rsm_ssl.X509_check_host
#define X509_check_ip_asc             rsm_ssl.X509_check_ip_asc
#define X509_cmp_current_time         rsm_ssl.X509_cmp_current_time
#define X509_get0_notAfter            rsm_ssl.X509_get0_notAfter
#define X509_get_subject_name         rsm_ssl.X509_get_subject_name
#define X509_verify_cert_error_string rsm_ssl.X509_verify_cert_error_string
#endif

#endif /* RSM_NET_SSL_DL_H */
