"""End-to-end runs of run_ner.py on tiny checkpoints."""

import json
import random
import sys

import pytest
from conftest import ARCHITECTURES, DATA, REPO, free_port, report_items, run_script
from seqeval.metrics import f1_score

TRAIN = DATA / "msra_ner_train_sample.txt"
TEST = DATA / "msra_ner_test_sample.txt"
FAST = ["--learning_rate", "2e-3", "--per_device_train_batch_size", "16", "--per_device_eval_batch_size", "32",
        "--save_strategy", "no", "--logging_steps", "5", "--disable_tqdm", "true", "--seed", "1"]
NAMES = ["王小明", "李大华", "张伟"]
PLACES = ["北京", "上海", "广州"]  # every character has one tag: only stitching errors can cost F1


def synthetic_sentence(rng: random.Random, clauses: int = 1) -> tuple[list[str], list[str]]:
    """A learnable pattern, repeated: <name> 在 <place> 工作 。"""
    tokens, tags = [], []
    for _ in range(clauses):
        name, place = rng.choice(NAMES), rng.choice(PLACES)
        tokens += list(name) + ["在"] + list(place) + list("工作。")
        tags += ["B-PER"] + ["I-PER"] * (len(name) - 1) + ["O", "B-LOC"] + ["I-LOC"] * (len(place) - 1) + ["O"] * 3
    return tokens, tags


