/*
 * report.c: the variants of a tree (source, stripped, pycs, -OO pycs,
 * sourceless) built in a scratch directory by this same program, copied to
 * a RAM disk, and timed warm and cold, interleaved; the pyc tree also
 * served by a "pyprime preload" server of this same program.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dir.h"
#include "progress.h"
#include "report.h"
#include "run.h"
#include "util.h"

const char *const report_variants[NVARIANTS] = {
	"source", "stripped", "pyc", "pyc-O2", "sourceless", "preloaded",
};
const char *const report_states[2] = { "warm", "cold" };
const char *const report_media[2] = { "disk", "ram" };

extern char **environ;

/* Run "pyprime ARGS" (this binary), showing its messages as warnings. */
static int run_self(struct report *r, const char *const *args)
{
	const char *argv[16];
	struct run_result res = { .err = BUF_INIT };
	size_t i;
	int ret;

	argv[0] = r->self;
	for (i = 0; args[i] && i < ARRAY_SIZE(argv) - 2; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	ret = run_once((char *const *)argv, environ, 0, &res);
	if (res.err.len) {
		progress_clear();
		fwrite(res.err.data, 1, res.err.len, stderr);
	}
	if (!ret && res.status) {
		char *how = run_describe(&res, 0);

		warning("'pyprime %s' on '%s': %s", args[0],
			args[i - 1], how);
		free(how);
	}
	buf_release(&res.err);
	return ret;
}

static int remove_sources(const char *path)
{
	struct dir_list list;
	size_t i;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || dir_read(fd, &list, DIR_TYPES) < 0) {
		if (fd >= 0)
			close(fd);
		return error_errno("cannot read directory '%s'", path);
	}
	for (i = 0; i < list.n && !ret; i++) {
		char *sub = join_path(path, list.v[i].name);

		if (list.v[i].type == DT_DIR)
			ret = remove_sources(sub);
		else if (list.v[i].type == DT_REG &&
			 has_suffix(list.v[i].name, ".py") &&
			 unlinkat(fd, list.v[i].name, 0) < 0)
			ret = error_errno("cannot remove '%s'", sub);
		free(sub);
	}
	dir_list_release(&list);
	close(fd);
	return ret;
}

/* SCRIPT as found in variant V at ROOT (NULL if it is outside the tree). */
static char *script_in(const struct report *r, enum variant v,
		       const char *root)
{
	char *path = program_script_in(&r->o->t.prog, r->o->t.tree, root);

	if (path && v == V_SOURCELESS && has_suffix(path, ".py")) {
		char *pyc = xasprintf("%sc", path);

		free(path);
		path = pyc;
	}
	return path;
}

static int build_variant(struct report *r, enum variant v)
{
	char *dir = join_path(r->scratch, report_variants[v]);
	char *root = join_path(dir, path_base(r->o->t.tree));
	const char *src = r->dir[V_SOURCE][0];
	int ret;

	r->dir[v][0] = root;
	if (mkdir(dir, 0700) < 0) {
		ret = error_errno("cannot make directory '%s'", dir);
		goto out;
	}
	if (v == V_SOURCE || !src) {
		ret = tree_copy(r->o->t.tree, root, TREE_NO_BYTECODE);
		if (v == V_SOURCE)
			goto out;
		src = root;
	} else if (v == V_STRIPPED) {
		const char *args[] = { "strip", "-q", "-o", root, src, NULL };

		ret = run_self(r, args);
		goto out;
	} else {
		ret = tree_copy(src, root, 0);
	}
	if (!ret) {
		const char *level[] = { "compile", "-q", "-O", "2", root, NULL };
		const char *plain[] = { "compile", "-q", root, NULL };
		const char *legacy[] = { "compile", "-q", "-b", root, NULL };

		ret = run_self(r, v == V_PYC_O2 ? level :
			       v == V_SOURCELESS ? legacy : plain);
	}
	if (!ret && v == V_SOURCELESS)
		ret = remove_sources(root);
out:
	if (!ret)
		ret = tree_measure(root, &r->usage[v]);
	r->script[v][0] = script_in(r, v, root);
	free(dir);
	return ret;
}

