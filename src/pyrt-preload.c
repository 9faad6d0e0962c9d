/*
 * pyrt-preload.c: the interpreter of "pyprime preload": configured as
 * /usr/bin/python3 would be (not the isolated one the compiler uses), it
 * imports an application's modules once, and each forked child runs a
 * module or script as "python3 -m module" or "python3 script" would.
 */
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include "pages.h"
#include "pyrt-int.h"
#include "smaps.h"

#define PYTHON3 "/usr/bin/python3"

/*
 * What is easier said in Python: the files of the loaded modules, the
 * threads, the child's signal handlers and messages.  It never runs the
 * application's code, so that none of its frames shows in a traceback of
 * the application.  What a child does at each launch is in C: each line
 * of Python it ran would write to (and so copy) pages it shares with the
 * server.
 */
static const char helper_source[] =
	"import _signal, os, sys\n"
	"\n"
	/* What python3 imports for its own use in some launches only (runpy,
	 * for -m), imported once and held out of sys.modules, and of their
	 * packages' attributes, until a launch that has them. */
	"held = {}\n"
	"held_attrs = []\n"
	"\n"
	"def hold(name):\n"
	"    mods = sys.modules\n"
	"    before = set(mods)\n"
	"    __import__(name)\n"
	"    added = [k for k in mods if k not in before]\n"
	"    for k in added:\n"
	"        held[k] = mods.pop(k)\n"
	"    for k in added:\n"
	"        parent, _, child = k.rpartition('.')\n"
	"        p = mods.get(parent)\n"
	"        if p is not None and getattr(p, child, None) is held[k]:\n"
	"            delattr(p, child)\n"
	"            held_attrs.append((p, child, held[k]))\n"
	"\n"
	"def put_back():\n"
	"    sys.modules.update(held)\n"
	"    for p, child, m in held_attrs:\n"
	"        setattr(p, child, m)\n"
	"\n"
	"def files():\n"
	"    out = set()\n"
	"    for m in list(sys.modules.values()) + list(held.values()):\n"
	"        f = getattr(m, '__file__', None)\n"
	"        if isinstance(f, str):\n"
	"            out.add(os.fsencode(os.path.abspath(f)))\n"
	"    return sorted(out)\n"
	"\n"
	"def threads():\n"
	"    t = sys.modules.get('threading')\n"
	"    if t is None:\n"
	"        return []\n"
	"    main = t.main_thread()\n"
	"    return [x.name for x in t.enumerate() if x is not main]\n"
	"\n"
	"def flush():\n"
	"    for s in (sys.stdout, sys.stderr):\n"
	"        try:\n"
	"            s.flush()\n"
	"        except Exception:\n"
	"            pass\n"
	"\n"
	/* The handlers Python set are put back at the C level, which the
	 * server's own replaced before the fork. */
	/* _signal, not signal: no enum per signal, a launch's largest
	 * cost in Python after the fork. */
	"def signals():\n"
	"    for n in _signal.valid_signals():\n"
	"        h = _signal.getsignal(n)\n"
	"        if callable(h):\n"
	"            _signal.signal(n, h)\n"
	"        elif h is None:\n"
	"            _signal.signal(n, _signal.SIG_DFL)\n"
	/* python3 catches SIGINT unless it started with it ignored, which
	 * the client would not pass on: whatever the server started with. */
	"    if not callable(_signal.getsignal(_signal.SIGINT)):\n"
	"        _signal.signal(_signal.SIGINT, _signal.default_int_handler)\n"
	"\n"
	/* Modules/main.c's and pylifecycle.c's handling of SystemExit. */
	"def exit_status(e):\n"
	"    code = e.code\n"
	"    if code is None:\n"
	"        return 0\n"
	"    if isinstance(code, int):\n"
	"        return code & 0xffffffff\n"
	"    try:\n"
	"        sys.stderr.write(str(code) + '\\n')\n"
	"    except Exception:\n"
	"        pass\n"
	"    return 1\n"
	"\n"
	"def cannot_open(path, e):\n"
	"    sys.stderr.write(\"%s: can't open file %r: [Errno %d] %s\\n\" %\n"
	"                     (sys.executable, path, e.errno, e.strerror))\n"
	"    sys.stderr.flush()\n"
	"\n"
	"def main_loader(path):\n"
	"    m = sys.modules['__main__']\n"
	"    ext = sys.modules['_frozen_importlib_external']\n"
	"    m.__loader__ = ext.SourceFileLoader('__main__', path)\n";

