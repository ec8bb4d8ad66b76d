/*
 * The shim's contract with the TypeScript library (../PROTOCOL.md), in one
 * place: names in the process folder, control message types, event lines on
 * the exit FIFO and readiness words. A test parses the #define lines of this
 * file and compares them with the TypeScript constants, so each stays on one
 * line with a plain string literal or decimal integer as its value, and no
 * other macro is defined here (hence no include guard macro).
 */
#pragma once

/* Files in the process folder (same names as containerd v0.2.8). */
#define EXIT_FIFO "exit"
#define CONTROL_FIFO "control"
#define EXIT_STATUS_FILE "exitStatus"
#define PID_FILE "pid"
#define START_TIME_FILE "starttime"
#define PROCESS_FILE "process.json"
#define RUNTIME_LOG_FILE "log.json"
#define SHIM_LOG_FILE "shim-log.json"
#define CONSOLE_SOCKET_FILE "console.sock"
#define CRIU_WORK_DIR "criu.work"
#define RUNTIME_DELETED_FILE "runtimeDeleted"

/* Control FIFO lines "TYPE WIDTH HEIGHT\n". */
#define CONTROL_CLOSE_STDIN 0
#define CONTROL_RESIZE 1
#define CONTROL_DISCARD_OUTPUT 2

/* Event lines on the exit FIFO: the first word of each line. */
#define EVENT_EXIT "exit"
#define EVENT_OOM "oom"
#define EVENT_LOST "lost"
#define EVENT_DELETED "deleted"

/* The one line on the ready fd starts with one of these. */
#define READY_OK "ok"
#define READY_ERROR "error"

/* Exit status when it cannot be known. */
#define UNKNOWN_STATUS 255
