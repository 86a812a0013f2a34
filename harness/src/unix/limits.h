/* limits.h - what the Linux backend cannot run, found at load time. */
#ifndef PF_UNIX_LIMITS_H
#define PF_UNIX_LIMITS_H

#include "../scenario.h"

/* 0, or -1 with err as "file:line:col: message" (struct pf_backend.check). */
int pf_linux_check(const struct pf_scenario *sc, struct pf_error *err);

#endif
