"""grad_sample='auto' does not pick book-keeping for a discriminator whose weight is used outside its layer's forward
(issue 29, finding 9). The old engine chose 'bk' for it, and bk's clipped sum for that weight was zero (0 against autograd's
0.89 here); Opacus's hooks miss it too (they stop at the first step), so 'auto' now picks 'functorch', exact for any use.
"""
import copy

import torch
import torch.nn.functional as F
from torch import nn

from dpgan_nb.models import Discriminator, build_gan
from dpgan_nb.privacy import bk_clipped_sum
from dpgan_nb.train import grad_sample_engine


class Tied(Discriminator):
    "`proj` never runs as a module: its weight enters the forward through F.linear."
    def __init__(self):
        super().__init__((4,)); self.proj, self.out = nn.Linear(4, 3), nn.Linear(3, 1)
    def forward(self, x, y=None): return self.out(torch.tanh(F.linear(x, self.proj.weight, self.proj.bias))).squeeze(1)


def test_auto_does_not_pick_bk_for_a_functional_weight():
    torch.manual_seed(4); D = Tied().double(); x = torch.randn(6, 4, dtype=torch.float64)
    sums, _, _ = bk_clipped_sum(copy.deepcopy(D), lambda m: F.softplus(-m(x)), 1e9)
    ref = torch.autograd.grad(F.softplus(-D(x)).sum(), list(D.parameters()))
    assert float(sums[0].abs().max()) == 0 and float(ref[0].norm()) > 0.5  # what bk would train with: nothing for proj.weight
    assert grad_sample_engine('auto', 'gc', 'bce', 'constant', D) == 'functorch'  # old code: 'bk'


def test_auto_still_picks_bk_where_it_sees_everything():
    _, D = build_gan('dcgan', n_classes=10, cond='cgan', ndf=8)
    assert grad_sample_engine('auto', 'gc', 'bce', 'constant', D) == 'bk'
    assert grad_sample_engine('auto', 'gc', 'bce', 'constant', nn.Sequential(nn.Linear(2, 1))) == 'hooks'  # no GANModule: unchecked
