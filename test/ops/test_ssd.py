"""ssd_scan (Mamba-2's SSD) against an independent float64 step-by-step recurrence:
outputs, final states and every gradient."""
import pytest
import torch
import torch.nn.functional as F

from espnet_mamba.ops.ssd import ssd_scan


def recurrence(x, dt, A, B, C, D=None, z=None, dt_bias=None, dt_softplus=False,
               dt_limit=(0.0, float("inf")), initial_states=None):
    """S_t = exp(dt_t A) S_{t-1} + dt_t x_t B_t^T; y_t = S_t C_t + D x_t (float64 loop)."""
    nb, L, nh, hd = x.shape
    rep = nh // B.shape[2]
    if dt_bias is not None:
        dt = dt + dt_bias
    if dt_softplus:
        dt = F.softplus(dt)
    dt = dt.clamp(min=dt_limit[0], max=dt_limit[1])
    S = (torch.zeros(nb, nh, hd, B.shape[-1], dtype=x.dtype) if initial_states is None
         else initial_states)
    ys = []
    for t in range(L):
        Bt = B[:, t].repeat_interleave(rep, dim=1)  # (batch, heads, n)
        Ct = C[:, t].repeat_interleave(rep, dim=1)
        decay = torch.exp(dt[:, t] * A)[:, :, None, None]
        S = decay * S + (dt[:, t, :, None] * x[:, t])[..., None] * Bt[:, :, None, :]
        y = (S * Ct[:, :, None, :]).sum(-1)
        if D is not None:
            y = y + x[:, t] * (D[:, None] if D.dim() == 1 else D)
        ys.append(y)
    y = torch.stack(ys, dim=1)
    if z is not None:
        y = y * F.silu(z)
    return y, S


def inputs(nb, L, nh, hd, ng, n, seed=0, D_hdim=False):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s, scale=1.0: torch.randn(*s, generator=g, dtype=torch.float64) * scale  # noqa
    return dict(x=r(nb, L, nh, hd), dt=r(nb, L, nh, scale=0.5),
                A=-torch.rand(nh, generator=g, dtype=torch.float64) * 4 - 0.5,
                B=r(nb, L, ng, n), C=r(nb, L, ng, n),
                D=r(nh, hd) if D_hdim else r(nh), z=r(nb, L, nh, hd),
                dt_bias=r(nh, scale=0.3), initial_states=r(nb, nh, hd, n))


