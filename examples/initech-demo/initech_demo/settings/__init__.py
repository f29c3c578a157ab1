"""One settings module per environment; .env's ENVIRONMENT picks which (see bootstrap)."""
