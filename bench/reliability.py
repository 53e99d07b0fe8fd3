#!/usr/bin/env python
"""What happens to records and runs when the input or the environment is hostile: per reader, files full of what
breaks parsers (quotes that never close, tabs and newlines inside texts, CJK, emoji, U+00A0, U+3000, zero-width and
control characters, a BOM, CRLF, very long lines), and per fault (unwritable output folder, full disk while saving,
model folder without weights, Hub name while offline, a directory or binary file as data, SIGKILL mid-training).

Each reader case writes files whose records are known, reads them back and counts the records lost or changed; each
fault runs a real script (tiny look-alike model) and records its exit status, the one line it printed and what it
left behind.

    .venv/bin/python bench/reliability.py            # about 2 minutes on 2 cores; writes results/reliability.{json,md}
    .venv/bin/python bench/reliability.py --report   # rewrite the .md from the committed JSON only
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, facts_markdown, machine_facts, read_json, result_path

sys.path.insert(0, str(REPO))

FILES_PER_CASE = 30
HOSTILE = ['"', "'", "\t", "\u00a0", "\u3000", "\u200b", "\u200d", "\ufeff", "\x1c", "\x85", "\u2028", "😀", "🇹🇼",
           "北", "京", "臺", ",", ";", "\\", "{", "}", "[", "]", " "]


def hostile_text(rng: random.Random, newlines: bool = True, tabs: bool = True) -> str:
    pieces = []
    for _ in range(rng.randint(0, 30)):
        roll = rng.random()
        if roll < 0.5:
            pieces.append(rng.choice(HOSTILE))
        elif roll < 0.9:
            pieces.append(chr(rng.randint(0x20, 0x2FFF)))
        else:
            pieces.append(rng.choice(["\n", "\r\n", "\r"]) if newlines else " ")
    text = "".join(pieces)
    if rng.random() < 0.2:
        text = '"' + text  # a quote that never closes
    if rng.random() < 0.05:
        text += "x" * rng.randint(5000, 20000)  # a very long line
    if not tabs:
        text = text.replace("\t", " ")
    if not newlines:
        text = text.replace("\r", " ").replace("\n", " ").replace("\x1c", " ").replace("\x85", " ").replace(
            "\u2028", " ")
    return text.replace("\x00", "")


def write(folder: Path, name: str, content: str) -> str:
    path = folder / name
    path.write_text(content, encoding="utf-8", newline="")
    return str(path)


def reader_cases(folder: Path) -> list[dict]:
    from bertft_utils.data.readers import (
        DataFormatError,
        read_answer_question_lines,
        read_conll,
        read_table,
        read_text_lines,
    )

    rng = random.Random(2026)
    rows = []

    def case(name: str, make, read, expected_of):
        written = read_back = changed = rejected = 0
        for index in range(FILES_PER_CASE):
            records, content, suffix = make(index)
            path = write(folder, f"{re.sub(r'[^A-Za-z0-9]+', '_', name)}_{index}{suffix}", content)
            written += len(records)
            try:
                got = read(path)
            except DataFormatError:
                rejected += 1
                continue
            read_back += len(got)
            changed += sum(a != b for a, b in zip(got, expected_of(records), strict=False)) + abs(len(got) - len(
                records))
        rows.append({"reader": name, "files": FILES_PER_CASE, "records_written": written, "records_read": read_back,
                     "records_lost_or_changed": changed, "files_rejected": rejected})

    def ending():
        return rng.choice(["\n", "\r\n"])

    def bom():
        return rng.choice(["", "\ufeff"])

    def jsonl(_):
        records = [(hostile_text(rng), str(rng.randint(0, 1))) for _ in range(rng.randint(1, 20))]
        end = ending()
        lines = [json.dumps({"text": t, "label": label}, ensure_ascii=rng.random() < 0.5) for t, label in records]
        return records, bom() + end.join(lines) + end, ".jsonl"

    def json_array(_):
        records = [(hostile_text(rng), str(rng.randint(0, 1))) for _ in range(rng.randint(1, 20))]
        return records, json.dumps([{"text": t, "label": label} for t, label in records], ensure_ascii=False), ".json"

    def csv_file(_):
        records = [(hostile_text(rng), str(rng.randint(0, 1))) for _ in range(rng.randint(1, 20))]
        buffer = io.StringIO()
        writer = csv.writer(buffer)  # standard quoting, \r\n line ends
        writer.writerow(["text", "label"])
        writer.writerows(records)
        return records, bom() + buffer.getvalue(), ".csv"

    def tsv_file(_):
        records = [(hostile_text(rng, newlines=False, tabs=False), str(rng.randint(0, 1)))
                   for _ in range(rng.randint(1, 20))]
        end = ending()
        return records, bom() + end.join(["text\tlabel"] + [f"{t}\t{label}" for t, label in records]) + end, ".tsv"

    def table_records(path):
        return [(r["text"], r["label"]) for r in read_table(path).rows]

    case("jsonl", jsonl, table_records, lambda r: r)
    case("json array", json_array, table_records, lambda r: r)
    case("csv (quoted)", csv_file, table_records, lambda r: r)
    case("tsv (one record per line)", tsv_file, table_records, lambda r: r)

    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "M-ORG", "E-ORG", "S-LOC"]

    def token():
        text = hostile_text(rng, newlines=False, tabs=False)[:4] or "x"
        return "x" if text.startswith("-DOCSTART-") else text

    def conll(_):
        sentences = [[(token(), rng.choice(tags)) for _ in range(rng.randint(1, 40))] for _ in range(rng.randint(1, 8))]
        end = ending()
        blocks = [end.join(f"{t}\t{g}" for t, g in s) for s in sentences]
        return sentences, bom() + (end + end).join(blocks) + end, ".txt"

    case("CoNLL / MSRA / BMES (token<TAB>tag)", conll,
         lambda p: [list(zip(s.tokens, s.tags, strict=True)) for s in read_conll(p).sentences], lambda r: r)

    def answer_question(_):
        records = []
        for _ in range(rng.randint(1, 20)):
            answer = "".join(rng.choice("臺北市政府衛生局ABC123") for _ in range(rng.randint(1, 10)))
            question = hostile_text(rng, newlines=False).strip() or "q"
            records.append((answer, question, rng.choice([" ", "\u00a0 ", "\t"])))
        end = ending()
        return records, bom() + end.join(f"{a}{sep}{q}" for a, q, sep in records) + end, ".txt"

    case("answer question lines (Taipei QA)", answer_question,
         lambda p: [(r["answer"], r["question"]) for r in read_answer_question_lines(p).rows],
         lambda r: [(a, q) for a, q, _ in r])

    def raw_text(_):
        lines = [hostile_text(rng, newlines=False) or "x" for _ in range(rng.randint(1, 20))]
        lines = [line if line.strip() else line + "x" for line in lines]
        return lines, "\n".join(lines) + "\n", ".txt"

    case("raw text for prediction (one sentence per line)", raw_text,
         lambda p: ["".join(s.tokens) for s in read_text_lines(p).sentences], lambda r: r)

    # The case: a Chinese review corpus, label<TAB>text_a, texts opening a quote that never closes.
    corpus = ["label\ttext_a"] + [f'{i % 2}\t"商品名{i}" 很好用，推薦' if i % 3 else f"{i % 2}\t普通的評論 {i}"
                                  for i in range(402)]
    path = write(folder, "reviews.tsv", "\n".join(corpus) + "\n")
    read_back = len(read_table(path).rows)
    rows.append({"reader": "tsv review corpus with unclosed quotes (402 rows)", "files": 1, "records_written": 402,
                 "records_read": read_back, "records_lost_or_changed": 402 - read_back, "files_rejected": 0})
    return rows


def run_script(script: str, args: list[str], env_extra: dict | None = None, preexec=None) -> tuple[int, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
           **(env_extra or {})}
    process = subprocess.run([sys.executable, str(REPO / script), *args], cwd=REPO, env=env, capture_output=True,
                             text=True, timeout=600, preexec_fn=preexec)
    lines = [line for line in process.stderr.splitlines() if line.startswith("error: ")]
    return process.returncode, lines[0] if lines else ("Traceback" if "Traceback" in process.stderr else "")


def fault_cases(folder: Path, model: str) -> list[dict]:
    headlines = str(REPO / "data" / "sarcasm_headlines_sample.jsonl")
    fast = ["--text_column_name", "headline", "--label_column_name", "is_sarcastic", "--max_train_samples", "64",
            "--num_train_epochs", "1", "--save_strategy", "no", "--disable_tqdm", "true", "--max_seq_length", "32",
            "--do_train"]
    rows = []

    def fault(name, args, left_behind=None, **kwargs):
        status, line = run_script("run_classify.py", args, **kwargs)
        rows.append({"fault": name, "exit_status": status, "message": line.replace(str(folder), "<tmp>"),
                     "left_behind": left_behind() if left_behind else ""})

    blocker = folder / "a_file"
    blocker.write_text("x")
    fault("output folder cannot be written", ["--model_name_or_path", model, "--train_file", headlines,
                                              "--output_dir", str(blocker / "out"), *fast])
    out = folder / "full_disk"

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (150_000, 150_000))

    fault("disk full while saving (file-size limit 150 kB)",
          ["--model_name_or_path", model, "--train_file", headlines, "--output_dir", str(out), *fast],
          left_behind=lambda: "model files: " + (", ".join(sorted(p.name for p in out.glob("model*")) + sorted(
              p.name for p in out.glob("config.json"))) or "none"), preexec=limit)
    empty_model = folder / "no_weights"
    shutil.copytree(model, empty_model)
    (empty_model / "model.safetensors").unlink()
    fault("model folder without weights", ["--model_name_or_path", str(empty_model), "--train_file", headlines,
                                           "--output_dir", str(folder / "o1"), *fast])
    fault("Hub name while offline", ["--model_name_or_path", "no-such-org/no-such-model", "--train_file", headlines,
                                     "--output_dir", str(folder / "o2"), *fast])
    fault("data file is a directory", ["--model_name_or_path", model, "--train_file", str(folder),
                                       "--output_dir", str(folder / "o3"), *fast])
    binary = folder / "weights.jsonl"
    binary.write_bytes(b"\x00\x01PK\x03\x04" * 100)
    fault("data file is binary", ["--model_name_or_path", model, "--train_file", str(binary),
                                  "--output_dir", str(folder / "o4"), *fast])
    gbk = folder / "gbk.jsonl"
    gbk.write_bytes(b'{"headline": "ok", "is_sarcastic": 1}\n' + '{"headline": "北京", "is_sarcastic": 0}\n'
                    .encode("gbk"))
    fault("data file not UTF-8 (GBK)", ["--model_name_or_path", model, "--train_file", str(gbk),
                                        "--output_dir", str(folder / "o5"), *fast])
    return rows


def kill_case(folder: Path, model: str) -> dict:
    """SIGKILL as soon as a checkpoint exists, restart with the same command, compare with an uninterrupted run."""
    def args(out):
        return ["--model_name_or_path", model, "--train_file", str(REPO / "data" / "sarcasm_headlines_sample.jsonl"),
                "--text_column_name", "headline", "--label_column_name", "is_sarcastic", "--max_train_samples", "240",
                "--max_predict_samples", "60", "--max_seq_length", "48", "--num_train_epochs", "2", "--do_train",
                "--do_predict", "--output_dir", str(out), "--per_device_train_batch_size", "16", "--save_strategy",
                "steps", "--save_steps", "4", "--disable_tqdm", "true", "--no_auto_bf16", "--seed", "7"]
    whole, killed = folder / "whole", folder / "killed"
    run_script("run_classify.py", args(whole))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, str(REPO / "run_classify.py"), *args(killed)], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not (killed / "checkpoint-8").exists() and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    status, _ = run_script("run_classify.py", args(killed))
    same = (whole / "predictions.tsv").read_bytes() == (killed / "predictions.tsv").read_bytes()
    return {"fault": "SIGKILL after checkpoint-8 appeared, then the same command again", "exit_status": status,
            "message": "", "left_behind": "test predictions byte-identical to an uninterrupted run" if same else
            "test predictions DIFFER from an uninterrupted run"}


def measure() -> dict:
    from bertft_utils.testing.lookalikes import build_cache

    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        (folder / "readers").mkdir()
        readers = reader_cases(folder / "readers")
        snapshots = build_cache(folder / "hf", [REPO / "data" / "sarcasm_headlines_sample.jsonl"],
                                ["google-bert/bert-base-uncased"])
        model = str(snapshots["google-bert/bert-base-uncased"])
        faults = fault_cases(folder, model)
        faults.append(kill_case(folder, model))
    return {"facts": machine_facts(), "command": "bench/reliability.py", "readers": readers, "faults": faults}


def report(data: dict) -> str:
    lines = ["# Reliability: records kept and faults handled", "", facts_markdown(data["facts"], data["command"]),
             "## Readers", "", "Files written with known records full of what breaks parsers (see the script), read "
             "back with bertft's readers; a file is either read back record for record or rejected with a "
             "DataFormatError naming file and line.", "",
             "| reader | files | records written | records read | records lost or changed | files rejected |",
             "|---|---:|---:|---:|---:|---:|"]
    for row in data["readers"]:
        lines.append(f"| {row['reader']} | {row['files']} | {row['records_written']:,} | {row['records_read']:,} | "
                     f"{row['records_lost_or_changed']} | {row['files_rejected']} |")
    lost = sum(row["records_lost_or_changed"] for row in data["readers"])
    lines += ["", f"Records lost or changed in all: {lost}.", "", "## Faults", "",
              "Each run with a tiny look-alike of `google-bert/bert-base-uncased`; the message is the one line the "
              "script printed.", "", "| fault | exit status | message | left behind |", "|---|---:|---|---|"]
    for row in data["faults"]:
        message = row["message"].replace("|", "\\|")
        lines.append(f"| {row['fault']} | {row['exit_status']} | {message} | {row['left_behind']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true", help="Rewrite the .md from the committed JSON only.")
    args = parser.parse_args()
    json_path, md_path = result_path("reliability.json"), result_path("reliability.md")
    if not args.report:
        json_path.write_text(json.dumps(measure(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(report(read_json(json_path)), encoding="utf-8")
    print(f"wrote {md_path}")


if __name__ == "__main__":
    main()
