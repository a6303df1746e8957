"""Every number a notebook's prose quotes from its recorded run is in that record.

The prose is the markdown cells of ``notebooks/NN_*.ipynb``; the record is ``benchmarks/NAME.json``
(``tltf.tables.BENCHMARKS`` maps the one to the other), written by the last study run, and
``benchmarks/NAME.lesson.json``, the last lesson run's (whose time the notebook's header quotes).

Candidates: every number written with a decimal point (``0.863``, ``+7.6``, ``−12.7``, ``45.0``), and
the integers that quote the run's cost (``45 minutes``, ``5,552 MiB``). Not candidates: numbers in
fenced or inline code, in links and URLs, in headings and HTML, and, by rule, numbers that are not
results of the run:

- part of a name or a version (``Apache-2.0``, ``v2.0``, ``3.11.7``) or a licence (``CC BY 2.0``);
- sizes in millions (``1.28 million`` photos, ``22.7 M`` weights);
- a MobileNet width multiplier (``MobileNet v1 0.25``, ``width 0.25``);
- quick-mode times (``quick mode about 1.5 min``: the records are study runs) and budgets
  (``target of 45 minutes``).

Any other prose decimal that is not a result (a setting, a citation, arithmetic) is listed in
``NOT_RESULTS`` with a phrase of its sentence and the reason.

Matching: a candidate written with d decimals matches a record number x (key k) when, signs ignored
("falls by 11.4 points" quotes −11.4), one of these rounds to it at d decimals (either way at a tie):
x; 100·x when |x| <= 1 (a fraction in points or %); x / 60 when k names seconds (``wall_s``,
``seconds_...``: minutes); x / 100 when k names points and the quote has 3 or more decimals (points as
a fraction). The numbers of a record are all of its numbers, nested dicts and lists flattened. The
records of other notebooks count only in a cell that names the notebook ("notebook 02's recorded
0.880", "notebooks 01–04"): with a few thousand numbers over all records, a stale accuracy would match
one of them by chance, and the scalings are restricted for the same reason.

Intervals: an estimate quoted with its interval ("0.863 (0.825 to 0.901)", "+7.6 points (4.6 to 10.5)",
"(0.80, 0.79 to 0.81)") must also be one entry of the record, its mean with its ci95 (``X_mean`` or ``X``
with ``X_ci95``; ``mean`` with ``ci95`` in a nested dict), at one scaling: three numbers that each
match some entry by chance are caught here.

A notebook whose prose quotes numbers that its record lacks is listed in ``KNOWN_PROBLEMS``, which
marks its test ``xfail(strict=True)``: fixing the prose (or recording the number) turns it into an
XPASS failure, which asks for the entry to be removed.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tltf.tables import BENCHMARKS

REPO = Path(__file__).resolve().parents[1]

#: Prose decimals that are not results of the notebook's run: notebook -> (number as written, a phrase
#: of its sentence, why). The phrase keeps an entry from excusing the same digits in another sentence.
NOT_RESULTS: dict[str, list[tuple[str, str, str]]] = {
    "13_object_detection.ipynb": [
        ("0.5", "whose box has IoU ≥ 0.5", "the usual IoU of a found box: a definition"),
        ("0.5", "is at least 0.5; COCO's", "AP50's IoU threshold: a definition"),
        ("0.5", "Precision against recall at IoU 0.5", "AP50's IoU threshold, named again: a setting"),
        ("0.75", "IoU ≥ 0.75 for the frozen", "the stricter threshold exercise 2 asks for: a setting"),
        ("0.75", "help more at 0.75 than at 0.5", "exercise 2's two thresholds: settings"),
        ("0.5", "help more at 0.75 than at 0.5", "exercise 2's two thresholds: settings"),
        ("0.3", "thresholds 0.3, 0.5 and 0.7", "the confidence thresholds exercise 3 asks for: settings"),
        ("0.5", "thresholds 0.3, 0.5 and 0.7", "exercise 3's thresholds and AP50's IoU: settings"),
        ("0.7", "thresholds 0.3, 0.5 and 0.7", "the confidence thresholds exercise 3 asks for: settings"),
        ("0.5", "What does IoU ≥ 0.5 mean for a box", "a question on the usual threshold: a definition"),
    ],
    "12_deployment.ipynb": [
        ("3.6", "documentation quotes MobileNetV2 shrinking", "LiteRT's documentation: a citation"),
        ("0.26", "documentation quotes MobileNetV2 shrinking", "LiteRT's documentation: a citation"),
        ("0.5", "0.5 means the losses give nothing away", "what an AUC of chance is: a definition"),
        ("0.5", "for α in {0, 0.5, 1}", "the mixtures exercise 2 asks for: settings"),
    ],
    "11_interpretability.ipynb": [
        ("0.3", "the dotted one, 0.3", "the randomisation check's pass mark (lesson.PASS_SPEARMAN): a setting"),
        ("0.3", "at most 0.3 once the head", "the randomisation check's pass mark, named again: a setting"),
    ],
    "10_learning_without_labels.ipynb": [
        ("0.2", "a small τ sharpens", "the contrastive loss's temperature: a setting"),
        ("0.99", "by default, so that they take", "Keras's default batch-normalisation momentum: a setting"),
        ("0.9", "so the encoder uses 0.9", "the encoder's batch-normalisation momentum: a setting"),
        ("0.99", "exercise 4 measures what 0.99 does", "Keras's default momentum, named again: a setting"),
    ],
    "02_fine_tuning.ipynb": [
        ("3.5", "Wilson interval", "the width of a Wilson interval on 300 test photos: arithmetic on the split size"),
    ],
    "05_text_transfer.ipynb": [
        ("0.5", "dropout 0.5", "the head's dropout rate, a setting"),
        ("0.01", "weight decay", "AdamW's weight decay, a setting"),
        ("0.17", "one sentence is", "one test sentence of 600 in points: arithmetic"),
        ("2.3", "Wilson interval", "the width of a Wilson interval on 600 sentences: arithmetic on the split size"),
        ("0.02", "accuracy minus", "the tolerance that exercise 3 asks for, a setting"),
    ],
    "06_audio_transfer.ipynb": [
        ("0.96", "patch", "YAMNet's patch length (96 frames of 10 ms), a setting of its front end"),
        ("0.975", "patch", "the audio one patch reads (0.96 s plus the last 25 ms window), a setting"),
        ("0.44", "spoken digit lasts", "the clips' typical length, a property of the dataset, not of the run"),
        ("0.10", "chance is", "chance accuracy for ten digits, 1/10"),
    ],
    "07_far_domains.ipynb": [
        ("0.2", "Chance is", "chance accuracy for five flower classes, 1/5"),
        ("0.962", "MedMNIST", "MedMNIST v2's published AUC, a citation"),
        ("0.884", "MedMNIST", "MedMNIST v2's published accuracy, a citation"),
    ],
    "08_shifted_domains.ipynb": [
        ("76.7", "mCE", "the published ResNet-50 mCE (Hendrycks & Dietterich; Schneider et al.), a citation"),
        ("0.00025", "momentum", "TENT's learning rate, the paper's setting"),
    ],
    "09_overfitting.ipynb": [
        ("86.80", "keras-io", "keras-io's published MixUp accuracy, a citation"),
        ("86.45", "keras-io", "keras-io's published baseline accuracy, a citation"),
        ("0.05", "decay", "the weight decay, a setting"),
        ("0.01", "alpha", "an L2-SP strength that exercise 1 asks to try, a setting"),
    ],
}

#: Notebooks whose prose quotes numbers of the run that their records lack: notebook -> the numbers.
KNOWN_PROBLEMS: dict[str, str] = {}

# A number as prose writes it: an optional sign (ASCII or Unicode minus, plus), digits with optional
# thousands commas, optional decimals. Not glued to a word, another number or a version ("Apache-2.0",
# "v2.0", "3.11.7", "1e-4", "x1.5"), except after a range's hyphen ("0.60-0.71").
_NUMBER = re.compile(
    r"(?:(?<=\d[-−])|(?<![\w.\-−+/]))([+\-−]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?!\w|\.\d)",
)
_COST_UNIT = re.compile(r"\s*(?:MiB|min|minutes)\b")  # the integers that are candidates
_MILLIONS = re.compile(r"\s*(?:million|M)\b")
_NOT_RESULT_BEFORE = re.compile(r"(?:CC BY(?:-SA)?|MobileNet(?: v1)?|width|quick mode(?: about)?|targets? of)\s*$")
# Markdown that is not prose, blanked out (offsets kept): fenced and inline code, images and links,
# HTML comments and tags, bare URLs, headings.
_NOT_PROSE = [
    re.compile(r"```.*?```", re.S),
    re.compile(r"(`+).+?\1", re.S),
    re.compile(r"!?\[[^\]]*\]\([^)]*\)"),
    re.compile(r"<!--.*?-->", re.S),
    re.compile(r"<[^>\n]+>"),
    re.compile(r"https?://\S+"),
    re.compile(r"^\s{0,3}#.*$", re.M),
]
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n\s*|\n\s*(?=(?:[-*+]|\d+\.)\s)|^\s{0,3}#[^\n]*\n", re.M)
_NOTEBOOK_REFERENCE = re.compile(r"\bnotebooks?\s+(\d\d(?:\s*(?:[–-]|,|and|or|to)\s*\d\d)*)")
_SECONDS = re.compile(r"(?<!per)_s(?![a-z])|seconds")
# An estimate with its interval: "0.863 (0.825 to 0.901)", "+7.6 points (4.6 to 10.5)", "(0.80, 0.79 to 0.81)",
# "−1.5 at severity 3 (−4.1 to 1.1)": a number, up to five words (no decimals), then "(L to H" or ", L to H".
_SIGNED = r"[+\-−]?\d+\.\d+"
_INTERVAL = re.compile(rf"(?<![\w.])({_SIGNED})(?:\s+[\w%-]+){{0,5}}?\s*[(,]\s*({_SIGNED})\s+to\s+({_SIGNED})(?![\w.])")


@dataclass(frozen=True)
class Quote:
    """A candidate number of a notebook's prose."""

    cell: int
    start: int  # its offset in the cell
    text: str  # as written, sign included
    value: float  # its absolute value
    decimals: int
    sentence: str  # the sentence or list item around it, on one line


