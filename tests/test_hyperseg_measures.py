"""HyperSeg's claims: the measures read from the transcribed tables and from our counts."""
from pathlib import Path

import pandas as pd
import pytest
import yaml

from hyperscale.core.claims import INTERVAL_CAUSE, every, load_claims
from hyperscale.hyperseg.evaluate import our_rows
from hyperscale.hyperseg.measures import measures, paper_measures

ROOT = Path(__file__).resolve().parents[1]
REF = yaml.safe_load((ROOT / "references" / "hyperseg.yaml").read_text())["paper"]


def test_paper_measures_read_the_tables_as_printed():
    m = paper_measures(REF)
    assert m["paper_voc_best"]["mIoU margin"] == pytest.approx(80.6 - 80.0)
    assert m["paper_voc_best"]["parameters below the next"] == pytest.approx(43.48 - 39.6)
    assert m["paper_cityscapes_best"] == pytest.approx({"val mIoU margin": 78.2 - 76.2, "test mIoU margin": 78.1 - 75.8})
    assert m["paper_camvid_margin"] == pytest.approx({"HyperSeg-S": 78.4 - 76.0, "HyperSeg-L": 79.1 - 76.0})
    assert m["paper_ablation_text_minus_table"] == {"S": 0.0, "L": 0.0}  # 78.4 - 77.3 = 1.1, 79.1 - 78.4 = 0.7
    assert m["paper_b1_margin"]["HyperSeg-L over PSPNet50"] == pytest.approx(79.1 - 77.9)
    # the claims the second audit found missing
    assert m["paper_backbone_margin"]["HyperSeg-S PSPNet50"] == pytest.approx(77.1 - 76.0)  # over TD2-PSP50, not ICNet
    assert m["paper_backbone_margin"]["HyperSeg-S ResNet18"] == pytest.approx(77.0 - 72.6)  # over SwiftNetRN-18
    assert m["paper_outside_data_margin"] == {"HyperSeg-L": pytest.approx(79.1 - 78.5)}
    assert m["paper_sml_param_order"]["M over S (Table 3)"] == pytest.approx(-0.1)  # S 10.2 M, M 10.1 M
    assert m["paper_wo_params_below_full"] == pytest.approx({"S": 0.0, "L": -0.1})
    # Fig. 1: no previous method of Table 3 is as fast and as accurate (SwiftNet 39.9 FPS but 75.5 < 75.8 for M)
    assert m["paper_fps_tradeoff"] == {"HyperSeg-M": 0.0, "HyperSeg-S": 0.0}
    assert "SwiftNet" not in m["paper_fps_tradeoff"]["HyperSeg-M"].text
    # Fig. 4: M (7.5 GFLOPs) over DFANet A (3.4, 71.3); S (17.0) the same, ERFNet (21.7) costs more
    assert m["paper_gflops_tradeoff"] == pytest.approx({"HyperSeg-M": 75.8 - 71.3, "HyperSeg-S": 78.1 - 71.3})
    assert m["paper_voc_runtime_columns"] == 0  # Table 2 reports no run time


def test_a_dominated_row_counts_against_the_fps_tradeoff():
    ref = yaml.safe_load(yaml.safe_dump(REF))
    ref["table3"]["rows"]["Faster"] = {"values": [None, 80.0, 50.0, 5.0, None]}
    m = paper_measures(ref)
    assert m["paper_fps_tradeoff"] == {"HyperSeg-M": 1.0, "HyperSeg-S": 1.0}
    assert m["paper_gflops_tradeoff"]["HyperSeg-M"] == pytest.approx(75.8 - 80.0)


