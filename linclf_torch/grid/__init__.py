"""Many configurations at once: `linclf grid`, stacked models trained side by side.

    search.py   run_grid, its ranking, tables and figures (write_grid)
    group.py    which configurations train together, and training one such group at once
    stacked.py  G models of the same shape as one batched model, and their SGD
May import runs, training, data, figures, nn and the root modules.
"""
