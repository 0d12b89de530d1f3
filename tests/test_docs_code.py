"""Every ```python block of README.md and docs/*.md runs in the test suite.

The blocks of one page run in order in one namespace (a later block may use names from an earlier
one), in a temporary working directory shared by that page's blocks, with matplotlib's Agg backend,
one torch thread and no network. The notebooks are executed by ``tests/tutorials``.

Directives are HTML comments on the lines right above a block, which the rendered page does not show:

- ``<!-- docs-test: replace `n_clones=1200` with `n_clones=150` (test-suite size) -->`` runs the
  block with that text replaced: the page shows the real call, the suite runs it on smaller data.
  Each ``old`` must occur in the block, so a replacement cannot go stale silently.
- ``<!-- docs-test: skip (downloads the 2 GB LARRY data) -->`` for a block that cannot run in a test
  (a download of real data, a cluster submit). Skipped blocks are reported with their reason in
  pytest's summary and counted by ``test_directives_are_well_formed``.
"""

from __future__ import annotations

import linecache
import os
import re
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

#: a fenced block: opening ```python (indentation allowed, e.g. inside a list), body, closing fence
FENCE = re.compile(r"^(?P<indent>[ \t]*)```python[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.MULTILINE | re.DOTALL)
#: a directive comment, on one line: ``skip (reason)`` or ``replace `old` with `new` ``
DIRECTIVE = re.compile(r"<!--\s*docs-test:\s*(?P<text>.*?)\s*-->")
SKIP = re.compile(r"skip\s*\((?P<reason>[^)]+)\)")
REPLACE = re.compile(r"replace\s*`(?P<old>[^`]+)`\s*with\s*`(?P<new>[^`]*)`(?:\s*\([^)]*\))?")


@dataclass
class Block:
    page: Path
    index: int  # 0-based among the page's python blocks
    line: int  # 1-based line of the opening fence
    code: str
    skip: str | None = None  # reason, when the block is marked to be skipped
    replace: list[tuple[str, str]] = field(default_factory=list)  # (old, new) applied before running

    @property
    def source(self) -> str:
        """The code as the test runs it: ``code`` with the block's replacements, each of which must match."""
        code = self.code
        for old, new in self.replace:
            if old not in code:
                raise AssertionError(f"{self.id}: the directive replaces `{old}`, which the block does not contain")
            code = code.replace(old, new)
        return code

    @property
    def id(self) -> str:
        page = self.page.relative_to(ROOT).as_posix() if self.page.is_relative_to(ROOT) else self.page.name
        return f"{page}:{self.index}"


def _dedent(body: str, indent: str) -> str:
    return "\n".join(line[len(indent) :] if line.startswith(indent) else line for line in body.splitlines())


def parse_blocks(page: Path) -> tuple[list[Block], list[tuple[int, str]]]:
    """The page's python blocks, and the directives (line, text) that are not attached to one.

    A directive is attached to the block whose fence follows it, with only blank lines and other
    directives in between; it must read ``skip (reason)`` or ``replace `old` with `new` (note)``.
    """
    text = page.read_text(encoding="utf-8")
    lines = text.splitlines()
    blocks, attached = [], set()
    for index, match in enumerate(FENCE.finditer(text)):
        line = text.count("\n", 0, match.start()) + 1
        skip, replace = None, []
        for above in range(line - 2, -1, -1):  # 0-based indices of the lines above the fence
            if not lines[above].strip():
                continue
            directive = DIRECTIVE.fullmatch(lines[above].strip())
            if directive is None:
                break
            if (reason := SKIP.fullmatch(directive.group("text"))) is not None:
                skip = reason.group("reason").strip()
            elif (swap := REPLACE.fullmatch(directive.group("text"))) is not None:
                replace.insert(0, (swap.group("old"), swap.group("new")))
            else:
                continue  # malformed: reported as not attached
            attached.add(above + 1)
        blocks.append(Block(page, index, line, _dedent(match.group("body"), match.group("indent")), skip, replace))
    loose = [
        (number, m.group("text"))
        for number, text_line in enumerate(lines, 1)
        for m in DIRECTIVE.finditer(text_line)
        if number not in attached
    ]
    return blocks, loose


BLOCKS = [block for page in PAGES for block in parse_blocks(page)[0]]


@dataclass
class PageRun:
    """The shared state of one page's blocks: namespace, working directory, how far it got."""

    workdir: Path
    namespace: dict = field(default_factory=lambda: {"__name__": "__main__"})
    done: int = 0  # blocks executed (or skipped) so far, in order
    failed: str | None = None  # id of the block that failed, if any


_RUNS: dict[Path, PageRun] = {}


def _no_network(*args, **kwargs):
    raise RuntimeError("a docs code block tried to use the network; mark it <!-- docs-test: skip (reason) -->")


@pytest.fixture
def no_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _no_network)
    monkeypatch.setattr(socket, "create_connection", _no_network)
    monkeypatch.setattr(socket, "getaddrinfo", _no_network)


