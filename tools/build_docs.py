#!/usr/bin/env python3
"""Build an offline HTML site in `_site/` from the notebooks in `nbs/` (no Quarto needed).

Each notebook is executed (nbconvert's ExecutePreprocessor, kernel `python3`, in the notebook's folder),
cells marked `#| slow` or `#| eval: false` are shown but not run, `#| hide` cells are run but not shown,
nbdev directive lines are stripped from the code that is shown, `show_doc` tables are added after exported
definitions as `nbdev_docs` would, and every page gets a sidebar linking all pages in order.
The pages load nothing from the internet: no require.js, widget manager or Mermaid from a CDN, images
embedded. Math is typeset in the browser by a copy of MathJax in `_site/_mathjax/`: MathJax 3's one-file TeX→SVG
build (`tex-svg.js`, no fonts needed), which `--fetch-mathjax` (run by `make docs`) takes from PyPI, or else
Debian's MathJax 2 (`libjs-mathjax`); `--mathjax-url` overrides both. Without any the pages show TeX source,
and the build says so.

    python tools/build_docs.py                # execute and convert every notebook
    python tools/build_docs.py --no-execute   # convert the notebooks as stored
    python tools/build_docs.py --only 01_data # rebuild one page (the sidebar still lists all of them)
    python tools/build_docs.py --fetch-mathjax  # put MathJax 3 into .venv/share/mathjax/ (pip download)

Exits 1 when a notebook fails to execute (its page is still written, with the error shown and marked).
The pages are listed in `_site/_pages.json`, which `tools/check_docs.py` reads.
"""
from __future__ import annotations
import argparse, datetime, hashlib, json, os, re, shutil, subprocess, sys, tempfile, time, traceback, warnings, zipfile
from html import escape
from pathlib import Path

import nbformat
from jinja2 import DictLoader
from nbconvert import HTMLExporter
from nbconvert.preprocessors import CellExecutionError, ExecutePreprocessor

try:  # notebooks written without cell ids are fine here: we never write them back
    from nbformat.warnings import MissingIDFieldWarning
    warnings.filterwarnings('ignore', category=MissingIDFieldWarning)
except ImportError: pass

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / 'nbs'
SITE = ROOT / '_site'
ERROR_TAG = 'docs-error'          # put on cells whose execution failed; check_docs.py looks for `celltag_docs-error`
SKIP_TAG = 'skip-execution'       # nbclient leaves cells with this tag unexecuted
SKIP_FLAGS = ('slow',)            # `#| slow` cells are not run (settings.ini: tst_flags = slow)
DEBIAN_MATHJAX = Path('/usr/share/javascript/mathjax/MathJax.js')   # MathJax 2, Debian's libjs-mathjax
MATHJAX_CONFIG = '?config=TeX-AMS_CHTML-full,Safe'
# MathJax 3.2.2's tex-svg.js (Apache-2.0) as shipped in this PyPI wheel, which we only unzip (no Sphinx needed)
MATHJAX3_WHEEL, MATHJAX3_MEMBER = 'sphinx-mathjax-offline==0.0.2', 'sphinx-mathjax-offline/static/mathjax/tex-svg.js'
MATHJAX3_SHA256 = 'd4295dc33744836935c1399feece5159577b34c5c8ffb9f1c6324cd82e03a882'
MATHJAX3 = ROOT / '.venv' / 'share' / 'mathjax' / 'tex-svg.js'
MATHJAX_DIR = '_mathjax'          # under the site: pages load it by a relative URL, so the site can move

# ------------------------------------------------------------------------------------------------ directives
_DIRECTIVE = re.compile(r'^\s*#\s*\|\s*(.*?)\s*$')
_HIDE_LINE = re.compile(r'#\s*\|\s*hide_line\s*$')