static PyObject *helper;	/* new: the helper module, for good */
static PyObject *atexit_module;	/* new: for good */

/* HELPER.NAME(ARGS...) per Py_BuildValue's FORMAT; a new reference, or
 * NULL with the exception set. */
static PyObject *call_helper(const char *name, const char *format, ...)
{
	PyObject *fn, *args, *res;
	va_list ap;

	fn = PyObject_GetAttrString(helper, name);	/* new */
	if (!fn)
		return NULL;
	va_start(ap, format);
	args = Py_VaBuildValue(format, ap);	/* new */
	va_end(ap);
	if (!args) {
		Py_DECREF(fn);
		return NULL;
	}
	if (!PyTuple_Check(args)) {
		PyObject *t = PyTuple_Pack(1, args);	/* new */

		Py_DECREF(args);
		args = t;
	}
	res = args ? PyObject_CallObject(fn, args) : NULL;	/* new */
	Py_XDECREF(args);
	Py_DECREF(fn);
	return res;
}

static int load_helper(void)
{
	PyObject *code;

	code = Py_CompileString(helper_source, "<pyprime-preload>",
				Py_file_input);	/* new */
	if (!code)
		return -1;
	helper = PyImport_ExecCodeModule("_pyprime_preload", code); /* new */
	Py_DECREF(code);
	/* Ours, not the app's: out of the sys.modules it sees. */
	if (helper && PyDict_DelItemString(PyImport_GetModuleDict(),
					   "_pyprime_preload") < 0)
		Py_CLEAR(helper);
	return helper ? 0 : -1;
}

/* CONFIG's command line "python3 FLAGS -c pass", parsed by python3's
 * rules; set before anything else, since it pre-initializes Python
 * (python3 -X dev, -X utf8, -E, -I change that too). */
static PyStatus set_flags(PyConfig *config, char *const *flags)
{
	PyStatus status;
	char **argv;
	size_t i, n = 0;

	while (flags[n])
		n++;
	argv = xcalloc(n + 4, sizeof(*argv));
	argv[0] = PYTHON3;
	for (i = 0; i < n; i++)
		argv[i + 1] = flags[i];
	argv[n + 1] = "-c";
	argv[n + 2] = "pass";
	config->parse_argv = 1;
	status = PyConfig_SetBytesArgv(config, (Py_ssize_t)n + 3, argv);
	free(argv);
	return status;
}

/* CONFIG read, with the flags set_flags() gave it: 0, or -1 after
 * saying why python3 refuses them or they name something to run. */
static int check_flags(PyConfig *config)
{
	PyStatus status = PyConfig_Read(config);

	if (PyStatus_Exception(status))
		/* python3 said what it refused (or printed its help). */
		return error("--python-flags: python3 refuses them%s%s",
			     status.err_msg ? ": " : "",
			     status.err_msg ? status.err_msg : "");
	if (!config->run_command || wcscmp(config->run_command, L"pass\n") ||
	    config->run_module || config->run_filename ||
	    config->interactive || config->inspect ||
	    config->argv.length != 1)
		return error("--python-flags: only python3's options, not "
			     "what to run (-c, -m, a script, -i)");
	return 0;
}

/*
 * The atexit module, without adding it to sys.modules if it is not
 * there (python3 does not import it): its handlers are the
 * interpreter's, whichever module object registered them.  A new
 * reference, or NULL with the exception set.
 */
static PyObject *fetch_atexit(void)
{
	PyObject *mods = PyImport_GetModuleDict();	/* borrowed */
	int had = PyDict_GetItemString(mods, "atexit") != NULL;
	PyObject *m = PyImport_ImportModule("atexit");	/* new */

	if (m && !had && PyDict_DelItemString(mods, "atexit") < 0)
		PyErr_Clear();
	return m;
}

