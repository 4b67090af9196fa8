"""Keras model files read as data: Keras 3 files, and the check of every Keras file
before Keras reads it.

A Keras model file can hold code: a ``Lambda`` layer keeps Python bytecode that
Keras runs when it rebuilds the model, and a custom class can run anything in
its ``from_config``. So every Keras file is first read as data here (with
``zipfile``, ``json`` and h5py; nothing in it is imported, unpickled or run), and
its configuration is checked against the classes this package can import
(`check_keras_config`): anything else (``Lambda`` first) is refused, naming the
layer, before Keras sees the file.

Keras 3 files (KerasLMU 0.9 on TensorFlow 2.16 and later) are then read
entirely as data (`network_from_keras3_file`): the ``.keras`` zip
(``config.json``, ``metadata.json`` and ``model.weights.h5``) and Keras 3's
legacy ``.h5`` (the configuration in the HDF5 attribute ``model_config``, the
weights under ``model_weights``). They become the same layer specifications
as `~nengo_lmu.interop.network_from_keras` builds from a Keras 2 model, so the
resulting network is the same. Keras (2 or 3) is never imported here.
"""

import io
import json
import os
import zipfile

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
from nengo_lmu.interop.paper import MAX_WEIGHTS

#: Layer classes a Keras file may hold (KerasLMU's, and the Keras layers the
#: importers convert or skip)
LAYER_CLASSES = (
    "Sequential",
    "Functional",
    "Model",
    "InputLayer",
    "Dense",
    "Dropout",
    "RNN",
    "SimpleRNNCell",
    "LMU",
    "LMUCell",
    "LMUFeedforward",
)

#: Other Keras objects that may appear inside a layer's configuration; none of
#: them carries code
HELPER_CLASSES = (
    # initializers
    "Constant",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Identity",
    "IdentityInitializer",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "OrthogonalInitializer",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    # regularizers and constraints
    "L1",
    "L1L2",
    "L2",
    "OrthogonalRegularizer",
    "MaxNorm",
    "MinMaxNorm",
    "NonNeg",
    "RadialConstraint",
    "UnitNorm",
    # dtype policies and serialized values
    "DTypePolicy",
    "FloatDTypePolicy",
    "Policy",
    "__keras_tensor__",
    "__tuple__",
    # shapes and specs in a SavedModel's metadata (decoded by a lookup)
    "InputSpec",
    "TensorShape",
    "TypeSpec",
    # an activation function given by its name ({"config": "tanh"})
    "function",
)

#: Where the configuration may name a module (Keras 3 files)
SAFE_MODULE_PREFIXES = ("keras", "keras_lmu", "tf_keras")

#: SavedModel nodes whose metadata holds layer configurations
_SAVED_MODEL_LAYER_NODES = (
    "_tf_keras_layer",
    "_tf_keras_input_layer",
    "_tf_keras_rnn_layer",
    "_tf_keras_network",
    "_tf_keras_model",
    "_tf_keras_sequential",
)

#: Entries that a load with ``compile=False`` leaves alone (optimizer, loss
#: and metrics of a compiled model), so that they need no check
_NOT_DESERIALIZED = ("training_config", "compile_config")

#: Largest configuration read (bytes); KerasLMU models' are a few kB
MAX_CONFIG_BYTES = 16 * 2**20
#: Largest weights file read from a ``.keras`` zip (bytes)
MAX_WEIGHTS_BYTES = 2**31


def _error(path, msg, attr="path"):
    return ValidationError(f"{path}: {msg}", attr=attr)


def _one_line(err):
    return " ".join(f"{type(err).__name__}: {err}".split())[:200]


