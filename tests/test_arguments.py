import json

import pytest

from bertft_utils.config.arguments import BertftTrainingArguments, DataArguments, ModelArguments, parse_arguments


def test_json_config_file(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "x", "label": 1}\n')
    config = tmp_path / "args.json"
    config.write_text(json.dumps({"train_file": str(data), "output_dir": str(tmp_path / "o"), "max_seq_length": 32}))
    model_args, data_args, training_args = parse_arguments(
        ModelArguments, DataArguments, BertftTrainingArguments, args=[str(config)])
    assert data_args.max_seq_length == 32 and model_args.model_name_or_path == "embedded"
    assert training_args.train_sampling_strategy == "group_by_length"


@pytest.mark.parametrize("kwargs, message", [
    ({"train_file": "/nonexistent.jsonl"}, "does not exist"),
    ({"validation_split_percentage": 60, "test_split_percentage": 40}, "must leave data for training"),
    ({"max_train_samples": 0}, "--max_train_samples must be >= 1"),
])
def test_data_argument_validation(kwargs, message):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        DataArguments(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"mlm_warmup_epochs": -1}, "--mlm_warmup_epochs must be >= 0"),
    ({"mlm_probability": 1.5}, "--mlm_probability must be between 0 and 1"),
    ({"mlm_warmup_trains": "encoder"}, "--mlm_warmup_trains must be 'embeddings' or 'all', got 'encoder'"),
    ({"embedding_learning_rate": 0}, "--embedding_learning_rate must be > 0"),
])
def test_model_argument_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelArguments(**kwargs)


def load_script(name):
    import importlib.util
    import sys

    from conftest import REPO

    spec = importlib.util.spec_from_file_location(f"{name}_module", REPO / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_hugging_face_flag_names_are_aliases():
    from bertft_utils.config.arguments import ArgumentParser

    ner = load_script("run_ner")
    (parsed,) = ArgumentParser(ner.NerDataArguments).parse_args_into_dataclasses(
        ["--text_column_name", "words", "--label_column_name", "ner"])
    assert (parsed.tokens_column_name, parsed.tags_column_name) == ("words", "ner")
    classify = load_script("run_classify")
    (parsed,) = ArgumentParser(classify.ClassificationDataArguments).parse_args_into_dataclasses(
        ["--text_column_names", "title,body"])
    assert parsed.text_column_name == "title,body"


def test_an_unknown_inference_backend_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"^--inference_backend must be 'torch' or 'onnxruntime', got 'tensorrt'\.$"):
        BertftTrainingArguments(output_dir=str(tmp_path), report_to=[], inference_backend="tensorrt")


def test_negative_bootstrap_resamples_are_refused(tmp_path):
    message = r"^--bootstrap_resamples must be >= 0 \(0: no confidence intervals\), got -1\.$"
    with pytest.raises(ValueError, match=message):
        BertftTrainingArguments(output_dir=str(tmp_path), report_to=[], bootstrap_resamples=-1)


def script_arguments(script: str) -> tuple:
    import importlib.util
    import sys

    from conftest import REPO

    spec = importlib.util.spec_from_file_location(script.removesuffix(".py"), REPO / script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.ARGUMENT_CLASSES


@pytest.mark.parametrize("script", ["run_classify.py", "run_ner.py", "run_qa_label.py"])
def test_hf_flags_we_do_not_take_are_refused_saying_what_we_do_instead(script, tmp_path):
    import dataclasses

    from bertft_utils.config.hf_flags import NOT_TAKEN
    from bertft_utils.errors import UsageError

    classes = script_arguments(script)
    taken = {item.name for kind in classes for item in dataclasses.fields(kind)}
    base = ["--model_name_or_path", "embedded", "--output_dir", str(tmp_path / "o")]
    for flag, line in ((flag, line) for flag, line in NOT_TAKEN.items() if flag not in taken):
        with pytest.raises(UsageError) as error:
            parse_arguments(*classes, args=[*base, f"--{flag}", "1"])
        assert str(error.value) == f"--{flag} (a flag of Hugging Face's example scripts): {line}"
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"model_name_or_path": "embedded", "output_dir": str(tmp_path), "shuffle_seed": 3}))
    with pytest.raises(UsageError, match="--shuffle_seed .*: the Trainer shuffles"):
        parse_arguments(*classes, args=[str(config)])


def test_hf_flags_we_take_keep_their_meaning(tmp_path):
    _, data, _ = parse_arguments(*script_arguments("run_ner.py"), args=[
        "--model_name_or_path", "embedded", "--output_dir", str(tmp_path), "--return_entity_level_metrics"])
    assert data.return_entity_level_metrics is True
    from bertft_utils.tasks.classify import classify_task

    _, data, _ = parse_arguments(*script_arguments("run_classify.py"), args=[
        "--model_name_or_path", "embedded", "--output_dir", str(tmp_path), "--text_column_name", "title,body",
        "--text_column_delimiter", " | "])
    table = tmp_path / "t.csv"
    table.write_text("title,body,label\nA day,in town,0\n", encoding="utf-8")
    assert classify_task(data).read(str(table), "train").texts == ["A day | in town"]


