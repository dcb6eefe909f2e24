"""Adaptive clipping spends what the accountant records (issue 29, finding 3).

`clip_mode='adaptive'` releases per step the noised clipped sum and a noised count of unclipped records, from which the
clip bound moves (the bound is visible in every later update). Andrew et al. 2021 (Theorem 1) compose the two as one
Gaussian mechanism of multiplier (σ_g⁻² + (Δ_u / σ_u)²)^−½, where Δ_u is the count's sensitivity: ½ for the centred
count Σᵢ (bᵢ − ½). Opacus 1.6's AdaClip draws σ_g for a centred count but releases the raw count (Δ_u = 1) divided by the
actual batch size, and the accountant records the budget's σ.

These tests measure the mechanism from outside, as an adversary would: Δ_u from neighbouring batches with the noise
switched off (in units of the expected batch size B, the public scale of the released fraction; the worst over batches
of B/2, B and 2B records), σ_g from the noise of a step whose per-sample gradients are zero, σ_u as configured, and
compute ε directly with Opacus's RDP functions on the composed multiplier (N = 256, B = 32, T = 8, δ = 1e-5: the tiny
preset). On the old code: Δ_u = 2 and a direct ε of 15.45 against the reported 9.996 (11.09 for Δ_u = 1, batches of the
expected size). Now: Δ_u = ½ and a direct ε of 9.95-10.0 (σ_g is measured to about 0.5 %).
"""
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent
from opacus.accountants.rdp import RDPAccountant
from dpgan_nb.privacy import make_private, noise_for, num_steps, sample_rate

DELTA = 1e-5


def adaptive(n, b, sigma, dim=2, out=1, **kw):
    torch.manual_seed(0)
    ds = TensorDataset(torch.randn(n, dim, dtype=torch.float64), torch.zeros(n, dtype=torch.long))
    D = nn.Linear(dim, out, bias=False).double()
    return make_private(D, torch.optim.SGD(D.parameters(), lr=0.0), ds, b, 'gc', sigma, 1.0, clip_mode='adaptive', **kw)


def released_fraction(priv, x) -> float:
    "The unclipped fraction the clip's update used on batch x, read off the released clip bound (noise off)."
    o = priv.optimizer; c0 = float(o.max_grad_norm)
    priv._batch_len = len(x)
    priv.step(lambda m: m(x).sum(1).mean())
    return o.target_unclipped_quantile - math.log(float(o.max_grad_norm) / c0) / o.clipbound_learning_rate


def count_sensitivity(b=16) -> float:
    "The largest change of B × the released fraction when one record is removed, over batches of B/2, B and 2B records."
    worst = 0.
    for n in (b // 2, b, 2 * b):
        x = torch.cat([torch.tensor([[0.1, 0.]]), torch.full((n - 1, 1), 3.) @ torch.tensor([[1., 0.]])]).double()  # record 0 alone unclipped at C = 1
        fr = []
        for batch in (x, x[1:]):  # neighbours: with and without the unclipped record
            priv = adaptive(64, b, 1e-6)
            priv.optimizer.unclipped_num_std = 1e-6  # noise off (σ < 2σ_u still holds)
            fr.append(released_fraction(priv, batch))
        worst = max(worst, abs(fr[0] - fr[1]) * b)
    return worst


def test_count_sensitivity_is_half():
    assert count_sensitivity() <= 0.5 * (1 + 1e-4)  # old code: 2.0 (raw count over the actual batch of B/2)


def test_epsilon_is_the_composed_mechanisms():
    N, B, T = 256, 32, num_steps(1, 256, 32)
    q = sample_rate(N, B); sigma = noise_for(10, q, T, DELTA, 'rdp')
    priv = adaptive(N, B, sigma, dim=400, out=250)  # 100,000 weights: σ_g measured to about 0.5 %
    o = priv.optimizer; c0 = float(o.max_grad_norm)
    x = torch.zeros(B, 400, dtype=torch.float64); priv._batch_len = B
    priv.step(lambda m: m(x).sum(1).mean())  # zero per-sample gradients: p.grad is the noise / B
    sigma_g = float(next(priv.module.parameters()).grad.std()) * B / c0
    for _ in range(T - 1): xb, _ = priv.batch(); priv.step(lambda m: m(xb).sum(1).mean())
    assert priv.steps == T
    composed = (sigma_g ** -2 + (count_sensitivity() / o.unclipped_num_std) ** 2) ** -0.5
    orders = RDPAccountant.DEFAULT_ALPHAS
    eps_direct = get_privacy_spent(orders=orders, rdp=compute_rdp(q=q, noise_multiplier=composed, steps=T, orders=orders), delta=DELTA)[0]
    eps_reported = priv.epsilon(DELTA)
    print(f"sigma {sigma:.4f}, sigma_g {sigma_g:.4f}, sigma_u {o.unclipped_num_std}, composed {composed:.4f}: "
          f"reported eps {eps_reported:.3f}, direct RDP {eps_direct:.3f}")
    assert eps_direct == pytest.approx(eps_reported, rel=0.02)  # old code: 11.09 against 9.996
