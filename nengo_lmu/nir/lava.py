"""`write_netx`: a NIR graph of `CubaLIF` neurons in Loihi 2's fixed point.

lava-dl's netx format is plain HDF5: a ``layer`` group with one numbered
group per layer, each with a ``type`` and a ``shape``; a ``dense`` layer has a
``weight`` matrix (and, for recurrent layers, ``weight_rec``), a
``neuron`` group describing Loihi's CUBA neuron with fixed-point decays
(``iDecay``, ``vDecay``, 12 bits) and threshold mantissa (``vThMant``).
This module writes the graphs of `nengo_lmu.nir.to_nir` (one population,
input and recurrent weights, a linear readout) in that layout, with every
number as Loihi 2 computes it (Lava's ``LIF`` and ``Dense`` processes,
fixed point), so that a chip, or Lava's CPU model of it, runs the memory.
"""

import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_positive_finite
from nengo_lmu.version import version

__all__ = ["loihi_parameters", "write_netx"]

#: Loihi's voltage and current are 24-bit signed; its threshold is a mantissa
#: shifted left by 6 bits; decays are 12-bit fractions of 4096.
STATE_MAX = 2**23 - 1
DECAY_UNITY = 4096


def _weights(w):
    """Loihi's mixed-sign 8-bit weights: even mantissas in [-256, 254] (Lava
    clips to 9 bits and drops the lowest) and a shared exponent,
    ``w ~ m * 2**-e``; returns ``(m, -e)``, Lava's ``weight_exp``."""
    top = np.max(np.abs(w))
    if top == 0:
        return np.zeros(w.shape, dtype=np.int32), 0
    exp = int(np.floor(np.log2(254 / top)))
    mant = 2 * np.round(w * 2.0**exp / 2)
    return np.clip(mant, -256, 254).astype(np.int32), -exp


def loihi_parameters(graph, dt=0.001, input_scale=256, v_range=3.0):
    """Fixed-point parameters of a `to_nir` graph's neurons for Loihi 2.

    The Euler update of `nengo_lmu.nir.CubaLIF`,
    ``i += a (J - i)``, ``v += b (i - v)`` (``a = dt / tau_syn``,
    ``b = dt / tau_mem``), becomes Loihi's ``u = u (1 - (du + 1) / 4096) + 64
    A``, ``v = v (1 - dv / 4096) + u + bias`` with ``du + 1 = round(4096 a)``,
    ``dv = round(4096 b)``, the voltage scaled by ``S = 64 vth`` and the
    input ``A = S a b J / 64`` (so ``u = S b i``), bias current included.
    Weights are 8-bit mixed-sign mantissas (even numbers up to 254) with a
    shared exponent per matrix. ``S`` is as large as the
    24-bit voltage allows for voltages within ``+-v_range`` (NIR's voltage
    has no floor; with `memory_options`' neurons it stays within +-20).

    Parameters
    ----------
    graph : nir.NIRGraph
        From `to_nir` (``b_input_weights``, ``c_neurons``, optionally
        ``d_recurrent_weights``, ``e_readout``); uniform time constants.
    dt : float
        The step the graph was made for.
    input_scale : int
        The input ``u`` is sent as the integer ``round(input_scale * u)``.
    v_range : float
        Voltages (in NIR's units, threshold 1) that must fit.

    Returns
    -------
    params : dict
        ``du``, ``dv``, ``vth``, the weight mantissas and exponents
        (``w_in``, ``w_in_exp``, ``w_rec``, ``w_rec_exp``, ``w_bias``,
        ``w_bias_exp``), ``input_scale``, ``scale`` (``S``) and the readout.
    """
    dt = check_positive_finite(dt, "dt")
    nodes = graph.nodes
    for name in ("b_input_weights", "c_neurons", "e_readout"):
        if name not in nodes:
            raise ValidationError(
                f"has no node {name!r}; write_netx takes graphs made by to_nir",
                attr="graph",
            )
    neurons = nodes["c_neurons"]
    tau_syn, tau_mem = (np.asarray(neurons.tau_syn), np.asarray(neurons.tau_mem))
    if np.ptp(tau_syn) > 0 or np.ptp(tau_mem) > 0:
        raise ValidationError(
            "Loihi's CUBA decays are written per layer here; the graph's neurons "
            "have unequal time constants (export the memory alone)",
            attr="graph",
        )
    for attr, value in (("r", 1), ("v_threshold", 1), ("v_leak", 0), ("v_reset", 0)):
        if not np.allclose(getattr(neurons, attr), value):
            raise ValidationError(
                f"needs {attr} = {value} (as to_nir writes CubaLIF neurons)",
                attr="graph",
            )
    a, b = dt / float(tau_syn.flat[0]), dt / float(tau_mem.flat[0])
    du = int(np.clip(round(DECAY_UNITY * a) - 1, 0, DECAY_UNITY - 1))
    dv = int(np.clip(round(DECAY_UNITY * b), 0, DECAY_UNITY - 1))
    vth = int(STATE_MAX / v_range) >> 6
    scale = 64.0 * vth
    gain = scale * a * b / 64.0  # Loihi input per unit of J
    affine = nodes["b_input_weights"]
    w_in, w_in_exp = _weights(gain * np.asarray(affine.weight) / input_scale)
    rec = nodes.get("d_recurrent_weights")
    n = int(np.size(tau_mem))
    rec = gain * np.asarray(rec.weight) if rec is not None else np.zeros((n, n))
    w_rec, w_rec_exp = _weights(rec)
    # what 8 bits miss, in a second synapse of the same neurons (16 bits in all)
    w_rec_lo, w_rec_lo_exp = _weights(rec - w_rec * 2.0**w_rec_exp)
    # the bias enters J, through the synapse as in NIR: a constant input of
    # input_scale through weights of its own
    w_bias, w_bias_exp = _weights(
        gain * np.asarray(affine.bias, float)[:, None] / input_scale
    )
    return {
        "du": du,
        "dv": dv,
        "vth": vth,
        "w_bias": w_bias,
        "w_bias_exp": w_bias_exp,
        "w_in": w_in,
        "w_in_exp": w_in_exp,
        "w_rec": w_rec,
        "w_rec_exp": w_rec_exp,
        "w_rec_lo": w_rec_lo,
        "w_rec_lo_exp": w_rec_lo_exp,
        "input_scale": int(input_scale),
        "scale": scale,
        "readout": np.asarray(nodes["e_readout"].weight, dtype=float),
    }


