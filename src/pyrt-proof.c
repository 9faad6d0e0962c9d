/*
 * pyrt-proof.c: proof that a stripped source is the same program: both
 * are compiled and their code objects compared field by field, all but
 * co_linetable and co_firstlineno.  Lines also steer some of the
 * compiler's choices: a NOP stays where a statement (pass, a docstring
 * under -OO) left no other instruction on its line, and a NOP so kept can
 * hide from the compiler that a jump goes to the next instruction.  So
 * bytecode is compared in a normal form: NOPs and JUMP_FORWARDs to the
 * next instruction dropped, EXTENDED_ARG folded into the argument, jump
 * targets and exception ranges as indexes of the instructions that remain.
 * Choices that hang on whether an exit block has a line at all (it is
 * copied to each jump only without one) are not undone: they show as a
 * difference.
 */
#include "pyrt-int.h"

#include <marshal.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* What an opcode's argument means, from the opcode module's lists. */
#define OP_JREL 1	/* hasjrel: a jump relative to the next unit */
#define OP_JABS 2	/* hasjabs */
#define OP_BACK 4	/* a relative jump backwards, as dis tells them */
#define OP_CONST 8	/* an index into co_consts */
#define OP_NAME 16	/* ... co_names */
#define OP_LOCAL 32	/* ... the locals, cells and free variables */
#define OP_JUMP (OP_JREL | OP_JABS)

/* The running interpreter's bytecode format, read once. */
static struct {
	int loaded;
	unsigned char kind[256];	/* OP_* bits */
	unsigned char caches[256];	/* inline CACHE units after the op */
	unsigned have_argument, extended_arg, nop, jump_forward, load_global;
	char *name[256];
} ops;

/* One instruction of the normal form. */
struct insn {
	unsigned op;
	unsigned arg;	/* EXTENDED_ARGs folded in; a jump's: its target */
	unsigned pos;	/* where the opcode is, in 2-byte code units */
	unsigned start, end;	/* its units, EXTENDED_ARGs and caches too */
};

/* A code object's instructions, those that do nothing left out. */
struct flat {
	struct insn *v;
	size_t n, alloc;
	unsigned *at;	/* code unit -> index of its instruction; a dropped
			 * one's units map to the next one kept */
	size_t units, at_alloc;
};

/* An exception table entry over instruction indexes [start, end). */
struct xrange {
	unsigned start, end, target;
	unsigned depth_lasti;	/* depth << 1 | lasti, as stored */
	unsigned pos;		/* where it starts in the original */
};

struct xtable {
	struct xrange *v;
	size_t n, alloc;
};

/* One proof's buffers, reused from code object to code object: A's
 * (the original's) and B's (the stripped one's). */
struct proof {
	struct flat fa, fb;
	struct xtable xa, xb;
};

static void proof_release(struct proof *p)
{
	free(p->fa.v);
	free(p->fa.at);
	free(p->fb.v);
	free(p->fb.at);
	free(p->xa.v);
	free(p->xb.v);
}

/* An opcode, or a count of caches, from the opcode module: 0 to 255, or
 * -1 with an exception set. */
static int as_byte(PyObject *obj)
{
	long op = obj ? PyLong_AsLong(obj) : -1;

	if (op < 0 || op > 255) {
		if (!PyErr_Occurred())
			PyErr_SetString(PyExc_ValueError, "not a byte");
		return -1;
	}
	return (int)op;
}

/* Mark every opcode in MOD's list ATTR as KIND.  Returns 0 or -1. */
static int mark_ops(PyObject *mod, const char *attr, unsigned char kind)
{
	PyObject *list;		/* new */
	Py_ssize_t i;
	int op, ret = -1;

	list = PyObject_GetAttrString(mod, attr);
	if (!list || !PyList_Check(list)) {
		if (list)
			PyErr_Format(PyExc_TypeError, "opcode.%s", attr);
		goto out;
	}
	for (i = 0; i < PyList_GET_SIZE(list); i++) {
		op = as_byte(PyList_GET_ITEM(list, i));
		if (op < 0)
			goto out;
		ops.kind[op] |= kind;
	}
	ret = 0;
out:
	Py_XDECREF(list);
	return ret;
}

