"""Every notebook runs top to bottom in a real Jupyter kernel, as a user's Jupyter runs it. This is how `make test` runs the
notebooks' test cells (once: `nbdev_test`, which runs the same cells in-process, is `make test-nb`, the quick loop).

`nbdev_test` executes notebooks with execnb, inside one Python process and with no kernel, so widgets, comm
messages and `tqdm.auto`'s widget progress bars are never exercised. Here each notebook goes through nbclient
(what `jupyter nbconvert --execute` and papermill use) in a fresh `python3` kernel, in its own folder, with the
progress bars at their default (on): the path on which the study notebooks used to hang. Cells that
`nbdev_test` skips (`#| slow`, `#| eval: false`) are skipped here too, so the notebooks run at their tiny
sizes. A hang fails the test with the cell that hung (per-cell timeout) instead of stalling CI. Two notebooks run
at a time (one kernel each, one thread each), as `nbdev_test --n_workers 2` does.
"""
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
from build_docs import SKIP_TAG, find_notebooks, mark_skipped  # one rule for which cells are skipped

nbformat = pytest.importorskip('nbformat')
nbclient = pytest.importorskip('nbclient')

CELL_TIMEOUT = int(os.environ.get('NB_CELL_TIMEOUT', 600))   # s; the slowest tiny cell takes about a minute on 2 cores
STALL = 20        # s the client may wait beyond the kernel's own time for a cell before that counts as a stall
NOTEBOOKS = find_notebooks(ROOT / 'nbs')


def _t(stamp:str)->float:
    from datetime import datetime
    return datetime.fromisoformat(stamp.replace('Z', '+00:00')).timestamp()

def stalls(nb, wall:dict)->list[str]:
    """Cells for which the client waited much longer than the kernel worked: the kernel's time is from its own
    message stamps (execute_input to status idle), the client's from when nbclient started and finished the cell.
    With ipywidgets' Output capture, nbclient's Output mimic writes on the shell socket it is reading and can miss the
    reply until the cell's timeout (jupyter/nbclient#312): `nbconvert --execute` (no timeout) then hangs forever."""
    out = []
    for i, (t0, t1) in wall.items():
        ex = nb.cells[i].metadata.get('execution', {})
        if 'iopub.execute_input' in ex and 'iopub.status.idle' in ex:
            kernel = _t(ex['iopub.status.idle']) - _t(ex['iopub.execute_input'])
            if (t1 - t0) - kernel > STALL:
                out.append(f'cell {i} took {t1 - t0:.0f} s, of which the kernel worked {kernel:.0f} s: {nb.cells[i].source[:80]!r}')
    return out

def run_in_kernel(path:Path):
    "Execute the notebook at `path` in a fresh python3 kernel (its folder as cwd); returns (notebook, seconds, stalls)."
    nb = nbformat.read(path, as_version=4)
    mark_skipped(nb)
    env = {k: v for k, v in os.environ.items() if k != 'DPGAN_NO_PROGRESS'}   # progress bars as a user gets them
    client = nbclient.NotebookClient(nb, kernel_name='python3', timeout=CELL_TIMEOUT, skip_cells_with_tag=SKIP_TAG,
                                     resources={'metadata': {'path': str(path.parent)}},
                                     extra_arguments=['--IPKernelApp.log_level=ERROR'])
    wall = {}
    client.on_cell_execute = lambda cell, cell_index: wall.__setitem__(cell_index, (time.time(), None))
    client.on_cell_executed = lambda cell, cell_index, execute_reply: wall.__setitem__(cell_index, (wall[cell_index][0], time.time()))
    t0 = time.monotonic()
    client.execute(env=env)
    return nb, time.monotonic() - t0, stalls(nb, {i: w for i, w in wall.items() if w[1] is not None})


def outcome(path:Path)->dict:
    "Run one notebook in a kernel; what the test checks, as plain data (it comes back from a worker process)."
    t0 = time.monotonic()
    try: nb, seconds, stalled = run_in_kernel(path)
    except Exception as e:   # CellExecutionError, CellTimeoutError, DeadKernelError: the message names the cell
        return dict(failure=f'{type(e).__name__}: {str(e)[:3000]}', seconds=time.monotonic() - t0)
    ran = [c for c in nb.cells if c.cell_type == 'code' and SKIP_TAG not in c.metadata.get('tags', [])]
    errors = [f'{o.ename}: {o.evalue}' for c in ran for o in c.outputs if o.output_type == 'error']
    return dict(failure=None, seconds=seconds, n_ran=len(ran), errors=errors, stalls=stalled,
                all_ran=bool(ran) and all(c.get('execution_count') for c in ran))


@pytest.fixture(scope='module')
def outcomes():
    os.environ.setdefault('OMP_NUM_THREADS', '1')   # the kernels inherit it: two at a time on 2 cores
    with ProcessPoolExecutor(2) as ex: return dict(zip(NOTEBOOKS, ex.map(outcome, NOTEBOOKS)))


@pytest.mark.parametrize('path', NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_a_kernel(outcomes, path):
    o = outcomes[path]
    assert o['failure'] is None, f"{path.name} did not run in a kernel: {o['failure']}"
    assert o['all_ran'], f'{path.name}: not every cell ran'
    assert not o['errors'], f"{path.name}: {o['errors'][0]}"
    assert not o['stalls'], f"{path.name}: the client waited on the kernel for nothing (it would hang without a timeout): {o['stalls']}"
    print(f"{path.name}: {o['n_ran']} cells in {o['seconds']:.0f} s")


def test_the_notebooks_are_found():
    names = [p.name for p in NOTEBOOKS]
    assert names[0] == 'index.ipynb' and '85_clip_norm_study.ipynb' in names and len(names) >= 17, names
