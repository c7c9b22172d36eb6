"""Bad batch files, configs, data files and model directories through the ``voc`` command line.

Every case must end with its expected status and, for a fault, exactly one ``voc <cmd>: error:`` line that
contains the expected words; a traceback or an uncaught exception is a crash. Batch, config and data
cases run ``voc.main`` in this process (fast); model faults run ``python -m voc`` in a subprocess each.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import io
import json
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import Tally
from .server import REPO

GOOD_CSV = "id,review\n1,배송이 늦어요\n2,good service\n"


@dataclass
class Case:
    """One command line, the status it must end with, words its output must hold and the rows it must write."""

    name: str
    argv: list[str]
    rc: int = 2
    words: str = ""
    rows: int | None = None  # with rc 0: rows the output must have
    output: Path | None = None
    check: Callable[[Path], str | None] | None = None  # with rc 0: what changed in the output (None: nothing)


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "error:" in line]


def judge(case: Case, rc: int | None, out: str, tally: Tally, area: str) -> None:
    """Count one finished case: status, one error line with the words, no traceback, no lost rows."""
    if rc is None or "Traceback" in out:
        tally.crashes += 1
        tally.record(area, case.name, False, "crashed: " + out.strip().splitlines()[-1][:200] if out.strip() else "")
        return
    problems = []
    if rc != case.rc:
        problems.append(f"status {rc}, expected {case.rc}")
    if rc == 2 and len(error_lines(out)) != 1:
        problems.append(f"{len(error_lines(out))} error lines")
    if rc == 2 and area == "batch" and len(out.strip().splitlines()) != 1:
        problems.append(f"{len(out.strip().splitlines())} lines of output, not one")
    if case.words and case.words not in out:
        problems.append(f"no {case.words!r} in {out.strip()[-300:]!r}")
    if rc == 0 and case.rows is not None and case.output is not None:
        written = count_rows(case.output)
        tally.rows_lost += max(case.rows - written, 0)
        if written != case.rows:
            problems.append(f"{written} rows written, {case.rows} read")
        if case.check is not None and (changed := case.check(case.output)):
            tally.rows_changed += 1
            problems.append(changed)
    tally.record(area, case.name, not problems, "; ".join(problems))


def count_rows(path: Path) -> int:
    """Rows in a scorer output file (0 when there is none)."""
    if not path.is_file():
        return 0
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    import pandas as pd

    if path.suffix == ".csv":
        return len(pd.read_csv(path, dtype=str, keep_default_na=False))
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def run_in_process(argv: list[str]) -> tuple[int | None, str]:
    """``voc.main(argv)``: its status (``None`` when it raised) and everything it printed."""
    import voc

    out = io.StringIO()
    try:
        with contextlib.redirect_stderr(out), contextlib.redirect_stdout(out):
            rc = voc.main(argv)
    except SystemExit as e:  # argparse
        rc = e.code if isinstance(e.code, int) else 2
    except Exception:
        return None, out.getvalue() + traceback.format_exc()
    return rc, out.getvalue()


def run_subprocess(argv: list[str], timeout: float = 300) -> tuple[int | None, str]:
    """``python -m voc argv`` in the repository: its status (``None`` when it hung) and its stderr."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "voc", *argv], cwd=REPO, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return None, f"no answer in {timeout} s"
    return done.returncode, done.stderr


def _write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(content, bytes) else lambda c: path.write_text(c, encoding="utf-8"))(content)
    return path