@pytest.mark.parametrize(("script", "flags", "message"), [
    ("run_classify.py", ["--long_text_strategy", "slide"], "--long_text_strategy must be 'truncate' or 'windows', "
                                                            "got 'slide'."),
    ("run_classify.py", ["--doc_stride", "64", "--max_seq_length", "128"], "--doc_stride must be in [0, 64) for "
                                                                           "--max_seq_length 128, got 64."),
    ("run_classify.py", ["--do_regression", "--rename_labels", "0=a,1=b"], "--do_regression reads numbers: "
                                                                           "--rename_labels and --positive_label "
                                                                           "name classes."),
    ("run_classify.py", ["--class_weights", "[1, 2]"], "--class_weights must be 'balanced' or a JSON object"),
    ("run_ner.py", ["--output_format", "brat"], "--output_format must be 'tags' or 'spans', got 'brat'."),
    ("run_classify.py", ["--multilabel_threshold", "1.5"], "--multilabel_threshold must be a probability in (0, 1), "
                                                           "got 1.5."),
    ("run_classify.py", ["--label_delimiter", ""], "--label_delimiter must not be empty (e.g. ',')."),
    ("run_classify.py", ["--do_regression", "--label_delimiter", ","], "--do_regression reads one number per record: "
                                                                       "--label_delimiter and --multilabel_threshold "
                                                                       "are for multi-label classification."),
    ("run_classify.py", ["--column_names", "text,,id"], "--column_names must name every column, comma-separated; got "
                                                        "'text,,id'."),
])
def test_new_options_refuse_bad_values_saying_what_is_allowed(script, flags, message, tmp_path):
    from bertft_utils.errors import UsageError

    with pytest.raises(UsageError) as error:
        parse_arguments(*script_arguments(script), args=["--model_name_or_path", "embedded", "--output_dir",
                                                         str(tmp_path), *flags])
    assert str(error.value).startswith(message)


def test_windows_refuse_sentence_pairs_and_the_reproduction_refuses_a_bad_budget(tiny_models):
    import os
    import subprocess

    from conftest import REPO
    from transformers import AutoTokenizer

    from bertft_utils.errors import UsageError
    from bertft_utils.tasks.sequence import encode_texts

    tokenizer = AutoTokenizer.from_pretrained(tiny_models["bert"])
    with pytest.raises(UsageError, match="--long_text_strategy windows reads single texts; sentence pairs are "
                                         "truncated longest first"):
        encode_texts(["a b"], None, tokenizer, 16, False, "test", pairs=["c"], window_stride=4)
    refused = subprocess.run(["bash", str(REPO / "scripts" / "reproduce_classify.sh")], capture_output=True,
                             text=True, env={**os.environ, "HP_TRIALS": "ten"})
    assert refused.returncode == 2
    assert "HP_TRIALS must be a number of trials (0: no search), got 'ten'" in refused.stderr


def test_a_multilabel_task_refuses_a_positive_label():
    from types import SimpleNamespace

    from transformers import BertConfig

    from bertft_utils.errors import UsageError
    from bertft_utils.tasks.classify import classify_task

    data = SimpleNamespace(data_format=None, tsv_quoting=False, text_column_name="text", label_column_name="labels",
                           rename_labels=None, positive_label="joy", text_pair_column_name=None,
                           text_column_delimiter=" ", regex_transformations=None, label_delimiter=",",
                           train_file=None, validation_file=None, test_file=None)
    with pytest.raises(UsageError, match=r"^--positive_label names the positive class of a two-class task; a "
                                         r"multi-label task scores every label\.$"):
        classify_task(data).configure(BertConfig())


def test_a_pickle_of_the_training_arguments_holds_no_credential_but_a_copy_does(tmp_path):
    import copy
    import pickle

    from bertft_utils.config.arguments import BertftTrainingArguments

    args = BertftTrainingArguments(output_dir=str(tmp_path), hub_token="hf_secret_1", hp_search_storage="sqlite:///x",
                                   learning_rate=3e-4)
    restored = pickle.loads(pickle.dumps(args))
    assert restored.hub_token is None and restored.hp_search_storage is None and restored.learning_rate == 3e-4
    assert b"hf_secret_1" not in pickle.dumps(args)
    assert copy.deepcopy(args).hub_token == "hf_secret_1" and copy.copy(args).hub_token == "hf_secret_1"
    assert args.hub_token == "hf_secret_1"  # pickling changed nothing in the live arguments
