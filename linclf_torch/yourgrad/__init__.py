"""Checking a student's own gradient function against the library's (`linclf gradcheck`).

    check.py     calling your function on every case, the comparison
    cases.py     the cases: data and a library model holding the case's parameters
    forms.py     the forms your function may take (the course's skeletons'), its arguments and results
    report.py    the table and its verdict
    mistakes.py  known mistakes, recognised by name
    usercode.py  your file, imported as the command asks (imports no torch)
May import nn and the root modules.
"""
