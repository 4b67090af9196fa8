"""Keras 3 model files (KerasLMU 0.9) imported as data, and the check of every
Keras file before Keras reads it.

A Keras model file can hold code: a ``Lambda`` layer keeps Python bytecode that
Keras runs when it rebuilds the model, and a custom class can run anything in
its ``from_config``. So every Keras file is first read as data
(`~nengo_lmu.interop.keras_files.read_keras_file`, with ``zipfile``, ``json``
and h5py; nothing in it is imported, unpickled or run), and its configuration
is checked against the classes this package can import
(`~nengo_lmu.interop.keras_check.check_keras_config`): anything else
(``Lambda`` first) is refused, naming the layer, before Keras sees the file.

Keras 3 files (KerasLMU 0.9 on TensorFlow 2.16 and later) are then read
entirely as data (`network_from_keras3_file`): the ``.keras`` zip
(``config.json``, ``metadata.json`` and ``model.weights.h5``) and Keras 3's
legacy ``.h5`` (the configuration in the HDF5 attribute ``model_config``, the
weights under ``model_weights``). They become the same layer specifications
as `~nengo_lmu.interop.network_from_keras` builds from a Keras 2 model, so the
resulting network is the same. Keras (2 or 3) is never imported here.

The files are read by `nengo_lmu.interop.keras_files`, checked by
`nengo_lmu.interop.keras_check`, and each layer is converted by
``nengo_lmu.interop._keras3_layers``; the public names of the first two are
importable from here too.
"""

import io
import os
import zipfile

from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_positive_finite
from nengo_lmu.interop._chain import NO_OP_LAYERS, RETURNS_DOC, build_chain
from nengo_lmu.interop._keras3_layers import _Config, _dense, _lmu_spec

# the public names of keras_check and keras_files stay importable from here
from nengo_lmu.interop.keras_check import (
    HELPER_CLASSES,  # noqa: F401 (re-exported)
    LAYER_CLASSES,  # noqa: F401 (re-exported)
    SAFE_MODULE_PREFIXES,  # noqa: F401 (re-exported)
    _class_name,
    check_keras_config,
)
from nengo_lmu.interop.keras_files import (
    DAMAGED_FILE_ERRORS,
    MAX_CONFIG_BYTES,  # noqa: F401 (re-exported)
    MAX_WEIGHTS_BYTES,
    KerasFile,  # noqa: F401 (re-exported)
    _error,
    _H5Weights,
    _one_line,
    _zip_member,
    _ZipWeights,
    keras_file_kind,  # noqa: F401 (re-exported)
    read_keras_file,
)


def _model_layers(path, config):
    """The layer configurations of a Keras 3 Sequential or chain Functional
    model, in order, each checked to take the previous one's output alone."""
    top = _Config(path, config, "the top level")
    cls = _class_name(top.get("class_name", str, required=True))
    if cls not in ("Sequential", "Functional", "Model"):
        raise _error(
            path, f"model class {cls!r} is not supported (Sequential or a chain Model)"
        )
    inner = top.sub("config")
    layers = inner.get("layers", list, required=True)
    layers = [_Config(path, layer, f"layers[{i}]") for i, layer in enumerate(layers)]
    names = []
    for layer in layers:
        layer.get("class_name", str, required=True)
        names.append(layer.sub("config").get("name", str, required=True))
    if len(set(names)) != len(names):
        raise _error(path, "config: layer names are not unique")
    if cls != "Sequential":
        _check_chain(path, inner, layers, names)
    return layers, names


def _history(path, tensor, where):
    """The source layer name of a serialized Keras 3 tensor."""
    tensor = _Config(path, tensor, where)
    if tensor.get("class_name", str, required=True) != "__keras_tensor__":
        raise _error(path, f"config: {where} is not a Keras tensor")
    history = tensor.sub("config").get("keras_history", list, required=True)
    if not history or not isinstance(history[0], str):
        raise _error(path, f"config: {where}.config.keras_history is not [name, ...]")
    return history[0]


