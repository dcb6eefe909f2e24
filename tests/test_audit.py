"""Empirical privacy audit (nbs/09_audit.ipynb), run by CI: the one-run bound of Steinke, Nasr & Jagielski (2023)
checked against scipy and a mechanism of known ε, then the small audit setting end to end, black box and white box
(Dirac gradient canaries against every noisy update: the honest mechanism stays below its ε, a broken one, noise at
σ/3 or canaries of norm 3C while the accountant counts σ and C, goes above).

- the p-value with δ = 0 is scipy's binomial tail; with δ > 0 it adds the paper's term (hand-computed case);
- the ε bound is 0 at chance, matches a hand-computed binomial case, and grows with the number of correct guesses;
- on randomised response at ε0 (a tight ε0-DP mechanism) the bound stays below ε0 with probability >= 1 - β and
  comes close to ε0 for many canaries;
- one training run with 128 canaries (each in with probability 1/2, nothing else in the training set), DP at ε = 1:
  the bound stays below the run's own ε; the same run without DP: the bound is clearly above that ε.
"""
import math

import numpy as np
import pytest
import torch
from scipy.stats import binom

from dpgan_nb.audit import (AuditConfig, audit, audit_summary, count_correct, draw_coins, epsilon_lower_bound,
                            one_run_audit, p_value, randomised_response)
from dpgan_nb.core import read_json


@pytest.fixture(scope='module')
def one_thread():
    "Torch on one thread: on a shared two-core machine two threads per process were measured 10-20x slower."
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize('m,r,v,eps', [(10, 10, 8, 0.), (100, 50, 30, 0.5), (1000, 400, 300, 1.3), (20, 20, 20, 2.)])
def test_p_value_without_delta_is_the_binomial_tail(m, r, v, eps):
    assert p_value(m, r, v, eps) == pytest.approx(binom.sf(v - 1, r, 1 / (1 + math.exp(-eps))), rel=1e-12)


def test_p_value_hand_computed():
    assert p_value(10, 10, 8, 0.) == pytest.approx(56 / 1024)             # P[Bin(10, 1/2) >= 8]
    # m = r = v = 2 at ε = 0: P[W = 2] + 2·2·δ·max(P[W = 1] / 1, P[W <= 1] / 2) = 1/4 + 4δ·1/2
    assert p_value(2, 2, 2, 0., 0.01) == pytest.approx(0.25 + 4 * 0.01 * 0.5)
    assert p_value(1000, 400, 300, 1.3, 1e-5) > p_value(1000, 400, 300, 1.3)


def test_bound_hand_computed_and_at_chance():
    q = 0.05 ** (1 / 10)                                                   # 10 of 10 correct: q^10 = β
    assert epsilon_lower_bound(10, 10, 10, 0.) == pytest.approx(math.log(q / (1 - q)), abs=1e-5)
    assert epsilon_lower_bound(1000, 500, 250, 1e-5) == 0.
    assert epsilon_lower_bound(1000, 500, int(binom.ppf(0.95, 500, 0.5)) - 1, 0.) == 0.   # below the 95th percentile: chance


def test_bound_monotone_in_correct_guesses():
    b = [epsilon_lower_bound(128, 64, v, 1e-5) for v in range(65)]
    assert all(x <= y for x, y in zip(b, b[1:])) and b[32] == 0 and b[-1] > 3
    for v in (40, 50, 60):                                                 # the bound is where the p-value crosses β
        e = epsilon_lower_bound(128, 64, v, 1e-5)
        assert p_value(128, 64, v, e, 1e-5) <= 0.05 < p_value(128, 64, v, e + 1e-4, 1e-5)


