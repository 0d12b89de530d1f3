"""Which genes carry the information: ``tl.markov_test(attribution=...)`` on the lineage simulator (issue 16).

Data: ``bm.datasets.simulate_lineage`` with the genes split into programs whose truth is recorded in
``adata.var``: ``--state-genes`` genes driven by the heritable clone state (readable at day 2),
``--fate-genes`` by the hidden late fate (sisters share it, day 2 does not see it), ``--cycle-genes``
by a non-heritable cell-cycle-like program (highly variable, no clone information), the rest noise.
``bm.pp.preprocess`` keeps the ``--hvg`` most highly variable genes (Appendix A.4.2).
``bm.tl.markov_test`` (LMI, default preset) with ``attribution`` scores every kept gene in both
comparisons, I(day 2; day 6) and I(day 6; sister day 6), on each side, from ``--pairings`` real
pairings against ``--shuffles`` shuffled ones; genes are ranked by ``z`` against the shuffle null
(the tool's ``rank``) and, as a variant, by the raw mean score.

Truth per comparison and side: the genes that, in that side's cells, carry what the pair shares.
For I(day 2; day 6) the clone-state genes (the hidden fate is not readable at day 2, so its genes
carry nothing about the early state); for the sisters every clone-informative gene. With
``--stage-specific f`` a fraction f of the clone-state genes read the state at one time point only
(alternately day 2 only, like progenitor markers, and day 6 only, like fate markers;
``simulate_lineage(stage_specific=f)``), and the truth of a side is ``var["informative_early"]`` or
``var["informative_late"]``. Baselines, computed on the same cells: the gene's variance
(log-normalised counts of that side's cells), scanpy's highly-variable-gene dispersion
(``dispersions_norm``) and the plain correlation of the gene between paired cells (mean over the same
number of random clone pairings). Two references beside them: a linear cross-prediction (held-out R²
of a ridge regression of each gene on the paired cell's first 16 principal components, half of the
clones to fit, half to score; the linear analogue of ``cross_r2``), and an oracle that knows the
clones' simulated states (``obs["true_clone_state"]``, ``obs["true_hidden_fate"]``) and ranks genes by
their squared correlation with them, one gene at a time: the ceiling of any per-gene ranking on these
cells (genes with small loadings cannot be told from noise even then). Metrics: precision at K, K the
number of truly informative genes kept by preprocessing (= recall at K), AUROC of truth against the
rest, for I(day 2; day 6) the AUROC of clone-state genes over hidden-fate genes ("state above fate"),
and for the sisters the AUROCs of hidden-fate and of clone-state genes over the uninformative ones
("both sets rank high"). ``margin_over_best_baseline`` is against the best of variance, dispersion and
correlation; ``margin_over_linear`` against the linear cross-prediction.

    python benchmarks/bench_attribution.py                       # default (both scores; 8-10 min on 2 cores)
    python benchmarks/bench_attribution.py --scores cross_r2 --seeds 0 1 2
    python benchmarks/bench_attribution.py --scores cross_r2 --stage-specific 0 0.5 1 --tag _stage
    python benchmarks/bench_attribution.py --adjust-for cell_type true_hidden_fate --seeds 0 1 2

``--adjust-for`` (issue 31): ``markov_test(adjust_for=..., attribution="cross_r2")`` ranks the genes by
what the pair shares beyond each obs column (the partial ``cross_r2``), scored against the side's
clone-state genes, beside the unadjusted ranking and the baselines against the same truth: the seed
(2) on which the sisters' unadjusted ranking took composition-shifted noise genes.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scanpy as sc
from _common import RESULTS, machine, save_figure, write
from scipy import stats

import bioinfo_mi as bm
from bioinfo_mi.tl._markov import EARLY_LATE, SISTERS

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"


def _auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a positive outscores a negative (ties count half)."""
    pos, neg = scores[positive], scores[~positive]
    if not len(pos) or not len(neg):
        return float("nan")
    ranks = stats.rankdata(np.r_[pos, neg])
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _precision_at(scores: np.ndarray, positive: np.ndarray, k: int) -> float:
    top = np.argsort(-scores, kind="stable")[:k]
    return float(positive[top].mean())


