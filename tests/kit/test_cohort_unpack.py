"""The cohort's unpacker (`kata.instructor.unpack`) against the red team's submissions, one trap at a time.

Each trap used to crash `kata cohort` or could make it block or fill the disk; here each must end in a
`Refused` with a reason (leaving nothing unpacked) or unpack safely, and fingerprinting it must neither
crash nor read anything but regular files. The git bombs are written by the test itself, as bundles.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import uuid
import zipfile
import zlib
from pathlib import Path

import pytest
from conftest import marked_processes

from kata.instructor import cohort, unpack
from kata.instructor.records import Kind

OK = {"exercises/02-count/wc/__init__.py": b"def count(text):\n    return len(text.split())\n"}
SMALL = unpack.Limits(max_bytes=5 * 1024**2, max_files=200)


def make_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def raw_name_zip(path: Path, placeholder: str, raw: bytes, utf8_flag: bool,
                 entries: dict[str, bytes] | None = None) -> Path:
    """A zip of `entries` and an entry `placeholder` renamed to the raw bytes `raw` (same length), with or
    without the UTF-8 flag: what other tools write and Python's zipfile never would."""
    assert len(placeholder.encode()) == len(raw)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in (OK if entries is None else entries).items():
            zf.writestr(name, data)
        zf.writestr(placeholder, b"notes\n")
    data = bytearray(path.read_bytes())
    at = data.find(placeholder.encode())
    while at >= 0:
        data[at:at + len(raw)] = raw
        # A local header starts 30 bytes before its name, its flags at byte 6; a central directory entry
        # starts 46 bytes before, its flags at byte 8. Bit 11 (0x800) is 0x08 in the flags' second byte.
        for start, flags, signature in ((30, 6, b"PK\x03\x04"), (46, 8, b"PK\x01\x02")):
            if utf8_flag and data[at - start:at - start + 4] == signature:
                data[at - start + flags + 1] |= 0x08
        at = data.find(placeholder.encode(), at + 1)
    path.write_bytes(bytes(data))
    return path


def unpacked(tmp_path: Path, source: Path, kind: Kind = Kind.ZIP, limits: unpack.Limits = SMALL) -> Path:
    dest = tmp_path / "ws" / "learner"
    unpack.unpack(kind, source, dest, limits)
    return dest


def refused(tmp_path: Path, source: Path, kind: Kind = Kind.ZIP, limits: unpack.Limits = SMALL) -> unpack.Refused:
    unpack.fingerprint(kind, source, limits)  # never crashes, never blocks, whatever the source holds
    with pytest.raises(unpack.Refused) as caught:
        unpacked(tmp_path, source, kind, limits)
    assert not (tmp_path / "ws" / "learner").exists(), "a refused submission leaves nothing unpacked"
    return caught.value


# --- zips --------------------------------------------------------------------------------------------

def test_a_zip_entry_with_a_300_character_name_is_refused(tmp_path) -> None:
    archive = make_zip(tmp_path / "a.zip", {**OK, f"exercises/{'n' * 300}.py": b"x = 1\n"})
    error = refused(tmp_path, archive)
    assert "has a name part of 303 bytes, more than the 255 bytes a file name may have" in str(error)
    assert "(313 characters)" in str(error)  # the name is shown shortened, with its length


@pytest.mark.parametrize("order", [("a", "a/b"), ("a/b", "a"), ("a/", "a")])
def test_a_zip_with_a_file_and_a_folder_of_the_same_name_is_refused(tmp_path, order) -> None:
    archive = make_zip(tmp_path / "a.zip", {**OK, **{f"exercises/{name}": b"1" for name in order}})
    assert "holds both a file and a folder named 'exercises/a'" in str(refused(tmp_path, archive))


def test_a_zip_nested_1100_folders_deep_is_refused(tmp_path) -> None:
    archive = make_zip(tmp_path / "a.zip", {**OK, "d/" * 1100 + "x.py": b"1"})
    assert "is nested 1,101 folders deep, more than the limit of 32" in str(refused(tmp_path, archive))


def test_a_zip_entry_with_raw_bytes_and_no_utf8_flag_unpacks_safely(tmp_path) -> None:
    # Without the flag the zip format says cp437, where every byte is a character: a name, not a crash.
    archive = raw_name_zip(tmp_path / "a.zip", "exercises/notes-XXXX.txt", b"exercises/notes-\xff\xfe\x80\x81.txt",
                           utf8_flag=False)
    dest = unpacked(tmp_path, archive)
    assert (dest / "exercises/02-count/wc/__init__.py").read_bytes() == OK["exercises/02-count/wc/__init__.py"]
    assert [p.name for p in (dest / "exercises").iterdir() if p.is_file()] == ["notes-\u00a0■Çü.txt"]


