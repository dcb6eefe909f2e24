"""The exported ONNX generator samples in a fresh process that can import only numpy and onnxruntime (plus the standard
library): `python -S` (no site-packages) with a path holding just those two packages, so torch and dpgan_nb are unreachable."""
import json, site, subprocess, sys
from pathlib import Path

import numpy as np
import torch

from dpgan_nb.slimming import SlimGenerator, compress, export_onnx

ONNX_ATOL = 1e-2   # onnxruntime against PyTorch, both float32 (see the first test)


def test_onnx_generator_runs_with_only_numpy_and_onnxruntime(tmp_path):
    torch.manual_seed(0)
    G = SlimGenerator(16, (1, 28, 28), (32, 16), 10, 'cgan', bits=8)
    G.train()(torch.randn(64, 16), torch.arange(64) % 10)   # set the activation ranges
    with torch.no_grad(): G.gates[0][::2] = 0
    S = compress(G.eval())
    res = export_onnx(S, tmp_path / 'g.onnx')
    # onnxruntime and PyTorch are two float32 implementations: on a CPU whose oneDNN kernels stray by ~1e-3 relative (an
    # AVX-512 Xeon with AMX), images in [-1, 1] differ by ~1e-3; a lost layer, scale or gate moves them by far more
    assert res['max_abs_diff_vs_torch'] < ONNX_ATOL
    z, y = np.random.default_rng(0).standard_normal((5, 16)).astype(np.float32), np.arange(5) % 10
    with torch.no_grad(): ref = S(torch.from_numpy(z), torch.from_numpy(y)).numpy()
    np.save(tmp_path / 'z.npy', z); np.save(tmp_path / 'y.npy', y)
    only = tmp_path / 'only'; only.mkdir()
    sp = [Path(p) for p in site.getsitepackages()]
    for name in ('numpy', 'numpy.libs', 'onnxruntime'):
        src = next((p / name for p in sp if (p / name).exists()), None)
        if src is not None: (only / name).symlink_to(src)
    code = (f"import sys; sys.path.insert(0, {str(only)!r}); import numpy as np, onnxruntime as ort, json\n"
            f"s = ort.InferenceSession({str(tmp_path / 'g.onnx')!r}, providers=['CPUExecutionProvider'])\n"
            f"x = s.run(None, {{'z': np.load({str(tmp_path / 'z.npy')!r}), 'y': np.load({str(tmp_path / 'y.npy')!r})}})[0]\n"
            f"np.save({str(tmp_path / 'x.npy')!r}, x)\n"
            "print(json.dumps({'torch': 'torch' in sys.modules, 'dpgan_nb': any(m.startswith('dpgan_nb') for m in sys.modules)}))")
    r = subprocess.run([sys.executable, '-S', '-c', code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == {'torch': False, 'dpgan_nb': False}
    x = np.load(tmp_path / 'x.npy')
    assert x.shape == (5, 1, 28, 28) and np.abs(x - ref).max() < ONNX_ATOL
