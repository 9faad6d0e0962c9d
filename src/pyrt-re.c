/*
 * pyrt-re.c: Python's own regular expressions, for the drop-ins whose
 * command lines and configuration take them (py3compile's -X, the bcep
 * files): POSIX ones would match differently.
 */
#include "pyrt-int.h"

struct pyrt_re {
	PyObject *match;	/* the compiled pattern's bound match() */
};

struct pyrt_re *pyrt_re_compile(const char *pattern, struct buf *why)
{
	PyObject *re, *compiled, *match;		/* new */
	struct pyrt_re *r;
	long line, col;

	if (pyrt_init() < 0) {
		buf_adds(why, "the embedded interpreter did not start");
		return NULL;
	}
	re = PyImport_ImportModule("re");
	if (!re) {
		pyrt_take_exception(why, &line, &col);
		return NULL;
	}
	compiled = PyObject_CallMethod(re, "compile", "s", pattern);
	Py_DECREF(re);
	if (!compiled) {
		pyrt_take_exception(why, &line, &col);
		return NULL;
	}
	match = PyObject_GetAttrString(compiled, "match");
	Py_DECREF(compiled);
	if (!match) {
		pyrt_take_exception(why, &line, &col);
		return NULL;
	}
	r = xmalloc(sizeof(*r));
	r->match = match;
	return r;
}

int pyrt_re_match(const struct pyrt_re *r, const char *s, char **group1)
{
	PyObject *str, *m, *g;				/* new */
	const char *text;
	int ret = 0;

	if (group1)
		*group1 = NULL;
	str = PyUnicode_DecodeFSDefault(s);
	if (!str)
		goto error;
	m = PyObject_CallOneArg(r->match, str);
	Py_DECREF(str);
	if (!m)
		goto error;
	if (m == Py_None) {
		Py_DECREF(m);
		return 0;
	}
	ret = 1;
	if (group1) {
		g = PyObject_CallMethod(m, "group", "i", 1);
		if (!g) {
			Py_DECREF(m);
			goto error;
		}
		text = g == Py_None ? NULL : PyUnicode_AsUTF8(g);
		if (g != Py_None && !text) {
			Py_DECREF(g);
			Py_DECREF(m);
			goto error;
		}
		*group1 = text ? xstrdup(text) : NULL;
		Py_DECREF(g);
	}
	Py_DECREF(m);
	return ret;

error:
	PyErr_Clear();
	return -1;
}

void pyrt_re_free(struct pyrt_re *r)
{
	if (!r)
		return;
	Py_DECREF(r->match);
	free(r);
}
