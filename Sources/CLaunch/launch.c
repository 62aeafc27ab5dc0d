/* The launcher's side of the fast start (claunch.h): understand the command line, find the
 * record, check it, run it. Anything it does not understand exactly as devenv-core would goes
 * to devenv-core unchanged. */
#define _GNU_SOURCE
#include "record.h"

#include <cdiscovery.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* ---- the command line ---- */

struct invocation {
    const char *verb;           /* run, enter, or build or status (answered from a record) */
    int enter, answers;
    const char *directory, *store, *image, *network;
    int root, quiet, locked, json;
    char **command;             /* run's, NULL-terminated */
};

/* `--name VALUE` or `--name=VALUE` at argv[*i]; 1 when it is this option with a usable value,
 * -1 when it is but the value is missing, empty, or given twice. */
static int option_value(char **argv, int argc, int *i, const char *name, const char **slot) {
    size_t length = strlen(name);
    const char *arg = argv[*i], *value;
    if (strcmp(arg, name) == 0) {
        if (*i + 1 >= argc) return -1;
        value = argv[++*i];
    } else if (strncmp(arg, name, length) == 0 && arg[length] == '=' && name[1] == '-') {
        value = arg + length + 1;
    } else {
        return 0;
    }
    if (*slot || !*value || *value == '-') return -1;
    *slot = value;
    return 1;
}

/* The options run and enter take, and those of build and status an answer record covers, as
 * ArgumentParser reads them; 0 for anything else. */
static int parse(int argc, char **argv, struct invocation *inv) {
    memset(inv, 0, sizeof *inv);
    if (argc < 2) return 0;
    inv->verb = argv[1];
    if (strcmp(argv[1], "enter") == 0) inv->enter = 1;
    else if (strcmp(argv[1], "build") == 0 || strcmp(argv[1], "status") == 0) inv->answers = 1;
    else if (strcmp(argv[1], "run") != 0) return 0;
    int build = strcmp(argv[1], "build") == 0, status = strcmp(argv[1], "status") == 0;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        int found;
        if ((found = option_value(argv, argc, &i, "-C", &inv->directory))
            || (found = option_value(argv, argc, &i, "--store", &inv->store))
            || (!inv->answers && (found = option_value(argv, argc, &i, "--image", &inv->image)))
            || (!inv->answers && (found = option_value(argv, argc, &i, "--network", &inv->network)))) {
            if (found < 0) return 0;
        } else if (!inv->answers && strcmp(arg, "--root") == 0) {
            if (inv->root++) return 0;
        } else if (strcmp(arg, "-q") == 0 || strcmp(arg, "--quiet") == 0) {
            if (inv->quiet++) return 0;
        } else if (build && strcmp(arg, "--locked") == 0) {
            if (inv->locked++) return 0;
        } else if (status && strcmp(arg, "--json") == 0) {
            if (inv->json++) return 0;
        } else if (inv->answers) {
            return 0;
        } else if (!inv->enter && strcmp(arg, "--") == 0) {
            inv->command = argv + i + 1;
            break;
        } else if (!inv->enter && arg[0] != '-') {
            /* Without "--", ArgumentParser still reads options among the command's words. */
            for (int j = i; j < argc; j++) if (argv[j][0] == '-') return 0;
            inv->command = argv + i;
            break;
        } else {
            return 0;
        }
    }
    if (inv->network && strcmp(inv->network, "host") != 0 && strcmp(inv->network, "none") != 0) return 0;
    if (!inv->enter && !inv->answers && (!inv->command || !inv->command[0])) return 0;
    return 1;
}

/* ---- where things are ---- */

static int copy(char *out, size_t size, const char *text) {
    size_t length = strlen(text);
    if (length >= size) return 0;
    memcpy(out, text, length + 1);
    return 1;
}

static int join(char *out, size_t size, const char *a, const char *b) {
    int n = snprintf(out, size, "%s%s", a, b);
    return n > 0 && (size_t)n < size;
}

