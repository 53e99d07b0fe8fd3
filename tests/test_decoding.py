import numpy as np

from bertft_utils.tasks.decoding import allowed_transitions, viterbi

IOB2 = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]


def decode(label_list, scheme, per_word):
    """Viterbi over log-probabilities built from per-word probability rows."""
    scores = np.log(np.array(per_word, dtype=float))
    return [label_list[i] for i in viterbi(scores, *allowed_transitions(label_list, scheme))]


def test_iob2_rules():
    start, transition, end = allowed_transitions(IOB2, "IOB2")
    assert start.tolist() == [True, True, False, True, False] and end.all()
    index = {label: i for i, label in enumerate(IOB2)}
    assert transition[index["B-LOC"], index["I-LOC"]] and transition[index["I-LOC"], index["I-LOC"]]
    assert not transition[index["O"], index["I-LOC"]] and not transition[index["B-PER"], index["I-LOC"]]
    assert transition[index["I-PER"], index["B-LOC"]] and transition[index["O"], index["O"]]
    assert transition.sum() == 25 - 2 * 3  # each I- only after its own B-/I-: 3 of 5 predecessors refused


def test_viterbi_repairs_what_argmax_gets_wrong():
    # argmax: O I-LOC I-LOC (illegal start); the best legal sequence is B-LOC I-LOC I-LOC
    probabilities = [[0.5, 0.4, 0.05, 0.03, 0.02], [0.1, 0.1, 0.7, 0.05, 0.05], [0.1, 0.1, 0.7, 0.05, 0.05]]
    assert [IOB2[i] for i in np.argmax(probabilities, axis=-1)] == ["O", "I-LOC", "I-LOC"]
    assert decode(IOB2, "IOB2", probabilities) == ["B-LOC", "I-LOC", "I-LOC"]
    # a legal argmax is kept as it is
    legal = [[0.1, 0.8, 0.05, 0.03, 0.02], [0.1, 0.1, 0.7, 0.05, 0.05], [0.9, 0.02, 0.03, 0.03, 0.02]]
    assert decode(IOB2, "IOB2", legal) == ["B-LOC", "I-LOC", "O"]
    # I-PER after B-LOC is refused: the type switch becomes a new PER entity
    switch = [[0.1, 0.8, 0.05, 0.03, 0.02], [0.1, 0.05, 0.05, 0.3, 0.5]]
    assert decode(IOB2, "IOB2", switch) == ["B-LOC", "B-PER"]
    assert viterbi(np.zeros((0, 5)), *allowed_transitions(IOB2, "IOB2")) == []


def test_iobes_and_bmes_rules():
    labels = ["O", "B-LOC", "M-LOC", "E-LOC", "S-LOC"]
    start, transition, end = allowed_transitions(labels, "IOBES")
    assert start.tolist() == [True, True, False, False, True]
    assert end.tolist() == [True, False, False, True, True]
    # a lone B- at the end must close: B-LOC E-LOC rather than B-LOC B-LOC or B-LOC O
    probabilities = [[0.1, 0.8, 0.03, 0.03, 0.04], [0.3, 0.4, 0.1, 0.2, 0.0 + 1e-9]]
    assert decode(labels, "IOBES", probabilities) == ["B-LOC", "E-LOC"]
    # after E- an entity is closed: M- cannot follow
    assert not transition[3, 2] and transition[1, 2] and transition[2, 3] and not transition[1, 4]


def test_iob1_rules_and_the_fallback():
    labels = ["O", "I-PER", "B-PER"]
    start, transition, _ = allowed_transitions(labels, "IOB1")
    assert start.tolist() == [True, True, False]  # B- only separates two entities of one type
    assert transition[1, 2] and not transition[0, 2] and transition[0, 1]
    no_outside = ["I-PER"]  # nothing may start a sentence under IOB2 rules: argmax is returned
    assert viterbi(np.log(np.array([[1.0], [1.0]])), *allowed_transitions(no_outside, "IOB2")) == [0, 0]


