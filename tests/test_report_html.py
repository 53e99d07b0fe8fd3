"""report.html: what the page holds (built from prediction files) and how it behaves in a real browser (headless
Chromium driven by selenium; CI installs Debian's chromium and chromium-driver, and sets BERTFT_REQUIRE_BROWSER=1
so that a missing browser fails instead of skipping)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from conftest import REPO

from bertft_utils.errors import UsageError
from bertft_utils.evaluation.html_report import comparison_page, render, run_page, write_comparison_report
from bertft_utils.testing.browser import CHROMEDRIVER, CHROMIUM

# token, gold, predicted: a wrong type, a sentence without errors, a missed LOC and a spurious PER
NER_PREDICTIONS = ("张\tB-PER\tB-PER\n三\tI-PER\tI-PER\n在\tO\tO\n北\tB-LOC\tB-ORG\n京\tI-LOC\tI-ORG\n\n"
                   "李\tB-PER\tB-PER\n四\tI-PER\tI-PER\n\n"
                   "上\tB-LOC\tO\n海\tI-LOC\tO\n好\tO\tB-PER\n\n")
# gold, predicted, probability, second label and its probability
CLASSIFIED = [("a", "b", 0.6, "a", 0.4), ("a", "b", 0.9, "a", 0.1), ("b", "b", 0.8, "a", 0.2),
              ("a", "a", 0.7, "b", 0.3), ("b", "a", 0.55, "b", 0.45)]


def ner_run(folder: Path, text: str = NER_PREDICTIONS) -> Path:
    folder.mkdir(parents=True)
    (folder / "predictions.txt").write_text(text, encoding="utf-8")
    return folder


def classification_run(folder: Path, rows=CLASSIFIED) -> Path:
    folder.mkdir(parents=True)
    lines = ["file\tline\ttext\tgold\tpredicted\tprobability\ttop2_label\ttop2_probability"]
    lines += [f"t.csv\t{i + 2}\theadline <{i}> & more\t{g}\t{p}\t{pr}\t{l2}\t{p2}"
              for i, (g, p, pr, l2, p2) in enumerate(rows)]
    (folder / "predictions.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def embedded(html: str) -> dict:
    """The JSON data block of a page."""
    start = html.index('<script id="data" type="application/json">') + len('<script id="data" type="application/json">')
    return json.loads(html[start:html.index("</script>", start)])


def test_ner_page_puts_sentences_with_errors_first_and_names_each_error(tmp_path):
    page = run_page(ner_run(tmp_path / "run"))
    assert [item["n"] for item in page["items"]] == [1, 3, 2]
    first, third = page["items"][0], page["items"][1]
    assert first["g"] == [["PER", 0, 2, "correct"], ["LOC", 3, 5, "wrong_type"]]
    assert third["p"] == [["PER", 2, 3, "spurious"]] and "kind:missed" in third["f"] and "type:LOC" in third["f"]
    assert page["errors"][-1] == ["overall", 4, 2, 1, 0, 0, 1, 1]  # gold, correct, wrong type, ..., missed, spurious


def test_classification_page_lists_the_most_confident_errors_first_and_the_confusions(tmp_path):
    page = run_page(classification_run(tmp_path / "run"))
    assert [item["pr"] for item in page["items"]] == [0.9, 0.6, 0.55, 0.7, 0.8]
    assert page["matrix"] == {"labels": ["a", "b"], "rows": [[1, 2], [1, 1]]}
    assert page["items"][0]["top"] == [["b", 0.9], ["a", 0.1]]  # a wrong answer shows the answers after it
    assert "top" not in page["items"][3]
    html = render(page)
    assert "headline <0> & more" not in html  # texts are escaped inside the data block
    assert embedded(html)["items"][0]["x"] == "headline <1> & more"


def test_comparison_page_puts_disagreements_first_and_refuses_different_test_sets(tmp_path):
    first = classification_run(tmp_path / "bert" / "seed42")
    second = classification_run(tmp_path / "albert" / "seed42", [(g, g, pr, l2, p2) for g, _, pr, l2, p2 in CLASSIFIED])
    page = comparison_page([first, second])
    assert page["models"] == ["bert/seed42", "albert/seed42"]
    assert page["disagreements"] == 3 and all(item["d"] for item in page["items"][:3])
    assert page["items"][0]["oks"] == [False, True] and page["model_accuracy"] == [["bert/seed42", "0.4000"],
                                                                                   ["albert/seed42", "1.0000"]]
    shorter = classification_run(tmp_path / "roberta", CLASSIFIED[:3])
    with pytest.raises(UsageError, match="did not predict the same test set"):
        comparison_page([first, shorter])
    path = write_comparison_report([first, second])
    assert Path(path) == tmp_path / "comparison_report.html" and len(embedded(Path(path).read_text())["items"]) == 5


def test_report_html_command_line_names_a_folder_without_predictions(tmp_path):
    process = subprocess.run([sys.executable, "-m", "bertft_utils.report_html", str(tmp_path)], cwd=REPO,
                             capture_output=True, text=True, timeout=120)
    assert process.returncode == 1
    assert f"error: {tmp_path} holds no predictions.tsv or predictions.txt" in process.stderr


# ---- in a real browser ----


@pytest.fixture(scope="module")
def browser():
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        if os.environ.get("BERTFT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} or {CHROMEDRIVER} missing: apt-get install chromium chromium-driver")
        pytest.skip("headless Chromium not installed (apt-get install chromium chromium-driver)")
    from bertft_utils.testing.browser import headless_chromium

    driver = headless_chromium()
    yield driver
    driver.quit()


def artifact(name: str, tmp_path: Path) -> Path:
    """Where a screenshot is kept: $BERTFT_TEST_ARTIFACTS (CI keeps them), else the test's folder."""
    folder = Path(os.environ.get("BERTFT_TEST_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def open_page(browser, path: Path) -> None:
    from bertft_utils.testing.browser import load

    errors = load(browser, path)
    assert errors == [], errors


def visible_items(browser) -> list:
    return [row for row in browser.find_elements("css selector", "#items > .item") if row.is_displayed()]


def choose(browser, filter_name: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("css selector", f'select[data-name="{filter_name}"]')).select_by_value(value)


def test_ner_page_in_chromium_filters_by_type_and_error_and_searches(browser, tmp_path):
    folder = ner_run(tmp_path / "run")
    page = tmp_path / "run" / "report.html"
    page.write_text(render(run_page(folder)), encoding="utf-8")
    open_page(browser, page)
    assert browser.find_element("id", "count").text == "3 of 3 sentences"
    assert len(browser.find_elements("css selector", "#items mark.err")) == 4  # LOC/ORG twice, missed, spurious
    choose(browser, "type", "type:LOC")
    shown = visible_items(browser)
    assert browser.find_element("id", "count").text == "2 of 3 sentences" and len(shown) == 2
    assert all("LOC" in row.text for row in shown) and "李四" not in " ".join(row.text for row in shown)
    browser.save_screenshot(str(artifact("ner_report_type_filter.png", tmp_path)))
    choose(browser, "type", "")
    choose(browser, "kind", "kind:missed")
    assert [row.text.split("\n")[0] for row in visible_items(browser)] == ["sentence 3 missed spurious"]
    choose(browser, "kind", "")
    browser.find_element("id", "search").send_keys("李")
    assert browser.find_element("id", "count").text == "1 of 3 sentences"


def test_classification_page_in_chromium_shows_a_cells_examples_on_click(browser, tmp_path):
    folder = classification_run(tmp_path / "run")
    page = folder / "report.html"
    page.write_text(render(run_page(folder)), encoding="utf-8")
    open_page(browser, page)
    assert browser.find_element("id", "count").text == "5 of 5 examples"
    browser.find_element("css selector", 'td[data-cell="cell:a→b"]').click()
    shown = visible_items(browser)
    assert len(shown) == 2 and all("gold a · predicted b" in row.text for row in shown)
    assert "headline <1> & more" in shown[0].text  # the most confident error first, its text as written
    browser.save_screenshot(str(artifact("classification_report_cell.png", tmp_path)))


def test_comparison_page_in_chromium_shows_each_runs_prediction(browser, tmp_path):
    first = ner_run(tmp_path / "bert")
    second = ner_run(tmp_path / "roberta", NER_PREDICTIONS.replace("B-ORG", "B-LOC").replace("I-ORG", "I-LOC"))
    path = Path(write_comparison_report([first, second]))
    open_page(browser, path)
    assert browser.find_element("id", "count").text == "3 of 3 sentences"
    choose(browser, "agreement", "disagree")
    shown = visible_items(browser)
    assert len(shown) == 1 and "sentence 1" in shown[0].text and "✓ roberta" in shown[0].text
    browser.save_screenshot(str(artifact("comparison_report.png", tmp_path)))


def test_multilabel_regression_and_unlabelled_pages(tmp_path):
    multilabel = tmp_path / "multilabel"
    multilabel.mkdir()
    (multilabel / "predictions.tsv").write_text(
        "file\tline\ttext\tgold\tpredicted\tpredicted_probabilities\tprobabilities\n"
        't.tsv\t1\tfine\t["joy"]\t["joy"]\t{}\t{}\n'
        't.tsv\t2\tsad and angry\t["anger", "sadness"]\t["joy"]\t{}\t{}\n', encoding="utf-8")
    page = run_page(multilabel)
    assert page["kind"] == "multilabel" and [item["w"] for item in page["items"]] == [3, 0]
    assert page["per_label"][1] == ["joy", "0.5000", "1.0000", "0.6667", 1]
    regression = tmp_path / "regression"
    regression.mkdir()
    (regression / "predictions.tsv").write_text("file\tline\ttext\tgold\tpredicted\nt.tsv\t1\ta\t1.0\t1.5\n"
                                                "t.tsv\t2\tb\t4.0\t2.0\n", encoding="utf-8")
    assert [item["d"] for item in run_page(regression)["items"]] == [2.0, 0.5]  # the largest errors first
    raw = ner_run(tmp_path / "raw", "北\tB-LOC\n京\tI-LOC\n\n")
    page = run_page(raw)
    assert page["labelled"] is False and page["items"][0]["g"] is None and "per_type" not in page
    assert page["items"][0]["p"] == [["LOC", 0, 2, ""]]


def test_ner_page_reads_bmes_middle_tags_as_the_scores_do(tmp_path):
    folder = ner_run(tmp_path / "bmes", "王\tB-PER\tB-PER\n小\tM-PER\tM-PER\n明\tE-PER\tE-PER\n\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # seqeval warns of a tag it does not know ("M-PER seems not to be NE tag")
        page = run_page(folder)
        compared = comparison_page([folder, ner_run(tmp_path / "again", (folder / "predictions.txt").read_text())])
    assert page["items"][0]["g"] == [["PER", 0, 3, "correct"]] and page["per_type"][0][3] == "1.0000"
    assert compared["items"][0]["g"] == [["PER", 0, 3, ""]] and compared["items"][0]["oks"] == [True, True]


def test_unreadable_prediction_files_are_refused_by_file_and_line(tmp_path):
    bad_record = ner_run(tmp_path / "json", '{"tokens": ["北"], "predicted_tags": ["O"]}\n{"tokens": ["京"]}\n')
    with pytest.raises(UsageError, match=r"predictions.txt, line 2: not a prediction record \('predicted_tags'\); "
                                         r"expected JSON with `tokens` and `predicted_tags`"):
        run_page(bad_record)
    lone_token = ner_run(tmp_path / "lone", "北\tB-LOC\tB-LOC\n京\n")
    with pytest.raises(UsageError, match=r"predictions.txt, line 2: expected a token and its predicted tag"):
        run_page(lone_token)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "predictions.tsv").write_text("file\tline\ttext\tgold\tpredicted\tprobability\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"empty/predictions.tsv holds no predictions: nothing to report\."):
        run_page(empty)


def test_ner_page_takes_the_tables_the_run_wrote_after_its_predictions_and_ignores_older_ones(tmp_path):
    folder = ner_run(tmp_path / "run")
    written = {"PER": {"precision": 0.125, "recall": 0.25, "f1-score": 0.5, "support": 9}}
    (folder / "test_entities.json").write_text(json.dumps(written))
    (folder / "test_entity_errors.json").write_text(json.dumps(
        {"partial_match": {"overall": {}}, "errors_per_gold_type": {}}))
    assert run_page(folder)["per_type"] == [["PER", "0.1250", "0.2500", "0.5000", 9]]  # this run's own files
    stale = os.path.getmtime(folder / "predictions.txt") - 60
    for name in ("test_entities.json", "test_entity_errors.json"):
        os.utime(folder / name, (stale, stale))  # an earlier run's tables: computed again from the predictions
    assert run_page(folder)["per_type"][0] == ["LOC", "0.0000", "0.0000", "0.0000", 2]


def test_the_page_heads_with_top_k_accuracy_and_chunks_entities_as_the_run_scored(tmp_path):
    """report.html looked up `top_5_accuracy` (the key is top5_accuracy: top-k never shown) and chunked entities in
    seqeval's default mode after --strict_scoring (a run scored 0.0 showed entities as found)."""
    from bertft_utils.evaluation.html_report import _headline

    run = classification_run(tmp_path / "qa")
    (run / "test_results.json").write_text(json.dumps({"test_accuracy": 0.4, "test_top5_accuracy": 0.8,
                                                       "test_top5_accuracy_ci_low": 0.7,
                                                       "test_top5_accuracy_ci_high": 0.9}))
    assert ("top5 accuracy", "0.8000 (95% CI 0.7000-0.9000)") in _headline(run)
    strict = ner_run(tmp_path / "strict", "北\tB-LOC\tI-LOC\n京\tI-LOC\tI-LOC\n\n")  # starts with I-: ill-formed
    (strict / "test_results.json").write_text(json.dumps({"test_strict_scheme": "IOB2", "test_f1": 0.0}))
    page = run_page(strict)
    assert page["items"][0]["p"] == [] and page["items"][0]["g"] == [["LOC", 0, 2, "missed"]]
