import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The collection's plugins are plain modules: import them straight from the checkout.
for kind in ("filter", "lookup"):
    sys.path.insert(0, str(ROOT / "plugins" / kind))
