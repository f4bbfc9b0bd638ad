"""The FLOP chapter's measurement helpers (lib/hyperscale/cost/): known answers on toy networks."""
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from hyperscale.core.memory import peak_bytes
from hyperscale.cost.measure import KINDS, inference, time_tables, train_step
from hyperscale.cost.measures import pairs, rank_correlation, time_over_flops
from hyperscale.cost.networks import Network, flops


def _linear(c_in=1000, c_out=1000):
    torch.manual_seed(0)
    return nn.Linear(c_in, c_out, bias=False)


def test_peak_memory_of_an_inference_is_weights_input_and_output():
    x = torch.randn(64, 1000)
    assert peak_bytes(lambda: (_linear(), x), train=False) == 4 * (1000 * 1000 + 64 * 1000 + 64 * 1000)


def test_peak_memory_of_a_training_step_holds_gradients_and_adams_moments():
    x = torch.randn(64, 1000)
    weights = 4 * 1000 * 1000
    peak = peak_bytes(lambda: (_linear(), x), train=True)
    assert 4 * weights + 4 * 64 * 1000 <= peak <= 8 * weights  # weights, gradient, two moments, input


def test_flops_count_two_per_multiply_accumulate():
    net = Network("toy", "linear", lambda: _linear(100, 10), (1, 1, 100), 4, lambda: 0, "MACs")
    assert flops(net) == 2 * 100 * 10


def test_a_training_step_moves_the_weights_and_an_inference_does_not():
    model, x = _linear(8, 4), torch.randn(2, 8)
    before = model.weight.detach().clone()
    with torch.inference_mode():
        inference(model, x)()
    assert torch.equal(model.weight, before)
    with torch.inference_mode():  # as interleaved_rounds calls it
        train_step(model, x)()
    assert not torch.equal(model.weight, before)


def test_time_tables_give_every_network_each_kind_with_an_interval():
    nets = [Network("toy", f"linear {c}", lambda c=c: _linear(c, c), (1, 1, c), 4, lambda: 0, "MACs")
            for c in (8, 64)]
    summary, rounds = time_tables(nets, repeats=3, warmup=1, device=torch.device("cpu"))
    assert list(summary.kind) == list(KINDS) * 2 and set(summary.network) == {"linear 8", "linear 64"}
    assert (summary.ms_low <= summary.ms).all() and (summary.ms <= summary.ms_high).all()
    assert len(rounds) == 2 * len(KINDS) * 3 and summary.threads.iloc[0] == torch.get_num_threads()


def test_rank_correlation_per_paper():
    counts = pd.DataFrame({"paper": ["a"] * 3 + ["b"] * 3, "network": list("xyzuvw"), "flops": [1, 2, 3, 1, 2, 3]})
    latency = pd.DataFrame({"paper": ["a"] * 3 + ["b"] * 3, "network": list("xyzuvw"), "kind": "batch 1",
                            "ms": [1.0, 5.0, 9.0, 3.0, 2.0, 1.0]})
    assert rank_correlation(counts, latency, "batch 1") == pytest.approx({"a": 1.0, "b": -1.0})


def test_time_over_flops_divides_the_latency_ratio_by_the_flop_ratio():
    names = ["fixed φ=0.4", "fixed φ=0.5", "sweep hc-nhid16", "sweep hc-nhid1024", "mobilenetv2 human"]
    counts = pd.DataFrame({"network": names, "flops": [100, 200, 10, 40, 5]})
    assert pairs(counts) == {"SSHN: U-Net at φ = 0.4 / 0.5 (sshn.flops-cut-0.4)": ("fixed φ=0.4", "fixed φ=0.5"),
                             "HyperConv: largest / smallest n_hid (hc.fixed-flops-sweep)":
                                 ("sweep hc-nhid1024", "sweep hc-nhid16")}  # no AutoSC: its pair is left out
    ms = {"fixed φ=0.4": 1.0, "fixed φ=0.5": 4.0, "sweep hc-nhid16": 1.0, "sweep hc-nhid1024": 2.0}
    rounds = pd.DataFrame([{"network": n, "kind": "batch 1", "round": r, "ms": v * (1 + 0.01 * r)}
                           for n, v in ms.items() for r in range(6)])
    out = time_over_flops(counts, rounds)
    assert float(out["SSHN: U-Net at φ = 0.4 / 0.5 (sshn.flops-cut-0.4)"]) == pytest.approx(0.5)  # 1/4 over 1/2
    assert float(out["HyperConv: largest / smallest n_hid (hc.fixed-flops-sweep)"]) == pytest.approx(0.5)  # 2 over 4
    assert np.isfinite([v.low for v in out.values()]).all()


