"""The exact sum, from Python, on every backend: ``fast_sum`` gives the bits of
``math.fsum`` (and of the exact sum rounded once where ``math.fsum`` overflows
on the way), on generated hard data (cancellation up to condition numbers of
1e300, half-ulp ties, subnormals, every exponent); every float64 layout is read
in place; ``ExactSum`` adds, merges in any tree, through bytes and pickle, to
the bits of ``fast_sum`` of the whole, and refuses malformed bytes.

The reference (model.exact_sum) is independent of the package: ``fractions.Fraction``
sums exactly and ``float(Fraction)`` rounds once, ties to even.
"""

from __future__ import annotations

import array
import copy
import math
import os
import pickle
import random
import struct
import sys
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import helpers
import model
import mylib

EXAMPLES = int(os.environ.get("MYLIB_HYPOTHESIS_EXAMPLES", "150"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

OVERFLOW = "overflow"


def reference(values) -> object:
    """The exact sum rounded once (the test model's); NaN; an infinity; or OVERFLOW."""
    try:
        return model.exact_sum([float(v) for v in values])
    except mylib.MylibOverflowError:
        return OVERFLOW


def bits(x: float) -> str:
    return "nan" if math.isnan(x) else struct.pack("<d", x).hex()


def outcome(fn, *args) -> str:
    """The bits of fn(*args), or OVERFLOW when it raises MylibOverflowError."""
    try:
        return bits(fn(*args))
    except mylib.MylibOverflowError as e:
        assert e.code == 3 and isinstance(e, OverflowError)
        return OVERFLOW


def expected_outcome(values) -> str:
    r = reference(values)
    return r if r == OVERFLOW else bits(r)


def backends():
    return [helpers.import_backend(n) for n in helpers.BACKEND_MODULES if helpers.backend_available(n)]


BACKENDS = backends()


# ---------------------------------------------------------------- generators of hard data
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
subnormal = st.floats(min_value=-2.2250738585072014e-308, max_value=2.2250738585072014e-308, allow_subnormal=True)
any_exponent = st.builds(
    lambda sign, exp, frac: struct.unpack("<d", struct.pack("<Q", (sign << 63) | (exp << 52) | frac))[0],
    st.integers(0, 1), st.integers(0, 2046), st.integers(0, 2**52 - 1),
)


@st.composite
def cancelling(draw):
    """Values over the whole exponent range, their exact negations and a few
    left over, shuffled: the exact sum is the leftovers' sum, up to ~10^600
    below the largest values (condition numbers up to 1e300 and beyond)."""
    base = draw(st.lists(st.one_of(any_exponent, finite), min_size=1, max_size=60))
    rest = draw(st.lists(st.one_of(any_exponent, subnormal), max_size=3))
    values = [v for x in base for v in (x, -x)] + rest
    return draw(st.permutations(values))


@st.composite
def ties(draw):
    """A value, a value exactly half an ulp of it away, maybe a tiny value that
    breaks the tie, and balanced pairs that hide it in a longer sum."""
    big = draw(st.one_of(any_exponent, finite).filter(lambda x: x != 0 and abs(x) < 1e300))
    half = math.ulp(big) / 2
    breaker = draw(st.sampled_from([0.0, 5e-324, -5e-324, math.ulp(half) / 4]))
    values = [big, half if draw(st.booleans()) else -half, breaker]
    for k in range(draw(st.integers(0, 20))):
        x = big * (k + 0.5)
        values += [x, -x]
    return draw(st.permutations(values))


@st.composite
def near_overflow(draw):
    """Sums around the top of the range: intermediate overflow that cancels,
    and true overflow."""
    return draw(st.lists(st.floats(min_value=1e307, max_value=1.7976931348623157e308).map(
        lambda x: x if draw(st.booleans()) else -x), max_size=12))


hard_data = st.one_of(
    st.lists(finite, max_size=80),
    st.lists(subnormal, max_size=40),
    st.lists(any_exponent, max_size=80),
    cancelling(),
    ties(),
    near_overflow(),
    st.lists(st.one_of(finite, st.sampled_from([math.nan, math.inf, -math.inf, -0.0])), max_size=20),
)


# ---------------------------------------------------------------- fast_sum
def test_known_hard_cases(m):
    """The cases a compensated sum gets wrong, exactly."""
    assert m.fast_sum([2.0**53, 1.0, 2.0**-60]) == 2.0**53 + 2  # the exact sum is just above a tie
    assert m.fast_sum([2.0**53, 1.0]) == 2.0**53  # a tie, to even
    assert m.fast_sum([2.0**53, 3.0]) == 2.0**53 + 4
    assert m.fast_sum([1e308, 1e308, -1e308]) == 1e308  # math.fsum raises OverflowError here
    assert m.fast_sum([1e100, 1.0, -1e100, 1e-100]) == 1.0
    assert m.fast_sum([5e-324] * 1000) == 5e-324 * 1000
    assert bits(m.fast_sum([-0.0, -0.0])) == bits(0.0)  # an exact zero is +0.0, as math.fsum gives
    with pytest.raises(mylib.MylibOverflowError) as ei:
        m.fast_sum([1.7976931348623157e308, 2.0**970])  # MAX + half an ulp: a tie, to even = infinity
    assert ei.value.code == 3 and "beyond the range of double" in str(ei.value)
    assert m.fast_sum([1.7976931348623157e308, 2.0**970, -5e-324]) == 1.7976931348623157e308
    assert m.fast_sum([math.inf, 1.7e308, 1.7e308]) == math.inf  # an infinity decides: no overflow error
    assert math.isnan(m.fast_sum([math.inf, -math.inf, 1.0]))


@SETTINGS
@given(hard_data)
def test_fast_sum_is_the_exact_sum_rounded_once(values):
    """On every backend, lists and numpy arrays: the bits of the exact sum rounded once; the bits of math.fsum
    whenever that does not raise."""
    want = expected_outcome(values)
    try:
        fsum = bits(math.fsum(values))
    except OverflowError:
        fsum = None  # math.fsum's intermediate overflow (or a true one)
    except ValueError:
        fsum = "nan"  # math.fsum raises for inf + -inf; the rule here is NaN, as IEEE addition gives
    if fsum is not None:
        assert fsum == want
    arr = np.array(values, dtype=np.float64)
    for m in BACKENDS:
        assert outcome(m.fast_sum, values) == want, (m.BACKEND, values)
        assert outcome(m.fast_sum, arr) == want, m.BACKEND
        assert outcome(m.fast_sum, arr[::-1]) == want, m.BACKEND


@pytest.mark.parametrize("kappa, n", [(k, n) for k in (1e0, 1e8, 1e16, 1e30, 1e100, 1e300) for n in (100, 10_000)]
                         + [(1e0, 600_000), (1e30, 600_000)])
def test_cancelling_data_at_every_condition_number(m, kappa, n):
    """Shuffled data whose exact sum is sum(|x|) / kappa: the bits of math.fsum at every condition number, from one
    block to many on several threads (600,000 values: past the threshold of a second thread)."""
    rng = np.random.default_rng(int(math.log10(kappa)) * 7 + n)
    x = rng.standard_normal(n // 2) * 10.0 ** rng.uniform(-150, 150, n // 2)
    values = np.concatenate([x, -x])
    target = float(np.abs(values).sum()) / kappa
    values[0] += target
    rng.shuffle(values)
    want = math.fsum(values)
    assert m.fast_sum(values).hex() == want.hex()


LAYOUTS = {
    "column": lambda a: a.reshape(-1, 8)[:, 3],
    "reversed": lambda a: a[::-1],
    "every-other-reversed": lambda a: a[::-2],
    "fortran-2d": lambda a: np.asfortranarray(a.reshape(-1, 8)),
    "transposed": lambda a: a.reshape(-1, 8).T,
    "3d-slice": lambda a: a.reshape(-1, 4, 2)[1::3, ::-1, :1],
    "0-d": lambda a: a[5, ...] if a.ndim == 1 else a,
    "broadcast": lambda a: np.broadcast_to(a[:16], (5, 16)),
    "misaligned": lambda a: np.frombuffer(b"\0" + a.tobytes(), dtype=np.float64, offset=1),
    "misaligned-strided": lambda a: np.frombuffer(b"\0" + a.tobytes(), dtype=np.float64, offset=1)[::3],
    "structured-field": lambda a: _structured(a)["x"],
    "memoryview-slice": lambda a: memoryview(array.array("d", a.tobytes()))[::5],
    "empty-2d": lambda a: a[:0].reshape(0, 3),
}


def _structured(a):
    s = np.zeros(len(a), dtype=[("tag", "u1"), ("x", "<f8")])  # packed: the field is misaligned, stride 9
    s["x"] = a
    return s


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_every_layout_is_read_in_place(m, layout):
    """C and Fortran order, n-dimensional, strided, reversed, broadcast, misaligned and structured-field views: the
    exact sum of exactly the values the view shows."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal(4000) * 10.0 ** rng.uniform(-20, 20, 4000)
    a[::7] = -a[1::7][: len(a[::7])]  # some cancellation
    view = LAYOUTS[layout](a)
    shown = np.array(view, dtype=np.float64).ravel().tolist()
    want = expected_outcome(shown)
    assert outcome(m.fast_sum, view) == want
    acc = m.ExactSum()
    acc.add(view)
    assert outcome(acc.value) == want
    assert acc.count == len(shown)


#: Child-process prelude: every backend this interpreter can import.
CHILD_BACKENDS = """
import importlib
def all_backends():
    found = []
    for name in ("ctypes_binding", "cffi_binding", "cffi_compiled", "capi"):
        try:
            found.append(importlib.import_module("mylib." + name))
        except ImportError:
            pass
    return found
"""


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS as Linux applies it")
def test_a_huge_strided_view_is_not_copied():
    """A view of 2^26 values over 16 KiB of memory (strides 0 and 8) sums under an address-space limit below what a
    copy would need (512 MiB), on every backend, in a child process."""
    code = CHILD_BACKENDS + """
import resource, numpy as np
from numpy.lib.stride_tricks import as_strided
backends = all_backends()
base = np.arange(2048, dtype=np.float64) * 0.5
huge = as_strided(base, shape=(2**15, 2048), strides=(0, 8), writeable=False)
want = 2**15 * float(base.sum())
with open("/proc/self/status") as f:
    vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (vm + (256 << 20),) * 2)
try:
    np.ascontiguousarray(huge)
    raise SystemExit("the limit is too high to tell a copy: a copy succeeded")
except MemoryError:
    pass
for m in backends:
    assert m.fast_sum(huge) == want, m.BACKEND
    acc = m.ExactSum()
    acc.add(huge)
    assert acc.value() == want, m.BACKEND
print("ok", len(backends))
"""
    out = helpers.run_python(code, timeout=600).stdout.decode()
    assert out.startswith("ok"), out


def test_other_dtypes_stay_type_errors(m):
    """Only native float64 is summed in place; every other dtype is TypeError, never a silent conversion."""
    for bad in (np.ones(3, np.float32), np.ones(3, np.int64), np.ones(3, ">f8" if sys.byteorder == "little" else "<f8"),
                np.ones(3, np.complex128), np.ones(3, np.float32)[::2], np.array([1, 2], dtype=object)):
        with pytest.raises(TypeError):
            m.fast_sum(bad)
        with pytest.raises(TypeError):
            m.ExactSum().add(bad)


def test_a_non_default_rounding_mode_changes_nothing():
    """With the C rounding mode set upward (or toward zero) in the calling thread, the sums are still the exact sum
    rounded to nearest: the library sees the mode and takes its integer-only path (in a child process, so this
    interpreter's own arithmetic is left alone)."""
    if sys.platform != "linux":
        pytest.skip("fesetround through the C library of this platform")
    code = CHILD_BACKENDS + """
import ctypes, platform
import numpy as np
libm = ctypes.CDLL("libm.so.6")
backends = all_backends()
values = [2.0**53, 1.0, 2.0**-60, 0.1, 0.2, 0.3, -0.6, 1e308, 1e308, -1e308]
data = np.array([0.1] * 1000 + [1e16, 1.0, -1e16] * 50)
def sums():
    return [(m.fast_sum(values), m.fast_sum(data), m.ExactSum(data).value()) for m in backends]
before = sums()
# <fenv.h> values: x86_64 (MXCSR/x87 control bits) and aarch64 (FPCR.RMode).
modes = {"upward": 0x800, "toward zero": 0xc00, "downward": 0x400} if platform.machine() == "x86_64" else \\
        {"upward": 0x400000, "toward zero": 0xc00000, "downward": 0x800000}
for name, mode in modes.items():
    assert libm.fesetround(mode) == 0, name
    assert libm.fegetround() == mode, name
    after = sums()
    libm.fesetround(0)
    assert after == before, (name, after, before)
print("ok", len(backends), before[0][0].hex())
"""
    out = helpers.run_python(code).stdout.decode()
    assert out.startswith("ok"), out


# ---------------------------------------------------------------- ExactSum
def test_exact_sum_basics(m):
    acc = m.ExactSum()
    assert acc.value() == 0.0 and float(acc) == 0.0 and acc.count == 0
    acc.add([2.0**53, 1.0])
    acc.add(2.0**-60)  # one value
    acc.add(np.float64(0.0))  # a numpy scalar: a 0-d buffer
    assert acc.value() == 2.0**53 + 2 and acc.count == 4
    assert isinstance(acc, mylib._api.ExactSum)
    assert repr(acc) == f"ExactSum(value={2.0**53 + 2!r}, count=4)"
    acc.reset()
    assert (acc.value(), acc.count) == (0.0, 0)
    b = m.ExactSum([1e308, 1e308])
    with pytest.raises(mylib.MylibOverflowError):
        b.value()
    assert repr(b) == "ExactSum(value=overflow, count=2)"
    b.add(-1e308)
    assert b.value() == 1e308
    b.add([math.inf])
    assert b.value() == math.inf
    b.add(-math.inf)
    assert math.isnan(b.value())


def test_exact_sum_rejects_what_it_cannot_sum(m):
    acc = m.ExactSum()
    for bad in ("1.0", b"12345678", None, 1 + 2j, [1.0, "x"], object()):
        with pytest.raises(TypeError):
            acc.add(bad)
    with pytest.raises(mylib.MylibOverflowError):
        acc.add(10**400)
    assert acc.count == 0, "failed adds change nothing"
    with pytest.raises(TypeError):
        acc.merge([1.0])
    with pytest.raises(TypeError):
        acc + 1.0  # noqa: B018
    with pytest.raises(TypeError):
        m.ExactSum.from_bytes("MYXS")


def test_operators_and_copies(m):
    a, b = m.ExactSum([0.1] * 10), m.ExactSum([2.0**52])
    c = a + b
    # 10 x 0.1 is a little above 1 exactly: the exact sum rounds up, to 2^52 + 1.
    assert c.value() == 2.0**52 + 1 and a.value() == 1.0 and b.count == 1
    total = sum([a, b, c])
    assert total.value() == 2.0**53 + 2 and total.count == 22
    a += b
    assert a.value() == 2.0**52 + 1 and a.count == 11
    d = copy.copy(a)
    d.add(1.0)
    assert a.count == 11 and d.count == 12
    assert copy.deepcopy(d).to_bytes() == d.to_bytes()
    a.merge(a)  # with itself: doubles
    assert a.value() == 2.0**53 + 2 and a.count == 22


def test_bytes_and_pickle_round_trip(m):
    acc = m.ExactSum([1.5, -1e-300, 3e300, -3e300, 5e-324])
    b = acc.to_bytes()
    assert type(b) is bytes and len(b) == 288 and b[:5] == b"MYXS\x01"
    for data in (b, bytearray(b), memoryview(b), np.frombuffer(b, dtype=np.uint8)):
        back = m.ExactSum.from_bytes(data)
        assert back.to_bytes() == b and back.count == 5 and back.value() == acc.value()
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        p = pickle.loads(pickle.dumps(acc, protocol=proto))
        assert p.to_bytes() == b and isinstance(p, mylib._api.ExactSum)


def test_malformed_bytes_are_errors(m):
    """Every corruption of a serialized state is a clear error or a state that serialises back to the same bytes."""
    good = m.ExactSum([1.25, -7.5, 1e-310]).to_bytes()
    with pytest.raises(mylib.BadFormatError) as ei:
        m.ExactSum.from_bytes(good[:-1])
    assert ei.value.code == 10 and isinstance(ei.value, ValueError)
    assert "288 bytes" in str(ei.value)
    with pytest.raises(mylib.UnsupportedVersionError) as ei:
        m.ExactSum.from_bytes(good[:4] + b"\x02" + good[5:])
    assert ei.value.code == 11 and isinstance(ei.value, ValueError) and "version 2" in str(ei.value)
    for bad in (b"", b"MYXS", b"x" * 288, good + b"\0", good[:5] + b"\x08" + good[6:], good[:6] + b"\x01" + good[7:]):
        with pytest.raises(mylib.BadFormatError):
            m.ExactSum.from_bytes(bad)
    rng = random.Random(7)
    for i in range(300):
        corrupt = bytearray(good)
        for _ in range(rng.randint(1, 3)):
            corrupt[rng.randrange(len(corrupt))] = rng.randrange(256)
        try:
            s = m.ExactSum.from_bytes(bytes(corrupt))
        except (mylib.BadFormatError, mylib.UnsupportedVersionError):
            continue
        assert s.to_bytes() == bytes(corrupt), i
        try:
            s.value()
        except mylib.MylibOverflowError:
            pass


@SETTINGS
@given(hard_data, st.lists(st.integers(0, 10**6), max_size=5), st.randoms(use_true_random=False))
def test_any_split_and_merge_tree_gives_the_whole(values, cuts, rnd):
    """Split at any points, each part in its own ExactSum, then merged pairwise in a random tree, each merge through
    bytes or pickle or not: the bits of fast_sum of the whole, on every backend, and states merge across backends."""
    points = sorted({c % (len(values) + 1) for c in cuts} | {0, len(values)})
    parts = [values[a:b] for a, b in zip(points, points[1:])] or [[]]
    want = expected_outcome(values)
    for m in BACKENDS:
        states = [m.ExactSum(np.array(p, dtype=np.float64)) for p in parts]
        while len(states) > 1:
            i, j = sorted(rnd.sample(range(len(states)), 2))
            a, b = states[i], states.pop(j)
            how = rnd.randrange(3)
            if how == 1:
                b = m.ExactSum.from_bytes(b.to_bytes())
            elif how == 2:
                b = pickle.loads(pickle.dumps(b))
            a.merge(b)
        assert outcome(states[0].value) == want, m.BACKEND
        assert states[0].count == len(values)
        assert outcome(m.fast_sum, values) == want
    if len(BACKENDS) > 1:
        a, b = BACKENDS[0].ExactSum(values[: len(values) // 2]), BACKENDS[-1].ExactSum(values[len(values) // 2:])
        a.merge(b)
        assert outcome(a.value) == want, "across backends"


def test_threads_sharing_one_state(m):
    """Threads adding arrays, single values and merges to one ExactSum at once: nothing is lost or torn."""
    acc = m.ExactSum()
    per_thread = [np.full(20_000, 0.1) * (t + 1) for t in range(4)]
    errors = []

    def work(t):
        try:
            for _ in range(10):
                acc.add(per_thread[t])
                acc.add(1.0)
                other = m.ExactSum([2.0**-60])
                acc.merge(other)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    everything = [x for t in range(4) for x in per_thread[t].tolist() * 10] + [1.0] * 40 + [2.0**-60] * 40
    assert acc.count == len(everything)
    assert acc.value() == math.fsum(everything)  # finite all the way: math.fsum is the exact sum rounded once


def test_a_freed_state_is_never_used(m):
    """States made and dropped in loops (and in threads) free their C state once: no crash, no leak of handles."""
    for _ in range(2000):
        m.ExactSum([1.0]).merge(m.ExactSum([2.0]))
    acc = m.ExactSum.from_bytes(m.ExactSum([3.0]).to_bytes())
    del acc
