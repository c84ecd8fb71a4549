"""Backup and restore: the database and the document directory in one file.

A backup is a gzip-compressed tar holding ``manifest.json``, the database (``database.sqlite3``, copied
with SQLite's online backup API, or ``database.pgdump``, ``pg_dump -Fc``) and ``documents/ab/abcd...``,
the content-addressed uploads. Both database copies are consistent snapshots taken while the service
runs. The database is dumped first and the documents copied after: a document is written before the row
that names it commits, so every document the dump refers to is in the file.

A restore checks the whole file first (manifest, database kind, the database copy itself, each
document's sha256 against its name) and refuses with :class:`BackupInvalid` before changing anything.
It then replaces the database's content (SQLite: online backup API into the target; PostgreSQL:
``pg_restore --clean --if-exists --single-transaction``, all or nothing) and adds the documents.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from glob import glob
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from engine.workflow.errors import EngineError

FORMAT = "kia-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBER = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
_DOCUMENT = re.compile(r"documents/([0-9a-f]{2})/(\1[0-9a-f]{62})")
# a restore waits this long for a table lock (a service still running) before it gives up, unchanged
PG_LOCK_TIMEOUT = "30s"
_CHUNK = 1 << 20


class BackupError(EngineError):
    """A backup or restore that could not be done (a missing tool, an unsupported database)."""

    code = "backup_failed"


class BackupInvalid(BackupError):
    """The file is not a usable KIA backup (or not for this kind of database); nothing was changed."""

    code = "backup_invalid"


@dataclass(frozen=True)
class Summary:
    database: str  # sqlite | postgresql
    documents: int
    created_at: str  # ISO 8601, UTC, when the backup was taken
    size_bytes: int


def create(database_url: str, document_dir: str | os.PathLike, target: str | os.PathLike) -> Summary:
    """Write a backup of the database at ``database_url`` and of ``document_dir`` to ``target``."""
    url = make_url(database_url)
    kind = _kind(url)
    target = Path(target)
    created_at = datetime.now(UTC).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(prefix="kia-backup-") as work:
        dump = Path(work) / DATABASE_MEMBER[kind]
        if kind == "sqlite":
            _sqlite_copy(_sqlite_path(url), dump)
        else:
            _run(
                [postgres_tool("pg_dump"), "-Fc", "--no-owner", "--no-privileges", "-f", str(dump), "-d", _libpq(url)],
                url,
                "pg_dump",
            )
        documents = sorted(_documents(Path(document_dir)))
        manifest = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "database": kind,
            "created_at": created_at,
            "documents": len(documents),
        }
        partial = target.with_name(f".{target.name}.partial")
        try:
            with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
                _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2).encode())
                tar.add(dump, arcname=dump.name)
                for relative, path in documents:
                    tar.add(path, arcname=f"documents/{relative}")
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return Summary(kind, len(documents), created_at, target.stat().st_size)


def restore(database_url: str, document_dir: str | os.PathLike, source: str | os.PathLike) -> Summary:
    """Replace the database's content with the backup in ``source`` and add its documents.

    Stop the service first: a PostgreSQL restore waits at most ``PG_LOCK_TIMEOUT`` for its tables."""
    url = make_url(database_url)
    kind = _kind(url)
    with tempfile.TemporaryDirectory(prefix="kia-restore-") as work:
        manifest, dump, documents = _unpack(Path(source), Path(work), kind)
        if kind == "sqlite":
            _sqlite_copy(dump, _sqlite_path(url))
        else:
            _run(
                [
                    postgres_tool("pg_restore"),
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--no-privileges",
                    "--single-transaction",
                    "-d",
                    _libpq(url),
                    str(dump),
                ],
                url,
                "pg_restore",
            )
        for relative, path in documents:
            destination = Path(document_dir) / relative
            if not destination.exists():
                destination.parent.mkdir(parents=True, exist_ok=True)
                partial = destination.with_suffix(".tmp")
                shutil.copyfile(path, partial)
                os.replace(partial, destination)
    return Summary(kind, len(documents), manifest["created_at"], Path(source).stat().st_size)


# --- the file ------------------------------------------------------------------------------------------


def _unpack(source: Path, work: Path, kind: str) -> tuple[dict[str, Any], Path, list[tuple[str, Path]]]:
    """Extract and check everything; BackupInvalid on the first problem."""
    not_backup = f"Berkas {source.name} bukan cadangan KIA yang utuh"
    try:
        with tarfile.open(source, "r:*") as tar:
            manifest = _manifest(tar, source.name)
            if manifest["database"] != kind:
                raise BackupInvalid(
                    f"Cadangan {source.name} berisi basis data {manifest['database']}, sedangkan "
                    f"tujuan pemulihan adalah {kind}; pulihkan ke basis data yang sejenis."
                )
            dump, documents = None, []
            for member in tar:
                if member.name == MANIFEST:
                    continue
                if not member.isfile():
                    raise BackupInvalid(f"{not_backup}: entri tak dikenal ({member.name[:80]}).")
                match = _DOCUMENT.fullmatch(member.name)
                if member.name == DATABASE_MEMBER[kind]:
                    dump = work / member.name
                    _extract(tar, member, dump)
                elif match:
                    path = work / "documents" / match.group(2)
                    if _extract(tar, member, path) != match.group(2):
                        raise BackupInvalid(
                            f"{not_backup}: isi dokumen {match.group(2)[:12]}... tidak cocok dengan namanya."
                        )
                    documents.append((f"{match.group(1)}/{match.group(2)}", path))
                else:
                    raise BackupInvalid(f"{not_backup}: entri tak dikenal ({member.name[:80]}).")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise BackupInvalid(f"{not_backup} ({type(exc).__name__}).") from None
    if dump is None:
        raise BackupInvalid(f"{not_backup}: salinan basis data tidak ada.")
    if len(documents) != manifest.get("documents"):
        raise BackupInvalid(
            f"{not_backup}: jumlah dokumen {len(documents)}, manifes menyebut {manifest.get('documents')}."
        )
    _check_dump(kind, dump, source.name)
    return manifest, dump, documents


def _manifest(tar: tarfile.TarFile, name: str) -> dict[str, Any]:
    try:
        member = tar.getmember(MANIFEST)
        stream = tar.extractfile(member)
        manifest = json.loads(stream.read(65536)) if stream else None
    except (KeyError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupInvalid(f"Berkas {name} bukan cadangan KIA (manifest.json tidak ada atau tidak sah).")
    if manifest.get("version") != FORMAT_VERSION:
        raise BackupInvalid(
            f"Cadangan {name} berformat versi {manifest.get('version')!r}; yang didukung versi {FORMAT_VERSION}."
        )
    if manifest.get("database") not in DATABASE_MEMBER or not isinstance(manifest.get("created_at"), str):
        raise BackupInvalid(f"Berkas {name} bukan cadangan KIA (manifest.json tidak lengkap).")
    return manifest


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, path: Path) -> str:
    """Write ``member`` to ``path``; returns the sha256 of its content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stream = tar.extractfile(member)
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for chunk in iter(lambda: stream.read(_CHUNK), b""):  # type: ignore[union-attr]
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _check_dump(kind: str, dump: Path, name: str) -> None:
    """The database copy must itself be readable and hold the service's tables."""
    problem = f"Salinan basis data di dalam {name} rusak atau bukan basis data layanan KIA"
    if kind == "sqlite":
        try:
            with closing(sqlite3.connect(f"file:{dump}?mode=ro", uri=True)) as conn:
                ok = conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
                tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError:
            raise BackupInvalid(f"{problem}.") from None
    else:
        listing = subprocess.run([postgres_tool("pg_restore"), "-l", str(dump)], capture_output=True, text=True)
        ok = listing.returncode == 0
        tables = set(re.findall(r" TABLE public (\w+) ", listing.stdout))
    if not ok or not {"instances", "process_versions"} <= tables:
        raise BackupInvalid(f"{problem}.")