/* A 256-entry list attribute ATTR of MOD (new reference), or NULL. */
static PyObject *op_table(PyObject *mod, const char *attr)
{
	PyObject *list = PyObject_GetAttrString(mod, attr);	/* new */

	if (list && (!PyList_Check(list) || PyList_GET_SIZE(list) != 256)) {
		PyErr_Format(PyExc_TypeError, "opcode.%s", attr);
		Py_CLEAR(list);
	}
	return list;
}

/* FROM's attribute KEY, or FROM[KEY] when it is a dict, as an opcode. */
static int op_number(PyObject *from, const char *key)
{
	PyObject *v;	/* new */
	int op;

	if (PyDict_Check(from))
		v = PyMapping_GetItemString(from, key);
	else
		v = PyObject_GetAttrString(from, key);
	op = as_byte(v);
	Py_XDECREF(v);
	return op;
}

/*
 * Fill ops from the stdlib's opcode module, the tables dis works from, so
 * that nothing here has to know the numbers.  Returns 0, or -1 with an
 * exception set.
 */
static int load_opcodes(void)
{
	PyObject *mod, *caches = NULL, *names = NULL, *opmap = NULL; /* new */
	const char *name;
	int i, n, ret = -1;

	memset(&ops, 0, sizeof(ops));
	mod = PyImport_ImportModule("opcode");
	if (!mod)
		return -1;
	if (mark_ops(mod, "hasjrel", OP_JREL) < 0 ||
	    mark_ops(mod, "hasjabs", OP_JABS) < 0 ||
	    mark_ops(mod, "hasconst", OP_CONST) < 0 ||
	    mark_ops(mod, "hasname", OP_NAME) < 0 ||
	    mark_ops(mod, "haslocal", OP_LOCAL) < 0 ||
	    mark_ops(mod, "hasfree", OP_LOCAL) < 0)
		goto out;
	caches = op_table(mod, "_inline_cache_entries");
	names = op_table(mod, "opname");
	opmap = PyObject_GetAttrString(mod, "opmap");
	if (!caches || !names || !opmap)
		goto out;
	for (i = 0; i < 256; i++) {
		n = as_byte(PyList_GET_ITEM(caches, i));
		if (n < 0)
			goto out;
		ops.caches[i] = (unsigned char)n;
		if (!PyUnicode_Check(PyList_GET_ITEM(names, i)) ||
		    !PyUnicode_AsUTF8(PyList_GET_ITEM(names, i))) {
			if (!PyErr_Occurred())
				PyErr_SetString(PyExc_TypeError, "opname");
			goto out;
		}
	}
	if ((n = op_number(mod, "HAVE_ARGUMENT")) < 0)
		goto out;
	ops.have_argument = (unsigned)n;
	if ((n = op_number(mod, "EXTENDED_ARG")) < 0)
		goto out;
	ops.extended_arg = (unsigned)n;
	if ((n = op_number(opmap, "NOP")) < 0)
		goto out;
	ops.nop = (unsigned)n;
	if ((n = op_number(opmap, "JUMP_FORWARD")) < 0)
		goto out;
	ops.jump_forward = (unsigned)n;
	if ((n = op_number(opmap, "LOAD_GLOBAL")) < 0)
		goto out;
	ops.load_global = (unsigned)n;
	for (i = 0; i < 256; i++) {
		name = PyUnicode_AsUTF8(PyList_GET_ITEM(names, i));
		ops.name[i] = xstrdup(name);
		/* dis._is_backward_jump() */
		if ((ops.kind[i] & OP_JREL) && strstr(name, "JUMP_BACKWARD"))
			ops.kind[i] |= OP_BACK;
	}
	ops.loaded = 1;
	ret = 0;
out:
	Py_XDECREF(opmap);
	Py_XDECREF(names);
	Py_XDECREF(caches);
	Py_DECREF(mod);
	return ret;
}

