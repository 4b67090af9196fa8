"""One Keras 3 layer's configuration and weights as a layer specification: a
KerasLMU layer as an `~nengo_lmu.LMU` specification, a Dense layer as a Dense
one (used by `nengo_lmu.interop.keras3`).
"""

import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu.interop._chain import activation_neuron_type, dense_spec
from nengo_lmu.interop.keras_check import _class_name
from nengo_lmu.interop.keras_files import _error, _short


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
