#!/usr/bin/env python3
"""Build the offline docs site in `_site/` with Sphinx (myst-nb, sphinx-book-theme), fed by nbdev's processed notebooks.

1. **execute**: each notebook of `nbs/` runs once in a fresh `python3` kernel (nbclient, in the notebook's folder, widget
   state saved), `#| slow` and `#| eval: false` cells tagged `skip-execution` and left alone (the rule that
   tests/test_notebooks_kernel.py shares: `SKIP_TAG`, `mark_skipped`, `find_notebooks`). `show_doc` cells are added
   after exported definitions first, in definition order, so they run in that kernel too. The executed copies go to
   `_executed/` (a copy of `nbs/`).
2. **process**: nbdev's own notebook processing (`proc_nbs`'s loop, what `nbdev_proc_nbs` runs, without its
   Quarto set-up) turns `_executed/` into `_sphinx/`: directives honoured, hidden and exported cells removed, front
   matter, `show_doc` cells' inputs hidden. Its `exec_show_docs` step is left out: it re-runs exported and import cells
   alone in one process, which breaks on cells that mix imports and code, and the kernel has already run them.
3. **adapt for Sphinx**: the Quarto cell options left in `_sphinx/` become myst-nb tags, the front matter a title,
   show_doc's `[source]` links point at the module's source page (viewcode) instead of GitHub, nbdev's doc links at
   the local pages, widgets keep their saved state (shown by a local copy of the ipywidgets HTML manager, or, without
   one, as a static sketch of their controls), and `_sphinx/api/` gets one autodoc page per module. (Not nbdev's
   `_proc/`: `nbdev_docs` would take these adapted notebooks, newer than their sources, for its own processed ones.)
4. **sphinx-build** `-c docs _sphinx _build/html`, moved to `_site/` when it succeeds: search (Sphinx's own,
   `searchindex.js`), navigation, "on this page", MathJax 3 from sphinx-mathjax-offline, nothing from the network.

    python tools/build_docs.py                  # execute every notebook, build the site
    python tools/build_docs.py --only 03_privacy  # execute only these; the others as executed last time (or as stored)
    python tools/build_docs.py --no-execute     # the notebooks as stored (no outputs)
    python tools/build_docs.py --fetch-widgets  # put the ipywidgets HTML manager (npm) into .venv/share/

Exits 1 when a notebook fails to execute or Sphinx fails (the page is still built, with the error shown and marked).
The pages are listed in `_site/_pages.json`, which `tools/check_docs.py` reads.
"""
from __future__ import annotations
import argparse, datetime, hashlib, html, json, os, re, shutil, subprocess, sys, tarfile, tempfile, time, traceback, warnings
from pathlib import Path

import nbformat

try:  # notebooks written without cell ids are fine here
    from nbformat.warnings import MissingIDFieldWarning
    warnings.filterwarnings('ignore', category=MissingIDFieldWarning)
except ImportError: pass

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / 'nbs'
SITE = ROOT / '_site'
EXECUTED = ROOT / '_executed'     # executed copy of nbs/ (proc_nbs's input; at the depth of nbs/ so ../ links still hold)
PROC = ROOT / '_sphinx'           # nbdev's processed notebooks, adapted: Sphinx's sources (at the depth of nbs/: ../ links hold)
CONF = ROOT / 'docs'              # conf.py
BUILD = ROOT / '_build'            # Sphinx's doctrees and output (moved to _site/ when the build succeeds)
ERROR_TAG = 'docs-error'          # put on cells whose execution failed; the page shows them as `tag_docs-error`
SKIP_TAG = 'skip-execution'       # nbclient (and myst-nb) leave cells with this tag unexecuted
SKIP_FLAGS = ('slow',)            # `#| slow` cells are not run (settings.ini: tst_flags = slow)
# The ipywidgets HTML manager (BSD-3-Clause) from the npm registry: shows widgets from the state saved in the page
WIDGETS_PKG = '@jupyter-widgets/html-manager@1.0.15'
WIDGETS_SHA256 = '8f6d2d3f856d8595d1841dec3019d99bbe74d331f2a5178c2a33bfec729e3d6a'   # of its dist/embed.js
WIDGETS = ROOT / '.venv' / 'share' / 'dpgan-docs-widgets'   # holds widgets/embed.js (+ its fonts): a static path of conf.py
_WIDGET = 'application/vnd.jupyter.widget-view+json'
_WIDGET_STATE = 'application/vnd.jupyter.widget-state+json'

