/* Each test file's entry point, run in turn by unit.c. */
#ifndef BERTH_TEST_TESTS_H
#define BERTH_TEST_TESTS_H

void runc_state_tests(void);
void self_delete_tests(void);
void line_tests(void);
void args_tests(void);
void drain_tests(void);

#endif
