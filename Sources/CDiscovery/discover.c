/* Project discovery: the one implementation, used by the launcher (CLaunch) and (through the Git
 * module) by devenv-core, so both always agree on which project a directory belongs to; a
 * target of its own so that neither depends on the other for it. It walks up
 * the way git_repository_discover does instead of calling libgit2, whose initialisation alone
 * (its TLS backend parses the whole CA bundle) would cost more than a fast start. */
#define _GNU_SOURCE
#include "cdiscovery.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* `directory/.git` is a repository (a directory with HEAD and objects) or a linked worktree's
 * or submodule's pointer file ("gitdir: …"). */
static int is_work_tree(const char *directory) {
    char path[PATH_MAX];
    size_t length = strlen(directory);
    if (length + sizeof "/.git/objects" > sizeof path) return 0;
    memcpy(path, directory, length);
    if (length == 1) length = 0; /* "/" */
    memcpy(path + length, "/.git", sizeof "/.git");
    struct stat info;
    if (lstat(path, &info) < 0) return 0;
    if (S_ISDIR(info.st_mode)) {
        memcpy(path + length + 5, "/HEAD", sizeof "/HEAD");
        if (access(path, F_OK) < 0) return 0;
        memcpy(path + length + 5, "/objects", sizeof "/objects");
        return access(path, F_OK) == 0;
    }
    if (!S_ISREG(info.st_mode)) return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return 0;
    char head[8];
    ssize_t n = read(fd, head, sizeof head);
    close(fd);
    return n == (ssize_t)sizeof head && memcmp(head, "gitdir: ", sizeof head) == 0;
}

int cdiscovery_work_tree(const char *start, char *out, size_t out_size) {
    char directory[PATH_MAX];
    size_t length = strlen(start);
    if (length == 0 || length >= sizeof directory) return 0;
    memcpy(directory, start, length + 1);
    if (length > 1 && directory[length - 1] == '/') directory[--length] = '\0';
    struct stat info;
    if (stat(directory, &info) < 0) return 0;
    dev_t device = info.st_dev;
    for (;;) {
        if (is_work_tree(directory)) {
            if (strlen(directory) >= out_size) return 0;
            strcpy(out, directory);
            return 1;
        }
        char *slash = strrchr(directory, '/');
        if (!slash || strcmp(directory, "/") == 0) return 0;
        if (slash == directory) slash[1] = '\0';
        else *slash = '\0';
        if (stat(directory, &info) < 0 || info.st_dev != device) return 0;
    }
}
