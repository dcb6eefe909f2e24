"""The sensitivity harness: removing (or adding) one record moves a DP step's clipped sum by at most C, for every private
mechanism the library offers.

The accountant's ε assumes that one record changes the sum of clipped per-record gradients by at most C (add/remove
neighbours). Anything else that enters a record's loss (WGAN-GP's paired fake and interpolation weight, augmentation
shifts, a VAE's reparameterisation noise) must therefore be the record's own: if it is handed out by position in the
batch from a stream the adversary can compute, removing one record changes every later record's inputs, and the sum
moves by far more than C. Each case here runs the real training code's private step (`Trainer.d_step`, and
`VAETrainer.d_step` for the DP-VAE) on a batch of records chosen by data-set index, with the DP noise set to zero and the gradient read
through the seam's test-only `probe` (before the fake term is added), then on its neighbours: the first, a middle and
the last record (in data order) removed, and one record added at the front; the global RNG is reset before each run,
as an adversary who knows the seed knows its state. It asserts ||S(B) - S(B')|| <= C (1 + 1e-4), and that the removed
record did move the sum (a check that cannot fail would be a defect).

Covered: the GAN trainer's losses (bce, hinge, wgan; wgan-gp with the penalty inside the clip) and engines (hooks,
ghost, functorch, bk) with conditioning none / cgan / acgan / wcgan, aug_mult 0 and 3 (WGAN-GP), steps 0 and 2 (what
n_critic 3 makes of a round), an MLP and a DCGAN critic (slimming's DP fine-tune and each federated client run this same
`Trainer.d_step` on a DCGAN critic), the DPMI latent GAN (MLPs on codes) and the DP-VAE. Every new private mechanism
joins this file in the commit that adds it (nbs/03_privacy says so). The cases run in float64 (so that they hold on any CPU);
the engine's float32 path is the same code. Mixed precision (precision='bf16', book-keeping, MLP and DCGAN critics) runs
in fp32 parameters, as autocast needs, with a tolerance that covers float32 kernels differing per batch shape (`TOL_BF16`);
clip_fakes (the fakes' losses in the clipped, noised batch) in both precisions.
"""
import warnings

import numpy as np
import pytest
import torch

from dpgan_nb.data import LatentDataset
from dpgan_nb.dpmi import DPMIConfig, latent_gan_models, train_latent_vae
from dpgan_nb.train import TrainConfig, Trainer, private_data

C = 0.05          # small, so that every record's gradient is clipped: each contributes a vector of norm C exactly
TOL = 1 + 1e-4
# mixed precision runs in fp32 parameters, not float64: the neighbours' batches have other sizes, and float32 kernels differ per
# shape by up to ~1e-3 relative on some CPUs (tools/numerics_stress emulates it), which moves the other records' clipped
# gradients by that much; the margin is twice that. A record whose inputs follow its position moves the sum by several C.
TOL_BF16 = 1 + 1e-4 + 2e-3
BATCH = list(range(3, 15))   # 12 records, in data order; record 0 is the one added at the front


class _Probed(Exception): "Raised by the probe: the step stops after the private gradient is formed (nothing is updated)."


def clipped_sum(priv, step, ids):
    "The private step's clipped sum (noise 0) on the records `ids`, as one float64 vector."
    got = []
    def probe(p):
        B = p.optimizer.expected_batch_size * getattr(p.optimizer, 'accumulated_iterations', 1)
        got.append(torch.cat([q.grad.detach().double().flatten() * B for q in p.params])); raise _Probed
    priv.optimizer.noise_multiplier, priv.probe = 0., probe
    priv.sampler.indices = lambda: torch.as_tensor(ids, dtype=torch.long)
    torch.manual_seed(0); np.random.seed(0)   # the global RNG: its state follows from the configuration's seed
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try: step()
        except _Probed: pass
    assert len(got) == 1, "the probe did not see the private gradient"
    return got[0]