/* The code unit jump IN goes to, from its raw argument. */
static long long jump_target(const struct insn *in)
{
	if (ops.kind[in->op] & OP_JABS)
		return in->arg;
	if (ops.kind[in->op] & OP_BACK)
		return (long long)in->pos + 1 - in->arg;
	return (long long)in->pos + 1 + in->arg;
}

/*
 * CODE (co_code's bytes) into F, decoded as dis decodes it: EXTENDED_ARG
 * prefixes folded into the argument, inline caches skipped, relative jumps
 * counted from the unit after the opcode.  Dropped: NOPs, and a
 * JUMP_FORWARD to where the next instruction kept is (a NOP kept for its
 * line can stand between a jump and its target, so that the compiler does
 * not see that the jump is redundant).  Returns 0, or -1 when a jump leads
 * out of the code.
 */
static int flatten(PyObject *code, struct flat *f)
{
	const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(code);
	size_t units = (size_t)PyBytes_GET_SIZE(code) / 2, u = 0, i, n, end;
	unsigned op, arg, ext, next;
	long long to;

	if (units + 1 > f->at_alloc) {
		f->at_alloc = units + 1;
		f->at = xrealloc(f->at, f->at_alloc * sizeof(*f->at));
	}
	if (units > f->alloc) {
		f->alloc = units;
		f->v = xrealloc(f->v, f->alloc * sizeof(*f->v));
	}
	f->units = units;
	for (n = 0; u < units; n++) {
		f->v[n].start = (unsigned)u;
		ext = 0;
		op = p[2 * u];
		arg = p[2 * u + 1];
		while (op == ops.extended_arg && u + 1 < units) {
			ext = (ext | arg) << 8;
			u++;
			op = p[2 * u];
			arg = p[2 * u + 1];
		}
		end = u + 1 + ops.caches[op];
		if (end > units)
			end = units;
		f->v[n].op = op;
		f->v[n].arg = op < ops.have_argument ? 0 : arg | ext;
		f->v[n].pos = (unsigned)u;
		f->v[n].end = (unsigned)end;
		u = end;
	}

	/*
	 * Backwards, so that what lies between a forward jump and its target
	 * is settled first; NEXT is where the next instruction kept starts.
	 */
	next = (unsigned)units;
	for (i = n; i-- > 0;) {
		struct insn *in = &f->v[i];

		if (in->op == ops.nop ||
		    (in->op == ops.jump_forward && jump_target(in) <= next)) {
			in->op = ops.nop;
			continue;
		}
		next = in->start;
	}

	f->n = 0;
	for (i = 0; i < n; i++) {
		for (u = f->v[i].start; u < f->v[i].end; u++)
			f->at[u] = (unsigned)f->n;
		if (f->v[i].op != ops.nop)
			f->v[f->n++] = f->v[i];
	}
	f->at[units] = (unsigned)f->n;

	for (i = 0; i < f->n; i++) {
		struct insn *in = &f->v[i];

		if (!(ops.kind[in->op] & OP_JUMP))
			continue;
		to = jump_target(in);
		if (to < 0 || to > (long long)units)
			return -1;
		in->arg = f->at[to];
	}
	return 0;
}

/* One of the exception table's varints (dis._parse_varint()). */
static int read_varint(const unsigned char **p, const unsigned char *end,
		       unsigned *val)
{
	unsigned b;

	if (*p >= end)
		return -1;
	b = *(*p)++;
	*val = b & 63;
	while (b & 64) {
		if (*p >= end || *val > (UINT_MAX >> 6))
			return -1;
		b = *(*p)++;
		*val = (*val << 6) | (b & 63);
	}
	return 0;
}

/*
 * The exception table TABLE (co_exceptiontable) of the code F was
 * flattened from, into X over F's instruction indexes: ranges that held
 * only NOPs dropped, neighbours with the same handler merged.  Returns 0,
 * or -1 when the table does not parse.
 */
