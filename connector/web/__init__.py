"""Flask app: webhooks, admin API, dashboard, health and metrics."""
