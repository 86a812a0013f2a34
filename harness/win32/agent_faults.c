/* agent_faults.c - the scenario's fault rules inside the server: loaded from
 * the file the host wrote, decided by harness/src/faults.c (the same code and
 * seed as on Linux), and carried out on the server's own thread (delay,
 * hold until the host releases it, fail). Hooks only ask run_faults().
 */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_RULES 64
static struct pf_fault rules[MAX_RULES];
static int rule_index[MAX_RULES];    /* index in the scenario's `faults:` */
static struct pf_fault_state rule_state[MAX_RULES];
size_t nrules;
static uint64_t run_seed;

struct hold {
    int id;
    HANDLE released;
    bool used;
};
#define MAX_HOLDS 64
static struct hold holds[MAX_HOLDS];
static int next_hold_id;

static void fault_event(size_t r, const char *decision, int64_t delay_ns, int err,
                        const char *reason, int hold_id, int instance)
{
    struct pfw_json j;
    begin_event(&j, "fault");
    pfw_json_str(&j, "op", pf_fault_op_name(rules[r].op));
    pfw_json_str(&j, "phase", pf_fault_phase_name(rules[r].phase));
    pfw_json_str(&j, "action", pf_fault_action_name(rules[r].action));
    pfw_json_int(&j, "rule", rule_index[r]);
    pfw_json_str(&j, "decision", decision);
    pfw_json_int(&j, "delay_ns", delay_ns);
    pfw_json_int(&j, "errno", err);
    pfw_json_str(&j, "reason", reason);
    if (hold_id)
        pfw_json_int(&j, "hold", hold_id);
    if (instance > 0)
        pfw_json_int(&j, "instance", instance);
    else
        pfw_json_null(&j, "instance");
    if (rules[r].until_account)
        pfw_json_str(&j, "until_account", rules[r].until_account);
    if (rules[r].until_event)
        pfw_json_str(&j, "until_event", rules[r].until_event);
    send_line(&j);
}

/* Sleeps for ns with sub-millisecond precision where the timer allows it. */
static void sleep_ns(int64_t ns)
{
    if (ns <= 0)
        return;
    HANDLE t = CreateWaitableTimerW(NULL, TRUE, NULL);
    if (t) {
        LARGE_INTEGER due;
        due.QuadPart = -(ns / 100 > 0 ? ns / 100 : 1);  /* relative, 100 ns units */
        if (SetWaitableTimer(t, &due, 0, NULL, NULL, FALSE)) {
            WaitForSingleObject(t, INFINITE);
            real_CloseHandle(t);
            return;
        }
        real_CloseHandle(t);
    }
    Sleep((DWORD)((ns + 999999) / 1000000));
}

static void hold(size_t r, int instance)
{
    EnterCriticalSection(&state_lock);
    struct hold *slot = NULL;
    for (int i = 0; i < MAX_HOLDS; i++)
        if (!holds[i].used) {
            slot = &holds[i];
            break;
        }
    int id = ++next_hold_id;
    if (slot) {
        slot->used = true;
        slot->id = id;
        slot->released = CreateEventW(NULL, TRUE, FALSE, NULL);
    }
    LeaveCriticalSection(&state_lock);
    fault_event(r, "held", 0, 0, NULL, id, instance);

    DWORD ms = (DWORD)((rules[r].timeout_ns + 999999) / 1000000);
    DWORD w = slot && slot->released ? WaitForSingleObject(slot->released, ms)
                                     : (Sleep(ms), WAIT_TIMEOUT);
    fault_event(r, w == WAIT_OBJECT_0 ? "released" : "timed-out", 0, 0, NULL, id, instance);

    EnterCriticalSection(&state_lock);
    if (slot) {
        if (slot->released)
            real_CloseHandle(slot->released);
        slot->used = false;
    }
    LeaveCriticalSection(&state_lock);
}

/* Runs every rule for (op, phase) in file order. Returns the Win32 error a
 * `fail` rule asks for, or 0. */
DWORD run_faults(enum pf_fault_op op, enum pf_fault_phase phase, int instance)
{
    DWORD fail = 0;
    for (size_t r = 0; r < nrules; r++) {
        if (rules[r].op != op || rules[r].phase != phase)
            continue;
        EnterCriticalSection(&state_lock);
        struct pf_fault_decision d = pf_fault_decide(&rules[r], &rule_state[r]);
        LeaveCriticalSection(&state_lock);
        if (!d.fire) {
            fault_event(r, "skipped", 0, 0, d.reason, 0, instance);
            continue;
        }
        switch (d.action) {
        case PF_ACT_DELAY:
            fault_event(r, "delayed", d.delay_ns, 0, NULL, 0, instance);
            sleep_ns(d.delay_ns);
            break;
        case PF_ACT_HOLD:
            hold(r, instance);
            break;
        case PF_ACT_FAIL:
            fault_event(r, "failed", 0, d.err, NULL, 0, instance);
            if (!fail)
                fail = (DWORD)d.err;
            break;
        }
    }
    return fail;
}

/* The host says hold `id` may go on. */
void release_hold(int id)
{
    EnterCriticalSection(&state_lock);
    for (int i = 0; i < MAX_HOLDS; i++)
        if (holds[i].used && holds[i].id == id && holds[i].released)
            SetEvent(holds[i].released);
    LeaveCriticalSection(&state_lock);
}

void release_all_holds(void)
{
    EnterCriticalSection(&state_lock);
    for (int i = 0; i < MAX_HOLDS; i++)
        if (holds[i].used && holds[i].released)
            SetEvent(holds[i].released);
    LeaveCriticalSection(&state_lock);
}

/* $PF_FAULTS names a file the host wrote, one rule per line in the wire
 * form of faults.h (pf_fault_encode on the host, pf_fault_decode here). */
bool load_faults(void)
{
    const char *seed = getenv("PF_SEED");
    run_seed = seed ? strtoull(seed, NULL, 10) : 0;
    const char *path = getenv("PF_FAULTS");
    if (!path || !*path)
        return true;
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "pipefault agent: cannot open fault rules %s\n", path);
        return false;
    }
    char line[PF_FAULT_LINE_MAX];
    while (fgets(line, sizeof line, fp) && nrules < MAX_RULES) {
        size_t idx;
        if (!pf_fault_decode(line, &rules[nrules], &idx)) {
            fprintf(stderr, "pipefault agent: bad fault rule line: %s", line);
            fclose(fp);
            return false;
        }
        rule_index[nrules] = (int)idx;
        pf_fault_state_init(&rule_state[nrules], run_seed, idx);
        nrules++;
    }
    fclose(fp);
    return true;
}
