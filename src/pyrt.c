/*
 * pyrt.c: the embedded, isolated libpython: start-up, compiling a source
 * to a marshalled code object exactly as py_compile does, and compiler
 * diagnostics.  It never runs the code it compiles.
 */
#include "pyrt-int.h"
#include "pyrt-ops.h"

#include <marshal.h>

#include <limits.h>
#include <malloc.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int started;
static int broken;	/* it could not start: said once, not per file */
/* The unit being compiled, for show_warning(): warnings.showwarning()
 * has no room for a context of ours.  NULL: warnings are dropped. */
static struct pyrt_unit *compiling;

/* Py_GetVersion() up to its first blank: "3.11.2". */
static const char *python_version(void)
{
	static char version[32];
	const char *v = Py_GetVersion();

	if (!version[0])
		snprintf(version, sizeof(version), "%.*s",
			 (int)strcspn(v, " "), v);
	return version;
}

int pyrt_started(void)
{
	return started;
}

/*
 * Whether Python's default warning filters show a warning of CATEGORY
 * raised by the compiler: they ignore DeprecationWarning (outside
 * __main__), PendingDeprecationWarning, ImportWarning and ResourceWarning.
 */
static int shown_by_default(PyObject *category)
{
	PyObject *ignored[] = { PyExc_DeprecationWarning,
				PyExc_PendingDeprecationWarning,
				PyExc_ImportWarning, PyExc_ResourceWarning };
	size_t i;

	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		if (PyObject_IsSubclass(category, ignored[i]) == 1)
			return 0;
	PyErr_Clear();
	return 1;
}

/*
 * warnings.showwarning replacement: collect each compiler warning once per
 * unit, in the compiler's own "path:line: Category: message" form.
 */
static PyObject *show_warning(PyObject *self, PyObject *const *args,
			      Py_ssize_t nargs)
{
	PyObject *text = NULL, *name = NULL;	/* new */
	long lineno;
	struct buf key = BUF_INIT;
	const char *t, *n;

	(void)self;
	if (nargs < 4 || !compiling)
		Py_RETURN_NONE;
	lineno = PyLong_AsLong(args[3]);
	if (lineno == -1 && PyErr_Occurred())
		PyErr_Clear();
	text = PyObject_Str(args[0]);
	name = PyObject_GetAttrString(args[1], "__name__");
	if (!text || !name)
		goto out;
	t = PyUnicode_AsUTF8(text);
	n = PyUnicode_AsUTF8(name);
	if (!t || !n)
		goto out;
	buf_addf(&key, "%ld\t%s\t%s\n", lineno, n, t);
	if (compiling->warnings.len &&
	    memmem(compiling->warnings.data, compiling->warnings.len, key.data,
		   key.len))
		goto out;
	buf_add(&compiling->warnings, key.data, key.len);
	if (!compiling->quiet ||
	    (compiling->quiet == 2 && shown_by_default(args[1])))
		report("%s:%ld: %s: %s", compiling->path, lineno, n, t);
out:
	PyErr_Clear();
	buf_release(&key);
	Py_XDECREF(text);
	Py_XDECREF(name);
	Py_RETURN_NONE;
}

static PyMethodDef show_warning_def = {
	"showwarning", (PyCFunction)(void (*)(void))show_warning,
	METH_FASTCALL, NULL
};

/* Route every warning, always, to show_warning(). */
static int setup_warnings(void)
{
	PyObject *mod = NULL, *fn = NULL, *res = NULL;	/* new */
	int ret = -1;

	mod = PyImport_ImportModule("warnings");
	if (!mod)
		goto out;
	res = PyObject_CallMethod(mod, "simplefilter", "s", "always");
	if (!res)
		goto out;
	fn = PyCFunction_New(&show_warning_def, NULL);
	if (!fn || PyObject_SetAttrString(mod, "showwarning", fn) < 0)
		goto out;
	ret = 0;
out:
	Py_XDECREF(res);
	Py_XDECREF(fn);
	Py_XDECREF(mod);
	return ret;
}

/*
 * Memory the compiler frees stays mapped for the next file.  Compiling a
 * large module allocates and frees megabytes; by default glibc returns
 * what is freed at the top of its heap and unmaps large blocks, and
 * pymalloc unmaps each arena that empties, so the next file faults every
 * page in again.  Measured on 2,332 files of sympy and django, that was
 * 40% of the CPU time of a compile.  The peak is what it was; it is only
 * kept until the process ends.
 */
#define ARENAS_KEPT 32

static struct {
	void *arena[ARENAS_KEPT];
	size_t size;	/* pymalloc's arenas are all of one size */
	int n;
} kept;

