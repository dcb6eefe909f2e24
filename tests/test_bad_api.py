"""Bad input to the Python API, as a notebook user passes it: each case raises the stated exception with a message
that names the value, and leaves nothing new in its folder. Table-driven, like tests/test_bad_inputs.py (the CLI's).
Also a full disk (a write that fails with ENOSPC, mocked: CI has no small tmpfs to fill): `train` reports it,
leaves no run folder, and `dpgan train` turns it into one line and exit 2."""
import contextlib, errno, io, os, pickle, warnings
from pathlib import Path

import pytest
import torch

from dpgan_nb.data import ImageDataset, load_dataset, read_idx, load_image_folder
from dpgan_nb.privacy import make_private
from dpgan_nb.train import TrainConfig, Trainer, train, load_checkpoint, export

def cfg(d, **kw): return TrainConfig.preset('tiny', runs_root=str(d.parent/'runs'), **kw)   # beside the case's folder
def images(x, n=8): return ImageDataset(torch.full((n, 1, 28, 28), x), torch.zeros(n))

class Evil:  # unpickling this would run `touch PWNED`
    def __reduce__(self): return (os.system, ('touch PWNED',))

def bad_idx(d):
    f = d/'x-idx3-ubyte'; f.write_bytes(b'\x08\x03\x00\x00' + bytes(16)); return f
def broken_png(d):
    (d/'imgs'/'0').mkdir(parents=True); (d/'imgs'/'0'/'a.png').write_text('no picture'); return d/'imgs'
def evil_checkpoint(d):
    (d/'ck.pt').write_bytes(pickle.dumps(Evil())); return d/'ck.pt'

BN_D = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 1))

# (id, function of the case's folder d, exception type, what the message must say)
CASES = [
    ('config-epsilon-0', lambda d: cfg(d, target_epsilon=0.), ValueError, 'target_epsilon must be > 0, got 0.0'),
    ('config-epsilon-negative', lambda d: cfg(d, target_epsilon=-3.), ValueError, 'target_epsilon must be > 0'),
    ('config-delta-1', lambda d: cfg(d, delta=1.), ValueError, 'delta must be in (0, 1), got 1.0'),
    ('config-delta-above-1', lambda d: cfg(d, delta=2.), ValueError, 'delta must be in (0, 1), got 2.0'),
    ('config-sigma-0', lambda d: cfg(d, noise_multiplier=0., target_epsilon=None), ValueError, 'noise_multiplier must be > 0 under DP'),
    ('config-lr-nan', lambda d: cfg(d, lr_d=float('nan')), ValueError, 'lr_d=nan'),
    ('config-batch-0', lambda d: cfg(d, batch_size=0), ValueError, 'batch_size must be > 0, got 0'),
    ('config-unknown-accountant', lambda d: cfg(d, accountant='gdp'), ValueError, "unknown accountant 'gdp'; known: rdp, prv"),
    ('config-unknown-loss', lambda d: cfg(d, loss='hinge2'), ValueError, "unknown loss 'hinge2'"),
    ('config-unknown-field', lambda d: TrainConfig.from_dict({'epochz': 3}), ValueError, 'epochz'),
    ('train-unknown-model', lambda d: train(cfg(d, arch='transformer'), dry_run=True), ValueError, "unknown arch 'transformer'"),
    ('train-unknown-activation', lambda d: train(cfg(d, g_activation='swishy'), dry_run=True), ValueError, "unknown activation 'swishy'"),
    ('train-unknown-dataset', lambda d: train(cfg(d, dataset='cifar-100'), dry_run=True), ValueError, "unknown data set 'cifar-100'"),
    ('train-batch-above-n', lambda d: train(cfg(d, batch_size=300), dry_run=True), ValueError, 'batch_size must be in [1, 256] for 256 samples, got 300'),
    ('train-empty-data', lambda d: train(cfg(d), data=images(0., n=0), dry_run=True), ValueError, 'dataset size must be positive, got 0'),
    ('train-batchnorm-discriminator', lambda d: train(cfg(d, arch='dcgan', d_norm='batch'), dry_run=True), ValueError, "norm 'batch' mixes the samples"),
    ('seam-batchnorm', lambda d: make_private(BN_D, torch.optim.SGD(BN_D.parameters(), .1), images(0., 32), 16, 'gc', 1.), ValueError, 'BatchNorm'),
    ('data-nan-images', lambda d: images(float('nan')), ValueError, 'NaN or infinite'),
    ('data-images-out-of-range', lambda d: images(255.), ValueError, 'must lie in [-1, 1], got values in [255, 255]'),
    ('data-wrong-shape', lambda d: ImageDataset(torch.zeros(4, 28, 28), torch.zeros(4)), ValueError, 'images must be (N, C, H, W), got shape (4, 28, 28)'),
    ('data-labels-mismatch', lambda d: ImageDataset(torch.zeros(4, 1, 2, 2), torch.zeros(3)), ValueError, '4 images but 3 labels'),
    ('data-unknown', lambda d: load_dataset('cifar-100'), ValueError, "unknown data set 'cifar-100'"),
    ('data-idx-bad-magic', lambda d: read_idx(bad_idx(d)), ValueError, 'bad magic number 0x08030000'),
    ('data-folder-missing', lambda d: load_image_folder(d/'nowhere'), FileNotFoundError, 'nowhere does not exist'),
    ('data-folder-not-an-image', lambda d: load_image_folder(broken_png(d)), ValueError, 'a.png is not an image that can be read'),
    ('checkpoint-malicious-pickle', lambda d: load_checkpoint(Trainer(cfg(d), callbacks=[]), evil_checkpoint(d)), pickle.UnpicklingError, 'Weights only load failed'),
    ('checkpoint-missing', lambda d: load_checkpoint(Trainer(cfg(d), callbacks=[]), d/'none.pt'), FileNotFoundError, 'none.pt does not exist'),
    ('export-missing-run', lambda d: export(d/'nowhere', d/'bundle'), FileNotFoundError, 'nowhere'),
]


