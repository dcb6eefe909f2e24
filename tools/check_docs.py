#!/usr/bin/env python3
"""Open every page of the offline docs site (`_site/`, Sphinx, from tools/build_docs.py) in headless Chromium.

Chromium runs with every host name unresolvable, so a page that needed the network would show it. For each page it
checks, on the DOM Chromium rendered: the page's <title> and <h1>, the sidebar linking every notebook's page, no cell
marked as failed (`tag_docs-error`, set by build_docs.py) and no traceback text, no widget shown as its text repr
(`VBox(children=...`) and, where a page embeds widgets, that they were drawn; no code block cut off (a long
line must scroll or wrap); maths typeset (no TeX source like
`$\nabla$` left in the prose, no MathJax error node; and formulas typeset on the site), and in every HTML and CSS
file of the site that nothing is loaded from the network. Then it searches (search.html?q=...) for terms that must be
found. It saves screenshots (1200x1600) in `_site/_screenshots/`: a few pages (SHOTS) always, every page with
--all-screenshots. Exits 1 when a page fails a check, 2 when Chromium or the site is missing.

    python tools/check_docs.py [--site _site] [--all-screenshots] [--search TERM]...

Chromium: Debian's `chromium` (apt-get install -y chromium), or set CHROMIUM=/path/to/chrome.
"""
from __future__ import annotations
import argparse, html, json, os, re, shutil, subprocess, sys, tempfile
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / '_site'
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--disable-dev-shm-usage', '--hide-scrollbars', '--mute-audio',
         '--host-resolver-rules=MAP * ~NOTFOUND']    # offline: no host name resolves
SEARCH_TERMS = ('epsilon', 'make_private')       # the search page must find these
SHOTS = ('index.html', '03_privacy.html', '04_train.html#the-trainer', '08a_generate.html#widget',
         'api/privacy.html', 'search.html?q=make_private')
_WIDGET_BOX = re.compile(r'\b(?:V|H|Grid)Box\(children=|\b\w+(?:Slider|Dropdown|Output)\((?:value|layout|children)=')
ERROR_MARKERS = {  # text in the rendered DOM -> what it means
    'tag_docs-error': 'a cell failed when the docs were built',
    'Traceback (most recent call last)': 'a Python traceback is shown',
    'CellExecutionError': 'nbconvert reported a cell execution error',
}
_REMOTE = re.compile(r'''<(?:script|img|iframe|source|embed)\b[^>]*\bsrc\s*=\s*["']?(?:https?:)?//|'''
                     r'''<link\b[^>]*\bhref\s*=\s*["']?(?:https?:)?//|@import\s+(?:url\()?["']?(?:https?:)?//|'''
                     r'''url\(\s*["']?(?:https?:)?//''', re.I)
_CSS_REMOTE = re.compile(r'''@import\s+(?:url\()?["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//''', re.I)

def find_chromium()->str|None:
    if os.environ.get('CHROMIUM'):
        exe = shutil.which(os.environ['CHROMIUM'])
        return exe if exe else None
    for name in ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'):
        if p := shutil.which(name): return p
    return '/usr/bin/chromium' if Path('/usr/bin/chromium').exists() else None

