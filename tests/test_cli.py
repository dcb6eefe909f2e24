"""The `dpgan` command as a user runs it: installed console script, subprocesses, run folders on disk."""
import json, os, shutil, subprocess, sys
from pathlib import Path

import pytest

DPGAN = shutil.which('dpgan', path=str(Path(sys.executable).parent)) or shutil.which('dpgan')
ENV = dict(os.environ, DPGAN_NO_PROGRESS='1', PYTHONWARNINGS='ignore')


_WARM = {}

def _warm_run(args, cwd):
    "The console script's `main(args)` in a fresh process forked from one that imported torch once (tests/_warm_dpgan.py)."
    import tempfile, types
    if 'p' not in _WARM:
        _WARM['p'] = subprocess.Popen([sys.executable, str(Path(__file__).with_name('_warm_dpgan.py')), 'stream'], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True, env=ENV)
        _WARM['dir'] = Path(tempfile.mkdtemp(prefix='dpgan-warm-')); _WARM['n'] = 0
    _WARM['n'] += 1; n, d, p = _WARM['n'], _WARM['dir'], _WARM['p']
    job = {'id': n, 'argv': list(args), 'cwd': str(cwd or os.getcwd()), 'out': str(d/f'{n}.out'), 'err': str(d/f'{n}.err')}
    p.stdin.write(json.dumps(job) + '\n'); p.stdin.flush()
    reply = json.loads(p.stdout.readline())
    return types.SimpleNamespace(returncode=reply['rc'], stdout=(d/f'{n}.out').read_text(), stderr=(d/f'{n}.err').read_text())


def dpgan(*args, cwd=None, check=True, real=False):
    "`dpgan ARGS`: through the installed console script (real=True), else through the warm runner (the same `main`, no import per call)."
    assert DPGAN, "the dpgan console script is not installed (pip install -e .)"
    if real: r = subprocess.run([DPGAN, *map(str, args)], capture_output=True, text=True, env=ENV, cwd=cwd, timeout=600)
    else: r = _warm_run([str(a) for a in args], cwd)
    if check: assert r.returncode == 0, f"dpgan {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r


def last_json(out):
    return json.loads(out.strip().splitlines()[-1])


def run_without_torch(body: str):
    "Run `body` (after `import sys, contextlib, io` and the console module's `main`, `COMMANDS`) in a fresh interpreter; assert it printed ok and never imported torch or Opacus."
    code = ("import sys, contextlib, io\nfrom dpgan_nb.console import main, COMMANDS\n" + body +
            "\nassert 'torch' not in sys.modules and 'opacus' not in sys.modules, 'a --help imported torch'\nprint('ok')")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == 'ok', r.stdout + r.stderr


def test_top_level_help_does_not_import_torch():
    run_without_torch("with contextlib.redirect_stdout(io.StringIO()) as out:\n"
                      "    try: main(['--help'])\n    except SystemExit as e: assert e.code == 0, e.code\n"
                      "assert 'train' in out.getvalue() and 'audit' in out.getvalue()")
    assert dpgan('--version', real=True).stdout.startswith('dpgan_nb ')
    none = dpgan(check=False, real=True)
    assert none.returncode == 2 and 'required: cmd' in none.stderr


def test_every_help_without_torch():
    "`dpgan CMD --help` for every sub-command is printed from dpgan_nb/cli_help.json by the console module: no torch, no Opacus."
    run_without_torch("for c in COMMANDS:\n"
                      "    with contextlib.redirect_stdout(io.StringIO()) as out: rc = main([c, '--help'])\n"
                      "    assert rc == 0 and out.getvalue().startswith(f'usage: dpgan {c} '), (c, out.getvalue()[:200])")


def test_one_vocabulary_across_sub_commands():
    "One meaning per flag: --device where a command computes, --out for what it writes, --steps for DP steps only, --mode for what it makes."
    from dpgan_nb.console import HELP_SPECS
    import dpgan_nb
    specs = json.loads((Path(dpgan_nb.__file__).parent / HELP_SPECS).read_text())
    where = {}
    for cmd, sp in specs.items():
        for a in sp['actions']:
            for o in a['option_strings']: where.setdefault(o, {})[cmd] = a
            assert a['option_strings'] or a['dest'] not in ('out', 'folder', 'bundle'), f"{cmd}: an output as a positional ({a['dest']})"
    assert '-gd' not in where and '-dd' not in where
    assert set(where['--steps']) == {'budget', 'audit'}, set(where['--steps'])       # private (DP-SGD) steps, in both
    assert {'train', 'evaluate', 'generate', 'dpmi', 'sweep'} <= set(where['--device'])
    assert {'export', 'generate', 'studies', 'slim', 'federated'} <= set(where['--out'])
    assert where['--mode']['train']['choices'] == ['train', 'collab'] and 'dp_mode' != where['--mode']['train']['dest']
    assert where['--mode']['generate']['choices'] == ['random', 'grid', 'interpolate']


