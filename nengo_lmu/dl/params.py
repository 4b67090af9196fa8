"""NengoDL parameter files, loaded all or nothing."""

import numpy as np
from nengo.exceptions import ValidationError


def load_params(sim, path, include_state=False):
    """Load parameters written by ``sim.save_params(path)`` into ``sim``, or
    nothing at all.

    Like ``nengo_dl.Simulator.load_params``, but every variable's shape is
    checked before any is assigned, so a file written by a network of another
    shape is refused with an error naming the mismatches, and the simulator
    keeps its parameters (NengoDL's own method assigns variable by variable
    and stops at the first mismatch).

    Parameters
    ----------
    sim : nengo_dl.Simulator
    path : str or path-like
        As given to ``save_params`` (``.npz`` is added if missing).
    include_state : bool
        Also load the simulator state, if it was saved.
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

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
        raise ValidationError(
            f"{file} holds {len(values)} variables, this simulator has "
            f"{len(params)}: it was written by a different network; nothing "
            "was loaded",
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
    tf.keras.backend.batch_set_value(list(zip(params, values)))