def blank(text: str) -> str:
    """``text`` with everything that is not prose replaced by spaces (same length, same offsets)."""
    for pattern in _NOT_PROSE:
        text = pattern.sub(lambda m: re.sub(r"\S", " ", m.group()), text)
    return text


def sentence_at(text: str, start: int, end: int) -> str:
    """The sentence (or list item) of ``text`` around ``text[start:end]``, on one line."""
    bounds = [(m.start(), m.end()) for m in _SENTENCE_END.finditer(text)]
    left = max([e for s, e in bounds if e <= start], default=0)
    right = min([s for s, e in bounds if s >= end], default=len(text))
    return " ".join(text[left:right].split())


def quotes(source: str, cell: int = 0) -> list[Quote]:
    """The candidate numbers of one markdown cell."""
    prose = blank(source)
    found = []
    for m in _NUMBER.finditer(prose):
        _, digits, decimals = m.groups()
        after, before = prose[m.end() : m.end() + 12], prose[max(0, m.start() - 30) : m.start()]
        if decimals is None and not _COST_UNIT.match(after):
            continue
        if _MILLIONS.match(after) or _NOT_RESULT_BEFORE.search(before):
            continue
        number = digits.replace(",", "") + (f".{decimals}" if decimals else "")
        sentence = sentence_at(source, m.start(), m.end())
        found.append(Quote(cell, m.start(), m.group(), float(number), len(decimals or ""), sentence))
    return found


