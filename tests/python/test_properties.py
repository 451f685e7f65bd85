"""Differential property tests: generated inputs go through every backend and
through the pure-Python model (``model.py``); the outcomes must be identical —
the same value of the same type (floats to the bit, NaN as NaN), or the same
exception class and code (the very same object for a callback's exception).

Deterministic and bounded: Hypothesis runs derandomized, without an example
database, ``MYLIB_HYPOTHESIS_EXAMPLES`` examples per test (default 150).
"""

from __future__ import annotations

import array
import contextlib
import enum
import math
import os
import struct
import sys
import tempfile
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import helpers
import model
import mylib

EXAMPLES = int(os.environ.get("MYLIB_HYPOTHESIS_EXAMPLES", "150"))
PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _backends():
    """Every backend that can run here (an unbuilt or unsupported one is left out, never the whole module)."""
    return [helpers.import_backend(name) for name in helpers.BACKEND_MODULES if helpers.backend_available(name)]


BACKENDS = _backends()


# ---------------------------------------------------------------- outcomes
def _value_key(v):
    if isinstance(v, float):
        return (float, "nan") if math.isnan(v) else (float, struct.pack("<d", v))
    return (type(v), v)


def outcome(fn, *args):
    """('ok', value key) or ('raise', class, code, the exception object)."""
    try:
        r = fn(*args)
    except BaseException as e:  # noqa: BLE001 - compared below
        return ("raise", type(e), getattr(e, "code", None), e)
    return ("ok", _value_key(r))


def _comparable(o):
    return o[:3]


def assert_agree(name: str, *args, model_fn=None, same_object=False):
    """Every backend's ``name(*args)`` has the model's outcome."""
    expected = outcome(model_fn or getattr(model, name), *args)
    for m in BACKENDS:
        got = outcome(getattr(m, name), *args)
        assert _comparable(got) == _comparable(expected), (m.BACKEND, name, args, got, expected)
        if same_object and expected[0] == "raise" and any(expected[3] is e for e in RAISED_BY_CALLBACKS):
            assert got[3] is expected[3], (m.BACKEND, "not the callback's own exception object", got, expected)


@contextlib.contextmanager
def c_stdout():
    """Captures what is written to file descriptor 1 (the C stdout)."""
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 1)
        box = {}
        try:
            yield box
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            tmp.seek(0)
            box["out"] = tmp.read()


# ---------------------------------------------------------------- strategies
class Indexable:
    """An object with ``__index__`` (accepted as an int)."""

    def __init__(self, v):
        self.v = v

    def __index__(self):
        return self.v

    def __repr__(self):
        return f"Indexable({self.v})"


class Color(enum.IntEnum):
    RED = 1
    HUGE = 2**40


NP_INT_TYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]

big_ints = st.one_of(
    st.integers(min_value=-(2**31) - 3, max_value=2**31 + 3),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 2**31 - 1, -(2**31), 2**31, -(2**31) - 1, 2**63, -(2**64)]),
)


@st.composite
def numpy_ints(draw):
    t = draw(st.sampled_from(NP_INT_TYPES))
    info = np.iinfo(t)
    return t(draw(st.integers(min_value=int(info.min), max_value=int(info.max))))


int_likes = st.one_of(
    big_ints,
    st.booleans(),
    numpy_ints(),
    big_ints.map(Indexable),
    st.sampled_from(list(Color)),
)
not_ints = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([Decimal("4.7"), Decimal("-0"), Fraction(1, 3), Fraction(10**10, 1), "1", b"1", None, 1j, [1],
                     np.float64(1.0), np.float32(2.5), np.bool_(True), object()]),
)
any_value = st.one_of(int_likes, not_ints)


# ---------------------------------------------------------------- add
@PROPERTY_SETTINGS
@given(any_value, any_value)
def test_add_agrees(a, b):
    """add(a, b) on every backend = the model, for ints of every size and type and for non-ints."""
    assert_agree("add", a, b)


# ---------------------------------------------------------------- strings
names = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=20),  # surrogates and NUL included
    st.text(max_size=20).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=20),
    st.binary(max_size=20).map(bytearray),
    st.binary(max_size=20).map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.sampled_from([None, 5, 1.5, ["a"]]),
)


@PROPERTY_SETTINGS
@given(names)
def test_greeting_agrees(name):
    """greeting(name) on every backend = the model: NUL, lone surrogates, non-UTF-8 bytes, wrong types."""
    assert_agree("greeting", name)


@PROPERTY_SETTINGS
@given(names)
def test_greet_agrees(name):
    """greet(name) writes exactly the model's bytes to the C stdout, or raises the model's exception, everywhere."""
    expected = outcome(model.greet_output, name)
    for m in BACKENDS:
        with c_stdout() as box:
            got = outcome(m.greet, name)
        if expected[0] == "ok":
            assert got == ("ok", (type(None), None)) and box["out"] == model.greet_output(name), (m.BACKEND, got, box)
        else:
            assert _comparable(got) == _comparable(expected) and box["out"] == b"", (m.BACKEND, got, expected, box)


points = st.one_of(
    st.tuples(any_value, any_value),
    st.tuples(int_likes, int_likes).map(lambda t: mylib.Point(*t)),
    st.sampled_from([None, (1,), (1, 2, 3), [1, 2], "12"]),
)


@PROPERTY_SETTINGS
@given(points)
def test_print_point_agrees(p):
    """print_point(p) writes the model's bytes, or raises the model's exception, everywhere."""
    expected = outcome(model.print_point_output, p)
    for m in BACKENDS:
        with c_stdout() as box:
            got = outcome(m.print_point, p)
        if expected[0] == "ok":
            assert got[0] == "ok" and box["out"] == model.print_point_output(p), (m.BACKEND, got, box)
        else:
            assert _comparable(got) == _comparable(expected) and box["out"] == b"", (m.BACKEND, got, expected, box)


