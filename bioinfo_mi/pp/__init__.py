"""Preprocessing and pairing on AnnData: expression preprocessing, clone pairings across conditions."""

from .pairing import ClonePairing, clone_labels, draw_pairings, get_features, shared_clones
from .preprocess import preprocess

__all__ = ["ClonePairing", "clone_labels", "draw_pairings", "get_features", "preprocess", "shared_clones"]
