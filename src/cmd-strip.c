/*
 * cmd-strip.c: "pyprime strip": options, the paths to work on.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "pool.h"
#include "sources.h"
#include "striptree.h"
#include "util.h"

static const char usage[] =
	"usage: pyprime strip [--docstrings] [--comments] [--blank-lines]\n"
	"                     [--keep-lines] [--force-docstrings] [--no-verify]\n"
	"                     [--strict] [--stats] [-qv] [-x regex]...\n"
	"                     [-i file [-0]] [-j jobs] (-o dir | --in-place)\n"
	"                     [path...]\n"
	"       pyprime strip --compare [--docstrings] [--comments]\n"
	"                     [--blank-lines] original stripped\n";

static const char help[] =
	"\n"
	"Remove docstrings, comments and blank lines from Python sources (.py\n"
	"files, or trees of them), proving each result compiles to the same code.\n"
	"With none of --docstrings, --comments and --blank-lines, all three.\n"
	"\n"
	"      --docstrings          remove docstrings\n"
	"      --comments            remove comments (not the shebang, the coding\n"
	"                            cookie, or pragmas such as '# type:')\n"
	"      --blank-lines         remove blank lines\n"
	"      --keep-lines          blank what is removed: line numbers stay\n"
	"      --force-docstrings    also in modules that name __doc__\n"
	"  -o, --output dir          write the stripped tree to dir\n"
	"      --in-place            replace the sources\n"
	"      --no-verify           do not prove the results equivalent\n"
	"      --strict              a file left unchanged is a failure\n"
	"      --stats               print files, bytes and lines before and after\n"
	"  -x, --exclude regex       do not strip paths matching regex (repeatable)\n"
	"  -i, --from file           read paths from file ('-': stdin)\n"
	"  -0, --null                paths in that file are NUL-separated\n"
	"  -j, --jobs jobs           worker processes (default: CPUs)\n"
	"  -q, --quiet               no warnings, no progress\n"
	"  -v, --verbose             figures for each file too\n"
	"      --compare             prove that stripped compiles to the same code\n"
	"                            as original (at -OO when docstrings go)\n"
	"  -h, --help                show this help\n";

enum {
	OPT_DOCSTRINGS = 256, OPT_COMMENTS, OPT_BLANK, OPT_KEEP_LINES,
	OPT_FORCE_DOC, OPT_IN_PLACE, OPT_NO_VERIFY, OPT_STRICT, OPT_STATS,
	OPT_COMPARE,
};

static const struct option longopts[] = {
	{ "docstrings", no_argument, NULL, OPT_DOCSTRINGS },
	{ "comments", no_argument, NULL, OPT_COMMENTS },
	{ "blank-lines", no_argument, NULL, OPT_BLANK },
	{ "keep-lines", no_argument, NULL, OPT_KEEP_LINES },
	{ "force-docstrings", no_argument, NULL, OPT_FORCE_DOC },
	{ "output", required_argument, NULL, 'o' },
	{ "in-place", no_argument, NULL, OPT_IN_PLACE },
	{ "no-verify", no_argument, NULL, OPT_NO_VERIFY },
	{ "strict", no_argument, NULL, OPT_STRICT },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "compare", no_argument, NULL, OPT_COMPARE },
	{ "exclude", required_argument, NULL, 'x' },
	{ "from", required_argument, NULL, 'i' },
	{ "null", no_argument, NULL, '0' },
	{ "jobs", required_argument, NULL, 'j' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cmd_strip(int argc, char **argv)
{
	struct strip_tree_opts o;
	struct select sel;
	const char *from = NULL;
	char **listed = NULL, **paths;
	char msg[256];
	unsigned long v;
	size_t npaths, nlisted = 0, i;
	int c, in_place = 0, nul = 0, compare = 0, ret;

	memset(&o, 0, sizeof(o));
	memset(&sel, 0, sizeof(sel));
	o.verify = 1;
	o.jobs = pool_cpus();
	optind = 1;
	while ((c = parse_option(argc, argv, "o:x:i:0j:qvh", longopts,
				 usage)) != -1) {
		switch (c) {
		case OPT_DOCSTRINGS:
			o.strip.what |= STRIP_DOCSTRINGS;
			break;
		case OPT_COMMENTS:
			o.strip.what |= STRIP_COMMENTS;
			break;
		case OPT_BLANK:
			o.strip.what |= STRIP_BLANK_LINES;
			break;
		case OPT_KEEP_LINES:
			o.strip.keep_lines = 1;
			break;
		case OPT_FORCE_DOC:
			o.strip.force_docstrings = 1;
			break;
		case 'o':
			o.outdir = optarg;
			break;
		case OPT_IN_PLACE:
			in_place = 1;
			break;
		case OPT_NO_VERIFY:
			o.verify = 0;
			break;
		case OPT_STRICT:
			o.strict = 1;
			break;
		case OPT_STATS:
			o.stats = 1;
			break;
		case OPT_COMPARE:
			compare = 1;
			break;
		case 'x':
			if (select_exclude(&sel, optarg, msg, sizeof(msg)) < 0) {
				select_release(&sel);
				return usage_error(usage, "invalid regex '%s': %s",
						   optarg, msg);
			}
			break;
		case 'i':
			from = optarg;
			break;
		case '0':
			nul = 1;
			break;
		case 'j':
			if (parse_uint(optarg, 1024, &v) < 0) {
				select_release(&sel);
				return usage_error(usage, "invalid number of jobs '%s'",
						   optarg);
			}
			o.jobs = v ? (unsigned)v : pool_cpus();
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'v':
			o.verbose++;
			break;
		case 'h':
			fputs(usage, stdout);
			fputs(help, stdout);
			select_release(&sel);
			return 0;
		default:
			select_release(&sel);
			return 2;
		}
	}
	ret = 2;
	if (!o.strip.what)
		o.strip.what = STRIP_ALL;
	if (compare) {
		if (argc - optind != 2)
			usage_error(usage, "--compare takes two files");
		else
			ret = strip_compare(argv[optind], argv[optind + 1],
					    o.strip.what & STRIP_DOCSTRINGS ?
					    2 : 0);
		goto out;
	}
	if (!o.outdir == !in_place) {
		usage_error(usage, "give one of -o and --in-place");
		goto out;
	}
	if (optind == argc && !from) {
		usage_error(usage, "nothing to strip");
		goto out;
	}
	if (from && !(listed = read_path_list(from, nul))) {
		ret = 1;
		goto out;
	}
	while (listed && listed[nlisted])
		nlisted++;
	npaths = (size_t)(argc - optind) + nlisted;
	paths = xmalloc((npaths + 1) * sizeof(*paths));
	for (i = 0; i < nlisted; i++)
		paths[i] = listed[i];
	for (i = 0; (int)i < argc - optind; i++)
		paths[nlisted + i] = argv[optind + i];
	ret = strip_tree_run(&o, &sel, paths, npaths);
	free(paths);
out:
	free_strings(listed);
	select_release(&sel);
	return ret;
}
