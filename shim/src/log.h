/* shim-log.json: the only place the shim reports to (it never writes to its stdio). */
#ifndef BERTH_LOG_H
#define BERTH_LOG_H

void log_open(void);
void log_msg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_info(...) log_msg("info", __VA_ARGS__)
#define log_warn(...) log_msg("warn", __VA_ARGS__)
#define log_error(...) log_msg("error", __VA_ARGS__)

#endif
