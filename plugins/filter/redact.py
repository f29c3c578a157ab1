"""Keep credentials out of what is shown or stored.

    redact_url(text) -> the text with the user:password@ part of every URL in it replaced by ***@
"""

from __future__ import annotations

import re

# scheme://userinfo@ (userinfo: anything but / ? # @ and whitespace), as in https://user:token@host/x,
# and scp-like git remotes user@host:path are left alone (a user name is not a secret).
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\s]+@")


def redact_url(text) -> str:
    """Replace the credentials of every URL in ``text`` by ``***``; other text is kept."""
    return _USERINFO.sub(r"\g<scheme>***@", str(text if text is not None else ""))


class FilterModule:
    """Ansible entry point."""

    def filters(self):
        return {"redact_url": redact_url}
