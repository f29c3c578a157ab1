"""What a user checks by hand on a fresh test host: systemd is PID 1 and happy, python3 is
there, and the host is the Debian release its image claims."""

EXPECTED_RELEASE = {"bookworm": "12", "trixie": "13"}


def release_of(host):
    return host.backend.get_hostname().rsplit("-", 1)[-1]


def test_systemd_is_pid_1_and_running(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"
    state = host.run("systemctl is-system-running")
    assert state.stdout.strip() == "running", host.run("systemctl --failed --no-legend").stdout


def test_no_failed_units(host):
    assert host.run("systemctl --failed --no-legend --plain").stdout.strip() == ""


def test_units_can_be_started_and_stopped(host):
    # What every role will do: start a transient service and see systemd supervise it.
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