def test_every_row_we_build_is_unique_and_every_claim_has_its_measure():
    rows = our_rows(REF)
    assert len(rows) == 9 and rows["HyperSeg-M"]["size"] == (512, 1024)
    assert rows["HyperSeg-S w/o DPWConv"]["overrides"] == {"dynamic": False}
    counts = pd.DataFrame([{"row": k, "params": 10e6, "flops": 20e9, "dynamic_flops": 1e9, "interp_flops": 0.0,
                            "thop_macs": 10e9} for k in rows])
    # per-round ms: S's ratio is 1.2 in every round (a point interval), L's 1.2 to 1.8 (straddles 1.5)
    nets = ["HyperSeg-S", "HyperSeg-S w/o DPWConv", "HyperSeg-L", "HyperSeg-L w/o DPWConv"]
    ms = {"HyperSeg-S": [120.0] * 9, "HyperSeg-S w/o DPWConv": [100.0] * 9,
          "HyperSeg-L": [300.0 + 10 * r for r in range(9)], "HyperSeg-L w/o DPWConv": [200.0 - 10 * r for r in range(9)]}
    fps = pd.DataFrame([{"network": k, "round": r, "ms_batch1_folded": ms[k][r]} for k in nets for r in range(9)])
    keys = {"template": "S-camvid", "backbone": "b1", "dynamic": [True, False]}
    runs = {"ablation": pd.DataFrame({**keys, "seed": 0, "test_miou": [50.0, 49.0], "stopped_by": "plateau",
                                      "converged": True}),
            "tradeoff": pd.DataFrame({"width": [3, 3, 4], "seed": [0, 1, 0], "test_miou": [40.0, 41.0, 45.0],
                                      "stopped_by": ["plateau", "max_steps", "plateau"], "converged": [True, False, True]})}
    gwi = pd.DataFrame({"network": "HyperSeg-M", "scale": [0.5, 1.0, 2.0], "mapper_params": [200, 100, 52],
                        "mapper_flops": [180, 100, 50]})
    artefacts = pd.DataFrame({**keys, "border_ratio": [1.5, 1.2]})
    memory = pd.DataFrame({"network": ["HyperSeg-S"], "peak_bytes": [100], "peak_bytes_all_kept": [150],
                           "weight_map_bytes": [60]})
    m = measures(counts, REF, fps, runs, gwi, artefacts, memory, {"template": "S-camvid", "backbone": "b1"}, {"*": 1.1})
    assert m["weight_memory_saving"] == pytest.approx({"HyperSeg-S": 1.5})
    assert m["gwi_mapper_deviation"] == pytest.approx({"HyperSeg-M": 0.1})  # 180 x 0.5 / 100
    assert m["patch_border_excess"] == pytest.approx({"S": 1.25})
    assert m["wo_fps_ratio"] == pytest.approx({"S": 1.2, "L": 340 / 160})
    s, l = m["wo_fps_ratio"]["S"], m["wo_fps_ratio"]["L"]
    assert (s.low, s.high) == pytest.approx((1.2, 1.2)) and (l.low, l.high) == pytest.approx((310 / 190, 370 / 130))
    # a ratio whose interval straddles the bound decides nothing; one clear of it does
    assert every({"S": s}, at_most=1.31)[0] == "reproduced"
    assert every({"L": l}, at_most=2.0) == ("inconclusive", f"L: {l.text}", INTERVAL_CAUSE)
    # paired by seed, on the seeds both sides have: seed 0 of U-Net width 3 only
    assert {k: (a.a, a.b) for k, a in m["tradeoff_vs_unet"].items()} == {
        "w/o DPWConv (static decoder)": ((50.0,), (49.0,)), "U-Net width 3": ((50.0,), (40.0,)),
        "U-Net width 4": ((50.0,), (45.0,))}
    assert m["converged_tradeoff"] == pytest.approx(2 / 3)
    assert m["paper_wo_fps_ratio"] == pytest.approx({"S": 45.5 / 38.0, "L": 21.6 / 16.6})
    assert m["params_error_realtime"]["HyperSeg-M"] == pytest.approx(1.0)  # 10.0 vs 10.1: one unit of 0.1
    assert m["gflops_over_thop_gmacs"] == pytest.approx(8.21 / 10)  # median of 8.21, 7.5, 17.0 over 10
    assert m["thop_missed_share"] == pytest.approx({"HyperSeg-L": 0.05, "HyperSeg-M": 0.05, "HyperSeg-S": 0.05})
    for c in load_claims(ROOT / "references" / "hyperseg.yaml"):
        assert c["test"].get("measure") in (None, *m), c["id"]


def test_weight_memory_keeps_every_generated_weight_map():
    from functools import partial

    from hyperscale.hyperseg.benchmark import weight_memory
    from hyperscale.hyperseg.measures import weight_memory_saving
    from hyperscale.hyperseg.model import hyperseg
    m = weight_memory(partial(hyperseg, "S-camvid", 11, feature_scale=(0.25,) * 5), (64, 96))
    assert 0 < m["weight_map_bytes"] and m["peak_bytes"] < m["peak_bytes_all_kept"] <= m["peak_bytes"] + m["weight_map_bytes"]
    saving = weight_memory_saving(pd.DataFrame([{"network": "HyperSeg-S", **m}]))
    assert saving["HyperSeg-S"] == pytest.approx(m["peak_bytes_all_kept"] / m["peak_bytes"])
