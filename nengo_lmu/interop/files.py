"""Model files: which kind a file is, and the Nengo network it holds."""

from nengo.exceptions import ValidationError

from nengo_lmu._validation import check_input_path, check_positive_finite
from nengo_lmu.interop.keras import load_keras_model, network_from_keras
from nengo_lmu.interop.paper import network_from_paper_file


def _reason(error, path):
    """A reader's message without the file name it starts with."""
    msg = error.args[0] if error.args else str(error)
    return msg[len(path) + 2 :] if msg.startswith(f"{path}: ") else msg


def load_model_file(path, dt=0.001):
    """The Nengo network of a model file, and the Keras model it came from.

    LMU-paper HDF5 files (`network_from_paper_file`) are read with h5py; any
    other file or folder is loaded with Keras (``.h5``, ``.keras``, SavedModel)
    and converted with `network_from_keras`.

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
        The Keras model; None for a paper file.

    Raises
    ------
    nengo.exceptions.ValidationError
        If the file is missing or is neither kind of model (naming the file).

    Examples
    --------
    >>> net, model = load_model_file("model.keras", dt=0.001)
    """
    dt = check_positive_finite(dt, "dt")
    path = check_input_path(path, "path")
    try:
        return network_from_paper_file(path, dt=dt, add_to_container=False), None
    except ValidationError as paper_error:
        try:
            model = load_keras_model(path)
        except ValidationError as keras_error:
            raise ValidationError(
                f"{path} is neither an LMU-paper model file "
                f"({_reason(paper_error, path)}) nor a Keras model "
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