# ------------------------------------------------------------------------------------------------ directives
_DIRECTIVE = re.compile(r'^\s*#\s*\|\s*(.*?)\s*$')

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
    return dirs, ''.join(lines[i:])

def _false(dirs, name)->bool: return [a.lower().strip('"\'') for a in dirs.get(name, ['x'])] == ['false']

# ------------------------------------------------------------------------------------------------ pages
def find_notebooks(nbs:Path=NBS)->list[Path]:
    "Notebooks under `nbs` in site order: index first, then by path; skips `_*` and `.*` files and folders."
    found = [p for p in nbs.rglob('*.ipynb')
             if not any(part.startswith(('_', '.')) for part in p.relative_to(nbs).parts)]
    return sorted(found, key=lambda p: (p.relative_to(nbs).as_posix() != 'index.ipynb', p.relative_to(nbs).as_posix()))

def nb_title(nb)->tuple[str, str]:
    "The notebook's `# Title` and its `> description` (nbdev's front matter), from the first markdown cells."
    title = desc = ''
    for cell in nb.cells:
        if cell.cell_type == 'raw' and cell.source.lstrip().startswith('---'):
            fm = front_matter(cell.source)
            if fm.get('title'): return fm['title'], fm.get('description', '')
        if cell.cell_type != 'markdown': continue
        for line in cell.source.splitlines():
            if not title and line.startswith('# '): title = line[2:].strip()
            elif title and not desc and line.startswith('> '): desc = line[2:].strip()
        if title: break
    return title, desc

def front_matter(src:str)->dict:
    "The YAML between `---` lines of a raw cell (nbdev's front matter), as a dict ({} if it is not one)."
    import yaml
    m = re.match(r'\s*---\s*\n(.*?)\n---\s*$', src, re.S)
    if not m: return {}
    try: d = yaml.safe_load(m.group(1))
    except yaml.YAMLError: return {}
    return d if isinstance(d, dict) else {}

def _plain(md:str)->str:
    "Markdown inline text as plain text (for the page list)."
    md = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', md)
    return re.sub(r'(\*\*|__)(.+?)\1', r'\2', md).replace('`', '')

# ------------------------------------------------------------------------------------------------ show_doc
def add_show_docs(nb)->int:
    """Insert `show_doc(name)` cells after exported definitions, in definition order (nbdev's own `add_show_docs`
    inserts them reversed within a cell), so they run in the kernel with the rest. Returns how many."""
    from execnb.nbio import dict2nb
    from nbdev.process import NBProcessor
    from nbdev.processors import add_show_docs as _asd
    d = json.loads(json.dumps(nb))
    for i, c in enumerate(d['cells']): c.setdefault('metadata', {})['_docs_idx'] = i
    xnb = dict2nb(d)
    NBProcessor(nb=xnb, procs=[_asd], rm_directives=False).process()
    cells, run, n = [], [], 0
    for c in list(xnb.cells) + [None]:
        idx = c.get('metadata', {}).get('_docs_idx') if c is not None else None
        if c is not None and idx is None:
            if 'show_doc' in c.get('source', ''): run.append(nbformat.v4.new_code_cell(c['source'].strip()))
            continue
        cells += run[::-1]; n += len(run); run = []
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
    "Run `nb` in place in a fresh python3 kernel, saving widget state. Returns None, or a message saying what failed."
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    deadline = time.monotonic() + timeout
    client = NotebookClient(nb, kernel_name='python3', timeout=timeout, store_widget_state=True, allow_errors=False,
                            timeout_func=lambda cell: max(1, int(deadline - time.monotonic())),
                            skip_cells_with_tag=SKIP_TAG, resources={'metadata': {'path': str(cwd)}},
                            extra_arguments=['--IPKernelApp.log_level=ERROR'])
    try: client.execute()
    except CellExecutionError as e: return _first_lines(str(e), 25)
    except TimeoutError as e: return f'the notebook ran past its {timeout} s budget: {e}'
    except Exception as e: return f'{type(e).__name__}: {e}\n' + _first_lines(traceback.format_exc(), 10)
    return None