def tree(d): return {p.relative_to(d) for p in d.rglob('*')}


@pytest.mark.parametrize('name,fn,exc,says', CASES, ids=[c[0] for c in CASES])
def test_bad_api_input(tmp_path, monkeypatch, name, fn, exc, says):
    monkeypatch.chdir(tmp_path)
    (tmp_path/'case').mkdir(); d = tmp_path/'case'
    made_by_setup = set()
    with pytest.raises(exc) as e:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            fn(d)
    assert says in str(e.value), f'{name}: {e.value}'
    made = tree(tmp_path) - {Path('case')} - {Path('case')/p for p in tree(d)}   # outside the files the case set up in d: nothing
    assert not made and not (tmp_path/'PWNED').exists(), f'{name} left {sorted(map(str, made))}'


def test_enough_api_cases(): assert len(CASES) >= 25


def test_delta_above_one_over_n_warns(tmp_path):
    with pytest.warns(UserWarning, match='1/N'): train(cfg(tmp_path/'case', delta=0.01), dry_run=True)   # N = 256 > 1/0.01
    assert not (tmp_path/'runs').exists()


def _full_disk(monkeypatch, err=errno.ENOSPC):
    "Every text write fails as on a full disk (ENOSPC) or in a folder we may not write to (EACCES), naming the file."
    def boom(self, *a, **k): raise (PermissionError if err == errno.EACCES else OSError)(err, os.strerror(err), str(self))
    monkeypatch.setattr(Path, 'write_text', boom)


def test_unwritable_folder_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    "Root ignores folder permissions (the tests run as root here), so the refusal is mocked."
    from dpgan_nb.cli import main
    _full_disk(monkeypatch, errno.EACCES)
    rc = main(['train', '--preset', 'tiny', '--runs-root', str(tmp_path/'runs'), '--name', 'ro'])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and 'Permission denied' in err and 'config.json' in err, err
    assert not (tmp_path/'runs'/'ro').exists()


def test_full_disk_at_the_start_leaves_no_run_folder(tmp_path, monkeypatch):
    c = cfg(tmp_path/'case', name='disk')
    _full_disk(monkeypatch)
    with pytest.raises(OSError) as e: train(c, progress_bar=False)
    assert e.value.errno == errno.ENOSPC and 'config.json' in str(e.value)
    assert not (tmp_path/'runs'/'disk').exists()


def test_full_disk_is_one_line_and_exit_2_from_the_cli(tmp_path, monkeypatch, capsys):
    from dpgan_nb.cli import main
    _full_disk(monkeypatch)
    rc = main(['train', '--preset', 'tiny', '--runs-root', str(tmp_path/'runs'), '--name', 'disk'])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and 'No space left on device' in err and 'config.json' in err, err
    assert 'Traceback' not in err and not (tmp_path/'runs'/'disk').exists()
