#ifndef CDISCOVERY_H
#define CDISCOVERY_H

#include <stddef.h>

/* The working tree of the git repository containing `start` (an absolute, physical directory),
 * as libgit2's discovery finds it without crossing a file system boundary: the nearest
 * directory with a `.git` directory (holding HEAD and objects) or a `.git` file ("gitdir: …").
 * Writes it to `out` and returns 1, or returns 0 outside a repository. */
int cdiscovery_work_tree(const char *start, char *out, size_t out_size);

#endif