@pytest.fixture
def one_torch_thread():
    """One torch thread in this process, as every fit of the package's fits layer has (``FIT_THREADS``).

    The blocks' direct ``bm.mi(..., method="lmi")`` calls otherwise train with torch's default
    intra-op threads, which on 2 shared cores made one small LMI fit ~50x dearer in CPU time.
    """
    torch = pytest.importorskip("torch")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _execute(block: Block, run: PageRun) -> None:
    filename = f"<{block.id}, fence at line {block.line}>"
    source = block.source
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)  # tracebacks
    compiled = compile(source, filename, "exec")
    cwd = os.getcwd()
    os.chdir(run.workdir)
    try:
        exec(compiled, run.namespace)  # noqa: S102 - the documentation's own code
    finally:
        os.chdir(cwd)
        plt.close("all")


def test_pages_have_python_blocks():
    assert {b.page.name for b in BLOCKS} >= {"README.md", "quickstart.md", "guide.md"}


def test_fence_parser_reads_indented_blocks_and_directives(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "Text.\n\n```python\na = 1\n```\n\n- item\n\n  ```python\n  b = a + 1\n  ```\n\n"
        "<!-- docs-test: skip (downloads data) -->\n\n```python\nc = download()\n```\n\n```bash\nls\n```\n\n"
        "<!-- docs-test: replace `n=2000` with `n=20` (test size) -->\n<!-- docs-test: replace `d=9` with `d=1` -->\n"
        "```python\nd = f(n=2000, d=9)\n```\n\n<!-- docs-test: skip (dangling) -->\nText.\n"
        "<!-- docs-test: frobnicate -->\n```python\ne = 1\n```\n"
    )
    blocks, loose = parse_blocks(page)
    assert [b.code for b in blocks] == ["a = 1", "b = a + 1", "c = download()", "d = f(n=2000, d=9)", "e = 1"]
    assert [b.skip for b in blocks] == [None, None, "downloads data", None, None]
    assert blocks[3].replace == [("n=2000", "n=20"), ("d=9", "d=1")]
    assert blocks[3].source == "d = f(n=20, d=1)"
    assert loose == [(29, "skip (dangling)"), (31, "frobnicate")]
    blocks[3].replace.append(("n=3000", "n=30"))
    with pytest.raises(AssertionError, match="replaces `n=3000`, which the block does not contain"):
        blocks[3].source  # noqa: B018 - a stale replacement fails instead of silently running the full size


def test_directives_are_well_formed(capsys):
    """Every directive reads ``skip (reason)`` or ``replace `old` with `new` `` and sits right above a block
    whose code contains each ``old``; the skipped blocks are counted here (they also show as skipped)."""
    problems = [f"{page.name}:{line}: {text!r}" for page in PAGES for line, text in parse_blocks(page)[1]]
    assert not problems, f"directives that are malformed or not directly above a python block: {problems}"
    for block in BLOCKS:
        block.source  # noqa: B018 - raises for a replacement that matches nothing
    skipped = [f"{b.id} ({b.skip})" for b in BLOCKS if b.skip is not None]
    reduced = sum(bool(b.replace) and b.skip is None for b in BLOCKS)
    with capsys.disabled():
        print(f"\n{len(BLOCKS)} docs code blocks: {reduced} run at a reduced size, {len(skipped)} skipped {skipped}")


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.id)
def test_docs_code_block_runs(block, no_network, one_torch_thread, tmp_path_factory, monkeypatch, capsys):
    for name in ("LARRY_DIR", "PROTT5_H5", "INTERACTIONS_CSV", "BIOINFO_MI_QUICK"):
        monkeypatch.delenv(name, raising=False)
    run = _RUNS.get(block.page)
    if run is None:
        run = _RUNS[block.page] = PageRun(tmp_path_factory.mktemp(block.page.stem))
    page_blocks = [b for b in BLOCKS if b.page == block.page]
    # blocks before this one run first (they already have when the whole file runs in order)
    for earlier in page_blocks[run.done : block.index]:
        if run.failed is not None:
            break
        if earlier.skip is None:
            try:
                _execute(earlier, run)
            except Exception as error:  # noqa: BLE001 - reported as this block's failure
                run.failed = earlier.id
                pytest.fail(f"{earlier.id}, which this block builds on, raised {type(error).__name__}: {error}")
        run.done = earlier.index + 1
    if run.failed is not None:
        pytest.skip(f"{run.failed}, which this block builds on, failed")
    run.done = block.index + 1
    if block.skip is not None:
        pytest.skip(f"marked in {block.page.name} (line {block.line}): {block.skip}")
    start = time.perf_counter()
    try:
        _execute(block, run)
    except BaseException:
        run.failed = block.id
        raise
    with capsys.disabled():
        print(f"\n{block.id} (fence at line {block.line}): {time.perf_counter() - start:.1f} s", end="")
