"""Task modules that can be called as their data function.

``nengo_lmu.tasks.psmnist`` is both the psMNIST module and, as before the
tasks became a package, the function that returns the data: calling the
module calls `nengo_lmu.tasks.psmnist.psmnist`. Every import spelling then
works: ``from nengo_lmu.tasks import psmnist; psmnist(...)``,
``nengo_lmu.tasks.psmnist(...)`` and ``import nengo_lmu.tasks.psmnist as m``.
"""

import sys
import types


class _CallableTaskModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return getattr(self, self.__name__.rsplit(".", 1)[-1])(*args, **kwargs)


def make_callable(module_name):
    """Let the module ``module_name`` be called as its same-named function."""
    sys.modules[module_name].__class__ = _CallableTaskModule
