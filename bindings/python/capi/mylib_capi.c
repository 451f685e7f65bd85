/*
 * mylib._mylib_capi: the hot paths of mylib's Python API written against the
 * Python C API (limited API 3.11, abi3), for the backend mylib.capi.
 *
 * Each fast function handles the common case in C: exact ints that fit a C int,
 * C-contiguous native int32 buffers and native float64 buffers of any layout
 * (the buffer protocol, no copy), a
 * callable and an int for process(). Anything else -- other types, a failing
 * status, keyword arguments -- goes to the API function as written in
 * mylib/_api.py (bound to this backend), which then decides, converts and
 * raises exactly as every other backend does. The differential tests hold the
 * two paths to the same behaviour.
 *
 * process() carries its state to the C trampoline through mylib_process's
 * user_data (a struct on this C stack): the trampoline calls the Python
 * callable, converts its result, and on any exception -- raised by the
 * callable, the recursion limit, a signal handler at the callable's first
 * instruction -- keeps it and fails the C call; process() then raises it with
 * its own traceback. No Python frame of ours is in the way, so nothing can be
 * lost between the callable and process().
 *
 * Subinterpreters: multi-phase init, and every object lives in the module's
 * state (no C global holds a Python object), so each interpreter -- with its
 * own GIL -- has its own module; the fast functions reach it through their
 * __self__ (the module), the trampolines through user_data.
 */
#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "mylib.h"

/* Below this many elements a sum keeps the GIL (releasing it costs more than
   the sum); from it on, other threads run during the sum. */
#define RELEASE_GIL_FROM 4096

/* ------------------------------------------------------------------ state */
enum { FAST_ADD, FAST_SUM_ARRAY, FAST_FAST_SUM, FAST_PROCESS, FAST_COUNT };

/* The module's state, one per interpreter (per module object). The objects are
   set once by setup(), from mylib/capi.py, and dropped by module_clear; the
   method definitions and their docstrings stay until the module is freed,
   after the last fast function (which holds the module) is gone. */
typedef struct {
    PyObject *calls_dict;      /* _api._calls: key -> [callable, result, exception] */
    PyObject *callback_result; /* _api._callback_result: a callback's result by the int rule */
    PyObject *fail_function;   /* _api._fail: status -> the exception */
    PyObject *slow_paths[FAST_COUNT]; /* the API functions as written, bound to this backend */
    PyMethodDef fast_defs[FAST_COUNT]; /* the fast functions, with the API's docstrings */
    char *docs[FAST_COUNT];            /* those docstrings, UTF-8, owned (PyMem_Malloc) */
} module_state;

static module_state *get_state(PyObject *module) {
    return (module_state *)PyModule_GetState(module);
}

/* ------------------------------------------------------------------ helpers */
/* An exact int that fits a C int: the fast path's only int. */
static int exact_c_int(PyObject *o, int *out) {
    int overflow;
    long v;
    if (!PyLong_CheckExact(o)) {
        return 0;
    }
    v = PyLong_AsLongAndOverflow(o, &overflow);
    if (overflow || v < INT_MIN || v > INT_MAX) {
        return 0;
    }
    if (v == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    *out = (int)v;
    return 1;
}

/* Calls the slow path with the vectorcall arguments (positional + kwnames);
   `module` is the fast function's __self__. */
static PyObject *slow(PyObject *module, int which, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
    PyObject *tuple, *kwargs = NULL, *result, *slow_path = get_state(module)->slow_paths[which];
    Py_ssize_t i, nkw = kwnames ? PyTuple_Size(kwnames) : 0;
    if (slow_path == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "mylib._mylib_capi: the module was cleared (interpreter shutdown)");
        return NULL;
    }
    tuple = PyTuple_New(nargs);
    if (tuple == NULL) {
        return NULL;
    }
    for (i = 0; i < nargs; i++) {
        Py_INCREF(args[i]);
        PyTuple_SetItem(tuple, i, args[i]);
    }
    if (nkw > 0) {
        kwargs = PyDict_New();
        if (kwargs == NULL) {
            Py_DECREF(tuple);
            return NULL;
        }
        for (i = 0; i < nkw; i++) {
            if (PyDict_SetItem(kwargs, PyTuple_GetItem(kwnames, i), args[nargs + i]) < 0) {
                Py_DECREF(tuple);
                Py_DECREF(kwargs);
                return NULL;
            }
        }
    }
    result = PyObject_Call(slow_path, tuple, kwargs);
    Py_DECREF(tuple);
    Py_XDECREF(kwargs);
    return result;
}