def test_choosing_among_guess_counts_is_paid_for():
    sc, co = np.arange(20.), np.array([-1] * 5 + [1, -1] * 5 + [1] * 5)
    one, many = one_run_audit(sc, co, 5, 5), one_run_audit(sc, co, 5, 5, choices=[(5, 5), (1, 1)])
    assert (one['guesses'], one['correct']) == (10, 10)
    assert many['epsilon_lower_bound'] == pytest.approx(epsilon_lower_bound(20, 10, 10, 0., 0.025))
    assert many['epsilon_lower_bound'] < one['epsilon_lower_bound']


def _rr_bound(m, eps0, seed, delta=1e-5):
    coins = draw_coins(m, seed)
    r, v = count_correct(randomised_response(coins, eps0, seed + 1), coins)
    return epsilon_lower_bound(m, r, v, delta)


def test_randomised_response_bound_below_and_close_to_eps0():
    trials = np.array([_rr_bound(1000, 1., s) for s in range(0, 400, 2)])   # seeded: a simulated mechanism, not the library's noise
    assert (trials >= 1.).mean() <= 0.10                                   # expected <= β = 0.05
    assert 0.7 < np.median(trials) < 1.
    assert 0.9 < _rr_bound(20_000, 1., 7) < 1.
    assert _rr_bound(1000, 0., 3) == 0.


@pytest.fixture(scope='module')
def audits(one_thread, tmp_path_factory):
    root = tmp_path_factory.mktemp('audit')
    return audit(AuditConfig.preset('nodp', runs_root=str(root))), audit(AuditConfig.preset('dp', runs_root=str(root)))


def test_dp_run_stays_below_its_epsilon(audits):
    _, dp = audits
    assert dp['claimed_epsilon'] is not None, dp['privacy']
    assert dp['epsilon_lower_bound'] < dp['claimed_epsilon'], audit_summary(dp)
    assert (dp['privacy']['accountant'], dp['privacy']['steps'], dp['privacy']['mode']) == ('rdp', 100, 'gc')
    assert dp['n_train'] == dp['n_canaries_in'] == sum(c == 1 for c in dp['coins'])


def test_nodp_run_is_clearly_above(audits):
    nodp, dp = audits
    assert nodp['claimed_epsilon'] is None and nodp['privacy']['steps'] == 100
    assert nodp['epsilon_lower_bound'] > 1.5 * dp['claimed_epsilon'], audit_summary(nodp)
    assert nodp['coins'] != dp['coins']                                    # fresh coins from OS entropy


def test_audit_json_is_written(audits):
    from pathlib import Path
    for r in audits:
        saved = read_json(Path(r['run_dir']) / 'audit.json')
        assert (saved['correct'], saved['guesses'], len(saved['scores']), len(saved['coins'])) == (r['correct'], 64, 128, 128)
        assert (Path(r['train_run']) / 'privacy.json').exists()


# --- the white-box audit: Dirac gradient canaries scored against every step's noisy update (nbs/09_audit, issue 29)
# 10,000 Dirac canaries (k_white = 500 guesses each way) beside 256 noise canaries, 25 steps at q = 1280 / 5128 ≈ 0.25, target ε = 1.
# Measured while writing it (six runs each): honest 0.27-0.47; noise at σ/3 1.20-1.38; canaries at 3C 1.27-1.46 (claims 0.997);
# the honest runs' input canaries, white box: 0-0.10. About 2 s of training each.
WHITE = dict(white_box=True, m=256, m_grad=10_000, k_white=500, steps=25, batch_size=1280)


@pytest.fixture(scope='module')
def white_audits(one_thread, tmp_path_factory):
    root = str(tmp_path_factory.mktemp('white'))
    cfg = AuditConfig(runs_root=root, **WHITE)
    return {name: audit(cfg.replace(name=name), tamper=t) for name, t in
            (('honest', None), ('noise/3', {'noise_scale': 1 / 3}), ('clip 3C', {'norm': 3.}))}