def test_a_spec_rebuilds_the_network_where_the_data_are_not(tmp_path):
    """What make gpu-probe reads: the registered model, its config and phi (SSHN's U-Net here), and
    a learned model's file where its architecture was learned."""
    import hyperscale.sshn  # noqa: F401  (registers the models)
    from hyperscale.core.models import create_model, save_model
    from hyperscale.cost.networks import AtPhi, from_spec, spec

    build = lambda: AtPhi(create_model("fixed", in_channels=1, num_classes=3, width=4, phi=0.25), 0.25)  # noqa: E731
    net = Network("sshn", "fixed φ=0.25", build, (1, 24, 24), 2, lambda: 0, "MACs", sizes="paper")
    s = spec(net)
    assert (s["method"], s["phi"], s["config"]["width"], s["model_file"]) == ("fixed", 0.25, 4, None)
    again = from_spec(s, tmp_path)
    assert again.build().net.config == build().net.config
    assert (again.shape, again.batch, again.sizes) == ((1, 24, 24), 2, "paper")
    torch.manual_seed(0)
    saved = build().net
    save_model(saved, tmp_path / "m.pt")
    loaded = from_spec(spec(net, "m.pt"), tmp_path).build()
    assert loaded.phi == 0.25 and len(saved.state_dict()) > 0
    assert all(torch.equal(a, b) for a, b in zip(loaded.net.state_dict().values(), saved.state_dict().values()))


def test_the_gpu_probe_without_specs_says_what_to_run(tmp_path):
    from hyperscale.core.data import DataMissingError
    from hyperscale.cost.probe import probe

    with pytest.raises(DataMissingError, match="run `dvc repro evaluate_cost`"):
        probe("cpu", tmp_path / "cost.csv", 1, 0, specs=tmp_path / "specs.json")
    assert not (tmp_path / "cost.csv").exists()


def _convnet():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 4, 3, stride=2))


@pytest.mark.parametrize("train", [False, True])
def test_the_peak_only_tracker_agrees_with_memtracker(train):
    from torch.distributed._tools.mem_tracker import MemTracker

    make = lambda: (_convnet(), torch.rand(4, 3, 16, 16))  # noqa: E731
    assert peak_bytes(make, train) == peak_bytes(make, train, tracker=MemTracker) > 0


@pytest.mark.parametrize("train", [False, True])
def test_fake_tensors_give_the_bytes_of_the_real_run(train):
    """The papers'-size table tracks shapes alone: the same peak as computing it."""
    make = lambda: (_convnet(), torch.rand(4, 3, 16, 16))  # noqa: E731
    assert peak_bytes(make, train, shapes_only=True) == peak_bytes(make, train)
    x = torch.randn(64, 1000)
    assert peak_bytes(lambda: (_linear(), x), False, shapes_only=True) == 4 * (1000 * 1000 + 2 * 64 * 1000)


class _ReadsItsWeight(nn.Module):
    """A forward that reads a weight as a number, as Shape Adaptor's resizing does."""

    def __init__(self):
        super().__init__()
        self.s = nn.Parameter(torch.tensor(0.5))
        self.conv = nn.Conv2d(1, 2, 3, padding=1)

    def forward(self, x):
        size = int(x.shape[-1] * float(self.s.detach()))
        return self.conv(nn.functional.interpolate(x, size=(size, size), mode="bilinear"))


def test_a_forward_that_reads_its_weights_runs_for_real_and_leaves_its_training_memory_out():
    from hyperscale.cost.measure import count_row

    net = Network("toy", "reads", _ReadsItsWeight, (1, 8, 8), 2, lambda: 0, "MACs", sizes="paper")
    row, real = count_row(net, shapes_only=True), count_row(net)
    assert row["mem_train_bytes"] is None and real["mem_train_bytes"] > 0
    assert {k: v for k, v in row.items() if k != "mem_train_bytes"} == {k: v for k, v in real.items()
                                                                      if k != "mem_train_bytes"}
    assert row["flops"] == 2 * (2 * 9 * 16 + 2 * 16 + 4 * 16) and row["input"] == "1×8×8"  # conv + bias + resize


def test_the_papers_sizes_build_each_paper_profile_network_on_its_papers_input(tmp_path):
    import shutil

    from hyperscale.core.project import project_root
    from hyperscale.cost.networks import networks

    root = project_root()
    for f in ("params.yaml", "profiles", "references"):
        (shutil.copytree if (root / f).is_dir() else shutil.copy)(root / f, tmp_path / f)
    nets = {n.name: n for n in networks(tmp_path, papers=("sshn", "hyperseg"), sizes="paper")}
    assert all(n.sizes == "paper" for n in nets.values())
    u = nets["fixed φ=0.5"]
    assert (u.shape, u.build().net.config["width"]) == ((1, 160, 192), 32)  # OASIS slices; the paper's 32 features
    assert nets["ablation L-camvid-b1-dpwconv"].shape == (3, 768, 1024) and nets["tradeoff unet-w8"].shape == (3, 576, 768)
    assert nets["ablation S-camvid-resnet18-static"].batch == 16
    with pytest.raises(ValueError, match="choose one of"):
        networks(tmp_path, sizes="huge")


def test_a_paper_size_training_step_is_probed_only_where_the_card_holds_it():
    from hyperscale.cost.probe import fits

    net = Network("toy", "big", _linear, (1, 1, 4), 2, lambda: 0, "MACs", sizes="paper")
    assert not fits(net, {"big": 900}, capacity=1000)  # over 80 % of the card
    assert fits(net, {"big": 800}, capacity=1000) and fits(net, {"big": 900}, capacity=None)  # None: the CPU
    assert fits(net, {"big": float("nan")}, capacity=1000) and fits(net, {}, capacity=1000)  # not tracked