/* The store's root as StoreLocation picks it: --store, $DEVENV_HOME, /var/lib/devenv for root,
 * $XDG_DATA_HOME/devenv, ~/.local/share/devenv. Relative paths are relative to `start`. */
static int store_root(const struct invocation *inv, const char *start, char *out, size_t size) {
    const char *explicit = inv->store ? inv->store : getenv("DEVENV_HOME");
    if (explicit && *explicit) {
        if (explicit[0] == '/') return copy(out, size, explicit);
        if (explicit[0] == '~' && (explicit[1] == '\0' || explicit[1] == '/')) {
            const char *home = getenv("HOME");
            return home && *home && join(out, size, home, explicit + 1);
        }
        int n = snprintf(out, size, "%s/%s", start, explicit);
        return n > 0 && (size_t)n < size;
    }
    if (geteuid() == 0) return copy(out, size, "/var/lib/devenv");
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && xdg[0] == '/') return join(out, size, xdg, "/devenv");
    const char *home = getenv("HOME");
    return home && *home && join(out, size, home, "/.local/share/devenv");
}

/* Whether the store and the directories a fast start reads are the caller's alone (or not made
 * yet, so no record either), as StoreLocation requires; devenv-core refuses any other store and
 * says why. A record in a store another user can write to would mount layers they could have
 * swapped. */
static int store_private(const char *store) {
    const char *const below[] = {"", "/layers", "/envs"};
    for (size_t i = 0; i < sizeof below / sizeof *below; i++) {
        char path[PATH_MAX];
        struct stat info;
        if (!join(path, sizeof path, store, below[i])) return 0;
        if (stat(path, &info) < 0) {
            if (errno == ENOENT) continue;
            return 0;
        }
        if (!S_ISDIR(info.st_mode) || info.st_uid != geteuid() || (info.st_mode & 077)) return 0;
    }
    return 1;
}

/* devenv-core's path: next to this executable. */
static int core_path(char *out, size_t size) {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return 0;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash) return 0;
    *slash = '\0';
    return join(out, size, self, "/devenv-core");
}

/* Where an invocation happens, found as devenv-core finds it. */
struct place {
    char start[PATH_MAX];       /* -C's directory, or the working directory */
    char project[PATH_MAX];
    char store[PATH_MAX];
    char core[PATH_MAX];        /* devenv-core's real path */
};

/* -C's directory, or the working directory; NULL, or why there is none. */
static const char *start_directory(const struct invocation *inv, char *start, size_t size) {
    if (inv->directory) {
        struct stat info;
        if (!realpath(inv->directory, start) || stat(start, &info) < 0 || !S_ISDIR(info.st_mode)) return "-C is not a directory";
    } else if (!getcwd(start, size)) {
        return "no working directory";
    }
    return NULL;
}

/* The work tree of the repository `start` is in, else `start` itself; NULL, or why not. */
static const char *project_directory(const char *start, char *project, size_t size) {
    char found[PATH_MAX];
    if (cdiscovery_work_tree(start, found, sizeof found)) {
        if (!realpath(found, project)) return "the repository's path cannot be resolved";
    } else if (!copy(project, size, start)) {
        return "path too long";
    }
    return strcmp(project, "/") == 0 ? "the project would be /" : NULL;
}

/* NULL, or why the fast start cannot tell where `inv` happens. */
static const char *locate(const struct invocation *inv, struct place *place) {
    const char *reason = start_directory(inv, place->start, sizeof place->start);
    if (!reason) reason = project_directory(place->start, place->project, sizeof place->project);
    if (reason) return reason;
    if (!store_root(inv, place->start, place->store, sizeof place->store)) return "no store location";
    if (!store_private(place->store)) return "the store is not the caller's alone";
    char core_found[PATH_MAX];
    if (!core_path(core_found, sizeof core_found) || !realpath(core_found, place->core)) return "cannot find devenv-core";
    return NULL;
}

/* The working directory inside: the same place below the project's mount point (the start
 * directory is the project or below it: discovery walked up from there). 0 when it is not. */
