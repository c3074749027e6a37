"""Write docs/configuration.md from the settings classes (run after changing a setting)."""

from pathlib import Path

from computemesh.cli.configuration_docs import render

PAGE = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"

if __name__ == "__main__":
    PAGE.write_text(render())
    print(f"wrote {PAGE}")
