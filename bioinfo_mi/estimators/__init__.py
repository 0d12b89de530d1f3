"""Numerical core: MI estimators on arrays (no AnnData).

- :mod:`.knn`: pointwise KSG, BI-KSG, the out-of-sample k-NN density ratio;
- :mod:`.normalization`: local / global / global-L-inf normalisation and the normalised KSG variants;
- :mod:`.neural`: MINE and InfoNCE (with the Local, Global and Global-Corrected variants);
- :mod:`.lmi`: latent MI with cross-predictive paired autoencoders;
- :mod:`.latent_scan`: scan LMI's latent size and pick one (:func:`scan_latent_dim`);
- :mod:`.copula`: rank / normal-score transforms and the bias-corrected Gaussian(-copula) MI;
- :mod:`.calibrated`: KSG on normal scores with its bias measured on Gaussian twins (:func:`ksg_calibrated`);
- :mod:`.auto`: the default of ``bm.mi`` (calibrated KSG or LMI by samples per dimension).
"""

from ._result import LMIResult, MIResult
from .auto import auto, choose_method
from .calibrated import ksg_calibrated
from .copula import copula_transform, gaussian_mi, rank_transform
from .knn import bi_ksg, density_ratio, density_ratio_grid, ksg, ksg_pointwise
from .latent_scan import LatentScan, scan_latent_dim
from .normalization import ksg_global, ksg_global_linf, ksg_local, normalize

__all__ = [
    "MIResult",
    "LMIResult",
    "ksg",
    "ksg_pointwise",
    "bi_ksg",
    "density_ratio",
    "density_ratio_grid",
    "ksg_local",
    "ksg_global",
    "ksg_global_linf",
    "normalize",
    "scan_latent_dim",
    "LatentScan",
    "auto",
    "choose_method",
    "ksg_calibrated",
    "copula_transform",
    "rank_transform",
    "gaussian_mi",
]