def _first_lines(s:str, n:int)->str:
    s = re.sub(r'\x1b\[[0-9;]*m', '', s).strip().splitlines()
    return '\n'.join(s[:n] + (['...'] if len(s) > n else []))

def stage(nbs:Path, dest:Path)->None:
    "A fresh copy of `nbs` (its files, not what running the notebooks left there) in `dest`."
    skip = shutil.ignore_patterns('.*', '_*', 'runs', 'results', 'data', 'output_plots', '__pycache__')
    if dest.exists(): shutil.rmtree(dest)
    shutil.copytree(nbs, dest, ignore=skip)

# ------------------------------------------------------------------------------------------------ nbdev processing
def process(src:Path, dest:Path)->None:
    """nbdev's processing of the notebooks in `src` into `dest`: `proc_nbs`'s loop (what `nbdev_proc_nbs` runs, less its
    Quarto set-up and mtime cache), each notebook through nbdev's default processors but `exec_show_docs`."""
    import nbdev.serve_drv
    from nbdev.doclinks import nbglob
    from nbdev.processors import FilterDefaults, exec_show_docs
    from nbdev.serve import _proc_file
    class DocsFilter(FilterDefaults):
        "nbdev's default processors less `exec_show_docs`: the notebooks were executed whole in a kernel."
        def base_procs(self): return [p for p in super().base_procs() if p is not exec_show_docs]
    if dest.exists(): shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for f in nbglob(src, func=Path, file_glob='', file_re=''):
        job = _proc_file(Path(f), cache=dest, path=src)      # copies other files itself; returns (src, dst, procs) for notebooks
        if job: nbdev.serve_drv.main((job[0], job[1], DocsFilter))

# ------------------------------------------------------------------------------------------------ adapt for Sphinx
_SOURCE_LINK = re.compile(r'\[source\]\((?P<url>[^)\s]*)\)\{[^}\n]*\}[ \t]*\n*')
_QUARTO_ATTRS = re.compile(r'(\]\([^)\s]*\))\{[^}\n]*\}')
_SD_HEADING = re.compile(r'^#{2,4} +(\S+)\s*$', re.M)
_TAGS = {'echo': 'remove-input', 'output': 'remove-output', 'include': 'remove-cell'}

def _cfg()->dict:
    from configparser import ConfigParser
    c = ConfigParser(delimiters=['=']); c.read(ROOT / 'settings.ini', encoding='utf-8')
    return dict(c['DEFAULT'])

def _anchor(name:str)->str:
    from docutils.nodes import make_id
    return make_id(name)

def source_link(url:str, name:str, depth:int, lib:str)->str:
    "show_doc's GitHub `[source]` URL as a link to viewcode's page of the module (`_modules/lib/mod.html#name`)."
    m = re.search(rf'/blob/[^/]+/({re.escape(lib)}/[\w/]+)\.py', url) or re.search(rf'(?<![\w/])({re.escape(lib)}/[\w/]+)\.py', url)
    if not m: return ''
    href = '../' * depth + f'_modules/{m.group(1)}.html' + (f'#{name}' if name else '')
    return f'<a class="dpgan-source reference internal" href="{html.escape(href)}">[source]</a>\n\n'

def clean_show_doc(md:str, depth:int, lib:str)->str:
    "show_doc's Markdown with a local `[source]` link and no Quarto-only `{attrs}`."
    heading = _SD_HEADING.search(md)
    name = heading.group(1) if heading else ''
    md = _SOURCE_LINK.sub(lambda m: source_link(m['url'], name, depth, lib), md)
    md = re.sub(r'\A\s*---\s*\n', '', md)      # its leading rule (docutils allows transitions only between sections)
    return _QUARTO_ATTRS.sub(r'\1', md)

_MD_LINK = re.compile(r'\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]+)\)')

def _inline_html(md:str)->str:
    "A link's text (Markdown with `code`) as HTML."
    return re.sub(r'`([^`]+)`', lambda m: f'<code class="docutils literal notranslate"><span class="pre">{m.group(1)}</span></code>',
                  html.escape(md, quote=False).replace('\\_', '_'))