def split_directives(src:str)->tuple[dict[str, list[str]], str]:
    "The leading `#| name args` lines of a code cell as {name: args}, and the source without them."
    lines, dirs, i = src.splitlines(True), {}, 0
    while i < len(lines):
        m = _DIRECTIVE.match(lines[i])
        if m:
            body = m.group(1)
            if body.endswith(':'): body = body[:-1]
            parts = body.replace(':', ': ', 1).split()
            if parts: dirs[parts[0].rstrip(':')] = parts[1:]
        elif lines[i].strip(): break
        i += 1
    code = ''.join(l for l in lines[i:] if not _HIDE_LINE.search(l))
    return dirs, code

def _false(dirs, name)->bool: return [a.lower() for a in dirs.get(name, ['x'])] == ['false']

# ------------------------------------------------------------------------------------------------ pages
def find_notebooks(nbs:Path=NBS)->list[Path]:
    "Notebooks under `nbs` in site order: index first, then by path; skips `_*` and `.*` files and folders."
    found = [p for p in nbs.rglob('*.ipynb')
             if not any(part.startswith(('_', '.')) for part in p.relative_to(nbs).parts)]
    return sorted(found, key=lambda p: (p.relative_to(nbs).as_posix() != 'index.ipynb', p.relative_to(nbs).as_posix()))

def page_name(nb_path:Path, nbs:Path=NBS)->str:
    return nb_path.relative_to(nbs).with_suffix('').as_posix().replace('/', '-')

def nb_title(nb)->tuple[str, str]:
    "The notebook's `# Title` and its `> description` (nbdev's front matter), from the first markdown cells."
    title = desc = ''
    for cell in nb.cells:
        if cell.cell_type == 'raw' and cell.source.lstrip().startswith('---'):  # Quarto/nbdev YAML front matter
            fm = dict(re.findall(r'^(title|description):\s*["\']?(.*?)["\']?\s*$', cell.source, re.M))
            if fm.get('title'): return fm['title'], fm.get('description', '')
        if cell.cell_type != 'markdown': continue
        for line in cell.source.splitlines():
            if not title and line.startswith('# '): title = line[2:].strip()
            elif title and not desc and line.startswith('> '): desc = line[2:].strip()
        if title: break
    return title, desc

def _plain(md:str)->str:
    "Markdown inline text as plain text (for <title> and the sidebar)."
    md = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', md)
    return re.sub(r'(\*\*|__)(.+?)\1', r'\2', md).replace('`', '')

# ------------------------------------------------------------------------------------------------ show_doc
def add_show_docs(nb)->int:
    "Insert `show_doc(name)` cells after exported definitions, using nbdev's own processor. Returns how many."
    try:
        from execnb.nbio import dict2nb
        from nbdev.process import NBProcessor
        from nbdev.processors import add_show_docs as _asd
    except Exception as e:
        print(f'  (nbdev not importable, no show_doc tables: {e})'); return 0
    d = json.loads(json.dumps(nb))
    for i, c in enumerate(d['cells']): c.setdefault('metadata', {})['_docs_idx'] = i
    try:
        xnb = dict2nb(d)
        NBProcessor(nb=xnb, procs=[_asd], rm_directives=False).process()
    except Exception as e:
        print(f'  (could not add show_doc tables: {type(e).__name__}: {e})'); return 0
    cells, run, n = [], [], 0
    for c in list(xnb.cells) + [None]:
        idx = c.get('metadata', {}).get('_docs_idx') if c is not None else None
        if c is not None and idx is None:
            if 'show_doc' in c.get('source', ''): run.append(nbformat.v4.new_code_cell(f"#| echo: false\n{c['source'].strip()}"))
            continue
        cells += run[::-1]; n += len(run); run = []  # nbdev inserts each after the cell: back to definition order
        if c is not None: cells.append(nb.cells[idx])
    if n:
        cells.insert(0, nbformat.v4.new_code_cell('#| hide\nfrom nbdev.showdoc import show_doc'))
        nb.cells = cells
    return n

# ------------------------------------------------------------------------------------------------ execution
def mark_skipped(nb)->int:
    "Tag `#| slow` / `#| eval: false` cells so the executor leaves them alone. Returns how many."
    n = 0
    for cell in nb.cells:
        if cell.cell_type != 'code': continue
        dirs, _ = split_directives(cell.source)
        if any(f in dirs for f in SKIP_FLAGS) or _false(dirs, 'eval'):
            tags = cell.metadata.setdefault('tags', [])
            if SKIP_TAG not in tags: tags.append(SKIP_TAG)
            n += 1
    return n

