"""NengoDL parameter files, loaded all or nothing."""

import numpy as np
from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_bool


def load_params(sim, path, include_state=False):
    """Load parameters written by ``sim.save_params(path)`` into ``sim``, or
    nothing at all.

    Like ``nengo_dl.Simulator.load_params``, but every variable's shape is
    checked before any is assigned, so a file written by a network of another
    shape is refused with an error naming the mismatches, and the simulator
    keeps its parameters (NengoDL's own method assigns variable by variable
    and stops at the first mismatch).

    A file also holds the LMUs' fixed memories (the discretised ``A`` and
    ``B``, which depend on ``theta``, ``order``, the discretizer and, for a
    neural memory, its realisation). A file written for another memory would
    replace them while ``lmu.theta`` still reports the old value; such a file
    is refused naming the LMU, and nothing is loaded. A file saved with (or
    without) the simulator state but loaded the other way is refused saying
    so.

    Parameters
    ----------
    sim : nengo_dl.Simulator
    path : str or path-like
        As given to ``save_params`` (``.npz`` is added if missing).
    include_state : bool
        Also load the simulator state, if it was saved.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from nengo_lmu.dl.weights import (  # pylint: disable=import-outside-toplevel
        check_dl_simulator,
    )

    check_dl_simulator(sim)
    include_state = check_bool(include_state, "include_state")
    path = str(path)
    file = path if path.endswith(".npz") else path + ".npz"
    params = list(sim.keras_model.weights)
    if include_state:
        params.extend(sim.tensor_graph.saved_state.values())
    try:
        with np.load(file, allow_pickle=False) as data:
            values = [np.asarray(data[f"arr_{i}"]) for i in range(len(data.files))]
    except Exception as err:  # noqa: BLE001 -- numpy, zipfile, zlib raise many kinds
        # only the file is read in this block: any error is the file's
        raise ValidationError(
            f"cannot read NengoDL parameters from {file}: a damaged or foreign file "
            f"({type(err).__name__}: {' '.join(str(err).split())[:200]})",
            attr="path",
        ) from None
    bad = [
        i
        for i, value in enumerate(values)
        if value.dtype.kind not in "fiu" or not np.all(np.isfinite(value))
    ]
    if bad:
        raise ValidationError(
            f"{file}: variable(s) {bad} are not finite numbers: a damaged or foreign "
            "file; nothing was loaded",
            attr="path",
        )
    if len(values) != len(params):
        n_weights = len(sim.keras_model.weights)
        n_state = len(sim.tensor_graph.saved_state)
        if include_state and len(values) == n_weights:
            why = "it holds no simulator state (saved without include_state)"
        elif not include_state and n_state and len(values) == n_weights + n_state:
            why = "it also holds the simulator state (load with include_state=True)"
        else:
            why = "it was written by a different network"
        raise ValidationError(
            f"{file} holds {len(values)} variables, this simulator has "
            f"{len(params)}: {why}; nothing was loaded",
            attr="path",
        )
    mismatched = [
        f"variable {i} ({param.name}): {tuple(param.shape)} here, "
        f"{value.shape} in the file"
        for i, (param, value) in enumerate(zip(params, values))
        if tuple(param.shape) != value.shape
    ]
    if mismatched:
        raise ValidationError(
            f"{file} was written by a network of another shape; nothing was "
            "loaded. " + "; ".join(mismatched),
            attr="path",
        )
    fixed = _fixed_memories(sim)
    old = tf.keras.backend.batch_get_value(params)
    tf.keras.backend.batch_set_value(list(zip(params, values)))
    changed = [
        lmu
        for lmu, conns, before in fixed
        if not all(
            np.allclose(a, b, rtol=1e-6, atol=1e-9)
            for a, b in zip(before, _weights(sim, conns))
        )
    ]
    if changed:  # undo: the file was written for another memory
        tf.keras.backend.batch_set_value(list(zip(params, old)))
        raise ValidationError(
            f"{file} was written for LMU(s) with another fixed memory (another "
            "theta, discretizer or memory realisation): it would replace the "
            "fixed memory of "
            + ", ".join(
                f"{lmu.label or 'LMU'} (theta={lmu.theta:g} s, order={lmu.order})"
                for lmu in changed
            )
            + " while the LMU still reports its own; build the LMU as it was "
            "saved. Nothing was loaded",
            attr="path",
        )


def _weights(sim, conns):
    return [np.array(w) for w in sim.data.get_params(*[(c, "weights") for c in conns])]


def _fixed_memories(sim):
    """(lmu, its fixed memory connections that have weights, their weights) for
    every LMU in the simulator's network."""
    import nengo  # pylint: disable=import-outside-toplevel

    from nengo_lmu.dl.weights import lmus_in  # pylint: disable=import-outside-toplevel

    result = []
    for lmu in lmus_in(sim.model.toplevel):
        conns = [
            c
            for c in getattr(lmu, "fixed_connections", [])
            if not isinstance(c.transform, nengo.transforms.NoTransform)
        ]
        if conns:
            result.append((lmu, conns, _weights(sim, conns)))
    return result
