/* Linux headers Swift's Glibc module leaves out. Declarations only; everything is in libc. */
#include <sys/xattr.h>
#include <sys/sysmacros.h>
#include <sys/fsuid.h>
#include <fcntl.h>

/* O_PATH needs _GNU_SOURCE, which Swift's Glibc module is not built with. */
static const int clinux_O_PATH = 010000000;