def distinct(sentences, pool="一二三四五六七八九十百千万甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥东南西北春夏秋冬"):
    """The sentences, each with one more token tagged O (a different one each time): identical texts always share
    a split, so a file of one sentence repeated would hold nothing out."""
    return [([*tokens, pool[i % len(pool)] * (1 + i // len(pool))], [*tags, "0" if tags[0].isdigit() else "O"])
            for i, (tokens, tags) in enumerate(sentences)]


def write_conll(path, sentences, separator="\t"):
    path.write_text("".join("".join(f"{t}{separator}{g}\n" for t, g in zip(*s, strict=True)) + "\n" for s in sentences),
                    encoding="utf-8")
    return path


def read_tagged_output(path):
    """(token, gold, predicted) per token line, and the number of lines."""
    lines = path.read_text(encoding="utf-8").split("\n")
    return [tuple(line.split("\t")) for line in lines if line.strip()], lines


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_msra_sample_full_length_predictions(architecture, tiny_models, tmp_path):
    out = tmp_path / "out"
    run_script("run_ner.py", "--model_name_or_path", str(tiny_models[architecture]), "--train_file", str(TRAIN),
               "--test_file", str(TEST), "--validation_split_percentage", "10", "--test_split_percentage", "0",
               "--max_train_samples", "120", "--max_seq_length", "64", "--doc_stride", "16", "--num_train_epochs", "1",
               "--do_train", "--do_eval", "--do_predict", "--output_dir", str(out), *FAST)
    rows, lines = read_tagged_output(out / "predictions.txt")
    input_lines = TEST.read_text(encoding="utf-8").split("\n")
    assert len(lines) == len(input_lines)  # line for line, sentence breaks kept
    for produced, original in zip(lines, input_lines, strict=True):
        assert produced.startswith(original) and (produced == original) == (original == "")
    assert all(len(row) == 3 for row in rows) and len(rows) == TEST.read_text(encoding="utf-8").count("\t")
    # the 2,427-character sentence is predicted in full
    report = json.loads((out / "data_report.json").read_text())
    # 52 of the 201 test sentences are longer than 62 characters (one token each, except in byte-level BPE)
    windowed = report["windowed_sentences"]["test"]
    assert (windowed == 52 if architecture != "roberta" else windowed >= 52) and report["tags"]["scheme"] == "IOB2"
    # the metrics file agrees with the predictions file
    gold, pred, sentence_gold, sentence_pred = [], [], [], []
    for line in lines:
        if not line:
            if sentence_gold:
                gold.append(sentence_gold), pred.append(sentence_pred)
            sentence_gold, sentence_pred = [], []
            continue
        _, g, p = line.split("\t")
        sentence_gold.append(g), sentence_pred.append(p)
    assert max(len(s) for s in gold) == 2427
    test = json.loads((out / "test_results.json").read_text())
    assert test["test_f1"] == pytest.approx(f1_score(gold, pred))
    assert test["test_tokens"] == sum(len(s) for s in gold)
    assert "precision    recall  f1-score   support" in (out / "test_entity_report.txt").read_text()
    assert set(json.loads((out / "test_entities.json").read_text())) >= {"LOC", "ORG", "PER", "micro avg"}
    # intervals over the 201 test sentences, for micro/macro F1 and each type's F1
    for metric in ("f1", "macro_f1", "LOC_f1", "ORG_f1", "PER_f1"):
        assert test[f"test_{metric}_ci_low"] <= test[f"test_{metric}"] <= test[f"test_{metric}_ci_high"], metric
    assert (test["test_ci_items"], test["test_ci_unit"]) == (len(gold), "sentences")
    assert f"micro F1 {test['test_f1']:.4f} (95% CI " in (out / "test_entity_report.txt").read_text()
    eval_results = json.loads((out / "eval_results.json").read_text())
    assert "eval_f1" in eval_results and eval_results["eval_samples"] == 80
    # nervaluate's schemes beside seqeval's: strict is seqeval's figure, the others count partial matches
    assert test["test_strict_f1"] == pytest.approx(test["test_f1"])
    assert test["test_partial_f1"] >= test["test_exact_f1"] >= test["test_strict_f1"]
    assert test["test_correct_entities"] == test["test_strict_correct"]
    assert "Partial matches (SemEval-2013 task 9" in (out / "test_entity_report.txt").read_text()
    items = report_items(out)  # report.html: every test sentence, those with errors first
    assert len(items) == len(gold) and sorted(item["n"] for item in items) == list(range(1, len(gold) + 1))
    assert [item["e"] for item in items] == sorted((item["e"] for item in items), reverse=True)
    errors = json.loads((out / "test_entity_errors.json").read_text())
    assert errors["errors_per_gold_type"]["overall"]["gold"] == sum(1 for s in gold for t in s if t.startswith("B-"))


def test_learnable_data_long_sentence_raw_text_and_pipeline(tiny_models, tmp_path):
    rng = random.Random(0)
    train = write_conll(tmp_path / "train.txt", [synthetic_sentence(rng, rng.randint(1, 4)) for _ in range(300)])
    long_tokens, long_tags = [], []
    while len(long_tokens) < 1000:
        tokens, tags = synthetic_sentence(rng)
        long_tokens += tokens
        long_tags += tags
    short = synthetic_sentence(rng)
    test = write_conll(tmp_path / "test.txt", [(long_tokens[:1000], long_tags[:1000]), short])
    raw = tmp_path / "raw.txt"
    raw.write_text("李大华在上海工作。\n\n张伟 在北京工作。\n", encoding="utf-8")
    out = tmp_path / "out"
    run_script("run_ner.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(train),
               "--test_file", str(test), "--predict_text_file", str(raw), "--validation_split_percentage", "0",
               "--test_split_percentage", "0", "--max_seq_length", "32", "--doc_stride", "8",
               "--num_train_epochs", "6", "--add_unk_chars", "--do_train", "--do_predict", "--output_dir", str(out),
               *FAST)
    rows, _ = read_tagged_output(out / "predictions.txt")
    assert len(rows) == 1000 + len(short[0])
    assert all(len(r) == 3 and r[2] for r in rows)
    test_results = json.loads((out / "test_results.json").read_text())
    assert test_results["test_f1"] > 0.9, test_results  # the pattern is learnable: windows stitch correctly
    raw_rows, raw_lines = read_tagged_output(out / "text_predictions.txt")
    assert [r[0] for r in raw_rows] == list("李大华在上海工作。") + list("张伟 在北京工作。")
    assert raw_rows[11][0] == " " and len(raw_rows[11]) == 2  # the space is tagged too

    from transformers import pipeline

    ner = pipeline("token-classification", model=str(out), aggregation_strategy="simple", device="cpu")
    groups = ner("李大华在上海工作。")
    assert {g["entity_group"] for g in groups} == {"PER", "LOC"}
    assert [g["word"].replace(" ", "") for g in groups] == ["李大华", "上海"]


def test_bmes_file_is_scored_as_iobes(tiny_models, tmp_path):
    sentences = [(list("李大华在上海"), ["B-PER", "M-PER", "E-PER", "O", "B-LOC", "E-LOC"]),
                 (list("张在京"), ["S-PER", "O", "S-LOC"])] * 20
    sentences = distinct(sentences)
    train = write_conll(tmp_path / "bmes.txt", sentences, separator=" ")
    out = tmp_path / "out"
    run_script("run_ner.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(train),
               "--validation_split_percentage", "0", "--test_split_percentage", "25", "--num_train_epochs", "8",
               "--do_train", "--do_predict", "--output_dir", str(out), *FAST)
    assert json.loads((out / "data_report.json").read_text())["tags"]["scheme"] == "IOBES"
    config = json.loads((out / "config.json").read_text())
    assert "M-PER" in config["label2id"] and "S-LOC" in config["label2id"]
    rows, _ = read_tagged_output(out / "predictions.txt")
    test_ids = json.loads((out / "split_ids.json").read_text())["test"]
    assert len(rows) == sum(len(sentences[i][0]) for i in test_ids) and all(len(r) == 3 for r in rows)
    assert json.loads((out / "test_results.json").read_text())["test_f1"] == pytest.approx(1.0)


def test_conll_english_words_with_several_subtokens(tiny_models, tmp_path):
    sentences = [(["Xylophonist", "Qwertyuiop", "visited", "Zanzibarland", "."],
                  ["B-PER", "I-PER", "O", "B-LOC", "O"])] * 30
    sentences = distinct(sentences, [str(i) for i in range(30)])
    train = write_conll(tmp_path / "en.txt", sentences, separator=" ")
    out = tmp_path / "out"
    run_script("run_ner.py", "--model_name_or_path", str(tiny_models["roberta"]), "--train_file", str(train),
               "--validation_split_percentage", "0", "--test_split_percentage", "20", "--num_train_epochs", "15",
               "--do_train", "--do_predict", "--output_dir", str(out), *FAST)
    rows, _ = read_tagged_output(out / "predictions.txt")
    assert [r[0] for r in rows[:5]] == sentences[0][0][:5]  # one prediction per word, not per sub-token
    assert len(rows) == 6 * 6
    assert json.loads((out / "test_results.json").read_text())["test_f1"] == pytest.approx(1.0)


def test_test_sentences_also_in_training_are_scored_apart(tiny_models, tmp_path):
    """A test file that repeats training sentences: test_results.json gives the entity F1 on the others too."""
    sentences = distinct([synthetic_sentence(random.Random(i), clauses=2) for i in range(40)])
    train = write_conll(tmp_path / "train.txt", sentences[:30])
    test = write_conll(tmp_path / "test.txt", sentences[24:40])  # 6 training sentences, then 10 new ones
    out = tmp_path / "out"
    run_script("run_ner.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(train),
               "--test_file", str(test), "--validation_split_percentage", "0", "--test_split_percentage", "0",
               "--num_train_epochs", "1", "--do_train", "--do_predict", "--output_dir", str(out), *FAST)
    results = json.loads((out / "test_results.json").read_text())
    sentences_out = [[row.split("\t") for row in block.split("\n") if row] for block in
                     (out / "predictions.txt").read_text(encoding="utf-8").split("\n\n") if block.strip()]
    assert len(sentences_out) == 16
    new = sentences_out[6:]
    assert results["test_records_in_train"] == 6 and results["test_unseen_samples"] == 10
    assert results["test_unseen_f1"] == pytest.approx(f1_score([[r[1] for r in s] for s in new],
                                                               [[r[2] for r in s] for s in new]))


def test_cluener_span_files_train_and_predictions_come_back_as_spans(tiny_models, tmp_path):
    """CLUENER's JSON lines in (train with labels, test without), its span form out with --output_format spans."""
    rng = random.Random(3)
    records = []
    for i in range(40):
        tokens, tags = synthetic_sentence(rng)
        text = "".join(tokens)
        label: dict = {}
        for start, tag in enumerate(tags):
            if tag.startswith("B-"):
                end = start
                while end + 1 < len(tags) and tags[end + 1] == "I-" + tag[2:]:
                    end += 1
                label.setdefault(tag[2:].lower(), {}).setdefault(text[start:end + 1], []).append([start, end])
        records.append({"id": 100 + i, "text": text, "label": label})
    train, test = tmp_path / "train.json", tmp_path / "test.json"
    train.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records[:32]), encoding="utf-8")
    test.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False) + "\n"
                            for r in records[32:]), encoding="utf-8")
    out = tmp_path / "out"
    run_script("run_ner.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(train),
               "--test_file", str(test), "--validation_split_percentage", "0", "--test_split_percentage", "0",
               "--num_train_epochs", "1", "--do_train", "--do_predict", "--output_format", "spans",
               "--output_dir", str(out), *FAST)
    tagged = [json.loads(line) for line in (out / "predictions.txt").read_text(encoding="utf-8").splitlines()]
    spans = [json.loads(line) for line in (out / "predictions_spans.json").read_text(encoding="utf-8").splitlines()]
    assert [s["id"] for s in spans] == [r["id"] for r in records[32:]]
    assert [s["text"] for s in spans] == [r["text"] for r in records[32:]]
    for record, row in zip(spans, tagged, strict=True):
        predicted = row["predicted_tags"]
        found = [(kind, start, end) for kind, mentions in record["label"].items() for mention, places in
                 mentions.items() for start, end in places if record["text"][start:end + 1] == mention]
        assert len(found) == sum(tag.startswith("B-") for tag in predicted)
        assert all(predicted[start] == f"B-{kind}" and predicted[start + 1:end + 1] == [f"I-{kind}"] * (end - start)
                   for kind, start, end in found)
    again = tmp_path / "again"  # the saved model on the unlabelled file alone
    run_script("run_ner.py", "--model_name_or_path", str(out), "--test_file", str(test), "--do_predict",
               "--output_format", "spans", "--output_dir", str(again), *FAST)
    assert (again / "predictions_spans.json").read_text(encoding="utf-8") == (
        out / "predictions_spans.json").read_text(encoding="utf-8")
    anonymous = tmp_path / "no_ids.json"  # no ids: a record is named by its place in the file, also in a subset
    texts = [r["text"] for r in records[32:]]
    anonymous.write_text("".join(json.dumps({"text": text}, ensure_ascii=False) + "\n" for text in texts),
                         encoding="utf-8")
    subset = tmp_path / "subset"
    run_script("run_ner.py", "--model_name_or_path", str(out), "--test_file", str(anonymous), "--do_predict",
               "--max_predict_samples", "3", "--output_format", "spans", "--output_dir", str(subset), *FAST)
    chosen = [json.loads(line) for line in (subset / "predictions_spans.json").read_text(encoding="utf-8").splitlines()]
    assert len(chosen) == 3 and all(texts[s["id"]] == s["text"] for s in chosen)
    assert [s["id"] for s in chosen] != [0, 1, 2]  # a seeded subset, not the first records


