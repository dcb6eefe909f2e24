#!/usr/bin/env python3
"""Open every page of the offline docs site (`_site/`, from tools/build_docs.py) in headless Chromium.

For each page it checks, on the DOM Chromium rendered: the page's <title> and <h1>, the sidebar linking every
page, no cell marked as failed (`celltag_docs-error`, set by build_docs.py) and no traceback text, maths
typeset (no TeX source like `$\nabla$` left in the visible text, no MathJax error node; and at least one
formula typeset on the site when the pages load MathJax), and in the HTML file that no script, stylesheet or
image is loaded from the network. It saves screenshots
(1200x1600) in `_site/_screenshots/`: index.html always, every page with --all-screenshots.
Exits 1 when a page fails a check, 2 when Chromium or the site is missing.

    python tools/check_docs.py [--site _site] [--all-screenshots]

Chromium: Debian's `chromium` (apt-get install -y chromium), or set CHROMIUM=/path/to/chrome.
"""
from __future__ import annotations
import argparse, json, os, re, shutil, subprocess, sys, tempfile
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / '_site'
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--disable-dev-shm-usage', '--hide-scrollbars', '--mute-audio']
ERROR_MARKERS = {  # text in the rendered DOM -> what it means
    'celltag_docs-error': 'a cell failed when the docs were built',
    'Traceback (most recent call last)': 'a Python traceback is shown',
    'CellExecutionError': 'nbconvert reported a cell execution error',
}
_REMOTE = re.compile(r'''<(?:script|img|iframe|source|embed)\b[^>]*\bsrc\s*=\s*["']?(?:https?:)?//|'''
                     r'''<link\b[^>]*\bhref\s*=\s*["']?(?:https?:)?//|@import\s+(?:url\()?["']?(?:https?:)?//|'''
                     r'''url\(\s*["']?(?:https?:)?//''', re.I)

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
    "Collects <title>, <h1> texts, the sidebar's links and the visible text of a rendered DOM."
    def __init__(self):
        super().__init__(); self.title = ''; self.h1 = []; self.nav_links = []; self.text = []
        self._in = []; self._nav = 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs); self._in.append(tag)
        if tag == 'nav' and 'site-nav' in (a.get('class') or ''): self._nav += 1
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

_TEX_LEFT = re.compile(r'\$[^$\n]{0,120}?\\[A-Za-z]+[^$\n]{0,120}?\$|\\\([^\n]{0,120}?\\\)')   # $..\cmd..$ or \(..\)
_MATH_ERROR = re.compile(r'<g\b[^>]*data-mml-node="merror"|<span\b[^>]*class="MathJax_Error"')   # MathJax 3 SVG / MathJax 2
_TYPESET = re.compile(r'<mjx-container\b|<span\b[^>]*class="MathJax"')

def math_problems(dom_html:str, visible_text:str)->list[str]:
    "TeX left as source in the visible text, or formulas MathJax could not typeset."
    out = []
    if m := _TEX_LEFT.search(visible_text): out.append(f'maths shown as TeX source, not typeset: {m.group(0)[:80]!r}')
    if n := len(_MATH_ERROR.findall(dom_html)): out.append(f'{n} formula(s) MathJax could not typeset')
    return out

def pages_of(site:Path)->list[dict]:
    m = site / '_pages.json'
    if m.exists(): return json.loads(m.read_text(encoding='utf-8'))['pages']
    files = sorted(site.glob('*.html'), key=lambda p: (p.name != 'index.html', p.name))
    return [dict(name=p.stem, file=p.name, title=None) for p in files]

