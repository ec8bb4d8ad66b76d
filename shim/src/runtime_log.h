/* Why the runtime failed, in its own words, for the one-line readiness report. */
#ifndef BERTH_RUNTIME_LOG_H
#define BERTH_RUNTIME_LOG_H

#include <stddef.h>

/*
 * The msg of the last error line of log.json in the working directory, else
 * the last msg, as one line of plain text; "" when there is none.
 */
void runtime_last_error(char *out, size_t cap);

#endif
