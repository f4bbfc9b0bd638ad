"""The study's core: what every paper's package builds on. It never imports a paper.

`data` (dataset interface and loader registry), `models` (model registry, save and load),
`train` (the one training loop; a task owns sampling, loss and score) and `checkpoint` (run
key, resume, timing file), `claims` (the claims ledger), `metrics` and `losses`,
`flops` (MAC counting), `params` (params.yaml schema and profiles), `device` (where runs
train), `notebook` (the pipeline's notebook runner) and `cli` (the python-module stages'
entry), `io` (atomic, deterministic files), `project` (paths, machine facts).
"""
