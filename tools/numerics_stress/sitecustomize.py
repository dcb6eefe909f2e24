"""Numerics stress: make float32 kernels disagree across shapes, as oneDNN's do on some CPUs.

oneDNN (and MKL) choose a different float32 kernel per CPU and per problem size, so a batch of 5 and five
batches of 1 can differ by ~1e-3 relative on one CPU (an Intel Xeon with AVX-512 and AMX, fp32 convolution
backward) and by ~1e-7 on another. A numeric cross-check that passes on the developers' CPU can therefore
fail on a user's. This file emulates the worst such CPU on any machine: with `DPGAN_NUMERICS_STRESS=<rel>`
set and this folder on `PYTHONPATH`, every float32 output of a convolution or a matrix product is multiplied
by a fixed pattern `1 + rel * u`, `u` uniform in [-1, 1], drawn from a hash of (op, output shape). The same
op on the same shape always gives the same result (kernels are deterministic per problem), another shape or
another op gives another result (another kernel), and float64 is untouched (references stay exact).

    make test-stress        # = PYTHONPATH=tools/numerics_stress DPGAN_NUMERICS_STRESS=1e-3 nbdev_test ...

Python imports `sitecustomize` at start-up from `sys.path`, so every process started with this `PYTHONPATH`
(nbdev_test's workers, the CLI's subprocesses, kernels) runs under the stress. A developer tool, not part
of the package or of CI.
"""
import os

_REL = os.environ.get('DPGAN_NUMERICS_STRESS')

try:
    if _REL: import torch, numpy as np
except ImportError: _REL = None  # a Python without torch (the system's): nothing to stress

if _REL:
    import zlib
    from torch.overrides import TorchFunctionMode

    REL = float(_REL)
    # the ops whose float32 results depend on the kernel oneDNN / MKL pick
    OPS = {'conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d', 'convolution', 'linear',
           'matmul', '__matmul__', '__rmatmul__', 'mm', 'bmm', 'addmm', 'baddbmm', 'addbmm', 'einsum', 'mv',
           'tensordot', 'convolution_backward', 'conv2d_weight', 'conv2d_input'}
    _cache: dict = {}

    def _pattern(name: str, t: torch.Tensor) -> torch.Tensor:
        key = (name, tuple(t.shape), t.device)
        p = _cache.get(key)
        if p is None:
            if len(_cache) > 2048: _cache.clear()
            u = np.random.default_rng(zlib.crc32(repr((name, tuple(t.shape))).encode())).random(tuple(t.shape), dtype=np.float32)
            p = _cache[key] = torch.from_numpy(1 + REL * (2 * u - 1)).to(t.device)  # numpy: no torch random op (vmap refuses them)
        return p

    def _perturb(name, out):
        if isinstance(out, torch.Tensor):
            if out.dtype == torch.float32 and out.numel() > 0: return out * _pattern(name, out)
            return out
        if isinstance(out, (tuple, list)): return type(out)(_perturb(name, o) for o in out)
        return out

    class _Stress(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            name = getattr(func, '__name__', '')
            if name not in OPS or torch.jit.is_tracing() or torch.onnx.is_in_onnx_export(): return out  # no pattern baked into an export
            return _perturb(name, out)

    _mode = _Stress()
    _mode.__enter__()  # for the life of the process (the main thread's function-mode stack)
    if os.environ.get('DPGAN_NUMERICS_STRESS_VERBOSE'): print(f"[numerics stress: float32 conv/matmul outputs x (1 ± {REL:g})]")
