"""The Initech demo: a small Django project laid out the way the Initech guidelines say."""

# Served by /healthz; a deploy test changes it to prove the new code is live.
__version__ = "1.0.0"
