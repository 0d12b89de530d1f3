"""Benchmark tasks, a runner and accuracy metrics (the evidence behind the estimators).

Modelled on the ``bmi`` benchmark (Czyż et al. 2023): a :class:`Task` is a sampler with a known
``I(X; Y)``; :func:`run_benchmark` runs estimators (any :data:`bioinfo_mi.METHODS` entry with
options) on tasks over seeds, in parallel and resumably, into a tidy table; :mod:`.metrics`
summarises it (MSE, bias, normalised RMSE, Spearman and Kendall rank correlations). The scripts in
``benchmarks/`` build the papers' figures from these pieces (see ``docs/benchmarks.md``).
"""

from .metrics import bias, kendall_tau, mse, normalized_rmse, spearman, summarize
from .representations import scvi_like_latent
from .resampling_tasks import digits_tasks, mnist_tasks, resampling_tasks, species_tasks
from .runner import Estimator, run_benchmark, sample_task
from .sc_tasks import counts_task, lineage_task, link_task, sc_suite, states_task
from .scale_tasks import (
    DEFAULT_TRIAL_DRAW,
    SCALE_BASES,
    base_parameter,
    scale_curve_tasks,
    scale_row_tasks,
    scale_task,
    trial_parameters,
)
from .tasks import Task, gaussian_task

__all__ = [
    "Task",
    "gaussian_task",
    "states_task",
    "counts_task",
    "link_task",
    "lineage_task",
    "sc_suite",
    "resampling_tasks",
    "digits_tasks",
    "mnist_tasks",
    "species_tasks",
    "Estimator",
    "run_benchmark",
    "sample_task",
    "summarize",
    "mse",
    "bias",
    "normalized_rmse",
    "spearman",
    "kendall_tau",
    "scvi_like_latent",
    "SCALE_BASES",
    "DEFAULT_TRIAL_DRAW",
    "base_parameter",
    "trial_parameters",
    "scale_task",
    "scale_row_tasks",
    "scale_curve_tasks",
]
