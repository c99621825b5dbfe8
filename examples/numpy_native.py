"""A numpy job for heapmark run --native: where inside numpy the memory of
each line is allocated."""
import numpy as np


def features(n):
    x = np.random.default_rng(0).random((n, 64))
    return np.concatenate([x, x**2], axis=1)


def gram(x):
    return x.T @ x


def main():
    x = features(200_000)
    g = gram(x)
    sorted_x = np.sort(x, axis=0)
    print(g.shape, sorted_x.shape)


main()
