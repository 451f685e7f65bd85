"""Every kernel path gives the same sums through the Python API:
MYLIB_KERNEL=portable (and avx2) caps the library's SIMD dispatch, and the
f64 kernels promise bit-identical results across paths."""

from __future__ import annotations

import json
import math

import pytest

from helpers import run_python

CODE = """
import json, math, random
import numpy as np
import mylib
rnd = random.Random(7)
out = {}
for n in (0, 1, 15, 16, 17, 1000, 100003):
    xs = np.array([rnd.gauss(0, 1) * 10 ** rnd.uniform(-8, 8) for _ in range(n)])
    ints = np.array([rnd.randint(-2**31, 2**31 - 1) for _ in range(n)], dtype=np.int32)
    out[n] = [mylib.fast_sum(xs).hex(), mylib.sum_array(ints), math.fsum(xs.tolist()).hex(), int(ints.astype(np.int64).sum())]
print(json.dumps(out))
"""


def sums(kernel: str | None) -> dict:
    return json.loads(run_python(CODE, env={"MYLIB_KERNEL": kernel}).stdout)


@pytest.mark.parametrize("kernel", ["portable", "avx2"])
def test_capped_dispatch_gives_identical_sums(kernel):
    """A capped dispatch (the fallbacks) returns bit-identical float sums and exact int sums."""
    best, capped = sums(None), sums(kernel)
    assert capped == best
    for n, (f, i, fsum, exact) in best.items():
        assert i == exact, n
        ref = float.fromhex(fsum)
        assert abs(float.fromhex(f) - ref) <= (0 if ref == 0 else math.ulp(ref)), n
