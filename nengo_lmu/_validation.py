"""Checks shared by the public constructors: each raises a ValidationError that
names the parameter and what is allowed, before any work is done."""

import numbers
import os
import stat
import tempfile

import nengo
import numpy as np
from nengo.exceptions import ValidationError


def check_positive_finite(value, attr, obj=None):
    """Return ``value`` as a float if it is a finite number greater than zero."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(
            f"must be a finite number > 0, got {value!r} of type "
            f"{type(value).__name__}",
            attr=attr,
            obj=obj,
        )
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValidationError(
            f"must be a finite number > 0, got {value!r}", attr=attr, obj=obj
        )
    return value


#: Largest order accepted: the memory's dense order x order matrices then take
#: 800 MB each and their matrix exponential minutes; far larger orders would
#: exhaust memory or hang instead of failing.
MAX_ORDER = 10_000


def check_count(value, attr, obj=None, low=1, high=None, allow_none=False):
    """Return ``value`` as an int if it is an integer in ``[low, high]`` (or
    None, when ``allow_none``)."""
    if value is None and allow_none:
        return None
    allowed = (
        f"an integer >= {low}" if high is None else (f"an integer in [{low}, {high}]")
    )
    if allow_none:
        allowed = "None or " + allowed
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValidationError(
            f"must be {allowed}, got {value!r} of type {type(value).__name__}",
            attr=attr,
            obj=obj,
        )
    if value < low or (high is not None and value > high):
        raise ValidationError(f"must be {allowed}, got {value}", attr=attr, obj=obj)
    return int(value)


def check_order(order, attr="order", obj=None, maximum=MAX_ORDER):
    """Return ``order`` as an int if it is an integer in ``[1, maximum]``."""
    return check_count(order, attr, obj, low=1, high=maximum)


def check_synapse(synapse, attr="synapse", obj=None):
    """Return ``synapse`` if it is a ``nengo.LinearFilter``."""
    if not isinstance(synapse, nengo.LinearFilter):
        raise ValidationError(
            "must be a nengo.LinearFilter (e.g. nengo.Lowpass, nengo.Alpha), got "
            f"{synapse!r}",
            attr=attr,
            obj=obj,
        )
    return synapse


def check_fraction(r, attr="r", obj=None):
    """Return ``r`` as a 1-D float array if every value is finite and in [0, 1]."""
    try:
        arr = np.asarray(r, dtype=float)
    except (TypeError, ValueError):
        raise ValidationError(
            f"must be a number or array of numbers in [0, 1], got {r!r}",
            attr=attr,
            obj=obj,
        ) from None
    if arr.ndim > 1:
        raise ValidationError(
            f"must be a scalar or 1-D array, got shape {arr.shape}", attr=attr, obj=obj
        )
    arr = np.atleast_1d(arr)
    if arr.size == 0:
        raise ValidationError("must not be empty", attr=attr, obj=obj)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr > 1):
        raise ValidationError(
            f"every value must be finite and in [0, 1], got {arr}", attr=attr, obj=obj
        )
    return arr


def check_dropout_rate(rate, attr="dropout", obj=None):
    """Return ``rate`` as a float if it is one number in [0, 1)."""
    arr = check_fraction(rate, attr, obj)
    if arr.size != 1 or arr[0] >= 1:
        raise ValidationError(
            f"must be one number in [0, 1) (1 would drop everything), "
            f"got {arr if arr.size > 1 else arr[0]}",
            attr=attr,
            obj=obj,
        )
    return float(arr[0])


def as_matrix(value, attr, obj=None, vector_as=None):
    """Return ``value`` as a finite 2-D float array.

    ``vector_as`` ("row" or "column") says how a 1-D array is read; by default
    a 1-D array is an error.
    """
    try:
        arr = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise ValidationError(
            f"must be a 2-D array of numbers, got {type(value).__name__}",
            attr=attr,
            obj=obj,
        ) from None
    if arr.ndim == 0 and vector_as is not None:
        arr = arr.reshape(1, 1)
    if arr.ndim == 1 and vector_as == "row":
        arr = arr[None, :]
    elif arr.ndim == 1 and vector_as == "column":
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValidationError(
            f"must be a 2-D array, got {arr.ndim} dimension(s) (shape {arr.shape})",
            attr=attr,
            obj=obj,
        )
    if not np.all(np.isfinite(arr)):
        raise ValidationError("must contain only finite values", attr=attr, obj=obj)
    return arr


def is_number(value):
    """True for real numbers, NumPy scalars included, but not for booleans."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_nonnegative(value, attr, obj=None):
    """Return ``value`` as a float if it is a finite number >= 0."""
    if not is_number(value):
        raise ValidationError(
            f"must be a finite number >= 0, got {value!r} of type "
            f"{type(value).__name__}",
            attr=attr,
            obj=obj,
        )
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValidationError(
            f"must be a finite number >= 0, got {value!r}", attr=attr, obj=obj
        )
    return value


