/*
 * `berth-shim --spawner`: a small resident process that starts shims for the
 * library, so that a large Node process does not fork itself for each one
 * (a fork copies its page tables: milliseconds each, on its event loop).
 */
#ifndef BERTH_SPAWNER_H
#define BERTH_SPAWNER_H

/* Serves requests on stdin until it closes; see spawner.c for the protocol. */
int spawner_main(void);

#endif
