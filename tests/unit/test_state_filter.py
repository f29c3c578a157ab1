"""state_reads and state_differences: from one read of a host (the real host_state module on this
machine), what a role's tasks would change - nothing when the host is as wanted, and each
difference named (paths and attributes, never content) when it is not."""

import grp
import hashlib
import os
import pwd

from state import state_differences, state_reads
from test_host_state import host_state

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


def wanted_for(tmp_path) -> dict:
    conf = tmp_path / "site.conf"
    conf.write_text("server {}\n")
    conf.chmod(0o644)
    (tmp_path / "data").mkdir(mode=0o750)
    (tmp_path / "data").chmod(0o750)
    (tmp_path / "enabled.conf").symlink_to(conf)
    return {
        "groups": [MY_GROUP],
        "users": [{"name": ME, "group": MY_GROUP, "home": pwd.getpwnam(ME).pw_dir}],
        "dirs": [{"path": str(tmp_path / "data"), "owner": ME, "group": MY_GROUP, "mode": "0750"}],
        "files": [{"path": str(conf), "sha1": hashlib.sha1(b"server {}\n").hexdigest(), "owner": ME,
                   "group": MY_GROUP, "mode": "0644"}],
        "links": [{"path": str(tmp_path / "enabled.conf"), "target": str(conf)}],
        "absent": [str(tmp_path / "default.conf")],
    }


def read(wanted: dict) -> dict:
    reads = state_reads(wanted)
    return host_state(**{key: value for key, value in reads.items() if value})


def test_a_host_as_wanted_has_no_differences(tmp_path):
    wanted = wanted_for(tmp_path)
    assert state_differences(read(wanted), wanted) == []


def test_each_difference_is_named_without_content(tmp_path):
    wanted = wanted_for(tmp_path)
    (tmp_path / "site.conf").write_text("server { listen 8080; }\n")
    (tmp_path / "data").chmod(0o755)
    (tmp_path / "enabled.conf").unlink()
    (tmp_path / "default.conf").write_text("")
    wanted["users"][0]["shell"] = "/nonexistent/shell"
    wanted["groups"].append("no-such-group-here")
    wanted["files"].append({"path": str(tmp_path / "missing.ini")})
    found = read(wanted)
    assert state_differences(found, wanted) == [
        "group no-such-group-here: missing",
        f"user {ME}: shell {pwd.getpwnam(ME).pw_shell} (wanted /nonexistent/shell)",
        f"{tmp_path / 'data'}: mode 0755 (wanted 0750)",
        f"{tmp_path / 'site.conf'}: content",
        f"{tmp_path / 'missing.ini'}: not a file",
        f"{tmp_path / 'enabled.conf'}: not a link to {tmp_path / 'site.conf'}",
        f"{tmp_path / 'default.conf'}: exists",
    ]
    assert not any("listen" in text for text in state_differences(found, wanted))


def test_packages_units_and_acls_are_compared_from_what_host_state_returns():
    found = {
        "packages": {"nginx": "1.26.3-3", "acl": None},
        "units": {"nginx.service": {"ActiveState": "active", "UnitFileState": "enabled", "NeedDaemonReload": "no"},
                  "pgbouncer.service": {"ActiveState": "inactive", "UnitFileState": "disabled",
                                        "NeedDaemonReload": "yes"}},
        "acls": {"/srv/shop": ["user:www-data:--x", "user:backup:r-x"], "/srv/shop/media": None},
    }
    wanted = {
        "packages": ["nginx", "acl"],
        "units": [{"name": "nginx.service", "active": True, "enabled": True},
                  {"name": "pgbouncer.service", "active": True, "enabled": True}],
        "acls": [{"path": "/srv/shop", "entries": ["user:www-data:--x"]},
                 {"path": "/srv/shop/media", "entries": ["user:www-data:r-x", "default:user:www-data:r-x"]}],
    }
    assert state_reads(wanted)["units"] == ["nginx.service", "pgbouncer.service"]
    assert state_differences(found, wanted) == [
        "package acl: not installed",
        "/srv/shop/media: ACL user:www-data:r-x missing",
        "/srv/shop/media: ACL default:user:www-data:r-x missing",
        "pgbouncer.service: inactive, not active",
        "pgbouncer.service: its unit files changed since systemd read them",
        "pgbouncer.service: disabled, not enabled",
    ]
