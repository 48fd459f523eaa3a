/* secrets.c - rsm-agent's password files (--redis-password-file,
 * --requirepass-file) and the cluster secret (--cluster-secret-file or
 * RSM_CLUSTER_SECRET). Messages name the file, never its content. */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The first line of a password file, without its line end. */
void agent_read_password_file(const struct optval *v, char *out, size_t len)
{
    FILE *f = fopen(v->val, "r");
    size_t n;

    if (f == NULL)
        agent_bad_usage("%s: cannot read '%s': %s", v->src, v->val,
                        strerror(errno));
    if (fgets(out, (int)len, f) == NULL)
        out[0] = '\0';
    fclose(f);
    n = strcspn(out, "\r\n");
    if (out[n] == '\0' && n == len - 1)
        agent_bad_usage("%s: the password in '%s' is too long", v->src, v->val);
    out[n] = '\0';
    if (n == 0)
        agent_bad_usage("%s: '%s' holds no password", v->src, v->val);
}

/* Refuse a secret of the wrong size; never shows the secret itself. */
static void agent__check_secret_len(const char *src, const char *file, size_t n)
{
    const char *in = file ? " in '" : "", *end = file ? "'" : "";

    if (file == NULL)
        file = "";
    if (n == 0)
        agent_bad_usage("%s: the cluster secret%s%s%s is empty", src, in, file,
                        end);
    if (n < RSM_RAFTAUTH_SECRET_MIN)
        agent_bad_usage(
            "%s: the cluster secret%s%s%s is %zu bytes long, at least "
            "%d are needed (e.g. head -c 32 /dev/urandom | base64)",
            src, in, file, end, n, RSM_RAFTAUTH_SECRET_MIN);
    if (n > RSM_RAFTAUTH_SECRET_MAX)
        agent_bad_usage("%s: the cluster secret%s%s%s is longer than %d bytes",
                        src, in, file, end, RSM_RAFTAUTH_SECRET_MAX);
}

/* The whole content of a secret file, read once, one trailing newline
 * ("\n" or "\r\n") dropped. */
static size_t agent__read_secret_file(const struct optval *v,
                                      unsigned char *out, size_t cap)
{
    int fd = open(v->val, O_RDONLY | O_CLOEXEC);
    size_t n = 0;
    ssize_t r = 0;

    if (fd < 0)
        agent_bad_usage("%s: cannot read '%s': %s", v->src, v->val,
                        strerror(errno));
    while (n < cap && (r = read(fd, out + n, cap - n)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            close(fd);
            agent_bad_usage("%s: cannot read '%s': %s", v->src, v->val,
                            strerror(errno));
        }
        n += (size_t)r;
    }
    close(fd);
    if (n > 0 && out[n - 1] == '\n' && n <= RSM_RAFTAUTH_SECRET_MAX + 1) {
        n--;
        if (n > 0 && out[n - 1] == '\r')
            n--;
    }
    agent__check_secret_len(v->src, v->val, n);
    return n;
}

/* --cluster-secret-file, else RSM_CLUSTER_SECRET, else none. */
void agent_parse_cluster_secret(const struct optval *v, struct settings *s)
{
    const char *env = getenv("RSM_CLUSTER_SECRET");
    size_t n = 0;

    if (v[O_CLUSTER_SECRET_FILE].val != NULL) {
        n = agent__read_secret_file(&v[O_CLUSTER_SECRET_FILE],
                                    s->cluster_secret,
                                    sizeof s->cluster_secret);
    } else if (env != NULL) {
        n = strlen(env);
        agent__check_secret_len("RSM_CLUSTER_SECRET", NULL, n);
        memcpy(s->cluster_secret, env, n);
    }
    s->cluster_secret_len = n;
    s->node.cluster_secret = n > 0 ? s->cluster_secret : NULL;
    s->node.cluster_secret_len = n;
}
