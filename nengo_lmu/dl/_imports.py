"""TensorFlow's log level and the NengoDL import, in one place."""


def quiet_tensorflow():
    """Keep TensorFlow's C++ info and debug lines (such as "Executor start
    aborting") off stderr: sets ``TF_CPP_MIN_LOG_LEVEL=2`` unless the user
    set it, which TensorFlow reads when it is first imported."""
    import os  # pylint: disable=import-outside-toplevel

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# before anything here imports TensorFlow, which reads the level once
quiet_tensorflow()


def import_nengo_dl():
    """Import NengoDL, or say clearly which extra installs it."""
    try:
        import nengo_dl  # pylint: disable=import-outside-toplevel
    except ImportError as err:
        raise ImportError(
            "NengoDL is needed for this; install the `dl` extra: "
            'pip install -c constraints.txt -e ".[dl]"'
        ) from err
    return nengo_dl
