"""`linclf rnn` and `linclf sample`: the run folder, --resume bit for bit (after a stop too),
divergence (exit 3, the last finite model.pt kept), every bad input of issue 33 (one line, exit 2),
and the tiny Shakespeare download (no network: a monkeypatched fetch)."""
import hashlib
import json
import math

import pytest
import torch

import linclf_torch.data.text as text_module
import linclf_torch.training.rnn_loop as rnn_loop
from linclf_torch.cli.parse import main

WORDS = "the quick brown fox jumps over a lazy dog while seven wizards quietly hex"
# 7 characters a chunk, 16 hidden units; records every 20 updates, samples every 40
SMALL = ["--hidden", "16", "--seq-length", "7", "--record-every", "20", "--sample-every", "40", "--sample-length", "15",
         "--threads", "1", "--no-progress", "--device", "cpu"]


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    """A 1,000-character text: 142 updates a pass of τ = 7, so 300 updates cross two passes."""
    g = torch.Generator().manual_seed(0)
    words = WORDS.split()
    body = " ".join(words[i] for i in torch.randint(len(words), (200,), generator=g).tolist())[:999] + "\n"
    path = tmp_path_factory.mktemp("text") / "words.txt"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(text, tmp_path_factory):
    """A run of 100 updates, for the tests of `linclf sample`."""
    out = tmp_path_factory.mktemp("trained") / "run"
    assert rnn("--text", text, "--updates", 100, "--out", out) == 0
    return out


def rnn(*args):
    return main(["rnn", *map(str, args), *SMALL])


def results(folder):
    return json.loads((folder / "results.json").read_text())


def saved(folder):
    return torch.load(folder / "model.pt", weights_only=True)


def assert_same_run(a, b):
    """Two run folders hold the same run: parameters, moments, h, generator, history and samples bit for bit."""
    ca, cb = saved(a), saved(b)
    for k in ca["params"]:
        assert torch.equal(ca["params"][k], cb["params"][k]), k
        assert torch.equal(ca["train_state"]["optimizer"]["m"][k], cb["train_state"]["optimizer"]["m"][k]), k
    assert torch.equal(ca["train_state"]["h"], cb["train_state"]["h"])
    assert torch.equal(ca["train_state"]["generator"], cb["train_state"]["generator"])
    ra, rb = results(a), results(b)
    for key in ("history", "samples", "best", "best_sample", "updates_completed", "epoch"):
        assert ra[key] == rb[key], key


def test_run_folder(tmp_path, text, capsys):
    out = tmp_path / "run"
    assert rnn("--text", text, "--updates", 300, "--out", out) == 0
    assert sorted(p.name for p in out.iterdir()) == ["loss.png", "model.pt", "results.json", "samples.txt"]
    r = results(out)
    assert r["status"] == "completed" and r["updates_completed"] == 300 and r["epoch"] == 3  # 142 updates a pass
    assert [h["update"] for h in r["history"]] == [1, *range(20, 301, 20)]
    K = len(set(text.read_text()))
    assert r["text"]["K"] == K and abs(r["history"][0]["smooth_loss"] - math.log(K)) < 0.2  # ≈ ln K at init
    last = [h["loss"] for h in r["history"][-5:]]  # it learns (the smooth loss, 0.999-averaged, lags behind)
    assert r["history"][-1]["smooth_loss"] < r["history"][0]["smooth_loss"] and sum(last) / 5 < math.log(K) - 0.5
    assert [s["update"] for s in r["samples"]] == [40, 80, 120, 160, 200, 240, 280]
    assert all(len(s["text"]) == 15 and set(s["text"]) <= set(text.read_text()) for s in r["samples"])
    assert len(r["best_sample"]) == 1000
    assert "--- update 40 ---" in (out / "samples.txt").read_text()
    assert "smooth loss" in capsys.readouterr().out


