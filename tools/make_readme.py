#!/usr/bin/env python3
"""Write README.md from nbs/index.ipynb without Quarto (what `nbdev_readme` would do with it).

Markdown cells are copied verbatim; code cells become ```python blocks with their nbdev directive lines
(`#| ...`) removed; cells with a `#| hide` directive (and code cells left empty) are dropped.
Usage: python tools/make_readme.py [--nb nbs/index.ipynb] [--out README.md] [--check]
"""
from __future__ import annotations
import argparse, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_DIRECTIVE = re.compile(r'^\s*#\s*\|\s*(.*)$')

def directives(src:str)->tuple[dict[str, list[str]], str]:
    "The leading `#| name args` lines of a cell as {name: args}, and the source without them."
    lines, dirs = src.splitlines(True), {}
    i = 0
    while i < len(lines):
        m = _DIRECTIVE.match(lines[i])
        if m:
            parts = m.group(1).replace(':', ': ', 1).split() if ':' in m.group(1) else m.group(1).split()
            if parts: dirs[parts[0].rstrip(':')] = parts[1:]
        elif lines[i].strip(): break
        i += 1
    return dirs, ''.join(lines[i:])

def is_hidden(dirs:dict)->bool:
    return 'hide' in dirs or dirs.get('include') == ['false']

def readme_text(nb_path:Path)->str:
    nb = json.loads(nb_path.read_text(encoding='utf-8'))
    rel = nb_path.resolve().relative_to(ROOT) if nb_path.resolve().is_relative_to(ROOT) else nb_path
    parts = [f'<!-- Generated from {rel.as_posix()} by tools/make_readme.py (`make readme`): edit the notebook, not this file. -->']
    for cell in nb.get('cells', []):
        src = ''.join(cell.get('source', []))
        if cell.get('cell_type') == 'markdown':
            dirs, _ = directives(src)
            if is_hidden(dirs): continue
            # relative links/images are relative to the notebook's folder; make them relative to the README's
            nb_dir = nb_path.resolve().parent.relative_to(ROOT).as_posix() if nb_path.resolve().is_relative_to(ROOT) else ''
            if nb_dir and nb_dir != '.':
                src = re.sub(r'\]\((?![a-z]+:|/|#)([^)]+)\)', lambda m: f']({nb_dir}/{m.group(1)})', src)
            if src.strip(): parts.append(src.strip('\n'))
        elif cell.get('cell_type') == 'code':
            dirs, code = directives(src)
            if is_hidden(dirs) or not code.strip(): continue
            parts.append('```python\n' + code.strip('\n') + '\n```')
    return '\n\n'.join(parts) + '\n'

def main(argv=None)->int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--nb', default=str(ROOT/'nbs'/'index.ipynb'), help='the notebook to read')
    p.add_argument('--out', default=str(ROOT/'README.md'), help='where to write the README')
    p.add_argument('--check', action='store_true', help='only check that the README is up to date (exit 1 if not)')
    a = p.parse_args(argv)
    text, out = readme_text(Path(a.nb)), Path(a.out)
    if a.check:
        if out.exists() and out.read_text(encoding='utf-8') == text:
            print(f'{out} is up to date'); return 0
        print(f'{out} is out of date with {a.nb}: run `make readme`', file=sys.stderr); return 1
    out.write_text(text, encoding='utf-8')
    print(f'wrote {out} from {a.nb}')
    return 0

if __name__ == '__main__': sys.exit(main())
