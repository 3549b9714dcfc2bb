"""The deployment files agree with the code: the image copies what pyproject installs, every
long-running compose service has a health check, and gunicorn's config marks dead workers'
metrics."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from types import SimpleNamespace

import yaml

from postroom import gunicorn_conf

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


def test_a_gunicorn_worker_that_exits_leaves_no_live_gauge_behind(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    (tmp_path / "gauge_livesum_4343.db").write_bytes(b"")
    (tmp_path / "counter_4242.db").write_bytes(b"")  # counters keep counting after death
    gunicorn_conf.child_exit(server=None, worker=SimpleNamespace(pid=4242))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "counter_4242.db",
        "gauge_livesum_4343.db",
    ]