# ---------------------------------------------------------------- buffers
DTYPES = ["<i4", ">i4", "=i4", "i1", "i2", "i8", "u4", "<f8", ">f8", "f4", "f2", "c16"]
special_floats = st.sampled_from([0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, -5e-324, 2.2250738585072014e-308,
                                  1.7976931348623157e308, -1.7976931348623157e308, 1e16, 1.0, 0.1])
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True), special_floats)


@st.composite
def numpy_buffers(draw):
    """numpy arrays (or memoryviews of them) of many dtypes, byte orders, layouts, alignments, writabilities."""
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    layout = draw(st.sampled_from(["c", "strided", "2d-c", "2d-f", "0d", "empty"]))
    n = {"empty": 0, "0d": 1}.get(layout, draw(st.integers(min_value=1, max_value=40)))
    if layout in ("2d-c", "2d-f"):
        n = 2 * ((n + 1) // 2)
    count = 2 * n if layout == "strided" else n
    offset = draw(st.sampled_from([0, 0, 1, 2, 4, 8]))
    raw = bytearray(count * dtype.itemsize + offset + 16)
    arr = np.frombuffer(raw, dtype=dtype, count=count, offset=offset)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        values = draw(st.lists(st.integers(int(info.min), int(info.max)), min_size=count, max_size=count))
    else:
        values = draw(st.lists(floats, min_size=count, max_size=count))
    with np.errstate(all="ignore"):
        arr[:] = np.array(values, dtype=object).astype(dtype) if count else arr
    if layout == "strided":
        arr = arr[::2]
    elif layout == "2d-c":
        arr = arr.reshape(2, n // 2)
    elif layout == "2d-f":
        arr = arr.reshape(n // 2, 2).T
    elif layout == "0d":
        arr = arr.reshape(())
    if draw(st.booleans()):
        arr.setflags(write=False)
    return memoryview(arr) if draw(st.booleans()) else arr


int_sequences = st.one_of(
    st.lists(int_likes, max_size=30),
    st.lists(any_value, max_size=5),
    st.lists(st.integers(-(2**31), 2**31 - 1), max_size=50).map(lambda v: array.array("i", v)),
    st.lists(st.integers(-(2**31), 2**31 - 1), max_size=50).map(tuple),
    st.sampled_from(["123", b"\x01\x02\x03\x04", bytearray(8), None, 7, iter([1, 2])]),
    numpy_buffers(),
)


@PROPERTY_SETTINGS
@given(int_sequences)
def test_sum_array_agrees(values):
    """sum_array on every backend = the model: sequences of any ints and non-ints, buffers of every dtype, byte order,
    layout and alignment."""
    if isinstance(values, type(iter([]))):
        values = list(values)  # an iterator is consumed once: give each its own copy
        for m in (model, *BACKENDS):
            assert outcome(m.sum_array, iter(values))[:3] == outcome(model.sum_array, iter(values))[:3]
        return
    assert_agree("sum_array", values)


float_sequences = st.one_of(
    st.lists(floats, max_size=70),
    st.lists(st.one_of(floats, int_likes, not_ints, st.sampled_from([10**400, Decimal("sNaN"), Fraction(10**400, 3)])), max_size=6),
    st.lists(floats, max_size=70).map(lambda v: array.array("d", v)),
    numpy_buffers(),
)


@PROPERTY_SETTINGS
@given(float_sequences)
def test_fast_sum_agrees(values):
    """fast_sum on every backend = the model to the bit: NaN, infinities, subnormals, -0.0, mixed element types,
    buffers of every dtype, byte order, layout and alignment."""
    assert_agree("fast_sum", values)


# ---------------------------------------------------------------- callbacks
class CallbackError(Exception):
    pass


#: The exception objects the generated callbacks raise (they must come out of process() as themselves).
RAISED_BY_CALLBACKS = [CallbackError("boom"), ValueError("v"), KeyError("k"), ZeroDivisionError("z"), OverflowError("o"),
                       KeyboardInterrupt(), mylib.MylibOverflowError(3, "fake")]


@st.composite
def callbacks(draw):
    kind = draw(st.sampled_from(["returns", "raises", "not-callable"]))
    if kind == "returns":
        result = draw(any_value)
        return lambda v: result
    if kind == "raises":
        exc = draw(st.sampled_from(RAISED_BY_CALLBACKS))

        def raising(v):
            raise exc

        return raising
    return draw(st.sampled_from([None, 5, "f"]))


@PROPERTY_SETTINGS
@given(callbacks(), any_value)
def test_process_agrees(callback, value):
    """process(callback, value) on every backend = the model: odd result types, raising callbacks (the very same
    exception object propagates), non-callables, odd values."""
    assert_agree("process", callback, value, same_object=True)


def test_the_model_of_fast_sum_is_exact():
    """The model is the correctly rounded exact sum, not a float sum: it tells the cases apart that a compensated sum
    gets wrong, and agrees with math.fsum where that is finite."""
    assert model.exact_sum([2.0**53, 1.0, 2.0**-60]) == 2.0**53 + 2
    assert model.exact_sum([2.0**53, 1.0]) == 2.0**53
    assert model.exact_sum([1e308, 1e308, -1e308]) == 1e308
    with pytest.raises(mylib.MylibOverflowError):
        model.exact_sum([1.7e308, 1.7e308])
    rng = np.random.default_rng(1)
    data = list(rng.standard_normal(1000) * 10.0 ** rng.uniform(-8, 8, 1000))
    assert model.exact_sum(data) == math.fsum(data)
    for m in BACKENDS:
        assert m.fast_sum(data) == model.exact_sum(data)
