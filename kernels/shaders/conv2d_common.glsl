// Shared by every conv2d kernel; the host prepends "#version" and the tiling #defines, then this
// file, then the kernel. Layout: input NCHW, weights KCRS (C per group), bias K, output NKPQ,
// all tightly packed float32 from the start of each bound range.

layout(std430, binding = 0) readonly restrict buffer conv_input { float x[]; };
layout(std430, binding = 1) readonly restrict buffer conv_weights { float wt[]; };
layout(std430, binding = 2) readonly restrict buffer conv_bias { float b[]; };
// Read as well as written: a reduction split into passes adds each pass onto the output.
layout(std430, binding = 3) restrict buffer conv_output { float y[]; };
// A second view of the output binding for the Winograd kernels (winograd_store_tile): with Q
// even, a tile's two pixels of a row are one 8-byte store, so neighbouring invocations write
// whole lines of a row between them. Written as two 4-byte stores, each store instruction of a
// warp covers every other float: partial lines, which cost most where the output is host memory
// across a bus. Kernels that do not store through it compile it away.
layout(std430, binding = 3) writeonly restrict buffer conv_output_pairs { vec2 y2[]; };

layout(location = 0) uniform ivec4 u_input;     // N, C, H, W
layout(location = 1) uniform ivec4 u_output;    // K, P, Q, groups
layout(location = 2) uniform ivec4 u_kernel;    // R, S, has_bias (0/1), unused
layout(location = 3) uniform ivec4 u_stride_pad;  // stride_h, stride_w, pad_h, pad_w
layout(location = 4) uniform ivec4 u_dilation;  // dilation_h, dilation_w, unused, unused
// This dispatch's share of the reduction (kernels/src/reduction_split.hpp): units [x, y) in the
// kernel's unit; z = 1 when earlier passes wrote the output (add to it, bias already in), 0 for
// the first pass.
layout(location = 6) uniform ivec4 u_split;
layout(location = 7) uniform ivec4 u_split_columns;  // direct: filter columns [x, y) of each row

// Winograd F(2x2, 3x3) (Lavin & Gray 2016), for conv2d_winograd.comp and
// conv2d_winograd_one_dispatch.comp. V = B^T d B of a 4x4 input patch d (d[r]: row r), B^T =
// [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]: v[i][j] is entry xi = 4 i + j.
void winograd_input_transform(in vec4 d[4], out vec4 v[4]) {
  const vec4 e[4] = vec4[4](d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]);  // B^T d
  for (int i = 0; i < 4; ++i) v[i] = vec4(e[i].x - e[i].z, e[i].y + e[i].z, e[i].z - e[i].y, e[i].y - e[i].w);
}
// A^T m A of the 16 products (m[i][j]: entry 4 i + j), A^T = [1 1 1 0; 0 1 -1 -1]: the tile's two
// output rows of two pixels each.
void winograd_output_transform(in vec4 m[4], out vec2 rows[2]) {
  const vec4 a[2] = vec4[2](m[0] + m[1] + m[2], m[1] - m[2] - m[3]);  // A^T m
  for (int i = 0; i < 2; ++i) rows[i] = vec2(a[i].x + a[i].y + a[i].z, a[i].y - a[i].z - a[i].w);
}
// Stores tile (tp, tq) of image n, channel k: rows[i] + bias is output row 2 tp + i, pixels
// 2 tq and 2 tq + 1; what lies past P or Q is not written.
void winograd_store_tile(in vec2 rows[2], float bias, int n, int k, int tp, int tq) {
  const int K = u_output.x, P = u_output.y, Q = u_output.z;
  for (int i = 0; i < 2; ++i) {
    const int p = 2 * tp + i;
    if (p >= P) break;
    const int row = ((n * K + k) * P + p) * Q;
    const int q = 2 * tq;
    const vec2 pair = rows[i] + bias;
    if ((Q & 1) == 0) {
      y2[(row + q) / 2] = pair;  // row + q is even: an 8-byte aligned pair
    } else {
      y[row + q] = pair.x;
      if (q + 1 < Q) y[row + q + 1] = pair.y;
    }
  }
}