def _check_chain(path, inner, layers, names):
    for i, layer in enumerate(layers):
        nodes = layer.get("inbound_nodes", list, default=[])
        where = f"layers[{i}].inbound_nodes"
        cls = _class_name(layer.value["class_name"])
        if cls == "InputLayer":
            if i != 0 or nodes:
                raise _error(path, "only chains of layers with one input are supported")
            continue
        if i == 0 or len(nodes) != 1:
            raise _error(
                path,
                f"layer {names[i]!r} is called {len(nodes)} times; only chains of "
                "layers (each called once on the previous one's output) are "
                "supported",
            )
        node = _Config(path, nodes[0], f"{where}[0]")
        args = node.get("args", list, default=[])
        kwargs = node.get("kwargs", dict, default={})
        sources = [
            _history(path, arg, f"{where}[0].args[{j}]") for j, arg in enumerate(args)
        ]
        extra = sorted(
            k
            for k, v in kwargs.items()
            if k not in ("training", "mask") and v is not None
        )
        if sources != [names[i - 1]] or extra or kwargs.get("mask") is not None:
            raise _error(
                path,
                f"layer {names[i]!r} does not take the previous layer's output "
                "alone; only chains of layers are supported",
            )
    for key, want in (("input_layers", names[0]), ("output_layers", names[-1])):
        value = inner.get(key, list, default=None)
        if value is None:
            continue
        flat = value
        while len(flat) == 1 and isinstance(flat[0], list):
            flat = flat[0]
        if not flat or flat[0] != want:
            raise _error(
                path,
                f"config: {key} must name {want!r} alone; only chains of layers "
                "with one input and one output are supported",
            )


def _input_shape(layers):
    """(steps, width) of the model's input, each None where not fixed."""
    first = layers[0].value.get("config")
    shape = None
    if isinstance(first, dict):
        shape = first.get("batch_shape") or first.get("batch_input_shape")
    if not isinstance(shape, list) or len(shape) < 2:
        return None, None
    steps = shape[1] if len(shape) == 3 else None
    width = shape[-1]
    ok = lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1  # noqa
    return (steps if ok(steps) else None), (width if ok(width) else None)


def _specs(keras_file, f, dt):
    """Layer specifications, input size and sequence length of a Keras 3 file,
    every entry checked before anything is built."""
    path = keras_file.path
    weights = (
        _ZipWeights(path, f) if keras_file.kind == "keras" else _H5Weights(path, f)
    )
    layers, names = _model_layers(path, keras_file.config)
    steps, width = _input_shape(layers)
    size_in = width
    specs = []
    sequence = True  # whether the running output is a sequence
    kept = [
        (layer, name)
        for layer, name in zip(layers, names)
        if _class_name(layer.value["class_name"]) not in NO_OP_LAYERS + ("InputLayer",)
    ]
    if not kept:
        raise _error(path, "the model has no layers")
    for i, (layer, name) in enumerate(kept):
        cls = _class_name(layer.value["class_name"])
        if width is None:
            width = _build_width(layer)
            size_in = width
        if width is None:
            raise _error(path, f"the input width of layer {name!r} is not known")
        if cls == "Dense":
            spec, width = _dense(path, layer, name, width, weights, i == len(kept) - 1)
        elif cls in ("LMU", "RNN", "LMUFeedforward"):
            if not sequence:
                raise _error(
                    path,
                    f"layer {name!r} gets the previous layer's last step only "
                    "(return_sequences=False); Keras cannot run that",
                )
            spec, width, sequence = _lmu_spec(path, layer, name, width, weights, dt)
        else:
            raise _error(
                path,
                f"layer {name!r} of type {cls} is not supported; supported: KerasLMU "
                "layers, Dense, Dropout",
            )
        specs.append(spec)
    return size_in, specs, steps