def _short(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --- reading the configuration -------------------------------------------------


class KerasFile:
    """What a Keras model file says about itself, read as data.

    Attributes
    ----------
    path : str
    kind : {"keras", "h5", "saved_model"}
        A ``.keras`` zip, an HDF5 file, or a SavedModel folder.
    config : dict or list
        The model configuration (for a SavedModel: the list of its layers'
        metadata).
    keras_version : str or None
        The Keras version that wrote the file, where it says.
    """

    def __init__(self, path, kind, config, keras_version):
        self.path = path
        self.kind = kind
        self.config = config
        self.keras_version = keras_version

    @property
    def keras_major(self):
        """The Keras major version that wrote the file (None if not said)."""
        try:
            return int(str(self.keras_version).split(".")[0])
        except ValueError:
            return None


def _json(path, text, what):
    if isinstance(text, (bytes, np.bytes_)):
        if len(text) > MAX_CONFIG_BYTES:
            raise _error(path, f"{what} is larger than {MAX_CONFIG_BYTES} bytes")
        try:
            text = bytes(text).decode("utf8")
        except UnicodeDecodeError:
            raise _error(path, f"{what} is not UTF-8 text") from None
    if not isinstance(text, str):
        raise _error(path, f"{what} is not text")
    if len(text) > MAX_CONFIG_BYTES:
        raise _error(path, f"{what} is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise _error(path, f"{what} is not valid JSON") from None


def keras_file_kind(path):
    """``"keras"``, ``"h5"`` or ``"saved_model"`` if ``path`` looks like a Keras
    model file of that kind (by its first bytes or its folder's files), else
    None. Reads nothing but the file's signature."""
    path = os.fspath(path)
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "saved_model.pb")):
            return "saved_model"
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return None
    if head.startswith(b"PK"):
        return "keras"
    if head == b"\x89HDF\r\n\x1a\n":
        return "h5"
    try:
        import h5py  # pylint: disable=import-outside-toplevel

        # HDF5 may also start at 512, 1024, ... bytes (a user block)
        return "h5" if h5py.is_hdf5(path) else None
    except (ImportError, OSError):
        return None


def read_keras_file(path):
    """The configuration of a Keras model file, read as data.

    Nothing in the file is imported, unpickled or run: a ``.keras`` zip is read
    with ``zipfile`` and ``json``, an HDF5 file with h5py, a SavedModel folder's
    ``keras_metadata.pb`` with a small protocol-buffer reader here.

    Returns
    -------
    KerasFile

    Raises
    ------
    nengo.exceptions.ValidationError
        Naming the file, if it is not a readable Keras model file.
    """
    path = os.fspath(path)
    kind = keras_file_kind(path)
    if kind is None:
        raise _error(
            path, "not a Keras model file (a .keras zip, an HDF5 file or a SavedModel)"
        )
    try:
        if kind == "keras":
            return _read_keras_zip(path)
        if kind == "h5":
            return _read_h5(path)
        return _read_saved_model(path)
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
        EOFError,
        zipfile.BadZipFile,
    ) as err:
        raise _error(
            path, f"is damaged or not a complete Keras model file ({_one_line(err)})"
        ) from None


def _zip_member(path, archive, name, limit):
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise _error(
            path,
            f"has no {name} (a .keras file holds config.json, "
            "metadata.json and model.weights.h5)",
        ) from None
    if info.file_size > limit:
        raise _error(path, f"{name} is larger than {limit} bytes")
    data = archive.read(name)
    if len(data) > limit:  # a size field that lied
        raise _error(path, f"{name} is larger than {limit} bytes")
    return data


def _read_keras_zip(path):
    with zipfile.ZipFile(path) as archive:
        config = _json(
            path,
            _zip_member(path, archive, "config.json", MAX_CONFIG_BYTES),
            "config.json",
        )
        version = None
        if "metadata.json" in archive.namelist():
            meta = _json(
                path,
                _zip_member(path, archive, "metadata.json", MAX_CONFIG_BYTES),
                "metadata.json",
            )
            if isinstance(meta, dict) and isinstance(meta.get("keras_version"), str):
                version = meta["keras_version"]
    return KerasFile(path, "keras", config, version)


def _attr_text(value):
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf8", errors="replace")
    return value if isinstance(value, str) else None


def _read_h5(path):
    import h5py  # pylint: disable=import-outside-toplevel

    with h5py.File(path, "r") as f:
        if "model_config" not in f.attrs:
            raise _error(
                path,
                "no 'model_config' attribute: not a Keras model file saved with "
                "model.save() (weights only?)",
            )
        config = _json(path, f.attrs["model_config"], "model_config")
        version = _attr_text(f.attrs.get("keras_version"))
    return KerasFile(path, "h5", config, version)


