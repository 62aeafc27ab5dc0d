/* The launcher's side of the fast start (claunch.h): understand the command line, find the
 * record, check it, run it. Anything it does not understand exactly as devenv-core would goes
 * to devenv-core unchanged. */
#define _GNU_SOURCE
#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

extern char **environ;

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

/* newuidmap/newgidmap PID INSIDE OUTSIDE COUNT…, from the map's lines. */
static int run_map_helper(const char *helper, pid_t pid, const char *map, char *error, size_t size) {
    char *args[3 * 340 + 3];
    char pid_text[16], numbers[4096];
    size_t count = 0;
    snprintf(pid_text, sizeof pid_text, "%d", (int)pid);
    if (!copy(numbers, sizeof numbers, map)) {
        snprintf(error, size, "the id map is too long");
        return -1;
    }
    args[count++] = (char *)helper;
    args[count++] = pid_text;
    for (char *save = NULL, *word = strtok_r(numbers, " \n", &save); word; word = strtok_r(NULL, " \n", &save)) {
        if (count >= sizeof args / sizeof *args - 1) {
            snprintf(error, size, "the id map has too many ranges");
            return -1;
        }
        args[count++] = word;
    }
    args[count] = NULL;
    pid_t child;
    int spawned = posix_spawn(&child, helper, NULL, NULL, args, environ);
    int status = 0;
    if (spawned == 0) while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    if (spawned != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(error, size, "%s %s failed%s%s (check the user's lines in /etc/subuid and /etc/subgid)",
                 helper, pid_text, spawned ? ": " : "", spawned ? strerror(spawned) : "");
        return -1;
    }
    return 0;
}

