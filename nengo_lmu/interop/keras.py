"""KerasLMU layers and Keras models as Nengo networks.

KerasLMU 0.8 layers (`keras_lmu.LMU`, ``keras.layers.RNN(keras_lmu.LMUCell)``,
`keras_lmu.LMUFeedforward`) become `~nengo_lmu.LMU` networks with the same
weights (`lmu_from_keras`), and whole Keras models made of such layers and
Dense layers become Nengo networks (`network_from_keras`).

KerasLMU counts ``theta`` in steps; here it is ``theta * dt`` seconds: one
sequence step per simulator step of ``dt``. TensorFlow is not imported by the
converters (they read the layer objects they are given); `custom_objects`
imports KerasLMU.
"""

import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_count, check_positive_finite
from nengo_lmu.interop._chain import (
    NO_OP_LAYERS,
    OUTPUT_ACTIVATIONS,
    RETURNS_DOC,
    activation_neuron_type,
    build_chain,
    dense_spec,
)
from nengo_lmu.networks.lmu import LMU


def _numpy(value):
    return None if value is None else np.array(value.numpy(), dtype=float)


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


def keras_lmu_parameters(layer, dt=0.001, steps_per_sample=1):
    """`~nengo_lmu.LMU` arguments (weights included) equal to a KerasLMU layer.

    Parameters
    ----------
    layer
        A built KerasLMU 0.8 layer (see the module docstring).
    dt : float
        Seconds per sequence step in Nengo; ``theta`` becomes
        ``theta_steps * dt``.
    steps_per_sample : int
        Simulator steps (of ``dt``) per sequence step (`~nengo_lmu.LMU`'s
        ``steps_per_sample``; ``theta`` stays ``theta_steps * dt``). The LMU
        refuses options that cannot be dilated exactly (a SimpleRNNCell
        hidden cell, ``hidden_to_memory``, ``memory_to_memory``, Euler).

    Returns
    -------
    kwargs : dict
        Arguments for `~nengo_lmu.LMU` (except ``size_in``'s context).
    """
    dt = check_positive_finite(dt, "dt")
    cell, feedforward = _lmu_cell(layer)
    if not cell.built:
        raise ValidationError(
            "the layer must be built (called on data) first", attr="layer"
        )
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
        steps_per_sample=steps_per_sample,
        hidden_to_memory=hidden_to_memory,
        memory_to_memory=memory_to_memory,
        input_to_hidden=bool(cell.input_to_hidden),
        discretizer=cell.discretizer,
        # the zero-order hold cannot train theta in Nengo; its trained value is
        # fixed here (see LMU's trainable_theta)
        trainable_theta=trainable_theta and cell.discretizer == "euler",
        use_bias=cell.bias is not None,
        # KerasLMU's penalties, for further training in NengoDL
        # (nengo_lmu.dl.add_regularization)
        kernel_regularizer=getattr(cell, "kernel_regularizer", None),
        recurrent_regularizer=getattr(cell, "recurrent_regularizer", None),
        bias_regularizer=getattr(cell, "bias_regularizer", None),
        # active only in NengoDL training, as in Keras
        dropout=float(getattr(cell, "dropout", 0) or 0),
        recurrent_dropout=float(getattr(cell, "recurrent_dropout", 0) or 0),
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
        params["hidden_neuron_type"] = activation_neuron_type(
            _activation_name(hidden_cell),
            "hidden_cell",
            f"activation of {type(hidden_cell).__name__}: ",
        )
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
    if feedforward:
        _check_feedforward_exact(cell)
    return params


def _check_feedforward_exact(layer):
    """Refuse an LMUFeedforward whose convolution the LMU network does not
    reproduce: ``conv_mode="raw"`` with a ``truncate_ir`` that cut its impulse
    response short (the network's memory never forgets its tail)."""
    conv_mode = getattr(layer, "conv_mode", "fft")
    if conv_mode != "raw" or getattr(layer, "truncate_ir", None) is None:
        return
    shape = getattr(layer, "_build_input_shape", None)
    try:
        steps = None if shape is None else tuple(shape)[1]
    except (TypeError, IndexError):
        steps = None
    full = int(steps) if steps is not None else int(layer.theta * 5)
    kept = int(layer.impulse_response.shape[0])
    if kept < full:
        raise ValidationError(
            f"LMUFeedforward(conv_mode='raw', truncate_ir={layer.truncate_ir!r}) "
            f"keeps {kept} of the {full} steps of its impulse response, which the "
            "Nengo LMU cannot reproduce (its memory keeps the whole response); "
            "use truncate_ir=None or conv_mode='fft' in Keras",
            attr="truncate_ir",
        )


