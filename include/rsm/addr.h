/* addr.h - Redis / agent endpoint addresses ("host:port").
 *
 * A host is a DNS name, a dotted IPv4 address or a bracketed IPv6 address
 * ("[::1]:6379"). Names are kept as given and resolved by src/net at connect
 * time, because pod IPs change. Plain value type: copy freely. */
#ifndef RSM_ADDR_H
#define RSM_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest DNS name is 253 characters; room for the NUL. */
#define RSM_HOST_MAX 256
/* "host:port" as text, with brackets for IPv6. */
#define RSM_ADDR_STRLEN (RSM_HOST_MAX + 8)

struct rsm_addr {
    char host[RSM_HOST_MAX]; /* without brackets */
    uint16_t port;           /* 1..65535 once parsed */
};

/* Parse "host:port" into *out. Errors (RSM_EINVAL) name the problem in
 * errmsg: empty host, missing or bad port (must be 1..65535, digits only),
 * host too long, bad characters, unbalanced brackets. *out is untouched on
 * error. */
int rsm_addr_parse(const char *text, struct rsm_addr *out, char *errmsg,
                   size_t errlen);

/* Parse a port: digits only, 1..65535. Errors (RSM_EINVAL) in errmsg name
 * it as what ("port", "API port"): "missing <what>", "<what> '<s>' is not
 * a number", "<what> '<s>' out of range 1-65535". *port is untouched on
 * error. */
int rsm_addr_parse_port(const char *s, const char *what, uint16_t *port,
                        char *errmsg, size_t errlen);

/* Build an address from a host and a port; RSM_EINVAL if the host is empty,
 * too long or has bad characters, or the port is 0. */
int rsm_addr_set(struct rsm_addr *out, const char *host, long port,
                 char *errmsg, size_t errlen);

/* Write "host:port" ("[v6]:port") into buf (at least RSM_ADDR_STRLEN);
 * returns buf. */
char *rsm_addr_format(const struct rsm_addr *a, char *buf, size_t len);

/* Is a set? The one rule for every field that may hold no address: both a
 * host and a port (a zeroed struct is unset; rsm_addr_set() never makes a
 * half-set one, and the entry checks refuse those from the wire). */
bool rsm_addr_is_set(const struct rsm_addr *a);

/* rsm_addr_format() for a set address, else the text `unset` ("", "none",
 * "-": whatever the caller shows for "no address"). */
const char *rsm_addr_format_or(const struct rsm_addr *a, char *buf, size_t len,
                               const char *unset);

/* A member (agent) id from its first n bytes of text: decimal digits only,
 * 1..UINT64_MAX (0 means "no member" to libraft). 0, or RSM_EINVAL. The one
 * parser of --peers, rsmctl and the RSM commands. */
int rsm_member_id_parse(const char *s, size_t n, uint64_t *id);

/* Same host (case-insensitive) and port. */
bool rsm_addr_equal(const struct rsm_addr *a, const struct rsm_addr *b);

/* Total order (host case-insensitive, then port) for deterministic sorting. */
int rsm_addr_compare(const struct rsm_addr *a, const struct rsm_addr *b);

#endif /* RSM_ADDR_H */
