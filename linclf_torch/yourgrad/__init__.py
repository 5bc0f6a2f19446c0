"""Checking a student's own gradient function against the library's (`linclf gradcheck`).

    check.py     the cases, the contract of your function, the comparison
    report.py    the table and its verdict
    mistakes.py  known mistakes, recognised by name
    usercode.py  your file, imported as the command asks (imports no torch)
May import nn and the root modules.
"""
