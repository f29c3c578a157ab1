"""Lookup: who is running this playbook, for a lock's holder and for messages about it.

    lookup('initech.django.controller') -> {"host": ..., "user": ..., "pid": ...}
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: controller
author: Initech platform team
version_added: 0.2.0
short_description: the controller host, user and ansible-playbook process running this play
description:
  - Returns the host name of the controller, the user running Ansible and the process id of the
    ansible-playbook process (the parent of the worker that evaluates the lookup).
  - The deploy lock of initech.django.deploy records them, so that a second deploy can say who
    holds the lock.
options: {}
"""

EXAMPLES = r"""
- name: Say who runs this play
  ansible.builtin.debug:
    msg: "{{ lookup('initech.django.controller') }}"
  # -> {"host": "laptop", "user": "alice", "pid": 4242}
"""

RETURN = r"""
_raw:
  description: One mapping with host, user and pid.
  type: list
  elements: dict
  contains:
    host:
      description: The controller's host name.
      type: str
    user:
      description: The user running ansible-playbook.
      type: str
    pid:
      description: The process id of ansible-playbook on the controller.
      type: int
"""

import getpass
import os
import socket

from ansible.plugins.lookup import LookupBase


def controller() -> dict:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    # Lookups run in a worker process that ansible-playbook forked for the task.
    return {"host": socket.gethostname(), "user": user, "pid": os.getppid()}


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        return [controller()]
