"""The data dir is its owner's alone: a fresh one is created 0700 and every file paycrypt writes
in it (database, WAL and shared memory, master key, audit log) is 0600, whatever the umask; a data
dir or master key file that others can read gets a warning at start."""

from __future__ import annotations

import os
import secrets
import stat

from conftest import make_client, run_paycrypt, tdes_key


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_fresh_data_dir_and_every_file_in_it_are_private(server_factory, tmp_path):
    data_dir = tmp_path / "fresh" / "data"
    old = os.umask(0o022)
    try:
        # paycrypt makes the directory (the server fixture would make it first, so the operator
        # command that opens the store does), then a server writes in it
        listed = run_paycrypt("admin", "mpa", "list", env={"PAYCRYPT_DATA_DIR": str(data_dir)})
        assert listed.returncode == 0, listed.stderr
        assert mode(data_dir) == 0o700
        server = server_factory(data_dir=data_dir)
    finally:
        os.umask(old)
    tdes_key(make_client(server.endpoint))
    assert mode(data_dir) == 0o700
    files = sorted(p.name for p in data_dir.iterdir())
    assert {"paycrypt.db", "master.key", "audit.log"} <= set(files), files
    assert {name: oct(mode(data_dir / name)) for name in files} == {name: oct(0o600) for name in files}
    assert "readable" not in server.log() and "read by other users" not in server.log()


def test_a_data_dir_or_master_key_others_can_read_gets_a_warning(server_factory, tmp_path):
    data_dir = tmp_path / "shared"
    data_dir.mkdir(mode=0o755)
    os.chmod(data_dir, 0o755)
    key_file = tmp_path / "master.key"
    key_file.write_text(secrets.token_hex(32) + "\n")
    os.chmod(key_file, 0o644)
    server = server_factory(data_dir=data_dir, master_key_file=key_file)
    log = server.log()
    assert "data directory can be read by other users" in log, log
    assert "master key file can be read by other users" in log, log
    # what paycrypt writes is private all the same
    assert mode(data_dir / "paycrypt.db") == 0o600
