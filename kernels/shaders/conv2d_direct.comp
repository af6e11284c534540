// conv2d, one output element per invocation: any kernel size, stride, padding, dilation and
// groups. A pass sums filter rows [u_split.x, u_split.y) (row = c * R + r), columns u_split_columns. Grid: x covers the output pixels of one channel (P*Q), y output channels, z batch;
// every axis loops (grid-stride), so the host may clamp each to GL's 65535 groups.

layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

void main() {
  const int N = u_input.x, C = u_input.y, H = u_input.z, W = u_input.w;
  const int K = u_output.x, P = u_output.y, Q = u_output.z, G = u_output.w;
  const int R = u_kernel.x, S = u_kernel.y;
  const bool has_bias = u_kernel.z != 0;
  const int cpg = C / G, kpg = K / G;
  const int pixels = P * Q;
  const int x_step = int(gl_NumWorkGroups.x * gl_WorkGroupSize.x);
  const int y_step = int(gl_NumWorkGroups.y * gl_WorkGroupSize.y);
  const int z_step = int(gl_NumWorkGroups.z * gl_WorkGroupSize.z);

  for (int n = int(gl_GlobalInvocationID.z); n < N; n += z_step) {
    for (int k = int(gl_GlobalInvocationID.y); k < K; k += y_step) {
      const int first_c = (k / kpg) * cpg;
      for (int pq = int(gl_GlobalInvocationID.x); pq < pixels; pq += x_step) {
        const int p = pq / Q, q = pq - (pq / Q) * Q;
        const int ih0 = p * u_stride_pad.x - u_stride_pad.z;
        const int iw0 = q * u_stride_pad.y - u_stride_pad.w;
        const int at = ((n * K + k) * P + p) * Q + q;
        float acc = u_split.z != 0 ? y[at] : (has_bias ? b[k] : 0.0);
        // This pass's filter rows (c, r), each over its columns [s_begin, s_end).
        for (int row = u_split.x; row < u_split.y; ++row) {
          const int c = row / R, r = row - (row / R) * R;
          const int ih = ih0 + r * u_dilation.x;
          if (ih < 0 || ih >= H) continue;
          const int in_row = ((n * C + first_c + c) * H + ih) * W;
          const int wt_row = ((k * cpg + c) * R + r) * S;
          for (int s = u_split_columns.x; s < u_split_columns.y; ++s) {
            const int iw = iw0 + s * u_dilation.y;
            if (iw < 0 || iw >= W) continue;
            acc += x[in_row + iw] * wt[wt_row + s];
          }
        }
        y[at] = acc;
      }
    }
  }
}
