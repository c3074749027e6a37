"""Finding a request's providers in a large mesh: every record vs the provider index.

Builds a signed table of ``--nodes`` records (every node serves ``llm`` for one of
``--models`` models), then times, side by side in one run, what one OpenAI request
asks of the table: the model's catalog entry and its candidates, found by going
through every record (``view.rows``) and through ``registry.providers.ProviderIndex``.

    .venv/bin/python bench/providers.py [--nodes 500] [--models 50]
"""

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.machine import python_speed_line

from computemesh.p2p.identity import generate
from computemesh.protocol.mesh import NodeClaims, ServiceClaim
from computemesh.registry import view
from computemesh.registry.observations import Observations
from computemesh.registry.providers import ProviderIndex
from computemesh.registry.records import sign
from computemesh.registry.table import NodeTable, apply
from computemesh.routing.candidates import find_candidates
from computemesh.routing.catalog import LLM_SERVICE, mesh_models

WINDOW = 40.0
console = Console()


def mesh(nodes: int, models: int, now: float) -> Any:
    """A stand-in for a node's table sync: the table, observations and its own peer id."""
    table, observations = NodeTable(), Observations()
    identities = [generate("ed25519") for _ in range(nodes)]
    for index, identity in enumerate(identities):
        group = (f"model=m{index % models}",)
        claims = NodeClaims(
            peer_id=identity.peer_id, seq=1, issued_at=now, ttl=600.0,
            services=(ServiceClaim(name=LLM_SERVICE, identity_group=group),),
        )  # fmt: skip
        table = apply(table, sign(claims, identity.sign), now)[0]
        observations.connection(identity.peer_id, True, now)
    return SimpleNamespace(
        table=table, observations=observations, host=SimpleNamespace(peer_id=identities[0].peer_id)
    )


def per_call_us(work: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        work()
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    now = time.time()
    with console.status(f"signing {args.nodes} records"):
        sync = mesh(args.nodes, args.models, now)
    index = ProviderIndex(sync, WINDOW)
    model, fields = "m7", {"model": "m7", "chat": "m7"}
    lookups = {
        "the model's catalog entry": (
            lambda: mesh_models(view.rows(sync, now, WINDOW)).get(model),
            lambda: mesh_models(index.claiming(LLM_SERVICE, f"model={model}", now)).get(model),
        ),
        "the model's candidates": (
            lambda: find_candidates(view.rows(sync, now, WINDOW), LLM_SERVICE, fields),
            lambda: find_candidates(index.matching(LLM_SERVICE, fields, now), LLM_SERVICE, fields),
        ),
    }
    table = Table(title=f"{args.nodes} nodes, {args.models} models: µs per request")
    for column in ("lookup", "every record", "index", "index / every"):
        table.add_column(column, justify="right")
    for name, (every, indexed) in lookups.items():
        assert every() == indexed()  # the same answer both ways
        slow, fast = per_call_us(every, args.calls), per_call_us(indexed, args.calls)
        table.add_row(name, f"{slow:.0f}", f"{fast:.0f}", f"{fast / slow:.3f}")
    console.print(table)
    console.print(python_speed_line())


if __name__ == "__main__":
    main()