/* The variants with a tree of their own to build: the preloaded one
 * is served from the pyc tree. */
static unsigned trees_wanted(const struct report_opts *o)
{
	unsigned want = o->variants;

	if ((want >> V_PRELOADED) & 1)
		want = (want & ~(1u << V_PRELOADED)) | 1u << V_PYC;
	return want;
}

static int build(struct report *r)
{
	const struct report_opts *o = r->o;
	unsigned want = trees_wanted(o);
	size_t nv = 0, done = 0;
	int v, ret = 0;

	for (v = 0; v < NVARIANTS; v++)
		nv += (want >> v) & 1;
	progress_start("building variants", nv, !o->t.quiet);
	for (v = 0; v < NVARIANTS && !ret && !run_interrupted(); v++) {
		if (!((want >> v) & 1))
			continue;
		ret = build_variant(r, v);
		progress_update(++done);
	}
	progress_end();
	if (ret || run_interrupted() || !((o->media >> 1) & 1))
		return ret;

	if (ramdisk_open(&r->rd, o->t.ramdisk_dir, r->scratch) < 0)
		return -1;
	r->have_rd = 1;
	for (v = 0; v < NVARIANTS && !ret && !run_interrupted(); v++) {
		char *dir;

		if (!((want >> v) & 1))
			continue;
		dir = join_path(r->rd.dir, report_variants[v]);
		r->dir[v][1] = join_path(dir, path_base(o->t.tree));
		if (mkdir(dir, 0700) < 0)
			ret = error_errno("cannot make directory '%s'", dir);
		else
			ret = tree_copy(r->dir[v][0], r->dir[v][1], 0);
		r->script[v][1] = script_in(r, v, r->dir[v][1]);
		free(dir);
	}
	return ret;
}

/* How long a server may take to learn and import the app. */
#define SERVER_START_TIMEOUT 120

/* The preloaded variant's trees and sizes are the pyc variant's. */
static void share_pyc_tree(struct report *r)
{
	int m;

	if (!((r->o->variants >> V_PRELOADED) & 1))
		return;
	for (m = 0; m < 2; m++)
		if (r->dir[V_PYC][m])
			r->dir[V_PRELOADED][m] = xstrdup(r->dir[V_PYC][m]);
	r->usage[V_PRELOADED] = r->usage[V_PYC];
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
}

/* Start "pyprime preload --foreground" on medium M's pyc tree, with ENVP
 * (the launches' own: the server refuses other start-up variables). */
