"""Counters for the hot path: plain integers, rendered by prometheus_client at scrape.

A prometheus_client ``Counter`` takes a lock and checks its state on every ``inc``;
a node counts several things per forwarded request, all on one thread (its trio
loop), so a dictionary of integers does the same for a fraction of the CPU. They
become ordinary counter families when ``/metrics`` is read.
"""

from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class Tally(Collector):
    """A counter family: ``add(labels)`` on the hot path, ``collect`` at scrape."""

    def __init__(self, name: str, documentation: str, labels: list[str]) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = labels
        self.counts: Counter[tuple[str, ...]] = Counter()

    def add(self, labels: tuple[str, ...], amount: int = 1) -> None:
        self.counts[labels] += amount

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        for labels, count in self.counts.items():
            family.add_metric(list(labels), count)
        yield family


class Level(Collector):
    """A gauge family of integers moved up and down on the hot path (requests in flight)."""

    def __init__(self, name: str, documentation: str, labels: list[str]) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = labels
        self.levels: Counter[tuple[str, ...]] = Counter()

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labels)
        for labels, level in self.levels.items():
            family.add_metric(list(labels), level)
        yield family
