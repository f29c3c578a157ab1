# Developer and CI entry points. On a fresh machine use scripts/run (it installs docker.io,
# debootstrap, make and python3-venv first, and starts Docker); then `make <target>` works too.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
DEMO_VENV := .venv-demo
DEMO_APP := examples/initech-demo
BIN := $(CURDIR)/$(VENV)/bin

# molecule, ansible-lint and pytest-testinfra find ansible-playbook on PATH.
export PATH := $(BIN):$(PATH)
# Scenarios live in molecule/ at the repo root (the site-repo layout), not extensions/.
export MOLECULE_GLOB := molecule/*/molecule.yml
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Hosts behind the same TLS-inspecting proxy as this machine make pip trust its CA bundle.
INITECH_PIP_CA_BUNDLE ?= $(wildcard /etc/ssl/certs/ca-certificates.crt)
export INITECH_PIP_CA_BUNDLE
# Mitogen's strategy (in the venv, from requirements.txt) when present: one connection per host
# instead of a docker exec per module.
MITOGEN_STRATEGY := $(wildcard $(CURDIR)/$(VENV)/lib/python3*/site-packages/ansible_mitogen/plugins/strategy)
ifneq ($(MITOGEN_STRATEGY),)
export ANSIBLE_STRATEGY_PLUGINS := $(MITOGEN_STRATEGY)
ANSIBLE_STRATEGY ?= mitogen_linear
export ANSIBLE_STRATEGY
endif
# The committed vaults hold fake secrets encrypted with this TEST-ONLY password.
TEST_VAULT_PASSWORD := $(CURDIR)/tests/vault-password-TEST-ONLY.txt

.PHONY: help venv demo-venv images lint unit molecule test demo demo-destroy bench bench-ansible bench-installers build lock demo-lock clean ee

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-13s %s\n", $$1, $$2}'

venv: $(VENV)/.installed  ## Controller tooling (ansible, molecule, linters) from requirements.txt
$(VENV)/.installed: requirements.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-virtualenv -r requirements.txt
	touch $@

demo-venv: $(DEMO_VENV)/.installed  ## The demo app's dev venv (its lock + dev tools) for its tests
$(DEMO_VENV)/.installed: $(DEMO_APP)/requirements.txt $(DEMO_APP)/requirements-dev.txt
	rm -rf $(DEMO_VENV)
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/pip install --quiet --require-virtualenv -r $(DEMO_APP)/requirements-dev.txt
	touch $@

images:  ## Build the Debian 12/13 systemd test images (cached by recipe)
	scripts/build-test-images.sh

lint: venv  ## yamllint and ansible-lint (production profile)
	$(BIN)/yamllint --strict .
	ANSIBLE_VAULT_PASSWORD_FILE=$(TEST_VAULT_PASSWORD) $(BIN)/ansible-lint

unit: venv demo-venv  ## pytest: the collection's plugins and the demo app
	$(BIN)/pytest tests/unit
	cd $(DEMO_APP) && $(CURDIR)/$(DEMO_VENV)/bin/pytest

molecule: venv demo-venv images  ## Every molecule scenario, on Debian 12 and 13 containers (scripts/molecule-lanes)
	scripts/molecule-lanes "web" "db consumer harness" "apps mariadb nginx"

# lint and unit go beside the molecule lanes (each target's output printed whole when it ends).
test: venv demo-venv images  ## Everything CI runs
	$(MAKE) --no-print-directory -j3 --output-sync=target lint unit molecule

demo: venv images  ## Deploy the demo onto a local systemd container (inventories/local)
	$(BIN)/ansible-playbook examples/demo-host.yml
	$(BIN)/ansible-playbook site.yml -i inventories/local --vault-password-file $(TEST_VAULT_PASSWORD)
	@echo
	@echo "The demo app runs on initech-demo (Debian 12, systemd) as initech-demo.service:"
	@echo "gunicorn with gevent workers, one per CPU, behind nginx. Its health through nginx,"
	@echo "asked from inside the container:"
	@docker exec initech-demo python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1/healthz').read().decode())"
	@echo "  Shell on it:   docker exec -it initech-demo bash"
	@echo "  The service:   docker exec initech-demo systemctl status initech-demo"
	@echo "  New release:   .venv/bin/ansible-playbook initech.django.deploy -i inventories/local --vault-password-file $(TEST_VAULT_PASSWORD)"
	@echo "  Roll back:     .venv/bin/ansible-playbook initech.django.rollback -i inventories/local --vault-password-file $(TEST_VAULT_PASSWORD)"
	@echo "  Remove it:     make demo-destroy"

demo-destroy: venv  ## Remove the demo container
	$(BIN)/ansible-playbook examples/demo-host.yml -e demo_host_state=absent

bench: venv images  ## Measure gevent vs sync vs gthread on deployed hosts (prints a table)
	$(BIN)/python bench/run.py

bench-installers: venv  ## Measure pip against uv for the demo's lock: cold, warm cache, no-op, dev file (prints a table)
	$(BIN)/python bench/installers.py

bench-ansible: venv demo-venv images  ## Measure the tool: site/deploy/rollback over SSH, 1 vs 8 web hosts, ours vs Ansible's defaults vs Mitogen
	env -u ANSIBLE_STRATEGY -u ANSIBLE_STRATEGY_PLUGINS $(BIN)/python bench/ansible.py

build: venv  ## Build the collection tarball into dist/
	$(BIN)/ansible-galaxy collection build --force --output-path dist/

lock:  ## Re-lock requirements.txt from requirements_to_freeze.txt in a clean venv
	scripts/lock . "make lock"

demo-lock:  ## Re-lock the demo app's requirements.txt
	scripts/lock $(DEMO_APP) "scripts/lock $(DEMO_APP)"

clean:  ## Remove venvs and build outputs (not the images)
	rm -rf $(VENV) $(DEMO_VENV) dist .pytest_cache

ee: venv build  ## The execution environment's build context (ee/context) and Containerfile, for AWX/AAP
	$(BIN)/ansible-builder create -f execution-environment.yml --context ee/context --output-filename Containerfile
	{ echo '# Generated by `make ee` (ansible-builder create -f execution-environment.yml): do not edit by hand.'; \
	  echo '# tests/unit/test_execution_environment.py checks it is what the definition makes.'; \
	  cat ee/context/Containerfile; } > ee/Containerfile
