/*
 * What the shim needs of runc's record of a container, `<root>/<id>/state.json`
 * (runc 1.1's libcontainer State): its id, its init's PID and the cgroup
 * directories it made (`cgroup_paths`, one per hierarchy; "" names the unified
 * one). This couples the shim to runc's state layout: only used for a runtime
 * named runc (see self_delete.h). Pure: no I/O, nothing allocated.
 */
#ifndef BERTH_RUNC_STATE_H
#define BERTH_RUNC_STATE_H

#include <stddef.h>

/* cgroup v1 has about a dozen hierarchies (and named ones); more is not runc's record. */
#define RUNC_MAX_CGROUP_PATHS 32

struct runc_state {
	const char *id;
	long long init_pid;
	const char *cgroup_paths[RUNC_MAX_CGROUP_PATHS];
	int n_cgroup_paths;
};

/*
 * Parses text[0..len) (JSON as Go writes it). The strings it returns are
 * unescaped in place, inside text. Returns 0, or -1 when the text is not a
 * JSON object, lacks id or init_process_pid, has more cgroup paths than
 * RUNC_MAX_CGROUP_PATHS, or holds a string escape other than ASCII (a path
 * berth does not guess at: runc's own delete handles it).
 */
int runc_state_parse(char *text, size_t len, struct runc_state *out);

#endif
