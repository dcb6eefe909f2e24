"""The benchmark scripts (issue 16) run from a fresh clone as documented: smoke runs with tiny settings (numbers meaningless)."""
import csv, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, DPGAN_NO_PROGRESS='1', PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1')


def run(script, *args, cwd):
    r = subprocess.run([sys.executable, str(ROOT/'benchmarks'/script), *map(str, args)], capture_output=True, text=True,
                       env=ENV, cwd=cwd, timeout=900)
    assert r.returncode == 0, f"{script} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


def test_utility_quick(tmp_path):
    out = run('utility.py', '--dataset', 'mnist-5k', '--eps', '10', '--quick', '--backends', 'classifier', '--no-ceiling',
              '--set', 'ms_weight=0.3', '--runs-root', tmp_path/'runs', '--csv', tmp_path/'u.csv', cwd=tmp_path)
    rows = list(csv.DictReader(open(tmp_path/'u.csv')))
    assert len(rows) == 1; r = rows[0]
    assert r['dataset'] == 'mnist-5k' and r['settings'] == 'ms_weight=0.3' and r['selection'] == 'last checkpoint'
    assert 0 < float(r['epsilon']) <= 10.0 + 1e-6 and float(r['delta']) == 1e-5 and r['accountant'] == 'rdp'
    assert 0 <= float(r['accuracy']) <= 100 and float(r['fid_classifier']) > 0
    assert 0 <= float(r['precision_classifier']) <= 1 and 0 <= float(r['recall_classifier']) <= 1 and int(r['n_pr']) == 500
    assert 'fid_inception-ts' not in r  # not asked for (--backends classifier)
    assert 'k-NN precision' in out and 'recall' in out and 'DPImageBench' not in out  # the published rows are Fashion-MNIST's only
    assert (tmp_path/'runs'/'mnist-5k_eps10_quick_ms_weight-0.3'/'privacy.json').exists()


def test_utility_public_start(tmp_path):
    "The warm-start lever: a non-DP run on the public part, then the DP run from it, its row saying public_data."
    run('utility.py', '--dataset', 'mnist-5k', '--eps', '10', '--quick', '--backends', 'classifier', '--no-ceiling', '--n-syn', '500',
        '--public-fraction', '0.5', '--runs-root', tmp_path/'runs', '--csv', tmp_path/'u.csv', cwd=tmp_path)
    r = list(csv.DictReader(open(tmp_path/'u.csv')))[0]
    assert r['public_data'] == 'True' and int(r['n_private']) == 2000
    import json
    run_dir = tmp_path/'runs'/'mnist-5k_eps10_quick_public0.5'
    pi = json.loads((run_dir/'privacy.json').read_text())['public_init']
    assert pi['run'] == str(tmp_path/'runs'/'mnist-5k_public0.5_nodp_quick') and pi['overlap_with_private'] == 0
    assert json.loads((tmp_path/'runs'/'mnist-5k_public0.5_nodp_quick'/'data.json').read_text())['trained_on'] == 'public'


def test_utility_csv_takes_rows_with_other_columns(tmp_path):
    "Rows with columns the file lacks (an older script's, or other --backends) are added, not misaligned or sent elsewhere."
    import importlib.util
    spec = importlib.util.spec_from_file_location('utility', ROOT/'benchmarks'/'utility.py'); u = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(u)
    f = tmp_path/'u.csv'
    u.append_rows(f, [{'eps': 1, 'fid_classifier': 2.5}]); u.append_rows(f, [{'eps': 10, 'fid_classifier': 3.5}])
    u.append_rows(f, [{'eps': 10, 'fid_inception-ts': 53.2, 'fid_classifier': 1.5, 'recall_classifier': 0.3}])
    rows = list(csv.DictReader(open(f)))
    assert next(csv.reader(open(f))) == ['eps', 'fid_classifier', 'fid_inception-ts', 'recall_classifier'] and len(rows) == 3
    assert [r['fid_classifier'] for r in rows] == ['2.5', '3.5', '1.5'] and rows[0]['recall_classifier'] == ''
    assert rows[2]['fid_inception-ts'] == '53.2' and rows[2]['recall_classifier'] == '0.3'
    assert not list(tmp_path.glob('*_v2.csv'))


def test_dp_throughput_tiny(tmp_path):
    out = run('dp_throughput.py', '--archs', 'mlp', '--batches', '16', '--steps', '2', '--modes', 'none,gc,gc-functorch,gc-bk',
              '--threads', '1', '--csv', tmp_path/'t.csv', cwd=tmp_path)
    rows = list(csv.DictReader(open(tmp_path/'t.csv')))
    assert [(r['d'], r['what'], r['dp_engine']) for r in rows] == [('mlp', w, m) for w in ('d_step', 'round') for m in ('gc', 'gc-functorch', 'gc-bk')]
    assert all(float(r['nondp_s']) > 0 and float(r['dp_s']) > 0 and float(r['ratio']) > 0 for r in rows)
    assert 'gc-functorch' in out and 'gc-bk' in out and 'ratio' in out
