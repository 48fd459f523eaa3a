/* test_pki.h - certificates for the TLS unit tests, made at run time with
 * the openssl CLI in a temp dir (EC P-256 keys: fast), so that no key is
 * ever committed.
 *
 * test_pki_setup() makes the directory with a CA "ca" and an unrelated CA
 * "ca2"; test_pki_cert() adds name.crt/name.key signed by a CA, with the
 * subject CN and the SANs given; test_pki_path() names a file in it;
 * test_pki_teardown() removes it all. */
#ifndef RSM_TEST_PKI_H
#define RSM_TEST_PKI_H

/* Make the directory and both CAs. 0 or -1. */
int test_pki_setup(void);

/* Remove the directory. 0 or -1. */
int test_pki_teardown(void);

/* name.crt and name.key, signed by ca ("ca" or "ca2"), valid for days
 * (negative: expired, valid only on 2020-01-01), with subjectAltName san (e.g.
 * "DNS:agent-1,IP:127.0.0.1"; NULL: none). Fails the test on error. */
void test_pki_cert(const char *name, const char *ca, int days, const char *san);

/* Run cmd in the directory (output discarded); fails the test unless it
 * exits 0. */
void test_pki_run(const char *cmd);

/* dir/name; the last four results stay valid. */
const char *test_pki_path(const char *name);

#endif /* RSM_TEST_PKI_H */