static void *arena_alloc(void *ctx, size_t size)
{
	void *p;

	(void)ctx;
	if (kept.n && size == kept.size)
		return kept.arena[--kept.n];
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void arena_free(void *ctx, void *p, size_t size)
{
	(void)ctx;
	if (!kept.n)
		kept.size = size;
	if (kept.n < ARENAS_KEPT && size == kept.size) {
		kept.arena[kept.n++] = p;
		return;
	}
	munmap(p, size);
}

static void keep_freed_memory(void)
{
	PyObjectArenaAllocator arenas = { NULL, arena_alloc, arena_free };

	/* glibc's largest threshold: 32 MiB on 64 bits, 16 on 32. */
	mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024 * (int)sizeof(long));
	mallopt(M_TRIM_THRESHOLD, INT_MAX);
	PyObject_SetArenaAllocator(&arenas);
}

int pyrt_init(void)
{
	PyPreConfig preconfig;
	PyConfig config;
	PyStatus status;

	if (started)
		return 0;
	if (broken)
		return -1;
	broken = 1;
	keep_freed_memory();
	PyPreConfig_InitIsolatedConfig(&preconfig);
	preconfig.utf8_mode = 1;
	status = Py_PreInitialize(&preconfig);
	if (PyStatus_Exception(status))
		goto error;

	PyConfig_InitIsolatedConfig(&config);
	config.site_import = 0;
	config.write_bytecode = 0;
	config.install_signal_handlers = 0;
	config.use_hash_seed = 1;
	config.hash_seed = 0;
	config.optimization_level = 0;
	config.parse_argv = 0;
	status = PyConfig_SetBytesString(&config, &config.program_name,
					 progname);
	if (PyStatus_Exception(status)) {
		PyConfig_Clear(&config);
		goto error;
	}
	status = Py_InitializeFromConfig(&config);
	PyConfig_Clear(&config);
	if (PyStatus_Exception(status))
		goto error;
	started = 1;
	broken = 0;

	if ((PyImport_GetMagicNumber() & 0xffff) != pyrt_magic())
		die("internal error: the interpreter's magic number %ld is not %u",
		    PyImport_GetMagicNumber() & 0xffff, pyrt_magic());
	if (setup_warnings() < 0) {
		PyErr_Print();
		return error("cannot set up the embedded interpreter");
	}
	return 0;

error:
	return error("cannot start the embedded interpreter: %s%s%s",
		     status.func ? status.func : "",
		     status.func ? ": " : "",
		     status.err_msg ? status.err_msg : "unknown error");
}

pid_t pyrt_fork(void)
{
	pid_t pid;

	/* Either interpreter: the isolated one or the preloader's. */
	if (!Py_IsInitialized())
		return fork();
	PyOS_BeforeFork();
	pid = fork();
	if (pid == 0)
		PyOS_AfterFork_Child();
	else
		PyOS_AfterFork_Parent();
	return pid;
}

int pyrt_begin(struct pyrt_unit *u)
{
	u->warnings = (struct buf)BUF_INIT;
	/* As Python decodes file names: UTF-8 with surrogateescape. */
	u->filename = PyUnicode_DecodeFSDefault(u->recorded);	/* new */
	if (!u->filename) {
		PyErr_Clear();
		return error("cannot decode file name '%s'", u->recorded);
	}
	return 0;
}

void pyrt_end(struct pyrt_unit *u)
{
	PyObject *filename = u->filename;	/* the unit's reference */

	Py_XDECREF(filename);
	u->filename = NULL;
	buf_release(&u->warnings);
}

void pyrt_take_exception(struct buf *text, long *line, long *col)
{
	PyObject *type, *value, *tb;			/* new */
	PyObject *msg = NULL, *lineno = NULL, *offset = NULL;	/* new */
	const char *name, *t = NULL;

	*line = *col = 0;
	PyErr_Fetch(&type, &value, &tb);
	PyErr_NormalizeException(&type, &value, &tb);
	name = type ? ((PyTypeObject *)type)->tp_name : "Error";
	if (value && PyErr_GivenExceptionMatches(type, PyExc_SyntaxError)) {
		msg = PyObject_GetAttrString(value, "msg");
		lineno = PyObject_GetAttrString(value, "lineno");
		offset = PyObject_GetAttrString(value, "offset");
		PyErr_Clear();
		if (lineno && PyLong_Check(lineno))
			*line = PyLong_AsLong(lineno);
		if (offset && PyLong_Check(offset))
			*col = PyLong_AsLong(offset);
	}
	if (!msg || msg == Py_None) {
		Py_XDECREF(msg);
		msg = value ? PyObject_Str(value) : NULL;
	} else if (!PyUnicode_Check(msg)) {
		PyObject *s = PyObject_Str(msg);	/* new */

		Py_DECREF(msg);
		msg = s;
	}
	if (msg)
		t = PyUnicode_AsUTF8(msg);
	PyErr_Clear();
	buf_addf(text, "%s: %s", name, t ? t : "(no message)");
	Py_XDECREF(msg);
	Py_XDECREF(lineno);
	Py_XDECREF(offset);
	Py_XDECREF(type);
	Py_XDECREF(value);
	Py_XDECREF(tb);
}

