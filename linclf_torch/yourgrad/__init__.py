"""Checking a student's own gradient function against the library's (`linclf gradcheck`).

    check.py     calling your function on every case, the comparison
    cases.py     the cases: data and a library model holding the case's parameters
    forms.py     the forms your function may take (the course's skeletons'), its arguments and results
    report.py    the table and its verdict
    mistakes.py  known mistakes, recognised by name
    bncheck.py   the same for batch normalisation (Assignment 3): the layer, or the network with it
    bncases.py   its cases, and your function's arguments and results in either layout
    bnmistakes.py  batch norm's backward with each known mistake, and finding your ε
    usercode.py  your file, imported as the command asks (imports no torch)
May import nn and the root modules.
"""