int pyrt_preload_start(const char *dir, char *const *imports,
		       char *const *optional, char *const *flags)
{
	PyConfig config;
	PyStatus status;
	PyObject *path, *d, *m, *gc = NULL, *r;
	char *const *name;
	int had_gc;

	/* python3's own configuration: the environment, the locale, site,
	 * its signal handlers, its program name for sys.executable. */
	PyConfig_InitPythonConfig(&config);
	config.parse_argv = 0;
	status = flags && flags[0] ? set_flags(&config, flags) :
		PyStatus_Ok();
	if (!PyStatus_Exception(status))
		status = PyConfig_SetBytesString(&config, &config.program_name,
						 PYTHON3);
	if (!PyStatus_Exception(status) && flags && flags[0] &&
	    check_flags(&config) < 0) {
		PyConfig_Clear(&config);
		return -1;
	}
	if (!PyStatus_Exception(status))
		status = Py_InitializeFromConfig(&config);
	PyConfig_Clear(&config);
	if (PyStatus_Exception(status))
		return error("cannot start the interpreter: %s%s%s",
			     status.func ? status.func : "",
			     status.func ? ": " : "",
			     status.err_msg ? status.err_msg : "unknown error");

	path = PySys_GetObject("path");	/* borrowed */
	d = PyUnicode_DecodeFSDefault(dir);	/* new */
	if (!path || !d || PyList_Insert(path, 0, d) < 0) {
		Py_XDECREF(d);
		goto error;
	}
	Py_DECREF(d);
	if (load_helper() < 0)
		goto error;
	for (name = imports; name && *name; name++) {
		m = PyImport_ImportModule(*name);	/* new */
		if (!m) {
			PyErr_Print();
			return error("cannot import '%s'", *name);
		}
		Py_DECREF(m);
	}
	/* Learned from a run of python3, whose site may have imported what
	 * this one cannot: a miss costs only time. */
	for (name = optional; name && *name; name++) {
		m = PyImport_ImportModule(*name);	/* new */
		if (!m)
			PyErr_Clear();
		Py_XDECREF(m);
	}
	/*
	 * What a launch imports that python3 imports itself, imported here
	 * once rather than in each child (the first import of runpy costs
	 * a launch of "-m" milliseconds), and held out of what the app
	 * sees until a launch has it: runpy for -m, atexit for the end.
	 */
	if (!PyDict_GetItemString(PyImport_GetModuleDict(), "runpy")) {
		if (!(r = call_helper("hold", "(s)", "runpy")))	/* new */
			goto error;
		Py_DECREF(r);
	}
	if (!(atexit_module = fetch_atexit()))
		goto error;
	/* Out of the collector's reach, so that the children's collections
	 * do not write to (and copy) the pages they share.  The app sees gc
	 * in sys.modules only if it imported it. */
	had_gc = PyDict_GetItemString(PyImport_GetModuleDict(), "gc") != NULL;
	if (!(gc = PyImport_ImportModule("gc")))	/* new */
		goto error;
	if (!(r = PyObject_CallMethod(gc, "collect", NULL)))	/* new */
		goto error;
	Py_DECREF(r);
	if (!(r = PyObject_CallMethod(gc, "freeze", NULL)))	/* new */
		goto error;
	Py_DECREF(r);
	Py_DECREF(gc);
	if (!had_gc &&
	    PyDict_DelItemString(PyImport_GetModuleDict(), "gc") < 0)
		goto error;
	return 0;

error:
	Py_XDECREF(gc);
	PyErr_Print();
	return error("cannot set up the preloaded interpreter");
}

/* A list of bytes or str as a NULL-terminated array of new strings. */
static char **strings_of(PyObject *list)
{
	Py_ssize_t i, n = PyList_Size(list);
	char **v = xcalloc((size_t)n + 1, sizeof(*v));

	for (i = 0; i < n; i++) {
		PyObject *o = PyList_GET_ITEM(list, i);	/* borrowed */
		const char *s = PyBytes_Check(o) ? PyBytes_AS_STRING(o) :
			PyUnicode_AsUTF8(o);

		v[i] = xstrdup(s ? s : "?");
	}
	PyErr_Clear();
	return v;
}

/* The list HELPER.NAME() returns, as strings_of() makes it; an empty
 * array if it fails. */
static char **helper_strings(const char *name)
{
	PyObject *l = call_helper(name, "()");	/* new */
	char **v;

	if (!l) {
		PyErr_Print();
		return xcalloc(1, sizeof(char *));
	}
	v = strings_of(l);
	Py_DECREF(l);
	return v;
}

