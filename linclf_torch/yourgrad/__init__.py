"""Checking a student's own gradient function against the library's (`linclf gradcheck`,
`linclf_torch.check_gradients`): one engine, and a module per family of functions.

    engine.py      check_gradients: recognising how to call your function, the cases, your forward first
    student.py     your function (and forward) called one way on one case, its gradients taken back
    families/      one module per family: linear, two_layer, batchnorm, k_layer_bn, conv, rnn (cases, forms,
                   mistakes); names.py their names and options, without torch
    forms.py       the forms a function may take, by the roles of its arguments
    structures.py  the structures of `net` students write, and of the gradients they return
    problem.py     what a family's case gives the engine
    calls.py       calling your function: arrays, fresh copies, its errors in one line
    judge.py       the reports' measure, a Result per gradient
    owncost.py     --cost: your gradients against centred differences of your own cost
    report.py      the table (a terminal's or a notebook's) and what was found
    mistakes.py    the classifiers' known mistakes; bnmistakes.py batch norm's (and your ε), convmistakes.py
                   the ConvNet's, rnnmistakes.py the RNN's
    usercode.py    your file, notebook (notebook.py) or class, loaded as the command asks (imports no torch)
May import nn and the root modules.
"""