static int read_xtable(PyObject *table, const struct flat *f, struct xtable *x)
{
	const unsigned char *p, *end;
	unsigned start, len, target, dl, s, e;
	struct xrange *last;

	p = (const unsigned char *)PyBytes_AS_STRING(table);
	end = p + PyBytes_GET_SIZE(table);
	x->n = 0;
	while (p < end) {
		if (read_varint(&p, end, &start) < 0 ||
		    read_varint(&p, end, &len) < 0 ||
		    read_varint(&p, end, &target) < 0 ||
		    read_varint(&p, end, &dl) < 0 ||
		    start > f->units || len > f->units - start ||
		    target >= f->units)
			return -1;
		s = f->at[start];
		e = f->at[start + len];
		if (s == e)
			continue;
		last = x->n ? &x->v[x->n - 1] : NULL;
		if (last && last->end == s && last->target == f->at[target] &&
		    last->depth_lasti == dl) {
			last->end = e;
			continue;
		}
		if (x->n == x->alloc) {
			x->alloc = x->alloc ? 2 * x->alloc : 16;
			x->v = xrealloc(x->v, x->alloc * sizeof(*x->v));
		}
		x->v[x->n].start = s;
		x->v[x->n].end = e;
		x->v[x->n].target = f->at[target];
		x->v[x->n].depth_lasti = dl;
		x->v[x->n].pos = f->v[s].pos;
		x->n++;
	}
	return 0;
}

/*
 * Whether constants A and B are the same as marshal version 0 would write
 * them (no references, no interning flags): 1 or 0, or -1 with an
 * exception set.  The common types are compared without marshalling.
 */
static int same_const(PyObject *a, PyObject *b)
{
	PyObject *ma = NULL, *mb = NULL;	/* new */
	Py_ssize_t i;
	int ret;

	if (Py_TYPE(a) != Py_TYPE(b))
		return 0;
	if (a == b)
		return 1;
	if (PyUnicode_CheckExact(a)) {
		ret = PyUnicode_Compare(a, b);
		return ret == -1 && PyErr_Occurred() ? -1 : ret == 0;
	}
	if (PyLong_CheckExact(a))
		return PyObject_RichCompareBool(a, b, Py_EQ);
	if (PyBytes_CheckExact(a))
		return PyBytes_GET_SIZE(a) == PyBytes_GET_SIZE(b) &&
		       !memcmp(PyBytes_AS_STRING(a), PyBytes_AS_STRING(b),
			       (size_t)PyBytes_GET_SIZE(a));
	if (PyTuple_CheckExact(a)) {
		if (PyTuple_GET_SIZE(a) != PyTuple_GET_SIZE(b))
			return 0;
		for (i = 0; i < PyTuple_GET_SIZE(a); i++) {
			ret = same_const(PyTuple_GET_ITEM(a, i),
					 PyTuple_GET_ITEM(b, i));
			if (ret <= 0)
				return ret;
		}
		return 1;
	}
	/* Floats (-0.0), complex numbers, frozensets, code in tuples. */
	ma = PyMarshal_WriteObjectToString(a, 0);
	mb = ma ? PyMarshal_WriteObjectToString(b, 0) : NULL;
	if (!mb)
		ret = -1;
	else
		ret = PyBytes_GET_SIZE(ma) == PyBytes_GET_SIZE(mb) &&
		      !memcmp(PyBytes_AS_STRING(ma), PyBytes_AS_STRING(mb),
			      (size_t)PyBytes_GET_SIZE(ma));
	Py_XDECREF(ma);
	Py_XDECREF(mb);
	return ret;
}

/* The source line of code unit AT of CO, or its first line. */
static int unit_line(PyCodeObject *co, unsigned at)
{
	int line = PyCode_Addr2Line(co, (int)at * 2);

	return line > 0 ? line : co->co_firstlineno;
}

