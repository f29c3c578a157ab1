# Copyright: Initech platform team
"""What a host's pip configuration tells pip about where packages come from, for uv.

uv does not read pip's configuration files. A host whose /etc/pip.conf names an index or a CA
bundle (a company's base image behind a TLS-inspecting proxy) must give uv the same settings.
"""

from __future__ import annotations

import configparser

from ansible.errors import AnsibleFilterError

# pip's settings that say where packages come from, as uv takes them.
_LISTS = ("extra-index-url", "trusted-host")
_SINGLE = ("index-url", "cert")


def pip_conf_settings(texts) -> dict:
    """{index-url, extra-index-url, trusted-host, cert} from pip configuration files, in the order pip
    reads them (a later file overrides an earlier one; in a file, [install] overrides [global]).
    Missing files are None. Settings a file does not give are left out."""
    if isinstance(texts, str) or texts is None:
        texts = [texts]
    found = {}
    for number, text in enumerate(texts):
        if not text:
            continue
        parser = configparser.RawConfigParser(strict=False)
        try:
            parser.read_string(text, source=f"pip configuration file {number + 1}")
        except configparser.Error as error:
            raise AnsibleFilterError(f"a pip configuration file on the host cannot be read: {error}") from None
        for section in ("global", "install"):
            if not parser.has_section(section):
                continue
            for key in _SINGLE + _LISTS:
                for spelling in (key, key.replace("-", "_")):
                    if parser.has_option(section, spelling):
                        value = parser.get(section, spelling).strip()
                        found[key] = value.split() if key in _LISTS else value
    return found


class FilterModule:
    def filters(self):
        return {"pip_conf_settings": pip_conf_settings}