def execute(nb, cwd:Path, timeout:int)->str|None:
    "Run `nb` in place in a fresh python3 kernel. Returns None, or a message saying what failed."
    deadline = time.monotonic() + timeout
    ep = ExecutePreprocessor(kernel_name='python3', timeout=timeout, store_widget_state=False,
                             timeout_func=lambda cell: max(1, int(deadline - time.monotonic())),
                             skip_cells_with_tag=SKIP_TAG, extra_arguments=['--IPKernelApp.log_level=ERROR'])
    try:
        ep.preprocess(nb, {'metadata': {'path': str(cwd)}})
    except CellExecutionError as e:
        return _first_lines(str(e), 25)
    except TimeoutError as e:
        return f'the notebook ran past its {timeout} s budget: {e}'
    except Exception as e:
        return f'{type(e).__name__}: {e}\n' + _first_lines(traceback.format_exc(), 10)
    return None

def _first_lines(s:str, n:int)->str:
    s = re.sub(r'\x1b\[[0-9;]*m', '', s).strip().splitlines()
    return '\n'.join(s[:n] + (['...'] if len(s) > n else []))

# ------------------------------------------------------------------------------------------------ display
_WIDGET = 'application/vnd.jupyter.widget-view+json'

_SOURCE_LINK = re.compile(r'^\[source\]\([^)]*\)\{[^}\n]*\}[ \t]*\n*', re.M)
_QUARTO_ATTRS = re.compile(r'(\]\([^)\s]*\))\{[^}\n]*\}')

def _clean_md(md:str)->str:
    "show_doc's markdown without Quarto-only syntax: no `[source](...){...}` link (it points at GitHub), no `{attrs}`."
    return _QUARTO_ATTRS.sub(r'\1', _SOURCE_LINK.sub('', md))

def prepare_for_display(nb, title:str)->None:
    "Drop hidden cells, strip directives, hide sources of `echo: false` cells, drop widget state and views."
    cells = []
    for cell in nb.cells:
        if cell.cell_type == 'raw': continue
        if cell.cell_type == 'markdown':
            dirs, _ = split_directives(cell.source)
            if 'hide' in dirs or _false(dirs, 'include'): continue
            cells.append(cell); continue
        if cell.cell_type != 'code': continue
        dirs, code = split_directives(cell.source)
        if 'hide' in dirs or _false(dirs, 'include'): continue
        cell.source = code.strip('\n')
        outs = []
        for o in cell.get('outputs', []):
            if o.get('output_type') == 'error':
                tags = cell.metadata.setdefault('tags', [])
                if ERROR_TAG not in tags: tags.append(ERROR_TAG)
            if 'data' in o:
                o['data'].pop(_WIDGET, None)
                if isinstance(o['data'].get('text/markdown'), str): o['data']['text/markdown'] = _clean_md(o['data']['text/markdown'])
                if not o['data']: continue
            outs.append(o)
        cell.outputs = [] if _false(dirs, 'output') and ERROR_TAG not in cell.metadata.get('tags', []) else outs
        if _false(dirs, 'echo'): cell.metadata['transient'] = {'remove_source': True}
        if not cell.source.strip() and not cell.outputs: continue
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop('widgets', None)
    nb.metadata['title'] = title

