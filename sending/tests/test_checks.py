from sending.checks import extra_ca_file_exists, private_hosts_in_production


def test_private_hosts_in_production_are_reported(settings):
    settings.DEBUG = False
    settings.SENDING_ALLOW_PRIVATE_HOSTS = True
    assert [m.id for m in private_hosts_in_production(None)] == ["sending.W001"]
    settings.SENDING_ALLOW_PRIVATE_HOSTS = False
    assert private_hosts_in_production(None) == []


def test_a_missing_ca_file_is_an_error(settings, tmp_path):
    settings.SENDING_EXTRA_CA_FILE = str(tmp_path / "missing.pem")
    assert [m.id for m in extra_ca_file_exists(None)] == ["sending.E001"]
    (tmp_path / "ca.pem").write_text("pem")
    settings.SENDING_EXTRA_CA_FILE = str(tmp_path / "ca.pem")
    assert extra_ca_file_exists(None) == []