def test_zero_token_characters_get_predictions(tiny_models, tmp_path):
    sentence = (["北", " ", "京", "\u00a0", "人", "\u200b"], ["B-LOC", "I-LOC", "I-LOC", "O", "O", "O"])
    train = write_conll(tmp_path / "z.txt", [sentence] * 20)
    out = tmp_path / "out"
    run_script("run_ner.py", "--model_name_or_path", str(tiny_models["albert"]), "--train_file", str(train),
               "--test_file", str(train), "--validation_split_percentage", "0", "--test_split_percentage", "0",
               "--max_train_samples", "10", "--num_train_epochs", "1", "--do_train", "--do_predict",
               "--output_dir", str(out), *FAST)
    lines = (out / "predictions.txt").read_text(encoding="utf-8").split("\n")
    token_lines = [line for line in lines if line]
    assert len(token_lines) == 120 and all(line.count("\t") == 2 for line in token_lines)
    assert json.loads((out / "data_report.json").read_text())["zero_token_tokens"]["test"] == 60
    assert [token for token in report_items(out)[0]["t"]] == sentence[0]  # report.html keeps the spaces


def test_unknown_tag_stops_the_run(tiny_models, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("北\tB-LOC\n京\tX-LOC\n\n", encoding="utf-8")
    process = run_script("run_ner.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(bad),
                         "--do_train", "--output_dir", str(tmp_path / "o"), check=False)
    assert process.returncode != 0 and "bad.txt, line 2: unknown tag 'X-LOC'" in process.stderr


@pytest.mark.slow
def test_accelerate_launch_two_cpu_processes(tiny_models, tmp_path):
    import shutil
    import sys
    from pathlib import Path

    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent))
    if accelerate is None:
        pytest.skip("accelerate CLI not installed next to this Python")
    out = tmp_path / "ddp"
    process = run_script(
        "run_ner.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(TRAIN),
        "--test_file", str(TEST), "--validation_split_percentage", "10", "--test_split_percentage", "0",
        "--max_train_samples", "64", "--max_eval_samples", "21", "--max_seq_length", "64", "--num_train_epochs", "1",
        "--do_train", "--do_eval", "--do_predict", "--output_dir", str(out), *FAST, "--no_auto_bf16",
        "--decoding", "crf",  # the CRF's scores are trained outside the DDP-wrapped forward: their gradients too
        launcher=[accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                  "--main_process_port", str(free_port()),
                  "--mixed_precision", "no", "--dynamo_backend", "no"])
    log = process.stdout + process.stderr
    assert "Process rank 1" in log and "distributed True" in log
    assert log.count(f"bertft wrote {out / 'predictions.txt'}") == 1
    rows, lines = read_tagged_output(out / "predictions.txt")
    assert len(lines) == len(TEST.read_text(encoding="utf-8").split("\n"))
    assert all(len(r) == 3 for r in rows) and len(rows) == TEST.read_text(encoding="utf-8").count("\t")
    assert json.loads((out / "eval_results.json").read_text())["eval_samples"] == 21
    # the two processes predict exactly what one process predicts with the saved model (and its CRF)
    run_script("run_ner.py", "--model_name_or_path", str(out), "--test_file", str(TEST), "--max_seq_length", "64",
               "--do_predict", "--output_dir", str(tmp_path / "one"), "--no_auto_bf16")
    assert (tmp_path / "one" / "predictions.txt").read_text(encoding="utf-8") == \
        (out / "predictions.txt").read_text(encoding="utf-8")


