"""Entity tag schemes (BIO/IOB2, IOB1, BIOES/BMES): validation, detection, illegal-sequence counts and repair."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bertft_utils.config.option_values import parse_option_value
from bertft_utils.data.readers import DataFormatError, TokenFile
from bertft_utils.errors import UsageError

_TAG = re.compile(r"^(?:O|[BIEMS]-\S.*)$")
OUTSIDE = ("O", "")  # (prefix, type) of the tag before a sentence's first tag
SCHEMES = ("IOB2", "IOB1", "IOBES")


def validate_tags(token_file: TokenFile) -> None:
    """Every tag is `O` or `B-/I-/E-/M-/S-TYPE`; anything else is an error naming the file and line."""
    for sentence in token_file.sentences:
        if sentence.tags is None:
            continue
        for tag, line in zip(sentence.tags, sentence.lines, strict=True):
            if not _TAG.match(tag):
                hint = (" It looks like an integer tag id: pass --tag_names with the tag names in id order (for a "
                        "Hugging Face dataset: features['ner_tags'].feature.names)." if tag.isdigit() else "")
                raise DataFormatError(
                    f"{token_file.path}, line {line}: unknown tag {tag!r}. Tags must be 'O' or a prefix "
                    f"B-, I-, E-, M- or S- followed by the entity type (e.g. B-PER).{hint}"
                )


def parse_tag_names(value: str) -> list[str]:
    """--tag_names: comma-separated names, a JSON list, or a file with one name per line (or a JSON list)."""
    parsed = parse_option_value(value, "--tag_names")
    names = [str(name).strip() for name in parsed] if isinstance(parsed, list) else []
    if not names or any(not name for name in names) or len(set(names)) != len(names):
        raise UsageError(f"--tag_names must list distinct, non-empty names in id order; got {value!r}.")
    return names


def name_tag_ids(token_file: TokenFile, names: list[str]) -> None:
    """Replace integer tag ids by their names (in place); an id that is not 0..len(names)-1 is an error."""
    for sentence in token_file.sentences:
        if sentence.tags is None:
            continue
        for position, (tag, line) in enumerate(zip(sentence.tags, sentence.lines, strict=True)):
            if not tag.isdecimal() or int(tag) >= len(names):
                raise DataFormatError(
                    f"{token_file.path}, line {line}: tag {tag!r} is not an id between 0 and {len(names) - 1}, "
                    f"but --tag_names says tags are ids of {len(names)} names."
                )
            sentence.tags[position] = names[int(tag)]


def split_tag(tag: str) -> tuple[str, str]:
    """(prefix, type): ("B", "PER") for B-PER, ("O", "") for O."""
    return tag[0], tag[2:]


def to_scoring_tag(tag: str) -> str:
    """BMES `M-X` is the IOBES `I-X` for scoring."""
    return "I" + tag[1:] if tag.startswith("M-") else tag


def detect_scheme(tag_sequences: list[list[str]]) -> str:
    """IOBES if any E-/S-/M- tag occurs; IOB1 if B- only ever separates two adjacent same-type entities and some
    entity starts with I-; else IOB2 (BIO)."""
    b_after_other = False
    i_starts = False
    for tags in tag_sequences:
        previous = OUTSIDE
        for tag in tags:
            prefix, kind = split_tag(tag)
            if prefix in ("E", "S", "M"):
                return "IOBES"
            if prefix == "B" and not (previous[0] in ("B", "I") and previous[1] == kind):
                b_after_other = True
            if prefix == "I" and previous[1] != kind:  # after O (type "") or another type
                i_starts = True
            previous = (prefix, kind)
    return "IOB1" if i_starts and not b_after_other else "IOB2"


def _continues(previous: tuple[str, str], kind: str) -> bool:
    """Whether the previous tag leaves an entity of `kind` open."""
    return previous[0] in ("B", "I", "M") and previous[1] == kind


def _illegal(previous: tuple[str, str], current: tuple[str, str], scheme: str) -> bool:
    prefix, kind = current
    if scheme == "IOB2":
        return prefix == "I" and not _continues(previous, kind)
    if scheme == "IOBES":
        return prefix in ("I", "M", "E") and not _continues(previous, kind)
    return False  # IOB1: an I- tag may start an entity


@dataclass
class TagSequenceReport:
    scheme: str
    illegal: int
    sentences_with_illegal: int


def count_illegal(tag_sequences: list[list[str]], scheme: str) -> TagSequenceReport:
    """Continuation tags (I-/M-/E-) that follow `O` or another type."""
    illegal = sentences = 0
    for tags in tag_sequences:
        previous = OUTSIDE
        found = 0
        for tag in tags:
            current = split_tag(tag)
            found += _illegal(previous, current, scheme)
            previous = current
        illegal += found
        sentences += bool(found)
    return TagSequenceReport(scheme, illegal, sentences)


def repair(tags: list[str], scheme: str) -> list[str]:
    """The conventional repair: an entity that starts with a continuation tag starts there (I-X -> B-X; in
    IOBES a lone continuation becomes S-X/B-X and an unclosed B-/I- gets its E-/S-). IOB1 is converted to IOB2."""
    fixed = []
    previous = OUTSIDE
    for tag in tags:
        prefix, kind = split_tag(tag)
        if scheme in ("IOB2", "IOB1") and prefix == "I" and not _continues(previous, kind):
            prefix = "B"
        elif scheme == "IOBES" and prefix in ("I", "M", "E") and not _continues(previous, kind):
            prefix = "S" if prefix == "E" else "B"
        fixed.append("O" if prefix == "O" else f"{prefix}-{kind}")
        previous = (prefix, kind)
    if scheme == "IOBES":
        for i, tag in enumerate(fixed):
            prefix, kind = split_tag(tag)
            following = split_tag(fixed[i + 1]) if i + 1 < len(fixed) else OUTSIDE
            closes = not (following[0] in ("I", "M", "E") and following[1] == kind)
            if prefix == "B" and closes:
                fixed[i] = f"S-{kind}"
            elif prefix in ("I", "M") and closes:
                fixed[i] = f"E-{kind}"
    return fixed

