/* http_int.h - what the HTTP server (http.c) needs of the protocol core
 * (http_conn.c) beyond http.h. Private to src/net. */
#ifndef RSM_NET_HTTP_INT_H
#define RSM_NET_HTTP_INT_H

#include <stddef.h>

#include "rsm/http.h"

/* Append n raw bytes to c's output, as they are (a canned response for a
 * client that is refused before any request). 0 or RSM_ENOMEM. */
int http__conn_put_raw(struct rsm_http_conn *c, const void *p, size_t n);

#endif /* RSM_NET_HTTP_INT_H */
