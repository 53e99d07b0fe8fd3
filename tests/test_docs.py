"""The documentation builds without a warning (a broken link between pages fails), and every page README.md links to
exists."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import REPO


def test_docs_build_strict(tmp_path):
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")]
    process = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert process.returncode == 0, process.stderr[-3000:]
    assert (tmp_path / "site" / "layout" / "index.html").is_file()


def test_readme_links_point_at_files_that_exist():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    targets = {target for target in re.findall(r"\]\(([^)#]+)\)", readme) if "://" not in target}
    assert "docs/layout.md" in targets
    assert sorted(target for target in targets if not (REPO / target).exists()) == []