def test_a_zip_entry_marked_utf8_with_invalid_bytes_is_refused(tmp_path) -> None:
    archive = raw_name_zip(tmp_path / "a.zip", "exercises/notes-XX.txt", b"exercises/notes-\xff\xfe.txt",
                           utf8_flag=True)
    assert "not valid UTF-8 although the archive says it is" in str(refused(tmp_path, archive))


def test_a_zip_larger_than_the_limit_is_refused_unread(tmp_path) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(os.urandom(6 * 1024**2))
    assert "the file is 6 MB, more than the limit of 5 MB" in str(refused(tmp_path, archive))


# --- folders -------------------------------------------------------------------------------------------

def folder(tmp_path: Path) -> Path:
    root = tmp_path / "sub"
    for rel, data in OK.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def test_a_folder_file_with_an_invalid_utf8_name_is_refused(tmp_path) -> None:
    root = folder(tmp_path)
    (root / "exercises" / os.fsdecode(b"caf\xe9.txt")).write_text("x")
    assert "'exercises/caf\\xe9.txt' has a name that is not valid UTF-8" in str(
        refused(tmp_path, root, Kind.FOLDER))


def test_a_folder_with_a_symlink_loop_is_copied_without_its_links(tmp_path) -> None:
    root = folder(tmp_path)
    (root / "exercises" / "a").symlink_to("b")
    (root / "exercises" / "b").symlink_to("a")
    (root / "exercises" / "self").symlink_to(".")
    (root / "exercises" / "02-count" / "wc" / "again").symlink_to("../../02-count")
    unpack.fingerprint(Kind.FOLDER, root, SMALL)
    dest = unpacked(tmp_path, root, Kind.FOLDER)
    copied = sorted(str(p.relative_to(dest)) for p in dest.rglob("*"))
    assert copied == ["exercises", "exercises/02-count", "exercises/02-count/wc", "exercises/02-count/wc/__init__.py"]
    assert not any(p.is_symlink() for p in dest.rglob("*"))


def test_a_folder_with_a_fifo_is_refused_without_opening_it(tmp_path) -> None:
    root = folder(tmp_path)
    os.mkfifo(root / "exercises" / "pipe")  # no writer: opening it to read would block for ever
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            unpack.fingerprint(Kind.FOLDER, root, SMALL)
            unpacked(tmp_path, root, Kind.FOLDER)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout=120)  # a bound for a hang only: unpacking never waits on the FIFO
    assert outcome, "unpacking blocked on the FIFO"
    assert isinstance(outcome[0], unpack.Refused)
    assert "'exercises/pipe' is a named pipe (FIFO), not a file or a folder; it was not read" in str(outcome[0])
    assert not (tmp_path / "ws" / "learner").exists()


def test_a_folder_with_a_link_to_dev_zero_is_refused(tmp_path) -> None:
    root = folder(tmp_path)
    (root / "exercises" / "zero").symlink_to("/dev/zero")
    assert "exercises/zero is a link pointing outside the submission (/dev/zero)" in str(
        refused(tmp_path, root, Kind.FOLDER))


def test_a_folder_1100_folders_deep_is_refused_and_fingerprinted(tmp_path) -> None:
    root = folder(tmp_path)
    fds = [os.open(root, os.O_RDONLY)]
    try:  # made and removed one level at a time: os.makedirs and shutil.rmtree recurse per level
        for _ in range(1100):
            os.mkdir("d", dir_fd=fds[-1])
            fds.append(os.open("d", os.O_RDONLY, dir_fd=fds[-1]))
        error = refused(tmp_path, root, Kind.FOLDER)
        assert "is nested 33 folders deep, more than the limit of 32" in str(error)
    finally:
        for fd in fds:
            os.close(fd)
        parent = os.open(root, os.O_RDONLY)
        chain = [parent]
        while os.path.isdir(f"/proc/self/fd/{chain[-1]}/d"):
            chain.append(os.open("d", os.O_RDONLY, dir_fd=chain[-1]))
        for upper in reversed(chain[:-1]):
            os.rmdir("d", dir_fd=upper)
        for fd in chain:
            os.close(fd)


