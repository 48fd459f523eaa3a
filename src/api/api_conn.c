/* api_conn.c - connection commands of the client port: AUTH, HELLO,
 * PING, QUIT, RESET, CLIENT *, and the pub/sub commands (pubsub.h). */
#include "api_int.h"
#include "rsm/log.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* =====================================================================
 * Authentication
 * ===================================================================== */

/* Same bytes in constant time (for the password). */
static bool api__same_secret(const char *a, size_t alen, const char *b,
                             size_t blen)
{
    unsigned char diff = alen != blen;

    for (size_t i = 0; i < blen; i++)
        diff |= (unsigned char)(a[i % (alen ? alen : 1)] ^ b[i]);
    return diff == 0 && alen == blen;
}

/* Check user (may be NULL: "default") and password; logs a failure
 * (never the password). Without a configured password, like Redis's
 * "nopass" default user: any password for "default" is good. */
static bool api__check_password(struct api_client *cl, const char *user,
                                const char *pass, size_t len)
{
    struct rsm_api *a = cl->a;
    bool ok = (user == NULL || strcmp(user, "default") == 0) &&
              (!a->has_pass ||
               api__same_secret(a->requirepass, a->pass_len, pass, len));

    if (!ok)
        rsm_log(RSM_LOG_WARN, "api-auth-failed", "peer=%s client_id=%" PRIu64,
                rsm_resp_client_peer(cl->c), cl->id);
    return ok;
}

/* =====================================================================
 * Connection commands
 * ===================================================================== */

enum rsm_resp_status api__cmd_auth(const struct api_call *x)
{
    const struct rsm_resp_request *req = x->req;
    int pi = req->argc == 3 ? 2 : 1;

    if (!x->a->has_pass && req->argc == 2) { /* Redis's answer */
        rsm_resp_add_error(x->r,
                           "ERR AUTH <password> called without any password "
                           "configured for the default user. Are you sure "
                           "your configuration is correct?");
        return RSM_RESP_DONE;
    }
    if (!api__check_password(x->cl, req->argc == 3 ? req->argv[1] : NULL,
                             req->argv[pi], req->argvlen[pi])) {
        rsm_resp_add_error(x->r, "WRONGPASS invalid username-password pair "
                                 "or user is disabled.");
        return RSM_RESP_DONE;
    }
    x->cl->authed = true;
    rsm_resp_add_status(x->r, "OK");
    return RSM_RESP_DONE;
}

/* Client names: printable, no spaces (Redis's rule). */
static bool api__valid_client_name(const char *s, size_t len)
{
    if (len >= CLIENT_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '!' || s[i] > '~')
            return false;
    }
    return true;
}

static void api__set_name(struct api_client *cl, const char *s, size_t len)
{
    assert(len < CLIENT_NAME_MAX); /* api__valid_client_name said so */
    memcpy(cl->name, s, len);
    cl->name[len] = '\0';
}

static void api__hello_reply(const struct api_call *x)
{
    struct rsm_resp_reply *r = x->r;

    rsm_resp_add_array(r, 14);
    rsm_resp_add_kv(r, "server", "rsm-agent");
    rsm_resp_add_kv(r, "version",
                    RSM_API_REDIS_VERSION); /* what clients check */
    rsm_resp_add_cstr(r, "proto");
    rsm_resp_add_int(r, 2);
    rsm_resp_add_cstr(r, "id");
    rsm_resp_add_int(r, (long long)x->cl->id);
    rsm_resp_add_kv(r, "mode", "sentinel");
    rsm_resp_add_kv(r, "role", "master");
    rsm_resp_add_cstr(r, "modules");
    rsm_resp_add_array(r, 0);
}

enum rsm_resp_status api__cmd_hello(const struct api_call *x)
{
    const struct rsm_resp_request *req = x->req;
    const char *name = NULL;
    size_t name_len = 0;
    char *end;
    long v;

