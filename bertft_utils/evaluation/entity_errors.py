"""Where a tagger goes wrong: the entities of gold and predicted tags (seqeval's chunking, the same as the headline
scores), the four schemes of SemEval-2013 task 9 as nervaluate computes them (strict, exact boundary, partial
boundary, type; with correct/incorrect/partial/missed/spurious counts, overall and per type), and each entity's
error kind.

The error kinds are our own: nervaluate scores each type on that type's entities only, so a PER tagged LOC counts
there as a missed PER and a spurious LOC; the kinds attribute it to the gold type as a type error.
"""

from __future__ import annotations

Span = tuple[str, int, int]  # entity type, first token, one past the last token

# Our names of SemEval-2013 task 9's schemes -> nervaluate's.
SCHEMES = {"strict": "strict", "exact": "exact", "partial": "partial", "type": "ent_type"}
SCHEME_MEANING = {"strict": "exact boundary and type", "exact": "exact boundary, any type",
                  "partial": "overlapping boundary counts half, any type", "type": "overlapping boundary, same type"}
COUNTS = ("correct", "incorrect", "partial", "missed", "spurious")
# What happened to a gold entity; a predicted entity overlapping no gold one is "spurious".
ERROR_KINDS = ("correct", "wrong_type", "wrong_boundary", "wrong_boundary_and_type", "missed", "spurious")


def sentence_entities(tags: list[str], strict_scheme: str | None = None) -> list[Span]:
    """The entities of one sentence's tags, chunked as seqeval chunks them (its default mode, or its strict mode
    under `strict_scheme`, where ill-formed entities do not count)."""
    if strict_scheme:
        from seqeval import scheme as seqeval_schemes

        chunks = seqeval_schemes.Entities([tags], getattr(seqeval_schemes, strict_scheme)).entities[0]
        return [(chunk.tag, chunk.start, chunk.end) for chunk in chunks]
    from seqeval.metrics.sequence_labeling import get_entities

    return [(kind, start, end + 1) for kind, start, end in get_entities(list(tags))]


def partial_match_scores(gold: list[list[Span]], predicted: list[list[Span]]) -> dict:
    """nervaluate's four schemes over sentences of entities: {"overall": {scheme: scores}, "per_type": {type:
    {scheme: scores}}}, scores being precision, recall, f1 and the COUNTS."""
    from nervaluate import Evaluator

    types = sorted({kind for spans in (*gold, *predicted) for kind, _, _ in spans})
    if not types:
        empty = {scheme: {**dict.fromkeys(COUNTS, 0), "precision": 0.0, "recall": 0.0, "f1": 0.0}
                 for scheme in SCHEMES}
        return {"overall": empty, "per_type": {}}

    def as_dicts(sentences: list[list[Span]]) -> list[list[dict]]:
        return [[{"label": kind, "start": start, "end": end - 1} for kind, start, end in spans]
                for spans in sentences]

    results = Evaluator(as_dicts(gold), as_dicts(predicted), tags=types, loader="dict").evaluate()

    def scores(result) -> dict:
        return {**{count: int(getattr(result, count)) for count in COUNTS},
                "precision": float(result.precision), "recall": float(result.recall), "f1": float(result.f1)}

    return {"overall": {ours: scores(results["overall"][theirs]) for ours, theirs in SCHEMES.items()},
            "per_type": {kind: {ours: scores(by_scheme[theirs]) for ours, theirs in SCHEMES.items()}
                         for kind, by_scheme in sorted(results["entities"].items())}}


def _overlaps(a: Span, b: Span) -> bool:
    return a[1] < b[2] and b[1] < a[2]


def error_kinds(gold: list[Span], predicted: list[Span]) -> tuple[list[str], list[str]]:
    """Each gold entity's kind (correct, wrong_type: same boundary; wrong_boundary: overlapping, same type;
    wrong_boundary_and_type; missed: no predicted entity overlaps it) and each predicted entity's: the kind of the
    gold entity it answers (an exact one first, else the first overlapping one of the same type, else the first
    overlapping one), else a boundary error when it overlaps a gold entity, else spurious."""
    gold_kinds: list[str] = []
    answered: dict[int, str] = {}
    for entity in gold:
        exact = [i for i, p in enumerate(predicted) if p[1:] == entity[1:]]
        overlapping = [i for i, p in enumerate(predicted) if _overlaps(p, entity)]
        if exact:
            index = exact[0]
            kind = "correct" if predicted[index][0] == entity[0] else "wrong_type"
        elif overlapping:
            same_type = [i for i in overlapping if predicted[i][0] == entity[0]]
            index = (same_type or overlapping)[0]
            kind = "wrong_boundary" if same_type else "wrong_boundary_and_type"
        else:
            gold_kinds.append("missed")
            continue
        gold_kinds.append(kind)
        if answered.get(index) != "correct":
            answered[index] = kind

    def predicted_kind(index: int) -> str:
        if index in answered:
            return answered[index]
        overlapped = [g for g in gold if _overlaps(g, predicted[index])]
        if not overlapped:
            return "spurious"
        return "wrong_boundary" if any(g[0] == predicted[index][0] for g in overlapped) else "wrong_boundary_and_type"

    return gold_kinds, [predicted_kind(i) for i in range(len(predicted))]


