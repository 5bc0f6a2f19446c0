"""One training run and its folder: results, checkpoints, resuming.

    run.py         run(cfg, data, out): train, keep the folder current, draw the figures
    folder.py      RunFolder: created, locked, written epoch by epoch
    checkpoint.py  model.pt: save, read safely, load a model back
    resume.py      continue a run from its checkpoint, with its own settings
    results.py     results.json and the environment it records
May import training, data, figures, nn and the root modules.
"""
