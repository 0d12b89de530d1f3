"""Sphinx configuration of the bioinfo_mi documentation (scverse cookiecutter style).

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (``pip install -e ".[doc]"``).
Nothing here reaches the network: notebooks are rendered as committed (``nb_execution_mode = "off"``)
and no intersphinx inventories are fetched.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).parent
# the package from this checkout even when it is not installed (its dependencies must be)
sys.path.insert(0, str(HERE.parent))

import bioinfo_mi  # noqa: E402

# -- Project -----------------------------------------------------------------------------------------
project = "bioinfo_mi"
author = "bioinfo_mi developers"
copyright = f"{datetime.now():%Y}, {author}"
version = release = bioinfo_mi.__version__

# -- General -----------------------------------------------------------------------------------------
extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "jupyter_execute", "Thumbs.db", ".DS_Store"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
master_doc = "index"
nitpicky = False

# -- MyST / notebooks --------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath", "amsmath", "substitution"]
# GitHub-style anchors for `[text](#section-title)` links in the Markdown pages (docs/benchmarks.md)
myst_heading_anchors = 3
# `{{ version }}` in the Markdown pages
myst_substitutions = {"version": version}
# the tutorials are rendered as committed; CI executes them separately (tests/tutorials)
nb_execution_mode = "off"
nb_merge_streams = True

# -- API reference -----------------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = True
napoleon_use_param = True
napoleon_custom_sections = [("Additional attributes", "params_style")]

# no network during the build: no intersphinx inventories
intersphinx_mapping: dict = {}

# -- HTML --------------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = f"bioinfo_mi {version}"
html_static_path: list[str] = []
html_show_sourcelink = False
html_theme_options = {
    "show_toc_level": 2,
    # the sidebar lists the pages and the API pages under them (the toctrees go no deeper); the default depth 4
    # copied every heading of the long benchmark pages into the sidebar of each of the 165 pages (30 s of a 48 s build)
    "max_navbar_depth": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
}


# -- Docstring hooks ---------------------------------------------------------------------------------
def _constant_doc(app, what, name, obj, options, lines):
    """Constants: the ``#:`` comment where the object is defined, never its type's docstring.

    autodoc looks for the comment in the module it documents the name from (``bioinfo_mi.datasets``),
    but the constants are defined in private submodules and re-exported; without this hook a dict or
    a str constant shows the docstring of ``dict`` or ``str``.
    """
    if what != "data":
        return
    from sphinx.pycode import ModuleAnalyzer

    attr = name.rsplit(".", 1)[-1]
    for modname, module in sorted(sys.modules.items()):
        if not modname.startswith("bioinfo_mi") or getattr(module, attr, None) is not obj:
            continue
        try:
            doc = ModuleAnalyzer.for_module(modname).find_attr_docs().get(("", attr))
        except Exception:  # a module without source (compiled) has no comment docs
            continue
        if doc:
            lines[:] = list(doc)
            return
    type_doc = (type(obj).__doc__ or "").strip().splitlines()
    if type_doc and lines and lines[0].strip() == type_doc[0].strip():
        lines[:] = []


def _section_rubrics(app, what, name, obj, options, lines):
    """Free-form docstring sections (``Rule``, ``Standard errors``, ...) as rubrics.

    Napoleon turns the numpydoc sections it knows into fields; an underlined title left over at the
    docstring's top level would be a reST section inside a directive, which docutils rejects.
    """
    for i in range(len(lines) - 1):
        title, underline = lines[i], lines[i + 1]
        if (
            title.strip()
            and not title.startswith(" ")
            and underline.strip()
            and set(underline.strip()) <= set("-=~^")
            and not underline.startswith(" ")
            and len(underline.strip()) >= len(title.strip())
            and (i == 0 or not lines[i - 1].strip())
        ):
            lines[i], lines[i + 1] = f".. rubric:: {title.strip()}", ""


def setup(app):
    app.connect("autodoc-process-docstring", _constant_doc)
    # after napoleon (priority 500), which consumes the numpydoc sections it knows
    app.connect("autodoc-process-docstring", _section_rubrics, priority=600)
