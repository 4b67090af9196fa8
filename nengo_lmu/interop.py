"""Weights trained in Keras, loaded into Nengo networks.

* KerasLMU 0.8 layers (`keras_lmu.LMU`, ``keras.layers.RNN(keras_lmu.LMUCell)``,
  `keras_lmu.LMUFeedforward`) become `~nengo_lmu.LMU` networks with the same
  weights (`lmu_from_keras`), and whole Keras models made of such layers and
  Dense layers become Nengo networks (`network_from_keras`).
* The LMU paper's original Keras 2 model files (HDF5, ``RNN(LMUCell)`` then
  ``Dense``) are read with h5py alone (`network_from_paper_file`).

KerasLMU counts ``theta`` in steps; here it is ``theta * dt`` seconds: one
sequence step per simulator step of ``dt``. TensorFlow is never imported by
this module: it reads the layer objects it is given. h5py is imported only
when a file is read.
"""

import json
import os

import nengo
import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_positive_finite
from nengo_lmu.networks.lmu import LMU

#: Keras activations and the Nengo neuron types with the same rate function
ACTIVATIONS = {
    "tanh": lambda: nengo.Tanh(tau_ref=1),
    "relu": lambda: nengo.RectifiedLinear(),
    "sigmoid": lambda: nengo.Sigmoid(tau_ref=1),
}

#: Activations of a model's last Dense layer that are left out of the Nengo
#: network: its ``output`` is then their input, the logits
OUTPUT_ACTIVATIONS = ("softmax",)

#: Layers that do nothing at inference
NO_OP_LAYERS = ("Dropout",)


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


# --- whole models ------------------------------------------------------------
#
# Both importers first turn their source into a list of layer specifications,
# checking everything, and only then build Nengo objects (`_build_chain`), so
# that an unsupported or broken model leaves nothing half-built behind.


def _dense_spec(name, kernel, bias, activation, last, attr):
    """A Dense layer's specification, or a ValidationError naming ``attr``."""
    kernel = np.asarray(kernel, dtype=float)
    units = kernel.shape[1]
    bias = np.zeros(units) if bias is None else np.asarray(bias, dtype=float)
    if activation in (None, "linear"):
        activation = None
    elif activation in OUTPUT_ACTIVATIONS:
        if not last:
            raise ValidationError(
                f"Dense layer {name!r}: activation {activation!r} is supported only "
                "on the last layer (the network outputs its input, the logits)",
                attr=attr,
            )
    elif activation not in ACTIVATIONS:
        raise ValidationError(
            f"Dense layer {name!r}: activation {activation!r} has no Nengo neuron "
            f"type here; supported: linear, {', '.join(sorted(ACTIVATIONS))}, "
            f"and {', '.join(OUTPUT_ACTIVATIONS)} on the last layer",
            attr=attr,
        )
    if not (np.all(np.isfinite(kernel)) and np.all(np.isfinite(bias))):
        raise ValidationError(
            f"Dense layer {name!r}: weights must be finite", attr=attr
        )
    return {"kind": "dense", "name": name, "kernel": kernel, "bias": bias,
            "activation": activation}


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


def _keras_specs(model, dt):
    """Layer specifications of a Keras model or KerasLMU layer."""
    if hasattr(model, "layers"):  # a Model
        layers = _keras_layers(model)
        size_in = model.inputs[0].shape[-1]
    else:
        layers, size_in = [model], None
    layers = [layer for layer in layers if type(layer).__name__ not in NO_OP_LAYERS]
    specs = []
    for i, layer in enumerate(layers):
        kind = type(layer).__name__
        last = i == len(layers) - 1
        if kind == "Dense":
            bias = layer.bias.numpy() if layer.bias is not None else None
            specs.append(_dense_spec(
                layer.name, layer.kernel.numpy(), bias, _activation_name(layer),
                last, "model",
            ))
        elif kind in ("LMU", "RNN", "LMUCell", "LMUFeedforward"):
            if getattr(layer, "go_backwards", False):
                raise ValidationError(
                    f"layer {layer.name!r}: go_backwards=True is not supported",
                    attr="go_backwards",
                )
            params = keras_lmu_parameters(layer, dt=dt)
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


