"""Users and their hashed passwords, on tiny inputs (cheap scrypt settings where speed matters)."""
import stat

import pytest

from web import users as u

PW = "correct horse battery staple"


REAL = (u.SCRYPT_N, u.SCRYPT_P)


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch):
    """Cheap settings: the real ones take ~0.1 s a hash (see ``real_scrypt``)."""
    monkeypatch.setattr(u, "SCRYPT_N", 2**4)
    monkeypatch.setattr(u, "SCRYPT_P", 1)


@pytest.fixture
def real_scrypt(monkeypatch, cheap_scrypt):
    monkeypatch.setattr(u, "SCRYPT_N", REAL[0])
    monkeypatch.setattr(u, "SCRYPT_P", REAL[1])


def test_a_hash_verifies_its_password_only_and_is_salted(real_scrypt):
    hashed = u.hash_password(PW)
    kind, n, r, p, salt, key = hashed.split("$")
    assert (kind, int(n), int(r), int(p)) == ("scrypt", 2**14, 8, 5)
    assert len(bytes.fromhex(salt)) == 16 and len(bytes.fromhex(key)) == 32 and PW not in hashed
    assert u.verify_password(PW, hashed) and not u.verify_password(PW + " ", hashed)
    assert u.hash_password(PW) != hashed  # a new salt each time
    # a known answer: the parameters and salt in the line are the ones used
    fixed = u.hash_password("pw", n=2, r=1, p=1, salt=bytes(8))
    assert fixed == "scrypt$2$1$1$0000000000000000$" + __import__("hashlib").scrypt(
        b"pw", salt=bytes(8), n=2, r=1, p=1, dklen=32).hex()


def test_auth_values_are_pairs_split_on_commas_and_newlines_and_errors_never_show_a_password():
    assert u.parse_pairs("alice:a:b:c, bob:pw2\ncarol:pw3\n", "REPORTQA_AUTH") == [
        ("alice", "a:b:c"), ("bob", "pw2"), ("carol", "pw3")]
    for bad in ("alice", "alice:", "s3cr3t-pass word:alice"):
        with pytest.raises(u.UsersError) as caught:
            u.parse_pairs(f"ok:pw,{bad}", "--auth")
        message = str(caught.value)
        assert message.startswith("--auth: item 2") and "\n" not in message
        assert "s3cr3t" not in message and "alice" not in message


def test_add_user_writes_a_private_file_that_reads_back_and_changes_a_password(tmp_path):
    path = tmp_path / "users.txt"
    assert u.add_user(path, "alice", PW, admin=True) is True
    assert u.add_user(path, "bob", "pw2") is True
    assert u.add_user(path, "bob", "pw3") is False  # a second time: the password changes
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and PW not in path.read_text()
    users = u.read_users_file(path)
    assert [(x.name, x.admin) for x in users] == [("alice", True), ("bob", False)]
    assert u.verify_password("pw3", users[1].hashed) and not u.verify_password("pw2", users[1].hashed)
    with pytest.raises(u.UsersError, match="empty password"):
        u.add_user(path, "carol", "")


@pytest.mark.parametrize("line, fault", [
    ("alice", "expected USER:scrypt"), ("alice:md5$x:admin", "not a valid scrypt hash"),
    ("alice:scrypt$3$8$1$00ff00ff00ff00ff$" + "00" * 32, "not a valid scrypt hash"),  # N not a power of 2
    ("alice:{h}:root", "expected USER:scrypt"), ("al ice:{h}", "user name 'al ice'"),
])
def test_a_bad_users_file_line_is_named_by_file_and_line(tmp_path, line, fault):
    path = tmp_path / "users.txt"
    path.write_text("# team\n\n" + line.format(h=u.hash_password("pw", n=2, r=1, p=1)) + "\n")
    with pytest.raises(u.UsersError, match=fault) as caught:
        u.read_users_file(path)
    assert str(caught.value).startswith(f"{path}:3: ")


def test_users_check_passwords_and_admins_limit_who_changes_the_library(tmp_path):
    path = tmp_path / "users.txt"
    u.add_user(path, "carol", "pw3", admin=True)
    users = u.load_users(["alice:pw1"], "bob:pw2", path, admins=["alice"])
    assert users.names == ["alice", "bob", "carol"] and users.admins == {"alice", "carol"}
    assert users.check("alice", "pw1") and users.check("carol", "pw3")
    assert not users.check("alice", "pw2") and not users.check("nobody", "pw1") and not users.check("bob", "")
    assert users.may_change_library("alice") and not users.may_change_library("bob")
    assert not users.may_change_library(None)
    # no admin named: every user may change the library
    assert u.load_users(["alice:pw1", "bob:pw2"]).may_change_library("bob")


def test_no_users_means_no_login_and_admin_without_users_is_an_error():
    assert u.load_users([], None, None) is None
    with pytest.raises(u.UsersError, match="--admin needs login"):
        u.load_users([], "", None, admins=["alice"])
    with pytest.raises(u.UsersError, match="--admin bob: no such user"):
        u.load_users(["alice:pw1"], admins=["bob"])
