import itertools
import math

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from bertft_utils.modeling.crf import FORBIDDEN, LinearChainCrf, crf_from_checkpoint, gather_labelled
from bertft_utils.tasks.decoding import allowed_transitions, crf_rules, viterbi
from bertft_utils.training.trainer import own_group

IOB2 = ["O", "B-LOC", "I-LOC"]


def random_crf(num_labels: int, seed: int = 0) -> LinearChainCrf:
    torch.manual_seed(seed)
    crf = LinearChainCrf(num_labels)
    with torch.no_grad():
        for parameter in crf.parameters():
            parameter.normal_()
    return crf


def sequence_score(crf: LinearChainCrf, emissions: torch.Tensor, tags: list[int]) -> float:
    score = crf.start[tags[0]] + crf.end[tags[-1]] + sum(emissions[t, tag] for t, tag in enumerate(tags))
    return float((score + sum(crf.transitions[a, b] for a, b in itertools.pairwise(tags))).detach())


def test_gather_moves_each_rows_labelled_positions_to_the_left_in_order():
    labels = torch.tensor([[-100, 2, -100, 0, 1, -100], [-100, -100, -100, -100, -100, -100], [1, 1, 1, 1, 1, 1]])
    emissions = torch.arange(6.0).view(1, 6, 1).expand(3, 6, 1)
    gathered, tags, mask = gather_labelled(emissions, labels)
    assert mask.tolist() == [[True] * 3 + [False] * 3, [False] * 6, [True] * 6]
    assert tags[0, :3].tolist() == [2, 0, 1] and tags[2].tolist() == [1] * 6
    assert gathered[0, :3, 0].tolist() == [1.0, 3.0, 4.0]  # the positions of the labels, in order


def test_negative_log_likelihood_equals_brute_force_enumeration():
    """-log p(gold) = log(sum over every tag sequence of exp(score)) - score(gold), per row, on scattered labels."""
    crf = random_crf(3)
    torch.manual_seed(1)
    emissions = torch.randn(3, 6, 3)
    labels = torch.tensor([[-100, 2, -100, 0, 1, -100], [-100] * 6, [1, 0, -100, 2, -100, 1]])
    total, count = crf.negative_log_likelihood(emissions, labels)
    expected = 0.0
    for row in (0, 2):
        positions = [t for t in range(6) if labels[row, t] != -100]
        scores = emissions[row, positions]
        gold = sequence_score(crf, scores, [int(labels[row, t]) for t in positions])
        every = [sequence_score(crf, scores, list(tags)) for tags in itertools.product(range(3), repeat=len(positions))]
        expected += math.log(sum(math.exp(s) for s in every)) - gold
    assert count == 7  # labelled positions; the row without any is skipped
    assert total.item() == pytest.approx(expected, rel=1e-5)
    total.backward()
    assert crf.transitions.grad is not None and crf.transitions.grad.abs().sum() > 0
    nothing, none = crf.negative_log_likelihood(emissions[1:2], labels[1:2])
    assert none == 0 and nothing.item() == 0.0


def test_forbidden_moves_start_far_below_the_others():
    crf = LinearChainCrf(3)
    crf.forbid(*allowed_transitions(IOB2, "IOB2"))
    assert crf.start.tolist() == [0.0, 0.0, FORBIDDEN]  # no sentence opens with I-LOC
    assert crf.transitions[0, 2].item() == FORBIDDEN and crf.transitions[1, 2].item() == 0.0  # O -> I-LOC refused
    assert (crf.transitions == FORBIDDEN).sum() == 1 and (crf.end == 0).all()


def test_crf_viterbi_is_the_best_allowed_sequence_under_learned_scores():
    """Brute force over every sequence: the decoded one has the highest score among those the scheme allows."""
    crf = random_crf(3, seed=3)
    allowed = allowed_transitions(IOB2, "IOB2")
    rules = crf_rules(allowed, crf.scores())
    rng = np.random.default_rng(0)
    for _ in range(20):
        emissions = rng.normal(size=(5, 3))
        best, best_tags = -math.inf, None
        for tags in itertools.product(range(3), repeat=5):
            if not allowed[0][tags[0]] or not all(allowed[1][a, b] for a, b in itertools.pairwise(tags)):
                continue
            score = sequence_score(crf, torch.as_tensor(emissions), list(tags))
            if score > best:
                best, best_tags = score, list(tags)
        assert viterbi(emissions, *rules) == best_tags
    # learned scores alone can change the answer: a strong O -> O preference keeps the middle word O
    learned = (np.zeros(3), np.array([[5.0, 0, 0], [0, 0, 0], [0, 0, 0]]), np.zeros(3))
    emissions = np.log(np.array([[0.9, 0.05, 0.05], [0.3, 0.6, 0.1], [0.9, 0.05, 0.05]]))
    assert viterbi(emissions, *allowed) == [0, 1, 0]
    assert viterbi(emissions, *crf_rules(allowed, learned)) == [0, 0, 0]


