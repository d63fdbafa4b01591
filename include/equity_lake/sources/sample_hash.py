"""Counter-based randomness and tick rounding shared by the ``sample`` source's daily bars
(``sample``) and minute bars (``sample_minutes``).

Every draw of the synthetic market's bars is a pure function of (salt, key): the key encodes
what is drawn (security id, session, level or minute, ...) and the salt the seed and the noise
stream, so a bar never depends on which other bars were asked for or in what order.
"""

from __future__ import annotations

import numpy as np

_U64 = np.uint64
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_LOW32 = _U64(0xFFFFFFFF)


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a bijective avalanche mix, vectorised over uint64 arrays."""
    x = x ^ (x >> _U64(30))
    x = x * _M1
    x = x ^ (x >> _U64(27))
    x = x * _M2
    return x ^ (x >> _U64(31))


def _salt(seed: int, stream: int) -> np.uint64:
    """A per-(seed, stream) key so that different seeds and noise streams never collide."""
    value = np.array([(seed * 0x9E3779B1 + stream * 0x85EBCA77) & 0xFFFFFFFFFFFFFFFF], np.uint64)
    return _mix64(_mix64(value) + _GOLDEN)[0]


def _hashed_normal(keys: np.ndarray, salt: np.uint64) -> np.ndarray:
    """Standard normals that are a pure function of (salt, key): counter-based randomness."""
    x = _mix64(keys ^ salt)
    u1 = ((x >> _U64(32)).astype(np.float64) + 0.5) * (1.0 / 4294967296.0)
    u2 = ((x & _LOW32).astype(np.float64) + 0.5) * (1.0 / 4294967296.0)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def _hashed_uniform(keys: np.ndarray, salt: np.uint64) -> np.ndarray:
    """Uniforms in (0, 1) that are a pure function of (salt, key)."""
    return ((_mix64(keys ^ salt) >> _U64(11)).astype(np.float64) + 0.5) * (1.0 / 2.0**53)


def _round_price(x: np.ndarray) -> np.ndarray:
    """Quote like the tape: cents from $1 up, 1/100 cent below (monotone, so OHLC order holds)."""
    return np.maximum(np.where(x >= 1.0, np.round(x, 2), np.round(x, 4)), 0.0001)
