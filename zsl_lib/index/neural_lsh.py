"""Neural LSH as in the report (method 3).

A linear layer ``C_psi: R^d -> R^H`` (H = 800) is trained with ``tanh`` outputs to minimise
(report, Figure 3)::

    alpha / |V| * sum_u | 1^T tanh(C(x_u)) |                      bit balance
  + beta  / |V| * sum_u || |tanh(C(x_u))| - 1 ||_1                no sitting on the fence
  + gamma / |E-bar| * sum_{(u,v) in E-bar} | tanh(C(x_u)) . tanh(C(x_v)) |   weak supervision

where E-bar are the pairs with different labels (inside a mini-batch: the upper triangle of the
batch's outer-product matrix masked to different-label pairs, as the report describes), with
``alpha, beta, gamma = 0.3, 0.3, 0.4``, 20 epochs, Adam with learning rate 1e-3. At inference the
activation is ``sign``; each of the L = 8 tables uses J bits drawn at random from the H outputs.

The report trains the layer once and draws the J bits per table afterwards ("the experiment is
repeated L times" is ambiguous); one trained :class:`NeuralHashNetwork` can therefore serve every J
(pass it as ``network=`` to :class:`NeuralLSH`). Torch stays inside this module.
"""

from __future__ import annotations

import numpy as np

from ..config import resolve_device
from ..validation import check_matrix, check_positive_ints
from .buckets import BucketIndex, bits_to_keys


class NeuralHashNetwork:
    """The report's compression network: linear d -> n_hidden, tanh in training, sign at inference.

    Parameters
    ----------
    n_hidden : H, output bits (800 in the report).
    alpha, beta, gamma : weights of bit balance, no-sitting-on-the-fence and weak supervision.
    epochs, lr, batch_size : Adam training schedule (report: 20 epochs, lr 1e-3; batch size not
        given).
    standardize : z-score the inputs with the training mean / std first (not in the report).
    random_state : seed of the initialisation and of the batch order.
    progress : tqdm bar over epochs.
    n_threads : torch intra-op threads while training (restored afterwards); 1 is fastest for
        these small layers on a shared CPU, where extra threads mostly wait for each other.
    device : torch device of the training (``"auto"``: CUDA, then MPS, then CPU; see
        :func:`zsl_lib.config.resolve_device`); the batch order is drawn on the CPU.
    """

    def __init__(
        self,
        n_hidden: int = 800,
        *,
        alpha: float = 0.3,
        beta: float = 0.3,
        gamma: float = 0.4,
        epochs: int = 20,
        lr: float = 1e-3,
        batch_size: int = 256,
        standardize: bool = False,
        random_state: int | None = 0,
        progress: bool = False,
        n_threads: int = 1,
        device: str = "auto",
    ):
        check_positive_ints(
            n_hidden=n_hidden, epochs=epochs, batch_size=batch_size, n_threads=n_threads
        )
        if min(alpha, beta, gamma) < 0 or lr <= 0:
            raise ValueError("alpha, beta, gamma must be >= 0 and lr > 0")
        if batch_size < 2 and gamma > 0:
            raise ValueError("weak supervision needs pairs: batch_size must be >= 2 when gamma > 0")
        self.n_hidden = int(n_hidden)
        self.alpha, self.beta, self.gamma = float(alpha), float(beta), float(gamma)
        self.epochs = int(epochs)
        self.lr = float(lr)
        self.batch_size = int(batch_size)
        self.standardize = bool(standardize)
        self.random_state = random_state
        self.progress = progress
        self.n_threads = int(n_threads)
        self.device = device

    @staticmethod
    def loss_terms(T, y):
        """The three loss terms (torch scalars) for a batch of tanh outputs T (B, H), labels y (B,)."""
        import torch  # noqa: PLC0415

        balance = T.sum(dim=1).abs().mean()
        fence = (T.abs() - 1.0).abs().sum(dim=1).mean()
        B = T.shape[0]
        upper = torch.triu(torch.ones(B, B, dtype=torch.bool, device=T.device), diagonal=1)
        neg = upper & (y[:, None] != y[None, :])
        if neg.any():
            weak = (T @ T.T)[neg].abs().mean()
        else:
            weak = T.new_zeros(())
        return balance, fence, weak

    def fit(self, X, y) -> NeuralHashNetwork:
        """Train on ``X`` (n, d) float with labels ``y`` (n,) (weak supervision needs labels)."""
        import torch  # noqa: PLC0415

        before = torch.get_num_threads()
        torch.set_num_threads(self.n_threads)
        try:
            return self._fit(X, y)
        finally:
            torch.set_num_threads(before)

    def _fit(self, X, y) -> NeuralHashNetwork:
        import torch  # noqa: PLC0415

        X = check_matrix("X", X, min_rows=2)
        if y is None:
            if self.gamma > 0:
                raise ValueError(
                    "neural LSH's weak supervision (gamma > 0) needs labels: call fit(X, y), "
                    "or set gamma=0"
                )
            y = np.zeros(X.shape[0], dtype=np.int64)
        y = np.asarray(y)
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},); got {y.shape}")
        _, y = np.unique(y, return_inverse=True)
        self.mean_ = X.mean(0) if self.standardize else np.zeros(X.shape[1], np.float32)
        self.scale_ = X.std(0) + 1e-6 if self.standardize else np.ones(X.shape[1], np.float32)
        dev = self.device_ = resolve_device(self.device)
        Xs = torch.from_numpy(((X - self.mean_) / self.scale_).astype(np.float32)).to(dev)
        ys = torch.from_numpy(y.astype(np.int64)).to(dev)
        rng = np.random.default_rng(self.random_state)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(rng.integers(2**31)))
            layer = torch.nn.Linear(X.shape[1], self.n_hidden).to(dev)
        opt = torch.optim.Adam(layer.parameters(), lr=self.lr)
        history = []
        epochs = range(self.epochs)
        if self.progress:
            from tqdm.auto import tqdm  # noqa: PLC0415

            epochs = tqdm(epochs, desc="neural LSH training", unit="epoch")
        n = X.shape[0]
        for _ in epochs:
            perm = torch.from_numpy(rng.permutation(n)).to(dev)
            sums = np.zeros(4)
            for s in range(0, n, self.batch_size):
                idx = perm[s : s + self.batch_size]
                T = torch.tanh(layer(Xs[idx]))
                bal, fence, weak = self.loss_terms(T, ys[idx])
                loss = self.alpha * bal + self.beta * fence + self.gamma * weak
                opt.zero_grad()
                loss.backward()
                opt.step()
                sums += len(idx) * np.array([loss.item(), bal.item(), fence.item(), weak.item()])
            history.append(sums / n)
        self.loss_history_ = np.array(history)  # (epochs, 4): total, balance, fence, weak
        self.weight_ = layer.weight.detach().cpu().numpy().T.copy()  # (d, H)
        self.bias_ = layer.bias.detach().cpu().numpy().copy()
        self.dim_ = X.shape[1]
        return self

    def _check_fitted(self):
        if not hasattr(self, "weight_"):
            raise RuntimeError("NeuralHashNetwork is not fitted yet; call fit(X, y) first")

    def decision_function(self, X, outputs=None) -> np.ndarray:
        """Pre-activation outputs ``C(x)`` (n, n_hidden) float32, or only the columns ``outputs``."""
        self._check_fitted()
        X = check_matrix("X", X, dim=self.dim_, min_rows=0)
        W, b = self.weight_, self.bias_
        if outputs is not None:
            W, b = W[:, outputs], b[outputs]
        if self.standardize:
            X = ((X - self.mean_) / self.scale_).astype(np.float32)
        return X @ W + b

    def transform(self, X) -> np.ndarray:
        """Training-time codes ``tanh(C(x))`` (n, n_hidden) float32."""
        return np.tanh(self.decision_function(X))

    def hash(self, X, outputs=None) -> np.ndarray:
        """Inference codes ``sign(C(x)) > 0`` (n, n_hidden) bool (or only the columns ``outputs``)."""
        return self.decision_function(X, outputs) > 0