def write_netx(graph, path, dt=0.001, **kwargs):
    """Write a `to_nir` graph as a lava-dl netx ``.net`` HDF5 file (fixed point).

    Layers: ``layer/0`` the input (``type`` ``input``, its integer
    ``input_scale``), ``layer/1`` a ``dense`` layer of CUBA neurons with
    ``weight`` (input), ``weight_rec`` (recurrent; ``weight_rec_lo`` holds
    what its 8 bits miss, for a second recurrent synapse: measured on the
    delay memory, NRMSE 0.287 with 8 bits, 0.122 with 16; the same for the
    input weights made it worse, 0.183), ``weight_bias`` (the bias
    current, as the weights of a constant input of 1, so that it passes the
    synapse as in NIR), their exponents (``weight_exp``, ``weight_rec_exp``,
    ``weight_bias_exp``) and ``neuron`` (``type`` ``CUBA``, ``iDecay = du + 1``,
    ``vDecay``, ``vThMant``, ``refDelay = 1``, ``gradedSpike = 0``). The
    readout (floating point, applied to the spikes off chip) is in
    ``readout/weight``; ``simulation/Ts`` is ``dt``; the graph's metadata is
    copied to ``metadata``. See `loihi_parameters` for the arithmetic and
    ``tests/benchmarks/lava_memory.py`` for a run on Lava's Loihi 2 model.

    Parameters
    ----------
    graph : nir.NIRGraph
    path : str or pathlib.Path
    dt : float
    **kwargs
        Passed to `loihi_parameters`.

    Returns
    -------
    params : dict
        What `loihi_parameters` returned.
    """
    import h5py  # pylint: disable=import-outside-toplevel

    p = loihi_parameters(graph, dt=dt, **kwargs)
    n, n_in = p["w_in"].shape
    with h5py.File(path, "w") as f:
        layer = f.create_group("layer")
        inp = layer.create_group("0")
        inp["type"] = "input"
        inp["shape"] = np.array([n_in])
        inp["input_scale"] = p["input_scale"]
        dense = layer.create_group("1")
        dense["type"] = "dense"
        dense["shape"] = np.array([n])
        dense["inFeatures"] = n_in
        dense["outFeatures"] = n
        dense["weight"] = p["w_in"]
        dense["weight_exp"] = p["w_in_exp"]
        dense["weight_rec"] = p["w_rec"]
        dense["weight_rec_exp"] = p["w_rec_exp"]
        dense["weight_rec_lo"] = p["w_rec_lo"]
        dense["weight_rec_lo_exp"] = p["w_rec_lo_exp"]
        # the neurons' bias current, as the weights of a constant input of 1
        dense["weight_bias"] = p["w_bias"]
        dense["weight_bias_exp"] = p["w_bias_exp"]
        neuron = dense.create_group("neuron")
        neuron["type"] = "CUBA"
        neuron["iDecay"] = p["du"] + 1
        neuron["vDecay"] = p["dv"]
        neuron["vThMant"] = p["vth"]
        neuron["refDelay"] = 1
        neuron["gradedSpike"] = 0
        f.create_group("readout")["weight"] = p["readout"]
        f.create_group("simulation")["Ts"] = dt
        meta = f.create_group("metadata")
        meta["nengo_lmu_version"] = version
        for key, value in graph.metadata.items():
            if key in meta:
                continue
            try:
                meta[key] = value
            except TypeError:
                meta[key] = str(value)
    return p