def test_help_lists_commands_and_flags():
    out = dpgan('--help', real=True).stdout
    for cmd in ('train', 'budget', 'evaluate', 'generate', 'export', 'audit', 'demo'): assert cmd in out
    out = dpgan('train', '--help', real=True).stdout
    for flag in ('--dp-mode', '--target-epsilon', '--noise-multiplier', '--accountant', '--device', '--g-device', '--d-device',
                 '--g-activation', '--conditional', '--preset', '--mode'):
        assert flag in out, flag
    assert 'floor(epochs * N / B)' in out
    flat = ' '.join(out.split())   # argparse wraps lines; --dataset names the data sets it takes
    assert all(n in flat.replace('- ', '-') for n in ('mnist-5k', 'fashion-mnist', 'idx:FOLDER', 'folder:PATH')), flat
    assert '--dry-run' in out
    assert 'one of bce, wgan, wgan-gp, hinge' in flat and 'one of rdp, prv' in flat   # choice flags list their choices
    assert '(default: dcgan; preset tiny: mlp)' in flat and 'preset tiny: 8' in flat      # and what a --preset sets instead
    demo = ' '.join(dpgan('demo', '--help').stdout.split())   # documented: what it trains, its flags
    assert 'dpgan train --preset demo' in demo and 'ε = 10' in demo and '--runs-root' in demo and 'where its run folder goes' in demo, demo


def test_budget_json_has_the_documented_keys():
    r = last_json(dpgan('budget', '--dataset-size', 60000, '--batch-size', 256, '--noise-multiplier', 1.1,
                        '--epochs', 30, '--delta', 1e-5, '--json').stdout)
    for k in ('epsilon', 'delta', 'noise_multiplier', 'sample_rate', 'steps', 'accountant'): assert k in r
    assert r['steps'] == 7031 and r['accountant'] == 'rdp' and 0 < r['epsilon'] < 50
    t = last_json(dpgan('budget', '--dataset-size', 60000, '--batch-size', 256, '--target-epsilon', 10,
                        '--epochs', 30, '--delta', 1e-5, '--json').stdout)
    assert 9.9 < t['epsilon'] <= 10 and t['noise_multiplier'] > 0
    # accountants are named and differ: the same sigma spends less epsilon under PRV than under RDP
    p = last_json(dpgan('budget', '--dataset-size', 60000, '--batch-size', 256, '--noise-multiplier', 1.1,
                        '--epochs', 30, '--accountant', 'prv', '--json').stdout)
    assert p['accountant'] == 'prv' and p['epsilon'] < r['epsilon']


def test_budget_rejects_bad_input():
    r = dpgan('budget', '--dataset-size', 100, '--batch-size', 500, '--noise-multiplier', 1, '--epochs', 1, check=False)
    assert r.returncode == 2 and 'batch_size must be in [1, 100]' in r.stderr


def test_train_writes_run_folder_matching_budget_and_resumes(tmp_path):
    common = ['--preset', 'tiny', '--runs-root', tmp_path, '--json']
    whole = last_json(dpgan('train', *common, '--name', 'whole').stdout)
    d = Path(whole['run_dir'])
    for f in ('config.json', 'privacy.json', 'log.csv', 'checkpoints/last.pt', 'generator.safetensors', 'samples.png'):
        assert (d / f).exists(), f
    priv = json.loads((d / 'privacy.json').read_text())
    b = last_json(dpgan('budget', '--dataset-size', 256, '--batch-size', 32, '--noise-multiplier', priv['noise_multiplier'],
                        '--epochs', 1, '--json').stdout)
    assert b['steps'] == priv['steps'] == 8
    assert abs(b['epsilon'] - priv['epsilon']) < 1e-9
    # interrupted after 3 steps, then resumed: same final epsilon and steps as the uninterrupted run
    part = last_json(dpgan('train', *common, '--name', 'split', '--max-steps', 3).stdout)
    assert part['steps'] == 3 and part['epsilon'] < priv['epsilon']
    done = last_json(dpgan('train', *common, '--name', 'split').stdout)
    assert done['steps'] == priv['steps'] and done['epsilon'] == priv['epsilon']
    assert done['resumed_at'] == 3 and not done['already_finished']
    # run again once finished: it says so, and trains nothing
    again = dpgan('train', '--preset', 'tiny', '--runs-root', tmp_path, '--name', 'split').stdout
    assert 'had already taken its 8 steps' in again and 'nothing was trained' in again, again
    assert json.loads((d.parent / 'split' / 'privacy.json').read_text())['steps'] == 8
    # the closing lines say where the defaults it kept were chosen: on another data set, so no tuning leak (issue 29, finding 6)
    text = dpgan('train', '--preset', 'tiny', '--runs-root', tmp_path, '--name', 'text').stdout
    assert 'tuning:     the defaults it kept were chosen on fashion-mnist, none of its private records' in text, text
    assert 'privacy leak' not in text, text


