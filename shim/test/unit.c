/*
 * berth-shim's C unit tests (`make test`): the pure parts, linked against the
 * sanitizer-built objects so that an overrun fails the run too. Prints one
 * line per failed check; exits 1 if any failed.
 */
#include <stdio.h>

#include "check.h"
#include "tests.h"

int check_failures;

int main(void)
{
	static void (*const suites[])(void) = {
		runc_state_tests, self_delete_tests, line_tests, args_tests, drain_tests,
	};
	for (size_t i = 0; i < sizeof suites / sizeof *suites; i++)
		suites[i]();
	if (check_failures) {
		fprintf(stderr, "%d check(s) failed\n", check_failures);
		return 1;
	}
	printf("shim unit tests: all checks passed\n");
	return 0;
}
