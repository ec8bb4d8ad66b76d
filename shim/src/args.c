#include <stdarg.h>
#include <string.h>

#include "args.h"
#include "fmt.h"
#include "util.h"

#define DEFAULT_STDIO_TIMEOUT_MS 10000
/* How long a reader may accept nothing, once the process exited, before its
 * output is given up on: long enough for a supervisor that is busy or being
 * restarted; bounded because one that stopped reading would hold the exit
 * report back forever. */
#define DRAIN_STALL_MS 30000

static const char *usage_err;

static void usage(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void usage(const char *format, ...)
{
	static char buf[256];
	if (usage_err)
		return;
	va_list ap;
	va_start(ap, format);
	fmt_v(buf, sizeof buf, format, ap);
	va_end(ap);
	usage_err = buf;
}

const char *mode_verb(enum shim_mode mode)
{
	switch (mode) {
	case MODE_EXEC:
		return "exec";
	case MODE_RESTORE:
		return "restore";
	case MODE_RUN:
		return "run";
	default:
		return "create";
	}
}

const char *args_parse(int argc, char **argv, struct options *o)
{
	const char *pos[3];
	int npos = 0;
	memset(o, 0, sizeof *o);
	o->stdio_timeout_ms = DEFAULT_STDIO_TIMEOUT_MS;
	o->drain_timeout_ms = DRAIN_STALL_MS;
	o->ready_fd = -1;
	usage_err = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) || !a[2]) {
			if (npos == 3)
				usage("unexpected argument \"%s\"", a);
			else
				pos[npos++] = a;
			continue;
		}
		const char *eq = strchr(a, '=');
		int nl = eq ? (int)(eq - a) : (int)strlen(a);
		const char *val = eq ? eq + 1 : NULL;
		bool flag = false;
#define IS(name) ((size_t)nl == sizeof(name) - 1 && !strncmp(a, name, (size_t)nl))
		if (IS("--terminal") || IS("--no-pivot") || IS("--oom") || IS("--self-delete") ||
		    IS("--version")) {
			flag = true;
			if (val) {
				usage("%.*s takes no value", nl, a);
				continue;
			}
		} else if (!IS("--mode") && !IS("--stdin") && !IS("--stdout") && !IS("--stderr") &&
			   !IS("--runtime-arg") && !IS("--restore-arg") && !IS("--checkpoint") &&
			   !IS("--stdio-timeout") && !IS("--drain-timeout") && !IS("--ready-fd")) {
			usage("unknown option %.*s", nl, a);
			continue;
		}
		if (!flag && !val) {
			if (i + 1 >= argc) {
				usage("%.*s needs a value", nl, a);
				break;
			}
			val = argv[++i];
		}
		long v;
		if (IS("--terminal")) {
			o->terminal = true;
		} else if (IS("--no-pivot")) {
			o->no_pivot = true;
		} else if (IS("--oom")) {
			o->oom = true;
		} else if (IS("--self-delete")) {
			o->self_delete = true;
		} else if (IS("--version")) {
			o->version = true;
		} else if (IS("--mode")) {
			if (!strcmp(val, "create"))
				o->mode = MODE_CREATE;
			else if (!strcmp(val, "run"))
				o->mode = MODE_RUN;
			else if (!strcmp(val, "exec"))
				o->mode = MODE_EXEC;
			else if (!strcmp(val, "restore"))
				o->mode = MODE_RESTORE;
			else
				usage("--mode must be create, run, exec or restore, not \"%s\"",
				      val);
		} else if (IS("--stdin")) {
			o->stdin_path = val;
		} else if (IS("--stdout")) {
			o->stdout_path = val;
		} else if (IS("--stderr")) {
			o->stderr_path = val;
		} else if (IS("--runtime-arg")) {
			if (o->n_runtime_args == MAX_EXTRA_ARGS)
				usage("more than %d --runtime-arg", MAX_EXTRA_ARGS);
			else
				o->runtime_args[o->n_runtime_args++] = val;
		} else if (IS("--restore-arg")) {
			if (o->n_restore_args == MAX_EXTRA_ARGS)
				usage("more than %d --restore-arg", MAX_EXTRA_ARGS);
			else
				o->restore_args[o->n_restore_args++] = val;
		} else if (IS("--checkpoint")) {
			o->checkpoint = val;
		} else if (IS("--stdio-timeout")) {
			if (!parse_long(val, &v) || v < 0 || v > 86400000)
				usage("--stdio-timeout must be a number of milliseconds, not \"%s\"",
				      val);
			else
				o->stdio_timeout_ms = v;
		} else if (IS("--drain-timeout")) {
			if (!parse_long(val, &v) || v < 0 || v > 86400000)
				usage("--drain-timeout must be a number of milliseconds, not \"%s\"",
				      val);
			else
				o->drain_timeout_ms = v;
		} else if (IS("--ready-fd")) {
			if (!parse_long(val, &v) || v < 0 || v > 0x7fffffff)
				usage("--ready-fd must be a descriptor number, not \"%s\"", val);
			else
				o->ready_fd = (int)v;
		}
#undef IS
	}
	/* Tools ask for the version without a container to run. */
	if (o->version)
		return NULL;
	if (npos != 3) {
		usage("usage: berth-shim [OPTIONS] CONTAINER_ID BUNDLE RUNTIME");
		return usage_err;
	}
	o->id = pos[0];
	o->bundle = pos[1];
	o->runtime = pos[2];
	if (!*o->id || !*o->runtime)
		usage("container id and runtime must not be empty");
	else if (o->mode == MODE_RESTORE && (!o->checkpoint || !*o->checkpoint))
		usage("--mode restore needs --checkpoint");
	return usage_err;
}
