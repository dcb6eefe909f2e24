"""Sweep training recipes for the DP demo (ε = 10, δ = 1e-5, mnist-5k) and score them.

Score: a small CNN trained on the real *training* split of mnist-5k labels 1,000 generated digits;
we print its mean confidence, the number of classes it sees (of 10), and a classifier score
exp(E[KL(p(y|x) || p(y))]) (an Inception-score analogue on MNIST; 10 is the maximum). This is a
quick ranking proxy for choosing the demo recipe, not the library's metrics (see 05_metrics).

Usage: python benchmarks/demo_sweep.py OUT_DIR [--only i,j] [--device cuda]
"""
import argparse, json, sys, time
from pathlib import Path
import torch, torch.nn as nn, torch.nn.functional as F
from dpgan_nb.train import TrainConfig, train, private_data
from dpgan_nb.data import save_grid

def classifier(train_ds, dev, epochs=8):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 32, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, 1, 1), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 49, 128), nn.ReLU(), nn.Linear(128, 10)).to(dev)
    opt = torch.optim.Adam(net.parameters(), 1e-3); x, y = train_ds.images.to(dev), train_ds.labels.to(dev)
    for _ in range(epochs):
        for i in torch.randperm(len(x)).split(64):
            opt.zero_grad(); F.cross_entropy(net(x[i]), y[i]).backward(); opt.step()
    return net.eval()

@torch.no_grad()
def score(net, imgs, dev):
    p = F.softmax(net(imgs.to(dev)), 1); py = p.mean(0)
    kl = (p * (p.clamp_min(1e-12).log() - py.clamp_min(1e-12).log())).sum(1).mean()
    return dict(conf=round(p.max(1).values.mean().item(), 3), classes=int((torch.bincount(p.argmax(1), minlength=10) >= 20).sum()),
                cscore=round(kl.exp().item(), 2))

RECIPES = [
    dict(),
    dict(batch_size=128, epochs=20),
    dict(batch_size=256, epochs=30, lr_d=1e-3, lr_g=1e-3),
    dict(batch_size=128, epochs=20, lr_d=5e-4, lr_g=5e-4),
    dict(batch_size=128, epochs=20, ndf=16),
    dict(batch_size=128, epochs=20, n_gen=2),
    dict(batch_size=128, epochs=20, conditional=True, cond='cgan'),
    dict(batch_size=128, epochs=20, conditional=True, cond='acgan'),
    dict(batch_size=64, epochs=10, lr_d=5e-4, lr_g=5e-4, beta1=0.5),
    dict(batch_size=128, epochs=20, max_grad_norm=0.1),
    dict(batch_size=128, epochs=20, loss='hinge'),
    dict(batch_size=128, epochs=20, label_smoothing=0.1, lr_g=5e-4),
    dict(batch_size=256, epochs=40, lr_d=5e-4, lr_g=5e-4, n_gen=2),
    dict(batch_size=128, epochs=20, d_norm='none'),
    dict(batch_size=128, epochs=20, arch='mlp'),
    dict(dp_mode='none', target_epsilon=None),
]

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('out'); ap.add_argument('--only', default=None)
    ap.add_argument('--device', default='auto'); ap.add_argument('--recipes', default=None, help='JSON list of overrides')
    a = ap.parse_args(); out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    recipes = json.loads(a.recipes) if a.recipes else RECIPES
    idx = [int(i) for i in a.only.split(',')] if a.only else range(len(recipes))
    dev = torch.device('cuda' if a.device == 'auto' and torch.cuda.is_available() else 'cpu' if a.device == 'auto' else a.device)
    tr_ds, _ = private_data(TrainConfig()); net = classifier(tr_ds, dev)
    print('real data:', score(net, tr_ds.images[:1000], dev), flush=True)
    for i in idx:
        r = recipes[i]; t = time.time()
        cfg = TrainConfig.preset('demo', runs_root=str(out/'runs'), name=f'r{i}', g_device=str(dev), log_every=50, sample_every=10**9, **r)
        trn = train(cfg, resume=False, progress_bar=False)
        imgs = trn.sample(1000)
        save_grid(imgs[:100], out/f'r{i}.png', title=f'r{i} {r}'[:90])
        rep = trn.report()
        print(json.dumps(dict(i=i, recipe=r, eps=rep.epsilon, sigma=round(rep.noise_multiplier, 3), steps=rep.steps,
                              secs=round(time.time() - t, 1), **score(net, imgs, dev))), flush=True)
