"""The shared checks (nengo_lmu._validation): what each accepts and refuses."""

import nengo
import numpy as np
import pytest
from nengo.exceptions import ValidationError

from nengo_lmu import _validation as v


@pytest.mark.parametrize(
    "value", [0, 0.0, 2, 1e300, np.float32(0.5), np.int64(3), np.float64(7.0)]
)
def test_check_nonnegative_accepts(value):
    out = v.check_nonnegative(value, "x")
    assert type(out) is float and out == float(value)


@pytest.mark.parametrize(
    "value",
    [
        -1,
        -1e-300,
        np.nan,
        np.inf,
        True,
        np.bool_(True),
        "1",
        None,
        [1.0],
        1j,
        np.array([1.0]),
    ],
)
def test_check_nonnegative_refuses(value):
    with pytest.raises(ValidationError, match="x"):
        v.check_nonnegative(value, "x")


def test_numbers_include_numpy_scalars():
    assert v.check_positive_finite(np.float32(0.25), "x") == 0.25
    assert v.check_count(np.int64(4), "n") == 4
    assert v.check_seed(np.uint32(7)) == 7
    for value in (np.float32(0.5), np.int8(1), 3, 2.5):
        assert v.is_number(value)
    for value in (True, np.bool_(False), "1", None, 1j):
        assert not v.is_number(value)


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "0", None])
def test_check_seed_refuses(seed):
    with pytest.raises(ValidationError, match="seed"):
        v.check_seed(seed)
    assert v.check_seed(None, allow_none=True) is None


def test_check_multiple():
    assert v.check_multiple(1.7, 0.1, "tau", "dt") == 17
    for value in (0.15, 0.0, 0.04):
        with pytest.raises(ValidationError, match="whole multiple"):
            v.check_multiple(value, 0.1, "tau", "dt")


def test_check_bool_and_dtype():
    assert v.check_bool(np.bool_(True), "flag") is True
    for value in (1, "yes", None):
        with pytest.raises(ValidationError, match="flag"):
            v.check_bool(value, "flag")
    assert v.check_dtype("float64") == np.float64
    for value in ("int32", "nonsense", object):
        with pytest.raises(ValidationError, match="dtype"):
            v.check_dtype(value)


def test_check_choice():
    assert v.check_choice("dl", ("nengo", "dl"), "backend") == "dl"
    with pytest.raises(ValidationError, match=r"backend.*'nengo', 'dl'; got 'gpu'"):
        v.check_choice("gpu", ("nengo", "dl"), "backend")
    with pytest.raises(ValidationError, match="backend"):
        v.check_choice([1], {"a": 1}, "backend")  # unhashable, dict of choices
    with pytest.raises(ValidationError, match="'elu' has no Nengo"):
        v.check_choice(
            "elu",
            {"tanh": 1},
            "activation",
            what="has no Nengo neuron type; supported:",
        )


def test_check_neuron_type():
    lif = nengo.LIF()
    assert v.check_neuron_type(lif) is lif
    assert v.check_neuron_type(None, allow_none=True) is None
    for value in ("LIF", nengo.LIF, None):
        with pytest.raises(ValidationError, match="NeuronType instance"):
            v.check_neuron_type(value)


def test_coerce_synapse():
    for tau in (0.005, np.float32(0.005), np.int64(0), 0):
        synapse = v.coerce_synapse(tau)
        assert isinstance(synapse, nengo.Lowpass)
        assert synapse.tau == pytest.approx(float(tau))
    alpha = nengo.Alpha(0.01)
    assert v.coerce_synapse(alpha) is alpha
    assert v.coerce_synapse(None, allow_none=True) is None
    for value in (None, -0.1, np.nan, True, "0.1", [0.1]):
        with pytest.raises(ValidationError, match="synapse"):
            v.coerce_synapse(value)
