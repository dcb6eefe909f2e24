"""Scale-out: the same training under torchrun, 2 CPU processes with the gloo backend (Opacus's distributed DP)."""
import json, os, shutil, subprocess, sys
from pathlib import Path

TORCHRUN = shutil.which('torchrun', path=str(Path(sys.executable).parent)) or shutil.which('torchrun')


def test_torchrun_two_ranks_agree_on_epsilon_and_weights(tmp_path):
    assert TORCHRUN, "torchrun (from torch) is not installed"
    env = dict(os.environ, DPGAN_NO_PROGRESS='1', PYTHONWARNINGS='ignore', CUDA_VISIBLE_DEVICES='')
    r = subprocess.run([TORCHRUN, '--standalone', '--nproc_per_node', '2', '-m', 'dpgan_nb.cli', 'train', '--preset', 'tiny',
                        '--runs-root', str(tmp_path), '--name', 'ddp', '--g-device', 'cpu'],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, f"torchrun failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    ranks = {d['rank']: d for d in (json.loads(l) for l in r.stdout.splitlines() if l.startswith('{"rank"'))}
    assert sorted(ranks) == [0, 1], r.stdout
    a, b = ranks[0], ranks[1]
    assert a['world_size'] == b['world_size'] == 2
    # the accountant counts the global batch: q = B / N of the whole private set, T = epochs * N / B
    assert a['sample_rate'] == b['sample_rate'] == 32 / 256 and a['steps'] == b['steps'] == 8
    assert a['epsilon'] == b['epsilon'] and 0 < a['epsilon'] <= 10
    # every rank took the same (noised, summed) steps
    assert a['g_checksum'] == b['g_checksum'] and a['d_checksum'] == b['d_checksum']
    priv = json.loads((tmp_path / 'ddp' / 'privacy.json').read_text())  # written by rank 0 only
    assert priv['epsilon'] == a['epsilon'] and priv['steps'] == 8
