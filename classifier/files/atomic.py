"""Writing a file so readers see the old content or the new, never half; a new file with the
umask's mode, one that is there with its own."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import OutputError

PARTIAL = ".partial"
# ENOSPC: disk full; EDQUOT: quota; EFBIG: a file-size limit. All mean "no room".
NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def current_umask() -> int:
    """The process's umask, read without changing it where /proc allows (threads are running)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def partial_name(path: Path) -> str:
    """The temporary file's name for `path`: hidden, with this process's id, so a later run can
    tell a killed run's leftover (its process is gone) from a file another run is writing."""
    return f".{path.name}.tactics-{os.getpid()}{PARTIAL}"


def remove_leftovers(path: Path) -> list[Path]:
    """Delete temporary files of earlier, killed runs writing `path` (and the staging folder of
    a folder of parts, which holds every part written before the kill: gigabytes, hidden, of a
    large Ray run); nothing else is touched."""
    removed: list[Path] = []
    prefix = f".{path.name}.tactics-"
    if not path.parent.is_dir():
        return removed
    for candidate in path.parent.iterdir():
        name = candidate.name
        if not (name.startswith(prefix) and name.endswith(PARTIAL)):
            continue
        pid = name[len(prefix):-len(PARTIAL)]
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        with contextlib.suppress(FileNotFoundError):
            if candidate.is_dir() and not candidate.is_symlink():
                shutil.rmtree(candidate)
            else:
                candidate.unlink()
            removed.append(candidate)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def no_room(error: OSError) -> bool:
    """Whether an OSError means the disk (or quota, or file-size limit) is full."""
    return error.errno in NO_ROOM


@contextlib.contextmanager
def temporary_beside(path: Path) -> Iterator[Path]:
    """A new temporary file beside `path`, moved over it when the block ends without error and
    removed otherwise; a full disk becomes one OutputError line. A file that is there keeps its
    mode, a link its place (the file it names is written), and a read-only one is refused."""
    named = path
    if path.is_symlink():  # a plan kept in a shared folder and linked: the link stays
        path = path.resolve()
    existing = path.stat() if path.exists() else None
    if existing is not None and not existing.st_mode & stat.S_IWUSR:
        raise OutputError(f"{named}: is read-only; nothing was written (make it writable, or "
                          f"write to another file)")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / partial_name(path)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    os.close(descriptor)  # created with 0o666 & ~umask, as any new file of this user
    if existing is not None:
        os.chmod(temporary, stat.S_IMODE(existing.st_mode))
    try:
        yield temporary
        os.replace(temporary, path)
    except OSError as error:
        if no_room(error):
            reason = os.strerror(error.errno) if error.errno else "no room"
            raise OutputError(f"{path}: no space left on the disk ({reason}); nothing was "
                              f"written") from None
        raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write text to a file atomically (plans, HTML reports)."""
    target = Path(path)
    with temporary_beside(target) as temporary, open(temporary, "w", encoding=encoding,
                                                     newline="") as handle:
        handle.write(text)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write bytes to a file atomically (workbooks, CSV made in memory)."""
    target = Path(path)
    with temporary_beside(target) as temporary, open(temporary, "wb") as handle:
        handle.write(data)


def same_file(first: Path, second: Path) -> bool:
    """Whether two paths name one file (the same path, a symlink to it, or a hard link)."""
    try:
        return first.exists() and second.exists() and os.path.samefile(first, second)
    except OSError:
        return False


def temporary_folder() -> str:
    """A folder for scratch files that are not outputs (uploads)."""
    return tempfile.gettempdir()
