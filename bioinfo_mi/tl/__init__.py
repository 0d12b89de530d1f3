"""Analysis tools on AnnData (scanpy style): ``lmi``, ``pmi``, ``markov_test``, ``interaction_roc``."""

import warnings as _warnings

from ._interactions import interaction_roc
from ._lmi import lmi, pmi
from ._markov import markov_test

__all__ = ["lmi", "pmi", "markov_test", "interaction_roc"]

#: array-level helpers that moved out of ``bm.tl`` (which holds AnnData tools only); the old names
#: still work for one release, with a FutureWarning
_MOVED = {"holdout_splits": "pp", "split_arrays": "pp", "HoldoutSplit": "pp", "role_log_ratios": "estimators"}


def __getattr__(name: str):
    if name in _MOVED:
        import importlib

        where = _MOVED[name]
        _warnings.warn(
            f"bioinfo_mi.tl.{name} moved to bioinfo_mi.{where}.{name}; the old name will be removed in "
            "the next release",
            FutureWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(f"bioinfo_mi.{where}"), name)
    raise AttributeError(f"module 'bioinfo_mi.tl' has no attribute {name!r}")
