"""Nengo networks of LMUs exported as Keras models (the reverse of
`~nengo_lmu.interop.network_from_keras`).

`to_keras` builds a ``tf.keras.Model`` of KerasLMU 0.8 layers and Dense
layers holding a network's weights, to train where Keras trains best: on one
or several GPUs, or on several machines with ``tf.distribute``. The trained
model comes back into Nengo with `~nengo_lmu.interop.network_from_keras`, to
run with rate or spiking neurons (`nengo_lmu.spiking.to_spiking`), or on Loihi.

TensorFlow and KerasLMU are imported when `to_keras` runs.
"""

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._extras import require
from nengo_lmu._validation import check_count, check_dtype
from nengo_lmu.interop.activations import neuron_activation
from nengo_lmu.interop.parallel import is_feedforward
from nengo_lmu.networks.lmu import LMU

#: The Keras dtypes `to_keras` makes models in.
EXPORT_DTYPES = ("float32", "float64")


def exports_feedforward(lmu):
    """Whether `to_keras` exports ``lmu`` as KerasLMU's ``LMUFeedforward``:
    when it `~nengo_lmu.interop.parallel.is_feedforward` (the rule
    `~nengo_lmu.interop.parallel.ParallelLMU` uses too), except with
    ``dropout`` and ``input_to_hidden`` together: ``LMUFeedforward`` also
    drops the hidden cell's copy of the input, which the LMU (as KerasLMU's
    cell) does not."""
    return is_feedforward(lmu) and not (lmu.dropout and lmu.input_to_hidden)


def lmu_layer_spec(lmu, weights=None):
    """Checked arguments and weights of the KerasLMU layer equal to ``lmu``."""
    if lmu.memory_matrices is not None:
        raise ValidationError(
            "KerasLMU builds its memory from theta; an LMU with given "
            "memory_matrices cannot be exported",
            attr="memory_matrices",
            obj=lmu,
        )
    if lmu.output_synapse is not None:
        raise ValidationError(
            "Keras layers have no synapse on their output; export the LMU with "
            "output_synapse=None",
            attr="output_synapse",
            obj=lmu,
        )
    weights = dict(lmu.weights if weights is None else weights)
    missing = [key for key in lmu.weights if key not in weights]
    if missing:
        raise ValidationError(
            f"weights for {lmu} lack {missing}", attr="weights", obj=lmu
        )
    for key, value in lmu.weights.items():
        given = np.asarray(weights[key], dtype=float)
        if given.shape != np.shape(value):
            raise ValidationError(
                f"weights[{key!r}] must have shape {np.shape(value)}, got "
                f"{given.shape}",
                attr="weights",
                obj=lmu,
            )
        weights[key] = given
    theta_steps = float(weights.get("theta", lmu.theta)) / lmu.dt
    if abs(theta_steps - round(theta_steps)) < 1e-9 * theta_steps:
        # whole steps as an int: KerasLMU sizes buffers from theta
        theta_steps = int(round(theta_steps))
    activation = None
    if lmu.hidden_units:
        activation = neuron_activation(
            lmu.hidden_neuron_type, "hidden_neuron_type", lmu
        )
    return {
        "size_in": lmu.size_in,
        "memory_d": lmu.memory_d,
        "order": lmu.order,
        "theta_steps": theta_steps,
        "units": lmu.hidden_units,
        "activation": activation,
        "recurrent": bool(lmu.hidden_units and lmu.hidden_recurrent),
        "feedforward": exports_feedforward(lmu),
        "discretizer": lmu.discretizer,
        "options": dict(
            hidden_to_memory=lmu.hidden_to_memory,
            memory_to_memory=lmu.memory_to_memory,
            trainable_theta=lmu.trainable_theta,
        ),
        "input_to_hidden": lmu.input_to_hidden,
        "use_bias": lmu.use_bias,
        "dropout": lmu.dropout,
        "recurrent_dropout": lmu.recurrent_dropout,
        "weights": weights,
        "label": lmu.label,
    }


def _same(a, b):
    """The same Nengo object (Neurons objects are made anew on each access)."""
    if isinstance(a, nengo.ensemble.Neurons) and isinstance(b, nengo.ensemble.Neurons):
        return a.ensemble is b.ensemble
    return a is b