static int inside_directory(const struct place *place, const char *mount_point, char *cwd, size_t size) {
    size_t project_length = strlen(place->project);
    const char *below = place->start + project_length;
    return strncmp(place->start, place->project, project_length) == 0 && (!*below || *below == '/')
        && join(cwd, size, mount_point, below);
}

/* ---- naming the record ---- */

/* The invocation's key (claunch_key); NULL, or why there is none. */
static const char *invocation_key(const struct invocation *inv, const struct place *place, char *key, size_t size) {
    struct claunch_key_fields fields = {
        .verb = inv->verb, .store = place->store, .project = place->project, .image = inv->image,
        .network = inv->network, .root = inv->root, .locked = inv->locked, .json = inv->json, .quiet = inv->quiet,
    };
    switch (claunch_key(&fields, key, size)) {
    case CLAUNCH_KEY_MADE: return NULL;
    case CLAUNCH_KEY_TOO_LONG: return "path too long";
    default: return "a path has a newline in it";
    }
}

/* `hash` and then variable=value, or a mark that it is unset. */
static uint64_t hash_variable(uint64_t hash, const char *variable) {
    const char *value = getenv(variable);
    hash = fnv1a(hash, value ? "=" : "-", 1);
    return value ? fnv1a(hash, value, strlen(value) + 1) : hash;
}

/* The record's file in `store`; NULL, or why there is none. The caller's variables the
 * sandbox's environment is made from (PATH and what EnvironmentSession passes through) name the
 * record too: two shells with different ones, say two terminal types, keep a record each instead
 * of replacing each other's. The record still checks them; this only picks which one to look at. */
static const char *record_path(const char *store, const char *key, char *path, size_t size) {
    uint64_t name = hash_variable(fnv1a(FNV_OFFSET, key, strlen(key)), "PATH");
    for (size_t i = 0; claunch_passed_variable(i); i++) name = hash_variable(name, claunch_passed_variable(i));
    int n = snprintf(path, size, "%s/envs/.launch/%016llx", store, (unsigned long long)name);
    return n < 0 || (size_t)n >= size ? "path too long" : NULL;
}

/* ---- saying things ---- */

static int tracing(void) { return getenv(CLAUNCH_TRACE_VARIABLE) != NULL; }

