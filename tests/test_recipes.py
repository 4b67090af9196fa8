"""The deprecated nengo_lmu.recipes module re-exports the experiments."""

import importlib
import sys

import pytest


def test_recipes_warns_and_reexports():
    sys.modules.pop("nengo_lmu.recipes", None)
    with pytest.warns(DeprecationWarning, match="nengo_lmu.tasks"):
        recipes = importlib.import_module("nengo_lmu.recipes")
    from nengo_lmu.tasks import delay, psmnist

    for name in [
        "BACKENDS",
        "DELAYS",
        "delay_network",
        "delay_nrmse",
        "plot_delay",
        "run_delay",
    ]:
        assert getattr(recipes, name) is getattr(delay, name)
    for name in [
        "evaluate_psmnist",
        "plot_training",
        "psmnist_network",
        "train_psmnist",
    ]:
        assert getattr(recipes, name) is getattr(psmnist, name)
