"""The cost model behind ``method="auto"``: measured against predicted time (issue 29).

Three parts, on the machine it runs on (the constants in ``bioinfo_mi/estimators/_cost.py`` come from
the first two on the reference machine, 2 CPU cores):

1. ``kernel``: the exact neighbour search of one KSG estimate (``bm.mi(x, y, method="ksg")``, warm),
   Gaussian pairs with correlation 0.7 per coordinate, joint dimensions 2-1000, sample sizes chosen
   so that each run takes seconds. Per dimension a least-squares fit ``log t = log c + e log n``;
   the script prints the table ``KNN_COMPILED_TABLE`` of ``_cost.py`` (exponent ``e`` and ``c`` per
   dimension of the compiled kernel; the torch search above 200 dimensions is quadratic).
2. ``methods``: one estimate of each method that ``auto`` chooses among (``ksg``, ``ksg-calibrated``,
   ``lmi``) and of ``mine``/``infonce`` over sample sizes and dimensions, data with one shared
   direction of 1 bit (the rest independent noise, as in the issue's example): measured seconds,
   predicted seconds (``bm.estimators.predicted_seconds``), their ratio, and LMI's epochs.
3. ``auto``: ``bm.mi(x, y)`` (default ``auto``) at N = 20 000, d = 1000 + 1000 float32 (the issue's
   case: the target is 60 s), with the method it chose, its predicted and measured time, the
   estimate, and peak RSS; and at N = 5000, d = 200 + 200, where ``auto`` keeps ``ksg-calibrated``,
   beside LMI on the same data. Two kinds of 1-bit signal: in one column per side with no more
   variance than the noise columns (``one column``), and along a random direction that adds
   variance, as a programme shared by many genes does (``dense direction``).

    python benchmarks/bench_cost_model.py                     # all three parts (~25 min on 2 cores)
    python benchmarks/bench_cost_model.py --parts kernel      # the kernel table only (~5 min)
    python benchmarks/bench_cost_model.py --recompute         # predictions of the stored runs, current constants

``--recompute`` re-reads the stored CSVs and recomputes only the predictions (pure functions of the
sizes) with the constants now in ``_cost.py``: how the constants printed by a run are checked
against that run's measurements after they are copied into the package.

Results: ``benchmarks/results/cost_model_{kernel,methods,auto}.csv``, figure
``docs/figures/cost_model.png``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import machine, peak_rss, save_figure, write

import bioinfo_mi as bm
from bioinfo_mi.estimators import _cost

FIGURE = Path(__file__).resolve().parents[1] / "docs" / "figures" / "cost_model.png"
KERNEL_DIMS = [2, 4, 8, 16, 32, 64, 128, 200, 400, 1000]
#: (method, n_samples, d per side); sizes that take seconds to a minute or two each
METHOD_CASES = [
    *[("ksg", n, d) for n, d in [(5000, 5), (20000, 5), (5000, 50), (20000, 50), (5000, 150), (4000, 500)]],
    *[("ksg-calibrated", n, d) for n, d in [(5000, 5), (20000, 5), (5000, 50), (10000, 50), (5000, 200)]],
    *[("lmi", n, d) for n, d in [(2000, 5), (10000, 5), (2000, 100), (10000, 100), (2000, 1000), (10000, 1000)]],
    *[("mine", n, d) for n, d in [(2000, 5), (2000, 100)]],
    *[("infonce", n, d) for n, d in [(2000, 5), (2000, 100)]],
]


def shared_direction(n: int, d: int, seed: int, dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """``d + d`` columns sharing one Gaussian direction with 1 bit of MI; every other column is noise."""
    rng = np.random.default_rng(seed)
    rho = np.sqrt(1 - 2.0 ** (-2.0))  # -0.5 log2(1 - rho^2) = 1 bit
    z = rng.normal(size=n)
    x = rng.normal(size=(n, d)).astype(dtype)
    y = rng.normal(size=(n, d)).astype(dtype)
    x[:, 0] = z
    y[:, 0] = rho * z + np.sqrt(1 - rho**2) * rng.normal(size=n)
    return x, y


def correlated(n: int, d_joint: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian pairs of ``d_joint / 2`` dimensions per side, correlation 0.7 per coordinate pair."""
    rng = np.random.default_rng(seed)
    half = max(d_joint // 2, 1)
    x = rng.normal(size=(n, half))
    return x, 0.7 * x + np.sqrt(1 - 0.49) * rng.normal(size=(n, half))


def kernel_sizes(d: int) -> list[int]:
    """Sample sizes for dimension ``d``: from a few thousand to where one estimate takes ~5-10 s."""
    if d <= 8:
        return [10000, 40000, 160000]
    if d <= 32:
        return [5000, 20000, 60000]
    if d <= 128:
        return [4000, 10000, 20000]
    return [2000, 4000, 8000]


def part_kernel() -> pd.DataFrame:
    bm.mi(*correlated(500, 4, 0), method="ksg")  # compile the kernel outside the timing
    rows = []
    for d in KERNEL_DIMS:
        for n in kernel_sizes(d):
            x, y = correlated(n, d, 1)
            start = time.perf_counter()
            bm.mi(x, y, method="ksg")
            seconds = time.perf_counter() - start
            predicted = _cost.knn_seconds(n, n, d)
            rows.append(
                {
                    "d_joint": d,
                    "n_samples": n,
                    "seconds": seconds,
                    "predicted_seconds": predicted,
                    "ratio_measured_to_predicted": seconds / predicted,
                }
            )
            print(f"kernel d={d:5d} n={n:7d}: {seconds:8.3f} s (predicted {predicted:8.3f} s)", flush=True)
    table = pd.DataFrame(rows)
    print("\nFitted per dimension, log t = log c + e log n (compiled kernel up to 200 dimensions):")
    fits = []
    for d, group in table.groupby("d_joint"):
        e, log_c = np.polyfit(np.log(group.n_samples), np.log(group.seconds), 1)
        fits.append((int(d), float(np.exp(log_c)) / d, float(e)))
        print(f"  d={d:5d}: exponent of n {e:.3f} (queries x references^{e - 1:.3f}), c/d {np.exp(log_c) / d:.3e}")
    torch_rows = table[table.d_joint > 200]
    per = torch_rows.seconds / (torch_rows.n_samples**2 * torch_rows.d_joint)
    print(f"KNN_TORCH_SECONDS = {per.mean():.2e}  # mean over the runs above 200 dimensions")
    print("KNN_COMPILED_TABLE = (  # (joint dimension, seconds per query x reference^e x dimension, e - 1)")
    for d, c, e in fits:
        if d <= 200:
            print(f"    ({d}, {c:.3e}, {e - 1:.3f}),")
    print(")")
    return table


def part_methods() -> pd.DataFrame:
    rows = []
    for method, n, d in METHOD_CASES:
        x, y = shared_direction(n, d, seed=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bm.EstimateWarning)
            start = time.perf_counter()
            res = bm.mi(x, y, method=method, random_state=0)
            seconds = time.perf_counter() - start
        predicted = bm.estimators.predicted_seconds(method, n, d, d)
        epochs = res.extra.get("n_epochs", np.nan)
        rows.append(
            {
                "method": method,
                "n_samples": n,
                "d": d,
                "seconds": seconds,
                "predicted_seconds": predicted,
                "ratio_measured_to_predicted": seconds / predicted,
                "lmi_epochs": epochs,
                "estimate_bits": res.mi,
                "truth_bits": 1.0,
            }
        )
        print(
            f"{method:15s} n={n:6d} d={d:4d}+{d:<4d}: {seconds:7.2f} s, predicted {predicted:7.2f} s "
            f"(ratio {seconds / predicted:5.2f}), {res.mi:.3f} bits, epochs {epochs}",
            flush=True,
        )
    table = pd.DataFrame(rows)
    fit_network_constants(table[table.method == "lmi"])
    return table


def fit_network_constants(lmi: pd.DataFrame) -> None:
    """Fit ``NET_PARAM_SECONDS`` and ``NET_STEP_SECONDS`` (non-negative least squares on the seconds per epoch
    of the LMI runs) and print them with the median epochs (``LMI_EPOCHS``)."""
    from scipy.optimize import nnls

    features, target = [], []
    for row in lmi.itertuples():
        params = _cost.lmi_parameters(row.d, 8, {}) * 2
        n_train, n_eval = row.n_samples - row.n_samples // 2, row.n_samples // 2
        steps = -(-n_train // 512)
        fixed = _cost.NET_OVERHEAD_SECONDS + _cost.knn_seconds(n_eval, n_eval, 16)
        features.append([params * (n_train + n_eval / 3), steps])
        target.append((row.seconds - fixed) / row.lmi_epochs)
    a, b = np.asarray(features, dtype=float), np.asarray(target)
    scale = a.max(axis=0)
    coef = nnls(a / scale, b)[0] / scale
    print("\nFitted on the LMI runs (seconds per epoch):")
    for name, value in zip(["NET_PARAM_SECONDS", "NET_STEP_SECONDS"], coef, strict=True):
        print(f"{name} = {value:.3e}")
    print(
        f"LMI_EPOCHS = {int(np.median(lmi.lmi_epochs))}  # median over the runs; range {lmi.lmi_epochs.min()}-"
        f"{lmi.lmi_epochs.max()}"
    )


def dense_direction(n: int, d: int, seed: int, dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """``d + d`` columns: isotropic noise plus one shared factor along a random direction of each side, scaled
    so that the projections carry 1 bit (the factor adds variance: a programme shared by many genes)."""
    rng = np.random.default_rng(seed)
    rho = np.sqrt(0.75)  # -0.5 log2(1 - rho^2) = 1 bit between the projections s z + e_x, s z + e_y
    s = np.sqrt(rho / (1 - rho))
    z = rng.normal(size=n)
    u, v = rng.normal(size=d), rng.normal(size=d)
    x = rng.normal(size=(n, d)) + s * np.outer(z, u / np.linalg.norm(u))
    y = rng.normal(size=(n, d)) + s * np.outer(z, v / np.linalg.norm(v))
    return x.astype(dtype), y.astype(dtype)


AUTO_CASES = [
    ("one column", 20000, 1000, "auto"),
    ("one column", 5000, 200, "auto"),
    ("one column", 5000, 200, "lmi"),
    ("dense direction", 20000, 1000, "auto"),
    ("dense direction", 5000, 200, "auto"),
    ("dense direction", 5000, 200, "lmi"),
]


def part_auto() -> pd.DataFrame:
    rows = []
    for signal, n, d, method in AUTO_CASES:
        make = shared_direction if signal == "one column" else dense_direction
        x, y = make(n, d, seed=3, dtype=np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bm.EstimateWarning)
            res, seconds, peak, _ = peak_rss(bm.mi, x, y, method=method, random_state=0)
        rss = peak / 2**30
        auto = res.extra.get("auto", {})
        rows.append(
            {
                "signal": signal,
                "call": f"bm.mi(method={method!r})",
                "n_samples": n,
                "d": d,
                "ran": res.method,
                "reason": auto.get("reason", ""),
                "predicted_seconds_chosen": bm.estimators.predicted_seconds(res.method, n, d, d),
                "seconds": seconds,
                "peak_rss_gib": rss,
                "estimate_bits": res.mi,
                "truth_bits": 1.0,
            }
        )
        print(
            f"{signal:15s} {method:5s} n={n} d={d}+{d}: ran {res.method} ({auto.get('reason', '')}), {seconds:.1f} s, "
            f"{rss:.2f} GiB peak RSS, {res.mi:.3f} bits",
            flush=True,
        )
    return pd.DataFrame(rows)


def figure(kernel: pd.DataFrame | None, methods: pd.DataFrame | None) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, table, ax in [("kernel (KSG)", kernel, axes[0]), ("methods", methods, axes[1])]:
        if table is None:
            ax.set_visible(False)
            continue
        key = "d_joint" if "d_joint" in table else "method"
        for label, group in table.groupby(key):
            ax.loglog(group.predicted_seconds, group.seconds, "o", label=str(label))
        lo = min(table.seconds.min(), table.predicted_seconds.min()) / 2
        hi = max(table.seconds.max(), table.predicted_seconds.max()) * 2
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
        ax.plot([lo, hi], [2 * lo, 2 * hi], "k:", lw=0.8)
        ax.plot([lo, hi], [lo / 2, hi / 2], "k:", lw=0.8)
        ax.set(xlabel="predicted seconds", ylabel="measured seconds", title=f"Cost model: {name}")
        ax.legend(fontsize=7, ncol=2)
    fig.suptitle(machine(), fontsize=8)
    save_figure(fig, FIGURE, tight=True)


def recompute() -> None:
    """Recompute the predictions of the stored runs with the current constants, rewrite CSVs and figure."""
    from _common import RESULTS

    kernel = pd.read_csv(RESULTS / "cost_model_kernel.csv")
    kernel["predicted_seconds"] = [
        _cost.knn_seconds(n, n, d) for n, d in zip(kernel.n_samples, kernel.d_joint, strict=True)
    ]
    kernel["ratio_measured_to_predicted"] = kernel.seconds / kernel.predicted_seconds
    methods = pd.read_csv(RESULTS / "cost_model_methods.csv")
    fit_network_constants(methods[methods.method == "lmi"])
    methods["predicted_seconds"] = [
        bm.estimators.predicted_seconds(m, n, d, d)
        for m, n, d in zip(methods.method, methods.n_samples, methods.d, strict=True)
    ]
    methods["ratio_measured_to_predicted"] = methods.seconds / methods.predicted_seconds
    auto = pd.read_csv(RESULTS / "cost_model_auto.csv")
    auto["predicted_seconds_chosen"] = [
        bm.estimators.predicted_seconds(m, n, d, d) for m, n, d in zip(auto.ran, auto.n_samples, auto.d, strict=True)
    ]
    for table, name in [(kernel, "cost_model_kernel"), (methods, "cost_model_methods"), (auto, "cost_model_auto")]:
        write(table, name)
    print(kernel.groupby("d_joint").ratio_measured_to_predicted.agg(["min", "max"]).round(2).to_string())
    print(methods.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(auto.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    figure(kernel, methods)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--parts", nargs="+", default=["kernel", "methods", "auto"], choices=["kernel", "methods", "auto"]
    )
    parser.add_argument("--recompute", action="store_true", help="recompute the stored runs' predictions")
    args = parser.parse_args()
    if args.recompute:
        recompute()
        return
    print(f"Cost model; {machine()}", flush=True)
    kernel = methods = None
    if "kernel" in args.parts:
        kernel = part_kernel()
        print(f"-> {write(kernel, 'cost_model_kernel')}")
    if "methods" in args.parts:
        methods = part_methods()
        print(f"-> {write(methods, 'cost_model_methods')}")
        print(methods.groupby("method").ratio_measured_to_predicted.describe().round(2).to_string())
    if "auto" in args.parts:
        print(f"-> {write(part_auto(), 'cost_model_auto')}")
    figure(kernel, methods)
    print(f"-> {FIGURE}")


if __name__ == "__main__":
    main()
