"""Preprocessing and pairing on AnnData: clone pairings across conditions."""

from .pairing import ClonePairing, clone_labels, draw_pairings, get_features, shared_clones

__all__ = ["ClonePairing", "clone_labels", "draw_pairings", "get_features", "shared_clones"]