def _one_connection(network, pre, post, what):
    conns = [
        c
        for c in network.all_connections
        if _same(c.pre_obj, pre) and _same(c.post_obj, post)
    ]
    if len(conns) != 1:
        raise ValidationError(
            f"{what}: expected one connection from {pre} to {post}, found "
            f"{len(conns)}",
            attr="network",
            obj=network,
        )
    return conns[0]


def _transform(conn, sim, what, network):
    if conn.synapse is not None:
        raise ValidationError(
            f"{what}: connection {conn} has a synapse; Keras layers have none",
            attr="network",
            obj=network,
        )
    if isinstance(conn.transform, nengo.transforms.NoTransform):
        # nothing to train (a simulator holds no weights for it: None)
        weights = np.eye(conn.size_out)
    elif sim is not None:
        weights = np.asarray(sim.data[conn].weights, dtype=float)
    elif isinstance(conn.transform, nengo.transforms.Dense) and isinstance(
        conn.transform.init, np.ndarray
    ):
        weights = np.asarray(conn.transform.init, dtype=float)
    else:
        raise ValidationError(
            f"{what}: connection {conn} needs a fixed Dense transform (an array); "
            "build it, or give the simulator that trained it (sim=...)",
            attr="network",
            obj=network,
        )
    if weights.ndim < 2:
        weights = weights * np.eye(conn.size_out)
    return weights


def _dense_layer_spec(network, layer, previous, sim):
    """A Dense layer's specification from a chain layer (Ensemble or Node)."""
    if isinstance(layer, nengo.Ensemble):
        what = f"Dense layer {layer.label or layer}"
        activation = neuron_activation(layer.neuron_type, "neuron_type", layer)
        conn = _one_connection(network, previous, layer.neurons, what)
        kernel = _transform(conn, sim, what, network).T
        gain = sim.data[layer].gain if sim is not None else layer.gain
        bias = sim.data[layer].bias if sim is not None else layer.bias
        if not isinstance(gain, np.ndarray) or not np.all(gain == 1):
            raise ValidationError(
                f"{what}: needs gains of 1 (a Keras Dense layer's neurons)",
                attr="gain",
                obj=layer,
            )
        if not isinstance(bias, np.ndarray):
            raise ValidationError(
                f"{what}: needs explicit biases (an array)", attr="bias", obj=layer
            )
        outputs = [
            c.post_obj
            for c in network.all_connections
            if _same(c.pre_obj, layer.neurons)
        ]
        out = outputs[0] if len(outputs) == 1 else layer.neurons
        return {
            "kernel": kernel,
            "bias": np.asarray(bias, dtype=float),
            "activation": activation,
            "label": layer.label,
        }, out
    if isinstance(layer, nengo.Node) and layer.output is None:
        what = f"Dense layer {layer.label or layer}"
        conn = _one_connection(network, previous, layer, what)
        kernel = _transform(conn, sim, what, network).T
        bias = np.zeros(layer.size_in)
        for c in network.all_connections:
            if c.post_obj is layer and c is not conn:
                src = c.pre_obj
                if not (
                    isinstance(src, nengo.Node)
                    and np.array_equal(np.asarray(src.output), np.ones(1))
                ):
                    raise ValidationError(
                        f"{what}: its inputs must be the previous layer and a "
                        f"constant Node([1]) for the bias, found {src}",
                        attr="network",
                        obj=network,
                    )
                bias = bias + _transform(c, sim, what, network)[:, 0]
        return {
            "kernel": kernel,
            "bias": bias,
            "activation": None,
            "label": layer.label,
        }, layer
    raise ValidationError(
        f"layer {layer} is not an LMU, an Ensemble or a passthrough Node",
        attr="network",
        obj=network,
    )