    if (req->argc >= 2) {
        v = strtol(req->argv[1], &end, 10);
        if (*end != '\0' || req->argv[1][0] == '\0') {
            rsm_resp_add_error(x->r, "ERR Protocol version is not an integer "
                                     "or out of range");
            return RSM_RESP_DONE;
        }
        if (v != 2) {
            rsm_resp_add_error(x->r, "NOPROTO unsupported protocol version");
            return RSM_RESP_DONE;
        }
    }
    for (int i = 2; i < req->argc; i++) {
        if (strcasecmp(req->argv[i], "AUTH") == 0 && i + 2 < req->argc) {
            if (!api__check_password(x->cl, req->argv[i + 1], req->argv[i + 2],
                                     req->argvlen[i + 2])) {
                rsm_resp_add_error(x->r, "WRONGPASS invalid username-password "
                                         "pair or user is disabled.");
                return RSM_RESP_DONE;
            }
            x->cl->authed = true;
            i += 2;
        } else if (strcasecmp(req->argv[i], "SETNAME") == 0 &&
                   i + 1 < req->argc) {
            name = req->argv[i + 1];
            name_len = req->argvlen[i + 1];
            i++;
        } else {
            rsm_resp_add_errorf(
                x->r, "ERR Syntax error in HELLO option '%.64s'", req->argv[i]);
            return RSM_RESP_DONE;
        }
    }
    if (!x->cl->authed) {
        rsm_resp_add_error(x->r,
                           "NOAUTH HELLO must be called with the client "
                           "already authenticated, otherwise the HELLO "
                           "<proto> AUTH <user> <pass> option can be used to "
                           "authenticate the client and select the RESP "
                           "protocol version at the same time");
        return RSM_RESP_DONE;
    }
    if (name != NULL) {
        if (!api__valid_client_name(name, name_len)) {
            rsm_resp_add_error(x->r, "ERR Client names cannot contain spaces, "
                                     "newlines or special characters.");
            return RSM_RESP_DONE;
        }
        api__set_name(x->cl, name, name_len);
    }
    api__hello_reply(x);
    return RSM_RESP_DONE;
}

enum rsm_resp_status api__cmd_ping(const struct api_call *x)
{
    const struct rsm_resp_request *req = x->req;

    if (api__subscribed(x->cl)) {
        rsm_resp_add_array(x->r, 2);
        rsm_resp_add_cstr(x->r, "pong");
        if (req->argc == 2)
            rsm_resp_add_bulk(x->r, req->argv[1], req->argvlen[1]);
        else
            rsm_resp_add_cstr(x->r, "");
    } else if (req->argc == 2) {
        rsm_resp_add_bulk(x->r, req->argv[1], req->argvlen[1]);
    } else {
        rsm_resp_add_status(x->r, "PONG");
    }
    return RSM_RESP_DONE;
}

enum rsm_resp_status api__cmd_quit(const struct api_call *x)
{
    rsm_resp_add_status(x->r, "OK");
    rsm_resp_reply_close_after(x->r);
    return RSM_RESP_DONE;
}

enum rsm_resp_status api__cmd_reset(const struct api_call *x)
{
    rsm_pubsub_sub_free(x->cl->sub);
    x->cl->sub = NULL;
    api__update_subscriber(x->cl);
    x->cl->name[0] = '\0';
    x->cl->authed = !x->a->has_pass;
    rsm_resp_add_status(x->r, "RESET");
    return RSM_RESP_DONE;
}

enum rsm_resp_status api__cmd_client_setname(const struct api_call *x)
{
    if (!api__valid_client_name(x->req->argv[2], x->req->argvlen[2])) {
        rsm_resp_add_error(x->r, "ERR Client names cannot contain spaces, "
                                 "newlines or special characters.");
        return RSM_RESP_DONE;
    }
    api__set_name(x->cl, x->req->argv[2], x->req->argvlen[2]);
    rsm_resp_add_status(x->r, "OK");
    return RSM_RESP_DONE;
}

enum rsm_resp_status api__cmd_client_getname(const struct api_call *x)
{
    if (x->cl->name[0] == '\0')
        rsm_resp_add_null(x->r);
    else
        rsm_resp_add_cstr(x->r, x->cl->name);
    return RSM_RESP_DONE;
}

enum rsm_resp_status api__cmd_client_id(const struct api_call *x)
{
    rsm_resp_add_int(x->r, (long long)x->cl->id);
    return RSM_RESP_DONE;
}

/* Client libraries announce themselves (lib-name, lib-ver): accepted and
 * forgotten. */
enum rsm_resp_status api__cmd_client_setinfo(const struct api_call *x)
{
    const char *attr = x->req->argv[2];

    if (strcasecmp(attr, "LIB-NAME") != 0 && strcasecmp(attr, "LIB-VER") != 0) {
        rsm_resp_add_errorf(x->r, "ERR Unrecognized option '%.64s'", attr);
        return RSM_RESP_DONE;
    }
    rsm_resp_add_status(x->r, "OK");
    return RSM_RESP_DONE;
}

/* =====================================================================
 * Pub/sub
 * ===================================================================== */

enum rsm_resp_status api__cmd_pubsub(const struct api_call *x)
{
    struct api_client *cl = x->cl;

    if (cl->sub == NULL) {
        cl->sub = rsm_pubsub_sub_create(x->a->ps, cl->c);
        if (cl->sub == NULL) {
            rsm_resp_add_error(x->r, "ERR out of memory");
            return RSM_RESP_DONE;
        }
    }
    rsm_pubsub_command(cl->sub, x->r, x->req);
    api__update_subscriber(cl);
    return RSM_RESP_DONE;
}