def _varint(data, pos):
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _proto_fields(data):
    """(field number, value) of a protocol-buffer message: ints for varints,
    bytes for length-delimited fields; other wire types are skipped."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise ValueError("truncated field")
            value, pos = data[pos : pos + size], pos + size
        elif wire == 1:
            value, pos = None, pos + 8
        elif wire == 5:
            value, pos = None, pos + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield number, value


def _read_saved_model(path):
    meta_path = os.path.join(path, "keras_metadata.pb")
    if not os.path.isfile(meta_path):
        raise _error(
            path,
            "this SavedModel has no keras_metadata.pb, so its layers cannot be "
            "checked before Keras rebuilds them; refused (save it again as .keras)",
        )
    if os.path.getsize(meta_path) > MAX_CONFIG_BYTES:
        raise _error(path, f"keras_metadata.pb is larger than {MAX_CONFIG_BYTES} bytes")
    with open(meta_path, "rb") as f:
        data = f.read()
    layers, version = [], None
    for number, node in _proto_fields(data):
        if number != 1 or not isinstance(node, bytes):
            continue
        fields = dict(
            (n, v) for n, v in _proto_fields(node) if n in (4, 5) and v is not None
        )
        identifier = fields.get(4, b"").decode("utf8", errors="replace")
        if identifier not in _SAVED_MODEL_LAYER_NODES:
            continue
        meta = _json(path, fields.get(5, b"{}"), "keras_metadata.pb")
        if not isinstance(meta, dict):
            raise _error(path, "keras_metadata.pb: a node's metadata is not an object")
        layers.append(meta)
    if not layers:
        raise _error(path, "keras_metadata.pb describes no Keras layers")
    return KerasFile(path, "saved_model", layers, version)


# --- the safety check ---------------------------------------------------------------


def _class_name(value):
    """A serialized class name without KerasLMU's registration prefix."""
    return value.split(">", 1)[1] if value.startswith("keras-lmu>") else value


def check_keras_config(keras_file):
    """Refuse a Keras file whose configuration holds anything but the classes the
    importers support, before Keras reads it.

    Every object in the configuration (layers, cells, nested layers,
    initializers, ...) is checked, at any depth: its class must be one of
    `LAYER_CLASSES` or `HELPER_CLASSES`, a module it names must be Keras's or
    KerasLMU's, and an activation must be given by name. So a ``Lambda``
    layer (whose bytecode Keras would run), a custom class or a function
    serialized as code is refused, naming the layer, and the file is never
    given to Keras.

    Parameters
    ----------
    keras_file : KerasFile
        As returned by `read_keras_file`.

    Raises
    ------
    nengo.exceptions.ValidationError
        Naming the file and the first layer (and its class) that is refused.
    """
    path = keras_file.path
    roots = keras_file.config
    if keras_file.kind != "saved_model":
        roots = [roots]
    for root in roots:
        _check_object(path, root, "the model", 0)


def _refuse(path, layer, cls, why=""):
    return ValidationError(
        f"{path}: layer {layer!r} of type {cls} is not supported{why}; supported: "
        "KerasLMU layers (LMU, RNN(LMUCell), LMUFeedforward) with SimpleRNNCell, "
        "Dense or no hidden cell, Dense, Dropout. Refused before Keras reads the "
        "file, so no code in it has run",
        attr="path",
    )


