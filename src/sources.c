/*
 * sources.c: collecting source files: the sorted recursive walk (as
 * compileall does it), path lists (-i) and package file lists (-p).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dir.h"
#include "dpkg.h"
#include "sources.h"
#include "util.h"

char *select_real_path(const struct select *sel, const char *path)
{
	size_t n;

	if (!sel->root)
		return xstrdup(path);
	n = strlen(sel->root);
	while (n > 1 && sel->root[n - 1] == '/')
		n--;
	if (path[0] == '/')
		return xasprintf("%.*s%s", (int)n, sel->root, path);
	return xasprintf("%.*s/%s", (int)n, sel->root, path);
}

int select_exclude(struct select *sel, const char *regex, char *err,
		   size_t size)
{
	int ret;

	sel->exclude = xrealloc(sel->exclude,
				(sel->nexclude + 1) * sizeof(*sel->exclude));
	ret = regcomp(&sel->exclude[sel->nexclude], regex,
		      REG_EXTENDED | REG_NOSUB);
	if (ret) {
		regerror(ret, &sel->exclude[sel->nexclude], err, size);
		return -1;
	}
	sel->nexclude++;
	return 0;
}

void select_release(struct select *sel)
{
	size_t i;

	for (i = 0; i < sel->nexclude; i++)
		regfree(&sel->exclude[i]);
	free(sel->exclude);
	sel->exclude = NULL;
	sel->nexclude = 0;
	for (i = 0; i < sel->nwithin; i++)
		free(sel->within[i]);
	free(sel->within);
	sel->within = NULL;
	sel->nwithin = 0;
}

int select_excluded(const struct select *sel, const char *path)
{
	size_t i;

	for (i = 0; i < sel->nexclude; i++)
		if (regexec(&sel->exclude[i], path, 0, NULL, 0) == 0)
			return 1;
	return 0;
}

/* Whether PATH is under one of the directories -p is limited to. */
static int is_within(const struct select *sel, const char *path)
{
	size_t i, n;

	if (!sel->nwithin)
		return 1;
	for (i = 0; i < sel->nwithin; i++) {
		n = strlen(sel->within[i]);
		while (n > 1 && sel->within[i][n - 1] == '/')
			n--;
		if (!strncmp(path, sel->within[i], n) && path[n] == '/')
			return 1;
	}
	return 0;
}

void sources_push(struct source_list *list, char *path, char *recorded,
		  const struct stat *st)
{
	struct source *s;

	if (list->n == list->alloc) {
		list->alloc = list->alloc ? list->alloc * 2 : 256;
		list->v = xrealloc(list->v, list->alloc * sizeof(*list->v));
	}
	s = &list->v[list->n++];
	s->path = path;
	s->dirlen = strrchr(path, '/') ? (size_t)(strrchr(path, '/') - path) + 1 : 0;
	s->recorded = recorded;
	s->st = *st;
}

/*
 * Walk directory FD, which is PATH on this system, LOGICAL as installed,
 * and whose files are recorded under RECORDED.
 */
static int walk(struct source_list *list, const struct select *sel, int fd,
		const char *path, const char *logical, const char *recorded)
{
	struct dir_list names;
	size_t i;
	int errors = 0;

	if (dir_read(fd, &names, DIR_SORT | DIR_TYPES) < 0) {
		error_errno("cannot read directory '%s'", path);
		return 1;
	}
	for (i = 0; i < names.n; i++) {
		const char *name = names.v[i].name;
		unsigned char type = names.v[i].type;
		char *lpath;
		struct stat st;

		if (!strcmp(name, "__pycache__"))
			continue;
		if (type == DT_DIR) {
			char *p = join_path(path, name), *r;
			int sub = openat(fd, name, O_RDONLY | O_DIRECTORY |
					 O_NOFOLLOW | O_CLOEXEC);

			if (sub < 0) {
				error_errno("cannot open directory '%s'", p);
				errors++;
				free(p);
				continue;
			}
			lpath = join_path(logical, name);
			r = join_path(recorded, name);
			errors += walk(list, sel, sub, p, lpath, r);
			close(sub);
			free(p);
			free(lpath);
			free(r);
			continue;
		}
		if (!has_suffix(name, ".py"))
			continue;
		/* A symlinked file is compiled (as compileall does); a
		 * symlinked directory is not followed. */
		if (fstatat(fd, name, &st, 0) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (sel->nexclude) {
			lpath = join_path(logical, name);
			if (select_excluded(sel, lpath)) {
				free(lpath);
				continue;
			}
			free(lpath);
		}
		sources_push(list, join_path(path, name),
			     join_path(recorded, name), &st);
	}
	dir_list_release(&names);
	return errors;
}

int sources_add(struct source_list *list, const struct select *sel,
		const char *arg)
{
	char *path = select_real_path(sel, arg);
	struct stat st;
	int fd, errors = 0;

	if (stat(path, &st) < 0) {
		error_errno("cannot access '%s'", path);
		errors++;
	} else if (S_ISDIR(st.st_mode)) {
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			error_errno("cannot open directory '%s'", path);
			errors++;
		} else {
			errors += walk(list, sel, fd, path, arg,
				       sel->destdir ? sel->destdir : arg);
			close(fd);
		}
	} else if (!S_ISREG(st.st_mode) || !has_suffix(path, ".py")) {
		error("'%s' is not a .py file or a directory", path);
		errors++;
	} else if (!select_excluded(sel, arg)) {
		const char *base = strrchr(arg, '/');
		char *recorded;

		base = base ? base + 1 : arg;
		recorded = sel->destdir ? join_path(sel->destdir, base)
					: xstrdup(arg);
		sources_push(list, path, recorded, &st);
		return 0;
	}
	free(path);
	return errors;
}