def check_multiple(value, step, attr, step_name, obj=None):
    """Return ``round(value / step)`` if ``value`` is a whole multiple (>= 1) of
    ``step``."""
    ratio = value / step
    n = int(round(ratio))
    if n < 1 or abs(ratio - n) > 1e-9 * max(1.0, ratio):
        raise ValidationError(
            f"must be a whole multiple (>= 1) of {step_name}={step:g}, got {value:g}",
            attr=attr,
            obj=obj,
        )
    return n


def check_bool(value, attr, obj=None):
    """Return ``value`` as a bool if it is True or False (NumPy's included)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValidationError(
            f"must be True or False, got {value!r}", attr=attr, obj=obj
        )
    return bool(value)


def check_dtype(dtype, attr="dtype", obj=None):
    """Return ``dtype`` as a ``numpy.dtype`` if it is a floating-point type."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise ValidationError(
            f"must be a floating-point NumPy dtype, got {dtype!r}", attr=attr, obj=obj
        ) from None
    if dtype.kind != "f":
        raise ValidationError(
            f"must be a floating-point NumPy dtype, got {dtype}", attr=attr, obj=obj
        )
    return dtype


def check_seed(seed, attr="seed", obj=None, allow_none=False):
    """Return ``seed`` as an int if NumPy accepts it as a seed (0 to 2**32 - 1)."""
    return check_count(seed, attr, obj, low=0, high=2**32 - 1, allow_none=allow_none)


def check_choice(value, choices, attr, obj=None, what=None):
    """Return ``value`` if it is one of ``choices`` (any container of names).

    ``what`` replaces the start of the message ("must be one of") with a more
    specific phrase, e.g. ``"has no Nengo neuron type here; supported:"``.
    """
    try:
        ok = value in choices
    except TypeError:  # unhashable value and a dict or set of choices
        ok = False
    if not ok:
        allowed = ", ".join(repr(c) for c in choices)
        if what is None:
            msg = f"must be one of {allowed}; got {value!r}"
        else:
            msg = f"{value!r} {what} {allowed}"
        raise ValidationError(msg, attr=attr, obj=obj)
    return value


def check_neuron_type(neuron_type, attr="neuron_type", obj=None, allow_none=False):
    """Return ``neuron_type`` if it is a ``nengo.neurons.NeuronType`` instance."""
    if neuron_type is None and allow_none:
        return None
    if not isinstance(neuron_type, nengo.neurons.NeuronType):
        raise ValidationError(
            "must be a nengo.neurons.NeuronType instance (e.g. nengo.LIF(), "
            f"nengo.RectifiedLinear()), got {neuron_type!r}",
            attr=attr,
            obj=obj,
        )
    return neuron_type


def coerce_synapse(synapse, attr="synapse", obj=None, allow_none=False):
    """Return ``synapse`` as a ``nengo.synapses.Synapse``: a number (NumPy
    scalars included) is the time constant of a ``nengo.Lowpass``."""
    if synapse is None and allow_none:
        return None
    if is_number(synapse):
        return nengo.Lowpass(check_nonnegative(synapse, attr, obj))
    if not isinstance(synapse, nengo.synapses.Synapse):
        allowed = "None, " if allow_none else ""
        raise ValidationError(
            f"must be {allowed}a time constant (a number >= 0) or a nengo Synapse, "
            f"got {synapse!r}",
            attr=attr,
            obj=obj,
        )
    return synapse