def export_specs(network, weights=None, sim=None):
    """Layer specifications of ``network``: (size_in, specs)."""
    if isinstance(network, LMU):
        lmus, layers = [network], [network]
    elif isinstance(network, nengo.Network) and hasattr(network, "layers"):
        layers = list(network.layers)
        lmus = [layer for layer in layers if isinstance(layer, LMU)]
    else:
        raise ValidationError(
            "must be an LMU, or a chain network with `input`, `output` and "
            f"`layers` (as network_from_keras builds), got {network!r}",
            attr="network",
        )
    if not layers:
        raise ValidationError("has no layers", attr="network", obj=network)
    weights = dict(weights or {})
    unknown = [key for key in weights if key not in lmus]
    if unknown:
        raise ValidationError(
            f"weights must map LMUs of the network to weight dicts; {unknown} "
            "are not among them",
            attr="weights",
        )
    if sim is not None and weights:
        raise ValidationError("give weights or sim, not both", attr="weights")
    specs = []
    previous = network.input if not isinstance(network, LMU) else None
    for layer in layers:
        if isinstance(layer, LMU):
            if previous is not None:
                conn = _one_connection(
                    network, previous, layer.input, f"LMU {layer.label or layer}"
                )
                if _transform(conn, None, "LMU input", network).shape != (
                    layer.size_in,
                    layer.size_in,
                ) or not np.array_equal(
                    _transform(conn, None, "LMU input", network),
                    np.eye(layer.size_in),
                ):
                    raise ValidationError(
                        f"the connection into {layer} must be an identity "
                        "without synapse (put a transform into a Dense layer)",
                        attr="network",
                        obj=network,
                    )
            layer_weights = weights.get(layer)
            if sim is not None:
                from nengo_lmu.dl import (
                    lmu_weights,
                )  # pylint: disable=import-outside-toplevel

                layer_weights = lmu_weights(sim, layer)
            spec = lmu_layer_spec(layer, layer_weights)
            spec["kind"] = "lmu"
            specs.append(spec)
            previous = layer.output
        else:
            spec, previous = _dense_layer_spec(network, layer, previous, sim)
            spec["kind"] = "dense"
            specs.append(spec)
    if not isinstance(network, LMU) and previous is not network.output:
        raise ValidationError(
            "the last layer does not lead to the network's output",
            attr="network",
            obj=network,
        )
    first = specs[0]
    size_in = first["size_in"] if first["kind"] == "lmu" else first["kernel"].shape[0]
    return size_in, specs


