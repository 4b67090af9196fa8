"""Model files: which kind a file is, and the Nengo network it holds."""

from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_input_path, check_positive_finite
from nengo_lmu.interop.keras import load_keras_model, network_from_keras
from nengo_lmu.interop.keras3 import (
    check_keras_config,
    keras_file_kind,
    network_from_keras3_file,
    read_keras_file,
)
from nengo_lmu.interop.paper import network_from_paper_file


def _reason(error, path):
    """A reader's message without the file name it starts with."""
    msg = error.args[0] if error.args else str(error)
    return msg[len(path) + 2 :] if msg.startswith(f"{path}: ") else msg


def load_model_file(path, dt=0.001):
    """The Nengo network of a model file, and the Keras model it came from.

    Model files are read as data first, and nothing in them runs:

    - LMU-paper HDF5 files (`network_from_paper_file`) are read with h5py.
    - Any other Keras file has its configuration read as data and checked
      (`~nengo_lmu.interop.keras_check.check_keras_config`): a ``Lambda`` layer,
      a custom class or any layer the importers do not support is refused,
      naming it, before Keras sees the file.
    - Keras 3 files (``.keras`` and ``.h5`` written by Keras 3, e.g. KerasLMU
      0.9) are then read entirely as data
      (`~nengo_lmu.interop.keras3.network_from_keras3_file`); Keras is not
      imported.
    - Keras 2 files (``.h5``, ``.keras``, SavedModel) are loaded with Keras
      (in its safe mode) and converted with `network_from_keras`.

    Parameters
    ----------
    path : str or os.PathLike
        The model file (or SavedModel folder).
    dt : float
        Seconds per sequence step.

    Returns
    -------
    network : nengo.Network
        As returned by `network_from_keras` (not added to any network).
    model : keras.Model or None
        The Keras model; None for a paper file or a Keras 3 file (read as
        data).

    Raises
    ------
    nengo.exceptions.ValidationError
        If the file is missing, holds a layer that is not supported, or is
        neither kind of model (naming the file).

    Examples
    --------
    >>> net, model = load_model_file("model.keras", dt=0.001)
    """
    dt = check_positive_finite(dt, "dt")
    path = check_input_path(path, "path")
    try:
        return network_from_paper_file(path, dt=dt, add_to_container=False), None
    except ValidationError as paper_error:
        paper_reason = _reason(paper_error, path)
        if keras_file_kind(path) is None:
            raise ValidationError(
                f"{path} is neither an LMU-paper model file "
                f"({paper_reason}) nor a Keras model (not a .keras "
                "zip, an HDF5 file or a SavedModel folder)",
                attr="path",
            ) from None
    keras_file = read_keras_file(path)
    check_keras_config(keras_file)  # before Keras sees anything in the file
    if keras_file.kind != "saved_model" and (keras_file.keras_major or 0) >= 3:
        return network_from_keras3_file(path, dt=dt, add_to_container=False), None
    try:
        model = load_keras_model(path)
    except ValidationError as keras_error:
        raise ValidationError(
            f"{path} is neither an LMU-paper model file "
            f"({paper_reason}) nor a Keras model Keras 2 can load "
            f"({_reason(keras_error, path)})",
            attr="path",
        ) from None
    try:
        return network_from_keras(model, dt=dt, add_to_container=False), model
    except ValidationError as err:
        raise ValidationError(f"{path}: {err.args[0]}", attr="path") from None
    except Exception as err:  # a model Keras loads but that is not well formed
        raise ValidationError(
            f"{path}: Keras loaded the model, but it cannot be converted "
            f"({type(err).__name__}: {' '.join(str(err).split())})",
            attr="path",
        ) from None
