/* Layers in use: what keeps `devenv gc` and a `build --no-cache` from deleting a layer directory
 * under a running sandbox. The launcher (a fast start) and devenv-core (a full start) both call
 * these, so the two cannot disagree on the protocol. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "claunch.h"

static int in_use_path(char *out, size_t size, const char *layers_dir, const char *name) {
    int n = snprintf(out, size, "%s/" CLAUNCH_IN_USE_DIRECTORY "%s%s", layers_dir, *name ? "/" : "", name);
    return n > 0 && (size_t)n < size;
}

static int lock_fd(int fd, int operation) {
    while (flock(fd, operation) < 0) {
        if (errno != EINTR) return -1;
    }
    return 0;
}

/* The store-wide lock: shared while a sandbox registers, exclusive while gc decides and deletes,
 * so a hold is either seen by gc or made after gc is done (and then finds its layers gone). */
static int open_guard(const char *layers_dir, int operation) {
    char path[PATH_MAX];
    if (!in_use_path(path, sizeof path, layers_dir, "")) { errno = ENAMETOOLONG; return -1; }
    if (mkdir(path, 0700) < 0 && errno != EEXIST) return -1;
    if (!in_use_path(path, sizeof path, layers_dir, ".lock")) { errno = ENAMETOOLONG; return -1; }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return -1;
    if (lock_fd(fd, operation) < 0) {
        int error = errno;
        close(fd);
        errno = error;
        return -1;
    }
    return fd;
}

/* Writes the names, one a line, to the hold's file. */
static int write_names(int fd, const char *const *names, size_t count) {
    for (size_t i = 0; i < count; i++) {
        if (dprintf(fd, "%s\n", names[i]) < 0) return -1;
    }
    return 0;
}

int claunch_hold_layers(const char *layers_dir, const char *const *names, size_t count, char *held, size_t held_size) {
    int guard = open_guard(layers_dir, LOCK_SH);
    if (guard < 0) return -1;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char name[64];
    snprintf(name, sizeof name, "%ld.%lld.%ld", (long)getpid(), (long long)now.tv_sec, now.tv_nsec);
    int fd = -1, error = ENAMETOOLONG;
    if (in_use_path(held, held_size, layers_dir, name)) {
        fd = open(held, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        error = errno;
        if (fd >= 0 && (lock_fd(fd, LOCK_SH) < 0 || write_names(fd, names, count) < 0)) {
            error = errno;
            close(fd);
            unlink(held);
            fd = -1;
        }
    }
    close(guard);
    errno = error;
    return fd;
}

void claunch_release_layers(int fd, const char *held) {
    if (fd < 0) return;
    unlink(held);
    close(fd);
}

int claunch_layers_in_use(const char *layers_dir, char **names) {
    *names = NULL;
    int guard = open_guard(layers_dir, LOCK_EX);
    if (guard < 0) return -1;
    char path[PATH_MAX];
    DIR *directory = in_use_path(path, sizeof path, layers_dir, "") ? opendir(path) : NULL;
    size_t length = 0, capacity = 256;
    char *all = directory ? malloc(capacity) : NULL;
    if (!all) {
        int error = directory ? ENOMEM : errno;
        if (directory) closedir(directory);
        close(guard);
        errno = error;
        return -1;
    }
    all[0] = '\0';
    struct dirent *entry;
    while ((entry = readdir(directory))) {
        if (entry->d_name[0] == '.') continue;
        int fd = openat(dirfd(directory), entry->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) continue;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            /* Nobody holds it: its sandbox is gone (a killed devenv leaves the file). */
            unlinkat(dirfd(directory), entry->d_name, 0);
            close(fd);
            continue;
        }
        char buffer[4096];
        ssize_t n;
        while ((n = read(fd, buffer, sizeof buffer)) > 0) {
            if (length + (size_t)n + 1 > capacity) {
                while (length + (size_t)n + 1 > capacity) capacity *= 2;
                char *grown = realloc(all, capacity);
                if (!grown) {
                    free(all);
                    close(fd);
                    closedir(directory);
                    close(guard);
                    errno = ENOMEM;
                    return -1;
                }
                all = grown;
            }
            memcpy(all + length, buffer, (size_t)n);
            length += (size_t)n;
            all[length] = '\0';
        }
        close(fd);
    }
    closedir(directory);
    *names = all;
    return guard;
}
