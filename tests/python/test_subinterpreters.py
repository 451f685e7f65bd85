"""``import mylib`` in subinterpreters with their own GIL (issue 17).

The C API backend is a multi-phase module whose Python objects all live in its
module state, and it declares ``Py_mod_multiple_interpreters =
Py_MOD_PER_INTERPRETER_GIL_SUPPORTED``: in a ``concurrent.interpreters``
interpreter (CPython 3.14+) ``import mylib`` picks capi, works and prints
nothing. Where capi cannot load, the fallback past the cffi modules (which
are single-phase, so refused there) is silent too.

Each test runs a real ``concurrent.interpreters`` scenario in a child process
and checks all of its output: the subinterpreters assert (a failure comes back
to the main interpreter with its traceback), the main interpreter prints what
the test expects, and stderr must stay empty: nothing printed by an import,
no ignored exception, no "remaining subinterpreters" warning. They run
wherever ``concurrent.interpreters`` exists and skip, saying so, elsewhere;
``test_private_api_subinterpreter_on_3_12_and_3_13`` checks the declaration on
the versions that have subinterpreters only through private modules.
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap

import pytest

import helpers
from helpers import run_python

CPYTHON = sys.implementation.name == "cpython"
HAS_INTERPRETERS = CPYTHON and importlib.util.find_spec("concurrent.interpreters") is not None
needs_interpreters = pytest.mark.skipif(
    not HAS_INTERPRETERS,
    reason=f"concurrent.interpreters is CPython 3.14+ ({sys.implementation.name} {sys.version.split()[0]} has none)",
)


@pytest.fixture
def capi():
    """These tests are about the C API backend: it must be there (as it is wherever the package is built, or
    installed from its cp311-abi3 wheel, on CPython 3.11+)."""
    if not helpers.capi_is_built():
        pytest.skip(f"mylib.capi is not built (no _mylib_capi extension in {helpers.package_dir()}; run 'make python')")


#: What every subinterpreter checks with ``exercise(k)``: the fast paths (exact
#: ints, buffers read in place, a sum large enough to release the GIL and use
#: threads), the API's own paths (keywords, conversions, errors with their
#: codes), both callback trampolines (the fast one; the API's, through _calls).
EXERCISE = """
import array, mylib
assert mylib.BACKEND == "capi", mylib.BACKEND
ints = array.array("i", range(1000))
big = array.array("d", [0.5]) * (1 << 20)  # 8 MiB: the GIL released, threads
def exercise(k):
    assert mylib.add(k, 1) == k + 1
    assert mylib.add(a=k, b=2) == k + 2
    try:
        mylib.add(2**31 - 1, 1)
    except mylib.MylibOverflowError as e:
        assert e.code == 3, e.code
    else:
        raise AssertionError("no overflow")
    assert mylib.sum_array(ints) == 499500
    assert mylib.sum_array([k, 1, 2]) == k + 3
    assert mylib.fast_sum(memoryview(big)) == 0.5 * (1 << 20)
    assert mylib.fast_sum([0.1] * 10) == 1.0
    assert mylib.process(lambda v: v * 2, k) == 2 * k
    assert mylib.process(callback=lambda v: v - 1, value=k) == k - 1
    assert mylib.greeting("sub") == "Hello, sub!"
"""

#: The child's prelude. ``run(interp, *pieces, **shared)`` executes the pieces
#: of code (each dedented) in a subinterpreter, with ``shared`` in its
#: ``__main__``, and raises its failure in main with the subinterpreter's
#: traceback; ``EXERCISE`` is the code above.
PRELUDE = f"""
import sys, textwrap, threading, time
from concurrent import interpreters
EXERCISE = {EXERCISE!r}

def run(interp, *pieces, **shared):
    if shared:
        interp.prepare_main(**shared)
    try:
        interp.exec("\\n".join(textwrap.dedent(p) for p in pieces))
    except interpreters.ExecutionFailed as e:
        raise AssertionError(e.excinfo.errdisplay) from None
