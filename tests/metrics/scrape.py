"""Reading a scrape the way Prometheus does: prometheus-client's own parsers."""

from __future__ import annotations

from typing import Any

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

OPENMETRICS = "application/openmetrics-text; version=1.0.0"


class Scrape:
    def __init__(self, text: str, *, openmetrics: bool = False) -> None:
        parse = openmetrics_families if openmetrics else text_string_to_metric_families
        self.families = {family.name: family for family in parse(text)}
        self.samples: list[Sample] = [s for f in self.families.values() for s in f.samples]

    def find(self, name: str, **labels: str) -> list[Sample]:
        """Samples named `name` whose labels include `labels`."""
        return [
            s
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        ]

    def value(self, name: str, **labels: str) -> float:
        """The one sample named `name` with exactly these labels (plus `le` for buckets)."""
        found = [s for s in self.find(name, **labels) if set(s.labels) - {"le"} == set(labels)]
        assert len(found) == 1, (name, labels, found)
        return float(found[0].value)

    def values(self, name: str, label: str, **labels: str) -> set[str]:
        return {s.labels[label] for s in self.find(name, **labels)}

    def buckets(self, name: str, **labels: str) -> list[str]:
        return [s.labels["le"] for s in self.find(f"{name}_bucket", **labels)]

    def has_family(self, prefix: str) -> bool:
        return any(name.startswith(prefix) for name in self.families)


async def scrape(client: Any, path: str = "/metrics", **headers: str) -> Scrape:
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return Scrape(response.text)