def flatten(value, path: str = "") -> list[tuple[str, float]]:
    """Every number in a record (nested dicts and lists), each with its key path."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [(path, float(value))] if math.isfinite(value) else []
    if isinstance(value, dict):
        return [item for key, v in value.items() for item in flatten(v, f"{path}.{key}" if path else str(key))]
    if isinstance(value, list):
        return [item for i, v in enumerate(value) for item in flatten(v, f"{path}[{i}]")]
    return []


def scales(quote: Quote, key: str, x: float) -> dict[str, float]:
    """How the record number ``key`` = ``x`` may be quoted (see the module's docstring)."""
    found = {"": 1.0}
    if abs(x) <= 1:
        found["×100"] = 100.0
    if _SECONDS.search(key):
        found["/60"] = 1 / 60
    if "points" in key and quote.decimals >= 3:
        found["/100"] = 1 / 100
    return found


def matches(quote: Quote, key: str, x: float) -> bool:
    """Whether some scaling of ``x`` rounds to the quoted number (either way at a tie, signs ignored)."""
    tolerance = 0.5 * 10.0**-quote.decimals + 1e-9
    return any(abs(abs(x) * scale - quote.value) <= tolerance for scale in scales(quote, key, x).values())


def nearest(quote: Quote, numbers: list[tuple[str, float]]) -> str:
    """The record number closest to the quote (relative to its size), for the failure message."""
    if not numbers:
        return "no record"
    _, key, x, name, scale = min(
        (abs(abs(x) * scale - quote.value) / max(quote.value, 1e-9), key, x, name, scale)
        for key, x in numbers
        for name, scale in scales(quote, key, x).items()
    )
    return f"nearest in the record: {key} = {x}" + (f" ({name}: {abs(x) * scale:.{quote.decimals}f})" if name else "")


RECORD_OF = {nb[:2]: name for name, nb in BENCHMARKS.items()}  # "08" -> "shifted-domains"


def record_numbers(number: str) -> list[tuple[str, float]]:
    """The numbers of the record of notebook ``number`` ("08"), and its lesson run's time (``wall_s`` of
    ``NAME.lesson.json``, which the header quotes; the lesson's results are one seed, never quoted as
    the study's); none without a record."""
    found = []
    for suffix in ("", ".lesson"):
        path = REPO / "benchmarks" / f"{RECORD_OF.get(number)}{suffix}.json"
        if number in RECORD_OF and path.exists():
            stored = json.loads(path.read_text(encoding="utf-8"))
            stored = {"wall_s": stored.get("wall_s")} if suffix else stored
            found += [(f"{RECORD_OF[number]}{suffix}:{key}", x) for key, x in flatten(stored)]
    return found


def record_intervals(number: str) -> list[tuple[str, float, float, float]]:
    """The (key, mean, low, high) of every ``..._mean`` with its ``..._ci95`` in the record of notebook ``number``."""
    path = REPO / "benchmarks" / f"{RECORD_OF.get(number)}.json"
    if number not in RECORD_OF or not path.exists():
        return []
    found = []

    def walk(value, path: str) -> None:
        if isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]")
        if not isinstance(value, dict):
            return
        for key, v in value.items():
            walk(v, f"{path}.{key}" if path else key)
            if not (key.endswith("ci95") and isinstance(v, list) and len(v) == 2 and None not in v):
                continue
            # "X_ci95" goes with "X_mean" or "X"; a "ci95" in a dict with its "mean"
            for name in (key.removesuffix("ci95") + "mean", key.removesuffix("_ci95")):
                if name != key and isinstance(value.get(name), int | float):
                    found.append((f"{RECORD_OF[number]}:{path + '.' if path else ''}{name}", value[name], *v))

    walk(json.loads(path.read_text(encoding="utf-8")), "")
    return found