def _build_chain(specs, size_in, label, seed, add_to_container):
    """A Network running the specified layers one after the other."""
    net = nengo.Network(label=label, seed=seed, add_to_container=False)
    net.layers = []
    net.lmus = []
    net.output_activation = None
    with net:
        net.input = nengo.Node(size_in=size_in, label="input")
        previous, bias_node = net.input, None
        for spec in specs:
            if spec["kind"] == "lmu":
                lmu = LMU(label=spec["name"], **spec["params"])
                nengo.Connection(previous, lmu.input, synapse=None)
                net.layers.append(lmu)
                net.lmus.append(lmu)
                previous = lmu.output
                continue
            kernel, bias, activation = spec["kernel"], spec["bias"], spec["activation"]
            units = kernel.shape[1]
            out = nengo.Node(size_in=units, label=spec["name"])
            if activation in ACTIVATIONS:
                ens = nengo.Ensemble(
                    units, 1, neuron_type=ACTIVATIONS[activation](),
                    gain=np.ones(units), bias=bias, label=spec["name"],
                )
                nengo.Connection(previous, ens.neurons, transform=kernel.T,
                                 synapse=None)
                nengo.Connection(ens.neurons, out, synapse=None)
                net.layers.append(ens)
            else:
                nengo.Connection(previous, out, transform=kernel.T, synapse=None)
                if np.any(bias != 0):
                    if bias_node is None:
                        bias_node = nengo.Node(np.ones(1), label="bias")
                    nengo.Connection(bias_node, out, transform=bias[:, None],
                                     synapse=None)
                net.layers.append(out)
                net.output_activation = activation
            previous = out
        net.output = previous
    if add_to_container is None:
        add_to_container = len(nengo.Network.context) > 0
    if add_to_container:
        nengo.Network.add(net)
    return net


_RETURNS = """
    Returns
    -------
    net : nengo.Network
        With these attributes:

        ``input`` : nengo.Node
            ``x_t``, the model's input at each step (connect a Node to it).
        ``output`` : nengo.Node
            The last layer's output at each step. When that layer is a Dense
            layer with a softmax activation, ``output`` is the softmax's input,
            the logits (softmax is no neuron type; the largest logit is the
            class softmax would pick). Where Keras returns only the last step
            (``return_sequences=False``), the model's output is ``output`` at
            the last step.
        ``output_activation`` : str or None
            ``"softmax"`` when it was left out of ``output``, else None.
        ``layers`` : list
            Per layer (Dropout excluded): the `~nengo_lmu.LMU` network; for
            a Dense layer, the Ensemble (tanh, relu, sigmoid activations, use
            ``.neurons``) or the Node holding its linear output.
        ``lmus`` : list of LMU
            The LMU networks among them.
"""


def network_from_keras(model, dt=0.001, label=None, seed=None, add_to_container=None):
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
        input sample per step.
    label, seed, add_to_container
        As for `nengo.Network`.
""" + _RETURNS + """
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
    dt = check_positive_finite(dt, "dt")
    size_in, specs = _keras_specs(model, dt)
    return _build_chain(specs, size_in, label, seed, add_to_container)


# --- the LMU paper's Keras 2 model files --------------------------------------

#: Weights of the paper's LMUCell: name -> shape in terms of (d, n, q), the
#: input dimensions, hidden units and order
PAPER_CELL_WEIGHTS = {
    "input_encoders": ("d", 1),
    "hidden_encoders": ("n", 1),
    "memory_encoders": ("q", 1),
    "input_kernel": ("d", "n"),
    "hidden_kernel": ("n", "n"),
    "memory_kernel": ("q", "n"),
    "AT": ("q", "q"),
    "BT": (1, "q"),
}


def _text(value):
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf8")
    return str(value)


def _file_error(path, msg):
    return ValidationError(f"{path}: {msg}", attr="path")


def _read_layer_weights(path, group, name):
    """``{weight name: array}`` of a layer group, names without scope and ':0'."""
    import h5py  # pylint: disable=import-outside-toplevel

    layer_group = group.get(name)
    if not isinstance(layer_group, h5py.Group):
        raise _file_error(path, f"no weights for layer {name!r} "
                                f"(no group 'model_weights/{name}')")
    names = layer_group.attrs.get("weight_names")
    if names is None:  # not written by Keras; take every dataset in the group
        names = []
        layer_group.visit(lambda key: names.append(key) if isinstance(
            layer_group[key], h5py.Dataset) else None)
    weights = {}
    for full in map(_text, names):
        if not isinstance(layer_group.get(full), h5py.Dataset):
            raise _file_error(path, f"layer {name!r}: weight {full!r} is listed "
                                    "but missing")
        try:
            data = np.array(layer_group[full], dtype=float)
        except (TypeError, ValueError):
            raise _file_error(path, f"layer {name!r}: weight {full!r} is not "
                                    "numeric") from None
        if not np.all(np.isfinite(data)):
            raise _file_error(path, f"layer {name!r}: weight {full!r} is not finite")
        weights[full.split("/")[-1].split(":")[0]] = data
    return weights


