"""Analysis tools on AnnData (scanpy style): ``lmi``, ``pmi``."""

from .lmi import lmi, pmi

__all__ = ["lmi", "pmi"]
