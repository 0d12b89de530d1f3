"""Analysis tools on AnnData (scanpy style): ``lmi``, ``pmi``, ``markov_test``, ``interaction_roc``."""

from ._interactions import HoldoutSplit, holdout_splits, interaction_roc, role_log_ratios, split_arrays
from ._lmi import lmi, pmi
from ._markov import markov_test

__all__ = ["lmi", "pmi", "markov_test", "interaction_roc", "holdout_splits", "split_arrays", "role_log_ratios",
           "HoldoutSplit"]
