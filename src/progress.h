/*
 * progress.h: a one-line progress report on stderr, only when stderr is a
 * terminal.
 */
#ifndef PROGRESS_H
#define PROGRESS_H

#include <stddef.h>

/* Start counting to TOTAL under LABEL ("compiling"); does nothing unless
 * stderr is a terminal and ENABLE is set. */
void progress_start(const char *label, size_t total, int enable);
/* DONE of TOTAL are finished; redraws at most ten times a second. */
void progress_update(size_t done);
/* Erase the line, so that a message can be printed; the next update draws
 * it again. */
void progress_clear(void);
void progress_end(void);

#endif
