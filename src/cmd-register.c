/*
 * cmd-register.c: "pyprime register", what a package's postinst runs:
 * record how the package is to be compiled, then compile it (or leave that
 * to the pyprime-rebuild trigger).  A source that does not compile is a
 * warning, never a failed configure.
 */
#include <stdio.h>

#include "cmd.h"
#include "package.h"
#include "registry.h"
#include "util.h"

int cmd_register(int argc, char **argv)
{
	struct package p;
	struct compile_stats stats = { 0 };
	size_t removed = 0;
	int ret;

	ret = package_parse(argc, argv, NULL, &p);
	if (ret) {
		package_release(&p);
		return ret == 1 ? 0 : 2;
	}
	if (registry_save(p.sel.root, p.name, p.saved, p.nsaved) < 0 ||
	    registry_set_pending(p.sel.root, p.name, p.deferred) < 0) {
		package_release(&p);
		return 1;
	}
	ret = 0;
	if (!p.deferred) {
		if (package_compile(&p, 1, &stats, &removed) < 0)
			ret = 1;
		if (stats.failed)
			warning("%zu file%s of package '%s' could not be compiled",
				stats.failed, stats.failed == 1 ? "" : "s",
				p.name);
		if (p.verbose)
			package_print_stats(&stats, removed);
	}
	package_release(&p);
	return ret;
}