/*
 * The line of the first instruction of F (flattened from CO) whose
 * argument of kind KIND is K.
 */
static int ref_line(PyCodeObject *co, const struct flat *f, unsigned kind,
		    Py_ssize_t k)
{
	size_t i;
	unsigned arg;

	for (i = 0; i < f->n; i++) {
		if (!(ops.kind[f->v[i].op] & kind))
			continue;
		arg = f->v[i].arg;
		/* LOAD_GLOBAL's low bit says whether to push a NULL. */
		if (f->v[i].op == ops.load_global)
			arg >>= 1;
		if ((Py_ssize_t)arg == k)
			return unit_line(co, f->v[i].pos);
	}
	return co->co_firstlineno;
}

/* S as UTF-8 for a message, or "-". */
static const char *utf8_of(PyObject *s)
{
	const char *u = s && PyUnicode_Check(s) ? PyUnicode_AsUTF8(s) : NULL;

	if (!u)
		PyErr_Clear();
	return u ? u : "-";
}

static const char *tuple_str(PyObject *t, Py_ssize_t i)
{
	return utf8_of(i < PyTuple_GET_SIZE(t) ? PyTuple_GET_ITEM(t, i) : NULL);
}

/*
 * Append to WHY where A (original) and B (stripped) part: "QUALNAME: WHAT
 * differs at line N (DETAIL)".  Returns 0, for "not the same".
 */
static int PRINTF(5, 6) parted(struct buf *why, PyCodeObject *a,
				const char *what, int line,
				const char *detail, ...)
{
	va_list ap;

	buf_addf(why, "%s: %s differs at line %d", utf8_of(a->co_qualname),
		 what, line);
	if (detail) {
		buf_adds(why, " (");
		va_start(ap, detail);
		buf_vaddf(why, detail, ap);
		va_end(ap);
		buf_adds(why, ")");
	}
	return 0;
}

/*
 * Where the tuples of names A and B part: the first index that differs,
 * -1 when none does, -2 with an exception set.
 */
static Py_ssize_t names_part(PyObject *a, PyObject *b)
{
	Py_ssize_t i, n = PyTuple_GET_SIZE(a);
	int c;

	if (PyTuple_GET_SIZE(b) < n)
		n = PyTuple_GET_SIZE(b);
	for (i = 0; i < n; i++) {
		c = same_const(PyTuple_GET_ITEM(a, i), PyTuple_GET_ITEM(b, i));
		if (c < 0)
			return -2;
		if (!c)
			return i;
	}
	return PyTuple_GET_SIZE(a) == PyTuple_GET_SIZE(b) ? -1 : n;
}

/*
 * Whether code objects A (of the original) and B (of the stripped source)
 * are the same program: 1, or 0 with the reason appended to WHY, or -1
 * with an exception set.
 */
static int same_code(struct proof *p, PyCodeObject *a, PyCodeObject *b,
		     struct buf *why)
{
	PyObject *ca = NULL, *cb = NULL;	/* new */
	struct flat *fa = &p->fa, *fb = &p->fb;
	struct xtable *xa = &p->xa, *xb = &p->xb;
	PyObject *ka, *kb;			/* borrowed */
	const char *kinds_a, *kinds_b;
	Py_ssize_t i, n, k;
	size_t j;
	int ret = -1, c, line;

	if ((c = same_const(a->co_qualname, b->co_qualname)) <= 0 ||
	    (c = same_const(a->co_name, b->co_name)) <= 0) {
		if (c < 0)
			return -1;
		return parted(why, a, "co_qualname", a->co_firstlineno,
			      "%s vs %s", utf8_of(a->co_qualname),
			      utf8_of(b->co_qualname));
	}