/* A native-endian format of the item `code` ('i' or 'd'), as struct spells it. */
static int native_format(const char *fmt, char code) {
    if (fmt == NULL) {
        return 0;
    }
    if (fmt[0] == '@' || fmt[0] == '=') {
        fmt++;
    } else if (fmt[0] == '<' || fmt[0] == '>') {
        const int little = 1;
        int is_little = *(const char *)&little == 1;
        if ((fmt[0] == '<') != is_little) {
            return 0;
        }
        fmt++;
    }
    if (fmt[0] == code && fmt[1] == '\0') {
        return 1;
    }
    /* A C long of 4 bytes is a C int (Windows). */
    return code == 'i' && sizeof(long) == 4 && fmt[0] == 'l' && fmt[1] == '\0';
}

/* Gets a C-contiguous buffer of native `code` items of `itemsize` bytes.
   1: got it; 0: not for the fast path (nothing pending); -1: an exception to
   propagate (one that is not "this is no such buffer"). */
static int get_items(PyObject *obj, Py_buffer *view, char code, Py_ssize_t itemsize, int flags) {
    if (PyObject_GetBuffer(obj, view, flags | PyBUF_FORMAT) < 0) {
        if (PyErr_ExceptionMatches(PyExc_TypeError) || PyErr_ExceptionMatches(PyExc_BufferError) ||
            PyErr_ExceptionMatches(PyExc_ValueError)) {
            PyErr_Clear();
            return 0;
        }
        return -1;
    }
    if (view->itemsize != itemsize || !native_format(view->format, code)) {
        PyBuffer_Release(view);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------ add */
static PyObject *fast_add(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
    int a, b;
    int64_t sum;
    /* The same entry point as every backend (so the same debug log line);
       a failure falls to the API, which calls it again for the error. */
    if (kwnames == NULL && nargs == 2 && exact_c_int(args[0], &a) && exact_c_int(args[1], &b) &&
        (sum = mylib_add_packed(a, b)) >= INT_MIN) {
        return PyLong_FromLongLong(sum);
    }
    return slow(self, FAST_ADD, args, nargs, kwnames);
}

/* ------------------------------------------------------------------ sums */
static PyObject *fast_sum_array(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
    Py_buffer view;
    int64_t sum = 0;
    int status, got;
    if (kwnames != NULL || nargs != 1) {
        return slow(self, FAST_SUM_ARRAY, args, nargs, kwnames);
    }
    got = get_items(args[0], &view, 'i', 4, PyBUF_C_CONTIGUOUS);
    if (got < 0) {
        return NULL;
    }
    if (got == 0) {
        return slow(self, FAST_SUM_ARRAY, args, nargs, kwnames);
    }
    if (view.len / 4 >= RELEASE_GIL_FROM) {
        Py_BEGIN_ALLOW_THREADS
        status = mylib_sum_i32((const int *)view.buf, (size_t)(view.len / 4), &sum);
        Py_END_ALLOW_THREADS
    } else {
        status = mylib_sum_i32((const int *)view.buf, (size_t)(view.len / 4), &sum);
    }
    PyBuffer_Release(&view);
    if (status != MYLIB_OK) {
        return slow(self, FAST_SUM_ARRAY, args, nargs, kwnames);
    }
    return PyLong_FromLongLong((long long)sum);
}

static PyObject *fast_fast_sum(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
    Py_buffer view;
    double sum = 0.0;
    int status, got;
    if (kwnames != NULL || nargs != 1) {
        return slow(self, FAST_FAST_SUM, args, nargs, kwnames);
    }
    /* Any layout: an exact sum does not depend on the order of its terms. */
    got = get_items(args[0], &view, 'd', 8, PyBUF_STRIDES);
    if (got < 0) {
        return NULL;
    }
    if (got == 0) {
        return slow(self, FAST_FAST_SUM, args, nargs, kwnames);
    }
    {
        int contiguous = PyBuffer_IsContiguous(&view, 'C') && ((uintptr_t)view.buf % sizeof(double)) == 0;
        size_t n = (size_t)(view.len / 8);
        /* Py_ssize_t shape and strides, as size_t and ptrdiff_t: the same
           widths, and a shape is never negative. */
        const size_t *shape = (const size_t *)(const void *)view.shape;
        const ptrdiff_t *strides = (const ptrdiff_t *)(const void *)view.strides;
        size_t ndim = (size_t)view.ndim;
        if (n >= RELEASE_GIL_FROM) {
            Py_BEGIN_ALLOW_THREADS
            status = contiguous ? mylib_sum_f64((const double *)view.buf, n, &sum)
                                : mylib_sum_f64_strided(view.buf, ndim, shape, strides, &sum);
            Py_END_ALLOW_THREADS
        } else {
            status = contiguous ? mylib_sum_f64((const double *)view.buf, n, &sum)
                                : mylib_sum_f64_strided(view.buf, ndim, shape, strides, &sum);
        }
    }
    PyBuffer_Release(&view);
    if (status != MYLIB_OK) {
        return slow(self, FAST_FAST_SUM, args, nargs, kwnames);
    }
    return PyFloat_FromDouble(sum);
}

/* ------------------------------------------------------------------ callbacks */
/* The exception being raised, normalized, with its traceback attached. */
static PyObject *take_exception(void) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value == NULL) {
        Py_XDECREF(type);
        Py_XDECREF(tb);
        return NULL;
    }
    if (tb != NULL) {
        PyException_SetTraceback(value, tb);
        Py_DECREF(tb);
    }
    Py_XDECREF(type);
    return value;
}

