"""tests/ci/docsite.py: the check that the docsite holds every extra document, and its inventory."""

import importlib.util
import os
import zlib

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPEC = importlib.util.spec_from_file_location("docsite", os.path.join(ROOT, "tests", "ci", "docsite.py"))
docsite = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(docsite)

EXTRA_DOCS = """---
sections:
  - title: Runbooks
    toctree:
      - node_maintenance
      - ref: cgroup_driver
        title: cgroup driver
"""
TITLES = {"node_maintenance": "Node maintenance: drain, work, uncordon",
          "cgroup_driver": "``cgroup`` driver migration"}


def _site(tmp_path):
    """A collection with two extra documents and the HTML antsibull-docs and Sphinx make of it."""
    collection = tmp_path / "collection"
    rst = collection / "docs" / "docsite" / "rst"
    rst.mkdir(parents=True)
    (collection / "docs" / "docsite" / "extra-docs.yml").write_text(EXTRA_DOCS)
    for ref, title in TITLES.items():
        (rst / (ref + ".rst")).write_text(".. _label:\n\n%s\n%s\n\nText.\n" % (title, "=" * len(title)))
    html = tmp_path / "html"
    pages = html / "collections" / "nodeops" / "kubernetes"
    (pages / "docsite").mkdir(parents=True)
    for ref, title in TITLES.items():
        (pages / "docsite" / (ref + ".html")).write_text(
            "<html><head><title>%s &mdash; nodeops.kubernetes documentation</title></head></html>"
            % title.replace("``", ""))
    (pages / "index.html").write_text(
        '<h2>Description<a class="headerlink" href="#d">\uf0c1</a></h2><p>...</p>'
        '<h2><a class="toc-backref" href="#id3">Runbooks</a><a class="headerlink" href="#runbooks">\uf0c1</a></h2>'
        '<ul><li><a href="docsite/node_maintenance.html">Node maintenance</a></li>'
        '<li><a href="docsite/cgroup_driver.html">cgroup driver</a></li></ul>'
        '<h2>Plugin Index</h2><a href="drain_module.html">drain</a>')
    return collection, html, pages


def test_check_passes_when_every_extra_document_is_built_and_linked(tmp_path, capsys):
    collection, html, dummy = _site(tmp_path)
    assert docsite.check(str(collection), str(html))
    assert "2 of the 2 documents" in capsys.readouterr().out


def _remove_page(collection, pages):
    os.remove(str(pages / "docsite" / "cgroup_driver.html"))


def _remove_source(collection, pages):
    os.remove(str(collection / "docs" / "docsite" / "rst" / "cgroup_driver.rst"))


def _retitle_source(collection, pages):
    (collection / "docs" / "docsite" / "rst" / "cgroup_driver.rst").write_text("Other\n=====\n")


def _unlink_from_index(collection, pages):
    index = pages / "index.html"
    index.write_text(index.read_text().replace("docsite/cgroup_driver.html", "#"))


def _link_under_another_section(collection, pages):
    index = pages / "index.html"
    text = index.read_text().replace('<li><a href="docsite/cgroup_driver.html">cgroup driver</a></li>', "")
    index.write_text(text + '<a href="docsite/cgroup_driver.html">x</a>')


def _rename_section(collection, pages):
    index = pages / "index.html"
    index.write_text(index.read_text().replace(">Runbooks<", ">Guides<"))


@pytest.mark.parametrize("breakage, message", [
    (_remove_page, "cgroup_driver.html: not built"),
    (_remove_source, "cgroup_driver.rst: listed in extra-docs.yml (section 'Runbooks') but missing"),
    (_retitle_source, "expected the title of"),
    (_unlink_from_index, "no link to docsite/cgroup_driver.html under 'Runbooks'"),
    (_link_under_another_section, "no link to docsite/cgroup_driver.html under 'Runbooks'"),
    (_rename_section, "section 'Runbooks' of extra-docs.yml: no such heading"),
])
def test_check_fails_when_an_extra_document_is_missing_from_the_site(tmp_path, capsys, breakage, message):
    collection, html, pages = _site(tmp_path)
    breakage(collection, pages)
    assert not docsite.check(str(collection), str(html))
    assert message in capsys.readouterr().err


def test_check_fails_when_extra_docs_lists_nothing(tmp_path, capsys):
    collection, html, dummy = _site(tmp_path)
    (collection / "docs" / "docsite" / "extra-docs.yml").write_text("---\nsections: []\n")
    assert not docsite.check(str(collection), str(html))
    assert "lists no documents" in capsys.readouterr().err


def test_inventory_lists_every_external_label_in_sphinx_format(tmp_path):
    path = tmp_path / "ansible_devel.inv"
    docsite.write_inventory(str(path))
    data = path.read_bytes()
    header, body = data.split(b"zlib.\n", 1)
    assert header.startswith(b"# Sphinx inventory version 2\n")
    lines = zlib.decompress(body).decode("utf-8").splitlines()
    assert sorted(line.split(" ", 1)[0] for line in lines) == sorted(docsite.EXTERNAL_LABELS)
    for line in lines:
        name, role, priority, uri = line.split(" ", 4)[:4]
        assert (role, priority) == ("std:label", "-1")
        assert uri == docsite.EXTERNAL_LABELS[name][0]


def test_rst_title_is_the_first_underlined_line_without_inline_literals(tmp_path):
    path = tmp_path / "doc.rst"
    path.write_text(".. _x:\n\n``nodeops.kubernetes.drain``: cordon, drain\n" + "=" * 44 + "\n\nText\n----\n")
    assert docsite.rst_title(str(path)) == "nodeops.kubernetes.drain: cordon, drain"
