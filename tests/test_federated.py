"""Federated DP-GAN on Flower as real processes on 127.0.0.1: a SuperLink, three SuperNodes, `flwr run --stream`
(nbs/08d_federated). Each test bounds its own time; every process must be gone at the end."""
import csv, json, time

from dpgan_nb.core import read_json
from dpgan_nb.federated import FED_RELEASE, FedConfig, run_federated
from dpgan_nb.train import export, load_sampler


def rounds(run_dir):
    with open(run_dir / 'rounds.csv') as f: return list(csv.DictReader(f))


def replied(run_dir):
    "Who replied each round: the server's private rounds.json (not in the release)."
    return [' '.join(map(str, r['clients'])) for r in read_json(run_dir / 'rounds.json')]


def no_client_data(bundle):
    "The release bundle holds nothing per client: no per-client field in privacy.json or release.json, rounds.csv only the release's columns."
    assert sorted(f.name for f in bundle.iterdir()) == sorted([*FED_RELEASE, 'release.json']), sorted(f.name for f in bundle.iterdir())
    with open(bundle / 'rounds.csv') as f: cols = next(csv.reader(f))
    assert set(cols) <= {'round', 'fid', 'backend', 'epsilon', 'central_epsilon'}, cols
    def keys(d): return [k for k, v in d.items() for k in [k, *(keys(v) if isinstance(v, dict) else [])]] if isinstance(d, dict) else []
    per_client = {'per_client', 'clients', 'num_examples', 'num-examples', 'n_records', 'steps_done', 'seconds', 'max_client_epsilon',
                  'failed', 'no_reply'}
    for name in ('privacy.json', 'release.json', 'config.json'):
        ks = keys(read_json(bundle / name))
        assert not per_client & set(ks) and not any(str(k).isdigit() for k in ks), (name, sorted(per_client & set(ks)))


def test_three_supernodes_two_rounds(tmp_path):
    t = time.time()
    res = run_federated(FedConfig.preset('tiny', runs_root=str(tmp_path), name='fed'), timeout=420)
    assert time.time() - t < 420 and res['status'] == 'finished:completed', res
    # every process exited when asked: SuperNodes with 0, the SuperLink on the SIGTERM it was sent
    assert all(res['returncodes'][f'supernode_{i}'] == 0 for i in range(3)), res['returncodes']
    assert res['returncodes']['superlink'] in (0, -15), res['returncodes']
    r = rounds(res['run_dir'])
    assert [row['round'] for row in r] == ['0', '1', '2'] and replied(res['run_dir']) == ['0 1 2'] * 2, (r, replied(res['run_dir']))
    assert list(r[0]) == ['round', 'fid', 'backend', 'epsilon'], list(r[0])   # released: nothing per client
    assert float(r[2]['fid']) < float(r[0]['fid']), r       # the global generator improved on its initialisation
    p, own = read_json(res['run_dir'] / 'privacy.json'), read_json(res['run_dir'] / 'clients.json')   # released / the server's private side
    assert 'per_client' not in p and 0 < p['epsilon'] <= 10 and p['accountant'] == 'rdp' and p['sample_rate'] == 0.2, p
    assert p['dataset_size'].startswith('not used') and 'no timing' in p['server_saw'] and 'num-examples' not in p['server_saw'], p
    assert sorted(k for k in own if not k.startswith('_')) == ['0', '1', '2'] and float(r[2]['epsilon']) == p['epsilon'] == max(own[c]['epsilon'] for c in '012')
    for i in range(3):   # each client's own report, in its own state folder: the fixed q, so the same σ and ε for each
        c = read_json(res['run_dir'] / 'clients' / f'client_{i}' / 'privacy.json')
        assert c['steps'] == 24 and c['epsilon'] == own[str(i)]['epsilon'] and c['sample_rate'] == 0.2 and c['noise_multiplier'] == p['noise_multiplier'], c
        assert 'num_examples' not in own[str(i)], own                           # the server never received n_k
    for rd in read_json(res['run_dir'] / 'rounds.json'):                      # what each reply carried in clear: no timing, no n_k
        assert all('seconds' not in m and 'num-examples' not in m for m in rd['per_client'].values()), rd
    assert load_sampler(res['run_dir']).sample(4).shape == (4, 1, 28, 28)
    b = export(res['run_dir'], tmp_path / 'bundle')
    no_client_data(b)


