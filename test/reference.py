"""Independent float64 reference of the selective scan: a plain sequential loop."""
import torch
import torch.nn.functional as F


def scan_reference(u, delta, A, B, C, D=None, z=None, delta_bias=None,
                   delta_softplus=False, initial_state=None):
    """h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t;  y_t = C_t h_t + D u_t;  y *= silu(z).

    Everything in float64; B, C are (batch, N, L) or (batch, G, N, L).
    Returns (y, last_state).
    """
    u, delta, A, B, C = (t.double() for t in (u, delta, A, B, C))
    nb, dim, L = u.shape
    if delta_bias is not None:
        delta = delta + delta_bias.double()[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    if B.dim() == 3:
        B, C = B[:, None], C[:, None]
    group = dim // B.shape[1]
    h = torch.zeros(nb, dim, A.shape[1], dtype=torch.float64)
    if initial_state is not None:
        h = initial_state.double()
    ys = []
    for t in range(L):
        rows = []
        for d in range(dim):
            g = d // group
            h_d = torch.exp(delta[:, d, t, None] * A[d]) * h[:, d] + \
                (delta[:, d, t] * u[:, d, t])[:, None] * B[:, g, :, t]
            rows.append(h_d)
        h = torch.stack(rows, 1)
        y_t = torch.einsum("bdn,bdn->bd", h, C[:, torch.arange(dim) // group, :, t])
        ys.append(y_t)
    y = torch.stack(ys, -1)
    if D is not None:
        y = y + u * D.double()[:, None]
    if z is not None:
        y = y * F.silu(z.double())
    return y, h
