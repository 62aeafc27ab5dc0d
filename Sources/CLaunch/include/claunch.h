#pragma once
/*
 * The fast start of `devenv run` and `devenv enter` (docs/architecture.md, "Process picture":
 * "The launcher and launch records").
 *
 * The `devenv` executable is a small C program. For `run`/`enter` it finds the project and the
 * store the way devenv does, and looks for a launch record: the flat sandbox config a previous
 * full start of the same invocation wrote, with the inputs it was computed from (the manifest,
 * the lock, the layers, the user database, the caller's variables, the devenv binary itself…).
 * When every input is unchanged it runs the sandbox straight from the record, in C; otherwise,
 * and for every other command, it execs `devenv-core` (the Swift program, next to it), telling
 * it where to write a new record. A record is only ever a cache: removing it costs one full start.
 */
#include <limits.h>
#include <stddef.h>
#include <time.h>

#include "csandbox.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The environment variables the launcher hands devenv-core with a miss: where to write the
 * record, and the invocation it is for (its key, claunch_key). */
#define CLAUNCH_RECORD_VARIABLE "DEVENV_LAUNCH_RECORD"
#define CLAUNCH_KEY_VARIABLE "DEVENV_LAUNCH_KEY"
/* Set (to anything) to have the launcher say on stderr whether it started from a record. */
#define CLAUNCH_TRACE_VARIABLE "DEVENV_TRACE_START"

/* How a path the config was computed from is compared with what the launcher finds. */
enum claunch_check_kind {
    CLAUNCH_CONTENT = 1,    /* same file: device, inode, size, mode, mtime and ctime (or still absent) */
    CLAUNCH_IDENTITY = 2,   /* same inode (or still absent): immutable things such as layer directories */
    CLAUNCH_DIRECTORY = 3,  /* a directory exists there */
};

/* What names an invocation, as the launcher reads its command line and devenv-core its own:
 * a record is written only for the key the launcher asked for, and followed only when the key is
 * the same again. */
struct claunch_key_fields {
    const char *verb;       /* run or enter; build or status (an answer record) */
    const char *store;      /* the store's root */
    const char *project;    /* the project's directory */
    const char *image;      /* run, enter: --image; NULL for none */
    const char *network;    /* run, enter: --network; NULL for none */
    int root;               /* run, enter: --root */
    int locked;             /* build: --locked */
    int json;               /* status: --json */
    int quiet;
};

/* Room for any key the launcher makes: four paths and the rest. */
enum { CLAUNCH_KEY_SIZE = 4 * PATH_MAX + 128 };

enum claunch_key_result {
    CLAUNCH_KEY_MADE = 0,
    CLAUNCH_KEY_TOO_LONG = 1,   /* it does not fit in `size` */
    CLAUNCH_KEY_NEWLINE = 2,    /* a field has a newline, which would make it another key's */
};

/* Writes the key of `fields` to `out`:
 *   "devenv-launch <record version>\n<verb>\n<store>\n<project>\n<image>\nroot=R network=N quiet=Q"
 * for run and enter, and for build and status
 *   "devenv-launch <record version>\n<verb>\n<store>\n<project>\n\nlocked=L json=J quiet=Q".
 * Returns an enum claunch_key_result. */
int claunch_key(const struct claunch_key_fields *fields, char *out, size_t size);

/* The caller's variables a run/enter session takes as they are (EnvironmentSession), i-th from
 * 0, NULL past the last. Besides PATH they name the record (two terminal types keep a record
 * each) and the record checks them; one list so the launcher names records by exactly what the
 * session passes through. */
const char *claunch_passed_variable(size_t i);

/* What a full start knows besides the sandbox config. */
struct claunch_record_input {
    const char *key;                    /* the launcher's DEVENV_LAUNCH_KEY */
    const char *core_path;              /* the devenv-core that computed this */
    const char *project_dir;            /* on the host */
    const char *mount_point;            /* where project_dir is inside */
    int foreground;                     /* the command wants the terminal (enter's shell) */
    const char *notes;                  /* printed on stderr before each start; "" for none */

    const char *const *check_paths;
    const int *check_kinds;             /* enum claunch_check_kind, one per path */
    size_t check_count;
    const char *const *variables;       /* the caller's variables the config depends on */
    size_t variable_count;

    int id_mode;                        /* enum csandbox_id_mode */
    const char *uid_map;                /* "inside outside count" lines */
    const char *gid_map;
    const char *newuidmap;              /* helper paths for CSANDBOX_ID_SUBORDINATE */
    const char *newgidmap;

    /* Files changed at or after this instant may have changed after they were read: with one
     * of them among the checks, no record is written (the next start writes it). */
    struct timespec not_after;

    /* A join record: the command joins the running environment whose namespaces process
     * `join_holder` (started at `join_holder_start`, /proc/PID/stat's field 22) holds open as
     * `join_fds` (csandbox_namespace_name's order; -1: the caller's own). */
    int join;
    int join_holder;
    unsigned long long join_holder_start;
    int join_fds[CSANDBOX_NAMESPACE_COUNT];
};

/* Writes the record for `config` (argv is enter's shell; cwd, stdio and foreground are the
 * launcher's to decide) atomically at `path`. Returns 0 when written, 1 when skipped because an
 * input changed too recently, -1 with a message in `error`. */
int claunch_record_write(const char *path, const struct csandbox_config *config,
                         const struct claunch_record_input *input, char *error, size_t error_size);

/* Writes an answer record at `path`: what `build` or `status` printed for an up-to-date project
 * (`out` on stdout, `err` on stderr) and its exit status, valid while the inputs in `input` are
 * unchanged (its sandbox fields are not used). Returns as claunch_record_write. */
int claunch_answer_write(const char *path, const struct claunch_record_input *input, const char *out, const char *err,
                         int status, char *error, size_t error_size);

/* Layers in use. A sandbox holds its layers for as long as it runs: a file in
 * `<layers_dir>/.in-use/` naming them one a line, under a shared flock the kernel drops when the
 * process ends. gc and a rebuild delete no layer a live hold names. */
#define CLAUNCH_IN_USE_DIRECTORY ".in-use"

/* Registers a hold on `names` (directories in `layers_dir`); returns its descriptor (keep it open
 * while the sandbox runs) and writes the hold's path to `held`, or -1 with errno. */
int claunch_hold_layers(const char *layers_dir, const char *const *names, size_t count, char *held, size_t held_size);

/* Ends a hold (fd < 0: nothing to do). */
void claunch_release_layers(int fd, const char *held);

/* For deleting layers: takes the exclusive store-wide lock (no sandbox registers while it is
 * held; close the returned descriptor to release it), removes the holds of processes that are
 * gone, and sets `*names` to a malloc'd, newline-separated list of what live holds name. -1 with
 * errno on failure. */
int claunch_layers_in_use(const char *layers_dir, char **names);

/* The launcher: runs `argv` from a valid record and returns 1 with the exit status in `*status`,
 * or returns 0 when devenv-core has to do it (having set the record variables when it should
 * write one). */
int claunch_try(int argc, char **argv, int *status);

/* Execs devenv-core next to the running executable with `argv`; returns only on failure,
 * after saying why on stderr, with the exit status to use. */
int claunch_exec_core(char **argv);

#ifdef __cplusplus
}
#endif