def to_keras(
    network,
    n_steps=None,
    weights=None,
    sim=None,
    return_sequences=False,
    feedforward=True,
    dtype=None,
):
    """A Keras model of KerasLMU and Dense layers with a network's weights.

    The reverse of `~nengo_lmu.interop.network_from_keras`:
    ``network_from_keras(to_keras(net))`` computes what ``net`` computes.
    Each `~nengo_lmu.LMU` becomes a KerasLMU 0.8 layer: `keras_lmu.LMUFeedforward`
    (memory by FFT over the whole sequence, then a Dense hidden cell or a
    ``SimpleRNNCell`` over the sequence) where its memory does not depend on
    its own past (`exports_feedforward`: no ``hidden_to_memory``, no
    ``memory_to_memory``, no ``trainable_theta``; either discretizer) and
    ``feedforward`` is True, else ``keras.layers.RNN(keras_lmu.LMUCell)``
    with a ``SimpleRNNCell`` or ``Dense`` hidden cell. Ensembles of a chain
    become Dense layers with their activation, passthrough Nodes linear
    Dense layers. A neural memory is exported as the exact memory it
    approximates; ``theta`` in seconds becomes ``theta / dt`` steps.

    Parameters
    ----------
    network : LMU or nengo.Network
        An `~nengo_lmu.LMU`, or a chain with ``input``, ``output`` and
        ``layers`` (LMUs, Ensembles driven through ``.neurons``, passthrough
        Nodes), as `~nengo_lmu.interop.network_from_keras` builds.
    n_steps : int, optional
        Sequence length of the model's input, an integer >= 1 (None: any
        length; KerasLMU's `LMUFeedforward` then approximates its impulse
        response's length).
    weights : dict, optional
        ``{lmu: weights}`` with LMU weight dicts (keys as `LMU.weights`, and
        optionally ``theta`` in seconds), for example trained ones; default:
        each LMU's own ``weights``.
    sim : nengo_dl.Simulator, optional
        A simulator that trained ``network``: its current weights are
        exported (LMUs through `nengo_lmu.dl.lmu_weights`).
    return_sequences : bool
        The LMU layers' (hence the model's) output at every step, or only at
        the last one (the last LMU only; inner LMUs always return sequences).
    feedforward : bool
        Use `LMUFeedforward` where the LMU allows it.
    dtype : str, optional
        Keras dtype of the layers, ``"float32"`` or ``"float64"``; Keras's
        default else.

    Returns
    -------
    model : tf.keras.Model
        Built, one input ``(n_steps, size_in)``.

    Examples
    --------
    >>> with nengo.Network() as net:
    ...     lmu = LMU(1, 1, 32, 0.256, hidden_units=64, input_to_hidden=True)
    >>> model = to_keras(lmu, n_steps=256)
    >>> model.compile("adam", "mse")
    """
    require("tensorflow", "keras_lmu", what="to_keras")
    import keras_lmu  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    n_steps = check_count(n_steps, "n_steps", allow_none=True)
    if dtype is not None:
        dtype = check_dtype(dtype).name
        if dtype not in EXPORT_DTYPES:
            raise ValidationError(
                f"must be None or one of {EXPORT_DTYPES} (KerasLMU's memory and "
                f"its matrix exponential need them), got {dtype!r}",
                attr="dtype",
            )
    size_in, specs = export_specs(network, weights=weights, sim=sim)
    kw = {} if dtype is None else {"dtype": dtype}
    inp = tf.keras.Input((n_steps, size_in), **kw)
    x = inp
    assignments = []
    lmu_indices = [i for i, s in enumerate(specs) if s["kind"] == "lmu"]
    for i, spec in enumerate(specs):
        if spec["kind"] == "dense":
            layer = tf.keras.layers.Dense(
                spec["kernel"].shape[1], activation=spec["activation"], **kw
            )
            x = layer(x)
            assignments += [(layer.kernel, spec["kernel"]), (layer.bias, spec["bias"])]
            continue
        sequences = return_sequences or i != lmu_indices[-1]
        w = spec["weights"]
        hidden = None
        if spec["units"]:
            hidden = (
                tf.keras.layers.SimpleRNNCell(
                    spec["units"], activation=spec["activation"], **kw
                )
                if spec["recurrent"]
                else tf.keras.layers.Dense(
                    spec["units"], activation=spec["activation"], **kw
                )
            )
        common = dict(
            memory_d=spec["memory_d"],
            order=spec["order"],
            theta=spec["theta_steps"],
            hidden_cell=hidden,
            input_to_hidden=spec["input_to_hidden"],
            use_bias=spec["use_bias"],
            discretizer=spec["discretizer"],
            **kw,
        )
        if feedforward and spec["feedforward"]:
            layer = keras_lmu.LMUFeedforward(
                return_sequences=sequences,
                conv_mode="fft",
                dropout=spec["dropout"],
                **common,
            )
            if spec["dropout"]:
                # KerasLMU 0.8 makes its Dropout layer without the layer's
                # dtype, so a float64 model fails; make it again with it
                layer.build(x.shape)
                layer.dropout_layer = tf.keras.layers.Dropout(
                    spec["dropout"],
                    noise_shape=layer.dropout_layer.noise_shape,
                    dtype=layer.dtype,
                )
            x = layer(x)
            cell = layer
        else:
            cell = keras_lmu.LMUCell(
                dropout=spec["dropout"],
                recurrent_dropout=spec["recurrent_dropout"],
                **common,
                **spec["options"],
            )
            layer = tf.keras.layers.RNN(cell, return_sequences=sequences, **kw)
            x = layer(x)
        assignments.append((cell.kernel, w["kernel"]))
        if "recurrent_kernel" in w:
            assignments.append((cell.recurrent_kernel, w["recurrent_kernel"]))
        if "bias" in w:
            assignments.append((cell.bias, w["bias"]))
        if hidden is not None:
            assignments.append((hidden.kernel, w["hidden_kernel"]))
            if spec["recurrent"]:
                assignments.append(
                    (hidden.recurrent_kernel, w["hidden_recurrent_kernel"])
                )
            assignments.append((hidden.bias, w["hidden_bias"]))
    model = tf.keras.Model(inp, x)
    for variable, value in assignments:
        variable.assign(np.asarray(value, dtype=variable.dtype.as_numpy_dtype))
    return model
