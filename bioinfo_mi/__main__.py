"""Command line: ``python -m bioinfo_mi demo`` estimates MI with shuffle controls on generated data
with a known answer (Algorithm 4 of the LMI paper) and prints the estimate beside the truth. The
default method is ``bm.mi``'s (``"auto"``), which runs LMI at the demo's default size (2000 samples
of 1000 + 1000 dimensions).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from . import datasets
from .api import mi


def demo(
    d: int,
    rank: int,
    n: int,
    mi_bits: float,
    n_shuffles: int,
    method: str,
    random_state: int | np.random.Generator | None,
    n_refits: int = 2,
) -> int:
    """Estimate MI with its standard error on Algorithm 4 data, plus a permutation test with
    ``n_shuffles`` shuffled pairings; print a summary.

    Parameters
    ----------
    d, rank, n, mi_bits
        Ambient dimension, dependence dimension, samples and true MI (bits) of
        :func:`bioinfo_mi.datasets.gaussian_low_rank`.
    n_shuffles, method, n_refits
        Passed to :func:`bioinfo_mi.mi` (with ``error_bars=True``).
    random_state
        Seed of the data and of the estimate (an int, a ``numpy.random.Generator``, drawn from by
        both, or None).

    Returns
    -------
    The exit status, 0.
    """
    from .uncertainty import parametric_p_value

    print(f"Algorithm 4 data: N={n}, d={d}, rank {rank}, true MI = {mi_bits:.3f} bits")
    x, y = datasets.gaussian_low_rank(d=d, rank=rank, n_samples=n, mi_bits=mi_bits, random_state=random_state)
    start = time.perf_counter()
    res = mi(x, y, method=method, random_state=random_state, error_bars=True, n_refits=n_refits, n_shuffles=n_shuffles)
    seconds = time.perf_counter() - start
    label = method if res.method == method else f"{method} ({res.method})"
    low, high = res.ci(0.95)
    print(
        f"  {label} estimate: {res.mi:.3f} +/- {res.se:.3f} bits (95% CI {low:.3f} to {high:.3f}; "
        f"error {res.mi - mi_bits:+.3f}; {seconds:.1f} s with error bars and shuffles)"
    )
    if res.null is not None:
        s = res.null
        resolution = 1 / (1 + len(s))
        p_text = (
            f"p <= {resolution:.3f} (the resolution of {len(s)} shuffles)"
            if res.p_value <= resolution
            else f"p = {res.p_value:.3f}"
        )
        line = (
            f"  shuffled pairings ({len(s)}): {s.mean():+.3f} +/- {s.std(ddof=1) if len(s) > 1 else 0:.3f} bits "
            f"(truth 0); permutation {p_text}"
        )
        p_t = parametric_p_value(res.mi, s)
        if p_t == p_t:  # not NaN: 2 or more shuffles with a spread
            line += f"; t test against the {len(s)} shuffles (SD estimated from them) p = {p_t:.2g}"
        print(line)
    return 0


#: Demo sizes: the default (LMI on 2000 samples of 1000 + 1000 dimensions, about a minute on 2 CPU cores)
#: and ``--quick`` (400 samples of 20 + 20 dimensions: 10 samples per dimension, where ``auto`` runs the
#: calibrated copula KSG; seconds on a CPU, used by the packaging smoke test). Explicit options win.
DEMO_SIZES = {
    "default": {"d": 1000, "n": 2000, "shuffles": 3, "refits": 2},
    "quick": {"d": 20, "n": 400, "shuffles": 1, "refits": 1},
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m bioinfo_mi`` and the ``bioinfo-mi`` script."""
    parser = argparse.ArgumentParser(prog="bioinfo-mi", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="MI with shuffle controls on Algorithm 4 data with known MI")
    default, quick = DEMO_SIZES["default"], DEMO_SIZES["quick"]
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"a small problem that runs in seconds on a CPU: d={quick['d']}, n={quick['n']}, "
        f"{quick['shuffles']} shuffle, {quick['refits']} refit (options given explicitly win)",
    )
    p.add_argument("--d", type=int, default=None, help=f"ambient dimension (default {default['d']})")
    p.add_argument("--rank", type=int, default=1, help="dimension of the dependence, the paper's k (default 1)")
    p.add_argument("--n", type=int, default=None, help=f"samples (default {default['n']})")
    p.add_argument("--mi", type=float, default=1.0, help="true MI in bits (default 1)")
    p.add_argument("--shuffles", type=int, default=None, help=f"shuffled controls (default {default['shuffles']})")
    p.add_argument("--method", default="auto", help="estimator (default auto: LMI at the default size)")
    p.add_argument(
        "--refits", type=int, default=None, help=f"extra fits behind LMI's standard error (default {default['refits']})"
    )
    p.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    size = {
        name: value if getattr(args, name) is None else getattr(args, name)
        for name, value in DEMO_SIZES["quick" if args.quick else "default"].items()
    }
    return demo(size["d"], args.rank, size["n"], args.mi, size["shuffles"], args.method, args.seed, size["refits"])


if __name__ == "__main__":
    raise SystemExit(main())
