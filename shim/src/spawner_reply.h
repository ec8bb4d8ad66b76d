/* The spawner's answers on stdout; a failed write means the library is gone, and so is the spawner.
 */
#ifndef BERTH_SPAWNER_REPLY_H
#define BERTH_SPAWNER_REPLY_H

#include <stddef.h>

/* One line (a newline is added); longer than about 1.2 kB is cut. */
void reply(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* Raw bytes after a line that announced their length. */
void reply_bytes(const char *data, size_t len);
/* The request ID field as a number (digits only; anything else counts as 0). */
long parse_id(const char *field);

#endif
