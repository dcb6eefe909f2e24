"""The offline docs site typesets its maths from a local MathJax, and check_docs.py notices when it does not.

- `tools/build_docs.py` copies MathJax into `_site/_mathjax/` and the pages load it by a relative URL (no network);
- `tools/check_docs.py`'s maths check flags TeX left as source and MathJax error nodes, and passes typeset maths;
- with Chromium and the real MathJax present (`make docs` fetches it), a page with formulas renders them: no
  TeX source is left and no formula fails. Without Chromium that last test is skipped (CI has none).
"""
import re, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import build_docs, check_docs


def test_math_check_flags_tex_source_and_errors():
    assert check_docs.math_problems('', r'the gradient $\nabla_\theta \ell$ of the loss')[0].startswith('maths shown as TeX source')
    assert check_docs.math_problems('', r'costs \(2\varepsilon\) in all')
    assert check_docs.math_problems('<svg><g data-mml-node="merror"><rect/></g></svg>', 'no tex here') == ['1 formula(s) MathJax could not typeset']
    assert check_docs.math_problems('<span class="MathJax_Error">[Math Processing Error]</span>', '') == ['1 formula(s) MathJax could not typeset']
    # prices and typeset maths are fine; CSS that merely names merror is not an error node
    assert check_docs.math_problems('<style>g[data-mml-node="merror"] > g {fill: red}</style><mjx-container></mjx-container>',
                                    'it costs $5 and $6; ϕ(0)=0') == []


def test_pages_load_the_local_mathjax(tmp_path, monkeypatch):
    fake = tmp_path / 'share' / 'tex-svg.js'; fake.parent.mkdir(); fake.write_text('/* MathJax stand-in */')
    monkeypatch.setattr(build_docs, 'MATHJAX3', fake)
    site = tmp_path / 'site'
    assert build_docs.build(only=['03_privacy'], execute_nbs=False, site=site) == 0
    html = (site / '03_privacy.html').read_text(encoding='utf-8')
    assert re.search(r'<script defer[^>]*src="_mathjax/tex-svg.js"', html), 'the page should load MathJax by a relative URL'
    assert (site / '_mathjax' / 'tex-svg.js').read_text() == '/* MathJax stand-in */'
    assert not check_docs._REMOTE.search(html), 'a page loads something from the network'
    assert re.search(r'\$[^$\n]*\\varepsilon', html), 'the page should carry its formulas as TeX for MathJax'


def test_no_mathjax_means_no_script(tmp_path, monkeypatch):
    monkeypatch.setattr(build_docs, 'MATHJAX3', tmp_path / 'missing.js')
    monkeypatch.setattr(build_docs, 'DEBIAN_MATHJAX', tmp_path / 'missing2.js')
    assert build_docs.build(only=['03_privacy'], execute_nbs=False, site=tmp_path / 'site') == 0
    assert '_mathjax/' not in (tmp_path / 'site' / '03_privacy.html').read_text(encoding='utf-8')


@pytest.mark.skipif(not check_docs.find_chromium() or not build_docs.MATHJAX3.exists(),
                    reason='needs Chromium and MathJax (make docs fetches it into .venv/share/mathjax/)')
def test_formulas_render_in_chromium(tmp_path):
    site = tmp_path / 'site'
    assert build_docs.build(only=['03_privacy'], execute_nbs=False, site=site) == 0
    r = check_docs.chromium(check_docs.find_chromium(), '--virtual-time-budget=8000', '--dump-dom', (site / '03_privacy.html').as_uri())
    dom = check_docs._Page(); dom.feed(r.stdout)
    assert check_docs.math_problems(r.stdout, ''.join(dom.text)) == []
    assert len(check_docs._TYPESET.findall(r.stdout)) >= 10, 'the privacy page has more than ten formulas'
