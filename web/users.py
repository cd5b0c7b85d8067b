"""Who may use the web app: user names with salted scrypt hashes of their passwords, and which of
them are admins (the only ones who may add or remove reports, when any admin is named).

Users come from ``--auth USER:PASSWORD`` (repeatable), ``REPORTQA_AUTH`` (the same, comma- or
newline-separated) or a users file (``--auth-file``), one user a line::

    # comments and blank lines are ignored
    alice:scrypt$16384$8$5$<salt, hex>$<key, hex>:admin
    bob:scrypt$16384$8$5$<salt, hex>$<key, hex>

The hash is ``hashlib.scrypt`` (RFC 7914) with a random 16-byte salt and its parameters in the
line, so they can be raised later without breaking old lines; ``N=2**14, r=8, p=5`` (16 MiB, one
of OWASP's recommended scrypt settings) by default. ``python app.py --add-user FILE NAME`` adds a
user or changes their password (read without echo). Plain passwords given by ``--auth`` or
``REPORTQA_AUTH`` are hashed the same way as they are read, and then forgotten.

No message here ever contains a password: an error names the source and the line, never the
value.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 5
SALT_BYTES, KEY_BYTES = 16, 32
_MAXMEM = 2**28  # 256 MiB: room for stronger settings read from a file, refusing absurd ones
NAME = re.compile(r"^[A-Za-z0-9._@+-]{1,64}$")


class UsersError(ValueError):
    """Bad users or credentials configuration; ``str()`` is one line naming the source (never a
    password) and what to do."""


def hash_password(password: str, *, n: int | None = None, r: int | None = None, p: int | None = None,
                  salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$key`` (hex) for ``password``, with a new random salt unless given and
    the module's settings unless given."""
    n, r, p = n or SCRYPT_N, r or SCRYPT_R, p or SCRYPT_P
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=KEY_BYTES)
    return f"scrypt${n}${r}${p}${salt.hex()}${key.hex()}"


def _parse_hash(hashed: str) -> tuple[int, int, int, bytes, bytes]:
    kind, n, r, p, salt, key = hashed.split("$")
    if kind != "scrypt":
        raise ValueError(kind)
    n, r, p = int(n), int(r), int(p)
    if n < 2 or n & (n - 1) or not (1 <= r <= 64 and 1 <= p <= 64) or 128 * r * n > _MAXMEM:
        raise ValueError("parameters")
    salt, key = bytes.fromhex(salt), bytes.fromhex(key)
    if len(salt) < 8 or len(key) < 16:
        raise ValueError("lengths")
    return n, r, p, salt, key


def verify_password(password: str, hashed: str) -> bool:
    """Whether ``password`` matches ``hashed`` (compared in constant time)."""
    n, r, p, salt, key = _parse_hash(hashed)
    got = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=len(key))
    return hmac.compare_digest(got, key)


@dataclass(frozen=True)
class User:
    """One user: a name, the scrypt hash of their password, and whether they are an admin."""

    name: str
    hashed: str
    admin: bool = False

    def line(self) -> str:
        """The user as a line of a users file."""
        return f"{self.name}:{self.hashed}{':admin' if self.admin else ''}"


def check_name(name: str, where: str, show: bool = True) -> str:
    """``name`` if it is a valid user name; ``show=False`` leaves it out of the error (it may be a
    password typed in the wrong place)."""
    if not NAME.match(name or ""):
        shown = f" {name!r}" if show else ""
        raise UsersError(f"{where}: user name{shown} must be 1 to 64 letters, digits or . _ @ + -")
    return name


def parse_pairs(text: str, where: str) -> list[tuple[str, str]]:
    """``USER:PASSWORD`` items of ``text`` (separated by commas or newlines) as pairs.

    :param where: names the source in errors (``--auth``, ``REPORTQA_AUTH``), which never show
        the password.
    """
    pairs = []
    for i, item in enumerate((x.strip() for x in re.split(r"[,\n]", text or "")), 1):
        if not item:
            continue
        name, sep, password = item.partition(":")
        if not sep or not password:
            raise UsersError(f"{where}: item {i} is not USER:PASSWORD (the value is not shown); "
                             "use a users file (--auth-file) for passwords with commas")
        pairs.append((check_name(name.strip(), f"{where}: item {i}", show=False), password))
    return pairs


