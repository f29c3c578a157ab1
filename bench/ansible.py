#!/usr/bin/env python3
"""How fast the tool itself is, run the README's way: the shipped playbooks from a site repo,
over SSH as a non-root user with sudo, against Debian 13 hosts.

    make bench-ansible                  (or: .venv/bin/python bench/ansible.py [options])
      --sizes 1,8                       web hosts per run (plus the db host)
      --configs ours,defaults,mitogen   ansible configurations side by side
      --cases noop-site,noop-deploy,code-deploy,lock-deploy,rollback,floor
      --keep                            leave the hosts up (bench/ssh-hosts.yml -e bench_state=absent)
      --skip-first                      no first converge (the hosts of an earlier --keep run)

The site is the consumer scenario's (molecule/consumer/tests/consumer.py): the built collection
installed with its declared dependencies, a `django-admin startproject` app, a vault. The hosts
are systemd containers on this machine (bench/ssh-hosts.yml), so with 8 of them the hosts and
the controller share its CPUs: the table gives the controller's own CPU time (ansible-playbook
and its workers, ssh included) and the CPU time the hosts' containers used (their cgroups: sshd,
sudo, the modules, the app) beside the wall time so the two can be told apart.

Configurations:
  ours      the site's ansible.cfg as docs/site-repo.md gives it (forks 20, SSH pipelining)
  defaults  Ansible's defaults (forks 5, no pipelining)
  mitogen   ours with Mitogen's mitogen_linear strategy (a third-party plugin; the peer)

For each configuration and size the hosts are first brought up to date (site.yml, not
measured), then: a no-op site.yml, a no-op deploy.yml, a deploy of a template change (same
lock), a deploy of a new lock (a new venv), rollback.yml, and the floor: a playbook of 40
trivial asserts, what ansible-core alone costs per task and host on this machine. Exits non-zero
only when a run fails; the goals are reported, not asserted.
"""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".cache" / "bench-ansible"
VENV_BIN = ROOT / ".venv" / "bin"
os.environ.setdefault("MOLECULE_PROJECT_DIRECTORY", str(ROOT))
os.environ["MOLECULE_EPHEMERAL_DIRECTORY"] = str(WORK)
sys.path.insert(0, str(ROOT / "molecule" / "consumer" / "tests"))
import consumer  # noqa: E402  (the site a team writes; reads the two variables above)

DB = "bench-a-db"
WEB_COUNT = 8
ALL_CASES = ["noop-site", "noop-deploy", "code-deploy", "lock-deploy", "rollback", "floor"]
FLOOR_TASKS = 40
CASE_LABELS = {
    "first": "first converge (site.yml)",
    "noop-site": "no-op site.yml",
    "noop-deploy": "no-op deploy.yml",
    "code-deploy": "code-only deploy.yml (a template changed)",
    "lock-deploy": "new-lock deploy.yml (a new venv)",
    "rollback": "rollback.yml",
    "floor": f"ansible-core's floor: {FLOOR_TASKS} trivial asserts on the web hosts",
}
# A pure-Python package the new-lock case pins, a different version each time: every one is a
# lock no venv was built for.
LOCK_EXTRA = ["six==1.17.0", "six==1.16.0", "six==1.15.0", "six==1.14.0", "six==1.13.0", "six==1.12.0",
              "six==1.11.0", "six==1.10.0"]


def mitogen_strategy_dir() -> str:
    import ansible_mitogen  # the venv's, as `make` uses it for the tests
    return str(Path(ansible_mitogen.__file__).parent / "plugins" / "strategy")


CONFIGS = {
    "ours": ("ours (forks 20, pipelining)", {}),
    "defaults": ("Ansible's defaults (forks 5, no pipelining)", {"ANSIBLE_FORKS": "5", "ANSIBLE_PIPELINING": "False"}),
    # Mitogen's own SSH ignores the inventory's ssh args: it is told not to check host keys itself.
    "mitogen": ("ours + Mitogen (mitogen_linear)", {"ANSIBLE_STRATEGY": "mitogen_linear", "ANSIBLE_HOST_KEY_CHECKING": "False"}),
}


def sh(*cmd, **kwargs):
    kwargs.setdefault("check", True)
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, **kwargs)


def hosts_playbook(*args):
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ['PATH']}", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    env.setdefault("INITECH_PIP_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    result = subprocess.run([str(VENV_BIN / "ansible-playbook"), "bench/ssh-hosts.yml",
                             "-e", f"bench_web_count={WEB_COUNT}", *args],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stdout[-4000:], result.stderr[-2000:], file=sys.stderr)
        raise SystemExit("bench: bench/ssh-hosts.yml failed")


