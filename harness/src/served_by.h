/* served_by.h - who served a client's connection, by evidence.
 *
 * Both backends learn a pid for each admitted attempt (Linux: the listener's
 * SO_PEERCRED; win32: GetNamedPipeServerProcessId on the client's handle).
 * Turning that pid into a party - "server", "attacker:NAME" or "unknown" -
 * is one rule, here, so the two platforms cannot drift apart. What "belongs
 * to" means is the backend's: a process group on Linux, the very process
 * under Wine.
 */
#ifndef PF_SERVED_BY_H
#define PF_SERVED_BY_H

#include <stdbool.h>
#include <stddef.h>

/* Is `peer` the process `pid` or one it stands for? */
typedef bool (*pf_party_member_fn)(long peer, long pid);

/* One process that can serve: an attacker (name = its account) or the
 * scenario's server (name NULL). pid <= 0: not running, never matches. */
struct pf_party {
    long pid;
    const char *attacker;
};

/* "server", "attacker:NAME" (written into buf) or "unknown". An attacker is
 * looked for first: a squatter the server started would otherwise count as
 * the server's own. peer <= 0 (no evidence) is "unknown". */
const char *pf_served_by(long peer, const struct pf_party *parties, size_t n,
                         pf_party_member_fn member, char *buf, size_t len);

#endif
