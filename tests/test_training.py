from types import SimpleNamespace

from bertft_utils.arguments import ModelArguments
from bertft_utils.training import finetuned_from, publish


class RecordingTrainer:
    def __init__(self):
        self.calls = []

    def push_to_hub(self, **kwargs):
        self.calls.append(("push_to_hub", kwargs))

    def create_model_card(self, **kwargs):
        self.calls.append(("create_model_card", kwargs))


def test_push_to_hub_passes_the_card_details_through():
    trainer = RecordingTrainer()
    publish(trainer, ModelArguments(), SimpleNamespace(push_to_hub=True), "token-classification", "msra.txt")
    assert trainer.calls == [("push_to_hub", {"finetuned_from": "sentence-transformers/all-MiniLM-L6-v2",
                                              "tasks": "token-classification", "dataset": "msra.txt"})]
    trainer = RecordingTrainer()
    publish(trainer, ModelArguments(model_name_or_path="bert-base-chinese"), SimpleNamespace(push_to_hub=False),
            "text-classification", None)
    assert trainer.calls == [("create_model_card", {"finetuned_from": "bert-base-chinese",
                                                    "tasks": "text-classification"})]
    assert finetuned_from(ModelArguments(model_name_or_path="/x/y")) == "/x/y"
