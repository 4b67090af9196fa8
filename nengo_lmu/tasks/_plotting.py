"""matplotlib for the tasks' figures, imported when a figure is drawn."""


def pyplot():
    """``matplotlib.pyplot`` with the file-only Agg backend."""
    import matplotlib  # pylint: disable=import-outside-toplevel

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    return plt
