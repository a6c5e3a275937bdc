"""Train a softmax classifier on scikit-learn's bundled digits data set.

Run it as it is (`python examples/train.py`), or with overrides:

    cascade run examples/train.py --lr 0.05 --epochs 20 -y
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from cascade_core import Config, log_metric


class TrainConfig(Config):
    lr = 0.1  # step size of gradient descent
    epochs = 30
    batch_size: int = 64
    weight_decay = 1e-4
    seed = 0


def softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def main(cfg=TrainConfig):
    digits = load_digits()
    x = digits.data / 16.0
    y = digits.target
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=cfg.seed)

    rng = np.random.default_rng(cfg.seed)
    weights = np.zeros((x.shape[1], 10))
    onehot = np.eye(10)[y_train]

    for epoch in range(cfg.epochs):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), cfg.batch_size):
            batch = order[start:start + cfg.batch_size]
            probs = softmax(x_train[batch] @ weights)
            grad = x_train[batch].T @ (probs - onehot[batch]) / len(batch)
            weights -= cfg.lr * (grad + cfg.weight_decay * weights)

        probs = softmax(x_train @ weights)
        loss = -np.mean(np.log(probs[np.arange(len(y_train)), y_train] + 1e-12))
        accuracy = float(np.mean((x_test @ weights).argmax(axis=1) == y_test))
        log_metric("loss", float(loss), step=epoch)
        log_metric("accuracy", accuracy, step=epoch)
        print(f"epoch {epoch + 1:3d}/{cfg.epochs}  loss {loss:.4f}  test accuracy {accuracy:.3f}")

    return weights


if __name__ == "__main__":
    main()
