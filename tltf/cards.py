"""Model cards: a Markdown file beside each exported model saying what it is for, how well it works (with
95 % intervals), on what data, and under which licences (notebook 12).

The sections follow Mitchell et al., "Model Cards for Model Reporting" (FAT* 2019), plus a licences
section from ``tltf.licences``. A card lives beside its model as ``<model path>.md``: the file
``x/flowers.int8.tflite`` gets ``x/flowers.int8.tflite.md``, the SavedModel folder ``x/flowers_savedmodel``
gets the file ``x/flowers_savedmodel.md`` next to it (``card_path``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from tltf import licences

#: The card's sections, in order (``## `` headings).
SECTIONS = (
    "Model details",
    "Intended use",
    "Factors",
    "Metrics",
    "Evaluation data",
    "Training data",
    "Quantitative analyses",
    "Ethical considerations",
    "Caveats and recommendations",
    "Licences",
)
#: What ``missing_cards`` counts as an exported model: these file suffixes, and folders holding this file.
MODEL_SUFFIXES = (".keras", ".tflite")
SAVED_MODEL = "saved_model.pb"


def number(value) -> str:
    """``value`` for a reader: integers with thousands separators, floats with 3 decimals below 10
    (accuracies, AUCs, milliseconds), 1 decimal below 1,000, none above."""
    if isinstance(value, int):
        return f"{value:,}"
    value = float(value)
    if abs(value) < 10:
        return f"{value:.3f}"
    return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"


def cell(text) -> str:
    """``text`` safe inside a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def check_results(results: dict[str, dict], what: str) -> None:
    """Raise ValueError unless every entry of ``results`` has a finite ``mean`` and a ``ci95`` [low, high]
    that contains it."""
    for name, result in results.items():
        if not isinstance(result, dict) or "mean" not in result or not result.get("ci95"):
            raise ValueError(f"{what} {name!r} needs a 'mean' and a 'ci95' [low, high] (its 95 % interval)")
        low, high = (float(c) for c in result["ci95"])
        mean = float(result["mean"])
        if not all(map(math.isfinite, (mean, low, high))) or not low <= mean <= high:
            raise ValueError(f"{what} {name!r}: the interval [{low}, {high}] does not contain its mean {mean}")


def results_table(results: dict[str, dict]) -> list[str]:
    """Markdown table lines of ``{"mean", "ci95", optional "n", "note"}`` results."""
    lines = ["| measure | value | 95 % interval | n | note |", "| --- | --- | --- | --- | --- |"]
    for name, r in results.items():
        low, high = r["ci95"]
        n = number(int(r["n"])) if r.get("n") is not None else ""
        interval = f"{number(low)} to {number(high)}"
        lines.append(f"| {cell(name)} | {number(r['mean'])} | {interval} | {n} | {cell(r.get('note', ''))} |")
    return lines


@dataclass
class ModelCard:
    """What a reader of an exported model needs to know; ``markdown()`` writes it in ``SECTIONS`` order.

    ``metrics`` and ``analyses`` map a measure's name to ``{"mean": float, "ci95": [low, high]}``, with an
    optional ``"n"`` (items measured) and ``"note"``. ``assets`` are names known to ``tltf.licences``.
    Raises ValueError when an asset is unknown, a result lacks its mean or interval, or an interval
    does not contain its mean.
    """

    name: str
    summary: str
    details: dict[str, str]
    assets: list[str]
    intended_use: str
    out_of_scope: str
    factors: str
    metrics: dict[str, dict]
    training_data: str
    evaluation_data: str
    analyses: dict[str, dict] = field(default_factory=dict)
    ethics: str = ""
    caveats: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise ValueError for an unknown asset or a malformed metric or analysis."""
        licences.table(self.assets)  # raises for an unknown name
        check_results(self.metrics, "metric")
        check_results(self.analyses, "analysis")

    def licences_section(self) -> list[str]:
        """The licence table of ``assets``, flagged rows marked, and the not-legal-advice line."""
        table = licences.table(self.assets)
        if table.empty:
            return ["No registered weights or data were used.", "", licences.NOT_LEGAL_ADVICE]
        lines = ["| asset | licence | trained on | terms | note |", "| --- | --- | --- | --- | --- |"]
        for row in table.itertuples(index=False):
            terms = row.terms if row.terms == "open" else f"**flagged: {row.terms}**"
            trained_on = row.trained_on if isinstance(row.trained_on, str) else "-"
            lines.append(
                f"| {cell(row.asset)} | {cell(row.licence)} | {cell(trained_on)} | {terms} | {cell(row.note)} |"
            )
        return [*lines, "", licences.verdict(table)]

    def markdown(self) -> str:
        """The card as Markdown: a title, the summary, then one ``## `` section per ``SECTIONS`` entry."""
        self.check()
        none = "None stated."
        body = {
            "Model details": [
                "| | |",
                "| --- | --- |",
                *(f"| {cell(k)} | {cell(v)} |" for k, v in self.details.items()),
            ],
            "Intended use": [
                f"- **Primary uses and users:** {self.intended_use or none}",
                f"- **Out-of-scope uses:** {self.out_of_scope or none}",
            ],
            "Factors": [self.factors or none],
            "Metrics": results_table(self.metrics) if self.metrics else [none],
            "Evaluation data": [self.evaluation_data or none],
            "Training data": [self.training_data or none],
            "Quantitative analyses": results_table(self.analyses) if self.analyses else ["None measured."],
            "Ethical considerations": [self.ethics or none],
            "Caveats and recommendations": [f"- {c}" for c in self.caveats] or [none],
            "Licences": self.licences_section(),
        }
        lines = [f"# Model card: {self.name}", "", self.summary]
        for section in SECTIONS:
            lines += ["", f"## {section}", "", *body[section]]
        return "\n".join(lines) + "\n"


def card_path(model_path: str | Path) -> Path:
    """Where a model's card goes: ``<model path>.md``, beside the file or the SavedModel folder."""
    path = Path(model_path)
    return path.with_name(path.name + ".md")


def write(card: ModelCard, model_path: str | Path) -> Path:
    """Write ``card`` (UTF-8) beside the model at ``model_path``, which must exist; returns the card's path."""
    if not Path(model_path).exists():
        raise FileNotFoundError(f"{model_path} does not exist: save or export the model before its card")
    path = card_path(model_path)
    path.write_text(card.markdown(), encoding="utf-8")
    return path


def models_in(folder: str | Path) -> list[Path]:
    """The exported models under ``folder`` (``.keras`` and ``.tflite`` files, SavedModel folders), sorted."""
    folder = Path(folder)
    found = {p for suffix in MODEL_SUFFIXES for p in folder.rglob(f"*{suffix}") if p.is_file()}
    found |= {p.parent for p in folder.rglob(SAVED_MODEL)}
    return sorted(found)


def missing_cards(folder: str | Path) -> list[Path]:
    """The exported models under ``folder`` (``models_in``) that have no card beside them."""
    return [p for p in models_in(folder) if not card_path(p).is_file()]
