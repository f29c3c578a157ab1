"""The scenario's test helpers: the ones every site scenario shares (molecule/resources/sitetests.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "resources"))

from sitetests import *  # noqa: E402,F403  (fixtures and helpers, re-exported for the tests' imports)
from sitetests import hosts  # noqa: E402,F401  (pytest finds fixtures among the conftest's names)