void pyrt_describe_exception(const struct pyrt_unit *u, struct buf *out)
{
	struct buf text = BUF_INIT;
	long line, col;

	pyrt_take_exception(&text, &line, &col);
	if (line > 0 && col > 0)
		buf_addf(out, "%s:%ld:%ld: %s", u->path, line, col, text.data);
	else if (line > 0)
		buf_addf(out, "%s:%ld: %s", u->path, line, text.data);
	else
		buf_addf(out, "%s: %s", u->path, text.data);
	buf_release(&text);
}

/* Report the pending exception in the compiler's format. */
static void report_exception(const struct pyrt_unit *u)
{
	struct buf text = BUF_INIT;

	pyrt_describe_exception(u, &text);
	report("%s", text.data);
	buf_release(&text);
}

/*
 * Whether some code object under CODE may hold a docstring: a function's
 * first constant that is a string, or a module or class body that stores
 * __doc__.  Errs on the side of yes.
 */
static int may_have_docstrings(PyObject *code)
{
	PyObject *consts = NULL, *names = NULL;	/* new */
	Py_ssize_t i, n;
	int ret = 1;

	consts = PyObject_GetAttrString(code, "co_consts");
	names = PyObject_GetAttrString(code, "co_names");
	if (!consts || !names || !PyTuple_Check(consts) || !PyTuple_Check(names))
		goto out;
	/* A module or class body stores its docstring as __doc__ ... */
	n = PyTuple_GET_SIZE(names);
	for (i = 0; i < n; i++) {
		PyObject *s = PyTuple_GET_ITEM(names, i);	/* borrowed */

		if (PyUnicode_Check(s) &&
		    PyUnicode_CompareWithASCIIString(s, "__doc__") == 0)
			goto out;
	}
	/* ... a function keeps it as its first constant (None if it has
	 * none; a class body's first constant is its name). */
	n = PyTuple_GET_SIZE(consts);
	if (n > 0 && (((PyCodeObject *)code)->co_flags & CO_NEWLOCALS) &&
	    PyUnicode_Check(PyTuple_GET_ITEM(consts, 0)))
		goto out;
	for (i = 0; i < n; i++) {
		PyObject *c = PyTuple_GET_ITEM(consts, i);	/* borrowed */

		if (PyCode_Check(c) && may_have_docstrings(c))
			goto out;
	}
	ret = 0;
out:
	PyErr_Clear();
	Py_XDECREF(consts);
	Py_XDECREF(names);
	return ret;
}

PyObject *pyrt_compile_source(struct pyrt_unit *u, const char *source,
			      int optimize, int warn)
{
	PyCompilerFlags flags = _PyCompilerFlags_INIT;
	PyObject *code;		/* new */

	flags.cf_flags = PyCF_SOURCE_IS_UTF8;
	flags.cf_feature_version = PY_MINOR_VERSION;
	compiling = warn ? u : NULL;
	code = Py_CompileStringObject(source, u->filename, Py_file_input,
				      &flags, optimize);
	compiling = NULL;
	return code;
}

int pyrt_compile(struct pyrt_unit *u, int optimize, struct buf *out,
		 unsigned *traits)
{
	PyObject *code = NULL, *data = NULL;	/* new */
	int ret = -1;

	code = pyrt_compile_source(u, u->source, optimize, 1);
	if (!code) {
		report_exception(u);
		goto out;
	}
	/*
	 * marshal sets FLAG_REF on objects with more than one reference; in
	 * py_compile the caller's variables hold the code object and the file
	 * name, so hold them here too (the unit's filename does the latter).
	 */
	Py_INCREF(code);
	data = PyMarshal_WriteObjectToString(code, Py_MARSHAL_VERSION);
	Py_DECREF(code);
	if (!data) {
		report_exception(u);
		goto out;
	}
	buf_add(out, PyBytes_AS_STRING(data), (size_t)PyBytes_GET_SIZE(data));
	if (traits)
		*traits = may_have_docstrings(code) ? PYRT_DOCSTRINGS : 0;
	ret = 0;
out:
	Py_XDECREF(data);
	Py_XDECREF(code);
	return ret;
}

/*
 * What pyload.c looks up when it loads this module: the only symbol of
 * the module that the program sees (the rest is built hidden, so that the
 * module's calls to pyrt_init() and the others stay in it).
 */
__attribute__((visibility("default")))
const struct pyrt_ops pyrt_ops = {
	.size = sizeof(struct pyrt_ops),
	.version = PYPRIME_VERSION,
	.init = pyrt_init,
	.started = pyrt_started,
	.python_version = python_version,
	.fork = pyrt_fork,
	.begin = pyrt_begin,
	.compile = pyrt_compile,
	.end = pyrt_end,
	.equivalent = pyrt_equivalent,
	.re_compile = pyrt_re_compile,
	.re_match = pyrt_re_match,
	.re_free = pyrt_re_free,
	.preload_start = pyrt_preload_start,
	.preload_files = pyrt_preload_files,
	.preload_threads = pyrt_preload_threads,
	.preload_fork = pyrt_preload_fork,
	.preload_rehearse = pyrt_preload_rehearse,
	.preload_run = pyrt_preload_run,
};
