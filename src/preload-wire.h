/*
 * preload-wire.h: what "pyprime launch" and "pyprime preload" say to each
 * other on the server's Unix socket (launch.c, preload.c).
 *
 * The client sends one struct preload_request, with its standard input,
 * output and error and its current directory (an O_PATH descriptor) as
 * SCM_RIGHTS (with PRELOAD_MEMORY in FLAGS, a fifth: a file the child
 * writes its /proc/self/smaps_rollup to as it ends), then LEN bytes of
 * NUL-terminated strings: the target (module or script), its ARGC
 * arguments, ENVC "NAME=value" entries, then the NPYFLAGS words of
 * python3's options it wants (--python-flags).
 *
 * A child of the server that is about to exit queues PRELOAD_END_SIGNAL
 * to its client (sigqueue(3), the exit status in sival_int), so that the
 * client need not wait for the kernel to tear the process down; if it
 * cannot (the client is out of its reach), it sends the server, on a
 * connection of its own, a request with PRELOAD_ENDED in FLAGS, its exit
 * status in ARGC and nothing else, and the server tells the client.
 *
 * The server answers with struct preload_reply messages: REFUSED (and closes),
 * or STARTED with the child's pid, then EXIT with its wait status.
 */
#ifndef PRELOAD_WIRE_H
#define PRELOAD_WIRE_H

#include <signal.h>
#include <stdint.h>

#define PRELOAD_MAGIC 0x70797072u	/* "pypr" */
#define PRELOAD_VERSION 2
/* Descriptors sent with the request: 0, 1, 2 and the directory; at most
 * one more, the memory file. */
#define PRELOAD_FDS 4
#define PRELOAD_FDS_MAX 5
/* Bounds on a request the server reads (a command line's). */
#define PRELOAD_MAX_LEN (8u << 20)

struct preload_request {
	uint32_t magic;
	uint32_t version;
	uint32_t module;	/* 1: "-m target"; 0: a script */
	uint32_t umask;
	uint32_t argc;		/* arguments after the target */
	uint32_t envc;
	uint32_t npyflags;
	uint32_t len;		/* bytes of strings that follow */
	uint32_t flags;		/* PRELOAD_MEMORY, PRELOAD_ENDED */
};

/* The request's fifth descriptor is the memory file. */
#define PRELOAD_MEMORY 1u
/* A child's notice that it ends (see above). */
#define PRELOAD_ENDED 2u
/* The signal a child ends its client's wait with (see above): one whose
 * default is to be ignored, so that if the client is gone and its pid
 * taken, that process is not killed by it. */
#define PRELOAD_END_SIGNAL SIGURG

enum preload_reply_type {
	PRELOAD_REFUSED = 1,	/* text says why; the connection ends */
	PRELOAD_STARTED,	/* value: the child's pid (and group) */
	PRELOAD_EXIT,		/* value: the child's wait status */
};

struct preload_reply {
	uint32_t type;
	int32_t value;
	char text[120];		/* NUL-terminated */
};

#endif
