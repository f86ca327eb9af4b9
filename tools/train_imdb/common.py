"""Shared pieces of the IMDB training recipes: data loading with a held-out validation slice of the *train*
split (the test split is only read by evaluate_test(), after model selection), seeding, logging, f16 export."""
import gzip
import json
import os
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

VAL_SIZE = 2500  # held out of the 25k train reviews for validation and model selection


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def read_jsonl_gz(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def train_val_split(data_dir, seed):
    """The train split shuffled with `seed`; the last VAL_SIZE reviews (balanced) are validation."""
    rows = read_jsonl_gz(os.path.join(data_dir, "train.jsonl.gz"))
    rng = random.Random(seed)
    pos = [r for r in rows if r["label"] == 1]
    neg = [r for r in rows if r["label"] == 0]
    rng.shuffle(pos)
    rng.shuffle(neg)
    half = VAL_SIZE // 2
    val = pos[:half] + neg[:half]
    train = pos[half:] + neg[half:]
    rng.shuffle(train)
    rng.shuffle(val)
    return train, val


def test_rows(data_dir):
    return read_jsonl_gz(os.path.join(data_dir, "test.jsonl.gz"))


class Log:
    """Appends JSON lines to `path` (default OUT.work/train_log.jsonl) and echoes them."""

    def __init__(self, path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.f = open(path, "a")
        self.t0 = time.time()

    def __call__(self, **kw):
        kw["elapsed_s"] = round(time.time() - self.t0, 1)
        line = json.dumps(kw)
        print(line, flush=True)
        self.f.write(line + "\n")
        self.f.flush()


def batches(items, batch_size, shuffle, seed):
    idx = list(range(len(items)))
    if shuffle:
        random.Random(seed).shuffle(idx)
    for i in range(0, len(idx), batch_size):
        yield [items[j] for j in idx[i:i + batch_size]]


def cosine_lr(step, total, warmup, peak):
    if step < warmup:
        return peak * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return peak * 0.5 * (1 + np.cos(np.pi * min(1.0, p)))


def past_deadline(start, minutes):
    """True once `minutes` (> 0) have passed since `start` (time.time())."""
    return minutes > 0 and (time.time() - start) / 60 > minutes


def scheduled_lr(step, total, warmup, peak, phase_start, cap_minutes):
    """Linear warm-up then cosine decay over the phase, whichever ends first: `total` steps or the time cap,
    so a time-capped phase still anneals its learning rate to ~0."""
    if step < warmup:
        return peak * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    if cap_minutes > 0:
        p = max(p, (time.time() - phase_start) / (cap_minutes * 60))
    return peak * 0.5 * (1 + np.cos(np.pi * min(1.0, p)))


# --- Fast input pipeline (shared by both recipes) ---------------------------------------------------------------
# The models are tiny (a few M parameters), so a training step costs little GPU work and the Python around it
# dominates unless batches are cheap to build: texts are tokenized once, kept on the device as one flat id tensor,
# and a batch is gathered with index arithmetic. Length-bucketed batches cut the padding the model computes on.


class TokenBank:
    """Token ids of every text (lists of ints), stored on `dev` as one flat tensor with offsets and lengths."""

    def __init__(self, id_lists, dev):
        self.lengths = [len(x) for x in id_lists]
        offsets = np.zeros(len(id_lists), dtype=np.int64)
        offsets[1:] = np.cumsum(self.lengths)[:-1]
        flat = np.fromiter((t for x in id_lists for t in x), dtype=np.int64, count=sum(self.lengths))
        self.flat = torch.from_numpy(flat).to(dev)
        self.offsets = torch.from_numpy(offsets).to(dev)
        self.len_t = torch.tensor(self.lengths, dtype=torch.long, device=dev)
        self.dev = dev

    def __len__(self):
        return len(self.lengths)

    def batch(self, idx, pad_id):
        """Right-padded (ids, mask) of the texts `idx`, padded to the longest of them."""
        n = max(self.lengths[i] for i in idx)  # host-side lengths: no device sync
        it = torch.as_tensor(idx, device=self.dev)
        pos = torch.arange(n, device=self.dev)
        mask = pos[None, :] < self.len_t[it][:, None]
        gather = (self.offsets[it][:, None] + pos[None, :]).clamp(max=self.flat.numel() - 1)
        ids = torch.where(mask, self.flat[gather], torch.full_like(gather, pad_id))
        return ids, mask.long()


def bucketed_batches(lengths, batch_size, seed, pool=64):
    """One epoch of batches: shuffled, then sorted by length inside pools of `pool` batches (so a batch holds
    texts of similar length), then the batches shuffled again."""
    rng = random.Random(seed)
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    out = []
    for i in range(0, len(idx), batch_size * pool):
        chunk = sorted(idx[i:i + batch_size * pool], key=lambda j: lengths[j])
        out += [chunk[k:k + batch_size] for k in range(0, len(chunk), batch_size)]
    rng.shuffle(out)
    return out


class Phase:
    """A training phase capped by steps (`epochs` over the data) and wall time (`minutes`, 0 = no cap), with
    warm-up + cosine learning rate that anneals by whichever cap comes first. Iterating yields (step, batch idx)
    and sets the optimizer's learning rate; `tokens` counts real tokens for the throughput log."""

    def __init__(self, name, log, opt, lengths, batch_size, epochs, minutes, peak_lr, warmup, seed):
        self.name, self.log, self.opt, self.lengths = name, log, opt, lengths
        self.batch_size, self.minutes, self.peak_lr, self.warmup, self.seed = batch_size, minutes, peak_lr, warmup, seed
        self.steps_per_epoch = (len(lengths) + batch_size - 1) // batch_size
        self.total = int(epochs * self.steps_per_epoch)
        self.tokens = 0
        self.capped = False

    def __iter__(self):
        step, start, epoch = 0, time.time(), 0
        self.start = start
        while step < self.total:
            for b in bucketed_batches(self.lengths, self.batch_size, self.seed + 1000 * epoch):
                if step >= self.total:
                    break
                lr = scheduled_lr(step, self.total, self.warmup, self.peak_lr, start, self.minutes)
                for g in self.opt.param_groups:
                    g["lr"] = lr
                self.tokens += sum(self.lengths[i] for i in b)
                yield step, b
                step += 1
                if past_deadline(start, self.minutes):
                    self.log(event=f"{self.name}_time_cap", step=step, epochs=round(step / self.steps_per_epoch, 2))
                    self.total, self.capped = step, True
                    break
            epoch += 1
        self.steps = step

    def rate(self):
        s = max(1e-9, time.time() - self.start)
        return {"tokens_per_s": round(self.tokens / s), "seconds": round(s, 1)}


def setup_device():
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    if dev == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return dev


def adamw(params, lr, dev, weight_decay=0.01, betas=(0.9, 0.999)):
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, betas=betas, fused=dev == "cuda")


def save_checkpoint(model, path, dtype=torch.bfloat16):
    """A state dict as one safetensors file (bf16 by default: half the size, so a phase's result fits the 16 MiB
    a GPU call can return) — a warm start for a later phase, not the shipped model."""
    from safetensors.torch import save_file
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    sd, seen = {}, {}
    for k, v in model.state_dict().items():
        key = v.data_ptr()
        if key in seen:  # tied weights (embeddings / LM head) are stored once
            continue
        seen[key] = k
        sd[k] = v.detach().to(dtype).contiguous().cpu()
    save_file(sd, path, metadata={"format": "pt"})


def load_checkpoint(model, path):
    """Loads save_checkpoint()'s file into `model` (f32), tolerating the tied weights it left out."""
    from safetensors.torch import load_file
    sd = {k: v.float() for k, v in load_file(path).items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected, f"{path}: unexpected keys {unexpected[:5]}"
    return missing


# --- The steps both recipes share -------------------------------------------------------------------------------
def autocast(dev):
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev == "cuda")


def optimizer_step(loss, model, opt):
    """Backward, gradient clipping at norm 1, the update, gradients cleared."""
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)


