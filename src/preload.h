/*
 * preload.h: the server of "pyprime preload" (preload.c) and where its
 * socket is, which "pyprime launch" (launch.c) shares.
 */
#ifndef PRELOAD_H
#define PRELOAD_H

struct preload_opts {
	const char *name;	/* NAME, for messages and the log */
	const char *socket;	/* its path */
	const char *dir;	/* first on sys.path */
	char **imports;		/* modules to import (NULL-terminated) */
	char **learned;		/* and those, if they import */
	char **python_flags;	/* python3's options (NULL-terminated) */
	unsigned long idle_exit;	/* seconds without a launch; 0: never */
	int foreground;
	int no_spare;		/* fork at each launch, not ahead of it */
	const char *pages;	/* where the pages a launch wrote are kept
				 * for the spares (NULL: nowhere) */
	char **argv;		/* the command from "preload" on, to run
				 * again when the code changed */
};

/*
 * The socket of server NAME: $XDG_RUNTIME_DIR/pyprime/NAME, a new string,
 * or NULL after an error (no XDG_RUNTIME_DIR, a NAME that is not a plain
 * name).  With MAKE_DIR, the directory is made 0700 if missing and must
 * be this user's and reachable by no one else.
 */
char *preload_socket_path(const char *name, int make_dir);

/*
 * The modules "python3 FLAGS -X importtime -c 'import NAME'" imports when
 * run in DIR, in the order they finished, appended to *IMPORTS (*N of them,
 * NULL-terminated): 0, or -1 after reporting why not (the import failed:
 * its message is shown).
 */
int preload_learn(const char *dir, const char *name, char *const *flags,
		  char ***imports, size_t *n);

/*
 * Serve launches on O's socket (or the one systemd passed, LISTEN_FDS)
 * until idle for O->idle_exit seconds or told to stop (SIGTERM, SIGINT,
 * SIGHUP).  Without O->foreground it returns, in the calling process, as
 * soon as the server is ready (0) or has failed (1).  Returns the exit
 * status.
 */
int preload_serve(const struct preload_opts *o);

#endif