def _check_object(path, obj, layer, depth):
    if depth > 100:
        raise _error(path, "the configuration is nested too deeply")
    if isinstance(obj, list):
        for item in obj:
            _check_object(path, item, layer, depth + 1)
        return
    if not isinstance(obj, dict):
        return
    if "class_name" in obj:
        cls = obj["class_name"]
        config = obj.get("config")
        name = config.get("name") if isinstance(config, dict) else None
        if isinstance(name, str) and cls not in HELPER_CLASSES:
            layer = name
        if not isinstance(cls, str):
            raise _error(
                path, f"layer {layer!r}: class_name must be a string, got {_short(cls)}"
            )
        cls = _class_name(cls)
        if cls not in LAYER_CLASSES and cls not in HELPER_CLASSES:
            raise _refuse(path, layer, cls)
        module = obj.get("module")
        if module is not None and not (
            isinstance(module, str) and module.split(".")[0] in SAFE_MODULE_PREFIXES
        ):
            raise _refuse(path, layer, cls, f" from module {_short(module)}")
        if cls == "function" and not isinstance(config, str):
            raise _refuse(path, layer, "function", " (a function given as code)")
    for key, value in obj.items():
        if key not in _NOT_DESERIALIZED:
            _check_object(path, value, layer, depth + 1)


# --- Keras 3 configurations as layer specifications ---------------------------------


class _Config:
    """Typed access to one configuration object, with errors naming where."""

    def __init__(self, path, value, where):
        if not isinstance(value, dict):
            raise _error(
                path, f"config: {where} must be an object, got {_short(value)}"
            )
        self.path, self.value, self.where = path, value, where

    def get(self, key, types, default=None, required=False):
        if key not in self.value:
            if required:
                raise _error(self.path, f"config: {self.where}.{key} is missing")
            return default
        value = self.value[key]
        types = types if isinstance(types, tuple) else (types,)
        ok = isinstance(value, types) and not (
            isinstance(value, bool) and bool not in types
        )
        if not ok:
            allowed = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)
            raise _error(
                self.path,
                f"config: {self.where}.{key} must be {allowed}, got {_short(value)}",
            )
        return value

    def count(self, key, default=None, required=False, minimum=1):
        value = self.get(key, int, default=default, required=required)
        if value is not None and value < minimum:
            raise _error(
                self.path,
                f"config: {self.where}.{key} must be >= {minimum}, got {value}",
            )
        return value

    def sub(self, key):
        return _Config(
            self.path, self.get(key, dict, required=True), f"{self.where}.{key}"
        )


_TYPE_NAMES = {
    str: "a string",
    dict: "an object",
    list: "a list",
    bool: "true or false",
    int: "an integer",
    float: "a number",
    type(None): "null",
}


def _activation(cfg, key="activation"):
    value = cfg.get(key, (str, dict, type(None)), default="linear")
    if isinstance(value, dict):  # {"class_name": "function", "config": "tanh"}
        value = _Config(cfg.path, value, f"{cfg.where}.{key}").get(
            "config", str, required=True
        )
    return "linear" if value is None else value


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


def _lmu_config(layer, name):
    """(lmu config, hidden cell config or None, kind, rnn options) of a
    KerasLMU layer's configuration; kind is "LMUCell" or "LMUFeedforward" (the
    class that holds the memory's weights) and "where" the weight locations."""
    cls = _class_name(layer.value["class_name"])
    cfg = layer.sub("config")
    rnn = None
    if cls == "RNN":
        rnn = cfg
        cell = cfg.sub("cell")
        cell_cls = _class_name(cell.get("class_name", str, required=True))
        if cell_cls != "LMUCell":
            raise _error(
                layer.path,
                f"RNN layer {name!r} has a {cell_cls} cell; only LMUCell is supported",
            )
        cfg = cell.sub("config")
        kind, where = "LMUCell", {"cell": ("cell",), "hidden": ("cell", "hidden_cell")}
    elif cls == "LMUFeedforward":
        kind, where = "LMUFeedforward", {"cell": (), "hidden": ("hidden_cell",)}
    else:  # LMU: an RNN(LMUCell) or an LMUFeedforward inside
        recurrent = any(
            cfg.get(key, bool, default=False)
            for key in ("hidden_to_memory", "memory_to_memory", "trainable_theta")
        )
        kind = "LMUCell" if recurrent else "LMUFeedforward"
        where = {
            "cell": ("layer", "cell") if recurrent else ("layer",),
            "hidden": ("hidden_cell",),
        }
    options = rnn if rnn is not None else cfg
    return cfg, kind, where, options