def test_white_box_honest_stays_below_its_epsilon(white_audits):
    r = white_audits['honest']; w = r['white_box']
    assert (r['privacy']['steps'], r['privacy']['accountant'], r['privacy']['mode']) == (25, 'rdp', 'gc')
    assert r['privacy']['sample_rate'] == pytest.approx(1280 / (128 + 5000))       # q fixed in advance at B / E[N]
    assert (w['m'], w['guesses'], w['steps_scored'], w['tampered']) == (10_000, 1000, 25, {})
    assert w['epsilon_lower_bound'] < r['claimed_epsilon'], audit_summary(r)
    assert r['epsilon_lower_bound'] < r['claimed_epsilon'], audit_summary(r)         # the black-box bound of the same run
    wi = r['white_box_input']                                                      # the input canaries, scored at every step too
    assert (wi['m'], wi['guesses'], wi['steps_scored']) == (256, 128, 25) and wi['epsilon_lower_bound'] < r['claimed_epsilon']


@pytest.mark.parametrize('broken', ['noise/3', 'clip 3C'])
def test_white_box_catches_a_broken_mechanism(white_audits, broken):
    "Noise at σ/3, or canaries of norm 3C, while the accountant counts σ and C: the white-box bound exceeds the claimed ε."
    r = white_audits[broken]
    assert r['privacy']['noise_multiplier'] == white_audits['honest']['privacy']['noise_multiplier']   # the accountant was not told
    assert r['white_box']['epsilon_lower_bound'] > r['claimed_epsilon'], audit_summary(r)
    assert r['white_box']['p_value_at_claim'] <= 0.05


def test_white_box_json(white_audits):
    from pathlib import Path
    r = white_audits['honest']; saved = read_json(Path(r['run_dir']) / 'audit.json')
    assert len(saved['grad_coins']) == len(saved['grad_scores']) == 10_000 and saved['white_box']['canary'] == 'dirac'
    assert saved['grad_coins'] != white_audits['noise/3']['grad_coins']              # fresh coins from OS entropy


@pytest.mark.parametrize('engine', ['hooks', 'ghost', 'functorch', 'bk'])
def test_dirac_canaries_enter_every_engine_before_the_noise(engine):
    "Whatever engine forms the clipped sum, the canaries go into it as C·e_i before the noise, and the score reads the released sum."
    from types import SimpleNamespace
    from dpgan_nb.audit import DiracCanaries
    from dpgan_nb.privacy import make_private

    def released(coins):
        torch.manual_seed(0); D = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Tanh(), torch.nn.Linear(2, 1))
        ds = torch.utils.data.TensorDataset(torch.rand(6, 3) * 2 - 1, torch.zeros(6, dtype=torch.long))
        priv = make_private(D, torch.optim.SGD(D.parameters(), lr=0.), ds, 6, noise_multiplier=1., max_grad_norm=0.3,
                            grad_sample=engine, check_input=(torch.rand(2, 3),) if engine == 'bk' else None)
        can = DiracCanaries(11, coins, 1., seed=3, noise_scale=0.)                     # 11 = all of D's coordinates
        can.attach(SimpleNamespace(priv=priv))
        x, y = priv.batch()
        if engine == 'hooks': priv.step(lambda m: m(x).pow(2).mean())
        elif engine == 'functorch': priv.step(lambda m, xb, yb: m(xb).pow(2).flatten())
        else: priv.step(lambda m: m(x).pow(2).flatten())
        return can, torch.cat([p.grad.flatten() for p in priv.params]).double() * 6, priv

    coins = np.array([1, -1] * 5 + [1])
    none, g0, _ = released(-np.ones(11, dtype=int))
    some, g1, priv = released(coins)
    want = torch.zeros(11, dtype=torch.float64); want[some.coords[coins == 1]] = 0.3
    assert torch.allclose(g1 - g0, want, atol=1e-6), (g1 - g0, want)
    assert np.allclose(some.scores, (g1[some.coords] / 0.3).numpy(), atol=1e-5)
    assert priv.accountant.history == [(1.0, 1.0, 1)]