def _fspath(path, attr, obj):
    try:
        path = os.fspath(path)
    except TypeError:
        raise ValidationError(
            f"must be a path, got {path!r} of type {type(path).__name__}",
            attr=attr,
            obj=obj,
        ) from None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not path or "\0" in path:
        raise ValidationError(f"must be a path, got {path!r}", attr=attr, obj=obj)
    return path


def _check_writable_folder(folder, attr, obj, what):
    """Raise unless ``folder`` is an existing folder where files can be created
    (tried with a temporary file, so it holds for root and read-only mounts)."""
    if not os.path.isdir(folder):
        raise ValidationError(
            f"{what}: the folder {folder!r} does not exist", attr=attr, obj=obj
        )
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise ValidationError(
            f"{what}: cannot write in the folder {folder!r} ({err.strerror})",
            attr=attr,
            obj=obj,
        ) from None


def check_output_file(path, attr, suffixes, obj=None):
    """Return ``path`` as a string if a file can be written there: its suffix is
    one of ``suffixes`` (the formats known), it is not a folder, its folder
    exists and is writable, and it is not a read-only file (a symbolic link is
    written through, see `nengo_lmu._atomic.replaced_atomically`)."""
    path = _fspath(path, attr, obj)
    name = os.path.basename(path)
    suffix = os.path.splitext(name)[1].lower()
    if os.path.isdir(path) or not name:
        raise ValidationError(
            f"{path!r} is a folder; give a file name ending in "
            f"{' or '.join(suffixes)}",
            attr=attr,
            obj=obj,
        )
    if suffix not in suffixes:
        raise ValidationError(
            f"must end in {' or '.join(suffixes)} (the file format), got {path!r}",
            attr=attr,
            obj=obj,
        )
    # a symbolic link is written through: its target's folder must be writable
    folder = os.path.dirname(os.path.realpath(path))
    _check_writable_folder(folder, attr, obj, repr(path))
    try:
        name_max = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        name_max = 255
    if len(os.fsencode(name)) + 16 > name_max:  # room for a temporary suffix
        raise ValidationError(
            f"the file name of {path!r} is too long (at most {name_max - 16} bytes)",
            attr=attr,
            obj=obj,
        )
    if os.path.exists(path) and not os.path.isfile(path):
        raise ValidationError(
            f"{path!r} exists and is not a regular file", attr=attr, obj=obj
        )
    if os.path.exists(path) and is_read_only(path):
        raise ValidationError(
            f"{path!r} is read-only; it is not replaced (make it writable, or "
            "give another name)",
            attr=attr,
            obj=obj,
        )
    return path


def is_read_only(path):
    """Whether the file ``path`` has no write permission bit (or this process
    may not write it): checked by the bits too, since root may write anything."""
    return not os.stat(path).st_mode & 0o222 or not os.access(path, os.W_OK)


def check_output_dir(path, attr, obj=None):
    """Return ``path`` as a string if it is an existing, writable folder."""
    path = _fspath(path, attr, obj)
    _check_writable_folder(path, attr, obj, repr(path))
    return path


def check_input_path(path, attr, obj=None):
    """Return ``path`` as a string if it names an existing regular file or
    folder."""
    path = _fspath(path, attr, obj)
    if not os.path.exists(path):
        raise ValidationError(f"{path}: no such file", attr=attr, obj=obj)
    mode = os.stat(path).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ValidationError(
            f"{path} is not a regular file or folder (a named pipe, device or "
            "socket, which could block forever); give a model file",
            attr=attr,
            obj=obj,
        )
    return path


def check_state_function(function, n, attr="function", obj=None):
    """The output size of ``function``, a callable from a state of ``n``
    values to a finite scalar or 1-D array (tried on zeros)."""
    if not callable(function):
        raise ValidationError(f"must be callable, got {function!r}", attr=attr, obj=obj)
    try:
        value = np.asarray(function(np.zeros(n)), dtype=float)
    except Exception as e:  # pylint: disable=broad-except
        raise ValidationError(
            f"must accept the state (an array of {n} values); calling it with "
            f"zeros raised {type(e).__name__}: {e}",
            attr=attr,
            obj=obj,
        ) from None
    if value.ndim > 1 or value.size == 0 or not np.all(np.isfinite(value)):
        raise ValidationError(
            f"must return a finite scalar or 1-D array, got {value!r} for a zero state",
            attr=attr,
            obj=obj,
        )
    return value.size
