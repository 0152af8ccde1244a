"""Helpers of tests/ci/docsite.sh, the docsite build of the lint stage.

inventory OUT
    Write an intersphinx inventory (objects.inv) of the Ansible docsite labels
    that the collection's generated docs link to. CI has no internet, so the
    build cannot download docs.ansible.com's inventory; without these labels
    ``sphinx-build -W`` fails on every module page. References to other
    collections' plugins are validated beforehand by
    ``antsibull-docs lint-collection-docs --validate-collection-refs all``
    against the installed collections; this list only lets Sphinx resolve them.

check COLLECTION HTML
    Fail unless every document listed in COLLECTION/docs/docsite/extra-docs.yml
    exists as docs/docsite/rst/<ref>.rst and was built into HTML: its page
    exists, carries the document's title, and the collection's index page
    links to it under its section.
"""

import argparse
import html
import os
import re
import sys
import zlib

import yaml

COLLECTION = "nodeops/kubernetes"

# label -> (URI in the Ansible docsite, title). Add a line when a generated
# page fails with "undefined label" for a label outside this collection.
EXTERNAL_LABELS = {
    "action_plugins": ("plugins/action.html#action-plugins", "Action plugins"),
    "common_return_values": ("reference_appendices/common_return_values.html#common-return-values",
                             "Return Values"),
    "ansible_configuration_settings": ("reference_appendices/config.html#ansible-configuration-settings",
                                       "Ansible Configuration Settings"),
    "ansible_collections.ansible.builtin.copy_module": (
        "collections/ansible/builtin/copy_module.html#ansible-collections-ansible-builtin-copy-module",
        "ansible.builtin.copy module"),
    "ansible_collections.kubernetes.core.k8s_drain_module": (
        "collections/kubernetes/core/k8s_drain_module.html#ansible-collections-kubernetes-core-k8s-drain-module",
        "kubernetes.core.k8s_drain module"),
    "ansible_collections.kubernetes.core.k8s_info_module": (
        "collections/kubernetes/core/k8s_info_module.html#ansible-collections-kubernetes-core-k8s-info-module",
        "kubernetes.core.k8s_info module"),
}


def write_inventory(path):
    lines = ["%s std:label -1 %s %s" % (label, uri, title)
             for label, (uri, title) in sorted(EXTERNAL_LABELS.items())]
    header = ("# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n"
              "# The remainder of this file is compressed using zlib.\n")
    with open(path, "wb") as handle:
        handle.write(header.encode("utf-8"))
        handle.write(zlib.compress(("\n".join(lines) + "\n").encode("utf-8")))


def rst_title(path):
    """The first section title of an RST file, inline literals unwrapped."""
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    for text, underline in zip(lines, lines[1:]):
        if text.strip() and re.fullmatch(r"([=\-~^\"'`#*+<>:.])\1{2,}", underline.strip()) \
                and len(underline.strip()) >= len(text.strip()):
            return text.strip().replace("``", "")
    return None


def toctree_refs(entries):
    for entry in entries or []:
        yield entry["ref"] if isinstance(entry, dict) else entry


def check(collection, html_dir):
    with open(os.path.join(collection, "docs", "docsite", "extra-docs.yml"), encoding="utf-8") as handle:
        sections = (yaml.safe_load(handle) or {}).get("sections") or []
    site = os.path.join(html_dir, "collections", COLLECTION)
    with open(os.path.join(site, "index.html"), encoding="utf-8") as handle:
        index = handle.read()
    # the HTML under each <h2> heading of the index page, by the heading's text
    parts = re.split(r"<h2[^>]*>(.*?)</h2>", index, flags=re.S)
    under = {html.unescape(re.sub(r"<[^>]+>", "", re.sub(r'<a class="headerlink".*?</a>', "", heading))).strip(): part
             for heading, part in zip(parts[1::2], parts[2::2])}
    errors, built, listed = [], [], 0
    for section in sections:
        title = section["title"]
        links = under.get(title)
        if links is None:
            errors.append("section %r of extra-docs.yml: no such heading in %s/index.html" % (title, site))
        for ref in toctree_refs(section.get("toctree")):
            listed += 1
            source = os.path.join(collection, "docs", "docsite", "rst", ref + ".rst")
            page = os.path.join(site, "docsite", ref + ".html")
            if not os.path.isfile(source):
                errors.append("%s: listed in extra-docs.yml (section %r) but missing" % (source, title))
                continue
            if not os.path.isfile(page):
                errors.append("%s: not built from docs/docsite/rst/%s.rst" % (page, ref))
                continue
            want = rst_title(source)
            with open(page, encoding="utf-8") as handle:
                got = re.search(r"<title>(.*?)</title>", handle.read(), re.S)
            got = html.unescape(got.group(1)).strip() if got else ""
            if not want or not got.startswith(want):
                errors.append("%s: title %r, expected the title of %s, %r" % (page, got, source, want))
                continue
            if links is None:
                continue
            if 'href="docsite/%s.html"' % ref not in links:
                errors.append("%s/index.html: no link to docsite/%s.html under %r" % (site, ref, title))
                continue
            built.append(ref)
    if not listed:
        errors.append("docs/docsite/extra-docs.yml lists no documents")
    for error in errors:
        print("docsite: " + error, file=sys.stderr)
    print("docsite: %d of the %d documents of extra-docs.yml built and linked from the collection index%s"
          % (len(built), listed, ": " + ", ".join(built) if built else ""))
    return not errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("inventory").add_argument("out")
    checker = sub.add_parser("check")
    checker.add_argument("collection")
    checker.add_argument("html")
    args = parser.parse_args()
    if args.command == "inventory":
        write_inventory(args.out)
        return 0
    return 0 if check(args.collection, args.html) else 1


if __name__ == "__main__":
    sys.exit(main())