def test_raw_text_only_with_a_saved_model(tiny_models, tmp_path):
    train = write_conll(tmp_path / "train.txt", [synthetic_sentence(random.Random(1))] * 8)
    out = tmp_path / "model"
    run_script("run_ner.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(train),
               "--validation_split_percentage", "0", "--test_split_percentage", "0", "--num_train_epochs", "1",
               "--do_train", "--output_dir", str(out), *FAST)
    raw = tmp_path / "raw.txt"
    raw.write_text("张伟在上海工作。\n", encoding="utf-8")
    run_script("run_ner.py", "--model_name_or_path", str(out), "--predict_text_file", str(raw), "--do_predict",
               "--output_dir", str(tmp_path / "pred"))
    rows, _ = read_tagged_output(tmp_path / "pred" / "text_predictions.txt")
    assert [r[0] for r in rows] == list("张伟在上海工作。") and all(len(r) == 2 for r in rows)


def test_a_raw_text_larger_than_one_piece_is_tagged_piece_by_piece(tiny_models, tmp_path):
    """--predict_text_file is read and written piece by piece (10,000 sentences at a time): every line is tagged
    once, in order, as it would be on its own (a line repeated in another piece gets the same tags), the spans keep
    their positions in the whole file, progress is logged, and no unfinished (.partial) file is left."""
    from bertft_utils.data.readers.token_files import TEXT_CHUNK

    train = write_conll(tmp_path / "train.txt", [synthetic_sentence(random.Random(2))] * 8)
    model = tmp_path / "model"
    run_script("run_ner.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(train),
               "--validation_split_percentage", "0", "--test_split_percentage", "0", "--num_train_epochs", "1",
               "--do_train", "--output_dir", str(model), *FAST)
    rng = random.Random(3)
    sentences = ["".join(rng.choice("张伟李华在上海北京工作。") for _ in range(rng.randint(1, 6)))
                 for _ in range(TEXT_CHUNK + 50)]
    lines = [sentences[i] if i % 1000 else "" for i in range(len(sentences))]  # some blank lines: no sentence
    raw = tmp_path / "raw.txt"
    raw.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "pred"
    process = run_script("run_ner.py", "--model_name_or_path", str(model), "--predict_text_file", str(raw),
                         "--do_predict", "--output_format", "spans", "--output_dir", str(out), "--no_auto_bf16")
    expected = [line for line in lines if line.strip()]
    tagged = (out / "text_predictions.txt").read_text(encoding="utf-8").split("\n\n")[:-1]
    assert ["".join(row.split("\t")[0] for row in block.split("\n")) for block in tagged] == expected
    tags = ["\n".join(row.split("\t")[1] for row in block.split("\n")) for block in tagged]
    first_piece = dict(zip(expected[:TEXT_CHUNK], tags[:TEXT_CHUNK], strict=True))
    repeated = [(tag, first_piece[text]) for text, tag in zip(expected[TEXT_CHUNK:], tags[TEXT_CHUNK:], strict=True)
                if text in first_piece]
    assert len(repeated) > 10 and all(a == b for a, b in repeated)
    spans = [json.loads(line) for line in (out / "text_predictions_spans.json").read_text("utf-8").splitlines()]
    assert [s["id"] for s in spans] == list(range(len(expected)))
    assert ["".join(s["tokens"]) for s in spans] == expected
    assert not list(out.glob("*.partial"))
    log = process.stdout + process.stderr
    assert f"line {len(lines)} of {len(lines)} (100%), {len(expected)} records predicted" in log
    assert json.loads((out / "data_report.json").read_text())["text_prediction"]["records"] == len(expected)


