/* sdnorm.h - reading a pipe's security descriptor and normalising SDDL.
 *
 * Two descriptors that grant the same access must compare equal whatever way
 * they were written: Windows stores GA as FA once attached to a file object,
 * Wine keeps GA, SDDL writers order rights differently and use SID aliases.
 * The normalised form is the DACL alone, as "D:" followed by its ACEs in
 * order, each "(type;flags;mask;;;SID)" with the generic rights mapped through
 * the file generic mapping, the mask rendered as FA, a combination of FR FW FX
 * that is exactly equal to it, or hex, and the SID as S-1-... . A missing or
 * NULL DACL (no access control at all; Wine's default for a pipe) is
 * "D:NO_ACCESS_CONTROL". Owner, group, SACL and control flags are left out:
 * they do not decide who may open the pipe.
 */
#ifndef PFW_SDNORM_H
#define PFW_SDNORM_H

#include <windows.h>
#include <stdbool.h>
#include <stddef.h>

/* Normalises a binary SD into out. False if it cannot be read. */
bool pfw_sd_normalise(PSECURITY_DESCRIPTOR sd, char *out, size_t cap);

/* Normalises an SDDL string; false with a reason in out if it does not parse. */
bool pfw_sddl_normalise(const wchar_t *sddl, char *out, size_t cap);

/* Appends the perm object of docs/trace.md for a kernel object handle:
 * {"sddl": raw, "owner": SID or null, "normalised": ...}. On failure the
 * object is {"error": "GetSecurityInfo: N"}. */
void pfw_perm_of_handle(HANDLE h, char *out, size_t cap);

/* The same perm object for an SDDL string (the scenario's intended SD). */
void pfw_perm_of_sddl(const wchar_t *sddl, char *out, size_t cap);

#endif