def read_users_file(path: Path) -> list[User]:
    """The users of a users file (see the module's docstring)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsersError(f"{path}: cannot read the users file ({type(exc).__name__}); "
                         "create it with `python app.py --add-user FILE NAME`") from None
    users = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        flags = parts[2:]
        if len(parts) < 2 or any(f != "admin" for f in flags):
            raise UsersError(f"{path}:{number}: expected USER:scrypt$N$r$p$SALT$KEY[:admin]; "
                             "add users with `python app.py --add-user FILE NAME`")
        name, hashed = parts[0], parts[1]
        try:
            _parse_hash(hashed)
        except ValueError:
            raise UsersError(f"{path}:{number}: the password hash of {name!r} is not a valid scrypt hash; "
                             "set it again with `python app.py --add-user FILE NAME`") from None
        users.append(User(check_name(name, f"{path}:{number}"), hashed, admin=bool(flags)))
    if not users:
        raise UsersError(f"{path}: no users in the users file; add one with `python app.py --add-user FILE NAME`")
    return users


def add_user(path: Path, name: str, password: str, admin: bool = False) -> bool:
    """Add ``name`` to the users file ``path`` (created, readable by its owner only), or change
    their password and admin flag if they are there. Returns True if the user was new.

    The file is replaced atomically, so a reader never sees half of it.
    """
    path = Path(path)
    check_name(name, str(path))
    if not password:
        raise UsersError(f"{path}: empty password for {name!r}; not saved")
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    if lines:
        read_users_file(path)  # refuse to rewrite a file that is already broken
    entry = User(name, hash_password(password), admin).line()
    new = True
    for i, line in enumerate(lines):
        if line.strip().split(":", 1)[0] == name and not line.lstrip().startswith("#"):
            lines[i], new = entry, False
    if new:
        lines.append(entry)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return new


class Users:
    """The users who may log in.

    :param users: each user's name and hash; a later entry for a name replaces an earlier one.
    :param admins: further admin names (``--admin``); each must be one of ``users``.
    """

    def __init__(self, users: list[User], admins: list[str] = ()):
        self._users = {u.name: u for u in users}
        unknown = [a for a in admins if a not in self._users]
        if unknown:
            raise UsersError(f"--admin {unknown[0]}: no such user; name a user given by --auth, "
                             "REPORTQA_AUTH or --auth-file")
        self.admins = frozenset(a for a in self._users if self._users[a].admin or a in admins)
        # Checked against for an unknown name, so that it takes as long as a known one.
        self._decoy = hash_password(secrets.token_urlsafe(16))

    def __len__(self) -> int:
        return len(self._users)

    @property
    def names(self) -> list[str]:
        return sorted(self._users)

    def check(self, name: str, password: str) -> bool:
        """Whether ``password`` is ``name``'s."""
        user = self._users.get(name)
        ok = verify_password(password or "", user.hashed if user else self._decoy)
        return ok and user is not None

    def may_change_library(self, name: str | None) -> bool:
        """Whether ``name`` may add and remove reports: anyone logged in when no admin is named,
        else admins only."""
        return name in self._users and (not self.admins or name in self.admins)


def load_users(auth: list[str] = (), env: str | None = None, auth_file: Path | None = None,
               admins: list[str] = ()) -> Users | None:
    """The users from ``--auth`` values, ``REPORTQA_AUTH`` (``env``) and a users file, or None
    when none is given (no login)."""
    users = [User(name, hash_password(password)) for value in auth for name, password in parse_pairs(value, "--auth")]
    users += [User(name, hash_password(password)) for name, password in parse_pairs(env or "", "REPORTQA_AUTH")]
    if auth_file is not None:
        users += read_users_file(auth_file)
    if not users:
        if admins:
            raise UsersError("--admin needs login: give users with --auth, REPORTQA_AUTH or --auth-file")
        return None
    return Users(users, list(admins))
