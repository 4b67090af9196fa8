"""Sphinx configuration for NengoLMU's documentation."""

import nengo_lmu

project = "NengoLMU"
author = "NengoLMU developers"
release = nengo_lmu.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "matplotlib.sphinxext.plot_directive",
]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
# TensorFlow-based modules are documented without importing TensorFlow twice
autodoc_mock_imports = []
default_role = "py:obj"
nitpicky = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
exclude_patterns = ["_build"]
html_theme = "alabaster"
suppress_warnings = ["ref.python"]
