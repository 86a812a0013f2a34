/* main.c - the pipefault command line: run, check, report, clean. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "explore.h"
#include "jobs.h"
#include "merge.h"
#include "report.h"
#include "run.h"
#include "select.h"
#include "suite.h"
#include "version.h"

static const char usage_main[] =
    "usage: pipefault <command> [options] ...\n"
    "\n"
    "Fault-injection test harness for pipe-server races: runs scenario files\n"
    "against a server, with clients under real accounts, and records whether\n"
    "every endpoint instance got the intended permissions or the default.\n"
    "\n"
    "commands:\n"
    "  run [options] PATH...                run scenario files or suite directories\n"
    "  explore [--budget N] [--seed N] [--out DIR] PATH...\n"
    "                                       search for the fault that breaks a scenario\n"
    "  check PATH...                        validate scenarios without running anything\n"
    "  report DIR                           regenerate DIR/index.html from DIR/results.json\n"
    "  merge OUT STORE...                   merge the stores of shards into one in OUT\n"
    "  clean [--cache]                      remove accounts and files left by a killed run\n"
    "  version, --version                   print pipefault's version\n"
    "\n"
    "exit codes: 0 every expectation held; 1 an expectation failed, a scenario was\n"
    "inconclusive or errored; 2 bad input; 3 harness or environment error (or\n"
    "interrupted).\n"
    "'pipefault <command> --help' describes each command.\n";

static const char usage_run[] =
    "usage: pipefault run [--out DIR] [--seed N] [--select GLOB]... [--shard I/N\n"
    "                     [--durations STORE]] [--jobs N] [--list] PATH...\n"
    "\n"
    "Runs every scenario in PATH (a scenario file, or a suite directory of *.yaml).\n"
    "All scenarios are validated before anything runs. Needs root for Linux\n"
    "scenarios: it creates real accounts (removed afterwards).\n"
    "\n"
    "  --out DIR          write results here, a new or empty directory\n"
    "                     (default: out/<time>-<run>, with out/latest)\n"
    "  --seed N           seed for every random draw (default: random, printed and recorded)\n"
    "  --select GLOB      only the scenarios whose name matches GLOB (shell pattern;\n"
    "                     repeatable: any of them); a GLOB matching nothing is bad input\n"
    "  --shard I/N        only part I of N: the parts are disjoint, together the whole,\n"
    "                     and the same on every machine for the same scenario names\n"
    "  --durations STORE  balance the parts by the durations STORE/results.json recorded\n"
    "  --jobs N           run up to N scenarios at a time (default 1)\n"
    "  --list             print the names of the chosen scenarios and run nothing\n"
    "  -h, --help         this text\n"
    "\n"
    "Writes results.json, junit.xml, index.html and <scenario>/trace.jsonl.\n"
    "Win32 scenarios copy a cached, initialised Wine prefix from $PIPEFAULT_CACHE_DIR\n"
    "(default /var/cache/pipefault for root, else $XDG_CACHE_HOME/pipefault), built\n"
    "once per Wine version and rebuilt when damaged or stale.\n"
    "exit: 0 all passed (or skipped), 1 a fail, inconclusive or error verdict, 2 bad input,\n"
    "3 harness/environment error or interrupted.\n";

static const char usage_explore[] =
    "usage: pipefault explore [--budget N] [--time SECONDS] [--seed N] [--out DIR] [--jobs N]\n"
    "                         PATH...\n"
    "\n"
    "For each scenario (its faults: may be empty): runs it once as written to learn\n"
    "which endpoint operations the server makes, then runs trials, each the scenario\n"
    "plus generated faults: every single-point perturbation first (holds until each\n"
    "account's attempt or admission, delays of 5-625 ms, close-before-create\n"
    "orderings; the list's size is printed), then seeded random 2-point schedules.\n"
    "The first trial that fails is shrunk to a minimal scenario, its window measured,\n"
    "and written as repro/<scenario>-tNNNN.yaml, replayed 10 times (docs/explore.md).\n"
    "\n"
    "  --budget N     trials per scenario after the baseline (default 60)\n"
    "  --time SECONDS stop a scenario's trials after this long (default: no limit)\n"
    "  --seed N       seed for the random schedules and every run (default: random)\n"
    "  --out DIR      write here (default: out/<time>-<run>, with out/latest)\n"
    "  --jobs N       run up to N trials at a time (default 1; the record and the\n"
    "                 finding are those of --jobs 1 with the same seed)\n"
    "  -h, --help     this text\n"
    "\n"
    "Writes explore.json, explore.html, repro/*.yaml and trials/<scenario>/*.\n"
    "exit: 1 a failure was found and reproduced 10 of 10 times; 0 nothing found within the stated\n"
    "bound (or only flaky leads); 2 bad input; 3 harness/environment error, a baseline\n"
    "that could not run, or interrupted.\n";

static const char usage_check[] =
    "usage: pipefault check PATH...\n"
    "\n"
    "Validates scenario files and suite directories without running anything.\n"
    "Errors are printed as file:line:col: message.\n"
    "exit: 0 all valid, 2 any error.\n";

static const char usage_report[] =
    "usage: pipefault report DIR\n"
    "\n"
    "Regenerates DIR/index.html from DIR/results.json and the traces. DIR and\n"
    "everything read in it are opened without following symlinks.\n"
    "exit: 0 written, 2 DIR has no readable results, 3 could not write.\n";

static const char usage_merge[] =
    "usage: pipefault merge OUT STORE...\n"
    "\n"
    "Merges the stores of several runs (e.g. the shards of one suite) into OUT:\n"
    "one results.json, junit.xml and index.html, with every scenario's folder\n"
    "copied. A scenario name found in two stores is bad input.\n"
    "exit: 0 every merged scenario passed (or was skipped), 1 a fail, inconclusive\n"
    "or error verdict, 2 bad input (unreadable store, duplicate name, bad OUT),\n"
    "3 a store is incomplete (its run was interrupted or stopped by a harness\n"
    "error) or OUT could not be written.\n";

static const char usage_clean[] =
    "usage: pipefault clean [--cache]\n"
    "\n"
    "Removes the accounts, groups and work directories of runs whose harness\n"
    "is no longer running (e.g. killed with SIGKILL). Needs root.\n"
    "  --cache  also remove the cached platform set-up (the initialised Wine\n"
    "           prefix); the next run builds it again\n";

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return 1;
    return 0;
}

static char *join_command(int argc, char **argv)
{
    size_t n = 32;
    for (int i = 0; i < argc; i++)
        n += strlen(argv[i]) * 4 + 3;
    char *s = calloc(1, n);
    for (int i = 0; i < argc; i++) {
        if (i)
            strcat(s, " ");
        bool plain = strspn(argv[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789-_./=:@+,") == strlen(argv[i]) && argv[i][0];
        if (plain) {
            strcat(s, argv[i]);
            continue;
        }
        strcat(s, "'");
        for (const char *c = argv[i]; *c; c++)
            strcat(s, *c == '\'' ? "'\\''" : (char[]){*c, 0});
        strcat(s, "'");
    }
    return s;
}

/* --jobs: at least 1; more than there are scenarios is no error, the
 * extra workers are simply not started. */
