"""The fast DRRN (version 2) computes what version 1 (``starling_agents.drrn_reference``) did, and learns as well."""

from __future__ import annotations

import random

import gymnasium as gym
import numpy as np
import pytest
import torch
from starling_agents import run_episode
from starling_agents.base import learner_threads
from starling_agents.drrn import DRRN, DRRNAgent, DRRNConfig, Replay, Transition, prefix_tree, segment_argmax
from starling_agents.drrn_reference import DRRNAgent as ReferenceAgent
from starling_agents.drrn_reference import DRRNConfig as ReferenceConfig
from starling_agents.drrn_reference import Replay as ReferenceReplay
from starling_agents.drrn_reference import Transition as ReferenceTransition

import starling_env  # noqa: F401  (registers the ids)
from starling_env.envs.vector import available_cpus

GAME = "starling/boil-water-e4b0ab7-v1"  # easy: one room, a five-command walkthrough (as in test_train.py)
needs_game = pytest.mark.skipif(GAME not in gym.registry, reason="the shipped benchmark is not built")

# Greedy normalised scores of version 1 on GAME after 1200 steps (epsilon_decay=800/1200, learning_starts=100),
# mean of 5 episodes (seeds 0-4) per training seed: measured with starling_agents.drrn_reference (1.0 for seed 2 too).
REFERENCE_SCORES = {0: 1.0, 1: 1.0}