def _build_width(layer):
    build = layer.value.get("build_config")
    shape = build.get("input_shape") if isinstance(build, dict) else None
    if isinstance(shape, list) and shape and isinstance(shape[-1], int):
        return shape[-1] if shape[-1] >= 1 and not isinstance(shape[-1], bool) else None
    return None


def keras3_specs(keras_file, dt=0.001):
    """Layer specifications (as `~nengo_lmu.interop.network_from_keras` builds),
    input size and sequence length of a Keras 3 file, read as data.

    Parameters
    ----------
    keras_file : KerasFile
        As returned by `~nengo_lmu.interop.keras_files.read_keras_file`, of
        kind ``"keras"`` or ``"h5"``.
    dt : float
        Seconds per sequence step.
    """
    import h5py  # pylint: disable=import-outside-toplevel

    path = keras_file.path
    check_keras_config(keras_file)
    try:
        if keras_file.kind == "keras":
            with zipfile.ZipFile(path) as archive:
                data = _zip_member(path, archive, "model.weights.h5", MAX_WEIGHTS_BYTES)
            with h5py.File(io.BytesIO(data), "r") as f:
                return _specs(keras_file, f, dt)
        if keras_file.kind == "h5":
            with h5py.File(path, "r") as f:
                return _specs(keras_file, f, dt)
    except ValidationError:
        raise
    except DAMAGED_FILE_ERRORS as err:
        raise _error(
            path, f"is damaged or not a complete Keras model file ({_one_line(err)})"
        ) from None
    raise _error(path, "a SavedModel is not a Keras 3 file")


def network_from_keras3_file(
    path, dt=0.001, label=None, seed=None, add_to_container=None
):
    (
        """Build a Nengo network from a Keras 3 model file, read as data.

    The file is a ``.keras`` zip or a legacy ``.h5`` file written by Keras 3
    (KerasLMU 0.9 on TensorFlow 2.16 or later) holding a chain of layers, as
    for `~nengo_lmu.interop.network_from_keras`: KerasLMU layers (``LMU``,
    ``RNN(LMUCell)``, ``LMUFeedforward``, with a SimpleRNNCell, Dense or no
    hidden cell), Dense and Dropout layers. Neither Keras nor KerasLMU is
    needed or imported, and nothing in the file is run: the configuration is
    checked first (`~nengo_lmu.interop.keras_check.check_keras_config`; a
    ``Lambda`` or any other layer is refused naming it), then every weight and
    shape, and only then are Nengo objects built. A trained ``theta``
    (``trainable_theta``) is read from the weights.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.
    dt : float
        Seconds per sequence step: ``theta`` in steps becomes ``theta * dt``.
    label, seed, add_to_container
        As for `nengo.Network`.
"""
        + RETURNS_DOC
        + """
    Raises
    ------
    nengo.exceptions.ValidationError
        Naming the file and what in it cannot be imported.

    Examples
    --------
    >>> with nengo.Network() as net:
    ...     stim = nengo.Node(nengo.processes.PresentInput(x, dt=0.001))
    ...     imported = network_from_keras3_file("model.keras", dt=0.001)
    ...     nengo.Connection(stim, imported.input, synapse=None)
    ...     out = nengo.Probe(imported.output)
    """
    )
    dt = check_positive_finite(dt, "dt")
    try:
        path = os.fspath(path)
    except TypeError:
        raise ValidationError(f"must be a path, got {path!r}", attr="path") from None
    if not os.path.exists(path):
        raise _error(path, "no such file")
    keras_file = read_keras_file(path)
    check_keras_config(keras_file)
    if keras_file.kind == "saved_model":
        raise _error(path, "a SavedModel folder is a Keras 2 format, not Keras 3")
    size_in, specs, steps = keras3_specs(keras_file, dt)
    net = build_chain(specs, size_in, label, seed, add_to_container)
    net.sequence_length = steps
    net.source = f"Keras {keras_file.keras_version} file (read as data)"
    return net