#define PF_MAX_JOBS PF_MAX_WORKERS

static int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"seed", required_argument, NULL, 's'},
        {"select", required_argument, NULL, 'S'},
        {"shard", required_argument, NULL, 'H'},
        {"durations", required_argument, NULL, 'D'},
        {"jobs", required_argument, NULL, 'j'},
        {"list", no_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct pf_suite_options o = {0};
    struct pf_choice choice = {0};
    const char **globs = calloc((size_t)argc + 1, sizeof *globs);
    bool seeded = false, list = false;
    char err[512] = "";
    int c, rc = PF_EXIT_BAD_INPUT;
    o.jobs = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+o:s:j:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o.out = optarg;
            break;
        case 's': {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno || *end || !*optarg || optarg[0] == '-') {
                fprintf(stderr, "pipefault run: --seed takes a non-negative integer, not '%s'\n",
                        optarg);
                goto out;
            }
            o.seed = v;
            seeded = true;
            break;
        }
        case 'S':
            globs[choice.nglobs++] = optarg;
            break;
        case 'H':
            if (pf_shard_parse(optarg, &choice.shard, err, sizeof err) < 0) {
                fprintf(stderr, "pipefault run: %s\n", err);
                goto out;
            }
            break;
        case 'D':
            choice.durations = optarg;
            break;
        case 'j': {
            char *end;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || *end || !*optarg || v < 1 || v > PF_MAX_JOBS) {
                fprintf(stderr, "pipefault run: --jobs takes a number from 1 to %d, not '%s'\n",
                        PF_MAX_JOBS, optarg);
                goto out;
            }
            o.jobs = (unsigned)v;
            break;
        }
        case 'L':
            list = true;
            break;
        case 'h':
            fputs(usage_run, stdout);
            rc = 0;
            goto out;
        default:
            fputs(usage_run, stderr);
            goto out;
        }
    }
    choice.globs = globs;
    if (choice.durations && !choice.shard.count) {
        fprintf(stderr, "pipefault run: --durations only balances --shard; give --shard I/N\n");
        goto out;
    }
    if (optind >= argc) {
        fprintf(stderr, "pipefault run: no scenario file or suite directory given\n");
        fputs(usage_run, stderr);
        goto out;
    }
    struct pf_scenario_list l;
    if (pf_scenarios_load(argv + optind, argc - optind, &l) < 0 ||
        pf_choose(&l, &choice, err, sizeof err) < 0) {
        if (err[0])
            fprintf(stderr, "pipefault run: %s\n", err);
        pf_scenarios_free(&l);
        goto out;
    }
    if (list) {
        for (size_t i = 0; i < l.n; i++)
            printf("%s\n", l.items[i]->name);
        pf_scenarios_free(&l);
        rc = fflush(stdout) == 0 ? 0 : PF_EXIT_HARNESS;
        goto out;
    }
    if (!seeded) {
        uint32_t r;
        if (getrandom(&r, sizeof r, 0) != sizeof r)
            r = (uint32_t)getpid();
        o.seed = r;
    }
    /* The command that reproduces this run: same paths, same choice, same
     * seed (each scenario's draws depend only on the seed and its name). */
    char **rep = calloc((size_t)argc * 2 + 8, sizeof *rep);
    int n = 0;
    rep[n++] = "pipefault";
    rep[n++] = "run";
    char seedbuf[32], shardbuf[32];
    snprintf(seedbuf, sizeof seedbuf, "%" PRIu64, o.seed);
    rep[n++] = "--seed";
    rep[n++] = seedbuf;
    for (size_t i = 0; i < choice.nglobs; i++) {
        rep[n++] = "--select";
        rep[n++] = (char *)globs[i];
    }
    if (choice.shard.count) {
        snprintf(shardbuf, sizeof shardbuf, "%u/%u", choice.shard.index, choice.shard.count);
        rep[n++] = "--shard";
        rep[n++] = shardbuf;
    }
    if (choice.durations) {
        rep[n++] = "--durations";
        rep[n++] = (char *)choice.durations;
    }
    for (int i = optind; i < argc; i++)
        rep[n++] = argv[i];
    char *command = join_command(n, rep);
    free(rep);
    o.command = command;
    rc = pf_suite_run(&l, &o);
    free(command);
    pf_scenarios_free(&l);