def write_site() -> None:
    """The consumer's site with this benchmark's hosts: web1..8 and the db host, over SSH."""
    consumer.SITE.mkdir(parents=True, exist_ok=True)
    (consumer.SITE / "ansible.cfg").write_text(
        "[defaults]\ncollections_path = ./collections\nforks = 20\n\n[ssh_connection]\npipelining = True\n")
    ports = json.loads((WORK / "ports.json").read_text())

    def host(name):
        return {"ansible_host": "127.0.0.1", "ansible_port": ports[name]}

    webs = {f"bench-a-web{i}": host(f"bench-a-web{i}") for i in range(1, WEB_COUNT + 1)}
    inventory = {"all": {
        "vars": {
            "ansible_user": "deploy",
            "ansible_ssh_private_key_file": str(WORK / "ssh" / "id_ed25519"),
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
        },
        "children": {"prod": {"children": {"web": {"hosts": webs}, "db": {"hosts": {DB: host(DB)}}}}},
    }}
    consumer.INVENTORY.mkdir(parents=True, exist_ok=True)
    import yaml
    (consumer.INVENTORY / "hosts.yml").write_text(yaml.safe_dump(inventory, sort_keys=False))
    group_vars = consumer.INVENTORY / "group_vars" / "all"
    group_vars.mkdir(parents=True, exist_ok=True)
    values = dict(consumer.GROUP_VARS, django_app_database={"host": DB})
    (group_vars / "main.yml").write_text("---\n" + yaml.safe_dump(values, sort_keys=False))
    consumer.VAULT_PASSWORD.write_text("bench-vault-TEST-ONLY\n")
    consumer.VAULT_PASSWORD.chmod(0o600)
    (group_vars / "vault.yml").write_text("---\n" + yaml.safe_dump(consumer.SECRETS, sort_keys=False))
    sh(VENV_BIN / "ansible-vault", "encrypt", "--vault-password-file", consumer.VAULT_PASSWORD, group_vars / "vault.yml",
       env=consumer.site_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def hosts_cpu(names: list[str]) -> float | None:
    """CPU seconds the hosts' containers have used so far (cgroup v1 cpuacct or v2 cpu.stat)."""
    ids = subprocess.run(["docker", "inspect", "-f", "{{.Id}}", *names], capture_output=True, text=True)
    if ids.returncode != 0:
        return None
    total = 0.0
    for cid in ids.stdout.split():
        v1 = Path(f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage")
        v2 = [Path(f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/cpu.stat"), Path(f"/sys/fs/cgroup/docker/{cid}/cpu.stat")]
        if v1.exists():
            total += int(v1.read_text()) / 1e9
            continue
        stat = next((f for f in v2 if f.exists()), None)
        if stat is None:
            return None
        usage = dict(line.split() for line in stat.read_text().splitlines())
        total += int(usage["usage_usec"]) / 1e6
    return total


def write_floor() -> Path:
    """A playbook of FLOOR_TASKS local asserts on the web hosts: what ansible-core itself costs per
    task and host (a worker forked for each, its arguments templated), none of this collection's
    work. Its growth from 1 to 8 hosts is the least any playbook's can be on this machine."""
    task = ("    - name: Check a value ({n})\n      ansible.builtin.assert:\n"
            "        that: [\"value is string and value is match('^[a-z]+$')\"]\n        quiet: true\n")
    path = WORK / "floor.yml"
    path.write_text("---\n- name: ansible-core's floor\n  hosts: web\n  gather_facts: false\n  vars:\n    value: abc\n"
                    "  tasks:\n" + "".join(task.format(n=n) for n in range(1, FLOOR_TASKS + 1)))
    return path


def run(playbook: str, size: int, config: str) -> dict:
    """ansible-playbook initech.django.<playbook> (or a playbook file) -i inventories/prod, limited
    to `size` web hosts."""
    env = consumer.site_env()
    env.update(CONFIGS[config][1])
    if config == "mitogen":
        env["ANSIBLE_STRATEGY_PLUGINS"] = mitogen_strategy_dir()
    limit = ",".join([DB] + [f"bench-a-web{i}" for i in range(1, size + 1)])
    target = playbook if playbook.endswith(".yml") else f"initech.django.{playbook}"
    cmd = [str(VENV_BIN / "ansible-playbook"), target, "-i", "inventories/prod",
           "--vault-password-file", str(consumer.VAULT_PASSWORD), "-l", limit]
    hosts_before = hosts_cpu(limit.split(","))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=consumer.SITE, env=env, capture_output=True, text=True, timeout=3600)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    hosts_after = hosts_cpu(limit.split(","))
    hosts = None if hosts_before is None or hosts_after is None else hosts_after - hosts_before
    log = WORK / "logs" / f"{config}-{size}-{Path(playbook).stem}-{int(time.time())}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(result.stdout + result.stderr)
    recap = consumer.recap(result)
    if result.returncode != 0:
        print(result.stdout[-5000:], result.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"bench: {' '.join(cmd)} failed (rc {result.returncode}); log in {log}")
    web1 = recap.get("bench-a-web1", {})
    return {"wall": wall, "cpu": cpu, "hosts_cpu": hosts, "changed": sum(h.get("changed", 0) for h in recap.values()),
            "tasks": web1.get("ok", 0) + web1.get("changed", 0) + web1.get("skipped", 0), "log": str(log)}


def change_code(counter: int) -> None:
    page = consumer.APP / "home" / "templates" / "home" / "index.html"
    text = re.sub(r"\n<!-- bench \d+ -->\n$", "\n", page.read_text())
    page.write_text(text + f"<!-- bench {counter} -->\n")


def change_lock(counter: int) -> None:
    lock = consumer.APP / "requirements.txt"
    lines = [line for line in lock.read_text().splitlines() if not line.startswith("six==")]
    lines.append(LOCK_EXTRA[counter % len(LOCK_EXTRA)])
    lock.write_text("\n".join(sorted(lines, key=str.lower)) + "\n")


def cell(r: dict) -> str:
    hosts = "" if r.get("hosts_cpu") is None else f" + {r['hosts_cpu']:.1f} s on the hosts"
    return f"{r['wall']:.1f} s ({r['cpu']:.1f} s CPU{hosts}, {r['tasks']} tasks, {r['changed']} changed)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,8")
    parser.add_argument("--configs", default="ours,defaults,mitogen")
    parser.add_argument("--cases", default=",".join(ALL_CASES))
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--skip-first", action="store_true", help="hosts kept converged by an earlier --keep run")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    configs = args.configs.split(",")
    cases = args.cases.split(",")
    for name in configs:
        if name not in CONFIGS:
            parser.error(f"unknown configuration {name}: one of {', '.join(CONFIGS)}")
    for name in cases:
        if name not in ALL_CASES:
            parser.error(f"unknown case {name}: one of {', '.join(ALL_CASES)}")

    started = time.monotonic()
    print(f"== creating the hosts ({DB}, bench-a-web1..{WEB_COUNT}, Debian 13, SSH as deploy with sudo)", flush=True)
    hosts_playbook()
    results = {}
    try:
        print("== building the site (the collection's tarball, a startproject app, a vault)", flush=True)
        consumer.SITE.mkdir(parents=True, exist_ok=True)
        consumer.install_collection()
        consumer.make_app()
        write_site()
        if not args.skip_first:
            print(f"== first converge of {max(sizes)} web hosts + db", flush=True)
            results[("first", "ours", max(sizes))] = r = run("site", max(sizes), "ours")
            print(f"   {CASE_LABELS['first']}: {cell(r)}", flush=True)
        counter = 0
        for config in configs:
            for size in sizes:
                print(f"== {CONFIGS[config][0]}, {size} web host(s) + db", flush=True)
                run("site", size, config)  # up to date: every host on the same release
                for case in cases:
                    counter += 1
                    if case == "code-deploy":
                        change_code(counter)
                    if case == "lock-deploy":
                        change_lock(counter)
                    playbook = (str(write_floor()) if case == "floor"
                                else {"noop-site": "site", "rollback": "rollback"}.get(case, "deploy"))
                    results[(case, config, size)] = r = run(playbook, size, config)
                    print(f"   {CASE_LABELS[case]}: {cell(r)}", flush=True)
    finally:
        if not args.keep:
            hosts_playbook("-e", "bench_state=absent")

    cpus = os.cpu_count()
    print(f"\n## The tool's speed over SSH ({cpus}-CPU machine; controller and hosts share it)\n")
    columns = [(c, s) for c in configs for s in sizes]
    print("| case | " + " | ".join(f"{CONFIGS[c][0]}, {s} web" for c, s in columns) + " |")
    print("|---|" + "---|" * len(columns))
    if ("first", "ours", max(sizes)) in results:
        first = results[("first", "ours", max(sizes))]
        print(f"| {CASE_LABELS['first']}, {max(sizes)} web + db, ours | {cell(first)} |" + " |" * (len(columns) - 1))
    for case in cases:
        row = [cell(results[(case, c, s)]) for c, s in columns]
        print(f"| {CASE_LABELS[case]} | " + " | ".join(row) + " |")
    print("\nGoals (ours):")
    if 1 in sizes and "ours" in configs:
        if "noop-site" in cases:
            r = results[("noop-site", "ours", 1)]
            met = r["wall"] <= 10 and r["changed"] == 0
            print(f"- no-op site.yml, 1 web + 1 db <= 10 s with changed=0: {r['wall']:.1f} s, changed={r['changed']}: "
                  f"{'met' if met else 'NOT met'}")
        if "code-deploy" in cases:
            r = results[("code-deploy", "ours", 1)]
            print(f"- code-only deploy, 1 web <= 20 s: {r['wall']:.1f} s: {'met' if r['wall'] <= 20 else 'NOT met'}")
    if len(sizes) > 1 and "ours" in configs:
        small, big = min(sizes), max(sizes)
        for case in cases:
            ratio = results[(case, "ours", big)]["wall"] / results[(case, "ours", small)]["wall"]
            print(f"- {CASE_LABELS[case]}: {big} web hosts in {ratio:.2f}x the time of {small} (<= 1.5x: "
                  f"{'met' if ratio <= 1.5 else 'NOT met'})")
    print(f"\n(benchmark took {time.monotonic() - started:.0f} s; logs in {WORK / 'logs'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
