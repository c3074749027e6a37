"""``docs/configuration.md``, written from the settings classes and the commands' flags.

``scripts/write-configuration-docs.py`` writes the file; a test fails when the committed
one differs from what this renders, so the page cannot drift from the code.
"""

from dataclasses import dataclass

from computemesh.cli.flagsets import GATEWAY_MIGRATE, GATEWAY_START, NODE_START, SERVE
from computemesh.cli.settings_flags import FlagSet
from computemesh.config.fields import NOT_SET, Setting, settings_of

HEADER = """\
# Configuration

<!-- Written by scripts/write-configuration-docs.py from the settings classes in
src/computemesh/config/; edit those, then run the script. A test fails when this is stale. -->

Each process reads its settings once, at start, from four places; the first that has a
setting wins:

1. a command-line flag;
2. an environment variable;
3. a TOML file given with `--config` (keys as in the first column; `engine.threads` is
   `threads` in an `[engine]` table);
4. the default.

Lists in the environment are JSON (`COMPUTEMESH_BOOTSTRAP='["/ip4/…/p2p/…"]'`); the
gateway's `OCF_HEAD_URL` and `COMPUTEMESH_GATEWAY_TRUSTED_PROXIES` also take items
separated by commas. A list flag is repeated (`--bootstrap A --bootstrap B`); an empty
list is set in the environment or the file. A bool flag has a `--no-` form. Refused
settings stop the process before it starts, with one line naming each (never its value).
"""


@dataclass(frozen=True)
class Section:
    """One process's table: its settings, the flags of its command, and what it says first."""

    title: str
    intro: str
    flags: FlagSet
    only_flagged: bool = False


def _migrate_flags() -> str:
    return " and ".join(f"`--{flag.name}`" for flag in GATEWAY_MIGRATE.flags())


SECTIONS = (
    Section(
        "Node: `computemesh node start`",
        "A node runs no engine unless asked: only `--models-dir`, `--default-model` or"
        " `--embeddings` start one, so a routing-only node stays small.",
        NODE_START,
    ),
    Section(
        "Local server: `computemesh serve`",
        "`serve` is a node that never joins a mesh (libp2p on loopback, no bootstrap,"
        " whatever the settings say). It reads a node's settings from the same environment"
        " variables and TOML keys, with the defaults below; the node's other settings keep"
        " the node's defaults.",
        SERVE,
        only_flagged=True,
    ),
    Section(
        "Gateway: `computemesh gateway start`",
        "The OCF proxy's own names (`OCF_HEAD_URL`, `SECRET_KEY`,"
        " `ACCESS_TOKEN_EXPIRE_MINUTES`) are read without a prefix, so an OCF proxy"
        " deployment's environment works unchanged. `SECRET_KEY` has no flag: a command line"
        " is readable by every user of the machine. `computemesh gateway migrate` takes"
        f" {_migrate_flags()} and reads the rest as `start` does.",
        GATEWAY_START,
    ),
)


def render() -> str:
    """The whole page."""
    return "\n".join([HEADER, *(_section(section) for section in SECTIONS)])


def _section(section: Section) -> str:
    flags = {flag.setting.key: f"`--{flag.name}`" for flag in section.flags.flags()}
    settings = settings_of(section.flags.settings)
    if section.only_flagged:
        settings = [setting for setting in settings if setting.key in flags]
    rows = [_row(setting, flags.get(setting.key, NOT_SET)) for setting in settings]
    return "\n".join(
        [
            f"## {section.title}",
            "",
            section.intro,
            "",
            "| setting | environment | flag | type | default | meaning |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )


def _row(setting: Setting, flag: str) -> str:
    env = "<br>".join(f"`{name}`" for name in setting.env)
    default = setting.default_text
    shown = default if default == NOT_SET else f"`{default}`"
    cells = [f"`{setting.key}`", env, flag, setting.type_text, shown, _text(setting.description)]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _text(description: str) -> str:
    """Plain text in Markdown: ``<peer id>`` is no HTML tag, ``*.gguf`` no emphasis."""
    return description.replace("<", "&lt;").replace("*", "\\*")