/* Raises `exc` (a reference is consumed) as it is, traceback included. */
static void raise_exception(PyObject *exc) {
    PyObject *tb = PyException_GetTraceback(exc);
    PyObject *type = (PyObject *)Py_TYPE(exc);
    Py_INCREF(type);
    PyErr_Restore(type, exc, tb);
}

/* The state of one fast process() call, on its C stack. */
typedef struct {
    module_state *state; /* of the module whose process() this is */
    PyObject *callback; /* borrowed: the caller holds it for the call */
    PyObject *exc;      /* owned: the exception to raise, or NULL */
    int done;
    int result;
} call_state;

/* A callback's result as a C int by the int rule (the API's own function for
   anything but an exact int in range); -1 with an exception set on failure. */
static int checked_result(module_state *state, PyObject *r, int *out) {
    PyObject *converted;
    int ok;
    if (exact_c_int(r, out)) {
        return 0;
    }
    converted = PyObject_CallFunctionObjArgs(state->callback_result, r, NULL);
    if (converted == NULL) {
        return -1;
    }
    ok = exact_c_int(converted, out);
    Py_DECREF(converted);
    if (!ok) {
        PyErr_SetString(PyExc_SystemError, "mylib: the int rule returned a value that is not a C int");
        return -1;
    }
    return 0;
}

static int fast_trampoline(void *user_data, int value, int *result_out) {
    call_state *st = (call_state *)user_data;
    PyObject *arg, *r;
    int v;
    arg = PyLong_FromLong(value);
    r = arg ? PyObject_CallFunctionObjArgs(st->callback, arg, NULL) : NULL;
    Py_XDECREF(arg);
    if (r != NULL) {
        int failed = checked_result(st->state, r, &v);
        Py_DECREF(r);
        if (!failed) {
            st->result = v;
            st->done = 1;
            *result_out = v;
            return 0;
        }
    }
    Py_XDECREF(st->exc);
    st->exc = take_exception();
    return 1;
}

