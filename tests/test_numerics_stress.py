"""The numerics stress (tools/numerics_stress, `make test-stress`) reproduces the failure reported on an AVX-512 Xeon with
AMX: in float32 the book-keeping engine's clipped sums for the ResNet discriminator differ from a one-sample-at-a-time
reference by ~1e-3 relative (oneDNN's convolution kernels differ per batch size there), which the old check's 1e-5 did
not allow, while in float64 (what 03_privacy now compares) they agree to ~1e-15. These tests check that the stress is
on where it is asked for, deterministic per shape, blind to float64, and that it turns the old float32 check red."""
import json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, torch, torch.nn.functional as F
from dpgan_nb.models import build_gan
from dpgan_nb.privacy import bk_clipped_sum
torch.manual_seed(3)
out = {}
for name, dt in (('f32', torch.float32), ('f64', torch.float64)):
    _, D = build_gan('resnet', n_classes=10, cond='none', d_norm=None); D = D.to(dt)
    x = torch.randn(5, 1, 28, 28, dtype=dt)
    head = lambda o: o.reshape(len(o), -1)[:, 0]
    sums, norms, _ = bk_clipped_sum(D, lambda m: F.softplus(-head(m(x))), 1e9)   # C huge: the plain sum
    ps = [p for p in D.parameters() if p.requires_grad]; ref = [torch.zeros_like(p) for p in ps]
    for i in range(5):
        ref = [r + g for r, g in zip(ref, torch.autograd.grad(F.softplus(-head(D(x[i:i + 1]))).sum(), ps))]
    out[name] = max(float((s - r).abs().max()) / max(1., float(r.abs().max())) for s, r in zip(sums, ref))
    a, b = D(x), D(x)
    out[name + '_repeat'] = float((a - b).abs().max())
print(json.dumps(out))
"""

def _probe(stress:str|None)->dict:
    env = {k: v for k, v in os.environ.items() if k not in ('DPGAN_NUMERICS_STRESS', 'PYTHONPATH')}
    env['OMP_NUM_THREADS'] = '1'
    if stress: env.update(PYTHONPATH=str(ROOT / 'tools' / 'numerics_stress'), DPGAN_NUMERICS_STRESS=stress)
    r = subprocess.run([sys.executable, '-c', PROBE], capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])

def test_stress_reproduces_the_float32_failure_and_spares_float64():
    s = _probe('1e-3')
    assert s['f32'] > 1e-5, s          # the old check (relative 1e-5 in float32) fails under the stress, as on that CPU
    assert s['f64'] < 1e-9, s          # the float64 comparison holds
    assert s['f32_repeat'] == 0. and s['f64_repeat'] == 0., s   # the same op on the same shape: the same result

def test_no_stress_without_the_variable():
    s = _probe(None)
    assert s['f64'] < 1e-9 and s['f32'] < 1e-3, s
