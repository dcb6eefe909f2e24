"""What DP costs in time: the library's private discriminator step against a non-private one, in one process.

    python benchmarks/dp_throughput.py [--archs dcgan,mlp,resnet] [--batches 128,512] [--steps 20] [--device cpu|cuda]
                                       [--threads N] [--modes none,gc,gc-ghost,gc-functorch,gc-bk] [--loss bce|wgan-gp]
                                       [--precision fp32,bf16] [--csv results/dp_throughput.csv]

For each discriminator (the `build_gan` defaults of `TrainConfig`, on the embedded mnist-5k) and each expected batch
size B, `Trainer`s that differ only in the DP engine ('none'; 'gc': Opacus per-sample clipping at C = 1 with its hooks,
which materialise per-sample gradients; 'gc-ghost': the same clipping by Opacus's ghost clipping, `grad_sample='ghost'`;
'gc-functorch': exact per-sample gradients by torch.func, `grad_sample='functorch'`, the only engine for `--loss wgan-gp`;
'gc-bk': book-keeping, `grad_sample='bk'` (per-sample norms and the clipped sum from one backward pass);
each with Gaussian noise through the privacy seam, σ for ε = 10 over 20 epochs) take `--steps` timed steps after 3
warm-up steps:
  - the discriminator step (`Trainer.d_step`: a Poisson batch of real images, as many fakes, one optimiser step),
  - a whole GAN round (`d_step` + `g_step`).
With `--precision fp32,bf16` every engine runs in each precision (`TrainConfig.precision`: bf16 autocast for the
forwards and backwards, fp32 norms, clipping, noise and optimisers; bf16 runs with 'none' and 'gc-bk' only), all
interleaved in one loop; each row's ratio is DP over the baseline in the same precision, and a last table gives each
engine's fp32/bf16 speed-up (the issue's targets on this CPU: bf16 DP step >= 2x, round >= 1.8x, DP/non-DP <= 1.2x).
Both see the same Poisson batches in expectation (q = B / N). Printed per row: median seconds per step, samples/s
(expected batch / median time), the DP/non-DP ratio of the medians, and peak memory: on CUDA
`torch.cuda.max_memory_allocated` above the start, on CPU the process's resident set sampled every 2 ms above the
level before the steps (an approximation: the allocator keeps freed pages), each in a loop of its own. The timed steps
alternate (none, gc, gc-ghost, none, ...) so a slow moment of the machine hits both.
"""
import argparse, csv, os, statistics, sys, threading, time
from pathlib import Path


def rss_bytes() -> int:
    with open('/proc/self/statm') as f: return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


class PeakRSS:
    "Peak resident set above the level at entry, sampled by a thread every `every` seconds."
    def __init__(self, every=0.002): self.every, self.peak, self.base = every, 0, 0
    def __enter__(self):
        self.base, self.peak, self._stop = rss_bytes(), rss_bytes(), False
        def watch():
            while not self._stop: self.peak = max(self.peak, rss_bytes()); time.sleep(self.every)
        self._t = threading.Thread(target=watch, daemon=True); self._t.start(); return self
    def __exit__(self, *a): self._stop = True; self._t.join(); self.peak = max(self.peak, rss_bytes())
    @property
    def above(self) -> int: return self.peak - self.base


def trainer(arch, batch, mode, device, data, loss='bce', precision='fp32'):
    "mode: 'none', 'gc' (Opacus's hooks: per-sample gradients), 'gc-ghost' (ghost clipping), 'gc-functorch' (torch.func) or 'gc-bk' (book-keeping)."
    from dpgan_nb.train import TrainConfig, Trainer
    dp_mode, _, gs = mode.partition('-')
    cfg = TrainConfig(arch=arch, batch_size=batch, epochs=20.0, dp_mode=dp_mode, target_epsilon=10.0 if dp_mode != 'none' else None,
                      delta=1e-5, max_grad_norm=1.0, g_device=device, d_device=device, seed=0, grad_sample=gs or 'hooks', loss=loss,
                      precision=precision)
    return Trainer(cfg, data)


def step_fn(tr, what):
    def one():
        tr.d_step(); tr.step += 1
        if what == 'round': tr.g_step()
    return one


