from connector.web.app import create_app

from .web_helpers import connector_for, fixture_body, settings, signed_jira_headers


def test_healthz_answers_while_the_process_is_up(client):
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


def test_readyz_is_ok_on_a_migrated_database(client):
    assert client.get("/readyz").status_code == 200


def test_readyz_is_unavailable_when_migrations_are_not_current(tmp_path):
    from connector.store.db import Database

    empty = Database(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    client = create_app(connector_for(settings(), empty)).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "ecm db upgrade" in response.get_json()["detail"]
    empty.dispose()


def test_unknown_path_and_wrong_method_answer_json(client):
    missing = client.get("/nope")
    assert missing.status_code == 404 and missing.get_json()["error"] == "not found"
    wrong = client.get("/webhooks/jira")
    assert wrong.status_code == 405 and wrong.get_json()["error"] == "method not allowed"
    assert "POST" in wrong.headers["Allow"]


def test_crash_inside_processing_answers_500_in_json(database):
    def broken(event, origin):
        raise RuntimeError("boom")

    connector = connector_for(settings(), database)
    connector.tools["jira"].translate = broken
    client = create_app(connector).test_client()
    body = fixture_body("webhook-issue-created.json")
    response = client.post("/webhooks/jira", data=body, headers=signed_jira_headers(body))
    assert response.status_code == 500
    assert response.get_json()["error"] == "internal server error"
    assert "boom" not in response.get_data(as_text=True)


def metric(text: str, line_start: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(line_start))
    return float(line.rsplit(" ", 1)[1])


def test_metrics_count_deliveries_by_outcome_and_time_the_handler(client):
    body = fixture_body("webhook-issue-created.json")
    for _ in range(2):
        client.post("/webhooks/jira", data=body, headers=signed_jira_headers(body, "m-1"))
    client.post("/webhooks/jira", data=body)
    text = client.get("/metrics").get_data(as_text=True)
    assert metric(text, 'ecm_webhook_deliveries_total{outcome="handled",source="jira"}') == 1
    assert metric(text, 'ecm_webhook_deliveries_total{outcome="duplicate",source="jira"}') == 1
    assert metric(text, 'ecm_webhook_deliveries_total{outcome="bad_signature",source="jira"}') == 1
    assert metric(text, 'ecm_handler_seconds_count{source="jira"}') == 3
    assert metric(text, "ecm_outbox_depth") == 0


def test_each_app_has_its_own_metrics(connector):
    first, second = create_app(connector).test_client(), create_app(connector).test_client()
    first.post("/webhooks/jira", data=b"{}")
    assert "bad_signature" in first.get("/metrics").get_data(as_text=True)
    assert "bad_signature" not in second.get("/metrics").get_data(as_text=True)