def local_links(md:str, pages:dict[str, str], doc_url:str, depth:int)->str:
    """nbdev's links to its Quarto site (`[x]({doc_host}{doc_baseurl}/privacy.html#x)`, from its `add_links`) as links to
    this site's pages (`03_privacy.html#x`), written as HTML so that MyST does not take them for cross-references."""
    if not doc_url: return md
    base = doc_url.rstrip('/') + '/'
    def sub(m):
        text, url = m.group(1), m.group(2)
        if not url.startswith(base): return m.group(0)
        page, _, anchor = url[len(base):].partition('#')
        if page not in pages: return m.group(0)
        href = '../' * depth + pages[page] + '.html' + (f'#{_anchor(anchor)}' if anchor else '')
        return f'<a class="reference internal" href="{html.escape(href)}">{_inline_html(text)}</a>'
    def outside_code(part:str, in_fence:bool)->str:   # in a code block a link can only be its text
        if not in_fence: return _MD_LINK.sub(sub, part)
        return _MD_LINK.sub(lambda m: m.group(1) if m.group(2).startswith(base) else m.group(0), part)
    parts = re.split(r'(^```[^\n]*\n.*?^```[ \t]*$)', md, flags=re.M | re.S)
    return ''.join(outside_code(p, i % 2 == 1) for i, p in enumerate(parts))

def widget_sketch(model_id:str, state:dict)->str:
    "A static drawing of a widget's controls from its saved state (when the HTML manager is not at hand)."
    def draw(mid, depth=0):
        m = state.get(mid, {}); st = m.get('state', {}); kind = st.get('_model_name', m.get('model_name', 'Widget'))
        label = html.escape(str(st.get('description') or ''))
        if 'children' in st:
            inner = ''.join(draw(c.removeprefix('IPY_MODEL_'), depth + 1) for c in st.get('children', []))
            return f'<div class="dpgan-widget-box">{inner}</div>'
        if kind.endswith('SliderModel'):
            return f'<div><label>{label} <input type="range" disabled min="{st.get("min", 0)}" max="{st.get("max", 1)}" step="{st.get("step", 0.1)}" value="{st.get("value", 0)}"> {html.escape(str(st.get("value", "")))}</label></div>'
        if kind in ('DropdownModel', 'ToggleButtonsModel', 'RadioButtonsModel', 'SelectModel'):
            opts = st.get('_options_labels', []); idx = st.get('index')
            sel = html.escape(str(opts[idx])) if isinstance(idx, int) and idx < len(opts) else ''
            return f'<div><label>{label} <select disabled><option>{sel}</option></select></label></div>'
        if kind == 'ImageModel': return '<div>[image: shown when the notebook runs]</div>'
        if kind in ('HTMLModel', 'LabelModel', 'HTMLMathModel'):
            return f'<div>{html.escape(str(st.get("value", "")))[:300]}</div>'
        if kind == 'ButtonModel': return f'<div><button disabled>{label}</button></div>'
        return f'<div>{html.escape(kind.removesuffix("Model"))} {label}</div>'
    return (f'<div class="dpgan-widget-static"><div><em>An interactive widget (ipywidgets): run the notebook to use it. '
            f'Its controls as saved:</em></div>{draw(model_id)}</div>')

def adapt_cell_outputs(cell, depth:int, lib:str, pages:dict, doc_url:str, widgets_js:bool, state:dict)->None:
    outs = []
    for o in cell.get('outputs', []):
        if o.get('output_type') == 'error':
            tags = cell.metadata.setdefault('tags', [])
            if ERROR_TAG not in tags: tags.append(ERROR_TAG)
        data = o.get('data')
        if data is not None:
            if isinstance(data.get('text/markdown'), (str, list)):
                md = ''.join(data['text/markdown']) if isinstance(data['text/markdown'], list) else data['text/markdown']
                data['text/markdown'] = local_links(clean_show_doc(md, depth, lib), pages, doc_url, depth)
            if _WIDGET in data:
                mid = data[_WIDGET].get('model_id', '')
                if not widgets_js or mid not in state:   # never the widget's repr (`VBox(children=...`)
                    o['data'] = {'text/html': widget_sketch(mid, state)}
                else: data.pop('text/plain', None)
        outs.append(o)
    cell['outputs'] = outs