def _lmu_spec(path, layer, name, size_in, weights, dt):
    """The `~nengo_lmu.LMU` specification of a KerasLMU layer's configuration
    and weights, and its output width."""
    cfg, kind, where, options = _lmu_config(layer, name)
    for key in ("go_backwards", "return_state"):
        if options.get(key, bool, default=False):
            raise _error(path, f"layer {name!r}: {key}=True is not supported")
    options.get("return_sequences", bool, default=False)
    memory_d = cfg.count("memory_d", required=True)
    order = cfg.count("order", required=True)
    theta = cfg.get("theta", (int, float), required=True)
    if not 0 < theta < np.inf:
        raise _error(path, f"config: layer {name!r}: theta must be > 0, got {theta}")
    recurrent = kind == "LMUCell"
    flags = {
        key: cfg.get(key, bool, default=False)
        for key in (
            "hidden_to_memory",
            "memory_to_memory",
            "input_to_hidden",
            "trainable_theta",
        )
    }
    if not recurrent:
        for key in ("hidden_to_memory", "memory_to_memory", "trainable_theta"):
            if flags[key] and _class_name(layer.value["class_name"]) != "LMU":
                raise _error(path, f"layer {name!r}: LMUFeedforward has no {key}")
            flags[key] = False
    use_bias = cfg.get("use_bias", bool, default=False)
    discretizer = cfg.get("discretizer", str, default="zoh")
    if discretizer not in ("zoh", "euler"):
        raise _error(
            path,
            f"layer {name!r}: discretizer must be 'zoh' or 'euler', got "
            f"{_short(discretizer)}",
        )
    has_kernel = cfg.get("kernel_initializer", (str, dict, type(None)), default="x")
    has_kernel = has_kernel is not None
    dropouts = {}
    for key in ("dropout", "recurrent_dropout"):
        value = cfg.get(key, (int, float), default=0)
        if not 0 <= value < 1:
            raise _error(path, f"config: layer {name!r}: {key} must be in [0, 1)")
        dropouts[key] = float(value)
    input_d = cfg.get("input_d", (int, type(None)), default=None)
    if input_d is not None and input_d != size_in:
        raise _error(
            path, f"layer {name!r}: input_d={input_d} but the layer gets {size_in}"
        )
    if not recurrent:
        _check_feedforward_exact(path, name, cfg)

    hidden = cfg.get("hidden_cell", (dict, type(None)), default=None)
    n_mem = memory_d * order
    hidden_in = n_mem + (size_in if flags["input_to_hidden"] else 0)
    expected = []
    params = {}
    if hidden is None:
        if flags["hidden_to_memory"]:
            raise _error(path, f"layer {name!r}: hidden_to_memory needs a hidden cell")
        units = 0
        out_d = hidden_in
        params["hidden_units"] = 0
    else:
        hidden = _Config(path, hidden, f"layer {name!r}.hidden_cell")
        hidden_cls = _class_name(hidden.get("class_name", str, required=True))
        if hidden_cls not in ("SimpleRNNCell", "Dense"):
            raise _error(
                path,
                f"layer {name!r}: hidden cell {hidden_cls} is not supported; use "
                "SimpleRNNCell, Dense or None",
            )
        hcfg = hidden.sub("config")
        units = out_d = hcfg.count("units", required=True)
        hidden_bias = hcfg.get("use_bias", bool, default=True)
        for key in ("quantization_config", "lora_rank"):
            if hcfg.get(key, object, default=None) not in (None, 0):
                raise _error(
                    path, f"layer {name!r}: hidden cell {key} is not supported"
                )
        activation = _activation(hcfg)
        try:
            neuron_type = activation_neuron_type(
                activation,
                "path",
                f"{path}: layer {name!r}: activation of {hidden_cls}: ",
            )
        except ValidationError as err:
            raise ValidationError(err.args[0], attr="path") from None
        recurrent_hidden = hidden_cls == "SimpleRNNCell"
        expected.append(("hidden", "kernel", (hidden_in, units)))
        if recurrent_hidden:
            expected.append(("hidden", "recurrent_kernel", (units, units)))
        if hidden_bias:
            expected.append(("hidden", "bias", (units,)))
        params.update(
            hidden_units=units,
            hidden_neuron_type=neuron_type,
            hidden_recurrent=recurrent_hidden,
        )
    enc_d = size_in + (units if flags["hidden_to_memory"] else 0)
    if not has_kernel and enc_d != memory_d:
        raise _error(
            path,
            f"layer {name!r}: without an input kernel the input width ({enc_d}) "
            f"must equal memory_d ({memory_d})",
        )
    cell = []
    if has_kernel:
        cell.append(("cell", "kernel", (enc_d, memory_d)))
    if use_bias:
        cell.append(("cell", "bias", (memory_d,)))
    if flags["trainable_theta"]:
        cell.append(("cell", "theta_inv", ()))
    if flags["memory_to_memory"]:
        cell.append(("cell", "recurrent_kernel", (n_mem, memory_d)))
    w = weights.lmu(name, where, cell, expected, _hidden_name(hidden))

    theta_steps = float(theta)
    if flags["trainable_theta"]:
        theta_inv = float(w["cell", "theta_inv"])
        if not 0 < theta_inv < np.inf:
            raise _error(
                path, f"layer {name!r}: theta_inv must be > 0, got {theta_inv}"
            )
        theta_steps = 1 / theta_inv
    params.update(
        size_in=size_in,
        memory_d=memory_d,
        order=order,
        theta=theta_steps * dt,
        dt=dt,
        hidden_to_memory=flags["hidden_to_memory"],
        memory_to_memory=flags["memory_to_memory"],
        input_to_hidden=flags["input_to_hidden"],
        discretizer=discretizer,
        trainable_theta=flags["trainable_theta"] and discretizer == "euler",
        use_bias=use_bias,
        kernel_initializer=w["cell", "kernel"] if has_kernel else np.eye(memory_d),
        **dropouts,
    )
    if use_bias:
        params["bias_initializer"] = w["cell", "bias"]
    if flags["memory_to_memory"]:
        params["recurrent_initializer"] = w["cell", "recurrent_kernel"]
    if hidden is not None:
        params["hidden_kernel_initializer"] = w["hidden", "kernel"]
        if params["hidden_recurrent"]:
            params["hidden_recurrent_initializer"] = w["hidden", "recurrent_kernel"]
        params["hidden_bias_initializer"] = (
            w["hidden", "bias"] if ("hidden", "bias") in w else np.zeros(units)
        )
    return_sequences = options.get("return_sequences", bool, default=False)
    return {"kind": "lmu", "name": name, "params": params}, out_d, return_sequences