# ------------------------------------------------------------------------------------------------ HTML
TEMPLATE = r"""
{%- extends 'lab/index.html.j2' -%}
{% from 'mathjax.html.j2' import mathjax %}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}
{%- if resources.site.mathjax.v3 -%}
<script>window.MathJax = {tex: {inlineMath: [['$', '$'], ['\\(', '\\)']], displayMath: [['$$', '$$'], ['\\[', '\\]']],
  processEscapes: true, processEnvironments: true, tags: 'ams'}, svg: {fontCache: 'global'}};</script>
<script defer src="{{ resources.site.mathjax.v3 }}"></script>
{%- elif resources.site.mathjax.v2 -%}{{ mathjax(resources.site.mathjax.v2) }}{%- endif -%}
{%- endblock html_head_js_mathjax -%}
{% block extra_css %}
<meta name="generator" content="dpgan_nb tools/build_docs.py (nbconvert)">
<style type="text/css">{{ resources.site.css }}</style>
{% endblock extra_css %}
{%- block body_header -%}
<body class="jp-Notebook site-page" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
{{ resources.site.nav_html }}
<main class="site-main">
{%- endblock body_header -%}
{% block body_footer %}
<footer class="site-footer">
  {{ resources.site.prevnext_html }}
  <p>Generated from <code>{{ resources.site.source | e }}</code> {{ resources.site.how | e }} on {{ resources.site.date }}.</p>
</footer>
</main>
</body>
{% endblock body_footer %}
"""

CSS = r"""
body.site-page { margin: 0; padding: 0; }
.site-nav { position: fixed; top: 0; left: 0; bottom: 0; width: 240px; box-sizing: border-box; overflow-y: auto;
  padding: 20px 16px; background: #f6f7f9; border-right: 1px solid #dde1e6;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; font-size: 14px; line-height: 1.4; }
.site-nav .site-name { display: block; font-size: 19px; font-weight: 700; color: #1f2937; text-decoration: none; }
.site-nav .site-desc { color: #5b6470; font-size: 12.5px; margin: 4px 0 14px; }
.site-nav ul { list-style: none; margin: 0; padding: 0; }
.site-nav li { margin: 2px 0; }
.site-nav li > a { display: block; padding: 4px 8px; border-radius: 5px; color: #1f4e8c; text-decoration: none; }
.site-nav li > a:hover { background: #e8edf3; }
.site-nav li.current > a { background: #1f4e8c; color: #fff; font-weight: 600; }
.site-nav ul.toc { margin: 4px 0 8px 10px; border-left: 2px solid #d0d7e2; }
.site-nav ul.toc li a { padding: 2px 8px; font-size: 13px; color: #374151; }
.site-main { margin-left: 240px; padding: 16px 32px 40px; max-width: 1060px; box-sizing: border-box; }
.site-main .jp-Cell { padding-left: 0; padding-right: 0; }
.site-main .jp-InputArea-editor { background: #f7f8fa; border: 1px solid #e3e6ea; border-radius: 4px; }
.site-main .jp-RenderedHTMLCommon blockquote { color: #4b5563; border-left: 4px solid #c9d3e0; background: #f9fafb; }
.site-main .jp-RenderedHTMLCommon table { margin-left: 0; }
.site-main .jp-RenderedMarkdown pre { background: #f7f8fa; border: 1px solid #e3e6ea; border-radius: 4px; padding: 8px 10px;
  margin: 0.6em 0 1em; overflow-x: auto; }
.celltag_skip-execution::before { content: "not run when the docs were built (#| slow or eval: false)";
  display: block; font: 12px system-ui, sans-serif; color: #8a5a00; margin: 0 0 2px 2px; }
.celltag_docs-error { border-left: 4px solid #c0392b; }
.celltag_docs-error::before { content: "this cell failed when the docs were built"; display: block;
  font: 600 12px system-ui, sans-serif; color: #c0392b; margin: 0 0 2px 6px; }
.site-footer { margin-top: 40px; padding-top: 12px; border-top: 1px solid #e3e6ea; color: #6b7280;
  font: 13px system-ui, sans-serif; }
.site-prevnext { display: flex; justify-content: space-between; margin-bottom: 8px; }
.site-prevnext a { color: #1f4e8c; text-decoration: none; }
.site-prevnext a.next { margin-left: auto; }
@media (max-width: 820px) {
  .site-nav { position: static; width: auto; border-right: 0; border-bottom: 1px solid #dde1e6; }
  .site-main { margin-left: 0; padding: 12px; }
}
"""

