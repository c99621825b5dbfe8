"""The %%heapmark magic, for real: a notebook executed headless by nbclient in
an ordinary ipykernel, in a virtual environment these tests build (Jupyter
from PyPI; heapmark and numpy from the suite's own environment), then
rendered to HTML by nbconvert and shown in Chromium for a screenshot
(build/test-artifacts/notebook-cell-pyX.Y.png)."""

import json
import os
import subprocess
import sys
import sysconfig
import textwrap

import pytest
from conftest import ASAN_PRELOAD, EXACT_TOLERANCE, HERE, assert_close

ROOT = os.path.dirname(HERE)
VENV = os.path.join(ROOT, "build", "jupyter-venv-%d.%d" % sys.version_info[:2])
ARTIFACTS = os.path.join(ROOT, "build", "test-artifacts")
JUPYTER = ["ipykernel", "nbclient", "nbformat", "nbconvert"]
MIME = "application/vnd.heapmark.cell+json"

pytestmark = pytest.mark.skipif(
    bool(ASAN_PRELOAD), reason="in-process tracking forwards to glibc's malloc, not ASan's"
)


def venv_python():
    return os.path.join(VENV, "bin", "python")


@pytest.fixture(scope="module")
def jupyter_python():
    """A venv with Jupyter's kernel and runner, seeing this suite's heapmark
    (through a .pth file naming this environment's site-packages)."""
    python = venv_python()
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    probe = subprocess.run([python, "-c", "import ipykernel, nbclient, nbconvert"])
    if probe.returncode != 0:
        pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        # The venv's own pip can be old (23.0 with CPython 3.9): its resolver
        # backtracks for many minutes over Jupyter's dependencies on 3.9,
        # where a current pip resolves them in seconds.
        subprocess.check_call(pip + ["--upgrade", "pip"])
        subprocess.check_call(pip + JUPYTER)
    site = subprocess.check_output(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
    ).strip()
    with open(os.path.join(site, "heapmark-suite.pth"), "w") as f:
        f.write(sysconfig.get_paths()["platlib"] + "\n")
    return python


DRIVER = r"""
import json, sys
import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

cells, workdir = json.load(open(sys.argv[1])), sys.argv[2]
nb = nbformat.v4.new_notebook()
nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
               resources={"metadata": {"path": workdir}}).execute()
nbformat.write(nb, workdir + "/executed.ipynb")
html, _ = HTMLExporter().from_notebook_node(nb)
open(workdir + "/executed.html", "w", encoding="utf-8").write(html)
"""

CELLS = [
    "%load_ext heapmark",
    "import json, sys\nimport numpy as np\nN = 100_000",
    textwrap.dedent(
        """\
        %%heapmark --exact -o results --census --top 5 --lines
        arr = np.ones(30 * 2**20 // 8)
        values = [float(i) for i in range(N)]
        """
    ),
    "print(json.dumps({'arr': arr.nbytes,"
    " 'values': ((sys.getsizeof(1.0) + 15) & ~15) * N + sys.getsizeof(values),"
    " 'items': sys.getsizeof(values) - sys.getsizeof([])}))",
    "%%heapmark --bogus\nx = 1",
]


