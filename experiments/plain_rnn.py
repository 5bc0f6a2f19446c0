"""DD2424 Assignment 4 as a plain loop over linclf_torch.nn: what `linclf rnn` does, to read.

Read a text, build the character RNN (U, W, V, b, c with the course's init), and train it with
Adam on chunks of τ + 1 characters: h carried from chunk to chunk and reset at every pass over
the text, the hand-written BPTT gradients (rnn_gradients), one Adam step, the smooth loss; then
sample from the model. No autograd anywhere.

    python experiments/plain_rnn.py --text PATH [--updates 10000]

The smooth losses it prints are `linclf rnn`'s with the same seed and settings, to the last digit
(tests/test_plain_loop.py).
"""
import argparse
import sys

import torch

from linclf_torch import LinclfError
from linclf_torch.data.text import decode, load_text
from linclf_torch.nn import Adam
from linclf_torch.nn.rnn import init_rnn, rnn_gradients
from linclf_torch.nn.sampling import sample


def main(argv=None):
    p = argparse.ArgumentParser(prog="experiments/plain_rnn.py", description=__doc__.split("\n")[0])
    p.add_argument("--text", required=True, help="a UTF-8 text file")
    p.add_argument("--updates", type=int, default=10000)
    args = p.parse_args(argv)
    try:
        text = load_text(args.text)
    except LinclfError as e:
        sys.exit(f"error: {e}")
    data = text.encode()                                          # (N,) character indices
    K, m, tau = len(text.chars), 100, 25
    generator = torch.Generator().manual_seed(0)
    params = init_rnn(K, m, generator)                            # U (m, K), W (m, m), V (K, m), b (m,), c (K,)
    optimizer = Adam(params, lr=0.001)
    h, e, smooth = torch.zeros(m), 0, None
    for update in range(1, args.updates + 1):
        if e + tau + 1 > len(data):                               # a new pass over the text: h from 0
            h, e = torch.zeros(m), 0
        x, y = data[e:e + tau], data[e + 1:e + tau + 1]           # y_t = x_{t+1}
        loss, grads, h = rnn_gradients(x, y, h, params)           # BPTT by hand; h_τ carried on
        optimizer.step(grads)                                     # Adam, in place
        smooth = loss if smooth is None else 0.999 * smooth + 0.001 * loss
        e += tau
        if update % 1000 == 0 or update == args.updates:
            print(f"update {update:6d}  smooth loss {smooth.item():.4f}")
    print(decode(sample(params, torch.zeros(m), data[0].item(), 200, generator), text.chars))


if __name__ == "__main__":
    main()
