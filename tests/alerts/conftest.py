"""Alert tests: the ``postgres`` marker (tests against a real PostgreSQL server)."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "postgres: needs a PostgreSQL server (started by the test, from Debian's "
        "packages)")