char **read_path_list(const char *file, int nul)
{
	struct buf b = BUF_INIT;
	char **v = NULL, *p, *end;
	size_t n = 0, alloc = 0;
	int fd = 0;
	char sep = nul ? '\0' : '\n';

	if (strcmp(file, "-") != 0) {
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			error_errno("cannot open '%s'", file);
			return NULL;
		}
	}
	if (read_fd(fd, &b) < 0) {
		error_errno("cannot read '%s'", file);
		if (fd)
			close(fd);
		buf_release(&b);
		return NULL;
	}
	if (fd)
		close(fd);
	p = b.data;
	end = b.data + b.len;
	while (p && p < end) {
		char *e = memchr(p, sep, (size_t)(end - p));
		size_t len = e ? (size_t)(e - p) : (size_t)(end - p);

		if (!nul && len && p[len - 1] == '\r')
			len--;
		if (len) {
			if (n + 1 >= alloc) {
				alloc = alloc ? alloc * 2 : 64;
				v = xrealloc(v, alloc * sizeof(*v));
			}
			v[n] = xmalloc(len + 1);
			memcpy(v[n], p, len);
			v[n++][len] = '\0';
		}
		p = e ? e + 1 : end;
	}
	buf_release(&b);
	if (!v)
		v = xcalloc(1, sizeof(*v));
	v[n] = NULL;
	return v;
}

int sources_add_from(struct source_list *list, const struct select *sel,
		     const char *file, int nul)
{
	char **paths = read_path_list(file, nul);
	int errors = 0;
	size_t i;

	if (!paths)
		return 1;
	for (i = 0; paths[i]; i++)
		errors += sources_add(list, sel, paths[i]);
	free_strings(paths);
	return errors;
}

int sources_add_package(struct source_list *list, const struct select *sel,
			const char *pkg)
{
	return sources_add_listed(list, sel, pkg,
				  dpkg_python_files(sel->root, pkg), NULL, NULL);
}

int sources_add_listed(struct source_list *list, const struct select *sel,
		       const char *pkg, char **files,
		       void (*each)(void *arg, const struct source *s),
		       void *arg)
{
	char **f, *dir = NULL;
	size_t dirlen = 0;
	int errors = 0, dirfd = -1;

	if (!files)
		return 1;
	for (f = files; *f; f++) {
		const char *line = *f, *base;
		char *path;
		struct stat st;
		int r;

		if (!is_within(sel, line) || select_excluded(sel, line))
			continue;
		path = select_real_path(sel, line);
		/*
		 * Each file by its name in its directory, held open while
		 * dpkg's list stays in it: a path's every component looked up
		 * again for each file cost most of this on an overlay.
		 */
		base = strrchr(path, '/');
		if (base && base > path &&
		    (!dir || dirlen != (size_t)(base - path) ||
		     memcmp(dir, path, dirlen))) {
			if (dirfd >= 0)
				close(dirfd);
			free(dir);
			dirlen = (size_t)(base - path);
			dir = xasprintf("%.*s", (int)dirlen, path);
			dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		}
		if (base && base > path && dirfd >= 0)
			r = fstatat(dirfd, base + 1, &st, 0);
		else
			r = stat(path, &st);
		if (r < 0) {
			if (errno == ENOENT && !sel->quiet) {
				warning("'%s' of package '%s' does not exist, skipped",
					path, pkg);
			} else if (errno != ENOENT) {
				error_errno("cannot access '%s'", path);
				errors++;
			}
			free(path);
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		sources_push(list, path,
		    sel->destdir ? join_path(sel->destdir, strrchr(line, '/') + 1)
				 : xstrdup(line), &st);
		if (each)
			each(arg, &list->v[list->n - 1]);
	}
	if (dirfd >= 0)
		close(dirfd);
	free(dir);
	free_strings(files);
	return errors;
}

/* By path, then in list order. */
static int cmp_index(const void *a, const void *b, void *arg)
{
	const struct source_list *list = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(list->v[i].path, list->v[j].path);

	return c ? c : (i > j) - (i < j);
}

void sources_dedup(struct source_list *list)
{
	size_t *idx, i, n = 0;
	char *drop;

	if (list->n < 2)
		return;
	idx = xmalloc(list->n * sizeof(*idx));
	drop = xcalloc(list->n, 1);
	for (i = 0; i < list->n; i++)
		idx[i] = i;
	qsort_r(idx, list->n, sizeof(*idx), cmp_index, list);
	for (i = 1; i < list->n; i++)
		if (!strcmp(list->v[idx[i]].path, list->v[idx[i - 1]].path))
			drop[idx[i]] = 1;
	for (i = 0; i < list->n; i++) {
		if (drop[i]) {
			free(list->v[i].path);
			free(list->v[i].recorded);
			continue;
		}
		list->v[n++] = list->v[i];
	}
	list->n = n;
	free(idx);
	free(drop);
}

void source_list_release(struct source_list *list)
{
	size_t i;

	for (i = 0; i < list->n; i++) {
		free(list->v[i].path);
		free(list->v[i].recorded);
	}
	free(list->v);
	list->v = NULL;
	list->n = list->alloc = 0;
}
