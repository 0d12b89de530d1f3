"""Parameter descriptions shared by many public functions: one text per meaning (scanpy's
``_doc_params`` idea). A docstring line that holds only ``{name}`` is replaced by the snippet
``name``, indented like that line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

SNIPPETS: dict[str, str] = {
    "sizes": """\
n_samples
    Number of paired samples.
d_x, d_y
    Dimensions (non-constant columns) of ``x`` and ``y``.""",
    "cmi_sizes": """\
n_samples
    Number of samples.
d_x, d_y, d_z
    Dimensions of ``x``, ``y`` and ``z``.""",
    "n_jobs": """\
n_jobs
    Worker processes for the fits (joblib/loky). Default -1: one per core, never more than there
    are fits. Every fit runs with the same fixed number of torch and BLAS threads (one, or the
    environment variable ``BIOINFO_MI_FIT_THREADS``) in this process or in a worker, so the numbers
    do not depend on ``n_jobs``.""",
    "ksg": """\
x, y
    Paired samples, ``(N, d_x)`` and ``(N, d_y)`` (1-D is one column); arrays, frames or sparse.
k
    Number of neighbours (>= 1). The paper's default is 3.
base
    ``"bits"`` (default), ``"nats"`` or a number.
random_state
    Seed or Generator for the tie-breaking jitter (see :mod:`bioinfo_mi.estimators`).
jitter
    Relative jitter amplitude (times each column's standard deviation).
workers
    Threads for the neighbour searches (-1: all cores; inside a fit of the repeated-fit layer at most
    its thread budget). The estimate does not depend on it (exact counts).""",
    "metric": """\
estimate, truth
    Equal-length arrays of estimates and true values (bits). NaN estimates propagate (a failed fit
    makes the cell NaN rather than flattering it).""",
    "transform": """\
Parameters
----------
x
    Samples ``(N, d)`` (1-D is one column).
random_state
    Ignored (the transform is deterministic; accepted so that every transform has one signature).

Returns
-------
A new array of the same shape as ``x`` (2-D).""",
    "ksg_scales": """\
scales
    Scale factors ``c`` of the second variable; the estimate is the maximum over them.""",
    "label_classes": """\
n_clusters
    Number of classes per variable (>= 2).
class_weights
    Class probabilities (default uniform), as in :func:`label_joint`.""",
    "progress": """\
progress
    Show a tqdm progress bar over the fits.""",
    "random_state": """\
random_state
    Seed: an int, a ``numpy.random.Generator`` or None (fresh entropy), used as given: an int
    seeds the draws directly; a Generator is drawn from (it advances, and two Generators in the same
    state give the same results).""",
    "copy": """\
copy
    ``True``: return a modified copy and leave the input AnnData untouched. ``False`` (default):
    write into the input and return None.""",
    "key_added": """\
key_added
    Key under which the results are written: ``.uns[key_added]`` and, where the Returns section says
    so, ``.obs`` / ``.var`` columns whose names start with it.""",
    "use_rep": """\
use_rep
    Representation to read: a key of ``adata.obsm`` (e.g. ``"X_pca"``); None (default) or ``"X"``
    read ``adata.X`` (or ``layer``).""",
    "layer": """\
layer
    Key of ``adata.layers`` to read instead of ``adata.X`` (not together with an ``obsm`` ``use_rep``).""",
    "fits": """\
fits
    Indices of the repeated fits to run (numbered as said below), e.g. one per cluster job (see
    ``workflows/``): only those fits run, into ``cache_dir`` (required), and the call writes nothing
    and returns None. A final call with the same arguments and ``fits=None`` (default) reads every
    finished fit from ``cache_dir``, runs any missing one and writes the results, identical to a
    single call. Needs an int ``random_state`` (every call must draw the same seeds).""",
    "cache_dir": """\
cache_dir
    Folder of the fit cache (created if missing): one file per finished fit, holding what the fit
    returns (its estimate and, where computed, standard error, pointwise values and scores). A file
    is named by a hash of everything that changes its numbers: the package version, the data and the
    rows used, the seed, the method, every option and the estimator's defaults; an upgrade or a
    changed option never reuses an old fit. A truncated or corrupt file is refitted (and overwritten)
    with a warning, never read as a result. A ``cache_dir`` alone makes an interrupted run
    resumable. None (default): no cache.""",
    "estimator_kwds": """\
estimator_kwds
    Options of the estimator ``method`` (e.g. ``{"preset": "paper", "epochs": 50}``; the names
    :func:`bioinfo_mi.mi` takes for that method, and ``transform``), checked before any fit: an
    unknown name raises ``TypeError`` naming the closest valid one. Stored as
    ``params["estimator_kwds"]``.""",
    "plot": """\
ax
    Axes to draw into; default a new figure.
show
    Call ``plt.show()`` when ``True``; ``None`` (default) does not show.
save
    Path: the figure is written there with ``bbox_inches="tight"``.""",
}

_PLACEHOLDER = re.compile(r"^(?P<indent>[ \t]*)\{(?P<name>\w+)\}[ \t]*$", re.MULTILINE)


def shared_docs(func: F) -> F:
    """Fill the ``{name}`` placeholder lines of ``func``'s docstring from :data:`SNIPPETS`."""

    def fill(match: re.Match) -> str:
        name = match.group("name")
        if name not in SNIPPETS:
            raise KeyError(f"{func.__qualname__}: no shared docstring snippet {name!r}; known: {sorted(SNIPPETS)}")
        indent = match.group("indent")
        return "\n".join(indent + line if line else line for line in SNIPPETS[name].splitlines())

    if func.__doc__:
        func.__doc__ = _PLACEHOLDER.sub(fill, func.__doc__)
    return func
