"""Numerical core: MI estimators on arrays (no AnnData).

- :func:`ksg`, :func:`ksg_pointwise`, :func:`bi_ksg`, :func:`density_ratio`: pointwise KSG, BI-KSG,
  the out-of-sample k-NN density ratio;
- :func:`normalize`, :func:`ksg_local`, :func:`ksg_global`, :func:`ksg_global_linf`: local / global /
  global-L-inf normalisation and the normalised KSG variants;
- :func:`mine`, :func:`infonce`: MINE and InfoNCE (with the Local, Global and Global-Corrected variants);
- :func:`lmi`, :class:`LMIPreset`, :class:`LMIModel`: latent MI with cross-predictive paired autoencoders;
- :func:`attribution`, :class:`Attribution`: per-feature attribution of an LMI fit (held-out
  cross-decoder R^2 or permutation drop of the held-out MI);
- :func:`scan_latent_dim`, :func:`choose_latent_dim`: scan LMI's latent size and pick one;
- :func:`copula_transform`, :func:`rank_transform`, :func:`gaussian_mi`: rank / normal-score
  transforms and the bias-corrected Gaussian(-copula) MI;
- :func:`ksg_calibrated`: KSG on normal scores with its bias measured on Gaussian twins;
- :func:`ksg_mixture`: KSG on normal scores calibrated on twins from a fitted Gaussian mixture;
- :func:`auto`: the default of ``bm.mi`` (calibrated KSG or LMI by samples per dimension and cost);
- :func:`predicted_seconds`: the cost model, predicted seconds of one estimate by each method;
- :func:`role_log_ratios`: k-NN role odds of proteins, the role part of ``tl.interaction_roc``'s score.

The implementations live in private modules; import from here.
"""

from ._attribution import Attribution, attribution
from ._auto import choose_method
from ._calibrated import ksg_calibrated
from ._cmi import corrected_code_cmi, gaussian_cmi, ksg_cmi, ksg_cmi_calibrated, latent_cmi
from ._copula import copula_transform, gaussian_mi, rank_transform
from ._knn import bi_ksg, density_ratio, density_ratio_grid, ksg, ksg_pointwise
from ._latent_scan import LatentScan, choose_latent_dim, scan_latent_dim
from ._lmi import PRESETS, LMIModel, LMIPreset, lmi
from ._mixture import ksg_mixture
from ._neural import infonce, mine
from ._normalization import ksg_global, ksg_global_linf, ksg_local, normalize
from ._registry import auto, predicted_seconds
from ._result import LMIResult, MIResult
from ._roles import role_log_ratios

__all__ = [
    "MIResult",
    "LMIResult",
    "ksg",
    "ksg_pointwise",
    "ksg_mixture",
    "ksg_cmi",
    "ksg_cmi_calibrated",
    "latent_cmi",
    "corrected_code_cmi",
    "gaussian_cmi",
    "bi_ksg",
    "density_ratio",
    "density_ratio_grid",
    "ksg_local",
    "ksg_global",
    "ksg_global_linf",
    "normalize",
    "lmi",
    "LMIPreset",
    "LMIModel",
    "PRESETS",
    "attribution",
    "Attribution",
    "mine",
    "infonce",
    "scan_latent_dim",
    "choose_latent_dim",
    "LatentScan",
    "auto",
    "choose_method",
    "predicted_seconds",
    "ksg_calibrated",
    "copula_transform",
    "rank_transform",
    "gaussian_mi",
    "role_log_ratios",
]
