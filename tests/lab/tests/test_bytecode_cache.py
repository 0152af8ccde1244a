"""The test runs' bytecode cache for AnsiballZ payloads (nodeops_lab.bytecode_cache), without a lab."""

import os
import subprocess
import sys
import zipfile

import pytest

from nodeops_lab import bytecode_cache

LAB = os.path.dirname(os.path.dirname(os.path.abspath(bytecode_cache.__file__)))

# Imports a package and a module from the zip given as argv[1], then prints what a caller would see.
RUNNER = r"""
import sys
sys.path.insert(0, {lab!r})
from nodeops_lab import bytecode_cache
installed = bytecode_cache.install({cache!r})
sys.path.insert(0, sys.argv[1])
import pkg.mod
print(installed, pkg.mod.ANSWER, pkg.mod.where(), pkg.mod.__file__, type(pkg.__loader__).__name__)
"""


def write_payload(path, answer):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("pkg/__init__.py", "")
        zf.writestr("pkg/mod.py", "ANSWER = %d\n\ndef where():\n    return where.__code__.co_filename\n" % answer)


def run(tmp_path, payload, cache):
    script = tmp_path / "runner.py"
    script.write_text(RUNNER.format(lab=LAB, cache=str(cache)))
    env = dict(os.environ)
    env.pop(bytecode_cache.ENV, None)
    proc = subprocess.run([sys.executable, str(script), str(payload)], capture_output=True, text=True, env=env,
                          check=True)
    return proc.stdout.split()


def cached_files(cache):
    return sorted(p for p in cache.rglob("*") if p.is_file())


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


def test_a_payload_is_compiled_once_and_the_second_run_reads_the_cache(tmp_path, cache):
    first = tmp_path / "a" / "ansible_x_payload.zip"
    first.parent.mkdir()
    write_payload(first, 42)
    installed, answer, where, filename, loader = run(tmp_path, first, cache)
    assert (installed, answer, loader) == ("True", "42", "PayloadImporter")
    assert where == filename == str(first) + os.sep + os.path.join("pkg", "mod.py")
    files = cached_files(cache)
    assert len(files) == 2   # pkg/__init__.py and pkg/mod.py
    stamps = [f.stat().st_mtime_ns for f in files]

    # The same sources from another temporary directory: the cached code, named after the new file.
    second = tmp_path / "b" / "ansible_x_payload.zip"
    second.parent.mkdir()
    write_payload(second, 42)
    _, answer, where, filename, _ = run(tmp_path, second, cache)
    assert answer == "42"
    assert where == filename == str(second) + os.sep + os.path.join("pkg", "mod.py")
    assert cached_files(cache) == files
    assert [f.stat().st_mtime_ns for f in files] == stamps


def test_a_changed_source_is_compiled_again_not_served_from_the_cache(tmp_path, cache):
    first = tmp_path / "a" / "ansible_x_payload.zip"
    first.parent.mkdir()
    write_payload(first, 1)
    assert run(tmp_path, first, cache)[1] == "1"
    second = tmp_path / "b" / "ansible_x_payload.zip"
    second.parent.mkdir()
    write_payload(second, 2)
    assert run(tmp_path, second, cache)[1] == "2"
    assert len(cached_files(cache)) == 3   # one __init__.py, two versions of mod.py


def test_other_zips_are_left_to_zipimport(tmp_path, cache):
    other = tmp_path / "plain.zip"
    write_payload(other, 7)
    installed, answer, _, _, loader = run(tmp_path, other, cache)
    assert (installed, answer, loader) == ("True", "7", "zipimporter")
    assert cached_files(cache) == []


def test_without_a_cache_directory_nothing_is_installed(tmp_path, monkeypatch):
    monkeypatch.delenv(bytecode_cache.ENV, raising=False)
    hooks = list(sys.path_hooks)
    assert bytecode_cache.install() is False
    assert sys.path_hooks == hooks