"""


def check(code: str, expected: str, **kwargs) -> None:
    """Runs ``PRELUDE + code`` in a child process: its stdout must be ``expected``, its stderr empty."""
    proc = run_python(PRELUDE + textwrap.dedent(code), **kwargs)
    out, err = proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
    assert err == "", f"the child printed to stderr:\n{err}\n(stdout: {out!r})"
    assert out == expected


@needs_interpreters
def test_import_picks_capi_works_and_prints_nothing(capi):
    """import mylib in a concurrent.interpreters interpreter: capi, every function right, not a byte printed."""
    check(
        """
        interp = interpreters.create()
        run(interp, "import mylib")
        run(interp, EXERCISE, "exercise(7)")
        run(interp, "print(mylib.BACKEND, mylib.add(2, 3), mylib.process(lambda v: v * v, 7), flush=True)")
        interp.close()
        """,
        "capi 5 49\n",
    )


@needs_interpreters
def test_each_interpreter_has_its_own_module(capi):
    """Main and two subinterpreters, each with its own _mylib_capi module (and state), imported in any order;
    twenty more created, used and closed: main's module keeps working throughout."""
    check(
        """
        import mylib
        a = interpreters.create()
        b = interpreters.create()
        run(a, EXERCISE, "exercise(1)")
        assert mylib.process(lambda v: v + 1, 1) == 2
        run(b, EXERCISE, "exercise(2)")
        run(a, "exercise(3)")
        for i in range(20):
            c = interpreters.create()
            run(c, EXERCISE, "exercise(k)", k=i)
            c.close()
            assert mylib.process(lambda v: v * 3, i) == 3 * i and mylib.add(i, i) == 2 * i
            assert mylib.process(callback=lambda v: v * 3, value=i) == 3 * i  # main's _calls, through its state
        run(b, "exercise(4)", "import mylib._mylib_capi as ext", "assert mylib.add.__self__ is ext")
        a.close()
        b.close()
        assert mylib.process(callback=abs, value=-5) == 5
        assert [f.__doc__ for f in (mylib.add, mylib.process)] == [mylib._api.add.__doc__, mylib._api.process.__doc__]
        print(mylib.BACKEND, mylib.add.__self__.__name__)
        """,
        "capi mylib._mylib_capi\n",
    )


@needs_interpreters
def test_interpreter_call_runs_mylib_functions(capi):
    """Interpreter.call(mylib.add, ...) sends the function by reference: the subinterpreter imports mylib and
    runs its own copy; an error comes back as ExecutionFailed naming the mylib exception."""
    check(
        """
        import mylib
        interp = interpreters.create()
        print(interp.call(mylib.add, 2, 3), interp.call(mylib.process, abs, -3), interp.call(mylib.sum_array, [1, 2, 3]))
        try:
            interp.call(mylib.add, 2**31 - 1, 1)
        except interpreters.ExecutionFailed as e:
            print(e.excinfo.type.__name__)
        print(interp.call(mylib.fast_sum, [0.1] * 10))
        interp.close()
        """,
        "5 3 6\nMylibOverflowError\n1.0\n",
    )


#: Run in a subinterpreter by the fallback test: capi made unavailable, the
#: cffi modules refused, ctypes used.
_FALLBACK = """
sys.modules["mylib._mylib_capi"] = None  # capi unavailable
import mylib
assert mylib.BACKEND == "ctypes", mylib.BACKEND
assert mylib.add(2, 3) == 5 and mylib.process(lambda v: v * v, 7) == 49
for name in ("cffi_compiled", "cffi_binding"):
    try:
        __import__("mylib." + name)
    except ImportError:
        pass
    else:
        raise AssertionError("mylib." + name + " was imported in an isolated subinterpreter")
"""


@needs_interpreters
@pytest.mark.parametrize("cffi_importable", [True, False], ids=["cffi-importable", "cffi-missing"])
def test_fallback_past_the_cffi_modules_is_silent(cffi_importable):
    """Where capi cannot load in a subinterpreter, import mylib falls back past the single-phase cffi modules
    to ctypes without printing. (3.14 runs a single-phase init in the main interpreter and printed its failure,
    "Exception while importing from subinterpreter: ... No module named '_cffi_backend'", where cffi is missing.)"""
    hide = "" if cffi_importable else "sys.modules['_cffi_backend'] = None  # as if cffi were not installed"
    check(
        f"""
        {hide}
        interp = interpreters.create()
        run(interp, "import sys", {hide!r}, {_FALLBACK!r})
        interp.close()
        print("silent")
        """,
        "silent\n",
    )


@needs_interpreters
def test_many_interpreters_import_and_call_at_once_in_threads(capi):
    """Four subinterpreters, each on its own thread with its own GIL, import mylib at the same moment and call
    everything 100 times while the main interpreter makes callbacks too."""
    check(
        """
        import mylib
        errors = []
        start = threading.Barrier(5)
        def worker(interp):
            try:
                start.wait()
                run(interp, EXERCISE, "for k in range(100): exercise(k)")
            except BaseException as e:
                errors.append(e)
        interps = [interpreters.create() for _ in range(4)]
        threads = [threading.Thread(target=worker, args=(i,)) for i in interps]
        for t in threads:
            t.start()
        start.wait()
        for k in range(5000):
            assert mylib.process(lambda v: v + 1, k) == k + 1
        for t in threads:
            t.join()
        for i in interps:
            i.close()
        print(errors)
        """,
        "[]\n",
        timeout=300,
    )


