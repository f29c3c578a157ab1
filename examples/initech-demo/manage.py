#!/usr/bin/env python
"""Django's command-line utility, reading .env first to choose the settings module."""

import os
import sys


def main() -> None:
    from initech_demo import bootstrap

    env = bootstrap.read_env()
    bootstrap.select_settings(env)
    if bootstrap.gevent_wanted(sys.argv, os.environ):
        bootstrap.patch_gevent()
    else:
        bootstrap.install_pymysql()

    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
