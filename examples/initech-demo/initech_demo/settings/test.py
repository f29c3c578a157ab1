"""Settings for the test suite: test-only values, set before base reads the environment."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-not-a-secret-" + "x" * 40)
os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")
os.environ.setdefault("ENVIRONMENT", "initech_demo.settings.test")

from .base import *  # noqa: E402,F401,F403
