"""The LMU paper's Keras 2 model files (HDF5), read with h5py alone.

`network_from_paper_file` builds a Nengo network from a file of
``RNN(LMUCell)`` layers (the paper's ``lmu`` package) and Dense layers;
neither Keras nor the paper's package is needed. h5py is imported when a file
is read.
"""

import json
import os

import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_positive_finite
from nengo_lmu.interop._chain import (
    NO_OP_LAYERS,
    RETURNS_DOC,
    activation_neuron_type,
    build_chain,
    dense_spec,
)

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


#: Most values in one weight array (a damaged file can claim any shape)
MAX_WEIGHTS = 10**8


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
        raise _file_error(
            path, f"no weights for layer {name!r} " f"(no group 'model_weights/{name}')"
        )
    names = layer_group.attrs.get("weight_names")
    if names is None:  # not written by Keras; take every dataset in the group
        names = []
        layer_group.visit(
            lambda key: (
                names.append(key)
                if isinstance(layer_group[key], h5py.Dataset)
                else None
            )
        )
    weights = {}
    for full in map(_text, names):
        if not isinstance(layer_group.get(full), h5py.Dataset):
            raise _file_error(
                path, f"layer {name!r}: weight {full!r} is listed " "but missing"
            )
        dataset = layer_group[full]
        if dataset.size > MAX_WEIGHTS:
            raise _file_error(
                path,
                f"layer {name!r}: weight {full!r} claims shape "
                f"{dataset.shape} ({dataset.size:.3g} values, "
                f"at most {MAX_WEIGHTS:.0e} here): a damaged file",
            )
        try:
            data = np.array(dataset, dtype=float)
        except (TypeError, ValueError):
            raise _file_error(
                path, f"layer {name!r}: weight {full!r} is not " "numeric"
            ) from None
        if not np.all(np.isfinite(data)):
            raise _file_error(path, f"layer {name!r}: weight {full!r} is not finite")
        weights[full.split("/")[-1].split(":")[0]] = data
    return weights


_TYPE_NAMES = {
    str: "a string",
    dict: "an object",
    list: "a list",
    bool: "true/false",
    int: "an integer",
    float: "a number",
    type(None): "null",
}


def _expect(path, value, types, where):
    """``value`` if it is of one of ``types`` (JSON types; bool is not a number),
    else a ValidationError naming the file and where in model_config."""
    types = types if isinstance(types, tuple) else (types,)
    ok = isinstance(value, types) and not (
        isinstance(value, bool) and bool not in types
    )
    if not ok:
        allowed = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)
        raise _file_error(
            path,
            f"model_config: {where} must be {allowed}, got "
            f"{type(value).__name__} {_short(value)}",
        )
    return value


