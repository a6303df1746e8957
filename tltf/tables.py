"""The README's benchmark tables, rendered from the records of the last full runs.

``benchmarks/NAME.json`` is the record of ``python -m tltf.bench NAME`` (``tltf.bench`` writes it);
``TABLES`` says which of its numbers the README shows, and how; ``readme`` renders every
``<!-- bench:NAME -->`` block of the README from the records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tltf.stats import format_interval

REPO = Path(__file__).resolve().parents[1]
RECORDS = REPO / "benchmarks"
README = REPO / "README.md"

#: Benchmark name -> the notebook it runs.
BENCHMARKS = {
    "basics": "00_what_is_transfer_learning.ipynb",
    "feature-extraction": "01_feature_extraction.ipynb",
    "fine-tuning": "02_fine_tuning.ipynb",
    "backbones": "03_tf_hub_and_backbones.ipynb",
    "learning-curves": "04_learning_curves.ipynb",
    "text": "05_text_transfer.ipynb",
    "audio": "06_audio_transfer.ipynb",
    "far-domains": "07_far_domains.ipynb",
    "shifted-domains": "08_shifted_domains.ipynb",
    "overfitting": "09_overfitting.ipynb",
}


@dataclass
class Table:
    """A README table: one row per (label, record keys, decimals), one column per key after the label.
    A key with ``_mean`` and ``_ci95`` entries in the record is shown as "mean (low to high)"; decimals
    are one number for the row or one per key; ``{key}`` in a label is filled in from the record."""

    rows: list[tuple[str, tuple[str, ...], int | tuple[int, ...]]]
    header: tuple[str, ...] = ("measure", "value (95 % interval)")


def _rows(*rows: tuple[str, str, int]) -> Table:
    """A two-column table: one record key per row."""
    return Table([(label, (key,), digits) for label, key, digits in rows])


FINE_TUNING_RUNS = (
    ("feature extraction only (stage 1)", "feature_extraction_only"),
    ("**the recipe: top 6 blocks, BatchNorm frozen, peak rate 1e-4**", "top_6_blocks_the_recipe"),
    ("top 3 blocks", "3_blocks"),
    ("all layers (BatchNorm frozen)", "all_layers"),
    ("all layers, discriminative rates (1/10, 1/3, 1 by thirds)", "all_layers_discriminative_rates"),
    ("all layers, BatchNorm trained", "all_layers_BatchNorm_trained"),
    ("all layers, peak rate 1e-2", "all_layers_high_rate"),
)

#: The README tables of each benchmark.
TABLES: dict[str, list[Table]] = {
    "basics": [
        _rows(
            ("5-NN accuracy, pre-trained MobileNetV2 features (5-fold cross-validation)", "knn_pretrained", 3),
            ("5-NN accuracy, the same network with random weights", "knn_random", 3),
            ("difference, pre-trained minus random (paired over the same folds), points", "knn_gain_points", 1),
        )
    ],
    "feature-extraction": [
        _rows(
            ("test accuracy, head on cached features, mean over 5 folds (every photo tested once)", "test_acc_head", 3),
            ("the same recipe on the course split (300 test photos, Wilson interval)", "test_acc_cached", 3),
            (
                "head trained through the frozen backbone, on-the-fly augmentation (course split)",
                "test_acc_in_model",
                3,
            ),
            (
                "cached minus through the backbone, paired bootstrap over the test photos, points",
                "cached_minus_in_model_points",
                1,
            ),
            (
                "CNN from scratch given the same time as the through-backbone training (course split)",
                "test_acc_scratch",
                3,
            ),
            ("seconds per epoch, head on cached features", "epoch_s_cached", 2),
            ("seconds per epoch, through the frozen backbone", "epoch_s_through_base", 1),
            ("cached rows per epoch (training photos x views)", "cached_rows", 0),
            ("seconds: computing the features / features + head training", "seconds_extract_features", 0),
            ("largest probability difference, head on features vs the attached model", "end_to_end_max_difference", 7),
        )
    ],
    "fine-tuning": [
        _rows(
            ("test accuracy, fine-tuned (the recipe), mean over seeds {seeds}", "test_acc_fine_tuned", 3),
            ("test accuracy, feature extraction (its stage-1 heads), same seeds", "test_acc_feature_extraction", 3),
            ("gain of fine-tuning, paired over seeds, points", "gain_points", 1),
            ("seconds per fine-tuning epoch (900 photos through the network)", "epoch_s_fine_tuning", 1),
            ("learning-rate finder's suggestion (the rate at the lowest loss, divided by 10)", "suggested_lr", 3),
        ),
        Table(
            [
                (
                    label,
                    (f"test_acc_{slug}", f"minus_recipe_points_{slug}" if "recipe" not in slug else ""),
                    (3, 1),
                )
                for label, slug in FINE_TUNING_RUNS
            ],
            (
                "one run each, seed 42",
                "test accuracy (Wilson)",
                "minus the recipe, points (paired bootstrap)",
            ),
        ),
    ],
    "learning-curves": [
        Table(
            [
                (
                    label,
                    tuple(f"{prefix}_{k}" for k in (1, 5, 10, 25, 50, 180)),
                    (3,) * 6 if prefix != "fine_tuning_gain_points" else (1,) * 6,
                )
                for label, prefix in (
                    ("feature extraction (6,405 trainable)", "feature_extraction"),
                    ("fine-tuning, top 6 blocks (1,901,317)", "fine_tuned"),
                    ("from scratch, 64 px, 60 epochs (1,174,501)", "scratch"),
                    ("fine-tuning minus feature extraction, points (paired)", "fine_tuning_gain_points"),
                )
            ],
            ("mean test accuracy over seeds {seeds} (95 % interval)", "1", "5", "10", "25", "50", "all (180)"),
        ),
        _rows(
            (
                "seconds to {target_acc} validation accuracy with all photos (mean over seeds, caching included)",
                "seconds_to_target",
                1,
            ),
            ("seconds spent once before training (caching activations and features; small images)", "prep_seconds", 1),
        ),
    ],
    "text": [
        _rows(
            (
                "TF-IDF (1-2-grams) + logistic regression, C = {tfidf_c} chosen on validation",
                "acc_tfidf_logistic_regression",
                3,
            ),
            ("GloVe 50-d mean of word vectors + Dense, frozen", "acc_glove_frozen", 3),
            ("GloVe, trainable", "acc_glove_trainable", 3),
            ("MiniLM frozen, head on its sentence embedding (last layer)", "acc_minilm_frozen_last_layer", 3),
            ("MiniLM frozen, head on the mean-pooled last 3 layers (seed 0)", "acc_minilm_frozen_last_3_layers", 3),
            ("MiniLM fine-tuned end to end from that head (seed 0)", "acc_minilm_finetuned", 3),
            ("MiniLM frozen, last 3 layers, mean over seeds {seeds}", "encoder_frozen_acc", 3),
            ("MiniLM fine-tuned, mean over the same seeds", "encoder_finetuned_acc", 3),
            ("gain of fine-tuning, paired over seeds, points", "finetuning_gain_points", 1),
            ("seconds to embed 200 sentences: all padded to 128 tokens", "embed_200_fixed_s", 1),
            ("seconds to embed 200 sentences: batches padded to their longest sentence", "embed_200_padded_s", 1),
        ),
        *(
            Table(
                [
                    (source, tuple(f"{kind}_{source.lower()}_{target}" for target in ("amazon", "imdb", "yelp")), 3)
                    for source in ("Amazon", "IMDb", "Yelp")
                ],
                (f"{title}: trained on (rows), tested on (columns)", "Amazon", "IMDb", "Yelp"),
            )
            for kind, title in (
                ("frozen", "domain shift, MiniLM frozen"),
                ("finetuned", "domain shift, MiniLM fine-tuned"),
            )
        ),
        _rows(
            *(
                (
                    f"{{gap_source}} + {k} labelled {{gap_target}} sentences, tested on {{gap_target}} (frozen)",
                    f"gap_k{k}",
                    3,
                )
                for k in (0, 10, 26, 50, 100, 200, 300, 600)
            ),
            ("{gap_target} alone", "gap_in_domain", 3),
        ),
    ],
    "audio": [
        Table(
            [
                (label, (f"official_{key}", f"speaker_{key}"), digits)
                for label, key, digits in (
                    ("mean log-mel (64-d) + logistic regression (no randomness: Wilson interval)", "baseline", 3),
                    ("frozen YAMNet embedding (1,024-d) + Dense head, mean over seeds {seeds}", "frozen", 3),
                    ("YAMNet fine-tuned from that head (Adam, warm-up + cosine from 3e-4, 10 epochs)", "finetuned", 3),
                    ("fine-tuned minus frozen, paired over seeds, points", "gain_over_frozen_points", 1),
                    ("fine-tuned minus the baseline, points", "gain_over_baseline_points", 1),
                    ("clips: train, validation, test", "n_train_val_test", 0),
                )
            ],
            ("test accuracy (95 % interval)", "official split", "held-out speakers (george, nicolas)"),
        )
    ],
    "backbones": [
        Table(
            [
                (
                    label,
                    tuple(f"{slug}_{key}" for key in ("params", "size_mb", "images_per_s", "test_acc")),
                    (0, 1, 1, 3),
                )
                for label, slug in (
                    ("hub: MobileNetV2 feature vector ({hub_module})", "hub"),
                    ("keras: MobileNetV2", "mobilenet_v2"),
                    ("keras: MobileNet 0.25", "mobilenet_025"),
                )
            ],
            ("backbone", "parameters", "`.keras` size, MB", "images / s", "test accuracy (95 % interval)"),
        ),
        _rows(
            ("hub layer, frozen: head on cached features (course split, Wilson interval)", "hub_test_acc_head", 3),
            (
                "the whole hub layer fine-tuned (BatchNorm in inference mode), up to 5 epochs (course split)",
                "hub_test_acc_fine_tuned",
                3,
            ),
        ),
    ],
}


FAR_DOMAIN_METHODS = (
    ("frozen ImageNet features + head", "frozen"),
    ("fine-tuned, top 6 blocks (BatchNorm frozen)", "finetuned"),
    ("small CNN from scratch, 28 px, 12 epochs", "scratch"),
)
TABLES["far-domains"] = [
    *(
        Table(
            [(label, tuple(f"xray_{metric}_{m}_{k}" for k in (10, 50, "all")), 3) for label, m in FAR_DOMAIN_METHODS],
            (f"X-rays ({{dataset}}, {{grid_input_px}} px), test {name}, mean over 3 seeds", "10", "50", "all"),
        )
        for metric, name in (("acc", "accuracy"), ("auc", "ROC AUC"))
    ),
    Table(
        [
            (block, (f"probe_flowers_{block}", f"probe_xray_{block}"), 3)
            for block in ("block_2_add", "block_5_add", "block_9_add", "block_12_add", "block_15_add", "out_relu")
        ],
        ("linear probe after (224 px, Wilson interval)", "flowers (near)", "X-rays (far)"),
    ),
    _rows(
        ("threshold chosen on validation (Youden), fine-tuned model, all labels, seed 0", "threshold", 3),
        ("test sensitivity at it (Wilson)", "test_sensitivity", 3),
        ("test specificity at it (Wilson)", "test_specificity", 3),
        ("test expected calibration error, as trained (bootstrap)", "ece_before", 3),
        ("test expected calibration error, temperature {temperature} fitted on validation", "ece_after", 3),
        (
            "validation minus test accuracy, fine-tuned on all labels, points (paired over seeds)",
            "val_minus_test_points",
            1,
        ),
    ),
]


def load(name: str) -> dict | None:
    """The recorded full run of a benchmark, or None."""
    path = RECORDS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def cell(result: dict, key: str, digits: int) -> str:
    """One table value: an interval for ``key_mean`` (or ``key``) + ``key_ci95``, else the value itself
    ("" for no key)."""
    if not key:
        return ""
    if f"{key}_mean" in result:
        return format_interval({"mean": result[f"{key}_mean"], "ci95": result.get(f"{key}_ci95")}, digits=digits)
    if key in result and f"{key}_ci95" in result:
        return format_interval({"mean": result[key], "ci95": result[f"{key}_ci95"]}, digits=digits)
    return number(result.get(key, "not recorded"), digits)


def number(value, digits: int) -> str:
    """A number with ``digits`` decimals (tiny ones in e-notation, integers with thousands separators);
    lists joined by commas; anything else as it is."""
    if isinstance(value, list):
        return ", ".join(number(v, digits) for v in value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.1e}" if 0 < abs(value) < 10**-digits else f"{value:,.{digits}f}"


def render(name: str, result: dict | None) -> str:
    """The README block of one benchmark (Markdown) from its record."""
    command = f"`python -m tltf.bench {name}` runs [`{BENCHMARKS[name]}`](notebooks/{BENCHMARKS[name]})."
    if result is None:
        return f"{command} No full run is recorded yet."
    lines = [
        f"{command} Recorded run: {result['date']}, commit {result['commit']}, {result['mode']} mode, "
        f"{result['wall_s'] / 60:.1f} min, peak memory {result.get('peak_rss_mb', 0):,.0f} MiB; "
        f"{result['machine']}."
    ]
    fill = {key: cell(result, key, 2) for key in result}  # for {key} in labels and headers
    for table in TABLES[name]:
        lines += [
            "",
            "| " + " | ".join(h.format(**fill) for h in table.header) + " |",
            "|" + " --- |" * len(table.header),
        ]
        for label, keys, digits in table.rows:
            digits = (digits,) * len(keys) if isinstance(digits, int) else digits
            values = [cell(result, key, d) for key, d in zip(keys, digits, strict=True)]
            lines.append("| " + " | ".join([label.format(**fill), *values]) + " |")
    return "\n".join(lines)


def readme(text: str) -> str:
    """``text`` with every ``<!-- bench:NAME -->`` ... ``<!-- /bench:NAME -->`` block rendered anew."""
    for name in BENCHMARKS:
        begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
        if begin in text:
            head, rest = text.split(begin, 1)
            _, tail = rest.split(end, 1)
            text = f"{head}{begin}\n{render(name, load(name))}\n{end}{tail}"
    return text


SHIFT_METHODS = (
    ("feature extraction", "fe"),
    ("fine-tuned (the course's recipe)", "ft"),
    ("fine-tuned with RandAugment", "ft_augmented"),
    ("fine-tuned, statistics re-estimated on the target photos (fails)", "ft_bn_naive"),
    ("fine-tuned with flower statistics (unadapted)", "ft_source"),
    ("**the same, statistics re-estimated on the target photos**", "ft_bn_adapted"),
    ("the same, re-estimated, then TENT", "ft_tent"),
)
# tltf.data.corruptions.CORRUPTIONS, written out: importing it loads OpenCV, and this module stays light.
SHIFT_CORRUPTIONS = ("gaussian_noise", "defocus_blur", "jpeg_compression", "contrast", "brightness", "pixelate")

TABLES["shifted-domains"] = [
    Table(
        [(label, (f"clean_acc_{m}", f"mean_corruption_acc_{m}"), 3) for label, m in SHIFT_METHODS],
        ("flowers, MobileNetV2 at {input_px} px, mean over 3 seeds", "clean test photos", "severity 3, 6 corruptions"),
    ),
    Table(
        [(c.replace("_", " "), tuple(f"acc_ft_{c}_{s}" for s in (1, 3, 5)), 3) for c in SHIFT_CORRUPTIONS],
        ("fine-tuned, test accuracy under", "severity 1", "severity 3", "severity 5"),
    ),
    _rows(
        (
            "best label-free adaptation minus the unadapted fine-tuned model, points (paired)",
            "adaptation_gain_points",
            1,
        ),
        ("share of the fine-tuned model's loss at severity 3 won back", "recovered_fraction", 2),
        ("TENT minus re-estimation alone, points (paired)", "tent_minus_bn_points", 1),
        ("relative drop at severity 3, fine-tuned", "relative_drop_ft", 3),
        (
            "Spearman rho, label-free domain-classifier accuracy vs accuracy lost (18 sets)",
            "rho_domain_accuracy_drop",
            2,
        ),
    ),
]

#: The techniques of notebook 09 (``tltf.recipes.TECHNIQUES``), with the README's label for each.
OVERFITTING_TECHNIQUES = (
    ("flip, rotate, zoom (cached views)", "flip_rotate_zoom"),
    ("RandAugment (cached views)", "randaugment"),
    ("head dropout 0.5", "dropout"),
    ("weight decay 0.05 (AdamW, not BatchNorm or biases)", "weight_decay"),
    ("label smoothing 0.1", "label_smoothing"),
    ("MixUp", "mixup"),
    ("CutMix", "cutmix"),
    ("top 3 blocks trained instead of 6", "fewer_blocks"),
    ("early stopping on a schedule twice as long", "early_stopping"),
    ("L2-SP, alpha 0.1", "l2_sp"),
)

TABLES["overfitting"] = [
    Table(
        [(label, (f"effect_points_{t}_10", f"effect_points_{t}_all"), 1) for label, t in OVERFITTING_TECHNIQUES],
        (
            "one change from the plain recipe: test accuracy minus plain, points (paired)",
            "10 photos per class (5 seeds)",
            "all photos (3 seeds)",
        ),
    ),
    Table(
        [
            ("plain recipe (fine-tuned, top 6 blocks)", ("plain_test_acc_10", "plain_test_acc_all"), 3),
            (
                "combined recipe, chosen on validation: {combined_recipe}",
                ("recipe_test_acc_10", "recipe_test_acc_all"),
                3,
            ),
            ("feature extraction (stage 1 alone)", ("fe_test_acc_10", "fe_test_acc_all"), 3),
            ("combined minus plain, points (paired)", ("recipe_gain_points_10", "recipe_gain_points_all"), 1),
            (
                "combined minus feature extraction, points (paired)",
                ("recipe_minus_fe_points_10", "recipe_minus_fe_points_all"),
                1,
            ),
        ],
        ("flowers, MobileNetV2 at 144 px, test accuracy", "10 photos per class", "all photos"),
    ),
]