def texts(rng: np.random.Generator, n: int, width: int, vocab: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random texts of at most ``width`` words, many sharing prefixes, an empty one and a repeated one."""
    lengths = rng.integers(1, width + 1, n)
    tokens = np.zeros((n, width), dtype=np.int64)
    for i in range(n):
        tokens[i, : lengths[i]] = rng.integers(1, vocab, lengths[i])
        if i and rng.random() < 0.5:  # share a prefix with an earlier text
            j = int(rng.integers(0, i))
            k = int(rng.integers(1, min(lengths[i], lengths[j]) + 1))
            tokens[i, :k] = tokens[j, :k]
    tokens[1], lengths[1] = 0, 1  # an empty text reads one padding word
    tokens[2], lengths[2] = tokens[3], lengths[3]
    return tokens, lengths


def test_prefix_tree_holds_each_distinct_prefix_once():
    rng = np.random.default_rng(0)
    for _ in range(50):
        tokens, lengths = texts(rng, int(rng.integers(4, 30)), int(rng.integers(1, 9)), 4)
        words, parents, sizes, last = prefix_tree(tokens, lengths)
        distinct = {tuple(tokens[i, :k]) for i in range(len(tokens)) for k in range(1, lengths[i] + 1)}
        assert len(words) == len(parents) == sum(sizes) == len(distinct)
        starts = np.cumsum([0, *sizes])
        for depth in range(len(sizes)):  # a prefix's parent is in the block of the depth before
            block = parents[starts[depth] : starts[depth + 1]]
            assert (block == -1).all() if depth == 0 else ((block >= starts[depth - 1]) & (block < starts[depth])).all()
        for i, row in enumerate(last):
            read = []
            while row >= 0:
                read.append(int(words[row]))
                row = parents[row]
            assert read[::-1] == tokens[i, : lengths[i]].tolist()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_the_tree_gru_gives_nn_grus_states_and_gradients(dtype):
    torch.manual_seed(0)
    net = DRRN(vocab=50, embedding=8, hidden=16).to(dtype)
    tokens, lengths = texts(np.random.default_rng(1), 40, 12, 50)
    upstream = torch.randn(40, 16, dtype=dtype)
    results = []
    for tree in (False, True):
        net.zero_grad()
        encoded = net.encode(net.state_gru, tokens, lengths, tree=tree)
        (encoded * upstream).sum().backward()
        grads = [p.grad.clone() for p in (net.embedding.weight, *net.state_gru.parameters())]
        results.append([encoded.detach(), *grads])
    tolerance = 1e-12 if dtype == torch.float64 else 1e-5
    for packed, tree in zip(*results, strict=True):
        torch.testing.assert_close(tree, packed, rtol=tolerance, atol=tolerance)


def test_segment_argmax_takes_the_first_best_of_each_segment():
    values = torch.tensor([1.0, 3.0, 3.0, -1.0, 5.0, 0.0, 0.0])
    assert segment_argmax(values, [3, 1, 1, 2]).tolist() == [1, 0, 0, 0]
    assert segment_argmax(values[:3], [3]).tolist() == [1]


def play(agents: tuple[DRRNAgent, ReferenceAgent], steps: int) -> tuple[Replay, ReferenceReplay]:
    """The same random play of GAME stored in both agents' replays (ids for version 2, word ids for version 1)."""
    fast, reference = agents
    replay, reference_replay = Replay(1000), ReferenceReplay(1000)
    env = gym.make(GAME, extra_info=list(DRRNAgent.extra_info), max_episode_steps=10)
    rng = random.Random(0)
    obs, info = env.reset(seed=0)
    for _ in range(steps):
        commands = fast.candidates(info["admissible_commands"])
        command = rng.choice(commands)
        next_obs, reward, terminated, truncated, next_info = env.step(command)
        next_commands = fast.candidates(next_info["admissible_commands"])
        ids, state = fast.command_ids(commands), fast.state_ids(obs, info)
        replay.push(
            Transition(
                state,
                int(ids[commands.index(command)]),
                float(reward),
                terminated,
                fast.state_ids(next_obs, next_info),
                fast.command_ids(next_commands),
            )
        )
        reference_replay.push(
            ReferenceTransition(
                reference.encode_state(obs, info),
                reference.encode_actions([command])[0],
                float(reward),
                terminated,
                reference.encode_state(next_obs, next_info),
                reference.encode_actions(next_commands),
            )
        )
        obs, info = next_obs, next_info
        if terminated or truncated:
            obs, info = env.reset()
    return replay, reference_replay


@needs_game
def test_updates_and_choices_are_version_1s():
    """Same seed, same replay: the same losses, weights, target copies and greedy Q-values as version 1."""
    fast = DRRNAgent(DRRNConfig(target_update=3, batch_size=16, device="cpu"), seed=0)
    reference = ReferenceAgent(ReferenceConfig(target_update=3, batch_size=16, device="cpu"), seed=0)
    replay, reference_replay = play((fast, reference), 120)
    assert replay.rewarded, "the random play should earn some reward (the test covers the rewarded share)"
    fast.rng, reference.rng = random.Random(1), random.Random(1)
    for _ in range(8):  # target copies after updates 3 and 6: the reused encodings must follow
        assert fast.update(replay) == pytest.approx(reference.update(reference_replay), rel=1e-4, abs=1e-7)
    for net, reference_net in ((fast.net, reference.net), (fast.target, reference.target)):
        for (name, value), reference_value in zip(
            net.state_dict().items(), reference_net.state_dict().values(), strict=True
        ):
            torch.testing.assert_close(value, reference_value, rtol=1e-4, atol=1e-5, msg=name)
    transitions = list(replay.all)[:20]
    reference_transitions = list(reference_replay.all)[:20]
    q = fast._online_q(np.stack([t.next_state for t in transitions]), [t.next_actions for t in transitions])
    with torch.no_grad():
        expected = reference.q_values(
            reference.net,
            [t.next_state for t in reference_transitions],
            [t.next_actions for t in reference_transitions],
        )
    torch.testing.assert_close(q, torch.cat(expected), rtol=1e-4, atol=1e-5)


def test_update_ratio_is_gradient_updates_per_env_step():
    agent = DRRNAgent(update_ratio=0.25, device="cpu")
    due = []
    for step in range(1, 41):  # one env: one update every 4 steps, as version 1's update_every=4
        agent.env_steps = step
        due.append(agent.updates_due(1))
    assert sum(due) == 10 and due[3::4] == [1] * 10
    agent.env_steps = 16
    assert agent.updates_due(8) == 2  # 8 envs: 2 updates per vector step (8 env steps)
    agent = DRRNAgent(update_ratio=2.0, device="cpu")
    agent.env_steps = 5
    assert agent.updates_due(1) == 2
    with pytest.raises(ValueError, match="update_ratio"):
        DRRNAgent(update_ratio=0, device="cpu")


@needs_game
def test_training_follows_the_ratio_reports_progress_by_time_and_keeps_torch_threads(tmp_path):
    agent = DRRNAgent(learning_starts=20, update_ratio=0.5, progress_every=0.0, log_every=1.0, device="cpu")
    calls: list[int] = []
    threads = torch.get_num_threads()
    metrics = agent.train(
        lambda: gym.make(GAME, extra_info=list(agent.extra_info), max_episode_steps=30),
        tmp_path,
        steps=60,
        progress=lambda step, _: calls.append(step),
    )
    assert agent.updates == 60 // 2 - 19 // 2  # from the step the replay holds learning_starts transitions
    assert calls == list(range(1, 61))  # progress_every=0: every step (one env), not only at curve rows
    assert torch.get_num_threads() == threads
    assert metrics["updates_per_s"] > 0 and 0 < metrics["env_share"] < 1 and 0 < metrics["update_share"] < 1


def test_torch_threads_share_the_cores_with_the_env_workers():
    cpus = len(available_cpus())
    assert learner_threads(3, 2) == 3
    assert learner_threads(0, 1) == cpus  # one env runs in the learner's process, between its updates
    assert learner_threads(0, 2) == max(1, cpus // (1 + min(2, cpus)))
    assert DRRNConfig().threads == 1


@needs_game
def test_version_1_checkpoints_load_and_later_versions_are_refused(tmp_path):
    reference = ReferenceAgent(ReferenceConfig(device="cpu"), seed=4)
    reference.save(tmp_path / "checkpoint.pt")
    loaded = DRRNAgent(checkpoint=tmp_path, device="cpu")
    env = gym.make(GAME, extra_info=list(DRRNAgent.extra_info), max_episode_steps=10)
    obs, info = env.reset(seed=0)
    for _ in range(4):
        assert loaded.act(obs, info) == reference.act(obs, info)
        obs, _, terminated, _, info = env.step(reference.act(obs, info))
        if terminated:
            break
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    torch.save({**state, "version": 99}, tmp_path / "future.pt")
    with pytest.raises(ValueError, match="version 99 DRRN checkpoint"):
        DRRNAgent(checkpoint=tmp_path / "future.pt", device="cpu")


@needs_game
@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=pytest.mark.slow)])  # about 30 s each
def test_the_fast_learner_reaches_version_1s_greedy_score_on_the_one_room_game(tmp_path, seed):
    agent = DRRNAgent(DRRNConfig(epsilon_decay=800 / 1200, learning_starts=100, device="cpu"), seed=seed)
    agent.train(lambda: gym.make(GAME, extra_info=list(agent.extra_info), max_episode_steps=30), tmp_path, steps=1200)
    env = gym.make(GAME, extra_info=list(agent.extra_info), max_episode_steps=30)
    scores = [run_episode(agent, env, seed=episode).normalized_score for episode in range(5)]
    assert sum(scores) / len(scores) >= REFERENCE_SCORES[seed]


