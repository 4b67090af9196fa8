"""matplotlib for the tasks' figures, imported when a figure is drawn."""

import os

from nengo_lmu._atomic import replaced_atomically
from nengo_lmu._extras import require

#: File formats the figures can be written in (by suffix)
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def pyplot():
    """``matplotlib.pyplot`` with the file-only Agg backend."""
    require("matplotlib", what="drawing a figure")
    import matplotlib  # pylint: disable=import-outside-toplevel

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    return plt


def save_figure(fig, path, dpi=100):
    """Write ``fig`` to ``path`` (format from its suffix, see `FIGURE_SUFFIXES`)
    whole or not at all, and close it."""
    plt = pyplot()
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    try:
        with replaced_atomically(path, suffix) as tmp:
            fig.savefig(tmp, dpi=dpi, format=suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