@pytest.mark.parametrize("L, chunk, ng, D_hdim", [
    (37, 8, 1, False),   # odd length, several chunks, a padded last chunk
    (5, 16, 1, False),   # L < chunk
    (1, 4, 2, True),     # one step, 2 groups, D per channel
    (24, 8, 2, False),   # whole chunks, 2 groups
])
def test_outputs_states_and_gradients_match_the_recurrence(L, chunk, ng, D_hdim):
    args = inputs(2, L, 4, 3, ng, 5, D_hdim=D_hdim)
    leaves = {k: v.clone().requires_grad_(True) for k, v in args.items()}
    y, S = ssd_scan(**leaves, chunk_size=chunk, dt_softplus=True, dt_limit=(0.01, 5.0),
                    return_final_states=True)
    ref_leaves = {k: v.clone().requires_grad_(True) for k, v in args.items()}
    y_ref, S_ref = recurrence(**ref_leaves, dt_softplus=True, dt_limit=(0.01, 5.0))
    torch.testing.assert_close(y, y_ref, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(S, S_ref, rtol=1e-10, atol=1e-10)
    g = torch.Generator().manual_seed(1)
    gy, gS = torch.randn(y.shape, generator=g, dtype=y.dtype), torch.randn(S.shape, generator=g, dtype=y.dtype)
    ((y * gy).sum() + (S * gS).sum()).backward()
    ((y_ref * gy).sum() + (S_ref * gS).sum()).backward()
    for name in args:
        torch.testing.assert_close(leaves[name].grad, ref_leaves[name].grad, rtol=1e-9,
                                   atol=1e-9, msg=f"gradient of {name}")


def test_chunk_size_does_not_change_the_result_and_float32_is_close():
    args = inputs(1, 50, 2, 4, 1, 6, seed=3)
    ys = [ssd_scan(**args, chunk_size=k, dt_softplus=True) for k in (1, 7, 50, 64)]
    for y in ys[1:]:
        torch.testing.assert_close(y, ys[0], rtol=1e-10, atol=1e-10)
    y32 = ssd_scan(**{k: v.float() for k, v in args.items()}, chunk_size=16, dt_softplus=True)
    assert y32.dtype == torch.float32
    torch.testing.assert_close(y32.double(), ys[0], rtol=1e-4, atol=1e-4)


def test_final_state_carries_a_sequence_split_in_two():
    args = inputs(2, 30, 2, 3, 1, 4, seed=5)
    args.pop("initial_states")
    whole = ssd_scan(**args, chunk_size=8, dt_softplus=True)
    first = {k: (v[:, :13] if v.dim() > 1 and v.shape[1] == 30 else v) for k, v in args.items()}
    rest = {k: (v[:, 13:] if v.dim() > 1 and v.shape[1] == 30 else v) for k, v in args.items()}
    y1, S1 = ssd_scan(**first, chunk_size=8, dt_softplus=True, return_final_states=True)
    y2 = ssd_scan(**rest, chunk_size=8, dt_softplus=True, initial_states=S1)
    torch.testing.assert_close(torch.cat([y1, y2], dim=1), whole, rtol=1e-10, atol=1e-10)


def test_bad_shapes_are_named():
    args = inputs(1, 4, 4, 2, 1, 3)
    with pytest.raises(ValueError, match=r"dt must be \(batch, L, heads\)"):
        ssd_scan(**dict(args, dt=args["dt"][:, :2]))
    with pytest.raises(ValueError, match="groups dividing 4"):
        ssd_scan(**dict(args, B=torch.zeros(1, 4, 3, 3), C=torch.zeros(1, 4, 3, 3)))
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        ssd_scan(**args, chunk_size=0)


def test_cuda_dispatch_uses_mamba_ssms_chunk_scan(monkeypatch):
    """A CUDA tensor goes to mamba_chunk_scan_combined with its documented arguments."""
    from espnet_mamba.ops import cuda_kernels

    calls = []

    def fake_kernel(*args, **kwargs):
        calls.append((args, kwargs))
        return "kernel-output"

    class FakeCuda(torch.Tensor):
        @property
        def is_cuda(self):
            return True

    args = inputs(1, 6, 2, 3, 1, 4)
    monkeypatch.setattr(cuda_kernels, "mamba_chunk_scan_combined", fake_kernel)
    x = args.pop("x").as_subclass(FakeCuda)
    out = ssd_scan(x, **args, chunk_size=32, dt_softplus=True, return_final_states=True)
    assert out == "kernel-output"
    ((positional, keywords),) = calls
    assert positional[0] is x and positional[5] == 32 and positional[1] is args["dt"]
    assert keywords["D"] is args["D"] and keywords["dt_bias"] is args["dt_bias"]
    assert keywords["initial_states"] is args["initial_states"]
    assert keywords["dt_softplus"] is True and keywords["return_final_states"] is True


@pytest.mark.parametrize("L, ng", [(37, 1), (1, 2)])
def test_the_export_path_is_the_same_recurrence(monkeypatch, L, ng):
    """While exporting, ssd_scan runs the recurrence as one scan over time (no chunks)."""
    from espnet_mamba.ops import ssd

    args = inputs(2, L, 4, 3, ng, 5)
    monkeypatch.setattr(ssd, "is_exporting", lambda: True)
    monkeypatch.setattr(ssd, "ssd_chunked", None)  # not reached
    y, S = ssd_scan(**args, chunk_size=8, dt_softplus=True, return_final_states=True)
    y_ref, S_ref = recurrence(**args, dt_softplus=True)
    torch.testing.assert_close(y, y_ref, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(S, S_ref, rtol=1e-10, atol=1e-10)