def timed(trs, what, steps, device):
    "Median seconds per step of each trainer (steps interleaved across them) and each one's peak memory (a loop of its own)."
    import torch
    cuda = device.startswith('cuda')
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    fns = [step_fn(tr, what) for tr in trs]
    for f in fns:
        for _ in range(3): f()
    ts = [[] for _ in fns]; sync()
    for _ in range(steps):
        for i, f in enumerate(fns):
            t = time.perf_counter(); f(); sync(); ts[i].append(time.perf_counter() - t)
    peaks = []
    for f in fns:
        if cuda: torch.cuda.reset_peak_memory_stats(); m0 = torch.cuda.memory_allocated()
        with PeakRSS() as mem:
            for _ in range(3): f()
            sync()
        peaks.append(torch.cuda.max_memory_allocated() - m0 if cuda else mem.above)
    return [(statistics.median(t), p) for t, p in zip(ts, peaks)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--archs', default='dcgan,mlp,resnet'); ap.add_argument('--batches', default='128,512')
    ap.add_argument('--steps', type=int, default=20); ap.add_argument('--device', default='cpu')
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: as torch chooses)')
    ap.add_argument('--csv', default='results/dp_throughput.csv')
    ap.add_argument('--modes', default='none,gc,gc-ghost', help="the first is the baseline: 'none', 'gc' (hooks), 'gc-ghost' (ghost clipping), 'gc-functorch' (torch.func), 'gc-bk' (book-keeping)")
    ap.add_argument('--precision', default='fp32', help="comma-separated: 'fp32', 'bf16' (bf16 runs with modes 'none' and 'gc-bk')")
    ap.add_argument('--loss', default='bce', help="the GAN loss of every trainer: 'wgan-gp' needs DP modes 'gc-functorch' (the penalty "
                    "inside each record's clipped loss)")
    a = ap.parse_args(argv)
    import torch
    if a.threads: torch.set_num_threads(a.threads)
    from dpgan_nb.data import load_dataset
    data = load_dataset('mnist-5k')
    rows = []
    print(f"device {a.device}, torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs; "
          f"loss {a.loss}; median of {a.steps} steps after 3 warm-up; data mnist-5k (N = {len(data)})", flush=True)
    modes, precs = a.modes.split(','), a.precision.split(',')
    runs = [(m, p) for p in precs for m in modes if p == 'fp32' or m in ('none', 'gc-bk')]
    print(f"{'D':7} {'B':>4} {'what':6} {'prec':4} {'DP engine':9} {'base s':>8} {'DP s':>8} {'base img/s':>10} {'DP img/s':>9} {'ratio':>6} {'mem base':>9} {'mem DP':>8}")
    for arch in a.archs.split(','):
        for B in map(int, a.batches.split(',')):
            for what in ('d_step', 'round'):
                trs = [trainer(arch, B, m, a.device, data, a.loss, p) for m, p in runs]   # fresh ones: the same start for all
                res = dict(zip(runs, timed(trs, what, a.steps, a.device))); del trs
                for (mode, p), (t1, m1) in res.items():
                    if mode == modes[0]: continue
                    t0, m0 = res[(modes[0], p)]
                    row = dict(d=arch, batch=B, what=what, precision=p, baseline=modes[0], dp_engine=mode, loss=a.loss, nondp_s=t0, dp_s=t1,
                               nondp_img_s=B / t0, dp_img_s=B / t1, ratio=t1 / t0, nondp_peak_mib=m0 / 2**20, dp_peak_mib=m1 / 2**20,
                               device=a.device, threads=torch.get_num_threads(),
                               fp32_over_bf16=res[(mode, 'fp32')][0] / t1 if p == 'bf16' and (mode, 'fp32') in res else None,
                               base_fp32_over_bf16=res[(modes[0], 'fp32')][0] / t0 if p == 'bf16' and (modes[0], 'fp32') in res else None)
                    rows.append(row)
                    print(f"{arch:7} {B:4d} {what:6} {p:4} {mode:9} {t0:8.4f} {t1:8.4f} {B / t0:10.0f} {B / t1:9.0f} {t1 / t0:6.2f} {m0 / 2**20:7.0f}Mi {m1 / 2**20:6.0f}Mi", flush=True)
    if 'bf16' in precs and 'fp32' in precs:
        print(f"\nbf16 speed-up (fp32 seconds / bf16 seconds, same engine, same run):\n{'D':7} {'B':>4} {'what':6} {'engine':9} {'speed-up':>8}")
        for r in rows:
            if r['fp32_over_bf16'] is not None:
                print(f"{r['d']:7} {r['batch']:4d} {r['what']:6} {r['dp_engine']:9} {r['fp32_over_bf16']:8.2f}")
        seen = set()
        for r in rows:
            k = (r['d'], r['batch'], r['what'])
            if r['base_fp32_over_bf16'] is not None and k not in seen:
                seen.add(k); print(f"{r['d']:7} {r['batch']:4d} {r['what']:6} {r['baseline']:9} {r['base_fp32_over_bf16']:8.2f}")
    Path(a.csv).parent.mkdir(parents=True, exist_ok=True)
    with open(a.csv, 'w', newline='') as f:
        w = csv.DictWriter(f, list(rows[0])); w.writeheader(); w.writerows(rows)
    print(f"wrote {a.csv}")


if __name__ == '__main__': main()