def intervals(source: str) -> list[tuple[Quote, Quote, Quote]]:
    """The estimates quoted with their intervals in one markdown cell, as (estimate, low, high)."""
    by_start = {q.start: q for q in quotes(source)}
    found = []
    for m in _INTERVAL.finditer(blank(source)):
        triple = tuple(by_start.get(m.start(g)) for g in (1, 2, 3))
        if None not in triple:
            found.append(triple)
    return found


def interval_matches(triple: tuple[Quote, Quote, Quote], group: tuple[str, float, float, float]) -> bool:
    """Whether an estimate and its interval are one record entry (its mean and ci95), at one scaling."""
    estimate, low, high = triple
    key, mean, lo, hi = group

    def close(quote: Quote, x: float, scale: float) -> bool:
        return abs(abs(x) * scale - quote.value) <= 0.5 * 10.0**-quote.decimals + 1e-9

    return any(
        close(estimate, mean, scale)
        and ((close(low, lo, scale) and close(high, hi, scale)) or (close(low, hi, scale) and close(high, lo, scale)))
        for scale in scales(estimate, key, mean).values()
    )


def referenced(source: str) -> set[str]:
    """The notebooks a cell names: "notebook 02", "notebooks 01–04", "notebooks 01 and 03"."""
    found = set()
    for m in _NOTEBOOK_REFERENCE.finditer(source):
        numbers = [int(n) for n in re.findall(r"\d\d", m.group(1))]
        for a, b in re.findall(r"(\d\d)\s*(?:[–-]|to)\s*(\d\d)", m.group(1)):
            numbers += range(int(a), int(b) + 1)
        found |= {f"{n:02d}" for n in numbers}
    return found