_LOCAL_IMG = re.compile(r'(<img\b[^>]*?\bsrc=")(?!data:|[a-z]+://)([^"]+\.(?:png|jpg|jpeg|gif|svg))(")', re.I)

def embed_local_images(html_text:str, base:Path)->str:
    "Inline the local images nbconvert leaves as links (e.g. `../output_plots/x.png`), so a page needs no files beside it."
    import base64, mimetypes
    def sub(m):
        f = (base/m.group(2)).resolve()
        if not f.is_file(): return m.group(0)
        mime = mimetypes.guess_type(f.name)[0] or 'image/png'
        return f"{m.group(1)}data:{mime};base64,{base64.b64encode(f.read_bytes()).decode()}{m.group(3)}"
    return _LOCAL_IMG.sub(sub, html_text)

def make_exporter()->HTMLExporter:
    return HTMLExporter(template_name='lab', template_file='dpgan_site.html.j2',
                        extra_loaders=[DictLoader({'dpgan_site.html.j2': TEMPLATE})],
                        embed_images=True, exclude_input_prompt=True, exclude_output_prompt=True)

def render_nav(site_info:dict, current:str)->str:
    "The sidebar: the site's name, then every page in order; the current one gets its sections (filled in later)."
    items = ''.join(f'<li class="current"><a href="{p["file"]}">{escape(p["nav"])}</a><!--SITE-TOC--></li>' if p['name'] == current
                    else f'<li><a href="{p["file"]}">{escape(p["nav"])}</a></li>' for p in site_info['pages'])
    return (f'<nav class="site-nav" aria-label="Pages"><a class="site-name" href="index.html">{escape(site_info["name"])}</a>'
            f'<div class="site-desc">{escape(site_info["description"])}</div><ul>{items}</ul></nav>')

def render_prevnext(pages:list[dict], i:int)->str:
    prev = f'<a href="{pages[i-1]["file"]}">&larr; {escape(pages[i-1]["nav"])}</a>' if i > 0 else ''
    nxt = f'<a class="next" href="{pages[i+1]["file"]}">{escape(pages[i+1]["nav"])} &rarr;</a>' if i + 1 < len(pages) else ''
    return f'<div class="site-prevnext">{prev}{nxt}</div>'

_NAV = re.compile(r'<nav class="site-nav".*?</nav>', re.S)
_PREVNEXT = re.compile(r'<div class="site-prevnext">.*?</div>', re.S)

def refresh_page(html_text:str, nav:str, prevnext:str)->str:
    "A page built earlier with today's sidebar and prev/next links (for pages `--only` does not rebuild)."
    return postprocess_html(_PREVNEXT.sub(lambda m: prevnext, _NAV.sub(lambda m: nav, html_text, 1), 1))

_H2 = re.compile(r'<h2 id="([^"]+)">(.*?)(?:<a class="anchor-link"[^>]*>.*?</a>)?</h2>', re.S)
_IPYNB_LINK = re.compile(r'href="(?![a-z]+:)([^"#]*?)\.ipynb(#[^"]*)?"')

def postprocess_html(body:str)->str:
    "Links to notebooks point at their pages; the current page's sections go under its sidebar entry."
    body = _IPYNB_LINK.sub(lambda m: f'href="{m.group(1).replace("/", "-")}.html{m.group(2) or ""}"', body)
    toc = [(i, re.sub(r'<[^>]+>', '', t).strip()) for i, t in _H2.findall(body)]
    items = ''.join(f'<li><a href="#{i}">{t}</a></li>' for i, t in toc if t)
    return body.replace('<!--SITE-TOC-->', f'<ul class="toc">{items}</ul>' if items else '', 1)