def adapt(nb_path:Path, proc:Path, pages:dict[str, str], widgets_js:bool)->dict:
    "Make one of nbdev's processed notebooks a myst-nb source, in place. Returns {title, description}."
    nb = nbformat.read(nb_path, as_version=4)
    cfg = _cfg(); lib = cfg.get('lib_name', 'dpgan_nb')
    doc_url = cfg.get('doc_host', '').rstrip('/') + cfg.get('doc_baseurl', '')
    depth = len(nb_path.relative_to(proc).parts) - 1
    state = nb.metadata.get('widgets', {}).get(_WIDGET_STATE, {}).get('state', {})
    title, desc, cells = '', '', []
    for cell in nb.cells:
        if cell.cell_type == 'raw':
            fm = front_matter(cell.source)
            if fm.get('title') and not title:
                title, desc = str(fm['title']), str(fm.get('description', '') or '')
                cells.append(nbformat.v4.new_markdown_cell(f'# {title}' + (f'\n\n> {desc}' if desc else '')))
            continue                           # other raw cells are for Quarto
        if cell.cell_type == 'markdown':
            if cell.source.strip().startswith('<!-- WARNING: THIS FILE WAS AUTOGENERATED'): continue
            cell.source = local_links(cell.source, pages, doc_url, depth)
            cells.append(cell); continue
        dirs, code = split_directives(cell.source)
        tags = cell.metadata.setdefault('tags', [])
        for k, tag in _TAGS.items():
            if _false(dirs, k) and tag not in tags: tags.append(tag)
        cell.source = code.strip('\n')
        for k in ('language',): cell.metadata.pop(k, None)
        adapt_cell_outputs(cell, depth, lib, pages, doc_url, widgets_js, state)
        if ERROR_TAG in tags and 'remove-output' in tags: tags.remove('remove-output')   # a failure is always shown
        if not cell.source.strip() and not cell.get('outputs'): continue
        cells.append(cell)
    if not title:
        title, desc = nb_title(nb)
    nb.cells = cells
    nb.metadata.pop('language_info', None)
    nbformat.write(nb, nb_path)
    return dict(title=_plain(title) or nb_path.stem, description=_plain(desc))

def api_pages(proc:Path, lib_path:Path)->list[str]:
    "One autodoc page per module of the package (their `[source]` pages come from viewcode). Returns the docnames."
    out = proc / 'api'; out.mkdir(parents=True, exist_ok=True)
    mods = sorted(p.stem for p in lib_path.glob('*.py') if not p.stem.startswith('_'))
    names = []
    for m in mods:
        (out / f'{m}.md').write_text(f'# {lib_path.name}.{m}\n\n```{{eval-rst}}\n.. automodule:: {lib_path.name}.{m}\n   :members:\n```\n',
                                     encoding='utf-8')
        names.append(f'api/{m}')
    (out / 'index.md').write_text('# API reference\n\nEvery module, from its docstrings, with a link to its source.\n\n'
                                  '```{toctree}\n:maxdepth: 1\n\n' + '\n'.join(n.removeprefix('api/') for n in names) + '\n```\n',
                                  encoding='utf-8')
    return names

def add_toctree(index_nb:Path, docnames:list[str], api:bool)->None:
    "The site's navigation: a hidden toctree on the home page (the notebooks in order, then the API pages)."
    nb = nbformat.read(index_nb, as_version=4)
    toc = '```{toctree}\n:hidden:\n:maxdepth: 1\n:caption: Notebooks\n\n' + '\n'.join(docnames) + '\n```'
    nb.cells.append(nbformat.v4.new_markdown_cell(toc))
    if api: nb.cells.append(nbformat.v4.new_markdown_cell('```{toctree}\n:hidden:\n:caption: Reference\n\napi/index\n```'))
    nbformat.write(nb, index_nb)