def test_resume_equals_the_uninterrupted_run(tmp_path, text, monkeypatch, capsys):
    """300 updates at once; 120, then --resume to 300; and a run stopped (Ctrl-C) at update 250, resumed
    from its record at 240: the same numbers bit for bit (same computation, same process)."""
    assert rnn("--text", text, "--updates", 300, "--out", tmp_path / "once") == 0
    assert rnn("--text", text, "--updates", 120, "--out", tmp_path / "twice") == 0
    assert main(["rnn", "--resume", str(tmp_path / "twice"), "--updates", "300", "--no-progress"]) == 0
    assert_same_run(tmp_path / "once", tmp_path / "twice")

    calls, gradients = [0], rnn_loop.rnn_gradients

    def stop_at_250(*a, **kw):
        calls[0] += 1
        if calls[0] == 250:
            raise KeyboardInterrupt
        return gradients(*a, **kw)
    monkeypatch.setattr(rnn_loop, "rnn_gradients", stop_at_250)
    assert rnn("--text", text, "--updates", 300, "--out", tmp_path / "stopped") == 130
    assert "keeps update 240" in capsys.readouterr().err
    r = results(tmp_path / "stopped")
    assert r["status"] == "interrupted" and r["updates_completed"] == 240
    monkeypatch.setattr(rnn_loop, "rnn_gradients", gradients)
    assert main(["rnn", "--resume", str(tmp_path / "stopped"), "--no-progress"]) == 0  # its own 300 updates
    assert_same_run(tmp_path / "once", tmp_path / "stopped")


def test_divergence_keeps_the_last_finite_model(tmp_path, text, monkeypatch, capsys):
    """A NaN loss from update 50 on: exit 3, model.pt and the history stop at the record of update 40."""
    gradients, calls = rnn_loop.rnn_gradients, [0]

    def nan_from_50(x, y, h0, params, reduction):
        loss, grads, h = gradients(x, y, h0, params, reduction)
        calls[0] += 1
        if calls[0] >= 50:
            loss, grads = loss * math.nan, {k: g * math.nan for k, g in grads.items()}
        return loss, grads, h
    monkeypatch.setattr(rnn_loop, "rnn_gradients", nan_from_50)
    out = tmp_path / "nan"
    assert rnn("--text", text, "--updates", 300, "--out", out) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "diverged" in err and "update 60" in err and "keeps update 40" in err
    r = results(out)
    assert r["status"] == "diverged" and r["diverged_update"] == 60 and r["updates_completed"] == 40
    assert [h["update"] for h in r["history"]] == [1, 20, 40]
    checkpoint = saved(out)
    assert checkpoint["train_state"]["update"] == 40
    assert all(torch.isfinite(p).all() for p in checkpoint["params"].values())
    assert "NaN" not in (out / "results.json").read_text() and "Infinity" not in (out / "results.json").read_text()
    monkeypatch.setattr(rnn_loop, "rnn_gradients", gradients)
    assert main(["rnn", "--resume", str(out)]) == 2
    assert "diverged at update 60; resuming would diverge again" in capsys.readouterr().err


def test_huge_eta_diverges(tmp_path, text, capsys):
    """AdaGrad's first step moves every entry by η: with η = 1e38 in float32 the scores overflow."""
    out = tmp_path / "huge"
    assert rnn("--text", text, "--updates", 100, "--optimizer", "adagrad", "--eta", "1e38", "--out", out) == 3
    assert "diverged" in capsys.readouterr().err
    assert results(out)["status"] == "diverged"
    assert "NaN" not in (out / "results.json").read_text()


def test_sample(trained, text, capsys):
    out = trained
    assert main(["sample", str(out), "--length", "40", "--start", "the", "--temperature", "0.8", "--top-p", "0.9"]) == 0
    first = capsys.readouterr().out
    assert first.startswith("the") and len(first) == 3 + 40 + 1  # and print's newline
    assert set(first[:-1]) <= set(text.read_text())
    assert main(["sample", str(out), "--length", "40", "--start", "the", "--temperature", "0.8", "--top-p", "0.9"]) == 0
    assert capsys.readouterr().out == first  # --seed 0 both times


def bad_file(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make,words", [
    (lambda p: bad_file(p, "empty.txt", b""), "is empty"),
    (lambda p: bad_file(p, "data.bin", b"\x00\x01\x02binary\x00" * 20), "NUL"),
    (lambda p: bad_file(p, "latin1.txt", "café crème".encode("latin-1") * 10), "not UTF-8"),
    (lambda p: bad_file(p, "short.txt", b"tiny"), "fewer than --seq-length + 1"),
    (lambda p: p / "missing.txt", "no such file"),
])
def test_bad_texts(tmp_path, capsys, make, words):
    out = tmp_path / "out"
    assert rnn("--text", make(tmp_path), "--updates", 10, "--out", out) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and "Traceback" not in err
    assert not out.exists()  # nothing written, not even the folder


