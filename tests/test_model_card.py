"""The model card says what the run did: its length as the flags set it, and how its split was made."""

from bertft_utils.config.arguments import BertftTrainingArguments
from bertft_utils.publishing.model_card import ModelCardFacts, render_model_card


def card(tmp_path, stratified: bool, **training) -> str:
    facts = ModelCardFacts(base_model="google-bert/bert-base-chinese", task="token-classification",
                           dataset="train.txt", labels=["O", "B-PER", "I-PER"], script="run_ner.py",
                           split_sizes={"train": 90, "test": 10}, stratified_split=stratified)
    return render_model_card(facts, "me/model", BertftTrainingArguments(output_dir=str(tmp_path), report_to=[],
                                                                         **training))


def test_the_card_gives_steps_under_max_steps_and_says_whether_the_split_was_stratified(tmp_path):
    stepped = card(tmp_path, False, max_steps=7, num_train_epochs=3)
    assert "7 steps (--max_steps)" in stepped and "3 epochs" not in stepped
    assert "(seeded)." in stepped and "stratified" not in stepped  # NER, multi-label, regression: a plain shuffle
    by_epochs = card(tmp_path, True, num_train_epochs=3)
    assert "3 epochs" in by_epochs and "(seeded and stratified by label)." in by_epochs