def excused(entry: tuple[str, str, str], quote: Quote) -> bool:
    number, phrase, _ = entry
    return quote.text.lstrip("+-−") == number and phrase in quote.sentence


def markdown_cells(notebook: str) -> list[tuple[int, str]]:
    cells = json.loads((REPO / "notebooks" / notebook).read_text(encoding="utf-8"))["cells"]
    return [(i, "".join(c["source"])) for i, c in enumerate(cells) if c["cell_type"] == "markdown"]


def unmatched(notebook: str) -> list[str]:
    """One line per number of ``notebook``'s prose that neither its record (nor a named one) holds nor
    ``NOT_RESULTS`` excuses, and per estimate with interval that is not one entry of the record."""
    problems = []
    for i, source in markdown_cells(notebook):
        named = [notebook[:2], *sorted(referenced(source) - {notebook[:2]})]
        pool = [n for number in named for n in record_numbers(number)]
        groups = [g for number in named for g in record_intervals(number)]
        bad = set()
        for quote in quotes(source, i):
            if any(excused(entry, quote) for entry in NOT_RESULTS.get(notebook, [])):
                continue
            if not any(matches(quote, key, x) for key, x in pool):
                bad.add(quote.start)
                problems.append(f"cell {i}: {quote.text} ({nearest(quote, pool)}) in: {quote.sentence}")
        for triple in intervals(source):
            if not bad & {q.start for q in triple} and not any(interval_matches(triple, g) for g in groups):
                estimate, low, high = triple
                problems.append(
                    f"cell {i}: {estimate.text} ({low.text} to {high.text}) is no record entry with its ci95 "
                    f"(each number matches some other entry) in: {estimate.sentence}"
                )
    return problems


def notebooks():
    for notebook in BENCHMARKS.values():
        problem = KNOWN_PROBLEMS.get(notebook)
        marks = [pytest.mark.xfail(strict=True, reason=problem)] if problem else []
        yield pytest.param(notebook, marks=marks, id=notebook[:2])


@pytest.mark.parametrize("notebook", notebooks())
def test_prose_numbers_are_in_the_record(notebook):
    problems = unmatched(notebook)
    assert not problems, (
        f"{notebook}: {len(problems)} number(s) of the prose are not in benchmarks/{RECORD_OF[notebook[:2]]}.json. "
        "Quote the record (or record the number); a number that is not a result of the run (a setting, a "
        "citation) goes into NOT_RESULTS of tests/test_prose_numbers.py with its reason:\n  " + "\n  ".join(problems)
    )


def test_not_results_entries_are_used():
    """Every NOT_RESULTS entry still excuses a number of its notebook's prose; else remove it."""
    assert set(NOT_RESULTS) | set(KNOWN_PROBLEMS) <= set(BENCHMARKS.values())
    stale = [
        f"{notebook}: {entry[0]} with {entry[1]!r}"
        for notebook, entries in NOT_RESULTS.items()
        for entry in entries
        if not any(excused(entry, q) for i, source in markdown_cells(notebook) for q in quotes(source, i))
    ]
    assert not stale, "NOT_RESULTS entries that excuse nothing any more:\n  " + "\n  ".join(stale)


