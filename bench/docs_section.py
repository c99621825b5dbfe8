"""One section of docs/performance.md, replaced in place (or added before
"## Results", or at the end): what each benchmark writes its table with."""

import re


def write_section(doc_path, section, text):
    with open(doc_path, encoding="utf-8") as f:
        doc = f.read()
    pattern = re.compile(re.escape(section) + r".*?(?=\n## |\Z)", re.S)
    if pattern.search(doc):
        doc = pattern.sub(lambda m: text.rstrip("\n") + "\n", doc)
    else:
        anchor = "\n## Results\n"
        doc = doc.replace(anchor, "\n" + text + anchor, 1) if anchor in doc else doc + "\n" + text
    with open(doc_path, "w", encoding="utf-8") as f:
        f.write(doc)


def print_and_write(text, write, doc_path, section):
    """A benchmark's tables on stdout, and into its section of the doc if asked."""
    import os
    import sys

    print(text)
    if write:
        write_section(doc_path, section, text)
        sys.stderr.write("bench: wrote %s\n" % os.path.relpath(doc_path))