def neighbours(ids):
    m = len(ids) // 2
    return {'first removed': ids[1:], 'middle removed': ids[:m] + ids[m + 1:], 'last removed': ids[:-1], 'one added at the front': [0] + ids}


def check(priv, step, ids=BATCH, tol=TOL):
    full = clipped_sum(priv, step, ids)
    assert full.norm() > 0.5 * C, f"the clipped sum is {full.norm():.3g}: nothing to compare"
    moved = {}
    for what, nb in neighbours(ids).items():
        d = float((full - clipped_sum(priv, step, nb)).norm())
        moved[what] = d / C
        assert d > 0.1 * C, f"{what}: the sum did not move ({d:.3g}), so this check could not fail"
    bad = {k: round(v, 5) for k, v in moved.items() if v > tol}
    assert not bad, f"one record moved the clipped sum by more than C (in units of C): {bad}"


@pytest.fixture(autouse=True)
def float64():
    "Every case in float64: the neighbours' sums come from batches of other sizes, and oneDNN's float32 kernels differ per CPU and shape by up to ~1e-3 relative (CONTRIBUTING), which would exceed the 1e-4 tolerance on some CPUs."
    old = torch.get_default_dtype(); torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.fixture(scope='module')
def data():
    d = private_data(TrainConfig.preset('tiny'))[0]
    d.images = d.images.double(); return d


def gan(data, **kw):
    cfg = TrainConfig.preset('tiny', **{'max_grad_norm': C, 'target_epsilon': None, 'noise_multiplier': 1.0, **kw})
    return Trainer(cfg, data=data)


CONDS = {'none': dict(conditional=False), 'cgan': dict(conditional=True, cond='cgan'),
         'acgan': dict(conditional=True, cond='acgan'), 'wcgan': dict(conditional=True, cond='wcgan')}
CASES = [(loss, engine, cond) for loss in ('bce', 'hinge', 'wgan') for engine in ('hooks', 'ghost', 'functorch', 'bk') for cond in CONDS]


@pytest.mark.parametrize('loss,engine,cond', CASES, ids=[f'{l}-{e}-{c}' for l, e, c in CASES])
def test_gan_step(data, loss, engine, cond):
    try: tr = gan(data, loss=loss, grad_sample=engine, **CONDS[cond])
    except ValueError as e: pytest.skip(f"refused by design: {e}")   # e.g. an engine that cannot follow a layer says so
    check(tr.priv, tr.d_step)


@pytest.mark.parametrize('aug_mult', [0, 3])
@pytest.mark.parametrize('cond', ['none', 'cgan'])
@pytest.mark.parametrize('step', [0, 2])
def test_wgan_gp_step(data, aug_mult, cond, step):
    "DP WGAN-GP: each record's whole critic loss (real, paired fake, penalty at its interpolation, K views) inside its clip."
    tr = gan(data, loss='wgan-gp', grad_sample='auto', aug_mult=aug_mult, n_critic=3, **CONDS[cond])
    assert tr.engine == 'functorch'
    tr.step = step
    check(tr.priv, tr.d_step)


@pytest.mark.parametrize('loss,engine', [('bce', 'hooks'), ('bce', 'bk'), ('wgan-gp', 'functorch')])
def test_dcgan_critic_step(data, loss, engine):
    "A convolutional critic (DCGAN, as slimming's fine-tune and the federated clients train)."
    tr = gan(data, arch='dcgan', ngf=4, ndf=4, latent_dim=8, loss=loss, grad_sample=engine, conditional=True, aug_mult=2 if loss == 'wgan-gp' else 0)
    check(tr.priv, tr.d_step)


