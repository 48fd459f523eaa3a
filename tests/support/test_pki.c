/* test_pki.c - certificates for the TLS unit tests (test_pki.h). */
#include "test_pki.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char test_pki__dir[64];

const char *test_pki_path(const char *name)
{
    static char buf[4][160];
    static unsigned next;
    char *p = buf[next++ % 4];

    snprintf(p, sizeof buf[0], "%s/%s", test_pki__dir, name);
    return p;
}

/* cmd in the directory, quietly; its exit status. */
static int test_pki__sh(const char *cmd)
{
    char buf[2048];

    snprintf(buf, sizeof buf, "cd %s && (%s) >/dev/null 2>&1", test_pki__dir,
             cmd);
    return system(buf);
}

void test_pki_run(const char *cmd)
{
    if (test_pki__sh(cmd) != 0)
        fail_msg("failed: %s", cmd);
}

/* A self-signed CA: name.crt, name.key. */
static int test_pki__ca(const char *name)
{
    char cmd[512];

    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
             "-nodes -days 2 -subj /CN=%s-test-ca -keyout %s.key -out %s.crt",
             name, name, name);
    return test_pki__sh(cmd);
}

int test_pki_setup(void)
{
    snprintf(test_pki__dir, sizeof test_pki__dir, "/tmp/rsm-test-pki-XXXXXX");
    if (mkdtemp(test_pki__dir) == NULL)
        return -1;
    if (test_pki__ca("ca") != 0 || test_pki__ca("ca2") != 0)
        return -1;
    return 0;
}

int test_pki_teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof cmd, "rm -rf %s", test_pki__dir);
    return system(cmd) == 0 ? 0 : -1;
}

void test_pki_cert(const char *name, const char *ca, int days, const char *san)
{
    char cmd[1536], ext[256] = "";

    if (san != NULL) {
        FILE *f = fopen(test_pki_path("san.ext"), "w");

        assert_non_null(f);
        fprintf(f, "subjectAltName=%s\n", san);
        fclose(f);
        snprintf(ext, sizeof ext, "-extfile san.ext");
    }
    snprintf(cmd, sizeof cmd,
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-subj /CN=%s -keyout %s.key -out %s.csr",
             name, name, name);
    test_pki_run(cmd);
    if (days >= 0) {
        snprintf(cmd, sizeof cmd,
                 "openssl x509 -req -in %s.csr -CA %s.crt -CAkey %s.key "
                 "-CAcreateserial -days %d %s -out %s.crt",
                 name, ca, ca, days, ext, name);
        test_pki_run(cmd);
        return;
    }
    /* Expired: `x509 -days -1` gives notAfter before notBefore (OpenSSL
     * 3.0) or is refused (3.5), and 3.0's x509 has no -not_after: `openssl
     * ca` with dates in 2020, a throw-away database in ca.db/. */
    test_pki_run("rm -rf ca.db && mkdir ca.db && touch ca.db/index.txt && "
                 "echo 01 > ca.db/serial && printf '[ca]\\ndefault_ca = d\\n"
                 "[d]\\ndatabase = ca.db/index.txt\\nnew_certs_dir = ca.db\\n"
                 "serial = ca.db/serial\\ndefault_md = sha256\\npolicy = p\\n"
                 "unique_subject = no\\n[p]\\ncommonName = supplied\\n' "
                 "> ca.db/ca.cnf");
    snprintf(cmd, sizeof cmd,
             "openssl ca -batch -notext -config ca.db/ca.cnf -cert %s.crt "
             "-keyfile %s.key -in %s.csr -out %s.crt -startdate "
             "20200101000000Z -enddate 20200102000000Z %s && rm -rf ca.db",
             ca, ca, name, name, ext);
    test_pki_run(cmd);
}
