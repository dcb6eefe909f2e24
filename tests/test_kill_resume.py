"""SIGKILL at random moments, then the same command again: the run ends exactly where an uninterrupted one does.

One `dpgan train` run is killed three times (SIGKILL: no handler runs, no checkpoint is written at the kill) at a
random moment after it has made progress, and then run to the end. Its final privacy (ε, steps) and its generator's
weights must equal those of the same command run without interruption. Both runs use `--reproducible-dp` (the
debugging mode in which the DP noise and the Poisson sample follow the seed), so that two separate runs can be
compared bit for bit; resuming restores the noise and sampler generators from the checkpoint in either mode.
The moments are drawn from a seed printed with the test, so a failure can be replayed.
"""
import csv, io, os, random, shutil, signal, subprocess, sys, time
from pathlib import Path

import pytest

DPGAN = shutil.which('dpgan', path=str(Path(sys.executable).parent)) or shutil.which('dpgan')
ENV = dict(os.environ, DPGAN_NO_PROGRESS='1', PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1')
ARGS = ['train', '--preset', 'tiny', '--epochs', 6, '--checkpoint-every', 3, '--sample-every', 1000, '--log-every', 1,
        '--reproducible-dp', '--json']   # 48 private steps, a checkpoint every 3


def cmd(root, name): return [DPGAN, *map(str, ARGS), '--runs-root', str(root), '--name', name]


def logged_step(run:Path)->int:
    "The last step in log.csv (0 if none yet); tolerant of a line being written."
    try: rows = list(csv.DictReader(io.StringIO((run/'log.csv').read_text())))
    except (FileNotFoundError, csv.Error): return 0
    steps = [int(r['step']) for r in rows if (r.get('step') or '').isdigit()]
    return max(steps, default=0)


def weights(run:Path)->dict:
    from safetensors.torch import load_file
    return load_file(str(run/'generator.safetensors'))


def privacy(run:Path)->dict:
    import json
    return json.loads((run/'privacy.json').read_text())


def test_three_sigkills_then_resume_equal_an_uninterrupted_run(tmp_path):
    assert DPGAN, 'the dpgan console script is not installed (pip install -e .)'
    seed = int.from_bytes(os.urandom(4), 'little'); rng = random.Random(seed)
    print(f'kill moments drawn with seed {seed}')
    ref = subprocess.run(cmd(tmp_path, 'ref'), capture_output=True, text=True, env=ENV, timeout=600)
    assert ref.returncode == 0, ref.stderr
    run, kills = tmp_path/'killed', []
    targets = sorted(rng.sample(range(4, 44), 3))   # steps after which to kill, somewhere in the run
    for k, target in enumerate(targets):
        p = subprocess.Popen(cmd(tmp_path, 'killed'), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
        t0 = time.monotonic()   # a resumed run truncates log.csv to its checkpoint, then logs again
        while logged_step(run) < target and p.poll() is None and time.monotonic() - t0 < 300: time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.3))   # anywhere in the next step: mid-update, mid-checkpoint-write, ...
        assert p.poll() is None, f'kill {k + 1}: the run ended before it could be killed (stderr: {p.stderr.read()[-400:]})'
        p.send_signal(signal.SIGKILL); p.wait(30); p.stderr.close()
        kills.append(logged_step(run))
    print(f'kill targets {targets}; killed with the log at steps {kills}; a checkpoint every 3 steps')
    assert kills[-1] < 48, 'the kills came too late to test resuming'
    assert (run/'checkpoints'/'last.pt').exists(), 'no checkpoint before the last kill: nothing was resumed'
    done = subprocess.run(cmd(tmp_path, 'killed'), capture_output=True, text=True, env=ENV, timeout=600)
    assert done.returncode == 0, done.stderr
    a, b = privacy(tmp_path/'ref'), privacy(run)
    assert (a['steps'], a['epsilon'], a['noise_multiplier']) == (b['steps'], b['epsilon'], b['noise_multiplier']) and a['steps'] == 48
    wa, wb = weights(tmp_path/'ref'), weights(run)
    assert wa.keys() == wb.keys()
    different = [k for k in wa if not (wa[k] == wb[k]).all()]
    assert not different, f'generator tensors differ after resuming: {different[:5]}'
