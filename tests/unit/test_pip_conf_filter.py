"""pip_conf_settings: the host's pip configuration, as uv must be given it."""

import pytest
from ansible.errors import AnsibleFilterError
from pip_conf import pip_conf_settings


def test_a_base_image_that_trusts_a_proxy_ca():
    text = "[global]\ncert = /etc/ssl/certs/controller-ca-bundle.pem\n"
    assert pip_conf_settings([None, text]) == {"cert": "/etc/ssl/certs/controller-ca-bundle.pem"}


def test_later_files_and_the_install_section_win():
    xdg = "[global]\nindex-url = https://xdg.example.test/simple\ntrusted-host = a.example.test\n"
    etc = ("[global]\nindex_url = https://etc.example.test/simple\n"
           "extra-index-url = https://b.example.test/simple\n  https://c.example.test/simple\n"
           "[install]\ntrusted-host = b.example.test c.example.test\n")
    assert pip_conf_settings([xdg, etc]) == {
        "index-url": "https://etc.example.test/simple",
        "extra-index-url": ["https://b.example.test/simple", "https://c.example.test/simple"],
        "trusted-host": ["b.example.test", "c.example.test"],
    }


def test_nothing_configured():
    assert pip_conf_settings([None, None]) == {}
    assert pip_conf_settings("[global]\ntimeout = 60\n") == {}
    assert pip_conf_settings(None) == {}


def test_a_broken_file_is_named():
    with pytest.raises(AnsibleFilterError, match="a pip configuration file on the host cannot be read"):
        pip_conf_settings(["cert = /x\n"])
