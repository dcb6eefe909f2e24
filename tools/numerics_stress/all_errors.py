"""Run notebooks as nbdev_test does (slow cells skipped), but go on after a failing cell and list every cell that
failed, so one run under the numerics stress finds all of a notebook's fragile checks, not only the first.

    PYTHONPATH=tools/numerics_stress DPGAN_NUMERICS_STRESS=1e-3 .venv/bin/python tools/numerics_stress/all_errors.py nbs/02_models.ipynb ...
"""
import os, re, sys, time
from pathlib import Path
from fastcore.xtras import working_directory
from nbdev.process import NBProcessor
from nbdev.frontmatter import FrontmatterProc
from execnb.shell import CaptureShell

os.environ['IN_TEST'] = '1'
SKIP = {'slow'}

def _no_eval(cell):
    if cell.cell_type != 'code': return True
    if 'nbdev_export' + '(' in cell.source: return True
    direc = getattr(cell, 'directives_', {}) or {}
    if direc.get('eval:', [''])[0].lower() == 'false': return True
    return bool(SKIP & direc.keys())

def errors(fn:Path)->list:
    nb = NBProcessor(fn, procs=FrontmatterProc, process=True).nb
    k = CaptureShell(fn)
    with working_directory(fn.parent): k.run_all(nb, exc_stop=False, preproc=_no_eval)
    out = []
    for i, c in enumerate(nb.cells):
        for o in c.get('outputs', []) or []:
            if o.get('output_type') == 'error':
                tb = [re.sub(r'\x1b\[[0-9;]*m', '', l) for l in o.get('traceback', [])]
                where = [l for l in '\n'.join(tb).splitlines() if re.match(r'\s*\S+ \d+ ', l) or 'line ' in l][-3:]
                out.append((c.get('idx_', i), o['ename'], o['evalue'][:300].replace('\n', ' '), where))
    return out

if __name__ == '__main__':
    bad = 0
    for f in sys.argv[1:]:
        t = time.time(); errs = errors(Path(f).resolve())
        print(f"== {f}: {len(errs)} failing cell(s) in {time.time() - t:.0f} s", flush=True)
        for idx, en, ev, where in errs:
            print(f"   cell {idx}: {en}: {ev}")
            for w in where: print(f"      {w.strip()[:200]}")
        bad += len(errs)
    sys.exit(1 if bad else 0)
