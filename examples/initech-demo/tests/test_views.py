"""The endpoints, through Django's test client."""

import pytest
import requests
from django.db import OperationalError

import initech_demo
from demo import views
from demo.models import Hit

pytestmark = pytest.mark.django_db


def test_healthz_reports_code_settings_gevent_and_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"] == initech_demo.__version__
    assert body["environment"] == "initech_demo.settings.test"
    assert body["settings_module"] == "initech_demo.settings.test"
    assert body["gevent"] == {"socket_patched": False}  # the test process is not patched
    assert body["database"] == {"vendor": "sqlite", "reachable": True}


def test_healthz_is_503_without_the_database_and_leaks_no_message(client, monkeypatch):
    class Broken:
        def __enter__(self):
            raise OperationalError("could not connect to postgres://app:s3cret@db/app")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(views.connection, "cursor", lambda: Broken())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == {"vendor": "sqlite", "reachable": False, "error": "OperationalError"}
    assert b"s3cret" not in response.content


def test_healthz_only_answers_get(client):
    assert client.post("/healthz").status_code == 405


def test_slow_sql_needs_a_database_that_can_sleep(client):
    response = client.get("/slow-sql/", {"x": 3})
    assert response.status_code == 501
    assert "PostgreSQL or MySQL" in response.json()["error"]


@pytest.mark.parametrize("query", [{"x": "three"}, {"x": "1", "seconds": "61"}, {"seconds": "-1"}])
def test_slow_sql_rejects_bad_parameters(client, query):
    response = client.get("/slow-sql/", query)
    assert response.status_code == 400
    assert "must be" in response.json()["error"]


def test_wait_waits_on_io(client):
    response = client.get("/wait/", {"seconds": "0.2"})
    assert response.status_code == 200
    assert response.json()["waited"] >= 0.19


@pytest.mark.parametrize("seconds", ["soon", "100", "-3"])
def test_wait_rejects_bad_durations(client, seconds):
    assert client.get("/wait/", {"seconds": seconds}).status_code == 400


def test_hits_reads_and_writes_the_database(client):
    assert client.get("/hits/").json() == {"hits": 0, "environment": "initech_demo.settings.test"}
    assert client.post("/hits/").status_code == 201
    assert client.post("/hits/").json()["hits"] == 2
    assert Hit.objects.filter(environment="initech_demo.settings.test").count() == 2


class FakeResponse:
    def __init__(self, text, status=200):
        self.text, self.status_code, self.ok = text, status, status < 400


def test_ten_slow_requests_asks_slow_sql_for_each_x(client, monkeypatch, settings):
    calls = []

    def fake_get(self, url, params, timeout):
        calls.append((url, params["x"], params["seconds"]))
        if params["x"] == 3:
            raise requests.ConnectionError("refused")
        if params["x"] == 4:
            return FakeResponse("oops", status=500)
        return FakeResponse(str(params["x"] ** 2))

    monkeypatch.setattr(requests.Session, "get", fake_get)
    response = client.get("/ten-slow-requests/", {"n": 5, "seconds": 0}, HTTP_HOST="localhost")
    assert response.status_code == 200
    assert response.content.decode().splitlines() == ["1", "4", "error: ConnectionError", "error: HTTP 500", "25"]
    assert sorted(x for _, x, _ in calls) == [1, 2, 3, 4, 5]
    assert {url for url, _, _ in calls} == {"http://localhost/slow-sql/"}
    assert "X-Elapsed-Seconds" in response.headers

    settings.SELF_URL = "http://127.0.0.1:8000/"
    calls.clear()
    client.get("/ten-slow-requests/", {"n": 1}, HTTP_HOST="localhost")
    assert calls == [("http://127.0.0.1:8000/slow-sql/", 1, 5.0)]


def test_ten_slow_requests_bounds_its_fan_out(client):
    assert client.get("/ten-slow-requests/", {"n": 500}).status_code == 400


def test_upload_saves_under_x_y_and_says_where_it_is_served(client, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    response = client.post("/upload/?name=probe.txt", data=b"uploaded", content_type="application/octet-stream")
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "x/y/probe.txt" and body["url"] == "/media/x/y/probe.txt"
    assert (tmp_path / "x" / "y" / "probe.txt").read_bytes() == b"uploaded"
    again = client.post("/upload/?name=probe.txt", data=b"2", content_type="application/octet-stream").json()
    assert again["name"] != "x/y/probe.txt"  # never overwrites


def test_upload_refuses_odd_names(client):
    assert client.post("/upload/?name=../../etc/passwd", data=b"", content_type="text/plain").status_code == 400
    assert client.get("/upload/").status_code == 405


def test_healthz_says_whether_the_request_is_secure(client):
    assert client.get("/healthz").json()["secure"] is False
    assert client.get("/healthz", secure=True).json()["secure"] is True
