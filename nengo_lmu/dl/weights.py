"""Reading an LMU's trained weights out of a NengoDL simulator."""

import nengo
import numpy as np
from nengo.exceptions import ValidationError


def lmus_in(network):
    from nengo_lmu.networks.lmu import LMU  # pylint: disable=import-outside-toplevel

    return [n for n in [network] + list(network.all_networks) if isinstance(n, LMU)]


KERAS_WEIGHT_NAMES = {
    "kernel": "LMUCell.kernel",
    "recurrent_kernel": "LMUCell.recurrent_kernel",
    "bias": "LMUCell.bias",
    "hidden_kernel": "hidden_cell.kernel",
    "hidden_recurrent_kernel": "hidden_cell.recurrent_kernel (SimpleRNNCell)",
    "hidden_bias": "hidden_cell.bias",
    "theta": "LMUCell.theta * dt (1 / theta_inv when trainable)",
}


def check_dl_simulator(sim, attr="sim"):
    """Refuse anything but a NengoDL simulator (a ``nengo.Simulator`` has no
    trained parameters to read), naming ``sim``."""
    if not hasattr(sim, "keras_model") or not hasattr(
        getattr(sim, "data", None), "get_params"
    ):
        hint = (
            ": a nengo.Simulator holds no trained parameters; use the "
            "nengo_dl.Simulator that trained the network"
            if isinstance(sim, nengo.Simulator)
            else ""
        )
        raise ValidationError(
            f"must be a nengo_dl.Simulator, got {type(sim).__module__}."
            f"{type(sim).__name__}{hint}",
            attr=attr,
        )
    if getattr(sim, "closed", False):
        raise ValidationError("the NengoDL simulator is closed", attr=attr)
    return sim


def lmu_weights(sim, lmu):
    """The current (trained) weights of ``lmu`` in a NengoDL simulator.

    Returned in KerasLMU 0.8's shapes, so they can be assigned to a
    ``keras_lmu.LMUCell`` of the same options, or passed back to
    `~nengo_lmu.LMU` as initializers:

    ===========================  ================================
    key                          KerasLMU 0.8 variable (shape)
    ===========================  ================================
    ``kernel``                   ``LMUCell.kernel``
                                 ``(input_d [+ units], memory_d)``
    ``recurrent_kernel``         ``LMUCell.recurrent_kernel``
                                 ``(memory_d * order, memory_d)``
    ``bias``                     ``LMUCell.bias`` ``(memory_d,)``
    ``hidden_kernel``            ``hidden_cell.kernel``
                                 ``(memory_d * order [+ input_d], units)``
    ``hidden_recurrent_kernel``  ``hidden_cell.recurrent_kernel``
                                 ``(units, units)``
    ``hidden_bias``              ``hidden_cell.bias`` ``(units,)``
    ``theta``                    ``LMUCell.theta`` times ``dt``, seconds
    ===========================  ================================

    Keys of weights the LMU does not have (no memory-to-memory weights, no
    hidden cell, ...) are absent. ``theta`` is the trained value when it is
    trainable (KerasLMU's ``1 / theta_inv`` steps, here in seconds), and
    the model's theta (as `~nengo_lmu.LMU`'s ``theta``) whatever the LMU's
    ``steps_per_sample``.

    Parameters
    ----------
    sim : nengo_dl.Simulator
        A simulator built from a network holding ``lmu`` (still open).
    lmu : nengo_lmu.LMU

    Returns
    -------
    weights : dict of str to ndarray or float

    Examples
    --------
    >>> with nengo_dl.Simulator(net) as sim:  # doctest: +SKIP
    ...     sim.fit(x, y)
    ...     trained = lmu_weights(sim, net.lmu)
    >>> keras_cell.kernel.assign(trained["kernel"])  # doctest: +SKIP
    """
    from nengo_lmu.networks.lmu import LMU  # pylint: disable=import-outside-toplevel

    check_dl_simulator(sim)
    if not isinstance(lmu, LMU):
        raise ValidationError(
            f"must be a nengo_lmu.LMU, got {type(lmu).__name__}", attr="lmu"
        )
    if lmu not in lmus_in(sim.model.toplevel):
        raise ValidationError(
            "this LMU is not part of the simulator's network", attr="lmu"
        )
    conns = [c for parts in lmu.weight_connections.values() for c in parts]
    values = dict(zip(conns, sim.data.get_params(*[(c, "weights") for c in conns])))
    weights = {
        name: np.concatenate([np.asarray(values[c]).T for c in parts], axis=0)
        for name, parts in lmu.weight_connections.items()
    }
    if "bias" in weights:
        weights["bias"] = weights["bias"][0]
    if lmu.hidden is not None:
        weights["hidden_bias"] = np.array(sim.data.get_params((lmu.hidden, "bias"))[0])
    weights["theta"] = lmu_theta(sim, lmu)
    return weights


def lmu_theta(sim, lmu):
    """``lmu``'s theta in seconds: the trained value when it is trainable.

    The model's theta, at one sample per ``dt``, whatever the LMU's
    ``steps_per_sample`` (its memory's window is that many times longer).
    """
    if lmu.theta_connection is not None:
        gain = float(
            np.squeeze(sim.data.get_params((lmu.theta_connection, "weights"))[0])
        )
        return lmu.dt / gain
    if lmu.theta_layer is not None:
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        # the memory's theta is steps_per_sample times the model's
        theta_inv = float(tf.keras.backend.get_value(lmu.theta_layer.theta_inv))
        return lmu.dt / theta_inv / getattr(lmu, "steps_per_sample", 1)
    return lmu.theta
