"""fast_sum against math.fsum on hard data from generators the library's own
tests do not use, on every backend and thread count, and ExactSum split at
random points and merged in random trees through bytes and pickle.

Not a pytest module (the suite's Hypothesis tests are test_exact.py): a
standalone run whose figures go into notes and reviews. Prints the counts and
exits 1 on the first difference, which it prints.

    PYTHONPATH=bindings/python .venv/bin/python tests/python/differential.py --seed 7 --cases 400
"""

from __future__ import annotations

import argparse
import importlib
import math
import pickle
import random
import struct
import sys

import numpy as np

import mylib

BACKENDS = ["capi", "cffi_compiled", "cffi_binding", "ctypes_binding"]


def gensum(n: int, log2_cond: float, rng: random.Random) -> list[float]:
    """Ogita, Rump and Oishi's GenSum (2005): n values whose sum has a
    condition number near 2**log2_cond, half of them chosen to cancel the
    running exact sum."""
    half = n // 2
    exps = [round(rng.random() * log2_cond / 2) for _ in range(half)]
    exps[0], exps[-1] = round(log2_cond / 2) + 1, 0
    x = [(2 * rng.random() - 1) * 2.0**e for e in exps]
    for i in range(half, n):
        e = round(log2_cond / 2 * (n - 1 - i) / max(1, n - 1 - half))
        x.append((2 * rng.random() - 1) * 2.0**e - math.fsum(x))
    rng.shuffle(x)
    return x


def any_exponents(n: int, rng: random.Random) -> list[float]:
    """Values and their negations over the whole exponent range, plus a small
    remainder: the exact sum is the remainder."""
    half = [rng.choice((-1, 1)) * math.ldexp(1 + rng.random(), rng.randint(-1070, 1020)) for _ in range(n // 2)]
    x = half + [-v for v in half] + [math.ldexp(rng.random(), rng.randint(-1074, 0))]
    rng.shuffle(x)
    return x


def ties(n: int, rng: random.Random) -> list[float]:
    """Half-ulp ties and near-ties around a large value, spread out in many
    small pieces: rounding to even decides."""
    big = math.ldexp(1 + rng.randint(0, 2**52 - 1) / 2**52, rng.randint(0, 900))
    ulp = math.ulp(big)
    pieces = rng.randint(1, max(1, n - 2))
    tail = rng.choice((0.0, math.ldexp(ulp, -60), -math.ldexp(ulp, -60)))
    x = [big] + [ulp / 2 / pieces] * pieces + [tail]
    if not math.isfinite(sum(x)):
        return [big]
    rng.shuffle(x)
    return x


def subnormals(n: int, rng: random.Random) -> list[float]:
    """Subnormals, the smallest normals and zeros of both signs."""
    pool = [5e-324, -5e-324, 2.2250738585072014e-308, -2.2250738585072009e-308, 0.0, -0.0]
    return [rng.choice(pool) * rng.randint(1, 9) if rng.random() < 0.5 else rng.choice(pool) for _ in range(n)]


def large(n: int, rng: random.Random) -> list[float]:
    """A large array (threads) of cancelling data: normal values, then the
    same values negated at other places, plus a few tiny ones."""
    a = np.random.default_rng(rng.randint(0, 2**32)).standard_normal(n // 2) * 10.0 ** rng.randint(-5, 200)
    x = np.concatenate([a, -a[::-1], [1e-300, 3e-310, 2.0**-60]])
    np.random.default_rng(rng.randint(0, 2**32)).shuffle(x)
    return x.tolist()


def check(name, got, want, data) -> None:
    same = (math.isnan(got) and math.isnan(want)) or struct.pack("<d", got) == struct.pack("<d", want)
    if not same:
        print(f"DIFFERENT: {name}: got {got!r}, math.fsum {want!r}; data[:8] {data[:8]!r} (n {len(data)})", file=sys.stderr)
        sys.exit(1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", type=int, default=400)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    mods = {b: importlib.import_module(f"mylib.{b}") for b in BACKENDS}
    gens = [
        ("GenSum", lambda: gensum(rng.choice((10, 100, 1000)), rng.choice((10, 50, 100, 200, 400, 700, 1000)), rng)),
        ("every exponent", lambda: any_exponents(rng.choice((10, 1000, 20_000)), rng)),
        ("ties", lambda: ties(rng.choice((3, 50, 5000)), rng)),
        ("subnormals", lambda: subnormals(rng.choice((5, 500, 5000)), rng)),
    ]
    counts = {name: 0 for name, _ in gens}
    counts["large, 1 and 2 threads"] = 0
    compared = 0
    for case in range(args.cases):
        name, gen = gens[case % len(gens)]
        if case % 20 == 19:
            name, data = "large, 1 and 2 threads", large(rng.choice((1_000_000, 3_000_000)), rng)
        else:
            data = gen()
        want = math.fsum(data)
        if not math.isfinite(want):
            continue
        arr = np.array(data)
        views = [arr, arr[::-1], np.asfortranarray(np.tile(arr, (2, 1)).T)[:, 0]]
        for b, m in mods.items():
            for threads in (1, 2) if len(data) > 500_000 else (None,):
                if threads:
                    m.set_num_threads(threads)
                for v in views:
                    check(f"{name}, {b}, threads {threads}", m.fast_sum(v), want, data)
                    compared += 1
            m.set_num_threads(0)  # the default again
        # ExactSum: random split points, merged in a random tree, through
        # bytes or pickle, on random backends.
        cuts = sorted(rng.sample(range(len(data) + 1), min(4, len(data) + 1)))
        parts = [arr[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
        accs = [getattr(mods[rng.choice(BACKENDS)], "ExactSum")(p) for p in parts]
        while len(accs) > 1:
            i = rng.randrange(len(accs) - 1)
            a, b = accs[i], accs.pop(i + 1)
            if rng.random() < 0.5:
                b = type(a).from_bytes(b.to_bytes())
            else:
                b = pickle.loads(pickle.dumps(b))
            accs[i] = a + b
        check(f"{name}, ExactSum merged", accs[0].value(), want, data)
        compared += 1
        counts[name] += 1
    print(f"seed {args.seed}: {sum(counts.values())} cases ({', '.join(f'{k} {v}' for k, v in counts.items())}), "
          f"{compared} results compared with math.fsum, all equal to the bit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
