"""`python -m bertft_utils.report_html RUN_DIR [RUN_DIR ...]`: a run's errors in the browser, or where several runs
disagree. The page is built in evaluation/html_report.py; this is its command line."""

from __future__ import annotations

from bertft_utils.config.cli import run_cli
from bertft_utils.evaluation.html_report import main

if __name__ == "__main__":
    run_cli(main)
