/* snapshot.c without its set-up: the perf baseline for snapshots. */
#define NO_SETUP
#include "snapshot.c"
