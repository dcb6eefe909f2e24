"""Packaging and notebook hygiene checks (run by `make test` after nbdev_test).

- the wheel built from the repo ships `dpgan_nb` (with `_modidx.py`), and `import dpgan_nb.data` works from
  outside the repo: what `pip install .` gives a user;
- the notebooks in nbs/ are stored clean (no execution counts, outputs or widget state), as nbdev_clean leaves them.
"""
import json, os, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / 'nbs'


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    "Build a wheel of the repo and install it (no dependencies) into a bare folder; return (wheel, folder)."
    wheels, target = tmp_path_factory.mktemp('wheel'), tmp_path_factory.mktemp('site')
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK='1', PIP_NO_INPUT='1')
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', str(wheels), str(ROOT)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, f'pip wheel failed:\n{r.stdout}\n{r.stderr}'
    built = sorted(wheels.glob('dpgan_nb-*.whl'))
    assert len(built) == 1, f'expected one dpgan_nb wheel, got {[p.name for p in wheels.iterdir()]}'
    r = subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '-q', '--target', str(target), str(built[0])],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, f'pip install --target failed:\n{r.stdout}\n{r.stderr}'
    return built[0], target


def test_wheel_ships_the_package(installed, tmp_path):
    wheel, target = installed
    pkg = target / 'dpgan_nb'
    assert (pkg / '__init__.py').is_file(), f'{wheel.name} has no dpgan_nb/__init__.py'
    assert (pkg / '_modidx.py').is_file(), f'{wheel.name} does not ship dpgan_nb/_modidx.py (nbdev needs it)'
    for mod in ('core', 'data'): assert (pkg / f'{mod}.py').is_file(), f'{wheel.name} does not ship dpgan_nb/{mod}.py'
    eps = next(target.glob('dpgan_nb-*.dist-info/entry_points.txt')).read_text()
    assert '[nbdev]' in eps and 'dpgan_nb._modidx' in eps, f'no nbdev entry point in {wheel.name}:\n{eps}'
    # Import from a folder outside the repo with only the installed copy on the path (dependencies from this env).
    env = dict(os.environ, PYTHONPATH=str(target))
    r = subprocess.run([sys.executable, '-c', 'import dpgan_nb.data, dpgan_nb.core; print(dpgan_nb.data.__file__)'],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, f'import of the installed package failed:\n{r.stderr}'
    where = Path(r.stdout.strip().splitlines()[-1]).resolve()
    assert where.is_relative_to(target.resolve()), f'dpgan_nb.data was imported from {where}, not from the installed wheel in {target}'


def _notebooks():
    return sorted(p for p in NBS.rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts)


@pytest.mark.parametrize('nb_path', _notebooks(), ids=lambda p: p.relative_to(NBS).as_posix())
def test_notebook_is_clean(nb_path):
    nb = json.loads(nb_path.read_text(encoding='utf-8'))
    problems = []
    if 'widgets' in nb.get('metadata', {}): problems.append('notebook metadata has widget state ("widgets")')
    for i, cell in enumerate(nb.get('cells', [])):
        if cell.get('cell_type') != 'code':
            if 'widgets' in cell.get('metadata', {}): problems.append(f'cell {i}: widget metadata')
            continue
        if cell.get('execution_count') is not None: problems.append(f'cell {i}: execution_count {cell["execution_count"]}')
        if cell.get('outputs'): problems.append(f'cell {i}: {len(cell["outputs"])} output(s)')
        if 'widgets' in cell.get('metadata', {}): problems.append(f'cell {i}: widget metadata')
    assert not problems, f'{nb_path.name} is not clean (run nbdev_clean):\n  ' + '\n  '.join(problems)
