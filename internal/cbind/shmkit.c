// The C library, compiled into this package (cgo builds the .c files of a
// package's directory; the library's source stays in cgo/ for C users).
#include "../../cgo/shmkit.c"