def chromium(exe:str, *args:str, timeout:int=90)->subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix='check_docs_chromium_') as profile:
        return subprocess.run([exe, *FLAGS, f'--user-data-dir={profile}', *args],
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

class _Page(HTMLParser):
    "Collects <title>, <h1> texts, the sidebar's links, the visible text and the prose (no code) of a rendered DOM."
    _VOID = {'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr'}
    def __init__(self):
        super().__init__(); self.title = ''; self.h1 = []; self.nav_links = []; self.text = []; self.prose = []
        self._in = []; self._nav = 0
    def handle_starttag(self, tag, attrs):
        if tag in self._VOID: return
        a = dict(attrs); self._in.append(tag)
        if tag == 'nav' and 'bd-docs-nav' in (a.get('class') or ''): self._nav += 1
        if tag == 'a' and self._nav and a.get('href'): self.nav_links.append(a['href'])
        if tag == 'h1': self.h1.append('')
    def handle_endtag(self, tag):
        if tag == 'nav' and self._nav: self._nav -= 1
        while self._in:
            if self._in.pop() == tag: break
    def handle_data(self, data):
        if 'title' in self._in: self.title += data
        if 'h1' in self._in and self.h1: self.h1[-1] += data
        if not any(t in self._in for t in ('script', 'style', 'title')): self.text.append(data)
        if not any(t in self._in for t in ('script', 'style', 'title', 'pre', 'code', 'textarea', 'mjx-assistive-mml')): self.prose.append(data)

_TEX_LEFT = re.compile(r'\$[^$\n]{0,120}?\\[A-Za-z]+[^$\n]{0,120}?\$|\\\([^\n]{0,120}?\\\)')   # $..\cmd..$ or \(..\)
_MATH_ERROR = re.compile(r'<g\b[^>]*data-mml-node="merror"|<mjx-merror\b|<span\b[^>]*class="MathJax_Error"')   # MathJax 3 SVG, CHTML / 2
_TYPESET = re.compile(r'<mjx-container\b|<span\b[^>]*class="MathJax"')

def math_problems(dom_html:str, visible_text:str)->list[str]:
    "TeX left as source in the visible text (prose: code blocks left out), or formulas MathJax could not typeset."
    out = []
    if m := _TEX_LEFT.search(visible_text): out.append(f'maths shown as TeX source, not typeset: {m.group(0)[:80]!r}')
    if n := len(_MATH_ERROR.findall(dom_html)): out.append(f'{n} formula(s) MathJax could not typeset')
    return out

def pages_of(site:Path)->list[dict]:
    m = site / '_pages.json'
    if m.exists(): return json.loads(m.read_text(encoding='utf-8'))['pages']
    files = sorted(site.glob('*.html'), key=lambda p: (p.name != 'index.html', p.name))
    return [dict(name=p.stem, file=p.name, title=None) for p in files]

def remote_loads(text:str, css:bool=False)->list[str]:
    "What an HTML (or CSS) file loads from the network: scripts, stylesheets, images, fonts, imports."
    return [text[m.start():m.start()+120] for m in (_CSS_REMOTE if css else _REMOTE).finditer(text)]

def widget_problems(src_html:str, dom_html:str, visible_text:str)->list[str]:
    "A widget shown as its text repr, or widgets embedded in the page that the HTML manager did not draw."
    out = []
    if m := _WIDGET_BOX.search(visible_text): out.append(f'a widget is shown as its text repr: {m.group(0)!r}')
    if 'application/vnd.jupyter.widget-view+json' in src_html and not re.search(r'<div\b[^>]*class="[^"]*\bjupyter-widgets\b', dom_html):
        out.append('the page embeds widgets but none was drawn (is _static/widgets/embed.js there?)')
    return out

# Run in the page once it has loaded: code blocks wider than their box that neither scroll nor wrap (so are cut off)
_CUT_PROBE = '''<script>window.addEventListener('load', () => setTimeout(() => { const cut = [];
  document.querySelectorAll('pre').forEach(p => { const s = getComputedStyle(p);
    if (p.scrollWidth > p.clientWidth + 1 && !['auto', 'scroll'].includes(s.overflowX) && !/wrap/.test(s.whiteSpace)) cut.push(p.textContent.slice(0, 60)); });
  document.body.setAttribute('data-cut-code', JSON.stringify(cut)); }, 500));</script>'''

def cut_code(dom_html:str)->list[str]:
    "What _CUT_PROBE found: code blocks whose long lines are cut off."
    m = re.search(r'data-cut-code="([^"]*)"', dom_html)
    if not m: return ['the page did not finish loading (the code-block probe did not run)']
    cut = json.loads(html.unescape(m.group(1)))
    return [f'{len(cut)} code block(s) cut off (they neither scroll nor wrap), e.g. {cut[0]!r}'] if cut else []

def check_page(exe:str, site:Path, page:dict, nb_files:list[str])->list[str]:
    path, problems = site / page['file'], []
    if not path.exists(): return [f'{page["file"]} does not exist (run tools/build_docs.py)']
    src = path.read_text(encoding='utf-8', errors='replace')
    problems += [f'loads something from the network: {x!r}' for x in remote_loads(src)]
    probe = path.with_name(f'_check_{path.name}')     # the page plus _CUT_PROBE, beside it (relative URLs hold)
    probe.write_text(src.replace('</body>', _CUT_PROBE + '</body>', 1), encoding='utf-8')
    try: r = chromium(exe, '--virtual-time-budget=8000', '--dump-dom', probe.as_uri())
    finally: probe.unlink(missing_ok=True)
    if r.returncode != 0 or '<html' not in r.stdout.lower():
        return problems + [f'Chromium could not render it (exit {r.returncode}): {r.stderr.strip()[-600:]}']
    dom = _Page(); dom.feed(r.stdout)
    title = ' '.join(dom.title.split())
    if not title: problems.append('the rendered page has no <title>')
    elif page.get('title') and page['title'] not in title: problems.append(f'<title> is {title!r}, expected it to contain {page["title"]!r}')
    if not any(h.strip() for h in dom.h1): problems.append('no <h1> heading was rendered')
    here = path.parent
    linked = {(here / l.split('#')[0]).resolve() for l in dom.nav_links if not l.startswith(('#', 'http:', 'https:'))}
    missing = [f for f in nb_files if (site / f).resolve() not in linked and (site / f).resolve() != path.resolve()]
    if missing: problems.append(f'the sidebar does not link {", ".join(missing)}')
    broken = sorted({l for l in dom.nav_links if not l.startswith(('#', 'http:', 'https:')) and not (here / l.split('#')[0]).exists()})
    if broken: problems.append(f'the sidebar links missing files: {", ".join(broken)}')
    text = ''.join(dom.text)
    for marker, what in ERROR_MARKERS.items():
        found = re.search(r'class="[^"]*(?<![\w-])' + marker + r'\b', r.stdout) if marker.startswith('tag_') else marker in text
        if found: problems.append(f'{what} ({marker!r} found)')
    if page.get('error'): problems.append('build_docs.py recorded an execution error:\n      ' + page['error'].replace('\n', '\n      '))
    if len(text.strip()) < 40: problems.append('the page has almost no text')
    problems += math_problems(r.stdout, ''.join(dom.prose))
    problems += widget_problems(src, r.stdout, text)
    problems += cut_code(r.stdout)
    page['typeset'] = len(_TYPESET.findall(r.stdout))
    return problems

def site_remote_loads(site:Path)->list[str]:
    "Every HTML and CSS file of the site (theme pages, _modules/, _static/) checked for network loads."
    out = []
    for f in sorted(site.rglob('*')):
        if f.suffix in ('.html', '.css') and '_screenshots' not in f.parts:
            out += [f'{f.relative_to(site)}: {x!r}' for x in remote_loads(f.read_text(encoding='utf-8', errors='replace'), css=f.suffix == '.css')]
    return out

_RESULT = re.compile(r'<ul\b[^>]*class="search"[^>]*>(.*?)</ul>', re.S)

def search_hits(exe:str, site:Path, term:str)->list[str]:
    "The pages that the site's search page (Sphinx's searchtools.js + searchindex.js) lists for `term`."
    r = chromium(exe, '--virtual-time-budget=15000', '--dump-dom', (site / 'search.html').as_uri() + f'?q={term}')
    m = _RESULT.search(r.stdout)
    return re.findall(r'<a\b[^>]*href="([^"#?]+)', m.group(1)) if m else []

def screenshot(exe:str, page:Path, out:Path, section:str='', query:str='')->str|None:
    """A 1200x1600 screenshot of `page` (with `?query`). With `section` (an id), the sections before it are hidden, so
    it shows the page's title and then that section (headless Chromium draws a blank page when scrolled to a #fragment);
    `section='widget'` hides everything before the page's first widget."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists(): out.unlink()
    target = page
    if section:
        hide = 'section > :has(~ * .widget-subarea)' if section == 'widget' else f'section:has(~ section#{section})'  # widget: from the first one
        style = f'<style>{hide} {{ display: none !important; }}</style>'
        target = page.with_name(f'_shot_{page.name}')
        target.write_text(page.read_text(encoding='utf-8').replace('</head>', style + '</head>', 1), encoding='utf-8')
    try: r = chromium(exe, '--virtual-time-budget=8000', '--window-size=1200,1600', f'--screenshot={out}', target.as_uri() + (f'?{query}' if query else ''))
    finally:
        if target != page: target.unlink(missing_ok=True)
    if not out.exists() or out.stat().st_size == 0: return f'no screenshot of {page.name} (exit {r.returncode}): {r.stderr.strip()[-400:]}'
    return None

def main(argv=None)->int:
    p = argparse.ArgumentParser(description='Check the offline docs site in headless Chromium.')
    p.add_argument('--site', default=str(SITE), help='the site folder (default _site/)')
    p.add_argument('--all-screenshots', action='store_true', help='screenshot every page, not only the SHOTS')
    p.add_argument('--search', action='append', metavar='TERM', help=f'a term the search must find (default: {", ".join(SEARCH_TERMS)})')
    a = p.parse_args(argv)
    site = Path(a.site).resolve()
    exe = find_chromium()
    if not exe:
        print('check_docs: Chromium is not installed: `apt-get install -y chromium` (Debian), or set CHROMIUM=/path/to/chrome', file=sys.stderr)
        return 2
    if not (site / 'index.html').exists():
        print(f'check_docs: {site}/index.html does not exist: run `make docs` (tools/build_docs.py) first', file=sys.stderr)
        return 2
    pages = pages_of(site)
    nb_files = [pg['file'] for pg in pages if pg.get('source')]      # the notebooks' pages: all in the sidebar
    failed = 0
    for page in pages:
        try: problems = check_page(exe, site, page, nb_files)
        except subprocess.TimeoutExpired: problems = ['Chromium timed out rendering it']
        if problems:
            failed += 1
            print(f'FAIL {page["file"]}:\n' + '\n'.join(f'  - {x}' for x in problems))
        else: print(f'ok   {page["file"]}  ({page.get("title") or ""}{", %d formulas" % page["typeset"] if page.get("typeset") else ""})')
    if not any(pg.get('typeset') for pg in pages):
        failed += 1; print('FAIL no formula was typeset on any page')
    else: print(f'maths: {sum(pg.get("typeset", 0) for pg in pages)} formulas typeset on {sum(bool(pg.get("typeset")) for pg in pages)} pages')
    remote = site_remote_loads(site)
    if remote: failed += 1; print('FAIL files of the site load from the network:\n' + '\n'.join(f'  - {x}' for x in remote[:20]))
    else: print('offline: no HTML or CSS file of the site loads anything from the network')
    for term in a.search or SEARCH_TERMS:
        try: hits = search_hits(exe, site, term)
        except subprocess.TimeoutExpired: hits = []
        if hits: print(f'search {term!r}: {len(hits)} results, first {", ".join(hits[:3])}')
        else: failed += 1; print(f'FAIL the search page found nothing for {term!r}')
    shots = [pg['file'] for pg in pages] if a.all_screenshots else [f for f in SHOTS if (site / re.split(r'[#?]', f)[0]).exists()]
    for f in shots:
        rest, _, query = f.partition('?'); base, _, section = rest.partition('#')
        out = site / '_screenshots' / (re.sub(r'\W+', '_', base.removesuffix('.html')) + '.png')
        try: err = screenshot(exe, site / base, out, section=section, query=query)
        except subprocess.TimeoutExpired: err = f'Chromium timed out taking a screenshot of {f}'
        if err: failed += 1; print(f'FAIL {err}')
        else: print(f'screenshot: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}  ({f})')
    if failed:
        print(f'check_docs: {failed} problem(s) over {len(pages)} pages, search and screenshots', file=sys.stderr)
        return 1
    print(f'check_docs: all {len(pages)} pages render in Chromium ({exe}), offline, with maths and search')
    return 0

if __name__ == '__main__': sys.exit(main())