def test_a_special_submission_entry_is_refused_unread(tmp_path) -> None:
    os.mkfifo(tmp_path / "ann.zip")
    assert "the submission is a named pipe (FIFO), not a file" in str(refused(tmp_path, tmp_path / "ann.zip"))
    (tmp_path / "ben").symlink_to(folder(tmp_path))
    assert "the submission is a symbolic link" in str(refused(tmp_path, tmp_path / "ben", Kind.FOLDER))


# --- learner ids ---------------------------------------------------------------------------------------

def test_learner_ids_are_safe_short_and_never_merged(tmp_path) -> None:
    subs = tmp_path / "subs"
    names = ["x" * 245, "x" * 244 + "y", "Ann Lee", "Ann_Lee", "ann_lee", "José García", "..hidden", ".dotted",
             "a..b", os.fsdecode(b"bad\xffname")]
    for name in names:
        (subs / name).mkdir(parents=True)
    (subs / "Ann Lee.zip").write_bytes(b"PK")
    (subs / ".DS_Store").write_bytes(b"")
    (subs / "__MACOSX").mkdir()
    found = cohort.discover(subs)
    ids = [s.learner for s in found]
    assert len(found) == len(names) + 1, "every submission is a learner, tools' files are not"
    assert len({i.casefold() for i in ids}) == len(ids), "two submissions never share an id"
    for learner in ids:
        assert 1 <= len(learner) <= cohort.MAX_ID
        assert learner.isascii() and not learner.startswith((".", "-")) and "/" not in learner
        assert all(c.isalnum() or c in "._@+-" for c in learner)
    by_source = {s.source.name: s.learner for s in found}
    assert by_source["Ann_Lee"] == "Ann_Lee" and by_source["a..b"] == "a..b"  # safe names are kept
    assert by_source["ann_lee"] == "ann_lee-2"  # a case-insensitive disk would merge it with Ann_Lee
    assert by_source["José García"].startswith("Jose_Garcia-")
    assert by_source["..hidden"].startswith("hidden-") and by_source[".dotted"].startswith("dotted-")
    assert by_source["x" * 245].startswith("x" * 57 + "-") and by_source["x" * 244 + "y"].startswith("x" * 57 + "-")
    assert by_source["Ann Lee"] != by_source["Ann Lee.zip"]
    again = [s.learner for s in cohort.discover(subs)]
    assert again == ids, "ids are stable from run to run"


# --- git bombs -------------------------------------------------------------------------------------------

def _pack_entry(kind: int, size: int, data: bytes) -> bytes:
    byte, size, head = (kind << 4) | (size & 0x0F), size >> 4, bytearray()
    while size:
        head.append(byte | 0x80)
        byte, size = size & 0x7F, size >> 7
    head.append(byte)
    return bytes(head) + data


def git_bomb(bundle: Path, size: int, copies: int = 1) -> Path:
    """A git bundle whose HEAD holds one blob of `size` zero bytes under `copies` names: the bundle is about
    size/1000 bytes, its checkout size * copies. The pack is written here (hashing and deflating the zeros
    once), so even 300 MB takes about a second."""
    sha, deflate, left, chunks = hashlib.sha1(b"blob %d\0" % size), zlib.compressobj(1), size, []
    zeros = bytes(1 << 20)
    while left:
        piece = zeros[:min(left, len(zeros))]
        sha.update(piece)
        chunks.append(deflate.compress(piece))
        left -= len(piece)
    chunks.append(deflate.flush())
    blob = sha.digest()
    tree_body = b"".join(b"100644 zeros%03d.bin\0" % i + blob for i in range(copies))
    tree = hashlib.sha1(b"tree %d\0" % len(tree_body) + tree_body)
    commit_body = b"tree %s\nauthor l <l@x> 0 +0000\ncommitter l <l@x> 0 +0000\n\nbomb\n" % tree.hexdigest().encode()
    commit = hashlib.sha1(b"commit %d\0" % len(commit_body) + commit_body).hexdigest().encode()
    pack = b"PACK" + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + _pack_entry(3, size, b"".join(chunks))
    pack += _pack_entry(2, len(tree_body), zlib.compress(tree_body))
    pack += _pack_entry(1, len(commit_body), zlib.compress(commit_body))
    pack += hashlib.sha1(pack).digest()
    bundle.write_bytes(b"# v2 git bundle\n" + commit + b" HEAD\n" + commit + b" refs/heads/main\n\n" + pack)
    return bundle


