"""The docs site: Sphinx (myst-nb, sphinx-book-theme) fed by nbdev's processed notebooks, offline; check_docs flags what it must.

- docs/conf.py loads, with MathJax from sphinx-mathjax-offline and no widget script from a CDN;
- a one-page build of an already executed tiny notebook (tools/build_docs.py: nbdev's processing, the adapting, then
  sphinx-build) works offline: MathJax and every script load from `_static/` by relative URLs, directives are
  honoured, show_doc's `[source]` link points at the viewcode page, a widget never shows as `VBox(children=...`,
  the search index holds the page's words;
- check_docs' checks flag TeX left as source, MathJax errors, network loads, widgets shown as text and cut-off code;
- with Chromium (skipped without it, as in CI), the page's maths is typeset, the search page finds a term, and the
  stand-in HTML manager's undrawn widget is reported.
A few seconds in all: no notebook is executed.
"""
import json, re, runpy, sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import build_docs, check_docs

pytest.importorskip('sphinx'); pytest.importorskip('myst_nb')


def test_conf_loads(monkeypatch):
    monkeypatch.delenv('DPGAN_DOCS_WIDGETS', raising=False)
    conf = runpy.run_path(str(ROOT / 'docs' / 'conf.py'))
    assert {'myst_nb', 'sphinx.ext.viewcode', 'sphinx-mathjax-offline'} <= set(conf['extensions'])
    assert conf['html_theme'] == 'sphinx_book_theme' and conf['nb_execution_mode'] == 'off'
    assert conf['nb_ipywidgets_js'] == {}, 'without a local HTML manager no widget script may be loaded (the default is a CDN)'
    monkeypatch.setenv('DPGAN_DOCS_WIDGETS', '/x')
    conf = runpy.run_path(str(ROOT / 'docs' / 'conf.py'))
    assert list(conf['nb_ipywidgets_js']) == ['widgets/embed.js'] and '/x' in conf['html_static_path']


_STATE = {'state': {
    'box': {'model_name': 'VBoxModel', 'model_module': '@jupyter-widgets/controls', 'model_module_version': '2.0.0',
            'state': {'_model_name': 'VBoxModel', 'children': ['IPY_MODEL_s']}},
    's': {'model_name': 'FloatSliderModel', 'model_module': '@jupyter-widgets/controls', 'model_module_version': '2.0.0',
          'state': {'_model_name': 'FloatSliderModel', 'description': 'direction a', 'min': -3, 'max': 3, 'value': 0.5}}},
    'version_major': 2, 'version_minor': 0}

def tiny_notebook()->nbformat.NotebookNode:
    "An already executed notebook: a title, maths, a hidden cell, an echo: false cell, a show_doc output and a widget."
    nb = nbformat.v4.new_notebook()
    out = nbformat.v4.new_output
    show_doc_md = ('---\n\n[source](https://github.com/dpgan-nb/dpgan_nb/blob/main/dpgan_nb/privacy.py#L41){target="_blank" '
                   'style="float:right; font-size:smaller"}\n\n### sample_rate\n\n>      sample_rate (n:int, batch_size:int)\n\n'
                   '*Poisson sampling rate q = B / N.*\n\n|    | **Type** | **Details** |\n| -- | -------- | ----------- |\n'
                   '| n | int | private data set size N |\n| batch_size | int | expected batch size B |\n')
    nb.cells = [
        nbformat.v4.new_markdown_cell('# Tiny\n\n> A page to test the site builder'),
        nbformat.v4.new_code_cell('#| hide\nsecret_setup = 1', execution_count=1),
        nbformat.v4.new_markdown_cell('The budget is $\\varepsilon = \\sqrt{2T\\log(1/\\delta)}\\,q/\\sigma$, quokkabudget.\n\n'
                                      '$$\\nabla_\\theta \\ell(D(G_\\theta(z)))$$'),
        nbformat.v4.new_code_cell('print("x" * 300)', execution_count=2, outputs=[out('stream', name='stdout', text='y' * 300 + '\n')]),
        nbformat.v4.new_code_cell('#| echo: false\nhidden_input_marker()', execution_count=3,
                                  outputs=[out('execute_result', data={'text/plain': "'shown output'"}, execution_count=3)]),
        nbformat.v4.new_code_cell('show_doc(sample_rate)', execution_count=4,
                                  outputs=[out('execute_result', data={'text/markdown': show_doc_md, 'text/plain': '<ShowDoc>'}, execution_count=4)]),
        nbformat.v4.new_code_cell('explorer', execution_count=5, outputs=[out('display_data', data={
            'text/plain': "VBox(children=(FloatSlider(value=0.5, description='direction a'),))",
            build_docs._WIDGET: {'model_id': 'box', 'version_major': 2, 'version_minor': 0}})]),
    ]
    nb.metadata['widgets'] = {build_docs._WIDGET_STATE: _STATE}
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    return nb

@pytest.fixture(scope='module')
def tiny_site(tmp_path_factory):
    "The tiny notebook built into a site, with a stand-in for the widgets' HTML manager."
    d = tmp_path_factory.mktemp('docs')
    (d / 'nbs').mkdir(); nbformat.write(tiny_notebook(), d / 'nbs' / 'index.ipynb')
    widgets = d / 'w'; (widgets / 'widgets').mkdir(parents=True); (widgets / 'widgets' / 'embed.js').write_text('/* stand-in */')
    assert build_docs.build(execute_nbs=False, site=d / 'site', nbs=d / 'nbs', executed=d / '_executed', proc=d / 'proc',
                            api=False, widgets=widgets, quiet=True) == 0
    return d / 'site'