	ca = PyCode_GetCode(a);
	cb = PyCode_GetCode(b);
	if (!ca || !cb)
		goto out;
	if (flatten(ca, fa) < 0 || flatten(cb, fb) < 0) {
		ret = parted(why, a, "co_code", a->co_firstlineno,
			     "a jump out of the code");
		goto out;
	}
	for (j = 0; j < fa->n && j < fb->n; j++) {
		struct insn *ia = &fa->v[j], *ib = &fb->v[j];

		if (ia->op != ib->op || ia->arg != ib->arg) {
			ret = parted(why, a, "co_code",
				     unit_line(a, ia->pos),
				     "instruction %zu: %s %u vs %s %u", j,
				     ops.name[ia->op], ia->arg,
				     ops.name[ib->op], ib->arg);
			goto out;
		}
	}
	if (fa->n != fb->n) {
		/* Where the shorter one ends. */
		line = fa->n ? unit_line(a, fa->v[j < fa->n ? j : j - 1].pos)
			     : a->co_firstlineno;
		ret = parted(why, a, "co_code", line,
			     "%zu vs %zu instructions", fa->n, fb->n);
		goto out;
	}

	if (read_xtable(a->co_exceptiontable, fa, xa) < 0 ||
	    read_xtable(b->co_exceptiontable, fb, xb) < 0) {
		ret = parted(why, a, "co_exceptiontable", a->co_firstlineno,
			     "does not parse");
		goto out;
	}
	for (j = 0; j < xa->n && j < xb->n; j++) {
		struct xrange *ra = &xa->v[j], *rb = &xb->v[j];

		if (ra->start != rb->start || ra->end != rb->end ||
		    ra->target != rb->target ||
		    ra->depth_lasti != rb->depth_lasti) {
			ret = parted(why, a, "co_exceptiontable",
				     unit_line(a, ra->pos),
				     "entry %zu: %u-%u to %u depth %u%s vs "
				     "%u-%u to %u depth %u%s", j,
				     ra->start, ra->end, ra->target,
				     ra->depth_lasti >> 1,
				     ra->depth_lasti & 1 ? " lasti" : "",
				     rb->start, rb->end, rb->target,
				     rb->depth_lasti >> 1,
				     rb->depth_lasti & 1 ? " lasti" : "");
			goto out;
		}
	}
	if (xa->n != xb->n) {
		ret = parted(why, a, "co_exceptiontable",
			     j < xa->n ? unit_line(a, xa->v[j].pos)
					    : a->co_firstlineno,
			     "%zu vs %zu entries", xa->n, xb->n);
		goto out;
	}

	k = names_part(a->co_names, b->co_names);
	if (k < -1)
		goto out;
	if (k >= 0) {
		ret = parted(why, a, "co_names", ref_line(a, fa, OP_NAME, k),
			     "%s vs %s", tuple_str(a->co_names, k),
			     tuple_str(b->co_names, k));
		goto out;
	}
	/* co_varnames, co_cellvars and co_freevars are made of these. */
	k = names_part(a->co_localsplusnames, b->co_localsplusnames);
	if (k < -1)
		goto out;
	if (k >= 0) {
		ret = parted(why, a, "co_localsplusnames",
			     ref_line(a, fa, OP_LOCAL, k), "%s vs %s",
			     tuple_str(a->co_localsplusnames, k),
			     tuple_str(b->co_localsplusnames, k));
		goto out;
	}
	/* The same names, so as many kinds (argument, local, cell, free). */
	kinds_a = PyBytes_AS_STRING(a->co_localspluskinds);
	kinds_b = PyBytes_AS_STRING(b->co_localspluskinds);
	for (i = 0; i < PyBytes_GET_SIZE(a->co_localspluskinds); i++) {
		if (kinds_a[i] != kinds_b[i]) {
			ret = parted(why, a, "co_localspluskinds",
				     ref_line(a, fa, OP_LOCAL, i),
				     "%s: %#x vs %#x",
				     tuple_str(a->co_localsplusnames, i),
				     (unsigned char)kinds_a[i],
				     (unsigned char)kinds_b[i]);
			goto out;
		}
	}

#define SAME(field)							\
	if (a->field != b->field) {					\
		ret = parted(why, a, #field, a->co_firstlineno,		\
			     "%d vs %d", a->field, b->field);		\
		goto out;						\
	}
	SAME(co_argcount)
	SAME(co_posonlyargcount)
	SAME(co_kwonlyargcount)
	SAME(co_nlocals)
	SAME(co_stacksize)
	SAME(co_flags)
#undef SAME

