"""Analysis tools on AnnData (scanpy style): ``lmi``, ``pmi``, ``markov_test``, ``interaction_roc``."""

from ._interactions import interaction_roc
from ._lmi import lmi, pmi
from ._markov import markov_test

__all__ = ["lmi", "pmi", "markov_test", "interaction_roc"]