def _paired_correlation(adata, pairings) -> np.ndarray:
    """Per-gene Pearson correlation between clone-paired cells, mean over random pairings."""
    x = np.asarray(adata.X)
    out = []
    for p in pairings:
        a, b = x[p.cells_a], x[p.cells_b]
        a, b = a - a.mean(axis=0), b - b.mean(axis=0)
        denom = np.sqrt((a**2).sum(axis=0) * (b**2).sum(axis=0))
        out.append(np.divide((a * b).sum(axis=0), denom, out=np.zeros(a.shape[1]), where=denom > 0))
    return np.mean(out, axis=0)


def _linear_cross_prediction(
    adata, pairings, seed, n_components: int = 16, alpha: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Per-gene held-out R² of a linear cross-prediction, mean over random pairings (per side).

    The linear analogue of ``cross_r2``: for each pairing, half of the clones train a ridge regression
    of every gene of one cell on the first ``n_components`` principal components of its paired cell
    (PCA fitted on the training half), and the gene's R² is measured on the other half.
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(adata.X, dtype=float)
    scores = {"x": [], "y": []}
    for p in pairings:
        test = rng.permutation(len(p)) < len(p) // 2
        for side, (target, source) in {"x": (p.cells_a, p.cells_b), "y": (p.cells_b, p.cells_a)}.items():
            t_train, t_test = x[target[~test]], x[target[test]]
            s_train, s_test = x[source[~test]], x[source[test]]
            mean = s_train.mean(axis=0)
            _, sv, vt = np.linalg.svd(s_train - mean, full_matrices=False)
            basis = vt[:n_components].T / (sv[:n_components] / np.sqrt(len(s_train)))  # whitened PCs
            z_train, z_test = (s_train - mean) @ basis, (s_test - mean) @ basis
            t_mean = t_train.mean(axis=0)
            coef = np.linalg.solve(
                z_train.T @ z_train + alpha * np.eye(z_train.shape[1]), z_train.T @ (t_train - t_mean)
            )
            residual = t_test - t_mean - z_test @ coef
            total = ((t_test - t_test.mean(axis=0)) ** 2).sum(axis=0)
            r2 = 1 - np.divide((residual**2).sum(axis=0), total, out=np.ones_like(total), where=total > 0)
            scores[side].append(np.where(total > 0, r2, 0.0))
    return np.mean(scores["x"], axis=0), np.mean(scores["y"], axis=0)


def _oracle(x: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-gene sum of squared correlations with the (independent) true clone variables: the ranking a
    method reading one gene at a time would reach if it knew the clones' states."""
    xc = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    tc = (truth - truth.mean(axis=0)) / truth.std(axis=0)
    return (((xc.T @ tc) / len(x)) ** 2).sum(axis=1)


def _simulate(args: argparse.Namespace, seed: int, stage_specific: float):
    """The simulated cells, preprocessed (``--hvg`` genes kept), and their log-normalised counts on those genes."""
    adata = bm.datasets.simulate_lineage(
        n_clones=args.clones,
        n_genes=args.genes,
        program_genes=(args.state_genes, args.fate_genes),
        n_cycle_genes=args.cycle_genes,
        stage_specific=stage_specific,
        random_state=seed,
    )
    lognorm = adata.copy()
    sc.pp.normalize_total(lognorm, target_sum=1e4)
    sc.pp.log1p(lognorm)
    bm.pp.preprocess(adata, n_top_genes=args.hvg)
    return adata, lognorm[:, adata.var_names]


def _markov(adata, args: argparse.Namespace, seed: int, **options) -> float:
    """``tl.markov_test`` with the benchmark's pairings and shuffles (warnings silenced); its seconds."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bm.tl.markov_test(
            adata, n_pairings=args.pairings, n_shuffles=args.shuffles, random_state=seed, progress=False, **options
        )
    return time.perf_counter() - start


def run(
    args: argparse.Namespace, seed: int, score: str, stage_specific: float
) -> tuple[list[dict], pd.DataFrame, float]:
    adata, lognorm = _simulate(args, seed, stage_specific)
    seconds = _markov(adata, args, seed, attribution=score)
    result = adata.uns["markov_test"]
    table = result["attribution"].assign(seed=seed, score_name=score, stage_specific=stage_specific)
    program = adata.var["program"].astype(str).to_numpy()
    informative_early = adata.var["informative_early"].to_numpy()
    informative_late = adata.var["informative_late"].to_numpy()
    clone_state = np.char.startswith(program.astype(str), "clone_state")
    hidden = program == "hidden_fate"
    time_ = adata.obs["time"].to_numpy()
    well = adata.obs["well"].to_numpy()
    has_clone = adata.obs["clone"].notna().to_numpy()
    dispersion = adata.var["dispersions_norm"].to_numpy()
    x_log = lognorm.X.toarray() if hasattr(lognorm.X, "toarray") else np.asarray(lognorm.X)
    # truth per comparison and side: the genes that carry, in that side's cells, what the pair shares
    comparisons = {
        EARLY_LATE: (
            [clone_state & informative_early, clone_state & informative_late],
            ("time", (2.0, 6.0), None),
            [time_ == 2.0, time_ == 6.0],
        ),
        SISTERS: ([informative_late, informative_late], ("well", (1, 2), {"time": 6.0}), [well == 1, well == 2]),
    }
    x_scaled = np.asarray(adata.X)
    clone_vars = {
        EARLY_LATE: ["true_clone_state"],  # what day 2 can tell about day 6
        SISTERS: ["true_clone_state", "true_hidden_fate"],  # all that sisters share
    }
    rows = []
    for comparison, (truths, (key, conds, restrict), masks) in comparisons.items():
        pairings = bm.pp.draw_pairings(
            adata, condition_key=key, conditions=conds, restrict=restrict, n_pairings=args.pairings, random_state=seed
        )
        corr = _paired_correlation(adata, pairings)
        linear_x, linear_y = _linear_cross_prediction(adata, pairings, seed)
        linear = {"x": linear_x, "y": linear_y}
        for side, mask, truth in zip(("x", "y"), masks, truths, strict=True):
            k = int(truth.sum())
            part = table[(table.comparison == comparison) & (table.side == side)].set_index("gene")
            part = part.loc[adata.var_names]
            rankings = {
                f"LMI {score} (z vs shuffles)": -part["rank"].to_numpy(dtype=float),
                f"LMI {score} (raw score)": part["score"].to_numpy(),
                "variance": x_log[mask & has_clone].var(axis=0),
                "HVG dispersion": dispersion,
                "paired-cell correlation": corr,
                "linear cross-prediction (PCA + ridge)": linear[side],
                "oracle: r² with the true clone variables": _oracle(
                    x_scaled[mask & has_clone], adata.obs.loc[mask & has_clone, clone_vars[comparison]].to_numpy()
                ),
            }
            for method, values in rankings.items():
                row = {
                    "stage_specific": stage_specific,
                    "seed": seed,
                    "score": score,
                    "comparison": comparison,
                    "side": side,
                    "method": method,
                    "k_informative_kept": k,
                    "precision_at_k": _precision_at(values, truth, k),
                    "auroc": _auroc(values, truth),
                }
                if comparison == EARLY_LATE:
                    both = truth | hidden
                    row["auroc_state_over_fate"] = _auroc(values[both], truth[both])
                else:
                    carriers = clone_state & truth
                    row["auroc_fate_over_none"] = _auroc(values[hidden | ~truth], hidden[hidden | ~truth])
                    row["auroc_state_over_none"] = _auroc(values[carriers | ~truth], carriers[carriers | ~truth])
                rows.append(row)
    table["program"] = np.tile(program, len(table) // len(program))
    difference = float(result["difference"])
    print(
        f"stage_specific {stage_specific:g}, seed {seed} {score}: markov_test {seconds:.0f} s, "
        f"kept {adata.n_vars} genes "
        f"({int(clone_state.sum())} clone-state, {int(hidden.sum())} hidden-fate, "
        f"{int((program == 'cell_cycle').sum())} cell-cycle), difference {difference:.3f} bits, "
        f"p = {result['p_value']:.3g}"
    )
    return rows, table, seconds


def run_adjusted(args: argparse.Namespace, seed: int, stage_specific: float) -> tuple[list[dict], dict[str, float]]:
    """Attribution beyond an adjustment (issue 31): ``markov_test(adjust_for=..., attribution="cross_r2")`` for
    each of ``--adjust-for``, the unconditional fits shared through one cache. Every ranking is scored
    against the clone-state genes of the side: what a pair shares beyond the cell type or the hidden fate.
    """
    import tempfile

    adata, _ = _simulate(args, seed, stage_specific)
    program = adata.var["program"].astype(str).to_numpy()
    clone_state = np.char.startswith(program.astype(str), "clone_state")
    hidden, none = program == "hidden_fate", program == "none"
    informative = {"x": adata.var["informative_early"].to_numpy(), "y": adata.var["informative_late"].to_numpy()}
    time_, well = adata.obs["time"].to_numpy(), adata.obs["well"].to_numpy()
    has_clone = adata.obs["clone"].notna().to_numpy()
    x_scaled = np.asarray(adata.X)
    designs = {
        EARLY_LATE: (("time", (2.0, 6.0), None), [time_ == 2.0, time_ == 6.0]),
        SISTERS: (("well", (1, 2), {"time": 6.0}), [well == 1, well == 2]),
    }
    rows, seconds = [], {}
    with tempfile.TemporaryDirectory() as cache:
        for variant in args.adjust_for:
            seconds[variant] = _markov(adata, args, seed, attribution="cross_r2", adjust_for=variant, cache_dir=cache)
            result = adata.uns["markov_test"]
            tables = {"LMI cross_r2": result["attribution"]}
            tables[f"LMI cross_r2 given {variant}"] = result["adjusted"]["attribution"]
            for comparison, ((key, conds, restrict), masks) in designs.items():
                pairings = bm.pp.draw_pairings(
                    adata,
                    condition_key=key,
                    conditions=conds,
                    restrict=restrict,
                    n_pairings=args.pairings,
                    random_state=seed,
                )
                corr = _paired_correlation(adata, pairings)
                linear = dict(zip(("x", "y"), _linear_cross_prediction(adata, pairings, seed), strict=True))
                for side, mask in zip(("x", "y"), masks, strict=True):
                    truth = clone_state & informative[side]
                    rankings = {}
                    for name, table in tables.items():
                        part = table[(table.comparison == comparison) & (table.side == side)].set_index("gene")
                        rankings[name] = -part.loc[adata.var_names, "rank"].to_numpy(dtype=float)
                    rankings["paired-cell correlation"] = corr
                    rankings["linear cross-prediction (PCA + ridge)"] = linear[side]
                    cells = mask & has_clone
                    state = adata.obs.loc[cells, ["true_clone_state"]].to_numpy()
                    rankings["oracle: r² with the true clone state"] = _oracle(x_scaled[cells], state)
                    for method, values in rankings.items():
                        rows.append(
                            {
                                "adjust_for": variant,
                                "stage_specific": stage_specific,
                                "seed": seed,
                                "comparison": comparison,
                                "side": side,
                                "method": method.replace(f" given {variant}", " adjusted"),
                                "k_clone_state": int(truth.sum()),
                                "precision_at_k": _precision_at(values, truth, int(truth.sum())),
                                "auroc_state_over_fate": _auroc(values[truth | hidden], truth[truth | hidden]),
                                "auroc_state_over_none": _auroc(values[truth | none], truth[truth | none]),
                                "adjusted_mi": float(result["adjusted"]["summary"]["mi_mean"].iloc[-1]),
                            }
                        )
    print(f"seed {seed}, stage_specific {stage_specific:g}: markov_test seconds {seconds}")
    return rows, seconds


def figure(summary: pd.DataFrame, tables: pd.DataFrame, path: Path) -> Path:
    import matplotlib.pyplot as plt

    summary = summary.assign(stage_specific=summary.get("stage_specific", 0.0))
    tables = tables.assign(stage_specific=tables.get("stage_specific", 0.0))
    stages = sorted(summary.stage_specific.unique())
    sweep = summary
    summary, tables = summary[summary.stage_specific == stages[0]], tables[tables.stage_specific == stages[0]]
    fig, axes = plt.subplots(1, 3 if len(stages) > 1 else 2, figsize=(18 if len(stages) > 1 else 12, 4.2))
    ax = axes[0]
    groups = [(c, s) for c in (EARLY_LATE, SISTERS) for s in ("x", "y")]
    methods = list(dict.fromkeys(summary.method))
    width = 0.8 / len(methods)
    for j, method in enumerate(methods):
        values = [
            summary.loc[(summary.comparison == c) & (summary.side == s) & (summary.method == method), "precision_at_k"]
            for c, s in groups
        ]
        ax.bar(
            np.arange(len(groups)) + (j - (len(methods) - 1) / 2) * width,
            [v.mean() for v in values],
            width,
            label=method,
        )
    ax.axhline(0.8, color="k", lw=0.8, ls="--")
    ax.set_xticks(range(len(groups)), [f"{c}\nside {s}" for c, s in groups], fontsize=8)
    ax.set_ylabel("precision at K (K = informative genes kept)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0, -0.2), ncol=2)
    ax.set_title(f"top-ranked genes vs the simulator's truth (stage_specific {stages[0]:g})")
    ax = axes[1]
    programs = ["clone_state", "hidden_fate", "cell_cycle", "none"]
    default = tables[tables.score_name == tables.score_name.iloc[0]]
    for i, (c, s) in enumerate(groups):
        part = default[(default.comparison == c) & (default.side == s)]
        for j, prog in enumerate(programs):
            z = part.loc[part.program == prog, "z"].to_numpy()
            ax.boxplot(
                z[np.isfinite(z)],
                positions=[i + (j - 1.5) * 0.2],
                widths=0.17,
                patch_artist=True,
                boxprops={"facecolor": f"C{j}", "alpha": 0.6},
                flierprops={"markersize": 2},
                medianprops={"color": "k"},
            )
    for j, prog in enumerate(programs):
        ax.plot([], [], "s", color=f"C{j}", alpha=0.6, label=prog)
    ax.set_xticks(range(len(groups)), [f"{c}\nside {s}" for c, s in groups], fontsize=8)
    ax.set_yscale("symlog", linthresh=3)  # the carriers' z run to 100+, the others' stay within a few units
    ax.set_ylabel(f"z vs shuffles ({default.score_name.iloc[0]}, symlog)")
    ax.axhline(0, color="k", lw=0.6)
    ax.legend(fontsize=7, title="program", title_fontsize=7)
    ax.set_title("attribution by program")
    if len(stages) > 1:
        ax = axes[2]
        shown = [m for m in methods if "raw score" not in m and m not in ("variance", "HVG dispersion")]
        for j, method in enumerate(shown):
            for comparison, style in ((EARLY_LATE, "-"), (SISTERS, ":")):
                part = sweep[(sweep.method == method) & (sweep.comparison == comparison)]
                mean = part.groupby("stage_specific")["precision_at_k"].mean()  # over the two sides
                ax.plot(mean.index, mean.to_numpy(), style, marker="o", color=f"C{j}", label=f"{method}, {comparison}")
        ax.axhline(0.8, color="k", lw=0.8, ls="--")
        ax.set_xlabel("stage_specific (fraction of clone-state genes read at one time point only)")
        ax.set_ylabel("precision at K (mean of the two sides)")
        ax.set_ylim(0, 1)
        ax.legend(fontsize=6, loc="lower left")
        ax.set_title("stage-specific programs: day-2 vs day-6 markers")
    fig.tight_layout()
    return save_figure(fig, path, tight=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clones", type=int, default=1200)
    parser.add_argument("--genes", type=int, default=2000)
    parser.add_argument("--hvg", type=int, default=1000)
    parser.add_argument("--state-genes", type=int, default=150)
    parser.add_argument("--fate-genes", type=int, default=150)
    parser.add_argument("--cycle-genes", type=int, default=100)
    parser.add_argument("--pairings", type=int, default=3)
    parser.add_argument("--shuffles", type=int, default=3)
    parser.add_argument("--scores", nargs="+", default=["cross_r2", "permutation"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--stage-specific",
        type=float,
        nargs="+",
        default=[0.0],
        help="fractions of the clone-state genes that read the state at one time point only (simulate_lineage)",
    )
    parser.add_argument(
        "--adjust-for",
        nargs="+",
        default=None,
        help="obs columns to adjust for (issue 31): rank the genes beyond them, scored against the clone-state genes",
    )
    parser.add_argument("--tag", default="")
    parser.add_argument("--replot", action="store_true", help="redraw the figure from the CSVs of --tag")
    args = parser.parse_args()
    if args.replot:
        summary = pd.read_csv(RESULTS / f"attribution{args.tag}.csv")
        tables = pd.read_csv(RESULTS / f"attribution{args.tag}_genes.csv")
        print("figure:", figure(summary, tables, FIGURES / f"attribution{args.tag}.png"))
        return
    if args.adjust_for:
        main_adjusted(args)
        return
    rows, tables, times = [], [], {}
    for stage_specific in args.stage_specific:
        for score in args.scores:
            for seed in args.seeds:
                r, t, seconds = run(args, seed, score, stage_specific)
                rows += r
                tables.append(t)
                times[(stage_specific, score, seed)] = seconds
    runs = pd.DataFrame(rows)
    tables = pd.concat(tables, ignore_index=True)
    metrics = ["precision_at_k", "auroc", "auroc_state_over_fate", "auroc_fate_over_none", "auroc_state_over_none"]
    groups = ["stage_specific", "comparison", "side"]
    summary = runs.groupby([*groups, "method"], sort=False)[metrics].mean().reset_index()
    # margin of each ranking over the best of the baselines, per scenario, comparison and side,
    # and over the linear cross-prediction (a stronger reference than the issue asks for)
    baselines = ["variance", "HVG dispersion", "paired-cell correlation"]
    best = summary[summary.method.isin(baselines)].groupby(groups)["precision_at_k"].max().rename("best_baseline")
    linear = (
        summary[summary.method == "linear cross-prediction (PCA + ridge)"]
        .set_index(groups)["precision_at_k"]
        .rename("linear_reference")
    )
    summary = summary.join(best, on=groups).join(linear, on=groups)
    summary["margin_over_best_baseline"] = summary.precision_at_k - summary.best_baseline
    summary["margin_over_linear"] = summary.precision_at_k - summary.linear_reference
    summary = summary.drop(columns="linear_reference")
    write(runs, f"attribution{args.tag}_runs")
    write(tables, f"attribution{args.tag}_genes")
    write(summary, f"attribution{args.tag}")
    print(
        f"\nlineage simulator: {args.clones} clones, {args.genes} genes ({args.state_genes} clone-state, "
        f"{args.fate_genes} hidden-fate, {args.cycle_genes} cell-cycle), {args.hvg} HVGs kept; "
        f"{args.pairings} pairings + {args.shuffles} shuffles per comparison; seeds {args.seeds}; "
        f"stage-specific fractions {args.stage_specific}; {machine()}"
    )
    print("markov_test seconds:", {"/".join(map(str, k)): round(v) for k, v in times.items()}, "\n")
    print(summary.to_markdown(index=False, floatfmt=".3f"))
    print("figure:", figure(summary, tables, FIGURES / f"attribution{args.tag}.png"))


def main_adjusted(args: argparse.Namespace) -> None:
    """``--adjust-for``: the attribution beyond each adjustment, per seed, against the unadjusted ranking."""
    rows, times = [], {}
    for stage_specific in args.stage_specific:
        for seed in args.seeds:
            r, seconds = run_adjusted(args, seed, stage_specific)
            rows += r
            times[(stage_specific, seed)] = seconds
    runs = pd.DataFrame(rows)
    metrics = ["precision_at_k", "auroc_state_over_fate", "auroc_state_over_none"]
    groups = ["adjust_for", "stage_specific", "comparison", "side", "method"]
    summary = runs.groupby(groups, sort=False)[metrics].mean().reset_index()
    per_seed = runs.pivot_table(index=groups, columns="seed", values="precision_at_k", sort=False)
    summary["precision_per_seed"] = [
        " / ".join(f"{v:.3f}" for v in per_seed.loc[tuple(row)]) for row in summary[groups].to_numpy()
    ]
    write(runs, f"attribution_adjusted{args.tag}_runs")
    write(summary, f"attribution_adjusted{args.tag}")
    print(
        f"\nlineage simulator: {args.clones} clones, {args.genes} genes, {args.hvg} HVGs kept; "
        f"{args.pairings} pairings + {args.shuffles} shuffles; seeds {args.seeds}; adjusted for {args.adjust_for}; "
        f"truth: the clone-state genes of each side; {machine()}"
    )
    print("markov_test seconds:", times, "\n")
    print(summary.to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
