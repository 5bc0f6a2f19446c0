"""Training a model on prepared data: the configuration and the loop.

    config.py   TrainConfig, validated in one place (imports no torch)
    loop.py     train(model, data, cfg): mini-batch gradient descent, per-epoch metrics
    batches.py  an epoch's random draws and its mini-batches
    state.py    what carries from epoch to epoch: optimizer, schedule, generator, history
    graphs.py   an epoch replayed as a CUDA graph
May import data, nn and the root modules.
"""
