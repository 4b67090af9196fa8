"""Parallel training: the LMU memory of a whole sequence at once.

When an LMU's memory does not depend on its own past (`is_feedforward`: no
``hidden_to_memory``, no ``memory_to_memory``, a fixed ``theta``), the
memory is a fixed linear system driven by ``u_t = W_u x_t (+ b_u)``, so it is
the convolution of ``u`` with the system's impulse response
``H[k] = Abar^k Bbar``::

    m_t = sum_{k=0}^{t} H[k] u_{t-k}

and no step of the memory needs the one before. `ParallelLMU` is a Keras
layer computing the cell this way: for the last step alone, one matrix
product with the reversed impulse response; for every step, a convolution by
FFT. A Dense hidden cell (``hidden_recurrent=False``) then needs no loop
over time at all, so the layer trains as fast as the hardware multiplies
matrices; a recurrent hidden cell loops over time for the hidden state alone.
Its weights load back into an `~nengo_lmu.LMU` network
(``layer.lmu_parameters()``), which then runs step by step in Nengo (and
spiking, after `nengo_lmu.spiking.to_spiking`) with the same outputs.

`is_feedforward` is also the rule by which `~nengo_lmu.interop.to_keras`
exports an LMU as KerasLMU's ``LMUFeedforward`` (and KerasLMU 0.8's own
``keras_lmu.LMU`` chooses it), so both whole-sequence paths accept the same
LMUs.

Importing this module does not import TensorFlow: the layer class,
`~nengo_lmu.interop.parallel_layer.ParallelLMULayer`, lives in a module of
its own that `ParallelLMU` imports when called.
"""

import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_count
from nengo_lmu.interop.activations import neuron_activation
from nengo_lmu.systems import LegendreDelay

__all__ = [
    "ParallelLMU",
    "check_feedforward",
    "impulse_response",
    "is_feedforward",
    "legendre_memory_matrices",
    "lmu_memory_matrices",
    "parallel_layer_config",
]


def impulse_response(Abar, Bbar, n_steps):
    """The discrete memory's response to a unit impulse at step 0.

    Parameters
    ----------
    Abar, Bbar : array_like
        ``(order, order)`` and ``(order, 1)``: ``m_t = Abar m_{t-1} + Bbar u_t``.
    n_steps : int
        Steps of the response.

    Returns
    -------
    H : ndarray, shape (n_steps, order)
        ``H[k] = Abar^k Bbar`` (float64).

    Examples
    --------
    >>> sys = LegendreDelay(1.0, 6).discretize(0.001)
    >>> impulse_response(sys.A, sys.B, 1000).shape
    (1000, 6)
    """
    n_steps = check_count(n_steps, "n_steps")
    Abar = np.asarray(Abar, dtype=float)
    b = np.asarray(Bbar, dtype=float).reshape(-1)
    H = np.empty((n_steps, b.size))
    for k in range(n_steps):
        H[k] = b
        b = Abar @ b
    return H


def legendre_memory_matrices(theta, order, dt, discretizer="zoh"):
    """``(Abar, Bbar)`` of the Legendre memory over ``theta`` seconds,
    discretised at ``dt`` by zero-order hold or forward Euler (as the exact
    `~nengo_lmu.LMUMemory` and KerasLMU's ``LMUCell``)."""
    system = LegendreDelay(theta, order).discretize(dt, discretizer)
    return system.A, system.B


def lmu_memory_matrices(lmu):
    """``(Abar, Bbar)`` of an `~nengo_lmu.LMU`'s exact memory (its
    ``memory_matrices``, or the Legendre system discretised at ``lmu.dt`` by
    ``lmu.discretizer``)."""
    if lmu.memory_matrices is not None:
        return lmu.memory_matrices
    return legendre_memory_matrices(lmu.theta, lmu.order, lmu.dt, lmu.discretizer)


def _past_dependences(lmu):
    """``(attr, why)`` for each option that makes ``lmu``'s memory depend on
    its own past (or keeps it from being computed over a whole sequence)."""
    return [
        (attr, why)
        for attr, bad, why in (
            ("hidden_to_memory", lmu.hidden_to_memory, "feeds h_{t-1} into u_t"),
            ("memory_to_memory", lmu.memory_to_memory, "feeds m_{t-1} into u_t"),
            (
                "trainable_theta",
                lmu.trainable_theta,
                "changes the memory while it trains (theta is fixed over a "
                "whole sequence; KerasLMU's LMU uses its LMUCell then too)",
            ),
        )
        if bad
    ]