static int apply_maps(const struct record *r, pid_t pid, char *error, size_t size) {
    switch (r->id_mode) {
    case CLAUNCH_ID_SINGLE:
        /* An unprivileged process may map its own gid only after giving up setgroups. */
        if (csandbox_write_map(pid, "setgroups", "deny", error, size) < 0) return -1;
        /* fall through */
    case CLAUNCH_ID_ROOT:
        if (csandbox_write_map(pid, "uid_map", r->uid_map, error, size) < 0) return -1;
        return csandbox_write_map(pid, "gid_map", r->gid_map, error, size);
    case CLAUNCH_ID_SUBORDINATE:
        if (run_map_helper(r->newuidmap, pid, r->uid_map, error, size) < 0) return -1;
        return run_map_helper(r->newgidmap, pid, r->gid_map, error, size);
    default:
        snprintf(error, size, "unknown id mapping");
        return -1;
    }
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
    if (apply_maps(r, process.pid, error, error_size) < 0) {
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

int claunch_try(int argc, char **argv, int *status) {
    struct invocation inv;
    if (!parse(argc, argv, &inv)) {
        int starts = argc > 1 && (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "enter") == 0
                                  || strcmp(argv[1], "build") == 0 || strcmp(argv[1], "status") == 0);
        return starts ? miss("options the fast start does not handle") : 0;
    }

    char start[PATH_MAX], project[PATH_MAX], found[PATH_MAX], store[PATH_MAX], core[PATH_MAX];
    if (inv.directory) {
        struct stat info;
        if (!realpath(inv.directory, start) || stat(start, &info) < 0 || !S_ISDIR(info.st_mode)) return miss("-C is not a directory");
    } else if (!getcwd(start, sizeof start)) {
        return miss("no working directory");
    }
    if (claunch_discover_work_tree(start, found, sizeof found)) {
        if (!realpath(found, project)) return miss("the repository's path cannot be resolved");
    } else if (!copy(project, sizeof project, start)) {
        return miss("path too long");
    }
    if (strcmp(project, "/") == 0) return miss("the project would be /");
    if (!store_root(&inv, start, store, sizeof store)) return miss("no store location");
    if (!store_private(store)) return miss("the store is not the caller's alone");
    char core_found[PATH_MAX];
    if (!core_path(core_found, sizeof core_found) || !realpath(core_found, core)) return miss("cannot find devenv-core");

    char key[4 * PATH_MAX + 128];
    int n = inv.answers
        ? snprintf(key, sizeof key, "devenv-launch %u\n%s\n%s\n%s\n\nlocked=%d json=%d quiet=%d", RECORD_VERSION, inv.verb,
                   store, project, inv.locked, inv.json, inv.quiet)
        : snprintf(key, sizeof key, "devenv-launch %u\n%s\n%s\n%s\n%s\nroot=%d network=%s quiet=%d", RECORD_VERSION,
                   inv.enter ? "enter" : "run", store, project, inv.image ? inv.image : "", inv.root,
                   inv.network ? inv.network : "", inv.quiet);
    if (n < 0 || (size_t)n >= sizeof key) return miss("path too long");
    /* Five newlines of its own; one more is a path's. */
    size_t newlines = 0;
    for (const char *c = key; *c; c++) newlines += *c == '\n';
    if (newlines != 5) return miss("a path has a newline in it");

    /* The caller's variables the sandbox's environment is made from (PATH and what
     * EnvironmentSession passes through) name the record too: two shells with different ones,
     * say two terminal types, keep a record each instead of replacing each other's. The record
     * still checks them; this only picks which one to look at. */
    static const char *const named_by[] = {"PATH", "TERM", "LANG", "TZ", "COLORTERM"};
    uint64_t name = fnv1a(FNV_OFFSET, key, strlen(key));
    for (size_t i = 0; i < sizeof named_by / sizeof *named_by; i++) {
        const char *value = getenv(named_by[i]);
        name = fnv1a(name, value ? "=" : "-", 1);
        if (value) name = fnv1a(name, value, strlen(value) + 1);
    }
    char path[PATH_MAX + 64];
    n = snprintf(path, sizeof path, "%s/envs/.launch/%016llx", store, (unsigned long long)name);
    if (n < 0 || (size_t)n >= sizeof path) return miss("path too long");
    /* From here on a miss is told where devenv-core should write the record. */
    if (setenv(CLAUNCH_RECORD_VARIABLE, path, 1) < 0 || setenv(CLAUNCH_KEY_VARIABLE, key, 1) < 0) return miss("out of memory");

    struct record record;
    char why[PATH_MAX + 64];
    if (record_read(path, &record, why, sizeof why) < 0) return miss(why);
    if (record.answer || inv.answers) return answer(&record, &inv, key, core, path, status);
    /* Held before the layers are checked: from here on gc deletes none of them. */
    char held[PATH_MAX];
    int hold = claunch_hold_layers(record.config.layers_dir, record.config.lowers, record.config.lower_count, held, sizeof held);
    if (hold < 0) {
        record_free(&record);
        return miss("cannot mark the layers in use");
    }
    const char *reason = stale(&record, key, core, why, sizeof why);
    if (reason) {
        claunch_release_layers(hold, held);
        record_free(&record);
        return miss(reason);
    }
    /* The working directory inside: the same place below the project's mount point (the
     * start directory is the project or below it: discovery walked up from there). */
    char cwd[PATH_MAX];
    size_t project_length = strlen(project);
    if (strncmp(start, project, project_length) != 0 || (start[project_length] && start[project_length] != '/')
        || !join(cwd, sizeof cwd, record.mount_point, start + project_length)) {
        claunch_release_layers(hold, held);
        record_free(&record);
        return miss("the working directory is not below the project");
    }
    if (tracing()) say("devenv: fast start from %s", path);
    char error[1024];
    *status = run_record(&record, &inv, cwd, error, sizeof error);
    claunch_release_layers(hold, held);
    record_free(&record);
    if (*status >= 0) return 1;
    /* Nothing ran. Whatever made the recorded sandbox fail (a damaged record, a host that
     * changed in a way no check covers), the full start decides afresh and says what is wrong. */
    unlink(path);
    snprintf(why, sizeof why, "the recorded sandbox failed to start (%s)", error);
    return miss(why);
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
