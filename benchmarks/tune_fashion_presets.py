"""Choose the `fashion` presets' settings on another data set than Fashion-MNIST (issue 29, finding 6).

The `fashion` (ε = 10) and `fashion-eps1` (ε = 1) presets were chosen by benchmark runs on Fashion-MNIST's whole
training split, a selection their ε did not count. Here each of their tuned settings is compared, one change at a
time, by DP runs on **mnist-5k** (its 4,000 training images; δ = 1e-5, RDP accountant), each scored by
`benchmarks/utility.py` against mnist-5k's 1,000 held-out images: the library's SmallCNN trained on 10,000 balanced
samples of the last checkpoint, classifier-FID and k-NN precision/recall of 1,000 samples in the packaged MNIST
classifier's features. No Fashion-MNIST record is used, so the choice costs a Fashion-MNIST run no ε; a mnist-5k run
that keeps these values is told so (`PRESET_TUNINGS`). The rule, fixed before these runs: the highest accuracy;
within 1 point of it, the lower FID; then the shorter training.

    python benchmarks/tune_fashion_presets.py [--runs-root runs/tune_fashion] [--csv results/tune_fashion.csv] [--only 0,2]
"""
import argparse
from tune_demo import score   # one scored DP run through benchmarks/utility.py

TRIALS = [  # (preset, ε, one change from it)
    ('fashion', 10, ''), ('fashion', 10, 'aug_mult=0'), ('fashion', 10, 'g_upsample=transpose'), ('fashion', 10, 'loss=bce aug_mult=0'),
    ('fashion-eps1', 1, ''), ('fashion-eps1', 1, 'batch_size=256'), ('fashion-eps1', 1, 'aug_mult=4'),
]

def main(argv=None):
    ap = argparse.ArgumentParser(); ap.add_argument('--runs-root', default='runs/tune_fashion'); ap.add_argument('--csv', default='results/tune_fashion.csv')
    ap.add_argument('--only', default=None, help='comma-separated indices of TRIALS')
    a = ap.parse_args(argv)
    for i in ([int(i) for i in a.only.split(',')] if a.only else range(len(TRIALS))):
        preset, eps, change = TRIALS[i]
        score('mnist-5k', preset, eps, change, a.runs_root, a.csv)

if __name__ == '__main__': main()
