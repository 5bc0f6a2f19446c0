"""The checker's families and their options by name, without torch: what `linclf gradcheck`'s
flags offer before torch is imported (a test compares them with families/)."""
MODELS = ("linear", "two-layer", "batchnorm", "k-layer-bn", "conv", "rnn")
OPTIONS = {"conv_bias": "conv", "label_smoothing": "conv", "loss_reduction": "rnn"}  # option -> its family
