/* sdnorm.c - security descriptor reading and normalisation (see sdnorm.h). */
/* pfw.h first: winsock2.h must precede windows.h. */
#include "pfw.h"
#include "sdnorm.h"

#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <string.h>

static void append(char *out, size_t cap, const char *s)
{
    size_t n = strlen(out);
    if (n < cap)
        snprintf(out + n, cap - n, "%s", s);
}

/* FA if all, else the exact union of FR/FW/FX, else hex: FR, FW and FX share
 * READ_CONTROL and SYNCHRONIZE, so the rendering tries every combination. */
static void render_mask(ACCESS_MASK m, char *buf, size_t cap)
{
    static const struct { ACCESS_MASK bits; const char *name; } parts[3] = {
        {FILE_GENERIC_READ, "FR"}, {FILE_GENERIC_WRITE, "FW"},
        {FILE_GENERIC_EXECUTE, "FX"},
    };
    if (m == FILE_ALL_ACCESS) {
        snprintf(buf, cap, "FA");
        return;
    }
    for (int set = 1; set < 8; set++) {
        ACCESS_MASK u = 0;
        for (int i = 0; i < 3; i++)
            if (set & (1 << i))
                u |= parts[i].bits;
        if (u == m) {
            buf[0] = '\0';
            for (int i = 0; i < 3; i++)
                if (set & (1 << i))
                    append(buf, cap, parts[i].name);
            return;
        }
    }
    snprintf(buf, cap, "0x%lx", (unsigned long)m);
}

bool pfw_sd_normalise(PSECURITY_DESCRIPTOR sd, char *out, size_t cap)
{
    BOOL present = FALSE, defaulted = FALSE;
    PACL dacl = NULL;
    out[0] = '\0';
    if (!sd || !GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted))
        return false;
    if (!present || !dacl) {
        append(out, cap, "D:NO_ACCESS_CONTROL");
        return true;
    }
    append(out, cap, "D:");
    GENERIC_MAPPING map = {FILE_GENERIC_READ, FILE_GENERIC_WRITE,
                           FILE_GENERIC_EXECUTE, FILE_ALL_ACCESS};
    for (DWORD i = 0; i < dacl->AceCount; i++) {
        ACE_HEADER *hdr;
        if (!GetAce(dacl, i, (void **)&hdr))
            return false;
        char ace[512], mask[32], type[16];
        /* Allowed and denied ACEs share the layout up to SidStart. */
        ACCESS_ALLOWED_ACE *a = (ACCESS_ALLOWED_ACE *)hdr;
        if (hdr->AceType == ACCESS_ALLOWED_ACE_TYPE)
            snprintf(type, sizeof type, "A");
        else if (hdr->AceType == ACCESS_DENIED_ACE_TYPE)
            snprintf(type, sizeof type, "D");
        else {
            snprintf(ace, sizeof ace, "(0x%x;;;;;)", hdr->AceType);
            append(out, cap, ace);
            continue;
        }
        ACCESS_MASK m = a->Mask;
        MapGenericMask(&m, &map);
        render_mask(m, mask, sizeof mask);
        char *sid = NULL;
        if (!ConvertSidToStringSidA((PSID)&a->SidStart, &sid))
            return false;
        /* INHERITED_ACE only records where an ACE came from: dropped. */
        BYTE flags = hdr->AceFlags & (OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE |
                                      NO_PROPAGATE_INHERIT_ACE | INHERIT_ONLY_ACE);
        char fl[16] = "";
        if (flags & OBJECT_INHERIT_ACE) append(fl, sizeof fl, "OI");
        if (flags & CONTAINER_INHERIT_ACE) append(fl, sizeof fl, "CI");
        if (flags & NO_PROPAGATE_INHERIT_ACE) append(fl, sizeof fl, "NP");
        if (flags & INHERIT_ONLY_ACE) append(fl, sizeof fl, "IO");
        snprintf(ace, sizeof ace, "(%s;%s;%s;;;%s)", type, fl, mask, sid);
        LocalFree(sid);
        append(out, cap, ace);
    }
    return true;
}

bool pfw_sddl_normalise(const wchar_t *sddl, char *out, size_t cap)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1,
                                                              &sd, NULL)) {
        snprintf(out, cap, "SDDL does not parse (error %lu)", GetLastError());
        return false;
    }
    bool ok = pfw_sd_normalise(sd, out, cap);
    LocalFree(sd);
    return ok;
}

static void perm_json(PSECURITY_DESCRIPTOR sd, const char *raw, char *out, size_t cap)
{
    struct pfw_json j;
    char norm[2048];
    pfw_json_begin(&j, NULL);
    pfw_json_str(&j, "sddl", raw);
    PSID owner = NULL;
    BOOL def;
    char *owner_s = NULL;
    if (GetSecurityDescriptorOwner(sd, &owner, &def) && owner)
        ConvertSidToStringSidA(owner, &owner_s);
    pfw_json_str(&j, "owner", owner_s);
    if (owner_s)
        LocalFree(owner_s);
    if (pfw_sd_normalise(sd, norm, sizeof norm))
        pfw_json_str(&j, "normalised", norm);
    else
        pfw_json_null(&j, "normalised");
    pfw_json_end(&j);
    j.buf[j.len - 1] = '\0';  /* drop the line's '\n': embedded object */
    snprintf(out, cap, "%s", j.buf);
}

void pfw_perm_of_handle(HANDLE h, char *out, size_t cap)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    DWORD e = GetSecurityInfo(h, SE_KERNEL_OBJECT,
                              OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                              NULL, NULL, NULL, NULL, &sd);
    if (e != ERROR_SUCCESS) {
        snprintf(out, cap, "{\"error\":\"GetSecurityInfo: %lu\"}", e);
        return;
    }
    char *raw = NULL;
    if (!ConvertSecurityDescriptorToStringSecurityDescriptorA(
            sd, SDDL_REVISION_1, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
            &raw, NULL))
        raw = NULL;
    perm_json(sd, raw ? raw : "", out, cap);
    if (raw)
        LocalFree(raw);
    LocalFree(sd);
}

void pfw_perm_of_sddl(const wchar_t *sddl, char *out, size_t cap)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1,
                                                              &sd, NULL)) {
        snprintf(out, cap, "{\"error\":\"SDDL does not parse (error %lu)\"}",
                 GetLastError());
        return;
    }
    char raw[2048];
    pfw_utf8(sddl, raw, sizeof raw);
    perm_json(sd, raw, out, cap);
    LocalFree(sd);
}
