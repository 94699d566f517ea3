#include "exit_guard.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* One guard per process: the tools are single-threaded where they call plugins. */
static const char *guard_tool;
static int guard_armed, guard_registered;
static char guard_doing[512] = "starting";

static void on_exit_while_armed(void) {
    if (!guard_armed) return;
    fprintf(stderr, "%s: a plugin ended the process with exit() while %s; the output is incomplete\n", guard_tool,
            guard_doing);
    fflush(stderr);
    _exit(1); /* not the plugin's status: an exit from inside a plugin is a failure */
}

void attn_tool_exit_guard_arm(const char *tool) {
    guard_tool = tool;
    guard_armed = 1;
    if (!guard_registered) guard_registered = atexit(on_exit_while_armed) == 0;
}

void attn_tool_exit_guard_doing(const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(guard_doing, sizeof guard_doing, format, args);
    va_end(args);
}

void attn_tool_exit_guard_disarm(void) { guard_armed = 0; }