def _model_layers(path, config):
    """Layer configurations, in order, of a Keras 2 Sequential or chain Model."""
    if not isinstance(config, dict) or "config" not in config:
        raise _file_error(path, "model_config is not a Keras model configuration")
    cls = config.get("class_name")
    inner = config["config"]
    layers = inner if isinstance(inner, list) else (
        inner.get("layers") if isinstance(inner, dict) else None)
    if cls not in ("Sequential", "Model", "Functional") or not isinstance(
            layers, list):
        raise _file_error(path, f"model class {cls!r} is not supported (Sequential "
                                "or a chain Model)")
    for layer in layers:
        if (not isinstance(layer, dict) or "class_name" not in layer
                or not isinstance(layer.get("config"), dict)
                or "name" not in layer["config"]):
            raise _file_error(path, "model_config has a malformed layer entry")
    if cls != "Sequential":  # each layer must take the previous one's output
        for prev, layer in zip(layers, layers[1:]):
            nodes = layer.get("inbound_nodes") or []
            sources = [entry[0] for node in nodes for entry in node]
            if sources != [prev["config"]["name"]]:
                raise _file_error(path, f"layer {layer['config']['name']!r} does not "
                                        "take the previous layer's output alone; "
                                        "only chains of layers are supported")
    return layers


def _paper_specs(path, dt):
    """Layer specifications and input size read from a paper model file."""
    try:
        import h5py  # pylint: disable=import-outside-toplevel
    except ImportError as e:  # pragma: no cover
        raise ImportError("reading model files needs h5py") from e

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise _file_error(path, "no such file")
    if not h5py.is_hdf5(path):
        raise _file_error(path, "not an HDF5 file (a Keras 2 model file is HDF5)")
    with h5py.File(path, "r") as f:
        if "model_config" not in f.attrs:
            raise _file_error(path, "no 'model_config' attribute: not a Keras model "
                                    "file saved with model.save() (weights only?)")
        try:
            config = json.loads(_text(f.attrs["model_config"]))
        except ValueError:
            raise _file_error(path, "model_config is not valid JSON") from None
        if not isinstance(f.get("model_weights"), h5py.Group):
            raise _file_error(path, "no 'model_weights' group")
        layers = [layer for layer in _model_layers(path, config)
                  if layer["class_name"] not in NO_OP_LAYERS]
        size_in = width = None
        specs = []
        for i, layer in enumerate(layers):
            cls, cfg = layer["class_name"], layer["config"]
            name = cfg["name"]
            if not specs and width is None:
                size_in = width = _input_width(layer)
            if cls == "InputLayer":
                continue
            if cls not in ("RNN", "Dense"):
                raise _file_error(path, f"layer {name!r} of type {cls} is not "
                                        "supported (RNN(LMUCell), Dense, Dropout)")
            weights = _read_layer_weights(path, f["model_weights"], name)
            if cls == "RNN":
                spec = _paper_cell_spec(path, name, cfg, weights, dt)
            elif cls == "Dense":
                spec = _paper_dense_spec(path, name, cfg, weights,
                                         last=i == len(layers) - 1)
            in_d = spec.pop("in_d")
            if width is not None and in_d != width:
                raise _file_error(path, f"layer {name!r} takes {in_d} dimensions but "
                                        f"gets {width}")
            if size_in is None:
                size_in = in_d
            width = spec.pop("out_d")
            specs.append(spec)
    if not specs:
        raise _file_error(path, "the model has no layers with weights")
    return size_in, specs


def _input_width(layer):
    cfg = layer["config"]
    shape = cfg.get("batch_input_shape") or cfg.get("batch_shape")
    if isinstance(shape, list) and shape and isinstance(shape[-1], int):
        return shape[-1]
    return None


def _check_shapes(path, name, weights, table):
    """Check that ``weights`` has every name in ``table`` with the shapes there;
    return the values of the symbols in the shapes."""
    missing = sorted(set(table) - set(weights))
    if missing:
        raise _file_error(path, f"layer {name!r}: missing weights {missing}")
    sizes = {}
    for key, shape in table.items():
        arr = weights[key]
        ok = arr.ndim == len(shape)
        for dim, want in zip(arr.shape if ok else (), shape):
            if isinstance(want, str):
                want = sizes.setdefault(want, dim)
            ok = ok and dim == want
        if not ok or min(arr.shape, default=0) < 1:
            expected = "(" + ", ".join(str(sizes.get(s, s)) for s in shape) + ")"
            raise _file_error(path, f"layer {name!r}: weight {key!r} has shape "
                                    f"{arr.shape}, expected {expected}")
    return sizes