static void say(const char *format, ...) {
    char line[8192];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(line, sizeof line - 1, format, args);
    va_end(args);
    if (n < 0) return;
    if ((size_t)n > sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    for (ssize_t done = 0, w; done < n; done += w) {
        w = write(2, line + done, (size_t)(n - done));
        if (w <= 0 && errno != EINTR) return;
        if (w < 0) w = 0;
    }
}

static int miss(const char *why) {
    if (tracing()) say("devenv: full start: %s", why);
    return 0;
}

/* ---- checking a record ---- */

/* Why `record` no longer describes this start, or NULL when it does. */
static const char *stale(const struct record *r, const char *key, const char *core, char *why, size_t size) {
    if (strcmp(r->key, key) != 0) return "the record is for another invocation";
    if (strcmp(r->core, core) != 0) return "the record was written by another devenv";
    if (r->invoker_uid != getuid() || r->invoker_gid != getgid()) return "the record is another user's";
    for (size_t i = 0; i < r->variable_count; i++) {
        const char *now = getenv(r->variable_names[i]), *then = r->variable_values[i];
        if ((now == NULL) != (then == NULL) || (now && strcmp(now, then) != 0)) {
            snprintf(why, size, "$%s changed", r->variable_names[i]);
            return why;
        }
    }
    for (size_t i = 0; i < r->check_count; i++) {
        struct file_check now;
        file_check_take(r->check_paths[i], r->checks[i]->kind, &now);
        if (!file_check_matches(r->checks[i], &now)) {
            snprintf(why, size, "%s changed", r->check_paths[i]);
            return why;
        }
    }
    return NULL;
}

/* ---- running it ---- */

static void write_all(int fd, const char *bytes, size_t length) {
    for (size_t done = 0; done < length;) {
        ssize_t n = write(fd, bytes + done, length - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        done += (size_t)n;
    }
}

/* `build` or `status` from an answer record: what devenv-core printed for the same inputs. */
static int answer(struct record *r, const struct invocation *inv, const char *key, const char *core, const char *path, int *status) {
    char why[PATH_MAX + 64];
    const char *reason = r->answer != inv->answers ? "the record is for another invocation" : stale(r, key, core, why, sizeof why);
    if (reason) {
        record_free(r);
        return miss(reason);
    }
    if (tracing()) say("devenv: answered from %s", path);
    write_all(1, r->answer_out, r->answer_out_length);
    write_all(2, r->answer_err, r->answer_err_length);
    *status = r->answer_status;
    record_free(r);
    return 1;
}

/* What EnvironmentLauncher does with the spec, from the record: the exit status, or -1 when
 * the sandbox could not be set up (nothing ran; the reason is in `error`). */
static int run_record(struct record *r, const struct invocation *inv, const char *cwd, char *error, size_t error_size) {
    r->config.cwd = cwd;
    r->config.argv = inv->enter ? (char *const *)r->argv : inv->command;
    int owns_terminal = isatty(0) == 1 && tcgetpgrp(0) == getpgrp();
    r->config.foreground = r->foreground && owns_terminal;

    struct csandbox_process process;
    if (csandbox_spawn(&r->config, &process, error, error_size) != 0) return -1;
    if (csandbox_apply_id_maps(process.pid, r->id_mode, r->uid_map, r->gid_map, r->newuidmap, r->newgidmap, error,
                               error_size) < 0) {
        csandbox_abort(&process);
        return -1;
    }
    /* Before the command runs, as the full start prints it (which prints it again should this
     * start fail and hand over). */
    if (*r->notes) say("%s", r->notes);
    int failed_errno = 0;
    int failure = csandbox_start(&process, error, error_size, &failed_errno);
    if (failure == CSANDBOX_EXEC) {
        say("devenv: error: %s", error);
        return failed_errno == ENOENT ? 127 : 126;
    }
    if (failure) return -1;
    return csandbox_wait(&process, owns_terminal);
}

/* Field 22 of /proc/PID/stat (the start time), or 0 when there is no such process. */
static unsigned long long start_time(pid_t pid) {
    char path[64], stat[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, stat, sizeof stat - 1);
    close(fd);
    if (n <= 0) return 0;
    stat[n] = '\0';
    /* The command name (field 2) may hold spaces and parentheses: count from the last ")". */
    char *cursor = strrchr(stat, ')');
    if (!cursor) return 0;
    for (int field = 2; field < 22 && cursor; field++) cursor = strchr(cursor + 1, ' ');
    return cursor ? strtoull(cursor + 1, NULL, 10) : 0;
}

/* What EnvironmentLauncher.join does, from a join record: the exit status, or -1 when the
 * running environment could not be joined (nothing ran; the reason is in `error`). The
 * namespaces are the holder's descriptors, opened through /proc/HOLDER/fd (as SandboxNamespaces
 * does) and believed only if the holder is still the process that started then. */
static int join_record(struct record *r, const struct invocation *inv, const char *cwd, char *error, size_t error_size) {
    r->config.cwd = cwd;
    r->config.argv = inv->enter ? (char *const *)r->argv : inv->command;
    int owns_terminal = isatty(0) == 1 && tcgetpgrp(0) == getpgrp();
    r->config.foreground = r->foreground && owns_terminal;
    int fds[CSANDBOX_NAMESPACE_COUNT];
    int opened = 0;
    for (; opened < CSANDBOX_NAMESPACE_COUNT; opened++) {
        int held = r->joined.fds[opened];
        fds[opened] = -1;
        if (held < 0) continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)r->joined.holder, held);
        if ((fds[opened] = open(path, O_RDONLY | O_CLOEXEC)) < 0) break;
    }
    int result = -1;
    if (opened < CSANDBOX_NAMESPACE_COUNT) {
        snprintf(error, error_size, "the running environment's supervisor (pid %d) is gone", (int)r->joined.holder);
    } else if (start_time(r->joined.holder) != r->joined.holder_start) {
        snprintf(error, error_size, "pid %d is no longer the running environment's supervisor", (int)r->joined.holder);
    } else {
        if (*r->notes) say("%s", r->notes);
        struct csandbox_process process;
        int failed_errno = 0;
        int failure = csandbox_join(&r->config, fds, 1, &process, error, error_size, &failed_errno);
        if (failure == CSANDBOX_EXEC) {
            say("devenv: error: %s", error);
            result = failed_errno == ENOENT ? 127 : 126;
        } else if (!failure) {
            result = csandbox_wait(&process, owns_terminal);
        }
    }
    for (int i = 0; i < opened && i < CSANDBOX_NAMESPACE_COUNT; i++)
        if (fds[i] >= 0) close(fds[i]);
    return result;
}

