"""What readers see names dates and commits, never the tracker's issues (they cannot open it), and
the ledgers' notes quote the profile they describe from params.yaml, so a note cannot go stale when
a profile changes."""
import json
import re
from pathlib import Path

import pytest
import yaml

from hyperscale.core.claims import PLACEHOLDER, fill_note, load_claims
from hyperscale.core.params import cpu_base, overlay, read_yaml

ROOT = Path(__file__).resolve().parents[1]
ISSUE = re.compile(r"\bissues? \d+", re.I)
LEDGERS = sorted(p for p in (ROOT / "references").glob("*.yaml") if "claims:" in p.read_text())


def reader_texts() -> dict[str, str]:
    """Every file a reader reads as text: the ledgers and transcriptions, README, params and profiles,
    the notebooks' sources (the book's pages) and the book's own pages."""
    files = [*(ROOT / "references").rglob("*"), ROOT / "README.md", ROOT / "params.yaml",
             *(ROOT / "profiles").glob("*.yaml"), *(ROOT / "book").glob("*.md"), *(ROOT / "book").glob("*.yml")]
    texts = {str(f.relative_to(ROOT)): f.read_text() for f in files if f.is_file()}
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        texts[str(nb.relative_to(ROOT))] = "\n".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"])
    return texts


def test_no_reader_facing_text_names_a_tracker_issue():
    found = {f: sorted(set(ISSUE.findall(t))) for f, t in reader_texts().items() if ISSUE.search(t)}
    assert not found, f"name the date and commit instead: {found}"


@pytest.mark.parametrize("profile", ["cpu", "smoke", "paper"])
def test_every_note_placeholder_names_a_value_of_every_profile(profile):
    params = cpu_base(ROOT)
    if profile != "cpu":
        params = overlay(params, read_yaml(ROOT / "profiles" / f"{profile}.yaml"))
    for ledger in LEDGERS:
        for c in load_claims(ledger, params):
            assert not PLACEHOLDER.search(c.get("note", "")), (c["id"], c["note"])


def test_a_note_placeholder_reads_params_and_a_wrong_one_fails_in_one_line():
    params = {"data": {"atlas2d": {"size": [48, 40]}}, "sshn": {"model": {"width": 8}, "seeds": [0, 1, 2],
                                                                "phis": [0.1, 0.25]}}
    note = "{size:data.atlas2d.size} px, width {params:sshn.model.width}, {count:sshn.seeds} seeds at {params:sshn.phis}"
    assert fill_note(note, params) == "48 x 40 px, width 8, 3 seeds at 0.1, 0.25"
    assert fill_note("{size:sshn.model.width}", params) == "8 x 8"
    with pytest.raises(ValueError, match=r"claim x: note: \{params:sshn.model.depth\} names no value of params.yaml"):
        fill_note("{params:sshn.model.depth}", params, "claim x: note")


# A number of our setting typed into a note (a size, a width, steps, epochs, seeds, training pairs): it
# must come from params.yaml through a placeholder. A note describes how our setting differs from the
# paper's, so a clause counts as ours unless it names the paper's side (what follows "instead of" does)
# or an earlier setting ("before"); sizes of kernels and layers are not a profile's.
OURS = re.compile(r"\b(our|ours|we|stand-in|profile|trained|atlas2d|multiscenes|scenes|isp|Fashion-MNIST)\b", re.I)
PAPERS = re.compile(r"\b(paper|official|OASIS|ZRR|CIFAR|ImageNet|CamVid|Cityscapes|SIDD|VOC|Pets|CUB|GPU|before)", re.I)
QUANTITY = re.compile(r"\b\d+(\.\d+)? ?(px|x ?\d+(?! (?:convolution|projection|transposed))|steps?|epochs?|seeds?|"
                      r"training pairs|²)\b|\bwidths? (x ?|×)?\d|(?:^|\s)(x|×) ?(0\.\d+|1/\d+)|\bwidth \d+")
# Numbers that look like a profile's but are not: each with where it is fixed.
NOT_A_PROFILE_VALUE = {"hunet.natural-flops-cut": "256x256: the count's input, fixed in sshn/evaluate.py for every profile"}


def typed_profile_numbers(note: str) -> list[str]:
    """The clauses of `note` that type a number of our setting instead of quoting params.yaml."""
    if not OURS.search(note):
        return []
    note = PLACEHOLDER.sub("", note)
    clauses = re.split(r"(?<=[.;:])\s|\binstead of\b|\bagainst\b", note)
    return [x.strip() for x in clauses if QUANTITY.search(x) and not PAPERS.search(x)]


def test_notes_quote_the_profile_from_params():
    typed = [f"{c['id']}: {x!r}" for ledger in LEDGERS for c in yaml.safe_load(ledger.read_text())["claims"]
             if c["id"] not in NOT_A_PROFILE_VALUE for x in typed_profile_numbers(str(c.get("note", "")))]
    assert not typed, "quote these from params.yaml ({params:...}, {size:...}, {count:...}):\n" + "\n".join(typed)


def test_the_note_check_finds_what_went_stale():
    """The check can fail: sshn.beats-fixed's note before 2026-12-07, which still described 64 px,
    width 16 and plateau stopping when the cpu profile ran 48 px and width 8, is caught twice."""
    stale = ("atlas2d (one real brain, synthetic subjects) at 64x64 instead of OASIS at 160x192; width 16; every model "
             "trains until its validation Dice plateaus or the step cap stops it (see the convergence section).")
    assert typed_profile_numbers(stale) == ["atlas2d (one real brain, synthetic subjects) at 64x64", "width 16;"]
    assert typed_profile_numbers("at {size:data.atlas2d.size} px instead of OASIS at 160 x 192") == []
