"""The check of a Keras model file's configuration before Keras reads it.

A Keras model file can hold code: a ``Lambda`` layer keeps Python bytecode that
Keras runs when it rebuilds the model, and a custom class can run anything in
its ``from_config``. So every Keras file's configuration, read as data
(`~nengo_lmu.interop.keras_files.read_keras_file`), is checked against the
classes this package can import (`check_keras_config`): anything else
(``Lambda`` first) is refused, naming the layer, before Keras sees the file.
"""

from nengo.exceptions import ValidationError

from nengo_lmu.interop.keras_files import _error, _short

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

#: Entries that a load with ``compile=False`` leaves alone (optimizer, loss
#: and metrics of a compiled model), so that they need no check
_NOT_DESERIALIZED = ("training_config", "compile_config")


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
        As returned by `~nengo_lmu.interop.keras_files.read_keras_file`.

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
