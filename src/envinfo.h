/*
 * envinfo.h: the machine a measurement was made on.
 */
#ifndef ENVINFO_H
#define ENVINFO_H

struct envinfo {
	char *kernel;		/* "Linux 6.1.0-13-amd64 x86_64" */
	char *cpu;		/* model name */
	long cpus;		/* online */
	char *governor;		/* cpufreq governor of cpu0, or "unknown" */
	char *fs;		/* the tree's filesystem type */
	char *device;		/* and what it is mounted from */
	char *rotational;	/* "yes", "no" or "unknown" */
	char *python;		/* the interpreter's sys.version, first line */
	int stdlib_opt2;	/* its stdlib has -OO pycs (os's, at least) */
};

/*
 * Gather what is known about the machine, the filesystem holding TREE and
 * the interpreter PYTHON (run once for its version).  Never fails: what
 * can't be found is "unknown".
 */
void envinfo_gather(struct envinfo *e, const char *tree, const char *python);
void envinfo_release(struct envinfo *e);

#endif