def test_train_dry_run_plans_and_writes_nothing(tmp_path):
    plan = last_json(dpgan('train', '--preset', 'tiny', '--runs-root', tmp_path / 'runs', '--dry-run', '--json', cwd=tmp_path).stdout)
    assert plan['dry_run'] and not plan['would_resume'] and plan['steps'] == 8 and plan['n_private'] == 256
    assert 9 < plan['epsilon'] <= 10 and plan['noise_multiplier'] > 0 and plan['accountant'] == 'rdp'
    assert plan['grad_sample'] == 'bk'                               # the engine 'auto' resolves to for the tiny MLP
    assert list(tmp_path.iterdir()) == []                             # no run folder, no runs root
    real = last_json(dpgan('train', '--preset', 'tiny', '--runs-root', tmp_path / 'runs', '--json', cwd=tmp_path).stdout)
    assert real['run_dir'] == plan['run_dir'] and real['epsilon'] == plan['epsilon'] and real['steps'] == plan['steps']
    text = dpgan('train', '--preset', 'tiny', '--runs-root', tmp_path / 'runs', '--dry-run', cwd=tmp_path).stdout
    assert 'nothing was written' in text and 'would resume' in text and 'rdp accountant' in text and "'bk' engine" in text


def test_seed_project_dp_mode_names(tmp_path):
    "--dp-mode takes the seed project's names (train = none, diff_privacy = gc); --mode (what to do) no longer does."
    r = last_json(dpgan('train', '--preset', 'tiny', '--runs-root', tmp_path, '--dp-mode', 'train', '--epochs', 0.25, '--json').stdout)
    assert r['mode'] == 'none' and r['epsilon'] is None
    old = dpgan('train', '--preset', 'tiny', '--runs-root', tmp_path, '--mode', 'diff_privacy', check=False)
    assert old.returncode == 2 and '--dp-mode gc' in old.stderr and not list(tmp_path.glob('train_*dp-mode=gc*'))


def test_evaluate_and_generate_from_the_command_line(tmp_path):
    run = last_json(dpgan('train', '--preset', 'tiny', '--runs-root', tmp_path / 'runs', '--name', 'ev', '--json').stdout)['run_dir']
    res, elsewhere = tmp_path / 'results', tmp_path / 'cwd'; elsewhere.mkdir()
    out = dpgan('evaluate', run, '--metrics', 'fid,is,downstream', '--downstream-models', 'logreg', '--num-samples', 200,
                '--study', 'cli', cwd=elsewhere).stdout   # results/ goes beside runs/, not into the current folder
    assert list(elsewhere.iterdir()) == [] and f"{res / 'cli.csv'}" in out
    assert 'FID' in out and '[classifier features' in out and 'downstream accuracy' in out
    m = json.loads((Path(run) / 'metrics.json').read_text())
    assert m['metrics']['fid']['backend'] == 'classifier' and m['metrics']['fid']['value'] > 0
    assert m['metrics']['downstream']['real']['models']['logreg']['accuracy'] > 0.5  # the real-data ceiling
    rows = (res / 'cli.csv').read_text().splitlines()
    assert len(rows) == 2 and 'fid' in rows[0] and 'tstr_logreg' in rows[0]
    j = last_json(dpgan('evaluate', run, '--metrics', 'is', '--num-samples', 100, '--results-root', res, '--study', 'cli', '--json').stdout)
    assert set(j['metrics']) == {'is'} and j['privacy']['mode'] == 'gc' and j['privacy']['epsilon'] > 0
    assert len((res / 'cli.csv').read_text().splitlines()) == 3  # appended, not overwritten
    dpgan('generate', run, '--num-samples', 20, '--out', tmp_path / 'g.npz')
    import numpy as np
    z = np.load(tmp_path / 'g.npz')
    # the tiny preset is unconditional: its samples carry no labels (the packaged classifier saw private records)
    assert z['images'].shape == (20, 28, 28, 1) and 'labels' not in z and str(z['label_source']) == 'none'
    bundle = tmp_path / 'bundle'
    dpgan('export', run, '--out', bundle)                                   # the release bundle alone is enough to sample
    dpgan('generate', bundle, '--num-samples', 20, '--out', tmp_path / 'gb.npz')
    assert (np.load(tmp_path / 'gb.npz')['images'] == z['images']).all()
    refused = dpgan('generate', run, '--num-samples', 5, '--label-with', tmp_path / 'nope.safetensors', '--out', tmp_path / 'x.npz', check=False)
    assert refused.returncode == 2
    bad = dpgan('evaluate', run, '--metrics', 'fid,nope', check=False)
    assert bad.returncode == 2 and 'nope' in bad.stderr
    gone = dpgan('generate', tmp_path / 'missing', check=False)
    assert gone.returncode == 2 and 'missing' in gone.stderr


