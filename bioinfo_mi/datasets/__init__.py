"""Generated data with known mutual information (all values in bits).

Gaussian (:mod:`.gaussian`)
    :func:`gaussian_low_rank` -- LMI paper Algorithm 4 (high ambient ``d``, ``rank``-dimensional
    dependence, true MI = ``mi_bits``); :func:`correlated_gaussian` and :func:`additive_noise` --
    the base distributions of the scale-invariance paper (Section 6.1), returning ``(x, t, mi_bits)``;
    the analytic values alone via :func:`correlated_gaussian_mi` / :func:`additive_noise_mi`.
MI-preserving transformations (:mod:`.transforms`)
    :func:`randmat`, :func:`cube`, :func:`sigmoid`, :func:`duplicate_self`, :func:`duplicate_noise`
    (scale-invariance paper, Section 6.3), chained by name with :func:`apply_transforms`
    (names in :data:`TRANSFORM_NAMES`).
Clusters (:mod:`.clusters`)
    :func:`clustered` -- non-Gaussian clustered data with ``I(X; Y) = I(Lx; Ly)`` known exactly
    (LMI paper, Section 3.2 / Theorem 4), returning ``(x, y, mi_bits)``; the label MI alone via
    :func:`clustered_mi`.
Real data (:mod:`.larry`)
    :func:`read_larry` -- the LARRY lineage-tracing data (Weinreb et al. 2020; in vitro, in vivo or
    cytokine perturbations) as AnnData (LMI paper, Section 4.2 / Appendix A.4.2);
    :func:`download_larry` fetches an experiment's files from the Klein lab (:func:`larry_files`).
Proteins (:mod:`.proteins`)
    :func:`download_prott5` -- UniProt's per-protein ProtT5 embeddings of a reference proteome;
    :func:`read_prott5_h5` -- such a file as a table (optional length
    filter with :func:`read_uniprot_fasta`); :func:`load_interactions` -- OmniPath ligand-receptor or
    kinase-target pairs (needs omnipath), :func:`read_interactions` the same from a local table
    (LMI paper, Section 4.1 / Appendix A.4.1; pair them with :func:`bioinfo_mi.pp.pair_interactions`).
Resampled real data (:mod:`.resampling`)
    :func:`resample_pairs` -- Bernoulli label pairs with a prescribed correlation, each label replaced by a
    sample of its class drawn without replacement, so ``I(X; Y) = I(Lx; Ly)`` (LMI paper, Section 3.2,
    Theorem 4); :func:`bernoulli_mi` / :func:`correlation_for_mi` the analytic label MI,
    :func:`class_separability` the Appendix A.3.3 check; sources :func:`load_digits_source` (scikit-learn's
    digits, classes :data:`DIGITS_CLASSES`), :func:`read_mnist` and :func:`read_species_embeddings` (local files).
Simulated interactions (:mod:`.interactions`)
    :func:`simulate_interactions` -- paired AnnData of interacting (source, target) protein embeddings with
    ``I(source; target)`` known exactly (LMI paper, Section 4.1); :func:`family_affinity` the family-level
    interaction table, :func:`oracle_auc` the held-out ROC AUC of the true density ratio.

Convention: generators whose MI is derived from their parameters return it as the last element
of a tuple; :func:`gaussian_low_rank` takes the MI as a parameter and returns ``(x, y)``.
"""

from .clusters import clustered, clustered_mi, coupling_for_mi, label_joint
from .gaussian import (
    additive_noise,
    additive_noise_mi,
    correlated_gaussian,
    correlated_gaussian_mi,
    gaussian_low_rank,
    low_rank_rho,
)
from .interactions import family_affinity, oracle_auc, simulate_interactions
from .larry import LARRY_BASE_URL, LARRY_EXPERIMENTS, LARRY_FILES, download_larry, larry_files, read_larry
from .lineage import lineage_state_mi, simulate_lineage
from .proteins import (
    PROTT5_HUMAN_URL,
    UNIPROT_EMBEDDINGS_URL,
    download_prott5,
    load_interactions,
    read_interactions,
    read_prott5_h5,
    read_uniprot_fasta,
)
from .resampling import (
    DIGITS_CLASSES,
    bernoulli_mi,
    class_pools,
    class_separability,
    correlation_for_mi,
    label_pairs,
    load_digits_source,
    max_pairs,
    read_mnist,
    read_species_embeddings,
    resample_pairs,
)
from .transforms import (
    TRANSFORM_ALIASES,
    TRANSFORM_NAMES,
    TRANSFORMS,
    apply_transforms,
    cube,
    duplicate_noise,
    duplicate_self,
    randmat,
    sigmoid,
)

__all__ = [
    "simulate_lineage",
    "lineage_state_mi",
    "gaussian_low_rank",
    "low_rank_rho",
    "correlated_gaussian",
    "correlated_gaussian_mi",
    "additive_noise",
    "additive_noise_mi",
    "randmat",
    "cube",
    "sigmoid",
    "duplicate_self",
    "duplicate_noise",
    "apply_transforms",
    "TRANSFORMS",
    "TRANSFORM_ALIASES",
    "TRANSFORM_NAMES",
    "clustered",
    "clustered_mi",
    "coupling_for_mi",
    "label_joint",
    "read_larry",
    "download_larry",
    "LARRY_FILES",
    "LARRY_EXPERIMENTS",
    "larry_files",
    "LARRY_BASE_URL",
    "read_prott5_h5",
    "download_prott5",
    "read_uniprot_fasta",
    "load_interactions",
    "read_interactions",
    "PROTT5_HUMAN_URL",
    "UNIPROT_EMBEDDINGS_URL",
    "simulate_interactions",
    "family_affinity",
    "oracle_auc",
    "resample_pairs",
    "label_pairs",
    "bernoulli_mi",
    "correlation_for_mi",
    "max_pairs",
    "class_pools",
    "class_separability",
    "load_digits_source",
    "read_mnist",
    "read_species_embeddings",
    "DIGITS_CLASSES",
]