@pytest.mark.parametrize("args,words", [
    (["--start", "Z"], "not in the model's character set"),
    (["--temperature", "0"], "--temperature must be > 0"),
    (["--temperature", "-1"], "--temperature must be > 0"),
    (["--top-p", "0"], "--top-p must be in (0, 1]"),
    (["--top-p", "1.5"], "--top-p must be in (0, 1]"),
    (["--length", "-3"], "--length must be ≥ 0"),
])
def test_bad_sampling(trained, capsys, args, words):
    assert main(["sample", str(trained), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err


@pytest.mark.parametrize("argv,words", [
    (["rnn", "--updates", "10"], "needs --text"),
    (["rnn", "--text", "x.txt", "--updates", "10", "--epochs", "1"], "give one of them"),
    (["rnn", "--text", "x.txt", "--seq-length", "0"], "--seq-length must be an integer ≥ 1"),
    (["rnn", "--text", "x.txt", "--eta", "nan"], "--eta must be > 0"),
    (["rnn", "--text", "x.txt", "--record-every", "30"], "--sample-every must be a multiple of --record-every"),
    (["rnn", "--text", "x.txt", "--optimizer", "sgd"], "invalid choice"),
    (["sample", "no-such-run"], "does not exist"),
])
def test_bad_commands(tmp_path, capsys, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err


def test_resume_refusals(tmp_path, text, capsys):
    out = tmp_path / "run"
    assert rnn("--text", text, "--updates", 40, "--out", out) == 0
    capsys.readouterr()
    for argv, words in ((["--hidden", "8"], "--hidden 8 conflicts with the run's 16"),
                        (["--updates", "40"], "already done 40 updates"),
                        (["--out", str(tmp_path / "x")], "drop --out")):
        assert main(["rnn", "--resume", str(out), *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err, err
    assert main(["rnn", "--resume", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder; pass the --out folder of an earlier `linclf rnn`" in capsys.readouterr().err
    other = bad_file(tmp_path, "other.txt", text.read_bytes().replace(b"fox", b"cat"))
    assert main(["rnn", "--resume", str(out), "--updates", "60", "--text", str(other)]) == 2
    assert "trained on another text" in capsys.readouterr().err


SHAKESPEARE = "First Citizen:\nBefore we proceed any further, hear me speak.\n" * 3


@pytest.fixture
def offline_shakespeare(monkeypatch):
    """MD5 set to the stand-in text's, and fetch replaced: the list of calls it got, no network."""
    monkeypatch.setattr(text_module, "MD5", hashlib.md5(SHAKESPEARE.encode()).hexdigest())
    calls = []

    def fetch(url, folder, filename, md5):
        calls.append(url)
        (folder / filename).write_text(fetch.content)
    fetch.content = SHAKESPEARE
    monkeypatch.setattr(text_module, "fetch", fetch)
    return fetch, calls


def test_tiny_shakespeare_download(tmp_path, offline_shakespeare):
    fetch, calls = offline_shakespeare
    text = text_module.load_text("tinyshakespeare", tmp_path / "data")
    assert calls == [text_module.URL] and text.text == SHAKESPEARE
    assert (tmp_path / "data" / "tinyshakespeare" / "input.txt").read_text() == SHAKESPEARE
    assert text_module.load_text("tinyshakespeare", tmp_path / "data").text == SHAKESPEARE
    assert len(calls) == 1  # the second load found it, MD5 checked
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["tinyshakespeare"]  # no temporary folder left


def test_tiny_shakespeare_refusals(tmp_path, offline_shakespeare):
    fetch, calls = offline_shakespeare
    fetch.content = SHAKESPEARE + "changed"  # a wrong file from the network: refused, nothing kept
    with pytest.raises(text_module.LinclfError, match="MD5"):
        text_module.load_text("tinyshakespeare", tmp_path / "data")
    assert not (tmp_path / "data").exists()
    folder = tmp_path / "hand" / "tinyshakespeare"
    folder.mkdir(parents=True)
    (folder / "input.txt").write_text("not Shakespeare")  # put there by hand, wrong: refused, not replaced
    with pytest.raises(text_module.LinclfError, match="delete it"):
        text_module.load_text("tinyshakespeare", tmp_path / "hand")
    assert (folder / "input.txt").read_text() == "not Shakespeare" and len(calls) == 1

    def offline(*a):
        raise OSError("no network")
    text_module.fetch = offline  # restored by monkeypatch with the fixture's fetch
    with pytest.raises(text_module.LinclfError, match="download .* yourself"):
        text_module.load_text("tinyshakespeare", tmp_path / "net")
    assert not (tmp_path / "net").exists()


@pytest.mark.cuda
def test_cuda_trains_as_the_cpu(text):
    """The same code on CUDA: 200 updates in float64 (two passes over the text, samples included) give the
    CPU's history to 1e-9 relative; the two devices sum in other orders, ~1e-16 a step."""
    from linclf_torch.data.text import load_text
    from linclf_torch.training.rnn_config import RNNConfig
    from linclf_torch.training.rnn_loop import RNNState, train_rnn
    t = load_text(text)
    runs = {}
    for device in ("cpu", "cuda"):
        cfg = RNNConfig(text=str(text), hidden=16, seq_length=7, updates=200, record_every=20, sample_every=40,
                        sample_length=15, dtype="float64", device=device)
        state = RNNState.start(len(t.chars), cfg, torch.device(device))
        runs[device] = train_rnn(t.encode(device=device), cfg, state, progress=False)
    cpu, cuda = runs["cpu"], runs["cuda"]
    assert [h["update"] for h in cpu.history] == [h["update"] for h in cuda.history]
    for a, b in zip(cpu.history, cuda.history):
        assert abs(a["smooth_loss"] - b["smooth_loss"]) <= 1e-9 * a["smooth_loss"]
    for k, p in cpu.params.items():
        assert torch.allclose(p, cuda.params[k].cpu(), rtol=1e-9, atol=1e-12), k
    assert cpu.samples == cuda.samples  # the same draws: uniforms from the CPU generator, the same p to 1e-9


def test_a_checkpoint_with_nan_is_refused(trained, tmp_path, capsys):
    """A model.pt whose parameters hold a NaN (damaged, or written by other code) is no model: sample and
    --resume refuse it in one line."""
    checkpoint = saved(trained)
    checkpoint["params"]["W"][0, 0] = math.nan
    checkpoint["best"]["params"]["W"][0, 0] = math.nan
    (tmp_path / "run").mkdir()
    torch.save(checkpoint, tmp_path / "run" / "model.pt")
    assert main(["sample", str(tmp_path / "run")]) == 2
    assert main(["rnn", "--resume", str(tmp_path / "run"), "--updates", "200"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all("parameter W holds NaN or inf" in line for line in err)


def test_epochs_and_adagrad_clip_in_the_training_step(tmp_path, text, monkeypatch):
    """--epochs 1 is one pass (⌊999 / 7⌋ = 142 updates); AdaGrad takes the older texts' η 0.1 and clipping at 5,
    applied by the training step to every update's gradients."""
    clip, bounds = rnn_loop.clip_gradients, []

    def counted(grads, bound):
        bounds.append(bound)
        return clip(grads, bound)
    monkeypatch.setattr(rnn_loop, "clip_gradients", counted)
    out = tmp_path / "adagrad"
    assert rnn("--text", text, "--epochs", "1", "--optimizer", "adagrad", "--out", out) == 0
    r = results(out)
    assert r["updates_completed"] == 142 and r["epoch"] == 1
    assert (r["config"]["eta"], r["config"]["clip"]) == (0.1, 5.0) and bounds == [5.0] * 142
    bounds.clear()
    assert rnn("--text", text, "--updates", "20", "--out", tmp_path / "adam") == 0
    assert bounds == [] and results(tmp_path / "adam")["config"]["clip"] == 0  # Adam: no clipping by default


def test_a_batch_of_streams_trains_and_resumes_bit_for_bit(tmp_path, text, capsys):
    """--batch-size 4: four streams of ⌊1000 / 4⌋ = 250 characters, (250 − 1) // 7 = 35 updates a pass, one h
    each; 100 updates at once equal 60 and a --resume to 100 (three passes, samples from the first stream)."""
    assert rnn("--text", text, "--batch-size", 4, "--updates", 100, "--out", tmp_path / "once") == 0
    r = results(tmp_path / "once")
    assert r["epoch"] == 3 and r["history"][-1]["smooth_loss"] < r["history"][0]["smooth_loss"]
    assert saved(tmp_path / "once")["train_state"]["h"].shape == (4, 16)
    assert [s["update"] for s in r["samples"]] == [40, 80] and len(r["best_sample"]) == 1000
    assert rnn("--text", text, "--batch-size", 4, "--updates", 60, "--out", tmp_path / "twice") == 0
    assert main(["rnn", "--resume", str(tmp_path / "twice"), "--updates", "100", "--no-progress"]) == 0
    assert_same_run(tmp_path / "once", tmp_path / "twice")
    assert rnn("--text", text, "--batch-size", 4, "--epochs", 1, "--out", tmp_path / "pass") == 0
    assert results(tmp_path / "pass")["updates_completed"] == 35
    capsys.readouterr()
    assert rnn("--text", text, "--batch-size", 200, "--updates", 10, "--out", tmp_path / "short") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "streams of the text's 1000 characters holds 5, fewer than" in err and "smaller --batch-size" in err
