"""The optional extras: which one installs a module, and a check that names it.

`require` finds modules without importing them (no TensorFlow start-up), so
entry points can check what they need before any work starts.
"""

import importlib.util
import sys

#: The extra (``pip install "nengo-lmu[EXTRA]"``) that installs each module.
EXTRA_OF = {
    "nengo_dl": "dl",
    "tensorflow": "dl",
    "nengo_loihi": "loihi",
    "keras_lmu": "keras",
    "h5py": "keras",
    "mlxtend": "data",
    "matplotlib": "plot",
}


def missing(module):
    """Whether ``module`` (a top-level name) cannot be imported."""
    if module in sys.modules:
        return sys.modules[module] is None
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


def install_hint(extras):
    """The install command for ``extras`` (names of extras)."""
    names = ",".join(sorted(set(extras)))
    return (
        f'pip install "nengo-lmu[{names}]" (in a checkout: '
        f'pip install -c constraints.txt -e ".[{names}]")'
    )


def require(*modules, what):
    """Raise an ImportError naming the extra and its install command if any of
    ``modules`` is missing; ``what`` says what needs them."""
    absent = [m for m in modules if missing(m)]
    if absent:
        extras = [EXTRA_OF.get(m, m) for m in absent]
        raise ImportError(
            f"{what} needs {', '.join(absent)}, from the "
            f"{', '.join(repr(e) for e in sorted(set(extras)))} extra: "
            + install_hint(extras),
            name=absent[0],
        )