char **pyrt_preload_files(void)
{
	return helper_strings("files");
}

char **pyrt_preload_threads(void)
{
	return helper_strings("threads");
}

pid_t pyrt_preload_fork(void)
{
	PyObject *r;

	/* Nothing the server buffered may come out in a child's output. */
	r = call_helper("flush", "()");	/* new */
	Py_XDECREF(r);
	PyErr_Clear();
	return pyrt_fork();
}

/*
 * os.environ (and os.environb, which shares its data) and the C library's
 * environ made the N entries of ENV, as python3 would have found them:
 * entries without '=' skipped, the first of a name kept (Modules/
 * posixmodule.c's convertenviron()).  0, or -1 with the exception set.
 */
static int set_environ(char *const *env, size_t n)
{
	extern char **environ;
	static char **last;	/* what the last call set, if it did */
	static size_t nlast;
	PyObject *os, *mapping = NULL, *data = NULL;
	char **copy;
	size_t i;
	int ret = -1;

	/* A launch with the environment the spare rehearsed with (the
	 * server's) has nothing to do. */
	if (last && n == nlast) {
		for (i = 0; i < n && !strcmp(env[i], last[i]); i++)
			;
		if (i == n)
			return 0;
	}

	if (!(os = PyImport_ImportModule("os")))	/* new */
		return -1;
	if (!(mapping = PyObject_GetAttrString(os, "environ")))	/* new */
		goto out;
	if (!(data = PyObject_GetAttrString(mapping, "_data")))	/* new */
		goto out;
	if (!PyDict_Check(data)) {
		PyErr_SetString(PyExc_TypeError, "os.environ._data is not a dict");
		goto out;
	}
	PyDict_Clear(data);
	for (i = 0; i < n; i++) {
		const char *eq = strchr(env[i], '=');
		PyObject *k, *v, *r = NULL;

		if (!eq)
			continue;
		k = PyBytes_FromStringAndSize(env[i], eq - env[i]);	/* new */
		v = PyBytes_FromString(eq + 1);	/* new */
		if (k && v)
			r = PyDict_SetDefault(data, k, v);	/* borrowed */
		Py_XDECREF(k);
		Py_XDECREF(v);
		if (!r)
			goto out;
	}
	/* The strings live as long as the child. */
	copy = xcalloc(n + 1, sizeof(*copy));
	memcpy(copy, env, n * sizeof(*copy));
	environ = copy;
	last = copy;
	nlast = n;
	ret = 0;
out:
	Py_XDECREF(data);
	Py_XDECREF(mapping);
	Py_DECREF(os);
	return ret;
}

/* OBJ.NAME = VALUE, VALUE a string; 0 or -1. */
static int set_str_attr(PyObject *obj, const char *name, const char *value)
{
	PyObject *v = PyUnicode_FromString(value);	/* new */
	int ret = v ? PyObject_SetAttrString(obj, name, v) : -1;

	Py_XDECREF(v);
	return ret;
}

/* OBJ.NAME, a new reference, or DEFAULT (a string) if OBJ is None. */
static PyObject *attr_or(PyObject *obj, const char *name, const char *dflt)
{
	if (!obj || obj == Py_None)
		return PyUnicode_FromString(dflt);
	return PyObject_GetAttrString(obj, name);
}

/*
 * A text stream on descriptor FD as Python/pylifecycle.c's create_stdio()
 * makes it, with OLD's encoding and error handler (the server's stream of
 * the same name): a new reference, None if FD cannot be opened, NULL
 * with the exception set.
 */
