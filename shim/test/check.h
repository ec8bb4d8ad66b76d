/*
 * The C unit tests' whole harness: CHECK records a failure with its line and
 * goes on; each test file's cases are functions listed in unit.c.
 */
#ifndef BERTH_TEST_CHECK_H
#define BERTH_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

extern int check_failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__,       \
				__func__, #cond);                                                  \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)

#define CHECK_STR(got, want)                                                                       \
	do {                                                                                       \
		const char *got_ = (got), *want_ = (want);                                         \
		if (!got_ || strcmp(got_, want_)) {                                                \
			fprintf(stderr, "%s:%d: %s: got \"%s\", want \"%s\"\n", __FILE__,          \
				__LINE__, __func__, got_ ? got_ : "(null)", want_);                \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)

#endif
