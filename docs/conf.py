"""Sphinx configuration of the course site. ``python -m tltf.site build`` copies this folder to the build's
source folder, adds the executed notebooks, and runs Sphinx on it (see ``tltf/site.py``)."""

from tltf.colab import BRANCH, repository

project = "tltf: transfer learning with Keras 3 and TensorFlow"
author = "the tltf authors"
copyright = "the tltf authors; code Apache-2.0, data and weights under their own licences (see Licences)"
extensions = ["myst_nb"]
exclude_patterns = ["_includes", "logs", "**.ipynb_checkpoints"]

# The notebooks arrive executed (tltf.site runs them and fails on an error or stderr, naming the cell).
nb_execution_mode = "off"
nb_output_stderr = "warn"  # a second net: with -W a stderr output fails the build
nb_ipywidgets_js = {}  # no widget JavaScript (it would come from a CDN); tltf.site drops widget outputs
myst_heading_anchors = 3  # the README's #section links

html_theme = "sphinx_book_theme"
html_title = "tltf: transfer learning"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_favicon = "_static/favicon.svg"
# Without a default, a first visit (empty localStorage) logs "Got invalid theme mode" to the console.
html_context = {"default_mode": "auto"}
html_theme_options = {
    "repository_url": repository(),
    "repository_branch": BRANCH,
    "path_to_docs": "",
    "use_repository_button": True,
    "show_toc_level": 2,
}