def batch_cases(model: str, work: Path) -> list[Case]:
    """``voc score`` with bad files and options."""
    d = work / "batch"
    good = _write(d / "good.csv", GOOD_CSV)

    def score(name: str, src: Path, rc: int = 2, words: str = "", rows: int | None = None, *extra: str) -> Case:
        out = d / f"{name.replace(' ', '_')}.out{extra[0] if extra and extra[0].startswith('.') else '.csv'}"
        opts = [o for o in extra if not o.startswith(".")]
        argv = ["score", str(src), "--text-column", "review", "--output", str(out), "--model", model, *opts]
        return Case(name, argv, rc, words, rows, out)

    jsonl_bad = '{"id": 9007199254740993, "review": "good"}\nnot json\n[1]\n{"review": 5}\n'
    invisible = "".join(json.dumps({"review": t}) + "\n" for t in ["\u200b\u200d", "\u202e", "\x00", "ok \ud800"])
    cases = [
        score("missing input file", d / "nope.csv", 2, "no such file"),
        score("unknown input extension", _write(d / "in.txt", GOOD_CSV), 2, "unknown extension"),
        score("unknown output extension", good, 2, "unknown extension", None, ".xls"),
        score("empty CSV", _write(d / "empty.csv", ""), 2, "empty"),
        score("header-only CSV", _write(d / "header.csv", "id,review\n"), 0, "0 rows", 0),
        score("missing text column", _write(d / "body.csv", "id,body\n1,x\n"), 2, "columns found: id, body"),
        score("missing id column", good, 2, "no id column", None, "--id-column", "ticket"),
        score("cp949 without --encoding", _write(d / "ko.csv", GOOD_CSV.encode("cp949")), 2, "--encoding cp949"),
        score(
            "cp949 with --encoding", _write(d / "ko2.csv", GOOD_CSV.encode("cp949")), 0, "", 2, "--encoding", "cp949"
        ),
        score("unknown encoding name", good, 2, "", None, "--encoding", "klingon"),
        score("unclosed quote", _write(d / "quote.csv", 'id,review\n1,"never closed\n'), 2, "malformed CSV"),
        score("ragged CSV row", _write(d / "ragged.csv", "id,review\n1,a,b,c\n"), 2, "malformed CSV"),
        score("JSONL with bad lines", _write(d / "bad.jsonl", jsonl_bad), 0, "3 with an error", 4, ".jsonl"),
        score("JSONL not UTF-8", _write(d / "latin.jsonl", '{"review": "café"}\n'.encode("latin-1")), 2, "encoding"),
        score("garbage Parquet", _write(d / "junk.parquet", b"PAR1 not really"), 2, "not a readable Parquet"),
        score("already-scored input", _write(d / "scored.csv", "review,language\nx,en\n"), 2, "already has"),
        score("invisible and broken texts", _write(d / "invisible.jsonl", invisible), 0, "4 with an error", 4),
        score("batch size 0", good, 2, "--batch-size", None, "--batch-size", "0"),
        score("output into a new folder", good, 0, "", 2, ".csv"),
    ]
    cases[-1].argv[5] = str(d / "new" / "folder" / "out.csv")
    cases[-1].output = d / "new" / "folder" / "out.csv"
    same = score("output is the input", good, 2, "replace the input")
    same.argv[5] = str(good)
    return [*cases, same, *round_trip_cases(score, d)]


HOSTILE_CELLS = ["a\rb", "first\nsecond", "one\r\ntwo", 'said "refund", ""twice""', "x\x00y", "a, b", "  pad  "]
HUGE_CELL = "w" * 200_000  # over the csv module's default field limit (131,072)


