/*
 * pages.h: the pages a launched app wrote, remembered so that the next
 * spare child of "pyprime preload" copies them before a launch waits for
 * it (pages.c).
 *
 * After fork(), every page the server and its child share is copied at
 * the child's first write to it, one page fault each: for a preloaded
 * app that is most of what a launch costs.  The first launch's child
 * records which pages it holds of its own by the end; each spare then
 * copies those ahead, in one madvise(MADV_POPULATE_WRITE) per range.
 */
#ifndef PAGES_H
#define PAGES_H

/*
 * Write to PATH (replacing it atomically) the ranges of pages of this
 * process's private writable mappings (of at most 1 GiB each) that are
 * mapped only by it (as /proc/self/pagemap says): one "ADDRESS COUNT" line (hexadecimal,
 * decimal) per range.  0, or -1 (nothing written; nothing said).
 */
int pages_record(const char *path);

/* A launch that takes more page faults than this records its pages again:
 * its app writes where the record did not say. */
#define PAGES_RELEARN 8

/*
 * Copy the ranges PATH lists into this process's own memory, as writes
 * would (MADV_POPULATE_WRITE), where this process has them mapped
 * private and writable; contents are unchanged.  The number of pages
 * copied; 0 when there is no such file (or the kernel cannot).
 */
long pages_prefault(const char *path);

/*
 * Read a byte of every page present in this process's private readable
 * mappings (of regular files, or anonymous; at most 1 GiB each), as the
 * app it becomes would read them.  Where the hypervisor shadows a
 * guest's page tables, a process's first access to each page costs a
 * trap into it even when the page is present (about 5 us); a spare
 * pays that before its launch rather than during it.  Elsewhere it
 * costs a few microseconds per megabyte.  Stops early once STOP (a
 * descriptor, or -1) has something to read: a launch does not wait for
 * it.  The number of pages read.
 */
long pages_touch(int stop);

#endif