def _documents(directory: Path) -> Iterator[tuple[str, Path]]:
    if not directory.is_dir():
        return
    for path in directory.glob("??/*"):
        relative = f"{path.parent.name}/{path.name}"
        if path.is_file() and _DOCUMENT.fullmatch(f"documents/{relative}"):
            yield relative, path


def _add_bytes(tar: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(content), int(datetime.now(UTC).timestamp()), 0o644
    tar.addfile(info, io.BytesIO(content))


# --- the databases -------------------------------------------------------------------------------------


def _kind(url: URL) -> str:
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise BackupError("Basis data SQLite di memori tidak dapat dicadangkan.")
        return "sqlite"
    if backend == "postgresql":
        return "postgresql"
    raise BackupError(f"Basis data {backend} tidak didukung untuk pencadangan (hanya SQLite dan PostgreSQL).")


def _sqlite_path(url: URL) -> str:
    return str(url.database)


def _sqlite_copy(source: str | os.PathLike, destination: str | os.PathLike) -> None:
    """SQLite's online backup API: a consistent copy even while other connections write."""
    try:
        with (
            closing(sqlite3.connect(source, timeout=30)) as src,
            closing(sqlite3.connect(destination, timeout=30)) as dst,
        ):
            src.backup(dst)
    except sqlite3.Error as exc:
        raise BackupError(f"Salinan SQLite gagal: {exc}.") from None


def postgres_tool(name: str) -> str:
    """``pg_dump``/``pg_restore`` on PATH, else the newest under /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(re.sub(r"\D", "", Path(p).parent.parent.name) or 0)
    )
    if not candidates:
        raise BackupError(f"{name} tidak ditemukan (pasang paket postgresql-client).")
    return candidates[-1]


def _libpq(url: URL) -> str:
    """The libpq connection URI of a SQLAlchemy URL, without the password (that goes by PGPASSWORD)."""
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _run(command: list[str], url: URL, tool: str) -> None:
    env = dict(os.environ, PGOPTIONS=f"-c lock_timeout={PG_LOCK_TIMEOUT}")
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        # pg_* messages name objects and connection settings, never row data
        detail = result.stderr.strip().splitlines()[-1:] or [f"kode keluar {result.returncode}"]
        raise BackupError(f"{tool} gagal: {detail[0].rstrip('.')}.")