static PyObject *fast_process(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
    call_state st;
    int value, out = 0, status;
    st.state = get_state(self);
    if (kwnames != NULL || nargs != 2 || !PyCallable_Check(args[0]) || !exact_c_int(args[1], &value) ||
        st.state->fail_function == NULL) {
        return slow(self, FAST_PROCESS, args, nargs, kwnames);
    }
    st.callback = args[0];
    st.exc = NULL;
    st.done = 0;
    st.result = 0;
    status = mylib_process(fast_trampoline, &st, value, &out);
    if (status == MYLIB_OK && st.done && st.exc == NULL) {
        return PyLong_FromLong(st.result);
    }
    if (st.exc != NULL) {
        raise_exception(st.exc);
        return NULL;
    }
    if (PyErr_Occurred()) {
        return NULL;
    }
    {   /* A failure of the library itself (e.g. a caught panic). */
        PyObject *exc = PyObject_CallFunction(st.state->fail_function, "i", status);
        if (exc != NULL) {
            PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
            Py_DECREF(exc);
        }
        return NULL;
    }
}

/* ------------------------------------------------------------------ primitives */
/* The callback path of the API as written (process() off the fast path):
   user_data points to the key of the call in _api._calls and the module's
   state, on the C stack of prim_process. */
typedef struct {
    module_state *state;
    long long key;
} key_call;

static int key_trampoline(void *user_data, int value, int *result_out) {
    const key_call *kc = (const key_call *)user_data;
    PyObject *key = PyLong_FromLongLong(kc->key);
    PyObject *call = key ? PyDict_GetItemWithError(kc->state->calls_dict, key) : NULL; /* borrowed */
    PyObject *callback, *arg = NULL, *r = NULL;
    int v;
    if (call == NULL) {
        Py_XDECREF(key);
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_SystemError, "mylib: a callback ran for no process() call");
        }
        PyErr_WriteUnraisable(NULL);
        return 1;
    }
    Py_INCREF(call);
    Py_DECREF(key);
    callback = PyList_GetItem(call, 0); /* borrowed */
    arg = callback ? PyLong_FromLong(value) : NULL;
    r = arg ? PyObject_CallFunctionObjArgs(callback, arg, NULL) : NULL;
    Py_XDECREF(arg);
    if (r != NULL && checked_result(kc->state, r, &v) == 0) {
        PyObject *stored = PyLong_FromLong(v);
        Py_DECREF(r);
        if (stored != NULL && PyList_SetItem(call, 1, stored) == 0) { /* steals `stored` */
            Py_DECREF(call);
            *result_out = v;
            return 0;
        }
    } else {
        Py_XDECREF(r);
    }
    {
        PyObject *exc = take_exception();
        if (exc != NULL) {
            PyList_SetItem(call, 2, exc); /* steals `exc` */
        }
    }
    Py_DECREF(call);
    return 1;
}

static PyObject *prim_process(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    key_call kc;
    int value, out = 0, status;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_c_process(key, value)");
        return NULL;
    }
    kc.state = get_state(self);
    if (kc.state->calls_dict == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "mylib._mylib_capi: setup() has not run, or the module was cleared");
        return NULL;
    }
    kc.key = PyLong_AsLongLong(args[0]);
    value = (int)PyLong_AsLong(args[1]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    status = mylib_process(key_trampoline, &kc, value, &out);
    return PyLong_FromLong(status);
}

static PyObject *prim_add(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    int a, b;
    (void)self;
    if (nargs != 2 || !PyLong_CheckExact(args[0]) || !PyLong_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "_c_add(a, b) takes two exact ints");
        return NULL;
    }
    if (!exact_c_int(args[0], &a) || !exact_c_int(args[1], &b)) {
        PyErr_SetString(PyExc_OverflowError, "_c_add: an argument does not fit a C int");
        return NULL;
    }
    return PyLong_FromLongLong(mylib_add_packed(a, b));
}

/* The message of the call that just returned `status` on this thread, read in
   one C call with the code (no Python code can run in between). */