def _hidden_name(hidden):
    """The name of a hidden cell's configuration (or None)."""
    if hidden is None:
        return None
    name = hidden.value.get("config", {}).get("name")
    return name if isinstance(name, str) else None


def _check_feedforward_exact(path, name, cfg):
    """Refuse an LMUFeedforward whose ``conv_mode="raw"`` convolution truncates
    its impulse response (the Nengo memory keeps the whole response)."""
    conv_mode = cfg.get("conv_mode", str, default="fft")
    if conv_mode not in ("fft", "raw"):
        raise _error(path, f"layer {name!r}: conv_mode must be 'fft' or 'raw'")
    truncate = cfg.get("truncate_ir", (int, float, type(None)), default=None)
    if conv_mode != "raw" or truncate is None:
        return
    raise _error(
        path,
        f"layer {name!r}: LMUFeedforward(conv_mode='raw', truncate_ir={truncate!r}) "
        "may drop the tail of its impulse response, which the Nengo LMU cannot "
        "reproduce (its memory keeps the whole response); save it with "
        "truncate_ir=None or conv_mode='fft'",
    )


# --- weights --------------------------------------------------------------------


def _array(path, layer, key, dataset):
    import h5py  # pylint: disable=import-outside-toplevel

    if not isinstance(dataset, h5py.Dataset):
        raise _error(path, f"layer {layer!r}: weight {key!r} is missing")
    if dataset.size > MAX_WEIGHTS:
        raise _error(
            path,
            f"layer {layer!r}: weight {key!r} claims shape {dataset.shape} "
            f"({dataset.size:.3g} values, at most {MAX_WEIGHTS:.0e} here): a "
            "damaged file",
        )
    try:
        data = np.array(dataset, dtype=float)
    except (TypeError, ValueError):
        raise _error(path, f"layer {layer!r}: weight {key!r} is not numeric") from None
    if not np.all(np.isfinite(data)):
        raise _error(path, f"layer {layer!r}: weight {key!r} is not finite")
    return data


