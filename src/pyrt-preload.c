/*
 * pyrt-preload.c: the interpreter of "pyprime preload": configured as
 * /usr/bin/python3 would be (not the isolated one the compiler uses), it
 * imports an application's modules once, and each forked child runs a
 * module or script as "python3 -m module" or "python3 script" would.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pyrt-int.h"

#define PYTHON3 "/usr/bin/python3"

/*
 * What is easier said in Python: the files of the loaded modules, the
 * threads, and the child's streams, arguments, environment and path.
 * It never runs the application's code, so that none of its frames shows
 * in a traceback of the application.
 */
static const char helper_source[] =
	"import _signal, io, os, sys\n"
	"\n"
	"def files():\n"
	"    out = set()\n"
	"    for m in list(sys.modules.values()):\n"
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
	/* As Python/pylifecycle.c's create_stdio() makes them. */
	"def _stream(fd, name, old):\n"
	"    write = fd != 0\n"
	"    unbuffered = write and old is not None and old.write_through\n"
	"    try:\n"
	"        buf = io.open(fd, 'wb' if write else 'rb',\n"
	"                      0 if unbuffered else -1, closefd=False)\n"
	"    except OSError:\n"
	"        return None\n"
	"    raw = buf if unbuffered else buf.raw\n"
	"    raw.name = '<%s>' % name\n"
	"    enc = old.encoding if old is not None else 'utf-8'\n"
	"    err = old.errors if old is not None else 'strict'\n"
	"    s = io.TextIOWrapper(buf, enc, err, '\\n',\n"
	"                         not unbuffered and (raw.isatty() or fd == 2),\n"
	"                         unbuffered)\n"
	"    s.mode = 'w' if write else 'r'\n"
	"    return s\n"
	"\n"
	"def child(module, target, args, env):\n"
	"    os.environ.clear()\n"
	"    for e in env:\n"
	"        k, eq, v = e.partition(b'=')\n"
	"        if eq and k:\n"
	"            os.environ[os.fsdecode(k)] = os.fsdecode(v)\n"
	"    for fd, name in ((0, 'stdin'), (1, 'stdout'), (2, 'stderr')):\n"
	"        s = _stream(fd, name, getattr(sys, '__%s__' % name))\n"
	"        setattr(sys, name, s)\n"
	"        setattr(sys, '__%s__' % name, s)\n"
	"    target = os.fsdecode(target)\n"
	"    args = [os.fsdecode(a) for a in args]\n"
	"    sys.argv = ['-m' if module else target] + args\n"
	"    sys.orig_argv = [sys.executable] + (['-m'] if module else []) + \\\n"
	"        [target] + args\n"
	"    if module:\n"
	"        path0 = os.getcwd()\n"
	"    else:\n"
	"        path0 = os.path.dirname(os.path.realpath(target))\n"
	"    if sys.path:\n"
	"        sys.path[0] = path0\n"
	"    else:\n"
	"        sys.path.insert(0, path0)\n"
	/* The handlers Python set are put back at the C level, which the
	 * server's own replaced before the fork. */
	/* _signal, not signal: no enum per signal, a launch's largest
	 * cost in Python after the fork. */
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
	"    return os.path.join(os.getcwd(), target)\n"
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
	/* Py_FinalizeEx()'s visible part: non-daemon threads joined, atexit
	 * handlers, the streams flushed.  True when flushing stdout fails
	 * (python3's status 120). */
	"def finish():\n"
	"    t = sys.modules.get('threading')\n"
	"    if t is not None:\n"
	"        try:\n"
	"            t._shutdown()\n"
	"        except BaseException:\n"
	"            pass\n"
	"    import atexit\n"
	"    atexit._run_exitfuncs()\n"
	"    failed = False\n"
	"    for s in (sys.stdout, sys.stderr):\n"
	"        try:\n"
	"            if s is not None:\n"
	"                s.flush()\n"
	"        except Exception:\n"
	"            failed = failed or s is sys.stdout\n"
	"    return failed\n"
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