@pytest.mark.parametrize("flags, message", [
    (["--tag_scheme", "BIOX"], "--tag_scheme must be one of"),
    (["--text_split", "words"], "--text_split must be 'char' or 'whitespace', got 'words'"),
    (["--predict_text_file", "/nonexistent/raw.txt"], "--predict_text_file '/nonexistent/raw.txt' does not exist"),
    (["--max_seq_length", "32", "--doc_stride", "40"], "--doc_stride must be in [0, 30) for --max_seq_length 32"),
    (["--decoding", "crf", "--crf_learning_rate", "0"], "--crf_learning_rate must be > 0, got 0.0."),
])
def test_ner_option_errors(flags, message, tiny_models, tmp_path):
    process = run_script("run_ner.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(TRAIN),
                         "--do_train", "--output_dir", str(tmp_path / "o"), *flags, check=False)
    assert process.returncode != 0 and message in process.stderr


@pytest.mark.parametrize("content, message", [
    (b"\n  \n", "raw.txt: no text found."),
    ("好\n".encode() * 3 + "中".encode("gbk") + b"\n", "raw.txt, line 4: not UTF-8"),
])
def test_a_bad_raw_text_is_refused_before_training(content, message, tiny_models, tmp_path):
    """--predict_text_file is checked whole before any training (it is tagged piece by piece only afterwards)."""
    raw = tmp_path / "raw.txt"
    raw.write_bytes(content)
    out = tmp_path / "o"
    process = run_script("run_ner.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(TRAIN),
                         "--predict_text_file", str(raw), "--do_train", "--do_predict", "--output_dir", str(out),
                         check=False)
    assert process.returncode != 0 and message in process.stderr
    assert not (out / "model.safetensors").exists() and not (out / "train_results.json").exists()