def fetch_mathjax(dest:Path=MATHJAX3)->Path:
    "Download MathJax 3's `tex-svg.js` from PyPI (pip download of the pinned wheel), check its SHA-256, write it to `dest`."
    with tempfile.TemporaryDirectory(prefix='mathjax_') as d:
        r = subprocess.run([sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', '-d', d, MATHJAX3_WHEEL],
                           capture_output=True, text=True)
        if r.returncode != 0: raise SystemExit(f'pip download {MATHJAX3_WHEEL} failed:\n{r.stderr.strip()[-800:]}')
        with zipfile.ZipFile(next(Path(d).glob('*.whl'))) as z: data = z.read(MATHJAX3_MEMBER)
    got = hashlib.sha256(data).hexdigest()
    if got != MATHJAX3_SHA256: raise SystemExit(f'{MATHJAX3_MEMBER}: SHA-256 {got}, expected {MATHJAX3_SHA256}; not used')
    dest.parent.mkdir(parents=True, exist_ok=True); dest.write_bytes(data)
    print(f'MathJax 3.2.2 ({len(data)/1e6:.1f} MB) -> {dest}')
    return dest

def site_mathjax(opt:str|None, site:Path)->dict:
    "How pages load MathJax: {'v3': url} or {'v2': url}, copied under `site/_mathjax/`; `opt` (a URL to MathJax 2) wins; {} if none."
    if opt is not None: return {'v2': opt} if opt else {}
    dest = site / MATHJAX_DIR
    if MATHJAX3.exists():
        dest.mkdir(parents=True, exist_ok=True); shutil.copyfile(MATHJAX3, dest / MATHJAX3.name)
        return {'v3': f'{MATHJAX_DIR}/{MATHJAX3.name}'}
    if DEBIAN_MATHJAX.exists():
        shutil.rmtree(dest, ignore_errors=True); shutil.copytree(DEBIAN_MATHJAX.parent, dest)
        return {'v2': f'{MATHJAX_DIR}/MathJax.js{MATHJAX_CONFIG}'}
    return {}

# ------------------------------------------------------------------------------------------------ main
def build(only:list[str]|None=None, execute_nbs:bool=True, timeout:int=600, site:Path=SITE, nbs:Path=NBS,
          mathjax:str|None=None)->int:
    paths = find_notebooks(nbs)
    if not paths: print(f'no notebooks in {nbs}', file=sys.stderr); return 1
    notebooks, nb_paths, pages = {}, {}, []
    for p in paths:
        name = page_name(p, nbs)
        try: nb = nbformat.read(p, as_version=4)
        except Exception as e: nb = f'cannot read {p.name}: {type(e).__name__}: {e}'  # e.g. mid-edit; reported below
        title, desc = nb_title(nb) if not isinstance(nb, str) else ('', '')
        title = _plain(title) or name
        notebooks[name], nb_paths[name] = nb, p
        pages.append(dict(name=name, file=f'{name}.html', source=p.relative_to(ROOT).as_posix() if p.is_relative_to(ROOT) else str(p),
                          title=title, description=_plain(desc),
                          nav=title if name == 'index' else f'{name.split("_", 1)[0]} · {title}' if re.match(r'\d+_', name) else title))
    if only:
        wanted = {Path(o).name.removesuffix('.ipynb').removesuffix('.html') for o in only}
        unknown = wanted - {p['name'] for p in pages}
        if unknown: print(f'--only: no such notebook: {", ".join(sorted(unknown))} (have: {", ".join(p["name"] for p in pages)})', file=sys.stderr); return 2
    else: wanted = {p['name'] for p in pages}

    site.mkdir(parents=True, exist_ok=True)
    manifest_path = site / '_pages.json'
    old = {}
    if manifest_path.exists():
        try: old = {p['name']: p for p in json.loads(manifest_path.read_text())['pages']}
        except Exception: old = {}
    os.environ.setdefault('DPGAN_NO_PROGRESS', '1')   # text, not widget, progress bars in the pages
    index = pages[0] if pages[0]['name'] == 'index' else None
    site_info = dict(name=index['title'] if index else 'dpgan_nb', description=index['description'] if index else '',
                     pages=pages, css=CSS, mathjax=site_mathjax(mathjax, site),
                     date=datetime.datetime.now().strftime('%Y-%m-%d %H:%M'))
    exporter, failures = make_exporter(), []
    for i, page in enumerate(pages):
        name = page['name']
        nav, prevnext = render_nav(site_info, name), render_prevnext(pages, i)
        out = site / page['file']
        if name not in wanted:
            page.update({k: v for k, v in old.get(name, {}).items() if k in ('executed', 'error', 'seconds')})
            if out.exists(): out.write_text(refresh_page(out.read_text(encoding='utf-8'), nav, prevnext), encoding='utf-8')
            else: print(f'[{i+1}/{len(pages)}] {page["source"]}: not built yet (run without --only)')
            continue
        nb, src = notebooks[name], nb_paths[name]
        t0, err = time.monotonic(), None
        print(f'[{i+1}/{len(pages)}] {page["source"]}: ', end='', flush=True)
        if isinstance(nb, str):
            print(f'FAILED: {nb}'); failures.append(name); page.update(error=nb); continue
        if execute_nbs:
            n_doc, n_skip = add_show_docs(nb), mark_skipped(nb)
            err = execute(nb, cwd=src.parent, timeout=timeout)
            how = 'executed by tools/build_docs.py'
            status = f'executed in {time.monotonic()-t0:.1f} s ({n_doc} show_doc, {n_skip} slow cells not run)'
        else:
            how, status = 'as stored (tools/build_docs.py --no-execute)', 'converted as stored'
        prepare_for_display(nb, f"{page['title']} – {site_info['name']}" if name != 'index' else page['title'])
        if any(ERROR_TAG in c.metadata.get('tags', []) for c in nb.cells) and not err:
            err = 'the notebook has error outputs'
        resources = {'metadata': {'name': page['title'], 'path': str(src.parent)},
                     'site': dict(site_info, source=page['source'], how=how, nav_html=nav, prevnext_html=prevnext)}
        body, _ = exporter.from_notebook_node(nb, resources=resources)
        out.write_text(postprocess_html(embed_local_images(body, src.parent)), encoding='utf-8')
        page.update(executed=execute_nbs, error=err, seconds=round(time.monotonic() - t0, 1))
        if err:
            failures.append(name)
            print(f'FAILED after {time.monotonic()-t0:.1f} s\n' + '\n'.join('    ' + l for l in err.splitlines()))
        else: print(status)
    manifest_path.write_text(json.dumps({'pages': [{k: p.get(k) for k in ('name', 'file', 'title', 'source', 'executed', 'error', 'seconds')}
                                                   for p in pages]}, indent=2), encoding='utf-8')
    mj = site_info['mathjax']
    print(f'site: {site / "index.html"} ({len(pages)} pages, ' + (f'maths by MathJax from {next(iter(mj.values()))})' if mj else
          'maths shown as TeX: no local MathJax (run `python tools/build_docs.py --fetch-mathjax` or install libjs-mathjax))'))
    if failures:
        print(f'FAILED: {", ".join(failures)} did not execute cleanly (their pages show the error)', file=sys.stderr)
        return 1
    return 0

def main(argv=None)->int:
    p = argparse.ArgumentParser(description='Build the offline HTML docs site in _site/ from nbs/*.ipynb.')
    p.add_argument('--no-execute', action='store_true', help='convert the notebooks as stored, without running them')
    p.add_argument('--only', action='append', metavar='NAME', help='build only this notebook (e.g. 01_data); repeatable')
    p.add_argument('--timeout', type=int, default=600, help='seconds one notebook may run (default 600)')
    p.add_argument('--site', default=str(SITE), help='output folder (default _site/)')
    p.add_argument('--mathjax-url', default=None,
                   help="a MathJax 2 URL ('' for none); default: a copy in _site/_mathjax/ of .venv/share/mathjax/tex-svg.js, else of Debian's libjs-mathjax")
    p.add_argument('--fetch-mathjax', action='store_true', help=f'only download MathJax 3 ({MATHJAX3_WHEEL} from PyPI) into {MATHJAX3.parent}')
    a = p.parse_args(argv)
    if a.fetch_mathjax: fetch_mathjax(); return 0
    return build(only=a.only, execute_nbs=not a.no_execute, timeout=a.timeout, site=Path(a.site).resolve(), mathjax=a.mathjax_url)

if __name__ == '__main__': sys.exit(main())
