"""The private sample really is Poisson: what the accountant assumes (every record in each step's batch independently with
probability q, independently across steps, unpredictable from the configuration) is what `make_private`'s sampler draws,
and what the trainer trains on.

Statistical tests use a fixed significance. Each test below makes K goodness-of-fit checks at ALPHA / K, so a correct
sampler fails a given test in about 1 of 1000 runs (ALPHA = 1e-3), and this file in about 3 of 1000 (three statistical
tests). The samples come from OS entropy, as in training, so a failure is not reproducible by seed: rerun; a real defect
(fixed batch sizes, epochs without replacement, repeated or correlated samples) fails every time, with p-values far below.
"""
import math

import numpy as np
import pytest
import torch
from scipy import stats

from dpgan_nb.data import ImageDataset
from dpgan_nb.privacy import PoissonSampler, make_private

ALPHA = 1e-3
N, Q, M = 200, 0.05, 4000  # records, sample rate, samples drawn


def toy_data(n=N):
    g = torch.Generator().manual_seed(0)
    return ImageDataset(torch.rand(n, 1, 4, 4, generator=g) * 2 - 1, torch.arange(n) % 10)


def private(n=N, q=Q, **kw):
    "A PrivateDiscriminator as training builds it (dp mode 'gc'), on `n` toy records with expected batch q·n."
    torch.manual_seed(0)
    D = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 1))
    return make_private(D, torch.optim.SGD(D.parameters(), 0.1), toy_data(n), round(q * n), 'gc', 1.0, 1.0, **kw)


def draws(sampler, m=M)->np.ndarray:
    "(m, n) inclusion indicators of the sampler's next m samples."
    X = np.zeros((m, sampler.n), dtype=bool)
    for t in range(m):
        idx = sampler.indices().numpy()
        assert len(np.unique(idx)) == len(idx), "a record drawn twice in one sample"
        X[t, idx] = True
    return X


@pytest.fixture(scope='module')
def X():
    return draws(private().sampler)


def test_batch_sizes_are_binomial(X):
    "Batch sizes ~ Binomial(N, q): chi-square goodness of fit (tails merged to >= 5 expected) and lag-1 correlation of sizes."
    sizes = X.sum(1)
    K = 2
    # bins: k_lo-or-fewer, each k in between, k_hi-or-more, with k_lo/k_hi the outermost values with >= 5 expected
    pmf = stats.binom.pmf(np.arange(N + 1), N, Q)
    ok = np.nonzero(pmf * M >= 5)[0]; lo, hi = ok[0], ok[-1]
    expected = np.r_[pmf[:lo + 1].sum(), pmf[lo + 1:hi], pmf[hi:].sum()] * M
    observed = np.r_[(sizes <= lo).sum(), [(sizes == k).sum() for k in range(lo + 1, hi)], (sizes >= hi).sum()]
    p_fit = stats.chisquare(observed, expected).pvalue
    p_lag = stats.pearsonr(sizes[:-1], sizes[1:]).pvalue
    assert p_fit > ALPHA / K, (p_fit, dict(zip(range(lo, hi + 1), observed)))
    assert p_lag > ALPHA / K, p_lag
    assert sizes.min() < N * Q < sizes.max()  # sizes vary (a fixed batch size B fails p_fit with p ~ 0)


def test_every_record_is_included_with_probability_q(X):
    """Per-record counts ~ Binomial(M, q), independently: their dispersion (two-sided: a sampler that deals each record once
    per epoch, as shuffle + drop_last does, is UNDER-dispersed) and the most extreme record (Bonferroni over N records)."""
    c = X.sum(0)
    K = 2
    D = ((c - M * Q) ** 2 / (M * Q * (1 - Q))).sum()  # ~ chi-square with N degrees of freedom
    p_disp = 2 * min(stats.chi2.sf(D, N), stats.chi2.cdf(D, N))
    p_ext = min(1., N * 2 * min(stats.binom.cdf(c.min(), M, Q), stats.binom.sf(c.max() - 1, M, Q)))
    assert p_disp > ALPHA / K, (p_disp, D)
    assert p_ext > ALPHA / K, (p_ext, c.min(), c.max(), M * Q)


def test_samples_are_independent(X):
    """Inclusion of a record at step t and t+1 uncorrelated (pooled over records), and of neighbouring records within a
    step (a sampler of contiguous blocks fails it); z-tests on the Pearson correlation."""
    K = 2
    def p_corr(a, b):
        r = np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1]
        return 2 * stats.norm.sf(abs(r) * math.sqrt(a.size))
    p_time, p_rec = p_corr(X[:-1], X[1:]), p_corr(X[:, :-1], X[:, 1:])
    assert p_time > ALPHA / K, p_time
    assert p_rec > ALPHA / K, p_rec