def test_integer_tag_ids_with_tag_names(tiny_models, tmp_path):
    names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    rows = [{"tokens": tokens, "ner_tags": [int(t) for t in tags]} for tokens, tags in distinct(
        [(list("李大华在上海"), ["1", "2", "2", "0", "3", "4"]), (list("张在京"), ["1", "0", "3"])] * 10)]
    train = tmp_path / "ids.jsonl"
    train.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out"
    run_script("run_ner.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(train),
               "--tag_names", ",".join(names), "--validation_split_percentage", "0", "--test_split_percentage", "20",
               "--num_train_epochs", "1", "--do_train", "--do_predict", "--output_dir", str(out), *FAST)
    assert set(json.loads((out / "config.json").read_text())["label2id"]) == set(names)
    predicted = [json.loads(line) for line in (out / "predictions.txt").read_text(encoding="utf-8").splitlines()]
    assert len(predicted) == 4 and all(set(p["tags"]) <= set(names) for p in predicted)
    # predictions are tag names (not ids), one per token
    assert all(set(p["predicted_tags"]) <= set(names) and len(p["predicted_tags"]) == len(p["tokens"])
               for p in predicted)
    process = run_script("run_ner.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(train),
                         "--tag_names", "O,B-PER,O", "--do_train", "--output_dir", str(tmp_path / "o"), check=False)
    assert process.returncode != 0 and "--tag_names must list distinct, non-empty names" in process.stderr