def _paper_cell_spec(path, name, cfg, weights, dt):
    cell = cfg.get("cell")
    if not isinstance(cell, dict) or cell.get("class_name") != "LMUCell":
        raise _file_error(path, f"RNN layer {name!r} has no LMUCell cell")
    cell_cfg = cell.get("config") or {}
    if cfg.get("go_backwards"):
        raise _file_error(path, f"RNN layer {name!r}: go_backwards is not supported")
    sizes = _check_shapes(path, name, weights, PAPER_CELL_WEIGHTS)
    d, n, q = sizes["d"], sizes["n"], sizes["q"]
    for key, value in (("units", n), ("order", q)):
        if key in cell_cfg and cell_cfg[key] != value:
            raise _file_error(path, f"layer {name!r}: config {key}={cell_cfg[key]!r} "
                                    f"but the weights have {value}")
    activation = cell_cfg.get("hidden_activation", "tanh")
    if isinstance(activation, dict):
        activation = activation.get("config", {}).get("name", activation)
    if activation not in ACTIVATIONS:
        raise ValidationError(
            f"{path}: layer {name!r}: hidden_activation {activation!r} has no "
            f"Nengo neuron type here; supported: {sorted(ACTIVATIONS)}",
            attr="hidden_activation",
        )
    theta = cell_cfg.get("theta")
    theta = float(theta) * dt if isinstance(theta, (int, float)) and not isinstance(
        theta, bool) and 0 < theta < np.inf else None
    w = weights
    params = dict(
        size_in=d, memory_d=1, order=q, theta=theta, hidden_units=n, dt=dt,
        hidden_neuron_type=ACTIVATIONS[activation](),
        hidden_recurrent=True, hidden_to_memory=True, memory_to_memory=True,
        input_to_hidden=True, use_bias=False,
        memory_matrices=(np.eye(q) + w["AT"].T, w["BT"].T),
        kernel_initializer=np.vstack([w["input_encoders"], w["hidden_encoders"]]),
        recurrent_initializer=w["memory_encoders"],
        hidden_kernel_initializer=np.vstack([w["memory_kernel"], w["input_kernel"]]),
        hidden_recurrent_initializer=w["hidden_kernel"],
        hidden_bias_initializer=np.zeros(n),
    )
    return {"kind": "lmu", "name": name, "params": params, "in_d": d, "out_d": n}


def _paper_dense_spec(path, name, cfg, weights, last):
    use_bias = cfg.get("use_bias", True)
    table = {"kernel": ("i", "u")}
    if use_bias:
        table["bias"] = ("u",)
    sizes = _check_shapes(path, name, weights, table)
    activation = cfg.get("activation", "linear")
    if isinstance(activation, dict):
        activation = activation.get("config", {}).get("name", activation)
    try:
        spec = _dense_spec(name, weights["kernel"], weights.get("bias"), activation,
                           last, "path")
    except ValidationError as e:
        raise _file_error(path, e.args[0]) from None
    spec.update(in_d=sizes["i"], out_d=sizes["u"])
    return spec


def network_from_paper_file(path, dt=0.001, label=None, seed=None,
                            add_to_container=None):
    """Build a Nengo network from a model file of the LMU paper's Keras 2 code.

    The file is an HDF5 file written by Keras 2's ``model.save()``: a
    Sequential (or chain) model of ``RNN(LMUCell)`` layers from the paper's
    ``lmu`` package, then ``Dense`` layers (Dropout layers are skipped). It
    is read with h5py alone; neither Keras nor the paper's package is needed.

    The paper's cell, with row vectors ``x`` (input), ``h`` (hidden) and
    ``m`` (memory)::

        u = x e_x + h e_h + m e_m
        m = m + m AT + u BT
        h = tanh(x W_x + h W_h + m W_m)      (the new m)

    is an `~nengo_lmu.LMU` with ``memory_d=1``, ``hidden_to_memory``,
    ``memory_to_memory``, ``input_to_hidden``, no biases, and the memory
    update ``memory_matrices=(I + AT^T, BT^T)`` read from the file (so a
    trained memory is kept as trained). ``theta`` is read from the cell's
    configuration (in steps) for information only.

    Every layer, weight and shape is checked before any Nengo object is
    built; a file that is not such a model raises a ValidationError (``attr``
    ``"path"``) saying what is wrong or missing.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.h5`` model file.
    dt : float
        Seconds per sequence step.
    label, seed, add_to_container
        As for `nengo.Network`.
""" + _RETURNS + """
    Examples
    --------
    >>> with nengo.Network() as net:
    ...     stim = nengo.Node(nengo.processes.PresentInput(x, dt=0.001))
    ...     paper = network_from_paper_file("psMNIST-standard.hdf5", dt=0.001)
    ...     nengo.Connection(stim, paper.input, synapse=None)
    ...     logits = nengo.Probe(paper.output)
    """
    dt = check_positive_finite(dt, "dt")
    size_in, specs = _paper_specs(path, dt)
    return _build_chain(specs, size_in, label, seed, add_to_container)
