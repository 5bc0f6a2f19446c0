"""Figures and tables of results, returned as objects for the caller to save.

    plots.py        matplotlib Figures: curves, accuracies, class templates, grids, calibration
    loss_curve.py   the character RNN's smooth loss against the update step
    calibration.py  reliability and calibration numbers of predicted probabilities
    tables.py       Markdown tables and percentages
May import the root modules only; the runs, the grid and the front ends draw with it.
"""
