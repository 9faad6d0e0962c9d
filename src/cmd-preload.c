/*
 * cmd-preload.c: "pyprime preload": start a server that has imported an
 * application's modules and forks a ready child for each launch.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "preload.h"
#include "util.h"

static const char usage[] =
	"usage: pyprime preload [-C dir] [--import mod,...] [--learn]\n"
	"                       [--socket path] [--idle-exit seconds]\n"
	"                       [--python-flags flags] [--no-spare]\n"
	"                       [--foreground] NAME\n";

static const char help[] =
	"\n"
	"Start an interpreter configured as /usr/bin/python3 is, with dir\n"
	"first on sys.path, import the modules, and serve \"pyprime launch\n"
	"NAME\" on a Unix socket: each launch is a fork of it.  It goes to the\n"
	"background once it is ready, its messages in the socket's path and\n"
	"\".log\".\n"
	"\n"
	"  -C dir                    the application's tree (default: the\n"
	"                            current directory)\n"
	"      --import mod,...      modules to import (may be repeated)\n"
	"      --learn               also import what importing module NAME\n"
	"                            imports (python3 -X importtime)\n"
	"      --socket path         the socket (default:\n"
	"                            $XDG_RUNTIME_DIR/pyprime/NAME)\n"
	"      --idle-exit seconds   exit after that long without a launch\n"
	"      --python-flags flags  python3's options, as one argument (\"-O -X\n"
	"                            dev\"): the interpreter is configured as\n"
	"                            \"python3 flags\" is; launches must ask for\n"
	"                            the same\n"
	"      --no-spare            fork at each launch: no child waits for\n"
	"                            the next one (less memory, slower launch)\n"
	"      --foreground          stay in the foreground, messages on stderr\n"
	"  -h, --help                show this help\n";

enum { OPT_IMPORT = 256, OPT_LEARN, OPT_SOCKET, OPT_IDLE_EXIT,
       OPT_PYTHON_FLAGS, OPT_NO_SPARE, OPT_FOREGROUND };

static const struct option longopts[] = {
	{ "import", required_argument, NULL, OPT_IMPORT },
	{ "learn", no_argument, NULL, OPT_LEARN },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "idle-exit", required_argument, NULL, OPT_IDLE_EXIT },
	{ "python-flags", required_argument, NULL, OPT_PYTHON_FLAGS },
	{ "no-spare", no_argument, NULL, OPT_NO_SPARE },
	{ "foreground", no_argument, NULL, OPT_FOREGROUND },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The names of a comma-separated LIST appended to V (N of them). */
static char **add_names(char **v, size_t *n, const char *list)
{
	const char *p = list;

	while (*p) {
		size_t len = strcspn(p, ",");

		if (len) {
			v = xrealloc(v, (*n + 2) * sizeof(*v));
			v[(*n)++] = xasprintf("%.*s", (int)len, p);
			v[*n] = NULL;
		}
		p += len + (p[len] == ',');
	}
	return v;
}

int cmd_preload(int argc, char **argv)
{
	struct preload_opts o = { 0 };
	const char *dir = ".";
	char **imports = xcalloc(1, sizeof(char *)), *socket = NULL;
	char *path = NULL, *pages = NULL;
	char **learned = xcalloc(1, sizeof(char *));
	char **flags = xcalloc(1, sizeof(char *));
	size_t nimports = 0, nlearned = 0, nflags = 0;
	unsigned long secs;
	int c, learn = 0, ret = 1;

	optind = 1;
	while ((c = parse_option(argc, argv, "hC:", longopts, usage)) != -1) {
		switch (c) {
		case 'C':
			dir = optarg;
			break;
		case OPT_IMPORT:
			imports = add_names(imports, &nimports, optarg);
			break;
		case OPT_LEARN:
			learn = 1;
			break;
		case OPT_SOCKET:
			free(socket);
			socket = abs_path(optarg);
			break;
		case OPT_IDLE_EXIT:
			if (parse_uint(optarg, 1ul << 30, &secs) < 0 || !secs) {
				ret = usage_error(usage, "--idle-exit needs a "
						  "number of seconds, not '%s'",
						  optarg);
				goto out;
			}
			o.idle_exit = secs;
			break;
		case OPT_PYTHON_FLAGS:
			flags = add_words(flags, &nflags, optarg);
			break;
		case OPT_NO_SPARE:
			o.no_spare = 1;
			break;
		case OPT_FOREGROUND:
			o.foreground = 1;
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
	}
	if (argc - optind != 1) {
		ret = usage_error(usage, "one server NAME");
		goto out;
	}
	o.name = argv[optind];
	o.dir = abs_path(dir);
	o.python_flags = flags;
	if (learn &&
	    preload_learn(o.dir, o.name, flags, &learned, &nlearned) < 0)
		goto out;
	o.learned = learned;
	o.imports = imports;
	o.argv = argv;
	/* systemd's socket needs no path (nor XDG_RUNTIME_DIR). */
	if (!socket && !getenv("LISTEN_FDS") &&
	    !(socket = preload_socket_path(o.name, 1)))
		goto out;
	o.socket = socket;
	if (socket)
		pages = xasprintf("%s.pages", socket);
	else if (getenv("XDG_RUNTIME_DIR") &&
		 (path = preload_socket_path(o.name, 0)))
		pages = xasprintf("%s.pages", path);
	o.pages = pages;
	ret = preload_serve(&o);
out:
	free(socket);
	free(path);
	free(pages);
	free((char *)o.dir);
	free_strings(imports);
	free_strings(learned);
	free_strings(flags);
	return ret;
}