/* `run` or `enter` from the record, which this frees: 1 with the command's exit status in
 * `*status`, or 0 (a miss). */
static int start_from_record(struct record *r, const struct invocation *inv, const struct place *place, const char *key,
                             const char *path, int *status) {
    /* Held before the layers are checked: from here on gc deletes none of them. A joined
     * environment's supervisor holds its own. */
    int join = r->join;
    char held[PATH_MAX] = "";
    int hold = join ? -1 : claunch_hold_layers(r->config.layers_dir, r->config.lowers, r->config.lower_count, held, sizeof held);
    if (hold < 0 && !join) {
        record_free(r);
        return miss("cannot mark the layers in use");
    }
    char why[PATH_MAX + 64], cwd[PATH_MAX], error[1024];
    const char *reason = stale(r, key, place->core, why, sizeof why);
    if (!reason && !inside_directory(place, r->mount_point, cwd, sizeof cwd)) reason = "the working directory is not below the project";
    if (!reason) {
        if (tracing()) say(r->join ? "devenv: fast start from %s (joining the running environment)" : "devenv: fast start from %s", path);
        *status = r->join ? join_record(r, inv, cwd, error, sizeof error) : run_record(r, inv, cwd, error, sizeof error);
    }
    claunch_release_layers(hold, held);
    record_free(r);
    if (reason) return miss(reason);
    if (*status >= 0) return 1;
    /* Nothing ran. Whatever made the recorded sandbox fail (a damaged record, a host that
     * changed in a way no check covers), the full start decides afresh and says what is wrong. */
    unlink(path);
    snprintf(why, sizeof why, join ? "the running environment could not be joined (%s)" : "the recorded sandbox failed to start (%s)", error);
    return miss(why);
}

int claunch_try(int argc, char **argv, int *status) {
    struct invocation inv;
    if (!parse(argc, argv, &inv)) {
        int starts = argc > 1 && (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "enter") == 0
                                  || strcmp(argv[1], "build") == 0 || strcmp(argv[1], "status") == 0);
        return starts ? miss("options the fast start does not handle") : 0;
    }
    struct place place;
    char key[CLAUNCH_KEY_SIZE], path[PATH_MAX + 64];
    const char *reason = locate(&inv, &place);
    if (!reason) reason = invocation_key(&inv, &place, key, sizeof key);
    if (!reason) reason = record_path(place.store, key, path, sizeof path);
    if (reason) return miss(reason);
    /* From here on a miss is told where devenv-core should write the record. */
    if (setenv(CLAUNCH_RECORD_VARIABLE, path, 1) < 0 || setenv(CLAUNCH_KEY_VARIABLE, key, 1) < 0) return miss("out of memory");

    struct record record;
    char why[PATH_MAX + 64];
    if (record_read(path, &record, why, sizeof why) < 0) return miss(why);
    if (record.answer || inv.answers) return answer(&record, &inv, key, place.core, path, status);
    return start_from_record(&record, &inv, &place, key, path, status);
}

int claunch_exec_core(char **argv) {
    char core[PATH_MAX];
    if (!core_path(core, sizeof core)) {
        say("devenv: error: cannot find devenv-core: readlink /proc/self/exe: %s", strerror(errno));
        return 3;
    }
    execv(core, argv);
    say("devenv: error: cannot run %s: %s (devenv-core belongs next to the devenv executable)", core, strerror(errno));
    return 3;
}
