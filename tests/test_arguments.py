import json

import pytest

from bertft_utils.arguments import BertftTrainingArguments, DataArguments, ModelArguments, parse_arguments


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