	/*
	 * Constants other than code first, while fa still describes A;
	 * code objects after, as their comparison reuses fa and fb.
	 */
	n = PyTuple_GET_SIZE(a->co_consts);
	if (PyTuple_GET_SIZE(b->co_consts) < n)
		n = PyTuple_GET_SIZE(b->co_consts);
	for (i = 0; i < n; i++) {
		ka = PyTuple_GET_ITEM(a->co_consts, i);
		kb = PyTuple_GET_ITEM(b->co_consts, i);
		if (PyCode_Check(ka) && PyCode_Check(kb))
			continue;
		c = same_const(ka, kb);
		if (c < 0)
			goto out;
		if (!c) {
			ret = parted(why, a, "co_consts",
				     ref_line(a, fa, OP_CONST, i),
				     "constant %zd", i);
			goto out;
		}
	}
	if (PyTuple_GET_SIZE(a->co_consts) != PyTuple_GET_SIZE(b->co_consts)) {
		ret = parted(why, a, "co_consts", ref_line(a, fa, OP_CONST, n),
			     "%zd vs %zd constants",
			     PyTuple_GET_SIZE(a->co_consts),
			     PyTuple_GET_SIZE(b->co_consts));
		goto out;
	}
	for (i = 0; i < n; i++) {
		ka = PyTuple_GET_ITEM(a->co_consts, i);
		kb = PyTuple_GET_ITEM(b->co_consts, i);
		if (PyCode_Check(ka)) {
			c = same_code(p, (PyCodeObject *)ka,
				      (PyCodeObject *)kb, why);
			if (c <= 0) {
				ret = c;
				goto out;
			}
		}
	}
	ret = 1;
out:
	Py_XDECREF(ca);
	Py_XDECREF(cb);
	return ret;
}

int pyrt_equivalent(struct pyrt_unit *u, const char *stripped, size_t len,
		    int optimize, struct buf *why)
{
	PyObject *a = NULL, *b = NULL;	/* new */
	struct proof proof = { 0 };
	struct buf scratch = BUF_INIT;
	long line, col;
	int ret;

	if (!why)
		why = &scratch;
	if (!ops.loaded && load_opcodes() < 0) {
		buf_adds(why, "cannot read the opcode tables: ");
		pyrt_take_exception(why, &line, &col);
		ret = 0;
		goto out;
	}
	/* Warnings were the compiler's business when the unit compiled. */
	a = pyrt_compile_source(u, u->source, optimize, 0);
	if (!a) {
		pyrt_describe_exception(u, why);
		ret = -1;
		goto out;
	}
	if (memchr(stripped, '\0', len)) {
		buf_adds(why, "the stripped source has a null byte");
		ret = -2;
		goto out;
	}
	b = pyrt_compile_source(u, stripped, optimize, 0);
	if (!b) {
		struct buf text = BUF_INIT;

		pyrt_take_exception(&text, &line, &col);
		buf_adds(why, "the stripped source does not compile: ");
		if (line > 0 && col > 0)
			buf_addf(why, "line %ld, column %ld: ", line, col);
		else if (line > 0)
			buf_addf(why, "line %ld: ", line);
		buf_add(why, text.data, text.len);
		buf_release(&text);
		ret = -2;
		goto out;
	}
	ret = same_code(&proof, (PyCodeObject *)a, (PyCodeObject *)b, why);
	if (ret < 0) {
		buf_adds(why, "cannot compare: ");
		pyrt_take_exception(why, &line, &col);
		ret = 0;
	}
out:
	Py_XDECREF(a);
	Py_XDECREF(b);
	proof_release(&proof);
	buf_release(&scratch);
	return ret;
}
