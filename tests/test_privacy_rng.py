"""The secret generators hold at least 128 bits of OS entropy (issue 29, finding 8).

torch's CPU generator is mt19937, and `manual_seed` keeps only the seed's low 32 bits: seeded from `os_seed()` (63
bits), the Poisson sample and the DP noise each had one of 2^32 possible streams, which an adversary who knows the code
can enumerate. `make_private` now fills the 624 state words of each secret generator from `os.urandom`. These tests look
at the generators `make_private` hands the sampler and the optimizer, the way the adversary would: is their state one
that a 32-bit seed produces?
"""
import os

import numpy as np
import torch

from dpgan_nb.data import ImageDataset
from dpgan_nb.privacy import make_private

MT_WORDS, WORDS_AT = 624, 24  # torch's CPU generator state: 624 mt19937 words, each a uint64 from byte 24 (checked below)


def words(g: torch.Generator) -> np.ndarray:
    "The 624 mt19937 state words of a CPU generator."
    return np.frombuffer(g.get_state().numpy()[WORDS_AT:WORDS_AT + 8 * MT_WORDS].tobytes(), '<u8').astype(np.uint32)


def seeded_words(seed32: int) -> np.ndarray:
    "The state words mt19937's init_genrand(seed32) gives (what `manual_seed` does), from NumPy's independent MT19937."
    m = np.random.MT19937(); m._legacy_seeding(seed32)
    return m.state['state']['key']


def private(**kw):
    torch.manual_seed(0)
    ds = ImageDataset(torch.rand(64, 1, 4, 4) * 2 - 1, torch.arange(64) % 10)
    D = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 1))
    return make_private(D, torch.optim.SGD(D.parameters(), 0.1), ds, 16, 'gc', 1.0, 1.0, **kw)


def test_layout_is_what_mt19937_uses():
    "The words parsed at byte 24 are the state of the engine: a manual_seed(s) generator holds init_genrand(s)."
    assert torch.Generator().get_state().numel() == 5056
    np.testing.assert_array_equal(words(torch.Generator().manual_seed(12345)), seeded_words(12345))


def test_manual_seed_keeps_32_bits():
    "The old behaviour: seeds differing only above bit 32 give the same stream (so os_seed()'s 63 bits were 32)."
    a = torch.rand(100, generator=torch.Generator().manual_seed(7))
    b = torch.rand(100, generator=torch.Generator().manual_seed(7 + (1 << 40)))
    assert torch.equal(a, b)


def test_secret_generators_are_not_from_a_32_bit_seed():
    "Neither the sample's nor the noise's generator has a state that a 32-bit seed makes (old code: both had)."
    priv = private()  # looked at before any draw: a draw twists the state
    gens = [priv.sampler.generator, priv.noise_generator]
    sec = private(secure_rng=True); sec.batch()  # secure mode refills the noise generator for each batch
    for g in gens + [sec.noise_generator]:
        w = words(g)
        assert not np.array_equal(w, seeded_words(int(w[0])))


def test_state_is_drawn_from_os_urandom(monkeypatch):
    "Every state word of both generators comes from os.urandom, ≥ 128 bits each (19,968 in fact)."
    drawn = []
    real = os.urandom
    def urandom(n):
        b = real(n); drawn.append(b); return b
    monkeypatch.setattr(os, 'urandom', urandom)
    priv = private()
    monkeypatch.setattr(os, 'urandom', real)
    pool = b''.join(drawn)
    for g in (priv.sampler.generator, priv.noise_generator):
        w = words(g).astype('<u4').tobytes()
        assert len(w) * 8 >= 128 and w in pool


def test_high_bits_change_the_stream():
    "Two secret states that differ only in the top bit of the last word draw different samples (and the same state, the same)."
    from dpgan_nb.privacy import secret_generator
    e = bytearray(os.urandom(4 * MT_WORDS))
    f = bytearray(e); f[-1] ^= 0x80
    a = torch.rand(1000, generator=secret_generator(entropy=bytes(e)))
    b = torch.rand(1000, generator=secret_generator(entropy=bytes(f)))
    assert not torch.equal(a, b)
    assert torch.equal(a, torch.rand(1000, generator=secret_generator(entropy=bytes(e))))


def test_resume_and_reproducible():
    "rng_state/load_rng_state replays the next batch; reproducible mode still replays from the seed."
    p = private()
    st = p.rng_state(); a = p.sampler.indices(); p.load_rng_state(st)
    assert torch.equal(a, p.sampler.indices())
    r1, r2 = private(reproducible=True, seed=3), private(reproducible=True, seed=3)
    assert torch.equal(r1.sampler.indices(), r2.sampler.indices())
