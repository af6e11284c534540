// conv2d for groups == 1, dilation 1, square kernels up to TILED_MAX_KERNEL and strides up to
// TILED_MAX_STRIDE (the host picks it only then). A work group computes a tile of
// gl_WorkGroupSize.x by .y output pixels for TILED_OUT_CHANNELS output channels of one image:
// each invocation keeps TILED_OUT_CHANNELS accumulators for its pixel. Input channels go in
// blocks of TILED_IN_CHANNELS: the group loads the block's input patch (tile plus halo) and the
// matching weights into shared memory, then every invocation reads them from there.
//
// Grid: x tiles of the output plane (row-major), y blocks of output channels, z batch; all loop,
// so the host may clamp each axis to 65535 groups. Loops depend only on the group id and
// uniforms, so barrier() is in uniform control flow.

layout(local_size_x = 16, local_size_y = 8, local_size_z = 1) in;

const int TW = int(gl_WorkGroupSize.x);
const int TH = int(gl_WorkGroupSize.y);
const int KB = TILED_OUT_CHANNELS;
const int CB = TILED_IN_CHANNELS;
const int MAX_PATCH_W = (TW - 1) * TILED_MAX_STRIDE + TILED_MAX_KERNEL;
const int MAX_PATCH_H = (TH - 1) * TILED_MAX_STRIDE + TILED_MAX_KERNEL;
const int MAX_RS = TILED_MAX_KERNEL * TILED_MAX_KERNEL;

#if TILED_OUT_CHANNELS != 8
#error "the accumulators below are two vec4: TILED_OUT_CHANNELS must be 8"
#endif

shared float s_in[CB * MAX_PATCH_H * MAX_PATCH_W];
// Weights as [cc][rs][output channel / 4]: one vec4 load feeds four accumulators.
shared vec4 s_wt[CB * MAX_RS * 2];

void main() {
  const int N = u_input.x, C = u_input.y, H = u_input.z, W = u_input.w;
  const int K = u_output.x, P = u_output.y, Q = u_output.z;
  const int R = u_kernel.x, S = u_kernel.y, RS = u_kernel.x * u_kernel.y;
  const bool has_bias = u_kernel.z != 0;
  const int SH = u_stride_pad.x, SW = u_stride_pad.y;
  const int patch_h = (TH - 1) * SH + R, patch_w = (TW - 1) * SW + S;
  const int tiles_x = (Q + TW - 1) / TW, tiles_y = (P + TH - 1) / TH;
  const int k_blocks = (K + KB - 1) / KB;
  const int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);

  for (int n = int(gl_WorkGroupID.z); n < N; n += int(gl_NumWorkGroups.z)) {
    for (int kb = int(gl_WorkGroupID.y); kb < k_blocks; kb += int(gl_NumWorkGroups.y)) {
      for (int t = int(gl_WorkGroupID.x); t < tiles_x * tiles_y; t += int(gl_NumWorkGroups.x)) {
        const int p0 = (t / tiles_x) * TH, q0 = (t - (t / tiles_x) * tiles_x) * TW;
        const int ih0 = p0 * SH - u_stride_pad.z, iw0 = q0 * SW - u_stride_pad.w;
        const int k0 = kb * KB;
        // Eight accumulators as two vec4, not a float[8]: an indexed local array can end up in
        // scratch memory on CPU drivers (llvmpipe), one gather per access.
        vec4 acc_lo = vec4(0.0), acc_hi = vec4(0.0);
        if (has_bias && u_split.z == 0) {
          for (int j = 0; j < 4; ++j) {
            acc_lo[j] = k0 + j < K ? b[k0 + j] : 0.0;
            acc_hi[j] = k0 + 4 + j < K ? b[k0 + 4 + j] : 0.0;
          }
        }

        // This pass's blocks of CB input channels.
        for (int c0 = u_split.x * CB; c0 < min(C, u_split.y * CB); c0 += CB) {
          // Input patch of channels [c0, c0+CB), zeros outside the image and past C. Walked in 2D
          // with the group's own shape: no integer division (scalarised per lane on CPUs).
          for (int py = ty; py < patch_h; py += TH) {
            const int ih = ih0 + py;
            for (int px = tx; px < patch_w; px += TW) {
              const int iw = iw0 + px;
              const bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
              for (int cc = 0; cc < CB; ++cc) {
                const int c = c0 + cc;
                s_in[(cc * MAX_PATCH_H + py) * MAX_PATCH_W + px] =
                    (inside && c < C) ? x[((n * C + c) * H + ih) * W + iw] : 0.0;
              }
            }
          }
          // Weights of output channels [k0, k0+KB) for the same input channels, zeros past K or C.
          for (int j = ty; j < KB; j += TH) {
            for (int cc = 0; cc < CB; ++cc) {
              const int k = k0 + j, c = c0 + cc;
              for (int rs = tx; rs < RS; rs += TW) {
                s_wt[(cc * MAX_RS + rs) * 2 + j / 4][j % 4] = (k < K && c < C) ? wt[(k * C + c) * RS + rs] : 0.0;
              }
            }
          }
          barrier();
          for (int cc = 0; cc < CB; ++cc) {
            for (int r = 0; r < R; ++r) {
              for (int s = 0; s < S; ++s) {
                const float v = s_in[(cc * MAX_PATCH_H + ty * SH + r) * MAX_PATCH_W + tx * SW + s];
                const int w = (cc * MAX_RS + r * S + s) * 2;
                acc_lo += v * s_wt[w];
                acc_hi += v * s_wt[w + 1];
              }
            }
          }
          barrier();
        }

        const int p = p0 + ty, q = q0 + tx;
        if (p < P && q < Q) {
          for (int j = 0; j < 4; ++j) {
            const int lo = ((n * K + k0 + j) * P + p) * Q + q, hi = ((n * K + k0 + 4 + j) * P + p) * Q + q;
            if (k0 + j < K) y[lo] = acc_lo[j] + (u_split.z != 0 ? y[lo] : 0.0);
            if (k0 + 4 + j < K) y[hi] = acc_hi[j] + (u_split.z != 0 ? y[hi] : 0.0);
          }
        }
      }
    }
  }
}
