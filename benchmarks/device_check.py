"""Check the engine on accelerators: generator and discriminator on different devices, every DP mode.
Prints one line per configuration (steps, epsilon, seconds). Usage: python benchmarks/device_check.py"""
import tempfile, time, torch
from dpgan_nb.train import TrainConfig, train
tmp = tempfile.mkdtemp()
dev = 'cuda:0' if torch.cuda.is_available() else 'cpu'
for kw in [dict(g_device=dev, d_device='cpu'), dict(g_device='cpu', d_device=dev), dict(g_device=dev),
           dict(g_device=dev, arch='dcgan', conditional=True, cond='acgan', ngf=8, ndf=8),
           dict(g_device=dev, arch='mlp', loss='wgan', dp_mode='wc', conditional=True, cond='wcgan', noise_multiplier=1.0, target_epsilon=None),
           dict(g_device=dev, dp_mode='is', noise_multiplier=1.0, target_epsilon=None),
           dict(g_device=dev, clip_mode='adaptive'),
           dict(g_device=dev, loss='hinge', g_ema=0.9)]:
    t = time.time()
    tr = train(TrainConfig.preset('tiny', runs_root=tmp, name='x', **kw), resume=False, progress_bar=False)
    r = tr.report(); s = tr.sample(4)
    print(kw, 'steps', tr.step, 'eps', r.epsilon, 'heuristic', r.heuristic_epsilon, 'sample', tuple(s.shape), f'{time.time()-t:.1f}s', flush=True)