def test_candidates():
    """What counts as a quoted number, and what does not."""
    text = (
        "# 1.5 in a heading\n"
        "Accuracy 0.863 (0.825 to 0.901), −12.7 points, +7.6, 0.60-0.71, 45 minutes, 5,552 MiB, 86.3 %. "
        "Not: `0.5`, [v0.3](https://x.org/1.2), https://y.org/a-2.5, Apache-2.0, CC BY-SA 4.0, "
        "Python 3.11.7, 1e-4, 1.9 million, 22.7 M weights, MobileNet v1 0.25, quick mode about 1.5 min, "
        "a target of 30 minutes, 224 px, 300 photos, top-5, 3 × 3, 1,000 classes.\n```\n0.123\n```"
    )
    found = quotes(text)
    assert [q.text for q in found] == [
        "0.863",
        "0.825",
        "0.901",
        "−12.7",
        "+7.6",
        "0.60",
        "0.71",
        "45",
        "5,552",
        "86.3",
    ]
    assert found[3].value == 12.7 and found[3].decimals == 1 and found[-2].value == 5552
    assert found[0].sentence.startswith("Accuracy 0.863") and found[0].sentence.endswith("86.3 %.")


@pytest.mark.parametrize(
    ("written", "key", "x", "expected"),
    [
        ("0.863", "acc_mean", 0.8633, True),
        ("0.862", "acc_mean", 0.8625, True),  # a tie, rounded either way
        ("0.863", "acc_mean", 0.8625, True),
        ("0.864", "acc_mean", 0.8633, False),
        ("86.3 %", "acc_mean", 0.8633, True),  # a fraction as a percentage
        ("4.7 points", "ece", 0.047, True),  # a fraction in points
        ("0.076", "gain_points_mean", 7.56, True),  # points as a fraction, 3 decimals
        ("0.08", "gain_points_mean", 7.56, False),  # ... but not 2
        ("0.076", "gain_mean", 7.56, False),  # ... and not from a key without "points"
        ("45.0 min", "wall_s", 2697.8, True),  # seconds in minutes
        ("45 minutes", "wall_s", 2697.8, True),
        ("0.17", "tfidf_c", 10.0, False),  # minutes from seconds only
        ("5,552 MiB", "peak_rss_mb", 5552.2, True),
        ("−12.7", "clean_points_mean", -12.74, True),  # signs ignored
        ("falls by 11.4", "clean_points_mean", -11.43, True),
        ("11.4", "clean_points_mean", -11.46, False),
    ],
)
def test_matching(written, key, x, expected):
    (quote,) = quotes(written)
    assert matches(quote, key, x) is expected


def test_intervals():
    text = "It falls from 0.863 (0.825 to 0.901), +7.6 points (4.6 to 10.5) and (0.80, 0.79 to 0.81); 0.30 to 0.43."
    found = [tuple(q.text for q in triple) for triple in intervals(text)]
    assert found == [("0.863", "0.825", "0.901"), ("+7.6", "4.6", "10.5"), ("0.80", "0.79", "0.81")]
    triple = intervals("falls by 11.4 points (−12.7 to −10.2)")[0]
    assert interval_matches(triple, ("clean_points_mean", -11.43, -12.66, -10.2))
    assert not interval_matches(triple, ("clean_points_mean", -11.43, -12.9, -10.2))
    assert interval_matches(intervals("0.863 (0.825 to 0.901)")[0], ("acc", 0.8633, 0.8254, 0.9013))
    assert interval_matches(intervals("86.3 % (82.5 to 90.1)")[0], ("acc", 0.8633, 0.8254, 0.9013))
    assert not interval_matches(intervals("0.863 (0.825 to 0.901)")[0], ("acc", 0.8633, 0.8354, 0.9013))


def test_references():
    text = "as in notebook 02's run, and notebooks 04–06 or notebooks 01 and 03"
    assert referenced(text) == {"01", "02", "03", "04", "05", "06"}
