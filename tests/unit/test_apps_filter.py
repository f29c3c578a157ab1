"""app_clashes names what two apps of one machine would share."""

from apps import app_clashes

SHOP = {"host": "shop@web1", "name": "shop", "root": "/srv/shop", "user": "shop", "group": "shop",
        "listens": ["/run/gunicorn/shop.sock", "127.0.0.1:8000"], "server_names": ["shop.example.com"],
        "pgbouncer": {"port": 6432, "socket_dir": "/run/pgbouncer", "max_client_conn": 10000}}
BLOG = {"host": "blog@web1", "name": "blog", "root": "/srv/blog", "user": "blog", "group": "blog",
        "listens": ["/run/gunicorn/blog.sock"], "server_names": ["blog.example.com"],
        "pgbouncer": {"port": 6432, "socket_dir": "/run/pgbouncer", "max_client_conn": 10000}}


def test_apps_that_share_nothing_do_not_clash():
    assert app_clashes(SHOP, [BLOG]) == []
    assert app_clashes(SHOP, []) == []


def test_every_shared_thing_is_named_with_the_other_app():
    blog = {**BLOG, "user": "shop", "listens": ["/run/gunicorn/blog.sock", "127.0.0.1:8000"],
            "server_names": ["blog.example.com", "shop.example.com"],
            "pgbouncer": {**BLOG["pgbouncer"], "port": "6433"}}
    assert app_clashes(SHOP, [blog]) == [
        "the user shop with blog@web1",
        "127.0.0.1:8000 with blog@web1",
        "the host name shop.example.com with blog@web1",
        "pgbouncer settings that differ (pgbouncer_port) with blog@web1",
    ]


def test_the_same_app_twice_on_one_machine_clashes_on_name_directory_and_socket():
    found = app_clashes(SHOP, [{**SHOP, "host": "shop2@web1"}])
    assert "the app name shop with shop2@web1" in found
    assert "the directory /srv/shop with shop2@web1" in found
    assert "/run/gunicorn/shop.sock with shop2@web1" in found


def test_unknown_values_of_apps_outside_the_run_are_not_compared():
    # What the inventory of an app outside this run sets: its name and host names only.
    outside = {"host": "blog@web1", "name": "blog", "root": None, "user": None, "group": None, "listens": [],
               "server_names": ["shop.example.com"]}
    assert app_clashes(SHOP, [outside]) == ["the host name shop.example.com with blog@web1"]
    assert app_clashes({**SHOP, "pgbouncer": None}, [BLOG]) == [], "an app that does not pool has no pgbouncer settings"
