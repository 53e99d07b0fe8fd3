"""Prompt-style wrapping of a question before tokenization (`問題：{question} 請問負責的單位是？`).

The template is stored in the saved config (`bertft_prompt_template`) and applied identically at train, eval and
predict time; a reloaded model refuses a different template.
"""

from __future__ import annotations

from string import Formatter

from bertft_utils.config.stored_settings import resolve_stored
from bertft_utils.errors import UsageError

CONFIG_KEY = "bertft_prompt_template"
PRESETS = {
    "plain": "{question}",
    "question": "問題：{question}",
    "department": "問題：{question} 請問負責的單位是？",
    "english": "Question: {question} Which department is responsible?",
}
PLAIN = PRESETS["plain"]


def validate_template(template: str) -> str:
    """A preset name or a template with exactly the field {question}; literal braces are written {{ }}."""
    template = PRESETS.get(template, template)
    try:
        fields = {name for _, name, _, _ in Formatter().parse(template) if name is not None}
    except ValueError as error:
        raise UsageError(f"--prompt_template {template!r} is not a valid template ({error}). Write literal braces "
                         "as {{ and }}.") from None
    if fields != {"question"}:
        extra = sorted(fields - {"question"})
        problem = f"unknown field(s) {extra}" if extra else "no {question} field"
        raise UsageError(f"--prompt_template {template!r}: {problem}. Use exactly one field, {{question}}, or a "
                         f"preset: {', '.join(PRESETS)}.")
    return template


class PromptTemplate:
    def __init__(self, template: str = PLAIN):
        self.template = validate_template(template)

    def __call__(self, question: str) -> str:
        return self.template.format(question=question)

    @classmethod
    def resolve(cls, argument: str | None, config) -> PromptTemplate:
        """--prompt_template, else the template stored with a fine-tuned model, else plain; stored in config."""
        given = validate_template(argument) if argument else None
        template = resolve_stored(config, CONFIG_KEY, given, "--prompt_template", default=PLAIN)
        return cls(template)
