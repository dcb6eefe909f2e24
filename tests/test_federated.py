"""Federated DP-GAN on Flower as real processes on 127.0.0.1: a SuperLink, three SuperNodes, `flwr run --stream`
(nbs/08d_federated). Each test bounds its own time; every process must be gone at the end."""
import csv, time

from dpgan_nb.core import read_json
from dpgan_nb.federated import FedConfig, run_federated
from dpgan_nb.train import export, load_sampler


def rounds(run_dir):
    with open(run_dir / 'rounds.csv') as f: return list(csv.DictReader(f))


def test_three_supernodes_two_rounds(tmp_path):
    t = time.time()
    res = run_federated(FedConfig.preset('tiny', runs_root=str(tmp_path), name='fed'), timeout=420)
    assert time.time() - t < 420 and res['status'] == 'finished:completed', res
    # every process exited when asked: SuperNodes with 0, the SuperLink on the SIGTERM it was sent
    assert all(res['returncodes'][f'supernode_{i}'] == 0 for i in range(3)), res['returncodes']
    assert res['returncodes']['superlink'] in (0, -15), res['returncodes']
    r = rounds(res['run_dir'])
    assert [row['round'] for row in r] == ['0', '1', '2'] and all(row['clients'] == '0 1 2' for row in r[1:]), r
    assert float(r[2]['fid']) < float(r[0]['fid']), r       # the global generator improved on its initialisation
    p = read_json(res['run_dir'] / 'privacy.json')
    assert sorted(p['per_client']) == ['0', '1', '2'] and 0 < p['epsilon'] <= 10 and p['accountant'] == 'rdp', p
    assert p['epsilon'] == max(c['epsilon'] for c in p['per_client'].values())
    for i in range(3):   # each client's own report, in its own state folder
        c = read_json(res['run_dir'] / 'clients' / f'client_{i}' / 'privacy.json')
        assert c['steps'] == 24 and c['epsilon'] == p['per_client'][str(i)]['epsilon'], c
    assert load_sampler(res['run_dir']).sample(4).shape == (4, 1, 28, 28)
    b = export(res['run_dir'], tmp_path / 'bundle')
    assert 'clients' not in {f.name for f in b.iterdir()} and (b / 'rounds.csv').exists()


def test_a_client_killed_mid_round_does_not_stop_the_round(tmp_path):
    cfg = FedConfig.preset('tiny', rounds=1, min_clients=2, round_timeout=30., runs_root=str(tmp_path), name='fed_kill')
    t = time.time()
    res = run_federated(cfg, kill=(2, 3.), delays={2: 20.}, timeout=300)   # client 2 is slow; it dies while it trains
    assert time.time() - t < 300 and res['status'] == 'finished:completed', res
    assert res['killed']['client'] == 2 and res['returncodes']['supernode_2'] == -9, res
    r = rounds(res['run_dir'])
    assert r[1]['clients'] == '0 1' and 'no reply' in r[1]['failed'], r     # the round completed with the two that remain, and says so
    assert sorted(read_json(res['run_dir'] / 'privacy.json')['per_client']) == ['0', '1']