# ------------------------------------------------------------------------------------------------ widgets JS
def fetch_widgets(dest:Path=WIDGETS)->Path:
    "Fetch the ipywidgets HTML manager (`npm pack`, the pinned version), check embed.js's SHA-256, unpack dist/ to `dest/widgets/`."
    if not shutil.which('npm'): raise SystemExit('npm not found: widgets will be drawn static (install npm for the live ones)')
    with tempfile.TemporaryDirectory(prefix='widgets_') as d:
        r = subprocess.run(['npm', 'pack', '--silent', WIDGETS_PKG], cwd=d, capture_output=True, text=True)
        if r.returncode != 0: raise SystemExit(f'npm pack {WIDGETS_PKG} failed:\n{r.stderr.strip()[-800:]}')
        with tarfile.open(next(Path(d).glob('*.tgz'))) as t:
            members = [m for m in t.getmembers() if m.isfile() and m.name.startswith('package/dist/') and not m.name.endswith('.map')
                       and '/' not in m.name.removeprefix('package/dist/')]
            files = {Path(m.name).name: t.extractfile(m).read() for m in members}
    got = hashlib.sha256(files.get('embed.js', b'')).hexdigest()
    if got != WIDGETS_SHA256: raise SystemExit(f'{WIDGETS_PKG} dist/embed.js: SHA-256 {got}, expected {WIDGETS_SHA256}; not used')
    out = dest / 'widgets'
    if out.exists(): shutil.rmtree(out)
    out.mkdir(parents=True)
    for name, data in files.items():
        if name in ('embed.js', 'embed.js.LICENSE.txt') or re.fullmatch(r'[0-9a-f]{20}\.(woff2?|ttf|eot|svg)', name): (out / name).write_bytes(data)
    print(f'{WIDGETS_PKG}: embed.js ({len(files["embed.js"])/1e6:.1f} MB) and its fonts -> {out}')
    return dest

# ------------------------------------------------------------------------------------------------ main
def page_name(nb_path:Path, nbs:Path=NBS)->str:
    return nb_path.relative_to(nbs).with_suffix('').as_posix()

