"""The deployment files stay true: the container settings validate against every plugin,
the proxy points at services the compose file defines, Prometheus loads the alert rules."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from themisgate.app import BUILTINS
from themisgate.config import load_settings
from themisgate.plugins import load_plugins

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_container_settings_validate_with_every_plugin_enabled() -> None:
    settings = load_settings(DEPLOY / "plugins.toml", environ={})
    loaded = load_plugins(settings, builtins=BUILTINS)
    enabled = {p.name for p in loaded.ordered}
    assert {
        "auth",
        "ratelimit",
        "metrics",
        "tracing",
        "v3compat",
        "graphql",
        "websocket",
    } <= enabled
    assert not loaded.skipped


def test_the_proxy_points_at_compose_services() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = set(compose["services"])
    upstreams = re.findall(r"server\s+([a-z0-9-]+):\d+", (DEPLOY / "nginx.conf").read_text())
    assert upstreams
    assert set(upstreams) <= services
    for name in upstreams:
        assert compose["services"][name]["image"] == "themisgate:local"


def test_prometheus_scrapes_the_instances_and_loads_the_alert_rules() -> None:
    prometheus = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    assert "alerts.yml" in " ".join(prometheus.get("rule_files", []))
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    targets = [t for c in jobs["themisgate"]["static_configs"] for t in c["targets"]]
    assert {"themisgate-1:8000", "themisgate-2:8000"} <= set(targets)
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    alerts = [rule["alert"] for group in rules["groups"] for rule in group["rules"]]
    runbooks = (DEPLOY.parent / "docs" / "runbooks.md").read_text()
    for alert in alerts:
        assert f"## {alert}" in runbooks, f"{alert} has no runbook section"
