"""The disk cache's file formats and the pieces of its keys: data fingerprints and the defaults behind a fit.

A cached fit is one file: ``.npz`` arrays (:func:`save_arrays`, :func:`load_arrays`) or JSON
(:func:`save_json`, :func:`load_json`), each holding :data:`CACHE_FORMAT` and the key it is named
by, so that a reader never takes one fit's file for another's. A key hashes everything that decides
a fit's numbers; this module gives the hashable forms of its parts: :func:`fingerprint` of the
data, and :func:`signature_defaults` of the functions behind a fit (their keyword defaults and their
modules' constants, so that a changed default changes the key). The fit-job layer assembles the key.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._parallel import CacheError

#: layout of the cache files, stored in each file and part of every key: change it when the layout changes
CACHE_FORMAT = "bioinfo_mi-cache/1"


def canonical(value: Any) -> Any:
    """JSON form of an option or a default that is the same in every process (no memory addresses, no set order)."""
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((canonical(v) for v in value), key=repr)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return {"ndarray": value.dtype.str, "shape": list(value.shape), "blake2b": digest(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {type(value).__qualname__: fields}
    if isinstance(value, functools.partial):
        return {"partial": canonical(value.func), "args": canonical(value.args), "keywords": canonical(value.keywords)}
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def digest(*arrays: Any) -> str:
    """Hash arrays (numbers or strings), sparse matrices or DataFrames, shapes and types included: 32 hex digits."""
    h = hashlib.blake2b(digest_size=16)
    for arr in arrays:
        _update(h, arr)
    return h.hexdigest()


def _update(h: Any, values: Any) -> None:
    """Feed an array (numbers or strings), a sparse matrix or a DataFrame to a hash, shape and type included."""
    if isinstance(values, pd.DataFrame):
        _update(h, values.to_numpy())
        _update(h, values.index.astype(str).to_numpy())
        _update(h, values.columns.astype(str).to_numpy())
        return
    if sp.issparse(values):
        csr = sp.csr_matrix(values)
        for part in (csr.data, csr.indices, csr.indptr):
            _update(h, part)
        h.update(f"sparse{csr.shape}".encode())
        return
    arr = np.asarray(values)
    if arr.dtype.kind in "OUS":  # ids: the text of each one
        h.update("\x1f".join(map(str, arr.ravel().tolist())).encode())
        h.update(f"|text{arr.shape}|".encode())
        return
    arr = np.ascontiguousarray(arr)
    h.update(arr.tobytes())
    h.update(f"|{arr.shape}{arr.dtype.str}|".encode())


def fingerprint(features: Any) -> str:
    """Hash a feature matrix (dense, sparse, or a DataFrame with its labels), so cached fits are never reused
    for other data.

    Parameters
    ----------
    features
        Array, sparse matrix or DataFrame.

    Returns
    -------
    32 hexadecimal digits.
    """
    return digest(features)


def module_constants(module: Any) -> dict[str, Any]:
    """Return the module-level constants of ``module`` (upper-case names bound to numbers, strings, tuples,
    sets, mappings or dataclass instances) by name: the settings a function of the module may resolve
    its defaults from.
    """
    if module is None:
        return {}
    kinds = (bool, int, float, str, tuple, frozenset, set, Mapping)
    return {
        name: value
        for name, value in sorted(vars(module).items())
        if name.isupper()
        and not name.startswith("_")
        and (isinstance(value, kinds) or (dataclasses.is_dataclass(value) and not isinstance(value, type)))
    }


def signature_defaults(*functions: Callable[..., Any]) -> dict[str, Any]:
    """Return the keyword defaults of ``functions`` (through ``functools.partial`` and decorators), by name.

    A partial's fixed keywords count as defaults. The constants of each function's module
    (:func:`module_constants`: LMI's ``PRESETS``, the error bars' partitions and growth constants, the
    small-sample thresholds) are included too, so a changed constant changes the result as a changed
    signature default does.

    Parameters
    ----------
    *functions
        Callables.

    Returns
    -------
    ``{"module.qualname": {parameter: default, ...}}``.
    """
    out: dict[str, Any] = {}
    for func in functions:
        fixed: dict[str, Any] = {}
        while isinstance(func, functools.partial):
            fixed = {**func.keywords, **fixed}
            func = func.func
        params = inspect.signature(func).parameters.values()
        found = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
        found.update(fixed)
        target = inspect.unwrap(func)
        found.update(module_constants(inspect.getmodule(target)))
        out[f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', repr(target))}"] = found
    return out


def _key_of(path: Path) -> str:
    """Return the key a cache file is named by (its temporary name during the write included)."""
    return path.name.split(".", 1)[0]


def _check_marker(form: Any, key: Any, path: Path) -> None:
    if form != CACHE_FORMAT:
        raise CacheError(f"format {form!r}, expected {CACHE_FORMAT!r}")
    if key != _key_of(path):
        raise CacheError(f"holds the fit of key {key!r}, not of its name")


def save_arrays(path: Path, arrays: Mapping[str, Any]) -> None:
    """Write ``arrays`` to the ``.npz`` file ``path`` with :data:`CACHE_FORMAT` and the file's key.

    Parameters
    ----------
    path
        The file (its name starts with the key).
    arrays
        Name -> array or scalar.

    Returns
    -------
    None.
    """
    np.savez(path, __format__=np.array(CACHE_FORMAT), __key__=np.array(_key_of(path)), **arrays)


def load_arrays(path: Path, shapes: Mapping[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Read a file of :func:`save_arrays`, checking that it is whole (every member is read, so zip's CRC is
    checked), of :data:`CACHE_FORMAT`, of the key it is named by, and that it holds every field of ``shapes``
    with that shape (``-1``: any length).

    Parameters
    ----------
    path
        The file.
    shapes
        Field -> expected shape.

    Returns
    -------
    Field -> array, every field of the file.

    Raises
    ------
    One of :data:`CACHE_ERRORS` when the file is not such a result.
    """
    with np.load(path, allow_pickle=False) as f:
        arrays = {name: f[name] for name in f.files}
    marker = {
        name: arrays[name].item() if name in arrays and arrays[name].shape == () else None
        for name in ("__format__", "__key__")
    }
    _check_marker(marker["__format__"], marker["__key__"], path)
    for name, shape in shapes.items():
        if name not in arrays:
            raise CacheError(f"field {name!r} missing")
        got = arrays[name].shape
        if len(got) != len(shape) or any(want not in (-1, n) for want, n in zip(shape, got, strict=True)):
            raise CacheError(f"field {name!r} has shape {got}, expected {shape}")
    return arrays


def save_json(path: Path, result: Mapping[str, Any]) -> None:
    """Write ``result`` as JSON to ``path`` with :data:`CACHE_FORMAT` and the file's key.

    Parameters
    ----------
    path
        The file (its name starts with the key).
    result
        A JSON-able mapping.

    Returns
    -------
    None.
    """
    path.write_text(json.dumps({"format": CACHE_FORMAT, "key": _key_of(path), "result": dict(result)}))


def load_json(path: Path, fields: Iterable[str]) -> dict[str, Any]:
    """Read a file of :func:`save_json`, checking its format, key and that it holds ``fields``.

    Parameters
    ----------
    path
        The file.
    fields
        Names the result must hold.

    Returns
    -------
    The stored mapping.

    Raises
    ------
    One of :data:`CACHE_ERRORS` when the file is not such a result.
    """
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise CacheError(f"holds a {type(data).__name__}, not a cached result")
    _check_marker(data.get("format"), data.get("key"), path)
    result = data.get("result")
    if not isinstance(result, dict):
        raise CacheError("no result")
    missing = [name for name in fields if name not in result]
    if missing:
        raise CacheError(f"fields {missing} missing")
    return result