static PyObject *make_stream(PyObject *io, int fd, const char *name,
			     PyObject *old, int buffered)
{
	PyObject *buf, *raw = NULL, *enc = NULL, *err = NULL, *tty = NULL;
	PyObject *stream = NULL;
	int write = fd != 0, unbuffered = write && !buffered, isatty;
	char label[16];

	buf = PyObject_CallMethod(io, "open", "isiOOOO", fd,
				  write ? "wb" : "rb", unbuffered ? 0 : -1,
				  Py_None, Py_None, Py_None, Py_False); /* new */
	if (!buf) {
		if (!PyErr_ExceptionMatches(PyExc_OSError))
			return NULL;
		PyErr_Clear();
		Py_RETURN_NONE;
	}
	if (unbuffered) {
		raw = buf;
		Py_INCREF(raw);
	} else if (!(raw = PyObject_GetAttrString(buf, "raw"))) {	/* new */
		goto out;
	}
	snprintf(label, sizeof(label), "<%s>", name);
	if (set_str_attr(raw, "name", label) < 0)
		goto out;
	if (!(tty = PyObject_CallMethod(raw, "isatty", NULL)))	/* new */
		goto out;
	if ((isatty = PyObject_IsTrue(tty)) < 0)
		goto out;
	enc = attr_or(old, "encoding", "utf-8");	/* new */
	err = attr_or(old, "errors", "strict");	/* new */
	if (!enc || !err)
		goto out;
	stream = PyObject_CallMethod(io, "TextIOWrapper", "OOOsOO", buf, enc,
				     err, "\n",
				     buffered && (isatty || fd == 2) ?
				     Py_True : Py_False,
				     buffered ? Py_False : Py_True); /* new */
	if (stream && set_str_attr(stream, "mode", write ? "w" : "r") < 0)
		Py_CLEAR(stream);
out:
	Py_XDECREF(tty);
	Py_XDECREF(enc);
	Py_XDECREF(err);
	Py_XDECREF(raw);
	Py_DECREF(buf);
	return stream;
}

/* sys.stdin, stdout and stderr, and their __stdin__ and the like, on
 * descriptors 0-2 (the client's).  0, or -1 with the exception set. */
static int set_streams(void)
{
	static const char *const names[3] = { "stdin", "stdout", "stderr" };
	PyObject *io, *out, *wt;
	int fd, buffered = 1, ret = -1;

	if (!(io = PyImport_ImportModule("io")))	/* new */
		return -1;
	/* python3 -u (or PYTHONUNBUFFERED) made the server's unbuffered. */
	out = PySys_GetObject("__stdout__");	/* borrowed */
	if (out && out != Py_None &&
	    (wt = PyObject_GetAttrString(out, "write_through"))) {	/* new */
		buffered = !PyObject_IsTrue(wt);
		Py_DECREF(wt);
	}
	PyErr_Clear();
	for (fd = 0; fd < 3; fd++) {
		char dunder[16];
		PyObject *s;

		snprintf(dunder, sizeof(dunder), "__%s__", names[fd]);
		s = make_stream(io, fd, names[fd], PySys_GetObject(dunder),
				buffered);	/* new */
		if (!s)
			goto out;
		if (PySys_SetObject(names[fd], s) < 0 ||
		    PySys_SetObject(dunder, s) < 0) {
			Py_DECREF(s);
			goto out;
		}
		Py_DECREF(s);
	}
	ret = 0;
out:
	Py_DECREF(io);
	return ret;
}

/* A list of the N strings of V, decoded as file names, after FIRST (if
 * not NULL, already a str); a new reference or NULL. */
static PyObject *str_list(PyObject *first, char *const *v, size_t n)
{
	PyObject *l = PyList_New(0);	/* new */
	size_t i;

	if (l && first && PyList_Append(l, first) < 0)
		Py_CLEAR(l);
	for (i = 0; l && i < n; i++) {
		PyObject *s = PyUnicode_DecodeFSDefault(v[i]);	/* new */

		if (!s || PyList_Append(l, s) < 0)
			Py_CLEAR(l);
		Py_XDECREF(s);
	}
	return l;
}

/* sys.flags.safe_path: 1, 0, or -1 with the exception set. */
static int safe_path(void)
{
	PyObject *flags = PySys_GetObject("flags");	/* borrowed */
	PyObject *v = flags ? PyObject_GetAttrString(flags, "safe_path") :
		NULL;	/* new */
	int r = v ? PyObject_IsTrue(v) : -1;

	Py_XDECREF(v);
	return r;
}

/*
 * sys.argv and sys.orig_argv as "python3 [-m] TARGET ARGS..." sets them,
 * and sys.path[0]: the current directory for a module, the directory of
 * the script with its links resolved (Python/pathconfig.c's
 * _PyPathConfig_ComputeSysPath0()).  0, or -1 with the exception set.
 */