def build(only:list[str]|None=None, execute_nbs:bool=True, timeout:int=600, site:Path=SITE, nbs:Path=NBS,
          executed:Path=EXECUTED, proc:Path=PROC, api:bool=True, widgets:Path|None=WIDGETS, quiet:bool=False)->int:
    t_all = time.monotonic()
    paths = find_notebooks(nbs)
    if not paths: print(f'no notebooks in {nbs}', file=sys.stderr); return 1
    names = [page_name(p, nbs) for p in paths]
    if only:
        wanted = {Path(o).name.removesuffix('.ipynb').removesuffix('.html') for o in only}
        unknown = wanted - set(names)
        if unknown: print(f'--only: no such notebook: {", ".join(sorted(unknown))} (have: {", ".join(names)})', file=sys.stderr); return 2
    else: wanted = set(names)
    keep = {n: (executed / f'{n}.ipynb').read_bytes() for n in names
            if n not in wanted and (executed / f'{n}.ipynb').exists() and execute_nbs}     # --only: the others as executed last time
    old = {}
    if (site / '_pages.json').exists():
        try: old = {p['name']: p for p in json.loads((site / '_pages.json').read_text())['pages']}
        except Exception: old = {}
    stage(nbs, executed)
    os.environ.setdefault('DPGAN_NO_PROGRESS', '1')   # text, not widget, progress bars in the pages
    records, failures = {}, []
    for i, (p, name) in enumerate(zip(paths, names)):
        out, rec = executed / f'{name}.ipynb', dict(name=name, source=p.relative_to(ROOT).as_posix() if p.is_relative_to(ROOT) else str(p))
        records[name] = rec
        if name in keep:
            out.write_bytes(keep[name]); rec.update({k: v for k, v in old.get(name, {}).items() if k in ('executed', 'error', 'seconds')}); continue
        t0 = time.monotonic()
        print(f'[{i+1}/{len(paths)}] {rec["source"]}: ', end='', flush=True)
        try: nb = nbformat.read(p, as_version=4)
        except Exception as e:
            rec['error'] = f'cannot read {p.name}: {type(e).__name__}: {e}'; failures.append(name); print('FAILED:', rec['error']); continue
        err = None
        if execute_nbs and name in wanted:
            try: n_doc = add_show_docs(nb)
            except Exception as e: print(f'(no show_doc tables: {type(e).__name__}: {e}) ', end=''); n_doc = 0
            n_skip = mark_skipped(nb)
            err = execute(nb, cwd=p.parent, timeout=timeout)
            if not err and any(o.get('output_type') == 'error' for c in nb.cells for o in c.get('outputs', [])): err = 'the notebook has error outputs'
            status = f'executed in {time.monotonic()-t0:.1f} s ({n_doc} show_doc, {n_skip} slow cells not run)'
        else: status = 'as stored'
        nbformat.write(nb, out)
        rec.update(executed=execute_nbs, error=err, seconds=round(time.monotonic() - t0, 1))
        if err:
            failures.append(name); print(f'FAILED after {time.monotonic()-t0:.1f} s\n' + '\n'.join('    ' + l for l in err.splitlines()))
        else: print(status)

    t0 = time.monotonic()
    try: process(executed, proc)
    except Exception as e:
        print(f'nbdev processing failed: {type(e).__name__}: {e}', file=sys.stderr); return 1
    widgets_js = bool(widgets and (widgets / 'widgets' / 'embed.js').exists())
    out_pages = {}                                   # nbdev's page file name (privacy.html) -> our docname (03_privacy)
    for name in names:
        fm = next((front_matter(c.source) for c in nbformat.read(proc / f'{name}.ipynb', as_version=4).cells if c.cell_type == 'raw'), {})
        out_pages[str(fm.get('output-file') or Path(name).name + '.html')] = name
    for name in names:
        records[name].update(adapt(proc / f'{name}.ipynb', proc, out_pages, widgets_js))
    docnames = [n for n in names if n != 'index']
    if api: api_pages(proc, ROOT / _cfg().get('lib_path', 'dpgan_nb'))
    add_toctree(proc / 'index.ipynb', docnames, api)
    print(f'nbdev processing and adapting: {time.monotonic()-t0:.1f} s')

    t0 = time.monotonic()
    env = dict(os.environ, DPGAN_DOCS_WIDGETS=str(widgets) if widgets_js else '')
    if not widgets_js: env.pop('DPGAN_DOCS_WIDGETS')
    build_dir = BUILD if site == SITE else site.parent / '_build'   # myst-nb writes jupyter_execute/ beside Sphinx's output
    html_dir = build_dir / 'html'
    if html_dir.exists(): shutil.rmtree(html_dir)
    cmd = [sys.executable, '-m', 'sphinx', '-b', 'html', '-j', '1', '-c', str(CONF), '-d', str(build_dir / 'doctrees'),
           *(['-q'] if quiet else []), str(proc), str(html_dir)]
    r = subprocess.run(cmd, env=env, cwd=ROOT)
    if r.returncode != 0:
        print(f'sphinx-build failed (exit {r.returncode})', file=sys.stderr); return 1
    if site.exists(): shutil.rmtree(site)
    shutil.move(str(html_dir), site)
    pages = [dict(records[n], file=f'{n}.html') for n in names]
    if api: pages += [dict(name=f'api/{p.stem}', file=f'api/{p.stem}.html', title=None, source=None) for p in sorted((proc / 'api').glob('*.md'))]
    (site / '_pages.json').write_text(json.dumps({'pages': [{k: p.get(k) for k in ('name', 'file', 'title', 'source', 'executed', 'error', 'seconds')}
                                                            for p in pages]}, indent=2), encoding='utf-8')
    print(f'sphinx-build: {time.monotonic()-t0:.1f} s')
    print(f'site: {site / "index.html"} ({len(pages)} pages; widgets ' + ('live, from their saved state' if widgets_js else
          'drawn static: no local HTML manager (python tools/build_docs.py --fetch-widgets)') + f'; {time.monotonic()-t_all:.0f} s in all)')
    if failures:
        print(f'FAILED: {", ".join(failures)} did not execute cleanly (their pages show the error)', file=sys.stderr)
        return 1
    return 0

def main(argv=None)->int:
    p = argparse.ArgumentParser(description='Build the offline docs site in _site/ from nbs/*.ipynb (Sphinx, myst-nb).')
    p.add_argument('--no-execute', action='store_true', help='use the notebooks as stored, without running them')
    p.add_argument('--only', action='append', metavar='NAME', help='execute only this notebook (e.g. 01_data); repeatable')
    p.add_argument('--timeout', type=int, default=600, help='seconds one notebook may run (default 600)')
    p.add_argument('--site', default=str(SITE), help='output folder (default _site/)')
    p.add_argument('--no-api', action='store_true', help='leave out the autodoc API pages')
    p.add_argument('--fetch-widgets', action='store_true', help=f'only fetch the ipywidgets HTML manager ({WIDGETS_PKG}, npm) into {WIDGETS}')
    a = p.parse_args(argv)
    if a.fetch_widgets: fetch_widgets(); return 0
    return build(only=a.only, execute_nbs=not a.no_execute, timeout=a.timeout, site=Path(a.site).resolve(), api=not a.no_api)

if __name__ == '__main__': sys.exit(main())
