import pytest
from transformers import BertConfig

from bertft_utils.data.prompts import PromptTemplate, validate_template


def test_presets_and_custom_templates():
    assert PromptTemplate("department")("停車") == "問題：停車 請問負責的單位是？"
    assert PromptTemplate("Q: {question} {{dept}}")("x") == "Q: x {dept}"
    assert PromptTemplate()("x") == "x"


@pytest.mark.parametrize("template, message", [
    ("問題：請問負責的單位是？", r"no \{question\} field"),
    ("{question} {answer}", r"unknown field\(s\) \['answer'\]"),
    ("{question", "not a valid template"),
])
def test_invalid_templates(template, message):
    with pytest.raises(ValueError, match=message):
        validate_template(template)


def test_template_is_stored_and_a_different_one_refused():
    config = BertConfig()
    assert PromptTemplate.resolve(None, config).template == "{question}"
    assert config.bertft_prompt_template == "{question}"  # plain is stored too: a reload cannot be fed otherwise
    with pytest.raises(ValueError, match="fine-tuned with --prompt_template"):
        PromptTemplate.resolve("department", config)
    other = BertConfig()
    PromptTemplate.resolve("department", other)
    assert PromptTemplate.resolve(None, other)("x") == "問題：x 請問負責的單位是？"
