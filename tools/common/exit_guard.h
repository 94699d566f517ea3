/* A plugin that calls exit() inside a tool would end it with the plugin's status (0: a silent
 * success) and a half-written output.  A tool arms this guard once its arguments are parsed and
 * disarms it just before main returns; an exit() in between prints what the tool was doing and
 * ends the process with status 1, a failure.  _exit() and signals bypass it: --isolate (each
 * backend in its own process) is the protection against those. */
#ifndef ATTN_TOOLS_EXIT_GUARD_H
#define ATTN_TOOLS_EXIT_GUARD_H

void attn_tool_exit_guard_arm(const char *tool);
/* What the tool is doing now, for the message ("running flex-cpu on <case>"). */
void attn_tool_exit_guard_doing(const char *format, ...) __attribute__((format(printf, 1, 2)));
void attn_tool_exit_guard_disarm(void);

#endif