def test_generate_modes_from_a_run_and_its_bundle(tmp_path):
    "grid and interpolate (linear, slerp, dirichlet) write a PNG and its recipe from a run folder and from its bundle alone."
    import numpy as np
    from PIL import Image
    run = last_json(dpgan('train', '--preset', 'tiny', '--runs-root', tmp_path / 'runs', '--name', 'g', '--json').stdout)['run_dir']
    out = dpgan('generate', run, '--mode', 'grid', '--cols', 5, '--rows', 3).stdout
    png = Path(run) / 'grid.png'
    assert str(png) in out and Image.open(png).size[0] > 0
    g = json.loads(png.with_suffix('.json').read_text())
    assert g['n_images'] == 15 and g['per_row'] == 5 and g['privacy']['mode'] == 'gc' and g['privacy']['epsilon'] > 0
    bundle = tmp_path / 'bundle'; dpgan('export', run, '--out', bundle)
    for m in ('linear', 'slerp', 'dirichlet'):
        f = tmp_path / f'{m}.png'
        dpgan('generate', bundle, '--mode', 'interpolate', '--interpolation-mode', m, '--frames', 4, '--pairs', 2,
              '--anchors', 3, '--rows', 2, '--alpha', 0.5, '--out', f)
        info = json.loads(f.with_suffix('.json').read_text())
        assert info['mode'] == m and info['release_bundle'] is True and Image.open(f).size[0] > 0
        if m == 'dirichlet':
            w = np.array(info['weights'])
            assert w.shape == (6, 3) and (w >= 0).all() and np.allclose(w.sum(1), 1) and info['n_images'] == 9
        else: assert info['n_images'] == 8
    dflt = dpgan('generate', bundle, '--mode', 'interpolate').stdout   # default out: beside the bundle, not inside it
    assert (tmp_path / 'bundle-interpolate-slerp.png').exists() and 'bundle-interpolate-slerp.png' in dflt


def test_collab_mode_refines_a_run_with_its_epsilon_unchanged(tmp_path):
    "dpgan train --mode collab --checkpoint RUN: a new run folder, the parent's ε, scores before and after; it samples, exports and evaluates."
    run = last_json(dpgan('train', '--preset', 'tiny', '--conditional', '--runs-root', tmp_path / 'runs', '--name', 'p', '--json').stdout)['run_dir']
    r = last_json(dpgan('train', '--mode', 'collab', '--checkpoint', run, '--refine-steps', 5, '--eval-samples', 100, '--max-norm', 0.5,
                        '--runs-root', tmp_path / 'runs', '--name', 'refined', '--json').stdout)
    parent = json.loads((Path(run) / 'privacy.json').read_text())
    mine = json.loads((tmp_path / 'runs' / 'refined' / 'privacy.json').read_text())
    for k in ('mode', 'epsilon', 'delta', 'noise_multiplier', 'sample_rate', 'steps', 'accountant'): assert mine[k] == parent[k], k
    assert r['run_dir'] == str(tmp_path / 'runs' / 'refined') and r['privacy']['epsilon'] == parent['epsilon']
    assert {'fid', 'precision', 'recall', 'f1'} <= set(r['before']) and r['before']['backend'] == r['after']['backend'] == 'classifier'
    out = dpgan('train', '--mode', 'collab', '--checkpoint', run, '--refine-steps', 3, '--eval-samples', 100, '--perturb', 'sample',
                '--runs-root', tmp_path / 'runs', '--name', 'refined2').stdout
    assert "the parent's, refinement is post-processing" in out and 'fid' in out and '->' in out
    dpgan('generate', r['run_dir'], '--mode', 'grid', '--out', tmp_path / 'g.png')            # every mode works on a refined run
    dpgan('export', r['run_dir'], '--out', tmp_path / 'bundle')
    rel = json.loads((tmp_path / 'bundle' / 'release.json').read_text())
    assert rel['job'] == 'collab' and 'refiner.safetensors' in rel['files'] and rel['privacy']['epsilon'] == parent['epsilon']
    j = last_json(dpgan('evaluate', r['run_dir'], '--metrics', 'fid', '--num-samples', 100, '--json').stdout)
    assert abs(j['metrics']['fid']['value'] - r['after']['fid']) < 1e-6