static int set_argv_and_path(const struct pyrt_launch *l)
{
	PyObject *target = NULL, *argv = NULL, *orig = NULL, *path0 = NULL;
	PyObject *path, *exe, *m = NULL;
	char *real = NULL, *cwd = NULL;
	Py_ssize_t i;
	int ret = -1;

	if (!(target = PyUnicode_DecodeFSDefault(l->target)))	/* new */
		return -1;
	if (!(m = PyUnicode_FromString("-m")))	/* new */
		goto out;
	argv = str_list(l->module ? m : target, l->args, l->nargs); /* new */
	if (!argv || PySys_SetObject("argv", argv) < 0)
		goto out;
	/* python3's own command line: its flags, then the same. */
	exe = PySys_GetObject("executable");	/* borrowed */
	if (!(orig = PyList_New(0)) ||	/* new */
	    (exe && PyList_Append(orig, exe) < 0))
		goto out;
	for (i = 0; i < (Py_ssize_t)l->nflags; i++) {
		PyObject *f = PyUnicode_DecodeFSDefault(l->flags[i]); /* new */

		if (!f || PyList_Append(orig, f) < 0) {
			Py_XDECREF(f);
			goto out;
		}
		Py_DECREF(f);
	}
	if ((l->module && PyList_Append(orig, m) < 0) ||
	    PyList_Append(orig, target) < 0)
		goto out;
	for (i = 1; i < PyList_GET_SIZE(argv); i++)
		if (PyList_Append(orig, PyList_GET_ITEM(argv, i)) < 0)
			goto out;
	if (PySys_SetObject("orig_argv", orig) < 0)
		goto out;
	if (l->module) {
		if (!(cwd = getcwd(NULL, 0))) {
			PyErr_SetFromErrno(PyExc_OSError);
			goto out;
		}
		path0 = PyUnicode_DecodeFSDefault(cwd);	/* new */
	} else {
		const char *p0, *slash;
		size_t n;

		real = realpath(l->target, NULL);
		p0 = real ? real : l->target;
		slash = strrchr(p0, '/');
		n = slash ? (size_t)(slash + 1 - p0) : 0;
		if (n > 1)
			n--;
		path0 = PyUnicode_DecodeFSDefaultAndSize(p0, (Py_ssize_t)n);
	}
	path = PySys_GetObject("path");	/* borrowed */
	if (!path0)
		goto out;
	if (!path || !PyList_Check(path)) {
		PyErr_SetString(PyExc_RuntimeError, "sys.path is not a list");
		goto out;
	}
	/* python3 -P (or -I) puts nothing first: the server's tree out. */
	if ((ret = safe_path()) != 0) {
		if (ret > 0 && PyList_GET_SIZE(path))
			ret = PyList_SetSlice(path, 0, 1, NULL);
		goto out;
	}
	if (PyList_GET_SIZE(path)) {
		ret = PyList_SetItem(path, 0, path0);	/* stolen */
		path0 = NULL;
	} else {
		ret = PyList_Append(path, path0);
	}
out:
	Py_XDECREF(path0);
	Py_XDECREF(orig);
	Py_XDECREF(argv);
	Py_XDECREF(m);
	Py_DECREF(target);
	free(real);
	free(cwd);
	return ret;
}

/* The script's absolute path as python3 makes it (Python/fileutils.c's
 * _Py_abspath(): the current directory joined, nothing resolved); a new
 * reference or NULL. */
static PyObject *script_path(const char *target)
{
	char *cwd, *path;
	PyObject *s;

	if (target[0] == '/')
		return PyUnicode_DecodeFSDefault(target);
	if (!(cwd = getcwd(NULL, 0)))
		return PyErr_SetFromErrno(PyExc_OSError);
	path = xasprintf("%s/%s", cwd, target);
	s = PyUnicode_DecodeFSDefault(path);	/* new */
	free(path);
	free(cwd);
	return s;
}

/*
 * What "python3 script" does before it reads the script (Modules/main.c's
 * pymain_run_file() and PyRun_SimpleFileExFlags(), without the
 * interactive and pyc cases): the script opened (in *FP), __main__'s
 * __file__, __cached__ and __loader__ set.  None of it runs the script.
 * Returns 0, -2 if the script cannot be opened, or -1, with the
 * exception set.
 */
