"""The study's core: what every paper's package builds on. It never imports a paper.

`data` (dataset interface and loader registry), `models` (model registry, save and load),
`train` (the one training loop; a task owns sampling, loss and score) and `checkpoint` (run
key, resume, timing file), `claims` (the claims ledger), `metrics` and `losses`,
`flops` (MAC counting), `params` (params.yaml schema and profiles), `device` (where runs
train), `jobs` and `pool` (an experiment's runs side by side in a stage, or as cluster jobs),
`bench` (training throughput), `notebook` (the pipeline's notebook runner), `processes` (they
die with their parents), `cli` (the python-module stages' entry) and `errors` (input errors,
shown in one line), `io` (atomic, deterministic files), `share` (the DVC remote), `project`
(paths, machine facts).
"""
