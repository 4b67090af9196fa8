"""Keras model files read as data: the configuration of a ``.keras`` zip, an HDF5
file or a SavedModel folder, and the weights of a Keras 3 file.

A Keras model file can hold code (a ``Lambda`` layer's bytecode, a custom
class's ``from_config``), so nothing here imports, unpickles or runs anything
in it: a ``.keras`` zip is read with ``zipfile`` and ``json``, an HDF5 file
with h5py, a SavedModel folder's ``keras_metadata.pb`` with a small
protocol-buffer reader (`read_keras_file`). The configuration is then checked
(`~nengo_lmu.interop.keras_check.check_keras_config`) before Keras, or the
Keras 3 importer (`~nengo_lmu.interop.keras3`), uses it.

The weights of a Keras 3 file are read per layer, with their number and shapes
checked against what the layer's configuration needs: from a ``.keras`` zip's
``model.weights.h5`` (numbered variables per object) or from a legacy ``.h5``
file's ``model_weights`` (named weights per layer).
"""

import json
import os
import zipfile

import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu.interop.paper import MAX_WEIGHTS

#: SavedModel nodes whose metadata holds layer configurations
_SAVED_MODEL_LAYER_NODES = (
    "_tf_keras_layer",
    "_tf_keras_input_layer",
    "_tf_keras_rnn_layer",
    "_tf_keras_network",
    "_tf_keras_model",
    "_tf_keras_sequential",
)

#: Largest configuration read (bytes); KerasLMU models' are a few kB
MAX_CONFIG_BYTES = 16 * 2**20
#: Largest weights file read from a ``.keras`` zip (bytes)
MAX_WEIGHTS_BYTES = 2**31

#: What reading a cut, flipped or foreign file can raise in zipfile, json,
#: h5py and HDF5: each becomes a ValidationError naming the file.
DAMAGED_FILE_ERRORS = (
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
)


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
    except DAMAGED_FILE_ERRORS as err:
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


# --- weights (Keras 3 files) --------------------------------------------------


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
