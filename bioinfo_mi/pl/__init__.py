"""Plots (scanpy style): each returns its Axes and accepts ``ax=``, ``show=`` and ``save=``.

``lmi`` and ``markov_test`` draw the clone-paired MI results of :mod:`bioinfo_mi.tl`;
``pmi_trend`` and ``pmi_embedding`` the per-cell pointwise MI (LMI paper, Section 4.2, Fig. 6).
"""

from .lineage import lmi, markov_test
from .pmi import pmi_embedding, pmi_trend

__all__ = ["lmi", "markov_test", "pmi_trend", "pmi_embedding"]