def _check_expected(path, layer, found, expected):
    """``found`` ({(owner, name): array}) has exactly ``expected``'s weights with
    their shapes."""
    want = {(owner, key): shape for owner, key, shape in expected}
    missing = sorted(set(want) - set(found))
    extra = sorted(set(found) - set(want))
    if missing or extra:
        raise _error(
            path,
            f"layer {layer!r}: its weights do not match its configuration "
            f"(missing {['/'.join(k) for k in missing]}, unexpected "
            f"{['/'.join(k) for k in extra]})",
        )
    for key, shape in want.items():
        if found[key].shape != tuple(shape):
            raise _error(
                path,
                f"layer {layer!r}: weight {'/'.join(key)} has shape "
                f"{found[key].shape}, expected {tuple(shape)}",
            )
    return found


class _ZipWeights:
    """Weights of a ``.keras`` file's ``model.weights.h5``: per object, numbered
    variables in the order the object created them."""

    def __init__(self, path, f):
        import h5py  # pylint: disable=import-outside-toplevel

        self.path, self.f = path, f
        layers = f.get("layers")
        if not isinstance(layers, h5py.Group):
            raise _error(path, "model.weights.h5 has no 'layers' group")
        self.groups = {}
        for key in layers:
            vars_ = (
                layers[key].get("vars") if isinstance(layers[key], h5py.Group) else None
            )
            name = None if vars_ is None else _attr_text(vars_.attrs.get("name"))
            if name is not None:
                self.groups[name] = layers[key]

    def _group(self, layer):
        if layer not in self.groups:
            raise _error(
                self.path, f"no weights for layer {layer!r} in model.weights.h5"
            )
        return self.groups[layer]

    def _vars(self, layer, group, where):
        import h5py  # pylint: disable=import-outside-toplevel

        for part in where + ("vars",):
            group = group.get(part) if isinstance(group, h5py.Group) else None
        if not isinstance(group, h5py.Group):
            return []
        keys = sorted(group, key=lambda k: (len(k), k))
        if keys != [str(i) for i in range(len(keys))]:
            raise _error(self.path, f"layer {layer!r}: variables are not numbered 0..n")
        return [group[k] for k in keys]

    def _owned(self, layer, group, where, owner, expected):
        names = [key for o, key, _ in expected if o == owner]
        variables = self._vars(layer, group, where)
        if len(variables) != len(names):
            raise _error(
                self.path,
                f"layer {layer!r}: {len(variables)} {owner} weights in the file, its "
                f"configuration needs {len(names)} ({', '.join(names) or 'none'})",
            )
        return {
            (owner, key): _array(self.path, layer, f"{owner}/{key}", var)
            for key, var in zip(names, variables)
        }

    def _no_others(self, layer, group, expected):
        """Refuse weights in the layer's group that its configuration does not
        use (e.g. a hidden cell's, when the configuration has none)."""
        import h5py  # pylint: disable=import-outside-toplevel

        datasets = []
        group.visititems(
            lambda key, obj: (
                datasets.append(key) if isinstance(obj, h5py.Dataset) else None
            )
        )
        if len(datasets) != len(expected):
            raise _error(
                self.path,
                f"layer {layer!r}: model.weights.h5 holds {len(datasets)} weights "
                f"for it, its configuration uses {len(expected)}",
            )

    def dense(self, layer, expected):
        group = self._group(layer)
        found = self._owned(layer, group, (), "layer", expected)
        self._no_others(layer, group, expected)
        return _check_expected(self.path, layer, found, expected)

    def lmu(self, layer, where, cell, hidden, hidden_name):  # noqa: ARG002
        group = self._group(layer)
        found = self._owned(layer, group, where["cell"], "cell", cell)
        if hidden:
            found.update(self._owned(layer, group, where["hidden"], "hidden", hidden))
        self._no_others(layer, group, cell + hidden)
        return _check_expected(self.path, layer, found, cell + hidden)


