"""A bytecode cache for the modules Ansible runs, for the test stages only.

Ansible sends each module to the host as a zip (AnsiballZ) and Python imports
it with ``zipimport``, which never reads or writes bytecode: every module run
compiles ``ansible.module_utils.basic`` and the rest from source, and Python
3.11's ``zipimporter`` compiles each of them twice (``get_filename`` compiles
to find out the file name). That is about 0.3 CPU-s per module run on the
lab's machine, most of the CPU of a test run that brings up many labs at once.

Installed (``install``), this keeps the compiled code of every source file
imported from an AnsiballZ payload under a directory, keyed by the hash of the
source and the interpreter's bytecode magic, and reuses it; the code objects
are the ones ``compile`` makes, renamed to this run's file. Nothing else
changes: the same source runs, other zips and the file system's imports are
left to Python. It is a test-run accelerator of the lab, never part of the
collection: ``tests/ci/run-tests.sh`` turns it on (``NODEOPS_LAB_BYTECODE_CACHE``
on the controller, ``lab up`` in the node containers); the benchmarks leave it
off, so that they time what users run. Standard library only, Python 3.9+.
"""

import hashlib
import importlib.util
import marshal
import os
import sys
import types
import zipimport

ENV = "NODEOPS_LAB_BYTECODE_CACHE"
PAYLOAD_PREFIX = "ansible_"
PAYLOAD_SUFFIX = "_payload.zip"


def _retitle(code, filename):
    """The code object and the ones nested in it, with co_filename set to filename."""
    consts = tuple(_retitle(c, filename) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


class PayloadImporter(zipimport.zipimporter):
    """zipimporter for AnsiballZ payloads that compiles each source once and caches the code."""

    cache_dir = None

    def _source_path(self, fullname):
        """The file name of fullname's source in the archive (a package's __init__.py first), or None."""
        files = self._get_files() if hasattr(self, "_get_files") else getattr(self, "_files", None)
        if files is None:
            return None
        base = self.prefix + fullname.rpartition(".")[2]
        for suffix in (os.sep + "__init__.py", ".py"):
            if base + suffix in files:
                return self.archive + os.sep + base + suffix
        return None

    def get_filename(self, fullname):
        return self._source_path(fullname) or super().get_filename(fullname)

    def get_code(self, fullname):
        filename = self._source_path(fullname)
        if filename is None:
            return super().get_code(fullname)
        source = self.get_data(filename)
        key = hashlib.sha256(importlib.util.MAGIC_NUMBER + source).hexdigest()
        path = os.path.join(self.cache_dir, key[:2], key)
        try:
            with open(path, "rb") as fh:
                return _retitle(marshal.loads(fh.read()), filename)
        except (OSError, ValueError, EOFError, TypeError):
            pass
        code = compile(source.replace(b"\r\n", b"\n").replace(b"\r", b"\n"), filename, "exec", dont_inherit=True)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = "%s.%d.tmp" % (path, os.getpid())
            with open(tmp, "wb") as fh:
                fh.write(marshal.dumps(code))
            os.replace(tmp, path)
        except OSError:
            pass
        return code


def _payload_hook(path):
    # the payload itself, or a package inside it (``.../ansible_x_payload.zip/ansible/module_utils``)
    if not any(part.startswith(PAYLOAD_PREFIX) and part.endswith(PAYLOAD_SUFFIX) for part in path.split(os.sep)):
        raise ImportError("not an AnsiballZ payload")
    return PayloadImporter(path)


def install(cache_dir=None):
    """Put the payload importer before zipimport's own hook; a no-op without a cache directory."""
    cache_dir = cache_dir or os.environ.get(ENV)
    if not cache_dir or _payload_hook in sys.path_hooks:
        return False
    PayloadImporter.cache_dir = cache_dir
    sys.path_hooks.insert(0, _payload_hook)
    return True