def test_doc_stride_follows_max_seq_length_unless_given():
    import importlib.util

    spec = importlib.util.spec_from_file_location("run_ner_module", REPO / "run_ner.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    assert module.NerDataArguments(max_seq_length=32).doc_stride == 8  # --max_seq_length 32 alone works
    assert module.NerDataArguments().doc_stride == 32
    assert module.NerDataArguments(max_seq_length=512, doc_stride=100).doc_stride == 100


def test_viterbi_decoding_never_emits_illegal_tags_and_both_are_counted(tiny_models, tmp_path):
    from bertft_utils.data.tags import count_illegal

    trained = tmp_path / "trained"
    run_script("run_ner.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(TRAIN),
               "--max_train_samples", "80", "--num_train_epochs", "1", "--max_seq_length", "64", "--do_train",
               "--output_dir", str(trained), *FAST)
    counts = {}
    for decoding in ("argmax", "viterbi"):
        out = tmp_path / decoding
        run_script("run_ner.py", "--model_name_or_path", str(trained), "--test_file", str(TEST), "--do_predict",
                   "--max_seq_length", "64", "--decoding", decoding, "--output_dir", str(out), *FAST)
        rows, lines = read_tagged_output(out / "predictions.txt")
        sentences, current = [], []
        for line in lines:
            if line:
                current.append(line.split("\t")[2])
            elif current:
                sentences.append(current)
                current = []
        found = count_illegal(sentences, "IOB2")
        test = json.loads((out / "test_results.json").read_text())
        assert test["test_illegal_predicted_transitions"] == found.illegal  # the report counts what the file holds
        assert test["test_sentences_with_illegal_predictions"] == found.sentences_with_illegal
        assert f"{found.illegal} illegal tag transitions in the predictions (IOB2, decoding: {decoding})" in (
            out / "test_entity_report.txt").read_text()
        counts[decoding] = found.illegal
    assert counts["argmax"] > 0 and counts["viterbi"] == 0
    with pytest.raises(AssertionError, match="--decoding must be one of"):
        run_script("run_ner.py", "--model_name_or_path", str(trained), "--test_file", str(TEST), "--do_predict",
                   "--decoding", "beam", "--output_dir", str(tmp_path / "bad"))
    process = run_script("run_ner.py", "--model_name_or_path", str(trained), "--test_file", str(TEST), "--do_predict",
                         "--decoding", "crf", "--output_dir", str(tmp_path / "no_crf"), check=False)
    assert process.returncode != 0 and (f"--decoding crf: {trained} has no CRF layer (no crf.* weights): it was not "
                                        "trained with --decoding crf.") in process.stderr


def test_crf_trains_saves_reloads_and_plain_transformers_still_loads_it(tiny_models, tmp_path):
    from safetensors import safe_open
    from transformers import AutoModelForTokenClassification, pipeline

    from bertft_utils.modeling.crf import FORBIDDEN

    rng = random.Random(2)
    train = write_conll(tmp_path / "train.txt", [synthetic_sentence(rng, rng.randint(1, 3)) for _ in range(200)])
    test = write_conll(tmp_path / "test.txt", [synthetic_sentence(rng, 30)] + [synthetic_sentence(rng)] * 3)
    out = tmp_path / "crf"
    run_script("run_ner.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(train),
               "--test_file", str(test), "--validation_split_percentage", "10", "--test_split_percentage", "0",
               "--max_seq_length", "32", "--doc_stride", "8", "--num_train_epochs", "4", "--add_unk_chars",
               "--decoding", "crf", "--do_train", "--do_eval", "--do_predict", "--output_dir", str(out), *FAST)
    test_results = json.loads((out / "test_results.json").read_text())
    assert test_results["test_illegal_predicted_transitions"] == 0
    assert "(IOB2, decoding: crf)" in (out / "test_entity_report.txt").read_text()
    assert test_results["test_f1"] > 0.9, test_results  # learnable, and the long sentence spans many windows
    assert "eval_f1" in json.loads((out / "eval_results.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert config["bertft_crf"] is True
    with safe_open(str(out / "model.safetensors"), framework="pt") as weights:
        transitions = weights.get_tensor("crf.transitions")
        labels = [config["id2label"][str(i)] for i in range(len(config["id2label"]))]
    o, b_loc, i_loc = (labels.index(tag) for tag in ("O", "B-LOC", "I-LOC"))
    assert transitions[o, i_loc] < FORBIDDEN / 2  # forbidden at the start, still forbidden
    assert transitions[b_loc, i_loc] != 0.0  # the allowed moves were trained
    # our script reloads the CRF by default (no --decoding) and predicts the same tags
    again = tmp_path / "again"
    run_script("run_ner.py", "--model_name_or_path", str(out), "--test_file", str(test), "--max_seq_length", "32",
               "--doc_stride", "8", "--do_predict", "--output_dir", str(again))
    assert "(IOB2, decoding: crf)" in (again / "test_entity_report.txt").read_text()
    assert (again / "predictions.txt").read_text() == (out / "predictions.txt").read_text()
    # plain transformers: an ordinary token classifier (the crf.* weights unused); pipeline gives per-token argmax
    model = AutoModelForTokenClassification.from_pretrained(str(out))
    assert not hasattr(model, "crf")
    ner = pipeline("token-classification", model=str(out), aggregation_strategy="simple", device="cpu")
    assert {g["entity_group"] for g in ner("李大华在上海工作。")} == {"PER", "LOC"}
    # fine-tuning on from it without a CRF records that the new model has none
    plain = tmp_path / "plain"
    run_script("run_ner.py", "--model_name_or_path", str(out), "--train_file", str(train), "--max_train_samples",
               "20", "--test_split_percentage", "0", "--num_train_epochs", "1",
               "--decoding", "viterbi", "--do_train", "--output_dir", str(plain), *FAST)
    assert json.loads((plain / "config.json").read_text())["bertft_crf"] is False


def test_a_test_tag_never_seen_in_training_is_named_or_kept_with_the_flag(tiny_models, tmp_path):
    """Gold tags of the test file checked against the training tags (read as they are asked for, never all listed)."""
    rng = random.Random(0)
    train = write_conll(tmp_path / "train.txt", [(s[0], ["O" if t.endswith("LOC") else t for t in s[1]])
                                                 for s in distinct([synthetic_sentence(rng) for _ in range(12)])])
    test = write_conll(tmp_path / "test.txt", [synthetic_sentence(rng) for _ in range(3)])
    args = ["--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(train), "--test_file", str(test),
            "--validation_split_percentage", "0", "--test_split_percentage", "0", "--max_steps", "1", "--do_train",
            "--do_predict", *FAST]
    process = run_script("run_ner.py", *args, "--output_dir", str(tmp_path / "refused"), check=False)
    assert process.returncode != 0
    assert "Labels that never occur in the training data: test: ['B-LOC', 'I-LOC']." in process.stderr
    run_script("run_ner.py", *args, "--allow_unseen_labels", "--output_dir", str(tmp_path / "kept"))
    rows, _ = read_tagged_output(tmp_path / "kept" / "predictions.txt")
    assert {gold for _, gold, _ in rows} == {"O", "B-PER", "I-PER", "B-LOC", "I-LOC"}  # scored as given


def test_a_conll_file_of_any_tokens_and_tag_ids_round_trips_through_predictions_report_and_compare(tiny_models,
                                                                                                     tmp_path):
    """BC5CDR's test file has a line `{`; tokens `(`, `[`, `#` begin lines too; tags given as ids with --tag_names.
    predictions.txt is read back as the run wrote it (a `{` line was once taken for JSON and the run crashed after
    scoring) and its gold column holds the tag names (ids were once compared with names)."""
    from bertft_utils.evaluation.comparison import compare, load_run
    from bertft_utils.evaluation.uncertainty import Bootstrap

    names = ["O", "B-Chemical", "I-Chemical"]
    odd = [(["{", "Na", "}", "("], ["0", "1", "2", "0"]), (["[", "#", "Cl", "]"], ["0", "0", "1", "0"]),
           (["#", "5", "mg", "("], ["0", "0", "0", "0"])] * 10
    sentences = distinct(odd, [str(i) for i in range(30)])
    train = write_conll(tmp_path / "bc5cdr.txt", [(tokens, ["0" if t == "O" else t for t in tags])
                                                  for tokens, tags in sentences])
    out = tmp_path / "out"
    run_script("run_ner.py", "--model_name_or_path", str(tiny_models["bert"]), "--train_file", str(train),
               "--tag_names", ",".join(names), "--validation_split_percentage", "0", "--test_split_percentage", "30",
               "--num_train_epochs", "1", "--do_train", "--do_predict", "--output_dir", str(out), *FAST)
    run = load_run(out)
    assert {token[0] for sentence in run.items for token in sentence} & {"{", "[", "#", "("}
    assert {tag for tags in run.gold for tag in tags} <= set(names)  # names, not ids
    expected = {tuple(tokens): [names[int(t)] for t in tags] for tokens, tags in sentences}
    assert all(gold == expected[tuple(tokens)] for tokens, gold in zip(run.items, run.gold, strict=True))
    test = json.loads((out / "test_results.json").read_text())
    assert compare({"a": [run], "b": [load_run(out)]}, Bootstrap(50, 0))["metrics"]["f1"]["groups"]["a"]["mean"] == \
        pytest.approx(test["test_f1"])
    shown = report_items(out)  # report.html, built from predictions.txt after the scores
    assert len(shown) == len(run.items) and {"{", "[", "#", "("} & {t for item in shown for t in item["t"]}