def test_same_configuration_gives_different_samples():
    "Two samplers built the same way (same seed, same everything) draw different samples: their randomness is OS entropy."
    a, b = private(seed=0), private(seed=0)
    A, B = [a.sampler.indices() for _ in range(5)], [b.sampler.indices() for _ in range(5)]
    # two independent Poisson samples of 200 records at q = 0.05 coincide with probability 0.905^200 ~ 2e-9
    assert all(not torch.equal(x, y) for x, y in zip(A, B))
    # a bare PoissonSampler is seeded from OS entropy too
    s1, s2 = PoissonSampler(toy_data(), Q), PoissonSampler(toy_data(), Q)
    assert not all(torch.equal(s1.indices(), s2.indices()) for _ in range(5))
    # control: the debugging mode seeded from the config does repeat, so the comparison above can see sameness
    r1, r2 = private(seed=0, reproducible=True), private(seed=0, reproducible=True)
    assert all(torch.equal(r1.sampler.indices(), r2.sampler.indices()) for _ in range(5))
    assert not r1.holds_given_config and a.holds_given_config


def test_restoring_the_generator_state_replays_exactly():
    "rng_state() -> load_rng_state() replays the same samples and noise, also into a freshly built (differently seeded) one."
    a = private()
    for _ in range(3): a.sampler.indices()
    state = a.rng_state()
    first = [a.sampler.indices() for _ in range(10)]
    noise = torch.randn(5, generator=a.noise_generator)
    a.load_rng_state(state)
    assert all(torch.equal(x, y) for x, y in zip(first, [a.sampler.indices() for _ in range(10)]))
    assert torch.equal(noise, torch.randn(5, generator=a.noise_generator))
    b = private()
    assert not all(torch.equal(x, y) for x, y in zip(first, [b.sampler.indices() for _ in range(10)]))
    b.load_rng_state(state)
    assert all(torch.equal(x, y) for x, y in zip(first, [b.sampler.indices() for _ in range(10)]))


def test_trainer_trains_on_exactly_the_poisson_samples(monkeypatch):
    """No hidden drop_last/shuffle path: a tiny gc Trainer's private batches are exactly what its sampler drew, sizes vary,
    empty samples are steps the accountant counts, and no torch DataLoader is ever built."""
    import torch.utils.data as tud
    def no_loader(*a, **k): raise AssertionError("a torch DataLoader was built: private batches must come from the Poisson sampler")
    monkeypatch.setattr(tud.DataLoader, '__init__', no_loader)
    from dpgan_nb.train import TrainConfig, Trainer
    # B = 2 (the generator's BatchNorm needs fake batches of two), q = 2/1024: P(empty sample) = (1 - q)^N ~ e^-2 = 0.135,
    # so ~13 of the T = 100 steps have an empty batch (none at all: p = 0.865^100 ~ 5e-7)
    cfg = TrainConfig.preset('tiny', max_samples=1024, batch_size=2, epochs=100 * 2 / 1024, dp_mode='gc', noise_multiplier=1.0,
                             target_epsilon=None)
    tr = Trainer(cfg, callbacks=[])
    s = tr.priv.sampler
    assert s.dataset is tr.data and s.n == len(tr.data) == 1024 and s.sample_rate == 2 / 1024
    drawn, real_inputs = [], []
    draw = s.indices
    def recording_draw():
        idx = draw(); drawn.append(idx.clone()); return idx
    monkeypatch.setattr(s, 'indices', recording_draw)
    step = tr.priv.step
    def recording_step(real_loss_fn, fake_loss_fn=None):
        def spy(m):  # what the discriminator sees as the real (private) batch
            class Spy(torch.nn.Module):
                def forward(self, x, y=None): real_inputs.append((len(drawn), x.detach().cpu().clone())); return m(x, y)
            return real_loss_fn(Spy())
        return step(spy, fake_loss_fn)
    monkeypatch.setattr(tr.priv, 'step', recording_step)
    tr.fit()
    T = 100
    sizes = [len(i) for i in drawn]
    assert tr.step == T and len(drawn) == T, (tr.step, len(drawn))  # one Poisson sample per private step, none skipped
    assert sum(h[2] for h in tr.priv.accountant.history) == T  # empty samples are counted steps too
    assert 0 in sizes and len(set(sizes)) > 1, sizes
    # each non-empty sample was trained on, exactly those records, in that order; empty ones never reached the loss
    nonempty = [t for t, k in enumerate(sizes) if k]
    assert [t for t, _ in real_inputs] == [t + 1 for t in nonempty]
    for (t, x) in real_inputs:
        assert torch.equal(x, tr.data.images[drawn[t - 1]]), t