@torch.no_grad()
def accuracy(logits_of, model, bank, labels, pad_id, dev, bs):
    """Accuracy of `logits_of(model, ids, mask)` on every text of `bank` (length-sorted batches of `bs`)."""
    model.eval()
    correct = 0
    order = sorted(range(len(bank)), key=lambda i: bank.lengths[i])
    for i in range(0, len(order), bs):
        idx = order[i:i + bs]
        ids, mask = bank.batch(idx, pad_id)
        with autocast(dev):
            logits = logits_of(model, ids, mask)
        correct += (logits.argmax(-1) == labels[idx]).sum().item()
    model.train()
    return correct / len(bank)


def finetune(model, logits_of, args, log, dev, bank, y_train, val_bank, y_val, pad_id, eval_bs):
    """Classification fine-tuning (cross-entropy, AdamW, the "ft" Phase of args.ft_epochs / ft_minutes / ft_lr),
    validated args.evals_per_epoch times an epoch; loads the best validation checkpoint into `model` and returns
    its accuracy."""
    opt = adamw(model.parameters(), args.ft_lr, dev)
    phase = Phase("ft", log, opt, bank.lengths, args.batch_size, args.ft_epochs, args.ft_minutes, args.ft_lr, 100,
                  args.seed * 7)
    every = max(1, phase.steps_per_epoch // args.evals_per_epoch)
    best, best_state = -1.0, None
    for step, b in phase:
        ids, mask = bank.batch(b, pad_id)
        with autocast(dev):
            loss = F.cross_entropy(logits_of(model, ids, mask).float(), y_train[b])
        optimizer_step(loss, model, opt)
        if (step + 1) % every == 0 or step + 1 == phase.total:
            acc = accuracy(logits_of, model, val_bank, y_val, pad_id, dev, eval_bs)
            log(event="finetune", step=step + 1, total=phase.total, loss=round(loss.item(), 4), val_accuracy=acc,
                **phase.rate())
            if acc > best:
                best, best_state = acc, {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    return best
