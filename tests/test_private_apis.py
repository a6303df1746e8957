"""Private and deprecated APIs: the few private calls left are listed here, each for a reason; a new one fails."""

import re
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]

#: (file, private name): why it stays.
ALLOWED = {
    ("tltf/registry.py", "keras.src"): "keras_home(): Keras has no public accessor for its models folder",
    ("tltf/audio.py", "_get_ops_details"): "LiteRT has no public list of a model's operations (YAMNet's weights)",
    ("tltf/export.py", "_get_ops_details"): "LiteRT has no public list of a model's operations (the Flex check)",
    ("tltf/export.py", "_experimental_disable_per_channel"): "the converter's only switch for per-tensor int8 weights",
    ("tltf/train.py", "_var_key"): "the optimizer's key from a backend variable to its Keras variable",
}
#: Deprecated or private in Keras 3 / TensorFlow 2.21, and what replaces each.
FORBIDDEN = {
    r"\btf\.lite\.Interpreter\b": "ai_edge_litert.interpreter.Interpreter",
    r"\btf\.keras\b": "import keras",
    r"\bImage\w+Generator\b|\bkeras\.preprocessing\b": "image_dataset_from_directory, augmentation layers",
    r"\.save\([^)]*\.h5[\"']": "a .keras file",
}
#: Private methods of Keras's own classes, which a subclass reaches through ``self``.
INHERITED = {"_var_key", "_track_variable", "_build_at_init"}
PRIVATE = re.compile(r"keras\.src|\b\w+\._(?!_)[a-z]\w*(?:\(|\s*=(?!=))")  # obj._private() or obj._private = ...


def sources() -> dict[str, str]:
    files = {str(p.relative_to(REPO)): p.read_text(encoding="utf-8") for p in sorted(REPO.glob("tltf/**/*.py"))}
    for path in sorted(REPO.glob("notebooks/**/*.py")) + sorted(REPO.glob("notebooks/*.ipynb")):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            text = "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells if c.cell_type == "code")
        files[str(path.relative_to(REPO))] = text
    return files


def test_private_apis_are_only_the_listed_ones():
    found = set()
    for name, text in sources().items():
        for match in PRIVATE.finditer(text):
            attribute = "keras.src" if match[0] == "keras.src" else match[0].split(".")[-1].rstrip("(= ")
            if not match[0].startswith("self.") or attribute in INHERITED:
                found.add((name, attribute))
    assert found == set(ALLOWED)


def test_no_deprecated_api():
    hits = [(name, pattern) for name, text in sources().items() for pattern in FORBIDDEN if re.search(pattern, text)]
    assert hits == [], {name: FORBIDDEN[pattern] for name, pattern in hits}