def is_feedforward(lmu):
    """Whether ``lmu``'s memory does not depend on its own past, so that it
    can be computed (and trained) over a whole sequence at once.

    True when the memory's input ``u_t`` reads neither ``h_{t-1}`` (no
    ``hidden_to_memory``) nor ``m_{t-1}`` (no ``memory_to_memory``) and
    ``theta`` is fixed (no ``trainable_theta``), whatever the hidden cell
    (Dense or recurrent, any activation) and the discretizer. This is the
    rule by which KerasLMU 0.8's ``keras_lmu.LMU`` builds an
    ``LMUFeedforward``, `~nengo_lmu.interop.to_keras` exports one, and
    `ParallelLMU` accepts an LMU.

    Examples
    --------
    >>> is_feedforward(LMU(1, 1, 8, 0.1, hidden_units=4, add_to_container=False))
    True
    >>> is_feedforward(LMU(1, 1, 8, 0.1, hidden_units=4, memory_to_memory=True,
    ...                    add_to_container=False))
    False
    """
    return not _past_dependences(lmu)


def check_feedforward(lmu):
    """Raise a ValidationError naming the first option by which ``lmu`` is not
    `is_feedforward`."""
    for attr, why in _past_dependences(lmu):
        raise ValidationError(
            f"the parallel path needs a memory that does not depend on its own "
            f"past; {attr} {why}",
            attr=attr,
            obj=lmu,
        )


def parallel_layer_config(lmu, weights=None):
    """`ParallelLMU` arguments equal to an `~nengo_lmu.LMU` (and its weights).

    ``weights`` defaults to ``lmu.weights`` (the initial weights); give a dict
    with the same keys for trained ones. A neural memory becomes the exact
    memory it approximates.
    """
    check_feedforward(lmu)
    activation = "tanh"
    if lmu.hidden_units:
        activation = neuron_activation(
            lmu.hidden_neuron_type, "hidden_neuron_type", lmu
        )
    weights = dict(lmu.weights if weights is None else weights)
    config = dict(
        memory_d=lmu.memory_d,
        order=lmu.order,
        theta=lmu.theta,
        dt=lmu.dt,
        discretizer=lmu.discretizer,
        hidden_units=lmu.hidden_units,
        hidden_activation=activation,
        hidden_recurrent=bool(lmu.hidden_units and lmu.hidden_recurrent),
        input_to_hidden=lmu.input_to_hidden,
        use_bias=lmu.use_bias,
        initial_weights={k: np.array(v, dtype=float) for k, v in weights.items()},
        dropout=lmu.dropout,
    )
    if lmu.memory_matrices is not None:
        Abar, Bbar = lmu.memory_matrices
        config["memory_matrices"] = (
            np.array(Abar, dtype=float),
            np.array(Bbar, dtype=float),
        )
    return config


def ParallelLMU(lmu=None, weights=None, return_sequences=False, **kwargs):
    """A Keras layer computing an LMU cell over a whole sequence at once.

    Parameters
    ----------
    lmu : LMU, optional
        The `~nengo_lmu.LMU` network to mirror (its options and ``weights``).
        It must be `is_feedforward`, with a hidden neuron type that has a Keras
        activation (`nengo_lmu.interop.activations`). Without it, give the
        arguments of `~nengo_lmu.interop.parallel_layer.ParallelLMULayer`
        directly (``memory_d``, ``order``, ``theta``, ...).
    weights : dict, optional
        Weights to start from (`~nengo_lmu.LMU.weights` keys), for example
        trained ones, instead of ``lmu.weights`` (or Keras's initializers).
    return_sequences : bool
        Output every step (FFT convolution) or the last one (one matrix
        product with the reversed impulse response).
    **kwargs
        Further layer arguments (``dtype="float64"``, ``name``).

    Returns
    -------
    layer : ParallelLMULayer
        A ``tf.keras.layers.Layer`` with ``lmu_weights()`` (the trained
        weights, `~nengo_lmu.LMU.weights` keys) and ``lmu_parameters(dt=None)``
        (arguments for an equal `~nengo_lmu.LMU`). A Keras model holding it
        saves (``.h5`` or SavedModel) and loads with
        ``custom_objects={"ParallelLMULayer": ParallelLMULayer}``.

    Examples
    --------
    >>> lmu = LMU(1, 1, 32, 0.256, hidden_units=64, hidden_recurrent=False,
    ...           input_to_hidden=True)
    >>> model = tf.keras.Sequential([tf.keras.Input((256, 1)), ParallelLMU(lmu),
    ...                              tf.keras.layers.Dense(10)])
    >>> model.compile("adam", "sparse_categorical_crossentropy")
    >>> # model.fit(...), then back into Nengo:
    >>> with nengo.Network() as net:
    ...     trained = LMU(**model.layers[0].lmu_parameters())
    """
    # pylint: disable=import-outside-toplevel
    from nengo_lmu.interop.parallel_layer import ParallelLMULayer

    if lmu is not None:
        config = parallel_layer_config(lmu, weights)
        config.update(kwargs)
        return ParallelLMULayer(return_sequences=return_sequences, **config)
    if weights is not None:
        kwargs["initial_weights"] = weights
    return ParallelLMULayer(return_sequences=return_sequences, **kwargs)
