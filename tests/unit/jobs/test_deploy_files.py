"""The Kubernetes manifests and docker-compose.yml parse and carry what running on several machines needs."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).parents[3]


def manifests() -> dict[tuple[str, str], dict]:
    found = {}
    for path in sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            found[(doc["kind"], doc["metadata"]["name"])] = doc
    return found


def container(doc: dict) -> dict:
    [only] = doc["spec"]["template"]["spec"]["containers"]
    return only


def test_web_runs_several_replicas_with_readiness_and_liveness_probes():
    web = manifests()[("Deployment", "ecm-web")]
    assert web["spec"]["replicas"] >= 2
    probes = container(web)
    assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "jobs" not in container(web)["args"]  # web pods never run scheduled jobs


def test_jobs_run_two_replicas_leader_and_standby_from_config_and_secret():
    found = manifests()
    jobs = found[("Deployment", "ecm-jobs")]
    assert jobs["spec"]["replicas"] == 2
    assert container(jobs)["args"][:2] == ["ecm", "jobs"]
    sources = {next(iter(s.values()))["name"] for s in container(jobs)["envFrom"]}
    assert sources == {"ecm-config", "ecm-secrets"}
    assert "ECM_DATABASE_URL" in found[("Secret", "ecm-secrets")]["stringData"]
    assert "ECM_DATABASE_URL" not in found[("ConfigMap", "ecm-config")]["data"]
    assert found[("Service", "ecm-web")]["spec"]["selector"] == jobs["spec"]["selector"]["matchLabels"] | {
        "app.kubernetes.io/component": "web"
    }


def test_compose_runs_web_jobs_and_postgres_with_two_jobs_replicas():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "web", "jobs"}
    assert services["jobs"]["deploy"]["replicas"] == 2
    assert services["web"]["environment"]["ECM_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert services["web"]["ports"] == ["8080"]  # no fixed host port, so `--scale web=3` works
    assert services["jobs"]["depends_on"]["postgres"]["condition"] == "service_healthy"
