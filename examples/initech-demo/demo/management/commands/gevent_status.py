from django.core.management.base import BaseCommand

from initech_demo.bootstrap import socket_patched


class Command(BaseCommand):
    help = "Say whether this manage.py process runs under gevent's monkey patching."

    def handle(self, *args, **options):
        self.stdout.write("patched" if socket_patched() else "unpatched")
