"""Time and peak memory at atlas size (issue 29): where an estimate spends them, stage by stage.

Data (``--input dense``, default): N pairs of ``d + d`` float32 columns (default 100 000 x 1000 + 1000,
0.75 GiB of input), one shared factor spread over the first 10 columns of each side (0.981 bits:
the two sides' projections on the factor correlate at 6.25 / 7.25), the rest noise.
``--input sparse``: counts of the same shape as scipy CSR float32 (about 10 % non-zero; the
factor raises the rates of the first 10 genes of both sides; no closed-form truth).
``--input backed``: the same counts written to two ``.h5ad`` files (by a child process, in
``--dir``, reused when present) and read back lazily (``anndata.read_h5ad(..., backed="r")``): the
process that measures never holds either matrix.

Stages, each timed with this process's peak RSS sampled every 50 ms (``_common.peak_rss``):

1. validation (``check_row_pair``: no copy of the inputs);
2. the duplicated-row check of the KSG family and LMI (``_warn_duplicates``, one block of rows at a time);
3. LMI's check for a count matrix (``Rows.is_counts``) and its standardisation statistics of one side (of
   ``log(1 + x)`` where it is counts, as LMI's default does since session 18);
4. ``bm.mi(x, y, method="lmi")`` (a full fit; ``--epochs`` caps the epochs);
   with ``--unscreened`` also ``bm.mi(x, y, method="lmi", screen=False)`` (every column: LMI's default until
   session 13, when issue 30's column screen became the default; session 12's ``--screen`` ran the screen as
   the extra fit, ``scale_dense_100000_1000_screen.csv``);
5. ``bm.mi(x, y)``, the default (``auto``: LMI here, by its cost rule), unless ``--no-auto``;
6. the neighbour kernel alone: KSG on as many 8 + 8-dimensional Gaussian pairs as LMI holds out
   (``N - min(N / 2, 50 000)``, its held-out latents), unless ``--no-knn``; where they are more than LMI's
   ``max_queries`` (200 000), also KSG with that many random query pairs against all of them, as LMI's default
   scores them since session 19 (``ksg_pointwise(..., queries=...)``).

    python benchmarks/bench_scale.py                          # N = 100 000, d = 1000 + 1000 (~6 min)
    python benchmarks/bench_scale.py --input sparse --d 2000  # sparse counts
    python benchmarks/bench_scale.py --n 20000 --epochs 0     # stages only
    python benchmarks/bench_scale.py --input backed --n 1000000 --d 2000 --no-auto   # 10^6 cells from disk
    python benchmarks/bench_scale.py --sweep 1000 10000 100000   # LMI beside latentmi (up to 10^4), one run
    python benchmarks/bench_scale.py --unscreened --no-auto --no-knn --tag screen   # LMI with and without the screen
    python benchmarks/bench_scale.py --device cuda --tag cuda   # the same table on a GPU machine
    python benchmarks/bench_scale.py --precision float32 --no-auto --no-knn --tag f32   # LMI trained in float32

``--device`` (default: CUDA where present, else CPU, as the package's own default) is passed to every
``method="lmi"`` fit; ``bm.mi(x, y)`` (``auto``) runs with the package's default device, which is the same; the
neighbour kernel (numba) runs on the CPU cores either way. ``--device cuda`` on a machine without CUDA stops before
any work. The CSV's ``device`` column says which device the LMI fits used. ``--precision`` (default: the preset's,
``"float32"``; ``"auto"``: bfloat16 on a CPU that multiplies it natively) is passed to the same fits; the CSV's
``precision`` column says which arithmetic their training used (issue 29, session 22).

Results: ``benchmarks/results/scale_<input>_<n>_<d>.csv``; ``--sweep``: ``scale_sweep_<d>.csv`` and
``docs/figures/scale_sweep_<d>.png`` (latentmi needs ``pip install -e ".[bench]"``). The figures of
earlier versions are in ``scale_100000_1000*.csv`` (written by this script's earlier form, which
copied the inputs to float64).
"""

from __future__ import annotations

import argparse
import multiprocessing
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from _common import machine, peak_rss, run_latentmi, save_figure, write

import bioinfo_mi as bm
from bioinfo_mi._rows import check_row_pair
from bioinfo_mi.estimators import PRESETS, ksg_pointwise
from bioinfo_mi.estimators._knn import _warn_duplicates
from bioinfo_mi.estimators._lmi import _standardization


