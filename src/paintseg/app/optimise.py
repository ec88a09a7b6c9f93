"""The Optimise panel: an AutoML search in the background (see paintseg.automl)."""

from __future__ import annotations


def optimise_panel():
    return None


def register_optimise(app, store) -> None:
    return None
