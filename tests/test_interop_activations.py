"""Keras activations and Nengo neuron types, one table read both ways
(nengo_lmu.interop.activations)."""

import os

import nengo
import numpy as np
import pytest
from nengo.exceptions import ValidationError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402

from nengo_lmu.interop.activations import (  # noqa: E402
    ACTIVATIONS,
    activation_neuron_type,
    neuron_activation,
)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_each_pair_has_the_same_rate_function(name):
    """Nengo's rates (gain 1, bias 0) equal Keras's activation, and each
    direction inverts the other."""
    neuron_type = activation_neuron_type(name, "activation")
    assert neuron_activation(neuron_type, "neuron_type") == name
    J = np.linspace(-4, 4, 81)
    rates = neuron_type.rates(J[:, None], gain=np.ones(1), bias=np.zeros(1))[:, 0]
    keras = tf.keras.activations.get(name)(tf.constant(J)).numpy()
    assert np.allclose(rates, keras, rtol=0, atol=1e-12)
    assert np.ptp(keras) > 0.9


@pytest.mark.parametrize(
    "neuron_type",
    [
        nengo.Tanh(tau_ref=0.5),  # 2 tanh(J)
        nengo.Sigmoid(),  # tau_ref=0.002: 500 sigmoid(J)
        nengo.RectifiedLinear(amplitude=2),
        nengo.SpikingRectifiedLinear(),
        nengo.LIFRate(),
    ],
)
def test_other_neuron_types_have_no_activation(neuron_type):
    with pytest.raises(ValidationError, match="hidden_neuron_type.*no Keras"):
        neuron_activation(neuron_type, "hidden_neuron_type")


def test_unknown_activation_names_the_parameter():
    with pytest.raises(ValidationError, match="activation.*'elu'.*'tanh'"):
        activation_neuron_type("elu", "activation")