def _csv(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows([header, *rows])
    return out.getvalue()


def _csv_records(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def same_cells(header: list[str], rows: list[list[str]]) -> Callable[[Path], str | None]:
    """A check: the output's first columns are ``header`` and ``rows`` exactly, through the csv module and pandas."""
    import pandas as pd

    def check(out: Path) -> str | None:
        records = _csv_records(out)
        n = len(header)
        if [r[:n] for r in records] != [header, *rows]:
            return f"csv module reads {len(records) - 1} rows, header {records[0][:n] if records else None}"
        frame = pd.read_csv(out, dtype=str, keep_default_na=False)
        if frame.iloc[:, :n].values.tolist() != rows:
            return f"pandas reads {len(frame)} rows, columns {list(frame.columns[:n])}"
        return None

    return check


def no_numpy_reprs(out: Path) -> str | None:
    """A check: nested Parquet values come out as JSON, not numpy's ``['a' 'b']`` or ``1.0`` for an int."""
    text = "\n".join("\t".join(r) for r in _csv_records(out)) if out.suffix == ".csv" else out.read_text("utf-8")
    return None if '["a", "b"]' in text and "[1, null]" in text and "AP8=" in text else f"nested values: {text[:300]!r}"


def null_type_kept(out: Path) -> str | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    kind = pq.read_schema(out).field("nothing").type
    return None if kind == pa.null() else f"the null-typed column came back as {kind}"


def round_trip_cases(score: Callable[..., Case], d: Path) -> list[Case]:
    """Inputs whose every row and cell must come back as they were (or be refused before scoring, in one line)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    header = ["id", "review", "note", "attachment"]
    rows = [[str(i), f"배송 {c}", c, HUGE_CELL if i == 0 else "small"] for i, c in enumerate(HOSTILE_CELLS)]
    hostile = _write(d / "hostile.csv", _csv(header, rows))
    cr_jsonl = _write(
        d / "cr.jsonl", "".join(json.dumps({"id": str(i), "review": f"a\rb {i}"}) + "\n" for i in range(3))
    )
    dup_header = ["id", "id", "review", "note", "note"]
    dup_rows = [["1", "A", "좋아요", "x", "y"], ["2", "B", "별로", "", "z"]]
    dups = _write(d / "dups.csv", _csv(dup_header, dup_rows))
    nested = d / "nested.parquet"
    pq.write_table(
        pa.table(
            {
                "review": ["좋아요", "환불 해주세요"],
                "nothing": pa.nulls(2),
                "tags": pa.array([["a", "b"], []], pa.list_(pa.string())),
                "counts": pa.array([[1, None], [3]], pa.list_(pa.int64())),
                "blob": pa.array([b"\x00\xff", None], pa.binary()),
            }
        ),
        nested,
    )
    blocker = _write(d / "a-file", "not a folder")
    cases = [
        score("CR, LF, quotes, NUL and a 200,000-character cell", hostile, 0, "", len(rows)),
        score("a CR in JSONL texts, to CSV", cr_jsonl, 0, "", 3),
        score("duplicate column names", dups, 0, "", 2),
        score("duplicate text column", dups, 2, "rename all but the text column"),
        score("duplicate column names to JSONL", dups, 2, "cannot hold two columns of one name", None, ".jsonl"),
        score("blank JSONL line", _write(d / "blank.jsonl", '{"review": "a"}\n\n{"review": "b"}\n'), 0, "", 3),
        score(
            "duplicate JSON keys",
            _write(d / "twice.jsonl", '{"review": "a", "review": "b"}\n'),
            0,
            "1 with an error",
            1,
        ),
        score("a JSON array, not JSONL", _write(d / "array.jsonl", '[{"review": "a"}]\n'), 2, "JSON array"),
        score("nested Parquet to CSV", nested, 0, "", 2),
        score("nested Parquet to JSONL", nested, 0, "", 2, ".jsonl"),
        score("null-typed Parquet column to Parquet", nested, 0, "", 2, ".parquet"),
        score("output folder is a file", _write(d / "good2.csv", GOOD_CSV), 2, "cannot write there"),
    ]
    cases[0].check = same_cells(header, rows)
    cases[1].check = same_cells(["id", "review"], [[str(i), f"a\rb {i}"] for i in range(3)])
    cases[2].check = same_cells(dup_header, dup_rows)
    cases[3].argv[3] = "note"
    cases[8].check = cases[9].check = no_numpy_reprs
    cases[10].check = null_type_kept
    cases[11].argv[5] = str(blocker / "out.csv")
    return cases


def config_cases(work: Path) -> list[Case]:
    """``voc train`` with configs that must be refused before any training starts."""
    d = work / "config"
    never = ["--set", "register=false", "--set", f"output_dir={d / 'never'}"]
    return [
        Case("unknown key", ["train", "--set", "epoch_count=3", *never], 2, "config error: unknown key(s)"),
        Case(
            "unknown key in a file",
            ["train", "--config", str(_write(d / "k.yaml", "epoch_count: 3\n"))],
            2,
            "unknown key",
        ),
        Case("wrong type", ["train", "--set", "batch_size=lots", *never], 2, "batch_size: expected int"),
        Case("missing config file", ["train", "--config", str(d / "nope.yaml")], 2, "not found"),
        Case(
            "invalid YAML", ["train", "--config", str(_write(d / "bad.yaml", "epochs: [1, 2\n"))], 2, "not valid YAML"
        ),
        Case("config is a list", ["train", "--config", str(_write(d / "list.yaml", "- 1\n- 2\n"))], 2, "mapping"),
        Case("override without =", ["train", "--set", "epochs", *never], 2, "key=value"),
        Case("missing data file", ["train", "--set", f"train=[{d / 'nope.jsonl'}]", *never], 2, "not found"),
        Case("nested unknown key", ["train", "--set", "train={path: x.jsonl, smaple: 3}", *never], 2, "smaple"),
    ]


def data_cases(model: str, work: Path) -> list[Case]:
    """``voc evaluate`` with labelled files that must be refused with ``file:line``."""
    d = work / "data"
    row = {"id": "1", "text": "배송이 늦어요", "sentiment": "negative", "themes": ["speed"], "escalation": "low"}

    def evaluate(name: str, content: str | bytes | None, words: str) -> Case:
        path = d / f"{name.replace(' ', '_')}.jsonl"
        if content is not None:
            _write(path, content)
        argv = ["evaluate", "--model", model, "--data", str(path), "--report", str(d / "report"), "--no-baselines"]
        return Case(name, argv, 2, words)

    line = json.dumps(row, ensure_ascii=False)
    return [
        evaluate("missing data file", None, "file not found"),
        evaluate("blank line", f"{line}\n\n{line}\n", ":2: blank line"),
        evaluate("bad JSON line", f"{line}\n{{oops\n", ":2: bad JSON"),
        evaluate("not UTF-8", f"{line}\n".encode() + b'{"text": "\xff"}\n', ":2: not valid UTF-8"),
        evaluate("row without text", json.dumps({**row, "text": None}) + "\n", ":1:"),
        evaluate("unknown label", json.dumps({**row, "sentiment": "angry"}) + "\n", "angry"),
        evaluate("no label fields", json.dumps({"text": "ok"}) + "\n", ":1:"),
        evaluate("line is a list", "[1, 2]\n", ":1:"),
    ]


def linked_copy(source: Path, target: Path) -> Path:
    """A directory of links to ``source``'s entries: a damaged file replaces its link, never the original."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for entry in source.iterdir():
        (target / entry.name).symlink_to(entry.resolve())
    return target


def damage(path: Path, content: bytes | None) -> None:
    """Replace ``path`` (a link into the original) by ``content``, or remove it when ``None``."""
    path.unlink(missing_ok=True)
    if content is not None:
        path.write_bytes(content)


def model_faults(model_dir: Path, work: Path) -> list[tuple[str, str, str]]:
    """``(fault, --model value, words the error must hold)``: damaged copies of ``model_dir`` and bad references."""
    d = work / "models"
    d.mkdir(parents=True, exist_ok=True)

    def copy(name: str, source: Path = model_dir) -> Path:
        return linked_copy(source, d / name)

    (d / "empty").mkdir(exist_ok=True)
    damage(copy("no-meta") / "voc.json", None)
    damage(copy("garbage-meta") / "voc.json", b"{not json")
    damage(copy("short-heads") / "heads.safetensors", (model_dir / "heads.safetensors").read_bytes()[:100])
    damage(copy("junk-ngram") / "ngram.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{junk}")
    short = copy("short-encoder")
    (short / "encoder").unlink()
    weights = copy("short-encoder/encoder", model_dir / "encoder") / "model.safetensors"
    damage(weights, weights.read_bytes()[: weights.stat().st_size // 2])
    damage(copy("no-selfcheck") / "selfcheck.json", None)
    labels = (model_dir / "labels.yaml").read_text(encoding="utf-8")
    damage(copy("edited-labels") / "labels.yaml", labels.replace("- trust", "- trust\n    - price").encode())
    a_file = _write(d / "model.txt", "not a model")
    return [
        ("empty directory", str(d / "empty"), "no voc.json"),
        ("no voc.json", str(d / "no-meta"), "voc.json"),
        ("garbage voc.json", str(d / "garbage-meta"), "voc.json"),
        ("truncated heads.safetensors", str(d / "short-heads"), "heads.safetensors"),
        ("garbage ngram.safetensors", str(d / "junk-ngram"), "ngram.safetensors"),
        ("truncated encoder weights", str(d / "short-encoder"), "encoder"),
        ("no selfcheck.json", str(d / "no-selfcheck"), "selfcheck.json"),
        ("labels.yaml edited", str(d / "edited-labels"), "labels.yaml was edited"),
        ("path that does not exist", str(d / "nowhere"), "no such model directory"),
        ("unknown store tag", "voc-classifier:doesnotexist", "not in the BentoML store"),
        ("a file, not a directory", str(a_file), "is a file"),
    ]


def model_cases(model_dir: Path, work: Path) -> list[Case]:
    """Every model fault through ``voc score`` and ``voc evaluate``."""
    src = _write(work / "model-cases" / "in.csv", GOOD_CSV)
    data = _write(work / "model-cases" / "in.jsonl", '{"text": "ok", "sentiment": "neutral"}\n')
    cases = []
    for fault, ref, words in model_faults(model_dir, work):
        out = work / "model-cases" / "out.csv"
        cases.append(
            Case(
                f"score: {fault}",
                ["score", str(src), "--text-column", "review", "--output", str(out), "--model", ref],
                2,
                words,
            )
        )
        report = str(work / "model-cases" / "report")
        cases.append(
            Case(f"evaluate: {fault}", ["evaluate", "--model", ref, "--data", str(data), "--report", report], 2, words)
        )
    return cases


def run_cases(cases: list[Case], area: str, tally: Tally, subprocesses: bool = False) -> None:
    """Run and judge ``cases`` (in this process, or two subprocesses at a time)."""
    if not subprocesses:
        for case in cases:
            judge(case, *run_in_process(case.argv), tally, area)
        return
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for case, (rc, out) in zip(cases, pool.map(lambda c: run_subprocess(c.argv), cases)):
            judge(case, rc, out, tally, area)
