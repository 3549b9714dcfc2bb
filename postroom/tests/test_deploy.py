"""The deployment files agree with the code: the image copies what pyproject installs, every
long-running compose service has a health check, and no metric is a live gauge that a dead
process would leave behind."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def installed_packages() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    return {name.rstrip("*") for name in include}


def copied_before_install() -> set[str]:
    dockerfile = (ROOT / "Dockerfile").read_text()
    before = dockerfile.split("RUN pip install", 1)[0]
    return set(re.findall(r"^COPY (\w+) \./\1$", before, flags=re.MULTILINE))


def test_the_image_copies_every_package_pyproject_installs_before_installing_it():
    assert copied_before_install() == installed_packages()
    assert all((ROOT / name / "__init__.py").exists() for name in copied_before_install())


def test_pyproject_installs_every_top_level_package_of_the_repository():
    # A new app (subscriptions was one) left out of the list is missing from the installed
    # package, and so from an image that runs it as installed.
    packages = {
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in {"bench", "scripts"}
    }
    assert packages == installed_packages()


def test_every_long_running_compose_service_has_a_health_check():
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    one_shot = {name for name, service in services.items() if service.get("restart") == "no"}
    assert one_shot == {"metrics-dir"}
    missing = [
        name for name in services if name not in one_shot and "healthcheck" not in services[name]
    ]
    assert missing == []


def test_the_worker_outweighs_the_web_server_for_the_cpu():
    # Nice values do not reach across containers; a busy interface at equal weights took the
    # campaign from 2,448 to 793 msg/s in make bench-load, 128 against 1,024 left 1,981 of 2,578.
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    assert services["worker"]["cpu_shares"] >= 8 * services["web"]["cpu_shares"]


def test_web_worker_and_beat_share_one_metrics_directory_emptied_before_they_start():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    for name in ("web", "worker", "beat"):
        service = compose["services"][name]
        directory = service["environment"]["PROMETHEUS_MULTIPROC_DIR"]
        assert f"metrics:{directory}" in service["volumes"]
        assert service["depends_on"]["metrics-dir"] == {
            "condition": "service_completed_successfully"
        }
    assert "rm -rf /var/run/postroom-metrics/*" in " ".join(
        compose["services"]["metrics-dir"]["command"]
    )


def test_no_metric_is_a_live_gauge_a_dead_process_would_leave_behind():
    """A process's counters and histograms must outlive it (they count what it did); a live
    gauge must not, and nothing tells the web server's workers' ends to prometheus-client. So
    the processes write no gauge at all: gauges are read from the database at scrape time."""
    import django.apps
    from prometheus_client import REGISTRY

    assert django.apps.apps.ready  # every app's metrics module has been imported
    written = {
        family.name: family.type
        for family in REGISTRY.collect()
        if family.name.startswith("postroom_")
    }
    assert written  # the engine's, the importer's and the web's metrics are there
    assert {name for name, kind in written.items() if kind == "gauge"} == set()
