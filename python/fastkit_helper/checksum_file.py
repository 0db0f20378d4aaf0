"""The checksum file of a versions folder, `fastkit.sum`: what each revision file held when it was
recorded, so an edit to a revision that databases already ran is caught (like Atlas's atlas.sum).

    sha256:<the hash of every line below, as written>
    20260101_000001_create_notes.py sha256:<the hash of the file, line ends made \\n>
    20260101_000002_add_title.py sha256:<...>

One line per revision file of the folder (its path below the folder, `/` between folders),
sorted by that path. Every new revision changes the first line, and with a timestamped
file_template adds the last one, so two branches that each add a revision conflict in git: the
second head shows at merge time. A file with git's conflict markers is read as the entries of
both sides; `fastkit migrate hash` and `fastkit migrate rebase` write it whole again.

Alembic reads only `*.py` (and `*.pyc`) files from a versions folder: it never takes this file
for a revision.
"""

import hashlib
import os
import re

FILE_NAME = "fastkit.sum"
PREFIX = "sha256:"
_ENTRY = re.compile(r"^(?P<name>.+) sha256:(?P<hash>[0-9a-f]{64})$")
_TOTAL = re.compile(r"^sha256:(?P<hash>[0-9a-f]{64})$")
_MARKERS = ("<<<<<<<", "|||||||", "=======", ">>>>>>>")


def file_checksum(path):
    """The SHA-256 of a file with its line ends made `\\n`: a checkout with CRLF line ends
    (git's autocrlf) records the same as one with LF."""
    with open(path, "rb") as handle:
        content = handle.read()
    return hashlib.sha256(content.replace(b"\r\n", b"\n").replace(b"\r", b"\n")).hexdigest()


def sum_path(location):
    return os.path.join(location, FILE_NAME)


def revision_name(location, path):
    """A revision file as its entry names it: its path below the versions folder."""
    return os.path.relpath(path, location).replace(os.sep, "/")


class SumFile:
    """A checksum file as read: its entries ({name: hash}), the line each is on, and what is
    wrong with the file itself (conflict markers, a first line that is not the sum of the rest,
    lines that are not entries)."""

    def __init__(self, path):
        self.path = path
        self.entries = {}
        self.lines = {}
        self.conflict_line = None
        self.malformed = []  # [(line number, text)]
        self.total_matches = True
        with open(path, encoding="utf-8", errors="replace", newline="") as handle:
            text = handle.read()
        totals = []
        entry_lines = []
        in_base = False  # diff3's ||||||| section: the common ancestor, already in both sides
        for number, line in enumerate(text.splitlines(), start=1):
            if line.startswith(_MARKERS):
                if self.conflict_line is None:
                    self.conflict_line = number
                in_base = line.startswith("|||||||")
                continue
            if in_base or not line.strip():
                continue
            total = _TOTAL.match(line)
            if total:
                totals.append(total.group("hash"))
                continue
            entry = _ENTRY.match(line)
            if not entry:
                self.malformed.append((number, line))
                continue
            name = entry.group("name")
            entry_lines.append(line)
            if name not in self.entries:  # both sides of a conflict: the first side's record stays
                self.entries[name] = entry.group("hash")
                self.lines[name] = number
        if self.conflict_line is None:
            self.total_matches = totals == [_total(line + "\n" for line in entry_lines)]

    @property
    def conflicted(self):
        return self.conflict_line is not None


def read_sum(location):
    """The SumFile of a versions folder, or None where it has none."""
    path = sum_path(location)
    return SumFile(path) if os.path.isfile(path) else None


def _total(lines):
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8"))
    return digest.hexdigest()


def write_sum(location, entries):
    """Writes the checksum file of a folder whole, from {name: hash}; atomically, so a reader
    never sees half of it."""
    lines = ["%s %s%s\n" % (name, PREFIX, entries[name]) for name in sorted(entries)]
    text = "%s%s\n%s" % (PREFIX, _total(lines), "".join(lines))
    path = sum_path(location)
    temporary = os.path.join(location, ".%s.%d.tmp" % (FILE_NAME, os.getpid()))
    with open(temporary, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    os.replace(temporary, path)
    return path


def files_in(project, location):
    """{name: path} of the revision files Alembic reads from one of the project's folders."""
    found = {}
    for path, _name in project.revision_files():
        if _inside(path, location):
            found[revision_name(location, path)] = path
    return found


def location_of(project, path):
    """The version location a revision file is in (the innermost, should they nest)."""
    containing = [location for location in project.version_locations() if _inside(path, location)]
    return max(containing, key=len) if containing else os.path.dirname(os.path.abspath(path))


def _inside(path, folder):
    return os.path.abspath(path).startswith(os.path.join(os.path.abspath(folder), ""))


def record_revision(project, path):
    """Records one new revision file (make, merge): added to its folder's checksum file, the
    other entries kept as they were recorded. A folder without one gets one that records every
    revision file in it as it is now."""
    location = location_of(project, path)
    existing = read_sum(location)
    if existing is None:
        entries = {name: file_checksum(file) for name, file in files_in(project, location).items()}
    else:
        entries = dict(existing.entries)
        entries[revision_name(location, path)] = file_checksum(path)
    return write_sum(location, entries)


def rewrite_sums(project):
    """`fastkit migrate hash`: every versions folder's checksum file written from its files as
    they are now. Returns what changed per folder, for the user to see what was re-recorded."""
    written = []
    for location in project.version_locations():
        if not os.path.isdir(location):
            continue
        files = files_in(project, location)
        existing = read_sum(location)
        if not files and existing is None:
            continue
        entries = {name: file_checksum(file) for name, file in files.items()}
        recorded = existing.entries if existing is not None else {}
        changes = {
            "added": sorted(name for name in entries if name not in recorded),
            "changed": sorted(name for name in entries if name in recorded and recorded[name] != entries[name]),
            "removed": sorted(name for name in recorded if name not in entries),
            "conflicted": bool(existing and existing.conflicted),
        }
        current = existing is not None and not existing.conflicted and existing.total_matches and not existing.malformed
        unchanged = current and not (changes["added"] or changes["changed"] or changes["removed"])
        if not unchanged:
            write_sum(location, entries)
        written.append(dict(changes, path=sum_path(location), revisions=len(entries), written=not unchanged))
    return written


def recorded_checksum(project, path):
    """The checksum a folder's checksum file holds for a revision file, or None."""
    location = location_of(project, path)
    existing = read_sum(location)
    return existing.entries.get(revision_name(location, path)) if existing is not None else None