static PyObject *prim_message(PyObject *self, PyObject *arg) {
    long status = PyLong_AsLong(arg);
    const char *text;
    (void)self;
    if (status == -1 && PyErr_Occurred()) {
        return NULL;
    }
    text = mylib_last_error() == (int)status ? mylib_last_error_message() : mylib_status_str((int)status);
    return PyUnicode_DecodeUTF8(text, (Py_ssize_t)strlen(text), "replace");
}

static PyObject *library_address(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyLong_FromVoidPtr((void *)&mylib_version);
}

/* ------------------------------------------------------------------ setup */
/* The fast functions; each module state has its own copy (module_exec), whose
   ml_doc setup() sets to the API's docstring. */
static const PyMethodDef fast_def_templates[FAST_COUNT] = {
    {"add", (PyCFunction)(void (*)(void))fast_add, METH_FASTCALL | METH_KEYWORDS, NULL},
    {"sum_array", (PyCFunction)(void (*)(void))fast_sum_array, METH_FASTCALL | METH_KEYWORDS, NULL},
    {"fast_sum", (PyCFunction)(void (*)(void))fast_fast_sum, METH_FASTCALL | METH_KEYWORDS, NULL},
    {"process", (PyCFunction)(void (*)(void))fast_process, METH_FASTCALL | METH_KEYWORDS, NULL},
};

/* setup(calls, callback_result, fail, slow_paths: dict name -> function, docs: dict name -> str, module_name)
   -> dict name -> the fast builtin, whose docstring is the API's and whose
   __self__ is this module (its state). Once per module. */
static PyObject *setup(PyObject *self, PyObject *args) {
    module_state *state = get_state(self);
    PyObject *calls, *cb_result, *fail, *slows, *doc_map, *module_name, *out;
    int i;
    if (!PyArg_ParseTuple(args, "O!OOO!O!U", &PyDict_Type, &calls, &cb_result, &fail, &PyDict_Type, &slows,
                          &PyDict_Type, &doc_map, &module_name)) {
        return NULL;
    }
    if (state->calls_dict != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "mylib._mylib_capi.setup runs once");
        return NULL;
    }
    out = PyDict_New();
    if (out == NULL) {
        return NULL;
    }
    for (i = 0; i < FAST_COUNT; i++) {
        PyObject *name = PyUnicode_FromString(state->fast_defs[i].ml_name);
        PyObject *f = name ? PyDict_GetItemWithError(slows, name) : NULL;
        PyObject *doc = name ? PyDict_GetItemWithError(doc_map, name) : NULL;
        PyObject *fn;
        const char *text;
        Py_ssize_t len;
        if (f == NULL || doc == NULL || !PyUnicode_Check(doc)) {
            Py_XDECREF(name);
            Py_DECREF(out);
            if (!PyErr_Occurred()) {
                PyErr_Format(PyExc_KeyError, "setup: no slow path or doc for %s", state->fast_defs[i].ml_name);
            }
            return NULL;
        }
        Py_INCREF(f);
        Py_XDECREF(state->slow_paths[i]);
        state->slow_paths[i] = f;
        /* The method definition outlives the str: a copy, freed with the module. */
        text = PyUnicode_AsUTF8AndSize(doc, &len);
        if (text != NULL) {
            char *copy = (char *)PyMem_Malloc((size_t)len + 1);
            if (copy == NULL) {
                PyErr_NoMemory();
            } else {
                memcpy(copy, text, (size_t)len + 1);
                PyMem_Free(state->docs[i]);
                state->docs[i] = copy;
                state->fast_defs[i].ml_doc = copy;
            }
        }
        fn = PyErr_Occurred() ? NULL : PyCFunction_NewEx(&state->fast_defs[i], self, module_name);
        if (fn == NULL || PyDict_SetItem(out, name, fn) < 0) {
            Py_XDECREF(fn);
            Py_DECREF(name);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(fn);
        Py_DECREF(name);
    }
    Py_INCREF(calls);
    state->calls_dict = calls;
    Py_INCREF(cb_result);
    state->callback_result = cb_result;
    Py_INCREF(fail);
    state->fail_function = fail;
    return out;
}