def test_a_client_killed_mid_round_does_not_stop_the_round_and_rejoins(tmp_path):
    # round_timeout leaves a loaded 2-core machine time for three cold client starts (30 s was missed in a CI simulation)
    cfg = FedConfig.preset('tiny', min_clients=2, round_timeout=90., runs_root=str(tmp_path), name='fed_kill')
    t = time.time()
    # client 2 trains round 1 and checkpoints it, then dies before its reply leaves; its SuperNode is started again at once
    res = run_federated(cfg, kill=(2, 'checkpoint'), rejoin=True, node_config={2: {'reply-delay': 180.}}, timeout=500)
    assert time.time() - t < 500 and res['status'] == 'finished:completed', res
    assert res['killed']['client'] == 2 and res['returncodes']['supernode_2'] == -9 and res['returncodes']['supernode_2_rejoined'] == 0, res
    r, report = replied(res['run_dir']), read_json(res['run_dir'] / 'rounds.json')   # the server's private record of the rounds
    # round 1 completed with the two that remain, and names the missing node: either as no reply (the round timed out) or
    # as the error reply the SuperLink sends once it sees the node's heartbeat stop (which comes first depends on the load)
    who = [f['who'] for f in report[0]['failed']] + report[0]['no_reply']
    assert r[0] == '0 1' and len(who) == 1 and who[0].startswith('node '), (r, report[0])
    assert r[1] == '0 1 2', r                                                 # the rejoined client took part in round 2
    rep = report[1]['per_client']
    # its accountant continued from its checkpoint: round 1's 12 steps count although that update never arrived
    assert rep['2']['steps_done'] == 24 and rep['0']['steps_done'] == 24, rep
    c2 = read_json(res['run_dir'] / 'clients' / 'client_2' / 'privacy.json')
    assert c2['steps'] == 24 and abs(c2['epsilon'] - rep['0']['epsilon']) < 1e-9, (c2, rep['0'])   # same n, same steps: the same ε


def test_secure_aggregation_equals_fedavg_within_quantisation(tmp_path):
    from safetensors.torch import load_file
    from dpgan_nb.core import load_state
    # q = B / n_k (sample_rate None): the path where FedAvg weights by n_k, which SecAgg+ folds into each masked vector
    cfg = FedConfig.preset('tiny', rounds=1, partition='dirichlet', alpha=0.5, sample_rate=None, secure_agg=True, runs_root=str(tmp_path), name='fed_secagg')
    t = time.time()
    res = run_federated(cfg, timeout=400)
    assert time.time() - t < 400 and res['status'] == 'finished:completed', res
    assert replied(res['run_dir']) == ['0 1 2']
    p = read_json(res['run_dir'] / 'privacy.json'); assert p['secure_aggregation'] is True and 'only the sum' in p['server_saw'], p
    assert 'num-examples' in p['server_saw'] and p['dataset_size'].startswith('treated as public'), p   # q = B / n_k: n_k sent, and said
    # the plain FedAvg aggregate of what the clients sent (each client's own checkpoint after its round), weighted by its records
    sent = [load_state(res['run_dir'] / 'clients' / f'client_{i}' / 'last.pt')['G'] for i in range(3)]
    n = [read_json(res['run_dir'] / 'clients.json')[str(i)]['num_examples'] for i in range(3)]   # the server's private side
    assert len(set(n)) > 1, n                                                 # unequal weights: the weighting is tested too
    glob = load_file(res['run_dir'] / 'generator.safetensors')
    err = max(float((sum(s[k].double() * w for s, w in zip(sent, n)) / sum(n) - glob[k].double()).abs().max()) for k in glob if glob[k].is_floating_point())
    spread = max(float((sent[0][k] - glob[k]).abs().max()) for k in glob if glob[k].is_floating_point())
    # SecAgg+ quantises each weighted vector (weight n_k / max_weight, max_weight = all records) in [-8, 8] to 2^22 levels:
    # at most one level per client, divided by the summed weights (= 1 here)
    bound = 3 * 16 / 4194304 * 1.05
    assert err <= bound, (err, bound)
    assert spread > 20 * err, (spread, err)                                   # the clients differ far more than the error


def test_tls_and_central_dp_with_flowers_accountant(tmp_path):
    from opacus.accountants import RDPAccountant
    cfg = FedConfig.preset('tiny', rounds=1, central_dp='server', central_noise=1.0, central_clip=1.0, runs_root=str(tmp_path), name='fed_tls')
    t = time.time()
    res = run_federated(cfg, tls=True, timeout=400)
    assert time.time() - t < 400 and res['status'] == 'finished:completed', res
    assert 'https://127.0.0.1' in (res['run_dir'] / 'logs' / 'superlink.log').read_text()   # the SuperLink served TLS only
    assert 'insecure' not in (res['run_dir'] / 'flwr_home' / 'config.toml').read_text()
    report = read_json(res['run_dir'] / 'rounds.json'); assert report[0]['aggregated'] is True and report[0]['clients'] == [0, 1, 2], report
    r = rounds(res['run_dir']); assert float(r[1]['central_epsilon']) > 0 and float(r[1]['epsilon']) > 0, r   # the release's two ε
    c = read_json(res['run_dir'] / 'privacy.json')['central_dp']
    assert c['rounds_released'] == 1 and c['clients_per_round'] == 3 and 'OS entropy' in c['noise_source'], c
    acc = RDPAccountant(); acc.history = [(1.0, 1.0, 1)]   # Opacus's RDP at q = 1 (no amplification), one release: an independent check
    assert abs(c['epsilon'] - acc.get_epsilon(1e-5)) < 1e-6, (c['epsilon'], acc.get_epsilon(1e-5))
