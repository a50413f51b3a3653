"""The subscriber store, outbox and run_alerts against a REAL PostgreSQL server.

The fixture starts a throw-away cluster from Debian's ``postgresql`` package, which
``make test`` installs before pytest (``system-deps``; no test installs packages or
creates users): ``initdb`` in a temporary folder as the ``postgres`` user when run as
root, the server on a free loopback port with its socket in that folder, one database;
stopped and removed afterwards.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from alert_fixtures import AREA, ISSUE, make_forecast

from wetindex.alerts.crypto import ContactCipher, generate_key
from wetindex.alerts.email import SmtpChannel
from wetindex.alerts.engine import AlertStore, run_alerts
from wetindex.alerts.mailsink import MailSink, free_port
from wetindex.alerts.migrations import current_revision
from wetindex.alerts.outbox import deliver_pending
from wetindex.alerts.subscribers import SubscriberSpec, SubscriberStore

pytestmark = pytest.mark.postgres
CRS = "EPSG:25832"


def _pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


@pytest.fixture(scope="module")
def postgres_url():
    pg = _pg_bin()
    if pg is None:
        pytest.skip("PostgreSQL not installed: `make system-deps` (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="wetindex-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        user = "postgres"
        if subprocess.run(["id", "-u", user], capture_output=True).returncode != 0:
            shutil.rmtree(root, ignore_errors=True)
            pytest.skip("no system user 'postgres' to run initdb as: `make system-deps`")
        shutil.chown(root, user, user)
        as_user = ["runuser", "-u", user, "--"]
    data, port = root / "data", free_port()

    def run(*cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=120)

    init = run(str(pg / "initdb"), "-D", str(data), "-U", "wetindex", "--auth=trust",
               "-E", "UTF8", "--no-sync", "--no-instructions")
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"initdb failed: {init.stderr.strip()[-300:]}")
    options = f"-p {port} -k {root} -h 127.0.0.1 -c fsync=off -c full_page_writes=off"
    start = run(str(pg / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"),
                "-w", "-t", "60", "start")
    if start.returncode != 0:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {start.stderr}{log[-500:]}")
    try:
        made = run(str(pg / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "wetindex",
                   "wetindex_test")
        assert made.returncode == 0, made.stderr
        yield f"postgresql://wetindex@127.0.0.1:{port}/wetindex_test"
    finally:
        run(str(pg / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_store_outbox_and_alerts_on_postgresql(postgres_url, tmp_path, monkeypatch):
    monkeypatch.setenv("WETINDEX_DB_URL", postgres_url)
    store = SubscriberStore(cipher=ContactCipher(generate_key()))  # URL from the environment
    assert store.engine.dialect.name == "postgresql"
    assert current_revision(store.engine) == "0002"
    outbox, states = store.outbox(), AlertStore(store.engine)  # outbox rows encrypted
    shape = {"crs": CRS, "polygon": list(AREA.exterior.coords)}
    store.add(SubscriberSpec(area="t", name="Digelaget Klitten", email="formand@klitten.dk",
                             shape=shape, id="klitten"), CRS)
    store.add(SubscriberSpec(area="t", name="Pumpelaget", email="drift@pumpe.dk",
                             shape=shape, min_level=3, id="pumpe"), CRS)
    pending, token = store.sign_up(SubscriberSpec(area="t", name="Ny", email="ny@example.dk",
                                                  shape=shape), CRS, now=ISSUE)

    subs = store.subscriptions("t", CRS)
    assert {s.id for s in subs} == {"klitten", "pumpe"}
    first = run_alerts(make_forecast(0.5), subs, states, outbox, site_url="https://x.dk/")
    assert [(d.subscription_id, d.level) for d in first] == [("klitten", 2)]
    assert run_alerts(make_forecast(0.5), subs, states, outbox, site_url="https://x.dk/") == []
    later = ISSUE + timedelta(hours=3)
    second = run_alerts(make_forecast(0.8, issue_time=later), subs, states, outbox,
                        site_url="https://x.dk/")
    assert sorted((d.subscription_id, d.kind, d.level) for d in second) == [
        ("klitten", "update", 3), ("pumpe", "alert", 3)]
    assert states.get("klitten").revision == 2
    # the outbox's idempotency holds on PostgreSQL's ON CONFLICT too
    assert not outbox.enqueue(first[0].idempotency_key, "email", "x", b"again",
                              subscription_id="klitten")

    with MailSink(tmp_path / "mail", port=free_port()) as sink:
        channel = SmtpChannel("127.0.0.1", sink.port, starttls=False, sender="w@x.dk")
        report = deliver_pending(outbox, {"email": channel})
        assert deliver_pending(outbox, {"email": channel}).delivered == []
        received = sorted(m["To"] for m in sink.messages())
    assert len(report.delivered) == 3
    assert received == ["drift@pumpe.dk", "formand@klitten.dk", "formand@klitten.dk"]
    assert outbox.stats() == {"pending": 0, "delivered": 3, "failed": 0, "retrying": 0}

    assert store.confirm(token, now=ISSUE).status == "active"
    assert store.export("klitten")["alert_state"]["level"] == 3
    assert store.remove("klitten") == {"subscribers": 1, "alert_state": 1, "outbox": 2}
    assert store.purge_unconfirmed(ISSUE + timedelta(days=5)) == 0  # confirmed: kept
    assert sorted(s.id for s in store.list()) == sorted(["pumpe", pending.id])