@needs_game
@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=pytest.mark.slow)])
def test_the_bag_of_words_encoder_reaches_version_1s_greedy_score_on_the_one_room_game(tmp_path, seed):
    config = DRRNConfig(epsilon_decay=800 / 1200, learning_starts=100, device="cpu", encoder="bow")
    agent = DRRNAgent(config, seed=seed)
    agent.train(lambda: gym.make(GAME, extra_info=list(agent.extra_info), max_episode_steps=30), tmp_path, steps=1200)
    assert not hasattr(agent.net, "state_gru")
    env = gym.make(GAME, extra_info=list(agent.extra_info), max_episode_steps=30)
    scores = [run_episode(agent, env, seed=episode).normalized_score for episode in range(5)]
    assert sum(scores) / len(scores) >= REFERENCE_SCORES[seed]


@needs_game
def test_a_checkpoint_fixes_the_networks_shape(tmp_path):
    trained = DRRNAgent(device="cpu", encoder="bow", hidden=24, embedding=8, seed=3)
    trained.save(tmp_path / "checkpoint.pt")
    loaded = DRRNAgent(checkpoint=tmp_path, device="cpu", lr=1e-4)  # its shape from the checkpoint
    assert (loaded.config.encoder, loaded.config.hidden, loaded.config.embedding) == ("bow", 24, 8)
    assert loaded.config.lr == 1e-4
    env = gym.make(GAME, extra_info=list(DRRNAgent.extra_info), max_episode_steps=10)
    obs, info = env.reset(seed=0)
    commands = trained.candidates(info["admissible_commands"])

    def q(learner: DRRNAgent) -> torch.Tensor:
        return learner._online_q(learner.state_ids(obs, info)[None], [learner.command_ids(commands)])

    torch.testing.assert_close(q(loaded), q(trained), rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"hidden=24 \(this agent: 128\), encoder='bow' \(this agent: 'gru'\)"):
        DRRNAgent(checkpoint=tmp_path, device="cpu", encoder="gru", hidden=128)
    with pytest.raises(ValueError, match="encoder='bow'"):  # resuming a run into a folder of another network
        DRRNAgent(device="cpu", seed=3).train(lambda: env, tmp_path, steps=1)
    with pytest.raises(ValueError, match="encoder must be one of"):
        DRRNAgent(device="cpu", encoder="lstm")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")
@needs_game
def test_drrn_trains_and_acts_on_the_gpu(tmp_path):
    agent = DRRNAgent(learning_starts=20, device="cuda")
    agent.train(lambda: gym.make(GAME, extra_info=list(agent.extra_info), max_episode_steps=30), tmp_path, steps=80)
    assert agent.updates > 0 and all(p.is_cuda for p in agent.net.parameters())
    env = gym.make(GAME, extra_info=list(agent.extra_info), max_episode_steps=30)
    assert run_episode(agent, env, seed=0).steps > 0
    on_cpu = DRRNAgent(checkpoint=tmp_path, device="cpu")
    obs, info = env.reset(seed=0)
    commands = agent.candidates(info["admissible_commands"])

    def q(learner: DRRNAgent) -> torch.Tensor:
        return learner._online_q(learner.state_ids(obs, info)[None], [learner.command_ids(commands)]).cpu()

    torch.testing.assert_close(q(on_cpu), q(agent), rtol=1e-4, atol=1e-5)