out:
    free(globs);
    return rc;
}

static bool parse_count(const char *cmd, const char *opt, const char *arg,
                        unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno || *end || !*arg || arg[0] == '-' || v > max) {
        fprintf(stderr, "pipefault %s: %s takes an integer from 0 to %llu, not '%s'\n", cmd,
                opt, max, arg);
        return false;
    }
    *out = v;
    return true;
}

static int cmd_explore(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"seed", required_argument, NULL, 's'},
        {"budget", required_argument, NULL, 'b'},
        {"time", required_argument, NULL, 't'},
        {"jobs", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct pf_explore_options o = {.budget = 60, .jobs = 1};
    bool seeded = false;
    unsigned long long v = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+o:s:b:t:j:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o.out = optarg;
            break;
        case 's':
            if (!parse_count("explore", "--seed", optarg, UINT64_MAX, &v))
                return PF_EXIT_BAD_INPUT;
            o.seed = v;
            seeded = true;
            break;
        case 'b':
            if (!parse_count("explore", "--budget", optarg, 1000000, &v))
                return PF_EXIT_BAD_INPUT;
            o.budget = (long)v;
            break;
        case 't':
            if (!parse_count("explore", "--time", optarg, 86400 * 366, &v))
                return PF_EXIT_BAD_INPUT;
            if (v == 0) {
                fprintf(stderr, "pipefault explore: --time must be at least 1 second\n");
                return PF_EXIT_BAD_INPUT;
            }
            o.time_ns = (int64_t)v * 1000000000LL;
            break;
        case 'j': {
            char *end;
            errno = 0;
            long n = strtol(optarg, &end, 10);
            if (errno || *end || !*optarg || n < 1 || n > PF_MAX_JOBS) {
                fprintf(stderr, "pipefault explore: --jobs takes a number from 1 to %d, not "
                        "'%s'\n", PF_MAX_JOBS, optarg);
                return PF_EXIT_BAD_INPUT;
            }
            o.jobs = (unsigned)n;
            break;
        }
        case 'h':
            fputs(usage_explore, stdout);
            return 0;
        default:
            fputs(usage_explore, stderr);
            return PF_EXIT_BAD_INPUT;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "pipefault explore: no scenario file or suite directory given\n");
        fputs(usage_explore, stderr);
        return PF_EXIT_BAD_INPUT;
    }
    if (!seeded) {
        uint32_t r;
        if (getrandom(&r, sizeof r, 0) != sizeof r)
            r = (uint32_t)getpid();
        o.seed = r;
    }
    char budget[32], seedbuf[32];
    snprintf(seedbuf, sizeof seedbuf, "%" PRIu64, o.seed);
    snprintf(budget, sizeof budget, "%ld", o.budget);
    char **rep = calloc((size_t)argc + 8, sizeof *rep);
    int n = 0;
    rep[n++] = "pipefault";
    rep[n++] = "explore";
    rep[n++] = "--seed";
    rep[n++] = seedbuf;
    rep[n++] = "--budget";
    rep[n++] = budget;
    for (int i = optind; i < argc; i++)
        rep[n++] = argv[i];
    char *command = join_command(n, rep);
    free(rep);
    o.command = command;
    int rc = pf_explore_run(argv + optind, argc - optind, &o);
    free(command);
    return rc;
}