def test_slim_pipeline_stage_by_stage(tmp_path):
    "dpgan slim teacher | distill-set | student | compress | finetune | export at tiny sizes: each stage's output feeds the next."
    root = tmp_path / 'runs'
    t = last_json(dpgan('slim', 'teacher', '--ngf', 8, '--epochs', 0.2, '--runs-root', root, '--name', 'teacher', '--json').stdout)
    assert t['trained_on'] == 'public' and t['public_records'] > 0
    dpgan('slim', 'distill-set', t['teacher'], '--out', tmp_path / 'ds', '--n', 300, '--shard-size', 128)
    s = last_json(dpgan('slim', 'student', tmp_path / 'ds', '--out', tmp_path / 'student.safetensors', '--widths', '8,4',
                        '--student-steps', 20, '--bits', 6, '--perceptual', 1, '--adversarial', 0.1, '--json').stdout)
    assert s['widths'] == [8, 4] and s['mse'][1] < s['mse'][0]   # with the teacher discriminator's terms too
    c = last_json(dpgan('slim', 'compress', tmp_path / 'student.safetensors', '--out', tmp_path / 'c.safetensors', '--json').stdout)
    assert c['max_diff_vs_masked'] <= 1e-5
    f = last_json(dpgan('slim', 'finetune', tmp_path / 'c.safetensors', '--teacher', t['teacher'], '--epochs', 0.5, '--runs-root', root,
                        '--name', 'ft', '--d-init', 'teacher', '--json').stdout)
    assert 0 < f['epsilon'] <= 10 and f['accountant'] == 'rdp' and f['steps'] > 0
    e = last_json(dpgan('slim', 'export', f['run_dir'], '--out', tmp_path / 'device', '--json').stdout)
    assert set(e['files']) == {'generator.safetensors', 'generator_int8.safetensors', 'generator.onnx'}
    assert e['files']['generator_int8.safetensors'] < e['files']['generator.safetensors'] and e['onnx_max_abs_diff_vs_torch'] < 1e-2   # two float32 implementations (tests/test_onnx_fresh.py)
    dpgan('generate', f['run_dir'], '--mode', 'grid', '--out', tmp_path / 'g.png')   # the fine-tuned run samples like any other


def test_audit_white_box_from_the_command_line(tmp_path):
    "`dpgan audit --white-box`: gradient canaries scored at every step (empty Poisson batches too: ~1 data record a step here)."
    r = dpgan('audit', '--white-box', '--m', 32, '--m-grad', 200, '--k-white', 10, '--steps', 10, '--batch-size', 8,
              '--runs-root', tmp_path, '--name', 'wb', '--json')
    a = last_json(r.stdout); w = a['white_box']
    assert (w['m'], w['guesses'], w['steps_scored'], w['canary']) == (200, 20, 10, 'dirac'), w
    assert 'grad_coins' not in a and 'grad_scores' not in a and 'coins' not in a          # private: in audit.json only
    saved = json.loads((tmp_path / 'wb' / 'audit.json').read_text())
    assert len(saved['grad_scores']) == 200 and saved['privacy']['steps'] == 10
    r = dpgan('audit', '--m-grad', 100, '--runs-root', tmp_path, check=False)
    assert r.returncode != 0 and 'white_box=True' in r.stderr, r.stderr
