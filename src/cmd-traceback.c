/*
 * cmd-traceback.c: "pyprime traceback": a Python 3.11 traceback of stripped
 * code, with the line numbers, source lines and carets of the original.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "origin.h"
#include "traceback.h"
#include "util.h"

static const char usage[] =
	"usage: pyprime traceback [--map path] [--source dir] [file]\n";

static const char help[] =
	"\n"
	"Copy a Python traceback (from file, or standard input) to standard\n"
	"output with each frame in a stripped tree pointing at the original's\n"
	"line, and showing that line when the original is at hand.  Any other\n"
	"text is copied as it is.\n"
	"\n"
	"      --map path            the line map for every frame (a file, or a\n"
	"                            directory holding pyprime.linemap); a frame\n"
	"                            maps if its path ends in a file it lists\n"
	"                            (default: the nearest pyprime.linemap above\n"
	"                            each file)\n"
	"      --source dir          the original tree (default: the map's)\n"
	"  -h, --help                show this help\n";

enum { OPT_MAP = 256, OPT_SOURCE };

static const struct option longopts[] = {
	{ "map", required_argument, NULL, OPT_MAP },
	{ "source", required_argument, NULL, OPT_SOURCE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cmd_traceback(int argc, char **argv)
{
	struct origin *o;
	const char *map = NULL, *source = NULL, *file = NULL;
	FILE *in;
	int c, ret = 0;

	optind = 1;
	while ((c = parse_option(argc, argv, "h", longopts, usage)) != -1) {
		switch (c) {
		case OPT_MAP:
			map = optarg;
			break;
		case OPT_SOURCE:
			source = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			fputs(help, stdout);
			return 0;
		default:
			return 2;
		}
	}
	if (argc - optind > 1)
		return usage_error(usage, "one file at most");
	if (argc > optind && strcmp(argv[optind], "-"))
		file = argv[optind];

	if (!(o = origin_new(map, source)))
		return 1;
	in = file ? fopen(file, "re") : stdin;
	if (!in) {
		error_errno("cannot open '%s'", file);
		origin_free(o);
		return 1;
	}
	if (traceback_map(in, file ? file : "standard input", stdout, o) < 0)
		ret = 1;
	if (origin_failed(o))
		ret = 1;
	if (file)
		fclose(in);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		error_errno("cannot write to standard output");
		ret = 1;
	}
	origin_free(o);
	return ret;
}