class _H5Weights:
    """Weights of a Keras 3 legacy ``.h5`` file: per layer, the named weights in
    ``model_weights/<layer>``'s ``weight_names``."""

    def __init__(self, path, f):
        import h5py  # pylint: disable=import-outside-toplevel

        self.path = path
        self.group = f.get("model_weights")
        if not isinstance(self.group, h5py.Group):
            raise _error(path, "no 'model_weights' group")

    def _named(self, layer):
        import h5py  # pylint: disable=import-outside-toplevel

        group = self.group.get(layer)
        if not isinstance(group, h5py.Group):
            raise _error(
                self.path,
                f"no weights for layer {layer!r} (no group 'model_weights/{layer}')",
            )
        names = group.attrs.get("weight_names")
        if names is None:
            raise _error(self.path, f"layer {layer!r}: no 'weight_names' attribute")
        result = []
        for full in np.atleast_1d(names):
            full = _attr_text(full)
            if full is None:
                raise _error(self.path, f"layer {layer!r}: a weight name is not text")
            parts = full.split(":")[0].split("/")
            result.append((parts, full, group.get(full)))
        return result

    def dense(self, layer, expected):
        found = {}
        for parts, full, dataset in self._named(layer):
            key = ("layer", parts[-1])
            if key in found:
                raise _error(self.path, f"layer {layer!r}: weight {full!r} is repeated")
            found[key] = _array(self.path, layer, full, dataset)
        return _check_expected(self.path, layer, found, expected)

    def lmu(self, layer, where, cell, hidden, hidden_name):  # noqa: ARG002
        found = {}
        for parts, full, dataset in self._named(layer):
            owner = (
                "hidden"
                if hidden_name is not None
                and len(parts) >= 2
                and parts[-2] == hidden_name
                else "cell"
            )
            key = (owner, parts[-1])
            if key in found:
                raise _error(
                    self.path,
                    f"layer {layer!r}: weight {full!r} is repeated, or belongs to a "
                    "hidden cell its configuration does not have",
                )
            found[key] = _array(self.path, layer, full, dataset)
        return _check_expected(self.path, layer, found, cell + hidden)


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


def _dense(path, layer, name, width, weights, last):
    cfg = layer.sub("config")
    units = cfg.count("units", required=True)
    use_bias = cfg.get("use_bias", bool, default=True)
    for key in ("quantization_config", "lora_rank"):
        if cfg.get(key, object, default=None) not in (None, 0):
            raise _error(path, f"Dense layer {name!r}: {key} is not supported")
    expected = [("layer", "kernel", (width, units))]
    if use_bias:
        expected.append(("layer", "bias", (units,)))
    w = weights.dense(name, expected)
    try:
        spec = dense_spec(
            name,
            w["layer", "kernel"],
            w.get(("layer", "bias")),
            _activation(cfg),
            last,
            "path",
        )
    except ValidationError as err:
        raise _error(path, err.args[0]) from None
    return spec, units


def keras3_specs(keras_file, dt=0.001):
    """Layer specifications (as `~nengo_lmu.interop.network_from_keras` builds),
    input size and sequence length of a Keras 3 file, read as data.

    Parameters
    ----------
    keras_file : KerasFile
        As returned by `read_keras_file`, of kind ``"keras"`` or ``"h5"``.
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
    except (
        OSError,
        KeyError,
        ValueError,
        TypeError,
        IndexError,
        AttributeError,
        RuntimeError,
        MemoryError,
        EOFError,
        zipfile.BadZipFile,
    ) as err:
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
    checked first (`check_keras_config`; a ``Lambda`` or any other layer is
    refused naming it), then every weight and shape, and only then are Nengo
    objects built. A trained ``theta`` (``trainable_theta``) is read from the
    weights.

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