int pyrt_preload_start(const char *dir, char *const *imports,
		       char *const *optional)
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
	status = PyConfig_SetBytesString(&config, &config.program_name,
					 PYTHON3);
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

/* A C array of strings as a list of bytes; a new reference or NULL. */
static PyObject *bytes_list(char *const *v, size_t n)
{
	PyObject *l = PyList_New((Py_ssize_t)n);	/* new */
	size_t i;

	for (i = 0; l && i < n; i++) {
		PyObject *b = PyBytes_FromString(v[i]);	/* new */

		if (!b) {
			Py_CLEAR(l);
			break;
		}
		PyList_SET_ITEM(l, (Py_ssize_t)i, b);	/* stolen */
	}
	return l;
}

/* "python3 script": Modules/main.c's pymain_run_file() and
 * PyRun_SimpleFileExFlags(), without the interactive and pyc cases.
 * Returns 0, or -1 with the exception set. */
static int run_file(PyObject *abspath)
{
	PyCompilerFlags cf = _PyCompilerFlags_INIT;
	PyObject *main, *d, *r;
	const char *path = PyUnicode_AsUTF8(abspath);
	FILE *fp;
	int ret = -1;

	fp = path ? fopen(path, "rb") : NULL;
	if (!fp) {
		PyObject *e = PyErr_SetFromErrno(PyExc_OSError);

		(void)e;
		return -2;
	}
	main = PyImport_AddModule("__main__");	/* borrowed */
	if (!main)
		goto out;
	d = PyModule_GetDict(main);	/* borrowed */
	if (PyDict_SetItemString(d, "__file__", abspath) < 0 ||
	    PyDict_SetItemString(d, "__cached__", Py_None) < 0)
		goto out;
	if (!(r = call_helper("main_loader", "(O)", abspath)))	/* new */
		goto out;
	Py_DECREF(r);
	r = PyRun_FileExFlags(fp, path, Py_file_input, d, d, 1, &cf); /* new */
	fp = NULL;
	if (r) {
		Py_DECREF(r);
		ret = 0;
	}
out:
	if (fp)
		fclose(fp);
	return ret;
}

void pyrt_preload_run(const struct pyrt_launch *l)
{
	PyObject *args = NULL, *env = NULL, *abspath = NULL, *r;
	int status = 1, sigint = 0, ret;

	args = bytes_list(l->args, l->nargs);
	env = bytes_list(l->env, l->nenv);
	if (!args || !env)
		goto failed;
	abspath = call_helper("child", "(iyOO)", l->module, l->target,
			      args, env);	/* new */
	if (!abspath)
		goto failed;
	if (l->module) {
		PyObject *runpy = PyImport_ImportModule("runpy"); /* new */
		PyObject *target = PyUnicode_DecodeFSDefault(l->target);

		r = runpy && target ?
			PyObject_CallMethod(runpy, "_run_module_as_main",
					    "Oi", target, 1) : NULL; /* new */
		Py_XDECREF(runpy);
		Py_XDECREF(target);
		ret = r ? 0 : -1;
		Py_XDECREF(r);
	} else {
		ret = run_file(abspath);
		if (ret == -2) {
			PyObject *type, *value, *tb;

			PyErr_Fetch(&type, &value, &tb);
			PyErr_NormalizeException(&type, &value, &tb);
			r = call_helper("cannot_open", "(OO)", abspath,
					value);
			Py_XDECREF(r);
			Py_XDECREF(type);
			Py_XDECREF(value);
			Py_XDECREF(tb);
			PyErr_Clear();
			status = 2;
			goto finish;
		}
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
	Py_XDECREF(args);
	Py_XDECREF(env);
	Py_XDECREF(abspath);
	/* What finalizing shows, not the teardown of every module and
	 * object, which a process about to end need not do (and which
	 * costs a preloaded app most). */
	r = call_helper("finish", "()");	/* new */
	if (!r || PyObject_IsTrue(r))
		status = 120;
	Py_XDECREF(r);
	if (sigint) {
		signal(SIGINT, SIG_DFL);
		kill(getpid(), SIGINT);
	}
	fflush(NULL);
	_exit(status);
}