def error_table(gold: list[list[Span]], predicted: list[list[Span]]) -> dict[str, dict[str, int]]:
    """Per gold type (and "overall"): gold entities, and how many were of each of ERROR_KINDS (spurious: predicted
    entities of that type overlapping no gold entity)."""
    table: dict[str, dict[str, int]] = {}

    def row(kind: str) -> dict[str, int]:
        return table.setdefault(kind, {"gold": 0, **dict.fromkeys(ERROR_KINDS, 0)})

    for gold_spans, predicted_spans in zip(gold, predicted, strict=True):
        gold_kinds, predicted_kinds = error_kinds(gold_spans, predicted_spans)
        for (entity_type, _, _), kind in zip(gold_spans, gold_kinds, strict=True):
            row(entity_type)["gold"] += 1
            row(entity_type)[kind] += 1
        for (entity_type, _, _), kind in zip(predicted_spans, predicted_kinds, strict=True):
            if kind == "spurious":
                row(entity_type)["spurious"] += 1
    overall = {column: sum(values[column] for values in table.values()) for column in ("gold", *ERROR_KINDS)}
    return {**dict(sorted(table.items())), "overall": overall}


def entity_error_scores(gold_tags: list[list[str]], predicted_tags: list[list[str]],
                        strict_scheme: str | None = None) -> dict:
    """The partial-match scores and the error table of tagged sentences, the flat numbers (`strict_f1`,
    `partial_correct`, `wrong_type_entities`, ...) beside them, and their text report."""
    gold = [sentence_entities(tags, strict_scheme) for tags in gold_tags]
    predicted = [sentence_entities(tags, strict_scheme) for tags in predicted_tags]
    partial = partial_match_scores(gold, predicted)
    errors = error_table(gold, predicted)
    flat = {f"{scheme}_{name}": value for scheme, scores in partial["overall"].items()
            for name, value in scores.items()}
    flat.update({f"{kind}_entities": errors["overall"][kind] for kind in ERROR_KINDS})
    return {**flat, "partial_match": partial, "entity_errors": errors,
            "partial_match_text": format_entity_errors(partial, errors)}


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    return "\n".join("  ".join(str(cell).rjust(width) if i else str(cell).ljust(width)
                               for i, (cell, width) in enumerate(zip(line, widths, strict=True)))
                     for line in [header, *rows]) + "\n"


def format_entity_errors(partial: dict, errors: dict) -> str:
    """The text of the partial-match schemes (overall, then F1 per type and scheme) and of the error table."""
    overall = _table(["scheme", *COUNTS, "precision", "recall", "f1"],
                     [[scheme, *(scores[c] for c in COUNTS), *(f"{scores[m]:.4f}" for m in ("precision", "recall",
                                                                                            "f1"))]
                      for scheme, scores in partial["overall"].items()])
    overall += "".join(f"  {scheme}: {meaning}\n" for scheme, meaning in SCHEME_MEANING.items())
    per_type = _table(["type", *(f"{scheme} f1" for scheme in SCHEMES)],
                      [[kind, *(f"{by_scheme[s]['f1']:.4f}" for s in SCHEMES)]
                       for kind, by_scheme in partial["per_type"].items()])
    table = _table(["type", "gold", *(kind.replace("_", " ") for kind in ERROR_KINDS)],
                   [[kind, values["gold"], *(values[k] for k in ERROR_KINDS)] for kind, values in errors.items()])
    return ("\nPartial matches (SemEval-2013 task 9 schemes, nervaluate; the seqeval scores above are the headline, "
            "and strict equals them):\n" + overall
            + "\nF1 per type and scheme (each type scored on its own entities, so a wrong type counts there as a "
              "miss and a spurious entity):\n" + per_type
            + "\nErrors per gold type (each gold entity once; spurious: predicted entities of the type overlapping "
              "no gold entity):\n" + table)