def _codes(n=64, d=8, k=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    ds = LatentDataset(torch.randn(n, d, generator=g), torch.arange(n) % k); ds.codes = ds.codes.double()   # float64, as every case
    return ds


def test_dpmi_latent_gan_step():
    "DPMI's latent DP-GAN: MLPs on a public model's codes, trained by the same Trainer."
    codes = _codes()
    cfg = DPMIConfig.preset('tiny', max_grad_norm=C, target_epsilon=None, noise_multiplier=1.0)
    tcfg = TrainConfig(arch='mlp', latent_dim=cfg.noise_dim, conditional=cfg.conditional, g_ema=0., ms_weight=0., dp_mode='gc', target_epsilon=None,
                       noise_multiplier=1.0, max_grad_norm=C, epochs=1., batch_size=12, lr_g=cfg.lr, lr_d=cfg.lr, seed=0)
    tr = Trainer(tcfg, data=codes, models=latent_gan_models(cfg, codes.num_classes))
    check(tr.priv, tr.d_step)


@pytest.mark.parametrize('conditional', [False, True])
def test_dp_vae_step(conditional, tmp_path):
    "The DP-VAE (a `VAETrainer` in the one trainer): each record's reparameterisation noise is its own (it was a row of the seeded global generator's draw)."
    cfg = DPMIConfig.preset('tiny', latent_model='vae', max_grad_norm=C, target_epsilon=None, noise_multiplier=1.0, conditional=conditional,
                            batch_size=12)
    tr = train_latent_vae(cfg, _codes(), tmp_path, progress_bar=False, dry_run=True)
    assert isinstance(tr, Trainer) and not tr.has_generator_step
    check(tr.priv, tr.d_step)


@pytest.fixture(scope='module')
def data32():
    return private_data(TrainConfig.preset('tiny'))[0]


BF16_CASES = [('mlp', 'none'), ('mlp', 'cgan'), ('dcgan', 'cgan'), ('dcgan', 'acgan')]


@pytest.mark.parametrize('arch,cond', BF16_CASES, ids=[f'{a}-{c}' for a, c in BF16_CASES])
def test_bf16_step(data32, arch, cond):
    """Mixed precision (precision='bf16', book-keeping): the forward and the backward to the layers' outputs in bfloat16,
    every norm, clip factor and sum in fp32 from the very widened tensors that are summed. Run in fp32 parameters (autocast
    widens from them), so the tolerance is fp32's: the neighbours' batches have other sizes and oneDNN's kernels differ per
    shape, in bfloat16 by a rounding of the layers' outputs, which moves the other records' clipped gradients."""
    old = torch.get_default_dtype(); torch.set_default_dtype(torch.float32)
    try:
        kw = dict(arch='dcgan', ngf=4, ndf=4, latent_dim=8) if arch == 'dcgan' else {}
        tr = gan(data32, precision='bf16', grad_sample='bk', **kw, **CONDS[cond])
        assert tr.precision == 'bf16' and tr.engine == 'bk' and tr.priv.autocast is torch.bfloat16
        check(tr.priv, tr.d_step, tol=TOL_BF16)
    finally: torch.set_default_dtype(old)


CLIP_FAKES = [(loss, cond, prec) for loss in ('bce', 'hinge') for cond in ('none', 'cgan', 'acgan') for prec in ('fp32', 'bf16')]


@pytest.mark.parametrize('loss,cond,prec', CLIP_FAKES, ids=[f'{l}-{c}-{p}' for l, c, p in CLIP_FAKES])
def test_clip_fakes_step(data, data32, loss, cond, prec):
    "clip_fakes: the fakes' per-sample losses join the reals' in one clipped, noised sum; the fakes are no records, so one real record still moves it by at most C."
    old = torch.get_default_dtype()
    if prec == 'bf16': torch.set_default_dtype(torch.float32)
    try:
        tr = gan(data32 if prec == 'bf16' else data, loss=loss, grad_sample='bk', clip_fakes=True, precision=prec, **CONDS[cond])
        check(tr.priv, tr.d_step, tol=TOL_BF16 if prec == 'bf16' else TOL)
    finally: torch.set_default_dtype(old)
