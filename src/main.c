/*
 * main.c: global options, the command table, and dispatch.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "pyrt.h"
#include "util.h"

#ifndef PYPRIME_VERSION
#define PYPRIME_VERSION "unknown"
#endif

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "compile", cmd_compile, "byte-compile Python sources to .pyc files" },
	{ "clean", cmd_clean, "remove the .pyc files of Python sources" },
	{ "register", cmd_register, "record and compile a package (postinst)" },
	{ "rebuild", cmd_rebuild, "compile registered packages again" },
	{ "py3compile", cmd_py3compile, "Debian's py3compile, done by pyprime" },
	{ "py3clean", cmd_py3clean, "Debian's py3clean, done by pyprime" },
	{ "strip", cmd_strip, "remove docstrings, comments and blank lines" },
	{ "traceback", cmd_traceback,
	  "map a stripped tree's traceback to the source lines" },
	{ "preload", cmd_preload,
	  "serve an app's launches from an interpreter that imported it" },
	{ "launch", cmd_launch, "run a module or script through a preloader" },
	{ "time", cmd_time, "time a Python program's start, warm or cold" },
	{ "report", cmd_report,
	  "time a tree as source, stripped and compiled, on disk and in RAM" },
};

static const char usage_line[] =
	"usage: pyprime [--help] [--version] command [args]\n";

static void usage(FILE *f)
{
	size_t i;

	fputs(usage_line, f);
	fputs("\ncommands:\n", f);
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
	fputs("\n'pyprime command --help' describes a command.\n", f);
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		fputs(usage_line, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("pyprime %s (Python %s, %s)\n", PYPRIME_VERSION,
		       pyrt_version(), pyrt_cache_tag());
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		error("unknown option '%s'", argv[1]);
	else
		error("'%s' is not a pyprime command", argv[1]);
	fputs(usage_line, stderr);
	return 2;
}