class NeuralLSH(BucketIndex):
    """Neural LSH index: J random bits of a trained :class:`NeuralHashNetwork` per table.

    Parameters
    ----------
    n_bits : J, bits per table.
    n_tables : L (8 in the report).
    network : an already fitted :class:`NeuralHashNetwork` to reuse (e.g. across J values), or
        None to train one in :meth:`fit` with ``network_params``.
    network_params : keyword arguments of :class:`NeuralHashNetwork` when it is trained here.
    random_state : seed of the bit selection (and of the network when trained here).
    batch_size : queries probed together.
    device : torch device of the network trained here (``"auto"``: CUDA, then MPS, then CPU).
    """

    def __init__(
        self,
        n_bits: int = 16,
        n_tables: int = 8,
        *,
        network: NeuralHashNetwork | None = None,
        network_params: dict | None = None,
        random_state: int | None = 0,
        batch_size: int = 256,
        device: str = "auto",
    ):
        check_positive_ints(n_bits=n_bits, n_tables=n_tables, batch_size=batch_size)
        self.n_bits = int(n_bits)
        self.n_tables = int(n_tables)
        self.network = network
        self.network_params = network_params
        self.random_state = random_state
        self.batch_size = int(batch_size)
        self.device = device

    def _fit_keys(self, X, y):
        if self.network is not None:
            self.network._check_fitted()
            self.network_ = self.network
        else:
            params = {"random_state": self.random_state, "device": self.device, **(self.network_params or {})}
            self.network_ = NeuralHashNetwork(**params).fit(X, y)
        H = self.network_.n_hidden
        if self.n_bits > H:
            raise ValueError(f"n_bits={self.n_bits} exceeds the network's {H} outputs")
        rng = np.random.default_rng(self.random_state)
        self.bit_indices_ = np.stack(
            [np.sort(rng.choice(H, self.n_bits, replace=False)) for _ in range(self.n_tables)]
        )  # (L, J)
        return self._keys(X)

    def _keys(self, X):
        used, pos = np.unique(self.bit_indices_, return_inverse=True)
        bits = self.network_.hash(X, used)[:, pos.reshape(self.bit_indices_.shape)]  # (n, L, J)
        return bits_to_keys(bits)

    def _query_keys(self, Q):
        return self._keys(Q)