def check_page(exe:str, site:Path, page:dict, all_files:list[str])->list[str]:
    path, problems = site / page['file'], []
    if not path.exists(): return [f'{page["file"]} does not exist (run tools/build_docs.py)']
    src = path.read_text(encoding='utf-8', errors='replace')
    for m in _REMOTE.finditer(src):
        problems.append(f'loads something from the network: {src[m.start():m.start()+120]!r}')
    r = chromium(exe, '--virtual-time-budget=5000', '--dump-dom', path.as_uri())
    if r.returncode != 0 or '<html' not in r.stdout.lower():
        return problems + [f'Chromium could not render it (exit {r.returncode}): {r.stderr.strip()[-600:]}']
    dom = _Page(); dom.feed(r.stdout)
    title = ' '.join(dom.title.split())
    if not title: problems.append('the rendered page has no <title>')
    elif page.get('title') and page['title'] not in title: problems.append(f'<title> is {title!r}, expected it to contain {page["title"]!r}')
    if not any(h.strip() for h in dom.h1): problems.append('no <h1> heading was rendered')
    missing = [f for f in all_files if f not in dom.nav_links]
    if missing: problems.append(f'the sidebar does not link {", ".join(missing)}')
    broken = sorted({l for l in dom.nav_links if not l.startswith(('#', 'http:', 'https:')) and not (site / l.split('#')[0]).exists()})
    if broken: problems.append(f'the sidebar links missing files: {", ".join(broken)}')
    text = ''.join(dom.text)
    for marker, what in ERROR_MARKERS.items():
        found = re.search(r'class="[^"]*\b' + marker + r'\b', r.stdout) if marker.startswith('celltag_') else marker in text
        if found: problems.append(f'{what} ({marker!r} found)')
    if page.get('error'): problems.append('build_docs.py recorded an execution error:\n      ' + page['error'].replace('\n', '\n      '))
    if len(text.strip()) < 40: problems.append('the page has almost no text')
    problems += math_problems(r.stdout, text)
    page['typeset'] = len(_TYPESET.findall(r.stdout))
    return problems

def screenshot(exe:str, page:Path, out:Path)->str|None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists(): out.unlink()
    r = chromium(exe, '--virtual-time-budget=5000', '--window-size=1200,1600', f'--screenshot={out}', page.as_uri())
    if not out.exists() or out.stat().st_size == 0: return f'no screenshot of {page.name} (exit {r.returncode}): {r.stderr.strip()[-400:]}'
    return None

def main(argv=None)->int:
    p = argparse.ArgumentParser(description='Check the offline docs site in headless Chromium.')
    p.add_argument('--site', default=str(SITE), help='the site folder (default _site/)')
    p.add_argument('--all-screenshots', action='store_true', help='screenshot every page, not only index.html')
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
    all_files = [pg['file'] for pg in pages]
    failed = 0
    for page in pages:
        try: problems = check_page(exe, site, page, all_files)
        except subprocess.TimeoutExpired: problems = ['Chromium timed out rendering it']
        if problems:
            failed += 1
            print(f'FAIL {page["file"]}:\n' + '\n'.join(f'  - {x}' for x in problems))
        else: print(f'ok   {page["file"]}  ({page.get("title") or ""})')
    if (site / '_mathjax').exists() and not any(pg.get('typeset') for pg in pages):
        failed += 1; print('FAIL the pages load MathJax from _mathjax/ but no formula was typeset on any page')
    else: print(f'maths: {sum(pg.get("typeset", 0) for pg in pages)} formulas typeset on {sum(bool(pg.get("typeset")) for pg in pages)} pages')
    shots = pages if a.all_screenshots else [pg for pg in pages if pg['file'] == 'index.html']
    for pg in shots:
        out = site / '_screenshots' / (Path(pg['file']).stem + '.png')
        try: err = screenshot(exe, site / pg['file'], out)
        except subprocess.TimeoutExpired: err = f'Chromium timed out taking a screenshot of {pg["file"]}'
        if err: failed += 1; print(f'FAIL {err}')
        else: print(f'screenshot: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}')
    if failed:
        print(f'check_docs: {failed} problem page(s) or screenshot(s) out of {len(pages)} pages', file=sys.stderr)
        return 1
    print(f'check_docs: all {len(pages)} pages render in Chromium ({exe})')
    return 0

if __name__ == '__main__': sys.exit(main())
