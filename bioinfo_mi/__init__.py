"""bioinfo_mi: mutual information between high-dimensional biological variables, in bits."""

from . import benchmark, datasets, estimators, pl, pp, tl, uncertainty
from ._validation import EstimateWarning
from ._version import __version__
from .api import METHODS, mi
from .conditional import CMI_METHODS, cmi
from .estimators import LMIResult, MIResult

__all__ = [
    "mi",
    "METHODS",
    "cmi",
    "CMI_METHODS",
    "MIResult",
    "EstimateWarning",
    "LMIResult",
    "benchmark",
    "datasets",
    "estimators",
    "pl",
    "pp",
    "tl",
    "uncertainty",
    "__version__",
]
