"""Blind label audit of the corpus: draw a sample, compare a second pass, apply resolved fixes.

Steps (all files in ``training/data/audit/``):

1. ``sample``: draw >= 600 labeled sentences, stratified by language and label with a fixed seed, into
   ``audit_sample.jsonl`` **without labels** (id, article_id, sent_idx, lang, text, prev, next).
2. A second annotator writes ``second_pass.jsonl`` (``{"id", "label", "note"}``) from the sample file and
   the guidelines only.
3. ``report``: freezes the writers' labels of the sampled sentences into ``first_pass.jsonl`` (once), then
   writes ``audit_report.json`` (Cohen's kappa and confusion before resolution, and after the fixes
   against the current corpus) and ``audit_disagreements.jsonl``.
4. Each disagreement is resolved in ``resolutions.jsonl`` (``verdict``: ``first_wrong``,
   ``second_wrong`` or ``both_defensible``); ``apply`` writes the ``first_wrong`` fixes into the raw
   files, one label per line, only for writer prefixes whose files have been quiet for 3 minutes.

Usage:
    python training/label_audit.py sample | report | apply              # the v1 audit
    python training/label_audit.py sample --set v2                       # the corpus-v2 audit
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus_tools as ct  # noqa: E402

RAW = HERE / "data" / "raw"
SEED = 20251125
QUIET_SECONDS = 180


@dataclass(frozen=True)
class AuditSet:
    """One blind audit: where its files live, which articles it samples and how many per cell.

    Attributes:
        directory: Folder of ``audit_sample.jsonl``, ``second_pass.jsonl``, reports and resolutions.
        quotas: Sentences drawn per label, per language.
        seen: Articles whose labels the auditor read while building the tools (kept out: blind pass).
        prefixes: Only articles whose id starts with one of these are sampled (empty: all).
        second_annotator: Who made the blind second pass (named in the data card).
    """

    directory: Path
    quotas: dict[str, int]
    seen: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    second_annotator: str = "two annotators, half each"


#: The v1 audit (640 sentences), the corpus-v2 audit (1,020 sentences of the v2 articles only) and the
#: corpus-v3 audit (340 sentences of the v3 articles), and the v4 and v5 audits of their rounds' articles.
AUDITS = {
    "v1": AuditSet(
        HERE / "data" / "audit",
        {"id": 100, "en": 35, "ms": 25},
        frozenset({"ida-001", "ida-013", "ida-051", "idb-020", "idc-032", "msx-028", "en-033"}),
        second_annotator="the data lead",
    ),
    "v2": AuditSet(
        HERE / "data" / "audit_v2",
        {"id": 170, "en": 60, "ms": 25},
        frozenset({"v2a-001", "v2b-001", "v2c-001", "v2d-001", "v2e-001"}),
        ("v2",),
        second_annotator="an independent annotator",
    ),
    "v3": AuditSet(
        HERE / "data" / "audit_v3",
        {"id": 60, "en": 25},
        frozenset(),
        ("v3",),
    ),
    "v4": AuditSet(
        HERE / "data" / "audit_v4",
        {"id": 45, "en": 20, "ms": 15},
        frozenset(),
        ("v4",),
    ),
    "v5": AuditSet(
        HERE / "data" / "audit_v5",
        {"id": 50, "en": 25, "ms": 10},
        frozenset(),
        ("v5",),
    ),
}
AUDIT = AUDITS["v1"].directory


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL file ([] if it does not exist)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write rows as JSONL (UTF-8, one object per line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def draw_sample(
    articles: list[dict[str, Any]], seed: int = SEED, audit: AuditSet = AUDITS["v1"]
) -> list[dict[str, Any]]:
    """Stratified, seeded sample of labeled sentences with their neighbours, without labels."""
    cells: dict[tuple[str, str], list[tuple[dict[str, Any], int]]] = defaultdict(list)
    for article in sorted(articles, key=lambda a: a["id"]):
        if article["id"] in audit.seen:
            continue
        if audit.prefixes and not article["id"].startswith(audit.prefixes):
            continue
        for sent in ct.labeled(article):
            cells[(article["lang"], sent["label"])].append((article, sent["idx"]))
    picked = []
    for lang, quota in audit.quotas.items():
        for label in ct.LABELS:
            pool = cells[(lang, label)]
            picked += random.Random(f"{seed}-{lang}-{label}").sample(pool, min(quota, len(pool)))
    random.Random(seed).shuffle(picked)
    rows = []
    for n, (article, idx) in enumerate(picked, 1):
        units = article["sentences"]
        rows.append({
            "id": f"audit-{n:04d}", "article_id": article["id"], "sent_idx": idx, "lang": article["lang"],
            "text": units[idx]["text"], "prev": units[idx - 1]["text"] if idx else "",
            "next": units[idx + 1]["text"] if idx + 1 < len(units) else "",
        })  # fmt: skip
    return rows


def _find(articles: dict[str, dict[str, Any]], item: dict[str, Any]) -> dict[str, Any] | None:
    """The corpus sentence of a sample item (by position, else by text), or None if it is gone."""
    article = articles.get(item["article_id"])
    if article is None:
        return None
    units = article["sentences"]
    if item["sent_idx"] < len(units) and units[item["sent_idx"]]["text"] == item["text"]:
        return units[item["sent_idx"]]
    return next((s for s in units if s["text"] == item["text"]), None)


def agreement(first: list[str], second: list[str]) -> dict[str, Any]:
    """Cohen's kappa, raw agreement and confusion matrix (rows first pass, columns second pass)."""
    from sklearn.metrics import cohen_kappa_score, confusion_matrix

    if not first:
        return {"n": 0, "kappa": 0.0, "agreement": 0.0, "confusion": []}
    return {
        "n": len(first),
        "kappa": round(float(cohen_kappa_score(first, second, labels=list(ct.LABELS))), 4),
        "agreement": round(sum(a == b for a, b in zip(first, second)) / len(first), 4),
        "confusion": confusion_matrix(first, second, labels=list(ct.LABELS)).tolist(),
    }


