"""Analysis tools on AnnData (scanpy style): ``lmi``, ``pmi``, ``markov_test``."""

from .lmi import lmi, pmi
from .markov import markov_test

__all__ = ["lmi", "pmi", "markov_test"]
