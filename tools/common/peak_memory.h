/* Peak resident memory of this process, for the memory bench and the memory test: both
 * reset the high-water mark, run a problem, and read how far it rose.  Linux only. */
#ifndef SYNAPTIC_MANUAL_PEAK_MEMORY_H
#define SYNAPTIC_MANUAL_PEAK_MEMORY_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A field of /proc/self/status in KiB ("VmHWM:", "VmRSS:"), or -1. */
static inline long status_kib(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long value = -1;
    size_t len = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, len) == 0) {
            value = strtol(line + len, NULL, 10);
            break;
        }
    fclose(f);
    return value;
}

/* Resets VmHWM to the current resident set ("5" to clear_refs); 0 on success. */
static inline int reset_peak(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return -1;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

#endif
