"""Plots (scanpy style): each returns its Axes and accepts ``ax=``, ``show=`` and ``save=``.

``lmi`` and ``markov_test`` draw the MI results of :mod:`bioinfo_mi.tl` (real vs shuffled, clone-paired
or interaction partners); ``attribution`` the genes (features) that carry an LMI dependence, against
their shuffle null (Appendix A.2.3); ``pmi_trend`` and ``pmi_embedding`` the per-cell pointwise MI (LMI paper,
Section 4.2, Fig. 6); ``interaction_roc`` the held-out interaction ROC curves (Section 4.1, Fig. 5c-d).
"""

from .attribution import attribution
from .interactions import interaction_roc
from .lineage import lmi, markov_test
from .pmi import pmi_embedding, pmi_trend

__all__ = ["lmi", "markov_test", "attribution", "pmi_trend", "pmi_embedding", "interaction_roc"]
