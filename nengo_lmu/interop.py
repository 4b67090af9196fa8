"""Weights trained in Keras, loaded into Nengo networks.

KerasLMU 0.8 layers (`keras_lmu.LMU`, ``keras.layers.RNN(keras_lmu.LMUCell)``,
`keras_lmu.LMUFeedforward`) become `~nengo_lmu.LMU` networks with the same
weights. KerasLMU counts ``theta`` in steps; here it is ``theta * dt`` seconds.
TensorFlow is never imported by this module: it reads the layer objects it is
given.
"""

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_positive_finite
from nengo_lmu.networks.lmu import LMU

#: Keras activations and the Nengo neuron types with the same rate function
ACTIVATIONS = {
    "tanh": lambda: nengo.Tanh(tau_ref=1),
    "relu": lambda: nengo.RectifiedLinear(),
}


def _numpy(value):
    return None if value is None else np.array(value.numpy(), dtype=float)


def _activation(layer, attr):
    name = getattr(getattr(layer, "activation", None), "__name__", None)
    if name not in ACTIVATIONS:
        raise ValidationError(
            f"activation {name!r} of {type(layer).__name__} has no Nengo neuron "
            f"type here; supported: {sorted(ACTIVATIONS)}",
            attr=attr,
        )
    return ACTIVATIONS[name]()


def _lmu_cell(layer):
    """The object holding the LMU weights, and whether it is feedforward."""
    kind = type(layer).__name__
    if kind == "LMU":  # keras_lmu.LMU wraps an RNN(LMUCell) or an LMUFeedforward
        if not layer.built:
            raise ValidationError(
                "the keras_lmu.LMU layer must be built (called on data) first",
                attr="layer",
            )
        return _lmu_cell(layer.layer)
    if kind == "RNN" and type(layer.cell).__name__ == "LMUCell":
        return layer.cell, False
    if kind == "LMUCell":
        return layer, False
    if kind == "LMUFeedforward":
        return layer, True
    raise ValidationError(
        "must be a keras_lmu.LMU, keras.layers.RNN(keras_lmu.LMUCell), LMUCell or "
        f"LMUFeedforward layer, got {kind}",
        attr="layer",
    )


def keras_lmu_parameters(layer, dt=0.001):
    """`~nengo_lmu.LMU` arguments (weights included) equal to a KerasLMU layer.

    Parameters
    ----------
    layer
        A built KerasLMU 0.8 layer (see the module docstring).
    dt : float
        Seconds per sequence step in Nengo; ``theta`` becomes
        ``theta_steps * dt``.

    Returns
    -------
    kwargs : dict
        Arguments for `~nengo_lmu.LMU` (except ``size_in``'s context).
    """
    dt = check_positive_finite(dt, "dt")
    cell, feedforward = _lmu_cell(layer)
    if not cell.built:
        raise ValidationError("the layer must be built (called on data) first",
                              attr="layer")
    kernel = _numpy(cell.kernel)
    trainable_theta = bool(getattr(cell, "trainable_theta", False))
    # a trained theta is read back as its trained value (cell.theta)
    theta_steps = float(cell.theta)
    hidden_cell = cell.hidden_cell
    hidden_to_memory = bool(getattr(cell, "hidden_to_memory", False))
    memory_to_memory = bool(getattr(cell, "memory_to_memory", False))

    params = dict(
        memory_d=cell.memory_d,
        order=cell.order,
        theta=theta_steps * dt,
        dt=dt,
        hidden_to_memory=hidden_to_memory,
        memory_to_memory=memory_to_memory,
        input_to_hidden=bool(cell.input_to_hidden),
        discretizer=cell.discretizer,
        # the zero-order hold cannot train theta in Nengo; its trained value is
        # fixed here (see LMU's trainable_theta)
        trainable_theta=trainable_theta and cell.discretizer == "euler",
        use_bias=cell.bias is not None,
    )
    if hidden_cell is None:
        params["hidden_units"] = 0
        units = 0
    else:
        kind = type(hidden_cell).__name__
        if kind not in ("SimpleRNNCell", "Dense"):
            raise ValidationError(
                f"hidden cell {kind} is not supported; use SimpleRNNCell, Dense or "
                "None",
                attr="hidden_cell",
            )
        units = hidden_cell.units
        params["hidden_units"] = units
        params["hidden_neuron_type"] = _activation(hidden_cell, "hidden_cell")
        params["hidden_recurrent"] = kind == "SimpleRNNCell"
        params["hidden_kernel_initializer"] = _numpy(hidden_cell.kernel)
        if kind == "SimpleRNNCell":
            params["hidden_recurrent_initializer"] = _numpy(
                hidden_cell.recurrent_kernel
            )
        params["hidden_bias_initializer"] = (
            np.zeros(units) if hidden_cell.bias is None else _numpy(hidden_cell.bias)
        )
    if kernel is None:  # no input kernel: u is the input itself
        kernel = np.eye(cell.memory_d)
    size_in = kernel.shape[0] - (units if hidden_to_memory else 0)
    params["size_in"] = size_in
    params["kernel_initializer"] = kernel
    if memory_to_memory:
        params["recurrent_initializer"] = _numpy(cell.recurrent_kernel)
    if cell.bias is not None:
        params["bias_initializer"] = _numpy(cell.bias)
    if feedforward and cell.discretizer != "zoh":
        raise ValidationError(
            "LMUFeedforward with a discretizer other than 'zoh' is not supported",
            attr="discretizer",
        )
    return params


def lmu_from_keras(layer, dt=0.001, **kwargs):
    """Build an `~nengo_lmu.LMU` network with a KerasLMU layer's weights.

    Dropout is inactive at inference in Keras, so it is ignored here.
    Keyword arguments override the imported parameters (e.g.
    ``memory_neurons=100`` for a neural memory, or ``hidden_neuron_type``).

    Examples
    --------
    >>> layer = keras_lmu.LMU(1, 6, 100, tf.keras.layers.SimpleRNNCell(10))
    >>> layer(np.zeros((1, 5, 1)))
    >>> with nengo.Network() as net:
    ...     lmu = lmu_from_keras(layer, dt=0.001)
    """
    params = keras_lmu_parameters(layer, dt=dt)
    params.update(kwargs)
    return LMU(**params)
