"""Hard float64 data for the distributed sums, from a seed: data whose sum a
float accumulator gets wrong in a way that depends on the order of the adds.

Every family is built so that its exact sum is known to be hard: massive
cancellation (condition numbers up to ~1e30), half-ulp ties decided by a
value 60 binades down, subnormals beside normal numbers, and exponents over
the whole double range. The reference is always computed independently of
mylib: ``math.fsum``, or exact integer arithmetic where ``math.fsum`` itself
fails (its intermediate overflow).
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import numpy as np

FAMILIES = ("cancel", "ties", "subnormal", "wide", "mixed")


def _cancel(rng: np.random.Generator, n: int) -> np.ndarray:
    """Pairs x, -x(1 + k eps) over 20 decades: the sum is a tiny residue of huge terms."""
    half = n // 2
    x = rng.standard_normal(half) * 10.0 ** rng.uniform(-10, 10, half)
    k = rng.integers(-3, 4, half).astype(np.float64)
    y = -x * (1.0 + k * 2.0**-52)
    out = np.concatenate([x, y, rng.standard_normal(n - 2 * half)])
    rng.shuffle(out)
    return out


def _ties(rng: np.random.Generator, n: int) -> np.ndarray:
    """Exact pairs x, -x (summing to exactly 0) around a half-ulp tie
    2**53 s + s ± 2**-60 s: the correctly rounded sum is decided by the tiny term."""
    s = 2.0 ** int(rng.integers(-40, 40))
    half = (n - 3) // 2
    x = rng.standard_normal(half) * s * 2.0 ** rng.uniform(0, 60, half)
    tail = np.array([2.0**53 * s, s, float(rng.choice([-1.0, 1.0])) * 2.0**-60 * s])
    out = np.concatenate([x, -x, tail, np.zeros(n - 3 - 2 * half)])
    rng.shuffle(out)
    return out


def _subnormal(rng: np.random.Generator, n: int) -> np.ndarray:
    """Subnormals (down to 2**-1074) beside cancelling normal numbers."""
    m = n // 3
    sub = rng.integers(-(2**52), 2**52, m).astype(np.float64) * 2.0**-1074
    x = rng.standard_normal(m) * 2.0 ** rng.uniform(-1022, -1000, m)
    out = np.concatenate([sub, x, -x * (1.0 + 2.0**-52), rng.standard_normal(n - 3 * m) * 2.0**-1070])
    rng.shuffle(out)
    return out


def _wide(rng: np.random.Generator, n: int) -> np.ndarray:
    """Exponents over the whole range (1e-300 to 1e300), both signs, half cancelling."""
    half = n // 2
    x = rng.choice([-1.0, 1.0], half) * 10.0 ** rng.uniform(-300, 300, half)
    out = np.concatenate([x, -x[: half // 2], rng.standard_normal(n - half - half // 2) * 10.0 ** rng.uniform(-300, 300, n - half - half // 2)])
    rng.shuffle(out)
    return out


def _mixed(rng: np.random.Generator, n: int) -> np.ndarray:
    parts = [_cancel, _ties, _subnormal]
    cuts = np.sort(rng.integers(0, n, 2))
    sizes = [int(cuts[0]), int(cuts[1] - cuts[0]), int(n - cuts[1])]
    out = np.concatenate([f(rng, k) if k >= 4 else np.zeros(k) for f, k in zip(parts, sizes)])
    rng.shuffle(out)
    return out


def hard(seed: int, n: int, family: str | None = None) -> np.ndarray:
    """``n`` hard float64 values from ``seed`` (family chosen by the seed unless given)."""
    rng = np.random.default_rng(seed)
    family = family or FAMILIES[int(rng.integers(len(FAMILIES)))]
    make = {"cancel": _cancel, "ties": _ties, "subnormal": _subnormal, "wide": _wide, "mixed": _mixed}[family]
    out = make(rng, n)
    assert out.shape == (n,) and out.dtype == np.float64 and np.isfinite(out).all()
    return out


def exact(values) -> float:
    """The correctly rounded sum, by exact integer arithmetic (every double is
    an integer multiple of 2**-1074): what math.fsum gives where it does not
    overflow, and a Python OverflowError where the exact sum is beyond the
    double range."""
    total = sum(int(Fraction(float(v)) * 2**1074) for v in values)
    return total / 2**1074  # int / int: correctly rounded (ties to even)


def bits(x: float) -> str:
    """The bits of a double, for bit-for-bit comparison (and readable failures)."""
    x = float(x)
    return "nan" if math.isnan(x) else f"{x.hex()} ({struct.unpack('<q', struct.pack('<d', x))[0]:#x})"


def random_cuts(rng: np.random.Generator, n: int, k: int) -> tuple:
    """Chunk sizes of ``k`` chunks covering ``n`` elements, cut at random
    points (repeated points make empty chunks)."""
    cuts = np.sort(rng.integers(0, n + 1, k - 1))
    edges = np.concatenate([[0], cuts, [n]])
    return tuple(int(c) for c in np.diff(edges))