def data(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``d + d`` float32 columns; a shared factor over the first 10 columns of each side."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n).astype(np.float32)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = rng.normal(size=(n, d)).astype(np.float32)
    m = min(10, d)
    x[:, :m] += 2.5 * z[:, None] / np.sqrt(m)
    y[:, :m] += 2.5 * z[:, None] / np.sqrt(m)
    return x, y


#: the true MI of :func:`data` in bits: each side's projection on the factor is 2.5 z + N(0, 1)
TRUTH_BITS = float(-0.5 * np.log2(1 - (6.25 / 7.25) ** 2))


def counts(n: int, d: int, seed: int = 0) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """``d + d`` Poisson counts as CSR float32, about 10 % non-zero; a shared factor raises the rates of the
    first 10 genes of both sides. Built 10 000 rows at a time (never dense whole)."""
    rng = np.random.default_rng(seed)
    sides: list[list[sp.csr_matrix]] = [[], []]
    for start in range(0, n, 10_000):
        m = min(10_000, n - start)
        z = rng.normal(size=(m, 1))
        for side in sides:
            rates = np.full((m, d), 0.1, dtype=np.float32)
            rates[:, :10] = np.exp(0.5 + 0.8 * (z + 0.3 * rng.normal(size=(m, 1))))
            side.append(sp.csr_matrix(rng.poisson(rates).astype(np.float32)))
    return sp.vstack(sides[0], format="csr"), sp.vstack(sides[1], format="csr")


def write_backed(n: int, d: int, folder: Path) -> tuple[Path, Path]:
    """Write :func:`counts` to ``folder/{x,y}_<n>_<d>.h5ad`` (unless there) from a child process."""
    paths = folder / f"x_{n}_{d}.h5ad", folder / f"y_{n}_{d}.h5ad"
    if not all(p.exists() for p in paths):
        folder.mkdir(parents=True, exist_ok=True)
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            pool.apply(_write_counts, (n, d, paths))
    return paths


def _write_counts(n: int, d: int, paths: tuple[Path, Path]) -> None:
    import anndata as ad

    for matrix, path in zip(counts(n, d), paths, strict=True):
        ad.AnnData(X=matrix).write_h5ad(path.with_suffix(".tmp"))
        path.with_suffix(".tmp").rename(path)


def load(args: argparse.Namespace):
    """The inputs of ``--input``, and their size in bytes (stored values and indices for sparse ones)."""
    if args.input == "dense":
        x, y = data(args.n, args.d)
        return x, y, x.nbytes + y.nbytes
    if args.input == "sparse":
        x, y = counts(args.n, args.d)
    else:
        import anndata as ad

        x, y = (ad.read_h5ad(p, backed="r").X for p in write_backed(args.n, args.d, Path(args.dir)))
    return x, y, sum((a.nnz if sp.issparse(a) else a.group["data"].shape[0]) * 8 for a in (x, y))


def sweep(ns: list[int], d: int, latentmi_max: int) -> None:
    """``bm.mi(x, y, method="lmi")`` and latentmi (its defaults, up to ``latentmi_max`` samples) on the dense
    data at each N: seconds, peak RSS and estimate beside the truth, in one run; a CSV and a figure."""
    rows = []
    for n in ns:
        x, y = data(n, d)
        runs = [("bioinfo_mi lmi", lambda x=x, y=y: bm.mi(x, y, method="lmi").mi)]
        if n <= latentmi_max:
            runs.append(("latentmi 0.1.3", lambda x=x, y=y: run_latentmi(x, y, 0)))
        for name, fn in runs:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                estimate, seconds, peak, start = peak_rss(fn)
            rows.append(
                {
                    "n_samples": n,
                    "d": d,
                    "estimator": name,
                    "seconds": seconds,
                    "peak_gib": peak / 2**30,
                    "added_gib": (peak - start) / 2**30,
                    "estimate_bits": estimate,
                    "truth_bits": TRUTH_BITS,
                }
            )
            print(
                f"N = {n:7d} {name:16s} {seconds:7.1f} s  +{(peak - start) / 2**30:.2f} GiB  "
                f"{estimate:.3f} bits (truth {TRUTH_BITS:.3f})",
                flush=True,
            )
    table = pd.DataFrame(rows)
    table["abs_error_bits"] = (table.estimate_bits - table.truth_bits).abs()
    wide = table.pivot(index="n_samples", columns="estimator", values="seconds")
    if wide.shape[1] == 2:
        print("\nlatentmi / ours, seconds:", (wide["latentmi 0.1.3"] / wide["bioinfo_mi lmi"]).round(1).to_dict())
    print(f"-> {write(table, f'scale_sweep_{d}')}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for name, group in table.groupby("estimator"):
        axes[0].loglog(group.n_samples, group.seconds, "o-", label=name)
        axes[1].semilogx(group.n_samples, group.estimate_bits, "o-", label=name)
    axes[1].axhline(TRUTH_BITS, color="k", ls="--", lw=1, label="truth")
    axes[0].set(xlabel="N", ylabel="seconds (2 cores)", title=f"time, d = {d} + {d}")
    axes[1].set(xlabel="N", ylabel="bits", title="estimate")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    print(f"-> {save_figure(fig, Path(__file__).resolve().parents[1] / 'docs' / 'figures' / f'scale_sweep_{d}.png')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=1000, help="columns per side")
    parser.add_argument("--input", choices=["dense", "sparse", "backed"], default="dense")
    parser.add_argument("--dir", default="/tmp/bioinfo_mi_scale", help="where --input backed keeps its files")
    parser.add_argument("--epochs", type=int, default=None, help="cap LMI's epochs (0: skip the fits)")
    parser.add_argument("--no-auto", action="store_true", help="skip the default bm.mi(x, y)")
    parser.add_argument("--unscreened", action="store_true", help="also bm.mi(x, y, method='lmi', screen=False)")
    parser.add_argument("--tag", default="", help="suffix of the CSV name")
    parser.add_argument("--no-knn", action="store_true", help="skip the KSG on latent-sized pairs")
    parser.add_argument("--sweep", type=int, nargs="+", help="instead: LMI and latentmi at these N (dense data)")
    parser.add_argument("--latentmi-max", type=int, default=10_000, help="largest N latentmi runs at in --sweep")
    parser.add_argument("--device", default=None, help="torch device of the LMI fits (cuda, cpu)")
    parser.add_argument("--precision", choices=["float32", "bfloat16", "auto"], default=None, help="of the LMI fits")
    args = parser.parse_args()
    if args.device is not None and torch.device(args.device).type == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: this machine has no CUDA device")
    if args.sweep:
        sweep(args.sweep, args.d, args.latentmi_max)
        return
    x, y, size = load(args)
    print(
        f"N = {args.n}, d = {args.d} + {args.d} {args.input} float32 ({size / 2**30:.2f} GiB); {machine()}", flush=True
    )
    rows = []

    def stage(name: str, fn, *a, **kw):
        out, seconds, peak, start = peak_rss(fn, *a, **kw)
        rows.append({"stage": name, "seconds": seconds, "peak_gib": peak / 2**30, "added_gib": (peak - start) / 2**30})
        print(f"{name:45s} {seconds:7.1f} s  peak {peak / 2**30:5.2f} GiB (+{(peak - start) / 2**30:.2f})", flush=True)
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xr, yr = stage("validation (check_row_pair)", check_row_pair, x, y, min_samples=2, method="lmi")
        stage("duplicated-row check (_warn_duplicates)", _warn_duplicates, xr, yr)
        counts = stage("count check (x: Rows.is_counts)", xr.is_counts)
        label = "LMI standardisation statistics (x" + (", of log1p)" if counts else ")")
        stage(label, _standardization, xr, "x", "local", counts)
        del xr, yr
        unscreened = [{"method": "lmi", "screen": False}] if args.unscreened else []
        fits = [] if args.epochs == 0 else [{"method": "lmi"}, *unscreened] + ([] if args.no_auto else [{}])
        for kw in fits:
            if args.epochs and kw:
                kw = {**kw, "epochs": args.epochs}
            if args.device is not None and kw:  # LMI's fits; auto keeps the package's default device
                kw = {**kw, "device": args.device}
            if args.precision is not None and kw:
                kw = {**kw, "precision": args.precision}
            label = f"bm.mi({', '.join(f'{k}={v!r}' for k, v in kw.items()) or 'x, y'})"
            res = stage(label, bm.mi, x, y, **kw)
            best = getattr(res, "best_epoch", None)  # LMI's; auto may run a KSG estimator
            rows[-1].update(estimate_bits=res.mi, n_epochs=res.extra.get("n_epochs"), best_epoch=best)
            rows[-1].update(n_queries=res.extra.get("n_queries"), precision=res.params.get("training_precision"))
            print(f"  estimate {res.mi:.4f} bits ({res.extra.get('n_epochs')} epochs, best {best})", flush=True)
        if not args.no_knn:
            n_est = args.n - min(args.n // 2, 50_000)
            zx, zy, _ = bm.datasets.correlated_gaussian(n_samples=n_est, d=8, rho=0.5, random_state=0)
            res = stage(f"KSG on {n_est} pairs of 8 + 8 dims", bm.mi, zx, zy, method="ksg")
            rows[-1].update(estimate_bits=res.mi, n_queries=n_est)
            m = PRESETS["default"].max_queries
            if m is not None and n_est > m:
                queries = np.sort(np.random.default_rng(0).choice(n_est, size=m, replace=False))
                label = f"KSG, {m} random queries of the {n_est}"
                pmi = stage(label, ksg_pointwise, zx, zy, queries=queries)
                rows[-1].update(estimate_bits=float(pmi.mean()), n_queries=m)
    truth = TRUTH_BITS if args.input == "dense" else np.nan
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    table = pd.DataFrame(rows).assign(n_samples=args.n, d=args.d, input=args.input, truth_bits=truth, device=device)
    tag = f"_{args.tag}" if args.tag else ""
    print(f"-> {write(table, f'scale_{args.input}_{args.n}_{args.d}{tag}')}")


if __name__ == "__main__":
    main()
