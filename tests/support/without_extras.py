"""``python -m tests.support.without_extras ARGS``: ``computemesh ARGS`` as a routing-only
install runs it, with the modules of the gateway and inference extras made unimportable."""

import sys

from computemesh.cli import main
from computemesh.cli.extras import EXTRAS

LAUNCHER = [sys.executable, "-m", "tests.support.without_extras"]

if __name__ == "__main__":
    for modules in EXTRAS.values():
        for module in modules:
            sys.modules[module] = None  # type: ignore[assignment]  # import now raises
    sys.argv[0] = "computemesh"
    main()