def lmu_from_keras(layer, dt=0.001, **kwargs):
    """Build an `~nengo_lmu.LMU` network with a KerasLMU layer's weights.

    The layer's ``dropout`` and ``recurrent_dropout`` carry over; as in
    Keras they act only in (NengoDL) training. (`LMUFeedforward`'s dropout
    also drops the hidden cell's copy of the input with ``input_to_hidden``;
    the LMU, as KerasLMU's cell, drops only the memory's input.)
    Keyword arguments override the imported parameters (e.g.
    ``memory_neurons_per_dimension=100`` for a neural memory, or
    ``hidden_neuron_type``).

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


# --- whole models ------------------------------------------------------------


def _activation_name(layer):
    return getattr(getattr(layer, "activation", None), "__name__", None)


def _keras_layers(model):
    """The layers of a Keras model that is a single chain, input to output."""
    if not getattr(model, "built", False):
        raise ValidationError(
            "the model must be built (called on data, or given an input shape) "
            "first",
            attr="model",
        )
    layers = list(model.layers)
    inputs = [layer for layer in layers if type(layer).__name__ == "InputLayer"]
    layers = [layer for layer in layers if type(layer).__name__ != "InputLayer"]
    if len(inputs) > 1 or len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValidationError(
            "must have one input and one output (a chain of layers)", attr="model"
        )
    if not layers:
        raise ValidationError("has no layers", attr="model")
    for layer in layers:
        if hasattr(layer, "layers"):
            raise ValidationError(
                f"layer {layer.name!r} is a nested model; flatten it into one chain",
                attr="model",
            )
    previous = model.inputs[0]
    for layer in layers:
        try:
            layer_input = layer.input
        except AttributeError:  # a layer called more than once
            layer_input = None
        if layer_input is not previous:
            raise ValidationError(
                f"layer {layer.name!r} does not take the previous layer's output "
                "alone; only chains of layers (Sequential, or functional "
                "Input -> layer -> ... -> layer) are supported",
                attr="model",
            )
        previous = layer.output
    if previous is not model.outputs[0]:
        raise ValidationError(
            "the last layer's output is not the model's output", attr="model"
        )
    return layers


def _keras_specs(model, dt, steps_per_sample=1):
    """Layer specifications of a Keras model or KerasLMU layer."""
    if hasattr(model, "layers"):  # a Model
        layers = _keras_layers(model)
        size_in = model.inputs[0].shape[-1]
    else:
        layers, size_in = [model], None
    layers = [layer for layer in layers if type(layer).__name__ not in NO_OP_LAYERS]
    specs, k = [], steps_per_sample
    for i, layer in enumerate(layers):
        kind = type(layer).__name__
        last = i == len(layers) - 1
        if kind == "Dense":
            bias = layer.bias.numpy() if layer.bias is not None else None
            specs.append(
                dense_spec(
                    layer.name,
                    layer.kernel.numpy(),
                    bias,
                    _activation_name(layer),
                    last,
                    "model",
                )
            )
        elif kind in ("LMU", "RNN", "LMUCell", "LMUFeedforward"):
            if getattr(layer, "go_backwards", False):
                raise ValidationError(
                    f"layer {layer.name!r}: go_backwards=True is not supported",
                    attr="go_backwards",
                )
            params = keras_lmu_parameters(layer, dt=dt, steps_per_sample=k)
            if k > 1 and any(spec["kind"] == "lmu" for spec in specs):
                raise ValidationError(
                    f"steps_per_sample={k} needs one LMU layer: layer "
                    f"{layer.name!r} would read an earlier LMU's output, which "
                    "changes within each sample",
                    attr="steps_per_sample",
                )
            specs.append({"kind": "lmu", "name": layer.name, "params": params})
        else:
            raise ValidationError(
                f"layer {layer.name!r} of type {kind} is not supported; supported: "
                "KerasLMU layers, Dense, Dropout",
                attr="model",
            )
        if size_in is None:
            size_in = specs[-1]["params"]["size_in"]
    if size_in is None:
        raise ValidationError("the model's input size is not known", attr="model")
    return int(size_in), specs


def network_from_keras(
    model, dt=0.001, label=None, seed=None, add_to_container=None, steps_per_sample=1
):
    (
        """Build a Nengo network equal to a Keras model of KerasLMU and Dense layers.

    The model is a chain of layers, Sequential or functional (one ``Input``,
    each layer taking the previous one's output): KerasLMU 0.8 layers
    (`keras_lmu.LMU`, ``keras.layers.RNN(keras_lmu.LMUCell)``,
    `keras_lmu.LMUFeedforward`, with hidden cells SimpleRNNCell, Dense or
    None), Dense layers (linear, tanh, relu or sigmoid; softmax on the last
    layer), and Dropout layers (inactive at inference, like the LMU layers'
    own dropout, so they are skipped). Each LMU layer becomes an
    `~nengo_lmu.LMU` with its trained weights (see `lmu_from_keras`;
    ``theta`` in steps becomes ``theta * dt`` seconds, a trained ``theta`` is
    read back as trained); each Dense layer becomes a Connection with
    ``transform=kernel.T`` and a bias Node, or an Ensemble of the matching
    neuron type with the bias as neuron bias.

    Anything that the Nengo network cannot express raises a ValidationError
    naming it, before any Nengo object is built.

    Parameters
    ----------
    model : keras.Model or KerasLMU layer
        A built model (or a single built KerasLMU layer).
    dt : float
        Seconds per sequence step: run the network with this ``dt`` and one
        input sample per step (or ``steps_per_sample`` steps).
    label, seed, add_to_container
        As for `nengo.Network`.
    steps_per_sample : int
        Simulator steps of ``dt`` per input sample (`~nengo_lmu.LMU`'s
        option): hold each sample for that many steps (``np.repeat(x, k,
        axis=1)``); the output at the last step of each sample is the
        model's. Only for models with one LMU layer that can be dilated
        exactly (Dense or no hidden cell, no ``hidden_to_memory`` or
        ``memory_to_memory``, zero-order hold); otherwise a ValidationError
        names ``steps_per_sample`` and what blocks it.
"""
        + RETURNS_DOC
        + """
    Examples
    --------
    >>> model = keras.Sequential([
    ...     keras.Input((784, 1)),
    ...     keras_lmu.LMU(1, 64, 784, keras.layers.SimpleRNNCell(50)),
    ...     keras.layers.Dense(10, activation="softmax"),
    ... ])
    >>> with nengo.Network() as net:
    ...     stim = nengo.Node(nengo.processes.PresentInput(x, dt=0.001))
    ...     imported = network_from_keras(model, dt=0.001)
    ...     nengo.Connection(stim, imported.input, synapse=None)
    ...     logits = nengo.Probe(imported.output)
    """
    )
    dt = check_positive_finite(dt, "dt")
    steps_per_sample = check_count(steps_per_sample, "steps_per_sample")
    size_in, specs = _keras_specs(model, dt, steps_per_sample)
    net = build_chain(specs, size_in, label, seed, add_to_container)
    net.sequence_length = _sequence_length(model)
    return net


def _sequence_length(model):
    """The fixed number of steps of a model's input, or None."""
    try:
        shape = tuple(model.inputs[0].shape)
    except (AttributeError, IndexError, TypeError):
        return None
    steps = shape[1] if len(shape) == 3 else None
    return None if steps is None else int(steps)


def keras_logits(model, x):
    """A Keras model's output for ``x``, before a final softmax: what the
    imported network's ``output`` gives (logits).

    Where the model's last layer is a Dense layer with a softmax activation,
    that layer's input is computed by Keras and its kernel and bias applied
    here; any other model's output is returned as Keras computes it.
    """
    last = model.layers[-1]
    activation = _activation_name(last)
    if type(last).__name__ != "Dense" or activation not in OUTPUT_ACTIVATIONS:
        return np.asarray(model.predict(x, verbose=0))
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    hidden = tf.keras.Model(model.inputs, last.input)
    h = np.asarray(hidden.predict(x, verbose=0), dtype=np.float64)
    kernel = last.kernel.numpy().astype(np.float64)
    bias = 0.0 if last.bias is None else last.bias.numpy().astype(np.float64)
    return h @ kernel + bias


# --- saved Keras models -----------------------------------------------------------


def custom_objects():
    """The KerasLMU classes by name, for ``keras.models.load_model``."""
    import keras_lmu  # pylint: disable=import-outside-toplevel

    return {
        "LMU": keras_lmu.LMU,
        "LMUCell": keras_lmu.LMUCell,
        "LMUFeedforward": keras_lmu.LMUFeedforward,
    }


def load_keras_model(path):
    """A saved Keras 2 model (``.h5``, ``.keras`` or a SavedModel folder) with
    KerasLMU layers, uncompiled; a ValidationError naming the file if Keras
    cannot load it.

    The file's configuration is read as data and checked before Keras sees it
    (`~nengo_lmu.interop.keras_check.check_keras_config`): a ``Lambda`` layer or
    any class the importers do not support is refused, naming it, so no code
    stored in the file runs. Keras then loads it in its safe mode."""
    # the configuration is read as data and checked first: Keras would run a
    # Lambda layer's code while rebuilding the model
    # pylint: disable=import-outside-toplevel
    from nengo_lmu.interop.keras3 import check_keras_config, read_keras_file

    check_keras_config(read_keras_file(path))
    try:
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        objects = custom_objects()
    except ImportError as err:
        raise ImportError(
            "loading Keras models needs the `keras` extra: "
            'pip install -c constraints.txt -e ".[keras]"'
        ) from err
    try:
        # safe_mode refuses Python lambdas in the Keras v3 (.keras zip) format;
        # TF 2.12 has no safe mode for .h5 and SavedModel files, so callers check
        # the configuration first (nengo_lmu.interop.keras_check.check_keras_config)
        return tf.keras.models.load_model(
            path, custom_objects=objects, compile=False, safe_mode=True
        )
    except Exception as err:  # Keras raises many kinds for foreign files
        raise ValidationError(
            f"{path}: Keras cannot load it ({type(err).__name__}: "
            f"{' '.join(str(err).split())[:200]})",
            attr="path",
        ) from None