def _short(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _activation_name(path, value, where):
    """An activation as Keras 2 serialises it: a name, or {"config": {"name"}}
    (or {"class_name": name})."""
    _expect(path, value, (str, dict), where)
    if isinstance(value, dict):
        inner = value.get("config")
        if inner is None:
            return _expect(path, value.get("class_name"), str, f"{where}.class_name")
        _expect(path, inner, dict, f"{where}.config")
        return _expect(path, inner.get("name"), str, f"{where}.config.name")
    return value


def _check_shape(path, value, where):
    _expect(path, value, list, where)
    for i, dim in enumerate(value):
        _expect(path, dim, (int, type(None)), f"{where}[{i}]")
        if dim is not None and dim < 1:
            raise _file_error(
                path, f"model_config: {where}[{i}] must be >= 1, got " f"{dim}"
            )


def _check_layer_config(path, layer, where):
    """Check the types of every configuration entry this reader uses."""
    cls, cfg = layer["class_name"], layer["config"]
    for key in ("batch_input_shape", "batch_shape"):
        if cfg.get(key) is not None:
            _check_shape(path, cfg[key], f"{where}.config.{key}")
    for key in ("go_backwards", "return_sequences", "use_bias"):
        if key in cfg:
            _expect(path, cfg[key], bool, f"{where}.config.{key}")
    if cls == "Dense":
        if "activation" in cfg:
            _activation_name(path, cfg["activation"], f"{where}.config.activation")
        if "units" in cfg:
            _expect(path, cfg["units"], int, f"{where}.config.units")
    if cls == "RNN":
        cell = _expect(path, cfg.get("cell"), dict, f"{where}.config.cell")
        _expect(path, cell.get("class_name"), str, f"{where}.config.cell.class_name")
        cell_cfg = _expect(
            path, cell.get("config", {}), dict, f"{where}.config.cell.config"
        )
        for key in ("units", "order"):
            if key in cell_cfg:
                _expect(path, cell_cfg[key], int, f"{where}.config.cell.config.{key}")
        if "theta" in cell_cfg:
            _expect(
                path,
                cell_cfg["theta"],
                (int, float),
                f"{where}.config.cell.config.theta",
            )
        if "hidden_activation" in cell_cfg:
            _activation_name(
                path,
                cell_cfg["hidden_activation"],
                f"{where}.config.cell.config.hidden_activation",
            )


def _model_layers(path, config):
    """Layer configurations, in order, of a Keras 2 Sequential or chain Model,
    with the type of every entry used checked."""
    _expect(path, config, dict, "the top level")
    cls = _expect(path, config.get("class_name"), str, "class_name")
    if cls not in ("Sequential", "Model", "Functional"):
        raise _file_error(
            path,
            f"model class {cls!r} is not supported (Sequential " "or a chain Model)",
        )
    inner = _expect(path, config.get("config"), (list, dict), "config")
    layers = (
        inner
        if isinstance(inner, list)
        else _expect(path, inner.get("layers"), list, "config.layers")
    )
    if isinstance(inner, dict) and "name" in inner:
        _expect(path, inner["name"], str, "config.name")
    names = []
    for i, layer in enumerate(layers):
        where = f"layer {i}"
        _expect(path, layer, dict, where)
        _expect(path, layer.get("class_name"), str, f"{where}.class_name")
        cfg = _expect(path, layer.get("config"), dict, f"{where}.config")
        names.append(_expect(path, cfg.get("name"), str, f"{where}.config.name"))
        _check_layer_config(path, layer, where)
        nodes = _expect(
            path, layer.get("inbound_nodes", []), list, f"{where}.inbound_nodes"
        )
        for j, node in enumerate(nodes):
            _expect(path, node, list, f"{where}.inbound_nodes[{j}]")
            for k, entry in enumerate(node):
                entry_where = f"{where}.inbound_nodes[{j}][{k}]"
                _expect(path, entry, list, entry_where)
                if not entry:
                    raise _file_error(path, f"model_config: {entry_where} is empty")
                _expect(path, entry[0], str, f"{entry_where}[0]")
    if len(set(names)) != len(names):
        raise _file_error(path, "model_config: layer names are not unique")
    if cls != "Sequential":  # each layer must take the previous one's output
        for prev, layer in zip(layers, layers[1:]):
            nodes = layer.get("inbound_nodes") or []
            sources = [entry[0] for node in nodes for entry in node]
            if sources != [prev["config"]["name"]]:
                raise _file_error(
                    path,
                    f"layer {layer['config']['name']!r} does not "
                    "take the previous layer's output alone; "
                    "only chains of layers are supported",
                )
    return layers


def _one_line(err):
    return " ".join(f"{type(err).__name__}: {err}".split())


def _paper_specs(path, dt):
    """Layer specifications, input size and sequence length (None if not
    fixed) read from a paper model file."""
    try:
        import h5py  # pylint: disable=import-outside-toplevel
    except ImportError as e:  # pragma: no cover
        raise ImportError("reading model files needs h5py") from e

    try:
        path = os.fspath(path)
    except TypeError:
        raise ValidationError(f"must be a path, got {path!r}", attr="path") from None
    if not os.path.isfile(path):
        raise _file_error(path, "no such file")
    try:
        if not h5py.is_hdf5(path):
            raise _file_error(path, "not an HDF5 file (a Keras 2 model file is HDF5)")
        with h5py.File(path, "r") as f:
            return _read_paper_file(path, f, dt)
    except ValidationError:
        raise
    except (
        OSError,
        KeyError,
        ValueError,
        TypeError,
        IndexError,
        AttributeError,
        RuntimeError,
        MemoryError,
    ) as err:
        # h5py's and HDF5's errors for truncated or corrupted files
        raise _file_error(
            path, "is damaged or not a complete HDF5 model file " f"({_one_line(err)})"
        ) from None


def _read_paper_file(path, f, dt):
    import h5py  # pylint: disable=import-outside-toplevel

    if "model_config" not in f.attrs:
        raise _file_error(
            path,
            "no 'model_config' attribute: not a Keras model "
            "file saved with model.save() (weights only?)",
        )
    try:
        config = json.loads(_text(f.attrs["model_config"]))
    except (ValueError, RecursionError):
        raise _file_error(path, "model_config is not valid JSON") from None
    if not isinstance(f.get("model_weights"), h5py.Group):
        raise _file_error(path, "no 'model_weights' group")
    layers = [
        layer
        for layer in _model_layers(path, config)
        if layer["class_name"] not in NO_OP_LAYERS
    ]
    if not any(layer["class_name"] == "RNN" for layer in layers):
        raise _file_error(
            path, "has no RNN(LMUCell) layer: not an LMU-paper model " "file"
        )
    size_in = width = steps = None
    specs = []
    for i, layer in enumerate(layers):
        cls, cfg = layer["class_name"], layer["config"]
        name = cfg["name"]
        if not specs and width is None:
            size_in = width = _input_width(layer)
            steps = _input_steps(layer)
        if cls == "InputLayer":
            continue
        if cls not in ("RNN", "Dense"):
            raise _file_error(
                path,
                f"layer {name!r} of type {cls} is not "
                "supported (RNN(LMUCell), Dense, Dropout)",
            )
        weights = _read_layer_weights(path, f["model_weights"], name)
        if cls == "RNN":
            spec = _paper_cell_spec(path, name, cfg, weights, dt)
        else:
            spec = _paper_dense_spec(
                path, name, cfg, weights, last=i == len(layers) - 1
            )
        in_d = spec.pop("in_d")
        if width is not None and in_d != width:
            raise _file_error(
                path, f"layer {name!r} takes {in_d} dimensions but " f"gets {width}"
            )
        if size_in is None:
            size_in = in_d
        width = spec.pop("out_d")
        specs.append(spec)
    return size_in, specs, steps


def _input_steps(layer):
    cfg = layer["config"]
    shape = cfg.get("batch_input_shape") or cfg.get("batch_shape")
    if isinstance(shape, list) and len(shape) == 3:
        return shape[1]
    return None


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
            raise _file_error(
                path,
                f"layer {name!r}: weight {key!r} has shape "
                f"{arr.shape}, expected {expected}",
            )
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
            raise _file_error(
                path,
                f"layer {name!r}: config {key}={cell_cfg[key]!r} "
                f"but the weights have {value}",
            )
    activation = cell_cfg.get("hidden_activation", "tanh")
    if isinstance(activation, dict):
        activation = activation.get("config", {}).get("name", activation)
    neuron_type = activation_neuron_type(
        activation, "hidden_activation", f"{path}: layer {name!r}: hidden_activation "
    )
    theta = cell_cfg.get("theta")
    theta = (
        float(theta) * dt
        if isinstance(theta, (int, float))
        and not isinstance(theta, bool)
        and 0 < theta < np.inf
        else None
    )
    w = weights
    params = dict(
        size_in=d,
        memory_d=1,
        order=q,
        theta=theta,
        hidden_units=n,
        dt=dt,
        hidden_neuron_type=neuron_type,
        hidden_recurrent=True,
        hidden_to_memory=True,
        memory_to_memory=True,
        input_to_hidden=True,
        use_bias=False,
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
        spec = dense_spec(
            name, weights["kernel"], weights.get("bias"), activation, last, "path"
        )
    except ValidationError as e:
        raise _file_error(path, e.args[0]) from None
    spec.update(in_d=sizes["i"], out_d=sizes["u"])
    return spec


def network_from_paper_file(
    path, dt=0.001, label=None, seed=None, add_to_container=None
):
    (
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
"""
        + RETURNS_DOC
        + """
    Examples
    --------
    >>> with nengo.Network() as net:
    ...     stim = nengo.Node(nengo.processes.PresentInput(x, dt=0.001))
    ...     paper = network_from_paper_file("psMNIST-standard.hdf5", dt=0.001)
    ...     nengo.Connection(stim, paper.input, synapse=None)
    ...     logits = nengo.Probe(paper.output)
    """
    )
    dt = check_positive_finite(dt, "dt")
    size_in, specs, steps = _paper_specs(path, dt)
    net = build_chain(specs, size_in, label, seed, add_to_container)
    net.sequence_length = steps
    return net
