"""Keep credentials out of what is shown or stored.

    redact_url(text)             -> the text with the user:password@ part of every URL replaced by ***@
    redact_values(text, values)  -> the text with each of the values (and its URL-encoded form) replaced by ***
"""

from __future__ import annotations

import re

# scheme://userinfo@ (userinfo: anything but / ? # @ and whitespace), as in https://user:token@host/x,
# and scp-like git remotes user@host:path are left alone (a user name is not a secret).
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\s]+@")


def redact_url(text) -> str:
    """Replace the credentials of every URL in ``text`` by ``***``; other text is kept."""
    return _USERINFO.sub(r"\g<scheme>***@", str(text if text is not None else ""))


def redact_values(text, values) -> str:
    """Replace every occurrence of each value (secrets the caller knows), as is or percent-encoded,
    by ``***``; empty and very short values are left alone (they would blank out ordinary text)."""
    from urllib.parse import quote

    text = str(text if text is not None else "")
    for value in sorted({str(v) for v in (values or []) if v is not None and len(str(v)) >= 4}, key=len, reverse=True):
        for form in (value, quote(value, safe="")):
            text = text.replace(form, "***")
    return text


class FilterModule:
    """Ansible entry point."""

    def filters(self):
        return {"redact_url": redact_url, "redact_values": redact_values}