def _with_langs(pairs: list[tuple[str, str, str]]) -> dict[str, Any]:
    result = agreement([p[1] for p in pairs], [p[2] for p in pairs])
    langs = sorted({p[0] for p in pairs})
    result["by_lang"] = {g: agreement(*zip(*[(p[1], p[2]) for p in pairs if p[0] == g])) for g in langs}
    for value in result["by_lang"].values():
        del value["confusion"]
    return result


def freeze_first_pass(
    sample: list[dict[str, Any]], articles: dict[str, dict[str, Any]], directory: Path = AUDIT
) -> list[dict[str, Any]]:
    """The writers' labels of the sample, frozen on the first report so 'before' stays reproducible."""
    path = directory / "first_pass.jsonl"
    if not path.exists():
        rows = []
        for item in sample:
            sent = _find(articles, item)
            rows.append({"id": item["id"], "label": sent["label"] if sent else None,
                         "hard_type": sent["hard_type"] if sent else None})  # fmt: skip
        write_jsonl(path, rows)
    return read_jsonl(path)


def report(articles: list[dict[str, Any]], directory: Path = AUDIT) -> dict[str, Any]:
    """Write ``audit_report.json`` and ``audit_disagreements.jsonl``; return the report."""
    by_id = {a["id"]: a for a in articles}
    sample = read_jsonl(directory / "audit_sample.jsonl")
    second = {r["id"]: r for r in read_jsonl(directory / "second_pass.jsonl")}
    first = {r["id"]: r for r in freeze_first_pass(sample, by_id, directory)}
    done = [it for it in sample if it["id"] in second and first[it["id"]]["label"]]
    before = [(it["lang"], first[it["id"]]["label"], second[it["id"]]["label"]) for it in done]
    now = [(it, _find(by_id, it)) for it in done]
    after = [(it["lang"], s["label"], second[it["id"]]["label"]) for it, s in now if s]
    disagreements = [
        {**it, "first": first[it["id"]]["label"], "second": second[it["id"]]["label"],
         "note": second[it["id"]].get("note", ""), "hard_type": first[it["id"]]["hard_type"]}
        for it in done if first[it["id"]]["label"] != second[it["id"]]["label"]
    ]  # fmt: skip
    result = {
        "labels": list(ct.LABELS),
        "sample_size": len(sample),
        "second_pass_done": len(done),
        "before": _with_langs(before),
        "after": _with_langs(after),
        "stale_items": len(done) - len(after),
        "resolutions": len(read_jsonl(directory / "resolutions.jsonl")),
    }
    (directory / "audit_report.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    write_jsonl(directory / "audit_disagreements.jsonl", disagreements)
    return result


def _prefix_quiet(prefix: str) -> bool:
    """Whether a writer prefix has files and none changed in the last ``QUIET_SECONDS`` (writing done)."""
    files = sorted(RAW.glob(f"{prefix}_*.jsonl"))
    return bool(files) and time.time() - max(f.stat().st_mtime for f in files) > QUIET_SECONDS


def _units(article: dict[str, Any]) -> list[dict[str, Any]]:
    return [unit for paragraph in article["paragraphs"] for unit in paragraph]


def relabel_line(line: str, sent_idx: int, text: str, old: str, new: str) -> str:
    """One raw JSONL line with one unit's label changed from ``old`` to ``new``; everything else kept."""
    article = json.loads(line)
    unit = _units(article)[sent_idx]
    if unit["t"] != text or unit["l"] != old:
        raise ValueError(
            f"{article['id']}#{sent_idx}: expected {old!r} on {text[:40]!r}, found {unit['l']!r}"
        )
    encoded = [json.dumps(text, ensure_ascii=flag) for flag in (False, True)]
    at = next((line.find(e) for e in encoded if line.count(e) == 1), -1)
    match = re.compile(rf'"l"\s*:\s*"{re.escape(old)}"').search(line, at + 1) if at >= 0 else None
    if match is None:
        raise ValueError(f"{article['id']}#{sent_idx}: cannot locate the unit in the raw line")
    edited = line[: match.start()] + f'"l": "{new}"' + line[match.end() :]
    unit["l"] = new
    if json.loads(edited) != article:
        raise ValueError(f"{article['id']}#{sent_idx}: edit would change more than one label")
    return edited


def _raw_location(article_id: str) -> tuple[Path, int] | None:
    prefix = article_id.split("-")[0]
    for path in sorted(RAW.glob(f"{prefix}_*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if line.strip() and json.loads(line)["id"] == article_id:
                return path, n
    return None


def apply_resolutions(directory: Path = AUDIT) -> dict[str, list[str]]:
    """Write ``first_wrong`` resolutions into the raw files; report applied, already done, pending."""
    status: dict[str, list[str]] = defaultdict(list)
    for res in read_jsonl(directory / "resolutions.jsonl"):
        if res["verdict"] != "first_wrong":
            continue
        key = f"{res['article_id']}#{res['sent_idx']} {res['first']}->{res['final']}"
        location = _raw_location(res["article_id"])
        if location is None:
            status["failed"].append(f"{key}: article not found in the raw files")
            continue
        path, n = location
        lines = path.read_text(encoding="utf-8").split("\n")
        units = _units(json.loads(lines[n]))
        unit = units[res["sent_idx"]] if res["sent_idx"] < len(units) else {"t": None, "l": None}
        if unit["t"] == res["text"] and unit["l"] == res["final"]:
            status["already"].append(key)
            continue
        if not _prefix_quiet(res["article_id"].split("-")[0]):
            status["pending"].append(key)
            continue
        try:
            lines[n] = relabel_line(lines[n], res["sent_idx"], res["text"], res["first"], res["final"])
        except (ValueError, IndexError) as err:
            status["failed"].append(f"{key}: {err}")
            continue
        path.write_text("\n".join(lines), encoding="utf-8")
        status["applied"].append(key)
    return dict(status)


def main(argv: list[str] | None = None) -> None:
    """CLI: ``sample``, ``report`` or ``apply``."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("step", choices=["sample", "report", "apply"])
    parser.add_argument("--force", action="store_true", help="overwrite an existing sample")
    parser.add_argument("--set", dest="audit", choices=sorted(AUDITS), default="v1", help="which audit")
    args = parser.parse_args(argv)
    audit = AUDITS[args.audit]
    if args.step == "sample":
        target = audit.directory / "audit_sample.jsonl"
        if target.exists() and not args.force:
            sys.exit(f"{target} exists; the sample is fixed once drawn (use --force to redraw)")
        rows = draw_sample(ct.build_in_memory(), audit=audit)
        write_jsonl(target, rows)
        print(f"wrote {len(rows)} unlabeled items to {target}")
    elif args.step == "report":
        result = report(ct.build_in_memory(), audit.directory)
        print(json.dumps({k: v for k, v in result.items() if k not in ("before", "after")}))
        for key in ("before", "after"):
            print(key, {k: result[key][k] for k in ("n", "kappa", "agreement")})
    else:
        print(json.dumps(apply_resolutions(audit.directory), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
