/*
 * What the runtime said on its stderr while it ran (create, run, exec,
 * restore): the last bytes of it, kept for the error report of a runtime that
 * failed without an error in its log.
 */
#ifndef BERTH_RUNTIME_WORDS_H
#define BERTH_RUNTIME_WORDS_H

#include <stddef.h>
#include <sys/types.h>

/* Keeps the last WORDS_MAX bytes of everything added. */
#define WORDS_MAX 512

void words_add(const char *p, size_t n);
/* Adds what a file holds from offset `from` on (a runtime that wrote into the process's file). */
void words_add_file(const char *path, off_t from);
/*
 * The last lines kept, one line: empty lines dropped, the others joined by
 * "; ", a cut at the start marked with an ellipsis; empty when nothing was said.
 */
void words_last_lines(char *out, size_t cap);

#endif
