"""The local engine's numbers: load times, and llama.cpp's own counters per model.

Each local model runs its own llama.cpp server, which counts its busy slots and its
prompt and generated tokens (its ``/metrics``, turned on by ``inference``). They are
read from those loopback servers when ``/metrics`` is scraped, with a short timeout:
an engine that does not answer is simply missing from that scrape.
"""

from collections.abc import Iterator

import anyio
import httpx
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from computemesh.node.api.state import NodeState
from computemesh.routing.catalog import LLM_SERVICE, MODEL_KEY

READ_TIMEOUT_S = 2.0
# llama.cpp's family -> (ours, help, counter?)
READ = {
    "llamacpp:requests_processing": (
        "computemesh_engine_busy_slots",
        "Requests a local model is working on now (its busy slots)",
        False,
    ),
    "llamacpp:prompt_tokens": (
        "computemesh_engine_prompt_tokens",
        "Prompt tokens a local model processed",
        True,
    ),
    "llamacpp:tokens_predicted": (
        "computemesh_engine_generated_tokens",
        "Tokens a local model generated",
        True,
    ),
}


def local_engines(state: NodeState) -> dict[str, str]:
    """``model id -> base URL`` of each local model's server."""
    service = state.own_service(LLM_SERVICE)
    if service is None:
        return {}
    prefix = f"{MODEL_KEY}="
    return {
        entry.removeprefix(prefix): url
        for entry, url in service.entry_urls
        if entry.startswith(prefix)
    }


class EngineCollector(Collector):
    """Yields what the last ``refresh`` read; call ``refresh`` before each scrape."""

    def __init__(self, state: NodeState) -> None:
        self._state = state
        self._read: dict[str, dict[str, float]] = {}

    async def refresh(self) -> None:
        engines = local_engines(self._state)
        found: dict[str, dict[str, float]] = {}

        async def read(model: str, url: str) -> None:
            values = await _read_engine(self._state.http, url)
            if values:
                found[model] = values

        async with anyio.create_task_group() as reads:
            for model, url in engines.items():
                reads.start_soon(read, model, url)
        self._read = found

    def collect(self) -> Iterator[Metric]:
        loads = GaugeMetricFamily(
            "computemesh_engine_model_load_seconds",
            "How long each local model took to load",
            labels=["model"],
        )
        for model, seconds in self._state.model_load_seconds.items():
            loads.add_metric([model], seconds)
        yield loads
        for source, (name, text, is_counter) in READ.items():
            family: Metric = (
                CounterMetricFamily(name, text, labels=["model"])
                if is_counter
                else GaugeMetricFamily(name, text, labels=["model"])
            )
            for model, values in self._read.items():
                if source in values:
                    family.add_metric([model], values[source])  # type: ignore[attr-defined]
            yield family


async def _read_engine(http: httpx.AsyncClient, base_url: str) -> dict[str, float]:
    try:
        answer = await http.get(base_url + "/metrics", timeout=READ_TIMEOUT_S)
    except httpx.HTTPError:
        return {}
    if answer.status_code != 200:
        return {}
    try:
        families = list(text_string_to_metric_families(answer.text))
    except ValueError:
        return {}
    return {
        family.name: family.samples[0].value
        for family in families
        if family.name in READ and family.samples
    }