static int cmd_check(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        fputs(usage_check, stdout);
        return 0;
    }
    if (argc < 2) {
        fputs(usage_check, stderr);
        return PF_EXIT_BAD_INPUT;
    }
    struct pf_scenario_list l;
    int rc = pf_scenarios_load(argv + 1, argc - 1, &l);
    if (rc == 0)
        fprintf(stderr, "%zu scenario%s valid\n", l.n, l.n == 1 ? "" : "s");
    pf_scenarios_free(&l);
    return rc == 0 ? 0 : PF_EXIT_BAD_INPUT;
}

static int cmd_report(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        fputs(usage_report, stdout);
        return 0;
    }
    if (argc != 2) {
        fputs(usage_report, stderr);
        return PF_EXIT_BAD_INPUT;
    }
    /* Everything is read and written relative to DIR's fd, never through
     * a symlink: DIR may be someone else's copy of a run. */
    int dirfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (dirfd < 0 && errno == ENOTDIR && lstat(argv[1], &st) == 0 && S_ISLNK(st.st_mode))
        errno = ELOOP;   /* say why: DIR is a symlink */
    int fd = dirfd >= 0 ? pf_store_open_read(dirfd, "results.json") : -1;
    if (fd < 0) {
        fprintf(stderr, "pipefault report: %s%s: %s\n", argv[1],
                dirfd >= 0 ? "/results.json" : "", errno != ELOOP ? strerror(errno) :
                dirfd >= 0 ? "a symlink is not followed" : "a symlink is not followed; "
                "name the directory itself (out/latest points at out/<time>-<run>)");
        if (dirfd >= 0)
            close(dirfd);
        return PF_EXIT_BAD_INPUT;
    }
    close(fd);
    char err[512];
    int rc = pf_report_write_at(dirfd, argv[1], err, sizeof err);
    close(dirfd);
    if (rc < 0) {
        fprintf(stderr, "pipefault report: %s\n", err);
        return PF_EXIT_HARNESS;
    }
    fprintf(stderr, "wrote %s/index.html\n", argv[1]);
    return 0;
}

static int cmd_merge(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        fputs(usage_merge, stdout);
        return 0;
    }
    if (argc < 3) {
        fputs(usage_merge, stderr);
        return PF_EXIT_BAD_INPUT;
    }
    char **rep = calloc((size_t)argc + 2, sizeof *rep);
    rep[0] = "pipefault";
    for (int i = 0; i < argc; i++)
        rep[i + 1] = argv[i];
    char *command = join_command(argc + 1, rep);
    free(rep);
    int rc = pf_merge(argv[1], argv + 2, argc - 2, command);
    free(command);
    return rc;
}

static int cmd_clean(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        fputs(usage_clean, stdout);
        return 0;
    }
    bool cache = argc == 2 && !strcmp(argv[1], "--cache");
    if (argc != 1 && !cache) {
        fputs(usage_clean, stderr);
        return PF_EXIT_BAD_INPUT;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "pipefault clean: needs root (it removes accounts)\n");
        return PF_EXIT_HARNESS;
    }
    int n = pf_sweep_all();
    fprintf(stderr, "pipefault clean: leftovers of %d killed run%s removed\n", n,
            n == 1 ? "" : "s");
    int rc = 0;
    for (size_t i = 0; cache && pf_backends[i]; i++)
        if (pf_backends[i]->clean_cache && pf_backends[i]->clean_cache() < 0)
            rc = PF_EXIT_HARNESS;
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return PF_EXIT_BAD_INPUT;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("pipefault %s\n", pf_version);
        return 0;
    }
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "explore"))
        return cmd_explore(argc - 1, argv + 1);
    if (!strcmp(cmd, "check"))
        return cmd_check(argc - 1, argv + 1);
    if (!strcmp(cmd, "report"))
        return cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "merge"))
        return cmd_merge(argc - 1, argv + 1);
    if (!strcmp(cmd, "clean"))
        return cmd_clean(argc - 1, argv + 1);
    fprintf(stderr, "pipefault: unknown command '%s'\n\n", cmd);
    fputs(usage_main, stderr);
    return PF_EXIT_BAD_INPUT;
}
