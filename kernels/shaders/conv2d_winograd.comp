// Winograd F(2x2, 3x3) conv2d, the transforms around a batched GEMM, for groups == 1, 3x3,
// stride 1, dilation 1, any padding (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks", 2016). An output tile of 2x2 pixels is A^T [(G g G^T) . (B^T d B)] A for the 3x3
// filter g and the 4x4 input patch d under it; the 16 products of one tile are summed over the
// input channels as 16 independent GEMMs, run by conv2d_gemm.comp with GEMM_BATCHED.
//
// The host compiles this file three times, one WINOGRAD_STAGE each, and binds the scratch
// buffers to the common bindings by role (x read, wt read, y written):
//   stage 0, weights (commit_weights): wt = weights KCRS     -> y = U[xi][k][c]
//   stage 1, input (per conv):         x = input NCHW        -> y = V[xi][c][t]
//   (small inputs with few channels: none of these per conv; conv2d_winograd_one_dispatch.comp
//   does all three steps, conv2d_session::winograd_in_one_dispatch)
//   (GEMM_BATCHED:                     wt = U, x = V         -> y = M[xi][k][t])
//   stage 2, output (per conv):        x = M, b = bias       -> y = output NKPQ
// On the zero-copy path of a discrete GPU, x of stage 1 and y of stage 2 are the slot's host
// memory for small inputs (read in rows, stored in pixel pairs: whole lines across the bus),
// else device scratch that conv2d_bus_copy.comp fills from and empties to the slot's host memory
// (conv2d_session::copies_over_bus, kernel_tuning::winograd_bus_copy_min_bytes).
// xi = 4 i + j indexes the 4x4 transformed tile; t = (n TP + tp) TQ + tq the output tiles, with
// TP = ceil(P / 2), TQ = ceil(Q / 2). Tiles past P or Q read zeros and write only what is inside.
//
// Grid: x over the tiles t (stage 0: over K*C), y over channels; both loop, so the host may
// clamp each axis to 65535 groups. One invocation per (channel, tile): no shared memory.

layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

void main() {
  const int N = u_input.x, C = u_input.y, H = u_input.z, W = u_input.w;
  const int K = u_output.x, P = u_output.y, Q = u_output.z;
  const int PH = u_stride_pad.z, PW = u_stride_pad.w;
  const int TP = (P + 1) / 2, TQ = (Q + 1) / 2, T = N * TP * TQ;
  const int x_step = int(gl_NumWorkGroups.x * gl_WorkGroupSize.x);
  const int y_step = int(gl_NumWorkGroups.y * gl_WorkGroupSize.y);

#if WINOGRAD_STAGE == 0
  // U = G g G^T, G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]. kc = k C + c, so the filter
  // starts at wt[9 kc] and U[xi][k][c] at y[xi K C + kc].
  const int KC = K * C;
  for (int kc = int(gl_GlobalInvocationID.x); kc < KC; kc += x_step) {
    vec3 g[3];
    for (int r = 0; r < 3; ++r) g[r] = vec3(wt[kc * 9 + r * 3], wt[kc * 9 + r * 3 + 1], wt[kc * 9 + r * 3 + 2]);
    const vec3 gg[4] = vec3[4](g[0], 0.5 * (g[0] + g[1] + g[2]), 0.5 * (g[0] - g[1] + g[2]), g[2]);
    for (int i = 0; i < 4; ++i) {
      const vec3 v = gg[i];
      y[(i * 4 + 0) * KC + kc] = v.x;
      y[(i * 4 + 1) * KC + kc] = 0.5 * (v.x + v.y + v.z);
      y[(i * 4 + 2) * KC + kc] = 0.5 * (v.x - v.y + v.z);
      y[(i * 4 + 3) * KC + kc] = v.z;
    }
  }
#elif WINOGRAD_STAGE == 1
  // V = B^T d B (winograd_input_transform, conv2d_common.glsl); d is zero outside the image.
  // Neighbours take neighbouring tiles: their V writes are contiguous.
  for (int c = int(gl_GlobalInvocationID.y); c < C; c += y_step) {
    for (int t = int(gl_GlobalInvocationID.x); t < T; t += x_step) {
      const int n = t / (TP * TQ), tpq = t - n * (TP * TQ);
      const int tp = tpq / TQ, tq = tpq - tp * TQ;
      const int ih0 = 2 * tp - PH, iw0 = 2 * tq - PW;
      const int base = (n * C + c) * H * W;
      vec4 d[4];  // d[r][s]: row r of the patch
      for (int r = 0; r < 4; ++r) {
        const int ih = ih0 + r;
        for (int s = 0; s < 4; ++s) {
          const int iw = iw0 + s;
          d[r][s] = (ih >= 0 && ih < H && iw >= 0 && iw < W) ? x[base + ih * W + iw] : 0.0;
        }
      }
      vec4 v[4];
      winograd_input_transform(d, v);
      const int CT = C * T, at = c * T + t;
      for (int i = 0; i < 4; ++i) {
        for (int j = 0; j < 4; ++j) y[(i * 4 + j) * CT + at] = v[i][j];
      }
    }
  }
#elif WINOGRAD_STAGE == 2
  // out = A^T m A + bias (winograd_output_transform), for the 2x2 outputs inside P x Q.
  const bool has_bias = u_kernel.z != 0;
  for (int k = int(gl_GlobalInvocationID.y); k < K; k += y_step) {
    const float bias = has_bias ? b[k] : 0.0;
    for (int t = int(gl_GlobalInvocationID.x); t < T; t += x_step) {
      const int KT = K * T, at = k * T + t;
      vec4 m[4];  // m[i][j] = M[4 i + j][k][t]
      for (int i = 0; i < 4; ++i) {
        m[i] = vec4(x[(i * 4 + 0) * KT + at], x[(i * 4 + 1) * KT + at], x[(i * 4 + 2) * KT + at],
                    x[(i * 4 + 3) * KT + at]);
      }
      vec2 rows[2];
      winograd_output_transform(m, rows);
      const int n = t / (TP * TQ), tpq = t - n * (TP * TQ);
      const int tp = tpq / TQ, tq = tpq - tp * TQ;
      winograd_store_tile(rows, bias, n, k, tp, tq);
    }
  }
#else
#error "WINOGRAD_STAGE must be 0 (weights), 1 (input) or 2 (output)"
#endif
}