def test_crf_is_read_back_from_the_weights_files(tmp_path):
    model = torch.nn.Linear(2, 2)
    crf = random_crf(3)
    save_file({"encoder.weight": torch.zeros(2, 2), **{f"crf.{k}": v for k, v in crf.state_dict().items()}},
              str(tmp_path / "a.safetensors"))
    save_file({"encoder.weight": torch.zeros(2, 2)}, str(tmp_path / "plain.safetensors"))
    loaded = crf_from_checkpoint([str(tmp_path / "plain.safetensors"), str(tmp_path / "a.safetensors")], model, 3)
    assert model.crf is loaded and torch.equal(loaded.transitions, crf.transitions)
    assert crf_from_checkpoint([str(tmp_path / "plain.safetensors")], torch.nn.Linear(2, 2), 3) is None
    with pytest.raises(ValueError, match=r"transitions of shape \(3, 3\), but the model has 4 labels"):
        crf_from_checkpoint([str(tmp_path / "a.safetensors")], torch.nn.Linear(2, 2), 4)


def test_own_group_moves_parameters_into_a_group_of_their_own():
    a, b, c = (torch.nn.Parameter(torch.zeros(2)) for _ in range(3))
    optimizer = torch.optim.AdamW([{"params": [a, b], "weight_decay": 0.01}, {"params": [c], "weight_decay": 0.0}],
                                  lr=1e-3)
    own_group(optimizer, [b, c], 0.5, weight_decay=0.0)
    assert [len(g["params"]) for g in optimizer.param_groups] == [1, 2]  # the emptied group is dropped
    moved = optimizer.param_groups[-1]
    assert moved["params"][0] is b and moved["lr"] == 0.5 and moved["weight_decay"] == 0.0
    assert optimizer.param_groups[0]["lr"] == 1e-3 and optimizer.param_groups[0]["weight_decay"] == 0.01


def tiny_model_with_crf():
    """A one-layer BERT token classifier over IOB2 with a CRF attached, in eval mode."""
    from transformers import BertConfig, BertForTokenClassification

    from bertft_utils.modeling.crf import attach_crf

    torch.manual_seed(0)
    model = BertForTokenClassification(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1,
                                                  num_attention_heads=2, intermediate_size=32, num_labels=3))
    crf = attach_crf(model, 3, allowed_transitions(IOB2, "IOB2"))
    model.eval()
    return model, crf


def test_the_models_loss_becomes_the_crf_likelihood_inside_its_forward_call():
    """Inside forward (where DDP needs every parameter used): per labelled token, or over num_items_in_batch."""
    model, crf = tiny_model_with_crf()
    ids = torch.tensor([[1, 5, 6, 7, 2], [1, 8, 9, 2, 0]])
    labels = torch.tensor([[-100, 1, 2, 0, -100], [-100, 0, 1, -100, -100]])
    output = model(input_ids=ids, labels=labels)
    total, count = crf.negative_log_likelihood(output.logits, labels)
    assert count == 5 and output.loss.item() == pytest.approx(total.item() / 5)
    assert model(input_ids=ids, labels=labels, num_items_in_batch=10).loss.item() == pytest.approx(total.item() / 10)
    assert model(input_ids=ids).loss is None  # no labels: scores only
    output.loss.backward()
    assert crf.transitions.grad is not None


def test_start_and_end_scores_apply_only_at_a_sentences_real_edges():
    """A continuation window starts inside the sentence (here: inside an entity, gold I-LOC): the start score is not
    its to pay, nor the end score for a window that stops before the sentence does."""
    crf = random_crf(3)
    emissions = torch.randn(2, 4, 3)
    labels = torch.tensor([[2, 2, 0, 1], [0, 1, 2, 0]])
    cut = LinearChainCrf(3)
    cut.load_state_dict({**crf.state_dict(), "start": torch.zeros(3), "end": torch.zeros(3)})
    middle, _ = crf.negative_log_likelihood(emissions, labels, torch.tensor([[0, 0], [0, 0]]))
    assert middle.item() == pytest.approx(cut.negative_log_likelihood(emissions, labels)[0].item(), rel=1e-5)
    whole, _ = crf.negative_log_likelihood(emissions, labels, torch.tensor([[1, 1], [1, 1]]))
    assert whole.item() == pytest.approx(crf.negative_log_likelihood(emissions, labels)[0].item(), rel=1e-6)
    # with the scheme's forbidden start of I-LOC, a continuation window starting with it costs no -10,000
    forbidding = LinearChainCrf(3)
    forbidding.forbid(*allowed_transitions(IOB2, "IOB2"))
    continuation = torch.tensor([[2, 2, 0, 1]])
    inside, _ = forbidding.negative_log_likelihood(emissions[:1], continuation, torch.tensor([[0, 1]]))
    at_start, _ = forbidding.negative_log_likelihood(emissions[:1], continuation, torch.tensor([[1, 1]]))
    assert inside.item() < 100 < -FORBIDDEN / 2 < at_start.item()


def test_the_windows_sentence_edges_reach_the_loss_and_not_the_encoder():
    from bertft_utils.modeling.crf import SENTENCE_EDGES

    model, crf = tiny_model_with_crf()
    ids = torch.tensor([[1, 5, 6, 7, 2]])
    labels = torch.tensor([[-100, 2, 2, 0, -100]])  # a continuation window's gold: I-LOC I-LOC O
    edges = torch.tensor([[0, 1]])
    output = model(input_ids=ids, labels=labels, **{SENTENCE_EDGES: edges})  # BertModel never sees the column
    total, count = crf.negative_log_likelihood(output.logits, labels, edges)
    assert output.loss.item() == pytest.approx(total.item() / count) and output.loss.item() < 100
    assert model(input_ids=ids, labels=labels).loss.item() > -FORBIDDEN / 10  # without edges: a sentence start
