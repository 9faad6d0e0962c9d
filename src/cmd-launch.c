/*
 * cmd-launch.c: "pyprime launch": run a module or script through a
 * preloaded server, or through /usr/bin/python3 when none can.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "launch.h"
#include "preload.h"
#include "util.h"

static const char usage[] =
	"usage: pyprime launch [--socket path | NAME] [--no-fallback]\n"
	"                      [--python-flags flags] [--memory file]\n"
	"                      (-m module | script) [args...]\n";

static const char help[] =
	"\n"
	"Run a module or script as python3 would, in a child of the server\n"
	"started by \"pyprime preload NAME\": its arguments, environment,\n"
	"directory, umask and standard input, output and error are this\n"
	"process's, signals sent to this process reach it, and this process\n"
	"ends as it does.  Without a server that can run it, /usr/bin/python3\n"
	"runs it instead, in this process.\n"
	"\n"
	"      --socket path         the server's socket (default:\n"
	"                            $XDG_RUNTIME_DIR/pyprime/NAME)\n"
	"      --no-fallback         fail (status 1) rather than run python3\n"
	"      --python-flags flags  python3's options the app runs with, as\n"
	"                            one argument (\"-O -X dev\"): the server's\n"
	"                            must be the same\n"
	"      --memory file         the child writes its /proc/self/smaps_rollup\n"
	"                            to file as it ends, after its atexit\n"
	"                            handlers (left empty when python3 runs)\n"
	"  -m module                 run the module, as \"python3 -m\"\n"
	"  -h, --help                show this help\n";

enum { OPT_SOCKET = 256, OPT_NO_FALLBACK, OPT_PYTHON_FLAGS, OPT_MEMORY };

static const struct option longopts[] = {
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "no-fallback", no_argument, NULL, OPT_NO_FALLBACK },
	{ "python-flags", required_argument, NULL, OPT_PYTHON_FLAGS },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cmd_launch(int argc, char **argv)
{
	struct launch_opts o = { .memory_fd = -1 };
	const char *socket = NULL, *name = NULL, *memory = NULL;
	char *path = NULL;
	size_t nflags = 0;
	int c, ret;

	o.python_flags = xcalloc(1, sizeof(char *));
	optind = 1;
	for (;;) {
		c = parse_option(argc, argv, "+hm:", longopts, usage);
		if (c == -1) {
			/* NAME comes before the module or script. */
			if (optind < argc && !name && !socket && !o.module &&
			    argc - optind > 1) {
				name = argv[optind++];
				continue;
			}
			break;
		}
		switch (c) {
		case OPT_SOCKET:
			socket = optarg;
			break;
		case OPT_NO_FALLBACK:
			o.no_fallback = 1;
			break;
		case OPT_PYTHON_FLAGS:
			o.python_flags = add_words(o.python_flags, &nflags,
						   optarg);
			break;
		case OPT_MEMORY:
			memory = optarg;
			break;
		case 'm':
			o.module = 1;
			o.target = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			fputs(help, stdout);
			ret = 0;
			goto out;
		default:
			ret = 2;
			goto out;
		}
		if (o.module)
			break;
	}
	if (socket && name) {
		ret = usage_error(usage, "a server NAME or --socket, not both");
		goto out;
	}
	if (!o.module) {
		if (optind >= argc) {
			ret = usage_error(usage, "no module or script to run");
			goto out;
		}
		o.target = argv[optind++];
	}
	if (!socket && !name) {
		ret = usage_error(usage, "no server NAME or --socket");
		goto out;
	}
	o.args = argv + optind;
	if (memory) {
		o.memory_fd = open(memory, O_WRONLY | O_CREAT | O_TRUNC |
				   O_CLOEXEC, 0666);
		if (o.memory_fd < 0) {
			error_errno("cannot open '%s'", memory);
			ret = 1;
			goto out;
		}
	}
	/* No XDG_RUNTIME_DIR (a bare session): python3, without a word
	 * unless asked to fail. */
	if (socket)
		o.socket = socket;
	else if (getenv("XDG_RUNTIME_DIR") || o.no_fallback)
		o.socket = path = preload_socket_path(name, 0);
	ret = launch_run(&o);
out:
	free(path);
	free_strings(o.python_flags);
	return ret;
}