def test_one_page_builds_offline(tiny_site):
    site = tiny_site
    page = (site / 'index.html').read_text(encoding='utf-8')
    assert re.search(r'<script[^>]*src="_static/mathjax/tex-chtml\.js', page), 'MathJax should load from _static/ by a relative URL'
    assert (site / '_static' / 'mathjax' / 'tex-chtml.js').stat().st_size > 1000
    assert check_docs.site_remote_loads(site) == [], 'a page or stylesheet loads something from the network'
    assert '\\varepsilon' in page and 'quokkabudget' in page
    assert 'secret_setup' not in page, 'a #| hide cell was shown'
    assert 'hidden_input_marker' not in page and 'shown output' in page, 'echo: false should hide the input, not the output'
    assert '#|' not in page, 'directives should not be shown'
    assert 'y' * 300 in page, 'long lines are kept whole (they scroll)'
    assert 'href="_modules/dpgan_nb/privacy.html#sample_rate"' in page, "show_doc's [source] should point at viewcode's page"
    assert 'github.com' not in page and '{target=' not in page
    assert '<table' in page and 'private data set size N' in page, "show_doc's parameter table should render"
    assert 'quokkabudget' in (site / 'searchindex.js').read_text(encoding='utf-8'), 'the search index should hold the page'
    pages = json.loads((site / '_pages.json').read_text())['pages']
    assert [p['file'] for p in pages] == ['index.html'] and pages[0]['title'] == 'Tiny'

def test_widgets_load_the_local_html_manager(tiny_site):
    page = (tiny_site / 'index.html').read_text(encoding='utf-8')
    assert re.search(r'<script[^>]*src="_static/widgets/embed\.js', page), 'the HTML manager should load from _static/'
    assert (tiny_site / '_static' / 'widgets' / 'embed.js').read_text() == '/* stand-in */'
    assert 'application/vnd.jupyter.widget-state+json' in page and '"direction a"' in page, 'the widget state should be embedded'
    assert 'VBox(children=' not in page and 'cdn.jsdelivr' not in page and 'require.min.js' not in page

def test_widgets_without_the_html_manager_are_drawn_static():
    cell = tiny_notebook().cells[-1]
    build_docs.adapt_cell_outputs(cell, 0, 'dpgan_nb', {}, '', widgets_js=False, state=_STATE['state'])
    data = cell.outputs[0]['data']
    assert list(data) == ['text/html'] and 'VBox(children=' not in data['text/html'], data
    assert 'direction a' in data['text/html'] and 'type="range"' in data['text/html'], 'the slider should be drawn from its state'


def test_math_check_flags_tex_source_and_errors():
    assert check_docs.math_problems('', r'the gradient $\nabla_\theta \ell$ of the loss')[0].startswith('maths shown as TeX source')
    assert check_docs.math_problems('', r'costs \(2\varepsilon\) in all')
    assert check_docs.math_problems('<svg><g data-mml-node="merror"><rect/></g></svg>', 'no tex here') == ['1 formula(s) MathJax could not typeset']
    assert check_docs.math_problems('<mjx-container><mjx-merror>x</mjx-merror></mjx-container>', '') == ['1 formula(s) MathJax could not typeset']
    # prices and typeset maths are fine; CSS that merely names merror is not an error node
    assert check_docs.math_problems('<style>g[data-mml-node="merror"] > g {fill: red}</style><mjx-container></mjx-container>',
                                    'it costs $5 and $6; ϕ(0)=0') == []
    dom = check_docs._Page(); dom.feed(r'<p>typeset</p><pre>re.compile(r"\(x\)")</pre><code>$\alpha$</code>')
    assert check_docs.math_problems('', ''.join(dom.prose)) == [], 'TeX-like text in code is not maths'

def test_remote_and_widget_checks_flag():
    assert check_docs.remote_loads('<script src="https://cdn.jsdelivr.net/npm/x.js"></script>')
    assert check_docs.remote_loads('<link rel="stylesheet" href="//fonts.example/x.css">')
    assert check_docs.remote_loads("@font-face{src:url('https://x/y.woff2')}", css=True)
    assert check_docs.remote_loads('<script src="_static/x.js"></script><a href="https://github.com/x">a link is fine</a>') == []
    assert check_docs.widget_problems('', '', "VBox(children=(FloatSlider(value=0.5),))")
    assert check_docs.widget_problems('<script type="application/vnd.jupyter.widget-view+json">{}</script>',
                                      '<div></div><script>{"model_module": "@jupyter-widgets/controls"}</script>', '')
    assert check_docs.widget_problems('<script type="application/vnd.jupyter.widget-view+json">{}</script>',
                                      '<div class="jupyter-widgets widget-slider"></div>', 'direction a') == []
    assert check_docs.cut_code('<body data-cut-code="[&quot;pip install torch torchvision&quot;]">')[0].startswith('1 code block(s) cut off')
    assert check_docs.cut_code('<body data-cut-code="[]">') == []
    assert check_docs.cut_code('<body>') == ['the page did not finish loading (the code-block probe did not run)']


@pytest.mark.skipif(not check_docs.find_chromium(), reason='needs Chromium (CI has none)')
def test_page_renders_maths_and_search_in_chromium(tiny_site):
    site, exe = tiny_site, check_docs.find_chromium()
    page = dict(file='index.html', title='Tiny', source='nbs/index.ipynb')
    problems = check_docs.check_page(exe, site, page, ['index.html'])
    # the site's embed.js is a stand-in that draws nothing, and the check says so; everything else passes
    assert problems == ['the page embeds widgets but none was drawn (is _static/widgets/embed.js there?)'], problems
    assert page['typeset'] >= 2, 'the inline and the display formula should be typeset'
    assert check_docs.search_hits(exe, site, 'quokkabudget') == ['index.html']
