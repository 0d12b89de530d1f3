"""bioinfo_mi: mutual information between high-dimensional biological variables, in bits."""

from . import benchmark, datasets, estimators, pl, pp, tl
from ._validation import EstimateWarning
from .api import METHODS, mi
from .estimators import LMIResult, MIResult

__version__ = "0.1.0"

__all__ = [
    "mi",
    "METHODS",
    "MIResult",
    "EstimateWarning",
    "LMIResult",
    "benchmark",
    "datasets",
    "estimators",
    "pl",
    "pp",
    "tl",
    "__version__",
]
