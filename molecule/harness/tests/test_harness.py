"""What a user checks by hand on a fresh test host: systemd is PID 1 and happy, python3 is
there, and the host is the Debian release its image claims. Then how the host is reached: an
`ssh: true` platform over SSH as `deploy` with passwordless sudo, the others through Ansible's
docker connection as root."""

import contextlib
import shlex
import subprocess

import pytest

EXPECTED_RELEASE = {"bookworm": "12", "trixie": "13"}
SSH_USER = "deploy"


def release_of(host):
    return host.backend.get_hostname().rsplit("-", 1)[-1]


def reached_over_ssh(host):
    return host.backend.get_variables().get("ansible_connection") == "ssh"


def as_root(host):
    """Root for what needs it: through sudo where the tests log in as deploy."""
    return host.sudo() if reached_over_ssh(host) else contextlib.nullcontext()


@pytest.fixture
def ssh_host(host):
    if not reached_over_ssh(host):
        pytest.skip("reached through the docker connection, not over SSH")
    return host


def test_systemd_is_pid_1_and_running(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"
    state = host.run("systemctl is-system-running")
    assert state.stdout.strip() == "running", host.run("systemctl --failed --no-legend").stdout


def test_no_failed_units(host):
    assert host.run("systemctl --failed --no-legend --plain").stdout.strip() == ""


def test_units_can_be_started_and_stopped(host):
    # What every role will do: start a transient service and see systemd supervise it.
    with as_root(host):
        host.run_expect([0], "systemd-run --unit=harness-probe --property=Type=exec sleep 300")
        try:
            assert host.service("harness-probe").is_running
        finally:
            host.run("systemctl stop harness-probe")
        assert not host.service("harness-probe").is_running


def test_debian_release_matches_the_image(host):
    release = release_of(host)
    assert host.system_info.distribution == "debian"
    assert host.system_info.codename == release
    assert host.system_info.release.split(".")[0] == EXPECTED_RELEASE[release]


def test_python3_is_there_for_ansible(host):
    python = host.run("python3 -c 'import sys, apt; print(sys.version_info[0])'")
    assert python.rc == 0, python.stderr
    assert python.stdout.strip() == "3"


def test_apt_sources_carry_updates_and_security(host):
    sources = host.file("/etc/apt/sources.list").content_string
    release = release_of(host)
    for suite in (release, f"{release}-updates", f"{release}-security"):
        assert f" {suite} main" in sources


def test_machine_id_was_generated_at_boot(host):
    # The image ships an empty /etc/machine-id; systemd fills it in on first boot.
    machine_id = host.file("/etc/machine-id").content_string.strip()
    assert len(machine_id) == 32
    assert int(machine_id, 16) != 0


def test_docker_hosts_are_reached_as_root_without_sshd(host):
    if reached_over_ssh(host):
        pytest.skip("reached over SSH")
    assert host.user().name == "root"
    # The image has sshd, but off: a docker-connection host runs what it ran before.
    assert not host.service("ssh").is_enabled
    assert not host.service("ssh").is_running


def test_ssh_host_is_reached_as_deploy_not_root(ssh_host):
    user = ssh_host.user()
    assert user.name == SSH_USER
    assert user.uid != 0 and user.gid != 0
    assert user.home == f"/home/{SSH_USER}"
    assert user.shell == "/bin/bash"
    assert "sudo" not in user.groups  # its sudo comes from its own sudoers file
    assert ssh_host.file(user.home).is_directory
    assert ssh_host.file(user.home).user == SSH_USER


def test_deploy_has_passwordless_sudo(ssh_host):
    uid = ssh_host.run("sudo -n id -u")
    assert uid.rc == 0, uid.stderr
    assert uid.stdout.strip() == "0"
    with ssh_host.sudo():
        sudoers = ssh_host.file(f"/etc/sudoers.d/{SSH_USER}")
        assert sudoers.user == "root" and sudoers.mode == 0o440
        ssh_host.run_expect([0], f"visudo -cf /etc/sudoers.d/{SSH_USER}")


def test_sshd_is_running(ssh_host):
    assert ssh_host.service("ssh").is_enabled
    assert ssh_host.service("ssh").is_running
    assert ssh_host.socket("tcp://0.0.0.0:22").is_listening


def test_sshd_takes_keys_only_and_no_root_logins(ssh_host):
    with ssh_host.sudo():
        config = ssh_host.check_output("sshd -T").splitlines()
    assert "permitrootlogin no" in config
    assert "passwordauthentication no" in config
    # Each container has its own host keys, made at create (the image ships none).
    with ssh_host.sudo():
        assert ssh_host.file("/etc/ssh/ssh_host_ed25519_key").is_file


def test_root_cannot_log_in_over_ssh(ssh_host):
    # The very key deploy logs in with, offered for root, from this machine as testinfra does.
    hostvars = ssh_host.backend.get_variables()
    result = subprocess.run(
        ["ssh", *shlex.split(hostvars.get("ansible_ssh_common_args", "")), "-o", "BatchMode=yes",
         "-o", "ConnectTimeout=10", "-i", hostvars["ansible_private_key_file"],
         "-p", str(hostvars["ansible_port"]), f"root@{hostvars['ansible_host']}", "true"],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 255, result
    assert "Permission denied" in result.stderr