static int start_server(struct report *r, int m, char *const *envp)
{
	struct report_server *sv = &r->server[m];
	const char *argv[] = { r->self, "preload", "-C", r->dir[V_PYC][m],
			       "--learn", "--socket", sv->socket,
			       "--foreground", r->o->t.prog.module, NULL };
	pid_t parent = getpid(), pid;
	sigset_t none;
	int fd, null;

	fd = open(sv->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return error_errno("cannot make '%s'", sv->log);
	pid = fork();
	if (pid == 0) {
		/* Gone with this process however it ends, and out of the
		 * terminal's reach: this process stops it. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		setpgid(0, 0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		null = open("/dev/null", O_RDONLY);
		if (null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 ||
		    dup2(fd, 2) < 0)
			_exit(127);
		execve(r->self, (char *const *)argv, envp);
		_exit(127);
	}
	close(fd);
	if (pid < 0)
		return error_errno("cannot fork");
	sv->pid = pid;
	return 0;
}

/* Until SV says in its log that it serves: 0, -1 with the reason in WHY,
 * or RUN_INTERRUPTED. */
static int wait_server(struct report_server *sv, struct buf *why)
{
	struct buf log = BUF_INIT;
	int status, fd, i, ret = -1;

	for (i = 0; i < SERVER_START_TIMEOUT * 100; i++) {
		if (run_interrupted()) {
			ret = RUN_INTERRUPTED;
			break;
		}
		buf_reset(&log);
		fd = open(sv->log, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			read_fd(fd, &log);
			close(fd);
		}
		if (log.len && strstr(log.data, ": serving '")) {
			ret = 0;
			break;
		}
		if (waitpid(sv->pid, &status, WNOHANG) == sv->pid) {
			sv->pid = 0;
			buf_addf(why, "the server ended before serving:\n%s",
				 log.len ? log.data : "");
			break;
		}
		sleep_ms(10);
	}
	if (i == SERVER_START_TIMEOUT * 100)
		buf_addf(why, "the server was not serving after %d s",
			 SERVER_START_TIMEOUT);
	buf_release(&log);
	return ret;
}

/* The children of PARENT, at most MAX of them into PIDS: their number. */
static size_t children_of(pid_t parent, pid_t *pids, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	char path[64], stat[512];
	size_t n = 0;

	if (!d)
		return 0;
	while (n < max && (e = readdir(d))) {
		long pid = atol(e->d_name), ppid = 0;
		const char *p;
		ssize_t len;
		int fd;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, stat, sizeof(stat) - 1);
		close(fd);
		if (len <= 0)
			continue;
		stat[len] = '\0';
		/* "pid (comm) state ppid ...": comm may hold anything */
		p = strrchr(stat, ')');
		if (p && sscanf(p + 1, " %*c %ld", &ppid) == 1 &&
		    ppid == (long)parent)
			pids[n++] = (pid_t)pid;
	}
	closedir(d);
	return n;
}

/* Kill the children of PARENT, each with its process group: the apps of
 * runs cut short, and the server's spare. */
static void kill_children(pid_t parent)
{
	pid_t pids[256];
	size_t i, n = children_of(parent, pids, ARRAY_SIZE(pids));

	for (i = 0; i < n; i++)
		if (kill(-pids[i], SIGKILL) < 0)
			kill(pids[i], SIGKILL);
}

/* Stop SV and what it still runs; it removes its socket. */
static void stop_server(struct report_server *sv)
{
	int status, i;

	if (sv->pid <= 0)
		return;
	kill_children(sv->pid);
	kill(sv->pid, SIGTERM);
	for (i = 0; i < 500; i++) {
		if (waitpid(sv->pid, &status, WNOHANG) != 0)
			break;
		sleep_ms(10);
	}
	if (i == 500) {
		kill(sv->pid, SIGKILL);
		while (waitpid(sv->pid, &status, 0) < 0 && errno == EINTR)
			;
		unlink(sv->socket);
	}
	sv->pid = 0;
}

/* The server of C's medium, started if it is not: 0, -1 (C failed, the
 * reason in its failure), or RUN_INTERRUPTED. */
static int server_ready(struct report *r, struct report_cell *c)
{
	struct report_server *sv = &r->server[c->medium];
	int ret;

	if (sv->pid > 0)
		return 0;
	buf_reset(&c->s.failure);
	if (!sv->failed) {
		ret = start_server(r, c->medium, c->s.envp);
		if (!ret)
			ret = wait_server(sv, &c->s.failure);
		if (ret == RUN_INTERRUPTED || !ret)
			return ret;
		sv->failed = 1;
		stop_server(sv);
	}
	if (!c->s.failure.len)
		buf_adds(&c->s.failure, "the server did not start");
	c->s.failed = 1;
	return -1;
}

/* The servers' memory, idle after the warm-up runs. */
static void server_memory(struct report *r)
{
	int m;

	for (m = 0; m < 2; m++) {
		struct report_server *sv = &r->server[m];

		pid_t spare[4];
		struct smaps sm;
		size_t i, n;

		if (sv->pid <= 0)
			continue;
		if (smaps_read_pid(sv->pid, &sv->idle) < 0) {
			warning_errno("cannot read the memory of the server"
				      " (pid %d)", (int)sv->pid);
			continue;
		}
		sv->have_idle = 1;
		/* The spare shares the server's pages: the PSS of both is
		 * what the preloader costs. */
		n = children_of(sv->pid, spare, ARRAY_SIZE(spare));
		for (i = 0; i < n; i++)
			if (smaps_read_pid(spare[i], &sm) == 0)
				sv->idle.pss += sm.pss;
	}
}

/* The command of C's runs: "pyprime launch" on its medium's server, its
 * child's memory into C->memfile. */
static void preloaded_cell(struct report *r, struct report_cell *c)
{
	struct report_server *sv = &r->server[c->medium];
	const char *medium = report_media[c->medium];
	char **v = xcalloc(8, sizeof(*v));

	if (!sv->socket) {
		sv->socket = xasprintf("%s/preload-%s", r->scratch, medium);
		sv->log = xasprintf("%s/preload-%s.log", r->scratch, medium);
	}
	c->memfile = xasprintf("%s/memory-%s-%s", r->scratch,
			       report_states[c->state], medium);
	v[0] = xstrdup(r->self);
	v[1] = xstrdup("launch");
	v[2] = xstrdup("--socket");
	v[3] = xstrdup(sv->socket);
	v[4] = xstrdup("--no-fallback");
	v[5] = xstrdup("--memory");
	v[6] = xstrdup(c->memfile);
	c->launcher = v;
	c->s.launcher = v;
	c->uss = xcalloc(r->o->t.runs + 1, sizeof(*c->uss));
}

/* The USS of the child of C's last run (kB), or NAN. */
static double child_uss(const struct report_cell *c)
{
	struct smaps m;

	return smaps_read(c->memfile, &m) == 0 ? (double)m.uss : NAN;
}

static void series_for(const struct report *r, struct series *s,
		       enum variant v, int medium)
{
	const struct report_opts *o = r->o;

	s->prog = &o->t.prog;
	s->tree = r->dir[v][medium];
	s->script = r->script[v][medium];
	s->no_bytecode = 1;	/* the runs never change the trees */
	s->optimize = v == V_PYC_O2 ? 2 : 0;
	s->purge = o->t.purge;
	s->timeout = o->t.timeout;
}

static void cell_failed(struct report *r, struct report_cell *c)
{
	progress_clear();
	error("%s, %s, %s: the program failed: %s", report_variants[c->v],
	      report_states[c->state], report_media[c->medium],
	      c->s.failure.data);
	c->done = 0;
	r->failed = 1;
}

static void make_cells(struct report *r)
{
	const struct report_opts *o = r->o;
	int v, st, m;

	r->cell = xcalloc(NVARIANTS * 4, sizeof(*r->cell));
	for (v = 0; v < NVARIANTS; v++)
		for (m = 0; m < 2; m++)
			for (st = 0; st < 2; st++) {
				struct report_cell *c = &r->cell[r->ncells];

				if (!((o->variants >> v) & 1) ||
				    !((o->media >> m) & 1) ||
				    !((o->states >> st) & 1))
					continue;
				c->v = v;
				c->state = st;
				c->medium = m;
				series_for(r, &c->s, v, m);
				c->s.cold = st;
				if (v == V_PRELOADED)
					preloaded_cell(r, c);
				r->ncells++;
			}
}

/*
 * Every cell's runs, round-robin: round i runs each cell once, starting
 * one further along each round, so that drift and order touch all alike.
 */
static int measure(struct report *r)
{
	const struct report_opts *o = r->o;
	size_t i, k, total = o->t.runs * r->ncells, done = 0;
	int ret = 0;

	progress_start("warming up", r->ncells, !o->t.quiet);
	for (k = 0; k < r->ncells && ret != RUN_INTERRUPTED; k++) {
		struct report_cell *c = &r->cell[k];

		ret = series_init(&c->s);
		if (!ret && c->v == V_PRELOADED)
			ret = server_ready(r, c);
		if (!ret)
			ret = series_prepare(&c->s, o->t.warmup);
		c->done = !ret;
		if (ret == -1 && c->s.failed)
			cell_failed(r, c);
		else if (ret == -1)
			r->failed = 1;
		progress_update(k + 1);
	}
	progress_end();
	if (ret == RUN_INTERRUPTED)
		return ret;
	server_memory(r);
	progress_start("timing", total, !o->t.quiet);
	for (i = 0; i < o->t.runs; i++) {
		for (k = 0; k < r->ncells; k++) {
			struct report_cell *c = &r->cell[(i + k) % r->ncells];

			if (!c->done)
				continue;
			ret = series_run(&c->s);
			if (ret == RUN_INTERRUPTED)
				return ret;
			if (ret)
				cell_failed(r, c);
			else if (c->uss)
				c->uss[c->s.n - 1] = child_uss(c);
			progress_update(++done);
		}
	}
	progress_end();
	for (k = 0; k < r->ncells; k++) {
		struct report_cell *c = &r->cell[k];
		double *v = series_values(&c->s, M_WALL);

		stats_compute(v, c->s.n, &c->wall);
		free(v);
	}
	return 0;
}

/* -X importtime runs of each variant, warm, from disk. */
static int measure_imports(struct report *r)
{
	const struct report_opts *o = r->o;
	size_t i, total = 0, done = 0;
	int v, ret = 0;

	for (v = 0; v < NVARIANTS; v++) {
		struct series *s = &r->imports[v];

		/* the preloaded variant imports in its server */
		if (!((o->variants >> v) & 1) || v == V_PRELOADED)
			continue;
		series_for(r, s, v, 0);
		s->importtime = 1;
		if (series_init(s) < 0)
			return -1;
		total += o->t.runs;
	}
	progress_start("timing imports", total, !o->t.quiet);
	for (i = 0; i < o->t.runs; i++)
		for (v = 0; v < NVARIANTS; v++) {
			struct series *s = &r->imports[v];

			if (!s->argv || s->failed)
				continue;
			ret = series_run(s);
			if (ret == RUN_INTERRUPTED)
				return ret;
			progress_update(++done);
		}
	progress_end();
	return 0;
}

int report_measure(struct report *r, const struct report_opts *o)
{
	char self[PATH_MAX];
	ssize_t n;
	int ret;

	memset(r, 0, sizeof(*r));
	r->o = o;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return error_errno("cannot find this program");
	self[n] = '\0';
	r->self = xstrdup(self);
	if (realpath(o->scratch, self)) {
		size_t len = strlen(o->t.tree);

		if (!strncmp(self, o->t.tree, len) &&
		    (self[len] == '/' || !self[len]))
			return error("the scratch directory '%s' is inside the"
				     " tree '%s'", o->scratch, o->t.tree);
	}
	run_catch_signals();
	r->scratch = xasprintf("%s/pyprime-report.XXXXXX", o->scratch);
	if (!mkdtemp(r->scratch)) {
		error_errno("cannot make a directory in '%s'", o->scratch);
		free(r->scratch);
		r->scratch = NULL;
		return -1;
	}
	envinfo_gather(&r->env, r->scratch, o->t.prog.python);
	ret = build(r);
	if (ret || run_interrupted())
		goto out;
	share_pyc_tree(r);
	make_cells(r);
	ret = measure(r);
	if (!ret && o->t.top)
		ret = measure_imports(r);
out:
	progress_end();
	return ret;
}

void report_release(struct report *r)
{
	size_t k;
	int v, m;

	for (m = 0; m < 2; m++) {
		stop_server(&r->server[m]);
		free(r->server[m].socket);
		free(r->server[m].log);
	}
	for (k = 0; k < r->ncells; k++) {
		series_release(&r->cell[k].s);
		if (r->cell[k].launcher)
			free_strings(r->cell[k].launcher);
		free(r->cell[k].memfile);
		free(r->cell[k].uss);
	}
	free(r->cell);
	for (v = 0; v < NVARIANTS; v++) {
		series_release(&r->imports[v]);
		for (m = 0; m < 2; m++) {
			free(r->dir[v][m]);
			free(r->script[v][m]);
		}
	}
	if (r->have_rd)
		ramdisk_close(&r->rd);
	if (r->scratch) {
		tree_remove(r->scratch);
		free(r->scratch);
	}
	free(r->self);
	envinfo_release(&r->env);
}
