"""The README and docs/ stay a front door and a house whose links lead somewhere.

Every relative Markdown link in README.md and docs/**/*.md must name a file or folder
that exists (an anchor after ``#`` is not checked, the file is), and the README stays
short: the reference lives in docs/, the measurement history in bench/results/.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README_MAX_LINES = 220
# [text](target) — the target up to a space (a title) or the closing parenthesis.
LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE_BLOCK = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def relative_links(markdown: str) -> list[str]:
    """The link targets of a Markdown text that point into the repository."""
    prose = INLINE_CODE.sub("", CODE_BLOCK.sub("", markdown))
    targets = (match.group(1) for match in LINK.finditer(prose))
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:|^#", t)]


def test_links_are_found_in_prose_but_not_in_code() -> None:
    text = "see [a](docs/a.md#x) and [b](https://example.org)\n`[c](no.md)`\n```\n[d](no.md)\n```\n"
    assert relative_links(text) == ["docs/a.md#x"]


@pytest.mark.parametrize("page", _pages(), ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_points_to_an_existing_file(page: Path) -> None:
    broken = [
        target
        for target in relative_links(page.read_text(encoding="utf-8"))
        if not (page.parent / target.split("#", 1)[0]).exists()
    ]
    assert broken == [], f"{page.relative_to(ROOT)} links to missing files: {broken}"


def test_the_readme_stays_short() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines < README_MAX_LINES, f"README.md has {lines} lines; move reference to docs/"