static int open_script(PyObject *abspath, FILE **fp)
{
	PyObject *main, *d, *r;
	const char *path = PyUnicode_AsUTF8(abspath);

	*fp = path ? fopen(path, "rb") : NULL;
	if (!*fp) {
		PyObject *e = PyErr_SetFromErrno(PyExc_OSError);

		(void)e;
		return -2;
	}
	main = PyImport_AddModule("__main__");	/* borrowed */
	if (!main)
		goto failed;
	d = PyModule_GetDict(main);	/* borrowed */
	if (PyDict_SetItemString(d, "__file__", abspath) < 0 ||
	    PyDict_SetItemString(d, "__cached__", Py_None) < 0)
		goto failed;
	if (!(r = call_helper("main_loader", "(O)", abspath)))	/* new */
		goto failed;
	Py_DECREF(r);
	return 0;
failed:
	fclose(*fp);
	*fp = NULL;
	return -1;
}

/* Run the script open_script() opened on FP, and close it.  0, or -1
 * with the exception set. */
static int run_script(PyObject *abspath, FILE *fp)
{
	PyCompilerFlags cf = _PyCompilerFlags_INIT;
	PyObject *main = PyImport_AddModule("__main__");	/* borrowed */
	const char *path = PyUnicode_AsUTF8(abspath);
	PyObject *d, *r;

	if (!main || !path) {
		fclose(fp);
		return -1;
	}
	d = PyModule_GetDict(main);	/* borrowed */
	r = PyRun_FileExFlags(fp, path, Py_file_input, d, d, 1, &cf); /* new */
	Py_XDECREF(r);
	return r ? 0 : -1;
}

/* OBJ.closed is true (or cannot be read). */
static int is_closed(PyObject *obj)
{
	PyObject *c = PyObject_GetAttrString(obj, "closed");	/* new */
	int r = c ? PyObject_IsTrue(c) : -1;

	Py_XDECREF(c);
	PyErr_Clear();
	return r != 0;
}

/*
 * What Py_FinalizeEx() does that shows: the threading module's threads
 * joined, the atexit handlers run, the standard streams flushed (their
 * errors reported as python3 reports them).  -1 if a flush failed
 * (python3's status 120), else 0.
 */
static int finish(void)
{
	PyObject *threading, *atexit, *r, *out, *err;
	int ret = 0;

	threading = PyDict_GetItemString(PyImport_GetModuleDict(),
					 "threading");	/* borrowed */
	if (threading) {
		r = PyObject_CallMethod(threading, "_shutdown", NULL); /* new */
		if (!r)
			PyErr_WriteUnraisable(threading);
		Py_XDECREF(r);
	}
	atexit = atexit_module ? atexit_module : fetch_atexit();
	Py_XINCREF(atexit_module);
	r = atexit ? PyObject_CallMethod(atexit, "_run_exitfuncs", NULL) :
		NULL;	/* new */
	if (!r)
		PyErr_WriteUnraisable(atexit);
	Py_XDECREF(r);
	Py_XDECREF(atexit);
	/* Python/pylifecycle.c's flush_std_files(). */
	out = PySys_GetObject("stdout");	/* borrowed */
	err = PySys_GetObject("stderr");	/* borrowed */
	if (out && out != Py_None && !is_closed(out)) {
		if (!(r = PyObject_CallMethod(out, "flush", NULL))) {
			PyErr_WriteUnraisable(out);
			ret = -1;
		}
		Py_XDECREF(r);
	}
	if (err && err != Py_None && !is_closed(err)) {
		if (!(r = PyObject_CallMethod(err, "flush", NULL))) {
			PyErr_Clear();
			ret = -1;
		}
		Py_XDECREF(r);
	}
	return ret;
}

/* The child's own: environment, streams, arguments, path, signal
 * handlers.  0, or -1 with the exception set. */
static int become_app(const struct pyrt_launch *l)
{
	PyObject *r;

	if (set_environ(l->env, l->nenv) < 0 || set_streams() < 0 ||
	    set_argv_and_path(l) < 0)
		return -1;
	if (!(r = call_helper("signals", "()")))	/* new */
		return -1;
	Py_DECREF(r);
	return 0;
}