static PyMethodDef module_methods[] = {
    {"setup", setup, METH_VARARGS, "Creates the fast functions (called once per module by mylib.capi)."},
    {"_c_add", (PyCFunction)(void (*)(void))prim_add, METH_FASTCALL, "Primitive: mylib_add_packed."},
    {"_c_process", (PyCFunction)(void (*)(void))prim_process, METH_FASTCALL, "Primitive: mylib_process with user_data = key."},
    {"_c_message", prim_message, METH_O, "Primitive: the message of the status just returned."},
    {"library_address", library_address, METH_NOARGS, "Where mylib_version is in the library this module uses."},
    {NULL, NULL, 0, NULL},
};

/* ------------------------------------------------------------------ the module */
static int module_exec(PyObject *module) {
    module_state *state = get_state(module);
    if (state == NULL) {
        return -1;
    }
    memcpy(state->fast_defs, fast_def_templates, sizeof state->fast_defs);
    return 0;
}

static int module_traverse(PyObject *module, visitproc visit, void *arg) {
    module_state *state = get_state(module);
    int i;
    if (state == NULL) {
        return 0;
    }
    Py_VISIT(state->calls_dict);
    Py_VISIT(state->callback_result);
    Py_VISIT(state->fail_function);
    for (i = 0; i < FAST_COUNT; i++) {
        Py_VISIT(state->slow_paths[i]);
    }
    return 0;
}

/* Drops the objects; the method definitions and docstrings stay (a fast
   function still alive during a collection may be asked for its __doc__). */
static int module_clear(PyObject *module) {
    module_state *state = get_state(module);
    int i;
    if (state == NULL) {
        return 0;
    }
    Py_CLEAR(state->calls_dict);
    Py_CLEAR(state->callback_result);
    Py_CLEAR(state->fail_function);
    for (i = 0; i < FAST_COUNT; i++) {
        Py_CLEAR(state->slow_paths[i]);
    }
    return 0;
}

/* The module is freed: no fast function (each holds the module) is left. */
static void module_free(void *module) {
    module_state *state = get_state((PyObject *)module);
    int i;
    module_clear((PyObject *)module);
    if (state == NULL) {
        return;
    }
    for (i = 0; i < FAST_COUNT; i++) {
        PyMem_Free(state->docs[i]);
        state->docs[i] = NULL;
    }
}

/* Py_mod_multiple_interpreters and its values are in the stable ABI from
   3.12 on; the limited API 3.11 headers this module is built with do not name
   them, so their stable values are spelled here. */
#ifdef Py_mod_multiple_interpreters
#define MOD_MULTIPLE_INTERPRETERS Py_mod_multiple_interpreters
#define MOD_PER_INTERPRETER_GIL_SUPPORTED Py_MOD_PER_INTERPRETER_GIL_SUPPORTED
#else
#define MOD_MULTIPLE_INTERPRETERS 3
#define MOD_PER_INTERPRETER_GIL_SUPPORTED ((void *)2)
#endif

/* No state outside the module's, nothing process-wide in Python objects: any
   interpreter, with its own GIL, may import it (3.12+; before 3.12 every
   multi-phase module may be imported by any interpreter). */
static PyModuleDef_Slot module_slots[] = {
    {MOD_MULTIPLE_INTERPRETERS, MOD_PER_INTERPRETER_GIL_SUPPORTED}, /* 3.12+ only: see PyInit__mylib_capi */
    {Py_mod_exec, (void *)module_exec},
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "mylib._mylib_capi",
    "The hot paths of mylib's API in C, for mylib.capi (see mylib/capi.py).", sizeof(module_state), module_methods,
    module_slots, module_traverse, module_clear, module_free,
};

PyMODINIT_FUNC PyInit__mylib_capi(void) {
    /* Python 3.11 refuses a slot it does not know (SystemError): there the
       slots start after Py_mod_multiple_interpreters. 3.11 has one GIL for all
       interpreters, so this write cannot race; from 3.12 on nothing is written. */
    if (Py_Version < 0x030C0000) {
        module_def.m_slots = module_slots + 1;
    }
    return PyModuleDef_Init(&module_def);
}
