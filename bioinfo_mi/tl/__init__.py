"""Analysis tools on AnnData (scanpy style): ``lmi``, ``pmi``, ``markov_test``, ``interaction_roc``."""

from .interactions import HoldoutSplit, holdout_splits, interaction_roc, role_log_ratios, split_arrays
from .lmi import lmi, pmi
from .markov import markov_test

__all__ = ["lmi", "pmi", "markov_test", "interaction_roc", "holdout_splits", "split_arrays", "role_log_ratios",
           "HoldoutSplit"]