void pyrt_preload_rehearse(void)
{
	extern char **environ;
	PyObject *r;
	size_t n = 0;

	while (environ[n])
		n++;
	r = set_environ(environ, n) < 0 || set_streams() < 0 ? NULL :
		call_helper("signals", "()");	/* new */
	if (r) {
		Py_DECREF(r);
		r = Py_CompileString("pass\n", "<rehearsal>",
				     Py_file_input);	/* new */
	}
	if (!r)
		PyErr_Print();
	Py_XDECREF(r);
}

/* Page faults this process has taken so far. */
static long faults(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_minflt : 0;
}

void pyrt_preload_run(const struct pyrt_launch *l)
{
	PyObject *abspath = NULL, *r;
	FILE *fp = NULL;
	long faults0 = faults();
	int status = 1, sigint = 0, ret;

	ret = become_app(l);
	/* A script is opened while the server checks its files: none of
	 * that runs the app's code. */
	if (ret == 0 && !l->module)
		ret = !(abspath = script_path(l->target)) ? -1 :
			open_script(abspath, &fp);
	if (l->ready && l->ready() < 0)
		_exit(0);
	if (ret == -2) {
		PyObject *type, *value, *tb;

		PyErr_Fetch(&type, &value, &tb);
		PyErr_NormalizeException(&type, &value, &tb);
		r = call_helper("cannot_open", "(OO)", abspath, value);
		Py_XDECREF(r);
		Py_XDECREF(type);
		Py_XDECREF(value);
		Py_XDECREF(tb);
		PyErr_Clear();
		status = 2;
		goto finish;
	}
	if (ret < 0)
		goto failed;
	if (l->module) {
		PyObject *back = call_helper("put_back", "()");	/* new */
		PyObject *runpy = back ? PyImport_ImportModule("runpy") :
			NULL;	/* new */
		PyObject *target = PyUnicode_DecodeFSDefault(l->target);

		r = runpy && target ?
			PyObject_CallMethod(runpy, "_run_module_as_main",
					    "Oi", target, 1) : NULL; /* new */
		Py_XDECREF(back);
		Py_XDECREF(runpy);
		Py_XDECREF(target);
		ret = r ? 0 : -1;
		Py_XDECREF(r);
	} else {
		ret = run_script(abspath, fp);
	}
	if (ret == 0) {
		status = 0;
		goto finish;
	}
failed:
	/* As python3: SystemExit's code is the status (PyErr_Print() would
	 * finalize on its own); an uncaught KeyboardInterrupt ends the
	 * process by SIGINT once the exit handlers ran. */
	sigint = PyErr_ExceptionMatches(PyExc_KeyboardInterrupt);
	if (PyErr_ExceptionMatches(PyExc_SystemExit)) {
		PyObject *type, *value, *tb;

		PyErr_Fetch(&type, &value, &tb);
		PyErr_NormalizeException(&type, &value, &tb);
		r = call_helper("exit_status", "(O)", value);	/* new */
		status = r ? (int)PyLong_AsLong(r) : 1;
		Py_XDECREF(r);
		Py_XDECREF(type);
		Py_XDECREF(value);
		Py_XDECREF(tb);
		PyErr_Clear();
	} else {
		PyErr_Print();
	}
finish:
	Py_XDECREF(abspath);
	/* What finalizing shows, not the teardown of every module and
	 * object, which a process about to end need not do (and which
	 * costs a preloaded app most). */
	if (finish() < 0)
		status = 120;
	/* The memory the app ended with, once it can no longer change. */
	if (l->memory_fd >= 0)
		smaps_copy_self(l->memory_fd);
	fflush(NULL);
	/* Its client may go: what is left is this process's teardown. */
	if (!sigint && l->ending)
		l->ending(status);
	/* Nor need a reader of its output wait for it: its descriptors
	 * close now rather than after the teardown of its memory, which
	 * costs a child of a large server more than python3 its own. */
	close_range(0, ~0U, 0);
	/* The first launch teaches the spares what to copy ahead, and one
	 * that still took many faults teaches them more: what it holds of
	 * its own by now is what its spare copied and what it copied. */
	if (l->pages && (access(l->pages, F_OK) < 0 ||
			 faults() - faults0 > PAGES_RELEARN))
		pages_record(l->pages);
	if (sigint) {
		signal(SIGINT, SIG_DFL);
		kill(getpid(), SIGINT);
	}
	fflush(NULL);
	_exit(status);
}
