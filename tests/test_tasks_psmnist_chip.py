"""nengo_lmu.tasks.psmnist_chip: B5's model and recipe, written once."""

import nengo
import numpy as np
import pytest
from nengo.exceptions import ValidationError

from nengo_lmu.tasks.experiment import copy_trained
from nengo_lmu.tasks.psmnist_chip import (
    CHIP_SETTINGS,
    NETWORK_SETTINGS,
    adjust_to_backend,
    chip_psmnist_network,
    chip_settings,
    train_chip_network,
)


def test_settings_and_their_errors():
    assert chip_settings() == CHIP_SETTINGS
    assert chip_settings(order=6)["order"] == 6 and CHIP_SETTINGS["order"] == 12
    assert set(NETWORK_SETTINGS) < set(CHIP_SETTINGS)
    with pytest.raises(ValidationError, match="unknown settings.*'ordr'"):
        chip_settings(ordr=6)
    with pytest.raises(ValidationError, match="recipe settings"):
        chip_psmnist_network(20, epochs=3)
    with pytest.raises(ValidationError, match="steps"):
        chip_psmnist_network(0)


def test_network_is_the_settings():
    s = CHIP_SETTINGS
    net = chip_psmnist_network(98, units=16)
    lmu = net.lmu
    assert lmu.order == s["order"] and lmu.hidden.n_neurons == 16
    assert np.isclose(lmu.theta, 0.098)
    memory = lmu.memory.all_ensembles
    assert len(memory) == 1  # one ensemble holds every state (see the guide)
    assert memory[0].n_neurons == s["order"] * s["memory_neurons"]
    rates = memory[0].max_rates
    assert (rates.low, rates.high) == (0.9 * s["max_rate"], 1.1 * s["max_rate"])
    assert isinstance(memory[0].neuron_type, nengo.RectifiedLinear)
    out = [c for c in lmu.all_connections if c.post_obj is lmu.output]
    assert out[0].synapse == nengo.Lowpass(s["output_synapse"])
    assert net.probe.size_in == 10 and net.readout_conn.post_obj is net.output
    exact = chip_psmnist_network(98, exact=True, units=16)
    assert not exact.lmu.memory.all_ensembles
    # the chip twin pairs with the Nengo one weight for weight
    chip = chip_psmnist_network(98, target="loihi", units=16)
    copy_trained(net, chip)


def test_adjust_to_backend_runs_both_steps():
    pytest.importorskip("nengo_dl")
    from nengo_lmu.spiking import to_spiking

    rng = np.random.RandomState(0)
    x, y = rng.uniform(0, 1, size=(10, 30, 1)), rng.randint(10, size=(10, 1, 1))
    settings = dict(order=2, units=8, memory_neurons=20)
    rate = chip_psmnist_network(30, **settings)
    train_chip_network(rate, (x, y), epochs=1, batch_size=10, learning_rate=1e-2)
    spiking = to_spiking(rate, rate_scale=300)
    readout = np.array(spiking.readout_conn.transform.init)
    weight = spiking.lmu.weight_connections["hidden_kernel"][0].transform.init
    report = adjust_to_backend(rate, spiking, (x, y), "nengo", correct=10, refit=10)
    assert "memory reading corrected on 10" in report and "refitted on 10" in report
    assert not np.allclose(spiking.readout_conn.transform.init, readout)
    assert not np.allclose(
        spiking.lmu.weight_connections["hidden_kernel"][0].transform.init, weight
    )
    assert adjust_to_backend(rate, spiking, (x, y), "nengo", 0, 0) == "as trained"
