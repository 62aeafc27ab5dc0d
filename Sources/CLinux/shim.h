/* Linux headers Swift's Glibc module leaves out. Declarations only; everything is in libc. */
#include <sys/xattr.h>
#include <sys/sysmacros.h>