def test_a_300_mb_git_bomb_bundle_is_stopped_before_it_expands(tmp_path, capsys) -> None:
    bomb = git_bomb(tmp_path / "bomb.bundle", 300 * 1024**2)
    assert bomb.stat().st_size < 2 * 1024**2
    error = refused(tmp_path, bomb, Kind.GIT)
    assert ("the repository's files add up to more than the limit of 5 MB ('zeros000.bin' alone is 300 MB); "
            "nothing was checked out") in str(error)
    assert error.written is not None and error.written < 2 * 1024**2  # the clone's git data, nothing of the blob
    with capsys.disabled():
        print(f"\n  git bomb: bundle {bomb.stat().st_size:,} bytes, 300 MB blob; stopped after "
              f"{error.written:,} bytes written ({error})")


def test_a_git_checkout_is_killed_at_the_size_cap_while_it_writes(tmp_path, capsys) -> None:
    # The listing check is left out here: the checkout itself must be stopped at the cap.
    bomb = git_bomb(tmp_path / "bomb.bundle", 1024**2, copies=300)  # 300 MB from one 1 MB blob
    dest = tmp_path / "clone"
    unpack.run_git(["clone", "--quiet", "--no-checkout", "--", str(bomb), str(dest)], watch=dest, limits=SMALL,
                   step="cloning the repository")
    history = unpack.tree_bytes(dest)
    run = unpack.GitRun(["-C", str(dest), "checkout", "--quiet", "--force", "HEAD"], watch=dest, limits=SMALL,
                        base=history)
    code = run.finish()
    with pytest.raises(unpack.Refused, match="more than the limit of 5 MB: git was stopped while checking out"):
        unpack.judge_git(run, code, "checking out its files")
    written = unpack.tree_bytes(dest) - history
    assert written > SMALL.max_bytes
    with capsys.disabled():
        print(f"\n  checkout of 300 x 1 MB: stopped by {run.stopped} after {written:,} bytes (cap 5 MB)")


def test_one_file_cannot_outgrow_the_limit_and_a_writer_is_killed_with_its_group(tmp_path) -> None:
    marker = f"kata-test-{uuid.uuid4().hex}"
    dest = tmp_path / "dest"
    dest.mkdir()
    # git aliases run shell commands: an endless writer of 1 MB files, and one endless file.
    many = f"!i=0; while :; do head -c 1048576 /dev/zero > {dest}/{marker}-$i; i=$((i+1)); done"
    run = unpack.GitRun(["-c", f"alias.fill={many}", "fill"], watch=dest, limits=SMALL)
    run.finish()
    assert run.stopped == "size" and unpack.tree_bytes(dest) > SMALL.max_bytes
    assert marked_processes(marker) == [], "the shell and its writers die with git's process group"
    single = tmp_path / "single"
    single.mkdir()
    one = f"!head -c 100000000000 /dev/zero > {single}/zeros"
    run = unpack.GitRun(["-c", f"alias.fill={one}", "fill"], watch=None, limits=SMALL)
    code = run.finish()
    assert code != 0 and (single / "zeros").stat().st_size == SMALL.max_bytes  # RLIMIT_FSIZE, exactly


def test_a_git_step_that_never_ends_is_stopped_at_its_time_limit(tmp_path) -> None:
    quick = unpack.Limits(max_bytes=SMALL.max_bytes, git_timeout=0.5)
    run = unpack.GitRun(["-c", "alias.wait=!exec sleep 1000", "wait"], watch=tmp_path, limits=quick)
    code = run.finish()
    assert run.stopped == "time" and code == -9
    with pytest.raises(unpack.Refused, match="git took longer than the limit of 0.5 s cloning"):
        unpack.judge_git(run, code, "cloning the repository")


def test_a_bundle_without_head_and_a_broken_bundle_are_refused(tmp_path) -> None:
    bomb = git_bomb(tmp_path / "x.bundle", 10)
    data = bomb.read_bytes()
    no_head = tmp_path / "nohead.bundle"
    no_head.write_bytes(b"# v2 git bundle\n" + data.split(b"\n")[2] + b"\n\n" + data.split(b"\n\n", 1)[1])
    assert "no commit at HEAD" in str(refused(tmp_path, no_head, Kind.GIT))
    broken = tmp_path / "broken.bundle"
    broken.write_bytes(data[:-30])
    assert "git failed cloning the repository" in str(refused(tmp_path, broken, Kind.GIT))


def test_unpacked_files_are_plain_files_with_plain_modes(tmp_path) -> None:
    root = folder(tmp_path)
    script = root / "exercises" / "run.sh"
    script.write_text("echo hi\n")
    script.chmod(0o4777)
    dest = unpacked(tmp_path, root, Kind.FOLDER)
    assert stat.S_IMODE((dest / "exercises" / "run.sh").stat().st_mode) == 0o755
