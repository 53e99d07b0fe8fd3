"""`python -m bertft_utils.compare RUN_DIR RUN_DIR [...]`: are the test scores of these runs really different?
The statistics live in evaluation/comparison.py; this is its command line."""

from __future__ import annotations

from bertft_utils.config.cli import run_cli
from bertft_utils.evaluation.comparison import main

if __name__ == "__main__":
    run_cli(main)