#: A subinterpreter's loop: exercise() until main puts anything in to_b.
_LOOP = """
from concurrent import interpreters
exercise(0)
from_b.put("started")
k = 0
while True:
    exercise(k)
    k += 1
    try:
        to_b.get_nowait()
        break
    except interpreters.QueueEmpty:
        pass
"""


@needs_interpreters
def test_closing_an_interpreter_while_another_uses_the_module(capi):
    """One subinterpreter is closed (its module freed) while another calls mylib in a loop on its own thread,
    and the main interpreter's module is used meanwhile: nothing of the closed one is reached again."""
    check(
        f"""
        import mylib
        a, b = interpreters.create(), interpreters.create()
        run(a, EXERCISE, "exercise(1)", "keep = (mylib.add, mylib.process, mylib._api._calls)")
        to_b, from_b = interpreters.create_queue(), interpreters.create_queue()
        errors = []
        def busy():
            try:
                run(b, EXERCISE, {_LOOP!r}, to_b=to_b, from_b=from_b)
            except BaseException as e:
                errors.append(e)
        t = threading.Thread(target=busy)
        t.start()
        assert from_b.get(timeout=60) == "started"
        a.close()
        for k in range(200):
            assert mylib.process(lambda v: v - 1, k) == k - 1
        to_b.put("stop")
        t.join()
        b.close()
        print(errors, mylib.add(1, 2))
        """,
        "[] 3\n",
        timeout=120,
    )


#: Callbacks failing inside a subinterpreter, on both trampolines.
_RAISING = """
import mylib
assert mylib.BACKEND == "capi", mylib.BACKEND
def inner(v):
    raise LookupError(v)
def outer(v):
    return inner(v)
for call in (lambda: mylib.process(outer, 3), lambda: mylib.process(callback=outer, value=3)):
    try:
        call()
    except LookupError as e:
        names = []
        tb = e.__traceback__
        while tb is not None:
            names.append(tb.tb_frame.f_code.co_name)
            tb = tb.tb_next
        assert e.args == (3,) and "outer" in names and "inner" in names, names
    else:
        raise AssertionError("no LookupError")
def interrupt(v):
    raise KeyboardInterrupt
try:
    mylib.process(interrupt, 0)
except KeyboardInterrupt:
    pass
def deep(v):
    return mylib.process(deep, v + 1)
for _ in range(2):
    try:
        mylib.process(deep, 0)
    except RecursionError:
        pass
    else:
        raise AssertionError("no RecursionError")
for bad, exc in ((2**31, mylib.MylibOverflowError), (1.5, TypeError), (None, TypeError)):
    try:
        mylib.process(lambda v: bad, 0)
    except exc:
        pass
    else:
        raise AssertionError(repr(bad))
assert mylib.process(lambda v: v * 2, 21) == 42
"""


@needs_interpreters
def test_callback_exceptions_in_a_subinterpreter(capi):
    """Inside a subinterpreter a callback's exception propagates as itself with its frames, on both
    trampolines; the recursion limit is RecursionError; bad results follow the int rule; an exception left
    uncaught reaches the main interpreter as ExecutionFailed naming it."""
    check(
        f"""
        interp = interpreters.create()
        run(interp, {_RAISING!r})
        try:
            interp.exec("def cb(v):\\n    raise ValueError('from the callback')\\nmylib.process(cb, 1)")
        except interpreters.ExecutionFailed as e:
            print(e.excinfo.type.__name__, e.excinfo.msg, "in cb" in e.excinfo.errdisplay)
        interp.close()
        """,
        "ValueError from the callback True\n",
    )


#: The middle interpreter of the nesting test: its callback runs a third one.
_MIDDLE = """
import mylib
assert mylib.BACKEND == "capi", mylib.BACKEND
from concurrent import interpreters
third = interpreters.create()
third.exec("import mylib; assert mylib.BACKEND == 'capi', mylib.BACKEND")
def cb(v):
    third.prepare_main(v=v)
    third.exec("r = mylib.process(lambda x: x * 3, v); assert r == 3 * v, r")
    third.exec("r = mylib.process(callback=lambda x: x * 5, value=v); assert r == 5 * v, r")
    return v + 10
"""


@needs_interpreters
def test_interpreters_nested_on_one_thread(capi):
    """A callback in main runs a subinterpreter on the same thread, whose callback runs a third one: each
    mylib_process call on the C stack belongs to its own interpreter and returns its own result."""
    check(
        f"""
        import mylib
        sub = interpreters.create()
        run(sub, {_MIDDLE!r})
        def cb(v):
            run(sub, "assert mylib.process(cb, v) == v + 10", "assert mylib.process(callback=cb, value=v) == v + 10", v=v)
            return v + 100
        print(mylib.process(cb, 5), mylib.process(callback=cb, value=6))
        run(sub, "third.close()")
        sub.close()
        """,
        "105 106\n",
    )


