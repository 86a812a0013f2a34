/* served_by.c - a served pid to a party (see served_by.h). */
#include "served_by.h"

#include <stdio.h>
#include <string.h>

const char *pf_served_by(long peer, const struct pf_party *parties, size_t n,
                         pf_party_member_fn member, char *buf, size_t len)
{
    if (peer <= 0)
        return "unknown";
    for (size_t i = 0; i < n; i++)
        if (parties[i].attacker && parties[i].pid > 0 && member(peer, parties[i].pid)) {
            snprintf(buf, len, "attacker:%s", parties[i].attacker);
            return buf;
        }
    for (size_t i = 0; i < n; i++)
        if (!parties[i].attacker && parties[i].pid > 0 && member(peer, parties[i].pid))
            return "server";
    return "unknown";
}