@pytest.fixture(scope="module")
def notebook(jupyter_python, tmp_path_factory):
    """The notebook of CELLS, executed: (its cells, its HTML rendering)."""
    pytest.importorskip("numpy")
    workdir = tmp_path_factory.mktemp("notebook")
    (workdir / "cells.json").write_text(json.dumps(CELLS))
    (workdir / "driver.py").write_text(DRIVER)
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    proc = subprocess.run(
        [jupyter_python, "driver.py", "cells.json", str(workdir)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(workdir / "executed.ipynb") as f:
        return json.load(f)["cells"], workdir / "executed.html"


def test_notebook_cell_shows_the_truth(notebook):
    cells, html_path = notebook
    outputs = cells[2]["outputs"]
    shown = [o for o in outputs if o.get("output_type") == "display_data"]
    assert len(shown) == 1, outputs
    figures = shown[0]["data"][MIME]
    text = "".join(shown[0]["data"]["text/plain"])
    html = "".join(shown[0]["data"]["text/html"])
    truth = json.loads("".join(cells[3]["outputs"][0]["text"]))
    number = figures["cell"]
    assert number == cells[2]["execution_count"]
    rows = {row["place"]: row for row in figures["top"]}
    arr_row = rows["cell [%d] line 1" % number]
    values_row = rows["cell [%d] line 2" % number]
    assert arr_row["source"].strip() == "arr = np.ones(30 * 2**20 // 8)"
    assert_close(arr_row["bytes"], truth["arr"], EXACT_TOLERANCE, "the array at cell line 1")
    # The peak can fall inside the list's last growth, where realloc has
    # copied its item array and the old one is not yet freed: line 2 then
    # holds up to one item array more than at the end (which heap layout,
    # and so the kernel's other threads, decide).
    assert (
        truth["values"] * (1 - EXACT_TOLERANCE)
        <= values_row["bytes"]
        <= truth["values"] + truth["items"]
    ), (values_row, truth)
    held = truth["arr"] + truth["values"]
    assert held <= figures["peak_bytes"] <= held + (2 << 20)
    assert held <= figures["end_bytes"] <= held + (2 << 20)
    # --lines: every line of the cell, with the figures heapmark report
    # --lines gives; the top lines' bytes are the same numbers.
    by_line = {row["line"]: row for row in figures["lines"]}
    assert sorted(by_line) == [1, 2]
    assert by_line[1]["peak_bytes"] == arr_row["bytes"]
    assert by_line[2]["peak_bytes"] == values_row["bytes"]
    # Line 1: the array's data and header, and a few small objects of np.ones.
    assert 2 <= by_line[1]["allocations"] <= 10
    assert by_line[2]["allocations"] > 100_000  # the floats, range()'s ints, the list
    listing = text[text.index("the cell line by line") :].splitlines()
    header = next(i for i, line in enumerate(listing) if line.startswith("Line #"))
    assert " ".join(listing[header].split()) == (
        "Line # At peak Allocated Allocations Kinds Line Contents"
    )
    # Kinds: the array's data is the array's; the list holds floats.
    assert max(by_line[1]["kinds"], key=by_line[1]["kinds"].get) == "numpy.ndarray"
    assert max(by_line[2]["kinds"], key=by_line[2]["kinds"].get) == "float"
    assert "% numpy.ndarray</td>" in html
    # The rule under the header, then the cell's first line.
    assert listing[header + 2].startswith("     1 ") and listing[header + 2].endswith(
        "arr = np.ones(30 * 2**20 // 8)"
    )
    assert "<table class='heapmark-lines'>" in html
    # The same figures in the text and the HTML the notebook shows.
    assert "cell [%d] line 1" % number in text and "(%d bytes)" % figures["peak_bytes"] in text
    assert "ipython-input" not in text and "ipykernel_" not in text
    assert "cell [%d] line 2" % number in html
    assert "<iframe class='heapmark-report' srcdoc=" in html
    # The census of what the cell created: the floats, 100000 of them, and
    # perhaps a few the kernel's own threads made meanwhile (timestamps).
    census = figures["census"]
    float_rows = [r for r in census.splitlines() if r.rstrip().endswith(" float")]
    assert float_rows and 100_000 <= int(float_rows[0].split()[1]) <= 100_020, census
    assert os.path.exists(figures["profile"])
    screenshot(html_path)


def test_bad_option_is_one_line(notebook):
    cells, _ = notebook
    # IPython shows a magic's UsageError as one line on stderr, no traceback.
    (output,) = cells[-1]["outputs"]
    assert output["output_type"] == "stream" and output["name"] == "stderr"
    (line,) = "".join(output["text"]).splitlines()
    assert line.startswith("UsageError: heapmark: unknown option '--bogus' (usage: %%heapmark")


def screenshot(html_path):
    """The rendered notebook in Chromium: the embedded report must draw its
    flamegraph inside the output."""
    from test_html_report import _start_browser

    driver, reason = _start_browser()
    if driver is None:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        driver.get("file://" + str(html_path))
        frame = driver.find_element("css selector", "iframe.heapmark-report")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", frame)
        driver.switch_to.frame(frame)
        drawn = driver.execute_script("return window.heapmarkReport.drawnFrames()")
        assert any(f["label"].startswith("<module>") for f in drawn), drawn[:5]
        driver.switch_to.default_content()
        os.makedirs(ARTIFACTS, exist_ok=True)
        path = os.path.join(ARTIFACTS, "notebook-cell-py%d.%d.png" % sys.version_info[:2])
        driver.set_window_size(1280, 1600)
        driver.save_screenshot(path)
        assert os.path.getsize(path) > 10_000
    finally:
        driver.quit()