_THREADS = """
import threading
errors = []
def work(n):
    try:
        for k in range(50):
            exercise(k + n)
    except BaseException as e:
        errors.append(e)
threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert not errors, errors
"""


@needs_interpreters
def test_threads_inside_a_subinterpreter(capi):
    """Threads started inside a subinterpreter share its module: eight of them call mylib at once."""
    check(
        f"""
        interp = interpreters.create()
        run(interp, EXERCISE, {_THREADS!r})
        interp.close()
        print("ok")
        """,
        "ok\n",
        timeout=300,
    )


_PRIVATE = """
try:
    import _interpreters as I  # 3.13
    create, run, destroy = (lambda: I.create("isolated")), I.exec, I.destroy
except ImportError:
    import _xxsubinterpreters as I  # 3.12
    create, run, destroy = (lambda: I.create(isolated=True)), I.run_string, I.destroy
interp = create()
try:
    failed = run(interp, CODE)
except Exception as e:  # 3.12 raises RunFailedError
    failed = e
destroy(interp)
print(failed)
"""

_PRIVATE_CODE = """
import array
try:
    import mylib
except ImportError as e:
    assert "_ctypes does not support loading in subinterpreters" in str(e), e
    raise
assert mylib.BACKEND == "capi", mylib.BACKEND
assert mylib.add(2, 3) == 5 and mylib.process(lambda v: v * v, 7) == 49
assert mylib.sum_array(array.array("i", range(10))) == 45 and mylib.process(callback=abs, value=-4) == 4
"""


@pytest.mark.skipif(not CPYTHON or not (3, 12) <= sys.version_info[:2] < (3, 14),
                    reason="isolated subinterpreters: none before 3.12 (nor on PyPy); 3.14+: the tests above")
def test_private_api_subinterpreter_on_3_12_and_3_13(capi):
    """3.13: an isolated subinterpreter (its own GIL) imports capi, silently: the declaration holds there.
    3.12: its _ctypes refuses isolated subinterpreters and mylib.capi makes its generic calls through ctypes,
    so import mylib fails there, with an ImportError that says so and nothing printed."""
    proc = run_python(f"CODE = {_PRIVATE_CODE!r}\n" + _PRIVATE)
    out = proc.stdout.decode()
    if sys.version_info[:2] == (3, 13):
        assert (out, proc.stderr) == ("None\n", b"")
    else:
        assert "ImportError" in out and "_ctypes does not support loading in subinterpreters" in out, out
        assert proc.stderr == b""


#: A legacy subinterpreter (shared GIL, single-phase modules allowed, as in
#: mod_wsgi) and main, both on the backend MYLIB_BACKEND names.
_LEGACY = """
import _interpreters, mylib
backend = mylib.BACKEND
code = '''
import mylib
assert mylib.BACKEND == %r, mylib.BACKEND
for k in range(100):
    assert mylib.process(lambda v: v + 7, k) == k + 7
    assert mylib.process(callback=lambda v: v * 2, value=k) == 2 * k
''' % backend
legacy = _interpreters.create("legacy")
for _ in range(2):
    failed = _interpreters.exec(legacy, code)
    assert failed is None, failed
    assert mylib.process(lambda v: v - 1, 5) == 4 and mylib.process(callback=abs, value=-3) == 3
_interpreters.destroy(legacy)
assert mylib.process(lambda v: v * 5, 3) == 15
print(backend)
"""


@needs_interpreters
@pytest.mark.parametrize("backend", list(helpers.BACKEND_NAME.values()))
def test_every_backend_in_a_legacy_subinterpreter_and_main(backend):
    """A legacy subinterpreter (shared GIL, where even the single-phase cffi modules load) and the main
    interpreter on the same backend: each interpreter's callbacks reach its own trampoline and Calls (cffi
    keeps extern "Python" functions per interpreter), before and after the subinterpreter is destroyed."""
    module = {v: k for k, v in helpers.BACKEND_NAME.items()}[backend]
    if not helpers.backend_available(module):
        pytest.skip(f"mylib.{module} is not available here")
    if not hasattr(__import__("_interpreters"), "create"):
        pytest.skip("this CPython's private _interpreters module has no create()")
    proc = run_python(_LEGACY, env={"MYLIB_BACKEND": backend})
    assert (proc.stdout.decode(), proc.stderr.decode()) == (backend + "\n", "")
